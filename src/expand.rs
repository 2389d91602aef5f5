//! Expand/contract for a column rename or type change (`cargo migrate create
//! NAME --rename-column t.old:new | --change-type t.col:TYPE[:USING expr]`):
//! pure text. The migration it writes is the *expand*: the new column beside
//! the old, a trigger that keeps both in step whichever one an app writes, a
//! batched backfill of the existing rows, and a schema per app version
//! (`<app>_<version>`, views over the table) so the old and the new app both
//! read and write while the rollout lasts. Its `complete.sql` is the
//! *contract* (`cargo migrate complete VERSION`): the old column, the trigger
//! and the old version's schema go. `{{version}}` is filled in by `create`.

use crate::sql::{ident, literal};

/// The sync trigger's name (`{{version}}` filled in by `create`).
const TRIGGER: &str = "cargo_migrate_sync_{{version}}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Rename { old: String, new: String },
    ChangeType { column: String, ty: String, using: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub schema: String,
    pub table: String,
    pub change: Change,
    /// The app's name, for the version schemas.
    pub app: String,
    /// The newest migration before this one: the old app version's schema.
    pub previous: String,
}

/// Parse `table.old:new` (rename) or `table.column:TYPE[:USING expr]` (type change).
pub fn parse(rename: Option<&str>, change_type: Option<&str>) -> Result<Option<(String, String, Change)>, String> {
    let split_table = |s: &str| -> Result<(String, String, String), String> {
        let (target, rest) = s.split_once(':').ok_or("write it as table.column:…")?;
        let (table, column) = target.rsplit_once('.').ok_or("name the table and the column: table.column")?;
        let (schema, table) = table.rsplit_once('.').unwrap_or(("public", table));
        Ok((schema.to_string(), table.to_string(), format!("{column}:{rest}")))
    };
    let plain = |s: &str, what: &str| -> Result<String, String> {
        let ok = !s.is_empty()
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Ok(s.to_string())
        } else {
            Err(format!("{what} `{s}` is not a plain lower-case name"))
        }
    };
    match (rename, change_type) {
        (Some(r), None) => {
            let (schema, table, rest) = split_table(r)?;
            let (old, new) = rest.split_once(':').ok_or("write it as table.old:new")?;
            Ok(Some((
                plain(&schema, "schema")?,
                plain(&table, "table")?,
                Change::Rename { old: plain(old, "column")?, new: plain(new, "column")? },
            )))
        }
        (None, Some(c)) => {
            let (schema, table, rest) = split_table(c)?;
            let (column, rest) = rest.split_once(':').ok_or("write it as table.column:TYPE")?;
            let (ty, using) = match rest.split_once(':') {
                Some((ty, using)) => {
                    let expr = using
                        .trim()
                        .strip_prefix("USING ")
                        .or_else(|| using.trim().strip_prefix("using "))
                        .unwrap_or(using.trim());
                    (ty.trim().to_string(), Some(expr.to_string()))
                }
                None => (rest.trim().to_string(), None),
            };
            if ty.is_empty() || ty.contains(';') {
                return Err(format!("`{ty}` is not a type"));
            }
            Ok(Some((
                plain(&schema, "schema")?,
                plain(&table, "table")?,
                Change::ChangeType { column: plain(column, "column")?, ty, using },
            )))
        }
        _ => Ok(None),
    }
}

/// The files of the expand migration: up.sql, down.sql, metadata.toml, complete.sql.
pub struct Files {
    pub up: String,
    pub down: String,
    pub metadata: String,
    pub complete: String,
}

