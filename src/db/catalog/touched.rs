//! Which objects the current transaction changed, found without reading the
//! whole catalog: the catalog rows it wrote (their `xmin` is one of its own
//! transaction ids, so `age(xmin) <= 0`) and the objects it locked (every
//! `DROP`, `ALTER TABLE` and `COMMENT` locks what it removes or alters, even
//! when the row is gone; a `GRANT` locks nothing, but rewrites the row). Each is mapped to the relation, function or type it is
//! part of, as [`Catalog`](super::Catalog) groups them.
//!
//! Schemas, extensions, publications, event triggers and default privileges
//! are not looked for: they are few, and read whole each time.

use std::collections::{BTreeMap, BTreeSet};

use super::read::{BOOKKEEPING, OID_ARRAY, TEXT_ARRAY};
use super::Only;
use crate::db::oids::array;
use crate::db::query_error;
use crate::db::session::Session;
use crate::error::Result;

/// What is known of an oid: its class (`r` relation, `p` function, `t`
/// type, `n` schema) and the oid.
pub type Oid = (char, u32);

/// Rows of one catalog this transaction wrote, as `(class, object)`. The
/// catalog is scanned only when it is among the catalogs `$1` (text[]) the
/// transaction wrote rows of: a one-time filter of the plan.
fn written(catalog: &str, class: &str, object: &str) -> String {
    format!(
        "SELECT {class}, {object} FROM pg_catalog.{catalog} \
          WHERE '{catalog}' = ANY($1::pg_catalog.text[]) AND pg_catalog.age(xmin) <= 0",
        class = if class.starts_with("pg_") {
            format!("'pg_catalog.{class}'::pg_catalog.regclass::pg_catalog.oid")
        } else {
            class.into()
        }
    )
}

/// The catalogs [`changed`] looks for rows of, each with the catalog its
/// rows point into (`class`) and the column that holds the oid there.
/// Not pg_depend's nor pg_description's rows, the two largest catalogs:
/// what they gain comes with a lock or a row of these.
const SCANNED: &[(&str, &str, &str)] = &[
    ("pg_class", "pg_class", "oid"),
    // A column's type, default, grants; a dropped column.
    ("pg_attribute", "pg_class", "attrelid"),
    ("pg_attrdef", "pg_class", "adrelid"),
    ("pg_constraint", "pg_constraint", "oid"),
    ("pg_index", "pg_class", "indrelid"),
    ("pg_trigger", "pg_class", "tgrelid"),
    ("pg_policy", "pg_class", "polrelid"),
    ("pg_rewrite", "pg_class", "ev_class"),
    ("pg_sequence", "pg_class", "seqrelid"),
    ("pg_inherits", "pg_class", "inhrelid"),
    ("pg_proc", "pg_proc", "oid"),
    ("pg_type", "pg_type", "oid"),
    ("pg_enum", "pg_type", "enumtypid"),
];

