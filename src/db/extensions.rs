//! Which of some extensions a server has installed or could install, and
//! what each one's comment says (the local database's stand-ins say so there).

use super::query_error;
use super::session::Session;
use crate::error::Result;

/// One extension as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    /// Its schema, when installed.
    pub schema: Option<String>,
    /// Its version, when installed.
    pub version: Option<String>,
    /// The installed one's comment, else the available one's.
    pub comment: String,
    pub installed: bool,
    /// The server has its files (`pg_available_extensions`).
    pub available: bool,
}

/// Each of `names`, in their order.
pub fn states(conn: &mut dyn Session, names: &[&str]) -> Result<Vec<Installed>> {
    let rows = conn
        .query(
            "SELECT n.name, e.extnamespace::regnamespace::text, e.extversion, \
                    coalesce(pg_catalog.obj_description(e.oid, 'pg_extension'), \
                             (SELECT a.comment FROM pg_catalog.pg_available_extensions a WHERE a.name = n.name)), \
                    e.oid IS NOT NULL, \
                    EXISTS (SELECT FROM pg_catalog.pg_available_extensions a WHERE a.name = n.name) \
               FROM unnest(string_to_array($1, ',')) WITH ORDINALITY AS n (name, i) \
               LEFT JOIN pg_catalog.pg_extension e ON e.extname = n.name \
              ORDER BY n.i",
            &[&names.join(",")],
        )
        .map_err(|e| query_error("list the extensions", e))?;
    Ok((0..rows.len)
        .map(|i| Installed {
            name: rows.text(i, 0).unwrap_or_default(),
            schema: rows.text(i, 1),
            version: rows.text(i, 2),
            comment: rows.text(i, 3).unwrap_or_default(),
            installed: rows.bool(i, 4) == Some(true),
            available: rows.bool(i, 5) == Some(true),
        })
        .collect())
}
