//! Running planned steps: read every file first (`source` reads them), make sure of the
//! bookkeeping tables, then one loop over the steps, each in its own
//! transaction or all in one (`--single-transaction`). On failure the error
//! says what this run did before it; when the connection drops, the database
//! is asked what really happened.

use std::time::Duration;

use crate::db::execute::{self, Outcome, Prepared, Recording};
use crate::db::ledger::{self, Exposure, Record};
use crate::db::pq::Notice;
use crate::db::{history, lock, query_error, History, Session};
use crate::error::{Action, ConnectionLoss, DatabaseHas, DoneStep, Error, Kind, Result};
use crate::plan::Step;
use crate::show::display_path;
use crate::source::Source;

/// One step as it happened.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub version: String,
    pub name: String,
    pub action: Action,
    pub duration: Duration,
    pub notices: Vec<Notice>,
    /// Reverted with the down.sql stored in the database.
    pub from_stored_down: bool,
}

impl StepReport {
    fn done(&self) -> DoneStep {
        DoneStep {
            version: self.version.as_str().into(),
            name: self.name.clone(),
            action: self.action,
            duration_ms: self.duration.as_millis() as u64,
        }
    }
}

pub struct Options {
    pub single_transaction: bool,
    /// Who runs this (`user@host pid N`), for the history.
    pub who: String,
    /// After the connection dropped mid-step, how long to wait for the old
    /// session to end before deciding what happened.
    pub settle_timeout: Duration,
    /// The API's roles, kept out of the bookkeeping tables (handed in from above).
    pub exposure: Exposure,
    /// `--durable-each`: every step's commit waits for the disk, not only the
    /// run's last (which makes all before it durable: the WAL is flushed in order).
    pub durable_each: bool,
    /// Told as the run goes (the progress display on a terminal), if anything watches.
    pub watch: Option<std::sync::Arc<dyn Watch>>,
}

/// What a progress display is told while a run goes: each step as it starts,
/// and for one outside a transaction each statement done.
pub trait Watch {
    /// Step `index` (from 0) of `total` starts; `statements`: its count when it runs statement by statement.
    fn started(&self, index: usize, total: usize, name: &str, statements: Option<usize>);
    /// `done` statements of the running step have run.
    fn statement(&self, done: usize);
}

impl Options {
    /// A run that waits for an interrupted session as long as it waits for the lock.
    pub fn new(single_transaction: bool, lock_timeout: Duration, exposure: Exposure) -> Options {
        Options {
            single_transaction,
            who: crate::db::connect::whoami(),
            settle_timeout: lock_timeout,
            exposure,
            durable_each: false,
            watch: None,
        }
    }
}

/// Opens a fresh session, to ask the server what happened after a connection dropped.
pub type Reconnect<'a> = &'a dyn Fn() -> Result<Box<dyn Session>>;

/// Read every file the steps need, before touching the database: a missing or
/// empty down.sql, a template up.sql, or a transactional migration that
/// commits by itself refuses the whole run.
/// `stored` holds the down.sql the database keeps for the versions to revert:
/// it is used when the folder is gone (a branch switch) or its down.sql no
/// longer is what was applied with the migration.
pub fn prepare(
    steps: &[Step],
    source: &Source,
    history: &History,
    stored: &[(String, String)],
    batch: i32,
    who: &str,
) -> Result<Vec<Prepared>> {
    refuse_up_only(steps, source, stored)?;
    steps
        .iter()
        .map(|step| {
            let (v, apply, skip) = match step {
                Step::Apply(v) => (v, true, 0),
                Step::Resume(v, done) => (v, true, *done),
                Step::Revert(v) => (v, false, 0),
            };
            // A stored down without a statement (the template, as it was when
            // applied) would revert nothing and drop the row: the file's own is run.
            let stored_down =
                stored.iter().find(|(sv, _)| sv == v).map(|(_, sql)| sql).filter(|sql| crate::sql::has_statement(sql));
            let Some(m) = source.find(v) else {
                // The folder is gone: only a revert from the stored down.sql is possible.
                let sql = stored_down
                    .filter(|_| !apply)
                    .ok_or_else(|| Error::new(Kind::UnknownVersion, format!("no migration folder for version {v}")))?;
                let name = history.applied.iter().find(|a| &a.version == v).and_then(|a| a.name.clone());
                let folder = name.unwrap_or_else(|| v.clone());
                let path = format!("{folder} (down.sql stored in the database)");
                return Ok(Prepared {
                    version: v.clone(),
                    folder,
                    path,
                    sql: sql.clone(),
                    in_transaction: true,
                    record: None,
                    skip: 0,
                    stopped_before: false,
                    from_stored_down: true,
                    backfill: None,
                });
            };
            let script = m.script(apply, stored_down.map(String::as_str))?;
            let record = apply.then(|| Record {
                version: v.clone(),
                name: m.name.clone(),
                checksum: script.checksum.clone().unwrap_or_default(),
                down_sql: m.down_to_keep(),
                batch,
                who: who.to_string(),
            });
            let stopped_before = history.partial.iter().any(|s| &s.version == v);
            // A backfill batches only when applied; `up --resume` goes on where it stopped.
            let backfill = match (apply, m.backfill()?) {
                (true, Some(spec)) => Some(crate::db::backfill::Batched {
                    table: spec.table,
                    key: spec.key,
                    batch_size: spec.batch_size,
                    pause: Duration::from_millis(spec.pause_ms),
                    resume: matches!(step, Step::Resume(..)),
                }),
                _ => None,
            };
            Ok(Prepared {
                version: v.clone(),
                folder: m.name.clone(),
                path: script.path,
                sql: script.sql,
                in_transaction: script.in_transaction,
                record,
                skip,
                stopped_before,
                from_stored_down: script.from_stored_down,
                backfill,
            })
        })
        .collect()
}

