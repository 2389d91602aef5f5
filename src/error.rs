//! One error type for everything a user can meet. An error is data: its
//! `Kind` (listed once, below: the JSON name is part of the interface) says
//! what failed, and the kinds with a story to tell carry it as fields
//! (`MigrationFailed` the file, line, column and SQLSTATE; `LockTimeout` who
//! holds the lock …). The exit code follows from the kind, in `exit_code`.
//! `output` turns an error into words for humans and into a JSON document
//! from the same fields. A failure during a run also carries what this run
//! did before it, so the report alone tells the database's real state.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::version::Version;

/// Exit codes are part of the interface (documented in README.md).
pub mod exit {
    /// Done as asked.
    pub const OK: u8 = 0;
    /// Something failed: nothing was done, or the report says what was.
    pub const FAILURE: u8 = 1;
    /// The command line or an input (a name, a version) is wrong.
    pub const USAGE: u8 = 2;
    /// `status --exit-code`: migrations are pending or something is odd.
    pub const PENDING: u8 = 3;
}

/// Every kind of failure. The serde name (`kind` in `--format json`) is
/// stable; the fields of a kind appear beside it in the JSON error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    // The command line and the project.
    /// `cargo metadata` failed.
    CargoMetadata,
    /// cargo could not be run (not installed: a deploy image).
    NoCargo,
    /// Run outside any cargo project.
    NotInCargoProject,
    /// `--manifest-path` names no file.
    NoManifest,
    /// `-p NAME` names no workspace member.
    UnknownPackage,
    /// Several workspace members have migrations and none was chosen.
    AmbiguousPackage,
    /// `[package.metadata.migrate]`, diesel.toml or a migration's metadata.toml is wrong.
    BadMetadata,
    /// `--env-file` names no file.
    NoEnvFile,
    /// A `.env` line cannot be parsed.
    BadEnvFile,
    /// `--format sarif` with a command that has no findings in files.
    UnsupportedFormat,
    /// A file or folder could not be read or written.
    Io,
    /// `seed` found no seed file, or the seeds setting names nothing.
    NoSeeds,
    /// `adopt` found no other tool's history, or several (then `--from` must choose).
    NoHistoryToAdopt {
        /// The histories found when there are several.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        several: Vec<String>,
    },
    /// Another tool's history was never adopted: `up` would run again what it applied.
    OtherHistory,
    /// `import` was pointed at the folder it would write into, or at a Supabase one.
    ImportTarget,
    /// `import` left files it could not convert (each named with why).
    NotConverted,
    /// `import` found no migration file of that tool in the folder.
    NothingToImport,
    /// JavaScript migrations to convert, and no `node` to run them.
    NoNode,
    /// JavaScript migrations to convert, and no node-pg-migrate installed for them.
    NoNodePgMigrate,
    /// node stopped, or node-pg-migrate could not be used.
    NodeFailed,
    /// diesel.toml's `patch_file` cannot be read as a unified diff or does not apply.
    PatchFailed,
    /// `print-schema` met a table without a primary key, which diesel cannot describe.
    NoPrimaryKey {
        /// The table, as diesel names it (`schema.table` outside `public`).
        table: String,
    },
    /// A print-schema flag is wrong: a regular expression that does not
    /// compile, a `--schema-key` diesel.toml does not have.
    BadPrintSchemaFlag,
    /// `diff` found no declarative schema files (or `schema_dir` names nothing).
    NoSchemaFiles,
    /// `diff --rename` is not `OLD:NEW`, or names nothing the diff drops and adds.
    BadRename,
    /// `--targets FILE` or `--group NAME` is unreadable, empty or malformed.
    BadTargets,
    /// `check` found no base to compare the branch with, or git failed.
    Git,
    // The migrations folder.
    /// The migrations path (or `import`'s folder) is not a folder.
    NotAFolder,
    /// The migrations folder named by --dir or a setting does not exist.
    NoMigrationsFolder,
    /// Duplicate versions, folders without up.sql, bad folder names, dangling links.
    BadMigrationsFolder,
    /// up.sql has no statement (still the template).
    EmptyUp,
    /// down.sql is missing.
    MissingDown,
    /// down.sql has no statement.
    EmptyDown,
    /// A single-file migration without a down section (every Supabase one).
    UpOnly,
    /// A transactional migration says BEGIN/COMMIT itself.
    TransactionControl,
    /// A migration that opts out of transactions cannot join `--single-transaction`.
    NotTransactional,
    // Names and versions.
    /// A migration name breaks the naming rules.
    InvalidName,
    /// A name that says nothing (`update`, `fix_bug`).
    GenericName,
    /// A table or column name for `create --table` is not usable.
    BadIdentifier,
    /// `--policy` is not a known preset.
    BadPolicy,
    /// No free version could be reserved for `create`.
    VersionTaken,
    /// A version that no migration folder has.
    UnknownVersion,
    /// `down VERSION` (or `repair VERSION`) for a version that is not applied, or
    /// (`applied_by`) applied by another tool, so nothing of ours is recorded for it.
    NotApplied {
        #[serde(skip_serializing_if = "Option::is_none")]
        applied_by: Option<String>,
    },
    // Planning.
    /// Pending migrations older than the newest applied one.
    OutOfOrder {
        /// The pending versions older than the newest applied one.
        versions: Vec<Version>,
    },
    /// Applied migrations whose folder is gone.
    MissingOnDisk,
    /// A migration outside a transaction stopped part-way earlier.
    PartlyApplied { version: Version, statements_done: i32, statements_total: i32 },
    /// An applied migration's up.sql changed since it ran.
    Modified { migrations: Vec<ModifiedMigration> },
    /// `squash --to` on a database that applied only some of the migrations folded
    /// into the baseline (`applied`), not the others (`missing`).
    SquashPartlyApplied { applied: Vec<Version>, missing: Vec<Version> },
    // The connection.
    /// The database URL cannot be understood.
    BadDatabaseUrl,
    /// `DATABASE_URL` is set but empty.
    EmptyDatabaseUrl,
    /// The transaction pooler (port 6543) cannot run migrations.
    TransactionPooler,
    /// An API key where the database password belongs.
    ApiKeyAsPassword,
    /// Supabase variables are half set or malformed.
    SupabaseConfig,
    /// The Supabase Management API refused or failed the pooler lookup.
    SupabaseApi,
    /// The server could not be reached or refused us.
    Connect,
    /// The server is a standby (read replica): nothing can be written there.
    Standby,
    /// A bookkeeping query failed (permissions, a missing schema).
    Database,
    /// The connection's search_path names no schema to create diesel's table in.
    NoSchema,
    /// `up` found static lint errors in a pending migration; nothing was applied.
    LintFailed,
    /// `verify` found a migration that is not reversible or fails.
    NotReversible,
    /// `up --backup` could not back the database up, or (`inside_migrations`)
    /// was given a folder inside the migrations folder.
    Backup {
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        inside_migrations: bool,
    },
    /// A destructive command on a database that is not local needs `--yes`.
    ConfirmationNeeded,
    /// A trigger, rule or policy the tool did not make is on a bookkeeping table.
    ForeignHook,
    /// pg_dump failed, or a schema file could not be loaded.
    Dump,
    /// `dump --check`: the committed schema file is not what the migrations make.
    SchemaDrift {
        /// The schema file compared.
        file: String,
        /// A unified diff: `-` the file's lines, `+` what the migrations make.
        diff: String,
    },
    /// `--from-schema` cannot load: no schema file `dump` wrote, or the database is not empty.
    FromSchema,
    /// `diff` would write statements that lose data; `--allow-drop` lets it.
    DestructiveChange {
        /// The objects whose data would be lost.
        objects: Vec<String>,
    },
    /// A declarative schema file failed to load on the scratch database.
    SchemaFileFailed,
    // Running.
    /// Another run holds the migration lock for longer than `--lock-timeout`.
    LockTimeout {
        /// The session holding it: pid, application, user, client, since when.
        holder: String,
    },
    /// The migration lock was lost during the run.
    LockLost,
    /// A migration's SQL failed.
    MigrationFailed(Box<MigrationFailure>),
    /// A quote, dollar quote or block comment in a migration is never closed; nothing was sent.
    UnclosedSql,
    /// A migration says `COPY … FROM STDIN`, whose rows only a client such as psql can send.
    CopyFromStdin,
    /// A migration outside a transaction left a transaction open.
    OpenTransaction,
    /// The connection dropped; the fields say what the database really has.
    ConnectionLost(Box<ConnectionLoss>),
    /// The connection dropped and the server still runs the step's session:
    /// whether it took effect is not known yet (`status` tells, later).
    OutcomeUnknown {
        migration: MigrationRef,
        /// The old session's backend pid, when known.
        pid: Option<i32>,
        /// How long its end was waited for.
        waited_s: u64,
    },
    /// Some targets of a fleet run failed (the others completed).
    FleetFailed { failed: usize, targets: usize },
    /// `check` found problems as severe as `--fail-on`.
    CheckFailed { errors: usize, warnings: usize },
    /// `up --rehearse` could not make, reach or measure its scratch copy (the target is untouched).
    Rehearsal,
    /// `complete VERSION`: the migration is no applied expand (no complete.sql, or not applied).
    NothingToComplete,
    // The local development database.
    /// No PostgreSQL server binaries to start one.
    NoPostgres,
    /// `--pg-bin` (PG_BIN) is not a folder of PostgreSQL programs.
    BadPgBin,
    /// It could not be created, started, prepared or stopped.
    #[serde(rename = "local_db")]
    LocalDatabase,
    /// The roles file (`supabase/roles.sql`, setting `roles`) failed.
    RolesFile,
    /// A bug: please report it.
    Internal,
}

