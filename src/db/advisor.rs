//! `cargo migrate lint --database`: the live schema checked for what Supabase
//! asks of every migration (row level security, indexed foreign keys, …).
//! Each rule is one read-only catalog query written here; the names are the
//! ones Supabase's own advisor uses, so users can look them up. Which schemas
//! an API serves, and to which roles, is handed in (`Exposure`).

use super::ledger::Exposure;
use super::query_error;
use super::session::Session;
use crate::error::Result;
use crate::lint::Severity;
use crate::sql::literal;

/// One finding: the rule, how bad, the object, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub object: String,
    pub message: String,
    pub fix: &'static str,
}

struct Rule {
    name: &'static str,
    severity: Severity,
    /// Returns (object, message) rows.
    sql: &'static str,
    fix: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        name: "rls_disabled_in_public",
        severity: Severity::Error,
        sql: "SELECT c.oid::regclass::text, 'row level security is off: ' || API_ROLES || ' reach every row through the API' \
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('r', 'p') AND n.nspname IN EXPOSED AND NOT c.relrowsecurity \
                AND c.relname <> '__diesel_schema_migrations'",
        fix: "ALTER TABLE … ENABLE ROW LEVEL SECURITY, then add the policies it needs",
    },
    Rule {
        name: "policy_exists_rls_disabled",
        severity: Severity::Error,
        sql: "SELECT DISTINCT c.oid::regclass::text, 'has policies, but row level security is off: they do nothing' \
              FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE NOT c.relrowsecurity",
        fix: "ALTER TABLE … ENABLE ROW LEVEL SECURITY",
    },
    Rule {
        name: "rls_enabled_no_policy",
        severity: Severity::Info,
        sql: "SELECT c.oid::regclass::text, 'row level security is on with no policy: only the owner and service_role see rows' \
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('r', 'p') AND n.nspname IN EXPOSED AND c.relrowsecurity \
                AND c.relname <> '__diesel_schema_migrations' \
                AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)",
        fix: "add a policy (CREATE POLICY …), or say in a comment that service_role alone uses it",
    },
    Rule {
        name: "unindexed_foreign_keys",
        severity: Severity::Warn,
        sql: "SELECT con.conrelid::regclass::text || ' (' || con.conname || ')', \
                     'foreign key without an index on its columns: joins and deletes of the referenced row scan the table' \
              FROM pg_constraint con \
              WHERE con.contype = 'f' AND con.connamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN EXPOSED) \
                AND NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = con.conrelid \
                      AND (i.indkey::int2[])[0:array_length(con.conkey, 1) - 1] = con.conkey)",
        fix: "CREATE INDEX ON the table (the foreign key's columns)",
    },
    Rule {
        name: "no_primary_key",
        severity: Severity::Warn,
        sql: "SELECT c.oid::regclass::text, 'no primary key: rows cannot be told apart (and realtime updates lose them)' \
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('r', 'p') AND n.nspname IN EXPOSED \
                AND NOT EXISTS (SELECT FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'p')",
        fix: "add a primary key (id uuid PRIMARY KEY DEFAULT gen_random_uuid())",
    },
    Rule {
        name: "duplicate_index",
        severity: Severity::Warn,
        sql: "SELECT string_agg(i.indexrelid::regclass::text, ', ' ORDER BY i.indexrelid::regclass::text), \
                     'indexes with the same definition: each costs writes for nothing' \
              FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE n.nspname IN EXPOSED \
              GROUP BY i.indrelid, i.indkey::text, i.indclass::text, coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), \
                       coalesce(pg_get_expr(i.indpred, i.indrelid), '') HAVING count(*) > 1",
        fix: "DROP INDEX the copies",
    },
    Rule {
        name: "function_search_path_mutable",
        severity: Severity::Warn,
        sql: "SELECT p.oid::regprocedure::text, 'its search_path is not fixed: a caller can make it resolve names elsewhere' \
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
              WHERE n.nspname IN EXPOSED AND p.prokind IN ('f', 'p') \
                AND NOT EXISTS (SELECT FROM unnest(coalesce(p.proconfig, '{}')) cfg WHERE cfg LIKE 'search_path=%') \
                AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')",
        fix: "ALTER FUNCTION … SET search_path = '' (and qualify the names it uses)",
    },
    Rule {
        name: "security_definer_view",
        severity: Severity::Error,
        sql: "SELECT c.oid::regclass::text, 'the view runs with its owner''s rights: row level security of the tables it reads does not apply to callers' \
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind = 'v' AND n.nspname IN EXPOSED \
                AND NOT coalesce('security_invoker=true' = ANY(c.reloptions) OR 'security_invoker=on' = ANY(c.reloptions), false)",
        fix: "ALTER VIEW … SET (security_invoker = true)",
    },
    Rule {
        name: "extension_in_public",
        severity: Severity::Warn,
        sql: "SELECT e.extname, 'installed in public: its objects are served by the API and clutter the schema' \
              FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = 'public' AND e.extname <> 'plpgsql'",
        fix: "CREATE EXTENSION … WITH SCHEMA extensions (ALTER EXTENSION … SET SCHEMA extensions)",
    },
    Rule {
        name: "auth_users_exposed",
        severity: Severity::Error,
        sql: "SELECT DISTINCT v.oid::regclass::text, 'this view in an exposed schema reads auth.users: user data reaches the API' \
              FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace \
              JOIN pg_rewrite r ON r.ev_class = v.oid JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass \
              WHERE v.relkind IN ('v', 'm') AND n.nspname IN EXPOSED AND d.refobjid = to_regclass('auth.users')",
        fix: "keep such views out of exposed schemas, or select only what is meant to be public",
    },
    Rule {
        name: "multiple_permissive_policies",
        severity: Severity::Warn,
        sql: "SELECT p.schemaname || '.' || p.tablename || ' (' || p.cmd || ' for ' || r.role || ')', \
                     'several permissive policies for one role and action: each is evaluated for every row' \
              FROM pg_policies p, unnest(p.roles) AS r(role) \
              WHERE p.permissive = 'PERMISSIVE' AND p.schemaname IN EXPOSED \
              GROUP BY p.schemaname, p.tablename, p.cmd, r.role HAVING count(*) > 1",
        fix: "merge them into one policy (USING (a OR b))",
    },
    Rule {
        name: "auth_rls_initplan",
        severity: Severity::Warn,
        sql: "SELECT p.schemaname || '.' || p.tablename || ' (' || p.policyname || ')', \
                     'calls auth.uid() / auth.jwt() / current_setting() per row' \
              FROM pg_policies p \
              WHERE p.schemaname IN EXPOSED \
                AND (coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '')) ~* '(auth\\.(uid|jwt|role|email)\\(\\)|current_setting\\()' \
                AND (coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '')) !~* 'select\\s+auth\\.|select\\s+current_setting'",
        fix: "wrap the call: (select auth.uid()), evaluated once per statement",
    },
    Rule {
        name: "rls_policy_always_true",
        severity: Severity::Warn,
        sql: "SELECT p.schemaname || '.' || p.tablename || ' (' || p.policyname || ')', \
                     'lets ' || p.cmd || ' through for every row (USING/WITH CHECK true)' \
              FROM pg_policies p \
              WHERE p.schemaname IN EXPOSED AND p.cmd IN ('UPDATE', 'DELETE', 'INSERT', 'ALL') \
                AND (p.qual = 'true' OR p.with_check = 'true')",
        fix: "state who may change which rows (e.g. USING (owner = (select auth.uid())))",
    },
    Rule {
        name: "realtime_table_without_rls",
        severity: Severity::Error,
        sql: "SELECT pt.schemaname || '.' || pt.tablename, 'in supabase_realtime without row level security: every subscriber gets every change' \
              FROM pg_publication_tables pt JOIN pg_class c ON c.oid = (quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename))::regclass \
              WHERE pt.pubname = 'supabase_realtime' AND NOT c.relrowsecurity",
        fix: "ALTER TABLE … ENABLE ROW LEVEL SECURITY, with a policy for who may see which rows",
    },
];

/// Every finding of every rule, rule by rule.
pub fn check(conn: &mut dyn Session, exposure: Exposure) -> Result<Vec<Finding>> {
    let list = |names: &[&str]| {
        let quoted: Vec<String> = names.iter().map(|n| literal(n)).collect();
        if quoted.is_empty() {
            "NULL".to_string()
        } else {
            quoted.join(", ")
        }
    };
    let schemas = format!("IN ({})", list(exposure.schemas));
    let roles = literal(&match exposure.roles {
        [] => "the API's roles".to_string(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    });
    let mut findings = Vec::new();
    for rule in RULES {
        let sql = rule.sql.replace("IN EXPOSED", &schemas).replace("API_ROLES", &roles);
        let rows = conn.query(&sql, &[]).map_err(|e| query_error(&format!("check {}", rule.name), e))?;
        for i in 0..rows.len {
            findings.push(Finding {
                rule: rule.name,
                severity: rule.severity,
                object: rows.text(i, 0).unwrap_or_default(),
                message: rows.text(i, 1).unwrap_or_default(),
                fix: rule.fix,
            });
        }
    }
    Ok(findings)
}
