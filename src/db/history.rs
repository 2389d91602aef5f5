//! What the database has applied: diesel's `__diesel_schema_migrations`, plus
//! the facts diesel does not keep, in our companion table
//! `cargo_migrate.migrations` (outside `public`, so Supabase's REST API never
//! serves it), and migrations outside a transaction that stopped part-way
//! (`cargo_migrate.partial`). Only reads; every name is schema-qualified.

use super::foreign;
use super::query_error;
use super::session::Session;
use crate::error::Result;

pub const DIESEL_TABLE: &str = "__diesel_schema_migrations";
pub const COMPANION: &str = "cargo_migrate.migrations";
pub const PARTIAL: &str = "cargo_migrate.partial";
pub const SUPABASE_HISTORY: &str = "supabase_migrations.schema_migrations";

/// Which table says what is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ledger {
    /// diesel's `__diesel_schema_migrations`, so `embed_migrations!` agrees.
    #[default]
    Diesel,
    /// `supabase_migrations.schema_migrations`, for a `supabase/migrations`
    /// folder, so `supabase migration list` agrees.
    Supabase,
}

impl Ledger {
    /// Supabase's table for a `supabase/migrations` folder, diesel's otherwise.
    pub fn for_dir(dir: &std::path::Path) -> Ledger {
        if dir.ends_with("supabase/migrations") {
            Ledger::Supabase
        } else {
            Ledger::Diesel
        }
    }
}

/// One applied migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub version: String,
    /// When it was recorded: microseconds since 2000-01-01 (Supabase's
    /// table keeps no time: then only when we applied it ourselves).
    pub run_on: Option<i64>,
    pub name: Option<String>,
    pub batch: Option<i32>,
    pub duration_ms: Option<i64>,
    pub applied_by: Option<String>,
    /// The companion table keeps the down.sql it was applied with.
    pub stored_down: bool,
    /// The checksum of its up.sql when it was applied.
    pub checksum: Option<String>,
}

/// A migration outside a transaction that started but did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub version: String,
    pub statements_done: i32,
    pub statements_total: i32,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    /// Sorted by version, as diesel sorts.
    pub applied: Vec<Applied>,
    pub partial: Vec<Partial>,
    pub ledger: Ledger,
    /// The ledger's table, schema-qualified, if it exists: diesel's where the
    /// app would find it, or Supabase's.
    pub table: Option<String>,
    pub current_schema: Option<String>,
    pub has_companion: bool,
    pub has_partial_table: bool,
    /// We may read the companion tables (a read-only role may not: fewer facts then).
    pub companion_readable: bool,
    /// Supabase's own history table exists: keep it in step so `supabase
    /// migration list` and the dashboard agree with us.
    pub supabase_history: bool,
    /// The server is a standby (in recovery): it can be read, never written.
    pub standby: bool,
    /// `cargo_migrate.backfill` exists: a batched backfill was run here.
    pub has_backfill_table: bool,
    /// Tables that may be other tools' histories ([`foreign::MAYBE_HISTORIES`]),
    /// as the probe found them; None where this was not read from a database
    /// (then [`foreign::detect`] looks for itself).
    pub maybe_histories: Option<Vec<u32>>,
}

impl History {
    pub fn is_applied(&self, version: &str) -> bool {
        self.applied.binary_search_by(|a| a.version.as_str().cmp(version)).is_ok()
    }

    pub fn versions(&self) -> Vec<String> {
        self.applied.iter().map(|a| a.version.clone()).collect()
    }
}

