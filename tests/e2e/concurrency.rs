use std::io::Write;
use std::process::Stdio;

use crate::harness::*;

#[test]
fn two_runs_at_once_apply_each_migration_once() {
    let db = Db::new("concurrent_runs");
    let p = Project::new(&db);
    p.migration(
        "20250101000000_slow",
        "SELECT pg_sleep(1.5);\nCREATE TABLE slow (id int);\n",
        Some("DROP TABLE slow;"),
    );
    p.table_migration("20250102000000", "after_slow");
    let a = p.command(&p.root, &["up"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let b = p.command(&p.root, &["up"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (to_run(a.wait_with_output().unwrap()).ok(), to_run(b.wait_with_output().unwrap()).ok());
    let both = format!("{}\n{}", a.all(), b.all());
    assert!(both.contains("waiting for the migration lock, held by pid"), "{both}");
    assert!(both.contains("nothing to apply"), "the second run finds nothing to do: {both}");
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
}

#[test]
fn lock_timeout_names_the_holder_and_changes_nothing() {
    let db = Db::new("lock_timeout");
    let p = Project::new(&db);
    p.table_migration("20250101000000", "a");
    // Someone holds the lock in an open session.
    let mut holder = std::process::Command::new(cluster().bin.join("psql"))
        .args(["-X", "-q", "-d", &format!("{}?application_name=someone-else", db.url)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = holder.stdin.as_mut().unwrap();
    writeln!(stdin, "SELECT pg_advisory_lock(1835624306, 1);\n\\echo locked").unwrap();
    stdin.flush().unwrap();
    // Wait until the lock is really held.
    for _ in 0..100 {
        if db.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == "1" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = p.cargo_migrate(&["up", "--lock-timeout", "1"]).fails(1);
    assert!(r.stderr.contains("someone-else"), "names the holder: {}", r.stderr);
    assert!(r.stderr.contains("--lock-timeout"), "{}", r.stderr);
    assert!(db.applied().is_empty() && !db.table_exists("a"));
    holder.kill().unwrap();
    let _ = holder.wait();
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("a"));
}
