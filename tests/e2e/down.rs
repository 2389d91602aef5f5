//! `cargo migrate down`: what it refuses to send, before anything runs.

use crate::harness::{Db, Project};

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
