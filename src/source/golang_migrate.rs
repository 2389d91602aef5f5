//! golang-migrate: `<version>_<name>.up.sql` and `<version>_<name>.down.sql`
//! (`migrate create -ext sql -seq` pads versions to six digits, timestamps
//! otherwise). Each file is plain SQL; golang-migrate has no in-file options.

use super::naming::{versioned, Named, Role};

pub fn name(file: &str, is_dir: bool) -> Option<Named> {
    if is_dir {
        return None;
    }
    let (stem, role) = if let Some(stem) = file.strip_suffix(".up.sql") {
        (stem, Role::Up)
    } else {
        (file.strip_suffix(".down.sql")?, Role::Down)
    };
    let (version, _) = versioned(stem)?;
    Some(Named::Part { version: version.to_string(), name: stem.to_string(), role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs() {
        assert_eq!(
            name("000001_create_users.up.sql", false),
            Some(Named::Part { version: "000001".into(), name: "000001_create_users".into(), role: Role::Up })
        );
        assert!(matches!(name("000001_create_users.down.sql", false), Some(Named::Part { role: Role::Down, .. })));
        assert_eq!(name("000001_create_users.sql", false), None);
        assert_eq!(name("create_users.up.sql", false), None);
    }
}
