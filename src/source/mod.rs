//! A migrations folder on disk → migrations in diesel's order.
//!
//! Listing is cheap (one `read_dir`); file contents are read only when a
//! command needs them.

use std::fs;
use std::path::{Path, PathBuf};

pub mod baseline;
mod checksums;
pub mod flyway;
pub mod golang_migrate;
pub mod goose;
pub mod javascript;
pub mod layout;
mod naming;
pub mod prisma;
pub mod refinery;
pub mod schema_files;
pub mod sections;
pub mod seeds;
pub mod sqlx;

use crate::db::history::Ledger;
use crate::error::{Aftermath, Error, Kind, MigrationFailure, MigrationRef, Result};
use crate::show::{clean, display_path, escape};
use crate::sql::OwnTransactions;
use crate::version;

/// How a migration is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// diesel's folder with up.sql, down.sql and maybe metadata.toml.
    Folder,
    /// A single `.sql` file (Supabase, dbmate, node-pg-migrate) with its sections.
    File,
}

#[derive(Debug, Clone)]
pub struct Migration {
    /// diesel's version: the folder name up to the first `_`, dashes removed.
    pub version: crate::version::Version,
    /// The whole folder name (what diesel calls the migration's name); for a
    /// single-file migration, the file name without `.sql`.
    pub name: String,
    /// The migration's folder, or its file (see `layout`).
    pub path: PathBuf,
    pub layout: Layout,
    /// The down file of a pair (`.down.sql` beside `.up.sql`, Flyway's `U…`):
    /// then `path` is the up file, read whole.
    pub down_file: Option<PathBuf>,
    /// The checksum of up.sql as it is now, once `with_checksums` read it.
    pub checksum: Option<String>,
    /// A single file's sections, read once: a run asks several things of
    /// the file (its SQL, its down, whether it runs in a transaction, the
    /// checks), and all of them see the same text.
    pub text: FileText,
}

/// What was read of a migration's files, kept: every command asks several
/// things of one file (the lint, the checksum, the runner, the stored down),
/// and all of them see the same text, read once. It never makes two
/// migrations differ.
#[derive(Debug, Clone, Default)]
pub struct FileText {
    /// A single file's sections.
    sections: std::sync::OnceLock<sections::Sections>,
    /// Whether a folder's down.sql says irreversible (probed while the
    /// checksums are read, on their threads, or taken from their cache).
    irreversible: std::sync::OnceLock<Option<String>>,
    /// The files themselves, when they were compiled into an app (`embed`).
    compiled: Option<std::sync::Arc<Compiled>>,
    /// A folder's metadata.toml (None: it has none).
    metadata: std::sync::OnceLock<Result<Option<String>>>,
    /// A folder's up.sql, and its down.sql or a pair's down file, without
    /// a byte order mark.
    up: std::sync::OnceLock<Result<String>>,
    down: std::sync::OnceLock<Result<String>>,
}

impl FileText {
    /// The texts of a migration compiled into an app.
    pub fn compiled(files: std::sync::Arc<Compiled>) -> FileText {
        FileText { compiled: Some(files), ..FileText::default() }
    }

    /// Its down.sql's irreversible mark as a cache found it.
    pub(crate) fn know_irreversible(&self, mark: Option<String>) {
        let _ = self.irreversible.set(mark);
    }
}

/// A folder migration's files as compiled into an app: what is read instead
/// of the disk, so that embedded migrations go through the same checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub up: String,
    pub down: Option<String>,
    /// `metadata.toml`'s text, if it has one.
    pub metadata: Option<String>,
}

impl Compiled {
    fn file(&self, path: &Path) -> std::io::Result<String> {
        let missing = || std::io::Error::new(std::io::ErrorKind::NotFound, "not compiled in");
        match path.file_name().and_then(|f| f.to_str()) {
            Some("up.sql") => Ok(self.up.clone()),
            Some("down.sql") => self.down.clone().ok_or_else(missing),
            Some("metadata.toml") => self.metadata.clone().ok_or_else(missing),
            _ => Err(missing()),
        }
    }
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
    /// Migrations of another tool that cargo-migrate does not run in place
    /// (node-pg-migrate's JavaScript/TypeScript files): ignoring them would
    /// report "up to date" over migrations that never ran.
    ForeignMigrations { files: Vec<String> },
}

