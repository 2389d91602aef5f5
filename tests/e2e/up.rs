//! `up` on other tools' layouts read in place, and its refusal to run again
//! what another tool applied before that history is adopted.

use crate::fixtures;
use crate::harness::*;

/// A layout in place: `up` applies it all in the tool's order; where the
/// layout has downs, `down --all` reverts it all and `up` applies it again.
fn in_place(name: &str, dir: &str, write: fn(&Project, &str), reversible: bool) {
    let db = Db::new(&format!("in_place_{name}"));
    let mut p = Project::new(&db);
    p.env.push(("MIGRATE_DIR".into(), dir.into()));
    write(&p, dir);
    let json = p.cargo_migrate(&["up", "--format", "json"]).ok().json();
    assert_eq!(json["migrations"].as_array().map(Vec::len), Some(4), "{name}: {json}");
    assert_eq!(fixtures::schema(&db), fixtures::SCHEMA, "{name}");
    assert_eq!(db.applied().len(), 4, "{name}");
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    let rows = status["migrations"].as_array().unwrap();
    assert!(
        rows.iter().all(|m| m["state"] == "applied" && m["up_only"].as_bool().unwrap_or(false) != reversible),
        "{name}: {status}"
    );
    if reversible {
        p.cargo_migrate(&["down", "--all", "--yes"]).ok();
        assert!(fixtures::is_empty_schema(&db) && db.applied().is_empty(), "{name}");
        p.cargo_migrate(&["up"]).ok();
        assert_eq!(fixtures::schema(&db), fixtures::SCHEMA, "{name}");
    } else {
        let r = p.cargo_migrate(&["down", "--yes", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "up_only", "{name}: {}", r.stdout);
        assert_eq!(db.applied().len(), 4, "{name}");
    }
}

#[test]
fn sqlx_folder_in_place() {
    in_place("sqlx", "migrations", fixtures::sqlx, true);
}

#[test]
fn golang_migrate_folder_in_place() {
    in_place("golang_migrate", "migrations", fixtures::golang_migrate, true);
}

#[test]
fn refinery_folder_in_place_orders_versions_as_numbers() {
    in_place("refinery", "migrations", fixtures::refinery, false);
}

#[test]
fn flyway_folder_in_place_with_undo_files() {
    in_place("flyway", "db/migration", fixtures::flyway, true);
}

#[test]
fn goose_folder_in_place() {
    in_place("goose", "migrations", fixtures::goose, true);
}

#[test]
fn prisma_folder_in_place() {
    in_place("prisma", "prisma/migrations", fixtures::prisma, false);
}

#[test]
fn unpadded_numbers_that_text_order_would_reorder_are_refused() {
    let db = Db::new("in_place_unpadded");
    let p = Project::new(&db);
    p.write("migrations/1_accounts.sql", "CREATE TABLE accounts (id int);\n");
    p.write("migrations/2_posts.sql", "CREATE TABLE posts (id int);\n");
    p.write("migrations/10_more.sql", "CREATE TABLE more_t (id int);\n");
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "bad_migrations_folder", "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("accounts"));
}

/// The seed's team, before `adopt`: node-pg-migrate applied 1 and 2 (with an
/// idempotent first migration that would silently run again).
fn node_pg_migrate_database(db: &Db, p: &Project) {
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES ('1704067200000_create-meetings', '2024-01-01 00:00:00'),
                                                        ('1704153600000_add-title', '2024-01-02 00:00:00');
         CREATE TABLE meetings (id int PRIMARY KEY, title text);
         CREATE TABLE reruns (n int); INSERT INTO reruns VALUES (1);",
    );
    p.write(
        "migrations/1704067200000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE IF NOT EXISTS meetings (id int PRIMARY KEY);\nINSERT INTO reruns VALUES (1);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    p.write(
        "migrations/1704153600000_add-title.sql",
        "-- Up Migration\nALTER TABLE meetings ADD COLUMN IF NOT EXISTS title text;\n-- Down Migration\nALTER TABLE meetings DROP COLUMN title;\n",
    );
    p.write(
        "migrations/1704240000000_add-notes.sql",
        "-- Up Migration\nALTER TABLE meetings ADD COLUMN notes text;\n-- Down Migration\nALTER TABLE meetings DROP COLUMN notes;\n",
    );
}

