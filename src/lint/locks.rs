//! Lock and rewrite hazards on tables that already exist (a table this
//! migration creates is empty and unseen: nothing waits on it), and
//! transaction mistakes.

use std::collections::HashMap;

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SyntaxKind, SyntaxNode};

use super::syntax::{self, child, descendant, has_token, QName};
use super::{Hit, LintInput, Parsed};
use crate::sql::OwnTransactions;

/// Functions whose default makes ADD COLUMN rewrite the table (volatile).
const VOLATILE: &[&str] =
    &["gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4", "random", "clock_timestamp", "timeofday", "nextval"];

const SERIAL: &[&str] = &["serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"];

/// The first table a node names (its outermost path).
pub fn table_of(node: &SyntaxNode) -> Option<QName> {
    node.descendants().find(|n| matches!(n.kind(), SyntaxKind::PATH | SyntaxKind::PATH_REF)).map(|p| syntax::qname(&p))
}

/// Tables created in the file, with the index of the statement that creates them.
pub fn created_tables(parsed: &Parsed) -> HashMap<QName, usize> {
    let mut created = HashMap::new();
    for (i, stmt) in parsed.stmts.iter().enumerate() {
        let name = match stmt {
            ast::Stmt::CreateTable(t) => t.table_name().and_then(|n| table_of(n.syntax())),
            ast::Stmt::CreateTableAs(t) => table_of(t.syntax()),
            _ => None,
        };
        if let Some(name) = name {
            created.entry(name).or_insert(i);
        }
    }
    created
}

/// Where each lock finding is explained with what to do instead (a heading per rule).
pub const DOC: &str = "docs/large-tables.md";

/// The rules of this family whose help links to their section of [`DOC`].
const DOCUMENTED: &[&super::Rule] = &[
    super::CREATE_INDEX,
    super::DROP_INDEX,
    super::ADD_COLUMN_NOT_NULL,
    super::ADD_COLUMN_REWRITE,
    super::SET_NOT_NULL,
    super::ALTER_COLUMN_TYPE,
    super::NOT_VALID,
    super::UNIQUE_INDEX,
    super::RENAME,
    super::LOCK_TIMEOUT,
];

pub fn check(parsed: &Parsed, input: &LintInput, hits: &mut Vec<Hit>) {
    let first = hits.len();
    check_locks(parsed, input, hits);
    for h in &mut hits[first..] {
        if DOCUMENTED.iter().any(|r| r.name == h.rule.name) {
            let fix = h.fix.take().unwrap_or_else(|| h.rule.fix.to_string());
            h.fix = Some(format!("{fix} ({DOC}#{})", h.rule.name));
        }
    }
}

