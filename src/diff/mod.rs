//! Planning DDL from one catalog to another (`cargo migrate diff`): pure,
//! on the catalog model only. `plan(from, to)` gives the statements that
//! take a database whose catalog is `from` to `to`, in dependency order
//! (drops first, dependents before what they depend on; then creates and
//! alters, what is depended on first), and the hazards it found: data that
//! would be lost, likely renames, locks. The down migration is `plan(to, from)`.

mod objects;
mod order;
mod tables;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::db::catalog::Catalog;

/// One statement of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// It loses data (a table, a column, values a narrower type cannot hold).
    pub destructive: bool,
}

/// What a plan would do that deserves a look before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Hazard {
    pub kind: HazardKind,
    /// The object concerned (`public.users`, `public.users.email`).
    pub object: String,
    /// What would happen, in words.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HazardKind {
    /// A table is dropped with its rows.
    DropsTable,
    /// A column is dropped with its values.
    DropsColumn,
    /// A column's type changes to one that may not hold every value.
    NarrowsType,
    /// An enum is rebuilt without some of its labels: rows holding them fail.
    DropsEnumValue,
    /// A drop and an add that look like a rename: say `--rename old:new` if it is one.
    LikelyRename,
    /// An index is built on an existing table without `CONCURRENTLY`: writes wait.
    IndexLocksTable,
}

impl HazardKind {
    /// Whether the statements behind it lose data (refused without `--allow-drop`).
    pub fn destructive(self) -> bool {
        matches!(
            self,
            HazardKind::DropsTable | HazardKind::DropsColumn | HazardKind::NarrowsType | HazardKind::DropsEnumValue
        )
    }
}

/// `--rename old:new`: an object of `from` that is an object of `to` under another name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub statements: Vec<Statement>,
    pub hazards: Vec<Hazard>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    pub fn destructive(&self) -> bool {
        self.statements.iter().any(|s| s.destructive)
    }

    /// The statements as a script, one per paragraph.
    pub fn sql(&self) -> String {
        let mut out = String::new();
        for s in &self.statements {
            out.push_str(s.sql.trim_end());
            if !s.sql.trim_end().ends_with(';') {
                out.push(';');
            }
            out.push('\n');
        }
        out
    }
}

/// The statements of one object (a node of the order), and its rank.
#[derive(Debug, Default)]
struct Node {
    rank: u8,
    sql: Vec<Statement>,
}

/// What planning collects: drops (ordered by `from`'s dependencies, reversed)
/// and creates/alters (ordered by `to`'s).
#[derive(Debug, Default)]
struct Builder {
    first: Vec<Statement>,
    drops: BTreeMap<String, Node>,
    creates: BTreeMap<String, Node>,
    /// Extra `(dependent, referenced)` edges among creates.
    edges: BTreeSet<(String, String)>,
    hazards: Vec<Hazard>,
}

impl Builder {
    fn drop(&mut self, key: &str, rank: u8, sql: String, destructive: bool) {
        let node = self.drops.entry(key.to_string()).or_default();
        node.rank = rank;
        node.sql.push(Statement { sql, destructive });
    }

    fn create(&mut self, key: &str, rank: u8, sql: String) {
        self.create_with(key, rank, sql, false);
    }

    fn create_with(&mut self, key: &str, rank: u8, sql: String, destructive: bool) {
        let node = self.creates.entry(key.to_string()).or_default();
        node.rank = rank;
        node.sql.push(Statement { sql, destructive });
    }

    fn hazard(&mut self, kind: HazardKind, object: &str, message: String) {
        self.hazards.push(Hazard { kind, object: object.to_string(), message });
    }
}

/// Class ranks: the order of creation when dependencies leave it free.
pub(crate) mod rank {
    pub const SCHEMA: u8 = 0;
    pub const EXTENSION: u8 = 1;
    pub const FOREIGN_WRAPPER: u8 = 2;
    pub const FOREIGN_SERVER: u8 = 3;
    pub const TYPE: u8 = 4;
    pub const SEQUENCE: u8 = 5;
    pub const TABLE: u8 = 6;
    pub const FOREIGN_TABLE: u8 = 7;
    pub const OWNED: u8 = 8;
    /// Primary keys and unique constraints, before functions: an SQL body may group by a key.
    pub const KEY: u8 = 9;
    pub const FUNCTION: u8 = 10;
    pub const VIEW: u8 = 11;
    pub const CONSTRAINT: u8 = 12;
    pub const FOREIGN_KEY: u8 = 13;
    pub const INDEX: u8 = 14;
    pub const TRIGGER: u8 = 15;
    pub const POLICY: u8 = 16;
    pub const PUBLICATION: u8 = 17;
    pub const EVENT_TRIGGER: u8 = 18;
    pub const DEFAULTS: u8 = 19;
}

