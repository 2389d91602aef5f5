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

use super::read::read_objects_as_is;
use super::touched::Written;
use super::touched::{self, Oid};
use super::{Catalog, Names, Only, Options, Sections};
use crate::db::session::Session;
use crate::error::Result;

/// `f` with the session set for reading the catalog, in one round trip
/// each way (verify reads twice a migration):
/// - an empty `search_path`, so that every name comes out schema-qualified;
/// - every prepared statement on a generic plan, made once (and again when
///   verify drops them as the catalog grows, `Conn::prepare_afresh`): the
///   same reads run twice a migration with other oids, and by default the
///   server plans a statement with parameters afresh at each execution (a
///   custom plan) as long as that looks cheaper, which for these catalog
///   queries it always does.
///
/// Both are put back as they were, and a rollback puts them back too.
/// Queries, not scripts (which would make a session that keeps prepared
/// statements ask whether they are still there).
fn reading<T>(conn: &mut dyn Session, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
    let fail = |e| crate::db::query_error("read the schema", e);
    let was = conn
        .query(
            "SELECT pg_catalog.current_setting('plan_cache_mode'), pg_catalog.current_setting('search_path'), \
                    pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', false), \
                    pg_catalog.set_config('search_path', '', false)",
            &[],
        )
        .map_err(fail)?;
    let plans = was.text(0, 0).unwrap_or_else(|| "auto".to_string());
    let path = was.text(0, 1).unwrap_or_default();
    drop(was);
    let out = f(conn);
    let back = conn.query(
        "SELECT pg_catalog.set_config('plan_cache_mode', $1, false), pg_catalog.set_config('search_path', $2, false)",
        &[&plans, &path],
    );
    // A read that failed keeps its own error (the transaction's rollback resets the settings).
    let value = out?;
    back.map_err(fail)?;
    Ok(value)
}

