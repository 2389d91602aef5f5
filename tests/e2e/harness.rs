//! A throwaway PostgreSQL cluster per test run, a fresh database per test, and
//! temporary cargo projects that run the real `cargo migrate`.
//!
//! The cluster is made with the machine's `initdb`/`pg_ctl` (PG_BIN, else
//! `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin), run as the
//! `postgres` user when we are root, on a private socket folder and a free
//! loopback port. A watchdog stops it and deletes it once the test process is
//! gone, even when tests fail or panic. CARGO_MIGRATE_TEST_ADMIN_URL points the
//! suite at an existing server instead (a superuser URL).
//!
//! Snapshots (insta: tests/e2e/snapshots/e2e__<module>__<name>.snap) pin what
//! users read; volatile parts go through `redact`. A change shows up as a
//! failing test and a `.snap.new` file beside the `.snap`; review it with
//! `cargo insta review`, or accept every change with
//! `INSTA_UPDATE=always bash scripts/test.sh`. In CI (CI set) nothing is
//! written and a mismatch fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::cluster::{free_port, Postgres, StartOptions};

pub struct Cluster {
    /// The PostgreSQL binaries (psql, pg_dump, ...).
    pub bin: PathBuf,
    /// postgres://postgres@127.0.0.1:PORT (no database part)
    pub base_url: String,
    /// The server's log, each line prefixed with ` db=NAME `, when the
    /// harness started the server (None on CARGO_MIGRATE_TEST_ADMIN_URL's).
    pub log: Option<PathBuf>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(start_cluster)
}

/// Unique to this test process, lowercase alphanumeric: put it in every
/// cluster-wide name a test makes (roles, Supabase project refs), so that a
/// second run against the same server (CARGO_MIGRATE_TEST_ADMIN_URL) does not
/// collide with the first. The pid, plus the start time against pid reuse.
pub fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
        let mut n = (micros % 36u128.pow(4)) as u32;
        let mut suffix = String::new();
        for _ in 0..4 {
            suffix.insert(0, char::from_digit(n % 36, 36).unwrap());
            n /= 36;
        }
        format!("{}{suffix}", std::process::id())
    })
}

/// PG_BIN, else what `cluster::find_bin` finds.
fn postgres() -> Postgres {
    let explicit = std::env::var_os("PG_BIN").map(PathBuf::from);
    Postgres::find(explicit.as_deref())
        .unwrap_or_else(|e| panic!("{e}\nhint: install the `postgresql` package, or set PG_BIN to its bin folder"))
}

