//! Hardening: session isolation between migrations, the bookkeeping closed to
//! API roles, the local database's password, odd folders, concurrency,
//! interrupted runs and the migration lock.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// The binary under test started with ARGS (its output dropped): killing the
/// child kills the process that talks to the database.
fn spawn_direct(p: &Project, args: &[&str]) -> Child {
    p.command(&p.root, args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start cargo-migrate")
}

/// Wait until a session other than ours runs a query containing `needle`.
#[track_caller]
fn wait_for_query(db: &Db, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{needle}%' AND pid <> pg_backend_pid() \
         AND datname = current_database()"
    );
    while Instant::now() < deadline {
        if db.query(&sql) == "1" {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no session ran {needle:?} within {timeout:?}");
}

fn no_tx(p: &Project, folder: &str) {
    p.write(&format!("migrations/{folder}/metadata.toml"), "run_in_transaction = false\n");
}

#[test]
fn session_settings_do_not_leak_between_migrations() {
    // session_replication_role = replica would switch off foreign keys.
    let db = Db::new("leak_srr");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_replica",
        "SET session_replication_role = replica;\nCREATE TABLE parent (id int PRIMARY KEY);\n\
         CREATE TABLE child (parent_id int REFERENCES parent);\n",
        Some("DROP TABLE child; DROP TABLE parent;"),
    );
    p.migration("20250102000000_orphan", "INSERT INTO child VALUES (42);\n", Some("DELETE FROM child;"));
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_orphan/up.sql:1"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert_eq!(db.query("SELECT count(*) FROM child"), "0", "no orphan row");

    // SET ROLE in one migration does not make the next run as that role.
    let db = Db::new("leak_role");
    let p = Project::new(&db);
    let role = format!("hardening_nopriv_{}", run_id());
    db.query(&format!("CREATE ROLE {role} NOLOGIN"));
    p.migration("20250101000000_become", &format!("SET ROLE {role};\n"), Some("SELECT 1;"));
    p.migration("20250102000000_owned", "CREATE TABLE owned (id int);\n", Some("DROP TABLE owned;"));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT tableowner FROM pg_tables WHERE tablename = 'owned'"), "postgres");
    db.query(&format!("DROP ROLE {role}"));

    // A temporary table of one migration is gone in the next.
    let db = Db::new("leak_temp");
    let p = Project::new(&db);
    p.migration("20250101000000_temp", "CREATE TEMP TABLE tmp AS SELECT 1 AS x;\n", Some("SELECT 1;"));
    p.migration("20250102000000_use", "CREATE TABLE t2 AS SELECT * FROM pg_temp.tmp;\n", Some("DROP TABLE t2;"));
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_use/up.sql:1"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("public.t2"));
}

#[test]
fn bookkeeping_stays_closed_to_api_roles_after_grant_all() {
    let p = Project::bare("app");
    p.migration(
        "20250101000000_grant_all",
        "CREATE TABLE things (id int);\nGRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated;\n",
        Some("DROP TABLE things;"),
    );
    p.cargo_migrate(&["up"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    // The GRANT reached the table of the migration (the test is real).
    assert_eq!(psql(&url, "SELECT has_table_privilege('anon', 'public.things', 'SELECT')"), "t");
    assert_eq!(psql(&url, "SELECT count(*) FROM public.__diesel_schema_migrations"), "1");
    // The run took back what the migration granted ...
    for role in ["anon", "authenticated"] {
        for sql in [
            "SELECT count(*) FROM public.__diesel_schema_migrations",
            "INSERT INTO public.__diesel_schema_migrations (version) VALUES ('1')",
            "DELETE FROM public.__diesel_schema_migrations",
        ] {
            let err = try_psql_session(&url, &[&format!("SET ROLE {role}"), sql]).unwrap_err();
            assert!(err.contains("permission denied for table __diesel_schema_migrations"), "{role}: {sql}: {err}");
        }
    }
    // ... and row level security still closes it when the grant is made again
    // outside a run (e.g. in Supabase Studio).
    psql(&url, "GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated");
    assert_eq!(
        psql(&url, "SELECT has_table_privilege('anon', 'public.__diesel_schema_migrations', 'SELECT,INSERT,DELETE')"),
        "t"
    );
    for role in ["anon", "authenticated"] {
        let seen = try_psql_session(
            &url,
            &[&format!("SET ROLE {role}"), "SELECT count(*) FROM public.__diesel_schema_migrations"],
        );
        assert_eq!(seen.as_deref(), Ok("0"), "{role} sees the bookkeeping");
        let err = try_psql_session(
            &url,
            &[&format!("SET ROLE {role}"), "INSERT INTO public.__diesel_schema_migrations (version) VALUES ('1')"],
        )
        .unwrap_err();
        assert!(err.contains("row-level security"), "{role}: {err}");
        let deleted = try_psql_session(
            &url,
            &[
                &format!("SET ROLE {role}"),
                "WITH d AS (DELETE FROM public.__diesel_schema_migrations RETURNING 1) SELECT count(*) FROM d",
            ],
        );
        assert_eq!(deleted.as_deref(), Ok("0"), "{role}");
        assert_eq!(psql(&url, "SELECT count(*) FROM public.__diesel_schema_migrations"), "1", "{role} deleted");
    }
    assert_eq!(psql(&url, "SELECT string_agg(version, ',') FROM public.__diesel_schema_migrations"), "20250101000000");
}

#[test]
fn the_local_database_refuses_other_os_users_without_the_password() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("skipped: needs root to run psql as another OS user");
        return;
    }
    let p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    let rest = url.strip_prefix("postgres://postgres:").unwrap_or_else(|| panic!("{url}"));
    let (password, rest) = rest.split_once("@127.0.0.1:").unwrap_or_else(|| panic!("{url}"));
    let port = rest.strip_suffix("/postgres").unwrap_or_else(|| panic!("{url}"));
    assert!(!password.is_empty() && port.parse::<u16>().is_ok(), "{url}");
    let psql_bin = cluster().bin.join("psql");
    let args = ["-X", "-w", "-At", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "postgres", "-c", "select 1"];

    let out = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&psql_bin)
        .args(args)
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .current_dir("/")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nobody got in without a password: {}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains("no password supplied"), "{err}");

    let out = Command::new(&psql_bin).args(args).env("PGPASSWORD", password).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");

    let dir =
        p.cargo_migrate(&["local", "status", "--format", "json"]).ok().json()["dir"].as_str().unwrap().to_string();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(std::path::Path::new(&dir).join("password")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "password file mode {mode:o}");
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
fn a_misspelt_metadata_key_is_refused() {
    let db = Db::new("metadata_typo");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.write("migrations/20250101000000_create_a/metadata.toml", "run_in_transactoin = false\n");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "bad_metadata");
    // It names the key it does not know and the one it expected.
    let message = r.json()["error"].to_string();
    assert!(message.contains("run_in_transactoin") && message.contains("run_in_transaction"), "{message}");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("a"));
}

