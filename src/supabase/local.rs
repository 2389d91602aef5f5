//! The local development database: a PostgreSQL cluster cargo-migrate makes
//! and starts itself under the workspace's target directory, prepared like a
//! Supabase database (`local.sql`), used whenever no database is configured.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cluster::{self, Postgres, StartOptions, StopMode};
use crate::error::{Error, Kind, Result};
use crate::show::display_path;

const PREPARE_SQL: &str = include_str!("local.sql");
const STAND_INS_SQL: &str = include_str!("stand_ins.sql");
/// How a stand-in's comment starts (`local status` tells them apart by it).
const STAND_IN_PREFIX: &str = "cargo-migrate local stand-in: ";

/// The local database, running.
#[derive(Debug)]
pub struct Running {
    pub url: String,
    /// What happened on the way (started, prepared without contrib …), for the user.
    pub notes: Vec<String>,
}

pub struct Local {
    /// Holds `data/`, `sock/`, `log`, `port`, and `bin`: the PostgreSQL that made it.
    pub dir: PathBuf,
    /// `--pg-bin` / PG_BIN.
    flag_bin: Option<PathBuf>,
    /// The workspace it belongs to (written into `dir` when it is made).
    workspace: PathBuf,
}

/// Another local database beside this one (a target directory several
/// workspaces share, or the temp folder): whose it is.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub dir: PathBuf,
    pub workspace: Option<PathBuf>,
    pub running: bool,
}

impl Local {
    /// Where the cluster lives; looks nothing up and starts nothing, so that a
    /// command on a running local database pays no more than a port probe.
    pub fn locate(target_dir: &Path, workspace_root: &Path, pg_bin: Option<&Path>) -> Result<Local> {
        // A cluster per explicit --pg-bin: data directories are not portable across versions.
        let mut name = match pg_bin {
            Some(bin) => format!("local-{}", &crate::version::checksum(&bin.display().to_string())[..8]),
            None => "local".to_string(),
        };
        let ws = crate::version::checksum(&workspace_root.display().to_string())[..8].to_string();
        // A target directory shared by several workspaces (CARGO_TARGET_DIR,
        // build.target-dir) must not make them share one database.
        if !target_dir.starts_with(workspace_root) {
            name = format!("{name}-{ws}");
        }
        let mut dir = target_dir.join("cargo-migrate").join(&name);
        if cluster::is_root() && !reachable_by_others(target_dir) {
            // As root the server runs as `postgres`, which cannot enter a private
            // home folder; keep the cluster in the temp folder instead.
            dir = std::env::temp_dir().join(format!("cargo-migrate-{ws}-{name}"));
        }
        Ok(Local { dir, flag_bin: pg_bin.map(Path::to_path_buf), workspace: workspace_root.to_path_buf() })
    }

    /// The workspace that made this database, as it recorded it.
    pub fn owner(&self) -> Option<PathBuf> {
        std::fs::read_to_string(self.dir.join("workspace")).ok().map(|w| PathBuf::from(w.trim()))
    }

