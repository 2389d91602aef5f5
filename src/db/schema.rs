//! Scratch databases: `verify` and `diff` copy and drop them (the schema
//! itself is read by `catalog`).

use super::query_error;
use super::session::Session;
use crate::error::Result;

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
