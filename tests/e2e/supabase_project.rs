//! A Supabase project's own folder, unchanged (tests/fixtures/supabase_project:
//! a remote-schema dump header, storage and vault, a file with its own
//! transaction, a seed that signs up a user), on the zero-setup local
//! database: every migration and the seed apply, and `status` agrees with
//! `supabase_migrations.schema_migrations`.

use crate::harness::*;
use crate::support::{copy_dir, pgvector_bin};

fn applies_unchanged(pg_bin: Option<&str>) {
    let p = Project::bare("supabase_app");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/supabase_project"), &p.root);
    let with_bin = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if let Some(bin) = pg_bin {
            v.extend(["--pg-bin".to_string(), bin.to_string()]);
        }
        v
    };
    let run = |args: &[&str]| {
        let args = with_bin(args);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        p.cargo_migrate(&refs)
    };
    let r = run(&["up", "--format", "json"]).ok();
    assert_eq!(r.steps().len(), 3, "{}", r.stdout);
    run(&["seed"]).ok();
    let url = run(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();

    // status and Supabase's history agree.
    let status = run(&["status", "--format", "json"]).ok().json();
    let ours: Vec<String> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "applied")
        .map(|m| m["version"].as_str().unwrap().to_string())
        .collect();
    let theirs = psql(&url, "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version");
    assert_eq!(ours.join("\n"), theirs);
    assert_eq!(ours.len(), 3);

    // What the migrations and the seed made works.
    assert_eq!(psql(&url, "SELECT username FROM public.profiles"), "alice");
    assert_eq!(psql(&url, "SELECT length(token) FROM public.api_tokens"), "48");
    assert_eq!(psql(&url, "SELECT public.webhook_signing_key()"), "local-only-not-a-secret");
    assert_eq!(
        psql(&url, "SELECT encrypted_password = extensions.crypt('password123', encrypted_password) FROM auth.users"),
        "t"
    );
    assert_eq!(
        psql(&url, "SELECT count(*) FROM pg_policies WHERE schemaname = 'storage' AND tablename = 'objects'"),
        "3"
    );
    assert_eq!(psql(&url, "SELECT (storage.foldername('a1/b/c.png'))[1], storage.extension('a1/b/c.png')"), "a1|png");
    run(&["local", "stop"]).ok();
}

#[test]
fn a_supabase_project_applies_unchanged_with_its_seed() {
    applies_unchanged(None);
}

/// The same on PostgreSQL 18 from PyPI, which lacks pgcrypto and uuid-ossp:
/// the local stand-ins carry it.
#[test]
fn a_supabase_project_applies_on_a_postgres_without_contrib() {
    let Some(bin) = pgvector_bin() else { return };
    applies_unchanged(Some(bin.to_str().unwrap()));
}
