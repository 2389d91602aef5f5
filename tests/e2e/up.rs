//! `cargo migrate up`: what it refuses and what it reports, checked against
//! the catalog.
//!
//! `up` on other tools' layouts read in place, and its refusal to run again
//! what another tool applied before that history is adopted.

use crate::fixtures;
use crate::harness::*;

/// The lock released through SQL built at run time (no word "advisory" in
/// the file): the run stops, and the error names the migration that did it.
#[test]
fn a_lock_released_through_dynamic_sql_names_the_migration_that_did_it() {
    let db = Db::new("up_dynamic_unlock");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "before");
    p.migration(
        "20250102000000_sly",
        "CREATE TABLE sly (id int);\nDO $$ BEGIN EXECUTE 'SELECT pg_adv' || 'isory_unlock_all()'; END $$;\n",
        Some("DROP TABLE sly;"),
    );
    p.table_migration("20250103000000", "after");
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "lock_lost", "{}", r.all());
    // The migration is named (data, not wording): the one that unlocked, not its neighbours.
    let message = j["error"]["message"].as_str().unwrap();
    assert!(message.contains("20250102000000_sly"), "{}", r.all());
    assert!(!message.contains("after") && !message.contains("before"), "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("public.sly") && !db.table_exists("public.after"));
}

/// The client side of the connection dies mid-migration while the server's
/// session lives on and commits a few seconds later: `up` waits for that
/// session to end and only then reads the history, so it reports the
/// migration applied, as the database has it.
#[test]
fn a_migration_committed_after_the_client_side_died_is_reported_applied() {
    let db = Db::new("up_half_dead_commit");
    let port = cutting_proxy(b"cut-while-it-sleeps");
    let mut p = Project::bare("app");
    let url = format!("postgres://postgres@127.0.0.1:{port}/{}?sslmode=disable", db.name());
    p.env = vec![("DATABASE_URL".into(), url)];
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_slow",
        "-- cut-while-it-sleeps\nCREATE TABLE marks (id int);\nINSERT INTO marks VALUES (1);\n\
         SELECT pg_sleep(3);\nCREATE TABLE slow (id int);\nINSERT INTO marks VALUES (2);\n",
        Some("DROP TABLE slow; DROP TABLE marks;"),
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "connection_lost", "{}", r.all());
    let done: Vec<&str> =
        j["error"]["done_before"].as_array().unwrap().iter().map(|d| d["version"].as_str().unwrap()).collect();
    assert_eq!(done, ["20250101000000", "20250102000000"], "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT count(*) FROM marks"), "2");
}

/// The old session outlives the wait (`--lock-timeout` bounds it): the
/// outcome is unknown, and said so, never "rolled back".
#[test]
fn a_session_that_outlives_the_wait_leaves_the_outcome_unknown() {
    let db = Db::new("up_outcome_unknown");
    let port = cutting_proxy(b"cut-and-keep-running");
    let mut p = Project::bare("app");
    let url = format!("postgres://postgres@127.0.0.1:{port}/{}?sslmode=disable", db.name());
    p.env = vec![("DATABASE_URL".into(), url)];
    p.migration(
        "20250101000000_long",
        "-- cut-and-keep-running\nCREATE TABLE long (id int);\nSELECT pg_sleep(20);\n",
        Some("DROP TABLE long;"),
    );
    let r = p.cargo_migrate(&["up", "--lock-timeout", "1", "--format", "json"]).fails(1);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "outcome_unknown", "{}", r.all());
    assert_eq!(j["error"]["done_before"].as_array().map(Vec::len), Some(0), "{}", r.all());
    // It is still running; ending it rolls it back, and then nothing is applied.
    db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%cut-and-keep-running%' AND pid <> pg_backend_pid()");
    assert!(db.applied().is_empty());
}

