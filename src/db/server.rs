//! What a server allows: how many more sessions it takes, for the fleet's
//! default number of targets run at once.

use super::{query_error, Session};
use crate::error::Result;

/// Sessions the server still accepts for an ordinary role: `max_connections`
/// less `superuser_reserved_connections` (and `reserved_connections` from
/// PostgreSQL 16 on) less the sessions open now.
pub fn free_connections(conn: &mut dyn Session) -> Result<usize> {
    let sql = "SELECT current_setting('max_connections')::int \
               - current_setting('superuser_reserved_connections')::int \
               - coalesce(current_setting('reserved_connections', true)::int, 0) \
               - (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend')";
    let rows = conn.query(sql, &[]).map_err(|e| query_error("read max_connections", e))?;
    Ok(rows.i32(0, 0).unwrap_or(0).max(0) as usize)
}
