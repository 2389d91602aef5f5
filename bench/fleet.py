#!/usr/bin/env python3
"""Fleet throughput: `cargo-migrate up --targets FILE` over D databases of K
migrations each, at --jobs 1, 4 and 16, on a fresh durable PostgreSQL
(default settings: fsync on, synchronous_commit on). The ceiling is the
server's own: pgbench at the same concurrency, one small write transaction
per commit (a migration is at least one fsync'd commit). Run by hand:

    cargo build --release && python3 bench/fleet.py                 # 100 databases x 5 migrations
    python3 bench/fleet.py --dbs 200 --k 10 --jobs 1 4 16 --binary target/debug/cargo-migrate

Prints one line per --jobs: wall time, migrations/s across the fleet, targets/s,
pgbench's commits/s at that many clients, the ratio, and the CPU seconds of the tool
(user+sys of its process tree) and of the server (postmaster and backends), with the
load average at the end of the run: the machine may be shared.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, pg_bin, version, write  # noqa: E402
from verify import server_cpu  # noqa: E402


def databases(server, names, template):
    for n in names:
        server.psql(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
    for n in names:
        server.psql(f'CREATE DATABASE "{n}" TEMPLATE "{template}" STRATEGY FILE_COPY')


def pgbench(server, clients, seconds):
    """Commits/s of one-row INSERT transactions with `clients` sessions."""
    server.psql("DROP TABLE IF EXISTS bench_commits; CREATE TABLE bench_commits (id int)", db="pgbench")
    script = Path(tempfile.mkdtemp()) / "commit.sql"
    script.write_text("INSERT INTO bench_commits VALUES (1);\n")
    out = subprocess.run([server.bin / "pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 4)), "-T", str(seconds),
                          "-f", str(script), server.url("pgbench")], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    raise SystemExit(f"no tps in pgbench output:\n{out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dbs", type=int, default=100)
    ap.add_argument("--k", type=int, default=5, help="migrations per database")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--binary", default=str(REPO / "target" / "release" / "cargo-migrate"))
    ap.add_argument("--pgbench-seconds", type=int, default=5)
    args = ap.parse_args()
    args.binary = str(Path(args.binary).resolve())
    server = Server(pg_bin())
    root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-fleet-"))
    try:
        for i in range(args.k):
            d = root / f"migrations/{version(i)}_m{i}"
            write(d / "up.sql", f"CREATE TABLE t{i} (id bigint PRIMARY KEY, body text);\nCREATE INDEX t{i}_body ON t{i} (body);\n")
            write(d / "down.sql", f"DROP TABLE t{i};\n")
        server.psql('CREATE DATABASE "fleet_tpl"')
        server.psql('CREATE DATABASE "pgbench"')
        names = [f"fleet_{i}" for i in range(args.dbs)]
        (root / "targets.txt").write_text("".join(f"{n}={server.url(n)}\n" for n in names))
        print(f"PostgreSQL {server.version()}, max_connections {server.psql('SHOW max_connections')}, "
              f"{args.dbs} databases x {args.k} migrations, {Path(args.binary).name} ({Path(args.binary).parent.name})")
        print("| --jobs | wall (s) | migrations/s | targets/s | pgbench commits/s, same clients | fleet / pgbench "
              "| CPU tool (s) | CPU server (s) | load |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for jobs in args.jobs:
            databases(server, names, "fleet_tpl")
            usage0, server0 = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(server)
            start = time.perf_counter()
            p = subprocess.run([args.binary, "up", "--targets", root / "targets.txt", "--jobs", str(jobs), "--format", "json",
                                "--dir", root / "migrations"], capture_output=True, text=True, cwd=root)
            elapsed = time.perf_counter() - start
            usage1, server1 = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(server)
            tool = usage1.ru_utime - usage0.ru_utime + usage1.ru_stime - usage0.ru_stime
            if p.returncode != 0:
                sys.exit(f"up failed ({p.returncode}):\n{p.stdout[:3000]}\n{p.stderr[:3000]}")
            doc = json.loads(p.stdout)
            migrations = doc["summary"]["migrations"]
            assert migrations == args.dbs * args.k, doc["summary"]
            tps = pgbench(server, jobs, args.pgbench_seconds)
            rate = migrations / elapsed
            print(f"| {jobs} | {elapsed:.2f} | {rate:.0f} | {args.dbs / elapsed:.1f} | {tps:.0f} | {rate / tps:.2f} "
                  f"| {tool:.2f} | {server1 - server0:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)
        # The default: what the tool picks from the cores and max_connections.
        databases(server, names, "fleet_tpl")
        start = time.perf_counter()
        p = subprocess.run([args.binary, "up", "--targets", root / "targets.txt", "--format", "json", "--dir", root / "migrations"],
                           capture_output=True, text=True, cwd=root)
        elapsed = time.perf_counter() - start
        doc = json.loads(p.stdout)
        print(f"default --jobs: {doc['jobs']} ({doc['summary']['migrations'] / elapsed:.0f} migrations/s, {elapsed:.2f} s)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
