//! Every statement cargo-migrate writes for a server lives under this folder:
//! opening a connection, the migration lock, reading the history, the
//! bookkeeping writes, catalog reads, and executing a prepared migration
//! (with PostgreSQL's error mapped back to `file:line:col`). Outside it only
//! SQL files are sent as they are: the migrations and seeds, the roles file,
//! and the local development database's preparation (`local/*.sql`).

pub mod advisor;
pub mod backfill;
pub mod backup;
#[cfg(feature = "diesel")]
pub mod capture;
pub mod catalog;
pub mod connect;
pub mod dump;
pub mod dump_text;
pub mod execute;
pub mod extensions;
#[cfg(test)]
pub mod fake;
pub mod foreign;
pub mod history;
pub mod ledger;
pub mod lock;
mod lock_sql;
pub mod oids;
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
    // 42501 (insufficient_privilege) is explained by the command layer
    // (`commands::explain`), which knows where the user connects from.
    e
}
