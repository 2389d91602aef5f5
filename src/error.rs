//! One error type for everything a user can meet. Every error says what is
//! wrong and, where we know it, what to do (`hint`). Constructors are named
//! after the situation so the call sites read like the report.

use std::fmt;
use std::path::Path;

/// Exit codes are part of the interface (documented in README.md).
pub mod exit {
    pub const OK: u8 = 0;
    /// Something failed: nothing was done, or the report says what was.
    pub const FAILURE: u8 = 1;
    /// The command line or an input (a name, a version) is wrong.
    pub const USAGE: u8 = 2;
    /// `status --exit-code`: migrations are pending or something is odd.
    pub const PENDING: u8 = 3;
}

#[derive(Debug, Clone)]
pub struct Error {
    /// A stable identifier for `--format json` and tests, e.g. `out_of_order`.
    pub kind: &'static str,
    pub message: String,
    /// Extra lines shown under the message (file excerpts, lists).
    pub details: Vec<String>,
    pub hint: Option<String>,
    pub exit_code: u8,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), details: Vec::new(), hint: None, exit_code: exit::FAILURE }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    pub fn usage(mut self) -> Self {
        self.exit_code = exit::USAGE;
        self
    }

    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        Error::new("io", format!("could not {action} {}: {err}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        for line in &self.details {
            write!(f, "\n{line}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
