//! down.sql against up.sql, statically: every object up creates must be
//! dropped by down, directly or with what contains it (a dropped table takes
//! its indexes, policies, triggers and publication membership along; a
//! dropped column its indexes; `DROP SCHEMA … CASCADE` everything in it).
//! `CREATE … IF NOT EXISTS` and `CREATE OR REPLACE` may meet an object that
//! was there before, so down need not drop it: they are not reported.
//! (`cargo migrate verify` proves reversibility for real, on a database.)

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SyntaxKind, SyntaxNode};

use super::locks::table_of;
use super::syntax::{self, QName};
use super::{Hit, Parsed};

#[derive(Debug, Clone, PartialEq)]
enum Object {
    Table(QName),
    Index { name: QName, table: Option<QName>, columns: Vec<String> },
    Policy { name: String, table: QName },
    Trigger { name: String, table: QName },
    Function(QName),
    View(QName),
    Type(QName),
    Extension(String),
    Member { publication: String, table: QName },
}

impl Object {
    fn describe(&self) -> String {
        match self {
            Object::Table(t) => format!("table {t}"),
            Object::Index { name, .. } => format!("index {}", name.name),
            Object::Policy { name, table } => format!("policy \"{name}\" on {table}"),
            Object::Trigger { name, table } => format!("trigger {name} on {table}"),
            Object::Function(f) => format!("function {f}"),
            Object::View(v) => format!("view {v}"),
            Object::Type(t) => format!("type {t}"),
            Object::Extension(e) => format!("extension {e}"),
            Object::Member { publication, table } => format!("{table} in publication {publication}"),
        }
    }

    fn drop_sql(&self) -> String {
        match self {
            Object::Table(t) => format!("DROP TABLE {t};"),
            Object::Index { name, .. } => format!("DROP INDEX {name};"),
            Object::Policy { name, table } => format!("DROP POLICY \"{name}\" ON {table};"),
            Object::Trigger { name, table } => format!("DROP TRIGGER {name} ON {table};"),
            Object::Function(f) => format!("DROP FUNCTION {f}(…);"),
            Object::View(v) => format!("DROP VIEW {v};"),
            Object::Type(t) => format!("DROP TYPE {t};"),
            Object::Extension(e) => format!("DROP EXTENSION {e};"),
            Object::Member { publication, table } => format!("ALTER PUBLICATION {publication} DROP TABLE {table};"),
        }
    }
}

fn name_in(node: &SyntaxNode, kinds: &[SyntaxKind]) -> Option<QName> {
    node.children().find(|c| kinds.contains(&c.kind())).map(|n| syntax::qname(&n))
}

fn has(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.children().any(|c| c.kind() == kind)
}

