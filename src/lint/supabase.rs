//! Supabase's security and performance rules, on the SQL before it runs
//! (the same names as its database advisor where one exists).

use std::collections::HashSet;

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SyntaxKind, SyntaxNode};

use super::locks::{created_tables, table_of};
use super::syntax::{self, QName};
use super::{Config, Hit, Parsed};

/// Functions that read the request's claims: in a policy, once per row unless wrapped.
const PER_ROW: &[&str] = &["auth.uid", "auth.jwt", "auth.role", "auth.email", "current_setting"];

pub fn check(parsed: &Parsed, config: &Config, hits: &mut Vec<Hit>) {
    let created = created_tables(parsed);
    let mut rls_on: HashSet<QName> = HashSet::new();
    let mut rls_off: Vec<(QName, SyntaxNode)> = Vec::new();
    let mut fixed_later: HashSet<String> = HashSet::new();
    for stmt in &parsed.stmts {
        match stmt {
            ast::Stmt::AlterTable(at) => {
                let Some(t) = at.table_relation_name().and_then(|r| table_of(r.syntax())) else { continue };
                for action in at.actions() {
                    match action {
                        ast::AlterTableAction::EnableRls(_) | ast::AlterTableAction::ForceRls(_) => {
                            rls_on.insert(t.clone());
                        }
                        ast::AlterTableAction::DisableRls(d) => rls_off.push((t.clone(), d.syntax().clone())),
                        _ => {}
                    }
                }
            }
            // `ALTER FUNCTION f SET search_path = …` fixes a function made before it.
            ast::Stmt::AlterFunction(f) => {
                let text = f.syntax().text().to_string().to_ascii_lowercase();
                if text.contains("search_path") {
                    if let Some(name) = f.syntax().descendants().find(|n| n.kind() == SyntaxKind::PATH_REF) {
                        fixed_later.insert(syntax::qname(&name).to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let exposed = |t: &QName| config.exposed_schemas.contains(&t.schema);

    for stmt in &parsed.stmts {
        let node = stmt.syntax();
        match stmt {
            ast::Stmt::CreateTable(ct) => {
                let temp = ct.persistence().is_some_and(|p| {
                    syntax::tokens(p.syntax())
                        .any(|t| matches!(t.kind(), SyntaxKind::TEMP_KW | SyntaxKind::TEMPORARY_KW))
                });
                let Some(t) = ct.table_name().and_then(|n| table_of(n.syntax())) else { continue };
                if !temp && exposed(&t) && !rls_on.contains(&t) {
                    hits.push(
                        Hit::at(
                            super::RLS,
                            node,
                            format!(
                                "{t} is served by the API, and this migration does not enable row level security on it"
                            ),
                        )
                        .with_fix(format!(
                            "add `ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;` and the policies it needs"
                        )),
                    );
                }
            }
            ast::Stmt::CreatePolicy(_) | ast::Stmt::AlterPolicy(_) => {
                let unwrapped = node
                    .descendants()
                    .filter(|n| n.kind() == SyntaxKind::CALL_EXPR)
                    .filter_map(|c| Some((syntax::called(&c)?, c)))
                    .find(|(f, c)| PER_ROW.contains(&f.as_str()) && !wrapped(c, node));
                if let Some((f, call)) = unwrapped {
                    hits.push(
                        Hit::at(super::INITPLAN, &call, format!("{f}() in this policy runs once per row")).with_fix({
                            let call = if f == "current_setting" { format!("{f}(…)") } else { format!("{f}()") };
                            format!("write (select {call}) instead of {call}")
                        }),
                    );
                }
            }
            ast::Stmt::CreateFunction(_) | ast::Stmt::CreateProcedure(_) => function(node, &fixed_later, hits),
            ast::Stmt::AlterPublication(p) => {
                let name = p.publication_ref().map(|r| syntax::ident(&r.syntax().text().to_string()));
                if name.as_deref() != Some("supabase_realtime") {
                    continue;
                }
                let Some(ast::AlterPublicationAction::AddPublicationObjects(add)) = p.action() else { continue };
                for object in add.syntax().descendants().filter(|n| n.kind() == SyntaxKind::PUBLICATION_OBJECT_TABLE) {
                    let Some(t) = table_of(&object) else { continue };
                    let unprotected =
                        (created.contains_key(&t) && !rls_on.contains(&t)) || rls_off.iter().any(|(off, _)| *off == t);
                    if unprotected {
                        hits.push(Hit::at(
                            super::REALTIME,
                            &object,
                            format!("{t} joins supabase_realtime without row level security: every subscriber gets every change"),
                        ));
                    }
                }
            }
            _ => {}
        }
        // Column types: CREATE TABLE, ADD COLUMN, ALTER COLUMN … TYPE.
        for ty in node.descendants().filter(|n| n.kind() == SyntaxKind::TIMESTAMP_TYPE) {
            let zoned = ty.children().any(|c| c.kind() == SyntaxKind::WITH_TIMEZONE);
            let column = ty
                .ancestors()
                .take_while(|a| a != node)
                .find(|a| matches!(a.kind(), SyntaxKind::COLUMN | SyntaxKind::ADD_COLUMN | SyntaxKind::SET_TYPE));
            if !zoned && column.is_some() {
                hits.push(Hit::at(super::TIMESTAMP, &ty, "timestamp without time zone: use timestamptz"));
            }
        }
    }
    for (t, node) in rls_off {
        if exposed(&t) {
            hits.push(Hit::at(
                super::RLS,
                &node,
                format!("this turns row level security off on {t}, which the API serves"),
            ));
        }
    }
}

/// `(select auth.uid())`: the call is the target of a SELECT of its own (no
/// FROM, no WHERE), which PostgreSQL runs once as an initplan. Inside a
/// subquery that reads a table it still runs for every row.
fn wrapped(call: &SyntaxNode, policy: &SyntaxNode) -> bool {
    let mut in_target = false;
    for a in call.ancestors().skip(1).take_while(|a| a != policy) {
        match a.kind() {
            SyntaxKind::TARGET_LIST => in_target = true,
            SyntaxKind::SELECT => {
                return in_target
                    && !a.children().any(|c| matches!(c.kind(), SyntaxKind::FROM_CLAUSE | SyntaxKind::WHERE_CLAUSE));
            }
            _ => {}
        }
    }
    false
}

fn function(node: &SyntaxNode, fixed_later: &HashSet<String>, hits: &mut Vec<Hit>) {
    let options: Vec<SyntaxNode> =
        node.children().filter(|c| c.kind() == SyntaxKind::FUNC_OPTION_LIST).flat_map(|l| l.children()).collect();
    let definer = options.iter().any(|o| o.kind() == SyntaxKind::SECURITY_DEFINER_FUNC_OPTION);
    let search_path = options.iter().any(|o| {
        o.kind() == SyntaxKind::SET_FUNC_OPTION
            && o.descendants()
                .find(|n| n.kind() == SyntaxKind::CONFIG_PARAMETER_REF)
                .is_some_and(|p| syntax::ident(&p.text().to_string()) == "search_path")
    });
    let language = options
        .iter()
        .find(|o| o.kind() == SyntaxKind::LANGUAGE_FUNC_OPTION)
        .map(|o| syntax::tokens(o).last().map(|t| syntax::ident(t.text())).unwrap_or_default());
    if search_path || matches!(language.as_deref(), Some("c" | "internal")) {
        return;
    }
    let name = node
        .children()
        .find(|c| matches!(c.kind(), SyntaxKind::FUNCTION_NAME | SyntaxKind::PROCEDURE_NAME))
        .map(|n| syntax::qname(&n));
    if name.as_ref().is_some_and(|n| fixed_later.contains(&n.to_string())) {
        return;
    }
    let shown = name.map(|n| n.to_string()).unwrap_or_else(|| "this function".into());
    if definer {
        hits.push(Hit::at(
            super::DEFINER,
            node,
            format!("{shown} is SECURITY DEFINER and its search_path is the caller's"),
        ));
    } else {
        hits.push(Hit::at(super::SEARCH_PATH, node, format!("{shown} has no fixed search_path")));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{has, up};
    use super::super::*;

    #[test]
    fn tables_in_exposed_schemas_need_rls() {
        assert!(has("CREATE TABLE t (id int);", RLS));
        assert!(has("CREATE TABLE public.t (id int);", RLS));
        assert!(!has("CREATE TABLE t (id int); ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;", RLS));
        assert!(!has("CREATE TABLE private.t (id int);", RLS));
        assert!(!has("CREATE TEMP TABLE t (id int);", RLS));
        assert!(has("SET lock_timeout = '1s'; ALTER TABLE t DISABLE ROW LEVEL SECURITY;", RLS));
    }

    #[test]
    fn auth_functions_in_policies_are_wrapped() {
        assert!(has("CREATE POLICY p ON x.t USING (user_id = auth.uid());", INITPLAN));
        assert!(has("CREATE POLICY p ON x.t FOR INSERT WITH CHECK ((auth.jwt() ->> 'role') = 'admin');", INITPLAN));
        assert!(has("ALTER POLICY p ON x.t USING (current_setting('app.tenant') = tenant);", INITPLAN));
        assert!(!has("CREATE POLICY p ON x.t USING (user_id = (select auth.uid()));", INITPLAN));
        assert!(!has("CREATE POLICY p ON x.t USING ((select auth.jwt()) ->> 'email' = email);", INITPLAN));
        assert!(!has("CREATE POLICY p ON x.t USING ((( SELECT \"auth\".\"uid\"() AS \"uid\") = \"id\"));", INITPLAN));
        // Inside a subquery that reads a table it still runs per row (Supabase's advisor agrees).
        assert!(has("CREATE POLICY p ON x.t USING (EXISTS (SELECT 1 FROM m WHERE m.user_id = auth.uid()));", INITPLAN));
        assert!(!has(
            "CREATE POLICY p ON x.t USING (EXISTS (SELECT 1 FROM m WHERE m.user_id = (select auth.uid())));",
            INITPLAN
        ));
        assert!(!has("CREATE POLICY p ON x.t USING (owner = public.uid());", INITPLAN));
    }

    #[test]
    fn functions_fix_their_search_path() {
        let body = "RETURNS int LANGUAGE sql AS $$ select 1 $$";
        assert_eq!(up(&format!("CREATE FUNCTION f() {body} SECURITY DEFINER;")), ["security_definer_search_path"]);
        assert_eq!(up(&format!("CREATE FUNCTION f() {body};")), ["function_search_path_mutable"]);
        assert!(up(&format!("CREATE FUNCTION f() {body} SECURITY DEFINER SET search_path = '';")).is_empty());
        assert!(up(&format!("CREATE FUNCTION f() {body} SET search_path TO pg_catalog, public;")).is_empty());
        assert!(up(&format!("CREATE FUNCTION f() {body} SECURITY DEFINER; ALTER FUNCTION f() SET search_path = '';"))
            .is_empty());
        assert!(up("CREATE FUNCTION f(int) RETURNS int LANGUAGE c AS 'lib', 'f';").is_empty());
    }

    #[test]
    fn realtime_tables_have_rls() {
        let rls = "ALTER TABLE t ENABLE ROW LEVEL SECURITY;";
        assert!(has("CREATE TABLE t (id int); ALTER PUBLICATION supabase_realtime ADD TABLE t;", REALTIME));
        assert!(!has(
            &format!("CREATE TABLE t (id int); {rls} ALTER PUBLICATION supabase_realtime ADD TABLE t;"),
            REALTIME
        ));
        // A table made earlier: its RLS is the database's business (lint --database).
        assert!(!has("ALTER PUBLICATION supabase_realtime ADD TABLE t;", REALTIME));
        assert!(!has("CREATE TABLE t (id int); ALTER PUBLICATION other ADD TABLE t;", REALTIME));
    }

    #[test]
    fn timestamps_have_time_zones() {
        assert!(has("CREATE TABLE x.t (a timestamp);", TIMESTAMP));
        assert!(has("CREATE TABLE x.t (a timestamp(3) without time zone);", TIMESTAMP));
        assert!(has("SET lock_timeout = '1s'; ALTER TABLE x.t ADD COLUMN a timestamp;", TIMESTAMP));
        assert!(!has("CREATE TABLE x.t (a timestamptz, b timestamp with time zone);", TIMESTAMP));
        assert!(!has("SELECT '2020-01-01'::timestamp;", TIMESTAMP));
    }
}