    /// The other local databases in the same folder, with their workspaces.
    pub fn neighbours(&self) -> Vec<Neighbour> {
        let Some(parent) = self.dir.parent() else { return Vec::new() };
        let Ok(entries) = std::fs::read_dir(parent) else { return Vec::new() };
        let mut found: Vec<Neighbour> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|d| *d != self.dir && d.join("workspace").is_file())
            .map(|dir| {
                let other = Local { dir: dir.clone(), flag_bin: None, workspace: PathBuf::new() };
                Neighbour { workspace: other.owner(), running: other.is_running(), dir }
            })
            .collect();
        found.sort_by(|a, b| a.dir.cmp(&b.dir));
        found
    }

    /// The PostgreSQL binaries: --pg-bin, else the ones that made this
    /// cluster, else the machine's (see `find_bin`).
    pub fn bin(&self) -> Result<PathBuf> {
        if self.flag_bin.is_none() {
            if let Ok(recorded) = std::fs::read_to_string(self.dir.join("bin")) {
                let recorded = PathBuf::from(recorded.trim());
                if cluster::has_server(&recorded) {
                    return Ok(recorded);
                }
            }
        }
        cluster::find_bin(self.flag_bin.as_deref()).map_err(|why| {
            Error::new(Kind::NoPostgres, format!("no database configured, and no PostgreSQL to start a local one: {why}"))
                .hint(
                    "install PostgreSQL (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql@16`) \
                     or point --pg-bin/PG_BIN at its bin folder; or set DATABASE_URL (or the Supabase variables) to use another database",
                )
        })
    }

    fn postgres(&self) -> Result<Postgres> {
        Postgres::new(self.bin()?).map_err(|why| {
            Error::new(Kind::LocalDatabase, why)
                .hint("create one (`useradd --system postgres`) or run cargo migrate as a normal user")
        })
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn port(&self) -> Option<u16> {
        std::fs::read_to_string(self.dir.join("port")).ok()?.trim().parse().ok()
    }

    /// The URL, with the password that keeps other users of this machine out.
    pub fn url(&self) -> Result<String> {
        let port = self.port().ok_or_else(|| {
            Error::new(Kind::LocalDatabase, "the local database has no port yet").hint(self.command_hint("start"))
        })?;
        let password = std::fs::read_to_string(self.dir.join("password"))
            .map_err(|e| Error::io(&self.dir.join("password"), "read", e))?;
        Ok(format!("postgres://postgres:{}@127.0.0.1:{port}/postgres", password.trim()))
    }

    /// `cargo migrate local ACTION`, with the flags that find this very
    /// database, so the hint works when copied as printed.
    pub fn command_hint(&self, action: &str) -> String {
        match &self.flag_bin {
            Some(bin) => format!("`cargo migrate local {action} --pg-bin {}`", bin.display()),
            None => format!("`cargo migrate local {action}`"),
        }
    }

    pub fn is_running(&self) -> bool {
        self.data().join("postmaster.pid").is_file()
            && self.port().is_some_and(|p| {
                TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], p)), Duration::from_millis(300)).is_ok()
            })
    }

    /// Start it (creating and preparing it first if needed): its URL, and
    /// what the user should be told about it.
    pub fn ensure_running(&self) -> Result<Running> {
        let mut notes = Vec::new();
        if self.is_running() && self.dir.join("password").is_file() {
            let url = self.url()?;
            if !self.dir.join("prepared").is_file() {
                // An earlier preparation failed (it rolled back): try again.
                notes.extend(self.prepare(&url)?);
            }
            return Ok(Running { url, notes });
        }
        // A cluster made before the password existed trusted every local user:
        // make it anew (it is a development database; `local reset` does the same).
        let fresh = !self.data().join("PG_VERSION").is_file() || !self.dir.join("password").is_file();
        if fresh {
            self.stop()?;
            self.init()?;
        }
        self.start()?;
        let url = self.url()?;
        if fresh || !self.dir.join("prepared").is_file() {
            notes.extend(self.prepare(&url)?);
        }
        notes.push(format!("started the local development database in {}", display_path(&self.dir)));
        Ok(Running { url, notes })
    }

    fn init(&self) -> Result<()> {
        let pg = self.postgres()?;
        let local_err = |why: String| {
            Error::new(Kind::LocalDatabase, why).hint(format!(
                "see {}; {} starts over",
                display_path(&self.dir),
                self.command_hint("reset")
            ))
        };
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(self.dir.join("sock")).map_err(|e| Error::io(&self.dir, "create", e))?;
        std::fs::write(self.dir.join("bin"), pg.bin.display().to_string())
            .map_err(|e| Error::io(&self.dir, "write", e))?;
        std::fs::write(self.dir.join("workspace"), self.workspace.display().to_string())
            .map_err(|e| Error::io(&self.dir, "write", e))?;
        // Other users of this machine must not get in: TCP needs this password
        // (readable by us only), and the socket sits in a private folder.
        let pwfile = self.dir.join("password");
        write_private(&pwfile, &new_password()?)?;
        for path in [self.dir.clone(), self.dir.join("sock"), pwfile.clone()] {
            pg.hand_over(&path).map_err(local_err)?;
        }
        set_mode(&self.dir.join("sock"), 0o700)?;
        let pw_arg = format!("--pwfile={}", pwfile.display());
        pg.initdb(&self.data(), "postgres", &["--auth-local=trust", "--auth-host=scram-sha-256", &pw_arg])
            .map_err(local_err)?;
        // A development database: durability traded for speed (reset recreates it).
        let conf = "\n# cargo-migrate local development database\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nwal_level = logical\n\
             max_connections = 100\nshared_buffers = 32MB\nunix_socket_permissions = 0700\n";
        let path = self.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
        text.push_str(conf);
        // Supabase preloads pg_stat_statements (its view errors without it).
        let lib = pg.bin.parent().map(|p| p.join("lib")).unwrap_or_default();
        let preload = ["pg_stat_statements.so", "pg_stat_statements.dylib"]
            .iter()
            .any(|f| lib.join(f).is_file() || lib.join("postgresql").join(f).is_file());
        if preload {
            text.push_str("shared_preload_libraries = 'pg_stat_statements'\n");
        }
        if self.major_version().is_some_and(|v| v >= 18) {
            // The stand-ins as real SQL-only extensions, found after the installation's own.
            write_stand_in_extensions(&self.dir.join("extension"))?;
            let dir = self.dir.display().to_string().replace('\'', "''");
            text.push_str(&format!("extension_control_path = '$system:{dir}'\n"));
        }
        std::fs::write(&path, text).map_err(|e| Error::io(&path, "write", e))?;
        Ok(())
    }

    /// The cluster's PostgreSQL major version (its data folder says).
    fn major_version(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("PG_VERSION")).ok()?.trim().parse().ok()
    }

    fn start(&self) -> Result<u16> {
        let port = match self.port() {
            Some(p) if cluster::port_is_free(p) => p,
            _ => cluster::free_port().map_err(|why| Error::new(Kind::LocalDatabase, why))?,
        };
        std::fs::write(self.dir.join("port"), port.to_string())
            .map_err(|e| Error::io(&self.dir, "write the port to", e))?;
        let sock = self.dir.join("sock");
        let opts = StartOptions {
            port,
            socket_dir: cluster::socket_dir_fits(&sock).then_some(sock.as_path()),
            settings: &[("listen_addresses", "127.0.0.1")],
            log: &self.dir.join("log"),
            timeout_secs: 60,
        };
        self.postgres()?.start(&self.data(), &opts).map_err(|why| {
            Error::new(Kind::LocalDatabase, format!("the local database did not start: {why}"))
                .hint(format!("{} recreates it", self.command_hint("reset")))
        })?;
        Ok(port)
    }

    /// Prepare it like Supabase; a note when this PostgreSQL lacks contrib modules.
    fn prepare(&self, url: &str) -> Result<Option<String>> {
        let extensions =
            prepare_like_supabase(url).map_err(|e| e.hint(format!("{} recreates it", self.command_hint("reset"))))?;
        // Supabase's own extensions are stand-ins on any PostgreSQL but Supabase's
        // (README, `local status`); a contrib module missing is this build's gap.
        let contrib: Vec<&str> = extensions
            .iter()
            .filter(|e| e.state == ExtensionState::StandIn && CONTRIB.contains(&e.name.as_str()))
            .map(|e| e.name.as_str())
            .collect();
        let note = (!contrib.is_empty()).then(|| {
            format!(
                "note: this PostgreSQL ({}) lacks the contrib module(s) {}: the local database has stand-ins with the \
                 same functions (crypt() there is not bcrypt), see {}; a PostgreSQL with contrib (Debian/Ubuntu: the \
                 postgresql-<major> package) has the real ones (--pg-bin, then {})",
                display_path(&self.bin().unwrap_or_default()),
                contrib.join(", "),
                self.command_hint("status"),
                self.command_hint("reset")
            )
        });
        std::fs::write(self.dir.join("prepared"), "").map_err(|e| Error::io(&self.dir, "write", e))?;
        Ok(note)
    }

    pub fn stop(&self) -> Result<bool> {
        if !self.data().join("postmaster.pid").is_file() {
            return Ok(false);
        }
        self.postgres()?
            .stop(&self.data(), StopMode::Fast)
            .map_err(|why| Error::new(Kind::LocalDatabase, format!("could not stop the local database: {why}")))
    }

    /// Drop everything and start over (node-pg-migrate teams' `db:reset`).
    pub fn reset(&self) -> Result<Running> {
        self.stop()?;
        std::fs::remove_dir_all(&self.dir).or_else(ignore_missing).map_err(|e| Error::io(&self.dir, "remove", e))?;
        self.ensure_running()
    }
}

