//! `cargo migrate import --from TOOL DIR`: another tool's migration files
//! turned into diesel's folders (up.sql, down.sql, metadata.toml), versions
//! kept. The source folder is only read; a version the migrations folder has
//! already is left alone; what cannot be converted is listed with why, and
//! makes the command fail. node-pg-migrate's JavaScript and TypeScript files
//! become SQL through the project's own node-pg-migrate (`source::javascript`).
//! `--adopt` then records the tool's history as ours (`adopt`'s own code).

use std::fs;
use std::path::{Path, PathBuf};

use colored::Colorize;

use super::create::write_reserved;
use super::Context;
use crate::cli::{AdoptArgs, History, ImportArgs, Tool};
use crate::db::history::Ledger;
use crate::error::{exit, Error, Kind, Result};
use crate::output::{display_path, escape, json_path, ImportOutput, ImportedJson, NotConvertedJson};
use crate::source::javascript::{self, Conversion, Down};
use crate::source::layout::Layout;
use crate::source::sections::{self, Format};
use crate::{source, sql, version};

/// One migration ready to be written.
struct Converted {
    version: String,
    folder: String,
    file: String,
    up: String,
    down: Option<String>,
    /// Why it cannot be reverted (its down.sql says so).
    irreversible: Option<String>,
    in_transaction: bool,
}

