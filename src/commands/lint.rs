//! `cargo migrate lint`: the pending migrations' SQL (or every migration's,
//! `--all`) against the static rules of `lint/`, before it runs; with
//! `--database`, the live schema against Supabase's advisor rules. Findings
//! grouped by migration (or rule), coloured by severity, one summary line;
//! `--fail-on` sets when the exit code is 1. `up` runs both through
//! `before_up` and `after_up`.

use std::collections::BTreeMap;

use colored::Colorize;

use super::{pending, Context, Database};
use crate::cli::{FailOn, Format, LintArgs};
use crate::db::{advisor, Conn};
use crate::error::{exit, Error, Kind, Result};
use crate::lint::{self, Finding, LintInput, Severity};
use crate::report::{self, FindingJson, LintOutput, LintSummary, Reporter};
use crate::source::{Migration, Source};
use crate::url;

pub fn run(ctx: &Context, args: &LintArgs) -> Result<u8> {
    if args.database {
        if ctx.reporter.format == Format::Sarif {
            return Err(Error::new(
                Kind::UnsupportedFormat,
                "--format sarif needs findings in files; --database has none",
            )
            .usage()
            .hint("use --format json with --database, or drop --database to check the files"));
        }
        return database(ctx, args);
    }
    let config = crate::settings::lint_config(&ctx.settings.project)?;
    let (mut source, versions, checked) = if args.all {
        let source = ctx.source()?;
        let versions = source.migrations.iter().map(|m| m.version.clone()).collect();
        (source, versions, "all")
    } else {
        let (source, Database { history, .. }) = ctx.read_both(&args.db, "lint", false).map_err(|e| {
            if e.kind != Kind::Connect {
                return e;
            }
            let hint = e.hint.clone().map(|h| format!("{h}; ")).unwrap_or_default();
            e.hint(format!("{hint}`cargo migrate lint --all` checks every migration without a database"))
        })?;
        let versions = pending(&source, &history);
        (source, versions, "pending")
    };
    source.check_runnable(versions.clone());
    let inputs = inputs(&source, &versions)?;
    let findings = lint::check(&inputs, &config);
    let summary = summary(findings.iter().map(|f| f.severity));
    let failed = summary.errors > 0 || (args.fail_on == FailOn::Warn && summary.warnings > 0);
    let r = &ctx.reporter;
    if r.human() {
        r.result(human(&inputs, &findings, &summary, checked));
    }
    r.json(&report::StaticLintOutput {
        ok: !failed,
        command: "lint",
        checked,
        migrations_dir: report::json_path(&source.dir),
        migrations: inputs.len(),
        findings: findings
            .iter()
            .map(|f| report::StaticFindingJson {
                rule: f.rule.name,
                severity: f.severity.name(),
                migration: inputs[f.input].name.clone(),
                file: report::json_path(&file_of(&inputs[f.input], f)),
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
    });
    r.sarif(&sarif(&inputs, &findings, &ctx.settings.project.workspace_root));
    Ok(if failed { exit::FAILURE } else { exit::OK })
}

/// The inputs of the migrations among `versions`, in order; thousands of
/// small files are read on every core.
fn inputs(source: &Source, versions: &[String]) -> Result<Vec<LintInput>> {
    let wanted: std::collections::HashSet<&str> = versions.iter().map(String::as_str).collect();
    let chosen: Vec<&Migration> = source.migrations.iter().filter(|m| wanted.contains(m.version.as_str())).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    if chosen.len() < 64 || threads < 2 {
        return chosen.into_iter().map(input).collect();
    }
    let chunk = chosen.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = chosen
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|m| input(m)).collect::<Result<Vec<_>>>()))
            .collect();
        let mut all = Vec::with_capacity(chosen.len());
        for part in parts {
            all.extend(
                part.join().map_err(|_| Error::new(Kind::Internal, "reading a migration failed unexpectedly"))??,
            );
        }
        Ok(all)
    })
}

/// The one adapter from a migration on disk to what the rules read (other
/// layouts adapt here too).
pub fn input(m: &Migration) -> Result<LintInput> {
    let read = |path: &std::path::Path| -> Result<String> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        Ok(crate::sql::strip_bom(&text).to_string())
    };
    let down_path = m.down_path();
    let down_text = if down_path.is_file() { Some(read(&down_path)?) } else { None };
    Ok(LintInput {
        name: m.name.clone(),
        path: m.up_path(),
        up_text: read(&m.up_path())?,
        down_path: down_text.as_ref().map(|_| down_path),
        down_text,
        runs_in_transaction: m.run_in_transaction()?,
    })
}

