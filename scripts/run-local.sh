#!/usr/bin/env bash
# `make run`: DynamoDB Local (persistent, loopback, telemetry off) + tables + demo records + chalice local.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8000}
DDB_PORT=8001   # fixed: .chalice/config.json (stage local) points the server here
mkdir -p .local/data
export GJJ_STAGE=local GJJ_TABLE_PREFIX=gjj-local- GJJ_DDB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
export AWS_DEFAULT_REGION=cn-north-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local

java -Djava.library.path=.local/dynamodb/DynamoDBLocal_lib -jar .local/dynamodb/DynamoDBLocal.jar \
  -sharedDb -dbPath .local/data -disableTelemetry -port "$DDB_PORT" >.local/dynamodb.log 2>&1 &
ddb_pid=$!
api_pid=""
cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null || true
  kill "$ddb_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped."
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 150); do
  if curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT"; then break; fi
  kill -0 "$ddb_pid" 2>/dev/null || { echo "DynamoDB Local failed; see .local/dynamodb.log" >&2; exit 1; }
  sleep 0.2
done

.venv/bin/gjj tables create
if [ ! -f .local/demo-loaded ]; then
  .venv/bin/gjj import demo/center-records.jsonl && date -Iseconds > .local/demo-loaded
fi
echo "gjj API on http://127.0.0.1:$PORT (stage local; DynamoDB Local on $DDB_PORT). Ctrl-C stops both."
.venv/bin/chalice local --stage local --host 127.0.0.1 --port "$PORT" &
api_pid=$!
wait "$api_pid"
