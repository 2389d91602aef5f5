//! What `status` calls odd about the migrations on disk and the database:
//! applied but gone, pending but older than the newest applied, edited after
//! it ran, stopped part-way, and what the folder holds that is no migration.

use crate::output::AnomalyKind;
use crate::plan::{self, State};
use crate::source::Problem;

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
    pub fn kind(&self) -> AnomalyKind {
        match self {
            Anomaly::MissingOnDisk { .. } => AnomalyKind::MissingOnDisk,
            Anomaly::OutOfOrder { .. } => AnomalyKind::OutOfOrder,
            Anomaly::PartlyApplied { .. } => AnomalyKind::PartlyApplied,
            Anomaly::Modified { .. } => AnomalyKind::Modified,
            Anomaly::Source(Problem::DuplicateVersion { .. }) => AnomalyKind::DuplicateVersion,
            Anomaly::Source(Problem::NotAMigration { .. }) => AnomalyKind::NotAMigration,
            Anomaly::Source(Problem::BadFolderName { .. }) => AnomalyKind::BadFolderName,
            Anomaly::Source(Problem::DanglingLink { .. }) => AnomalyKind::DanglingLink,
            Anomaly::Source(Problem::ForeignMigrations { .. }) => AnomalyKind::ForeignMigrations,
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
            Anomaly::PartlyApplied { version, done, total } => plan::partly_applied(version, *done, *total),
            Anomaly::Source(p) => p.message(),
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
            Anomaly::PartlyApplied { .. } => plan::PARTLY_APPLIED_HINT,
            Anomaly::Source(p) => p.hint(),
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::plan::state_of as state;

    #[test]
    fn each_odd_state_is_named() {
        let s = state(&["1", "2", "3"], &["1", "3"]);
        assert_eq!(anomalies(&s, &[]), vec![Anomaly::OutOfOrder { version: "2".into() }]);
        let gone = state(&["1"], &["1", "2"]);
        assert_eq!(anomalies(&gone, &[]), vec![Anomaly::MissingOnDisk { version: "2".into(), revertible: false }]);
        let kept = State { stored_down: vec!["2".into()], ..gone };
        assert_eq!(anomalies(&kept, &[]), vec![Anomaly::MissingOnDisk { version: "2".into(), revertible: true }]);
        let mut edited = state(&["1", "2"], &["1"]);
        edited.modified = vec![("1".into(), "aaaa".into(), "bbbb".into())];
        assert_eq!(anomalies(&edited, &[])[0].kind(), AnomalyKind::Modified);
        let mut stopped = state(&["1", "2"], &["1"]);
        stopped.partial = vec![("2".into(), 3, 5)];
        assert_eq!(anomalies(&stopped, &[]), vec![Anomaly::PartlyApplied { version: "2".into(), done: 3, total: 5 }]);
        assert!(anomalies(&stopped, &[])[0].message().contains("statements 1–3 of 5"));
        let p = Problem::DuplicateVersion { version: "1".into(), folders: vec!["1_a".into(), "1_b".into()] };
        assert_eq!(anomalies(&State::default(), &[p])[0].kind(), AnomalyKind::DuplicateVersion);
    }
}
