//! From the catalog to what diesel_cli prints: which tables (sorted, filtered),
//! their Rust names, primary keys and column types, which foreign keys make
//! `joinable!`, and which SQL types need a definition.

use std::collections::{HashMap, HashSet};

use super::config::PrintSchema;
use super::names::{is_reserved, rust_name, type_name};
use crate::db::print_schema::Catalog;
use crate::error::{Error, Kind, Result};

/// diesel_cli's PostgreSQL default schema (it never asks the server).
pub const DEFAULT_SCHEMA: &str = "public";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub sql_name: String,
    pub rust_name: String,
    /// None for the default schema.
    pub schema: Option<String>,
    pub rust_schema: Option<String>,
}

impl TableName {
    fn new(name: &str, schema: Option<&str>) -> TableName {
        let schema = schema.filter(|s| *s != DEFAULT_SCHEMA);
        TableName {
            sql_name: name.into(),
            rust_name: rust_name(name, None),
            schema: schema.map(Into::into),
            rust_schema: schema.map(|s| rust_name(s, None)),
        }
    }

    pub fn full_sql_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.sql_name),
            None => self.sql_name.clone(),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match &self.rust_schema {
            Some(s) => write!(f, "{s}.{}", self.rust_name),
            None => f.write_str(&self.rust_name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// None for the default schema.
    pub schema: Option<String>,
    pub rust_name: String,
    pub sql_name: String,
    pub is_array: bool,
    pub is_nullable: bool,
    pub max_length: Option<i32>,
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let (open, close) = match (self.is_nullable, self.is_array) {
            (true, true) => ("Nullable<Array<Nullable<", ">>>"),
            (true, false) => ("Nullable<", ">"),
            (false, true) => ("Array<Nullable<", ">>"),
            (false, false) => ("", ""),
        };
        write!(f, "{open}{}{close}", self.rust_name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub sql_name: String,
    pub rust_name: String,
    pub ty: ColumnType,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: TableName,
    /// Rust names.
    pub primary_key: Vec<String>,
    pub columns: Vec<Column>,
    pub comment: Option<String>,
}

/// Field order is the sort order diesel_cli uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub child: TableName,
    pub parent: TableName,
    pub columns: Vec<String>,
    pub columns_rust: Vec<String>,
    pub parent_columns: Vec<String>,
}

impl ForeignKey {
    /// The two tables, smaller first.
    fn tables(&self) -> (&TableName, &TableName) {
        if self.parent <= self.child {
            (&self.parent, &self.child)
        } else {
            (&self.child, &self.parent)
        }
    }
}

/// What one configuration prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub tables: Vec<Table>,
    pub foreign_keys: Vec<ForeignKey>,
    /// With `generate_missing_sql_type_definitions`: per table, per column,
    /// the type to define (None: diesel has it).
    pub custom_types: Option<Vec<Vec<Option<ColumnType>>>>,
    /// What diesel_cli says on stderr while it reads.
    pub warnings: Vec<String>,
}

/// The SQL types diesel provides for PostgreSQL, by Rust name (with the
/// hidden aliases a generated name can collide with).
const DIESEL_TYPES: &[&str] = &[
    "Cidr",
    "Citext",
    "Inet",
    "Jsonb",
    "MacAddr",
    "MacAddr8",
    "Money",
    "Oid",
    "Range",
    "Timestamptz",
    "Uuid",
    "Json",
    "PgLsn",
    "Record",
    "Interval",
    "Int4range",
    "Int8range",
    "Daterange",
    "Numrange",
    "Tsrange",
    "Tstzrange",
    "Int4multirange",
    "Int8multirange",
    "Datemultirange",
    "Nummultirange",
    "Tsmultirange",
    "Tstzmultirange",
    "SmallSerial",
    "BigSerial",
    "Serial",
    "Bytea",
    "Bpchar",
    "Macaddr",
    "Macaddr8",
    "Bool",
    "Integer",
    "SmallInt",
    "BigInt",
    "Binary",
    "Text",
    "Double",
    "Float",
    "Numeric",
    "Timestamp",
    "Date",
    "Time",
    "Float4",
    "Smallint",
    "Int2",
    "Int4",
    "Int8",
    "Bigint",
    "Float8",
    "Decimal",
    "VarChar",
    "Varchar",
    "Char",
    "Tinytext",
    "Mediumtext",
    "Longtext",
    "Tinyblob",
    "Blob",
    "Mediumblob",
    "Longblob",
    "Varbinary",
    "Bit",
];

