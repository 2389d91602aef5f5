//! Reading a [`Catalog`] from `pg_catalog`: one query per object class, every
//! value as text, names quoted and qualified by PostgreSQL itself (the
//! session's `search_path` is emptied while it reads).

use std::collections::BTreeSet;

use super::*;
use crate::db::query_error;
use crate::db::session::{Rows, Session};
use crate::error::Result;

/// What to leave out besides PostgreSQL's own schemas and our bookkeeping.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Schemas another party manages (Supabase's `auth`, `storage`, …): their
    /// objects are left out, except the policies and triggers a project puts
    /// on their tables (whose functions are not in a managed schema).
    pub managed: Vec<String>,
}

/// Separators inside aggregated values (no name or expression holds them).
const RS: char = '\u{1e}';
const US: char = '\u{1f}';

pub(super) const BOOKKEEPING: &str = "'pg_catalog', 'information_schema', 'cargo_migrate', 'supabase_migrations'";

/// `nsp` (a namespace oid expression) is the migrations' business.
fn user_ns(nsp: &str) -> String {
    format!(
        "{nsp} IN (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname NOT IN ({BOOKKEEPING}) \
           AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')"
    )
}

/// `nsp` is a managed schema.
fn managed_ns(nsp: &str) -> String {
    format!("{nsp} IN (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY($1::text[]))")
}

fn not_member(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = '{class}'::pg_catalog.regclass \
           AND d.objid = {oid} AND d.deptype = 'e')"
    )
}

/// A relation `c` that is ours to read.
fn rel_ok(c: &str) -> String {
    format!(
        "{} AND {c}.relname <> '__diesel_schema_migrations' AND {}",
        user_ns(&format!("{c}.relnamespace")),
        not_member("pg_class", &format!("{c}.oid"))
    )
}

/// ` OPTIONS (name 'value', …)` of an options column, or nothing.
fn fdw_options(column: &str) -> String {
    format!(
        "COALESCE(' OPTIONS (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' \
            || pg_catalog.quote_literal(o.option_value), ', ') FROM pg_catalog.pg_options_to_table({column}) o) || ')', '')"
    )
}

/// The grants of an ACL column, the owner's defaults where it is NULL.
fn acl(column: &str, kind: char, owner: &str) -> String {
    format!(
        "(SELECT pg_catalog.string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' \
            ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END \
            || chr(31) || a.privilege_type || chr(31) || a.is_grantable::text, chr(30)) \
          FROM pg_catalog.aclexplode(CASE WHEN {column} IS NULL THEN pg_catalog.acldefault('{kind}', {owner}) \
            WHEN pg_catalog.cardinality({column}) > 0 THEN {column} END) a)"
    )
}

fn owner(column: &str) -> String {
    format!("pg_catalog.quote_ident(pg_catalog.pg_get_userbyid({column}))")
}

/// The comment on object `oid` of catalog `catalog` (`objsubid` 0 for the
/// object itself, a column's number for a column), as `obj_description` and
/// `col_description` give it. Written out rather than called: those are SQL
/// functions, whose body the server plans again at every execution of the
/// statement that calls them (before PostgreSQL 18), which cost verify's
/// reads more than the rest of their planning.
fn comment(oid: &str, catalog: &str, objsubid: &str) -> String {
    format!(
        "(SELECT dc.description FROM pg_catalog.pg_description dc WHERE dc.objoid = {oid} \
           AND dc.classoid = 'pg_catalog.{catalog}'::pg_catalog.regclass AND dc.objsubid = {objsubid})"
    )
}

/// Read the catalog of the database `conn` is connected to.
pub fn read(conn: &mut dyn Session, options: &Options) -> Result<Catalog> {
    unqualified(conn, |conn| {
        let mut r = Reader { conn, managed: array_literal(&options.managed), only: None, sections: Sections::ALL };
        let mut cat = read_all(&mut r)?;
        cat.depends = dependencies(&mut r)?;
        // What pg_depend does not say: a partition and a child need their parents.
        let mut implied = BTreeSet::new();
        for (name, t) in &cat.tables {
            for parent in t.partition_of.iter().map(|(p, _)| p).chain(&t.inherits) {
                implied.insert((key("table", name), key("table", parent)));
            }
        }
        cat.depends.extend(implied);
        Ok(cat)
    })
}

/// The objects of the catalog without `depends` (what [`Catalog::lines`]
/// shows), all of them or `only` those: the relations, functions and types
/// named by oid with what hangs on them (a table's columns, constraints,
/// indexes, triggers and policies), and every schema, extension,
/// publication, event trigger and default privilege (few, read whole).
pub fn read_objects(conn: &mut dyn Session, options: &Options, only: Option<&Only>) -> Result<Catalog> {
    unqualified(conn, |conn| read_objects_as_is(conn, options, only, Sections::ALL))
}

