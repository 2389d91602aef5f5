//! cargo-migrate: chronological PostgreSQL migrations in diesel's layout.
//!
//! Data flows one way: `cli` → `workspace` → `settings` → `source` →
//! `plan` → `runner` → `output`, `db` the seam under them; `commands` glues
//! them per subcommand (only they use `cli` and `output`), and `supabase`
//! sits on top of the core. `show` (what may be shown of a text) is a leaf.
//!
//! The library's public surface is small: [`embed`], to run migrations
//! compiled into an app through the same engine (with the `diesel` feature,
//! as diesel_migrations' `MigrationHarness`), and [`run`], the command line.
//! Everything else is the binary's and may change in any release.

#![warn(missing_docs)]

mod cli;
mod commands;
mod db;
mod diesel_schema;
mod diff;
pub mod embed;
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

use clap::{CommandFactory, FromArgMatches};

pub use error::exit;

/// Run the command line, as `cargo migrate …` (cargo passes `migrate` first)
/// or `cargo-migrate …`; returns the exit code.
pub fn run(mut args: Vec<OsString>) -> u8 {
    if args.get(1).is_some_and(|a| a == "migrate") {
        args.remove(1);
    }
    match parse(args) {
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

/// The command line, as `Cli::try_parse_from` reads it: with only the
/// command it names described where that is enough ([`cli::single`]), else
/// with every command, which is then not dropped: the process ends soon, and
/// freeing the description cost more than reading the arguments.
fn parse(args: Vec<OsString>) -> Result<cli::Cli, clap::Error> {
    if let Some(cli) = cli::single::parse(&args) {
        return Ok(cli);
    }
    let mut command = std::mem::ManuallyDrop::new(cli::Cli::command());
    let mut matches = command.try_get_matches_from_mut(args)?;
    cli::Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))
}
