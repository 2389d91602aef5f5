//! `cargo migrate up`: what it refuses and what it reports, checked against
//! the catalog.
//!
//! `up` on other tools' layouts read in place, and its refusal to run again
//! what another tool applied before that history is adopted.

use std::time::{Duration, Instant};

use insta::assert_snapshot;

use crate::fixtures;
use crate::harness::*;
use crate::support::{pgvector_bin, spawn_direct, three, wait_for_query};

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

/// A renamed table is looked for while the database has no history of ours:
/// also where diesel's table is there, but empty (made by an app that ran
/// nothing yet).
#[test]
fn a_renamed_node_pg_migrate_table_is_found_while_our_history_is_empty() {
    let db = Db::new("up_refuses_renamed_empty");
    let p = Project::new(&db);
    db.query(
        "CREATE TABLE public.__diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL DEFAULT now());
         CREATE TABLE migration_log (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO migration_log (name, run_on) VALUES ('1704067200000_create-meetings', now());",
    );
    p.write(
        "migrations/1704067200000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE meetings (id int);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["other_histories"][0]["tool"], "node-pg-migrate", "{status}");
    assert_eq!(status["other_histories"][0]["table"], "public.migration_log", "{status}");
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "other_history", "{}", r.stdout);
    assert!(!db.table_exists("meetings") && db.applied().is_empty());
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

#[test]
fn a_template_up_sql_is_refused_not_recorded() {
    let db = Db::new("template_up");
    let p = Project::new(&db);
    p.cargo_migrate(&["create", "add_things"]).ok();
    p.cargo_migrate_json(&["up"]).fails_with(1, "empty_up");
    assert!(db.applied().is_empty());
}

#[test]
fn a_multi_action_rule_stays_one_statement() {
    let db = Db::new("rule");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_rule",
        "CREATE TABLE t (id int);\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n\
         CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (NEW.id); INSERT INTO b VALUES (NEW.id));\n",
        Some("DROP TABLE t; DROP TABLE a; DROP TABLE b;"),
    );
    p.write("migrations/20250101000000_rule/metadata.toml", "run_in_transaction = false\n");
    p.cargo_migrate(&["up"]).ok();
    db.query("INSERT INTO t VALUES (7)");
    assert_eq!(db.query("SELECT (SELECT count(*) FROM a) || '|' || (SELECT count(*) FROM b)"), "1|1");
}

#[test]
fn notices_and_warnings_are_shown_under_their_migration() {
    let db = Db::new("notices");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_noisy",
        "DO $$ BEGIN RAISE NOTICE 'hello from the migration'; RAISE WARNING 'careful now'; END $$;\n",
        Some("SELECT 1;"),
    );
    p.table_migration("20250102000000", "after");
    let r = p.cargo_migrate(&["up"]).ok();
    let (m, n, w, next) = (
        r.stdout.find("20250101000000_noisy").unwrap(),
        r.stdout.find("NOTICE: hello from the migration").expect(&r.stdout),
        r.stdout.find("WARNING: careful now").expect(&r.stdout),
        r.stdout.find("20250102000000_create_after").unwrap(),
    );
    assert!(m < n && n < w && w < next, "{}", r.stdout);
    p.cargo_migrate(&["redo", "--count", "2"]).ok();
    let r = p.cargo_migrate(&["redo", "--count", "2", "--quiet"]).ok();
    assert!(!r.all().contains("hello from the migration") && r.all().contains("careful now"), "{}", r.all());
    p.cargo_migrate(&["down", "--all"]).ok();
    let j = p.cargo_migrate(&["up", "--format", "json"]).ok().json();
    let notices = &j["migrations"][0]["notices"];
    assert_eq!(notices[0]["severity"], "NOTICE");
    assert_eq!(notices[1]["message"], "careful now");
}

#[test]
fn migrations_sent_together_each_keep_their_own_outcome_time_and_notices() {
    // Four transactional migrations in a row go to the server in one text.
    let db = Db::new("batched");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_slow",
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(0.3);\nDO $$ BEGIN RAISE NOTICE 'from slow'; END $$;\n",
        Some("DROP TABLE slow;\n"),
    );
    p.migration(
        "20250102000000_quick",
        "CREATE TABLE quick (id int);\nDO $$ BEGIN RAISE NOTICE 'from quick'; END $$;\n",
        Some("DROP TABLE quick;\n"),
    );
    p.migration(
        "20250103000000_bad",
        "CREATE TABLE bad (id int);\nINSERT INTO nowhere VALUES (1);\n",
        Some("DROP TABLE bad;\n"),
    );
    p.table_migration("20250104000000", "after");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    let j = r.json();
    assert_eq!(j["error"]["migration"]["version"], "20250103000000", "{}", r.stdout);
    assert_eq!((j["error"]["line"].as_u64(), j["error"]["column"].as_u64()), (Some(2), Some(13)), "{}", r.stdout);
    let done: Vec<&str> =
        j["error"]["done_before"].as_array().unwrap().iter().map(|d| d["version"].as_str().unwrap()).collect();
    assert_eq!(done, ["20250101000000", "20250102000000"]);
    // The database agrees: the two before it committed, it rolled back whole, the one after never ran.
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert!(db.table_exists("quick") && !db.table_exists("bad") && !db.table_exists("after"));
    // Each one's own time, not the text's so far.
    let ms = |v: &str| -> i64 {
        db.query(&format!("SELECT duration_ms FROM cargo_migrate.migrations WHERE version = '{v}'")).parse().unwrap()
    };
    assert!(
        ms("20250101000000") >= 300 && ms("20250102000000") < 300,
        "{} {}",
        ms("20250101000000"),
        ms("20250102000000")
    );
    // Fixed, the rest runs; each notice is told under its own migration.
    p.write("migrations/20250103000000_bad/up.sql", "CREATE TABLE bad (id int);\n");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied().len(), 4);
    p.cargo_migrate(&["down", "--all"]).ok();
    let out = p.cargo_migrate(&["up"]).ok().stdout;
    let at: Vec<usize> =
        ["20250101000000_slow", "from slow", "20250102000000_quick", "from quick", "20250103000000_bad"]
            .iter()
            .map(|s| out.find(s).unwrap_or_else(|| panic!("{s}: {out}")))
            .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
}