/// [`read_objects`] on a session whose `search_path` the caller has emptied,
/// of the whole sections only `sections` (the others left empty).
pub(super) fn read_objects_as_is(
    conn: &mut dyn Session,
    options: &Options,
    only: Option<&Only>,
    sections: Sections,
) -> Result<Catalog> {
    read_all(&mut Reader { conn, managed: array_literal(&options.managed), only, sections })
}

/// `f` with an empty search_path, so that every name comes out schema-qualified.
pub(super) fn unqualified<T>(conn: &mut dyn Session, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
    let fail = |e| query_error("read the schema", e);
    // Queries, not scripts: a script would make a session that keeps
    // prepared statements ask whether they are still there.
    conn.query("SET search_path = ''", &[]).map_err(fail)?;
    let out = f(conn);
    conn.query("RESET search_path", &[]).map_err(fail)?;
    out
}

/// A class of objects [`Only`] holds, as the number of the reader's
/// parameter that carries its oids ($1 is the managed schemas).
#[derive(Clone, Copy)]
enum Class {
    Relations = 2,
    Functions = 3,
    Types = 4,
}

impl Class {
    fn of(self, o: &Only) -> &BTreeSet<u32> {
        match self {
            Class::Relations => &o.relations,
            Class::Functions => &o.functions,
            Class::Types => &o.types,
        }
    }
}

struct Reader<'a> {
    conn: &'a mut dyn Session,
    managed: String,
    only: Option<&'a Only>,
    /// The whole sections to read.
    sections: Sections,
}

impl Reader<'_> {
    /// `AND column = ANY(the oids of that class)` when reading only some,
    /// and whether there is anything to read of the class at all. The oids
    /// are a parameter: the query's text is the same whatever is read, and
    /// planned once on a session that keeps prepared statements.
    fn only(&self, class: Class, column: &str) -> Option<String> {
        match self.only {
            None => Some(String::new()),
            Some(o) if class.of(o).is_empty() => None,
            // A join with the few oids (an index lookup each), not a filter on every row.
            Some(_) => {
                Some(format!(" AND {column} IN (SELECT pg_catalog.unnest(${}::pg_catalog.oid[]))", class as usize))
            }
        }
    }

    /// [`Reader::only`] for the relations, `alias` the relation's `pg_class` row.
    fn rels(&self, alias: &str) -> Option<String> {
        self.only(Class::Relations, &format!("{alias}.oid"))
    }

    /// The rows of a whole section's query, none when it is not to be read.
    fn whole(&mut self, section: Sections, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        if self.sections.has(section) {
            self.rows(sql)
        } else {
            Ok(Vec::new())
        }
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        // $1 the managed schemas, $2–$4 the relations, functions and types to read.
        let oids = |class: Class| self.only.map_or_else(|| "{}".to_string(), |o| crate::db::oids::array(class.of(o)));
        let (rels, funcs, types) = (oids(Class::Relations), oids(Class::Functions), oids(Class::Types));
        let params = [self.managed.as_str(), &rels, &funcs, &types];
        let rows: Rows = self
            .conn
            .query_again(sql, &params, &[TEXT_ARRAY, OID_ARRAY, OID_ARRAY, OID_ARRAY])
            .map_err(|e| query_error("read the schema", e))?;
        let width = sql_width(sql);
        Ok((0..rows.len).map(|r| (0..width).map(|c| rows.text(r, c)).collect()).collect())
    }
}

