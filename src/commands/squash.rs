//! `cargo migrate squash --to VERSION`: every migration up to VERSION
//! becomes one baseline migration (version VERSION), made from a dump of a
//! scratch database migrated to VERSION (Supabase's schemas left out but for
//! the policies, triggers, buckets and cron jobs the migrations put there;
//! grants, comments and publication members kept). The squashed files are
//! deleted, or moved aside with `--keep`. The baseline's first line names
//! the versions it replaces: a database that applied all of them records the
//! baseline instead on its next `up` (or now, `--record`); a fresh database
//! applies the baseline; one that applied only some is refused.

use std::path::{Path, PathBuf};

use colored::Colorize;

use super::dump::{migrated_scratch, pg_dump_for};
use super::scratch::Scratch;
use super::Context;
use crate::cli::SquashArgs;
use crate::db::{self, dump_text, history, ledger, Conn, History};
use crate::error::{exit, Error, Kind, Result};
use crate::output::{self, Reporter, SquashOutput};
use crate::source::{baseline, Layout, Source};

/// A baseline on disk and what it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub version: String,
    pub name: String,
    pub checksum: String,
    /// Every version it replaces, its own among them.
    pub replaces: Vec<String>,
}

/// What a database's history needs so that it records the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub baseline: Baseline,
    /// The other squashed versions it has applied: their rows go.
    pub others: Vec<String>,
}

/// The baselines of `source`.
pub fn baselines(source: &Source) -> Vec<Baseline> {
    source
        .migrations
        .iter()
        .filter_map(|m| {
            let replaces = m.baseline_of()?;
            Some(Baseline {
                version: m.version.to_string(),
                name: m.name.clone(),
                checksum: m.checksum.clone().unwrap_or_default(),
                replaces,
            })
        })
        .collect()
}

/// Pure: what `history` needs for each baseline. Applied all it replaces:
/// record the baseline. Applied none: nothing (it applies as any migration).
/// Applied the baseline's version alone: recorded already (its name is set
/// if not). Applied some: refused, with what is missing.
pub fn fixes(baselines: &[Baseline], history: &History) -> Result<Vec<Fix>> {
    let mut out = Vec::new();
    for b in baselines {
        let applied: Vec<&String> = b.replaces.iter().filter(|v| history.is_applied(v)).collect();
        if applied.is_empty() {
            continue;
        }
        let others: Vec<String> = applied.iter().filter(|v| ***v != b.version).map(|v| v.to_string()).collect();
        let recorded = history.applied.iter().find(|a| a.version == b.version);
        let named = recorded.is_some_and(|a| a.name.as_deref() == Some(b.name.as_str()));
        if applied.len() == b.replaces.len() || (others.is_empty() && recorded.is_some()) {
            if !others.is_empty() || !named {
                out.push(Fix { baseline: b.clone(), others });
            }
            continue;
        }
        let missing: Vec<String> = b.replaces.iter().filter(|v| !history.is_applied(v)).cloned().collect();
        return Err(partly_applied(b, applied.into_iter().cloned().collect(), missing));
    }
    Ok(out)
}

fn partly_applied(b: &Baseline, applied: Vec<String>, missing: Vec<String>) -> Error {
    Error::new(
        Kind::SquashPartlyApplied {
            applied: applied.iter().map(|v| v.as_str().into()).collect(),
            missing: missing.iter().map(|v| v.as_str().into()).collect(),
        },
        format!(
            "the baseline {} replaces {} migration(s), and this database applied only {} of them (not {}); nothing was run",
            b.name,
            b.replaces.len(),
            applied.len(),
            missing.join(", ")
        ),
    )
    .hint(
        "apply the missing ones with the files from before the squash (`git stash`/`git checkout` them, or the folder \
         `squash --keep` moved them to, then `cargo migrate up --to` the baseline's version), and run `up` again",
    )
}

