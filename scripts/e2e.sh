#!/usr/bin/env bash
# End-to-end tests against the packaged service (target/quarkus-app) with the official OpenAI Node SDK.
# Maven runs this in the integration-test phase of `mvn verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-lib.sh
[ -f target/quarkus-app/quarkus-run.jar ] || { echo "no target/quarkus-app: run mvn package first" >&2; exit 1; }
port=${E2E_PORT:-18080}
start_service "$port" target/e2e-service.log
npm_deps
FLEXISERVE_URL="http://127.0.0.1:$port" node e2e/openai-e2e.mjs
