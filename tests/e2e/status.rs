use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::harness::*;

#[test]
fn status_lists_applied_and_pending_in_order_with_json_and_exit_code() {
    let db = Db::new("status_basic");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250102000000", "b");
    p.cargo_migrate(&["up", "--count", "1"]).ok();
    // (The human listing is a snapshot.)
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["summary"]["applied"], 1);
    assert_eq!(j["summary"]["pending"], 1);
    assert_eq!(j["migrations"][0]["state"], "applied");
    assert_eq!(j["migrations"][0]["version"], "20250101000000");
    assert!(j["migrations"][0]["applied_at"].is_string());
    assert_eq!(j["migrations"][1]["state"], "pending");
    assert!(j["migrations"][1]["applied_at"].is_null());

    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["status", "--exit-code"]).ok();
}

#[test]
fn status_on_an_empty_database_creates_nothing() {
    let db = Db::new("status_readonly");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["status"]).ok();
    assert!(!db.table_exists("public.__diesel_schema_migrations"));
    assert_eq!(db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'cargo_migrate'"), "0");
}

/// `status` and a no-op `up` send no statement that fails: an ERROR in the
/// server's log on every run would bury the ones a DBA must see.
#[test]
fn status_and_a_no_op_up_leave_no_error_in_the_servers_log() {
    let db = Db::new("status_no_error");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    let Some(log) = &cluster().log else {
        eprintln!("not checked: the server (CARGO_MIGRATE_TEST_ADMIN_URL) is not the harness's, nor its log");
        return;
    };
    p.cargo_migrate(&["status"]).ok();
    p.cargo_migrate(&["status", "--format", "json"]).ok();
    p.cargo_migrate(&["up"]).ok();
    // A backend writes its error to the log before the client hears of it.
    let mine = format!(" db={} ", db.name());
    let text = std::fs::read_to_string(log).unwrap();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(&mine) && l.contains("ERROR:")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn applied_but_missing_on_disk_is_reported_with_what_to_do() {
    let db = Db::new("status_missing");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250102000000", "b");
    p.cargo_migrate(&["up"]).ok();
    // As if the app's embedded diesel harness had applied it: no stored down.sql.
    db.query("DELETE FROM cargo_migrate.migrations WHERE version = '20250102000000'");
    std::fs::remove_dir_all(p.root.join("migrations/20250102000000_create_b")).unwrap();
    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.anomalies(), ["missing_on_disk"]);
    assert_eq!(r.json()["migrations"][1]["state"], "missing", "{}", r.stdout);
    // What to do is said in words: the human line is what a user acts on.
    let r = p.cargo_migrate(&["status"]).ok();
    assert!(r.stdout.contains("git pull"), "{}", r.stdout);
    // down refuses to revert it, and changes nothing.
    p.cargo_migrate_json(&["down"]).fails_with(1, "missing_on_disk");
    assert_eq!(db.applied().len(), 2);
}

#[test]
fn duplicate_versions_are_refused_not_silently_dropped() {
    let db = Db::new("status_dup");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.migration("20250101000000_also_a", "CREATE TABLE a2 (id int);", Some("DROP TABLE a2;"));
    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    assert_eq!(p.cargo_migrate_json(&["status"]).ok().anomalies(), ["duplicate_version"]);
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    let error = r.json()["error"].to_string();
    assert!(error.contains("20250101000000_also_a") && error.contains("20250101000000_create_a"), "{error}");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("a") && !db.table_exists("a2"));
}

#[test]
fn a_folder_without_up_sql_is_reported_and_blocks_up() {
    let db = Db::new("status_notmig");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.write("migrations/20250102000000_half/down.sql", "SELECT 1;");
    assert_eq!(p.cargo_migrate_json(&["status"]).ok().anomalies(), ["not_a_migration"]);
    p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    assert!(db.applied().is_empty());
}

