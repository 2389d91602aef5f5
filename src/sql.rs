//! Pure SQL text helpers: splitting a file into statements (for migrations
//! that run outside a transaction), mapping PostgreSQL's error position to a
//! line and column, and quoting.

/// One statement of a file: its text and the character offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    pub text: &'a str,
    /// Offset in characters (PostgreSQL counts characters, not bytes).
    pub char_offset: usize,
}

/// Split SQL at top-level semicolons, respecting quotes, quoted identifiers,
/// dollar quotes and comments. Pieces that hold only whitespace and comments
/// are dropped.
pub fn split_statements<'a>(sql: &'a str) -> Vec<Statement<'a>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut meaningful = false;
    // Inside a SQL-standard function body (`BEGIN ATOMIC … END`), semicolons
    // end the body's statements, not ours; CASE … END nests inside it.
    let mut atomic_depth = 0usize;
    let push = |out: &mut Vec<Statement<'a>>, start: usize, end: usize, meaningful: bool| {
        if meaningful {
            out.push(Statement { text: &sql[start..end], char_offset: sql[..start].chars().count() });
        }
    };
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' => {
                let escapes =
                    i > 0 && matches!(b[i - 1], b'e' | b'E') && !is_ident_byte(b.get(i.wrapping_sub(2)).copied());
                i = skip_quoted(b, i, b'\'', escapes);
                meaningful = true;
                continue;
            }
            b'"' => {
                i = skip_quoted(b, i, b'"', false);
                meaningful = true;
                continue;
            }
            b'$' => {
                if let Some(tag_len) = dollar_tag(b, i) {
                    let tag = &b[i..i + tag_len];
                    let mut j = i + tag_len;
                    while j < b.len() && !b[j..].starts_with(tag) {
                        j += 1;
                    }
                    i = (j + tag_len).min(b.len());
                    meaningful = true;
                    continue;
                }
                meaningful = true;
            }
            b';' if atomic_depth == 0 => {
                push(&mut out, start, i, meaningful);
                start = i + 1;
                meaningful = false;
            }
            c if (c.is_ascii_alphabetic() || c == b'_') && !is_ident_byte(i.checked_sub(1).map(|p| b[p])) => {
                let end = i + b[i..].iter().take_while(|c| is_ident_byte(Some(**c))).count();
                let word = &sql[i..end];
                if atomic_depth == 0
                    && word.eq_ignore_ascii_case("begin")
                    && next_word(&sql[end..]).eq_ignore_ascii_case("atomic")
                {
                    atomic_depth = 1;
                } else if atomic_depth > 0 && word.eq_ignore_ascii_case("case") {
                    atomic_depth += 1;
                } else if atomic_depth > 0 && word.eq_ignore_ascii_case("end") {
                    atomic_depth -= 1;
                }
                meaningful = true;
                i = end;
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ => meaningful = true,
        }
        i += 1;
    }
    push(&mut out, start, b.len(), meaningful);
    out
}

/// The first word of `text` after whitespace and comments.
fn next_word(text: &str) -> &str {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("--") {
            rest = after.split_once('\n').map(|(_, r)| r).unwrap_or("");
        } else if let Some(after) = trimmed.strip_prefix("/*") {
            rest = after.split_once("*/").map(|(_, r)| r).unwrap_or("");
        } else {
            let len = trimmed.bytes().take_while(|c| is_ident_byte(Some(*c))).count();
            return &trimmed[..len];
        }
    }
}

/// A top-level `BEGIN`/`COMMIT`/`ROLLBACK` (…) in a migration: its line and the word.
pub fn transaction_control(sql: &str) -> Option<(usize, String)> {
    const WORDS: &[&str] = &["begin", "start", "commit", "end", "rollback", "abort"];
    split_statements(sql).into_iter().find_map(|stmt| {
        let word = next_word(stmt.text);
        if !WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)) {
            return None;
        }
        let lead = stmt.text[..stmt.text.find(word).unwrap_or(0)].chars().count();
        let (line, _, _) = locate(sql, stmt.char_offset + lead + 1);
        Some((line, word.to_uppercase()))
    })
}

