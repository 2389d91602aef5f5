//! `cargo migrate up --rehearse`: "test migrations on production-sized
//! datasets" without touching production. The target is only read; its
//! pending migrations run on a scratch copy of it (same server: `CREATE
//! DATABASE … TEMPLATE` when nobody is connected to it, else, or with
//! `--from-target`, pg_dump | pg_restore; or `--from-backup FILE`), each
//! watched from two more sessions (`db::rehearse`): which locks it took and
//! for how long, whether an app's SELECT and UPDATE would have waited, what
//! it rewrote and how many rows it wrote. The scratch copy is dropped at the
//! end, whatever happened.

use std::time::{Duration, Instant};

use colored::Colorize;

use super::{pending, state, Context};
use crate::cli::UpArgs;
use crate::db::{self, backup, history, lock, rehearse, Conn};
use crate::error::{exit, Error, Kind, Result};
use crate::output::{self, RehearsalOutput, RehearsedLock, RehearsedMigration, RehearsedProbes, RehearsedRows};
use crate::plan::{self, PartialChoice};
use crate::rehearsal::{self, ProbeKind};
use crate::runner;
use crate::url;

/// The scratch database, dropped when the rehearsal ends however it ends.
struct Scratch {
    admin: Conn,
    name: String,
    made: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.made {
            db::schema::drop_database(&mut self.admin, &self.name);
        }
    }
}

pub fn run(ctx: &Context, args: &UpArgs) -> Result<u8> {
    let r = &ctx.reporter;
    let (mut source, mut target) = ctx.read_both(&args.db, "rehearse", true)?;
    source.check_runnable(pending(&source, &target.history));
    plan::check_source(&source.problems)?;
    let partial = if args.resume { PartialChoice::Resume } else { PartialChoice::Refuse };
    let request = super::up::request(args, partial);
    let steps = plan::plan(&state(&source, &target.history), &request)?;
    let database = url::mask(&target.url);
    let nothing = |copied_from: &str| RehearsalOutput {
        ok: true,
        command: "up",
        rehearsal: true,
        database: database.clone(),
        copied_from: copied_from.into(),
        copy_ms: 0,
        scratch: String::new(),
        sample_every_ms: rehearse::SAMPLE_EVERY.as_millis() as u64,
        probe_lock_timeout_ms: rehearse::PROBE_LOCK_TIMEOUT_MS,
        migrations: Vec::new(),
    };
    if steps.is_empty() {
        r.line(format!("{} nothing to rehearse: no migration is pending", "✓".green()));
        r.json(&nothing("none"));
        return Ok(exit::OK);
    }
    if !args.no_lint {
        super::lint::before_run(ctx, &source, &steps)?;
    }
    let server = backup::server_major(&mut target.conn)?;
    let target_url = target.url.clone();
    // A database is a template only while nobody is connected to it: not even us.
    drop(target);

    let parsed = db::connect::parse(&target_url)?;
    let target_db = parsed.dbname.clone().or_else(|| parsed.user.clone()).unwrap_or_else(|| "postgres".into());
    let admin = connect_admin(&target_url)?;
    let mut scratch = Scratch { admin, name: format!("cargo_migrate_rehearse_{}", std::process::id()), made: false };
    let scratch_url = url::with_params(&target_url, &[("dbname", &scratch.name)]);
    let started = Instant::now();
    let copied_from = make_copy(ctx, args, &mut scratch, &target_db, &target_url, &scratch_url, server)?;
    let copy_took = started.elapsed();
    r.line(format!(
        "rehearsing on {} (a copy of {} made from {copied_from} in {}); {} is not touched",
        scratch.name,
        output::escape(&target_db),
        output::ms(copy_took),
        url::target_of(&target_url)
    ));

    let mut conn = db::connect(&scratch_url, 10, "rehearse", &db::Hints::default())?;
    lock::acquire(&mut conn, Duration::from_secs(10), |_| {})?;
    let mut history = history::read(&mut conn, true, source.ledger())?;
    let steps = plan::plan(&state(&source, &history), &request)?;
    let options = runner::Options { settle_timeout: Duration::from_secs(10), ..ctx.run_options(false, &args.lock) };
    let reconnect = || {
        db::connect(&scratch_url, 10, "rehearse", &db::Hints::default()).map(|c| Box::new(c) as Box<dyn db::Session>)
    };
    let mut migrations = Vec::new();
    for step in &steps {
        rehearse::flush_stats(&mut conn, server);
        let before = rehearse::tables(&mut conn)?;
        let watcher = rehearse::Watcher::start(&scratch_url, conn.backend_pid(), &before)?;
        let ran =
            runner::run(&mut conn, &reconnect, std::slice::from_ref(step), &source, &history, &options, &mut |_| {});
        let watched = watcher.stop();
        let report = match ran {
            Ok(mut done) => {
                done.pop().ok_or_else(|| Error::new(Kind::Internal, "a rehearsed step reported nothing"))?
            }
            Err(mut e) => {
                e.details.push("  (on the scratch copy, which is dropped: the target was not touched)".into());
                return Err(ctx.explained(e));
            }
        };
        rehearse::flush_stats(&mut conn, server);
        let after = rehearse::tables(&mut conn)?;
        let m = rehearsal::measure(&before, &after, &watched.locks, &watched.probes, rehearse::SAMPLE_EVERY);
        let json = to_json(&report, &m);
        print_one(ctx, &json);
        migrations.push(json);
        history = history::read(&mut conn, true, source.ledger())?;
    }
    drop(conn);
    let blocking = migrations.iter().filter(|m| m.writes_waited || m.reads_waited).count();
    r.line(format!(
        "{} rehearsed {} migration(s) on a copy; {blocking} of them made an app's statements wait; the copy is dropped",
        if blocking == 0 { "✓".green().bold() } else { "!".yellow().bold() },
        migrations.len()
    ));
    let mut out = nothing(copied_from);
    out.copy_ms = copy_took.as_millis() as u64;
    out.scratch = scratch.name.clone();
    out.migrations = migrations;
    r.json(&out);
    Ok(exit::OK)
}

