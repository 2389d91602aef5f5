//! Projects that already exist: a Supabase `supabase/migrations` folder used
//! as it is, and dbmate / node-pg-migrate single files.

use crate::harness::*;

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
fn create_in_a_supabase_folder_writes_one_file() {
    let db = Db::new("supabase_create");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_first.sql", "create table first_t ();\n");
    let r = p.cargo_migrate(&["create", "add_things"]).ok();
    let made: Vec<String> = std::fs::read_dir(p.root.join("supabase/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_add_things.sql"))
        .collect();
    assert_eq!(made.len(), 1, "{}", r.stdout);
    assert!(!p.root.join("migrations").exists());
    // The new file is still the template: up refuses it, and says where.
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "empty_up");
    assert!(r.message().contains(&made[0]), "{}", r.stdout);
    p.write(&format!("supabase/migrations/{}", made[0]), "create table things (id int);\n");
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("things"));
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

#[test]
fn import_converts_other_tools_folders_keeping_versions() {
    let db = Db::new("import");
    let p = Project::new(&db);
    // node-pg-migrate's SQL files (its JavaScript ones: tests/e2e/import.rs).
    p.write(
        "old/1704240000000_create-users.sql",
        "-- Up Migration\nCREATE TABLE users (id int);\n-- Down Migration\nDROP TABLE users;\n",
    );
    p.write("old/README.md", "not a migration\n");
    let json = p.cargo_migrate_json(&["import", "--from", "node-pg-migrate", "old"]).ok().json();
    assert_eq!(json["imported"].as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(
        std::fs::read_to_string(p.root.join("migrations/1704240000000_create-users/up.sql")).unwrap(),
        "CREATE TABLE users (id int);\n"
    );
    assert_eq!(
        std::fs::read_to_string(p.root.join("migrations/1704240000000_create-users/down.sql")).unwrap(),
        "DROP TABLE users;\n"
    );
    // dbmate: transaction:false becomes metadata.toml; a second import skips what is there.
    p.write("db/migrations/20240101000000_idx.sql", "-- migrate:up transaction:false\ncreate index concurrently users_id on users (id);\n-- migrate:down\ndrop index users_id;\n");
    p.write("db/migrations/20240102000000_plain.sql", "create table no_markers ();\n");
    // A file left unconverted fails the command; what converted is written.
    let r = p.cargo_migrate(&["import", "--from", "dbmate", "db/migrations", "--format", "json"]).fails(1);
    let json = r.json();
    assert_eq!(json["error"]["kind"], "not_converted", "{json}");
    assert!(json.to_string().contains("20240102000000_plain.sql"), "{json}");
    assert_eq!(
        std::fs::read_to_string(p.root.join("migrations/20240101000000_idx/metadata.toml")).unwrap(),
        "run_in_transaction = false\n"
    );
    std::fs::remove_file(p.root.join("db/migrations/20240102000000_plain.sql")).unwrap();
    let json = p.cargo_migrate(&["import", "--from", "dbmate", "db/migrations", "--format", "json"]).ok().json();
    assert_eq!(json["imported"].as_array().unwrap().len(), 0, "{json}");
    assert_eq!(json["skipped"].as_array().unwrap().len(), 1, "{json}");
    // Supabase: up-only files; then everything applies and reverts with diesel's harness.
    p.write("supabase/migrations/20240201000000_notes.sql", "create table notes (id int);\n");
    // The project has migrations/ now, so that stays the migrations folder.
    let json = p.cargo_migrate_json(&["import", "--from", "supabase", "supabase/migrations"]).ok().json();
    assert_eq!(json["imported"].as_array().map(Vec::len), Some(1), "{json}");
    assert!(!p.root.join("migrations/20240201000000_notes/down.sql").exists());
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["1704240000000", "20240101000000", "20240201000000"]);
    assert!(db.table_exists("users_id"));
    // Pointed at its own folder, or at nothing, it refuses and writes nothing.
    let before = folders(&p.root.join("migrations"));
    p.cargo_migrate_json(&["import", "--from", "dbmate", "migrations"]).fails_with(2, "import_target");
    p.cargo_migrate_json(&["import", "--from", "dbmate", "nowhere"]).fails_with(2, "not_a_folder");
    assert_eq!(folders(&p.root.join("migrations")), before);
}

