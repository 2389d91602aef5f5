//! The seed's troubleshooting cases, recognised before or after connecting.

use crate::error::{Error, Result};

/// An API key where the database password belongs fails later as a SASL or
/// authentication error nobody understands; say it now.
pub fn check_password(password: &str, from: &str) -> Result<()> {
    let kind = if password.starts_with("eyJ") && password.matches('.').count() == 2 {
        Some("a JWT API key (anon or service_role)")
    } else if password.starts_with("sb_secret_") {
        Some("a secret API key (sb_secret_…)")
    } else if password.starts_with("sb_publishable_") {
        Some("a publishable API key (sb_publishable_…)")
    } else {
        None
    };
    match kind {
        None => Ok(()),
        Some(kind) => Err(Error::new(
            "api_key_as_password",
            format!("{from} holds {kind}, not the database password; nothing was sent to the server"),
        )
        .hint(
            "use the database password: Dashboard → Project Settings → Database → Database password (reset it there if you do not have it)",
        )),
    }
}

/// A hint for a failed connection, from libpq's message.
pub fn connect_hint(message: &str) -> &'static str {
    let lower = message.to_lowercase();
    if lower.contains("password authentication failed") || lower.contains("sasl") || lower.contains("scram") {
        "check the password (special characters must be percent-encoded in a URL); on Supabase it is the database password \
         (Project Settings → Database), not an API key, and the pooler's user is postgres.<project-ref>"
    } else if lower.contains("tenant or user not found") {
        "the pooler does not know this user or region: check SUPABASE_REGION / SUPABASE_POOLER_HOST and the user postgres.<project-ref>"
    } else if lower.contains("database") && lower.contains("does not exist") {
        "create the database first (e.g. `createdb`), or fix the database name in the URL"
    } else if lower.contains("role") && lower.contains("does not exist") {
        "fix the user name in the URL"
    } else if lower.contains("connection refused") || lower.contains("no such file") {
        "is PostgreSQL running there? check host and port"
    } else if lower.contains("timeout") || lower.contains("timed out") {
        "the server did not answer in time: check host, port and firewall (the direct host db.<ref>.supabase.co is IPv6-only; \
         set SUPABASE_REGION to use the pooler), or raise --connect-timeout"
    } else if lower.contains("could not translate host name") {
        "the host name does not resolve: check the URL's host (or SUPABASE_REGION)"
    } else if lower.contains("ssl") {
        "the server and client disagree on SSL: Supabase needs sslmode=require; a local server may need sslmode=disable"
    } else {
        "check the database URL (--database-url, DATABASE_URL, or the Supabase variables in .env)"
    }
}
