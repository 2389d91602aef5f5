//! Executing one prepared migration (or revert) and, when it fails, saying
//! where: PostgreSQL's error position mapped back to `file:line:col`, with the
//! line, PostgreSQL's detail and hint, and what is now applied of it.
//!
//! A transactional migration costs one round trip: `BEGIN`, its SQL, the
//! session reset, the lock check, the bookkeeping rows, `COMMIT`, sent
//! together; several in a row share one (`run_batch`). A migration outside a transaction runs statement by statement,
//! recording how far it got, so an interruption is never invisible.

use std::time::{Duration, Instant};

use super::ledger::{self, Record, BATCH_MS, RELAXED_COMMIT, RESET_SESSION};
use super::lock;
use super::session::{Notice, PgError, Session, TxStatus};
use super::{history, query_error};
use crate::error::{Aftermath, ConnectionLoss, Error, Kind, MigrationFailure, MigrationRef};
use crate::show::{self, clean};
use crate::sql;

/// What goes before a transactional migration's SQL in the text we send.
const BEGIN: &str = "BEGIN;\n";

/// A migration ready to run: its SQL read and checked before anything executes.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub version: String,
    /// The folder name (diesel's migration name).
    pub folder: String,
    /// The file being run, as the user should see it.
    pub path: String,
    pub sql: String,
    pub in_transaction: bool,
    /// Applying: the facts for the companion table. Reverting: None.
    pub record: Option<Record>,
    /// Outside a transaction: statements that already ran before (`up --resume`).
    pub skip: usize,
    /// It has a progress row from an earlier run that stopped part-way.
    pub stopped_before: bool,
    /// Reverting with the down.sql stored in the database, not the file's.
    pub from_stored_down: bool,
    /// Applying outside a transaction: its UPDATE/DELETE on this table runs in key-range batches.
    pub backfill: Option<super::backfill::Batched>,
}

impl Prepared {
    pub fn applies(&self) -> bool {
        self.record.is_some()
    }
}

/// How a step is recorded: where the bookkeeping goes, and whether the caller holds a transaction open.
#[derive(Clone, Copy)]
pub struct Recording<'a> {
    pub ledger: (super::history::Ledger, &'a str),
    pub supabase_history: bool,
    /// False under `--single-transaction`: the caller owns BEGIN/COMMIT (and
    /// checks the lock once, before its COMMIT).
    pub own_transaction: bool,
    pub who: &'a str,
    /// Wait for the commit to reach the disk. Off for every step of a run
    /// but its last: the WAL is flushed in order, so the last durable commit
    /// makes the earlier ones durable (`--durable-each` keeps it on for all).
    pub durable: bool,
    /// Outside a transaction: told the number of statements done after each one (the progress display).
    pub on_statement: Option<&'a dyn Fn(usize)>,
}

pub struct Ran {
    pub duration: Duration,
    pub notices: Vec<Notice>,
}

/// What is known about a failed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing of it stays (rolled back, or never started).
    RolledBack,
    /// Outside a transaction: this many statements ran and stay.
    Partly(usize),
    /// The connection dropped: only the database can tell (the runner asks it).
    Unknown,
}

pub struct Failed {
    pub error: Error,
    pub outcome: Outcome,
    pub notices: Vec<Notice>,
}

pub fn run(conn: &mut dyn Session, p: &Prepared, t: &Recording<'_>) -> Result<Ran, Box<Failed>> {
    let start = Instant::now();
    let result = if p.in_transaction { run_transactional(conn, p, t) } else { run_statements(conn, p, t) };
    let notices = conn.take_notices();
    match result {
        Ok(()) => Ok(Ran { duration: start.elapsed(), notices }),
        // Whatever failed, a lost lock is the news: the run must stop.
        Err((_, outcome)) if outcome != Outcome::Unknown && t.own_transaction && !lock::held(conn) => {
            Err(Box::new(Failed { error: lock::lost(Some(&p.folder)), outcome, notices }))
        }
        Err((error, outcome)) => Err(Box::new(Failed { error, outcome, notices })),
    }
}

fn supabase_statements(p: &Prepared, t: &Recording<'_>) -> Option<Vec<String>> {
    t.supabase_history.then(|| sql::split_statements(&p.sql).iter().map(|s| s.text.to_string()).collect())
}

fn bookkeeping(p: &Prepared, t: &Recording<'_>, duration_ms: &str) -> String {
    match &p.record {
        Some(r) => {
            let statements = supabase_statements(p, t);
            let refs: Option<Vec<&str>> = statements.as_ref().map(|v| v.iter().map(String::as_str).collect());
            let clear_partial = !p.in_transaction || p.stopped_before;
            ledger::applied_sql(t.ledger, r, duration_ms, refs.as_deref(), clear_partial)
        }
        None => ledger::reverted_sql(t.ledger, &p.version, t.supabase_history),
    }
}

