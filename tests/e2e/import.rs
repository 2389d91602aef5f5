//! `import --from node-pg-migrate`: JavaScript and TypeScript migrations
//! become SQL through the real node-pg-migrate 9 (installed with npm into
//! target/npm-fixture once), and what cargo-migrate then applies is what
//! node-pg-migrate applies, catalog for catalog.
//!
//! `import --from sqlx|golang-migrate|refinery|flyway|goose|prisma DIR`:
//! another tool's folder written as diesel's folders, then run by `up`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::fixtures;
use crate::harness::*;

/// node_modules with node-pg-migrate 9 and pg: scripts/test.sh installs it;
/// a plain `cargo test` installs it here the first time. Without npm this
/// fails: the proof is against the real node-pg-migrate, never skipped.
pub fn npm_fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| install("CARGO_MIGRATE_NPM_FIXTURE", "npm-fixture", &["node-pg-migrate@9.0.0", "pg@8.23.1"]))
}

/// node-pg-migrate 7, which loads TypeScript through the project's ts-node.
pub fn npm_fixture_7() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        install(
            "CARGO_MIGRATE_NPM_FIXTURE_7",
            "npm-fixture-7",
            &["node-pg-migrate@7.9.1", "pg@8.23.1", "ts-node@10.9.2", "typescript@5.9.3"],
        )
    })
}

