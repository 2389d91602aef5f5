//! A baseline migration (`cargo migrate squash`) says, on its first line,
//! which versions it replaces: a database that applied all of them has the
//! baseline's schema, and its history is rewritten to say so.

use super::Migration;

/// The first line of a baseline's up SQL, before the versions it replaces.
pub const MARK: &str = "-- cargo-migrate baseline of:";

/// The first line for a baseline of `versions`.
pub fn mark(versions: &[String]) -> String {
    format!("{MARK} {}", versions.join(" "))
}

/// The versions a first line names, if it is a baseline's.
pub fn parse(first_line: &str) -> Option<Vec<String>> {
    let rest = first_line.trim_end().strip_prefix(MARK)?;
    let versions: Vec<String> = rest.split_whitespace().map(String::from).collect();
    (!versions.is_empty()).then_some(versions)
}

impl Migration {
    /// The versions this migration replaces, when it is a baseline (its name ends in `_baseline`).
    pub fn baseline_of(&self) -> Option<Vec<String>> {
        if !self.name.ends_with("_baseline") {
            return None;
        }
        let mut head = [0u8; 4096];
        let n = std::io::Read::read(&mut std::fs::File::open(self.up_path()).ok()?, &mut head).ok()?;
        let text = String::from_utf8_lossy(&head[..n]);
        // The whole line may be longer than what was read: then read it all.
        if !text.contains('\n') && n == head.len() {
            let all = std::fs::read_to_string(self.up_path()).ok()?;
            return parse(all.lines().next()?);
        }
        parse(text.lines().next()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_reads_back() {
        let v = vec!["20250101000000".to_string(), "20250102000000".to_string()];
        assert_eq!(parse(&mark(&v)), Some(v));
        assert_eq!(parse("-- cargo-migrate baseline of:"), None);
        assert_eq!(parse("CREATE TABLE x ();"), None);
    }
}
