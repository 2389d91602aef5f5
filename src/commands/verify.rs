//! `cargo migrate verify`: "test rollback functionality" as one
//! command. On scratch databases (never the target), for each pending
//! migration (or every one with `--all`): snapshot the schema, apply it,
//! revert it, compare with the snapshot, apply it again (in place, only
//! where the compare cannot have seen all it did). Each step starts
//! from a copy of the state before it (`CREATE DATABASE … TEMPLATE`), so no
//! migration is replayed from zero and one that is not reversible does not
//! spoil the next one's test.

use std::collections::BTreeSet;

use colored::Colorize;

use super::scratch::Scratch;
use super::Context;
use crate::cli::VerifyArgs;
use crate::db::{history, ledger, schema, Conn};
use crate::error::{exit, Error, Kind, Result};
use crate::output::fleet::FleetState;
use crate::output::{self, VerifyOutput, VerifyResult, VerifyState};
use crate::plan::Step;
use crate::runner;
use crate::source::Source;

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
        let all = source.migrations.iter().map(|m| m.version.to_string()).collect();
        (source, all)
    } else {
        let (source, db) = ctx.read_both(&args.db, "verify", false)?;
        let pending = super::pending(&source, &db.history);
        (source, pending)
    };
    if versions.is_empty() {
        let mut source = source;
        source.check_runnable(source.migrations.iter().map(|m| m.version.to_string()).collect());
        crate::plan::check_source(&source.problems)?;
        r.line(format!("{} nothing to verify: no migration is pending (`--all` verifies every one)", "✓".green()));
        r.json(&VerifyOutput { ok: true, command: "verify", migrations: Vec::new() });
        return Ok(exit::OK);
    }
    let scratch = scratch_server(ctx, args)?;
    let results = verify(ctx, source, &versions, &scratch, !args.no_lint)?;
    report(ctx, &results)
}

/// Where verify makes its scratch databases.
pub use super::scratch::Server as ScratchServer;

fn scratch_server(ctx: &Context, args: &VerifyArgs) -> Result<ScratchServer> {
    scratch_server_at(ctx, args.scratch_url.as_deref(), &args.db.local_db)
}

pub fn scratch_server_at(
    ctx: &Context,
    scratch_url: Option<&str>,
    local: &crate::cli::LocalOpts,
) -> Result<ScratchServer> {
    ScratchServer::open(ctx, scratch_url, local)
}

/// Each migration's verdict, in order, on scratch databases of `server`.
pub fn verify(
    ctx: &Context,
    mut source: Source,
    versions: &[String],
    server: &ScratchServer,
    lint: bool,
) -> Result<Vec<(String, String, Verdict)>> {
    source.check_runnable(source.migrations.iter().map(|m| m.version.to_string()).collect());
    crate::plan::check_source(&source.problems)?;
    if lint {
        super::lint::before_verify(ctx, &source, versions)?;
    }
    let (mut scratch, base) = at_start(ctx, &source, &versions[0], server)?;
    let mut results: Vec<(String, String, Verdict)> = Vec::new();
    let mut trial = Trial::open(&mut scratch, base, &source)?;
    for v in versions {
        let name = source.find(v).map(|m| m.name.clone()).unwrap_or_else(|| v.clone());
        let verdict = match trial.as_mut() {
            None => Verdict::NotTried,
            Some(t) if t.in_transaction(v, &source)? => t.verify_in_place(v, &source)?,
            Some(_) => {
                // Outside a transaction it cannot be undone by a savepoint: the old way, on copies.
                let Some(t) = trial.take() else { unreachable!() };
                let from = t.close();
                let (verdict, after) = verify_one(&mut scratch, &from, v, &source)?;
                trial = after.map(|db| Trial::open(&mut scratch, db, &source)).transpose()?.flatten();
                verdict
            }
        };
        if matches!(verdict, Verdict::Failing { stage: "up", .. }) {
            trial = None;
        }
        results.push((v.clone(), name, verdict));
    }
    drop(trial);
    Ok(results)
}

