#!/usr/bin/env bash
# `make run`: DynamoDB Local (persistent, loopback, telemetry off) + tables + demo records + the API (chalice local,
# no autoreload: data, clock and SMS file changes never restart it). `make dev`: the same with RELOAD=1, which
# restarts the API when app.py, chalicelib/ or .chalice/config.json change (and on nothing else).
#
# Overridable from the environment (the defaults are what `make run` always did):
#   PORT=8000                 the API, on 127.0.0.1
#   DDB_PORT=8001             DynamoDB Local
#   GJJ_LOCAL_DIR=.local      clock file, sms.jsonl, uploads, the local CA, token secret; DynamoDB data in its data/
#   GJJ_DYNAMODB_LOCAL_DIR=.local/dynamodb   where `make dynamodb-local` unpacked DynamoDB Local
#   RELOAD=1                  restart on code changes (make dev)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${PORT:-8000}
DDB_PORT=${DDB_PORT:-8001}
GJJ_LOCAL_DIR=$(mkdir -p "${GJJ_LOCAL_DIR:-$ROOT/.local}" && cd "${GJJ_LOCAL_DIR:-$ROOT/.local}" && pwd)
DDB_HOME=${GJJ_DYNAMODB_LOCAL_DIR:-$ROOT/.local/dynamodb}
DATA_DIR=$GJJ_LOCAL_DIR/data
mkdir -p "$DATA_DIR"
# the environment wins over .chalice/config.json (scripts/serve_local.py), so these reach the server as set here
export GJJ_STAGE=local GJJ_LOCAL_DIR GJJ_TABLE_PREFIX=${GJJ_TABLE_PREFIX:-gjj-local-}
export GJJ_DDB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-cn-north-1} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
PY="$ROOT/.venv/bin/python"
gjj() { "$PY" -m chalicelib.cli "$@"; }     # this checkout's code, whatever `.venv/bin/gjj` was installed from

ddb_pid=""
api_pid=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null || true
  [ -n "$ddb_pid" ] && kill "$ddb_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped."
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(cd "$DATA_DIR" && exec java -Djava.library.path="$DDB_HOME/DynamoDBLocal_lib" -jar "$DDB_HOME/DynamoDBLocal.jar" \
  -sharedDb -dbPath "$DATA_DIR" -disableTelemetry -port "$DDB_PORT") >"$GJJ_LOCAL_DIR/dynamodb.log" 2>&1 &
ddb_pid=$!

for _ in $(seq 1 300); do
  if curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT"; then break; fi
  kill -0 "$ddb_pid" 2>/dev/null || { echo "DynamoDB Local failed; see $GJJ_LOCAL_DIR/dynamodb.log" >&2; exit 1; }
  sleep 0.2
done

gjj tables create
# No TTL sweeps here. DynamoDB Local deletes expired items by the machine's clock, but `.local/clock` may pin "now"
# in the past (2026-11-16 while the machine says December): every item written with a TTL counted from that "now"
# (SMS codes, Idempotency-Key records, lock-out counters, sessions) would be swept within seconds, so a code just
# texted is "invalid" and a payment's retry is refused as "key reused". Expiry that matters is enforced in code
# against the stage clock; TTL is only physical cleanup (tests/conftest.py does the same for its tables).
"$PY" - <<'PY'
from chalicelib.store import base
from pynamodb.attributes import TTLAttribute

base.configure()
client = base.connection().client
for model in base.all_models():
    names = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    table = model.Meta.table_name
    if names and client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["TimeToLiveStatus"] in (
            "ENABLED", "ENABLING"):
        client.update_time_to_live(TableName=table,
                                   TimeToLiveSpecification={"AttributeName": names[0], "Enabled": False})
PY
if [ ! -f "$GJJ_LOCAL_DIR/demo-loaded" ]; then
  gjj import demo/center-records.jsonl && date -Iseconds > "$GJJ_LOCAL_DIR/demo-loaded"
fi
# chalice local --no-autoreload (scripts/serve_local.py): chalice's default autoreload walks .local/ and .venv/ and
# restarts on every data write, SMS line and clock edit. make dev's RELOAD=1 watches code only.
reload=--no-autoreload note=""
if [ "${RELOAD:-0}" = "1" ]; then reload=--reload note="; restarts when app.py or chalicelib/ change"; fi
echo "gjj API on http://127.0.0.1:$PORT (stage local; DynamoDB Local on $DDB_PORT; data in $GJJ_LOCAL_DIR$note)." \
  "Ctrl-C stops both."
"$PY" scripts/serve_local.py --host 127.0.0.1 --port "$PORT" "$reload" &
api_pid=$!
wait "$api_pid"