/// 32 random characters from the kernel's generator.
fn new_password() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io(Path::new("/dev/urandom"), "read", e))?;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    Ok(bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io(path, "write", e))
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// The extensions a Supabase project has or commonly enables (and `vector`),
/// in the order `local status` lists them.
pub const SUPABASE_EXTENSIONS: &[&str] = &[
    "pgcrypto",
    "uuid-ossp",
    "pg_stat_statements",
    "pgjwt",
    "pg_graphql",
    "pgsodium",
    "supabase_vault",
    "pg_net",
    "pg_cron",
    "http",
    "vector",
];

/// Of those, the ones PostgreSQL itself ships (contrib).
const CONTRIB: &[&str] = &["pgcrypto", "uuid-ossp", "pg_stat_statements"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ExtensionState {
    /// The installation's own extension, created.
    Real,
    /// cargo-migrate's stand-in (`local.sql`), registered under the real name.
    StandIn,
    /// Available, not created (Supabase does not preinstall it): the
    /// installation's, or a stand-in when the note says what it lacks.
    Available,
    /// Neither the installation nor cargo-migrate has it.
    Missing,
}

impl ExtensionState {
    /// The name `local status` shows, and its JSON `state`.
    pub fn name(self) -> &'static str {
        match self {
            ExtensionState::Real => "real",
            ExtensionState::StandIn => "stand-in",
            ExtensionState::Available => "available",
            ExtensionState::Missing => "missing",
        }
    }
}

