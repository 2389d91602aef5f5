//! `cargo migrate check`: the pull-request check. On the migrations the
//! branch changes since it forked from its base (git), in one command: the
//! static lint, `verify` of the new ones on scratch databases, the SQL `up`
//! would send for them (planned on a scratch database at the base's state),
//! and (once the command exists) `dump --check`. It writes SARIF (`--sarif`),
//! a Markdown summary for the reviewer (`$GITHUB_STEP_SUMMARY` or
//! `--summary`), and exits by `--fail-on`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use colored::Colorize;

use super::verify::{self, Verdict};
use super::Context;
use crate::cli::{CheckArgs, CheckFailOn};
use crate::error::{exit, Error, Kind, Result};
use crate::git::{self, Status};
use crate::lint::{self, Severity};
use crate::output::check::{self as doc, ChangeStatus, CheckFinding, CheckOutput, CheckSummary, CheckedMigration};
use crate::output::{self, ErrorJson};
use crate::source::{Migration, Source};

/// A migration the branch touched: its entry in the migrations folder and how.
struct Touched<'a> {
    entry: String,
    status: ChangeStatus,
    migration: Option<&'a Migration>,
}

pub fn run(ctx: &Context, args: &CheckArgs) -> Result<u8> {
    let r = &ctx.reporter;
    let mut source = ctx.source()?;
    let dir = std::fs::canonicalize(&source.dir).unwrap_or(source.dir.clone());
    let top = git::toplevel(&dir)?;
    let top = std::fs::canonicalize(&top).unwrap_or(top);
    let (base, commit) = git::merge_base(&top, args.base.as_deref())?;
    let rel = dir.strip_prefix(&top).unwrap_or(Path::new("")).to_path_buf();
    let changes = git::changes(&top, &commit, &rel)?;
    let added: Vec<String> = {
        let touched = touched(&source, &changes, &rel);
        touched
            .iter()
            .filter(|t| t.status == ChangeStatus::Added)
            .filter_map(|t| t.migration)
            .map(|m| m.version.to_string())
            .collect()
    };
    source.check_runnable(added.clone());
    crate::plan::check_source(&source.problems)?;
    let touched = touched(&source, &changes, &rel);
    r.line(format!(
        "check: {} migration(s) changed since {base} (merge base {})",
        touched.len(),
        commit.get(..12).unwrap_or(&commit)
    ));

    // The lint, on every migration the branch adds or edits.
    let linted: Vec<&Migration> = touched.iter().filter_map(|t| t.migration).collect();
    let inputs = linted.iter().map(|m| super::lint::input(m)).collect::<Result<Vec<_>>>()?;
    let findings = lint::check(&inputs, ctx.settings.lint()?);
    if let Some(path) = &args.sarif {
        let sarif = output::lint::sarif(&inputs, &findings, &top);
        let text = serde_json::to_string_pretty(&sarif).map_err(|e| Error::new(Kind::Internal, e.to_string()))?;
        write_file(path, &text, false)?;
    }

    // verify and the dry run of the new ones, from the first of them on (an
    // older migration merged in between is part of what runs after it).
    let (verdicts, planned) = if added.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let from: Vec<String> =
            source.migrations.iter().filter(|m| m.version >= added[0]).map(|m| m.version.to_string()).collect();
        let server = verify::scratch_server_at(ctx, args.scratch_url.as_deref(), &args.local)?;
        let verdicts = verify::verify(ctx, source.clone(), &from, &server, false)?;
        let (_, planned) = verify::dry_run(ctx, &source, &from, &server)?;
        (verdicts, planned)
    };

    let mut migrations = Vec::new();
    for t in &touched {
        let input = t.migration.and_then(|m| linted.iter().position(|l| l.version == m.version));
        let mut found: Vec<CheckFinding> = input
            .map(|i| {
                findings
                    .iter()
                    .filter(|f| f.input == i)
                    .map(|f| CheckFinding {
                        rule: f.rule.name.to_string(),
                        severity: match f.severity {
                            Severity::Error => "error",
                            Severity::Warn => "warning",
                            Severity::Info => "info",
                        },
                        line: f.line,
                        message: output::clean(&f.message).to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        match t.status {
            ChangeStatus::Modified => found.push(CheckFinding {
                rule: "edited_migration".into(),
                severity: "error",
                line: 0,
                message: format!(
                    "{} exists on {base}: databases that applied it will not get the edit (and its checksum no longer matches); write a new migration instead",
                    t.entry
                ),
            }),
            ChangeStatus::Deleted => found.push(CheckFinding {
                rule: "deleted_migration".into(),
                severity: "error",
                line: 0,
                message: format!(
                    "{} exists on {base}: databases that applied it still have it; revert it with a new migration instead",
                    t.entry
                ),
            }),
            ChangeStatus::Added => {}
        }
        let version = t.migration.map(|m| m.version.clone());
        let verdict = version.as_ref().and_then(|v| verdicts.iter().find(|(vv, _, _)| vv == v)).map(|(_, _, x)| x);
        let (verify_state, verify_details) =
            verdict.map(verify::described).map_or((None, Vec::new()), |(s, d)| (Some(s), d));
        let sql = version
            .as_ref()
            .and_then(|v| planned.iter().find(|p| &p.version == v))
            .map(|p| p.texts.clone())
            .unwrap_or_default();
        let changes = input.map(|i| statements(&inputs[i].up_text)).unwrap_or_default();
        let path = t.migration.map(|m| m.up_path()).unwrap_or_else(|| dir.join(&t.entry));
        migrations.push(CheckedMigration {
            version,
            name: t.entry.clone(),
            status: t.status,
            path: output::json_path(path.strip_prefix(&top).unwrap_or(&path)),
            changes,
            findings: found,
            verify: verify_state,
            verify_details,
            sql,
        });
    }
    let problem = |v: &&Verdict| v.is_problem();
    let verify_errors =
        verdicts.iter().filter(|(v, _, _)| added.contains(v)).map(|(_, _, x)| x).filter(problem).count();
    let errors = migrations.iter().flat_map(|m| &m.findings).filter(|f| f.severity == "error").count() + verify_errors;
    let warnings = migrations.iter().flat_map(|m| &m.findings).filter(|f| f.severity == "warning").count();
    let failed = match args.fail_on {
        CheckFailOn::Error => errors > 0,
        CheckFailOn::Warning => errors + warnings > 0,
        CheckFailOn::Never => false,
    };
    let error = failed.then(|| {
        Error::new(
            Kind::CheckFailed { errors, warnings },
            format!(
                "the branch's migrations have {errors} error(s) and {warnings} warning(s) (--fail-on {})",
                fail_on_word(args.fail_on)
            ),
        )
        .hint("the summary says what each is; fix them, or silence a lint finding with `-- migrate:ignore RULE`")
    });
    let document = CheckOutput {
        ok: error.is_none(),
        command: "check",
        base,
        base_commit: commit,
        summary: CheckSummary { migrations: migrations.len(), errors, warnings },
        migrations,
        dump: dump_check(ctx),
        error: error.as_ref().map(|e| ErrorJson {
            kind: &e.kind,
            message: &e.message,
            details: &e.details,
            hint: e.hint.as_deref(),
            exit_code: e.exit_code(),
            done_before: None,
        }),
    };
    if let Some(path) = &args.summary {
        write_file(path, &output::redact(&doc::markdown(&document)), true)?;
    }
    if r.human() {
        human(ctx, &document);
    }
    r.json(&document);
    match error {
        Some(e) if r.format == output::Format::Json => Ok(e.exit_code()),
        Some(e) => Err(e),
        None => Ok(exit::OK),
    }
}

/// The migrations the changed files belong to, in the folder's order, then
/// those deleted. Files of the folder that are no migration are left out.
fn touched<'a>(source: &'a Source, changes: &[git::Change], rel: &Path) -> Vec<Touched<'a>> {
    let mut by_entry: Vec<(String, Vec<Status>)> = Vec::new();
    for c in changes {
        let Ok(inside) = c.path.strip_prefix(rel) else { continue };
        let Some(entry) = inside.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()) else {
            continue;
        };
        match by_entry.iter_mut().find(|(e, _)| *e == entry) {
            Some((_, s)) => s.push(c.status),
            None => by_entry.push((entry, vec![c.status])),
        }
    }
    let entry_of = |m: &Migration| m.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out: Vec<Touched<'a>> = source
        .migrations
        .iter()
        .filter_map(|m| {
            let (entry, statuses) = by_entry.iter().find(|(e, _)| *e == entry_of(m))?;
            let status =
                if statuses.iter().all(|s| *s == Status::Added) { ChangeStatus::Added } else { ChangeStatus::Modified };
            Some(Touched { entry: entry.clone(), status, migration: Some(m) })
        })
        .collect();
    for (entry, statuses) in &by_entry {
        let gone = statuses.iter().all(|s| *s == Status::Deleted);
        let known = source.migrations.iter().any(|m| entry_of(m) == *entry);
        // A migration's name starts with its version.
        if gone && !known && entry.starts_with(|c: char| c.is_ascii_digit() || c == 'V') {
            out.push(Touched { entry: entry.clone(), status: ChangeStatus::Deleted, migration: None });
        }
    }
    out
}

