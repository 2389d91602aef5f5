//! `cargo migrate database-url` (and the same URL through `status`): `.env`
//! reading, the one validation every command shares, `--write-env`.

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
