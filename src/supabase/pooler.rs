//! Which session pooler serves a Supabase project, found rather than
//! guessed: the host's `aws-0`/`aws-1` prefix cannot be derived from the
//! region, and the direct host `db.<ref>.supabase.co` is IPv6-only. In this
//! order: `SUPABASE_POOLER_HOST`; the URL `supabase link` wrote at
//! `supabase/.temp/pooler-url`; the Management API with
//! `SUPABASE_ACCESS_TOKEN` (cached under `target/`); `SUPABASE_REGION` on
//! `aws-0`, then `aws-1` when that pooler does not know the project.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind, Result};
use crate::url;

/// Where the Management API lives; `SUPABASE_API_URL` overrides it (a
/// self-hosted platform, or a test server on loopback).
pub const API_URL: &str = "https://api.supabase.com";

/// What Supavisor answers for a project it does not serve.
pub const UNKNOWN_TENANT: &str = "Tenant or user not found";

/// Where a lookup may read and write.
#[derive(Debug, Clone)]
pub struct Places {
    /// Folders that may hold `supabase/.temp/pooler-url`, nearest first.
    pub project_dirs: Vec<PathBuf>,
    /// The cargo target folder: the Management API's answer is kept there.
    pub target_dir: PathBuf,
}

impl Places {
    fn cache(&self, project_ref: &str) -> PathBuf {
        self.target_dir.join("cargo-migrate").join(format!("pooler-{project_ref}.json"))
    }

    /// Keep the host a connection proved (the region's other pooler), so the
    /// next run goes there first.
    pub fn remember(&self, project_ref: &str, host: &str) {
        write_cache(&self.cache(project_ref), project_ref, host);
    }
}

/// The pooler host found and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub from: String,
    /// With only a region: the other prefix's host, for when this one answers
    /// [`UNKNOWN_TENANT`].
    pub alternate: Option<String>,
}

/// Look the pooler up; `get` answers a variable's value and where it came from.
pub fn find(project_ref: &str, get: &impl Fn(&str) -> Option<(String, String)>, places: &Places) -> Result<Found> {
    let pooler_user = format!("postgres.{project_ref}");
    if let Some((pooler, from)) = get("SUPABASE_POOLER_HOST") {
        let (host, port) = split_port(&pooler, &from)?;
        // The direct host takes the plain user; every pooler the tenant's.
        let user =
            if host.starts_with("db.") && host.ends_with(".supabase.co") { "postgres".into() } else { pooler_user };
        return Ok(Found { host, port, user, from, alternate: None });
    }
    for dir in &places.project_dirs {
        let path = dir.join("supabase/.temp/pooler-url");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return from_linked(project_ref, text.trim(), &path);
        }
    }
    if let Some((token, from)) = get("SUPABASE_ACCESS_TOKEN") {
        let cache = places.cache(project_ref);
        if let Some(host) = read_cache(&cache, project_ref) {
            let from = format!("{} (the Management API's answer, kept)", cache.display());
            return Ok(Found { host, port: 5432, user: pooler_user, from, alternate: None });
        }
        let base = get("SUPABASE_API_URL").map(|(v, _)| v).unwrap_or_else(|| API_URL.to_string());
        let host = ask_api(&base, project_ref, &token, &from)?;
        write_cache(&cache, project_ref, &host);
        let from = format!("the Management API ({from})");
        return Ok(Found { host, port: 5432, user: pooler_user, from, alternate: None });
    }
    if let Some((region, from)) = get("SUPABASE_REGION") {
        let region = check_region(&region, &from)?;
        // An earlier run found the project on the other prefix.
        let cache = places.cache(project_ref);
        if let Some(host) =
            read_cache(&cache, project_ref).filter(|h| h.ends_with(&format!("-{region}.pooler.supabase.com")))
        {
            let from = format!("{from} ({} found it there before)", cache.display());
            return Ok(Found { host, port: 5432, user: pooler_user, from, alternate: None });
        }
        return Ok(Found {
            host: format!("aws-0-{region}.pooler.supabase.com"),
            port: 5432,
            user: pooler_user,
            from,
            alternate: Some(format!("aws-1-{region}.pooler.supabase.com")),
        });
    }
    Err(Error::new(
        Kind::SupabaseConfig,
        format!("cannot tell which pooler serves project {project_ref}: nothing says, and the direct host db.{project_ref}.supabase.co is IPv6-only"),
    )
    .hint(
        "set SUPABASE_POOLER_HOST to the Session pooler host (Dashboard → Connect → Session pooler), or run \
         `supabase link`, or set SUPABASE_ACCESS_TOKEN (a personal access token) to ask the Management API, or \
         set SUPABASE_REGION (e.g. eu-west-1); DATABASE_URL overrides all of these",
    ))
}

