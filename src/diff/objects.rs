//! Every class but tables: what is replaced (dropped and created again)
//! rather than altered, and the statements of each.

use std::collections::{BTreeMap, BTreeSet};

use super::{rank, split_last, Builder, HazardKind};
use crate::db::catalog::{Acl, Catalog, DefaultPrivilege, Grant, TypeKind};
use crate::sql::literal;

/// The most common owner of `cat`'s objects: who runs the migrations, whose
/// new objects need no `OWNER TO`.
pub(super) fn default_owner(cat: &Catalog) -> String {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    let owners = cat
        .tables
        .values()
        .map(|t| &t.owner)
        .chain(cat.views.values().map(|v| &v.owner))
        .chain(cat.functions.values().map(|f| &f.owner))
        .chain(cat.sequences.values().map(|s| &s.owner))
        .chain(cat.types.values().map(|t| &t.owner));
    for o in owners {
        *count.entry(o).or_default() += 1;
    }
    count.into_iter().max_by_key(|(_, n)| *n).map(|(o, _)| o.to_string()).unwrap_or_default()
}

pub(super) fn owner_to(class: &str, name: &str, owner: &str) -> String {
    format!("ALTER {class} {name} OWNER TO {owner};")
}

/// `COMMENT ON` when it changed.
pub(super) fn comment_on(target: &str, old: &Option<String>, new: &Option<String>) -> Option<String> {
    if old == new {
        return None;
    }
    let text = new.as_deref().map(literal).unwrap_or_else(|| "NULL".into());
    Some(format!("COMMENT ON {target} IS {text};"))
}

/// The grants a new object gets by itself from its owner's default privileges
/// (PostgreSQL's own: `EXECUTE` to `PUBLIC` on functions, `USAGE` on types),
/// as they are when the migration creates it: the default privileges `to`
/// drops are revoked before (among the drops), those it adds are granted after.
pub(super) fn expected_acl(from: &Catalog, to: &Catalog, owner: &str, schema: &str, objects: &str) -> Acl {
    let (old, new) = (effective_defaults(from, to), effective_defaults(to, from));
    let mut acl: Acl = old
        .intersection(&new)
        .filter(|d| d.role == owner && d.objects == objects && d.schema.as_deref().is_none_or(|s| s == schema))
        .map(|d| d.grant.clone())
        .collect();
    let global = |c: &Catalog| {
        c.default_privileges.iter().any(|d| d.role == owner && d.objects == objects && d.schema.is_none())
    };
    if !global(from) && !global(to) {
        let builtin = match objects {
            "FUNCTIONS" => Some("EXECUTE"),
            "TYPES" => Some("USAGE"),
            _ => None,
        };
        acl.extend(builtin.map(|p| Grant { grantee: "PUBLIC".into(), privilege: p.into(), grantable: false }));
    }
    acl
}

/// `GRANT`/`REVOKE` from `old` to `new` (the owner's own privileges left alone).
pub(super) fn acl_changes(
    target: &str,
    column: Option<&str>,
    old: &Acl,
    new: &Acl,
    owner: Option<&str>,
) -> Vec<String> {
    let keep = |g: &&Grant| Some(g.grantee.as_str()) != owner;
    let cols = column.map(|c| format!(" ({c})")).unwrap_or_default();
    let mut out = Vec::new();
    for g in old.iter().filter(keep).filter(|g| !new.contains(g)) {
        let still = new.iter().any(|n| n.grantee == g.grantee && n.privilege == g.privilege);
        if still {
            out.push(format!("REVOKE GRANT OPTION FOR {}{cols} ON {target} FROM {};", g.privilege, g.grantee));
        } else {
            out.push(format!("REVOKE {}{cols} ON {target} FROM {};", g.privilege, g.grantee));
        }
    }
    for g in new.iter().filter(keep).filter(|g| !old.contains(g)) {
        let option = if g.grantable { " WITH GRANT OPTION" } else { "" };
        out.push(format!("GRANT {}{cols} ON {target} TO {}{option};", g.privilege, g.grantee));
    }
    out
}

/// Whether the object `key` names is in `cat`.
fn present(cat: &Catalog, key: &str) -> bool {
    let Some((class, name)) = key.split_once(' ') else { return false };
    match class {
        "table" => cat.tables.contains_key(name),
        "view" => cat.views.contains_key(name),
        "function" => cat.functions.contains_key(name),
        "type" => cat.types.contains_key(name),
        "sequence" => cat.sequences.contains_key(name),
        "index" => cat.indexes.contains_key(name),
        "constraint" => cat.constraints.contains_key(name),
        "trigger" => cat.triggers.contains_key(name),
        "policy" => cat.policies.contains_key(name),
        _ => false,
    }
}

/// Whether a view can be replaced in place: same kind, and its columns
/// only gain new ones at the end.
fn view_in_place(old: &crate::db::catalog::View, new: &crate::db::catalog::View) -> bool {
    !old.materialized && !new.materialized && new.columns.starts_with(&old.columns)
}

fn without_not_valid(def: &str) -> &str {
    def.strip_suffix(" NOT VALID").unwrap_or(def)
}

