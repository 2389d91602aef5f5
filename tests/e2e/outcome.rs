//! When the connection drops after COMMIT was sent, the outcome is unknown to
//! the client: the run must ask the database instead of guessing.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::harness::*;

/// A TCP proxy to the test cluster. The first time the client sends bytes
/// containing `marker`, they reach the server, but the client's side is cut
/// at once and the server's reply is swallowed: the server commits, the client
/// never hears of it. Later connections pass through untouched.
fn cutting_proxy(marker: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut_done = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(("127.0.0.1", cluster_port())).unwrap();
            let cut_done = cut_done.clone();
            let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_read, mut c_write) = (server, client);
            let cut = Arc::new(AtomicBool::new(false));
            let cut2 = cut.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                while let Ok(n) = c_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    // The cut is decided before the bytes reach the server: otherwise, on a
                    // busy machine, its reply could be forwarded before `cut` is set.
                    if !cut_done.load(Ordering::SeqCst) && buf[..n].windows(marker.len()).any(|w| w == marker) {
                        cut_done.store(true, Ordering::SeqCst);
                        cut2.store(true, Ordering::SeqCst);
                        let _ = s_write.write_all(&buf[..n]);
                        let _ = c_read.shutdown(Shutdown::Both);
                        break;
                    }
                    let _ = s_write.write_all(&buf[..n]);
                }
            });
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    match s_read.read(&mut buf) {
                        Ok(0) => break,
                        // After the cut, keep draining so the server finishes its work,
                        // then hang up as a dead network eventually does.
                        Ok(_) if cut.load(Ordering::SeqCst) => {
                            let _ = s_read.set_read_timeout(Some(Duration::from_millis(500)));
                        }
                        Ok(n) => {
                            if c_write.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                let _ = s_read.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_commit_whose_reply_was_lost_is_reported_as_applied() {
    let db = Db::new("lost_commit");
    let port = cutting_proxy(b"cut-the-wire-here");
    let mut p = Project::bare("app");
    let url = format!("postgres://postgres@127.0.0.1:{port}/{}?sslmode=disable", db.name());
    p.env = vec![("DATABASE_URL".into(), url)];
    p.table_migration("20250101000000", "first");
    p.migration("20250102000000_cut", "-- cut-the-wire-here\nCREATE TABLE cut (id int);\n", Some("DROP TABLE cut;"));
    p.table_migration("20250103000000", "third");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "connection_lost");
    let j = r.json();
    let done: Vec<&str> =
        j["error"]["done_before"].as_array().unwrap().iter().map(|d| d["version"].as_str().unwrap()).collect();
    assert_eq!(done, ["20250101000000", "20250102000000"], "{}", r.stdout);
    // The database agrees: committed, and the third was never started.
    assert_eq!(db.applied(), ["20250101000000", "20250102000000"]);
    assert!(db.table_exists("cut") && !db.table_exists("third"));
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(db.applied().len(), 3);
}
