//! Which tool's naming a migrations folder follows, and what each file name
//! says: one reader per layout beside this file (sqlx, golang-migrate,
//! refinery, Flyway, goose, Prisma). Pure: names in, roles out.

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

/// What a file or folder name is in a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// A migration: its diesel version and name, and which part this file is.
    Part { version: String, name: String, role: Role },
    /// Looks like the layout's, but cargo migrate cannot run it: why.
    Refused(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A file with both directions in it (or up only): sections decide.
    Whole,
    /// The up file of a pair (`.up.sql`, Flyway's `V`).
    Up,
    /// The down file of a pair (`.down.sql`, Flyway's `U`).
    Down,
    /// A folder whose one `migration.sql` is the migration (Prisma).
    Folder(&'static str),
}

/// `<digits>_<rest>` with the digits and rest, if the name is that.
pub fn versioned(stem: &str) -> Option<(&str, &str)> {
    let (v, rest) = stem.split_once('_')?;
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then_some((v, rest))
}