/// `supabase link` writes the PRIMARY pooler's connection string (usually
/// transaction mode, 6543, no password): its host, in session mode.
fn from_linked(project_ref: &str, text: &str, path: &Path) -> Result<Found> {
    let bad = |why: &str| {
        Error::new(Kind::SupabaseConfig, format!("{}: {why}", path.display()))
            .hint("run `supabase link` again, or set SUPABASE_POOLER_HOST")
    };
    let parsed = url::parse_any(text).map_err(|_| bad("not a connection URL"))?;
    if parsed.host.is_empty() || parsed.host.starts_with('/') {
        return Err(bad("no pooler host in it"));
    }
    let expected = format!("postgres.{project_ref}");
    if let Some(user) = parsed.user.as_deref().filter(|u| u.starts_with("postgres.") && *u != expected) {
        return Err(Error::new(
            Kind::SupabaseConfig,
            format!(
                "{} is for project {}, but the Supabase variables name {project_ref}",
                path.display(),
                user.trim_start_matches("postgres.")
            ),
        )
        .hint("run `supabase link --project-ref <ref>` for this project, or fix VITE_SUPABASE_URL"));
    }
    Ok(Found { host: parsed.host, port: 5432, user: expected, from: path.display().to_string(), alternate: None })
}

#[derive(Deserialize)]
struct PoolerConfig {
    database_type: String,
    db_host: String,
}

#[derive(Serialize, Deserialize)]
struct Cached {
    project_ref: String,
    host: String,
}

fn read_cache(path: &Path, project_ref: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let cached: Cached = serde_json::from_str(&text).ok()?;
    (cached.project_ref == project_ref && !cached.host.is_empty()).then_some(cached.host)
}

/// Best effort: without the cache the next run asks again.
fn write_cache(path: &Path, project_ref: &str, host: &str) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let cached = Cached { project_ref: project_ref.to_string(), host: host.to_string() };
    if let Ok(text) = serde_json::to_string(&cached) {
        let _ = std::fs::write(path, text);
    }
}

