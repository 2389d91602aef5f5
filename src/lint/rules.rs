//! The rules' registry: every rule's stable name (what `-- migrate:ignore`
//! and the configuration take), default severity, why and fix. Each rule's
//! check lives in the file of its family (locks, supabase, secrets, reversible).

use super::Severity;

/// A rule: its stable name (what `-- migrate:ignore` and the config take),
/// its default severity, why it matters and how to fix it.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
}

macro_rules! rules {
    ($($id:ident = $name:literal, $sev:ident, $summary:literal, why: $why:literal, fix: $fix:literal;)*) => {
        $(pub const $id: &Rule = &Rule { name: $name, severity: Severity::$sev, summary: $summary, why: $why, fix: $fix };)*
        /// Every rule, in the order docs/lint.md lists them.
        pub const RULES: &[&Rule] = &[$($id,)*];
    };
}

rules! {
    CREATE_INDEX = "create_index_not_concurrently", Warn,
        "CREATE INDEX on an existing table without CONCURRENTLY",
        why: "blocks every write to the table until the index is built",
        fix: "CREATE INDEX CONCURRENTLY, in a migration with `run_in_transaction = false` in its metadata.toml";
    DROP_INDEX = "drop_index_not_concurrently", Warn,
        "DROP INDEX without CONCURRENTLY",
        why: "takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes wait",
        fix: "DROP INDEX CONCURRENTLY, in a migration with `run_in_transaction = false` in its metadata.toml";
    ADD_COLUMN_NOT_NULL = "add_column_not_null_without_default", Warn,
        "ADD COLUMN … NOT NULL without a default on an existing table",
        why: "fails as soon as the table has a row (every existing row would be NULL)",
        fix: "add a constant DEFAULT, or add the column nullable, backfill in batches, then SET NOT NULL safely";
    ADD_COLUMN_REWRITE = "add_column_rewrites_table", Warn,
        "ADD COLUMN with a volatile default, serial type or stored generated value",
        why: "rewrites the whole table under an ACCESS EXCLUSIVE lock: reads and writes wait",
        fix: "add the column without it (or with a constant default), then backfill in batches";
    SET_NOT_NULL = "set_not_null", Warn,
        "ALTER COLUMN … SET NOT NULL on an existing table",
        why: "scans the whole table under an ACCESS EXCLUSIVE lock to check for NULLs",
        fix: "ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT; then SET NOT NULL (PostgreSQL 12+ uses the check) and drop the check";
    ALTER_COLUMN_TYPE = "alter_column_type", Warn,
        "ALTER COLUMN … TYPE on an existing table",
        why: "usually rewrites the table and its indexes under an ACCESS EXCLUSIVE lock",
        fix: "add a new column, backfill it in batches, switch readers and writers, then drop the old one";
    NOT_VALID = "constraint_without_not_valid", Warn,
        "CHECK or FOREIGN KEY added to an existing table without NOT VALID",
        why: "validates every row while holding a lock that blocks writes (a foreign key locks the referenced table too)",
        fix: "ADD CONSTRAINT … NOT VALID, then ALTER TABLE … VALIDATE CONSTRAINT … (in a later statement or migration)";
    UNIQUE_INDEX = "unique_without_using_index", Warn,
        "UNIQUE or PRIMARY KEY added to an existing table without USING INDEX",
        why: "builds the index while blocking every write to the table",
        fix: "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX …";
    UNBATCHED = "unbatched_update", Warn,
        "UPDATE or DELETE of an existing table without a narrow WHERE",
        why: "one transaction writes every matching row: the app's writes to those rows wait until it commits, and a failure near the end undoes all of it",
        fix: "declare a [backfill] in metadata.toml (table, key, batch_size; run_in_transaction = false): it runs in key-range batches, each its own transaction, resumable";
    RENAME = "rename", Warn,
        "a table or column renamed",
        why: "the running application still uses the old name and fails until it is deployed again",
        fix: "add the new name beside the old (a view or column), move the application over, drop the old name later";
    DROP_COLUMN = "drop_column", Warn,
        "ALTER TABLE … DROP COLUMN",
        why: "its data is gone for good, and the running application may still read the column",
        fix: "stop using the column in the application first, back the data up, then drop it in a later migration";
    DROP_TABLE = "drop_table", Warn,
        "DROP TABLE of a table this migration did not create",
        why: "its data is gone for good",
        fix: "back it up (cargo migrate up --backup) and make sure nothing uses it; silence with `-- migrate:ignore drop_table` when meant";
    LOCK_TIMEOUT = "missing_lock_timeout", Warn,
        "a lock on an existing table taken without SET lock_timeout first",
        why: "waiting for the lock behind a long query queues every other query on the table: an outage",
        fix: "start the migration with `SET lock_timeout = '5s';` (and retry when it times out)";
    IN_TRANSACTION = "concurrently_in_transaction", Error,
        "CONCURRENTLY in a migration that runs in a transaction",
        why: "PostgreSQL refuses it: CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block",
        fix: "put it in its own migration with `run_in_transaction = false` in metadata.toml";
    TRANSACTION_CONTROL = "transaction_control", Info,
        "a file with its own BEGIN/COMMIT",
        why: "the whole file in one BEGIN … COMMIT runs in the migration's transaction; several blocks run one by one, so a failure leaves the earlier blocks applied",
        fix: "drop BEGIN/COMMIT (each migration already runs in a transaction), or set `run_in_transaction = false` to manage them yourself";
    UNBALANCED = "transaction_unbalanced", Error,
        "a BEGIN without COMMIT, or a COMMIT without BEGIN",
        why: "cargo migrate refuses to run it: the file's transactions do not pair up",
        fix: "pair each BEGIN with a COMMIT, or remove them; or set `run_in_transaction = false` in metadata.toml";
    RLS = "rls_disabled_in_public", Warn,
        "a table in an exposed schema without ENABLE ROW LEVEL SECURITY in the same migration",
        why: "Supabase serves the exposed schemas (public) over its API: without RLS anyone with the anon key reads and writes every row",
        fix: "ALTER TABLE … ENABLE ROW LEVEL SECURITY; and add policies (cargo migrate create NAME --table T --policy owner user_id writes both)";
    INITPLAN = "auth_rls_initplan", Warn,
        "a policy calling auth.uid() / auth.jwt() / auth.role() / current_setting() unwrapped",
        why: "the function runs once per row instead of once per query: slow on large tables",
        fix: "wrap it: (select auth.uid())";
    DEFINER = "security_definer_search_path", Warn,
        "a SECURITY DEFINER function without a fixed search_path",
        why: "it runs with its owner's rights, and a caller's search_path can make it call the caller's objects instead of yours",
        fix: "add `SET search_path = ''` to the function and schema-qualify what it uses (public.t, pg_catalog.now())";
    SEARCH_PATH = "function_search_path_mutable", Warn,
        "a function without a fixed search_path",
        why: "what its unqualified names mean depends on the caller's search_path (Supabase's advisor flags it too)",
        fix: "add `SET search_path = ''` and schema-qualify what it uses";
    REALTIME = "realtime_without_rls", Warn,
        "a table added to supabase_realtime without row level security",
        why: "realtime broadcasts every change of the table to every subscriber that RLS does not stop",
        fix: "ALTER TABLE … ENABLE ROW LEVEL SECURITY and add policies before adding it to the publication";
    TIMESTAMP = "timestamp_without_time_zone", Warn,
        "a column of type timestamp (without time zone)",
        why: "it stores wall-clock time with no zone: values shift meaning with the server's or client's time zone",
        fix: "use timestamptz (timestamp with time zone)";
    SECRET = "hardcoded_secret", Error,
        "a secret written into a migration",
        why: "migrations are committed and shared: a key, password or private key in them is leaked",
        fix: "remove it, rotate it (it is in git history), and pass it at run time (environment, Supabase Vault filled outside migrations)";
    DOWN = "down_does_not_undo", Warn,
        "down.sql leaves something up.sql creates",
        why: "reverting leaves the object behind, so up fails the next time (`already exists`)",
        fix: "drop it in down.sql, in reverse order (`cargo migrate verify` proves it on a scratch database)";
    PARSE = "parse_error", Info,
        "SQL the static checks could not read",
        why: "the checks skip what they cannot parse; PostgreSQL will say whether it is wrong",
        fix: "check the statement; if it is valid PostgreSQL, silence with `-- migrate:ignore parse_error`";
    UNKNOWN_RULE = "unknown_rule", Warn,
        "a `migrate:ignore` comment naming no rule",
        why: "a misspelt rule name silences nothing",
        fix: "use a rule name from `cargo migrate lint --help` / README.md, or `all`";
}

pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.name == name)
}
