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