fn start_cluster() -> Cluster {
    let pg = postgres();
    if let Ok(url) = std::env::var("CARGO_MIGRATE_TEST_ADMIN_URL") {
        let base_url = url.trim_end_matches('/').to_string();
        create_scram_group(&pg, &base_url);
        return Cluster { bin: pg.bin, base_url, log: None };
    }
    let base = std::env::temp_dir().join(format!("cargo-migrate-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    pg.hand_over(&base).unwrap();
    let data = base.join("data");
    pg.initdb(&data, "postgres", &["-A", "trust"]).unwrap_or_else(|e| panic!("{e}"));
    enable_ssl_and_passwords(&pg, &data);
    let port = free_port().unwrap();
    let settings = [
        ("listen_addresses", "127.0.0.1"),
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
        ("max_connections", "300"),
        // Which database a line is about: a test reads its own database's errors.
        ("log_line_prefix", "%m [%p] db=%d "),
    ];
    let log = base.join("log");
    let opts = StartOptions { port, socket_dir: Some(&base), settings: &settings, log: &log, timeout_secs: 60 };
    pg.start(&data, &opts).unwrap_or_else(|e| panic!("{e}"));
    // The watchdog outlives us (so it is never waited for): when this process
    // is gone, it stops and deletes the cluster.
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 0.3; done; '{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{base}'",
        pid = std::process::id(),
        pg_ctl = pg.program("pg_ctl").display(),
        data = data.display(),
        base = base.display()
    );
    #[allow(clippy::zombie_processes)]
    pg.as_server_user(Path::new("/bin/sh"))
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start the watchdog");
    let base_url = format!("postgres://postgres@127.0.0.1:{port}");
    create_scram_group(&pg, &base_url);
    Cluster { bin: pg.bin, base_url, log: Some(log) }
}

/// The role group whose members must log in with a password (a cluster-wide
/// name shared by every run; created once).
fn create_scram_group(pg: &Postgres, base_url: &str) {
    // Not psql(): that asks cluster(), which is still being initialised here.
    let out = Command::new(pg.program("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &format!("{base_url}/postgres"), "-c"])
        .arg(
            "DO $$ BEGIN CREATE ROLE scram_users NOLOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .output()
        .expect("run psql");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Members of `scram_users` log in with a scram-sha-256 password over SSL
/// (as on Supabase); everyone else is trusted. SSL uses a throwaway
/// self-signed certificate (sslmode=require does not verify it).
fn enable_ssl_and_passwords(pg: &Postgres, data: &Path) {
    let out = Command::new("openssl")
        .args(["req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost", "-keyout"])
        .arg(data.join("server.key"))
        .arg("-out")
        .arg(data.join("server.crt"))
        .output()
        .expect("openssl is needed for the SSL test server");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    for f in ["server.key", "server.crt"] {
        pg.hand_over(&data.join(f)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(data.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let conf = data.join("postgresql.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{text}\nssl = on\npassword_encryption = 'scram-sha-256'\n")).unwrap();
    let hba = data.join("pg_hba.conf");
    let text = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!(
            "hostssl all +scram_users 127.0.0.1/32 scram-sha-256\nhost all +scram_users 127.0.0.1/32 reject\n{text}"
        ),
    )
    .unwrap();
}

/// A fresh database for one test.
pub struct Db {
    pub url: String,
}

impl Db {
    pub fn new(test: &str) -> Db {
        let c = cluster();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "t{}_{}_{}",
            std::process::id(),
            n,
            test.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(30).collect::<String>()
        );
        psql(&format!("{}/postgres", c.base_url), &format!("CREATE DATABASE \"{name}\""));
        Db { url: format!("{}/{name}", c.base_url) }
    }

    /// The database's name (unique per test and process).
    pub fn name(&self) -> &str {
        self.url.rsplit('/').next().unwrap()
    }

    /// Rows of a query, `|`-separated columns (psql -At).
    pub fn query(&self, sql: &str) -> String {
        psql(&self.url, sql)
    }

    /// A login role without privileges (roles are cluster-wide).
    pub fn try_create_role(&self, role: &str) -> Result<String, String> {
        try_psql(&self.url, &format!("CREATE ROLE {role} LOGIN"))
    }

    pub fn table_exists(&self, name: &str) -> bool {
        self.query(&format!("SELECT to_regclass('{name}') IS NOT NULL")) == "t"
    }

    pub fn applied(&self) -> Vec<String> {
        if !self.table_exists("public.__diesel_schema_migrations") {
            return Vec::new();
        }
        let out = self.query("SELECT version FROM public.__diesel_schema_migrations ORDER BY version");
        out.lines().map(String::from).filter(|l| !l.is_empty()).collect()
    }
}

pub fn try_psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new(cluster().bin.join("psql"))
        .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("run psql");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// Several statements in one session (psql runs each -c in turn); rows only.
pub fn try_psql_session(url: &str, statements: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(cluster().bin.join("psql"));
    cmd.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url]);
    for s in statements {
        cmd.args(["-c", s]);
    }
    let out = cmd.output().expect("run psql");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// The port of the test cluster.
pub fn cluster_port() -> u16 {
    cluster().base_url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port in the admin URL")
}

pub fn psql(url: &str, sql: &str) -> String {
    try_psql(url, sql).unwrap_or_else(|e| panic!("psql failed: {e}\nSQL: {sql}"))
}

/// A temporary cargo project. Deleted when dropped, after stopping every
/// local development database its commands started.
pub struct Project {
    pub root: PathBuf,
    /// Owns `root`: removed when the project is dropped (after `Drop`).
    _dir: tempfile::TempDir,
    /// The whole environment of a run besides the harness's allowlist (see
    /// `Project::command`): what the test sets, e.g. DATABASE_URL.
    pub env: Vec<(String, String)>,
    /// Every distinct `--pg-bin` value passed through `command`: each may
    /// have started its own local database.
    pg_bins: Mutex<Vec<String>>,
    /// Has any command run? (Nothing to stop otherwise.)
    ran: AtomicUsize,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    /// `error.kind` of a `--format json` run (panics when there is none).
    #[track_caller]
    pub fn kind(&self) -> String {
        match self.json()["error"]["kind"].as_str() {
            Some(kind) => kind.to_string(),
            None => panic!("no error.kind\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr),
        }
    }

    /// `"ACTION NAME"` of each migration a `--format json` run reports, in
    /// order (`applied 20250101000000_create_a`).
    #[track_caller]
    pub fn steps(&self) -> Vec<String> {
        let j = self.json();
        let list = j["migrations"].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|m| format!("{} {}", m["action"].as_str().unwrap_or("?"), m["name"].as_str().unwrap_or("?")))
            .collect()
    }

    /// `error.hint` of a `--format json` run: what the user is told to do
    /// (empty when there is none).
    pub fn hint(&self) -> String {
        self.json()["error"]["hint"].as_str().unwrap_or_default().to_string()
    }

    /// `error.message` of a `--format json` run.
    pub fn message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap_or_default().to_string()
    }

    /// The `kind` of each anomaly a `status --format json` run lists.
    #[track_caller]
    pub fn anomalies(&self) -> Vec<String> {
        let j = self.json();
        let list = j["anomalies"].as_array().cloned().unwrap_or_default();
        list.iter().map(|a| a["kind"].as_str().unwrap_or("?").to_string()).collect()
    }

    /// Where a `--format json` failure points, `FILE:LINE[:COLUMN]`: from the
    /// error's `file`/`line`/`column` fields when it has them, else from the
    /// first `….sql:LINE[:COLUMN]` in its message.
    #[track_caller]
    pub fn location(&self) -> String {
        let j = self.json();
        let e = &j["error"];
        if let (Some(file), Some(line)) = (e["file"].as_str(), e["line"].as_u64()) {
            return match e["column"].as_u64() {
                Some(column) => format!("{file}:{line}:{column}"),
                None => format!("{file}:{line}"),
            };
        }
        let message = e["message"].as_str().unwrap_or_default();
        let found = message.split_whitespace().find_map(|word| {
            let word = word.trim_end_matches([':', ',', ')']);
            let at = word.find(".sql:")?;
            word[at + 5..].split(':').all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(word)
        });
        match found {
            Some(location) => location.to_string(),
            None => panic!("no location in the error\nstdout:\n{}", self.stdout),
        }
    }

    /// Exit `code` and `error.kind` = `kind`: the run must have used
    /// `--format json` (see `Project::cargo_migrate_json`).
    #[track_caller]
    pub fn fails_with(self, code: i32, kind: &str) -> Run {
        let run = self.fails(code);
        assert_eq!(run.kind(), kind, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        run
    }
}

/// Variables a run inherits from the test process; everything else (DATABASE_URL,
/// the Supabase variables, PG_BIN, CARGO_TARGET_DIR, NO_COLOR, ...) is dropped.
const INHERITED: &[&str] =
    &["HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "TMPDIR", "LANG", "LC_ALL", "USER"];

impl Project {
    /// A package named `app` with a database configured through DATABASE_URL.
    pub fn new(db: &Db) -> Project {
        let mut p = Project::bare("app");
        p.env = vec![("DATABASE_URL".into(), db.url.clone())];
        p
    }

    /// A package with no database configured.
    pub fn bare(name: &str) -> Project {
        let dir = tempfile::Builder::new().prefix("cargo-migrate-proj-").tempdir().expect("a temp folder");
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("src")).unwrap();
        let p = Project { root, _dir: dir, env: Vec::new(), pg_bins: Mutex::new(Vec::new()), ran: AtomicUsize::new(0) };
        p.write("Cargo.toml", &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"));
        p.write("src/lib.rs", "");
        p
    }

    pub fn write(&self, path: &str, content: &str) {
        let path = self.root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// A migration folder in `migrations/` (down: None writes no down.sql).
    pub fn migration(&self, folder: &str, up: &str, down: Option<&str>) {
        self.write(&format!("migrations/{folder}/up.sql"), up);
        if let Some(down) = down {
            self.write(&format!("migrations/{folder}/down.sql"), down);
        }
    }

    /// `CREATE TABLE <table>` / `DROP TABLE <table>` migration.
    pub fn table_migration(&self, version: &str, table: &str) {
        self.migration(
            &format!("{version}_create_{table}"),
            &format!("CREATE TABLE {table} (id bigint PRIMARY KEY);\n"),
            Some(&format!("DROP TABLE {table};\n")),
        );
    }

    pub fn cargo_migrate(&self, args: &[&str]) -> Run {
        self.cargo_migrate_in(&self.root, args)
    }

    /// `cargo_migrate(ARGS --format json)`: read the result with `Run::json`,
    /// `Run::kind`, `Run::fails_with`.
    pub fn cargo_migrate_json(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        self.cargo_migrate(&all)
    }

    /// Run the binary under test with ARGS in `dir`, as `cargo migrate ARGS` would.
    pub fn cargo_migrate_in(&self, dir: &Path, args: &[&str]) -> Run {
        let out = self.command(dir, args).output().expect("run cargo-migrate");
        to_run(out)
    }

    /// The binary under test (CARGO_BIN_EXE) with ARGS in `dir` (stdin empty),
    /// in the harness's environment: see `Project::environment`. What cargo
    /// adds is only its dispatch (`cargo migrate` → `cargo-migrate migrate`),
    /// tested through `Project::through_cargo`.
    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        self.note_pg_bins(args);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
        cmd.args(args).current_dir(dir);
        self.environment(&mut cmd);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `cargo migrate ARGS` in the project's root through cargo itself, for
    /// the tests of cargo's dispatch of the subcommand.
    pub fn through_cargo(&self, args: &[&str]) -> Run {
        self.note_pg_bins(args);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.arg("migrate").args(args).current_dir(&self.root);
        self.environment(&mut cmd);
        to_run(cmd.stdin(Stdio::null()).output().expect("run cargo migrate"))
    }

    /// Start `cargo migrate ARGS` in the project's root with stdout and stderr
    /// piped; see `Running`.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let child = self
            .command(&self.root, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cargo migrate");
        Running::new(child)
    }

    /// Nothing from the test process's environment but `INHERITED`, PATH (the
    /// binary under test first) and this project's metadata cache
    /// (XDG_CACHE_HOME, inside the project); then `self.env`.
    pub fn environment(&self, cmd: &mut Command) {
        self.ran.fetch_add(1, Ordering::SeqCst);
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-migrate")).parent().unwrap().to_path_buf();
        let mut path = vec![bin_dir];
        path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        cmd.env_clear();
        cmd.env("PATH", std::env::join_paths(path).unwrap());
        for var in INHERITED {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        cmd.env("XDG_CACHE_HOME", self.root.join("target/cache"));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// `redact` with this project's root as `[PROJECT]`, then `literals`.
    pub fn redact(&self, text: &str, literals: &[(&str, &str)]) -> String {
        let root = self.root.display().to_string();
        let canonical = self.root.canonicalize().map(|p| p.display().to_string()).unwrap_or_else(|_| root.clone());
        let mut all = vec![(canonical.as_str(), "[PROJECT]"), (root.as_str(), "[PROJECT]")];
        all.extend_from_slice(literals);
        redact(text, &all)
    }

    /// `redact_json` with this project's root as `[PROJECT]`, then `literals`.
    pub fn redact_json(&self, value: &serde_json::Value, literals: &[(&str, &str)]) -> String {
        let mut value = value.clone();
        redact_ms(&mut value);
        self.redact(&serde_json::to_string_pretty(&value).unwrap(), literals)
    }

    fn note_pg_bins(&self, args: &[&str]) {
        let mut found = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if *arg == "--pg-bin" {
                found.extend(it.next().map(|v| v.to_string()));
            } else if let Some(v) = arg.strip_prefix("--pg-bin=") {
                found.push(v.to_string());
            }
        }
        let mut known = self.pg_bins.lock().unwrap_or_else(|e| e.into_inner());
        for v in found {
            if !known.contains(&v) {
                known.push(v);
            }
        }
    }
}

pub fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // A command that used a local development database left it running,
        // wherever it lives (under target/, or in the temp folder when we are
        // root): stop the default one and one per --pg-bin seen.
        if self.ran.load(Ordering::SeqCst) > 0 {
            let pg_bins = std::mem::take(&mut *self.pg_bins.lock().unwrap_or_else(|e| e.into_inner()));
            let flags = std::iter::once(Vec::new()).chain(pg_bins.iter().map(|b| vec!["--pg-bin", b.as_str()]));
            for flag in flags {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
                cmd.args(["local", "stop"]).args(&flag).current_dir(&self.root);
                self.environment(&mut cmd);
                let _ = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
            }
        }
    }
}

/// A `cargo migrate` that is still running; its stdout and stderr are read as
/// they come. Killed if dropped before `finish`.
pub struct Running {
    child: Option<Child>,
    stderr_lines: Receiver<String>,
    seen: Vec<String>,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Running {
    fn new(mut child: Child) -> Running {
        let (tx, rx) = std::sync::mpsc::channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in err.lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut all);
            all
        });
        Running { child: Some(child), stderr_lines: rx, seen: Vec::new(), stdout: Some(stdout), stderr: Some(stderr) }
    }

    /// Wait for a stderr line containing `needle`; panic after `timeout`, or
    /// when stderr ends first.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no stderr line with {needle:?} within {timeout:?}; stderr so far:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("stderr ended without a line with {needle:?}:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Wait for the end (at most `timeout`, else kill it and panic).
    #[track_caller]
    pub fn finish(mut self, timeout: Duration) -> Run {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cargo migrate did not finish within {timeout:?}; stderr so far:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        Run { code: status.code().unwrap_or(-1), stdout, stderr }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The advisory lock keys cargo-migrate takes for a run.
pub const MIGRATION_LOCK: (i64, i32) = (1835624306, 1);

/// A psql session that holds the migration lock of a database until
/// `release` (or drop: psql ends, and the session with it).
pub struct LockHolder {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl LockHolder {
    /// Connects as `application_name` and returns once the lock is held.
    pub fn take(url: &str, application_name: &str) -> LockHolder {
        let mut child = Command::new(cluster().bin.join("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(format!("{url}?application_name={application_name}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run psql");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut holder = LockHolder { child, stdin, stdout };
        let (a, b) = MIGRATION_LOCK;
        holder.send(&format!("SELECT pg_advisory_lock({a}, {b});"));
        holder
    }

    /// Run one statement in the session and wait until it is done.
    fn send(&mut self, sql: &str) {
        writeln!(self.stdin, "{sql}\n\\echo done").and_then(|_| self.stdin.flush()).expect("write to psql");
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).expect("read from psql");
            assert!(n > 0, "psql ended before {sql} was done");
            if line.trim_end() == "done" {
                return;
            }
        }
    }

    /// Let go of the lock and end the session.
    pub fn release(mut self) {
        let (a, b) = MIGRATION_LOCK;
        self.send(&format!("SELECT pg_advisory_unlock({a}, {b});"));
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "\\q");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// The folders in `migrations/`, sorted.
pub fn folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Output with its volatile parts replaced by placeholders, for snapshots:
/// first each `(text, placeholder)` of `literals` (longest text first: a path
/// before its parent), then the temp folder (`[TMP]`), loopback ports
/// (`127.0.0.1:[PORT]`), timestamps (`[TIMESTAMP]`), durations (`[DURATION]`:
/// a number then ` ms`/` s`), pids (`pid [PID]`) and who ran a migration
/// (`[USER]@[HOST] pid [PID]`). Versions made from the clock (`create`) must
/// be passed as literals.
pub fn redact(text: &str, literals: &[(&str, &str)]) -> String {
    let mut literals: Vec<(&str, &str)> = literals.iter().copied().filter(|(from, _)| !from.is_empty()).collect();
    let tmp = std::env::temp_dir().display().to_string();
    let tmp = tmp.trim_end_matches('/');
    literals.push((tmp, "[TMP]"));
    literals.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    let mut text = text.to_string();
    for (from, to) in literals {
        text = text.replace(from, to);
    }
    redact_patterns(&text)
}

/// Numbers under a key ending in `_ms` (JSON durations) become `"[DURATION]"`.
pub fn redact_ms(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key.ends_with("_ms") && v.is_number() {
                    *v = serde_json::Value::String("[DURATION]".into());
                } else {
                    redact_ms(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_ms),
        _ => {}
    }
}

fn redact_patterns(text: &str) -> String {
    let b = text.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.');
        if let Some(after) = ["127.0.0.1:", "localhost:"].iter().find_map(|h| rest.strip_prefix(h)) {
            let host_len = rest.len() - after.len();
            let n = digits(i + host_len);
            if n > 0 {
                out.push_str(&rest[..host_len]);
                out.push_str("[PORT]");
                i += host_len + n;
                continue;
            }
        }
        if word_start {
            // whoami(): user@host pid N (who applied a migration).
            let token = rest.split(|c: char| c.is_whitespace() || c == '"').next().unwrap_or("");
            let after = &rest[token.len()..];
            if token.contains('@')
                && !token.contains([':', '/'])
                && after.strip_prefix(" pid ").is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
            {
                out.push_str("[USER]@[HOST]");
                i += token.len();
                continue;
            }
        }
        if rest.starts_with("pid ") && digits(i + 4) > 0 {
            out.push_str("pid [PID]");
            i += 4 + digits(i + 4);
            continue;
        }
        if word_start && b[i].is_ascii_digit() {
            if let Some(len) = timestamp_len(rest) {
                out.push_str("[TIMESTAMP]");
                i += len;
                continue;
            }
            let mut len = digits(i);
            if b.get(i + len) == Some(&b'.') && digits(i + len + 1) > 0 {
                len += 1 + digits(i + len + 1);
            }
            let unit = [" ms", " s"].iter().find(|u| {
                rest[len..].starts_with(**u)
                    && !rest[len + u.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            if let Some(unit) = unit {
                out.push_str("[DURATION]");
                i += len + unit.len();
                continue;
            }
            out.push_str(&rest[..len]);
            i += len;
            continue;
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH[:MM]]` at the start of `s`: its length.
fn timestamp_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-dd_dd:dd:dd";
    if b.len() < shape.len() {
        return None;
    }
    for (c, want) in b.iter().zip(shape) {
        let ok = match want {
            b'd' => c.is_ascii_digit(),
            b'_' => *c == b'T' || *c == b' ',
            w => c == w,
        };
        if !ok {
            return None;
        }
    }
    let mut len = shape.len();
    if b.get(len) == Some(&b'.') {
        len += 1 + b[len + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    match b.get(len) {
        Some(b'Z') => len += 1,
        Some(b'+') | Some(b'-') if b.get(len + 1).is_some_and(u8::is_ascii_digit) => {
            len += 1 + b[len + 1..].iter().take_while(|c| c.is_ascii_digit() || **c == b':').count();
        }
        _ => {}
    }
    Some(len)
}

/// A TCP proxy to the test cluster. The first time the client sends bytes
/// containing `marker`, they reach the server, but the client's side is cut
/// at once and the server's reply is swallowed: the server commits, the client
/// never hears of it. Later connections pass through untouched.
pub fn cutting_proxy(marker: &'static [u8]) -> u16 {
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

/// A primary of its own and a streaming standby of it (pg_basebackup on
/// loopback), both stopped and deleted on drop. Its own primary: a base
/// backup of the shared cluster would copy every test's database.
pub struct Replica {
    dir: PathBuf,
    pg: Postgres,
    pub primary: String,
    pub standby: String,
}

impl Replica {
    pub fn new(name: &str) -> Replica {
        let pg = postgres();
        let dir = std::env::temp_dir().join(format!("cargo-migrate-replica-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        pg.hand_over(&dir).unwrap();
        let (primary_data, standby_data) = (dir.join("primary"), dir.join("standby"));
        pg.initdb(&primary_data, "postgres", &["-A", "trust"]).unwrap_or_else(|e| panic!("{e}"));
        let settings = [("listen_addresses", "127.0.0.1"), ("fsync", "off")];
        let start = |data: &Path, log: &str| {
            let port = free_port().unwrap();
            let log = dir.join(log);
            let opts = StartOptions { port, socket_dir: None, settings: &settings, log: &log, timeout_secs: 60 };
            pg.start(data, &opts).unwrap_or_else(|e| panic!("{e}"));
            port
        };
        let primary_port = start(&primary_data, "primary.log");
        let out = pg
            .command("pg_basebackup")
            .args(["-h", "127.0.0.1", "-p", &primary_port.to_string(), "-U", "postgres", "-R", "-X", "stream", "-D"])
            .arg(&standby_data)
            .output()
            .expect("run pg_basebackup");
        assert!(out.status.success(), "pg_basebackup: {}", String::from_utf8_lossy(&out.stderr));
        let standby_port = start(&standby_data, "standby.log");
        let url = |port: u16| format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
        Replica { primary: url(primary_port), standby: url(standby_port), dir, pg }
    }

    /// Wait until the standby has replayed everything the primary has written.
    pub fn catch_up(&self) {
        let lsn = psql(&self.primary, "SELECT pg_current_wal_lsn()");
        let deadline = Instant::now() + Duration::from_secs(60);
        let caught = format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn");
        while psql(&self.standby, &caught) != "t" {
            assert!(Instant::now() < deadline, "the standby did not catch up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        for data in ["standby", "primary"] {
            let _ = self.pg.stop(&self.dir.join(data), crate::cluster::StopMode::Immediate);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
