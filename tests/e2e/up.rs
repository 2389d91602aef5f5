//! `cargo migrate up`: what it refuses to send, before anything runs.

use crate::harness::{Db, Project};

/// An unclosed quote would swallow the rest of the text, the bookkeeping sent
/// with it included: it is refused before anything is sent, at its line.
#[test]
fn an_unclosed_quote_is_refused_at_its_line_before_anything_runs() {
    let db = Db::new("up_unclosed_quote");
    let p = Project::new(&db);
    p.migration("20250101000000_first", "CREATE TABLE x (v text);\n", Some("DROP TABLE x;"));
    p.migration(
        "20250102000000_quote",
        "CREATE TABLE y (v text);\nINSERT INTO y VALUES ('abc);\n",
        Some("DROP TABLE y;"),
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let error = &r.json()["error"];
    assert_eq!(error["kind"], "unclosed_sql", "{}", r.all());
    assert!(error["message"].as_str().unwrap_or_default().contains("up.sql:2:"), "{}", r.all());
    assert!(db.applied().is_empty(), "{}", r.all());
    assert!(!db.table_exists("x") && !db.table_exists("y"), "{}", r.all());
    // The dry run says the same.
    let r = p.cargo_migrate(&["up", "--dry-run", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "unclosed_sql", "{}", r.all());
}

/// psql's inline data after `COPY … FROM stdin` is no SQL: refused with the
/// ways to load rows that a migration can use.
#[test]
fn copy_from_stdin_is_refused_before_anything_runs() {
    let db = Db::new("up_copy_stdin");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_rows",
        "CREATE TABLE c (a int, b text);\nCOPY public.c (a, b) FROM stdin;\n1\tone\n2\ttwo\n\\.\n",
        Some("DROP TABLE c;"),
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let error = &r.json()["error"];
    assert_eq!(error["kind"], "copy_from_stdin", "{}", r.all());
    assert!(error["message"].as_str().unwrap_or_default().contains("up.sql:2:"), "{}", r.all());
    assert!(db.applied().is_empty() && !db.table_exists("c"), "{}", r.all());
}
