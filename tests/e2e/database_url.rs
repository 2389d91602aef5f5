//! `cargo migrate database-url` (and the same URL through `status`): `.env`
//! reading, the one validation every command shares, `--write-env`.

use std::process::Stdio;

use insta::assert_snapshot;

use crate::harness::*;

/// A project whose `.env` holds the Supabase variables with `password_line`
/// as the SUPABASE_DB_PASSWORD line, on a role of this cluster.
fn supabase_env(project_ref: &str, password_line: &str) -> Project {
    let p = Project::bare("app");
    p.write(
        ".env",
        &format!(
            "VITE_SUPABASE_URL=https://{project_ref}.supabase.co\n{password_line}\nSUPABASE_POOLER_HOST=127.0.0.1:{}\n",
            cluster_port()
        ),
    );
    p
}

fn role(project_ref: &str, password: &str) {
    psql(
        &format!("{}/postgres", cluster().base_url),
        &format!("CREATE ROLE \"postgres.{project_ref}\" LOGIN PASSWORD '{password}' IN ROLE scram_users"),
    );
}

/// The password in the URL `database-url --show-password` prints.
fn shown_password(p: &Project) -> String {
    let j = p.cargo_migrate(&["database-url", "--show-password", "--format", "json"]).ok().json();
    let url = j["url"].as_str().unwrap().to_string();
    let userinfo = url.split('@').next().unwrap();
    userinfo.rsplit(':').next().unwrap().to_string()
}

#[test]
fn an_unquoted_dollar_is_named_by_its_variable_never_by_the_value() {
    for (line, name) in [
        ("SUPABASE_DB_PASSWORD=Qz7Xk$def9", "$def9"),
        ("SUPABASE_DB_PASSWORD=Qz7Xk${Undef9}", "$Undef9"),
        ("SUPABASE_DB_PASSWORD=\"Qz7Xk$def9-tail\"", "$def9"),
    ] {
        let p = supabase_env("dollarref", line);
        let r = p.cargo_migrate(&["database-url"]).ok();
        assert!(r.stderr.contains("SUPABASE_DB_PASSWORD") && r.stderr.contains(name), "{line}: {}", r.stderr);
        assert!(r.stderr.contains("'…'"), "{}", r.stderr);
        assert!(!r.all().contains("Qz7Xk"), "{line}: {}", r.all());
        // `--quiet` hides notes, not this.
        let r = p.cargo_migrate(&["status", "--quiet", "--format", "json"]).fails(1);
        assert!(r.stderr.contains(name), "{}", r.stderr);
        // The refused login is blamed on the expansion, not on percent-encoding.
        let j = r.json();
        assert_eq!(j["error"]["kind"], "connect");
        assert!(j["error"]["hint"].as_str().unwrap().contains("SUPABASE_DB_PASSWORD"), "{j}");
        assert!(!r.all().contains("Qz7Xk"), "{}", r.all());
    }
}

#[test]
fn a_dollar_kept_by_quoting_reaches_the_server_as_written() {
    let project_ref = format!("dollarok{}", run_id());
    role(&project_ref, "Qz7Xk$def9");
    for line in [
        "SUPABASE_DB_PASSWORD='Qz7Xk$def9'",
        "SUPABASE_DB_PASSWORD=Qz7Xk\\$def9",
        "SUPABASE_DB_PASSWORD=\"Qz7Xk\\$def9\"",
    ] {
        let p = supabase_env(&project_ref, line);
        assert_eq!(shown_password(&p), "Qz7Xk%24def9", "{line}");
        let r = p.cargo_migrate(&["status"]).ok();
        assert!(!r.stderr.contains("warning"), "{line}: {}", r.stderr);
        assert!(!r.all().contains("Qz7Xk"), "{}", r.all());
    }
}

