//! The ledger API: every write to the history, and the transactions around
//! them. Creating the tables, keeping them away from every role but their
//! owner, refusing hooks of someone else's on them, the rows a migration
//! adds or removes (sent in the same transaction as the migration itself),
//! and the rows `adopt`/`baseline`/`repair` write. No BEGIN, COMMIT or
//! INSERT text is sent from outside `db/`.

use super::history::{History, Ledger, COMPANION, DIESEL_TABLE, PARTIAL, SUPABASE_HISTORY};
use super::query_error;
use super::session::Session;
use crate::error::{Error, Kind, Result};
use crate::sql::literal;

/// Open the transaction a command runs in (`--single-transaction`, seeds).
pub fn begin(conn: &mut dyn Session, what: &str) -> Result<()> {
    conn.execute("BEGIN").map_err(|e| query_error(&format!("begin {what}"), e))
}

/// End it, keeping nothing; best effort: the connection may be gone, and
/// then the server rolls back by itself.
pub fn rollback(conn: &mut dyn Session) {
    let _ = conn.execute("ROLLBACK");
}

/// A point inside the transaction to roll back to (`verify`'s down, undone).
pub fn savepoint(conn: &mut dyn Session, name: &str) -> Result<()> {
    conn.execute(&format!("SAVEPOINT {}", crate::sql::ident(name))).map_err(|e| query_error("set a savepoint", e))
}

/// Back to `savepoint(name)`, keeping the transaction (and the savepoint) open.
pub fn rollback_to(conn: &mut dyn Session, name: &str) -> Result<()> {
    conn.execute(&format!("ROLLBACK TO SAVEPOINT {}", crate::sql::ident(name)))
        .map_err(|e| query_error("roll back to the savepoint", e))
}

/// End it, keeping everything. The raw error: a lost connection leaves the
/// outcome to be asked of the server.
pub fn commit(conn: &mut dyn Session) -> std::result::Result<(), super::session::PgError> {
    conn.execute("COMMIT")
}

/// End it after putting the session back as it was (what the SQL run in it
/// set, `SET ROLE` included, does not reach COMMIT); on failure, roll back.
pub fn reset_and_commit(conn: &mut dyn Session, what: &str) -> Result<()> {
    conn.execute(&format!("{RESET_SESSION}COMMIT;")).map_err(|e| {
        rollback(conn);
        query_error(&format!("commit {what}"), e)
    })
}

/// The roles and schemas an API in front of the database serves (Supabase's
/// `anon`/`authenticated` and `public`). The layer above hands them in: the
/// bookkeeping tables are closed to these roles, the advisor checks these schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    pub roles: &'static [&'static str],
    pub schemas: &'static [&'static str],
}

/// Before anything writes: not a standby, privileges taken back, hooks of
/// someone else's refused.
pub fn guard(conn: &mut dyn Session, history: &History, exposure: Exposure) -> Result<()> {
    refuse_standby(history)?;
    protect(conn, history.ledger, exposure)?;
    refuse_foreign_hooks(conn)
}

/// A standby (a read replica, in recovery) runs no write: say so before
/// trying one, rather than PostgreSQL's "cannot execute … in a read-only
/// transaction" about whichever statement came first.
pub fn refuse_standby(history: &History) -> Result<()> {
    if !history.standby {
        return Ok(());
    }
    Err(Error::new(
        Kind::Standby,
        "this server is a standby (a read replica in recovery): it cannot be migrated; nothing was run",
    )
    .hint("point DATABASE_URL (or --database-url) at the primary; `status` works on a standby"))
}

/// Record migrations as applied without running them (`adopt`,
/// `baseline`), each dated `at` (a timestamptz as text, or now), in one
/// transaction that also makes sure of the tables.
pub fn record_without_running(
    conn: &mut dyn Session,
    history: &History,
    records: &[(Record, Option<String>)],
    also: Option<&str>,
    exposure: Exposure,
) -> Result<()> {
    guard(conn, history, exposure)?;
    let (table, setup) = ensure_tables_sql(history, exposure)?;
    let mut sql = format!("BEGIN;\n{setup}");
    for (rec, at) in records {
        let at =
            at.as_deref().map(|a| format!("{}::timestamptz", literal(a))).unwrap_or_else(|| "pg_catalog.now()".into());
        sql.push_str(&recorded_sql((history.ledger, &table), rec, &at));
    }
    // What the caller does in the same transaction (adopt --retire moves the old table).
    sql.push_str(also.unwrap_or_default());
    sql.push_str("COMMIT;");
    conn.execute(&sql).map_err(|e| {
        rollback(conn);
        query_error("record the adopted migrations", e)
    })
}

