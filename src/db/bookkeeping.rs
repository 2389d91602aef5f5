//! Every write to the history: creating the tables, keeping them away from
//! Supabase's API roles, and the rows a migration adds or removes (sent in the
//! same transaction as the migration itself).

use super::history::{History, Ledger, COMPANION, DIESEL_TABLE, PARTIAL, SUPABASE_HISTORY};
use super::session::Session;
use super::query_error;
use crate::error::{Error, Kind, Result};
use crate::sql::literal;

/// Create what is missing; returns the ledger's table, schema-qualified.
pub fn ensure_tables(conn: &mut dyn Session, history: &History) -> Result<String> {
    let (table, sql) = ensure_tables_sql(history)?;
    conn.execute(&sql).map_err(|e| query_error("create the bookkeeping tables", e))?;
    conn.take_notices();
    Ok(table)
}

/// The ledger's table (schema-qualified) and the SQL that makes sure of it and of ours.
pub fn ensure_tables_sql(history: &History) -> Result<(String, String)> {
    let table = match (&history.table, &history.current_schema) {
        (None, _) if history.ledger == Ledger::Supabase => SUPABASE_HISTORY.to_string(),
        (Some(t), _) => t.clone(),
        (None, Some(schema)) => format!("{schema}.{DIESEL_TABLE}"),
        (None, None) => {
            return Err(Error::new(
                Kind::NoSchema,
                "the connection's search_path names no existing schema, so there is nowhere to create __diesel_schema_migrations",
            )
            .hint("set search_path to an existing schema (e.g. `ALTER ROLE ... SET search_path = public`), or create the schema"))
        }
    };
    let mut sql = String::new();
    if history.table.is_none() && history.ledger == Ledger::Supabase {
        // What the Supabase CLI makes (the columns it writes; newer CLIs add more, all nullable).
        sql.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS supabase_migrations;\n\
             CREATE TABLE IF NOT EXISTS {SUPABASE_HISTORY} (version text NOT NULL PRIMARY KEY, statements text[], name text);\n"
        ));
    } else if history.table.is_none() {
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
    if !history.has_partial_table {
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {PARTIAL} (\
               version VARCHAR(50) PRIMARY KEY NOT NULL, \
               name TEXT NOT NULL, \
               statements_done INTEGER NOT NULL, \
               statements_total INTEGER NOT NULL, \
               started_by TEXT NOT NULL, \
               started_at TIMESTAMPTZ NOT NULL DEFAULT pg_catalog.now());\n\
             REVOKE ALL ON {PARTIAL} FROM PUBLIC;\n"
        ));
    }
    if history.ledger == Ledger::Diesel {
        sql.push_str(&protect_sql(&table));
    }
    Ok((table, sql))
}

/// Supabase serves `public` through its REST API, and the very common
/// `GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated` would
/// hand diesel's table to everyone. Row level security with one policy that
/// admits every role but those two keeps the API out whatever it is granted,
/// while a role granted access on purpose (a read-only reporting role) still
/// reads it; the owner, diesel and superusers are unaffected. Run before and
/// after every run; a table we do not own is left as it is.
pub fn protect_sql(table: &str) -> String {
    format!(
        "DO $cargo_migrate$ DECLARE r text; t regclass := {}::regclass; BEGIN \
           IF pg_catalog.pg_has_role((SELECT relowner FROM pg_catalog.pg_class WHERE oid = t), 'USAGE') THEN \
             IF NOT (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = t) THEN \
               EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t); \
             END IF; \
             IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy WHERE polrelid = t AND polname = 'cargo_migrate_not_api_roles') THEN \
               EXECUTE pg_catalog.format('CREATE POLICY cargo_migrate_not_api_roles ON %s \
                 USING (current_user NOT IN (''anon'', ''authenticated'')) \
                 WITH CHECK (current_user NOT IN (''anon'', ''authenticated''))', t); \
             END IF; \
             FOR r IN SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated') LOOP \
               EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %I', t, r); \
             END LOOP; \
             EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', t); \
           END IF; \
         END $cargo_migrate$;\n",
        literal(table)
    )
}

pub fn protect(conn: &mut dyn Session, table: &str) -> Result<()> {
    conn.execute(&protect_sql(table)).map_err(|e| query_error("protect the bookkeeping table", e))
}

/// Put the session back as it was before the migration: it may have said
/// `SET ROLE`, `SET session_replication_role = replica` (as pg_dump output
/// does), changed search_path or made temporary tables. `DISCARD ALL` would
/// also release the migration lock, so the parts that matter are listed.
pub const RESET_SESSION: &str = "RESET SESSION AUTHORIZATION;\nRESET ROLE;\nRESET ALL;\nDISCARD TEMP;\n";

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

/// Server-side milliseconds since the current statement batch began: inside
/// one simple-query batch, that is how long the migration's SQL took.
pub const BATCH_MS: &str =
    "(extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.statement_timestamp()) * 1000)::bigint";

