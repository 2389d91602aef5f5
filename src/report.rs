//! What the user sees. Colour is decided per stream (a terminal on stdout
//! says nothing about a redirected stderr); every line passes through
//! `redact`, so a password can never reach the terminal, a CI log or a JSON
//! consumer; text that came from files or the server passes through `clean`,
//! so it cannot carry terminal escape codes. `--format json` documents are
//! the `Serialize` structs below: the machine schema lives in this one place
//! (and in README.md). Writes never panic: a closed pipe (`status | head`)
//! just ends the output.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use colored::Colorize;
use serde::Serialize;

pub mod lint;

use crate::cli::{ColorChoice, Format};
use crate::error::{DoneStep, Error, Kind};

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SHOW_SECRETS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The user asked to see the password (`--show-password`).
pub fn allow_secrets() {
    SHOW_SECRETS.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// The free-text safety net: a secret registered here is replaced by `****`
/// wherever it appears. URLs are masked structurally (`url::mask`); this only
/// catches a password echoed elsewhere (a server message, a SQL line), and
/// takes only secrets that cannot be mistaken for ordinary words.
pub fn add_secret(secret: &str) {
    if !crate::url::worth_redacting(secret) {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

pub fn redact(text: &str) -> Cow<'_, str> {
    if SHOW_SECRETS.load(std::sync::atomic::Ordering::SeqCst) {
        return Cow::Borrowed(text);
    }
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(text);
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), "****"));
        }
    }
    out
}

/// Text from a file name, a SQL file or the server, made safe to print:
/// control characters (escape codes, carriage returns) become `�`.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{fffd}' } else { c }).collect())
}

/// A NOTICE, WARNING, INFO (…) message the server sent while a migration ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Untranslated: `WARNING`, `NOTICE`, `INFO`, `DEBUG`, `LOG`.
    pub severity: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    pub format: Format,
    pub quiet: bool,
    color: anstream::ColorChoice,
}

impl Reporter {
    pub fn new(format: Format, color: ColorChoice, quiet: bool) -> Self {
        let color = match color {
            ColorChoice::Always => anstream::ColorChoice::Always,
            ColorChoice::Never => anstream::ColorChoice::Never,
            ColorChoice::Auto => anstream::ColorChoice::Auto,
        };
        // Codes are made when either stream wants them; a stream that does
        // not (not a terminal, NO_COLOR) strips them. When neither does, none
        // are made: nothing to strip from thousands of lines.
        let wants = |c: anstream::ColorChoice| c != anstream::ColorChoice::Never;
        let stdout = anstream::AutoStream::choice(&std::io::stdout());
        let stderr = anstream::AutoStream::choice(&std::io::stderr());
        let any = match color {
            anstream::ColorChoice::Auto => wants(stdout) || wants(stderr),
            c => wants(c),
        };
        colored::control::set_override(any);
        let color = if any { color } else { anstream::ColorChoice::Never };
        Reporter { format, quiet, color }
    }

    pub fn human(&self) -> bool {
        self.format == Format::Human
    }

    fn stdout(&self, text: &str) {
        let text = redact(text);
        if self.color == anstream::ColorChoice::Never {
            // No codes were made: nothing to strip.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        } else {
            let mut out = anstream::AutoStream::new(std::io::stdout().lock(), self.color);
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    fn stderr(&self, text: &str) {
        let text = redact(text);
        if self.color == anstream::ColorChoice::Never {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        } else {
            let _ = writeln!(anstream::AutoStream::new(std::io::stderr().lock(), self.color), "{text}");
        }
    }

    /// A progress or result line for humans (stdout), hidden by --quiet.
    pub fn line(&self, text: impl AsRef<str>) {
        if self.human() && !self.quiet {
            self.stdout(text.as_ref());
        }
    }

    /// Output that is the point of the command (`status`): shown even with --quiet.
    pub fn result(&self, text: impl AsRef<str>) {
        if self.human() {
            self.stdout(text.as_ref());
        }
    }

    /// A notice on stderr: not part of the result, hidden by --quiet.
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            self.stderr(text.as_ref());
        }
    }

    /// The server's messages under the migration that raised them, as psql
    /// shows them; --quiet hides notices, never warnings.
    pub fn notices(&self, notices: &[Notice]) {
        for n in notices {
            let warning = n.severity == "WARNING";
            if self.quiet && !warning {
                continue;
            }
            let label = if warning { n.severity.yellow().bold().to_string() } else { n.severity.cyan().to_string() };
            let mut text = format!("      {label}: {}", clean(&n.message));
            if let Some(d) = &n.detail {
                text.push_str(&format!("\n      DETAIL: {}", clean(d)));
            }
            if let Some(h) = &n.hint {
                text.push_str(&format!("\n      HINT: {}", clean(h)));
            }
            if self.human() {
                self.stdout(&text);
            } else {
                self.stderr(&text);
            }
        }
    }

