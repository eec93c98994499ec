#!/usr/bin/env bash
# make demo: start what is missing, migrate, run a worker, run the governed
# scenarios end to end, stop the worker. Temporal (if started here) stays up
# so the runs can be browsed at http://127.0.0.1:8233; `make stop` ends it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cfa?sslmode=disable}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}

scripts/ensure-postgres.sh
scripts/ensure-temporal.sh
bin/cfa migrate

mkdir -p .data
bin/cfa-worker >.data/worker.log 2>&1 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  grep -q '"worker started"' .data/worker.log && break
  kill -0 $worker 2>/dev/null || { echo "worker exited:"; cat .data/worker.log; exit 1; }
  sleep 0.25
done
grep -q '"worker started"' .data/worker.log || { echo "worker did not start in 30 s:"; tail -20 .data/worker.log; exit 1; }

bin/cfa demo
echo "worker log: .data/worker.log   Temporal UI: http://127.0.0.1:8233   audit export: .data/demo-audit.jsonl"