/// Exactly what is sent for a migration, in order (`--dry-run` prints it):
/// one text for a transactional migration; outside a transaction, each
/// statement (with its progress row where it may share a transaction), then
/// the bookkeeping.
pub fn texts(p: &Prepared, t: &Recording<'_>) -> Vec<String> {
    if p.in_transaction {
        return vec![transactional_text(p, t)];
    }
    let statements = sql::split_statements(&p.sql);
    let mut out = Vec::with_capacity(statements.len() + 2);
    if p.applies() && p.skip == 0 {
        out.push(ledger::partial_started_sql(&p.version, &p.folder, statements.len(), t.who));
    }
    let blocks = in_own_block(&statements);
    for (i, stmt) in statements.iter().enumerate().skip(p.skip) {
        out.extend(statement_texts(p, stmt.text, i, blocks[i]));
    }
    out.push(bookkeeping_text(p, t, "<duration_ms>"));
    out
}

fn transactional_text(p: &Prepared, t: &Recording<'_>) -> String {
    transactional_text_timed(p, t, BATCH_MS)
}

/// `transactional_text` with the SQL that gives its duration in milliseconds.
fn transactional_text_timed(p: &Prepared, t: &Recording<'_>, duration_ms: &str) -> String {
    let (begin, commit) = if t.own_transaction { (BEGIN, "COMMIT;") } else { ("", "") };
    // The SQL comes right after BEGIN, so PostgreSQL's error position maps
    // straight back into the file; what follows it is ours.
    let check = if t.own_transaction { lock::check_sql() } else { String::new() };
    format!("{begin}{}\n;\n{RESET_SESSION}{}{check}{}{commit}", p.sql, relaxed(t), bookkeeping(p, t, duration_ms))
}

/// Whether a step may share its round trip with the steps around it: a
/// migration in a transaction of its own (`run_batch`).
pub fn batchable(p: &Prepared, t: &Recording<'_>) -> bool {
    p.in_transaction && t.own_transaction && p.backfill.is_none()
}

/// Each step's part of a batch's text, in order (`--dry-run` prints them):
/// its text as alone, with a duration that leaves out the steps before it,
/// then its mark.
pub fn batch_texts(steps: &[Prepared], t: &Recording<'_>, durable: &[bool]) -> Vec<String> {
    steps
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let before: Vec<&str> = steps[..j].iter().map(|s| s.version.as_str()).collect();
            let t = Recording { durable: durable.get(j).copied().unwrap_or(true), ..*t };
            format!("{}\n{}", transactional_text_timed(p, &t, &ledger::batch_ms_after(&before)), ledger::MARK_SQL)
        })
        .collect()
}

/// What a batch of steps came to: those that committed, in order, and the
/// failure of the one after them.
pub struct BatchRan {
    pub ran: Vec<Ran>,
    pub failed: Option<Box<Failed>>,
    /// The server refused the text whole before running any of it (a syntax
    /// error in one of the steps): nothing ran; run them one by one to say which.
    pub refused_whole: bool,
}

/// Several transactional steps in one round trip. Each is exactly the text
/// it is sent alone (`BEGIN`, its SQL, the bookkeeping, `COMMIT`), followed
/// by a mark that says it committed, how long the batch has run and which
/// notices came before it. The server stops at the first error: the steps
/// before it stay committed, each whole, and the failing one is rolled back.
/// `durable[j]`: whether step j's commit waits for the disk.
pub fn run_batch(conn: &mut dyn Session, steps: &[Prepared], t: &Recording<'_>, durable: &[bool]) -> BatchRan {
    let mut text = String::new();
    // Where each step's text starts, in characters (PostgreSQL's positions).
    let mut starts = Vec::with_capacity(steps.len());
    let mut chars = 0;
    for member in batch_texts(steps, t, durable) {
        starts.push(chars);
        chars += member.chars().count();
        text.push_str(&member);
    }
    // Notices from before the batch go with its first step, as they would alone.
    let mut earlier = Some(conn.take_notices());
    let ran = conn.script(&text);
    let mut notices = conn.take_notices().into_iter();
    let committed = ran.marks.len().min(steps.len());
    let mut out = Vec::with_capacity(committed);
    let (mut micros, mut taken) = (0_i64, 0_usize);
    for m in &ran.marks[..committed] {
        let at = m.value.as_deref().and_then(|v| v.parse::<i64>().ok()).unwrap_or(micros);
        let duration = Duration::from_micros(u64::try_from(at - micros).unwrap_or(0));
        micros = at;
        let mut mine = earlier.take().unwrap_or_default();
        mine.extend(notices.by_ref().take(m.notices.saturating_sub(taken)));
        taken = taken.max(m.notices);
        out.push(Ran { duration, notices: mine });
    }
    let Some(e) = ran.error else {
        if committed == steps.len() {
            return BatchRan { ran: out, failed: None, refused_whole: false };
        }
        // Every statement completed and a mark is missing: not a text we sent.
        let error = Error::new(Kind::Internal, "a batch of migrations ended without saying that each committed");
        let failed = Failed { error, outcome: Outcome::Unknown, notices: Vec::new() };
        return BatchRan { ran: out, failed: Some(Box::new(failed)), refused_whole: false };
    };
    if !e.connection_lost && ran.completed == 0 {
        return BatchRan { ran: Vec::new(), failed: None, refused_whole: true };
    }
    // Every step's mark came before the connection dropped: all committed;
    // whatever is sent next meets the broken connection and says so.
    let Some(p) = steps.get(committed) else {
        return BatchRan { ran: out, failed: None, refused_whole: false };
    };
    let lost = e.connection_lost;
    if !lost && conn.transaction_status() != TxStatus::Idle {
        let _ = conn.execute("ROLLBACK");
    }
    let outcome = if lost { Outcome::Unknown } else { Outcome::RolledBack };
    // The failing step's statements that completed, its BEGIN first.
    let base = ran.marks[..committed].last().map_or(0, |m| m.completed + 1);
    let done = ran.completed.saturating_sub(base);
    let failing = if e.position.is_none() && !lost {
        done.checked_sub(1).filter(|i| *i < sql::split_statements(&p.sql).len())
    } else {
        None
    };
    let prefix = starts[committed] + BEGIN.chars().count();
    let mut error = failure(conn, p, e, (prefix, p.sql.chars().count()), 0, failing, outcome);
    if !lost && !lock::held(conn) {
        error = lock::lost(Some(&p.folder));
    }
    let mut rest = earlier.unwrap_or_default();
    rest.extend(notices);
    BatchRan { ran: out, failed: Some(Box::new(Failed { error, outcome, notices: rest })), refused_whole: false }
}