pub fn run(ctx: &Context, args: &ImportArgs) -> Result<u8> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let from = cwd.join(&args.source);
    let into = &ctx.settings.migrations_dir;
    if !from.is_dir() {
        return Err(Error::new(Kind::NotAFolder, format!("{} is not a folder", from.display()))
            .hint("give the folder that holds the tool's migration files (Supabase: supabase/migrations, dbmate: db/migrations, node-pg-migrate: migrations)"));
    }
    if ctx.settings.ledger() == Ledger::Supabase {
        return Err(Error::new(
            Kind::ImportTarget,
            format!(
                "the migrations folder is {}: cargo migrate runs Supabase files there as they are",
                display_path(into)
            ),
        )
        .hint(
            "import writes diesel's folders: choose where with --dir migrations (or [package.metadata.migrate] dir)",
        ));
    }
    let same = |a: &Path, b: &Path| fs::canonicalize(a).ok().zip(fs::canonicalize(b).ok()).is_some_and(|(a, b)| a == b);
    if same(&from, into) {
        return Err(Error::new(
            Kind::ImportTarget,
            format!("{} is the migrations folder itself: cargo migrate already runs these files as they are", display_path(&from)),
        )
        .hint("to convert them into diesel's folders anyway, move them aside first (`mv migrations old-migrations`) and import from there"));
    }
    let existing = source::load(into)?;
    let (ready, mut not_converted, node_pg_migrate) = match layout_of(args.from) {
        Some(layout) => {
            let (ready, not) = convert_layout(&from, layout)?;
            (ready, not, None)
        }
        None => convert(&from, args.from)?,
    };
    let total = ready.len() + not_converted.len();
    let r = &ctx.reporter;
    let mut imported = Vec::new();
    let mut skipped = Vec::new();
    if !args.dry_run && !ready.is_empty() {
        fs::create_dir_all(into).map_err(|e| Error::io(into, "create the migrations folder", e))?;
    }
    for c in ready {
        let mut json = ImportedJson {
            version: c.version.as_str().into(),
            name: c.folder.clone(),
            from: c.file.clone(),
            path: None,
            up_only: c.down.is_none(),
            irreversible: c.irreversible.clone(),
            run_in_transaction: c.in_transaction,
        };
        if let Some(other) = existing.find(&c.version) {
            json.path = Some(json_path(&other.path));
            skipped.push(json);
            continue;
        }
        if args.dry_run {
            imported.push(json);
            continue;
        }
        let mut files = vec![("up.sql", c.up)];
        if let Some(down) = c.down {
            files.push(("down.sql", down));
        } else if let Some(why) = &c.irreversible {
            files.push(("down.sql", source::irreversible_down(&c.folder, why)));
        }
        if !c.in_transaction {
            files.push(("metadata.toml", "run_in_transaction = false\n".to_string()));
        }
        match write_reserved(into, &c.version, &c.folder, &files)? {
            Some(target) => {
                json.path = Some(json_path(&target));
                imported.push(json);
            }
            // Taken meanwhile (another `create`): left as it is.
            None => skipped.push(json),
        }
    }
    let tool = match (args.from, layout_of(args.from)) {
        (_, Some(layout)) => layout.label(),
        (Tool::Supabase, _) => "Supabase",
        (Tool::NodePgMigrate, _) => "node-pg-migrate",
        (_, None) => "dbmate",
    };
    let through = node_pg_migrate.map(|v| format!(" {v}")).unwrap_or_default();
    if total == 0 && skipped.is_empty() {
        return Err(Error::new(
            Kind::NothingToImport,
            format!("{} holds no {tool} migration file: nothing was imported", display_path(&from)),
        )
        .hint(match args.from {
            Tool::NodePgMigrate => "give the folder of `<timestamp>_<name>.js|.ts|.sql` files (node-pg-migrate's default is migrations/)",
            Tool::Dbmate => "give the folder of `<version>_<name>.sql` files with `-- migrate:up` (dbmate's default is db/migrations/)",
            Tool::Supabase => "give the folder of `<timestamp>_<name>.sql` files (supabase/migrations/)",
            _ => "give the folder that holds that tool's migration files (docs/layouts.md names each layout)",
        }));
    }
    let mut out = format!(
        "{} {} {} migration(s) from {} ({tool}{through}) into {}, versions kept",
        if not_converted.is_empty() { "✓".green() } else { "!".yellow().bold() },
        if args.dry_run { "would import" } else { "imported" },
        imported.len(),
        display_path(&from),
        display_path(into)
    );
    for i in &imported {
        let mut notes = Vec::new();
        if i.irreversible.is_some() {
            notes.push("irreversible: down.sql says so");
        } else if i.up_only {
            notes.push("no down section: no down.sql");
        }
        if !i.run_in_transaction {
            notes.push("runs outside a transaction: metadata.toml");
        }
        let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join("; ")) };
        out.push_str(&format!("\n  {}{notes}", escape(&i.name)));
    }
    if !skipped.is_empty() {
        out.push_str(&format!("\n{} already in {} (left as they are):", skipped.len(), display_path(into)));
        for s in &skipped {
            out.push_str(&format!("\n  {}", escape(&s.from)));
        }
    }
    r.result(out);
    not_converted.sort_by(|a, b| a.file.cmp(&b.file));
    if !not_converted.is_empty() {
        let mut e = Error::new(
            Kind::NotConverted,
            format!(
                "{} of {total} file(s) in {} could not be converted{}",
                not_converted.len(),
                display_path(&from),
                if args.adopt { "; nothing was adopted" } else { "" }
            ),
        )
        .hint("write their SQL yourself in migrations/<version>_<name>/up.sql and down.sql (same version, so the old history still matches), or fix them and run import again: what it wrote is kept and skipped");
        for n in &not_converted {
            e = e.detail(format!("  {}: {}", escape(&n.file), n.reason));
        }
        return Err(e);
    }
    let adopted = if args.adopt { Some(adopt(ctx, args)?) } else { None };
    r.json(&ImportOutput {
        ok: true,
        command: "import",
        from: json_path(&from),
        into: json_path(into),
        dry_run: args.dry_run,
        imported,
        skipped,
        not_converted,
        adopted,
    });
    Ok(exit::OK)
}

/// `--adopt`: the tool's history recorded as ours, by `adopt` itself. Asking
/// again would be redundant: the flag is the request, and the migrations to
/// record were just made from the files that tool applied.
fn adopt(ctx: &Context, args: &ImportArgs) -> Result<crate::output::AdoptOutput> {
    let from = match args.from {
        Tool::NodePgMigrate => History::NodePgMigrate,
        Tool::Dbmate => History::Dbmate,
        Tool::Supabase => History::Supabase,
        Tool::Sqlx => History::Sqlx,
        Tool::GolangMigrate => History::GolangMigrate,
        Tool::Refinery => History::Refinery,
        Tool::Flyway => History::Flyway,
        Tool::Goose => History::Goose,
        Tool::Prisma => History::Prisma,
    };
    let adopt = AdoptArgs {
        from: Some(from),
        yes: true,
        dry_run: false,
        retire: false,
        project: args.project.clone(),
        db: args.db.clone(),
        lock: args.lock.clone(),
    };
    super::adopt::take_over(ctx, &adopt)
}

