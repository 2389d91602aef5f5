//! End-to-end: the real `cargo migrate` in temporary cargo projects against a
//! real PostgreSQL started by the harness; assertions read the catalog.

#[path = "../../src/local/cluster.rs"]
#[allow(dead_code)]
mod cluster;
mod fixtures;
mod harness;

mod adopt;
mod backfill;
mod baseline;
mod check;
mod cli;
mod complete;
mod concurrency;
mod create;
mod database_url;
mod diesel_compat;
mod diff;
mod down;
mod example;
mod fleet;
mod import;
mod lint;
mod local;
mod print_schema;
mod redo;
mod rehearse;
mod repair;
mod seed;
mod status;
mod supabase_project;
mod support;
mod up;
mod up_crash;
mod up_progress;
mod verify;
mod workspace;