#[test]
fn a_failure_lists_what_the_run_did_before_it_in_json() {
    let db = Db::new("done_before");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "first");
    p.migration("20250102000000_bad", "SELEC 1;", Some("SELECT 1;"));
    let j = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed").json();
    assert_eq!(j["error"]["done_before"][0]["version"], "20250101000000");
    assert_eq!(j["error"]["done_before"][0]["action"], "applied");
}

#[test]
fn copy_from_stdin_in_a_migration_fails_cleanly() {
    let db = Db::new("copy_stdin");
    let p = Project::new(&db);
    p.migration("20250101000000_copy", "CREATE TABLE c (id int);\nCOPY c FROM STDIN;\n", Some("DROP TABLE c;"));
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "copy_from_stdin", "{}", r.all());
    assert!(db.applied().is_empty() && !db.table_exists("c"), "nothing ran");
}

/// COPY … TO STDOUT is refused too; the server runs on past it (it does not
/// wait for the data to be read), so what follows must not be committed as
/// applied while the error says it was rolled back.
#[test]
fn copy_to_stdout_in_a_migration_fails_and_leaves_nothing() {
    let db = Db::new("copy_stdout");
    let p = Project::new(&db);
    p.migration("20250101000000_copy", "CREATE TABLE c (id int);\nCOPY (SELECT 1) TO STDOUT;\n", Some("DROP TABLE c;"));
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250101000000_copy/up.sql:2"), "{}", r.stdout);
    assert!(db.applied().is_empty(), "recorded as applied: {}", r.stdout);
    assert!(!db.table_exists("c"), "committed: {}", r.stdout);
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

#[test]
fn a_failing_migration_is_rolled_back_and_located_in_its_file() {
    let db = Db::new("failure_locate");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_broken",
        "-- a table, then a typo\nCREATE TABLE half_done (id int);\n\nCREATE TABLE broken (\n  id int,\n  name txet\n);\n",
        Some("DROP TABLE broken; DROP TABLE half_done;"),
    );
    p.table_migration("20250103000000", "third");
    // (The human rendering, with the SQL line and its caret, is a snapshot.)
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().ends_with("20250102000000_broken/up.sql:6:8"), "file:line:col: {}", r.stdout);
    let before = &r.json()["error"]["done_before"];
    assert_eq!(
        (&before[0]["version"], &before[0]["action"]),
        (&"20250101000000".into(), &"applied".into()),
        "{before}"
    );
    assert_eq!(before.as_array().map(Vec::len), Some(1), "what this run did before: {before}");
    // Real state: the first stays, nothing of the broken one, the third not run.
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("first"));
    assert!(!db.table_exists("half_done"), "the broken migration's first statement was rolled back");
    assert!(!db.table_exists("third"));
}

#[test]
fn failure_shows_detail_and_hint_from_postgres() {
    let db = Db::new("failure_detail");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_dupes",
        "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (1);\n",
        Some("DROP TABLE t;"),
    );
    let r = p.cargo_migrate(&["up"]).fails(1);
    assert!(r.stderr.contains("duplicate key value violates unique constraint"), "{}", r.stderr);
    assert!(r.stderr.contains("detail: Key (id)=(1) already exists."), "{}", r.stderr);
    assert!(r.stderr.contains("this run changed nothing"), "{}", r.stderr);
    assert!(!db.table_exists("t"));

    p.migration("20250101000000_dupes", "SELECT * FROM pg_class WHERE relnmae = 'x';\n", Some("SELECT 1;"));
    let r = p.cargo_migrate(&["up"]).fails(1);
    assert!(r.stderr.contains("postgres hint: Perhaps you meant"), "{}", r.stderr);
    assert!(r.stderr.contains("up.sql:1:30"), "{}", r.stderr);
}

#[test]
fn failure_outside_a_transaction_says_what_stayed() {
    let db = Db::new("failure_notx");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.migration(
        "20250102000000_index_items",
        "CREATE INDEX CONCURRENTLY items_a ON items (id);\nCREATE INDEX CONCURRENTLY items_b ON items (nope);\n",
        Some("DROP INDEX CONCURRENTLY items_a;"),
    );
    p.write("migrations/20250102000000_index_items/metadata.toml", "run_in_transaction = false\n");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_index_items/up.sql:2"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    // Statement 1 ran outside a transaction: it stays.
    assert!(db.table_exists("items_a") && !db.table_exists("items_b"));
}

