//! `cargo migrate diff NAME`: the migration that takes the schema the
//! migrations make to the one the declarative files (`supabase/schemas/*.sql`)
//! declare. Both are built on scratch databases of one server (never the
//! target), at the same time, their catalogs read and compared; the up and
//! the down are planned by `diff`, checked for hazards, written in the
//! project's layout and linted. With `--database`: the live database
//! against a scratch one migrated to its applied version (drift).

use colored::Colorize;

use super::create::{self, Content, Layout};
use super::scratch::{Key, Scratch, Side};
use super::Context;
use crate::cli::DiffArgs;
use crate::db::{self, catalog, catalog::Catalog, history, lock, Conn};
use crate::diff::{self, Hazard, Plan, Rename};
use crate::error::{exit, Error, Kind, Result};
use crate::migration_name;
use crate::output::{self, display_path, json_path, CreateOutput, DiffOutput};
use crate::plan::Step;
use crate::source::{schema_files, Source};

fn connect(url: &str) -> Result<Conn> {
    db::connect(url, 10, "diff", &db::Hints::default())
}

/// Apply `versions` on the database at `url` as `up` would, quietly.
fn migrate(url: &str, versions: &[String], source: &Source) -> Result<()> {
    let mut conn = connect(url)?;
    if versions.is_empty() {
        return Ok(());
    }
    lock::acquire(&mut conn, std::time::Duration::from_secs(10), |_| {})?;
    let steps: Vec<Step> = versions.iter().map(|v| Step::Apply(v.clone())).collect();
    super::scratch::run_quietly(&mut conn, url, &steps, source)
}

/// Run the declarative files, in order, on the database at `url`.
fn load_files(url: &str, files: &[std::path::PathBuf]) -> Result<()> {
    let mut conn = connect(url)?;
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, "read", e))?;
        conn.execute(crate::sql::strip_bom(&text)).map_err(|e| {
            Error::new(Kind::SchemaFileFailed, format!("{} failed: {}", display_path(file), output::clean(&e.message)))
                .hint("fix the file (the files load in name order: a file may use only what earlier ones create)")
        })?;
        conn.execute("RESET ALL").map_err(|e| db::query_error("reset the session", e))?;
    }
    Ok(())
}

fn read_catalog(url: &str, options: &catalog::Options) -> Result<Catalog> {
    let mut conn = connect(url)?;
    catalog::read(&mut conn, options)
}

fn renames(args: &DiffArgs) -> Result<Vec<Rename>> {
    args.rename
        .iter()
        .map(|r| {
            r.split_once(':').filter(|(a, b)| !a.is_empty() && !b.is_empty()).map(|(a, b)| Rename { from: a.into(), to: b.into() }).ok_or_else(|| {
                Error::new(Kind::BadRename, format!("--rename {r} is not OLD:NEW"))
                    .hint("say --rename public.users.name:public.users.full_name (a column) or --rename public.a:public.b (a table)")
            })
        })
        .collect()
}

