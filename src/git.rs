//! What `git` says about a branch: where it forked from its base, and which
//! files under a folder it added, changed or deleted since. The only place
//! that runs git (as `workspace` is the only place that runs cargo).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Kind, Result};

/// A file the branch changed, relative to the repository's top folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub status: Status,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Added,
    Modified,
    Deleted,
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| {
        Error::new(Kind::Git, format!("could not run git: {e}"))
            .hint("install git; `check` compares the branch with its base")
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::new(Kind::Git, format!("`git {}` failed: {}", args.join(" "), stderr.trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_string())
}

/// The repository's top folder.
pub fn toplevel(dir: &Path) -> Result<PathBuf> {
    git(dir, &["rev-parse", "--show-toplevel"])
        .map(PathBuf::from)
        .map_err(|e| e.hint("run `check` in a git clone of the project (in CI: actions/checkout with fetch-depth: 0)"))
}

/// The commit the branch forked from: the merge base of HEAD with `base`,
/// else with origin/HEAD, else with main, else master.
pub fn merge_base(dir: &Path, base: Option<&str>) -> Result<(String, String)> {
    let candidates: Vec<&str> = match base {
        Some(b) => vec![b],
        None => vec!["origin/HEAD", "main", "master", "origin/main", "origin/master"],
    };
    for c in &candidates {
        let exists = git(dir, &["rev-parse", "--verify", "--quiet", &format!("{c}^{{commit}}")]).is_ok();
        if !exists {
            continue;
        }
        let commit = git(dir, &["merge-base", c, "HEAD"])
            .map_err(|e| e.hint("the history may be shallow: fetch it whole (actions/checkout with fetch-depth: 0)"))?;
        return Ok((c.to_string(), commit));
    }
    Err(match base {
        Some(b) => Error::new(Kind::Git, format!("--base {b} is no commit of this repository; nothing was checked"))
            .hint("give a branch, tag or commit that exists here (fetch it first in CI)"),
        None => Error::new(Kind::Git, "no base to compare with: neither origin/HEAD nor main nor master exists here")
            .hint("pass --base REF (in a pull request: --base origin/${{ github.base_ref }})"),
    })
}

/// What the branch (HEAD) changed under `path` since `base`, renames as a
/// deletion and an addition.
pub fn changes(dir: &Path, base: &str, path: &Path) -> Result<Vec<Change>> {
    let range = format!("{base}...HEAD");
    let spec = path.to_string_lossy();
    let out = git(dir, &["diff", "--name-status", "--no-renames", "-z", &range, "--", &spec])?;
    let mut fields = out.split('\0').filter(|f| !f.is_empty());
    let mut changes = Vec::new();
    while let (Some(status), Some(file)) = (fields.next(), fields.next()) {
        let status = match status.chars().next() {
            Some('A') => Status::Added,
            Some('D') => Status::Deleted,
            _ => Status::Modified,
        };
        changes.push(Change { status, path: PathBuf::from(file) });
    }
    Ok(changes)
}
