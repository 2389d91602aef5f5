//! Supabase on top of the core: the connection URL from a Supabase project's
//! `.env` variables, diagnoses of the usual connection mistakes, and the table
//! pattern of `create --table` (the local database is `crate::local`).

pub mod diagnose;
pub mod pooler;
pub mod table;
pub mod url;

/// The schemas Supabase itself manages: `diff` leaves their objects out
/// (except the policies and triggers a project puts on their tables).
pub const MANAGED_SCHEMAS: &[&str] = &[
    "auth",
    "storage",
    "realtime",
    "_realtime",
    "extensions",
    "graphql",
    "graphql_public",
    "pgsodium",
    "pgsodium_masks",
    "vault",
    "supabase_functions",
    "net",
    "cron",
    "pgbouncer",
    "_analytics",
    "pgmq",
];
