//! Running steps: an advisory lock on its own connection, then each migration
//! through diesel's `MigrationHarness` (see `harness`), with progress.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Bool, Text};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use diesel_migrations::MigrationHarness;

use crate::error::{Error, Result};
use crate::harness::{prepare, BoxedError, Down, Harness, Prepared, Up};
use crate::history::{self, History};
use crate::plan::Step;
use crate::report::{self, Reporter};
use crate::source::Source;

/// Two-key advisory lock: classid "migr", objid 1. Database-scoped.
const LOCK_KEYS: (i32, i32) = (0x6d69_6772, 1);

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Holds the lock until dropped (closing the connection releases it).
pub struct Lock {
    _conn: PgConnection,
}

/// Take the migration lock, saying who holds it while we wait.
pub fn lock(mut conn: PgConnection, timeout: Duration, reporter: &Reporter) -> Result<Lock> {
    let try_lock = |conn: &mut PgConnection| -> Result<bool> {
        let row: Locked = diesel::sql_query(format!(
            "SELECT pg_catalog.pg_try_advisory_lock({}, {}) AS locked",
            LOCK_KEYS.0, LOCK_KEYS.1
        ))
        .get_result(conn)
        .map_err(|e| history::db_error("take the migration lock", e))?;
        Ok(row.locked)
    };
    if try_lock(&mut conn)? {
        return Ok(Lock { _conn: conn });
    }
    let holder = lock_holder(&mut conn);
    reporter.note(format!(
        "waiting for the migration lock, held by {holder} (up to {} s; --lock-timeout)",
        timeout.as_secs()
    ));
    let start = Instant::now();
    while start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(100));
        if try_lock(&mut conn)? {
            reporter.note(format!("got the migration lock after {}", report::ms(start.elapsed())));
            return Ok(Lock { _conn: conn });
        }
    }
    Err(Error::new(
        "lock_timeout",
        format!("another run holds the migration lock on this database: {holder}; nothing was run"),
    )
    .hint("wait for it to finish and run again, or raise --lock-timeout; if it is stuck, end it with SELECT pg_terminate_backend(<pid>)"))
}

fn lock_holder(conn: &mut PgConnection) -> String {
    let query = format!(
        "SELECT pg_catalog.format('pid %s (%s, user %s, from %s, since %s)', a.pid, \
                coalesce(nullif(a.application_name, ''), 'unnamed client'), a.usename, \
                coalesce(a.client_addr::text, 'local socket'), \
                pg_catalog.to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS')) AS value \
           FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
          WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {} AND l.objid = {} AND l.objsubid = 2 \
            AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())",
        LOCK_KEYS.0 as u32, LOCK_KEYS.1
    );
    diesel::sql_query(query).get_result::<One>(conn).map(|r| r.value).unwrap_or_else(|_| "another session".into())
}

#[derive(Debug, Clone)]
pub struct Done {
    pub step: Step,
    pub name: String,
    pub duration: Duration,
}

/// Everything read and checked, then the bookkeeping tables made sure of:
/// the prepared steps and diesel's table.
fn ready(
    conn: &mut PgConnection,
    steps: &[Step],
    source: &Source,
    history: &History,
    single_transaction: bool,
) -> Result<(Vec<(Step, Prepared)>, String)> {
    let batch = history.next_batch(conn)?;
    let mut prepared = prepare(steps, source, history, &crate::connection::whoami(), batch)?;
    if single_transaction {
        if let Some((_, p)) = prepared.iter().find(|(_, p)| !p.in_transaction) {
            return Err(Error::new(
                "not_transactional",
                format!(
                    "{} runs outside a transaction (metadata.toml), so it cannot be part of --single-transaction; nothing was run",
                    p.name
                ),
            )
            .usage()
            .hint("run without --single-transaction"));
        }
    }
    let diesel_table = history::ensure_tables(conn, history)?;
    for (_, p) in prepared.iter_mut() {
        p.diesel_table = diesel_table.clone();
    }
    Ok((prepared, diesel_table))
}

