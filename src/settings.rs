//! Settings, first found wins: flags > environment (then `.env`) > Cargo.toml
//! metadata > diesel.toml > defaults. Nothing here touches the database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::db::history::Ledger;
use crate::envfile;
use crate::error::{Error, Kind, Result};
use crate::workspace::{Member, Project};
use serde::Deserialize;

/// The environment as cargo-migrate sees it: real variables win over `.env`.
#[derive(Debug, Clone, Default)]
pub struct Env {
    file: HashMap<String, String>,
    pub file_path: Option<PathBuf>,
    lost: Vec<envfile::Lost>,
}

impl Env {
    /// A non-empty value, and where it came from.
    pub fn get(&self, key: &str) -> Option<(String, String)> {
        self.get_even_blank(key).filter(|(v, _)| !v.trim().is_empty())
    }

    /// The value even when it is empty or blank (a variable set to nothing is
    /// a mistake worth naming, not "unset").
    pub fn get_even_blank(&self, key: &str) -> Option<(String, String)> {
        if let Some(v) = std::env::var_os(key) {
            return Some((v.to_string_lossy().into_owned(), format!("environment variable {key}")));
        }
        let v = self.file.get(key)?;
        let from = self.file_path.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
        Some((v.clone(), format!("{key} in {from}")))
    }

    pub fn load(path: &Path, required: bool) -> Result<Env> {
        if !path.is_file() {
            if required {
                return Err(Error::new(Kind::NoEnvFile, format!("--env-file {} does not exist", path.display()))
                    .hint("pass the path of an existing .env file"));
            }
            return Ok(Env::default());
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::new(Kind::BadEnvFile, format!("could not read {}: it is not UTF-8 text", path.display()))
                .hint("save the file as UTF-8")
        })?;
        // Editors on Windows save a byte-order mark; dotenvy's iterator would
        // take it for part of the first key.
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
        let mut file = HashMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            let (k, v) = item.map_err(|e| env_error(path, text, e))?;
            file.insert(k, v);
        }
        // Only values that are used: a real variable of the same name wins.
        let lost = envfile::lost(text, |k| std::env::var(k).ok())
            .into_iter()
            .filter(|l| std::env::var_os(&l.key).is_none())
            .collect();
        Ok(Env { file, file_path: Some(path.to_path_buf()), lost })
    }

    /// Values in which `$NAME` expanded to nothing: each is shorter than
    /// what the file says, which for a password means a refused login.
    pub fn lost_expansions(&self) -> &[envfile::Lost] {
        &self.lost
    }
}

fn env_error(path: &Path, text: &str, err: dotenvy::Error) -> Error {
    let error = |what: String| Error::new(Kind::BadEnvFile, format!("could not read {}: {what}", path.display()));
    match err {
        // Never echo the line itself: it may hold a password.
        dotenvy::Error::LineParse(line, idx) => match envfile::unreadable_quoted_var(&line) {
            Some(name) => {
                let key = envfile::key_of_line(text, &line).unwrap_or_else(|| "a value".into());
                let var = if name.is_empty() { "`$`".to_string() } else { format!("`${name}`") };
                error(format!(
                    "{key} is double-quoted and ends in {var}, which .env variable expansion cannot read"
                ))
                .hint(format!(
                    "if the `$` is part of the value, use single quotes ({key}='…' keeps every character as written) or \\$; \
                     to expand a variable there, write ${{NAME}}"
                ))
            }
            None => error(format!("a line could not be parsed (at character {idx})"))
                .hint("each line must look like KEY=value; quote values with spaces or #"),
        },
        dotenvy::Error::Io(e) => error(e.to_string()),
        other => error(other.to_string()),
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub project: Project,
    pub migrations_dir: PathBuf,
    /// Where the migrations folder setting came from, for `status`.
    pub dir_origin: String,
    /// The folder was named (--dir, MIGRATE_DIR, metadata, diesel.toml)
    /// rather than found: then it must exist.
    pub dir_configured: bool,
    /// A host project's own `migrations-template/`, if it has one.
    pub templates_dir: Option<PathBuf>,
    /// The SQL that creates the roles the migrations use but do not create,
    /// run before them on the local and scratch databases.
    pub roles: Roles,
    pub env: Env,
    /// `[package.metadata.migrate.lint]`, read with the rest; an error in it
    /// stops only what lints.
    lint: Result<crate::lint::Config>,
    /// diesel.toml's `[print_schema]` configurations and the file they come
    /// from (None: no diesel.toml); an error in it stops only what prints a schema.
    print_schema: Result<Option<(PathBuf, crate::diesel_schema::Configs)>>,
}

/// What the command line says about the project (the rest comes from files).
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags<'a> {
    /// `--dir`.
    pub dir: Option<&'a Path>,
    /// `--env-file`.
    pub env_file: Option<&'a Path>,
    /// `-p` or `--manifest-path` chose the package: its folder is the one.
    pub package_named: bool,
}

