//! Where the seed data is: the `seeds` setting, a Supabase project's
//! `supabase/seed.sql` (or the `[db.seed] sql_paths` of its config.toml),
//! else a `seeds/` folder beside the migrations folder. Seeds are kept apart
//! from migrations: data for development, never recorded as applied.

use std::path::{Path, PathBuf};

use crate::error::{Error, Kind, Result};
use crate::workspace::Project;

#[derive(Debug, Clone)]
pub struct Seeds {
    /// In the order they run.
    pub files: Vec<PathBuf>,
    /// Where we looked, for the message when there are none.
    pub looked: Vec<PathBuf>,
}

pub fn find(project: &Project, migrations_dir: &Path) -> Result<Seeds> {
    if let Some(path) = &project.seeds_setting {
        if !path.exists() {
            return Err(Error::new(
                Kind::NoSeeds,
                format!("the seeds setting names {}, which does not exist", path.display()),
            )
            .hint("fix `seeds` in [package.metadata.migrate] (a .sql file or a folder of them)"));
        }
        return Ok(Seeds { files: sql_files(path)?, looked: vec![path.clone()] });
    }
    let supabase = match migrations_dir.ends_with("supabase/migrations") {
        true => migrations_dir.parent().map(Path::to_path_buf).unwrap_or_default(),
        false => project.package_dir.join("supabase"),
    };
    let mut looked = Vec::new();
    let config = supabase.join("config.toml");
    if let Some(paths) = config_seed_paths(&config)? {
        let mut files = Vec::new();
        for p in &paths {
            files.extend(expand(&supabase, p)?);
        }
        return Ok(Seeds { files, looked: vec![config] });
    }
    let seed = supabase.join("seed.sql");
    looked.push(seed.clone());
    if seed.is_file() {
        return Ok(Seeds { files: vec![seed], looked });
    }
    let folder = migrations_dir.parent().unwrap_or(migrations_dir).join("seeds");
    looked.push(folder.clone());
    let files = if folder.is_dir() { sql_files(&folder)? } else { Vec::new() };
    Ok(Seeds { files, looked })
}

/// A file, or the `.sql` files of a folder in name order.
pub(crate) fn sql_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, "read the seeds folder", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    Ok(files)
}

/// `[db.seed] sql_paths` of a Supabase config.toml: None when it says
/// nothing (Supabase's default is then `seed.sql`), empty when seeding is off.
fn config_seed_paths(config: &Path) -> Result<Option<Vec<String>>> {
    let Ok(text) = std::fs::read_to_string(config) else {
        return Ok(None);
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::new(Kind::BadMetadata, format!("{} is not valid TOML: {}", config.display(), e.message()))
    })?;
    let Some(seed) = table.get("db").and_then(|d| d.get("seed")) else {
        return Ok(None);
    };
    if seed.get("enabled").and_then(|e| e.as_bool()) == Some(false) {
        return Ok(Some(Vec::new()));
    }
    Ok(seed
        .get("sql_paths")
        .and_then(|p| p.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()))
}

/// A path of config.toml, relative to the supabase folder; `*` and `?` in its
/// last part match file names (`./seeds/*.sql`), in name order.
pub(crate) fn expand(base: &Path, pattern: &str) -> Result<Vec<PathBuf>> {
    let full = base.join(pattern);
    let name = full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(if full.exists() { sql_files(&full)? } else { Vec::new() });
    }
    let dir = full.parent().unwrap_or(base);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// `*` any run of characters, `?` one.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.sql", "seed.sql"));
        assert!(wildcard("0?_*.sql", "01_users.sql"));
        assert!(!wildcard("*.sql", "seed.sql.bak"));
        assert!(wildcard("*", "x"));
        assert!(!wildcard("a*b", "ac"));
    }
}
