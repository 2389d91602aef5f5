//! Supabase on top of the core: the connection URL from a Supabase project's
//! `.env` variables, diagnoses of the usual connection mistakes, and the table
//! pattern of `create --table` (the local database is `crate::local`).

pub mod diagnose;
pub mod managed;
pub mod pooler;
pub mod table;
pub mod url;