impl Problem {
    /// What is wrong, in one sentence.
    pub fn message(&self) -> String {
        match self {
            Problem::DuplicateVersion { version, folders } => {
                format!("version {version} is used by {} folders: {}", folders.len(), folders.join(", "))
            }
            Problem::NotAMigration { folder } => format!("{folder} is not a migration: it has no up.sql"),
            Problem::BadFolderName { folder, reason } => format!("{folder:?} cannot be a migration: {reason}"),
            Problem::DanglingLink { entry } => format!("{entry} is a symbolic link to something that does not exist"),
            Problem::ForeignMigrations { files } => format!(
                "{} JavaScript/TypeScript migration(s) that cargo migrate does not run: {}",
                files.len(),
                files.join(", ")
            ),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Problem::DuplicateVersion { .. } => {
                "diesel would silently keep only one: rename all but one folder with `cargo migrate create` versions"
            }
            Problem::NotAMigration { .. } => {
                "add up.sql and down.sql to it, or move it out of the migrations folder (diesel refuses it too)"
            }
            Problem::BadFolderName { .. } => {
                "rename it to <digits>_<name> (`cargo migrate create` makes such names), or move it out of the migrations folder"
            }
            Problem::DanglingLink { .. } => "restore what it points to, or remove the link",
            Problem::ForeignMigrations { .. } => {
                "node-pg-migrate's files: move them aside and convert them into SQL migrations here, \
                 e.g. `mv migrations migrations-js && cargo migrate import --from node-pg-migrate migrations-js`"
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    pub exists: bool,
    /// Sorted by version (string order, as diesel sorts), then name.
    pub migrations: Vec<Migration>,
    pub problems: Vec<Problem>,
    /// Entries that look meant to run but will not (a warning, not a problem).
    pub skipped: Vec<Skipped>,
}

/// A file (or folder) in the migrations folder that no command will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its name in the folder, with control characters escaped.
    pub entry: String,
    pub reason: NotRun,
}

/// Why an entry that looks meant to run does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRun {
    /// A folder in `supabase/migrations`, where only files run.
    Folder,
    /// A `.sql` file whose name does not start with a version.
    NoVersion,
    /// `.SQL`, `.Sql`: not `.sql`.
    ExtensionCase,
    /// A JavaScript or TypeScript migration (node-pg-migrate's).
    Script,
    /// Versioned, but not a `.sql` file.
    NotSql,
}

impl NotRun {
    /// Its `--format json` name.
    pub fn name(self) -> &'static str {
        match self {
            NotRun::Folder => "folder",
            NotRun::NoVersion => "no_version",
            NotRun::ExtensionCase => "extension_case",
            NotRun::Script => "script",
            NotRun::NotSql => "not_sql",
        }
    }

    /// Why `entry` does not run, and what to do.
    pub fn why(self, entry: &str) -> String {
        match self {
            NotRun::Folder => {
                "a folder: in supabase/migrations only `<version>_<name>.sql` files run (as with the Supabase CLI)"
                    .into()
            }
            NotRun::NoVersion => "its name does not start with a version: name it `<version>_<name>.sql`".into(),
            NotRun::ExtensionCase => {
                let (stem, ext) = entry.rsplit_once('.').unwrap_or((entry, ""));
                format!("`.{ext}` is not `.sql`: rename it to `{stem}.sql`")
            }
            NotRun::Script => {
                "a JavaScript/TypeScript migration: `cargo migrate import --from node-pg-migrate` converts it to SQL"
                    .into()
            }
            NotRun::NotSql => "only `.sql` files run".into(),
        }
    }
}

/// Why `entry` (a file unless `is_dir`) does not run, when it looks meant to;
/// None for what is plainly not a migration (a README, `.keep`).
fn not_run(entry: &str, is_dir: bool, supabase: bool) -> Option<NotRun> {
    if is_dir {
        return supabase.then_some(NotRun::Folder);
    }
    let ext = entry.rsplit_once('.').map_or("", |(_, ext)| ext);
    let versioned = entry.starts_with(|c: char| c.is_ascii_digit());
    match ext {
        "sql" if !versioned => Some(NotRun::NoVersion),
        "sql" => None,
        _ if ext.eq_ignore_ascii_case("sql") => Some(NotRun::ExtensionCase),
        "js" | "cjs" | "mjs" | "ts" | "cts" | "mts" if versioned => Some(NotRun::Script),
        _ if versioned => Some(NotRun::NotSql),
        _ => None,
    }
}

impl Source {
    /// Which history table goes with this folder.
    pub fn ledger(&self) -> Ledger {
        Ledger::for_dir(&self.dir)
    }

    /// The (first) folder with this version; `migrations` is sorted by version.
    pub fn find(&self, version: &str) -> Option<&Migration> {
        let i = self.migrations.partition_point(|m| m.version.as_str() < version);
        self.migrations.get(i).filter(|m| m.version == version)
    }
}

/// Migrations compiled into an app, as a source the engine runs as it runs a
/// folder: `name` is the folder's name (`<version>_<name>`). A name diesel
/// would misread, or two with one version, are the source's problems.
pub fn compiled(label: &str, migrations: Vec<(String, Compiled)>) -> Source {
    let dir = PathBuf::from(label);
    let mut source =
        Source { dir: dir.clone(), exists: true, migrations: Vec::new(), problems: Vec::new(), skipped: Vec::new() };
    for (name, files) in migrations {
        if let Err(problem) = version::check_folder(&name) {
            source
                .problems
                .push(Problem::BadFolderName { folder: clean(&name).into_owned(), reason: problem.reason() });
            continue;
        }
        source.migrations.push(Migration {
            version: version::version_of(&name).into(),
            path: dir.join(&name),
            name,
            layout: Layout::Folder,
            down_file: None,
            checksum: None,
            text: FileText::compiled(std::sync::Arc::new(files)),
        });
    }
    source.migrations.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
    for pair in source.migrations.windows(2) {
        if pair[0].version == pair[1].version {
            source.problems.push(Problem::DuplicateVersion {
                version: pair[0].version.to_string(),
                folders: vec![pair[0].name.clone(), pair[1].name.clone()],
            });
        }
    }
    source
}

