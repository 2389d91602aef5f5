use diesel::{Connection, PgConnection};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

use crate::harness::*;

#[test]
fn migrations_applied_by_diesels_harness_show_as_applied() {
    let db = Db::new("diesel_to_us");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250102000000", "b");
    // The app's embed_migrations!/diesel CLI path: diesel's own harness.
    let mut conn = PgConnection::establish(&db.url).unwrap();
    let source = FileBasedMigrations::from_path(p.root.join("migrations")).unwrap();
    conn.run_pending_migrations(source).unwrap();
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["summary"]["applied"], 2);
    assert_eq!(j["summary"]["pending"], 0);
    let r = p.cargo_migrate_json(&["up"]).ok();
    assert!(r.steps().is_empty(), "{}", r.stdout);
    // And we can revert what diesel applied (no companion row: fewer facts, still valid).
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);
}

#[test]
fn diesels_harness_sees_what_we_applied() {
    let db = Db::new("us_to_diesel");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250102000000", "b");
    p.cargo_migrate(&["up"]).ok();
    let mut conn = PgConnection::establish(&db.url).unwrap();
    let source = FileBasedMigrations::from_path(p.root.join("migrations")).unwrap();
    assert!(!conn.has_pending_migration(source.clone()).unwrap());
    let applied: Vec<String> = conn.applied_migrations().unwrap().iter().map(|v| v.to_string()).collect();
    assert_eq!(applied, ["20250102000000", "20250101000000"]);
    conn.revert_last_migration(source).unwrap();
    assert!(!db.table_exists("b"));
}

#[test]
fn bookkeeping_survives_a_migration_that_empties_search_path() {
    let db = Db::new("search_path");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_lockdown",
        "CREATE TABLE public.a (id int);\nSET search_path = '';\nCREATE TABLE public.b (id int);\n",
        Some("SET search_path = '';\nDROP TABLE public.b;\nDROP TABLE public.a;\n"),
    );
    p.table_migration("20250102000000", "c");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert!(db.table_exists("public.c"), "the next migration ran with the normal search_path");
    p.cargo_migrate(&["down", "--all"]).ok();
    assert!(db.applied().is_empty());
}
