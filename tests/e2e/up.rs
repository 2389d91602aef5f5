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

/// Passwords quoted in SQL never reach the output: not the failing line, not
/// the server's message, not a notice, not a finding (human, JSON, SARIF).
#[test]
fn passwords_in_sql_are_masked_in_every_output() {
    const ROLE_PW: &str = "R0leSecretPw";
    const URL_PW: &str = "VeryS3cretPw";
    let db = Db::new("up_sql_passwords");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_notice",
        "-- migrate:ignore-file hardcoded_secret\nDO $$ BEGIN RAISE NOTICE 'using %', 'postgres://admin:VeryS3cretPw@db.example.com/app'; END $$;\n",
        Some("SELECT 1;"),
    );
    p.migration(
        "20250102000000_role",
        "CREATE ROLE up_sql_passwords_svc LOGIN PASSWORD 'R0leSecretPw' VALID UNTIL 'garbage';\n",
        Some("DROP ROLE IF EXISTS up_sql_passwords_svc;"),
    );
    let mut runs = vec![
        p.cargo_migrate(&["lint", "--all"]).fails(1),
        p.cargo_migrate(&["lint", "--all", "--format", "json"]).fails(1),
        p.cargo_migrate(&["lint", "--all", "--format", "sarif"]).fails(1),
        p.cargo_migrate(&["up"]).fails(1),
        p.cargo_migrate(&["up", "--dry-run", "--no-lint"]).ok(),
        p.cargo_migrate(&["up", "--no-lint", "--format", "json"]).fails(1),
    ];
    assert_eq!(db.applied(), ["20250101000000"], "{}", runs[5].all());
    assert_eq!(runs[5].json()["error"]["kind"], "migration_failed", "{}", runs[5].all());
    runs.push(p.cargo_migrate(&["up", "--no-lint"]).fails(1));
    assert!(runs.last().unwrap().stderr.contains("PASSWORD '****'"), "{}", runs.last().unwrap().all());
    // A server message that quotes a URL's password, and the line that holds it.
    p.write(
        "migrations/20250102000000_role/up.sql",
        "SELECT 'postgres://admin:VeryS3cretPw@db.example.com/app'::int;\n",
    );
    runs.push(p.cargo_migrate(&["up", "--no-lint"]).fails(1));
    runs.push(p.cargo_migrate(&["up", "--no-lint", "--format", "json"]).fails(1));
    // The notice of a migration that succeeds.
    p.cargo_migrate(&["down"]).ok();
    p.write("migrations/20250102000000_role/up.sql", "SELECT 1;\n");
    runs.push(p.cargo_migrate(&["up", "--no-lint"]).ok());
    assert!(runs.last().unwrap().all().contains("using postgres://admin:****@"), "{}", runs.last().unwrap().all());
    for r in &runs {
        for secret in [ROLE_PW, URL_PW] {
            assert!(!r.all().contains(secret), "{secret} leaked:\n{}", r.all());
        }
    }
}