/// The roles file: the `roles` setting, else the Supabase CLI's `supabase/roles.sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    /// Where it is, or would be written.
    pub path: PathBuf,
    /// Named by the `roles` setting (then it must exist).
    pub configured: bool,
}

impl Roles {
    /// The file to run, when there is one; a configured file that is missing is an error.
    pub fn file(&self) -> Result<Option<&Path>> {
        match (self.path.is_file(), self.configured) {
            (true, _) => Ok(Some(&self.path)),
            (false, false) => Ok(None),
            (false, true) => Err(Error::new(
                Kind::BadMetadata,
                format!("the roles file {} (metadata.migrate.roles) does not exist", self.path.display()),
            )
            .hint("create it with the CREATE ROLE statements the migrations need, or remove the setting")),
        }
    }
}

/// `roles`, else `roles.sql` beside a `supabase/migrations` folder (where the
/// Supabase CLI reads it), else the package's (or workspace's) `supabase/roles.sql`.
fn roles(project: &Project, migrations_dir: &Path) -> Roles {
    if let Some(path) = &project.roles_setting {
        return Roles { path: path.clone(), configured: true };
    }
    let beside = migrations_dir.parent().filter(|_| Ledger::for_dir(migrations_dir) == Ledger::Supabase);
    let candidates: Vec<PathBuf> = beside
        .map(|d| d.join("roles.sql"))
        .into_iter()
        .chain([&project.package_dir, &project.workspace_root].map(|d| d.join("supabase/roles.sql")))
        .collect();
    let path = candidates.iter().find(|p| p.is_file()).unwrap_or(&candidates[0]).clone();
    Roles { path, configured: false }
}

impl Settings {
    /// The lint configuration.
    pub fn lint(&self) -> Result<&crate::lint::Config> {
        self.lint.as_ref().map_err(Clone::clone)
    }

    /// The schema file `dump` writes when given none: the `schema` setting,
    /// else `schema.sql` beside the migrations folder (the package's folder
    /// for `migrations/`, `supabase/` for `supabase/migrations/`).
    pub fn schema_file(&self) -> PathBuf {
        self.project
            .schema_setting
            .clone()
            .unwrap_or_else(|| self.migrations_dir.parent().unwrap_or(&self.project.package_dir).join("schema.sql"))
    }

    /// diesel.toml's print-schema configurations, and where that file is.
    pub fn print_schema(&self) -> Result<Option<&(PathBuf, crate::diesel_schema::Configs)>> {
        self.print_schema.as_ref().map(Option::as_ref).map_err(Clone::clone)
    }

    /// Which table is the history: Supabase's for a `supabase/migrations` folder.
    pub fn ledger(&self) -> Ledger {
        Ledger::for_dir(&self.migrations_dir)
    }
}

pub fn resolve(cwd: &Path, flags: Flags<'_>, project: Project) -> Result<Settings> {
    let env = match flags.env_file {
        Some(path) => Env::load(&cwd.join(path), true)?,
        None => Env::load(&project.workspace_root.join(".env"), false)?,
    };
    let mut project = project;
    let (migrations_dir, dir_origin) = match migrations_dir(cwd, flags.dir, &project)? {
        Some(found) => found,
        None if !flags.package_named => match member_with_migrations(&project)? {
            Some((member, dir)) => {
                let member = member.clone();
                let origin = format!(
                    "default: workspace member `{}`, the only one with migrations (-p chooses another)",
                    member.name
                );
                project.package = Some(member.name.clone());
                project.package_dir = member.dir.clone();
                project.package_dir_setting = member.dir_setting.clone();
                project.seeds_setting = member.seeds_setting.clone();
                (dir, origin)
            }
            None => new_folder(&project),
        },
        None => new_folder(&project),
    };
    let dir_configured = !dir_origin.starts_with("default:");
    let lint = lint_config(&project);
    let templates_dir = [&project.package_dir, &project.workspace_root]
        .into_iter()
        .map(|d| d.join("migrations-template"))
        .find(|d| d.is_dir());
    let roles = roles(&project, &migrations_dir);
    let print_schema = diesel_toml_path(&env, &project).map(|p| print_schema_configs(&p).map(|c| (p, c))).transpose();
    Ok(Settings { migrations_dir, dir_origin, dir_configured, templates_dir, roles, env, project, lint, print_schema })
}

