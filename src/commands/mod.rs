//! One file per subcommand; this file holds what they share: finding the
//! project and settings, choosing the database (configured, or the local
//! development database), and reading the folder and the history together;
//! `write.rs` is the locked plan → run sequence of `up`, `down` and `redo`.

pub mod adopt;
pub mod check;
mod complete;
pub mod completions;
mod confirm;
pub mod create;
pub mod database_url;
pub mod diff;
pub mod down;
pub mod dump;
mod explain;
mod fleet;
pub mod import;
mod keep_schema;
pub mod lint;
pub mod local;
pub mod man;
pub mod print_schema;
pub mod redo;
mod rehearse;
pub mod repair;
mod scratch;
pub mod seed;
pub mod squash;
pub mod status;
pub mod up;
pub mod url_check;
pub mod verify;
mod write;

pub use write::{migrate, print_dry_run, run_output, Flags, Written};

use std::sync::{Mutex, OnceLock};

use crate::cli::{Cli, Command, DbOpts, LocalOpts, LockOpts, ProjectOpts};
use crate::db::{self, history, lock, Conn, History};
use crate::error::{Error, Kind, Result};
use crate::output::{self, Reporter};
use crate::plan::State;
use crate::settings::{self, Settings};
use crate::source::{self, Source};
use crate::supabase;
use crate::{url, workspace};

/// One run, resolved once: the settings (with the lint configuration), the
/// output, and, when first asked, the database it talks to and the local
/// database's paths. Later stages read these; nothing re-reads Cargo.toml,
/// re-resolves the URL or registers its secrets twice. What the stages find
/// worth saying on the way is collected here as data and told by this
/// layer (`tell_notes`), at the end of each stage: the stages print nothing.
pub struct Context {
    pub settings: Settings,
    pub reporter: Reporter,
    notes: Mutex<Vec<String>>,
    /// The configured database (None: the local development database).
    configured: OnceLock<Result<Option<Configured>>>,
    /// The database this run talks to, configured or local (started).
    target: OnceLock<Result<Target>>,
    local: OnceLock<Result<crate::local::Local>>,
}

/// The database a command talks to, and where that choice came from.
#[derive(Debug, Clone)]
pub struct Configured {
    pub url: String,
    pub origin: String,
    /// How a URL built from Supabase variables was put together.
    pub supabase: Option<supabase::url::Built>,
}

/// The database this run talks to, resolved once: the configured one, else
/// the local development database (started if needed). Every later stage
/// reads this value; nothing resolves the URL again.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    /// Where the URL came from (`--database-url`, `DATABASE_URL in .env`, …).
    pub origin: String,
    /// `user@host:port/db` when it is not on this machine.
    pub remote: Option<String>,
    /// Seconds to wait for the server to accept a connection.
    pub connect_timeout: u64,
    /// How a URL built from Supabase variables was put together.
    supabase: Option<supabase::url::Built>,
    /// Where this run finds PostgreSQL's programs (pg_dump for backups and
    /// the schema file): `--pg-bin`, else the local database's.
    pub programs: LocalOpts,
}