/// `GET /v1/projects/{ref}/config/database/pooler`: a list of poolers, one
/// per database; the PRIMARY one's host. The token goes in a header only,
/// and no answer body is repeated (it is the server's text, not ours).
fn ask_api(base: &str, project_ref: &str, token: &str, from: &str) -> Result<String> {
    let endpoint = format!("{}/v1/projects/{project_ref}/config/database/pooler", base.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .user_agent(concat!("cargo-migrate/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let asked = format!("the Supabase Management API ({})", base.trim_end_matches('/'));
    let mut response = agent
        .get(&endpoint)
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json")
        .call()
        .map_err(|e| {
            Error::new(
                Kind::SupabaseApi,
                format!("could not ask {asked} for project {project_ref}'s pooler: {}", transport(&e)),
            )
            .hint("check the network (or SUPABASE_API_URL), or set SUPABASE_POOLER_HOST to skip the lookup")
        })?;
    let status = response.status().as_u16();
    let api_error = |message: String, hint: &str| Error::new(Kind::SupabaseApi, message).hint(hint.to_string());
    match status {
        200 => {}
        401 | 403 => {
            return Err(api_error(
                format!("{asked} refused {from} ({status}): the token is wrong, expired or may not read this project"),
                "create a personal access token at https://supabase.com/dashboard/account/tokens, or set SUPABASE_POOLER_HOST",
            ))
        }
        404 => {
            return Err(api_error(
                format!("{asked} knows no project {project_ref} (404)"),
                "check the project ref in VITE_SUPABASE_URL (or SUPABASE_URL) against the Dashboard",
            ))
        }
        429 => {
            return Err(api_error(
                format!("{asked} is rate-limiting this token (429)"),
                "wait a minute and run again; the answer is then kept under target/, or set SUPABASE_POOLER_HOST",
            ))
        }
        _ => {
            return Err(api_error(
                format!("{asked} answered {status} for project {project_ref}'s pooler"),
                "try again later, or set SUPABASE_POOLER_HOST",
            ))
        }
    }
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| Error::new(Kind::SupabaseApi, format!("could not read {asked}'s answer: {}", transport(&e))))?;
    let poolers: Vec<PoolerConfig> = serde_json::from_str(&body).map_err(|e| {
        Error::new(Kind::SupabaseApi, format!("{asked} answered something that is not a list of poolers: {e}"))
            .hint("set SUPABASE_POOLER_HOST to skip the lookup")
    })?;
    poolers.into_iter().find(|p| p.database_type == "PRIMARY").map(|p| p.db_host).filter(|h| !h.is_empty()).ok_or_else(
        || {
            Error::new(Kind::SupabaseApi, format!("{asked} lists no PRIMARY pooler for project {project_ref}"))
                .hint("set SUPABASE_POOLER_HOST (Dashboard → Connect → Session pooler)")
        },
    )
}

/// A transport error in words of our own: ureq's may name the URL, never
/// the token, but nothing of the request is worth repeating.
fn transport(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "it did not answer in time".into(),
        ureq::Error::HostNotFound => "the host name does not resolve".into(),
        ureq::Error::ConnectionFailed => "the connection failed".into(),
        ureq::Error::Io(io) => format!("{}", io.kind()),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "the TLS handshake failed".into(),
        _ => "the request failed".into(),
    }
}

/// AWS region names (`eu-west-1`, `ap-southeast-2`, `us-gov-west-1`): a
/// region goes into a host name, so nothing else may.
fn check_region(region: &str, from: &str) -> Result<String> {
    let r = region.trim();
    let parts: Vec<&str> = r.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(r.to_string())
    } else {
        Err(Error::new(Kind::SupabaseConfig, format!("{from} is not an AWS region name"))
            .hint("write it as the Dashboard shows it, e.g. SUPABASE_REGION=eu-west-1, or set SUPABASE_POOLER_HOST"))
    }
}

