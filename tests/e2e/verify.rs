use crate::harness::*;

/// `verify --scratch-url` on another server runs the roles file there before
/// the migrations, as the local database does.
#[test]
fn verify_on_another_server_runs_the_roles_file_first() {
    let db = Db::new("verify_roles");
    let p = Project::new(&db);
    let role = format!("verify_owners_{}", run_id());
    p.migration(
        "20240101000000_reports",
        &format!("CREATE TABLE reports (id int);\nALTER TABLE reports OWNER TO {role};\n"),
        Some("DROP TABLE reports;\n"),
    );
    let j = p.cargo_migrate(&["verify", "--scratch-url", &db.url, "--format", "json"]).fails(1).json();
    assert_eq!(j["migrations"][0]["state"], "failing", "{j}");
    p.write(
        "supabase/roles.sql",
        &format!("DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n"),
    );
    let j = p.cargo_migrate(&["verify", "--scratch-url", &db.url, "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["state"], "reversible", "{j}");
    // A roles file that fails stops verify before any migration runs.
    p.write("supabase/roles.sql", "CREATE ROLE;\n");
    let r = p.cargo_migrate(&["verify", "--scratch-url", &db.url, "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "roles_file", "{}", r.stdout);
}

#[test]
fn verify_proves_each_pending_migration_reversible_on_scratch_databases() {
    let p = Project::bare("app");
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_notes",
        "CREATE TABLE notes (id int PRIMARY KEY, owner uuid);\nCREATE INDEX notes_owner ON notes (owner);\n\
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nALTER PUBLICATION supabase_realtime ADD TABLE notes;\n",
        // Forgets nothing: the table takes its index, policy and publication membership with it.
        Some("DROP TABLE notes;\n"),
    );
    p.migration(
        "20250103000000_leaky",
        "ALTER TABLE first ADD COLUMN tag text;\nCREATE INDEX first_tag ON first (tag);\n\
         CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql AS $$ SELECT upper(t) $$;\n",
        Some("DROP INDEX first_tag;\n"),
    );
    p.table_migration("20250104000000", "last");
    p.cargo_migrate(&["up", "--count", "1"]).ok();
    let r = p.cargo_migrate(&["verify", "--format", "json"]).fails(1);
    let j = r.json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["reversible", "not_reversible", "reversible"], "{}", r.stdout);
    let details = j["migrations"][1]["details"].to_string();
    assert!(details.contains("left behind: column public.first.tag text"), "{details}");
    assert!(details.contains("left behind: function public.shout(text)"), "{details}");
    // The target was only read: the three are still pending there.
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["summary"]["pending"], 3);
    // Fixed, it passes; and the scratch databases are gone.
    p.write(
        "migrations/20250103000000_leaky/down.sql",
        "DROP FUNCTION shout(text);\nDROP INDEX first_tag;\nALTER TABLE first DROP COLUMN tag;\n",
    );
    let j = p.cargo_migrate_json(&["verify"]).ok().json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["reversible"; 3], "{j}");
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    assert_eq!(psql(&url, "SELECT count(*) FROM pg_database WHERE datname LIKE 'cargo_migrate_verify_%'"), "0");
    // A migration that fails is reported as up reports it, and the later ones are not tried.
    p.migration("20250105000000_broken", "CREATE TABLE broken (id nosuchtype);\n", Some("DROP TABLE broken;\n"));
    p.table_migration("20250106000000", "after_broken");
    let j = p.cargo_migrate_json(&["verify", "--all"]).fails(1).json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states[4..], ["failing", "not_tried"], "{j}");
}

/// Verified in place, each migration in one transaction between savepoints;
/// one that runs outside a transaction goes the old way (a database copy), and
/// the trial goes on after it from the state it left. A down that fails, or an
/// up that cannot run again after its down, does not stop the next ones.
#[test]
fn verify_all_goes_on_after_a_migration_outside_a_transaction_and_a_failing_down() {
    let db = Db::new("verify_in_place");
    let p = Project::new(&db);
    let role = format!("verify_role_{}", run_id());
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_concurrently",
        "CREATE INDEX CONCURRENTLY first_id_idx ON first (id);\n",
        Some("DROP INDEX CONCURRENTLY first_id_idx;\n"),
    );
    p.write("migrations/20250102000000_concurrently/metadata.toml", "run_in_transaction = false\n");
    p.migration(
        "20250103000000_bad_down",
        "CREATE TABLE second (id int REFERENCES first (id));\n",
        Some("DROP TABLE nosuchtable;\n"),
    );
    // A role is the cluster's, not the schema's: the snapshots agree, but up cannot run twice.
    p.migration("20250104000000_role", &format!("CREATE ROLE {role};\n"), Some("SELECT 1;\n"));
    p.migration(
        "20250105000000_uses_both",
        "ALTER TABLE second ADD COLUMN note text;\n",
        Some("ALTER TABLE second DROP COLUMN note;\n"),
    );
    let j = p.cargo_migrate_json(&["verify", "--all", "--no-lint", "--scratch-url", &db.url]).fails(1).json();
    let _ = try_psql(&db.url, &format!("DROP ROLE IF EXISTS {role}"));
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["reversible", "reversible", "failing", "failing", "reversible"], "{j}");
    assert_eq!(j["migrations"][2]["details"][0], "down failed", "{j}");
    assert_eq!(j["migrations"][3]["details"][0], "up after down failed", "{j}");
    // The scratch databases are gone, and the target was not touched.
    assert_eq!(db.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'cargo_migrate_verify_%'"), "0");
    assert!(db.applied().is_empty() && !db.table_exists("public.first"));
}