/// Up-only migrations among the reverts (Supabase files, single files with
/// no down section) refuse the run, all named at once: finding them one
/// `down` at a time would be tedious.
fn refuse_up_only(steps: &[Step], source: &Source, stored: &[(String, String)]) -> Result<()> {
    let up_only: Vec<&crate::source::Migration> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Revert(v) if !stored.iter().any(|(sv, _)| sv == v) => source.find(v),
            _ => None,
        })
        .filter(|m| m.is_up_only())
        .collect();
    let Some(first) = up_only.first() else {
        return Ok(());
    };
    let names: Vec<String> = up_only.iter().map(|m| display_path(&m.path)).collect();
    Err(Error::new(
        Kind::UpOnly,
        format!(
            "cannot revert {} migration(s): {} up-only (no down section, or a down.sql that says irreversible); nothing was run:\n  {}",
            up_only.len(),
            if up_only.len() == 1 { "it is" } else { "they are" },
            names.join("\n  ")
        ),
    )
    .hint(first.revert_hint()))
}

/// Everything the steps need, read and checked before anything is written.
fn read_steps(
    conn: &mut dyn Session,
    steps: &[Step],
    source: &Source,
    history: &History,
    options: &Options,
) -> Result<Vec<Prepared>> {
    let batch = history::next_batch(conn, history)?;
    let reverts: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Revert(v) if history.applied.iter().any(|a| &a.version == v && a.stored_down) => Some(v.as_str()),
            _ => None,
        })
        .collect();
    let stored = history::stored_down(conn, &reverts)?;
    let prepared = prepare(steps, source, history, &stored, batch, &options.who)?;
    if options.single_transaction {
        if let Some(p) = prepared.iter().find(|p| !p.in_transaction) {
            return Err(Error::new(
                Kind::NotTransactional,
                format!(
                    "{} runs outside a transaction (metadata.toml), so it cannot be part of --single-transaction; nothing was run",
                    p.folder
                ),
            )
            .hint("run without --single-transaction"));
        }
    }
    Ok(prepared)
}

/// One step as `--dry-run` shows it: the texts that would be sent, in order.
pub struct Planned {
    pub version: String,
    pub name: String,
    pub action: Action,
    pub texts: Vec<String>,
}

