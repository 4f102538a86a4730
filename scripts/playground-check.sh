#!/usr/bin/env bash
# The depth playground in headless Chromium against the packaged service; screenshots go to target/.
# Maven runs this in `mvn verify`. Needs Debian's chromium (.ci/run installs it); without it, it says so
# and skips, unless CI is set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/service-lib.sh
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ -n "${CI:-}" ]; then echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; fi
  echo "SKIPPED playground check: chromium is not installed (apt-get install chromium)" >&2
  exit 0
fi
port=${PLAYGROUND_PORT:-18082}
start_service "$port" target/playground-service.log
npm_deps
(cd e2e && FLEXISERVE_URL="http://127.0.0.1:$port" CHROMIUM="$chromium" SHOTS="$root/target" node playground.mjs)
