#!/usr/bin/env python3
"""Is the commit the cost? psql applies N migrations (a table with a serial key and
an index each) three ways, interleaved, on fresh databases. Run by hand:

    python3 bench/commit_schemes.py              # N = 1000, 2 rounds
    python3 bench/commit_schemes.py --n 5000 --rounds 3

1. one BEGIN … COMMIT a migration (run.py's psql floor);
2. the same with `synchronous_commit = off` (no commit waits for its flush);
3. a savepoint a migration, one commit every 16.

If 2 and 3 are far below 1, fewer or cheaper commits would pay; if not, the
server's work on the DDL itself is what a migration costs.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Server, pg_bin  # noqa: E402


def migration(i):
    return (f"CREATE TABLE t{i} (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());\n"
            f"CREATE INDEX t{i}_name ON t{i}(name);\n")


def schemes(n):
    each = "".join(f"BEGIN;\n{migration(i)}COMMIT;\n" for i in range(n))
    grouped = "".join(
        ("BEGIN;\n" if i % 16 == 0 else "")
        + f"SAVEPOINT m;\n{migration(i)}RELEASE SAVEPOINT m;\n"
        + ("COMMIT;\n" if i % 16 == 15 or i == n - 1 else "")
        for i in range(n)
    )
    return {
        "one commit a migration (floor)": each,
        "synchronous_commit = off": "SET synchronous_commit = off;\n" + each,
        "a savepoint a migration, a commit per 16": grouped,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    server = Server(pg_bin())
    try:
        for r in range(args.rounds):
            for name, sql in schemes(args.n).items():
                db = server.fresh_db("commit_schemes")
                start = time.perf_counter()
                subprocess.run([server.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db], input=sql,
                               text=True, check=True, stdout=subprocess.DEVNULL)
                print(f"round {r + 1}, N={args.n}, {name}: {time.perf_counter() - start:.2f} s", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
