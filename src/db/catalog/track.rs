//! A catalog read once and then kept up to date by reading again only what
//! each transaction changed (`verify` compares a migration's objects before
//! its up and after its down without reading the whole schema twice a
//! migration, which made `verify --all` quadratic in the schema's size).
//!
//! Besides the objects a transaction wrote or locked ([`touched::changed`]),
//! a rename changes the text of objects it did not touch: a view of a
//! renamed table, a default calling a renamed function, a column of a
//! renamed type, everything in a renamed schema. Those are read again too.

use std::collections::{BTreeMap, BTreeSet};

use super::touched::{self, Oid};
use super::{read_objects, Catalog, Names, Only, Options};
use crate::db::session::Session;
use crate::error::Result;

pub struct Tracked {
    options: Options,
    catalog: Catalog,
    /// What each relation, function, type and schema is called.
    names: BTreeMap<Oid, String>,
}

/// What a transaction changed: those objects as they are now.
pub struct Change {
    only: Only,
    /// What they were called in the tracked catalog, and what now.
    names: Names,
    part: Catalog,
    /// Their names now, and every schema's.
    now: BTreeMap<Oid, String>,
}

impl Change {
    /// The objects it covers.
    pub fn objects(&self) -> &Only {
        &self.only
    }
}

impl Tracked {
    /// The whole catalog, read now.
    pub fn read(conn: &mut dyn Session, options: Options) -> Result<Tracked> {
        let catalog = read_objects(conn, &options, None)?;
        let names = touched::names(conn, None)?;
        Ok(Tracked { options, catalog, names })
    }

    /// Debug builds (the tests' binary) prove the tracking: the tracked
    /// catalog must be what a whole read gives, at every step.
    #[cfg(debug_assertions)]
    pub fn check(&self, conn: &mut dyn Session) -> Result<()> {
        let whole = read_objects(conn, &self.options, None)?.lines();
        let mine = self.catalog.lines();
        if whole == mine {
            return Ok(());
        }
        let e = crate::error::Error::new(
            crate::error::Kind::Internal,
            "verify's tracked schema is not the database's (a change went unnoticed)",
        );
        let e = whole.difference(&mine).fold(e, |e, l| e.detail(format!("  missed: {l}")));
        Err(mine.difference(&whole).fold(e, |e, l| e.detail(format!("  stale: {l}"))))
    }

    /// What the current transaction has changed so far, read now.
    pub fn changed(&self, conn: &mut dyn Session) -> Result<Change> {
        let only = touched::changed(conn)?;
        self.read_again(conn, only)
    }

    /// The objects `only`, and those whose text a rename among them
    /// changes, as they are now.
    pub fn read_again(&self, conn: &mut dyn Session, mut only: Only) -> Result<Change> {
        let mut now = touched::names(conn, Some(&only))?;
        let schemas: BTreeSet<u32> = now
            .iter()
            .filter(|((kind, oid), name)| *kind == 'n' && self.names.get(&('n', *oid)).is_some_and(|old| old != *name))
            .map(|((_, oid), _)| *oid)
            .collect();
        if !schemas.is_empty() {
            only.extend(touched::in_schemas(conn, &schemas)?);
            now = touched::names(conn, Some(&only))?;
        }
        let mut part = read_objects(conn, &self.options, Some(&only))?;
        let moved = self.moved(&only, &now, &part);
        if !moved.is_empty() {
            let more = touched::dependents(conn, &moved)?.without(&only);
            if !more.is_empty() {
                only.extend(more);
                now = touched::names(conn, Some(&only))?;
                part = read_objects(conn, &self.options, Some(&only))?;
            }
        }
        let names = self.names_of(&only, &now);
        Ok(Change { only, names, part, now })
    }

    /// The lines of the tracked catalog that `change` lacks (lost) and the
    /// ones it has that the tracked catalog lacks (left): what a full
    /// snapshot of each would differ by.
    pub fn difference(&self, change: &Change) -> (Vec<String>, Vec<String>) {
        let before = self.catalog.part(&change.names).lines();
        let after = change.part.lines();
        (after.difference(&before).cloned().collect(), before.difference(&after).cloned().collect())
    }

    /// Take `change` in: the tracked catalog is then the database's as it is.
    pub fn apply(&mut self, change: Change) {
        self.catalog.replace(&change.names, change.part);
        let gone = |kind: char, oid: u32| match kind {
            'r' => change.only.relations.contains(&oid),
            'p' => change.only.functions.contains(&oid),
            't' => change.only.types.contains(&oid),
            _ => true,
        };
        self.names.retain(|(kind, oid), _| !gone(*kind, *oid));
        self.names.extend(change.now);
    }

    /// Among `only`: the renamed, every type (an enum's labels are written
    /// out in its users' defaults), and the tables and views whose columns
    /// changed name.
    fn moved(&self, only: &Only, now: &BTreeMap<Oid, String>, part: &Catalog) -> Only {
        let renamed = |kind: char, oid: &u32| matches!((self.names.get(&(kind, *oid)), now.get(&(kind, *oid))), (Some(a), Some(b)) if a != b);
        let columns_changed = |oid: &u32| {
            let (Some(old), Some(new)) = (self.names.get(&('r', *oid)), now.get(&('r', *oid))) else { return false };
            let table =
                |c: &Catalog, n: &str| c.tables.get(n).map(|t| t.columns.iter().map(|c| c.name.clone()).collect());
            let view = |c: &Catalog, n: &str| c.views.get(n).map(|v| v.columns.iter().map(|c| c.0.clone()).collect());
            let columns = |c: &Catalog, n: &str| -> Option<Vec<String>> { table(c, n).or_else(|| view(c, n)) };
            columns(&self.catalog, old) != columns(part, new)
        };
        Only {
            relations: only.relations.iter().filter(|o| renamed('r', o) || columns_changed(o)).copied().collect(),
            functions: only.functions.iter().filter(|o| renamed('p', o)).copied().collect(),
            types: only.types.iter().filter(|o| self.names.contains_key(&('t', **o))).copied().collect(),
        }
    }

    /// The names `only` had here and has `now`.
    fn names_of(&self, only: &Only, now: &BTreeMap<Oid, String>) -> Names {
        let both = |kind: char, oids: &BTreeSet<u32>| -> BTreeSet<String> {
            oids.iter()
                .flat_map(|oid| [self.names.get(&(kind, *oid)), now.get(&(kind, *oid))])
                .flatten()
                .cloned()
                .collect()
        };
        Names {
            relations: both('r', &only.relations),
            functions: both('p', &only.functions),
            types: both('t', &only.types),
        }
    }
}
