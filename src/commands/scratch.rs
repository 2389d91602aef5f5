//! Scratch databases on a server where we may create them (`--scratch-url`,
//! else the local development database's, prepared like Supabase): `verify`
//! proves migrations there, `dump --check` and `squash` migrate a copy there.
//! Every one made is dropped when the value is, however the command ends,
//! except those `diff` keeps on the local development database (see `keep`).

use super::Context;
use crate::cli::LocalOpts;
use crate::db::{self, history, lock, schema, Conn};
use crate::error::{Error, Result};
use crate::output;
use crate::plan::Step;
use crate::runner;
use crate::source::Source;
use crate::url;

pub struct Scratch {
    admin: Conn,
    pub url: String,
    made: Vec<String>,
    /// Names given so far (`made` loses the ones kept).
    count: usize,
    tag: String,
    /// The kept databases, when `keep` turned them on.
    kept: Option<Kept>,
    /// The empty base the sides start from, once made or found.
    base_db: Option<String>,
    /// A side reads the base as it is (so no side may be built on it).
    base_read: bool,
    /// The first database made (`base`) is prepared like Supabase (the local server's).
    pub supabase_like: bool,
}

/// The server scratch databases are made on: `--scratch-url`, else the
/// local development database's (where they are prepared like Supabase).
pub struct Server {
    url: String,
    supabase_like: bool,
}

impl Server {
    pub fn open(ctx: &Context, scratch_url: Option<&str>, local: &LocalOpts) -> Result<Server> {
        let (url, supabase_like) = match scratch_url {
            Some(u) => (u.to_string(), false),
            None => (ctx.local(local)?.ensure_running().map(|run| super::running(&ctx.reporter, run))?, true),
        };
        for secret in url::secrets(&url) {
            output::add_secret(&secret);
        }
        Ok(Server { url, supabase_like })
    }
}

impl Scratch {
    /// Connect to the scratch server: `scratch_url`, else the local development database's.
    pub fn open(ctx: &Context, scratch_url: Option<&str>, local: &LocalOpts, tag: &str) -> Result<Scratch> {
        Scratch::on(&Server::open(ctx, scratch_url, local)?, tag)
    }

    /// A new set of scratch databases on `server` (several may be open at
    /// once in one process: a fleet verifies several targets together).
    pub fn on(server: &Server, tag: &str) -> Result<Scratch> {
        static SETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let admin = db::connect::admin(&server.url, 10, tag)?;
        Ok(Scratch {
            admin,
            url: server.url.clone(),
            made: Vec::new(),
            count: 0,
            kept: None,
            base_db: None,
            base_read: false,
            tag: format!(
                "cargo_migrate_{tag}_{}_{}",
                std::process::id(),
                SETS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            ),
            supabase_like: server.supabase_like,
        })
    }

    /// An empty database, made like the project's target: like Supabase on
    /// the local server, else with the project's roles file run first.
    pub fn base(&mut self, ctx: &Context) -> Result<String> {
        let base = self.copy("template0").map_err(|e| {
            e.hint(
                "this needs a server where it may create databases: give one with --scratch-url (MIGRATE_SCRATCH_URL)",
            )
        })?;
        if self.supabase_like {
            crate::local::prepare_like_supabase(&self.url_of(&base))?;
        } else if let Some(file) = ctx.settings.roles.file()? {
            // Another server: its roles are its own, so the roles file runs there
            // too (the local database's ran when it started).
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, "read", e))?;
            crate::local::run_roles(&self.url_of(&base), file, &text).map_err(|e| {
                e.hint(
                    "roles belong to the whole server: if it has them already, make each statement safe to run twice \
                        (`DO $$ BEGIN CREATE ROLE … ; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`)",
                )
            })?;
        }
        Ok(base)
    }

    /// Commits on `db` need not wait for the disk: nothing made there is kept.
    pub fn relax_durability(&mut self, db: &str) -> Result<()> {
        schema::relax_durability(&mut self.admin, db)
    }

    pub fn url_of(&self, db: &str) -> String {
        url::with_params(&self.url, &[("dbname", db)])
    }

    /// A new database, copied from `template`.
    pub fn copy(&mut self, template: &str) -> Result<String> {
        let name = format!("{}_{}", self.tag, self.count);
        self.count += 1;
        schema::clone_database(&mut self.admin, &name, template)?;
        self.made.push(name.clone());
        Ok(name)
    }

    pub fn connect(&self, db: &str) -> Result<Conn> {
        let mut conn = self.connect_to_read(db)?;
        // The runner checks it holds the migration lock; nobody else uses a scratch database.
        lock::acquire(&mut conn, std::time::Duration::from_secs(10), |_| {})?;
        Ok(conn)
    }

    /// A session of `db` that only reads (it takes no migration lock).
    pub fn connect_to_read(&self, db: &str) -> Result<Conn> {
        db::connect(&self.url_of(db), 10, "scratch", &db::Hints::default())
    }

    /// Run `steps` on `conn` (database `db`) as `up`/`down` would, quietly.
    pub fn run_steps(&self, conn: &mut Conn, db: &str, steps: &[Step], source: &Source) -> Result<()> {
        run_quietly(conn, &self.url_of(db), steps, source)
    }
}

