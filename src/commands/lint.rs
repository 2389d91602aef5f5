//! `cargo migrate lint`: the pending migrations' SQL (or every migration's,
//! `--all`) against the static rules of `lint/`, before it runs; with
//! `--database`, the live schema against Supabase's advisor rules. What the
//! user sees is `output::lint`'s; `--fail-on` sets when the exit code is 1.
//! `up` runs both: `before_run` (errors stop it; `down` and `redo` too) and `advise` after it.

use colored::Colorize;

use super::{pending, Context, Database};
use crate::cli::{FailOn, LintArgs};
use crate::db::{advisor, Conn};
use crate::error::{exit, Error, Kind, Result};
use crate::lint::{self, Finding, LintInput, Severity};
use crate::output::Format;
use crate::output::{self, Checked, FindingJson, LintOutput, LintSummary, Reporter};
use crate::source::{Migration, Source};
use crate::url;

pub fn run(ctx: &Context, args: &LintArgs) -> Result<u8> {
    if args.database {
        if ctx.reporter.format == Format::Sarif {
            return Err(Error::new(
                Kind::UnsupportedFormat,
                "--format sarif needs findings in files; --database has none",
            )
            .hint("use --format json with --database, or drop --database to check the files"));
        }
        return database(ctx, args);
    }
    let config = ctx.settings.lint()?;
    let (mut source, versions, checked) = if args.all {
        let source = ctx.source()?;
        let versions = source.migrations.iter().map(|m| m.version.to_string()).collect();
        (source, versions, Checked::All)
    } else {
        let (source, Database { history, .. }) = ctx.read_both(&args.db, "lint", false).map_err(|e| {
            if e.kind != Kind::Connect {
                return e;
            }
            let hint = e.hint.clone().map(|h| format!("{h}; ")).unwrap_or_default();
            e.hint(format!("{hint}`cargo migrate lint --all` checks every migration without a database"))
        })?;
        let versions = pending(&source, &history);
        (source, versions, Checked::Pending)
    };
    source.check_runnable(versions.clone());
    let inputs = inputs(&source, &versions, &Default::default())?;
    let findings = lint::check(&inputs, config);
    let summary = output::lint::summary(&findings);
    let failed = summary.errors > 0 || (args.fail_on == FailOn::Warn && summary.warnings > 0);
    let r = &ctx.reporter;
    if r.human() {
        r.result(output::lint::human(&inputs, &findings, &summary, checked));
    }
    r.json(&output::lint::json(&inputs, &findings, summary, checked, !failed, &source.dir));
    r.sarif(&output::lint::sarif(&inputs, &findings, &ctx.settings.project.workspace_root));
    Ok(if failed { exit::FAILURE } else { exit::OK })
}

/// The inputs of the migrations among `versions`, in order; thousands of
/// small files are read on every core. Of those in `down_only` (a run
/// reverts them and applies nothing of them) only the down side is read.
fn inputs(source: &Source, versions: &[String], down_only: &std::collections::HashSet<&str>) -> Result<Vec<LintInput>> {
    let input = |m: &Migration| input_of(m, !down_only.contains(m.version.as_str()));
    let wanted: std::collections::HashSet<&str> = versions.iter().map(String::as_str).collect();
    let chosen: Vec<&Migration> = source.migrations.iter().filter(|m| wanted.contains(m.version.as_str())).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    if chosen.len() < 64 || threads < 2 {
        return chosen.into_iter().map(input).collect();
    }
    let chunk = chosen.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = chosen
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|m| input(m)).collect::<Result<Vec<_>>>()))
            .collect();
        let mut all = Vec::with_capacity(chosen.len());
        for part in parts {
            all.extend(
                part.join().map_err(|_| Error::new(Kind::Internal, "reading a migration failed unexpectedly"))??,
            );
        }
        Ok(all)
    })
}

/// The one adapter from a migration on disk to what the rules read (other
/// layouts adapt here too).
pub fn input(m: &Migration) -> Result<LintInput> {
    input_of(m, true)
}

/// `input`; without `with_up`, a folder's up.sql is not read (its up side is empty).
fn input_of(m: &Migration, with_up: bool) -> Result<LintInput> {
    if m.layout == crate::source::Layout::File {
        // One file: each section keeps the file's line numbers (the rest blanked).
        let (up_text, down_text) = m.read_sections()?;
        return Ok(LintInput {
            name: m.name.clone(),
            path: m.up_path(),
            up_text,
            down_path: down_text.as_ref().map(|_| m.down_path()),
            down_text,
            runs_in_transaction: m.run_in_transaction(true)?,
            backfill: None,
        });
    }
    let down_path = m.down_path();
    // A down.sql that says irreversible has nothing to check: like an up-only file.
    // The texts are the migration's own, read once: what is linted is what runs.
    let down_text = match m.irreversible() {
        Some(_) => None,
        None => m.down_if_any()?,
    };
    Ok(LintInput {
        name: m.name.clone(),
        path: m.up_path(),
        up_text: if with_up { m.up_unchecked()? } else { String::new() },
        down_path: down_text.as_ref().map(|_| down_path),
        down_text,
        runs_in_transaction: m.run_in_transaction(true)?,
        backfill: m.backfill()?.map(|b| b.table),
    })
}