#[test]
fn an_up_sql_with_a_byte_order_mark_applies() {
    let db = Db::new("bom");
    let p = Project::new(&db);
    p.migration("20250101000000_bom", "\u{feff}CREATE TABLE bom (id int);\n", Some("DROP TABLE bom;"));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("bom"));
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
fn simultaneous_creates_get_distinct_versions() {
    let p = Project::bare("app");
    let names = ["alpha", "beta", "gamma", "delta"];
    let running: Vec<Running> = names.iter().map(|n| p.spawn(&["create", n])).collect();
    for r in running {
        r.finish(Duration::from_secs(120)).ok();
    }
    let f = folders(&p.root.join("migrations"));
    assert_eq!(f.len(), 4, "{f:?}");
    let mut versions: Vec<&str> = f.iter().map(|n| n.split('_').next().unwrap()).collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), 4, "{f:?}");
    for n in names {
        assert!(f.iter().any(|x| x.ends_with(&format!("_{n}"))), "{n}: {f:?}");
        let dir = f.iter().find(|x| x.ends_with(&format!("_{n}"))).unwrap();
        assert!(p.root.join("migrations").join(dir).join("up.sql").is_file());
    }
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

#[test]
fn create_table_refuses_reserved_words_and_long_names() {
    let p = Project::bare("app");
    p.cargo_migrate_json(&["create", "x", "--table", "user"]).fails_with(2, "bad_identifier");
    p.cargo_migrate_json(&["create", "x", "--table", "notes", "--policy", "owner", "user"])
        .fails_with(2, "bad_identifier");
    let long = "t".repeat(60);
    p.cargo_migrate_json(&["create", "x", "--table", &long, "--policy", "owner", "owner_id"])
        .fails_with(2, "bad_identifier");
    assert!(folders(&p.root.join("migrations")).is_empty());
}