/// The objects in both catalogs that must be dropped and created again:
/// those that cannot change in place, and what depends on them (and views
/// and policies on a table whose columns change type or go).
pub(super) fn replaced(from: &Catalog, to: &Catalog) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut breaking = BTreeSet::new();
    for (name, t) in &to.tables {
        let Some(o) = from.tables.get(name) else { continue };
        if o.partition_by != t.partition_by {
            out.insert(format!("table {name}"));
        }
        let changed = o.columns.iter().any(|c| match t.columns.iter().find(|n| n.name == c.name) {
            None => true,
            Some(n) => n.data_type != c.data_type || n.collation != c.collation || n.generated != c.generated,
        });
        if changed {
            breaking.insert(format!("table {name}"));
        }
    }
    for (name, v) in &to.views {
        if let Some(o) = from.views.get(name) {
            if (o.definition != v.definition || o.columns != v.columns || o.materialized != v.materialized)
                && !view_in_place(o, v)
            {
                out.insert(format!("view {name}"));
            }
        }
    }
    for (name, f) in &to.functions {
        if let Some(o) = from.functions.get(name) {
            if o.definition != f.definition
                && (o.result != f.result || o.arguments != f.arguments || o.procedure != f.procedure)
            {
                out.insert(format!("function {name}"));
            }
        }
    }
    for (name, c) in &to.constraints {
        if let Some(o) = from.constraints.get(name) {
            if without_not_valid(&o.definition) != without_not_valid(&c.definition)
                || (c.definition.ends_with(" NOT VALID") && !o.definition.ends_with(" NOT VALID"))
            {
                out.insert(format!("constraint {name}"));
            }
        }
    }
    for (name, i) in &to.indexes {
        if from.indexes.get(name).is_some_and(|o| o.definition != i.definition) {
            out.insert(format!("index {name}"));
        }
    }
    for (name, t) in &to.triggers {
        if from.triggers.get(name).is_some_and(|o| o.definition != t.definition) {
            out.insert(format!("trigger {name}"));
        }
    }
    for (name, p) in &to.policies {
        if let Some(o) = from.policies.get(name) {
            let body = |p: &crate::db::catalog::Policy| {
                (p.permissive, p.command.clone(), p.roles.clone(), p.using.clone(), p.with_check.clone())
            };
            if body(o) != body(p) {
                out.insert(format!("policy {name}"));
            }
        }
    }
    for (name, t) in &to.types {
        if let (Some(o), TypeKind::Domain { base, .. }) = (from.types.get(name), &t.kind) {
            if !matches!(&o.kind, TypeKind::Domain { base: b, .. } if b == base)
                && !matches!((&o.kind, &t.kind), (TypeKind::Enum(_), TypeKind::Enum(_)))
            {
                out.insert(format!("type {name}"));
            }
        }
        if let Some(o) = from.types.get(name) {
            if std::mem::discriminant(&o.kind) != std::mem::discriminant(&t.kind) {
                out.insert(format!("type {name}"));
            }
        }
    }
    // What depends on a replaced object goes and comes back with it.
    loop {
        let mut more = Vec::new();
        for (dep, r) in &from.depends {
            if out.contains(dep) || dep.starts_with("table ") || !present(from, dep) || !present(to, dep) {
                continue;
            }
            let through_table = breaking.contains(r) && (dep.starts_with("view ") || dep.starts_with("policy "));
            if out.contains(r) || through_table {
                more.push(dep.clone());
            }
        }
        // A replaced table takes its own constraints, indexes, triggers and policies.
        for key in out.iter().filter_map(|k| k.strip_prefix("table ")) {
            let on = format!(" on {key}");
            for k in from.constraints.keys().filter(|k| k.ends_with(&on) && to.constraints.contains_key(*k)) {
                more.push(format!("constraint {k}"));
            }
            for k in from.triggers.keys().filter(|k| k.ends_with(&on) && to.triggers.contains_key(*k)) {
                more.push(format!("trigger {k}"));
            }
            for k in from.policies.keys().filter(|k| k.ends_with(&on) && to.policies.contains_key(*k)) {
                more.push(format!("policy {k}"));
            }
            for (k, _) in from.indexes.iter().filter(|(k, i)| i.table == key && to.indexes.contains_key(*k)) {
                more.push(format!("index {k}"));
            }
        }
        let before = out.len();
        out.extend(more);
        if out.len() == before {
            return out;
        }
    }
}

/// Whether table `t` of `from` is gone (or dropped to be created again) in this plan.
/// Keys before functions (an SQL body selecting columns it groups by a key
/// needs the key), checks after them (a check may call one), foreign keys last.
fn constraint_rank(kind: char) -> u8 {
    match kind {
        'f' => rank::FOREIGN_KEY,
        'p' | 'u' => rank::KEY,
        _ => rank::CONSTRAINT,
    }
}

fn table_goes(table: &str, to: &Catalog, replaced: &BTreeSet<String>) -> bool {
    !to.tables.contains_key(table) && !to.views.contains_key(table) || replaced.contains(&format!("table {table}"))
}

