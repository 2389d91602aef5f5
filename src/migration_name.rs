//! The name of a new migration: words to `snake_case`, and the names that say nothing refused.

use crate::error::{Error, Kind, Result};

/// Names that are bad by the team rules: they say nothing about what the migration does.
const GENERIC_NAMES: &[&str] = &[
    "migration",
    "migrations",
    "new_migration",
    "update",
    "updates",
    "fix",
    "fixes",
    "fix_bug",
    "fix_bugs",
    "bugfix",
    "bug_fix",
    "change",
    "changes",
    "misc",
    "stuff",
    "temp",
    "tmp",
    "test",
    "wip",
    "patch",
    "new",
    "untitled",
    "changes_1",
    "update_db",
    "db_update",
    "schema",
];

const MAX_NAME_LEN: usize = 100;

/// Turn what the user typed into a migration name, or say why it is refused.
///
/// Words are joined with `_`; spaces and dashes become `_`. Anything outside
/// `[a-z0-9_]` is refused (with the lower snake_case suggestion when there is one).
pub fn from_words(words: &[String], force: bool) -> Result<String> {
    let raw = words.join(" ");
    let name: String = raw.trim().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c }).collect();
    let suggestion = suggest(&raw);
    let refuse = |reason: String| {
        let mut err = Error::new(Kind::InvalidName, format!("invalid migration name `{raw}`: {reason}"));
        err = match &suggestion {
            Some(s) if s != &name => err.hint(format!("use lower snake_case, e.g. `cargo migrate create {s}`")),
            _ => {
                err.hint("use lower snake_case words that say what the migration does, e.g. `add_project_team_support`")
            }
        };
        err
    };
    if name.is_empty() || name.chars().all(|c| c == '_') {
        return Err(refuse("it is empty".into()));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
        let why = if bad.is_uppercase() {
            format!("`{bad}` is upper case")
        } else {
            format!("`{bad}` is not allowed (only a-z, 0-9 and _)")
        };
        return Err(refuse(why));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(refuse("it must start with a letter".into()));
    }
    if name.ends_with('_') || name.contains("__") {
        return Err(refuse("it has a stray or doubled `_`".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(refuse(format!("it is longer than {MAX_NAME_LEN} characters")));
    }
    if !force && GENERIC_NAMES.contains(&name.as_str()) {
        return Err(Error::new(Kind::GenericName, format!("`{name}` does not say what the migration does")).hint(
            format!(
            "name the change, e.g. `add_participant_constraints` or `create_meetings`; pass --force to keep `{name}`"
        ),
        ));
    }
    Ok(name)
}

/// Lower snake_case version of any text, if it has letters or digits at all.
fn suggest(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            prev_lower = false;
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
    }
    let out = out.trim_end_matches('_').trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    (!out.is_empty()).then(|| out.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Result<String> {
        from_words(&[s.to_string()], false)
    }

    #[test]
    fn spaces_and_dashes_become_underscores() {
        assert_eq!(name("add project-team support").unwrap(), "add_project_team_support");
        let words = vec!["add".to_string(), "vector".to_string(), "search".to_string()];
        assert_eq!(from_words(&words, false).unwrap(), "add_vector_search");
    }

    #[test]
    fn refuses_other_characters_with_a_suggestion() {
        let err = name("AddProjects").unwrap_err();
        assert_eq!(err.kind, crate::error::Kind::InvalidName);
        assert!(err.message.contains("upper case"), "{err}");
        assert!(err.hint.clone().unwrap().contains("add_projects"));
        let err = name("add.column!").unwrap_err();
        assert!(err.message.contains("`.`"), "{err}");
        assert!(err.hint.clone().unwrap().contains("add_column"));
        assert!(name("1_table").is_err());
        assert!(name("").is_err());
        assert!(name("add__x").is_err());
        assert!(name(&"a".repeat(101)).is_err());
        assert!(name("añadir").is_err());
    }

    #[test]
    fn generic_names_need_force() {
        for bad in ["migration", "fix_bug", "update"] {
            let err = name(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::Kind::GenericName, "{bad}");
            assert!(err.hint.clone().unwrap().contains("--force"));
            assert_eq!(from_words(&[bad.to_string()], true).unwrap(), bad);
        }
        assert!(name("update_meeting_titles").is_ok());
    }
}
