//! goose: `<version>_<name>.sql` with `-- +goose Up` / `-- +goose Down`,
//! `-- +goose StatementBegin` / `StatementEnd` around statements goose's
//! splitter would cut, and `-- +goose NO TRANSACTION` (goose
//! `internal/sqlparser/parser.go`). The sections reader knows the markers;
//! the name is the single-file one.

use super::naming::{versioned, Named, Role};

pub fn name(file: &str, is_dir: bool) -> Option<Named> {
    if is_dir {
        return None;
    }
    let stem = file.strip_suffix(".sql")?;
    let (version, _) = versioned(stem)?;
    Some(Named::Part { version: version.to_string(), name: stem.to_string(), role: Role::Whole })
}
