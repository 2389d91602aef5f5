//! Which tool's naming a migrations folder follows, and what each file name
//! says: one reader per layout beside this file (sqlx, golang-migrate,
//! refinery, Flyway, goose, Prisma). Pure: names in, roles out.

pub use super::naming::{Named, Role};
use super::{flyway, golang_migrate, goose, prisma, refinery, sqlx};

/// A tool whose folder cargo migrate reads in place and `import` converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Sqlx,
    GolangMigrate,
    Refinery,
    Flyway,
    Goose,
    Prisma,
}

impl Layout {
    pub fn label(self) -> &'static str {
        match self {
            Layout::Sqlx => "sqlx",
            Layout::GolangMigrate => "golang-migrate",
            Layout::Refinery => "refinery",
            Layout::Flyway => "Flyway",
            Layout::Goose => "goose",
            Layout::Prisma => "Prisma",
        }
    }

    /// The file names it expects, for a refusal.
    pub fn pattern(self) -> &'static str {
        match self {
            Layout::Sqlx => "`<version>_<description>.sql`, or `.up.sql` / `.down.sql`",
            Layout::GolangMigrate => "`<version>_<name>.up.sql` / `.down.sql`",
            Layout::Refinery => "`V<n>__<name>.sql`",
            Layout::Flyway => "`V<n>__<name>.sql` (undo: `U<n>__<name>.sql`)",
            Layout::Goose => "`<version>_<name>.sql` with `-- +goose Up`",
            Layout::Prisma => "`<timestamp>_<name>/migration.sql`",
        }
    }

    /// What `name` (a file, or a folder when `is_dir`) is in this layout.
    pub fn name(self, name: &str, is_dir: bool) -> Option<Named> {
        match self {
            Layout::Sqlx => sqlx::name(name, is_dir),
            Layout::GolangMigrate => golang_migrate::name(name, is_dir),
            Layout::Refinery => refinery::name(name, is_dir),
            Layout::Flyway => flyway::name(name, is_dir),
            Layout::Goose => goose::name(name, is_dir),
            Layout::Prisma => prisma::name(name, is_dir),
        }
    }
}
