//! Tables and their columns: create, drop, alter in place; renames the user
//! asked for; the hazards of losing rows or values.

use std::collections::BTreeSet;

use super::objects::{acl_changes, comment_on, owner_to};
use super::{rank, split_last, Builder, HazardKind, Rename};
use crate::db::catalog::{Catalog, Column, Table};

/// `from` with the user's renames applied, and their statements first.
pub(super) fn apply_renames(from: &Catalog, to: &Catalog, renames: &[Rename], b: &mut Builder) -> Catalog {
    let mut cat = from.clone();
    for r in renames {
        if cat.tables.contains_key(&r.from) && to.tables.contains_key(&r.to) {
            let (_, new_name) = split_last(&r.to).unwrap_or(("", &r.to));
            b.first.push(super::Statement {
                sql: format!("ALTER TABLE {} RENAME TO {new_name};", r.from),
                destructive: false,
            });
            rename_table(&mut cat, &r.from, &r.to);
            continue;
        }
        let (Some((t_old, c_old)), Some((t_new, c_new))) = (split_last(&r.from), split_last(&r.to)) else { continue };
        if t_old != t_new {
            continue;
        }
        let Some(table) = cat.tables.get_mut(t_old) else { continue };
        if let Some(col) = table.columns.iter_mut().find(|c| c.name == c_old) {
            col.name = c_new.to_string();
            b.first.push(super::Statement {
                sql: format!("ALTER TABLE {t_old} RENAME COLUMN {c_old} TO {c_new};"),
                destructive: false,
            });
        }
    }
    cat
}

/// Every mention of table `old` in `cat` becomes `new`.
fn rename_table(cat: &mut Catalog, old: &str, new: &str) {
    if let Some(t) = cat.tables.remove(old) {
        cat.tables.insert(new.to_string(), t);
    }
    let rekey = |k: &str| k.strip_suffix(&format!(" on {old}")).map(|n| format!("{n} on {new}"));
    macro_rules! bound {
        ($map:expr) => {
            let keys: Vec<String> = $map.keys().filter(|k| rekey(k).is_some()).cloned().collect();
            for k in keys {
                let mut v = $map.remove(&k).expect("present");
                v.table = new.to_string();
                $map.insert(rekey(&k).expect("matched"), v);
            }
        };
    }
    bound!(cat.constraints);
    bound!(cat.triggers);
    bound!(cat.policies);
    for i in cat.indexes.values_mut().filter(|i| i.table == old) {
        i.table = new.to_string();
    }
    for s in cat.sequences.values_mut() {
        if let Some((t, _)) = &mut s.owned_by {
            if t == old {
                *t = new.to_string();
            }
        }
    }
    for p in cat.publications.values_mut() {
        if p.tables.remove(old) {
            p.tables.insert(new.to_string());
        }
    }
    let map = |k: &String| {
        if k == &format!("table {old}") {
            format!("table {new}")
        } else {
            k.strip_suffix(&format!(" on {old}")).map(|n| format!("{n} on {new}")).unwrap_or_else(|| k.clone())
        }
    };
    cat.depends = cat.depends.iter().map(|(d, r)| (map(d), map(r))).collect();
}

pub(super) fn plan(from: &Catalog, to: &Catalog, replaced: &BTreeSet<String>, b: &mut Builder) {
    let default_owner = super::objects::default_owner(to);
    for (name, t) in &to.tables {
        let key = format!("table {name}");
        match from.tables.get(name) {
            Some(old) if !replaced.contains(&key) => alter(name, old, t, b),
            Some(_) => {
                b.drop(&key, rank::TABLE, format!("DROP TABLE {name};"), true);
                b.hazard(
                    HazardKind::DropsTable,
                    name,
                    format!("{name} is dropped and created again (its partitioning changed): its rows are lost"),
                );
                create(from, to, name, t, &default_owner, b);
            }
            None => create(from, to, name, t, &default_owner, b),
        }
    }
    let added: Vec<&String> = to.tables.keys().filter(|n| !from.tables.contains_key(*n)).collect();
    for (name, t) in &from.tables {
        if to.tables.contains_key(name) {
            continue;
        }
        b.drop(&format!("table {name}"), rank::TABLE, format!("DROP TABLE {name};"), true);
        b.hazard(HazardKind::DropsTable, name, format!("{name} is dropped with its rows"));
        let shape = |t: &Table| t.columns.iter().map(|c| (c.name.clone(), c.data_type.clone())).collect::<Vec<_>>();
        if let Some(new) = added.iter().find(|n| shape(&to.tables[**n]) == shape(t) && schema(n) == schema(name)) {
            b.hazard(
                HazardKind::LikelyRename,
                name,
                format!("{name} is dropped and {new} added with the same columns: if it is a rename, say --rename {name}:{new}"),
            );
        }
    }
}