/// What `run` would send, changing nothing: the set-up of the bookkeeping
/// tables (when something is missing) and each step's texts; under
/// `--single-transaction`, BEGIN first and the lock check and COMMIT last.
pub fn dry_run(
    conn: &mut dyn Session,
    steps: &[Step],
    source: &Source,
    history: &History,
    options: &Options,
) -> Result<(String, Vec<Planned>)> {
    let prepared = read_steps(conn, steps, source, history, options)?;
    let (diesel_table, setup) = ledger::ensure_tables_sql(history, options.exposure)?;
    let mut recording = Recording {
        ledger: (history.ledger, &diesel_table),
        supabase_history: history.supabase_history || history.ledger == history::Ledger::Supabase,
        own_transaction: !options.single_transaction,
        who: &options.who,
        durable: true,
        on_statement: None,
    };
    let mut planned: Vec<Planned> = Vec::with_capacity(prepared.len());
    let mut i = 0;
    while i < prepared.len() {
        // Batched as `run` batches them: each text exactly as it goes in the batch's one round trip.
        let k = batch_len(&prepared[i..], &recording);
        let batch = &prepared[i..i + k];
        let texts: Vec<Vec<String>> = if k > 1 {
            execute::batch_texts(batch, &recording, &durables(options, i..i + k, prepared.len()))
                .into_iter()
                .map(|t| vec![t])
                .collect()
        } else {
            recording.durable = durable(options, i, prepared.len());
            vec![execute::texts(&batch[0], &recording)]
        };
        for (p, texts) in batch.iter().zip(texts) {
            planned.push(Planned {
                version: p.version.clone(),
                name: p.folder.clone(),
                action: if p.applies() { Action::Applied } else { Action::Reverted },
                texts,
            });
        }
        i += k;
    }
    if options.single_transaction {
        if let Some(first) = planned.first_mut() {
            first.texts.insert(0, "BEGIN;".into());
        }
        if let Some(last) = planned.last_mut() {
            last.texts.push(format!("{}COMMIT;", crate::db::lock::check_held_sql()));
        }
    }
    Ok((setup, planned))
}

