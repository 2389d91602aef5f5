//! Pure planning: (migrations on disk, what is applied, the request) → the
//! steps to run, or a refusal that says why. Plain inputs (versions), no
//! database types and no I/O; everything is unit-tested.

use crate::error::{Error, Kind, ModifiedMigration, Result};
use crate::source::Problem;
use crate::version;
use crate::version::Version;

/// What the planner needs to know: versions only, both sorted ascending.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub on_disk: Vec<String>,
    pub applied: Vec<String>,
    /// Migrations outside a transaction that stopped part-way: (version, statements done, total).
    pub partial: Vec<(String, i32, i32)>,
    /// The batch of each applied migration (same order as `applied`), where known.
    pub batch: Vec<Option<i32>>,
    /// Applied versions whose down.sql the database keeps: they can be
    /// reverted even when their folder is gone. Sorted.
    pub stored_down: Vec<String>,
    /// Applied migrations whose up.sql changed since: (version, checksum then, checksum now).
    pub modified: Vec<(String, String, String)>,
}

/// What `up` does with a migration that stopped part-way before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartialChoice {
    /// Refuse, saying how far it got.
    #[default]
    Refuse,
    /// Continue with the first statement that did not complete.
    Resume,
    /// Run it from its first statement again (it was undone, or is safe to repeat).
    Restart,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Up {
        count: Option<usize>,
        to: Option<String>,
        allow_out_of_order: bool,
        allow_modified: bool,
        partial: PartialChoice,
    },
    Down(DownScope),
    Redo {
        count: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownScope {
    /// The newest N applied migrations.
    Newest(usize),
    /// Everything applied after this version; the version itself stays.
    After(String),
    All,
    /// The migrations of the newest batch (one `up` run), as Laravel's `migrate:rollback`.
    LastBatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Apply(String),
    /// Apply, skipping the statements that already ran (`up --resume`).
    Resume(String, usize),
    Revert(String),
}

/// A migration outside a transaction that stopped part-way, in words.
pub fn partly_applied(version: &str, done: i32, total: i32) -> String {
    let ran = crate::show::ran(done.max(0) as usize);
    format!("{version} is partly applied: {ran} of {total} ran, then it stopped")
}

pub const PARTLY_APPLIED_HINT: &str =
    "it runs outside a transaction and was interrupted: `cargo migrate up --resume` continues with the next statement; \
     `up --restart` runs it again from its first statement (after you undid what ran, or if that is safe)";

/// Refuse to write while the folder holds something diesel would misread.
pub fn check_source(problems: &[Problem]) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let mut err =
        Error::new(Kind::BadMigrationsFolder, "the migrations folder has problems; nothing was run".to_string());
    for p in problems {
        err = err.detail(format!("  - {}", p.message()));
    }
    Err(err.hint(problems[0].hint()))
}

/// A version the user typed: the version itself or a whole folder name.
pub fn normalize_version(arg: &str) -> String {
    version::version_of(arg.trim().trim_end_matches('/'))
}

pub fn plan(state: &State, request: &Request) -> Result<Vec<Step>> {
    match request {
        Request::Up { count, to, allow_out_of_order, allow_modified, partial } => {
            if !allow_modified {
                refuse_modified(state)?;
            }
            plan_up(state, *count, to.as_deref(), *allow_out_of_order, *partial)
        }
        Request::Down(target) => Ok(plan_down(state, target)?.into_iter().map(Step::Revert).collect()),
        Request::Redo { count } => {
            let reverted = plan_down(state, &DownScope::Newest(*count))?;
            if let Some(gone) = reverted.iter().find(|v| state.on_disk.binary_search(v).is_err()) {
                return Err(Error::new(
                    Kind::MissingOnDisk,
                    format!("cannot redo {gone}: it has no folder on disk to apply again; nothing was run"),
                )
                .hint(
                    "`cargo migrate down` reverts it from the stored down.sql; restore its folder to apply it again",
                ));
            }
            let mut steps: Vec<Step> = reverted.iter().cloned().map(Step::Revert).collect();
            steps.extend(reverted.into_iter().rev().map(Step::Apply));
            Ok(steps)
        }
    }
}