/// Where the tables are, whether they exist and whether we may read them,
/// in one round trip, through functions' lookups (`to_regclass`,
/// `to_regnamespace`, `pg_identify_object`): a new session pays about 0.3 ms
/// to plan each catalog a query scans, a function's lookup microseconds; the
/// one scan left is column 10's. `to_regclass('schema.t')` fails
/// outright on a schema we have no USAGE on, so a schema's tables are looked
/// up only where we have it; where a schema is there without it (NULL and
/// false are told apart), [`PROBE_SCANNING`] says what is there. Column 0 is
/// the schema diesel's table is found in, as diesel finds it (the first of
/// the search path that has it), quoted where it must be. Column 10 is
/// [`foreign::MAYBE_HISTORIES`]: asked here, the look for other tools'
/// histories costs a new session no query of its own (the look for a
/// renamed one, [`foreign::RENAMED_HISTORIES`], follows only where the
/// database has no history of ours).
static PROBE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "\
SELECT (pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, \
                                      pg_catalog.to_regclass('__diesel_schema_migrations'), 0)).schema, \
       pg_catalog.quote_ident(pg_catalog.current_schema()::text), \
       u.ours, \
       CASE WHEN u.ours THEN pg_catalog.to_regclass('cargo_migrate.migrations') IS NOT NULL END, \
       CASE WHEN u.ours THEN pg_catalog.to_regclass('cargo_migrate.partial') IS NOT NULL END, \
       CASE WHEN u.ours THEN coalesce(pg_catalog.has_table_privilege(pg_catalog.to_regclass('cargo_migrate.migrations'), 'SELECT'), false) END, \
       CASE WHEN u.ours THEN pg_catalog.to_regclass('cargo_migrate.backfill') IS NOT NULL END, \
       u.supabase, \
       CASE WHEN u.supabase THEN pg_catalog.to_regclass('supabase_migrations.schema_migrations') IS NOT NULL END, \
       pg_catalog.pg_is_in_recovery(), \
       {}::text \
  FROM (SELECT pg_catalog.has_schema_privilege(pg_catalog.to_regnamespace('cargo_migrate'), 'USAGE') AS ours, \
               pg_catalog.has_schema_privilege(pg_catalog.to_regnamespace('supabase_migrations'), 'USAGE') AS supabase) u",
        foreign::MAYBE_HISTORIES
    )
});

/// What [`PROBE`] cannot look up by name: whether the tables are there in a
/// schema we have no USAGE on (from the catalog, which anyone may read).
const PROBE_SCANNING: &str = "\
SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                WHERE n.nspname = 'cargo_migrate' AND c.relname = 'migrations'), \
       EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                WHERE n.nspname = 'cargo_migrate' AND c.relname = 'partial'), \
       EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                WHERE n.nspname = 'cargo_migrate' AND c.relname = 'backfill'), \
       EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                WHERE n.nspname = 'supabase_migrations' AND c.relname = 'schema_migrations')";

/// Which of our and Supabase's tables exist, and whether we may read ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Found {
    companion: bool,
    partial: bool,
    companion_readable: bool,
    backfill: bool,
    supabase_history: bool,
}

/// [`PROBE`]'s columns 2–8 (`None` where a schema is there without USAGE:
/// then [`PROBE_SCANNING`] must be asked). Pure.
fn found(
    usage: Option<bool>,
    ours: [Option<bool>; 4],
    supabase_usage: Option<bool>,
    supabase: Option<bool>,
) -> Option<Found> {
    if usage == Some(false) || supabase_usage == Some(false) {
        return None;
    }
    let [companion, partial, readable, backfill] = ours.map(|b| b.unwrap_or(false));
    Some(Found {
        companion,
        partial,
        companion_readable: readable,
        backfill,
        supabase_history: supabase.unwrap_or(false),
    })
}

