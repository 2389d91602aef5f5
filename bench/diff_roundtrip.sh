#!/bin/bash
# bench/diff_roundtrip.sh NAME MIRROR_GIT_DIR (a bare clone in /tmp, never committed): migrations -> local db A; pg_dump -n public -> declared; diff must be empty
set -u
name=$1; git_dir=$2
d=/tmp/rt-$name; rm -rf $d; mkdir -p $d/src $d/supabase/migrations $d/supabase/schemas
printf '[package]\nname = "rt"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n' > $d/Cargo.toml; touch $d/src/lib.rs
for f in $(git --git-dir=$git_dir ls-tree -r --name-only HEAD | grep -E '^supabase/migrations/[0-9].*\.sql$'); do
  git --git-dir=$git_dir show HEAD:$f > $d/$f
done
cd $d
export XDG_CACHE_HOME=$d/.cache CARGO_TARGET_DIR=$d/target
BIN=${BIN:-/work/wt/diff/target/debug/cargo-migrate}
$BIN migrate up > up.log 2>&1 || { echo "$name: up failed: $(grep -m1 error up.log)"; exit 1; }
URL=$($BIN migrate local url --show-password)
/usr/lib/postgresql/15/bin/pg_dump --schema-only -n public "$URL" | sed '/^\\/d; s/^CREATE SCHEMA public;/CREATE SCHEMA IF NOT EXISTS public;/' > supabase/schemas/dump.sql
start=$(date +%s.%N)
$BIN migrate diff --dry-run --format json > diff.json 2> diff.err
end=$(date +%s.%N)
python3 - "$name" "$start" "$end" <<'PY'
import json,sys
name,start,end=sys.argv[1],float(sys.argv[2]),float(sys.argv[3])
try:
    j=json.load(open('diff.json'))
except Exception:
    print(name, "diff failed:", open('diff.err').read()[:300]); sys.exit()
up=[l for l in j.get('up','').splitlines() if l.strip()]
print(f"{name}: changes={j.get('changes')} statements={len(up)} time={end-start:.1f}s")
for l in up[:15]: print("   ", l[:160])
PY