impl Kind {
    /// The process's exit code for this kind: the one place it is decided.
    pub fn exit_code(&self) -> u8 {
        match self {
            // What the user typed, or named, is wrong: fix the input.
            Kind::NoManifest
            | Kind::NotInCargoProject
            | Kind::UnknownPackage
            | Kind::NoEnvFile
            | Kind::UnsupportedFormat
            | Kind::AmbiguousPackage
            | Kind::ImportTarget
            | Kind::NotAFolder
            | Kind::NoMigrationsFolder
            | Kind::BadPgBin
            | Kind::NotTransactional
            | Kind::InvalidName
            | Kind::GenericName
            | Kind::BadIdentifier
            | Kind::BadPolicy
            | Kind::UnknownVersion
            | Kind::BadPrintSchemaFlag
            | Kind::BadRename
            | Kind::BadTargets
            | Kind::NotApplied { applied_by: None } => exit::USAGE,
            Kind::NoHistoryToAdopt { several } if !several.is_empty() => exit::USAGE,
            Kind::Backup { inside_migrations: true } => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

/// A migration, as errors and JSON documents name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct MigrationRef {
    pub version: Version,
    /// The folder name (diesel's migration name), or the file's name without `.sql`.
    pub name: String,
}

/// An applied migration whose up SQL is no longer what ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ModifiedMigration {
    pub version: Version,
    /// The checksum recorded when it was applied.
    pub recorded: String,
    /// The checksum of the file now.
    pub current: String,
}

/// What stays of a migration whose SQL failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Aftermath {
    /// It ran in a transaction, which was rolled back: nothing of it stays.
    RolledBack,
    /// Outside a transaction, its first statement failed.
    NothingRan,
    /// It was refused before anything of it was sent.
    NotRun,
    /// Outside a transaction: `statements_done` statements ran, and stay.
    PartlyApplied,
    /// The connection dropped: only the database can tell.
    Unknown,
}

