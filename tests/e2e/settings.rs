use crate::harness::*;

#[test]
fn env_file_at_the_workspace_root_is_loaded() {
    let db = Db::new("envfile");
    let p = Project::bare("app");
    p.write(".env", &format!("# comment\nDATABASE_URL={}\nOTHER=x\n", db.url));
    p.table_migration("20250101000000", "a");
    p.write("src/sub/x.rs", "");
    p.cargo_migrate_in(&p.root.join("src/sub"), &["up"]).ok();
    assert!(db.table_exists("a"));
}

#[test]
fn real_environment_wins_over_env_file_and_flag_wins_over_both() {
    let good = Db::new("env_good");
    let bogus = "postgres://postgres@127.0.0.1:1/nowhere";
    let mut p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    p.write(".env", &format!("DATABASE_URL={bogus}\n"));
    p.env = vec![("DATABASE_URL".into(), good.url.clone())];
    p.cargo_migrate(&["status"]).ok();

    p.env = vec![("DATABASE_URL".into(), bogus.into())];
    p.write(".env", &format!("DATABASE_URL={}\n", good.url));
    let r = p.cargo_migrate_json(&["status"]).fails_with(1, "connect");
    assert!(r.message().contains(":1/nowhere"), "the real environment's URL: {}", r.stdout);

    p.cargo_migrate(&["up", "--database-url", &good.url]).ok();
    assert!(good.table_exists("a"));
}

#[test]
fn env_file_flag() {
    let db = Db::new("env_flag");
    let p = Project::bare("app");
    p.write("config/dev.env", &format!("DATABASE_URL={}\n", db.url));
    p.table_migration("20250101000000", "a");
    p.cargo_migrate(&["up", "--env-file", "config/dev.env"]).ok();
    assert!(db.table_exists("a"));
    let r = p.cargo_migrate_json(&["up", "--env-file", "config/missing.env"]).fails_with(2, "no_env_file");
    assert!(r.message().contains("config/missing.env"), "{}", r.stdout);
}

#[test]
fn half_set_supabase_variables_say_what_is_missing() {
    let p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    p.write(".env", "VITE_SUPABASE_URL=https://abcdefghij.supabase.co\n");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "supabase_config");
    assert!(r.message().contains("SUPABASE_DB_PASSWORD"), "names what is missing: {}", r.stdout);
    // `create` needs no database, so it still works.
    p.cargo_migrate(&["create", "still_works"]).ok();
}
