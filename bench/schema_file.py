#!/usr/bin/env python3
"""The schema file's costs, on the local development database (made like Supabase).

Run by hand, never from the test suite:

    cargo build --release && python3 bench/schema_file.py
    python3 bench/schema_file.py --bin path/to/cargo-migrate --tables 500 --n 100 --replay 300 --runs 7

Three figures, each the median of --runs rounds (the two sides of a pair alternate):

Each figure is given as wall time and as CPU time: the client's (this
command and what it starts, pg_dump included: getrusage of the children)
and the server's (the local database's backends, which the postmaster reaps:
its children's user+sys in /proc). On a shared machine the CPU figures move
far less than the wall ones.

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
import resource
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
    if not LINT:
        env["MIGRATE_NO_LINT"] = "1"
    return env


BIN = None
LINT = False


def cm(args, root, bin_):
    return [bin_, "migrate", *args]


class Sample:
    """Wall, client CPU and server CPU seconds of one command."""

    def __init__(self, wall, client, server):
        self.wall, self.client, self.server = wall, client, server


LOCAL_DIRS = {}


def postmaster_pid(root):
    """The local database's postmaster (its folder is where `local status` says: as root, in the temp folder)."""
    if root not in LOCAL_DIRS:
        import json
        out = run_timed(cm(["local", "status", "--format", "json"], root, BIN), cwd=root, env=env_for(root))[2]
        LOCAL_DIRS[root] = Path(json.loads(out[out.index("{"):])["dir"])
    try:
        pid_file = LOCAL_DIRS[root] / "data" / "postmaster.pid"
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def reaped_cpu(pid):
    """User+sys seconds of the children `pid` has reaped (a postmaster: its ended backends)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def settled(pid):
    """Wait until the postmaster has no backend but its own workers left to reap: a client's
    backend ends a little after the client, and its CPU counts only once reaped."""
    import time
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for _ in range(50):
        try:
            kids = children.read_text().split()
        except OSError:
            return
        if not any(backend_or_unreaped(k) for k in kids):
            # /proc's list of children can miss one that is ending: a margin.
            time.sleep(0.2)
            return
        time.sleep(0.02)


def backend_or_unreaped(pid):
    """A client's backend (`postgres: user db host…`), or any child ended but not yet reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return state == "Z" or title.startswith("postgres: postgres ")


def timed(cmd, root):
    pid = postmaster_pid(root)
    settled(pid)
    before, server_before = resource.getrusage(resource.RUSAGE_CHILDREN), reaped_cpu(pid)
    wall = run_timed(cmd, cwd=root, env=env_for(root))[0]
    settled(pid)
    after, server_after = resource.getrusage(resource.RUSAGE_CHILDREN), reaped_cpu(pid)
    client = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # `local reset` starts another postmaster: its server time is not known.
    same = pid is not None and pid == postmaster_pid(root) and None not in (server_before, server_after)
    return Sample(wall, client, server_after - server_before if same else float("nan"))


def med(xs):
    return Sample(*(statistics.median(getattr(x, f) for x in xs) for f in ("wall", "client", "server")))


def show(s):
    return f"{s.wall:.3f} s (CPU {s.client:.3f} client + {s.server:.3f} server)"


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
        # What the kept file costs at least: pg_dump alone, run as `dump` runs it.
        import json
        url = run_timed(cm(["local", "url", "--show-password"], root, bin_), cwd=root, env=env_for(root))[2].strip().splitlines()[-1]
        out = run_timed(cm(["dump", "--format", "json"], root, bin_), cwd=root, env=env_for(root))[2]
        left_out = json.loads(out[out.index("{"):])["left_out"]
        pg_dump = os.environ.get("BENCH_PG_DUMP") or str(Path(local_bin(root, bin_)) / "pg_dump")
        alone = [timed([pg_dump, "--schema-only", "--no-owner", *(f"--exclude-schema={s}" for s in left_out),
                        "-f", root / "plain.sql", "-d", url], root) for _ in range(runs)]
        run_timed(cm(["local", "stop"], root, bin_), cwd=root, env=env_for(root))
        return med(plain), med(kept), med(alone)


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
    ap.add_argument("--only", default="dump,up,load", help="which figures, of dump,up,load")
    ap.add_argument("--lint", action="store_true",
                    help="run with the static checks and the advisor on, as `up` runs by default "
                         "(pg_dump then overlaps the advisor's reads)")
    args = ap.parse_args()
    global BIN, LINT
    BIN = args.bin
    LINT = args.lint
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if "dump" in args.only:
        theirs, ours, lines, _ = bench_dump(args.bin, args.tables, args.runs)
        print(f"dump, {args.tables} tables ({lines} lines): pg_dump {show(theirs)}, cargo migrate dump {show(ours)}, "
              f"{ours.wall / theirs.wall:.2f}x wall, "
              f"{(ours.client + ours.server) / (theirs.client + theirs.server):.2f}x CPU")
    if "up" in args.only:
        plain, kept, alone = bench_up(args.bin, args.n, args.runs)
        print(f"up, N = {args.n}: without the schema file {show(plain)}, with it {show(kept)}, "
              f"+{(kept.wall / plain.wall - 1) * 100:.1f} % wall, "
              f"+{((kept.client + kept.server) / (plain.client + plain.server) - 1) * 100:.1f} % CPU; "
              f"pg_dump alone (without the left-out schemas) {show(alone)} = "
              f"{alone.wall / plain.wall * 100:.0f} % of up's wall")
    if "load" in args.only:
        replay, load = bench_load(args.bin, args.replay, args.runs)
        print(f"local reset, {args.replay} migrations: replay {show(replay)}, --from-schema (file of {args.replay - 10}, "
              f"then 10) {show(load)}, {load.wall / replay.wall:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