impl Spec {
    fn qualified(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&self.table))
    }

    /// (the old app's column, the column the new app uses, the column added)
    fn columns(&self) -> (&str, &str, String) {
        match &self.change {
            Change::Rename { old, new } => (old, new, new.clone()),
            Change::ChangeType { column, .. } => (column, column, format!("{column}_new")),
        }
    }

    /// The new column's value computed from the old one, where `old` is how the old value is written.
    fn forward(&self, old: &str) -> String {
        match &self.change {
            Change::Rename { .. } => old.to_string(),
            Change::ChangeType { column, ty, using: None } => {
                let _ = column;
                format!("({old})::{ty}")
            }
            // The expression names the column: evaluated over a one-row subquery that has it.
            Change::ChangeType { column, using: Some(expr), .. } => {
                format!("(SELECT ({expr}) FROM (SELECT {old} AS {}) AS cargo_migrate_old)", ident(column))
            }
        }
    }

    fn schema_of(&self, version: &str) -> String {
        ident(&format!("{}_{version}", self.app))
    }

    fn function(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&format!("cargo_migrate_sync_{{{{version}}}}_{}", self.table)))
    }

    /// A view of the table as one app version sees it: every column but `hidden`, `shown` under `as_name`.
    fn view(&self, schema: &str, hidden: &str, shown: &str, as_name: &str) -> String {
        format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};\n\
             DO $cargo_migrate$ DECLARE cols text; BEGIN\n\
             \x20 SELECT pg_catalog.string_agg(CASE WHEN attname = {shown_l} THEN pg_catalog.quote_ident(attname) || ' AS ' || pg_catalog.quote_ident({as_l}) \
             ELSE pg_catalog.quote_ident(attname) END, ', ' ORDER BY attnum) INTO cols\n\
             \x20   FROM pg_catalog.pg_attribute WHERE attrelid = {table_l}::regclass AND attnum > 0 AND NOT attisdropped AND attname <> {hidden_l};\n\
             \x20 EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s.%I %s AS SELECT %s FROM %s', {schema_l}, {name_l},\n\
             \x20   CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 150000 THEN 'WITH (security_invoker = true)' ELSE '' END,\n\
             \x20   cols, {table_l});\n\
             END $cargo_migrate$;\n",
            shown_l = literal(shown),
            as_l = literal(as_name),
            hidden_l = literal(hidden),
            table_l = literal(&self.qualified()),
            schema_l = literal(schema),
            name_l = literal(&self.table),
        )
    }

    pub fn files(&self, command: &str) -> Files {
        let table = self.qualified();
        let (old, new_name, added) = self.columns();
        let (old_i, added_i) = (ident(old), ident(&added));
        let function = self.function();
        let trigger = ident(TRIGGER);
        let new_schema = self.schema_of("{{version}}");
        let old_schema = self.schema_of(&self.previous);
        let add_column = match &self.change {
            Change::Rename { .. } => format!(
                "DO $cargo_migrate$ BEGIN\n\
                 \x20 EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN %I %s', {t}, {a},\n\
                 \x20   (SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute\n\
                 \x20     WHERE attrelid = {t}::regclass AND attname = {o}));\n\
                 END $cargo_migrate$;\n",
                t = literal(&table),
                a = literal(&added),
                o = literal(old)
            ),
            Change::ChangeType { ty, .. } => format!("ALTER TABLE {table} ADD COLUMN {added_i} {ty};\n"),
        };
        let fwd_new = self.forward(&format!("NEW.{old_i}"));
        let up = format!(
            "-- {{{{title}}}}: expand (phase 1 of 2), written by `cargo migrate create {command}`.\n\
             -- {table}.{added_i} is added beside {old_i}; a trigger keeps the two in step whichever one an app\n\
             -- writes; the existing rows are filled in batches ([backfill] in metadata.toml); the old app\n\
             -- version reads and writes through schema {old_schema}, the new one through {new_schema}\n\
             -- (SET search_path = …, public). Once no old app runs: `cargo migrate complete {{{{version}}}}`\n\
             -- (complete.sql: the contract). `down` before that removes all of it.\n\
             SET lock_timeout = '5s';\n\
             {add_column}\
             CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $cargo_migrate$\n\
             BEGIN\n\
             \x20 IF TG_OP = 'INSERT' THEN\n\
             \x20   IF NEW.{added_i} IS NULL AND NEW.{old_i} IS NOT NULL THEN NEW.{added_i} := {fwd_new};\n\
             \x20   ELSIF NEW.{old_i} IS NULL AND NEW.{added_i} IS NOT NULL THEN NEW.{old_i} := NEW.{added_i};\n\
             \x20   END IF;\n\
             \x20 ELSIF NEW.{old_i} IS DISTINCT FROM OLD.{old_i} THEN NEW.{added_i} := {fwd_new};\n\
             \x20 ELSIF NEW.{added_i} IS DISTINCT FROM OLD.{added_i} AND NEW.{added_i} IS DISTINCT FROM {fwd_new} THEN\n\
             \x20   NEW.{old_i} := NEW.{added_i};\n\
             \x20 END IF;\n\
             \x20 RETURN NEW;\n\
             END $cargo_migrate$;\n\
             CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();\n\
             {old_view}\
             {new_view}\
             -- The backfill: batched by metadata.toml's [backfill].\n\
             UPDATE {table} SET {added_i} = {fwd_col} WHERE {added_i} IS DISTINCT FROM {fwd_col};\n",
            old_view = self.view(&old_schema, &added, old, old),
            new_view = self.view(&new_schema, old, &added, new_name),
            fwd_col = self.forward(&old_i),
        );
        let drop_schema = |schema: &str| {
            format!(
                "DO $cargo_migrate$ BEGIN EXECUTE 'DROP SCHEMA IF EXISTS ' || {}; \
                 EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $cargo_migrate$;\n",
                literal(schema)
            )
        };
        let down = format!(
            "-- Undo the expand of {{{{name}}}}; refused once `cargo migrate complete {{{{version}}}}` ran.\n\
             DO $cargo_migrate$ BEGIN\n\
             \x20 IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = {t}::regclass AND tgname = {tg}) THEN\n\
             \x20   RAISE EXCEPTION 'this expand was completed (its old column is gone): undo it with a new migration';\n\
             \x20 END IF;\n\
             END $cargo_migrate$;\n\
             SET lock_timeout = '5s';\n\
             DROP VIEW IF EXISTS {new_schema}.{name};\n\
             {drop_new}\
             DROP VIEW IF EXISTS {old_schema}.{name};\n\
             {drop_old}\
             DROP TRIGGER IF EXISTS {trigger} ON {table};\n\
             DROP FUNCTION IF EXISTS {function}();\n\
             ALTER TABLE {table} DROP COLUMN IF EXISTS {added_i};\n",
            t = literal(&table),
            tg = literal(TRIGGER),
            name = ident(&self.table),
            drop_new = drop_schema(&new_schema),
            drop_old = drop_schema(&old_schema),
        );
        let rename_back = match &self.change {
            Change::Rename { .. } => String::new(),
            Change::ChangeType { column, .. } => {
                format!("ALTER TABLE {table} RENAME COLUMN {added_i} TO {};\n", ident(column))
            }
        };
        let complete = format!(
            "-- {{{{title}}}}: contract (phase 2 of 2), run by `cargo migrate complete {{{{version}}}}` once no app\n\
             -- reads {old_schema} any more. One transaction.\n\
             SET LOCAL lock_timeout = '5s';\n\
             DO $cargo_migrate$ BEGIN\n\
             \x20 IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = {t}::regclass AND tgname = {tg}) THEN\n\
             \x20   RAISE EXCEPTION 'already completed';\n\
             \x20 END IF;\n\
             END $cargo_migrate$;\n\
             DROP VIEW IF EXISTS {old_schema}.{name};\n\
             {drop_old}\
             DROP TRIGGER {trigger} ON {table};\n\
             DROP FUNCTION {function}();\n\
             ALTER TABLE {table} DROP COLUMN {old_i};\n\
             {rename_back}",
            t = literal(&table),
            tg = literal(TRIGGER),
            name = ident(&self.table),
            drop_old = drop_schema(&old_schema),
        );
        let metadata = format!(
            "# The expand commits its backfill batch by batch, so it runs outside one transaction.\n\
             run_in_transaction = false\n\n\
             [backfill]\n\
             table = {}\n\
             # An integer column with an index; change it if the table's key is another.\n\
             key = \"id\"\n\
             batch_size = 10000\n",
            toml_string(&format!("{}.{}", self.schema, self.table))
        );
        Files { up, down, metadata, complete }
    }
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_and_a_type_change_are_read_from_the_flag() {
        let r = parse(Some("users.email:contact_email"), None).unwrap().unwrap();
        assert_eq!(
            r,
            ("public".into(), "users".into(), Change::Rename { old: "email".into(), new: "contact_email".into() })
        );
        let c = parse(None, Some("shop.orders.total:numeric(12,2):USING total::numeric / 100")).unwrap().unwrap();
        assert_eq!(
            c,
            (
                "shop".into(),
                "orders".into(),
                Change::ChangeType {
                    column: "total".into(),
                    ty: "numeric(12,2)".into(),
                    using: Some("total::numeric / 100".into())
                }
            )
        );
        assert!(parse(Some("users:x"), None).is_err());
        assert!(parse(Some("users.Email:x"), None).is_err());
        assert!(parse(None, Some("t.c:int; DROP TABLE t")).is_err());
    }

    #[test]
    fn the_expand_adds_syncs_publishes_and_backfills_and_the_contract_drops_the_old() {
        let spec = Spec {
            schema: "public".into(),
            table: "users".into(),
            change: Change::Rename { old: "email".into(), new: "contact_email".into() },
            app: "app".into(),
            previous: "20250101000000".into(),
        };
        let f = spec.files("--rename-column users.email:contact_email");
        assert!(f.up.contains(
            "CREATE TRIGGER \"cargo_migrate_sync_{{version}}\" BEFORE INSERT OR UPDATE ON \"public\".\"users\""
        ));
        assert!(f.up.contains("CREATE SCHEMA IF NOT EXISTS \"app_20250101000000\""));
        assert!(f.up.contains("CREATE SCHEMA IF NOT EXISTS \"app_{{version}}\""));
        assert!(f.up.contains("UPDATE \"public\".\"users\" SET \"contact_email\" = \"email\""));
        assert!(f.metadata.contains("[backfill]") && f.metadata.contains("run_in_transaction = false"));
        assert!(f.complete.contains("ALTER TABLE \"public\".\"users\" DROP COLUMN \"email\""));
        assert!(f.down.contains("DROP COLUMN IF EXISTS \"contact_email\""));
        let typed =
            Spec { change: Change::ChangeType { column: "n".into(), ty: "bigint".into(), using: None }, ..spec };
        let f = typed.files("--change-type users.n:bigint");
        assert!(f.up.contains("ADD COLUMN \"n_new\" bigint"));
        assert!(f.complete.contains("RENAME COLUMN \"n_new\" TO \"n\""));
    }
}
