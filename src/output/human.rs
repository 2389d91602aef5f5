//! The one renderer of errors into words: the message, the lines its kind's
//! fields make, the free lines it carries, the hint.

use super::style;
use crate::error::{Aftermath, DatabaseHas, Error, Kind};
use crate::show::{clean, ran};

/// An error as the terminal shows it (coloured labels where colour is on).
pub fn error(err: &Error) -> String {
    let mut text = format!("{} {}", style::error_label(), err.message);
    for line in details(err) {
        text.push('\n');
        text.push_str(&line);
    }
    if let Some(hint) = &err.hint {
        text.push_str(&format!("\n{} {hint}", style::hint_label()));
    }
    text
}

/// An error as plain text: its message, the lines under it, its hint.
pub fn plain(err: &Error) -> String {
    let mut text = err.message.clone();
    for line in details(err) {
        text.push('\n');
        text.push_str(&line);
    }
    if let Some(hint) = &err.hint {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}

/// The lines under an error's message: what its kind's fields say, then
/// the free lines it carries.
pub fn details(err: &Error) -> Vec<String> {
    let mut out = Vec::new();
    match &err.kind {
        Kind::OutOfOrder { versions } => out.extend(versions.iter().map(|v| format!("  - {v}"))),
        Kind::Modified { migrations } => out.extend(
            migrations
                .iter()
                .map(|m| format!("  - {}: checksum {} when applied, {} now", m.version, m.recorded, m.current)),
        ),
        Kind::MigrationFailed(f) => {
            let name = &f.migration.name;
            if let Some(text) = &f.source_line {
                out.push(format!("   | {text}"));
                if let Some(col) = f.column {
                    out.push(format!("   | {}^", " ".repeat(text.chars().take(col - 1).count())));
                }
            }
            if let Some(d) = &f.server_detail {
                out.push(format!("  detail: {}", clean(d)));
            }
            if let Some(h) = &f.server_hint {
                out.push(format!("  postgres hint: {}", clean(h)));
            }
            match f.aftermath {
                Aftermath::NothingRan => {
                    out.push(format!("  {name} runs outside a transaction: its first statement failed, so nothing of it ran"))
                }
                Aftermath::RolledBack => out.push(format!("  {name} was rolled back: nothing of it is applied")),
                Aftermath::PartlyApplied => out.push(format!(
                    "  {name} runs outside a transaction (metadata.toml): {} already ran (that stays){}; it is not recorded as applied",
                    ran(f.statements_done.unwrap_or(0)),
                    if f.tracked { " (`cargo migrate status` shows it as partly applied)" } else { "" }
                )),
                Aftermath::NotRun | Aftermath::Unknown => {}
            }
            out.extend(f.notices.iter().map(|n| format!("  {}: {}", n.severity.as_str(), clean(&n.message))));
        }
        Kind::ConnectionLost(c) => {
            if let (Some(m), Some(has)) = (&c.migration, c.database_has) {
                let verb = if c.applying { "applied" } else { "reverted" };
                let name = &m.name;
                out.push(match has {
                    DatabaseHas::Unknown => format!(
                        "  the outcome of {name} is unknown, and reconnecting to check failed: {}",
                        c.reconnect_error.as_deref().unwrap_or("")
                    ),
                    DatabaseHas::Committed => {
                        format!("  the server had committed it before the connection dropped: {name} is {verb}")
                    }
                    DatabaseHas::RolledBack => format!("  the server rolled it back: {name} is not {verb}"),
                    DatabaseHas::MaybePartly => format!(
                        "  {name} runs outside a transaction: part of it may have run; `cargo migrate status` shows how far it got"
                    ),
                });
            }
        }
        Kind::OutcomeUnknown { migration, pid, waited_s } => {
            let session = pid.map_or("its session".to_string(), |pid| format!("its session (pid {pid})"));
            out.push(format!(
                "  outcome unknown: the server is still running {session} {waited_s} s after the connection dropped, \
                 so whether {} took effect cannot be told yet",
                migration.name
            ));
        }
        _ => {}
    }
    out.extend(err.details.iter().cloned());
    out
}