/// Run the steps on `conn` (which holds the migration lock). `reconnect` opens
/// a fresh connection when the outcome of a step must be asked of the server.
pub fn run(
    conn: &mut dyn Session,
    reconnect: Reconnect<'_>,
    steps: &[Step],
    source: &Source,
    history: &History,
    options: &Options,
    on_step: &mut dyn FnMut(&StepReport),
) -> Result<Vec<StepReport>> {
    let prepared = read_steps(conn, steps, source, history, options)?;
    // Privileges first (no trigger fires for a REVOKE), so that even a
    // refused run takes back what GRANT ALL handed out; then nothing runs
    // while a hook of someone else's hangs on the tables.
    ledger::guard(conn, history, options.exposure)?;
    let diesel_table = ledger::ensure_tables(conn, history, options.exposure)?;
    let mut recording = Recording {
        ledger: (history.ledger, &diesel_table),
        supabase_history: history.supabase_history || history.ledger == history::Ledger::Supabase,
        own_transaction: !options.single_transaction,
        who: &options.who,
        durable: true,
        on_statement: None,
    };
    let tell = |done: usize| {
        if let Some(w) = &options.watch {
            w.statement(done);
        }
    };
    if options.watch.is_some() {
        recording.on_statement = Some(&tell);
    }
    if options.single_transaction {
        ledger::begin(conn, "the transaction")?;
    }
    let mut done: Vec<StepReport> = Vec::with_capacity(prepared.len());
    // Known now: once the connection is broken, libpq no longer tells.
    let old = OldSession { pid: conn.backend_pid(), bound: options.settle_timeout };
    // Steps up to here that a refused batch left to run one by one.
    let mut alone_until = 0;
    let mut i = 0;
    while i < prepared.len() {
        let k = if i < alone_until { 1 } else { batch_len(&prepared[i..], &recording) };
        let (ran, failed) = if k > 1 {
            let batch = &prepared[i..i + k];
            let durable = durables(options, i..i + k, prepared.len());
            if let Some(w) = &options.watch {
                // `n/N` counts to the batch's last; the name says which run together.
                let name = format!("{} … {} ({k} together)", batch[0].folder, batch[k - 1].folder);
                w.started(i + k - 1, prepared.len(), &name, None);
            }
            let b = execute::run_batch(conn, batch, &recording, &durable);
            if b.refused_whole {
                alone_until = i + k;
                continue;
            }
            (b.ran, b.failed)
        } else {
            let p = &prepared[i];
            recording.durable = durable(options, i, prepared.len());
            if let Some(w) = &options.watch {
                let statements = (!p.in_transaction).then(|| crate::sql::split_statements(&p.sql).len());
                w.started(i, prepared.len(), &p.folder, statements);
            }
            match execute::run(conn, p, &recording) {
                Ok(ran) => (vec![ran], None),
                Err(failed) => (Vec::new(), Some(failed)),
            }
        };
        let batch_end = i + k;
        for ran in ran {
            let p = &prepared[i];
            let report = StepReport {
                version: p.version.clone(),
                name: p.folder.clone(),
                action: if p.applies() { Action::Applied } else { Action::Reverted },
                duration: ran.duration,
                notices: ran.notices,
                from_stored_down: p.from_stored_down,
            };
            if !options.single_transaction {
                on_step(&report);
            }
            done.push(report);
            i += 1;
        }
        let Some(failed) = failed else { continue };
        let p = &prepared[i];
        if options.single_transaction {
            if failed.outcome != Outcome::Unknown {
                ledger::rollback(conn);
            }
            let mut e = failed.error;
            e.details.push(format!(
                "  --single-transaction: the whole run was rolled back; none of its {} step(s) is applied",
                prepared.len()
            ));
            e.done_before = Some(Vec::new());
            return Err(with_notices(e, &failed.notices));
        }
        let mut e = with_notices(failed.error, &failed.notices);
        if failed.outcome == Outcome::Unknown {
            // Each step of the text that was cut off may have committed: asked in order.
            let mut named = p.folder.as_str();
            for p in &prepared[i..batch_end.max(i + 1)] {
                // The message names the step asked about, once the one before it is found committed.
                if p.folder != named {
                    e.message = e.message.replacen(named, &p.folder, 1);
                    named = &p.folder;
                }
                let Some(report) = settle(&mut e, reconnect, &diesel_table, p, old) else { break };
                on_step(&report);
                done.push(report);
            }
            if !options.durable_each && !done.is_empty() {
                e.details.push(RELAXED_AFTER_LOSS.into());
            }
        } else if !options.durable_each && !done.is_empty() {
            // What this run committed without waiting for the disk is made durable before it says so.
            ledger::flush(conn);
        }
        e.details.push(done_so_far(&done));
        e.done_before = Some(done.iter().map(StepReport::done).collect());
        return Err(e);
    }
    if options.single_transaction {
        // One check for the whole run: per step it would scan a lock table
        // that grows with every step of the one transaction.
        if conn.execute(&crate::db::lock::check_held_sql()).is_err() {
            ledger::rollback(conn);
            let mut e = crate::db::lock::lost(None);
            e.details.push("  --single-transaction: the whole run was rolled back".into());
            e.done_before = Some(Vec::new());
            return Err(e);
        }
        if let Err(err) = ledger::commit(conn) {
            let mut e = query_error("commit the run", err.clone());
            if err.connection_lost {
                if let Some(last) = prepared.last() {
                    if settle(&mut e, reconnect, &diesel_table, last, old).is_some() {
                        e.details.push("  the commit reached the server: the whole run is applied".into());
                        e.done_before = Some(done.iter().map(StepReport::done).collect());
                        return Err(e);
                    }
                }
            }
            e.details.push("  --single-transaction: the whole run was rolled back".into());
            e.done_before = Some(Vec::new());
            return Err(e);
        }
        done.iter().for_each(on_step);
    }
    // A migration of this run may have granted `public` to the API roles.
    if let Err(mut e) = ledger::protect(conn, history.ledger, options.exposure) {
        // Every step is committed: the error says so, and what is left undone.
        e.details.push(done_so_far(&done));
        e.details.push(UNPROTECTED.into());
        e.done_before = Some(done.iter().map(StepReport::done).collect());
        return Err(e);
    }
    Ok(done)
}

/// After a run whose steps all committed, the bookkeeping tables' grants
/// could not be checked. (Not "run it again": for `down` that would revert more.)
const UNPROTECTED: &str = "  the bookkeeping tables' grants were not checked after it (a migration may have granted \
     them to the API's roles): the next `up`, `down` or `redo` checks them before anything else";

/// At most this many steps share one round trip.
const BATCH_STEPS: usize = 16;
/// And at most about this much SQL: a long file is likely a long migration, sent alone.
const BATCH_BYTES: usize = 64 * 1024;

/// How many of `steps`, from the first, go in one text: transactional ones
/// in transactions of their own, within the bounds (1: the first alone).
fn batch_len(steps: &[Prepared], recording: &Recording<'_>) -> usize {
    let mut bytes = 0;
    steps
        .iter()
        .take(BATCH_STEPS)
        .take_while(|p| {
            bytes += p.sql.len();
            execute::batchable(p, recording) && bytes <= BATCH_BYTES
        })
        .count()
        .max(1)
}

/// Whether step `i` of `n` commits durably: the last one always (the run
/// reports success only once all of it is on disk), every one with `--durable-each`.
fn durable(options: &Options, i: usize, n: usize) -> bool {
    options.durable_each || i + 1 == n
}

