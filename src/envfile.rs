//! What `.env` variable expansion did to a value. dotenvy (which diesel_cli
//! uses too, so both tools read a `.env` alike) replaces `$NAME` and
//! `${NAME}` outside single quotes, and an undefined name by nothing:
//! `SUPABASE_DB_PASSWORD=Abc$def9` reads as `Abc`. dotenvy does not say so;
//! this module re-reads the file the way dotenvy does (its line grouping,
//! quoting and escapes, mirrored from dotenvy 0.15.7) and names every
//! expansion that came out empty, so the caller can warn by variable name
//! without showing any part of the value.

use std::collections::HashMap;

/// A `$…` in the value of `key` that expanded to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    pub key: String,
    /// The variable dotenvy looked up; empty for a `$` with no name after it
    /// (`Abc$`, `a$-b`), which dotenvy drops as well.
    pub name: String,
}

/// Every expansion in `text` that came out empty. `env` answers the real
/// environment, which dotenvy consults before the file's earlier lines.
pub fn lost(text: &str, env: impl Fn(&str) -> Option<String>) -> Vec<Lost> {
    let mut earlier: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for line in logical_lines(text) {
        let Some((key, parts)) = parse_line(&line) else { continue };
        let mut value = String::new();
        for part in parts {
            match part {
                Part::Text(t) => value.push_str(&t),
                Part::Var(name) => {
                    let v = env(&name).or_else(|| earlier.get(&name).cloned()).unwrap_or_default();
                    if v.is_empty() {
                        out.push(Lost { key: key.clone(), name });
                    }
                    value.push_str(&v);
                }
            }
        }
        earlier.insert(key, value);
    }
    out
}

/// The variable of a double-quoted value that ends in `$NAME` (`"Abc$def9"`):
/// dotenvy 0.15 cannot read that line at all, and its error says only where.
/// `s` is the line or its value, as dotenvy's error carries it.
pub fn unreadable_quoted_var(s: &str) -> Option<String> {
    let s = s.trim();
    let value = if s.starts_with('"') { s } else { s.split_once('=')?.1.trim() };
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    let at = inner.rfind('$')?;
    if inner[..at].ends_with('\\') {
        return None;
    }
    let name = &inner[at + 1..];
    name.chars().all(char::is_alphanumeric).then(|| name.to_string())
}

/// The key of the logical line holding `fragment` (a value from dotenvy's
/// error), to name it; never the value.
pub fn key_of_line(text: &str, fragment: &str) -> Option<String> {
    let line = logical_lines(text).into_iter().find(|l| l.contains(fragment))?;
    let before = line.split('=').next()?.trim();
    Some(before.strip_prefix("export").map(str::trim).filter(|k| !k.is_empty()).unwrap_or(before).to_string())
}

enum Part {
    Text(String),
    Var(String),
}

/// dotenvy's `QuotedLines`: a line continues while a quote is open; a line
/// starting with `#` is a comment.
fn logical_lines(text: &str) -> Vec<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Complete,
        Escape,
        Weak,
        WeakEscape,
        Strong,
        StrongEscape,
        White,
    }
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut state = S::Complete;
    for raw in text.split_inclusive('\n') {
        if buf.is_empty() && raw.trim_start().starts_with('#') {
            continue;
        }
        let start = buf.len();
        buf.push_str(raw);
        let mut comment_at = None;
        for (i, c) in buf[start..].char_indices() {
            state = match state {
                S::White if c == '#' => {
                    comment_at = Some(start + i);
                    break;
                }
                S::White | S::Complete if c == '\\' => S::Escape,
                S::White | S::Complete if c == '"' => S::Weak,
                S::White | S::Complete if c == '\'' => S::Strong,
                S::Complete if c.is_whitespace() && c != '\n' && c != '\r' => S::White,
                S::White | S::Complete | S::Escape => S::Complete,
                S::Weak if c == '\\' => S::WeakEscape,
                S::Weak if c == '"' => S::Complete,
                S::Weak | S::WeakEscape => S::Weak,
                S::Strong if c == '\\' => S::StrongEscape,
                S::Strong if c == '\'' => S::Complete,
                S::Strong | S::StrongEscape => S::Strong,
            };
        }
        if let Some(at) = comment_at {
            buf.truncate(at);
            state = S::Complete;
        } else if state != S::Complete {
            continue;
        }
        let line = buf.strip_suffix('\n').unwrap_or(&buf);
        out.push(line.strip_suffix('\r').unwrap_or(line).to_string());
        buf.clear();
    }
    out
}

/// dotenvy's `LineParser`: the key and the value's pieces; None for blank
/// and comment lines and for lines dotenvy refuses (it says so itself).
fn parse_line(line: &str) -> Option<(String, Vec<Part>)> {
    let mut rest = line.trim_end().trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        return None;
    }
    let key_of = |s: &str| -> Option<(String, usize)> {
        if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(s.len());
        Some((s[..end].to_string(), end))
    };
    let (mut key, end) = key_of(rest)?;
    rest = rest[end..].trim_start();
    if key == "export" && !rest.starts_with('=') {
        let (k, end) = key_of(rest)?;
        key = k;
        rest = rest[end..].trim_start();
    }
    rest = rest.strip_prefix('=')?.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        return Some((key, Vec::new()));
    }
    parse_value(rest).map(|parts| (key, parts))
}