#[test]
fn up_refuses_until_another_tools_history_is_adopted() {
    let db = Db::new("up_refuses_npm");
    let p = Project::new(&db);
    node_pg_migrate_database(&db, &p);
    for args in [&["up"][..], &["up", "--dry-run"]] {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let r = p.cargo_migrate(&args).fails(1);
        let e = &r.json()["error"];
        assert_eq!(e["kind"], "other_history", "{}", r.stdout);
        assert!(e["hint"].as_str().unwrap().contains("adopt --from node-pg-migrate"), "{e}");
    }
    // Nothing ran, nothing was created.
    assert_eq!(db.query("SELECT count(*) FROM reruns"), "1");
    assert!(!db.table_exists("public.__diesel_schema_migrations"));
    assert!(!db.table_exists("cargo_migrate.migrations"));

    p.cargo_migrate(&["adopt", "--yes"]).ok();
    let r = p.cargo_migrate(&["up", "--format", "json"]).ok().json();
    assert_eq!(r["migrations"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(db.query("SELECT count(*) FROM reruns"), "1", "migration 1 never ran again");
    assert_eq!(db.applied(), ["1704067200000", "1704153600000", "1704240000000"]);
}

#[test]
fn up_with_ignore_other_history_runs_as_told() {
    let db = Db::new("up_ignores_npm");
    let p = Project::new(&db);
    node_pg_migrate_database(&db, &p);
    p.cargo_migrate(&["up", "--ignore-other-history"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM reruns"), "2", "the user asked for the re-run");
    assert_eq!(db.applied().len(), 3);
}

/// node-pg-migrate's `--migrations-table` / `--migrations-schema`: its table
/// is known by its columns wherever it is.
#[test]
fn a_renamed_node_pg_migrate_table_is_found_too() {
    let db = Db::new("up_refuses_renamed");
    let p = Project::new(&db);
    db.query(
        "CREATE SCHEMA ops;
         CREATE TABLE ops.migration_log (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO ops.migration_log (name, run_on) VALUES ('1704067200000_create-meetings', now());",
    );
    p.write(
        "migrations/1704067200000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE meetings (id int);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "other_history", "{}", r.stdout);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("ops.migration_log"), "{}", r.stdout);
    let json = p.cargo_migrate(&["adopt", "--yes", "--format", "json"]).ok().json();
    assert_eq!(json["recorded"][0]["version"], "1704067200000", "{json}");
    p.cargo_migrate(&["up"]).ok();
    assert!(!db.table_exists("meetings"), "adopted, so not run");
}

/// dbmate's and sqlx's tables, and Supabase's in a folder that is not the
/// Supabase layout: each named by `status`, each stopping `up`.
#[test]
fn every_other_history_stops_up_until_adopted() {
    let cases = [
        ("dbmate", "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');"),
        ("sqlx", "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL,
                    execution_time BIGINT NOT NULL);
                  INSERT INTO _sqlx_migrations VALUES (20240101000000, 'create a', now(), true, '\\x00', 1);"),
        ("supabase", "CREATE SCHEMA supabase_migrations;
                      CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
                      INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000', NULL, 'create_a');"),
    ];
    for (tool, history) in cases {
        let db = Db::new(&format!("up_refuses_{tool}"));
        let p = Project::new(&db);
        p.table_migration("20240101000000", "a");
        db.query(history);
        db.query("CREATE TABLE a (id bigint PRIMARY KEY)");
        let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
        assert_eq!(status["other_histories"][0]["tool"], tool, "{status}");
        assert_eq!(status["other_histories"][0]["not_recorded"][0], "20240101000000", "{status}");
        p.cargo_migrate(&["status", "--exit-code"]).fails(3);
        let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "other_history", "{tool}: {}", r.stdout);
        assert!(db.applied().is_empty(), "{tool}");
        p.cargo_migrate(&["adopt", "--yes"]).ok();
        p.cargo_migrate(&["up"]).ok();
        assert_eq!(db.applied(), ["20240101000000"], "{tool}");
    }
}

/// The down file of a pair is checked like a down section, and named.
#[test]
fn the_down_file_of_a_pair_is_linted() {
    let db = Db::new("pair_down_lint");
    let p = Project::new(&db);
    crate::fixtures::golang_migrate(&p, "migrations");
    p.write("migrations/000004_post_count.down.sql", "DROP FUNCTON post_count(bigint);\n");
    let json = p.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "parse_error" && f["file"].as_str().unwrap().ends_with("000004_post_count.down.sql")),
        "{json}"
    );
}