/// After the session reset (RESET ALL would undo it): this step's commit
/// does not wait for the disk, when it is not the run's last.
fn relaxed(t: &Recording<'_>) -> &'static str {
    if t.own_transaction && !t.durable {
        RELAXED_COMMIT
    } else {
        ""
    }
}

/// For each statement, whether a transaction block of the file's own is open
/// after it: no progress row goes there (it would run as whatever role the
/// block set, and a rollback takes it back anyway); the block's COMMIT
/// records the progress of everything in it.
fn in_own_block(statements: &[sql::Statement<'_>]) -> Vec<bool> {
    let mut open = false;
    statements
        .iter()
        .map(|s| {
            if let Some(opens) = sql::transaction_effect(s.text) {
                open = opens;
            }
            open
        })
        .collect()
}

/// Statement `i` of a migration outside a transaction, with its progress row
/// in the same round trip where the statement allows it (none while the
/// file's own transaction block is open).
fn statement_texts(p: &Prepared, statement: &str, i: usize, in_block: bool) -> Vec<String> {
    if !p.applies() || in_block {
        return vec![statement.to_string()];
    }
    let progress = ledger::partial_progress_sql(&p.version, i + 1);
    if sql::may_share_transaction(statement) {
        vec![format!("{statement}\n;\n{progress}")]
    } else {
        vec![statement.to_string(), progress]
    }
}

fn bookkeeping_text(p: &Prepared, t: &Recording<'_>, duration_ms: &str) -> String {
    format!("BEGIN;\n{RESET_SESSION}{}{}{}COMMIT;", relaxed(t), lock::check_sql(), bookkeeping(p, t, duration_ms))
}

fn run_transactional(conn: &mut dyn Session, p: &Prepared, t: &Recording<'_>) -> Result<(), (Error, Outcome)> {
    let begin = if t.own_transaction { BEGIN } else { "" };
    let ran = conn.script(&transactional_text(p, t));
    let done = ran.completed;
    ran.result().map_err(|e| {
        // A syntax error anywhere in the text fails it before BEGIN ran.
        if t.own_transaction && !e.connection_lost && conn.transaction_status() != TxStatus::Idle {
            let _ = conn.execute("ROLLBACK");
        }
        let outcome = if e.connection_lost { Outcome::Unknown } else { Outcome::RolledBack };
        // PostgreSQL gives no position for some errors (CREATE EXTENSION, a
        // DROP with dependents, policies): the statements that completed
        // before it say which one failed (BEGIN is the first of ours).
        let failing = if e.position.is_none() && !e.connection_lost {
            done.checked_sub(usize::from(t.own_transaction)).filter(|i| *i < sql::split_statements(&p.sql).len())
        } else {
            None
        };
        let limit = p.sql.chars().count();
        (failure(conn, p, e, (begin.chars().count(), limit), 0, failing, outcome), outcome)
    })
}

/// One seed file, inside the caller's transaction. On failure, the error
/// names the file's line, as for a migration.
pub fn run_seed(conn: &mut dyn Session, path: &str, sql_text: &str) -> Result<Duration, Error> {
    let p = Prepared {
        version: String::new(),
        // Errors read "seeding failed at seed.sql:3: …".
        folder: "seeding".to_string(),
        path: path.to_string(),
        sql: sql_text.to_string(),
        in_transaction: true,
        record: None,
        skip: 0,
        stopped_before: false,
        from_stored_down: false,
        backfill: None,
    };
    let start = Instant::now();
    let ran = conn.script(sql_text);
    let done = ran.completed;
    ran.result().map_err(|e| {
        let failing = (e.position.is_none() && !e.connection_lost)
            .then_some(done)
            .filter(|i| *i < sql::split_statements(sql_text).len());
        failure(conn, &p, e, (0, sql_text.chars().count()), 0, failing, Outcome::RolledBack)
    })?;
    Ok(start.elapsed())
}

/// libpq runs a multi-statement string as one implicit transaction, which
/// CREATE INDEX CONCURRENTLY refuses: send statements one by one.
fn run_statements(conn: &mut dyn Session, p: &Prepared, t: &Recording<'_>) -> Result<(), (Error, Outcome)> {
    let statements = sql::split_statements(&p.sql);
    let start = Instant::now();
    let tracked = p.applies();
    if tracked && p.skip == 0 {
        conn.execute(&ledger::partial_started_sql(&p.version, &p.folder, statements.len(), t.who))
            .map_err(|e| (query_error("record the migration's progress", e), Outcome::RolledBack))?;
    }
    let blocks = in_own_block(&statements);
    for (i, stmt) in statements.iter().enumerate().skip(p.skip) {
        // The progress row goes with the statement in one implicit transaction
        // where the statement allows it: one round trip, and exactly in step.
        let step = match p.backfill.as_ref().filter(|b| tracked && super::backfill::batches(b, stmt.text)) {
            Some(b) => {
                let b = super::backfill::Batched { resume: b.resume && i == p.skip, ..b.clone() };
                match super::backfill::run(conn, &p.version, stmt.text, &b) {
                    Ok(()) => conn.execute(&ledger::partial_progress_sql(&p.version, i + 1)),
                    Err(super::backfill::Stop::Sql(e)) => Err(e),
                    Err(super::backfill::Stop::Refused(why)) => {
                        let e = Error::new(Kind::BadMetadata, format!("{}: [backfill] cannot batch statement {}: {why}", p.path, i + 1))
                            .hint("batch one plain UPDATE/DELETE of the [backfill] table, or remove [backfill] from metadata.toml");
                        if i == 0 {
                            let _ = conn.execute(&ledger::partial_clear_sql(&p.version));
                        }
                        return Err((e, if i == 0 { Outcome::RolledBack } else { Outcome::Partly(i) }));
                    }
                }
            }
            None => statement_texts(p, stmt.text, i, blocks[i]).iter().try_for_each(|text| conn.execute(text)),
        };
        if let (Ok(()), Some(tell)) = (&step, t.on_statement) {
            tell(i + 1);
        }
        if let Err(e) = step {
            let mut done = i;
            if !e.connection_lost && conn.transaction_status() != TxStatus::Idle {
                // The migration's own BEGIN: what it did since is gone, and
                // its progress rows with it; the database knows how far it got.
                let _ = conn.execute("ROLLBACK");
                if tracked {
                    done = history::partial_done(conn, &p.version).map_or(i, |n| n as usize);
                }
            }
            if tracked && done == 0 && !e.connection_lost {
                let _ = conn.execute(&ledger::partial_clear_sql(&p.version));
            }
            let outcome = match done {
                _ if e.connection_lost => Outcome::Unknown,
                0 => Outcome::RolledBack,
                n => Outcome::Partly(n),
            };
            let limit = stmt.char_offset + stmt.text.chars().count();
            return Err((failure(conn, p, e, (0, limit), stmt.char_offset, Some(i), outcome), outcome));
        }
    }
    if conn.transaction_status() != TxStatus::Idle {
        let _ = conn.execute("ROLLBACK");
        let done = if tracked { history::partial_done(conn, &p.version).unwrap_or(0) } else { 0 };
        let err = Error::new(
            Kind::OpenTransaction,
            format!(
                "{} ends with a transaction still open (a BEGIN without COMMIT): what it did since that BEGIN was rolled back, and it is not recorded as applied",
                p.path
            ),
        )
        .detail(format!("  before that BEGIN, {} ran and stays{}", show::ran(done as usize), if tracked { " (`cargo migrate status` shows it as partly applied)" } else { "" }))
        .hint(format!("end the transaction in {} (COMMIT), or remove its BEGIN", p.path));
        return Err((err, Outcome::Partly(done as usize)));
    }
    if p.backfill.is_some() && tracked {
        let _ = conn.execute(&super::backfill::clear_sql(&p.version));
    }
    let ms = start.elapsed().as_millis().to_string();
    conn.execute(&bookkeeping_text(p, t, &ms)).map_err(|e| {
        let outcome = if e.connection_lost { Outcome::Unknown } else { Outcome::Partly(statements.len()) };
        if !e.connection_lost {
            let _ = conn.execute("ROLLBACK");
        }
        (query_error("record the migration", e), outcome)
    })
}

/// The error for a failed migration. `sent.0` characters were sent before
/// the SQL, and positions past `sent.1` (in the file) are in what we appended;
/// `offset` is where the failing statement starts in the file, `failing` its
/// index when known.
pub fn migration_ref(p: &Prepared) -> MigrationRef {
    MigrationRef { version: p.version.as_str().into(), name: p.folder.clone() }
}

fn failure(
    conn: &mut dyn Session,
    p: &Prepared,
    err: PgError,
    sent: (usize, usize),
    offset: usize,
    failing: Option<usize>,
    outcome: Outcome,
) -> Error {
    let (prefix, limit) = sent;
    // PostgreSQL counts characters from 1 in the text it was sent.
    let in_file = err.position.and_then(|pos| pos.checked_sub(prefix)).filter(|pos| *pos > 0).map(|pos| pos + offset);
    if in_file.is_some_and(|pos| pos > limit) {
        return query_error("record the migration", err);
    }
    if err.connection_lost {
        let loss = ConnectionLoss { migration: Some(migration_ref(p)), applying: p.applies(), ..Default::default() };
        return Error::new(
            Kind::ConnectionLost(Box::new(loss)),
            format!("the connection was lost while {} ran: {}", p.folder, clean(&err.message)),
        )
        .caused_by(err);
    }
    let (line, column, source_line) = match in_file {
        Some(pos) => {
            let (line, col, text) = sql::locate(&p.sql, pos);
            (Some(line), Some(col), Some(clean(text).into_owned()))
        }
        // Some errors carry no position; when we know which statement
        // failed, point at its first line of code.
        None if failing.is_some() => {
            let lead = sql::split_statements(&p.sql)
                .get(failing.unwrap_or(0))
                .map(|s| s.char_offset + sql::code_start(s.text))
                .unwrap_or(offset);
            let (line, _, text) = sql::locate(&p.sql, lead + 1);
            (Some(line), None, Some(clean(text).into_owned()))
        }
        None => (None, None, None),
    };
    let location = match (line, column) {
        (Some(line), Some(col)) => format!("{}:{line}:{col}", p.path),
        (Some(line), None) => format!("{}:{line}", p.path),
        _ => p.path.clone(),
    };
    let (aftermath, statements_done) = match outcome {
        Outcome::RolledBack if !p.in_transaction && failing == Some(0) => (Aftermath::NothingRan, None),
        Outcome::RolledBack => (Aftermath::RolledBack, None),
        Outcome::Partly(n) => (Aftermath::PartlyApplied, Some(n)),
        Outcome::Unknown => (Aftermath::Unknown, None),
    };
    let failure = MigrationFailure {
        migration: migration_ref(p),
        file: p.path.clone(),
        line,
        column,
        source_line,
        sqlstate: err.sqlstate.clone(),
        server_message: clean(&err.message).into_owned(),
        server_detail: err.detail.clone(),
        server_hint: err.hint.clone(),
        aftermath,
        statements_done,
        notices: Vec::new(),
        missing_role: None,
        missing_extension: None,
        server_major: None,
        stand_in: None,
        tracked: p.applies(),
        in_transaction: p.in_transaction,
    };
    let mut e = Error::new(
        Kind::MigrationFailed(Box::new(failure)),
        format!("{} failed at {location}: {}", p.folder, clean(&err.message)),
    )
    .caused_by(err.clone());
    // The failing statement, where it is known: hints look at it, not at the
    // first statement of its kind in the file.
    let statements = sql::split_statements(&p.sql);
    let at = in_file.map(|pos| pos.saturating_sub(1));
    let focus = match (failing, at) {
        (Some(i), _) => statements.get(i).map(|s| s.text),
        (None, Some(at)) => statements.iter().rev().find(|s| s.char_offset <= at).map(|s| s.text),
        (None, None) => None,
    }
    .unwrap_or(&p.sql);
    // 53200: out_of_memory, which is how PostgreSQL reports a full lock table.
    if err.is("53200") {
        e = e.hint(
            "one transaction cannot lock this many objects: run without --single-transaction, \
             apply in chunks with --count N, or raise max_locks_per_transaction (server restart)",
        );
    } else if err.is("58P01") || err.is("0A000") {
        // What to install is the command layer's to say (`commands::explain`).
        if let Some(ext) = missing_extension(conn, focus) {
            let major = super::backup::server_major(conn).ok().filter(|v| *v > 0);
            if let Kind::MigrationFailed(f) = &mut e.kind {
                f.missing_extension = Some(ext);
                f.server_major = major;
            }
        }
    } else if err.is("42704") {
        if let Some(role) = missing_role(conn, &err.message) {
            if let Kind::MigrationFailed(f) = &mut e.kind {
                f.missing_role = Some(role);
            }
        }
    } else if err.is("42710") {
        // duplicate_object: a plain CREATE EXTENSION of one of the local
        // database's stand-ins, which before PostgreSQL 18 exist from the start
        // (the local database's layer says what to do about it).
        if let Some(ext) = stand_in_extension(conn, focus) {
            if let Kind::MigrationFailed(f) = &mut e.kind {
                f.stand_in = Some(ext);
            }
        }
    }
    if e.hint.is_none() {
        e = match outcome {
            Outcome::Partly(n) if n > 0 && p.applies() => e.hint(format!(
                "fix {}, then `cargo migrate up --resume` continues with statement {}; or undo what ran and use `up --restart`",
                p.path,
                n + 1
            )),
            _ => e.hint(format!("fix {} and run the command again", p.path)),
        };
    }
    e
}

/// The first extension the file creates that this server does not have
/// (asked of the server, so it works whatever language its messages are in).
fn missing_extension(conn: &mut dyn Session, sql: &str) -> Option<String> {
    for name in created_extensions(sql) {
        let rows = conn
            .query("SELECT EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = $1)", &[&name])
            .ok()?;
        if rows.bool(0, 0) == Some(false) {
            return Some(name);
        }
    }
    None
}

/// The role an undefined_object error is about: the server is asked for the
/// same error about each quoted name (`'name'::regrole`), so that the
/// comparison holds whatever language its messages are in.
fn missing_role(conn: &mut dyn Session, message: &str) -> Option<String> {
    let names: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
    names
        .into_iter()
        .find(|name| {
            let quoted = format!("\"{name}\"");
            conn.query("SELECT $1::pg_catalog.regrole", &[quoted.as_str()])
                .err()
                .is_some_and(|e| e.is("42704") && e.message == message)
        })
        .map(str::to_string)
}

/// The first extension the file creates that exists as cargo-migrate's
/// local stand-in (its comment says so; see local/stand_ins.sql).
fn stand_in_extension(conn: &mut dyn Session, sql: &str) -> Option<String> {
    created_extensions(sql).into_iter().find(|name| {
        conn.query(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = $1 \
               AND pg_catalog.obj_description(e.oid, 'pg_extension') LIKE 'cargo-migrate local stand-in%')",
            &[name],
        )
        .ok()
        .is_some_and(|rows| rows.bool(0, 0) == Some(true))
    })
}

/// The extensions the statements of `sql` create, in order.
fn created_extensions(sql: &str) -> Vec<String> {
    sql::split_statements(sql).iter().filter_map(|s| created_extension(s.text)).collect()
}

/// `CREATE EXTENSION [IF NOT EXISTS] name …` → `name` (unquoted, lower case as PostgreSQL folds it).
fn created_extension(statement: &str) -> Option<String> {
    let code: String = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join(" ");
    let mut words = code.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("create") || !words.next()?.eq_ignore_ascii_case("extension") {
        return None;
    }
    let mut name = words.next()?;
    if name.eq_ignore_ascii_case("if") {
        words.next();
        words.next();
        name = words.next()?;
    }
    let name = name.trim_end_matches(';');
    Some(match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => name.to_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fake::{lost_connection, server_error, Answer, Fake};
    use super::super::history::Ledger;
    use super::super::pq::{Mark, MARK};
    use super::super::session::Script;
    use super::*;

    const TABLE: &str = "public.__diesel_schema_migrations";

    fn target(own_transaction: bool) -> Recording<'static> {
        Recording {
            ledger: (Ledger::Diesel, TABLE),
            supabase_history: false,
            own_transaction,
            who: "me@here pid 1",
            durable: true,
            on_statement: None,
        }
    }

    fn migration(folder: &str, sql: &str, in_transaction: bool) -> Prepared {
        let version = folder.split('_').next().unwrap().to_string();
        Prepared {
            version: version.clone(),
            folder: folder.into(),
            path: format!("migrations/{folder}/up.sql"),
            sql: sql.into(),
            in_transaction,
            record: Some(Record {
                version,
                name: folder.into(),
                checksum: "c".into(),
                down_sql: None,
                batch: 1,
                who: "me".into(),
            }),
            skip: 0,
            stopped_before: false,
            from_stored_down: false,
            backfill: None,
        }
    }

    fn failing(script: Script, then: TxStatus) -> Answer {
        Answer { script, then: Some(then), notices: Vec::new() }
    }

    #[test]
    fn one_round_trip_per_transactional_migration_with_its_bookkeeping() {
        let mut fake = Fake::default();
        let p = migration("20250101000000_a", "CREATE TABLE a (id int);\n", true);
        let ran = run(&mut fake, &p, &target(true)).ok().unwrap();
        assert!(ran.notices.is_empty());
        assert_eq!(fake.sent.len(), 1, "{:?}", fake.sent);
        let text = &fake.sent[0];
        assert!(text.starts_with("BEGIN;\nCREATE TABLE a (id int);\n"), "{text}");
        assert!(text.contains(&format!("INSERT INTO {TABLE} (version) VALUES (E'20250101000000')")), "{text}");
        assert!(text.contains("pg_advisory_unlock") && text.trim_end().ends_with("COMMIT;"), "{text}");
    }

    #[test]
    fn a_relaxed_step_commits_without_waiting_for_the_disk_after_the_session_reset() {
        let p = migration("20250101000000_a", "CREATE TABLE a (id int);\n", true);
        let relaxed = Recording { durable: false, ..target(true) };
        let text = &texts(&p, &relaxed)[0];
        let reset = text.find("RESET ALL;").unwrap();
        let set = text.find(RELAXED_COMMIT).expect(text);
        assert!(reset < set && set < text.find("COMMIT;").unwrap(), "{text}");
        assert!(!texts(&p, &target(true))[0].contains("synchronous_commit"), "a durable step sends nothing new");
        // Outside a transaction: the bookkeeping's commit is the step's.
        let outside = migration("20250101000000_b", "CREATE INDEX CONCURRENTLY b ON t (x);\n", false);
        assert!(texts(&outside, &relaxed).last().unwrap().contains(RELAXED_COMMIT));
        // Under the caller's transaction the caller's one commit decides.
        assert!(!texts(&p, &Recording { durable: false, ..target(false) })[0].contains("synchronous_commit"));
    }

    fn notice(message: &str) -> Notice {
        Notice { severity: crate::error::Severity::Notice, message: message.into(), detail: None, hint: None }
    }

    fn two() -> [Prepared; 2] {
        [
            migration("20250101000000_a", "CREATE TABLE a (id int);\n", true),
            migration("20250102000000_b", "CREATE TABLE b (id int);\nCREATE TABLE c (id nope);\n", true),
        ]
    }

    #[test]
    fn a_batch_is_one_text_of_whole_steps_and_its_marks_say_what_each_took_and_heard() {
        let steps = two();
        let marks = vec![
            Mark { completed: 14, notices: 1, value: Some("1500".into()) },
            Mark { completed: 30, notices: 2, value: Some("4000".into()) },
        ];
        let mut fake = Fake::default().then(Answer {
            script: Script { completed: 31, marks, ..Script::default() },
            then: None,
            notices: vec![notice("one"), notice("two")],
        });
        let b = run_batch(&mut fake, &steps, &target(true), &[false, true]);
        assert!(b.failed.is_none() && !b.refused_whole);
        let took: Vec<u128> = b.ran.iter().map(|r| r.duration.as_micros()).collect();
        assert_eq!(took, [1500, 2500]);
        let heard: Vec<Vec<&str>> =
            b.ran.iter().map(|r| r.notices.iter().map(|n| n.message.as_str()).collect()).collect();
        assert_eq!(heard, [vec!["one"], vec!["two"]]);
        assert_eq!(fake.sent.len(), 1, "{:?}", fake.sent);
        let text = &fake.sent[0];
        // Each step whole, in order: the first commits without waiting for the disk, the last waits.
        let (first, second) = text.split_at(text.find("BEGIN;\nCREATE TABLE b").unwrap());
        assert!(first.starts_with("BEGIN;\nCREATE TABLE a (id int);\n") && first.contains(RELAXED_COMMIT), "{first}");
        assert!(!second.contains("synchronous_commit") && second.contains("VALUES (E'20250102000000')"), "{second}");
        assert_eq!(text.matches(ledger::MARK_SQL).count(), 2);
        // The second's duration: the text's time so far less the first's.
        assert!(second.contains("WHERE version IN (E'20250101000000')"), "{second}");
        assert!(ledger::MARK_SQL.contains(MARK));
    }

    #[test]
    fn a_failure_in_a_batch_is_the_step_after_the_last_mark_and_points_into_its_file() {
        let steps = two();
        let mut lead = transactional_text_timed(&steps[0], &Recording { durable: false, ..target(true) }, BATCH_MS);
        lead.push('\n');
        lead.push_str(ledger::MARK_SQL);
        let at = lead.chars().count() + BEGIN.len() + steps[1].sql.find("nope").unwrap() + 1;
        let error = server_error("42704", "type \"nope\" does not exist", Some(at));
        let marks = vec![Mark { completed: 14, notices: 0, value: Some("1500".into()) }];
        let mut fake = Fake::default()
            .then(failing(Script { completed: 17, error: Some(error), marks, ..Script::default() }, TxStatus::Failed));
        let b = run_batch(&mut fake, &steps, &target(true), &[false, true]);
        assert_eq!(b.ran.len(), 1);
        let failed = b.failed.unwrap();
        assert_eq!(failed.outcome, Outcome::RolledBack);
        let Kind::MigrationFailed(f) = &failed.error.kind else { panic!("{:?}", failed.error.kind) };
        assert_eq!((f.migration.name.as_str(), f.line, f.column), ("20250102000000_b", Some(2), Some(20)));
        assert_eq!(fake.sent_containing("ROLLBACK"), 1);
    }

    #[test]
    fn a_failure_without_a_position_in_a_batch_is_placed_by_what_completed_after_the_last_mark() {
        let steps = two();
        let error = server_error("2BP01", "cannot drop", None);
        let marks = vec![Mark { completed: 14, notices: 0, value: Some("1500".into()) }];
        // After the first's mark (statement 15): BEGIN and the second's first statement completed.
        let mut fake = Fake::default()
            .then(failing(Script { completed: 17, error: Some(error), marks, ..Script::default() }, TxStatus::Failed));
        let failed = run_batch(&mut fake, &steps, &target(true), &[false, true]).failed.unwrap();
        let Kind::MigrationFailed(f) = &failed.error.kind else { panic!("{:?}", failed.error.kind) };
        assert_eq!((f.migration.name.as_str(), f.line, f.column), ("20250102000000_b", Some(2), None));
    }

    #[test]
    fn a_connection_lost_after_every_mark_leaves_every_step_committed() {
        let steps = two();
        let marks = vec![
            Mark { completed: 14, notices: 0, value: Some("1500".into()) },
            Mark { completed: 30, notices: 0, value: Some("4000".into()) },
        ];
        let script = Script { completed: 31, error: Some(lost_connection()), marks, ..Script::default() };
        let mut fake = Fake::default().then(failing(script, TxStatus::Unknown));
        let b = run_batch(&mut fake, &steps, &target(true), &[false, true]);
        assert_eq!(b.ran.len(), 2);
        assert!(b.failed.is_none() && !b.refused_whole);
    }

    #[test]
    fn a_batch_the_server_refuses_whole_ran_nothing() {
        let steps = two();
        let error = server_error("42601", "syntax error at or near \"nope\"", Some(900));
        let mut fake = Fake::default()
            .then(failing(Script { completed: 0, error: Some(error), ..Script::default() }, TxStatus::Idle));
        let b = run_batch(&mut fake, &steps, &target(true), &[false, true]);
        assert!(b.refused_whole && b.ran.is_empty() && b.failed.is_none());
        assert_eq!(fake.sent_containing("ROLLBACK"), 0);
    }

    #[test]
    fn a_failure_with_a_position_points_into_the_file_and_is_rolled_back() {
        let sql = "CREATE TABLE a (id int);\nCREATE TABLE b (id nope);\n";
        let at = BEGIN.len() + sql.find("nope").unwrap() + 1;
        let error = server_error("42704", "type \"nope\" does not exist", Some(at));
        let mut fake = Fake::default()
            .then(failing(Script { completed: 2, error: Some(error), ..Script::default() }, TxStatus::Failed));
        let p = migration("20250101000000_a", sql, true);
        let failed = run(&mut fake, &p, &target(true)).err().unwrap();
        assert_eq!(failed.outcome, Outcome::RolledBack);
        assert!(matches!(failed.error.kind, Kind::MigrationFailed(_)));
        assert!(failed.error.message.contains("migrations/20250101000000_a/up.sql:2:20"), "{}", failed.error.message);
        assert_eq!(fake.sent_containing("ROLLBACK"), 1);
    }

    #[test]
    fn a_failure_without_a_position_is_placed_by_the_statements_completed() {
        let sql = "CREATE TABLE a (id int);\n-- why\nCREATE EXTENSION nope;\nCREATE TABLE c (id int);\n";
        // BEGIN and the first statement completed.
        let error = server_error("0A000", "extension \"nope\" is not available", None);
        let mut fake = Fake::default()
            .then(failing(Script { completed: 2, error: Some(error), ..Script::default() }, TxStatus::Failed))
            .answering("pg_available_extensions", |_| Ok(super::super::pq::Rows::one(false)));
        let p = migration("20250101000000_a", sql, true);
        let failed = run(&mut fake, &p, &target(true)).err().unwrap();
        assert!(failed.error.message.contains("up.sql:3: "), "{}", failed.error.message);
        // The server was asked which extension it lacks: the data for the hint.
        let Kind::MigrationFailed(f) = &failed.error.kind else { panic!("{:?}", failed.error.kind) };
        assert_eq!(f.missing_extension.as_deref(), Some("nope"));
    }

    #[test]
    fn a_lock_released_by_the_migration_names_that_migration() {
        let sql = "DO $$ BEGIN EXECUTE 'SELECT pg_adv' || 'isory_unlock_all()'; END $$;\n";
        // Our check after the SQL divides by zero: a position past the file.
        let at = BEGIN.len() + sql.len() + 40;
        let error = server_error("22012", "division by zero", Some(at));
        let mut fake = Fake::default()
            .then(failing(Script { completed: 5, error: Some(error), ..Script::default() }, TxStatus::Failed));
        fake.lock = false;
        let failed = run(&mut fake, &migration("20250102000000_sly", sql, true), &target(true)).err().unwrap();
        assert_eq!(failed.error.kind, Kind::LockLost);
        assert!(failed.error.message.contains("20250102000000_sly"), "{}", failed.error.message);
    }

    #[test]
    fn a_lost_connection_leaves_the_outcome_to_the_server() {
        let mut fake = Fake::default().then(failing(
            Script { completed: 1, error: Some(lost_connection()), ..Script::default() },
            TxStatus::Unknown,
        ));
        let failed = run(&mut fake, &migration("20250101000000_a", "SELECT 1;\n", true), &target(true)).err().unwrap();
        assert_eq!(failed.outcome, Outcome::Unknown);
        assert!(matches!(failed.error.kind, Kind::ConnectionLost(_)));
        assert_eq!(fake.sent_containing("ROLLBACK"), 0, "nothing is sent on a dead connection");
    }

    #[test]
    fn outside_a_transaction_what_ran_stays_and_resume_is_offered() {
        let sql = "CREATE INDEX CONCURRENTLY a ON t (x);\nCREATE INDEX CONCURRENTLY b ON t (nope);\n";
        let second = sql.find("CREATE INDEX CONCURRENTLY b").unwrap();
        let at = sql[second..].find("nope").unwrap() + 1;
        let error = server_error("42703", "column \"nope\" does not exist", Some(at));
        let ok = || Answer { script: Script { completed: 1, ..Script::default() }, ..Answer::default() };
        // The progress row, the first statement, its progress, then the failure.
        let mut fake = Fake::default()
            .then(ok())
            .then(ok())
            .then(ok())
            .then(failing(Script { completed: 0, error: Some(error), ..Script::default() }, TxStatus::Idle));
        let p = migration("20250101000000_idx", sql, false);
        let failed = run(&mut fake, &p, &target(true)).err().unwrap();
        assert_eq!(failed.outcome, Outcome::Partly(1));
        assert!(failed.error.message.contains("up.sql:2:"), "{}", failed.error.message);
        assert!(failed.error.hint.as_deref().unwrap_or_default().contains("--resume"), "{:?}", failed.error.hint);
        assert_eq!(fake.sent_containing("statements_done = 1"), 1, "{:?}", fake.sent);
        assert_eq!(fake.sent_containing("INSERT INTO public.__diesel_schema_migrations"), 0);
    }

    #[test]
    fn the_notices_of_a_run_come_with_it() {
        let warning = Notice {
            severity: crate::error::Severity::Warning,
            message: "dropped rows".into(),
            detail: None,
            hint: None,
        };
        let mut fake = Fake::default().then(Answer {
            script: Script { completed: 9, copies_out: 1, ..Script::default() },
            then: None,
            notices: vec![warning],
        });
        let ran = run(&mut fake, &migration("20250101000000_a", "SELECT 1;\n", true), &target(true)).ok().unwrap();
        assert_eq!(ran.notices.len(), 1);
    }

    #[test]
    fn finds_the_extension_a_statement_creates() {
        assert_eq!(created_extension("CREATE EXTENSION vector"), Some("vector".into()));
        assert_eq!(
            created_extension("-- needs it\ncreate extension if not exists \"uuid-ossp\" with schema extensions"),
            Some("uuid-ossp".into())
        );
        assert_eq!(created_extension("CREATE TABLE extension (id int)"), None);
    }
}
