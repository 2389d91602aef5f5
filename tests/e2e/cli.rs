use crate::harness::*;

#[test]
fn help_and_version_work_through_cargo_and_directly() {
    let p = Project::bare("app");
    let help = p.cargo_migrate(&["--help"]).ok();
    for cmd in ["up", "down", "redo", "status", "repair", "verify", "lint", "create", "database-url", "local"] {
        assert!(lists_subcommand(&help.stdout, cmd), "--help lacks {cmd}:\n{}", help.stdout);
    }
    assert!(!lists_subcommand(&help.stdout, "frobnicate"));
    let up = p.cargo_migrate(&["up", "--help"]).ok();
    assert!(up.stdout.contains("--allow-out-of-order"));
    let down = p.cargo_migrate(&["down", "--help"]).ok();
    assert!(down.stdout.contains("[VERSION]"));
    let v = p.cargo_migrate(&["--version"]).ok();
    assert!(v.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", v.stdout);

    let direct = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate")).arg("--version").output().unwrap();
    assert!(direct.status.success());
    assert!(String::from_utf8_lossy(&direct.stdout).contains(env!("CARGO_PKG_VERSION")));
    let direct =
        std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate")).args(["status", "--help"]).output().unwrap();
    assert!(direct.status.success());
    assert!(String::from_utf8_lossy(&direct.stdout).contains("--exit-code"));
}

/// Does `help` list `name` as a subcommand: a line of its own, indented, with
/// the name as its first word? (A bare `contains` would find "up" in "Supabase".)
fn lists_subcommand(help: &str, name: &str) -> bool {
    help.lines().any(|line| {
        let rest = line.trim_start();
        rest.len() < line.len() && rest.strip_prefix(name).is_some_and(|after| after.starts_with(char::is_whitespace))
    })
}

#[test]
fn the_subcommand_check_matches_listed_lines_only() {
    let help = "Chronological PostgreSQL / Supabase migrations\n\nCommands:\n  up            Apply\n  upgrade  x\nstatus  not indented\n";
    assert!(lists_subcommand(help, "up"));
    assert!(
        !lists_subcommand(help, "upgrade_x") && !lists_subcommand(help, "status") && !lists_subcommand(help, "grade")
    );
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::bare("app");
    let r = p.cargo_migrate(&["up", "--count", "x"]).fails(2);
    assert!(r.stderr.contains("--count"), "{}", r.stderr);
    p.cargo_migrate(&["down", "1", "--all"]).fails(2);
    p.cargo_migrate(&["frobnicate"]).fails(2);
}