/// A session on the target's server that is not on the target (which must have no session to be a template).
fn connect_admin(target_url: &str) -> Result<Conn> {
    db::connect::admin(target_url, 10, "rehearse").map_err(|e| {
        e.hint("--rehearse makes its scratch copy on the target's server: it needs to reach its `postgres` database")
    })
}

/// Make the scratch copy; says where it came from.
fn make_copy(
    ctx: &Context,
    args: &UpArgs,
    scratch: &mut Scratch,
    target_db: &str,
    target_url: &str,
    scratch_url: &str,
    server: u32,
) -> Result<&'static str> {
    let refused = |e: db::pq::PgError| {
        Error::new(
            Kind::Rehearsal,
            format!("could not create the scratch database {}: {}", scratch.name, output::clean(&e.message)),
        )
        .hint("--rehearse needs a role that may create databases (CREATEDB) on the target's server; nothing was run")
    };
    if args.from_backup.is_none() && !args.from_target {
        match rehearse::create_database(&mut scratch.admin, &scratch.name, Some(target_db)) {
            Ok(()) => {
                scratch.made = true;
                return Ok("template");
            }
            Err(e) if rehearse::in_use(&e) => ctx.reporter.note(format!(
                "note: {} is in use, so it cannot be a template; copying it with pg_dump | pg_restore instead",
                output::escape(target_db)
            )),
            Err(e) => return Err(refused(e)),
        }
    }
    rehearse::create_database(&mut scratch.admin, &scratch.name, None).map_err(refused)?;
    scratch.made = true;
    let mut dirs: Vec<std::path::PathBuf> = ctx.pg_bin(&args.db.local_db)?.into_iter().collect();
    if let Ok(local) = ctx.local(&args.db.local_db) {
        dirs.extend(local.bin().ok());
    }
    let pg_restore = backup::find_program("pg_restore", server, &dirs)?;
    let into = db::connect::parse(scratch_url)?;
    let (restored, from) = match &args.from_backup {
        Some(file) => {
            let file = std::env::current_dir().unwrap_or_default().join(file);
            if !file.is_file() {
                return Err(Error::new(
                    Kind::Rehearsal,
                    format!("--from-backup {} is no file; nothing was run", output::display_path(&file)),
                )
                .hint("give a dump written by `cargo migrate up --backup` or `pg_dump --format=custom`"));
            }
            (backup::restore(&into, &pg_restore, &file)?, "backup")
        }
        None => {
            let pg_dump = backup::find_pg_dump(server, &dirs)?;
            (backup::copy(&db::connect::parse(target_url)?, &pg_dump, &into, &pg_restore)?, "target")
        }
    };
    if let Some(said) = restored.warnings {
        ctx.reporter.warn(format!("pg_restore said: {said}"));
    }
    Ok(from)
}

