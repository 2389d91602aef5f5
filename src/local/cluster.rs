//! A PostgreSQL cluster on this machine, made and run with the server's own
//! programs (`initdb`, `pg_ctl`): finding them, running them as the
//! unprivileged `postgres` user when we are root (PostgreSQL refuses to run as
//! root), creating a data directory, starting and stopping the server.
//!
//! Used by the local development database and by the end-to-end test harness,
//! which compiles this file on its own (`#[path = "../../src/local/cluster.rs"]`), so
//! it depends on `std` and `libc` only and reports errors as plain `String`s;
//! callers add their own hints.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The user the server runs as when we are root.
pub const SERVER_USER: &str = "postgres";

/// Longest socket folder we hand to the server: a Unix socket path (folder +
/// `/.s.PGSQL.<port>`) must fit in 107 bytes.
pub const MAX_SOCKET_DIR_LEN: usize = 90;

/// Does `dir` hold PostgreSQL's server programs (`initdb` and `pg_ctl`)?
pub fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// The server binaries: `explicit` (e.g. --pg-bin / PG_BIN) if given, else
/// `pg_config --bindir`, else the first folder on PATH with them, else the
/// newest `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    find_bin_in(explicit, pg_config.as_deref(), std::env::var_os("PATH").as_deref(), Path::new("/usr/lib/postgresql"))
}

/// `find_bin` with every place to look given: `pg_config_bindir` (what
/// `pg_config --bindir` said), `path` (a PATH value) and `versions` (a folder
/// of `<major version>/bin` folders, like /usr/lib/postgresql).
pub fn find_bin_in(
    explicit: Option<&Path>,
    pg_config_bindir: Option<&Path>,
    path: Option<&OsStr>,
    versions: &Path,
) -> Result<PathBuf, String> {
    if let Some(dir) = explicit {
        return if has_server(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(format!("{} has no initdb and pg_ctl", dir.display()))
        };
    }
    if let Some(dir) = pg_config_bindir.filter(|d| has_server(d)) {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = path.and_then(|p| std::env::split_paths(p).find(|d| has_server(d))) {
        return Ok(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(versions)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
                .filter(|(_, d)| has_server(d))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, d)| d).ok_or_else(|| {
        format!(
            "no PostgreSQL server binaries (initdb, pg_ctl): not in `pg_config --bindir`, on PATH, or in {}/<version>/bin",
            versions.display()
        )
    })
}

/// Is this process running as root (effective uid 0)?
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A user's numeric ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerUser {
    pub uid: u32,
    pub gid: u32,
}

impl ServerUser {
    /// The ids of `name`: from /etc/passwd, else `id -u`/`id -g` (users from
    /// NSS, LDAP, ...).
    pub fn lookup(name: &str) -> Option<ServerUser> {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let from_passwd = passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == name)
                .then(|| Some(ServerUser { uid: f[2].parse().ok()?, gid: f[3].parse().ok()? }))?
        });
        from_passwd.or_else(|| {
            let id = |flag: &str| -> Option<u32> {
                let out =
                    Command::new("id").args([flag, name]).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
                out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().parse().ok())?
            };
            Some(ServerUser { uid: id("-u")?, gid: id("-g")? })
        })
    }

    /// Make `cmd` run as this user.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.uid(self.uid).gid(self.gid);
    }

    /// Give `path` (a file or a folder, not what is inside) to this user.
    pub fn chown(&self, path: &Path) -> Result<(), String> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| format!("could not hand {} over to uid {}: {e}", path.display(), self.uid))
    }
}

