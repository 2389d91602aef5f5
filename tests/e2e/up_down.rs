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
    let r = p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250615051828", "20250615053210", "20250619185326"]);
    for t in ["meetings", "participants", "knowledge"] {
        assert!(db.table_exists(t), "{t}");
    }
    // Each migration printed with its duration, then a summary.
    let i1 = r.stdout.find("20250615051828_create_meetings").unwrap();
    let i2 = r.stdout.find("20250615053210_create_participants").unwrap();
    assert!(i1 < i2, "{}", r.stdout);
    assert!(r.stdout.contains(" ms"), "{}", r.stdout);
    assert!(r.stdout.contains("applied 3 migration(s)"), "{}", r.stdout);
    // Companion facts: one batch, checksums.
    assert_eq!(
        db.query(
            "SELECT count(*), count(DISTINCT batch), bool_and(length(checksum) = 16) FROM cargo_migrate.migrations"
        ),
        "3|1|t"
    );

    let r = p.cargo_migrate(&["up"]).ok();
    assert!(r.stdout.contains("nothing to apply"), "{}", r.stdout);
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
    let r = p.cargo_migrate(&["up", "--to", "20990101000000"]).fails(2);
    assert!(r.stderr.contains("no migration 20990101000000"), "{}", r.stderr);
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
    let r = p.cargo_migrate(&["down"]).ok();
    assert!(r.stdout.contains("nothing to revert"));
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
    let r = p.cargo_migrate(&["down", "20250619185326"]).fails(2);
    assert!(r.stderr.contains("20250619185326 is not applied"), "{}", r.stderr);
    let r = p.cargo_migrate(&["down", "19990101000000"]).fails(2);
    assert!(r.stderr.contains("no applied migration 19990101000000"), "{}", r.stderr);
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
    let r = p.cargo_migrate(&["down", "--count", "2"]).fails(1);
    assert!(
        r.stderr.contains("20250102000000_create_b/down.sql") && r.stderr.contains("does not exist"),
        "{}",
        r.stderr
    );
    assert_eq!(db.applied().len(), 3);
    assert!(db.table_exists("c"));
    // An empty (comments only) down.sql is refused the same way.
    p.write("migrations/20250102000000_create_b/down.sql", "-- TODO\n");
    let r = p.cargo_migrate(&["down", "--count", "2"]).fails(1);
    assert!(r.stderr.contains("has no SQL"), "{}", r.stderr);
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
    let r = p.cargo_migrate(&["redo"]).ok();
    // (Not just the words: "applied" is also in the summary.)
    let line_of = |verb: &str| {
        r.stdout.lines().position(|l| l.trim_start().starts_with(verb) && l.contains("20250619185326_create_knowledge"))
    };
    assert!(
        matches!((line_of("reverted"), line_of("applied")), (Some(rev), Some(app)) if rev < app),
        "reverted, then applied, the newest: {}",
        r.stdout
    );
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
    let r = p.cargo_migrate(&["up"]).fails(1);
    assert!(r.stderr.contains("cannot run inside a transaction block"), "{}", r.stderr);
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
    let r = p.cargo_migrate(&["up", "--single-transaction"]).fails(1);
    assert!(r.stderr.contains("20250620000000_broken/up.sql:2:8") && r.stderr.contains("nosuchcol"), "{}", r.stderr);
    assert!(r.stderr.contains("the whole run was rolled back"), "{}", r.stderr);
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
    let r = p.cargo_migrate(&["up", "--single-transaction"]).fails(2);
    assert!(r.stderr.contains("20250102000000_idx runs outside a transaction"), "{}", r.stderr);
    assert!(db.applied().is_empty());
}