impl Context {
    pub fn load(opts: &ProjectOpts, reporter: Reporter) -> Result<Context> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::new(Kind::Io, format!("cannot read the current folder: {e}")))?;
        let project = match workspace::discover(&cwd, opts.manifest_path.as_deref(), opts.package.as_deref()) {
            // Told where the migrations are, we need no cargo project (a deploy image).
            Err(e)
                if opts.dir.is_some()
                    && opts.manifest_path.is_none()
                    && opts.package.is_none()
                    && matches!(e.kind, Kind::NoCargo | Kind::NotInCargoProject) =>
            {
                workspace::standalone(&cwd)
            }
            found => found?,
        };
        let flags = settings::Flags {
            dir: opts.dir.as_deref(),
            env_file: opts.env_file.as_deref(),
            package_named: opts.package.is_some() || opts.manifest_path.is_some(),
        };
        let settings = settings::resolve(&cwd, flags, project)?;
        warn_lost_expansions(&settings.env, &reporter);
        Ok(Context {
            settings,
            reporter,
            notes: Mutex::new(Vec::new()),
            configured: OnceLock::new(),
            target: OnceLock::new(),
            local: OnceLock::new(),
        })
    }

    /// Keep a note for the user (stderr, hidden by --quiet); `tell_notes` says it.
    fn note(&self, text: impl Into<String>) {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).push(text.into());
    }

    /// Say the notes kept so far, in the order they were made.
    pub fn tell_notes(&self) {
        let notes = std::mem::take(&mut *self.notes.lock().unwrap_or_else(|p| p.into_inner()));
        for note in notes {
            self.reporter.note(note);
        }
    }

    /// The same run for one target of a fleet: the settings as resolved,
    /// nothing printed (the fleet reports), the database given by the target.
    pub fn for_target(&self) -> Context {
        Context {
            settings: self.settings.clone(),
            reporter: self.reporter.muted(),
            notes: Mutex::new(Vec::new()),
            configured: OnceLock::new(),
            target: OnceLock::new(),
            local: OnceLock::new(),
        }
    }

    /// --database-url > DATABASE_URL > Supabase variables; None means "use
    /// the local development database". A set-but-blank DATABASE_URL is a
    /// mistake, never a reason to migrate another database.
    /// A command has one set of database flags, so the first answer is the run's.
    pub fn configured(&self, opts: &DbOpts) -> Result<Option<Configured>> {
        self.configured.get_or_init(|| self.resolve_configured(opts)).clone()
    }

    fn resolve_configured(&self, opts: &DbOpts) -> Result<Option<Configured>> {
        let configured = if let Some(url) = &opts.database_url {
            Some(Configured { url: url.clone(), origin: "--database-url".into(), supabase: None })
        } else if let Some((url, origin)) = self.settings.env.get_even_blank("DATABASE_URL") {
            if url.trim().is_empty() {
                return Err(Error::new(Kind::EmptyDatabaseUrl, format!("{origin} is set but empty")).hint(
                    "set it to a postgres:// URL, or unset it to use the Supabase variables or the local database",
                ));
            }
            Some(Configured { url, origin, supabase: None })
        } else {
            // The token must never be printed, whatever fails next.
            if let Some((token, _)) = self.settings.env.get("SUPABASE_ACCESS_TOKEN") {
                crate::show::add_secret(&token);
            }
            supabase::url::build(|k| self.settings.env.get(k), &self.pooler_places())?.map(|built| Configured {
                url: built.url.clone(),
                origin: "Supabase variables".into(),
                supabase: Some(built),
            })
        };
        if let Some(c) = &configured {
            for secret in url::secrets(&c.url) {
                output::add_secret(&secret);
            }
            // One check for every command, `database-url` included: a URL
            // that `up` would refuse is not shown as fine.
            let parsed = url_check::validate(&c.url)?;
            // An API key where the password belongs: say so before sending it anywhere.
            if let Some(pw) = &parsed.password {
                supabase::diagnose::check_password(pw, &c.origin)?;
            }
        }
        Ok(configured)
    }

    /// `user@host:port/db` of the configured database when it is not on this
    /// machine (writes that are hard to undo ask first there); None for a
    /// local one or the local development database. Known before connecting.
    pub fn remote_target(&self, opts: &DbOpts) -> Result<Option<String>> {
        Ok(self.configured(opts)?.and_then(|c| remote(&c.url)))
    }

    /// The database this run talks to: the configured one, else the local
    /// development database (started if needed). Resolved once.
    pub fn target(&self, opts: &DbOpts) -> Result<Target> {
        let target = self.target.get_or_init(|| self.resolve_target(opts)).clone();
        self.tell_notes();
        target
    }

    fn resolve_target(&self, opts: &DbOpts) -> Result<Target> {
        let (url, origin, supabase) = match self.configured(opts)? {
            Some(Configured { url, origin, supabase }) => {
                for note in supabase.iter().flat_map(|built| &built.notes) {
                    self.note(format!("note: {note}"));
                }
                (url, origin, supabase)
            }
            None => (self.start_local(opts)?, "the local development database (nothing configured)".into(), None),
        };
        Ok(Target {
            remote: remote(&url),
            url,
            origin,
            connect_timeout: opts.connect_timeout,
            supabase,
            programs: opts.local_db.clone(),
        })
    }

    /// Nothing is configured: the local development database, started, unless
    /// that fallback is off (--no-local, or CI without --local).
    fn start_local(&self, opts: &DbOpts) -> Result<String> {
        let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        if opts.no_local || (in_ci && !opts.local) {
            let why = if opts.no_local { "--no-local is given" } else { "CI is set" };
            return Err(Error::new(
                Kind::Connect,
                format!("no database is configured, and {why}: cargo-migrate does not fall back to the local development database"),
            )
            .hint("set DATABASE_URL (or --database-url, or VITE_SUPABASE_URL + SUPABASE_DB_PASSWORD); \
                   to use the local development database here, pass --local (MIGRATE_LOCAL=1)"));
        }
        let local = self.local(&opts.local_db)?;
        let running = local.ensure_running()?;
        for secret in url::secrets(&running.url) {
            output::add_secret(&secret);
        }
        running.notes.into_iter().for_each(|note| self.note(note));
        self.note(format!(
            "using the local development database {} (nothing is configured; {} stops it)",
            url::mask(&running.url),
            local.command_hint("stop")
        ));
        Ok(running.url)
    }

    /// The database URL and where it came from (see `target`).
    pub fn database_url(&self, opts: &DbOpts) -> Result<(String, String)> {
        self.target(opts).map(|t| (t.url, t.origin))
    }

    /// The local development database's paths; a command has one `--pg-bin`.
    pub fn local(&self, opts: &LocalOpts) -> Result<&crate::local::Local> {
        self.local.get_or_init(|| self.locate_local(opts)).as_ref().map_err(Clone::clone)
    }

    fn locate_local(&self, opts: &LocalOpts) -> Result<crate::local::Local> {
        let s = &self.settings;
        let pg_bin = self.pg_bin(opts)?;
        let roles = s.roles.file()?;
        crate::local::Local::locate(&s.project.target_dir, &s.project.workspace_root, pg_bin.as_deref(), roles)
    }
    /// A failure with the hint its data calls for (`explain`): a missing
    /// extension or role (with the file that makes roles on the local and
    /// scratch databases), a stand-in extension created without IF NOT
    /// EXISTS, a denied privilege.
    pub fn explained(&self, e: Error) -> Error {
        explain::error(e, &output::display_path(&self.settings.roles.path))
    }

    /// --pg-bin (PG_BIN), which must be a folder of PostgreSQL programs: one
    /// that is not would otherwise be passed over for another PostgreSQL.
    pub fn pg_bin(&self, opts: &LocalOpts) -> Result<Option<std::path::PathBuf>> {
        let Some(given) = &opts.pg_bin else { return Ok(None) };
        let dir = std::env::current_dir().unwrap_or_default().join(given);
        let programs = ["pg_dump", "initdb", "postgres", "psql"];
        if dir.is_dir() && programs.iter().any(|p| dir.join(p).is_file()) {
            return Ok(Some(dir));
        }
        let what = if dir.is_dir() { "holds no PostgreSQL program (pg_dump, initdb)" } else { "does not exist" };
        Err(Error::new(Kind::BadPgBin, format!("--pg-bin (PG_BIN) {} {what}; nothing was done", dir.display()))
            .hint("give the bin folder of a PostgreSQL installation (e.g. /usr/lib/postgresql/17/bin), or leave --pg-bin and PG_BIN unset to use the one found on this machine"))
    }

    /// Open a connection to `url` with this run's database flags (see `open`).
    pub fn connect(&self, url: &str, opts: &DbOpts, purpose: &str) -> Result<Conn> {
        supabase::diagnose::refuse_transaction_pooler(url)?;
        self.open(&Target { url: url.to_string(), ..self.target(opts)? }, purpose)
    }

    /// Open a connection to the target (its URL was checked when it was
    /// resolved: the transaction pooler is refused there): Supabase's hints
    /// for what fails, the region's other pooler tried when the first does
    /// not know the project.
    pub fn open(&self, target: &Target, purpose: &str) -> Result<Conn> {
        let hints = supabase::diagnose::hints();
        let conn = self.blame_lost_expansion(self.connect_once(target, purpose, &hints));
        self.tell_notes();
        conn
    }

    /// Where the Supabase pooler lookup reads `supabase link`'s file and keeps its answers.
    fn pooler_places(&self) -> supabase::pooler::Places {
        let project = &self.settings.project;
        supabase::pooler::Places {
            project_dirs: vec![project.package_dir.clone(), project.workspace_root.clone()],
            target_dir: project.target_dir.clone(),
        }
    }

    /// A refused login after `.env` expansion shortened the URL or the
    /// password: that is the cause, not percent-encoding.
    fn blame_lost_expansion(&self, connected: Result<Conn>) -> Result<Conn> {
        connected.map_err(|mut e| {
            let lost = self.settings.env.lost_expansions();
            let key = ["DATABASE_URL", "SUPABASE_DB_PASSWORD"].into_iter().find(|k| lost.iter().any(|l| l.key == *k));
            if let (true, Some(key)) = (matches!(e.kind, Kind::Connect), key) {
                e.hint = Some(format!(
                    "{key} in .env lost characters to `$` expansion (see the warning above): write it in single \
                     quotes, {key}='…', or put a backslash before each `$`"
                ));
            }
            e
        })
    }

    fn connect_once(&self, target: &Target, purpose: &str, hints: &db::Hints) -> Result<Conn> {
        let timeout = target.connect_timeout;
        match db::connect(&target.url, timeout, purpose, hints) {
            // Only a region said where: the region's other pooler may be the one.
            Err(e) if matches!(e.kind, Kind::Connect) && e.message.contains(supabase::pooler::UNKNOWN_TENANT) => {
                let built = target.supabase.as_ref();
                let Some(alternate) = built.and_then(|b| b.retry_after(&target.url, &e.message)).map(str::to_string)
                else {
                    return Err(e);
                };
                self.note(format!(
                    "note: that pooler does not know the project; using {} (set SUPABASE_POOLER_HOST to skip the first try)",
                    url::target_of(&alternate)
                ));
                let conn = db::connect(&alternate, timeout, purpose, hints)?;
                // The next run goes there first.
                if let Ok(parsed) = url::parse_any(&alternate) {
                    if let Some(project_ref) = parsed.user.as_deref().and_then(|u| u.strip_prefix("postgres.")) {
                        self.pooler_places().remember(project_ref, &parsed.host);
                    }
                }
                Ok(conn)
            }
            other => other,
        }
    }

    /// What an API in front of the database serves, and to whom (Supabase's):
    /// the core closes the bookkeeping tables to those roles.
    pub fn exposure(&self) -> db::ledger::Exposure {
        supabase::EXPOSURE
    }

    /// How the runner runs this command's steps.
    pub fn run_options(&self, single_transaction: bool, lock: &LockOpts) -> crate::runner::Options {
        let lock_timeout = std::time::Duration::from_secs(lock.lock_timeout);
        crate::runner::Options::new(single_transaction, lock_timeout, self.exposure())
    }

    /// Take the migration lock on `conn`, saying who holds it while we wait.
    pub fn lock(&self, conn: &mut Conn, opts: &LockOpts) -> Result<()> {
        let timeout = std::time::Duration::from_secs(opts.lock_timeout);
        let waited = lock::acquire(conn, timeout, |holder| {
            self.reporter.note(format!(
                "waiting for the migration lock, held by {holder} (up to {} s; --lock-timeout)",
                timeout.as_secs()
            ))
        })?;
        if let Some(waited) = waited {
            self.reporter.note(format!("got the migration lock after {}", output::ms(waited)));
        }
        Ok(())
    }

    /// The migrations folder. One that was named and does not exist is an
    /// error: a typo in --dir must not read as "up to date".
    pub fn source(&self) -> Result<Source> {
        let s = &self.settings;
        let source = source::load(&s.migrations_dir)?;
        if !source.exists && s.dir_configured {
            return Err(Error::new(
                Kind::NoMigrationsFolder,
                format!(
                    "the migrations folder {} ({}) does not exist; nothing was done",
                    crate::show::display_path(&s.migrations_dir),
                    s.dir_origin
                ),
            )
            .hint("check its spelling; `cargo migrate create NAME` makes a new migrations folder there"));
        }
        // Once per run, however often the folder is listed.
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            for s in &source.skipped {
                self.reporter.warn(format!(
                    "{} will not run: {}",
                    output::display_path(&source.dir.join(&s.entry)),
                    s.reason.why(&s.entry)
                ));
            }
        });
        Ok(source)
    }

    /// The migrations on disk and what the database has applied, read at the
    /// same time: listing thousands of folders and the trips to the server do
    /// not wait for each other. Only reads.
    pub fn read_both(&self, opts: &DbOpts, purpose: &str, facts: bool) -> Result<(Source, Database)> {
        self.read_both_at(&self.target(opts)?, purpose, facts)
    }

    /// [`Context::read_both`] of a target already resolved.
    pub fn read_both_at(&self, target: &Target, purpose: &str, facts: bool) -> Result<(Source, Database)> {
        let (source, database) = std::thread::scope(|scope| {
            let listing = scope.spawn(|| self.source().map(Source::with_checksums));
            let database = (|| {
                let mut conn = self.open(target, purpose)?;
                let history = history::read(&mut conn, facts, self.settings.ledger())?;
                Ok(Database { url: target.url.clone(), origin: target.origin.clone(), conn, history })
            })();
            let source = listing.join().unwrap_or_else(|_| {
                Err(Error::new(Kind::Internal, "reading the migrations folder failed unexpectedly"))
            });
            (source, database)
        });
        Ok((source?, database?))
    }
}

