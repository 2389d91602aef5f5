//! `cargo migrate create NAME`: a new migration folder from the templates.
//! Never overwrites; a folder appears whole or not at all, and two `create`s
//! at the same moment get distinct versions.

use std::fs;
use std::path::{Path, PathBuf};

use super::Context;
use crate::cli::CreateArgs;
use crate::error::{exit, Error, Kind, Result};
use crate::report::{display_path, json_path, CreateOutput};
use crate::supabase::table::{self, TableSpec};
use crate::{names, version};

const UP_TEMPLATE: &str = include_str!("../../migrations-template/up.sql");
const DOWN_TEMPLATE: &str = include_str!("../../migrations-template/down.sql");

pub fn run(ctx: &Context, args: &CreateArgs) -> Result<u8> {
    let name = names::migration_name(&args.name, args.force)?;
    let dir = &ctx.settings.migrations_dir;
    let table = match &args.table {
        Some(t) => Some(TableSpec {
            table: table::identifier(t, "table name")?,
            rls: !args.no_rls,
            policy: table::policy(args.policy.as_deref())?,
            realtime: args.realtime,
        }),
        None => None,
    };
    if let Some(spec) = &table {
        spec.check()?;
    }
    let (up, down) = match &table {
        // The header of the usual template, then the table pattern.
        Some(spec) => table::render(spec, "-- {{title}}\n"),
        None => templates(ctx.settings.templates_dir.as_deref())?,
    };
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the migrations folder", e))?;
    let source = ctx.source()?;
    let mut newest = source.migrations.last().map(|m| m.version.clone());
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    // Another `create` may race us to the same second: a version is reserved by
    // creating its staging folder exclusively; the loser moves to the next one.
    for _ in 0..60 {
        let version = version::next_version(now, newest.as_deref());
        newest = Some(version.clone());
        let folder = format!("{version}_{name}");
        let vars = |t: &str| render(t, &version, &name);
        let Some(target) = write_reserved(dir, &version, &folder, &[("up.sql", vars(&up)), ("down.sql", vars(&down))])?
        else {
            continue;
        };
        let shown = display_path(&target);
        ctx.reporter.line(format!("created {shown}/up.sql"));
        ctx.reporter.line(format!("created {shown}/down.sql"));
        ctx.reporter.json(&CreateOutput {
            ok: true,
            command: "create",
            version,
            name: folder,
            path: json_path(&target),
            files: vec![json_path(&target.join("up.sql")), json_path(&target.join("down.sql"))],
        });
        return Ok(exit::OK);
    }
    Err(Error::new(Kind::VersionTaken, "could not find a free version for the new migration")
        .hint("another process is creating migrations in the same folder; try again"))
}

fn templates(custom: Option<&Path>) -> Result<(String, String)> {
    let Some(dir) = custom else {
        return Ok((UP_TEMPLATE.to_string(), DOWN_TEMPLATE.to_string()));
    };
    let read = |file: &str, fallback: &str| -> Result<String> {
        let path = dir.join(file);
        match fs::read_to_string(&path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(fallback.to_string()),
            Err(e) => Err(Error::io(&path, "read the template", e)),
        }
    };
    Ok((read("up.sql", UP_TEMPLATE)?, read("down.sql", DOWN_TEMPLATE)?))
}

/// `{{version}}`, `{{name}}` and `{{title}}` ("Add project team support").
fn render(template: &str, version: &str, name: &str) -> String {
    let mut title = name.replace('_', " ");
    if let Some(first) = title.get(0..1) {
        title = format!("{}{}", first.to_uppercase(), &title[1..]);
    }
    template.replace("{{version}}", version).replace("{{name}}", name).replace("{{title}}", &title)
}

/// Reserve `version` by creating its hidden staging folder (exclusive: only
/// one process can), check no folder has that version yet, write the files,
/// then rename into place: a crash or a full disk leaves no half-written
/// migration that `up` would run. None when the version is taken.
fn write_reserved(dir: &Path, version: &str, folder: &str, files: &[(&str, String)]) -> Result<Option<PathBuf>> {
    let staging = dir.join(format!(".{version}.creating"));
    match fs::create_dir(&staging) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(Error::io(&staging, "create", e)),
    }
    let result = (|| {
        let taken = fs::read_dir(dir)
            .map_err(|e| Error::io(dir, "read the migrations folder", e))?
            .filter_map(|e| e.ok())
            .any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                !n.starts_with('.') && version::version_of(&n) == version
            });
        if taken {
            return Ok(None);
        }
        for (file, content) in files {
            let path = staging.join(file);
            fs::write(&path, content).map_err(|e| Error::io(&path, "write", e))?;
        }
        let target = dir.join(folder);
        fs::rename(&staging, &target).map_err(|e| Error::io(&target, "create", e))?;
        Ok(Some(target))
    })();
    if !matches!(result, Ok(Some(_))) {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders() {
        assert_eq!(render("-- {{title}} ({{version}}, {{name}})", "2025", "add_x"), "-- Add x (2025, add_x)");
    }
}
