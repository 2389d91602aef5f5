//! `cargo migrate down [VERSION]`: revert the newest migration(s).

use colored::Colorize;

use super::{migrate, print_dry_run, run_output, Context, Flags};
use crate::cli::DownArgs;
use crate::error::{exit, Error, Kind, Result};
use crate::plan::{DownScope, Request};

pub fn run(ctx: &Context, args: &DownArgs) -> Result<u8> {
    let target = match (&args.version, &args.to, args.count, args.all, args.batch) {
        (Some(v), ..) | (None, Some(v), ..) => DownScope::After(v.clone()),
        (_, _, Some(n), ..) => DownScope::Newest(n),
        (_, _, _, true, _) => DownScope::All,
        (.., true) => DownScope::LastBatch,
        _ => DownScope::Newest(1),
    };
    let flags = Flags {
        single_transaction: args.single_transaction,
        yes: args.yes,
        dry_run: args.dry_run,
        backup: None,
        lint: !args.no_lint,
        ignore_other_history: false,
        durable_each: args.durable_each,
        schema: args.schema.clone(),
        from_schema: false,
    };
    let request = Request::Down(target);
    if args.fleet.given() {
        // Many databases cannot be asked about one at a time.
        if !args.yes && !args.dry_run {
            return Err(Error::new(
                Kind::ConfirmationNeeded,
                "`down` on a fleet reverts migrations on every target without asking each; nothing was run",
            )
            .hint("pass --yes (-y) when you mean it, or --dry-run to see what each target would revert"));
        }
        return super::fleet::run(ctx, &args.fleet, &args.db, "down", false, &|tctx, db| {
            super::fleet::written(migrate(tctx, db, &args.lock, &request, flags.clone())?)
        });
    }
    let out = migrate(ctx, &args.db, &args.lock, &request, flags)?;
    if out.planned.is_some() {
        print_dry_run(ctx, "down", &out);
        return Ok(exit::OK);
    }
    let r = &ctx.reporter;
    if out.done.is_empty() {
        r.line(format!("{} nothing to revert", "✓".green()));
    } else {
        r.line(format!(
            "{} reverted {} migration(s); {} still applied",
            "✓".green().bold(),
            out.done.len(),
            out.history.applied.len() - out.done.len()
        ));
    }
    r.json(&run_output("down", &out));
    Ok(exit::OK)
}
