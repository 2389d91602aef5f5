//! A migrations folder on disk → migrations in diesel's order.
//!
//! Listing is cheap (one `read_dir`); file contents are read only when a
//! command needs them.

use std::fs;
use std::path::{Path, PathBuf};

mod checksums;

use crate::error::{Error, Kind, Result};
use crate::report::clean;
use crate::version;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// diesel's version: the folder name up to the first `_`, dashes removed.
    pub version: String,
    /// The whole folder name (what diesel calls the migration's name).
    pub name: String,
    pub dir: PathBuf,
    /// The checksum of up.sql as it is now, once `with_checksums` read it.
    pub checksum: Option<String>,
}

/// What a folder holds that is not a usable migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Several folders with one version: diesel keeps one silently; we refuse.
    DuplicateVersion { version: String, folders: Vec<String> },
    /// A sub-folder without `up.sql` (among those checked): diesel's loader fails on it.
    NotAMigration { folder: String },
    /// A folder whose name diesel would misread, or that would garble a terminal.
    BadFolderName { folder: String, reason: String },
    /// A symbolic link whose target does not exist.
    DanglingLink { entry: String },
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
            return Err(Error::new(Kind::NotAFolder, format!("the migrations path {} is not a folder", dir.display()))
                .hint("point --dir (or [package.metadata.migrate] dir) at a folder"));
        }
        return Ok(source);
    }
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, "read the migrations folder", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "read the migrations folder", e))?;
        let folder = entry.file_name().to_string_lossy().into_owned();
        if folder.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| Error::io(&path, "read", e))?;
        if file_type.is_symlink() && !path.exists() {
            source.problems.push(Problem::DanglingLink { entry: clean(&folder).into_owned() });
            continue;
        }
        if !(file_type.is_dir() || (file_type.is_symlink() && path.is_dir())) {
            continue;
        }
        if let Err(problem) = version::check_folder(&folder) {
            source
                .problems
                .push(Problem::BadFolderName { folder: clean(&folder).into_owned(), reason: problem.reason() });
            continue;
        }
        // Whether it holds up.sql is checked only for the migrations a command
        // will run (`check_runnable`): a stat per folder is too slow at thousands.
        source.migrations.push(Migration {
            version: version::version_of(&folder),
            name: folder,
            dir: path,
            checksum: None,
        });
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

impl Source {
    /// Every up.sql's checksum as it is now (None when it cannot be read):
    /// `status` and `up` compare them with what was applied, and read them
    /// while the database is being asked.
    pub fn with_checksums(mut self) -> Source {
        checksums::fill(&self.dir, &mut self.migrations);
        self
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
        let sql = read_sql(&path)?;
        if !crate::sql::has_statement(&sql) {
            return Err(Error::new(
                Kind::EmptyUp,
                format!(
                    "{} has no SQL statement: it is still the template: write the migration first",
                    crate::report::display_path(&path)
                ),
            )
            .hint(
                "write the migration's SQL in up.sql (diesel refuses empty migrations too), then run the command again",
            ));
        }
        Ok(sql)
    }

    /// `down.sql`, which must exist and hold SQL: reverting with an empty file
    /// would drop the bookkeeping row and leave the schema as it was.
    pub fn read_down(&self) -> Result<String> {
        let path = self.down_path();
        let sql = match read_sql(&path) {
            Ok(sql) => sql,
            Err(_) if !path.exists() => {
                return Err(Error::new(
                    Kind::MissingDown,
                    format!("cannot revert {}: {} does not exist", self.name, path.display()),
                )
                .hint("write the SQL that undoes up.sql into down.sql, then run the command again"))
            }
            Err(e) => return Err(e),
        };
        if !crate::sql::has_statement(&sql) {
            return Err(Error::new(
                Kind::EmptyDown,
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
            Error::new(Kind::BadMetadata, format!("{} is not valid TOML: {}", path.display(), e.message()))
                .hint("it may only hold `run_in_transaction = true|false`")
        })?;
        if let Some(unknown) = table.keys().find(|k| k.as_str() != "run_in_transaction") {
            return Err(Error::new(
                Kind::BadMetadata,
                format!("{}: unknown key `{}`", path.display(), clean(unknown)),
            )
            .hint("the only key diesel and cargo-migrate know is `run_in_transaction = true|false` (check its spelling)"));
        }
        match table.get("run_in_transaction") {
            None => Ok(true),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(Error::new(
                Kind::BadMetadata,
                format!("{}: run_in_transaction must be true or false, not {other:?}", path.display()),
            )),
        }
    }
}

/// A SQL file as text, without a UTF-8 byte order mark (an invisible
/// character PostgreSQL would report as a syntax error).
fn read_sql(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
    Ok(match crate::sql::strip_bom(&text) {
        rest if rest.len() == text.len() => text,
        rest => rest.to_string(),
    })
}
