//! Expand/contract: `create --rename-column` writes the expand (new column,
//! sync trigger, batched backfill, a schema per app version) and
//! `complete VERSION` the contract, while an old and a new app version read
//! and write all the time.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

const ROWS: i64 = 30_000;

/// An app session: with `search_path` = `path`, until `stop_<name>` has a row,
/// it updates a random row of its own half of the ids through `column`,
/// reads it back (a lost or mangled write stops it with an error), logs it,
/// and inserts a row now and then. lock_timeout 2 s: a longer wait is an error too.
fn app(db: &Db, name: &str, path: &str, column: &str, odd: i64) -> Child {
    let body = format!(
        "DO $$ DECLARE r bigint; v text; got text; k int := 0; BEGIN \
           WHILE NOT EXISTS (SELECT FROM public.stop_{name}) LOOP \
             k := k + 1; r := 2 * (random() * ({ROWS} / 2 - 1))::bigint + 1 + {odd}; v := '{name}' || k || '@x'; \
             EXECUTE 'UPDATE users SET {column} = $1 WHERE id = $2' USING v, r; \
             EXECUTE 'SELECT {column} FROM users WHERE id = $1' INTO got USING r; \
             IF got IS DISTINCT FROM v THEN RAISE EXCEPTION 'read % after writing % to %', got, v, r; END IF; \
             INSERT INTO public.app_log VALUES ('{name}', r, v, k); \
             IF k % 10 = 0 THEN \
               EXECUTE 'INSERT INTO users (id, {column}) VALUES ($1, $2)' USING {base} + k, v || '-new'; \
               INSERT INTO public.app_log VALUES ('{name}', {base} + k, v || '-new', k); \
             END IF; \
             COMMIT; PERFORM pg_sleep(0.003); \
           END LOOP; END $$;",
        base = if odd == 0 { 1_000_000 } else { 2_000_000 },
    );
    Command::new(cluster().bin.join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url])
        .args(["-c", &format!("SET search_path = {path}"), "-c", "SET lock_timeout = '2s'", "-c", &body])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start an app session")
}

fn stop(db: &Db, name: &str, mut child: Child) {
    db.query(&format!("INSERT INTO stop_{name} VALUES (1)"));
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "the {name} app failed: {err}");
}

#[test]
fn an_old_and_a_new_app_read_and_write_through_expand_backfill_and_complete() {
    let db = Db::new("expand_rename");
    db.query(&format!(
        "CREATE TABLE users (id bigint PRIMARY KEY, email text); \
         INSERT INTO users SELECT g, 'u' || g || '@x' FROM generate_series(1, {ROWS}) g; \
         CREATE TABLE stop_old (x int); CREATE TABLE stop_new (x int); \
         CREATE TABLE app_log (app text, id bigint, v text, k int)"
    ));
    let p = Project::new(&db);
    p.table_migration("20250101000000", "before");
    p.cargo_migrate(&["up"]).ok();
    let created =
        p.cargo_migrate_json(&["create", "rename_email", "--rename-column", "users.email:contact_email"]).ok();
    let c = created.json();
    let version = c["version"].as_str().unwrap().to_string();
    let files: Vec<String> = c["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(files, ["up.sql", "down.sql", "metadata.toml", "complete.sql"], "{}", created.all());

    // The old app runs before, during and after the expand (its schema comes with it).
    let old = app(&db, "old", "app_20250101000000, public", "email", 0);
    std::thread::sleep(Duration::from_millis(300));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(
        db.query("SELECT count(*) FROM users WHERE contact_email IS DISTINCT FROM email"),
        "0",
        "backfilled and in step"
    );
    // The new app from its version's schema.
    let new = app(&db, "new", &format!("app_{version}, public"), "contact_email", 1);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        db.query("SELECT count(*) FROM users WHERE contact_email IS DISTINCT FROM email"),
        "0",
        "each write reaches both"
    );
    // The old version is retired, then the contract, while the new app goes on.
    stop(&db, "old", old);
    p.cargo_migrate(&["complete", &version]).ok();
    std::thread::sleep(Duration::from_millis(500));
    stop(&db, "new", new);

    assert_eq!(db.query("SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email' AND NOT attisdropped"), "0");
    assert_eq!(db.query("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'users'::regclass AND NOT tgisinternal"), "0");
    assert_eq!(db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'app_20250101000000'"), "0");
    assert_eq!(db.query(&format!("SELECT count(*) FROM pg_views WHERE schemaname = 'app_{version}'")), "1");
    // No lost write: each row's last logged value is what it holds.
    let lost = db.query(
        "SELECT count(*) FROM (SELECT DISTINCT ON (app, id) id, v FROM app_log ORDER BY app, id, k DESC) l \
         JOIN users u USING (id) WHERE u.contact_email IS DISTINCT FROM l.v",
    );
    assert_eq!(lost, "0");
    assert!(db.query("SELECT count(DISTINCT app) FROM app_log") == "2");
    assert_eq!(db.query("SELECT count(*) FROM users WHERE contact_email IS NULL"), "0");
    // Completed: its down refuses, and says why.
    p.cargo_migrate_json(&["down"]).fails_with(1, "migration_failed");
}

#[test]
fn down_before_complete_removes_what_the_expand_added() {
    let db = Db::new("expand_down");
    db.query("CREATE TABLE orders (id bigint PRIMARY KEY, total int); INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g");
    let p = Project::new(&db);
    let c = p
        .cargo_migrate_json(&[
            "create",
            "widen_total",
            "--change-type",
            "orders.total:numeric(12,2):USING total::numeric / 100",
        ])
        .ok();
    let version = c.json()["version"].as_str().unwrap().to_string();
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.query("SELECT total_new FROM orders WHERE id = 250"), "2.50");
    db.query("UPDATE orders SET total = 1234 WHERE id = 1");
    assert_eq!(
        db.query("SELECT total_new FROM orders WHERE id = 1"),
        "12.34",
        "the trigger keeps the new column in step"
    );
    p.cargo_migrate(&["down"]).ok();
    assert_eq!(db.query("SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'total_new' AND NOT attisdropped"), "0");
    assert_eq!(
        db.query("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal"),
        "0"
    );
    assert_eq!(
        db.query(&format!("SELECT count(*) FROM pg_namespace WHERE nspname IN ('app_{version}', 'app_base')")),
        "0"
    );
    // Nothing applied: nothing to complete.
    p.cargo_migrate_json(&["complete", &version]).fails_with(1, "nothing_to_complete");
}