fn install(var: &str, folder: &str, packages: &[&str]) -> PathBuf {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(folder));
    if !dir.join("node_modules/node-pg-migrate/package.json").is_file() {
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .args(packages)
            .output()
            .unwrap_or_else(|e| panic!("npm is needed to install node-pg-migrate for these tests: {e}"));
        assert!(out.status.success(), "npm install failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    dir.join("node_modules")
}

/// A project whose JavaScript migrations are in `local_migrations/`, with
/// node-pg-migrate installed (an ES module package, as the seed's).
pub fn node_project(p: &Project) {
    p.write("package.json", "{ \"name\": \"meetings\", \"private\": true, \"type\": \"module\" }\n");
    std::os::unix::fs::symlink(npm_fixture(), p.root.join("node_modules")).unwrap();
}

/// What the seed's database has before any migration: the publication and
/// the API roles Supabase makes.
pub fn supabase_like(db: &Db) {
    db.query(
        "DO $$ BEGIN CREATE ROLE anon NOLOGIN; EXCEPTION WHEN OTHERS THEN NULL; END $$;
         DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN OTHERS THEN NULL; END $$;
         CREATE PUBLICATION supabase_realtime;",
    );
}

/// Run node-pg-migrate 9's own command line in the project against `db`.
pub fn node_pg_migrate(p: &Project, db: &Db, args: &[&str]) {
    node_pg_migrate_of(npm_fixture(), p, db, args)
}

fn node_pg_migrate_of(modules: &Path, p: &Project, db: &Db, args: &[&str]) {
    let out = Command::new("node")
        .arg(modules.join("node-pg-migrate/bin/node-pg-migrate.js"))
        .args(args)
        .args(["-m", "local_migrations"])
        .env("DATABASE_URL", &db.url)
        .current_dir(&p.root)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "node-pg-migrate {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The schema as pg_dump sees it, without either tool's bookkeeping.
pub fn catalog(db: &Db) -> String {
    let out = Command::new(cluster().bin.join("pg_dump"))
        .args(["--schema-only", "--no-owner", "-d", &db.url])
        .args(["--exclude-table=public.pgmigrations", "--exclude-table=public.pgmigrations_id_seq"])
        .args(["--exclude-table=public.__diesel_schema_migrations", "--exclude-schema=cargo_migrate"])
        .output()
        .expect("run pg_dump");
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The seed's kind of migrations: builder calls and raw SQL, ES modules,
/// one in TypeScript, one without a down (inferred), one outside a transaction.
pub fn seed_migrations(p: &Project) {
    p.write(
        "local_migrations/20250615051828_initial_meeting_schema.js",
        r#"/**
 * Initial meeting schema
 */
export const up = (pgm) => {
  pgm.createTable('meetings', {
    id: { type: 'uuid', primaryKey: true, default: pgm.func('gen_random_uuid()') },
    title: { type: 'text', notNull: true },
    status: { type: 'text', notNull: true, default: 'scheduled' },
    created_at: { type: 'timestamptz', default: pgm.func('now()') },
    updated_at: { type: 'timestamptz', default: pgm.func('now()') },
  });
  pgm.createTable('meeting_participants', {
    id: { type: 'uuid', primaryKey: true, default: pgm.func('gen_random_uuid()') },
    meeting_id: { type: 'uuid', notNull: true, references: 'meetings(id)', onDelete: 'CASCADE' },
    email: { type: 'text', notNull: true },
    role: { type: 'text' },
  });
  pgm.createIndex('meeting_participants', 'meeting_id');
  pgm.createIndex('meetings', ['status', 'created_at'], { name: 'meetings_status_created_idx' });
  pgm.sql('ALTER TABLE meetings ENABLE ROW LEVEL SECURITY');
  pgm.sql(`
    CREATE POLICY "meetings_read"
      ON meetings
      FOR SELECT
      TO anon, authenticated
      USING (true)
  `);
  pgm.sql('ALTER PUBLICATION supabase_realtime ADD TABLE meetings');
};

export const down = (pgm) => {
  pgm.sql('ALTER PUBLICATION supabase_realtime DROP TABLE meetings');
  pgm.dropTable('meeting_participants');
  pgm.dropTable('meetings');
};
"#,
    );
    // No down: node-pg-migrate infers it.
    p.write(
        "local_migrations/20250615053210_add_participant_constraints.js",
        r#"export const up = (pgm) => {
  pgm.addConstraint('meeting_participants', 'meeting_participants_meeting_email_key', {
    unique: ['meeting_id', 'email'],
  });
  pgm.addConstraint('meetings', 'meetings_status_check', {
    check: "status IN ('scheduled', 'active', 'ended')",
  });
};
"#,
    );
    p.write(
        "local_migrations/20250619185326_add_meeting_notes.js",
        r#"export const up = (pgm) => {
  pgm.addColumns('meetings', {
    summary: { type: 'text' },
    is_archived: { type: 'boolean', notNull: true, default: false },
  });
  pgm.alterColumn('meeting_participants', 'role', { type: 'varchar(255)', notNull: true, default: 'guest' });
  pgm.sql(`
    CREATE OR REPLACE FUNCTION touch_updated_at()
    RETURNS TRIGGER AS $$
    BEGIN
      NEW.updated_at = now();
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
  `);
};

export const down = (pgm) => {
  pgm.sql('DROP FUNCTION IF EXISTS touch_updated_at()');
  pgm.alterColumn('meeting_participants', 'role', { type: 'text', notNull: false, default: null });
  pgm.dropColumns('meetings', ['summary', 'is_archived']);
};
"#,
    );
    // TypeScript, outside a transaction (CREATE INDEX CONCURRENTLY), down inferred.
    p.write(
        "local_migrations/20250628125031_add_project_team_support.ts",
        r#"import type { MigrationBuilder } from 'node-pg-migrate';

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction();
  pgm.createTable('projects', {
    id: { type: 'uuid', primaryKey: true, default: pgm.func('gen_random_uuid()') },
    name: { type: 'varchar(200)', notNull: true },
  });
  pgm.addColumns('meetings', { project_id: { type: 'uuid', references: 'projects(id)', onDelete: 'SET NULL' } });
  pgm.createIndex('meetings', 'project_id', { concurrently: true });
}
"#,
    );
}

const SEED_VERSIONS: [&str; 4] = ["20250615051828", "20250615053210", "20250619185326", "20250628125031"];

#[test]
fn seed_style_javascript_and_typescript_apply_as_node_pg_migrate_applies_them() {
    let a = Db::new("import_npm_a");
    let b = Db::new("import_npm_b");
    supabase_like(&a);
    supabase_like(&b);
    let p = Project::new(&b);
    node_project(&p);
    seed_migrations(&p);
    let before = catalog(&a);
    assert_eq!(before, catalog(&b));

    let json =
        p.cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--format", "json"]).ok().json();
    let imported: Vec<&str> =
        json["imported"].as_array().unwrap().iter().map(|i| i["version"].as_str().unwrap()).collect();
    assert_eq!(imported, SEED_VERSIONS, "{json}");
    assert_eq!(json["imported"][3]["run_in_transaction"], false, "{json}");
    assert!(json["imported"].as_array().unwrap().iter().all(|i| i["irreversible"].is_null()), "{json}");
    let meta = std::fs::read_to_string(p.root.join("migrations/20250628125031_add_project_team_support/metadata.toml"))
        .unwrap();
    assert_eq!(meta.trim(), "run_in_transaction = false");

    node_pg_migrate(&p, &a, &["up"]);
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(b.applied(), SEED_VERSIONS);
    let applied = catalog(&a);
    assert!(
        applied.contains("CREATE POLICY meetings_read") && applied.contains("meetings_project_id_index"),
        "{applied}"
    );
    assert!(applied.contains("ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.meetings"), "{applied}");
    assert_eq!(applied, catalog(&b), "node-pg-migrate (left) and cargo-migrate (right) made different schemas");

    node_pg_migrate(&p, &a, &["down", "4"]);
    p.cargo_migrate(&["down", "--all"]).ok();
    assert!(b.applied().is_empty());
    assert_eq!(catalog(&a), catalog(&b));
    assert_eq!(catalog(&b), before);
}