#[test]
fn a_migration_that_commits_by_itself_is_refused_before_anything_runs() {
    let db = Db::new("self_commit");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_commits",
        "CREATE TABLE a (id int);\n\nCOMMIT;\nCREATE TABLE b (id int);\n",
        Some("DROP TABLE b; DROP TABLE a;"),
    );
    // The static checks see it first; the runner refuses it too (without them).
    p.cargo_migrate_json(&["up"]).fails_with(1, "lint_failed");
    let lint = p.cargo_migrate_json(&["lint"]).fails(1).json();
    let findings = lint["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["rule"] == "transaction_unbalanced" && f["line"] == 3), "{lint}");
    let r = p.cargo_migrate_json(&["up", "--no-lint"]).fails_with(1, "transaction_control");
    assert!(r.location().ends_with("20250102000000_commits/up.sql:3"), "{}", r.stdout);
    // The way out is named: opt the file out of the transaction.
    assert!(
        r.json()["error"]["hint"].as_str().unwrap_or_default().contains("run_in_transaction = false"),
        "{}",
        r.stdout
    );
    assert!(db.applied().is_empty() && !db.table_exists("first") && !db.table_exists("a"), "nothing ran");
    // A PL/pgSQL block's BEGIN and a SQL-standard body are not transaction control.
    p.migration(
        "20250102000000_commits",
        "DO $$ BEGIN CREATE TABLE a (id int); END $$;\nCREATE FUNCTION one() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND;\n",
        Some("DROP FUNCTION one(); DROP TABLE a;"),
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT one()"), "1");
}

#[test]
fn an_error_without_a_position_still_names_its_line() {
    let db = Db::new("no_position");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_remote_schema",
        "CREATE TABLE parent (id int PRIMARY KEY);\nCREATE TABLE child (p int REFERENCES parent);\n\n\
         -- an extension this server does not have\nCREATE EXTENSION nosuch_extension;\nCREATE TABLE after (id int);\n",
        Some("SELECT 1;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250101000000_remote_schema/up.sql:5"), "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("parent"), "everything rolled back");
    // A DROP that fails on dependents carries no position either.
    p.migration(
        "20250101000000_remote_schema",
        "CREATE TABLE parent (id int PRIMARY KEY);\n",
        Some("DROP TABLE parent;"),
    );
    p.migration(
        "20250102000000_child",
        "CREATE TABLE child (p int REFERENCES parent);\nSELECT 1;\nDROP TABLE parent;\n",
        Some("DROP TABLE child;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_child/up.sql:3"), "{}", r.stdout);
    // Found without running anything twice: a sequence (which no rollback
    // undoes) is advanced once by the failed run, not twice.
    db.query("CREATE SEQUENCE calls");
    p.migration(
        "20250102000000_child",
        "SELECT nextval('calls');\nCREATE TABLE child (p int REFERENCES parent);\nDROP TABLE parent;\n",
        Some("DROP TABLE child;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_child/up.sql:3"), "{}", r.stdout);
    assert_eq!(db.query("SELECT last_value FROM calls"), "1", "the migration ran once");
}

#[test]
fn a_file_with_its_own_begin_and_commit_runs_as_it_says() {
    let db = Db::new("own_transactions");
    let p = Project::new(&db);
    // Supabase's examples wrap a migration in BEGIN … COMMIT: it runs in one
    // transaction with its bookkeeping, and errors keep their line.
    p.migration(
        "20250101000000_wrapped",
        "begin;\n\ncreate table wrapped (id int);\nalter table wrapped enable row level security;\n\ncommit;\n",
        Some("drop table wrapped;"),
    );
    p.migration(
        "20250102000000_blocks",
        "BEGIN;\nCREATE TABLE one (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE two (id int);\nCOMMIT;\n",
        Some("DROP TABLE two; DROP TABLE one;"),
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert!(db.table_exists("wrapped") && db.table_exists("one") && db.table_exists("two"));
    p.migration(
        "20250103000000_wrapped_typo",
        "BEGIN;\nCREATE TABLE t3 (id int);\nCREATE TABLE t4 (id nosuchtype);\nCOMMIT;\n",
        Some("SELECT 1;"),
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250103000000_wrapped_typo/up.sql:3"), "{}", r.stdout);
    assert!(!db.table_exists("t3"), "rolled back whole");
}

fn no_tx(p: &Project, folder: &str) {
    p.write(&format!("migrations/{folder}/metadata.toml"), "run_in_transaction = false\n");
}

#[test]
fn session_settings_do_not_leak_between_migrations() {
    // session_replication_role = replica would switch off foreign keys.
    let db = Db::new("leak_srr");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_replica",
        "SET session_replication_role = replica;\nCREATE TABLE parent (id int PRIMARY KEY);\n\
         CREATE TABLE child (parent_id int REFERENCES parent);\n",
        Some("DROP TABLE child; DROP TABLE parent;"),
    );
    p.migration("20250102000000_orphan", "INSERT INTO child VALUES (42);\n", Some("DELETE FROM child;"));
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_orphan/up.sql:1"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert_eq!(db.query("SELECT count(*) FROM child"), "0", "no orphan row");

    // SET ROLE in one migration does not make the next run as that role.
    let db = Db::new("leak_role");
    let p = Project::new(&db);
    let role = format!("hardening_nopriv_{}", run_id());
    db.query(&format!("CREATE ROLE {role} NOLOGIN"));
    p.migration("20250101000000_become", &format!("SET ROLE {role};\n"), Some("SELECT 1;"));
    p.migration("20250102000000_owned", "CREATE TABLE owned (id int);\n", Some("DROP TABLE owned;"));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert_eq!(db.query("SELECT tableowner FROM pg_tables WHERE tablename = 'owned'"), "postgres");
    db.query(&format!("DROP ROLE {role}"));

    // A temporary table of one migration is gone in the next.
    let db = Db::new("leak_temp");
    let p = Project::new(&db);
    p.migration("20250101000000_temp", "CREATE TEMP TABLE tmp AS SELECT 1 AS x;\n", Some("SELECT 1;"));
    p.migration("20250102000000_use", "CREATE TABLE t2 AS SELECT * FROM pg_temp.tmp;\n", Some("DROP TABLE t2;"));
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_use/up.sql:1"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("public.t2"));
}

#[test]
fn bookkeeping_stays_closed_to_api_roles_after_grant_all() {
    let p = Project::bare("app");
    p.migration(
        "20250101000000_grant_all",
        "CREATE TABLE things (id int);\nGRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated;\n",
        Some("DROP TABLE things;"),
    );
    p.cargo_migrate(&["up"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    // The GRANT reached the table of the migration (the test is real).
    assert_eq!(psql(&url, "SELECT has_table_privilege('anon', 'public.things', 'SELECT')"), "t");
    assert_eq!(psql(&url, "SELECT count(*) FROM public.__diesel_schema_migrations"), "1");
    // The run took back what the migration granted ...
    for role in ["anon", "authenticated"] {
        for sql in [
            "SELECT count(*) FROM public.__diesel_schema_migrations",
            "INSERT INTO public.__diesel_schema_migrations (version) VALUES ('1')",
            "DELETE FROM public.__diesel_schema_migrations",
        ] {
            let err = try_psql_session(&url, &[&format!("SET ROLE {role}"), sql]).unwrap_err();
            assert!(err.contains("permission denied for table __diesel_schema_migrations"), "{role}: {sql}: {err}");
        }
    }
    // ... and row level security still closes it when the grant is made again
    // outside a run (e.g. in Supabase Studio).
    psql(&url, "GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated");
    assert_eq!(
        psql(&url, "SELECT has_table_privilege('anon', 'public.__diesel_schema_migrations', 'SELECT,INSERT,DELETE')"),
        "t"
    );
    for role in ["anon", "authenticated"] {
        let seen = try_psql_session(
            &url,
            &[&format!("SET ROLE {role}"), "SELECT count(*) FROM public.__diesel_schema_migrations"],
        );
        assert_eq!(seen.as_deref(), Ok("0"), "{role} sees the bookkeeping");
        let err = try_psql_session(
            &url,
            &[&format!("SET ROLE {role}"), "INSERT INTO public.__diesel_schema_migrations (version) VALUES ('1')"],
        )
        .unwrap_err();
        assert!(err.contains("row-level security"), "{role}: {err}");
        let deleted = try_psql_session(
            &url,
            &[
                &format!("SET ROLE {role}"),
                "WITH d AS (DELETE FROM public.__diesel_schema_migrations RETURNING 1) SELECT count(*) FROM d",
            ],
        );
        assert_eq!(deleted.as_deref(), Ok("0"), "{role}");
        assert_eq!(psql(&url, "SELECT count(*) FROM public.__diesel_schema_migrations"), "1", "{role} deleted");
    }
    assert_eq!(psql(&url, "SELECT string_agg(version, ',') FROM public.__diesel_schema_migrations"), "20250101000000");
}

#[test]
fn a_misspelt_metadata_key_is_refused() {
    let db = Db::new("metadata_typo");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.write("migrations/20250101000000_create_a/metadata.toml", "run_in_transactoin = false\n");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "bad_metadata");
    // It names the key it does not know and the one it expected.
    let message = r.json()["error"].to_string();
    assert!(message.contains("run_in_transactoin") && message.contains("run_in_transaction"), "{message}");
    assert!(db.applied().is_empty());
    assert!(!db.table_exists("a"));
}

#[test]
fn an_up_sql_with_a_byte_order_mark_applies() {
    let db = Db::new("bom");
    let p = Project::new(&db);
    p.migration("20250101000000_bom", "\u{feff}CREATE TABLE bom (id int);\n", Some("DROP TABLE bom;"));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("bom"));
}

#[test]
fn rollback_to_savepoint_is_allowed_in_a_transactional_migration() {
    let db = Db::new("savepoint");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_savepoint",
        "SAVEPOINT s;\nCREATE TABLE a (id int);\nROLLBACK TO SAVEPOINT s;\nCREATE TABLE b (id int);\n",
        Some("DROP TABLE b;"),
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("public.a") && db.table_exists("public.b"));
}

#[test]
fn a_non_transactional_migration_left_in_a_transaction_is_not_recorded() {
    let db = Db::new("open_begin");
    let p = Project::new(&db);
    let folder = "20250101000000_open";
    p.migration(folder, "CREATE TABLE x1 (id int);\nBEGIN;\nCREATE TABLE x2 (id int);\n", Some("DROP TABLE x1;"));
    no_tx(&p, folder);
    p.cargo_migrate_json(&["up"]).fails_with(1, "open_transaction");
    assert!(db.applied().is_empty());
    assert!(db.table_exists("public.x1"), "the statement before BEGIN ran");
    assert!(!db.table_exists("public.x2"));
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["state"], "partly_applied", "{j}");
    assert_eq!(j["migrations"][0]["statements_done"], 1, "{j}");
}

