//! Other tools' histories: the tables node-pg-migrate, dbmate, golang-migrate,
//! sqlx, the Supabase CLI, Flyway, refinery, goose and Prisma keep of what
//! they applied. Each is described as data (its table, the columns that tell
//! it apart, how to read version, name, date and success), found in the
//! catalog (the tables that may be one are listed inside `history`'s probe,
//! and only those are looked at), and read only; `retire_sql` is the one write (`adopt
//! --retire`).

use super::pq::Conn;
use super::query_error;
use crate::error::Result;

/// Whose history a table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    NodePgMigrate,
    Supabase,
    Dbmate,
    GolangMigrate,
    Sqlx,
    Flyway,
    Refinery,
    Goose,
    Prisma,
}

/// How a table's first column names the migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The version itself.
    Version,
    /// `<version>_<name>` (node-pg-migrate's `name`, Prisma's `migration_name`).
    Prefixed,
}

/// What the rows say is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// One row per applied migration.
    Each,
    /// golang-migrate keeps one row: the current version (and `dirty`);
    /// every migration up to it is applied.
    UpTo,
}

/// One tool's history table, as its source creates it.
#[derive(Debug)]
pub struct Described {
    pub tool: Tool,
    /// `--from` value.
    pub name: &'static str,
    /// The table's default name.
    pub table: &'static str,
    /// A schema it always lives in (Supabase's); otherwise any schema.
    pub schema: Option<&'static str>,
    /// node-pg-migrate's `--migrations-table` renames it: any table with its
    /// columns is its history.
    pub any_name: bool,
    /// Columns (name, `pg_type.typname`) that must all be there.
    pub columns: &'static [(&'static str, &'static str)],
    /// Columns that must not be there (dbmate's table has no `dirty`).
    pub without: &'static [&'static str],
    /// `SELECT first, name, applied_at, extra FROM {t}`: the applied rows,
    /// `extra` is golang-migrate's `dirty`.
    pub read: &'static str,
    pub naming: Naming,
    pub rows: Rows,
    /// Versions are integers (`bigint`/`int4`): `0001` on disk is their `1`.
    pub numeric: bool,
}