fn check_locks(parsed: &Parsed, input: &LintInput, hits: &mut Vec<Hit>) {
    let created = created_tables(parsed);
    let is_new = |t: &QName, i: usize| created.get(t).is_some_and(|&c| c < i);
    let created_indexes: Vec<QName> = parsed
        .stmts
        .iter()
        .filter_map(|s| match s {
            ast::Stmt::CreateIndex(ci) => ci.index().map(|n| syntax::qname(n.syntax())),
            _ => None,
        })
        .collect();

    let own = &parsed.own;
    transactions(parsed, input, own, hits);
    // Whether a statement runs inside a transaction: the migration's own (unless the
    // file runs block by block), or a block the file opens itself.
    let whole_file_in_transaction = input.runs_in_transaction && !matches!(own, OwnTransactions::Balanced);
    let mut in_block = false;
    let mut lock_timeout = false;
    let mut lock_reported = false;

    for (i, stmt) in parsed.stmts.iter().enumerate() {
        let node = stmt.syntax();
        let mut locks: Option<QName> = None;
        match stmt {
            ast::Stmt::Begin(_) => in_block = true,
            ast::Stmt::Commit(_) | ast::Stmt::Rollback(_) => in_block = false,
            ast::Stmt::Set(_) | ast::Stmt::Select(_) => {
                if let Some(on) = sets_lock_timeout(&node.text().to_string()) {
                    lock_timeout = on;
                }
            }
            ast::Stmt::CreateIndex(ci) => {
                let table = ci.table_relation_name().and_then(|r| table_of(r.syntax()));
                if ci.concurrently_token().is_none() {
                    if let Some(t) = table.filter(|t| !is_new(t, i)) {
                        hits.push(Hit::at(
                            super::CREATE_INDEX,
                            node,
                            format!("CREATE INDEX on {t} blocks writes to it while the index builds"),
                        ));
                        locks = Some(t);
                    }
                }
            }
            ast::Stmt::DropIndex(di) if di.concurrently_token().is_none() => {
                let dropped: Vec<QName> = di.index_refs().filter_map(|r| table_of(r.syntax())).collect();
                // An index this migration made is on a table nothing uses yet, or its drop is deliberate.
                if let Some(ix) = dropped.into_iter().find(|ix| !created_indexes.iter().any(|c| c.name == ix.name)) {
                    hits.push(Hit::at(
                        super::DROP_INDEX,
                        node,
                        format!("DROP INDEX {ix} locks its table against reads and writes"),
                    ));
                    locks = Some(ix);
                }
            }
            ast::Stmt::AlterTable(at) => {
                let Some(table) = at.table_relation_name().and_then(|r| table_of(r.syntax())) else { continue };
                if !is_new(&table, i) {
                    let mut heavy = false;
                    for action in at.actions() {
                        heavy |= !matches!(action, ast::AlterTableAction::ValidateConstraint(_));
                        alter_action(&action, &table, hits);
                    }
                    if heavy {
                        locks = Some(table);
                    }
                }
            }
            ast::Stmt::DropTable(dt) => {
                for t in dt.table_name_refs().filter_map(|r| table_of(r.syntax())) {
                    if !is_new(&t, i) {
                        hits.push(Hit::at(
                            super::DROP_TABLE,
                            node,
                            format!("DROP TABLE {t} deletes its rows for good"),
                        ));
                        locks.get_or_insert(t);
                    }
                }
            }
            ast::Stmt::CreateTrigger(ct) => {
                locks = ct.on_relation().and_then(|r| table_of(r.syntax())).filter(|t| !is_new(t, i));
            }
            ast::Stmt::DropTrigger(dt) => {
                locks = dt.on_relation().and_then(|r| table_of(r.syntax())).filter(|t| !is_new(t, i));
            }
            ast::Stmt::CreatePolicy(p) => {
                locks = p.on_table().and_then(|r| table_of(r.syntax())).filter(|t| !is_new(t, i));
            }
            ast::Stmt::AlterPolicy(p) => {
                locks = p.on_table().and_then(|r| table_of(r.syntax())).filter(|t| !is_new(t, i));
            }
            ast::Stmt::DropPolicy(p) => {
                locks = p.on_table().and_then(|r| table_of(r.syntax())).filter(|t| !is_new(t, i));
            }
            _ => {}
        }
        // CONCURRENTLY (index builds, drops, reindex, detach partition) refuses a
        // transaction block; REFRESH MATERIALIZED VIEW CONCURRENTLY does not.
        let concurrent = !matches!(stmt, ast::Stmt::Refresh(_))
            && !matches!(stmt, ast::Stmt::CreateFunction(_) | ast::Stmt::CreateProcedure(_) | ast::Stmt::Do(_))
            && has_token(node, SyntaxKind::CONCURRENTLY_KW);
        if concurrent && (whole_file_in_transaction || in_block) {
            let metadata = input.path.parent().map(|d| d.join("metadata.toml"));
            let fix = match (&metadata, in_block) {
                (_, true) => "move it out of the file's BEGIN … COMMIT block".to_string(),
                (Some(m), false) => format!(
                    "put it in a migration of its own and write `run_in_transaction = false` into {}",
                    m.display()
                ),
                (None, false) => super::IN_TRANSACTION.fix.to_string(),
            };
            hits.push(
                Hit::at(
                    super::IN_TRANSACTION,
                    node,
                    "CONCURRENTLY cannot run inside a transaction block: this migration will fail",
                )
                .with_fix(fix),
            );
        }
        if let Some(t) = locks {
            if !lock_timeout && !lock_reported {
                lock_reported = true;
                hits.push(Hit::at(
                    super::LOCK_TIMEOUT,
                    node,
                    format!("this locks {t}, which exists already, and no `SET lock_timeout` comes before it"),
                ));
            }
        }
    }
}

