//! `cargo migrate create NAME`: a new migration folder from the templates.
//! Never overwrites; a folder appears whole or not at all.

use std::fs;
use std::path::Path;

use super::Context;
use crate::cli::CreateArgs;
use crate::error::{exit, Error, Result};
use crate::names;
use crate::supabase::table::{self, TableSpec};

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
    // Another `create` may race us to the same second: retry with the next one.
    for _ in 0..20 {
        let version = names::next_version(now, newest.as_deref());
        let folder = format!("{version}_{name}");
        let target = dir.join(&folder);
        if target.exists()
            || dir
                .read_dir()
                .map(|mut d| d.any(|e| e.is_ok_and(|e| names::version_of(&e.file_name().to_string_lossy()) == version)))
                .unwrap_or(false)
        {
            newest = Some(version);
            continue;
        }
        let vars = |t: &str| render(t, &version, &name);
        write_atomically(dir, &folder, &[("up.sql", vars(&up)), ("down.sql", vars(&down))])?;
        let shown = crate::report::display_path(&target);
        ctx.reporter.line(format!("created {shown}/up.sql"));
        ctx.reporter.line(format!("created {shown}/down.sql"));
        ctx.reporter.json(&serde_json::json!({
            "ok": true,
            "command": "create",
            "version": version,
            "name": folder,
            "path": target,
            "files": [target.join("up.sql"), target.join("down.sql")],
        }));
        return Ok(exit::OK);
    }
    Err(Error::new("version_taken", "could not find a free version for the new migration")
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

/// Write the files into a hidden folder, then rename it into place: a crash
/// or a full disk leaves no half-written migration that `up` would run.
fn write_atomically(dir: &Path, folder: &str, files: &[(&str, String)]) -> Result<()> {
    let tmp = dir.join(format!(".{folder}.tmp-{}", std::process::id()));
    let result = (|| {
        fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, "create", e))?;
        for (file, content) in files {
            let path = tmp.join(file);
            fs::write(&path, content).map_err(|e| Error::io(&path, "write", e))?;
        }
        let target = dir.join(folder);
        if target.exists() {
            return Err(Error::new("exists", format!("{} already exists; nothing was overwritten", target.display())));
        }
        fs::rename(&tmp, &target).map_err(|e| Error::io(&target, "create", e))
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
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
