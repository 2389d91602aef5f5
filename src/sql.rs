//! Pure SQL text helpers: splitting a file into statements (for migrations
//! that run outside a transaction), mapping PostgreSQL's error position to a
//! line and column, and quoting.
//!
//! Everything here is one pass over the text: migration files can be dumps
//! of many megabytes.

/// One statement of a file: its text and the character offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    pub text: &'a str,
    /// Offset in characters (PostgreSQL counts characters, not bytes).
    pub char_offset: usize,
}

/// Split SQL where psql would: at semicolons outside quotes, quoted
/// identifiers, dollar quotes, comments, parentheses and SQL-standard function
/// bodies. Pieces that hold only whitespace and comments are dropped. A
/// leading byte-order mark belongs to no statement (it still counts in the
/// offsets, which are positions in `sql`).
pub fn split_statements(sql: &str) -> Vec<Statement<'_>> {
    Pieces::new(sql).map(|p| Statement { text: &sql[p.start..p.end], char_offset: p.char_offset }).collect()
}

/// What one pass over a file learns.
pub struct Reading<'a> {
    sql: &'a str,
    pub statements: Vec<Statement<'a>>,
    /// Byte ranges of the statements' code, from their first token to their
    /// end: the statements the lint's ignore comments and findings refer to
    /// are the ones the runner sends.
    pub spans: Vec<(usize, usize)>,
    /// The byte ranges of the string literals that squawk's lexer alone would
    /// end elsewhere (an `E'…'` continued after a newline, strings after
    /// `SET standard_conforming_strings = off`): the lint blanks their
    /// insides, so that its parser sees the statements the runner sends.
    pub reread: Vec<(usize, usize)>,
    unclosed: Option<(usize, Unclosed)>,
}

impl Reading<'_> {
    /// The first quote, dollar quote or block comment the text never closes:
    /// its line and what it is. PostgreSQL would read everything after it
    /// (the next statements, and the bookkeeping sent with them) as part of it.
    pub fn unclosed(&self) -> Option<(usize, Unclosed)> {
        self.unclosed.map(|(at, what)| (line_at(self.sql, at), what))
    }

    /// The line where the first statement for which `pred` holds begins
    /// (its code, past comments).
    pub fn line_of_first(&self, pred: impl Fn(&str) -> bool) -> Option<usize> {
        let i = self.statements.iter().position(|s| pred(s.text))?;
        Some(line_at(self.sql, self.spans[i].0))
    }
}

pub fn read(sql: &str) -> Reading<'_> {
    let mut pieces = Pieces::new(sql);
    let (mut statements, mut spans) = (Vec::new(), Vec::new());
    for p in pieces.by_ref() {
        statements.push(Statement { text: &sql[p.start..p.end], char_offset: p.char_offset });
        spans.push((p.code, p.end));
    }
    Reading { sql, statements, spans, reread: pieces.reread, unclosed: pieces.unclosed }
}

/// Whether `sql` holds anything but whitespace and comments, such as an
/// up.sql still holding only the template's comments.
pub fn has_statement(sql: &str) -> bool {
    Pieces::new(sql).next().is_some()
}

/// `s` without a leading UTF-8 byte-order mark, which some Windows editors
/// write and PostgreSQL would take for part of the first word.
pub fn strip_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

/// The first top-level `BEGIN`/`COMMIT`/`ROLLBACK` (…): its line and the word.
/// Savepoints (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) work inside the
/// migration's transaction, so they are not reported. (`own_transactions`
/// is what runs; this spells out, for the tests, which statements count.)
#[cfg(test)]
pub fn transaction_control(sql: &str) -> Option<(usize, String)> {
    Pieces::new(sql).find_map(|p| {
        let mut tokens = tokens(sql, p.start, p.end);
        let first = tokens.next()?;
        if !controls_transaction(&sql[first.start..first.end], tokens.map(|t| &sql[t.start..t.end])) {
            return None;
        }
        Some((line_at(sql, first.start), sql[first.start..first.end].to_ascii_uppercase()))
    })
}

/// How a migration manages transactions itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnTransactions {
    /// It does not: it runs in ours.
    No,
    /// The whole file is one `BEGIN; … COMMIT;` (as Supabase's examples
    /// write): the text with those two statements blanked out (same lines and
    /// columns), to run in ours, with the bookkeeping.
    Wrapped(String),
    /// Blocks that open and close in turn: run statement by statement, as
    /// psql and the Supabase CLI run the file.
    Balanced,
    /// A statement that closes nothing or opens inside an open block: its line and word.
    Unbalanced(usize, String),
}

/// See `OwnTransactions`.
/// Whether a statement refuses to run in a transaction block at all
/// (`CREATE INDEX CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`, `ALTER SYSTEM`…).
pub fn refuses_transaction(statement: &str) -> bool {
    let words: Vec<&str> = tokens(statement, 0, statement.len())
        .filter(|t| t.kind == Kind::Word)
        .take(6)
        .map(|t| &statement[t.start..t.end])
        .collect();
    let is = |i: usize, k: &str| words.get(i).is_some_and(|w| w.eq_ignore_ascii_case(k));
    let any = |i: usize, ks: &[&str]| ks.iter().any(|k| is(i, k));
    is(0, "vacuum")
        || (any(0, &["create", "drop", "reindex"]) && (1..6).any(|i| is(i, "concurrently")))
        || (any(0, &["create", "drop"]) && any(1, &["database", "tablespace"]))
        || (is(0, "alter") && is(1, "system"))
        || (is(0, "alter") && is(1, "table") && detaches_concurrently(statement))
}

/// `ALTER TABLE … DETACH PARTITION … CONCURRENTLY`, whose words run past the
/// first six.
fn detaches_concurrently(statement: &str) -> bool {
    let mut words =
        tokens(statement, 0, statement.len()).filter(|t| t.kind == Kind::Word).map(|t| &statement[t.start..t.end]);
    words.any(|w| w.eq_ignore_ascii_case("detach")) && words.any(|w| w.eq_ignore_ascii_case("concurrently"))
}

/// Whether a statement is `COPY … TO STDOUT`: the server sends the rows and
/// runs on without waiting for them to be read, so it cannot be stopped
/// before the rest of the text (a migration's COMMIT) runs.
pub fn copies_to_stdout(statement: &str) -> bool {
    copies(statement, "to", "stdout")
}

/// Whether a statement is `COPY … FROM STDIN`: the server waits for rows
/// from the client, which a migration has none to send (psql's inline data
/// after it is psql's, not SQL).
pub fn copies_from_stdin(statement: &str) -> bool {
    copies(statement, "from", "stdin")
}

