//! `cargo migrate dump [FILE]`: the schema as SQL, as dbmate's `dump` and
//! Laravel's `schema:dump` keep it in the repository: pg_dump `--schema-only`
//! normalised so it diffs cleanly, what the migrations added to Supabase's
//! schemas, and the applied migrations' rows. `--check` compares the
//! committed file with what the migrations make on a scratch database (CI).

use std::path::{Path, PathBuf};

use colored::Colorize;

use super::scratch::Scratch;
use super::Context;
use crate::cli::{DumpArgs, LocalOpts};
use crate::db::{self, dump_text, history, Conn, History};
use crate::error::{exit, Error, Kind, Result};
use crate::output::{self, DumpOutput};
use crate::plan::Step;
use crate::source::Source;

/// The pg_dump for the server on `conn`: the closest of its major version or newer.
pub fn pg_dump_for(ctx: &Context, conn: &mut Conn, local: &LocalOpts) -> Result<PathBuf> {
    let server = db::backup::server_major(conn)?;
    let mut dirs: Vec<PathBuf> = ctx.pg_bin(local)?.into_iter().collect();
    if let Ok(local) = ctx.local(local) {
        dirs.extend(local.bin().ok());
    }
    db::backup::find_pg_dump(server, &dirs)
}

/// The schema file's text for the database at `url` (`conn` is connected to
/// it), begun: pg_dump runs, and the connection is free for other reads
/// (the history) until [`Dumping::finish`] puts the text together.
pub fn start_schema_text(ctx: &Context, conn: &mut Conn, url: &str, local: &LocalOpts) -> Result<Dumping> {
    let pg_dump = pg_dump_for(ctx, conn, local)?;
    let parsed = db::connect::parse(url)?;
    let managed = crate::supabase::managed::managed();
    let started = db::dump::start(conn, &parsed, &pg_dump, &managed)?;
    Ok(Dumping { started, publications: managed.publications })
}

pub struct Dumping {
    started: db::dump::Started,
    publications: Vec<String>,
}

impl Dumping {
    pub fn finish(self, conn: &mut Conn, history: &History) -> Result<Text> {
        let pieces = self.started.finish(conn, history)?;
        // Supabase's publications are left out only where Supabase made them.
        let publications = if pieces.left_out.is_empty() { Vec::new() } else { self.publications };
        let left_out = dump_text::LeftOut { publications: &publications, schemas: &pieces.left_out };
        let normalised = dump_text::normalise(&pieces.raw, left_out);
        Ok(Text { sql: dump_text::assemble(&normalised, &pieces.extras, &pieces.history), left_out: pieces.left_out })
    }
}

pub struct Text {
    pub sql: String,
    /// The managed schemas left out.
    pub left_out: Vec<String>,
}

/// Write `text` to `path` unless it already holds it (a file that did not
/// change keeps its time); through a temporary file, so a reader never sees
/// half of it. Returns whether it changed.
pub fn write_file(path: &Path, text: &str) -> Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the folder of", e))?;
    }
    let tmp = path.with_extension("sql.tmp");
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, "write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "write", e))?;
    Ok(true)
}

/// FILE, else the setting, else schema.sql beside the migrations folder.
fn destination(ctx: &Context, file: Option<&Path>) -> Option<PathBuf> {
    match file {
        Some(f) if f == Path::new("-") => None,
        Some(f) => Some(std::env::current_dir().unwrap_or_default().join(f)),
        None => Some(ctx.settings.schema_file()),
    }
}

pub fn run(ctx: &Context, args: &DumpArgs) -> Result<u8> {
    if args.check {
        return check(ctx, args);
    }
    let r = &ctx.reporter;
    let (url, _) = ctx.database_url(&args.db)?;
    let mut conn = ctx.connect(&url, &args.db, "dump")?;
    // pg_dump runs while the history is read.
    let dumping = start_schema_text(ctx, &mut conn, &url, &args.db.local_db)?;
    let history = history::read(&mut conn, true, ctx.settings.ledger())?;
    let text = dumping.finish(&mut conn, &history)?;
    let dest = destination(ctx, args.file.as_deref());
    let changed = match &dest {
        None => {
            r.result(text.sql.trim_end());
            true
        }
        Some(path) => {
            let changed = write_file(path, &text.sql)?;
            let what = if changed { "wrote" } else { "unchanged:" };
            r.line(format!(
                "{} {what} {} ({} migration(s) recorded{})",
                "✓".green(),
                output::display_path(path),
                history.applied.len(),
                left_out_note(&text.left_out)
            ));
            changed
        }
    };
    r.json(&DumpOutput {
        ok: true,
        command: "dump",
        file: dest.as_deref().map(output::json_path),
        changed,
        bytes: text.sql.len() as u64,
        migrations: history.applied.len(),
        left_out: text.left_out,
    });
    Ok(exit::OK)
}