/// What the database has applied. With `facts`, also what our companion
/// table knows of each (name, batch, duration, who); without, only version and
/// time, which is all planning needs, and much cheaper at thousands of rows.
pub fn read(conn: &mut dyn Session, facts: bool, ledger: Ledger) -> Result<History> {
    let err = |e| query_error("read the migration history", e);
    let probe = conn.query(&PROBE, &[]).map_err(err)?;
    let quick = found(
        probe.bool(0, 2),
        [probe.bool(0, 3), probe.bool(0, 4), probe.bool(0, 5), probe.bool(0, 6)],
        probe.bool(0, 7),
        probe.bool(0, 8),
    );
    let (diesel_schema, current_schema, standby) = (probe.text(0, 0), probe.text(0, 1), probe.bool(0, 9));
    let maybe_histories = probe.text(0, 10).map(|t| super::oids::parse(&t));
    // NULL without USAGE on our schema: then it cannot be read.
    let companion_readable = probe.bool(0, 5).unwrap_or(false);
    drop(probe);
    let found = match quick {
        Some(found) => found,
        None => {
            let rows = conn.query(PROBE_SCANNING, &[]).map_err(err)?;
            let (companion, partial) = (rows.bool(0, 0).unwrap_or(false), rows.bool(0, 1).unwrap_or(false));
            let (backfill, supabase_history) = (rows.bool(0, 2).unwrap_or(false), rows.bool(0, 3).unwrap_or(false));
            Found { companion, partial, companion_readable, backfill, supabase_history }
        }
    };
    let supabase_history = found.supabase_history;
    let mut h = History {
        ledger,
        table: match ledger {
            Ledger::Diesel => diesel_schema.map(|s| format!("{s}.{DIESEL_TABLE}")),
            Ledger::Supabase => supabase_history.then(|| SUPABASE_HISTORY.to_string()),
        },
        current_schema,
        has_companion: found.companion,
        has_partial_table: found.partial,
        companion_readable: found.companion_readable,
        supabase_history,
        standby: standby.unwrap_or(false),
        has_backfill_table: found.backfill,
        maybe_histories,
        ..History::default()
    };
    let with_partial = h.has_partial_table && h.companion_readable;
    (h.applied, h.partial) = rows(conn, h.table.as_deref(), ledger, facts && h.companion_readable, with_partial)?;
    if h.applied.is_empty() {
        if let Some(maybe) = &mut h.maybe_histories {
            let rows = conn.query(&format!("SELECT {}::text", foreign::RENAMED_HISTORIES), &[]).map_err(err)?;
            maybe.extend(super::oids::parse(&rows.text(0, 0).unwrap_or_default()));
        }
    }
    Ok(h)
}

