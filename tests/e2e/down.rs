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
