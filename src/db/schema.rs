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

pub use super::catalog::Tracked;

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
