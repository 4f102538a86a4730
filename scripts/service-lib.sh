# Shared by the end-to-end scripts (sourced, not run): start the packaged service on loopback with a
# throw-away data directory, wait until it is ready, and stop everything started here when the script exits.

_cleanups=()
on_exit() { _cleanups+=("$1"); }
_run_cleanups() { local i; for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" || true; done; }
trap _run_cleanups EXIT

# start_service PORT LOG [JVM options...]: sets SERVICE_PID; fails with the log's tail if it never gets ready.
start_service() {
  local port=$1 log=$2
  shift 2
  local data
  data=$(mktemp -d)
  java --add-modules jdk.incubator.vector "$@" -Dquarkus.http.port="$port" -Dflexiserve.data-dir="$data" -jar target/quarkus-app/quarkus-run.jar > "$log" 2>&1 &
  SERVICE_PID=$!
  on_exit "kill $SERVICE_PID 2> /dev/null; wait $SERVICE_PID 2> /dev/null; rm -rf '$data'"
  for _ in $(seq 1 240); do
    curl -fs "http://127.0.0.1:$port/q/health/ready" > /dev/null 2>&1 && return 0
    kill -0 "$SERVICE_PID" 2> /dev/null || break
    sleep 0.5
  done
  echo "the service on port $port did not become ready; see $log" >&2
  tail -30 "$log" >&2
  return 1
}

# e2e/node_modules, installed once from the lock file.
npm_deps() {
  (cd e2e && { [ -d node_modules/openai ] && [ -d node_modules/playwright-core ] && [ -d node_modules/zod ]; } || npm ci --silent --no-audit --no-fund)
}