/// The history's rows (`table`'s), with what the companion table knows of
/// each where `facts`, and the migrations stopped part-way where `partial`:
/// the tables' rows in one statement (a `UNION ALL`, each row saying whose
/// it is in its first column), joined here. A join would be planned by the
/// server (a new session's first look at the tables, their statistics and
/// operators): about half a millisecond of `status`, more than reading the
/// rows.
fn rows(
    conn: &mut dyn Session,
    table: Option<&str>,
    ledger: Ledger,
    facts: bool,
    partial: bool,
) -> Result<(Vec<Applied>, Vec<Partial>)> {
    // Supabase's table has no time: when we applied it is in ours.
    let (run_on, applied_at) = match ledger {
        Ledger::Diesel => ("d.run_on", "NULL::timestamp"),
        Ledger::Supabase => ("NULL::timestamp", "(c.applied_at AT TIME ZONE 'UTC')"),
    };
    let mut parts = Vec::new();
    if let Some(table) = table {
        parts.push(format!(
            "SELECT 'd', d.version::text, {run_on}, NULL::text, NULL::int4, NULL::int8, NULL::text, NULL::bool, \
                    NULL::text FROM {table} d"
        ));
        if facts {
            parts.push(format!(
                "SELECT 'c', c.version::text, {applied_at}, c.name, c.batch, c.duration_ms, c.applied_by, \
                        c.down_sql IS NOT NULL, c.checksum FROM {COMPANION} c"
            ));
        }
    }
    if partial {
        parts.push(format!(
            "SELECT 'p', p.version::text, NULL, NULL, p.statements_done, p.statements_total::int8, NULL, NULL, NULL \
               FROM {PARTIAL} p"
        ));
    }
    if parts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let rows = conn.query(&parts.join(" UNION ALL "), &[]).map_err(|e| query_error("read the migration history", e))?;
    // Whose each row is (`d`, `c` or `p`), read once.
    let whose: Vec<u8> =
        (0..rows.len).map(|i| rows.bytes(i, 0).and_then(|b| b.first().copied()).unwrap_or(0)).collect();
    let whose = &whose;
    let of = |kind: u8| (0..rows.len).filter(move |&i| whose[i] == kind);
    // By version (as written, nearly always in order already).
    let mut known: Vec<(&[u8], usize)> = of(b'c').filter_map(|i| Some((rows.bytes(i, 1)?, i))).collect();
    if !known.is_sorted() {
        known.sort_unstable();
    }
    let mut applied: Vec<Applied> = of(b'd')
        .map(|i| {
            let version = rows.text(i, 1).unwrap_or_default();
            let found = known.binary_search_by(|(v, _)| (*v).cmp(version.as_bytes()));
            let Ok(c) = found.map(|at| known[at].1) else {
                return Applied { run_on: rows.i64(i, 2), version, ..Applied::default() };
            };
            Applied {
                run_on: rows.i64(i, 2).or(rows.i64(c, 2)),
                name: rows.text(c, 3),
                batch: rows.i32(c, 4),
                duration_ms: rows.i64(c, 5),
                applied_by: rows.text(c, 6),
                stored_down: rows.bool(c, 7).unwrap_or(false),
                checksum: rows.text(c, 8),
                version,
            }
        })
        .collect();
    // Byte order, as diesel and our source sort (ORDER BY would follow the collation).
    if !applied.is_sorted_by(|a, b| a.version <= b.version) {
        applied.sort_unstable_by(|a, b| a.version.cmp(&b.version));
    }
    let mut partial: Vec<Partial> = of(b'p')
        .map(|i| Partial {
            version: rows.text(i, 1).unwrap_or_default(),
            statements_done: rows.i32(i, 4).unwrap_or(0),
            statements_total: rows.i64(i, 5).and_then(|n| i32::try_from(n).ok()).unwrap_or(0),
        })
        .collect();
    partial.sort_by(|a, b| a.version.cmp(&b.version));
    Ok((applied, partial))
}

/// The batch number for a run that is about to write.
pub fn next_batch(conn: &mut dyn Session, history: &History) -> Result<i32> {
    if !history.has_companion {
        return Ok(1);
    }
    let rows = conn
        .query(&format!("SELECT pg_catalog.max(batch) FROM {COMPANION}"), &[])
        .map_err(|e| query_error("read the migration history", e))?;
    Ok(rows.i32(0, 0).unwrap_or(0) + 1)
}

/// Whether `version` is recorded as applied: after a connection was lost, the
/// only way to know what really happened.
pub fn is_recorded(conn: &mut dyn Session, table: &str, version: &str) -> Result<bool> {
    let rows = conn
        .query(&format!("SELECT EXISTS (SELECT FROM {table} WHERE version = $1)"), &[version])
        .map_err(|e| query_error("read the migration history", e))?;
    Ok(rows.bool(0, 0).unwrap_or(false))
}

/// How many statements of a migration outside a transaction are recorded as done.
pub fn partial_done(conn: &mut dyn Session, version: &str) -> Result<i32> {
    let rows = conn
        .query(&format!("SELECT statements_done FROM {PARTIAL} WHERE version = $1"), &[version])
        .map_err(|e| query_error("read the migration history", e))?;
    Ok(rows.i32(0, 0).unwrap_or(0))
}

