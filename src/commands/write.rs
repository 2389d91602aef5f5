//! The write path `up`, `down` and `redo` share: plan, guard, lock, back up,
//! run (or show what would run), and the output of a run.

use super::confirm::confirm;
use std::io::IsTerminal;

use super::{pending, state, Context, Database, Target};
use crate::cli::{DbOpts, LockOpts};
use crate::db::{self, history, Conn, History};
use crate::error::{Error, Kind, Result};
use crate::output::{self, Reporter, RunOutput, StepJson};
use crate::plan::{self, Request};
use crate::runner::{self, StepReport};
use crate::source::Source;
use crate::url;

/// What a write command did (or, with `--dry-run`, would do).
pub struct Written {
    pub done: Vec<StepReport>,
    pub history: History,
    pub source: Source,
    pub database: String,
    /// `user@host:port/db`.
    pub target: String,
    /// `--dry-run`: the set-up SQL (when tables are missing) and each step's texts.
    pub planned: Option<(String, Vec<runner::Planned>)>,
    /// `--backup`: the dump written before anything ran.
    pub backup: Option<std::path::PathBuf>,
    /// `up` that applied something: the database advisor's findings after it.
    pub advice: Option<std::result::Result<Vec<db::advisor::Finding>, String>>,
}

/// "Always backup first!": pg_dump into a file only the user can
/// read, outside the migrations folder; the run stops if it fails.
fn back_up(ctx: &Context, conn: &mut Conn, db: &Target, dir: Option<&std::path::Path>) -> Result<std::path::PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let dir = match dir {
        Some(d) => cwd.join(d),
        None => ctx.settings.project.target_dir.join("cargo-migrate").join("backups"),
    };
    let migrations = std::fs::canonicalize(&ctx.settings.migrations_dir).unwrap_or(ctx.settings.migrations_dir.clone());
    let resolved = std::fs::canonicalize(&dir).unwrap_or(dir.clone());
    if resolved.starts_with(&migrations) {
        return Err(Error::new(
            Kind::Backup { inside_migrations: true },
            format!("{} is inside the migrations folder; nothing was run", output::display_path(&dir)),
        )
        .hint("backups must not be committed with the migrations: give --backup-dir another folder"));
    }
    let pg_dump = super::dump::pg_dump_for(ctx, conn, &db.programs)?;
    let parsed = db::connect::parse(&db.url)?;
    let stamp = crate::version::format_timestamp(jiff::Timestamp::now().as_second());
    let dump = db::backup::dump(&parsed, &pg_dump, &dir, &stamp)?;
    ctx.reporter.line(format!(
        "backed up to {} ({:.1} MiB, readable by you only; pg_restore reads it) with {}",
        output::display_path(&dump.path),
        dump.bytes as f64 / 1048576.0,
        output::display_path(&dump.pg_dump)
    ));
    Ok(dump.path)
}

/// `--dry-run`'s report: the SQL, in order, as it would be sent.
pub fn print_dry_run(ctx: &Context, command: &'static str, out: &Written) {
    let Some((setup, planned)) = &out.planned else { return };
    let r = &ctx.reporter;
    if r.human() {
        let mut text = format!(
            "-- dry run: nothing was changed. `cargo migrate {command}` would send this to {}, in this order:\n",
            out.target
        );
        if planned.is_empty() {
            text.push_str("-- nothing: there is no migration to run\n");
        } else {
            text.push_str(&format!("\n-- make sure of the bookkeeping tables\n{setup}\n"));
        }
        for p in planned {
            let verb = match p.action {
                crate::error::Action::Applied => "apply",
                crate::error::Action::Reverted => "revert",
            };
            text.push_str(&format!("\n-- {verb} {}\n", p.name));
            // One text per round trip; `;` ends each, as in a script.
            for t in &p.texts {
                let t = t.trim_end();
                text.push_str(t);
                text.push_str(if t.ends_with(';') { "\n" } else { ";\n" });
            }
        }
        r.result(output::clean(&text));
    }
    r.json(&output::DryRunOutput {
        ok: true,
        command,
        dry_run: true,
        database: out.database.clone(),
        setup: (!planned.is_empty()).then(|| setup.clone()),
        steps: planned
            .iter()
            .map(|p| output::DryRunStep {
                version: p.version.as_str().into(),
                name: p.name.clone(),
                action: p.action,
                sql: p.texts.clone(),
            })
            .collect(),
    });
}

