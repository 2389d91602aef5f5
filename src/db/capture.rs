//! The SQL of a diesel migration (`diesel::migration::Migration<Pg>`), to be
//! run by our engine. diesel hands a migration's text only to a diesel
//! connection (`Migration::run(&mut dyn BoxableConnection<Pg>)`), and its
//! `Connection` trait is sealed; so the migration runs on a real
//! `PgConnection` connected to a stand-in server in this process, on a
//! loopback port, that records each query's text and answers "done" without
//! running anything. No database is touched and no SQL is sent anywhere; the
//! text is then sent by the runner, with the bookkeeping, through the seam.
//! It works for any `Migration` (embedded, file based, hand-written).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use diesel::migration::Migration;
use diesel::pg::Pg;
use diesel::{Connection, PgConnection};

use crate::error::{Error, Kind, Result};

/// A diesel connection to the stand-in, and what it was sent.
pub struct Capture {
    conn: PgConnection,
    sent: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    pub fn start() -> Result<Capture> {
        let failed = |what: String| {
            Error::new(Kind::Internal, format!("could not read diesel's migrations: {what}"))
                .hint("report it: diesel's migrations are read through a stand-in server on 127.0.0.1")
        };
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| failed(e.to_string()))?;
        let port = listener.local_addr().map_err(|e| failed(e.to_string()))?.port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let recorded = sent.clone();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let _ = serve(stream, &recorded);
            }
        });
        let url = format!(
            "postgres://capture@127.0.0.1:{port}/capture?sslmode=disable&gssencmode=disable&channel_binding=disable&target_session_attrs=any"
        );
        let conn = PgConnection::establish(&url).map_err(|e| failed(e.to_string()))?;
        sent.lock().map(|mut s| s.clear()).ok();
        Ok(Capture { conn, sent })
    }

    /// The text `m.run` sends; None when it sends nothing.
    pub fn up(&mut self, m: &dyn Migration<Pg>) -> Option<String> {
        self.sent.lock().map(|mut s| s.clear()).ok();
        m.run(&mut self.conn).ok()?;
        self.taken()
    }

    /// The text `m.revert` sends; None when it has no down (or sends nothing).
    pub fn down(&mut self, m: &dyn Migration<Pg>) -> Option<String> {
        self.sent.lock().map(|mut s| s.clear()).ok();
        m.revert(&mut self.conn).ok()?;
        self.taken()
    }

    fn taken(&self) -> Option<String> {
        let sent = std::mem::take(&mut *self.sent.lock().ok()?);
        (!sent.is_empty()).then(|| sent.join("\n"))
    }
}

/// The stand-in server: PostgreSQL's protocol, just enough for libpq to
/// connect (trust authentication) and for diesel's simple and extended
/// queries to succeed. Query texts are recorded; nothing is executed.
fn serve(mut stream: TcpStream, sent: &Mutex<Vec<String>>) -> std::io::Result<()> {
    // The startup packet, after any SSL or GSS encryption request (refused).
    loop {
        let len = read_i32(&mut stream)? as usize;
        let mut body = vec![0; len.saturating_sub(4)];
        stream.read_exact(&mut body)?;
        let code = body.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0);
        if code == 80877103 || code == 80877104 {
            stream.write_all(b"N")?;
            continue;
        }
        break;
    }
    let mut hello = message(b'R', &0i32.to_be_bytes());
    for (k, v) in [
        ("server_version", "15.0"),
        ("server_encoding", "UTF8"),
        ("client_encoding", "UTF8"),
        ("standard_conforming_strings", "on"),
        ("integer_datetimes", "on"),
        ("DateStyle", "ISO, MDY"),
    ] {
        hello.extend(message(b'S', format!("{k}\0{v}\0").as_bytes()));
    }
    hello.extend(message(b'K', &[0, 0, 0, 1, 0, 0, 0, 1]));
    hello.extend(message(b'Z', b"I"));
    stream.write_all(&hello)?;
    loop {
        let mut tag = [0u8; 1];
        stream.read_exact(&mut tag)?;
        let len = read_i32(&mut stream)? as usize;
        let mut body = vec![0; len.saturating_sub(4)];
        stream.read_exact(&mut body)?;
        let reply = match tag[0] {
            b'Q' => {
                record(sent, &body);
                let mut r = message(b'C', b"OK\0");
                r.extend(message(b'Z', b"I"));
                r
            }
            b'P' => {
                // Parse: the statement's name, then its text.
                if let Some(at) = body.iter().position(|b| *b == 0) {
                    record(sent, &body[at + 1..]);
                }
                message(b'1', b"")
            }
            b'B' => message(b'2', b""),
            b'D' if body.first() == Some(&b'S') => {
                let mut r = message(b't', &0i16.to_be_bytes());
                r.extend(message(b'n', b""));
                r
            }
            b'D' => message(b'n', b""),
            b'E' => message(b'C', b"OK\0"),
            b'C' => message(b'3', b""),
            b'S' => message(b'Z', b"I"),
            b'X' => return Ok(()),
            _ => Vec::new(),
        };
        stream.write_all(&reply)?;
    }
}

fn record(sent: &Mutex<Vec<String>>, text: &[u8]) {
    let text = text.split(|b| *b == 0).next().unwrap_or_default();
    if let Ok(mut s) = sent.lock() {
        s.push(String::from_utf8_lossy(text).into_owned());
    }
}

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 5);
    m.push(tag);
    m.extend(((body.len() + 4) as i32).to_be_bytes());
    m.extend(body);
    m
}

fn read_i32(stream: &mut TcpStream) -> std::io::Result<i32> {
    let mut b = [0u8; 4];
    stream.read_exact(&mut b)?;
    Ok(i32::from_be_bytes(b))
}

#[cfg(test)]
mod tests {
    use diesel::migration::MigrationSource;

    use super::*;

    #[test]
    fn a_diesel_migration_yields_its_text_and_runs_nowhere() {
        const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!("examples/embedded/migrations");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/embedded/migrations");
        let all = MigrationSource::<Pg>::migrations(&MIGRATIONS).unwrap();
        let mut capture = Capture::start().unwrap();
        for m in &all {
            let folder = dir.join(m.name().to_string());
            let up = capture.up(m.as_ref()).unwrap();
            assert_eq!(up, std::fs::read_to_string(folder.join("up.sql")).unwrap());
            let down = capture.down(m.as_ref()).unwrap();
            assert_eq!(down, std::fs::read_to_string(folder.join("down.sql")).unwrap());
        }
        assert_eq!(all.len(), 3);
    }
}
