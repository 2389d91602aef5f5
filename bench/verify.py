#!/usr/bin/env python3
"""`verify --all` against `up`, per migration, for this build and another binary.

Run by hand, never from the test suite:

    cargo build --release
    python3 bench/verify.py --old path/to/previous/cargo-migrate --n 100,1000 --rounds 1

For each N (the same migrations as run.py) and each binary in turn: `up` of all N on a fresh
database, then `verify --all --no-lint --scratch-url` on the same server (its scratch
databases are made there). Prints the milliseconds per migration of each and their ratio,
wall and CPU: the tool's own (user+sys of the process tree) and the server's (user+sys of the
postmaster and every backend, the exited ones counted through the postmaster's children
totals), since verify's time is mostly spent in the server reading its catalog.
`--old-max N` skips the old binary above N (about 107 ms a migration: minutes at N = 1000).
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from caches import project  # noqa: E402
from run import REPO, Server, pg_bin, run_timed  # noqa: E402


TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(server):
    """Seconds of CPU the server has used so far (live processes and reaped ones)."""
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, utime, stime, cutime, cstime = int(fields[1]), *map(int, fields[11:15])
        if int(entry.name) == pid:
            total += utime + stime + cutime + cstime
        elif ppid == pid:
            total += utime + stime
    return total / TICK


def timed(server, cmd, **kw):
    """(wall, the tool's CPU, the server's CPU) of one command, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server0 = server_cpu(server)
    wall = run_timed(cmd, **kw)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tool = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, tool, server_cpu(server) - server0


def one(binary, server, root, name, env):
    env = dict(env, DATABASE_URL=server.fresh_db(name))
    cmd = lambda *a: [binary, "migrate", *a]  # noqa: E731
    apply = timed(server, cmd("up", "-q", "--no-lint"), cwd=root, env=env)
    verify = timed(server, cmd("verify", "--all", "-q", "--no-lint", "--scratch-url", server.url("postgres")),
                   cwd=root, env=env)
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
                # Interleaved, each round in the other order: the machine's drift falls on both.
                by_label = {label: [] for label, _ in bins}
                for r in range(args.rounds):
                    for label, binary in (bins if r % 2 == 0 else bins[::-1]):
                        by_label[label].append(one(binary, server, root, f"verify_{label}_{n}_{r}", env))
                for label, binary in bins:
                    runs = by_label[label]
                    ms = lambda step, i: statistics.median(r[step][i] for r in runs) / n * 1000  # noqa: E731
                    (aw, at, as_), (vw, vt, vs) = [[ms(step, i) for i in range(3)] for step in range(2)]
                    print(f"N={n} {label} (load {os.getloadavg()[0]:.1f}), ms/migration: "
                          f"apply wall {aw:.2f} cpu tool {at:.2f} server {as_:.2f}; "
                          f"verify --all wall {vw:.2f} cpu tool {vt:.2f} server {vs:.2f}; "
                          f"verify/apply wall {vw / aw:.2f} cpu {(vt + vs) / max(at + as_, 1e-9):.2f}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
