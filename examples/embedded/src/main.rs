//! An app that migrates its database when it starts, as a web service would
//! before it serves: the migrations are compiled in by diesel's
//! `embed_migrations!` and run through cargo-migrate's engine, so replicas
//! started together take turns under the migration lock and each migration
//! is applied once, with the history `cargo migrate status` reads.
//!
//! DATABASE_URL=postgres://… cargo run   (exits 0 once the database is migrated)
//! DATABASE_URL=postgres://… cargo run -- revert-last   (diesel's revert_last_migration)

use std::process::ExitCode;

use cargo_migrate::embed::Harness;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

fn main() -> ExitCode {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("error: set DATABASE_URL to the database to migrate");
        return ExitCode::from(2);
    };
    let mut harness = match Harness::connect(&url) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    if std::env::args().nth(1).as_deref() == Some("revert-last") {
        return match harness.revert_last_migration(MIGRATIONS) {
            Ok(version) => {
                println!("reverted {version}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match harness.run_pending_migrations(MIGRATIONS) {
        Ok(applied) => {
            // One line per migration this process applied; the others were
            // applied before it, or by a replica it waited for.
            for version in &applied {
                println!("applied {version}");
            }
            if let Some(report) = harness.last_report() {
                eprintln!(
                    "migrated: {} applied now, {} before{}",
                    report.applied.len(),
                    report.already_applied,
                    report.waited_for_lock.map(|w| format!(", after waiting {w:?} for the lock")).unwrap_or_default()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