/// Shown by `up` before anything runs: at most this many findings, then a count.
const UP_SHOWN: usize = 10;

/// The static checks of what a run is about to send (`up`, `down`, `redo`):
/// an error in the up.sql of a migration it applies, or in the down.sql of
/// one it reverts, stops it before anything runs. Errors in a file it does
/// not run are warnings: an old migration's down.sql that would fail stops
/// its `down`, never the `up` of the project's future.
pub fn before_run(ctx: &Context, source: &Source, steps: &[crate::plan::Step]) -> Result<()> {
    use crate::plan::Step;
    let mut applies = Vec::new();
    let mut reverts = Vec::new();
    for step in steps {
        match step {
            Step::Apply(v) | Step::Resume(v, _) => applies.push(v.clone()),
            Step::Revert(v) => reverts.push(v.clone()),
        }
    }
    gate(ctx, source, &applies, &reverts)
}

/// `verify`'s: it runs the up.sql and the down.sql of each of `versions`.
pub fn before_verify(ctx: &Context, source: &Source, versions: &[String]) -> Result<()> {
    gate(ctx, source, versions, versions)
}

fn gate(ctx: &Context, source: &Source, applies: &[String], reverts: &[String]) -> Result<()> {
    let config = ctx.settings.lint()?;
    let mut versions: Vec<String> = applies.iter().chain(reverts).cloned().collect();
    versions.sort();
    versions.dedup();
    // What is only reverted is checked on its down side alone: its up.sql
    // does not run, and its findings would only be told as warnings.
    let down_only = reverts.iter().filter(|v| !applies.contains(v)).map(String::as_str).collect();
    let inputs = inputs(source, &versions, &down_only)?;
    // `inputs` keeps the folder's order: the version of input i.
    let wanted: std::collections::HashSet<&str> = versions.iter().map(String::as_str).collect();
    let order: Vec<&str> =
        source.migrations.iter().map(|m| m.version.as_str()).filter(|v| wanted.contains(v)).collect();
    let findings = check_unless_known_clean(&inputs, config);
    let runs = |f: &Finding| {
        let v = order.get(f.input).copied().unwrap_or_default();
        match f.side {
            lint::Side::Up => applies.iter().any(|a| a == v),
            lint::Side::Down => reverts.iter().any(|r| r == v),
        }
    };
    let line = |f: &Finding, severity: Severity| {
        format!(
            "{}[{}] {}: {}",
            output::lint::label(severity),
            f.rule.name,
            output::lint::location(&inputs[f.input], f),
            output::clean(&f.message)
        )
    };
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.severity == Severity::Error && runs(f)).collect();
    if !errors.is_empty() {
        let mut err = Error::new(
            Kind::LintFailed,
            format!("the static checks found {} error(s) in the SQL this would run; nothing was run", errors.len()),
        );
        for f in &errors {
            err = err.detail(format!("  {}\n    fix: {}", line(f, f.severity), output::clean(f.fix())));
        }
        return Err(err.hint(
            "fix them (`cargo migrate lint` explains each), silence one with a `-- migrate:ignore <rule>` comment \
             above its statement, or skip the checks with --no-lint",
        ));
    }
    let side_runs = |f: &Finding| match f.side {
        lint::Side::Up => !applies.is_empty(),
        lint::Side::Down => !reverts.is_empty(),
    };
    let mut warnings: Vec<String> = Vec::new();
    for f in &findings {
        if f.severity == Severity::Error {
            let file = if f.side == lint::Side::Down { "down.sql" } else { "up.sql" };
            warnings.push(format!(
                "{} (an error when its {file} runs; this command does not run it)",
                line(f, Severity::Warn)
            ));
        } else if f.severity == Severity::Warn && side_runs(f) {
            warnings.push(line(f, f.severity));
        }
    }
    for w in warnings.iter().take(UP_SHOWN) {
        ctx.reporter.note(w);
    }
    if warnings.len() > UP_SHOWN {
        ctx.reporter
            .note(format!("… and {} more warning(s): `cargo migrate lint` lists them", warnings.len() - UP_SHOWN));
    }
    Ok(())
}