/// One extension as the local database has it.
#[derive(Debug, Clone)]
pub struct Extension {
    pub name: String,
    pub state: ExtensionState,
    pub schema: Option<String>,
    pub version: Option<String>,
    /// For a stand-in: what it cannot do.
    pub note: Option<String>,
}

/// Make the database at `url` look like a Supabase project's (roles, `auth`,
/// `storage`, `vault`, `realtime`, the extensions, Supabase's grants).
/// Returns the state of each of `SUPABASE_EXTENSIONS` there.
pub fn prepare_like_supabase(url: &str) -> Result<Vec<Extension>> {
    let mut conn = crate::db::connect(url, 10, "prepare", &crate::db::Hints::default())?;
    conn.execute(&prepare_sql()).map_err(|e| {
        Error::new(Kind::LocalDatabase, format!("could not prepare the database like Supabase: {}", e.message))
    })?;
    extensions_of(&mut conn)
}

/// The state of each of `SUPABASE_EXTENSIONS` on the (local) database at `url`.
pub fn extensions(url: &str) -> Result<Vec<Extension>> {
    let mut conn = crate::db::connect(url, 10, "list extensions", &crate::db::Hints::default())?;
    extensions_of(&mut conn)
}

fn extensions_of(conn: &mut crate::db::pq::Conn) -> Result<Vec<Extension>> {
    let rows = conn
        .query(
            "SELECT n.name, e.extnamespace::regnamespace::text, e.extversion, \
                    coalesce(pg_catalog.obj_description(e.oid, 'pg_extension'), \
                             (SELECT a.comment FROM pg_catalog.pg_available_extensions a WHERE a.name = n.name)), \
                    e.oid IS NOT NULL, \
                    EXISTS (SELECT FROM pg_catalog.pg_available_extensions a WHERE a.name = n.name) \
               FROM unnest(string_to_array($1, ',')) WITH ORDINALITY AS n (name, i) \
               LEFT JOIN pg_catalog.pg_extension e ON e.extname = n.name \
              ORDER BY n.i",
            &[&SUPABASE_EXTENSIONS.join(",")],
        )
        .map_err(|e| crate::db::query_error("list the extensions", e))?;
    Ok((0..rows.len)
        .map(|i| {
            let comment = rows.text(i, 3).unwrap_or_default();
            let note = comment.strip_prefix(STAND_IN_PREFIX).map(str::to_string);
            let state = match (rows.bool(i, 4) == Some(true), &note, rows.bool(i, 5) == Some(true)) {
                (true, Some(_), _) => ExtensionState::StandIn,
                (true, None, _) => ExtensionState::Real,
                (false, _, true) => ExtensionState::Available,
                (false, _, false) => ExtensionState::Missing,
            };
            Extension {
                name: rows.text(i, 0).unwrap_or_default(),
                state,
                schema: rows.text(i, 1),
                version: rows.text(i, 2).filter(|_| state == ExtensionState::Real),
                note,
            }
        })
        .collect())
}

