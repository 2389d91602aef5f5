//! `[package.metadata.migrate.lint]` (or the workspace's): typed, so a
//! misspelt key, a rule that does not exist or a wrong severity is an error.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::rules::{rule, RULES};
use super::Severity;

/// What the rules run with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Rules turned off everywhere.
    pub off: Vec<&'static str>,
    /// Severities changed per rule.
    pub severity: HashMap<&'static str, Severity>,
    /// Schemas the API serves (Supabase: `public`), where tables need RLS.
    pub exposed_schemas: Vec<String>,
}

impl Config {
    /// Everything of the configuration that can change what the rules find, as text.
    pub fn key(&self) -> String {
        let mut off = self.off.clone();
        off.sort_unstable();
        let mut severity: Vec<String> = self.severity.iter().map(|(rule, s)| format!("{rule}={s:?}")).collect();
        severity.sort_unstable();
        format!("{}\u{1f}{}\u{1f}{}", off.join(","), severity.join(","), self.exposed_schemas.join(","))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config { off: Vec::new(), severity: HashMap::new(), exposed_schemas: vec!["public".into()] }
    }
}

/// The section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    severity: BTreeMap<String, String>,
    exposed_schemas: Option<Vec<String>>,
}

impl Config {
    /// From the TOML table, e.g.
    /// `{ ignore = ["drop_table"], severity = { rename = "error" }, exposed_schemas = ["public", "api"] }`.
    pub fn from_toml(table: &toml::Table) -> Result<Config, String> {
        let written = Written::deserialize(toml::Value::Table(table.clone())).map_err(|e| e.message().to_string())?;
        let known = |name: &str| {
            rule(name).map(|r| r.name).ok_or_else(|| {
                format!(
                    "`{name}` is no rule; rules are: {}",
                    RULES.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
                )
            })
        };
        let mut config = Config::default();
        for name in &written.ignore {
            config.off.push(known(name)?);
        }
        for (name, level) in &written.severity {
            let name = known(name)?;
            if level == "off" {
                config.off.push(name);
                continue;
            }
            let level = Severity::parse(level)
                .ok_or_else(|| format!("severity of `{name}`: `{level}` is not error, warn, info or off"))?;
            config.severity.insert(name, level);
        }
        if let Some(schemas) = written.exposed_schemas {
            config.exposed_schemas = schemas;
        }
        Ok(config)
    }
}
