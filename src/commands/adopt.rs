//! Taking over a database that is already migrated, without running anything:
//! `adopt` reads another tool's history (node-pg-migrate's `pgmigrations`,
//! Supabase's, dbmate's, sqlx's) and records the entries that match our
//! migrations as applied, with their dates; `baseline --to VERSION` records
//! every migration up to VERSION (a database made before its migrations).
//! Both show what they will record, ask (or need --yes), and write it all in
//! one transaction.

use std::io::IsTerminal;

use colored::Colorize;

use super::confirm::confirm;
use super::{Context, Database};
use crate::cli::{AdoptArgs, BaselineArgs};
use crate::db::foreign::{self, Entry, Found};
use crate::db::history::{self, Ledger, SUPABASE_HISTORY};
use crate::db::ledger::{self, Record};
use crate::db::Conn;
use crate::error::{exit, Error, Kind, Result};
use crate::output::{escape, AdoptOutput, AdoptedJson};
use crate::{plan, url};

/// A migration to record: ours, and when it was applied.
struct ToRecord<'a> {
    m: &'a crate::source::Migration,
    at: Option<String>,
    note: Option<String>,
}

/// How a history is named to the user: the tool and its table.
pub fn label(found: &Found) -> String {
    format!("{} ({})", found.described().name, found.qualified())
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
    let found = which(&mut conn, args.from.map(|h| h.tool()), ctx.settings.ledger())?;
    let theirs = foreign::read(&mut conn, &found)?;
    let tool = label(&found);
    if theirs.dirty {
        return Err(Error::new(
            Kind::NoHistoryToAdopt { several: Vec::new() },
            format!(
                "{tool} is dirty at version {}: its last migration failed part-way; nothing was recorded",
                theirs.up_to.as_deref().unwrap_or("?")
            ),
        )
        .hint("finish or undo that migration by hand, clear the flag (`migrate force VERSION`), then adopt"));
    }
    let entries = entries_on_disk(&theirs, &source);
    ctx.lock(&mut conn, &args.lock)?;
    let history = history::read(&mut conn, true, ctx.settings.ledger())?;
    let r = &ctx.reporter;
    let target = url::target_of(&url);
    let mut records = Vec::new();
    let mut unmatched = Vec::new();
    let mut already = 0;
    let on_disk = Versions::of(&source, found.described().numeric);
    for e in &entries {
        let Some(m) = on_disk.find(&source, &e.version) else {
            unmatched.push(e.clone());
            continue;
        };
        if history.is_applied(&m.version) {
            already += 1;
            continue;
        }
        let ours = m.name.split_once('_').map(|(_, n)| n).unwrap_or("");
        let note = (!e.name.is_empty() && normal(ours) != normal(&e.name))
            .then(|| format!("named `{}` there", escape(&e.name)));
        records.push(ToRecord { m, at: e.at.clone(), note });
    }
    let matched: std::collections::HashSet<&str> =
        entries.iter().filter_map(|e| on_disk.find(&source, &e.version)).map(|m| m.version.as_str()).collect();
    let pending = source
        .migrations
        .iter()
        .filter(|m| !matched.contains(m.version.as_str()) && !history.is_applied(&m.version))
        .count();

    let mut out = format!("{target}: {} entries in the history of {tool}", entries.len());
    for t in &records {
        let at = t.at.as_deref().map(|a| format!("  applied {a}")).unwrap_or_default();
        let note = t.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        out.push_str(&format!("\n  {} {}{at}{note}", "record".green(), escape(&t.m.name)));
    }
    if already > 0 {
        out.push_str(&format!("\n{already} already recorded as applied here"));
    }
    if pending > 0 {
        out.push_str(&format!("\n{pending} migration(s) here that {tool} never applied: `cargo migrate up` runs them"));
    }
    r.line(out);
    if !unmatched.is_empty() {
        let mut out = format!(
            "{} {} applied by {tool} have no migration with their version in {}; not recorded:",
            "!".yellow().bold(),
            unmatched.len(),
            crate::output::display_path(&source.dir)
        );
        for e in &unmatched {
            let name = if e.name.is_empty() { String::new() } else { format!("_{}", escape(&e.name)) };
            out.push_str(&format!("\n  {}{name}", escape(&e.version)));
        }
        out.push_str("\n  (import their files first: `cargo migrate import --from … DIR`)");
        r.note(out);
    }
    // Supabase's schema is not one the API serves, and its CLI needs the table where it is.
    let retire = (args.retire && found.tool != foreign::Tool::Supabase).then(|| foreign::retire_sql(&found));
    if args.retire && retire.is_none() {
        r.note(format!(
            "{tool} is left where it is: the Supabase CLI reads it there, and its schema is not served by the API"
        ));
    }
    let what = format!("recording {} migration(s) as applied on {target}, running nothing", records.len());
    let recorded = json(&records);
    let wrote = record(
        ctx,
        &mut conn,
        &history,
        records,
        &Who::Adopted(tool.clone()),
        args.dry_run,
        args.yes,
        &what,
        &target,
        retire.as_deref(),
    )?;
    if wrote && !args.dry_run {
        r.line(match &retire {
            Some(_) => format!(
                "{tool} moved to the {} schema: out of the API's reach; cargo migrate no longer looks at it",
                foreign::RETIRED_SCHEMA
            ),
            None => format!(
                "{tool} is left as it is (cargo migrate reads its own history from now on); \
                 `cargo migrate adopt --retire` moves it out of the `{}` schema",
                found.schema
            ),
        });
    }
    Ok(AdoptOutput {
        ok: true,
        command: "adopt",
        database: url::mask(&url),
        from: Some(found.described().name),
        dry_run: args.dry_run,
        recorded,
        already_applied: already,
        unmatched: unmatched.iter().map(|e| e.version.as_str().into()).collect(),
        pending,
    })
}

