use crate::harness::*;

#[test]
fn create_writes_up_and_down_from_the_templates() {
    let p = Project::bare("app");
    let r = p.cargo_migrate_json(&["create", "add_project_team_support"]).ok();
    let f = folders(&p.root.join("migrations"));
    assert_eq!(f.len(), 1);
    let (version, name) = f[0].split_once('_').unwrap();
    assert_eq!(name, "add_project_team_support");
    assert_eq!(version.len(), 14, "YYYYMMDDHHMMSS: {version}");
    assert!(version.starts_with("20"));
    let up = std::fs::read_to_string(p.root.join("migrations").join(&f[0]).join("up.sql")).unwrap();
    assert!(up.contains("Add project team support"), "template rendered: {up}");
    assert!(p.root.join("migrations").join(&f[0]).join("down.sql").is_file());
    let path = r.json()["path"].as_str().unwrap_or_default().to_string();
    assert!(path.ends_with(&format!("migrations/{}", f[0])), "the path it wrote: {}", r.stdout);
}

#[test]
fn words_spaces_and_dashes_become_one_snake_case_name() {
    let p = Project::bare("app");
    p.cargo_migrate(&["create", "add", "vector-search", "rag"]).ok();
    assert!(folders(&p.root.join("migrations"))[0].ends_with("_add_vector_search_rag"));
}

#[test]
fn bad_names_are_refused_and_nothing_is_written() {
    let p = Project::bare("app");
    let r = p.cargo_migrate_json(&["create", "AddThings"]).fails_with(2, "invalid_name");
    assert!(r.hint().contains("add_things"), "the name to use: {}", r.stdout);
    p.cargo_migrate_json(&["create", "drop;table"]).fails_with(2, "invalid_name");
    for generic in ["migration", "fix_bug", "update"] {
        let r = p.cargo_migrate_json(&["create", generic]).fails_with(2, "generic_name");
        assert!(r.hint().contains("--force"), "{}", r.stdout);
    }
    assert!(folders(&p.root.join("migrations")).is_empty());
    p.cargo_migrate(&["create", "update", "--force"]).ok();
    assert_eq!(folders(&p.root.join("migrations")).len(), 1);
}

#[test]
fn creates_in_the_same_second_get_distinct_ordered_versions() {
    let p = Project::bare("app");
    for name in ["first", "second", "third"] {
        p.cargo_migrate(&["create", name]).ok();
    }
    let f = folders(&p.root.join("migrations"));
    assert_eq!(f.len(), 3);
    let versions: Vec<&str> = f.iter().map(|n| n.split('_').next().unwrap()).collect();
    assert!(versions[0] < versions[1] && versions[1] < versions[2], "{versions:?}");
    // Sorted by version, the names come out in creation order.
    assert!(f[0].ends_with("first") && f[1].ends_with("second") && f[2].ends_with("third"), "{f:?}");
}

#[test]
fn a_future_version_on_disk_is_never_overwritten_or_reordered() {
    let p = Project::bare("app");
    p.migration("29991231235959_from_the_future", "SELECT 1;", Some("SELECT 1;"));
    p.cargo_migrate(&["create", "next_one"]).ok();
    let f = folders(&p.root.join("migrations"));
    assert_eq!(f.len(), 2);
    assert!(f[1].ends_with("_next_one"), "new migration sorts last: {f:?}");
    assert_eq!(
        std::fs::read_to_string(p.root.join("migrations/29991231235959_from_the_future/up.sql")).unwrap(),
        "SELECT 1;"
    );
}

#[test]
fn host_project_templates_override_the_built_in_ones() {
    let p = Project::bare("app");
    p.write("migrations-template/up.sql", "-- ours: {{name}} at {{version}}\n");
    p.cargo_migrate(&["create", "custom_one"]).ok();
    let f = folders(&p.root.join("migrations"));
    let up = std::fs::read_to_string(p.root.join("migrations").join(&f[0]).join("up.sql")).unwrap();
    let version = f[0].split('_').next().unwrap();
    assert_eq!(up, format!("-- ours: custom_one at {version}\n"));
    // down.sql falls back to the built-in template.
    let down = std::fs::read_to_string(p.root.join("migrations").join(&f[0]).join("down.sql")).unwrap();
    assert!(down.contains("Revert"));
}

/// In a golang-migrate, Flyway or Prisma folder read in place, `create` writes
/// a diesel folder beside their files (with its down.sql), which `up` runs after them.
#[test]
fn create_beside_pairs_flyway_and_prisma_writes_a_diesel_folder() {
    for (name, dir, write) in [
        ("golang", "migrations", crate::fixtures::golang_migrate as fn(&Project, &str)),
        ("flyway", "db/migration", crate::fixtures::flyway),
        ("prisma", "prisma/migrations", crate::fixtures::prisma),
    ] {
        let db = Db::new(&format!("create_beside_{name}"));
        let mut p = Project::new(&db);
        p.env.push(("MIGRATE_DIR".into(), dir.into()));
        write(&p, dir);
        let json = p.cargo_migrate(&["create", "add_bio", "--format", "json"]).ok().json();
        let path = std::path::PathBuf::from(json["path"].as_str().unwrap());
        assert!(path.join("up.sql").is_file() && path.join("down.sql").is_file(), "{name}: {json}");
        std::fs::write(path.join("up.sql"), "ALTER TABLE accounts ADD COLUMN bio text;\n").unwrap();
        std::fs::write(path.join("down.sql"), "ALTER TABLE accounts DROP COLUMN bio;\n").unwrap();
        p.cargo_migrate(&["up"]).ok();
        assert_eq!(db.applied().len(), 5, "{name}");
        assert_eq!(
            db.query("SELECT count(*) FROM information_schema.columns WHERE column_name = 'bio'"),
            "1",
            "{name}"
        );
    }
}

#[test]
fn an_owner_column_the_table_pattern_already_has_is_refused() {
    let p = Project::bare("app");
    for column in ["id", "created_at", "updated_at"] {
        let r = p
            .cargo_migrate(&["create", "x", "--table", "notes", "--policy", "owner", column, "--format", "json"])
            .fails(2);
        assert_eq!(r.json()["error"]["kind"], "bad_policy", "{column}: {}", r.stdout);
    }
    assert!(folders(&p.root.join("migrations")).is_empty());
}