/// How a write command runs.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub single_transaction: bool,
    /// Reverting on a database that is not local needs no confirmation.
    pub yes: bool,
    /// Show what would be sent; change nothing.
    pub dry_run: bool,
    /// Back up with pg_dump first, into this folder (or the default one).
    pub backup: Option<Option<std::path::PathBuf>>,
    /// Static checks before applying (errors stop the run), the advisor after.
    pub lint: bool,
    /// `up --ignore-other-history`: run though another tool's history was never adopted.
    pub ignore_other_history: bool,
    /// `--durable-each`: every migration's commit waits for the disk, not only the run's last.
    pub durable_each: bool,
    /// Whether to rewrite the schema file after a change.
    pub schema: crate::cli::SchemaOpts,
    /// `up --from-schema`: on an empty database, load the schema file first.
    pub from_schema: bool,
}

/// The write path every changing command shares: read the folder and the
/// history, refuse a folder diesel would misread, plan; if there is work,
/// take the lock on the connection that will run it, plan again under it, run.
pub fn migrate(
    ctx: &Context,
    db_opts: &DbOpts,
    lock_opts: &LockOpts,
    request: &Request,
    flags: Flags,
) -> Result<Written> {
    let Flags {
        single_transaction,
        yes,
        dry_run,
        backup,
        lint,
        ignore_other_history,
        durable_each,
        schema,
        from_schema,
    } = flags;
    // diesel.toml's [print_schema] is read before anything runs: a mistake there stops nothing half-way.
    ctx.settings.print_schema()?;
    // Reverting on a database that is not on this machine is asked about on a
    // terminal; in a script, it needs --yes, and that is known before connecting.
    let reverts = !matches!(request, Request::Up { .. }) && !dry_run;
    let db = ctx.target(db_opts)?;
    let remote = db.remote.as_deref();
    let ask = reverts && !yes && remote.is_some();
    if ask && !std::io::stdin().is_terminal() {
        return Err(Error::new(
            Kind::ConfirmationNeeded,
            format!(
                "this would revert migrations on {}, which is not a local database, and there is no terminal to ask; nothing was run",
                remote.unwrap_or_default()
            ),
        )
        .hint("run it on a terminal to confirm, or pass --yes (-y) when a script means it"));
    }
    // A read without the lock first: the deploy that finds nothing to do (the
    // common case) needs no lock. Anything to do is planned again under it.
    // With the facts: checksums (was an applied file modified?), batches, and
    // which down.sql the database keeps.
    let (mut source, Database { url, mut conn, mut history, .. }) = ctx.read_both_at(&db, "run", true)?;
    // Never a re-run: what another tool applied is adopted before `up` runs anything.
    if matches!(request, Request::Up { .. }) && !ignore_other_history {
        super::adopt::refuse_unadopted(&super::adopt::takeovers(&mut conn, &source, &history, ctx.settings.ledger())?)?;
    }
    if from_schema {
        ctx.lock(&mut conn, lock_opts)?;
        history = super::dump::load_schema_file(ctx, &mut conn, &history)?;
    }
    // A database that applied every migration a baseline replaces records the baseline.
    if matches!(request, Request::Up { .. }) && !dry_run {
        history = super::squash::reconcile(ctx, &mut conn, &source, history, lock_opts)?;
    }
    source.check_runnable(pending(&source, &history));
    plan::check_source(&source.problems)?;
    // Without the lock, another run may be half-way through a migration
    // outside a transaction, which then looks partly applied: only the plan
    // made under the lock may refuse for that.
    let mut steps = match plan::plan(&state(&source, &history), request) {
        Err(e) if matches!(e.kind, Kind::PartlyApplied { .. }) && !dry_run => None,
        planned => Some(planned?),
    };
    let target = url::target_of(&url);
    if dry_run {
        let steps = steps.unwrap_or_default();
        // What `up` would refuse is not what it would send.
        if lint {
            super::lint::before_run(ctx, &source, &steps)?;
        }
        let options = runner::Options { durable_each, ..ctx.run_options(single_transaction, lock_opts) };
        let planned = runner::dry_run(&mut conn, &steps, &source, &history, &options)?;
        return Ok(Written {
            done: Vec::new(),
            history,
            source,
            database: url::mask(&url),
            target,
            planned: Some(planned),
            backup: None,
            advice: None,
        });
    }
    let mut done = Vec::new();
    let mut made = None;
    if steps.as_ref().is_none_or(|s| !s.is_empty()) {
        let r = &ctx.reporter;
        ctx.lock(&mut conn, lock_opts)?;
        history = history::read(&mut conn, true, ctx.settings.ledger())?;
        let steps = steps.insert(plan::plan(&state(&source, &history), request)?);
        if lint {
            super::lint::before_run(ctx, &source, steps)?;
        }
        if !steps.is_empty() {
            let (applies, reverts) = steps.iter().fold((0, 0), |(a, d), s| match s {
                plan::Step::Revert(_) => (a, d + 1),
                _ => (a + 1, d),
            });
            let what = match (applies, reverts) {
                (a, 0) => format!("applying {a} migration(s)"),
                (0, d) => format!("reverting {d} migration(s)"),
                (a, d) => format!("reverting {d} and applying {a} migration(s)"),
            };
            r.line(format!("{target}: {what}"));
            if ask {
                confirm(r, &format!("{what} on {target}, which is not a local database"))?;
            }
            if let Some(dir) = &backup {
                made = Some(back_up(ctx, &mut conn, &db, dir.as_deref())?);
            }
            // On a terminal, the progress line; gone (dropped) before anything else is printed.
            let progress = output::progress::Progress::start(r, steps.len());
            let watch = progress.clone().map(|p| p as std::sync::Arc<dyn runner::Watch>);
            let options = runner::Options { durable_each, watch, ..ctx.run_options(single_transaction, lock_opts) };
            let reconnect = || ctx.open(&db, "check").map(|c| Box::new(c) as Box<dyn db::Session>);
            let done_or_error =
                runner::run(&mut conn, &reconnect, steps, &source, &history, &options, &mut |step| print_step(r, step))
                    .map_err(|e| ctx.explained(e));
            drop(progress);
            done = done_or_error?;
        }
    }
    // pg_dump of the schema file runs while the advisor reads on this connection.
    let keeping = if done.is_empty() { None } else { super::keep_schema::start(ctx, &db, &mut conn, &schema) };
    let advice = (lint && !done.is_empty() && matches!(request, Request::Up { .. }))
        .then(|| super::lint::advise(ctx, &mut conn));
    if backup.is_some() && made.is_none() {
        ctx.reporter.note("nothing to apply, so no backup was made");
    }
    if let Some(keeping) = keeping {
        keeping.finish(ctx, &mut conn);
    }
    super::print_schema::after_change(ctx, &mut conn)?;
    Ok(Written { done, history, source, database: url::mask(&url), target, planned: None, backup: made, advice })
}

fn print_step(r: &Reporter, step: &StepReport) {
    use colored::Colorize;
    let verb = match step.action {
        crate::error::Action::Applied => "applied ".green(),
        crate::error::Action::Reverted => "reverted".yellow(),
    };
    let kept = if step.from_stored_down { "  (with the down.sql stored when it was applied)" } else { "" };
    r.line(format!("  {verb} {}  {}{kept}", output::escape(&step.name), output::ms(step.duration)));
    r.notices(&step.notices);
}

/// The `--format json` document of a write command.
pub fn run_output(command: &'static str, out: &Written) -> RunOutput {
    RunOutput {
        ok: true,
        command,
        database: out.database.clone(),
        migrations_dir: output::json_path(&out.source.dir),
        backup: out.backup.as_deref().map(output::json_path),
        migrations: out
            .done
            .iter()
            .map(|d| StepJson {
                version: d.version.as_str().into(),
                name: d.name.clone(),
                action: d.action,
                duration_ms: d.duration.as_millis() as u64,
                notices: d.notices.clone(),
                from_stored_down: d.from_stored_down,
            })
            .collect(),
    }
}