fn copies(statement: &str, direction: &str, stream: &str) -> bool {
    let mut words =
        tokens(statement, 0, statement.len()).filter(|t| t.kind == Kind::Word).map(|t| &statement[t.start..t.end]);
    // Lazily: the first word settles most statements (megabytes of INSERTs).
    if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("copy")) {
        return false;
    }
    let words: Vec<&str> = words.collect();
    words.windows(2).any(|w| w[0].eq_ignore_ascii_case(direction) && w[1].eq_ignore_ascii_case(stream))
}

/// What one statement does to a transaction block of the file's own:
/// Some(true) opens one (`BEGIN`, `START TRANSACTION`), Some(false) ends it
/// (`COMMIT`, `END`, `ROLLBACK`, `ABORT`), None neither (savepoints included).
pub fn transaction_effect(statement: &str) -> Option<bool> {
    let mut tokens = tokens(statement, 0, statement.len());
    let first = tokens.next()?;
    let word = &statement[first.start..first.end];
    controls_transaction(word, tokens.map(|t| &statement[t.start..t.end]))
        .then(|| word.eq_ignore_ascii_case("begin") || word.eq_ignore_ascii_case("start"))
}

pub fn own_transactions(sql: &str) -> OwnTransactions {
    read(sql).own_transactions()
}

impl Reading<'_> {
    /// See `OwnTransactions`.
    pub fn own_transactions(&self) -> OwnTransactions {
        let sql = self.sql;
        let mut controls = Vec::new(); // (statement index, opens, start, end, word, first token)
        for (i, (s, &(code, end))) in self.statements.iter().zip(&self.spans).enumerate() {
            let mut tokens = tokens(sql, code, end);
            let Some(first) = tokens.next() else { continue };
            let word = &sql[first.start..first.end];
            if controls_transaction(word, tokens.map(|t| &sql[t.start..t.end])) {
                let opens = word.eq_ignore_ascii_case("begin") || word.eq_ignore_ascii_case("start");
                let start = s.text.as_ptr() as usize - sql.as_ptr() as usize;
                controls.push((i, opens, start, end, word.to_ascii_uppercase(), first.start));
            }
        }
        if controls.is_empty() {
            return OwnTransactions::No;
        }
        let mut open = false;
        for (_, opens, _, _, word, at) in &controls {
            if *opens == open {
                return OwnTransactions::Unbalanced(line_at(sql, *at), word.clone());
            }
            open = *opens;
        }
        if let Some((_, _, _, _, word, at)) = controls.last().filter(|_| open) {
            return OwnTransactions::Unbalanced(line_at(sql, *at), word.clone());
        }
        let commits = |w: &str| w == "COMMIT" || w == "END";
        if let [(0, true, b_start, b_end, _, _), (last, false, c_start, c_end, word, _)] = controls.as_slice() {
            if *last == self.statements.len() - 1 && commits(word) {
                let mut text = String::with_capacity(sql.len());
                for (range_start, range_end, keep_from) in [(*b_start, *b_end, 0), (*c_start, *c_end, *b_end)] {
                    text.push_str(&sql[keep_from..range_start]);
                    text.extend(sql[range_start..range_end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
                }
                text.push_str(&sql[*c_end..]);
                return OwnTransactions::Wrapped(text);
            }
        }
        OwnTransactions::Balanced
    }
}

/// Whether a statement made of `first` then `rest` (token texts) begins, ends
/// or aborts a transaction.
fn controls_transaction<'a>(first: &str, mut rest: impl Iterator<Item = &'a str>) -> bool {
    let is = |token: Option<&str>, keyword: &str| token.is_some_and(|t| t.eq_ignore_ascii_case(keyword));
    let is_any = |token: Option<&str>, keywords: &[&str]| keywords.iter().any(|k| is(token, k));
    let first = Some(first);
    if is(first, "begin") {
        // `BEGIN ATOMIC` opens a function body; PostgreSQL rejects it alone.
        !is(rest.next(), "atomic")
    } else if is_any(first, &["start", "commit", "abort"]) {
        true
    } else if is(first, "rollback") {
        let mut next = rest.next();
        if is_any(next, &["work", "transaction"]) {
            next = rest.next();
        }
        !is(next, "to")
    } else if is(first, "end") {
        // Only `END [WORK | TRANSACTION] [AND [NO] CHAIN]` ends a transaction;
        // anything else after END is some other (mistaken) statement, which
        // PostgreSQL reports better than we could.
        let mut next = rest.next();
        if is_any(next, &["work", "transaction"]) {
            next = rest.next();
        }
        if is(next, "and") {
            next = rest.next();
            if is(next, "no") {
                next = rest.next();
            }
            if !is(next, "chain") {
                return false;
            }
            next = rest.next();
        }
        next.is_none()
    } else {
        false
    }
}

/// Where a statement's code begins (in characters), past leading whitespace
/// and comments.
pub fn code_start(statement: &str) -> usize {
    match tokens(statement, 0, statement.len()).next() {
        Some(t) => statement[..t.start].chars().count(),
        None => 0,
    }
}

/// An `UPDATE` or `DELETE` as a batched backfill narrows it to a key range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dml {
    /// Lowercase: `update` or `delete`.
    pub verb: String,
    /// The table it writes, as written (`DELETE FROM t`, `UPDATE ONLY s.t AS x`).
    pub table: String,
    /// Byte offset just past its top-level `WHERE`, if it has one.
    pub after_where: Option<usize>,
    /// Byte offset where its code ends (before a `;` and trailing comments).
    pub end: usize,
    pub returning: bool,
}

/// The statement read as `UPDATE`/`DELETE` (not `WITH …`), or None.
pub fn dml(statement: &str) -> Option<Dml> {
    let toks: Vec<Token> = tokens(statement, 0, statement.len()).filter(|t| t.kind != Kind::Semi).collect();
    let word = |t: &Token| (t.kind == Kind::Word).then(|| statement[t.start..t.end].to_ascii_lowercase());
    let verb = word(toks.first()?)?;
    if verb != "update" && verb != "delete" {
        return None;
    }
    let mut i = 1;
    if verb == "delete" && toks.get(i).and_then(word).as_deref() == Some("from") {
        i += 1;
    }
    if toks.get(i).and_then(word).as_deref() == Some("only") {
        i += 1;
    }
    // A name, maybe qualified: word (. word)*
    let start = toks.get(i)?.start;
    let mut end = toks.get(i)?.end;
    while toks.get(i + 1).is_some_and(|t| &statement[t.start..t.end] == ".") && toks.get(i + 2).is_some() {
        i += 2;
        end = toks[i].end;
    }
    let mut depth = 0usize;
    let (mut after_where, mut returning) = (None, false);
    for t in &toks[i..] {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.saturating_sub(1),
            Kind::Word if depth == 0 => match statement[t.start..t.end].to_ascii_lowercase().as_str() {
                "where" if after_where.is_none() => after_where = Some(t.end),
                "returning" => returning = true,
                _ => {}
            },
            _ => {}
        }
    }
    let code_end = toks.last().map(|t| t.end).unwrap_or(statement.len());
    Some(Dml { verb, table: statement[start..end].to_string(), after_where, end: code_end, returning })
}

