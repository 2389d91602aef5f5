//! Where the declarative schema is (`cargo migrate diff`): the `schema_dir`
//! setting's `.sql` files, else the `[db.migrations] schema_paths` of a
//! Supabase config.toml (each path or pattern in the order given, a
//! pattern's matches in name order, each file once), else
//! `supabase/schemas/*.sql` in name order, as the Supabase CLI reads them.

use std::path::{Path, PathBuf};

use super::seeds::{expand, sql_files};
use crate::error::{Error, Kind, Result};
use crate::workspace::Project;

#[derive(Debug, Clone)]
pub struct SchemaFiles {
    /// In the order they load.
    pub files: Vec<PathBuf>,
    /// Where they were looked for, for the message when there are none.
    pub looked: PathBuf,
}

pub fn find(project: &Project, migrations_dir: &Path) -> Result<SchemaFiles> {
    if let Some(dir) = &project.schema_dir_setting {
        if !dir.exists() {
            return Err(Error::new(
                Kind::NoSchemaFiles,
                format!("the schema_dir setting names {}, which does not exist", dir.display()),
            )
            .hint("fix `schema_dir` in [package.metadata.migrate] (a folder of .sql files)"));
        }
        return Ok(SchemaFiles { files: sql_files(dir)?, looked: dir.clone() });
    }
    let supabase = match migrations_dir.ends_with("supabase/migrations") {
        true => migrations_dir.parent().map(Path::to_path_buf).unwrap_or_default(),
        false => project.package_dir.join("supabase"),
    };
    let config = supabase.join("config.toml");
    if let Some(paths) = config_schema_paths(&config)? {
        let mut files: Vec<PathBuf> = Vec::new();
        for p in &paths {
            for f in expand(&supabase, p)? {
                if !files.contains(&f) {
                    files.push(f);
                }
            }
        }
        return Ok(SchemaFiles { files, looked: config });
    }
    let dir = supabase.join("schemas");
    let files = if dir.is_dir() { sql_files(&dir)? } else { Vec::new() };
    Ok(SchemaFiles { files, looked: dir })
}

/// `[db.migrations] schema_paths` of a Supabase config.toml, when it says any.
fn config_schema_paths(config: &Path) -> Result<Option<Vec<String>>> {
    let Ok(text) = std::fs::read_to_string(config) else {
        return Ok(None);
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::new(Kind::BadMetadata, format!("{} is not valid TOML: {}", config.display(), e.message()))
    })?;
    Ok(table
        .get("db")
        .and_then(|d| d.get("migrations"))
        .and_then(|m| m.get("schema_paths"))
        .and_then(|p| p.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .filter(|v: &Vec<String>| !v.is_empty()))
}
