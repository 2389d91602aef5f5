//! The team safety net: batches, and rollback that survives a branch switch.

use crate::harness::*;

#[test]
fn down_batch_reverts_what_the_last_up_applied() {
    let db = Db::new("batches");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    p.table_migration("20250102000000", "b");
    p.table_migration("20250103000000", "c");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate_json(&["status"]).ok().json();
    let batches: Vec<_> = j["migrations"].as_array().unwrap().iter().map(|m| m["batch"].as_i64()).collect();
    assert_eq!(batches, [Some(1), Some(2), Some(2)], "{j}");
    let r = p.cargo_migrate_json(&["down", "--batch"]).ok();
    assert_eq!(r.steps(), ["reverted 20250103000000_create_c", "reverted 20250102000000_create_b"]);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("a") && !db.table_exists("b") && !db.table_exists("c"));
    p.cargo_migrate(&["down", "--batch", "--count", "1"]).fails(2);
}

#[test]
fn a_migration_whose_folder_is_gone_is_reverted_from_the_stored_down_sql() {
    let db = Db::new("stored_down");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "kept");
    p.migration(
        "20250102000000_feature_branch",
        "CREATE TABLE feature (id int);\nCREATE INDEX feature_id ON feature (id);\n",
        Some("DROP INDEX feature_id;\nDROP TABLE feature;\n"),
    );
    p.cargo_migrate(&["up"]).ok();
    // Switching branches takes the folder away.
    std::fs::remove_dir_all(p.root.join("migrations/20250102000000_feature_branch")).unwrap();
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.anomalies(), ["missing_on_disk"], "{}", r.stdout);
    let r = p.cargo_migrate_json(&["down"]).ok();
    assert_eq!(r.steps(), ["reverted 20250102000000_feature_branch"]);
    assert_eq!(r.json()["migrations"][0]["from_stored_down"], true, "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("feature") && db.table_exists("kept"));
    // Nothing to re-apply it from: redo refuses, and changes nothing.
    p.migration("20250103000000_again", "CREATE TABLE again (id int);\n", Some("DROP TABLE again;\n"));
    p.cargo_migrate(&["up"]).ok();
    std::fs::remove_dir_all(p.root.join("migrations/20250103000000_again")).unwrap();
    p.cargo_migrate_json(&["redo"]).fails_with(1, "missing_on_disk");
    assert!(db.table_exists("again"));
}

#[test]
fn an_edited_down_sql_is_not_what_reverts_an_applied_migration() {
    let db = Db::new("edited_down");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_two_tables",
        "CREATE TABLE one (id int);\nCREATE TABLE two (id int);\n",
        Some("DROP TABLE two;\nDROP TABLE one;\n"),
    );
    p.cargo_migrate(&["up"]).ok();
    // After it was applied, someone rewrites down.sql for a newer up.sql.
    p.write("migrations/20250101000000_two_tables/down.sql", "DROP TABLE three;\n");
    let j = p.cargo_migrate(&["down", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["from_stored_down"], true, "{j}");
    assert!(!db.table_exists("one") && !db.table_exists("two"));
    assert!(db.applied().is_empty());
    // Re-applied with the new file, that file is what is stored (and used) next.
    p.write("migrations/20250101000000_two_tables/down.sql", "DROP TABLE two;\nDROP TABLE one;\n");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate(&["down", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["from_stored_down"], false, "{j}");
}

#[test]
fn an_applied_migration_edited_afterwards_is_reported_and_stops_up() {
    let db = Db::new("checksums");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    // A Windows checkout (CRLF, a BOM) is not an edit.
    p.write("migrations/20250101000000_create_a/up.sql", "\u{feff}CREATE TABLE a (id bigint PRIMARY KEY);\r\n");
    p.cargo_migrate(&["status", "--exit-code"]).ok();
    // A real edit is.
    p.write("migrations/20250101000000_create_a/up.sql", "CREATE TABLE a (id bigint PRIMARY KEY, name text);\n");
    p.table_migration("20250102000000", "b");
    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.json()["migrations"][0]["modified"], true);
    assert_eq!(r.anomalies(), ["modified"]);
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "modified");
    // The way out is named: the command that records the edit.
    let hint = r.json()["error"]["hint"].as_str().unwrap_or_default().to_string();
    assert!(hint.contains("cargo migrate repair 20250101000000"), "{}", r.stdout);
    assert!(!db.table_exists("b"), "nothing ran");
    p.cargo_migrate(&["up", "--allow-modified"]).ok();
    assert!(db.table_exists("b"));
    // A deliberate edit is recorded, and then nothing is odd any more.
    p.cargo_migrate(&["repair", "20250101000000"]).ok();
    p.cargo_migrate(&["status", "--exit-code"]).ok();
    p.cargo_migrate_json(&["repair", "20250109000000"]).fails_with(2, "not_applied");
}