#[test]
fn rollback_to_savepoint_is_allowed_in_a_transactional_migration() {
    let db = Db::new("savepoint");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_savepoint",
        "SAVEPOINT s;\nCREATE TABLE a (id int);\nROLLBACK TO SAVEPOINT s;\nCREATE TABLE b (id int);\n",
        Some("DROP TABLE b;"),
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("public.a") && db.table_exists("public.b"));
}

#[test]
fn a_non_transactional_migration_left_in_a_transaction_is_not_recorded() {
    let db = Db::new("open_begin");
    let p = Project::new(&db);
    let folder = "20250101000000_open";
    p.migration(folder, "CREATE TABLE x1 (id int);\nBEGIN;\nCREATE TABLE x2 (id int);\n", Some("DROP TABLE x1;"));
    no_tx(&p, folder);
    p.cargo_migrate_json(&["up"]).fails_with(1, "open_transaction");
    assert!(db.applied().is_empty());
    assert!(db.table_exists("public.x1"), "the statement before BEGIN ran");
    assert!(!db.table_exists("public.x2"));
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["state"], "partly_applied", "{j}");
    assert_eq!(j["migrations"][0]["statements_done"], 1, "{j}");
}

#[test]
fn an_interrupted_non_transactional_migration_is_partly_applied_then_resumed() {
    let db = Db::new("interrupted");
    let p = Project::new(&db);
    let folder = "20250101000000_slow";
    p.migration(
        folder,
        "CREATE TABLE s1 (id int);\nSELECT pg_sleep(3);\nCREATE TABLE s2 (id int);\n",
        Some("DROP TABLE s2; DROP TABLE s1;"),
    );
    no_tx(&p, folder);
    let mut child = spawn_direct(&p, &["up"]);
    wait_for_query(&db, "pg_sleep(3)", Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    // The server finishes the statement it was sent, holding the lock until
    // then: `status` calls it running while it does, partly applied after.
    let deadline = Instant::now() + Duration::from_secs(60);
    let j = loop {
        let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
        if j["migrations"][0]["state"] != "running" || Instant::now() > deadline {
            break j;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(j["migrations"][0]["state"], "partly_applied", "{j}");
    assert!(j["migrations"][0]["statements_done"].as_i64().unwrap() >= 1, "{j}");
    p.cargo_migrate_json(&["up"]).fails_with(1, "partly_applied");
    assert!(db.applied().is_empty());
    p.cargo_migrate(&["up", "--resume"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("public.s1") && db.table_exists("public.s2"));
}

#[test]
fn a_migration_that_releases_the_lock_is_not_recorded() {
    let db = Db::new("lock_lost");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_unlock",
        "CREATE TABLE unlocked (id int);\nSELECT pg_advisory_unlock_all();\n",
        Some("DROP TABLE unlocked;"),
    );
    p.cargo_migrate_json(&["up"]).fails_with(1, "lock_lost");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("public.unlocked"));
}

#[test]
fn up_right_after_a_killed_up_applies_each_migration_once() {
    let db = Db::new("kill_restart");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_mood",
        "SELECT pg_sleep(2);\nCREATE TYPE mood AS ENUM ('a');\nCREATE TABLE m1 (id int);\n",
        Some("DROP TABLE m1; DROP TYPE mood;"),
    );
    p.table_migration("20250102000000", "m2");
    let mut child = spawn_direct(&p, &["up"]);
    wait_for_query(&db, "pg_sleep(2)", Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "2");
    assert_eq!(db.query("SELECT count(*) FROM public.__diesel_schema_migrations"), "2");
    assert!(db.table_exists("public.m1") && db.table_exists("public.m2"));
    assert_eq!(db.query("SELECT count(*) FROM pg_type WHERE typname = 'mood'"), "1");
}

#[test]
fn terminating_the_lock_holder_is_reported_and_the_waiter_proceeds() {
    let db = Db::new("terminate_holder");
    let p = Project::new(&db);
    p.migration("20250101000000_slow", "CREATE TABLE slow (id int);\nSELECT pg_sleep(3);\n", Some("DROP TABLE slow;"));
    p.table_migration("20250102000000", "after");
    let first = p.spawn(&["up", "--format", "json"]);
    wait_for_query(&db, "pg_sleep(3)", Duration::from_secs(60));
    let mut second = p.spawn(&["up"]);
    let line = second.wait_for_stderr("waiting for the migration lock, held by pid", Duration::from_secs(30));
    let pid: i32 = line
        .split("held by pid ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    assert_eq!(db.query(&format!("SELECT pg_terminate_backend({pid})")), "t");
    first.finish(Duration::from_secs(60)).fails_with(1, "connection_lost");
    second.finish(Duration::from_secs(60)).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "2");
}

#[test]
fn an_idle_session_timeout_cannot_take_the_lock_from_a_run() {
    let db = Db::new("idle_timeout");
    // Any session idle for 400 ms is ended: a lock on a connection of its own
    // (idle while the migrations run) would be lost after 400 ms.
    db.query(&format!("ALTER DATABASE \"{}\" SET idle_session_timeout = '400ms'", db.name()));
    let p = Project::new(&db);
    for i in 0..3 {
        p.migration(
            &format!("2025010100000{i}_slow_{i}"),
            &format!("SELECT pg_sleep(0.6);\nCREATE TABLE slow_{i} (id int);\n"),
            Some(&format!("DROP TABLE slow_{i};")),
        );
    }
    let first = p.spawn(&["up"]);
    wait_for_query(&db, "pg_sleep(0.6)", Duration::from_secs(20));
    let second = p.spawn(&["up"]);
    let (a, b) = (first.finish(Duration::from_secs(60)), second.finish(Duration::from_secs(60)));
    assert_eq!((a.code, b.code), (0, 0), "{}\n---\n{}", a.all(), b.all());
    assert_eq!(db.applied().len(), 3);
    assert_eq!(
        db.query("SELECT count(*), count(DISTINCT batch) FROM cargo_migrate.migrations"),
        "3|1",
        "one run applied them all"
    );
}

#[test]
fn a_second_up_waits_for_a_migration_outside_a_transaction_instead_of_refusing_it() {
    let db = Db::new("wait_for_partial");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_backfill",
        "CREATE TABLE bf (id int);\nSELECT pg_sleep(1.5);\nINSERT INTO bf VALUES (1);\n",
        Some("DROP TABLE bf;"),
    );
    p.write("migrations/20250101000000_backfill/metadata.toml", "run_in_transaction = false\n");
    p.table_migration("20250102000000", "after");
    let first = p.spawn(&["up"]);
    // The first run is inside the migration: it looks partly applied to anyone
    // reading the history now, yet it is not stopped, only busy.
    wait_for_query(&db, "pg_sleep(1.5)", Duration::from_secs(20));
    let second = p.cargo_migrate(&["up"]);
    let first = first.finish(Duration::from_secs(60));
    assert_eq!((first.code, second.code), (0, 0), "{}\n---\n{}", first.all(), second.all());
    assert!(second.stderr.contains("waiting for the migration lock"), "{}", second.all());
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT count(*) FROM bf"), "1");
}