/// Run `steps` on `conn` (connected to `url`, holding the migration lock) as
/// `up`/`down` would, printing nothing: for databases nobody else uses.
pub fn run_quietly(conn: &mut Conn, url: &str, steps: &[Step], source: &Source) -> Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    let history = history::read(conn, true, source.ledger())?;
    let options = runner::Options::new(false, std::time::Duration::from_secs(10), crate::supabase::EXPOSURE);
    let reconnect =
        || db::connect(url, 10, "scratch", &db::Hints::default()).map(|c| Box::new(c) as Box<dyn db::Session>);
    runner::run(conn, &reconnect, steps, source, &history, &options, &mut |_| {}).map(|_| ())
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // At the same time: each drop waits for a checkpoint of the server.
        let (admin, url) = (&mut self.admin, &self.url);
        std::thread::scope(|s| {
            let mut names = self.made.iter().rev();
            let first = names.next();
            for name in names {
                s.spawn(move || {
                    if let Ok(mut other) = db::connect::admin(url, 10, "scratch") {
                        schema::drop_database(&mut other, name);
                    }
                });
            }
            if let Some(name) = first {
                schema::drop_database(admin, name);
            }
        });
    }
}

/// The databases `diff` keeps between runs on the local development
/// database, so that a second `diff` with the same migrations (or the same
/// schema files) reads what the first one built instead of building it
/// again. Each is named `cargo_migrate_diff_<project>_<kind>_<key>`, the key
/// a hash of everything that made it: this program (its file), the server
/// (cluster identifier and version), the roles file, and the text of every
/// migration or schema file, in order. A changed file is another key, so a
/// kept database is never stale; the ones no key names any more are dropped
/// by the next `diff`, all of them by `cargo migrate local reset`. They are
/// read-only to whoever connects, and say what they are in their comment.
struct Kept {
    /// `cargo_migrate_diff_<project>_`.
    prefix: String,
    /// The key of the empty base (what every kept database starts from).
    base: Key,
    /// Kept databases of this project on the server when the run began.
    found: Vec<String>,
    /// Those this run reads or made: not stale.
    used: Vec<String>,
}

/// A key being made (two SipHash states, 128 bits between them).
#[derive(Clone)]
pub struct Key(std::collections::hash_map::DefaultHasher, std::collections::hash_map::DefaultHasher);

impl Key {
    fn new(seed: &str) -> Key {
        use std::hash::Hasher;
        let (mut a, mut b) = (std::collections::hash_map::DefaultHasher::new(), Default::default());
        a.write_u8(1);
        Hasher::write_u8(&mut b, 2);
        let mut key = Key(a, b);
        key.add(seed.as_bytes());
        key
    }

    /// Add one part (its length first, so parts cannot run into each other).
    pub fn add(&mut self, bytes: &[u8]) {
        use std::hash::Hasher;
        for h in [&mut self.0, &mut self.1] {
            h.write_usize(bytes.len());
            h.write(bytes);
        }
    }