/// The escalation of a Supabase project, on the local database prepared
/// like one: `GRANT ALL ON ALL TABLES IN SCHEMA public` hands diesel's table
/// to the API roles; `authenticated` hangs a trigger on it that would make
/// it superuser when the owner next records a migration. `up` refuses (the
/// trigger never fires) and takes the privileges back.
#[test]
fn a_trigger_an_api_role_hangs_on_the_history_is_refused_never_fired() {
    let p = Project::bare("app");
    p.migration("20250101000000_notes", "CREATE TABLE public.notes (id int);\n", Some("DROP TABLE public.notes;"));
    p.cargo_migrate(&["up"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    psql(&url, "GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated");
    try_psql_session(
        &url,
        &[
            "SET ROLE authenticated",
            "CREATE FUNCTION public.evil() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN EXECUTE 'ALTER ROLE authenticated SUPERUSER'; RETURN NEW; END $$",
            "CREATE TRIGGER evil BEFORE INSERT ON public.__diesel_schema_migrations \
             FOR EACH ROW EXECUTE FUNCTION public.evil()",
        ],
    )
    .unwrap();
    p.table_migration("20250102000000", "second");
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "foreign_hook", "{}", r.all());
    assert!(r.json()["error"]["hint"].as_str().unwrap().contains("DROP TRIGGER evil ON"), "{}", r.all());
    assert_eq!(psql(&url, "SELECT rolsuper FROM pg_roles WHERE rolname = 'authenticated'"), "f");
    assert_eq!(psql(&url, "SELECT string_agg(version, ',') FROM public.__diesel_schema_migrations"), "20250101000000");
    assert_eq!(psql(&url, "SELECT to_regclass('public.second') IS NULL"), "t");
    // Even the refused run took the privileges back: TRUNCATE (which ignores
    // row level security) and a second trigger are denied.
    let err = try_psql_session(&url, &["SET ROLE anon", "TRUNCATE __diesel_schema_migrations"]).unwrap_err();
    assert!(err.contains("permission denied"), "{err}");
    let err = try_psql_session(
        &url,
        &[
            "SET ROLE authenticated",
            "CREATE TRIGGER evil2 BEFORE INSERT ON public.__diesel_schema_migrations \
             FOR EACH ROW EXECUTE FUNCTION public.evil()",
        ],
    )
    .unwrap_err();
    assert!(err.contains("permission denied") || err.contains("must be owner"), "{err}");
    // Dropped as the hint says, the next run applies, and no role but the
    // owner holds anything but SELECT on any bookkeeping table (a reading
    // role keeps reading: here Supabase's default privileges gave
    // service_role SELECT), the API roles and PUBLIC not even that.
    psql(&url, "DROP TRIGGER evil ON public.__diesel_schema_migrations");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(psql(&url, "SELECT count(*) FROM public.__diesel_schema_migrations"), "2");
    let held = psql(
        &url,
        "SELECT string_agg(c.oid::regclass || ' ' || a.grantee::regrole || ' ' || a.privilege_type, ', ') \
           FROM pg_class c, aclexplode(c.relacl) a \
          WHERE c.oid IN ('public.__diesel_schema_migrations'::regclass, 'cargo_migrate.migrations'::regclass, \
                          'cargo_migrate.partial'::regclass) AND a.grantee <> c.relowner \
            AND (a.privilege_type <> 'SELECT' OR a.grantee = 0 \
                 OR a.grantee IN (SELECT oid FROM pg_roles WHERE rolname IN ('anon', 'authenticated')))",
    );
    assert_eq!(held, "");
    p.cargo_migrate(&["local", "stop"]).ok();
}

/// An unclosed quote would swallow the rest of the text, the bookkeeping sent
/// with it included: it is refused before anything is sent, at its line.
#[test]
fn an_unclosed_quote_is_refused_at_its_line_before_anything_runs() {
    let db = Db::new("up_unclosed_quote");
    let p = Project::new(&db);
    p.migration("20250101000000_first", "CREATE TABLE x (v text);\n", Some("DROP TABLE x;"));
    p.migration(
        "20250102000000_quote",
        "CREATE TABLE y (v text);\nINSERT INTO y VALUES ('abc);\n",
        Some("DROP TABLE y;"),
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let error = &r.json()["error"];
    assert_eq!(error["kind"], "unclosed_sql", "{}", r.all());
    assert!(error["message"].as_str().unwrap_or_default().contains("up.sql:2:"), "{}", r.all());
    assert!(db.applied().is_empty(), "{}", r.all());
    assert!(!db.table_exists("x") && !db.table_exists("y"), "{}", r.all());
    // The dry run says the same.
    let r = p.cargo_migrate(&["up", "--dry-run", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "unclosed_sql", "{}", r.all());
}

/// psql's inline data after `COPY … FROM stdin` is no SQL: refused with the
/// ways to load rows that a migration can use.
#[test]
fn copy_from_stdin_is_refused_before_anything_runs() {
    let db = Db::new("up_copy_stdin");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_rows",
        "CREATE TABLE c (a int, b text);\nCOPY public.c (a, b) FROM stdin;\n1\tone\n2\ttwo\n\\.\n",
        Some("DROP TABLE c;"),
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    let error = &r.json()["error"];
    assert_eq!(error["kind"], "copy_from_stdin", "{}", r.all());
    assert!(error["message"].as_str().unwrap_or_default().contains("up.sql:2:"), "{}", r.all());
    assert!(db.applied().is_empty() && !db.table_exists("c"), "{}", r.all());
}

/// Passwords quoted in SQL never reach the output: not the failing line, not
/// the server's message, not a notice, not a finding (human, JSON, SARIF).
#[test]
fn passwords_in_sql_are_masked_in_every_output() {
    const ROLE_PW: &str = "R0leSecretPw";
    const URL_PW: &str = "VeryS3cretPw";
    let db = Db::new("up_sql_passwords");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_notice",
        "-- migrate:ignore-file hardcoded_secret\nDO $$ BEGIN RAISE NOTICE 'using %', 'postgres://admin:VeryS3cretPw@db.example.com/app'; END $$;\n",
        Some("SELECT 1;"),
    );
    p.migration(
        "20250102000000_role",
        "CREATE ROLE up_sql_passwords_svc LOGIN PASSWORD 'R0leSecretPw' VALID UNTIL 'garbage';\n",
        Some("DROP ROLE IF EXISTS up_sql_passwords_svc;"),
    );
    let mut runs = vec![
        p.cargo_migrate(&["lint", "--all"]).fails(1),
        p.cargo_migrate(&["lint", "--all", "--format", "json"]).fails(1),
        p.cargo_migrate(&["lint", "--all", "--format", "sarif"]).fails(1),
        p.cargo_migrate(&["up"]).fails(1),
        p.cargo_migrate(&["up", "--dry-run", "--no-lint"]).ok(),
        p.cargo_migrate(&["up", "--no-lint", "--format", "json"]).fails(1),
    ];
    assert_eq!(db.applied(), ["20250101000000"], "{}", runs[5].all());
    assert_eq!(runs[5].json()["error"]["kind"], "migration_failed", "{}", runs[5].all());
    runs.push(p.cargo_migrate(&["up", "--no-lint"]).fails(1));
    assert!(runs.last().unwrap().stderr.contains("PASSWORD '****'"), "{}", runs.last().unwrap().all());
    // A server message that quotes a URL's password, and the line that holds it.
    p.write(
        "migrations/20250102000000_role/up.sql",
        "SELECT 'postgres://admin:VeryS3cretPw@db.example.com/app'::int;\n",
    );
    runs.push(p.cargo_migrate(&["up", "--no-lint"]).fails(1));
    runs.push(p.cargo_migrate(&["up", "--no-lint", "--format", "json"]).fails(1));
    // The notice of a migration that succeeds.
    p.cargo_migrate(&["down"]).ok();
    p.write("migrations/20250102000000_role/up.sql", "SELECT 1;\n");
    runs.push(p.cargo_migrate(&["up", "--no-lint"]).ok());
    assert!(runs.last().unwrap().all().contains("using postgres://admin:****@"), "{}", runs.last().unwrap().all());
    for r in &runs {
        for secret in [ROLE_PW, URL_PW] {
            assert!(!r.all().contains(secret), "{secret} leaked:\n{}", r.all());
        }
    }
}

/// An up.sql with no statement is refused, saying what it holds: nothing,
/// only `;` and comments, or the untouched template.
#[test]
fn an_up_sql_without_a_statement_says_what_it_is() {
    let db = Db::new("up_no_statement");
    let p = Project::new(&db);
    for (up, says) in
        [("", "it is empty"), ("\n  \n", "it is empty"), (";;;\n-- later\n", "only comments and semicolons")]
    {
        p.migration("20250101000000_nothing", up, Some("SELECT 1;"));
        let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "empty_up", "{}", r.stdout);
        let r = p.cargo_migrate(&["up"]).fails(1);
        assert!(r.stderr.contains(says) && !r.stderr.contains("template"), "{up:?}: {}", r.stderr);
    }
}

// Never a silent success: a migrations folder that is not there, migrations
// it does not run, a --pg-bin that is not PostgreSQL.

#[test]
fn a_dir_that_does_not_exist_is_an_error_not_up_to_date() {
    let db = Db::new("up_missing_dir");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "things");
    let err = p.cargo_migrate(&["up", "--dir", "migratons", "--format", "json"]).fails(2).json();
    assert_eq!(err["error"]["kind"], "no_migrations_folder", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("migratons"), "{err}");
    assert!(!db.table_exists("public.__diesel_schema_migrations"));

    // A configured folder too, for every command that reads it.
    p.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.migrate]\ndir = \"db/migrations\"\n",
    );
    for cmd in [&["up"][..], &["status"], &["down"], &["lint"]] {
        let mut args = cmd.to_vec();
        args.extend(["--format", "json"]);
        let err = p.cargo_migrate(&args).fails(2).json();
        assert_eq!(err["error"]["kind"], "no_migrations_folder", "{cmd:?}: {err}");
    }
    // `create` makes it.
    p.cargo_migrate(&["create", "first_thing"]).ok();
    assert_eq!(folders(&p.root.join("db/migrations")).len(), 1);
}

