//! `cargo migrate baseline`: marking migrations applied without running them.

use crate::harness::*;

#[test]
fn baseline_marks_everything_up_to_a_version_without_running_it() {
    let db = Db::new("baseline");
    let p = Project::new(&db);
    p.table_migration("20240101000000", "a");
    p.table_migration("20240102000000", "b");
    p.table_migration("20240103000000", "c");
    db.query("CREATE TABLE a (id bigint PRIMARY KEY); CREATE TABLE b (id bigint PRIMARY KEY);");
    p.cargo_migrate(&["baseline", "--to", "20240109000000", "--yes"]).fails(2);
    p.cargo_migrate(&["baseline", "--to", "20240102000000", "--dry-run"]).ok();
    assert!(db.applied().is_empty());
    p.cargo_migrate(&["baseline", "--to", "20240102000000_create_b", "--yes"]).ok();
    assert_eq!(db.applied(), ["20240101000000", "20240102000000"]);
    // Recorded with the checksums status compares with: nothing reads as modified.
    let json = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert!(json["migrations"].as_array().unwrap().iter().all(|m| m["modified"] == false), "{json}");
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("c"));
    // And it can be reverted like any other migration (its down.sql was kept).
    p.cargo_migrate(&["down", "--count", "3"]).ok();
    assert!(!db.table_exists("a") && !db.table_exists("b"));
}
