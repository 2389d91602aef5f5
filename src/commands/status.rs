//! `cargo migrate status`: every migration, applied or pending, then anything
//! odd with what to do about it. Reads only; takes no lock.

use std::fmt::Write as _;

use colored::Colorize;

use super::{pending, state, Context, Database};
use crate::cli::StatusArgs;
use crate::error::{exit, Result};
use crate::output::Format;
use crate::output::{
    self, display_path, escape, json_path, AnomalyJson, OtherHistoryJson, SkippedJson, StatusOutput, StatusRow,
    StatusState, Summary,
};
mod anomalies;
mod listing;

use crate::source::Problem;
use crate::url;
use crate::version::{self, Version};
use anomalies::Anomaly;
use listing::{Row, RowState};

/// What status reads and finds of one database.
struct Survey {
    source: crate::source::Source,
    url: String,
    url_origin: String,
    history: crate::db::History,
    others: Vec<super::adopt::Takeover>,
    plan_state: crate::plan::State,
    running: Option<String>,
    anomalies: Vec<Anomaly>,
    /// Batched backfills not finished yet: (version, relation, key reached, last key, batches).
    backfills: Vec<(String, String, i64, i64, i64)>,
}

fn survey(ctx: &Context, db: &crate::cli::DbOpts) -> Result<Survey> {
    // Facts (batch, who, the stored down.sql) are shown in both formats.
    let (mut source, db) = ctx.read_both(db, "status", true)?;
    let Database { url, origin: url_origin, history, mut conn } = db;
    let history = super::squash::as_recorded(&source, history, &ctx.reporter);
    let others = super::adopt::takeovers(&mut conn, &source, &history, ctx.settings.ledger())?;
    source.check_runnable(pending(&source, &history));
    let plan_state = state(&source, &history);
    // A migration outside a transaction that looks stopped part-way may be
    // running right now: the lock's holder says (asked only then).
    let running = if history.partial.is_empty() { None } else { crate::db::lock::held_by(&mut conn) };
    let mut anomalies = anomalies::anomalies(&plan_state, &source.problems);
    if running.is_some() {
        anomalies.retain(|a| !matches!(a, Anomaly::PartlyApplied { .. }));
    }
    // Asked only where a backfill ever ran: no failing query (an ERROR in the server's log) on every status.
    let backfills = if history.has_backfill_table { crate::db::backfill::unfinished(&mut conn) } else { Vec::new() };
    Ok(Survey { source, url, url_origin, history, others, plan_state, running, anomalies, backfills })
}

