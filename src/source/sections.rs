//! Single-file migrations: a Supabase file is all "up"; dbmate
//! (`-- migrate:up` / `-- migrate:down`, `transaction:false`) and
//! node-pg-migrate (`-- Up Migration` / `-- Down Migration`) keep both
//! directions in one file. Pure: text in, sections out.
//!
//! A section keeps its lines where they are in the file (everything else is
//! blanked to empty lines), so an error's line number is the file's.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// No markers: the whole file is the up migration (Supabase, plain SQL).
    Plain,
    Dbmate,
    NodePgMigrate,
    /// `-- +goose Up` / `-- +goose Down`; `-- +goose NO TRANSACTION` anywhere.
    Goose,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Plain => "plain SQL",
            Format::Dbmate => "dbmate",
            Format::NodePgMigrate => "node-pg-migrate",
            Format::Goose => "goose",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sections {
    pub format: Format,
    pub up: String,
    /// None when the file has no down section at all (up-only).
    pub down: Option<String>,
    /// dbmate's `transaction:false` on the up marker.
    pub up_in_transaction: bool,
    pub down_in_transaction: bool,
    /// Whether the file has an up marker (a plain file is all up).
    pub has_up: bool,
    /// What precedes the first marker, lines kept: SQL there is in no section.
    pub before: String,
    /// goose's `-- +goose ENVSUB ON`: the file expects `${VAR}` substituted.
    pub envsub: bool,
}

