//! `cargo migrate dump`: the schema as SQL. pg_dump `--schema-only` (the one
//! `--backup` would use) without the schemas Supabase manages, while this
//! connection reads what the migrations added to those schemas (from the
//! catalog reader: policies, triggers calling the project's functions; then
//! bucket rows, cron jobs) and the history; `dump_text` puts the pieces
//! together. Also loading such a file (`--from-schema`) and making a
//! Supabase-like scratch copy's text for `squash`.

use std::path::Path;
use std::process::{Command, Stdio};

use super::catalog::Catalog;
use super::history::{History, Ledger, COMPANION, DIESEL_TABLE, SUPABASE_HISTORY};
use super::query_error;
use super::session::Session;
use crate::error::{Error, Kind, Result};
use crate::url::DbUrl;

/// What a dump leaves out when the database is Supabase's (or the local one made like it).
#[derive(Debug, Clone, Default)]
pub struct Managed {
    pub schemas: Vec<String>,
    /// Publications every such database has: their members are kept, their creation is not.
    pub publications: Vec<String>,
}

/// The pieces of a schema file, before they are put together.
pub struct Pieces {
    /// pg_dump's text, as it wrote it.
    pub raw: String,
    /// What the migrations added to the managed schemas, one statement each.
    pub extras: Vec<String>,
    /// The rows that record the applied migrations.
    pub history: Vec<String>,
    /// The managed schemas left out (none: the database is not Supabase-like).
    pub left_out: Vec<String>,
}

/// Whether the database is Supabase's (or made like it): only then are the
/// managed schemas someone else's. A project of its own with an `auth`
/// schema keeps it.
const SUPABASE_LIKE: &str = "SELECT EXISTS (SELECT FROM pg_catalog.pg_roles \
    WHERE rolname IN ('supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin'))";

/// The buckets, without the columns that differ per copy (times, owner):
/// the columns are the row's, so any version of Storage's table loads it.
const BUCKETS: &str = "\
SELECT pg_catalog.format('INSERT INTO storage.buckets (%s) SELECT %s FROM pg_catalog.jsonb_populate_record(NULL::storage.buckets, %L) ON CONFLICT (id) DO NOTHING;', \
         k.cols, k.cols, s.j::text) \
  FROM (SELECT b.id, pg_catalog.jsonb_strip_nulls(pg_catalog.to_jsonb(b) OPERATOR(pg_catalog.-) 'created_at' \
          OPERATOR(pg_catalog.-) 'updated_at' OPERATOR(pg_catalog.-) 'owner' OPERATOR(pg_catalog.-) 'owner_id') AS j \
          FROM storage.buckets b) s, \
       LATERAL (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(key), ', ' ORDER BY key) AS cols \
                  FROM pg_catalog.jsonb_object_keys(s.j) key) k \
 ORDER BY s.id";

/// pg_cron's jobs, as the calls that schedule them again.
const CRON_JOBS: &str = "\
SELECT CASE WHEN j.jobname IS NULL THEN pg_catalog.format('SELECT cron.schedule(%L, %L);', j.schedule, j.command) \
            ELSE pg_catalog.format('SELECT cron.schedule(%L, %L, %L);', j.jobname, j.schedule, j.command) END \
  FROM cron.job j ORDER BY j.jobname NULLS LAST, j.schedule, j.command";

const HAS_TABLES: &str =
    "SELECT pg_catalog.to_regclass('storage.buckets') IS NOT NULL, pg_catalog.to_regclass('cron.job') IS NOT NULL";

/// A string constant as the file writes it (the preamble turns
/// standard_conforming_strings on, so only `'` needs doubling).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `{a,b}`: a text[] parameter.
fn array_param(items: &[String]) -> String {
    let quoted: Vec<String> =
        items.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", quoted.join(","))
}

fn column(conn: &mut dyn Session, sql: &str, params: &[&str], what: &str) -> Result<Vec<String>> {
    let rows = conn.query(sql, params).map_err(|e| query_error(what, e))?;
    Ok((0..rows.len).filter_map(|i| rows.text(i, 0)).collect())
}

/// The managed schemas this database has, when it is Supabase-like.
pub fn managed_here(conn: &mut dyn Session, managed: &Managed) -> Result<Vec<String>> {
    let rows = conn.query(SUPABASE_LIKE, &[]).map_err(|e| query_error("read the roles", e))?;
    if !rows.bool(0, 0).unwrap_or(false) {
        return Ok(Vec::new());
    }
    column(
        conn,
        "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname = ANY ($1::text[]) ORDER BY 1",
        &[&array_param(&managed.schemas)],
        "read the schemas",
    )
}

