#!/usr/bin/env python3
"""What `up --rehearse` costs against `up`: the same two migrations (a plain
CREATE INDEX and a CREATE INDEX CONCURRENTLY) on a table of N rows, applied
for real on one copy and rehearsed on another. Run by hand:

    cargo build --release && python3 bench/rehearse.py --rows 2500000
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, pg_bin, write  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_500_000)
    args = ap.parse_args()
    binary = REPO / "target" / "release" / "cargo-migrate"
    server = Server(pg_bin())
    try:
        server.fresh_db("base")
        server.psql(f"CREATE TABLE big (id int NOT NULL, n int NOT NULL, m int NOT NULL); "
                    f"INSERT INTO big SELECT g, (g::bigint * 7919) % 1000003, (g::bigint * 104729) % 999983 "
                    f"FROM generate_series(1, {args.rows}) g", db="base")
        server.psql("VACUUM ANALYZE big", db="base")
        for db in ("real", "rehearsed"):
            server.psql(f'CREATE DATABASE "{db}" TEMPLATE base')
        root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-rehearse-"))
        write(root / "migrations/20250101000000_index_n/up.sql", "CREATE INDEX big_n ON big (n);\n")
        write(root / "migrations/20250101000000_index_n/down.sql", "DROP INDEX big_n;\n")
        write(root / "migrations/20250102000000_index_m/up.sql", "CREATE INDEX CONCURRENTLY big_m ON big (m);\n")
        write(root / "migrations/20250102000000_index_m/down.sql", "DROP INDEX CONCURRENTLY big_m;\n")
        write(root / "migrations/20250102000000_index_m/metadata.toml", "run_in_transaction = false\n")
        base = [binary, "up", "--no-lint", "--dir", root / "migrations", "--format", "json", "--database-url"]
        t = time.perf_counter()
        subprocess.run(base + [server.url("real")], check=True, capture_output=True)
        real = time.perf_counter() - t
        t = time.perf_counter()
        out = subprocess.run(base + [server.url("rehearsed"), "--rehearse"], check=True, capture_output=True)
        rehearsed = time.perf_counter() - t
        j = json.loads(out.stdout)
        print(f"{args.rows} rows: up {real:.2f} s; up --rehearse {rehearsed:.2f} s (copy {j['copy_ms']} ms, "
              f"{j['copied_from']}); overhead {(rehearsed - real):.2f} s")
        for m in j["migrations"]:
            s = m["strongest_lock"] or {}
            print(f"  {m['name']}: {m['duration_ms']} ms, {s.get('mode')} held {s.get('held_ms')} ms, "
                  f"writes waited {m['writes_waited']} ({m['writes_blocked_ms']} ms), reads waited {m['reads_waited']}, "
                  f"probes {sum(p['tries'] for p in m['probes'])}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
