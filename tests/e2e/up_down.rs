use crate::harness::*;

fn three(p: &Project) {
    p.table_migration("20250615051828", "meetings");
    p.table_migration("20250615053210", "participants");
    p.table_migration("20250619185326", "knowledge");
}

#[test]
fn up_applies_everything_in_order_and_then_has_nothing_to_do() {
    let db = Db::new("up_all");
    let p = Project::new(&db);
    three(&p);
    let r = p.cargo_migrate_json(&["up"]).ok();
    assert_eq!(db.applied(), ["20250615051828", "20250615053210", "20250619185326"]);
    for t in ["meetings", "participants", "knowledge"] {
        assert!(db.table_exists(t), "{t}");
    }
    assert_eq!(
        r.steps(),
        [
            "applied 20250615051828_create_meetings",
            "applied 20250615053210_create_participants",
            "applied 20250619185326_create_knowledge"
        ]
    );
    // Companion facts: one batch, checksums.
    assert_eq!(
        db.query(
            "SELECT count(*), count(DISTINCT batch), bool_and(length(checksum) = 16) FROM cargo_migrate.migrations"
        ),
        "3|1|t"
    );

    let r = p.cargo_migrate_json(&["up"]).ok();
    assert!(r.steps().is_empty(), "{}", r.stdout);
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "3");
}

#[test]
fn up_with_count_and_to() {
    let db = Db::new("up_count_to");
    let p = Project::new(&db);
    three(&p);
    p.cargo_migrate(&["up", "--count", "1"]).ok();
    assert_eq!(db.applied(), ["20250615051828"]);
    p.cargo_migrate(&["up", "--to", "20250615053210"]).ok();
    assert_eq!(db.applied(), ["20250615051828", "20250615053210"]);
    p.cargo_migrate_json(&["up", "--to", "20990101000000"]).fails_with(2, "unknown_version");
    assert_eq!(db.applied().len(), 2);
}

#[test]
fn down_reverts_newest_then_count_then_all() {
    let db = Db::new("down_modes");
    let p = Project::new(&db);
    three(&p);
    p.table_migration("20250628125031", "projects");
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.applied().len(), 3);
    assert!(!db.table_exists("projects"));
    p.cargo_migrate(&["down", "--count", "2"]).ok();
    assert_eq!(db.applied(), ["20250615051828"]);
    assert!(!db.table_exists("participants") && db.table_exists("meetings"));
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["down", "--all"]).ok();
    assert!(db.applied().is_empty());
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "0");
    let r = p.cargo_migrate_json(&["down"]).ok();
    assert!(r.steps().is_empty(), "{}", r.stdout);
}

#[test]
fn down_version_keeps_that_version_and_reverts_what_came_after() {
    let db = Db::new("down_version");
    let p = Project::new(&db);
    three(&p);
    p.table_migration("20250628125031", "projects");
    p.cargo_migrate(&["up"]).ok();
    // The seed's `migrate:down -- 20250615051828`.
    p.cargo_migrate(&["down", "20250615053210"]).ok();
    assert_eq!(db.applied(), ["20250615051828", "20250615053210"]);
    assert!(db.table_exists("participants") && !db.table_exists("knowledge"));
    // --to is the same; a folder name works too.
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["down", "--to", "20250615051828_create_meetings"]).ok();
    assert_eq!(db.applied(), ["20250615051828"]);
}

#[test]
fn down_to_a_version_that_is_not_applied_is_refused() {
    let db = Db::new("down_not_applied");
    let p = Project::new(&db);
    three(&p);
    p.cargo_migrate(&["up", "--count", "2"]).ok();
    p.cargo_migrate_json(&["down", "20250619185326"]).fails_with(2, "not_applied");
    p.cargo_migrate_json(&["down", "19990101000000"]).fails_with(2, "not_applied");
    assert_eq!(db.applied().len(), 2);
}

#[test]
fn missing_or_empty_down_sql_refuses_before_touching_anything() {
    let db = Db::new("down_missing");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.migration("20250102000000_create_b", "CREATE TABLE b (id int);", None);
    p.table_migration("20250103000000", "c");
    p.cargo_migrate(&["up"]).ok();
    // Reverting c then b: b has no down.sql, so not even c is reverted.
    p.cargo_migrate_json(&["down", "--count", "2"]).fails_with(1, "missing_down");
    assert_eq!(db.applied().len(), 3);
    assert!(db.table_exists("c"));
    // An empty (comments only) down.sql is refused the same way.
    p.write("migrations/20250102000000_create_b/down.sql", "-- TODO\n");
    p.cargo_migrate_json(&["down", "--count", "2"]).fails_with(1, "empty_down");
    assert_eq!(db.applied().len(), 3);
}

