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
