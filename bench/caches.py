#!/usr/bin/env python3
"""What the on-disk caches save: `cargo migrate status` with and without them.

Run by hand, never from the test suite:

    cargo build --release && python3 bench/caches.py              # N = 5000, 11 rounds
    python3 bench/caches.py --bin path/to/cargo-migrate --n 1,5000

For each N it writes N small migrations (the same ones as run.py), applies them
once, then times `status` in rounds, alternating a run with caches
(`CARGO_MIGRATE_NO_CACHE` unset, cache warm) and one without
(`CARGO_MIGRATE_NO_CACHE=1`: every up.sql read and hashed, `cargo metadata` run),
and prints the median of each and of the pairwise difference. At N = 1 the
difference is what the cargo-metadata cache saves; at N = 5000, that plus the
checksum cache's saving on 5,000 files.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, down_sql, pg_bin, run_timed, up_sql, version, write  # noqa: E402


def project(root, n):
    write(root / "Cargo.toml", '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
    write(root / "src/lib.rs", "")
    for i in range(n):
        write(root / f"migrations/{version(i)}_create_t{i}/up.sql", up_sql(i))
        write(root / f"migrations/{version(i)}_create_t{i}/down.sql", down_sql(i))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--n", default="1,5000")
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    server = Server(pg_bin())
    try:
        for n in [int(x) for x in args.n.split(",")]:
            with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-caches-") as tmp:
                root, cache = Path(tmp) / "p", Path(tmp) / "cache"
                project(root, n)
                url = server.fresh_db(f"caches_{n}")
                base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CARGO_MIGRATE"))}
                base.update(DATABASE_URL=url, XDG_CACHE_HOME=str(cache), MIGRATE_NO_LINT="1")
                cached, uncached = dict(base), dict(base, CARGO_MIGRATE_NO_CACHE="1")
                run_timed([args.bin, "migrate", "up", "-q"], cwd=root, env=cached)
                with_c, without = [], []
                for r in range(-1, args.runs):  # round -1 warms the cache and the page cache
                    a = run_timed([args.bin, "migrate", "status", "-q"], cwd=root, env=cached)[0]
                    b = run_timed([args.bin, "migrate", "status", "-q"], cwd=root, env=uncached)[0]
                    if r >= 0:
                        with_c.append(a)
                        without.append(b)
                diff = statistics.median(b - a for a, b in zip(with_c, without))
                print(f"N={n}: status with caches {statistics.median(with_c) * 1000:.1f} ms, "
                      f"without {statistics.median(without) * 1000:.1f} ms, "
                      f"saved {diff * 1000:.1f} ms (median of {args.runs} pairs)", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