/// Run the steps in order. On failure the error lists what this run did
/// before it (that stays done).
pub fn run(
    conn: &mut PgConnection,
    steps: &[Step],
    source: &Source,
    history: &History,
    reporter: &Reporter,
) -> Result<Vec<Done>> {
    let (prepared, diesel_table) = ready(conn, steps, source, history, false)?;
    let mut harness = Harness { conn, diesel_table };
    let mut done: Vec<Done> = Vec::with_capacity(prepared.len());
    for (step, p) in &prepared {
        let start = Instant::now();
        let result = match step {
            Step::Apply(_) => harness.run_migration(&Up(p)),
            Step::Revert(_) => harness.revert_migration(&Down(p)),
        };
        let duration = start.elapsed();
        if let Err(err) = result {
            let mut e = step_error(err, p);
            e.details.push(done_so_far(&done));
            return Err(e);
        }
        let verb = if matches!(step, Step::Apply(_)) { "applied " } else { "reverted" };
        reporter.line(format!("  {} {}  {}", colored_verb(verb), p.name, report::ms(duration)));
        done.push(Done { step: step.clone(), name: p.name.folder.clone(), duration });
    }
    Ok(done)
}

/// `--single-transaction`: every step in one transaction, one round trip
/// each, bookkeeping (diesel's row included) in the same batch. All or
/// nothing; faster than one transaction per migration for many small ones.
pub fn run_single_transaction(
    conn: &mut PgConnection,
    steps: &[Step],
    source: &Source,
    history: &History,
    reporter: &Reporter,
) -> Result<Vec<Done>> {
    let (prepared, _) = ready(conn, steps, source, history, true)?;
    conn.batch_execute("BEGIN").map_err(|e| history::db_error("begin the transaction", e))?;
    let mut done: Vec<Done> = Vec::with_capacity(prepared.len());
    for (step, p) in &prepared {
        let start = Instant::now();
        if let Err(err) = p.execute(conn, false) {
            let _ = conn.batch_execute("ROLLBACK");
            let mut e = step_error(err, p);
            e.details.retain(|d| !d.contains("was rolled back"));
            e.details.push(format!(
                "  --single-transaction: the whole run was rolled back; none of its {} step(s) is applied",
                prepared.len()
            ));
            if e.message.contains("out of shared memory") {
                e = e.hint(
                    "one transaction cannot lock this many objects: run without --single-transaction, \
                     apply in chunks with --count N, or raise max_locks_per_transaction (server restart)",
                );
            }
            return Err(e);
        }
        done.push(Done { step: step.clone(), name: p.name.folder.clone(), duration: start.elapsed() });
    }
    if let Err(err) = conn.batch_execute("COMMIT") {
        let _ = conn.batch_execute("ROLLBACK");
        let e = history::db_error("commit", err);
        return Err(e.detail("  --single-transaction: the whole run was rolled back"));
    }
    for d in &done {
        let verb = if matches!(d.step, Step::Apply(_)) { "applied " } else { "reverted" };
        reporter.line(format!("  {} {}  {}", colored_verb(verb), d.name, report::ms(d.duration)));
    }
    Ok(done)
}

/// diesel's boxed error back into ours, with what to do by default.
fn step_error(err: BoxedError, p: &Prepared) -> Error {
    let e = match err.downcast::<Error>() {
        Ok(e) => *e,
        Err(other) => Error::new("migration_failed", format!("{} failed: {other}", p.name)),
    };
    if e.hint.is_some() {
        return e;
    }
    e.hint(format!("fix {} and run the command again", p.path()))
}

fn colored_verb(verb: &str) -> String {
    use colored::Colorize;
    if verb.starts_with("applied") {
        verb.green().to_string()
    } else {
        verb.yellow().to_string()
    }
}

fn done_so_far(done: &[Done]) -> String {
    if done.is_empty() {
        return "  before it, this run changed nothing".to_string();
    }
    let names: Vec<String> = done
        .iter()
        .map(|d| match d.step {
            Step::Apply(_) => format!("applied {}", d.name),
            Step::Revert(_) => format!("reverted {}", d.name),
        })
        .collect();
    format!("  before it, this run {} (that stays done)", names.join(", "))
}
