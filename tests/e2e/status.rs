use crate::harness::*;

#[test]
fn status_lists_applied_and_pending_in_order_with_json_and_exit_code() {
    let db = Db::new("status_basic");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250102000000", "b");
    p.cargo_migrate(&["up", "--count", "1"]).ok();
    // (The human listing is a snapshot.)
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["summary"]["applied"], 1);
    assert_eq!(j["summary"]["pending"], 1);
    assert_eq!(j["migrations"][0]["state"], "applied");
    assert_eq!(j["migrations"][0]["version"], "20250101000000");
    assert!(j["migrations"][0]["applied_at"].is_string());
    assert_eq!(j["migrations"][1]["state"], "pending");
    assert!(j["migrations"][1]["applied_at"].is_null());

    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["status", "--exit-code"]).ok();
}

#[test]
fn status_on_an_empty_database_creates_nothing() {
    let db = Db::new("status_readonly");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["status"]).ok();
    assert!(!db.table_exists("public.__diesel_schema_migrations"));
    assert_eq!(db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'cargo_migrate'"), "0");
}

#[test]
fn applied_but_missing_on_disk_is_reported_with_what_to_do() {
    let db = Db::new("status_missing");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250102000000", "b");
    p.cargo_migrate(&["up"]).ok();
    // As if the app's embedded diesel harness had applied it: no stored down.sql.
    db.query("DELETE FROM cargo_migrate.migrations WHERE version = '20250102000000'");
    std::fs::remove_dir_all(p.root.join("migrations/20250102000000_create_b")).unwrap();
    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.anomalies(), ["missing_on_disk"]);
    assert_eq!(r.json()["migrations"][1]["state"], "missing", "{}", r.stdout);
    // What to do is said in words: the human line is what a user acts on.
    let r = p.cargo_migrate(&["status"]).ok();
    assert!(r.stdout.contains("git pull"), "{}", r.stdout);
    // down refuses to revert it, and changes nothing.
    p.cargo_migrate_json(&["down"]).fails_with(1, "missing_on_disk");
    assert_eq!(db.applied().len(), 2);
}

#[test]
fn a_migration_merged_late_is_refused_by_up_until_allowed() {
    let db = Db::new("status_ooo");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250103000000", "c");
    p.cargo_migrate(&["up"]).ok();
    // A teammate's older migration arrives with `git pull`.
    p.table_migration("20250102000000", "b");
    assert_eq!(p.cargo_migrate_json(&["status"]).ok().anomalies(), ["out_of_order"]);
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "out_of_order");
    assert!(r.hint().contains("--allow-out-of-order"), "{}", r.stdout);
    assert!(!db.table_exists("b"));
    p.cargo_migrate(&["up", "--allow-out-of-order"]).ok();
    assert!(db.table_exists("b"));
    p.cargo_migrate(&["status", "--exit-code"]).ok();
}

#[test]
fn duplicate_versions_are_refused_not_silently_dropped() {
    let db = Db::new("status_dup");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.migration("20250101000000_also_a", "CREATE TABLE a2 (id int);", Some("DROP TABLE a2;"));
    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    assert_eq!(p.cargo_migrate_json(&["status"]).ok().anomalies(), ["duplicate_version"]);
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    let error = r.json()["error"].to_string();
    assert!(error.contains("20250101000000_also_a") && error.contains("20250101000000_create_a"), "{error}");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("a") && !db.table_exists("a2"));
}

#[test]
fn a_folder_without_up_sql_is_reported_and_blocks_up() {
    let db = Db::new("status_notmig");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.write("migrations/20250102000000_half/down.sql", "SELECT 1;");
    assert_eq!(p.cargo_migrate_json(&["status"]).ok().anomalies(), ["not_a_migration"]);
    p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    assert!(db.applied().is_empty());
}
