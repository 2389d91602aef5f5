//! `cargo migrate up` when the server crashes mid-run. Every migration but the
//! run's last commits without waiting for the disk (synchronous_commit off):
//! a crash may lose the newest of them, but only whole, each with its
//! bookkeeping row, as if it had not run. Proved on a cluster of this test's
//! own (the shared one runs with synchronous_commit off for speed and must not
//! be crashed), stopped with `pg_ctl stop -m immediate` while `up` runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cluster::{free_port, Postgres, StartOptions, StopMode};
use crate::harness::*;

/// A small cluster of one test's own, with the server's default durability
/// (synchronous_commit on) and a WAL writer that waits long, so that commits
/// made without waiting stay in memory until a durable one flushes them: a
/// crash loses them. Stopped and removed when dropped.
struct OwnCluster {
    pg: Postgres,
    base: PathBuf,
    port: u16,
}

impl OwnCluster {
    fn new(name: &str) -> OwnCluster {
        let pg = Postgres::find(std::env::var_os("PG_BIN").map(PathBuf::from).as_deref()).unwrap();
        let base = std::env::temp_dir().join(format!("cargo-migrate-{name}-{}", run_id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        pg.hand_over(&base).unwrap();
        pg.initdb(&base.join("data"), "postgres", &["-A", "trust"]).unwrap();
        let c = OwnCluster { pg, base, port: free_port().unwrap() };
        c.start();
        c
    }

    fn start(&self) {
        let settings = [
            ("listen_addresses", "127.0.0.1"),
            // An immediate stop keeps what was written to the kernel: fsync is not what is tested.
            ("fsync", "off"),
            ("wal_writer_delay", "10s"),
            ("wal_writer_flush_after", "0"),
            ("wal_buffers", "64MB"),
        ];
        let log = self.base.join("log");
        let opts = StartOptions { port: self.port, socket_dir: None, settings: &settings, log: &log, timeout_secs: 60 };
        self.pg.start(&self.base.join("data"), &opts).unwrap();
    }

    fn crash(&self) {
        assert!(self.pg.stop(&self.base.join("data"), StopMode::Immediate).unwrap(), "the server was running");
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.pg.stop(&self.base.join("data"), StopMode::Immediate);
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

const N: usize = 300;

fn version(i: usize) -> String {
    format!("2025{:010}", i)
}

#[test]
fn a_crash_mid_run_loses_whole_migrations_only_and_up_completes_after_it() {
    let server = OwnCluster::new("crash");
    let url = server.url("postgres");
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), url.clone())];
    for i in 0..N {
        // A few milliseconds each, so that the crash lands mid-run.
        p.migration(
            &format!("{}_t{i}", version(i)),
            &format!("CREATE TABLE t{i} (id bigint PRIMARY KEY, v text);\nCREATE INDEX t{i}_v ON t{i} (v);\nSELECT pg_sleep(0.004);\n"),
            Some(&format!("DROP TABLE t{i};\n")),
        );
    }
    let running = p.spawn(&["up", "--no-lint", "--format", "json"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let applied =
        || try_psql(&url, "SELECT count(*) FROM public.__diesel_schema_migrations").ok().and_then(|n| n.parse().ok());
    while applied().unwrap_or(0) < N / 4 {
        assert!(Instant::now() < deadline, "the run did not get a quarter through in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen: usize = applied().unwrap();
    server.crash();
    let r = running.finish(Duration::from_secs(60)).fails(1);
    assert_eq!(r.kind(), "connection_lost", "{}", r.all());
    server.start();

    // The history and the catalog agree: each migration has both its row and
    // its table, or neither; and what is applied is a prefix of the run.
    let st = p.cargo_migrate_json(&["status"]).ok().json();
    let rows = st["migrations"].as_array().unwrap();
    assert_eq!(rows.len(), N);
    let tables =
        psql(&url, "SELECT string_agg(relname, ' ') FROM pg_class WHERE relkind = 'r' AND relname ~ '^t[0-9]+$'");
    let tables: std::collections::BTreeSet<&str> = tables.split_whitespace().collect();
    let mut applied_now = 0;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["version"], version(i).as_str());
        let recorded = row["state"] == "applied";
        assert!(row["state"] == "applied" || row["state"] == "pending", "{row}");
        assert_eq!(recorded, tables.contains(format!("t{i}").as_str()), "t{i}: history and catalog disagree: {row}");
        assert!(!recorded || applied_now == i, "t{i} applied after a gap");
        applied_now += usize::from(recorded);
    }
    assert!(applied_now < N, "the crash came after the run ended");
    // Seen committed before the crash, possibly not on disk: it may be fewer now, never more than the run did.
    eprintln!("committed before the crash: {seen}; after recovery: {applied_now}");

    let again = p.cargo_migrate_json(&["up", "--no-lint"]).ok();
    assert_eq!(again.steps().len(), N - applied_now);
    assert_eq!(psql(&url, "SELECT count(*) FROM public.__diesel_schema_migrations"), N.to_string());
}
