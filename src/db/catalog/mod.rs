//! The catalog model: what a database's schema is, as plain data, read once
//! from `pg_catalog` (`read`). `verify` compares two of them, `diff` plans
//! the DDL from one to another. Every name is as PostgreSQL quotes it
//! (`public."Users"`), schema-qualified; objects are keyed by those names, so
//! two databases' catalogs compare without oids.
//!
//! Left out: PostgreSQL's own schemas, our bookkeeping (`cargo_migrate`,
//! `supabase_migrations`, diesel's table), what extensions own, and the
//! schemas the caller calls managed (Supabase's), except the policies and
//! triggers a project puts on their tables.

mod read;
mod touched;
mod track;

use std::collections::{BTreeMap, BTreeSet};

pub use read::{read, read_managed_additions, read_objects, Options};
pub use touched::Writes;
pub use track::Tracked;

/// Some objects, by oid: relations (tables, views, sequences), functions
/// and types. Read with [`read_objects`], a table comes with what hangs on
/// it (columns, constraints, indexes, triggers, policies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Only {
    pub relations: BTreeSet<u32>,
    pub functions: BTreeSet<u32>,
    pub types: BTreeSet<u32>,
}

impl Only {
    pub fn is_empty(&self) -> bool {
        self.relations.is_empty() && self.functions.is_empty() && self.types.is_empty()
    }

    pub fn extend(&mut self, other: Only) {
        self.relations.extend(other.relations);
        self.functions.extend(other.functions);
        self.types.extend(other.types);
    }

    /// What `other` holds that this does not.
    pub fn without(&self, other: &Only) -> Only {
        self.filtered(|kind, oid| !other.holds(kind, oid))
    }

    /// Whether it holds `oid` of kind `kind` (`r` a relation, `p` a
    /// function, `t` a type, as [`touched::Oid`] names them).
    pub fn holds(&self, kind: char, oid: u32) -> bool {
        match kind {
            'r' => self.relations.contains(&oid),
            'p' => self.functions.contains(&oid),
            't' => self.types.contains(&oid),
            _ => false,
        }
    }

    /// Its objects for which `keep(kind, oid)` holds.
    pub fn filtered(&self, keep: impl Fn(char, u32) -> bool) -> Only {
        let of = |kind: char, oids: &BTreeSet<u32>| oids.iter().copied().filter(|o| keep(kind, *o)).collect();
        Only { relations: of('r', &self.relations), functions: of('p', &self.functions), types: of('t', &self.types) }
    }

    /// Whether `test(kind, oid)` holds for any of its objects.
    pub fn any(&self, test: impl Fn(char, u32) -> bool) -> bool {
        let of = |kind: char, oids: &BTreeSet<u32>| oids.iter().any(|o| test(kind, *o));
        of('r', &self.relations) || of('p', &self.functions) || of('t', &self.types)
    }
}

/// The parts of a [`Catalog`] read whole even when only some objects are
/// (they are few): its schemas, extensions, publications, event triggers,
/// default privileges, foreign objects and extended statistics, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections(u8);

impl Sections {
    pub const NONE: Sections = Sections(0);
    pub const SCHEMAS: Sections = Sections(1);
    pub const EXTENSIONS: Sections = Sections(2);
    pub const PUBLICATIONS: Sections = Sections(4);
    pub const EVENT_TRIGGERS: Sections = Sections(8);
    pub const DEFAULT_PRIVILEGES: Sections = Sections(16);
    pub const FOREIGN: Sections = Sections(32);
    pub const STATISTICS: Sections = Sections(64);
    pub const ALL: Sections = Sections(127);

    /// Whether it has all of `other`.
    pub fn has(self, other: Sections) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Those of ALL it does not have.
    pub fn others(self) -> Sections {
        Sections(Sections::ALL.0 & !self.0)
    }
}

