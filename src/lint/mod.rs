//! Static checks of migration SQL, before it runs: lock and rewrite hazards,
//! transaction mistakes, Supabase's security rules, secrets, and a down.sql
//! that does not undo its up.sql.
//!
//! Pure: text in, findings out (`check`). Nothing here reads a file or the
//! database; `commands/lint.rs` turns loaded migrations into `LintInput`s.
//!
//! The parser is `squawk-syntax`: PostgreSQL's grammar in pure Rust, a lossless
//! tree (every comment and position kept) that never gives up on a file it
//! cannot fully read. `pg_query` embeds PostgreSQL's own parser but builds C
//! from source with bindgen (libclang) and protoc; on a 2-core machine that
//! was minutes of build and two system packages on every machine, against
//! seconds for squawk (figures in bench/RESULTS.md). `sqlparser` is not
//! PostgreSQL's grammar (no policies, publications, function options).

mod backfill;
mod config;
mod locks;
mod reversible;
mod rules;
pub mod secrets;
mod supabase;
mod syntax;

pub use config::Config;
pub use rules::*;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use squawk_syntax::ast;
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode};

/// One migration as the rules see it. Made by one adapter
/// (`commands::lint::input`), whatever the layout on disk. Positions are
/// counted in the texts given: a layout that keeps up and down in one file
/// (dbmate, node-pg-migrate) passes each section with the file's other lines
/// blanked (newlines kept) and that file as both paths, so `file:line:col`
/// is the file's.
#[derive(Debug, Clone)]
pub struct LintInput {
    /// What findings are grouped under (the migration's folder or file name).
    pub name: String,
    /// The up file, as it should be shown (relative to the project).
    pub path: PathBuf,
    pub up_text: String,
    pub down_path: Option<PathBuf>,
    pub down_text: Option<String>,
    /// Runs inside a transaction (diesel's `run_in_transaction`, default true).
    pub runs_in_transaction: bool,
    /// The table its `[backfill]` batches, if it declares one.
    pub backfill: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    pub(crate) fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warn" | "warning" => Some(Severity::Warn),
            "error" => Some(Severity::Error),
            "off" => None,
            _ => None,
        }
    }
}

/// Which file of a migration a finding is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    pub severity: Severity,
    /// Index into the inputs given to `check`.
    pub input: usize,
    pub side: Side,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// The line of the statement where the finding is (secrets masked).
    pub statement: String,
    /// What is wrong, with the names involved.
    pub message: String,
    /// How to fix it, when more specific than the rule's.
    pub fix: Option<String>,
}

impl Finding {
    pub fn fix(&self) -> &str {
        self.fix.as_deref().unwrap_or(self.rule.fix)
    }
}

/// Check every input; findings come back in input order, then by position.
/// Files are independent, so they are checked on all cores.
pub fn check(inputs: &[LintInput], config: &Config) -> Vec<Finding> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    if inputs.len() < 64 || threads < 2 {
        return inputs.iter().enumerate().flat_map(|(i, input)| check_one(i, input, config)).collect();
    }
    let chunk = inputs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .flat_map(|(i, input)| check_one(n * chunk + i, input, config))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// What decides an input's findings, as one checksum: the same checksum,
/// the same findings, when `rules` names the same build of the rules.
/// Its name and paths are left out: they change where findings are shown,
/// not whether there are any.
pub fn fingerprint(input: &LintInput, config: &Config, rules: &str) -> String {
    let text = format!(
        "{rules}\u{1e}{}\u{1e}{}\u{1e}{}\u{1e}{}\u{1e}{}\u{1e}{}",
        config.key(),
        input.runs_in_transaction,
        input.backfill.as_deref().unwrap_or("\u{0}"),
        input.down_text.is_some(),
        input.up_text,
        input.down_text.as_deref().unwrap_or_default(),
    );
    crate::version::checksum(&text)
}

/// A raw finding from a rule, before ignores and severities.
pub(crate) struct Hit {
    pub rule: &'static Rule,
    pub side: Side,
    /// Byte range in the file.
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub fix: Option<String>,
}

