//! Migrations compiled into an app and run at start-up through the engine the
//! `cargo migrate` command uses: the same migration lock (replicas started
//! together wait for each other, then find nothing to do), the same checks
//! (modified or out-of-order migrations, another tool's history), each
//! migration in its own transaction unless its `metadata.toml` says
//! otherwise, and the same history rows: diesel's
//! `__diesel_schema_migrations` plus cargo-migrate's facts (checksum, the
//! down.sql it was applied with, batch, duration, who).
//!
//! Two ways in:
//! - [`Migrations`], for any app: the migrations as text (the
//!   [`migration!`](crate::migration) macro reads a folder at compile time),
//!   and [`Migrations::migrate`] with the database URL;
//! - with the `diesel` feature, [`Harness`], an implementation of
//!   `diesel_migrations::MigrationHarness<Pg>`: the `EmbeddedMigrations` of
//!   `diesel_migrations::embed_migrations!` run through this engine.
//!
//! ```no_run
//! use cargo_migrate::embed::{Migration, Migrations};
//!
//! // A list of its own: a constant may hold it (not a function's argument).
//! const LIST: &[Migration] = &[Migration::new(
//!     "20250101000000_create_users",
//!     "CREATE TABLE users (id bigint PRIMARY KEY);",
//!     Some("DROP TABLE users;"),
//! )];
//! const MIGRATIONS: Migrations = Migrations::new(LIST);
//!
//! let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
//! let report = MIGRATIONS.migrate(&url)?;
//! for m in &report.applied {
//!     println!("applied {} in {:?}", m.name, m.duration);
//! }
//! # Ok::<(), cargo_migrate::embed::Error>(())
//! ```
//!
//! The app connects with libpq (as diesel's `PgConnection` does): `.pgpass`,
//! `PGSERVICE` and every `sslmode` work as they do for the command.
//! Static checks (`cargo migrate lint`) are the command's, in CI: an app does
//! not lint at start-up.

use std::borrow::Cow;
use std::time::Duration;

#[cfg(feature = "diesel")]
mod harness;
#[cfg(feature = "diesel")]
pub use harness::Harness;

use crate::db::{self, history, lock, Conn, Session};
use crate::plan::{self, PartialChoice, Request, Step};
use crate::runner;
use crate::source::{self, Compiled, Source};

/// One migration, as diesel lays it out: the folder's name
/// (`<version>_<name>`), its `up.sql` and, when it has one, its `down.sql`.
///
/// ```
/// use cargo_migrate::embed::Migration;
///
/// const INDEX: Migration = Migration::new(
///     "20250102000000_index_users",
///     "CREATE INDEX CONCURRENTLY users_email ON users (email);",
///     Some("DROP INDEX CONCURRENTLY users_email;"),
/// )
/// .outside_transaction();
/// assert_eq!(INDEX.version(), "20250102000000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    name: Cow<'static, str>,
    up: Cow<'static, str>,
    down: Option<Cow<'static, str>>,
    run_in_transaction: bool,
}

impl Migration {
    /// A migration named as its folder is (`20250101000000_create_users`),
    /// run in a transaction.
    pub const fn new(name: &'static str, up: &'static str, down: Option<&'static str>) -> Migration {
        let down = match down {
            Some(d) => Some(Cow::Borrowed(d)),
            None => None,
        };
        Migration { name: Cow::Borrowed(name), up: Cow::Borrowed(up), down, run_in_transaction: true }
    }

    /// The same, from text read at run time (or taken from another source).
    pub fn owned(name: impl Into<String>, up: impl Into<String>, down: Option<String>) -> Migration {
        Migration {
            name: Cow::Owned(name.into()),
            up: Cow::Owned(up.into()),
            down: down.map(Cow::Owned),
            run_in_transaction: true,
        }
    }

    /// Run it outside a transaction, as `run_in_transaction = false` in its
    /// `metadata.toml` says (`CREATE INDEX CONCURRENTLY` needs it).
    pub const fn outside_transaction(mut self) -> Migration {
        self.run_in_transaction = false;
        self
    }

    /// Its folder's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its version, as diesel reads it from the name: up to the first `_`,
    /// dashes removed.
    pub fn version(&self) -> String {
        crate::version::version_of(&self.name)
    }

    fn compiled(&self) -> (String, Compiled) {
        let files = Compiled {
            up: self.up.to_string(),
            down: self.down.as_ref().map(|d| d.to_string()),
            metadata: (!self.run_in_transaction).then(|| "run_in_transaction = false\n".to_string()),
        };
        (self.name.to_string(), files)
    }
}