/// A fleet's row: counts only, and `pending` when `--exit-code` would say so.
fn fleet_row(ctx: &Context, db: &crate::cli::DbOpts) -> Result<super::fleet::Done> {
    let s = survey(ctx, db)?;
    let rows = listing::listing(&s.source.migrations, &s.history.applied, &s.history.partial);
    let pending = rows.iter().filter(|r| matches!(r.state, RowState::Pending | RowState::Partly { .. })).count();
    let odd = !s.anomalies.is_empty() || s.others.iter().any(|t| t.blocks());
    Ok(super::fleet::Done {
        state: if pending > 0 || odd {
            output::fleet::FleetState::Pending
        } else {
            output::fleet::FleetState::UpToDate
        },
        steps: Vec::new(),
        applied: Some(s.history.applied.len()),
        pending: Some(pending),
        problems: s.anomalies.len() + s.others.iter().filter(|t| t.blocks()).count(),
    })
}

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<u8> {
    if args.fleet.given() {
        return super::fleet::run(ctx, &args.fleet, &args.db, "status", args.exit_code, &fleet_row);
    }
    let json = ctx.reporter.format == Format::Json;
    let Survey { source, url, url_origin, history, others, plan_state, running, anomalies, backfills } =
        survey(ctx, &args.db)?;
    let rows = listing::listing(&source.migrations, &history.applied, &history.partial);
    let pending = rows.iter().filter(|r| matches!(r.state, RowState::Pending | RowState::Partly { .. })).count();
    // Sorted, as `migrations` is.
    let up_only: Vec<&str> = source.migrations.iter().filter(|m| m.is_up_only()).map(|m| m.version.as_str()).collect();
    let r = &ctx.reporter;

    if json {
        r.json(&StatusOutput {
            ok: true,
            command: "status",
            migrations_dir: json_path(&source.dir),
            database: url::mask(&url),
            migrations: rows
                .iter()
                .map(|r| {
                    let row = row_json(r);
                    let running_by = running.clone().filter(|_| matches!(r.state, RowState::Partly { .. }));
                    StatusRow {
                        modified: plan_state.modified.iter().any(|(v, _, _)| v == r.version),
                        up_only: up_only.binary_search(&r.version).is_ok(),
                        state: if running_by.is_some() { StatusState::Running } else { row.state },
                        running_by,
                        ..row
                    }
                })
                .collect(),
            anomalies: anomalies.iter().map(anomaly_json).collect(),
            other_histories: others
                .iter()
                .map(|t| OtherHistoryJson {
                    tool: t.found.described().name,
                    table: t.found.qualified(),
                    entries: t.entries,
                    adopted: !t.blocks(),
                    not_recorded: t.not_recorded.clone(),
                })
                .collect(),
            skipped: source
                .skipped
                .iter()
                .map(|s| SkippedJson { entry: s.entry.clone(), reason: s.reason.name() })
                .collect(),
            summary: Summary { applied: history.applied.len(), pending, anomalies: anomalies.len() },
            backfills: backfills
                .iter()
                .map(|(version, relation, key_after, key_max, batches)| crate::output::BackfillJson {
                    version: version.as_str().into(),
                    relation: relation.clone(),
                    key_after: *key_after,
                    key_max: *key_max,
                    batches: *batches,
                })
                .collect(),
        });
    } else {
        // Built whole and written once: thousands of migrations, one write.
        let mut out = String::with_capacity(64 * (rows.len() + 8));
        let _ = writeln!(out, "{} {}  ({})", "Migrations".bold(), display_path(&source.dir), ctx.settings.dir_origin);
        let _ = writeln!(out, "{}   {}  (from {url_origin})", "Database".bold(), url::mask(&url));
        if !source.exists {
            out.push_str("  (the folder does not exist yet: `cargo migrate create <name>` makes it)\n");
        }
        if history.ledger == crate::db::history::Ledger::Supabase {
            let _ = writeln!(
                out,
                "{}    {} (Supabase layout: `supabase migration list` reads the same table)",
                "History".bold(),
                crate::db::history::SUPABASE_HISTORY
            );
        }
        for t in &others {
            let tool = super::adopt::label(&t.found);
            if t.unreadable {
                let _ = writeln!(
                    out,
                    "{}    {} {tool}: this role may not read it; `up` refuses until it can (or --ignore-other-history)",
                    "History".bold(),
                    "!".red().bold(),
                );
            } else if t.blocks() {
                let _ = writeln!(
                    out,
                    "{}    {} {tool}, {} entries, not adopted: `up` refuses until `cargo migrate adopt --from {}` records them",
                    "History".bold(),
                    "!".red().bold(),
                    t.entries,
                    t.found.described().name
                );
            } else {
                let _ = writeln!(
                    out,
                    "{}    {tool}, {} entries, adopted (left as it is; `cargo migrate adopt --retire` moves it away)",
                    "History".bold(),
                    t.entries
                );
            }
        }
        for (version, relation, after, max, batches) in &backfills {
            let share = if *max > 0 { (*after).max(0) as f64 / *max as f64 * 100.0 } else { 100.0 };
            let _ = writeln!(
                out,
                "{}   {version} on {}: {batches} batch(es) done, every key up to {after} of {max} ({share:.0} %); \
                 `cargo migrate up --resume` goes on from there",
                "Backfill".bold(),
                crate::output::escape(relation)
            );
        }
        if history.has_companion && !history.companion_readable {
            out.push_str("  (this role may not read cargo_migrate.*: batch, duration and progress are not shown)\n");
        }
        out.push('\n');
        let modified: Vec<&str> = plan_state.modified.iter().map(|(v, _, _)| v.as_str()).collect();
        listing(&mut out, &rows, &modified, &up_only, running.is_some());
        if rows.is_empty() {
            out.push_str("  (no migrations)\n");
        }
        let problems = if anomalies.is_empty() { String::new() } else { format!(", {} problem(s)", anomalies.len()) };
        let _ = writeln!(out, "\n{} applied, {pending} pending{problems}", history.applied.len());
        if let Some(holder) = &running {
            let _ = writeln!(
                out,
                "  {} a run is applying it right now, holding the migration lock: {holder}; \
                 `cargo migrate status` again once it has finished",
                "…".yellow().bold()
            );
        }
        for a in &anomalies {
            let _ = writeln!(out, "  {} {}\n    {} {}", "!".red().bold(), a.message(), "hint:".cyan(), a.hint());
        }
        r.result(out.trim_end());
    }
    let code = if args.exit_code && (pending > 0 || !anomalies.is_empty() || others.iter().any(|t| t.blocks())) {
        exit::PENDING
    } else {
        exit::OK
    };
    // Not freed: the process ends now, and freeing thousands of rows one by
    // one was a tenth of what `status` does after the database answered.
    std::mem::forget(rows);
    std::mem::forget((source, history, plan_state));
    Ok(code)
}

