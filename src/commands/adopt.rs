//! Taking over a database that is already migrated, without running anything:
//! `adopt` reads another tool's history (node-pg-migrate's `pgmigrations`,
//! Supabase's, dbmate's, sqlx's) and records the entries that match our
//! migrations as applied, with their dates; `baseline --to VERSION` records
//! every migration up to VERSION (a database made before its migrations).
//! Both show what they will record, ask (or need --yes), and write it all in
//! one transaction.

use std::io::IsTerminal;

use colored::Colorize;

use super::write::confirm;
use super::{Context, Database};
use crate::cli::{AdoptArgs, BaselineArgs, History as Tool};
use crate::db::history::{self, Ledger, SUPABASE_HISTORY};
use crate::db::ledger::{self, Record};
use crate::db::{query_error, Conn};
use crate::error::{exit, Error, Kind, Result};
use crate::output::{escape, AdoptOutput, AdoptedJson};
use crate::{plan, url, version};

/// One applied migration as the other tool recorded it.
#[derive(Debug, Clone)]
struct Entry {
    version: String,
    /// Their name for it, without the version ("" when they keep none).
    name: String,
    /// When they applied it (timestamptz text), if they kept that.
    at: Option<String>,
}

/// A migration to record: ours, and when it was applied.
struct ToRecord<'a> {
    m: &'a crate::source::Migration,
    at: Option<String>,
    note: Option<String>,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::NodePgMigrate => "node-pg-migrate (pgmigrations)",
            Tool::Supabase => "the Supabase CLI (supabase_migrations.schema_migrations)",
            Tool::Dbmate => "dbmate (schema_migrations)",
            Tool::Sqlx => "sqlx (_sqlx_migrations)",
        }
    }
}

pub fn adopt(ctx: &Context, args: &AdoptArgs) -> Result<u8> {
    let out = take_over(ctx, args)?;
    ctx.reporter.json(&out);
    Ok(exit::OK)
}

/// What `adopt` does, its JSON document returned rather than printed:
/// `import --adopt` reports it inside its own.
pub fn take_over(ctx: &Context, args: &AdoptArgs) -> Result<AdoptOutput> {
    let (source, Database { url, mut conn, .. }) = ctx.read_both(&args.db, "adopt", true)?;
    let tool = which(&mut conn, args.from, ctx.settings.ledger())?;
    let entries = read_entries(&mut conn, tool)?;
    ctx.lock(&mut conn, &args.lock)?;
    let history = history::read(&mut conn, true, ctx.settings.ledger())?;
    let r = &ctx.reporter;
    let target = url::target_of(&url);
    let mut records = Vec::new();
    let mut unmatched = Vec::new();
    let mut already = 0;
    for e in &entries {
        let Some(m) = source.find(&e.version) else {
            unmatched.push(e.clone());
            continue;
        };
        if history.is_applied(&e.version) {
            already += 1;
            continue;
        }
        let ours = m.name.split_once('_').map(|(_, n)| n).unwrap_or("");
        let note = (!e.name.is_empty() && normal(ours) != normal(&e.name))
            .then(|| format!("named `{}` there", escape(&e.name)));
        records.push(ToRecord { m, at: e.at.clone(), note });
    }
    let theirs: std::collections::HashSet<&str> = entries.iter().map(|e| e.version.as_str()).collect();
    let pending = source
        .migrations
        .iter()
        .filter(|m| !theirs.contains(m.version.as_str()) && !history.is_applied(&m.version))
        .count();

    let mut out = format!("{target}: {} entries in the history of {}", entries.len(), tool.label());
    for t in &records {
        let at = t.at.as_deref().map(|a| format!("  applied {a}")).unwrap_or_default();
        let note = t.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        out.push_str(&format!("\n  {} {}{at}{note}", "record".green(), escape(&t.m.name)));
    }
    if already > 0 {
        out.push_str(&format!("\n{already} already recorded as applied here"));
    }
    if pending > 0 {
        out.push_str(&format!(
            "\n{pending} migration(s) here that {} never applied: `cargo migrate up` runs them",
            tool.label()
        ));
    }
    r.line(out);
    if !unmatched.is_empty() {
        let mut out = format!(
            "{} {} applied by {} have no migration with their version in {}; not recorded:",
            "!".yellow().bold(),
            unmatched.len(),
            tool.label(),
            crate::output::display_path(&source.dir)
        );
        for e in &unmatched {
            let name = if e.name.is_empty() { String::new() } else { format!("_{}", escape(&e.name)) };
            out.push_str(&format!("\n  {}{name}", escape(&e.version)));
        }
        out.push_str("\n  (import their files first: `cargo migrate import --from … DIR`)");
        r.note(out);
    }
    let what = format!("recording {} migration(s) as applied on {target}, running nothing", records.len());
    let recorded = json(&records);
    record(ctx, &mut conn, &history, records, Who::Adopted(tool), args.dry_run, args.yes, &what, &target)?;
    Ok(AdoptOutput {
        ok: true,
        command: "adopt",
        database: url::mask(&url),
        from: Some(tool.label()),
        dry_run: args.dry_run,
        recorded,
        already_applied: already,
        unmatched: unmatched.iter().map(|e| e.version.as_str().into()).collect(),
        pending,
    })
}

