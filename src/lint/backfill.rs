//! Writes to many rows of a table that exists already, in one transaction:
//! an `UPDATE`/`DELETE` without a narrow `WHERE` (none, or one that does not
//! pin a key with `=`/`IN`). Its row locks last until it commits and the app's
//! writes to those rows wait; `[backfill]` in metadata.toml batches it.

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SyntaxKind, SyntaxNode};

use super::locks::{created_tables, table_of};
use super::syntax::{self, QName};
use super::{Hit, LintInput, Parsed};

pub fn check(parsed: &Parsed, input: &LintInput, hits: &mut Vec<Hit>) {
    let created = created_tables(parsed);
    for (i, stmt) in parsed.stmts.iter().enumerate() {
        let (verb, relation, condition) = match stmt {
            ast::Stmt::Update(u) => ("UPDATE", u.relation_name(), u.where_clause_or_current_of()),
            ast::Stmt::Delete(d) => ("DELETE", d.relation_name(), d.where_clause_or_current_of()),
            _ => continue,
        };
        let Some(table) = relation.and_then(|r| table_of(r.syntax())) else { continue };
        if created.get(&table).is_some_and(|&c| c < i) || batched(input, &table) {
            continue;
        }
        if condition.as_ref().is_some_and(|w| narrow(w.syntax())) {
            continue;
        }
        let what = if condition.is_some() { "a WHERE that pins no key" } else { "no WHERE" };
        let folder = input.path.parent().map(|d| d.join("metadata.toml").display().to_string());
        hits.push(Hit::at(super::UNBATCHED, stmt.syntax(), format!(
            "{verb} of {table} with {what} writes every matching row in one transaction: the app's writes to them wait until it commits"
        )).with_fix(format!(
            "batch it: in {}, `run_in_transaction = false` and `[backfill]` with table = \"{}\", key = \"id\", batch_size = 10000 \
             (docs/large-tables.md#batched-backfills)",
            folder.as_deref().unwrap_or("its metadata.toml"),
            table.name
        )));
    }
}

/// The migration batches its statements on this table already.
fn batched(input: &LintInput, table: &QName) -> bool {
    input.backfill.as_deref().is_some_and(|t| t.rsplit('.').next().unwrap_or(t).trim_matches('"') == table.name)
}

/// `key = …`, `key IN (…)` on a column named `id` or `…_id`: a handful of rows.
fn narrow(condition: &SyntaxNode) -> bool {
    let words: Vec<(SyntaxKind, String)> =
        syntax::tokens(condition).map(|t| (t.kind(), t.text().to_ascii_lowercase())).collect();
    if words.iter().any(|(_, w)| w == "or") {
        return false;
    }
    // `WHERE false`: no row at all.
    if words.iter().map(|(_, w)| w.as_str()).filter(|w| *w != "where").eq(["false"]) {
        return true;
    }
    words.windows(2).any(|pair| {
        let (col, op) = (&pair[0].1, &pair[1].1);
        let keyish = col == "id" || col.ends_with("_id");
        keyish && (op == "=" || op == "in")
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{input, up};
    use super::super::{check, Config, UNBATCHED};

    #[test]
    fn a_wide_update_or_delete_of_an_existing_table_is_told_to_batch() {
        assert!(up("UPDATE big SET n = 0;").contains(&UNBATCHED.name));
        assert!(up("DELETE FROM big WHERE created_at < now() - interval '1 year';").contains(&UNBATCHED.name));
        assert!(up("UPDATE big SET n = 0 WHERE id = 1 OR true;").contains(&UNBATCHED.name));
    }

    #[test]
    fn a_narrow_one_a_new_table_or_a_declared_backfill_is_not() {
        assert!(!up("UPDATE big SET n = 0 WHERE id = 42;").contains(&UNBATCHED.name));
        assert!(!up("DELETE FROM big WHERE user_id IN (1, 2);").contains(&UNBATCHED.name));
        assert!(!up("CREATE TABLE t (id int, n int);\nUPDATE t SET n = 0;").contains(&UNBATCHED.name));
        let batched = super::super::LintInput { backfill: Some("public.big".into()), ..input("UPDATE big SET n = 0;") };
        let found: Vec<_> = check(&[batched], &Config::default()).into_iter().map(|f| f.rule.name).collect();
        assert!(!found.contains(&UNBATCHED.name), "{found:?}");
    }
}