pub fn run(ctx: &Context, args: &DiffArgs) -> Result<u8> {
    let renames = renames(args)?;
    let mut source = ctx.source()?;
    source.check_runnable(source.migrations.iter().map(|m| m.version.to_string()).collect());
    crate::plan::check_source(&source.problems)?;
    // Say what is wrong with the name before building anything.
    let name = match (args.database, &args.write, &args.name, args.dry_run) {
        (true, Some(n), _, _) => Some(migration_name::from_words(std::slice::from_ref(n), false)?),
        (true, None, _, _) | (false, _, _, true) => None,
        (false, _, Some(n), false) => Some(migration_name::from_words(std::slice::from_ref(n), false)?),
        (false, _, None, false) => {
            return Err(Error::new(Kind::InvalidName, "diff needs the new migration's name")
                .hint("say `cargo migrate diff add_profiles`, or --dry-run to print the SQL only"));
        }
    };
    let files = if args.database {
        None
    } else {
        let found = schema_files::find(&ctx.settings.project, &ctx.settings.migrations_dir)?;
        if found.files.is_empty() {
            return Err(Error::new(
                Kind::NoSchemaFiles,
                format!("no declarative schema files in {}", display_path(&found.looked)),
            )
            .hint("write the schema you want in supabase/schemas/*.sql (or set `schema_dir` in [package.metadata.migrate])"));
        }
        Some(found.files)
    };

    let mut scratch = Scratch::open(ctx, args.scratch_url.as_deref(), &args.db.local_db, "diff")?;
    scratch.keep(ctx)?;
    let options = catalog::Options {
        managed: match scratch.supabase_like {
            true => crate::supabase::MANAGED_SCHEMAS.iter().map(|s| s.to_string()).collect(),
            false => Vec::new(),
        },
    };
    let migrated_hint =
        |e: Error| e.hint("diff builds the migrations' schema on a scratch database: the migrations must apply there");

    let all: Vec<String> = source.migrations.iter().map(|m| m.version.to_string()).collect();
    let (from, to, mode) = match &files {
        Some(files) => {
            let keys = migration_keys(scratch.key("m"), &all, &source)?;
            let migrated = scratch.side(ctx, "m", &keys, false)?;
            let declared = scratch.side(ctx, "s", &[file_key(scratch.key("s"), files)?], true)?;
            let (a, b) = (scratch.url_of(migrated.db()), scratch.url_of(declared.db()));
            let (from, to) = std::thread::scope(|s| {
                let left = s.spawn(|| {
                    if let Side::Build { from, .. } = &migrated {
                        migrate(&a, &all[*from..], &source).map_err(migrated_hint)?;
                    }
                    read_catalog(&a, &options)
                });
                let right = match &declared {
                    Side::Build { .. } => load_files(&b, files),
                    Side::Ready(_) => Ok(()),
                }
                .and_then(|()| read_catalog(&b, &options));
                let left =
                    left.join().unwrap_or_else(|_| Err(Error::new(Kind::Internal, "the migrating thread failed")));
                (left, right)
            });
            let (from, to) = (from?, to?);
            scratch.built(&migrated);
            scratch.built(&declared);
            (from, to, "schema")
        }
        None => {
            let (live_url, _) = ctx.database_url(&args.db)?;
            let mut live = ctx.connect(&live_url, &args.db, "diff")?;
            let history = history::read(&mut live, false, ctx.settings.ledger())?;
            let applied: Vec<String> = history.applied.iter().map(|a| a.version.to_string()).collect();
            let missing: Vec<&String> = applied.iter().filter(|v| source.find(v).is_none()).collect();
            if !missing.is_empty() {
                ctx.reporter.warn(format!(
                    "{} applied migration(s) are not on disk ({}): their changes count as drift",
                    missing.len(),
                    missing.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            let on_disk: Vec<String> = all.iter().filter(|v| applied.contains(v)).cloned().collect();
            let keys = migration_keys(scratch.key("m"), &on_disk, &source)?;
            let expected = scratch.side(ctx, "m", &keys, true)?;
            let e = scratch.url_of(expected.db());
            let from = std::thread::scope(|s| {
                let left = s.spawn(|| {
                    if let Side::Build { from, .. } = &expected {
                        migrate(&e, &on_disk[*from..], &source)?;
                    }
                    read_catalog(&e, &options)
                });
                let right = catalog::read(&mut live, &options);
                let left =
                    left.join().unwrap_or_else(|_| Err(Error::new(Kind::Internal, "the migrating thread failed")));
                left.and_then(|l| right.map(|r| (l, r)))
            })?;
            scratch.built(&expected);
            (from.0, from.1, "drift")
        }
    };
    // The scratch databases go once the report is out.
    let up = diff::plan(&from, &to, &renames);
    let reversed: Vec<Rename> = renames.iter().map(|r| Rename { from: r.to.clone(), to: r.from.clone() }).collect();
    let down = diff::plan(&to, &from, &reversed);
    let done = report(ctx, args, mode, name, &source, &up, &down);
    scratch.drop_stale();
    done
}

/// The keys of the migrations' side after each of `versions` ran: what a
/// kept database of it is named by (each migration's name and SQL, how it
/// runs, and the table that records it).
fn migration_keys(mut key: Key, versions: &[String], source: &Source) -> Result<Vec<String>> {
    key.add(format!("{:?}", source.ledger()).as_bytes());
    let mut keys = Vec::with_capacity(versions.len());
    for version in versions {
        let m = source.find(version).ok_or_else(|| Error::new(Kind::Internal, format!("no migration {version}")))?;
        let script = m.script(true, None)?;
        key.add(m.name.as_bytes());
        key.add(&[u8::from(script.in_transaction)]);
        key.add(script.sql.as_bytes());
        keys.push(key.hex());
    }
    Ok(keys)
}

/// The key of the declared side: every schema file's name and bytes, in order.
fn file_key(mut key: Key, files: &[std::path::PathBuf]) -> Result<String> {
    for file in files {
        key.add(file.display().to_string().as_bytes());
        key.add(&std::fs::read(file).map_err(|e| Error::io(file, "read", e))?);
    }
    Ok(key.hex())
}

fn report(
    ctx: &Context,
    args: &DiffArgs,
    mode: &'static str,
    name: Option<String>,
    source: &Source,
    up: &Plan,
    down: &Plan,
) -> Result<u8> {
    let r = &ctx.reporter;
    let doc = |written: Option<CreateOutput>, lint: Vec<String>| DiffOutput {
        ok: true,
        command: "diff",
        mode,
        changes: !up.is_empty(),
        up: up.sql(),
        down: down.sql(),
        hazards: up.hazards.clone(),
        written,
        lint,
    };
    if up.is_empty() {
        let what = if mode == "drift" {
            "no drift: the live schema is what its applied migrations make"
        } else {
            "nothing to change: the migrations already make the declared schema"
        };
        r.line(format!("{} {what}", "✓".green()));
        r.json(&doc(None, Vec::new()));
        return Ok(exit::OK);
    }
    print_hazards(ctx, &up.hazards);
    let writing = name.is_some() && !args.dry_run;
    if !writing {
        if r.human() {
            let head = if mode == "drift" {
                "the live database differs; this SQL takes the migrations' schema to it"
            } else {
                "up"
            };
            r.line(format!("-- {head}:\n{}", up.sql()));
            r.line(format!("-- down:\n{}", down.sql()));
        }
        r.json(&doc(None, Vec::new()));
        return Ok(if mode == "drift" && args.exit_code { exit::PENDING } else { exit::OK });
    }
    if up.destructive() && !args.allow_drop {
        let objects: Vec<String> =
            up.hazards.iter().filter(|h| h.kind.destructive()).map(|h| h.object.clone()).collect();
        let mut e = Error::new(
            Kind::DestructiveChange { objects: objects.clone() },
            format!("the migration would lose data ({}); nothing was written", objects.join(", ")),
        );
        for h in up.hazards.iter().filter(|h| h.kind.destructive()) {
            e = e.detail(format!("  {}", output::clean(&h.message)));
        }
        return Err(e.hint("if that is what you want, run it again with --allow-drop; a rename is --rename OLD:NEW"));
    }
    let name = name.expect("writing has a name");
    let header = |what: &str| format!("-- Written by `cargo migrate diff` ({what}); review it before it runs.\n");
    let up_text = format!("{}{}", header("the declared schema"), up.sql());
    let down_text = format!("{}{}", header("back to the migrations' schema"), down.sql());
    let render = |_: &str, layout: Layout| match layout {
        Layout::Folders => Content::Folder(vec![("up.sql", up_text.clone()), ("down.sql", down_text.clone())]),
        Layout::File(format) => Content::File(create::sections(format, &up_text, &down_text)),
    };
    let (version, folder, target, files) = create::write_new(ctx, source, &name, &render)?;
    for file in &files {
        r.line(format!("created {}", display_path(file)));
    }
    // The lint rules apply to what diff writes as to what people write.
    let fresh = ctx.source()?;
    let lint = match fresh.find(&version) {
        Some(m) => super::lint::findings_of(ctx, m)?,
        None => Vec::new(),
    };
    for line in &lint {
        r.note(format!("lint: {line}"));
    }
    let written = CreateOutput {
        ok: true,
        command: "create",
        version: version.clone().into(),
        name: folder,
        path: json_path(&target),
        files: files.iter().map(|f| json_path(f)).collect(),
    };
    r.json(&doc(Some(written), lint));
    Ok(exit::OK)
}

fn print_hazards(ctx: &Context, hazards: &[Hazard]) {
    for h in hazards {
        let mark = if h.kind.destructive() { "data loss".red().bold() } else { "hazard".yellow() };
        ctx.reporter.line(format!("  {mark} {}", output::clean(&h.message)));
    }
}