/// Create what is missing; returns the ledger's table, schema-qualified.
pub fn ensure_tables(conn: &mut dyn Session, history: &History, exposure: Exposure) -> Result<String> {
    let (table, sql) = ensure_tables_sql(history, exposure)?;
    conn.execute(&sql).map_err(|e| query_error("create the bookkeeping tables", e))?;
    conn.take_notices();
    Ok(table)
}

/// The ledger's table (schema-qualified) and the SQL that makes sure of it and of ours.
pub fn ensure_tables_sql(history: &History, exposure: Exposure) -> Result<(String, String)> {
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
    sql.push_str(&protect_sql(history.ledger, exposure));
    Ok((table, sql))
}

/// The bookkeeping tables that exist, as a relation list for the catalog:
/// ours, Supabase's history, and diesel's where the search path finds it.
const TABLES: &str =
    "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE (n.nspname = 'cargo_migrate' AND c.relname IN ('migrations', 'partial', 'backfill')) \
        OR (n.nspname = 'supabase_migrations' AND c.relname = 'schema_migrations') \
        OR c.oid = pg_catalog.to_regclass('__diesel_schema_migrations')";

/// The one policy the tool makes on a bookkeeping table.
const OUR_POLICY: &str = "cargo_migrate_not_api_roles";

/// No role but the owner keeps a privilege that could change the history or
/// run code in the session that migrates, whatever `GRANT ALL ON ALL TABLES`
/// or default privileges (Supabase's, for every table in `public`) handed
/// out: TRIGGER lets a role hang its function on our INSERT, which the owner
/// then runs; TRUNCATE ignores row level security. A role granted SELECT on
/// purpose (a reporting role) keeps it, except the API's roles and PUBLIC,
/// which keep nothing. Then, for diesel's table in `public` (which an API
/// such as Supabase's serves), row level security with one policy that
/// admits every role but the API's. Run before and after every run that
/// writes; a table we do not own is left as it is.
pub fn protect_sql(ledger: Ledger, exposure: Exposure) -> String {
    // `'anon', 'authenticated'`, as literals; inside the policy's own
    // format() string each quote is doubled once more.
    let roles: Vec<String> = exposure.roles.iter().map(|r| literal(r)).collect();
    let api_roles = if roles.is_empty() { "NULL".to_string() } else { roles.join(", ") };
    let admitted = if roles.is_empty() {
        "true".to_string()
    } else {
        format!("current_user NOT IN ({})", api_roles.replace('\'', "''"))
    };
    let mut sql = format!(
        "DO $cargo_migrate$ DECLARE t regclass; g record; BEGIN \
           FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c WHERE c.oid IN ({TABLES}) \
                       AND pg_catalog.pg_has_role(c.relowner, 'USAGE') LOOP \
             FOR g IN SELECT DISTINCT a.grantee, a.privilege_type FROM pg_catalog.pg_class c, \
                        LATERAL (SELECT * FROM pg_catalog.aclexplode(c.relacl) UNION ALL \
                                 SELECT x.* FROM pg_catalog.pg_attribute att, \
                                   LATERAL pg_catalog.aclexplode(att.attacl) x \
                                  WHERE att.attrelid = c.oid AND att.attacl IS NOT NULL) a \
                       WHERE c.oid = t AND a.grantee <> c.relowner \
                         AND NOT (a.privilege_type = 'SELECT' AND a.grantee <> 0 AND a.grantee NOT IN \
                               (SELECT oid FROM pg_catalog.pg_roles WHERE rolname IN ({api_roles}))) LOOP \
               EXECUTE pg_catalog.format('REVOKE %s ON %s FROM %s CASCADE', g.privilege_type, t, \
                 CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END); \
             END LOOP; \
           END LOOP; \
         END $cargo_migrate$;\n"
    );
    if ledger == Ledger::Diesel {
        sql.push_str(&format!(
            "DO $cargo_migrate$ DECLARE t regclass := pg_catalog.to_regclass('__diesel_schema_migrations'); BEGIN \
               IF t IS NOT NULL AND pg_catalog.pg_has_role((SELECT relowner FROM pg_catalog.pg_class WHERE oid = t), 'USAGE') THEN \
                 IF NOT (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = t) THEN \
                   EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t); \
                 END IF; \
                 IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy WHERE polrelid = t AND polname = '{OUR_POLICY}') THEN \
                   EXECUTE pg_catalog.format('CREATE POLICY {OUR_POLICY} ON %s \
                     USING ({admitted}) WITH CHECK ({admitted})', t); \
                 END IF; \
               END IF; \
             END $cargo_migrate$;\n"
        ));
    }
    sql
}

