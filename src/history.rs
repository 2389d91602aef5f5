//! What the database has applied: diesel's `__diesel_schema_migrations`, plus
//! the facts diesel does not keep, in our companion table
//! `cargo_migrate.migrations` (outside `public`, so Supabase's REST API never
//! serves it). Every statement here is schema-qualified: a migration may
//! change `search_path`.

use diesel::data_types::PgTimestamp;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};

use crate::error::{Error, Result};
use crate::sql::literal;

pub const DIESEL_TABLE: &str = "__diesel_schema_migrations";
pub const COMPANION: &str = "cargo_migrate.migrations";
pub const SUPABASE_HISTORY: &str = "supabase_migrations.schema_migrations";

/// One applied migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: String,
    /// When diesel recorded it: microseconds since 2000-01-01 (see `run_on_text`).
    pub run_on: i64,
    pub name: Option<String>,
    pub batch: Option<i32>,
    pub duration_ms: Option<i64>,
    pub applied_by: Option<String>,
}

impl Applied {
    pub fn run_on_text(&self) -> String {
        crate::names::format_pg_timestamp(self.run_on)
    }
}

impl From<Row> for Applied {
    fn from(r: Row) -> Self {
        Applied {
            version: r.version,
            run_on: r.run_on.0,
            name: r.name,
            batch: r.batch,
            duration_ms: r.duration_ms,
            applied_by: r.applied_by,
        }
    }
}

impl From<Bare> for Applied {
    fn from(r: Bare) -> Self {
        Applied { version: r.version, run_on: r.run_on.0, name: None, batch: None, duration_ms: None, applied_by: None }
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Timestamp)]
    run_on: PgTimestamp,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    batch: Option<i32>,
    #[diesel(sql_type = Nullable<BigInt>)]
    duration_ms: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    applied_by: Option<String>,
}

#[derive(QueryableByName)]
struct Bare {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Timestamp)]
    run_on: PgTimestamp,
}

#[derive(QueryableByName)]
struct LastBatch {
    #[diesel(sql_type = Nullable<Integer>)]
    last_batch: Option<i32>,
}

#[derive(Debug, Clone, QueryableByName)]
struct Probe {
    #[diesel(sql_type = Text)]
    search_path: String,
    #[diesel(sql_type = Nullable<Text>)]
    diesel_schema: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    current_schema: Option<String>,
    #[diesel(sql_type = Bool)]
    has_companion: bool,
    #[diesel(sql_type = Bool)]
    has_supabase_history: bool,
}

#[derive(Debug, Clone)]
pub struct History {
    /// Sorted by version, as diesel sorts.
    pub applied: Vec<Applied>,
    /// The session's `search_path` before any migration ran.
    pub search_path: String,
    /// `schema.__diesel_schema_migrations` where the app would find it, if it exists.
    pub diesel_table: Option<String>,
    current_schema: Option<String>,
    has_companion: bool,
    /// Supabase's own history table exists: keep it in step so `supabase
    /// migration list` and the dashboard agree with us.
    pub supabase_history: bool,
}

impl History {
    pub fn is_applied(&self, version: &str) -> bool {
        self.applied.binary_search_by(|a| a.version.as_str().cmp(version)).is_ok()
    }

    /// The batch number for a run that is about to write.
    pub fn next_batch(&self, conn: &mut PgConnection) -> Result<i32> {
        if !self.has_companion {
            return Ok(1);
        }
        let row: LastBatch = diesel::sql_query(format!("SELECT pg_catalog.max(batch) AS last_batch FROM {COMPANION}"))
            .get_result(conn)
            .map_err(|e| db_error("read the migration history", e))?;
        Ok(row.last_batch.unwrap_or(0) + 1)
    }
}

