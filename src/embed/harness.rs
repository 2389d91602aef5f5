//! diesel_migrations' `MigrationHarness<Pg>` over the engine: what
//! `embed_migrations!` compiled in runs with the lock, the checks and the
//! history rows of `cargo migrate up`.
//!
//! The harness holds a connection of its own (libpq, opened from the URL),
//! not diesel's `PgConnection`: the lock is taken on the very session that
//! runs the migrations, and a migration is sent with its bookkeeping in one
//! round trip whose statements, errors (with their position in the file),
//! notices and transaction state the engine reads; diesel's connection gives
//! none of these. A diesel migration yields its SQL only to a diesel
//! connection, so the text is read through a stand-in server in the process
//! (`db::capture`), which runs nothing.

use diesel::migration::{Migration as DieselMigration, MigrationSource, MigrationVersion};
use diesel::pg::Pg;
use diesel_migrations::MigrationHarness;

use super::{connect, history, run, Error, Migration, Migrations, Options, Report, Want};
use crate::db::capture::Capture;
use crate::db::Conn;

/// Boxed errors, as diesel's harness returns them.
type DieselResult<T> = diesel::migration::Result<T>;

/// A `MigrationHarness<Pg>` that runs diesel's migrations through
/// cargo-migrate's engine.
///
/// ```no_run
/// use cargo_migrate::embed::Harness;
/// use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
///
/// // The folder, relative to the crate's Cargo.toml.
/// const MIGRATIONS: EmbeddedMigrations = embed_migrations!("examples/embedded/migrations");
///
/// let url = std::env::var("DATABASE_URL")?;
/// let mut harness = Harness::connect(&url)?;
/// let applied = harness.run_pending_migrations(MIGRATIONS)?;
/// println!("applied {} migration(s)", applied.len());
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub struct Harness {
    conn: Conn,
    url: String,
    options: Options,
    capture: Option<Capture>,
    last: Option<Report>,
}

impl Harness {
    /// Connect to the database at `url`, with the default [`Options`].
    pub fn connect(url: &str) -> Result<Harness, Error> {
        Harness::connect_with(url, Options::default())
    }

    /// Connect with other [`Options`] (how long to wait for the lock).
    pub fn connect_with(url: &str, options: Options) -> Result<Harness, Error> {
        let conn = connect(url, &options)?;
        Ok(Harness { conn, url: url.to_string(), options, capture: None, last: None })
    }

    /// What the last run did (applied, already applied, time waited for the lock).
    pub fn last_report(&self) -> Option<&Report> {
        self.last.as_ref()
    }

    /// diesel's migrations as ours: name, up and down text, transaction.
    fn read(&mut self, migrations: &[&dyn DieselMigration<Pg>]) -> Result<Migrations, Error> {
        let capture = match &mut self.capture {
            Some(c) => c,
            None => self.capture.insert(Capture::start().map_err(Error)?),
        };
        let list = migrations
            .iter()
            .map(|m| {
                let up = capture.up(*m).unwrap_or_default();
                let down = capture.down(*m);
                let ours = Migration::owned(m.name().to_string(), up, down);
                if m.metadata().run_in_transaction() {
                    ours
                } else {
                    ours.outside_transaction()
                }
            })
            .collect();
        Ok(Migrations::from_vec(list))
    }

    fn run(&mut self, migrations: &Migrations, want: Want) -> Result<Report, Error> {
        let report = run(&mut self.conn, &self.url, &migrations.source(), &self.options, want).map_err(Error)?;
        self.last = Some(report.clone());
        Ok(report)
    }

    fn one(&mut self, migration: &dyn DieselMigration<Pg>, apply: bool) -> DieselResult<MigrationVersion<'static>> {
        let ours = self.read(&[migration])?;
        let version = migration.name().version().as_owned();
        let want = if apply { Want::Apply(version.to_string()) } else { Want::Revert(version.to_string()) };
        self.run(&ours, want)?;
        Ok(version)
    }
}

impl MigrationHarness<Pg> for Harness {
    /// Every pending migration of `source`, in one run under the lock (as
    /// `cargo migrate up`): another replica's run is waited for, and what it
    /// applied is not applied again.
    fn run_pending_migrations<S: MigrationSource<Pg>>(&mut self, source: S) -> DieselResult<Vec<MigrationVersion<'_>>> {
        let theirs = source.migrations()?;
        let refs: Vec<&dyn DieselMigration<Pg>> = theirs.iter().map(|m| m.as_ref()).collect();
        let ours = self.read(&refs)?;
        let report = self.run(&ours, Want::Pending)?;
        Ok(report.applied.into_iter().map(|a| MigrationVersion::from(a.version)).collect())
    }

    /// One migration, under the lock; one that is applied already (by another
    /// replica) is left as it is.
    fn run_migration(&mut self, migration: &dyn DieselMigration<Pg>) -> DieselResult<MigrationVersion<'static>> {
        self.one(migration, true)
    }

    /// Revert one migration, under the lock (with the down.sql stored when
    /// it was applied, if its text changed since).
    fn revert_migration(&mut self, migration: &dyn DieselMigration<Pg>) -> DieselResult<MigrationVersion<'static>> {
        self.one(migration, false)
    }

    /// The applied versions, newest first (as diesel lists them).
    fn applied_migrations(&mut self) -> DieselResult<Vec<MigrationVersion<'static>>> {
        let history = history::read(&mut self.conn, false, Default::default()).map_err(Error)?;
        Ok(history.applied.into_iter().rev().map(|a| MigrationVersion::from(a.version)).collect())
    }
}