pub fn protect(conn: &mut dyn Session, ledger: Ledger, exposure: Exposure) -> Result<()> {
    conn.execute(&protect_sql(ledger, exposure)).map_err(|e| query_error("protect the bookkeeping tables", e))
}

/// A trigger, rule or policy on a bookkeeping table that the tool did not
/// make: (what, name, table, the SQL that drops it).
const FOREIGN_HOOKS: &str = "\
WITH t AS (SELECT c.oid, c.oid::regclass::text AS name FROM pg_catalog.pg_class c WHERE c.oid IN (TABLES)) \
SELECT 'trigger', tg.tgname::text, t.name, pg_catalog.format('DROP TRIGGER %I ON %s;', tg.tgname, t.name) \
  FROM pg_catalog.pg_trigger tg JOIN t ON t.oid = tg.tgrelid WHERE NOT tg.tgisinternal \
UNION ALL \
SELECT 'rule', r.rulename::text, t.name, pg_catalog.format('DROP RULE %I ON %s;', r.rulename, t.name) \
  FROM pg_catalog.pg_rewrite r JOIN t ON t.oid = r.ev_class \
UNION ALL \
SELECT 'policy', p.polname::text, t.name, pg_catalog.format('DROP POLICY %I ON %s;', p.polname, t.name) \
  FROM pg_catalog.pg_policy p JOIN t ON t.oid = p.polrelid WHERE p.polname <> 'OUR_POLICY' \
ORDER BY 3, 1, 2";

/// Refuse, before anything runs, a trigger, rule or policy on a bookkeeping
/// table that the tool did not make: our bookkeeping INSERT would fire it
/// with the privileges of whoever runs migrations (a role granted TRIGGER
/// becomes superuser that way). Named, with the SQL that drops it; never fired.
pub fn refuse_foreign_hooks(conn: &mut dyn Session) -> Result<()> {
    let sql = FOREIGN_HOOKS.replace("(TABLES)", &format!("({TABLES})")).replace("OUR_POLICY", OUR_POLICY);
    let rows = conn.query(&sql, &[]).map_err(|e| query_error("check the bookkeeping tables", e))?;
    if rows.len == 0 {
        return Ok(());
    }
    let found: Vec<(String, String)> = (0..rows.len)
        .map(|i| {
            let text = |c| crate::show::clean(&rows.text(i, c).unwrap_or_default()).into_owned();
            (format!("{} {} on {}", text(0), text(1), text(2)), text(3))
        })
        .collect();
    let mut e = Error::new(
        Kind::ForeignHook,
        format!(
            "{} on cargo-migrate's bookkeeping tables that cargo-migrate did not make: recording a migration would \
             fire it with the privileges of the role that migrates; nothing was run",
            if found.len() == 1 { "a trigger, rule or policy is" } else { "triggers, rules or policies are" }
        ),
    );
    for (what, _) in &found {
        e.details.push(format!("  {what}"));
    }
    let drops: Vec<&str> = found.iter().map(|(_, sql)| sql.as_str()).collect();
    Err(e.hint(format!(
        "find out who made it (a role that was granted privileges on these tables can, so this may be an attack), \
         then, as the tables' owner: {}",
        drops.join(" ")
    )))
}

/// Put the session back as it was before the migration: it may have said
/// `SET ROLE`, `SET session_replication_role = replica` (as pg_dump output
/// does), changed search_path or made temporary tables. `DISCARD ALL` would
/// also release the migration lock, so the parts that matter are listed.
/// A step's commit that does not wait for the WAL to reach the disk; it
/// stays atomic, and the next durable commit of the run makes it durable.
pub const RELAXED_COMMIT: &str = "SET LOCAL synchronous_commit = off;\n";