/// One line per migration, appended to `out`. Colour codes are made once and
/// nothing is allocated per row: status lists thousands.
fn listing(out: &mut String, rows: &[Row<'_>], modified: &[&str], up_only: &[&str], running: bool) {
    let (applied, pending, missing, partly) = (
        format!("  {} ", "applied".green()),
        format!("  {} ", "pending".yellow()),
        format!("  {} ", "missing".red()),
        format!("  {} ", "partly ".red().bold()),
    );
    let (dim, undim) = dim_codes();
    for row in rows {
        out.push_str(match row.state {
            RowState::Applied => &applied,
            RowState::Missing => &missing,
            RowState::Partly { .. } => &partly,
            RowState::Pending => &pending,
        });
        out.push_str(&escape(row.name));
        if let Some(a) = row.applied {
            out.push_str("  ");
            out.push_str(&dim);
            if let Some(run_on) = a.run_on {
                version::push_pg_timestamp(out, run_on);
            }
            out.push_str(&undim);
            match row.state {
                RowState::Missing if a.stored_down => out.push_str("  (file missing — revertible)"),
                RowState::Missing => out.push_str("  (no folder on disk)"),
                _ => {}
            }
            if let Some(batch) = a.batch {
                let _ = write!(out, "  {dim}batch {batch}{undim}");
            }
        }
        if modified.binary_search(&row.version).is_ok() {
            out.push_str("  (modified since it was applied)");
        }
        if up_only.binary_search(&row.version).is_ok() {
            out.push_str("  (up-only: cannot be reverted)");
        }
        match row.state {
            RowState::Partly { done, total } if running => {
                let _ = write!(
                    out,
                    "  (running now: {} of {total} ran so far; see below)",
                    output::ran(done.max(0) as usize)
                );
            }
            RowState::Partly { done, total } => {
                let _ =
                    write!(out, "  (partly applied: {} of {total} ran; see below)", output::ran(done.max(0) as usize));
            }
            _ => {}
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

fn row_json(row: &Row<'_>) -> StatusRow {
    let a = row.applied;
    let (done, total) = match row.state {
        RowState::Partly { done, total } => (Some(done), Some(total)),
        _ => (None, None),
    };
    StatusRow {
        version: row.version.into(),
        name: row.name.to_string(),
        state: match row.state {
            RowState::Applied => StatusState::Applied,
            RowState::Pending => StatusState::Pending,
            RowState::Missing => StatusState::Missing,
            RowState::Partly { .. } => StatusState::PartlyApplied,
        },
        applied_at: a.and_then(|a| a.run_on).map(version::format_pg_timestamp),
        batch: a.and_then(|a| a.batch),
        applied_by: a.and_then(|a| a.applied_by.clone()),
        duration_ms: a.and_then(|a| a.duration_ms),
        statements_done: done,
        statements_total: total,
        modified: false,
        up_only: false,
        running_by: None,
    }
}

fn anomaly_json(a: &Anomaly) -> AnomalyJson {
    let version = match a {
        Anomaly::MissingOnDisk { version, .. }
        | Anomaly::OutOfOrder { version }
        | Anomaly::PartlyApplied { version, .. }
        | Anomaly::Modified { version, .. }
        | Anomaly::Source(Problem::DuplicateVersion { version, .. }) => Some(version.clone()),
        Anomaly::Source(_) => None,
    };
    AnomalyJson { kind: a.kind(), version: version.map(Version::from), message: a.message(), hint: a.hint() }
}