/// `durable` for steps `range` of `n` (a batch).
fn durables(options: &Options, range: std::ops::Range<usize>, n: usize) -> Vec<bool> {
    range.map(|i| durable(options, i, n)).collect()
}

/// When the connection dropped after relaxed commits: the server may have crashed.
const RELAXED_AFTER_LOSS: &str =
    "  this run committed its migrations without waiting for the disk (only its last commit waits, and \
     makes all before it durable): if the server crashed, the newest of them may be lost, each one whole, as if it \
     had not run; `cargo migrate status` shows what the database has";

/// Steps run one at a time inside a transaction the caller holds (`verify`
/// between savepoints): no BEGIN, COMMIT or lock check of their own, the
/// bookkeeping rows written as a run writes them.
pub struct InTransaction {
    ledger: history::Ledger,
    diesel_table: String,
    supabase_history: bool,
    who: String,
}

impl InTransaction {
    /// Makes sure of the bookkeeping tables (committed at once: call it outside the caller's transaction).
    pub fn new(conn: &mut dyn Session, history: &History, exposure: Exposure) -> Result<InTransaction> {
        Ok(InTransaction {
            ledger: history.ledger,
            diesel_table: ledger::ensure_tables(conn, history, exposure)?,
            supabase_history: history.supabase_history || history.ledger == history::Ledger::Supabase,
            who: crate::db::connect::whoami(),
        })
    }

    /// The steps' files read and checked, as `run` reads them (the files' own down.sql).
    pub fn prepare(&self, steps: &[Step], source: &Source, history: &History) -> Result<Vec<Prepared>> {
        prepare(steps, source, history, &[], 1, &self.who)
    }

    /// Run one prepared step; on failure the caller's transaction is aborted (roll back to a savepoint).
    pub fn run(&self, conn: &mut dyn Session, p: &Prepared) -> Result<Duration> {
        let recording = Recording {
            ledger: (self.ledger, &self.diesel_table),
            supabase_history: self.supabase_history,
            own_transaction: false,
            who: &self.who,
            durable: true,
            on_statement: None,
        };
        match execute::run(conn, p, &recording) {
            Ok(ran) => Ok(ran.duration),
            Err(failed) => Err(with_notices(failed.error, &failed.notices)),
        }
    }
}

/// The session that was running the step when its connection dropped.
#[derive(Debug, Clone, Copy)]
struct OldSession {
    pid: i32,
    bound: Duration,
}

/// After the connection dropped mid-step: ask a new connection whether the
/// step took effect, and say so. Returns the step's report when it did. The
/// server may still be running the step on the old session (only the client
/// side of the connection died): until that session ends, the history says
/// nothing true, so it is waited for (within the bound), and if it outlives
/// the bound the outcome is said to be unknown, never guessed.
fn settle(
    e: &mut Error,
    reconnect: Reconnect<'_>,
    diesel_table: &str,
    p: &Prepared,
    old: OldSession,
) -> Option<StepReport> {
    let notices = match &mut e.kind {
        Kind::MigrationFailed(f) => std::mem::take(&mut f.notices),
        _ => Vec::new(),
    };
    let mut loss =
        ConnectionLoss { migration: Some(execute::migration_ref(p)), applying: p.applies(), ..Default::default() };
    let recorded = reconnect().and_then(|mut c| {
        if !lock::wait_for_session_end(&mut *c, old.pid, old.bound)? {
            return Ok(None);
        }
        // The relaxed commits before the step, on disk before the history is read.
        ledger::flush(&mut *c);
        history::is_recorded(&mut *c, diesel_table, &p.version).map(Some)
    });
    let took_effect = match recorded {
        Err(err) => {
            loss.database_has = Some(DatabaseHas::Unknown);
            loss.reconnect_error = Some(err.message.clone());
            e.hint = Some("run `cargo migrate status` once the database is reachable: it shows what is applied".into());
            e.kind = Kind::ConnectionLost(Box::new(loss));
            return None;
        }
        Ok(None) => {
            e.hint = Some(format!(
                "run `cargo migrate status` once that session has ended: it shows whether {} is applied{}",
                p.folder,
                if old.pid > 0 {
                    format!(
                        " (SELECT pg_terminate_backend({}) ends it, rolling back what it has not committed)",
                        old.pid
                    )
                } else {
                    String::new()
                }
            ));
            e.kind = Kind::OutcomeUnknown {
                migration: execute::migration_ref(p),
                pid: (old.pid > 0).then_some(old.pid),
                waited_s: old.bound.as_secs(),
            };
            return None;
        }
        Ok(Some(recorded)) => recorded == p.applies(),
    };
    let report = if took_effect {
        loss.database_has = Some(DatabaseHas::Committed);
        e.hint = Some("nothing to undo; run the command again to continue".into());
        Some(StepReport {
            version: p.version.clone(),
            name: p.folder.clone(),
            action: if p.applies() { Action::Applied } else { Action::Reverted },
            duration: Duration::ZERO,
            notices,
            from_stored_down: p.from_stored_down,
        })
    } else if p.in_transaction {
        loss.database_has = Some(DatabaseHas::RolledBack);
        e.hint = Some("run the command again once the connection is stable".into());
        None
    } else {
        loss.database_has = Some(DatabaseHas::MaybePartly);
        None
    };
    e.kind = Kind::ConnectionLost(Box::new(loss));
    report
}

