//! Opening a connection: refuse what cannot run migrations before connecting,
//! and say what failed with `user@host:port/db` (never the password) and a
//! hint. The hints are data handed in by the layer above (the Supabase layer
//! knows its poolers), so the core knows nothing about Supabase.

use super::pq::Conn;
use crate::error::{Error, Kind, Result};
use crate::url::{self, DbUrl};

/// What to tell the user when connecting fails, by cause.
#[derive(Debug, Clone)]
pub struct Hints {
    pub auth: String,
    pub pooler_user: String,
    pub no_database: String,
    pub no_role: String,
    pub refused: String,
    pub timeout: String,
    pub unknown_host: String,
    pub ssl: String,
    pub other: String,
}

impl Default for Hints {
    fn default() -> Self {
        Hints {
            auth: "check the user and password (special characters must be percent-encoded in a URL)".into(),
            pooler_user: "the server does not know this user: check the user name in the URL".into(),
            no_database: "create the database first (e.g. `createdb`), or fix the database name in the URL".into(),
            no_role: "fix the user name in the URL".into(),
            refused: "is PostgreSQL running there? check host and port".into(),
            timeout: "the server did not answer in time: check host, port and firewall, or raise --connect-timeout"
                .into(),
            unknown_host: "the host name does not resolve: check the URL's host".into(),
            ssl: "the server and client disagree on SSL: add or remove sslmode=require".into(),
            other: "check the database URL (--database-url, DATABASE_URL, or .env)".into(),
        }
    }
}

impl Hints {
    /// libpq reports connection failures as text only (no SQLSTATE reaches the client).
    fn for_message(&self, message: &str) -> &str {
        let lower = message.to_lowercase();
        if lower.contains("password authentication failed") || lower.contains("sasl") || lower.contains("scram") {
            &self.auth
        } else if lower.contains("tenant or user not found") {
            &self.pooler_user
        } else if lower.contains("database") && lower.contains("does not exist") {
            &self.no_database
        } else if lower.contains("role") && lower.contains("does not exist") {
            &self.no_role
        } else if lower.contains("connection refused") || lower.contains("no such file") {
            &self.refused
        } else if lower.contains("timeout") || lower.contains("timed out") {
            &self.timeout
        } else if lower.contains("could not translate host name") {
            &self.unknown_host
        } else if lower.contains("ssl") {
            &self.ssl
        } else {
            &self.other
        }
    }
}

/// Parse a URL or key/value string; errors never quote the user-info. The
/// commands check configured URLs before this (with what to do about them).
pub fn parse(url: &str) -> Result<DbUrl> {
    url::parse_any(url).map_err(|e| Error::new(Kind::BadDatabaseUrl, e.message()))
}

/// Open a connection. `purpose` names it in `pg_stat_activity`, so a second
/// run can say who holds the lock.
/// A session on `url`'s server for making and dropping databases: on its
/// `postgres` database, else `template1`. Never template1 first: while a
/// session is on it, every `CREATE DATABASE` of the server that copies it
/// (everybody's, by default) fails.
pub fn admin(url: &str, connect_timeout: u64, purpose: &str) -> Result<Conn> {
    let on = |db: &str| connect(&url::with_params(url, &[("dbname", db)]), connect_timeout, purpose, &Hints::default());
    on("postgres").or_else(|_| on("template1"))
}

pub fn connect(url: &str, connect_timeout: u64, purpose: &str, hints: &Hints) -> Result<Conn> {
    let parsed = parse(url)?;
    let app = format!("cargo-migrate {purpose} ({})", whoami());
    let timeout = connect_timeout.max(1).to_string();
    let full = url::with_params(
        url,
        &[("connect_timeout", &timeout), ("application_name", &app), ("client_encoding", "UTF8")],
    );
    Conn::connect(&full).map_err(|msg| {
        let msg = msg.replace('\n', " ").replace('\t', "");
        let msg = crate::show::clean(&msg);
        let hint = hints.for_message(&msg).to_string();
        Error::new(Kind::Connect, format!("could not connect to {}: {msg}", parsed.target())).hint(hint)
    })
}

/// `user@host pid N`: who is running this, for lock messages and history.
pub fn whoami() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} pid {}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_failure() {
        let h = Hints::default();
        assert_eq!(h.for_message("FATAL: password authentication failed for user x"), h.auth);
        assert_eq!(h.for_message("connection to server at ... failed: Connection refused"), h.refused);
        assert_eq!(h.for_message("timeout expired"), h.timeout);
    }
}