#[test]
fn an_interrupted_non_transactional_migration_is_partly_applied_then_resumed() {
    let db = Db::new("interrupted");
    let p = Project::new(&db);
    let folder = "20250101000000_slow";
    p.migration(
        folder,
        "CREATE TABLE s1 (id int);\nSELECT pg_sleep(3);\nCREATE TABLE s2 (id int);\n",
        Some("DROP TABLE s2; DROP TABLE s1;"),
    );
    no_tx(&p, folder);
    let mut child = spawn_direct(&p, &["up"]);
    wait_for_query(&db, "pg_sleep(3)", Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    // The server finishes the statement it was sent, holding the lock until
    // then: `status` calls it running while it does, partly applied after.
    let deadline = Instant::now() + Duration::from_secs(60);
    let j = loop {
        let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
        if j["migrations"][0]["state"] != "running" || Instant::now() > deadline {
            break j;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(j["migrations"][0]["state"], "partly_applied", "{j}");
    assert!(j["migrations"][0]["statements_done"].as_i64().unwrap() >= 1, "{j}");
    p.cargo_migrate_json(&["up"]).fails_with(1, "partly_applied");
    assert!(db.applied().is_empty());
    p.cargo_migrate(&["up", "--resume"]).ok();
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("public.s1") && db.table_exists("public.s2"));
}

fn supabase_history(db: &Db) -> String {
    db.query("SELECT version || ':' || coalesce(name, '') FROM supabase_migrations.schema_migrations ORDER BY version")
}

#[test]
fn supabase_folder_is_used_as_it_is_with_supabase_history() {
    let db = Db::new("supabase_layout");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_create_notes.sql", "create table notes (id bigint primary key);\n");
    // A file that manages its own transaction, as Supabase's examples do, and
    // a SET that must not leak into the next file.
    p.write(
        "supabase/migrations/20240102000000_add_title.sql",
        "begin;\nalter table notes add column title text;\ncommit;\nset search_path = nowhere;\n",
    );
    p.write("supabase/migrations/20240103000000_add_body.sql", "alter table notes add column body text;\n");
    p.write("supabase/seed.sql", "insert into notes (id) values (1);\n");
    let r = p.cargo_migrate_json(&["up"]).ok();
    assert_eq!(r.steps().len(), 3, "{}", r.stdout);
    assert_eq!(
        db.query("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'notes'::regclass AND attnum > 0"),
        "id,title,body"
    );
    // Supabase's table is the history (what `supabase migration list` reads), with the statements.
    assert_eq!(supabase_history(&db), "20240101000000:create_notes\n20240102000000:add_title\n20240103000000:add_body");
    assert_eq!(
        db.query("SELECT array_length(statements, 1) FROM supabase_migrations.schema_migrations WHERE version = '20240103000000'"),
        "1"
    );
    assert!(!db.table_exists("public.__diesel_schema_migrations"), "no diesel table in a Supabase project");

    // status reads the same table and says the files cannot be reverted.
    let json = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    let rows = json["migrations"].as_array().unwrap();
    assert!(rows.iter().all(|m| m["state"] == "applied" && m["up_only"] == true), "{json}");

    // A version recorded by the Supabase CLI itself counts as applied.
    p.write("supabase/migrations/20240104000000_from_cli.sql", "create table from_cli ();\n");
    db.query("INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ('20240104000000', 'from_cli')");
    p.cargo_migrate(&["up"]).ok();
    assert!(!db.table_exists("from_cli"), "a version the CLI applied is not run again");

    // down refuses, naming every up-only file at once, and changes nothing.
    let r = p.cargo_migrate_json(&["down", "--all", "--yes"]).fails_with(1, "up_only");
    let error = r.json()["error"].to_string();
    for f in ["20240101000000_create_notes.sql", "20240102000000_add_title.sql", "20240103000000_add_body.sql"] {
        assert!(error.contains(f), "{f}: {error}");
    }
    assert_eq!(supabase_history(&db).lines().count(), 4);

    // verify proves what can be proved of an up-only file: that it applies.
    p.write("supabase/migrations/20240105000000_more.sql", "create table more_t (id int);\n");
    p.write("supabase/migrations/20240106000000_broken.sql", "create table broken_t (id int references nowhere);\n");
    let json = p.cargo_migrate(&["verify", "--scratch-url", &db.url, "--format", "json"]).fails(1).json();
    assert_eq!(json["migrations"][0]["state"], "up_only", "{json}");
    assert_eq!(json["migrations"][1]["state"], "failing", "{json}");
}

#[test]
fn dbmate_and_node_pg_migrate_files_run_both_ways() {
    let db = Db::new("single_files");
    let p = Project::new(&db);
    p.write(
        "migrations/20240101000000_dbmate_style.sql",
        "-- migrate:up\ncreate table a (id int);\n\n-- migrate:down\ndrop table a;\n",
    );
    p.write(
        "migrations/20240102000000_concurrent_index.sql",
        "-- migrate:up transaction:false\ncreate index concurrently a_id on a (id);\n\n-- migrate:down\ndrop index a_id;\n",
    );
    p.write(
        "migrations/1704240000000_node_style.sql",
        "-- Up Migration\nCREATE TABLE b (id int);\n\n-- Down Migration\nDROP TABLE b;\n",
    );
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("a") && db.table_exists("b") && db.table_exists("a_id"));
    assert_eq!(db.applied().len(), 3);
    // The down section of the file was kept with the history.
    assert_eq!(
        db.query(
            "SELECT down_sql LIKE '%drop table a;%' FROM cargo_migrate.migrations WHERE version = '20240101000000'"
        ),
        "t"
    );
    p.cargo_migrate(&["down", "--all", "--yes"]).ok();
    assert!(!db.table_exists("a") && !db.table_exists("b"));
    assert!(db.applied().is_empty());
    // An error inside a section names the file's own line.
    p.write(
        "migrations/20240103000000_broken.sql",
        "-- migrate:up\n-- comment\n\nselect 1;\nselect nonsense_column from nowhere;\n-- migrate:down\nselect 1;\n",
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20240103000000_broken.sql:5"), "{}", r.stdout);
}

/// What real Supabase projects do that the Supabase CLI accepts (seen in the
/// trial of public projects): a comments-only file, an index built
/// concurrently in a file of its own, a role set inside the file's own
/// transaction block.
#[test]
fn supabase_files_as_real_projects_write_them() {
    let db = Db::new("supabase_real_files");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_table.sql", "create table t (id int);\n");
    p.write(
        "supabase/migrations/20240101000001_note.sql",
        "-- create index concurrently on t (id);\n-- (kept as a note)\n",
    );
    p.write("supabase/migrations/20240101000002_index.sql", "create index concurrently t_id on t (id);\n");
    p.write(
        "supabase/migrations/20240101000003_role_in_block.sql",
        "insert into t values (1);\n\nbegin;\n  select set_config('role', 'authenticated', true);\n  select 1;\nend;\n",
    );
    db.query("DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;");
    let r = p.cargo_migrate_json(&["up"]).ok();
    assert_eq!(r.steps().len(), 4, "{}", r.stdout);
    assert_eq!(db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass"), "t");
    assert_eq!(db.query("SELECT count(*) FROM t"), "1");
    assert_eq!(db.query("SELECT count(*) FROM supabase_migrations.schema_migrations"), "4");
    // Our own template, left unwritten, is still refused.
    p.cargo_migrate(&["create", "forgotten"]).ok();
    p.cargo_migrate_json(&["up"]).fails_with(1, "empty_up");
}

/// A dbmate file whose SQL is outside every section (no up marker, or SQL
/// above it) is refused: it used to be recorded as applied with nothing run.
#[test]
fn single_file_with_sql_outside_its_sections_is_refused() {
    let db = Db::new("stray_sql");
    let p = Project::new(&db);
    p.write("migrations/20240101000000_a.sql", "create table a (id int);\n-- migrate:down\ndrop table a;\n");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    assert!(r.message().contains("20240101000000_a.sql"), "{}", r.stdout);
    assert!(db.applied().is_empty(), "recorded: {}", r.stdout);
    p.write(
        "migrations/20240101000000_a.sql",
        "-- the type first\ncreate type s as enum ('x');\n-- migrate:up\ncreate table a (s s);\n-- migrate:down\ndrop table a;\n",
    );
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "bad_migrations_folder");
    assert!(r.message().contains("20240101000000_a.sql: line 2"), "{}", r.stdout);
    assert!(db.applied().is_empty(), "recorded: {}", r.stdout);
}

#[test]
fn a_commit_whose_reply_was_lost_is_reported_as_applied() {
    let db = Db::new("lost_commit");
    let port = cutting_proxy(b"cut-the-wire-here");
    let mut p = Project::bare("app");
    let url = format!("postgres://postgres@127.0.0.1:{port}/{}?sslmode=disable", db.name());
    p.env = vec![("DATABASE_URL".into(), url)];
    p.table_migration("20250101000000", "first");
    p.migration("20250102000000_cut", "-- cut-the-wire-here\nCREATE TABLE cut (id int);\n", Some("DROP TABLE cut;"));
    // Outside a transaction, so sent after the text of the first two (which share one round trip).
    p.table_migration("20250103000000", "third");
    p.write("migrations/20250103000000_create_third/metadata.toml", "run_in_transaction = false\n");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "connection_lost");
    let j = r.json();
    let done: Vec<&str> =
        j["error"]["done_before"].as_array().unwrap().iter().map(|d| d["version"].as_str().unwrap()).collect();
    assert_eq!(done, ["20250101000000", "20250102000000"], "{}", r.stdout);
    // The database agrees: committed, and the third was never started.
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert!(db.table_exists("cut") && !db.table_exists("third"));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied().len(), 3);
}

