use insta::assert_snapshot;

use crate::harness::*;

/// cargo finds the subcommand on PATH and runs `cargo-migrate migrate ARGS`;
/// the binary also answers when run directly. (What `--help` lists is pinned
/// by the help snapshots.)
#[test]
fn help_and_version_work_through_cargo_and_directly() {
    let p = Project::bare("app");
    let v = p.through_cargo(&["--version"]).ok();
    assert_eq!(v.stdout.trim(), format!("cargo-migrate {}", env!("CARGO_PKG_VERSION")), "{}", v.stdout);
    let through_cargo = p.through_cargo(&["status", "--help"]).ok();
    let direct = p.cargo_migrate(&["status", "--help"]).ok();
    assert_eq!(through_cargo.stdout, direct.stdout);
    let v = p.cargo_migrate(&["--version"]).ok();
    assert_eq!(v.stdout.trim(), format!("cargo-migrate {}", env!("CARGO_PKG_VERSION")), "{}", v.stdout);
    // Nothing but cargo strips the `migrate` it adds.
    let r = p.through_cargo(&["frobnicate"]).fails(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::bare("app");
    // clap's own error names the flag it could not read.
    let r = p.cargo_migrate(&["up", "--count", "x"]).fails(2);
    assert!(r.stderr.contains("--count"), "{}", r.stderr);
    p.cargo_migrate(&["down", "1", "--all"]).fails(2);
    p.cargo_migrate(&["frobnicate"]).fails(2);
}

#[test]
fn errors_are_not_coloured_when_stderr_is_not_a_terminal() {
    let p = Project::bare("app");
    let r = p.cargo_migrate(&["create", "Bad-Name"]).fails(2);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    let r = p.cargo_migrate(&["create", "Bad-Name", "--color", "always"]).fails(2);
    assert!(r.stderr.contains('\u{1b}'), "--color always still colours: {:?}", r.stderr);
}

#[test]
fn flags_a_command_does_not_use_are_refused() {
    let p = Project::bare("app");
    for args in [
        &["create", "x_y", "--lock-timeout", "5"][..],
        &["create", "x_y", "--pg-bin", "/nope"],
        &["status", "--lock-timeout", "5"],
        &["local", "status", "--database-url", "postgres://x"],
    ] {
        let r = p.cargo_migrate(args).fails(2);
        assert!(r.stderr.contains("unexpected argument"), "{args:?}: {}", r.stderr);
    }
    assert!(folders(&p.root.join("migrations")).is_empty());
}

#[test]
fn a_deploy_image_needs_neither_cargo_nor_a_cargo_project() {
    let db = Db::new("no_cargo");
    let tmp = tempfile::Builder::new().prefix("cargo-migrate-deploy-").tempdir().unwrap();
    let dir = tmp.path();
    let m = dir.join("migrations/20250101000000_create_deployed");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "CREATE TABLE deployed (id int);\n").unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE deployed;\n").unwrap();
    // Only the binary and the system's folders: no cargo on PATH, no Cargo.toml anywhere up.
    let run = |args: &[&str], extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
        cmd.args(args).current_dir(dir).env_clear().env("PATH", "/usr/bin:/bin");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        to_run(cmd.output().unwrap())
    };
    let r = run(&["up", "--dir", "migrations", "--database-url", &db.url], &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(db.table_exists("deployed"));
    let r = run(&["status", "--exit-code"], &[("MIGRATE_DIR", "migrations"), ("DATABASE_URL", &db.url)]);
    assert_eq!(r.code, 0, "{}", r.all());
    // Without the folder, it says how to give it.
    let r = run(&["status", "--database-url", &db.url, "--format", "json"], &[]);
    assert_eq!((r.code, r.kind().as_str()), (1, "no_cargo"), "{}", r.all());
    // The way out is named: the flag that gives the folder.
    assert!(r.json()["error"]["hint"].as_str().unwrap_or_default().contains("--dir"), "{}", r.stdout);
}

const COMMANDS: &[&str] = &[
    "up",
    "down",
    "redo",
    "status",
    "repair",
    "verify",
    "diff",
    "lint",
    "create",
    "import",
    "adopt",
    "baseline",
    "seed",
    "database-url",
    "local",
    "completions",
    "man",
    "check",
    "dump",
    "squash",
];

#[test]
fn help_of_every_command() {
    let p = Project::bare("app");
    assert_snapshot!("help", p.redact(&p.cargo_migrate(&["--help"]).ok().stdout, &[]));
    for cmd in COMMANDS {
        let help = p.cargo_migrate(&[cmd, "--help"]).ok().stdout;
        assert_snapshot!(format!("help_{}", cmd.replace('-', "_")), p.redact(&help, &[]));
    }
}
