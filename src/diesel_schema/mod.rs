//! diesel's `schema.rs`, as diesel_cli 2.3's `print-schema` writes it for
//! PostgreSQL: the configuration (`config`), the catalog turned into tables,
//! keys and types (`infer`), and the text (`render`). Pure: the catalog comes
//! from `db::print_schema`, rustfmt and the files are the command's.

pub mod config;
pub mod infer;
mod names;
pub mod render;

pub use config::{Configs, PrintSchema};

use crate::db::print_schema::Catalog;
use crate::error::{Error, Kind, Result};

/// The unformatted text of one configuration, and diesel_cli's warnings.
pub fn generate(catalog: &Catalog, config: &PrintSchema) -> Result<(String, Vec<String>)> {
    let schema = infer::infer(catalog, config)?;
    Ok((render::render(&schema, config), schema.warnings))
}

/// The schema a configuration reads (diesel_cli's default is `public`).
pub fn schema_name(config: &PrintSchema) -> &str {
    config.schema.as_deref().unwrap_or(infer::DEFAULT_SCHEMA)
}

/// Apply a unified diff (`patch_file`) to the formatted text, as diesel_cli
/// does (with the same diff library).
pub fn apply_patch(text: &str, patch: &str, path: &std::path::Path) -> Result<String> {
    let failed = |why: String| {
        Error::new(Kind::PatchFailed, format!("the patch file {} {why}", crate::show::display_path(path)))
            .hint("regenerate the patch against the current schema (diff the printed schema with the file you want)")
    };
    let patch = diffy::Patch::from_str(patch).map_err(|e| failed(format!("is not a unified diff: {e}")))?;
    diffy::apply(text, &patch).map_err(|e| failed(format!("does not apply: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_applies_or_says_why_not() {
        let text = "a\nb\nc\n";
        let patch = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";
        assert_eq!(apply_patch(text, patch, std::path::Path::new("p")).unwrap(), "a\nB\nc\n");
        let err = apply_patch("x\ny\n", patch, std::path::Path::new("p")).unwrap_err();
        assert_eq!(err.kind, Kind::PatchFailed);
    }
}
