//! DATABASE_URL built from `VITE_SUPABASE_URL` (or `SUPABASE_URL`) and `SUPABASE_DB_PASSWORD`, through
//! the session pooler (DDL and session locks work there; `pooler` finds
//! which), password encoded.

use crate::error::{Error, Kind, Result};
use crate::supabase::diagnose;
use crate::supabase::pooler::{self, Places};
use crate::url::percent_encode;

/// A URL and, for each part, where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub url: String,
    pub parts: Vec<(&'static str, String, String)>,
    pub notes: Vec<String>,
    /// The same URL on the region's other pooler (`aws-1`), for when the one
    /// in `url` answers that it does not know the project.
    pub alternate: Option<String>,
}

impl Built {
    /// What to try after `url` failed with `message`: the region's other
    /// pooler, when this one says it does not know the project.
    pub fn retry_after(&self, url: &str, message: &str) -> Option<&str> {
        self.alternate.as_deref().filter(|_| self.url == url && message.contains(pooler::UNKNOWN_TENANT))
    }
}

/// Build the URL from Supabase variables; None when none of them is set.
/// `get` answers a variable's value and where it came from.
pub fn build(get: impl Fn(&str) -> Option<(String, String)>, places: &Places) -> Result<Option<Built>> {
    let project = get("VITE_SUPABASE_URL").or_else(|| get("SUPABASE_URL"));
    let password = get("SUPABASE_DB_PASSWORD");
    let (project_url, project_from) = match (project, &password) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(Error::new(
                Kind::SupabaseConfig,
                "SUPABASE_DB_PASSWORD is set, but neither VITE_SUPABASE_URL nor SUPABASE_URL says which project",
            )
            .hint("add VITE_SUPABASE_URL=https://<project-ref>.supabase.co to .env, or set DATABASE_URL"))
        }
        (Some(p), _) => p,
    };
    let project_ref = project_ref(&project_url)?;
    let Some((password, password_from)) = password else {
        return Err(Error::new(
            Kind::SupabaseConfig,
            format!("{project_from} names a Supabase project, but SUPABASE_DB_PASSWORD is not set"),
        )
        .hint("add SUPABASE_DB_PASSWORD=<database password> to .env (Dashboard → Project Settings → Database), or set DATABASE_URL"));
    };
    diagnose::check_password(&password, &password_from)?;

    let found = pooler::find(&project_ref, &get, places)?;
    let mut notes = Vec::new();
    if let Some(other) = &found.alternate {
        notes.push(format!(
            "using {} from SUPABASE_REGION; {other} is tried if that pooler does not know the project",
            found.host
        ));
    }
    let (user, host, port, host_from) = (found.user, found.host, found.port, found.from);
    if port == 6543 {
        return Err(Error::new(
            Kind::TransactionPooler,
            format!("{host_from} points at port 6543, Supabase's transaction pooler: migrations need a session"),
        )
        .hint("use the session pooler on port 5432 (leave the port out of SUPABASE_POOLER_HOST)"));
    }
    let url_on =
        |host: &str| format!("postgres://{user}:{}@{host}:{port}/postgres?sslmode=require", percent_encode(&password));
    Ok(Some(Built {
        url: url_on(&host),
        alternate: found.alternate.as_deref().map(url_on),
        parts: vec![
            ("project ref", project_ref, project_from),
            ("password", format!("({} characters)", password.chars().count()), password_from),
            ("host", format!("{host}:{port} as {user}"), host_from),
        ],
        notes,
    }))
}

