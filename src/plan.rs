//! Pure planning: (migrations on disk, what is applied, the request) → the
//! steps to run, or a refusal that says why. Also the odd states `status`
//! reports. No I/O here; everything is unit-tested.

use crate::error::{Error, Result};
use crate::names;
use crate::source::Problem;

/// What the planner needs to know: versions only, both sorted ascending.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub on_disk: Vec<String>,
    pub applied: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Up { count: Option<usize>, to: Option<String>, allow_out_of_order: bool },
    Down(DownTarget),
    Redo { count: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownTarget {
    /// The newest N applied migrations.
    Newest(usize),
    /// Everything applied after this version; the version itself stays.
    After(String),
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Apply(String),
    Revert(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// Applied in the database, but no folder on disk: deleted, or not pulled yet.
    MissingOnDisk {
        version: String,
    },
    /// Pending, yet older than the newest applied one: merged late.
    OutOfOrder {
        version: String,
    },
    Source(Problem),
}

impl Anomaly {
    pub fn kind(&self) -> &'static str {
        match self {
            Anomaly::MissingOnDisk { .. } => "missing_on_disk",
            Anomaly::OutOfOrder { .. } => "out_of_order",
            Anomaly::Source(Problem::DuplicateVersion { .. }) => "duplicate_version",
            Anomaly::Source(Problem::NotAMigration { .. }) => "not_a_migration",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Anomaly::MissingOnDisk { version } => {
                format!("{version} is applied in the database but has no folder on disk")
            }
            Anomaly::OutOfOrder { version } => {
                format!("{version} is pending but older than the newest applied migration")
            }
            Anomaly::Source(Problem::DuplicateVersion { version, folders }) => {
                format!("version {version} is used by {} folders: {}", folders.len(), folders.join(", "))
            }
            Anomaly::Source(Problem::NotAMigration { folder }) => {
                format!("{folder} is not a migration: it has no up.sql")
            }
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Anomaly::MissingOnDisk { .. } => {
                "git pull to get the teammate's migration, or restore the deleted folder; `down` cannot revert it without its down.sql"
            }
            Anomaly::OutOfOrder { .. } => {
                "a migration merged late: check it does not conflict with newer ones, then `cargo migrate up --allow-out-of-order`; or re-create it with a new version"
            }
            Anomaly::Source(Problem::DuplicateVersion { .. }) => {
                "diesel would silently keep only one: rename all but one folder with `cargo migrate create` versions"
            }
            Anomaly::Source(Problem::NotAMigration { .. }) => {
                "add up.sql and down.sql to it, or move it out of the migrations folder (diesel refuses it too)"
            }
        }
    }
}

/// Everything odd about disk vs database, in version order.
pub fn anomalies(state: &State, problems: &[Problem]) -> Vec<Anomaly> {
    let mut out: Vec<Anomaly> = problems.iter().cloned().map(Anomaly::Source).collect();
    let newest_applied = state.applied.last();
    for v in &state.applied {
        if state.on_disk.binary_search(v).is_err() {
            out.push(Anomaly::MissingOnDisk { version: v.clone() });
        }
    }
    if let Some(newest) = newest_applied {
        for v in &state.on_disk {
            if v < newest && state.applied.binary_search(v).is_err() {
                out.push(Anomaly::OutOfOrder { version: v.clone() });
            }
        }
    }
    out
}

/// Refuse to write while the folder holds something diesel would misread.
pub fn check_source(problems: &[Problem]) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let mut err =
        Error::new("bad_migrations_folder", "the migrations folder has problems; nothing was run".to_string());
    for p in problems {
        let a = Anomaly::Source(p.clone());
        err = err.detail(format!("  - {}", a.message()));
    }
    let hint = Anomaly::Source(problems[0].clone()).hint();
    Err(err.hint(hint))
}

/// A version the user typed: the version itself or a whole folder name.
pub fn normalize_version(arg: &str) -> String {
    names::version_of(arg.trim().trim_end_matches('/'))
}

pub fn plan(state: &State, request: &Request) -> Result<Vec<Step>> {
    match request {
        Request::Up { count, to, allow_out_of_order } => plan_up(state, *count, to.as_deref(), *allow_out_of_order),
        Request::Down(target) => Ok(plan_down(state, target)?.into_iter().map(Step::Revert).collect()),
        Request::Redo { count } => {
            let reverted = plan_down(state, &DownTarget::Newest(*count))?;
            let mut steps: Vec<Step> = reverted.iter().cloned().map(Step::Revert).collect();
            steps.extend(reverted.into_iter().rev().map(Step::Apply));
            Ok(steps)
        }
    }
}

fn pending(state: &State) -> impl Iterator<Item = &String> {
    state.on_disk.iter().filter(|v| state.applied.binary_search(v).is_err())
}

