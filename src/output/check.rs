//! What `check` reports: the `--format json` document and the Markdown
//! summary a reviewer reads in the pull request (`$GITHUB_STEP_SUMMARY`).

use std::fmt::Write as _;

use serde::Serialize;

use super::{ErrorJson, VerifyState};
use crate::version::Version;

/// How the branch changed a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// New on the branch: linted, verified, and its SQL shown.
    Added,
    /// It exists on the base branch and the branch edits it (an error: it may be applied already).
    Modified,
    /// It exists on the base branch and the branch deletes it (an error).
    Deleted,
}

/// `check`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CheckOutput<'a> {
    pub ok: bool,
    pub command: &'static str,
    /// What the branch is compared with (`--base`, or the default found).
    pub base: String,
    /// The merge base's commit.
    pub base_commit: String,
    pub migrations: Vec<CheckedMigration>,
    /// `dump --check` of the project's schema file; `null` when it keeps none
    /// (no `schema` setting, no file `dump` wrote).
    pub dump: Option<CheckDump>,
    pub summary: CheckSummary,
    /// `check_failed` when the problems reach `--fail-on`; `null` otherwise.
    pub error: Option<ErrorJson<'a>>,
}

/// The schema file against what the migrations make on a scratch database.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CheckDump {
    /// The schema file, relative to the repository.
    pub file: String,
    pub state: DumpState,
    /// When stale: a unified diff, `-` the file's lines, `+` what the migrations make.
    pub diff: Option<String>,
    /// When failed: why `dump --check` could not tell.
    pub error: Option<String>,
}

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DumpState {
    /// The file is what the migrations make.
    Current,
    /// It is not (or it is missing): an error of the check.
    Stale,
    /// `dump --check` failed (the migrations do not apply, no pg_dump…): an error of the check.
    Failed,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CheckedMigration {
    pub version: Option<Version>,
    /// The folder or file name.
    pub name: String,
    pub status: ChangeStatus,
    /// Its up file, relative to the repository.
    pub path: String,
    /// The statements of its up SQL, each shortened to its first line.
    pub changes: Vec<String>,
    pub findings: Vec<CheckFinding>,
    /// `added` only: verify's verdict (`null` for the others, or when verify could not run).
    pub verify: Option<VerifyState>,
    /// Why verify's verdict is not `reversible` (differences, the error).
    pub verify_details: Vec<String>,
    /// `added` only: the texts `up` would send for it, in order.
    pub sql: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CheckFinding {
    /// A lint rule's name, or `edited_migration` / `deleted_migration`.
    pub rule: String,
    /// `error`, `warning` or `info`.
    pub severity: &'static str,
    pub line: usize,
    pub message: String,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CheckSummary {
    pub migrations: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// Inside a Markdown code span or table cell: no backtick, no pipe, one line.
fn cell(s: &str) -> String {
    s.replace('`', "'").replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn verdict(v: Option<VerifyState>) -> &'static str {
    match v {
        Some(VerifyState::Reversible) => "✅ reversible",
        Some(VerifyState::UpOnly) => "✅ up-only (applies)",
        Some(VerifyState::NotReversible) => "❌ not reversible",
        Some(VerifyState::Failing) => "❌ failing",
        Some(VerifyState::NotTried) => "⚠️ not tried",
        None => "—",
    }
}

/// The summary: a table of the migrations, then each one's changes,
/// findings, verdict and SQL.
pub fn markdown(doc: &CheckOutput<'_>) -> String {
    let mut out = String::from("## cargo migrate check\n\n");
    let s = &doc.summary;
    let short = doc.base_commit.get(..12).unwrap_or(&doc.base_commit);
    let _ = writeln!(
        out,
        "{} Compared with `{}` (merge base `{short}`): {} migration(s) changed, {} error(s), {} warning(s).\n",
        if doc.ok { "✅" } else { "❌" },
        cell(&doc.base),
        s.migrations,
        s.errors,
        s.warnings
    );
    if doc.migrations.is_empty() {
        out.push_str("The branch changes no migration.\n");
        return out;
    }
    out.push_str("| Migration | Change | Lint | Verify |\n| --- | --- | --- | --- |\n");
    for m in &doc.migrations {
        let (e, w) = counts(m);
        let status = match m.status {
            ChangeStatus::Added => "added",
            ChangeStatus::Modified => "**modified**",
            ChangeStatus::Deleted => "**deleted**",
        };
        let _ =
            writeln!(out, "| `{}` | {status} | {e} error(s), {w} warning(s) | {} |", cell(&m.name), verdict(m.verify));
    }
    for m in &doc.migrations {
        let _ = writeln!(out, "\n### `{}`\n", cell(&m.name));
        if !m.changes.is_empty() {
            out.push_str("What it changes:\n");
            for c in &m.changes {
                let _ = writeln!(out, "- `{}`", cell(c));
            }
            out.push('\n');
        }
        if m.findings.is_empty() {
            out.push_str("Findings: none.\n");
        } else {
            out.push_str("Findings:\n");
            for f in &m.findings {
                let at = if f.line > 0 { format!(" line {}", f.line) } else { String::new() };
                let _ = writeln!(out, "- **{}** `{}`{at}: {}", f.severity, cell(&f.rule), cell(&f.message));
            }
        }
        if m.status == ChangeStatus::Added {
            let _ = writeln!(out, "\nVerify: {}", verdict(m.verify));
            for d in &m.verify_details {
                let _ = writeln!(out, "- {}", cell(d));
            }
        }
        if !m.sql.is_empty() {
            out.push_str("\n<details><summary>The SQL <code>up</code> would send</summary>\n\n```sql\n");
            for t in &m.sql {
                let t = t.trim_end();
                out.push_str(&t.replace("```", "` ` `"));
                out.push_str(if t.ends_with(';') { "\n" } else { ";\n" });
            }
            out.push_str("```\n\n</details>\n");
        }
    }
    if let Some(dump) = &doc.dump {
        let verdict = match dump.state {
            DumpState::Current => "✅ what the migrations make",
            DumpState::Stale => "❌ not what the migrations make: run `cargo migrate dump` and commit it",
            DumpState::Failed => "❌ could not be checked",
        };
        let _ = writeln!(out, "\n### Schema file `{}`\n\n{verdict}", cell(&dump.file));
        if let Some(e) = &dump.error {
            let _ = writeln!(out, "\n{}", cell(e));
        }
        if let Some(diff) = &dump.diff {
            let _ = writeln!(out, "\n```diff\n{}\n```", diff.trim_end().replace("```", "` ` `"));
        }
    }
    out
}

fn counts(m: &CheckedMigration) -> (usize, usize) {
    let n = |sev: &str| m.findings.iter().filter(|f| f.severity == sev).count();
    (n("error"), n("warning"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_migration_its_findings_and_verdict() {
        let doc = CheckOutput {
            ok: false,
            command: "check",
            base: "main".into(),
            base_commit: "0123456789abcdef".into(),
            migrations: vec![CheckedMigration {
                version: Some("20250101000000".into()),
                name: "20250101000000_notes|x".into(),
                status: ChangeStatus::Added,
                path: "migrations/20250101000000_notes/up.sql".into(),
                changes: vec!["CREATE TABLE notes (id int)".into()],
                findings: vec![CheckFinding {
                    rule: "rls_disabled_in_public".into(),
                    severity: "warning",
                    line: 1,
                    message: "no `RLS`".into(),
                }],
                verify: Some(VerifyState::NotReversible),
                verify_details: vec!["left behind: table public.notes".into()],
                sql: vec!["BEGIN;".into(), "CREATE TABLE notes (id int);".into()],
            }],
            dump: Some(CheckDump {
                file: "schema.sql".into(),
                state: DumpState::Stale,
                diff: Some("-CREATE TABLE a ();\n+CREATE TABLE b ();".into()),
                error: None,
            }),
            summary: CheckSummary { migrations: 1, errors: 1, warnings: 1 },
            error: None,
        };
        let md = markdown(&doc);
        assert!(md.contains("merge base `0123456789ab`"), "{md}");
        assert!(
            md.contains("| `20250101000000_notes\\|x` | added | 0 error(s), 1 warning(s) | ❌ not reversible |"),
            "{md}"
        );
        assert!(md.contains("- **warning** `rls_disabled_in_public` line 1: no 'RLS'"), "{md}");
        assert!(md.contains("- left behind: table public.notes"), "{md}");
        assert!(md.contains("```sql\nBEGIN;\nCREATE TABLE notes (id int);\n```"), "{md}");
        assert!(md.contains("### Schema file `schema.sql`\n\n❌ not what the migrations make"), "{md}");
        assert!(md.contains("```diff\n-CREATE TABLE a ();\n+CREATE TABLE b ();\n```"), "{md}");
    }
}
