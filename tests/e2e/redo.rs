//! `cargo migrate redo`: revert and re-apply the newest migrations.

use crate::harness::*;
use crate::support::three;

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
    let r = p.cargo_migrate_json(&["redo"]).ok();
    assert_eq!(r.steps(), ["reverted 20250619185326_create_knowledge", "applied 20250619185326_create_knowledge"]);
    assert_eq!(db.query("SELECT count(*) FROM knowledge"), "0", "table was dropped and re-created");
    assert_eq!(db.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'knowledge'"), "2");
    assert_eq!(db.query("SELECT count(*) FROM participants"), "1", "older migrations untouched");
    p.cargo_migrate(&["redo", "--count", "2"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM participants"), "0");
    assert_eq!(db.applied().len(), 3);
}
