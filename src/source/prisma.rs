//! Prisma Migrate: `prisma/migrations/<timestamp>_<name>/migration.sql`, up-only,
//! beside `migration_lock.toml`. The folder is the migration; its version is
//! the timestamp.

use std::path::Path;

use super::naming::{versioned, Named, Role};

/// The one file of a Prisma migration folder.
pub const FILE: &str = "migration.sql";

/// A folder of Prisma's: `migration_lock.toml`, or where `prisma migrate` puts it.
pub fn is_prisma_folder(dir: &Path) -> bool {
    dir.ends_with("prisma/migrations") || dir.join("migration_lock.toml").is_file()
}

pub fn name(folder: &str, is_dir: bool) -> Option<Named> {
    if !is_dir {
        return None;
    }
    let (version, _) = versioned(folder)?;
    Some(Named::Part { version: version.to_string(), name: folder.to_string(), role: Role::Folder(FILE) })
}
