# Sourced by the scripts: make sure PostgreSQL's server binaries (for the
# test harness and the example's database) and libpq (which diesel links) are
# here; install them from Debian's packages when we can.
ensure_prereqs() {
  local have_server=0
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then have_server=1; fi
  local f have_libpq=0
  for f in /usr/lib/postgresql/*/bin/initdb; do [ -x "$f" ] && have_server=1; done
  for f in /usr/lib/*/libpq.so /usr/lib/libpq.so /usr/local/lib/libpq.so; do [ -e "$f" ] && have_libpq=1; done
  local have_openssl=0
  command -v openssl >/dev/null && have_openssl=1
  if [ "$have_server" = 1 ] && [ "$have_libpq" = 1 ] && [ "$have_openssl" = 1 ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL server, libpq-dev and openssl (apt-get)..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql libpq-dev openssl >/dev/null
  else
    echo "error: PostgreSQL server binaries (initdb, pg_ctl), libpq and openssl are needed" >&2
    echo "hint: install them, e.g. \`sudo apt-get install postgresql libpq-dev\` or \`brew install postgresql\`, or set PG_BIN" >&2
    return 1
  fi
}
