//! One file per subcommand; this file holds what they share: finding the
//! project and settings, and the locked discover → plan → run sequence.

pub mod create;
pub mod down;
pub mod redo;
pub mod status;
pub mod up;

use std::path::PathBuf;

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
    pub cwd: PathBuf,
    pub settings: Settings,
    pub reporter: Reporter,
}

impl Context {
    pub fn load(opts: &GlobalOpts, reporter: Reporter) -> Result<Context> {
        let cwd =
            std::env::current_dir().map_err(|e| Error::new("io", format!("cannot read the current folder: {e}")))?;
        let project = workspace::discover(&cwd, opts.manifest_path.as_deref(), opts.package.as_deref())?;
        let settings = settings::resolve(&cwd, opts, project)?;
        if let Some((url, _)) = &settings.database_url {
            connection::register_secrets(url);
        }
        Ok(Context { cwd, settings, reporter })
    }

    /// The database URL and where it came from, or what to set.
    pub fn database_url(&self) -> Result<(String, String)> {
        self.settings.database_url.clone().ok_or_else(|| {
            let env_file = self.settings.env.file_path.clone().unwrap_or_else(|| self.settings.project.workspace_root.join(".env"));
            Error::new("no_database", "no database configured")
                .hint(format!(
                    "set DATABASE_URL=postgres://user:password@host:5432/dbname in the environment or in {}, or pass --database-url",
                    env_file.display()
                ))
        })
    }

    pub fn connect(&self, url: &str, purpose: &str) -> Result<PgConnection> {
        connection::connect(url, self.settings.connect_timeout, purpose)
    }

    pub fn source(&self) -> Result<Source> {
        source::load(&self.settings.migrations_dir)
    }
}

pub fn state(source: &Source, history: &History) -> State {
    let mut on_disk: Vec<String> = source.migrations.iter().map(|m| m.version.clone()).collect();
    on_disk.dedup();
    State { on_disk, applied: history.applied.iter().map(|a| a.version.clone()).collect() }
}

/// What a write command did.
pub struct Outcome {
    pub done: Vec<Done>,
    pub history: History,
    pub source: Source,
    pub database: String,
}

/// The write path every changing command shares: refuse a bad folder, take
/// the lock, read history under it, plan, run.
pub fn migrate(ctx: &Context, request: &Request) -> Result<Outcome> {
    let source = ctx.source()?;
    plan::check_source(&source.problems)?;
    let (url, _) = ctx.database_url()?;
    let lock_conn = ctx.connect(&url, "lock")?;
    let _lock = runner::lock(lock_conn, ctx.settings.lock_timeout, &ctx.reporter)?;
    let mut conn = ctx.connect(&url, "run")?;
    let history = history::read(&mut conn)?;
    let steps = plan::plan(&state(&source, &history), request)?;
    let done =
        if steps.is_empty() { Vec::new() } else { runner::run(&mut conn, &steps, &source, &history, &ctx.reporter)? };
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