pub(super) fn plan(from: &Catalog, to: &Catalog, replaced: &BTreeSet<String>, b: &mut Builder) {
    let owner = default_owner(to);
    let is_replaced = |class: &str, name: &str| replaced.contains(&format!("{class} {name}"));

    // Schemas.
    for (name, s) in &to.schemas {
        let key = format!("schema {name}");
        let old = from.schemas.get(name);
        if old.is_none() {
            b.create(&key, rank::SCHEMA, format!("CREATE SCHEMA {name};"));
            if s.owner != owner && !s.owner.is_empty() && s.owner != "pg_database_owner" {
                b.create(&key, rank::SCHEMA, owner_to("SCHEMA", name, &s.owner));
            }
        } else if let Some(o) = old.filter(|o| o.owner != s.owner) {
            let _ = o;
            b.create(&key, rank::SCHEMA, owner_to("SCHEMA", name, &s.owner));
        }
        let (oc, oa) = old.map(|o| (o.comment.clone(), o.acl.clone())).unwrap_or_default();
        if let Some(sql) = comment_on(&format!("SCHEMA {name}"), &oc, &s.comment) {
            b.create(&key, rank::SCHEMA, sql);
        }
        for sql in acl_changes(&format!("SCHEMA {name}"), None, &oa, &s.acl, Some(&s.owner)) {
            b.create(&key, rank::SCHEMA, sql);
        }
    }
    for name in from.schemas.keys().filter(|n| !to.schemas.contains_key(*n)) {
        b.drop(&format!("schema {name}"), rank::SCHEMA, format!("DROP SCHEMA {name};"), false);
    }

    // Extensions.
    for (name, e) in &to.extensions {
        let key = format!("extension {name}");
        match from.extensions.get(name) {
            None => b.create(
                &key,
                rank::EXTENSION,
                format!("CREATE EXTENSION IF NOT EXISTS {name} WITH SCHEMA {};", e.schema),
            ),
            Some(o) => {
                if o.schema != e.schema {
                    b.create(&key, rank::EXTENSION, format!("ALTER EXTENSION {name} SET SCHEMA {};", e.schema));
                }
                if o.version != e.version {
                    b.create(
                        &key,
                        rank::EXTENSION,
                        format!("ALTER EXTENSION {name} UPDATE TO {};", literal(&e.version)),
                    );
                }
            }
        }
        let oc = from.extensions.get(name).and_then(|o| o.comment.clone());
        if from.extensions.contains_key(name) {
            if let Some(sql) = comment_on(&format!("EXTENSION {name}"), &oc, &e.comment) {
                b.create(&key, rank::EXTENSION, sql);
            }
        }
    }
    for name in from.extensions.keys().filter(|n| !to.extensions.contains_key(*n)) {
        b.drop(&format!("extension {name}"), rank::EXTENSION, format!("DROP EXTENSION {name};"), false);
    }

    types(from, to, replaced, &owner, b);
    sequences(from, to, &owner, b);

    // Views.
    for (name, v) in &to.views {
        let key = format!("view {name}");
        let class = if v.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
        let with = if v.options.is_empty() { String::new() } else { format!(" WITH ({})", v.options.join(", ")) };
        let body = v.definition.trim().trim_end_matches(';');
        let old = from.views.get(name).filter(|_| !is_replaced("view", name));
        match old {
            None => {
                if let Some(o) = from.views.get(name) {
                    let oc = if o.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
                    b.drop(&key, rank::VIEW, format!("DROP {oc} {name};"), false);
                }
                b.create(&key, rank::VIEW, format!("CREATE {class} {name}{with} AS\n{body};"));
                if let Some(sql) = comment_on(&format!("{class} {name}"), &None, &v.comment) {
                    b.create(&key, rank::VIEW, sql);
                }
                let base = expected_acl(from, to, &v.owner, super::schema_of(name).unwrap_or(""), "TABLES");
                for sql in acl_changes(&format!("TABLE {name}"), None, &base, &v.acl, Some(&v.owner)) {
                    b.create(&key, rank::VIEW, sql);
                }
                if v.owner != owner {
                    b.create(&key, rank::VIEW, owner_to("TABLE", name, &v.owner));
                }
            }
            Some(o) => {
                if o.definition != v.definition || o.columns != v.columns {
                    b.create(&key, rank::VIEW, format!("CREATE OR REPLACE VIEW {name}{with} AS\n{body};"));
                }
                if o.options != v.options {
                    let gone: Vec<&str> = o
                        .options
                        .iter()
                        .filter_map(|x| x.split('=').next())
                        .filter(|k| !v.options.iter().any(|n| n.split('=').next() == Some(k)))
                        .collect();
                    if !gone.is_empty() {
                        b.create(&key, rank::VIEW, format!("ALTER {class} {name} RESET ({});", gone.join(", ")));
                    }
                    if !v.options.is_empty() {
                        b.create(&key, rank::VIEW, format!("ALTER {class} {name} SET ({});", v.options.join(", ")));
                    }
                }
                if let Some(sql) = comment_on(&format!("{class} {name}"), &o.comment, &v.comment) {
                    b.create(&key, rank::VIEW, sql);
                }
                for sql in acl_changes(&format!("TABLE {name}"), None, &o.acl, &v.acl, Some(&v.owner)) {
                    b.create(&key, rank::VIEW, sql);
                }
                if o.owner != v.owner {
                    b.create(&key, rank::VIEW, owner_to("TABLE", name, &v.owner));
                }
            }
        }
    }
    for (name, v) in from.views.iter().filter(|(n, _)| !to.views.contains_key(*n)) {
        let class = if v.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
        b.drop(&format!("view {name}"), rank::VIEW, format!("DROP {class} {name};"), false);
    }

    // Functions and procedures.
    for (name, f) in &to.functions {
        let key = format!("function {name}");
        let class = if f.procedure { "PROCEDURE" } else { "FUNCTION" };
        let def = format!("{};", f.definition.trim_end());
        let old = from.functions.get(name).filter(|_| !is_replaced("function", name));
        match old {
            None => {
                if let Some(o) = from.functions.get(name) {
                    let oc = if o.procedure { "PROCEDURE" } else { "FUNCTION" };
                    b.drop(&key, rank::FUNCTION, format!("DROP {oc} {name};"), false);
                }
                b.create(&key, rank::FUNCTION, def);
                if let Some(sql) = comment_on(&format!("{class} {name}"), &None, &f.comment) {
                    b.create(&key, rank::FUNCTION, sql);
                }
                let base = expected_acl(from, to, &f.owner, super::schema_of(name).unwrap_or(""), "FUNCTIONS");
                for sql in acl_changes(&format!("{class} {name}"), None, &base, &f.acl, Some(&f.owner)) {
                    b.create(&key, rank::FUNCTION, sql);
                }
                if f.owner != owner {
                    b.create(&key, rank::FUNCTION, owner_to(class, name, &f.owner));
                }
            }
            Some(o) => {
                if o.definition != f.definition {
                    b.create(&key, rank::FUNCTION, def);
                }
                if let Some(sql) = comment_on(&format!("{class} {name}"), &o.comment, &f.comment) {
                    b.create(&key, rank::FUNCTION, sql);
                }
                for sql in acl_changes(&format!("{class} {name}"), None, &o.acl, &f.acl, Some(&f.owner)) {
                    b.create(&key, rank::FUNCTION, sql);
                }
                if o.owner != f.owner {
                    b.create(&key, rank::FUNCTION, owner_to(class, name, &f.owner));
                }
            }
        }
    }
    for (name, f) in from.functions.iter().filter(|(n, _)| !to.functions.contains_key(*n)) {
        let class = if f.procedure { "PROCEDURE" } else { "FUNCTION" };
        b.drop(&format!("function {name}"), rank::FUNCTION, format!("DROP {class} {name};"), false);
    }

    // Constraints.
    for (key_name, c) in &to.constraints {
        let key = format!("constraint {key_name}");
        let r = constraint_rank(c.kind);
        let add = format!("ALTER TABLE {} ADD CONSTRAINT {} {};", c.table, c.name, c.definition);
        match from.constraints.get(key_name) {
            None => b.create(&key, r, add),
            Some(o) if is_replaced("constraint", key_name) => {
                if !table_goes(&o.table, to, replaced) {
                    b.drop(&key, r, format!("ALTER TABLE {} DROP CONSTRAINT {};", o.table, o.name), false);
                }
                b.create(&key, r, add);
            }
            Some(o) if o.definition != c.definition => {
                b.create(&key, r, format!("ALTER TABLE {} VALIDATE CONSTRAINT {};", c.table, c.name));
            }
            Some(_) => {}
        }
        let oc = from
            .constraints
            .get(key_name)
            .filter(|_| !is_replaced("constraint", key_name))
            .and_then(|o| o.comment.clone());
        if let Some(sql) = comment_on(&format!("CONSTRAINT {} ON {}", c.name, c.table), &oc, &c.comment) {
            b.create(&key, r, sql);
        }
    }
    for (key_name, c) in from.constraints.iter().filter(|(n, _)| !to.constraints.contains_key(*n)) {
        if !table_goes(&c.table, to, replaced) {
            let r = constraint_rank(c.kind);
            b.drop(
                &format!("constraint {key_name}"),
                r,
                format!("ALTER TABLE {} DROP CONSTRAINT {};", c.table, c.name),
                false,
            );
        }
    }

    // Indexes.
    for (name, i) in &to.indexes {
        let key = format!("index {name}");
        let old = from.indexes.get(name);
        let again = is_replaced("index", name);
        if old.is_none() || again {
            if let Some(o) = old.filter(|o| !table_goes(&o.table, to, replaced)) {
                let _ = o;
                b.drop(&key, rank::INDEX, format!("DROP INDEX {name};"), false);
            }
            b.create(&key, rank::INDEX, format!("{};", i.definition));
            let existing = from.tables.contains_key(&i.table) && !table_goes(&i.table, to, replaced);
            if existing && !i.definition.contains(" CONCURRENTLY ") {
                b.hazard(
                    HazardKind::IndexLocksTable,
                    name,
                    format!("index {name} is built on the existing table {} without CONCURRENTLY: writes to it wait until it is built", i.table),
                );
            }
        }
        let oc = old.filter(|_| !again).and_then(|o| o.comment.clone());
        if let Some(sql) = comment_on(&format!("INDEX {name}"), &oc, &i.comment) {
            b.create(&key, rank::INDEX, sql);
        }
    }
    for (name, i) in from.indexes.iter().filter(|(n, _)| !to.indexes.contains_key(*n)) {
        if !table_goes(&i.table, to, replaced) {
            b.drop(&format!("index {name}"), rank::INDEX, format!("DROP INDEX {name};"), false);
        }
    }

    // Triggers.
    for (key_name, t) in &to.triggers {
        let key = format!("trigger {key_name}");
        let old = from.triggers.get(key_name).filter(|_| !is_replaced("trigger", key_name));
        if old.is_none() {
            if let Some(o) = from.triggers.get(key_name).filter(|o| !table_goes(&o.table, to, replaced)) {
                b.drop(&key, rank::TRIGGER, format!("DROP TRIGGER {} ON {};", o.name, o.table), false);
            }
            b.create(&key, rank::TRIGGER, format!("{};", t.definition));
        }
        let was = old.map(|o| o.enabled).unwrap_or('O');
        if was != t.enabled {
            let what = match t.enabled {
                'D' => "DISABLE TRIGGER",
                'R' => "ENABLE REPLICA TRIGGER",
                'A' => "ENABLE ALWAYS TRIGGER",
                _ => "ENABLE TRIGGER",
            };
            b.create(&key, rank::TRIGGER, format!("ALTER TABLE {} {what} {};", t.table, t.name));
        }
        let oc = old.and_then(|o| o.comment.clone());
        if let Some(sql) = comment_on(&format!("TRIGGER {} ON {}", t.name, t.table), &oc, &t.comment) {
            b.create(&key, rank::TRIGGER, sql);
        }
    }
    for (key_name, t) in from.triggers.iter().filter(|(n, _)| !to.triggers.contains_key(*n)) {
        if !table_goes(&t.table, to, replaced) {
            b.drop(
                &format!("trigger {key_name}"),
                rank::TRIGGER,
                format!("DROP TRIGGER {} ON {};", t.name, t.table),
                false,
            );
        }
    }

    // Policies.
    for (key_name, p) in &to.policies {
        let key = format!("policy {key_name}");
        let old = from.policies.get(key_name).filter(|_| !is_replaced("policy", key_name));
        if old.is_none() {
            if let Some(o) = from.policies.get(key_name).filter(|o| !table_goes(&o.table, to, replaced)) {
                b.drop(&key, rank::POLICY, format!("DROP POLICY {} ON {};", o.name, o.table), false);
            }
            let mut sql = format!(
                "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
                p.name,
                p.table,
                if p.permissive { "PERMISSIVE" } else { "RESTRICTIVE" },
                p.command,
                p.roles.join(", ")
            );
            if let Some(u) = &p.using {
                sql.push_str(&format!(" USING ({u})"));
            }
            if let Some(w) = &p.with_check {
                sql.push_str(&format!(" WITH CHECK ({w})"));
            }
            sql.push(';');
            b.create(&key, rank::POLICY, sql);
        }
        let oc = old.and_then(|o| o.comment.clone());
        if let Some(sql) = comment_on(&format!("POLICY {} ON {}", p.name, p.table), &oc, &p.comment) {
            b.create(&key, rank::POLICY, sql);
        }
    }
    for (key_name, p) in from.policies.iter().filter(|(n, _)| !to.policies.contains_key(*n)) {
        if !table_goes(&p.table, to, replaced) {
            b.drop(
                &format!("policy {key_name}"),
                rank::POLICY,
                format!("DROP POLICY {} ON {};", p.name, p.table),
                false,
            );
        }
    }

    // Publications.
    for (name, p) in &to.publications {
        let key = format!("publication {name}");
        let publish = format!("WITH (publish = {})", literal(&p.actions));
        match from.publications.get(name) {
            None => {
                let what = if p.all_tables {
                    " FOR ALL TABLES".to_string()
                } else if p.tables.is_empty() {
                    String::new()
                } else {
                    format!(" FOR TABLE {}", p.tables.iter().cloned().collect::<Vec<_>>().join(", "))
                };
                b.create(&key, rank::PUBLICATION, format!("CREATE PUBLICATION {name}{what} {publish};"));
            }
            Some(o) => {
                if o.actions != p.actions {
                    b.create(
                        &key,
                        rank::PUBLICATION,
                        format!("ALTER PUBLICATION {name} SET (publish = {});", literal(&p.actions)),
                    );
                }
                for t in o.tables.iter().filter(|t| !p.tables.contains(*t) && !table_goes(t, to, replaced)) {
                    b.create(&key, rank::PUBLICATION, format!("ALTER PUBLICATION {name} DROP TABLE {t};"));
                }
                for t in p.tables.iter().filter(|t| !o.tables.contains(*t) || table_goes(t, to, replaced)) {
                    b.create(&key, rank::PUBLICATION, format!("ALTER PUBLICATION {name} ADD TABLE {t};"));
                }
                if o.owner != p.owner {
                    b.create(&key, rank::PUBLICATION, owner_to("PUBLICATION", name, &p.owner));
                }
            }
        }
    }
    for name in from.publications.keys().filter(|n| !to.publications.contains_key(*n)) {
        b.drop(&format!("publication {name}"), rank::PUBLICATION, format!("DROP PUBLICATION {name};"), false);
    }

    // Event triggers.
    for (name, e) in &to.event_triggers {
        let key = format!("event {name}");
        let old = from.event_triggers.get(name);
        let same = old.is_some_and(|o| o.event == e.event && o.function == e.function && o.tags == e.tags);
        if !same {
            if old.is_some() {
                b.drop(&key, rank::EVENT_TRIGGER, format!("DROP EVENT TRIGGER {name};"), false);
            }
            let tags = if e.tags.is_empty() {
                String::new()
            } else {
                format!(" WHEN TAG IN ({})", e.tags.iter().map(|t| literal(t)).collect::<Vec<_>>().join(", "))
            };
            b.create(
                &key,
                rank::EVENT_TRIGGER,
                format!("CREATE EVENT TRIGGER {name} ON {}{tags} EXECUTE FUNCTION {};", e.event, e.function),
            );
            b.edges.insert((key.clone(), format!("function {}", e.function)));
        }
        let was = old.filter(|_| same).map(|o| o.enabled).unwrap_or('O');
        if was != e.enabled {
            let what = match e.enabled {
                'D' => "DISABLE",
                'R' => "ENABLE REPLICA",
                'A' => "ENABLE ALWAYS",
                _ => "ENABLE",
            };
            b.create(&key, rank::EVENT_TRIGGER, format!("ALTER EVENT TRIGGER {name} {what};"));
        }
    }
    for name in from.event_triggers.keys().filter(|n| !to.event_triggers.contains_key(*n)) {
        b.drop(&format!("event {name}"), rank::EVENT_TRIGGER, format!("DROP EVENT TRIGGER {name};"), false);
    }

    foreign(from, to, &owner, b);

    // Extended statistics: made again when their definition changed (they
    // hold only what ANALYZE gathers); after the tables and columns they name.
    for (name, def) in &to.statistics {
        if from.statistics.get(name) != Some(def) {
            if from.statistics.contains_key(name) {
                b.drop(&format!("statistics {name}"), rank::INDEX, format!("DROP STATISTICS IF EXISTS {name};"), false);
            }
            b.create(&format!("statistics {name}"), rank::INDEX, format!("{def};"));
        }
    }
    for name in from.statistics.keys().filter(|n| !to.statistics.contains_key(*n)) {
        b.drop(&format!("statistics {name}"), rank::INDEX, format!("DROP STATISTICS IF EXISTS {name};"), false);
    }

    // Default privileges, last: they concern objects created later.
    let in_schema = |d: &crate::db::catalog::DefaultPrivilege| {
        d.schema.as_ref().map(|s| format!(" IN SCHEMA {s}")).unwrap_or_default()
    };
    let (old, new) = (effective_defaults(from, to), effective_defaults(to, from));
    // Revoked among the drops (before a schema they name goes).
    for d in old.difference(&new) {
        b.drop(
            "defaults",
            rank::DEFAULTS,
            format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {}{} REVOKE {} ON {} FROM {};",
                d.role,
                in_schema(d),
                d.grant.privilege,
                d.objects,
                d.grant.grantee
            ),
            false,
        );
    }
    for d in new.difference(&old) {
        let option = if d.grant.grantable { " WITH GRANT OPTION" } else { "" };
        b.create(
            "defaults",
            rank::DEFAULTS,
            format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {}{} GRANT {} ON {} TO {}{option};",
                d.role,
                in_schema(d),
                d.grant.privilege,
                d.objects,
                d.grant.grantee
            ),
        );
    }
}

