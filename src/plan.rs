//! Pure planning: (migrations on disk, what is applied, the request) → the
//! steps to run, or a refusal that says why. Also the odd states `status`
//! reports. No I/O here; everything is unit-tested.

use crate::db::{Applied, Partial};
use crate::error::{Error, Kind, Result};
use crate::source::{Migration, Problem};
use crate::version;

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
    Down(DownTarget),
    Redo {
        count: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownTarget {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// Applied in the database, but no folder on disk: deleted, or not pulled yet.
    MissingOnDisk {
        version: String,
        /// Its down.sql is stored in the database.
        revertible: bool,
    },
    /// Pending, yet older than the newest applied one: merged late.
    OutOfOrder {
        version: String,
    },
    /// Applied, and its up.sql changed since.
    Modified {
        version: String,
        recorded: String,
        current: String,
    },
    /// Outside a transaction, it stopped part-way: statements 1–done of total ran.
    PartlyApplied {
        version: String,
        done: i32,
        total: i32,
    },
    Source(Problem),
}

impl Anomaly {
    pub fn kind(&self) -> &'static str {
        match self {
            Anomaly::MissingOnDisk { .. } => "missing_on_disk",
            Anomaly::OutOfOrder { .. } => "out_of_order",
            Anomaly::PartlyApplied { .. } => "partly_applied",
            Anomaly::Modified { .. } => "modified",
            Anomaly::Source(Problem::DuplicateVersion { .. }) => "duplicate_version",
            Anomaly::Source(Problem::NotAMigration { .. }) => "not_a_migration",
            Anomaly::Source(Problem::BadFolderName { .. }) => "bad_folder_name",
            Anomaly::Source(Problem::DanglingLink { .. }) => "dangling_link",
            Anomaly::Source(Problem::ForeignMigrations { .. }) => "foreign_migrations",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Anomaly::MissingOnDisk { version, revertible: false } => {
                format!("{version} is applied in the database but has no folder on disk")
            }
            Anomaly::MissingOnDisk { version, revertible: true } => {
                format!("{version} is applied, its folder is missing — revertible (the database keeps its down.sql)")
            }
            Anomaly::OutOfOrder { version } => {
                format!("{version} is pending but older than the newest applied migration")
            }
            Anomaly::Modified { version, recorded, current } => {
                format!(
                    "{version} was modified after it was applied: its up.sql's checksum was {recorded}, is {current}"
                )
            }
            Anomaly::PartlyApplied { version, done, total } => {
                let ran = crate::report::ran((*done).max(0) as usize);
                format!("{version} is partly applied: {ran} of {total} ran, then it stopped")
            }
            Anomaly::Source(Problem::DuplicateVersion { version, folders }) => {
                format!("version {version} is used by {} folders: {}", folders.len(), folders.join(", "))
            }
            Anomaly::Source(Problem::NotAMigration { folder }) => {
                format!("{folder} is not a migration: it has no up.sql")
            }
            Anomaly::Source(Problem::BadFolderName { folder, reason }) => {
                format!("{folder:?} cannot be a migration: {reason}")
            }
            Anomaly::Source(Problem::DanglingLink { entry }) => {
                format!("{entry} is a symbolic link to something that does not exist")
            }
            Anomaly::Source(Problem::ForeignMigrations { files }) => {
                format!(
                    "{} JavaScript/TypeScript migration(s) that cargo migrate does not run: {}",
                    files.len(),
                    files.join(", ")
                )
            }
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Anomaly::MissingOnDisk { revertible: false, .. } => {
                "git pull to get the teammate's migration, or restore the deleted folder; `down` cannot revert it without its down.sql"
            }
            Anomaly::MissingOnDisk { revertible: true, .. } => {
                "a branch switch? `cargo migrate down` reverts it from the stored down.sql; or switch back and keep it"
            }
            Anomaly::OutOfOrder { .. } => {
                "a migration merged late: check it does not conflict with newer ones, then `cargo migrate up --allow-out-of-order`; or re-create it with a new version"
            }
            Anomaly::Modified { .. } => {
                "the database does not have what the file now says: `cargo migrate redo` (newest) re-applies it; \
                 for a deliberate harmless edit (a comment) `cargo migrate repair VERSION` records the new checksum"
            }
            Anomaly::PartlyApplied { .. } => {
                "it runs outside a transaction and was interrupted: `cargo migrate up --resume` continues with the next statement; \
                 `up --restart` runs it again from its first statement (after you undid what ran, or if that is safe)"
            }
            Anomaly::Source(Problem::DuplicateVersion { .. }) => {
                "diesel would silently keep only one: rename all but one folder with `cargo migrate create` versions"
            }
            Anomaly::Source(Problem::NotAMigration { .. }) => {
                "add up.sql and down.sql to it, or move it out of the migrations folder (diesel refuses it too)"
            }
            Anomaly::Source(Problem::BadFolderName { .. }) => {
                "rename it to <digits>_<name> (`cargo migrate create` makes such names), or move it out of the migrations folder"
            }
            Anomaly::Source(Problem::DanglingLink { .. }) => {
                "restore what it points to, or remove the link"
            }
            Anomaly::Source(Problem::ForeignMigrations { .. }) => {
                "node-pg-migrate's files: move them aside and convert them into SQL migrations here, \
                 e.g. `mv migrations migrations-js && cargo migrate import --from node-pg-migrate migrations-js`"
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
            out.push(Anomaly::MissingOnDisk {
                version: v.clone(),
                revertible: state.stored_down.binary_search(v).is_ok(),
            });
        }
    }
    for (version, recorded, current) in &state.modified {
        out.push(Anomaly::Modified { version: version.clone(), recorded: recorded.clone(), current: current.clone() });
    }
    for (version, done, total) in &state.partial {
        if state.applied.binary_search(version).is_err() {
            out.push(Anomaly::PartlyApplied { version: version.clone(), done: *done, total: *total });
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
        Error::new(Kind::BadMigrationsFolder, "the migrations folder has problems; nothing was run".to_string());
    for p in problems {
        let a = Anomaly::Source(p.clone());
        err = err.detail(format!("  - {}", a.message()));
    }
    let hint = Anomaly::Source(problems[0].clone()).hint();
    Err(err.hint(hint))
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
            let reverted = plan_down(state, &DownTarget::Newest(*count))?;
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
    let mut err = Error::new(
        Kind::Modified,
        format!("{} applied migration(s) were modified after they ran; nothing was run", state.modified.len()),
    );
    for (version, recorded, current) in &state.modified {
        err = err.detail(format!("  - {version}: checksum {recorded} when applied, {current} now"));
    }
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
                    Kind::OutOfOrder,
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
    let mut steps = Vec::with_capacity(chosen.len());
    for v in chosen {
        let stopped = state.partial.iter().find(|(p, _, _)| p == v);
        steps.push(match (stopped, partial) {
            (None, _) | (Some(_), PartialChoice::Restart) => Step::Apply(v.clone()),
            (Some((_, done, _)), PartialChoice::Resume) => Step::Resume(v.clone(), (*done).max(0) as usize),
            (Some((_, done, total)), PartialChoice::Refuse) => {
                let a = Anomaly::PartlyApplied { version: v.clone(), done: *done, total: *total };
                return Err(Error::new(Kind::PartlyApplied, format!("{}; nothing was run", a.message())).hint(a.hint()));
            }
        });
    }
    Ok(steps)
}

/// Versions to revert, newest first.
fn plan_down(state: &State, target: &DownTarget) -> Result<Vec<String>> {
    let newest_first = state.applied.iter().rev();
    let chosen: Vec<String> = match target {
        DownTarget::Newest(n) => newest_first.take(*n).cloned().collect(),
        DownTarget::All => newest_first.cloned().collect(),
        DownTarget::LastBatch => {
            let Some(last) = state.batch.iter().flatten().max() else {
                if state.applied.is_empty() {
                    return Ok(Vec::new());
                }
                return Err(Error::new(
                    Kind::NotApplied,
                    "no batch is recorded for the applied migrations (applied by diesel or an app); nothing was reverted",
                )
                .usage()
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
        DownTarget::After(v) => {
            let v = normalize_version(v);
            if state.applied.binary_search(&v).is_err() {
                let why = if state.on_disk.binary_search(&v).is_ok() {
                    format!("{v} is not applied (it is pending), so there is nothing to roll back to")
                } else {
                    format!("there is no applied migration {v}")
                };
                return Err(Error::new(Kind::NotApplied, format!("{why}; nothing was reverted"))
                    .usage()
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

/// A line of `status`: disk and database merged, in version order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Applied,
    Pending,
    /// Applied, but no folder on disk.
    Missing,
    /// Outside a transaction, it stopped part-way.
    Partly {
        done: i32,
        total: i32,
    },
}

impl RowState {
    pub fn name(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Pending => "pending",
            RowState::Missing => "missing",
            RowState::Partly { .. } => "partly_applied",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    pub version: &'a str,
    pub name: &'a str,
    pub state: RowState,
    pub applied: Option<&'a Applied>,
}

/// Both lists sorted by version; a duplicate version on disk shares its applied row.
pub fn listing<'a>(disk: &'a [Migration], applied: &'a [Applied], partial: &[Partial]) -> Vec<Row<'a>> {
    let mut rows = Vec::with_capacity(disk.len().max(applied.len()));
    let (mut i, mut j) = (0, 0);
    while i < disk.len() || j < applied.len() {
        match (disk.get(i), applied.get(j)) {
            (Some(d), a) if a.is_none_or(|a| d.version <= a.version) => {
                let a = a.filter(|a| a.version == d.version);
                let state = match (a, partial.iter().find(|p| p.version == d.version)) {
                    (Some(_), _) => RowState::Applied,
                    (None, Some(p)) => RowState::Partly { done: p.statements_done, total: p.statements_total },
                    (None, None) => RowState::Pending,
                };
                rows.push(Row { version: &d.version, name: &d.name, state, applied: a });
                if a.is_some() && disk.get(i + 1).is_none_or(|n| n.version != d.version) {
                    j += 1;
                }
                i += 1;
            }
            (_, Some(a)) => {
                let name = a.name.as_deref().unwrap_or(&a.version);
                rows.push(Row { version: &a.version, name, state: RowState::Missing, applied: Some(a) });
                j += 1;
            }
            _ => break,
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(disk: &[&str], applied: &[&str]) -> State {
        State {
            on_disk: disk.iter().map(|s| s.to_string()).collect(),
            applied: applied.iter().map(|s| s.to_string()).collect(),
            partial: Vec::new(),
            batch: vec![None; applied.len()],
            stored_down: Vec::new(),
            modified: Vec::new(),
        }
    }
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
        assert_eq!(err.kind, Kind::OutOfOrder);
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
        assert_eq!(err.kind, Kind::NotApplied);
        assert!(err.message.contains("pending"));
        let err = plan(&s, &Request::Down(DownTarget::After("7".into()))).unwrap_err();
        assert!(err.message.contains("no applied migration 7"));
    }

    #[test]
    fn reverting_a_migration_missing_on_disk_is_refused() {
        let s = state(&["1"], &["1", "2"]);
        let err = plan(&s, &Request::Down(DownTarget::Newest(1))).unwrap_err();
        assert_eq!(err.kind, Kind::MissingOnDisk);
        assert_eq!(anomalies(&s, &[]), vec![Anomaly::MissingOnDisk { version: "2".into(), revertible: false }]);
        // With its down.sql stored, it can be reverted all the same.
        let s = State { stored_down: vec!["2".into()], ..s };
        assert_eq!(plan(&s, &Request::Down(DownTarget::Newest(1))).unwrap(), revert(&["2"]));
        assert_eq!(anomalies(&s, &[]), vec![Anomaly::MissingOnDisk { version: "2".into(), revertible: true }]);
        assert_eq!(plan(&s, &Request::Redo { count: 1 }).unwrap_err().kind, Kind::MissingOnDisk);
    }

    #[test]
    fn a_modified_migration_stops_up_until_allowed() {
        let mut s = state(&["1", "2"], &["1"]);
        s.modified = vec![("1".into(), "aaaa".into(), "bbbb".into())];
        let err = plan(&s, &up(None, None, false)).unwrap_err();
        assert_eq!(err.kind, Kind::Modified);
        assert!(err.details[0].contains("aaaa") && err.details[0].contains("bbbb"), "{err}");
        assert!(err.hint.unwrap().contains("repair 1"));
        let allowed = Request::Up {
            count: None,
            to: None,
            allow_out_of_order: false,
            allow_modified: true,
            partial: PartialChoice::Refuse,
        };
        assert_eq!(plan(&s, &allowed).unwrap(), apply(&["2"]));
        assert_eq!(anomalies(&s, &[])[0].kind(), "modified");
        // Reverting is how to fix it: never refused for this.
        assert_eq!(plan(&s, &Request::Redo { count: 1 }).unwrap().len(), 2);
    }

    #[test]
    fn down_batch_reverts_the_newest_run_only() {
        let mut s = state(&["1", "2", "3", "4"], &["1", "2", "3", "4"]);
        s.batch = vec![Some(1), Some(2), Some(2), Some(3)];
        assert_eq!(plan(&s, &Request::Down(DownTarget::LastBatch)).unwrap(), revert(&["4"]));
        s.batch = vec![Some(1), Some(2), Some(2), None];
        assert_eq!(plan(&s, &Request::Down(DownTarget::LastBatch)).unwrap(), revert(&["3", "2"]));
        s.batch = vec![None; 4];
        assert_eq!(plan(&s, &Request::Down(DownTarget::LastBatch)).unwrap_err().kind, Kind::NotApplied);
        assert_eq!(plan(&state(&["1"], &[]), &Request::Down(DownTarget::LastBatch)).unwrap(), vec![]);
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

    #[test]
    fn a_partly_applied_migration_is_refused_resumed_or_restarted() {
        let mut s = state(&["1", "2"], &["1"]);
        s.partial = vec![("2".into(), 3, 5)];
        let err = plan(&s, &up(None, None, false)).unwrap_err();
        assert_eq!(err.kind, Kind::PartlyApplied);
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
        assert_eq!(anomalies(&s, &[]), vec![Anomaly::PartlyApplied { version: "2".into(), done: 3, total: 5 }]);
    }

    fn mig(v: &str) -> Migration {
        Migration {
            version: v.into(),
            name: format!("{v}_m"),
            dir: std::path::PathBuf::from(v),
            file: false,
            checksum: None,
            text: Default::default(),
        }
    }

    fn app(v: &str) -> Applied {
        Applied {
            version: v.into(),
            run_on: Some(0),
            name: None,
            batch: None,
            duration_ms: None,
            applied_by: None,
            stored_down: false,
            checksum: None,
        }
    }

    #[test]
    fn listing_merges_disk_and_history_in_version_order() {
        let disk = [mig("1"), mig("2"), mig("4"), mig("5")];
        let applied = [app("1"), app("3"), app("4")];
        let partial = [Partial { version: "5".into(), statements_done: 1, statements_total: 2 }];
        let rows = listing(&disk, &applied, &partial);
        let got: Vec<(&str, RowState)> = rows.iter().map(|r| (r.version, r.state)).collect();
        assert_eq!(
            got,
            [
                ("1", RowState::Applied),
                ("2", RowState::Pending),
                ("3", RowState::Missing),
                ("4", RowState::Applied),
                ("5", RowState::Partly { done: 1, total: 2 }),
            ]
        );
        assert_eq!(rows[2].name, "3", "a missing folder is named by its version when no name is known");
        // Two folders with one version share the applied row.
        let dup = [mig("1"), Migration { name: "1_other".into(), ..mig("1") }];
        let rows = listing(&dup, &applied[..1], &[]);
        assert!(rows.iter().all(|r| r.state == RowState::Applied), "{rows:?}");
    }
}