/// `owned` holds `(cls, id)` pairs (a catalog and an oid in it): the
/// relations, functions and types they belong to, as rows `(kind, oid)`;
/// kind `T` (with oid 0) when a domain constraint went and with it the
/// knowledge of its domain: every type is then to be read.
fn owners(owned: &str) -> String {
    format!(
        "WITH o(cls, id) AS ({owned}), \
         rel AS ( \
           SELECT CASE WHEN c.relkind = 'c' THEN 't' ELSE 'r' END AS kind, \
                  CASE WHEN c.relkind IN ('i', 'I') THEN (SELECT i.indrelid FROM pg_catalog.pg_index i \
                         WHERE i.indexrelid = c.oid) \
                       WHEN c.relkind = 'c' THEN c.reltype ELSE c.oid END AS id \
             FROM o JOIN pg_catalog.pg_class c ON c.oid = o.id \
            WHERE o.cls = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.relkind <> 't' \
           UNION ALL SELECT 'r', o.id FROM o WHERE o.cls = 'pg_catalog.pg_class'::pg_catalog.regclass \
             AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = o.id)), \
         typ AS ( \
           SELECT b.oid, b.typrelid FROM o JOIN pg_catalog.pg_type t ON t.oid = o.id \
             JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END \
            WHERE o.cls = 'pg_catalog.pg_type'::pg_catalog.regclass) \
         SELECT kind, id FROM rel WHERE id IS NOT NULL \
         UNION SELECT 't', o.id FROM o WHERE o.cls = 'pg_catalog.pg_type'::pg_catalog.regclass \
         UNION SELECT CASE WHEN typ.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c \
                         WHERE c.oid = typ.typrelid) = 'c' THEN 't' ELSE 'r' END, \
                      CASE WHEN typ.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c \
                         WHERE c.oid = typ.typrelid) = 'c' THEN typ.oid ELSE typ.typrelid END FROM typ \
         UNION SELECT 'p', o.id FROM o WHERE o.cls = 'pg_catalog.pg_proc'::pg_catalog.regclass \
         UNION SELECT CASE WHEN k.conrelid <> 0 THEN 'r' ELSE 't' END, \
                      CASE WHEN k.conrelid <> 0 THEN k.conrelid ELSE k.contypid END \
             FROM o JOIN pg_catalog.pg_constraint k ON k.oid = o.id \
            WHERE o.cls = 'pg_catalog.pg_constraint'::pg_catalog.regclass \
         UNION SELECT 'T', 0::pg_catalog.oid FROM o WHERE o.cls = 'pg_catalog.pg_constraint'::pg_catalog.regclass \
             AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.oid = o.id) \
         UNION SELECT 'r', a.adrelid FROM o JOIN pg_catalog.pg_attrdef a ON a.oid = o.id \
            WHERE o.cls = 'pg_catalog.pg_attrdef'::pg_catalog.regclass \
         UNION SELECT 'r', t.tgrelid FROM o JOIN pg_catalog.pg_trigger t ON t.oid = o.id \
            WHERE o.cls = 'pg_catalog.pg_trigger'::pg_catalog.regclass \
         UNION SELECT 'r', p.polrelid FROM o JOIN pg_catalog.pg_policy p ON p.oid = o.id \
            WHERE o.cls = 'pg_catalog.pg_policy'::pg_catalog.regclass \
         UNION SELECT 'r', w.ev_class FROM o JOIN pg_catalog.pg_rewrite w ON w.oid = o.id \
            WHERE o.cls = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
    )
}

/// The objects the current transaction changed (so far); `writes`: the
/// catalogs it wrote rows of.
pub fn changed(conn: &mut dyn Session, writes: &Written) -> Result<Only> {
    // What it dropped or altered (the rows gone), commented on (a comment
    // locks its object), made an extension's member or not: the locks.
    // Not a relation's weakest three, which reading and writing its rows
    // take (the history's tables, a migration's INSERT): no DDL changes
    // a relation under them, and one that makes a view or a foreign key
    // writes rows of its own.
    let locks = "SELECT CASE l.locktype WHEN 'relation' THEN 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid \
                  ELSE l.classid END, \
                CASE l.locktype WHEN 'relation' THEN l.relation ELSE l.objid END \
           FROM pg_catalog.pg_locks l WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype IN ('relation', 'object') \
            AND NOT (l.locktype = 'relation' AND l.mode IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock')) \
            AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())";
    let rows = SCANNED.iter().map(|(catalog, class, object)| written(catalog, class, object));
    let mine: Vec<String> = rows.chain([locks.to_string()]).collect();
    // Oids below 16384 are PostgreSQL's own.
    let owned = format!("SELECT cls, id FROM ({}) x(cls, id) WHERE id >= 16384", mine.join(" UNION "));
    let catalogs: Vec<&str> = SCANNED.iter().map(|(c, _, _)| *c).filter(|c| writes.any(&[c])).collect();
    let mut found = select(conn, &owners(&owned), &[&format!("{{{}}}", catalogs.join(","))], &[TEXT_ARRAY])?;
    if found.types.remove(&0) {
        // A domain's constraint went: read every type.
        let sql = "SELECT 't', t.oid FROM pg_catalog.pg_type t WHERE t.typtype = 'd' AND t.oid >= 16384";
        found.types.extend(select(conn, sql, &[], &[])?.types);
    }
    Ok(found)
}

