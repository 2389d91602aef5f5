//! Connecting to PostgreSQL: URL checks, password masking, and errors that
//! name host, port and user (never the password) with the likely fix.

use diesel::{Connection, PgConnection};

use crate::error::{Error, Result};
use crate::report;

/// The parts of a `postgres://` URL we need to check and to mask it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub dbname: Option<String>,
}

impl DbUrl {
    /// Parse a URL. Key/value connection strings (`host=… user=…`) are
    /// accepted by libpq too; for those we return None and only mask.
    pub fn parse(url: &str) -> Result<Option<DbUrl>> {
        let rest = match url.split_once("://") {
            Some(("postgres" | "postgresql", rest)) => rest,
            Some((scheme, _)) => {
                return Err(Error::new(
                    "bad_database_url",
                    format!("the database URL has scheme `{scheme}://`; cargo-migrate speaks PostgreSQL only"),
                )
                .hint("use a postgres://user:password@host:5432/dbname URL"))
            }
            None if url.contains('=') => return Ok(None),
            None => {
                return Err(Error::new("bad_database_url", "the database URL is not a postgres:// URL")
                    .hint("use a postgres://user:password@host:5432/dbname URL"))
            }
        };
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(percent_decode(user)), Some(percent_decode(pass))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let (host, port) = split_host_port(hostport)?;
        Ok(Some(DbUrl { user, password, host, port, dbname: (!path.is_empty()).then(|| percent_decode(path)) }))
    }

    /// `user@host:port/db`, for messages.
    pub fn target(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.user.as_deref().unwrap_or("(default user)"),
            if self.host.is_empty() { "localhost" } else { &self.host },
            self.port.unwrap_or(5432),
            self.dbname.as_deref().unwrap_or("(default database)")
        )
    }
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>)> {
    // Only the first host of a multi-host URL matters for our checks.
    let first = hostport.split(',').next().unwrap_or("");
    let (host, port) = if let Some(stripped) = first.strip_prefix('[') {
        let (h, rest) = stripped.split_once(']').unwrap_or((stripped, ""));
        (h.to_string(), rest.strip_prefix(':'))
    } else {
        match first.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (first.to_string(), None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() => Some(p.parse::<u16>().map_err(|_| {
            Error::new("bad_database_url", format!("the database URL's port `{p}` is not a number"))
                .hint("write it as postgres://user:password@host:5432/dbname (a password with @ : / ? # must be percent-encoded)")
        })?),
        _ => None,
    };
    Ok((percent_decode(&host), port))
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URL with its password replaced by `****` (URL and key/value forms).
pub fn mask(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                let masked = format!("{scheme}://{user}:****@{host}{}", &rest[end..]);
                return mask_params(&masked);
            }
        }
        return mask_params(url);
    }
    mask_params(url)
}

