//! `cargo migrate squash --to VERSION`: the baseline, the squashed files,
//! and the databases that applied all, none or some of them; both layouts.

use crate::dump::{catalog, local_url, SUPABASE_UP};
use crate::harness::*;

/// A plain migration any PostgreSQL runs (the harness's server is not Supabase-like).
const PLAIN_UP: &str = "CREATE TABLE public.accounts (id bigint PRIMARY KEY, name text NOT NULL);\n\
COMMENT ON COLUMN public.accounts.name IS 'shown to others';\n";

#[test]
fn squash_folds_diesel_folders_into_a_baseline_that_old_fresh_and_partial_databases_handle() {
    let db = Db::new("squash_partial");
    let p = Project::bare("app");
    p.migration("20250101000000_accounts", PLAIN_UP, Some("DROP TABLE public.accounts;\n"));
    p.migration("20250102000000_notes", SUPABASE_UP, Some("DROP TABLE public.notes;\n"));
    p.table_migration("20250103000000", "third");
    // The local database applies the two to squash; another applies only the first.
    p.cargo_migrate(&["up", "--to", "20250102000000"]).ok();
    p.cargo_migrate(&["up", "--to", "20250101000000", "--database-url", &db.url]).ok();
    let before = catalog(&local_url(&p));

    let j = p.cargo_migrate_json(&["squash", "--to", "20250102000000", "--keep"]).ok().json();
    assert_eq!(j["squashed"], serde_json::json!(["20250101000000", "20250102000000"]), "{j}");
    let kept = p.root.join("target/cargo-migrate/squashed/20250102000000");
    assert_eq!(j["kept_in"], kept.display().to_string(), "{j}");
    assert_eq!(folders(&p.root.join("migrations")), ["20250102000000_baseline", "20250103000000_create_third"]);
    assert_eq!(folders(&kept), ["20250101000000_accounts", "20250102000000_notes"]);
    let up = std::fs::read_to_string(p.root.join("migrations/20250102000000_baseline/up.sql")).unwrap();
    assert!(up.starts_with("-- cargo-migrate baseline of: 20250101000000 20250102000000\n"), "{up}");
    for kept in [
        "CREATE POLICY \"avatars are public\" ON storage.objects",
        "SELECT cron.schedule('nightly-cleanup'",
        "ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.notes;",
        "GRANT SELECT ON TABLE public.notes TO anon;",
        "COMMENT ON COLUMN public.accounts.name IS 'shown to others';",
        "CREATE TRIGGER on_auth_user_created",
        "INSERT INTO storage.buckets (",
    ] {
        assert!(up.contains(kept), "{kept} is missing from the baseline:\n{up}");
    }
    for gone in ["CREATE TABLE auth.", "CREATE TABLE storage.", "cargo_migrate", "__diesel_schema_migrations"] {
        assert!(!up.contains(gone), "{gone} is in the baseline:\n{up}");
    }

    // The database that applied both: status shows the baseline applied, nothing odd;
    // `up` records it (diesel's table has its version, as embed_migrations! reads it).
    let status = p.cargo_migrate_json(&["status"]).ok().json();
    assert_eq!(status["summary"]["applied"], 1, "{status}");
    assert_eq!(status["summary"]["anomalies"], 0, "{status}");
    p.cargo_migrate(&["up"]).ok();
    let url = local_url(&p);
    assert_eq!(
        psql(&url, "SELECT string_agg(version, ',' ORDER BY version) FROM public.__diesel_schema_migrations"),
        "20250102000000,20250103000000"
    );
    assert_eq!(
        psql(&url, "SELECT name FROM cargo_migrate.migrations WHERE version = '20250102000000'"),
        "20250102000000_baseline"
    );
    let status = p.cargo_migrate_json(&["status"]).ok().json();
    assert_eq!((status["summary"]["applied"].clone(), status["summary"]["anomalies"].clone()), (2.into(), 0.into()));

    // The one that applied only the first is refused, with what is missing; nothing ran.
    let r = p.cargo_migrate_json(&["up", "--database-url", &db.url]).fails(1);
    assert_eq!(r.kind(), "squash_partly_applied", "{}", r.stdout);
    assert_eq!(r.json()["error"]["missing"], serde_json::json!(["20250102000000"]));
    assert_eq!(db.applied(), ["20250101000000"]);

    // A fresh database gets the baseline: the same schema as the migrations made.
    p.cargo_migrate(&["local", "reset"]).ok();
    let url = local_url(&p);
    let fresh = catalog(&url);
    assert!(fresh.contains("policy storage.objects avatars are public"), "{fresh}");
    for line in before.lines() {
        assert!(fresh.contains(line), "{line} is missing after the baseline:\n{fresh}");
    }
    // And verify passes on the squashed folder.
    let j = p.cargo_migrate_json(&["verify", "--all"]).ok().json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["up_only", "reversible"], "{j}");
}

#[test]
fn squash_in_a_supabase_folder_writes_one_file_and_keeps_supabase_history_in_step() {
    let p = Project::bare("app");
    p.write("supabase/migrations/20250101000000_notes.sql", SUPABASE_UP);
    p.write("supabase/migrations/20250102000000_tags.sql", "CREATE TABLE public.tags (id int PRIMARY KEY);\n");
    p.write("supabase/migrations/20250103000000_more.sql", "CREATE TABLE public.more (id int PRIMARY KEY);\n");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate_json(&["squash", "--to", "20250102000000"]).ok().json();
    assert_eq!(j["kept_in"], serde_json::Value::Null, "{j}");
    let mut files: Vec<String> = std::fs::read_dir(p.root.join("supabase/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["20250102000000_baseline.sql", "20250103000000_more.sql"]);
    p.cargo_migrate(&["up"]).ok();
    let url = local_url(&p);
    assert_eq!(
        psql(&url, "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM supabase_migrations.schema_migrations"),
        "20250102000000:baseline,20250103000000:more"
    );
    let status = p.cargo_migrate_json(&["status"]).ok().json();
    assert_eq!((status["summary"]["applied"].clone(), status["summary"]["anomalies"].clone()), (2.into(), 0.into()));
    // A fresh database gets the one file.
    p.cargo_migrate(&["local", "reset"]).ok();
    let url = local_url(&p);
    assert_eq!(psql(&url, "SELECT count(*) FROM storage.buckets WHERE id = 'avatars'"), "1");
    assert_eq!(psql(&url, "SELECT count(*) FROM cron.job WHERE jobname = 'nightly-cleanup'"), "1");
    p.cargo_migrate(&["verify", "--all"]).ok();
}