/// The statement narrowed by `range` (a predicate): `… WHERE (range) AND (its own condition)`.
pub fn narrowed(statement: &str, d: &Dml, range: &str) -> String {
    match d.after_where {
        Some(at) => format!("{} ({range}) AND ({}\n)", &statement[..at], &statement[at..d.end]),
        None => format!("{}\nWHERE {range}", &statement[..d.end]),
    }
}

/// A quoted identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Whether a statement may run in one implicit transaction with another (our
/// progress row): a few commands refuse a transaction block (`VACUUM`,
/// `… CONCURRENTLY`, `CREATE DATABASE`, …), procedures and `DO` blocks may
/// commit by themselves, and transaction control would change the block.
pub fn may_share_transaction(statement: &str) -> bool {
    const ALONE: &[&str] = &[
        "vacuum",
        "cluster",
        "reindex",
        "discard",
        "call",
        "do",
        "begin",
        "start",
        "commit",
        "end",
        "rollback",
        "abort",
        "savepoint",
        "release",
        "prepare",
        "checkpoint",
    ];
    let words: Vec<&str> = tokens(statement, 0, statement.len())
        .filter(|t| t.kind == Kind::Word)
        .map(|t| &statement[t.start..t.end])
        .collect();
    let Some(first) = words.first() else { return true };
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    if ALONE.iter().any(|k| is(first, k)) || words.iter().any(|w| is(w, "concurrently")) {
        return false;
    }
    // CREATE/DROP/ALTER DATABASE, TABLESPACE, SUBSCRIPTION; ALTER SYSTEM.
    let second = words.get(1).copied().unwrap_or("");
    let object = if is(second, "unique") || is(second, "or") { "" } else { second };
    !(["create", "drop", "alter"].iter().any(|k| is(first, k))
        && ["database", "tablespace", "subscription", "system"].iter().any(|k| is(object, k)))
}

/// Line and column (both 1-based) of a 1-based character position, and the
/// text of that line.
pub fn locate(sql: &str, char_position: usize) -> (usize, usize, &str) {
    let mut line = 1;
    let mut line_start = 0;
    let mut col = 1;
    for (idx, c) in sql.char_indices().take(char_position.saturating_sub(1)) {
        if c == '\n' {
            line += 1;
            line_start = idx + 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    let text = sql[line_start..].split('\n').next().unwrap_or("").trim_end_matches('\r');
    (line, col, text)
}

/// `E'…'` literal that is safe whatever `standard_conforming_strings` says.
pub fn literal(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// A statement's byte range in the file and the character offset of its start.
struct Piece {
    start: usize,
    end: usize,
    /// Where its first token starts.
    code: usize,
    char_offset: usize,
}

/// The statements of a file, in order, skipping those without content.
struct Pieces<'a> {
    sql: &'a str,
    /// Where the next piece starts; past the end once the last one is read.
    pos: usize,
    /// Characters in `sql[..counted]`: offsets are counted once, piece by piece.
    counted: usize,
    chars: usize,
    /// A `SET standard_conforming_strings = off` was read: from the next
    /// statement on, backslashes escape in every string, as psql reads a file.
    backslashes: bool,
    /// The quote or comment the text ends inside, once the last piece is read.
    unclosed: Option<(usize, Unclosed)>,
    /// Literals read further than squawk's lexer alone reads them.
    reread: Vec<(usize, usize)>,
}

impl<'a> Pieces<'a> {
    fn new(sql: &'a str) -> Self {
        let bom = sql.len() - strip_bom(sql).len();
        Pieces {
            sql,
            pos: bom,
            counted: bom,
            chars: usize::from(bom > 0),
            backslashes: false,
            unclosed: None,
            reread: Vec::new(),
        }
    }
}

impl Iterator for Pieces<'_> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        while self.pos <= self.sql.len() {
            let start = self.pos;
            let end = statement_end(self.sql, start, self.backslashes, &mut self.reread);
            self.pos = end.end + 1;
            self.unclosed = self.unclosed.or(end.unclosed);
            if end.has_content {
                let text = &self.sql[start..end.end];
                self.backslashes = standard_strings_off(text).unwrap_or(self.backslashes);
                self.chars += self.sql[self.counted..start].chars().count();
                self.counted = start;
                return Some(Piece { start, end: end.end, code: end.code, char_offset: self.chars });
            }
        }
        None
    }
}

/// A quote, dollar quote or comment that runs to the end of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unclosed {
    /// `'…`, `E'…`, `B'…` and the other string literals.
    Quote,
    /// `"…`
    QuotedIdentifier,
    /// `$$…` or `$tag$…`.
    DollarQuote,
    /// `/* …` (they nest).
    BlockComment,
}

impl Unclosed {
    pub fn describe(self) -> &'static str {
        match self {
            Unclosed::Quote => "a quoted string (') that is never closed",
            Unclosed::QuotedIdentifier => "a quoted identifier (\") that is never closed",
            Unclosed::DollarQuote => "a dollar-quoted string ($$ or $tag$) that is never closed",
            Unclosed::BlockComment => "a /* comment that is never closed",
        }
    }
}

/// The 1-based line of byte `at`.
fn line_at(sql: &str, at: usize) -> usize {
    1 + sql.as_bytes()[..at].iter().filter(|c| **c == b'\n').count()
}

/// What a `SET standard_conforming_strings …` statement leaves: Some(true)
/// when backslashes escape in plain strings from then on. None for any
/// other statement.
fn standard_strings_off(statement: &str) -> Option<bool> {
    let mut t = tokens(statement, 0, statement.len()).map(|t| (t.kind, &statement[t.start..t.end]));
    let is = |t: Option<(Kind, &str)>, k: &str| t.is_some_and(|(_, w)| w.eq_ignore_ascii_case(k));
    let first = t.next();
    if is(first, "reset") {
        return is(t.next(), "standard_conforming_strings").then_some(false);
    }
    if !is(first, "set") {
        return None;
    }
    let mut name = t.next();
    if is(name, "session") || is(name, "local") {
        name = t.next();
    }
    if !is(name, "standard_conforming_strings") {
        return None;
    }
    let mut value = t.next();
    if is(value, "to") || is(value, "=") {
        value = t.next();
    }
    let (_, v) = value?;
    let v = v.trim_matches('\'');
    Some(["off", "false", "0", "no", "of", "fals", "fal", "fa", "f", "n"].iter().any(|k| v.eq_ignore_ascii_case(k)))
}

