//! `cargo migrate status`: every migration, applied or pending, then anything
//! odd with what to do about it. Reads only; takes no lock.

use std::fmt::Write as _;

use colored::Colorize;

use super::{pending, state, Context, Database};
use crate::cli::{Format, StatusArgs};
use crate::connection::mask;
use crate::error::{exit, Result};
use crate::history::{self, Applied};
use crate::plan::{self, Anomaly};
use crate::report::display_path;

/// One line of the listing: disk and database merged, in version order.
struct Row<'a> {
    version: &'a str,
    name: &'a str,
    state: &'static str,
    applied: Option<&'a Applied>,
}

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<u8> {
    // Facts are shown in JSON, and name the rows whose folder is gone.
    let (mut source, db) = ctx.read_both("status", ctx.reporter.format == Format::Json)?;
    let Database { url, origin: url_origin, mut conn, mut history } = db;
    if ctx.reporter.format != Format::Json && history.applied.iter().any(|a| source.find(&a.version).is_none()) {
        history = history::read(&mut conn, true)?;
    }
    source.check_runnable(pending(&source, &history));
    let anomalies = plan::anomalies(&state(&source, &history), &source.problems);
    let rows = merge(&source.migrations, &history.applied);
    let pending = rows.iter().filter(|r| r.state == "pending").count();
    let r = &ctx.reporter;

    if r.format == Format::Json {
        r.json(&serde_json::json!({
            "ok": true,
            "command": "status",
            "migrations_dir": source.dir,
            "database": mask(&url),
            "migrations": rows.iter().map(row_json).collect::<Vec<_>>(),
            "anomalies": anomalies.iter().map(anomaly_json).collect::<Vec<_>>(),
            "summary": { "applied": history.applied.len(), "pending": pending, "anomalies": anomalies.len() },
        }));
    } else {
        // Built whole and written once: thousands of migrations, one write.
        let mut out = String::with_capacity(64 * (rows.len() + 8));
        let _ = writeln!(out, "{} {}  ({})", "Migrations".bold(), display_path(&source.dir), ctx.settings.dir_origin);
        let _ = writeln!(out, "{}   {}  (from {url_origin})", "Database".bold(), mask(&url));
        if !source.exists {
            out.push_str("  (the folder does not exist yet: `cargo migrate create <name>` makes it)\n");
        }
        out.push('\n');
        listing(&mut out, &rows);
        if rows.is_empty() {
            out.push_str("  (no migrations)\n");
        }
        let problems = if anomalies.is_empty() { String::new() } else { format!(", {} problem(s)", anomalies.len()) };
        let _ = writeln!(out, "\n{} applied, {pending} pending{problems}", history.applied.len());
        for a in &anomalies {
            let _ = writeln!(out, "  {} {}\n    {} {}", "!".red().bold(), a.message(), "hint:".cyan(), a.hint());
        }
        r.result(out.trim_end());
    }
    if args.exit_code && (pending > 0 || !anomalies.is_empty()) {
        return Ok(exit::PENDING);
    }
    Ok(exit::OK)
}

/// One line per migration, appended to `out`. Colour codes are made once and
/// nothing is allocated per row: status lists thousands.
fn listing(out: &mut String, rows: &[Row<'_>]) {
    let (applied, pending, missing) =
        (format!("  {} ", "applied".green()), format!("  {} ", "pending".yellow()), format!("  {} ", "missing".red()));
    let (dim, undim) = dim_codes();
    for row in rows {
        out.push_str(match row.state {
            "applied" => &applied,
            "missing" => &missing,
            _ => &pending,
        });
        out.push_str(row.name);
        if let Some(a) = row.applied {
            out.push_str("  ");
            out.push_str(&dim);
            crate::names::push_pg_timestamp(out, a.run_on);
            out.push_str(&undim);
            if row.state == "missing" {
                out.push_str("  (no folder on disk)");
            }
        }
        out.push('\n');
    }
}

/// The escape codes around dimmed text (empty when colour is off).
fn dim_codes() -> (String, String) {
    let sample = "x".dimmed().to_string();
    match sample.split_once('x') {
        Some((before, after)) => (before.to_string(), after.to_string()),
        None => (String::new(), String::new()),
    }
}

/// Both lists are sorted by version; a duplicate version on disk shares its applied row.
fn merge<'a>(disk: &'a [crate::source::Migration], applied: &'a [Applied]) -> Vec<Row<'a>> {
    let mut rows = Vec::with_capacity(disk.len().max(applied.len()));
    let (mut i, mut j) = (0, 0);
    while i < disk.len() || j < applied.len() {
        match (disk.get(i), applied.get(j)) {
            (Some(d), a) if a.is_none_or(|a| d.version <= a.version) => {
                let a = a.filter(|a| a.version == d.version);
                rows.push(Row {
                    version: &d.version,
                    name: &d.name,
                    state: if a.is_some() { "applied" } else { "pending" },
                    applied: a,
                });
                if a.is_some() && disk.get(i + 1).is_none_or(|n| n.version != d.version) {
                    j += 1;
                }
                i += 1;
            }
            (_, Some(a)) => {
                let name = a.name.as_deref().unwrap_or(&a.version);
                rows.push(Row { version: &a.version, name, state: "missing", applied: Some(a) });
                j += 1;
            }
            _ => break,
        }
    }
    rows
}

fn row_json(row: &Row<'_>) -> serde_json::Value {
    let a = row.applied;
    serde_json::json!({
        "version": row.version,
        "name": row.name,
        "state": row.state,
        "applied_at": a.map(|a| a.run_on_text()),
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
