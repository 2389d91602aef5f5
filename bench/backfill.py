#!/usr/bin/env python3
"""A batched backfill (`[backfill]` in metadata.toml) against one big UPDATE
of the same rows, each beside a writer session that updates random rows with
`lock_timeout = 1s`. Run by hand (release build):

    cargo build --release && python3 bench/backfill.py               # 10 M rows
    python3 bench/backfill.py --rows 2000000 --batch 10000

Both start from a copy of the same table (CREATE DATABASE … TEMPLATE). Prints
the time of each, the speed ratio, and what the writer met: writes done, the
longest wait of one write, and how many hit the lock_timeout.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, pg_bin, write  # noqa: E402

WRITER = """
DO $$ DECLARE r bigint; t0 timestamptz; worst interval := '0'; n int := 0; timeouts int := 0; BEGIN
  WHILE NOT EXISTS (SELECT FROM stop_flag) LOOP
    r := 1 + (random() * ({rows} - 1))::bigint;
    t0 := clock_timestamp();
    BEGIN
      UPDATE bf SET touched = touched + 1 WHERE id = r;
      n := n + 1;
    EXCEPTION WHEN lock_not_available THEN timeouts := timeouts + 1;
    END;
    worst := greatest(worst, clock_timestamp() - t0);
    COMMIT;
    PERFORM pg_sleep(0.005);
  END LOOP;
  INSERT INTO writer_result VALUES (n, timeouts, (extract(epoch FROM worst) * 1000)::int);
  COMMIT;
END $$;
"""


def start_writer(server, db, rows):
    return subprocess.Popen([server.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.url(db),
                             "-c", "SET lock_timeout = '1s'", "-c", WRITER.format(rows=rows)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop_writer(server, db, w):
    server.psql("INSERT INTO stop_flag VALUES (1)", db=db)
    _, err = w.communicate(timeout=120)
    if w.returncode != 0:
        print(err)
    return server.psql("SELECT writes || ' writes, longest ' || worst_ms || ' ms, ' || timeouts || ' lock_timeout(s)' "
                       "FROM writer_result", db=db)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    args = ap.parse_args()
    binary = REPO / "target" / "release" / "cargo-migrate"
    server = Server(pg_bin())
    try:
        server.fresh_db("base")
        t = time.perf_counter()
        server.psql(f"CREATE TABLE bf (id bigint PRIMARY KEY, n bigint NOT NULL, touched int NOT NULL DEFAULT 0); "
                    f"INSERT INTO bf (id, n) SELECT g, g FROM generate_series(1, {args.rows}) g; "
                    f"CREATE TABLE stop_flag (x int); CREATE TABLE writer_result (writes int, timeouts int, worst_ms int)",
                    db="base")
        server.psql("VACUUM ANALYZE bf", db="base")
        print(f"{args.rows} rows made in {time.perf_counter() - t:.1f} s")
        for db in ("one", "batched"):
            server.psql(f'CREATE DATABASE "{db}" TEMPLATE base')

        w = start_writer(server, "one", args.rows)
        time.sleep(1)
        t = time.perf_counter()
        server.psql("UPDATE bf SET n = n + 1", db="one")
        one = time.perf_counter() - t
        print(f"one UPDATE: {one:.1f} s; writer: {stop_writer(server, 'one', w)}")

        root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-backfill-"))
        d = root / "migrations/20250101000000_bump_n"
        write(d / "up.sql", "UPDATE bf SET n = n + 1;\n")
        write(d / "down.sql", "UPDATE bf SET n = n - 1;\n")
        write(d / "metadata.toml", f'run_in_transaction = false\n\n[backfill]\ntable = "bf"\nkey = "id"\nbatch_size = {args.batch}\n')
        w = start_writer(server, "batched", args.rows)
        time.sleep(1)
        t = time.perf_counter()
        subprocess.run([binary, "up", "--no-lint", "--dir", root / "migrations", "--database-url", server.url("batched")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        batched = time.perf_counter() - t
        print(f"batched ({args.batch} keys a batch): {batched:.1f} s; writer: {stop_writer(server, 'batched', w)}")
        bumped = server.psql("SELECT count(*) FROM bf WHERE n = id + 1", db="batched")
        print(f"speed of the batched backfill against one UPDATE: {one / batched * 100:.0f} %; rows bumped {bumped}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
