//! `cargo migrate verify`: "test rollback functionality" as one
//! command. On scratch databases (never the target), for each pending
//! migration (or every one with `--all`): snapshot the schema, apply it,
//! revert it, compare with the snapshot, apply it again. Each step starts
//! from a copy of the state before it (`CREATE DATABASE … TEMPLATE`), so no
//! migration is replayed from zero and one that is not reversible does not
//! spoil the next one's test.

use std::collections::BTreeSet;

use colored::Colorize;

use super::Context;
use crate::cli::VerifyArgs;
use crate::db::{self, history, lock, schema, Conn};
use crate::error::{exit, Error, Kind, Result};
use crate::output::fleet::FleetState;
use crate::output::{self, VerifyOutput, VerifyResult, VerifyState};
use crate::plan::Step;
use crate::runner;
use crate::source::Source;
use crate::url;

/// What verify found for one migration.
pub enum Verdict {
    Reversible,
    /// A single file without a down section: it applied; nothing to revert.
    UpOnly,
    /// Down did not give back the schema up started from.
    NotReversible {
        left: Vec<String>,
        lost: Vec<String>,
    },
    /// A step failed: which, and the error as `up` reports it.
    Failing {
        stage: &'static str,
        error: Error,
    },
    /// An earlier migration failed to apply, so this one could not be tried.
    NotTried,
}

impl Verdict {
    /// Not reversible, failing, or not tried.
    pub fn is_problem(&self) -> bool {
        !matches!(self, Verdict::Reversible | Verdict::UpOnly)
    }

    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Reversible => "reversible",
            Verdict::UpOnly => "up-only",
            Verdict::NotReversible { .. } => "not reversible",
            Verdict::Failing { .. } => "failing",
            Verdict::NotTried => "not tried",
        }
    }
}

/// A verdict as the JSON documents say it: its state and why.
pub fn described(v: &Verdict) -> (VerifyState, Vec<String>) {
    match v {
        Verdict::Reversible => (VerifyState::Reversible, Vec::new()),
        Verdict::UpOnly => (VerifyState::UpOnly, Vec::new()),
        Verdict::NotReversible { left, lost } => {
            let mut d: Vec<String> = left.iter().map(|x| format!("left behind: {x}")).collect();
            d.extend(lost.iter().map(|x| format!("lost: {x}")));
            (VerifyState::NotReversible, d)
        }
        Verdict::Failing { stage, error } => (
            VerifyState::Failing,
            vec![format!("{stage} failed: {}", error.message.lines().next().unwrap_or_default())],
        ),
        Verdict::NotTried => (VerifyState::NotTried, vec!["an earlier migration does not apply".into()]),
    }
}

pub fn state_word(s: VerifyState) -> &'static str {
    match s {
        VerifyState::Reversible => "reversible",
        VerifyState::NotReversible => "not reversible",
        VerifyState::Failing => "failing",
        VerifyState::NotTried => "not tried",
        VerifyState::UpOnly => "up-only",
    }
}

/// The scratch databases made, dropped when verify ends however it ends.
struct Scratch {
    admin: Conn,
    url: String,
    made: Vec<String>,
    tag: String,
}

impl Scratch {
    fn url_of(&self, db: &str) -> String {
        url::with_params(&self.url, &[("dbname", db)])
    }

    /// A new database, copied from `template`.
    fn copy(&mut self, template: &str) -> Result<String> {
        let name = format!("{}_{}", self.tag, self.made.len());
        schema::clone_database(&mut self.admin, &name, template)?;
        self.made.push(name.clone());
        Ok(name)
    }

    fn connect(&self, db: &str) -> Result<Conn> {
        let mut conn = db::connect(&self.url_of(db), 10, "verify", &db::Hints::default())?;
        // The runner checks it holds the migration lock; nobody else uses a scratch database.
        lock::acquire(&mut conn, std::time::Duration::from_secs(10), |_| {})?;
        Ok(conn)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for name in self.made.iter().rev() {
            schema::drop_database(&mut self.admin, name);
        }
    }
}

