//! `cargo migrate repair`: recording the checksum of an edited migration.

use crate::harness::*;

/// `repair` of a version the Supabase CLI applied names the Supabase CLI,
/// not diesel's harness.
#[test]
fn repair_of_a_version_the_supabase_cli_applied_names_it() {
    let db = Db::new("repair_cli");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_a.sql", "create table a (id int);\n");
    db.query(
        "CREATE SCHEMA supabase_migrations;
         CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
         INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000', NULL, 'a');",
    );
    p.cargo_migrate(&["status"]).ok();
    // What a user reads: who applied it (not diesel's harness).
    let r = p.cargo_migrate(&["repair", "20240101000000"]).fails(1);
    assert!(r.stderr.contains("Supabase CLI") && !r.stderr.contains("diesel"), "{}", r.stderr);
}