/// `password=…` in a query string or key/value connection string.
fn mask_params(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(idx) = rest.find("password=") {
        let boundary = idx == 0 || matches!(rest.as_bytes()[idx - 1], b'?' | b'&' | b' ');
        out.push_str(&rest[..idx + "password=".len()]);
        rest = &rest[idx + "password=".len()..];
        if boundary {
            let end = rest.find(['&', ' ']).unwrap_or(rest.len());
            out.push_str("****");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Register the URL's password with the report so it never reaches output,
/// in every form it can appear in: decoded, as we would encode it, and as
/// written in the URL (which may encode differently, e.g. `%2b`), in userinfo
/// or in a `password=` parameter.
pub fn register_secrets(url: &str) {
    if let Ok(Some(parsed)) = DbUrl::parse(url) {
        if let Some(pw) = parsed.password {
            report::add_secret(&pw);
            report::add_secret(&percent_encode(&pw));
        }
    }
    if let Some((_, rest)) = url.split_once("password=") {
        let end = rest.find(['&', ' ']).unwrap_or(rest.len());
        report::add_secret(&rest[..end]);
        report::add_secret(&percent_decode(&rest[..end]));
    }
    if let Some((_, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some((userinfo, _)) = rest[..end].rsplit_once('@') {
            if let Some((_, pw)) = userinfo.split_once(':') {
                report::add_secret(pw);
            }
        }
    }
}

/// Refuse URLs we know cannot run migrations, before connecting.
pub fn check(url: &str) -> Result<Option<DbUrl>> {
    let parsed = DbUrl::parse(url)?;
    if let Some(p) = &parsed {
        if p.port == Some(6543) {
            let fixed = url.replacen(":6543", ":5432", 1);
            return Err(Error::new(
                "transaction_pooler",
                format!(
                    "{} is a transaction pooler (port 6543): it cannot hold the session lock that keeps two runs apart, nor run DDL reliably",
                    p.target()
                ),
            )
            .hint(format!("use the session pooler on port 5432: {}", mask(&fixed))));
        }
    }
    Ok(parsed)
}

/// Open a connection. `purpose` names it in `pg_stat_activity` so a second
/// run can say who holds the lock.
pub fn connect(url: &str, connect_timeout: u64, purpose: &str) -> Result<PgConnection> {
    let parsed = check(url)?;
    let full = with_params(url, connect_timeout, purpose);
    PgConnection::establish(&full).map_err(|e| connect_error(url, parsed.as_ref(), e))
}

fn with_params(url: &str, connect_timeout: u64, purpose: &str) -> String {
    let app = format!("cargo-migrate {purpose} ({})", whoami());
    if !url.contains("://") {
        let mut s = url.to_string();
        if !s.contains("connect_timeout=") {
            s.push_str(&format!(" connect_timeout={connect_timeout}"));
        }
        if !s.contains("application_name=") {
            s.push_str(&format!(" application_name='{}'", app.replace('\'', "")));
        }
        return s;
    }
    let mut s = url.to_string();
    let mut sep = if s.contains('?') { '&' } else { '?' };
    if !s.contains("connect_timeout=") {
        s.push_str(&format!("{sep}connect_timeout={connect_timeout}"));
        sep = '&';
    }
    if !s.contains("application_name=") {
        s.push_str(&format!("{sep}application_name={}", percent_encode(&app)));
    }
    s
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

fn connect_error(url: &str, parsed: Option<&DbUrl>, err: diesel::ConnectionError) -> Error {
    let target = parsed.map(DbUrl::target).unwrap_or_else(|| mask(url));
    let raw = err.to_string();
    let msg = raw.trim().replace('\n', " ").replace('\t', "");
    let hint = crate::supabase::diagnose::connect_hint(&msg);
    Error::new("connect", format!("could not connect to {target}: {msg}")).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = DbUrl::parse("postgres://me:p%40ss@db.example.com:6543/app?sslmode=require").unwrap().unwrap();
        assert_eq!(u.user.as_deref(), Some("me"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!(u.host, "db.example.com");
        assert_eq!(u.port, Some(6543));
        assert_eq!(u.dbname.as_deref(), Some("app"));
        assert!(DbUrl::parse("host=x user=y").unwrap().is_none());
        assert!(DbUrl::parse("mysql://x").is_err());
        assert!(DbUrl::parse("postgres://u:p@h:notaport/db").is_err());
        let v6 = DbUrl::parse("postgresql://[::1]:5433/db").unwrap().unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(5433)));
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(mask("postgres://me:secret@h:5432/db"), "postgres://me:****@h:5432/db");
        assert_eq!(mask("postgres://me@h/db"), "postgres://me@h/db");
        assert_eq!(mask("postgres://h/db?user=me&password=secret&x=1"), "postgres://h/db?user=me&password=****&x=1");
        assert_eq!(mask("host=h password=secret user=me"), "host=h password=**** user=me");
        // An unencoded @ in the password: the last @ ends the userinfo.
        assert_eq!(mask("postgres://me:p@ss@h/db"), "postgres://me:****@h/db");
    }

    #[test]
    fn refuses_the_transaction_pooler() {
        let err = check("postgres://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres").unwrap_err();
        assert_eq!(err.kind, "transaction_pooler");
        let hint = err.hint.unwrap();
        assert!(hint.contains(":5432/postgres"), "{hint}");
        assert!(!hint.contains("pw"), "{hint}");
    }

    #[test]
    fn percent_encoding_round_trips() {
        let nasty = "p@ss:w/rd#?%&+ é";
        let enc = percent_encode(nasty);
        assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"%-._~".contains(&b)), "{enc}");
        assert_eq!(percent_decode(&enc), nasty);
    }

    #[test]
    fn adds_timeout_and_application_name_once() {
        let s = with_params("postgres://h/db", 5, "run");
        assert!(s.starts_with("postgres://h/db?connect_timeout=5&application_name=cargo-migrate"), "{s}");
        let s = with_params("postgres://h/db?connect_timeout=1", 5, "run");
        assert_eq!(s.matches("connect_timeout").count(), 1);
    }
}
