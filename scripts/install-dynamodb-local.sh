#!/usr/bin/env bash
# Fetch AWS's DynamoDB Local from the npm registry (the amplify-dynamodb-simulator package ships
# DynamoDBLocal.jar and its native libraries under emulator/) and unpack only that folder into
# .local/dynamodb. No global install. Idempotent: does nothing when the jar is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.local/dynamodb
version=${DYNAMODB_SIMULATOR_VERSION:-2.9.30}
if [ -f "$dest/DynamoDBLocal.jar" ]; then exit 0; fi
command -v npm >/dev/null || { echo "npm is needed to fetch DynamoDB Local" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching DynamoDB Local (amplify-dynamodb-simulator@$version) ..."
(cd "$tmp" && npm pack --silent "amplify-dynamodb-simulator@$version" >/dev/null 2>&1)
mkdir -p "$tmp/x" "$dest"
tar -xzf "$tmp"/amplify-dynamodb-simulator-*.tgz -C "$tmp/x" package/emulator
cp -R "$tmp/x/package/emulator/." "$dest/"
test -f "$dest/DynamoDBLocal.jar"
echo "DynamoDB Local installed in $dest"
