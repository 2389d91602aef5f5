//! One file per subcommand; this file holds what they share: finding the
//! project and settings, and the locked discover → plan → run sequence.

pub mod create;
pub mod database_url;
pub mod down;
pub mod local;
pub mod redo;
pub mod status;
pub mod up;

use diesel::PgConnection;

use crate::cli::{Cli, Command, GlobalOpts};
use crate::connection;
use crate::error::{Error, Result};
use crate::history::{self, History};
use crate::plan::{self, Request, State};
use crate::report::Reporter;
use crate::runner::{self, Done};
use crate::settings::{self, Settings};
use crate::source::{self, Source};
use crate::workspace;

pub struct Context {
    pub settings: Settings,
    pub reporter: Reporter,
}

impl Context {
    pub fn load(opts: &GlobalOpts, reporter: Reporter) -> Result<Context> {
        let cwd =
            std::env::current_dir().map_err(|e| Error::new("io", format!("cannot read the current folder: {e}")))?;
        let project = workspace::discover(&cwd, opts.manifest_path.as_deref(), opts.package.as_deref())?;
        let settings = settings::resolve(&cwd, opts, project)?;
        if let Ok(Some(db)) = &settings.database {
            connection::register_secrets(&db.url);
        }
        Ok(Context { settings, reporter })
    }

    /// The database URL and where it came from: the configured one, else the
    /// local development database (started if needed).
    pub fn database_url(&self) -> Result<(String, String)> {
        match &self.settings.database {
            Ok(Some(db)) => {
                if let Some(built) = &db.supabase {
                    for note in &built.notes {
                        self.reporter.note(format!("note: {note}"));
                    }
                }
                Ok((db.url.clone(), db.origin.clone()))
            }
            Ok(None) => {
                let url = self.local()?.ensure_running(&self.reporter)?;
                Ok((url, "the local development database (nothing configured)".into()))
            }
            Err(e) => Err(e.clone()),
        }
    }

    pub fn local(&self) -> Result<crate::supabase::local::Local> {
        let s = &self.settings;
        crate::supabase::local::Local::locate(&s.project.target_dir, &s.project.workspace_root, s.pg_bin.as_deref())
    }

    pub fn connect(&self, url: &str, purpose: &str) -> Result<PgConnection> {
        connection::connect(url, self.settings.connect_timeout, purpose)
    }

    pub fn source(&self) -> Result<Source> {
        source::load(&self.settings.migrations_dir)
    }

    /// The migrations on disk and what the database has applied, read at the
    /// same time: listing thousands of folders and the trips to the server do
    /// not wait for each other. Only reads.
    pub fn read_both(&self, purpose: &str, facts: bool) -> Result<(Source, Database)> {
        let (source, database) = std::thread::scope(|scope| {
            let listing = scope.spawn(|| self.source());
            let database = (|| {
                let (url, origin) = self.database_url()?;
                let mut conn = self.connect(&url, purpose)?;
                let history = history::read(&mut conn, facts)?;
                Ok(Database { url, origin, conn, history })
            })();
            (
                listing
                    .join()
                    .unwrap_or_else(|_| Err(Error::new("internal", "reading the migrations folder panicked"))),
                database,
            )
        });
        Ok((source?, database?))
    }
}

/// A connection and what it found.
pub struct Database {
    pub url: String,
    pub origin: String,
    pub conn: PgConnection,
    pub history: History,
}

pub fn state(source: &Source, history: &History) -> State {
    let mut on_disk: Vec<String> = source.migrations.iter().map(|m| m.version.clone()).collect();
    on_disk.dedup();
    State { on_disk, applied: history.applied.iter().map(|a| a.version.clone()).collect() }
}

/// Versions on disk that the database has not applied.
pub fn pending(source: &Source, history: &History) -> Vec<String> {
    source.migrations.iter().filter(|m| !history.is_applied(&m.version)).map(|m| m.version.clone()).collect()
}

/// What a write command did.
pub struct Outcome {
    pub done: Vec<Done>,
    pub history: History,
    pub source: Source,
    pub database: String,
}

/// The write path every changing command shares: read the folder and the
/// history, refuse a folder diesel would misread, plan; if there is work,
/// take the lock, plan again under it, and run.
pub fn migrate(ctx: &Context, request: &Request, single_transaction: bool) -> Result<Outcome> {
    // A read without the lock first: the deploy that finds nothing to do (the
    // common case) needs no lock. Anything to do is planned again under it.
    let (mut source, Database { url, mut conn, mut history, .. }) = ctx.read_both("run", false)?;
    source.check_runnable(pending(&source, &history));
    plan::check_source(&source.problems)?;
    let mut steps = plan::plan(&state(&source, &history), request)?;
    let _lock = if steps.is_empty() {
        None
    } else {
        let lock = runner::lock(ctx.connect(&url, "lock")?, ctx.settings.lock_timeout, &ctx.reporter)?;
        history = history::read(&mut conn, false)?;
        steps = plan::plan(&state(&source, &history), request)?;
        Some(lock)
    };
    let done = if steps.is_empty() {
        Vec::new()
    } else if single_transaction {
        runner::run_single_transaction(&mut conn, &steps, &source, &history, &ctx.reporter)?
    } else {
        runner::run(&mut conn, &steps, &source, &history, &ctx.reporter)?
    };
    Ok(Outcome { done, history, source, database: connection::mask(&url) })
}

pub fn run(cli: Cli) -> Result<u8> {
    let reporter = Reporter::new(cli.global.format, cli.global.color, cli.global.quiet);
    let ctx = match Context::load(&cli.global, reporter) {
        Ok(ctx) => ctx,
        Err(e) => {
            reporter.error(&e);
            return Ok(e.exit_code);
        }
    };
    let result = match &cli.command {
        Command::Up(args) => up::run(&ctx, args),
        Command::Down(args) => down::run(&ctx, args),
        Command::Redo(args) => redo::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::Create(args) => create::run(&ctx, args),
        Command::DatabaseUrl(args) => database_url::run(&ctx, args),
        Command::Local(args) => local::run(&ctx, args.action),
    };
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            ctx.reporter.error(&e);
            Ok(e.exit_code)
        }
    }
}

/// JSON for the migrations a run applied or reverted.
pub fn done_json(done: &[Done]) -> Vec<serde_json::Value> {
    done.iter()
        .map(|d| {
            serde_json::json!({
                "version": crate::names::version_of(&d.name),
                "name": d.name,
                "action": match d.step { plan::Step::Apply(_) => "applied", plan::Step::Revert(_) => "reverted" },
                "duration_ms": d.duration.as_millis() as u64,
            })
        })
        .collect()
}
