//! `cargo migrate seed`: what it loads and what it reports.

use crate::harness::*;

/// The server runs on past a COPY … TO STDOUT without waiting for its rows
/// to be read: every result after it is read and reported, so an error
/// further down is the error, at its own line (the binding once drained
/// them unseen, and blamed the COPY).
#[test]
fn the_results_after_a_copy_to_stdout_are_all_accounted_for() {
    let db = Db::new("seed_copy_out");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_notes.sql", "create table notes (id int primary key);\n");
    p.write(
        "supabase/seed.sql",
        "insert into notes values (1);\ncopy (select 1) to stdout;\ninsert into notes values (2);\nselect 1 / 0;\n",
    );
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate(&["seed", "--format", "json"]).fails(1);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "migration_failed", "{}", r.all());
    assert!(j["error"]["message"].as_str().unwrap().contains("seed.sql:4:"), "{}", r.all());
    assert_eq!(db.query("SELECT count(*) FROM notes"), "0", "the seed transaction was rolled back");
    // Without the error, everything after the COPY ran, and its rows were dropped with a warning.
    p.write(
        "supabase/seed.sql",
        "insert into notes values (1);\ncopy (select 1) to stdout;\ninsert into notes values (2);\n",
    );
    let r = p.cargo_migrate(&["seed"]).ok();
    assert!(r.stderr.contains("WARNING") || r.stdout.contains("WARNING"), "{}", r.all());
    assert_eq!(db.query("SELECT count(*) FROM notes"), "2");
}

#[test]
fn seed_loads_supabase_seed_in_one_transaction_apart_from_migrations() {
    let db = Db::new("seed");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_notes.sql", "create table notes (id int primary key, body text);\n");
    p.write("supabase/seed.sql", "insert into notes values (1, 'one');\ninsert into notes values (2, 'two');\n");
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["seed"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM notes"), "2");
    // Seeds are never recorded as migrations.
    assert_eq!(db.query("SELECT count(*) FROM supabase_migrations.schema_migrations"), "1");
    // A failing seed names its line and leaves nothing of any seed file.
    db.query("TRUNCATE notes");
    p.write("supabase/config.toml", "[db.seed]\nenabled = true\nsql_paths = ['./seeds/*.sql']\n");
    p.write("supabase/seeds/01_first.sql", "insert into notes values (1, 'one');\n");
    p.write(
        "supabase/seeds/02_second.sql",
        "-- the second\ninsert into notes values (2, 'two');\ninsert into notes values (2, 'again');\n",
    );
    let r = p.cargo_migrate_json(&["seed"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("02_second.sql:3"), "{}", r.stdout);
    assert_eq!(db.query("SELECT count(*) FROM notes"), "0", "none of the seed files was loaded");
    // A database that is not on this machine needs --yes (checked before connecting).
    let mut remote = Project::new(&db);
    remote.write("supabase/seed.sql", "select 1;\n");
    remote.env = vec![("DATABASE_URL".into(), "postgres://app:secret@db.example.com:5432/app".into())];
    let r = remote.cargo_migrate_json(&["seed"]).fails_with(1, "confirmation_needed");
    assert!(!r.all().contains("secret"), "{}", r.all());
    // No seeds at all: says where it looked.
    std::fs::remove_file(p.root.join("supabase/config.toml")).unwrap();
    std::fs::remove_file(p.root.join("supabase/seed.sql")).unwrap();
    std::fs::remove_dir_all(p.root.join("supabase/seeds")).unwrap();
    let r = p.cargo_migrate_json(&["seed"]).fails_with(1, "no_seeds");
    assert!(r.json()["error"].to_string().contains("seed.sql"), "where it looked: {}", r.stdout);
}
