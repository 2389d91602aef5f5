#!/usr/bin/env python3
"""The SQL lexer on one large file, without a database: `lint --all` reads,
splits and checks a 16 MB migration (every statement boundary, the
transaction classification and the static checks), so its time is the
lexer's plus the parser's. Two mixes: the plain INSERTs of large_file.py, and
a mix of every construct the splitter must get right (dollar quotes, E''
strings with continuations, nested block comments, rules with parentheses).

    cargo build --release && python3 bench/split.py                 # 16 MB, 5 rounds
    python3 bench/split.py --binary OTHER --binary target/release/cargo-migrate

With several binaries, rounds alternate between them (paired, same file).
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from large_file import big_sql  # noqa: E402
from run import REPO, run_timed, write  # noqa: E402


def mixed_sql(mb):
    parts, size, i = ["CREATE TABLE t (id bigint, body text);\n"], 0, 0
    while size < mb * 1024 * 1024:
        stmt = [
            f"-- row {i}; é\nINSERT INTO t VALUES ({i}, 'it''s; {i}')",
            f"SELECT $${i}; $$, E'\\'; {i}'\n  ' continued; ' AS x",
            f"/* {i}; /* ; */ */ UPDATE \"t;\" SET body = $1 WHERE id = {i}",
            f"CREATE RULE r{i} AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)",
            f"SELECT $f$ {i} $$;$ $f$",
        ][i % 5] + ";\n"
        parts.append(stmt)
        size += len(stmt)
        i += 1
    return "".join(parts), i


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--binary", action="append", help="binaries to compare (default: target/release/cargo-migrate)")
    args = ap.parse_args()
    binaries = args.binary or [str(REPO / "target" / "release" / "cargo-migrate")]
    root = Path(tempfile.mkdtemp(prefix="cargo-migrate-bench-split-"))
    write(root / "Cargo.toml", '[package]\nname = "big"\nversion = "0.1.0"\nedition = "2021"\n[lib]\npath = "lib.rs"\n')
    write(root / "lib.rs", "")
    files = {"inserts": big_sql(args.mb), "mixed": mixed_sql(args.mb)}
    for name, (sql, _) in files.items():
        write(root / name / "20250101000000_big/up.sql", sql)
        write(root / name / "20250101000000_big/down.sql", "DROP TABLE big;\n")
    times = {(b, n): [] for b in binaries for n in files}
    rss = {(b, n): [] for b in binaries for n in files}
    for r in range(args.runs):
        for name in files:
            for b in binaries if r % 2 == 0 else list(reversed(binaries)):
                t, m, _ = run_timed([b, "lint", "--all", "--dir", root / name], cwd=root, check=False)
                times[(b, name)].append(t)
                rss[(b, name)].append(m or 0)
                print(f"round {r + 1}: {name}: {b}: {t:.3f} s, {m:.0f} MiB", flush=True)
    print(f"\nmedian of {args.runs}:\n\n| binary | file | statements | time (s) | peak RSS (MiB) |\n|---|---|---|---|---|")
    for (b, name), xs in times.items():
        print(f"| {Path(b).name} | {name} | {files[name][1]} | {statistics.median(xs):.3f} | {statistics.median(rss[(b, name)]):.0f} |")


if __name__ == "__main__":
    main()
