//! sqlx: `<version>_<description>.sql` (up-only), or reversible
//! `<version>_<description>.up.sql` / `.down.sql`; a file whose first line is
//! `-- no-transaction` runs outside a transaction (sqlx-core
//! `migrate/source.rs`; the sections reader keeps that flag).

use super::naming::{versioned, Named, Role};

pub fn name(file: &str, is_dir: bool) -> Option<Named> {
    if is_dir {
        return None;
    }
    // The reversible pair is golang-migrate's naming too.
    if let Some(pair) = super::golang_migrate::name(file, false) {
        return Some(pair);
    }
    let stem = file.strip_suffix(".sql")?;
    let (version, _) = versioned(stem)?;
    Some(Named::Part { version: version.to_string(), name: stem.to_string(), role: Role::Whole })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_reversible() {
        assert!(matches!(name("20220101000000_users.sql", false), Some(Named::Part { role: Role::Whole, .. })));
        assert!(matches!(name("20220101000000_users.up.sql", false), Some(Named::Part { role: Role::Up, .. })));
        assert_eq!(name("users.sql", false), None);
    }
}
