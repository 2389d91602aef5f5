//! diesel.toml's `[print_schema]` (and its `[print_schema.NAME]` sections),
//! typed as diesel_cli 2.3 reads them: the same keys, the same defaults, a
//! misspelt key refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// One print-schema configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintSchema {
    #[serde(default)]
    pub file: Option<PathBuf>,
    #[serde(default)]
    pub with_docs: Docs,
    #[serde(default)]
    pub allow_tables_to_appear_in_same_query_config: SameQuery,
    #[serde(default)]
    pub filter: Filter,
    #[serde(default)]
    pub column_sorting: ColumnSorting,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub patch_file: Option<PathBuf>,
    #[serde(default)]
    pub import_types: Option<Vec<String>>,
    #[serde(default)]
    pub generate_missing_sql_type_definitions: Option<bool>,
    #[serde(default)]
    pub except_custom_type_definitions: Vec<Pattern>,
    #[serde(default)]
    pub custom_type_derives: Option<Vec<String>>,
    /// SQLite only: read and ignored on PostgreSQL, as diesel_cli does.
    #[serde(default, rename = "sqlite_integer_primary_key_is_bigint")]
    _sqlite_integer_primary_key_is_bigint: Option<bool>,
    #[serde(default)]
    pub pg_domains_as_custom_types: Vec<Pattern>,
}

/// The keys of one configuration; any other key of `[print_schema]` names a section.
const KEYS: &[&str] = &[
    "file",
    "with_docs",
    "allow_tables_to_appear_in_same_query_config",
    "filter",
    "column_sorting",
    "schema",
    "patch_file",
    "import_types",
    "generate_missing_sql_type_definitions",
    "except_custom_type_definitions",
    "custom_type_derives",
    "sqlite_integer_primary_key_is_bigint",
    "pg_domains_as_custom_types",
];

impl PrintSchema {
    pub fn generate_missing_sql_type_definitions(&self) -> bool {
        self.generate_missing_sql_type_definitions.unwrap_or(true)
    }

    /// The derives of every generated SQL type: the configured ones, and
    /// `diesel::sql_types::SqlType` last unless it is among them.
    pub fn custom_type_derives(&self) -> Vec<String> {
        let mut derives = self.custom_type_derives.clone().unwrap_or_default();
        if !derives.iter().any(|d| d == "diesel::sql_types::SqlType") {
            derives.push("diesel::sql_types::SqlType".into());
        }
        derives
    }

    fn relative_to(&mut self, base: &Path) {
        for path in [&mut self.file, &mut self.patch_file].into_iter().flatten() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

/// Every configuration of a diesel.toml, by key (`default` for the
/// unnamed one), in diesel's order (the keys sorted).
#[derive(Debug, Clone, Default)]
pub struct Configs {
    pub all: BTreeMap<String, PrintSchema>,
}

impl Configs {
    /// `[print_schema]` as a TOML table; relative paths are taken from `base`
    /// (diesel.toml's folder). With named sections, the keys at the top make
    /// the `default` one (empty when there are none).
    pub fn from_table(table: toml::Table, base: &Path) -> Result<Configs, String> {
        let (top, named): (toml::Table, toml::Table) = table.into_iter().partition(|(k, _)| KEYS.contains(&k.as_str()));
        let mut all = BTreeMap::new();
        for (key, value) in named {
            if !value.is_table() {
                return Err(format!(
                    "unknown field `{key}` in [print_schema], expected one of {} or a [print_schema.NAME] section",
                    KEYS.join(", ")
                ));
            }
            let config = PrintSchema::deserialize(value).map_err(|e| format!("[print_schema.{key}]: {e}"))?;
            all.insert(key, config);
        }
        let default = PrintSchema::deserialize(toml::Value::Table(top)).map_err(|e| format!("[print_schema]: {e}"))?;
        all.entry("default".to_string()).or_insert(default);
        for config in all.values_mut() {
            config.relative_to(base);
        }
        Ok(Configs { all })
    }
}

/// `with_docs`: a boolean or one of diesel's three names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Docs {
    /// The database's comments, else a sentence diesel writes.
    CommentsOrGenerated,
    /// The database's comments only.
    CommentsOnly,
    #[default]
    None,
}

impl Docs {
    pub const NAMES: &[&str] =
        &["database-comments-fallback-to-auto-generated-doc-comment", "only-database-comments", "no-doc-comments"];