/// The down.sql each version was applied with, where the companion table keeps it.
pub fn stored_down(conn: &mut dyn Session, versions: &[&str]) -> Result<Vec<(String, String)>> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let list = format!("{{{}}}", versions.join(","));
    let rows = conn
        .query(
            &format!("SELECT version::text, down_sql FROM {COMPANION} WHERE version = ANY($1::text[]) AND down_sql IS NOT NULL"),
            &[&list],
        )
        .map_err(|e| query_error("read the stored down.sql", e))?;
    Ok((0..rows.len).filter_map(|i| Some((rows.text(i, 0)?, rows.text(i, 1)?))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_without_usage_needs_the_catalog_scan() {
        let none = [None; 4];
        assert_eq!(found(Some(false), none, None, None), None);
        assert_eq!(found(Some(true), [Some(true); 4], Some(false), None), None);
    }

    #[test]
    fn absent_schemas_mean_absent_tables() {
        assert_eq!(found(None, [None; 4], None, None), Some(Found::default()));
    }

    #[test]
    fn name_lookups_say_what_is_there() {
        let f = found(Some(true), [Some(true), Some(false), Some(true), Some(false)], Some(true), Some(true)).unwrap();
        assert_eq!(
            f,
            Found {
                companion: true,
                partial: false,
                companion_readable: true,
                backfill: false,
                supabase_history: true
            }
        );
    }

    /// One row of [`rows`]'s union, binary as the server sends it.
    fn row(
        whose: &str,
        version: &str,
        at: Option<i64>,
        batch: Option<i32>,
        checksum: Option<&str>,
    ) -> Vec<Option<Vec<u8>>> {
        let text = |s: &str| Some(s.as_bytes().to_vec());
        vec![
            text(whose),
            text(version),
            at.map(|t| t.to_be_bytes().to_vec()),
            (whose == "c").then(|| b"name".to_vec()),
            batch.map(|b| b.to_be_bytes().to_vec()),
            (whose != "d").then(|| 7i64.to_be_bytes().to_vec()),
            None,
            (whose == "c").then(|| vec![1]),
            checksum.and_then(text),
        ]
    }

    #[test]
    fn the_union_is_joined_by_version_whatever_order_it_comes_in() {
        let answer = vec![
            row("d", "3", Some(30), None, None),
            row("d", "1", Some(10), None, None),
            row("d", "2", Some(20), None, None),
            // Facts out of order, one migration without any (applied by an embedding app).
            row("c", "3", None, Some(2), Some("sum3")),
            row("c", "1", None, Some(1), Some("sum1")),
            // A fact of a version the history no longer has is left out, as by a LEFT JOIN.
            row("c", "9", None, Some(5), Some("sum9")),
            row("p", "4", None, Some(2), None),
        ];
        let mut conn = crate::db::fake::Fake::default()
            .answering("UNION ALL", move |_| Ok(crate::db::session::Rows::owned(answer.clone())));
        let (applied, partial) =
            rows(&mut conn, Some("public.__diesel_schema_migrations"), Ledger::Diesel, true, true).unwrap();
        let got: Vec<_> =
            applied.iter().map(|a| (a.version.as_str(), a.run_on, a.batch, a.checksum.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("1", Some(10), Some(1), Some("sum1")),
                ("2", Some(20), None, None),
                ("3", Some(30), Some(2), Some("sum3"))
            ]
        );
        assert!(applied[0].stored_down && !applied[1].stored_down);
        assert_eq!(partial, [Partial { version: "4".into(), statements_done: 2, statements_total: 7 }]);
        assert_eq!(conn.sent_containing("cargo_migrate.partial"), 1);
    }

    #[test]
    fn supabase_times_come_from_the_companion_and_nothing_is_asked_of_no_table() {
        let answer = vec![row("d", "1", None, None, None), row("c", "1", Some(99), Some(1), Some("s"))];
        let mut conn = crate::db::fake::Fake::default()
            .answering("UNION ALL", move |_| Ok(crate::db::session::Rows::owned(answer.clone())));
        let (applied, _) = rows(&mut conn, Some(SUPABASE_HISTORY), Ledger::Supabase, true, false).unwrap();
        assert_eq!(applied[0].run_on, Some(99));
        let mut none = crate::db::fake::Fake::default();
        assert_eq!(rows(&mut none, None, Ledger::Diesel, true, false).unwrap(), (Vec::new(), Vec::new()));
        assert!(none.sent.is_empty());
    }
}
