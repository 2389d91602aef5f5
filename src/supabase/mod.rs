//! Supabase on top of the core: the connection URL from a Supabase project's
//! `.env` variables, diagnoses of the usual connection mistakes, and the table
//! pattern of `create --table` (the local database is `crate::local`).

/// Supabase's API (PostgREST, GraphQL, Realtime) serves the `public` schema
/// to the `anon` and `authenticated` roles: the bookkeeping tables are closed
/// to them, and the advisor checks what that API serves.
pub const EXPOSURE: crate::db::ledger::Exposure =
    crate::db::ledger::Exposure { roles: &["anon", "authenticated"], schemas: &["public"] };

pub mod diagnose;
pub mod managed;
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