/// The applied entries of a history, one per migration: golang-migrate's one
/// row stands for every migration on disk up to its version.
pub(crate) fn entries_on_disk(theirs: &foreign::Read, source: &crate::source::Source) -> Vec<Entry> {
    let Some(up_to) = &theirs.up_to else { return theirs.entries.clone() };
    let limit = numeric(up_to);
    source
        .migrations
        .iter()
        .filter(|m| numeric(&m.version).zip(limit).is_some_and(|(v, l)| v <= l))
        .map(|m| Entry { version: m.version.to_string(), name: String::new(), at: None })
        .collect()
}

fn numeric(v: &str) -> Option<u128> {
    v.parse().ok()
}

/// Our migrations by version, as another tool spells it: integer histories
/// (sqlx, Flyway, goose…) keep `1` for a file named `0001_…`.
pub(crate) struct Versions {
    by_number: Option<std::collections::HashMap<u128, usize>>,
}

impl Versions {
    pub(crate) fn of(source: &crate::source::Source, numeric_versions: bool) -> Versions {
        let by_number = numeric_versions.then(|| {
            source.migrations.iter().enumerate().filter_map(|(i, m)| Some((numeric(&m.version)?, i))).collect()
        });
        Versions { by_number }
    }

    pub(crate) fn find<'s>(
        &self,
        source: &'s crate::source::Source,
        version: &str,
    ) -> Option<&'s crate::source::Migration> {
        if let Some(m) = source.find(version) {
            return Some(m);
        }
        let map = self.by_number.as_ref()?;
        if let Some(m) = numeric(version).and_then(|n| map.get(&n)) {
            return Some(&source.migrations[*m]);
        }
        // Flyway's dotted `2.1` is `00020001` here (source/flyway.rs).
        source.find(&crate::source::flyway::version(version).filter(|_| version.contains('.'))?)
    }
}

/// What another tool's history means for `status` and `up`: how many of its
/// entries name a migration on disk that our history does not have. Pure.
#[derive(Debug, Clone)]
pub struct Takeover {
    pub found: Found,
    pub entries: usize,
    /// Entries on disk not applied in our history: what `up` would run again.
    pub not_recorded: Vec<String>,
    /// Our history is empty while theirs is not: not adopted yet.
    pub never_adopted: bool,
    /// This role may not read it: whether it was adopted cannot be told.
    pub unreadable: bool,
}

impl Takeover {
    pub fn blocks(&self) -> bool {
        !self.not_recorded.is_empty() || self.never_adopted || self.unreadable
    }
}

pub fn takeover(theirs: &foreign::Read, source: &crate::source::Source, history: &crate::db::History) -> Takeover {
    let entries = entries_on_disk(theirs, source);
    let on_disk = Versions::of(source, theirs.found.described().numeric);
    let mut not_recorded: Vec<String> = entries
        .iter()
        .filter_map(|e| on_disk.find(source, &e.version))
        .filter(|m| !history.is_applied(&m.version))
        .map(|m| m.version.to_string())
        .collect();
    not_recorded.sort_unstable();
    // Adopted already (our rows say so): an entry of theirs we do not have is
    // one we reverted since, which `up` may run again.
    let adopted_from = format!("adopted from {} by ", label(&theirs.found));
    if history.applied.iter().any(|a| a.applied_by.as_deref().is_some_and(|b| b.starts_with(&adopted_from))) {
        not_recorded.clear();
    }
    let count = entries.len().max(theirs.up_to.is_some() as usize);
    Takeover {
        found: theirs.found.clone(),
        entries: count,
        not_recorded,
        never_adopted: history.applied.is_empty() && count > 0,
        unreadable: false,
    }
}