impl Sections {
    /// Why the file is not a migration its tool would run, if it is not:
    /// no up marker, or SQL before the first marker (dbmate refuses both).
    /// Running it as it is would record as applied SQL that never ran.
    pub fn malformed(&self) -> Option<String> {
        let up = match self.format {
            Format::Plain => return None,
            Format::Dbmate => "`-- migrate:up`",
            Format::NodePgMigrate => "`-- Up Migration`",
            Format::Goose => "`-- +goose Up`",
        };
        if self.envsub {
            return Some("it turns on goose's `-- +goose ENVSUB ON` (environment variables substituted into the SQL), which cargo migrate does not do".into());
        }
        if !self.has_up {
            return Some(format!("it has no {up} line, so no up section"));
        }
        let stray =
            crate::sql::split_statements(&self.before).into_iter().find(|s| crate::sql::has_statement(s.text))?;
        let (line, _, _) = crate::sql::locate(&self.before, stray.char_offset + crate::sql::code_start(stray.text) + 1);
        Some(format!("line {line} holds SQL before the first marker, in no section (it would never run)"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Up { transaction: bool },
    Down { transaction: bool },
}

/// goose's annotation on a line (`-- +goose Up`, any case), canonical, if any.
fn goose_annotation(line: &str) -> Option<String> {
    if !line.trim_start().starts_with("--") || !line.contains("+goose") {
        return None;
    }
    let cmd = line.replace("--", "").replacen("+goose", "", 1);
    Some(cmd.trim().to_ascii_uppercase())
}

/// What a line marks, if anything.
fn marker(line: &str) -> Option<(Format, Marker)> {
    match goose_annotation(line).as_deref() {
        Some("UP") => return Some((Format::Goose, Marker::Up { transaction: true })),
        Some("DOWN") => return Some((Format::Goose, Marker::Down { transaction: true })),
        Some(_) => return None,
        None => {}
    }
    let t = line.trim();
    let rest = t.strip_prefix("--")?;
    let words = rest.trim_start();
    // dbmate: the word ends there (`-- migrate:update …` is a comment).
    let ends = |o: &&str| o.is_empty() || o.starts_with(char::is_whitespace);
    if let Some(opts) = words.strip_prefix("migrate:up").filter(ends) {
        return Some((Format::Dbmate, Marker::Up { transaction: dbmate_transaction(opts) }));
    }
    if let Some(opts) = words.strip_prefix("migrate:down").filter(ends) {
        return Some((Format::Dbmate, Marker::Down { transaction: dbmate_transaction(opts) }));
    }
    // node-pg-migrate accepts `-- Up Migration`, any case, extra dashes, and
    // anything after it (its regex is `^\s*--[\s-]*up\s+migration`):
    // `-- Up Migration: add users` is a marker to it, so it is to us.
    let words = words.trim_start_matches(['-', ' ', '\t']).to_ascii_lowercase();
    let mut w = words.split_whitespace();
    let (first, second) = (w.next(), w.next());
    if !second.is_some_and(|s| s.starts_with("migration")) {
        return None;
    }
    match first {
        Some("up") => Some((Format::NodePgMigrate, Marker::Up { transaction: true })),
        Some("down") => Some((Format::NodePgMigrate, Marker::Down { transaction: true })),
        _ => None,
    }
}

fn dbmate_transaction(opts: &str) -> bool {
    !opts.split_whitespace().any(|o| o == "transaction:false")
}

pub fn split(text: &str) -> Sections {
    // Where each marker is: (line index, marker). Only the first format seen
    // counts, and only the first up and first down marker, as both tools
    // find them: a later one is part of its section (a comment).
    let mut format = Format::Plain;
    let mut marks: Vec<(usize, Marker)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if let Some((f, m)) = marker(line) {
            if format == Format::Plain {
                format = f;
            }
            let is_up = |m: &Marker| matches!(m, Marker::Up { .. });
            if f == format && !marks.iter().any(|(_, seen)| is_up(seen) == is_up(&m)) {
                marks.push((i, m));
            }
        }
    }
    if format == Format::Plain {
        // sqlx's opt-out: the file's very first line.
        let transaction = !text.starts_with("-- no-transaction");
        return Sections {
            format,
            up: text.to_string(),
            down: None,
            up_in_transaction: transaction,
            down_in_transaction: transaction,
            has_up: true,
            before: String::new(),
            envsub: false,
        };
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let first = marks.first().map_or(0, |(i, _)| *i);
    let section = |want_up: bool| -> Option<(String, bool)> {
        let (start, m) = marks.iter().find(|(_, m)| matches!(m, Marker::Up { .. }) == want_up)?;
        let end = marks.iter().map(|(i, _)| *i).find(|i| i > start).unwrap_or(lines.len());
        let mut out = "\n".repeat(start + 1);
        out.push_str(&lines[start + 1..end].join("\n"));
        let transaction = match m {
            Marker::Up { transaction } | Marker::Down { transaction } => *transaction,
        };
        Some((out, transaction))
    };
    let up = section(true);
    let has_up = up.is_some();
    let (up, mut up_in_transaction) = up.unwrap_or_default();
    let down = section(false);
    let mut down_in_transaction = down.as_ref().is_none_or(|d| d.1);
    let mut envsub = false;
    if format == Format::Goose {
        // goose: `NO TRANSACTION` anywhere applies to the whole file; its
        // StatementBegin/End only guide goose's own splitter (ours reads the SQL).
        for a in lines.iter().filter_map(|l| goose_annotation(l)) {
            match a.as_str() {
                "NO TRANSACTION" => (up_in_transaction, down_in_transaction) = (false, false),
                "ENVSUB ON" => envsub = true,
                _ => {}
            }
        }
    }
    Sections {
        format,
        up,
        up_in_transaction,
        down_in_transaction,
        down: down.map(|d| d.0),
        has_up,
        before: lines[..first].join("\n"),
        envsub,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_file_is_all_up() {
        let s = split("create table a (id int);\n");
        assert_eq!(s.format, Format::Plain);
        assert_eq!(s.up, "create table a (id int);\n");
        assert_eq!(s.down, None);
    }

    #[test]
    fn dbmate_sections_keep_their_line_numbers() {
        let text = "-- a comment\n-- migrate:up transaction:false\ncreate index concurrently i on t (a);\n\n-- migrate:down\ndrop index i;\n";
        let s = split(text);
        assert_eq!(s.format, Format::Dbmate);
        assert!(!s.up_in_transaction);
        assert!(s.down_in_transaction);
        assert_eq!(s.up.lines().position(|l| l.contains("create index")), Some(2));
        let down = s.down.unwrap();
        assert_eq!(down.lines().position(|l| l.contains("drop index")), Some(5));
        assert!(!s.up.contains("drop index"));
    }

    #[test]
    fn node_pg_migrate_sections() {
        let s = split("-- Up Migration\nCREATE TABLE t (id int);\n-- Down Migration\nDROP TABLE t;\n");
        assert_eq!(s.format, Format::NodePgMigrate);
        assert!(s.up.contains("CREATE TABLE") && !s.up.contains("DROP"));
        assert!(s.down.unwrap().contains("DROP TABLE"));
    }

    #[test]
    fn node_pg_migrate_markers_may_say_more() {
        let s = split("-- Up Migration: add users\nCREATE TABLE users (id int);\n-- Down Migration (drop them)\nDROP TABLE users;\n");
        assert_eq!(s.format, Format::NodePgMigrate);
        assert!(s.up.contains("CREATE TABLE") && !s.up.contains("DROP"), "{s:?}");
        assert!(s.down.unwrap().contains("DROP TABLE"));
    }

    #[test]
    fn only_the_first_marker_of_each_kind_counts() {
        let s = split("-- Up Migration\n-- Up migration of users\nCREATE TABLE users (id int);\n-- Down Migration\nDROP TABLE users;\n");
        assert!(s.up.contains("CREATE TABLE") && !s.up.contains("DROP"), "{s:?}");
        assert_eq!(s.up.lines().position(|l| l.contains("CREATE")), Some(2));
        // dbmate's up block runs from the first up marker to the down marker.
        let s = split("-- migrate:up\nselect 1;\n-- migrate:up\nselect 2;\n-- migrate:down\nselect 3;\n");
        assert!(s.up.contains("select 2") && !s.up.contains("select 3"), "{s:?}");
    }

    #[test]
    fn up_only_dbmate_file_has_no_down() {
        let s = split("-- migrate:up\nselect 1;\n");
        assert_eq!(s.down, None);
    }

    #[test]
    fn sql_outside_every_section_is_malformed() {
        assert_eq!(split("-- a note\n\n-- migrate:up\nselect 1;\n").malformed(), None);
        let stray = split("-- a note\ncreate table t ();\n-- migrate:down\ndrop table t;\n");
        assert!(stray.malformed().is_some_and(|why| why.contains("no up section")), "{stray:?}");
        let before = split("-- a note\ncreate type s as enum ('a');\n-- Up Migration\ncreate table t (s s);\n");
        assert!(before.malformed().is_some_and(|why| why.contains("line 2")), "{before:?}");
        assert_eq!(split("create table t ();\n").malformed(), None);
    }

    #[test]
    fn goose_sections_and_annotations() {
        let text = "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- +goose StatementEnd\n\n-- +goose down\nDROP FUNCTION f();\n";
        let s = split(text);
        assert_eq!(s.format, Format::Goose);
        assert!(s.up.contains("CREATE FUNCTION") && !s.up.contains("DROP"), "{s:?}");
        assert!(s.down.as_deref().unwrap().contains("DROP FUNCTION"));
        assert!(s.up_in_transaction && s.malformed().is_none());
        let s = split("-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
        assert!(!s.up_in_transaction && s.down.is_none(), "{s:?}");
        assert!(split("-- +goose ENVSUB ON\n-- +goose Up\nselect '${X}';\n").malformed().is_some());
    }

    #[test]
    fn sqlx_no_transaction_is_the_first_line() {
        assert!(!split("-- no-transaction\ncreate index concurrently i on t (a);\n").up_in_transaction);
        assert!(split("select 1;\n-- no-transaction\n").up_in_transaction);
    }

    #[test]
    fn a_comment_that_mentions_migrations_is_not_a_marker() {
        let s = split("-- this up migration adds a table\ncreate table t ();\n");
        assert_eq!(s.format, Format::Plain);
        let s = split("-- migrate:update the prices later\nupdate t set a = 1;\n");
        assert_eq!(s.format, Format::Plain);
    }
}