/// Every file of `dir`, in name order: converted, or why not; and the
/// version of node-pg-migrate that converted its scripts, if any did.
fn convert(dir: &Path, tool: Tool) -> Result<(Vec<Converted>, Vec<NotConvertedJson>, Option<String>)> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, "read", e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut ready: Vec<Converted> = Vec::new();
    let mut not = Vec::new();
    let scripts: Vec<&String> = names
        .iter()
        .filter(|n| tool == Tool::NodePgMigrate && javascript::is_script(n) && !dir.join(n).is_dir())
        .collect();
    let mut from_node = Vec::new();
    let mut node_version = None;
    if !scripts.is_empty() {
        let paths: Vec<PathBuf> = scripts.iter().map(|n| dir.join(n)).collect();
        let (version, outcomes) = javascript::convert(dir, &paths)?;
        node_version = Some(version);
        from_node = scripts.into_iter().cloned().zip(outcomes).collect();
    }
    let mut refuse = |file: &str, reason: String| not.push(NotConvertedJson { file: file.to_string(), reason });
    for file in names {
        let path = dir.join(&file);
        if path.is_dir() {
            refuse(&file, "a folder, not a migration file".into());
            continue;
        }
        let Some((stem, ext)) = file.rsplit_once('.') else { continue };
        if let Some(i) = from_node.iter().position(|(f, _)| *f == file) {
            let (_, outcome) = from_node.swap_remove(i);
            if let Err(problem) = version::check_folder(stem) {
                refuse(&file, format!("not `<version>_<name>.js`: {}", problem.reason()));
                continue;
            }
            let version = version::version_of(stem);
            if let Some(first) = ready.iter().find(|c| c.version == version) {
                refuse(&file, format!("version {version} is also {}'s: versions must be unique", first.file));
                continue;
            }
            match outcome {
                Conversion::Failed(why) => refuse(&file, why),
                Conversion::Converted { up, down } => {
                    let (down, irreversible, down_tx) = match down {
                        Down::Sql(d) => (Some(javascript::script(&d)), None, d.transaction),
                        Down::Irreversible(why) => (None, Some(why), true),
                    };
                    ready.push(Converted {
                        version,
                        folder: stem.to_string(),
                        file: file.clone(),
                        up: javascript::script(&up),
                        down,
                        irreversible,
                        in_transaction: up.transaction && down_tx,
                    });
                }
            }
            continue;
        }
        match ext {
            "sql" => {}
            "js" | "cjs" | "mjs" | "ts" | "cts" | "mts" => {
                refuse(
                    &file,
                    "a JavaScript/TypeScript migration: its `pgm` calls have no SQL to copy; write the SQL into a new \
                     migration (`cargo migrate create`), or run `node-pg-migrate up --dry-run` to see the SQL it sends"
                        .into(),
                );
                continue;
            }
            // READMEs, schema dumps and the like are not migrations.
            _ => continue,
        }
        if let Err(problem) = version::check_folder(stem) {
            refuse(&file, format!("not `<version>_<name>.sql`: {}", problem.reason()));
            continue;
        }
        let text = match fs::read_to_string(&path) {
            Ok(t) => sql::strip_bom(&t).to_string(),
            Err(e) => {
                refuse(&file, format!("cannot be read: {e}"));
                continue;
            }
        };
        let s = sections::split(&text);
        let marker = match tool {
            Tool::Dbmate => Some((Format::Dbmate, "`-- migrate:up`")),
            Tool::NodePgMigrate => Some((Format::NodePgMigrate, "`-- Up Migration`")),
            _ => None,
        };
        if let Some((format, marker)) = marker {
            if s.format != format {
                refuse(&file, format!("has no {marker} line, so it is not a {} file", format.label()));
                continue;
            }
        }
        if let Some(why) = s.malformed() {
            refuse(&file, why);
            continue;
        }
        let up = trim_blank_head(&s.up);
        if !sql::has_statement(&up) {
            refuse(&file, "its up section holds no SQL statement".into());
            continue;
        }
        let version = version::version_of(stem);
        if let Some(first) = ready.iter().find(|c| c.version == version) {
            refuse(&file, format!("version {version} is also {}'s: versions must be unique", first.file));
            continue;
        }
        ready.push(Converted {
            version,
            folder: stem.to_string(),
            file: file.clone(),
            up,
            down: s.down.as_deref().map(trim_blank_head).filter(|d| sql::has_statement(d)),
            irreversible: None,
            in_transaction: s.up_in_transaction && s.down_in_transaction && !plain_refuses_transaction(&s),
        });
    }
    Ok((ready, not, node_version))
}