#[test]
fn javascript_migrations_in_the_folder_are_refused_naming_them_and_import() {
    let db = Db::new("up_foreign_files");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "things");
    p.write(
        "migrations/1700000000000_create-users.js",
        "exports.up = (pgm) => pgm.createTable('users', { id: 'id' });\n",
    );
    p.write("migrations/1700000000001_add-teams.ts", "export async function up(pgm) {}\n");
    // Not migrations: left alone.
    p.write("migrations/README.md", "notes\n");
    p.write("migrations/helpers.js", "module.exports = {};\n");

    let err = p.cargo_migrate(&["up", "--format", "json"]).fails(1).json();
    assert_eq!(err["error"]["kind"], "bad_migrations_folder", "{err}");
    let text = err.to_string();
    assert!(text.contains("1700000000000_create-users.js") && text.contains("1700000000001_add-teams.ts"), "{text}");
    assert!(text.contains("import --from node-pg-migrate"), "{text}");
    assert!(!text.contains("helpers.js"), "{text}");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("things"));

    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    let kinds: Vec<&str> =
        status["anomalies"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["foreign_migrations"], "{status}");
}

#[test]
fn a_pg_bin_that_does_not_exist_is_an_error_not_another_pg_dump() {
    let db = Db::new("up_bad_pg_bin");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "things");
    let err =
        p.cargo_migrate(&["up", "--backup", "--pg-bin", "/nonexistent/pg/bin", "--format", "json"]).fails(2).json();
    assert_eq!(err["error"]["kind"], "bad_pg_bin", "{err}");
    assert!(db.applied().is_empty());
    // A folder that is there but is not PostgreSQL's.
    std::fs::create_dir_all(p.root.join("not-postgres")).unwrap();
    let err = p.cargo_migrate(&["up", "--backup", "--pg-bin", "not-postgres", "--format", "json"]).fails(2).json();
    assert_eq!(err["error"]["kind"], "bad_pg_bin", "{err}");
    assert!(db.applied().is_empty());
}

