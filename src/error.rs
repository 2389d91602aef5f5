//! One error type for everything a user can meet. Each failure has a `Kind`
//! (listed once, below: its JSON name is part of the interface), a message
//! that says what is wrong, and where we know it, a hint that says what to do.
//! A failure during a run also carries what this run did before it, so the
//! report alone tells the database's real state.

use std::fmt;
use std::path::Path;

use serde::Serialize;

/// Exit codes are part of the interface (documented in README.md).
pub mod exit {
    pub const OK: u8 = 0;
    /// Something failed: nothing was done, or the report says what was.
    pub const FAILURE: u8 = 1;
    /// The command line or an input (a name, a version) is wrong.
    pub const USAGE: u8 = 2;
    /// `status --exit-code`: migrations are pending or something is odd.
    pub const PENDING: u8 = 3;
}

macro_rules! kinds {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// Every kind of failure, with its stable `--format json` name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Kind {
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }
        }
    };
}

kinds! {
    // The command line and the project.
    /// `cargo metadata` failed.
    CargoMetadata = "cargo_metadata",
    /// cargo could not be run (not installed: a deploy image).
    NoCargo = "no_cargo",
    /// Run outside any cargo project.
    NotInCargoProject = "not_in_cargo_project",
    /// `--manifest-path` names no file.
    NoManifest = "no_manifest",
    /// `-p NAME` names no workspace member.
    UnknownPackage = "unknown_package",
    /// Several workspace members have migrations and none was chosen.
    AmbiguousPackage = "ambiguous_package",
    /// `[package.metadata.migrate]`, diesel.toml or a migration's metadata.toml is wrong.
    BadMetadata = "bad_metadata",
    /// `--env-file` names no file.
    NoEnvFile = "no_env_file",
    /// A `.env` line cannot be parsed.
    BadEnvFile = "bad_env_file",
    /// `--format sarif` with a command that has no findings in files.
    UnsupportedFormat = "unsupported_format",
    /// A file or folder could not be read or written.
    Io = "io",
    /// `seed` found no seed file, or the seeds setting names nothing.
    NoSeeds = "no_seeds",
    /// `adopt` found no other tool's history, or several.
    NoHistoryToAdopt = "no_history_to_adopt",
    /// `import` was pointed at the folder it would write into, or at a Supabase one.
    ImportTarget = "import_target",
    /// `import` left files it could not convert (each named with why).
    NotConverted = "not_converted",
    /// `import` found no migration file of that tool in the folder.
    NothingToImport = "nothing_to_import",
    /// JavaScript migrations to convert, and no `node` to run them.
    NoNode = "no_node",
    /// JavaScript migrations to convert, and no node-pg-migrate installed for them.
    NoNodePgMigrate = "no_node_pg_migrate",
    /// node stopped, or node-pg-migrate could not be used.
    NodeFailed = "node_failed",
    // The migrations folder.
    /// The migrations path is a file.
    NotAFolder = "not_a_folder",
    /// The migrations folder named by --dir or a setting does not exist.
    NoMigrationsFolder = "no_migrations_folder",
    /// Duplicate versions, folders without up.sql, bad folder names, dangling links.
    BadMigrationsFolder = "bad_migrations_folder",
    /// up.sql has no statement (still the template).
    EmptyUp = "empty_up",
    /// down.sql is missing.
    MissingDown = "missing_down",
    /// down.sql has no statement.
    EmptyDown = "empty_down",
    /// A single-file migration without a down section (every Supabase one).
    UpOnly = "up_only",
    /// A transactional migration says BEGIN/COMMIT itself.
    TransactionControl = "transaction_control",
    /// A migration that opts out of transactions cannot join `--single-transaction`.
    NotTransactional = "not_transactional",
    // Names and versions.
    /// A migration name breaks the naming rules.
    InvalidName = "invalid_name",
    /// A name that says nothing (`update`, `fix_bug`).
    GenericName = "generic_name",
    /// A table or column name for `create --table` is not usable.
    BadIdentifier = "bad_identifier",
    /// `--policy` is not a known preset.
    BadPolicy = "bad_policy",
    /// No free version could be reserved for `create`.
    VersionTaken = "version_taken",
    /// A version that no migration folder has.
    UnknownVersion = "unknown_version",
    /// `down VERSION` for a version that is not applied.
    NotApplied = "not_applied",
    // Planning.
    /// Pending migrations older than the newest applied one.
    OutOfOrder = "out_of_order",
    /// Applied migrations whose folder is gone.
    MissingOnDisk = "missing_on_disk",
    /// A migration outside a transaction stopped part-way earlier.
    PartlyApplied = "partly_applied",
    /// An applied migration's up.sql changed since it ran.
    Modified = "modified",
    // The connection.
    /// The database URL cannot be understood.
    BadDatabaseUrl = "bad_database_url",
    /// `DATABASE_URL` is set but empty.
    EmptyDatabaseUrl = "empty_database_url",
    /// The transaction pooler (port 6543) cannot run migrations.
    TransactionPooler = "transaction_pooler",
    /// An API key where the database password belongs.
    ApiKeyAsPassword = "api_key_as_password",
    /// Supabase variables are half set or malformed.
    SupabaseConfig = "supabase_config",
    /// The server could not be reached or refused us.
    Connect = "connect",
    /// A bookkeeping query failed (permissions, a missing schema).
    Database = "database",
    /// The connection's search_path names no schema to create diesel's table in.
    NoSchema = "no_schema",
    /// `up` found static lint errors in a pending migration; nothing was applied.
    LintFailed = "lint_failed",
    /// `verify` found a migration that is not reversible or fails.
    NotReversible = "not_reversible",
    /// `up --backup` could not back the database up.
    Backup = "backup",
    /// A destructive command on a database that is not local needs `--yes`.
    ConfirmationNeeded = "confirmation_needed",
    // Running.
    /// Another run holds the migration lock for longer than `--lock-timeout`.
    LockTimeout = "lock_timeout",
    /// The migration lock was lost during the run.
    LockLost = "lock_lost",
    /// A migration's SQL failed.
    MigrationFailed = "migration_failed",
    /// A migration outside a transaction left a transaction open.
    OpenTransaction = "open_transaction",
    /// The connection dropped; the report says what the database really has.
    ConnectionLost = "connection_lost",
    // The local development database.
    /// `--pg-bin` (PG_BIN) is not a folder of PostgreSQL programs.
    BadPgBin = "bad_pg_bin",
    /// No PostgreSQL server binaries to start one.
    NoPostgres = "no_postgres",
    /// It could not be created, started, prepared or stopped.
    LocalDatabase = "local_db",
    /// A bug: please report it.
    Internal = "internal",
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What a run did before it failed, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoneStep {
    pub version: String,
    pub name: String,
    pub action: Action,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Applied,
    Reverted,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    /// Extra lines shown under the message (file excerpts, lists).
    pub details: Vec<String>,
    pub hint: Option<String>,
    pub exit_code: u8,
    /// Steps this run completed before the failure (they stay done).
    pub done_before: Option<Vec<DoneStep>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            details: Vec::new(),
            hint: None,
            exit_code: exit::FAILURE,
            done_before: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    pub fn usage(mut self) -> Self {
        self.exit_code = exit::USAGE;
        self
    }

    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        Error::new(Kind::Io, format!("could not {action} {}: {err}", path.display()))
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

impl std::error::Error for Error {}