    pub fn hex(&self) -> String {
        use std::hash::Hasher;
        format!("{:016x}{:016x}", self.0.finish(), self.1.finish())
    }
}

/// One side of a comparison: a database to read as it is, or one to build
/// from step `from` on and then keep under `keep` (when the server keeps).
pub enum Side {
    Ready(String),
    Build { db: String, from: usize, keep: Option<String> },
}

impl Side {
    pub fn db(&self) -> &str {
        match self {
            Side::Ready(db) | Side::Build { db, .. } => db,
        }
    }
}

const KEPT: &str = "cargo_migrate_diff_";

/// A scratch database of diff (`cargo_migrate_diff_<pid>_<set>_<n>`) whose
/// process is gone (the local server runs on this machine).
fn orphaned(name: &str) -> bool {
    let parts: Vec<&str> = name.strip_prefix(KEPT).unwrap_or_default().split('_').collect();
    let numbers = parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let Some(pid) = parts.first().filter(|_| numbers) else { return false };
    // Where /proc lists the processes (Linux); elsewhere they stay.
    let proc = std::path::Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid).exists()
}

impl Scratch {
    /// Keep what is built between runs, on the local development database
    /// only (a server given with --scratch-url is left as it was found).
    pub fn keep(&mut self, ctx: &Context) -> Result<()> {
        if !self.supabase_like {
            return Ok(());
        }
        let project = crate::version::checksum(&ctx.settings.project.package_dir.display().to_string());
        let prefix = format!("{KEPT}{}_", &project[..6.min(project.len())]);
        let mut base = Key::new("cargo-migrate diff 1");
        base.add(env!("CARGO_PKG_VERSION").as_bytes());
        // A rebuilt program may prepare databases another way.
        if let Some(meta) = std::env::current_exe().ok().and_then(|p| std::fs::metadata(p).ok()) {
            let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            base.add(format!("{} {:?}", meta.len(), modified).as_bytes());
        }
        base.add(schema::server_identity(&mut self.admin)?.as_bytes());
        if let Some(file) = ctx.settings.roles.file()? {
            base.add(&std::fs::read(file).map_err(|e| Error::io(file, "read", e))?);
        }
        let mut found = schema::databases_named(&mut self.admin, &prefix)?;
        // The scratch databases of a diff that was killed before it could drop them.
        let orphans = schema::databases_named(&mut self.admin, KEPT)?.into_iter().filter(|n| orphaned(n));
        found.extend(orphans);
        self.kept = Some(Kept { prefix, base, found, used: Vec::new() });
        Ok(())
    }

    /// A key that starts from the base's (for the steps of one side).
    pub fn key(&self, kind: &str) -> Key {
        let mut key = self.kept.as_ref().map(|k| k.base.clone()).unwrap_or_else(|| Key::new(""));
        key.add(kind.as_bytes());
        key
    }

    /// The empty base every side starts from: kept, or made for this run.
    fn base_once(&mut self, ctx: &Context) -> Result<String> {
        if let Some(base) = &self.base_db {
            return Ok(base.clone());
        }
        let base = match &self.kept {
            None => self.base(ctx)?,
            Some(kept) => {
                let name = format!("{}b_{}", kept.prefix, kept.base.hex());
                if kept.found.contains(&name) {
                    self.kept.as_mut().expect("kept").used.push(name.clone());
                    name
                } else {
                    let made = self.base(ctx)?;
                    self.keep_as(&made, &name).unwrap_or(made)
                }
            }
        };
        self.base_db = Some(base.clone());
        Ok(base)
    }

    /// Rename `made` to the kept `name`; None when it could not be (it then
    /// stays a scratch database, dropped at the end).
    fn keep_as(&mut self, made: &str, name: &str) -> Option<String> {
        let kept = self.kept.as_mut()?;
        if !schema::rename_database(&mut self.admin, made, name) {
            return None;
        }
        self.made.retain(|m| m != made);
        kept.used.push(name.to_string());
        let what = "kept by cargo-migrate diff to compare with (read-only; dropped when what made it changes, \
                    or with `cargo migrate local reset`)";
        // Unmarked, it is still what its name says.
        let _ = schema::keep_database(&mut self.admin, name, what);
        Some(name.to_string())
    }