/// The folder the settings name, or the nearest one found; None when there
/// is none to find.
fn migrations_dir(cwd: &Path, flag: Option<&Path>, project: &Project) -> Result<Option<(PathBuf, String)>> {
    if let Some(dir) = flag {
        return Ok(Some((cwd.join(dir), "--dir".into())));
    }
    if let Some(dir) = &project.package_dir_setting {
        return Ok(Some((dir.clone(), "[package.metadata.migrate] dir".into())));
    }
    if let Some(dir) = &project.workspace_dir_setting {
        return Ok(Some((dir.clone(), "[workspace.metadata.migrate] dir".into())));
    }
    for base in [&project.package_dir, &project.workspace_root] {
        if let Some(dir) = diesel_toml_dir(base)? {
            return Ok(Some((dir, format!("{}", base.join("diesel.toml").display()))));
        }
    }
    // diesel's own search: the nearest `migrations/` from the package up to the
    // workspace root, or a Supabase project's `supabase/migrations/` at the
    // same level (the nearer folder wins: a member's own Supabase folder, not
    // the workspace root's migrations/); a new project gets `migrations/`
    // beside its Cargo.toml.
    let mut dir = Some(project.package_dir.as_path());
    while let Some(d) = dir {
        for (sub, origin) in [
            ("migrations", "default: migrations/ beside Cargo.toml"),
            ("supabase/migrations", "default: supabase/migrations/ (Supabase layout)"),
        ] {
            if d.join(sub).is_dir() {
                return Ok(Some((d.join(sub), origin.into())));
            }
        }
        if d == project.workspace_root {
            break;
        }
        dir = d.parent();
    }
    Ok(None)
}

/// A new project's folder: `migrations/` beside its Cargo.toml.
fn new_folder(project: &Project) -> (PathBuf, String) {
    (project.package_dir.join("migrations"), "default: migrations/ beside Cargo.toml".into())
}

/// From a member without migrations (or a virtual workspace's root), the one
/// other member that has them; several is a question only `-p` answers.
fn member_with_migrations(project: &Project) -> Result<Option<(&Member, PathBuf)>> {
    let found: Vec<(&Member, PathBuf)> = project
        .members
        .iter()
        .filter(|m| project.package.as_deref() != Some(m.name.as_str()))
        .filter_map(|m| {
            let candidates =
                [m.dir_setting.clone(), Some(m.dir.join("migrations")), Some(m.dir.join("supabase/migrations"))];
            candidates.into_iter().flatten().find(|d| d.is_dir()).map(|d| (m, d))
        })
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.into_iter().next()),
        _ => {
            let list: Vec<String> =
                found.iter().map(|(m, d)| format!("{} ({})", m.name, crate::show::display_path(d))).collect();
            let here = project
                .package
                .as_deref()
                .map(|p| format!("`{p}` has none"))
                .unwrap_or_else(|| "this is the workspace's root".into());
            Err(Error::new(
                Kind::AmbiguousPackage,
                format!("{} workspace members have migrations and {here}: {}", found.len(), list.join(", ")),
            )
            .hint(format!(
                "choose one with -p, e.g. `cargo migrate status -p {}`, or run from its folder",
                found[0].0.name
            )))
        }
    }
}

/// What cargo-migrate reads of diesel.toml. The other sections (diesel_cli's
/// `[print_schema]` and whatever later versions add) are diesel's business;
/// the section we read is typed, so `dir = 5` or a misspelt key is an error,
/// as diesel_cli makes it.
#[derive(Debug, Deserialize)]
struct DieselToml {
    migrations_directory: Option<MigrationsDirectory>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrationsDirectory {
    dir: PathBuf,
}

fn diesel_toml_dir(base: &Path) -> Result<Option<PathBuf>> {
    let path = base.join("diesel.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let config: DieselToml = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        Error::new(Kind::BadMetadata, format!("{}{at}: {}", path.display(), e.message().trim()))
            .hint("diesel's migrations folder is set as `[migrations_directory]` with `dir = \"migrations\"`")
    })?;
    Ok(config.migrations_directory.map(|m| base.join(m.dir)))
}

/// diesel_cli's configuration file: `DIESEL_CONFIG_FILE`, else the
/// package's diesel.toml, else the workspace's.
fn diesel_toml_path(env: &Env, project: &Project) -> Option<PathBuf> {
    if let Some((file, _)) = env.get("DIESEL_CONFIG_FILE") {
        return Some(PathBuf::from(file));
    }
    [&project.package_dir, &project.workspace_root].into_iter().map(|d| d.join("diesel.toml")).find(|p| p.is_file())
}

