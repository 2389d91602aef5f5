//! `cargo migrate dump`, `dump --check`, the schema file kept after
//! `up`/`down`/`redo`, and loading it (`local reset --from-schema`,
//! `up --from-schema`), on the local development database (made like
//! Supabase: `auth`, `storage`, `cron`, the `supabase_realtime` publication).

use crate::harness::*;

/// A migration as Supabase projects write them: a table with row level
/// security, a grant, a comment, realtime, and what goes into Supabase's
/// schemas (a trigger on auth.users, a storage policy, a bucket, a cron job).
pub const SUPABASE_UP: &str = r#"
CREATE TABLE public.notes (id bigint PRIMARY KEY, owner uuid REFERENCES auth.users (id), body text);
COMMENT ON TABLE public.notes IS 'what users write';
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own notes" ON public.notes FOR ALL TO authenticated USING (owner = (SELECT auth.uid()));
REVOKE ALL ON public.notes FROM anon;
GRANT SELECT ON public.notes TO anon;
ALTER PUBLICATION supabase_realtime ADD TABLE public.notes;
CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO public.notes (id, owner, body) VALUES (1, NEW.id, 'welcome');
  RETURN NEW;
END $$;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
INSERT INTO storage.buckets (id, name, public) VALUES ('avatars', 'avatars', true);
CREATE POLICY "avatars are public" ON storage.objects FOR SELECT USING (bucket_id = 'avatars');
SELECT cron.schedule('nightly-cleanup', '0 3 * * *', $$DELETE FROM public.notes WHERE body IS NULL$$);
"#;

/// What the migrations made, read from the catalog (every schema, Supabase's
/// too): columns, policies, triggers, publication members, buckets, cron
/// jobs, privileges on the project's tables. Two databases with the same
/// lines have the same schema as far as a project can tell.
pub fn catalog(url: &str) -> String {
    psql(
        url,
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ( \
           SELECT 'column ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type \
                  || coalesce(' default ' || column_default, '') AS x \
             FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
           UNION ALL SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || coalesce(qual, '') \
             FROM pg_policies \
           UNION ALL SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal \
           UNION ALL SELECT 'publication ' || pubname || ' ' || schemaname || '.' || tablename FROM pg_publication_tables \
           UNION ALL SELECT 'bucket ' || id || ' ' || public FROM storage.buckets \
           UNION ALL SELECT 'cron ' || jobname || ' ' || schedule || ' ' || command FROM cron.job \
           UNION ALL SELECT 'acl ' || relname || ' ' || coalesce(relacl::text, '') FROM pg_class \
             WHERE relnamespace = 'public'::regnamespace \
           UNION ALL SELECT 'comment ' || c.relname || ' ' || d.description FROM pg_description d \
             JOIN pg_class c ON c.oid = d.objoid WHERE c.relnamespace = 'public'::regnamespace \
         ) s",
    )
}

pub fn local_url(p: &Project) -> String {
    p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string()
}

fn with_schema_setting(p: &Project) {
    p.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.migrate]\nschema = \"db/schema.sql\"\n",
    );
}

