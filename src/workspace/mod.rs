//! Which cargo project we are in: `cargo metadata --no-deps`, then the package
//! the user means (`-p`, `--manifest-path`, or the folder they stand in).

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand};
use serde::Deserialize;

use crate::error::{Error, Kind, Result};
mod cache;

#[derive(Debug, Clone)]
pub struct Project {
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    /// None when the folder is a virtual workspace's root (no package there).
    pub package: Option<String>,
    /// The package's folder, or the workspace root for a virtual workspace.
    pub package_dir: PathBuf,
    /// `[package.metadata.migrate] dir`, resolved against the package folder.
    pub package_dir_setting: Option<PathBuf>,
    /// `[workspace.metadata.migrate] dir`, resolved against the workspace root.
    pub workspace_dir_setting: Option<PathBuf>,
    /// `seeds` of `[package.metadata.migrate]` (else of the workspace's): a
    /// file or folder, resolved against the folder of the Cargo.toml saying it.
    pub seeds_setting: Option<PathBuf>,
    /// `roles` of `[package.metadata.migrate]` (else of the workspace's): the
    /// SQL file that creates the roles migrations use but do not create.
    pub roles_setting: Option<PathBuf>,
    /// `schema` of `[package.metadata.migrate]` (else of the workspace's): the
    /// schema file `up`, `down` and `redo` keep current.
    pub schema_setting: Option<PathBuf>,
    /// `schema_dir` of `[package.metadata.migrate]` (else of the workspace's):
    /// the declarative schema files `diff` compares the migrations with.
    pub schema_dir_setting: Option<PathBuf>,
    /// Every member of the workspace (the chosen one too), for finding the
    /// one with migrations from a sibling member or a virtual root.
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub dir: PathBuf,
    /// Its `[package.metadata.migrate] dir`, resolved.
    pub dir_setting: Option<PathBuf>,
    /// Its `[package.metadata.migrate] seeds`, resolved.
    pub seeds_setting: Option<PathBuf>,
}

pub fn discover(cwd: &Path, manifest_path: Option<&Path>, package: Option<&str>) -> Result<Project> {
    let cwd_abs = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let key = cache::key(&cwd_abs, manifest_path, package);
    if let Some(project) = cache::load(&key) {
        return Ok(project);
    }
    let mut cmd = MetadataCommand::new();
    cmd.no_deps().current_dir(cwd);
    if let Some(path) = manifest_path {
        let path = cwd.join(path);
        if !path.is_file() {
            return Err(Error::new(Kind::NoManifest, format!("--manifest-path {} does not exist", path.display()))
                .hint("pass the path of a Cargo.toml file"));
        }
        cmd.manifest_path(path);
    }
    let metadata = cmd.exec().map_err(|e| metadata_error(cwd, e))?;
    let project = select(&metadata, cwd, manifest_path, package)?;
    let mut manifests: Vec<PathBuf> =
        metadata.workspace_packages().iter().map(|p| p.manifest_path.clone().into()).collect();
    manifests.push(project.workspace_root.join("Cargo.toml"));
    if let Some(path) = manifest_path {
        manifests.push(cwd.join(path));
    }
    cache::store(&key, &cwd_abs, &manifests, &project);
    Ok(project)
}

/// No cargo project to ask (a deploy image without cargo, or a folder of
/// migrations on its own): the current folder stands for the workspace.
pub fn standalone(cwd: &Path) -> Project {
    Project {
        workspace_root: cwd.to_path_buf(),
        target_dir: cwd.join("target"),
        package: None,
        package_dir: cwd.to_path_buf(),
        package_dir_setting: None,
        workspace_dir_setting: None,
        seeds_setting: None,
        roles_setting: None,
        schema_setting: None,
        schema_dir_setting: None,
        members: Vec::new(),
    }
}

fn metadata_error(cwd: &Path, err: cargo_metadata::Error) -> Error {
    match err {
        cargo_metadata::Error::CargoMetadata { stderr } if stderr.contains("could not find `Cargo.toml`") => {
            Error::new(
                Kind::NotInCargoProject,
                format!("{} is not inside a cargo project (no Cargo.toml here or above)", cwd.display()),
            )
            .hint("run cargo migrate from your project's folder, or pass --manifest-path path/to/Cargo.toml")
        }
        cargo_metadata::Error::CargoMetadata { stderr } => {
            Error::new(Kind::CargoMetadata, format!("`cargo metadata` failed: {}", stderr.trim()))
                .hint("fix the Cargo.toml error above; `cargo metadata --no-deps` must succeed")
        }
        other => Error::new(Kind::NoCargo, format!("could not run `cargo metadata`: {other}")).hint(
            "is cargo installed and on PATH? Without cargo (a deploy image), give the folder: \
             `cargo-migrate up --dir migrations --database-url …` (or MIGRATE_DIR)",
        ),
    }
}

