#!/usr/bin/env bash
# The depth playground in headless Chromium against the packaged service; screenshots go to target/.
# Maven runs this in `mvn verify`. Needs Debian's chromium (.ci/run installs it); without it, it says so
# and skips, unless CI is set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ -n "${CI:-}" ]; then echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; fi
  echo "SKIPPED playground check: chromium is not installed (apt-get install chromium)" >&2
  exit 0
fi
port=${PLAYGROUND_PORT:-18082}
data=$(mktemp -d)
java -Dquarkus.http.port="$port" -Dflexiserve.data-dir="$data" -jar target/quarkus-app/quarkus-run.jar \
  > target/playground-service.log 2>&1 &
pid=$!
cleanup() { kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$port/q/health/ready" > /dev/null 2>&1 && break
  sleep 0.5
done
(cd e2e && [ -d node_modules/playwright-core ] || npm ci --silent --no-audit --no-fund)
(cd e2e && FLEXISERVE_URL="http://127.0.0.1:$port" CHROMIUM="$chromium" SHOTS="$root/target" node playground.mjs)
