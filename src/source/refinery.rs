//! refinery: `V<n>__<name>.sql` (and `U<n>__…`, which refinery calls
//! unversioned: applied like the others, not an undo), up-only. Versions map
//! as Flyway's do (`flyway.rs`).

use super::naming::{Named, Role};

pub fn name(file: &str, is_dir: bool) -> Option<Named> {
    super::flyway::named(file, is_dir, Role::Up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_is_a_migration_not_an_undo() {
        assert!(matches!(name("U3__seed.sql", false), Some(Named::Part { role: Role::Up, .. })));
        assert!(matches!(name("V1__initial.sql", false), Some(Named::Part { role: Role::Up, .. })));
    }
}
