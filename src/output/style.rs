//! Terminal styling: the coloured words every renderer shares. A leaf.

use colored::Colorize;

use crate::error::Severity;

/// `error:`, red and bold.
pub fn error_label() -> String {
    "error:".red().bold().to_string()
}

/// `hint:`, cyan and bold.
pub fn hint_label() -> String {
    "hint:".cyan().bold().to_string()
}

/// A server message's severity: warnings stand out.
pub fn severity_label(severity: Severity) -> String {
    let text = severity.as_str();
    if severity == Severity::Warning {
        text.yellow().bold().to_string()
    } else {
        text.cyan().to_string()
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
