//! `cargo migrate local start | stop | status | url | reset`: the local
//! development database used when no database is configured.

use super::Context;
use crate::cli::LocalAction;
use crate::error::{exit, Result};
use crate::report::display_path;

pub fn run(ctx: &Context, action: LocalAction) -> Result<u8> {
    let local = ctx.local()?;
    let r = &ctx.reporter;
    let place = display_path(&local.dir);
    match action {
        LocalAction::Start => {
            let url = local.ensure_running(r)?;
            r.line(format!("local database running: {url}"));
            r.json(&serde_json::json!({ "ok": true, "command": "local start", "url": url, "dir": local.dir }));
        }
        LocalAction::Url => {
            let url = local.ensure_running(r)?;
            r.result(&url);
            r.json(&serde_json::json!({ "ok": true, "command": "local url", "url": url }));
        }
        LocalAction::Stop => {
            let stopped = local.stop()?;
            r.line(if stopped {
                format!("stopped the local database ({place})")
            } else {
                "the local database is not running".into()
            });
            r.json(&serde_json::json!({ "ok": true, "command": "local stop", "stopped": stopped }));
        }
        LocalAction::Status => {
            let running = local.is_running();
            let url = local.port().map(crate::supabase::local::Local::url_for);
            r.result(format!(
                "{} ({place}, PostgreSQL from {})",
                match (&url, running) {
                    (Some(u), true) => format!("running: {u}"),
                    (_, false) if local.port().is_some() => "stopped".to_string(),
                    _ => "not created yet (any command that needs a database creates it)".to_string(),
                },
                local.bin()?.display()
            ));
            r.json(&serde_json::json!({
                "ok": true, "command": "local status", "running": running, "url": url,
                "dir": local.dir, "pg_bin": local.bin().ok(),
            }));
        }
        LocalAction::Reset => {
            let url = local.reset(r)?;
            r.line(format!("the local database was reset: {url} (empty; run `cargo migrate up`)"));
            r.json(&serde_json::json!({ "ok": true, "command": "local reset", "url": url }));
        }
    }
    Ok(exit::OK)
}