/// What `stmt` creates (nothing when it may meet an existing object).
fn created(stmt: &ast::Stmt) -> Vec<Object> {
    let node = stmt.syntax();
    if has(node, SyntaxKind::IF_NOT_EXISTS) || has(node, SyntaxKind::OR_REPLACE) {
        return Vec::new();
    }
    let one = |o: Option<Object>| o.into_iter().collect();
    match stmt {
        ast::Stmt::CreateTable(t) => one(t.table_name().and_then(|n| table_of(n.syntax())).map(Object::Table)),
        ast::Stmt::CreateIndex(ci) => one(ci.index().map(|n| Object::Index {
            name: syntax::qname(n.syntax()),
            table: ci.table_relation_name().and_then(|r| table_of(r.syntax())),
            columns: ci
                .partition_item_list()
                .map(|l| {
                    l.syntax()
                        .descendants()
                        .filter(|n| n.kind() == SyntaxKind::NAME_REF)
                        .map(|n| syntax::ident(&n.text().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        })),
        ast::Stmt::CreatePolicy(p) => one((|| {
            Some(Object::Policy {
                name: syntax::ident(&p.policy()?.syntax().text().to_string()),
                table: table_of(p.on_table()?.syntax())?,
            })
        })()),
        ast::Stmt::CreateTrigger(t) => one((|| {
            Some(Object::Trigger {
                name: syntax::ident(&t.trigger()?.syntax().text().to_string()),
                table: table_of(t.on_relation()?.syntax())?,
            })
        })()),
        ast::Stmt::CreateFunction(_) | ast::Stmt::CreateProcedure(_) => {
            one(name_in(node, &[SyntaxKind::FUNCTION_NAME, SyntaxKind::PROCEDURE_NAME]).map(Object::Function))
        }
        ast::Stmt::CreateView(v) => one(v.view().and_then(|v| table_of(v.syntax())).map(Object::View)),
        ast::Stmt::CreateType(t) => one(t.type_name().map(|n| Object::Type(syntax::qname(n.syntax())))),
        ast::Stmt::CreateExtension(e) => {
            one(e.extension().map(|n| Object::Extension(syntax::ident(&n.syntax().text().to_string()))))
        }
        ast::Stmt::AlterPublication(p) => {
            let Some(ast::AlterPublicationAction::AddPublicationObjects(add)) = p.action() else { return Vec::new() };
            let publication =
                p.publication_ref().map(|r| syntax::ident(&r.syntax().text().to_string())).unwrap_or_default();
            add.syntax()
                .descendants()
                .filter(|n| n.kind() == SyntaxKind::PUBLICATION_OBJECT_TABLE)
                .filter_map(|o| table_of(&o))
                .map(|table| Object::Member { publication: publication.clone(), table })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// What down.sql drops.
#[derive(Default)]
struct Dropped {
    tables: Vec<QName>,
    indexes: Vec<String>,
    policies: Vec<(String, QName)>,
    triggers: Vec<(String, QName)>,
    functions: Vec<QName>,
    views: Vec<QName>,
    types: Vec<QName>,
    extensions: Vec<String>,
    members: Vec<(String, QName)>,
    publications: Vec<String>,
    schemas: Vec<String>,
    columns: Vec<(QName, String)>,
}

fn dropped(down: &Parsed) -> Dropped {
    let mut d = Dropped::default();
    let refs = |node: &SyntaxNode, kind: SyntaxKind| -> Vec<QName> {
        node.descendants().filter(|n| n.kind() == kind).map(|n| syntax::qname(&n)).collect()
    };
    for stmt in &down.stmts {
        let node = stmt.syntax();
        match stmt {
            ast::Stmt::DropTable(t) => d.tables.extend(t.table_name_refs().filter_map(|r| table_of(r.syntax()))),
            ast::Stmt::DropIndex(i) => {
                d.indexes.extend(i.index_refs().filter_map(|r| table_of(r.syntax())).map(|q| q.name))
            }
            ast::Stmt::DropPolicy(p) => {
                if let (Some(name), Some(table)) = (p.policy_ref(), p.on_table().and_then(|t| table_of(t.syntax()))) {
                    d.policies.push((syntax::ident(&name.syntax().text().to_string()), table));
                }
            }
            ast::Stmt::DropTrigger(t) => {
                if let (Some(name), Some(table)) = (t.trigger_ref(), t.on_relation().and_then(|r| table_of(r.syntax())))
                {
                    d.triggers.push((syntax::ident(&name.syntax().text().to_string()), table));
                }
            }
            ast::Stmt::DropFunction(_) | ast::Stmt::DropProcedure(_) | ast::Stmt::DropRoutine(_) => {
                d.functions.extend(refs(node, SyntaxKind::FUNCTION_NAME_REF))
            }
            ast::Stmt::DropView(v) => d.views.extend(v.view_refs().filter_map(|r| table_of(r.syntax()))),
            ast::Stmt::DropType(t) => d.types.extend(t.type_name_refs().map(|r| syntax::qname(r.syntax()))),
            ast::Stmt::DropExtension(e) => {
                d.extensions.extend(e.extension_refs().map(|r| syntax::ident(&r.syntax().text().to_string())))
            }
            ast::Stmt::DropPublication(p) => {
                d.publications.extend(p.publication_refs().map(|r| syntax::ident(&r.syntax().text().to_string())))
            }
            ast::Stmt::DropSchema(s) => {
                d.schemas.extend(s.schema_refs().map(|r| syntax::ident(&r.syntax().text().to_string())))
            }
            ast::Stmt::AlterPublication(p) => {
                let Some(ast::AlterPublicationAction::DropPublicationObjects(drop)) = p.action() else { continue };
                let publication =
                    p.publication_ref().map(|r| syntax::ident(&r.syntax().text().to_string())).unwrap_or_default();
                for table in drop.syntax().descendants().filter(|n| n.kind() == SyntaxKind::PUBLICATION_OBJECT_TABLE) {
                    if let Some(t) = table_of(&table) {
                        d.members.push((publication.clone(), t));
                    }
                }
            }
            ast::Stmt::AlterTable(at) => {
                let Some(table) = at.table_relation_name().and_then(|r| table_of(r.syntax())) else { continue };
                for action in at.actions() {
                    if let ast::AlterTableAction::DropColumn(c) = action {
                        if let Some(col) = c.column_name_ref() {
                            d.columns.push((table.clone(), syntax::ident(&col.syntax().text().to_string())));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    d
}

fn undone(object: &Object, d: &Dropped) -> bool {
    let schema_gone = |q: &QName| d.schemas.contains(&q.schema);
    let table_gone = |t: &QName| d.tables.contains(t) || schema_gone(t);
    match object {
        Object::Table(t) => table_gone(t),
        Object::Index { name, table, columns } => {
            d.indexes.contains(&name.name)
                || schema_gone(name)
                || table
                    .as_ref()
                    .is_some_and(|t| table_gone(t) || d.columns.iter().any(|(ct, c)| ct == t && columns.contains(c)))
        }
        Object::Policy { name, table } => table_gone(table) || d.policies.iter().any(|(n, t)| n == name && t == table),
        Object::Trigger { name, table } => table_gone(table) || d.triggers.iter().any(|(n, t)| n == name && t == table),
        Object::Function(f) => d.functions.contains(f) || schema_gone(f),
        Object::View(v) => d.views.contains(v) || schema_gone(v),
        Object::Type(t) => d.types.contains(t) || schema_gone(t),
        Object::Extension(e) => d.extensions.contains(e),
        Object::Member { publication, table } => {
            table_gone(table)
                || d.publications.contains(publication)
                || d.members.iter().any(|(p, t)| p == publication && t == table)
        }
    }
}

pub fn check(up: &Parsed, down: &Parsed, hits: &mut Vec<Hit>) {
    let d = dropped(down);
    for stmt in &up.stmts {
        for object in created(stmt) {
            if !undone(&object, &d) {
                hits.push(
                    Hit::at(super::DOWN, stmt.syntax(), format!("down.sql does not drop the {}", object.describe()))
                        .with_fix(format!("add `{}` to down.sql", object.drop_sql())),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::rules_of;

    fn leftovers(up: &str, down: &str) -> usize {
        rules_of(up, Some(down), true).iter().filter(|r| **r == "down_does_not_undo").count()
    }

    #[test]
    fn each_kind_of_object() {
        let cases = [
            ("CREATE TABLE x.t (a int);", "DROP TABLE x.t;"),
            ("CREATE INDEX i ON x.t (a);", "DROP INDEX x.i;"),
            ("CREATE POLICY \"p\" ON x.t USING (true);", "DROP POLICY \"p\" ON x.t;"),
            ("CREATE TRIGGER g BEFORE UPDATE ON x.t FOR EACH ROW EXECUTE FUNCTION x.f();", "DROP TRIGGER g ON x.t;"),
            (
                "CREATE FUNCTION x.f() RETURNS int LANGUAGE sql SET search_path = '' AS $$ select 1 $$;",
                "DROP FUNCTION x.f();",
            ),
            ("CREATE VIEW x.v AS SELECT 1;", "DROP VIEW x.v;"),
            ("CREATE TYPE x.mood AS ENUM ('a');", "DROP TYPE x.mood;"),
            ("CREATE EXTENSION vector WITH SCHEMA extensions;", "DROP EXTENSION vector;"),
            (
                "ALTER PUBLICATION supabase_realtime ADD TABLE x.t;",
                "ALTER PUBLICATION supabase_realtime DROP TABLE x.t;",
            ),
        ];
        for (up, down) in cases {
            let up = format!("SET lock_timeout = '1s';\n{up}");
            assert_eq!(leftovers(&up, "SELECT 1;"), 1, "{up} with an empty down");
            assert_eq!(leftovers(&up, down), 0, "{up} with {down}");
        }
    }

    #[test]
    fn dropping_the_container_drops_what_is_in_it() {
        let up = "CREATE TABLE x.t (a int); CREATE INDEX i ON x.t (a);
            CREATE POLICY p ON x.t USING (true); ALTER PUBLICATION supabase_realtime ADD TABLE x.t;";
        assert_eq!(leftovers(up, "DROP TABLE x.t;"), 0);
        assert_eq!(leftovers(up, "DROP SCHEMA x CASCADE;"), 0);
        let column = "SET lock_timeout = '1s'; ALTER TABLE x.t ADD COLUMN p int; CREATE INDEX ip ON x.t (p);";
        assert_eq!(leftovers(column, "ALTER TABLE x.t DROP COLUMN p;"), 0);
        assert_eq!(leftovers(column, "ALTER TABLE x.t DROP COLUMN q;"), 1);
    }

    #[test]
    fn objects_that_may_have_existed_are_not_reported() {
        assert_eq!(leftovers("CREATE EXTENSION IF NOT EXISTS vector;", "SELECT 1;"), 0);
        assert_eq!(
            leftovers(
                "CREATE OR REPLACE FUNCTION x.f() RETURNS int LANGUAGE sql SET search_path = '' AS $$ select 1 $$;",
                "SELECT 1;"
            ),
            0
        );
    }
}
