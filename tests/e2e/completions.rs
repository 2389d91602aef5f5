//! `cargo migrate completions SHELL` and `cargo migrate man`: the scripts load
//! in their shells and complete `cargo migrate …`; the page renders. No
//! database, no project: they describe the command line only.

use std::path::Path;
use std::process::Command;

use crate::harness::*;

/// The binary's stdout for ARGS, run outside any cargo project.
fn generated(args: &[&str]) -> String {
    let p = Project::bare("outside");
    std::fs::remove_file(p.root.join("Cargo.toml")).unwrap();
    let r = p.cargo_migrate(args).ok();
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    r.stdout
}

fn installed(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The shell's words after `line` (split on spaces, the last one being
/// completed), as completed by the script in `file`.
fn bash_completes(file: &Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let script = format!(
        "source {file}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE={line:?}\nCOMP_POINT=${{#COMP_LINE}}\n\
         f=$(complete -p {cmd} | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')\n\
         \"$f\" {cmd} {cur:?} {prev:?}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        file = file.display(),
        words = words.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(" "),
        cword = words.len() - 1,
        cmd = words[0],
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = Command::new("bash").args(["--norc", "--noprofile", "-c", &script]).output().expect("run bash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_cargo_migrate_and_the_plugin_binary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cargo-migrate.bash");
    std::fs::write(&file, generated(&["completions", "bash"])).unwrap();
    // The words after `cargo migrate`, as after `cargo-migrate`.
    assert_eq!(bash_completes(&file, "cargo migrate sta"), ["status"]);
    assert_eq!(bash_completes(&file, "cargo-migrate sta"), ["status"]);
    assert!(bash_completes(&file, "cargo migrate up --dry").contains(&"--dry-run".to_string()));
    let shells = bash_completes(&file, "cargo migrate completions ");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(shells.contains(&shell.to_string()), "{shells:?}");
    }
}

#[test]
fn bash_hands_other_cargo_commands_to_cargos_own_completion() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cargo-migrate.bash");
    std::fs::write(&file, generated(&["completions", "bash"])).unwrap();
    // A stand-in for rustup's cargo completion, registered before ours.
    let script = format!(
        "_cargo() {{ COMPREPLY=(from-cargo); }}\ncomplete -F _cargo cargo\nsource {}\n\
         COMP_WORDS=(cargo bu)\nCOMP_CWORD=1\n_cargo_migrate_cargo cargo bu cargo\necho \"${{COMPREPLY[*]}}\"\n\
         complete -p cargo\n",
        file.display()
    );
    let out = Command::new("bash").args(["--norc", "--noprofile", "-c", &script]).output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("from-cargo"), "{out}");
    assert!(lines.next().unwrap_or_default().ends_with("-F _cargo_migrate_cargo cargo"), "{out}");
}

#[test]
fn zsh_and_fish_read_their_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        if !installed(shell) {
            eprintln!("skipped: {shell} is not installed here, so its script is only checked by the unit tests");
            continue;
        }
        let file = dir.path().join(format!("cargo-migrate.{shell}"));
        std::fs::write(&file, generated(&["completions", shell])).unwrap();
        let out = Command::new(shell).args(check).arg(&file).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        checked.push(shell);
    }
    eprintln!("checked: {checked:?}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let p = Project::bare("outside");
    let r = p.cargo_migrate(&["completions", "tcsh"]).fails(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn the_man_page_names_every_command_and_renders() {
    let page = generated(&["man"]);
    assert!(page.contains(".TH cargo-migrate 1"), "{}", &page[..200.min(page.len())]);
    let help = generated(&["--help"]);
    // Every command `--help` lists has its entry in the page.
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A description that wraps goes on indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 14 && commands.contains(&"completions"), "{commands:?}");
    for c in &commands {
        assert!(page.contains(&format!("cargo\\-migrate\\-{}(1)", c.replace('-', "\\-"))), "{c} is not in the page");
    }
    if !installed("man") {
        eprintln!("skipped: man is not installed here; the page's roff is checked above");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cargo-migrate.1");
    std::fs::write(&file, &page).unwrap();
    let out = Command::new("man").arg("-l").arg(&file).env("MANPAGER", "cat").env("MANWIDTH", "100").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("SUBCOMMANDS"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("cargo-migrate-up(1)"), "{text}");
}

#[test]
fn man_writes_a_page_per_command_into_a_folder() {
    let p = Project::bare("pages");
    p.cargo_migrate(&["man", "--out-dir", "man"]).ok();
    let pages = folders(&p.root.join("man"));
    for page in ["cargo-migrate.1", "cargo-migrate-up.1", "cargo-migrate-completions.1"] {
        assert!(pages.iter().any(|f| f == page), "{pages:?}");
    }
}