/// Foreign-data wrappers, servers and foreign tables: made again when their
/// statement changed (a foreign table holds no rows), else their owner and grants.
fn foreign(from: &Catalog, to: &Catalog, owner: &str, b: &mut Builder) {
    let rank_of = |class: &str| match class {
        "FOREIGN DATA WRAPPER" => rank::FOREIGN_WRAPPER,
        "SERVER" => rank::FOREIGN_SERVER,
        _ => rank::FOREIGN_TABLE,
    };
    // GRANT names a server `FOREIGN SERVER`, a foreign table `TABLE`.
    let grant_target = |f: &crate::db::catalog::Foreign| match f.class.as_str() {
        "SERVER" => format!("FOREIGN SERVER {}", f.name),
        "FOREIGN TABLE" => format!("TABLE {}", f.name),
        _ => format!("{} {}", f.class, f.name),
    };
    let drop = |f: &crate::db::catalog::Foreign, b: &mut Builder| {
        b.drop(
            &format!("foreign {} {}", f.class, f.name),
            rank_of(&f.class),
            format!("DROP {} {};", f.class, f.name),
            false,
        )
    };
    for (key, f) in &to.foreign {
        let node = format!("foreign {key}");
        let rank = rank_of(&f.class);
        let old = from.foreign.get(key).filter(|o| o.definition == f.definition);
        if let Some(o) = from.foreign.get(key).filter(|_| old.is_none()) {
            drop(o, b);
        }
        let base = match old {
            Some(o) => {
                if o.owner != f.owner {
                    b.create(&node, rank, owner_to(&f.class, &f.name, &f.owner));
                }
                o.acl.clone()
            }
            None => {
                b.create(&node, rank, format!("{};", f.definition));
                if f.owner != owner && !f.owner.is_empty() {
                    b.create(&node, rank, owner_to(&f.class, &f.name, &f.owner));
                }
                match f.class.as_str() {
                    "FOREIGN TABLE" => {
                        expected_acl(from, to, &f.owner, super::schema_of(&f.name).unwrap_or(""), "TABLES")
                    }
                    _ => Acl::new(),
                }
            }
        };
        for sql in acl_changes(&grant_target(f), None, &base, &f.acl, Some(&f.owner)) {
            b.create(&node, rank, sql);
        }
    }
    for (key, f) in &from.foreign {
        if !to.foreign.contains_key(key) {
            drop(f, b);
        }
    }
}