struct End {
    /// Its semicolon, or the end of the text.
    end: usize,
    /// Whether it holds any token but whitespace and comments.
    has_content: bool,
    /// Where its first token starts (`end` when it has none).
    code: usize,
    unclosed: Option<(usize, Unclosed)>,
}

/// Where the statement starting at byte `start` ends.
fn statement_end(sql: &str, start: usize, backslashes: bool, reread: &mut Vec<(usize, usize)>) -> End {
    let b = sql.as_bytes();
    let mut has_content = false;
    let mut code = b.len();
    let mut parens = 0usize;
    // Inside a SQL-standard function body (`BEGIN ATOMIC … END`), semicolons
    // end the body's statements, not ours; CASE … END nests inside it.
    let mut atomic_depth = 0usize;
    let mut after_begin = false;
    for t in lexer(sql, start, backslashes) {
        if t.reread {
            reread.push((t.start, t.end));
        }
        if t.kind != Kind::Trivia && !has_content {
            code = t.start;
        }
        if let Some(what) = t.unclosed {
            // It runs to the end of the text: it is the last token.
            return End {
                end: b.len(),
                has_content: has_content || t.kind != Kind::Trivia,
                code,
                unclosed: Some((t.start, what)),
            };
        }
        match t.kind {
            Kind::Trivia => continue,
            Kind::Word => {
                let word = &b[t.start..t.end];
                if atomic_depth == 0 {
                    if after_begin && word.eq_ignore_ascii_case(b"atomic") {
                        atomic_depth = 1;
                    }
                } else if word.eq_ignore_ascii_case(b"case") {
                    atomic_depth += 1;
                } else if word.eq_ignore_ascii_case(b"end") {
                    atomic_depth -= 1;
                }
                after_begin = atomic_depth == 0 && word.eq_ignore_ascii_case(b"begin");
            }
            kind => {
                after_begin = false;
                match kind {
                    Kind::Semi if parens == 0 && atomic_depth == 0 => {
                        return End { end: t.start, has_content, code, unclosed: None };
                    }
                    Kind::Open => parens += 1,
                    // psql ignores a stray `)`; so must we, or every later
                    // semicolon in the file would look nested.
                    Kind::Close => parens = parens.saturating_sub(1),
                    _ => {}
                }
            }
        }
        has_content = true;
    }
    End { end: b.len(), has_content, code, unclosed: None }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A keyword or unquoted identifier.
    Word,
    /// A string, quoted identifier or dollar-quoted string.
    Quoted,
    Semi,
    Open,
    Close,
    /// Anything else: punctuation, operators, numbers, parameters.
    Other,
    /// Whitespace and comments.
    Trivia,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    kind: Kind,
    /// It runs to the end of the text, never closed.
    unclosed: Option<Unclosed>,
    /// A literal that squawk's lexer alone ends elsewhere.
    reread: bool,
}

/// The tokens that start in `sql[from..to]`, without whitespace and comments.
fn tokens(sql: &str, from: usize, to: usize) -> impl Iterator<Item = Token> + '_ {
    lexer(sql, from, false).filter(|t| t.kind != Kind::Trivia).take_while(move |t| t.start < to)
}

/// PostgreSQL's tokens, as `squawk-lexer` reads them (the lexer the lint's
/// parser uses), with two corrections where psql reads on further:
/// an `E'…'` string continued after a newline (`E'a'\n'\';'` is one
/// literal: backslashes keep escaping in the glued segments, squawk starts a
/// plain string), and plain strings after `SET standard_conforming_strings
/// = off`. A correction restarts squawk's lexer after the literal, so the
/// whole stays one pass.
struct Lexer<'a, I> {
    sql: &'a str,
    /// Byte offset of the next token.
    pos: usize,
    inner: I,
    /// `squawk_lexer::tokenize`, whose type cannot be named: a restart makes
    /// one more of the same (no box, no dynamic call per token).
    make: fn(&'a str) -> I,
    /// Backslashes escape in plain strings (`standard_conforming_strings = off`).
    backslashes: bool,
    /// A token read ahead of the inner lexer (a byte-order mark in a word).
    pending: Option<Token>,
}

fn lexer<'a>(
    sql: &'a str,
    from: usize,
    backslashes: bool,
) -> Lexer<'a, impl Iterator<Item = squawk_lexer::Token> + 'a> {
    let make: fn(&'a str) -> _ = squawk_lexer::tokenize;
    let mut lexer = Lexer { sql, pos: from, inner: make(""), make, backslashes, pending: None };
    lexer.restart(from);
    lexer
}

impl<'a, I: Iterator<Item = squawk_lexer::Token>> Lexer<'a, I> {
    fn restart(&mut self, at: usize) {
        self.pos = at;
        let rest = &self.sql[at..];
        // squawk takes a leading byte-order mark for whitespace; past the
        // file's start (which `Pieces` skips) it is a letter, as for PostgreSQL.
        if rest.starts_with('\u{feff}') {
            let len = rest.find(|c: char| !is_ident_cont(c) && c != '\u{feff}').unwrap_or(rest.len());
            self.pending = Some(Token { start: at, end: at + len, kind: Kind::Word, unclosed: None, reread: false });
            self.pos = at + len;
        }
        self.inner = (self.make)(&self.sql[self.pos..]);
    }
}

impl<I: Iterator<Item = squawk_lexer::Token>> Iterator for Lexer<'_, I> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        use squawk_lexer::{LiteralKind as L, TokenKind as T};
        if let Some(t) = self.pending.take() {
            return Some(t);
        }
        let t = self.inner.next()?;
        let start = self.pos;
        self.pos += t.len as usize;
        let quote = |terminated: bool| (Kind::Quoted, (!terminated).then_some(Unclosed::Quote));
        let (kind, unclosed) = match t.kind {
            T::Whitespace | T::LineComment => (Kind::Trivia, None),
            T::BlockComment { terminated } => (Kind::Trivia, (!terminated).then_some(Unclosed::BlockComment)),
            T::Ident => (Kind::Word, None),
            T::QuotedIdent { terminated, .. } => (Kind::Quoted, (!terminated).then_some(Unclosed::QuotedIdentifier)),
            T::Literal { kind } => match kind {
                L::Str { terminated }
                | L::NationalStr { terminated }
                | L::ByteStr { terminated }
                | L::BitStr { terminated }
                | L::UnicodeEscStr { terminated }
                | L::EscStr { terminated } => quote(terminated),
                L::DollarQuotedString { terminated } => (Kind::Quoted, (!terminated).then_some(Unclosed::DollarQuote)),
                L::Int { .. } | L::Numeric { .. } => (Kind::Other, None),
            },
            T::Semi => (Kind::Semi, None),
            T::OpenParen => (Kind::Open, None),
            T::CloseParen => (Kind::Close, None),
            _ => (Kind::Other, None),
        };
        let escaped = match t.kind {
            T::Literal { kind: L::EscStr { terminated: true } } => true,
            T::Literal { kind: L::Str { .. } | L::NationalStr { .. } } => self.backslashes,
            _ => false,
        };
        if !escaped {
            return Some(Token { start, end: self.pos, kind, unclosed, reread: false });
        }
        let b = self.sql.as_bytes();
        let open = start + usize::from(b[start] != b'\'');
        let (mut end, mut closed) = skip_quoted(b, open);
        while let Some(next) = continuation(b, end).filter(|_| closed) {
            (end, closed) = skip_quoted(b, next);
        }
        let reread = end != self.pos;
        if reread {
            self.restart(end);
        }
        Some(Token { start, end, kind, unclosed: (!closed).then_some(Unclosed::Quote), reread })
    }
}