/// A migration's SQL failed: where, what the server said, and what stays of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct MigrationFailure {
    pub migration: MigrationRef,
    /// The file that was run, as the user sees it.
    pub file: String,
    /// 1-based, in `file`; None when the server gave no position and the statement is unknown.
    pub line: Option<usize>,
    /// 1-based, counting characters; None when the server gave no position.
    pub column: Option<usize>,
    /// The text of `line` (control characters replaced).
    pub source_line: Option<String>,
    /// PostgreSQL's SQLSTATE (`42P01` …); None when the run refused the file before sending it.
    pub sqlstate: Option<String>,
    /// PostgreSQL's message, as it sent it.
    pub server_message: String,
    /// PostgreSQL's DETAIL.
    pub server_detail: Option<String>,
    /// PostgreSQL's HINT (cargo-migrate's own is the error's `hint`).
    pub server_hint: Option<String>,
    pub aftermath: Aftermath,
    /// For `partly_applied`: how many statements ran.
    pub statements_done: Option<usize>,
    /// The server's notices and warnings while it ran.
    pub notices: Vec<Notice>,
    /// It failed because it uses this role, which does not exist on the server.
    pub missing_role: Option<String>,
    /// It failed because it creates this extension, which the server does not have.
    pub missing_extension: Option<String>,
    /// The server's major version, when a hint needs it (the packages of an extension).
    #[serde(skip)]
    pub server_major: Option<u32>,
    /// A plain CREATE EXTENSION of this extension failed because it exists
    /// already as the local development database's stand-in.
    #[serde(skip)]
    pub stand_in: Option<String>,
    /// `status` shows it as partly applied (a progress row was kept).
    #[serde(skip)]
    pub tracked: bool,
    /// It ran in a transaction of its own.
    #[serde(skip)]
    pub in_transaction: bool,
}

/// What the database has of the step that was running when the connection dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DatabaseHas {
    /// The server committed it before the connection dropped.
    Committed,
    /// The server rolled it back.
    RolledBack,
    /// It ran outside a transaction: part of it may have run (`status` shows how far).
    MaybePartly,
    /// Reconnecting to ask failed (`reconnect_error` says why).
    Unknown,
}