#[test]
fn an_applied_migration_edited_afterwards_is_reported_and_stops_up() {
    let db = Db::new("checksums");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    // A Windows checkout (CRLF, a BOM) is not an edit.
    p.write("migrations/20250101000000_create_a/up.sql", "\u{feff}CREATE TABLE a (id bigint PRIMARY KEY);\r\n");
    p.cargo_migrate(&["status", "--exit-code"]).ok();
    // A real edit is.
    p.write("migrations/20250101000000_create_a/up.sql", "CREATE TABLE a (id bigint PRIMARY KEY, name text);\n");
    p.table_migration("20250102000000", "b");
    p.cargo_migrate(&["status", "--exit-code"]).fails(3);
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.json()["migrations"][0]["modified"], true);
    assert_eq!(r.anomalies(), ["modified"]);
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "modified");
    // The way out is named: the command that records the edit.
    let hint = r.json()["error"]["hint"].as_str().unwrap_or_default().to_string();
    assert!(hint.contains("cargo migrate repair 20250101000000"), "{}", r.stdout);
    assert!(!db.table_exists("b"), "nothing ran");
    p.cargo_migrate(&["up", "--allow-modified"]).ok();
    assert!(db.table_exists("b"));
    // A deliberate edit is recorded, and then nothing is odd any more.
    p.cargo_migrate(&["repair", "20250101000000"]).ok();
    p.cargo_migrate(&["status", "--exit-code"]).ok();
    p.cargo_migrate_json(&["repair", "20250109000000"]).fails_with(2, "not_applied");
}