/// Every history we know, most specific first (golang-migrate's
/// `schema_migrations` before dbmate's).
pub const KNOWN: &[Described] = &[
    // node-pg-migrate src/runner.ts / src/migration.ts: id SERIAL, name varchar(255), run_on timestamp.
    Described {
        tool: Tool::NodePgMigrate,
        name: "node-pg-migrate",
        table: "pgmigrations",
        schema: None,
        any_name: true,
        columns: &[("id", "int4"), ("name", "varchar"), ("run_on", "timestamp")],
        without: &[],
        read: "SELECT name, NULL::text, run_on::timestamptz::text, NULL::text FROM {t} ORDER BY run_on, id",
        naming: Naming::Prefixed,
        rows: Rows::Each,
        numeric: false,
    },
    // supabase/cli pkg/migration/history.go: version text, statements text[], name text.
    Described {
        tool: Tool::Supabase,
        name: "supabase",
        table: "schema_migrations",
        schema: Some("supabase_migrations"),
        any_name: false,
        columns: &[("version", "text")],
        without: &[],
        read: "SELECT version, coalesce(name, ''), NULL::text, NULL::text FROM {t} ORDER BY version",
        naming: Naming::Version,
        rows: Rows::Each,
        numeric: false,
    },
    // golang-migrate database/postgres/postgres.go: (version bigint not null primary key, dirty boolean not null).
    Described {
        tool: Tool::GolangMigrate,
        name: "golang-migrate",
        table: "schema_migrations",
        schema: None,
        any_name: false,
        columns: &[("version", "int8"), ("dirty", "bool")],
        without: &[],
        read: "SELECT version::text, '', NULL::text, dirty::text FROM {t}",
        naming: Naming::Version,
        rows: Rows::UpTo,
        numeric: true,
    },
    // dbmate pkg/driver/postgres/postgres.go: (version varchar(128) primary key).
    Described {
        tool: Tool::Dbmate,
        name: "dbmate",
        table: "schema_migrations",
        schema: None,
        any_name: false,
        columns: &[("version", "varchar")],
        without: &["dirty"],
        read: "SELECT version::text, '', NULL::text, NULL::text FROM {t} ORDER BY version",
        naming: Naming::Version,
        rows: Rows::Each,
        numeric: false,
    },
    // sqlx sqlx-postgres/src/migrate.rs: version BIGINT, description TEXT, installed_on TIMESTAMPTZ, success BOOLEAN, …
    Described {
        tool: Tool::Sqlx,
        name: "sqlx",
        table: "_sqlx_migrations",
        schema: None,
        any_name: false,
        columns: &[("version", "int8"), ("description", "text"), ("success", "bool")],
        without: &[],
        read: "SELECT version::text, description, installed_on::text, NULL::text FROM {t} WHERE success ORDER BY version",
        naming: Naming::Version,
        rows: Rows::Each,
        numeric: true,
    },
    // Flyway flyway-database-postgresql PostgreSQLDatabase.java getRawCreateScript: installed_rank,
    // version varchar(50), description, type, script, checksum, installed_by, installed_on, execution_time,
    // success. The newest row of a version says what it is now (an UNDO_SQL row undid it); repeatable
    // migrations have no version.
    Described {
        tool: Tool::Flyway,
        name: "flyway",
        table: "flyway_schema_history",
        schema: None,
        any_name: false,
        columns: &[("installed_rank", "int4"), ("version", "varchar"), ("type", "varchar"), ("success", "bool")],
        without: &[],
        read: "SELECT version, description, at, NULL::text FROM ( \
                 SELECT DISTINCT ON (version) version, description, installed_on::timestamptz::text AS at, type, success \
                   FROM {t} WHERE version IS NOT NULL ORDER BY version, installed_rank DESC) newest \
                WHERE success AND type NOT LIKE 'UNDO%' AND type NOT IN ('DELETE', 'SCHEMA')",
        naming: Naming::Version,
        rows: Rows::Each,
        numeric: true,
    },
    // refinery refinery_core/src/traits/mod.rs ASSERT_MIGRATIONS_TABLE_QUERY: version int4 (int8 with
    // `int8-versions`), name, applied_on varchar (RFC 3339), checksum.
    Described {
        tool: Tool::Refinery,
        name: "refinery",
        table: "refinery_schema_history",
        schema: None,
        any_name: false,
        columns: &[("version", "int4"), ("name", "varchar"), ("applied_on", "varchar")],
        without: &[],
        read: "SELECT version::text, coalesce(name, ''), applied_on, NULL::text FROM {t} ORDER BY version",
        naming: Naming::Version,
        rows: Rows::Each,
        numeric: true,
    },
    // goose internal/dialects/postgres.go CreateTable: id, version_id bigint, is_applied boolean, tstamp
    // timestamp. The newest row of a version says whether it is applied; version 0 is goose's own first row.
    Described {
        tool: Tool::Goose,
        name: "goose",
        table: "goose_db_version",
        schema: None,
        any_name: false,
        columns: &[("version_id", "int8"), ("is_applied", "bool")],
        without: &[],
        read: "SELECT version_id::text, '', at, NULL::text FROM ( \
                 SELECT DISTINCT ON (version_id) version_id, is_applied, tstamp::timestamptz::text AS at \
                   FROM {t} WHERE version_id > 0 ORDER BY version_id, id DESC) newest \
                WHERE is_applied ORDER BY version_id",
        naming: Naming::Version,
        rows: Rows::Each,
        numeric: true,
    },
    // Prisma's schema engine (sql-schema-connector, postgres flavour): id varchar(36), checksum,
    // finished_at timestamptz, migration_name varchar(255), logs, rolled_back_at, started_at,
    // applied_steps_count. Applied: finished and not rolled back.
    Described {
        tool: Tool::Prisma,
        name: "prisma",
        table: "_prisma_migrations",
        schema: None,
        any_name: false,
        columns: &[("migration_name", "varchar"), ("finished_at", "timestamptz"), ("rolled_back_at", "timestamptz")],
        without: &[],
        read: "SELECT migration_name, NULL::text, finished_at::text, NULL::text FROM {t} \
                WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name",
        naming: Naming::Prefixed,
        rows: Rows::Each,
        numeric: false,
    },
];

/// Where `adopt --retire` moves a history out of the schemas Supabase's API serves.
pub const RETIRED_SCHEMA: &str = "cargo_migrate_retired";

impl Tool {
    pub fn described(self) -> &'static Described {
        KNOWN.iter().find(|d| d.tool == self).expect("every tool is described")
    }
}

/// A history table found on the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub tool: Tool,
    pub schema: String,
    pub table: String,
}

impl Found {
    /// `schema.table`, quoted where it must be.
    pub fn qualified(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&self.table))
    }

    pub fn described(&self) -> &'static Described {
        self.tool.described()
    }
}

/// One applied migration as the other tool recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub version: String,
    /// Their name for it, without the version ("" when they keep none).
    pub name: String,
    /// When they applied it (text PostgreSQL reads as a timestamptz), if they kept that.
    pub at: Option<String>,
}

/// What a history says is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub found: Found,
    pub entries: Vec<Entry>,
    /// golang-migrate: every migration up to this version is applied.
    pub up_to: Option<String>,
    /// golang-migrate's `dirty`: its last migration failed half-way.
    pub dirty: bool,
}

