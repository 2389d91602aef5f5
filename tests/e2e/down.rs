//! `cargo migrate down`: what it refuses, checked against the catalog.

use crate::harness::*;

/// On a standby (a streaming replica in recovery) a write command says so
/// before writing anything, not "cannot execute REVOKE in a read-only
/// transaction"; `status` still reads it.
#[test]
fn down_and_up_on_a_standby_say_it_is_a_standby() {
    let replica = Replica::new("down");
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), replica.primary.clone())];
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    p.table_migration("20250102000000", "b");
    replica.catch_up();
    p.env = vec![("DATABASE_URL".into(), replica.standby.clone())];
    for args in [&["down", "--yes", "--format", "json"][..], &["up", "--format", "json"][..]] {
        let r = p.cargo_migrate(args).fails(1);
        assert_eq!(r.json()["error"]["kind"], "standby", "{args:?}: {}", r.all());
    }
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!((j["summary"]["applied"].as_u64(), j["summary"]["pending"].as_u64()), (Some(1), Some(1)));
    let applied = psql(&replica.primary, "SELECT string_agg(version, ',') FROM __diesel_schema_migrations");
    assert_eq!(applied, "20250101000000");
}

#[test]
fn an_unclosed_comment_is_refused_before_anything_runs() {
    let db = Db::new("up_unclosed_dollar");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_fn",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n",
        Some("DROP FUNCTION f();\n/* gone\nSELECT 1;\n"),
    );
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate(&["down", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "unclosed_sql", "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    p.migration(
        "20250102000000_body",
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 2 $$;\n",
        Some("DROP FUNCTION g();"),
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "unclosed_sql", "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
}

/// A down.sql that would fail (CONCURRENTLY in a transaction) stops what
/// would run it (`down`, `redo`, `verify`), never the `up` of the project's
/// future, which says it as a warning.
#[test]
fn a_lint_error_in_down_sql_stops_down_redo_and_verify_not_up() {
    let db = Db::new("down_lint_error");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_items",
        "CREATE TABLE items (id int);\nCREATE INDEX items_id ON items (id);\n",
        Some("DROP INDEX CONCURRENTLY items_id;\nDROP TABLE items;\n"),
    );
    let r = p.cargo_migrate(&["up"]).ok();
    assert!(r.stderr.contains("warning[concurrently_in_transaction]"), "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    for args in [
        &["down", "--format", "json"][..],
        &["down", "--dry-run", "--format", "json"],
        &["redo", "--format", "json"],
        &["verify", "--all", "--scratch-url", &db.url, "--format", "json"],
    ] {
        let r = p.cargo_migrate(args).fails(1);
        assert_eq!(r.json()["error"]["kind"], "lint_failed", "{args:?}: {}", r.all());
        assert_eq!(db.applied(), ["20250101000000"], "{args:?}");
    }
    // Asked to, it runs, and PostgreSQL says what the check said.
    let r = p.cargo_migrate(&["down", "--no-lint", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "migration_failed", "{}", r.all());
    assert!(db.table_exists("items"));
}