fn plan_up(state: &State, count: Option<usize>, to: Option<&str>, allow_out_of_order: bool) -> Result<Vec<Step>> {
    let mut chosen: Vec<&String> = pending(state).collect();
    if let Some(to) = to {
        let to = normalize_version(to);
        if state.on_disk.binary_search(&to).is_err() {
            return Err(Error::new("unknown_version", format!("there is no migration {to} in the migrations folder"))
                .usage()
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
                let mut err = Error::new(
                    "out_of_order",
                    format!(
                        "{} pending migration(s) are older than the newest applied one ({newest}); nothing was run",
                        late.len()
                    ),
                );
                for v in late {
                    err = err.detail(format!("  - {v}"));
                }
                return Err(err.hint(
                    "a teammate's migration was merged after yours ran: check it does not conflict, then run `cargo migrate up --allow-out-of-order`",
                ));
            }
        }
    }
    Ok(chosen.into_iter().cloned().map(Step::Apply).collect())
}

/// Versions to revert, newest first.
fn plan_down(state: &State, target: &DownTarget) -> Result<Vec<String>> {
    let newest_first = state.applied.iter().rev();
    let chosen: Vec<String> = match target {
        DownTarget::Newest(n) => newest_first.take(*n).cloned().collect(),
        DownTarget::All => newest_first.cloned().collect(),
        DownTarget::After(v) => {
            let v = normalize_version(v);
            if state.applied.binary_search(&v).is_err() {
                let why = if state.on_disk.binary_search(&v).is_ok() {
                    format!("{v} is not applied (it is pending), so there is nothing to roll back to")
                } else {
                    format!("there is no applied migration {v}")
                };
                return Err(Error::new("not_applied", format!("{why}; nothing was reverted"))
                    .usage()
                    .hint("`cargo migrate status` lists applied versions; `down VERSION` keeps VERSION and reverts what came after it"));
            }
            newest_first.take_while(|a| **a > v).cloned().collect()
        }
    };
    let missing: Vec<&String> = chosen.iter().filter(|v| state.on_disk.binary_search(v).is_err()).collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(Error::new(
            "missing_on_disk",
            format!(
                "cannot revert {}: applied, but no migration folder on disk has that version; nothing was reverted",
                list.join(", ")
            ),
        )
        .hint("git pull (or restore the folder) so its down.sql is there, then run the command again"));
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(disk: &[&str], applied: &[&str]) -> State {
        State {
            on_disk: disk.iter().map(|s| s.to_string()).collect(),
            applied: applied.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn up(count: Option<usize>, to: Option<&str>, ooo: bool) -> Request {
        Request::Up { count, to: to.map(String::from), allow_out_of_order: ooo }
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
        assert_eq!(plan(&s, &up(None, Some("9"), false)).unwrap_err().kind, "unknown_version");
        assert_eq!(plan(&state(&["1"], &["1"]), &up(None, None, false)).unwrap(), vec![]);
    }

    #[test]
    fn up_refuses_out_of_order_unless_allowed() {
        let s = state(&["1", "2", "3"], &["1", "3"]);
        let err = plan(&s, &up(None, None, false)).unwrap_err();
        assert_eq!(err.kind, "out_of_order");
        assert!(err.details.iter().any(|d| d.contains('2')));
        assert_eq!(plan(&s, &up(None, None, true)).unwrap(), apply(&["2"]));
        assert_eq!(anomalies(&s, &[]), vec![Anomaly::OutOfOrder { version: "2".into() }]);
    }

    #[test]
    fn down_reverts_newest_count_all_and_after_version() {
        let s = state(&["1", "2", "3"], &["1", "2", "3"]);
        assert_eq!(plan(&s, &Request::Down(DownTarget::Newest(1))).unwrap(), revert(&["3"]));
        assert_eq!(plan(&s, &Request::Down(DownTarget::Newest(2))).unwrap(), revert(&["3", "2"]));
        assert_eq!(plan(&s, &Request::Down(DownTarget::Newest(9))).unwrap(), revert(&["3", "2", "1"]));
        assert_eq!(plan(&s, &Request::Down(DownTarget::All)).unwrap(), revert(&["3", "2", "1"]));
        assert_eq!(plan(&s, &Request::Down(DownTarget::After("1".into()))).unwrap(), revert(&["3", "2"]));
        assert_eq!(plan(&s, &Request::Down(DownTarget::After("3".into()))).unwrap(), vec![]);
        assert_eq!(plan(&state(&["1"], &[]), &Request::Down(DownTarget::Newest(1))).unwrap(), vec![]);
    }

    #[test]
    fn down_to_a_version_that_is_not_applied_is_refused() {
        let s = state(&["1", "2"], &["1"]);
        let err = plan(&s, &Request::Down(DownTarget::After("2".into()))).unwrap_err();
        assert_eq!(err.kind, "not_applied");
        assert!(err.message.contains("pending"));
        let err = plan(&s, &Request::Down(DownTarget::After("7".into()))).unwrap_err();
        assert!(err.message.contains("no applied migration 7"));
    }

    #[test]
    fn reverting_a_migration_missing_on_disk_is_refused() {
        let s = state(&["1"], &["1", "2"]);
        let err = plan(&s, &Request::Down(DownTarget::Newest(1))).unwrap_err();
        assert_eq!(err.kind, "missing_on_disk");
        assert_eq!(anomalies(&s, &[]), vec![Anomaly::MissingOnDisk { version: "2".into() }]);
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
        assert_eq!(anomalies(&State::default(), &[p])[0].kind(), "duplicate_version");
    }
}