/// The number of columns a query selects: its `/*N*/` marker.
fn sql_width(sql: &str) -> usize {
    sql.strip_prefix("/*").and_then(|s| s.split("*/").next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn text(row: &[Option<String>], i: usize) -> String {
    row[i].clone().unwrap_or_default()
}
fn opt(row: &[Option<String>], i: usize) -> Option<String> {
    row[i].clone().filter(|s| !s.is_empty())
}
fn flag(row: &[Option<String>], i: usize) -> bool {
    matches!(row[i].as_deref(), Some("true") | Some("t"))
}
fn list(row: &[Option<String>], i: usize) -> Vec<String> {
    row[i].as_deref().filter(|s| !s.is_empty()).map(|s| s.split(RS).map(str::to_owned).collect()).unwrap_or_default()
}
fn number(row: &[Option<String>], i: usize) -> i64 {
    row[i].as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
}
fn grants(row: &[Option<String>], i: usize) -> Acl {
    list(row, i)
        .iter()
        .filter_map(|g| {
            let mut p = g.split(US);
            Some(Grant {
                grantee: p.next()?.to_owned(),
                privilege: p.next()?.to_owned(),
                grantable: p.next()? == "true",
            })
        })
        .collect()
}

/// A text[] literal of names.
fn array_literal(names: &[String]) -> String {
    let quoted: Vec<String> =
        names.iter().map(|n| format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", quoted.join(","))
}

/// The types of the reader's parameters: `text[]` and `oid[]`.
pub(super) const TEXT_ARRAY: u32 = 1009;
pub(super) const OID_ARRAY: u32 = 1028;

fn read_all(r: &mut Reader) -> Result<Catalog> {
    let mut cat = Catalog::default();

    for row in r.whole(
        Sections::SCHEMAS,
        &format!(
            "/*4*/SELECT pg_catalog.quote_ident(n.nspname), {}, {comment}, {} \
           FROM pg_catalog.pg_namespace n WHERE {} AND {}",
            owner("n.nspowner"),
            acl("n.nspacl", 'n', "n.nspowner"),
            user_ns("n.oid"),
            not_member("pg_namespace", "n.oid"),
            comment = comment("n.oid", "pg_namespace", "0")
        ),
    )? {
        cat.schemas.insert(text(&row, 0), Schema { owner: text(&row, 1), comment: opt(&row, 2), acl: grants(&row, 3) });
    }

    for row in r.whole(
        Sections::EXTENSIONS,
        &format!(
            "/*4*/SELECT pg_catalog.quote_ident(e.extname), pg_catalog.quote_ident(n.nspname), e.extversion, {} \
           FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace",
            comment("e.oid", "pg_extension", "0")
        ),
    )? {
        cat.extensions
            .insert(text(&row, 0), Extension { schema: text(&row, 1), version: text(&row, 2), comment: opt(&row, 3) });
    }

    let types = r.only(Class::Types, "t.oid");
    for row in types.map(|only| r.rows(&format!(
        "/*10*/SELECT t.oid::pg_catalog.regtype::text, t.typtype::text, \
            (SELECT pg_catalog.string_agg(e.enumlabel, chr(30) ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e \
              WHERE e.enumtypid = t.oid), \
            (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || chr(31) \
                    || pg_catalog.format_type(a.atttypid, a.atttypmod), chr(30) ORDER BY a.attnum) \
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
            pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull::text, t.typdefault, \
            (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c.conname) || chr(31) \
                    || pg_catalog.pg_get_constraintdef(c.oid), chr(30)) \
               FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid), \
            {}, {comment} \
           FROM pg_catalog.pg_type t \
          WHERE {} AND t.typtype IN ('e', 'c', 'd') AND {} \
            AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'){only}",
        owner("t.typowner"),
        user_ns("t.typnamespace"),
        not_member("pg_type", "t.oid"),
        comment = comment("t.oid", "pg_type", "0")
    ))).transpose()?.unwrap_or_default() {
        let kind = match text(&row, 1).as_str() {
            "e" => TypeKind::Enum(list(&row, 2)),
            "c" => TypeKind::Composite(
                list(&row, 3)
                    .iter()
                    .map(|a| {
                        let (n, t) = a.split_once(US).unwrap_or((a, ""));
                        (n.to_owned(), t.to_owned())
                    })
                    .collect(),
            ),
            _ => TypeKind::Domain {
                base: text(&row, 4),
                not_null: flag(&row, 5),
                default: opt(&row, 6),
                checks: list(&row, 7)
                    .iter()
                    .map(|a| {
                        let (n, t) = a.split_once(US).unwrap_or((a, ""));
                        (n.to_owned(), t.to_owned())
                    })
                    .collect(),
            },
        };
        cat.types.insert(text(&row, 0), Type { kind, owner: text(&row, 8), comment: opt(&row, 9) });
    }

    for row in r.rels("c").map(|only| r.rows(&format!(
        "/*12*/SELECT c.oid::pg_catalog.regclass::text, pg_catalog.format_type(s.seqtypid, NULL), \
            s.seqstart::text, s.seqincrement::text, s.seqmin::text, s.seqmax::text, s.seqcache::text, s.seqcycle::text, \
            (SELECT d.refobjid::pg_catalog.regclass::text || chr(31) || pg_catalog.quote_ident(a.attname) \
               FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a \
                 ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
              WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid \
                AND d.deptype = 'a' AND d.refobjsubid > 0 LIMIT 1), \
            {}, {comment}, {} \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid \
          WHERE c.relkind = 'S' AND {} AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d \
                WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'i'){only}",
        owner("c.relowner"),
        acl("c.relacl", 's', "c.relowner"),
        rel_ok("c"),
        comment = comment("c.oid", "pg_class", "0")
    ))).transpose()?.unwrap_or_default() {
        let owned_by = opt(&row, 8).map(|o| {
            let (t, c) = o.split_once(US).unwrap_or((&o, ""));
            (t.to_owned(), c.to_owned())
        });
        cat.sequences.insert(
            text(&row, 0),
            Sequence {
                data_type: text(&row, 1),
                start: number(&row, 2),
                increment: number(&row, 3),
                min: number(&row, 4),
                max: number(&row, 5),
                cache: number(&row, 6),
                cycle: flag(&row, 7),
                owned_by,
                owner: text(&row, 9),
                comment: opt(&row, 10),
                acl: grants(&row, 11),
            },
        );
    }

    for row in r.rels("c").map(|only| r.rows(&format!(
        "/*12*/SELECT c.oid::pg_catalog.regclass::text, c.relpersistence::text, \
            CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, \
            CASE WHEN c.relispartition THEN (SELECT i.inhparent::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i \
              WHERE i.inhrelid = c.oid) END, \
            CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END, \
            CASE WHEN NOT c.relispartition THEN (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, \
              chr(30) ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) END, \
            c.relrowsecurity::text, c.relforcerowsecurity::text, pg_catalog.array_to_string(c.reloptions, chr(30)), \
            {}, {comment}, {} \
           FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p') AND {}{only}",
        owner("c.relowner"),
        acl("c.relacl", 'r', "c.relowner"),
        rel_ok("c"),
        comment = comment("c.oid", "pg_class", "0")
    ))).transpose()?.unwrap_or_default() {
        let partition_of = opt(&row, 3).map(|p| (p, text(&row, 4)));
        cat.tables.insert(
            text(&row, 0),
            Table {
                persistence: text(&row, 1).chars().next().unwrap_or('p'),
                partition_by: opt(&row, 2),
                partition_of,
                inherits: list(&row, 5),
                columns: Vec::new(),
                rls: flag(&row, 6),
                force_rls: flag(&row, 7),
                options: list(&row, 8),
                owner: text(&row, 9),
                comment: opt(&row, 10),
                acl: grants(&row, 11),
            },
        );
    }

    for row in r
        .rels("c")
        .map(|only| {
            r.rows(&format!(
                "/*12*/SELECT c.oid::pg_catalog.regclass::text, pg_catalog.quote_ident(a.attname), \
            pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull::text, \
            CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END, \
            NULLIF(a.attidentity::text, ''), \
            CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END, \
            CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::pg_catalog.regcollation::text END, \
            CASE WHEN a.attstorage <> t.typstorage THEN CASE a.attstorage WHEN 'p' THEN 'plain' \
              WHEN 'e' THEN 'external' WHEN 'm' THEN 'main' ELSE 'extended' END END, \
            a.attislocal::text, {comment}, \
            (SELECT pg_catalog.string_agg(CASE WHEN g.grantee = 0 THEN 'PUBLIC' \
                ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END \
                || chr(31) || g.privilege_type || chr(31) || g.is_grantable::text, chr(30)) \
               FROM pg_catalog.aclexplode(CASE WHEN pg_catalog.cardinality(a.attacl) > 0 THEN a.attacl END) g) \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
           JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
           LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum \
          WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {}{only} \
          ORDER BY c.oid, a.attnum",
                rel_ok("c"),
                comment = comment("c.oid", "pg_class", "a.attnum")
            ))
        })
        .transpose()?
        .unwrap_or_default()
    {
        let Some(table) = cat.tables.get_mut(&text(&row, 0)) else { continue };
        table.columns.push(Column {
            name: text(&row, 1),
            data_type: text(&row, 2),
            not_null: flag(&row, 3),
            default: opt(&row, 4),
            identity: opt(&row, 5).and_then(|s| s.chars().next()),
            generated: opt(&row, 6),
            collation: opt(&row, 7),
            storage: opt(&row, 8),
            local: flag(&row, 9),
            comment: opt(&row, 10),
            acl: grants(&row, 11),
        });
    }

    for row in r
        .rels("c")
        .map(|only| {
            r.rows(&format!(
        "/*7*/SELECT c.oid::pg_catalog.regclass::text, (c.relkind = 'm')::text, pg_catalog.pg_get_viewdef(c.oid), \
            pg_catalog.array_to_string(c.reloptions, chr(30)), \
            (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || chr(31) \
                    || pg_catalog.format_type(a.atttypid, a.atttypmod), chr(30) ORDER BY a.attnum) \
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), \
            {}, {comment} \
           FROM pg_catalog.pg_class c WHERE c.relkind IN ('v', 'm') AND {}{only}",
        owner("c.relowner"),
        rel_ok("c"),
        comment = comment("c.oid", "pg_class", "0")
    ))
        })
        .transpose()?
        .unwrap_or_default()
    {
        let columns = list(&row, 4)
            .iter()
            .map(|a| {
                let (n, t) = a.split_once(US).unwrap_or((a, ""));
                (n.to_owned(), t.to_owned())
            })
            .collect();
        cat.views.insert(
            text(&row, 0),
            View {
                materialized: flag(&row, 1),
                definition: text(&row, 2),
                options: list(&row, 3),
                columns,
                owner: text(&row, 5),
                comment: opt(&row, 6),
                acl: Acl::new(),
            },
        );
    }
    // Views' grants apart: acldefault's kind is the same as tables'.
    for row in r
        .rels("c")
        .map(|only| {
            r.rows(&format!(
                "/*2*/SELECT c.oid::pg_catalog.regclass::text, {} FROM pg_catalog.pg_class c \
          WHERE c.relkind IN ('v', 'm') AND {}{only}",
                acl("c.relacl", 'r', "c.relowner"),
                rel_ok("c")
            ))
        })
        .transpose()?
        .unwrap_or_default()
    {
        if let Some(v) = cat.views.get_mut(&text(&row, 0)) {
            v.acl = grants(&row, 1);
        }
    }

    let functions = r.only(Class::Functions, "p.oid");
    for row in functions.clone().map(|only| r.rows(&format!(
        "/*7*/SELECT p.oid::pg_catalog.regprocedure::text, (p.prokind = 'p')::text, pg_catalog.pg_get_functiondef(p.oid), \
            pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_result(p.oid), \
            {}, {comment} \
           FROM pg_catalog.pg_proc p WHERE p.prokind IN ('f', 'p', 'w') AND {} AND {}{only}",
        owner("p.proowner"),
        user_ns("p.pronamespace"),
        not_member("pg_proc", "p.oid"),
        comment = comment("p.oid", "pg_proc", "0")
    ))).transpose()?.unwrap_or_default() {
        cat.functions.insert(
            text(&row, 0),
            Function {
                procedure: flag(&row, 1),
                definition: text(&row, 2),
                arguments: text(&row, 3),
                result: opt(&row, 4),
                owner: text(&row, 5),
                comment: opt(&row, 6),
                acl: Acl::new(),
            },
        );
    }
    for row in functions
        .map(|only| {
            r.rows(&format!(
                "/*2*/SELECT p.oid::pg_catalog.regprocedure::text, {} FROM pg_catalog.pg_proc p \
          WHERE p.prokind IN ('f', 'p', 'w') AND {}{only}",
                acl("p.proacl", 'f', "p.proowner"),
                user_ns("p.pronamespace")
            ))
        })
        .transpose()?
        .unwrap_or_default()
    {
        if let Some(f) = cat.functions.get_mut(&text(&row, 0)) {
            f.acl = grants(&row, 1);
        }
    }

    for row in r
        .rels("r")
        .map(|only| {
            r.rows(&format!(
        "/*5*/SELECT c.conrelid::pg_catalog.regclass::text, pg_catalog.quote_ident(c.conname), c.contype::text, \
            pg_catalog.pg_get_constraintdef(c.oid), {comment} \
           FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid \
          WHERE c.contype IN ('p', 'u', 'f', 'c', 'x') AND c.conparentid = 0 AND c.conislocal AND {}{only}",
        rel_ok("r"),
        comment = comment("c.oid", "pg_constraint", "0")
    ))
        })
        .transpose()?
        .unwrap_or_default()
    {
        let (table, name) = (text(&row, 0), text(&row, 1));
        cat.constraints.insert(
            format!("{name} on {table}"),
            Constraint {
                table,
                name,
                kind: text(&row, 2).chars().next().unwrap_or('c'),
                definition: text(&row, 3),
                comment: opt(&row, 4),
            },
        );
    }

    for row in r
        .rels("r")
        .map(|only| {
            r.rows(&format!(
                "/*4*/SELECT i.indexrelid::pg_catalog.regclass::text, i.indrelid::pg_catalog.regclass::text, \
            pg_catalog.pg_get_indexdef(i.indexrelid), {comment} \
           FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class r ON r.oid = i.indrelid \
          WHERE {} AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid \
                AND c.contype IN ('p', 'u', 'x') AND c.conrelid = i.indrelid) \
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid){only}",
                rel_ok("r"),
                comment = comment("i.indexrelid", "pg_class", "0")
            ))
        })
        .transpose()?
        .unwrap_or_default()
    {
        cat.indexes
            .insert(text(&row, 0), Index { table: text(&row, 1), definition: text(&row, 2), comment: opt(&row, 3) });
    }

    // On a managed schema's table, the project's triggers and policies count.
    let project_table = |r: &str| format!("({} OR {})", rel_ok(r), managed_table(r));
    if let Some(only) = r.rels("r") {
        triggers(r, &mut cat, &format!("{}{only}", project_table("r")))?;
        policies(r, &mut cat, &format!("{}{only}", project_table("r")))?;
    }

    for row in r.whole(Sections::PUBLICATIONS, &format!(
        "/*5*/SELECT pg_catalog.quote_ident(p.pubname), p.puballtables::text, \
            pg_catalog.concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END, \
              CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END), \
            (SELECT pg_catalog.string_agg(m.prrelid::pg_catalog.regclass::text, chr(30)) \
               FROM pg_catalog.pg_publication_rel m JOIN pg_catalog.pg_class r ON r.oid = m.prrelid \
              WHERE m.prpubid = p.oid AND {}), {} \
           FROM pg_catalog.pg_publication p",
        rel_ok("r"),
        owner("p.pubowner")
    ))? {
        cat.publications.insert(
            text(&row, 0),
            Publication {
                all_tables: flag(&row, 1),
                actions: text(&row, 2),
                tables: list(&row, 3).into_iter().collect(),
                owner: text(&row, 4),
            },
        );
    }

    for row in r.whole(
        Sections::EVENT_TRIGGERS,
        &format!(
            "/*6*/SELECT pg_catalog.quote_ident(e.evtname), e.evtevent, e.evtfoid::pg_catalog.regprocedure::text, \
            pg_catalog.array_to_string(e.evttags, chr(30)), e.evtenabled::text, {} \
           FROM pg_catalog.pg_event_trigger e WHERE {}",
            owner("e.evtowner"),
            not_member("pg_event_trigger", "e.oid")
        ),
    )? {
        cat.event_triggers.insert(
            text(&row, 0),
            EventTrigger {
                event: text(&row, 1),
                function: text(&row, 2),
                tags: list(&row, 3),
                enabled: text(&row, 4).chars().next().unwrap_or('O'),
                owner: text(&row, 5),
            },
        );
    }

    for row in r.whole(Sections::DEFAULT_PRIVILEGES, &format!(
        "/*6*/SELECT {}, CASE WHEN d.defaclnamespace = 0 THEN NULL ELSE pg_catalog.quote_ident(n.nspname) END, \
            CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS' \
              WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END, \
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, \
            a.privilege_type, a.is_grantable::text \
           FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace \
           CROSS JOIN LATERAL pg_catalog.aclexplode(CASE WHEN pg_catalog.cardinality(d.defaclacl) > 0 THEN d.defaclacl END) a \
          WHERE d.defaclnamespace = 0 OR {}",
        owner("d.defaclrole"),
        user_ns("d.defaclnamespace")
    ))? {
        cat.default_privileges.insert(DefaultPrivilege {
            role: text(&row, 0),
            schema: opt(&row, 1),
            objects: text(&row, 2),
            grant: Grant { grantee: text(&row, 3), privilege: text(&row, 4), grantable: flag(&row, 5) },
        });
    }

    // Foreign-data wrappers, servers and foreign tables, each as the statement that makes it.
    for row in r.whole(Sections::FOREIGN, &format!(
        "/*5*/SELECT 'FOREIGN DATA WRAPPER', pg_catalog.quote_ident(w.fdwname), \
            'CREATE FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(w.fdwname) \
              || CASE WHEN w.fdwhandler <> 0 THEN ' HANDLER ' || w.fdwhandler::pg_catalog.regproc::text ELSE '' END \
              || CASE WHEN w.fdwvalidator <> 0 THEN ' VALIDATOR ' || w.fdwvalidator::pg_catalog.regproc::text ELSE '' END \
              || {}, {}, {} \
           FROM pg_catalog.pg_foreign_data_wrapper w WHERE {} \
         UNION ALL \
         SELECT 'SERVER', pg_catalog.quote_ident(s.srvname), \
            'CREATE SERVER ' || pg_catalog.quote_ident(s.srvname) \
              || COALESCE(' TYPE ' || pg_catalog.quote_literal(s.srvtype), '') \
              || COALESCE(' VERSION ' || pg_catalog.quote_literal(s.srvversion), '') \
              || ' FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(w.fdwname) || {}, {}, {} \
           FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE {} \
         UNION ALL \
         SELECT 'FOREIGN TABLE', c.oid::pg_catalog.regclass::text, \
            'CREATE FOREIGN TABLE ' || c.oid::pg_catalog.regclass::text || ' (' \
              || COALESCE((SELECT pg_catalog.string_agg(E'\\n    ' || pg_catalog.quote_ident(a.attname) || ' ' \
                     || pg_catalog.format_type(a.atttypid, a.atttypmod) || {} \
                     || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END \
                     || COALESCE(' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''), ',' ORDER BY a.attnum) \
                   FROM pg_catalog.pg_attribute a \
                   LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') \
              || E'\\n) SERVER ' || pg_catalog.quote_ident(s.srvname) || {}, {}, {} \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_foreign_table f ON f.ftrelid = c.oid \
           JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE c.relkind = 'f' AND {}",
        fdw_options("w.fdwoptions"),
        owner("w.fdwowner"),
        acl("w.fdwacl", 'F', "w.fdwowner"),
        not_member("pg_foreign_data_wrapper", "w.oid"),
        fdw_options("s.srvoptions"),
        owner("s.srvowner"),
        acl("s.srvacl", 'S', "s.srvowner"),
        not_member("pg_foreign_server", "s.oid"),
        fdw_options("a.attfdwoptions"),
        fdw_options("f.ftoptions"),
        owner("c.relowner"),
        acl("c.relacl", 'r', "c.relowner"),
        rel_ok("c")
    ))? {
        let (class, name) = (text(&row, 0), text(&row, 1));
        cat.foreign.insert(
            format!("{class} {name}"),
            Foreign { class, name, definition: text(&row, 2), owner: text(&row, 3), acl: grants(&row, 4) },
        );
    }

    for row in r.whole(
        Sections::STATISTICS,
        &format!(
            "/*2*/SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(s.stxname), \
            pg_catalog.pg_get_statisticsobjdef(s.oid) \
           FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace WHERE {} AND {}",
            user_ns("s.stxnamespace"),
            not_member("pg_statistic_ext", "s.oid")
        ),
    )? {
        cat.statistics.insert(text(&row, 0), text(&row, 1));
    }

    Ok(cat)
}