/// Who runs the server: None when we are not root (we run it ourselves),
/// else the `postgres` user; an error when we are root and there is none.
pub fn server_user() -> Result<Option<ServerUser>, String> {
    if !is_root() {
        return Ok(None);
    }
    ServerUser::lookup(SERVER_USER).map(Some).ok_or_else(|| {
        format!("running as root, and PostgreSQL refuses to run as root; there is no `{SERVER_USER}` user to run it as")
    })
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Can we listen on this loopback port right now?
pub fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Is this folder's path short enough for the server's Unix socket in it?
pub fn socket_dir_fits(dir: &Path) -> bool {
    dir.as_os_str().len() <= MAX_SOCKET_DIR_LEN
}

/// How `Postgres::start` runs the server.
#[derive(Clone, Copy, Debug)]
pub struct StartOptions<'a> {
    pub port: u16,
    /// Some: the folder for the Unix socket (`unix_socket_directories`; see
    /// `socket_dir_fits`). None: no Unix socket, TCP only.
    pub socket_dir: Option<&'a Path>,
    /// More `-c name=value` settings, e.g. ("listen_addresses", "127.0.0.1").
    pub settings: &'a [(&'a str, &'a str)],
    /// The server's log; the server user must be able to write it.
    pub log: &'a Path,
    /// How long to wait for the server to accept connections.
    pub timeout_secs: u32,
}

/// How `Postgres::stop` ends the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMode {
    /// Roll back open transactions, disconnect clients, shut down cleanly.
    Fast,
    /// Quit at once; the next start recovers.
    Immediate,
}

/// One PostgreSQL installation, and who runs its server.
#[derive(Clone, Debug)]
pub struct Postgres {
    /// The folder with initdb, pg_ctl, postgres, psql, ...
    pub bin: PathBuf,
    /// Some when we are root: the server runs as this user.
    pub user: Option<ServerUser>,
}

impl Postgres {
    /// The installation in `bin` (not checked; see `find_bin`), run as the
    /// `postgres` user when we are root.
    pub fn new(bin: PathBuf) -> Result<Postgres, String> {
        Ok(Postgres { bin, user: server_user()? })
    }

    /// `find_bin(explicit)`, then `new`.
    pub fn find(explicit: Option<&Path>) -> Result<Postgres, String> {
        Postgres::new(find_bin(explicit)?)
    }

    /// The path of one of its programs (`psql`, `pg_dump`, ...), to run as ourselves.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// One of its programs, run as the server user.
    pub fn command(&self, name: &str) -> Command {
        self.as_server_user(&self.program(name))
    }

    /// Any program, run as the server user (as ourselves when not root).
    pub fn as_server_user(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        if let Some(user) = &self.user {
            user.apply(&mut cmd);
        }
        cmd
    }

    /// Give `path` (not what is inside) to the server user; nothing when we are not root.
    pub fn hand_over(&self, path: &Path) -> Result<(), String> {
        match &self.user {
            Some(user) => user.chown(path),
            None => Ok(()),
        }
    }

