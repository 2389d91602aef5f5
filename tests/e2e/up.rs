//! `cargo migrate up`: what it refuses and what it reports, checked against
//! the catalog.

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
