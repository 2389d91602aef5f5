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

/// Whether `e` is a statement's giving up on a lock (`lock_timeout`).
fn waited(e: &crate::error::Error) -> bool {
    let pg = std::error::Error::source(e).and_then(|s| s.downcast_ref::<crate::db::pq::PgError>());
    pg.is_some_and(|pg| pg.sqlstate.as_deref() == Some("55P03"))
}

fn internal(what: &str) -> crate::error::Error {
    crate::error::Error::new(crate::error::Kind::Internal, format!("verify's tracked schema: {what}"))
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
    /// Objects made by a committed transaction and not read yet: neither in
    /// `catalog` nor in `names` (see [`Tracked::after`]).
    pending: Only,
}

/// What a transaction's objects are, to take in once it is committed.
pub enum After {
    /// Read.
    Read(Box<Change>),
    /// Left to be read when needed: all of them new, and nothing read whole changed.
    Pending(Only),
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
        Ok(Tracked { options, catalog, names, pending: Only::default() })
    }

    /// How many relations, functions, types and schemas it knows: how large
    /// the catalog is.
    pub fn known(&self) -> usize {
        let pending = &self.pending;
        self.names.len() + pending.relations.len() + pending.functions.len() + pending.types.len()
    }

    /// Debug builds (the tests' binary) prove the tracking: the tracked
    /// catalog must be what a whole read gives, at every step.
    /// The objects pending are left out of the whole read: not read yet,
    /// they are not in the tracked catalog.
    #[cfg(debug_assertions)]
    pub fn check(&self, conn: &mut dyn Session) -> Result<()> {
        let mut whole = super::read_objects(conn, &self.options, None)?;
        if !self.pending.is_empty() {
            let now = reading(conn, |conn| touched::names(conn, Some(&self.pending)))?;
            let of = |kind: char| now.iter().filter(|((k, _), _)| *k == kind).map(|(_, n)| n.clone()).collect();
            let pending = Names { relations: of('r'), functions: of('p'), types: of('t') };
            let sections = whole.clone();
            whole.replace(&pending, Catalog::default());
            whole.set_sections(&sections, Sections::ALL);
        }
        let whole = whole.lines();
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
    /// `written`: what it wrote besides its objects. `committed`: a session
    /// of the same database that sees only what is committed, from which
    /// the pending objects are read when the transaction touched them. None
    /// when that read had to wait for a lock the transaction holds: roll it
    /// back, [`Tracked::refresh`], and run it again.
    pub fn changed(
        &mut self,
        conn: &mut dyn Session,
        committed: &mut dyn Session,
        written: &Written,
    ) -> Result<Option<Change>> {
        reading(conn, |conn| {
            let only = touched::changed(conn, written)?;
            self.read_now(conn, committed, only, written)
        })
    }

    /// What the objects `only` (None: those the transaction changed), and
    /// those whose text a rename among them changes, are now, to be taken
    /// in once the transaction is committed ([`Tracked::take_in`]). When
    /// all of them are new and nothing read whole can have changed, they
    /// are not read now: nothing tracked names them, and a later read that
    /// touches them reads them first as they were committed. (`verify
    /// --all`'s migrations mostly make objects the next one does not touch.)
    /// None as for [`Tracked::changed`].
    pub fn after(
        &mut self,
        conn: &mut dyn Session,
        committed: &mut dyn Session,
        only: Option<Only>,
        written: &Written,
    ) -> Result<Option<After>> {
        reading(conn, |conn| {
            let only = match only {
                Some(only) => only,
                None => touched::changed(conn, written)?,
            };
            // A pending one among them was changed: what names it (and was
            // read) may have changed with it, so it is read now.
            let known = only.any(|kind, oid| self.names.contains_key(&(kind, oid)) || self.pending.holds(kind, oid));
            if !known && self.stale(written, &only, &Only::default()).is_empty() {
                return Ok(Some(After::Pending(only)));
            }
            Ok(self.read_now(conn, committed, only, written)?.map(|change| After::Read(Box::new(change))))
        })
    }

    /// Take in what [`Tracked::after`] gave, its transaction committed.
    pub fn take_in(&mut self, after: After) {
        match after {
            After::Read(change) => self.apply(*change),
            After::Pending(only) => self.pending.extend(only),
        }
    }

    /// Read the pending objects on `conn`, outside a transaction.
    pub fn refresh(&mut self, conn: &mut dyn Session) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        // Read as if none were pending; kept pending if the read fails.
        let read = reading(conn, |conn| self.read_objects_now(conn, pending.clone(), &Written::nothing()));
        match read {
            Ok(read) => self.apply(read.ok_or_else(|| internal("pending objects left after reading them"))?),
            Err(e) => {
                self.pending = pending;
                return Err(e);
            }
        }
        Ok(())
    }

    /// [`Tracked::read_objects_now`], the pending objects read first (on
    /// `committed`) when it needs them; None when that read waited for a lock.
    fn read_now(
        &mut self,
        conn: &mut dyn Session,
        committed: &mut dyn Session,
        only: Only,
        written: &Written,
    ) -> Result<Option<Change>> {
        if let Some(change) = self.read_objects_now(conn, only.clone(), written)? {
            return Ok(Some(change));
        }
        match self.refresh(committed) {
            Ok(()) => {}
            // The view or index it reads is locked by the transaction (the
            // server's functions that print them lock what they print).
            Err(e) if waited(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
        Ok(Some(self.read_objects_now(conn, only, written)?.ok_or_else(|| internal("pending objects left"))?))
    }

    /// Whether any of `only` is pending.
    fn touches_pending(&self, only: &Only) -> bool {
        only.any(|kind, oid| self.pending.holds(kind, oid))
    }

    /// The objects `only`, and those whose text a rename among them changes,
    /// as they are now; None when they include pending objects (whose state
    /// before is not known: read them first).
    fn read_objects_now(&self, conn: &mut dyn Session, mut only: Only, written: &Written) -> Result<Option<Change>> {
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
        if self.touches_pending(&only) {
            return Ok(None);
        }
        // An object gone now has no row for any query to find: read only
        // those still there (after a down that undid its up, often none, and
        // the classes without any are not asked for). `only` keeps the gone
        // ones: their names before are part of what is compared.
        let mut part = read_objects_as_is(conn, &self.options, Some(&present(&only, &now)), Sections::NONE)?;
        let moved = self.moved(&only, &now, &part);
        if !moved.is_empty() {
            let more = touched::dependents(conn, &moved)?.without(&only);
            if self.touches_pending(&more) {
                return Ok(None);
            }
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
        Ok(Some(Change { only, names, part, now }))
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
    fn apply(&mut self, change: Change) {
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
        let tracked = Tracked { options: Options::default(), catalog, names, pending: Only::default() };
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