/// Each statement of an up file, as its first line (at most 100 characters).
fn statements(sql: &str) -> Vec<String> {
    crate::sql::split_statements(sql)
        .iter()
        .map(|s| {
            let code: String = s.text.chars().skip(crate::sql::code_start(s.text)).collect();
            let first = code.lines().next().unwrap_or_default().trim().trim_end_matches(';').to_string();
            let more = code.trim().lines().count() > 1;
            let mut shown: String = first.chars().take(100).collect();
            if more || first.chars().count() > 100 {
                shown.push_str(" …");
            }
            shown
        })
        .filter(|s| !s.is_empty())
        .collect()
}

// HOOK(dump): when `cargo migrate dump` lands (the schema-files issue), run
// its `--check` here (the checked-in schema file against the migrations
// applied on a scratch database) and return its verdict for the summary;
// count a stale file as an error in `run`.
fn dump_check(_ctx: &Context) -> Option<String> {
    None
}

fn fail_on_word(f: CheckFailOn) -> &'static str {
    match f {
        CheckFailOn::Error => "error",
        CheckFailOn::Warning => "warning",
        CheckFailOn::Never => "never",
    }
}

fn write_file(path: &PathBuf, text: &str, append: bool) -> Result<()> {
    let path = std::env::current_dir().unwrap_or_default().join(path);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(&path)
        .map_err(|e| Error::io(&path, "write", e))?;
    file.write_all(text.as_bytes()).and_then(|_| file.write_all(b"\n")).map_err(|e| Error::io(&path, "write", e))
}

fn human(ctx: &Context, d: &CheckOutput<'_>) {
    let r = &ctx.reporter;
    for m in &d.migrations {
        let status = match m.status {
            ChangeStatus::Added => "added   ".green(),
            ChangeStatus::Modified => "modified".red().bold(),
            ChangeStatus::Deleted => "deleted ".red().bold(),
        };
        let verdict = m.verify.map(|v| format!("  verify: {}", verify::state_word(v))).unwrap_or_default();
        r.line(format!("  {status} {}{verdict}", output::escape(&m.name)));
        for f in &m.findings {
            let label = if f.severity == "error" { f.severity.red().bold() } else { f.severity.yellow().bold() };
            let at = if f.line > 0 { format!(" line {}", f.line) } else { String::new() };
            r.line(format!("      {label}[{}]{at}: {}", f.rule, output::clean(&f.message)));
        }
        for line in &m.verify_details {
            r.line(format!("      {}", output::clean(line)));
        }
    }
    let mark = if d.ok { "✓".green().bold() } else { "✗".red().bold() };
    r.result(format!(
        "{mark} {} migration(s) changed: {} error(s), {} warning(s)",
        d.summary.migrations, d.summary.errors, d.summary.warnings
    ));
}