/// Make every earlier commit of this session durable: a transaction with an
/// id commits with a WAL record, flushed (with all before it) when
/// synchronous_commit is on, as it is by default. For a run that stops after
/// relaxed commits. Best effort: the connection may be gone.
pub fn flush(conn: &mut dyn Session) {
    let _ = conn.execute("BEGIN;\nSELECT pg_catalog.txid_current();\nCOMMIT;");
}

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

/// The end of one migration in a batch sent as one text: microseconds since
/// the text began (a [`super::session::MARK`] result).
pub const MARK_SQL: &str =
    "SELECT (extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.statement_timestamp()) \
                            * 1000000)::bigint AS cargo_migrate_mark;\n";

/// [`BATCH_MS`] for a migration that follows `before` in the same text:
/// what the text has taken so far, less what they took (their rows are
/// committed by then, and their durations add up to the time they took).
pub fn batch_ms_after(before: &[&str]) -> String {
    if before.is_empty() {
        return BATCH_MS.to_string();
    }
    let list: Vec<String> = before.iter().map(|v| literal(v)).collect();
    format!(
        "({BATCH_MS} - (SELECT coalesce(pg_catalog.sum(duration_ms), 0) FROM {COMPANION} \
         WHERE version IN ({})))::bigint",
        list.join(", ")
    )
}

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

/// `squash`: a database that applied every squashed migration records the
/// baseline instead: the other squashed versions' rows go (diesel's, ours,
/// Supabase's), and the baseline's version keeps its row with the
/// baseline's name and checksum (an `embed_migrations!` app sees that
/// version applied, as before).
pub fn squashed_sql(ledger: (Ledger, &str), supabase: bool, baseline: (&str, &str, &str), others: &[String]) -> String {
    let (ledger, diesel_table) = ledger;
    let (version, name, checksum) = baseline;
    let list: Vec<String> = others.iter().map(|v| literal(v)).collect();
    let list = list.join(", ");
    let mut sql = String::new();
    if !others.is_empty() {
        sql.push_str(&format!("DELETE FROM {COMPANION} WHERE version IN ({list});\n"));
        if ledger == Ledger::Diesel {
            sql.push_str(&format!("DELETE FROM {diesel_table} WHERE version IN ({list});\n"));
        }
        if supabase || ledger == Ledger::Supabase {
            sql.push_str(&format!("DELETE FROM {SUPABASE_HISTORY} WHERE version IN ({list});\n"));
        }
    }
    sql.push_str(&format!(
        "UPDATE {COMPANION} SET name = {}, checksum = {}, down_sql = NULL WHERE version = {};\n",
        literal(name),
        literal(checksum),
        literal(version)
    ));
    if supabase || ledger == Ledger::Supabase {
        let short = name.split_once('_').map(|(_, n)| n).unwrap_or("");
        sql.push_str(&format!(
            "UPDATE {SUPABASE_HISTORY} SET name = {} WHERE version = {};\n",
            literal(short),
            literal(version)
        ));
    }
    sql
}

/// Run `squashed_sql` in one transaction, after the usual guards.
pub fn record_squash(conn: &mut dyn Session, history: &History, exposure: Exposure, sql: &str) -> Result<()> {
    guard(conn, history, exposure)?;
    let (_, setup) = ensure_tables_sql(history, exposure)?;
    conn.execute(&format!("BEGIN;\n{setup}{sql}COMMIT;")).map_err(|e| {
        rollback(conn);
        query_error("record the baseline", e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_roles_are_what_the_caller_hands_in() {
        let api = Exposure { roles: &["anon", "authenticated"], schemas: &["public"] };
        let sql = protect_sql(Ledger::Diesel, api);
        assert!(sql.contains("rolname IN (E'anon', E'authenticated')"), "{sql}");
        assert!(sql.contains("USING (current_user NOT IN (E''anon'', E''authenticated''))"), "{sql}");
        // Without an API in front, only PUBLIC and the write privileges go; the policy admits every role.
        let none = protect_sql(Ledger::Diesel, Exposure { roles: &[], schemas: &[] });
        assert!(none.contains("rolname IN (NULL)") && none.contains("USING (true) WITH CHECK (true)"), "{none}");
        assert!(!none.contains("anon"), "{none}");
        // Supabase's history is not in `public`: no policy there.
        assert!(!protect_sql(Ledger::Supabase, api).contains("CREATE POLICY"));
    }
}