/// dotenvy's `parse_value`, keeping where each expansion was.
fn parse_value(input: &str) -> Option<Vec<Part>> {
    #[derive(PartialEq)]
    enum Sub {
        None,
        Block,
        Braced,
    }
    let (mut strong, mut weak, mut escaped, mut expecting_end) = (false, false, false, false);
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut sub = Sub::None;
    let mut name = String::new();
    let flush = |text: &mut String, name: &mut String, parts: &mut Vec<Part>| {
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(text)));
        }
        parts.push(Part::Var(std::mem::take(name)));
    };
    for c in input.chars() {
        if expecting_end {
            match c {
                ' ' | '\t' => continue,
                '#' => break,
                _ => return None,
            }
        } else if escaped {
            match c {
                '\\' | '\'' | '"' | '$' | ' ' => text.push(c),
                'n' => text.push('\n'),
                _ => return None,
            }
            escaped = false;
        } else if strong {
            if c == '\'' {
                strong = false;
            } else {
                text.push(c);
            }
        } else if sub != Sub::None {
            if c.is_alphanumeric() {
                name.push(c);
            } else if sub == Sub::Block {
                if c == '{' && name.is_empty() {
                    sub = Sub::Braced;
                } else {
                    flush(&mut text, &mut name, &mut parts);
                    if c != '$' {
                        sub = Sub::None;
                        text.push(c);
                    }
                }
            } else if c == '}' {
                sub = Sub::None;
                flush(&mut text, &mut name, &mut parts);
            } else {
                name.push(c);
            }
        } else if c == '$' {
            sub = Sub::Block;
        } else if weak {
            match c {
                '"' => weak = false,
                '\\' => escaped = true,
                _ => text.push(c),
            }
        } else {
            match c {
                '\'' => strong = true,
                '"' => weak = true,
                '\\' => escaped = true,
                ' ' | '\t' => expecting_end = true,
                _ => text.push(c),
            }
        }
    }
    if sub == Sub::Braced || strong || weak {
        return None;
    }
    if sub == Sub::Block {
        flush(&mut text, &mut name, &mut parts);
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String)> {
        lost(text, |k| (k == "HOME").then(|| "/home/me".to_string())).into_iter().map(|l| (l.key, l.name)).collect()
    }

    fn pair(k: &str, n: &str) -> (String, String) {
        (k.to_string(), n.to_string())
    }

    #[test]
    fn names_every_expansion_that_came_out_empty() {
        assert_eq!(names("P=Abc$def9\n"), vec![pair("P", "def9")]);
        assert_eq!(names("P=Abc${X}def\n"), vec![pair("P", "X")]);
        assert_eq!(names("P=Abc$\nQ=a$-b\n"), vec![pair("P", ""), pair("Q", "")]);
        assert_eq!(names("P=\"Ab$-c\"\n"), vec![pair("P", "")]);
        assert_eq!(names("P=\"${X}y\"\n"), vec![pair("P", "X")]);
        // dotenvy's names are alphanumeric: `$MY_VAR` is `$MY`, then `_VAR`.
        assert_eq!(names("P=$MY_VAR\n"), vec![pair("P", "MY")]);
        assert_eq!(names("export P = x$B # later\nB=2\n"), vec![pair("P", "B")]);
        assert_eq!(names("P=\"multi\nline ${Q}\"\r\nR=1\r\n"), vec![pair("P", "Q")]);
    }

    #[test]
    fn what_dotenvy_keeps_is_not_named() {
        for text in [
            "P='Abc$def9'\n",
            "P=Abc\\$def9\n",
            "P=\"Abc\\$def9\"\n",
            "P=a$HOME/x\n",
            "A=1\nP=x$A\n",
            "# P=$NOPE\n",
            "P=abc # $NOPE in a comment\n",
            "P=\n",
        ] {
            assert_eq!(names(text), vec![], "{text:?}");
        }
    }

    #[test]
    fn reads_values_as_dotenvy_does() {
        let text = "A=1\nexport B = \"two ${A}\"\nC='th$ree'\nD=fo\\ ur # c\nE=\"a\nb\"\nF=x$A$HOME\n";
        let theirs: Vec<(String, String)> = dotenvy::from_read_iter(text.as_bytes()).map(|r| r.unwrap()).collect();
        let ours: Vec<String> = logical_lines(text).iter().filter_map(|l| parse_line(l)).map(|(k, _)| k).collect();
        assert_eq!(ours, theirs.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn finds_the_name_dotenvy_cannot_read_in_double_quotes() {
        assert_eq!(unreadable_quoted_var("P=\"Abc$def9\""), Some("def9".into()));
        assert_eq!(unreadable_quoted_var("\"Abc$\""), Some("".into()));
        assert_eq!(unreadable_quoted_var("P=\"Abc${X}\""), None);
        assert_eq!(key_of_line("A=1\nexport P=\"Abc$d\"\n", "\"Abc$d\""), Some("P".into()));
        assert_eq!(unreadable_quoted_var("P=\"Abc\\$def9\""), None);
        assert_eq!(unreadable_quoted_var("P=Abc$def9"), None);
    }
}