/// Run `steps` on `conn` as `up`/`down` would, quietly.
fn run_steps(conn: &mut Conn, scratch: &Scratch, db: &str, steps: &[Step], source: &Source) -> Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    let history = history::read(conn, true, source.ledger())?;
    let options = runner::Options {
        single_transaction: false,
        who: db::connect::whoami(),
        settle_timeout: std::time::Duration::from_secs(10),
    };
    let reconnect = || {
        db::connect(&scratch.url_of(db), 10, "verify", &db::Hints::default())
            .map(|c| Box::new(c) as Box<dyn db::Session>)
    };
    runner::run(conn, &reconnect, steps, source, &history, &options, &mut |_| {}).map(|_| ())
}

pub fn run(ctx: &Context, args: &VerifyArgs) -> Result<u8> {
    if args.fleet.given() {
        // One scratch server for the fleet, made ready once.
        let scratch = scratch_server(ctx, args)?;
        return super::fleet::run(ctx, &args.fleet, &args.db, "verify", false, &|tctx, db| {
            let (source, db) = tctx.read_both(db, "verify", false)?;
            let pending = super::pending(&source, &db.history);
            let applied = Some(db.history.applied.len());
            let results =
                if pending.is_empty() { Vec::new() } else { verify(tctx, source, &pending, &scratch, !args.no_lint)? };
            let problems = results.iter().filter(|(_, _, v)| v.is_problem()).count();
            if problems > 0 {
                let e = Error::new(
                    Kind::NotReversible,
                    format!("{problems} of {} pending migration(s) have a problem", results.len()),
                );
                return Err(results
                    .iter()
                    .filter(|(_, _, v)| v.is_problem())
                    .fold(e, |e, (_, name, v)| e.detail(format!("  {name}: {}", v.word()))));
            }
            let state = if results.is_empty() { FleetState::UpToDate } else { FleetState::Verified };
            Ok(super::fleet::Done { state, steps: Vec::new(), applied, pending: Some(pending.len()), problems })
        });
    }
    let r = &ctx.reporter;
    // What to verify: the target's pending migrations (it is only read), or all.
    let (source, versions) = if args.all {
        let source = ctx.source()?;
        let all = source.migrations.iter().map(|m| m.version.clone()).collect();
        (source, all)
    } else {
        let (source, db) = ctx.read_both(&args.db, "verify", false)?;
        let pending = super::pending(&source, &db.history);
        (source, pending)
    };
    if versions.is_empty() {
        let mut source = source;
        source.check_runnable(source.migrations.iter().map(|m| m.version.clone()).collect());
        crate::plan::check_source(&source.problems)?;
        r.line(format!("{} nothing to verify: no migration is pending (`--all` verifies every one)", "✓".green()));
        r.json(&VerifyOutput { ok: true, command: "verify", migrations: Vec::new() });
        return Ok(exit::OK);
    }
    let scratch = scratch_server(ctx, args)?;
    let results = verify(ctx, source, &versions, &scratch, !args.no_lint)?;
    report(ctx, &results)
}

/// Where verify makes its scratch databases: --scratch-url, else the local
/// development database's server (where they are prepared like Supabase, as it is).
pub struct ScratchServer {
    url: String,
    supabase_like: bool,
}

fn scratch_server(ctx: &Context, args: &VerifyArgs) -> Result<ScratchServer> {
    scratch_server_at(ctx, args.scratch_url.as_deref(), &args.db.local_db)
}

pub fn scratch_server_at(
    ctx: &Context,
    scratch_url: Option<&str>,
    local: &crate::cli::LocalOpts,
) -> Result<ScratchServer> {
    let (url, supabase_like) = match scratch_url {
        Some(u) => (u.to_string(), false),
        None => (ctx.local(local)?.ensure_running().map(|run| super::running(&ctx.reporter, run))?, true),
    };
    for secret in url::secrets(&url) {
        output::add_secret(&secret);
    }
    Ok(ScratchServer { url, supabase_like })
}

