//! Taking over a database another tool migrated: `adopt` and `baseline`.

use crate::harness::*;

/// The seed's production database: migrated by node-pg-migrate.
fn node_pg_migrate_database(db: &Db) {
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES
           ('1700000000000_old-js-migration', '2023-11-14 22:13:20'),
           ('1704240000000_create-meetings', '2024-01-03 00:00:00');
         CREATE TABLE old_js (id int);
         CREATE TABLE meetings (id uuid PRIMARY KEY);",
    );
}

#[test]
fn adopt_records_node_pg_migrate_history_with_its_dates() {
    let db = Db::new("adopt_npm");
    node_pg_migrate_database(&db);
    let p = Project::new(&db);
    // Their SQL migration, read in place; one of ours, not applied yet.
    p.write(
        "migrations/1704240000000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE meetings (id uuid PRIMARY KEY);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    p.table_migration("20250101000000", "participants");

    // Without a terminal it needs --yes, and records nothing.
    p.cargo_migrate_json(&["adopt"]).fails_with(1, "confirmation_needed");
    assert!(db.applied().is_empty());
    // What it would record is shown first, and the JavaScript-only migration
    // (no file here) is named.
    let r = p.cargo_migrate(&["adopt"]).fails(1);
    assert!(r.stdout.contains("1704240000000_create-meetings"), "{}", r.stdout);
    assert!(r.stderr.contains("1700000000000_old-js-migration"), "{}", r.stderr);

    let json = p.cargo_migrate(&["adopt", "--yes", "--format", "json"]).ok().json();
    assert_eq!(json["recorded"][0]["version"], "1704240000000", "{json}");
    assert_eq!(json["unmatched"][0], "1700000000000", "{json}");
    assert_eq!(json["pending"], 1, "{json}");
    assert_eq!(db.applied(), ["1704240000000"]);
    // The original date, in both tables; the way back is kept.
    assert_eq!(
        db.query("SELECT run_on FROM __diesel_schema_migrations WHERE version = '1704240000000'"),
        "2024-01-03 00:00:00"
    );
    assert_eq!(
        db.query("SELECT applied_by LIKE 'adopted from node-pg-migrate%', down_sql LIKE '%DROP TABLE meetings%' FROM cargo_migrate.migrations"),
        "t|t"
    );
    // Then `up` runs only what node-pg-migrate never applied.
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["1704240000000", "20250101000000"]);
    assert!(db.table_exists("participants"));
    // Adopting again records nothing.
    let json = p.cargo_migrate_json(&["adopt", "--yes"]).ok().json();
    assert_eq!(json["recorded"].as_array().map(Vec::len), Some(0), "{json}");
    assert_eq!(db.applied(), ["1704240000000", "20250101000000"]);
}

#[test]
fn adopt_reads_sqlx_and_dbmate_and_refuses_when_there_is_nothing() {
    let db = Db::new("adopt_others");
    let p = Project::new(&db);
    p.table_migration("20240101000000", "a");
    p.table_migration("20240102000000", "b");
    let r = p.cargo_migrate_json(&["adopt", "--yes"]).fails_with(1, "no_history_to_adopt");
    assert!(r.hint().contains("baseline"), "{}", r.stdout);
    db.query(
        "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL,
           installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT NULL, checksum bytea NOT NULL,
           execution_time bigint NOT NULL);
         INSERT INTO _sqlx_migrations VALUES (20240101000000, 'create a', '2024-02-02 10:00:00+00', true, '\\x00', 1),
                                             (20240102000000, 'create b', '2024-02-02 10:00:00+00', false, '\\x00', 1);
         CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
         INSERT INTO schema_migrations VALUES ('20240101000000');",
    );
    // Two histories: it must be told which.
    let r = p.cargo_migrate_json(&["adopt", "--yes"]).fails_with(2, "no_history_to_adopt");
    assert!(r.hint().contains("--from"), "{}", r.stdout);
    assert!(db.applied().is_empty());
    let json = p.cargo_migrate(&["adopt", "--from", "sqlx", "--yes", "--format", "json"]).ok().json();
    // The failed sqlx migration is not taken as applied.
    assert_eq!(json["recorded"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(db.applied(), ["20240101000000"]);
}

/// A project that leaves the Supabase CLI for diesel's folders: what the CLI
/// applied is recorded, dated by its timestamp version; dbmate's likewise.
#[test]
fn adopt_reads_supabase_and_dbmate_histories() {
    let db = Db::new("adopt_supabase");
    let p = Project::new(&db);
    p.table_migration("20240101000000", "a");
    p.table_migration("20240102000000", "b");
    db.query(
        "CREATE SCHEMA supabase_migrations;
         CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
         INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000', NULL, 'create_a');
         CREATE TABLE a (id bigint PRIMARY KEY);",
    );
    let json = p.cargo_migrate(&["adopt", "--yes", "--format", "json"]).ok().json();
    assert_eq!(json["recorded"][0]["applied_at"], "2024-01-01 00:00:00+00", "{json}");
    assert_eq!(db.applied(), ["20240101000000"]);
    assert_eq!(db.query("SELECT run_on FROM __diesel_schema_migrations"), "2024-01-01 00:00:00");

    let db2 = Db::new("adopt_dbmate");
    let q = Project::new(&db2);
    q.table_migration("20240101000000", "a");
    db2.query("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');");
    q.cargo_migrate(&["adopt", "--from", "dbmate", "--yes"]).ok();
    assert_eq!(db2.applied(), ["20240101000000"]);
}

/// In a `supabase/migrations` project, Supabase's table is the history
/// already: `adopt --from supabase` says so, not that the table is missing.
#[test]
fn adopt_from_supabase_in_a_supabase_project_says_it_is_the_history() {
    let db = Db::new("adopt_own_ledger");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_a.sql", "create table a (id int);\n");
    db.query(
        "CREATE SCHEMA supabase_migrations;
         CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);",
    );
    // What a user reads: that it is the history already, not that it has none.
    let r = p.cargo_migrate(&["adopt", "--from", "supabase", "--yes"]).fails(1);
    assert!(!r.stderr.contains("has no history"), "{}", r.stderr);
    assert!(r.stderr.contains("already"), "{}", r.stderr);
    p.cargo_migrate_json(&["adopt", "--from", "supabase", "--yes"]).fails_with(1, "no_history_to_adopt");
}

