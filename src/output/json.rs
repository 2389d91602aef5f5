//! The `--format json` documents: the machine schema lives in this one place
//! (and is checked against docs/schema and docs/json.md, see `schema.rs`).

use serde::Serialize;

use crate::error::{Action, DoneStep, Kind, Notice};
use crate::lint::Severity;
use crate::local::ExtensionState;
use crate::version::Version;

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ErrorOutput<'a> {
    pub ok: bool,
    pub error: ErrorJson<'a>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ErrorJson<'a> {
    /// The kind's name, and beside it the kind's fields.
    #[serde(flatten)]
    pub kind: &'a Kind,
    pub message: &'a str,
    pub details: &'a [String],
    pub hint: Option<&'a str>,
    pub exit_code: u8,
    /// What this run applied or reverted before the failure (it stays done).
    pub done_before: Option<&'a [DoneStep]>,
}

/// `up`, `down`, `redo`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RunOutput {
    pub ok: bool,
    pub command: &'static str,
    pub database: String,
    pub migrations_dir: String,
    /// `up --backup`: the dump made before anything ran.
    pub backup: Option<String>,
    pub migrations: Vec<StepJson>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct StepJson {
    pub version: Version,
    pub name: String,
    pub action: Action,
    pub duration_ms: u64,
    pub notices: Vec<Notice>,
    /// Reverted with the down.sql stored when it was applied (not the file's).
    pub from_stored_down: bool,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct StatusOutput {
    pub ok: bool,
    pub command: &'static str,
    pub migrations_dir: String,
    pub database: String,
    pub migrations: Vec<StatusRow>,
    pub anomalies: Vec<AnomalyJson>,
    /// Entries of the migrations folder that look meant to run but will not.
    pub skipped: Vec<SkippedJson>,
    /// Other tools' histories on the database (pgmigrations, schema_migrations, …).
    pub other_histories: Vec<OtherHistoryJson>,
    pub summary: Summary,
    /// Batched backfills that stopped part-way (`up --resume` goes on after `key_after`).
    pub backfills: Vec<BackfillJson>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct BackfillJson {
    pub version: Version,
    pub relation: String,
    /// Every key up to this one is done.
    pub key_after: i64,
    /// The largest key when it started.
    pub key_max: i64,
    pub batches: i64,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct OtherHistoryJson {
    /// `node-pg-migrate`, `dbmate`, `golang-migrate`, `sqlx`, `supabase`, `flyway`, `refinery`, `goose`, `prisma`.
    pub tool: &'static str,
    /// `schema.table`.
    pub table: String,
    /// How many migrations it records as applied.
    pub entries: usize,
    /// `false`: not adopted, and `up` refuses until `cargo migrate adopt --from TOOL`.
    pub adopted: bool,
    /// Its migrations on disk that our history does not have.
    pub not_recorded: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SkippedJson {
    /// Its name in the migrations folder.
    pub entry: String,
    /// `folder`, `no_version`, `extension_case`, `script` or `not_sql`.
    pub reason: &'static str,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct StatusRow {
    pub version: Version,
    pub name: String,
    pub state: StatusState,
    pub applied_at: Option<String>,
    pub batch: Option<i32>,
    pub applied_by: Option<String>,
    pub duration_ms: Option<i64>,
    /// For `partly_applied`: statements that ran, of how many.
    pub statements_done: Option<i32>,
    pub statements_total: Option<i32>,
    /// Applied, and its up.sql changed since.
    pub modified: bool,
    /// Cannot be reverted: a single-file migration without a down section
    /// (every Supabase one), or a down.sql that says irreversible. Present only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub up_only: bool,
    /// For `running`: the session holding the migration lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_by: Option<String>,
}

/// What is odd, by name (`status --format json` writes it as `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    MissingOnDisk,
    OutOfOrder,
    PartlyApplied,
    Modified,
    DuplicateVersion,
    NotAMigration,
    BadFolderName,
    DanglingLink,
    ForeignMigrations,
}

/// A migration's state in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    Applied,
    Pending,
    /// Applied, but no migration on disk has its version.
    Missing,
    /// Outside a transaction, it stopped part-way (`statements_done` of `statements_total`).
    PartlyApplied,
    /// Outside a transaction, a run is applying it right now (`running_by` holds the lock).
    Running,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct AnomalyJson {
    pub kind: AnomalyKind,
    pub version: Option<Version>,
    pub message: String,
    pub hint: &'static str,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Summary {
    pub applied: usize,
    pub pending: usize,
    pub anomalies: usize,
}

/// `lint --database`: the findings, rule by rule.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LintOutput {
    pub ok: bool,
    pub command: &'static str,
    pub database: String,
    pub findings: Vec<FindingJson>,
    pub summary: LintSummary,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct FindingJson {
    pub rule: &'static str,
    pub severity: Severity,
    pub object: String,
    pub message: String,
    pub fix: &'static str,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LintSummary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// `lint` (without --database): the static findings in the migration files.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct StaticLintOutput {
    pub ok: bool,
    pub command: &'static str,
    pub checked: Checked,
    pub migrations_dir: String,
    /// How many migrations were checked.
    pub migrations: usize,
    pub findings: Vec<StaticFindingJson>,
    pub summary: LintSummary,
}

/// Which migrations `lint` checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Checked {
    /// The pending ones (`lint` with a database).
    Pending,
    /// Every migration (`--all`, or no database).
    All,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct StaticFindingJson {
    pub rule: &'static str,
    pub severity: Severity,
    /// The migration (folder) it is in.
    pub migration: String,
    pub file: String,
    /// 1-based; columns count characters.
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// The line of the statement where the finding is (secrets masked).
    pub statement: String,
    pub message: String,
    pub why: &'static str,
    pub fix: String,
}

/// SARIF 2.1.0, the subset GitHub code scanning reads.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Sarif {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<SarifRun>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifRun {
    pub tool: SarifTool,
    /// `%SRCROOT%`: the workspace root, which artifact URIs are relative to.
    pub original_uri_base_ids: std::collections::BTreeMap<&'static str, SarifUri>,
    pub results: Vec<SarifResult>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SarifTool {
    pub driver: SarifDriver,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifDriver {
    pub name: &'static str,
    pub version: &'static str,
    pub rules: Vec<SarifRule>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifRule {
    pub id: &'static str,
    pub name: &'static str,
    pub short_description: SarifText,
    pub full_description: SarifText,
    pub help: SarifText,
    pub default_configuration: SarifConfiguration,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SarifConfiguration {
    pub level: SarifLevel,
}

/// SARIF's `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SarifLevel {
    Error,
    Warning,
    Note,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SarifText {
    pub text: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SarifUri {
    pub uri: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: &'static str,
    pub rule_index: usize,
    pub level: SarifLevel,
    pub message: SarifText,
    pub locations: Vec<SarifLocation>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifLocation {
    pub physical_location: SarifPhysicalLocation,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifPhysicalLocation {
    pub artifact_location: SarifArtifactLocation,
    pub region: SarifRegion,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifArtifactLocation {
    pub uri: String,
    pub uri_base_id: &'static str,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SarifRegion {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub snippet: SarifText,
}

/// `verify`: each migration's verdict.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct VerifyOutput {
    pub ok: bool,
    pub command: &'static str,
    pub migrations: Vec<VerifyResult>,
}

/// What `verify` found of one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum VerifyState {
    /// Up, down and up again left the schema as it was.
    Reversible,
    /// Down did not give back the schema up started from (`details` lists the differences).
    NotReversible,
    /// A step failed (`error` says which and why).
    Failing,
    /// An earlier migration failed, so this one could not be tried.
    NotTried,
    /// A single file without a down section: it applied; there is nothing to revert.
    UpOnly,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct VerifyResult {
    pub version: Version,
    pub name: String,
    pub state: VerifyState,
    /// For `not_reversible`: each schema object left behind or lost.
    pub details: Vec<String>,
    pub error: Option<String>,
}

/// `up --dry-run`, `down --dry-run`: what would be sent, in order.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DryRunOutput {
    pub ok: bool,
    pub command: &'static str,
    pub dry_run: bool,
    pub database: String,
    /// The SQL that makes sure of the bookkeeping tables (None: nothing to run).
    pub setup: Option<String>,
    pub steps: Vec<DryRunStep>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DryRunStep {
    pub version: Version,
    pub name: String,
    pub action: Action,
    /// Each text as sent: one round trip each, but transactional migrations in a row go together (up to 16).
    pub sql: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RepairOutput {
    pub ok: bool,
    pub command: &'static str,
    pub version: Version,
    pub name: String,
    /// The checksum recorded before (None: none was).
    pub checksum_before: Option<String>,
    pub checksum: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CreateOutput {
    pub ok: bool,
    pub command: &'static str,
    pub version: Version,
    pub name: String,
    pub path: String,
    pub files: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SeedOutput {
    pub ok: bool,
    pub command: &'static str,
    pub database: String,
    pub dry_run: bool,
    pub files: Vec<SeedFileJson>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SeedFileJson {
    pub path: String,
    pub duration_ms: Option<u64>,
}

/// `adopt` and `baseline`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct AdoptOutput {
    pub ok: bool,
    pub command: &'static str,
    pub database: String,
    /// Whose history was read (`adopt`).
    pub from: Option<&'static str>,
    pub dry_run: bool,
    /// Recorded as applied (or, with dry_run, would be).
    pub recorded: Vec<AdoptedJson>,
    pub already_applied: usize,
    /// Versions the other tool applied that have no migration here.
    pub unmatched: Vec<Version>,
    /// Migrations here that stay pending.
    pub pending: usize,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct AdoptedJson {
    pub version: Version,
    pub name: String,
    /// When the other tool applied it, where it kept that.
    pub applied_at: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ImportOutput {
    pub ok: bool,
    pub command: &'static str,
    pub from: String,
    pub into: String,
    pub dry_run: bool,
    pub imported: Vec<ImportedJson>,
    /// Versions the migrations folder has already: left as they are.
    pub skipped: Vec<ImportedJson>,
    pub not_converted: Vec<NotConvertedJson>,
    /// `--adopt`: what was recorded from the tool's history.
    pub adopted: Option<AdoptOutput>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ImportedJson {
    pub version: Version,
    pub name: String,
    pub from: String,
    pub path: Option<String>,
    /// It cannot be reverted: it had no down section (no down.sql was
    /// written), or its down.sql says irreversible.
    pub up_only: bool,
    /// It cannot be reverted (node-pg-migrate: `down = false`, or no inverse):
    /// down.sql says so, and why.
    pub irreversible: Option<String>,
    pub run_in_transaction: bool,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct NotConvertedJson {
    pub file: String,
    pub reason: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DatabaseUrlOutput {
    pub ok: bool,
    pub command: &'static str,
    pub url: String,
    pub origin: String,
    pub parts: Option<Vec<UrlPart>>,
    pub written_to: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct UrlPart {
    pub part: &'static str,
    pub value: String,
    pub from: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LocalOutput {
    pub ok: bool,
    pub command: &'static str,
    pub running: Option<bool>,
    pub url: Option<String>,
    pub dir: Option<String>,
    pub pg_bin: Option<String>,
    pub stopped: Option<bool>,
    /// `local status` on a running database: Supabase's extensions there.
    pub extensions: Option<Vec<LocalExtension>>,
    /// `local status`: the workspace this database belongs to.
    pub workspace: Option<String>,
    /// `local status`: the other local databases beside it, and whose they are.
    pub others: Option<Vec<LocalOther>>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LocalOther {
    pub dir: String,
    pub workspace: Option<String>,
    pub running: bool,
}

/// An extension on the local database: `real` (the installation's), `stand-in`
/// (cargo-migrate's, `note` says what it cannot do), `available` (not created,
/// as on Supabase) or `missing`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LocalExtension {
    pub name: String,
    pub state: ExtensionState,
    pub schema: Option<String>,
    pub version: Option<String>,
    pub note: Option<String>,
}

/// `dump` (and `dump --check` when the file is current).
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DumpOutput {
    pub ok: bool,
    pub command: &'static str,
    /// The schema file written or compared; `null` when printed (`dump -`).
    pub file: Option<String>,
    /// Whether the file's content changed.
    pub changed: bool,
    pub bytes: u64,
    /// How many applied migrations the file records.
    pub migrations: usize,
    /// Supabase's schemas left out (but for what the migrations added to them).
    pub left_out: Vec<String>,
}

/// `squash`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SquashOutput {
    pub ok: bool,
    pub command: &'static str,
    pub dry_run: bool,
    /// The baseline migration: its version (the newest squashed) and where it is.
    pub baseline: Version,
    pub path: String,
    /// The versions folded into it.
    pub squashed: Vec<Version>,
    /// Where the squashed files were moved (`--keep`), or `null` when deleted.
    pub kept_in: Option<String>,
    /// `--record`: the database now records the baseline as applied.
    pub recorded: bool,
}

/// `print-schema`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PrintSchemaOutput {
    pub ok: bool,
    pub command: &'static str,
    /// One per diesel.toml configuration (`--write`: those with a `file`), by key.
    pub schemas: Vec<PrintedSchema>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PrintedSchema {
    /// `default`, or the NAME of `[print_schema.NAME]`.
    pub key: String,
    /// The configuration's `file`, if it names one.
    pub file: Option<String>,
    /// `--write`: the text was written to `file`.
    pub written: bool,
    /// The schema.rs text, as diesel_cli prints it.
    pub text: String,
}

/// `diff`: the migration planned from the migrations to the declared schema
/// (or, with `--database`, from the migrations to the live database).
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DiffOutput {
    pub ok: bool,
    pub command: &'static str,
    /// `schema` (declarative files) or `drift` (`--database`).
    pub mode: &'static str,
    /// Whether the two schemas differ.
    pub changes: bool,
    /// The SQL that takes the migrated schema to the other one.
    pub up: String,
    /// The SQL that takes it back.
    pub down: String,
    pub hazards: Vec<crate::diff::Hazard>,
    /// The migration written, or `null` (`--dry-run`, nothing to change, drift without `--write`).
    pub written: Option<CreateOutput>,
    /// The lint findings on the migration written (`rule: location: message`).
    pub lint: Vec<String>,
}