/// The tables that may be another tool's history, by name: named as one of
/// [`KNOWN`] names its table, in any schema (an index lookup per name). A
/// sub-select, asked inside `history`'s probe: a new session pays for the
/// catalog lookup once there rather than for a query of its own; in the
/// common case it finds nothing and [`detect_among`] asks nothing more. The
/// names are [`KNOWN`]'s (a test says so).
pub const MAYBE_HISTORIES: &str = "\
ARRAY(SELECT c.oid FROM pg_catalog.pg_class c \
       WHERE c.relname IN ('pgmigrations', 'schema_migrations', '_sqlx_migrations', 'flyway_schema_history', \
                           'refinery_schema_history', 'goose_db_version', '_prisma_migrations'))";

/// The tables that may be node-pg-migrate's history under another name
/// (its `--migrations-table`): with `run_on` third, where node-pg-migrate
/// creates it (diesel's own table has it second). A pass over every column
/// of the database, a third of what a new session's `status` asked of the
/// server, so `history` asks it only while the database has no history of
/// ours: before the switch, when such a table must stop `up`; after it,
/// `adopt` has recorded what it held.
pub const RENAMED_HISTORIES: &str =
    "ARRAY(SELECT r.attrelid FROM pg_catalog.pg_attribute r WHERE r.attnum = 3 AND r.attname = 'run_on')";

/// Of the tables `$1` (oids), those outside the system schemas and where
/// `adopt --retire` put them, with their columns: `col:type,col:type`.
const CANDIDATES: &str = "\
SELECT n.nspname::text, c.relname::text, \
       (SELECT string_agg(a.attname::text || ':' || t.typname::text, ',' ORDER BY a.attnum) \
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) \
  FROM pg_catalog.pg_class c \
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
 WHERE c.relkind IN ('r', 'p') \
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cargo_migrate', 'cargo_migrate_retired') \
   AND n.nspname NOT LIKE 'pg\\_%' \
   AND c.oid = ANY($1::oid[]) \
 ORDER BY 1, 2";

/// Which other tools' histories the database has.
pub fn detect(conn: &mut Conn) -> Result<Vec<Found>> {
    let rows = conn
        .query(&format!("SELECT {MAYBE_HISTORIES}::text, {RENAMED_HISTORIES}::text"), &[])
        .map_err(|e| query_error("look for other tools' histories", e))?;
    let mut maybe = super::oids::parse(&rows.text(0, 0).unwrap_or_default());
    maybe.extend(super::oids::parse(&rows.text(0, 1).unwrap_or_default()));
    drop(rows);
    detect_among(conn, &maybe)
}

/// Which of the tables `maybe` ([`MAYBE_HISTORIES`]'s oids) are other
/// tools' histories: no query when there are none.
pub fn detect_among(conn: &mut Conn, maybe: &[u32]) -> Result<Vec<Found>> {
    if maybe.is_empty() {
        return Ok(Vec::new());
    }
    let rows = conn
        .query(CANDIDATES, &[&super::oids::array(maybe)])
        .map_err(|e| query_error("look for other tools' histories", e))?;
    let mut found = Vec::new();
    for i in 0..rows.len {
        let (Some(schema), Some(table), Some(columns)) = (rows.text(i, 0), rows.text(i, 1), rows.text(i, 2)) else {
            continue;
        };
        if let Some(tool) = identify(&schema, &table, &columns) {
            found.push(Found { tool, schema, table });
        }
    }
    Ok(found)
}

/// Whose history a table is, from its schema, name and `col:type` list. Pure.
pub fn identify(schema: &str, table: &str, columns: &str) -> Option<Tool> {
    let cols: Vec<(&str, &str)> = columns.split(',').filter_map(|c| c.split_once(':')).collect();
    KNOWN
        .iter()
        .find(|d| {
            let named = d.table == table || d.any_name;
            let placed = match d.schema {
                Some(s) => s == schema,
                // A table of that name in Supabase's schema is Supabase's.
                None => schema != "supabase_migrations",
            };
            named
                && placed
                && d.columns.iter().all(|want| cols.contains(want))
                && d.without.iter().all(|w| !cols.iter().any(|(n, _)| n == w))
                // node-pg-migrate's columns, exactly: a table of the app's with a
                // `run_on` column is not a history.
                && (!d.any_name || d.table == table || cols.len() == d.columns.len())
        })
        .map(|d| d.tool)
}

