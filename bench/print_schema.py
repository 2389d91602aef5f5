#!/usr/bin/env python3
"""`cargo migrate print-schema` against `diesel print-schema` (diesel_cli 2.3) on the same database.

Run by hand, never from the test suite:

    cargo build --release
    cargo install diesel_cli --version ~2.3 --no-default-features --features postgres --root /tmp/diesel_cli
    python3 bench/print_schema.py --diesel /tmp/diesel_cli/bin/diesel --tables 100 500 --rounds 7

For each size: a fresh database of N tables (each with a serial key, text, timestamptz, jsonb,
an enum column, an array and a foreign key to the table before it), a project whose diesel.toml
has an empty [print_schema], then the two commands in turn (A B A B ...) on it. Both outputs
must be the same bytes (checked before timing). Prints the medians and the median of the ratios
taken pair by pair. The `cargo-migrate` binary is started directly (as `diesel` is), without
cargo's dispatch.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, pg_bin, run_timed  # noqa: E402


def schema_sql(n):
    lines = ["CREATE TYPE mood AS ENUM ('happy', 'sad');"]
    for i in range(n):
        ref = f", parent_id integer REFERENCES t{i - 1} (id)" if i else ""
        lines.append(
            f"CREATE TABLE t{i} (id serial PRIMARY KEY, name varchar(80) NOT NULL, body text, "
            f"created_at timestamptz NOT NULL DEFAULT now(), data jsonb, mood mood, tags text[]{ref});"
        )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--diesel", required=True)
    ap.add_argument("--tables", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    server = Server(pg_bin())
    try:
        with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-print-schema-") as tmp:
            root = Path(tmp) / "p"
            (root / "src").mkdir(parents=True)
            (root / "Cargo.toml").write_text('[package]\nname = "p"\nversion = "0.1.0"\nedition = "2021"\n')
            (root / "src" / "lib.rs").write_text("")
            (root / "diesel.toml").write_text("[print_schema]\n")
            (root / "migrations").mkdir()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CARGO_MIGRATE", "MIGRATE"))}
            env.update(XDG_CACHE_HOME=str(Path(tmp) / "cache"))
            for n in args.tables:
                url = server.fresh_db(f"print_schema_{n}")
                server.psql(schema_sql(n), db=f"print_schema_{n}")
                ours = [args.ours, "migrate", "print-schema", "--database-url", url]
                theirs = [args.diesel, "print-schema", "--database-url", url]
                a = subprocess.run(ours, cwd=root, env=env, capture_output=True, check=True).stdout
                b = subprocess.run(theirs, cwd=root, env=env, capture_output=True, check=True).stdout
                if a != b:
                    sys.exit(f"N={n}: the outputs differ")
                times_a, times_b = [], []
                for _ in range(args.rounds):
                    times_a.append(run_timed(ours, cwd=root, env=env)[0])
                    times_b.append(run_timed(theirs, cwd=root, env=env)[0])
                ratio = statistics.median(x / y for x, y in zip(times_a, times_b))
                print(f"N={n} tables ({len(a)} bytes, identical): cargo migrate {statistics.median(times_a) * 1000:.0f} ms, "
                      f"diesel {statistics.median(times_b) * 1000:.0f} ms, ratio {ratio:.2f}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