/// Whether a statement sets lock_timeout to a limit (Some(true)) or turns it
/// off with 0 (Some(false), as pg_dump's header does); None: it does not set it.
fn sets_lock_timeout(text: &str) -> Option<bool> {
    let compact: String =
        text.to_ascii_lowercase().chars().filter(|c| !c.is_whitespace() && *c != '\'' && *c != '"').collect();
    let at = compact.find("lock_timeout")? + "lock_timeout".len();
    let rest = &compact[at..];
    let value = rest.strip_prefix('=').or_else(|| rest.strip_prefix("to")).or_else(|| rest.strip_prefix(','))?;
    let value: String = value.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    let digits: String = value.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    Some(digits.parse::<f64>().map_or(true, |n| n > 0.0))
}

fn transactions(parsed: &Parsed, input: &LintInput, own: &OwnTransactions, hits: &mut Vec<Hit>) {
    if !input.runs_in_transaction {
        return;
    }
    let first_control = || {
        parsed.stmts.iter().find(|s| matches!(s, ast::Stmt::Begin(_) | ast::Stmt::Commit(_) | ast::Stmt::Rollback(_)))
    };
    match own {
        OwnTransactions::No => {}
        OwnTransactions::Wrapped(_) => {
            if let Some(s) = first_control() {
                hits.push(Hit::at(
                    super::TRANSACTION_CONTROL,
                    s.syntax(),
                    "the file is one BEGIN … COMMIT: it runs inside the migration's own transaction, so they are not needed",
                ));
            }
        }
        OwnTransactions::Balanced => {
            if let Some(s) = first_control() {
                hits.push(Hit::at(
                    super::TRANSACTION_CONTROL,
                    s.syntax(),
                    "the file opens and closes its own transactions: it runs block by block, and a failure leaves the blocks before it applied",
                ));
            }
        }
        OwnTransactions::Unbalanced(line, word) => {
            let at = parsed.line_start(*line);
            let end = parsed.text[at..].find('\n').map_or(parsed.text.len(), |n| at + n);
            hits.push(Hit {
                rule: super::UNBALANCED,
                side: super::Side::Up,
                start: at,
                end,
                message: format!(
                    "`{word}` closes or opens no transaction block of the file's own: cargo migrate refuses to run it"
                ),
                fix: None,
            });
        }
    }
}

