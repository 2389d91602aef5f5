//! `--targets FILE` / `--group NAME`: one command on many databases. Each
//! target runs exactly as a single run of the command would (its own
//! connection, its own migration lock, a transaction per migration: the same
//! code, called per target with the target's URL); at most `--jobs` at once,
//! on threads. A failed target does not stop the others (`--fail-fast` stops
//! starting new ones); the run then exits 1 and a second run does only what
//! is left. A terminal shows a live table; elsewhere a line per finished
//! target; `--format json` one document with every target.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use colored::Colorize;

use super::Context;
use crate::cli::{DbOpts, FleetOpts};
use crate::db;
use crate::error::{exit, Action, DoneStep, Error, Kind, Result};
use crate::output::fleet::{FleetOutput, FleetState, FleetSummary, FleetTarget};
use crate::output::{self, ErrorJson};
use crate::targets::{self, Target};
use crate::url;

/// What the command did on one target.
pub struct Done {
    pub state: FleetState,
    pub steps: Vec<DoneStep>,
    pub applied: Option<usize>,
    pub pending: Option<usize>,
    pub problems: usize,
}

/// The command, run on one target: its context (quiet) and its database flags.
pub type Job<'a> = dyn Fn(&Context, &DbOpts) -> Result<Done> + Sync + 'a;

/// A target's row from what `up` or `down` did there.
pub fn written(out: super::Written) -> Result<Done> {
    let before = out.history.applied.len();
    let pending_before = super::pending(&out.source, &out.history).len();
    if let Some((_, planned)) = &out.planned {
        let state = if planned.is_empty() { FleetState::UpToDate } else { FleetState::Planned };
        return Ok(Done {
            state,
            steps: Vec::new(),
            applied: Some(before),
            pending: Some(pending_before),
            problems: 0,
        });
    }
    let applied = out.done.iter().filter(|d| d.action == Action::Applied).count();
    let reverted = out.done.len() - applied;
    let state = match (applied, reverted) {
        (0, 0) => FleetState::UpToDate,
        (_, 0) => FleetState::Applied,
        _ => FleetState::Reverted,
    };
    let steps = out
        .done
        .iter()
        .map(|d| DoneStep {
            version: d.version.as_str().into(),
            name: d.name.clone(),
            action: d.action,
            duration_ms: d.duration.as_millis() as u64,
        })
        .collect();
    Ok(Done {
        state,
        steps,
        applied: Some(before + applied - reverted),
        pending: Some(pending_before + reverted - applied),
        problems: 0,
    })
}

/// One target's outcome.
struct Outcome {
    result: Result<Done>,
    duration: Duration,
}

/// Run `job` on every target; `pending_exit`: `status --exit-code`, which
/// exits 3 when a target has something pending.
pub fn run(
    ctx: &Context,
    fleet: &FleetOpts,
    db: &DbOpts,
    command: &'static str,
    pending_exit: bool,
    job: &Job<'_>,
) -> Result<u8> {
    let targets = resolve(ctx, fleet)?;
    let jobs = jobs(fleet, &targets, db);
    let started = Instant::now();
    let mut outcomes: Vec<Option<Outcome>> = (0..targets.len()).map(|_| None).collect();
    let mut table = Table::new(ctx, &targets, jobs);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Option<Outcome>)>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, stop, targets) = (&next, &stop, &targets);
            scope.spawn(move || loop {
                if fleet.fail_fast && stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(target) = targets.get(i) else { break };
                let _ = tx.send((i, None));
                let t0 = Instant::now();
                let result = one(ctx, target, db, job);
                if result.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                let _ = tx.send((i, Some(Outcome { result, duration: t0.elapsed() })));
            });
        }
        drop(tx);
        for (i, event) in rx {
            match event {
                None => table.started(i),
                Some(outcome) => {
                    table.finished(i, &outcome);
                    outcomes[i] = Some(outcome);
                }
            }
        }
    });
    table.clear();
    report(ctx, &targets, &outcomes, jobs, command, started.elapsed(), pending_exit)
}

/// One target, as a single run: a context of its own that prints nothing,
/// and the target's URL as `--database-url` (never the local database).
fn one(ctx: &Context, target: &Target, db: &DbOpts, job: &Job<'_>) -> Result<Done> {
    let tctx = ctx.for_target();
    let mut opts = db.clone();
    opts.database_url = Some(target.url.clone());
    opts.no_local = true;
    opts.local = false;
    job(&tctx, &opts)
}