/// The history as it reads once the fixes are recorded (for `status`, which writes nothing).
pub fn as_recorded(source: &Source, history: History, r: &Reporter) -> History {
    let Ok(fixes) = fixes(&baselines(source), &history) else { return history };
    for fix in &fixes {
        r.note(format!(
            "note: this database applied the {} migration(s) {} replaces: the next `up` records the baseline instead",
            fix.baseline.replaces.len(),
            fix.baseline.name
        ));
    }
    view(history, &fixes)
}

/// Pure: `history` with `fixes` recorded.
fn view(mut history: History, fixes: &[Fix]) -> History {
    for fix in fixes {
        history.applied.retain(|a| !fix.others.contains(&a.version));
        if let Some(a) = history.applied.iter_mut().find(|a| a.version == fix.baseline.version) {
            a.name = Some(fix.baseline.name.clone());
            a.checksum = Some(fix.baseline.checksum.clone());
        }
    }
    history
}

/// Before `up` plans: record the baselines whose migrations the database
/// applied (under the migration lock); refuse one it applied only part of.
pub fn reconcile(
    ctx: &Context,
    conn: &mut Conn,
    source: &Source,
    history: History,
    lock: &crate::cli::LockOpts,
) -> Result<History> {
    let found = baselines(source);
    if found.is_empty() || fixes(&found, &history)?.is_empty() {
        return Ok(history);
    }
    ctx.lock(conn, lock)?;
    let history = history::read(conn, true, ctx.settings.ledger())?;
    let fixes = fixes(&found, &history)?;
    record(ctx, conn, &history, &fixes)?;
    history::read(conn, true, ctx.settings.ledger())
}

fn record(ctx: &Context, conn: &mut Conn, history: &History, fixes: &[Fix]) -> Result<()> {
    if fixes.is_empty() {
        return Ok(());
    }
    let table = ledger::ensure_tables_sql(history, ctx.exposure())?.0;
    let mut sql = String::new();
    for f in fixes {
        let b = &f.baseline;
        sql.push_str(&ledger::squashed_sql(
            (history.ledger, &table),
            history.supabase_history,
            (&b.version, &b.name, &b.checksum),
            &f.others,
        ));
        ctx.reporter.line(format!(
            "  recorded the baseline {} for the {} squashed migration(s) this database applied",
            output::escape(&b.name),
            f.others.len() + 1
        ));
    }
    ledger::record_squash(conn, history, ctx.exposure(), &sql)
}

/// The baseline's SQL: the scratch database's schema without the bookkeeping.
fn baseline_sql(ctx: &Context, conn: &mut Conn, url: &str, args: &SquashArgs, replaces: &[String]) -> Result<String> {
    let history = history::read(conn, true, ctx.settings.ledger())?;
    let pg_dump = pg_dump_for(ctx, conn, &args.db.local_db)?;
    let parsed = db::connect::parse(url)?;
    let managed = crate::supabase::managed::managed();
    let pieces = db::dump::read_without_history(conn, &parsed, &pg_dump, &history, &managed)?;
    let publications = if pieces.left_out.is_empty() { Vec::new() } else { managed.publications };
    let left_out = dump_text::LeftOut { publications: &publications, schemas: &pieces.left_out };
    let normalised = dump_text::normalise(&pieces.raw, left_out);
    let body = normalised.strip_prefix(dump_text::HEADER).unwrap_or(&normalised);
    let body = body.trim_start_matches('\n').lines().skip(1).collect::<Vec<_>>().join("\n");
    let head = format!(
        "{}\n-- The schema of the {} migration(s) above, made by `cargo migrate squash` from pg_dump --schema-only.\n",
        baseline::mark(replaces),
        replaces.len()
    );
    Ok(dump_text::assemble(&format!("{head}{body}"), &pieces.extras, &[]))
}