/// `cat`'s default privileges as the planner compares them. A role's global
/// entry (no `IN SCHEMA`) replaces PostgreSQL's built-in defaults, so where
/// `other` has one and `cat` has none, `cat` has the built-in ones: `EXECUTE`
/// to `PUBLIC` on functions, `USAGE` on types (`REVOKE … FROM PUBLIC` is the
/// change). The owner's own privileges are left alone, as on objects.
fn effective_defaults(cat: &Catalog, other: &Catalog) -> BTreeSet<DefaultPrivilege> {
    let global = |c: &Catalog| -> BTreeSet<(String, String)> {
        c.default_privileges
            .iter()
            .filter(|d| d.schema.is_none())
            .map(|d| (d.role.clone(), d.objects.clone()))
            .collect()
    };
    let mine = global(cat);
    let mut out: BTreeSet<DefaultPrivilege> =
        cat.default_privileges.iter().filter(|d| d.schema.is_some() || d.grant.grantee != d.role).cloned().collect();
    for (role, objects) in global(other).difference(&mine) {
        let builtin = match objects.as_str() {
            "FUNCTIONS" => "EXECUTE",
            "TYPES" => "USAGE",
            _ => continue,
        };
        out.insert(DefaultPrivilege {
            role: role.clone(),
            schema: None,
            objects: objects.clone(),
            grant: Grant { grantee: "PUBLIC".into(), privilege: builtin.into(), grantable: false },
        });
    }
    out
}