fn select(metadata: &Metadata, cwd: &Path, manifest_path: Option<&Path>, package: Option<&str>) -> Result<Project> {
    let root: PathBuf = metadata.workspace_root.clone().into();
    let members = metadata.workspace_packages();
    let chosen = if let Some(name) = package {
        let found = members.iter().find(|p| p.name.as_str() == name);
        if found.is_none() {
            let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::new(
                Kind::UnknownPackage,
                format!("no package `{name}` in the workspace at {}", root.display()),
            )
            .hint(format!("members are: {}", names.join(", "))));
        }
        found.copied()
    } else if let Some(path) = manifest_path {
        let path = std::fs::canonicalize(cwd.join(path)).unwrap_or_else(|_| cwd.join(path));
        members.iter().find(|p| p.manifest_path.as_std_path() == path).copied()
    } else {
        let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
        members
            .iter()
            .filter(|p| p.manifest_path.parent().is_some_and(|d| cwd.starts_with(d.as_std_path())))
            .max_by_key(|p| p.manifest_path.as_str().len())
            .copied()
    };
    let package_dir = chosen
        .and_then(|p| p.manifest_path.parent())
        .map(|d| d.as_std_path().to_path_buf())
        .unwrap_or_else(|| root.clone());
    let package_meta = match chosen {
        Some(p) => migrate_metadata(&p.metadata, "package.metadata.migrate")?,
        None => MigrateMetadata::default(),
    };
    let workspace_meta = migrate_metadata(&metadata.workspace_metadata, "workspace.metadata.migrate")?;
    let seeds_setting =
        package_meta.seeds.map(|s| package_dir.join(s)).or_else(|| workspace_meta.seeds.as_ref().map(|s| root.join(s)));
    // A sibling's malformed metadata is its own problem, reported when it is chosen.
    let members = members
        .iter()
        .filter_map(|p| {
            let dir = p.manifest_path.parent()?.as_std_path().to_path_buf();
            let meta = migrate_metadata(&p.metadata, "package.metadata.migrate").unwrap_or_default();
            Some(Member {
                name: p.name.to_string(),
                dir_setting: meta.dir.map(|d| dir.join(d)),
                seeds_setting: meta
                    .seeds
                    .map(|s| dir.join(s))
                    .or_else(|| workspace_meta.seeds.as_ref().map(|s| root.join(s))),
                dir,
            })
        })
        .collect();
    let roles_setting =
        package_meta.roles.map(|s| package_dir.join(s)).or_else(|| workspace_meta.roles.as_ref().map(|s| root.join(s)));
    let schema_setting = package_meta
        .schema
        .map(|s| package_dir.join(s))
        .or_else(|| workspace_meta.schema.as_ref().map(|s| root.join(s)));
    let schema_dir_setting = package_meta
        .schema_dir
        .map(|s| package_dir.join(s))
        .or_else(|| workspace_meta.schema_dir.as_ref().map(|s| root.join(s)));
    Ok(Project {
        members,
        roles_setting,
        schema_setting,
        schema_dir_setting,
        package_dir_setting: package_meta.dir.map(|d| package_dir.join(d)),
        workspace_dir_setting: workspace_meta.dir.map(|d| root.join(d)),
        seeds_setting,
        package: chosen.map(|p| p.name.to_string()),
        package_dir,
        target_dir: metadata.target_directory.clone().into(),
        workspace_root: root,
    })
}

/// `[package.metadata.migrate]` (or the workspace's): typed, so a misspelt
/// key or a number where a path belongs is an error, not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateMetadata {
    dir: Option<PathBuf>,
    seeds: Option<PathBuf>,
    /// The roles file run before the migrations on local and scratch databases.
    roles: Option<PathBuf>,
    /// The schema file kept after every change (`cargo migrate dump`).
    schema: Option<PathBuf>,
    /// The declarative schema files' folder (`diff`).
    schema_dir: Option<PathBuf>,
    /// Read with its own types by `settings::lint_config`.
    #[allow(dead_code)]
    lint: Option<serde::de::IgnoredAny>,
    /// The fleet's target groups, read when `--group` names one.
    #[allow(dead_code)]
    targets: Option<serde::de::IgnoredAny>,
}

fn migrate_metadata(metadata: &serde_json::Value, section: &str) -> Result<MigrateMetadata> {
    match metadata.get("migrate") {
        None | Some(serde_json::Value::Null) => Ok(MigrateMetadata::default()),
        Some(value) => MigrateMetadata::deserialize(value).map_err(|e| {
            Error::new(Kind::BadMetadata, format!("[{section}] in Cargo.toml: {e}"))
                .hint(format!("it takes `dir = \"migrations\"`, `seeds = \"seeds\"`, `roles = \"supabase/roles.sql\"`, `schema = \"schema.sql\"`, `schema_dir = \"schemas\"` and a `[{section}.lint]` table"))
        }),
    }
}