/// What the database has applied. With `facts`, also what our companion
/// table knows of each (name, batch, duration, who); without, only version and
/// time, which is all planning and the human `status` need, and much cheaper
/// at thousands of migrations.
pub fn read(conn: &mut PgConnection, facts: bool) -> Result<History> {
    // Where diesel's table is depends on search_path, exactly as for the app.
    let probe: Probe = diesel::sql_query(format!(
        "SELECT pg_catalog.current_setting('search_path') AS search_path, \
                (SELECT pg_catalog.quote_ident(n.nspname::text) FROM pg_catalog.pg_class c \
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                  WHERE c.oid = pg_catalog.to_regclass('{DIESEL_TABLE}')) AS diesel_schema, \
                pg_catalog.quote_ident(pg_catalog.current_schema()::text) AS current_schema, \
                pg_catalog.to_regclass('{COMPANION}') IS NOT NULL AS has_companion, \
                pg_catalog.to_regclass('{SUPABASE_HISTORY}') IS NOT NULL AS has_supabase_history"
    ))
    .get_result(conn)
    .map_err(|e| db_error("read the migration history", e))?;
    let diesel_table = probe.diesel_schema.as_ref().map(|s| format!("{s}.{DIESEL_TABLE}"));
    let applied = match &diesel_table {
        None => Vec::new(),
        Some(table) => {
            // Plain rows, the time in binary: formatting thousands of
            // timestamps as text costs the server more than anything else here.
            // Without facts, version and time only: they decode much faster.
            let mut rows: Vec<Applied> = if facts && probe.has_companion {
                diesel::sql_query(format!(
                    "SELECT d.version::text AS version, d.run_on, c.name, c.batch, c.duration_ms, c.applied_by \
                       FROM {table} d LEFT JOIN {COMPANION} c ON c.version = d.version"
                ))
                .load::<Row>(conn)
                .map_err(|e| db_error("read the migration history", e))?
                .into_iter()
                .map(Applied::from)
                .collect()
            } else {
                diesel::sql_query(format!("SELECT d.version::text AS version, d.run_on FROM {table} d"))
                    .load::<Bare>(conn)
                    .map_err(|e| db_error("read the migration history", e))?
                    .into_iter()
                    .map(Applied::from)
                    .collect()
            };
            // Byte order, as diesel and our source sort (ORDER BY would follow the collation).
            if !rows.is_sorted_by(|a, b| a.version <= b.version) {
                rows.sort_unstable_by(|a, b| a.version.cmp(&b.version));
            }
            rows
        }
    };
    Ok(History {
        applied,
        search_path: probe.search_path,
        diesel_table,
        current_schema: probe.current_schema,
        has_companion: probe.has_companion,
        supabase_history: probe.has_supabase_history,
    })
}

/// Create the bookkeeping tables if they are missing and keep them away from
/// Supabase's API roles. Returns diesel's table, schema-qualified.
pub fn ensure_tables(conn: &mut PgConnection, history: &History) -> Result<String> {
    let table = match (&history.diesel_table, &history.current_schema) {
        (Some(t), _) => t.clone(),
        (None, Some(schema)) => format!("{schema}.{DIESEL_TABLE}"),
        (None, None) => {
            return Err(Error::new(
                "no_schema",
                "the connection's search_path names no existing schema, so there is nowhere to create __diesel_schema_migrations",
            )
            .hint("set search_path to an existing schema (e.g. `ALTER ROLE ... SET search_path = public`), or create the schema"))
        }
    };
    let mut sql = String::new();
    if history.diesel_table.is_none() {
        // diesel's own DDL (diesel/src/migration/setup_migration_table.sql), qualified.
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (\
               version VARCHAR(50) PRIMARY KEY NOT NULL, \
               run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
        ));
    }
    if !history.has_companion {
        sql.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS cargo_migrate;\n\
             REVOKE ALL ON SCHEMA cargo_migrate FROM PUBLIC;\n\
             CREATE TABLE IF NOT EXISTS {COMPANION} (\
               version VARCHAR(50) PRIMARY KEY NOT NULL, \
               name TEXT NOT NULL, \
               checksum TEXT NOT NULL, \
               down_sql TEXT, \
               batch INTEGER NOT NULL, \
               duration_ms BIGINT NOT NULL, \
               applied_by TEXT NOT NULL, \
               applied_at TIMESTAMPTZ NOT NULL DEFAULT pg_catalog.now());\n\
             REVOKE ALL ON {COMPANION} FROM PUBLIC;\n"
        ));
    }
    // Supabase grants its API roles everything in `public` by default: take
    // diesel's table back from them, wherever it lives.
    sql.push_str(&format!(
        "DO $cargo_migrate$ DECLARE r text; BEGIN \
           FOR r IN SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated') LOOP \
             EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %I', {}, r); \
           END LOOP; \
           EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', {}); \
         END $cargo_migrate$;",
        literal(&table),
        literal(&table)
    ));
    diesel::connection::SimpleConnection::batch_execute(conn, &sql)
        .map_err(|e| db_error("create the bookkeeping tables", e))?;
    Ok(table)
}

