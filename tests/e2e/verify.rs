use crate::harness::*;

/// Tests whose scratch databases are on the harness's server: one at a time,
/// so a test that counts what is left there counts only its own.
static SCRATCH_ON_HARNESS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `verify --scratch-url` on another server runs the roles file there before
/// the migrations, as the local database does.
#[test]
fn verify_on_another_server_runs_the_roles_file_first() {
    let _one = SCRATCH_ON_HARNESS.lock().unwrap_or_else(|e| e.into_inner());
    let db = Db::new("verify_roles");
    let p = Project::new(&db);
    let role = format!("verify_owners_{}", run_id());
    p.migration(
        "20240101000000_reports",
        &format!("CREATE TABLE reports (id int);\nALTER TABLE reports OWNER TO {role};\n"),
        Some("DROP TABLE reports;\n"),
    );
    let j = p.cargo_migrate(&["verify", "--scratch-url", &db.url, "--format", "json"]).fails(1).json();
    assert_eq!(j["migrations"][0]["state"], "failing", "{j}");
    p.write(
        "supabase/roles.sql",
        &format!("DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n"),
    );
    let j = p.cargo_migrate(&["verify", "--scratch-url", &db.url, "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["state"], "reversible", "{j}");
    // A roles file that fails stops verify before any migration runs.
    p.write("supabase/roles.sql", "CREATE ROLE;\n");
    let r = p.cargo_migrate(&["verify", "--scratch-url", &db.url, "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "roles_file", "{}", r.stdout);
}

#[test]
fn verify_proves_each_pending_migration_reversible_on_scratch_databases() {
    let p = Project::bare("app");
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_notes",
        "CREATE TABLE notes (id int PRIMARY KEY, owner uuid);\nCREATE INDEX notes_owner ON notes (owner);\n\
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nALTER PUBLICATION supabase_realtime ADD TABLE notes;\n",
        // Forgets nothing: the table takes its index, policy and publication membership with it.
        Some("DROP TABLE notes;\n"),
    );
    p.migration(
        "20250103000000_leaky",
        "ALTER TABLE first ADD COLUMN tag text;\nCREATE INDEX first_tag ON first (tag);\n\
         CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql AS $$ SELECT upper(t) $$;\n",
        Some("DROP INDEX first_tag;\n"),
    );
    p.table_migration("20250104000000", "last");
    p.cargo_migrate(&["up", "--count", "1"]).ok();
    let r = p.cargo_migrate(&["verify", "--format", "json"]).fails(1);
    let j = r.json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["reversible", "not_reversible", "reversible"], "{}", r.stdout);
    let details = j["migrations"][1]["details"].to_string();
    assert!(details.contains("left behind: column public.first.tag text"), "{details}");
    assert!(details.contains("left behind: function public.shout(text)"), "{details}");
    // The target was only read: the three are still pending there.
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["summary"]["pending"], 3);
    // Fixed, it passes; and the scratch databases are gone.
    p.write(
        "migrations/20250103000000_leaky/down.sql",
        "DROP FUNCTION shout(text);\nDROP INDEX first_tag;\nALTER TABLE first DROP COLUMN tag;\n",
    );
    let j = p.cargo_migrate_json(&["verify"]).ok().json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["reversible"; 3], "{j}");
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    assert_eq!(psql(&url, "SELECT count(*) FROM pg_database WHERE datname LIKE 'cargo_migrate_verify_%'"), "0");
    // A migration that fails is reported as up reports it, and the later ones are not tried.
    p.migration("20250105000000_broken", "CREATE TABLE broken (id nosuchtype);\n", Some("DROP TABLE broken;\n"));
    p.table_migration("20250106000000", "after_broken");
    let j = p.cargo_migrate_json(&["verify", "--all"]).fails(1).json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states[4..], ["failing", "not_tried"], "{j}");
}