#[test]
fn irreversible_migrations_say_so_in_down_sql_and_status_and_down_refuses() {
    let db = Db::new("import_irreversible");
    let p = Project::new(&db);
    node_project(&p);
    p.write(
        "local_migrations/1700000000000_create-things.js",
        "export const up = (pgm) => { pgm.createTable('things', { id: 'id' }); };\nexport const down = false;\n",
    );
    // pgm.sql has no inverse: with no down, node-pg-migrate cannot revert it.
    p.write(
        "local_migrations/1700000000001_seed-things.js",
        "export const up = (pgm) => { pgm.sql('INSERT INTO things DEFAULT VALUES'); };\n",
    );
    let json =
        p.cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--format", "json"]).ok().json();
    assert!(json["imported"][0]["irreversible"].as_str().unwrap().contains("false"), "{json}");
    assert!(json["imported"][1]["irreversible"].as_str().unwrap().contains("infer down"), "{json}");
    let down = std::fs::read_to_string(p.root.join("migrations/1700000000001_seed-things/down.sql")).unwrap();
    assert!(down.starts_with("-- cargo-migrate: irreversible"), "{down}");

    // Nothing to say about a down that says irreversible.
    let lint = p.cargo_migrate(&["lint", "--format", "json"]).ok().json().to_string();
    assert!(!lint.contains("down_does_not_undo"), "{lint}");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM things"), "1");
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    let rows = status["migrations"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["up_only"] == true), "{status}");
    let text = p.cargo_migrate(&["status"]).ok().stdout;
    assert!(text.contains("cannot be reverted"), "{text}");

    let err = p.cargo_migrate(&["down", "--format", "json"]).fails(1).json();
    assert_eq!(err["error"]["kind"], "up_only", "{err}");
    assert_eq!(db.applied(), ["1700000000000", "1700000000001"]);
    assert_eq!(db.query("SELECT count(*) FROM things"), "1");

    // Written by hand, the down counts at once (status remembers what it read).
    p.write("migrations/1700000000001_seed-things/down.sql", "DELETE FROM things;\n");
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_ne!(status["migrations"][1]["up_only"], true, "{status}");
    assert_eq!(status["migrations"][0]["up_only"], true, "{status}");
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM things"), "0");
}

#[test]
fn files_that_cannot_become_sql_are_named_and_the_command_fails() {
    let db = Db::new("import_unconvertible");
    let p = Project::new(&db);
    node_project(&p);
    p.write(
        "local_migrations/1700000000000_good.js",
        "export const up = (pgm) => { pgm.createTable('good', { id: 'id' }); };\n",
    );
    p.write(
        "local_migrations/1700000000001_reads-data.js",
        "export const up = async (pgm) => {\n  const { rows } = await pgm.db.query('SELECT id FROM good');\n  for (const r of rows) pgm.sql(`UPDATE good SET id = ${r.id}`);\n};\n",
    );
    p.write(
        "local_migrations/1700000000002_uses-app-code.js",
        "import { tables } from '../src/db/tables.js';\nexport const up = (pgm) => { for (const t of tables) pgm.createTable(t, { id: 'id' }); };\n",
    );
    p.write(
        "local_migrations/1700000000003_throws.js",
        "export const up = (pgm) => { throw new Error('set FEATURE_FLAG first'); };\n",
    );
    let r = p.cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--format", "json"]).fails(1);
    let err = r.json();
    assert_eq!(err["error"]["kind"], "not_converted", "{err}");
    let details = err.to_string();
    for (file, why) in [
        ("1700000000001_reads-data.js", "pgm.db"),
        ("1700000000002_uses-app-code.js", "tables.js"),
        ("1700000000003_throws.js", "set FEATURE_FLAG first"),
    ] {
        assert!(details.contains(file) && details.contains(why), "{file}: {details}");
    }
    // What could be converted was written; nothing else.
    assert_eq!(folders(&p.root.join("migrations")), ["1700000000000_good"]);
}