/// A role that may not read another tool's history: `status` still works and
/// says so; `up` refuses, since it cannot tell whether that history was adopted.
#[test]
fn an_unreadable_other_history_is_named_and_stops_up() {
    let db = Db::new("status_unreadable_other");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES ('20250101000000_create-a', now());",
    );
    let role = format!("status_reader_{}", run_id());
    db.try_create_role(&role).unwrap();
    db.query(&format!(
        "GRANT SELECT ON public.__diesel_schema_migrations TO {role}; GRANT USAGE ON SCHEMA cargo_migrate TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA cargo_migrate TO {role}"
    ));
    let mut reader = Project::new(&db);
    reader.env = vec![("DATABASE_URL".into(), db.url.replacen("postgres@", &format!("{role}@"), 1))];
    reader.table_migration("20250101000000", "a");
    reader.table_migration("20250102000000", "b");
    let json = reader.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(json["other_histories"][0]["tool"], "node-pg-migrate", "{json}");
    assert_eq!(json["other_histories"][0]["adopted"], false, "{json}");
    let r = reader.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "other_history", "{}", r.stdout);
    // The owner, who can read it, sees it adopted (its one entry is applied here).
    let json = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(json["other_histories"][0]["adopted"], true, "{json}");
    drop(reader);
    db.query(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
}

/// Every entry of a migrations folder that looks meant to run but will not is
/// named with the reason, in each layout; what runs still runs.
#[test]
fn files_that_will_not_run_are_named_with_why() {
    let db = Db::new("status_skipped_supabase");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_a.sql", "create table a (id int);\n");
    p.write("supabase/migrations/init.sql", "create table init (id int);\n");
    p.write("supabase/migrations/20240102000000_b.SQL", "create table b (id int);\n");
    p.write("supabase/migrations/old/20230101000000_c.sql", "create table c (id int);\n");
    p.write("supabase/migrations/README.md", "notes\n");
    let r = p.cargo_migrate(&["up", "-q"]).ok();
    let warned: Vec<&str> = r.stderr.lines().filter(|l| l.contains("will not run")).collect();
    assert_eq!(warned.len(), 3, "{}", r.stderr);
    for name in ["init.sql", "20240102000000_b.SQL", "old"] {
        assert!(warned.iter().any(|l| l.contains(&format!("migrations/{name} will not run"))), "{name}: {}", r.stderr);
    }
    assert!(db.table_exists("public.a") && !db.table_exists("public.init") && !db.table_exists("public.b"));
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    let reasons: Vec<&str> = j["skipped"].as_array().unwrap().iter().map(|s| s["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["extension_case", "no_version", "folder"], "{j}");

    let db = Db::new("status_skipped_diesel");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.write("migrations/schema.sql", "create table s (id int);\n");
    p.write("migrations/20250102000000_b.sql.bak", "create table b (id int);\n");
    p.write("migrations/.keep", "");
    let r = p.cargo_migrate(&["status"]).ok();
    let warned: Vec<&str> = r.stderr.lines().filter(|l| l.contains("will not run")).collect();
    assert_eq!(warned.len(), 2, "{}", r.stderr);
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["summary"]["pending"], 1, "{j}");
    let skipped: Vec<(&str, &str)> = j["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["entry"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(skipped, [("20250102000000_b.sql.bak", "not_sql"), ("schema.sql", "no_version")], "{j}");
}

/// Rewrite `path` with `text` (the same length as before) and give it back
/// its modification time, as `cp -p` or `rsync -t` of an edited copy does.
fn edit_keeping_size_and_mtime(path: &std::path::Path, text: &str) {
    let before = std::fs::metadata(path).unwrap();
    assert_eq!(before.len(), text.len() as u64, "same size");
    std::fs::write(path, text).unwrap();
    std::fs::File::options().write(true).open(path).unwrap().set_modified(before.modified().unwrap()).unwrap();
    let after = std::fs::metadata(path).unwrap();
    assert_eq!((after.len(), after.modified().unwrap()), (before.len(), before.modified().unwrap()));
}

#[test]
fn an_edit_that_keeps_size_and_mtime_is_seen_as_modified() {
    let db = Db::new("status_same_stamp");
    let p = Project::new(&db);
    p.migration("20250101000000_a", "CREATE TABLE aaaa (id int);\n", Some("DROP TABLE aaaa;\n"));
    p.cargo_migrate(&["up"]).ok();
    // Files changed in the last two seconds are never cached: wait, so that
    // this status puts the file in the cache and the next one must see past it.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["modified"], false, "{j}");
    let cached = std::fs::read_dir(p.root.join("target/cache/cargo-migrate")).unwrap().flatten().any(|f| {
        f.file_name().to_string_lossy().starts_with("sources-")
            && std::fs::read_to_string(f.path()).unwrap_or_default().starts_with("20250101000000_a\t")
    });
    assert!(cached, "the checksum is in the cache");
    edit_keeping_size_and_mtime(&p.root.join("migrations/20250101000000_a/up.sql"), "CREATE TABLE bbbb (id int);\n");
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["modified"], true, "{j}");
}

#[test]
fn a_manifest_edit_that_keeps_size_and_mtime_is_seen() {
    let db = Db::new("status_same_stamp_manifest");
    let p = Project::new(&db);
    let manifest = |dir: &str| {
        format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.migrate]\ndir = \"{dir}\"\n")
    };
    p.write("Cargo.toml", &manifest("db_a"));
    p.write("db_a/20250101000000_a/up.sql", "SELECT 1;\n");
    p.write("db_b/20250101000000_b/up.sql", "SELECT 1;\n");
    p.write("db_b/20250102000000_c/up.sql", "SELECT 1;\n");
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["summary"]["pending"], 1, "{j}");
    edit_keeping_size_and_mtime(&p.root.join("Cargo.toml"), &manifest("db_b"));
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["summary"]["pending"], 2, "the new folder is read: {j}");
}