#[test]
fn a_double_quoted_value_ending_in_a_variable_is_refused_with_the_fix() {
    // dotenvy (and so diesel_cli) cannot read this line at all.
    let p = supabase_env("dq", "SUPABASE_DB_PASSWORD=\"Qz7Xk$def9\"");
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).fails(1);
    let j = r.json();
    assert_eq!(j["error"]["kind"], "bad_env_file");
    let text = j["error"].to_string();
    assert!(text.contains("SUPABASE_DB_PASSWORD") && text.contains("$def9"), "{text}");
    assert!(!r.all().contains("Qz7Xk"), "{}", r.all());
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_key() {
    let p = Project::bare("app");
    p.write(".env", "\u{FEFF}DATABASE_URL=postgres://me:Bom5ecret9@127.0.0.1:1/db\n");
    let j = p.cargo_migrate(&["database-url", "--format", "json"]).ok().json();
    assert_eq!(j["url"], "postgres://me:****@127.0.0.1:1/db");
}

#[test]
fn database_url_refuses_what_status_refuses() {
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), "postgres://app:p@ss:w/rd9Xq@db.example.com/db".into())];
    for cmd in ["database-url", "status"] {
        let r = p.cargo_migrate(&[cmd, "--format", "json"]);
        assert_ne!(r.code, 0, "{cmd}");
        assert_eq!(r.json()["error"]["kind"], "bad_database_url", "{cmd}");
        assert!(!r.all().contains("rd9Xq"), "{}", r.all());
    }
}

#[test]
fn write_env_refuses_a_symlink_at_its_temporary_name() {
    let p = Project::bare("app");
    p.write(".env", "A=1\n");
    p.write("victim", "theirs\n");
    std::os::unix::fs::symlink(p.root.join("victim"), p.root.join(".env.cargo-migrate.tmp")).unwrap();
    let url = "postgres://me:Sym5ecret9@127.0.0.1:1/db";
    let r = p.cargo_migrate(&["database-url", "--write-env", "--database-url", url, "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "io");
    assert_eq!(std::fs::read_to_string(p.root.join("victim")).unwrap(), "theirs\n");
    assert_eq!(std::fs::read_to_string(p.root.join(".env")).unwrap(), "A=1\n");
    // What we did not create is not ours to remove.
    assert!(p.root.join(".env.cargo-migrate.tmp").symlink_metadata().unwrap().file_type().is_symlink());
    assert!(!r.all().contains("Sym5ecret9"), "{}", r.all());
}

#[test]
fn write_env_makes_a_private_file_and_keeps_crlf() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::bare("app");
    let url = "postgres://me:Crlf5ecret9@127.0.0.1:1/db";
    p.cargo_migrate(&["database-url", "--write-env", "--database-url", url]).ok();
    let meta = std::fs::metadata(p.root.join(".env")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(!p.root.join(".env.cargo-migrate.tmp").exists());

    p.write(".env", "# windows\r\nA=1\r\nDATABASE_URL=old\r\nB=2\r\n");
    p.cargo_migrate(&["database-url", "--write-env", "--database-url", url]).ok();
    let text = std::fs::read_to_string(p.root.join(".env")).unwrap();
    assert_eq!(text, format!("# windows\r\nA=1\r\nDATABASE_URL='{url}'\r\nB=2\r\n"));
}

/// A Management API on loopback: answers every request with `status` and
/// `body`, and keeps what it was asked (path and Authorization header).
struct Api {
    url: String,
    asked: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Api {
    fn start(status: u16, body: &'static str) -> Api {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut auth = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) =
                        line.strip_prefix("authorization: ").or_else(|| line.strip_prefix("Authorization: "))
                    {
                        auth = v.trim().to_string();
                    }
                }
                let path = first.split(' ').nth(1).unwrap_or("").to_string();
                log.lock().unwrap().push((path, auth));
                let reason = match status {
                    200 => "OK",
                    401 => "Unauthorized",
                    404 => "Not Found",
                    _ => "Too Many Requests",
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Api { url, asked }
    }
}

const TOKEN: &str = "sbp_0123456789abcdef0123456789abcdef01234567";

/// As the API reference documents it: one entry per database.
const POOLERS: &str = r#"[
  {"identifier":"replica1","database_type":"READ_REPLICA","is_using_scram_auth":true,"db_user":"postgres",
   "db_host":"aws-0-us-east-1.pooler.supabase.com","db_port":6543,"db_name":"postgres",
   "connection_string":"postgresql://postgres.apiref:[YOUR-PASSWORD]@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
   "default_pool_size":15,"max_client_conn":200,"pool_mode":"transaction"},
  {"identifier":"apiref","database_type":"PRIMARY","is_using_scram_auth":true,"db_user":"postgres",
   "db_host":"aws-1-eu-central-1.pooler.supabase.com","db_port":6543,"db_name":"postgres",
   "connection_string":"postgresql://postgres.apiref:[YOUR-PASSWORD]@aws-1-eu-central-1.pooler.supabase.com:6543/postgres",
   "default_pool_size":15,"max_client_conn":200,"pool_mode":"transaction"}
]"#;

fn api_project(api: &Api) -> Project {
    let mut p = Project::bare("app");
    p.write(".env", "VITE_SUPABASE_URL=https://apiref.supabase.co\nSUPABASE_DB_PASSWORD=Api5ecretPw\n");
    p.env = vec![("SUPABASE_ACCESS_TOKEN".into(), TOKEN.into()), ("SUPABASE_API_URL".into(), api.url.clone())];
    p
}

#[test]
fn the_management_api_names_the_primary_pooler_and_is_asked_once() {
    let api = Api::start(200, POOLERS);
    let p = api_project(&api);
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).ok();
    assert_eq!(
        r.json()["url"],
        "postgres://postgres.apiref:****@aws-1-eu-central-1.pooler.supabase.com:5432/postgres?sslmode=require"
    );
    assert!(!r.all().contains(TOKEN), "{}", r.all());
    let asked = api.asked.lock().unwrap().clone();
    assert_eq!(asked, vec![("/v1/projects/apiref/config/database/pooler".to_string(), format!("Bearer {TOKEN}"))]);
    // Kept under target/ and reused: no second request.
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).ok();
    assert!(r.json()["url"].as_str().unwrap().contains("@aws-1-eu-central-1.pooler.supabase.com:5432/"));
    assert_eq!(api.asked.lock().unwrap().len(), 1);
    assert!(!std::fs::read_to_string(p.root.join("target/cargo-migrate/pooler-apiref.json")).unwrap().contains(TOKEN));
}

