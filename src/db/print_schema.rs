//! What `print-schema` reads of one schema, as diesel_cli reads it: tables
//! and columns from `information_schema` (so the same privileges decide what
//! is seen), foreign keys from `pg_constraint`. One query per kind for the
//! whole schema, where diesel_cli asks several per table.

use super::query_error;
use super::session::Session;
use crate::error::Result;

/// One schema's tables, columns and keys, in the server's words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Base tables whose name does not start with `__`, in no given order.
    pub tables: Vec<String>,
    /// (table, column) of every primary key, in key order.
    pub primary_keys: Vec<(String, String)>,
    /// Every column of the schema's relations, by table, in the order asked.
    pub columns: Vec<Column>,
    /// Table comments (only when asked for).
    pub table_comments: Vec<(String, Option<String>)>,
    pub foreign_keys: Vec<ForeignKey>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    pub table: String,
    pub name: String,
    /// `udt_name`: `int4`, `_text` for an array, the base type of a domain.
    pub type_name: String,
    pub type_schema: Option<String>,
    pub domain_name: Option<String>,
    pub domain_schema: Option<String>,
    pub nullable: bool,
    pub max_length: Option<i32>,
    pub comment: Option<String>,
}

/// The foreign keys from one table to another of the same schema, merged
/// (as diesel_cli's query merges them): one column each when there is one
/// single-column key between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignKey {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub parent_schema: String,
    pub parent_table: String,
    pub parent_columns: Vec<String>,
}

const TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
    WHERE table_schema = $1 AND table_name NOT LIKE '\\_\\_%' AND table_type LIKE 'BASE TABLE'";

const PRIMARY_KEYS: &str = "SELECT k.table_name::text, k.column_name::text FROM information_schema.key_column_usage k \
    WHERE k.table_schema = $1 AND k.constraint_name IN \
      (SELECT t.constraint_name FROM information_schema.table_constraints t WHERE t.constraint_type = 'PRIMARY KEY') \
    ORDER BY k.table_name, k.ordinal_position";

fn columns_sql(by_name: bool, comments: bool) -> String {
    let comment = if comments {
        "pg_catalog.col_description((pg_catalog.quote_ident(c.table_schema) || '.' || \
         pg_catalog.quote_ident(c.table_name))::regclass, c.ordinal_position::int4)"
    } else {
        "NULL::text"
    };
    let order = if by_name { "c.column_name" } else { "c.ordinal_position" };
    format!(
        "SELECT c.table_name::text, c.column_name::text, c.udt_name::text, c.udt_schema::text, \
                c.domain_name::text, c.domain_schema::text, c.is_nullable::text = 'YES', \
                c.character_maximum_length::int4, {comment} \
           FROM information_schema.columns c WHERE c.table_schema = $1 ORDER BY c.table_name, {order}"
    )
}

const TABLE_COMMENTS: &str = "SELECT c.relname::text, pg_catalog.obj_description(c.oid, 'pg_class') \
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')";

/// Each constraint's columns paired by position with the referenced ones,
/// grouped by the two tables (as diesel_cli groups them).
const FOREIGN_KEYS: &str = "SELECT ns.nspname::text, t.relname::text, \
        pg_catalog.array_to_json(pg_catalog.array_agg(a.attname::text ORDER BY k.pos))::text, \
        fns.nspname::text, ft.relname::text, \
        pg_catalog.array_to_json(pg_catalog.array_agg(fa.attname::text ORDER BY k.pos))::text \
    FROM pg_catalog.pg_constraint con \
    LEFT JOIN LATERAL ROWS FROM (pg_catalog.unnest(con.conkey), pg_catalog.unnest(con.confkey)) WITH ORDINALITY AS k(attnum, fattnum, pos) ON true \
    JOIN pg_catalog.pg_class t ON t.oid = con.conrelid \
    JOIN pg_catalog.pg_namespace ns ON ns.oid = t.relnamespace \
    LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
    LEFT JOIN pg_catalog.pg_class ft ON ft.oid = con.confrelid \
    LEFT JOIN pg_catalog.pg_namespace fns ON fns.oid = ft.relnamespace \
    LEFT JOIN pg_catalog.pg_attribute fa ON fa.attrelid = ft.oid AND fa.attnum = k.fattnum \
    WHERE con.contype = 'f' AND ns.nspname = $1 AND fns.nspname = $1 \
    GROUP BY ns.nspname, t.relname, fns.nspname, ft.relname";

/// Read `schema`; column comments and table comments only when `comments`.
pub fn read(s: &mut dyn Session, schema: &str, columns_by_name: bool, comments: bool) -> Result<Catalog> {
    let q = |s: &mut dyn Session, what: &str, sql: &str| {
        s.query(sql, &[schema]).map_err(|e| query_error(&format!("read the {what} of schema {schema}"), e))
    };
    let rows = q(s, "tables", TABLES)?;
    let tables = (0..rows.len).filter_map(|r| rows.text(r, 0)).collect();
    let rows = q(s, "primary keys", PRIMARY_KEYS)?;
    let primary_keys = (0..rows.len).map(|r| (text(&rows, r, 0), text(&rows, r, 1))).collect();
    let rows = q(s, "columns", &columns_sql(columns_by_name, comments))?;
    let columns = (0..rows.len)
        .map(|r| Column {
            table: text(&rows, r, 0),
            name: text(&rows, r, 1),
            type_name: text(&rows, r, 2),
            type_schema: rows.text(r, 3),
            domain_name: rows.text(r, 4),
            domain_schema: rows.text(r, 5),
            nullable: rows.bool(r, 6).unwrap_or(true),
            max_length: rows.i32(r, 7),
            comment: rows.text(r, 8),
        })
        .collect();
    let table_comments = if comments {
        let rows = q(s, "table comments", TABLE_COMMENTS)?;
        (0..rows.len).map(|r| (text(&rows, r, 0), rows.text(r, 1))).collect()
    } else {
        Vec::new()
    };
    let rows = q(s, "foreign keys", FOREIGN_KEYS)?;
    let names = |r: usize, c: usize| -> Vec<String> {
        // NULL members (no such column) read as empty names, as diesel_cli's would not load at all.
        serde_json::from_str::<Vec<Option<String>>>(&text(&rows, r, c))
            .map(|v| v.into_iter().map(Option::unwrap_or_default).collect())
            .unwrap_or_default()
    };
    let foreign_keys = (0..rows.len)
        .map(|r| ForeignKey {
            schema: text(&rows, r, 0),
            table: text(&rows, r, 1),
            columns: names(r, 2),
            parent_schema: text(&rows, r, 3),
            parent_table: text(&rows, r, 4),
            parent_columns: names(r, 5),
        })
        .collect();
    Ok(Catalog { tables, primary_keys, columns, table_comments, foreign_keys })
}

fn text(rows: &super::session::Rows, r: usize, c: usize) -> String {
    rows.text(r, c).unwrap_or_default()
}