/// The catalogs a compare of two [`Catalog`](super::Catalog)s reads, and
/// those whose rows cannot make a migration's up fail when it runs again
/// (dependencies, comments, statistics, security labels, an extension's
/// initial privileges). Any other (roles, operators, casts, large objects,
/// user mappings, a publication's schemas, …) holds what a compare does not see.
const COMPARED: &[&str] = &[
    "pg_class",
    "pg_attribute",
    "pg_attrdef",
    "pg_constraint",
    "pg_index",
    "pg_trigger",
    "pg_policy",
    "pg_rewrite",
    "pg_sequence",
    "pg_inherits",
    "pg_partitioned_table",
    "pg_proc",
    "pg_type",
    "pg_enum",
    "pg_namespace",
    "pg_extension",
    "pg_publication",
    "pg_publication_rel",
    "pg_event_trigger",
    "pg_default_acl",
    "pg_foreign_data_wrapper",
    "pg_foreign_server",
    "pg_foreign_table",
    "pg_statistic_ext",
    "pg_depend",
    "pg_shdepend",
    "pg_description",
    "pg_shdescription",
    "pg_statistic",
    "pg_statistic_ext_data",
    "pg_seclabel",
    "pg_shseclabel",
    "pg_init_privs",
];

/// The server's catalogs, found once, and how many rows of each had been
/// written at [`Writes::mark`]: what a transaction writes besides the
/// objects [`changed`] finds (which catalogs, which tables' rows).
pub struct Writes {
    /// Their oids, an `oid[]` literal.
    catalogs: String,
    /// Their counts of rows written at the mark, where not 0.
    marked: BTreeMap<String, i64>,
}

/// The counts of rows written to the catalogs `$1`, where not 0, as rows
/// `('c', catalog, count)`: those of the current transaction and of the
/// earlier ones not yet flushed to the server's statistics (which happens
/// between transactions only).
const COUNTS: &str = "SELECT 'c', c.c::pg_catalog.regclass::text, (pg_catalog.pg_stat_get_xact_tuples_inserted(c.c) \
        + pg_catalog.pg_stat_get_xact_tuples_updated(c.c) + pg_catalog.pg_stat_get_xact_tuples_deleted(c.c))::text \
      FROM pg_catalog.unnest($1::pg_catalog.oid[]) c(c) \
     WHERE pg_catalog.pg_stat_get_xact_tuples_inserted(c.c) + pg_catalog.pg_stat_get_xact_tuples_updated(c.c) \
        + pg_catalog.pg_stat_get_xact_tuples_deleted(c.c) > 0";

/// What a transaction wrote since [`Writes::mark`], besides its objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The catalogs it wrote rows of (`pg_extension` too when it added an
    /// object to an extension or took one out, which writes only `pg_depend`).
    pub catalogs: BTreeSet<String>,
    /// The tables of the database's own whose rows it wrote (the history's
    /// aside), qualified.
    pub tables: BTreeSet<String>,
    /// False when the server keeps no counts (`track_counts` off): then
    /// any catalog may have been written.
    pub counted: bool,
}

impl Written {
    /// Nothing written (what a session that only reads has done).
    pub fn nothing() -> Written {
        Written { counted: true, ..Written::default() }
    }

    /// Whether it may have written any of `catalogs`.
    pub fn any(&self, catalogs: &[&str]) -> bool {
        !self.counted || catalogs.iter().any(|c| self.catalogs.contains(*c))
    }

    /// What of it a compare of the catalog does not see: the catalogs
    /// outside [`COMPARED`], the tables; `track_counts` when nothing can be
    /// ruled out. Empty: the catalog's objects are all it changed.
    pub fn unseen(&self) -> Vec<String> {
        let uncounted = (!self.counted).then(|| "track_counts".to_string());
        let catalogs = self.catalogs.iter().filter(|c| !COMPARED.contains(&c.as_str())).cloned();
        uncounted.into_iter().chain(catalogs).chain(self.tables.iter().cloned()).collect()
    }
}

impl Writes {
    pub fn find(conn: &mut dyn Session) -> Result<Writes> {
        let rows = conn
            .query(
                "SELECT c.oid::text FROM pg_catalog.pg_class c \
                  WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace AND c.relkind = 'r'",
                &[],
            )
            .map_err(|e| query_error("list the catalogs", e))?;
        let oids: BTreeSet<u32> = (0..rows.len).filter_map(|r| rows.text(r, 0)?.parse().ok()).collect();
        Ok(Writes { catalogs: array(&oids), marked: BTreeMap::new() })
    }

    /// Note the counts, inside a transaction that has written nothing yet.
    pub fn mark(&mut self, conn: &mut dyn Session) -> Result<()> {
        let rows = conn
            .query_again(COUNTS, &[&self.catalogs], &[OID_ARRAY])
            .map_err(|e| query_error("count the catalogs' writes", e))?;
        self.marked = counts(&rows).collect();
        Ok(())
    }

