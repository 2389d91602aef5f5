//! What `cargo migrate lint` shows of static findings: human text grouped by
//! migration, the `--format json` document, and SARIF 2.1.0 for code scanning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use colored::Colorize;

use crate::lint::{self, Finding, LintInput, Severity};
use crate::output::{self, Checked, LintSummary};

/// The file a finding is in.
pub fn file_of(input: &LintInput, f: &Finding) -> PathBuf {
    match f.side {
        lint::Side::Down => input.down_path.clone().unwrap_or_else(|| input.path.clone()),
        lint::Side::Up => input.path.clone(),
    }
}

pub fn summary(findings: &[Finding]) -> LintSummary {
    let mut s = LintSummary { errors: 0, warnings: 0, infos: 0 };
    for severity in findings.iter().map(|f| f.severity) {
        match severity {
            Severity::Error => s.errors += 1,
            Severity::Warn => s.warnings += 1,
            Severity::Info => s.infos += 1,
        }
    }
    s
}

/// The severity as a coloured word.
pub fn label(severity: Severity) -> String {
    match severity {
        Severity::Error => "error".red().bold().to_string(),
        Severity::Warn => "warning".yellow().bold().to_string(),
        Severity::Info => "info".cyan().to_string(),
    }
}

/// `file:line:col`, relative to where the user stands.
pub fn location(input: &LintInput, f: &Finding) -> String {
    format!("{}:{}:{}", output::display_path(&file_of(input, f)), f.line, f.column)
}

/// Grouped by migration, each finding with its statement, why and fix; one summary line.
pub fn human(inputs: &[LintInput], findings: &[Finding], s: &LintSummary, checked: Checked) -> String {
    let what = if checked == Checked::All { "migration(s)" } else { "pending migration(s)" };
    if inputs.is_empty() {
        return format!(
            "{} nothing to check: no {what}{}",
            "✓".green(),
            if checked == Checked::All { "" } else { " (--all checks every migration)" }
        );
    }
    if findings.is_empty() {
        return format!("{} {} {what} checked: no findings", "✓".green(), inputs.len());
    }
    let mut out = String::new();
    let mut last = usize::MAX;
    for f in findings {
        let input = &inputs[f.input];
        if f.input != last {
            out.push_str(&format!("{}\n", output::clean(&input.name).bold()));
            last = f.input;
        }
        out.push_str(&format!(
            "  {}[{}] {}: {}\n    {} {}\n    {} {}\n    {} {}\n",
            label(f.severity),
            f.rule.name,
            location(input, f),
            output::clean(&f.message),
            "|".cyan(),
            output::clean(&f.statement),
            "why:".cyan(),
            f.rule.why,
            "fix:".cyan(),
            output::clean(f.fix()),
        ));
    }
    out.push_str(&format!(
        "\n{} {what} checked: {} error(s), {} warning(s), {} info(s)",
        inputs.len(),
        s.errors,
        s.warnings,
        s.infos
    ));
    out
}

/// The `--format json` document.
pub fn json(
    inputs: &[LintInput],
    findings: &[Finding],
    summary: LintSummary,
    checked: Checked,
    ok: bool,
    dir: &Path,
) -> output::StaticLintOutput {
    output::StaticLintOutput {
        ok,
        command: "lint",
        checked,
        migrations_dir: output::json_path(dir),
        migrations: inputs.len(),
        findings: findings
            .iter()
            .map(|f| output::StaticFindingJson {
                rule: f.rule.name,
                severity: f.severity,
                migration: inputs[f.input].name.clone(),
                file: output::json_path(&file_of(&inputs[f.input], f)),
                line: f.line,
                column: f.column,
                end_line: f.end_line,
                end_column: f.end_column,
                statement: f.statement.clone(),
                message: f.message.clone(),
                why: f.rule.why,
                fix: f.fix().to_string(),
            })
            .collect(),
        summary,
    }
}

/// SARIF 2.1.0: every rule, and each finding at its place relative to `root` (`%SRCROOT%`).
pub fn sarif(inputs: &[LintInput], findings: &[Finding], root: &Path) -> output::Sarif {
    let text = |t: &str| output::SarifText { text: t.to_string() };
    let level = |s: Severity| match s {
        Severity::Error => output::SarifLevel::Error,
        Severity::Warn => output::SarifLevel::Warning,
        Severity::Info => output::SarifLevel::Note,
    };
    let rules = lint::RULES
        .iter()
        .map(|r| output::SarifRule {
            id: r.name,
            name: r.name,
            short_description: text(r.summary),
            full_description: text(&format!("{}: {}", r.summary, r.why)),
            help: text(&format!("Why: {}. Fix: {}. Silence: -- migrate:ignore {}", r.why, r.fix, r.name)),
            default_configuration: output::SarifConfiguration { level: level(r.severity) },
        })
        .collect();
    let uri = |path: &Path| {
        let rel = path.strip_prefix(root).unwrap_or(path);
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
    };
    let results = findings
        .iter()
        .map(|f| output::SarifResult {
            rule_id: f.rule.name,
            rule_index: lint::RULES.iter().position(|r| r.name == f.rule.name).unwrap_or(0),
            level: level(f.severity),
            message: text(&format!("{}. Why: {}. Fix: {}", f.message, f.rule.why, f.fix())),
            locations: vec![output::SarifLocation {
                physical_location: output::SarifPhysicalLocation {
                    artifact_location: output::SarifArtifactLocation {
                        uri: uri(&file_of(&inputs[f.input], f)),
                        uri_base_id: "%SRCROOT%",
                    },
                    region: output::SarifRegion {
                        start_line: f.line,
                        start_column: f.column,
                        end_line: f.end_line,
                        end_column: f.end_column.max(if f.end_line == f.line { f.column + 1 } else { 1 }),
                        snippet: text(&f.statement),
                    },
                },
            }],
        })
        .collect();
    let mut base = BTreeMap::new();
    let mut root_uri = format!("file://{}", output::json_path(root));
    if !root_uri.ends_with('/') {
        root_uri.push('/');
    }
    base.insert("%SRCROOT%", output::SarifUri { uri: root_uri });
    output::Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![output::SarifRun {
            tool: output::SarifTool {
                driver: output::SarifDriver { name: "cargo-migrate", version: env!("CARGO_PKG_VERSION"), rules },
            },
            original_uri_base_ids: base,
            results,
        }],
    }
}
