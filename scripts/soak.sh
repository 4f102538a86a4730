#!/usr/bin/env bash
# Soak test against the packaged service on loopback: SOAK_SECONDS (default 60, as `mvn verify` runs it;
# the full soak is SOAK_SECONDS=600; SOAK_JVM_OPTS adds JVM options)
# of 32 concurrent clients with random lengths, abandoned streams and
# malformed requests, then the checks of e2e/soak.mjs (no 5xx, well-formed answers, KV back to zero, RSS flat).
# The model runs in dtype `mixed`, so batched steps go through the Java (Vector API) kernels. The KV cache is
# bounded (16384 tokens, 128 MB for the demo model): with prefix caching it keeps what it can, so its pages become
# resident up to its capacity in the first seconds of traffic; RSS growing after warm-up is then a leak, not the
# cache filling (SOAK_JVM_OPTS may override it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-lib.sh
port=${SOAK_PORT:-18083}
# shellcheck disable=SC2086  # SOAK_JVM_OPTS holds several options
start_service "$port" target/soak-service.log -Xmx1g -Dflexiserve.model.dtype=mixed \
  -Dflexiserve.engine.kv-cache-tokens=16384 ${SOAK_JVM_OPTS:-}
npm_deps
FLEXISERVE_URL="http://127.0.0.1:$port" SERVICE_PID="$SERVICE_PID" DURATION_S="${SOAK_SECONDS:-60}" \
  CLIENTS="${SOAK_CLIENTS:-32}" node e2e/soak.mjs