#[test]
fn the_management_api_refusing_is_an_error_that_never_shows_the_token() {
    for status in [401, 404, 429] {
        let api = Api::start(status, r#"{"message":"no"}"#);
        let p = api_project(&api);
        let r = p.cargo_migrate(&["database-url", "--format", "json"]).fails(1);
        assert_eq!(r.json()["error"]["kind"], "supabase_api", "{status}");
        assert!(!r.all().contains(TOKEN) && !r.all().contains("0123456789abcdef"), "{status}: {}", r.all());
        let human = p.cargo_migrate(&["database-url"]).fails(1);
        assert!(!human.all().contains(TOKEN), "{}", human.all());
    }
    // Nobody listening.
    let mut p = api_project(&Api::start(200, POOLERS));
    p.env[1].1 = "http://127.0.0.1:1".into();
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "supabase_api");
    assert!(!r.all().contains(TOKEN), "{}", r.all());
}

#[test]
fn the_pooler_url_of_supabase_link_comes_before_the_api_and_the_region() {
    let api = Api::start(200, POOLERS);
    let mut p = api_project(&api);
    p.env.push(("SUPABASE_REGION".into(), "us-east-1".into()));
    p.write(
        "supabase/.temp/pooler-url",
        "postgresql://postgres.apiref:[YOUR-PASSWORD]@aws-0-ap-southeast-1.pooler.supabase.com:6543/postgres\n",
    );
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).ok();
    assert!(
        r.json()["url"].as_str().unwrap().contains("@aws-0-ap-southeast-1.pooler.supabase.com:5432/"),
        "{}",
        r.stdout
    );
    assert!(api.asked.lock().unwrap().is_empty());
}