/// One section of stand_ins.sql: an extension's objects, with the real one's
/// names and signatures, and what it cannot do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandIn {
    pub name: &'static str,
    /// Where Supabase has it (`@extschema@` in the body).
    pub schema: &'static str,
    /// The real one can live in that schema only.
    pub fixed_schema: bool,
    /// Supabase creates it in every project (others are only available).
    pub preinstalled: bool,
    pub requires: Option<&'static str>,
    pub lacks: &'static str,
    pub body: &'static str,
}

/// The sections of stand_ins.sql, in order.
pub fn stand_ins() -> Vec<StandIn> {
    STAND_INS_SQL
        .split("\n-- stand-in: ")
        .skip(1)
        .map(|section| {
            let (name, mut rest) = section.split_once('\n').unwrap_or((section, ""));
            let mut field = |key: &str| -> &'static str {
                let line = rest.split_once('\n').map_or(rest, |(l, _)| l);
                let value = line
                    .strip_prefix(&format!("-- {key}:"))
                    .unwrap_or_else(|| panic!("stand_ins.sql, stand-in {name}: `-- {key}:` expected, found {line:?}"));
                rest = rest.split_once('\n').map_or("", |(_, r)| r);
                value.trim()
            };
            field("where");
            let schema = field("schema");
            let fixed_schema = field("fixed schema") == "yes";
            let preinstalled = field("preinstalled") == "yes";
            let requires = Some(field("requires")).filter(|r| !r.is_empty());
            let lacks = field("lacks");
            StandIn { name: name.trim(), schema, fixed_schema, preinstalled, requires, lacks, body: rest }
        })
        .collect()
}

/// local.sql with the stand-ins' pg_temp.extension() calls in place.
fn prepare_sql() -> String {
    let calls: String = stand_ins()
        .iter()
        .map(|s| {
            format!(
                "SELECT pg_temp.extension('{}', '{}', {}, $lacks${}$lacks$, $standin$\n{}$standin$);\n",
                s.name, s.schema, s.preinstalled, s.lacks, s.body
            )
        })
        .collect();
    PREPARE_SQL.replacen("-- @STAND_INS@\n", &calls, 1)
}

/// Each stand-in as an SQL-only extension in `dir` (for `extension_control_path`).
fn write_stand_in_extensions(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    for s in stand_ins() {
        let mut control = format!(
            "# {STAND_IN_PREFIX}written by cargo-migrate for its local database\n\
             comment = '{}'\ndefault_version = 'stand-in'\nrelocatable = false\nsuperuser = true\n",
            format!("{STAND_IN_PREFIX}{}", s.lacks).replace('\'', "''")
        );
        if s.fixed_schema {
            control.push_str(&format!("schema = '{}'\n", s.schema));
        }
        if let Some(r) = s.requires {
            control.push_str(&format!("requires = '{r}'\n"));
        }
        for (file, text) in
            [(format!("{}.control", s.name), control), (format!("{}--stand-in.sql", s.name), s.body.into())]
        {
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(|e| Error::io(&path, "write", e))?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, "protect", e))
}

/// Can other users walk down to this folder (or its nearest existing parent)?
fn reachable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors().filter_map(|a| std::fs::metadata(a).ok()).all(|m| m.permissions().mode() & 0o001 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stand_in_is_read_whole() {
        let all = stand_ins();
        let names: Vec<&str> = all.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "pgcrypto",
                "uuid-ossp",
                "pg_stat_statements",
                "pgjwt",
                "pg_graphql",
                "pgsodium",
                "supabase_vault",
                "pg_net",
                "pg_cron",
                "http"
            ]
        );
        for s in &all {
            assert!(SUPABASE_EXTENSIONS.contains(&s.name), "{} is listed by `local status`", s.name);
            assert!(s.body.trim_start().starts_with("CREATE"), "{}: {:?}", s.name, &s.body[..40]);
            assert!(!s.body.contains("-- stand-in:") && !s.lacks.is_empty(), "{}", s.name);
        }
        let uuid = all.iter().find(|s| s.name == "uuid-ossp").unwrap();
        assert_eq!((uuid.schema, uuid.fixed_schema, uuid.requires), ("extensions", false, Some("pgcrypto")));
        let sql = prepare_sql();
        assert!(!sql.contains("\n-- @STAND_INS@\n") && sql.matches("SELECT pg_temp.extension(").count() == all.len());
    }
}
