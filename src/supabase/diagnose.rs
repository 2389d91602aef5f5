//! The Supabase connection mistakes teams meet most (an API key as the
//! password, the transaction pooler), recognised before or after connecting.

use crate::error::{Error, Kind, Result};

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
            Kind::ApiKeyAsPassword,
            format!("{from} holds {kind}, not the database password; nothing was sent to the server"),
        )
        .hint(
            "use the database password: Dashboard → Project Settings → Database → Database password (reset it there if you do not have it)",
        )),
    }
}

/// Supabase's transaction pooler (port 6543) cannot run migrations: refuse
/// it before connecting, naming the session pooler's URL.
pub fn refuse_transaction_pooler(url: &str) -> Result<()> {
    let Ok(parsed) = crate::url::parse_any(url) else { return Ok(()) };
    if parsed.port == Some(6543) {
        let fixed = url.replacen(":6543", ":5432", 1);
        return Err(Error::new(
            Kind::TransactionPooler,
            format!(
                "{} is a transaction pooler (port 6543): it cannot hold the session lock that keeps two runs apart, nor run DDL reliably",
                parsed.target()
            ),
        )
        .hint(format!("use the session pooler on port 5432: {}", crate::url::mask(&fixed))));
    }
    Ok(())
}

/// What to say when connecting fails, knowing Supabase's poolers and hosts.
/// Handed to the core as data (`db::Hints`).
pub fn hints() -> crate::db::Hints {
    crate::db::Hints {
        auth: "check the password (special characters must be percent-encoded in a URL; `cargo migrate database-url` \
               encodes it); on Supabase it is the database password (Project Settings → Database), not an API key, \
               and the pooler's user is postgres.<project-ref>"
            .into(),
        pooler_user: "the pooler does not know this user or region: check SUPABASE_REGION / SUPABASE_POOLER_HOST and \
                      the user postgres.<project-ref>"
            .into(),
        timeout:
            "the server did not answer in time: check host, port and firewall (the direct host \
                  db.<ref>.supabase.co is IPv6-only; set SUPABASE_REGION to use the pooler), or raise --connect-timeout"
                .into(),
        unknown_host: "the host name does not resolve: check the URL's host (or SUPABASE_REGION)".into(),
        ssl: "the server and client disagree on SSL: Supabase needs sslmode=require; a local server may need \
              sslmode=disable"
            .into(),
        other: "check the database URL (--database-url, DATABASE_URL, or the Supabase variables in .env)".into(),
        ..crate::db::Hints::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_transaction_pooler() {
        let err =
            refuse_transaction_pooler("postgres://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres")
                .unwrap_err();
        assert_eq!(err.kind, Kind::TransactionPooler);
        let hint = err.hint.clone().unwrap();
        assert!(hint.contains(":5432/postgres"), "{hint}");
        assert!(!hint.contains("pw@"), "{hint}");
    }
}
