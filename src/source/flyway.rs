//! Flyway: `V<version>__<description>.sql`, with `U<version>__…` undo files
//! and `R__…` repeatable ones. Shared with refinery (`refinery.rs`), whose
//! names are the same.
//!
//! Versions: Flyway's and refinery's are integers compared as numbers
//! (`V10` after `V9`); diesel compares versions as text. So `V<n>` becomes
//! diesel version `n` padded with zeros to four digits (`V1` → `0001`,
//! `V12` → `0012`; wider numbers, such as timestamps, are kept), which sorts
//! the same way and sorts before every `cargo migrate create` timestamp.
//! adopt matches the histories' integer versions by value. Dotted versions
//! (`V1.1`, `V1_1`) have no such mapping and are refused.

use super::layout::{Named, Role};

/// The diesel version of Flyway's / refinery's integer version `n`.
pub fn version(n: &str) -> String {
    let n = n.trim_start_matches('0');
    let n = if n.is_empty() { "0" } else { n };
    format!("{n:0>4}")
}

pub fn name(file: &str, is_dir: bool) -> Option<Named> {
    named(file, is_dir, Role::Down)
}

/// `V`/`U`/`R` names; `u` is what a `U` file is in this tool.
pub(super) fn named(file: &str, is_dir: bool, u: Role) -> Option<Named> {
    if is_dir {
        return None;
    }
    let stem = file.strip_suffix(".sql")?;
    let prefix = stem.chars().next()?;
    let rest = &stem[1..];
    if prefix == 'R' && rest.starts_with("__") {
        return Some(Named::Refused(
            "a Flyway repeatable migration (`R__`): it runs again whenever it changes, which diesel's layout cannot say; \
             copy its SQL into a new migration (`cargo migrate create`) when it changes"
                .into(),
        ));
    }
    if !matches!(prefix, 'V' | 'U') {
        return None;
    }
    let (number, description) = rest.split_once("__")?;
    if number.is_empty() || !number.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Named::Refused(format!(
            "version `{number}` is not a whole number: dotted versions have no diesel version; \
             import renames nothing, so rename it `V<n>__{description}.sql` first"
        )));
    }
    let role = if prefix == 'V' { Role::Up } else { u };
    Some(Named::Part { version: version(number), name: format!("{}_{description}", version(number)), role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_numbers() {
        assert_eq!(version("1"), "0001");
        assert_eq!(version("12"), "0012");
        assert_eq!(version("007"), "0007");
        assert_eq!(version("20240101120000"), "20240101120000");
        assert!(version("9") < version("10"));
    }

    #[test]
    fn names() {
        assert_eq!(
            name("V2__add_users.sql", false),
            Some(Named::Part { version: "0002".into(), name: "0002_add_users".into(), role: Role::Up })
        );
        assert!(matches!(name("U2__add_users.sql", false), Some(Named::Part { role: Role::Down, .. })));
        assert!(matches!(name("R__views.sql", false), Some(Named::Refused(_))));
        assert!(matches!(name("V1.1__fix.sql", false), Some(Named::Refused(_))));
        assert_eq!(name("Vacuum.sql", false), None);
        assert_eq!(name("20240101_x.sql", false), None);
    }
}