#[test]
fn redo_reverts_and_reapplies_the_newest() {
    let db = Db::new("redo");
    let p = Project::new(&db);
    three(&p);
    p.cargo_migrate(&["up"]).ok();
    db.query("INSERT INTO knowledge VALUES (1)");
    db.query("INSERT INTO participants VALUES (1)");
    // Fix the newest migration, then redo it.
    p.write(
        "migrations/20250619185326_create_knowledge/up.sql",
        "CREATE TABLE knowledge (id bigint PRIMARY KEY, body text);\n",
    );
    let r = p.cargo_migrate_json(&["redo"]).ok();
    assert_eq!(r.steps(), ["reverted 20250619185326_create_knowledge", "applied 20250619185326_create_knowledge"]);
    assert_eq!(db.query("SELECT count(*) FROM knowledge"), "0", "table was dropped and re-created");
    assert_eq!(db.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'knowledge'"), "2");
    assert_eq!(db.query("SELECT count(*) FROM participants"), "1", "older migrations untouched");
    p.cargo_migrate(&["redo", "--count", "2"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM participants"), "0");
    assert_eq!(db.applied().len(), 3);
}

#[test]
fn run_in_transaction_false_runs_concurrent_indexes_one_by_one() {
    let db = Db::new("concurrently");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.migration(
        "20250102000000_index_items",
        "-- two statements that cannot run in a transaction block\n\
         CREATE INDEX CONCURRENTLY items_id_a ON items (id);\n\
         CREATE INDEX CONCURRENTLY items_id_b ON items ((id + 1));\n",
        Some("DROP INDEX CONCURRENTLY items_id_a;\nDROP INDEX CONCURRENTLY items_id_b;\n"),
    );
    p.write("migrations/20250102000000_index_items/metadata.toml", "run_in_transaction = false\n");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'items_id_%' AND i.indisvalid"), "2");
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM pg_class WHERE relname LIKE 'items_id_%'"), "0");

    // Without metadata.toml the same file fails, and nothing of it stays.
    std::fs::remove_file(p.root.join("migrations/20250102000000_index_items/metadata.toml")).unwrap();
    p.cargo_migrate_json(&["up"]).fails_with(1, "lint_failed");
    let r = p.cargo_migrate_json(&["up", "--no-lint"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_index_items/up.sql:2"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
}

#[test]
fn single_transaction_is_all_or_nothing() {
    let db = Db::new("single_tx");
    let p = Project::new(&db);
    three(&p);
    p.migration(
        "20250620000000_broken",
        "CREATE TABLE fine (id int);\nSELECT nosuchcol FROM fine;\n",
        Some("DROP TABLE fine;"),
    );
    let r = p.cargo_migrate_json(&["up", "--single-transaction"]).fails_with(1, "migration_failed");
    assert!(r.location().ends_with("20250620000000_broken/up.sql:2:8"), "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("meetings"), "nothing of the run stays");

    std::fs::remove_dir_all(p.root.join("migrations/20250620000000_broken")).unwrap();
    p.cargo_migrate(&["up", "--single-transaction"]).ok();
    assert_eq!(db.applied().len(), 3);
    assert_eq!(db.query("SELECT count(*), count(DISTINCT batch) FROM cargo_migrate.migrations"), "3|1");
    p.cargo_migrate(&["down", "--all", "--single-transaction"]).ok();
    assert!(db.applied().is_empty() && !db.table_exists("meetings"));
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "0");
}

#[test]
fn single_transaction_refuses_migrations_that_opt_out_of_transactions() {
    let db = Db::new("single_tx_notx");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.migration("20250102000000_idx", "CREATE INDEX CONCURRENTLY i ON items (id);", Some("DROP INDEX i;"));
    p.write("migrations/20250102000000_idx/metadata.toml", "run_in_transaction = false\n");
    p.cargo_migrate_json(&["up", "--single-transaction"]).fails_with(2, "not_transactional");
    assert!(db.applied().is_empty());
}