/// Every other tool's history on the database that was not adopted (the
/// Supabase CLI's is ours in a Supabase folder).
pub fn takeovers(
    conn: &mut Conn,
    source: &crate::source::Source,
    history: &crate::db::History,
    ledger: Ledger,
) -> Result<Vec<Takeover>> {
    let mut out = Vec::new();
    let found = match &history.maybe_histories {
        Some(maybe) => foreign::detect_among(conn, maybe)?,
        None => foreign::detect(conn)?,
    };
    for found in found {
        if found.tool == foreign::Tool::Supabase && ledger == Ledger::Supabase {
            continue;
        }
        out.push(match foreign::read(conn, &found) {
            Ok(theirs) => takeover(&theirs, source, history),
            // A role without SELECT on it (a read-only deploy role): named, not fatal to `status`.
            Err(e) if e.kind == Kind::Database => {
                Takeover { found, entries: 0, not_recorded: Vec::new(), never_adopted: false, unreadable: true }
            }
            Err(e) => return Err(e),
        });
    }
    Ok(out)
}

/// `up`'s refusal while a history is not adopted.
pub fn refuse_unadopted(takeovers: &[Takeover]) -> Result<()> {
    let Some(t) = takeovers.iter().find(|t| t.blocks()) else { return Ok(()) };
    let tool = label(&t.found);
    let what = if t.unreadable {
        "this role may not read it, so whether it was adopted cannot be told".to_string()
    } else if t.not_recorded.is_empty() {
        format!("{} entries, and this database has no history of cargo migrate's", t.entries)
    } else {
        format!("{} of its entries are migrations here that cargo migrate has not recorded", t.not_recorded.len())
    };
    Err(Error::new(
        Kind::OtherHistory,
        format!("this database was migrated by {tool}: {what}; `up` would run them again. Nothing was run"),
    )
    .hint(format!(
        "take it over first: `cargo migrate adopt --from {}` records what it applied (add --retire to move its table away); \
         to run anyway, pass --ignore-other-history",
        t.found.described().name
    )))
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
    record(ctx, &mut conn, &history, records, &Who::Baseline, args.dry_run, args.yes, &what, &target, None)?;
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
    Adopted(String),
    Baseline,
}

/// Ask, then write every row in one transaction.
#[allow(clippy::too_many_arguments)]
fn record(
    ctx: &Context,
    conn: &mut Conn,
    history: &crate::db::History,
    records: Vec<ToRecord>,
    who: &Who,
    dry_run: bool,
    yes: bool,
    what: &str,
    target: &str,
    also: Option<&str>,
) -> Result<bool> {
    let r = &ctx.reporter;
    if records.is_empty() && also.is_none() {
        r.line(format!("{} nothing to record", "✓".green()));
        return Ok(false);
    }
    if dry_run {
        r.line(format!("dry run: {what}; nothing was recorded"));
        return Ok(false);
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
        Who::Adopted(tool) => format!("adopted from {tool} by {}", crate::db::connect::whoami()),
        Who::Baseline => format!("baseline by {}", crate::db::connect::whoami()),
    };
    let mut rows = Vec::with_capacity(records.len());
    for t in &records {
        let checksum = t.m.checksum_of(&t.m.up_unchecked()?)?;
        let rec = Record {
            version: t.m.version.to_string(),
            name: t.m.name.clone(),
            checksum,
            down_sql: t.m.down_to_keep(),
            batch,
            who: by.clone(),
        };
        rows.push((rec, t.at.clone()));
    }
    ledger::record_without_running(conn, history, &rows, also, ctx.exposure())?;
    r.line(format!(
        "{} recorded {} migration(s) as applied on {target} (batch {batch})",
        "✓".green().bold(),
        records.len()
    ));
    Ok(true)
}

/// Lowercase, `-` and spaces as `_`: node-pg-migrate names use dashes, sqlx
/// keeps a description with spaces.
fn normal(name: &str) -> String {
    name.to_lowercase().replace(['-', ' '], "_")
}