#[test]
fn a_region_is_checked_and_nothing_at_all_is_not_the_direct_host() {
    let p = Project::bare("app");
    p.write(
        ".env",
        "VITE_SUPABASE_URL=https://regionref.supabase.co\nSUPABASE_DB_PASSWORD=Reg5ecretPw\nSUPABASE_REGION='eu west/1@x'\n",
    );
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "supabase_config");
    p.write(".env", "VITE_SUPABASE_URL=https://regionref.supabase.co\nSUPABASE_DB_PASSWORD=Reg5ecretPw\n");
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).fails(1);
    assert_eq!(r.json()["error"]["kind"], "supabase_config");
    p.write(
        ".env",
        "VITE_SUPABASE_URL=https://regionref.supabase.co\nSUPABASE_DB_PASSWORD=Reg5ecretPw\nSUPABASE_REGION=eu-west-1\n",
    );
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).ok();
    assert!(r.json()["url"].as_str().unwrap().contains("@aws-0-eu-west-1.pooler.supabase.com:5432/"), "{}", r.stdout);
    assert!(r.stderr.contains("aws-1-eu-west-1"), "{}", r.stderr);
}

#[test]
fn masking_touches_only_the_password() {
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), "postgres://postgres:postgres@127.0.0.1:54322/postgres".into())];
    let r = p.cargo_migrate(&["database-url"]).ok();
    assert!(r.stdout.contains("DATABASE_URL=postgres://postgres:****@127.0.0.1:54322/postgres"), "{}", r.stdout);
    let j = p.cargo_migrate(&["database-url", "--format", "json"]).ok().json();
    assert_eq!(j["url"], "postgres://postgres:****@127.0.0.1:54322/postgres");
    // Key/value strings, whatever the quoting.
    p.env = vec![("DATABASE_URL".into(), "host=127.0.0.1 port=1 password='s3cr et\\'Pw9' dbname=x".into())];
    let r = p.cargo_migrate(&["database-url"]).ok();
    assert!(!r.stdout.contains("s3cr") && !r.stdout.contains("Pw9"), "{}", r.stdout);
    assert!(r.stdout.contains("host=127.0.0.1") && r.stdout.contains("dbname=x"), "{}", r.stdout);
}

#[test]
fn write_env_round_trips_every_special_character() {
    let p = Project::bare("app");
    let password = "pa$word'\"#\\ x";
    let url = format!("postgres://me:{password}@127.0.0.1:1/db");
    let r = p.cargo_migrate(&["database-url", "--write-env", "--database-url", &url]).ok();
    assert!(!r.all().contains("pa$word"), "{}", r.all());
    let shown = p.cargo_migrate_json(&["database-url", "--show-password"]).ok().json();
    assert_eq!(shown["url"], url.as_str(), "{shown}");
    let origin = shown["origin"].as_str().unwrap_or_default();
    assert!(origin.starts_with("DATABASE_URL in ") && origin.ends_with(".env"), "read back from .env: {shown}");
}

#[test]
fn a_malformed_url_never_quotes_the_password() {
    let mut p = Project::bare("app");
    for url in
        ["postgres://me:TOP/SECRET99@host/db", "postgres://me:p@ss@host:5432/db", "postgres://me:a#b?SECRET99@h/db"]
    {
        p.env = vec![("DATABASE_URL".into(), url.into())];
        for r in [p.cargo_migrate(&["status"]), p.cargo_migrate_json(&["status"])] {
            assert_ne!(r.code, 0, "{url}");
            for leak in ["SECRET99", "TOP", "ss@host"] {
                assert!(!r.all().contains(leak), "{url}: {}", r.all());
            }
        }
        let kind = p.cargo_migrate_json(&["status"]).fails(1).kind();
        assert!(["bad_database_url", "connect"].contains(&kind.as_str()), "{url}: {kind}");
    }
}

#[test]
fn an_api_key_in_a_hand_written_url_is_refused_before_connecting() {
    let mut p = Project::bare("app");
    let key = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJl";
    // Nothing listens on port 1: were it sent, the error would be a connection error.
    p.env = vec![("DATABASE_URL".into(), format!("postgres://postgres:{key}@127.0.0.1:1/postgres"))];
    let r = p.cargo_migrate_json(&["status"]).fails_with(1, "api_key_as_password");
    assert!(!r.all().contains(key), "{}", r.all());
}