fn type_create(name: &str, kind: &TypeKind) -> Vec<String> {
    match kind {
        TypeKind::Enum(labels) => {
            vec![format!(
                "CREATE TYPE {name} AS ENUM ({});",
                labels.iter().map(|l| literal(l)).collect::<Vec<_>>().join(", ")
            )]
        }
        TypeKind::Composite(attrs) => {
            let a: Vec<String> = attrs.iter().map(|(n, t)| format!("{n} {t}")).collect();
            vec![format!("CREATE TYPE {name} AS ({});", a.join(", "))]
        }
        TypeKind::Domain { base, not_null, default, checks } => {
            let mut s = format!("CREATE DOMAIN {name} AS {base}");
            if let Some(d) = default {
                s.push_str(&format!(" DEFAULT {d}"));
            }
            if *not_null {
                s.push_str(" NOT NULL");
            }
            for (n, c) in checks {
                s.push_str(&format!(" CONSTRAINT {n} {c}"));
            }
            vec![format!("{s};")]
        }
    }
}

fn type_drop(name: &str, kind: &TypeKind) -> String {
    match kind {
        TypeKind::Domain { .. } => format!("DROP DOMAIN {name};"),
        _ => format!("DROP TYPE {name};"),
    }
}

fn types(from: &Catalog, to: &Catalog, replaced: &BTreeSet<String>, owner: &str, b: &mut Builder) {
    for (name, t) in &to.types {
        let key = format!("type {name}");
        let old = from.types.get(name);
        let class = if matches!(t.kind, TypeKind::Domain { .. }) { "DOMAIN" } else { "TYPE" };
        match old {
            Some(o) if !replaced.contains(&key) => {
                alter_type(from, to, name, &o.kind, &t.kind, b);
                if let Some(sql) = comment_on(&format!("{class} {name}"), &o.comment, &t.comment) {
                    b.create(&key, rank::TYPE, sql);
                }
                if o.owner != t.owner {
                    b.create(&key, rank::TYPE, owner_to(class, name, &t.owner));
                }
            }
            _ => {
                if let Some(o) = old {
                    b.drop(&key, rank::TYPE, type_drop(name, &o.kind), false);
                }
                for sql in type_create(name, &t.kind) {
                    b.create(&key, rank::TYPE, sql);
                }
                if let Some(sql) = comment_on(&format!("{class} {name}"), &None, &t.comment) {
                    b.create(&key, rank::TYPE, sql);
                }
                if t.owner != owner {
                    b.create(&key, rank::TYPE, owner_to(class, name, &t.owner));
                }
            }
        }
    }
    for (name, t) in from.types.iter().filter(|(n, _)| !to.types.contains_key(*n)) {
        b.drop(&format!("type {name}"), rank::TYPE, type_drop(name, &t.kind), false);
    }
}

