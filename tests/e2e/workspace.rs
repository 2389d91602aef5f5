//! Which package and migrations folder a run uses, in workspaces and from sub-folders.

use crate::harness::*;

/// A virtual workspace with two members, `api` and `worker`.
fn workspace() -> Project {
    let p = Project::bare("unused");
    std::fs::remove_dir_all(p.root.join("src")).unwrap();
    p.write("Cargo.toml", "[workspace]\nmembers = [\"crates/api\", \"crates/worker\"]\nresolver = \"2\"\n");
    for m in ["api", "worker"] {
        p.write(
            &format!("crates/{m}/Cargo.toml"),
            &format!("[package]\nname = \"{m}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
        p.write(&format!("crates/{m}/src/lib.rs"), "");
    }
    p
}

#[test]
fn default_folder_is_beside_the_package_and_found_from_sub_folders() {
    let p = Project::bare("app");
    p.write("src/deep/er/x.rs", "");
    let r = p.cargo_migrate_in(&p.root.join("src/deep/er"), &["create", "add_things"]).ok();
    let created = folders(&p.root.join("migrations"));
    assert_eq!(created.len(), 1, "{}", r.all());
    assert!(created[0].ends_with("_add_things"));
}

#[test]
fn workspace_member_root_manifest_path_and_package_flag() {
    let p = workspace();
    // From a member: beside that member.
    p.cargo_migrate_in(&p.root.join("crates/api/src"), &["create", "a_api"]).ok();
    assert_eq!(folders(&p.root.join("crates/api/migrations")).len(), 1);
    // -p and --manifest-path pick a member from anywhere.
    p.cargo_migrate(&["create", "a_worker", "-p", "worker"]).ok();
    assert_eq!(folders(&p.root.join("crates/worker/migrations")).len(), 1);
    p.cargo_migrate(&["create", "b_worker", "--manifest-path", "crates/worker/Cargo.toml"]).ok();
    assert_eq!(folders(&p.root.join("crates/worker/migrations")).len(), 2);
    // From the virtual root, with two members that have migrations: which is the user's to say.
    let r = p.cargo_migrate(&["create", "a_root", "--format", "json"]).fails(2);
    assert_eq!(r.json()["error"]["kind"], "ambiguous_package", "{}", r.stdout);
    assert!(!p.root.join("migrations").exists());
    assert_eq!(folders(&p.root.join("crates/api/migrations")).len(), 1);
    // Unknown package: a clear error listing the members.
    let r = p.cargo_migrate_json(&["create", "x_y", "-p", "nope"]).fails_with(2, "unknown_package");
    assert!(r.json()["error"].to_string().contains("api, worker"), "lists the members: {}", r.stdout);
}

#[test]
fn a_member_without_its_own_folder_uses_the_workspace_one() {
    let p = workspace();
    std::fs::create_dir_all(p.root.join("migrations")).unwrap();
    p.cargo_migrate_in(&p.root.join("crates/api"), &["create", "shared_thing"]).ok();
    assert_eq!(folders(&p.root.join("migrations")).len(), 1);
    assert!(!p.root.join("crates/api/migrations").exists());
}

#[test]
fn precedence_flag_package_workspace_diesel_toml() {
    let p = workspace();
    p.write("diesel.toml", "[migrations_directory]\ndir = \"db/diesel\"\n");
    p.cargo_migrate_in(&p.root.join("crates/api"), &["create", "one"]).ok();
    assert_eq!(folders(&p.root.join("db/diesel")).len(), 1, "diesel.toml at the workspace root");

    let root_toml = std::fs::read_to_string(p.root.join("Cargo.toml")).unwrap();
    p.write("Cargo.toml", &format!("{root_toml}\n[workspace.metadata.migrate]\ndir = \"db/ws\"\n"));
    p.cargo_migrate_in(&p.root.join("crates/api"), &["create", "two"]).ok();
    assert_eq!(folders(&p.root.join("db/ws")).len(), 1, "workspace metadata beats diesel.toml");

    let api = std::fs::read_to_string(p.root.join("crates/api/Cargo.toml")).unwrap();
    p.write("crates/api/Cargo.toml", &format!("{api}\n[package.metadata.migrate]\ndir = \"sql\"\n"));
    p.cargo_migrate_in(&p.root.join("crates/api"), &["create", "three"]).ok();
    assert_eq!(folders(&p.root.join("crates/api/sql")).len(), 1, "package metadata beats workspace metadata");

    let r = p.cargo_migrate_in(&p.root.join("crates/api"), &["create", "four", "--dir", "../../flag"]).ok();
    assert_eq!(folders(&p.root.join("flag")).len(), 1, "--dir beats everything: {}", r.all());
}

#[test]
fn outside_a_cargo_project_is_a_clear_error() {
    let dir = tempfile::Builder::new().prefix("cargo-migrate-nowhere-").tempdir().unwrap();
    let p = Project::bare("app");
    let r = p.cargo_migrate_in(dir.path(), &["status", "--format", "json"]).fails_with(2, "not_in_cargo_project");
    assert!(r.hint().contains("--manifest-path"), "{}", r.stdout);
}

#[test]
fn the_metadata_cache_notices_every_manifest_change() {
    let p = workspace();
    let api = p.root.join("crates/api");
    p.cargo_migrate_in(&api, &["create", "one"]).ok();
    assert!(std::fs::read_dir(p.root.join("target/cache/cargo-migrate")).unwrap().count() > 0, "the answer was cached");
    // A member's metadata changes: the cached answer is not used.
    let manifest = std::fs::read_to_string(api.join("Cargo.toml")).unwrap();
    p.write("crates/api/Cargo.toml", &format!("{manifest}\n[package.metadata.migrate]\ndir = \"sql\"\n"));
    p.cargo_migrate_in(&api, &["create", "two"]).ok();
    assert_eq!(folders(&api.join("sql")).len(), 1);
    // A new package appears between the folder and the workspace root.
    p.write(
        "crates/api/nested/Cargo.toml",
        "[package]\nname = \"nested\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[package.metadata.migrate]\ndir = \"m\"\n",
    );
    p.write("crates/api/nested/src/lib.rs", "");
    let root = std::fs::read_to_string(p.root.join("Cargo.toml")).unwrap();
    p.write("Cargo.toml", &root.replace("\"crates/worker\"]", "\"crates/worker\", \"crates/api/nested\"]"));
    p.cargo_migrate_in(&api.join("nested/src"), &["create", "three"]).ok();
    assert_eq!(folders(&api.join("nested/m")).len(), 1);
    // .cargo/config.toml may move the target dir.
    p.write(".cargo/config.toml", "[build]\ntarget-dir = \"elsewhere\"\n");
    let j = p.cargo_migrate_in(&api, &["local", "status", "--format", "json"]).ok().json();
    assert!(j["dir"].as_str().unwrap_or_default().contains("elsewhere/cargo-migrate"), "{j}");
}

/// A member's own `supabase/migrations` is nearer than the workspace root's
/// `migrations/` (another member's): it is the member's folder.
#[test]
fn a_members_own_supabase_folder_beats_the_workspace_migrations() {
    let p = workspace();
    std::fs::create_dir_all(p.root.join("migrations")).unwrap();
    p.write("crates/api/supabase/migrations/20240101000000_a.sql", "create table a ();\n");
    p.cargo_migrate_in(&p.root.join("crates/api"), &["create", "b"]).ok();
    assert_eq!(folders(&p.root.join("migrations")).len(), 0, "written into the workspace's folder");
    assert_eq!(std::fs::read_dir(p.root.join("crates/api/supabase/migrations")).unwrap().count(), 2);
}