/// A table `r` of a managed schema (its own bookkeeping table aside).
fn managed_table(r: &str) -> String {
    format!("({} AND {r}.relname NOT IN ('schema_migrations'))", managed_ns(&format!("{r}.relnamespace")))
}

/// The triggers on the tables `r` for which `tables` holds, but those calling a managed schema's function.
fn triggers(r: &mut Reader, cat: &mut Catalog, tables: &str) -> Result<()> {
    for row in r.rows(&format!(
        "/*5*/SELECT t.tgrelid::pg_catalog.regclass::text, pg_catalog.quote_ident(t.tgname), \
            pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled::text, {comment} \
           FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class r ON r.oid = t.tgrelid \
           JOIN pg_catalog.pg_proc f ON f.oid = t.tgfoid \
          WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {} \
            AND NOT {}",
        tables,
        managed_ns("f.pronamespace"),
        comment = comment("t.oid", "pg_trigger", "0")
    ))? {
        let (table, name) = (text(&row, 0), text(&row, 1));
        cat.triggers.insert(
            format!("{name} on {table}"),
            Trigger {
                table,
                name,
                definition: text(&row, 2),
                enabled: text(&row, 3).chars().next().unwrap_or('O'),
                comment: opt(&row, 4),
            },
        );
    }
    Ok(())
}

