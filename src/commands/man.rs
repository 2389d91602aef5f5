//! `cargo migrate man`: the manual page, generated from the clap definition
//! (clap_mangen): one page to stdout, or a page per command into a folder.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::error::{exit, Error, Kind, Result};

pub fn run(args: &ManArgs) -> Result<u8> {
    let write_error = |e: std::io::Error| Error::new(Kind::Io, format!("could not write the manual page: {e}"));
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
        clap_mangen::generate_to(command(), dir).map_err(|e| Error::io(dir, "write the manual pages into", e))?;
        return Ok(exit::OK);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&page()).and_then(|()| out.flush()).map_err(write_error)?;
    Ok(exit::OK)
}

/// The page is named after the binary cargo runs, as `man cargo-migrate` finds it.
fn command() -> clap::Command {
    Cli::command().name("cargo-migrate").display_name("cargo-migrate").bin_name("cargo migrate")
}

/// cargo-migrate(1) as roff.
pub fn page() -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = clap_mangen::Man::new(command()).render(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_page_lists_every_command() {
        let page = String::from_utf8(super::page()).unwrap();
        assert!(page.contains(".TH cargo-migrate 1"), "{}", &page[..200.min(page.len())]);
        for c in crate::cli::Cli::command().get_subcommands() {
            assert!(
                page.contains(&format!("cargo\\-migrate\\-{}", c.get_name().replace('-', "\\-")))
                    || page.contains(c.get_name()),
                "{}",
                c.get_name()
            );
        }
    }
}
