//! A batched backfill: a migration's UPDATE/DELETE run over key ranges of
//! `batch_size`, each range in its own transaction together with the row
//! that records how far it got (`cargo_migrate.backfill`), so no row lock
//! outlives one batch and a crash loses nothing: `up --resume` goes on after
//! the last range that committed, `status` shows how far it is.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::pq::PgError;
use super::session::Session;
use crate::sql::{self, literal};

pub const TABLE: &str = "cargo_migrate.backfill";

/// How a migration's statement is batched (from its metadata.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batched {
    pub table: String,
    pub key: String,
    pub batch_size: u64,
    pub pause: Duration,
    /// `up --resume`: go on from the recorded progress instead of the start.
    pub resume: bool,
}

/// How far a backfill is, for the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub version: String,
    pub batches: i64,
    pub after: i64,
    pub max: i64,
    pub elapsed: Duration,
}

type Sink = Box<dyn Fn(&Progress) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Where progress goes (a command that shows it on a terminal sets this once).
pub fn on_progress(f: impl Fn(&Progress) + Send + Sync + 'static) {
    let _ = SINK.set(Box::new(f));
}

pub fn create_sql() -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS cargo_migrate;\n\
         CREATE TABLE IF NOT EXISTS {TABLE} (\
           version VARCHAR(50) PRIMARY KEY NOT NULL, \
           relation TEXT NOT NULL, \
           key_after BIGINT NOT NULL, \
           key_max BIGINT NOT NULL, \
           batches BIGINT NOT NULL DEFAULT 0, \
           updated_at TIMESTAMPTZ NOT NULL DEFAULT pg_catalog.now());\n\
         REVOKE ALL ON {TABLE} FROM PUBLIC;"
    )
}

/// Why a backfill could not run: PostgreSQL's error, or ours.
pub enum Stop {
    Sql(PgError),
    Refused(String),
}

/// Run `statement` (an UPDATE/DELETE on `b.table`) in key-range batches.
pub fn run(conn: &mut dyn Session, version: &str, statement: &str, b: &Batched) -> Result<(), Stop> {
    let Some(d) = sql::dml(statement) else {
        return Err(Stop::Refused("only an UPDATE or DELETE (not WITH …) can be batched".into()));
    };
    if d.returning {
        return Err(Stop::Refused("a batched statement cannot have RETURNING (nobody reads its rows)".into()));
    }
    conn.execute(&create_sql()).map_err(Stop::Sql)?;
    let v = literal(version);
    let key = &b.key;
    let recorded = conn
        .query(&format!("SELECT key_after, key_max, batches FROM {TABLE} WHERE version = {v}"), &[])
        .map_err(Stop::Sql)?;
    let (mut after, max, mut batches) = match (b.resume, recorded.len) {
        (true, 1) => {
            (recorded.i64(0, 0).unwrap_or(0), recorded.i64(0, 1).unwrap_or(0), recorded.i64(0, 2).unwrap_or(0))
        }
        _ => {
            let bounds = conn
                .query(
                    &format!(
                        "SELECT (pg_catalog.min({key}) - 1)::pg_catalog.int8, pg_catalog.max({key})::pg_catalog.int8 FROM {}",
                        d.table
                    ),
                    &[],
                )
                .map_err(Stop::Sql)?;
            let (lo, hi) = (bounds.i64(0, 0).unwrap_or(0), bounds.i64(0, 1).unwrap_or(0));
            conn.execute(&format!(
                "INSERT INTO {TABLE} (version, relation, key_after, key_max) VALUES ({v}, {}, {lo}, {hi}) \
                 ON CONFLICT (version) DO UPDATE SET relation = EXCLUDED.relation, key_after = EXCLUDED.key_after, \
                   key_max = EXCLUDED.key_max, batches = 0, updated_at = pg_catalog.now()",
                literal(&b.table)
            ))
            .map_err(Stop::Sql)?;
            (lo, hi, 0)
        }
    };
    let start = Instant::now();
    let size = b.batch_size as i64;
    while after < max {
        let hi = after.saturating_add(size).min(max);
        let range = format!("{key} > {after} AND {key} <= {hi}");
        let text = format!(
            "BEGIN;\n{};\nUPDATE {TABLE} SET key_after = {hi}, batches = batches + 1, updated_at = pg_catalog.now() \
             WHERE version = {v};\nCOMMIT;",
            sql::narrowed(statement, &d, &range)
        );
        if let Err(e) = conn.execute(&text) {
            if !e.connection_lost {
                let _ = conn.execute("ROLLBACK");
            }
            return Err(Stop::Sql(e));
        }
        after = hi;
        batches += 1;
        if let Some(sink) = SINK.get() {
            sink(&Progress { version: version.to_string(), batches, after, max, elapsed: start.elapsed() });
        }
        if !b.pause.is_zero() && after < max {
            std::thread::sleep(b.pause);
        }
    }
    Ok(())
}

/// Forget a finished backfill's progress (it is applied now).
pub fn clear_sql(version: &str) -> String {
    format!(
        "DO $cargo_migrate$ BEGIN IF pg_catalog.to_regclass('{TABLE}') IS NOT NULL THEN \
           DELETE FROM {TABLE} WHERE version = {}; END IF; END $cargo_migrate$;",
        literal(version)
    )
}

/// Every backfill that stopped part-way: (version, relation, key_after, key_max, batches);
/// none when the table was never made.
pub fn unfinished(conn: &mut dyn Session) -> Vec<(String, String, i64, i64, i64)> {
    let Ok(rows) = conn.query(
        &format!("SELECT version::text, relation, key_after, key_max, batches FROM {TABLE} ORDER BY version"),
        &[],
    ) else {
        return Vec::new();
    };
    (0..rows.len)
        .map(|i| {
            (
                rows.text(i, 0).unwrap_or_default(),
                rows.text(i, 1).unwrap_or_default(),
                rows.i64(i, 2).unwrap_or(0),
                rows.i64(i, 3).unwrap_or(0),
                rows.i64(i, 4).unwrap_or(0),
            )
        })
        .collect()
}

/// Whether `b` batches this statement: an UPDATE/DELETE of its table.
pub fn batches(b: &Batched, statement: &str) -> bool {
    let last = |name: &str| name.rsplit('.').next().unwrap_or("").trim_matches('"').to_ascii_lowercase();
    sql::dml(statement).is_some_and(|d| last(&d.table) == last(&b.table))
}
