//! `status`'s rows: the migrations on disk and the database's history merged
//! in version order.

use crate::db::{Applied, Partial};
use crate::source::Migration;

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

    fn mig(v: &str) -> Migration {
        Migration {
            version: v.into(),
            name: format!("{v}_m"),
            path: std::path::PathBuf::from(v),
            layout: crate::source::Layout::Folder,
            down_file: None,
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