/// Each migration's verdict, in order, on scratch databases of `server`.
pub fn verify(
    ctx: &Context,
    mut source: Source,
    versions: &[String],
    server: &ScratchServer,
    lint: bool,
) -> Result<Vec<(String, String, Verdict)>> {
    source.check_runnable(source.migrations.iter().map(|m| m.version.clone()).collect());
    crate::plan::check_source(&source.problems)?;
    if lint {
        super::lint::before_verify(ctx, &source, versions)?;
    }
    let (mut scratch, base) = at_start(ctx, &source, &versions[0], server)?;
    let mut current = base;
    let mut results: Vec<(String, String, Verdict)> = Vec::new();
    let mut broken = false;
    for v in versions {
        let name = source.find(v).map(|m| m.name.clone()).unwrap_or_else(|| v.clone());
        if broken {
            results.push((v.clone(), name, Verdict::NotTried));
            continue;
        }
        let (verdict, after) = verify_one(&mut scratch, &current, v, &source)?;
        broken = after.is_none();
        if let Some(after) = after {
            current = after;
        }
        results.push((v.clone(), name, verdict));
    }
    Ok(results)
}

/// A scratch database (and its server's scratch set) holding what the
/// migrations before `first` make, ready like the local database.
fn at_start(ctx: &Context, source: &Source, first: &str, server: &ScratchServer) -> Result<(Scratch, String)> {
    let admin =
        db::connect(&url::with_params(&server.url, &[("dbname", "template1")]), 10, "verify", &db::Hints::default())?;
    // Unique in this process too: a fleet verifies several targets at once.
    static SCRATCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut scratch = Scratch {
        admin,
        url: server.url.clone(),
        made: Vec::new(),
        tag: format!(
            "cargo_migrate_verify_{}_{}",
            std::process::id(),
            SCRATCHES.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
    };
    let base = scratch.copy("template0").map_err(|e| {
        e.hint("verify needs a server where it may create databases: give one with --scratch-url (MIGRATE_SCRATCH_URL)")
    })?;
    if server.supabase_like {
        crate::local::prepare_like_supabase(&scratch.url_of(&base))?;
    } else if let Some(file) = ctx.settings.roles.file()? {
        // Another server: its roles are its own, so the roles file runs there
        // too (the local database's ran when it started).
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, "read", e))?;
        crate::local::run_roles(&scratch.url_of(&base), file, &text).map_err(|e| {
            e.hint(
                "roles belong to the whole server: if it has them already, make each statement safe to run twice \
                    (`DO $$ BEGIN CREATE ROLE … ; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`)",
            )
        })?;
    }
    // The state before the first migration verified.
    let before: Vec<Step> = source
        .migrations
        .iter()
        .take_while(|m| m.version.as_str() < first)
        .map(|m| Step::Apply(m.version.clone()))
        .collect();
    {
        let mut conn = scratch.connect(&base)?;
        run_steps(&mut conn, &scratch, &base, &before, &source).map_err(|e| {
            Error::new(
                Kind::NotReversible,
                format!("the migrations before {} do not apply on a scratch database", first),
            )
            .detail(format!("  {}", e.message))
            .hint("fix that first: `cargo migrate verify --all` says which")
        })?;
    }

    Ok((scratch, base))
}

/// What `up` would send to apply `versions` on a database holding every
/// migration before the first of them (made on a scratch database, dropped after).
pub fn dry_run(
    ctx: &Context,
    source: &Source,
    versions: &[String],
    server: &ScratchServer,
) -> Result<(String, Vec<runner::Planned>)> {
    let Some(first) = versions.first() else { return Ok((String::new(), Vec::new())) };
    let (scratch, base) = at_start(ctx, source, first, server)?;
    let mut conn = scratch.connect(&base)?;
    let history = history::read(&mut conn, true, source.ledger())?;
    let steps: Vec<Step> = versions.iter().map(|v| Step::Apply(v.clone())).collect();
    let options = runner::Options {
        single_transaction: false,
        who: db::connect::whoami(),
        settle_timeout: std::time::Duration::from_secs(10),
    };
    runner::dry_run(&mut conn, &steps, source, &history, &options)
}

