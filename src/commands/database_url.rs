//! `cargo migrate database-url`: what node-pg-migrate teams' `setup-database-url.js` did. Shows
//! the URL in use and where each part came from; `--write-env` stores it.

use std::path::Path;

use super::Context;
use crate::cli::DatabaseUrlArgs;
use crate::error::{exit, Error, Kind, Result};
use crate::output::{self, display_path, json_path, DatabaseUrlOutput, UrlPart};
use crate::url;

pub fn run(ctx: &Context, args: &DatabaseUrlArgs) -> Result<u8> {
    let (db_url, origin) = ctx.database_url(&args.db)?;
    let r = &ctx.reporter;
    let shown = if args.show_password {
        output::allow_secrets();
        db_url.clone()
    } else {
        url::mask(&db_url)
    };
    r.result(format!("DATABASE_URL={shown}"));
    r.result(format!("  from {origin}"));
    let supabase = ctx.configured(&args.db)?.and_then(|c| c.supabase);
    if let Some(built) = &supabase {
        for (part, value, from) in &built.parts {
            r.result(format!("  {part:<12} {value}  (from {from})"));
        }
    }
    let mut written = None;
    if args.write_env {
        let path =
            ctx.settings.env.file_path.clone().unwrap_or_else(|| ctx.settings.project.workspace_root.join(".env"));
        write_env(&path, &db_url)?;
        r.line(format!("wrote DATABASE_URL to {}", display_path(&path)));
        written = Some(json_path(&path));
    }
    r.json(&DatabaseUrlOutput {
        ok: true,
        command: "database-url",
        url: shown,
        origin,
        parts: supabase
            .map(|b| b.parts.iter().map(|(p, v, f)| UrlPart { part: p, value: v.clone(), from: f.clone() }).collect()),
        written_to: written,
    });
    Ok(exit::OK)
}

/// Set DATABASE_URL in a .env file, keeping every other line (and its line
/// endings) as it was. Written to a temporary file beside it and renamed, so
/// a failure leaves the old file; the temporary file is created exclusively
/// with mode 0600 (the URL holds a password; a symlink planted at its name is
/// refused, not followed) and removed on every failure.
pub fn write_env(path: &Path, value: &str) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path, "read", e)),
    };
    let new = set_line(&old, "DATABASE_URL", &env_quote(value));
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".cargo-migrate.tmp");
    let tmp = path.with_file_name(name);
    let mut file = create_exclusive(&tmp).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            Error::new(Kind::Io, format!("cannot write {}: {} is in the way", display_path(path), display_path(&tmp)))
                .hint("a run that was killed left it, or someone put it there: look at it, remove it, and run again")
        }
        _ => Error::io(&tmp, "create", e),
    })?;
    let written = (|| {
        use std::io::Write;
        file.write_all(new.as_bytes()).map_err(|e| Error::io(&tmp, "write", e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, "write", e))?;
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            // The user's own choice of mode for an existing .env stays.
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(&tmp, "write", e))?;
        }
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "write", e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn create_exclusive(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    // create_new is O_CREAT|O_EXCL: an existing name, a symlink included, is
    // an error, never opened.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// A value as dotenvy reads it back unchanged: single quotes take everything
/// literally (no `$` substitution, no escapes); a value holding `'` gets
/// double quotes with `\`, `"` and `$` escaped.
fn env_quote(value: &str) -> String {
    if !value.contains('\'') && !value.contains('\n') {
        return format!("'{value}'");
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' | '"' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Replace `KEY=…` lines (also `export KEY=…`), or append one; a file
/// written with CRLF line endings keeps them.
fn set_line(text: &str, key: &str, value: &str) -> String {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let line = format!("{key}={value}");
    let mut found = false;
    let mut out: Vec<String> = Vec::new();
    for l in text.lines() {
        let t = l.trim_start();
        let t = t.strip_prefix("export ").unwrap_or(t);
        if t.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
            if !found {
                out.push(line.clone());
            }
            found = true;
        } else {
            out.push(l.to_string());
        }
    }
    if !found {
        out.push(line);
    }
    let mut s = out.join(eol);
    s.push_str(eol);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_or_appends_keeping_everything_else() {
        let text = "# Supabase\nSUPABASE_DB_PASSWORD=x\nDATABASE_URL=old\n\n# end\n";
        assert_eq!(
            set_line(text, "DATABASE_URL", "new"),
            "# Supabase\nSUPABASE_DB_PASSWORD=x\nDATABASE_URL=new\n\n# end\n"
        );
        assert_eq!(set_line("A=1", "DATABASE_URL", "u"), "A=1\nDATABASE_URL=u\n");
        assert_eq!(
            set_line("A=1\r\nDATABASE_URL=x\r\nB=2\r\n", "DATABASE_URL", "u"),
            "A=1\r\nDATABASE_URL=u\r\nB=2\r\n"
        );
        assert_eq!(
            set_line("export DATABASE_URL = old\nDATABASE_URL_2=k\n", "DATABASE_URL", "u"),
            "DATABASE_URL=u\nDATABASE_URL_2=k\n"
        );
    }

    #[test]
    fn dotenvy_reads_back_exactly_what_was_written() {
        for value in [
            "postgres://u:pa$word@h/db",
            "postgres://u:it's@h/db",
            "p$a's\"s#w\\o rd",
            "a b # not a comment",
            "$HOME ${HOME} \\$",
            "plain",
        ] {
            let text = set_line("OTHER=1\n", "DATABASE_URL", &env_quote(value));
            let read: std::collections::HashMap<String, String> =
                dotenvy::from_read_iter(text.as_bytes()).map(|r| r.unwrap()).collect();
            assert_eq!(read["DATABASE_URL"], value, "{text}");
            assert_eq!(read["OTHER"], "1");
        }
    }
}