/// The layouts `source` reads (one reader each), for the tools that have one.
fn layout_of(tool: Tool) -> Option<Layout> {
    Some(match tool {
        Tool::Sqlx => Layout::Sqlx,
        Tool::GolangMigrate => Layout::GolangMigrate,
        Tool::Refinery => Layout::Refinery,
        Tool::Flyway => Layout::Flyway,
        Tool::Goose => Layout::Goose,
        Tool::Prisma => Layout::Prisma,
        Tool::Supabase | Tool::NodePgMigrate | Tool::Dbmate => return None,
    })
}

/// A folder in one of `source`'s layouts, each migration as its tool runs it:
/// its up, its down (if any), and whether both run in a transaction. Integer
/// versions of different widths (`1_…`, `10_…`) are padded to one width, so
/// that diesel's text order is the tool's numeric order.
fn convert_layout(dir: &Path, layout: Layout) -> Result<(Vec<Converted>, Vec<NotConvertedJson>)> {
    let (migrations, refused) = source::load_as(dir, layout)?;
    let mut not: Vec<NotConvertedJson> =
        refused.into_iter().map(|(file, reason)| NotConvertedJson { file, reason }).collect();
    let width = migrations.iter().map(|m| m.version.len()).max().unwrap_or(0);
    // Flyway's and refinery's versions are made to sort already (source/flyway.rs).
    let pad = !matches!(layout, Layout::Flyway | Layout::Refinery)
        && migrations.iter().all(|m| m.version.bytes().all(|b| b.is_ascii_digit()))
        && migrations.iter().any(|m| m.version.len() < width);
    let mut ready: Vec<Converted> = Vec::new();
    for m in &migrations {
        let file = m.path.strip_prefix(dir).unwrap_or(&m.path).display().to_string();
        let refuse = |reason: String| NotConvertedJson { file: file.clone(), reason };
        let s = match m.read_sections() {
            Ok(s) => s,
            Err(e) => {
                not.push(refuse(e.message.clone()));
                continue;
            }
        };
        let format = m.format();
        if layout == Layout::Goose && format != Format::Goose {
            not.push(refuse("has no `-- +goose Up` line, so it is not a goose file".into()));
            continue;
        }
        if format != Format::Plain && layout != Layout::Goose {
            not.push(refuse(format!("it has {} markers: import it with --from {}", format.label(), format.label())));
            continue;
        }
        let up = match m.read_up() {
            Ok(up) => trim_blank_head(&up),
            Err(e) => {
                not.push(refuse(e.message.clone()));
                continue;
            }
        };
        if !sql::has_statement(&up) {
            not.push(refuse("its up migration holds no SQL statement".into()));
            continue;
        }
        let down = s.1.filter(|d| sql::has_statement(d));
        let (version, folder) = if pad {
            let v = format!("{:0>width$}", m.version);
            let rest = m.name.strip_prefix(m.version.as_str()).unwrap_or(&m.name);
            (v.clone(), format!("{v}{rest}"))
        } else {
            (m.version.to_string(), m.name.clone())
        };
        if let Some(first) = ready.iter().find(|c| c.version == version) {
            not.push(refuse(format!("version {version} is also {}'s: versions must be unique", first.file)));
            continue;
        }
        let in_transaction = m.run_in_transaction(true)? && (m.down_file.is_none() || m.run_in_transaction(false)?);
        ready.push(Converted {
            version,
            folder,
            file,
            up,
            down: down.as_deref().map(trim_blank_head),
            irreversible: None,
            in_transaction,
        });
    }
    Ok((ready, not))
}

/// A plain (Supabase) file that holds a statement no transaction may hold
/// runs without one as it is (`Migration::run_in_transaction`): imported, it
/// must too, or `up` fails where it ran before.
fn plain_refuses_transaction(s: &sections::Sections) -> bool {
    s.format == Format::Plain && sql::split_statements(&s.up).iter().any(|st| sql::refuses_transaction(st.text))
}

/// A section without the blank lines that stood for the rest of the file.
fn trim_blank_head(text: &str) -> String {
    let body = text.trim_start_matches(['\n', '\r']);
    if body.ends_with('\n') {
        body.to_string()
    } else {
        format!("{body}\n")
    }
}
