//! Preparing a database like a Supabase project's: `prepare.sql` (roles,
//! `auth`, `storage`, `vault`, `realtime`, Supabase's grants) and the
//! stand-ins of `stand_ins.sql` for the extensions this PostgreSQL lacks;
//! and what `local status` says of each extension.

use std::path::Path;

use crate::error::{Error, Kind, Result};

const PREPARE_SQL: &str = include_str!("prepare.sql");
const STAND_INS_SQL: &str = include_str!("stand_ins.sql");
/// How a stand-in's comment starts (`local status` tells them apart by it).
const STAND_IN_PREFIX: &str = "cargo-migrate local stand-in: ";

/// The extensions a Supabase project has or commonly enables, in the order
/// `local status` lists them: those with a stand-in (stand_ins.sql), then
/// those only a real installation has (`vector` and the ones Debian packages).
pub const SUPABASE_EXTENSIONS: &[&str] = &[
    "pgcrypto",
    "uuid-ossp",
    "pg_stat_statements",
    "pgjwt",
    "pg_graphql",
    "pgsodium",
    "supabase_vault",
    "pg_net",
    "pg_cron",
    "http",
    "pgmq",
    "pg_jsonschema",
    "index_advisor",
    "pg_hashids",
    "vector",
    "postgis",
    "pgrouting",
    "pgtap",
    "hypopg",
    "pg_repack",
    "rum",
    "pgaudit",
    "pg_partman",
];

/// Of those, the ones PostgreSQL itself ships (contrib).
pub(super) const CONTRIB: &[&str] = &["pgcrypto", "uuid-ossp", "pg_stat_statements"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ExtensionState {
    /// The installation's own extension, created.
    Real,
    /// cargo-migrate's stand-in (`local.sql`), registered under the real name.
    StandIn,
    /// Available, not created (Supabase does not preinstall it): the
    /// installation's, or a stand-in when the note says what it lacks.
    Available,
    /// Neither the installation nor cargo-migrate has it.
    Missing,
}

impl ExtensionState {
    /// The name `local status` shows, and its JSON `state`.
    pub fn name(self) -> &'static str {
        match self {
            ExtensionState::Real => "real",
            ExtensionState::StandIn => "stand-in",
            ExtensionState::Available => "available",
            ExtensionState::Missing => "missing",
        }
    }
}

/// One extension as the local database has it.
#[derive(Debug, Clone)]
pub struct Extension {
    pub name: String,
    pub state: ExtensionState,
    pub schema: Option<String>,
    pub version: Option<String>,
    /// For a stand-in: what it cannot do.
    pub note: Option<String>,
}

/// Make the database at `url` look like a Supabase project's (roles, `auth`,
/// `storage`, `vault`, `realtime`, the extensions, Supabase's grants).
/// Returns the state of each of `SUPABASE_EXTENSIONS` there.
pub fn prepare_like_supabase(url: &str) -> Result<Vec<Extension>> {
    let mut conn = crate::db::connect(url, 10, "prepare", &crate::db::Hints::default())?;
    conn.execute(&prepare_sql()).map_err(|e| {
        Error::new(Kind::LocalDatabase, format!("could not prepare the database like Supabase: {}", e.message))
    })?;
    extensions_of(&mut conn)
}

/// Run the roles file `file` (its text) on the database at `url`, all of it
/// or nothing (one implicit transaction).
pub fn run_roles(url: &str, file: &Path, text: &str) -> Result<()> {
    let mut conn = crate::db::connect(url, 10, "create the roles", &crate::db::Hints::default())?;
    conn.execute(text).map(drop).map_err(|e| {
        Error::new(
            Kind::RolesFile,
            format!(
                "{} failed: {} (SQLSTATE {}); none of it ran",
                crate::show::display_path(file),
                crate::show::clean(&e.message),
                e.sqlstate.as_deref().unwrap_or("none")
            ),
        )
    })
}

/// The state of each of `SUPABASE_EXTENSIONS` on the (local) database at `url`.
pub fn extensions(url: &str) -> Result<Vec<Extension>> {
    let mut conn = crate::db::connect(url, 10, "list extensions", &crate::db::Hints::default())?;
    extensions_of(&mut conn)
}

fn extensions_of(conn: &mut crate::db::pq::Conn) -> Result<Vec<Extension>> {
    Ok(crate::db::extensions::states(conn, SUPABASE_EXTENSIONS)?
        .into_iter()
        .map(|e| {
            let note = e.comment.strip_prefix(STAND_IN_PREFIX).map(str::to_string);
            let state = match (e.installed, &note, e.available) {
                (true, Some(_), _) => ExtensionState::StandIn,
                (true, None, _) => ExtensionState::Real,
                (false, _, true) => ExtensionState::Available,
                (false, _, false) => ExtensionState::Missing,
            };
            Extension {
                name: e.name,
                state,
                schema: e.schema,
                version: e.version.filter(|_| state == ExtensionState::Real),
                note,
            }
        })
        .collect())
}

