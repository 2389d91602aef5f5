#!/usr/bin/env python3
"""What the static checks cost: `up` with them against `up --no-lint`, and
`lint --all` alone on many files.

Run by hand, never from the test suite:

    python3 bench/lint.py                   # 1000 pending migrations for up, 5000 files for lint; 10 rounds
    python3 bench/lint.py --up-n 1000 --lint-n 5000 --runs 5

Uses bench/run.py's throwaway PostgreSQL and its migrations (a table, an index,
RLS and a policy each, so every file has findings to report). `up` and
`up --no-lint` run in turn, each on a fresh database after a CHECKPOINT, and the ratio is taken
pair by pair within a round, then the median (this machine is noisy). The
release binary is called directly (no cargo dispatch). `--no-lint` also skips
the database advisor after the run, so the ratio is the whole cost of linting.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import shutil
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: server, migrations, timing)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--up-n", type=int, default=1000)
    ap.add_argument("--lint-n", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=run.REPO, check=True)
    cm = str(run.REPO / "target" / "release" / "cargo-migrate")
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATE_NO_LINT")}

    def env(url=None):
        return dict(base, DATABASE_URL=url) if url else base
    server = run.Server(run.pg_bin())
    work = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-lint-"))
    try:
        up_root, lint_root = work / "up", work / "lint"
        run.generate(up_root, args.up_n)
        run.generate(lint_root, args.lint_n)
        with_lint, without, ratios, lint_pending = [], [], [], []
        for r in range(-1, args.runs):
            pair = []
            for flags in (["up", "-q"], ["up", "-q", "--no-lint"])[:: 1 if r % 2 == 0 else -1]:
                url = server.fresh_db(f"l_{r}_{len(flags)}")
                # Neither run pays for the other's dirty buffers.
                server.psql("CHECKPOINT")
                secs, _, _ = run.run_timed([cm, *flags], cwd=up_root, env=env(url))
                pair.append((flags, secs))
            # `lint` of everything pending (reads the history, checks the files): on an empty database.
            url = server.fresh_db(f"l_{r}_pending")
            secs, _, _ = run.run_timed([cm, "lint", "-q"], cwd=up_root, env=env(url))
            if r < 0:
                continue  # warm-up
            lint_pending.append(secs)
            times = {len(f): s for f, s in pair}
            with_lint.append(times[2])
            without.append(times[3])
            ratios.append(times[2] / times[3])
            print(f"round {r + 1}: up {times[2]:.3f}s, up --no-lint {times[3]:.3f}s, ratio {ratios[-1]:.3f}; "
                  f"lint (pending) {secs:.3f}s", flush=True)
        lint_all = []
        for r in range(-1, args.runs):
            secs, rss, _ = run.run_timed([cm, "lint", "--all", "-q"], cwd=lint_root, env=env())
            if r >= 0:
                lint_all.append((secs, rss))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    print(f"\n| what | median (s) | min–max (s) |\n|---|---|---|")
    print(f"| `up` of {args.up_n} pending migrations | {med(with_lint):.3f} | {min(with_lint):.3f}–{max(with_lint):.3f} |")
    print(f"| `up --no-lint` of the same | {med(without):.3f} | {min(without):.3f}–{max(without):.3f} |")
    print(f"| `lint` of the same {args.up_n} pending (history read, files checked) | {med(lint_pending):.3f} | "
          f"{min(lint_pending):.3f}–{max(lint_pending):.3f} |")
    secs = [s for s, _ in lint_all]
    rss = max(x for _, x in lint_all if x is not None) if any(x is not None for _, x in lint_all) else None
    print(f"| `lint --all` of {args.lint_n} migrations (no database) | {med(secs):.3f} | {min(secs):.3f}–{max(secs):.3f} |")
    print(f"\n`up` / `up --no-lint`, median of the per-round ratios: {med(ratios):.3f}× "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); `lint --all` peak RSS {rss:.1f} MiB." if rss else "")


if __name__ == "__main__":
    main()