    /// The database of one side whose steps, run in order on the base, have
    /// the keys `keys` (`keys[i]` once step i ran): kept as it is, else a
    /// kept one of fewer steps taken to run the rest on, else a copy of the
    /// base to run them all on. The `last` side of a run that keeps
    /// nothing is built on the base itself (one database fewer to make).
    pub fn side(&mut self, ctx: &Context, kind: &str, keys: &[String], last_side: bool) -> Result<Side> {
        let base = self.base_once(ctx)?;
        let (Some(kept), Some(last)) = (&self.kept, keys.last()) else {
            if keys.is_empty() {
                self.base_read = true;
                return Ok(Side::Ready(base));
            }
            let db = if last_side && self.kept.is_none() && !self.base_read { base } else { self.work_copy(&base)? };
            self.relax_durability(&db)?;
            return Ok(Side::Build { db, from: 0, keep: None });
        };
        let name = |key: &str| format!("{}{kind}_{key}", kept.prefix);
        let keep = name(last);
        if kept.found.contains(&keep) {
            self.kept.as_mut().expect("kept").used.push(keep.clone());
            return Ok(Side::Ready(keep));
        }
        let fewer = (0..keys.len() - 1).rev().map(|i| (i, name(&keys[i]))).find(|(_, n)| kept.found.contains(n));
        if let Some((i, older)) = fewer {
            let db = format!("{}_{}", self.tag, self.count);
            self.count += 1;
            if schema::rename_database(&mut self.admin, &older, &db) {
                self.made.push(db.clone());
                self.kept.as_mut().expect("kept").found.retain(|n| n != &older);
                schema::unkeep_database(&mut self.admin, &db)?;
                return Ok(Side::Build { db, from: i + 1, keep: Some(keep) });
            }
        }
        let db = self.work_copy(&base)?;
        Ok(Side::Build { db, from: 0, keep: Some(keep) })
    }

    /// A copy of the base to build a side on, quick to commit (writable:
    /// `clone_database` leaves a kept base's read-only mark behind).
    fn work_copy(&mut self, base: &str) -> Result<String> {
        let db = self.copy(base)?;
        self.relax_durability(&db)?;
        Ok(db)
    }

    /// A side built (nobody connected to it any more): kept, if it is to be.
    pub fn built(&mut self, side: &Side) {
        if let Side::Build { db, keep: Some(keep), .. } = side {
            self.keep_as(db, keep);
        }
    }

    /// Drop the kept databases of this project no key of this run names
    /// (unless another run is reading them: then the next run does).
    pub fn drop_stale(&mut self) {
        let Some(kept) = &self.kept else { return };
        for name in kept.found.iter().filter(|n| !kept.used.contains(n)) {
            schema::drop_unused_database(&mut self.admin, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_tells_parts_apart_and_grows_with_each() {
        let key = |parts: &[&str]| {
            let mut k = Key::new("seed");
            for p in parts {
                k.add(p.as_bytes());
            }
            k.hex()
        };
        assert_eq!(key(&["ab", "c"]), key(&["ab", "c"]));
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_ne!(key(&["ab"]), key(&["ab", ""]));
        assert_eq!(key(&[]).len(), 32);
        // A database name of the longest project prefix still fits PostgreSQL's 63 bytes.
        assert!(format!("{KEPT}abcdef_m_{}", key(&[])).len() <= 63);
    }

    #[test]
    fn only_a_dead_diffs_scratch_database_is_orphaned() {
        if !std::path::Path::new("/proc/self").exists() {
            return;
        }
        assert!(orphaned("cargo_migrate_diff_999999999_0_1"));
        assert!(!orphaned(&format!("cargo_migrate_diff_{}_0_1", std::process::id())));
        // Kept databases (even a project hash of digits) and other commands' are not.
        assert!(!orphaned(&format!("cargo_migrate_diff_123456_m_{}", "0".repeat(32))));
        assert!(!orphaned("cargo_migrate_verify_999999999_0_1"));
        assert!(!orphaned("cargo_migrate_diff_999999999_0"));
    }
}