fn alter_action(action: &ast::AlterTableAction, table: &QName, hits: &mut Vec<Hit>) {
    let node = action.syntax();
    match action {
        ast::AlterTableAction::AddColumn(ac) => {
            let column = ac.column_name().map(|c| syntax::ident(&c.syntax().text().to_string())).unwrap_or_default();
            let kinds: Vec<SyntaxKind> = node.children().map(|c| c.kind()).collect();
            let default = child(node, SyntaxKind::DEFAULT_CONSTRAINT);
            let generated = child(node, SyntaxKind::GENERATED_CONSTRAINT);
            if kinds.contains(&SyntaxKind::NOT_NULL_CONSTRAINT) && default.is_none() && generated.is_none() {
                hits.push(Hit::at(
                    super::ADD_COLUMN_NOT_NULL,
                    node,
                    format!("{table}.{column} is NOT NULL without a default: this fails once the table has rows"),
                ));
            }
            let volatile = default.as_ref().and_then(|d| {
                d.descendants()
                    .filter(|n| n.kind() == SyntaxKind::CALL_EXPR)
                    .filter_map(|c| syntax::called(&c))
                    .find(|f| VOLATILE.contains(&f.rsplit('.').next().unwrap_or(f)))
            });
            let ty = ac.ty().map(|t| t.syntax().text().to_string().to_ascii_lowercase()).unwrap_or_default();
            let stored =
                generated.as_ref().is_some_and(|g| syntax::tokens(g).any(|t| t.text().eq_ignore_ascii_case("stored")));
            let why = if let Some(f) = volatile {
                Some(format!("its default {f}() is volatile"))
            } else if SERIAL.contains(&ty.as_str()) {
                Some(format!("a {ty} fills every row from a sequence"))
            } else if stored {
                Some("a stored generated column is computed for every row".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                hits.push(Hit::at(
                    super::ADD_COLUMN_REWRITE,
                    node,
                    format!("adding {table}.{column} rewrites the whole table: {why}"),
                ));
            }
            if let Some(r) = child(node, SyntaxKind::REFERENCES_CONSTRAINT) {
                hits.push(
                    Hit::at(
                        super::NOT_VALID,
                        &r,
                        format!("the foreign key on new column {table}.{column} is checked against every row of {table} under lock"),
                    )
                    .with_fix("add the column without REFERENCES, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID and VALIDATE CONSTRAINT separately"),
                );
            }
            if let Some(u) = node
                .children()
                .find(|c| matches!(c.kind(), SyntaxKind::UNIQUE_CONSTRAINT | SyntaxKind::PRIMARY_KEY_CONSTRAINT))
            {
                hits.push(Hit::at(
                    super::UNIQUE_INDEX,
                    &u,
                    format!("the unique index for {table}.{column} is built while writes to {table} wait"),
                ));
            }
        }
        ast::AlterTableAction::AddConstraint(ac) => {
            let Some(c) = ac.constraint() else { return };
            let c = c.syntax();
            match c.kind() {
                SyntaxKind::CHECK_CONSTRAINT | SyntaxKind::FOREIGN_KEY_CONSTRAINT
                    if descendant(c, SyntaxKind::NOT_VALID).is_none() =>
                {
                    let what = if c.kind() == SyntaxKind::CHECK_CONSTRAINT { "CHECK" } else { "FOREIGN KEY" };
                    hits.push(Hit::at(
                        super::NOT_VALID,
                        node,
                        format!("{what} on {table} without NOT VALID checks every row while writes wait"),
                    ));
                }
                SyntaxKind::UNIQUE_CONSTRAINT | SyntaxKind::PRIMARY_KEY_CONSTRAINT | SyntaxKind::EXCLUDE_CONSTRAINT
                    if descendant(c, SyntaxKind::USING_INDEX_NAME).is_none() =>
                {
                    hits.push(Hit::at(
                        super::UNIQUE_INDEX,
                        node,
                        format!("this builds an index on {table} while writes to it wait"),
                    ));
                }
                _ => {}
            }
        }
        ast::AlterTableAction::AlterColumn(ac) => {
            let column =
                ac.column_name_ref().map(|c| syntax::ident(&c.syntax().text().to_string())).unwrap_or_default();
            if child(node, SyntaxKind::SET_NOT_NULL).is_some() {
                hits.push(Hit::at(
                    super::SET_NOT_NULL,
                    node,
                    format!("SET NOT NULL on {table}.{column} scans the table while reads and writes wait"),
                ));
            }
            if child(node, SyntaxKind::SET_TYPE).is_some() {
                hits.push(Hit::at(
                    super::ALTER_COLUMN_TYPE,
                    node,
                    format!("changing the type of {table}.{column} may rewrite the table while reads and writes wait"),
                ));
            }
        }
        ast::AlterTableAction::RenameColumn(rc) => {
            let column =
                rc.column_name_ref().map(|c| syntax::ident(&c.syntax().text().to_string())).unwrap_or_default();
            hits.push(Hit::at(
                super::RENAME,
                node,
                format!("renaming {table}.{column} breaks the running application's queries that use it"),
            ));
        }
        ast::AlterTableAction::TableRenameTo(_) => {
            hits.push(Hit::at(
                super::RENAME,
                node,
                format!("renaming {table} breaks the running application's queries that use it"),
            ));
        }
        ast::AlterTableAction::DropColumn(dc) => {
            let column =
                dc.column_name_ref().map(|c| syntax::ident(&c.syntax().text().to_string())).unwrap_or_default();
            hits.push(Hit::at(
                super::DROP_COLUMN,
                node,
                format!("dropping {table}.{column} deletes its data for good"),
            ));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{has, rules_of, up};
    use super::super::*;

    const T: &str = "SET lock_timeout = '5s';\n";

    #[test]
    fn create_index() {
        assert!(has(&format!("{T}CREATE INDEX i ON t (a);"), CREATE_INDEX));
        assert!(!has(&format!("{T}CREATE TABLE t (a int); CREATE INDEX i ON t (a);"), CREATE_INDEX));
        assert!(!has(&format!("{T}CREATE TABLE public.t (a int); CREATE INDEX i ON t (a);"), CREATE_INDEX));
        assert!(
            !rules_of(&format!("{T}CREATE INDEX CONCURRENTLY i ON t (a);"), None, false).contains(&CREATE_INDEX.name)
        );
    }

    #[test]
    fn drop_index() {
        assert!(has(&format!("{T}DROP INDEX i;"), DROP_INDEX));
        assert!(!rules_of(&format!("{T}DROP INDEX CONCURRENTLY i;"), None, false).contains(&DROP_INDEX.name));
    }

    #[test]
    fn concurrently_in_a_transaction() {
        assert_eq!(up("CREATE INDEX CONCURRENTLY i ON t (a);"), ["concurrently_in_transaction"]);
        assert_eq!(up("DROP INDEX CONCURRENTLY i;"), ["concurrently_in_transaction"]);
        assert!(rules_of("CREATE INDEX CONCURRENTLY i ON t (a);", None, false).is_empty());
        // Inside the file's own block, even without the migration's transaction.
        assert!(rules_of("BEGIN; CREATE INDEX CONCURRENTLY i ON t (a); COMMIT;", None, false)
            .contains(&"concurrently_in_transaction"));
        // REFRESH … CONCURRENTLY runs in a transaction.
        assert!(up("REFRESH MATERIALIZED VIEW CONCURRENTLY v;").is_empty());
        // down.sql runs in the migration's transaction too; its drops are not lock hazards.
        let create = "SET lock_timeout = '1s'; CREATE TABLE x.t (a int); CREATE INDEX i ON x.t (a);";
        assert_eq!(
            rules_of(create, Some("DROP INDEX CONCURRENTLY x.i; DROP TABLE x.t;"), true),
            ["concurrently_in_transaction"]
        );
        assert!(rules_of(create, Some("DROP INDEX x.i; DROP TABLE x.t;"), true).is_empty());
        assert_eq!(rules_of(create, Some("DROP TABLE x.t;\nCOMMIT;"), true), ["transaction_unbalanced"]);
    }

    #[test]
    fn add_column() {
        assert!(has(&format!("{T}ALTER TABLE t ADD COLUMN a int NOT NULL;"), ADD_COLUMN_NOT_NULL));
        assert!(!has(&format!("{T}ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT 0;"), ADD_COLUMN_NOT_NULL));
        assert!(!has(
            &format!("{T}CREATE TABLE t (id int); ALTER TABLE t ADD COLUMN a int NOT NULL;"),
            ADD_COLUMN_NOT_NULL
        ));
        assert!(has(
            &format!("{T}ALTER TABLE t ADD COLUMN a uuid NOT NULL DEFAULT gen_random_uuid();"),
            ADD_COLUMN_REWRITE
        ));
        assert!(has(&format!("{T}ALTER TABLE t ADD COLUMN a bigserial;"), ADD_COLUMN_REWRITE));
        assert!(has(
            &format!("{T}ALTER TABLE t ADD COLUMN s tsvector GENERATED ALWAYS AS (to_tsvector('english', c)) STORED;"),
            ADD_COLUMN_REWRITE
        ));
        // now() is stable: evaluated once, no rewrite (PostgreSQL 11+).
        assert_eq!(
            up(&format!("{T}ALTER TABLE t ADD COLUMN a timestamptz NOT NULL DEFAULT now();")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn set_not_null_and_type() {
        assert!(has(&format!("{T}ALTER TABLE t ALTER COLUMN a SET NOT NULL;"), SET_NOT_NULL));
        assert!(!has(&format!("{T}ALTER TABLE t ALTER COLUMN a DROP NOT NULL;"), SET_NOT_NULL));
        assert!(has(&format!("{T}ALTER TABLE t ALTER COLUMN a TYPE bigint;"), ALTER_COLUMN_TYPE));
        assert!(!has(&format!("{T}ALTER TABLE t ALTER COLUMN a SET DEFAULT 1;"), ALTER_COLUMN_TYPE));
    }

    #[test]
    fn constraints() {
        assert!(has(&format!("{T}ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);"), NOT_VALID));
        assert!(has(&format!("{T}ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id);"), NOT_VALID));
        assert!(has(&format!("{T}ALTER TABLE t ADD COLUMN p uuid REFERENCES p (id);"), NOT_VALID));
        assert!(!has(&format!("{T}ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;"), NOT_VALID));
        assert!(!has(&format!("{T}ALTER TABLE t VALIDATE CONSTRAINT c;"), NOT_VALID));
        assert!(has(&format!("{T}ALTER TABLE t ADD CONSTRAINT u UNIQUE (a);"), UNIQUE_INDEX));
        assert!(has(&format!("{T}ALTER TABLE t ADD PRIMARY KEY (a);"), UNIQUE_INDEX));
        assert!(!has(&format!("{T}ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX t_a;"), UNIQUE_INDEX));
        assert!(!has(&format!("{T}CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT u UNIQUE (a);"), UNIQUE_INDEX));
    }

    #[test]
    fn renames_and_drops() {
        assert!(has(&format!("{T}ALTER TABLE t RENAME COLUMN a TO b;"), RENAME));
        assert!(has(&format!("{T}ALTER TABLE t RENAME TO u;"), RENAME));
        assert!(!has(&format!("{T}ALTER TABLE t RENAME CONSTRAINT a TO b;"), RENAME));
        assert!(has(&format!("{T}ALTER TABLE t DROP COLUMN a;"), DROP_COLUMN));
        assert!(!has(&format!("{T}CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN a;"), DROP_COLUMN));
        assert!(has(&format!("{T}DROP TABLE t;"), DROP_TABLE));
        assert!(!has(&format!("{T}CREATE TABLE t (a int); DROP TABLE t;"), DROP_TABLE));
    }

    #[test]
    fn lock_timeout() {
        assert_eq!(up("ALTER TABLE t ADD COLUMN a int;"), ["missing_lock_timeout"]);
        assert!(up("SET lock_timeout = '5s';\nALTER TABLE t ADD COLUMN a int;").is_empty());
        assert!(up("SET LOCAL lock_timeout TO '5s';\nALTER TABLE t ADD COLUMN a int;").is_empty());
        assert!(up("SELECT set_config('lock_timeout', '5s', true);\nALTER TABLE t ADD COLUMN a int;").is_empty());
        // 0 turns the limit off (pg_dump's header says so).
        assert_eq!(up("SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN a int;"), ["missing_lock_timeout"]);
        assert_eq!(up("SET lock_timeout TO '0';\nALTER TABLE t ADD COLUMN a int;"), ["missing_lock_timeout"]);
        assert!(up("SET lock_timeout TO 5000;\nALTER TABLE t ADD COLUMN a int;").is_empty());
        // Set too late, and reported once per file.
        assert_eq!(
            up("ALTER TABLE t ADD COLUMN a int; ALTER TABLE u ADD COLUMN b int; SET lock_timeout = '5s';"),
            ["missing_lock_timeout"]
        );
        // New tables lock nothing anyone waits on.
        assert!(up("CREATE TABLE t (a int); CREATE INDEX i ON t (a); ALTER TABLE t ADD COLUMN b int;")
            .iter()
            .all(|r| *r == "rls_disabled_in_public"));
    }

    #[test]
    fn own_transactions() {
        assert_eq!(up("BEGIN;\nCREATE TABLE x.t (a int);\nCOMMIT;\n"), ["transaction_control"]);
        assert_eq!(
            up("BEGIN; CREATE TABLE x.t (a int); COMMIT; BEGIN; CREATE TABLE x.u (a int); COMMIT;"),
            ["transaction_control"]
        );
        assert_eq!(up("CREATE TABLE x.t (a int);\nCOMMIT;\n"), ["transaction_unbalanced"]);
        assert!(rules_of("BEGIN; CREATE TABLE x.t (a int); COMMIT;", None, false).is_empty());
    }
}