/// A migration outside a transaction that a run is applying right now is
/// "running", by the session holding the lock; not "partly applied … then it
/// stopped" with `--resume` advice.
#[test]
fn a_migration_being_applied_right_now_is_running_not_stopped() {
    let db = Db::new("status_running");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_slow",
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\nCREATE TABLE after (id int);\n",
        Some("DROP TABLE after; DROP TABLE slow;"),
    );
    p.write("migrations/20250101000000_slow/metadata.toml", "run_in_transaction = false\n");
    let up = p.spawn(&["up"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' \
                    AND pid <> pg_backend_pid() AND datname = current_database()";
    while db.query(sleeping) != "1" {
        assert!(std::time::Instant::now() < deadline, "the migration never reached its sleep");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = p.cargo_migrate(&["status", "--format", "json"]).ok();
    let j = r.json();
    assert_eq!(j["migrations"][0]["state"], "running", "{}", r.stdout);
    let by = j["migrations"][0]["running_by"].as_str().unwrap();
    assert!(by.starts_with("pid ") && by.contains("cargo-migrate run"), "{by}");
    assert_eq!(j["summary"]["anomalies"], 0, "{}", r.stdout);
    let human = p.cargo_migrate(&["status"]).ok();
    assert!(!human.stdout.contains("--resume"), "{}", human.stdout);
    // Ended (as a crash would), it is partly applied again: the lock is free.
    db.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' \
         AND pid <> pg_backend_pid() AND datname = current_database()",
    );
    let _ = up.finish(std::time::Duration::from_secs(60));
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["state"], "partly_applied");
    assert_eq!(j["anomalies"][0]["kind"], "partly_applied");
}

#[test]
fn a_wrong_type_in_diesel_toml_is_an_error_as_in_cargo_toml() {
    let db = Db::new("status_diesel_toml");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    // diesel_cli's own sections stay allowed beside ours.
    p.write(
        "diesel.toml",
        "[print_schema]\nfile = \"src/schema.rs\"\n\n[migrations_directory]\ndir = \"migrations\"\n",
    );
    p.cargo_migrate(&["status"]).ok();
    for bad in ["[migrations_directory]\ndir = 5\n", "[migrations_directory]\ndirectory = \"migrations\"\n"] {
        p.write("diesel.toml", bad);
        let r = p.cargo_migrate(&["status", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "bad_metadata", "{bad}");
    }
    std::fs::remove_file(p.root.join("diesel.toml")).unwrap();
    p.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.migrate]\ndri = \"migrations\"\n",
    );
    let r = p.cargo_migrate(&["status", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "bad_metadata");
}