fn alter_type(from: &Catalog, to: &Catalog, name: &str, old: &TypeKind, new: &TypeKind, b: &mut Builder) {
    let key = format!("type {name}");
    match (old, new) {
        (TypeKind::Enum(a), TypeKind::Enum(n)) if a != n => {
            // Labels only added, the old ones in their order: add them in place.
            let kept: Vec<&String> = n.iter().filter(|l| a.contains(l)).collect();
            if kept.len() == a.len() && kept.iter().zip(a).all(|(x, y)| *x == y) {
                for (i, l) in n.iter().enumerate() {
                    if a.contains(l) {
                        continue;
                    }
                    let place = match n[..i].iter().rev().find(|p| a.contains(p)) {
                        Some(prev) => format!(" AFTER {}", literal(prev)),
                        None => n[i..]
                            .iter()
                            .find(|p| a.contains(p))
                            .map(|next| format!(" BEFORE {}", literal(next)))
                            .unwrap_or_default(),
                    };
                    b.create(&key, rank::TYPE, format!("ALTER TYPE {name} ADD VALUE {}{place};", literal(l)));
                }
                return;
            }
            // Otherwise the type is rebuilt and its columns cast through text.
            let lost: Vec<&String> = a.iter().filter(|l| !n.contains(l)).collect();
            let (_, bare) = split_last(name).unwrap_or(("", name));
            let old_name = format!("{}_cargo_migrate_old", bare.trim_matches('"'));
            let schema = super::schema_of(name).unwrap_or("public");
            let mut sql = vec![format!("ALTER TYPE {name} RENAME TO {};", crate::sql::ident(&old_name))];
            sql.extend(type_create(name, new));
            for (table, t) in &from.tables {
                for c in t.columns.iter().filter(|c| c.local && c.data_type == name) {
                    let at = format!("ALTER TABLE {table} ALTER COLUMN {}", c.name);
                    if c.default.is_some() {
                        sql.push(format!("{at} DROP DEFAULT;"));
                    }
                    sql.push(format!("{at} TYPE {name} USING {}::text::{name};", c.name));
                    let new_default = to
                        .tables
                        .get(table)
                        .and_then(|t| t.columns.iter().find(|n| n.name == c.name))
                        .and_then(|n| n.default.clone());
                    if let Some(d) = new_default {
                        sql.push(format!("{at} SET DEFAULT {d};"));
                    }
                }
            }
            sql.push(format!("DROP TYPE {schema}.{};", crate::sql::ident(&old_name)));
            let destructive = !lost.is_empty();
            if destructive {
                b.hazard(
                    HazardKind::DropsEnumValue,
                    name,
                    format!(
                        "enum {name} loses {}: rows holding them make the migration fail",
                        lost.iter().map(|l| literal(l)).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            for s in sql {
                b.create_with(&key, rank::TYPE, s, destructive);
            }
        }
        (TypeKind::Composite(a), TypeKind::Composite(n)) if a != n => {
            for (attr, _) in a.iter().filter(|(x, _)| !n.iter().any(|(y, _)| y == x)) {
                b.create(&key, rank::TYPE, format!("ALTER TYPE {name} DROP ATTRIBUTE {attr};"));
            }
            for (attr, ty) in n {
                match a.iter().find(|(x, _)| x == attr) {
                    None => b.create(&key, rank::TYPE, format!("ALTER TYPE {name} ADD ATTRIBUTE {attr} {ty};")),
                    Some((_, old)) if old != ty => {
                        b.create(&key, rank::TYPE, format!("ALTER TYPE {name} ALTER ATTRIBUTE {attr} TYPE {ty};"))
                    }
                    _ => {}
                }
            }
        }
        (
            TypeKind::Domain { not_null: on, default: od, checks: oc, .. },
            TypeKind::Domain { not_null: nn, default: nd, checks: nc, .. },
        ) => {
            if od != nd {
                match nd {
                    Some(d) => b.create(&key, rank::TYPE, format!("ALTER DOMAIN {name} SET DEFAULT {d};")),
                    None => b.create(&key, rank::TYPE, format!("ALTER DOMAIN {name} DROP DEFAULT;")),
                }
            }
            if on != nn {
                let what = if *nn { "SET" } else { "DROP" };
                b.create(&key, rank::TYPE, format!("ALTER DOMAIN {name} {what} NOT NULL;"));
            }
            for (c, def) in oc {
                if nc.get(c) != Some(def) {
                    b.create(&key, rank::TYPE, format!("ALTER DOMAIN {name} DROP CONSTRAINT {c};"));
                }
            }
            for (c, def) in nc {
                if oc.get(c) != Some(def) {
                    b.create(&key, rank::TYPE, format!("ALTER DOMAIN {name} ADD CONSTRAINT {c} {def};"));
                }
            }
        }
        _ => {}
    }
}

fn sequences(from: &Catalog, to: &Catalog, owner: &str, b: &mut Builder) {
    for (name, s) in &to.sequences {
        let key = format!("sequence {name}");
        let spec = |s: &crate::db::catalog::Sequence| {
            format!(
                "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {}{}",
                s.data_type,
                s.increment,
                s.min,
                s.max,
                s.start,
                s.cache,
                if s.cycle { " CYCLE" } else { " NO CYCLE" }
            )
        };
        let old = from.sequences.get(name);
        match old {
            None => {
                b.create(&key, rank::SEQUENCE, format!("CREATE SEQUENCE {name} {};", spec(s)));
                let base = expected_acl(from, to, &s.owner, super::schema_of(name).unwrap_or(""), "SEQUENCES");
                for sql in acl_changes(&format!("SEQUENCE {name}"), None, &base, &s.acl, Some(&s.owner)) {
                    b.create(&key, rank::SEQUENCE, sql);
                }
                if s.owner != owner {
                    b.create(&key, rank::SEQUENCE, owner_to("SEQUENCE", name, &s.owner));
                }
            }
            Some(o) => {
                if spec(o) != spec(s) {
                    b.create(&key, rank::SEQUENCE, format!("ALTER SEQUENCE {name} {};", spec(s)));
                }
                for sql in acl_changes(&format!("SEQUENCE {name}"), None, &o.acl, &s.acl, Some(&s.owner)) {
                    b.create(&key, rank::SEQUENCE, sql);
                }
                if o.owner != s.owner {
                    b.create(&key, rank::SEQUENCE, owner_to("SEQUENCE", name, &s.owner));
                }
            }
        }
        let oc = old.and_then(|o| o.comment.clone());
        if let Some(sql) = comment_on(&format!("SEQUENCE {name}"), &oc, &s.comment) {
            b.create(&key, rank::SEQUENCE, sql);
        }
        let was = old.and_then(|o| o.owned_by.clone());
        if was != s.owned_by {
            let by = s.owned_by.as_ref().map(|(t, c)| format!("{t}.{c}")).unwrap_or_else(|| "NONE".into());
            b.create(&format!("owned {name}"), rank::OWNED, format!("ALTER SEQUENCE {name} OWNED BY {by};"));
            if let Some((t, _)) = &s.owned_by {
                b.edges.insert((format!("owned {name}"), format!("table {t}")));
            }
        }
    }
    for (name, s) in from.sequences.iter().filter(|(n, _)| !to.sequences.contains_key(*n)) {
        // A sequence owned by a column goes with it.
        let goes_with_column = s
            .owned_by
            .as_ref()
            .is_some_and(|(t, c)| to.tables.get(t).is_none_or(|t| !t.columns.iter().any(|x| &x.name == c)));
        if !goes_with_column {
            b.drop(&format!("sequence {name}"), rank::SEQUENCE, format!("DROP SEQUENCE {name};"), false);
        }
    }
}
