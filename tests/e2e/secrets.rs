use crate::harness::*;

const PASSWORD: &str = "Sup3r-S3cret_pw";

#[test]
fn the_password_never_appears_in_output() {
    let db = Db::new("secrets");
    let mut p = Project::new(&db);
    // Trust auth ignores the password, so this URL works and carries one.
    let url = db.url.replace("postgres@", &format!("postgres:{PASSWORD}@"));
    p.env = vec![("DATABASE_URL".into(), url.clone())];
    p.table_migration("20250101000000", "a");
    p.migration("20250102000000_bad", &format!("SELECT '{PASSWORD}'::int;"), Some("SELECT 1;"));
    let runs = vec![
        p.cargo_migrate(&["status"]).ok(),
        p.cargo_migrate(&["status", "--format", "json"]).ok(),
        p.cargo_migrate(&["up"]).fails(1),
        p.cargo_migrate(&["up", "--format", "json"]).fails(1),
    ];
    for r in &runs {
        assert!(!r.all().contains(PASSWORD), "password leaked:\n{}", r.all());
    }
    assert!(runs[0].stdout.contains("postgres:****@"), "{}", runs[0].stdout);

    // A connection error (nothing listens on port 1) with a percent-encoded password.
    let encoded = "p%40ss%3Aw%2Frd%23secret";
    p.env = vec![("DATABASE_URL".into(), format!("postgres://postgres:{encoded}@127.0.0.1:1/x"))];
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "connect");
    assert!(r.message().contains("postgres@127.0.0.1:1/x"), "{}", r.stdout);
    for leak in [encoded, "p@ss:w/rd#secret"] {
        assert!(!r.all().contains(leak), "{}", r.all());
        assert!(!p.cargo_migrate(&["up"]).all().contains(leak));
    }
}