/// The policies on the tables `r` for which `tables` holds.
fn policies(r: &mut Reader, cat: &mut Catalog, tables: &str) -> Result<()> {
    for row in r.rows(&format!(
        "/*8*/SELECT p.polrelid::pg_catalog.regclass::text, pg_catalog.quote_ident(p.polname), p.polpermissive::text, \
            CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
              WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, \
            (SELECT pg_catalog.string_agg(x.name, chr(30) ORDER BY x.name) FROM (SELECT CASE WHEN o = 0 THEN 'public' \
               ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(o)) END AS name \
               FROM pg_catalog.unnest(p.polroles) o) x), \
            pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), \
            {comment} \
           FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class r ON r.oid = p.polrelid WHERE {}",
        tables,
        comment = comment("p.oid", "pg_policy", "0")
    ))? {
        let (table, name) = (text(&row, 0), text(&row, 1));
        cat.policies.insert(
            format!("{name} on {table}"),
            Policy {
                table,
                name,
                permissive: flag(&row, 2),
                command: text(&row, 3),
                roles: list(&row, 4),
                using: opt(&row, 5),
                with_check: opt(&row, 6),
                comment: opt(&row, 7),
            },
        );
    }
    Ok(())
}

/// Only what a project put on the managed schemas' tables: its policies and
/// its triggers (those calling a function outside them). `dump` leaves those
/// schemas to pg_dump's `--exclude-schema` and takes these from here.
pub fn read_managed_additions(conn: &mut dyn Session, options: &Options) -> Result<Catalog> {
    let fail = |e| query_error("read the schema", e);
    conn.execute("SET search_path = ''").map_err(fail)?;
    let mut cat = Catalog::default();
    let read = {
        let mut r =
            Reader { conn: &mut *conn, managed: array_literal(&options.managed), only: None, sections: Sections::ALL };
        triggers(&mut r, &mut cat, &managed_table("r")).and_then(|()| policies(&mut r, &mut cat, &managed_table("r")))
    };
    conn.execute("RESET search_path").map_err(fail)?;
    read.map(|()| cat)
}

