//! The database URL a command is given, checked once before anything
//! connects: `database-url` and every command that connects refuse the same
//! strings, and what to do about a refused one is said here, not in the
//! grammar (`url::grammar` knows what is wrong, not what the user can do).

use crate::error::{Error, Kind, Result};
use crate::url::{self, DbUrl, UrlError};

/// DATABASE_URL wins over the Supabase variables, so building the URL from the
/// plain password only happens when DATABASE_URL is left unset.
const BUILD_HINT: &str = "`cargo migrate database-url` builds a correctly encoded URL from SUPABASE_DB_PASSWORD: \
     leave DATABASE_URL unset, put the plain password in SUPABASE_DB_PASSWORD and the project URL in \
     VITE_SUPABASE_URL (`--write-env` stores the result)";

/// Parse `url` as libpq will, and refuse what cannot run migrations (the
/// transaction pooler), with the fix.
pub fn validate(url: &str) -> Result<DbUrl> {
    let parsed = url::parse_any(url).map_err(|e| Error::new(Kind::BadDatabaseUrl, e.message()).hint(hint(&e)))?;
    crate::supabase::diagnose::refuse_transaction_pooler(url)?;
    Ok(parsed)
}

/// What to do about a refused URL. Takes no text of the URL, so it cannot
/// quote a password.
pub fn hint(e: &UrlError) -> String {
    match e {
        UrlError::Empty => format!("set DATABASE_URL=postgres://user:password@host:5432/dbname, or: {BUILD_HINT}"),
        UrlError::Whitespace => "remove the spaces or newline around the URL (check the quotes in .env)".into(),
        UrlError::WrongScheme { .. } | UrlError::NotAUrl => {
            "use a postgres://user:password@host:5432/dbname URL".into()
        }
        UrlError::SpecialCharacter | UrlError::BadPercentEncoding => BUILD_HINT.into(),
        UrlError::BadHost | UrlError::BadPort => format!(
            "write postgres://user:password@host:5432/dbname, with any @ : / # ? % in the password \
             percent-encoded; {BUILD_HINT}"
        ),
        UrlError::BadParam => "write parameters as ?key=value&key=value, percent-encoding the values".into(),
        UrlError::BadKeyValue => {
            "e.g. host=localhost port=5432 user=me password='a b\\'c' dbname=app, or use a postgres:// URL".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_urls_point_at_database_url() {
        let e = url::parse_any("postgres://u:p@ss@h/db").unwrap_err();
        assert!(hint(&e).contains("cargo migrate database-url") && hint(&e).contains("SUPABASE_DB_PASSWORD"));
        let err = validate("postgres://app:p@ss:w/rd@host/db").unwrap_err();
        assert_eq!(err.kind, Kind::BadDatabaseUrl);
        assert!(!err.to_string().contains("ss:w"), "{err}");
        assert_eq!(validate("postgres://u:pw@h:6543/db").unwrap_err().kind, Kind::TransactionPooler);
        assert_eq!(validate("postgres://u:pw@h:5432/db").unwrap().port, Some(5432));
    }
}
