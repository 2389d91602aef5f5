//! Supabase on top of the core: the connection URL from the seed's `.env`
//! variables, diagnoses of the seed's troubleshooting cases, and the table
//! pattern of `create --table` (the local database is `crate::local`).

pub mod diagnose;
pub mod table;
pub mod url;
