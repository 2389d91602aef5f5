//! Connection strings, handled without connecting: [`grammar`] reads
//! `postgres://` URLs and libpq key/value strings, [`redact`] finds the
//! secrets in them. What to tell a user about a refused URL is the command
//! layer's (`commands::url_check`).

pub mod grammar;
pub mod redact;

pub use grammar::{parse_any, percent_encode, with_params, DbUrl, UrlError};
pub use redact::{mask, secrets, target_of, worth_redacting};

/// What a password is replaced by, wherever it is shown.
const MASK: &str = "****";
