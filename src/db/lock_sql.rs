//! The migration lock's SQL text, shared by the seam's default methods
//! (`session.rs`) and the lock's logic (`lock.rs`), which drives a `Session`.

/// Two-key advisory lock: classid "migr", objid 1. Database-scoped.
pub const KEYS: (i32, i32) = (0x6d69_6772, 1);

/// What goes into every migration's transaction, before its bookkeeping, so
/// that it fails (division by zero: no plpgsql, it runs for every migration)
/// when the run no longer holds the lock, however the migration released it
/// (`pg_advisory_unlock_all()` spelled out, or built in dynamic SQL, or
/// `DISCARD ALL`). First a shared transaction lock on the same key, which
/// fails while another session holds the lock (our own exclusive lock does
/// not conflict with it) and, until this transaction ends, keeps any other
/// session from taking it; then our session lock is released and taken back
/// (`pg_advisory_unlock` is false when we no longer hold it), which under
/// that shared lock no one can slip between. Two function calls, where
/// reading `pg_locks` would scan the whole lock table for every migration.
/// A session lock is not transactional: a rollback leaves it as it was.
pub fn check_sql() -> String {
    let (a, b) = KEYS;
    format!(
        "SELECT 1 / pg_catalog.pg_try_advisory_xact_lock_shared({a}, {b})::int;\n\
         SELECT 1 / CASE WHEN pg_catalog.pg_advisory_unlock({a}, {b}) \
           THEN pg_catalog.pg_try_advisory_lock({a}, {b})::int ELSE 0 END;\n"
    )
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

/// Takes the lock without waiting: true when taken.
pub fn try_lock_sql() -> String {
    format!("SELECT pg_catalog.pg_try_advisory_lock({}, {})", KEYS.0, KEYS.1)
}

/// Gives the lock back (a long-lived session, an app's, keeps running after its migrations).
pub fn unlock_sql() -> String {
    format!("SELECT pg_catalog.pg_advisory_unlock({}, {})", KEYS.0, KEYS.1)
}