fn split_port(host: &str, from: &str) -> Result<(String, u16)> {
    let host = host.trim();
    // An IPv6 literal keeps its brackets' colons: `[::1]:6000`.
    let port_colon = match host.rfind(']') {
        Some(close) => host[close..].find(':').map(|i| close + i),
        None => host.rfind(':'),
    };
    let (h, port) = match port_colon.map(|i| (&host[..i], &host[i + 1..])) {
        Some((h, p)) => {
            let port = p.parse().map_err(|_| {
                Error::new(Kind::SupabaseConfig, format!("{from}: the part after `:` is not a port"))
                    .hint("write it as host or host:port, e.g. aws-0-eu-west-1.pooler.supabase.com")
            })?;
            (h, port)
        }
        None => (host, 5432),
    };
    let name_ok = h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let v6_ok =
        h.strip_prefix('[').and_then(|r| r.strip_suffix(']')).is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok());
    if h.is_empty() || !(name_ok || v6_ok) {
        return Err(Error::new(Kind::SupabaseConfig, format!("{from} is not a host name"))
            .hint("write it as host or host:port, e.g. aws-0-eu-west-1.pooler.supabase.com"));
    }
    Ok((h.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn places(dir: &Path) -> Places {
        Places { project_dirs: vec![dir.to_path_buf()], target_dir: dir.join("target") }
    }

    fn find_with(vars: &[(&str, &str)], dir: &Path) -> Result<Found> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        find("abcref", &|k: &str| map.get(k).map(|v| (v.clone(), format!("{k} in .env"))), &places(dir))
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cargo-migrate-pooler-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn regions_go_to_aws_0_with_aws_1_to_follow() {
        let d = tempdir("region");
        let f = find_with(&[("SUPABASE_REGION", "eu-west-1")], &d).unwrap();
        assert_eq!(
            (f.host.as_str(), f.port, f.user.as_str()),
            ("aws-0-eu-west-1.pooler.supabase.com", 5432, "postgres.abcref")
        );
        assert_eq!(f.alternate.as_deref(), Some("aws-1-eu-west-1.pooler.supabase.com"));
        for bad in ["eu west/1@x", "eu-west-1.evil.com", "EU-WEST-1", "eu-west", "", "eu--1"] {
            assert_eq!(find_with(&[("SUPABASE_REGION", bad)], &d).unwrap_err().kind, Kind::SupabaseConfig, "{bad}");
        }
        assert!(find_with(&[("SUPABASE_REGION", "us-gov-west-1")], &d).is_ok());
        // Once aws-1 answered, it is the first choice.
        places(&d).remember("abcref", "aws-1-eu-west-1.pooler.supabase.com");
        let f = find_with(&[("SUPABASE_REGION", "eu-west-1")], &d).unwrap();
        assert_eq!((f.host.as_str(), f.alternate), ("aws-1-eu-west-1.pooler.supabase.com", None));
        // Not for another region.
        assert!(find_with(&[("SUPABASE_REGION", "us-east-1")], &d).unwrap().host.starts_with("aws-0-"));
    }

    #[test]
    fn nothing_to_go_on_is_an_error_not_the_direct_host() {
        let d = tempdir("none");
        let e = find_with(&[], &d).unwrap_err();
        assert_eq!(e.kind, Kind::SupabaseConfig);
        assert!(e.hint.as_deref().unwrap().contains("SUPABASE_POOLER_HOST"));
    }

    #[test]
    fn the_linked_pooler_url_is_used_in_session_mode() {
        let d = tempdir("linked");
        std::fs::create_dir_all(d.join("supabase/.temp")).unwrap();
        std::fs::write(
            d.join("supabase/.temp/pooler-url"),
            "postgresql://postgres.abcref:[YOUR-PASSWORD]@aws-1-eu-central-1.pooler.supabase.com:6543/postgres\n",
        )
        .unwrap();
        let f = find_with(&[("SUPABASE_REGION", "eu-west-1")], &d).unwrap();
        assert_eq!((f.host.as_str(), f.port, f.alternate), ("aws-1-eu-central-1.pooler.supabase.com", 5432, None));
        // The pooler host variable still wins.
        let f = find_with(&[("SUPABASE_POOLER_HOST", "h.example.com:6000")], &d).unwrap();
        assert_eq!((f.host.as_str(), f.port), ("h.example.com", 6000));
        std::fs::write(
            d.join("supabase/.temp/pooler-url"),
            "postgresql://postgres.other@aws-0-x-y-1.pooler.supabase.com:6543/postgres",
        )
        .unwrap();
        assert_eq!(find_with(&[], &d).unwrap_err().kind, Kind::SupabaseConfig);
    }

    #[test]
    fn pooler_hosts_are_host_names() {
        let d = tempdir("hosts");
        for bad in ["aws-0-x.pooler.supabase.com:abc", "a b", "h/x", "@h", ""] {
            assert!(find_with(&[("SUPABASE_POOLER_HOST", bad)], &d).is_err(), "{bad}");
        }
        let f = find_with(&[("SUPABASE_POOLER_HOST", "[::1]:6000")], &d).unwrap();
        assert_eq!((f.host.as_str(), f.port), ("[::1]", 6000));
        let f = find_with(&[("SUPABASE_POOLER_HOST", "db.abcref.supabase.co")], &d).unwrap();
        assert_eq!(f.user, "postgres");
    }
}