/// The statements that take `from` to `to`.
pub fn plan(from: &Catalog, to: &Catalog, renames: &[Rename]) -> Plan {
    let mut b = Builder::default();
    let from = tables::apply_renames(from, to, renames, &mut b);
    let replaced = objects::replaced(&from, to);
    tables::plan(&from, to, &replaced, &mut b);
    objects::plan(&from, to, &replaced, &mut b);

    let mut statements = b.first;
    // Drops: a dependent before what it depends on. A table's constraints,
    // indexes, triggers and policies go with it (lifted to the table).
    let drop_ranks: BTreeMap<String, u8> = b.drops.iter().map(|(k, n)| (k.clone(), u8::MAX - n.rank)).collect();
    let reversed: BTreeSet<(String, String)> =
        lift(&from.depends, &from, &drop_ranks).into_iter().map(|(d, r)| (r, d)).collect();
    for key in order::sort(&drop_ranks, &reversed) {
        statements.extend(b.drops.remove(&key).map(|n| n.sql).unwrap_or_default());
    }
    let create_ranks: BTreeMap<String, u8> = b.creates.iter().map(|(k, n)| (k.clone(), n.rank)).collect();
    let mut edges = lift(&to.depends, to, &create_ranks);
    edges.extend(b.edges.iter().cloned());
    edges.extend(implied_edges(to, &create_ranks));
    for key in order::sort(&create_ranks, &edges) {
        statements.extend(b.creates.remove(&key).map(|n| n.sql).unwrap_or_default());
    }
    Plan { statements, hazards: b.hazards }
}

/// The table a table-bound object's key names (`constraint x on public.t` → `table public.t`).
fn parent_of(key: &str) -> Option<String> {
    let (class, rest) = key.split_once(' ')?;
    match class {
        "constraint" | "trigger" | "policy" => {
            let (_, table) = rest.rsplit_once(" on ")?;
            Some(format!("table {table}"))
        }
        _ => None,
    }
}

/// `edges` with each end that is no node replaced by its table, when that is one.
fn lift(edges: &BTreeSet<(String, String)>, cat: &Catalog, nodes: &BTreeMap<String, u8>) -> BTreeSet<(String, String)> {
    let index_table: BTreeMap<String, String> =
        cat.indexes.iter().map(|(k, i)| (format!("index {k}"), format!("table {}", i.table))).collect();
    let up = |k: &String| -> Option<String> {
        if nodes.contains_key(k) {
            return Some(k.clone());
        }
        let parent = parent_of(k).or_else(|| index_table.get(k).cloned())?;
        nodes.contains_key(&parent).then_some(parent)
    };
    edges.iter().filter_map(|(d, r)| Some((up(d)?, up(r)?))).filter(|(d, r)| d != r).collect()
}

/// What no pg_depend row says: an object after its schema; a table-bound
/// object after its table; a partition after its parent; owned sequences
/// and publication members after their tables.
fn implied_edges(to: &Catalog, nodes: &BTreeMap<String, u8>) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for key in nodes.keys() {
        let Some((class, name)) = key.split_once(' ') else { continue };
        if let Some(parent) = parent_of(key) {
            out.insert((key.clone(), parent));
        }
        if matches!(class, "table" | "view" | "sequence" | "type" | "function" | "index") {
            if let Some(schema) = schema_of(name) {
                out.insert((key.clone(), format!("schema {schema}")));
            }
        }
        if class == "index" {
            if let Some(i) = to.indexes.get(name) {
                out.insert((key.clone(), format!("table {}", i.table)));
                out.insert((key.clone(), format!("view {}", i.table)));
            }
        }
        if class == "owned" {
            if let Some(Some((table, _))) = to.sequences.get(name).map(|s| &s.owned_by) {
                out.insert((key.clone(), format!("table {table}")));
                out.insert((key.clone(), format!("sequence {name}")));
            }
        }
        if class == "publication" {
            for t in to.publications.get(name).map(|p| &p.tables).into_iter().flatten() {
                out.insert((key.clone(), format!("table {t}")));
            }
        }
    }
    out
}

/// The schema part of a qualified name (quotes respected).
pub(crate) fn schema_of(name: &str) -> Option<&str> {
    split_last(name).map(|(s, _)| s)
}

/// `a.b.c` → (`a.b`, `c`), a dot inside double quotes not counting.
pub(crate) fn split_last(name: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut last = None;
    for (i, ch) in name.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            '.' if !quoted => last = Some(i),
            _ => {}
        }
    }
    last.map(|i| (&name[..i], &name[i + 1..]))
}

#[cfg(test)]
mod tests;
