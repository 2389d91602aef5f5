//! The JSON Schema of every `--format json` document, derived from the
//! structs, checked in under docs/schema/ and described in docs/json.md.
//! A change to a document fails here until both are updated:
//! `UPDATE_SCHEMA=1 cargo test --lib schema` rewrites the schema files; the
//! field lists in docs/json.md are written by hand.

use std::collections::BTreeSet;
use std::path::PathBuf;

use schemars::{schema_for, Schema};

use super::*;

/// Every document: its file name under docs/schema/ (and heading in docs/json.md), and its schema.
fn documents() -> Vec<(&'static str, Schema)> {
    vec![
        ("error", schema_for!(ErrorOutput<'static>)),
        ("run", schema_for!(RunOutput)),
        ("dry_run", schema_for!(DryRunOutput)),
        ("status", schema_for!(StatusOutput)),
        ("lint", schema_for!(StaticLintOutput)),
        ("lint_database", schema_for!(LintOutput)),
        ("verify", schema_for!(VerifyOutput)),
        ("repair", schema_for!(RepairOutput)),
        ("create", schema_for!(CreateOutput)),
        ("diff", schema_for!(DiffOutput)),
        ("seed", schema_for!(SeedOutput)),
        ("adopt", schema_for!(AdoptOutput)),
        ("import", schema_for!(ImportOutput)),
        ("database_url", schema_for!(DatabaseUrlOutput)),
        ("local", schema_for!(LocalOutput)),
        ("dump", schema_for!(DumpOutput)),
        ("squash", schema_for!(SquashOutput)),
        ("print_schema", schema_for!(PrintSchemaOutput)),
        ("sarif", schema_for!(Sarif)),
        ("fleet", schema_for!(fleet::FleetOutput<'static>)),
        ("check", schema_for!(check::CheckOutput<'static>)),
        ("rehearse", schema_for!(RehearsalOutput)),
        ("complete", schema_for!(CompleteOutput)),
    ]
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_checked_in_schemas_are_the_structs() {
    let dir = root().join("docs/schema");
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for (name, schema) in documents() {
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "the JSON documents changed: {} (run `UPDATE_SCHEMA=1 cargo test --lib schema`, review the diff, \
         update docs/json.md and CHANGELOG.md)",
        stale.join(", ")
    );
}

/// A document's fields as docs/json.md lists them: under `## `name``, the
/// top-level fields; under each `### `Type``, that type's. Lines starting
/// "- `field`" list a field.
#[derive(Default)]
struct Section {
    fields: BTreeSet<String>,
    types: Vec<(String, BTreeSet<String>)>,
}

fn documented() -> Vec<(String, Section)> {
    let text = std::fs::read_to_string(root().join("docs/json.md")).expect("docs/json.md");
    let name = |line: &str, prefix: &str| line.strip_prefix(prefix).and_then(|h| h.split('`').next()).map(String::from);
    let mut out: Vec<(String, Section)> = Vec::new();
    for line in text.lines() {
        if let Some(doc) = name(line, "## `") {
            out.push((doc, Section::default()));
        } else if let (Some(ty), Some((_, section))) = (name(line, "### `"), out.last_mut()) {
            section.types.push((ty, BTreeSet::new()));
        } else if let (Some(field), Some((_, section))) = (name(line, "- `"), out.last_mut()) {
            match section.types.last_mut() {
                Some((_, fields)) => fields.insert(field),
                None => section.fields.insert(field),
            };
        }
    }
    out
}

fn properties(value: &serde_json::Value) -> BTreeSet<String> {
    value.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn docs_json_md_lists_every_field_of_every_document() {
    let documented = documented();
    for (name, schema) in documents() {
        let Some((_, section)) = documented.iter().find(|(n, _)| n == name) else {
            panic!("docs/json.md has no section `{name}`");
        };
        assert_eq!(section.fields, properties(schema.as_value()), "docs/json.md, section `{name}`");
        let defs = schema.as_value().get("$defs").and_then(|d| d.as_object()).cloned().unwrap_or_default();
        for (ty, fields) in &section.types {
            let def = defs.get(ty).unwrap_or_else(|| panic!("docs/json.md, `{name}` lists `{ty}`, which it has not"));
            assert_eq!(fields, &properties(def), "docs/json.md, section `{name}`, type `{ty}`");
        }
        if name == "sarif" {
            continue;
        }
        for (ty, def) in &defs {
            let listed = section.types.iter().any(|(t, _)| t == ty);
            assert!(listed || properties(def).is_empty(), "docs/json.md, section `{name}` does not list `{ty}`");
        }
    }
}