/// SQL that records an applied migration in the companion table (run inside
/// the migration's transaction, right after its SQL).
/// The facts we keep about an applied migration.
#[derive(Debug, Clone)]
pub struct Record {
    pub version: String,
    pub name: String,
    pub checksum: String,
    pub down_sql: Option<String>,
    pub batch: i32,
    pub who: String,
}

/// `duration_ms` is SQL: a literal, or an expression the server computes.
pub fn record_applied(r: &Record, duration_ms: &str) -> String {
    let Record { version, name, checksum, down_sql, batch, who } = r;
    format!(
        "INSERT INTO {COMPANION} (version, name, checksum, down_sql, batch, duration_ms, applied_by) \
         VALUES ({}, {}, {}, {}, {batch}, {duration_ms}, pg_catalog.concat(session_user, ' via ', {})) \
         ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, \
           down_sql = EXCLUDED.down_sql, batch = EXCLUDED.batch, duration_ms = EXCLUDED.duration_ms, \
           applied_by = EXCLUDED.applied_by, applied_at = pg_catalog.now();",
        literal(version),
        literal(name),
        literal(checksum),
        down_sql.as_deref().map(literal).unwrap_or_else(|| "NULL".into()),
        literal(who),
    )
}

pub fn record_reverted(version: &str) -> String {
    format!("DELETE FROM {COMPANION} WHERE version = {};", literal(version))
}

/// Supabase's history row: version, the name after it, and the statements.
pub fn supabase_applied(version: &str, folder: &str, statements: &[&str]) -> String {
    let name = folder.split_once('_').map(|(_, n)| n).unwrap_or("");
    let array: Vec<String> = statements.iter().map(|s| literal(s.trim())).collect();
    format!(
        "INSERT INTO {SUPABASE_HISTORY} (version, name, statements) VALUES ({}, {}, ARRAY[{}]::text[]) \
         ON CONFLICT (version) DO NOTHING;",
        literal(version),
        literal(name),
        array.join(", ")
    )
}

pub fn supabase_reverted(version: &str) -> String {
    format!("DELETE FROM {SUPABASE_HISTORY} WHERE version = {};", literal(version))
}

/// Server-side milliseconds since the current statement batch began: inside
/// one simple-query batch, that is how long the migration's SQL took.
pub const BATCH_MS: &str =
    "(extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.statement_timestamp()) * 1000)::bigint";

pub fn diesel_applied(table: &str, version: &str) -> String {
    format!("INSERT INTO {table} (version) VALUES ({});", literal(version))
}

pub fn diesel_reverted(table: &str, version: &str) -> String {
    format!("DELETE FROM {table} WHERE version = {};", literal(version))
}

/// SQL that puts `search_path` back to what the session started with, so a
/// migration that changes it cannot break the next one or the bookkeeping.
pub fn restore_search_path(search_path: &str) -> String {
    format!("SELECT pg_catalog.set_config('search_path', {}, false);", literal(search_path))
}

pub fn db_error(action: &str, err: diesel::result::Error) -> Error {
    let msg = match &err {
        diesel::result::Error::DatabaseError(_, info) => info.message().to_string(),
        other => other.to_string(),
    };
    let e = Error::new("database", format!("could not {action}: {msg}"));
    if msg.contains("permission denied") {
        e.hint(format!(
            "connect as the role that owns the bookkeeping tables ({DIESEL_TABLE}, {COMPANION}) or one that may create them; \
             on Supabase use the `postgres` user through the session pooler (port 5432)"
        ))
    } else {
        e
    }
}
