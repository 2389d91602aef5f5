//! `cargo migrate status`: every migration, applied or pending, then anything
//! odd with what to do about it. Reads only; takes no lock.

use colored::Colorize;

use super::{state, Context};
use crate::cli::StatusArgs;
use crate::error::{exit, Result};
use crate::history;
use crate::plan::{self, Anomaly};

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<u8> {
    let source = ctx.source()?;
    let (url, url_origin) = ctx.database_url()?;
    let mut conn = ctx.connect(&url, "status")?;
    let history = history::read(&mut conn)?;
    let st = state(&source, &history);
    let anomalies = plan::anomalies(&st, &source.problems);
    let r = &ctx.reporter;

    // Disk and database merged, in version order.
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (disk, applied) = (&source.migrations, &history.applied);
    let mut pending = 0;
    while i < disk.len() || j < applied.len() {
        let d = disk.get(i);
        let a = applied.get(j);
        let take_disk = match (d, a) {
            (Some(d), Some(a)) => d.version <= a.version,
            (Some(_), None) => true,
            _ => false,
        };
        if take_disk {
            let d = d.expect("checked");
            let applied_row = a.filter(|a| a.version == d.version);
            if let Some(a) = applied_row {
                lines.push(format!("  {} {}  {}", "applied".green(), d.name, a.run_on.dimmed()));
                rows.push(row(&d.version, &d.name, "applied", Some(a)));
                // A duplicate version consumes the applied row once per folder.
                if disk.get(i + 1).is_none_or(|n| n.version != d.version) {
                    j += 1;
                }
            } else {
                pending += 1;
                lines.push(format!("  {} {}", "pending".yellow(), d.name));
                rows.push(row(&d.version, &d.name, "pending", None));
            }
            i += 1;
        } else {
            let a = a.expect("checked");
            let name = a.name.clone().unwrap_or_else(|| a.version.clone());
            lines.push(format!("  {} {}  {}  (no folder on disk)", "missing".red(), name, a.run_on.dimmed()));
            rows.push(row(&a.version, &name, "missing", Some(a)));
            j += 1;
        }
    }

    r.result(format!(
        "{} {}  ({})",
        "Migrations".bold(),
        crate::report::display_path(&source.dir),
        ctx.settings.dir_origin
    ));
    r.result(format!("{}   {}  (from {url_origin})", "Database".bold(), crate::connection::mask(&url)));
    if !source.exists {
        r.result("  (the folder does not exist yet: `cargo migrate create <name>` makes it)");
    }
    r.result("");
    for l in &lines {
        r.result(l);
    }
    if lines.is_empty() {
        r.result("  (no migrations)");
    }
    r.result("");
    r.result(format!(
        "{} applied, {} pending{}",
        history.applied.len(),
        pending,
        if anomalies.is_empty() { String::new() } else { format!(", {} problem(s)", anomalies.len()) }
    ));
    for a in &anomalies {
        r.result(format!("  {} {}", "!".red().bold(), a.message()));
        r.result(format!("    {} {}", "hint:".cyan(), a.hint()));
    }

    r.json(&serde_json::json!({
        "ok": true,
        "command": "status",
        "migrations_dir": source.dir,
        "database": crate::connection::mask(&url),
        "migrations": rows,
        "anomalies": anomalies.iter().map(anomaly_json).collect::<Vec<_>>(),
        "summary": { "applied": history.applied.len(), "pending": pending, "anomalies": anomalies.len() },
    }));
    if args.exit_code && (pending > 0 || !anomalies.is_empty()) {
        return Ok(exit::PENDING);
    }
    Ok(exit::OK)
}

fn row(version: &str, name: &str, state: &str, a: Option<&history::Applied>) -> serde_json::Value {
    serde_json::json!({
        "version": version,
        "name": name,
        "state": state,
        "applied_at": a.map(|a| a.run_on.clone()),
        "batch": a.and_then(|a| a.batch),
        "applied_by": a.and_then(|a| a.applied_by.clone()),
        "duration_ms": a.and_then(|a| a.duration_ms),
    })
}

fn anomaly_json(a: &Anomaly) -> serde_json::Value {
    let version = match a {
        Anomaly::MissingOnDisk { version } | Anomaly::OutOfOrder { version } => Some(version.clone()),
        Anomaly::Source(crate::source::Problem::DuplicateVersion { version, .. }) => Some(version.clone()),
        Anomaly::Source(_) => None,
    };
    serde_json::json!({ "kind": a.kind(), "version": version, "message": a.message(), "hint": a.hint() })
}