#[test]
fn in_ci_nothing_configured_is_an_error_not_the_local_database() {
    let mut p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    p.env = vec![("CI".into(), "true".into())];
    p.cargo_migrate_json(&["up"]).fails_with(1, "connect");
    assert!(!p.root.join("target/cargo-migrate").exists(), "no local database was made");
    p.env = Vec::new();
    p.cargo_migrate_json(&["status", "--no-local"]).fails_with(1, "connect");
    assert!(!p.root.join("target/cargo-migrate").exists(), "no local database was made");
    // Said out loud whenever it is used, not only when it starts.
    p.env = vec![("CI".into(), "true".into())];
    let r = p.cargo_migrate(&["up", "--local"]).ok();
    assert!(r.stderr.contains("using the local development database"), "{}", r.stderr);
    let r = p.cargo_migrate(&["status", "--local"]).ok();
    assert!(r.stderr.contains("using the local development database"), "{}", r.stderr);
    assert!(p.root.join("target/cargo-migrate").exists());
    // The environment twins take 1/0 as well as true/false.
    p.env = vec![("CI".into(), "true".into()), ("MIGRATE_LOCAL".into(), "1".into())];
    p.cargo_migrate(&["status"]).ok();
    p.env = vec![("MIGRATE_NO_LOCAL".into(), "1".into())];
    p.cargo_migrate_json(&["status"]).fails_with(1, "connect");
}

#[test]
fn a_deploy_image_needs_neither_cargo_nor_a_cargo_project() {
    let db = Db::new("no_cargo");
    let tmp = tempfile::Builder::new().prefix("cargo-migrate-deploy-").tempdir().unwrap();
    let dir = tmp.path();
    let m = dir.join("migrations/20250101000000_create_deployed");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "CREATE TABLE deployed (id int);\n").unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE deployed;\n").unwrap();
    // Only the binary and the system's folders: no cargo on PATH, no Cargo.toml anywhere up.
    let run = |args: &[&str], extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
        cmd.args(args).current_dir(dir).env_clear().env("PATH", "/usr/bin:/bin");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        to_run(cmd.output().unwrap())
    };
    let r = run(&["up", "--dir", "migrations", "--database-url", &db.url], &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(db.table_exists("deployed"));
    let r = run(&["status", "--exit-code"], &[("MIGRATE_DIR", "migrations"), ("DATABASE_URL", &db.url)]);
    assert_eq!(r.code, 0, "{}", r.all());
    // Without the folder, it says how to give it.
    let r = run(&["status", "--database-url", &db.url, "--format", "json"], &[]);
    assert_eq!((r.code, r.kind().as_str()), (1, "no_cargo"), "{}", r.all());
    // The way out is named: the flag that gives the folder.
    assert!(r.json()["error"]["hint"].as_str().unwrap_or_default().contains("--dir"), "{}", r.stdout);
}

#[test]
fn reverting_on_a_database_that_is_not_local_needs_yes_outside_a_terminal() {
    let mut p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    // Nothing resolves this name: were it contacted, the error would say so.
    p.env = vec![("DATABASE_URL".into(), "postgres://deploy@db.prod.invalid:5432/app".into())];
    // Refused before connecting: otherwise the kind would be `connect`.
    for args in [&["down"][..], &["redo"], &["down", "--all"]] {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        p.cargo_migrate(&args).fails_with(1, "confirmation_needed");
    }
    p.cargo_migrate_json(&["down", "--yes", "--connect-timeout", "2"]).fails_with(1, "connect");
    // `up` is not asked about, and a local database never is.
    p.cargo_migrate_json(&["up", "--connect-timeout", "2"]).fails_with(1, "connect");
    let db = Db::new("guard_local");
    p.env = vec![("DATABASE_URL".into(), db.url.clone())];
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate_json(&["down"]).ok();
    assert_eq!(r.steps(), ["reverted 20250101000000_create_a"]);
    assert!(db.applied().is_empty());
}

