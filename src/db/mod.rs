//! Every statement cargo-migrate sends lives under this folder: opening a
//! connection, the migration lock, reading the history, the bookkeeping
//! writes, and executing a prepared migration (with PostgreSQL's error mapped
//! back to `file:line:col`). Nothing outside `db/` writes SQL for the server.

pub mod advisor;
pub mod backfill;
pub mod backup;
pub mod catalog;
pub mod connect;
pub mod dump;
pub mod dump_text;
pub mod execute;
#[cfg(test)]
pub mod fake;
pub mod foreign;
pub mod history;
pub mod ledger;
pub mod lock;
mod lock_sql;
pub mod pq;
pub mod print_schema;
pub mod rehearse;
pub mod schema;
pub mod server;
pub mod session;

pub use connect::{connect, Hints};
pub use history::{Applied, History, Partial};
pub use pq::Conn;
pub use session::Session;

use crate::error::{Error, Kind};

/// A failed query of ours (not a migration's), as a user-facing error.
pub fn query_error(action: &str, err: pq::PgError) -> Error {
    let kind = if err.connection_lost { Kind::ConnectionLost(Box::default()) } else { Kind::Database };
    let e =
        Error::new(kind, format!("could not {action}: {}", crate::show::clean(&err.message))).caused_by(err.clone());
    // 42501: insufficient_privilege.
    if err.is("42501") {
        e.hint(format!(
            "connect as the role that owns the bookkeeping tables ({}, {}) or one that may create them; \
             on Supabase use the `postgres` user through the session pooler (port 5432)",
            history::DIESEL_TABLE,
            history::COMPANION
        ))
    } else {
        e
    }
}
