//! The command line: every command and flag, nothing else.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod single;

#[derive(Debug, Parser)]
#[command(
    name = "cargo-migrate",
    bin_name = "cargo migrate",
    version,
    about = "Chronological PostgreSQL / Supabase migrations for Rust workspaces, in diesel's layout",
    after_help = "Database: --database-url > DATABASE_URL > Supabase variables (VITE_SUPABASE_URL + SUPABASE_DB_PASSWORD)\n\
                  > the local development database (environment wins over .env at the workspace root).\n\
                  Docs: README.md of cargo-migrate. Exit codes: 0 ok, 1 failure, 2 usage error, 3 pending (status --exit-code)."
)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// How to print: every command has these.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputOpts {
    /// Output for humans (coloured) or machines
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// When to colour human output (per stream: only terminals get colour)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "CARGO_TERM_COLOR")]
    pub color: ColorChoice,

    /// Print only errors, warnings and the result of `status`
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Which project and which migrations folder.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Project")]
pub struct ProjectOpts {
    /// Cargo.toml of the project (default: found from the current folder)
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// The workspace member whose migrations to use
    #[arg(short = 'p', long, value_name = "NAME")]
    pub package: Option<String>,

    /// Migrations folder (overrides Cargo.toml metadata and diesel.toml)
    #[arg(long, value_name = "DIR", env = "MIGRATE_DIR")]
    pub dir: Option<PathBuf>,

    /// .env file to load (default: .env at the workspace root, if present)
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// Which database, and how long to wait for it.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Database")]
pub struct DbOpts {
    /// PostgreSQL URL (default: DATABASE_URL from the environment or .env)
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Seconds to wait for the database to accept a connection
    #[arg(long, value_name = "SECONDS", default_value_t = 10, env = "MIGRATE_CONNECT_TIMEOUT")]
    pub connect_timeout: u64,

    /// Never fall back to the local development database (the default when CI is set)
    #[arg(long, env = "MIGRATE_NO_LOCAL", conflicts_with = "local", value_parser = BoolishValueParser::new())]
    pub no_local: bool,

    /// Use the local development database when nothing is configured, even when CI is set
    #[arg(long, env = "MIGRATE_LOCAL", value_parser = BoolishValueParser::new())]
    pub local: bool,

