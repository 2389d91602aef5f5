//! `cargo migrate create NAME`: a new migration folder from the templates.
//! Never overwrites; a folder appears whole or not at all, and two `create`s
//! at the same moment get distinct versions.

use std::fs;
use std::path::{Path, PathBuf};

use super::Context;
use crate::cli::CreateArgs;
use crate::db::history::Ledger;
use crate::error::{exit, Error, Kind, Result};
use crate::output::{display_path, json_path, CreateOutput};
use crate::source::sections::Format;
use crate::source::Source;
use crate::supabase::table::{self, TableSpec};
use crate::{migration_name, version};

const UP_TEMPLATE: &str = include_str!("../../migrations-template/up.sql");
const DOWN_TEMPLATE: &str = include_str!("../../migrations-template/down.sql");
/// The head of a new Supabase-layout file: one file, up only.
const FILE_TEMPLATE: &str = "-- {{title}}
--
-- What this migration does:
-- - 
--
-- Supabase layout: this file is up-only (undo it with a new migration).
-- It runs in one transaction: if any statement fails, none of it is applied.
-- Every new table gets `ALTER TABLE ... ENABLE ROW LEVEL SECURITY;`.
";
/// The up section of a new dbmate or node-pg-migrate file, which has a down
/// section too (the Supabase head would call it up-only).
const SECTION_TEMPLATE: &str = "-- {{title}}
--
-- What this migration does:
-- - 
--
-- It runs in one transaction: if any statement fails, none of it is applied.
";
/// Its down section (diesel's down.sql template speaks of up.sql).
const DOWN_SECTION_TEMPLATE: &str = "-- Undo everything the up section does, in reverse order.
";

pub fn run(ctx: &Context, args: &CreateArgs) -> Result<u8> {
    let name = migration_name::from_words(&args.name, args.force)?;
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
    let expand = crate::expand::parse(args.rename_column.as_deref(), args.change_type.as_deref()).map_err(|why| {
        Error::new(
            Kind::BadIdentifier,
            format!("{}: {why}", if args.rename_column.is_some() { "--rename-column" } else { "--change-type" }),
        )
        .hint(
            "--rename-column users.email:contact_email, --change-type orders.total:numeric(12,2):USING total::numeric",
        )
    })?;
    let (up, down) = match &table {
        // The header of the usual template, then the table pattern.
        Some(spec) => table::render(spec, "-- {{title}}\n"),
        None => templates(ctx.settings.templates_dir.as_deref())?,
    };
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the migrations folder", e))?;
    let source = ctx.source()?;
    let newest = source.migrations.last().map(|m| m.version.clone());
    let expand = expand.map(|(schema, table, change)| crate::expand::Spec {
        schema,
        table,
        change,
        app: ctx.settings.project.package.clone().unwrap_or_else(|| "app".into()).replace('-', "_"),
        previous: newest.as_deref().unwrap_or("base").to_string(),
    });
    if expand.is_some() && Layout::of(&source) != Layout::Folders {
        return Err(Error::new(
            Kind::BadIdentifier,
            "expand/contract migrations are written in diesel's folder layout only",
        )
        .hint("use --dir with a diesel migrations folder"));
    }
    let command = match (&args.rename_column, &args.change_type) {
        (Some(r), _) => format!("--rename-column {r}"),
        (_, Some(c)) => format!("--change-type {c}"),
        _ => String::new(),
    };
    let expand = expand.map(|e| e.files(&command));
    let render = |version: &str, layout: Layout| -> Content {
        let vars = |t: &str| render(t, version, &name);
        match layout {
            Layout::Folders => match &expand {
                Some(f) => Content::Folder(vec![
                    ("up.sql", vars(&f.up)),
                    ("down.sql", vars(&f.down)),
                    ("metadata.toml", f.metadata.clone()),
                    ("complete.sql", vars(&f.complete)),
                ]),
                None => Content::Folder(vec![("up.sql", vars(&up)), ("down.sql", vars(&down))]),
            },
            Layout::File(format) => {
                let ours = table.is_none() && ctx.settings.templates_dir.is_none();
                let (up, down) = match (ours, format) {
                    (true, Format::Plain) => (FILE_TEMPLATE, down.as_str()),
                    (true, _) => (SECTION_TEMPLATE, DOWN_SECTION_TEMPLATE),
                    (false, _) => (up.as_str(), down.as_str()),
                };
                Content::File(sections(format, &vars(up), &vars(down)))
            }
        }
    };
    let (version, folder, target, files) = write_new(ctx, &source, &name, &render)?;
    for file in &files {
        ctx.reporter.line(format!("created {}", display_path(file)));
    }
    ctx.reporter.json(&CreateOutput {
        ok: true,
        command: "create",
        version: version.into(),
        name: folder,
        path: json_path(&target),
        files: files.iter().map(|f| json_path(f)).collect(),
    });
    Ok(exit::OK)
}

