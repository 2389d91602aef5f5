#!/usr/bin/env python3
"""One large migration file against psql: the cost of reading, splitting and
sending it, with and without a transaction. Run by hand:

    cargo build --release && python3 bench/large_file.py            # 16 MB, 3 rounds
    python3 bench/large_file.py --mb 100 --runs 1

Outside a transaction (`run_in_transaction = false`) cargo-migrate sends the
file statement by statement, recording its progress with each statement, as
`psql -f` sends it statement by statement in autocommit; in a transaction it
sends the file in one round trip, as `psql -1 -f` does not (psql still splits
and sends statement by statement, in one transaction). Peak RSS by GNU time.
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, Server, pg_bin, run_timed, write  # noqa: E402


def big_sql(mb):
    rows, size, i = [], 0, 0
    while size < mb * 1024 * 1024:
        # Quotes, a comment and a parenthesis: the splitter's ordinary work.
        line = f"INSERT INTO big (id, body) VALUES ({i}, 'row {i}; with a ''quote'' and (parens)'); -- n{i}\n"
        rows.append(line)
        size += len(line)
        i += 1
    return "CREATE TABLE big (id bigint PRIMARY KEY, body text);\n" + "".join(rows), i


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-slow", action="store_true", help="only cargo-migrate in one transaction, with and without lint")
    args = ap.parse_args()
    binary = REPO / "target" / "release" / "cargo-migrate"
    server = Server(pg_bin())
    root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-big-"))
    sql, statements = big_sql(args.mb)
    # The project cargo-migrate runs in (deploys without cargo are another issue).
    write(root / "Cargo.toml", '[package]\nname = "big"\nversion = "0.1.0"\nedition = "2021"\n[lib]\npath = "lib.rs"\n')
    write(root / "lib.rs", "")
    write(root / "big.sql", sql)
    write(root / "plain/20250101000000_big/up.sql", sql)
    write(root / "plain/20250101000000_big/down.sql", "DROP TABLE big;\n")
    write(root / "notx/20250101000000_big/up.sql", sql)
    write(root / "notx/20250101000000_big/down.sql", "DROP TABLE big;\n")
    write(root / "notx/20250101000000_big/metadata.toml", "run_in_transaction = false\n")
    psql = server.bin / "psql"
    cases = {
        "psql -f (autocommit, statement by statement)": lambda url: [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", root / "big.sql"],
        "cargo-migrate up, run_in_transaction = false": lambda url: [binary, "up", "-q", "--dir", root / "notx", "--database-url", url],
        "psql -1 -f (one transaction)": lambda url: [psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", root / "big.sql"],
        "cargo-migrate up (one transaction)": lambda url: [binary, "up", "-q", "--dir", root / "plain", "--database-url", url],
        "cargo-migrate up --no-lint (one transaction)": lambda url: [binary, "up", "-q", "--no-lint", "--dir", root / "plain", "--database-url", url],
    }
    if args.skip_slow:
        for k in [k for k in cases if "statement by statement" in k or "= false" in k or "psql -1" in k]:
            del cases[k]
    times = {k: [] for k in cases}
    rss = {k: [] for k in cases}
    try:
        for r in range(args.runs):
            for k, cmd in cases.items():
                url = server.fresh_db(f"big{r}")
                t, m, _ = run_timed(cmd(url), cwd=root)
                times[k].append(t)
                rss[k].append(m or 0)
                print(f"round {r + 1}: {k}: {t:.2f} s, {m:.0f} MiB", flush=True)
    finally:
        server.stop()
    size = len(sql.encode()) / 1024 / 1024
    print(f"\n{size:.1f} MiB, {statements} statements, median of {args.runs}:\n")
    print("| command | time (s) | peak RSS (MiB) |\n|---|---|---|")
    for k in cases:
        print(f"| {k} | {statistics.median(times[k]):.2f} | {max(rss[k]):.0f} |")


if __name__ == "__main__":
    main()
