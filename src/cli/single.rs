//! Reading a command line with only the command it names built: clap's
//! derive describes every command and flag before it reads one argument,
//! and in a short command (`status`) that description was a tenth of the
//! run. The arguments go through the same `Args` structs, so what they mean
//! cannot differ; anything this cannot read for sure (help, a version, an
//! error, a flag before the command it does not know) is left to the whole
//! description, which then reads it (and words any error) as always.

use clap::{Args, FromArgMatches};
use std::ffi::OsString;

use super::*;

/// The command's clap description, by name: its arguments only (the help
/// words are the whole description's business).
fn command(name: &str) -> Option<clap::Command> {
    fn of<A: Args>(name: &'static str) -> clap::Command {
        A::augment_args(clap::Command::new(name))
    }
    Some(match name {
        "up" => of::<UpArgs>("up"),
        "down" => of::<DownArgs>("down"),
        "redo" => of::<RedoArgs>("redo"),
        "status" => of::<StatusArgs>("status"),
        "repair" => of::<RepairArgs>("repair"),
        "verify" => of::<VerifyArgs>("verify"),
        "diff" => of::<DiffArgs>("diff"),
        "lint" => of::<LintArgs>("lint"),
        "create" => of::<CreateArgs>("create"),
        "import" => of::<ImportArgs>("import"),
        "seed" => of::<SeedArgs>("seed"),
        "adopt" => of::<AdoptArgs>("adopt"),
        "baseline" => of::<BaselineArgs>("baseline"),
        "database-url" => of::<DatabaseUrlArgs>("database-url"),
        "local" => of::<LocalArgs>("local"),
        "dump" => of::<DumpArgs>("dump"),
        "squash" => of::<SquashArgs>("squash"),
        "print-schema" => of::<PrintSchemaArgs>("print-schema"),
        "check" => of::<CheckArgs>("check"),
        "complete" => of::<CompleteArgs>("complete"),
        "completions" => of::<CompletionsArgs>("completions"),
        "man" => of::<ManArgs>("man"),
        _ => return None,
    })
}

/// The command `args` names: the first word that is not an option (the
/// options before it being the global ones, `--format X` and `--color X`
/// taking the next word); None where anything else comes first.
fn named(args: &[OsString]) -> Option<&str> {
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        let word = word.to_str()?;
        match word {
            "--format" | "--color" => {
                words.next()?;
            }
            "-q" | "--quiet" => {}
            _ if word.starts_with("--format=") || word.starts_with("--color=") => {}
            _ if word.starts_with('-') => return None,
            _ => return Some(word),
        }
    }
    None
}

/// The command line read with only its command described; None where the
/// whole description must read it.
pub fn parse(args: &[OsString]) -> Option<Cli> {
    let sub = command(named(args)?)?;
    let root = OutputOpts::augment_args(clap::Command::new("cargo-migrate").bin_name("cargo migrate"))
        .subcommand_required(true)
        .subcommand(sub);
    let mut matches = root.try_get_matches_from(args).ok()?;
    Cli::from_arg_matches_mut(&mut matches).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// What clap reads of an argument: any difference between the whole
    /// description and this one would read a command line otherwise.
    fn shape(arg: &clap::Arg) -> String {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            arg.get_id(),
            arg.get_short(),
            arg.get_long(),
            arg.get_all_aliases(),
            arg.get_all_short_aliases(),
            arg.get_num_args(),
            arg.get_action(),
            arg.get_value_delimiter(),
            arg.get_env(),
            arg.get_default_values(),
            arg.is_global_set(),
            arg.is_required_set(),
            arg.get_possible_values().iter().map(|v| v.get_name().to_string()).collect::<Vec<_>>(),
        )
    }

    fn shapes(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        // What a command's own settings (the enum variant's attributes) change in the reading.
        out.push(format!(
            "{path}: {} {} {} {} {} {}",
            command.is_arg_required_else_help_set(),
            command.is_subcommand_required_set(),
            command.is_allow_external_subcommands_set(),
            command.is_args_conflicts_with_subcommands_set(),
            command.is_allow_missing_positional_set(),
            command.is_subcommand_precedence_over_arg_set(),
        ));
        for arg in command.get_arguments() {
            out.push(format!("{path}: {}", shape(arg)));
        }
        for group in command.get_groups() {
            out.push(format!(
                "{path}: group {:?} {:?} {}",
                group.get_id(),
                group.get_args().collect::<Vec<_>>(),
                group.is_required_set()
            ));
        }
        for sub in command.get_subcommands() {
            shapes(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_command_is_described_here_as_in_the_whole_description() {
        let whole = Cli::command();
        for sub in whole.get_subcommands() {
            let name = sub.get_name();
            let mine = command(name).unwrap_or_else(|| panic!("`{name}` is not in single.rs's list"));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            shapes(sub, name, &mut a);
            shapes(&mine, name, &mut b);
            assert_eq!(a, b, "`{name}` reads its arguments otherwise here");
        }
    }

    fn args(line: &str) -> Vec<OsString> {
        std::iter::once("cargo-migrate").chain(line.split_whitespace()).map(OsString::from).collect()
    }

    #[test]
    fn a_line_reads_the_same_either_way() {
        for line in [
            "status",
            "status --exit-code --format json",
            "--format json -q status",
            "--color=never up --to 20240101000000 --no-lint",
            "down 20240101000000",
            "local reset --from-schema",
            "create add_users",
            "print-schema -s public",
        ] {
            let quick = parse(&args(line)).unwrap_or_else(|| panic!("{line:?} was left to the whole description"));
            let whole = <Cli as clap::Parser>::try_parse_from(args(line)).unwrap();
            assert_eq!(format!("{quick:?}"), format!("{whole:?}"), "{line:?}");
        }
    }

    #[test]
    fn help_versions_errors_and_unknown_options_are_left_to_the_whole_description() {
        for line in [
            "",
            "--help",
            "-V",
            "status --help",
            "status -h",
            "status --no-such-flag",
            "help status",
            "--manifest-path x status",
            "--format",
            "nothing",
            "status extra words",
        ] {
            assert!(parse(&args(line)).is_none(), "{line:?}");
        }
    }
}
