//! `cargo migrate local` and what the local development database has: the
//! extensions Supabase projects use, and the roles migrations use but do not
//! create (`supabase/roles.sql`).

use crate::harness::*;

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
    let pg18 = crate::example::pgvector_bin().map(|b| b.to_str().unwrap().to_string());
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
