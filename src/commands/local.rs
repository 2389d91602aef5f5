//! `cargo migrate local start | stop | status | url | reset`: the local
//! development database used when no database is configured.

use super::{running, Context, Flags};
use crate::cli::{DbOpts, LocalAction, LocalArgs, LockOpts};
use crate::error::{exit, Result};
use crate::local::{extensions as local_extensions, ExtensionState};
use crate::output::{self, display_path, json_path, LocalExtension, LocalOther, LocalOutput};
use crate::plan::{PartialChoice, Request};
use crate::source::seeds;
use crate::url;

pub fn run(ctx: &Context, args: &LocalArgs) -> Result<u8> {
    let local = ctx.local(&args.local)?;
    let r = &ctx.reporter;
    if args.show_password {
        output::allow_secrets();
    }
    let shown = |u: &str| if args.show_password { u.to_string() } else { url::mask(u) };
    let place = display_path(&local.dir);
    let mut out = LocalOutput {
        ok: true,
        command: "local",
        running: None,
        url: None,
        dir: Some(json_path(&local.dir)),
        pg_bin: None,
        stopped: None,
        extensions: None,
        workspace: None,
        others: None,
    };
    match args.action {
        LocalAction::Start => {
            let u = shown(&running(r, local.ensure_running()?));
            r.line(format!("local database running: {u}"));
            out.running = Some(true);
            out.url = Some(u);
        }
        LocalAction::Url => {
            let u = shown(&running(r, local.ensure_running()?));
            r.result(&u);
            out.url = Some(u);
        }
        LocalAction::Stop => {
            let stopped = local.stop()?;
            r.line(if stopped {
                format!("stopped the local database ({place})")
            } else {
                "the local database is not running".into()
            });
            out.stopped = Some(stopped);
        }
        LocalAction::Status => {
            let running = local.is_running();
            let u = local.url().ok().map(|u| shown(&u));
            let bin = local.bin().ok();
            r.result(format!(
                "{} ({place}, PostgreSQL from {})",
                match (&u, running) {
                    (Some(u), true) => format!("running: {u}"),
                    (_, false) if local.port().is_some() => "stopped".to_string(),
                    _ => "not created yet (any command that needs a database creates it)".to_string(),
                },
                bin.as_ref().map(|b| display_path(b)).unwrap_or_else(|| "(none found)".into())
            ));
            // Whose it is, and whose the others beside it are (a target
            // directory several workspaces share holds one each).
            let owner = local.owner().unwrap_or_else(|| ctx.settings.project.workspace_root.clone());
            r.result(format!("workspace: {}", display_path(&owner)));
            let others = local.neighbours();
            for o in &others {
                r.result(format!(
                    "  also here: {} ({}), workspace {}",
                    display_path(&o.dir),
                    if o.running { "running" } else { "stopped" },
                    o.workspace.as_deref().map(display_path).unwrap_or_else(|| "unknown".into())
                ));
            }
            out.workspace = Some(json_path(&owner));
            out.others = Some(
                others
                    .iter()
                    .map(|o| LocalOther {
                        dir: json_path(&o.dir),
                        workspace: o.workspace.as_deref().map(json_path),
                        running: o.running,
                    })
                    .collect(),
            );
            if running {
                let mut extensions = local_extensions(&local.url()?)?;
                // What is missing is named with the package that ships it for this server.
                for e in extensions.iter_mut().filter(|e| e.state == ExtensionState::Missing) {
                    e.note = Some(super::explain::extension_packages(&e.name, local.major_version()));
                }
                let width = extensions.iter().map(|e| e.name.len()).max().unwrap_or(0);
                r.line("extensions Supabase has (real: this PostgreSQL's own; stand-in: cargo-migrate's, same names and signatures):");
                for e in &extensions {
                    let place = e.schema.as_deref().map(|s| format!(" in {s}")).unwrap_or_default();
                    let what = match (e.state, &e.note, &e.version) {
                        (ExtensionState::StandIn, Some(note), _) => format!("stand-in{place}: {note}"),
                        (ExtensionState::Real, _, Some(v)) => format!("real {v}{place}"),
                        (ExtensionState::Available, Some(note), _) => {
                            format!("stand-in, available, not created (as on Supabase): {note}")
                        }
                        (ExtensionState::Available, None, _) => "available, not created (as on Supabase)".into(),
                        (ExtensionState::Missing, Some(packages), _) => format!("missing: {packages}"),
                        (state, _, _) => format!("{}{place}", state.name()),
                    };
                    r.line(format!("  {:width$}  {what}", e.name));
                }
                out.extensions = Some(
                    extensions
                        .into_iter()
                        .map(|e| LocalExtension {
                            name: e.name,
                            state: e.state,
                            schema: e.schema,
                            version: e.version,
                            note: e.note,
                        })
                        .collect(),
                );
            }
            out.running = Some(running);
            out.url = u;
            out.pg_bin = bin.map(|b| json_path(&b));
        }
        LocalAction::Reset => {
            let real = running(r, local.reset()?);
            let u = shown(&real);
            let (applied, seeded) = migrate_and_seed(ctx, args, real)?;
            r.line(format!(
                "the local database was reset: {u} ({applied} migration(s) applied, {seeded} seed file(s) loaded)"
            ));
            out.url = Some(u);
        }
    }
    r.json(&out);
    Ok(exit::OK)
}

/// After a reset: every migration, then the seed data, as `up` and `seed` would.
fn migrate_and_seed(ctx: &Context, args: &LocalArgs, url: String) -> Result<(usize, usize)> {
    let db = DbOpts {
        database_url: Some(url),
        connect_timeout: 10,
        no_local: false,
        local: true,
        local_db: args.local.clone(),
    };
    let lock = LockOpts { lock_timeout: 60 };
    let up = Request::Up {
        count: None,
        to: None,
        allow_out_of_order: false,
        allow_modified: false,
        partial: PartialChoice::Refuse,
    };
    let flags = Flags {
        single_transaction: false,
        yes: true,
        dry_run: false,
        backup: None,
        lint: true,
        ignore_other_history: false,
        durable_each: false,
        schema: Default::default(),
        from_schema: args.from_schema,
    };
    let applied = super::migrate(ctx, &db, &lock, &up, flags)?.done.len();
    let s = &ctx.settings;
    let seeded = if seeds::find(&s.project, &s.migrations_dir)?.files.is_empty() {
        0
    } else {
        super::seed::seed(ctx, &db, &lock, true, false)?.files.len()
    };
    Ok((applied, seeded))
}
