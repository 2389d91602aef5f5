use std::process::ExitCode;

fn main() -> ExitCode {
    // No input may end in a panic's exit code 101: should a bug panic anyway,
    // say so and exit 1, as for any other failure.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: cargo-migrate hit a bug ({info}); please report it");
    }));
    let args = std::env::args_os().collect();
    match std::panic::catch_unwind(|| cargo_migrate::run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(_) => ExitCode::from(cargo_migrate::exit::FAILURE),
    }
}
