//! `cargo migrate complete VERSION`: the contract of an expand/contract
//! migration (`create --rename-column`/`--change-type`). Its `complete.sql`
//! runs in one transaction under the migration lock: the old column, the
//! trigger that kept it in step and the old app version's schema go. Run it
//! once no app of the old version runs.

use colored::Colorize;

use super::Context;
use crate::cli::CompleteArgs;
use crate::db::{execute, ledger};
use crate::error::{exit, Error, Kind, Result};
use crate::output::{self, CompleteOutput};

pub fn run(ctx: &Context, args: &CompleteArgs) -> Result<u8> {
    let (source, mut db) = ctx.read_both(&args.db, "complete", false)?;
    let Some(m) = source.find(&args.version) else {
        return Err(Error::new(Kind::UnknownVersion, format!("no migration folder for version {}", args.version))
            .hint(
                "give the version of the expand migration `cargo migrate create --rename-column/--change-type` wrote",
            ));
    };
    let file = m.path.join("complete.sql");
    if !file.is_file() {
        return Err(Error::new(
            Kind::NothingToComplete,
            format!("{} has no complete.sql: it is no expand/contract migration; nothing was run", m.name),
        )
        .hint("`cargo migrate create NAME --rename-column t.old:new` (or --change-type) writes one"));
    }
    if !db.history.is_applied(&m.version) {
        return Err(Error::new(
            Kind::NothingToComplete,
            format!("{} is not applied: there is nothing to complete yet; nothing was run", m.name),
        )
        .hint("apply it first (`cargo migrate up`), move every app to the new version, then complete it"));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, "read", e))?;
    ctx.lock(&mut db.conn, &args.lock)?;
    ledger::begin(&mut db.conn, "the contract")?;
    let shown = output::display_path(&file);
    let took = match execute::run_seed(&mut db.conn, &shown, &text) {
        Ok(took) => took,
        Err(e) => {
            ledger::rollback(&mut db.conn);
            return Err(e.detail("  the contract was rolled back: the old column, trigger and schema are still there"));
        }
    };
    ledger::commit(&mut db.conn).map_err(|e| crate::db::query_error("commit the contract", e))?;
    ctx.reporter.line(format!(
        "{} completed {}: the old column, its trigger and the old version's schema are gone ({})",
        "✓".green().bold(),
        output::escape(&m.name),
        output::ms(took)
    ));
    ctx.reporter.json(&CompleteOutput {
        ok: true,
        command: "complete",
        version: m.version.as_str().into(),
        name: m.name.clone(),
        duration_ms: took.as_millis() as u64,
    });
    Ok(exit::OK)
}
