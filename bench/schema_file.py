#!/usr/bin/env python3
"""The schema file's costs, on the local development database (made like Supabase).

Run by hand, never from the test suite:

    cargo build --release && python3 bench/schema_file.py
    python3 bench/schema_file.py --bin path/to/cargo-migrate --tables 500 --n 100 --replay 300 --runs 7

Three figures, each the median of --runs rounds (the two sides of a pair alternate):

1. `dump` against pg_dump itself at --tables tables (the same pg_dump binary
   cargo-migrate chooses, `--schema-only --no-owner`, written to a file).
   `dump` runs pg_dump while its own connection reads the rest, then normalises.
2. `up` of --n migrations with `schema = "schema.sql"` set (the file rewritten
   after the run) against `up --no-write-schema`, each from an empty history
   (`down --all` between rounds, not timed).
3. `local reset` (replays --replay migrations) against
   `local reset --from-schema` (loads schema.sql of the first --replay - 10,
   then applies the 10 newer ones).
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, down_sql, run_timed, up_sql, version, write  # noqa: E402


def project(root, n, schema_setting):
    meta = '\n[package.metadata.migrate]\nschema = "schema.sql"\n' if schema_setting else ""
    write(root / "Cargo.toml", f'[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n{meta}\n[workspace]\n')
    write(root / "src/lib.rs", "")
    for i in range(n):
        write(root / f"migrations/{version(i)}_create_t{i}/up.sql", up_sql(i))
        write(root / f"migrations/{version(i)}_create_t{i}/down.sql", down_sql(i))


def env_for(root):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CARGO_MIGRATE", "MIGRATE_"))}
    env["XDG_CACHE_HOME"] = str(root / "target" / "cache")
    env["MIGRATE_NO_LINT"] = "1"
    return env


def cm(args, root, bin_):
    return [bin_, "migrate", *args]


def timed(cmd, root):
    return run_timed(cmd, cwd=root, env=env_for(root))[0]


def med(xs):
    return statistics.median(xs)


def bench_dump(bin_, tables, runs):
    with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-dump-") as tmp:
        root = Path(tmp) / "p"
        project(root, tables, False)
        run_timed(cm(["up"], root, bin_), cwd=root, env=env_for(root))
        url = run_timed(cm(["local", "url", "--show-password"], root, bin_), cwd=root, env=env_for(root))[2].strip().splitlines()[-1]
        out = run_timed(cm(["dump", "--format", "json"], root, bin_), cwd=root, env=env_for(root))[2]
        pg_dump = os.environ.get("BENCH_PG_DUMP") or str(Path(local_bin(root, bin_)) / "pg_dump")
        ours, theirs = [], []
        for _ in range(runs):
            theirs.append(timed([pg_dump, "--schema-only", "--no-owner", "-f", root / "plain.sql", "-d", url], root))
            ours.append(timed(cm(["dump", "--quiet"], root, bin_), root))
        run_timed(cm(["local", "stop"], root, bin_), cwd=root, env=env_for(root))
        lines = (root / "schema.sql").read_text().count("\n")
        return med(theirs), med(ours), lines, out


def local_bin(root, bin_):
    """The bin folder of the local database's PostgreSQL (`local status` says)."""
    import json
    out = run_timed(cm(["local", "status", "--format", "json"], root, bin_), cwd=root, env=env_for(root))[2]
    return json.loads(out[out.index("{"):])["pg_bin"]


def bench_up(bin_, n, runs):
    with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-keep-") as tmp:
        root = Path(tmp) / "p"
        project(root, n, True)
        run_timed(cm(["up"], root, bin_), cwd=root, env=env_for(root))
        kept, plain = [], []
        for i in range(runs):
            order = [("kept", []), ("plain", ["--no-write-schema"])]
            if i % 2:
                order.reverse()
            for name, extra in order:
                run_timed(cm(["down", "--all", "--yes"], root, bin_), cwd=root, env=env_for(root))
                t = timed(cm(["up", "--quiet", *extra], root, bin_), root)
                (kept if name == "kept" else plain).append(t)
        run_timed(cm(["local", "stop"], root, bin_), cwd=root, env=env_for(root))
        return med(plain), med(kept)


def bench_load(bin_, n, runs):
    with tempfile.TemporaryDirectory(prefix="cargo-migrate-bench-load-") as tmp:
        root = Path(tmp) / "p"
        project(root, n - 10, False)
        run_timed(cm(["up"], root, bin_), cwd=root, env=env_for(root))
        run_timed(cm(["dump"], root, bin_), cwd=root, env=env_for(root))
        for i in range(n - 10, n):
            write(root / f"migrations/{version(i)}_create_t{i}/up.sql", up_sql(i))
            write(root / f"migrations/{version(i)}_create_t{i}/down.sql", down_sql(i))
        replay, load = [], []
        for i in range(runs):
            order = [("replay", []), ("load", ["--from-schema"])]
            if i % 2:
                order.reverse()
            for name, extra in order:
                t = timed(cm(["local", "reset", "--quiet", *extra], root, bin_), root)
                (replay if name == "replay" else load).append(t)
        run_timed(cm(["local", "stop"], root, bin_), cwd=root, env=env_for(root))
        return med(replay), med(load)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--tables", type=int, default=500)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--replay", type=int, default=300)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    theirs, ours, lines, _ = bench_dump(args.bin, args.tables, args.runs)
    print(f"dump, {args.tables} tables ({lines} lines): pg_dump {theirs:.3f} s, cargo migrate dump {ours:.3f} s, "
          f"{ours / theirs:.2f}x")
    plain, kept = bench_up(args.bin, args.n, args.runs)
    print(f"up, N = {args.n}: without the schema file {plain:.3f} s, with it {kept:.3f} s, "
          f"+{(kept / plain - 1) * 100:.1f} %")
    replay, load = bench_load(args.bin, args.replay, args.runs)
    print(f"local reset, {args.replay} migrations: replay {replay:.3f} s, --from-schema (file of {args.replay - 10}, "
          f"then 10) {load:.3f} s, {load / replay:.2f}x")


if __name__ == "__main__":
    main()