/// The connection dropped: what was running and, asked afresh, what the database has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ConnectionLoss {
    /// The migration that was running (None: between migrations, or not a migration).
    pub migration: Option<MigrationRef>,
    /// Applying (true) or reverting it.
    #[serde(skip)]
    pub applying: bool,
    /// None when nobody asked (not during a migration).
    pub database_has: Option<DatabaseHas>,
    pub reconnect_error: Option<String>,
}

/// The severity of a server message, untranslated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Warning,
    Notice,
    Info,
    Debug,
    Log,
}

impl Severity {
    /// PostgreSQL's untranslated severity; anything unknown is a notice.
    pub fn parse(text: &str) -> Severity {
        match text {
            "WARNING" => Severity::Warning,
            "INFO" => Severity::Info,
            "DEBUG" => Severity::Debug,
            "LOG" => Severity::Log,
            _ => Severity::Notice,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "WARNING",
            Severity::Notice => "NOTICE",
            Severity::Info => "INFO",
            Severity::Debug => "DEBUG",
            Severity::Log => "LOG",
        }
    }
}

/// A NOTICE, WARNING, INFO (…) message the server sent while a migration ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Notice {
    pub severity: Severity,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

/// What a run did before it failed, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DoneStep {
    pub version: Version,
    pub name: String,
    pub action: Action,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Applied,
    Reverted,
}

/// The error under ours, when there is one (an I/O error, libpq's message).
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

/// An error, boxed: it travels up every `Result` of the program, and a
/// failure is rare while a small `Result` is on every path.
#[derive(Debug, Clone)]
pub struct Error(Box<Failure>);

/// What an error holds (reached through `Error`'s `Deref`).
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
    /// Extra lines shown under the message (lists, excerpts) that no field of the kind holds.
    pub details: Vec<String>,
    pub hint: Option<String>,
    /// Steps this run completed before the failure (they stay done).
    pub done_before: Option<Vec<DoneStep>>,
    source: Option<Source>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error(Box::new(Failure {
            kind,
            message: message.into(),
            details: Vec::new(),
            hint: None,
            done_before: None,
            source: None,
        }))
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    /// Keep the error this one comes from (`std::error::Error::source`).
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        Error::new(Kind::Io, format!("could not {action} {}: {err}", path.display())).caused_by(err)
    }
}

impl std::ops::Deref for Error {
    type Target = Failure;
    fn deref(&self) -> &Failure {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut Failure {
        &mut self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        for line in &self.details {
            write!(f, "\n{line}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_follows_from_the_kind() {
        assert_eq!(Error::new(Kind::InvalidName, "x").exit_code(), exit::USAGE);
        assert_eq!(Error::new(Kind::Database, "x").exit_code(), exit::FAILURE);
        assert_eq!(Kind::LockTimeout { holder: "pid 7".into() }.exit_code(), exit::FAILURE);
    }

    #[test]
    fn the_json_kind_is_the_stable_name() {
        let names = [
            (Kind::LocalDatabase, "local_db"),
            (Kind::OutOfOrder { versions: vec!["1".into()] }, "out_of_order"),
            (Kind::Io, "io"),
            (Kind::MigrationFailed(Box::new(failure())), "migration_failed"),
        ];
        for (kind, name) in names {
            assert_eq!(serde_json::to_value(&kind).unwrap()["kind"], name);
        }
        let json = serde_json::to_value(Kind::MigrationFailed(Box::new(failure()))).unwrap();
        assert_eq!((json["sqlstate"].as_str(), json["line"].as_u64()), (Some("42P01"), Some(3)));
    }

    fn failure() -> MigrationFailure {
        MigrationFailure {
            migration: MigrationRef { version: "1".into(), name: "1_a".into() },
            file: "migrations/1_a/up.sql".into(),
            line: Some(3),
            column: Some(7),
            source_line: Some("SELECT * FROM nope;".into()),
            sqlstate: Some("42P01".into()),
            server_message: "relation \"nope\" does not exist".into(),
            server_detail: None,
            server_hint: None,
            aftermath: Aftermath::RolledBack,
            statements_done: None,
            notices: Vec::new(),
            missing_role: None,
            missing_extension: None,
            server_major: None,
            stand_in: None,
            tracked: true,
            in_transaction: true,
        }
    }

    #[test]
    fn an_io_error_is_the_source() {
        let err = Error::io(Path::new("x"), "read", std::io::Error::other("disk on fire"));
        let source = std::error::Error::source(&err).expect("a source");
        assert_eq!(source.to_string(), "disk on fire");
    }
}
