#!/usr/bin/env bash
# Install cargo-migrate and run `cargo migrate up` on the example project.
# With no database configured, cargo migrate starts its own local development
# database (prepared like Supabase); `scripts/quickstart.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/prereqs.sh
ensure_prereqs
cargo install --locked --path . --quiet
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cd examples/quickstart
# The quick start is about the local development database, also when CI is set
# (where cargo-migrate otherwise refuses to fall back to it).
export MIGRATE_LOCAL=1
if [ "${1:-}" = stop ]; then
  exec cargo migrate local stop
fi
cargo migrate up
cargo migrate status
