//! What Supabase manages in every project's database: the schemas its
//! services own and the publication Realtime reads. `dump` and `squash` leave
//! them out (their DDL is Supabase's, and loading it again would fail) and
//! keep only what the project's migrations added there. Handed to `db::dump`
//! as data.

/// Schemas made and migrated by Supabase's services, not by the project.
pub const SCHEMAS: &[&str] = &[
    "auth",
    "storage",
    "realtime",
    "_realtime",
    "vault",
    "extensions",
    "graphql",
    "graphql_public",
    "pgsodium",
    "pgsodium_masks",
    "supabase_functions",
    "net",
    "cron",
    "pgbouncer",
    "pgmq",
    "_analytics",
    "_supavisor",
    "pgtle",
    "tiger",
    "tiger_data",
    "topology",
];

/// Publications every Supabase database has: their members are the project's, not their creation.
pub const PUBLICATIONS: &[&str] = &["supabase_realtime", "supabase_realtime_messages_publication"];

/// What a dump leaves out.
pub fn managed() -> crate::db::dump::Managed {
    crate::db::dump::Managed {
        schemas: SCHEMAS.iter().map(|s| s.to_string()).collect(),
        publications: PUBLICATIONS.iter().map(|s| s.to_string()).collect(),
    }
}
