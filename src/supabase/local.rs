//! The local development database: a PostgreSQL cluster cargo-migrate makes
//! and starts itself under the workspace's target directory, prepared like a
//! Supabase database (`local.sql`), used whenever no database is configured.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::report::{display_path, Reporter};

const PREPARE_SQL: &str = include_str!("local.sql");

pub struct Local {
    /// Holds `data/`, `sock/`, `log`, `port`, and `bin`: the PostgreSQL that made it.
    pub dir: PathBuf,
    /// `--pg-bin` / PG_BIN.
    flag_bin: Option<PathBuf>,
    /// Some((uid, gid)) when we are root and run the server as `postgres`.
    server_user: Option<(u32, u32)>,
}

impl Local {
    /// Where the cluster lives; looks nothing up and starts nothing, so that a
    /// command on a running local database pays no more than a port probe.
    pub fn locate(target_dir: &Path, workspace_root: &Path, pg_bin: Option<&Path>) -> Result<Local> {
        let server_user = if is_root() { Some(postgres_user()?) } else { None };
        // A cluster per explicit --pg-bin: data directories are not portable across versions.
        let name = match pg_bin {
            Some(bin) => format!("local-{}", &crate::names::checksum(&bin.display().to_string())[..8]),
            None => "local".to_string(),
        };
        let mut dir = target_dir.join("cargo-migrate").join(&name);
        if server_user.is_some() && !reachable_by_others(target_dir) {
            // As root the server runs as `postgres`, which cannot enter a private
            // home folder; keep the cluster in the temp folder instead.
            let ws = crate::names::checksum(&workspace_root.display().to_string())[..8].to_string();
            dir = std::env::temp_dir().join(format!("cargo-migrate-{ws}-{name}"));
        }
        Ok(Local { dir, flag_bin: pg_bin.map(Path::to_path_buf), server_user })
    }

