//! The migration lock: a session advisory lock taken on the very connection
//! that runs the migrations. It lives exactly as long as any statement of the
//! run can still execute: if the process dies mid-migration, the server
//! finishes (or rolls back) what it was sent and only then ends the session
//! and frees the lock, so the next run waits and then sees the real outcome.

use std::time::{Duration, Instant};

use super::pq::Conn;
use super::query_error;
use crate::error::{Error, Kind, Result};

/// Two-key advisory lock: classid "migr", objid 1. Database-scoped.
pub const KEYS: (i32, i32) = (0x6d69_6772, 1);

/// What goes into every migration's transaction, before its bookkeeping, so
/// that it fails (division by zero: no plpgsql, it runs for every migration)
/// when the run no longer holds the lock. Always: a shared transaction lock
/// on the same key, which only fails while another session holds the lock
/// (our own exclusive lock does not conflict with it), and, until this
/// transaction ends, keeps any other run from taking it. When the migration's
/// SQL could release advisory locks itself (`pg_advisory_unlock_all()`,
/// `DISCARD ALL`), also the exact check, which reads `pg_locks` (a scan of the
/// whole lock table, too slow to run for every migration). What failed is then
/// told by `held`, asked after the rollback (a session lock is not
/// transactional, so the rollback does not bring it back).
pub fn check_sql(migration_sql: &str) -> String {
    let mut sql = format!("SELECT 1 / pg_catalog.pg_try_advisory_xact_lock_shared({}, {})::int;\n", KEYS.0, KEYS.1);
    if contains_ignore_case(migration_sql, "advisory") || contains_ignore_case(migration_sql, "discard") {
        sql.push_str(&check_held_sql());
    }
    sql
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Fails unless this session holds the lock (exact; reads `pg_locks`).
pub fn check_held_sql() -> String {
    format!(
        "SELECT 1 / (SELECT pg_catalog.count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' \
           AND pid = pg_catalog.pg_backend_pid() AND classid = {} AND objid = {} AND objsubid = 2 \
           AND mode = 'ExclusiveLock' AND granted)::int;\n",
        KEYS.0 as u32, KEYS.1
    )
}

/// Whether this session still holds the lock.
pub fn held(conn: &mut Conn) -> bool {
    conn.query(&check_held_sql(), &[]).is_ok()
}

/// The error when the lock turned out lost.
pub fn lost() -> Error {
    Error::new(
        Kind::LockLost,
        "the migration lock was released during the run (pg_advisory_unlock_all() or DISCARD ALL in a migration?); \
         the migration was rolled back and the run stopped",
    )
    .hint("remove the statement that releases advisory locks from the migration, then run the command again")
}

fn try_lock(conn: &mut Conn) -> Result<bool> {
    let rows = conn
        .query(&format!("SELECT pg_catalog.pg_try_advisory_lock({}, {})", KEYS.0, KEYS.1), &[])
        .map_err(|e| query_error("take the migration lock", e))?;
    Ok(rows.bool(0, 0).unwrap_or(false))
}

/// Take the lock on `conn`, calling `waiting(holder)` once if another session holds it.
pub fn acquire(conn: &mut Conn, timeout: Duration, waiting: impl FnOnce(&str)) -> Result<Option<Duration>> {
    if try_lock(conn)? {
        return Ok(None);
    }
    let holder = holder(conn);
    waiting(&holder);
    let start = Instant::now();
    while start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(100));
        if try_lock(conn)? {
            return Ok(Some(start.elapsed()));
        }
    }
    Err(Error::new(
        Kind::LockTimeout { holder: holder.clone() },
        format!("another run holds the migration lock on this database: {holder}; nothing was run"),
    )
    .hint(
        "wait for it to finish and run again, or raise --lock-timeout; if it is stuck, end it with \
         SELECT pg_terminate_backend(<pid>) (its transaction is then rolled back)",
    ))
}

/// Who holds the lock: the pid of the session running the migrations.
pub fn holder(conn: &mut Conn) -> String {
    let sql = format!(
        "SELECT pg_catalog.format('pid %s (%s, user %s, from %s, since %s)', a.pid, \
                coalesce(nullif(a.application_name, ''), 'unnamed client'), a.usename, \
                coalesce(a.client_addr::text, 'local socket'), \
                pg_catalog.to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS')) \
           FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
          WHERE l.locktype = 'advisory' AND l.granted AND l.mode = 'ExclusiveLock' \
            AND l.classid = {} AND l.objid = {} AND l.objsubid = 2 \
            AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())",
        KEYS.0 as u32, KEYS.1
    );
    conn.query(&sql, &[])
        .ok()
        .and_then(|rows| rows.text(0, 0))
        .map(|s| crate::show::clean(&s).into_owned())
        .unwrap_or_else(|| "another session".into())
}