    /// What the transaction wrote since the mark.
    pub fn since_mark(&self, conn: &mut dyn Session) -> Result<Written> {
        let sql = format!(
            "SELECT 'x', NULL, NULL WHERE NOT pg_catalog.current_setting('track_counts')::boolean \
             UNION ALL {COUNTS} \
             UNION ALL SELECT 'c', 'pg_extension', NULL FROM pg_catalog.pg_locks l \
              WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'object' \
                AND l.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass \
             UNION ALL SELECT 't', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), NULL \
               FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
              WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.mode = 'RowExclusiveLock' \
                AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()) \
                AND c.oid >= 16384 AND c.relkind NOT IN ('i', 'I', 't') \
                AND NOT (n.nspname IN ({BOOKKEEPING}) OR c.relname = '__diesel_schema_migrations')"
        );
        let rows = conn
            .query_again(&sql, &[&self.catalogs], &[OID_ARRAY])
            .map_err(|e| query_error("find what the migration wrote", e))?;
        let mut out = Written { counted: true, ..Written::default() };
        for r in 0..rows.len {
            let (Some(tag), name) = (rows.text(r, 0), rows.text(r, 1)) else { continue };
            let count: Option<i64> = rows.text(r, 2).and_then(|n| n.parse().ok());
            match (tag.as_str(), name) {
                ("x", _) => out.counted = false,
                ("t", Some(name)) => {
                    out.tables.insert(name);
                }
                ("c", Some(name)) if count.is_none_or(|n| n > self.marked.get(&name).copied().unwrap_or(0)) => {
                    out.catalogs.insert(name);
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Rows `('c', name, count)` as `(name, count)`.
fn counts(rows: &crate::db::pq::Rows) -> impl Iterator<Item = (String, i64)> + '_ {
    (0..rows.len).filter_map(|r| Some((rows.text(r, 1)?, rows.text(r, 2)?.parse().ok()?)))
}

/// The objects whose definitions name one of `these` (a view of a table, a
/// foreign key to it, a default calling a function, a column of a type):
/// their text changes when one of `these` is renamed.
pub fn dependents(conn: &mut dyn Session, these: &Only) -> Result<Only> {
    let refs = |cls: &str, param: usize| {
        format!("(d.refclassid = 'pg_catalog.{cls}'::pg_catalog.regclass AND d.refobjid = ANY(${param}))")
    };
    let owned = format!(
        "SELECT d.classid, d.objid FROM pg_catalog.pg_depend d WHERE d.deptype IN ('n', 'a') AND ({} OR {} OR {})",
        refs("pg_class", 1),
        refs("pg_proc", 2),
        refs("pg_type", 3)
    );
    let params = [array(&these.relations), array(&these.functions), array(&these.types)];
    select(conn, &owners(&owned), &[&params[0], &params[1], &params[2]], &[OID_ARRAY; 3])
}

/// Every relation, function and type in the schemas `oids`.
pub fn in_schemas(conn: &mut dyn Session, oids: &BTreeSet<u32>) -> Result<Only> {
    select(
        conn,
        "SELECT CASE WHEN c.relkind = 'c' THEN 't' ELSE 'r' END, CASE WHEN c.relkind = 'c' THEN c.reltype ELSE c.oid END \
           FROM pg_catalog.pg_class c WHERE c.relnamespace = ANY($1) AND c.relkind NOT IN ('i', 'I', 't') \
         UNION SELECT 'p', p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace = ANY($1) \
         UNION SELECT 't', t.oid FROM pg_catalog.pg_type t WHERE t.typnamespace = ANY($1) \
           AND t.typtype IN ('e', 'd')",
        &[&array(oids)],
        &[OID_ARRAY],
    )
}

/// What each of `these` (and every schema) is called now, as the catalog
/// keys it; the ones gone are not there. `None`: every relation, function
/// and type from 16384 up.
/// The session's `search_path` must be empty (the names come out qualified).
pub fn names(conn: &mut dyn Session, these: Option<&Only>) -> Result<BTreeMap<Oid, String>> {
    // The oids are parameters $1–$3: one text, planned once where the session keeps it.
    let only = |param: usize, column: &str| match these {
        None => format!("{column} >= 16384"),
        Some(_) => format!("{column} = ANY(${param})"),
    };
    let lists = these.map(|o| [array(&o.relations), array(&o.functions), array(&o.types)]);
    let params: Vec<&str> = lists.iter().flatten().map(String::as_str).collect();
    let sql = format!(
        "SELECT 'r', c.oid::text, c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c \
           WHERE {} AND c.relkind NOT IN ('i', 'I', 't', 'c') \
         UNION ALL SELECT 'p', p.oid::text, p.oid::pg_catalog.regprocedure::text FROM pg_catalog.pg_proc p WHERE {} \
         UNION ALL SELECT 't', t.oid::text, t.oid::pg_catalog.regtype::text FROM pg_catalog.pg_type t WHERE {} \
         UNION ALL SELECT 'n', n.oid::text, pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_namespace n",
        only(1, "c.oid"),
        only(2, "p.oid"),
        only(3, "t.oid"),
    );
    let types = [OID_ARRAY; 3];
    let rows =
        conn.query_again(&sql, &params, &types[..params.len()]).map_err(|e| query_error("read the schema", e))?;
    let mut out = BTreeMap::new();
    for r in 0..rows.len {
        let (Some(kind), Some(oid), Some(name)) = (rows.text(r, 0), rows.text(r, 1), rows.text(r, 2)) else { continue };
        let (Some(kind), Ok(oid)) = (kind.chars().next(), oid.parse()) else { continue };
        out.insert((kind, oid), name);
    }
    Ok(out)
}

/// Rows `(kind, oid)` as an [`Only`].
/// `params` are values of `types`, `sql` the same text whatever they are.
fn select(conn: &mut dyn Session, sql: &str, params: &[&str], types: &[u32]) -> Result<Only> {
    let sql = format!("SELECT kind::text, id::text FROM ({sql}) q(kind, id)");
    let rows = conn.query_again(&sql, params, types).map_err(|e| query_error("find what the migration changed", e))?;
    let mut out = Only::default();
    for r in 0..rows.len {
        let (Some(kind), Some(Ok(oid))) = (rows.text(r, 0), rows.text(r, 1).map(|s| s.parse::<u32>())) else {
            continue;
        };
        match kind.as_str() {
            "r" => out.relations.insert(oid),
            "p" => out.functions.insert(oid),
            "t" | "T" => out.types.insert(oid),
            _ => false,
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fake::Fake;
    use crate::db::pq::Rows;

    fn rows(r: &[(&str, &str, Option<&str>)]) -> Rows {
        Rows::owned(
            r.iter()
                .map(|(tag, name, n)| {
                    vec![
                        Some(tag.as_bytes().to_vec()),
                        Some(name.as_bytes().to_vec()),
                        n.map(|n| n.as_bytes().to_vec()),
                    ]
                })
                .collect(),
        )
    }

    #[test]
    fn only_the_writes_since_the_mark_count() {
        let mut conn = Fake::default()
            .answering("track_counts", |_| {
                Ok(rows(&[
                    ("c", "pg_aggregate", Some("3")),
                    ("c", "pg_operator", Some("1")),
                    ("c", "pg_class", Some("9")),
                    ("t", "public.kinds", None),
                ]))
            })
            .answering("SELECT 'c', c.c", |_| {
                Ok(rows(&[("c", "pg_aggregate", Some("3")), ("c", "pg_class", Some("4"))]))
            });
        let mut writes = Writes { catalogs: "{1,2}".into(), marked: BTreeMap::new() };
        writes.mark(&mut conn).unwrap();
        let w = writes.since_mark(&mut conn).unwrap();
        // The aggregate's 3 were an earlier transaction's, not yet flushed.
        assert_eq!(w.catalogs, ["pg_class", "pg_operator"].map(String::from).into_iter().collect());
        assert!(w.counted && w.any(&["pg_class"]) && !w.any(&["pg_aggregate"]));
        assert_eq!(w.unseen(), ["pg_operator", "public.kinds"]);
    }

    #[test]
    fn without_counts_anything_may_have_been_written() {
        let w = Written { counted: false, ..Written::default() };
        assert!(w.any(&["pg_namespace"]));
        assert_eq!(w.unseen(), ["track_counts"]);
        let w =
            Written { counted: true, catalogs: ["pg_class".to_string()].into_iter().collect(), ..Written::default() };
        assert!(w.unseen().is_empty(), "pg_class is compared");
    }
}