fn file_of(input: &LintInput, f: &Finding) -> std::path::PathBuf {
    match f.side {
        lint::Side::Down => input.down_path.clone().unwrap_or_else(|| input.path.clone()),
        lint::Side::Up => input.path.clone(),
    }
}

fn summary(severities: impl Iterator<Item = Severity>) -> LintSummary {
    let mut s = LintSummary { errors: 0, warnings: 0, infos: 0 };
    for severity in severities {
        match severity {
            Severity::Error => s.errors += 1,
            Severity::Warn => s.warnings += 1,
            Severity::Info => s.infos += 1,
        }
    }
    s
}

fn label(severity: Severity) -> String {
    match severity {
        Severity::Error => "error".red().bold().to_string(),
        Severity::Warn => "warning".yellow().bold().to_string(),
        Severity::Info => "info".cyan().to_string(),
    }
}

fn location(input: &LintInput, f: &Finding) -> String {
    format!("{}:{}:{}", report::display_path(&file_of(input, f)), f.line, f.column)
}

fn human(inputs: &[LintInput], findings: &[Finding], s: &LintSummary, checked: &str) -> String {
    let what = if checked == "all" { "migration(s)" } else { "pending migration(s)" };
    if inputs.is_empty() {
        return format!(
            "{} nothing to check: no {what}{}",
            "✓".green(),
            if checked == "all" { "" } else { " (--all checks every migration)" }
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
            out.push_str(&format!("{}\n", report::clean(&input.name).bold()));
            last = f.input;
        }
        out.push_str(&format!(
            "  {}[{}] {}: {}\n    {} {}\n    {} {}\n    {} {}\n",
            label(f.severity),
            f.rule.name,
            location(input, f),
            report::clean(&f.message),
            "|".cyan(),
            report::clean(&f.statement),
            "why:".cyan(),
            f.rule.why,
            "fix:".cyan(),
            report::clean(f.fix()),
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

fn sarif(inputs: &[LintInput], findings: &[Finding], root: &std::path::Path) -> report::Sarif {
    let text = |t: &str| report::SarifText { text: t.to_string() };
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warn => "warning",
        Severity::Info => "note",
    };
    let rules = lint::RULES
        .iter()
        .map(|r| report::SarifRule {
            id: r.name,
            name: r.name,
            short_description: text(r.summary),
            full_description: text(&format!("{}: {}", r.summary, r.why)),
            help: text(&format!("Why: {}. Fix: {}. Silence: -- migrate:ignore {}", r.why, r.fix, r.name)),
            default_configuration: report::SarifConfiguration { level: level(r.severity) },
        })
        .collect();
    let uri = |path: &std::path::Path| {
        let rel = path.strip_prefix(root).unwrap_or(path);
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
    };
    let results = findings
        .iter()
        .map(|f| report::SarifResult {
            rule_id: f.rule.name,
            rule_index: lint::RULES.iter().position(|r| r.name == f.rule.name).unwrap_or(0),
            level: level(f.severity),
            message: text(&format!("{}. Why: {}. Fix: {}", f.message, f.rule.why, f.fix())),
            locations: vec![report::SarifLocation {
                physical_location: report::SarifPhysicalLocation {
                    artifact_location: report::SarifArtifactLocation {
                        uri: uri(&file_of(&inputs[f.input], f)),
                        uri_base_id: "%SRCROOT%",
                    },
                    region: report::SarifRegion {
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
    let mut root_uri = format!("file://{}", report::json_path(root));
    if !root_uri.ends_with('/') {
        root_uri.push('/');
    }
    base.insert("%SRCROOT%", report::SarifUri { uri: root_uri });
    report::Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![report::SarifRun {
            tool: report::SarifTool {
                driver: report::SarifDriver { name: "cargo-migrate", version: env!("CARGO_PKG_VERSION"), rules },
            },
            original_uri_base_ids: base,
            results,
        }],
    }
}

/// Shown by `up` before anything runs: at most this many findings, then a count.
const UP_SHOWN: usize = 10;

/// `up`'s static checks of the migrations it is about to apply: warnings are
/// printed (stderr), errors stop the run before anything is applied.
pub fn before_up(ctx: &Context, source: &Source, versions: &[String]) -> Result<()> {
    let config = crate::settings::lint_config(&ctx.settings.project)?;
    let inputs = inputs(source, versions)?;
    let findings = lint::check(&inputs, &config);
    let line = |f: &Finding| {
        format!(
            "{}[{}] {}: {}",
            label(f.severity),
            f.rule.name,
            location(&inputs[f.input], f),
            report::clean(&f.message)
        )
    };
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.severity == Severity::Error).collect();
    if !errors.is_empty() {
        let mut err = Error::new(
            Kind::LintFailed,
            format!(
                "the static checks found {} error(s) in the migrations to apply; nothing was applied",
                errors.len()
            ),
        );
        for f in &errors {
            err = err.detail(format!("  {}\n    fix: {}", line(f), report::clean(f.fix())));
        }
        return Err(err.hint(
            "fix them (`cargo migrate lint` explains each), silence one with a `-- migrate:ignore <rule>` comment \
             above its statement, or skip the checks with --no-lint",
        ));
    }
    let warnings: Vec<&Finding> = findings.iter().filter(|f| f.severity == Severity::Warn).collect();
    for f in warnings.iter().take(UP_SHOWN) {
        ctx.reporter.note(line(f));
    }
    if warnings.len() > UP_SHOWN {
        ctx.reporter
            .note(format!("… and {} more warning(s): `cargo migrate lint` lists them", warnings.len() - UP_SHOWN));
    }
    Ok(())
}

/// After a successful `up`: Supabase's advisor on the live schema (a
/// failure to ask is a message, never a failure: the migrations are applied).
pub fn advise(conn: &mut Conn) -> std::result::Result<Vec<advisor::Finding>, String> {
    advisor::check(conn).map_err(|e| e.message)
}

/// `advise`'s answer as one summary line.
pub fn print_advice(r: &Reporter, advice: &std::result::Result<Vec<advisor::Finding>, String>) {
    match advice {
        Ok(findings) if findings.is_empty() => {}
        Ok(findings) => {
            let count = |s: &str| findings.iter().filter(|f| f.severity == s).count();
            let mut rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
            rules.dedup();
            r.note(format!(
                "{} the database advisor finds {} error(s) and {} warning(s) in the schema now ({}): `cargo migrate lint --database` explains them",
                "advice:".yellow().bold(),
                count("error"),
                count("warn"),
                rules.join(", ")
            ));
        }
        Err(e) => r.note(format!("note: the database advisor could not run: {e}")),
    }
}

fn database(ctx: &Context, args: &LintArgs) -> Result<u8> {
    let (_, Database { url, mut conn, .. }) = ctx.read_both(&args.db, "lint", false)?;
    let findings = advisor::check(&mut conn)?;
    let count = |s: &str| findings.iter().filter(|f| f.severity == s).count();
    let summary = LintSummary { errors: count("error"), warnings: count("warn"), infos: count("info") };
    let failed = summary.errors > 0 || (args.fail_on == FailOn::Warn && summary.warnings > 0);
    let r = &ctx.reporter;
    let target = url::target_of(&url);
    if findings.is_empty() {
        r.result(format!("{} {target}: no findings", "✓".green()));
    } else {
        let mut out = format!("{target}:\n");
        let mut last = "";
        for f in &findings {
            if f.rule != last {
                let label = match f.severity {
                    "error" => "error".red().bold().to_string(),
                    "warn" => "warning".yellow().bold().to_string(),
                    _ => "info".cyan().to_string(),
                };
                out.push_str(&format!("\n{label} {}\n  {} {}\n", f.rule, "fix:".cyan(), f.fix));
                last = f.rule;
            }
            out.push_str(&format!("  - {}: {}\n", report::clean(&f.object), f.message));
        }
        out.push_str(&format!(
            "\n{} error(s), {} warning(s), {} info(s)",
            summary.errors, summary.warnings, summary.infos
        ));
        r.result(out);
    }
    r.json(&LintOutput {
        ok: !failed,
        command: "lint",
        database: url::mask(&url),
        findings: findings
            .iter()
            .map(|f| FindingJson {
                rule: f.rule,
                severity: f.severity,
                object: f.object.clone(),
                message: f.message.clone(),
                fix: f.fix,
            })
            .collect(),
        summary,
    });
    Ok(if failed { exit::FAILURE } else { exit::OK })
}
