//! What the user sees. Colour is decided once, here, before any output; every
//! line passes through `redact`, so a password can never reach the terminal,
//! a CI log or a JSON consumer.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use colored::Colorize;

use crate::cli::{ColorChoice, Format};
use crate::error::Error;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SHOW_SECRETS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The user asked to see the password (`database-url --show-password`).
pub fn allow_secrets() {
    SHOW_SECRETS.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Remember a secret: from now on it is replaced by `****` in all output.
pub fn add_secret(secret: &str) {
    // Very short strings would mangle ordinary words; URLs are masked
    // structurally anyway (`connection::mask`), this is the safety net.
    if secret.chars().count() >= 3 {
        let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }
}

pub fn redact(text: &str) -> String {
    if SHOW_SECRETS.load(std::sync::atomic::Ordering::SeqCst) {
        return text.to_string();
    }
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "****");
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    pub format: Format,
    pub quiet: bool,
}

impl Reporter {
    pub fn new(format: Format, color: ColorChoice, quiet: bool) -> Self {
        let colour = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        };
        colored::control::set_override(colour);
        Reporter { format, quiet }
    }

    pub fn human(&self) -> bool {
        self.format == Format::Human
    }

    /// A progress or result line for humans (stdout).
    pub fn line(&self, text: impl AsRef<str>) {
        if self.human() && !self.quiet {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", redact(text.as_ref()));
            let _ = out.flush();
        }
    }

    /// Output that is the point of the command (`status`): shown even with --quiet.
    pub fn result(&self, text: impl AsRef<str>) {
        if self.human() {
            println!("{}", redact(text.as_ref()));
        }
    }

    /// A notice on stderr: not part of the result, shown unless --quiet.
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", redact(text.as_ref()));
        }
    }

    pub fn json(&self, value: &serde_json::Value) {
        if self.format == Format::Json {
            println!("{}", redact(&serde_json::to_string_pretty(value).unwrap_or_default()));
        }
    }

    pub fn error(&self, err: &Error) {
        let mut text = format!("{} {}", "error:".red().bold(), err.message);
        for line in &err.details {
            text.push('\n');
            text.push_str(line);
        }
        if let Some(hint) = &err.hint {
            text.push_str(&format!("\n{} {hint}", "hint:".cyan().bold()));
        }
        eprintln!("{}", redact(&text));
        if self.format == Format::Json {
            self.json(&serde_json::json!({
                "ok": false,
                "error": {
                    "kind": err.kind,
                    "message": err.message,
                    "details": err.details,
                    "hint": err.hint,
                    "exit_code": err.exit_code,
                }
            }));
        }
    }
}

/// A path as the user should see it: relative to where they stand when inside it.
pub fn display_path(path: &std::path::Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) => path.strip_prefix(&cwd).unwrap_or(path).display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// Milliseconds, in a width that lines up.
pub fn ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_registered_secrets() {
        add_secret("hunter2-secret");
        assert_eq!(redact("url postgres://u:hunter2-secret@h"), "url postgres://u:****@h");
        add_secret("ab");
        assert_eq!(redact("ab cd"), "ab cd");
    }
}
