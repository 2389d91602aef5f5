use std::time::Duration;

use insta::assert_snapshot;

use crate::harness::*;
use crate::support::ALICE;

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

#[test]
fn a_non_utf8_folder_never_panics() {
    use std::os::unix::ffi::OsStrExt;
    let p = Project::bare("app");
    let dir = p.root.join(std::ffi::OsStr::from_bytes(b"migr\xffations"));
    let r = p.cargo_migrate(&["create", "add_x", "--format", "json", "--dir", dir.to_str().unwrap_or("")]);
    // clap refuses a non-UTF-8 value given as a string; pass it through the environment instead.
    assert_ne!(r.code, 101, "{}", r.all());
    let mut cmd = p.command(&p.root, &["create", "add_x", "--format", "json"]);
    cmd.env("MIGRATE_DIR", dir.as_os_str());
    let r = to_run(cmd.output().unwrap());
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.json()["path"].as_str().unwrap().contains('\u{fffd}'), "{}", r.stdout);
}

#[test]
fn simultaneous_creates_get_distinct_versions() {
    let p = Project::bare("app");
    let names = ["alpha", "beta", "gamma", "delta"];
    let running: Vec<Running> = names.iter().map(|n| p.spawn(&["create", n])).collect();
    for r in running {
        r.finish(Duration::from_secs(120)).ok();
    }
    let f = folders(&p.root.join("migrations"));
    assert_eq!(f.len(), 4, "{f:?}");
    let mut versions: Vec<&str> = f.iter().map(|n| n.split('_').next().unwrap()).collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), 4, "{f:?}");
    for n in names {
        assert!(f.iter().any(|x| x.ends_with(&format!("_{n}"))), "{n}: {f:?}");
        let dir = f.iter().find(|x| x.ends_with(&format!("_{n}"))).unwrap();
        assert!(p.root.join("migrations").join(dir).join("up.sql").is_file());
    }
}

#[test]
fn create_table_refuses_reserved_words_and_long_names() {
    let p = Project::bare("app");
    p.cargo_migrate_json(&["create", "x", "--table", "user"]).fails_with(2, "bad_identifier");
    p.cargo_migrate_json(&["create", "x", "--table", "notes", "--policy", "owner", "user"])
        .fails_with(2, "bad_identifier");
    let long = "t".repeat(60);
    p.cargo_migrate_json(&["create", "x", "--table", &long, "--policy", "owner", "owner_id"])
        .fails_with(2, "bad_identifier");
    assert!(folders(&p.root.join("migrations")).is_empty());
}

#[test]
fn create_in_a_supabase_folder_writes_one_file() {
    let db = Db::new("supabase_create");
    let p = Project::new(&db);
    p.write("supabase/migrations/20240101000000_first.sql", "create table first_t ();\n");
    let r = p.cargo_migrate(&["create", "add_things"]).ok();
    let made: Vec<String> = std::fs::read_dir(p.root.join("supabase/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_add_things.sql"))
        .collect();
    assert_eq!(made.len(), 1, "{}", r.stdout);
    assert!(!p.root.join("migrations").exists());
    // The new file is still the template: up refuses it, and says where.
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "empty_up");
    assert!(r.message().contains(&made[0]), "{}", r.stdout);
    p.write(&format!("supabase/migrations/{}", made[0]), "create table things (id int);\n");
    p.cargo_migrate(&["up"]).ok();
    assert!(db.table_exists("things"));
}

