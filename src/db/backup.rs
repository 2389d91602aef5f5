//! `up --backup`: a `pg_dump` of the target before anything is written (the
//! "Always backup first!" of the node-pg-migrate team workflow). pg_dump refuses a server newer than
//! itself, so the one used is the closest whose major version is the
//! server's or newer; the dump is written only by the user (0600), never
//! into the migrations folder, and the password reaches pg_dump through its
//! environment, not its command line (which `ps` shows to everyone).

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::query_error;
use super::session::Session;
use crate::error::{Error, Kind, Result};
use crate::url::DbUrl;

pub struct Dump {
    pub path: PathBuf,
    pub bytes: u64,
    pub pg_dump: PathBuf,
}

/// The server's major version (15, 17, …).
pub fn server_major(conn: &mut dyn Session) -> Result<u32> {
    let rows = conn
        .query("SELECT pg_catalog.current_setting('server_version_num')", &[])
        .map_err(|e| query_error("read the server's version", e))?;
    Ok(rows.text(0, 0).and_then(|v| v.parse::<u32>().ok()).map(|n| n / 10000).unwrap_or(0))
}

/// The major version a pg_dump says it is (`pg_dump (PostgreSQL) 15.18 …`).
fn major_of(pg_dump: &Path) -> Option<u32> {
    let out = Command::new(pg_dump).arg("--version").stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    version.split(['.', 'b', 'r']).next()?.parse().ok()
}

/// Every `program` (pg_dump, pg_restore) this machine has: the given folders
/// first, then PATH, then each /usr/lib/postgresql/<version>/bin. A file
/// reached twice (`/bin` is a link to `/usr/bin` on most systems) is listed
/// once, under the first name it was reached by: Debian's `/usr/bin/pg_dump`
/// is a link to a wrapper that reads its own name, so the name is run, not
/// the file it resolves to.
fn candidates(dirs: &[PathBuf], program: &str) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = dirs.iter().map(|d| d.join(program)).collect();
    if let Some(path) = std::env::var_os("PATH") {
        all.extend(std::env::split_paths(&path).map(|d| d.join(program)));
    }
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> =
            rd.filter_map(|e| e.ok()).map(|e| e.path().join("bin").join(program)).collect();
        versions.sort();
        all.extend(versions);
    }
    let mut seen = std::collections::HashSet::new();
    all.retain(|p| p.is_file() && seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    all
}

/// The first of `candidates` with the smallest major version that is
/// `server` or newer, asking `major` (a process start each, 40 ms for
/// Debian's wrapper) only until one is exactly `server`: none after it can
/// be closer. Otherwise every one asked, with its version, for the error.
fn closest<P: Clone>(
    candidates: Vec<P>,
    server: u32,
    mut major: impl FnMut(&P) -> Option<u32>,
) -> std::result::Result<P, Vec<(u32, P)>> {
    let mut found: Vec<(u32, P)> = Vec::new();
    for p in candidates {
        let Some(m) = major(&p) else { continue };
        if m == server {
            return Ok(p);
        }
        found.push((m, p));
    }
    match found.iter().filter(|(m, _)| *m >= server).min_by_key(|(m, _)| *m) {
        Some((_, best)) => Ok(best.clone()),
        None => Err(found),
    }
}

/// The closest pg_dump that can dump a server of major version `server`.
pub fn find_pg_dump(server: u32, dirs: &[PathBuf]) -> Result<PathBuf> {
    find_program("pg_dump", server, dirs)
}

