//! Supabase on top of the core: the connection URL from a Supabase project's
//! `.env` variables, diagnoses of the usual connection mistakes, and the local
//! development database prepared like a Supabase one.

pub mod diagnose;
pub mod local;
pub mod pooler;
pub mod table;
pub mod url;
