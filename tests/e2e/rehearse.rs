//! `cargo migrate up --rehearse`: the pending migrations run on a scratch
//! copy, watched from other sessions; the target is never touched.

use crate::harness::*;

/// The migration named `name` in a rehearsal's JSON report.
fn rehearsed<'a>(j: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    j["migrations"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("{name}: {j}"))
}

fn no_scratch_left(db: &Db, name: &str) {
    assert_eq!(
        db.query(&format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")),
        "0",
        "{name} left behind"
    );
}

/// A table of 1.5 million rows, made by the test: a plain CREATE INDEX is
/// reported as blocking writes for as long as it runs (but not reads), the
/// same index made CONCURRENTLY (outside a transaction) as blocking nothing,
/// and the target has neither index nor any new history row afterwards.
#[test]
fn a_plain_create_index_blocks_writes_and_a_concurrent_one_does_not() {
    let db = Db::new("rehearse_index");
    db.query(
        "CREATE TABLE big (id int NOT NULL, n int NOT NULL, m int NOT NULL); \
         INSERT INTO big SELECT g, (g::bigint * 7919) % 1000003, (g::bigint * 104729) % 999983 \
           FROM generate_series(1, 1500000) g; ANALYZE big",
    );
    let p = Project::new(&db);
    p.migration("20250101000000_index_n", "CREATE INDEX big_n ON big (n);\n", Some("DROP INDEX big_n;\n"));
    p.migration(
        "20250102000000_index_m",
        "CREATE INDEX CONCURRENTLY big_m ON big (m);\n",
        Some("DROP INDEX CONCURRENTLY big_m;\n"),
    );
    p.write("migrations/20250102000000_index_m/metadata.toml", "run_in_transaction = false\n");
    let r = p.cargo_migrate_json(&["up", "--rehearse", "--no-lint"]).ok();
    let j = r.json();
    assert_eq!(j["rehearsal"], true, "{}", r.all());
    assert_eq!(j["copied_from"], "template", "{}", r.all());

    let plain = rehearsed(&j, "20250101000000_index_n");
    assert_eq!(plain["strongest_lock"]["mode"], "ShareLock", "{plain}");
    assert_eq!(plain["strongest_lock"]["relation"], "public.big", "{plain}");
    assert_eq!(plain["writes_waited"], true, "{plain}");
    assert_eq!(plain["reads_waited"], false, "{plain}");
    let (took, blocked) = (plain["duration_ms"].as_u64().unwrap(), plain["writes_blocked_ms"].as_u64().unwrap());
    // Blocked for (nearly) all of it: what sampling misses at the edges is a few periods.
    assert!(blocked * 10 >= took * 7, "writes blocked {blocked} ms of {took} ms: {plain}");
    assert!(plain["strongest_lock"]["held_ms"].as_u64().unwrap() * 10 >= took * 7, "{plain}");
    assert_eq!(plain["rewritten"], serde_json::json!([]), "an index does not rewrite the table: {plain}");

    let concurrent = rehearsed(&j, "20250102000000_index_m");
    assert_eq!(concurrent["strongest_lock"]["mode"], "ShareUpdateExclusiveLock", "{concurrent}");
    assert_eq!(concurrent["writes_waited"], false, "{concurrent}");
    assert_eq!(concurrent["reads_waited"], false, "{concurrent}");
    let tries = concurrent["probes"].as_array().unwrap().iter().map(|p| p["tries"].as_u64().unwrap()).sum::<u64>();
    assert!(tries >= 4, "the app's statements were tried while it ran: {concurrent}");

    // The target: untouched.
    assert_eq!(db.query("SELECT count(*) FROM pg_indexes WHERE tablename = 'big'"), "0", "no index on the target");
    assert!(db.applied().is_empty());
    no_scratch_left(&db, j["scratch"].as_str().unwrap());
}

/// An UPDATE of every row rewrites nothing but writes rows, and takes a lock
/// that lets reads through; an ALTER TABLE that rewrites is seen rewriting.
/// The copy is made with pg_dump | pg_restore.
#[test]
fn rows_and_rewrites_are_counted_on_a_copy_made_with_pg_dump() {
    let db = Db::new("rehearse_rows");
    db.query("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 20000) g");
    let p = Project::new(&db);
    p.migration("20250101000000_bump", "UPDATE t SET v = v + 1;\n", Some("UPDATE t SET v = v - 1;\n"));
    p.migration(
        "20250102000000_widen",
        "ALTER TABLE t ALTER COLUMN v TYPE bigint;\n",
        Some("ALTER TABLE t ALTER COLUMN v TYPE int;\n"),
    );
    let r = p.cargo_migrate_json(&["up", "--rehearse", "--from-target", "--no-lint"]).ok();
    let j = r.json();
    assert_eq!(j["copied_from"], "target", "{}", r.all());
    let bump = rehearsed(&j, "20250101000000_bump");
    assert_eq!(
        bump["rows"],
        serde_json::json!([{"relation": "public.t", "inserted": 0, "updated": 20000, "deleted": 0}]),
        "{bump}"
    );
    assert_eq!(bump["rewritten"], serde_json::json!([]), "{bump}");
    let widen = rehearsed(&j, "20250102000000_widen");
    assert_eq!(widen["rewritten"], serde_json::json!(["public.t"]), "{widen}");
    assert_eq!(db.query("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'v'"), "integer");
    assert_eq!(db.query("SELECT sum(v) FROM t"), (20000 * 20001 / 2).to_string());
    no_scratch_left(&db, j["scratch"].as_str().unwrap());
}

/// From a dump file; a migration that fails there fails the rehearsal, and
/// the scratch database is dropped all the same.
#[test]
fn a_failing_migration_fails_the_rehearsal_and_the_copy_is_dropped() {
    let db = Db::new("rehearse_backup");
    db.query("CREATE TABLE t (id int PRIMARY KEY)");
    let p = Project::new(&db);
    let dump = p.root.join("t.dump");
    let out = std::process::Command::new(cluster().bin.join("pg_dump"))
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&db.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    p.table_migration("20250101000000", "fine");
    p.migration("20250102000000_broken", "ALTER TABLE t ADD COLUMN x txet;\n", Some("SELECT 1;\n"));
    let r = p
        .cargo_migrate_json(&["up", "--rehearse", "--from-backup", "t.dump", "--no-lint"])
        .fails_with(1, "migration_failed");
    assert!(db.applied().is_empty(), "{}", r.all());
    assert!(!db.table_exists("public.fine"));
    assert_eq!(
        db.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'cargo_migrate_rehearse%'"),
        "0",
        "{}",
        r.all()
    );
    // A file that is not there: a clear refusal.
    p.cargo_migrate_json(&["up", "--rehearse", "--from-backup", "nope.dump"]).fails_with(1, "rehearsal");
}