/// The closest `program` (pg_dump, pg_restore) of major version `server` or newer.
pub fn find_program(program: &str, server: u32, dirs: &[PathBuf]) -> Result<PathBuf> {
    let found = match closest(candidates(dirs, program), server, |p| major_of(p)) {
        Ok(best) => return Ok(best),
        Err(found) => found,
    };
    let seen: Vec<String> = found.iter().map(|(m, p)| format!("{} ({m})", p.display())).collect();
    Err(Error::new(
        Kind::Backup { inside_migrations: false },
        format!(
            "no {program} for PostgreSQL {server} or newer (pg_dump refuses a server newer than itself); found: {}; nothing was run",
            if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
        ),
    )
    .hint(format!(
        "install PostgreSQL {server}'s client (Debian/Ubuntu: postgresql-client-{server}, from apt.postgresql.org if your \
         release lacks it) or point --pg-bin at its bin folder"
    )))
}

/// Dump the database at `url` with `pg_dump` into `dir`, as `<db>-<stamp>.dump`
/// (custom format: `pg_restore` reads it).
pub fn dump(url: &DbUrl, pg_dump: &Path, dir: &Path, stamp: &str) -> Result<Dump> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the backup folder", e))?;
    let db = url.dbname.as_deref().unwrap_or("postgres");
    let safe: String =
        db.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let path = dir.join(format!("{safe}-{stamp}.dump"));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, "create the backup file", e))?;
    let mut cmd = Command::new(pg_dump);
    cmd.args(["--format=custom", "--no-password", "--dbname"]).arg(conninfo(url)).stdout(file).stderr(Stdio::piped());
    if let Some(pw) = &url.password {
        cmd.env("PGPASSWORD", pw);
    }
    let result = cmd.output();
    let failed = |why: String| {
        let _ = std::fs::remove_file(&path);
        Error::new(
            Kind::Backup { inside_migrations: false },
            format!("the backup failed, so nothing was run: {}", crate::show::clean(&why)),
        )
        .hint("fix what pg_dump says (or run without --backup after backing up another way)")
    };
    match result {
        Err(e) => Err(failed(format!("could not run {}: {e}", pg_dump.display()))),
        Ok(out) if !out.status.success() => Err(failed(String::from_utf8_lossy(&out.stderr).trim().to_string())),
        Ok(_) => {
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            Ok(Dump { path, bytes, pg_dump: pg_dump.to_path_buf() })
        }
    }
}

/// What pg_restore said when it went on past errors (it exits 1 then).
pub struct Restored {
    pub warnings: Option<String>,
}

/// Restore the custom-format dump `file` into the (empty) database at `into`.
pub fn restore(into: &DbUrl, pg_restore: &Path, file: &Path) -> Result<Restored> {
    let mut cmd = Command::new(pg_restore);
    cmd.args(["--no-password", "--exit-on-error", "--dbname"]).arg(conninfo(into)).arg(file);
    with_password(&mut cmd, into);
    let out = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output();
    restored(pg_restore, out)
}

/// `pg_dump | pg_restore`: copy the database at `from` into the (empty) one at `into`.
pub fn copy(from: &DbUrl, pg_dump: &Path, into: &DbUrl, pg_restore: &Path) -> Result<Restored> {
    let mut dump = Command::new(pg_dump);
    dump.args(["--format=custom", "--no-password", "--dbname"]).arg(conninfo(from));
    with_password(&mut dump, from);
    let mut dumping = dump
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| copy_failed(format!("could not run {}: {e}", pg_dump.display())))?;
    let pipe = dumping.stdout.take().map(Stdio::from).unwrap_or_else(Stdio::null);
    let mut load = Command::new(pg_restore);
    load.args(["--no-password", "--exit-on-error", "--dbname"]).arg(conninfo(into));
    with_password(&mut load, into);
    let loaded = load.stdin(pipe).stdout(Stdio::null()).stderr(Stdio::piped()).output();
    let dumped = dumping.wait_with_output();
    match dumped {
        Err(e) => return Err(copy_failed(format!("pg_dump: {e}"))),
        Ok(out) if !out.status.success() => {
            return Err(copy_failed(format!("pg_dump: {}", String::from_utf8_lossy(&out.stderr).trim())))
        }
        Ok(_) => {}
    }
    restored(pg_restore, loaded)
}