    pub fn json(&self, value: &impl Serialize) {
        if self.format == Format::Json {
            match serde_json::to_string_pretty(value) {
                Ok(text) => self.stdout(&text),
                Err(e) => self.stderr(&format!("error: could not write JSON output: {e}")),
            }
        }
    }

    /// `--format sarif` (only `lint` writes it).
    pub fn sarif(&self, value: &impl Serialize) {
        if self.format == Format::Sarif {
            match serde_json::to_string_pretty(value) {
                Ok(text) => self.stdout(&text),
                Err(e) => self.stderr(&format!("error: could not write SARIF output: {e}")),
            }
        }
    }

    pub fn error(&self, err: &Error) {
        let mut text = format!("{} {}", "error:".red().bold(), err.message);
        for line in &err.details {
            text.push('\n');
            text.push_str(line);
        }
        if let Some(hint) = &err.hint {
            text.push_str(&format!("\n{} {hint}", "hint:".cyan().bold()));
        }
        self.stderr(&text);
        self.json(&ErrorOutput {
            ok: false,
            error: ErrorJson {
                kind: err.kind,
                message: &err.message,
                details: &err.details,
                hint: err.hint.as_deref(),
                exit_code: err.exit_code,
                done_before: err.done_before.as_deref(),
            },
        });
    }
}

/// A path as the user should see it: relative to where they stand when inside it.
pub fn display_path(path: &Path) -> String {
    let shown = match std::env::current_dir() {
        Ok(cwd) => path.strip_prefix(&cwd).unwrap_or(path).display().to_string(),
        Err(_) => path.display().to_string(),
    };
    clean(&shown).into_owned()
}

/// A path for JSON: lossy where it is not UTF-8 (JSON strings must be).
pub fn json_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// How many statements of a migration ran: "no statement", "statement 1",
/// "statements 1–N".
pub fn ran(n: usize) -> String {
    match n {
        0 => "no statement".into(),
        1 => "statement 1".into(),
        n => format!("statements 1–{n}"),
    }
}

/// Milliseconds, in a width that lines up.
pub fn ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

// ---- The `--format json` documents. ----

#[derive(Serialize)]
pub struct ErrorOutput<'a> {
    pub ok: bool,
    pub error: ErrorJson<'a>,
}

#[derive(Serialize)]
pub struct ErrorJson<'a> {
    pub kind: Kind,
    pub message: &'a str,
    pub details: &'a [String],
    pub hint: Option<&'a str>,
    pub exit_code: u8,
    /// What this run applied or reverted before the failure (it stays done).
    pub done_before: Option<&'a [DoneStep]>,
}

