#!/usr/bin/env python3
"""Many `cargo-migrate up --count K` at once and again and again on one
database, until nothing is left: each migration must be applied exactly once,
every run must end well (applied some, or found nothing to do), whatever the
interleaving. Run by hand:

    cargo build --release && python3 bench/concurrency.py            # 32 workers x 200 migrations
    python3 bench/concurrency.py --procs 64 --n 500 --rounds 3

Some migrations are slow (pg_sleep) so that runs overlap for real; some run
outside a transaction. Prints, per round, the exit codes, how many migrations
each process applied, and the checks on the database.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, pg_bin, version, write  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=32)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--count", type=int, default=3, help="each run applies at most this many")
    args = ap.parse_args()
    binary = REPO / "target" / "release" / "cargo-migrate"
    server = Server(pg_bin())
    root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-conc-"))
    for i in range(args.n):
        d = root / f"migrations/{version(i)}_m{i}"
        slow = "SELECT pg_sleep(0.02);\n" if i % 10 == 0 else ""
        write(d / "up.sql", f"{slow}CREATE TABLE c{i} (id int PRIMARY KEY);\nCREATE TYPE e{i} AS ENUM ('a');\n")
        write(d / "down.sql", f"DROP TYPE e{i};\nDROP TABLE c{i};\n")
        if i % 25 == 0:
            write(d / "metadata.toml", "run_in_transaction = false\n")
    ok = True
    try:
        for r in range(args.rounds):
            url = server.fresh_db(f"conc{r}")
            start = time.perf_counter()
            # Each worker runs `up --count K` again and again until nothing is
            # left, so that the runs interleave all through the round.
            def worker(_):
                codes, applied = [], 0
                for _ in range(10 * args.n):
                    p = subprocess.run([binary, "up", "--count", str(args.count), "--format", "json", "--lock-timeout", "600",
                                        "--dir", root / "migrations", "--database-url", url], capture_output=True)
                    codes.append(p.returncode)
                    if p.returncode != 0:
                        print(p.stderr.decode(errors="replace")[:2000])
                        break
                    n = len(json.loads(p.stdout)["migrations"])
                    applied += n
                    if n == 0:
                        break
                return codes, applied

            with ThreadPoolExecutor(args.procs) as pool:
                results = list(pool.map(worker, range(args.procs)))
            elapsed = time.perf_counter() - start
            codes = Counter(c for cs, _ in results for c in cs)
            applied_by_proc = [a for _, a in results]
            rows = server.psql("SELECT count(*) || '|' || count(DISTINCT version) FROM __diesel_schema_migrations", db=f"conc{r}")
            facts = server.psql("SELECT count(*) FROM cargo_migrate.migrations", db=f"conc{r}")
            tables = server.psql("SELECT count(*) FROM pg_class WHERE relname ~ '^c[0-9]+$' AND relkind = 'r'", db=f"conc{r}")
            total = sum(a for a in applied_by_proc if a)
            good = (set(codes) == {0} and rows == f"{args.n}|{args.n}" and facts == str(args.n)
                    and tables == str(args.n) and total == args.n)
            ok &= good
            print(f"round {r + 1}: {args.procs} workers x {args.n} migrations (up --count {args.count}) in {elapsed:.1f} s; "
                  f"{sum(codes.values())} runs, exit codes {dict(codes)}; applied per worker {sorted(applied_by_proc, reverse=True)} "
                  f"(sum {total}); "
                  f"diesel rows|distinct {rows}, companion rows {facts}, tables {tables}: {'OK' if good else 'FAILED'}")
    finally:
        server.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