/// The targets of `--targets FILE` or `--group NAME`, their passwords
/// registered for masking before anything is printed.
fn resolve(ctx: &Context, fleet: &FleetOpts) -> Result<Vec<Target>> {
    let env = |k: &str| ctx.settings.env.get(k).map(|(v, _)| v).or_else(|| std::env::var(k).ok());
    let targets = match (&fleet.targets, &fleet.group) {
        (Some(file), _) => {
            let path = std::env::current_dir().unwrap_or_default().join(file);
            read_file(&path, &env)?
        }
        (None, Some(group)) => group_targets(ctx, group, &env)?,
        (None, None) => return Err(Error::new(Kind::Internal, "a fleet run without targets")),
    };
    for t in &targets {
        for secret in url::secrets(&t.url) {
            output::add_secret(&secret);
        }
    }
    for t in &targets {
        super::url_check::validate(&t.url).map_err(|e| {
            let message = format!("target {}: {}", t.name, e.message);
            Error::new(Kind::BadTargets, message).hint(e.hint.clone().unwrap_or_default())
        })?;
    }
    Ok(targets)
}

fn read_file(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Target>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(Kind::BadTargets, format!("cannot read the targets file {}: {e}; nothing was run", path.display()))
            .hint("give --targets a file of one postgres:// URL (or name=URL) a line")
    })?;
    targets::parse(&text, &output::display_path(path), env)
}

