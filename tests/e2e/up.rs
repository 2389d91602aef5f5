//! `up` never succeeds silently over something it did not look at: a
//! migrations folder that is not there, migrations it does not run, a
//! --pg-bin that is not PostgreSQL.

use crate::harness::*;

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
