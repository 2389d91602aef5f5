//! What the user sees. Colour is decided once per stream (a terminal on
//! stdout says nothing about a redirected stderr); every line passes through
//! `show::redact`. `human` renders errors, `json` holds the `--format json`
//! documents, `lint` what `lint` shows, `style` the coloured words. Writes
//! never panic: a closed pipe (`status | head`) just ends the output. Only
//! the commands use this module: the stages below return data.

use std::io::Write;

use serde::Serialize;

pub mod check;
pub mod fleet;
pub mod human;
pub mod json;
pub mod lint;
pub mod progress;
pub mod rehearse;
#[cfg(test)]
mod schema;
pub mod style;

pub use crate::show::{add_secret, allow_secrets, clean, display_path, escape, json_path, ran, redact};
pub use json::*;
pub use rehearse::*;
pub use style::ms;

use crate::error::{Error, Severity};

pub use crate::error::Notice;

/// `--format`, as the commands pass it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0 (GitHub code scanning); `lint` only.
    Sarif,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    pub format: Format,
    pub quiet: bool,
    color: anstream::ColorChoice,
    /// Prints nothing: one target of a fleet, whose outcome the fleet reports.
    muted: bool,
}

impl Reporter {
    pub fn new(format: Format, color: Color, quiet: bool) -> Self {
        let color = match color {
            Color::Always => anstream::ColorChoice::Always,
            Color::Never => anstream::ColorChoice::Never,
            Color::Auto => anstream::ColorChoice::Auto,
        };
        // Codes are made when either stream wants them; a stream that does
        // not (not a terminal, NO_COLOR) strips them. When neither does, none
        // are made: nothing to strip from thousands of lines.
        let wants = |c: anstream::ColorChoice| c != anstream::ColorChoice::Never;
        let stdout = anstream::AutoStream::choice(&std::io::stdout());
        let stderr = anstream::AutoStream::choice(&std::io::stderr());
        let any = match color {
            anstream::ColorChoice::Auto => wants(stdout) || wants(stderr),
            c => wants(c),
        };
        colored::control::set_override(any);
        let color = if any { color } else { anstream::ColorChoice::Never };
        Reporter { format, quiet, color, muted: false }
    }

    /// The same, printing nothing.
    pub fn muted(self) -> Self {
        Reporter { muted: true, ..self }
    }

    pub fn human(&self) -> bool {
        self.format == Format::Human
    }

    fn stdout(&self, text: &str) {
        if self.muted {
            return;
        }
        let text = redact(text);
        if progress::println(&text) {
            return;
        }
        if self.color == anstream::ColorChoice::Never {
            // No codes were made: nothing to strip.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        } else {
            let mut out = anstream::AutoStream::new(std::io::stdout().lock(), self.color);
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    fn stderr(&self, text: &str) {
        if self.muted {
            return;
        }
        let text = redact(text);
        if progress::println(&text) {
            return;
        }
        if self.color == anstream::ColorChoice::Never {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        } else {
            let _ = writeln!(anstream::AutoStream::new(std::io::stderr().lock(), self.color), "{text}");
        }
    }

    /// A progress or result line for humans (stdout), hidden by --quiet.
    pub fn line(&self, text: impl AsRef<str>) {
        if self.human() && !self.quiet {
            self.stdout(text.as_ref());
        }
    }

    /// Output that is the point of the command (`status`): shown even with --quiet.
    pub fn result(&self, text: impl AsRef<str>) {
        if self.human() {
            self.stdout(text.as_ref());
        }
    }

    /// A warning on stderr, shown even with --quiet.
    pub fn warn(&self, text: impl AsRef<str>) {
        use colored::Colorize;
        self.stderr(&format!("{} {}", "warning:".yellow().bold(), text.as_ref()));
    }

    /// A notice on stderr: not part of the result, hidden by --quiet.
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            self.stderr(text.as_ref());
        }
    }

    /// The server's messages under the migration that raised them, as psql
    /// shows them; --quiet hides notices, never warnings.
    pub fn notices(&self, notices: &[Notice]) {
        for n in notices {
            let warning = n.severity == Severity::Warning;
            if self.quiet && !warning {
                continue;
            }
            let label = style::severity_label(n.severity);
            let mut text = format!("      {label}: {}", clean(&n.message));
            if let Some(d) = &n.detail {
                text.push_str(&format!("\n      DETAIL: {}", clean(d)));
            }
            if let Some(h) = &n.hint {
                text.push_str(&format!("\n      HINT: {}", clean(h)));
            }
            if self.human() {
                self.stdout(&text);
            } else {
                self.stderr(&text);
            }
        }
    }

    pub fn json(&self, value: &impl Serialize) {
        if self.format == Format::Json {
            match serde_json::to_string_pretty(value) {
                Ok(text) => self.stdout(&text),
                Err(e) => self.stderr(&format!("error: could not write JSON output: {e}")),
            }
        }
    }

    /// `--format sarif` (only `lint` writes it).
    pub fn sarif(&self, value: &impl Serialize) {
        if self.format == Format::Sarif {
            match serde_json::to_string_pretty(value) {
                Ok(text) => self.stdout(&text),
                Err(e) => self.stderr(&format!("error: could not write SARIF output: {e}")),
            }
        }
    }

    pub fn error(&self, err: &Error) {
        self.stderr(&human::error(err));
        self.json(&ErrorOutput {
            ok: false,
            error: ErrorJson {
                kind: &err.kind,
                message: &err.message,
                details: &err.details,
                hint: err.hint.as_deref(),
                exit_code: err.exit_code(),
                done_before: err.done_before.as_deref(),
            },
        });
    }
}