pub fn load(dir: &Path) -> Result<Source> {
    let mut source = Source {
        dir: dir.to_path_buf(),
        exists: dir.is_dir(),
        migrations: Vec::new(),
        problems: Vec::new(),
        skipped: Vec::new(),
    };
    if !source.exists {
        if dir.exists() {
            return Err(Error::new(Kind::NotAFolder, format!("the migrations path {} is not a folder", dir.display()))
                .hint("point --dir (or [package.metadata.migrate] dir) at a folder"));
        }
        return Ok(source);
    }
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, "read the migrations folder", e))?;
    let supabase = source.ledger() == Ledger::Supabase;
    let prisma = !supabase && prisma::is_prisma_folder(dir);
    let mut parts = Vec::new();
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "read the migrations folder", e))?;
        let folder = entry.file_name().to_string_lossy().into_owned();
        if folder.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| Error::io(&path, "read", e))?;
        if file_type.is_symlink() && !path.exists() {
            source.problems.push(Problem::DanglingLink { entry: escape(&folder).into_owned() });
            continue;
        }
        let is_dir = file_type.is_dir() || (file_type.is_symlink() && path.is_dir());
        let skip = |source: &mut Source| {
            if let Some(reason) = not_run(&folder, is_dir, supabase) {
                source.skipped.push(Skipped { entry: escape(&folder).into_owned(), reason });
            }
        };
        // Supabase's migrations are files: the CLI skips folders there (old
        // files kept aside), and so do we.
        if is_dir && supabase {
            skip(&mut source);
            continue;
        }
        // Prisma's folders hold `migration.sql`; V/U/R files are Flyway's
        // (and refinery's); `.up.sql` / `.down.sql` pairs are sqlx's and
        // golang-migrate's.
        let named = if is_dir {
            // A diesel folder beside Prisma's (`create` writes one) has up.sql.
            if prisma && !path.join("up.sql").is_file() {
                layout::Layout::Prisma.name(&folder, true)
            } else {
                None
            }
        } else if supabase {
            // The Supabase CLI runs `<version>_<name>.sql` only, each whole.
            None
        } else {
            layout::Layout::Flyway.name(&folder, false).or_else(|| layout::Layout::GolangMigrate.name(&folder, false))
        };
        match named {
            Some(layout::Named::Refused(reason)) => {
                source.problems.push(Problem::BadFolderName { folder: clean(&folder).into_owned(), reason });
                continue;
            }
            Some(layout::Named::Part { version, name, role }) => {
                parts.push((version, name, role, path));
                continue;
            }
            None => {}
        }
        // A single-file migration: `<version>_<name>.sql`. Other files (a
        // README, a schema.sql) are not migrations and are left alone.
        let stem = match folder.strip_suffix(".sql") {
            Some(stem) if !is_dir && folder.starts_with(|c: char| c.is_ascii_digit()) => Some(stem.to_string()),
            _ => None,
        };
        if !is_dir && stem.is_none() {
            skip(&mut source);
            if folder.starts_with(|c: char| c.is_ascii_digit()) && javascript::is_script(&folder) {
                foreign.push(clean(&folder).into_owned());
            }
            continue;
        }
        let folder = stem.clone().unwrap_or(folder);
        if let Err(problem) = version::check_folder(&folder) {
            source
                .problems
                .push(Problem::BadFolderName { folder: clean(&folder).into_owned(), reason: problem.reason() });
            continue;
        }
        // Whether it holds up.sql is checked only for the migrations a command
        // will run (`check_runnable`): a stat per folder is too slow at thousands.
        source.migrations.push(Migration {
            version: version::version_of(&folder).into(),
            name: folder,
            path,
            layout: if stem.is_some() { Layout::File } else { Layout::Folder },
            down_file: None,
            checksum: None,
            text: FileText::default(),
        });
    }
    join_parts(&mut source, parts);
    // Unstable is fine (no two folders share a name) and moves far less memory.
    source.migrations.sort_unstable_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
    let mut i = 0;
    while i < source.migrations.len() {
        let v = &source.migrations[i].version;
        let same: Vec<String> =
            source.migrations[i..].iter().take_while(|m| &m.version == v).map(|m| m.name.clone()).collect();
        if same.len() > 1 {
            source.problems.push(Problem::DuplicateVersion { version: v.to_string(), folders: same.clone() });
        }
        i += same.len();
    }
    numeric_order(&mut source);
    if !foreign.is_empty() {
        foreign.sort();
        source.problems.push(Problem::ForeignMigrations { files: foreign });
    }
    source.problems.sort_by_key(|p| format!("{p:?}"));
    source.skipped.sort_by(|a, b| a.entry.cmp(&b.entry));
    Ok(source)
}

/// Other tools number files `1_…`, `2_…`, `10_…` and order them as numbers;
/// diesel's versions order as text, where `10` comes before `2`. Running such
/// a folder in place would change the order: refused, `import` pads them.
fn numeric_order(source: &mut Source) {
    // Padded versions (`0001`, Flyway's `00020001` for `V2.1`) order as text by design.
    let numbers = source
        .migrations
        .iter()
        .filter(|m| m.layout == Layout::File && !m.version.starts_with('0'))
        .filter_map(|m| Some((m.version.parse::<u128>().ok()?, m)));
    let mut newest: Option<(u128, &Migration)> = None;
    for (n, m) in numbers {
        if let Some((before, other)) = newest.filter(|(before, _)| n < *before) {
            let reason = format!(
                "its version {} is smaller than {before} ({}), yet sorts after it as text, which is how versions are ordered; \
                 `cargo migrate import --from <tool>` writes them with versions padded to one width",
                m.version,
                clean(&other.name)
            );
            source.problems.push(Problem::BadFolderName { folder: clean(&m.name).into_owned(), reason });
            return;
        }
        newest = Some((n, m));
    }
}