/// Names read from another tool's history are shown with control characters
/// escaped: a newline in one cannot forge a line of output.
#[test]
fn adopt_escapes_control_characters_in_foreign_history_names() {
    let db = Db::new("adopt_escapes");
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES
           (E'1704240000000_a\\n  record 1999_forged\\u001b[2J', '2024-01-03 00:00:00'),
           (E'1704250000000_b\\nforged', '2024-01-04 00:00:00');",
    );
    let p = Project::new(&db);
    p.write("migrations/1704240000000_a.sql", "-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n");
    let r = p.cargo_migrate(&["adopt", "--yes"]).ok();
    let all = r.all();
    assert!(!all.contains('\u{1b}') && !all.lines().any(|l| l.trim_start().starts_with("forged")), "{all}");
    assert!(!all.lines().any(|l| l.trim_start().starts_with("record 1999_forged")), "{all}");
    assert!(all.contains(r"\n  record 1999_forged\u{1b}[2J") && all.contains(r"_b\nforged"), "{all}");
    assert_eq!(db.applied(), ["1704240000000"]);
}

/// Each other tool's history, written as that tool's source creates and
/// fills it; `adopt --from TOOL` records what it applied (matching integer
/// versions by value: Flyway's `1` is `0001` here), and `up` runs only the rest.
fn adopts(tool: &str, write: fn(&Project, &str), history: &str, recorded: &[&str]) {
    let db = Db::new(&format!("adopt_{}", tool.replace('-', "_")));
    let p = Project::new(&db);
    write(&p, "migrations");
    db.query(history);
    // Before adoption: status names the tool and its table, up refuses.
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["other_histories"][0]["tool"], tool, "{status}");
    assert_eq!(status["other_histories"][0]["adopted"], false, "{status}");
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "other_history", "{tool}: {}", r.stdout);
    assert!(db.applied().is_empty());

    let json = p.cargo_migrate(&["adopt", "--from", tool, "--yes", "--format", "json"]).ok().json();
    assert_eq!(json["from"], tool, "{json}");
    assert_eq!(db.applied(), recorded, "{tool}: {json}");
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["other_histories"][0]["adopted"], true, "{status}");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied().len(), 4, "{tool}");
    assert_eq!(crate::fixtures::schema(&db), crate::fixtures::SCHEMA, "{tool}");
}

/// What the tool would have made of the first migrations: accounts and posts.
const FIRST_TWO: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
    CREATE TABLE posts (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, title text);";

#[test]
fn adopt_from_golang_migrate_takes_everything_up_to_its_version() {
    // database/postgres/postgres.go: one row, the current version and `dirty`.
    let history = format!(
        "{FIRST_TWO} CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null);
         INSERT INTO schema_migrations (version, dirty) VALUES (2, false);"
    );
    adopts("golang-migrate", crate::fixtures::golang_migrate, &history, &["000001", "000002"]);
}