fn is_ident_byte(b: Option<u8>) -> bool {
    matches!(b, Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
}

/// Index just past the closing quote (or the end of input).
fn skip_quoted(b: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < b.len() {
        if backslash_escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Length of a dollar-quote opening tag (`$$` or `$tag$`) starting at `i`.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    // `$1` is a parameter and `a$b` part of an identifier, not a quote.
    if i > 0 && is_ident_byte(Some(b[i - 1])) {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        if j == i + 1 && b[j].is_ascii_digit() {
            return None;
        }
        j += 1;
    }
    (j < b.len() && b[j] == b'$').then_some(j + 1 - i)
}

/// Line and column (both 1-based) of a 1-based character position, and the
/// text of that line.
pub fn locate(sql: &str, char_position: usize) -> (usize, usize, &str) {
    let mut line = 1;
    let mut line_start = 0;
    let mut col = 1;
    for (count, (idx, c)) in sql.char_indices().enumerate() {
        if count + 1 == char_position {
            break;
        }
        if c == '\n' {
            line += 1;
            line_start = idx + 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    let rest = &sql[line_start..];
    let text = rest.split('\n').next().unwrap_or("").trim_end_matches('\r');
    (line, col, text)
}

/// `E'…'` literal that is safe whatever `standard_conforming_strings` says.
pub fn literal(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// A quoted identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split_statements(sql).iter().map(|s| s.text.trim().to_string()).collect()
    }

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let sql = "CREATE INDEX CONCURRENTLY a ON t (x);\n-- c; d\nCREATE INDEX CONCURRENTLY b ON t ((';'));\n";
        assert_eq!(
            texts(sql),
            vec!["CREATE INDEX CONCURRENTLY a ON t (x)", "-- c; d\nCREATE INDEX CONCURRENTLY b ON t ((';'))"]
        );
    }

    #[test]
    fn respects_dollar_quotes_comments_and_identifiers() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n\
                   /* one; /* nested; */ still; */ SELECT \"a;b\" FROM t;\n\
                   SELECT E'it\\'s; fine', 'x''y;';\nSELECT $$a;$$, $1;";
        let t = texts(sql);
        assert_eq!(t.len(), 4, "{t:?}");
        assert!(t[0].ends_with("LANGUAGE sql"));
        assert!(t[1].ends_with("FROM t"));
        assert!(t[2].ends_with("'x''y;'"));
    }

    #[test]
    fn keeps_sql_standard_function_bodies_whole() {
        let sql = "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nSELECT 3;";
        let t = texts(sql);
        assert_eq!(t.len(), 2, "{t:?}");
        assert!(t[0].ends_with("END"));
        assert_eq!(t[1], "SELECT 3");
        // Identifiers that merely contain the words change nothing.
        assert_eq!(texts("SELECT begin_atomic, legend FROM t; SELECT 1").len(), 2);
    }

    #[test]
    fn finds_transaction_control() {
        assert_eq!(transaction_control("CREATE TABLE a ();\n-- done\nCOMMIT;"), Some((3, "COMMIT".into())));
        assert_eq!(transaction_control("begin;\nCREATE TABLE a ();"), Some((1, "BEGIN".into())));
        assert_eq!(transaction_control("DO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"), None);
        assert_eq!(transaction_control("SELECT 'commit';"), None);
    }

    #[test]
    fn drops_empty_and_comment_only_pieces() {
        assert!(texts("  ;\n-- nothing\n;/* x */").is_empty());
        assert_eq!(texts("SELECT 1;;SELECT 2").len(), 2);
    }

    #[test]
    fn offsets_count_characters() {
        let sql = "SELECT 'é';\nSELECT 2;";
        let s = split_statements(sql);
        assert_eq!(s[1].char_offset, 11);
    }

    #[test]
    fn locate_finds_line_and_column() {
        let sql = "CREATE TABLE a (id int);\n\nCREATE TABLE b (id nosuchtype);\n";
        let pos = sql.find("nosuchtype").unwrap() + 1;
        assert_eq!(locate(sql, pos), (3, 20, "CREATE TABLE b (id nosuchtype);"));
        // Characters, not bytes.
        let sql = "-- é\nSELECT x;";
        assert_eq!(locate(sql, 13).0, 2);
        assert_eq!(locate(sql, 13).1, 8);
    }

    #[test]
    fn quoting() {
        assert_eq!(literal("it's \\ ok"), "E'it''s \\\\ ok'");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
    }
}
