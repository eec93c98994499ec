#!/usr/bin/env bash
# make demo: start what is missing, recreate the demo's own database, run a
# worker on it, run the governed scenarios end to end, stop the worker.
# Temporal (if started here) stays up so the runs can be browsed at
# http://127.0.0.1:8233; `make stop` ends it.
#
# Usage: scripts/demo.sh [CFA-DEMO COMMAND [FLAGS]]   (default: run)
#   scripts/demo.sh                  the scenarios (make demo)
#   scripts/demo.sh bench --n 50     end-to-end latency (make bench-e2e)
#   scripts/demo.sh throughput       intents/s with 1 and 2 workers (make bench-throughput)
#
# The demo never uses DATABASE_URL (an operator's database): it runs on a
# database of its own, CFA_DEMO_DATABASE_URL (default cfa_demo on the local
# server, a name that must end in _demo), dropped and created empty on every
# run, before the worker connects to it. That URL logs in as a superuser,
# which sets up the roles (docs/roles.md) and migrates as cfa_owner; the
# worker, the demo and the CLI then log in as cfa_worker and the units as
# cfa_sandbox, on the same server and database (the local server trusts
# local logins). `run` also recreates a second database, the replica the
# context plane is synced into: the same name with _replica before _demo
# (cfa_replica_demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
admin_url=${CFA_DEMO_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cfa_demo?sslmode=disable}
# as_user URL USER: URL logging in as USER, with no password.
as_user() { printf '%s' "$1" | sed -E "s#^(postgres(ql)?://)([^@/]*@)?#\1$2@#"; }
export DATABASE_URL
DATABASE_URL=$(as_user "$admin_url" "${CFA_WORKER_ROLE:-cfa_worker}")
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
[ $# -gt 0 ] || set -- run

scripts/ensure-postgres.sh
scripts/ensure-temporal.sh
# The scenarios end by syncing the context plane into a second database,
# NAME_replica_demo on the same server: recreated here too.
replica=()
[ "$1" != run ] || replica=(--replica)
CFA_MIGRATE_DATABASE_URL=$admin_url bin/cfa-demo reset-database ${replica[@]+"${replica[@]}"}

if [ "$1" = throughput ]; then
  bin/cfa-demo "$@" # starts and stops its own workers, 1 then 2
else
  scripts/with-worker.sh bin/cfa-demo "$@"
fi
if [ "$1" = run ]; then
  echo "worker log: .data/worker.log   Temporal UI: http://127.0.0.1:8233   audit export: .data/demo-audit.jsonl   checkpoint: .data/demo-checkpoint.txt"
  echo "demo database: $DATABASE_URL (recreated on every run; read it with DATABASE_URL='$DATABASE_URL' bin/cfa list)"
fi
