#!/usr/bin/env python3
"""`cargo migrate diff` on a 300-table schema, beside migra and pg-delta.

Run by hand, never from the test suite:

    cargo build --release
    python3 -m venv /tmp/migra-venv && /tmp/migra-venv/bin/pip install migra psycopg2-binary
    (cd /tmp/pgdelta && npm install @supabase/pg-delta@1.0.0-alpha.34)
    python3 bench/diff.py --tables 300 --runs 5

The project has one migration creating N tables (five columns, an index, row
level security, a policy, a function each); the declared schema is the same
with a column added to every tenth table, a policy changed on every
twentieth and a new index on every thirtieth. `cargo migrate diff --dry-run`
builds both schemas itself (two scratch databases, migrations in one and the
files in the other, at the same time) and compares them: its time includes
all of that. migra and pg-delta compare two databases built beforehand (the
same SQL): their time is the comparison alone.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, pg_bin, run_timed, write  # noqa: E402


def table_sql(i, declared):
    cols = ["id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "owner uuid NOT NULL", "name text NOT NULL",
            "created_at timestamptz NOT NULL DEFAULT now()", "n integer DEFAULT 0"]
    if declared and i % 10 == 0:
        cols.append("note text")
    using = "owner IS NOT NULL AND n >= 0" if declared and i % 20 == 0 else "owner IS NOT NULL"
    sql = f"CREATE TABLE t{i} (\n    " + ",\n    ".join(cols) + "\n);\n"
    sql += f"CREATE INDEX t{i}_owner ON t{i} (owner);\n"
    if declared and i % 30 == 0:
        sql += f"CREATE INDEX t{i}_name ON t{i} (name);\n"
    sql += f"ALTER TABLE t{i} ENABLE ROW LEVEL SECURITY;\n"
    sql += f"CREATE POLICY t{i}_read ON t{i} FOR SELECT USING ({using});\n"
    sql += (f"CREATE FUNCTION t{i}_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM t{i} $$;\n")
    return sql


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--tables", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--migra", default="/tmp/migra-venv/bin/migra")
    ap.add_argument("--pgdelta", default="/tmp/pgdelta/node_modules/.bin/pgdelta")
    args = ap.parse_args()
    server = Server(pg_bin())
    try:
        root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-diff-"))
        write(root / "Cargo.toml", '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
        write(root / "src/lib.rs", "")
        migrated = "".join(table_sql(i, False) for i in range(args.tables))
        declared = "".join(table_sql(i, True) for i in range(args.tables))
        write(root / "migrations/20250101000000_tables/up.sql", migrated)
        write(root / "migrations/20250101000000_tables/down.sql", "-- not needed here\nSELECT 1;\n")
        write(root / "supabase/schemas/tables.sql", declared)
        scratch = server.fresh_db("scratch_admin")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        cmd = [args.bin, "migrate", "diff", "--dry-run", "--scratch-url", scratch, "--format", "json"]
        run_timed(cmd, cwd=root, env=env)  # warm: cargo metadata cache, server buffers
        ours = [run_timed(cmd, cwd=root, env=env)[0] for _ in range(args.runs)]
        # The same two schemas, built once, for the tools that compare databases.
        a, b = server.fresh_db("bench_a"), server.fresh_db("bench_b")
        for url, sql in ((a, migrated), (b, declared)):
            path = root / "load.sql"
            path.write_text(sql)
            run_timed([server.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", path])
        rows = [("cargo migrate diff (builds both, then compares)", ours)]
        if Path(args.migra).exists():
            pa, pb = (u.replace("postgres://", "postgresql://", 1) for u in (a, b))
            m = [run_timed([args.migra, "--unsafe", pa, pb], check=False)[0] for _ in range(args.runs)]
            rows.append(("migra (compares only)", m))
        if Path(args.pgdelta).exists():
            d = [run_timed([args.pgdelta, "diff", "--source", a, "--desired", b], check=False)[0] for _ in range(args.runs)]
            rows.append(("pg-delta diff (compares only)", d))
        print(f"{args.tables} tables, PostgreSQL {server.version()}, median of {args.runs} runs")
        for name, xs in rows:
            print(f"| {name} | {statistics.median(xs):.2f} s | {min(xs):.2f}–{max(xs):.2f} s |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
