use std::time::Duration;

use crate::harness::*;

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