#[test]
fn dry_run_prints_exactly_what_would_run_and_changes_nothing() {
    let db = Db::new("dry_run");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.migration("20250102000000_index_a", "CREATE INDEX CONCURRENTLY a_id ON a (id);\n", Some("DROP INDEX a_id;\n"));
    p.write("migrations/20250102000000_index_a/metadata.toml", "run_in_transaction = false\n");
    let r = p.cargo_migrate(&["up", "--dry-run"]).ok();
    let out = &r.stdout;
    let order = [
        "dry run: nothing was changed",
        "CREATE TABLE IF NOT EXISTS",
        "-- apply 20250101000000_create_a",
        "BEGIN;\nCREATE TABLE a (id bigint PRIMARY KEY);",
        "RESET ALL;",
        "INSERT INTO cargo_migrate.migrations",
        "__diesel_schema_migrations (version) VALUES (E'20250101000000');\nCOMMIT;",
        "-- apply 20250102000000_index_a",
        "INSERT INTO cargo_migrate.partial",
        "CREATE INDEX CONCURRENTLY a_id ON a (id);\nUPDATE cargo_migrate.partial SET statements_done = 1",
        "DELETE FROM cargo_migrate.partial",
    ];
    let mut at = 0;
    for needle in order {
        let found = out[at..].find(needle).unwrap_or_else(|| panic!("{needle:?} after byte {at} in:\n{out}"));
        at += found + needle.len();
    }
    assert!(!db.table_exists("a") && !db.table_exists("public.__diesel_schema_migrations"), "nothing changed");
    assert_eq!(db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'cargo_migrate'"), "0");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate(&["down", "--all", "--dry-run", "--format", "json"]).ok().json();
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["steps"][0]["version"], "20250102000000");
    assert_eq!(j["steps"][0]["action"], "reverted");
    assert!(j["steps"][1]["sql"][0].as_str().unwrap().contains("DROP TABLE a;"), "{j}");
    assert_eq!(db.applied().len(), 2, "nothing reverted");
    let j = p.cargo_migrate_json(&["up", "--dry-run"]).ok().json();
    assert_eq!(j["steps"].as_array().map(Vec::len), Some(0), "{j}");
}