impl std::ops::BitOr for Sections {
    type Output = Sections;
    fn bitor(self, other: Sections) -> Sections {
        Sections(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Sections {
    fn bitor_assign(&mut self, other: Sections) {
        self.0 |= other.0;
    }
}

/// Some objects by the names a [`Catalog`] keys them by: relations
/// (a table with what hangs on it), functions, types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub relations: BTreeSet<String>,
    pub functions: BTreeSet<String>,
    pub types: BTreeSet<String>,
}

/// One privilege granted: `grantee` is a role name or `PUBLIC`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub grantee: String,
    /// `SELECT`, `INSERT`, `EXECUTE`, `USAGE`, …
    pub privilege: String,
    pub grantable: bool,
}

pub type Acl = BTreeSet<Grant>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Keyed by quoted name.
    pub schemas: BTreeMap<String, Schema>,
    pub extensions: BTreeMap<String, Extension>,
    /// Enums, composite types and domains, keyed by qualified name.
    pub types: BTreeMap<String, Type>,
    pub sequences: BTreeMap<String, Sequence>,
    pub tables: BTreeMap<String, Table>,
    /// Views and materialized views.
    pub views: BTreeMap<String, View>,
    /// Functions and procedures, keyed by `schema.name(identity argument types)`.
    pub functions: BTreeMap<String, Function>,
    /// Keyed by `name on table`.
    pub constraints: BTreeMap<String, Constraint>,
    /// Keyed by qualified index name (indexes that back constraints are left out).
    pub indexes: BTreeMap<String, Index>,
    /// Keyed by `name on table`.
    pub triggers: BTreeMap<String, Trigger>,
    /// Keyed by `name on table`.
    pub policies: BTreeMap<String, Policy>,
    pub publications: BTreeMap<String, Publication>,
    pub event_triggers: BTreeMap<String, EventTrigger>,
    pub default_privileges: BTreeSet<DefaultPrivilege>,
    /// Foreign-data wrappers, servers and foreign tables, keyed by `class name`.
    pub foreign: BTreeMap<String, Foreign>,
    /// Extended statistics (`CREATE STATISTICS`): qualified name → `pg_get_statisticsobjdef`.
    pub statistics: BTreeMap<String, String>,
    /// `(dependent, referenced)` object keys (see [`key`]), from `pg_depend`.
    pub depends: BTreeSet<(String, String)>,
}

