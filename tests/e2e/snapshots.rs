//! What users read, pinned: `--help` of every command, and the human and JSON
//! output of status, up, down and create on one fixed scenario. Volatile parts
//! (ports, paths, durations, timestamps, pids, clock-made versions) go through
//! the harness's `redact`.
//!
//! A change shows up as a failing test and a `.snap.new` file beside the
//! `.snap`; review it with `cargo insta review`, or accept every change with
//! `INSTA_UPDATE=always bash scripts/test.sh`. In CI (CI set) nothing is
//! written and a mismatch fails.

use insta::assert_snapshot;

use crate::harness::*;

const COMMANDS: &[&str] = &[
    "up",
    "down",
    "redo",
    "status",
    "repair",
    "verify",
    "lint",
    "create",
    "import",
    "adopt",
    "baseline",
    "seed",
    "database-url",
    "local",
];

#[test]
fn help_of_every_command() {
    let p = Project::bare("app");
    assert_snapshot!("help", p.redact(&p.cargo_migrate(&["--help"]).ok().stdout, &[]));
    for cmd in COMMANDS {
        let help = p.cargo_migrate(&[cmd, "--help"]).ok().stdout;
        assert_snapshot!(format!("help_{}", cmd.replace('-', "_")), p.redact(&help, &[]));
    }
}

#[test]
fn status_up_down_human_and_json() {
    let db = Db::new("snapshots");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "meetings");
    p.table_migration("20250102000000", "participants");
    p.migration(
        "20250103000000_index_meetings",
        "CREATE INDEX meetings_id ON meetings (id);\n",
        Some("DROP INDEX meetings_id;\n"),
    );
    let db_name = [(db.name(), "[DB]")];
    let human = |r: Run| p.redact(&r.all(), &db_name);
    let json =
        |r: Run| format!("{}\n--- stderr\n{}", p.redact_json(&r.json(), &db_name), p.redact(&r.stderr, &db_name));

    assert_snapshot!("status_human_all_pending", human(p.cargo_migrate(&["status"]).ok()));
    assert_snapshot!("up_human", human(p.cargo_migrate(&["up", "--count", "2"]).ok()));
    assert_snapshot!("status_human", human(p.cargo_migrate(&["status"]).ok()));
    assert_snapshot!("status_json", json(p.cargo_migrate(&["status", "--format", "json"]).ok()));
    assert_snapshot!("down_human", human(p.cargo_migrate(&["down"]).ok()));
    assert_snapshot!("up_json", json(p.cargo_migrate(&["up", "--format", "json"]).ok()));
    assert_snapshot!("down_json", json(p.cargo_migrate(&["down", "--count", "2", "--format", "json"]).ok()));
    assert_snapshot!("up_nothing_to_do_human", human(p.cargo_migrate(&["up", "--to", "20250101000000"]).ok()));
    p.cargo_migrate(&["up"]).ok();
    assert_snapshot!("redo_human", human(p.cargo_migrate(&["redo"]).ok()));
    assert_snapshot!("redo_json", json(p.cargo_migrate(&["redo", "--format", "json"]).ok()));
}

#[test]
fn a_failure_and_notices_human_and_json() {
    let db = Db::new("snapshots_failure");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_noisy",
        "DO $$ BEGIN RAISE NOTICE 'one notice'; RAISE WARNING 'one warning'; END $$;\n",
        Some("SELECT 1;\n"),
    );
    p.migration(
        "20250102000000_broken",
        "CREATE TABLE ok (id int);\nCREATE TABLE bad (id nosuchtype);\n",
        Some("SELECT 1;\n"),
    );
    let db_name = [(db.name(), "[DB]")];
    assert_snapshot!("up_failure_human", p.redact(&p.cargo_migrate(&["up"]).fails(1).all(), &db_name));
    p.cargo_migrate(&["down", "--all"]).ok();
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_snapshot!(
        "up_failure_json",
        format!("{}\n--- stderr\n{}", p.redact_json(&r.json(), &db_name), p.redact(&r.stderr, &db_name))
    );
}

#[test]
fn database_url_human_and_json() {
    let mut p = Project::bare("app");
    p.write(
        ".env",
        "VITE_SUPABASE_URL=https://abcdefghijklmnopqrst.supabase.co\nSUPABASE_DB_PASSWORD='p@ss:w/rd Sup3r'\n\
         SUPABASE_REGION=eu-west-1\n",
    );
    p.env = Vec::new();
    assert_snapshot!("database_url_human", p.redact(&p.cargo_migrate(&["database-url"]).ok().all(), &[]));
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).ok();
    assert_snapshot!("database_url_json", p.redact_json(&r.json(), &[]));
}

#[test]
fn create_human_and_json() {
    let p = Project::bare("app");
    let human = p.cargo_migrate(&["create", "add_meetings"]).ok();
    let json = p.cargo_migrate(&["create", "add_rooms", "--format", "json"]).ok();
    let created = folders(&p.root.join("migrations"));
    let versions: Vec<&str> = created.iter().map(|f| f.split('_').next().unwrap()).collect();
    assert_eq!(versions.len(), 2, "{created:?}");
    let clock = [(versions[0], "[VERSION1]"), (versions[1], "[VERSION2]")];
    assert_snapshot!("create_human", p.redact(&human.all(), &clock));
    assert_snapshot!("create_json", format!("{}\n--- stderr\n{}", p.redact_json(&json.json(), &clock), json.stderr));
}