#[test]
fn dry_run_prints_exactly_what_would_run_and_changes_nothing() {
    let db = Db::new("dry_run");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.migration("20250102000000_index_a", "CREATE INDEX CONCURRENTLY a_id ON a (id);\n", Some("DROP INDEX a_id;\n"));
    p.write("migrations/20250102000000_index_a/metadata.toml", "run_in_transaction = false\n");
    let r = p.cargo_migrate(&["up", "--dry-run"]).ok();
    let out = &r.stdout;
    let order = [
        "dry run: nothing was changed",
        "CREATE TABLE IF NOT EXISTS",
        "-- apply 20250101000000_create_a",
        "BEGIN;\nCREATE TABLE a (id bigint PRIMARY KEY);",
        "RESET ALL;",
        "INSERT INTO cargo_migrate.migrations",
        "__diesel_schema_migrations (version) VALUES (E'20250101000000');\nCOMMIT;",
        "-- apply 20250102000000_index_a",
        "INSERT INTO cargo_migrate.partial",
        "CREATE INDEX CONCURRENTLY a_id ON a (id);\nUPDATE cargo_migrate.partial SET statements_done = 1",
        "DELETE FROM cargo_migrate.partial",
    ];
    let mut at = 0;
    for needle in order {
        let found = out[at..].find(needle).unwrap_or_else(|| panic!("{needle:?} after byte {at} in:\n{out}"));
        at += found + needle.len();
    }
    assert!(!db.table_exists("a") && !db.table_exists("public.__diesel_schema_migrations"), "nothing changed");
    assert_eq!(db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'cargo_migrate'"), "0");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate(&["down", "--all", "--dry-run", "--format", "json"]).ok().json();
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["steps"][0]["version"], "20250102000000");
    assert_eq!(j["steps"][0]["action"], "reverted");
    assert!(j["steps"][1]["sql"][0].as_str().unwrap().contains("DROP TABLE a;"), "{j}");
    assert_eq!(db.applied().len(), 2, "nothing reverted");
    let j = p.cargo_migrate_json(&["up", "--dry-run"]).ok().json();
    assert_eq!(j["steps"].as_array().map(Vec::len), Some(0), "{j}");
}

#[test]
fn up_backup_dumps_first_into_a_private_file_or_runs_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let db = Db::new("backup");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "before");
    p.cargo_migrate(&["up"]).ok();
    db.query("INSERT INTO before VALUES (42)");
    p.table_migration("20250102000000", "after");
    let j = p.cargo_migrate(&["up", "--backup", "--format", "json"]).ok().json();
    let path = std::path::PathBuf::from(j["backup"].as_str().expect("a backup path"));
    assert!(path.starts_with(p.root.join("target/cargo-migrate/backups")), "{}", path.display());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // It holds the database as it was before the run.
    let list = std::process::Command::new(cluster().bin.join("pg_restore")).arg("--list").arg(&path).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("TABLE public before") && !list.contains("TABLE public after"), "{list}");
    assert!(db.table_exists("after"));
    // A backup that cannot be made stops the run before anything is applied.
    p.table_migration("20250103000000", "third");
    p.cargo_migrate_json(&["up", "--backup", "--backup-dir", "migrations/dumps"]).fails_with(2, "backup");
    p.write("not-a-folder", "");
    p.cargo_migrate_json(&["up", "--backup", "--backup-dir", "not-a-folder"]).fails_with(1, "io");
    assert!(!db.table_exists("third"));
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

#[test]
fn on_a_terminal_reverting_a_database_that_is_not_local_is_asked_about() {
    if !std::path::Path::new("/usr/bin/script").is_file() {
        eprintln!("skipped: no /usr/bin/script to give the command a terminal");
        return;
    }
    let db = Db::new("guard_tty");
    // 0.0.0.0 reaches this machine on Linux, yet it is not a local address by name.
    let url = db.url.replace("127.0.0.1", "0.0.0.0");
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), url)];
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    let down = |answer: &str| {
        let bin = env!("CARGO_BIN_EXE_cargo-migrate");
        let mut cmd = std::process::Command::new("/usr/bin/script");
        cmd.args(["-qec", &format!("{bin} down"), "/dev/null"]).current_dir(&p.root);
        p.environment(&mut cmd);
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        to_run(child.wait_with_output().unwrap())
    };
    let r = down("n\n");
    // The question a user reads; no is no.
    assert!(r.stdout.contains("which is not a local database: go on? [y/N]"), "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"], "nothing reverted");
    assert!(db.table_exists("a"), "nothing reverted");
    let r = down("y\n");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(db.applied().is_empty() && !db.table_exists("a"));
}

