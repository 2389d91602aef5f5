use std::process::ExitCode;

use clap::Parser;

use cargo_migrate::cli::Cli;
use cargo_migrate::error::exit;

fn main() -> ExitCode {
    // `cargo migrate …` runs us as `cargo-migrate migrate …`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "migrate") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    match cargo_migrate::commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", cargo_migrate::report::redact(&e.to_string()));
            ExitCode::from(e.exit_code)
        }
    }
}