/// The findings in `inputs`, checking only those not already known to have
/// none that the gate acts on (this build, this configuration, this text): a `down --all` of
/// hundreds of migrations does not parse every down.sql again each time.
fn check_unless_known_clean(inputs: &[LintInput], config: &lint::Config) -> Vec<Finding> {
    use crate::workspace::cache::clean_lint;
    let known = clean_lint::load();
    if known.is_empty() && crate::workspace::cache::dir().is_none() {
        return lint::check(inputs, config);
    }
    let rules = clean_lint::rules();
    let clean: std::collections::HashSet<&str> = known.iter().map(String::as_str).collect();
    let keys: Vec<String> = inputs.iter().map(|i| lint::fingerprint(i, config, &rules)).collect();
    let (todo, todo_keys): (Vec<usize>, Vec<&String>) =
        keys.iter().enumerate().filter(|(_, k)| !clean.contains(k.as_str())).unzip();
    if todo.is_empty() {
        return Vec::new();
    }
    let unknown: Vec<LintInput> = todo.iter().map(|&i| inputs[i].clone()).collect();
    let mut findings = lint::check(&unknown, config);
    // The gate acts on errors and warnings only: an input with nothing more
    // than notes counts as clean.
    let found: std::collections::HashSet<usize> =
        findings.iter().filter(|f| f.severity > Severity::Info).map(|f| f.input).collect();
    let now_clean: Vec<String> =
        todo_keys.iter().enumerate().filter(|(j, _)| !found.contains(j)).map(|(_, k)| (*k).clone()).collect();
    for f in &mut findings {
        f.input = todo[f.input];
    }
    drop(clean);
    clean_lint::store(known, now_clean);
    findings
}

/// After a successful `up`: Supabase's advisor on the live schema (a
/// failure to ask is a message, never a failure: the migrations are applied).
pub fn advise(ctx: &Context, conn: &mut Conn) -> std::result::Result<Vec<advisor::Finding>, String> {
    advisor::check(conn, ctx.exposure()).map_err(|e| e.message.clone())
}

/// `advise`'s answer as one summary line.
pub fn print_advice(r: &Reporter, advice: &std::result::Result<Vec<advisor::Finding>, String>) {
    match advice {
        Ok(findings) if findings.is_empty() => {}
        Ok(findings) => {
            let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
            let mut rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
            rules.dedup();
            r.note(format!(
                "{} the database advisor finds {} error(s), {} warning(s) and {} info(s) in the schema now ({}): `cargo migrate lint --database` explains them",
                "advice:".yellow().bold(),
                count(Severity::Error),
                count(Severity::Warn),
                count(Severity::Info),
                rules.join(", ")
            ));
        }
        Err(e) => r.note(format!("note: the database advisor could not run: {e}")),
    }
}

fn database(ctx: &Context, args: &LintArgs) -> Result<u8> {
    let (_, Database { url, mut conn, .. }) = ctx.read_both(&args.db, "lint", false)?;
    let findings = advisor::check(&mut conn, ctx.exposure())?;
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let summary =
        LintSummary { errors: count(Severity::Error), warnings: count(Severity::Warn), infos: count(Severity::Info) };
    let failed = summary.errors > 0 || (args.fail_on == FailOn::Warn && summary.warnings > 0);
    let r = &ctx.reporter;
    let target = url::target_of(&url);
    if findings.is_empty() {
        r.result(format!("{} {target}: no findings", "✓".green()));
    } else {
        let mut out = format!("{target}:\n");
        let mut last = "";
        for f in &findings {
            if f.rule != last {
                let label = output::lint::label(f.severity);
                out.push_str(&format!("\n{label} {}\n  {} {}\n", f.rule, "fix:".cyan(), f.fix));
                last = f.rule;
            }
            out.push_str(&format!("  - {}: {}\n", output::clean(&f.object), f.message));
        }
        out.push_str(&format!(
            "\n{} error(s), {} warning(s), {} info(s)",
            summary.errors, summary.warnings, summary.infos
        ));
        r.result(out);
    }
    r.json(&LintOutput {
        ok: !failed,
        command: "lint",
        database: url::mask(&url),
        findings: findings
            .iter()
            .map(|f| FindingJson {
                rule: f.rule,
                severity: f.severity,
                object: f.object.clone(),
                message: f.message.clone(),
                fix: f.fix,
            })
            .collect(),
        summary,
    });
    Ok(if failed { exit::FAILURE } else { exit::OK })
}

/// The findings on one migration as lines (`diff` prints them for the one it wrote).
pub fn findings_of(ctx: &Context, m: &Migration) -> Result<Vec<String>> {
    let inputs = vec![input(m)?];
    let findings = lint::check(&inputs, ctx.settings.lint()?);
    Ok(findings
        .iter()
        .map(|f| format!("[{}] {}: {}", f.rule.name, output::lint::location(&inputs[0], f), output::clean(&f.message)))
        .collect())
}