#[test]
fn dump_writes_the_schema_with_what_the_migrations_put_in_supabase_schemas_and_the_history() {
    let p = Project::bare("app");
    p.migration("20250101000000_notes", SUPABASE_UP, Some("DROP TABLE public.notes;\n"));
    p.table_migration("20250102000000", "tags");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate_json(&["dump"]).ok().json();
    assert_eq!(j["changed"], true, "{j}");
    assert_eq!(j["migrations"], 2, "{j}");
    assert!(j["left_out"].as_array().unwrap().iter().any(|s| s == "auth"), "{j}");
    // schema.sql beside the migrations folder, as dbmate and Laravel keep it.
    let text = std::fs::read_to_string(p.root.join("schema.sql")).unwrap();
    for kept in [
        "CREATE TABLE public.notes (",
        "COMMENT ON TABLE public.notes IS 'what users write';",
        "GRANT SELECT ON TABLE public.notes TO anon;",
        "ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.notes;",
        "CREATE POLICY \"avatars are public\" ON storage.objects",
        "CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users",
        "INSERT INTO storage.buckets (",
        "SELECT cron.schedule('nightly-cleanup', '0 3 * * *', 'DELETE FROM public.notes WHERE body IS NULL');",
        "INSERT INTO public.__diesel_schema_migrations (version) VALUES\n    ('20250101000000'),\n    ('20250102000000');",
        "'20250102000000_create_tags'",
    ] {
        assert!(text.contains(kept), "{kept} is missing from:\n{text}");
    }
    for gone in ["CREATE TABLE auth.", "CREATE TABLE storage.", "Dumped", "\\restrict", "CREATE PUBLICATION", "Owner:"]
    {
        assert!(!text.contains(gone), "{gone} is in:\n{text}");
    }
    // The same schema is the same bytes, and the file is not rewritten.
    assert_eq!(p.cargo_migrate_json(&["dump"]).ok().json()["changed"], false);
    let printed = p.cargo_migrate(&["dump", "-"]).ok().stdout;
    assert_eq!(printed.trim_end(), text.trim_end());

    // --check: current, then stale once a migration is added, with the diff.
    p.cargo_migrate(&["dump", "--check"]).ok();
    p.table_migration("20250103000000", "third");
    let r = p.cargo_migrate_json(&["dump", "--check"]).fails(1);
    assert_eq!(r.kind(), "schema_drift", "{}", r.stdout);
    let diff = r.json()["error"]["diff"].as_str().unwrap().to_string();
    assert!(diff.contains("+CREATE TABLE public.third ("), "{diff}");
    assert!(diff.contains("+    ('20250103000000');"), "{diff}");
    // The target was only read.
    assert!(!psql(&local_url(&p), "SELECT to_regclass('public.third') IS NULL").contains('f'));
}

#[test]
fn the_schema_file_is_kept_after_up_down_and_redo_on_the_local_database() {
    let p = Project::bare("app");
    with_schema_setting(&p);
    p.table_migration("20250101000000", "first");
    p.table_migration("20250102000000", "second");
    p.cargo_migrate(&["up"]).ok();
    let file = p.root.join("db/schema.sql");
    let read = || std::fs::read_to_string(&file).unwrap();
    assert!(read().contains("CREATE TABLE public.second ("), "{}", read());
    // What `up` wrote (its pg_dump running beside the advisor) is what the migrations make.
    p.cargo_migrate(&["dump", "--check"]).ok();
    // An `up` that applies nothing leaves the file alone.
    std::fs::write(&file, format!("{}-- edited by hand\n", read())).unwrap();
    p.cargo_migrate(&["up"]).ok();
    assert!(read().ends_with("-- edited by hand\n"), "{}", read());
    p.cargo_migrate(&["dump"]).ok();
    p.cargo_migrate(&["down"]).ok();
    assert!(!read().contains("public.second") && read().contains("CREATE TABLE public.first ("), "{}", read());
    p.cargo_migrate(&["redo"]).ok();
    assert!(read().contains("CREATE TABLE public.first (") && !read().contains("public.second"), "{}", read());
    // Asked not to, it is left as it is.
    p.cargo_migrate(&["up", "--no-write-schema"]).ok();
    assert!(!read().contains("public.second"), "{}", read());
    // What it holds is what dump writes.
    p.cargo_migrate(&["dump"]).ok();
    assert!(read().contains("public.second"), "{}", read());
    p.cargo_migrate(&["dump", "--check"]).ok();
}

