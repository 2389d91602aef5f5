#!/usr/bin/env bash
# Install cargo-migrate and run `cargo migrate up` on the example project.
# With no DATABASE_URL set, it starts a throwaway local PostgreSQL first
# (stopped again with `scripts/quickstart.sh stop`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
. scripts/lib/prereqs.sh

base="${TMPDIR:-/tmp}/cargo-migrate-quickstart-$(id -u)"
bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = stop ]; then
  as_pg "$bin/pg_ctl" -D "$base/data" -m fast stop && rm -rf "$base"
  exit 0
fi

ensure_prereqs
cargo install --locked --path . --quiet
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if [ -z "${DATABASE_URL:-}" ]; then
  port=55439
  if ! as_pg "$bin/pg_ctl" -D "$base/data" status >/dev/null 2>&1; then
    rm -rf "$base" && mkdir -p "$base"
    [ "$(id -u)" = 0 ] && chown postgres: "$base"
    as_pg "$bin/initdb" -D "$base/data" -A trust -U postgres --no-sync >/dev/null
    as_pg "$bin/pg_ctl" -D "$base/data" -l "$base/log" -w \
      -o "-p $port -k $base -c listen_addresses=127.0.0.1" start >/dev/null
    echo "started a throwaway PostgreSQL on 127.0.0.1:$port (stop it: scripts/quickstart.sh stop)"
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
fi

cd "$repo/examples/quickstart"
cargo migrate up
cargo migrate status
