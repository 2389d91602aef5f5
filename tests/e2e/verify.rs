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
