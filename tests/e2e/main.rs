//! End-to-end: the real `cargo migrate` in temporary cargo projects against a
//! real PostgreSQL started by the harness; assertions read the catalog.

#[path = "../../src/local/cluster.rs"]
#[allow(dead_code)]
mod cluster;
mod harness;

mod adopt;
mod cli;
mod concurrency;
mod create;
mod database_url;
mod defects;
mod diesel_compat;
mod discovery;
mod down;
mod example;
mod failure;
mod fixtures;
mod hardening;
mod import;
mod layouts;
mod lint;
mod local;
mod local_surface;
mod outcome;
mod safety;
mod secrets;
mod seed;
mod settings;
mod snapshots;
mod status;
mod supabase;
mod supabase_project;
mod up;
mod up_down;
mod verify;