/// `[package.metadata.migrate.targets]` (else the workspace's): each group an
/// array of targets, or the path of a targets file.
fn group_targets(ctx: &Context, group: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Target>> {
    let p = &ctx.settings.project;
    let places = [(p.package_dir.as_path(), "package"), (p.workspace_root.as_path(), "workspace")];
    let mut known: Vec<String> = Vec::new();
    for (dir, key) in places {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let Ok(table) = text.parse::<toml::Table>() else { continue };
        let section = format!("[{key}.metadata.migrate.targets]");
        let Some(groups) = table
            .get(key)
            .and_then(|v| v.get("metadata"))
            .and_then(|v| v.get("migrate"))
            .and_then(|v| v.get("targets"))
        else {
            continue;
        };
        let Some(groups) = groups.as_table() else {
            return Err(Error::new(Kind::BadTargets, format!("{section} in {} must be a table", manifest.display())));
        };
        known.extend(groups.keys().cloned());
        let Some(value) = groups.get(group) else { continue };
        let origin = format!("{section} {group}");
        return match value {
            toml::Value::String(file) => read_file(&dir.join(file), env),
            toml::Value::Array(items) => {
                let entries: Option<Vec<String>> = items.iter().map(|v| v.as_str().map(str::to_string)).collect();
                let entries = entries.ok_or_else(|| {
                    Error::new(Kind::BadTargets, format!("{origin}: every entry must be a string (a URL or name=URL)"))
                })?;
                targets::from_entries(&entries, &origin, env)
            }
            _ => Err(Error::new(Kind::BadTargets, format!("{origin} must be an array of targets or a file's path"))
                .hint(format!("write `{group} = [\"eu1=postgres://…\"]` or `{group} = \"targets/{group}.txt\"`"))),
        };
    }
    let hint = if known.is_empty() {
        "define it in Cargo.toml: [package.metadata.migrate.targets] NAME = [\"postgres://…\", …]".to_string()
    } else {
        format!("groups defined: {}", known.join(", "))
    };
    Err(Error::new(Kind::BadTargets, format!("no target group `{group}`; nothing was run")).hint(hint))
}

/// `--jobs`, else from the targets, this machine and the servers' free connections.
fn jobs(fleet: &FleetOpts, targets: &[Target], db: &DbOpts) -> usize {
    if let Some(j) = fleet.jobs {
        return (j as usize).min(targets.len()).max(1);
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // One probe per server (host and port), on its first target; one that
    // cannot be reached says nothing here (its targets fail on their own).
    let mut servers: Vec<(String, Option<u16>)> = Vec::new();
    let mut free: Option<usize> = None;
    for t in targets {
        let Ok(parsed) = url::parse_any(&t.url) else { continue };
        let server = (parsed.host.clone(), parsed.port);
        if servers.contains(&server) {
            continue;
        }
        servers.push(server);
        let timeout = db.connect_timeout.min(5);
        if let Ok(mut conn) = db::connect(&t.url, timeout, "fleet", &db::Hints::default()) {
            if let Ok(n) = db::server::free_connections(&mut conn) {
                free = Some(free.map_or(n, |f: usize| f.min(n)));
            }
        }
    }
    targets::default_jobs(targets::Limits { targets: targets.len(), cores, free_connections: free })
}

/// The live table on a terminal; a line per finished target elsewhere; nothing for JSON.
enum Table {
    Live {
        multi: indicatif::MultiProgress,
        total: indicatif::ProgressBar,
        rows: Vec<Option<indicatif::ProgressBar>>,
        names: Vec<String>,
        failed: usize,
    },
    Lines {
        names: Vec<String>,
    },
    Silent,
}

impl Table {
    fn new(ctx: &Context, targets: &[Target], jobs: usize) -> Table {
        let r = &ctx.reporter;
        let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        if !r.human() || r.quiet {
            return Table::Silent;
        }
        r.line(format!("{} target(s), {jobs} at a time", targets.len()));
        if !std::io::stdout().is_terminal() {
            return Table::Lines { names };
        }
        let multi = indicatif::MultiProgress::new();
        let total = multi.add(indicatif::ProgressBar::new(targets.len() as u64));
        total.set_style(
            indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} done  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        total.enable_steady_tick(Duration::from_millis(200));
        let rows = (0..targets.len()).map(|_| None).collect();
        Table::Live { multi, total, rows, names, failed: 0 }
    }

    fn started(&mut self, i: usize) {
        if let Table::Live { multi, total, rows, names, failed } = self {
            let row = multi.insert_before(total, indicatif::ProgressBar::new_spinner());
            row.set_style(
                indicatif::ProgressStyle::with_template("  {spinner} running     {msg}  {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            row.set_message(output::redact(&names[i]).to_string());
            row.enable_steady_tick(Duration::from_millis(120));
            rows[i] = Some(row);
            let running = rows.iter().filter(|r| r.is_some()).count();
            let pending = total.length().unwrap_or(0) as usize - total.position() as usize - running;
            total.set_message(format!("{running} running, {pending} pending, {failed} failed"));
        }
    }

    fn finished(&mut self, i: usize, outcome: &Outcome) {
        match self {
            Table::Live { multi, total, rows, names, failed } => {
                if let Some(row) = rows[i].take() {
                    row.finish_and_clear();
                    multi.remove(&row);
                }
                *failed += usize::from(outcome.result.is_err());
                let _ = multi.println(output::redact(&row_text(&names[i], outcome)));
                total.inc(1);
                let running = rows.iter().filter(|r| r.is_some()).count();
                let pending = total.length().unwrap_or(0) as usize - total.position() as usize - running;
                total.set_message(format!("{running} running, {pending} pending, {failed} failed"));
            }
            Table::Lines { names } => println!("{}", output::redact(&row_text(&names[i], outcome))),
            Table::Silent => {}
        }
    }

    fn clear(&mut self) {
        if let Table::Live { total, multi, .. } = self {
            total.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

/// `  applied     eu1  3 migration(s), 120 ms`
fn row_text(name: &str, o: &Outcome) -> String {
    let state = state_of(&o.result);
    let what = match &o.result {
        Ok(d) if !d.steps.is_empty() => format!("{} migration(s), {}", d.steps.len(), output::ms(o.duration)),
        Ok(d) if d.pending.is_some_and(|p| p > 0) => format!("{} pending", d.pending.unwrap_or(0)),
        Ok(_) => output::ms(o.duration),
        Err(e) => output::clean(e.message.lines().next().unwrap_or_default()).to_string(),
    };
    format!("  {} {}  {what}", state.label(), output::escape(name))
}

fn state_of(result: &Result<Done>) -> FleetState {
    match result {
        Ok(d) => d.state,
        Err(e) if matches!(e.kind, Kind::Connect) => FleetState::Unreachable,
        Err(_) => FleetState::Failed,
    }
}

fn report(
    ctx: &Context,
    targets: &[Target],
    outcomes: &[Option<Outcome>],
    jobs: usize,
    command: &'static str,
    elapsed: Duration,
    pending_exit: bool,
) -> Result<u8> {
    let r = &ctx.reporter;
    let states: Vec<FleetState> =
        outcomes.iter().map(|o| o.as_ref().map_or(FleetState::NotStarted, |o| state_of(&o.result))).collect();
    let count = |f: &dyn Fn(FleetState) -> bool| states.iter().filter(|s| f(**s)).count();
    let failed = count(&|s| s.failed());
    let not_started = count(&|s| s == FleetState::NotStarted);
    let pending = count(&|s| s == FleetState::Pending);
    let steps_of = |o: &Outcome| match &o.result {
        Ok(d) => d.steps.clone(),
        Err(e) => e.done_before.clone().unwrap_or_default(),
    };
    let steps: Vec<Vec<DoneStep>> = outcomes.iter().map(|o| o.as_ref().map(steps_of).unwrap_or_default()).collect();
    let migrations: usize = steps.iter().map(Vec::len).sum();
    let error = (failed + not_started > 0).then(|| {
        Error::new(
            Kind::FleetFailed { failed, targets: targets.len() },
            format!(
                "{failed} of {} target(s) failed{}; the others completed",
                targets.len(),
                if not_started > 0 { format!(" and {not_started} were not started (--fail-fast)") } else { String::new() }
            ),
        )
        .hint(format!("fix what each says and run `cargo migrate {command}` with the same targets again: it does only what is left"))
    });
    if r.format == output::Format::Json {
        let json_targets = targets
            .iter()
            .zip(outcomes)
            .zip(&states)
            .zip(&steps)
            .map(|(((t, o), state), steps)| {
                let done = o.as_ref().and_then(|o| o.result.as_ref().ok());
                let err = o.as_ref().and_then(|o| o.result.as_ref().err());
                FleetTarget {
                    name: &t.name,
                    database: url::mask(&t.url),
                    state: *state,
                    migrations: steps,
                    applied: done.and_then(|d| d.applied),
                    pending: done.and_then(|d| d.pending),
                    problems: done.map_or(0, |d| d.problems),
                    duration_ms: o.as_ref().map_or(0, |o| o.duration.as_millis() as u64),
                    error: err.map(error_json),
                }
            })
            .collect();
        r.json(&FleetOutput {
            ok: error.is_none(),
            command,
            jobs,
            targets: json_targets,
            summary: FleetSummary {
                targets: targets.len(),
                completed: targets.len() - failed - not_started,
                failed,
                not_started,
                migrations,
                duration_ms: elapsed.as_millis() as u64,
            },
            error: error.as_ref().map(error_json),
        });
    } else {
        // The failures in full (the table showed their first line only).
        for ((t, o), state) in targets.iter().zip(outcomes).zip(&states) {
            if let Some(Err(e)) = o.as_ref().map(|o| &o.result) {
                let text = output::human::plain(e).lines().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n");
                r.warn(format!("{} {}:\n{text}", state.word(), output::escape(&t.name)));
            }
        }
        let mut by_state: Vec<String> = Vec::new();
        for s in [
            FleetState::Applied,
            FleetState::Reverted,
            FleetState::Verified,
            FleetState::Planned,
            FleetState::UpToDate,
            FleetState::Pending,
        ] {
            let n = count(&|x| x == s);
            if n > 0 {
                by_state.push(format!("{n} {}", s.word()));
            }
        }
        let mark = if error.is_some() { "✗".red().bold() } else { "✓".green().bold() };
        r.result(format!(
            "{mark} {} of {} target(s) completed ({}); {migrations} migration(s) in {} with {jobs} job(s){}",
            targets.len() - failed - not_started,
            targets.len(),
            if by_state.is_empty() { "nothing".to_string() } else { by_state.join(", ") },
            output::ms(elapsed),
            if failed > 0 { format!("; {failed} failed") } else { String::new() },
        ));
    }
    match error {
        Some(e) if r.format == output::Format::Json => Ok(e.exit_code()),
        Some(e) => Err(e),
        None if pending_exit && pending > 0 => Ok(exit::PENDING),
        None => Ok(exit::OK),
    }
}

fn error_json(e: &Error) -> ErrorJson<'_> {
    ErrorJson {
        kind: &e.kind,
        message: &e.message,
        details: &e.details,
        hint: e.hint.as_deref(),
        exit_code: e.exit_code(),
        done_before: e.done_before.as_deref(),
    }
}