/// The history to read: the one asked for, or the only one there is.
fn which(conn: &mut Conn, asked: Option<foreign::Tool>, ledger: Ledger) -> Result<Found> {
    let all = foreign::detect(conn)?;
    // In a Supabase project, Supabase's table is our own history already.
    let found: Vec<Found> =
        all.into_iter().filter(|f| !(f.tool == foreign::Tool::Supabase && ledger == Ledger::Supabase)).collect();
    let names = |found: &[Found]| found.iter().map(label).collect::<Vec<_>>().join(", ");
    let choices = foreign::KNOWN.iter().map(|d| d.name).collect::<Vec<_>>().join("|");
    if asked == Some(foreign::Tool::Supabase) && ledger == Ledger::Supabase {
        return Err(Error::new(
            Kind::NoHistoryToAdopt { several: Vec::new() },
            format!("{SUPABASE_HISTORY} is this project's history already (a supabase/migrations folder): what the Supabase CLI applied counts as applied; nothing to adopt"),
        )
        .hint("`cargo migrate status` shows it; `cargo migrate up` runs what the CLI has not"));
    }
    let mine: Vec<&Found> = found.iter().filter(|f| asked.is_none_or(|t| f.tool == t)).collect();
    match (asked, mine.as_slice()) {
        (_, [one]) => Ok((*one).clone()),
        (Some(t), []) => Err(Error::new(
            Kind::NoHistoryToAdopt { several: Vec::new() },
            format!("this database has no history of {} (looked for {})", t.described().name, t.described().table),
        )
        .hint(if found.is_empty() {
            "it has none of the histories adopt reads".to_string()
        } else {
            format!("it has: {}", names(&found))
        })),
        (None, []) => Err(Error::new(
            Kind::NoHistoryToAdopt { several: Vec::new() },
            format!(
                "this database has no other tool's history (looked for {})",
                foreign::KNOWN.iter().map(|d| d.table).collect::<Vec<_>>().join(", ")
            ),
        )
        .hint("a database made before its migrations: `cargo migrate baseline --to VERSION` records them as applied")),
        (_, several) => Err(Error::new(
            Kind::NoHistoryToAdopt { several: several.iter().map(|f| label(f)).collect() },
            format!(
                "this database has several histories: {}",
                several.iter().map(|f| label(f)).collect::<Vec<_>>().join(", ")
            ),
        )
        .hint(format!("choose one with --from {choices}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Applied, History};
    use crate::source::{Migration, Source};

    fn source(versions: &[&str]) -> Source {
        let migrations = versions
            .iter()
            .map(|v| Migration {
                version: (*v).into(),
                name: format!("{v}_m"),
                path: format!("{v}_m").into(),
                layout: crate::source::Layout::File,
                down_file: None,
                checksum: None,
                text: Default::default(),
            })
            .collect();
        Source { dir: "migrations".into(), exists: true, migrations, problems: Vec::new(), skipped: Vec::new() }
    }

    fn history(versions: &[&str]) -> History {
        let applied = versions
            .iter()
            .map(|v| Applied {
                version: v.to_string(),
                run_on: None,
                name: None,
                batch: None,
                duration_ms: None,
                applied_by: None,
                stored_down: false,
                checksum: None,
            })
            .collect();
        History { applied, ..History::default() }
    }

    fn theirs(tool: foreign::Tool, versions: &[&str], up_to: Option<&str>) -> foreign::Read {
        foreign::Read {
            found: Found { tool, schema: "public".into(), table: tool.described().table.into() },
            entries: versions.iter().map(|v| Entry { version: v.to_string(), name: String::new(), at: None }).collect(),
            up_to: up_to.map(String::from),
            dirty: false,
        }
    }

    #[test]
    fn integer_histories_match_padded_versions() {
        let s = source(&["0001", "0002", "00020001", "0010"]);
        let t = takeover(&theirs(foreign::Tool::Flyway, &["1", "2", "2.1", "10"], None), &s, &history(&[]));
        assert_eq!(t.not_recorded, ["0001", "0002", "00020001", "0010"]);
        assert!(t.blocks());
        // Text versions (dbmate's) only match as written.
        let t = takeover(&theirs(foreign::Tool::Dbmate, &["1"], None), &s, &history(&[]));
        assert!(t.not_recorded.is_empty() && t.never_adopted);
    }

    #[test]
    fn adopted_histories_do_not_block() {
        let s = source(&["000001", "000002", "000003"]);
        let golang = theirs(foreign::Tool::GolangMigrate, &[], Some("2"));
        let t = takeover(&golang, &s, &history(&[]));
        assert_eq!(t.not_recorded, ["000001", "000002"]);
        let t = takeover(&golang, &s, &history(&["000001", "000002"]));
        assert!(!t.blocks(), "{t:?}");
        // A history whose entries are none of ours, beside our own: not ours to refuse.
        let t = takeover(&theirs(foreign::Tool::Sqlx, &["99"], None), &s, &history(&["000001"]));
        assert!(!t.blocks(), "{t:?}");
    }
}