    /// The PostgreSQL binaries: --pg-bin, else the ones that made this
    /// cluster, else the machine's (see `find_bin`).
    pub fn bin(&self) -> Result<PathBuf> {
        if let Some(flag) = &self.flag_bin {
            return find_bin(Some(flag));
        }
        if let Ok(recorded) = std::fs::read_to_string(self.dir.join("bin")) {
            let recorded = PathBuf::from(recorded.trim());
            if recorded.join("pg_ctl").is_file() {
                return Ok(recorded);
            }
        }
        find_bin(None)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn port(&self) -> Option<u16> {
        std::fs::read_to_string(self.dir.join("port")).ok()?.trim().parse().ok()
    }

    pub fn url_for(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    pub fn is_running(&self) -> bool {
        self.data().join("postmaster.pid").is_file()
            && self.port().is_some_and(|p| {
                TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], p)), Duration::from_millis(300)).is_ok()
            })
    }

    /// Start it (creating and preparing it first if needed); the URL.
    pub fn ensure_running(&self, reporter: &Reporter) -> Result<String> {
        if self.is_running() {
            let url = Self::url_for(self.port().unwrap_or_default());
            if !self.dir.join("prepared").is_file() {
                // An earlier preparation failed (it rolled back): try again.
                self.prepare(&url)?;
            }
            return Ok(url);
        }
        let fresh = !self.data().join("PG_VERSION").is_file();
        if fresh {
            self.init()?;
        }
        let port = self.start()?;
        let url = Self::url_for(port);
        if fresh || !self.dir.join("prepared").is_file() {
            self.prepare(&url)?;
        }
        reporter.note(format!(
            "using the local development database {url} ({}; `cargo migrate local stop` stops it)",
            display_path(&self.dir)
        ));
        Ok(url)
    }

    fn init(&self) -> Result<()> {
        let bin = self.bin()?;
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(self.dir.join("sock")).map_err(|e| Error::io(&self.dir, "create", e))?;
        if let Some((uid, gid)) = self.server_user {
            for d in [self.dir.clone(), self.dir.join("sock")] {
                std::os::unix::fs::chown(&d, Some(uid), Some(gid)).map_err(|e| Error::io(&d, "hand over", e))?;
            }
        }
        std::fs::write(self.dir.join("bin"), bin.display().to_string())
            .map_err(|e| Error::io(&self.dir, "write", e))?;
        let data = self.data();
        let out = self
            .server_command("initdb")?
            .args([
                "-D",
                &data.to_string_lossy(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .map_err(|e| Error::new("local_db", format!("could not run initdb: {e}")))?;
        if !out.status.success() {
            return Err(Error::new(
                "local_db",
                format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
            )
            .hint(format!("see {}; `cargo migrate local reset` starts over", display_path(&self.dir))));
        }
        // A development database: durability traded for speed (reset recreates it).
        let sock = self.dir.join("sock");
        let sock_setting = if sock.as_os_str().len() < 90 { sock.display().to_string() } else { String::new() };
        let conf = format!(
            "\n# cargo-migrate local development database\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{sock_setting}'\nunix_socket_permissions = 0700\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nwal_level = logical\n\
             max_connections = 100\nshared_buffers = 32MB\n"
        );
        let path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
        text.push_str(&conf);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, "write", e))?;
        Ok(())
    }

    fn start(&self) -> Result<u16> {
        let port = match self.port() {
            Some(p) if port_is_free(p) => p,
            _ => free_port()?,
        };
        std::fs::write(self.dir.join("port"), port.to_string())
            .map_err(|e| Error::io(&self.dir, "write the port to", e))?;
        let log = self.dir.join("log");
        let out = self
            .server_command("pg_ctl")?
            .args(["-D", &self.data().to_string_lossy(), "-l", &log.to_string_lossy(), "-w", "-t", "60"])
            .args(["-o", &format!("-p {port}"), "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::new("local_db", format!("could not run pg_ctl: {e}")))?;
        if !out.status.success() {
            let tail: String = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n  ");
            return Err(Error::new(
                "local_db",
                format!("the local database did not start: {}", String::from_utf8_lossy(&out.stderr).trim()),
            )
            .detail(format!("  {tail}"))
            .hint("`cargo migrate local reset` recreates it"));
        }
        Ok(port)
    }

    fn prepare(&self, url: &str) -> Result<()> {
        use diesel::connection::SimpleConnection;
        let mut conn = crate::connection::connect(url, 10, "prepare")?;
        conn.batch_execute(PREPARE_SQL).map_err(|e| {
            Error::new("local_db", format!("could not prepare the local database like Supabase: {e}"))
                .hint("`cargo migrate local reset` recreates it")
        })?;
        std::fs::write(self.dir.join("prepared"), "").map_err(|e| Error::io(&self.dir, "write", e))
    }

    pub fn stop(&self) -> Result<bool> {
        if !self.data().join("postmaster.pid").is_file() {
            return Ok(false);
        }
        let out = self
            .server_command("pg_ctl")?
            .args(["-D", &self.data().to_string_lossy(), "-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .output()
            .map_err(|e| Error::new("local_db", format!("could not run pg_ctl: {e}")))?;
        if !out.status.success() {
            return Err(Error::new(
                "local_db",
                format!("could not stop the local database: {}", String::from_utf8_lossy(&out.stderr).trim()),
            ));
        }
        Ok(true)
    }

    /// Drop everything and start over: the seed's `db:reset`.
    pub fn reset(&self, reporter: &Reporter) -> Result<String> {
        self.stop()?;
        std::fs::remove_dir_all(&self.dir).or_else(ignore_missing).map_err(|e| Error::io(&self.dir, "remove", e))?;
        self.ensure_running(reporter)
    }

    fn server_command(&self, program: &str) -> Result<Command> {
        let mut cmd = Command::new(self.bin()?.join(program));
        if let Some((uid, gid)) = self.server_user {
            cmd.uid(uid).gid(gid);
        }
        Ok(cmd)
    }
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// `--pg-bin`/PG_BIN, else `pg_config --bindir`, else PATH, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn find_bin(flag: Option<&Path>) -> Result<PathBuf> {
    let has_server = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = flag {
        if has_server(dir) {
            return Ok(dir.to_path_buf());
        }
        return Err(Error::new("no_postgres", format!("{} has no initdb and pg_ctl", dir.display()))
            .hint("point --pg-bin (or PG_BIN) at a PostgreSQL bin folder, e.g. /usr/lib/postgresql/16/bin"));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").stderr(Stdio::null()).output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_server(d)) {
            return Ok(dir);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .filter(|(_, d)| has_server(d))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, d)| d).ok_or_else(|| {
        Error::new("no_postgres", "no database configured, and no PostgreSQL server binaries (initdb, pg_ctl) to start a local one")
            .hint(
                "install PostgreSQL (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql@16`) \
                 or point --pg-bin/PG_BIN at its bin folder; or set DATABASE_URL (or the Supabase variables) to use another database",
            )
    })
}

fn is_root() -> bool {
    // SAFETY-free check: /proc/self/status's Uid line; falls back to USER.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or_else(|| std::env::var("USER").is_ok_and(|u| u == "root"))
}

fn postgres_user() -> Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"postgres") && f.len() > 3).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
        .ok_or_else(|| {
            Error::new(
                "local_db",
                "running as root, and PostgreSQL refuses to run as root; there is no `postgres` user to run it as",
            )
            .hint("create one (`useradd --system postgres`) or run cargo migrate as a normal user")
        })
}

/// Can other users walk down to this folder (or its nearest existing parent)?
fn reachable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors().filter_map(|a| std::fs::metadata(a).ok()).all(|m| m.permissions().mode() & 0o001 != 0)
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::new("local_db", format!("no free loopback port for the local database: {e}")))
}