/// Verified in place, each migration in one transaction between savepoints;
/// one that runs outside a transaction goes the old way (a database copy), and
/// the trial goes on after it from the state it left. A down that fails, or an
/// up that cannot run again after its down, does not stop the next ones.
#[test]
fn verify_all_goes_on_after_a_migration_outside_a_transaction_and_a_failing_down() {
    let _one = SCRATCH_ON_HARNESS.lock().unwrap_or_else(|e| e.into_inner());
    let db = Db::new("verify_in_place");
    let p = Project::new(&db);
    let role = format!("verify_role_{}", run_id());
    p.table_migration("20250101000000", "first");
    p.migration(
        "20250102000000_concurrently",
        "CREATE INDEX CONCURRENTLY first_id_idx ON first (id);\n",
        Some("DROP INDEX CONCURRENTLY first_id_idx;\n"),
    );
    p.write("migrations/20250102000000_concurrently/metadata.toml", "run_in_transaction = false\n");
    p.migration(
        "20250103000000_bad_down",
        "CREATE TABLE second (id int REFERENCES first (id));\n",
        Some("DROP TABLE nosuchtable;\n"),
    );
    // A role is the cluster's, not the schema's: the snapshots agree, but up cannot run twice.
    p.migration("20250104000000_role", &format!("CREATE ROLE {role};\n"), Some("SELECT 1;\n"));
    p.migration(
        "20250105000000_uses_both",
        "ALTER TABLE second ADD COLUMN note text;\n",
        Some("ALTER TABLE second DROP COLUMN note;\n"),
    );
    let j = p.cargo_migrate_json(&["verify", "--all", "--no-lint", "--scratch-url", &db.url]).fails(1).json();
    let _ = try_psql(&db.url, &format!("DROP ROLE IF EXISTS {role}"));
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["reversible", "reversible", "failing", "failing", "reversible"], "{j}");
    assert_eq!(j["migrations"][2]["details"][0], "down failed", "{j}");
    assert_eq!(j["migrations"][3]["details"][0], "up after down failed", "{j}");
    // The scratch databases are gone, and the target was not touched.
    assert_eq!(db.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'cargo_migrate_verify_%'"), "0");
    assert!(db.applied().is_empty() && !db.table_exists("public.first"));
}

/// The trial plans its catalog reads again once the catalog has doubled
/// since they were planned (a plan made for a small catalog scans it whole):
/// the reads after that still see what each down forgets, and the debug
/// build's whole read after every migration agrees with the tracked one.
#[test]
fn verify_all_reads_rightly_after_planning_its_reads_again() {
    let _one = SCRATCH_ON_HARNESS.lock().unwrap_or_else(|e| e.into_inner());
    let db = Db::new("verify_replan");
    let p = Project::new(&db);
    let each = |what: &str| format!("DO $$ BEGIN FOR i IN 1..60 LOOP EXECUTE format({what}, i); END LOOP; END $$;\n");
    p.migration(
        "20250101000000_many",
        &each("'CREATE TABLE many_%s (id int PRIMARY KEY)'"),
        Some(&each("'DROP TABLE many_%s'")),
    );
    p.migration("20250102000000_index", "CREATE INDEX many_1_id ON many_1 (id);\n", Some("SELECT 1;\n"));
    p.migration(
        "20250103000000_column",
        "ALTER TABLE many_2 ADD COLUMN note text;\n",
        Some("ALTER TABLE many_2 DROP COLUMN note;\n"),
    );
    let j = p.cargo_migrate_json(&["verify", "--all", "--no-lint", "--scratch-url", &db.url]).fails(1).json();
    let states: Vec<&str> = j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["reversible", "not_reversible", "reversible"], "{j}");
}

