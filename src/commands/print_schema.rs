//! `cargo migrate print-schema`: diesel's `schema.rs` for the database, the
//! text diesel_cli 2.3 prints for the same diesel.toml and flags; and, after
//! `up`, `down` and `redo`, each `[print_schema]` `file` written again, as
//! diesel_cli's `migration run`/`revert`/`redo` do.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Context;
use crate::cli::PrintSchemaArgs;
use crate::db::{self, Conn};
use crate::diesel_schema::config::{ColumnSorting, Docs, Filter, Pattern, SameQuery};
use crate::diesel_schema::{self, Configs, PrintSchema};
use crate::error::{exit, Error, Kind, Result};
use crate::output::{self, PrintSchemaOutput, PrintedSchema};

pub fn run(ctx: &Context, args: &PrintSchemaArgs) -> Result<u8> {
    let mut configs = match &args.config_file {
        Some(path) => crate::settings::print_schema_configs(path)?,
        None => ctx.settings.print_schema()?.map(|(_, c)| c.clone()).unwrap_or_else(defaults),
    };
    apply_flags(&mut configs, args)?;
    let (url, _) = ctx.database_url(&args.db)?;
    let mut conn = ctx.connect(&url, &args.db, "read the schema")?;
    let mut printed = Vec::new();
    for (key, config) in &configs.all {
        if args.write && config.file.is_none() {
            continue;
        }
        let text = print(ctx, &mut conn, config)?;
        if args.write {
            write(ctx, config.file.as_deref().unwrap_or(Path::new("")), &text)?;
        } else if ctx.reporter.human() {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::io(Path::new("stdout"), "write", e))?;
        }
        printed.push(PrintedSchema {
            key: key.clone(),
            file: config.file.as_deref().map(output::json_path),
            written: args.write,
            text,
        });
    }
    if args.write && printed.is_empty() {
        ctx.reporter.note("no [print_schema] configuration names a `file`: nothing was written");
    }
    ctx.reporter.json(&PrintSchemaOutput { ok: true, command: "print-schema", schemas: printed });
    Ok(exit::OK)
}

/// After `up`, `down` or `redo` (whatever the target, as diesel_cli): every
/// configuration with a `file` is printed into it. Nothing without diesel.toml.
pub fn after_change(ctx: &Context, conn: &mut Conn) -> Result<()> {
    let Some((_, configs)) = ctx.settings.print_schema()? else { return Ok(()) };
    for config in configs.all.values() {
        if let Some(file) = &config.file {
            let text = print(ctx, conn, config).map_err(|e| {
                let hint = e.hint.clone().unwrap_or_default();
                e.hint(format!(
                    "{hint}; the migrations ran: `cargo migrate print-schema --write` writes the file once fixed"
                ))
            })?;
            write(ctx, file, &text)?;
        }
    }
    Ok(())
}

fn defaults() -> Configs {
    Configs { all: [("default".to_string(), PrintSchema::default())].into() }
}

/// One configuration's text: the catalog, diesel's rendering, rustfmt, the patch.
fn print(ctx: &Context, conn: &mut Conn, config: &PrintSchema) -> Result<String> {
    let schema = diesel_schema::schema_name(config);
    let catalog = db::print_schema::read(
        conn,
        schema,
        config.column_sorting == ColumnSorting::Name,
        config.with_docs != Docs::None,
    )?;
    let (text, warnings) = diesel_schema::generate(&catalog, config)?;
    for w in warnings {
        ctx.reporter.warn(w);
    }
    let text = match rustfmt(&text) {
        Ok(formatted) => formatted,
        // diesel_cli prints the text unformatted then too.
        Err(why) => {
            ctx.reporter.warn(format!("could not format the schema with rustfmt ({why}); it is printed unformatted"));
            text
        }
    };
    match &config.patch_file {
        Some(path) => {
            let patch = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the patch file", e))?;
            diesel_schema::apply_patch(&text, &patch, path)
        }
        None => Ok(text),
    }
}

/// The text through `rustfmt` (from PATH, in the current folder, so the
/// project's rustfmt.toml applies), as diesel_cli formats it.
fn rustfmt(text: &str) -> std::result::Result<String, String> {
    let mut child = std::process::Command::new("rustfmt")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run it: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = text.to_string();
    // Written from a thread: a large schema would fill the pipe while rustfmt's output is unread.
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    feeder.join().map_err(|_| "the writer stopped".to_string())?.map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

fn write(ctx: &Context, file: &Path, text: &str) -> Result<()> {
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
    }
    std::fs::write(file, text).map_err(|e| Error::io(file, "write", e))?;
    ctx.reporter.line(format!("wrote {}", output::display_path(file)));
    Ok(())
}

/// The flags override the configurations `--schema-key` names (`default`
/// when none is named), as diesel_cli's do.
fn apply_flags(configs: &mut Configs, args: &PrintSchemaArgs) -> Result<()> {
    let keys = if args.schema_key.is_empty() { vec!["default".to_string()] } else { args.schema_key.clone() };
    let patterns = |list: &[String], flag: &str| -> Result<Vec<Pattern>> {
        list.iter()
            .map(|p| {
                Pattern::new(p).map_err(|e| {
                    Error::new(Kind::BadPrintSchemaFlag, format!("{flag} `{p}` is not a regular expression: {e}"))
                        .hint("the patterns are Rust regular expressions, matched against table (or type) names")
                })
            })
            .collect()
    };
    let known: Vec<String> = configs.all.keys().cloned().collect();
    for key in keys {
        let config = configs.all.get_mut(&key).ok_or_else(|| {
            Error::new(Kind::BadPrintSchemaFlag, format!("--schema-key {key}: diesel.toml has no [print_schema.{key}]"))
                .hint(format!("the keys are: {}", known.join(", ")))
        })?;
        let tables = patterns(&args.tables, "TABLE")?;
        if args.only_tables {
            config.filter = Filter::Only(tables);
        } else if args.except_tables {
            config.filter = Filter::Except(tables);
        }
        if let Some(s) = &args.schema {
            config.schema = Some(s.clone());
        }
        if args.with_docs {
            config.with_docs = Docs::CommentsOrGenerated;
        }
        if let Some(mode) = args.with_docs_config.as_deref().and_then(Docs::from_name) {
            config.with_docs = mode;
        }
        if let Some(mode) = args.allow_tables_to_appear_in_same_query_config.as_deref().and_then(SameQuery::from_name) {
            config.allow_tables_to_appear_in_same_query_config = mode;
        }
        match args.column_sorting.as_deref() {
            Some("name") => config.column_sorting = ColumnSorting::Name,
            Some(_) => config.column_sorting = ColumnSorting::OrdinalPosition,
            None => {}
        }
        if let Some(p) = &args.patch_file {
            config.patch_file = Some(PathBuf::from(p));
        }
        if !args.import_types.is_empty() {
            config.import_types = Some(args.import_types.clone());
        }
        if args.no_generate_missing_sql_type_definitions {
            config.generate_missing_sql_type_definitions = Some(false);
        }
        if !args.except_custom_type_definitions.is_empty() {
            config.except_custom_type_definitions =
                patterns(&args.except_custom_type_definitions, "--except-custom-type-definitions")?;
        }
        if !args.custom_type_derives.is_empty() {
            config.custom_type_derives = Some(args.custom_type_derives.clone());
        }
        if !args.pg_domains_as_custom_types.is_empty() {
            config.pg_domains_as_custom_types =
                patterns(&args.pg_domains_as_custom_types, "--pg-domains-as-custom-types")?;
        }
    }
    Ok(())
}