/// A virtual workspace: `api` has migrations, `web` and `worker` have none.
fn workspace_with_one_member_migrating(db: &Db) -> Project {
    let mut p = Project::bare("unused");
    p.env = vec![("DATABASE_URL".into(), db.url.clone())];
    std::fs::remove_dir_all(p.root.join("src")).unwrap();
    p.write("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n");
    for m in ["api", "web", "worker"] {
        p.write(
            &format!("crates/{m}/Cargo.toml"),
            &format!("[package]\nname = \"{m}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
        p.write(&format!("crates/{m}/src/lib.rs"), "");
    }
    p.write("crates/api/migrations/20250101000000_create_things/up.sql", "CREATE TABLE things (id int);\n");
    p.write("crates/api/migrations/20250101000000_create_things/down.sql", "DROP TABLE things;\n");
    p
}

#[test]
fn from_a_sibling_member_or_the_virtual_root_the_member_with_migrations_is_used_and_named() {
    let db = Db::new("status_sibling");
    let p = workspace_with_one_member_migrating(&db);
    for dir in [p.root.clone(), p.root.join("crates/web/src")] {
        let json = p.cargo_migrate_in(&dir, &["status", "--format", "json"]).ok().json();
        assert!(json["migrations_dir"].as_str().unwrap().ends_with("crates/api/migrations"), "{json}");
        assert_eq!(json["summary"]["pending"], 1, "{json}");
        let text = p.cargo_migrate_in(&dir, &["status"]).ok().stdout;
        assert!(text.contains("workspace member `api`"), "{text}");
    }
    p.cargo_migrate_in(&p.root.join("crates/worker"), &["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);

    // Two members with migrations: the question is the user's.
    p.write("crates/worker/migrations/20250202000000_create_jobs/up.sql", "CREATE TABLE jobs (id int);\n");
    let err = p.cargo_migrate_in(&p.root.join("crates/web"), &["status", "--format", "json"]).fails(2).json();
    assert_eq!(err["error"]["kind"], "ambiguous_package", "{err}");
    let text = err.to_string();
    assert!(text.contains("api") && text.contains("worker") && text.contains("-p"), "{text}");
    let json =
        p.cargo_migrate_in(&p.root.join("crates/web"), &["status", "-p", "worker", "--format", "json"]).ok().json();
    assert!(json["migrations_dir"].as_str().unwrap().ends_with("crates/worker/migrations"), "{json}");
}

#[test]
fn status_prints_the_folder_and_where_it_came_from() {
    let db = Db::new("status_folder");
    let p = Project::new(&db);
    p.write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.migrate]\ndir = \"db/migrations\"\n");
    // A configured folder must exist (tests/e2e/up.rs).
    std::fs::create_dir_all(p.root.join("db/migrations")).unwrap();
    let r = p.cargo_migrate(&["status"]).ok();
    assert!(r.stdout.contains("db/migrations") && r.stdout.contains("[package.metadata.migrate]"), "{}", r.stdout);
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert!(j["migrations_dir"].as_str().unwrap().ends_with("db/migrations"));
}

#[test]
fn status_works_for_a_read_only_role() {
    let db = Db::new("status_readonly_role");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250102000000", "b");
    p.table_migration("20250103000000", "c");
    p.cargo_migrate(&["up", "--count", "2"]).ok();
    let role = format!("hardening_reader_{}", run_id());
    db.try_create_role(&role).unwrap();
    db.query(&format!("GRANT SELECT ON public.__diesel_schema_migrations TO {role}"));
    let mut reader = Project::new(&db);
    reader.env = vec![("DATABASE_URL".into(), db.url.replacen("postgres@", &format!("{role}@"), 1))];
    reader.table_migration("20250101000000", "a");
    reader.table_migration("20250102000000", "b");
    reader.table_migration("20250103000000", "c");
    let r = reader.cargo_migrate(&["status", "--format", "json"]).ok();
    let j = r.json();
    assert_eq!(j["summary"]["applied"], 2, "{}", r.stdout);
    assert_eq!(j["summary"]["pending"], 1, "{}", r.stdout);
    assert_eq!(db.applied().len(), 2);
    drop(reader);
    db.query(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
}

#[test]
fn bad_folder_names_are_reported_and_block_up() {
    let db = Db::new("bad_names");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "fine");
    let long = "1".repeat(60);
    let names = ["-_x".to_string(), format!("{long}_long"), "20250101000002_bad\nname".to_string()];
    for n in &names {
        p.write(&format!("migrations/{n}/up.sql"), "CREATE TABLE nope (id int);\n");
    }
    p.write("migrations/20250101000001_\x1b[31mred/up.sql", "CREATE TABLE red (id int);\n");
    let j = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(j.anomalies(), ["bad_folder_name"; 4], "{}", j.stdout);
    // What a terminal shows: the folder named, escaped, never a raw ESC.
    let r = p.cargo_migrate(&["status"]).ok();
    assert!(r.stdout.contains("[31mred\" cannot be a migration"), "the escaped folder is named: {}", r.stdout);
    assert!(!r.stdout.contains('\x1b'), "a raw ESC reached the terminal: {:?}", r.stdout);
    assert!(!r.stderr.contains('\x1b'), "a raw ESC reached the terminal: {:?}", r.stderr);
    let r = p.cargo_migrate(&["up"]).fails(1);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("fine") && !db.table_exists("nope") && !db.table_exists("red"));
}

#[test]
fn a_dangling_symlink_is_reported_by_status() {
    let db = Db::new("dangling");
    let p = Project::new(&db);
    p.table_migration("20250101000001", "a");
    std::os::unix::fs::symlink("/nonexistent", p.root.join("migrations/20250101000000_link")).unwrap();
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.anomalies(), ["dangling_link"], "{}", r.stdout);
    p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    assert!(db.applied().is_empty() && !db.table_exists("a"));
}

