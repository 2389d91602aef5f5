//! node-pg-migrate's JavaScript and TypeScript migrations, turned into the
//! SQL node-pg-migrate itself would send: each file's `up` and `down` run
//! through the MigrationBuilder of the node-pg-migrate the project has
//! installed, with no database (`javascript.mjs`, run by `node`). Its
//! builder is the only faithful source of that SQL: its quoting, defaults,
//! index names and inferred downs change between releases.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::error::{Error, Kind, Result};
use crate::show::display_path;

const DRIVER: &str = include_str!("javascript.mjs");
const MARK: &str = "\u{1}cargo-migrate-result ";

/// The file extensions node-pg-migrate loads as code.
pub fn is_script(file_name: &str) -> bool {
    file_name.rsplit_once('.').is_some_and(|(_, ext)| matches!(ext, "js" | "cjs" | "mjs" | "ts" | "cts" | "mts"))
}

/// One file, as node-pg-migrate would run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversion {
    Converted {
        up: Direction,
        down: Down,
    },
    /// Why it cannot become SQL (it queries the database, throws, imports
    /// something missing).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Direction {
    /// The statements in the order node-pg-migrate sends them.
    pub sql: Vec<String>,
    /// False when the migration calls `pgm.noTransaction()`.
    pub transaction: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    Sql(Direction),
    /// `down = false`, or no down and an operation without an inverse.
    Irreversible(String),
}

#[derive(Deserialize)]
struct Answer {
    version: String,
    #[serde(default)]
    fatal: Option<String>,
    #[serde(default)]
    files: Vec<FileAnswer>,
}

#[derive(Deserialize)]
struct FileAnswer {
    file: PathBuf,
    up: Option<Direction>,
    down: Option<Direction>,
    irreversible: Option<String>,
    error: Option<FileError>,
}

#[derive(Deserialize)]
struct FileError {
    kind: String,
    message: String,
}

/// The node-pg-migrate a folder's project has installed: the nearest
/// `node_modules/node-pg-migrate` from `dir` upwards, as node resolves it.
pub fn find_package(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors().map(|a| a.join("node_modules").join("node-pg-migrate")).find(|p| p.join("package.json").is_file())
}

/// Run `files` (absolute paths, in node-pg-migrate's order: type shorthands
/// a file exports apply to the files after it) through the project's
/// node-pg-migrate. Returns its version and each file's outcome, in order.
pub fn convert(dir: &Path, files: &[PathBuf]) -> Result<(String, Vec<Conversion>)> {
    let Some(package) = find_package(dir) else {
        return Err(Error::new(
            Kind::NoNodePgMigrate,
            format!(
                "{} holds JavaScript/TypeScript migrations, but no node_modules/node-pg-migrate is installed in it or any folder above",
                display_path(dir)
            ),
        )
        .hint("install the project's packages first (`npm install`, or `npm install --save-dev node-pg-migrate`): its own node-pg-migrate turns the files into SQL"));
    };
    // The project root: where node resolves the migrations' own imports from.
    let root = package.parent().and_then(Path::parent).unwrap_or(dir).to_path_buf();
    let driver = std::env::temp_dir().join(format!("cargo-migrate-node-pg-migrate-{}.mjs", std::process::id()));
    std::fs::write(&driver, DRIVER).map_err(|e| Error::io(&driver, "write", e))?;
    let input = serde_json::json!({ "package": package, "files": files });
    let run = run_node(&driver, &root, &input.to_string());
    let _ = std::fs::remove_file(&driver);
    let (stdout, stderr) = run?;
    let Some(line) = stdout.lines().rev().find_map(|l| l.strip_prefix(MARK)) else {
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        return Err(Error::new(Kind::NodeFailed, "node stopped before it answered; nothing was written")
            .detail(format!("  {last}"))
            .hint("check that `node` is Node.js 18 or later and that `npm install` ran in the project"));
    };
    let answer: Answer = serde_json::from_str(line)
        .map_err(|e| Error::new(Kind::Internal, format!("unreadable answer from the node-pg-migrate driver: {e}")))?;
    if let Some(fatal) = answer.fatal {
        return Err(Error::new(
            Kind::NodeFailed,
            format!("node-pg-migrate {} (in {}) could not be used: {fatal}", answer.version, display_path(&package)),
        )
        .hint("reinstall it (`npm install`); cargo migrate needs its MigrationBuilder"));
    }
    let outcomes = answer
        .files
        .into_iter()
        .map(|f| match (f.error, f.up) {
            (Some(e), _) => Conversion::Failed(reason(&e, &f.file)),
            (None, None) => Conversion::Failed("node-pg-migrate gave no SQL for its up".into()),
            (None, Some(up)) => Conversion::Converted {
                up,
                down: match (f.down, f.irreversible) {
                    (Some(down), _) => Down::Sql(down),
                    (None, why) => Down::Irreversible(why.unwrap_or_else(|| "it has no down".into())),
                },
            },
        })
        .collect();
    Ok((answer.version, outcomes))
}

