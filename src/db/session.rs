//! The seam between the runner and a database: what running migrations
//! needs of a session, and nothing more. `pq::Conn` (libpq) is the
//! implementation the tool uses; unit tests drive the runner through an
//! in-memory fake (`db::fake`). The lock, the history and the bookkeeping
//! are built on these few calls, in `lock`, `history` and `ledger`.

use super::pq::Conn;
pub use super::pq::{Notice, PgError, Rows, Script, TxStatus};

pub trait Session {
    /// Run a script (one or more statements): how many completed, the first
    /// error (SQLSTATE, position), every result accounted for.
    fn script(&mut self, sql: &str) -> Script;

    /// Run a script; its first error.
    fn execute(&mut self, sql: &str) -> Result<(), PgError> {
        self.script(sql).result()
    }

    /// One statement with text parameters; rows in binary format.
    fn query(&mut self, sql: &str, params: &[&str]) -> Result<Rows, PgError>;

    /// A statement run again and again with other parameters, each of the
    /// type `types` gives (oids): a session may plan it once.
    fn query_again(&mut self, sql: &str, params: &[&str], types: &[u32]) -> Result<Rows, PgError> {
        let _ = types;
        self.query(sql, params)
    }

    /// Whether a transaction block is open (or failed) after the last call.
    fn transaction_status(&self) -> TxStatus;

    /// The server's notices and warnings since the last call.
    fn take_notices(&mut self) -> Vec<Notice>;

    /// The server process serving this session, still known after the
    /// connection broke (0 if never known).
    fn backend_pid(&self) -> i32;

    /// Take the migration lock without waiting: false while another session holds it.
    fn try_lock(&mut self) -> Result<bool, PgError> {
        let rows = self.query(&super::lock_sql::try_lock_sql(), &[])?;
        Ok(rows.bool(0, 0).unwrap_or(false))
    }

    /// Whether this session still holds the migration lock.
    fn holds_lock(&mut self) -> bool {
        self.query(&super::lock_sql::check_held_sql(), &[]).is_ok()
    }
}

impl Session for Conn {
    fn script(&mut self, sql: &str) -> Script {
        Conn::script(self, sql)
    }

    fn query(&mut self, sql: &str, params: &[&str]) -> Result<Rows, PgError> {
        Conn::query(self, sql, params)
    }

    fn query_again(&mut self, sql: &str, params: &[&str], types: &[u32]) -> Result<Rows, PgError> {
        Conn::query_again(self, sql, params, types)
    }

    fn transaction_status(&self) -> TxStatus {
        Conn::transaction_status(self)
    }

    fn take_notices(&mut self) -> Vec<Notice> {
        Conn::take_notices(self)
    }

    fn backend_pid(&self) -> i32 {
        Conn::backend_pid(self)
    }
}