    pub fn from_name(name: &str) -> Option<Docs> {
        Some(match name {
            "database-comments-fallback-to-auto-generated-doc-comment" => Docs::CommentsOrGenerated,
            "only-database-comments" => Docs::CommentsOnly,
            "no-doc-comments" => Docs::None,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for Docs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Docs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a boolean or one of {:?}", Docs::NAMES)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Docs, E> {
                Ok(if v { Docs::CommentsOrGenerated } else { Docs::None })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Docs, E> {
                Docs::from_name(v).ok_or_else(|| E::unknown_variant(v, Docs::NAMES))
            }
        }
        d.deserialize_any(V)
    }
}

/// How tables are grouped in `allow_tables_to_appear_in_same_query!`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SameQuery {
    /// One invocation per group of tables linked by foreign keys.
    FkRelatedTables,
    /// One invocation naming every table.
    #[default]
    AllTables,
    None,
}

impl SameQuery {
    pub fn from_name(name: &str) -> Option<SameQuery> {
        Some(match name {
            "fk_related_tables" => SameQuery::FkRelatedTables,
            "all_tables" => SameQuery::AllTables,
            "none" => SameQuery::None,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnSorting {
    #[default]
    OrdinalPosition,
    Name,
}

/// A regular expression from the configuration.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        regex::Regex::new(text).map(Pattern).map_err(|e| e.to_string())
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Pattern::new(&text).map_err(de::Error::custom)
    }
}

/// `filter`: `only_tables` or `except_tables`, regular expressions matched
/// against table names (not schema-qualified).
#[derive(Debug, Clone, Default)]
pub enum Filter {
    Only(Vec<Pattern>),
    Except(Vec<Pattern>),
    #[default]
    None,
}

impl Filter {
    pub fn keeps(&self, table: &str) -> bool {
        match self {
            Filter::Only(p) => p.iter().any(|p| p.is_match(table)),
            Filter::Except(p) => !p.iter().any(|p| p.is_match(table)),
            Filter::None => true,
        }
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Filter;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("either only_tables or except_tables")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Filter, M::Error> {
                let (mut only, mut except) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "only_tables" => &mut only,
                        "except_tables" => &mut except,
                        _ => return Err(de::Error::unknown_field(&key, &["only_tables", "except_tables"])),
                    };
                    if slot.is_some() {
                        return Err(de::Error::custom(format!("duplicate field `{key}`")));
                    }
                    *slot = Some(map.next_value::<Vec<Pattern>>()?);
                }
                match (only, except) {
                    (Some(p), None) => Ok(Filter::Only(p)),
                    (None, Some(p)) => Ok(Filter::Except(p)),
                    (None, None) => Ok(Filter::None),
                    _ => Err(de::Error::custom("only_tables and except_tables cannot both be given")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(text: &str) -> Result<Configs, String> {
        let table: toml::Table = text.parse().unwrap();
        Configs::from_table(table, Path::new("/p"))
    }

    #[test]
    fn one_section_is_the_default_with_paths_from_diesel_toml() {
        let c = configs("file = \"src/schema.rs\"\nwith_docs = true\nfilter = { only_tables = [\"^u\"] }\n").unwrap();
        assert_eq!(c.all.keys().collect::<Vec<_>>(), ["default"]);
        let d = &c.all["default"];
        assert_eq!(d.file.as_deref(), Some(Path::new("/p/src/schema.rs")));
        assert_eq!(d.with_docs, Docs::CommentsOrGenerated);
        assert!(d.filter.keeps("users") && !d.filter.keeps("posts"));
        assert_eq!(d.custom_type_derives(), ["diesel::sql_types::SqlType"]);
        assert!(d.generate_missing_sql_type_definitions());
    }

    #[test]
    fn named_sections_add_configs_and_keep_an_empty_default() {
        let c =
            configs("[a]\nschema = \"a\"\n[b]\nfile = \"/abs.rs\"\nwith_docs = \"only-database-comments\"\n").unwrap();
        assert_eq!(c.all.keys().collect::<Vec<_>>(), ["a", "b", "default"]);
        assert_eq!(c.all["b"].file.as_deref(), Some(Path::new("/abs.rs")));
        assert_eq!(c.all["b"].with_docs, Docs::CommentsOnly);
        assert!(c.all["default"].file.is_none());
    }

    #[test]
    fn misspelt_keys_and_bad_values_are_refused() {
        for bad in [
            "fil = \"x\"\n",
            "[a]\nfil = \"x\"\n",
            "with_docs = \"yes\"\n",
            "filter = { only_tables = [\"(\"] }\n",
            "filter = { only_tables = [], except_tables = [] }\n",
            "filter = { tables = [] }\n",
            "column_sorting = \"size\"\n",
        ] {
            assert!(configs(bad).is_err(), "{bad}");
        }
    }
}
