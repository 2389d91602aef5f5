//! Migrations embedded in an app (`cargo_migrate::embed`), run through the
//! engine the command uses: replicas started together apply each migration
//! once, and `cargo migrate status` reads what they did as its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_migrate::embed::{Migration, Migrations};

use crate::harness::*;
use crate::support::copy_dir;

/// cargo-migrate's target folder (the binary under test is in its `debug/`).
fn target_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_cargo-migrate"));
    bin.parent().and_then(Path::parent).expect("the binary is in <target>/debug").to_path_buf()
}

/// The example app, built in cargo-migrate's target folder, where diesel
/// (a dev-dependency) is built already, offline, as CI runs it after the main
/// build. It is built from a copy that has cargo-migrate's own Cargo.lock, so
/// that every crate is the version built already whatever main added since
/// the example's Cargo.lock was written (the copy's path dependency is this
/// checkout, so cargo-migrate itself is the same package too).
fn build_example() -> (tempfile::TempDir, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/embedded");
    let copy = tempfile::Builder::new().prefix("cargo-migrate-embedded-").tempdir().unwrap();
    let manifest = std::fs::read_to_string(example.join("Cargo.toml")).unwrap();
    let manifest = manifest.replace("path = \"../..\"", &format!("path = {:?}", root.display().to_string()));
    assert!(manifest.contains(&root.display().to_string()), "the path dependency moved: {manifest}");
    std::fs::write(copy.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), copy.path().join("Cargo.lock")).unwrap();
    copy_dir(&example.join("src"), &copy.path().join("src"));
    copy_dir(&example.join("migrations"), &copy.path().join("migrations"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = target_dir();
    let out = Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(copy.path())
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo build");
    assert!(out.status.success(), "building examples/embedded failed:\n{}", String::from_utf8_lossy(&out.stderr));
    (copy, target.join("debug").join("embedded"))
}

/// A project whose migrations folder is the example's, for `cargo migrate status`.
fn project_with_the_examples_migrations(db: &Db) -> Project {
    let p = Project::new(db);
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/embedded/migrations"), &p.root.join("migrations"));
    p
}

const VERSIONS: [&str; 3] = ["20250101000000", "20250102000000", "20250103000000"];

/// What `status` and the catalog say after the app ran: every migration
/// applied once, with our facts, nothing pending or odd.
fn assert_migrated_as_by_the_command(db: &Db, p: &Project) {
    assert_eq!(db.applied(), VERSIONS);
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations WHERE checksum IS NOT NULL"), "3");
    // Run by the same engine: one batch, the down.sql kept.
    assert_eq!(db.query("SELECT count(DISTINCT batch) FROM cargo_migrate.migrations"), "1");
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations WHERE down_sql IS NOT NULL"), "3");
    let status = p.cargo_migrate_json(&["status"]).ok();
    let j = status.json();
    assert_eq!((j["summary"]["applied"].as_u64(), j["summary"]["pending"].as_u64()), (Some(3), Some(0)), "{j}");
    assert!(status.anomalies().is_empty(), "{:?}", status.anomalies());
    // The command has nothing left to do either.
    assert!(p.cargo_migrate_json(&["up"]).ok().steps().is_empty());
}

#[test]
fn eight_replicas_of_the_example_app_apply_each_migration_once() {
    let (_copy, app) = build_example();
    let db = Db::new("embedded_replicas");
    // Held until all 8 are connected and waiting for it, so that they
    // contend however slowly the machine starts them.
    let holder = LockHolder::take(&db.url, "test_holds_the_lock");
    let replicas: Vec<_> = (0..8)
        .map(|_| {
            Command::new(&app)
                .env_clear()
                .env("DATABASE_URL", &db.url)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the example app")
        })
        .collect();
    let connected = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'cargo-migrate embedded%' \
                     AND datname = current_database()";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while db.query(connected) != "8" {
        assert!(std::time::Instant::now() < deadline, "the 8 replicas did not all connect");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    holder.release();
    let mut applied = Vec::new();
    let mut waited = 0;
    for child in replicas {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a replica failed: {stderr}");
        waited += usize::from(stderr.contains("waiting"));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            applied.push(line.strip_prefix("applied ").expect("only `applied VERSION` lines").to_string());
        }
    }
    applied.sort();
    assert_eq!(applied, VERSIONS, "each migration applied by exactly one replica");
    // All were connected while the test held the lock; one may have reached
    // it only after the release and taken it at once.
    assert!(waited >= 7, "only {waited} replica(s) waited for the lock");
    let p = project_with_the_examples_migrations(&db);
    assert_migrated_as_by_the_command(&db, &p);
    // Started again, the app finds nothing to do.
    let run = |args: &[&str]| {
        let out = Command::new(&app).args(args).env_clear().env("DATABASE_URL", &db.url).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(run(&[]), "");
    // diesel's revert_last_migration (applied_migrations, then revert_migration)
    // through the engine: the index is dropped outside a transaction, and the
    // command sees it pending; the app applies it again.
    assert_eq!(run(&["revert-last"]), "reverted 20250103000000\n");
    assert_eq!(db.applied(), VERSIONS[..2]);
    assert_eq!(db.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'posts_account_idx'"), "0");
    let j = p.cargo_migrate_json(&["status"]).ok().json();
    assert_eq!(j["summary"]["pending"].as_u64(), Some(1), "{j}");
    assert_eq!(run(&[]), "applied 20250103000000\n");
    assert_eq!(db.applied(), VERSIONS);
}

/// The example's migrations, compiled in without diesel.
fn plain() -> Migrations {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/embedded/migrations");
    let read = |name: &str, file: &str| std::fs::read_to_string(dir.join(name).join(file)).unwrap();
    let names = ["20250101000000_create_accounts", "20250102000000_create_posts", "20250103000000_index_posts"];
    Migrations::from_vec(
        names
            .iter()
            .map(|n| {
                let m = Migration::owned(*n, read(n, "up.sql"), Some(read(n, "down.sql")));
                if n.ends_with("index_posts") {
                    m.outside_transaction()
                } else {
                    m
                }
            })
            .collect(),
    )
}

#[test]
fn the_plain_api_from_eight_threads_applies_each_migration_once() {
    let db = Db::new("embedded_plain");
    let migrations = plain();
    let reports: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..8).map(|_| s.spawn(|| migrations.migrate(&db.url))).collect();
        runs.into_iter().map(|r| r.join().unwrap().expect("every run succeeds")).collect()
    });
    let mut applied: Vec<String> = reports.iter().flat_map(|r| r.applied.iter().map(|a| a.version.clone())).collect();
    applied.sort();
    assert_eq!(applied, VERSIONS);
    let p = project_with_the_examples_migrations(&db);
    assert_migrated_as_by_the_command(&db, &p);
}

#[test]
fn a_failing_embedded_migration_is_the_commands_error() {
    let db = Db::new("embedded_fails");
    let migrations = Migrations::from_vec(vec![
        Migration::owned("20250101000000_a", "CREATE TABLE a (id int);", Some("DROP TABLE a;".into())),
        Migration::owned("20250102000000_b", "CREATE TABLE b (id txet);", Some("DROP TABLE b;".into())),
    ]);
    let e = migrations.migrate(&db.url).unwrap_err();
    assert_eq!(e.kind(), "migration_failed");
    assert_eq!(e.done_before(), ["20250101000000"]);
    assert_eq!(e.exit_code(), 1);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("b"));
    // An applied migration whose text changed is refused, as `up` refuses it.
    let changed = Migrations::from_vec(vec![Migration::owned(
        "20250101000000_a",
        "CREATE TABLE a (id bigint);",
        Some("DROP TABLE a;".into()),
    )]);
    assert_eq!(changed.migrate(&db.url).unwrap_err().kind(), "modified");
}