#[test]
fn seed_loads_supabase_seed_in_one_transaction_apart_from_migrations() {
    let db = Db::new("seed");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_notes.sql", "create table notes (id int primary key, body text);\n");
    p.write("supabase/seed.sql", "insert into notes values (1, 'one');\ninsert into notes values (2, 'two');\n");
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["seed"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM notes"), "2");
    // Seeds are never recorded as migrations.
    assert_eq!(db.query("SELECT count(*) FROM supabase_migrations.schema_migrations"), "1");
    // A failing seed names its line and leaves nothing of any seed file.
    db.query("TRUNCATE notes");
    p.write("supabase/config.toml", "[db.seed]\nenabled = true\nsql_paths = ['./seeds/*.sql']\n");
    p.write("supabase/seeds/01_first.sql", "insert into notes values (1, 'one');\n");
    p.write(
        "supabase/seeds/02_second.sql",
        "-- the second\ninsert into notes values (2, 'two');\ninsert into notes values (2, 'again');\n",
    );
    let r = p.cargo_migrate_json(&["seed"]).fails_with(1, "migration_failed");
    assert!(r.location().contains("02_second.sql:3"), "{}", r.stdout);
    assert_eq!(db.query("SELECT count(*) FROM notes"), "0", "none of the seed files was loaded");
    // A database that is not on this machine needs --yes (checked before connecting).
    let mut remote = Project::new(&db);
    remote.write("supabase/seed.sql", "select 1;\n");
    remote.env = vec![("DATABASE_URL".into(), "postgres://app:secret@db.example.com:5432/app".into())];
    let r = remote.cargo_migrate_json(&["seed"]).fails_with(1, "confirmation_needed");
    assert!(!r.all().contains("secret"), "{}", r.all());
    // No seeds at all: says where it looked.
    std::fs::remove_file(p.root.join("supabase/config.toml")).unwrap();
    std::fs::remove_file(p.root.join("supabase/seed.sql")).unwrap();
    std::fs::remove_dir_all(p.root.join("supabase/seeds")).unwrap();
    let r = p.cargo_migrate_json(&["seed"]).fails_with(1, "no_seeds");
    assert!(r.json()["error"].to_string().contains("seed.sql"), "where it looked: {}", r.stdout);
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

/// A Supabase file with an index built concurrently runs outside a
/// transaction as it is; imported, it must keep running so (metadata.toml).
#[test]
fn import_of_a_supabase_file_that_refuses_a_transaction_keeps_it_outside_one() {
    let db = Db::new("import_concurrently");
    let p = Project::new(&db);
    p.migration("20240101000000_users", "create table users (id int);\n", Some("drop table users;\n"));
    p.write("supabase/migrations/20240201000000_idx.sql", "create index concurrently users_id on users (id);\n");
    let json =
        p.cargo_migrate(&["import", "--from", "supabase", "supabase/migrations", "--format", "json"]).ok().json();
    assert_eq!(json["imported"][0]["run_in_transaction"], false, "{json}");
    assert_eq!(
        std::fs::read_to_string(p.root.join("migrations/20240201000000_idx/metadata.toml")).unwrap(),
        "run_in_transaction = false\n"
    );
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("users_id"));
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

/// `create` beside dbmate files writes a dbmate file whose comments fit it:
/// not the Supabase head that calls the file up-only.
#[test]
fn create_beside_dbmate_files_writes_a_file_with_both_sections() {
    let p = Project::bare("dbmate_create");
    p.write("migrations/20240101000000_a.sql", "-- migrate:up\ncreate table a ();\n-- migrate:down\ndrop table a;\n");
    p.cargo_migrate(&["create", "add_b"]).ok();
    let made: Vec<String> = std::fs::read_dir(p.root.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_add_b.sql"))
        .collect();
    let text = std::fs::read_to_string(p.root.join("migrations").join(&made[0])).unwrap();
    assert!(text.starts_with("-- migrate:up\n") && text.contains("\n-- migrate:down\n"), "{text}");
    assert!(!text.contains("up-only") && !text.contains("up.sql"), "{text}");
}

/// Writing a dbmate file's down section after it was applied (its template
/// has none) does not make it "modified": only the up section ran.
#[test]
fn editing_the_down_section_of_an_applied_file_is_not_a_modification() {
    let db = Db::new("down_edit");
    let p = Project::new(&db);
    p.write("migrations/20240101000000_a.sql", "-- migrate:up\ncreate table a (id int);\n-- migrate:down\n");
    p.cargo_migrate(&["up"]).ok();
    p.write(
        "migrations/20240101000000_a.sql",
        "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
    );
    p.write(
        "migrations/20240102000000_b.sql",
        "-- migrate:up\ncreate table b (id int);\n-- migrate:down\ndrop table b;\n",
    );
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.json()["migrations"][0]["modified"], false, "{}", r.stdout);
    assert!(r.anomalies().is_empty(), "{}", r.stdout);
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("b"));
    // The up section still counts.
    p.write(
        "migrations/20240101000000_a.sql",
        "-- migrate:up\ncreate table a (id bigint);\n-- migrate:down\ndrop table a;\n",
    );
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.json()["migrations"][0]["modified"], true, "{}", r.stdout);
    assert_eq!(r.anomalies(), ["modified"], "{}", r.stdout);
}