/// What `found` says is applied.
pub fn read(conn: &mut Conn, found: &Found) -> Result<Read> {
    let d = found.described();
    let sql = d.read.replace("{t}", &found.qualified());
    let rows = conn.query(&sql, &[]).map_err(|e| query_error("read the other tool's history", e))?;
    let mut read = Read { found: found.clone(), entries: Vec::new(), up_to: None, dirty: false };
    for i in 0..rows.len {
        let first = rows.text(i, 0).unwrap_or_default();
        let (version, name) = match d.naming {
            Naming::Prefixed => (
                crate::version::version_of(&first),
                first.split_once('_').map(|(_, n)| n.to_string()).unwrap_or_default(),
            ),
            Naming::Version => (first, rows.text(i, 1).unwrap_or_default()),
        };
        if d.rows == Rows::UpTo {
            read.dirty = rows.text(i, 3).as_deref() == Some("true");
            read.up_to = Some(version);
            continue;
        }
        // Tools that keep no date: a timestamp version is the best guess.
        let at = rows.text(i, 2).or_else(|| {
            crate::version::parse_timestamp(&version).map(|unix| {
                let t = crate::version::format_timestamp(unix);
                format!("{}-{}-{} {}:{}:{}+00", &t[0..4], &t[4..6], &t[6..8], &t[8..10], &t[10..12], &t[12..14])
            })
        });
        read.entries.push(Entry { version, name, at });
    }
    Ok(read)
}

/// Move a history out of the way: into `cargo_migrate_retired`, where no API
/// serves it and nothing of ours looks for it. Sent inside adopt's transaction.
pub fn retire_sql(found: &Found) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS {RETIRED_SCHEMA};\n\
         REVOKE ALL ON SCHEMA {RETIRED_SCHEMA} FROM PUBLIC;\n\
         ALTER TABLE {} SET SCHEMA {RETIRED_SCHEMA};\n",
        found.qualified()
    )
}

/// An identifier as PostgreSQL reads it back: quoted unless it is plain lowercase.
fn ident(name: &str) -> String {
    if !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_looks_for_every_known_name() {
        for d in KNOWN {
            assert!(MAYBE_HISTORIES.contains(&format!("'{}'", d.table)), "{} is not looked for", d.table);
        }
    }

    #[test]
    fn schema_migrations_is_told_apart_by_its_columns() {
        assert_eq!(identify("public", "schema_migrations", "version:varchar"), Some(Tool::Dbmate));
        assert_eq!(identify("public", "schema_migrations", "version:int8,dirty:bool"), Some(Tool::GolangMigrate));
        assert_eq!(
            identify("supabase_migrations", "schema_migrations", "version:text,statements:_text,name:text"),
            Some(Tool::Supabase)
        );
        // An app's own table of that name is nobody's history.
        assert_eq!(identify("public", "schema_migrations", "id:int4,label:text"), None);
    }

    #[test]
    fn node_pg_migrate_under_any_name_but_only_with_its_columns() {
        let cols = "id:int4,name:varchar,run_on:timestamp";
        assert_eq!(identify("public", "pgmigrations", cols), Some(Tool::NodePgMigrate));
        assert_eq!(identify("migrations", "schema_history", cols), Some(Tool::NodePgMigrate));
        assert_eq!(identify("public", "jobs", "id:int4,name:varchar,run_on:timestamp,status:text"), None);
    }

    #[test]
    fn each_other_table_by_name_and_columns() {
        let flyway = "installed_rank:int4,version:varchar,description:varchar,type:varchar,script:varchar,\
                      checksum:int4,installed_by:varchar,installed_on:timestamp,execution_time:int4,success:bool";
        assert_eq!(identify("public", "flyway_schema_history", flyway), Some(Tool::Flyway));
        assert_eq!(
            identify(
                "public",
                "refinery_schema_history",
                "version:int4,name:varchar,applied_on:varchar,checksum:varchar"
            ),
            Some(Tool::Refinery)
        );
        assert_eq!(
            identify("public", "goose_db_version", "id:int4,version_id:int8,is_applied:bool,tstamp:timestamp"),
            Some(Tool::Goose)
        );
        assert_eq!(
            identify(
                "public",
                "_sqlx_migrations",
                "version:int8,description:text,installed_on:timestamptz,success:bool,checksum:bytea,execution_time:int8"
            ),
            Some(Tool::Sqlx)
        );
        assert_eq!(
            identify(
                "public",
                "_prisma_migrations",
                "id:varchar,checksum:varchar,finished_at:timestamptz,migration_name:varchar,logs:text,rolled_back_at:timestamptz,started_at:timestamptz,applied_steps_count:int4"
            ),
            Some(Tool::Prisma)
        );
    }

    #[test]
    fn names_are_quoted_where_they_must_be() {
        assert_eq!(ident("pgmigrations"), "pgmigrations");
        assert_eq!(ident("Migrations"), "\"Migrations\"");
    }
}
