//! After `up`, `down` or `redo` changed the database: the files kept in step
//! with its schema. The schema file (`schema` setting) is rewritten when the
//! target is local (the local development database or a server on this
//! machine), or anywhere with `--write-schema`; never for a remote database
//! unless asked, since a deploy must not leave files behind.

use super::Context;
use crate::cli::{DbOpts, SchemaOpts};
use crate::db::{history, Conn};
use crate::output;

/// Every file kept after a change; a failure here is a warning (the
/// migrations ran and stay), with the command that writes the file.
pub fn after_change(ctx: &Context, db_opts: &DbOpts, conn: &mut Conn, url: &str, opts: &SchemaOpts) {
    schema_file(ctx, db_opts, conn, url, opts);
}

fn schema_file(ctx: &Context, db_opts: &DbOpts, conn: &mut Conn, url: &str, opts: &SchemaOpts) {
    let r = &ctx.reporter;
    let Some(path) = ctx.settings.project.schema_setting.clone() else { return };
    if opts.no_write_schema {
        return;
    }
    let remote = match ctx.remote_target(db_opts) {
        Ok(remote) => remote,
        Err(_) => return,
    };
    if remote.is_some() && !opts.write_schema {
        r.note(format!(
            "note: {} was not rewritten: the database is not local (--write-schema rewrites it from this one)",
            output::display_path(&path)
        ));
        return;
    }
    let written = history::read(conn, true, ctx.settings.ledger())
        .and_then(|h| super::dump::schema_text(ctx, conn, url, &h, &db_opts.local_db))
        .and_then(|text| super::dump::write_file(&path, &text.sql));
    match written {
        Ok(true) => r.line(format!("  wrote {}", output::display_path(&path))),
        Ok(false) => {}
        Err(e) => r.warn(format!(
            "{} was not rewritten: {} (`cargo migrate dump` writes it)",
            output::display_path(&path),
            output::clean(&e.message)
        )),
    }
}
