//! Where cargo-migrate keeps what it may forget: answers that are costly to
//! recompute (cargo metadata, checksums of thousands of files), each stored
//! with the stamps of the files it depends on. Best effort: a cache that
//! cannot be read or written is simply not used. `CARGO_MIGRATE_NO_CACHE=1`
//! turns every cache off.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// `$XDG_CACHE_HOME/cargo-migrate` (or `~/.cache/cargo-migrate`); None when caching is off.
pub fn dir() -> Option<PathBuf> {
    if std::env::var_os("CARGO_MIGRATE_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("cargo-migrate"))
}

/// (size, mtime in ns) of a file, or None when it does not exist.
pub fn stamp(path: &Path) -> Option<(u64, u128)> {
    let m = std::fs::metadata(path).ok()?;
    let mtime = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some((m.len(), mtime))
}

/// Write `text` to `file` through a temporary file and a rename, so that a
/// reader never sees half of it.
pub fn store(file: &Path, text: &str) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
