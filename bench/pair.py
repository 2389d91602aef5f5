#!/usr/bin/env python3
"""This build against another binary (the previous release), paired, on fresh databases.

Run by hand, never from the test suite:

    cargo build --release
    python3 bench/pair.py --old path/to/previous/cargo-migrate --n 1000 --rounds 3

For each round and each binary (in turn, A B A B ...): a fresh database, `up` of N
migrations (the same ones as run.py), `status` (median of 5), `down --all`. Prints the
median of each figure and the median of the ratios new/old taken pair by pair, in wall
time and in CPU time (user + system of the process and its children: on a loaded machine
wall time mostly measures the load).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from caches import project  # noqa: E402
from run import REPO, Server, pg_bin, run_timed  # noqa: E402


def timed(cmd, root, env):
    """(wall seconds, CPU seconds) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run_timed(cmd, cwd=root, env=env)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def knows_no_lint(binary):
    """0.1.0 has no lint (nor its flag): it runs as `up --no-lint` does."""
    out = subprocess.run([binary, "migrate", "up", "--help"], capture_output=True, text=True).stdout
    return "--no-lint" in out


def one(binary, server, root, name, env):
    env = dict(env, DATABASE_URL=server.fresh_db(name))
    cmd = lambda *a: [binary, "migrate", *a]  # noqa: E731
    no_lint = ["--no-lint"] if knows_no_lint(binary) else []
    apply = timed(cmd("up", "-q", *no_lint), root, env)
    statuses = [timed(cmd("status", "-q"), root, env) for _ in range(5)]
    status = tuple(statistics.median(s[k] for s in statuses) for k in (0, 1))
    revert = timed(cmd("down", "--all", "-q"), root, env)
    return apply, status, revert


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--new", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--old", required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    server = Server(pg_bin())
    try:
        with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-pair-") as tmp:
            root = Path(tmp) / "p"
            project(root, args.n)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CARGO_MIGRATE", "MIGRATE"))}
            env.update(XDG_CACHE_HOME=str(Path(tmp) / "cache"))
            new, old = [], []
            for r in range(args.rounds):
                new.append(one(args.new, server, root, f"pair_new_{r}", env))
                old.append(one(args.old, server, root, f"pair_old_{r}", env))
            for i, what in enumerate(["apply all", "status", "revert all"]):
                line = f"N={args.n} {what}:"
                for k, clock in enumerate(["wall", "cpu"]):
                    n = statistics.median(x[i][k] for x in new)
                    o = statistics.median(x[i][k] for x in old)
                    ratio = statistics.median(a[i][k] / b[i][k] for a, b in zip(new, old))
                    line += f" {clock} new {n * 1000:.0f} ms, old {o * 1000:.0f} ms, ratio {ratio:.2f};"
                print(line.rstrip(";"), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