/// A scratch database (and its server's scratch set) holding what the
/// migrations before `first` make, ready like the local database.
fn at_start(ctx: &Context, source: &Source, first: &str, server: &ScratchServer) -> Result<(Scratch, String)> {
    let mut scratch = Scratch::on(server, "verify")?;
    let base = scratch.base(ctx)?;
    // The state before the first migration verified.
    let before: Vec<Step> = source
        .migrations
        .iter()
        .take_while(|m| m.version.as_str() < first)
        .map(|m| Step::Apply(m.version.to_string()))
        .collect();
    {
        let mut conn = scratch.connect(&base)?;
        scratch.run_steps(&mut conn, &base, &before, source).map_err(|e| {
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
    let options = runner::Options::new(false, std::time::Duration::from_secs(10), crate::supabase::EXPOSURE);
    runner::dry_run(&mut conn, &steps, source, &history, &options)
}

/// One scratch database verified in place: each migration in one transaction
/// (up, a savepoint, down, compare, up again, back to the savepoint,
/// commit), so the next one starts from the state after it without a
/// database copy. Up runs again only when the compare may not have seen all
/// that up and down changed: rows of the database's tables, roles, objects
/// the catalog leaves out. The schema is read whole once; after that only what the
/// migration's transaction changed is read (so `--all` is not quadratic in
/// the schema's size), before it is committed.
struct Trial {
    db: String,
    conn: Conn,
    /// A second session of the database, which sees what the trial committed.
    committed: Conn,
    steps: runner::InTransaction,
    history: history::History,
    /// The schema as it is before the next migration.
    before: schema::Tracked,
    /// How many objects the catalog had when the kept statements were planned.
    planned_for: usize,
    /// The server's catalogs, and their counts of writes at the trial's start.
    writes: schema::Writes,
}

impl Trial {
    /// Some(trial) on database `db`; the snapshot of its schema taken now.
    fn open(scratch: &mut Scratch, db: String, source: &Source) -> Result<Option<Trial>> {
        scratch.relax_durability(&db)?;
        let mut conn = scratch.connect(&db)?;
        // The trial reads the same catalog queries twice a migration: plan them once.
        conn.keep_prepared();
        let history = history::read(&mut conn, true, source.ledger())?;
        let steps = runner::InTransaction::new(&mut conn, &history, crate::supabase::EXPOSURE)?;
        let before = schema::tracked(&mut conn)?;
        let planned_for = before.known();
        let writes = schema::Writes::find(&mut conn)?;
        let mut committed = scratch.connect_to_read(&db)?;
        committed.keep_prepared();
        // What the trial locks, this session does not wait for: it gives up
        // at once, and the trial reads it itself (Trial::verify_in_place).
        committed.execute("SET lock_timeout = '1ms'").map_err(|e| crate::db::query_error("set lock_timeout", e))?;
        Ok(Some(Trial { db, conn, committed, steps, history, before, planned_for, writes }))
    }

    /// The database, its session ended (a copy may be made of it).
    fn close(self) -> String {
        self.db
    }

    fn in_transaction(&self, v: &str, source: &Source) -> Result<bool> {
        match source.find(v) {
            Some(m) => {
                Ok(m.script(true, None)?.in_transaction && m.script(false, None).map_or(true, |s| s.in_transaction))
            }
            None => Ok(true),
        }
    }

    fn verify_in_place(&mut self, v: &str, source: &Source) -> Result<Verdict> {
        if let Some(verdict) = self.try_in_place(v, source)? {
            return Ok(verdict);
        }
        // The schema as it was could not be read beside the trial (the
        // trial locks what it needed): read it here, and try again.
        self.before.refresh(&mut self.conn)?;
        self.try_in_place(v, source)?
            .ok_or_else(|| Error::new(Kind::Internal, "verify could not read the schema beside its trial"))
    }

    /// The verdict; None (the transaction rolled back) when what the schema
    /// was could not be read beside the trial.
    fn try_in_place(&mut self, v: &str, source: &Source) -> Result<Option<Verdict>> {
        let up_only = source.find(v).is_some_and(|m| m.is_up_only());
        let up = self.steps.prepare(&[Step::Apply(v.to_string())], source, &self.history)?.remove(0);
        let conn = &mut self.conn;
        ledger::begin(conn, "the trial")?;
        self.writes.mark(conn)?;
        if let Err(error) = self.steps.run(conn, &up) {
            ledger::rollback(conn);
            return Ok(Some(Verdict::Failing { stage: "up", error }));
        }
        let (verdict, after) = if up_only {
            let written = self.writes.since_mark(conn)?;
            (Verdict::UpOnly, self.before.after(conn, &mut self.committed, None, &written)?)
        } else {
            let down = self.steps.prepare(&[Step::Revert(v.to_string())], source, &self.history)?.remove(0);
            ledger::savepoint(conn, SAVEPOINT)?;
            // What up and down wrote besides their objects; None once up has run again.
            let (verdict, end, written) = match self.steps.run(conn, &down) {
                // Back to the savepoint: the database holds what up did.
                Err(error) => (Verdict::Failing { stage: "down", error }, None, None),
                Ok(_) => {
                    // What up and down changed, as down left it.
                    let written = self.writes.since_mark(conn)?;
                    let Some(end) = self.before.changed(conn, &mut self.committed, &written)? else {
                        ledger::rollback(conn);
                        return Ok(None);
                    };
                    let (left, lost) = self.before.difference(&end);
                    let (verdict, written) = if !left.is_empty() || !lost.is_empty() {
                        (Verdict::NotReversible { left, lost }, Some(written))
                    } else if self.before.sees_all_of(&end) && written.unseen().is_empty() {
                        // All that up and down did is in what compared
                        // equal: up starts again from where it started, and
                        // runs as it ran. Otherwise it is run again to see.
                        (Verdict::Reversible, Some(written))
                    } else if let Err(error) = self.steps.run(conn, &up) {
                        (Verdict::Failing { stage: "up after down", error }, None)
                    } else {
                        (Verdict::Reversible, None)
                    };
                    (verdict, Some(end), written)
                }
            };
            ledger::rollback_to(conn, SAVEPOINT)?;
            let written = match written {
                Some(written) => written,
                None => self.writes.since_mark(conn)?,
            };
            // Up's objects are among those up and down changed; without a
            // down that ran, what up changed is all there is.
            let only = end.map(|end| end.objects().clone());
            let after = self.before.after(conn, &mut self.committed, only, &written)?;
            (verdict, after)
        };
        let Some(after) = after else {
            ledger::rollback(conn);
            return Ok(None);
        };
        ledger::reset_and_commit(conn, "the trial")?;
        self.before.take_in(after);
        // Plans made for a catalog half the size scan what has grown (at
        // N = 1000 the reads took 4 times as long by the end): planned again.
        if self.before.known() > 2 * self.planned_for.max(PLANNED_FOR_AT_LEAST) {
            conn.prepare_afresh().map_err(|e| crate::db::query_error("plan the schema reads again", e))?;
            self.committed.prepare_afresh().map_err(|e| crate::db::query_error("plan the schema reads again", e))?;
            self.planned_for = self.before.known();
        }
        #[cfg(debug_assertions)]
        self.before.check(conn)?;
        Ok(Some(verdict))
    }
}

/// The catalog size below which the trial's statements are never planned again.
const PLANNED_FOR_AT_LEAST: usize = 32;

/// Where a trial's transaction goes back to after the down (and the up after it).
const SAVEPOINT: &str = "cargo_migrate_verify_down";

/// Verify migration `v` starting from a copy of `from`; returns the verdict
/// and the database holding the state after `v` (None when `v` does not apply).
fn verify_one(scratch: &mut Scratch, from: &str, v: &str, source: &Source) -> Result<(Verdict, Option<String>)> {
    let work = scratch.copy(from)?;
    let mut conn = scratch.connect(&work)?;
    let apply = [Step::Apply(v.to_string())];
    let revert = [Step::Revert(v.to_string())];
    let start = schema::snapshot(&mut conn)?;
    if let Err(error) = scratch.run_steps(&mut conn, &work, &apply, source) {
        return Ok((Verdict::Failing { stage: "up", error }, None));
    }
    // Up-only by design (Supabase's files): that it applies is all there is to prove.
    if source.find(v).is_some_and(|m| m.is_up_only()) {
        return Ok((Verdict::UpOnly, Some(work)));
    }
    if let Err(error) = scratch.run_steps(&mut conn, &work, &revert, source) {
        // Rolled back: the database still holds what up did.
        return Ok((Verdict::Failing { stage: "down", error }, Some(work)));
    }
    let end = schema::snapshot(&mut conn)?;
    let (left, lost) = difference(&start, &end);
    let again = scratch.run_steps(&mut conn, &work, &apply, source);
    drop(conn);
    match (left.is_empty() && lost.is_empty(), again) {
        (true, Ok(())) => Ok((Verdict::Reversible, Some(work))),
        (reversible, again) => {
            // The state after `v`, made cleanly for the next migration.
            let after = scratch.copy(from)?;
            let mut conn = scratch.connect(&after)?;
            scratch.run_steps(&mut conn, &after, &apply, source)?;
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