/// A migration folder of the app's crate, read at compile time: its
/// `up.sql` and `down.sql`, both of which must exist (a folder written by
/// `cargo migrate create` has them). The first argument is the migrations
/// folder, relative to the crate's `Cargo.toml`; the second the migration's
/// folder name. For one that runs outside a transaction, add
/// `.outside_transaction()`.
///
/// ```
/// use cargo_migrate::embed::{Migration, Migrations};
///
/// const LIST: &[Migration] = &[
///     cargo_migrate::migration!("examples/embedded/migrations", "20250101000000_create_accounts"),
///     cargo_migrate::migration!("examples/embedded/migrations", "20250103000000_index_posts").outside_transaction(),
/// ];
/// const MIGRATIONS: Migrations = Migrations::new(LIST);
/// assert_eq!(MIGRATIONS.iter().count(), 2);
/// ```
#[macro_export]
macro_rules! migration {
    ($dir:literal, $name:literal) => {
        $crate::embed::Migration::new(
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $name, "/up.sql")),
            Some(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $name, "/down.sql"))),
        )
    };
}

/// An app's migrations, in any order (they run in version order, as diesel
/// orders them).
#[derive(Debug, Clone)]
pub struct Migrations {
    list: Cow<'static, [Migration]>,
}

impl Migrations {
    /// Migrations known at compile time. The list is a constant of its own
    /// (`const LIST: &[Migration] = &[…];`): as a function's argument, a
    /// temporary list would not live long enough.
    pub const fn new(list: &'static [Migration]) -> Migrations {
        Migrations { list: Cow::Borrowed(list) }
    }

    /// Migrations made at run time.
    pub fn from_vec(list: Vec<Migration>) -> Migrations {
        Migrations { list: Cow::Owned(list) }
    }

    /// The migrations, as given.
    pub fn iter(&self) -> impl Iterator<Item = &Migration> {
        self.list.iter()
    }

    /// Apply every pending migration to the database at `url`, with the
    /// default [`Options`]. Replicas calling it at once take turns: one
    /// applies, the others wait for the lock and then find nothing to do.
    pub fn migrate(&self, url: &str) -> Result<Report, Error> {
        self.migrate_with(url, &Options::default())
    }

    /// [`Migrations::migrate`] with other [`Options`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use cargo_migrate::embed::{Migrations, Options};
    ///
    /// # const MIGRATIONS: Migrations = Migrations::new(&[]);
    /// let mut options = Options::default();
    /// options.lock_timeout = Duration::from_secs(300);
    /// let report = MIGRATIONS.migrate_with("postgres://app@db/app", &options)?;
    /// println!("{} applied now, {} before", report.applied.len(), report.already_applied);
    /// # Ok::<(), cargo_migrate::embed::Error>(())
    /// ```
    pub fn migrate_with(&self, url: &str, options: &Options) -> Result<Report, Error> {
        let mut conn = connect(url, options)?;
        run(&mut conn, url, &self.source(), options, Want::Pending).map_err(Error)
    }

    fn source(&self) -> Source {
        // With the checksums, as `up` reads them: an applied migration that changed is refused.
        source::compiled("embedded migrations", self.list.iter().map(Migration::compiled).collect()).with_checksums()
    }
}

/// How a run connects and waits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How long to wait for another run (another replica) holding the
    /// migration lock: 60 s, as `--lock-timeout`.
    pub lock_timeout: Duration,
    /// How long to wait for the server to accept the connection: 10 s, as
    /// `--connect-timeout`.
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options { lock_timeout: Duration::from_secs(60), connect_timeout: Duration::from_secs(10) }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The migrations this run applied (or reverted), in order.
    pub applied: Vec<Applied>,
    /// How many were applied before this run.
    pub already_applied: usize,
    /// How long it waited for another run's lock, if it had to.
    pub waited_for_lock: Option<Duration>,
}

/// One migration this run applied or reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// Its version (`20250101000000`).
    pub version: String,
    /// The folder's name (`20250101000000_create_users`).
    pub name: String,
    /// How long its SQL and bookkeeping took.
    pub duration: Duration,
}

/// A run that failed, with what it did before: the same error the command
/// reports. Its [`Display`](std::fmt::Display) is the command's message,
/// the lines under it and the hint; [`Error::kind`] is `error.kind` of
/// `--format json` (`migration_failed`, `lock_timeout`, `connect`, …,
/// listed in docs/json.md), a stable name to match on.
#[derive(Debug, Clone)]
pub struct Error(crate::error::Error);

impl Error {
    /// The kind of failure, as `--format json` names it.
    pub fn kind(&self) -> String {
        serde_json::to_value(&self.0.kind)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default()
    }

    /// The versions this run applied (or reverted) before it failed; they stay done.
    pub fn done_before(&self) -> Vec<String> {
        self.0.done_before.iter().flatten().map(|d| d.version.to_string()).collect()
    }