/// An entry of a folder that is not a migration cargo migrate can run: (name, why).
pub type Refused = (String, String);

/// A folder read as one tool's layout, for `import`: its migrations, and
/// every other entry that looks like a migration with why it is not one.
pub fn load_as(dir: &Path, layout: layout::Layout) -> Result<(Vec<Migration>, Vec<Refused>)> {
    let mut names: Vec<(String, bool)> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, "read", e))?
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path().is_dir()))
        .filter(|(n, _)| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut refused = Vec::new();
    let mut parts = Vec::new();
    for (name, is_dir) in names {
        match layout.name(&name, is_dir) {
            Some(layout::Named::Part { version, name: migration, role }) => {
                if let layout::Role::Folder(file) = role {
                    if !dir.join(&name).join(file).is_file() {
                        refused.push((name, format!("a folder without {file}")));
                        continue;
                    }
                }
                parts.push((version, migration, role, dir.join(&name)));
            }
            Some(layout::Named::Refused(why)) => refused.push((name, why)),
            None if is_dir => refused.push((name, format!("a folder, not a {} migration", layout.label()))),
            None if name.ends_with(".sql") => {
                refused.push((name, format!("not named as {} names migrations: {}", layout.label(), layout.pattern())))
            }
            // READMEs, migration_lock.toml and the like are not migrations.
            None => {}
        }
    }
    let mut source = Source {
        dir: dir.to_path_buf(),
        exists: true,
        migrations: Vec::new(),
        problems: Vec::new(),
        skipped: Vec::new(),
    };
    join_parts(&mut source, parts);
    for p in source.problems {
        if let Problem::BadFolderName { folder, reason } = p {
            refused.push((folder, reason));
        }
    }
    source.migrations.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
    Ok((source.migrations, refused))
}

