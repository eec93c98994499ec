#!/usr/bin/env bash
# Makes sure a Temporal server answers at TEMPORAL_ADDRESS (default
# 127.0.0.1:7233): uses one that answers, else starts the pinned dev server
# (bin/temporal, Web UI on :8233) in the background, state in .data/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
addr=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
host=${addr%:*}
port=${addr##*:}
answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
if answers; then
  echo "temporal: answering at $addr"
  exit 0
fi
mkdir -p "$root/.data"
echo "temporal: starting dev server on $addr (Web UI http://$host:8233)"
nohup "$root/bin/temporal" server start-dev --ip "$host" --port "$port" --ui-port 8233 \
  --db-filename "$root/.data/temporal.db" --log-level warn \
  --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=OFF \
  --search-attribute CfaApprovers=KeywordList --search-attribute CfaConfirmationMode=Keyword --search-attribute CfaDecisionState=Keyword --search-attribute CfaStage=Keyword --search-attribute CfaSubmittedBy=Keyword --search-attribute CfaTargetDataset=Keyword \
  >"$root/.data/temporal.log" 2>&1 &
echo $! >"$root/.data/temporal.pid"
for _ in $(seq 1 120); do
  if "$root/bin/temporal" operator cluster health --address "$addr" >/dev/null 2>&1; then
    echo "temporal: answering at $addr (pid $(cat "$root/.data/temporal.pid"); \`make stop\` stops it)"
    exit 0
  fi
  sleep 0.5
done
echo "temporal: dev server did not come up in 60 s; see .data/temporal.log" >&2
exit 1