/// `verify --all` reads the schema whole once, then only what each
/// migration's transaction changed: every class of object a down can forget
/// (or a rename can change the text of) is still caught. The test binary is a
/// debug build, which also compares the tracked schema with a whole read
/// after every migration and fails the run (`internal`) when they differ.
#[test]
fn verify_all_catches_each_class_a_down_forgets_while_reading_only_what_changed() {
    let _one = SCRATCH_ON_HARNESS.lock().unwrap_or_else(|e| e.into_inner());
    let db = Db::new("verify_classes");
    let p = Project::new(&db);
    // (name, up, down, a line of the details; None: reversible)
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "base",
            "CREATE TYPE mood AS ENUM ('calm', 'busy');\n\
             CREATE DOMAIN pos AS int CONSTRAINT pos_check CHECK (VALUE > 0);\n\
             CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n\
             CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';\n\
             CREATE TABLE base (id int PRIMARY KEY, body text, n int, k int DEFAULT f(), m mood, p pos);\n\
             CREATE TABLE other (id int);\n\
             CREATE VIEW base_v AS SELECT id, body FROM base;\n\
             CREATE SEQUENCE s;\n\
             CREATE SCHEMA extra;\nCREATE TABLE extra.t (id int);\n",
            "DROP SCHEMA extra CASCADE;\nDROP SEQUENCE s;\nDROP VIEW base_v;\nDROP TABLE other;\nDROP TABLE base;\n\
             DROP FUNCTION trg();\nDROP FUNCTION f();\nDROP DOMAIN pos;\nDROP TYPE mood;\n",
            None,
        ),
        ("index", "CREATE INDEX base_body ON base (body);\n", "SELECT 1;\n", Some("left behind: index CREATE INDEX base_body")),
        ("policy", "CREATE POLICY p1 ON base USING (true);\n", "SELECT 1;\n", Some("left behind: policy p1 on public.base")),
        ("grant", "GRANT SELECT ON base TO PUBLIC;\n", "SELECT 1;\n", Some("left behind: grant SELECT on table public.base to PUBLIC")),
        (
            "column_grant",
            "GRANT UPDATE (body) ON base TO PUBLIC;\n",
            "SELECT 1;\n",
            Some("left behind: grant UPDATE on column public.base.body to PUBLIC"),
        ),
        ("default", "ALTER TABLE base ALTER COLUMN n SET DEFAULT 7;\n", "SELECT 1;\n", Some("left behind: column public.base.n integer default 7")),
        ("function", "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1';\n", "SELECT 1;\n", Some("left behind: function public.g()")),
        (
            "function_body",
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2';\n",
            "SELECT 1;\n",
            Some("lost: function public.f()"),
        ),
        ("comment", "COMMENT ON TABLE base IS 'the base';\n", "SELECT 1;\n", Some("left behind: comment on table public.base: the base")),
        (
            "trigger",
            "CREATE TRIGGER base_trg BEFORE INSERT ON base FOR EACH ROW EXECUTE FUNCTION trg();\n",
            "SELECT 1;\n",
            Some("left behind: trigger CREATE TRIGGER base_trg"),
        ),
        ("check", "ALTER TABLE base ADD CONSTRAINT n_pos CHECK (n > 0);\n", "SELECT 1;\n", Some("left behind: constraint n_pos on public.base")),
        ("domain_check", "ALTER DOMAIN pos DROP CONSTRAINT pos_check;\n", "SELECT 1;\n", Some("lost: type public.pos domain over integer constraint")),
        ("enum_value", "ALTER TYPE mood ADD VALUE 'idle';\n", "SELECT 1;\n", Some("left behind: type public.mood enum (calm, busy, idle)")),
        ("owned_by", "ALTER SEQUENCE s OWNED BY base.n;\n", "SELECT 1;\n", Some("left behind: sequence public.s owned by public.base.n")),
        ("rename_table", "ALTER TABLE other RENAME TO other2;\n", "SELECT 1;\n", Some("lost: table public.other owner")),
        (
            "rename_column_back",
            "ALTER TABLE base RENAME COLUMN body TO text_body;\n",
            "ALTER TABLE base RENAME COLUMN text_body TO body;\n",
            None,
        ),
        ("rename_schema", "ALTER SCHEMA extra RENAME TO extra2;\n", "SELECT 1;\n", Some("lost: table extra.t owner")),
        (
            "default_privileges",
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;\n",
            "SELECT 1;\n",
            Some("left behind: default privilege for"),
        ),
        ("drop_index", "DROP INDEX base_body;\n", "SELECT 1;\n", Some("lost: index CREATE INDEX base_body")),
        (
            "reversible_table",
            "CREATE TABLE z (id int REFERENCES base (id));\nCREATE INDEX z_id ON z (id);\nGRANT SELECT ON z TO PUBLIC;\n\
             COMMENT ON COLUMN z.id IS 'the id';\n",
            "DROP TABLE z;\n",
            None,
        ),
        (
            "view",
            "CREATE OR REPLACE VIEW base_v AS SELECT id, text_body AS body, 1 AS one FROM base;\n",
            "SELECT 1;\n",
            Some("left behind: view public.base_v owner"),
        ),
        ("rename_type_back", "ALTER TYPE mood RENAME TO feeling;\n", "ALTER TYPE feeling RENAME TO mood;\n", None),
        // A function renamed: the column default that calls it reads otherwise.
        ("rename_function", "ALTER FUNCTION f() RENAME TO f2;\n", "SELECT 1;\n", Some("left behind: column public.base.k integer default public.f2()")),
        ("drop_policy", "DROP POLICY p1 ON base;\n", "SELECT 1;\n", Some("lost: policy p1 on public.base")),
        // The trial keeps its catalog queries prepared: a migration that
        // drops every prepared statement of its session must not break it.
        ("deallocate", "DEALLOCATE ALL;\nCREATE TABLE dz (id int);\n", "DEALLOCATE ALL;\nDROP TABLE dz;\n", None),
        ("after_deallocate", "CREATE INDEX base_n ON base (n);\n", "SELECT 1;\n", Some("left behind: index CREATE INDEX base_n")),
        // Objects a migration only made are read when a later one touches
        // them (from a second session, as they were committed).
        ("made", "CREATE TABLE made (id int);\n", "DROP TABLE made;\n", None),
        ("made_index", "CREATE INDEX made_id ON made (id);\n", "SELECT 1;\n", Some("left behind: index CREATE INDEX made_id")),
        ("made_view", "CREATE VIEW made_v AS SELECT id FROM made;\n", "DROP VIEW made_v;\n", None),
        ("made_column_back", "ALTER TABLE made ADD COLUMN x int;\n", "ALTER TABLE made DROP COLUMN x;\n", None),
        // The view (not read since it was made) names the renamed table.
        ("rename_made", "ALTER TABLE made RENAME TO made2;\n", "SELECT 1;\n", Some("left behind: view public.made_v")),
        // The parts read whole (publications, statistics, foreign objects,
        // schemas, event triggers) are read again only when what the
        // transaction wrote or renamed may have changed them: the debug
        // build's whole read after each of these says whether that held.
        // (A reversible one leaves what its up made: the trial goes on from there.)
        ("publication", "CREATE PUBLICATION pub FOR TABLE base;\n", "DROP PUBLICATION pub;\n", None),
        (
            "publication_member",
            "ALTER PUBLICATION pub ADD TABLE other2;\n",
            "SELECT 1;\n",
            Some("left behind: publication pub member public.other2"),
        ),
        ("rename_published", "ALTER TABLE other2 RENAME TO other3;\n", "ALTER TABLE other3 RENAME TO other2;\n", None),
        ("statistics", "CREATE STATISTICS base_st ON id, n FROM base;\n", "SELECT 1;\n", Some("left behind: statistics public.base_st")),
        ("rename_counted", "ALTER TABLE base RENAME COLUMN n TO n2;\n", "ALTER TABLE base RENAME COLUMN n2 TO n;\n", None),
        (
            "foreign",
            "CREATE FOREIGN DATA WRAPPER w0;\nCREATE SERVER s0 FOREIGN DATA WRAPPER w0;\nCREATE FOREIGN TABLE ft (id int) SERVER s0;\n",
            "DROP FOREIGN TABLE ft;\nDROP SERVER s0;\nDROP FOREIGN DATA WRAPPER w0;\n",
            None,
        ),
        ("foreign_column", "ALTER FOREIGN TABLE ft ADD COLUMN x int;\n", "SELECT 1;\n", Some("left behind: FOREIGN TABLE public.ft")),
        ("schema_comment", "COMMENT ON SCHEMA extra2 IS 'more';\n", "SELECT 1;\n", Some("left behind: comment on schema extra2: more")),
        (
            "event_trigger",
            "CREATE FUNCTION noop_et() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';\n\
             CREATE EVENT TRIGGER noop_et ON ddl_command_start EXECUTE FUNCTION noop_et();\n",
            "DROP EVENT TRIGGER noop_et;\nDROP FUNCTION noop_et();\n",
            None,
        ),
        ("event_trigger_off", "ALTER EVENT TRIGGER noop_et DISABLE;\n", "SELECT 1;\n", Some("left behind: event trigger noop_et")),
        ("rename_et_function", "ALTER FUNCTION noop_et() RENAME TO noop_et2;\n", "ALTER FUNCTION noop_et2() RENAME TO noop_et;\n", None),
    ];
    for (i, (name, up, down, _)) in cases.iter().enumerate() {
        p.migration(&format!("2025010100{i:04}_{name}"), up, Some(down));
    }
    let j = p.cargo_migrate_json(&["verify", "--all", "--no-lint", "--scratch-url", &db.url]).fails(1).json();
    let migrations = j["migrations"].as_array().unwrap_or_else(|| panic!("{j}"));
    assert_eq!(migrations.len(), cases.len(), "{j}");
    for ((name, _, _, needle), m) in cases.iter().zip(migrations) {
        let details: Vec<&str> = m["details"].as_array().unwrap().iter().filter_map(|d| d.as_str()).collect();
        match needle {
            None => assert_eq!(m["state"], "reversible", "{name}: {m}"),
            Some(needle) => {
                assert_eq!(m["state"], "not_reversible", "{name}: {m}");
                assert!(details.iter().any(|d| d.starts_with(needle)), "{name}: no detail starts with {needle:?}: {m}");
            }
        }
    }
}