/// A layout in place: `up` applies it all in the tool's order; where the
/// layout has downs, `down --all` reverts it all and `up` applies it again.
fn in_place(name: &str, dir: &str, write: fn(&Project, &str), reversible: bool) {
    let db = Db::new(&format!("in_place_{name}"));
    let mut p = Project::new(&db);
    p.env.push(("MIGRATE_DIR".into(), dir.into()));
    write(&p, dir);
    let json = p.cargo_migrate(&["up", "--format", "json"]).ok().json();
    assert_eq!(json["migrations"].as_array().map(Vec::len), Some(4), "{name}: {json}");
    assert_eq!(fixtures::schema(&db), fixtures::SCHEMA, "{name}");
    assert_eq!(db.applied().len(), 4, "{name}");
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    let rows = status["migrations"].as_array().unwrap();
    assert!(
        rows.iter().all(|m| m["state"] == "applied" && m["up_only"].as_bool().unwrap_or(false) != reversible),
        "{name}: {status}"
    );
    if reversible {
        p.cargo_migrate(&["down", "--all", "--yes"]).ok();
        assert!(fixtures::is_empty_schema(&db) && db.applied().is_empty(), "{name}");
        p.cargo_migrate(&["up"]).ok();
        assert_eq!(fixtures::schema(&db), fixtures::SCHEMA, "{name}");
    } else {
        let r = p.cargo_migrate(&["down", "--yes", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "up_only", "{name}: {}", r.stdout);
        assert_eq!(db.applied().len(), 4, "{name}");
    }
}

#[test]
fn sqlx_folder_in_place() {
    in_place("sqlx", "migrations", fixtures::sqlx, true);
}

#[test]
fn golang_migrate_folder_in_place() {
    in_place("golang_migrate", "migrations", fixtures::golang_migrate, true);
}

#[test]
fn refinery_folder_in_place_orders_versions_as_numbers() {
    in_place("refinery", "migrations", fixtures::refinery, false);
}

#[test]
fn flyway_folder_in_place_with_undo_files() {
    in_place("flyway", "db/migration", fixtures::flyway, true);
}

#[test]
fn goose_folder_in_place() {
    in_place("goose", "migrations", fixtures::goose, true);
}

#[test]
fn prisma_folder_in_place() {
    in_place("prisma", "prisma/migrations", fixtures::prisma, false);
}

#[test]
fn unpadded_numbers_that_text_order_would_reorder_are_refused() {
    let db = Db::new("in_place_unpadded");
    let p = Project::new(&db);
    p.write("migrations/1_accounts.sql", "CREATE TABLE accounts (id int);\n");
    p.write("migrations/2_posts.sql", "CREATE TABLE posts (id int);\n");
    p.write("migrations/10_more.sql", "CREATE TABLE more_t (id int);\n");
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "bad_migrations_folder", "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("accounts"));
}

/// The seed's team, before `adopt`: node-pg-migrate applied 1 and 2 (with an
/// idempotent first migration that would silently run again).
fn node_pg_migrate_database(db: &Db, p: &Project) {
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES ('1704067200000_create-meetings', '2024-01-01 00:00:00'),
                                                        ('1704153600000_add-title', '2024-01-02 00:00:00');
         CREATE TABLE meetings (id int PRIMARY KEY, title text);
         CREATE TABLE reruns (n int); INSERT INTO reruns VALUES (1);",
    );
    p.write(
        "migrations/1704067200000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE IF NOT EXISTS meetings (id int PRIMARY KEY);\nINSERT INTO reruns VALUES (1);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    p.write(
        "migrations/1704153600000_add-title.sql",
        "-- Up Migration\nALTER TABLE meetings ADD COLUMN IF NOT EXISTS title text;\n-- Down Migration\nALTER TABLE meetings DROP COLUMN title;\n",
    );
    p.write(
        "migrations/1704240000000_add-notes.sql",
        "-- Up Migration\nALTER TABLE meetings ADD COLUMN notes text;\n-- Down Migration\nALTER TABLE meetings DROP COLUMN notes;\n",
    );
}

