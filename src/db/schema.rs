//! Scratch databases (made, copied, dropped) and the schema snapshot
//! `verify` compares (read by `catalog`).

use super::query_error;
use super::session::Session;
use crate::error::Result;

/// The schema as comparable lines, one per object and property (`verify`
/// compares two): the one catalog reader's model, flattened.
pub fn snapshot(conn: &mut dyn Session) -> Result<std::collections::BTreeSet<String>> {
    Ok(super::catalog::read_objects(conn, &super::catalog::Options::default(), None)?.lines())
}

/// The schema read once, then again only where a transaction changed it
/// ([`Tracked::changed`]): its lines are always what [`snapshot`] would give.
pub fn tracked(conn: &mut dyn Session) -> Result<Tracked> {
    Tracked::read(conn, super::catalog::Options::default())
}

pub use super::catalog::{Tracked, Writes};

/// Create a database as a copy of `template` (no session may use the template).
/// Its settings (`ALTER DATABASE … SET`, such as the Supabase-like
/// `search_path` that finds `extensions`) go with it: PostgreSQL copies the
/// objects, not them.
pub fn clone_database(admin: &mut dyn Session, name: &str, template: &str) -> Result<()> {
    admin
        .execute(&format!("CREATE DATABASE {} TEMPLATE {}", crate::sql::ident(name), crate::sql::ident(template)))
        .map_err(|e| query_error(&format!("create the scratch database {name}"), e))?;
    let rows = admin
        .query(COPY_SETTINGS, &[template, name])
        .map_err(|e| query_error(&format!("read the settings of {template}"), e))?;
    for i in 0..rows.len {
        if let Some(statement) = rows.text(i, 0) {
            admin.execute(&statement).map_err(|e| query_error(&format!("copy the settings of {template}"), e))?;
        }
    }
    Ok(())
}

/// One `ALTER DATABASE $2 SET …` (or `ALTER ROLE … IN DATABASE $2 SET …`) per
/// setting of database $1, but the read-only mark of a kept database (a copy
/// of it is made to be written). A list setting is written as it is stored (its
/// items quoted as they need), any other as a literal.
const COPY_SETTINGS: &str = "\
SELECT format('ALTER %s SET %s = %s',
              CASE WHEN r.rolname IS NULL THEN format('DATABASE %I', $2::text)
                   ELSE format('ROLE %I IN DATABASE %I', r.rolname, $2::text) END,
              split_part(c, '=', 1),
              CASE WHEN split_part(c, '=', 1) IN ('search_path', 'temp_tablespaces', 'session_preload_libraries',
                                                  'local_preload_libraries')
                   THEN coalesce(nullif(substr(c, strpos(c, '=') + 1), '\"\"'), '''''')
                   ELSE quote_literal(substr(c, strpos(c, '=') + 1)) END)
FROM pg_db_role_setting s
JOIN pg_database d ON d.oid = s.setdatabase
LEFT JOIN pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS c
WHERE d.datname = $1
  AND split_part(c, '=', 1) <> 'default_transaction_read_only'";

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

/// What makes a server the same server: its cluster's identifier and its
/// version (a cluster made again, or upgraded, is another one).
pub fn server_identity(admin: &mut dyn Session) -> Result<String> {
    let rows = admin
        .query(
            "SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system())::text || '/' \
                 || pg_catalog.current_setting('server_version_num')",
            &[],
        )
        .map_err(|e| query_error("identify the scratch server", e))?;
    Ok(rows.text(0, 0).unwrap_or_default())
}

/// The databases whose names start with `prefix`.
pub fn databases_named(admin: &mut dyn Session, prefix: &str) -> Result<Vec<String>> {
    let rows = admin
        .query("SELECT datname::text FROM pg_catalog.pg_database WHERE pg_catalog.starts_with(datname, $1)", &[prefix])
        .map_err(|e| query_error("list the kept scratch databases", e))?;
    Ok((0..rows.len).filter_map(|r| rows.text(r, 0)).collect())
}

/// Rename a database nobody is connected to; false when it cannot be
/// (gone, in use, or the new name taken by another run).
pub fn rename_database(admin: &mut dyn Session, from: &str, to: &str) -> bool {
    admin.execute(&format!("ALTER DATABASE {} RENAME TO {}", crate::sql::ident(from), crate::sql::ident(to))).is_ok()
}

/// A kept database: read-only for whoever connects to it (diff only reads
/// it), and saying what it is.
pub fn keep_database(admin: &mut dyn Session, name: &str, what: &str) -> Result<()> {
    let db = crate::sql::ident(name);
    admin
        .execute(&format!(
            "ALTER DATABASE {db} SET default_transaction_read_only = on; COMMENT ON DATABASE {db} IS {}",
            crate::sql::literal(what)
        ))
        .map_err(|e| query_error(&format!("keep the scratch database {name}"), e))
}

/// A kept database taken back to be changed (migrations added to it).
pub fn unkeep_database(admin: &mut dyn Session, name: &str) -> Result<()> {
    admin
        .execute(&format!("ALTER DATABASE {} RESET default_transaction_read_only", crate::sql::ident(name)))
        .map_err(|e| query_error(&format!("reuse the scratch database {name}"), e))
}

/// Drop a database unless someone uses it (another run reading it): it is
/// dropped another time.
pub fn drop_unused_database(admin: &mut dyn Session, name: &str) {
    let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {}", crate::sql::ident(name)));
}