/// What the migrations added to the managed schemas `schemas`: the
/// catalog's policies and triggers on their tables, then the bucket rows and
/// cron jobs (data that Supabase's schemas hold for the project).
pub fn extras(conn: &mut dyn Session, schemas: &[String]) -> Result<Vec<String>> {
    if schemas.is_empty() {
        return Ok(Vec::new());
    }
    let added = super::catalog::read_managed_additions(conn, &super::catalog::Options { managed: schemas.to_vec() })?;
    let mut out = additions_sql(&added);
    // With an empty search_path every name in an expression comes out qualified.
    conn.execute("SET search_path = ''").map_err(|e| query_error("read the schema", e))?;
    let read = (|| {
        let has = conn.query(HAS_TABLES, &[]).map_err(|e| query_error("read the schema", e))?;
        if has.bool(0, 0).unwrap_or(false) && schemas.iter().any(|s| s == "storage") {
            out.extend(column(conn, BUCKETS, &[], "read the storage buckets")?);
        }
        if has.bool(0, 1).unwrap_or(false) && schemas.iter().any(|s| s == "cron") {
            out.extend(column(conn, CRON_JOBS, &[], "read the cron jobs")?);
        }
        Ok(out)
    })();
    conn.execute("RESET search_path").map_err(|e| query_error("read the schema", e))?;
    read
}

/// The policies of `added`, then its triggers, each by table and name, as
/// the statements that make them again, with their comments and a trigger's
/// state when it is not simply enabled (as pg_dump writes them).
fn additions_sql(added: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    let mut policies: Vec<_> = added.policies.values().collect();
    policies.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    for p in policies {
        let roles: Vec<&str> = p.roles.iter().map(|r| if r == "public" { "PUBLIC" } else { r.as_str() }).collect();
        out.push(format!(
            "CREATE POLICY {} ON {} AS {} FOR {} TO {}{}{};",
            p.name,
            p.table,
            if p.permissive { "PERMISSIVE" } else { "RESTRICTIVE" },
            p.command,
            roles.join(", "),
            p.using.as_ref().map(|u| format!(" USING ({u})")).unwrap_or_default(),
            p.with_check.as_ref().map(|c| format!(" WITH CHECK ({c})")).unwrap_or_default(),
        ));
        if let Some(c) = &p.comment {
            out.push(format!("COMMENT ON POLICY {} ON {} IS {};", p.name, p.table, literal(c)));
        }
    }
    let mut triggers: Vec<_> = added.triggers.values().collect();
    triggers.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    for t in triggers {
        out.push(format!("{};", t.definition));
        let state = match t.enabled {
            'D' => Some("DISABLE TRIGGER"),
            'R' => Some("ENABLE REPLICA TRIGGER"),
            'A' => Some("ENABLE ALWAYS TRIGGER"),
            _ => None,
        };
        if let Some(state) = state {
            out.push(format!("ALTER TABLE {} {state} {};", t.table, t.name));
        }
        if let Some(c) = &t.comment {
            out.push(format!("COMMENT ON TRIGGER {} ON {} IS {};", t.name, t.table, literal(c)));
        }
    }
    out
}

/// The rows that say what `history` has applied, for the tables it has:
/// diesel's (or Supabase's) and ours. Nothing that differs per copy (times,
/// who, batch numbers), so the file diffs cleanly.
pub fn history_rows(history: &History) -> Vec<String> {
    let mut out = Vec::new();
    if history.applied.is_empty() {
        return out;
    }
    let values = |rows: Vec<String>| rows.join(",\n    ");
    let ledger_table = match (&history.table, history.ledger) {
        (Some(t), _) => Some(t.clone()),
        (None, Ledger::Supabase) => None,
        (None, Ledger::Diesel) => None,
    };
    if history.ledger == Ledger::Diesel {
        let table = ledger_table.unwrap_or_else(|| format!("public.{DIESEL_TABLE}"));
        let rows = history.applied.iter().map(|a| format!("({})", literal(&a.version))).collect();
        out.push(format!("INSERT INTO {table} (version) VALUES\n    {};", values(rows)));
    }
    if history.ledger == Ledger::Supabase || history.supabase_history {
        let rows = history
            .applied
            .iter()
            .map(|a| {
                let short = a.name.as_deref().and_then(|n| n.split_once('_')).map(|(_, n)| n).unwrap_or("");
                format!("({}, {})", literal(&a.version), literal(short))
            })
            .collect();
        out.push(format!("INSERT INTO {SUPABASE_HISTORY} (version, name) VALUES\n    {};", values(rows)));
    }
    let ours: Vec<String> = history
        .applied
        .iter()
        .filter_map(|a| {
            let (name, checksum) = (a.name.as_ref()?, a.checksum.as_ref()?);
            Some(format!("({}, {}, {}, 0, 0, 'schema file')", literal(&a.version), literal(name), literal(checksum)))
        })
        .collect();
    if !ours.is_empty() && history.has_companion {
        out.push(format!(
            "INSERT INTO {COMPANION} (version, name, checksum, batch, duration_ms, applied_by) VALUES\n    {};",
            values(ours)
        ));
    }
    out
}

