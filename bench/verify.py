#!/usr/bin/env python3
"""`verify --all` against `up`, per migration, for this build and another binary.

Run by hand, never from the test suite:

    cargo build --release
    python3 bench/verify.py --old path/to/previous/cargo-migrate --n 100,1000 --rounds 1

For each N (the same migrations as run.py) and each binary in turn: `up` of all N on a fresh
database, then `verify --all --no-lint --scratch-url` on the same server (its scratch
databases are made there). Prints the milliseconds per migration of each and their ratio.
`--old-max N` skips the old binary above N (about 107 ms a migration: minutes at N = 1000).
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from caches import project  # noqa: E402
from run import REPO, Server, pg_bin, run_timed  # noqa: E402


def one(binary, server, root, name, env):
    env = dict(env, DATABASE_URL=server.fresh_db(name))
    cmd = lambda *a: [binary, "migrate", *a]  # noqa: E731
    apply = run_timed(cmd("up", "-q", "--no-lint"), cwd=root, env=env)[0]
    verify = run_timed(cmd("verify", "--all", "-q", "--no-lint", "--scratch-url", server.url("postgres")),
                       cwd=root, env=env)[0]
    return apply, verify


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--new", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--old")
    ap.add_argument("--old-max", type=int, default=100)
    ap.add_argument("--n", default="100,1000")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    server = Server(pg_bin())
    try:
        with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-verify-") as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CARGO_MIGRATE", "MIGRATE"))}
            env.update(XDG_CACHE_HOME=str(Path(tmp) / "cache"))
            for n in [int(x) for x in args.n.split(",")]:
                root = Path(tmp) / f"p{n}"
                project(root, n)
                bins = [("new", args.new)] + ([("old", args.old)] if args.old and n <= args.old_max else [])
                for label, binary in bins:
                    runs = [one(binary, server, root, f"verify_{label}_{n}_{r}", env) for r in range(args.rounds)]
                    apply = statistics.median(a for a, _ in runs) / n * 1000
                    verify = statistics.median(v for _, v in runs) / n * 1000
                    print(f"N={n} {label}: apply {apply:.2f} ms/migration, verify --all {verify:.2f} ms/migration, "
                          f"verify/apply {verify / apply:.2f}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