/// Where `--keep` moves the squashed files.
fn keep_dir(ctx: &Context, args: &SquashArgs) -> Result<Option<PathBuf>> {
    let dir = match (&args.keep_dir, args.keep) {
        (Some(p), _) => std::env::current_dir().unwrap_or_default().join(p),
        (None, true) => ctx.settings.project.target_dir.join("cargo-migrate").join("squashed").join(&args.to),
        (None, false) => return Ok(None),
    };
    let migrations = std::fs::canonicalize(&ctx.settings.migrations_dir).unwrap_or(ctx.settings.migrations_dir.clone());
    let parent = dir.parent().and_then(|p| std::fs::canonicalize(p).ok()).unwrap_or(dir.clone());
    if parent.starts_with(&migrations) || dir.starts_with(&migrations) {
        return Err(Error::new(
            Kind::ImportTarget,
            format!(
                "--keep-dir {} is inside the migrations folder, where they would run again; nothing was done",
                output::display_path(&dir)
            ),
        )
        .hint(
            "give --keep-dir a folder outside the migrations folder (or none: target/cargo-migrate/squashed/<VERSION>)",
        ));
    }
    Ok(Some(dir))
}

fn move_or_remove(path: &Path, keep: Option<&Path>) -> Result<()> {
    match keep {
        None if path.is_dir() => std::fs::remove_dir_all(path).map_err(|e| Error::io(path, "remove", e)),
        None => std::fs::remove_file(path).map_err(|e| Error::io(path, "remove", e)),
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
            let to = dir.join(path.file_name().unwrap_or_default());
            std::fs::rename(path, &to).map_err(|e| Error::io(path, "move", e))
        }
    }
}