fn left_out_note(left_out: &[String]) -> String {
    if left_out.is_empty() {
        String::new()
    } else {
        format!("; {} Supabase schema(s) left out but for what the migrations added", left_out.len())
    }
}

/// A scratch database with every migration of `source` up to `to` (all when
/// None) applied; its name (dropped with `scratch`).
pub fn migrated_scratch(ctx: &Context, scratch: &mut Scratch, source: &Source, to: Option<&str>) -> Result<String> {
    let base = scratch.base(ctx)?;
    let steps: Vec<Step> = source
        .migrations
        .iter()
        .filter(|m| to.is_none_or(|to| m.version.as_str() <= to))
        .map(|m| Step::Apply(m.version.to_string()))
        .collect();
    let mut conn = scratch.connect(&base)?;
    scratch.run_steps(&mut conn, &base, &steps, source).map_err(|e| {
        Error::new(Kind::NotReversible, "the migrations do not apply on a scratch database".to_string())
            .detail(format!("  {}", e.message))
            .hint("fix that first: `cargo migrate verify --all` says which")
    })?;
    Ok(base)
}

/// `dump --check`: the committed file against the migrations' schema.
fn check(ctx: &Context, args: &DumpArgs) -> Result<u8> {
    let r = &ctx.reporter;
    let Some(path) = destination(ctx, args.file.as_deref()) else {
        return Err(Error::new(Kind::FromSchema, "`dump --check -` has no file to compare")
            .hint("name the committed file: `cargo migrate dump --check schema.sql`"));
    };
    let committed = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(&path, "read", e)),
    };
    let mut source = ctx.source()?;
    source.check_runnable(source.migrations.iter().map(|m| m.version.to_string()).collect());
    crate::plan::check_source(&source.problems)?;
    let mut scratch = Scratch::open(ctx, args.scratch_url.as_deref(), &args.db.local_db, "dump")?;
    let db = migrated_scratch(ctx, &mut scratch, &source, None)?;
    let url = scratch.url_of(&db);
    let mut conn = db::connect(&url, 10, "dump", &db::Hints::default())?;
    let dumping = start_schema_text(ctx, &mut conn, &url, &args.db.local_db)?;
    let history = history::read(&mut conn, true, source.ledger())?;
    let text = dumping.finish(&mut conn, &history)?;
    let shown = output::display_path(&path);
    let diff = dump_text::diff(&committed, &text.sql, &shown);
    if diff.is_empty() {
        r.line(format!("{} {shown} is what the {} migration(s) make", "✓".green(), history.applied.len()));
        r.json(&DumpOutput {
            ok: true,
            command: "dump",
            file: Some(output::json_path(&path)),
            changed: false,
            bytes: text.sql.len() as u64,
            migrations: history.applied.len(),
            left_out: text.left_out,
        });
        return Ok(exit::OK);
    }
    let why = if committed.is_empty() { "does not exist (or is empty)" } else { "is not what the migrations make" };
    let mut e = Error::new(
        Kind::SchemaDrift { file: output::json_path(&path), diff: diff.clone() },
        format!("{shown} {why}"),
    )
    .hint("run `cargo migrate dump` on a database migrated from this folder (`cargo migrate local reset` then `up`) and commit the file");
    for line in diff.lines() {
        e = e.detail(output::clean(line));
    }
    Err(e)
}

/// `--from-schema`: load the schema file into the empty database on `conn`
/// (the caller holds the migration lock); the history it then has.
pub fn load_schema_file(ctx: &Context, conn: &mut Conn, history: &History) -> Result<History> {
    let path = ctx.settings.schema_file();
    let shown = output::display_path(&path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) if dump_text::is_schema_file(&text) => text,
        Ok(_) => {
            return Err(Error::new(Kind::FromSchema, format!("{shown} was not written by `cargo migrate dump`; nothing was run"))
                .hint("write it with `cargo migrate dump` on a database migrated from this folder, or run without --from-schema"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(Kind::FromSchema, format!("there is no schema file {shown} to load; nothing was run"))
                .hint("write it with `cargo migrate dump` (or set `schema` in [package.metadata.migrate]), or run without --from-schema"))
        }
        Err(e) => return Err(Error::io(&path, "read", e)),
    };
    let managed = crate::supabase::managed::managed();
    if !history.applied.is_empty() || !db::dump::is_empty(conn, &managed)? {
        return Err(Error::new(
            Kind::FromSchema,
            format!(
                "--from-schema loads {shown} only into an empty database, and this one has {} applied migration(s) and tables; nothing was run",
                history.applied.len()
            ),
        )
        .hint("run without --from-schema (the pending migrations apply as usual), or start from an empty database: `cargo migrate local reset --from-schema`"));
    }
    db::dump::load(conn, &text, &path)?;
    let loaded = history::read(conn, true, ctx.settings.ledger())?;
    ctx.reporter.line(format!("loaded {shown}: {} migration(s) recorded as applied", loaded.applied.len()));
    Ok(loaded)
}
