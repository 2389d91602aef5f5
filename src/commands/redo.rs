//! `cargo migrate redo`: revert and re-apply the newest migration(s), the
//! loop for fixing a migration you are still writing.

use colored::Colorize;

use super::{migrate, run_output, Context, Flags};
use crate::cli::RedoArgs;
use crate::error::{exit, Result};
use crate::plan::Request;

pub fn run(ctx: &Context, args: &RedoArgs) -> Result<u8> {
    let flags = Flags { yes: args.yes, lint: !args.no_lint, schema: args.schema.clone(), ..Flags::default() };
    let out = migrate(ctx, &args.db, &args.lock, &Request::Redo { count: args.count }, flags)?;
    let r = &ctx.reporter;
    if out.done.is_empty() {
        r.line(format!("{} nothing to redo: no migration is applied", "✓".green()));
    } else {
        r.line(format!("{} redid {} migration(s)", "✓".green().bold(), out.done.len() / 2));
    }
    r.json(&run_output("redo", &out));
    Ok(exit::OK)
}