    #[command(flatten)]
    pub local_db: LocalOpts,
}

/// The local development database used when no database is configured.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Database")]
pub struct LocalOpts {
    /// PostgreSQL bin folder for the local development database
    #[arg(long, value_name = "DIR", env = "PG_BIN")]
    pub pg_bin: Option<PathBuf>,
}

/// Commands that write take the migration lock.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Database")]
pub struct LockOpts {
    /// Seconds to wait for another cargo-migrate run holding the lock
    #[arg(long, value_name = "SECONDS", default_value_t = 60, env = "MIGRATE_LOCK_TIMEOUT")]
    pub lock_timeout: u64,
}

/// Many databases at once: the same command on every target, each exactly as a single run.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Fleet", group(clap::ArgGroup::new("fleet").args(["targets", "group"])))]
pub struct FleetOpts {
    /// Run on every database of FILE: one URL or name=URL a line (# comments; ${VAR} is expanded)
    #[arg(long, value_name = "FILE", conflicts_with = "database_url")]
    pub targets: Option<PathBuf>,
    /// Run on every database of this group of [package.metadata.migrate.targets]
    #[arg(long, value_name = "NAME", conflicts_with_all = ["database_url", "targets"])]
    pub group: Option<String>,
    /// Targets run at once (default: from the targets, this machine's cores and the server's free connections)
    #[arg(long, value_name = "N", requires = "fleet", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Start no new target once one has failed (those started finish)
    #[arg(long, requires = "fleet")]
    pub fail_fast: bool,
}

impl FleetOpts {
    /// Whether a fleet was asked for.
    pub fn given(&self) -> bool {
        self.targets.is_some() || self.group.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    // SARIF 2.1.0 (GitHub code scanning); `lint` only.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations in version order, each in its own transaction
    Up(UpArgs),
    /// Revert the newest applied migration, or everything after VERSION
    Down(DownArgs),
    /// Revert and re-apply the newest migration(s): the fix-a-migration loop
    Redo(RedoArgs),
    /// Show every migration, applied or pending, and anything odd
    Status(StatusArgs),
    /// Record the current checksum of an applied migration whose up.sql was edited on purpose
    Repair(RepairArgs),
    /// Prove each pending migration reversible on a scratch database: up, down, same schema, up again
    Verify(VerifyArgs),
    /// Write the migration that takes the migrations' schema to the declared one (supabase/schemas/*.sql), or list a live database's drift with --database
    Diff(DiffArgs),
    /// Check pending migrations' SQL before it runs (locks, RLS, secrets, down.sql), or the live schema with --database
    Lint(LintArgs),
    /// Write a new migration: a folder with up.sql and down.sql (one .sql file in a Supabase folder)
    Create(CreateArgs),
    /// Convert another tool's migrations folder into diesel's layout, keeping versions
    Import(ImportArgs),
    /// Load the seed data (supabase/seed.sql, or seeds/*.sql) in one transaction
    Seed(SeedArgs),
    /// Take over a database another tool migrated: record its applied migrations as ours
    Adopt(AdoptArgs),
    /// Mark every migration up to VERSION applied without running it (a database older than its migrations)
    Baseline(BaselineArgs),
    /// Print the database URL in use (password masked) and where each part came from
    DatabaseUrl(DatabaseUrlArgs),
    /// Manage the local development database used when none is configured
    Local(LocalArgs),
    /// Write the schema as SQL (pg_dump --schema-only, normalised, with the applied migrations): schema.sql
    Dump(DumpArgs),
    /// Fold every migration up to VERSION into one baseline migration made from a dump
    Squash(SquashArgs),
    /// Print diesel's schema.rs for the database, as `diesel print-schema` does (diesel.toml's [print_schema])
    PrintSchema(Box<PrintSchemaArgs>),
    /// The pull-request check of the migrations a branch adds: lint, verify, the SQL `up` would send; SARIF and a Markdown summary
    Check(CheckArgs),
    /// Contract an expand/contract migration: drop the old column, the sync trigger and the old version's schema
    Complete(CompleteArgs),
    /// Print the shell completion script for `cargo migrate …` (docs/completions.md says where it goes)
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout, or write one page per command with --out-dir
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The applied expand migration (written by `create --rename-column` or `--change-type`)
    #[arg(value_name = "VERSION")]
    pub version: String,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

/// diesel_cli's `print-schema` flags; they override diesel.toml's `[print_schema]`.
#[derive(Debug, Args)]
pub struct PrintSchemaArgs {
    /// Table names (regular expressions) for --only-tables or --except-tables
    #[arg(value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Only the tables the TABLE patterns match
    #[arg(short = 'o', long, conflicts_with = "except_tables")]
    pub only_tables: bool,
    /// Every table but those the TABLE patterns match
    #[arg(short = 'e', long)]
    pub except_tables: bool,
    /// The schema to print (default: public); its tables go in `pub mod SCHEMA`
    #[arg(short = 's', long)]
    pub schema: Option<String>,
    /// Doc comments for tables and columns (the database's comments, else generated ones)
    #[arg(long)]
    pub with_docs: bool,
    /// Which doc comments
    #[arg(long, value_name = "MODE", value_parser = ["database-comments-fallback-to-auto-generated-doc-comment", "only-database-comments", "no-doc-comments"])]
    pub with_docs_config: Option<String>,
    /// How tables are grouped in allow_tables_to_appear_in_same_query!
    #[arg(long, value_name = "MODE", value_parser = ["fk_related_tables", "all_tables", "none"])]
    pub allow_tables_to_appear_in_same_query_config: Option<String>,
    /// Column order
    #[arg(long, value_name = "ORDER", value_parser = ["ordinal_position", "name"])]
    pub column_sorting: Option<String>,
    /// A unified diff applied to the printed schema
    #[arg(long, value_name = "FILE")]
    pub patch_file: Option<PathBuf>,
    /// A `use` for every table! block (repeatable)
    #[arg(long, value_name = "PATH")]
    pub import_types: Vec<String>,
    /// Do not define the SQL types diesel lacks (enums, vector, …) in `pub mod sql_types`
    #[arg(long)]
    pub no_generate_missing_sql_type_definitions: bool,
    /// Regular expressions: types not to define (repeatable)
    #[arg(long, value_name = "REGEX")]
    pub except_custom_type_definitions: Vec<String>,
    /// Derives of every defined SQL type (repeatable)
    #[arg(long, value_name = "PATH")]
    pub custom_type_derives: Vec<String>,
    /// Regular expressions: domains given a type of their own instead of their base type's (repeatable)
    #[arg(long, value_name = "REGEX")]
    pub pg_domains_as_custom_types: Vec<String>,
    /// With [print_schema.NAME] sections: the ones the flags apply to (default: `default`)
    #[arg(long, value_name = "NAME")]
    pub schema_key: Vec<String>,
    /// diesel's configuration file (default: diesel.toml beside Cargo.toml)
    #[arg(long, value_name = "FILE", env = "DIESEL_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
    /// Write each configuration's `file` (as `up` does) instead of printing
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
}

/// Keeping the schema file (the `schema` setting) after a change.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Schema file")]
pub struct SchemaOpts {
    /// Rewrite the schema file (the `schema` setting) after the change even on a database that is not local
    #[arg(long, conflicts_with = "no_write_schema")]
    pub write_schema: bool,
    /// Do not rewrite the schema file after the change
    #[arg(long)]
    pub no_write_schema: bool,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Where to write (default: the `schema` setting, else schema.sql beside the migrations folder); `-` prints it
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Do not write: exit 1 with the diff when FILE is not what the migrations make on a scratch database
    #[arg(long)]
    pub check: bool,
    /// With --check: a server where scratch databases may be made (default: the local development database's)
    #[arg(long, value_name = "URL", env = "MIGRATE_SCRATCH_URL", requires = "check")]
    pub scratch_url: Option<String>,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
}

#[derive(Debug, Args)]
pub struct SquashArgs {
    /// The newest migration folded into the baseline
    #[arg(long, value_name = "VERSION")]
    pub to: String,
    /// Move the squashed migrations aside (to --keep-dir, default target/cargo-migrate/squashed/<VERSION>) instead of deleting them
    #[arg(long)]
    pub keep: bool,
    /// Where --keep moves them (outside the migrations folder)
    #[arg(long, value_name = "DIR")]
    pub keep_dir: Option<PathBuf>,
    /// Show what would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// A server where scratch databases may be made (default: the local development database's)
    #[arg(long, value_name = "URL", env = "MIGRATE_SCRATCH_URL")]
    pub scratch_url: Option<String>,
    /// Record the baseline on this database too (it must have applied every squashed migration)
    #[arg(long)]
    pub record: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Compare with this branch, tag or commit (default: the merge base with origin/HEAD, else main, else master)
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Write the lint's findings as SARIF 2.1.0 to FILE (GitHub code scanning)
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Append the Markdown summary to FILE (default: $GITHUB_STEP_SUMMARY when set)
    #[arg(long, value_name = "FILE", env = "GITHUB_STEP_SUMMARY")]
    pub summary: Option<PathBuf>,
    /// Exit 1 when a problem is this severe or worse
    #[arg(long, value_enum, default_value_t = CheckFailOn::Error)]
    pub fail_on: CheckFailOn,
    /// A server where check may create and drop scratch databases (default: the local development database's)
    #[arg(long, value_name = "URL", env = "MIGRATE_SCRATCH_URL")]
    pub scratch_url: Option<String>,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub local: LocalOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFailOn {
    /// Lint errors, migrations that do not verify, edited or deleted merged migrations
    Error,
    /// Lint warnings too
    Warning,
    /// Always exit 0 (report only)
    Never,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write cargo-migrate.1 and a page per command (cargo-migrate-up.1, …) into this folder instead
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DatabaseUrlArgs {
    /// Print the password instead of ****
    #[arg(long)]
    pub show_password: bool,
    /// Set DATABASE_URL in .env (other lines and comments are kept)
    #[arg(long)]
    pub write_env: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
}

#[derive(Debug, Args)]
pub struct LocalArgs {
    /// What to do with it
    #[arg(value_enum)]
    pub action: LocalAction,
    /// `local url`: print the password instead of ****
    #[arg(long)]
    pub show_password: bool,
    /// `local reset`: then load the schema file and apply only the migrations newer than it
    #[arg(long)]
    pub from_schema: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub local: LocalOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocalAction {
    /// Create (first time) and start it; prints its URL
    Start,
    /// Stop it (data is kept)
    Stop,
    /// Say whether it runs, where, and on which port
    Status,
    /// Print its URL (starting it if needed)
    Url,
    /// Delete it and start a fresh one (every table and row is lost)
    Reset,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Apply at most N pending migrations
    #[arg(long, value_name = "N", conflicts_with = "to")]
    pub count: Option<usize>,
    /// Apply pending migrations up to and including VERSION
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Also apply pending migrations older than the newest applied one
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Run even though an applied migration's up.sql changed since it ran
    #[arg(long)]
    pub allow_modified: bool,
    /// All migrations in one transaction: all or nothing, and faster for many small ones
    #[arg(long)]
    pub single_transaction: bool,
    /// Wait for the disk at every migration's commit, not only at the run's last (slower; see docs/safety.md)
    #[arg(long, conflicts_with = "single_transaction", env = "MIGRATE_DURABLE_EACH", value_parser = BoolishValueParser::new())]
    pub durable_each: bool,
    /// Continue a migration that stopped part-way with its next statement
    #[arg(long, conflicts_with = "restart")]
    pub resume: bool,
    /// Run a migration that stopped part-way again from its first statement
    #[arg(long)]
    pub restart: bool,
    /// Print, in order, exactly the SQL that would run (transactions and bookkeeping too); change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Back the database up with pg_dump first (to --backup-dir); nothing runs if that fails
    #[arg(long)]
    pub backup: bool,
    /// Where --backup writes (default: target/cargo-migrate/backups)
    #[arg(long, value_name = "DIR", requires = "backup")]
    pub backup_dir: Option<PathBuf>,
    /// Apply the pending migrations to a scratch copy of the target, never the target: per migration its
    /// duration, locks, rewrites, rows, and whether an app's reads and writes waited
    #[arg(long, conflicts_with_all = ["dry_run", "backup", "single_transaction"])]
    pub rehearse: bool,
    /// --rehearse: make the copy from this dump (custom format, as --backup writes it) with pg_restore
    #[arg(long, value_name = "FILE", requires = "rehearse", conflicts_with = "from_target")]
    pub from_backup: Option<PathBuf>,
    /// --rehearse: make the copy with pg_dump | pg_restore (default: CREATE DATABASE … TEMPLATE when nobody is connected)
    #[arg(long, requires = "rehearse")]
    pub from_target: bool,
    /// Skip the static checks before (errors stop the run) and the database advisor after
    #[arg(long, env = "MIGRATE_NO_LINT", value_parser = BoolishValueParser::new())]
    pub no_lint: bool,
    /// Run even though another tool's history (pgmigrations, schema_migrations, …) was never adopted
    #[arg(long)]
    pub ignore_other_history: bool,
    /// On an empty database: load the schema file first, then apply only the migrations newer than it
    #[arg(long, conflicts_with = "dry_run")]
    pub from_schema: bool,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub fleet: FleetOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").args(["version", "to", "count", "all", "batch"]))]
pub struct DownArgs {
    /// Revert everything applied after VERSION (VERSION stays applied)
    #[arg(value_name = "VERSION")]
    pub version: Option<String>,
    /// Same as the VERSION argument
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Revert the newest N applied migrations
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Revert every applied migration
    #[arg(long)]
    pub all: bool,
    /// Revert the newest batch: everything the last `up` applied (Laravel's migrate:rollback)
    #[arg(long)]
    pub batch: bool,
    /// All reverts in one transaction: all or nothing
    #[arg(long)]
    pub single_transaction: bool,
    /// Wait for the disk at every revert's commit, not only at the run's last (slower; see docs/safety.md)
    #[arg(long, conflicts_with = "single_transaction", env = "MIGRATE_DURABLE_EACH", value_parser = BoolishValueParser::new())]
    pub durable_each: bool,
    /// Do not ask before reverting on a database that is not local (needed when not on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print, in order, exactly the SQL that would run (transactions and bookkeeping too); change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the static checks of the down.sql to run (errors in it stop the run)
    #[arg(long, env = "MIGRATE_NO_LINT", value_parser = BoolishValueParser::new())]
    pub no_lint: bool,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub fleet: FleetOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
pub struct RedoArgs {
    /// Revert and re-apply the newest N applied migrations
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: usize,
    /// Do not ask before reverting on a database that is not local (needed when not on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Skip the static checks of the down.sql and up.sql to run (errors in it stop the run)
    #[arg(long, env = "MIGRATE_NO_LINT", value_parser = BoolishValueParser::new())]
    pub no_lint: bool,
    #[command(flatten)]
    pub schema: SchemaOpts,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Check every migration's files, not only the pending ones (needs no database)
    #[arg(long, conflicts_with = "database")]
    pub all: bool,
    /// Inspect the database's live schema instead (Supabase's advisor rules)
    #[arg(long)]
    pub database: bool,
    /// Exit 1 when a finding is this severe or worse
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warn,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify every migration, not only the pending ones
    #[arg(long)]
    pub all: bool,
    /// A server where verify may create and drop scratch databases (default: the local development database's)
    #[arg(long, value_name = "URL", env = "MIGRATE_SCRATCH_URL")]
    pub scratch_url: Option<String>,
    /// Skip the static checks of the files to verify (errors stop it)
    #[arg(long, env = "MIGRATE_NO_LINT", value_parser = BoolishValueParser::new())]
    pub no_lint: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub fleet: FleetOpts,
    #[command(flatten)]
    pub db: DbOpts,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The new migration's name (not needed with --dry-run or a --database check)
    pub name: Option<String>,
    /// Print the SQL instead of writing a migration
    #[arg(long)]
    pub dry_run: bool,
    /// Write statements that lose data (dropped tables or columns, narrowing types)
    #[arg(long)]
    pub allow_drop: bool,
    /// OLD:NEW — a table (`public.a:public.b`) or column (`public.t.a:public.t.b`) that was renamed, not dropped and added
    #[arg(long, value_name = "OLD:NEW")]
    pub rename: Vec<String>,
    /// Compare the live database (DATABASE_URL, --database-url) with what its applied migrations make: the drift, as SQL
    #[arg(long)]
    pub database: bool,
    /// With --database: exit with 3 when the live schema differs
    #[arg(long, requires = "database")]
    pub exit_code: bool,
    /// With --database: write the live changes as a new migration named NAME
    #[arg(long, value_name = "NAME", requires = "database")]
    pub write: Option<String>,
    /// A server where diff may create and drop scratch databases (default: the local development database's)
    #[arg(long, value_name = "URL", env = "MIGRATE_SCRATCH_URL")]
    pub scratch_url: Option<String>,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
}

/// Another migration tool's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tool {
    /// `supabase/migrations/<version>_<name>.sql`: up-only files
    Supabase,
    /// `<timestamp>_<name>.sql` with `-- Up Migration` / `-- Down Migration`
    NodePgMigrate,
    /// `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down`
    Dbmate,
    /// `<version>_<description>.sql`, or `.up.sql` / `.down.sql` pairs; `-- no-transaction`
    Sqlx,
    /// `<version>_<name>.up.sql` / `.down.sql` pairs
    GolangMigrate,
    /// `V<n>__<name>.sql`, up-only
    Refinery,
    /// `V<n>__<name>.sql`, with `U<n>__<name>.sql` undo files
    Flyway,
    /// `<version>_<name>.sql` with `-- +goose Up` / `-- +goose Down`
    Goose,
    /// `<timestamp>_<name>/migration.sql`, up-only
    Prisma,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Whose files they are
    #[arg(long, value_enum)]
    pub from: Tool,
    /// The folder to convert (it is only read)
    #[arg(value_name = "DIR")]
    pub source: PathBuf,
    /// Show what would be written, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Then record the tool's history on the database as ours (`adopt`), in the same step
    #[arg(long, conflicts_with = "dry_run")]
    pub adopt: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

/// Another tool's history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum History {
    /// node-pg-migrate's `pgmigrations`
    #[value(alias = "pgmigrations")]
    NodePgMigrate,
    /// `supabase_migrations.schema_migrations` (the Supabase CLI)
    Supabase,
    /// dbmate's `schema_migrations`
    Dbmate,
    /// sqlx's `_sqlx_migrations`
    Sqlx,
    /// golang-migrate's `schema_migrations` (version bigint, dirty)
    GolangMigrate,
    /// Flyway's `flyway_schema_history`
    Flyway,
    /// refinery's `refinery_schema_history`
    Refinery,
    /// goose's `goose_db_version`
    Goose,
    /// Prisma's `_prisma_migrations`
    Prisma,
}

impl History {
    pub fn tool(self) -> crate::db::foreign::Tool {
        use crate::db::foreign::Tool as T;
        match self {
            History::NodePgMigrate => T::NodePgMigrate,
            History::Supabase => T::Supabase,
            History::Dbmate => T::Dbmate,
            History::Sqlx => T::Sqlx,
            History::GolangMigrate => T::GolangMigrate,
            History::Flyway => T::Flyway,
            History::Refinery => T::Refinery,
            History::Goose => T::Goose,
            History::Prisma => T::Prisma,
        }
    }
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Whose history to read (default: the one the database has)
    #[arg(long, value_enum)]
    pub from: Option<History>,
    /// Record without asking (needed where there is no terminal)
    #[arg(short, long)]
    pub yes: bool,
    /// Show the mapping, record nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also move the other tool's table into the `cargo_migrate_retired` schema (out of the API's reach)
    #[arg(long)]
    pub retire: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Seed a database that is not on this machine without asking
    #[arg(short, long)]
    pub yes: bool,
    /// List the seed files, run nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The newest migration the database already has (version or folder name)
    #[arg(long, value_name = "VERSION")]
    pub to: String,
    /// Record without asking (needed where there is no terminal)
    #[arg(short, long)]
    pub yes: bool,
    /// Show what would be recorded, record nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The applied migration (version or folder name)
    #[arg(value_name = "VERSION")]
    pub version: String,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub db: DbOpts,
    #[command(flatten)]
    pub lock: LockOpts,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit with 3 while anything is pending or odd (a CI gate)
    #[arg(long)]
    pub exit_code: bool,
    #[command(flatten)]
    pub project: ProjectOpts,
    #[command(flatten)]
    pub fleet: FleetOpts,
    #[command(flatten)]
    pub db: DbOpts,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// What the migration does, in lower snake_case (words are joined with _)
    #[arg(value_name = "NAME", required = true, num_args = 1..)]
    pub name: Vec<String>,
    /// Accept a generic name such as `update` or `fix_bug`
    #[arg(long)]
    pub force: bool,
    /// Write a Supabase table for TABLE: uuid id, timestamps, updated_at trigger, RLS on
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// With --table: policy preset `read-all`, `authenticated` or `owner [COLUMN]` (default column user_id)
    #[arg(long, value_name = "PRESET", num_args = 1..=2, requires = "table", conflicts_with = "no_rls")]
    pub policy: Option<Vec<String>>,
    /// With --table: add the table to the supabase_realtime publication
    #[arg(long, requires = "table")]
    pub realtime: bool,
    /// With --table: leave row level security off (the API then serves every row)
    #[arg(long, requires = "table")]
    pub no_rls: bool,
    /// Expand/contract a rename, SPEC = table.old:new (`cargo migrate complete VERSION` contracts)
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["table", "change_type"])]
    pub rename_column: Option<String>,
    /// Expand/contract a type change, SPEC = table.column:TYPE[:USING expr]
    #[arg(long, value_name = "SPEC", conflicts_with = "table")]
    pub change_type: Option<String>,
    #[command(flatten)]
    pub project: ProjectOpts,
}