/// The `[print_schema]` configurations of a diesel.toml (none configured:
/// diesel's defaults, under the key `default`); paths in it are relative to
/// its folder. A file that does not exist has only the defaults, as for diesel_cli.
pub fn print_schema_configs(path: &Path) -> Result<crate::diesel_schema::Configs> {
    let bad = |what: String| {
        Error::new(Kind::BadMetadata, format!("{}: {what}", path.display()))
            .hint("see diesel's print-schema settings: https://diesel.rs/guides/configuring-diesel-cli")
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path, "read", e)),
    };
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| bad(e.message().trim().to_string()))?;
    let section = match table.remove("print_schema") {
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(bad("[print_schema] must be a table".into())),
        None => toml::Table::new(),
    };
    let base = path.parent().unwrap_or(Path::new("."));
    crate::diesel_schema::Configs::from_table(section, base).map_err(bad)
}

/// `[package.metadata.migrate.lint]` of the package's Cargo.toml, else
/// `[workspace.metadata.migrate.lint]` of the workspace's; defaults without.
fn lint_config(project: &Project) -> Result<crate::lint::Config> {
    let places = [
        (project.package_dir.join("Cargo.toml"), ["package", "metadata", "migrate", "lint"]),
        (project.workspace_root.join("Cargo.toml"), ["workspace", "metadata", "migrate", "lint"]),
    ];
    for (manifest, keys) in places {
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::new(Kind::BadMetadata, format!("{} is not valid TOML: {}", manifest.display(), e.message()))
        })?;
        let root = toml::Value::Table(table);
        let mut value = Some(&root);
        for key in keys {
            value = value.and_then(|v| v.get(key));
        }
        let Some(value) = value else { continue };
        let section = format!("[{}]", keys.join("."));
        let lint = value.as_table().ok_or_else(|| {
            Error::new(Kind::BadMetadata, format!("{section} in {} must be a table", manifest.display()))
        })?;
        return crate::lint::Config::from_toml(lint).map_err(|e| {
            Error::new(Kind::BadMetadata, format!("{section} in {}: {e}", manifest.display()))
                .hint("it takes `ignore = [\"rule\"]`, `severity = { rule = \"error\" | \"warn\" | \"info\" | \"off\" }` and `exposed_schemas = [\"public\"]`")
        });
    }
    Ok(crate::lint::Config::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_of(text: &str) -> Result<Option<PathBuf>> {
        let base = std::env::temp_dir().join(format!("cargo-migrate-diesel-toml-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("diesel.toml"), text).unwrap();
        let found = diesel_toml_dir(&base).map(|d| d.map(|d| d.strip_prefix(&base).unwrap().to_path_buf()));
        let _ = std::fs::remove_dir_all(&base);
        found
    }

    #[test]
    fn diesel_toml_is_typed_where_we_read_it() {
        let with_diesel_sections =
            "[print_schema]\nfile = \"src/schema.rs\"\n\n[migrations_directory]\ndir = \"db/migrations\"\n";
        assert_eq!(dir_of(with_diesel_sections).unwrap(), Some(PathBuf::from("db/migrations")));
        assert_eq!(dir_of("[print_schema]\nfile = \"x\"\n[some_future_section]\na = 1\n").unwrap(), None);
        for bad in
            ["[migrations_directory]\ndir = 5\n", "[migrations_directory]\ndri = \"m\"\n", "[migrations_directory]\n"]
        {
            let err = dir_of(bad).unwrap_err();
            assert_eq!(err.kind, Kind::BadMetadata, "{bad}");
            assert!(err.message.contains("line"), "{}", err.message);
        }
    }

    #[test]
    fn the_roles_file_is_the_setting_else_the_supabase_clis_file() {
        let root = std::env::temp_dir().join(format!("cargo-migrate-roles-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("app/supabase/migrations")).unwrap();
        let mut project = crate::workspace::standalone(&root.join("app"));
        project.workspace_root = root.clone();
        let supabase = root.join("app/supabase/migrations");
        // None yet: where the Supabase CLI keeps it, beside its migrations.
        let r = roles(&project, &supabase);
        assert_eq!(r, Roles { path: root.join("app/supabase/roles.sql"), configured: false });
        assert_eq!(r.file().unwrap(), None);
        // Another layout: the package's, else the workspace's, supabase/roles.sql.
        std::fs::create_dir_all(root.join("supabase")).unwrap();
        std::fs::write(root.join("supabase/roles.sql"), "").unwrap();
        let r = roles(&project, &root.join("app/migrations"));
        assert_eq!(r.file().unwrap(), Some(root.join("supabase/roles.sql").as_path()));
        // The setting wins, and must exist.
        project.roles_setting = Some(root.join("db/roles.sql"));
        let r = roles(&project, &supabase);
        assert!(r.configured && r.file().unwrap_err().kind == Kind::BadMetadata);
        let _ = std::fs::remove_dir_all(&root);
    }
}
