//! `cargo migrate down`: what it refuses, checked against the catalog.

use crate::harness::*;
use crate::support::three;

/// On a standby (a streaming replica in recovery) a write command says so
/// before writing anything, not "cannot execute REVOKE in a read-only
/// transaction"; `status` still reads it.
#[test]
fn down_and_up_on_a_standby_say_it_is_a_standby() {
    let replica = Replica::new("down");
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), replica.primary.clone())];
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    p.table_migration("20250102000000", "b");
    replica.catch_up();
    p.env = vec![("DATABASE_URL".into(), replica.standby.clone())];
    for args in [&["down", "--yes", "--format", "json"][..], &["up", "--format", "json"][..]] {
        let r = p.cargo_migrate(args).fails(1);
        assert_eq!(r.json()["error"]["kind"], "standby", "{args:?}: {}", r.all());
    }
    let j = p.cargo_migrate(&["status", "--format", "json"]).ok().json();
    assert_eq!((j["summary"]["applied"].as_u64(), j["summary"]["pending"].as_u64()), (Some(1), Some(1)));
    let applied = psql(&replica.primary, "SELECT string_agg(version, ',') FROM __diesel_schema_migrations");
    assert_eq!(applied, "20250101000000");
}

#[test]
fn an_unclosed_comment_is_refused_before_anything_runs() {
    let db = Db::new("up_unclosed_dollar");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_fn",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n",
        Some("DROP FUNCTION f();\n/* gone\nSELECT 1;\n"),
    );
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate(&["down", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "unclosed_sql", "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    p.migration(
        "20250102000000_body",
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 2 $$;\n",
        Some("DROP FUNCTION g();"),
    );
    let r = p.cargo_migrate(&["up", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "unclosed_sql", "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
}

/// A down.sql that would fail (CONCURRENTLY in a transaction) stops what
/// would run it (`down`, `redo`, `verify`), never the `up` of the project's
/// future, which says it as a warning.
#[test]
fn a_lint_error_in_down_sql_stops_down_redo_and_verify_not_up() {
    let db = Db::new("down_lint_error");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_items",
        "CREATE TABLE items (id int);\nCREATE INDEX items_id ON items (id);\n",
        Some("DROP INDEX CONCURRENTLY items_id;\nDROP TABLE items;\n"),
    );
    let r = p.cargo_migrate(&["up"]).ok();
    assert!(r.stderr.contains("warning[concurrently_in_transaction]"), "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    for args in [
        &["down", "--format", "json"][..],
        &["down", "--dry-run", "--format", "json"],
        &["redo", "--format", "json"],
        &["verify", "--all", "--scratch-url", &db.url, "--format", "json"],
    ] {
        let r = p.cargo_migrate(args).fails(1);
        assert_eq!(r.json()["error"]["kind"], "lint_failed", "{args:?}: {}", r.all());
        assert_eq!(db.applied(), ["20250101000000"], "{args:?}");
    }
    // Asked to, it runs, and PostgreSQL says what the check said.
    let r = p.cargo_migrate(&["down", "--no-lint", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "migration_failed", "{}", r.all());
    assert!(db.table_exists("items"));
}

/// `down` checks only the down.sql files it has not found clean before (the
/// cache under XDG_CACHE_HOME): an edit, or a rule turned back on, is
/// checked again.
#[test]
fn a_down_sql_found_clean_is_checked_again_when_it_or_the_rules_change() {
    let db = Db::new("down_lint_cache");
    let p = Project::new(&db);
    let up = "CREATE TABLE items (id int);\nCREATE INDEX items_id ON items (id);\n";
    p.migration("20250101000000_items", up, Some("DROP TABLE items;\n"));
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate(&["down"]).ok();
    let cache = p.root.join("target/cache/cargo-migrate/lint-clean-1.txt");
    let known = std::fs::read_to_string(&cache).unwrap_or_default();
    assert!(!known.trim().is_empty(), "the clean down.sql is remembered: {}", r.all());
    p.cargo_migrate(&["up"]).ok();
    // Edited: checked again, and its error found.
    p.migration("20250101000000_items", up, Some("DROP INDEX CONCURRENTLY items_id; DROP TABLE items;\n"));
    let r = p.cargo_migrate(&["down", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "lint_failed", "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
    // Turned off, the rule finds nothing, and that answer is remembered for
    // that setting only.
    let manifest = std::fs::read_to_string(p.root.join("Cargo.toml")).unwrap();
    p.write(
        "Cargo.toml",
        &format!("{manifest}[package.metadata.migrate.lint]\nignore = [\"concurrently_in_transaction\"]\n"),
    );
    p.cargo_migrate(&["down", "--dry-run"]).ok();
    p.write("Cargo.toml", &manifest);
    let r = p.cargo_migrate(&["down", "--dry-run", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "lint_failed", "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"]);
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

#[test]
fn down_batch_reverts_what_the_last_up_applied() {
    let db = Db::new("batches");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    p.table_migration("20250102000000", "b");
    p.table_migration("20250103000000", "c");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate_json(&["status"]).ok().json();
    let batches: Vec<_> = j["migrations"].as_array().unwrap().iter().map(|m| m["batch"].as_i64()).collect();
    assert_eq!(batches, [Some(1), Some(2), Some(2)], "{j}");
    let r = p.cargo_migrate_json(&["down", "--batch"]).ok();
    assert_eq!(r.steps(), ["reverted 20250103000000_create_c", "reverted 20250102000000_create_b"]);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(db.table_exists("a") && !db.table_exists("b") && !db.table_exists("c"));
    p.cargo_migrate(&["down", "--batch", "--count", "1"]).fails(2);
}

#[test]
fn a_migration_whose_folder_is_gone_is_reverted_from_the_stored_down_sql() {
    let db = Db::new("stored_down");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "kept");
    p.migration(
        "20250102000000_feature_branch",
        "CREATE TABLE feature (id int);\nCREATE INDEX feature_id ON feature (id);\n",
        Some("DROP INDEX feature_id;\nDROP TABLE feature;\n"),
    );
    p.cargo_migrate(&["up"]).ok();
    // Switching branches takes the folder away.
    std::fs::remove_dir_all(p.root.join("migrations/20250102000000_feature_branch")).unwrap();
    let r = p.cargo_migrate_json(&["status"]).ok();
    assert_eq!(r.anomalies(), ["missing_on_disk"], "{}", r.stdout);
    let r = p.cargo_migrate_json(&["down"]).ok();
    assert_eq!(r.steps(), ["reverted 20250102000000_feature_branch"]);
    assert_eq!(r.json()["migrations"][0]["from_stored_down"], true, "{}", r.stdout);
    assert_eq!(db.applied(), ["20250101000000"]);
    assert!(!db.table_exists("feature") && db.table_exists("kept"));
    // Nothing to re-apply it from: redo refuses, and changes nothing.
    p.migration("20250103000000_again", "CREATE TABLE again (id int);\n", Some("DROP TABLE again;\n"));
    p.cargo_migrate(&["up"]).ok();
    std::fs::remove_dir_all(p.root.join("migrations/20250103000000_again")).unwrap();
    p.cargo_migrate_json(&["redo"]).fails_with(1, "missing_on_disk");
    assert!(db.table_exists("again"));
}

#[test]
fn an_edited_down_sql_is_not_what_reverts_an_applied_migration() {
    let db = Db::new("edited_down");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_two_tables",
        "CREATE TABLE one (id int);\nCREATE TABLE two (id int);\n",
        Some("DROP TABLE two;\nDROP TABLE one;\n"),
    );
    p.cargo_migrate(&["up"]).ok();
    // After it was applied, someone rewrites down.sql for a newer up.sql.
    p.write("migrations/20250101000000_two_tables/down.sql", "DROP TABLE three;\n");
    let j = p.cargo_migrate(&["down", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["from_stored_down"], true, "{j}");
    assert!(!db.table_exists("one") && !db.table_exists("two"));
    assert!(db.applied().is_empty());
    // Re-applied with the new file, that file is what is stored (and used) next.
    p.write("migrations/20250101000000_two_tables/down.sql", "DROP TABLE two;\nDROP TABLE one;\n");
    p.cargo_migrate(&["up"]).ok();
    let j = p.cargo_migrate(&["down", "--format", "json"]).ok().json();
    assert_eq!(j["migrations"][0]["from_stored_down"], false, "{j}");
}

#[test]
fn reverting_on_a_database_that_is_not_local_needs_yes_outside_a_terminal() {
    let mut p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    // Nothing resolves this name: were it contacted, the error would say so.
    p.env = vec![("DATABASE_URL".into(), "postgres://deploy@db.prod.invalid:5432/app".into())];
    // Refused before connecting: otherwise the kind would be `connect`.
    for args in [&["down"][..], &["redo"], &["down", "--all"]] {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        p.cargo_migrate(&args).fails_with(1, "confirmation_needed");
    }
    p.cargo_migrate_json(&["down", "--yes", "--connect-timeout", "2"]).fails_with(1, "connect");
    // `up` is not asked about, and a local database never is.
    p.cargo_migrate_json(&["up", "--connect-timeout", "2"]).fails_with(1, "connect");
    let db = Db::new("guard_local");
    p.env = vec![("DATABASE_URL".into(), db.url.clone())];
    p.cargo_migrate(&["up"]).ok();
    let r = p.cargo_migrate_json(&["down"]).ok();
    assert_eq!(r.steps(), ["reverted 20250101000000_create_a"]);
    assert!(db.applied().is_empty());
}

#[test]
fn on_a_terminal_reverting_a_database_that_is_not_local_is_asked_about() {
    if !std::path::Path::new("/usr/bin/script").is_file() {
        eprintln!("skipped: no /usr/bin/script to give the command a terminal");
        return;
    }
    let db = Db::new("guard_tty");
    // 0.0.0.0 reaches this machine on Linux, yet it is not a local address by name.
    let url = db.url.replace("127.0.0.1", "0.0.0.0");
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), url)];
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up"]).ok();
    let down = |answer: &str| {
        let bin = env!("CARGO_BIN_EXE_cargo-migrate");
        let mut cmd = std::process::Command::new("/usr/bin/script");
        cmd.args(["-qec", &format!("{bin} down"), "/dev/null"]).current_dir(&p.root);
        p.environment(&mut cmd);
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        to_run(child.wait_with_output().unwrap())
    };
    let r = down("n\n");
    // The question a user reads; no is no.
    assert!(r.stdout.contains("which is not a local database: go on? [y/N]"), "{}", r.all());
    assert_eq!(db.applied(), ["20250101000000"], "nothing reverted");
    assert!(db.table_exists("a"), "nothing reverted");
    let r = down("y\n");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(db.applied().is_empty() && !db.table_exists("a"));
}

#[test]
fn down_reverts_newest_then_count_then_all() {
    let db = Db::new("down_modes");
    let p = Project::new(&db);
    three(&p);
    p.table_migration("20250628125031", "projects");
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.applied().len(), 3);
    assert!(!db.table_exists("projects"));
    p.cargo_migrate(&["down", "--count", "2"]).ok();
    assert_eq!(db.applied(), ["20250615051828"]);
    assert!(!db.table_exists("participants") && db.table_exists("meetings"));
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["down", "--all"]).ok();
    assert!(db.applied().is_empty());
    assert_eq!(db.query("SELECT count(*) FROM cargo_migrate.migrations"), "0");
    let r = p.cargo_migrate_json(&["down"]).ok();
    assert!(r.steps().is_empty(), "{}", r.stdout);
}