/// Up runs again after its down only when the compare of the schema may not
/// have seen all they did: rows of a table the database had, an object the
/// catalog leaves out (an aggregate, a collation, an operator). A migration
/// whose every change compared equal is not run again: a statement only its
/// session remembers (`PREPARE`) does not make it fail a second time.
#[test]
fn verify_all_runs_up_again_only_where_the_compare_cannot_see_all_it_did() {
    let _one = SCRATCH_ON_HARNESS.lock().unwrap_or_else(|e| e.into_inner());
    let db = Db::new("verify_up_again");
    let p = Project::new(&db);
    // (name, up, down, reversible)
    let cases: &[(&str, &str, &str, bool)] = &[
        ("kinds", "CREATE TABLE kinds (id int PRIMARY KEY);\n", "DROP TABLE kinds;\n", true),
        ("seed_row", "INSERT INTO kinds VALUES (1);\n", "SELECT 1;\n", false),
        ("seed_row_undone", "INSERT INTO kinds VALUES (2);\n", "DELETE FROM kinds WHERE id = 2;\n", true),
        ("aggregate", "CREATE AGGREGATE agg_sum(int) (sfunc = int4pl, stype = int);\n", "SELECT 1;\n", false),
        ("collation", "CREATE COLLATION plain (locale = 'C');\n", "SELECT 1;\n", false),
        ("operator", "CREATE OPERATOR === (leftarg = int, rightarg = int, function = int4eq);\n", "SELECT 1;\n", false),
        ("session_only", "PREPARE verify_once AS SELECT 1;\nCREATE TABLE once (id int);\n", "DROP TABLE once;\n", true),
    ];
    for (i, (name, up, down, _)) in cases.iter().enumerate() {
        p.migration(&format!("2025010100{i:04}_{name}"), up, Some(down));
    }
    let j = p.cargo_migrate_json(&["verify", "--all", "--no-lint", "--scratch-url", &db.url]).fails(1).json();
    let migrations = j["migrations"].as_array().unwrap_or_else(|| panic!("{j}"));
    assert_eq!(migrations.len(), cases.len(), "{j}");
    for ((name, _, _, reversible), m) in cases.iter().zip(migrations) {
        if *reversible {
            assert_eq!(m["state"], "reversible", "{name}: {m}");
        } else {
            assert_eq!(m["state"], "failing", "{name}: {m}");
            assert_eq!(m["details"][0], "up after down failed", "{name}: {m}");
        }
    }
    assert!(db.applied().is_empty(), "the target was only read");
}