/// Verify migration `v` starting from a copy of `from`; returns the verdict
/// and the database holding the state after `v` (None when `v` does not apply).
fn verify_one(scratch: &mut Scratch, from: &str, v: &str, source: &Source) -> Result<(Verdict, Option<String>)> {
    let work = scratch.copy(from)?;
    let mut conn = scratch.connect(&work)?;
    let apply = [Step::Apply(v.to_string())];
    let revert = [Step::Revert(v.to_string())];
    let start = schema::snapshot(&mut conn)?;
    if let Err(error) = run_steps(&mut conn, scratch, &work, &apply, source) {
        return Ok((Verdict::Failing { stage: "up", error }, None));
    }
    // Up-only by design (Supabase's files): that it applies is all there is to prove.
    if source.find(v).is_some_and(|m| m.is_up_only()) {
        return Ok((Verdict::UpOnly, Some(work)));
    }
    if let Err(error) = run_steps(&mut conn, scratch, &work, &revert, source) {
        // Rolled back: the database still holds what up did.
        return Ok((Verdict::Failing { stage: "down", error }, Some(work)));
    }
    let end = schema::snapshot(&mut conn)?;
    let (left, lost) = difference(&start, &end);
    let again = run_steps(&mut conn, scratch, &work, &apply, source);
    drop(conn);
    match (left.is_empty() && lost.is_empty(), again) {
        (true, Ok(())) => Ok((Verdict::Reversible, Some(work))),
        (reversible, again) => {
            // The state after `v`, made cleanly for the next migration.
            let after = scratch.copy(from)?;
            let mut conn = scratch.connect(&after)?;
            run_steps(&mut conn, scratch, &after, &apply, source)?;
            let verdict = match (reversible, again) {
                (true, Err(error)) => Verdict::Failing { stage: "up after down", error },
                _ => Verdict::NotReversible { left, lost },
            };
            Ok((verdict, Some(after)))
        }
    }
}

/// What the revert left behind, and what it took that was there before.
fn difference(before: &BTreeSet<String>, after: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    (after.difference(before).cloned().collect(), before.difference(after).cloned().collect())
}

fn report(ctx: &Context, results: &[(String, String, Verdict)]) -> Result<u8> {
    let r = &ctx.reporter;
    let mut problems = 0;
    let mut json = Vec::new();
    for (version, name, verdict) in results {
        let name_shown = output::escape(name);
        let (state, details, error) = match verdict {
            Verdict::Reversible => {
                r.line(format!("  {} {name_shown}", "reversible".green()));
                (VerifyState::Reversible, Vec::new(), None)
            }
            Verdict::NotReversible { .. } => {
                problems += 1;
                r.line(format!("  {} {name_shown}: down.sql does not undo up.sql", "not reversible".red().bold()));
                let (_, d) = described(verdict);
                for line in &d {
                    r.line(format!("      {}", output::clean(line)));
                }
                (VerifyState::NotReversible, d, None)
            }
            Verdict::Failing { stage, error } => {
                problems += 1;
                r.line(format!("  {} {name_shown}: {stage} failed", "failing".red().bold()));
                for line in output::human::plain(error).lines() {
                    r.line(format!("      {line}"));
                }
                (VerifyState::Failing, vec![format!("{stage} failed")], Some(error.message.clone()))
            }
            Verdict::UpOnly => {
                r.line(format!("  {} {name_shown}: applies; up-only, so there is no down to verify", "up-only".cyan()));
                (VerifyState::UpOnly, Vec::new(), None)
            }
            Verdict::NotTried => {
                r.line(format!("  {} {name_shown}: an earlier migration does not apply", "not tried".yellow()));
                (VerifyState::NotTried, Vec::new(), None)
            }
        };
        json.push(VerifyResult { version: version.into(), name: name.clone(), state, details, error });
    }
    let ok = problems == 0;
    if ok {
        r.line(format!(
            "{} {} migration(s) verified: each one applies, and each down undoes its up",
            "✓".green().bold(),
            results.len()
        ));
    } else {
        r.line(format!("{} {problems} of {} migration(s) have a problem", "✗".red().bold(), results.len()));
    }
    r.json(&VerifyOutput { ok, command: "verify", migrations: json });
    Ok(if ok { exit::OK } else { exit::FAILURE })
}
