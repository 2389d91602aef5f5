//! A cache of what `cargo metadata` told us about a folder, so that `status`
//! and a no-op `up` do not pay for running cargo every time (~25 ms on an
//! idle machine, more than the 18 ms command itself; bench/caches.py). The
//! cache folder and its atomic writes serve `source::checksums` too.
//!
//! Safe because every file that could change the answer is recorded with a
//! checksum of its content (not its size and modification time, which an edit
//! through `cp -p` or `rsync -t` keeps), and checked before the cached answer
//! is used: the manifests of the workspace and its members, and for every
//! folder from the current one up to `/`, `Cargo.toml`, `.cargo/config.toml`
//! and `.cargo/config` (present or absent), plus `$CARGO_HOME`'s config. The
//! flags and the target-dir environment variables are part of the key.
//! Best effort: a cache that cannot be read or written is simply not used.
//! It lives in `$XDG_CACHE_HOME/cargo-migrate` (or `~/.cache/cargo-migrate`);
//! `CARGO_MIGRATE_NO_CACHE=1` turns it off.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::Project;

/// What identifies a question to `cargo metadata`.
pub fn key(cwd: &Path, manifest_path: Option<&Path>, package: Option<&str>) -> String {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    // The first part changes when what is cached does (a new setting).
    format!(
        "v5\0{}\0{}\0{}\0{}\0{}\0{}",
        cwd.display(),
        manifest_path.map(|p| p.display().to_string()).unwrap_or_default(),
        package.unwrap_or_default(),
        env("CARGO_TARGET_DIR"),
        env("CARGO_BUILD_TARGET_DIR"),
        // Resolved: cargo sets CARGO_HOME for subcommands, a shell usually does not.
        cargo_home().map(|h| h.display().to_string()).unwrap_or_default(),
    )
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// `$XDG_CACHE_HOME/cargo-migrate` (or `~/.cache/cargo-migrate`); None when caching is off.
pub(crate) fn dir() -> Option<PathBuf> {
    if std::env::var_os("CARGO_MIGRATE_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("cargo-migrate"))
}

/// The inputs the static checks found nothing in, by [`crate::lint::fingerprint`]:
/// a command that runs them (`up`, `down`, `verify`) checks only the others.
/// Kept across projects (an input is its text); the newest `CLEAN_KEPT` stay.
pub mod clean_lint {
    use std::collections::HashSet;

    const CLEAN_KEPT: usize = 50_000;

    fn file() -> Option<std::path::PathBuf> {
        Some(super::dir()?.join("lint-clean-1.txt"))
    }

    /// The build of the rules: this program's file, as its size and time.
    pub fn rules() -> String {
        let exe = std::env::current_exe().and_then(std::fs::metadata);
        let modified = exe.as_ref().ok().and_then(|m| m.modified().ok());
        let since = modified.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
        format!("{} {} {}", env!("CARGO_PKG_VERSION"), exe.map(|m| m.len()).unwrap_or(0), since.as_nanos())
    }

    /// The fingerprints known clean (empty when there is no cache).
    pub fn load() -> Vec<String> {
        file()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// `known` (as loaded) with `new` added, written back.
    pub fn store(mut known: Vec<String>, new: Vec<String>) {
        let Some(file) = file() else { return };
        if new.is_empty() {
            return;
        }
        let have: HashSet<&String> = known.iter().collect();
        let new: Vec<String> = new.into_iter().filter(|k| !have.contains(k)).collect();
        known.extend(new);
        let skip = known.len().saturating_sub(CLEAN_KEPT);
        let mut text = known[skip..].join("\n");
        text.push('\n');
        super::write_atomically(&file, &text);
    }
}

fn cache_file(key: &str) -> Option<PathBuf> {
    Some(dir()?.join(format!("{}.json", crate::version::checksum(key))))
}

/// The checksum of a file's content, or None when it cannot be read (absent).
fn stamp(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|bytes| crate::version::checksum(&String::from_utf8_lossy(&bytes)))
}

/// Write `text` to `file` through a temporary file and a rename, so that a
/// reader never sees half of it.
pub(crate) fn write_atomically(file: &Path, text: &str) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Every file whose change could change cargo's answer for `cwd`.
fn watched(cwd: &Path, manifests: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = manifests.to_vec();
    for dir in cwd.ancestors() {
        files.push(dir.join("Cargo.toml"));
        files.push(dir.join(".cargo/config.toml"));
        files.push(dir.join(".cargo/config"));
    }
    if let Some(home) = cargo_home() {
        files.push(home.join("config.toml"));
        files.push(home.join("config"));
    }
    files.sort();
    files.dedup();
    files
}

pub fn load(key: &str) -> Option<Project> {
    let text = std::fs::read_to_string(cache_file(key)?).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    if v["key"].as_str()? != key {
        return None;
    }
    for entry in v["watched"].as_array()? {
        let path = Path::new(entry["path"].as_str()?);
        let recorded = match &entry["checksum"] {
            Value::Null => None,
            sum => Some(sum.as_str()?.to_string()),
        };
        if stamp(path) != recorded {
            return None;
        }
    }
    let p = &v["project"];
    let path = |k: &str| p[k].as_str().map(PathBuf::from);
    Some(Project {
        workspace_root: path("workspace_root")?,
        target_dir: path("target_dir")?,
        package: p["package"].as_str().map(String::from),
        package_dir: path("package_dir")?,
        package_dir_setting: path("package_dir_setting"),
        workspace_dir_setting: path("workspace_dir_setting"),
        seeds_setting: path("seeds_setting"),
        roles_setting: path("roles_setting"),
        schema_setting: path("schema_setting"),
        schema_dir_setting: path("schema_dir_setting"),
        members: p["members"]
            .as_array()?
            .iter()
            .map(|m| {
                let path = |k: &str| m[k].as_str().map(PathBuf::from);
                Some(super::Member {
                    name: m["name"].as_str()?.to_string(),
                    dir: path("dir")?,
                    dir_setting: path("dir_setting"),
                    seeds_setting: path("seeds_setting"),
                })
            })
            .collect::<Option<Vec<_>>>()?,
    })
}

/// Best effort: a cache that cannot be written is simply not used.
pub fn store(key: &str, cwd: &Path, manifests: &[PathBuf], project: &Project) {
    let Some(file) = cache_file(key) else { return };
    let watched: Vec<Value> =
        watched(cwd, manifests).into_iter().map(|f| json!({ "path": f, "checksum": stamp(&f) })).collect();
    let value = json!({
        "key": key,
        "watched": watched,
        "project": {
            "workspace_root": project.workspace_root,
            "target_dir": project.target_dir,
            "package": project.package,
            "package_dir": project.package_dir,
            "package_dir_setting": project.package_dir_setting,
            "workspace_dir_setting": project.workspace_dir_setting,
            "seeds_setting": project.seeds_setting,
            "roles_setting": project.roles_setting,
            "schema_setting": project.schema_setting,
            "schema_dir_setting": project.schema_dir_setting,
            "members": project.members.iter().map(|m| json!({
                "name": m.name,
                "dir": m.dir,
                "dir_setting": m.dir_setting,
                "seeds_setting": m.seeds_setting,
            })).collect::<Vec<_>>(),
        },
    });
    write_atomically(&file, &value.to_string());
}