impl Hit {
    pub fn at(rule: &'static Rule, node: &SyntaxNode, message: impl Into<String>) -> Hit {
        let (start, end) = syntax::span(node);
        Hit { rule, side: Side::Up, start, end, message: message.into(), fix: None }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Hit {
        self.fix = Some(fix.into());
        self
    }
}

/// One parsed file: its statements and where its ignore comments point.
pub(crate) struct Parsed<'a> {
    pub text: &'a str,
    pub root: SyntaxNode,
    pub stmts: Vec<ast::Stmt>,
    /// Byte ranges of the statements, as `sql::split_statements` cuts them.
    ranges: Vec<(usize, usize)>,
    /// How the file manages transactions, as the runner will see it.
    pub own: crate::sql::OwnTransactions,
    line_starts: Vec<usize>,
    /// Rules ignored in the whole file (`all` = every rule).
    file_ignores: Vec<String>,
    /// Rules ignored per statement index.
    stmt_ignores: HashMap<usize, Vec<String>>,
    /// Rule names in ignore comments that name no rule: (offset, name).
    unknown: Vec<(usize, String)>,
    pub parse_error: Option<(usize, String)>,
}

impl<'a> Parsed<'a> {
    pub fn new(text: &'a str) -> Parsed<'a> {
        let reading = crate::sql::read(text);
        let data_blanked = blank_data(text, &reading);
        let parse = SourceFile::parse(data_blanked.as_deref().unwrap_or(text));
        let root = parse.syntax_node();
        let stmts: Vec<ast::Stmt> = parse.tree().stmts().collect();
        // Where statements start and end is the runner's answer, not the parser's.
        let own = reading.own_transactions();
        let ranges = reading.spans;
        let mut line_starts = vec![0];
        line_starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        let parse_error = parse.errors().first().map(|e| (usize::from(e.range().start()), e.message().to_string()));
        let mut parsed = Parsed {
            text,
            root,
            stmts,
            ranges,
            own,
            line_starts,
            file_ignores: Vec::new(),
            stmt_ignores: HashMap::new(),
            unknown: Vec::new(),
            parse_error,
        };
        parsed.read_ignores();
        parsed
    }

    /// `-- migrate:ignore rule, rule` applies to the statement it precedes
    /// (or ends the line of); `-- migrate:ignore-file rule` to the whole file.
    fn read_ignores(&mut self) {
        if !self.text.contains("migrate:ignore") {
            return;
        }
        let comments: Vec<(usize, String)> = self
            .root
            .descendants_with_tokens()
            .filter_map(|e| e.into_token())
            .filter(|t| t.kind() == SyntaxKind::COMMENT && t.text().contains("migrate:ignore"))
            .map(|t| (usize::from(t.text_range().start()), t.text().to_string()))
            .collect();
        for (at, comment) in comments {
            let Some(pos) = comment.find("migrate:ignore") else { continue };
            let rest = &comment[pos + "migrate:ignore".len()..];
            let (whole_file, rest) = match rest.strip_prefix("-file") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let rest = rest.trim_end_matches("*/");
            // Rule names, then optionally `-- a reason`.
            let names: Vec<String> = rest
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|s| !s.is_empty())
                .take_while(|s| !s.starts_with("--"))
                .map(|s| s.to_string())
                .collect();
            for n in &names {
                if n != "all" && rule(n).is_none() {
                    self.unknown.push((at, n.clone()));
                }
            }
            if whole_file {
                self.file_ignores.extend(names);
            } else if let Some(i) = self.statement_for_comment(at) {
                self.stmt_ignores.entry(i).or_default().extend(names);
            }
        }
    }

    fn statement_for_comment(&self, at: usize) -> Option<usize> {
        // A comment on the line where a statement ends belongs to it.
        if let Some(i) = self.ranges.iter().rposition(|(_, end)| *end <= at) {
            if !self.text[self.ranges[i].1..at].contains('\n') {
                return Some(i);
            }
        }
        self.ranges.iter().position(|(_, end)| *end > at)
    }

    pub fn statement_at(&self, at: usize) -> Option<usize> {
        let i = self.ranges.partition_point(|(start, _)| *start <= at);
        i.checked_sub(1).filter(|&i| at < self.ranges[i].1.max(self.ranges[i].0 + 1))
    }

    fn ignored(&self, rule: &str, at: usize) -> bool {
        let hit = |list: &[String]| list.iter().any(|n| n == rule || n == "all");
        hit(&self.file_ignores) || self.statement_at(at).and_then(|i| self.stmt_ignores.get(&i)).is_some_and(|l| hit(l))
    }

