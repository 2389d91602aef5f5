//! A schema as a set of comparable lines (`cargo migrate verify`): every
//! schema, relation, column, index, constraint, trigger, policy, row level
//! security switch, function, view, type, publication member and extension a
//! migration can create, outside PostgreSQL's own schemas, our bookkeeping,
//! and what extensions own. Two snapshots differ exactly where a down.sql
//! did not undo its up.sql.

use std::collections::BTreeSet;

use super::query_error;
use super::session::Session;
use crate::error::Result;

/// Namespaces that are never the migrations' business.
const USER_NAMESPACES: &str = "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname NOT IN \
    ('pg_catalog', 'information_schema', 'cargo_migrate', 'supabase_migrations') \
    AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'";

/// Not ours to compare: owned by an extension, or diesel's table.
fn not_extension_member(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = '{class}'::pg_catalog.regclass \
           AND d.objid = {oid} AND d.deptype = 'e')"
    )
}

fn snapshot_sql() -> String {
    let rel_ok = format!(
        "c.relnamespace IN ({USER_NAMESPACES}) AND c.relname <> '__diesel_schema_migrations' AND {}",
        not_extension_member("pg_class", "c.oid")
    );
    format!(
        "SELECT 'schema ' || pg_catalog.quote_ident(nspname) FROM pg_catalog.pg_namespace \
           WHERE oid IN ({USER_NAMESPACES}) \
         UNION ALL \
         SELECT 'extension ' || extname FROM pg_catalog.pg_extension \
         UNION ALL \
         SELECT CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view ' \
                  WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign table ' \
                  ELSE 'relation ' END || c.oid::pg_catalog.regclass::text \
                || CASE WHEN c.relkind IN ('v', 'm') \
                        THEN ' ' || pg_catalog.md5(pg_catalog.pg_get_viewdef(c.oid)) ELSE '' END \
           FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {rel_ok} \
         UNION ALL \
         SELECT 'column ' || c.oid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) || ' ' \
                || pg_catalog.format_type(a.atttypid, a.atttypmod) \
                || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END \
                || coalesce(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '') \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
           LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum \
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND {rel_ok} \
         UNION ALL \
         SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid) \
           FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid WHERE {rel_ok} \
         UNION ALL \
         SELECT 'constraint ' || con.conname || ' on ' || c.oid::pg_catalog.regclass::text || ' ' \
                || pg_catalog.pg_get_constraintdef(con.oid) \
           FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid WHERE {rel_ok} \
         UNION ALL \
         SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) \
           FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
          WHERE NOT t.tgisinternal AND {rel_ok} \
         UNION ALL \
         SELECT 'row level security on ' || c.oid::pg_catalog.regclass::text \
                || CASE WHEN c.relforcerowsecurity THEN ' (forced)' ELSE '' END \
           FROM pg_catalog.pg_class c WHERE c.relrowsecurity AND {rel_ok} \
         UNION ALL \
         SELECT 'policy ' || pg_catalog.quote_ident(p.policyname) || ' on ' || pg_catalog.quote_ident(p.schemaname) \
                || '.' || pg_catalog.quote_ident(p.tablename) || ' ' || p.cmd || ' to ' || p.roles::text \
                || coalesce(' using (' || p.qual || ')', '') || coalesce(' with check (' || p.with_check || ')', '') \
           FROM pg_catalog.pg_policies p \
          WHERE p.schemaname NOT IN ('cargo_migrate', 'supabase_migrations') \
            AND p.tablename <> '__diesel_schema_migrations' \
         UNION ALL \
         SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END \
                || p.oid::pg_catalog.regprocedure::text || ' ' || pg_catalog.md5(coalesce(p.prosrc, '')) \
                || CASE WHEN p.prosecdef THEN ' security definer' ELSE '' END \
           FROM pg_catalog.pg_proc p WHERE p.pronamespace IN ({USER_NAMESPACES}) AND {proc_ok} \
         UNION ALL \
         SELECT 'type ' || t.oid::pg_catalog.regtype::text || ' ' \
                || CASE t.typtype WHEN 'e' THEN 'enum (' || (SELECT pg_catalog.string_agg(e.enumlabel, ', ' \
                        ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) || ')' \
                   WHEN 'd' THEN 'domain over ' || pg_catalog.format_type(t.typbasetype, t.typtypmod) \
                   WHEN 'r' THEN 'range' ELSE 'composite' END \
           FROM pg_catalog.pg_type t \
          WHERE t.typnamespace IN ({USER_NAMESPACES}) AND t.typtype IN ('e', 'd', 'r', 'c') \
            AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c') \
            AND {type_ok} \
         UNION ALL \
         SELECT 'publication ' || pg_catalog.quote_ident(pubname) FROM pg_catalog.pg_publication \
         UNION ALL \
         SELECT 'publication ' || pg_catalog.quote_ident(pubname) || ' member ' || pg_catalog.quote_ident(schemaname) \
                || '.' || pg_catalog.quote_ident(tablename) FROM pg_catalog.pg_publication_tables",
        proc_ok = not_extension_member("pg_proc", "p.oid"),
        type_ok = not_extension_member("pg_type", "t.oid"),
    )
}

/// The schema as it is now.
pub fn snapshot(conn: &mut dyn Session) -> Result<BTreeSet<String>> {
    // With an empty search_path every name comes out schema-qualified.
    conn.execute("SET search_path = ''").map_err(|e| query_error("read the schema", e))?;
    let rows = conn.query(&snapshot_sql(), &[]).map_err(|e| query_error("read the schema", e));
    conn.execute("RESET search_path").map_err(|e| query_error("read the schema", e))?;
    let rows = rows?;
    Ok((0..rows.len).filter_map(|i| rows.text(i, 0)).collect())
}

/// Create a database as a copy of `template` (no session may use the template).
pub fn clone_database(admin: &mut dyn Session, name: &str, template: &str) -> Result<()> {
    admin
        .execute(&format!("CREATE DATABASE {} TEMPLATE {}", crate::sql::ident(name), crate::sql::ident(template)))
        .map_err(|e| query_error(&format!("create the scratch database {name}"), e))
}

/// A throwaway database's commits need not wait for the disk (its sessions
/// start with synchronous_commit off, and a session reset keeps it so).
pub fn relax_durability(admin: &mut dyn Session, name: &str) -> Result<()> {
    admin
        .execute(&format!("ALTER DATABASE {} SET synchronous_commit = off", crate::sql::ident(name)))
        .map_err(|e| query_error(&format!("set up the scratch database {name}"), e))
}

pub fn drop_database(admin: &mut dyn Session, name: &str) {
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", crate::sql::ident(name)));
}
