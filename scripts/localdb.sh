#!/usr/bin/env bash
# Project-local PostgreSQL 15 cluster with plpython3u (the default database).
#   scripts/localdb.sh start   initdb if needed, start if stopped (idempotent)
#   scripts/localdb.sh stop | status
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# `postgres` OS user; its data lives in .local/ (git-ignored) unless that folder
# is not reachable by that user, then under /var/tmp.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PORT="${SES_LOCAL_PGPORT:-54329}"
STATE="$ROOT/.local"
PYLIB="$STATE/pylib"          # UDF wheels, installed by `make setup`

run_as_db_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Where the cluster lives: the project folder when the db user can reach it.
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$ROOT/python_udfs" 2>/dev/null; then
  CLUSTER="/var/tmp/ses_match-$(printf '%s' "$ROOT" | md5sum | cut -c1-8)"
else
  CLUSTER="$STATE/cluster"
fi
DATA="$CLUSTER/data"
SOCK="$CLUSTER/sock"
LOG="$CLUSTER/postgres.log"
# The server imports our UDF helpers and their wheels; it must be able to read them.
SERVER_PYTHONPATH="$CLUSTER/udf_src:$PYLIB"

ensure_plpython() {
  if [ -e "$("$PGBIN/pg_config" --pkglibdir)/plpython3.so" ]; then return; fi
  if [ "$(id -u)" != 0 ]; then
    echo "plpython3u is missing: install postgresql-plpython3-15 (needs root)" >&2; exit 1
  fi
  echo "installing postgresql-plpython3-15 ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-plpython3-15 >/dev/null
}

sync_udf_source() {
  # The server reads a copy so it never needs access to the checkout itself.
  mkdir -p "$CLUSTER/udf_src"
  rm -rf "$CLUSTER/udf_src/ses_udf"
  cp -r "$ROOT/python_udfs/ses_udf" "$CLUSTER/udf_src/ses_udf"
  find "$CLUSTER/udf_src" -name __pycache__ -prune -exec rm -rf {} +
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$CLUSTER/udf_src"; fi
}

is_running() { run_as_db_user "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  ensure_plpython
  mkdir -p "$CLUSTER" "$SOCK"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$CLUSTER" "$SOCK"
    [ -d "$PYLIB" ] && chmod -R a+rX "$PYLIB"
    # postgres must traverse to the pylib; harmless read/exec bits only.
    d="$PYLIB"; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [ ! -s "$DATA/PG_VERSION" ]; then
    echo "initdb $DATA"
    run_as_db_user "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$DATA/postgresql.conf" <<CONF
# ses_match local cluster
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 60
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 512MB
timezone = 'Asia/Tokyo'
CONF
  fi
  sync_udf_source
  if is_running; then
    # A running server keeps its env; restart only if it predates this layout.
    if ! grep -q "$CLUSTER/udf_src" "$CLUSTER/server.env" 2>/dev/null; then stop; else echo "local PostgreSQL already running on port $PORT"; return; fi
  fi
  echo "PYTHONPATH=$SERVER_PYTHONPATH" > "$CLUSTER/server.env"
  run_as_db_user env PYTHONPATH="$SERVER_PYTHONPATH" "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null
  echo "local PostgreSQL started on 127.0.0.1:$PORT (data: $DATA)"
}

stop() {
  if is_running; then run_as_db_user "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; echo "stopped"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  sync) sync_udf_source ;;
  status) if is_running; then echo "running on port $PORT ($DATA)"; else echo "not running"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status|sync" >&2; exit 2 ;;
esac