#[test]
fn loading_the_schema_file_then_the_newer_migrations_equals_replaying_every_one() {
    let p = Project::bare("app");
    p.migration("20250101000000_notes", SUPABASE_UP, Some("DROP TABLE public.notes;\n"));
    p.table_migration("20250102000000", "tags");
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["dump"]).ok();
    p.table_migration("20250103000000", "third");
    // Replay every migration on a fresh local database: the reference.
    p.cargo_migrate(&["local", "reset"]).ok();
    let url = local_url(&p);
    let replayed = catalog(&url);
    let replayed_dump = p.cargo_migrate(&["dump", "-"]).ok().stdout;
    assert!(replayed.contains("policy storage.objects avatars are public"), "{replayed}");
    // Load the file, then only the newer one.
    let r = p.cargo_migrate_json(&["local", "reset", "--from-schema"]).ok();
    assert!(r.stdout.contains("\"ok\": true"), "{}", r.stdout);
    let url = local_url(&p);
    assert_eq!(catalog(&url), replayed);
    assert_eq!(p.cargo_migrate(&["dump", "-"]).ok().stdout, replayed_dump);
    let status = p.cargo_migrate_json(&["status"]).ok().json();
    assert_eq!(status["summary"]["applied"], 3, "{status}");
    assert_eq!(status["anomalies"].as_array().map(|a| a.len()), Some(0), "{status}");
    // Only the newer migration ran after the load: the loaded ones are batch 0.
    let batches =
        psql(&url, "SELECT string_agg(version || ':' || batch, ',' ORDER BY version) FROM cargo_migrate.migrations");
    assert_eq!(batches, "20250101000000:0,20250102000000:0,20250103000000:1");
    // A database that is not empty is refused, and keeps what it has.
    let r = p.cargo_migrate_json(&["up", "--from-schema"]).fails(1);
    assert_eq!(r.kind(), "from_schema", "{}", r.stdout);
    assert_eq!(catalog(&url), replayed);
}

#[test]
fn what_the_migrations_add_to_supabase_tables_keeps_its_comments_roles_and_state_through_the_file() {
    let p = Project::bare("app");
    p.migration(
        "20250101000000_audit",
        r#"
CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER audit_users AFTER UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION public.audit();
ALTER TABLE auth.users DISABLE TRIGGER audit_users;
COMMENT ON TRIGGER audit_users ON auth.users IS 'who changed what';
CREATE POLICY "uploads" ON storage.objects FOR INSERT TO authenticated, anon WITH CHECK (bucket_id = 'uploads');
COMMENT ON POLICY "uploads" ON storage.objects IS 'anyone''s uploads';
"#,
        Some("DROP TRIGGER audit_users ON auth.users;\nDROP POLICY uploads ON storage.objects;\nDROP FUNCTION public.audit();\n"),
    );
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["dump"]).ok();
    let text = std::fs::read_to_string(p.root.join("schema.sql")).unwrap();
    for kept in [
        "CREATE POLICY uploads ON storage.objects AS PERMISSIVE FOR INSERT TO anon, authenticated WITH CHECK ((bucket_id = 'uploads'::text));",
        "COMMENT ON POLICY uploads ON storage.objects IS 'anyone''s uploads';",
        "ALTER TABLE auth.users DISABLE TRIGGER audit_users;",
        "COMMENT ON TRIGGER audit_users ON auth.users IS 'who changed what';",
    ] {
        assert!(text.contains(kept), "{kept} is missing from:\n{text}");
    }
    let facts = "SELECT (SELECT tgenabled::text || ' ' || obj_description(oid, 'pg_trigger') FROM pg_trigger \
                   WHERE tgname = 'audit_users') || ' / ' || (SELECT array_to_string(roles, ',') || ' ' \
                   || obj_description((SELECT oid FROM pg_policy WHERE polname = 'uploads'), 'pg_policy') \
                   FROM pg_policies WHERE policyname = 'uploads')";
    let made = psql(&local_url(&p), facts);
    assert_eq!(made.trim(), "D who changed what / anon,authenticated anyone's uploads");
    // Loaded into a fresh database, the file makes the same, and dumps to the same bytes.
    p.cargo_migrate(&["local", "reset", "--from-schema"]).ok();
    assert_eq!(psql(&local_url(&p), facts), made);
    p.cargo_migrate(&["dump", "--check"]).ok();
    assert_eq!(p.cargo_migrate(&["dump", "-"]).ok().stdout.trim_end(), text.trim_end());
}
