//! `up --rehearse`: what it asks of the server. The scratch database (made,
//! copied, dropped), the tables as they are before and after a migration
//! (file node, rows written), and the watcher: a thread with two sessions of
//! its own that, while a migration runs, samples which locks the migrating
//! session holds and tries an ordinary read and write on each table it has
//! locked, with a short `lock_timeout`, exactly as an app's query would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::query_error;
use super::session::Session;
use super::Conn;
use crate::error::{Error, Kind, Result};
use crate::rehearsal::{LockSample, Probe, ProbeKind, Table};

/// Schemas whose tables are the migrations' business (not ours, not PostgreSQL's).
const USER_TABLES: &str = "c.relkind IN ('r', 'p', 'm') \
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cargo_migrate', 'supabase_migrations') \
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
    AND c.relname <> '__diesel_schema_migrations'";

/// How long a probe waits for a lock before it counts as "would have waited".
pub const PROBE_LOCK_TIMEOUT_MS: u64 = 50;
/// Pause between two rounds of sampling and probing.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// The server's stats are written by each session now and then: make the
/// next idle moment write them, so the figures read after include the migration.
pub fn flush_stats(conn: &mut dyn Session, server_major: u32) {
    if server_major >= 15 {
        let _ = conn.execute("SELECT pg_catalog.pg_stat_force_next_flush()");
    } else {
        // The stats collector of older servers receives them within half a second.
        std::thread::sleep(Duration::from_millis(600));
        let _ = conn.execute("SELECT pg_catalog.pg_stat_clear_snapshot()");
    }
}

/// Every user table: its file node and the rows written to it so far.
pub fn tables(conn: &mut dyn Session) -> Result<Vec<Table>> {
    let sql = format!(
        "SELECT c.oid::pg_catalog.int8, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), \
                c.relfilenode::pg_catalog.int8, \
                coalesce(s.n_tup_ins, 0), coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_del, 0) \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid \
          WHERE {USER_TABLES} ORDER BY 2"
    );
    let rows = conn.query(&sql, &[]).map_err(|e| query_error("read the tables of the scratch database", e))?;
    Ok((0..rows.len)
        .map(|i| Table {
            oid: rows.i64(i, 0).unwrap_or(0) as u32,
            name: rows.text(i, 1).unwrap_or_default(),
            filenode: rows.i64(i, 2).unwrap_or(0),
            inserted: rows.i64(i, 3).unwrap_or(0),
            updated: rows.i64(i, 4).unwrap_or(0),
            deleted: rows.i64(i, 5).unwrap_or(0),
        })
        .collect())
}

/// Make `name` an empty database, or a copy of `template`.
pub fn create_database(
    admin: &mut dyn Session,
    name: &str,
    template: Option<&str>,
) -> std::result::Result<(), super::pq::PgError> {
    let from = template.map(crate::sql::ident).unwrap_or_else(|| "template0".into());
    admin.execute(&format!("CREATE DATABASE {} TEMPLATE {from}", crate::sql::ident(name)))
}

/// A database that is a copy target while sessions use it cannot serve as a template.
pub fn in_use(e: &super::pq::PgError) -> bool {
    // 55006: object_in_use ("source database is being accessed by other users").
    e.is("55006")
}

/// What the watcher saw while one migration ran.
#[derive(Debug, Default)]
pub struct Watched {
    pub locks: Vec<LockSample>,
    pub probes: Vec<Probe>,
}

/// The watcher of one migration: started before it, stopped after it.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Watched>,
}

impl Watcher {
    /// Open the watcher's two sessions on `url` and start watching the
    /// session `pid`; `tables` are the tables that exist before the
    /// migration (only those can an app already be using).
    pub fn start(url: &str, pid: i32, tables: &[Table]) -> Result<Watcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        let url = url.to_string();
        let known: Vec<(u32, String)> = tables.iter().map(|t| (t.oid, t.name.clone())).collect();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let opened = (|| -> Result<(Conn, Conn)> {
                let hints = super::Hints::default();
                let sampler = super::connect(&url, 10, "rehearse (lock sampler)", &hints)?;
                let mut prober = super::connect(&url, 10, "rehearse (app probe)", &hints)?;
                prober
                    .execute(&format!("SET lock_timeout = '{PROBE_LOCK_TIMEOUT_MS}ms'"))
                    .map_err(|e| query_error("set the probe's lock_timeout", e))?;
                Ok((sampler, prober))
            })();
            let (mut sampler, mut prober) = match opened {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    c
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return Watched::default();
                }
            };
            watch(&mut sampler, &mut prober, pid, &known, &flag)
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Watcher { stop, handle }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::new(Kind::Internal, "the rehearsal's watcher stopped before it started")),
        }
    }

    pub fn stop(self) -> Watched {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap_or_default()
    }
}

fn lock_sql() -> &'static str {
    "SELECT l.relation::pg_catalog.int8, l.mode, l.granted FROM pg_catalog.pg_locks l \
      WHERE l.pid = $1::pg_catalog.int4 AND l.locktype = 'relation' \
        AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())"
}

fn watch(sampler: &mut Conn, prober: &mut Conn, pid: i32, known: &[(u32, String)], stop: &AtomicBool) -> Watched {
    let start = Instant::now();
    let pid_text = pid.to_string();
    let mut out = Watched::default();
    let mut touched: Vec<u32> = Vec::new();
    // One more round after the stop, so the end is seen.
    while !stop.load(Ordering::SeqCst) {
        let at = start.elapsed();
        if let Ok(rows) = sampler.query(lock_sql(), &[&pid_text]) {
            for i in 0..rows.len {
                let oid = rows.i64(i, 0).unwrap_or(0) as u32;
                let mode = rows.text(i, 1).unwrap_or_default();
                let granted = rows.bool(i, 2).unwrap_or(false);
                out.locks.push(LockSample { at, oid, mode, granted });
                if known.iter().any(|(o, _)| *o == oid) && !touched.contains(&oid) {
                    touched.push(oid);
                }
            }
        }
        for oid in &touched {
            let Some((_, name)) = known.iter().find(|(o, _)| o == oid) else { continue };
            for kind in [ProbeKind::Read, ProbeKind::Write] {
                let at = start.elapsed();
                let t = Instant::now();
                // The locks an app's SELECT and UPDATE/INSERT/DELETE take; a
                // DELETE of no row in a transaction rolled back changes nothing.
                let sql = match kind {
                    ProbeKind::Read => format!("SELECT FROM {name} LIMIT 0"),
                    ProbeKind::Write => format!("BEGIN; DELETE FROM {name} WHERE false; ROLLBACK"),
                };
                let result = prober.execute(&sql);
                if prober.transaction_status() != super::pq::TxStatus::Idle {
                    let _ = prober.execute("ROLLBACK");
                }
                let waited = match result {
                    Ok(()) => false,
                    // 55P03: lock_not_available (the lock_timeout).
                    Err(e) if e.is("55P03") => true,
                    // The table went away (dropped, renamed): nothing to wait for.
                    Err(_) => continue,
                };
                out.probes.push(Probe { at, oid: *oid, kind, waited, took: t.elapsed() });
            }
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    out
}
