//! `up --rehearse --format json`: what each pending migration did on the scratch copy;
//! `complete --format json`: the contract of an expand/contract migration.

use serde::Serialize;

use crate::version::Version;

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RehearsalOutput {
    pub ok: bool,
    pub command: &'static str,
    /// Always true: nothing ran on `database`.
    pub rehearsal: bool,
    /// The target, password masked; it was only read.
    pub database: String,
    /// How the scratch copy was made: `template`, `target` (pg_dump | pg_restore) or `backup` (pg_restore of a file).
    pub copied_from: String,
    /// How long making the scratch copy took.
    pub copy_ms: u64,
    /// The scratch database's name (dropped at the end).
    pub scratch: String,
    /// How often the locks were sampled and the app's statements tried.
    pub sample_every_ms: u64,
    /// The lock_timeout of the app's probing statements.
    pub probe_lock_timeout_ms: u64,
    pub migrations: Vec<RehearsedMigration>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RehearsedMigration {
    pub version: Version,
    pub name: String,
    pub duration_ms: u64,
    /// The table locks seen held, strongest first.
    pub locks: Vec<RehearsedLock>,
    /// The strongest of them, if any was seen.
    pub strongest_lock: Option<RehearsedLock>,
    /// Tables whose file changed (the whole table was written again).
    pub rewritten: Vec<String>,
    /// Rows written, per table.
    pub rows: Vec<RehearsedRows>,
    /// Some app SELECT on a locked table hit its lock_timeout.
    pub reads_waited: bool,
    /// Some app INSERT/UPDATE/DELETE on a locked table hit its lock_timeout.
    pub writes_waited: bool,
    /// The longest stretch app reads were blocked on one table.
    pub reads_blocked_ms: u64,
    /// The longest stretch app writes were blocked on one table.
    pub writes_blocked_ms: u64,
    /// Each probed table and statement kind: tries and waits.
    pub probes: Vec<RehearsedProbes>,
}

#[derive(Serialize, Clone)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RehearsedLock {
    pub relation: String,
    /// PostgreSQL's name of the mode (`ShareLock`, `AccessExclusiveLock`, …).
    pub mode: String,
    pub held_ms: u64,
    pub blocks_reads: bool,
    pub blocks_writes: bool,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RehearsedRows {
    pub relation: String,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RehearsedProbes {
    pub relation: String,
    /// `read` (a SELECT) or `write` (a DELETE of no row, rolled back: the lock an INSERT/UPDATE takes).
    pub statement: &'static str,
    pub tries: usize,
    pub waited: usize,
    pub blocked_ms: u64,
}

/// `complete VERSION`.
#[derive(Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CompleteOutput {
    pub ok: bool,
    pub command: &'static str,
    pub version: Version,
    pub name: String,
    pub duration_ms: u64,
}
