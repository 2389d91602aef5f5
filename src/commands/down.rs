//! `cargo migrate down [VERSION]`: revert the newest migration(s).

use colored::Colorize;

use super::{migrate, print_dry_run, run_output, Context, Flags};
use crate::cli::DownArgs;
use crate::error::{exit, Result};
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
    let out = migrate(ctx, &args.db, &args.lock, &Request::Down(target), flags)?;
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