    /// The byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(0)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, at: usize) -> (usize, usize) {
        let at = at.min(self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= at);
        let start = self.line_starts[line - 1];
        let column = self.text.get(start..at).map(|s| s.chars().count()).unwrap_or(at - start) + 1;
        (line, column)
    }

    /// The line where `at` is, trimmed and shortened.
    fn excerpt(&self, at: usize) -> String {
        let from = self.line_start(self.line_col(at).0);
        let line = self.text[from..].lines().next().unwrap_or("").trim();
        let mut short: String = line.chars().take(120).collect();
        if short.len() < line.len() {
            short.push('…');
        }
        secrets::mask(&short)
    }
}

/// No rule reads a plain `INSERT` (data, often megabytes of it in a dump),
/// and a syntax tree of every row would take seconds and hundreds of MiB: such
/// statements are blanked before parsing, byte for byte, so that every offset
/// (and so every line and column) stays that of the file. Secrets are looked
/// for in the original text. None: nothing to blank.
fn blank_data(text: &str, reading: &crate::sql::Reading) -> Option<String> {
    let mut bytes: Option<Vec<u8>> = None;
    for (stmt, (code, end)) in reading.statements.iter().zip(&reading.spans) {
        let code = &text[*code..*end];
        let is_insert = code.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("insert"));
        if !is_insert || stmt.text.contains("vault.") {
            continue;
        }
        let start = stmt.text.as_ptr() as usize - text.as_ptr() as usize;
        let b = bytes.get_or_insert_with(|| text.as_bytes().to_vec());
        for byte in &mut b[start..start + stmt.text.len()] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    // The parser must end each literal where the runner does (see
    // `sql::Reading::reread`): their insides (no rule reads them) are blanked.
    for &(start, end) in &reading.reread {
        let b = bytes.get_or_insert_with(|| text.as_bytes().to_vec());
        let open = start + b[start..end].iter().position(|c| *c == b'\'').unwrap_or(0);
        // An unclosed one is blanked to the end: no character is cut.
        let close = if end - 1 > open && b[end - 1] == b'\'' { end - 1 } else { end };
        for byte in &mut b[open + 1..close] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    // Whole statements and characters were overwritten with ASCII: still UTF-8.
    bytes.map(|b| String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn check_one(index: usize, input: &LintInput, config: &Config) -> Vec<Finding> {
    let up = Parsed::new(&input.up_text);
    let down = input.down_text.as_deref().map(Parsed::new);
    let mut hits = Vec::new();
    locks::check(&up, input, &mut hits);
    backfill::check(&up, input, &mut hits);
    supabase::check(&up, config, &mut hits);
    secrets::check(&up, Side::Up, &mut hits);
    if let Some(down) = &down {
        secrets::check(down, Side::Down, &mut hits);
        reversible::check(&up, down, &mut hits);
        // down.sql drops things by nature; what matters there is whether it can run at all.
        let mut down_hits = Vec::new();
        locks::check(down, input, &mut down_hits);
        hits.extend(down_hits.into_iter().filter(|h| h.rule == IN_TRANSACTION || h.rule == UNBALANCED).map(|mut h| {
            h.side = Side::Down;
            h
        }));
    }
    for (parsed, side) in std::iter::once((&up, Side::Up)).chain(down.as_ref().map(|d| (d, Side::Down))) {
        if let Some((at, message)) = &parsed.parse_error {
            hits.push(Hit {
                rule: PARSE,
                side,
                start: *at,
                end: *at,
                message: format!("the static checks could not read this: {message}"),
                fix: None,
            });
        }
        for (at, name) in &parsed.unknown {
            hits.push(Hit {
                rule: UNKNOWN_RULE,
                side,
                start: *at,
                end: *at,
                message: format!("`migrate:ignore {name}`: there is no rule `{name}`"),
                fix: None,
            });
        }
    }
    let mut findings: Vec<Finding> = hits
        .into_iter()
        .filter_map(|hit| {
            let parsed = match hit.side {
                Side::Up => &up,
                Side::Down => down.as_ref()?,
            };
            if config.off.contains(&hit.rule.name) || parsed.ignored(hit.rule.name, hit.start) {
                return None;
            }
            let (line, column) = parsed.line_col(hit.start);
            let (end_line, end_column) = parsed.line_col(hit.end.max(hit.start));
            Some(Finding {
                rule: hit.rule,
                severity: config.severity.get(hit.rule.name).copied().unwrap_or(hit.rule.severity),
                input: index,
                side: hit.side,
                line,
                column,
                end_line,
                end_column,
                statement: parsed.excerpt(hit.start),
                message: secrets::mask(&hit.message),
                fix: hit.fix,
            })
        })
        .collect();
    findings.sort_by_key(|f| (f.side == Side::Down, f.line, f.column));
    findings
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A transactional migration with this up.sql and no down.sql.
    pub fn input(up: &str) -> LintInput {
        LintInput {
            name: "t".into(),
            path: "up.sql".into(),
            up_text: up.into(),
            down_path: None,
            down_text: None,
            runs_in_transaction: true,
            backfill: None,
        }
    }

    #[test]
    fn a_fingerprint_changes_with_what_decides_the_findings_and_only_with_that() {
        let config = Config::default();
        let base = fingerprint(&input("CREATE TABLE a (id int);"), &config, "build 1");
        let renamed =
            LintInput { name: "other".into(), path: "elsewhere/up.sql".into(), ..input("CREATE TABLE a (id int);") };
        assert_eq!(fingerprint(&renamed, &config, "build 1"), base);
        let other_text = fingerprint(&input("CREATE TABLE b (id int);"), &config, "build 1");
        let other_build = fingerprint(&input("CREATE TABLE a (id int);"), &config, "build 2");
        let off = Config { off: vec!["rls_disabled_in_public"], ..Config::default() };
        let other_config = fingerprint(&input("CREATE TABLE a (id int);"), &off, "build 1");
        let outside = LintInput { runs_in_transaction: false, ..input("CREATE TABLE a (id int);") };
        let with_down = LintInput { down_text: Some(String::new()), ..input("CREATE TABLE a (id int);") };
        let all = [
            &base,
            &other_text,
            &other_build,
            &other_config,
            &fingerprint(&outside, &config, "build 1"),
            &fingerprint(&with_down, &config, "build 1"),
        ];
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
    }

    /// The rule names found in `up` (with `down` when given), in order.
    pub fn rules_of(up: &str, down: Option<&str>, in_transaction: bool) -> Vec<&'static str> {
        let input = LintInput {
            down_path: down.map(|_| "down.sql".into()),
            down_text: down.map(String::from),
            runs_in_transaction: in_transaction,
            ..input(up)
        };
        check(&[input], &Config::default()).into_iter().map(|f| f.rule.name).collect()
    }

    pub fn up(sql: &str) -> Vec<&'static str> {
        rules_of(sql, None, true)
    }

    pub fn has(sql: &str, rule: &Rule) -> bool {
        up(sql).contains(&rule.name)
    }

    #[test]
    fn rule_names_are_unique_and_snake_case() {
        let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
    }

    #[test]
    fn ignore_comments_per_statement_and_per_file() {
        let sql = "SET lock_timeout = '1s';\nDROP TABLE a;\nDROP TABLE b; -- migrate:ignore drop_table\n-- migrate:ignore drop_table, rename -- nobody reads c\nDROP TABLE c;\n";
        let found = check(&[input(sql)], &Config::default());
        let lines: Vec<usize> = found.iter().filter(|f| f.rule == DROP_TABLE).map(|f| f.line).collect();
        assert_eq!(lines, [2]);
        let whole = format!("-- migrate:ignore-file drop_table\n{sql}");
        assert!(check(&[input(&whole)], &Config::default()).iter().all(|f| f.rule != DROP_TABLE));
        let typo = check(
            &[input("-- migrate:ignore drop_tabel\nSET lock_timeout = '1s';\nDROP TABLE a;")],
            &Config::default(),
        );
        assert_eq!(typo.iter().map(|f| f.rule.name).collect::<Vec<_>>(), ["unknown_rule", "drop_table"]);
    }

    #[test]
    fn config_turns_rules_off_and_changes_severity() {
        let table: toml::Table =
            "ignore = [\"drop_table\"]\nseverity = { rename = \"error\", set_not_null = \"off\" }\nexposed_schemas = [\"api\"]"
                .parse()
                .unwrap();
        let config = Config::from_toml(&table).unwrap();
        assert_eq!(config.off, ["drop_table", "set_not_null"]);
        assert_eq!(config.severity.get("rename"), Some(&Severity::Error));
        let bad: toml::Table = "ignore = [\"drop_tables\"]".parse().unwrap();
        assert!(Config::from_toml(&bad).unwrap_err().contains("`drop_tables` is no rule"));
        let input = input("SET lock_timeout = '1s'; DROP TABLE a; ALTER TABLE b RENAME TO c; CREATE TABLE api.x (id int); CREATE TABLE public.y (id int);");
        let found: Vec<(&str, Severity)> = check(&[input], &config).iter().map(|f| (f.rule.name, f.severity)).collect();
        assert_eq!(found, [("rename", Severity::Error), ("rls_disabled_in_public", Severity::Warn)]);
    }

    #[test]
    fn unreadable_sql_is_said_once_and_valid_sql_is_read() {
        assert_eq!(up("SELEC 1;"), ["parse_error"]);
        assert_eq!(up("\\echo use CREATE EXTENSION \\quit\nSELECT 1;"), ["parse_error"]);
        for valid in [
            "DO $$ BEGIN PERFORM 1; END $$;",
            "CREATE FUNCTION x.one() RETURNS int LANGUAGE sql SET search_path = '' BEGIN ATOMIC SELECT 1; END;",
            "CREATE TABLE x.t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc jsonb DEFAULT '{}', v x.vector(3));",
            "WITH d AS (DELETE FROM x.t WHERE id < 0 RETURNING id) INSERT INTO x.log SELECT id FROM d ON CONFLICT DO NOTHING;",
            "COMMENT ON TABLE x.t IS 'a; b';",
        ] {
            assert!(!up(valid).contains(&"parse_error"), "{valid}: {:?}", up(valid));
        }
    }

    #[test]
    fn rows_of_data_are_not_parsed_but_keep_their_lines() {
        let mut sql = String::from("CREATE TABLE x.t (id int, body text);\n");
        for i in 0..3 {
            sql.push_str(&format!("INSERT INTO x.t VALUES ({i}, 'é; ''{i}'''); -- row {i}\n"));
        }
        sql.push_str("INSERT INTO x.t VALUES (9, 'é', 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz');\nSELEC 1;\n");
        let input = input(&sql);
        let found: Vec<(&str, usize, usize)> =
            check(&[input], &Config::default()).iter().map(|f| (f.rule.name, f.line, f.column)).collect();
        assert_eq!(found, [("hardcoded_secret", 5, 34), ("parse_error", 6, 1)]);
    }

    #[test]
    fn only_inserts_are_blanked_byte_for_byte() {
        let sql =
            "CREATE TABLE t (a text);\n-- one\nINSERT INTO t VALUES ('é;\n');\nSELECT vault.create_secret('x');\n";
        let blanked = blank_data(sql, &crate::sql::read(sql)).expect("an INSERT to blank");
        assert_eq!(blanked.len(), sql.len());
        assert_eq!(blanked.lines().count(), sql.lines().count());
        assert!(
            blanked.starts_with("CREATE TABLE t (a text);") && !blanked.contains("INSERT") && !blanked.contains("one")
        );
        assert!(blanked.contains("SELECT vault.create_secret('x');"));
        let sql = "SELECT 1; INSERT INTO t SELECT vault.create_secret('x');";
        assert_eq!(blank_data(sql, &crate::sql::read(sql)), None);
    }

    #[test]
    fn statements_are_the_ones_the_runner_sends() {
        // The E'' string goes on after the newline: `DROP TABLE t` is text, never run.
        let sql = "SET lock_timeout = '1s';\nSELECT E'a'\n'\\'; -- migrate:ignore drop_table\nDROP TABLE t; ';\nDROP TABLE u;\n";
        let found: Vec<(&str, usize)> =
            check(&[input(sql)], &Config::default()).iter().map(|f| (f.rule.name, f.line)).collect();
        assert_eq!(found, [("drop_table", 5)]);
        let off = "SET standard_conforming_strings = off;\nSET lock_timeout = '1s';\nSELECT 'a\\';\nDROP TABLE t; ';\nDROP TABLE u;\n";
        let found: Vec<(&str, usize)> =
            check(&[input(off)], &Config::default()).iter().map(|f| (f.rule.name, f.line)).collect();
        assert_eq!(found, [("drop_table", 5)]);
    }

    #[test]
    fn positions_are_lines_and_character_columns() {
        let input = input("-- é\nSET lock_timeout = '1s';\n  /* é */ DROP TABLE a;");
        let f = &check(&[input], &Config::default())[0];
        assert_eq!((f.line, f.column, f.statement.as_str()), (3, 11, "/* é */ DROP TABLE a;"));
    }
}