#[test]
fn down_version_keeps_that_version_and_reverts_what_came_after() {
    let db = Db::new("down_version");
    let p = Project::new(&db);
    three(&p);
    p.table_migration("20250628125031", "projects");
    p.cargo_migrate(&["up"]).ok();
    // The seed's `migrate:down -- 20250615051828`.
    p.cargo_migrate(&["down", "20250615053210"]).ok();
    assert_eq!(db.applied(), ["20250615051828", "20250615053210"]);
    assert!(db.table_exists("participants") && !db.table_exists("knowledge"));
    // --to is the same; a folder name works too.
    p.cargo_migrate(&["up"]).ok();
    p.cargo_migrate(&["down", "--to", "20250615051828_create_meetings"]).ok();
    assert_eq!(db.applied(), ["20250615051828"]);
}

#[test]
fn down_to_a_version_that_is_not_applied_is_refused() {
    let db = Db::new("down_not_applied");
    let p = Project::new(&db);
    three(&p);
    p.cargo_migrate(&["up", "--count", "2"]).ok();
    p.cargo_migrate_json(&["down", "20250619185326"]).fails_with(2, "not_applied");
    p.cargo_migrate_json(&["down", "19990101000000"]).fails_with(2, "not_applied");
    assert_eq!(db.applied().len(), 2);
}

#[test]
fn missing_or_empty_down_sql_refuses_before_touching_anything() {
    let db = Db::new("down_missing");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    p.migration("20250102000000_create_b", "CREATE TABLE b (id int);", None);
    p.table_migration("20250103000000", "c");
    p.cargo_migrate(&["up"]).ok();
    // Reverting c then b: b has no down.sql, so not even c is reverted.
    p.cargo_migrate_json(&["down", "--count", "2"]).fails_with(1, "missing_down");
    assert_eq!(db.applied().len(), 3);
    assert!(db.table_exists("c"));
    // An empty (comments only) down.sql is refused the same way.
    p.write("migrations/20250102000000_create_b/down.sql", "-- TODO\n");
    p.cargo_migrate_json(&["down", "--count", "2"]).fails_with(1, "empty_down");
    assert_eq!(db.applied().len(), 3);
}