/// The local database's URL, once what happened on the way is told.
pub fn running(r: &Reporter, running: crate::local::Running) -> String {
    for note in running.notes {
        r.note(note);
    }
    running.url
}

/// `.env` values that variable expansion shortened, named by key and
/// variable only: the value may be a password.
fn warn_lost_expansions(env: &settings::Env, reporter: &Reporter) {
    let file = env.file_path.as_deref().map(output::display_path).unwrap_or_default();
    for lost in env.lost_expansions() {
        let key = &lost.key;
        let what = if lost.name.is_empty() {
            "a `$` with no variable name after it was dropped".to_string()
        } else {
            format!("`${}` is no variable here and expanded to nothing", lost.name)
        };
        reporter.warn(format!(
            "{key} in {file}: {what}, so the value is shorter than written. If the `$` is part of the value, \
             write it in single quotes ({key}='…' keeps every character) or as \\$"
        ));
    }
}

/// A connection and what it found.
pub struct Database {
    pub url: String,
    pub origin: String,
    pub conn: Conn,
    pub history: History,
}

/// `user@host:port/db` of a database that is not on this machine.
fn remote(db_url: &str) -> Option<String> {
    url::parse_any(db_url).ok().filter(|u| !u.is_local()).map(|u| u.target())
}

pub fn state(source: &Source, history: &History) -> State {
    let mut on_disk: Vec<String> = source.migrations.iter().map(|m| m.version.to_string()).collect();
    on_disk.dedup();
    let partial = history.partial.iter().map(|p| (p.version.clone(), p.statements_done, p.statements_total)).collect();
    let batch = history.applied.iter().map(|a| a.batch).collect();
    // `applied` is sorted, so this is too.
    let stored_down = history.applied.iter().filter(|a| a.stored_down).map(|a| a.version.clone()).collect();
    State { on_disk, applied: history.versions(), partial, batch, stored_down, modified: modified(source, history) }
}