/// `create` beside dbmate files writes a dbmate file whose comments fit it:
/// not the Supabase head that calls the file up-only.
#[test]
fn create_beside_dbmate_files_writes_a_file_with_both_sections() {
    let p = Project::bare("dbmate_create");
    p.write("migrations/20240101000000_a.sql", "-- migrate:up\ncreate table a ();\n-- migrate:down\ndrop table a;\n");
    p.cargo_migrate(&["create", "add_b"]).ok();
    let made: Vec<String> = std::fs::read_dir(p.root.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_add_b.sql"))
        .collect();
    let text = std::fs::read_to_string(p.root.join("migrations").join(&made[0])).unwrap();
    assert!(text.starts_with("-- migrate:up\n") && text.contains("\n-- migrate:down\n"), "{text}");
    assert!(!text.contains("up-only") && !text.contains("up.sql"), "{text}");
}

#[test]
fn create_human_and_json() {
    let p = Project::bare("app");
    let human = p.cargo_migrate(&["create", "add_meetings"]).ok();
    let json = p.cargo_migrate(&["create", "add_rooms", "--format", "json"]).ok();
    let created = folders(&p.root.join("migrations"));
    let versions: Vec<&str> = created.iter().map(|f| f.split('_').next().unwrap()).collect();
    assert_eq!(versions.len(), 2, "{created:?}");
    let clock = [(versions[0], "[VERSION1]"), (versions[1], "[VERSION2]")];
    assert_snapshot!("create_human", p.redact(&human.all(), &clock));
    assert_snapshot!("create_json", format!("{}\n--- stderr\n{}", p.redact_json(&json.json(), &clock), json.stderr));
}

/// The schema without our bookkeeping, as pg_dump prints it.
fn schema(url: &str) -> String {
    let out = std::process::Command::new(cluster().bin.join("pg_dump"))
        .args([
            "--schema-only",
            "--no-owner",
            "-N",
            "cargo_migrate",
            "-T",
            "public.__diesel_schema_migrations",
            "-d",
            url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("--") && !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn create_table_writes_the_seed_pattern_and_its_exact_reverse() {
    let p = Project::bare("app");
    p.cargo_migrate(&["create", "add_meetings", "--table", "meetings", "--policy", "owner", "owner_id", "--realtime"])
        .ok();
    p.cargo_migrate(&["create", "add_rooms", "--table", "rooms", "--policy", "read-all"]).ok();
    let url = p.cargo_migrate(&["local", "url", "--show-password"]).ok().stdout.trim().to_string();
    let before = schema(&url);
    p.cargo_migrate(&["up"]).ok();
    let after_up = schema(&url);
    assert!(after_up.contains("ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.meetings"), "{after_up}");
    assert!(after_up.contains("ALTER TABLE public.meetings ENABLE ROW LEVEL SECURITY"), "{after_up}");
    assert!(after_up.contains("ALTER TABLE public.rooms ENABLE ROW LEVEL SECURITY"), "{after_up}");
    assert!(after_up.contains("CREATE TRIGGER meetings_set_updated_at"), "{after_up}");
    assert_eq!(psql(&url, "SELECT count(*) FROM pg_policies WHERE tablename IN ('meetings', 'rooms')"), "2");
    // The updated_at trigger and the owner default work.
    let claims = format!("{{\"sub\":\"{ALICE}\",\"role\":\"authenticated\"}}");
    psql(&url, &format!("INSERT INTO auth.users (id) VALUES ('{ALICE}')"));
    let owner = try_psql_session(
        &url,
        &[
            &format!("SET request.jwt.claims = '{claims}'"),
            "SET ROLE authenticated",
            "INSERT INTO meetings DEFAULT VALUES",
            "UPDATE meetings SET created_at = created_at - interval '1 day'",
            "SELECT owner_id::text || '|' || (updated_at > created_at) FROM meetings",
        ],
    )
    .unwrap();
    assert_eq!(owner, format!("{ALICE}|true"));
    psql(&url, "DELETE FROM meetings");

    p.cargo_migrate(&["down", "--all"]).ok();
    assert_eq!(schema(&url), before, "down.sql is the exact reverse");
    p.cargo_migrate(&["up"]).ok();
    assert_eq!(schema(&url), after_up, "up again gives the same schema");
}

#[test]
fn create_table_refuses_bad_input_and_writes_nothing() {
    let p = Project::bare("app");
    p.cargo_migrate_json(&["create", "add_x", "--table", "Bad-Name"]).fails_with(2, "bad_identifier");
    p.cargo_migrate_json(&["create", "add_x", "--table", "x", "--policy", "everyone"]).fails_with(2, "bad_policy");
    p.cargo_migrate(&["create", "add_x", "--table", "x", "--policy", "read-all", "--no-rls"]).fails(2);
    p.cargo_migrate(&["create", "add_x", "--realtime"]).fails(2);
    assert!(folders(&p.root.join("migrations")).is_empty());
    // --no-rls must be explicit, and then RLS is off.
    p.cargo_migrate(&["create", "add_public_stats", "--table", "public_stats", "--no-rls"]).ok();
    let f = folders(&p.root.join("migrations"));
    let up = std::fs::read_to_string(p.root.join("migrations").join(&f[0]).join("up.sql")).unwrap();
    assert!(!up.contains("ENABLE ROW LEVEL SECURITY"), "{up}");
}