/// Run pg_dump `--schema-only` on `url` without the schemas `left_out`
/// (and the tables `tables_out`); its text.
pub fn pg_dump_schema(url: &DbUrl, pg_dump: &Path, left_out: &[String], tables_out: &[String]) -> Result<String> {
    let mut cmd = Command::new(pg_dump);
    cmd.args(["--schema-only", "--no-owner", "--no-password", "--format=plain", "--encoding=UTF8"]);
    for s in left_out {
        cmd.arg(format!("--exclude-schema={s}"));
    }
    for t in tables_out {
        cmd.arg(format!("--exclude-table={t}"));
    }
    cmd.arg("--dbname").arg(super::backup::conninfo(url)).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(pw) = &url.password {
        cmd.env("PGPASSWORD", pw);
    }
    let failed = |why: String| {
        Error::new(Kind::Dump, format!("pg_dump failed, so nothing was written: {}", crate::show::clean(&why)))
            .hint("fix what pg_dump says (it runs with the same URL; --pg-bin chooses another pg_dump)")
    };
    match cmd.output() {
        Err(e) => Err(failed(format!("could not run {}: {e}", pg_dump.display()))),
        Ok(out) if !out.status.success() => Err(failed(String::from_utf8_lossy(&out.stderr).trim().to_string())),
        Ok(out) => String::from_utf8(out.stdout).map_err(|_| failed("its output is not UTF-8".into())),
    }
}

/// The schema without the bookkeeping (our schema, diesel's and Supabase's
/// history tables) and without history rows: a baseline migration's.
pub fn read_without_history(
    conn: &mut dyn Session,
    url: &DbUrl,
    pg_dump: &Path,
    history: &History,
    managed: &Managed,
) -> Result<Pieces> {
    let schemas = ["cargo_migrate".to_string(), "supabase_migrations".to_string()];
    let table = history.table.clone().unwrap_or_else(|| format!("public.{DIESEL_TABLE}"));
    let started = start_without(conn, url, pg_dump, managed, (&schemas, &[table]))?;
    started.finish(conn, &History::default())
}

/// pg_dump running beside the connection; [`Started::finish`] reads the
/// rest on the connection (which may do other work meanwhile) and waits.
pub struct Started {
    dumping: std::thread::JoinHandle<Result<String>>,
    left_out: Vec<String>,
}

/// Start pg_dump of the database at `url` without the managed schemas it
/// has: everything a schema file is made of comes from it and `finish`, so
/// the whole takes about as long as pg_dump alone.
pub fn start(conn: &mut dyn Session, url: &DbUrl, pg_dump: &Path, managed: &Managed) -> Result<Started> {
    start_without(conn, url, pg_dump, managed, (&[], &[]))
}

fn start_without(
    conn: &mut dyn Session,
    url: &DbUrl,
    pg_dump: &Path,
    managed: &Managed,
    (schemas_out, tables_out): (&[String], &[String]),
) -> Result<Started> {
    let left_out = managed_here(conn, managed)?;
    let all_out: Vec<String> = left_out.iter().chain(schemas_out).cloned().collect();
    let (url, pg_dump, tables_out) = (url.clone(), pg_dump.to_path_buf(), tables_out.to_vec());
    let dumping = std::thread::spawn(move || pg_dump_schema(&url, &pg_dump, &all_out, &tables_out));
    Ok(Started { dumping, left_out })
}

impl Started {
    /// What the migrations added to the managed schemas, read on `conn`,
    /// the rows of `history`, and pg_dump's text once it is done.
    pub fn finish(self, conn: &mut dyn Session, history: &History) -> Result<Pieces> {
        let extras = extras(conn, &self.left_out);
        let raw = self.dumping.join().unwrap_or_else(|_| Err(Error::new(Kind::Internal, "pg_dump's reader failed")));
        Ok(Pieces { raw: raw?, extras: extras?, history: history_rows(history), left_out: self.left_out })
    }
}

/// Load a schema file into an empty database: one transaction, all or nothing.
pub fn load(conn: &mut dyn Session, text: &str, file: &Path) -> Result<()> {
    let sql = format!("BEGIN;\n{text}\nCOMMIT;");
    conn.execute(&sql).map_err(|e| {
        super::ledger::rollback(conn);
        Error::new(
            Kind::Dump,
            format!(
                "could not load {}: {} (SQLSTATE {}); nothing of it stays",
                crate::show::display_path(file),
                crate::show::clean(&e.message),
                e.sqlstate.as_deref().unwrap_or("none")
            ),
        )
        .hint("write it again with `cargo migrate dump` (on a database migrated from the folder), or run without --from-schema")
    })?;
    // The file's `SET`s belong to the load, not to what runs next on this session.
    conn.execute("RESET ALL").map_err(|e| query_error("reset the session", e))
}