pub fn baseline(ctx: &Context, args: &BaselineArgs) -> Result<u8> {
    let (source, Database { url, mut conn, .. }) = ctx.read_both(&args.db, "baseline", true)?;
    let to = plan::normalize_version(&args.to);
    if source.find(&to).is_none() {
        return Err(Error::new(
            Kind::UnknownVersion,
            format!("no migration with version {to} in {}", crate::output::display_path(&source.dir)),
        )
        .hint(
            "give the version of the newest migration the database already has (`cargo migrate status` lists them)",
        ));
    }
    ctx.lock(&mut conn, &args.lock)?;
    let history = history::read(&mut conn, true, ctx.settings.ledger())?;
    let records: Vec<ToRecord> = source
        .migrations
        .iter()
        .filter(|m| m.version <= to && !history.is_applied(&m.version))
        .map(|m| ToRecord { m, at: None, note: None })
        .collect();
    let target = url::target_of(&url);
    let mut out = format!("{target}: baseline at {to}");
    for t in &records {
        out.push_str(&format!("\n  {} {}", "record".green(), escape(&t.m.name)));
    }
    ctx.reporter.line(out);
    let what = format!("recording {} migration(s) up to {to} as applied on {target}, running nothing", records.len());
    let recorded = json(&records);
    let already = source.migrations.iter().filter(|m| m.version <= to && history.is_applied(&m.version)).count();
    record(ctx, &mut conn, &history, records, Who::Baseline, args.dry_run, args.yes, &what, &target)?;
    ctx.reporter.json(&AdoptOutput {
        ok: true,
        command: "baseline",
        database: url::mask(&url),
        from: None,
        dry_run: args.dry_run,
        recorded,
        already_applied: already,
        unmatched: Vec::new(),
        pending: source.migrations.iter().filter(|m| m.version > to && !history.is_applied(&m.version)).count(),
    });
    Ok(exit::OK)
}

fn json(records: &[ToRecord]) -> Vec<AdoptedJson> {
    records
        .iter()
        .map(|t| AdoptedJson { version: t.m.version.as_str().into(), name: t.m.name.clone(), applied_at: t.at.clone() })
        .collect()
}

enum Who {
    Adopted(Tool),
    Baseline,
}

/// Ask, then write every row in one transaction.
#[allow(clippy::too_many_arguments)]
fn record(
    ctx: &Context,
    conn: &mut Conn,
    history: &crate::db::History,
    records: Vec<ToRecord>,
    who: Who,
    dry_run: bool,
    yes: bool,
    what: &str,
    target: &str,
) -> Result<()> {
    let r = &ctx.reporter;
    if records.is_empty() {
        r.line(format!("{} nothing to record", "✓".green()));
        return Ok(());
    }
    if dry_run {
        r.line(format!("dry run: {what}; nothing was recorded"));
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::new(
                Kind::ConfirmationNeeded,
                format!("{what}: there is no terminal to ask; nothing was recorded"),
            )
            .hint("check the list above, then pass --yes (-y)"));
        }
        confirm(r, what)?;
    }
    let batch = history::next_batch(conn, history)?;
    let by = match who {
        Who::Adopted(tool) => format!("adopted from {} by {}", tool.label(), crate::db::connect::whoami()),
        Who::Baseline => format!("baseline by {}", crate::db::connect::whoami()),
    };
    let mut rows = Vec::with_capacity(records.len());
    for t in &records {
        let checksum = t.m.checksum_of(&t.m.up_unchecked()?)?;
        let rec = Record {
            version: t.m.version.clone(),
            name: t.m.name.clone(),
            checksum,
            down_sql: t.m.down_to_keep(),
            batch,
            who: by.clone(),
        };
        rows.push((rec, t.at.clone()));
    }
    ledger::record_without_running(conn, history, &rows)?;
    r.line(format!(
        "{} recorded {} migration(s) as applied on {target} (batch {batch})",
        "✓".green().bold(),
        records.len()
    ));
    Ok(())
}