/// The key of an object in [`Catalog::depends`]: its class and name.
pub fn key(class: &str, name: &str) -> String {
    format!("{class} {name}")
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub owner: String,
    pub comment: Option<String>,
    pub acl: Acl,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extension {
    pub schema: String,
    pub version: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    /// Labels in their order.
    Enum(Vec<String>),
    /// Attributes: name and type.
    Composite(Vec<(String, String)>),
    Domain {
        base: String,
        not_null: bool,
        default: Option<String>,
        /// Constraint name → definition (`CHECK (...)`).
        checks: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    pub kind: TypeKind,
    pub owner: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sequence {
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `(table, column)` it belongs to (`OWNED BY`).
    pub owned_by: Option<(String, String)>,
    pub owner: String,
    pub comment: Option<String>,
    pub acl: Acl,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// `p` permanent, `u` unlogged, `t` temporary.
    pub persistence: char,
    /// `PARTITION BY …` of a partitioned table.
    pub partition_by: Option<String>,
    /// `(parent, FOR VALUES …)` of a partition.
    pub partition_of: Option<(String, String)>,
    /// Parents by `INHERITS`, in order.
    pub inherits: Vec<String>,
    pub columns: Vec<Column>,
    pub rls: bool,
    pub force_rls: bool,
    /// `WITH (…)` storage parameters.
    pub options: Vec<String>,
    pub owner: String,
    pub comment: Option<String>,
    pub acl: Acl,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// As `format_type` writes it: `character varying(20)`.
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `a` (ALWAYS) or `d` (BY DEFAULT) for an identity column.
    pub identity: Option<char>,
    /// The expression of a stored generated column.
    pub generated: Option<String>,
    /// Only where it is not the type's default.
    pub collation: Option<String>,
    /// Only where it is not the type's default: `plain`, `external`, `extended`, `main`.
    pub storage: Option<String>,
    /// Defined on this table (not only inherited from a parent).
    pub local: bool,
    pub comment: Option<String>,
    /// Column privileges.
    pub acl: Acl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub materialized: bool,
    /// `pg_get_viewdef`.
    pub definition: String,
    /// `WITH (…)` options, such as `security_invoker=true`.
    pub options: Vec<String>,
    /// Column name and type, in order.
    pub columns: Vec<(String, String)>,
    pub owner: String,
    pub comment: Option<String>,
    pub acl: Acl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub procedure: bool,
    /// `pg_get_functiondef`: a whole `CREATE OR REPLACE …` statement.
    pub definition: String,
    /// `pg_get_function_arguments`, with names and defaults.
    pub arguments: String,
    /// `pg_get_function_result` (None for a procedure).
    pub result: Option<String>,
    pub owner: String,
    pub comment: Option<String>,
    pub acl: Acl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub table: String,
    pub name: String,
    /// `p`, `u`, `f`, `c`, `x`.
    pub kind: char,
    /// `pg_get_constraintdef`, with `NOT VALID` when not validated.
    pub definition: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub table: String,
    /// `pg_get_indexdef`.
    pub definition: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub table: String,
    pub name: String,
    /// `pg_get_triggerdef`.
    pub definition: String,
    /// `O` origin (enabled), `D` disabled, `R` replica, `A` always.
    pub enabled: char,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub table: String,
    pub name: String,
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE`, `DELETE`.
    pub command: String,
    /// Role names (`public` for everyone), sorted.
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publication {
    pub all_tables: bool,
    /// `insert, update, delete, truncate`: what it publishes.
    pub actions: String,
    pub tables: BTreeSet<String>,
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTrigger {
    pub event: String,
    pub function: String,
    pub tags: Vec<String>,
    /// `O`, `D`, `R`, `A` as for triggers.
    pub enabled: char,
    pub owner: String,
}

/// A foreign-data wrapper, foreign server or foreign table: the statement
/// that makes it (written by the reader from the catalog), its owner and grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// `FOREIGN DATA WRAPPER`, `SERVER` or `FOREIGN TABLE`.
    pub class: String,
    pub name: String,
    /// `CREATE … OPTIONS (…)`, without the semicolon.
    pub definition: String,
    pub owner: String,
    pub acl: Acl,
}

/// One entry of `ALTER DEFAULT PRIVILEGES`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DefaultPrivilege {
    pub role: String,
    /// None: in every schema.
    pub schema: Option<String>,
    /// `TABLES`, `SEQUENCES`, `FUNCTIONS`, `TYPES`, `SCHEMAS`.
    pub objects: String,
    pub grant: Grant,
}

impl Catalog {
    /// Whether it holds the relation (`r`: a table, view, sequence or foreign
    /// table), function (`p`) or type (`t`) called `name`.
    pub fn holds(&self, kind: char, name: &str) -> bool {
        match kind {
            'r' => {
                self.tables.contains_key(name)
                    || self.views.contains_key(name)
                    || self.sequences.contains_key(name)
                    || self.foreign.contains_key(&format!("FOREIGN TABLE {name}"))
            }
            'p' => self.functions.contains_key(name),
            't' => self.types.contains_key(name),
            _ => false,
        }
    }

    /// The part of the catalog `names` covers: those relations (a table with
    /// its constraints, indexes, triggers and policies), functions and
    /// types, and every schema, extension, publication, event trigger,
    /// default privilege, foreign object and extended statistics (what [`read_objects`] reads of `only` those).
    pub fn part(&self, names: &Names) -> Catalog {
        fn pick<T: Clone>(map: &BTreeMap<String, T>, keep: impl Fn(&String, &T) -> bool) -> BTreeMap<String, T> {
            map.iter().filter(|(k, v)| keep(k, v)).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        let rel = |k: &String| names.relations.contains(k);
        Catalog {
            schemas: self.schemas.clone(),
            extensions: self.extensions.clone(),
            types: pick(&self.types, |k, _| names.types.contains(k)),
            sequences: pick(&self.sequences, |k, _| rel(k)),
            tables: pick(&self.tables, |k, _| rel(k)),
            views: pick(&self.views, |k, _| rel(k)),
            functions: pick(&self.functions, |k, _| names.functions.contains(k)),
            constraints: pick(&self.constraints, |_, c| rel(&c.table)),
            indexes: pick(&self.indexes, |_, i| rel(&i.table)),
            triggers: pick(&self.triggers, |_, t| rel(&t.table)),
            policies: pick(&self.policies, |_, p| rel(&p.table)),
            publications: self.publications.clone(),
            event_triggers: self.event_triggers.clone(),
            default_privileges: self.default_privileges.clone(),
            foreign: self.foreign.clone(),
            statistics: self.statistics.clone(),
            depends: BTreeSet::new(),
        }
    }

    /// Put `part` (a read of the objects `names` covers) in the place of
    /// what the catalog held of them.
    pub fn replace(&mut self, names: &Names, part: Catalog) {
        let rel = |k: &String| names.relations.contains(k);
        self.types.retain(|k, _| !names.types.contains(k));
        self.sequences.retain(|k, _| !rel(k));
        self.tables.retain(|k, _| !rel(k));
        self.views.retain(|k, _| !rel(k));
        self.functions.retain(|k, _| !names.functions.contains(k));
        self.constraints.retain(|_, c| !rel(&c.table));
        self.indexes.retain(|_, i| !rel(&i.table));
        self.triggers.retain(|_, t| !rel(&t.table));
        self.policies.retain(|_, p| !rel(&p.table));
        self.schemas = part.schemas;
        self.extensions = part.extensions;
        self.publications = part.publications;
        self.event_triggers = part.event_triggers;
        self.default_privileges = part.default_privileges;
        self.foreign = part.foreign;
        self.statistics = part.statistics;
        self.types.extend(part.types);
        self.sequences.extend(part.sequences);
        self.tables.extend(part.tables);
        self.views.extend(part.views);
        self.functions.extend(part.functions);
        self.constraints.extend(part.constraints);
        self.indexes.extend(part.indexes);
        self.triggers.extend(part.triggers);
        self.policies.extend(part.policies);
    }

    /// Its sections `which` as `from` has them.
    pub fn set_sections(&mut self, from: &Catalog, which: Sections) {
        macro_rules! take {
            ($($section:ident => $field:ident),*) => {
                $(if which.has(Sections::$section) {
                    self.$field = from.$field.clone();
                })*
            };
        }
        take!(SCHEMAS => schemas, EXTENSIONS => extensions, PUBLICATIONS => publications,
            EVENT_TRIGGERS => event_triggers, DEFAULT_PRIVILEGES => default_privileges, FOREIGN => foreign,
            STATISTICS => statistics);
    }

    /// The catalog as comparable lines, one per object and property: two
    /// catalogs are equal exactly when their lines are. `verify` reports
    /// the lines one side has and the other lacks.
    pub fn lines(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add = |s: String| {
            out.insert(s);
        };
        let comment = |add: &mut dyn FnMut(String), what: &str, c: &Option<String>| {
            if let Some(c) = c {
                add(format!("comment on {what}: {c}"));
            }
        };
        let acl = |add: &mut dyn FnMut(String), what: &str, acl: &Acl| {
            for g in acl {
                let option = if g.grantable { " with grant option" } else { "" };
                add(format!("grant {} on {what} to {}{option}", g.privilege, g.grantee));
            }
        };
        for (name, s) in &self.schemas {
            add(format!("schema {name} owner {}", s.owner));
            comment(&mut add, &format!("schema {name}"), &s.comment);
            acl(&mut add, &format!("schema {name}"), &s.acl);
        }
        for (name, e) in &self.extensions {
            add(format!("extension {name} in {} version {}", e.schema, e.version));
        }
        for (name, t) in &self.types {
            let what = match &t.kind {
                TypeKind::Enum(labels) => format!("enum ({})", labels.join(", ")),
                TypeKind::Composite(attrs) => {
                    let a: Vec<String> = attrs.iter().map(|(n, t)| format!("{n} {t}")).collect();
                    format!("composite ({})", a.join(", "))
                }
                TypeKind::Domain { base, not_null, default, checks } => {
                    let mut s = format!("domain over {base}");
                    if *not_null {
                        s.push_str(" not null");
                    }
                    if let Some(d) = default {
                        s.push_str(&format!(" default {d}"));
                    }
                    for (n, c) in checks {
                        s.push_str(&format!(" constraint {n} {c}"));
                    }
                    s
                }
            };
            add(format!("type {name} {what} owner {}", t.owner));
            comment(&mut add, &format!("type {name}"), &t.comment);
        }
        for (name, s) in &self.sequences {
            add(format!(
                "sequence {name} as {} start {} increment {} min {} max {} cache {}{} owner {}",
                s.data_type,
                s.start,
                s.increment,
                s.min,
                s.max,
                s.cache,
                if s.cycle { " cycle" } else { "" },
                s.owner
            ));
            if let Some((t, c)) = &s.owned_by {
                add(format!("sequence {name} owned by {t}.{c}"));
            }
            comment(&mut add, &format!("sequence {name}"), &s.comment);
            acl(&mut add, &format!("sequence {name}"), &s.acl);
        }
        for (name, t) in &self.tables {
            let mut head = format!("table {name}");
            if t.persistence == 'u' {
                head.push_str(" unlogged");
            }
            if let Some(p) = &t.partition_by {
                head.push_str(&format!(" partition by {p}"));
            }
            if let Some((parent, bound)) = &t.partition_of {
                head.push_str(&format!(" partition of {parent} {bound}"));
            }
            if !t.inherits.is_empty() {
                head.push_str(&format!(" inherits ({})", t.inherits.join(", ")));
            }
            if !t.options.is_empty() {
                head.push_str(&format!(" with ({})", t.options.join(", ")));
            }
            add(format!("{head} owner {}", t.owner));
            if t.rls {
                add(format!("row level security on {name}{}", if t.force_rls { " (forced)" } else { "" }));
            }
            comment(&mut add, &format!("table {name}"), &t.comment);
            acl(&mut add, &format!("table {name}"), &t.acl);
            for c in &t.columns {
                let mut line = format!("column {name}.{} {}", c.name, c.data_type);
                if c.not_null {
                    line.push_str(" not null");
                }
                if let Some(d) = &c.default {
                    line.push_str(&format!(" default {d}"));
                }
                if let Some(i) = c.identity {
                    line.push_str(if i == 'a' {
                        " generated always as identity"
                    } else {
                        " generated by default as identity"
                    });
                }
                if let Some(g) = &c.generated {
                    line.push_str(&format!(" generated always as ({g}) stored"));
                }
                if let Some(col) = &c.collation {
                    line.push_str(&format!(" collate {col}"));
                }
                if let Some(s) = &c.storage {
                    line.push_str(&format!(" storage {s}"));
                }
                add(line);
                let what = format!("column {name}.{}", c.name);
                comment(&mut add, &what, &c.comment);
                acl(&mut add, &what, &c.acl);
            }
        }
        for (name, v) in &self.views {
            let class = if v.materialized { "materialized view" } else { "view" };
            let options =
                if v.options.is_empty() { String::new() } else { format!(" with ({})", v.options.join(", ")) };
            add(format!("{class} {name}{options} owner {} as {}", v.owner, one_line(&v.definition)));
            comment(&mut add, &format!("{class} {name}"), &v.comment);
            acl(&mut add, &format!("{class} {name}"), &v.acl);
        }
        for (name, f) in &self.functions {
            let class = if f.procedure { "procedure" } else { "function" };
            add(format!("{class} {name} owner {}: {}", f.owner, one_line(&f.definition)));
            comment(&mut add, &format!("{class} {name}"), &f.comment);
            acl(&mut add, &format!("{class} {name}"), &f.acl);
        }
        for (key, c) in &self.constraints {
            add(format!("constraint {key} {}", c.definition));
            comment(&mut add, &format!("constraint {key}"), &c.comment);
        }
        for (name, i) in &self.indexes {
            add(format!("index {}", i.definition));
            comment(&mut add, &format!("index {name}"), &i.comment);
        }
        for (key, t) in &self.triggers {
            add(format!("trigger {}{}", t.definition, enabled_word(t.enabled)));
            comment(&mut add, &format!("trigger {key}"), &t.comment);
        }
        for (key, p) in &self.policies {
            add(format!(
                "policy {key} {} for {} to {}{}{}",
                if p.permissive { "permissive" } else { "restrictive" },
                p.command,
                p.roles.join(", "),
                p.using.as_ref().map(|u| format!(" using ({u})")).unwrap_or_default(),
                p.with_check.as_ref().map(|u| format!(" with check ({u})")).unwrap_or_default(),
            ));
            comment(&mut add, &format!("policy {key}"), &p.comment);
        }
        for (name, p) in &self.publications {
            add(format!(
                "publication {name}{} publish {} owner {}",
                if p.all_tables { " for all tables" } else { "" },
                p.actions,
                p.owner
            ));
            for t in &p.tables {
                add(format!("publication {name} member {t}"));
            }
        }
        for (name, def) in &self.statistics {
            add(format!("statistics {name}: {def}"));
        }
        for (key, f) in &self.foreign {
            add(format!("{key}: {} owner {}", f.definition, f.owner));
            acl(&mut add, key, &f.acl);
        }
        for (name, e) in &self.event_triggers {
            add(format!(
                "event trigger {name} on {} execute {} tags ({}){} owner {}",
                e.event,
                e.function,
                e.tags.join(", "),
                enabled_word(e.enabled),
                e.owner
            ));
        }
        for d in &self.default_privileges {
            add(format!(
                "default privilege for {}{} grant {} on {} to {}{}",
                d.role,
                d.schema.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(),
                d.grant.privilege,
                d.objects,
                d.grant.grantee,
                if d.grant.grantable { " with grant option" } else { "" }
            ));
        }
        out
    }
}

fn enabled_word(enabled: char) -> &'static str {
    match enabled {
        'D' => " (disabled)",
        'R' => " (replica)",
        'A' => " (always)",
        _ => "",
    }
}

/// A definition on one line (verify prints each line of a difference).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> (String, Table) {
        (name.to_string(), Table { owner: "postgres".into(), persistence: 'p', ..Table::default() })
    }

    #[test]
    fn a_part_replaced_leaves_the_rest_as_it_was() {
        let index = |t: &str| Index { table: t.into(), definition: format!("CREATE INDEX ON {t}"), comment: None };
        let mut cat = Catalog {
            tables: [table("public.a"), table("public.b")].into_iter().collect(),
            indexes: [("public.a_i".into(), index("public.a")), ("public.b_i".into(), index("public.b"))]
                .into_iter()
                .collect(),
            ..Catalog::default()
        };
        // `a` renamed to `c` (its index with it), `b` untouched.
        let names = Names { relations: ["public.a".into(), "public.c".into()].into(), ..Names::default() };
        let part = cat.part(&names);
        assert_eq!(part.tables.keys().collect::<Vec<_>>(), ["public.a"]);
        assert_eq!(part.indexes.keys().collect::<Vec<_>>(), ["public.a_i"]);
        let renamed = Catalog {
            tables: [table("public.c")].into_iter().collect(),
            indexes: [("public.a_i".into(), index("public.c"))].into_iter().collect(),
            ..Catalog::default()
        };
        cat.replace(&names, renamed);
        assert_eq!(cat.tables.keys().collect::<Vec<_>>(), ["public.b", "public.c"]);
        assert_eq!(cat.indexes["public.a_i"].table, "public.c");
        assert_eq!(cat.indexes["public.b_i"].table, "public.b");
    }
}
