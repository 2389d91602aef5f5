use std::time::Duration;

use crate::harness::*;
use crate::support::{spawn_direct, wait_for_query};

/// Generous: only reached when something is wrong.
const PATIENCE: Duration = Duration::from_secs(30);

/// The versions a `up --format json` run applied.
fn applied_by(r: &Run) -> Vec<String> {
    let j = r.json();
    j["migrations"]
        .as_array()
        .unwrap_or_else(|| panic!("no migrations list: {j}"))
        .iter()
        .inspect(|m| assert_eq!(m["action"], "applied", "{j}"))
        .map(|m| m["version"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_runs_at_once_apply_each_migration_once() {
    let db = Db::new("concurrent_runs");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "first");
    p.table_migration("20250102000000", "second");
    // The test holds the lock, so both runs must wait for it: no timing involved.
    let holder = LockHolder::take(&db.url, "the-test");
    let mut a = p.spawn(&["up", "--format", "json"]);
    let waiting = a.wait_for_stderr("waiting for the migration lock", PATIENCE);
    assert!(waiting.contains("held by pid") && waiting.contains("the-test"), "names the holder: {waiting}");
    let mut b = p.spawn(&["up", "--format", "json"]);
    b.wait_for_stderr("waiting for the migration lock", PATIENCE);
    assert!(db.applied().is_empty(), "nothing runs while the lock is held");
    holder.release();
    let (a, b) = (a.finish(PATIENCE).ok(), b.finish(PATIENCE).ok());

    let (by_a, by_b) = (applied_by(&a), applied_by(&b));
    let all = ["20250101000000", "20250102000000"];
    assert!(
        (by_a == all && by_b.is_empty()) || (by_a.is_empty() && by_b == all),
        "exactly one run applies each migration:\na: {by_a:?}\n{}\nb: {by_b:?}\n{}",
        a.stderr,
        b.stderr
    );
    assert_eq!(db.applied(), all);
    // (version is the key, so one row each anyway): both in one run's batch.
    assert_eq!(db.query("SELECT count(*), count(DISTINCT batch) FROM cargo_migrate.migrations"), "2|1");
}

#[test]
fn lock_timeout_names_the_holder_and_changes_nothing() {
    let db = Db::new("lock_timeout");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    // Someone holds the lock in an open session.
    let holder = LockHolder::take(&db.url, "someone-else");
    let r = p.cargo_migrate_json(&["up", "--lock-timeout", "1"]).fails_with(1, "lock_timeout");
    assert!(r.message().contains("someone-else"), "names the holder: {}", r.stdout);
    assert!(r.hint().contains("--lock-timeout"), "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("a"));
    holder.release();
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("a"));
}

#[test]
fn a_migration_that_releases_the_lock_is_not_recorded() {
    let db = Db::new("lock_lost");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_unlock",
        "CREATE TABLE unlocked (id int);\nSELECT pg_advisory_unlock_all();\n",
        Some("DROP TABLE unlocked;"),
    );
    p.cargo_migrate_json(&["up"]).fails_with(1, "lock_lost");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("public.unlocked"));
}

#[test]
fn up_right_after_a_killed_up_applies_each_migration_once() {
    let db = Db::new("kill_restart");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_mood",
        "SELECT pg_sleep(2);\nCREATE TYPE mood AS ENUM ('a');\nCREATE TABLE m1 (id int);\n",
        Some("DROP TABLE m1; DROP TYPE mood;"),
    );
    p.table_migration("20250102000000", "m2");
    let mut child = spawn_direct(&p, &["up"]);
    wait_for_query(&db, "pg_sleep(2)", Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "2");
    assert_eq!(db.query("SELECT count(*) FROM public.__diesel_schema_migrations"), "2");
    assert!(db.table_exists("public.m1") && db.table_exists("public.m2"));
    assert_eq!(db.query("SELECT count(*) FROM pg_type WHERE typname = 'mood'"), "1");
}

#[test]
fn terminating_the_lock_holder_is_reported_and_the_waiter_proceeds() {
    let db = Db::new("terminate_holder");
    let p = Project::new(&db);
    p.migration("20250101000000_slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(3);\n", Some("DROP TABLE slow;"));
    p.table_migration("20250102000000", "after");
    let first = p.spawn(&["up", "--format", "json"]);
    wait_for_query(&db, "pg_sleep(3)", Duration::from_secs(60));
    let mut second = p.spawn(&["up"]);
    let line = second.wait_for_stderr("waiting for the migration lock, held by pid", Duration::from_secs(30));
    let pid: i32 = line
        .split("held by pid ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    assert_eq!(db.query(&format!("SELECT pg_terminate_backend({pid})")), "t");
    first.finish(Duration::from_secs(60)).fails_with(1, "connection_lost");
    second.finish(Duration::from_secs(60)).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "2");
}

#[test]
fn an_idle_session_timeout_cannot_take_the_lock_from_a_run() {
    let db = Db::new("idle_timeout");
    // Any session idle for 400 ms is ended: a lock on a connection of its own
    // (idle while the migrations run) would be lost after 400 ms.
    db.query(&format!("ALTER DATABASE \"{}\" SET idle_session_timeout = '400ms'", db.name()));
    let p = Project::new(&db);
    for i in 0..3 {
        p.migration(
            &format!("2025010100000{i}_slow_{i}"),
            &format!("SELECT pg_sleep(0.6);\nCREATE TABLE slow_{i} (id int);\n"),
            Some(&format!("DROP TABLE slow_{i};")),
        );
    }
    let first = p.spawn(&["up"]);
    wait_for_query(&db, "pg_sleep(0.6)", Duration::from_secs(20));
    let second = p.spawn(&["up"]);
    let (a, b) = (first.finish(Duration::from_secs(60)), second.finish(Duration::from_secs(60)));
    assert_eq!((a.code, b.code), (0, 0), "{}\n---\n{}", a.all(), b.all());
    assert_eq!(db.applied().len(), 3);
    assert_eq!(
        db.query("SELECT count(*), count(DISTINCT batch) FROM cargo_migrate.migrations"),
        "3|1",
        "one run applied them all"
    );
}

#[test]
fn a_second_up_waits_for_a_migration_outside_a_transaction_instead_of_refusing_it() {
    let db = Db::new("wait_for_partial");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_backfill",
        "CREATE TABLE bf (id int);\nSELECT pg_sleep(1.5);\nINSERT INTO bf VALUES (1);\n",
        Some("DROP TABLE bf;"),
    );
    p.write("migrations/20250101000000_backfill/metadata.toml", "run_in_transaction = false\n");
    p.table_migration("20250102000000", "after");
    let first = p.spawn(&["up"]);
    // The first run is inside the migration: it looks partly applied to anyone
    // reading the history now, yet it is not stopped, only busy.
    wait_for_query(&db, "pg_sleep(1.5)", Duration::from_secs(20));
    let second = p.cargo_migrate(&["up"]);
    let first = first.finish(Duration::from_secs(60));
    assert_eq!((first.code, second.code), (0, 0), "{}\n---\n{}", first.all(), second.all());
    assert!(second.stderr.contains("waiting for the migration lock"), "{}", second.all());
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT count(*) FROM bf"), "1");
}
