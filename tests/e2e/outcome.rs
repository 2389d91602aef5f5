//! When the connection drops after COMMIT was sent, the outcome is unknown to
//! the client: the run must ask the database instead of guessing.

use crate::harness::*;

#[test]
fn a_commit_whose_reply_was_lost_is_reported_as_applied() {
    let db = Db::new("lost_commit");
    let port = cutting_proxy(b"cut-the-wire-here");
    let mut p = Project::bare("app");
    let url = format!("postgres://postgres@127.0.0.1:{port}/{}?sslmode=disable", db.name());
    p.env = vec![("DATABASE_URL".into(), url)];
    p.table_migration("20250101000000", "first");
    p.migration("20250102000000_cut", "-- cut-the-wire-here\nCREATE TABLE cut (id int);\n", Some("DROP TABLE cut;"));
    p.table_migration("20250103000000", "third");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "connection_lost");
    let j = r.json();
    let done: Vec<&str> =
        j["error"]["done_before"].as_array().unwrap().iter().map(|d| d["version"].as_str().unwrap()).collect();
    assert_eq!(done, ["20250101000000", "20250102000000"], "{}", r.stdout);
    // The database agrees: committed, and the third was never started.
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert!(db.table_exists("cut") && !db.table_exists("third"));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied().len(), 3);
}
