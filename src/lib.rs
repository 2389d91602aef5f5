//! cargo-migrate: chronological PostgreSQL migrations in diesel's layout.
//!
//! Data flows one way: `cli` → `workspace` → `settings` → `source` →
//! `plan` → `runner` → `output`, `db` the seam under them; `commands` glues
//! them per subcommand (only they use `cli` and `output`), and `supabase`
//! sits on top of the core. `show` (what may be shown of a text) is a leaf.
//! The library is an implementation detail of the binary: `run` is its only
//! entry point.

mod cli;
mod commands;
mod db;
mod diesel_schema;
mod diff;
mod envfile;
mod error;
mod expand;
mod git;
mod lint;
mod local;
mod migration_name;
mod output;
mod plan;
mod rehearsal;
mod runner;
mod settings;
mod show;
mod source;
mod sql;
mod supabase;
mod targets;
mod url;
mod version;
mod workspace;

use std::ffi::OsString;

use clap::Parser;

pub use error::exit;

/// Run the command line, as `cargo migrate …` (cargo passes `migrate` first)
/// or `cargo-migrate …`; returns the exit code.
pub fn run(mut args: Vec<OsString>) -> u8 {
    if args.get(1).is_some_and(|a| a == "migrate") {
        args.remove(1);
    }
    match cli::Cli::try_parse_from(args) {
        Ok(cli) => commands::run(cli),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            }
        }
    }
}
