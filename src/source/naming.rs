//! What a file name says in one tool's layout: the readers' shared vocabulary.

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
