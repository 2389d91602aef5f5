//! `cargo migrate seed`: the seed data, kept apart from migrations,
//! loaded in one transaction: every file or none.
//! Never recorded as applied; on a database that is not on this machine it
//! asks first (or needs --yes).

use std::io::IsTerminal;
use std::time::Duration;

use colored::Colorize;

use super::confirm::confirm;
use super::{pending, Context, Database};
use crate::cli::{DbOpts, LockOpts, SeedArgs};
use crate::db::execute;
use crate::db::ledger;
use crate::error::{exit, Error, Kind, Result};
use crate::output::{display_path, json_path, ms, SeedFileJson, SeedOutput};
use crate::source::seeds;
use crate::sql::{self, OwnTransactions};
use crate::url;

pub fn run(ctx: &Context, args: &SeedArgs) -> Result<u8> {
    let out = seed(ctx, &args.db, &args.lock, args.yes, args.dry_run)?;
    ctx.reporter.json(&out);
    Ok(exit::OK)
}

/// Load every seed file on the database `db` names; returns what was loaded
/// (for JSON output, which the caller prints: `local reset` prints its own).
pub fn seed(ctx: &Context, db: &DbOpts, lock: &LockOpts, yes: bool, dry_run: bool) -> Result<SeedOutput> {
    let s = &ctx.settings;
    let found = seeds::find(&s.project, &s.migrations_dir)?;
    if found.files.is_empty() {
        let looked: Vec<String> = found.looked.iter().map(|p| display_path(p)).collect();
        return Err(Error::new(Kind::NoSeeds, format!("no seed files (looked at {})", looked.join(", ")))
            .hint("write supabase/seed.sql or seeds/*.sql, or point `seeds` in [package.metadata.migrate] at a file or folder"));
    }
    // Read and check everything before connecting.
    let mut texts = Vec::new();
    for path in &found.files {
        let raw = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        let mut text = sql::strip_bom(&raw).to_string();
        match sql::own_transactions(&text) {
            OwnTransactions::No => {}
            OwnTransactions::Wrapped(inner) => text = inner,
            OwnTransactions::Balanced | OwnTransactions::Unbalanced(..) => {
                return Err(Error::new(
                    Kind::TransactionControl,
                    format!(
                        "{} manages transactions itself; seeds run in one transaction, so nothing was run",
                        display_path(path)
                    ),
                )
                .hint("remove its BEGIN/COMMIT: every seed file is loaded in one transaction already"))
            }
        }
        texts.push((display_path(path), text));
    }
    let remote = ctx.remote_target(db)?;
    if let (Some(target), false, false) = (&remote, yes, dry_run) {
        if !std::io::stdin().is_terminal() {
            return Err(Error::new(
                Kind::ConfirmationNeeded,
                format!("this would load seed data into {target}, which is not a local database, and there is no terminal to ask; nothing was run"),
            )
            .hint("seeds are for development databases; when a script means it, pass --yes (-y)"));
        }
    }
    let (source, Database { url, mut conn, history, .. }) = ctx.read_both(db, "seed", false)?;
    let target = url::target_of(&url);
    let r = &ctx.reporter;
    let waiting = pending(&source, &history).len();
    if waiting > 0 {
        r.note(format!(
            "{} {waiting} migration(s) pending on {target}: the seeds may need them (`cargo migrate up` first)",
            "warning:".yellow().bold()
        ));
    }
    let mut files: Vec<SeedFileJson> =
        found.files.iter().map(|p| SeedFileJson { path: json_path(p), duration_ms: None }).collect();
    if dry_run {
        let list: Vec<&str> = texts.iter().map(|(p, _)| p.as_str()).collect();
        r.line(format!("dry run: would load {} seed file(s) into {target}: {}", texts.len(), list.join(", ")));
        return Ok(SeedOutput { ok: true, command: "seed", database: url::mask(&url), dry_run, files });
    }
    if remote.is_some() && !yes {
        confirm(r, &format!("loading {} seed file(s) into {target}, which is not a local database", texts.len()))?;
    }
    ledger::refuse_standby(&history)?;
    ctx.lock(&mut conn, lock)?;
    ledger::begin(&mut conn, "the seed transaction")?;
    let mut total = Duration::ZERO;
    for ((path, text), json) in texts.iter().zip(files.iter_mut()) {
        let took = match execute::run_seed(&mut conn, path, text) {
            Ok(t) => t,
            Err(e) => {
                ledger::rollback(&mut conn);
                return Err(e.detail("  the seeds run in one transaction: none of them was loaded"));
            }
        };
        total += took;
        json.duration_ms = Some(took.as_millis() as u64);
        r.line(format!("  {} {path}  {}", "seeded".green(), ms(took)));
        r.notices(&conn.take_notices());
    }
    ledger::reset_and_commit(&mut conn, "the seed data")?;
    r.line(format!("{} loaded {} seed file(s) into {target} in {}", "✓".green().bold(), texts.len(), ms(total)));
    Ok(SeedOutput { ok: true, command: "seed", database: url::mask(&url), dry_run, files })
}
