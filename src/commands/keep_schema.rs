//! After `up`, `down` or `redo` changed the database: the files kept in step
//! with its schema. The schema file (`schema` setting) is rewritten when the
//! target is local (the local development database or a server on this
//! machine), or anywhere with `--write-schema`; never for a remote database
//! unless asked, since a deploy must not leave files behind.
//!
//! pg_dump is started as soon as the run ends ([`start`]) and the file is
//! written last ([`Keeping::finish`]), so what the command reads on its
//! connection in between (the database advisor after `up`) costs no extra time.

use std::path::PathBuf;

use super::dump::Dumping;
use super::{Context, Target};
use crate::cli::SchemaOpts;
use crate::db::{history, Conn};
use crate::error::Error;
use crate::output;

/// The schema file being rewritten.
pub struct Keeping {
    path: PathBuf,
    dumping: crate::error::Result<Dumping>,
}

/// Start rewriting the kept files, when there are any to rewrite here.
pub fn start(ctx: &Context, db: &Target, conn: &mut Conn, opts: &SchemaOpts) -> Option<Keeping> {
    let path = ctx.settings.project.schema_setting.clone()?;
    if opts.no_write_schema {
        return None;
    }
    if db.remote.is_some() && !opts.write_schema {
        ctx.reporter.note(format!(
            "note: {} was not rewritten: the database is not local (--write-schema rewrites it from this one)",
            output::display_path(&path)
        ));
        return None;
    }
    let dumping = super::dump::start_schema_text(ctx, conn, &db.url, &db.programs);
    Some(Keeping { path, dumping })
}

impl Keeping {
    /// Write the file; a failure here is a warning (the migrations ran and
    /// stay), with the command that writes the file.
    pub fn finish(self, ctx: &Context, conn: &mut Conn) {
        let r = &ctx.reporter;
        let path = self.path;
        let written = self
            .dumping
            .and_then(|dumping| {
                let history = history::read(conn, true, ctx.settings.ledger());
                // pg_dump is waited for even when the history cannot be read.
                let text = dumping.finish(conn, history.as_ref().unwrap_or(&Default::default()));
                history.and(text)
            })
            .and_then(|text| super::dump::write_file(&path, &text.sql));
        match written {
            Ok(true) => r.line(format!("  wrote {}", output::display_path(&path))),
            Ok(false) => {}
            Err(e) => warn(ctx, &path, &e),
        }
    }
}

fn warn(ctx: &Context, path: &std::path::Path, e: &Error) {
    ctx.reporter.warn(format!(
        "{} was not rewritten: {} (`cargo migrate dump` writes it)",
        output::display_path(path),
        output::clean(&e.message)
    ));
}
