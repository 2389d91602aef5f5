use crate::harness::*;

#[test]
fn help_and_version_work_through_cargo_and_directly() {
    let p = Project::bare("app");
    let help = p.cargo_migrate(&["--help"]).ok();
    for cmd in ["up", "down", "redo", "status", "create"] {
        assert!(help.stdout.contains(cmd), "--help lacks {cmd}:\n{}", help.stdout);
    }
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
    assert!(String::from_utf8_lossy(&direct.stdout).contains("--exit-code"));
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::bare("app");
    let r = p.cargo_migrate(&["up", "--count", "x"]).fails(2);
    assert!(r.stderr.contains("--count"), "{}", r.stderr);
    p.cargo_migrate(&["down", "1", "--all"]).fails(2);
    p.cargo_migrate(&["frobnicate"]).fails(2);
}