/// Applied migrations whose up.sql is no longer what ran: (version, then, now).
fn modified(source: &Source, history: &History) -> Vec<(String, String, String)> {
    history
        .applied
        .iter()
        .filter_map(|a| {
            let (recorded, now) = (a.checksum.as_ref()?, source.find(&a.version)?.checksum.as_ref()?);
            (now != recorded).then(|| (a.version.clone(), recorded.clone(), now.clone()))
        })
        .collect()
}

/// Versions on disk that the database has not applied.
pub fn pending(source: &Source, history: &History) -> Vec<String> {
    source.migrations.iter().filter(|m| !history.is_applied(&m.version)).map(|m| m.version.to_string()).collect()
}

pub fn run(cli: Cli) -> u8 {
    let o = &cli.output;
    let format = match o.format {
        crate::cli::Format::Human => output::Format::Human,
        crate::cli::Format::Json => output::Format::Json,
        crate::cli::Format::Sarif => output::Format::Sarif,
    };
    let color = match o.color {
        crate::cli::ColorChoice::Auto => output::Color::Auto,
        crate::cli::ColorChoice::Always => output::Color::Always,
        crate::cli::ColorChoice::Never => output::Color::Never,
    };
    let reporter = Reporter::new(format, color, o.quiet);
    if o.format == crate::cli::Format::Sarif && !matches!(cli.command, Command::Lint(_)) {
        let e = Error::new(Kind::UnsupportedFormat, "--format sarif is for `cargo migrate lint` only")
            .hint("use --format json (or human) with this command");
        reporter.error(&e);
        return e.exit_code();
    }
    // Neither needs a project: they describe the command line itself.
    let done = match &cli.command {
        Command::Completions(args) => Some(completions::run(args)),
        Command::Man(args) => Some(man::run(args)),
        _ => None,
    };
    if let Some(result) = done {
        return result.unwrap_or_else(|e| {
            reporter.error(&e);
            e.exit_code()
        });
    }
    let project = match &cli.command {
        Command::Up(a) => &a.project,
        Command::Down(a) => &a.project,
        Command::Redo(a) => &a.project,
        Command::Repair(a) => &a.project,
        Command::Verify(a) => &a.project,
        Command::Diff(a) => &a.project,
        Command::Lint(a) => &a.project,
        Command::Status(a) => &a.project,
        Command::Create(a) => &a.project,
        Command::Import(a) => &a.project,
        Command::Adopt(a) => &a.project,
        Command::Seed(a) => &a.project,
        Command::Baseline(a) => &a.project,
        Command::DatabaseUrl(a) => &a.project,
        Command::Local(a) => &a.project,
        Command::Dump(a) => &a.project,
        Command::Squash(a) => &a.project,
        Command::PrintSchema(a) => &a.project,
        Command::Check(a) => &a.project,
        Command::Complete(a) => &a.project,
        Command::Completions(_) | Command::Man(_) => unreachable!("answered above"),
    };
    let result = Context::load(project, reporter).and_then(|ctx| {
        let result = dispatch(&ctx, &cli.command).map_err(|e| ctx.explained(e));
        ctx.tell_notes();
        result
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            reporter.error(&e);
            e.exit_code()
        }
    }
}

