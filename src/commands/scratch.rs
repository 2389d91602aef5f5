//! Scratch databases on a server where we may create them (`--scratch-url`,
//! else the local development database's, prepared like Supabase): `verify`
//! proves migrations there, `dump --check` and `squash` migrate a copy there.
//! Every one made is dropped when the value is, however the command ends.

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
    tag: String,
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
        let admin =
            db::connect(&url::with_params(&server.url, &[("dbname", "template1")]), 10, tag, &db::Hints::default())?;
        Ok(Scratch {
            admin,
            url: server.url.clone(),
            made: Vec::new(),
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
        let name = format!("{}_{}", self.tag, self.made.len());
        schema::clone_database(&mut self.admin, &name, template)?;
        self.made.push(name.clone());
        Ok(name)
    }

    pub fn connect(&self, db: &str) -> Result<Conn> {
        let mut conn = db::connect(&self.url_of(db), 10, "scratch", &db::Hints::default())?;
        // The runner checks it holds the migration lock; nobody else uses a scratch database.
        lock::acquire(&mut conn, std::time::Duration::from_secs(10), |_| {})?;
        Ok(conn)
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
        for name in self.made.iter().rev() {
            schema::drop_database(&mut self.admin, name);
        }
    }
}