/// Lowercase, `-` and spaces as `_`: node-pg-migrate names use dashes, sqlx
/// keeps a description with spaces.
fn normal(name: &str) -> String {
    name.to_lowercase().replace(['-', ' '], "_")
}

/// The history to read: the one asked for, or the only one there is.
fn which(conn: &mut Conn, asked: Option<Tool>, ledger: Ledger) -> Result<Tool> {
    let rows = conn
        .query(
            "SELECT pg_catalog.to_regclass('pgmigrations') IS NOT NULL, \
                    EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                             WHERE n.nspname = 'supabase_migrations' AND c.relname = 'schema_migrations'), \
                    pg_catalog.to_regclass('schema_migrations') IS NOT NULL, \
                    pg_catalog.to_regclass('_sqlx_migrations') IS NOT NULL",
            &[],
        )
        .map_err(|e| query_error("look for other tools' history", e))?;
    let mut found = Vec::new();
    for (i, tool) in [Tool::NodePgMigrate, Tool::Supabase, Tool::Dbmate, Tool::Sqlx].into_iter().enumerate() {
        // In a Supabase project, Supabase's table is our own history already.
        if rows.bool(0, i) == Some(true) && !(tool == Tool::Supabase && ledger == Ledger::Supabase) {
            found.push(tool);
        }
    }
    match (asked, found.as_slice()) {
        (Some(Tool::Supabase), _) if ledger == Ledger::Supabase => Err(Error::new(
            Kind::NoHistoryToAdopt { several: Vec::new() },
            format!("{SUPABASE_HISTORY} is this project's history already (a supabase/migrations folder): what the Supabase CLI applied counts as applied; nothing to adopt"),
        )
        .hint("`cargo migrate status` shows it; `cargo migrate up` runs what the CLI has not")),
        (Some(t), _) if found.contains(&t) => Ok(t),
        (Some(t), _) => Err(Error::new(Kind::NoHistoryToAdopt { several: Vec::new() }, format!("this database has no history of {}", t.label()))
            .hint(if found.is_empty() { "it has none of the histories adopt reads".to_string() } else { format!("it has: {}", found.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ")) })),
        (None, [one]) => Ok(*one),
        (None, []) => Err(Error::new(
            Kind::NoHistoryToAdopt { several: Vec::new() },
            "this database has no other tool's history (looked for pgmigrations, supabase_migrations.schema_migrations, schema_migrations, _sqlx_migrations)",
        )
        .hint("a database made before its migrations: `cargo migrate baseline --to VERSION` records them as applied")),
        (None, several) => Err(Error::new(
            Kind::NoHistoryToAdopt { several: several.iter().map(|t| t.label().to_string()).collect() },
            format!("this database has several histories: {}", several.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ")),
        )
        .hint("choose one with --from node-pg-migrate|supabase|dbmate|sqlx")),
    }
}

/// The versions the tool applied, with names and dates where it kept them.
fn read_entries(conn: &mut Conn, tool: Tool) -> Result<Vec<Entry>> {
    let sql = match tool {
        Tool::NodePgMigrate => {
            "SELECT name, '', run_on::timestamptz::text FROM pgmigrations ORDER BY run_on, id".to_string()
        }
        Tool::Supabase => {
            format!("SELECT version, coalesce(name, ''), NULL::text FROM {SUPABASE_HISTORY} ORDER BY version")
        }
        Tool::Dbmate => "SELECT version::text, '', NULL::text FROM schema_migrations ORDER BY version".to_string(),
        Tool::Sqlx => {
            "SELECT version::text, description, installed_on::text FROM _sqlx_migrations WHERE success ORDER BY version"
                .to_string()
        }
    };
    let rows = conn.query(&sql, &[]).map_err(|e| query_error("read the other tool's history", e))?;
    Ok((0..rows.len)
        .map(|i| {
            let first = rows.text(i, 0).unwrap_or_default();
            let (version, name) = match tool {
                // node-pg-migrate keeps `<timestamp>_<name>`.
                Tool::NodePgMigrate => {
                    (version::version_of(&first), first.split_once('_').map(|(_, n)| n.to_string()).unwrap_or_default())
                }
                _ => (first, rows.text(i, 1).unwrap_or_default()),
            };
            // Tools that keep no date: a timestamp version is the best guess.
            let at = rows.text(i, 2).or_else(|| {
                version::parse_timestamp(&version).map(|unix| {
                    let t = version::format_timestamp(unix);
                    format!("{}-{}-{} {}:{}:{}+00", &t[0..4], &t[4..6], &t[6..8], &t[8..10], &t[10..12], &t[12..14])
                })
            });
            Entry { version, name, at }
        })
        .collect())
}
