//! A migrations folder on disk → migrations in diesel's order.
//!
//! Listing is cheap (one `read_dir`); file contents are read only when a
//! command needs them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::names;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// diesel's version: the folder name up to the first `_`, dashes removed.
    pub version: String,
    /// The whole folder name (what diesel calls the migration's name).
    pub name: String,
    pub dir: PathBuf,
}

/// What a folder holds that is not a usable migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Several folders with one version: diesel keeps one silently; we refuse.
    DuplicateVersion { version: String, folders: Vec<String> },
    /// A sub-folder without `up.sql` (among those checked): diesel's loader fails on it.
    NotAMigration { folder: String },
}

#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    pub exists: bool,
    /// Sorted by version (string order, as diesel sorts), then name.
    pub migrations: Vec<Migration>,
    pub problems: Vec<Problem>,
}

impl Source {
    /// The (first) folder with this version; `migrations` is sorted by version.
    pub fn find(&self, version: &str) -> Option<&Migration> {
        let i = self.migrations.partition_point(|m| m.version.as_str() < version);
        self.migrations.get(i).filter(|m| m.version == version)
    }
}

pub fn load(dir: &Path) -> Result<Source> {
    let mut source =
        Source { dir: dir.to_path_buf(), exists: dir.is_dir(), migrations: Vec::new(), problems: Vec::new() };
    if !source.exists {
        if dir.exists() {
            return Err(Error::new("not_a_folder", format!("the migrations path {} is not a folder", dir.display()))
                .hint("point --dir (or [package.metadata.migrate] dir) at a folder"));
        }
        return Ok(source);
    }
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, "read the migrations folder", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "read the migrations folder", e))?;
        let folder = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false) || (entry.path().is_dir());
        if !is_dir || folder.starts_with('.') {
            continue;
        }
        // Whether it holds up.sql is checked only for the migrations a command
        // will run (`check_runnable`): a stat per folder is too slow at thousands.
        let path = entry.path();
        source.migrations.push(Migration { version: names::version_of(&folder), name: folder, dir: path });
    }
    // Unstable is fine (no two folders share a name) and moves far less memory.
    source.migrations.sort_unstable_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
    let mut i = 0;
    while i < source.migrations.len() {
        let v = &source.migrations[i].version;
        let same: Vec<String> =
            source.migrations[i..].iter().take_while(|m| &m.version == v).map(|m| m.name.clone()).collect();
        if same.len() > 1 {
            source.problems.push(Problem::DuplicateVersion { version: v.clone(), folders: same.clone() });
        }
        i += same.len();
    }
    source.problems.sort_by_key(|p| format!("{p:?}"));
    Ok(source)
}

impl Source {
    /// Folders among `versions` that have no up.sql: diesel's loader fails on
    /// them, so they are reported and block writes. They leave `migrations`.
    pub fn check_runnable(&mut self, mut versions: Vec<String>) {
        if versions.is_empty() {
            return;
        }
        versions.sort_unstable();
        let mut problems = Vec::new();
        self.migrations.retain(|m| {
            if versions.binary_search(&m.version).is_ok() && !m.up_path().is_file() {
                problems.push(Problem::NotAMigration { folder: m.name.clone() });
                return false;
            }
            true
        });
        self.problems.extend(problems);
    }
}

impl Migration {
    pub fn up_path(&self) -> PathBuf {
        self.dir.join("up.sql")
    }

    pub fn down_path(&self) -> PathBuf {
        self.dir.join("down.sql")
    }

    pub fn read_up(&self) -> Result<String> {
        let path = self.up_path();
        let sql = fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
        if sql.trim().is_empty() {
            return Err(Error::new("empty_up", format!("{} is empty", path.display()))
                .hint("write the migration's SQL in it (diesel refuses empty migrations too)"));
        }
        Ok(sql)
    }

    /// `down.sql`, which must exist and hold SQL: reverting with an empty file
    /// would drop the bookkeeping row and leave the schema as it was.
    pub fn read_down(&self) -> Result<String> {
        let path = self.down_path();
        let sql = match fs::read_to_string(&path) {
            Ok(sql) => sql,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    "missing_down",
                    format!("cannot revert {}: {} does not exist", self.name, path.display()),
                )
                .hint("write the SQL that undoes up.sql into down.sql, then run the command again"))
            }
            Err(e) => return Err(Error::io(&path, "read", e)),
        };
        if crate::sql::split_statements(&sql).is_empty() {
            return Err(Error::new(
                "empty_down",
                format!("cannot revert {}: {} has no SQL in it", self.name, path.display()),
            )
            .hint("write the SQL that undoes up.sql into down.sql, then run the command again"));
        }
        Ok(sql)
    }

    /// diesel's `metadata.toml`: `run_in_transaction = false` opts out.
    pub fn run_in_transaction(&self) -> Result<bool> {
        let path = self.dir.join("metadata.toml");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(Error::io(&path, "read", e)),
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::new("bad_metadata", format!("{} is not valid TOML: {}", path.display(), e.message()))
                .hint("it may only hold `run_in_transaction = true|false`")
        })?;
        match table.get("run_in_transaction") {
            None => Ok(true),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(Error::new(
                "bad_metadata",
                format!("{}: run_in_transaction must be true or false, not {other:?}", path.display()),
            )),
        }
    }
}