/// A new migration's files, as its layout wants them.
pub(super) enum Content {
    Folder(Vec<(&'static str, String)>),
    File(String),
}

/// One file holding both sections in the folder's format (the down section
/// is left out of a plain, up-only file).
pub(super) fn sections(format: Format, up: &str, down: &str) -> String {
    match format {
        Format::Plain => up.to_string(),
        Format::Dbmate => format!("-- migrate:up\n{up}\n-- migrate:down\n{down}"),
        Format::NodePgMigrate => format!("-- Up Migration\n{up}\n-- Down Migration\n{down}"),
        Format::Goose => format!("-- +goose Up\n{up}\n-- +goose Down\n{down}"),
    }
}

/// Write a new migration named `name` in the project's layout, at the next
/// free version: `(version, folder name, path, files)`.
pub(super) fn write_new(
    ctx: &Context,
    source: &Source,
    name: &str,
    render: &dyn Fn(&str, Layout) -> Content,
) -> Result<(String, String, PathBuf, Vec<PathBuf>)> {
    let dir = &ctx.settings.migrations_dir;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the migrations folder", e))?;
    let layout = Layout::of(source);
    let mut newest = source.migrations.last().map(|m| m.version.clone());
    let now = jiff::Timestamp::now().as_second();
    // Another `create` may race us to the same second: a version is reserved by
    // creating its staging entry exclusively; the loser moves to the next one.
    for _ in 0..60 {
        let version = version::next_version(now, newest.as_deref());
        newest = Some(version.clone().into());
        let folder = format!("{version}_{name}");
        let written = match render(&version, layout) {
            Content::Folder(files) => {
                let names: Vec<&str> = files.iter().map(|(f, _)| *f).collect();
                write_reserved(dir, &version, &folder, &files)?
                    .map(|target| (target.clone(), names.iter().map(|f| target.join(f)).collect()))
            }
            Content::File(text) => {
                write_reserved_file(dir, &version, &format!("{folder}.sql"), &text)?.map(|t| (t.clone(), vec![t]))
            }
        };
        if let Some((target, files)) = written {
            return Ok((version, folder, target, files));
        }
    }
    Err(Error::new(Kind::VersionTaken, "could not find a free version for the new migration")
        .hint("another process is creating migrations in the same folder; try again"))
}

/// How new migrations are written: diesel's folders, or single files like
/// the folder's newest (a Supabase folder, a dbmate or node-pg-migrate one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    Folders,
    File(Format),
}

impl Layout {
    fn of(source: &Source) -> Layout {
        match source.migrations.last() {
            // A pair (`.up.sql`/`.down.sql`), a Flyway `V` file or a Prisma folder
            // has no one-file form that keeps a down: a diesel folder is written beside it.
            Some(m) if m.layout == crate::source::Layout::File && m.is_single_file() => Layout::File(m.format()),
            Some(_) => Layout::Folders,
            None if source.ledger() == Ledger::Supabase => Layout::File(Format::Plain),
            None => Layout::Folders,
        }
    }
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
pub(super) fn write_reserved(
    dir: &Path,
    version: &str,
    folder: &str,
    files: &[(&str, String)],
) -> Result<Option<PathBuf>> {
    let staging = dir.join(format!(".{version}.creating"));
    match fs::create_dir(&staging) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(Error::io(&staging, "create", e)),
    }
    let result = (|| {
        if version_taken(dir, version)? {
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

/// The same for a single-file migration: a hidden staging file is created
/// exclusively, written, then linked into place (a link never replaces a
/// file that appeared meanwhile).
fn write_reserved_file(dir: &Path, version: &str, file: &str, text: &str) -> Result<Option<PathBuf>> {
    let staging = dir.join(format!(".{version}.creating"));
    let mut out = match fs::OpenOptions::new().write(true).create_new(true).open(&staging) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(Error::io(&staging, "create", e)),
    };
    let result = (|| {
        if version_taken(dir, version)? {
            return Ok(None);
        }
        std::io::Write::write_all(&mut out, text.as_bytes())
            .and_then(|()| out.sync_all())
            .map_err(|e| Error::io(&staging, "write", e))?;
        let target = dir.join(file);
        match fs::hard_link(&staging, &target) {
            Ok(()) => Ok(Some(target)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(Error::io(&target, "create", e)),
        }
    })();
    let _ = fs::remove_file(&staging);
    result
}

/// Whether an entry of `dir` already has this version.
fn version_taken(dir: &Path, version: &str) -> Result<bool> {
    Ok(fs::read_dir(dir).map_err(|e| Error::io(dir, "read the migrations folder", e))?.filter_map(|e| e.ok()).any(
        |e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            !n.starts_with('.') && version::version_of(&n) == version
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders() {
        assert_eq!(render("-- {{title}} ({{version}}, {{name}})", "2025", "add_x"), "-- Add x (2025, add_x)");
    }
}
