//! `cargo migrate completions SHELL`: the completion script, generated from
//! the clap definition (clap_complete), fitted to how a cargo plugin is typed.
//!
//! Users type `cargo migrate up`, so the word being completed belongs to
//! `cargo`, whose completion is someone else's. Each shell is met where it is:
//! - zsh: cargo's own `_cargo` calls `_cargo-<plugin>` for a plugin's words,
//!   so the script defines `_cargo-migrate` (and completes `cargo-migrate` too);
//! - bash: the script completes `cargo-migrate`, and for `cargo` registers a
//!   function that hands `cargo migrate …` to it and everything else to the
//!   completion cargo had before (loaded first, as bash-completion would);
//! - fish: completions add up, so the script adds `migrate` and its words to
//!   `cargo`'s without touching the rest;
//! - PowerShell, elvish: one completer per command and none for cargo ships,
//!   so the script completes `cargo migrate …` (and nothing else of cargo).

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell as Generator;

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::error::{exit, Error, Kind, Result};

pub fn run(args: &CompletionsArgs) -> Result<u8> {
    let script = script(args.shell);
    let mut out = std::io::stdout().lock();
    out.write_all(script.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(Kind::Io, format!("could not write the completion script: {e}")))?;
    Ok(exit::OK)
}

/// The whole script for `shell`.
pub fn script(shell: Shell) -> String {
    match shell {
        Shell::Bash => format!("{}\n{BASH_CARGO}", bash_for_plugin()),
        Shell::Zsh => generate(Generator::Zsh, plugin()),
        Shell::Fish => fish_for_cargo(&generate(Generator::Fish, under_cargo())),
        Shell::Powershell => generate(Generator::PowerShell, under_cargo()),
        Shell::Elvish => generate(Generator::Elvish, under_cargo()),
    }
}

/// The binary cargo runs: `cargo-migrate`.
fn plugin() -> clap::Command {
    Cli::command().name("cargo-migrate").bin_name("cargo-migrate")
}

/// clap_complete names bash's cases inconsistently when the binary's name
/// has a `-` (its function says `cargo__migrate`, its cases
/// `cargo__subcmd__migrate`), so nothing after the first word would complete:
/// the script is generated for `cargo_migrate` and bound to `cargo-migrate`.
fn bash_for_plugin() -> String {
    let mut cmd = plugin().name("cargo_migrate").bin_name("cargo_migrate");
    let mut buf = Vec::new();
    clap_complete::generate(Generator::Bash, &mut cmd, "cargo_migrate", &mut buf);
    String::from_utf8_lossy(&buf).replace(" cargo_migrate\n", " cargo-migrate\n")
}

/// `cargo` with `migrate` as its one subcommand.
fn under_cargo() -> clap::Command {
    clap::Command::new("cargo").bin_name("cargo").subcommand(Cli::command().name("migrate").bin_name("cargo migrate"))
}

fn generate(shell: Generator, mut cmd: clap::Command) -> String {
    let name = cmd.get_name().to_string();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Only the lines about `migrate`: cargo's own flags and subcommands are
/// completed by fish's cargo completion, and must not be declared twice.
/// The helper functions get names of their own, so that they cannot replace
/// a cargo completion's functions of the same name.
fn fish_for_cargo(generated: &str) -> String {
    let mut out = String::from("# cargo migrate: added to fish's completion of cargo\n");
    for line in generated.lines() {
        let top_level = line.starts_with("complete -c cargo -n \"__fish_cargo_needs_command\"");
        if top_level && !line.contains("-a \"migrate\"") {
            continue;
        }
        out.push_str(&line.replace("__fish_cargo_", "__fish_cargo_migrate_"));
        out.push('\n');
    }
    out
}

/// For `cargo`: `cargo migrate …` goes to `_cargo_migrate` as if
/// `cargo-migrate …` had been typed; anything else to cargo's completion.
const BASH_CARGO: &str = r#"# `cargo migrate …`: cargo's completion does not complete its plugins' words.
# Load it first (as bash-completion would on the first TAB), then complete
# `cargo` with a function that hands `cargo migrate …` to _cargo_migrate and
# everything else to the function cargo had.
if ! complete -p cargo >/dev/null 2>&1; then
    if declare -F __load_completion >/dev/null 2>&1; then
        __load_completion cargo >/dev/null 2>&1
    elif declare -F _completion_loader >/dev/null 2>&1; then
        _completion_loader cargo >/dev/null 2>&1
    fi
fi
__cargo_migrate_cargo_fallback=$(complete -p cargo 2>/dev/null | sed -n 's/.*-F \([^ ]*\).*/\1/p')
if [[ "${__cargo_migrate_cargo_fallback}" == _cargo_migrate_cargo ]]; then
    __cargo_migrate_cargo_fallback=""
fi
_cargo_migrate_cargo() {
    if [[ ${COMP_CWORD} -ge 2 && "${COMP_WORDS[1]}" == migrate ]]; then
        local COMP_WORDS=("cargo-migrate" "${COMP_WORDS[@]:2}")
        local COMP_CWORD=$((COMP_CWORD - 1))
        _cargo_migrate cargo-migrate "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        return
    fi
    if [[ -n "${__cargo_migrate_cargo_fallback}" ]]; then
        "${__cargo_migrate_cargo_fallback}" "$@"
    fi
}
complete -F _cargo_migrate_cargo -o bashdefault -o default cargo
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fish_adds_migrate_to_cargo_and_leaves_cargo_alone() {
        let s = script(Shell::Fish);
        assert!(s.contains("-a \"migrate\""), "{s}");
        assert!(s.contains("-a \"up\""), "{s}");
        // Nothing for cargo's own flags: fish's cargo completion has them.
        assert!(!s.lines().any(|l| l.contains("needs_command") && l.contains("-l help")), "{s}");
        assert!(!s.contains("__fish_cargo_needs_command"), "{s}");
    }

    #[test]
    fn zsh_defines_the_function_cargo_calls_for_a_plugin() {
        let s = script(Shell::Zsh);
        assert!(s.starts_with("#compdef cargo-migrate"), "{}", &s[..80]);
        assert!(s.contains("_cargo-migrate() {"), "no _cargo-migrate function");
    }

    #[test]
    fn every_shell_names_every_command() {
        let names: Vec<String> = Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect();
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell, Shell::Elvish] {
            let s = script(shell);
            for name in &names {
                assert!(s.contains(name.as_str()), "{shell:?} lacks {name}");
            }
        }
    }
}