/// A file changed after it ran: what is applied is not what the team reads.
fn refuse_modified(state: &State) -> Result<()> {
    let Some((first, _, _)) = state.modified.first() else { return Ok(()) };
    let migrations = state
        .modified
        .iter()
        .map(|(version, recorded, current)| ModifiedMigration {
            version: version.into(),
            recorded: recorded.clone(),
            current: current.clone(),
        })
        .collect();
    let err = Error::new(
        Kind::Modified { migrations },
        format!("{} applied migration(s) were modified after they ran; nothing was run", state.modified.len()),
    );
    Err(err.hint(format!(
        "undo the edit, or re-apply it (`cargo migrate redo` for the newest); if the edit is deliberate and harmless, \
         `cargo migrate repair {first}` records the new checksum; `up --allow-modified` runs anyway"
    )))
}

fn pending(state: &State) -> impl Iterator<Item = &String> {
    state.on_disk.iter().filter(|v| state.applied.binary_search(v).is_err())
}

fn plan_up(
    state: &State,
    count: Option<usize>,
    to: Option<&str>,
    allow_out_of_order: bool,
    partial: PartialChoice,
) -> Result<Vec<Step>> {
    let mut chosen: Vec<&String> = pending(state).collect();
    if let Some(to) = to {
        let to = normalize_version(to);
        if state.on_disk.binary_search(&to).is_err() {
            return Err(Error::new(
                Kind::UnknownVersion,
                format!("there is no migration {to} in the migrations folder"),
            )
            .hint("`cargo migrate status` lists the versions"));
        }
        chosen.retain(|v| **v <= to);
    }
    if let Some(n) = count {
        chosen.truncate(n);
    }
    if !allow_out_of_order {
        if let Some(newest) = state.applied.last() {
            let late: Vec<&String> = chosen.iter().copied().filter(|v| *v < newest).collect();
            if !late.is_empty() {
                let err = Error::new(
                    Kind::OutOfOrder { versions: late.iter().map(|v| Version::from(*v)).collect() },
                    format!(
                        "{} pending migration(s) are older than the newest applied one ({newest}); nothing was run",
                        late.len()
                    ),
                );
                return Err(err.hint(
                    "a teammate's migration was merged after yours ran: check it does not conflict, then run `cargo migrate up --allow-out-of-order`",
                ));
            }
        }
    }
    let mut steps = Vec::with_capacity(chosen.len());
    for v in chosen {
        let stopped = state.partial.iter().find(|(p, _, _)| p == v);
        steps.push(match (stopped, partial) {
            (None, _) | (Some(_), PartialChoice::Restart) => Step::Apply(v.clone()),
            (Some((_, done, _)), PartialChoice::Resume) => Step::Resume(v.clone(), (*done).max(0) as usize),
            (Some((_, done, total)), PartialChoice::Refuse) => {
                let kind = Kind::PartlyApplied { version: v.into(), statements_done: *done, statements_total: *total };
                let message = format!("{}; nothing was run", partly_applied(v, *done, *total));
                return Err(Error::new(kind, message).hint(PARTLY_APPLIED_HINT));
            }
        });
    }
    Ok(steps)
}

/// Versions to revert, newest first.
fn plan_down(state: &State, target: &DownScope) -> Result<Vec<String>> {
    let newest_first = state.applied.iter().rev();
    let chosen: Vec<String> = match target {
        DownScope::Newest(n) => newest_first.take(*n).cloned().collect(),
        DownScope::All => newest_first.cloned().collect(),
        DownScope::LastBatch => {
            let Some(last) = state.batch.iter().flatten().max() else {
                if state.applied.is_empty() {
                    return Ok(Vec::new());
                }
                return Err(Error::new(
                    Kind::NotApplied { applied_by: None },
                    "no batch is recorded for the applied migrations (applied by diesel or an app); nothing was reverted",
                )
                .hint("revert by count or version instead: `cargo migrate down --count N` or `down VERSION`"));
            };
            state
                .applied
                .iter()
                .zip(&state.batch)
                .rev()
                .filter(|(_, b)| **b == Some(*last))
                .map(|(v, _)| v.clone())
                .collect()
        }
        DownScope::After(v) => {
            let v = normalize_version(v);
            if state.applied.binary_search(&v).is_err() {
                let why = if state.on_disk.binary_search(&v).is_ok() {
                    format!("{v} is not applied (it is pending), so there is nothing to roll back to")
                } else {
                    format!("there is no applied migration {v}")
                };
                return Err(Error::new(Kind::NotApplied { applied_by: None }, format!("{why}; nothing was reverted"))
                    .hint("`cargo migrate status` lists applied versions; `down VERSION` keeps VERSION and reverts what came after it"));
            }
            newest_first.take_while(|a| **a > v).cloned().collect()
        }
    };
    let missing: Vec<&String> = chosen
        .iter()
        .filter(|v| state.on_disk.binary_search(v).is_err() && state.stored_down.binary_search(v).is_err())
        .collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(Error::new(
            Kind::MissingOnDisk,
            format!(
                "cannot revert {}: applied, but no migration folder on disk has that version; nothing was reverted",
                list.join(", ")
            ),
        )
        .hint("git pull (or restore the folder) so its down.sql is there, then run the command again \
               (migrations applied by cargo-migrate keep their down.sql in the database; these were applied by another tool)"));
    }
    Ok(chosen)
}