fn reason(e: &FileError, file: &Path) -> String {
    match e.kind.as_str() {
        "database" => {
            "it queries the database through pgm.db, so its SQL depends on the data: write its SQL by hand".into()
        }
        "missing_module" => {
            let relative = e.message.contains("module '.") || e.message.contains("module '/");
            if relative {
                format!(
                    "it imports app code that is not there: {} (from {}; build or restore it, then run import again)",
                    e.message,
                    display_path(file.parent().unwrap_or(file))
                )
            } else {
                format!("it imports a package that is not installed: {} (`npm install` in the project)", e.message)
            }
        }
        "no_typescript" => e.message.clone(),
        _ => format!("it throws: {}", e.message),
    }
}

fn run_node(driver: &Path, root: &Path, input: &str) -> Result<(String, String)> {
    let node = std::env::var_os("NODE").map(PathBuf::from).unwrap_or_else(|| "node".into());
    let mut child = Command::new(&node)
        .arg(driver)
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::new(
                    Kind::NoNode,
                    format!("`{}` was not found: node-pg-migrate's JavaScript migrations need Node.js to become SQL", node.display()),
                )
                .hint("install Node.js 20 or later (Debian/Ubuntu: `apt-get install nodejs npm`), or set NODE to the node binary")
            } else {
                Error::new(Kind::NodeFailed, format!("could not run `{}`: {e}", node.display()))
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| Error::new(Kind::NodeFailed, format!("node failed: {e}")))?;
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
}

/// The SQL of one direction as a file: node-pg-migrate's statements, one
/// after the other, as it sends them.
pub fn script(d: &Direction) -> String {
    let mut out = String::new();
    for step in &d.sql {
        let step = step.trim_matches('\n').trim_end();
        out.push_str(step);
        // node-pg-migrate sends each step alone: a `;` it appended after a
        // trailing `-- comment` ends nothing once the next step follows.
        if step.lines().last().is_some_and(|l| l.contains("--")) {
            out.push_str("\n;");
        }
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_node_pg_migrate_steps_in_order() {
        let d = Direction {
            sql: vec!["CREATE TABLE a ();".into(), "\n  ALTER TABLE a ENABLE ROW LEVEL SECURITY\n;".into()],
            transaction: true,
        };
        assert_eq!(script(&d), "CREATE TABLE a ();\n\n  ALTER TABLE a ENABLE ROW LEVEL SECURITY\n;\n");
        let d = Direction { sql: vec!["SELECT 1 -- why;".into(), "SELECT 2;".into()], transaction: true };
        assert_eq!(script(&d), "SELECT 1 -- why;\n;\n\nSELECT 2;\n");
    }

    #[test]
    fn reasons_say_what_to_do() {
        let e = |kind: &str, message: &str| FileError { kind: kind.into(), message: message.into() };
        let file = Path::new("migrations/1_a.js");
        assert!(reason(&e("database", ""), file).contains("pgm.db"));
        assert!(reason(&e("missing_module", "Cannot find module '../types'"), file).contains("app code"));
        assert!(reason(&e("missing_module", "Cannot find module 'lodash'"), file).contains("npm install"));
        assert!(reason(&e("threw", "boom"), file).contains("boom"));
    }

    #[test]
    fn scripts_are_recognised_by_extension() {
        for name in ["1_a.js", "1_a.cjs", "1_a.mjs", "1_a.ts", "1_a.mts"] {
            assert!(is_script(name), "{name}");
        }
        for name in ["1_a.sql", "README", "1_a.json"] {
            assert!(!is_script(name), "{name}");
        }
    }

    #[test]
    fn the_package_is_found_from_the_folder_upwards() {
        let root = std::env::temp_dir().join(format!("cm-js-find-{}", std::process::id()));
        let pkg = root.join("node_modules/node-pg-migrate");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("package.json"), "{}").unwrap();
        std::fs::create_dir_all(root.join("db/migrations")).unwrap();
        let found = find_package(&root.join("db/migrations")).unwrap();
        assert!(found.ends_with("node_modules/node-pg-migrate"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