pub fn infer(catalog: &Catalog, config: &PrintSchema) -> Result<Schema> {
    let schema = config.schema.as_deref();
    let mut names: Vec<TableName> =
        catalog.tables.iter().filter(|t| config.filter.keeps(t)).map(|t| TableName::new(t, schema)).collect();
    names.sort_unstable_by(|a, b| a.sql_name.cmp(&b.sql_name));

    let mut keys: HashMap<&str, Vec<&str>> = HashMap::new();
    for (table, column) in &catalog.primary_keys {
        keys.entry(table).or_default().push(column);
    }
    let mut warnings = Vec::new();
    let foreign_keys = foreign_keys(catalog, &names, &keys)?;
    let mut comments: HashMap<&str, Option<&str>> = HashMap::new();
    for (t, c) in &catalog.table_comments {
        comments.insert(t, c.as_deref());
    }
    let mut columns: HashMap<&str, Vec<&crate::db::print_schema::Column>> = HashMap::new();
    for c in &catalog.columns {
        columns.entry(&c.table).or_default().push(c);
    }
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let primary_key = keys.get(name.sql_name.as_str()).filter(|k| !k.is_empty()).ok_or_else(|| no_key(&name))?;
        let primary_key = primary_key.iter().map(|k| rust_name(k, Some(&name.rust_name))).collect();
        let columns = columns
            .get(name.sql_name.as_str())
            .map(|cs| cs.iter().map(|c| column(c, &name, config, &mut warnings)).collect())
            .unwrap_or_default();
        let comment = comments.get(name.sql_name.as_str()).copied().flatten().map(Into::into);
        tables.push(Table { name, primary_key, columns, comment });
    }
    let custom_types = config.generate_missing_sql_type_definitions().then(|| {
        tables
            .iter()
            .map(|t| {
                t.columns
                    .iter()
                    .map(|c| {
                        let name = c.ty.rust_name.as_str();
                        let provided = DIESEL_TYPES.contains(&name)
                            || config.except_custom_type_definitions.iter().any(|p| p.is_match(name));
                        (!provided).then(|| c.ty.clone())
                    })
                    .collect()
            })
            .collect()
    });
    Ok(Schema { tables, foreign_keys, custom_types, warnings })
}

fn no_key(table: &TableName) -> Error {
    Error::new(
        Kind::NoPrimaryKey { table: table.to_string() },
        format!("Diesel only supports tables with primary keys. Table `{table}` has no primary key"),
    )
    .hint("give the table a primary key, or leave it out with `filter = { except_tables = [\"^name$\"] }` in [print_schema]")
}

fn column(
    c: &crate::db::print_schema::Column,
    table: &TableName,
    config: &PrintSchema,
    warnings: &mut Vec<String>,
) -> Column {
    let domain = c.domain_name.as_ref().filter(|d| config.pg_domains_as_custom_types.iter().any(|p| p.is_match(d)));
    let (ty, ty_schema) = match domain {
        Some(d) => (d.as_str(), c.domain_schema.as_deref()),
        None => (c.type_name.as_str(), c.type_schema.as_deref()),
    };
    let (is_array, ty) = match ty.strip_prefix('_') {
        Some(element) => (true, element),
        None => (false, ty),
    };
    if is_array && matches!(ty.to_lowercase().as_str(), "varchar" | "citext") {
        warnings.push(format!(
            "The column `{}` is of type `{ty}[]`. This will cause problems when using Diesel. \
             You should consider changing the column type to `text[]`.",
            c.name
        ));
    }
    Column {
        sql_name: c.name.clone(),
        rust_name: rust_name(&c.name, Some(&table.rust_name)),
        ty: ColumnType {
            schema: ty_schema.filter(|s| *s != DEFAULT_SCHEMA).map(Into::into),
            rust_name: type_name(ty),
            sql_name: ty.into(),
            is_array,
            is_nullable: c.nullable,
            max_length: c.max_length,
        },
        comment: c.comment.clone(),
    }
}