fn restored(pg_restore: &Path, out: std::io::Result<std::process::Output>) -> Result<Restored> {
    match out {
        Err(e) => Err(copy_failed(format!("could not run {}: {e}", pg_restore.display()))),
        Ok(out) if !out.status.success() => {
            Err(copy_failed(format!("pg_restore: {}", String::from_utf8_lossy(&out.stderr).trim())))
        }
        Ok(out) => {
            let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Ok(Restored { warnings: (!said.is_empty()).then(|| crate::show::clean(&said).into_owned()) })
        }
    }
}

fn copy_failed(why: String) -> Error {
    Error::new(
        Kind::Rehearsal,
        format!("the scratch copy could not be made, so nothing was rehearsed: {}", crate::show::clean(&why)),
    )
    .hint("fix what it says; the target was not changed (the scratch database is dropped)")
}

fn with_password(cmd: &mut Command, url: &DbUrl) {
    if let Some(pw) = &url.password {
        cmd.env("PGPASSWORD", pw);
    }
}

/// A key/value connection string without the password.
pub(crate) fn conninfo(url: &DbUrl) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut parts = Vec::new();
    if !url.host.is_empty() {
        parts.push(format!("host={}", quote(&url.host)));
    }
    if let Some(port) = url.port {
        parts.push(format!("port={port}"));
    }
    if let Some(user) = &url.user {
        parts.push(format!("user={}", quote(user)));
    }
    if let Some(db) = &url.dbname {
        parts.push(format!("dbname={}", quote(db)));
    }
    for (k, v) in &url.params {
        if !matches!(k.as_str(), "password" | "host" | "port" | "user" | "dbname") {
            parts.push(format!("{k}={}", quote(v)));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_string_for_pg_dump_has_no_password() {
        let url = crate::url::parse_any("postgres://me:s3cret@db.example.com:6000/app?sslmode=require").ok().unwrap();
        let c = conninfo(&url);
        assert_eq!(c, "host='db.example.com' port=6000 user='me' dbname='app' sslmode='require'");
        assert!(!c.contains("s3cret"));
    }

    #[test]
    fn the_closest_program_is_the_first_of_the_smallest_major_not_older_than_the_server() {
        let majors = [("a", Some(17)), ("b", None), ("c", Some(14)), ("d", Some(16)), ("e", Some(16))];
        let mut asked = Vec::new();
        let best = closest(majors.iter().map(|(n, _)| *n).collect(), 15, |n| {
            asked.push(*n);
            majors.iter().find(|(m, _)| m == n).and_then(|(_, v)| *v)
        });
        assert_eq!(best, Ok("d"));
        assert_eq!(asked, ["a", "b", "c", "d", "e"], "without an exact match every one is asked");
    }

    #[test]
    fn an_exact_match_stops_the_asking() {
        let majors = [("a", Some(17)), ("b", Some(15)), ("c", Some(15))];
        let mut asked = Vec::new();
        let best = closest(majors.iter().map(|(n, _)| *n).collect(), 15, |n| {
            asked.push(*n);
            majors.iter().find(|(m, _)| m == n).and_then(|(_, v)| *v)
        });
        assert_eq!(best, Ok("b"));
        assert_eq!(asked, ["a", "b"]);
    }

    #[test]
    fn none_new_enough_lists_what_was_found() {
        let best = closest(vec!["a", "b"], 17, |n| Some(if *n == "a" { 14 } else { 16 }));
        assert_eq!(best, Err(vec![(14, "a"), (16, "b")]));
    }

    #[test]
    fn a_program_reached_by_two_names_is_listed_once_under_the_first() {
        let tmp = std::env::temp_dir().join(format!("cargo-migrate-candidates-{}", std::process::id()));
        let (real, link) = (tmp.join("real"), tmp.join("link"));
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join("pg_fake_tool"), "").unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let found = candidates(&[link.clone(), real.clone()], "pg_fake_tool");
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(found, vec![link.join("pg_fake_tool")]);
    }
}
