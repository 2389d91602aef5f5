#!/usr/bin/env python3
"""`cargo migrate diff` on a 300-table schema, beside migra and pg-delta.

Run by hand, never from the test suite:

    cargo build --release
    python3 -m venv /tmp/migra-venv && /tmp/migra-venv/bin/pip install migra psycopg2-binary
    (mkdir -p /tmp/pgdelta && cd /tmp/pgdelta && npm install @supabase/pg-delta@1.0.0-alpha.34)
    python3 bench/diff.py --tables 300 --runs 5

The project has one migration creating N tables (five columns, an index, row
level security, a policy, a function each); the declared schema is the same
with a column added to every tenth table, a policy changed on every
twentieth and a new index on every thirtieth. `cargo migrate diff --dry-run`
runs on the project's local development database (started first, not
timed), as a user runs it:

- cold: nothing kept yet; it builds both sides (the migrations on one
  scratch database, the files on another, at the same time) and compares;
- warm: nothing changed since the last run; it reads the two databases it
  kept and compares;
- file edited: a schema file changed (one table's column), so the declared
  side is built again, the migrations' side read as kept;
- migration added: a new small migration, run on the kept migrations' side.

migra and pg-delta compare copies of the same two databases (the kept ones,
copied with CREATE DATABASE … TEMPLATE): their time is the comparison alone.
Wall time is noisy on a shared machine: CPU time (user + system of the
process tree, getrusage) is printed beside it, and the load average.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, write  # noqa: E402


def table_sql(i, declared, extra=""):
    cols = ["id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "owner uuid NOT NULL", "name text NOT NULL",
            "created_at timestamptz NOT NULL DEFAULT now()", "n integer DEFAULT 0"]
    if declared and i % 10 == 0:
        cols.append("note text")
    if extra and i == 1:
        cols.append(f"{extra} text")
    using = "owner IS NOT NULL AND n >= 0" if declared and i % 20 == 0 else "owner IS NOT NULL"
    sql = f"CREATE TABLE t{i} (\n    " + ",\n    ".join(cols) + "\n);\n"
    sql += f"CREATE INDEX t{i}_owner ON t{i} (owner);\n"
    if declared and i % 30 == 0:
        sql += f"CREATE INDEX t{i}_name ON t{i} (name);\n"
    sql += f"ALTER TABLE t{i} ENABLE ROW LEVEL SECURITY;\n"
    sql += f"CREATE POLICY t{i}_read ON t{i} FOR SELECT USING ({using});\n"
    sql += (f"CREATE FUNCTION t{i}_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM t{i} $$;\n")
    return sql


def timed(cmd, cwd=None, env=None, check=True):
    """(wall seconds, CPU seconds of the process tree, output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(list(map(str, cmd)), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = proc.stdout.decode(errors="replace")
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{text[-3000:]}")
    return wall, cpu, text


def psql(url, sql):
    return subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def row(name, xs):
    walls, cpus = [x[0] for x in xs], [x[1] for x in xs]
    return (f"| {name} | {statistics.median(walls):.2f} s | {min(walls):.2f}–{max(walls):.2f} s "
            f"| {statistics.median(cpus):.2f} s |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--tables", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--migra", default="/tmp/migra-venv/bin/migra")
    ap.add_argument("--pgdelta", default="/tmp/pgdelta/node_modules/.bin/pgdelta")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-diff-"))
    write(root / "Cargo.toml", '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
    write(root / "src/lib.rs", "")
    write(root / "migrations/20250101000000_tables/up.sql", "".join(table_sql(i, False) for i in range(args.tables)))
    write(root / "migrations/20250101000000_tables/down.sql", "-- not needed here\nSELECT 1;\n")
    schema = root / "supabase/schemas/tables.sql"
    write(schema, "".join(table_sql(i, True) for i in range(args.tables)))
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PG_BIN")}
    cm = [args.bin, "migrate"]
    diff = cm + ["diff", "--dry-run", "--format", "json"]
    try:
        timed(cm + ["local", "start"], cwd=root, env=env)
        url = timed(cm + ["local", "url", "--show-password"], cwd=root, env=env)[2].strip().splitlines()[-1]
        rows = []
        rows.append(row("cargo migrate diff, cold (builds both sides)", [timed(diff, cwd=root, env=env)]))
        rows.append(row("cargo migrate diff, warm (nothing changed)",
                        [timed(diff, cwd=root, env=env) for _ in range(args.runs)]))
        edited = []
        for i in range(args.runs):
            schema.write_text("".join(table_sql(t, True, f"extra{i}") for t in range(args.tables)))
            edited.append(timed(diff, cwd=root, env=env))
        rows.append(row("cargo migrate diff, a schema file edited", edited))
        added = []
        for i in range(args.runs):
            write(root / f"migrations/2025010200000{i}_more/up.sql", f"CREATE TABLE more{i} (id int);\n")
            added.append(timed(diff, cwd=root, env=env))
        rows.append(row("cargo migrate diff, a migration added", added))
        # The same two databases diff compares, copied for the peers.
        names = psql(url, "SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database "
                          "WHERE datname LIKE 'cargo\\_migrate\\_diff\\_%'").split()
        m = next(n for n in names if n[26:28] == "m_")
        s = next(n for n in names if n[26:28] == "s_")
        for copy, template in (("bench_a", m), ("bench_b", s)):
            psql(url, f'DROP DATABASE IF EXISTS {copy}')
            psql(url, f'CREATE DATABASE {copy} TEMPLATE "{template}"')
        a, b = (url.rsplit("/", 1)[0] + "/" + d for d in ("bench_a", "bench_b"))
        if Path(args.migra).exists():
            pa, pb = (u.replace("postgres://", "postgresql://", 1) for u in (a, b))
            timed([args.migra, "--unsafe", pa, pb], check=False)
            rows.append(row("migra (compares the two databases)",
                            [timed([args.migra, "--unsafe", pa, pb], check=False) for _ in range(args.runs)]))
        if Path(args.pgdelta).exists():
            cmd = [args.pgdelta, "diff", "--source", a, "--desired", b]
            timed(cmd, check=False)
            rows.append(row("pg-delta diff (compares the two databases)",
                            [timed(cmd, check=False) for _ in range(args.runs)]))
        version = psql(url, "SHOW server_version")
        print(f"{args.tables} tables, PostgreSQL {version}, local database, median of {args.runs} runs, "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("| tool | wall (median) | wall (range) | CPU (median, user + system) |\n|---|---|---|---|")
        for r in rows:
            print(r)
    finally:
        timed(cm + ["local", "stop"], cwd=root, env=env, check=False)


if __name__ == "__main__":
    main()
