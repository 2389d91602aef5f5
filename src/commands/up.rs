//! `cargo migrate up`: apply pending migrations.

use colored::Colorize;

use super::{migrate, print_dry_run, run_output, Context, Flags};
use crate::cli::UpArgs;
use crate::error::{exit, Result};
use crate::plan::{PartialChoice, Request};

/// `up` (a rehearsal, `--rehearse`, is `rehearse::run`'s: see `dispatch`).
pub fn run(ctx: &Context, args: &UpArgs) -> Result<u8> {
    let partial = match (args.resume, args.restart) {
        (true, _) => PartialChoice::Resume,
        (_, true) => PartialChoice::Restart,
        _ => PartialChoice::Refuse,
    };
    let request = request(args, partial);
    show_backfill_progress(ctx.reporter);
    let flags = Flags {
        single_transaction: args.single_transaction,
        yes: true,
        dry_run: args.dry_run,
        backup: args.backup.then(|| args.backup_dir.clone()),
        lint: !args.no_lint,
        ignore_other_history: args.ignore_other_history,
        durable_each: args.durable_each,
        schema: args.schema.clone(),
        from_schema: args.from_schema,
    };
    if args.fleet.given() {
        return super::fleet::run(ctx, &args.fleet, &args.db, "up", false, &|tctx, db| {
            super::fleet::written(migrate(tctx, db, &args.lock, &request, flags.clone())?)
        });
    }
    let out = migrate(ctx, &args.db, &args.lock, &request, flags)?;
    if out.planned.is_some() {
        print_dry_run(ctx, "up", &out);
        return Ok(exit::OK);
    }
    let applied_before = out.history.applied.len();
    let r = &ctx.reporter;
    if out.done.is_empty() {
        r.line(format!(
            "{} nothing to apply: {} migration(s) applied, database is up to date",
            "✓".green(),
            applied_before
        ));
    } else {
        let total: std::time::Duration = out.done.iter().map(|d| d.duration).sum();
        r.line(format!(
            "{} applied {} migration(s) in {}; {} applied in all",
            "✓".green().bold(),
            out.done.len(),
            crate::output::ms(total),
            applied_before + out.done.len()
        ));
    }
    if let Some(advice) = &out.advice {
        super::lint::print_advice(r, advice);
    }
    r.json(&run_output("up", &out));
    Ok(exit::OK)
}

/// The plan `up`'s flags ask for (also what `up --rehearse` rehearses).
pub fn request(args: &UpArgs, partial: PartialChoice) -> Request {
    Request::Up {
        count: args.count,
        to: args.to.clone(),
        allow_out_of_order: args.allow_out_of_order,
        allow_modified: args.allow_modified,
        partial,
    }
}

/// A batched backfill's progress, about once a second (and its last batch).
fn show_backfill_progress(r: crate::output::Reporter) {
    let last = std::sync::Mutex::new(None::<std::time::Instant>);
    crate::db::backfill::on_progress(move |p| {
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        let done = p.after >= p.max;
        if !done && last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return;
        }
        *last = Some(std::time::Instant::now());
        let share = if p.max > 0 { (p.after.max(0) as f64 / p.max as f64 * 100.0).min(100.0) } else { 100.0 };
        r.note(format!(
            "  backfill {}: {} batch(es), key {} of {} ({share:.0} %), {}",
            p.version,
            p.batches,
            p.after,
            p.max,
            crate::output::ms(p.elapsed)
        ));
    });
}
