//! Flyway: `V<version>__<description>.sql`, with `U<version>__…` undo files
//! and `R__…` repeatable ones. Shared with refinery (`refinery.rs`), whose
//! names are the same.
//!
//! Versions: Flyway's and refinery's are numbers compared as numbers (`V10`
//! after `V9`, Flyway's dotted `V2.1` between `V2` and `V3`); diesel compares
//! versions as text. So each part of the version is padded with zeros to
//! four digits and the parts are joined: `V1` → `0001`, `V12` → `0012`,
//! `V2.1` (or `V2_1`) → `00020001`. That sorts as Flyway does, and before
//! every `cargo migrate create` timestamp; a first part wider than four
//! digits (a timestamp) is kept as it is. adopt maps the histories' versions
//! the same way.

use super::naming::{Named, Role};

/// The diesel version of Flyway's / refinery's version (`1`, `2.1`, `2_1`),
/// or None when it is not digits and dots.
pub fn version(v: &str) -> Option<String> {
    let mut out = String::new();
    for part in v.split(['.', '_']) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = part.trim_start_matches('0');
        out.push_str(&format!("{:0>4}", if n.is_empty() { "0" } else { n }));
    }
    Some(out)
}

pub fn name(file: &str, is_dir: bool) -> Option<Named> {
    named(file, is_dir, Role::Down)
}

/// `V`/`U`/`R` names; `u` is what a `U` file is in this tool.
pub(super) fn named(file: &str, is_dir: bool, u: Role) -> Option<Named> {
    if is_dir {
        return None;
    }
    let Some(stem) = file.strip_suffix(".sql") else {
        // Flyway's Java migrations, refinery's Rust ones: code, no SQL to copy.
        let (stem, ext) = file.rsplit_once('.')?;
        let versioned = stem.starts_with(['V', 'U']) && stem[1..].starts_with(|c: char| c.is_ascii_digit());
        return (versioned && stem.contains("__") && matches!(ext, "java" | "kt" | "rs")).then(|| {
            Named::Refused(format!(
                "a migration written in code (.{ext}): it has no SQL to copy; write what it does into a new migration (`cargo migrate create`)"
            ))
        });
    };
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
    let Some(v) = version(number) else {
        return Some(Named::Refused(format!("version `{number}` is not numbers separated by dots")));
    };
    let role = if prefix == 'V' { Role::Up } else { u };
    Some(Named::Part { name: format!("{v}_{description}"), version: v, role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_numbers() {
        let v = |s: &str| version(s).unwrap();
        assert_eq!(v("1"), "0001");
        assert_eq!(v("12"), "0012");
        assert_eq!(v("007"), "0007");
        assert_eq!(v("20240101120000"), "20240101120000");
        assert_eq!(v("2.1"), "00020001");
        assert_eq!(v("2_1"), "00020001");
        let order = ["1", "2", "2.1", "2.10", "3", "9", "10", "17.1", "17.2", "18"];
        assert!(order.windows(2).all(|w| v(w[0]) < v(w[1])), "{:?}", order.map(v));
        assert_eq!(version("1a"), None);
    }

    #[test]
    fn names() {
        assert_eq!(
            name("V2__add_users.sql", false),
            Some(Named::Part { version: "0002".into(), name: "0002_add_users".into(), role: Role::Up })
        );
        assert!(matches!(name("U2__add_users.sql", false), Some(Named::Part { role: Role::Down, .. })));
        assert!(matches!(name("R__views.sql", false), Some(Named::Refused(_))));
        assert!(matches!(name("V1.1__fix.sql", false), Some(Named::Part { role: Role::Up, .. })));
        assert!(matches!(name("V1x__fix.sql", false), Some(Named::Refused(_))));
        assert!(matches!(name("V44_1__Backfill.java", false), Some(Named::Refused(_))));
        assert_eq!(name("V57_BackfillTest.java", false), None);
        assert_eq!(name("Vacuum.sql", false), None);
        assert_eq!(name("20240101_x.sql", false), None);
    }
}
