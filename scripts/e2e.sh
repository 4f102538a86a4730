#!/usr/bin/env bash
# End-to-end tests against the packaged service (target/quarkus-app): starts it on a free port with a
# throw-away data directory, waits until it is ready, runs the OpenAI Node SDK script, stops it.
# Maven runs this in the integration-test phase of `mvn verify`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jar=target/quarkus-app/quarkus-run.jar
[ -f "$jar" ] || { echo "no $jar: run mvn package first" >&2; exit 1; }
port=${E2E_PORT:-18080}
data=$(mktemp -d)
log=target/e2e-service.log
java -Dquarkus.http.port="$port" -Dflexiserve.data-dir="$data" -jar "$jar" > "$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 240); do
  if curl -fs "http://localhost:$port/q/health/ready" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2> /dev/null; then echo "service exited; see $log" >&2; tail -50 "$log" >&2; exit 1; fi
  sleep 0.5
done
curl -fs "http://localhost:$port/q/health/ready" > /dev/null || { echo "service not ready; see $log" >&2; exit 1; }
(cd e2e && npm ci --silent --no-audit --no-fund)
FLEXISERVE_URL="http://localhost:$port" node e2e/openai-e2e.mjs