#[test]
fn without_node_pg_migrate_or_node_it_says_what_to_install() {
    let db = Db::new("import_no_node");
    let p = Project::new(&db);
    p.write(
        "local_migrations/1700000000000_good.js",
        "exports.up = (pgm) => { pgm.createTable('good', { id: 'id' }); };\n",
    );
    let err = p
        .cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--format", "json"])
        .fails(1)
        .json();
    assert_eq!(err["error"]["kind"], "no_node_pg_migrate", "{err}");
    assert!(err.to_string().contains("npm install"), "{err}");

    node_project(&p);
    let mut p = p;
    p.env.push(("NODE".into(), "/nonexistent/node".into()));
    let err = p
        .cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--format", "json"])
        .fails(1)
        .json();
    assert_eq!(err["error"]["kind"], "no_node", "{err}");
    assert!(!p.root.join("migrations").exists());

    // A folder with no migration at all is no success either.
    p.env.retain(|(k, _)| k != "NODE");
    std::fs::create_dir_all(p.root.join("empty")).unwrap();
    let err = p.cargo_migrate(&["import", "--from", "node-pg-migrate", "empty", "--format", "json"]).fails(1).json();
    assert_eq!(err["error"]["kind"], "nothing_to_import", "{err}");
}

#[test]
fn commonjs_migrations_with_callbacks_convert_too() {
    let db = Db::new("import_cjs");
    let p = Project::new(&db);
    p.write("package.json", "{ \"name\": \"old\", \"private\": true }\n");
    std::os::unix::fs::symlink(npm_fixture(), p.root.join("node_modules")).unwrap();
    p.write(
        "migrations-js/1600000000000_create-users.js",
        "/* eslint-disable camelcase */\nexports.shorthands = { pk: { type: 'serial', primaryKey: true } };\n\
         exports.up = (pgm, done) => { pgm.createTable('users', { id: 'pk', name: { type: 'text' } }); done(); };\n\
         exports.down = (pgm) => { pgm.dropTable('users'); };\n",
    );
    // A later file uses the shorthand the first exported, as node-pg-migrate allows.
    p.write(
        "migrations-js/1600000000001_create-teams.js",
        "exports.up = (pgm) => { pgm.createTable('teams', { id: 'pk' }); };\n",
    );
    p.cargo_migrate(&["import", "--from", "node-pg-migrate", "migrations-js"]).ok();
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'teams'"), "integer");
    p.cargo_migrate(&["down", "--all"]).ok();
    assert!(!db.table_exists("users") && !db.table_exists("teams"));
}

#[test]
fn import_adopt_takes_over_a_database_node_pg_migrate_migrated_in_one_step() {
    let db = Db::new("import_adopt");
    supabase_like(&db);
    let p = Project::new(&db);
    node_project(&p);
    seed_migrations(&p);
    node_pg_migrate(&p, &db, &["up"]);
    let migrated = catalog(&db);

    // The seed team's one command: no --yes, nothing else.
    let json = p
        .cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--adopt", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["adopted"]["recorded"].as_array().unwrap().len(), 4, "{json}");
    assert_eq!(db.applied(), SEED_VERSIONS);
    // With node-pg-migrate's dates.
    assert_eq!(
        db.query(
            "SELECT count(*) FROM pgmigrations p JOIN __diesel_schema_migrations d \
             ON d.version = split_part(p.name, '_', 1) AND d.run_on = p.run_on"
        ),
        "4"
    );
    let status = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["summary"]["pending"], 0, "{status}");
    assert_eq!(catalog(&db), migrated, "adopting ran something");

    // Then the everyday commands work on it.
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.applied(), &SEED_VERSIONS[..3]);
    assert!(!db.table_exists("projects"));
    p.cargo_migrate(&["verify", "--all"]).ok();
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), SEED_VERSIONS);
    assert_eq!(catalog(&db), migrated);

    // Again: nothing new to import or record, and still a success.
    let json = p
        .cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--adopt", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["skipped"].as_array().unwrap().len(), 4, "{json}");
    assert_eq!(json["adopted"]["recorded"].as_array().unwrap().len(), 0, "{json}");
}