#[test]
fn up_backup_dumps_first_into_a_private_file_or_runs_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let db = Db::new("backup");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "before");
    p.cargo_migrate(&["up"]).ok();
    db.query("INSERT INTO before VALUES (42)");
    p.table_migration("20250102000000", "after");
    let j = p.cargo_migrate(&["up", "--backup", "--format", "json"]).ok().json();
    let path = std::path::PathBuf::from(j["backup"].as_str().expect("a backup path"));
    assert!(path.starts_with(p.root.join("target/cargo-migrate/backups")), "{}", path.display());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // It holds the database as it was before the run.
    let list = std::process::Command::new(cluster().bin.join("pg_restore")).arg("--list").arg(&path).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("TABLE public before") && !list.contains("TABLE public after"), "{list}");
    assert!(db.table_exists("after"));
    // A backup that cannot be made stops the run before anything is applied.
    p.table_migration("20250103000000", "third");
    p.cargo_migrate_json(&["up", "--backup", "--backup-dir", "migrations/dumps"]).fails_with(2, "backup");
    p.write("not-a-folder", "");
    p.cargo_migrate_json(&["up", "--backup", "--backup-dir", "not-a-folder"]).fails_with(1, "io");
    assert!(!db.table_exists("third"));
}

#[test]
fn status_up_down_human_and_json() {
    let db = Db::new("snapshots");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "meetings");
    p.table_migration("20250102000000", "participants");
    p.migration(
        "20250103000000_index_meetings",
        "CREATE INDEX meetings_id ON meetings (id);\n",
        Some("DROP INDEX meetings_id;\n"),
    );
    let db_name = [(db.name(), "[DB]")];
    let human = |r: Run| p.redact(&r.all(), &db_name);
    let json =
        |r: Run| format!("{}\n--- stderr\n{}", p.redact_json(&r.json(), &db_name), p.redact(&r.stderr, &db_name));

    assert_snapshot!("status_human_all_pending", human(p.cargo_migrate(&["status"]).ok()));
    assert_snapshot!("up_human", human(p.cargo_migrate(&["up", "--count", "2"]).ok()));
    assert_snapshot!("status_human", human(p.cargo_migrate(&["status"]).ok()));
    assert_snapshot!("status_json", json(p.cargo_migrate(&["status", "--format", "json"]).ok()));
    assert_snapshot!("down_human", human(p.cargo_migrate(&["down"]).ok()));
    assert_snapshot!("up_json", json(p.cargo_migrate(&["up", "--format", "json"]).ok()));
    assert_snapshot!("down_json", json(p.cargo_migrate(&["down", "--count", "2", "--format", "json"]).ok()));
    assert_snapshot!("up_nothing_to_do_human", human(p.cargo_migrate(&["up", "--to", "20250101000000"]).ok()));
    p.cargo_migrate(&["up"]).ok();
    assert_snapshot!("redo_human", human(p.cargo_migrate(&["redo"]).ok()));
    assert_snapshot!("redo_json", json(p.cargo_migrate(&["redo", "--format", "json"]).ok()));
}

#[test]
fn a_failure_and_notices_human_and_json() {
    let db = Db::new("snapshots_failure");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_noisy",
        "DO $$ BEGIN RAISE NOTICE 'one notice'; RAISE WARNING 'one warning'; END $$;\n",
        Some("SELECT 1;\n"),
    );
    p.migration(
        "20250102000000_broken",
        "CREATE TABLE ok (id int);\nCREATE TABLE bad (id nosuchtype);\n",
        Some("SELECT 1;\n"),
    );
    let db_name = [(db.name(), "[DB]")];
    assert_snapshot!("up_failure_human", p.redact(&p.cargo_migrate(&["up"]).fails(1).all(), &db_name));
    p.cargo_migrate(&["down", "--all"]).ok();
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_snapshot!(
        "up_failure_json",
        format!("{}\n--- stderr\n{}", p.redact_json(&r.json(), &db_name), p.redact(&r.stderr, &db_name))
    );
}