/// A state with these versions on disk and applied, nothing else known (for tests).
#[cfg(test)]
pub fn state_of(disk: &[&str], applied: &[&str]) -> State {
    State {
        on_disk: disk.iter().map(|s| s.to_string()).collect(),
        applied: applied.iter().map(|s| s.to_string()).collect(),
        batch: vec![None; applied.len()],
        ..State::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::state_of as state;

    fn up(count: Option<usize>, to: Option<&str>, ooo: bool) -> Request {
        Request::Up {
            count,
            to: to.map(String::from),
            allow_out_of_order: ooo,
            allow_modified: false,
            partial: PartialChoice::Refuse,
        }
    }
    fn apply(v: &[&str]) -> Vec<Step> {
        v.iter().map(|s| Step::Apply(s.to_string())).collect()
    }
    fn revert(v: &[&str]) -> Vec<Step> {
        v.iter().map(|s| Step::Revert(s.to_string())).collect()
    }

    #[test]
    fn up_applies_pending_in_order_with_count_and_to() {
        let s = state(&["1", "2", "3", "4"], &["1"]);
        assert_eq!(plan(&s, &up(None, None, false)).unwrap(), apply(&["2", "3", "4"]));
        assert_eq!(plan(&s, &up(Some(2), None, false)).unwrap(), apply(&["2", "3"]));
        assert_eq!(plan(&s, &up(None, Some("3"), false)).unwrap(), apply(&["2", "3"]));
        assert_eq!(plan(&s, &up(None, Some("3_folder_name"), false)).unwrap(), apply(&["2", "3"]));
        assert_eq!(plan(&s, &up(None, Some("1"), false)).unwrap(), vec![]);
        assert_eq!(plan(&s, &up(None, Some("9"), false)).unwrap_err().kind, Kind::UnknownVersion);
        assert_eq!(plan(&state(&["1"], &["1"]), &up(None, None, false)).unwrap(), vec![]);
    }

    #[test]
    fn up_refuses_out_of_order_unless_allowed() {
        let s = state(&["1", "2", "3"], &["1", "3"]);
        let err = plan(&s, &up(None, None, false)).unwrap_err();
        assert_eq!(err.kind, Kind::OutOfOrder { versions: vec!["2".into()] });
        assert_eq!(plan(&s, &up(None, None, true)).unwrap(), apply(&["2"]));
    }

    #[test]
    fn down_reverts_newest_count_all_and_after_version() {
        let s = state(&["1", "2", "3"], &["1", "2", "3"]);
        assert_eq!(plan(&s, &Request::Down(DownScope::Newest(1))).unwrap(), revert(&["3"]));
        assert_eq!(plan(&s, &Request::Down(DownScope::Newest(2))).unwrap(), revert(&["3", "2"]));
        assert_eq!(plan(&s, &Request::Down(DownScope::Newest(9))).unwrap(), revert(&["3", "2", "1"]));
        assert_eq!(plan(&s, &Request::Down(DownScope::All)).unwrap(), revert(&["3", "2", "1"]));
        assert_eq!(plan(&s, &Request::Down(DownScope::After("1".into()))).unwrap(), revert(&["3", "2"]));
        assert_eq!(plan(&s, &Request::Down(DownScope::After("3".into()))).unwrap(), vec![]);
        assert_eq!(plan(&state(&["1"], &[]), &Request::Down(DownScope::Newest(1))).unwrap(), vec![]);
    }

    #[test]
    fn down_to_a_version_that_is_not_applied_is_refused() {
        let s = state(&["1", "2"], &["1"]);
        let err = plan(&s, &Request::Down(DownScope::After("2".into()))).unwrap_err();
        assert_eq!(err.kind, Kind::NotApplied { applied_by: None });
        assert!(err.message.contains("pending"));
        let err = plan(&s, &Request::Down(DownScope::After("7".into()))).unwrap_err();
        assert!(err.message.contains("no applied migration 7"));
    }

    #[test]
    fn reverting_a_migration_missing_on_disk_is_refused() {
        let s = state(&["1"], &["1", "2"]);
        let err = plan(&s, &Request::Down(DownScope::Newest(1))).unwrap_err();
        assert_eq!(err.kind, Kind::MissingOnDisk);
        // With its down.sql stored, it can be reverted all the same.
        let s = State { stored_down: vec!["2".into()], ..s };
        assert_eq!(plan(&s, &Request::Down(DownScope::Newest(1))).unwrap(), revert(&["2"]));
        assert_eq!(plan(&s, &Request::Redo { count: 1 }).unwrap_err().kind, Kind::MissingOnDisk);
    }

    #[test]
    fn a_modified_migration_stops_up_until_allowed() {
        let mut s = state(&["1", "2"], &["1"]);
        s.modified = vec![("1".into(), "aaaa".into(), "bbbb".into())];
        let err = plan(&s, &up(None, None, false)).unwrap_err();
        let modified = ModifiedMigration { version: "1".into(), recorded: "aaaa".into(), current: "bbbb".into() };
        assert_eq!(err.kind, Kind::Modified { migrations: vec![modified] });
        assert!(err.hint.clone().unwrap().contains("repair 1"));
        let allowed = Request::Up {
            count: None,
            to: None,
            allow_out_of_order: false,
            allow_modified: true,
            partial: PartialChoice::Refuse,
        };
        assert_eq!(plan(&s, &allowed).unwrap(), apply(&["2"]));
        // Reverting is how to fix it: never refused for this.
        assert_eq!(plan(&s, &Request::Redo { count: 1 }).unwrap().len(), 2);
    }

    #[test]
    fn down_batch_reverts_the_newest_run_only() {
        let mut s = state(&["1", "2", "3", "4"], &["1", "2", "3", "4"]);
        s.batch = vec![Some(1), Some(2), Some(2), Some(3)];
        assert_eq!(plan(&s, &Request::Down(DownScope::LastBatch)).unwrap(), revert(&["4"]));
        s.batch = vec![Some(1), Some(2), Some(2), None];
        assert_eq!(plan(&s, &Request::Down(DownScope::LastBatch)).unwrap(), revert(&["3", "2"]));
        s.batch = vec![None; 4];
        assert_eq!(
            plan(&s, &Request::Down(DownScope::LastBatch)).unwrap_err().kind,
            Kind::NotApplied { applied_by: None }
        );
        assert_eq!(plan(&state(&["1"], &[]), &Request::Down(DownScope::LastBatch)).unwrap(), vec![]);
    }

    #[test]
    fn redo_reverts_then_reapplies_in_order() {
        let s = state(&["1", "2", "3"], &["1", "2", "3"]);
        let mut expected = revert(&["3", "2"]);
        expected.extend(apply(&["2", "3"]));
        assert_eq!(plan(&s, &Request::Redo { count: 2 }).unwrap(), expected);
    }

    #[test]
    fn source_problems_block_writes() {
        let p = Problem::DuplicateVersion { version: "1".into(), folders: vec!["1_a".into(), "1_b".into()] };
        let err = check_source(std::slice::from_ref(&p)).unwrap_err();
        assert!(err.details[0].contains("1_a, 1_b"));
        assert!(check_source(&[]).is_ok());
    }

    #[test]
    fn a_partly_applied_migration_is_refused_resumed_or_restarted() {
        let mut s = state(&["1", "2"], &["1"]);
        s.partial = vec![("2".into(), 3, 5)];
        let err = plan(&s, &up(None, None, false)).unwrap_err();
        assert_eq!(err.kind, Kind::PartlyApplied { version: "2".into(), statements_done: 3, statements_total: 5 });
        assert!(err.message.contains("statements 1–3 of 5"), "{err}");
        let resume = Request::Up {
            count: None,
            to: None,
            allow_out_of_order: false,
            allow_modified: false,
            partial: PartialChoice::Resume,
        };
        assert_eq!(plan(&s, &resume).unwrap(), vec![Step::Resume("2".into(), 3)]);
        let restart = Request::Up {
            count: None,
            to: None,
            allow_out_of_order: false,
            allow_modified: false,
            partial: PartialChoice::Restart,
        };
        assert_eq!(plan(&s, &restart).unwrap(), apply(&["2"]));
    }
}