#[test]
fn typescript_through_the_projects_ts_node_with_node_pg_migrate_7() {
    let a = Db::new("import_ts7_a");
    let b = Db::new("import_ts7_b");
    let p = Project::new(&b);
    p.write("package.json", "{ \"name\": \"service\", \"private\": true }\n");
    p.write(
        "tsconfig.json",
        "{ \"compilerOptions\": { \"module\": \"commonjs\", \"target\": \"es2020\", \"esModuleInterop\": true } }\n",
    );
    std::os::unix::fs::symlink(npm_fixture_7(), p.root.join("node_modules")).unwrap();
    // TypeScript only: types, an enum, node-pg-migrate's PgType at run time.
    p.write(
        "local_migrations/1712167263170_friendships.ts",
        r#"import { MigrationBuilder, ColumnDefinitions, PgType } from 'node-pg-migrate'

enum Status { Pending = 'pending', Accepted = 'accepted' }

export const shorthands: ColumnDefinitions | undefined = undefined

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.createTable('friendships', {
    id: { type: PgType.UUID, primaryKey: true },
    address_requester: { type: PgType.VARCHAR, notNull: true },
    address_requested: { type: PgType.VARCHAR, notNull: true },
    status: { type: PgType.VARCHAR, notNull: true, default: Status.Pending as string },
    created_at: { type: PgType.TIMESTAMP, notNull: true, default: pgm.func('now()') },
  })
  pgm.createIndex('friendships', ['address_requester', 'address_requested'], { unique: true })
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.dropTable('friendships')
}
"#,
    );
    p.write(
        "local_migrations/1786500000000_requested-index.ts",
        r#"import { MigrationBuilder } from 'node-pg-migrate'

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction()
  pgm.createIndex('friendships', 'address_requested', { name: 'friendships_address_requested', concurrently: true, ifNotExists: true })
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.noTransaction()
  pgm.dropIndex('friendships', 'address_requested', { name: 'friendships_address_requested', concurrently: true, ifExists: true })
}
"#,
    );
    let json =
        p.cargo_migrate(&["import", "--from", "node-pg-migrate", "local_migrations", "--format", "json"]).ok().json();
    assert_eq!(json["imported"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json["imported"][1]["run_in_transaction"], false, "{json}");

    node_pg_migrate_of(npm_fixture_7(), &p, &a, &["up", "-j", "ts", "--tsconfig", "tsconfig.json"]);
    p.cargo_migrate(&["up"]).ok();
    let applied = catalog(&a);
    assert!(applied.contains("friendships_address_requested"), "{applied}");
    assert_eq!(applied, catalog(&b));
    node_pg_migrate_of(npm_fixture_7(), &p, &a, &["down", "2", "-j", "ts", "--tsconfig", "tsconfig.json"]);
    p.cargo_migrate(&["down", "--all"]).ok();
    assert_eq!(catalog(&a), catalog(&b));
    assert!(!b.table_exists("friendships"));
}

/// Import the fixture, check the folders written, apply them, and where the
/// layout has downs, revert everything.
fn imports(tool: &str, write: fn(&Project, &str), folders: &[&str], reversible: bool) {
    let db = Db::new(&format!("import_{tool}"));
    let p = Project::new(&db);
    write(&p, "theirs");
    let json = p.cargo_migrate(&["import", "--from", tool, "theirs", "--format", "json"]).ok().json();
    assert_eq!(json["not_converted"].as_array().map(Vec::len), Some(0), "{tool}: {json}");
    assert_eq!(folders_of(&p), folders, "{tool}");
    for f in folders {
        assert_eq!(p.root.join("migrations").join(f).join("down.sql").is_file(), reversible, "{tool}: {f}");
    }
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(fixtures::schema(&db), fixtures::SCHEMA, "{tool}");
    if reversible {
        p.cargo_migrate(&["down", "--all", "--yes"]).ok();
        assert!(fixtures::is_empty_schema(&db) && db.applied().is_empty(), "{tool}");
    }
}

fn folders_of(p: &Project) -> Vec<String> {
    folders(&p.root.join("migrations"))
}

#[test]
fn import_from_sqlx() {
    let f = [
        "20240101000000_create_accounts",
        "20240102000000_create_posts",
        "20240103000000_index_posts",
        "20240104000000_post_count",
    ];
    imports("sqlx", fixtures::sqlx, &f, true);
}

