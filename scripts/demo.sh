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

scripts/with-worker.sh bin/cfa demo
echo "worker log: .data/worker.log   Temporal UI: http://127.0.0.1:8233   audit export: .data/demo-audit.jsonl"
