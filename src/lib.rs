//! cargo-migrate: chronological PostgreSQL migrations in diesel's layout.
//!
//! Data flows one way: `cli` → `workspace` → `settings` → `source` →
//! `connection` → `history` → `plan` → `runner` → `report`.
//! Only the edges do I/O; `plan`, `names` and `sql` are pure.

pub mod cli;
pub mod cluster;
pub mod commands;
pub mod connection;
pub mod error;
pub mod harness;
pub mod history;
pub mod metadata_cache;
pub mod names;
pub mod plan;
pub mod report;
pub mod runner;
pub mod settings;
pub mod source;
pub mod sql;
pub mod supabase;
pub mod workspace;

pub use error::{Error, Result};