/// The keys `joinable!` can say: between two different printed tables, one
/// column to the parent's one-column primary key, and the only link between
/// the two (in either direction).
fn foreign_keys(catalog: &Catalog, tables: &[TableName], keys: &HashMap<&str, Vec<&str>>) -> Result<Vec<ForeignKey>> {
    let mut all: Vec<ForeignKey> = catalog
        .foreign_keys
        .iter()
        .map(|f| {
            let child = TableName::new(&f.table, Some(&f.schema));
            let parent = TableName::new(&f.parent_table, Some(&f.parent_schema));
            let columns_rust = f.columns.iter().map(|c| rust_name(c, Some(&child.rust_name))).collect();
            ForeignKey {
                child,
                parent,
                columns: f.columns.clone(),
                columns_rust,
                parent_columns: f.parent_columns.clone(),
            }
        })
        .collect();
    all.sort();
    for fk in &mut all {
        for name in &mut fk.columns_rust {
            if is_reserved(name) {
                name.push('_');
            }
        }
    }
    let pairs: Vec<(&TableName, &TableName)> = all.iter().map(ForeignKey::tables).collect();
    let shared: HashSet<(&TableName, &TableName)> =
        pairs.iter().filter(|p| pairs.iter().filter(|q| q == p).count() > 1).copied().collect();
    let mut kept = Vec::new();
    for fk in &all {
        if fk.parent == fk.child || !tables.contains(&fk.parent) || !tables.contains(&fk.child) || fk.columns.len() != 1
        {
            continue;
        }
        let parent_key =
            keys.get(fk.parent.sql_name.as_str()).filter(|k| !k.is_empty()).ok_or_else(|| no_key(&fk.parent))?;
        if parent_key.len() != 1 || Some(&parent_key[0]) != fk.parent_columns.first().map(String::as_str).as_ref() {
            continue;
        }
        if shared.contains(&fk.tables()) {
            continue;
        }
        kept.push(fk.clone());
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::print_schema::{Column as Col, ForeignKey as Fk};

    fn col(table: &str, name: &str, ty: &str, nullable: bool) -> Col {
        Col {
            table: table.into(),
            name: name.into(),
            type_name: ty.into(),
            type_schema: Some(if ty.contains("mood") { "public" } else { "pg_catalog" }.into()),
            nullable,
            ..Col::default()
        }
    }

    fn fk(table: &str, cols: &[&str], parent: &str, pcols: &[&str]) -> Fk {
        Fk {
            schema: "public".into(),
            table: table.into(),
            columns: cols.iter().map(|c| c.to_string()).collect(),
            parent_schema: "public".into(),
            parent_table: parent.into(),
            parent_columns: pcols.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn catalog() -> Catalog {
        Catalog {
            tables: vec!["users".into(), "posts".into(), "tags".into(), "post_tags".into()],
            primary_keys: [
                ("users", "id"),
                ("posts", "id"),
                ("tags", "id"),
                ("post_tags", "post_id"),
                ("post_tags", "tag_id"),
            ]
            .iter()
            .map(|(t, c)| (t.to_string(), c.to_string()))
            .collect(),
            columns: vec![
                col("users", "id", "int4", false),
                col("users", "type", "_mood", true),
                col("users", "users", "text", false),
                col("posts", "id", "int4", false),
                col("posts", "user_id", "int4", false),
                col("post_tags", "post_id", "int4", false),
                col("post_tags", "tag_id", "int4", false),
                col("tags", "id", "int4", false),
            ],
            table_comments: Vec::new(),
            foreign_keys: vec![
                fk("posts", &["user_id"], "users", &["id"]),
                fk("post_tags", &["post_id"], "posts", &["id"]),
                fk("post_tags", &["tag_id"], "tags", &["id"]),
                fk("users", &["id"], "users", &["id"]),
            ],
        }
    }

    #[test]
    fn tables_sort_by_name_and_columns_get_rust_names_and_types() {
        let s = infer(&catalog(), &PrintSchema::default()).unwrap();
        let names: Vec<_> = s.tables.iter().map(|t| t.name.sql_name.as_str()).collect();
        assert_eq!(names, ["post_tags", "posts", "tags", "users"]);
        let users = &s.tables[3];
        let cols: Vec<_> = users.columns.iter().map(|c| format!("{} -> {}", c.rust_name, c.ty)).collect();
        assert_eq!(cols, ["id -> Int4", "type_ -> Nullable<Array<Nullable<Mood>>>", "users_ -> Text"]);
        assert_eq!(users.columns[1].ty.schema, None);
        // Only the enum needs a definition.
        let custom = s.custom_types.unwrap();
        assert_eq!(custom[3][1].as_ref().map(|t| t.rust_name.as_str()), Some("Mood"));
        assert!(custom[3][0].is_none() && custom[0].iter().all(Option::is_none));
    }

    #[test]
    fn only_safe_foreign_keys_make_joinables() {
        let s = infer(&catalog(), &PrintSchema::default()).unwrap();
        let fks: Vec<_> = s.foreign_keys.iter().map(|f| format!("{} -> {}", f.child, f.parent)).collect();
        // Sorted by child; the self reference is dropped.
        assert_eq!(fks, ["post_tags -> posts", "post_tags -> tags", "posts -> users"]);
        // A link both ways between two tables: neither is said.
        let mut c = catalog();
        c.foreign_keys.push(fk("users", &["id"], "posts", &["id"]));
        let s = infer(&c, &PrintSchema::default()).unwrap();
        let fks: Vec<_> = s.foreign_keys.iter().map(|f| format!("{} -> {}", f.child, f.parent)).collect();
        assert_eq!(fks, ["post_tags -> posts", "post_tags -> tags"]);
    }

    #[test]
    fn a_table_without_primary_key_stops_it_unless_filtered_out() {
        let mut c = catalog();
        c.tables.push("log".into());
        let err = infer(&c, &PrintSchema::default()).unwrap_err();
        assert_eq!(err.kind, Kind::NoPrimaryKey { table: "log".into() });
        let config: PrintSchema = toml::from_str("filter = { except_tables = [\"^log$\"] }").unwrap();
        assert_eq!(infer(&c, &config).unwrap().tables.len(), 4);
    }

    #[test]
    fn another_schema_is_named_and_arrays_of_varchar_warned_about() {
        let mut c = catalog();
        c.columns.push(col("tags", "labels", "_varchar", false));
        let config: PrintSchema = toml::from_str("schema = \"app\"").unwrap();
        let s = infer(&c, &config).unwrap();
        assert_eq!(s.tables[0].name.to_string(), "app.post_tags");
        assert_eq!(s.warnings.len(), 1);
        let config: PrintSchema = toml::from_str("schema = \"public\"").unwrap();
        assert_eq!(infer(&c, &config).unwrap().tables[0].name.to_string(), "post_tags");
    }
}