#[test]
fn up_refuses_until_another_tools_history_is_adopted() {
    let db = Db::new("up_refuses_npm");
    let p = Project::new(&db);
    node_pg_migrate_database(&db, &p);
    for args in [&["up"][..], &["up", "--dry-run"]] {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let r = p.cargo_migrate(&args).fails(1);
        let e = &r.json()["error"];
        assert_eq!(e["kind"], "other_history", "{}", r.stdout);
        assert!(e["hint"].as_str().unwrap().contains("adopt --from node-pg-migrate"), "{e}");
    }
    // Nothing ran, nothing was created.
    assert_eq!(db.query("SELECT count(*) FROM reruns"), "1");
    assert!(!db.table_exists("public.__diesel_schema_migrations"));
    assert!(!db.table_exists("cargo_migrate.migrations"));

    p.cargo_migrate(&["adopt", "--yes"]).ok();
    let r = p.cargo_migrate(&["up", "--format", "json"]).ok().json();
    assert_eq!(r["migrations"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(db.query("SELECT count(*) FROM reruns"), "1", "migration 1 never ran again");
    assert_eq!(db.applied(), ["1704067200000", "1704153600000", "1704240000000"]);
}

#[test]
fn up_with_ignore_other_history_runs_as_told() {
    let db = Db::new("up_ignores_npm");
    let p = Project::new(&db);
    node_pg_migrate_database(&db, &p);
    p.cargo_migrate(&["up", "--ignore-other-history"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM reruns"), "2", "the user asked for the re-run");
    assert_eq!(db.applied().len(), 3);
}

/// node-pg-migrate's `--migrations-table` / `--migrations-schema`: its table
/// is known by its columns wherever it is.
#[test]
fn a_renamed_node_pg_migrate_table_is_found_too() {
    let db = Db::new("up_refuses_renamed");
    let p = Project::new(&db);
    db.query(
        "CREATE SCHEMA ops;
         CREATE TABLE ops.migration_log (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO ops.migration_log (name, run_on) VALUES ('1704067200000_create-meetings', now());",
    );
    p.write(
        "migrations/1704067200000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE meetings (id int);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "other_history", "{}", r.stdout);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("ops.migration_log"), "{}", r.stdout);
    let json = p.cargo_migrate(&["adopt", "--yes", "--format", "json"]).ok().json();
    assert_eq!(json["recorded"][0]["version"], "1704067200000", "{json}");
    p.cargo_migrate(&["up"]).ok();
    assert!(!db.table_exists("meetings"), "adopted, so not run");
}

/// dbmate's and sqlx's tables, and Supabase's in a folder that is not the
/// Supabase layout: each named by `status`, each stopping `up`.
#[test]
fn every_other_history_stops_up_until_adopted() {
    let cases = [
        ("dbmate", "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');"),
        ("sqlx", "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL,
                    execution_time BIGINT NOT NULL);
                  INSERT INTO _sqlx_migrations VALUES (20240101000000, 'create a', now(), true, '\\x00', 1);"),
        ("supabase", "CREATE SCHEMA supabase_migrations;
                      CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
                      INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000', NULL, 'create_a');"),
    ];
    for (tool, history) in cases {
        let db = Db::new(&format!("up_refuses_{tool}"));
        let p = Project::new(&db);
        p.table_migration("20240101000000", "a");
        db.query(history);
        db.query("CREATE TABLE a (id bigint PRIMARY KEY)");
        let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
        assert_eq!(status["other_histories"][0]["tool"], tool, "{status}");
        assert_eq!(status["other_histories"][0]["not_recorded"][0], "20240101000000", "{status}");
        p.cargo_migrate(&["status", "--exit-code"]).fails(3);
        let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "other_history", "{tool}: {}", r.stdout);
        assert!(db.applied().is_empty(), "{tool}");
        p.cargo_migrate(&["adopt", "--yes"]).ok();
        p.cargo_migrate(&["up"]).ok();
        assert_eq!(db.applied(), ["20240101000000"], "{tool}");
    }
}

/// The down file of a pair is checked like a down section, and named.
#[test]
fn the_down_file_of_a_pair_is_linted() {
    let db = Db::new("pair_down_lint");
    let p = Project::new(&db);
    crate::fixtures::golang_migrate(&p, "migrations");
    p.write("migrations/000004_post_count.down.sql", "DROP FUNCTON post_count(bigint);\n");
    let json = p.cargo_migrate(&["lint", "--all", "--format", "json"]).ok().json();
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "parse_error" && f["file"].as_str().unwrap().ends_with("000004_post_count.down.sql")),
        "{json}"
    );
}