/// `pg_depend` between the objects the catalog holds, as `(dependent,
/// referenced)` keys. A column default or a view's rule counts as its
/// relation; an array type as its element type.
/// A sequence's `OWNED BY` (an automatic dependency on its column) is left
/// out: the sequence comes before the table whose default uses it, and
/// `OWNED BY` is a statement of its own after both (the edge made a cycle,
/// which let SQL functions reading the table go first).
fn dependencies(r: &mut Reader) -> Result<BTreeSet<(String, String)>> {
    let rels = format!(
        "SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid, \
            CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'view ' \
              WHEN 'S' THEN 'sequence ' WHEN 'i' THEN 'index ' WHEN 'I' THEN 'index ' WHEN 'c' THEN 'type ' END \
              || CASE WHEN c.relkind = 'c' THEN c.reltype::pg_catalog.regtype::text ELSE c.oid::pg_catalog.regclass::text END AS key0, \
            (SELECT 'constraint ' || pg_catalog.quote_ident(k.conname) || ' on ' || k.conrelid::pg_catalog.regclass::text \
               FROM pg_catalog.pg_constraint k WHERE c.relkind IN ('i', 'I') AND k.conindid = c.oid \
                AND k.contype IN ('p', 'u', 'x') LIMIT 1) AS conkey \
           FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'c') AND {}",
        user_ns("c.relnamespace")
    );
    let objects = format!(
        "WITH rels0 AS ({rels}), rels AS (SELECT classid, objid, coalesce(conkey, key0) AS key FROM rels0), objs AS ( \
           SELECT * FROM rels \
           UNION ALL SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, w.oid, r.key FROM pg_catalog.pg_rewrite w \
             JOIN rels r ON r.objid = w.ev_class \
           UNION ALL SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, a.oid, r.key FROM pg_catalog.pg_attrdef a \
             JOIN rels r ON r.objid = a.adrelid \
           UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 'function ' || p.oid::pg_catalog.regprocedure::text \
             FROM pg_catalog.pg_proc p WHERE {} \
           UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, \
               CASE WHEN b.typrelid <> 0 THEN (SELECT r.key FROM rels r WHERE r.objid = b.typrelid) \
                    ELSE 'type ' || b.oid::pg_catalog.regtype::text END \
             FROM pg_catalog.pg_type t JOIN pg_catalog.pg_type b \
               ON b.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END \
            WHERE {} AND b.typtype IN ('e', 'c', 'd') \
           UNION ALL SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid, \
               'constraint ' || pg_catalog.quote_ident(c.conname) || ' on ' || c.conrelid::pg_catalog.regclass::text \
             FROM pg_catalog.pg_constraint c WHERE c.conrelid <> 0 AND {} \
           UNION ALL SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, t.oid, \
               'trigger ' || pg_catalog.quote_ident(t.tgname) || ' on ' || t.tgrelid::pg_catalog.regclass::text \
             FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal \
           UNION ALL SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, p.oid, \
               'policy ' || pg_catalog.quote_ident(p.polname) || ' on ' || p.polrelid::pg_catalog.regclass::text \
             FROM pg_catalog.pg_policy p \
           UNION ALL SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass, e.oid, 'extension ' || pg_catalog.quote_ident(e.extname) \
             FROM pg_catalog.pg_extension e) \
         SELECT DISTINCT a.key, b.key FROM pg_catalog.pg_depend d \
           JOIN objs a ON a.classid = d.classid AND a.objid = d.objid \
           JOIN objs b ON b.classid = d.refclassid AND b.objid = d.refobjid \
          WHERE d.deptype IN ('n', 'a') AND a.key IS NOT NULL AND b.key IS NOT NULL AND a.key <> b.key \
            AND NOT (d.deptype = 'a' AND d.refobjsubid > 0 AND a.key LIKE 'sequence %')",
        user_ns("p.pronamespace"),
        user_ns("t.typnamespace"),
        user_ns("c.connamespace"),
    );
    let rows = r.rows(&format!("/*2*/{objects}"))?;
    Ok(rows.iter().map(|row| (text(row, 0), text(row, 1))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_schemas_become_an_array_literal() {
        assert_eq!(array_literal(&["auth".into(), "a\"b".into()]), "{\"auth\",\"a\\\"b\"}");
        assert_eq!(array_literal(&[]), "{}");
    }

    #[test]
    fn width_comes_from_the_marker() {
        assert_eq!(sql_width("/*12*/SELECT"), 12);
    }

    #[test]
    fn grants_are_parsed() {
        let row = vec![Some(format!("anon{US}SELECT{US}false{RS}PUBLIC{US}USAGE{US}true"))];
        let g = grants(&row, 0);
        assert!(g.contains(&Grant { grantee: "anon".into(), privilege: "SELECT".into(), grantable: false }));
        assert!(g.contains(&Grant { grantee: "PUBLIC".into(), privilege: "USAGE".into(), grantable: true }));
    }
}
