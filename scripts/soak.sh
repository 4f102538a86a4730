#!/usr/bin/env bash
# Soak test against the packaged service on loopback: SOAK_SECONDS (default 60, as `mvn verify` runs it;
# the full soak is SOAK_SECONDS=600) of 32 concurrent clients with random lengths, abandoned streams and
# malformed requests, then the checks of e2e/soak.mjs (no 5xx, well-formed answers, KV back to zero, RSS flat).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${SOAK_PORT:-18083}
data=$(mktemp -d)
java -Xmx1g -Dquarkus.http.port="$port" -Dflexiserve.data-dir="$data" -jar target/quarkus-app/quarkus-run.jar \
  > target/soak-service.log 2>&1 &
pid=$!
cleanup() { kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$port/q/health/ready" > /dev/null 2>&1 && break
  sleep 0.5
done
(cd e2e && [ -d node_modules/openai ] || npm ci --silent --no-audit --no-fund)
FLEXISERVE_URL="http://127.0.0.1:$port" SERVICE_PID="$pid" DURATION_S="${SOAK_SECONDS:-60}" CLIENTS="${SOAK_CLIENTS:-32}" \
  node e2e/soak.mjs
