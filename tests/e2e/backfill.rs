//! `up` with a batched backfill (`[backfill]` in metadata.toml): key-range
//! batches, each its own transaction, beside a writer session that never
//! waits past its lock_timeout; killed mid-way, `status` shows how far it
//! got and `up --resume` goes on exactly there.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

const ROWS: i64 = 200_000;

/// A session that updates random rows of `bf` (lock_timeout 1 s) until
/// `stop_flag` has a row, counting its writes in `writer_count`; it fails
/// (non-zero exit) the moment a lock wait exceeds the timeout.
fn writer(db: &Db) -> std::process::Child {
    let body = format!(
        "DO $$ DECLARE r bigint; BEGIN WHILE NOT EXISTS (SELECT FROM stop_flag) LOOP \
           r := 1 + (random() * {})::int; \
           UPDATE bf SET touched = touched + 1 WHERE id = r; \
           UPDATE writer_count SET k = k + 1; COMMIT; PERFORM pg_sleep(0.002); \
         END LOOP; END $$;",
        ROWS - 1
    );
    Command::new(cluster().bin.join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-c", "SET lock_timeout = '1s'", "-c", &body])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the writer")
}

#[test]
fn a_backfill_runs_in_batches_beside_a_writer_and_resumes_after_a_kill_exactly_where_it_stopped() {
    let db = Db::new("backfill_resume");
    db.query(&format!(
        "CREATE TABLE bf (id bigint PRIMARY KEY, n bigint NOT NULL, touched int NOT NULL DEFAULT 0); \
         INSERT INTO bf (id, n) SELECT g, g FROM generate_series(1, {ROWS}) g; \
         CREATE TABLE stop_flag (x int); CREATE TABLE writer_count (k int); INSERT INTO writer_count VALUES (0)"
    ));
    let p = Project::new(&db);
    // Not idempotent on purpose: a batch run twice, or skipped, shows.
    p.migration("20250101000000_bump_n", "UPDATE bf SET n = n + 1;\n", Some("UPDATE bf SET n = n - 1;\n"));
    p.write(
        "migrations/20250101000000_bump_n/metadata.toml",
        "run_in_transaction = false\n\n[backfill]\ntable = \"bf\"\nkey = \"id\"\nbatch_size = 1000\npause_ms = 20\n",
    );
    let mut w = writer(&db);
    let first = p.spawn(&["up"]);
    // Killed once some batches committed and most are still to come.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = try_psql(&db.url, "SELECT batches FROM cargo_migrate.backfill").unwrap_or_default();
        if done.parse::<i64>().is_ok_and(|n| n >= 10) {
            break;
        }
        assert!(Instant::now() < deadline, "no batch committed within a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(first);
    // The server finishes the batch it was sent, then lets the lock go.
    wait_gone(&db);
    let status = p.cargo_migrate_json(&["status"]);
    let s = status.json();
    assert_eq!(s["migrations"][0]["state"], "partly_applied", "{}", status.all());
    let after = s["backfills"][0]["key_after"].as_i64().unwrap();
    assert!((10_000..ROWS).contains(&after), "{}", status.all());
    assert_eq!(after % 1000, 0, "progress is a whole batch: {}", status.all());
    // Exactly the committed batches are done, nothing more.
    assert_eq!(db.query(&format!("SELECT count(*) FROM bf WHERE id <= {after} AND n <> id + 1")), "0");
    assert_eq!(db.query(&format!("SELECT count(*) FROM bf WHERE id > {after} AND n <> id")), "0");

    let resumed = p.cargo_migrate(&["up", "--resume"]).ok();
    db.query("INSERT INTO stop_flag VALUES (1)");
    let out = w.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut w.stderr.take().unwrap(), &mut err).unwrap();
    assert!(out.success(), "the writer waited past its lock_timeout or failed: {err}");
    assert!(resumed.stderr.contains("backfill 20250101000000"), "progress is shown: {}", resumed.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    // Every row bumped exactly once, and every write of the writer kept.
    assert_eq!(db.query("SELECT count(*) FROM bf WHERE n <> id + 1"), "0");
    let writes = db.query("SELECT k FROM writer_count").parse::<i64>().unwrap();
    assert!(writes > 0);
    assert_eq!(db.query("SELECT sum(touched) FROM bf"), writes.to_string());
    // Finished: no progress left behind.
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.backfill"), "0");
}

/// The killed run's server session ends (it held the migration lock).
fn wait_gone(db: &Db) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.query(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND application_name LIKE 'cargo-migrate run%'",
        db.name()
    )) != "0"
    {
        assert!(Instant::now() < deadline, "the killed run's session did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `[backfill]` in a migration that runs in one transaction cannot commit batches: refused before anything runs.
#[test]
fn a_backfill_in_a_transactional_migration_is_refused() {
    let db = Db::new("backfill_transactional");
    db.query("CREATE TABLE bf (id bigint PRIMARY KEY, n int)");
    let p = Project::new(&db);
    p.migration("20250101000000_bump", "UPDATE bf SET n = 1;\n", Some("SELECT 1;\n"));
    p.write("migrations/20250101000000_bump/metadata.toml", "[backfill]\ntable = \"bf\"\n");
    p.cargo_migrate_json(&["up"]).fails_with(1, "bad_metadata");
    assert!(db.applied().is_empty());
}
