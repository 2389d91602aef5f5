//! The one question a command asks before it writes somewhere that is not local.

use crate::error::{Error, Kind, Result};
use crate::output::{self, Reporter};

/// Ask on the terminal; anything but yes changes nothing.
pub fn confirm(r: &Reporter, what: &str) -> Result<()> {
    use std::io::Write as _;
    eprint!("{}", output::redact(&format!("{what}: go on? [y/N] ")));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        return Ok(());
    }
    r.note("not confirmed");
    Err(Error::new(Kind::ConfirmationNeeded, "not confirmed; nothing was run"))
}