#[test]
fn two_workspaces_sharing_a_target_directory_do_not_share_a_local_database() {
    let shared = tempfile::Builder::new().prefix("cargo-migrate-shared-target-").tempdir().unwrap();
    let shared = shared.path();
    let mut a = Project::bare("a");
    let mut b = Project::bare("b");
    for p in [&mut a, &mut b] {
        p.env = vec![("CARGO_TARGET_DIR".into(), shared.display().to_string())];
    }
    a.table_migration("20250201000000", "later");
    b.table_migration("20250101000000", "earlier");
    a.cargo_migrate(&["up"]).ok();
    // Were the database shared, b's older migration would be refused as out of order.
    b.cargo_migrate(&["up"]).ok();
    let ua = a.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout;
    let ub = b.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout;
    assert_ne!(ua, ub);
    // local status says whose each one is.
    let j = a.cargo_migrate(&["local", "status", "--format", "json"]).ok().json();
    let root = |p: &Project| std::fs::canonicalize(&p.root).unwrap().display().to_string();
    assert_eq!(
        j["workspace"].as_str().map(|w| std::fs::canonicalize(w).unwrap().display().to_string()),
        Some(root(&a)),
        "{j}"
    );
    let others = j["others"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{j}");
    assert_eq!(
        others[0]["workspace"].as_str().map(|w| std::fs::canonicalize(w).unwrap().display().to_string()),
        Some(root(&b)),
        "{j}"
    );
    assert_eq!(others[0]["running"], true, "{j}");
    a.cargo_migrate(&["local", "stop"]).ok();
    b.cargo_migrate(&["local", "stop"]).ok();
}

#[test]
fn lint_database_reports_what_supabase_advisor_would() {
    let p = Project::bare("app");
    p.migration(
        "20250101000000_careless",
        "CREATE TABLE open_table (id int PRIMARY KEY);\n\
         CREATE TABLE parent (id int PRIMARY KEY);\nALTER TABLE parent ENABLE ROW LEVEL SECURITY;\n\
         CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent);\nALTER TABLE child ENABLE ROW LEVEL SECURITY;\n\
         CREATE POLICY mine ON child FOR SELECT TO authenticated USING (parent_id::text = auth.uid()::text);\n\
         CREATE POLICY anyone_writes ON parent FOR UPDATE TO authenticated USING (true);\n\
         ALTER PUBLICATION supabase_realtime ADD TABLE open_table;\n\
         CREATE FUNCTION public.loose() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n\
         CREATE VIEW public.everything AS SELECT * FROM open_table;\n",
        Some("SELECT 1;"),
    );
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate(&["lint", "--database", "--format", "json"]).fails(1);
    let j = r.json();
    let rules: Vec<(String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["object"].as_str().unwrap().to_string()))
        .collect();
    for (rule, object) in [
        ("rls_disabled_in_public", "open_table"),
        ("unindexed_foreign_keys", "child"),
        ("auth_rls_initplan", "child"),
        ("rls_policy_always_true", "parent"),
        ("realtime_table_without_rls", "open_table"),
        ("function_search_path_mutable", "loose"),
        ("security_definer_view", "everything"),
    ] {
        assert!(rules.iter().any(|(r, o)| r == rule && o.contains(object)), "{rule} on {object} in {rules:?}");
    }
    let human = p.cargo_migrate(&["lint", "--database"]).fails(1);
    assert!(human.stdout.contains("error rls_disabled_in_public") && human.stdout.contains("fix:"), "{}", human.stdout);
    // The tool's own table pattern passes its own checks.
    let q = Project::bare("app2");
    q.cargo_migrate(&["create", "add_notes", "--table", "notes", "--policy", "owner", "user_id", "--realtime"]).ok();
    q.cargo_migrate(&["up"]).ok();
    let r = q.cargo_migrate(&["lint", "--database", "--fail-on", "warn", "--format", "json"]).ok();
    assert_eq!(r.json()["summary"]["warnings"], 0, "{}", r.stdout);
}
