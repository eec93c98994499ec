#!/usr/bin/env bash
# Runs "$@" while a cfa-worker runs in the background (log in .data/), then
# stops the worker with SIGTERM. Waits for the worker's "worker started" line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/.data"
log="$root/.data/worker.log"
# A free port for /metrics unless told: another worker may hold 9464.
export CFA_METRICS_LISTEN=${CFA_METRICS_LISTEN:-127.0.0.1:0}
"$root/bin/cfa-worker" >"$log" 2>&1 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null || true; wait $worker 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  grep -q '"worker started"' "$log" && break
  kill -0 $worker 2>/dev/null || { echo "worker exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.25
done
grep -q '"worker started"' "$log" || { echo "worker did not start in 30 s:" >&2; tail -20 "$log" >&2; exit 1; }
# The demo deploys a new policy bundle mid-execution by replacing this worker.
export CFA_DEMO_WORKER_PID=$worker
"$@"
