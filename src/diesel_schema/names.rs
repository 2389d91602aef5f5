//! Rust names for SQL names, as diesel_cli makes them: what the `table!`
//! macro accepts as an identifier, and string literals for `sql_name`.

use std::borrow::Cow;

/// Keywords (and `_`) that the macro's identifier parser (syn) refuses.
const KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "if", "impl", "in", "let", "loop", "macro", "match",
    "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "Self", "self", "static", "struct", "super",
    "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names the `table!` macro keeps for itself.
const MACRO_NAMES: &[&str] = &["table", "columns", "is_nullable"];

/// Whether `name` cannot be used as it is: not an identifier, a keyword, one
/// of the macro's own names, or a `__` name (those that end in `_` are fine,
/// so appending `_` always gives a usable name).
pub fn is_reserved(name: &str) -> bool {
    !is_identifier(name)
        || KEYWORDS.contains(&name)
        || MACRO_NAMES.contains(&name)
        || (name.starts_with("__") && !name.ends_with('_'))
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn unmappable(c: char) -> bool {
    !(c.is_ascii_alphanumeric() || c == '_')
}

/// Every run of characters outside `[A-Za-z0-9_]` becomes one `_`; a leading
/// digit gets a `_` in front.
fn mappable(name: &str) -> Cow<'_, str> {
    let Some(first_bad) = name.char_indices().find_map(|(i, c)| {
        if unmappable(c) {
            Some((i, false))
        } else if i == 0 && c.is_ascii_digit() {
            Some((0, true))
        } else {
            None
        }
    }) else {
        return Cow::Borrowed(name);
    };
    let (at, digit) = first_bad;
    let mut out = if digit { String::from("_") } else { name[..at].to_string() };
    // After a leading digit's `_`, a following bad character adds no second one.
    let mut after_underscore = digit;
    for c in name[at..].chars() {
        if unmappable(c) {
            if !after_underscore {
                out.push('_');
            }
            after_underscore = true;
        } else {
            after_underscore = false;
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The Rust name of a table, schema or column (`table`: the Rust name of the
/// column's table, which a column may not repeat).
pub fn rust_name(sql_name: &str, table: Option<&str>) -> String {
    let name = mappable(sql_name);
    if is_reserved(&name) || Some(name.as_ref()) == table {
        format!("{name}_")
    } else {
        name.into_owned()
    }
}

/// A Rust string literal for `text`: raw (with one more `#` than the text
/// holds) when it contains a double quote.
pub fn string_literal(text: &str) -> String {
    if text.contains('"') {
        let hashes = "#".repeat(text.matches('#').count() + 1);
        format!("r{hashes}\"{text}\"{hashes}")
    } else {
        format!("\"{text}\"")
    }
}

/// The Rust type name diesel_cli derives from a PostgreSQL type name
/// (`user_status` → `UserStatus`, `int4` → `Int4`).
pub fn type_name(sql: &str) -> String {
    heck::ToUpperCamelCase::to_upper_camel_case(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identifiers_as_diesel_makes_them() {
        for (sql, rust) in [
            ("users", "users"),
            ("type", "type_"),
            ("self", "self_"),
            ("table", "table_"),
            ("columns", "columns_"),
            ("gen", "gen"),
            ("__hidden", "__hidden_"),
            ("__ok_", "__ok_"),
            ("_", "__"),
            ("my-table", "my_table"),
            ("a--b", "a_b"),
            ("a_-b", "a__b"),
            ("with space", "with_space"),
            ("1st", "_1st"),
            ("1-a", "_1_a"),
            ("café", "caf_"),
            ("-", "__"),
            ("", "_"),
        ] {
            assert_eq!(rust_name(sql, None), rust, "{sql:?}");
        }
        assert_eq!(rust_name("users", Some("users")), "users_");
        assert_eq!(rust_name("users", Some("posts")), "users");
    }

    #[test]
    fn literals_go_raw_only_with_quotes() {
        assert_eq!(string_literal("public.User"), "\"public.User\"");
        assert_eq!(string_literal("a\"b"), "r#\"a\"b\"#");
        assert_eq!(string_literal("#a\"b"), "r##\"#a\"b\"##");
    }

    #[test]
    fn type_names_are_upper_camel_case() {
        for (sql, rust) in
            [("int4", "Int4"), ("timestamptz", "Timestamptz"), ("pg_lsn", "PgLsn"), ("user_status", "UserStatus")]
        {
            assert_eq!(type_name(sql), rust);
        }
    }
}