/// The rows that mark `version` applied: ours, Supabase's (with `statements`
/// when its table exists or is the ledger), diesel's (unless Supabase's is
/// the ledger); and, when it stopped part-way before, the end of its progress
/// row. `duration_ms` is SQL.
pub fn applied_sql(
    ledger: (Ledger, &str),
    r: &Record,
    duration_ms: &str,
    supabase: Option<&[&str]>,
    clear_partial: bool,
) -> String {
    let (ledger, diesel_table) = ledger;
    let Record { version, name, checksum, down_sql, batch, who } = r;
    let v = literal(version);
    let mut sql = format!(
        "INSERT INTO {COMPANION} (version, name, checksum, down_sql, batch, duration_ms, applied_by) \
         VALUES ({v}, {}, {}, {}, {batch}, {duration_ms}, pg_catalog.concat(session_user, ' via ', {})) \
         ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, \
           down_sql = EXCLUDED.down_sql, batch = EXCLUDED.batch, duration_ms = EXCLUDED.duration_ms, \
           applied_by = EXCLUDED.applied_by, applied_at = pg_catalog.now();\n",
        literal(name),
        literal(checksum),
        down_sql.as_deref().map(literal).unwrap_or_else(|| "NULL".into()),
        literal(who),
    );
    if clear_partial {
        sql.push_str(&format!("DELETE FROM {PARTIAL} WHERE version = {v};\n"));
    }
    if let Some(statements) = supabase {
        let short = name.split_once('_').map(|(_, n)| n).unwrap_or("");
        let array: Vec<String> = statements.iter().map(|s| literal(s.trim())).collect();
        sql.push_str(&format!(
            "INSERT INTO {SUPABASE_HISTORY} (version, name, statements) VALUES ({v}, {}, ARRAY[{}]::text[]) \
             ON CONFLICT (version) DO NOTHING;\n",
            literal(short),
            array.join(", ")
        ));
    }
    if ledger == Ledger::Diesel {
        sql.push_str(&format!("INSERT INTO {diesel_table} (version) VALUES ({v});\n"));
    }
    sql
}

/// The rows that mark `version` reverted.
pub fn reverted_sql(ledger: (Ledger, &str), version: &str, supabase: bool) -> String {
    let (ledger, diesel_table) = ledger;
    let v = literal(version);
    let mut sql = format!("DELETE FROM {COMPANION} WHERE version = {v};\n");
    if supabase || ledger == Ledger::Supabase {
        sql.push_str(&format!("DELETE FROM {SUPABASE_HISTORY} WHERE version = {v};\n"));
    }
    if ledger == Ledger::Diesel {
        sql.push_str(&format!("DELETE FROM {diesel_table} WHERE version = {v};\n"));
    }
    sql
}

/// A migration outside a transaction has begun: `status` can then tell how far it got.
pub fn partial_started_sql(version: &str, name: &str, total: usize, who: &str) -> String {
    format!(
        "INSERT INTO {PARTIAL} (version, name, statements_done, statements_total, started_by) \
         VALUES ({}, {}, 0, {total}, pg_catalog.concat(session_user, ' via ', {})) \
         ON CONFLICT (version) DO UPDATE SET statements_done = 0, statements_total = EXCLUDED.statements_total, \
           started_by = EXCLUDED.started_by, started_at = pg_catalog.now();",
        literal(version),
        literal(name),
        literal(who)
    )
}

pub fn partial_progress_sql(version: &str, done: usize) -> String {
    format!("UPDATE {PARTIAL} SET statements_done = {done} WHERE version = {};", literal(version))
}

pub fn partial_clear_sql(version: &str) -> String {
    format!("DELETE FROM {PARTIAL} WHERE version = {};", literal(version))
}

/// Record `checksum` as the one `version` was applied with (`repair`).
pub fn set_checksum(conn: &mut dyn Session, version: &str, checksum: &str) -> Result<bool> {
    let rows = conn
        .query(
            &format!("UPDATE {COMPANION} SET checksum = $2 WHERE version = $1 RETURNING version::text"),
            &[version, checksum],
        )
        .map_err(|e| query_error("record the checksum", e))?;
    Ok(rows.len == 1)
}

/// The rows that mark `version` applied without running it (`adopt`,
/// `baseline`): the ledger's and ours, dated `at` (SQL, a timestamptz).
pub fn recorded_sql(ledger: (Ledger, &str), r: &Record, at: &str) -> String {
    let (ledger, table) = ledger;
    let Record { version, name, checksum, down_sql, batch, who } = r;
    let v = literal(version);
    let mut sql = format!(
        "INSERT INTO {COMPANION} (version, name, checksum, down_sql, batch, duration_ms, applied_by, applied_at) \
         VALUES ({v}, {}, {}, {}, {batch}, 0, {}, {at}) ON CONFLICT (version) DO NOTHING;\n",
        literal(name),
        literal(checksum),
        down_sql.as_deref().map(literal).unwrap_or_else(|| "NULL".into()),
        literal(who),
    );
    match ledger {
        Ledger::Diesel => sql.push_str(&format!(
            "INSERT INTO {table} (version, run_on) VALUES ({v}, ({at}) AT TIME ZONE 'UTC') ON CONFLICT (version) DO NOTHING;\n"
        )),
        Ledger::Supabase => {
            let short = name.split_once('_').map(|(_, n)| n).unwrap_or("");
            sql.push_str(&format!(
                "INSERT INTO {SUPABASE_HISTORY} (version, name) VALUES ({v}, {}) ON CONFLICT (version) DO NOTHING;\n",
                literal(short)
            ))
        }
    }
    sql
}
