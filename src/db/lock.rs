//! The migration lock: a session advisory lock taken on the very connection
//! that runs the migrations. It lives exactly as long as any statement of the
//! run can still execute: if the process dies mid-migration, the server
//! finishes (or rolls back) what it was sent and only then ends the session
//! and frees the lock, so the next run waits and then sees the real outcome.

use std::time::{Duration, Instant};

use super::query_error;
use super::session::Session;
use crate::error::{Error, Kind, Result};

pub use super::lock_sql::{check_held_sql, check_sql, KEYS};

/// Whether this session still holds the lock.
pub fn held(conn: &mut dyn Session) -> bool {
    conn.holds_lock()
}

/// The error when the lock turned out lost: `migration` released it (it was
/// rolled back), or None when only the end of the run noticed.
pub fn lost(migration: Option<&str>) -> Error {
    let message = match migration {
        Some(m) => format!(
            "{m} released the migration lock (pg_advisory_unlock_all(), in dynamic SQL too, or DISCARD ALL): \
             {m} was rolled back and the run stopped"
        ),
        None => "the migration lock was released during the run (pg_advisory_unlock_all() or DISCARD ALL in a \
                 migration?); the run was rolled back"
            .to_string(),
    };
    Error::new(Kind::LockLost, message).hint(format!(
        "remove the statement that releases advisory locks from {}, then run the command again",
        migration.unwrap_or("the migration")
    ))
}

fn try_lock(conn: &mut dyn Session) -> Result<bool> {
    conn.try_lock().map_err(|e| query_error("take the migration lock", e))
}

/// Take the lock on `conn`, calling `waiting(holder)` once if another session holds it.
pub fn acquire(conn: &mut dyn Session, timeout: Duration, waiting: impl FnOnce(&str)) -> Result<Option<Duration>> {
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

/// Give the lock back: an app's connection outlives its migrations, and
/// the next replica must not wait for the app to stop.
pub fn release(conn: &mut dyn Session) -> Result<()> {
    conn.query(&super::lock_sql::unlock_sql(), &[]).map(drop).map_err(|e| query_error("release the migration lock", e))
}

/// Who holds the lock: the pid of the session running the migrations.
pub fn holder(conn: &mut dyn Session) -> String {
    held_by(conn).unwrap_or_else(|| "another session".into())
}

/// The session holding the lock right now, if any (`pid N (application, user
/// U, from H, since T)`): a run in progress.
pub fn held_by(conn: &mut dyn Session) -> Option<String> {
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
    conn.query(&sql, &[]).ok().and_then(|rows| rows.text(0, 0)).map(|s| crate::show::clean(&s).into_owned())
}

/// Wait (up to `bound`) for the session with backend `pid` to end; with no
/// pid known, for the migration lock to be free. True once it has ended.
pub fn wait_for_session_end(conn: &mut dyn Session, pid: i32, bound: Duration) -> Result<bool> {
    let sql = if pid > 0 {
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_stat_activity WHERE pid = $1::int)".to_string()
    } else {
        format!(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted \
               AND classid = {} AND objid = {} AND objsubid = 2 AND $1::int = 0 \
               AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))",
            KEYS.0 as u32, KEYS.1
        )
    };
    let pid = pid.to_string();
    let start = Instant::now();
    loop {
        let alive = conn.query(&sql, &[&pid]).map_err(|e| query_error("check on the interrupted session", e))?;
        if alive.bool(0, 0) != Some(true) {
            return Ok(true);
        }
        if start.elapsed() >= bound {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
