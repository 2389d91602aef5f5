//! `cargo migrate lint --database`: the live schema against Supabase's advisor
//! rules (read-only). Findings grouped by rule, coloured by severity, one
//! summary line; `--fail-on` sets when the exit code is 1.

use colored::Colorize;

use super::{Context, Database};
use crate::cli::{FailOn, LintArgs};
use crate::db::advisor;
use crate::error::{exit, Result};
use crate::report::{self, FindingJson, LintOutput, LintSummary};
use crate::url;

pub fn run(ctx: &Context, args: &LintArgs) -> Result<u8> {
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