fn column_sql(c: &Column) -> String {
    let mut s = format!("{} {}", c.name, c.data_type);
    if let Some(col) = &c.collation {
        s.push_str(&format!(" COLLATE {col}"));
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    match c.identity {
        Some('a') => s.push_str(" GENERATED ALWAYS AS IDENTITY"),
        Some(_) => s.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
        None => {}
    }
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    s
}

fn create(from: &Catalog, to: &Catalog, name: &str, t: &Table, default_owner: &str, b: &mut Builder) {
    let key = format!("table {name}");
    let unlogged = if t.persistence == 'u' { "UNLOGGED " } else { "" };
    let mut sql = match &t.partition_of {
        Some((parent, bound)) => format!("CREATE {unlogged}TABLE {name} PARTITION OF {parent} {bound}"),
        None => {
            let cols: Vec<String> =
                t.columns.iter().filter(|c| c.local).map(|c| format!("    {}", column_sql(c))).collect();
            let mut s = format!("CREATE {unlogged}TABLE {name} (\n{}\n)", cols.join(",\n"));
            if !t.inherits.is_empty() {
                s.push_str(&format!(" INHERITS ({})", t.inherits.join(", ")));
            }
            s
        }
    };
    if let Some(p) = &t.partition_by {
        sql.push_str(&format!(" PARTITION BY {p}"));
    }
    if !t.options.is_empty() {
        sql.push_str(&format!(" WITH ({})", t.options.join(", ")));
    }
    sql.push(';');
    b.create(&key, rank::TABLE, sql);
    for c in &t.columns {
        if let Some(s) = &c.storage {
            b.create(&key, rank::TABLE, format!("ALTER TABLE {name} ALTER COLUMN {} SET STORAGE {s};", c.name));
        }
        if let Some(sql) = comment_on(&format!("COLUMN {name}.{}", c.name), &None, &c.comment) {
            b.create(&key, rank::TABLE, sql);
        }
        for sql in acl_changes(&format!("TABLE {name}"), Some(&c.name), &Default::default(), &c.acl, None) {
            b.create(&key, rank::TABLE, sql);
        }
    }
    table_flags(name, &Table::default(), t, b);
    if let Some(sql) = comment_on(&format!("TABLE {name}"), &None, &t.comment) {
        b.create(&key, rank::TABLE, sql);
    }
    let base = super::objects::expected_acl(from, to, &t.owner, schema(name), "TABLES");
    for sql in acl_changes(&format!("TABLE {name}"), None, &base, &t.acl, Some(&t.owner)) {
        b.create(&key, rank::TABLE, sql);
    }
    if t.owner != default_owner && !t.owner.is_empty() {
        b.create(&key, rank::TABLE, owner_to("TABLE", name, &t.owner));
    }
}

fn schema(name: &str) -> &str {
    split_last(name).map(|(s, _)| s).unwrap_or("")
}

/// Row level security switches.
fn table_flags(name: &str, old: &Table, new: &Table, b: &mut Builder) {
    let key = format!("table {name}");
    if old.rls != new.rls {
        let what = if new.rls { "ENABLE" } else { "DISABLE" };
        b.create(&key, rank::TABLE, format!("ALTER TABLE {name} {what} ROW LEVEL SECURITY;"));
    }
    if old.force_rls != new.force_rls {
        let what = if new.force_rls { "FORCE" } else { "NO FORCE" };
        b.create(&key, rank::TABLE, format!("ALTER TABLE {name} {what} ROW LEVEL SECURITY;"));
    }
}

fn alter(name: &str, old: &Table, new: &Table, b: &mut Builder) {
    let key = format!("table {name}");
    let add = |b: &mut Builder, sql: String| b.create(&key, rank::TABLE, sql);
    if old.persistence != new.persistence {
        let what = if new.persistence == 'u' { "UNLOGGED" } else { "LOGGED" };
        add(b, format!("ALTER TABLE {name} SET {what};"));
    }
    if old.partition_of != new.partition_of {
        if let Some((parent, _)) = &old.partition_of {
            add(b, format!("ALTER TABLE {parent} DETACH PARTITION {name};"));
        }
        if let Some((parent, bound)) = &new.partition_of {
            add(b, format!("ALTER TABLE {parent} ATTACH PARTITION {name} {bound};"));
        }
    }
    for p in old.inherits.iter().filter(|p| !new.inherits.contains(p)) {
        add(b, format!("ALTER TABLE {name} NO INHERIT {p};"));
    }
    for p in new.inherits.iter().filter(|p| !old.inherits.contains(p)) {
        add(b, format!("ALTER TABLE {name} INHERIT {p};"));
    }
    if old.options != new.options {
        let gone: Vec<&str> = old
            .options
            .iter()
            .filter_map(|o| o.split('=').next())
            .filter(|k| !new.options.iter().any(|n| n.split('=').next() == Some(k)))
            .collect();
        if !gone.is_empty() {
            add(b, format!("ALTER TABLE {name} RESET ({});", gone.join(", ")));
        }
        if !new.options.is_empty() {
            add(b, format!("ALTER TABLE {name} SET ({});", new.options.join(", ")));
        }
    }
    let dropped: Vec<&Column> =
        old.columns.iter().filter(|c| c.local && !new.columns.iter().any(|n| n.name == c.name)).collect();
    let added: Vec<&Column> =
        new.columns.iter().filter(|c| c.local && !old.columns.iter().any(|o| o.name == c.name)).collect();
    for c in &dropped {
        let what = format!("{name}.{}", c.name);
        b.create_with(&key, rank::TABLE, format!("ALTER TABLE {name} DROP COLUMN {};", c.name), true);
        b.hazard(HazardKind::DropsColumn, &what, format!("column {what} is dropped with its values"));
        if let Some(n) = added.iter().find(|n| n.data_type == c.data_type) {
            b.hazard(
                HazardKind::LikelyRename,
                &what,
                format!(
                    "{what} is dropped and {name}.{} added with the same type: if it is a rename, say --rename {what}:{name}.{}",
                    n.name, n.name
                ),
            );
        }
    }
    for n in &new.columns {
        let Some(o) = old.columns.iter().find(|o| o.name == n.name) else { continue };
        if o.local || n.local {
            alter_column(name, o, n, b);
        }
        let comment_target = format!("COLUMN {name}.{}", n.name);
        if let Some(sql) = comment_on(&comment_target, &o.comment, &n.comment) {
            b.create(&key, rank::TABLE, sql);
        }
        for sql in acl_changes(&format!("TABLE {name}"), Some(&n.name), &o.acl, &n.acl, None) {
            b.create(&key, rank::TABLE, sql);
        }
    }
    // After the changed columns: a generated column may read them.
    for c in &added {
        b.create(&key, rank::TABLE, format!("ALTER TABLE {name} ADD COLUMN {};", column_sql(c)));
        if let Some(s) = &c.storage {
            b.create(&key, rank::TABLE, format!("ALTER TABLE {name} ALTER COLUMN {} SET STORAGE {s};", c.name));
        }
        if let Some(sql) = comment_on(&format!("COLUMN {name}.{}", c.name), &None, &c.comment) {
            b.create(&key, rank::TABLE, sql);
        }
        for sql in acl_changes(&format!("TABLE {name}"), Some(&c.name), &Default::default(), &c.acl, None) {
            b.create(&key, rank::TABLE, sql);
        }
    }
    table_flags(name, old, new, b);
    if let Some(sql) = comment_on(&format!("TABLE {name}"), &old.comment, &new.comment) {
        b.create(&key, rank::TABLE, sql);
    }
    for sql in acl_changes(&format!("TABLE {name}"), None, &old.acl, &new.acl, Some(&new.owner)) {
        b.create(&key, rank::TABLE, sql);
    }
    if old.owner != new.owner {
        b.create(&key, rank::TABLE, owner_to("TABLE", name, &new.owner));
    }
}

fn alter_column(table: &str, o: &Column, n: &Column, b: &mut Builder) {
    let key = format!("table {table}");
    let col = &n.name;
    let at = format!("ALTER TABLE {table} ALTER COLUMN {col}");
    if o.generated != n.generated {
        // A generation expression cannot be changed in place before PostgreSQL 17.
        b.create(&key, rank::TABLE, format!("ALTER TABLE {table} DROP COLUMN {col};"));
        b.create(&key, rank::TABLE, format!("ALTER TABLE {table} ADD COLUMN {};", column_sql(n)));
        return;
    }
    if o.identity.is_some() && n.identity.is_none() {
        b.create(&key, rank::TABLE, format!("{at} DROP IDENTITY;"));
    }
    if o.default.is_some() && o.default != n.default && (n.default.is_none() || o.data_type != n.data_type) {
        b.create(&key, rank::TABLE, format!("{at} DROP DEFAULT;"));
    }
    if o.data_type != n.data_type || o.collation != n.collation {
        let collate = n.collation.as_ref().map(|c| format!(" COLLATE {c}")).unwrap_or_default();
        let narrows = o.data_type != n.data_type && !widens(&o.data_type, &n.data_type);
        b.create_with(
            &key,
            rank::TABLE,
            format!("{at} TYPE {}{collate} USING {col}::{};", n.data_type, n.data_type),
            narrows,
        );
        if narrows {
            let what = format!("{table}.{col}");
            b.hazard(
                HazardKind::NarrowsType,
                &what,
                format!(
                    "{what} changes from {} to {}: values that do not fit make it fail or are cut",
                    o.data_type, n.data_type
                ),
            );
        }
    }
    if let Some(d) = &n.default {
        if o.default.as_ref() != Some(d) || o.data_type != n.data_type {
            b.create(&key, rank::TABLE, format!("{at} SET DEFAULT {d};"));
        }
    }
    if o.not_null != n.not_null {
        let what = if n.not_null { "SET" } else { "DROP" };
        b.create(&key, rank::TABLE, format!("{at} {what} NOT NULL;"));
    }
    match (o.identity, n.identity) {
        (None, Some(i)) => {
            let how = if i == 'a' { "ALWAYS" } else { "BY DEFAULT" };
            b.create(&key, rank::TABLE, format!("{at} ADD GENERATED {how} AS IDENTITY;"));
        }
        (Some(a), Some(i)) if a != i => {
            let how = if i == 'a' { "ALWAYS" } else { "BY DEFAULT" };
            b.create(&key, rank::TABLE, format!("{at} SET GENERATED {how};"));
        }
        _ => {}
    }
    if o.storage != n.storage {
        let s = n.storage.clone().unwrap_or_else(|| "DEFAULT".into());
        // Without a setting, the type's storage: EXTENDED for the varlena types most columns have.
        let s = if s == "DEFAULT" { "EXTENDED".to_string() } else { s };
        b.create(&key, rank::TABLE, format!("{at} SET STORAGE {s};"));
    }
}

/// Whether every value of type `old` fits in `new` unchanged.
pub(super) fn widens(old: &str, new: &str) -> bool {
    const INTS: [&str; 3] = ["smallint", "integer", "bigint"];
    let int_rank = |t: &str| INTS.iter().position(|i| *i == t);
    if let (Some(a), Some(b)) = (int_rank(old), int_rank(new)) {
        return b >= a;
    }
    if old == "real" && new == "double precision" {
        return true;
    }
    if (INTS.contains(&old) || old == "real" || old == "double precision") && new == "numeric" {
        return true;
    }
    let length = |t: &str, base: &str| -> Option<Option<u32>> {
        if t == base {
            return Some(None);
        }
        t.strip_prefix(base)?.strip_prefix('(')?.strip_suffix(')')?.parse().ok().map(Some)
    };
    let texty = |t: &str| t == "text" || length(t, "character varying").is_some() || length(t, "character").is_some();
    if new == "text" && texty(old) {
        return true;
    }
    for base in ["character varying", "character"] {
        if let (Some(a), Some(b)) = (length(old, base), length(new, base)) {
            return match (a, b) {
                (_, None) => base == "character varying",
                (None, Some(_)) => false,
                (Some(a), Some(b)) => b >= a,
            };
        }
    }
    if length(old, "character").is_some() && length(new, "character varying") == Some(None) {
        return true;
    }
    if let (Some(a), Some(b)) = (old.strip_prefix("numeric("), new.strip_prefix("numeric(")) {
        let parse = |s: &str| -> Option<(u32, u32)> {
            let s = s.strip_suffix(')')?;
            let (p, sc) = s.split_once(',').unwrap_or((s, "0"));
            Some((p.trim().parse().ok()?, sc.trim().parse().ok()?))
        };
        if let (Some((p1, s1)), Some((p2, s2))) = (parse(a), parse(b)) {
            return s2 >= s1 && p2 - s2 >= p1 - s1;
        }
    }
    if old.starts_with("numeric(") && new == "numeric" {
        return true;
    }
    old == "timestamp without time zone" && new == "timestamp with time zone"
}
