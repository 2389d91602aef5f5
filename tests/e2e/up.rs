//! `cargo migrate up`: what it refuses and what it reports, checked against
//! the catalog.

use crate::harness::*;

/// The lock released through SQL built at run time (no word "advisory" in
/// the file): the run stops, and the error names the migration that did it.
#[test]
fn a_lock_released_through_dynamic_sql_names_the_migration_that_did_it() {
    let db = Db::new("up_dynamic_unlock");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "before");
    p.migration(
        "20250102000000_sly",
        "CREATE TABLE sly (id int);\nDO $$ BEGIN EXECUTE 'SELECT pg_adv' || 'isory_unlock_all()'; END $$;\n",
        Some("DROP TABLE sly;"),
    );
    p.table_migration("20250103000000", "after");
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "lock_lost", "{}", r.all());
    // The migration is named (data, not wording): the one that unlocked, not its neighbours.
    let message = j["error"]["message"].as_str().unwrap();
    assert!(message.contains("20250102000000_sly"), "{}", r.all());
    assert!(!message.contains("after") && !message.contains("before"), "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("public.sly") && !db.table_exists("public.after"));
}