#[test]
fn a_blank_database_url_is_an_error_not_the_local_database() {
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), " ".into())];
    p.cargo_migrate_json(&["status"]).fails_with(1, "empty_database_url");
    assert!(!p.root.join("target/cargo-migrate").exists(), "no local database was started");
}

#[test]
fn in_ci_nothing_configured_is_an_error_not_the_local_database() {
    let mut p = Project::bare("app");
    p.table_migration("20250101000000", "a");
    p.env = vec![("CI".into(), "true".into())];
    p.cargo_migrate_json(&["up"]).fails_with(1, "connect");
    assert!(!p.root.join("target/cargo-migrate").exists(), "no local database was made");
    p.env = Vec::new();
    p.cargo_migrate_json(&["status", "--no-local"]).fails_with(1, "connect");
    assert!(!p.root.join("target/cargo-migrate").exists(), "no local database was made");
    // Said out loud whenever it is used, not only when it starts.
    p.env = vec![("CI".into(), "true".into())];
    let r = p.cargo_migrate(&["up", "--local"]).ok();
    assert!(r.stderr.contains("using the local development database"), "{}", r.stderr);
    let r = p.cargo_migrate(&["status", "--local"]).ok();
    assert!(r.stderr.contains("using the local development database"), "{}", r.stderr);
    assert!(p.root.join("target/cargo-migrate").exists());
    // The environment twins take 1/0 as well as true/false.
    p.env = vec![("CI".into(), "true".into()), ("MIGRATE_LOCAL".into(), "1".into())];
    p.cargo_migrate(&["status"]).ok();
    p.env = vec![("MIGRATE_NO_LOCAL".into(), "1".into())];
    p.cargo_migrate_json(&["status"]).fails_with(1, "connect");
}

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

#[test]
fn database_url_human_and_json() {
    let mut p = Project::bare("app");
    p.write(
        ".env",
        "VITE_SUPABASE_URL=https://abcdefghijklmnopqrst.supabase.co\nSUPABASE_DB_PASSWORD='p@ss:w/rd Sup3r'\n\
         SUPABASE_REGION=eu-west-1\n",
    );
    p.env = Vec::new();
    assert_snapshot!("database_url_human", p.redact(&p.cargo_migrate(&["database-url"]).ok().all(), &[]));
    let r = p.cargo_migrate(&["database-url", "--format", "json"]).ok();
    assert_snapshot!("database_url_json", p.redact_json(&r.json(), &[]));
}

const NASTY: &str = "p@ss:w/rd#?%&+ é";

fn supabase_project(project_ref: &str, password: &str) -> Project {
    let p = Project::bare("app");
    p.write(
        ".env",
        &format!(
            "# the seed's .env\nVITE_SUPABASE_URL=https://{project_ref}.supabase.co\nVITE_SUPABASE_ANON_KEY=eyJhbGciOiJIUzI1NiJ9.e30.x\n\
             SUPABASE_DB_PASSWORD=\"{password}\"\nSUPABASE_POOLER_HOST=127.0.0.1:{}\n",
            cluster_port()
        ),
    );
    p
}