/// Whether the database is empty: no table, view or function outside the
/// schemas PostgreSQL and Supabase make (`managed`), and no history.
pub fn is_empty(conn: &mut dyn Session, managed: &Managed) -> Result<bool> {
    let mut skip = managed.schemas.clone();
    skip.extend(["pg_catalog", "information_schema", "pg_toast"].map(String::from));
    let rows = conn
        .query(
            "SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND NOT n.nspname = ANY ($1::text[]) \
                 AND n.nspname NOT LIKE 'pg\\_%' \
                 AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass \
                                   AND d.objid = c.oid AND d.deptype = 'e'))",
            &[&array_param(&skip)],
        )
        .map_err(|e| query_error("read the schema", e))?;
    Ok(rows.bool(0, 0).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Applied;

    fn applied(v: &str, name: &str) -> Applied {
        Applied {
            version: v.into(),
            run_on: Some(1),
            name: Some(name.into()),
            batch: Some(3),
            duration_ms: Some(12),
            applied_by: Some("me".into()),
            stored_down: true,
            checksum: Some("abc".into()),
        }
    }

    #[test]
    fn the_history_rows_hold_nothing_that_differs_between_copies() {
        let h = History {
            applied: vec![
                applied("20250101000000", "20250101000000_users"),
                applied("20250102000000", "20250102000000_notes"),
            ],
            table: Some("public.__diesel_schema_migrations".into()),
            has_companion: true,
            ..History::default()
        };
        let rows = history_rows(&h);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(
            rows[0],
            "INSERT INTO public.__diesel_schema_migrations (version) VALUES\n    ('20250101000000'),\n    ('20250102000000');"
        );
        assert!(
            rows[1].contains("('20250102000000', '20250102000000_notes', 'abc', 0, 0, 'schema file')"),
            "{}",
            rows[1]
        );
        for varying in ["'me'", ", 12,", ", 3,"] {
            assert!(!rows.join("\n").contains(varying), "{varying}");
        }
    }

    #[test]
    fn supabase_history_gets_the_short_name() {
        let h = History {
            applied: vec![applied("20250101000000", "20250101000000_create_users")],
            ledger: Ledger::Supabase,
            table: Some(SUPABASE_HISTORY.into()),
            ..History::default()
        };
        let rows = history_rows(&h);
        assert_eq!(
            rows,
            vec![format!(
                "INSERT INTO {SUPABASE_HISTORY} (version, name) VALUES\n    ('20250101000000', 'create_users');"
            )]
        );
    }

    #[test]
    fn what_a_project_added_to_managed_tables_is_written_by_table_and_name_with_comments_and_state() {
        use crate::db::catalog::{Policy, Trigger};
        let mut added = Catalog::default();
        let policy = |table: &str, name: &str, roles: &[&str], comment: Option<&str>| Policy {
            table: table.into(),
            name: name.into(),
            permissive: name != "\"Deny\"",
            command: "SELECT".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            using: Some("(bucket_id = 'avatars'::text)".into()),
            with_check: None,
            comment: comment.map(String::from),
        };
        for p in [
            policy("storage.objects", "read_own", &["authenticated"], Some("owners' files")),
            policy("storage.buckets", "\"Deny\"", &["anon", "public"], None),
        ] {
            added.policies.insert(format!("{} on {}", p.name, p.table), p);
        }
        let trigger = Trigger {
            table: "auth.users".into(),
            name: "on_signup".into(),
            definition:
                "CREATE TRIGGER on_signup AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.welcome()"
                    .into(),
            enabled: 'D',
            comment: Some("it's new".into()),
        };
        added.triggers.insert("on_signup on auth.users".into(), trigger);
        assert_eq!(
            additions_sql(&added),
            vec![
                "CREATE POLICY \"Deny\" ON storage.buckets AS RESTRICTIVE FOR SELECT TO anon, PUBLIC USING ((bucket_id = 'avatars'::text));",
                "CREATE POLICY read_own ON storage.objects AS PERMISSIVE FOR SELECT TO authenticated USING ((bucket_id = 'avatars'::text));",
                "COMMENT ON POLICY read_own ON storage.objects IS 'owners'' files';",
                "CREATE TRIGGER on_signup AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.welcome();",
                "ALTER TABLE auth.users DISABLE TRIGGER on_signup;",
                "COMMENT ON TRIGGER on_signup ON auth.users IS 'it''s new';",
            ]
        );
    }

    #[test]
    fn a_text_array_parameter_quotes_each_item() {
        assert_eq!(array_param(&["auth".into(), "a\"b".into()]), r#"{"auth","a\"b"}"#);
    }
}