/// `https://<ref>.supabase.co` → `<ref>`.
pub fn project_ref(url: &str) -> Result<String> {
    let trimmed = url.trim();
    let host = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    match host.strip_suffix(".supabase.co") {
        Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) => {
            Ok(r.to_string())
        }
        _ => {
            let local = host == "localhost" || host.starts_with("127.");
            let err = Error::new(
                Kind::SupabaseConfig,
                format!("`{trimmed}` is not a Supabase project URL (https://<project-ref>.supabase.co)"),
            );
            Err(if local {
                err.hint("for the Supabase CLI's local stack set DATABASE_URL=postgres://postgres:postgres@127.0.0.1:54322/postgres")
            } else {
                err.hint("copy the Project URL from the Dashboard (Project Settings → API), or set DATABASE_URL")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn build_from(vars: &[(&str, &str)]) -> Result<Option<Built>> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let dir = std::env::temp_dir().join(format!("cargo-migrate-url-{}", std::process::id()));
        let places = Places { project_dirs: vec![dir.clone()], target_dir: dir.join("target") };
        build(|k| map.get(k).map(|v| (v.clone(), format!("{k} in .env"))), &places)
    }

    const NASTY: &str = "p@ss:w/rd#?%&+ é[]=;'\"";

    #[test]
    fn builds_the_session_pooler_url_with_the_password_encoded() {
        let b = build_from(&[
            ("VITE_SUPABASE_URL", "https://abcdefghijklmnopqrst.supabase.co"),
            ("SUPABASE_DB_PASSWORD", NASTY),
            ("SUPABASE_REGION", "eu-west-1"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            b.url,
            "postgres://postgres.abcdefghijklmnopqrst:p%40ss%3Aw%2Frd%23%3F%25%26%2B%20%C3%A9%5B%5D%3D%3B%27%22\
             @aws-0-eu-west-1.pooler.supabase.com:5432/postgres?sslmode=require"
        );
        let parsed = crate::url::parse_any(&b.url).ok().unwrap();
        assert_eq!(parsed.password.as_deref(), Some(NASTY));
        assert_eq!(parsed.user.as_deref(), Some("postgres.abcdefghijklmnopqrst"));
        let supavisor = "FATAL:  Tenant or user not found";
        let retry = b.retry_after(&b.url, supavisor).unwrap();
        assert!(retry.contains("@aws-1-eu-west-1.pooler.supabase.com:5432/"), "{retry}");
        assert_eq!(b.retry_after(&b.url, "password authentication failed"), None);
        assert_eq!(b.retry_after("postgres://other", supavisor), None);
        assert_eq!(b.retry_after(retry, supavisor), None);
    }

    #[test]
    fn pooler_host_wins_and_may_carry_a_port() {
        let b = build_from(&[
            ("SUPABASE_URL", "https://abc.supabase.co/"),
            ("SUPABASE_DB_PASSWORD", "pw"),
            ("SUPABASE_POOLER_HOST", "127.0.0.1:6000"),
            ("SUPABASE_REGION", "us-east-1"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(b.url, "postgres://postgres.abc:pw@127.0.0.1:6000/postgres?sslmode=require");
        let err = build_from(&[
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("SUPABASE_DB_PASSWORD", "pw"),
            ("SUPABASE_POOLER_HOST", "aws-0-x.pooler.supabase.com:6543"),
        ])
        .unwrap_err();
        assert_eq!(err.kind, crate::error::Kind::TransactionPooler);
    }

    #[test]
    fn without_anything_naming_the_pooler_it_refuses_to_guess() {
        let err = build_from(&[("VITE_SUPABASE_URL", "https://abc.supabase.co"), ("SUPABASE_DB_PASSWORD", "pw")])
            .unwrap_err();
        assert_eq!(err.kind, crate::error::Kind::SupabaseConfig);
        assert!(err.hint.as_deref().unwrap().contains("SUPABASE_REGION"));
    }

    #[test]
    fn nothing_set_is_none_and_half_set_is_an_error() {
        assert_eq!(build_from(&[]).unwrap(), None);
        assert_eq!(build_from(&[("SUPABASE_DB_PASSWORD", "pw")]).unwrap_err().kind, crate::error::Kind::SupabaseConfig);
        assert_eq!(
            build_from(&[("VITE_SUPABASE_URL", "https://abc.supabase.co")]).unwrap_err().kind,
            crate::error::Kind::SupabaseConfig
        );
    }

    #[test]
    fn refuses_urls_that_are_not_supabase_projects() {
        for bad in ["https://example.com", "http://localhost:54321", "https://.supabase.co", "abc"] {
            let err = project_ref(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::Kind::SupabaseConfig, "{bad}");
        }
        assert!(project_ref("http://localhost:54321").unwrap_err().hint.clone().unwrap().contains("54322"));
    }

    #[test]
    fn api_keys_are_refused_as_passwords() {
        for key in ["eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.x", "sb_secret_abc", "sb_publishable_abc"] {
            let err = build_from(&[
                ("VITE_SUPABASE_URL", "https://abc.supabase.co"),
                ("SUPABASE_DB_PASSWORD", key),
                ("SUPABASE_REGION", "eu-west-1"),
            ])
            .unwrap_err();
            assert_eq!(err.kind, crate::error::Kind::ApiKeyAsPassword, "{key}");
            assert!(!err.to_string().contains(key));
        }
    }
}