#[test]
fn the_url_built_from_supabase_variables_really_authenticates() {
    // Roles are cluster-wide: a name of this run's own.
    let project_ref = format!("authref{}", run_id());
    psql(
        &format!("{}/postgres", cluster().base_url),
        &format!("CREATE ROLE \"postgres.{project_ref}\" LOGIN PASSWORD '{NASTY}' IN ROLE scram_users"),
    );
    let p = supabase_project(&project_ref, NASTY);
    let r = p.cargo_migrate(&["status"]).ok();
    assert!(r.stdout.contains(&format!("postgres.{project_ref}:****@127.0.0.1")), "{}", r.stdout);
    assert!(!r.all().contains(NASTY) && !r.all().contains("p%40ss"), "{}", r.all());

    // The seed's setup-database-url.js: where each part came from, password masked.
    for r in [p.cargo_migrate(&["database-url"]).ok(), p.cargo_migrate_json(&["database-url"]).ok()] {
        assert!(!r.all().contains("p%40ss") && !r.all().contains(NASTY), "{}", r.all());
    }
    let j = p.cargo_migrate_json(&["database-url"]).ok().json();
    assert!(j["url"].as_str().unwrap().ends_with("?sslmode=require"), "{j}");
    assert_eq!((&j["origin"], &j["parts"][0]["part"]), (&"Supabase variables".into(), &"project ref".into()), "{j}");
    assert!(j["parts"][0]["from"].as_str().unwrap().starts_with("VITE_SUPABASE_URL in "), "{j}");
    let j = p.cargo_migrate_json(&["database-url", "--show-password"]).ok().json();
    let encoded = "p%40ss%3Aw%2Frd%23%3F%25%26%2B%20%C3%A9";
    assert_eq!(
        j["url"],
        format!("postgres://postgres.{project_ref}:{encoded}@127.0.0.1:{}/postgres?sslmode=require", cluster_port())
    );

    // --write-env keeps every other line; DATABASE_URL then wins.
    p.cargo_migrate(&["database-url", "--write-env"]).ok();
    let env = std::fs::read_to_string(p.root.join(".env")).unwrap();
    assert!(env.starts_with("# the seed's .env\nVITE_SUPABASE_URL="), "{env}");
    assert!(
        env.contains("VITE_SUPABASE_ANON_KEY=eyJ")
            && env.contains(&format!("\nDATABASE_URL='postgres://postgres.{project_ref}:p%40ss")),
        "{env}"
    );
    let j = p.cargo_migrate_json(&["database-url"]).ok().json();
    assert!(j["origin"].as_str().unwrap().starts_with("DATABASE_URL in "), "{j}");
    p.cargo_migrate(&["status"]).ok();
}

#[test]
fn a_wrong_password_names_host_port_and_user_but_not_the_password() {
    let project_ref = format!("wrongpw{}", run_id());
    psql(
        &format!("{}/postgres", cluster().base_url),
        &format!("CREATE ROLE \"postgres.{project_ref}\" LOGIN PASSWORD 'the-right-one' IN ROLE scram_users"),
    );
    let p = supabase_project(&project_ref, "Wr0ng-Passw0rd!");
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "connect");
    let target = format!("postgres.{project_ref}@127.0.0.1:{}/postgres", cluster_port());
    assert!(r.message().contains(&target), "{}", r.stdout);
    assert!(r.hint().contains("not an API key"), "{}", r.stdout);
    for r in [r, p.cargo_migrate(&["up"]).fails(1)] {
        assert!(!r.all().contains("Wr0ng-Passw0rd!"), "{}", r.all());
    }
}

#[test]
fn an_api_key_as_password_is_refused_before_connecting() {
    for key in ["eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln", "sb_secret_0123456789abcdef"] {
        let p = supabase_project("apikeyref", key);
        let r = p.cargo_migrate_json(&["status"]).fails_with(1, "api_key_as_password");
        assert!(r.hint().contains("Project Settings"), "where the password is: {}", r.stdout);
        for r in [r, p.cargo_migrate(&["status"]).fails(1)] {
            assert!(!r.all().contains(key), "{}", r.all());
        }
    }
}

#[test]
fn the_transaction_pooler_is_refused_with_the_session_pooler_url() {
    let mut p = Project::bare("app");
    p.env = vec![(
        "DATABASE_URL".into(),
        "postgres://postgres.ref:pw123@aws-0-eu-west-1.pooler.supabase.com:6543/postgres".into(),
    )];
    let r = p.cargo_migrate_json(&["up"]).fails_with(1, "transaction_pooler");
    assert!(r.hint().contains("pooler.supabase.com:5432/postgres"), "the session pooler's URL: {}", r.stdout);
}

#[test]
fn a_server_that_never_answers_times_out_with_a_hint() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut p = Project::bare("app");
    p.env = vec![("DATABASE_URL".into(), format!("postgres://someone:pw123@127.0.0.1:{port}/db"))];
    let child = p
        .command(&p.root, &["status", "--connect-timeout", "2", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let r = to_run(child.wait_with_output().unwrap()).fails_with(1, "connect");
    drop(listener);
    assert!(r.message().contains(&format!("someone@127.0.0.1:{port}/db")), "{}", r.stdout);
    assert!(r.hint().contains("--connect-timeout"), "{}", r.stdout);
}