#[derive(Serialize)]
pub struct NoticeJson {
    pub severity: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl From<&Notice> for NoticeJson {
    fn from(n: &Notice) -> Self {
        NoticeJson {
            severity: n.severity.clone(),
            message: n.message.clone(),
            detail: n.detail.clone(),
            hint: n.hint.clone(),
        }
    }
}

/// `up`, `down`, `redo`.
#[derive(Serialize)]
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
pub struct StepJson {
    pub version: String,
    pub name: String,
    pub action: crate::error::Action,
    pub duration_ms: u64,
    pub notices: Vec<NoticeJson>,
    /// Reverted with the down.sql stored when it was applied (not the file's).
    pub from_stored_down: bool,
}

#[derive(Serialize)]
pub struct StatusOutput {
    pub ok: bool,
    pub command: &'static str,
    pub migrations_dir: String,
    pub database: String,
    pub migrations: Vec<StatusRow>,
    pub anomalies: Vec<AnomalyJson>,
    pub summary: Summary,
}

#[derive(Serialize)]
pub struct StatusRow {
    pub version: String,
    pub name: String,
    /// `applied`, `pending`, `missing` or `partly_applied`.
    pub state: &'static str,
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
}

#[derive(Serialize)]
pub struct AnomalyJson {
    pub kind: &'static str,
    pub version: Option<String>,
    pub message: String,
    pub hint: &'static str,
}

#[derive(Serialize)]
pub struct Summary {
    pub applied: usize,
    pub pending: usize,
    pub anomalies: usize,
}

/// `lint --database`: the findings, rule by rule.
#[derive(Serialize)]
pub struct LintOutput {
    pub ok: bool,
    pub command: &'static str,
    pub database: String,
    pub findings: Vec<FindingJson>,
    pub summary: LintSummary,
}

#[derive(Serialize)]
pub struct FindingJson {
    pub rule: &'static str,
    /// `error`, `warn` or `info`.
    pub severity: &'static str,
    pub object: String,
    pub message: String,
    pub fix: &'static str,
}

#[derive(Serialize)]
pub struct LintSummary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// `lint` (without --database): the static findings in the migration files.
#[derive(Serialize)]
pub struct StaticLintOutput {
    pub ok: bool,
    pub command: &'static str,
    /// `pending` or `all`.
    pub checked: &'static str,
    pub migrations_dir: String,
    /// How many migrations were checked.
    pub migrations: usize,
    pub findings: Vec<StaticFindingJson>,
    pub summary: LintSummary,
}

#[derive(Serialize)]
pub struct StaticFindingJson {
    pub rule: &'static str,
    /// `error`, `warn` or `info`.
    pub severity: &'static str,
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
pub struct Sarif {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<SarifRun>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifRun {
    pub tool: SarifTool,
    /// `%SRCROOT%`: the workspace root, which artifact URIs are relative to.
    pub original_uri_base_ids: std::collections::BTreeMap<&'static str, SarifUri>,
    pub results: Vec<SarifResult>,
}

#[derive(Serialize)]
pub struct SarifTool {
    pub driver: SarifDriver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifDriver {
    pub name: &'static str,
    pub version: &'static str,
    pub rules: Vec<SarifRule>,
}

#[derive(Serialize)]
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
pub struct SarifConfiguration {
    /// `error`, `warning` or `note`.
    pub level: &'static str,
}

#[derive(Serialize)]
pub struct SarifText {
    pub text: String,
}

#[derive(Serialize)]
pub struct SarifUri {
    pub uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: &'static str,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: SarifText,
    pub locations: Vec<SarifLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifLocation {
    pub physical_location: SarifPhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifPhysicalLocation {
    pub artifact_location: SarifArtifactLocation,
    pub region: SarifRegion,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifArtifactLocation {
    pub uri: String,
    pub uri_base_id: &'static str,
}

#[derive(Serialize)]
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
pub struct VerifyOutput {
    pub ok: bool,
    pub command: &'static str,
    pub migrations: Vec<VerifyResult>,
}

#[derive(Serialize)]
pub struct VerifyResult {
    pub version: String,
    pub name: String,
    /// `reversible`, `not_reversible`, `failing` or `not_tried`.
    pub state: &'static str,
    /// For `not_reversible`: each schema object left behind or lost.
    pub details: Vec<String>,
    pub error: Option<String>,
}

/// `up --dry-run`, `down --dry-run`: what would be sent, in order.
#[derive(Serialize)]
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
pub struct DryRunStep {
    pub version: String,
    pub name: String,
    pub action: crate::error::Action,
    /// Each text as one round trip to the server.
    pub sql: Vec<String>,
}

#[derive(Serialize)]
pub struct RepairOutput {
    pub ok: bool,
    pub command: &'static str,
    pub version: String,
    pub name: String,
    /// The checksum recorded before (None: none was).
    pub checksum_before: Option<String>,
    pub checksum: String,
}

#[derive(Serialize)]
pub struct CreateOutput {
    pub ok: bool,
    pub command: &'static str,
    pub version: String,
    pub name: String,
    pub path: String,
    pub files: Vec<String>,
}

#[derive(Serialize)]
pub struct SeedOutput {
    pub ok: bool,
    pub command: &'static str,
    pub database: String,
    pub dry_run: bool,
    pub files: Vec<SeedFileJson>,
}

#[derive(Serialize)]
pub struct SeedFileJson {
    pub path: String,
    pub duration_ms: Option<u64>,
}

/// `adopt` and `baseline`.
#[derive(Serialize)]
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
    pub unmatched: Vec<String>,
    /// Migrations here that stay pending.
    pub pending: usize,
}

#[derive(Serialize)]
pub struct AdoptedJson {
    pub version: String,
    pub name: String,
    /// When the other tool applied it, where it kept that.
    pub applied_at: Option<String>,
}

#[derive(Serialize)]
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
pub struct ImportedJson {
    pub version: String,
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
pub struct NotConvertedJson {
    pub file: String,
    pub reason: String,
}

#[derive(Serialize)]
pub struct DatabaseUrlOutput {
    pub ok: bool,
    pub command: &'static str,
    pub url: String,
    pub origin: String,
    pub parts: Option<Vec<UrlPart>>,
    pub written_to: Option<String>,
}

#[derive(Serialize)]
pub struct UrlPart {
    pub part: &'static str,
    pub value: String,
    pub from: String,
}

#[derive(Serialize)]
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
pub struct LocalOther {
    pub dir: String,
    pub workspace: Option<String>,
    pub running: bool,
}

/// An extension on the local database: `real` (the installation's), `stand-in`
/// (cargo-migrate's, `note` says what it cannot do), `available` (not created,
/// as on Supabase) or `missing`.
#[derive(Serialize)]
pub struct LocalExtension {
    pub name: String,
    pub state: &'static str,
    pub schema: Option<String>,
    pub version: Option<String>,
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_secrets_that_cannot_be_ordinary_words() {
        add_secret("hunter2-Secret");
        assert_eq!(redact("url postgres://u:hunter2-Secret@h"), "url postgres://u:****@h");
        add_secret("postgres");
        assert_eq!(redact("postgres://postgres@h/postgres"), "postgres://postgres@h/postgres");
    }

    #[test]
    fn clean_removes_escape_codes() {
        assert_eq!(clean("a\u{1b}[31mred\rb\nc\td"), "a\u{fffd}[31mred\u{fffd}b\nc\td");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }
}