    /// The exit code `cargo migrate` would end with.
    pub fn exit_code(&self) -> u8 {
        self.0.exit_code()
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::output::human::plain(&self.0))
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// What a run is asked to do (one migration: diesel's harness only).
#[cfg_attr(not(feature = "diesel"), allow(dead_code))]
enum Want {
    Pending,
    Apply(String),
    Revert(String),
}

fn connect(url: &str, options: &Options) -> Result<Conn, Error> {
    crate::supabase::diagnose::refuse_transaction_pooler(url).map_err(Error)?;
    let timeout = options.connect_timeout.as_secs().max(1);
    db::connect(url, timeout, "embedded", &crate::supabase::diagnose::hints()).map_err(Error)
}

/// The write path of `cargo migrate up` (commands/write.rs) without a
/// terminal: check the source, read the history; if there is work, take the
/// lock, plan again under it, run, give the lock back.
fn run(conn: &mut Conn, url: &str, source: &Source, options: &Options, want: Want) -> crate::error::Result<Report> {
    plan::check_source(&source.problems)?;
    let ledger = source.ledger();
    let history = history::read(conn, true, ledger)?;
    if matches!(want, Want::Pending) {
        let takeovers = crate::commands::adopt::takeovers(conn, source, &history, ledger)?;
        crate::commands::adopt::refuse_unadopted(&takeovers)?;
    }
    let steps = steps_for(source, &history, &want)?;
    if steps.is_empty() {
        return Ok(Report { applied: Vec::new(), already_applied: history.applied.len(), waited_for_lock: None });
    }
    let waited = lock::acquire(conn, options.lock_timeout, |_| {})?;
    let result = (|| {
        let history = history::read(conn, true, ledger)?;
        let steps = steps_for(source, &history, &want)?;
        // As the command runs: the API roles kept out of the bookkeeping, only the run's last commit durable.
        let run_options = runner::Options::new(false, options.lock_timeout, crate::supabase::EXPOSURE);
        let reconnect = || connect(url, options).map(|c| Box::new(c) as Box<dyn Session>).map_err(|e| e.0);
        let done = runner::run(conn, &reconnect, &steps, source, &history, &run_options, &mut |_| {})?;
        Ok(Report {
            applied: done
                .into_iter()
                .map(|d| Applied { version: d.version, name: d.name, duration: d.duration })
                .collect(),
            already_applied: history.applied.len(),
            waited_for_lock: waited,
        })
    })();
    // The connection may be gone (the error says so); a live one gives the lock back.
    let _ = lock::release(conn);
    result
}

/// The plan, as `up` makes it; one migration applied or reverted for diesel's
/// `run_migration` and `revert_migration` (already done: nothing to do).
fn steps_for(source: &Source, history: &history::History, want: &Want) -> crate::error::Result<Vec<Step>> {
    match want {
        Want::Pending => {
            let request = Request::Up {
                count: None,
                to: None,
                allow_out_of_order: false,
                allow_modified: false,
                partial: PartialChoice::Refuse,
            };
            plan::plan(&crate::commands::state(source, history), &request)
        }
        Want::Apply(v) if history.is_applied(v) => Ok(Vec::new()),
        Want::Apply(v) => Ok(vec![Step::Apply(v.clone())]),
        Want::Revert(v) if history.is_applied(v) => Ok(vec![Step::Revert(v.clone())]),
        Want::Revert(_) => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_migrations_read_as_a_folder_would() {
        const LIST: &[Migration] = &[
            Migration::new("20250102000000_b", "CREATE INDEX CONCURRENTLY i ON t (id);", None).outside_transaction(),
            Migration::new("20250101000000_a", "CREATE TABLE t (id int);", Some("DROP TABLE t;")),
        ];
        let source = Migrations::new(LIST).source();
        assert!(source.problems.is_empty(), "{:?}", source.problems);
        let names: Vec<&str> = source.migrations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["20250101000000_a", "20250102000000_b"], "in version order");
        let (a, b) = (&source.migrations[0], &source.migrations[1]);
        assert!(a.checksum.is_some(), "checksummed as `up` reads a folder");
        assert!(a.script(true, None).unwrap().in_transaction);
        assert!(!b.script(true, None).unwrap().in_transaction, "metadata.toml's run_in_transaction = false");
        assert_eq!(a.down_to_keep().as_deref(), Some("DROP TABLE t;"));
        assert_eq!(b.read_down().unwrap_err().kind, crate::error::Kind::MissingDown);
    }

    #[test]
    fn what_a_folder_would_refuse_is_refused() {
        let source = Migrations::from_vec(vec![
            Migration::owned("20250101000000_a", "SELECT 1;", None),
            Migration::owned("20250101000000_b", "SELECT 2;", None),
            Migration::owned("no version", "SELECT 3;", None),
        ])
        .source();
        let e = plan::check_source(&source.problems).unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::BadMigrationsFolder, "{e:?}");
        assert_eq!(source.problems.len(), 2, "{:?}", source.problems);
        let unclosed = Migrations::from_vec(vec![Migration::owned("20250101000000_a", "SELECT 'x;", None)]).source();
        assert_eq!(unclosed.migrations[0].script(true, None).unwrap_err().kind, crate::error::Kind::UnclosedSql);
    }

    #[test]
    fn an_error_is_named_as_the_json_names_it() {
        let e = Error(crate::error::Error::new(crate::error::Kind::LockLost, "lost").hint("do this"));
        assert_eq!(e.kind(), "lock_lost");
        assert_eq!(e.to_string(), "lost\nhint: do this");
        fn send_sync<T: Send + Sync + 'static>(_: &T) {}
        send_sync(&e);
    }
}