fn lock_json(l: &rehearsal::HeldLock) -> RehearsedLock {
    RehearsedLock {
        relation: l.relation.clone(),
        mode: l.mode.clone(),
        held_ms: l.held.as_millis() as u64,
        blocks_reads: rehearsal::blocks_reads(&l.mode),
        blocks_writes: rehearsal::blocks_writes(&l.mode),
    }
}

fn to_json(report: &runner::StepReport, m: &rehearsal::Measured) -> RehearsedMigration {
    RehearsedMigration {
        version: report.version.as_str().into(),
        name: report.name.clone(),
        duration_ms: report.duration.as_millis() as u64,
        locks: m.locks.iter().map(lock_json).collect(),
        strongest_lock: m.strongest().map(lock_json),
        rewritten: m.rewritten.clone(),
        rows: m
            .rows
            .iter()
            .map(|r| RehearsedRows {
                relation: r.relation.clone(),
                inserted: r.inserted,
                updated: r.updated,
                deleted: r.deleted,
            })
            .collect(),
        reads_waited: m.waited(ProbeKind::Read),
        writes_waited: m.waited(ProbeKind::Write),
        reads_blocked_ms: m.blocked(ProbeKind::Read).as_millis() as u64,
        writes_blocked_ms: m.blocked(ProbeKind::Write).as_millis() as u64,
        probes: m
            .waits
            .iter()
            .map(|w| RehearsedProbes {
                relation: w.relation.clone(),
                statement: match w.kind {
                    ProbeKind::Read => "read",
                    ProbeKind::Write => "write",
                },
                tries: w.probes,
                waited: w.waited,
                blocked_ms: w.blocked.as_millis() as u64,
            })
            .collect(),
    }
}

fn print_one(ctx: &Context, m: &RehearsedMigration) {
    let r = &ctx.reporter;
    let ms = |n: u64| output::ms(Duration::from_millis(n));
    let verdict = match (m.reads_waited, m.writes_waited) {
        (true, _) => {
            format!("reads and writes waited up to {}", ms(m.reads_blocked_ms.max(m.writes_blocked_ms))).red().bold()
        }
        (false, true) => format!("writes waited up to {}", ms(m.writes_blocked_ms)).red().bold(),
        (false, false) => "reads and writes went on".green(),
    };
    r.line(format!("  {} {}  {}: {verdict}", "rehearsed".cyan(), output::escape(&m.name), ms(m.duration_ms)));
    match &m.strongest_lock {
        Some(l) => {
            r.line(format!("      strongest lock: {} on {} for {}", l.mode, output::escape(&l.relation), ms(l.held_ms)))
        }
        None => r.line("      no table lock seen (none held longer than a sample)"),
    }
    for t in &m.rewritten {
        r.line(format!("      rewrote {}", output::escape(t)));
    }
    for rows in &m.rows {
        r.line(format!(
            "      rows in {}: {} inserted, {} updated, {} deleted",
            output::escape(&rows.relation),
            rows.inserted,
            rows.updated,
            rows.deleted
        ));
    }
}
