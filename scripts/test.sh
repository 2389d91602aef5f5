#!/usr/bin/env bash
# The whole test suite: unit tests, and end-to-end tests that run the real
# `cargo migrate` against a throwaway PostgreSQL the harness starts itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/prereqs.sh
ensure_prereqs
cargo test --locked "$@"
