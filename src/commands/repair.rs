//! `cargo migrate repair VERSION`: after a deliberate, harmless edit of an
//! applied migration's up.sql (a comment, formatting), record the file's
//! current checksum so that `status` and `up` stop reporting it as modified.

use super::{Context, Database};
use crate::cli::RepairArgs;
use crate::db::ledger;
use crate::error::{exit, Error, Kind, Result};
use crate::output::{self, RepairOutput};
use crate::{plan, url};

pub fn run(ctx: &Context, args: &RepairArgs) -> Result<u8> {
    let (source, Database { url, mut conn, history, .. }) = ctx.read_both(&args.db, "repair", true)?;
    let v = plan::normalize_version(&args.version);
    let applied = history.applied.iter().find(|a| a.version == v).ok_or_else(|| {
        Error::new(Kind::NotApplied { applied_by: None }, format!("{v} is not applied: there is no checksum to repair"))
            .hint("`cargo migrate status` lists the applied versions")
    })?;
    let m = source.find(&v).ok_or_else(|| {
        Error::new(Kind::MissingOnDisk, format!("{v} has no folder on disk: there is no file to take the checksum of"))
    })?;
    let now = m.checksum_of(&m.read_up()?)?;
    ctx.lock(&mut conn, &args.lock)?;
    ledger::guard(&mut conn, &history, ctx.exposure())?;
    let r = &ctx.reporter;
    let target = url::target_of(&url);
    r.line(format!("{target}: recording the checksum of {}", output::escape(&m.name)));
    // Without our table, nothing was applied by cargo-migrate here.
    if !history.has_companion || !ledger::set_checksum(&mut conn, &v, &now)? {
        let tool = match history.ledger {
            crate::db::history::Ledger::Supabase => "the Supabase CLI",
            crate::db::history::Ledger::Diesel => "diesel's harness, an app",
        };
        return Err(Error::new(
            Kind::NotApplied { applied_by: Some(tool.to_string()) },
            format!("{} was applied by another tool ({tool}): no checksum is recorded for it", m.name),
        )
        .hint("nothing to repair: only migrations applied by cargo-migrate are checked for edits"));
    }
    let before = applied.checksum.clone();
    match &before {
        Some(b) if *b == now => {
            r.line(format!("{}: the recorded checksum already matches ({now})", output::escape(&m.name)))
        }
        Some(b) => r.line(format!("{}: recorded checksum {b} → {now}", output::escape(&m.name))),
        None => r.line(format!("{}: recorded checksum {now}", output::escape(&m.name))),
    }
    r.json(&RepairOutput {
        ok: true,
        command: "repair",
        version: v.into(),
        name: m.name.clone(),
        checksum_before: before,
        checksum: now,
    });
    Ok(exit::OK)
}