/// `$` belongs to identifiers (`a$$b` is one), which is why a dollar quote
/// never starts in the middle of a word.
fn is_ident_cont(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || c >= '\u{80}'
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Index of the newline that ends the `--` comment at `i` (or the end of input).
fn skip_line_comment(b: &[u8], i: usize) -> usize {
    b[i..].iter().position(|c| *c == b'\n').map_or(b.len(), |p| i + p)
}

/// Index just past the closing quote of the `'…'` opening at `open`, where
/// backslashes escape (or the end of input), and whether it was closed.
fn skip_quoted(b: &[u8], open: usize) -> (usize, bool) {
    let mut i = open + 1;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return (i + 1, true);
        }
        i += 1;
    }
    (b.len(), false)
}

/// The opening quote of a segment that continues the literal ending at `i`:
/// one reached through whitespace (and `--` comments) holding a newline.
fn continuation(b: &[u8], mut i: usize) -> Option<usize> {
    let mut newline = false;
    loop {
        match *b.get(i)? {
            b'\n' | b'\r' => newline = true,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = skip_line_comment(b, i);
                continue;
            }
            b'\'' if newline => return Some(i),
            c if is_space(c) => {}
            _ => return None,
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_to_stdout() {
        assert!(super::copies_to_stdout("COPY (SELECT 1) TO STDOUT"));
        assert!(super::copies_to_stdout("-- rows\ncopy t to stdout with (format csv)"));
        assert!(!super::copies_to_stdout("COPY t FROM STDIN"));
        assert!(!super::copies_to_stdout("COPY t TO '/tmp/t.csv'"));
        assert!(!super::copies_to_stdout("SELECT 'copy to stdout'"));
        assert!(super::copies_from_stdin("COPY public.t (a, b) FROM stdin;"));
        assert!(super::copies_from_stdin("copy t from STDIN with (format csv)"));
        assert!(!super::copies_from_stdin("COPY t FROM '/tmp/t.csv'"));
        assert!(!super::copies_from_stdin("COPY t TO STDOUT"));
        assert!(!super::copies_from_stdin("SELECT 'copy t from stdin'"));
    }

    #[test]
    fn statements_that_refuse_a_transaction() {
        for yes in [
            "create index concurrently i on t (a)",
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
            "drop index concurrently i",
            "reindex index concurrently i",
            "vacuum analyze t",
            "create database x",
            "alter system set work_mem = '1MB'",
            "ALTER TABLE ONLY public.measurements DETACH PARTITION public.measurements_2023 CONCURRENTLY",
        ] {
            assert!(refuses_transaction(yes), "{yes}");
        }
        for no in [
            "create index i on t (a)",
            "refresh materialized view concurrently v",
            "select 'concurrently'",
            "alter table t add c int",
            "alter table measurements detach partition measurements_2023",
        ] {
            assert!(!refuses_transaction(no), "{no}");
        }
    }

    #[test]
    fn transaction_effects() {
        assert_eq!(transaction_effect("BEGIN"), Some(true));
        assert_eq!(transaction_effect("start transaction isolation level serializable"), Some(true));
        assert_eq!(transaction_effect("end"), Some(false));
        assert_eq!(transaction_effect("rollback"), Some(false));
        assert_eq!(transaction_effect("rollback to savepoint a"), None);
        assert_eq!(transaction_effect("savepoint a"), None);
        assert_eq!(transaction_effect("select 1"), None);
    }

    use super::*;

    #[test]
    fn tells_how_a_file_manages_its_own_transactions() {
        assert_eq!(own_transactions("CREATE TABLE a (id int);"), OwnTransactions::No);
        let wrapped = "begin;\nCREATE TABLE a (id int);\ncommit;\n";
        let OwnTransactions::Wrapped(inner) = own_transactions(wrapped) else { panic!("{wrapped}") };
        assert_eq!(inner, "     ;\nCREATE TABLE a (id int);\n      ;\n");
        assert_eq!(inner.chars().count(), wrapped.chars().count());
        assert_eq!(own_transactions("BEGIN; SELECT 1; COMMIT; BEGIN; SELECT 2; END;"), OwnTransactions::Balanced);
        assert_eq!(own_transactions("BEGIN; SELECT 1; ROLLBACK;"), OwnTransactions::Balanced);
        assert_eq!(own_transactions("SELECT 1;\nCOMMIT;"), OwnTransactions::Unbalanced(2, "COMMIT".into()));
        assert_eq!(own_transactions("BEGIN;\nSELECT 1;"), OwnTransactions::Unbalanced(1, "BEGIN".into()));
        assert_eq!(own_transactions("BEGIN; BEGIN; COMMIT;"), OwnTransactions::Unbalanced(1, "BEGIN".into()));
    }

    #[test]
    fn knows_what_must_run_alone() {
        for alone in [
            "CREATE INDEX CONCURRENTLY i ON t (x)",
            "-- c\nvacuum t",
            "CREATE DATABASE x",
            "ALTER SYSTEM SET work_mem = '1MB'",
            "BEGIN",
            "COMMIT",
            "CALL p()",
            "DO $$ BEGIN COMMIT; END $$",
            "DROP INDEX CONCURRENTLY IF EXISTS i",
        ] {
            assert!(!may_share_transaction(alone), "{alone}");
        }
        for shared in ["INSERT INTO t VALUES (1)", "CREATE TABLE database (id int)", "SELECT 'concurrently'", ""] {
            assert!(may_share_transaction(shared), "{shared}");
        }
    }

    fn unclosed(sql: &str) -> Option<(usize, Unclosed)> {
        read(sql).unclosed()
    }

    fn reread_literals(sql: &str) -> Vec<(usize, usize)> {
        read(sql).reread
    }

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
    fn dollars_inside_words_and_after_parameters() {
        // `a$$b` is an identifier, not the start of a dollar quote.
        assert_eq!(texts("SELECT a$$b FROM t; SELECT 2"), vec!["SELECT a$$b FROM t", "SELECT 2"]);
        assert_eq!(texts("SELECT $1$$;$$; SELECT 2"), vec!["SELECT $1$$;$$", "SELECT 2"]);
        assert_eq!(texts("SELECT $é$;$é$; SELECT $t1$ $$; $t1$"), vec!["SELECT $é$;$é$", "SELECT $t1$ $$; $t1$"]);
        assert_eq!(texts("SELECT $ 1; SELECT $a 2"), vec!["SELECT $ 1", "SELECT $a 2"]);
    }

    #[test]
    fn escape_strings_and_their_continuations() {
        // Backslashes escape only in E'…', including segments glued on after a newline.
        assert_eq!(texts("SELECT E'a'\n  'b\\'; c'; SELECT 2").len(), 2);
        assert_eq!(texts("SELECT E'a' -- note\n'b\\'; c'; SELECT 2").len(), 2);
        assert_eq!(texts("SELECT 'a'\n'b\\'; c'"), vec!["SELECT 'a'\n'b\\'", "c'"]);
        // Without a newline the next quote starts a plain string.
        assert_eq!(texts("SELECT E'a' 'b\\'; c'"), vec!["SELECT E'a' 'b\\'", "c'"]);
        assert_eq!(texts("SELECT E'\\\\'; SELECT 2").len(), 2);
        assert_eq!(texts("SELECT type'\\'; SELECT 2").len(), 2);
    }

    #[test]
    fn semicolons_inside_parentheses_do_not_split() {
        let rule = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))";
        assert_eq!(texts(&format!("{rule};\nSELECT 1;")), vec![rule, "SELECT 1"]);
        // A stray `)` does not swallow the rest of the file.
        assert_eq!(texts("SELECT 1); SELECT (2); SELECT 3"), vec!["SELECT 1)", "SELECT (2)", "SELECT 3"]);
        assert_eq!(texts("SELECT ))(; 1); SELECT 2"), vec!["SELECT ))(; 1)", "SELECT 2"]);
        // Parentheses in quotes and comments do not count.
        assert_eq!(texts("SELECT '(' /* ( */ -- (\n; SELECT \")\"; SELECT $$($$; SELECT 4").len(), 4);
        // An unclosed `(` runs to the end, as in psql.
        assert_eq!(texts("SELECT (1; SELECT 2").len(), 1);
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
        let sql =
            "CREATE PROCEDURE p() BEGIN /* c */ ATOMIC INSERT INTO t VALUES ((SELECT CASE WHEN true THEN 1 END)); \
                   UPDATE t SET \"end\" = 'case'; END; SELECT 2";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn finds_transaction_control() {
        assert_eq!(transaction_control("CREATE TABLE a ();\n-- done\nCOMMIT;"), Some((3, "COMMIT".into())));
        assert_eq!(transaction_control("begin;\nCREATE TABLE a ();"), Some((1, "BEGIN".into())));
        assert_eq!(transaction_control("DO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"), None);
        assert_eq!(transaction_control("SELECT 'commit';"), None);
        // The line is the statement's, not that of a comment mentioning the word.
        assert_eq!(transaction_control("SELECT 1;\n-- COMMIT below\n\nCOMMIT;"), Some((4, "COMMIT".into())));
        assert_eq!(transaction_control("SELECT 1; /* x */ Start Transaction;"), Some((1, "START".into())));
        assert_eq!(transaction_control("abort"), Some((1, "ABORT".into())));
    }

    #[test]
    fn savepoints_are_not_transaction_control() {
        let sql = "SAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\nrollback to s;\nROLLBACK WORK TO s;\nROLLBACK TRANSACTION TO SAVEPOINT s;\n\
                   RELEASE SAVEPOINT s;\nRELEASE s;";
        assert_eq!(transaction_control(sql), None);
        assert_eq!(transaction_control("SAVEPOINT s;\nROLLBACK;"), Some((2, "ROLLBACK".into())));
        assert_eq!(transaction_control("ROLLBACK WORK;"), Some((1, "ROLLBACK".into())));
        assert_eq!(transaction_control("ROLLBACK PREPARED 'x';"), Some((1, "ROLLBACK".into())));
        assert_eq!(transaction_control("COMMIT PREPARED 'x';"), Some((1, "COMMIT".into())));
        assert_eq!(transaction_control("COMMIT AND CHAIN;"), Some((1, "COMMIT".into())));
    }

    #[test]
    fn end_is_transaction_control_only_alone() {
        for sql in
            ["END", "end;", "END TRANSACTION;", "END WORK", "END AND CHAIN", "END WORK AND NO CHAIN;", "END -- c\n;"]
        {
            assert_eq!(transaction_control(sql), Some((1, "END".into())), "{sql}");
        }
        for sql in ["END IF;", "END LOOP", "END x", "END AND", "END AND NO", "END WORK WORK", "END (1)"] {
            assert_eq!(transaction_control(sql), None, "{sql}");
        }
        assert_eq!(transaction_control("BEGIN ATOMIC SELECT 1; END;"), None);
        assert_eq!(transaction_control("BEGIN ISOLATION LEVEL SERIALIZABLE"), Some((1, "BEGIN".into())));
    }

    #[test]
    fn finds_what_is_never_closed() {
        assert_eq!(unclosed("INSERT INTO y VALUES ('abc);"), Some((1, Unclosed::Quote)));
        assert_eq!(unclosed("SELECT 1;\n/* a /* b */ SELECT 2;"), Some((2, Unclosed::BlockComment)));
        assert_eq!(unclosed("SELECT 1;\nSELECT $t$ x $$ $T$;\n"), Some((2, Unclosed::DollarQuote)));
        assert_eq!(unclosed("SELECT \"x;"), Some((1, Unclosed::QuotedIdentifier)));
        assert_eq!(unclosed("SELECT E'\\';\nSELECT 1;"), Some((1, Unclosed::Quote)));
        assert_eq!(unclosed("SELECT E'a'\n  'b\\';"), Some((1, Unclosed::Quote)));
        for closed in [
            "SELECT E'\\'';",
            "SELECT 'a\\';",
            "/* a /* b */ c */ SELECT 1;",
            "-- it's\nSELECT '$$', \"'\", $a$ ' $a$;",
            "SELECT $1, a$b, x'1F', U&'d\\0061t';",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
        ] {
            assert_eq!(unclosed(closed), None, "{closed}");
        }
        // The statement it opens runs to the end, as the server would read it.
        assert_eq!(
            texts("SELECT 1; INSERT INTO y VALUES ('abc); SELECT 2;"),
            ["SELECT 1", "INSERT INTO y VALUES ('abc); SELECT 2;"]
        );
    }

    #[test]
    fn standard_conforming_strings_off_makes_backslashes_escape() {
        let off = "SET standard_conforming_strings TO 'off';\nSELECT 'a\\';\nSELECT 2;";
        assert_eq!(texts(off).len(), 2);
        assert_eq!(unclosed(off), Some((2, Unclosed::Quote)));
        let off = "set session standard_conforming_strings = off;\nSELECT 'it\\'s; fine', N'\\';';\nSELECT 2;";
        assert_eq!(texts(off).len(), 3, "{:?}", texts(off));
        assert_eq!(reread_literals(off).len(), 2);
        // Back on: plain strings end at their quote again.
        let on =
            "SET standard_conforming_strings = off; SET standard_conforming_strings = on;\nSELECT 'a\\'; SELECT 2;";
        assert_eq!(texts(on).len(), 4);
        let reset =
            "SET standard_conforming_strings = false; RESET standard_conforming_strings; SELECT 'a\\'; SELECT 2;";
        assert_eq!(texts(reset).len(), 4);
        assert_eq!(texts("SELECT 'a\\'; SELECT 2;").len(), 2);
        assert!(reread_literals("SELECT 'a\\'; SELECT E'b'; SELECT E'c'  'd';").is_empty());
        assert_eq!(reread_literals("SELECT E'a'\n'\\'; x'; SELECT 2"), [(7, 19)]);
    }

    #[test]
    fn drops_empty_and_comment_only_pieces() {
        assert!(texts("  ;\n-- nothing\n;/* x */").is_empty());
        assert_eq!(texts("SELECT 1;;SELECT 2").len(), 2);
    }

    #[test]
    fn has_statement_ignores_comments_whitespace_and_bom() {
        assert!(!has_statement(""));
        assert!(!has_statement("-- Your SQL goes here\n/* and /* here */ */\n\n;\n"));
        assert!(!has_statement("\u{feff}-- Your SQL goes here\n"));
        assert!(has_statement("-- x\nSELECT 1"));
        assert!(has_statement("\u{feff}SELECT 1"));
        assert!(has_statement("'unterminated"));
        assert!(has_statement("/* unterminated */ ("));
    }

    #[test]
    fn byte_order_mark() {
        assert_eq!(strip_bom("\u{feff}SELECT 1"), "SELECT 1");
        assert_eq!(strip_bom("SELECT 1\u{feff}"), "SELECT 1\u{feff}");
        assert_eq!(strip_bom("\u{feff}\u{feff}"), "\u{feff}");
        let s = split_statements("\u{feff}SELECT 1;SELECT 2");
        assert_eq!(
            s,
            vec![Statement { text: "SELECT 1", char_offset: 1 }, Statement { text: "SELECT 2", char_offset: 10 }]
        );
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
        assert_eq!(locate("a\r\nb", 4), (2, 1, "b"));
        assert_eq!(locate("a\r\nb", 2), (1, 2, "a"));
        assert_eq!(locate("ab\n", 3), (1, 3, "ab"));
        assert_eq!(locate("ab\n", 4), (2, 1, ""));
        assert_eq!(locate("ab", 99), (1, 3, "ab"));
    }

    #[test]
    fn quoting() {
        assert_eq!(literal("it's \\ ok"), "E'it''s \\\\ ok'");
    }

    #[test]
    fn splits_a_large_file() {
        // Offsets of every statement, counted as the file is built.
        let mut sql = String::new();
        let mut expected = Vec::new();
        let mut chars = 0;
        for i in 0..200_000 {
            // Statements after the first start with the newline after the semicolon.
            expected.push(chars.max(1) - 1);
            let stmt = match i % 5 {
                0 => format!("-- row {i}; é\nINSERT INTO t VALUES ({i}, 'it''s; {i}')"),
                1 => format!("SELECT $${i}; $$, E'\\'; {i}'"),
                2 => format!("/* {i}; /* ; */ */ UPDATE \"t;\" SET x = $1"),
                3 => format!("CREATE RULE r{i} AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)"),
                _ => format!("SELECT $f$ {i} $$;$ $f$"),
            };
            sql.push_str(&stmt);
            sql.push_str(";\n");
            chars += stmt.chars().count() + 2;
        }
        assert!(sql.len() > 8_000_000, "{}", sql.len());
        let statements = split_statements(&sql);
        assert_eq!(statements.len(), expected.len());
        for (i, (s, offset)) in statements.iter().zip(expected).enumerate() {
            assert_eq!(s.char_offset, offset, "statement {i}: {s:?}");
        }
    }

    /// xorshift64: deterministic, so a failure is reproducible from its seed.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            // The remainder is below `n`, so it fits back into a usize.
            (self.next_u64() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// Characters that mean something to the splitter, and some that don't.
    const SOUP: &[char] = &[
        'a', 'E', 'e', 't', '1', '_', ' ', ' ', '\n', '\t', ';', ';', '\'', '"', '$', '(', ')', '-', '/', '*', '\\',
        'é', '日', '\u{feff}',
    ];

    fn soup(rng: &mut Rng, max_len: usize, without: &[char]) -> String {
        let len = rng.below(max_len + 1);
        std::iter::repeat_with(|| SOUP[rng.below(SOUP.len())]).filter(|c| !without.contains(c)).take(len).collect()
    }

    fn separator(rng: &mut Rng) -> &'static str {
        rng.pick(&[" ", " ", "\n", "\t", "  \n ", " /* ; ( */ ", "\n-- ; )\n"])
    }

    /// A piece of SQL holding no top-level semicolon; `depth` bounds nesting.
    /// From depth 3 on, fragments are plain enough for a function body: no
    /// parentheses, no BEGIN, CASE or END.
    fn fragment(rng: &mut Rng, depth: usize) -> String {
        match rng.below(if depth < 3 { 14 } else { 11 }) {
            0 | 1 if depth >= 3 => rng.pick(&["SELECT", "x", "café", "a$$b", "e", "E", "u&"]).to_string(),
            0 | 1 => rng
                .pick(&["SELECT", "insert", "x", "t_1", "café", "日本", "a$$b", "begin", "END", "case", "e", "E", "u&"])
                .to_string(),
            2 => rng
                .pick(&["42", "3.14", "1e5", "0x1F", "$1", "$23", "+", "-", "*", "/", "::", "<>", ",", "."])
                .to_string(),
            3 => format!("'{}'", soup(rng, 12, &[]).replace('\'', "''")),
            4 => {
                let mut s = String::from(rng.pick(&["E'", "e'"]));
                let segments = 1 + rng.below(3);
                // Later segments, after a newline, are still escape strings.
                for segment in 0..segments {
                    if segment > 0 {
                        s.push_str(rng.pick(&["'\n'", "' \n\t'", "' -- c;\n'"]));
                    }
                    let mut text = soup(rng, 10, &[]);
                    // `E''` followed by a quote would be an escaped quote, not a continuation.
                    if text.is_empty() && segment + 1 < segments {
                        text.push('x');
                    }
                    for c in text.chars() {
                        match c {
                            '\\' => s.push_str("\\\\"),
                            '\'' => s.push_str(rng.pick(&["\\'", "''"])),
                            c => s.push(c),
                        }
                    }
                }
                // Without the cast, a following `'…'` fragment after a newline would continue the string.
                s.push_str("'::text");
                s
            }
            5 => format!("\"{}\"", soup(rng, 12, &[]).replace('"', "\"\"")),
            6 => {
                let tag = rng.pick(&["$$", "$t$", "$tag_1$", "$é$", "$T2$"]);
                loop {
                    let body = soup(rng, 16, &[]) + tag;
                    if body.find(tag) == Some(body.len() - tag.len()) {
                        break format!("{tag}{body}");
                    }
                }
            }
            7 => format!("--{}\n", soup(rng, 12, &['\n'])),
            8 => {
                let inner = if depth < 3 { fragment(rng, depth + 1).replace('*', "") } else { String::new() };
                let nested = format!("/*{}*/", soup(rng, 6, &['*', '/']));
                format!("/*{} {nested} {inner} {}*/", soup(rng, 8, &['*', '/']), soup(rng, 8, &['*', '/']))
            }
            9 => format!("$$ {} $$", soup(rng, 8, &['$'])),
            10 => "()".to_string(),
            11 => {
                let body: Vec<String> = (0..1 + rng.below(3)).map(|_| format!("SELECT {}", fragment(rng, 3))).collect();
                format!("BEGIN ATOMIC {}; SELECT CASE WHEN x THEN 1 END; END", body.join("; "))
            }
            _ => {
                let mut s = String::from("(");
                for _ in 0..1 + rng.below(4) {
                    s.push_str(&fragment(rng, depth + 1));
                    s.push_str(rng.pick(&[" ", ";", " ; ", "\n;\n", ", "]));
                }
                s.push(')');
                s
            }
        }
    }

    fn statement(rng: &mut Rng) -> String {
        let mut s = fragment(rng, 0);
        for _ in 0..rng.below(8) {
            s.push_str(separator(rng));
            s.push_str(&fragment(rng, 0));
        }
        // Make sure the statement is more than comments.
        s.push_str(separator(rng));
        s.push_str(rng.pick(&["x", "1", "'s'", "(;)"]));
        s
    }

    #[test]
    fn random_files_split_into_their_statements() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let seed = rng.0;
            let mut sql = String::from(rng.pick(&["", "", "\u{feff}", "-- header;\n", "\u{feff}/* ; */\n"]));
            let mut expected = Vec::new();
            for k in 0..1 + rng.below(8) {
                if k > 0 {
                    sql.push_str(rng.pick(&[";\n", ";\n", ";", ";\n;\n", "; /* ; */ ;\n", ";\n-- ;\n;"]));
                }
                // The first statement starts after the byte-order mark, the others after their semicolon.
                let start = if k == 0 { sql.len() - strip_bom(&sql).len() } else { sql.rfind(';').unwrap() + 1 };
                sql.push_str(&statement(&mut rng));
                expected.push((start, sql.len()));
            }
            let trailing = rng.pick(&["", ";", ";\n", "\n", "  \n\t", ";\n-- bye;\n", ";\n/* bye; */", "\n-- bye;"]);
            sql.push_str(trailing);
            if !trailing.starts_with(';') {
                expected.last_mut().unwrap().1 = sql.len();
            }
            let expected: Vec<Statement> = expected
                .into_iter()
                .map(|(start, end)| Statement { text: &sql[start..end], char_offset: sql[..start].chars().count() })
                .collect();
            let got = split_statements(&sql);
            assert_eq!(got, expected, "seed {seed:#x}, file:\n{sql}");
            assert_eq!(unclosed(&sql), None, "seed {seed:#x}, file:\n{sql}");
            assert!(has_statement(&sql));
            for s in &got {
                assert!(sql.chars().skip(s.char_offset).collect::<String>().starts_with(s.text));
                // A statement on its own is a single statement.
                assert_eq!(
                    split_statements(s.text),
                    vec![Statement { text: s.text, char_offset: 0 }],
                    "seed {seed:#x}"
                );
            }
        }
    }

    #[test]
    fn random_soup_never_panics_and_stays_in_place() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let sql = soup(&mut rng, 60, &[]);
            let statements = split_statements(&sql);
            assert_eq!(has_statement(&sql), !statements.is_empty());
            let mut previous_end = 0;
            for s in &statements {
                let (start, _) = sql.char_indices().nth(s.char_offset).unwrap_or((sql.len(), ' '));
                assert!(start >= previous_end, "{sql:?}");
                assert!(sql[start..].starts_with(s.text), "{sql:?}");
                assert!(!s.text.trim().is_empty());
                previous_end = start + s.text.len();
                // Every statement but the last ends at a semicolon.
                assert!(previous_end == sql.len() || sql[previous_end..].starts_with(';'), "{sql:?}");
            }
            // What is never closed swallows the rest: the last statement runs to the end.
            // (A comment after the last semicolon is no statement.)
            if let Some((line, what)) = unclosed(&sql) {
                assert!(line <= sql.lines().count().max(1), "{sql:?}");
                let last_end = statements.last().map(|s| s.text.as_ptr() as usize + s.text.len());
                let end = sql.as_ptr() as usize + sql.len();
                assert!(what == Unclosed::BlockComment || last_end == Some(end), "{sql:?}");
            }
            let _ = transaction_control(&sql);
            let _ = locate(&sql, rng.below(sql.chars().count() + 2));
        }
    }

    #[test]
    fn an_update_or_delete_is_narrowed_to_a_key_range() {
        let u = "UPDATE ONLY public.big AS b SET n = (SELECT 1 WHERE true) WHERE n IS NULL -- left\n;";
        let d = dml(u).unwrap();
        assert_eq!((d.verb.as_str(), d.table.as_str(), d.returning), ("update", "public.big", false));
        assert_eq!(
            narrowed(u, &d, "id > 0"),
            "UPDATE ONLY public.big AS b SET n = (SELECT 1 WHERE true) WHERE (id > 0) AND ( n IS NULL\n)"
        );
        let del = "DELETE FROM t";
        let d = dml(del).unwrap();
        assert_eq!((d.table.as_str(), d.after_where), ("t", None));
        assert_eq!(narrowed(del, &d, "id > 0"), "DELETE FROM t\nWHERE id > 0");
        assert!(dml("UPDATE t SET a = 1 RETURNING a").unwrap().returning);
        assert_eq!(dml("WITH x AS (SELECT 1) UPDATE t SET a = 1"), None);
        assert_eq!(dml("SELECT 1"), None);
    }
}