/// A down section written after `up` (create leaves it empty) is what
/// `down` runs: the empty one kept from when it was applied reverts nothing.
#[test]
fn down_written_after_up_is_the_one_that_runs() {
    let db = Db::new("down_after_up");
    let p = Project::new(&db);
    p.write(
        "migrations/20240101000000_a.sql",
        "-- migrate:up\ncreate table a (id int);\n-- migrate:down\n-- (to write)\n",
    );
    p.cargo_migrate(&["up"]).ok();
    p.write(
        "migrations/20240101000000_a.sql",
        "-- migrate:up\ncreate table a (id int);\n-- migrate:down\ndrop table a;\n",
    );
    p.cargo_migrate(&["down", "--yes"]).ok();
    assert!(!db.table_exists("a"), "the table is still there, recorded as reverted");
    assert!(db.applied().is_empty());
    // The same for a folder whose down.sql was still the template.
    p.migration("20240102000000_b", "create table b (id int);\n", Some("-- Revert: b\n"));
    p.cargo_migrate(&["up"]).ok();
    p.write("migrations/20240102000000_b/down.sql", "drop table b;\n");
    p.cargo_migrate(&["down", "--yes"]).ok();
    assert!(!db.table_exists("b"), "the table is still there, recorded as reverted");
}

/// A folder inside `supabase/migrations` (old files kept aside) is not a
/// migration to the Supabase CLI, which skips it; it blocked every run.
#[test]
fn a_folder_inside_supabase_migrations_is_left_alone() {
    let db = Db::new("supabase_subfolder");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_notes.sql", "create table notes (id int);\n");
    p.write("supabase/migrations/archive/20230101000000_old.sql", "create table old_t (id int);\n");
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("notes") && !db.table_exists("old_t"));
}

/// `repair` of a version the Supabase CLI applied names the Supabase CLI,
/// not diesel's harness.
#[test]
fn repair_of_a_version_the_supabase_cli_applied_names_it() {
    let db = Db::new("repair_cli");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_a.sql", "create table a (id int);\n");
    db.query(
        "CREATE SCHEMA supabase_migrations;
         CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
         INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000', NULL, 'a');",
    );
    p.cargo_migrate(&["status"]).ok();
    // What a user reads: who applied it (not diesel's harness).
    let r = p.cargo_migrate(&["repair", "20240101000000"]).fails(1);
    assert!(r.stderr.contains("Supabase CLI") && !r.stderr.contains("diesel"), "{}", r.stderr);
}

/// A down that was still empty when the migration was applied is not kept:
/// once the file is gone, status does not promise a revert it cannot make.
#[test]
fn an_empty_down_is_not_kept_as_a_way_back() {
    let db = Db::new("empty_down_not_kept");
    let p = Project::new(&db);
    p.write(
        "migrations/20240101000000_t.sql",
        "-- migrate:up\ncreate table t (id int);\n\n-- migrate:down\n-- write it later\n",
    );
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT down_sql IS NULL FROM cargo_migrate.migrations"), "t");
    std::fs::remove_file(p.root.join("migrations/20240101000000_t.sql")).unwrap();
    let r = p.cargo_migrate(&["status"]).ok();
    assert!(r.stdout.contains("no folder on disk") && !r.stdout.contains("revertible"), "{}", r.stdout);
}