/// One section of stand_ins.sql: an extension's objects, with the real one's
/// names and signatures, and what it cannot do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandIn {
    pub name: &'static str,
    /// Where Supabase has it (`@extschema@` in the body).
    pub schema: &'static str,
    /// The real one can live in that schema only.
    pub fixed_schema: bool,
    /// Supabase creates it in every project (others are only available).
    pub preinstalled: bool,
    pub requires: Option<&'static str>,
    pub lacks: &'static str,
    pub body: &'static str,
}

/// The sections of stand_ins.sql, in order.
pub fn stand_ins() -> Vec<StandIn> {
    STAND_INS_SQL
        .split("\n-- stand-in: ")
        .skip(1)
        .map(|section| {
            let (name, mut rest) = section.split_once('\n').unwrap_or((section, ""));
            let mut field = |key: &str| -> &'static str {
                let line = rest.split_once('\n').map_or(rest, |(l, _)| l);
                let value = line
                    .strip_prefix(&format!("-- {key}:"))
                    .unwrap_or_else(|| panic!("stand_ins.sql, stand-in {name}: `-- {key}:` expected, found {line:?}"));
                rest = rest.split_once('\n').map_or("", |(_, r)| r);
                value.trim()
            };
            field("where");
            let schema = field("schema");
            let fixed_schema = field("fixed schema") == "yes";
            let preinstalled = field("preinstalled") == "yes";
            let requires = Some(field("requires")).filter(|r| !r.is_empty());
            let lacks = field("lacks");
            StandIn { name: name.trim(), schema, fixed_schema, preinstalled, requires, lacks, body: rest }
        })
        .collect()
}

/// local.sql with the stand-ins' pg_temp.extension() calls in place.
fn prepare_sql() -> String {
    let calls: String = stand_ins()
        .iter()
        .map(|s| {
            format!(
                "SELECT pg_temp.extension('{}', '{}', {}, $lacks${}$lacks$, $standin$\n{}$standin$);\n",
                s.name, s.schema, s.preinstalled, s.lacks, s.body
            )
        })
        .collect();
    PREPARE_SQL.replacen("-- @STAND_INS@\n", &calls, 1)
}

/// Each stand-in as an SQL-only extension in `dir` (for `extension_control_path`).
pub(super) fn write_stand_in_extensions(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    for s in stand_ins() {
        let mut control = format!(
            "# {STAND_IN_PREFIX}written by cargo-migrate for its local database\n\
             comment = '{}'\ndefault_version = 'stand-in'\nrelocatable = false\nsuperuser = true\n",
            format!("{STAND_IN_PREFIX}{}", s.lacks).replace('\'', "''")
        );
        if s.fixed_schema {
            control.push_str(&format!("schema = '{}'\n", s.schema));
        }
        if let Some(r) = s.requires {
            control.push_str(&format!("requires = '{r}'\n"));
        }
        for (file, text) in
            [(format!("{}.control", s.name), control), (format!("{}--stand-in.sql", s.name), s.body.into())]
        {
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(|e| Error::io(&path, "write", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stand_in_is_read_whole() {
        let all = stand_ins();
        let names: Vec<&str> = all.iter().map(|s| s.name).collect();
        // Every section is read, in the order `local status` lists them, and
        // the extensions after them are those only a real installation has.
        assert_eq!(names.len(), 14, "{names:?}");
        assert_eq!(names, SUPABASE_EXTENSIONS[..names.len()]);
        assert!(SUPABASE_EXTENSIONS[names.len()..]
            .iter()
            .all(|e| !STAND_INS_SQL.contains(&format!("stand-in: {e}\n"))));
        for s in &all {
            assert!(SUPABASE_EXTENSIONS.contains(&s.name), "{} is listed by `local status`", s.name);
            assert!(s.body.trim_start().starts_with("CREATE"), "{}: {:?}", s.name, &s.body[..40]);
            assert!(!s.body.contains("-- stand-in:") && !s.lacks.is_empty(), "{}", s.name);
        }
        let uuid = all.iter().find(|s| s.name == "uuid-ossp").unwrap();
        assert_eq!((uuid.schema, uuid.fixed_schema, uuid.requires), ("extensions", false, Some("pgcrypto")));
        let sql = prepare_sql();
        assert!(!sql.contains("\n-- @STAND_INS@\n") && sql.matches("SELECT pg_temp.extension(").count() == all.len());
    }
}