#[test]
fn import_from_golang_migrate() {
    let f = ["000001_create_accounts", "000002_create_posts", "000003_index_posts", "000004_post_count"];
    imports("golang-migrate", fixtures::golang_migrate, &f, true);
}

#[test]
fn import_from_refinery_pads_versions() {
    let f = ["0001_create_accounts", "0002_create_posts", "0003_index_posts", "0010_post_count"];
    imports("refinery", fixtures::refinery, &f, false);
}

#[test]
fn import_from_flyway_with_undo_files() {
    let f = ["0001_create_accounts", "0002_create_posts", "0003_index_posts", "0010_post_count"];
    imports("flyway", fixtures::flyway, &f, true);
}

#[test]
fn import_from_goose() {
    let f = ["00001_create_accounts", "00002_create_posts", "00003_index_posts", "00004_post_count"];
    imports("goose", fixtures::goose, &f, true);
}

#[test]
fn import_from_prisma() {
    let f = [
        "20240101000000_create_accounts",
        "20240102000000_create_posts",
        "20240103000000_index_posts",
        "20240104000000_post_count",
    ];
    imports("prisma", fixtures::prisma, &f, false);
}

/// A migration outside a transaction stays outside one: metadata.toml says so.
#[test]
fn no_transaction_markers_become_metadata() {
    let db = Db::new("import_no_tx");
    let p = Project::new(&db);
    fixtures::sqlx(&p, "sqlx");
    fixtures::goose(&p, "goose");
    p.cargo_migrate(&["import", "--from", "sqlx", "sqlx"]).ok();
    let meta = p.root.join("migrations/20240103000000_index_posts/metadata.toml");
    assert_eq!(std::fs::read_to_string(meta).unwrap(), "run_in_transaction = false\n");
    assert!(!p.root.join("migrations/20240101000000_create_accounts/metadata.toml").exists());
    let mut q = Project::new(&db);
    q.env.push(("MIGRATE_DIR".into(), "imported".into()));
    fixtures::goose(&q, "goose");
    q.cargo_migrate(&["import", "--from", "goose", "goose"]).ok();
    assert!(q.root.join("imported/00003_index_posts/metadata.toml").is_file());
}

/// Integer versions of different widths are padded to one, so diesel's text
/// order is the tool's numeric order; files of another layout are named, with why.
#[test]
fn import_pads_versions_and_names_what_it_cannot_convert() {
    let db = Db::new("import_pad");
    let p = Project::new(&db);
    p.write("theirs/1_accounts.sql", "CREATE TABLE accounts (id int);\n");
    p.write("theirs/2_posts.sql", "CREATE TABLE posts (id int);\n");
    p.write("theirs/10_more.sql", "CREATE TABLE more_t (a int);\n");
    p.write("theirs/README.md", "notes\n");
    p.write("flyway/V1__a.sql", "CREATE TABLE fa (id int);\n");
    p.write("flyway/R__views.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;\n");
    p.write("flyway/V1.1__fix.sql", "SELECT 1;\n");
    p.write("flyway/20240101_other.sql", "SELECT 1;\n");
    p.cargo_migrate(&["import", "--from", "sqlx", "theirs"]).ok();
    assert_eq!(folders_of(&p), ["01_accounts", "02_posts", "10_more"]);
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied(), ["01", "02", "10"]);

    // Files left unconverted fail the command (exit 1), each named.
    let r = p.cargo_migrate(&["import", "--from", "flyway", "flyway", "--dry-run", "--format", "json"]).fails(1);
    let err = r.json();
    assert_eq!(err["error"]["kind"], "not_converted", "{err}");
    let details: Vec<&str> = err["error"]["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    assert_eq!(details.len(), 2, "{err}");
    assert!(details[0].contains("20240101_other.sql") && details[1].contains("R__views.sql"), "{err}");
    std::fs::remove_file(p.root.join("flyway/R__views.sql")).unwrap();
    std::fs::remove_file(p.root.join("flyway/20240101_other.sql")).unwrap();
    let json = p.cargo_migrate(&["import", "--from", "flyway", "flyway", "--dry-run", "--format", "json"]).ok().json();
    assert_eq!(json["imported"][0]["name"], "0001_a", "{json}");
    assert_eq!(json["imported"][1]["name"], "00010001_fix", "dotted V1.1 sorts after V1: {json}");
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