/// The server's messages while the failed step ran go with its error.
fn with_notices(mut e: Error, notices: &[Notice]) -> Error {
    match &mut e.kind {
        Kind::MigrationFailed(f) => f.notices.extend(notices.iter().cloned()),
        _ => {
            for n in notices {
                e.details.push(format!("  {}: {}", n.severity.as_str(), crate::show::clean(&n.message)));
            }
        }
    }
    e
}

fn done_so_far(done: &[StepReport]) -> String {
    if done.is_empty() {
        return "  before it, this run changed nothing".to_string();
    }
    let names: Vec<String> = done
        .iter()
        .map(|d| match d.action {
            Action::Applied => format!("applied {}", d.name),
            Action::Reverted => format!("reverted {}", d.name),
        })
        .collect();
    format!("  before it, this run {} (that stays done)", names.join(", "))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;
    use crate::db::fake::{lost_connection, server_error, Answer, Fake};
    use crate::db::pq::{Mark, Rows, Script, TxStatus};

    const TABLE: &str = "public.__diesel_schema_migrations";

    fn prepared(folder: &str) -> Prepared {
        Prepared {
            version: folder.split('_').next().unwrap().into(),
            folder: folder.into(),
            path: format!("migrations/{folder}/up.sql"),
            sql: "SELECT 1;\n".into(),
            in_transaction: true,
            record: None,
            skip: 0,
            stopped_before: false,
            from_stored_down: false,
            backfill: None,
        }
    }

    /// A server on which the old session is alive for `alive` more checks
    /// and the step is `recorded`; counts the checks.
    fn server(alive: u32, recorded: bool, checks: Rc<Cell<u32>>) -> Box<dyn Session> {
        let fake = Fake::default()
            .answering("pg_stat_activity", move |params| {
                assert_eq!(params, ["4242"]);
                checks.set(checks.get() + 1);
                Ok(Rows::one(checks.get() <= alive))
            })
            .answering(TABLE, move |_| Ok(Rows::one(recorded)));
        Box::new(fake)
    }

    /// A session that answers the run's set-up (the hooks looked for, the
    /// tables made sure of), then the first text of migrations with `answer`.
    fn set_up_then(answer: Answer) -> Fake {
        let ok = Answer { script: Script { completed: 1, ..Script::default() }, ..Answer::default() };
        Fake::default().answering("pg_trigger", |_| Ok(Rows::owned(Vec::new()))).then(ok.clone()).then(ok).then(answer)
    }

    fn lost() -> Error {
        Error::new(Kind::ConnectionLost(Box::default()), "the connection was lost")
    }

    #[test]
    fn the_outcome_is_read_only_once_the_old_session_has_ended() {
        let checks = Rc::new(Cell::new(0));
        let c = checks.clone();
        let reconnect = move || Ok(server(2, false, c.clone()));
        let old = OldSession { pid: 4242, bound: Duration::from_secs(60) };
        let mut e = lost();
        // A revert the server finished after the client side died: reverted, not "rolled back".
        let report = settle(&mut e, &reconnect, TABLE, &prepared("20250101000000_a"), old);
        assert!(report.is_some(), "{e:?}");
        assert_eq!(checks.get(), 3, "two checks saw it alive, the third saw it gone");
        assert!(matches!(e.kind, Kind::ConnectionLost(_)), "{:?}", e.kind);
    }

    #[test]
    fn an_old_session_that_outlives_the_bound_leaves_the_outcome_unknown() {
        let checks = Rc::new(Cell::new(0));
        let c = checks.clone();
        let reconnect = move || Ok(server(u32::MAX, false, c.clone()));
        let old = OldSession { pid: 4242, bound: Duration::ZERO };
        let mut e = lost();
        assert!(settle(&mut e, &reconnect, TABLE, &prepared("20250101000000_a"), old).is_none());
        assert!(matches!(e.kind, Kind::OutcomeUnknown { pid: Some(4242), .. }), "{:?}", e.kind);
        assert!(e.hint.as_deref().unwrap_or_default().contains("status"), "{:?}", e.hint);
    }

    #[test]
    fn a_connection_lost_after_the_last_step_says_every_step_is_applied() {
        let folder = Folder::new("protect", &["20250101000000", "20250102000000"]);
        let source = crate::source::load(&folder.0).unwrap();
        let history = History { current_schema: Some("public".into()), ..History::default() };
        let steps = [Step::Apply("20250101000000".into()), Step::Apply("20250102000000".into())];
        let ok = Answer { script: Script { completed: 1, ..Script::default() }, ..Answer::default() };
        // Set-up, both migrations in one text, then the grants' check after the run is cut off.
        let cut = Answer {
            script: Script { completed: 0, error: Some(lost_connection()), ..Script::default() },
            then: Some(TxStatus::Unknown),
            notices: Vec::new(),
        };
        let mut conn = Fake::default()
            .answering("pg_trigger", |_| Ok(Rows::owned(Vec::new())))
            .then(ok.clone())
            .then(ok)
            .then_completes()
            .then(cut);
        let reconnect = || -> Result<Box<dyn Session>> { panic!("nothing to settle") };
        let options = options(false);
        let e = run(&mut conn, &reconnect, &steps, &source, &history, &options, &mut |_| {}).err().unwrap();
        assert!(matches!(e.kind, Kind::ConnectionLost(_)), "{:?}", e.kind);
        let done: Vec<&str> = e.done_before.iter().flatten().map(|d| d.version.as_str()).collect();
        assert_eq!(done, ["20250101000000", "20250102000000"], "{:#?}", conn.sent);
        assert!(conn.sent.last().is_some_and(|s| s.contains("REVOKE")), "{:#?}", conn.sent);
    }

    /// A run's options as the tests use them: API roles, a minute to settle.
    fn options(durable_each: bool) -> Options {
        Options {
            single_transaction: false,
            who: "me".into(),
            settle_timeout: Duration::from_secs(60),
            exposure: Exposure { roles: &["anon"], schemas: &["public"] },
            durable_each,
            watch: None,
        }
    }

    #[test]
    fn only_the_last_step_of_a_run_waits_for_the_disk() {
        assert_eq!((0..3).map(|i| durable(&options(false), i, 3)).collect::<Vec<_>>(), [false, false, true]);
        assert!((0..3).all(|i| durable(&options(true), i, 3)));
    }

    /// A folder of migrations in the temporary directory, removed on drop.
    struct Folder(std::path::PathBuf);

    impl Folder {
        fn new(name: &str, versions: &[&str]) -> Folder {
            let dir = std::env::temp_dir().join(format!("cargo-migrate-runner-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for v in versions {
                let m = dir.join(format!("{v}_t{v}"));
                std::fs::create_dir_all(&m).unwrap();
                std::fs::write(m.join("up.sql"), format!("CREATE TABLE t{v} (id int);\n")).unwrap();
                std::fs::write(m.join("down.sql"), format!("DROP TABLE t{v};\n")).unwrap();
            }
            Folder(dir)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_run_guards_the_tables_first_and_settles_a_dropped_step() {
        let folder = Folder::new("settle", &["20250101000000", "20250102000000"]);
        let source = crate::source::load(&folder.0).unwrap();
        let history = History { current_schema: Some("public".into()), ..History::default() };
        let steps = [Step::Apply("20250101000000".into()), Step::Apply("20250102000000".into())];
        // Both migrations go in one text; the connection drops after the first one's mark.
        let mark = Mark { completed: 14, notices: 0, value: Some("1500".into()) };
        let dropped = Answer {
            script: Script { completed: 16, error: Some(lost_connection()), marks: vec![mark], ..Script::default() },
            then: Some(TxStatus::Unknown),
            notices: Vec::new(),
        };
        let mut conn = set_up_then(dropped);
        let checks = Rc::new(Cell::new(0));
        let c = checks.clone();
        let reconnect = move || Ok(server(1, true, c.clone()));
        let options = options(false);
        let mut seen = Vec::new();
        let e = run(&mut conn, &reconnect, &steps, &source, &history, &options, &mut |s| seen.push(s.version.clone()))
            .err()
            .unwrap();
        assert!(matches!(e.kind, Kind::ConnectionLost(_)), "{:?}", e.kind);
        let done: Vec<&str> = e.done_before.iter().flatten().map(|d| d.version.as_str()).collect();
        assert_eq!(done, ["20250101000000", "20250102000000"]);
        assert_eq!(seen, done);
        assert_eq!(checks.get(), 2);
        // Only the second, whose mark never came, was asked of the server.
        assert_eq!(conn.sent_containing("CREATE TABLE t20250102000000"), 1);
        // The hooks were looked for before any migration's text was sent.
        let hooks = conn.sent.iter().position(|s| s.contains("pg_trigger")).unwrap();
        let first = conn.sent.iter().position(|s| s.contains("CREATE TABLE t20250101000000")).unwrap();
        assert!(conn.sent[..hooks].iter().any(|s| s.contains("REVOKE")) && hooks < first, "{:#?}", conn.sent);
    }

    #[test]
    fn a_batch_the_server_refuses_whole_runs_again_one_step_at_a_time() {
        let folder = Folder::new("refused", &["20250101000000", "20250102000000"]);
        let source = crate::source::load(&folder.0).unwrap();
        let history = History { current_schema: Some("public".into()), ..History::default() };
        let steps = [Step::Apply("20250101000000".into()), Step::Apply("20250102000000".into())];
        let refused = Answer {
            script: Script {
                completed: 0,
                error: Some(server_error("42601", "syntax error", Some(9))),
                ..Script::default()
            },
            then: Some(TxStatus::Idle),
            notices: Vec::new(),
        };
        let mut conn = set_up_then(refused);
        let options = Options::new(false, Duration::from_secs(1), Exposure { roles: &["anon"], schemas: &["public"] });
        let reconnect = || Err(lost());
        let done = run(&mut conn, &reconnect, &steps, &source, &history, &options, &mut |_| {}).unwrap();
        assert_eq!(done.len(), 2);
        let texts: Vec<&String> = conn.sent.iter().filter(|s| s.contains("CREATE TABLE t2025")).collect();
        assert_eq!(texts.len(), 3, "{texts:#?}");
        assert!(texts[0].contains("CREATE TABLE t20250101000000") && texts[0].contains("CREATE TABLE t20250102000000"));
        assert!(
            !texts[1].contains("CREATE TABLE t20250102000000") && !texts[2].contains("CREATE TABLE t20250101000000")
        );
    }

    #[test]
    fn a_text_cut_off_before_any_mark_is_asked_step_by_step_and_the_error_names_the_last_asked() {
        let versions = ["20250101000000", "20250102000000", "20250103000000"];
        let folder = Folder::new("cut", &versions);
        let source = crate::source::load(&folder.0).unwrap();
        let history = History { current_schema: Some("public".into()), ..History::default() };
        let steps: Vec<Step> = versions.iter().map(|v| Step::Apply((*v).into())).collect();
        let dropped = Answer {
            script: Script { completed: 3, error: Some(lost_connection()), ..Script::default() },
            then: Some(TxStatus::Unknown),
            notices: Vec::new(),
        };
        let mut conn = set_up_then(dropped);
        let checks = Rc::new(Cell::new(0));
        let c = checks.clone();
        // The server says each one committed.
        let reconnect = move || Ok(server(1, true, c.clone()));
        let options = Options::new(false, Duration::from_secs(60), Exposure { roles: &["anon"], schemas: &["public"] });
        let e = run(&mut conn, &reconnect, &steps, &source, &history, &options, &mut |_| {}).err().unwrap();
        let done: Vec<&str> = e.done_before.iter().flatten().map(|d| d.version.as_str()).collect();
        assert_eq!(done, versions);
        let Kind::ConnectionLost(loss) = &e.kind else { panic!("{:?}", e.kind) };
        assert_eq!(loss.migration.as_ref().map(|m| m.name.as_str()), Some("20250103000000_t20250103000000"));
        assert!(e.message.contains("20250103000000_t20250103000000 ran"), "{}", e.message);
    }
}
