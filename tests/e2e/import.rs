//! `import --from sqlx|golang-migrate|refinery|flyway|goose|prisma DIR`:
//! another tool's folder written as diesel's folders, then run by `up`.

use crate::fixtures;
use crate::harness::*;

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

    let json = p.cargo_migrate(&["import", "--from", "flyway", "flyway", "--dry-run", "--format", "json"]).ok().json();
    let not: Vec<&str> =
        json["not_converted"].as_array().unwrap().iter().map(|n| n["file"].as_str().unwrap()).collect();
    assert_eq!(not, ["20240101_other.sql", "R__views.sql"], "{json}");
    assert_eq!(json["imported"][0]["name"], "0001_a", "{json}");
    assert_eq!(json["imported"][1]["name"], "00010001_fix", "dotted V1.1 sorts after V1: {json}");
}
