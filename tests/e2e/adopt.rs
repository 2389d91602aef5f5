//! Taking over a database another tool migrated: `adopt` and `baseline`.

use crate::harness::*;

/// The seed's production database: migrated by node-pg-migrate.
fn node_pg_migrate_database(db: &Db) {
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES
           ('1700000000000_old-js-migration', '2023-11-14 22:13:20'),
           ('1704240000000_create-meetings', '2024-01-03 00:00:00');
         CREATE TABLE old_js (id int);
         CREATE TABLE meetings (id uuid PRIMARY KEY);",
    );
}

#[test]
fn adopt_records_node_pg_migrate_history_with_its_dates() {
    let db = Db::new("adopt_npm");
    node_pg_migrate_database(&db);
    let p = Project::new(&db);
    // Their SQL migration, read in place; one of ours, not applied yet.
    p.write(
        "migrations/1704240000000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE meetings (id uuid PRIMARY KEY);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    p.table_migration("20250101000000", "participants");

    // Without a terminal it needs --yes, and records nothing.
    p.cargo_migrate_json(&["adopt"]).fails_with(1, "confirmation_needed");
    assert!(db.applied().is_empty());
    // What it would record is shown first, and the JavaScript-only migration
    // (no file here) is named.
    let r = p.cargo_migrate(&["adopt"]).fails(1);
    assert!(r.stdout.contains("1704240000000_create-meetings"), "{}", r.stdout);
    assert!(r.stderr.contains("1700000000000_old-js-migration"), "{}", r.stderr);

    let json = p.cargo_migrate(&["adopt", "--yes", "--format", "json"]).ok().json();
    assert_eq!(json["recorded"][0]["version"], "1704240000000", "{json}");
    assert_eq!(json["unmatched"][0], "1700000000000", "{json}");
    assert_eq!(json["pending"], 1, "{json}");
    assert_eq!(db.applied(), ["1704240000000"]);
    // The original date, in both tables; the way back is kept.
    assert_eq!(
        db.query("SELECT run_on FROM __diesel_schema_migrations WHERE version = '1704240000000'"),
        "2024-01-03 00:00:00"
    );
    assert_eq!(
        db.query("SELECT applied_by LIKE 'adopted from node-pg-migrate%', down_sql LIKE '%DROP TABLE meetings%' FROM cargo_migrate.migrations"),
        "t|t"
    );
    // Then `up` runs only what node-pg-migrate never applied.
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["1704240000000", "20250101000000"]);
    assert!(db.table_exists("participants"));
    // Adopting again records nothing.
    let json = p.cargo_migrate_json(&["adopt", "--yes"]).ok().json();
    assert_eq!(json["recorded"].as_array().map(Vec::len), Some(0), "{json}");
    assert_eq!(db.applied(), ["1704240000000", "20250101000000"]);
}

#[test]
fn adopt_reads_sqlx_and_dbmate_and_refuses_when_there_is_nothing() {
    let db = Db::new("adopt_others");
    let p = Project::new(&db);
    p.table_migration("20240101000000", "a");
    p.table_migration("20240102000000", "b");
    let r = p.cargo_migrate_json(&["adopt", "--yes"]).fails_with(1, "no_history_to_adopt");
    assert!(r.hint().contains("baseline"), "{}", r.stdout);
    db.query(
        "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL,
           installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT NULL, checksum bytea NOT NULL,
           execution_time bigint NOT NULL);
         INSERT INTO _sqlx_migrations VALUES (20240101000000, 'create a', '2024-02-02 10:00:00+00', true, '\\x00', 1),
                                             (20240102000000, 'create b', '2024-02-02 10:00:00+00', false, '\\x00', 1);
         CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
         INSERT INTO schema_migrations VALUES ('20240101000000');",
    );
    // Two histories: it must be told which.
    let r = p.cargo_migrate_json(&["adopt", "--yes"]).fails_with(2, "no_history_to_adopt");
    assert!(r.hint().contains("--from"), "{}", r.stdout);
    assert!(db.applied().is_empty());
    let json = p.cargo_migrate(&["adopt", "--from", "sqlx", "--yes", "--format", "json"]).ok().json();
    // The failed sqlx migration is not taken as applied.
    assert_eq!(json["recorded"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(db.applied(), ["20240101000000"]);
}

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

/// A project that leaves the Supabase CLI for diesel's folders: what the CLI
/// applied is recorded, dated by its timestamp version; dbmate's likewise.
#[test]
fn adopt_reads_supabase_and_dbmate_histories() {
    let db = Db::new("adopt_supabase");
    let p = Project::new(&db);
    p.table_migration("20240101000000", "a");
    p.table_migration("20240102000000", "b");
    db.query(
        "CREATE SCHEMA supabase_migrations;
         CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
         INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000', NULL, 'create_a');
         CREATE TABLE a (id bigint PRIMARY KEY);",
    );
    let json = p.cargo_migrate(&["adopt", "--yes", "--format", "json"]).ok().json();
    assert_eq!(json["recorded"][0]["applied_at"], "2024-01-01 00:00:00+00", "{json}");
    assert_eq!(db.applied(), ["20240101000000"]);
    assert_eq!(db.query("SELECT run_on FROM __diesel_schema_migrations"), "2024-01-01 00:00:00");

    let db2 = Db::new("adopt_dbmate");
    let q = Project::new(&db2);
    q.table_migration("20240101000000", "a");
    db2.query("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');");
    q.cargo_migrate(&["adopt", "--from", "dbmate", "--yes"]).ok();
    assert_eq!(db2.applied(), ["20240101000000"]);
}

/// In a `supabase/migrations` project, Supabase's table is the history
/// already: `adopt --from supabase` says so, not that the table is missing.
#[test]
fn adopt_from_supabase_in_a_supabase_project_says_it_is_the_history() {
    let db = Db::new("adopt_own_ledger");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_a.sql", "create table a (id int);\n");
    db.query(
        "CREATE SCHEMA supabase_migrations;
         CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);",
    );
    // What a user reads: that it is the history already, not that it has none.
    let r = p.cargo_migrate(&["adopt", "--from", "supabase", "--yes"]).fails(1);
    assert!(!r.stderr.contains("has no history"), "{}", r.stderr);
    assert!(r.stderr.contains("already"), "{}", r.stderr);
    p.cargo_migrate_json(&["adopt", "--from", "supabase", "--yes"]).fails_with(1, "no_history_to_adopt");
}

/// Names read from another tool's history are shown with control characters
/// escaped: a newline in one cannot forge a line of output.
#[test]
fn adopt_escapes_control_characters_in_foreign_history_names() {
    let db = Db::new("adopt_escapes");
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES
           (E'1704240000000_a\\n  record 1999_forged\\u001b[2J', '2024-01-03 00:00:00'),
           (E'1704250000000_b\\nforged', '2024-01-04 00:00:00');",
    );
    let p = Project::new(&db);
    p.write("migrations/1704240000000_a.sql", "-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n");
    let r = p.cargo_migrate(&["adopt", "--yes"]).ok();
    let all = r.all();
    assert!(!all.contains('\u{1b}') && !all.lines().any(|l| l.trim_start().starts_with("forged")), "{all}");
    assert!(!all.lines().any(|l| l.trim_start().starts_with("record 1999_forged")), "{all}");
    assert!(all.contains(r"\n  record 1999_forged\u{1b}[2J") && all.contains(r"_b\nforged"), "{all}");
    assert_eq!(db.applied(), ["1704240000000"]);
}