#[test]
fn a_migration_merged_late_is_refused_by_up_until_allowed() {
    let db = Db::new("status_ooo");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.table_migration("20250103000000", "c");
    p.cargo_migrate(&["up"]).ok();
    // A teammate's older migration arrives with `git pull`.
    p.table_migration("20250102000000", "b");
    assert_eq!(p.cargo_migrate_json(&["status"]).ok().anomalies(), ["out_of_order"]);
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "out_of_order");
    assert!(r.hint().contains("--allow-out-of-order"), "{}", r.stdout);
    assert!(!db.table_exists("b"));
    p.cargo_migrate(&["up", "--allow-out-of-order"]).ok();
    assert!(db.table_exists("b"));
    p.cargo_migrate(&["status", "--exit-code"]).ok();
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

#[test]
fn up_applies_everything_in_order_and_then_has_nothing_to_do() {
    let db = Db::new("up_all");
    let p = Project::new(&db);
    three(&p);
    let r = p.cargo_migrate_json(&["up"]).ok();
    assert_eq!(db.applied(), ["20250615051828", "20250615053210", "20250619185326"]);
    for t in ["meetings", "participants", "knowledge"] {
        assert!(db.table_exists(t), "{t}");
    }
    assert_eq!(
        r.steps(),
        [
            "applied 20250615051828_create_meetings",
            "applied 20250615053210_create_participants",
            "applied 20250619185326_create_knowledge"
        ]
    );
    // Companion facts: one batch, checksums.
    assert_eq!(
        db.query(
            "SELECT count(*), count(DISTINCT batch), bool_and(length(checksum) = 16) FROM cargo_migrate.migrations"
        ),
        "3|1|t"
    );

    let r = p.cargo_migrate_json(&["up"]).ok();
    assert!(r.steps().is_empty(), "{}", r.stdout);
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "3");
}

#[test]
fn up_with_count_and_to() {
    let db = Db::new("up_count_to");
    let p = Project::new(&db);
    three(&p);
    p.cargo_migrate(&["up", "--count", "1"]).ok();
    assert_eq!(db.applied(), ["20250615051828"]);
    p.cargo_migrate(&["up", "--to", "20250615053210"]).ok();
    assert_eq!(db.applied(), ["20250615051828", "20250615053210"]);
    p.cargo_migrate_json(&["up", "--to", "20990101000000"]).fails_with(2, "unknown_version");
    assert_eq!(db.applied().len(), 2);
}

#[test]
fn run_in_transaction_false_runs_concurrent_indexes_one_by_one() {
    let db = Db::new("concurrently");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.migration(
        "20250102000000_index_items",
        "-- two statements that cannot run in a transaction block\n\
         CREATE INDEX CONCURRENTLY items_id_a ON items (id);\n\
         CREATE INDEX CONCURRENTLY items_id_b ON items ((id + 1));\n",
        Some("DROP INDEX CONCURRENTLY items_id_a;\nDROP INDEX CONCURRENTLY items_id_b;\n"),
    );
    p.write("migrations/20250102000000_index_items/metadata.toml", "run_in_transaction = false\n");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'items_id_%' AND i.indisvalid"), "2");
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM pg_class WHERE relname LIKE 'items_id_%'"), "0");

    // Without metadata.toml the same file fails, and nothing of it stays.
    std::fs::remove_file(p.root.join("migrations/20250102000000_index_items/metadata.toml")).unwrap();
    p.cargo_migrate_json(&["up"]).fails_with(1, "lint_failed");
    let r = p.cargo_migrate_json(&["up", "--no-lint"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("20250102000000_index_items/up.sql:2"), "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
}

#[test]
fn single_transaction_is_all_or_nothing() {
    let db = Db::new("single_tx");
    let p = Project::new(&db);
    three(&p);
    p.migration(
        "20250620000000_broken",
        "CREATE TABLE fine (id int);\nSELECT nosuchcol FROM fine;\n",
        Some("DROP TABLE fine;"),
    );
    let r = p.cargo_migrate_json(&["up", "--single-transaction"]).fails_with(1, "migration_failed");
    assert!(r.location().ends_with("20250620000000_broken/up.sql:2:8"), "{}", r.stdout);
    assert!(db.applied().is_empty() && !db.table_exists("meetings"), "nothing of the run stays");

    std::fs::remove_dir_all(p.root.join("migrations/20250620000000_broken")).unwrap();
    p.cargo_migrate(&["up", "--single-transaction"]).ok();
    assert_eq!(db.applied().len(), 3);
    assert_eq!(db.query("SELECT count(*), count(DISTINCT batch) FROM cargo_migrate.migrations"), "3|1");
    p.cargo_migrate(&["down", "--all", "--single-transaction"]).ok();
    assert!(db.applied().is_empty() && !db.table_exists("meetings"));
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "0");
}

#[test]
fn single_transaction_refuses_migrations_that_opt_out_of_transactions() {
    let db = Db::new("single_tx_notx");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "items");
    p.migration("20250102000000_idx", "CREATE INDEX CONCURRENTLY i ON items (id);", Some("DROP INDEX i;"));
    p.write("migrations/20250102000000_idx/metadata.toml", "run_in_transaction = false\n");
    p.cargo_migrate_json(&["up", "--single-transaction"]).fails_with(2, "not_transactional");
    assert!(db.applied().is_empty());
}
