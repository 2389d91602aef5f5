use crate::harness::*;

#[test]
fn a_failing_migration_is_rolled_back_and_located_in_its_file() {
    let db = Db::new("failure_locate");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_broken",
        "-- a table, then a typo\nCREATE TABLE half_done (id int);\n\nCREATE TABLE broken (\n  id int,\n  name txet\n);\n",
        Some("DROP TABLE broken; DROP TABLE half_done;"),
    );
    p.table_migration("20250103000000", "third");
    // (The human rendering, with the SQL line and its caret, is a snapshot.)
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().ends_with("20250102000000_broken/up.sql:6:8"), "file:line:col: {}", r.stdout);
    let before = &r.json()["error"]["done_before"];
    assert_eq!(
        (&before[0]["version"], &before[0]["action"]),
        (&"20250101000000".into(), &"applied".into()),
        "{before}"
    );
    assert_eq!(before.as_array().map(Vec::len), Some(1), "what this run did before: {before}");
    // Real state: the first stays, nothing of the broken one, the third not run.
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("first"));
    assert!(!db.table_exists("half_done"), "the broken migration's first statement was rolled back");
    assert!(!db.table_exists("third"));
}

#[test]
fn failure_shows_detail_and_hint_from_postgres() {
    let db = Db::new("failure_detail");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_dupes",
        "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (1);\n",
        Some("DROP TABLE t;"),
    );
    let r = p.cargo_migrate(&["up"]).fails(1);
    assert!(r.stderr.contains("duplicate key value violates unique constraint"), "{}", r.stderr);
    assert!(r.stderr.contains("detail: Key (id)=(1) already exists."), "{}", r.stderr);
    assert!(r.stderr.contains("this run changed nothing"), "{}", r.stderr);
    assert!(!db.table_exists("t"));

    p.migration("20250101000000_dupes", "SELECT * FROM pg_class WHERE relnmae = 'x';\n", Some("SELECT 1;"));
    let r = p.cargo_migrate(&["up"]).fails(1);
    assert!(r.stderr.contains("postgres hint: Perhaps you meant"), "{}", r.stderr);
    assert!(r.stderr.contains("up.sql:1:30"), "{}", r.stderr);
}

#[test]
fn failure_outside_a_transaction_says_what_stayed() {
    let db = Db::new("failure_notx");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.migration(
        "20250102000000_index_items",
        "CREATE INDEX CONCURRENTLY items_a ON items (id);\nCREATE INDEX CONCURRENTLY items_b ON items (nope);\n",
        Some("DROP INDEX CONCURRENTLY items_a;"),
    );
    p.write("migrations/20250102000000_index_items/metadata.toml", "run_in_transaction = false\n");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_index_items/up.sql:2"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    // Statement 1 ran outside a transaction: it stays.
    assert!(db.table_exists("items_a") && !db.table_exists("items_b"));
}

#[test]
fn a_migration_that_commits_by_itself_is_refused_before_anything_runs() {
    let db = Db::new("self_commit");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_commits",
        "CREATE TABLE a (id int);\n\nCOMMIT;\nCREATE TABLE b (id int);\n",
        Some("DROP TABLE b; DROP TABLE a;"),
    );
    // The static checks see it first; the runner refuses it too (without them).
    p.cargo_migrate_json(&["up"]).fails_with(1, "lint_failed");
    let lint = p.cargo_migrate_json(&["lint"]).fails(1).json();
    let findings = lint["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["rule"] == "transaction_unbalanced" && f["line"] == 3), "{lint}");
    let r = p.cargo_migrate_json(&["up", "--no-lint"]).fails_with(1, "transaction_control");
    assert!(r.location().ends_with("20250102000000_commits/up.sql:3"), "{}", r.stdout);
    // The way out is named: opt the file out of the transaction.
    assert!(
        r.json()["error"]["hint"].as_str().unwrap_or_default().contains("run_in_transaction = false"),
        "{}",
        r.stdout
    );
    assert!(db.applied().is_empty() && !db.table_exists("first") && !db.table_exists("a"), "nothing ran");
    // A PL/pgSQL block's BEGIN and a SQL-standard body are not transaction control.
    p.migration(
        "20250102000000_commits",
        "DO $$ BEGIN CREATE TABLE a (id int); END $$;\nCREATE FUNCTION one() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND;\n",
        Some("DROP FUNCTION one(); DROP TABLE a;"),
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT one()"), "1");
}

#[test]
fn an_error_without_a_position_still_names_its_line() {
    let db = Db::new("no_position");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_remote_schema",
        "CREATE TABLE parent (id int PRIMARY KEY);\nCREATE TABLE child (p int REFERENCES parent);\n\n\
         -- an extension this server does not have\nCREATE EXTENSION nosuch_extension;\nCREATE TABLE after (id int);\n",
        Some("SELECT 1;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250101000000_remote_schema/up.sql:5"), "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("parent"), "everything rolled back");
    // A DROP that fails on dependents carries no position either.
    p.migration(
        "20250101000000_remote_schema",
        "CREATE TABLE parent (id int PRIMARY KEY);\n",
        Some("DROP TABLE parent;"),
    );
    p.migration(
        "20250102000000_child",
        "CREATE TABLE child (p int REFERENCES parent);\nSELECT 1;\nDROP TABLE parent;\n",
        Some("DROP TABLE child;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_child/up.sql:3"), "{}", r.stdout);
    // Found without running anything twice: a sequence (which no rollback
    // undoes) is advanced once by the failed run, not twice.
    db.query("CREATE SEQUENCE calls");
    p.migration(
        "20250102000000_child",
        "SELECT nextval('calls');\nCREATE TABLE child (p int REFERENCES parent);\nDROP TABLE parent;\n",
        Some("DROP TABLE child;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_child/up.sql:3"), "{}", r.stdout);
    assert_eq!(db.query("SELECT last_value FROM calls"), "1", "the migration ran once");
}

#[test]
fn a_file_with_its_own_begin_and_commit_runs_as_it_says() {
    let db = Db::new("own_transactions");
    let p = Project::new(&db);
    // Supabase's examples wrap a migration in BEGIN … COMMIT: it runs in one
    // transaction with its bookkeeping, and errors keep their line.
    p.migration(
        "20250101000000_wrapped",
        "begin;\n\ncreate table wrapped (id int);\nalter table wrapped enable row level security;\n\ncommit;\n",
        Some("drop table wrapped;"),
    );
    p.migration(
        "20250102000000_blocks",
        "BEGIN;\nCREATE TABLE one (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE two (id int);\nCOMMIT;\n",
        Some("DROP TABLE two; DROP TABLE one;"),
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert!(db.table_exists("wrapped") && db.table_exists("one") && db.table_exists("two"));
    p.migration(
        "20250103000000_wrapped_typo",
        "BEGIN;\nCREATE TABLE t3 (id int);\nCREATE TABLE t4 (id nosuchtype);\nCOMMIT;\n",
        Some("SELECT 1;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250103000000_wrapped_typo/up.sql:3"), "{}", r.stdout);
    assert!(!db.table_exists("t3"), "rolled back whole");
}