    /// Create a cluster in `data` (its parent must be writable by the server
    /// user) with superuser `superuser`, UTF8, locale C, without syncing.
    /// `auth` are initdb's authentication arguments, e.g. `["-A", "trust"]` or
    /// `["--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=FILE"]`
    /// (FILE readable by the server user).
    pub fn initdb(&self, data: &Path, superuser: &str, auth: &[&str]) -> Result<(), String> {
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(data)
            .args(["-U", superuser, "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(auth)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.program("initdb").display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    /// Start the server of `data` and wait until it accepts connections.
    /// On failure the error holds pg_ctl's message and the log's last lines.
    pub fn start(&self, data: &Path, opts: &StartOptions) -> Result<(), String> {
        let socket_dir = match opts.socket_dir {
            Some(dir) if !socket_dir_fits(dir) => {
                return Err(format!(
                    "the socket folder {} is too long for a Unix socket (over {MAX_SOCKET_DIR_LEN} bytes)",
                    dir.display()
                ))
            }
            Some(dir) => dir.to_string_lossy().into_owned(),
            None => String::new(),
        };
        // pg_ctl hands -o to a shell: quote every value.
        let mut server_opts =
            format!("-p {} -c {}", opts.port, shell_quote(&format!("unix_socket_directories={socket_dir}")));
        for (name, value) in opts.settings {
            server_opts.push_str(&format!(" -c {}", shell_quote(&format!("{name}={value}"))));
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(opts.log)
            .args(["-w", "-t", &opts.timeout_secs.to_string(), "-o", &server_opts, "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.program("pg_ctl").display()))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(opts.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n  ");
        Err(format!(
            "the server did not start: {}\n  {} says:\n  {tail}",
            String::from_utf8_lossy(&out.stderr).trim(),
            opts.log.display()
        ))
    }

    /// Stop the server of `data` and wait until it is gone. Ok(false) when it
    /// was not running (no postmaster.pid).
    pub fn stop(&self, data: &Path, mode: StopMode) -> Result<bool, String> {
        if !data.join("postmaster.pid").is_file() {
            return Ok(false);
        }
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(data)
            .args(["-m", mode, "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.program("pg_ctl").display()))?;
        if out.status.success() {
            Ok(true)
        } else {
            Err(format!("pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
        }
    }
}

/// `value` as one word for /bin/sh.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("cargo-migrate-cluster-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        /// A folder with fake `initdb` and `pg_ctl`.
        fn server(&self, rel: &str) -> PathBuf {
            let dir = self.0.join(rel);
            std::fs::create_dir_all(&dir).unwrap();
            for p in ["initdb", "pg_ctl"] {
                std::fs::write(dir.join(p), "").unwrap();
            }
            dir
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn an_explicit_folder_wins_and_must_hold_the_server() {
        let s = Scratch::new("explicit");
        let flag = s.server("flag");
        let other = s.server("other");
        let path = std::env::join_paths([&other]).unwrap();
        assert_eq!(find_bin_in(Some(&flag), Some(&other), Some(&path), &s.0).unwrap(), flag);
        let empty = s.0.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let err = find_bin_in(Some(&empty), Some(&other), Some(&path), &s.0).unwrap_err();
        assert_eq!(err, format!("{} has no initdb and pg_ctl", empty.display()));
    }

    #[test]
    fn pg_config_then_path_then_the_newest_version() {
        let s = Scratch::new("order");
        let versions = s.0.join("versions");
        let v9 = s.server("versions/9/bin");
        let v15 = s.server("versions/15/bin");
        s.server("versions/not-a-version/bin");
        let _half = {
            let d = s.0.join("versions/99/bin");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("initdb"), "").unwrap();
            d
        };
        let on_path = s.server("on_path");
        let config = s.server("config");
        let nothing = s.0.join("nothing");
        let path = std::env::join_paths([&nothing, &on_path, &v9]).unwrap();
        assert_eq!(find_bin_in(None, Some(&config), Some(&path), &versions).unwrap(), config);
        assert_eq!(find_bin_in(None, Some(&nothing), Some(&path), &versions).unwrap(), on_path);
        // 15 > 9 as numbers; 99 lacks pg_ctl.
        assert_eq!(find_bin_in(None, None, None, &versions).unwrap(), v15);
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let s = Scratch::new("none");
        let err = find_bin_in(None, None, Some(OsStr::new("")), &s.0.join("missing")).unwrap_err();
        assert!(
            err.contains("no PostgreSQL server binaries") && err.contains("pg_config") && err.contains("PATH"),
            "{err}"
        );
    }

    #[test]
    fn server_user_only_when_root() {
        match server_user() {
            Ok(None) => assert!(!is_root()),
            Ok(Some(u)) => assert!(is_root() && Some(u) == ServerUser::lookup(SERVER_USER) && u.uid != 0),
            Err(e) => assert!(is_root() && e.contains("no `postgres` user"), "{e}"),
        }
        assert_eq!(ServerUser::lookup("root").map(|u| u.uid), Some(0));
        assert_eq!(ServerUser::lookup("no-such-user-here"), None);
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("unix_socket_directories=/tmp/a b"), "'unix_socket_directories=/tmp/a b'");
        assert_eq!(shell_quote("x='y'"), r"'x='\''y'\'''");
        let out =
            Command::new("/bin/sh").args(["-c", &format!("printf %s {}", shell_quote("a 'b' $c"))]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a 'b' $c");
    }

    #[test]
    fn ports_and_socket_folders() {
        let port = free_port().unwrap();
        assert!(port > 0 && port_is_free(port));
        let held = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        assert!(!port_is_free(held.local_addr().unwrap().port()));
        assert!(socket_dir_fits(Path::new("/tmp/x")));
        assert!(!socket_dir_fits(&Path::new("/tmp").join("x".repeat(MAX_SOCKET_DIR_LEN))));
    }
}