#[test]
fn adopt_from_golang_migrate_refuses_a_dirty_database() {
    let db = Db::new("adopt_golang_dirty");
    let p = Project::new(&db);
    crate::fixtures::golang_migrate(&p, "migrations");
    db.query(&format!(
        "{FIRST_TWO} CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null);
         INSERT INTO schema_migrations VALUES (2, true);"
    ));
    let r = p.cargo_migrate(&["adopt", "--yes", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "no_history_to_adopt", "{}", r.stdout);
    assert!(db.applied().is_empty());
}

#[test]
fn adopt_from_flyway_skips_what_was_undone() {
    // PostgreSQLDatabase.getRawCreateScript, then rows as Flyway writes them: V3 applied, then undone.
    let history = format!(
        "{FIRST_TWO} CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50),
           description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER,
           installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(),
           execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL);
         ALTER TABLE flyway_schema_history ADD CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank);
         CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success);
         INSERT INTO flyway_schema_history VALUES
           (1, '1', 'create accounts', 'SQL', 'V1__create_accounts.sql', 1, 'postgres', '2024-03-01 10:00:00', 5, true),
           (2, '2', 'create posts', 'SQL', 'V2__create_posts.sql', 2, 'postgres', '2024-03-01 10:00:01', 5, true),
           (3, '3', 'index posts', 'SQL', 'V3__index_posts.sql', 3, 'postgres', '2024-03-01 10:00:02', 5, true),
           (4, '3', 'index posts', 'UNDO_SQL', 'U3__index_posts.sql', 4, 'postgres', '2024-03-02 10:00:00', 5, true);"
    );
    adopts("flyway", crate::fixtures::flyway, &history, &["0001", "0002"]);
}

#[test]
fn adopt_from_refinery() {
    // refinery_core/src/traits/mod.rs ASSERT_MIGRATIONS_TABLE_QUERY; applied_on is RFC 3339 text.
    let history = format!(
        "{FIRST_TWO} CREATE TABLE IF NOT EXISTS refinery_schema_history(version int4 PRIMARY KEY, name VARCHAR(255),
           applied_on VARCHAR(255), checksum VARCHAR(255));
         INSERT INTO refinery_schema_history VALUES (1, 'create_accounts', '2024-03-01T10:00:00Z', '123'),
                                                    (2, 'create_posts', '2024-03-01T10:00:01Z', '456');"
    );
    adopts("refinery", crate::fixtures::refinery, &history, &["0001", "0002"]);
}

#[test]
fn adopt_from_goose_reads_the_newest_row_of_each_version() {
    // internal/dialects/postgres.go CreateTable; goose inserts version 0 first, and a row per up and down.
    let history = format!(
        "{FIRST_TWO} CREATE TABLE goose_db_version (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
           version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now());
         INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true), (3, false);"
    );
    adopts("goose", crate::fixtures::goose, &history, &["00001", "00002"]);
}

#[test]
fn adopt_from_prisma_skips_rolled_back_migrations() {
    let history = format!(
        "{FIRST_TWO} CREATE TABLE \"_prisma_migrations\" (\"id\" VARCHAR(36) PRIMARY KEY NOT NULL,
           \"checksum\" VARCHAR(64) NOT NULL, \"finished_at\" TIMESTAMPTZ, \"migration_name\" VARCHAR(255) NOT NULL,
           \"logs\" TEXT, \"rolled_back_at\" TIMESTAMPTZ, \"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(),
           \"applied_steps_count\" INTEGER NOT NULL DEFAULT 0);
         INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, rolled_back_at, applied_steps_count) VALUES
           ('a', 'x', '2024-03-01 10:00:00+00', '20240101000000_create_accounts', NULL, 1),
           ('b', 'x', '2024-03-01 10:00:01+00', '20240102000000_create_posts', NULL, 1),
           ('c', 'x', NULL, '20240103000000_index_posts', '2024-03-01 10:00:03+00', 0);"
    );
    let with_lock = |p: &Project, dir: &str| crate::fixtures::prisma(p, dir);
    adopts("prisma", with_lock, &history, &["20240101000000", "20240102000000"]);
}

/// `adopt --retire`: the old table leaves `public` (where Supabase's API and
/// its advisor see it) in the same transaction; nothing looks at it again.
#[test]
fn adopt_retire_moves_the_old_table_out_of_public() {
    let db = Db::new("adopt_retire");
    let p = Project::new(&db);
    p.write(
        "migrations/1704067200000_create-meetings.sql",
        "-- Up Migration\nCREATE TABLE meetings (id int);\n-- Down Migration\nDROP TABLE meetings;\n",
    );
    db.query(
        "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
         INSERT INTO pgmigrations (name, run_on) VALUES ('1704067200000_create-meetings', '2024-01-01 00:00:00');
         CREATE TABLE meetings (id int);",
    );
    let r = p.cargo_migrate(&["adopt", "--yes"]).ok();
    assert!(r.stdout.contains("--retire"), "says what becomes of the old table: {}", r.stdout);
    assert!(db.table_exists("public.pgmigrations"));
    // The database advisor (Supabase's rule) sees it in `public`, until it is retired.
    let advice = |p: &Project| p.cargo_migrate(&["lint", "--database", "--format", "json"]).all();
    assert!(advice(&p).contains("pgmigrations"), "{}", advice(&p));
    // Adopted already: --retire alone moves it.
    p.cargo_migrate(&["adopt", "--retire", "--yes"]).ok();
    assert!(!advice(&p).contains("pgmigrations"), "{}", advice(&p));
    assert!(!db.table_exists("public.pgmigrations"));
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate_retired.pgmigrations"), "1");
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["other_histories"], serde_json::json!([]), "{status}");
    assert_eq!(db.applied(), ["1704067200000"]);
}
