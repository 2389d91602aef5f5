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
