#!/usr/bin/env python3
"""Benchmark cargo-migrate against the physical floor (psql) and its peers.

Run by hand, never from the test suite:

    python3 bench/run.py                       # N = 100, 1000, 5000; 3 runs each
    python3 bench/run.py --n 1000 --runs 5
    python3 bench/run.py --install-peers       # diesel_cli, sqlx-cli, dbmate, node-pg-migrate
                                               # into bench/.peers first (minutes)

It starts its own throwaway PostgreSQL (initdb/pg_ctl from PG_BIN or the newest
/usr/lib/postgresql/*/bin; as the `postgres` user when run as root), writes N
identical realistic migrations per tool's format, and times whole commands.
Rounds are interleaved (every tool once per round, a fresh database each) and
ratios to the floor are taken pair by pair within a round, then the median,
because this machine is noisy. Peak RSS is the largest resident set of the
measured process tree (wait4). Results go to bench/RESULTS.md.
"""

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "bench" / ".peers"


# ---------------------------------------------------------------- helpers

GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def run_timed(cmd, cwd=None, env=None, check=True):
    """(seconds, peak RSS in MiB, stdout+stderr) of one command.

    Peak RSS comes from GNU time (`apt-get install time`): a process forked
    from this Python inherits Python's own high-water mark, so wait4's figure
    would be Python's size. The time measured includes GNU time's fork (~1 ms),
    the same for every tool."""
    rss_file = tempfile.NamedTemporaryFile(prefix="bench-rss-", delete=False)
    rss_file.close()
    full = ["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *map(str, cmd)] if GNU_TIME else list(map(str, cmd))
    start = time.perf_counter()
    proc = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    text = proc.stdout.decode(errors="replace")
    try:
        rss = int(Path(rss_file.name).read_text().strip().splitlines()[-1]) / 1024.0 if GNU_TIME else None
    except (ValueError, IndexError):
        rss = None
    os.unlink(rss_file.name)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{text[-3000:]}")
    return elapsed, rss, text


def pg_bin():
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not dirs:
        sys.exit("no PostgreSQL binaries: install postgresql or set PG_BIN")
    return dirs[-1]


def as_server_user():
    if os.geteuid() != 0:
        return {}
    import pwd
    pw = pwd.getpwnam("postgres")

    def demote():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return {"preexec_fn": demote}


class Server:
    def __init__(self, bin_dir):
        self.bin = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-"))
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self.data = self.base / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        subprocess.run([self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                        "--locale=C"], check=True, stdout=subprocess.DEVNULL, **as_server_user())
        opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        subprocess.run([self.bin / "pg_ctl", "-D", self.data, "-l", self.base / "log", "-w", "-o", opts, "start"],
                       check=True, stdout=subprocess.DEVNULL, **as_server_user())
        self.admin = self.url("postgres")

    def url(self, db):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="postgres"):
        return subprocess.run([self.bin / "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", self.url(db), "-c", sql],
                              check=True, capture_output=True, text=True).stdout.strip()

    def fresh_db(self, name):
        self.psql(f'DROP DATABASE IF EXISTS "{name}"')
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def version(self):
        return self.psql("SHOW server_version")

    def stop(self):
        subprocess.run([self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_server_user())
        shutil.rmtree(self.base, ignore_errors=True)


# ---------------------------------------------------------------- migrations

def version(i):
    # 2025-01-01 00:00:00 plus i seconds, as YYYYMMDDHHMMSS.
    t = time.gmtime(1735689600 + i)
    return time.strftime("%Y%m%d%H%M%S", t)


def up_sql(i):
    return (f"CREATE TABLE t{i} (\n"
            f"  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
            f"  owner uuid NOT NULL,\n"
            f"  body text,\n"
            f"  created_at timestamptz NOT NULL DEFAULT now(),\n"
            f"  updated_at timestamptz NOT NULL DEFAULT now()\n"
            f");\n"
            f"CREATE INDEX t{i}_owner_idx ON t{i} (owner);\n"
            f"ALTER TABLE t{i} ENABLE ROW LEVEL SECURITY;\n"
            f"CREATE POLICY t{i}_owner ON t{i} FOR ALL USING (owner = current_setting('app.user', true)::uuid);\n")


def down_sql(i):
    return f"DROP TABLE t{i};\n"


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def generate(root, n):
    """Every tool's layout for the same N migrations, under root."""
    if root.exists():
        shutil.rmtree(root)
    write(root / "Cargo.toml", '[package]\nname = "bench"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
    write(root / "src/lib.rs", "")
    write(root / "diesel.toml", '[migrations_directory]\ndir = "migrations"\n')
    floor_up, floor_down = [], []
    for i in range(n):
        v, up, down = version(i), up_sql(i), down_sql(i)
        write(root / f"migrations/{v}_create_t{i}/up.sql", up)
        write(root / f"migrations/{v}_create_t{i}/down.sql", down)
        write(root / f"sqlx/{v}_create_t{i}.up.sql", up)
        write(root / f"sqlx/{v}_create_t{i}.down.sql", down)
        write(root / f"dbmate/{v}_create_t{i}.sql", f"-- migrate:up\n{up}\n-- migrate:down\n{down}")
        write(root / f"npm/{v}_create_t{i}.sql", f"-- Up Migration\n{up}\n-- Down Migration\n{down}")
        floor_up.append(f"BEGIN;\n{up}COMMIT;\n")
        floor_down.append(f"BEGIN;\n{down}COMMIT;\n")
    write(root / "floor_up.sql", "".join(floor_up))
    write(root / "floor_down.sql", "".join(reversed(floor_down)))


# ---------------------------------------------------------------- tools

class Tool:
    """name, and the four commands: apply, status, noop, revert (None = not supported)."""

    def __init__(self, name, version_text, apply, status, noop, revert, env=None, status_direct=None, noop_direct=None):
        self.status_direct, self.noop_direct = status_direct, noop_direct
        self.name, self.version_text = name, " ".join(version_text.replace("Version:", "").split()).split(" Supported")[0]
        self.apply, self.status, self.noop, self.revert = apply, status, noop, revert
        self.env = env


def tools(server, root, n, with_peers):
    psql = server.bin / "psql"
    release = REPO / "target" / "release"
    env = dict(os.environ, PATH=f"{release}:{os.environ['PATH']}")
    env.pop("DATABASE_URL", None)
    found = []

    def url_env(url, extra=None):
        e = dict(env, DATABASE_URL=url)
        e.update(extra or {})
        return e

    found.append(Tool(
        "psql (floor)", server.version(),
        apply=lambda url: ([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", root / "floor_up.sql"], None),
        # The floor for reading: one query of the versions a tool keeps.
        status=lambda url: ([psql, "-X", "-qAt", "-d", url, "-c", "select version from __diesel_schema_migrations"], None),
        noop=lambda url: ([psql, "-X", "-qAt", "-d", url, "-c", "select version from __diesel_schema_migrations"], None),
        revert=lambda url: ([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", root / "floor_down.sql"], None),
    ))
    # What no client can beat on this server: the floor's statements with no
    # WAL flush at any commit. The fleet issue's 0.5x target assumes the floor
    # is mostly fsync'd commits; this row says how much of it is.
    unflushed = dict(os.environ, PGOPTIONS="-c synchronous_commit=off")
    found.append(Tool(
        "psql, no commit flushed (limit)", server.version(),
        apply=lambda url: ([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", root / "floor_up.sql"], unflushed),
        status=None, noop=None,
        revert=lambda url: ([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", root / "floor_down.sql"], unflushed),
    ))
    cm_version = subprocess.run([release / "cargo-migrate", "--version"], capture_output=True, text=True).stdout.strip()
    # Apply and revert call the binary itself, so that peak RSS is ours and not
    # cargo's (its dispatch adds ~15 ms to runs of seconds); status and the
    # no-op up go through `cargo migrate`, as users call them.
    cm = str(release / "cargo-migrate")
    found.append(Tool(
        "cargo migrate", cm_version,
        apply=lambda url: ([cm, "up", "-q"], url_env(url)),
        status=lambda url: (["cargo", "migrate", "status"], url_env(url)),
        noop=lambda url: (["cargo", "migrate", "up"], url_env(url)),
        revert=lambda url: ([cm, "down", "--all", "-q"], url_env(url)),
        status_direct=lambda url: ([cm, "status"], url_env(url)),
        noop_direct=lambda url: ([cm, "up"], url_env(url)),
    ))
    found.append(Tool(
        "cargo migrate --single-transaction", cm_version,
        apply=lambda url: ([cm, "up", "-q", "--single-transaction"], url_env(url)),
        status=None, noop=None,
        revert=lambda url: ([cm, "down", "--all", "-q", "--single-transaction"], url_env(url)),
    ))
    if not with_peers:
        return found
    diesel = PEERS / "cargo/bin/diesel"
    if diesel.exists():
        v = subprocess.run([diesel, "--version"], capture_output=True, text=True).stdout.strip()
        found.append(Tool(
            "diesel_cli", v,
            apply=lambda url: ([diesel, "migration", "run"], url_env(url)),
            status=lambda url: ([diesel, "migration", "list"], url_env(url)),
            noop=lambda url: ([diesel, "migration", "run"], url_env(url)),
            revert=lambda url: ([diesel, "migration", "revert", "--all"], url_env(url)),
        ))
    sqlx = PEERS / "cargo/bin/sqlx"
    if sqlx.exists():
        v = subprocess.run([sqlx, "--version"], capture_output=True, text=True).stdout.strip()
        src = ["--source", str(root / "sqlx")]
        found.append(Tool(
            "sqlx-cli", v,
            apply=lambda url: ([sqlx, "migrate", "run", *src], url_env(url)),
            status=lambda url: ([sqlx, "migrate", "info", *src], url_env(url)),
            noop=lambda url: ([sqlx, "migrate", "run", *src], url_env(url)),
            revert=lambda url: ([sqlx, "migrate", "revert", "--target-version", "0", *src], url_env(url)),
        ))
    # The npm package's launcher is a Node script around a native binary: time the binary.
    native = sorted((PEERS / "npm/node_modules/@dbmate").glob("*/bin/dbmate"))
    dbmate = native[0] if native else PEERS / "npm/node_modules/.bin/dbmate"
    if dbmate.exists():
        v = subprocess.run([dbmate, "--version"], capture_output=True, text=True).stdout.strip()
        dbmate_args = ["--no-dump-schema", "--migrations-dir", str(root / "dbmate")]
        found.append(Tool(
            "dbmate", v,
            apply=lambda url: ([dbmate, *dbmate_args, "up"], url_env(url + "?sslmode=disable")),
            status=lambda url: ([dbmate, *dbmate_args, "status"], url_env(url + "?sslmode=disable")),
            noop=lambda url: ([dbmate, *dbmate_args, "up"], url_env(url + "?sslmode=disable")),
            revert=None,  # dbmate rolls back one at a time only
        ))
    npm_bin = PEERS / "npm/node_modules/.bin/node-pg-migrate"
    if npm_bin.exists():
        v = "node-pg-migrate " + subprocess.run(["node", "-p", "require('node-pg-migrate/package.json').version"],
                                               cwd=PEERS / "npm", capture_output=True, text=True).stdout.strip()
        npm_args = ["-m", str(root / "npm"), "--no-check-order", "--migration-file-language", "sql"]
        found.append(Tool(
            "node-pg-migrate", v,
            # One transaction per migration: its default single transaction runs out of locks at 5000.
            apply=lambda url: ([npm_bin, "up", *npm_args, "--no-single-transaction"], url_env(url)),
            status=None,  # no status command: `up --dry-run` is the nearest
            noop=lambda url: ([npm_bin, "up", *npm_args], url_env(url)),
            revert=lambda url: ([npm_bin, "down", str(n), *npm_args, "--no-single-transaction"], url_env(url)),
        ))
    return found


def install_peers():
    PEERS.mkdir(parents=True, exist_ok=True)
    build = {"CARGO_TARGET_DIR": str(PEERS / "build")}
    steps = [
        (["cargo", "install", "diesel_cli", "--no-default-features", "--features", "postgres", "--root", PEERS / "cargo"], build),
        (["cargo", "install", "sqlx-cli", "--no-default-features", "--features", "postgres,rustls", "--root", PEERS / "cargo"], build),
        (["npm", "install", "--prefix", PEERS / "npm", "--no-audit", "--no-fund", "dbmate", "node-pg-migrate", "pg"], {}),
    ]
    for cmd, extra in steps:
        print("installing:", " ".join(map(str, cmd)), flush=True)
        r = subprocess.run(cmd, env=dict(os.environ, **extra))
        if r.returncode != 0:
            print(f"  skipped (exit {r.returncode})", flush=True)


# ---------------------------------------------------------------- measuring

OPS = ["apply", "status", "noop", "revert"]
# For cargo migrate only: status and the no-op up from the binary itself,
# without cargo's dispatch (peers are called directly too).
DIRECT_OPS = ["status_direct", "noop_direct"]


def measure(server, root, n, runs, with_peers):
    """results[tool][op] = list of (seconds, rss) per run, and ratio lists."""
    ts = tools(server, root, n, with_peers)
    # results[tool][op][round + 1] = (seconds, rss); round -1 is the warm-up.
    results = {t.name: {op: [(None, None)] * (runs + 1) for op in OPS + DIRECT_OPS} for t in ts}
    # A discarded warm-up round (WAL segments, caches), then rounds whose tool
    # order rotates, so that no tool always runs first or last.
    for r in range(-1, runs):
        order = ts[r % len(ts):] + ts[:r % len(ts)] if r >= 0 else ts
        for t in order:
            url = server.fresh_db(f"b_{n}_{r}_{abs(hash(t.name)) % 10000}")
            for op in ["apply", "status", "noop", *DIRECT_OPS, "revert"]:
                make = getattr(t, op)
                if make is None:
                    continue
                if t.name == "psql (floor)" and op in ("status", "noop"):
                    # Read the versions cargo-migrate would read: make the table exist here.
                    server.psql("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version varchar(50) PRIMARY KEY, "
                                "run_on timestamp NOT NULL DEFAULT now())", db=url.rsplit("/", 1)[1])
                    server.psql(f"INSERT INTO __diesel_schema_migrations SELECT to_char(timestamp '2025-01-01' + "
                                f"make_interval(secs => g), 'YYYYMMDDHH24MISS') FROM generate_series(0, {n - 1}) g "
                                f"ON CONFLICT DO NOTHING", db=url.rsplit("/", 1)[1])
                cmd, env = make(url)
                try:
                    secs, rss, _ = run_timed(cmd, cwd=root, env=env)
                except RuntimeError as e:
                    print(f"  {t.name} {op} N={n}: FAILED\n{e}", flush=True)
                    reason = "out of locks" if "out of shared memory" in str(e) else "failed"
                    results[t.name][op][r + 1] = (reason, None)
                    break
                results[t.name][op][r + 1] = (secs, rss)
                if op == "apply":
                    # The first session after thousands of DDL statements pays the
                    # server's catalog-cache rebuild (~30-40 ms), whichever tool
                    # opens it: take it here, untimed, for every tool alike.
                    server.psql("SELECT 1", db=url.rsplit("/", 1)[1])
            if r < 0:
                continue
            print(f"  N={n} round {r + 1}: {t.name}: " + ", ".join(
                f"{op} {results[t.name][op][r + 1][0]:.3f}s" for op in OPS
                if isinstance(results[t.name][op][r + 1][0], float)), flush=True)
    # Drop the warm-up round; an op a tool lacks has no results at all.
    for t in ts:
        for op in OPS + DIRECT_OPS:
            kept = results[t.name][op][1:]
            results[t.name][op] = kept if any(x[0] is not None for x in kept) or getattr(t, op) else []
    return ts, results


def median_ratio(ours, floor):
    pairs = [a[0] / b[0] for a, b in zip(ours, floor) if isinstance(a[0], float) and isinstance(b[0], float)]
    return statistics.median(pairs) if pairs else None


def local_db_start(runs):
    """Cold (first `cargo migrate up` in a fresh clone: initdb, start, prepare, apply)
    and warm (cluster exists but is stopped) and hot (it runs) start times."""
    release = REPO / "target" / "release"
    env = dict(os.environ, PATH=f"{release}:{os.environ['PATH']}")
    env.pop("DATABASE_URL", None)
    cold, warm, hot = [], [], []
    for _ in range(runs):
        root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-local-"))
        write(root / "Cargo.toml", '[package]\nname = "fresh"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
        write(root / "src/lib.rs", "")
        write(root / "migrations/20250101000000_create_t0/up.sql", up_sql(0))
        write(root / "migrations/20250101000000_create_t0/down.sql", down_sql(0))
        try:
            cold.append(run_timed(["cargo", "migrate", "up", "-q"], cwd=root, env=env))
            hot.append(run_timed(["cargo", "migrate", "status"], cwd=root, env=env))
            run_timed(["cargo", "migrate", "local", "stop", "-q"], cwd=root, env=env)
            warm.append(run_timed(["cargo", "migrate", "status"], cwd=root, env=env))
        finally:
            subprocess.run(["cargo", "migrate", "local", "stop", "-q"], cwd=root, env=env, capture_output=True)
            shutil.rmtree(root, ignore_errors=True)
    return cold, warm, hot


def fmt_s(xs):
    vals = [x[0] for x in xs if isinstance(x[0], float)]
    if vals:
        return f"{statistics.median(vals):.3f}"
    reasons = {x[0] for x in xs if isinstance(x[0], str)}
    return ", ".join(sorted(reasons)) if reasons else "–"


def fmt_rss(xs):
    vals = [x[1] for x in xs if x[1] is not None]
    return f"{max(vals):.1f}" if vals else "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="100,1000,5000", help="comma-separated migration counts")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--install-peers", action="store_true", help="install the peers into bench/.peers first")
    ap.add_argument("--no-peers", action="store_true", help="only psql and cargo-migrate")
    ap.add_argument("--out", default=str(REPO / "bench" / "RESULTS.md"))
    args = ap.parse_args()

    if args.install_peers:
        install_peers()
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=REPO, check=True)
    server = Server(pg_bin())
    work = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-work-"))
    lines = []
    try:
        ns = [int(x) for x in args.n.split(",")]
        tables = []
        for n in ns:
            root = work / f"n{n}"
            generate(root, n)
            print(f"N={n}: measuring", flush=True)
            ts, res = measure(server, root, n, args.runs, not args.no_peers)
            tables.append((n, ts, res))
        cold, warm, hot = local_db_start(args.runs)
        versions = {t.name: t.version_text for _, ts, _ in tables for t in ts}
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    floor = "psql (floor)"
    lines.append("# Benchmark results\n")
    lines.append(f"Made by `python3 bench/run.py --n {args.n} --runs {args.runs}` on {time.strftime('%Y-%m-%d')}.\n")
    lines.append(f"Machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, "
                 f"{platform.system()} {platform.release()}; PostgreSQL {versions.get(floor)} on loopback "
                 f"(default settings: fsync on).\n")
    lines.append("Versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items() if k != floor) + ".\n")
    lines.append("Each migration: a table with a uuid primary key and timestamps, an index, ENABLE ROW LEVEL SECURITY "
                 "and one policy; its down drops the table. Median seconds over the runs; peak RSS of the process "
                 "tree in MiB (GNU time: the largest process); ratio = median of the per-round "
                 "ratios to psql in the same round. `status` and the no-op `up` run through `cargo migrate`, cargo's "
                 "dispatch included (peak RSS is then cargo's, the largest process); apply and revert call the "
                 "`cargo-migrate` binary, so their RSS is its own. The floor for status is one "
                 "`psql -c 'select version from …'`. A round runs every tool once, in rotating order, on fresh "
                 "databases, after a discarded warm-up round. After each apply one untimed `psql -c 'SELECT 1'` "
                 "lets the server rebuild its catalog cache, which the first session after thousands of DDL "
                 "statements pays (30–40 ms), whichever tool opens it.\n")
    for n, ts, res in tables:
        lines.append(f"\n## N = {n}\n")
        lines.append("| tool | apply all (s) | ratio | status (s) | ratio | no-op up (s) | ratio | revert all (s) | ratio | peak RSS (MiB) |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for t in ts:
            row = [t.name]
            for op in OPS:
                xs = res[t.name][op]
                row.append(fmt_s(xs) if xs else "–")
                ratio = median_ratio(xs, res[floor][op]) if xs and t.name != floor else None
                row.append(f"{ratio:.3f}×" if ratio else ("1×" if t.name == floor and xs else "–"))
            rss = max((float(fmt_rss(res[t.name][op])) for op in OPS if fmt_rss(res[t.name][op]) != "–"), default=None)
            row.append(f"{rss:.1f}" if rss else "–")
            lines.append("| " + " | ".join(row) + " |")
            if res[t.name]["status_direct"]:
                direct = ["`cargo-migrate` binary, no cargo dispatch", "–", "–"]
                for op in DIRECT_OPS:
                    xs = res[t.name][op]
                    ratio = median_ratio(xs, res[floor][op.replace("_direct", "")])
                    direct += [fmt_s(xs), f"{ratio:.3f}×" if ratio else "–"]
                direct += ["–", "–", fmt_rss(res[t.name]["status_direct"])]
                lines.append("| " + " | ".join(direct) + " |")
        ours = res["cargo migrate"]["apply"]
        if ours and ours[0][0]:
            lines.append(f"\nPer migration, cargo migrate apply: {statistics.median(x[0] for x in ours) / n * 1000:.2f} ms.")
    lines.append("\n## Local development database\n")
    lines.append("| start | median (s) | peak RSS (MiB) |")
    lines.append("|---|---|---|")
    lines.append(f"| cold: first `cargo migrate up` in a fresh clone (initdb, start, prepare like Supabase, apply 1) | {fmt_s(cold)} | {fmt_rss(cold)} |")
    lines.append(f"| warm: cluster exists but stopped (`cargo migrate status` starts it) | {fmt_s(warm)} | {fmt_rss(warm)} |")
    lines.append(f"| hot: cluster running (`cargo migrate status`) | {fmt_s(hot)} | {fmt_rss(hot)} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
