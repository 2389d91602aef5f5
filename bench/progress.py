#!/usr/bin/env python3
"""`up` on a terminal with and without its progress line.

Run by hand, never from the test suite:

    cargo build --release
    python3 bench/progress.py --n 1000 --rounds 3

For each round, on fresh databases, in turn: `up` of N migrations (the same ones as
run.py) on a pseudo-terminal (util-linux `script`) as it shows by default, with the
progress line, and with `MIGRATE_NO_PROGRESS=1` (the same lines, no progress line).
Prints the median of each and the median of the ratios taken pair by pair.
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


def on_a_terminal(binary, root, env):
    inner = f"'{binary}' migrate up --no-lint"
    return run_timed(["script", "-q", "-e", "-c", inner, "/dev/null"], cwd=root, env=env)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    server = Server(pg_bin())
    try:
        with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-progress-") as tmp:
            root = Path(tmp) / "p"
            project(root, args.n)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CARGO_MIGRATE", "MIGRATE"))}
            env.update(XDG_CACHE_HOME=str(Path(tmp) / "cache"), TERM="xterm")
            shown, hidden = [], []
            for r in range(args.rounds):
                shown.append(on_a_terminal(args.bin, root, dict(env, DATABASE_URL=server.fresh_db(f"progress_on_{r}"))))
                quiet = dict(env, DATABASE_URL=server.fresh_db(f"progress_off_{r}"), MIGRATE_NO_PROGRESS="1")
                hidden.append(on_a_terminal(args.bin, root, quiet))
            ratio = statistics.median(a / b for a, b in zip(shown, hidden))
            print(f"N={args.n} up on a terminal: with progress {statistics.median(shown) * 1000:.0f} ms, "
                  f"without {statistics.median(hidden) * 1000:.0f} ms, ratio {ratio:.3f} "
                  f"(runs: {[round(x, 2) for x in shown]} vs {[round(x, 2) for x in hidden]})", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