fn dispatch(ctx: &Context, command: &Command) -> Result<u8> {
    match command {
        Command::Up(args) if args.rehearse => rehearse::run(ctx, args),
        Command::Up(args) => up::run(ctx, args),
        Command::Down(args) => down::run(ctx, args),
        Command::Redo(args) => redo::run(ctx, args),
        Command::Repair(args) => repair::run(ctx, args),
        Command::Verify(args) => verify::run(ctx, args),
        Command::Diff(args) => diff::run(ctx, args),
        Command::Lint(args) => lint::run(ctx, args),
        Command::Status(args) => status::run(ctx, args),
        Command::Create(args) => create::run(ctx, args),
        Command::Import(args) => import::run(ctx, args),
        Command::Adopt(args) => adopt::adopt(ctx, args),
        Command::Seed(args) => seed::run(ctx, args),
        Command::Baseline(args) => adopt::baseline(ctx, args),
        Command::DatabaseUrl(args) => database_url::run(ctx, args),
        Command::Local(args) => local::run(ctx, args),
        Command::Dump(args) => dump::run(ctx, args),
        Command::Squash(args) => squash::run(ctx, args),
        Command::PrintSchema(args) => print_schema::run(ctx, args),
        Command::Check(args) => check::run(ctx, args),
        Command::Complete(args) => complete::run(ctx, args),
        Command::Completions(_) | Command::Man(_) => unreachable!("answered above"),
    }
}
