#!/usr/bin/env bash
# Makes sure a Postgres answers at PGHOST:PGPORT (default 127.0.0.1:5432).
# Order: one already answers → use it; else start a private cluster from
# locally installed binaries in .data/pg (git-ignored); else, with
# --install (CI) and root, install Debian's postgresql first; else say how.
set -euo pipefail
host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data/pg"

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if answers; then
  echo "postgres: answering at $host:$port"
  exit 0
fi

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bindir=$(find_bin || true)
if [ -z "$bindir" ] && [ "${1:-}" = "--install" ] && [ "$(id -u)" = 0 ]; then
  echo "postgres: nothing at $host:$port and no binaries; installing Debian's postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bindir=$(find_bin)
fi
if [ -z "$bindir" ]; then
  cat >&2 <<MSG
postgres: nothing answers at $host:$port and no Postgres binaries are installed.
  Either point DATABASE_URL at a running server, or install one:
    sudo apt-get install postgresql     (Debian/Ubuntu; then re-run)
    docker compose up -d postgres       (with Docker; see docker-compose.yaml)
MSG
  exit 1
fi

# A private cluster: trust auth, listening only on loopback.
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$root/.data/pg"
if [ ! -f "$data/PG_VERSION" ]; then
  echo "postgres: initialising a private cluster in $data"
  run "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
echo "postgres: starting private cluster from $bindir on $host:$port"
run "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
  -o "-c listen_addresses=$host -p $port -k /tmp -c fsync=off -c synchronous_commit=off" start >/dev/null
for _ in $(seq 1 60); do answers && break; sleep 0.5; done
answers || { echo "postgres: private cluster did not come up; see $data/server.log" >&2; exit 1; }
run "$bindir/psql" -h "$host" -p "$port" -U postgres -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || run "$bindir/psql" -h "$host" -p "$port" -U postgres -d postgres -qc "CREATE DATABASE test" >/dev/null
echo "postgres: answering at $host:$port"