/// Of `only`, the objects `now` names (those that exist).
fn present(only: &Only, now: &BTreeMap<Oid, String>) -> Only {
    only.filtered(|kind, oid| now.contains_key(&(kind, oid)))
}

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
        let (catalog, names) = reading(conn, |conn| {
            Ok((read_objects_as_is(conn, &options, None, Sections::ALL)?, touched::names(conn, None)?))
        })?;
        Ok(Tracked { options, catalog, names })
    }

    /// How many relations, functions, types and schemas it knows: how large
    /// the catalog is.
    pub fn known(&self) -> usize {
        self.names.len()
    }

    /// Debug builds (the tests' binary) prove the tracking: the tracked
    /// catalog must be what a whole read gives, at every step.
    #[cfg(debug_assertions)]
    pub fn check(&self, conn: &mut dyn Session) -> Result<()> {
        let whole = super::read_objects(conn, &self.options, None)?.lines();
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

    /// What the current transaction has changed so far, read now;
    /// `written`: what it wrote besides its objects.
    pub fn changed(&self, conn: &mut dyn Session, written: &Written) -> Result<Change> {
        reading(conn, |conn| {
            let only = touched::changed(conn, written)?;
            self.read_objects_now(conn, only, written)
        })
    }

    /// The objects `only`, and those whose text a rename among them
    /// changes, as they are now.
    pub fn read_again(&self, conn: &mut dyn Session, only: Only, written: &Written) -> Result<Change> {
        reading(conn, |conn| self.read_objects_now(conn, only, written))
    }

    fn read_objects_now(&self, conn: &mut dyn Session, mut only: Only, written: &Written) -> Result<Change> {
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
        // An object gone now has no row for any query to find: read only
        // those still there (after a down that undid its up, often none, and
        // the classes without any are not asked for). `only` keeps the gone
        // ones: their names before are part of what is compared.
        let mut part = read_objects_as_is(conn, &self.options, Some(&present(&only, &now)), Sections::NONE)?;
        let moved = self.moved(&only, &now, &part);
        if !moved.is_empty() {
            let more = touched::dependents(conn, &moved)?.without(&only);
            if !more.is_empty() {
                let extra = read_objects_as_is(conn, &self.options, Some(&more), Sections::NONE)?;
                now.extend(touched::names(conn, Some(&more))?);
                part.replace(&self.names_of(&more, &now), extra);
                only.extend(more);
            }
        }
        // The whole sections: read again those that what the transaction
        // wrote, renamed or reshaped may have changed; the others are as they were.
        let stale = self.stale(written, &only, &moved);
        part.set_sections(&self.catalog, stale.others());
        if !stale.is_empty() {
            let whole = read_objects_as_is(conn, &self.options, Some(&Only::default()), stale)?;
            part.set_sections(&whole, stale);
        }
        let names = self.names_of(&only, &now);
        Ok(Change { only, names, part, now })
    }

    /// The whole sections that what a transaction wrote (`written`), or
    /// renamed or reshaped among the objects `only` (`moved`), may have
    /// changed: those whose catalogs it wrote, or that name what it renamed.
    fn stale(&self, written: &Written, only: &Only, moved: &Only) -> Sections {
        // Each names roles and schemas, and leaves out what extensions own.
        if written.any(&["pg_authid", "pg_namespace", "pg_extension"]) {
            return Sections::ALL;
        }
        let mut stale = Sections::NONE;
        if written.any(&["pg_description"]) {
            stale |= Sections::SCHEMAS | Sections::EXTENSIONS;
        }
        if written.any(&["pg_publication", "pg_publication_rel"]) || !moved.relations.is_empty() {
            stale |= Sections::PUBLICATIONS;
        }
        if written.any(&["pg_event_trigger"]) || !moved.functions.is_empty() {
            stale |= Sections::EVENT_TRIGGERS;
        }
        if written.any(&["pg_default_acl"]) {
            stale |= Sections::DEFAULT_PRIVILEGES;
        }
        let foreign = |oid: &u32| {
            self.names
                .get(&('r', *oid))
                .is_some_and(|n| self.catalog.foreign.contains_key(&format!("FOREIGN TABLE {n}")))
        };
        if written.any(&["pg_foreign_data_wrapper", "pg_foreign_server", "pg_foreign_table"])
            || only.relations.iter().any(foreign)
            || !moved.is_empty()
        {
            stale |= Sections::FOREIGN;
        }
        if written.any(&["pg_statistic_ext"]) || !moved.is_empty() {
            stale |= Sections::STATISTICS;
        }
        stale
    }

    /// The lines of the tracked catalog that `change` lacks (lost) and the
    /// ones it has that the tracked catalog lacks (left): what a full
    /// snapshot of each would differ by.
    pub fn difference(&self, change: &Change) -> (Vec<String>, Vec<String>) {
        let before = self.catalog.part(&change.names).lines();
        let after = change.part.lines();
        (after.difference(&before).cloned().collect(), before.difference(&after).cloned().collect())
    }

    /// Whether the catalog saw all of what `change` touched: each object, as
    /// it was here and as it is now, is one a catalog holds. Not one of a
    /// schema the catalog leaves out (a temporary one, our bookkeeping), an
    /// extension's member, an aggregate, a range or base type: a change to
    /// one of those compares equal unseen.
    pub fn sees_all_of(&self, change: &Change) -> bool {
        let kinds = [('r', &change.only.relations), ('p', &change.only.functions), ('t', &change.only.types)];
        kinds.iter().all(|(kind, oids)| {
            oids.iter().all(|oid| {
                let was = self.names.get(&(*kind, *oid)).is_none_or(|n| self.catalog.holds(*kind, n));
                let is = change.now.get(&(*kind, *oid)).is_none_or(|n| change.part.holds(*kind, n));
                was && is
            })
        })
    }

    /// Take `change` in: the tracked catalog is then the database's as it is.
    pub fn apply(&mut self, change: Change) {
        self.catalog.replace(&change.names, change.part);
        // The schemas' names (`n`) are read whole each time: always replaced.
        self.names.retain(|(kind, oid), _| matches!(kind, 'r' | 'p' | 't') && !change.only.holds(*kind, *oid));
        self.names.extend(change.now);
    }

    /// Among `only`: the renamed, the types that changed (an enum's labels
    /// are written out in its users' defaults), and the tables and views
    /// whose columns changed name.
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
        let type_changed = |oid: &u32| {
            let (Some(old), Some(new)) = (self.names.get(&('t', *oid)), now.get(&('t', *oid))) else { return false };
            self.catalog.types.get(old) != part.types.get(new)
        };
        Only {
            relations: only.relations.iter().filter(|o| renamed('r', o) || columns_changed(o)).copied().collect(),
            functions: only.functions.iter().filter(|o| renamed('p', o)).copied().collect(),
            types: only.types.iter().filter(|o| renamed('t', o) || type_changed(o)).copied().collect(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fake::{server_error, Fake};
    use crate::db::pq::Rows;

    fn fake() -> Fake {
        Fake::default()
            .answering("current_setting('plan_cache_mode')", |_| {
                Ok(Rows::owned(vec![vec![
                    Some(b"force_custom_plan".to_vec()),
                    Some(b"app, public".to_vec()),
                    None,
                    None,
                ]]))
            })
            .answering("set_config('plan_cache_mode', $1", |p| {
                assert_eq!(p, ["force_custom_plan", "app, public"], "put back as they were");
                Ok(Rows::owned(vec![vec![None, None]]))
            })
    }

    #[test]
    fn the_settings_are_put_back_as_they_were() {
        let mut conn = fake();
        let out = reading(&mut conn, |conn| conn.query("SELECT 1", &[]).map_err(|e| crate::db::query_error("x", e)));
        assert!(out.is_err(), "the fake has no answer to SELECT 1");
        assert_eq!(conn.sent_containing("set_config('plan_cache_mode', $1"), 1, "{:?}", conn.sent);
        assert_eq!(reading(&mut fake(), |_| Ok(7)).ok(), Some(7));
        let mut conn = fake();
        reading(&mut conn, |_| Ok(())).unwrap();
        assert_eq!(conn.sent.len(), 2, "one round trip each way: {:?}", conn.sent);
    }

    #[test]
    fn a_failed_read_keeps_its_own_error() {
        let mut conn = Fake::default()
            .answering("current_setting('plan_cache_mode')", |_| {
                Ok(Rows::owned(vec![vec![Some(b"auto".to_vec()), Some(b"public".to_vec()), None, None]]))
            })
            .answering("set_config('plan_cache_mode', $1", |_| {
                Err(server_error("25P02", "current transaction is aborted", None))
            });
        let e = reading(&mut conn, |_| -> Result<()> {
            Err(crate::error::Error::new(crate::error::Kind::Internal, "the read failed"))
        })
        .unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Internal);
    }

    #[test]
    fn the_catalog_sees_only_the_objects_it_holds() {
        let mut catalog = Catalog::default();
        catalog.tables.insert("public.t".into(), Default::default());
        let names: BTreeMap<Oid, String> = [
            (('r', 1), "public.t".to_string()),
            // An aggregate an earlier migration made: known by name, not held.
            (('p', 2), "public.agg(integer)".into()),
        ]
        .into_iter()
        .collect();
        let tracked = Tracked { options: Options::default(), catalog, names };
        let change = |only: Only, now: &[(Oid, &str)], part: Catalog| Change {
            only,
            names: Names::default(),
            part,
            now: now.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        };
        let rels = |o: &[u32]| Only { relations: o.iter().copied().collect(), ..Default::default() };
        let mut t_now = Catalog::default();
        t_now.tables.insert("public.t".into(), Default::default());
        // The table, as it was and as it is: seen.
        assert!(tracked.sees_all_of(&change(rels(&[1]), &[(('r', 1), "public.t")], t_now.clone())));
        // Made and dropped in the transaction (known neither before nor now): seen.
        assert!(tracked.sees_all_of(&change(rels(&[9]), &[], Catalog::default())));
        // Made and left, but not one the catalog holds (a temporary table).
        assert!(!tracked.sees_all_of(&change(rels(&[9]), &[(('r', 9), "pg_temp_3.x")], Catalog::default())));
        // The aggregate dropped: it was there, and the catalog never held it.
        let agg = Only { functions: [2].into_iter().collect(), ..Default::default() };
        assert!(!tracked.sees_all_of(&change(agg, &[], Catalog::default())));
    }

    #[test]
    fn only_what_is_there_is_read() {
        let only = Only {
            relations: [10, 11].into_iter().collect(),
            functions: [20].into_iter().collect(),
            types: [30, 31].into_iter().collect(),
        };
        // 11 and 30 are gone; the kind counts (20 is not a relation).
        let now: BTreeMap<Oid, String> =
            [(('r', 10), "a".to_string()), (('r', 20), "b".into()), (('t', 31), "c".into())].into_iter().collect();
        let p = present(&only, &now);
        assert_eq!(p.relations, [10].into_iter().collect());
        assert!(p.functions.is_empty());
        assert_eq!(p.types, [31].into_iter().collect());
    }
}