pub fn run(ctx: &Context, args: &SquashArgs) -> Result<u8> {
    let r = &ctx.reporter;
    let mut source = ctx.source()?.with_checksums();
    let Some(last) = source.find(&args.to).cloned() else {
        return Err(Error::new(
            Kind::UnknownVersion,
            format!("no migration has the version {}; nothing was done", args.to),
        )
        .hint("give the version of a migration in the folder (`cargo migrate status` lists them)"));
    };
    let squashed: Vec<_> = source.migrations.iter().filter(|m| m.version <= args.to).cloned().collect();
    let mut replaces: Vec<String> = Vec::new();
    for m in &squashed {
        match m.baseline_of() {
            Some(inner) => replaces.extend(inner),
            None => replaces.push(m.version.to_string()),
        }
    }
    replaces.sort();
    replaces.dedup();
    source.check_runnable(squashed.iter().map(|m| m.version.to_string()).collect());
    crate::plan::check_source(&source.problems)?;
    let keep = keep_dir(ctx, args)?;
    // The target, when asked to record there: refused before any file changes.
    let mut target = None;
    if args.record {
        let (url, _) = ctx.database_url(&args.db)?;
        let mut conn = ctx.connect(&url, &args.db, "squash")?;
        let history = history::read(&mut conn, true, ctx.settings.ledger())?;
        let future = Baseline {
            version: last.version.to_string(),
            name: String::new(),
            checksum: String::new(),
            replaces: replaces.clone(),
        };
        fixes(&[future], &history)?;
        target = Some(conn);
    }

    let mut scratch = Scratch::open(ctx, args.scratch_url.as_deref(), &args.db.local_db, "squash")?;
    let db_name = migrated_scratch(ctx, &mut scratch, &source, Some(&args.to))?;
    let url = scratch.url_of(&db_name);
    let mut conn = db::connect(&url, 10, "squash", &db::Hints::default())?;
    let sql = baseline_sql(ctx, &mut conn, &url, args, &replaces)?;
    drop(conn);
    drop(scratch);

    let name = format!("{}_baseline", last.version);
    let file_layout = last.layout == Layout::File;
    let path = if file_layout { source.dir.join(format!("{name}.sql")) } else { source.dir.join(&name) };
    let kept_in = keep.as_deref().map(output::json_path);
    let out = SquashOutput {
        ok: true,
        command: "squash",
        dry_run: args.dry_run,
        baseline: last.version.as_str().into(),
        path: output::json_path(&path),
        squashed: squashed.iter().map(|m| m.version.as_str().into()).collect(),
        kept_in,
        recorded: false,
    };
    if args.dry_run {
        r.line(format!(
            "would fold {} migration(s) into {} ({} lines); nothing was written",
            squashed.len(),
            output::display_path(&path),
            sql.lines().count()
        ));
        r.json(&out);
        return Ok(exit::OK);
    }
    // Written beside first, so nothing is lost if writing fails.
    let staging = ctx.settings.project.target_dir.join("cargo-migrate").join(format!("squash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, "create", e))?;
    let staged = staging.join(path.file_name().unwrap_or_default());
    if file_layout {
        std::fs::write(&staged, &sql).map_err(|e| Error::io(&staged, "write", e))?;
    } else {
        std::fs::create_dir_all(&staged).map_err(|e| Error::io(&staged, "create", e))?;
        std::fs::write(staged.join("up.sql"), &sql).map_err(|e| Error::io(&staged, "write", e))?;
        let why = format!("it is the baseline of {} squashed migration(s)", replaces.len());
        std::fs::write(staged.join("down.sql"), crate::source::irreversible_down(&name, &why))
            .map_err(|e| Error::io(&staged, "write", e))?;
    }
    for m in &squashed {
        move_or_remove(&m.path, keep.as_deref())?;
    }
    std::fs::rename(&staged, &path).map_err(|e| Error::io(&path, "write", e))?;
    let _ = std::fs::remove_dir_all(&staging);
    r.line(format!(
        "{} folded {} migration(s) into {}{}",
        "✓".green().bold(),
        squashed.len(),
        output::display_path(&path),
        match &keep {
            Some(dir) => format!("; the squashed files are in {}", output::display_path(dir)),
            None => "; the squashed files are deleted (git has them)".to_string(),
        }
    ));
    let mut out = out;
    if let Some(mut conn) = target {
        let source = ctx.source()?.with_checksums();
        let history = history::read(&mut conn, true, ctx.settings.ledger())?;
        reconcile(ctx, &mut conn, &source, history, &args.lock)?;
        out.recorded = true;
    }
    r.json(&out);
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Applied;

    fn applied(v: &str, name: &str) -> Applied {
        Applied {
            version: v.into(),
            run_on: None,
            name: Some(name.into()),
            batch: Some(1),
            duration_ms: None,
            applied_by: None,
            stored_down: false,
            checksum: Some("old".into()),
        }
    }

    fn history(versions: &[&str]) -> History {
        History { applied: versions.iter().map(|v| applied(v, &format!("{v}_x"))).collect(), ..History::default() }
    }

    fn b() -> Baseline {
        Baseline {
            version: "3".into(),
            name: "3_baseline".into(),
            checksum: "new".into(),
            replaces: vec!["1".into(), "2".into(), "3".into()],
        }
    }

    #[test]
    fn a_database_that_applied_all_records_the_baseline() {
        let f = fixes(&[b()], &history(&["1", "2", "3", "4"])).unwrap();
        assert_eq!(f, vec![Fix { baseline: b(), others: vec!["1".into(), "2".into()] }]);
        let viewed = view(history(&["1", "2", "3", "4"]), &f);
        assert_eq!(viewed.versions(), ["3", "4"]);
        assert_eq!(viewed.applied[0].checksum.as_deref(), Some("new"));
    }

    #[test]
    fn a_fresh_database_and_a_recorded_one_need_nothing() {
        assert_eq!(fixes(&[b()], &history(&[])).unwrap(), vec![]);
        let mut h = history(&["3"]);
        h.applied[0].name = Some("3_baseline".into());
        assert_eq!(fixes(&[b()], &h).unwrap(), vec![]);
    }

    #[test]
    fn a_database_that_applied_some_is_refused_with_what_is_missing() {
        let e = fixes(&[b()], &history(&["1"])).unwrap_err();
        assert_eq!(
            e.kind,
            Kind::SquashPartlyApplied { applied: vec!["1".into()], missing: vec!["2".into(), "3".into()] }
        );
    }
}