/// Pairs (an up file and its down file) and Prisma folders, as migrations;
/// a down file without its up file is a problem.
fn join_parts(source: &mut Source, mut parts: Vec<(String, String, layout::Role, PathBuf)>) {
    use layout::Role;
    // Ups before downs of the same name.
    parts.sort_by(|a, b| (&a.1, matches!(a.2, Role::Down)).cmp(&(&b.1, matches!(b.2, Role::Down))));
    for (version, name, role, path) in parts {
        let last = source.migrations.last_mut().filter(|m| m.name == name && m.down_file.is_none());
        match (role, last) {
            (Role::Down, Some(m)) if m.layout == Layout::File => m.down_file = Some(path),
            (Role::Down, _) => source.problems.push(Problem::BadFolderName {
                folder: clean(&path.file_name().unwrap_or_default().to_string_lossy()).into_owned(),
                reason: "a down file without its up file".into(),
            }),
            (Role::Folder(file), _) => source.migrations.push(Migration {
                version: version.into(),
                name,
                path: path.join(file),
                layout: Layout::File,
                down_file: None,
                checksum: None,
                text: FileText::default(),
            }),
            (Role::Up | Role::Whole, _) => source.migrations.push(Migration {
                version: version.into(),
                name,
                path,
                layout: Layout::File,
                down_file: None,
                checksum: None,
                text: FileText::default(),
            }),
        }
    }
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
            if versions.binary_search_by(|v| v.as_str().cmp(&m.version)).is_ok()
                && m.layout == Layout::Folder
                && m.text.compiled.is_none()
                && !m.up_path().is_file()
            {
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

/// A line of every template `create` writes: a file with only comments and
/// this line was never written.
pub const TEMPLATE_MARK: &str = "-- What this migration does:";

impl Migration {
    pub fn up_path(&self) -> PathBuf {
        if self.layout == Layout::File {
            self.path.clone()
        } else {
            self.path.join("up.sql")
        }
    }

    pub fn down_path(&self) -> PathBuf {
        if let Some(down) = &self.down_file {
            down.clone()
        } else if self.layout == Layout::File {
            self.path.clone()
        } else {
            self.path.join("down.sql")
        }
    }

    /// A single-file migration's up and down sections, as they are (no checks).
    pub fn read_sections(&self) -> Result<(String, Option<String>)> {
        let s = self.sections()?;
        // A pair's down is its own file.
        let down = match &self.down_file {
            Some(path) => Some(self.read_sql(path)?),
            None => s.down.clone(),
        };
        Ok((s.up.clone(), down))
    }

    /// A single-file migration's sections (the file is read once).
    fn sections(&self) -> Result<&sections::Sections> {
        if let Some(s) = self.text.sections.get() {
            return Ok(s);
        }
        let split = sections::split(&self.read_sql(&self.path)?);
        Ok(self.text.sections.get_or_init(|| split))
    }

    /// The sections of a file its tool would run: one without an up marker,
    /// or with SQL before its first marker, is refused before anything runs.
    fn checked_sections(&self) -> Result<&sections::Sections> {
        let s = self.sections()?;
        if let Some(why) = s.malformed() {
            return Err(Error::new(
                Kind::BadMigrationsFolder,
                format!("{}: {why}; nothing was run", display_path(&self.path)),
            )
            .hint(match s.format {
                sections::Format::Dbmate => "put the up SQL under a `-- migrate:up` line at the top of the file",
                sections::Format::Goose => "put the up SQL under a `-- +goose Up` line at the top of the file",
                _ => "put the up SQL under a `-- Up Migration` line at the top of the file",
            }));
        }
        Ok(s)
    }

    pub fn read_up(&self) -> Result<String> {
        let path = self.up_path();
        let sql = if self.layout == Layout::File { self.checked_sections()?.up.clone() } else { self.read_sql(&path)? };
        // A single file of comments only is a real migration to the Supabase
        // CLI and dbmate (a note left in the history): it applies as nothing,
        // unless it is still our template.
        if self.layout == Layout::File && !sql.contains(TEMPLATE_MARK) {
            return Ok(sql);
        }
        if !crate::sql::has_statement(&sql) {
            let what = if self.layout == Layout::File { "its up migration" } else { "up.sql" };
            let state = if sql.contains(TEMPLATE_MARK) {
                "it is still the template: write the migration first"
            } else if crate::sql::strip_bom(&sql).trim().is_empty() {
                "it is empty"
            } else {
                "it holds only comments and semicolons"
            };
            return Err(Error::new(
                Kind::EmptyUp,
                format!("{} has no SQL statement: {state}", crate::show::display_path(&path)),
            )
            .hint(format!(
                "write the migration's SQL in {what} (diesel refuses empty migrations too), then run the command again"
            )));
        }
        Ok(sql)
    }

    /// The checksum that says whether the migration changed since it was
    /// applied: of up.sql, or of a single file's up section (what
    /// `with_checksums` reads). Not of the whole file: writing the down
    /// section after applying (the template has none) changes nothing that ran.
    pub fn checksum_of(&self, up_sql: &str) -> Result<String> {
        Ok(version::checksum(up_sql))
    }

    /// The up SQL as it is, without the checks `read_up` makes (a template,
    /// an empty file): what a migration recorded without running (`adopt`,
    /// `baseline`) is compared with later.
    pub fn up_unchecked(&self) -> Result<String> {
        if self.layout == Layout::File {
            Ok(self.sections()?.up.clone())
        } else {
            self.read_sql(&self.up_path())
        }
    }

    /// A `<version>_<name>.sql` file with both directions in it (or up only):
    /// not a pair, a Flyway `V` file or a Prisma folder's `migration.sql`.
    pub fn is_single_file(&self) -> bool {
        self.layout == Layout::File
            && self.down_file.is_none()
            && self.path.file_name().is_some_and(|f| f.to_string_lossy() == format!("{}.sql", self.name))
    }

    /// The file's format (plain SQL for a folder migration).
    pub fn format(&self) -> sections::Format {
        if self.layout == Layout::File {
            self.sections().map(|s| s.format).unwrap_or(sections::Format::Plain)
        } else {
            sections::Format::Plain
        }
    }

    /// Whether the migration can be reverted from its files: a single-file
    /// migration without a down section cannot (Supabase's are all up-only).
    pub fn is_up_only(&self) -> bool {
        if self.layout == Layout::File {
            self.down_file.is_none() && self.sections().is_ok_and(|s| s.down.is_none())
        } else {
            self.irreversible().is_some()
        }
    }

    /// What to do instead of reverting it, when it is up-only.
    pub fn revert_hint(&self) -> &'static str {
        if self.layout == Layout::File {
            up_only_hint(self.format())
        } else {
            IRREVERSIBLE_HINT
        }
    }

    /// Why the migration cannot be reverted, when its down.sql says so (its
    /// first line is `IRREVERSIBLE_MARK`, as `import` writes for a
    /// node-pg-migrate migration without an inverse).
    pub fn irreversible(&self) -> Option<String> {
        if self.layout == Layout::File {
            return None;
        }
        self.text.irreversible.get_or_init(|| self.probe_irreversible()).clone()
    }

    fn probe_irreversible(&self) -> Option<String> {
        if let Some(compiled) = &self.text.compiled {
            let down = compiled.down.as_deref()?;
            let first = down.lines().next()?.strip_prefix(IRREVERSIBLE_MARK)?;
            return Some(first.trim_start_matches(':').trim().to_string());
        }
        let mut head = [0u8; 512];
        let n = std::io::Read::read(&mut fs::File::open(self.down_path()).ok()?, &mut head).ok()?;
        let first = String::from_utf8_lossy(&head[..n]);
        let first = first.lines().next()?.strip_prefix(IRREVERSIBLE_MARK)?;
        Some(first.trim_start_matches(':').trim().to_string())
    }

    /// `down.sql`, which must exist and hold SQL: reverting with an empty file
    /// would drop the bookkeeping row and leave the schema as it was.
    pub fn read_down(&self) -> Result<String> {
        let path = self.down_path();
        if self.layout == Layout::File && self.down_file.is_none() {
            let sections = self.sections()?;
            let Some(sql) = sections.down.clone() else {
                return Err(Error::new(
                    Kind::UpOnly,
                    format!("cannot revert {}: {} has no down section (it is up-only)", self.name, display_path(&path)),
                )
                .hint(up_only_hint(sections.format)));
            };
            if !crate::sql::has_statement(&sql) {
                return Err(Error::new(
                    Kind::EmptyDown,
                    format!(
                        "cannot revert {}: the down section of {} has no SQL in it",
                        self.name,
                        display_path(&path)
                    ),
                )
                .hint("write the SQL that undoes the up section under the down marker, then run the command again"));
            }
            return Ok(sql);
        }
        if let Some(why) = self.irreversible() {
            return Err(Error::new(
                Kind::UpOnly,
                format!("cannot revert {}: {} says it is irreversible ({why})", self.name, display_path(&path)),
            )
            .hint(IRREVERSIBLE_HINT));
        }
        let sql = match self.read_sql(&path) {
            Ok(sql) => sql,
            Err(_) if !self.has_file(&path) => {
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

    /// A folder's down.sql as it is (None: it has none), without the checks
    /// `read_down` makes: what the lint reads.
    pub fn down_if_any(&self) -> Result<Option<String>> {
        let path = self.down_path();
        match self.read_sql(&path) {
            Ok(text) => Ok(Some(text)),
            // Asked only then: the common case costs one open, not a stat too.
            Err(_) if !self.has_file(&path) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The down SQL to keep with an applied migration, if there is any.
    /// Only a down with a statement is kept: a template or empty section would
    /// make a migration look revertible after its file is gone.
    pub fn down_to_keep(&self) -> Option<String> {
        if self.irreversible().is_some() {
            return None;
        }
        let down = if self.layout == Layout::File && self.down_file.is_none() {
            self.sections().ok()?.down.clone()
        } else {
            self.read_sql(&self.down_path()).ok()
        };
        down.filter(|d| crate::sql::has_statement(d))
    }

    /// diesel's `metadata.toml`: `run_in_transaction = false` opts out; a
    /// dbmate file says `transaction:false` on its marker.
    pub fn run_in_transaction(&self, up: bool) -> Result<bool> {
        if let (Some(down), false) = (&self.down_file, up) {
            let s = sections::split(&self.read_sql(down)?);
            return Ok(s.up_in_transaction
                && !crate::sql::split_statements(&s.up).iter().any(|st| crate::sql::refuses_transaction(st.text)));
        }
        if self.layout == Layout::File {
            let s = self.sections()?;
            // A Supabase file has no way to say so: one that holds a statement
            // no transaction may hold (CREATE INDEX CONCURRENTLY) runs without.
            // sqlx's says `-- no-transaction` on its first line.
            if s.format == sections::Format::Plain {
                return Ok(s.up_in_transaction
                    && !crate::sql::split_statements(&s.up).iter().any(|st| crate::sql::refuses_transaction(st.text)));
            }
            return Ok(if up { s.up_in_transaction } else { s.down_in_transaction });
        }
        self.in_transaction_by_metadata()
    }

    /// A folder's `metadata.toml`, read once: the lint and the runner both
    /// ask for its `run_in_transaction` and its `[backfill]`.
    fn metadata(&self) -> Result<Option<&str>> {
        let text = self.text.metadata.get_or_init(|| {
            let path = self.path.join("metadata.toml");
            match self.file_text(&path) {
                Ok(t) => Ok(Some(t)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(&path, "read", e)),
            }
        });
        match text {
            Ok(t) => Ok(t.as_deref()),
            Err(e) => Err(e.clone()),
        }
    }

    fn in_transaction_by_metadata(&self) -> Result<bool> {
        let path = self.path.join("metadata.toml");
        let Some(text) = self.metadata()? else { return Ok(true) };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::new(Kind::BadMetadata, format!("{} is not valid TOML: {}", path.display(), e.message()))
                .hint("it may only hold `run_in_transaction = true|false`")
        })?;
        if let Some(unknown) = table.keys().find(|k| !matches!(k.as_str(), "run_in_transaction" | "backfill")) {
            return Err(Error::new(
                Kind::BadMetadata,
                format!("{}: unknown key `{}`", path.display(), escape(unknown)),
            )
            .hint(
                "the keys diesel and cargo-migrate know are `run_in_transaction = true|false` and `[backfill]` (check its spelling)",
            ));
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

/// `[backfill]` in a migration's metadata.toml: its UPDATE/DELETE on `table`
/// runs in batches of `batch_size` keys, each its own transaction
/// (docs/large-tables.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillSpec {
    pub table: String,
    /// An integer column, indexed (the primary key, usually).
    #[serde(default = "default_key")]
    pub key: String,
    #[serde(default = "default_batch_size")]
    pub batch_size: u64,
    /// A pause between two batches, so replicas and autovacuum keep up.
    #[serde(default)]
    pub pause_ms: u64,
}

fn default_key() -> String {
    "id".into()
}

fn default_batch_size() -> u64 {
    10_000
}

impl Migration {
    /// The backfill metadata.toml declares, if any. It needs
    /// `run_in_transaction = false`: each batch commits by itself.
    pub fn backfill(&self) -> Result<Option<BackfillSpec>> {
        if self.layout == Layout::File {
            return Ok(None);
        }
        let path = self.path.join("metadata.toml");
        let Ok(Some(text)) = self.metadata() else { return Ok(None) };
        let mut table: toml::Table = match text.parse() {
            Ok(t) => t,
            // `run_in_transaction` reports it.
            Err(_) => return Ok(None),
        };
        let Some(value) = table.remove("backfill") else { return Ok(None) };
        let spec: BackfillSpec = value.try_into().map_err(|e: toml::de::Error| {
            Error::new(Kind::BadMetadata, format!("{}: [backfill] {}", path.display(), e.message().trim())).hint(
                "[backfill] takes table = \"name\", key = \"id\" (an integer column), batch_size = 10000, pause_ms = 0",
            )
        })?;
        if spec.batch_size == 0 {
            return Err(Error::new(
                Kind::BadMetadata,
                format!("{}: [backfill] batch_size must be at least 1", path.display()),
            ));
        }
        if self.run_in_transaction(true)? {
            return Err(Error::new(
                Kind::BadMetadata,
                format!(
                    "{}: a [backfill] commits each batch by itself, so the migration cannot run in one transaction",
                    path.display()
                ),
            )
            .hint("add `run_in_transaction = false` to the same metadata.toml"));
        }
        Ok(Some(spec))
    }
}

/// The first line of a down.sql that stands for "this migration cannot be
/// reverted": `status` shows it, `down` refuses before running anything. The
/// rest of the file makes diesel's own `migration revert` fail loudly too.
pub const IRREVERSIBLE_MARK: &str = "-- cargo-migrate: irreversible";

const IRREVERSIBLE_HINT: &str =
    "undo it with a new migration (`cargo migrate create undo_...`) and `up`, or write its down.sql by hand";

/// The down.sql of a migration that cannot be reverted, saying why.
pub fn irreversible_down(name: &str, why: &str) -> String {
    let why = clean(why).replace(['\n', '\r'], " ");
    format!(
        "{IRREVERSIBLE_MARK}: {why}\n\
         -- `cargo migrate down` refuses to revert {name}; undo it with a new migration instead.\n\
         DO $$ BEGIN RAISE EXCEPTION '%', {}; END $$;\n",
        crate::sql::literal(&format!("migration {name} is irreversible: {why}"))
    )
}

/// One direction of a migration, ready to send: its SQL as read (or the down
/// stored when it was applied), where it came from, and how it runs.
#[derive(Debug, Clone)]
pub struct Script {
    pub sql: String,
    /// The file, as the user should see it.
    pub path: String,
    pub in_transaction: bool,
    /// Reverting with the down.sql stored when it was applied, not the file's.
    pub from_stored_down: bool,
    /// Applying: the checksum of the up SQL as it is in the file.
    pub checksum: Option<String>,
}

impl Migration {
    /// Read the SQL to apply (`apply`) or revert, refusing what cannot run.
    /// `stored_down` is the down.sql the database keeps for it: a revert
    /// runs that one when the file's is gone or no longer what was applied.
    pub fn script(&self, apply: bool, stored_down: Option<&str>) -> Result<Script> {
        let mut in_transaction = self.run_in_transaction(apply)?;
        let mut from_stored_down = false;
        let (mut sql, file, checksum) = if apply {
            let sql = self.read_up()?;
            let checksum = self.checksum_of(&sql)?;
            (sql, self.up_path(), Some(checksum))
        } else {
            match (self.read_down(), stored_down) {
                (Ok(disk), Some(kept)) if version::checksum(&disk) != version::checksum(kept) => {
                    from_stored_down = true;
                    (kept.to_string(), self.down_path(), None)
                }
                (Err(_), Some(kept)) => {
                    from_stored_down = true;
                    (kept.to_string(), self.down_path(), None)
                }
                (disk, _) => (disk?, self.down_path(), None),
            }
        };
        let path = if from_stored_down {
            format!("{} (the down.sql it was applied with, stored in the database)", self.name)
        } else {
            display_path(&file)
        };
        let reading = crate::sql::read(&sql);
        if let Some((line, what)) = reading.unclosed() {
            return Err(Error::new(
                Kind::UnclosedSql,
                format!("{path}:{line}: {}, so PostgreSQL would read the rest of the file as part of it; nothing was run", what.describe()),
            )
            .hint("close it (a quote inside a string is written twice: 'it''s'), or use a dollar quote ($$…$$) for text full of quotes"));
        }
        // The server does not wait for COPY's rows to be read: the rest
        // of the text, COMMIT and the bookkeeping included, would run
        // while the error said the migration was rolled back.
        if let Some(line) = reading.line_of_first(crate::sql::copies_to_stdout) {
            let failure = MigrationFailure {
                migration: MigrationRef { version: self.version.as_str().into(), name: self.name.clone() },
                file: path.clone(),
                line: Some(line),
                column: None,
                source_line: None,
                sqlstate: None,
                server_message: String::new(),
                server_detail: None,
                server_hint: None,
                aftermath: Aftermath::NotRun,
                statements_done: None,
                notices: Vec::new(),
                missing_role: None,
                missing_extension: None,
                server_major: None,
                stand_in: None,
                tracked: false,
                in_transaction,
            };
            return Err(Error::new(
                Kind::MigrationFailed(Box::new(failure)),
                format!("{path}:{line}: COPY … TO STDOUT cannot run in a migration (there is no one to read its rows); nothing was run"),
            )
            .hint("remove it (to look at data, query it with psql), or COPY to a file the server can write"));
        }
        if let Some(line) = reading.line_of_first(crate::sql::copies_from_stdin) {
            return Err(Error::new(
                Kind::CopyFromStdin,
                format!("{path}:{line}: COPY … FROM STDIN reads its rows from the client, and a migration has none to send (rows written after it are psql's input, not SQL); nothing was run"),
            )
            .hint("write the rows as INSERT INTO … VALUES (…), (…); or COPY … FROM '/path/on/the/server' for a file the server can read \
                   (`\\copy` is a psql command: cargo migrate runs SQL only)"));
        }
        if in_transaction {
            // A file that manages its transactions itself runs as it says, as with psql.
            match reading.own_transactions() {
                OwnTransactions::No => {}
                OwnTransactions::Wrapped(inner) => sql = inner,
                OwnTransactions::Balanced => in_transaction = false,
                OwnTransactions::Unbalanced(line, word) => {
                    return Err(Error::new(
                        Kind::TransactionControl,
                        format!("{path}:{line} says `{word}`, which closes or opens no transaction block of the file's own; nothing was run"),
                    )
                    .hint("a migration runs in a transaction already: remove it, or pair each BEGIN with a COMMIT; \
                           to manage transactions freely, add metadata.toml with `run_in_transaction = false`"));
                }
            }
        }
        Ok(Script { sql, path, in_transaction, from_stored_down, checksum })
    }
}

/// What to do instead of reverting an up-only migration.
pub fn up_only_hint(format: sections::Format) -> &'static str {
    match format {
        sections::Format::Plain => {
            "Supabase migrations are up-only: undo it with a new migration (`cargo migrate create undo_...`) and `up`"
        }
        _ => "add a down section to the file (`-- migrate:down` for dbmate, `-- Down Migration` for node-pg-migrate), or undo it with a new migration",
    }
}

impl Migration {
    /// One of the migration's files as text: from disk, or as compiled in.
    fn file_text(&self, path: &Path) -> std::io::Result<String> {
        match &self.text.compiled {
            Some(compiled) => compiled.file(path),
            None => fs::read_to_string(path),
        }
    }

    fn has_file(&self, path: &Path) -> bool {
        match &self.text.compiled {
            Some(compiled) => compiled.file(path).is_ok(),
            None => path.exists(),
        }
    }

    /// A SQL file of the migration, without a UTF-8 byte order mark.
    fn read_sql(&self, path: &Path) -> Result<String> {
        if let Some(compiled) = &self.text.compiled {
            return strip_bom(compiled.file(path).map_err(|e| Error::io(path, "read", e))?);
        }
        let slot = if self.layout == Layout::Folder && path == self.up_path() {
            &self.text.up
        } else if (self.layout == Layout::Folder || self.down_file.is_some()) && path == self.down_path() {
            &self.text.down
        } else {
            return read_sql(path);
        };
        slot.get_or_init(|| read_sql(path)).clone()
    }
}

/// A SQL file as text, without a UTF-8 byte order mark (an invisible
/// character PostgreSQL would report as a syntax error).
fn read_sql(path: &Path) -> Result<String> {
    strip_bom(fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?)
}

fn strip_bom(text: String) -> Result<String> {
    Ok(match crate::sql::strip_bom(&text) {
        rest if rest.len() == text.len() => text,
        rest => rest.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_irreversible_down_is_recognised_and_fails_under_diesel_too() {
        let dir = std::env::temp_dir().join(format!("cm-irreversible-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = irreversible_down("1_a", "its down is false\n'quoted'");
        assert!(text.starts_with(IRREVERSIBLE_MARK));
        assert!(text.contains("RAISE EXCEPTION") && text.contains("''quoted''"), "{text}");
        std::fs::write(dir.join("down.sql"), &text).unwrap();
        let m = Migration {
            version: "1".into(),
            name: "1_a".into(),
            path: dir.clone(),
            layout: Layout::Folder,
            down_file: None,
            checksum: None,
            text: FileText::default(),
        };
        assert_eq!(m.irreversible().as_deref(), Some("its down is false 'quoted'"));
        assert!(m.is_up_only());
        assert_eq!(m.read_down().unwrap_err().kind, Kind::UpOnly);
        assert_eq!(m.down_to_keep(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn what_looks_meant_to_run_but_will_not_is_named() {
        use super::NotRun::*;
        assert_eq!(not_run("init.sql", false, true), Some(NoVersion));
        assert_eq!(not_run("20240101000000_a.SQL", false, true), Some(ExtensionCase));
        assert!(ExtensionCase.why("20240101000000_a.SQL").contains("`20240101000000_a.sql`"));
        assert_eq!(not_run("20240101000000_a.Sql", false, false), Some(ExtensionCase));
        assert_eq!(not_run("1700000000000_init.js", false, false), Some(Script));
        assert_eq!(not_run("20240101000000_a.sql.bak", false, false), Some(NotSql));
        assert_eq!(not_run("old", true, true), Some(Folder));
        // What plainly is not a migration, and what runs, is not named.
        for quiet in ["README.md", "schema.rb", "20240101000000_a.sql"] {
            assert_eq!(not_run(quiet, false, true), None, "{quiet}");
        }
        assert_eq!(not_run("20240101000000_a", true, false), None);
    }
}