#[test]
fn status_into_a_closed_pipe_does_not_panic() {
    let db = Db::new("epipe");
    let p = Project::new(&db);
    for i in 0..3000 {
        p.table_migration(&format!("20250101{:02}{:02}{:02}", i / 3600, i / 60 % 60, i % 60), &format!("t{i}"));
    }
    let mut child = p.command(&p.root, &["status"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(!line.is_empty());
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing was written to the database either.
    assert!(!db.table_exists("public.__diesel_schema_migrations"));
}

/// Writing a dbmate file's down section after it was applied (its template
/// has none) does not make it "modified": only the up section ran.
#[test]
fn editing_the_down_section_of_an_applied_file_is_not_a_modification() {
    let db = Db::new("down_edit");
    let p = Project::new(&db);
    p.write("migrations/20240101000000_a.sql", "-- migrate:up\ncreate table a (id int);\n-- migrate:down\n");
    p.cargo_migrate(&["up"]).ok();
    p.write(
        "migrations/20240101000000_a.sql",
        "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
    );
    p.write(
        "migrations/20240102000000_b.sql",
        "-- migrate:up\ncreate table b (id int);\n-- migrate:down\ndrop table b;\n",
    );
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.json()["migrations"][0]["modified"], false, "{}", r.stdout);
    assert!(r.anomalies().is_empty(), "{}", r.stdout);
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("b"));
    // The up section still counts.
    p.write(
        "migrations/20240101000000_a.sql",
        "-- migrate:up\ncreate table a (id bigint);\n-- migrate:down\ndrop table a;\n",
    );
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.json()["migrations"][0]["modified"], true, "{}", r.stdout);
    assert_eq!(r.anomalies(), ["modified"], "{}", r.stdout);
}

/// A folder inside `supabase/migrations` (old files kept aside) is not a
/// migration to the Supabase CLI, which skips it; it blocked every run.
#[test]
fn a_folder_inside_supabase_migrations_is_left_alone() {
    let db = Db::new("supabase_subfolder");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_notes.sql", "create table notes (id int);\n");
    p.write("supabase/migrations/archive/20230101000000_old.sql", "create table old_t (id int);\n");
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("notes") && !db.table_exists("old_t"));
}
