#!/usr/bin/env bash
# Graceful shutdown of the packaged service: SIGTERM while a long stream runs. The stream must finish with
# all its tokens and [DONE], readiness must go down, a request sent during the drain must get 503
# (shutting_down) in OpenAI's shape, and the process must exit 0. Maven runs this in `mvn verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-lib.sh
port=${SHUTDOWN_CHECK_PORT:-18083}
work=$(mktemp -d)
on_exit "rm -rf '$work'"
# a drain window wide enough for the stream below on a busy machine (the defaults are 30 s)
start_service "$port" target/shutdown-check-service.log -Dquarkus.shutdown.timeout=180s \
  -Dflexiserve.engine.shutdown-grace-seconds=170
url="http://127.0.0.1:$port"
tokens=3000 # long enough to be still streaming when SIGTERM comes, short enough to finish within the drain window
curl -sN "$url/v1/completions" -H 'Content-Type: application/json' \
  -d "{\"model\":\"flexidepth-demo\",\"prompt\":\"drain\",\"max_tokens\":$tokens,\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}" \
  > "$work/stream.txt" &
stream=$!
started=0
for _ in $(seq 1 2400); do grep -q '"text"' "$work/stream.txt" 2> /dev/null && { started=1; break; }; sleep 0.05; done
[ "$started" -eq 1 ] || { echo "the stream never started within 120 s"; exit 1; }
kill -TERM "$SERVICE_PID"
# the drain has begun once readiness goes down (waited for, not assumed after a fixed pause)
ready=200
for _ in $(seq 1 600); do
  ready=$(curl -s -o /dev/null -w '%{http_code}' "$url/q/health/ready" || true)
  [ "$ready" = "503" ] && break
  kill -0 "$SERVICE_PID" 2> /dev/null || break
  sleep 0.05
done
code=$(curl -s -o "$work/late.json" -w '%{http_code}' "$url/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model":"flexidepth-demo","prompt":"late","max_tokens":2}' || true)
wait "$stream" || true
set +e
wait "$SERVICE_PID"
exit_code=$?
set -e
chunks=$(grep -o '"completion_tokens":[0-9]*' "$work/stream.txt" | tail -1 | cut -d: -f2 || true)
chunks=${chunks:-0}
fail=0
echo "streamed tokens: $chunks of $tokens; done marker: $(grep -c '\[DONE\]' "$work/stream.txt")"
echo "readiness during drain: $ready; request during drain: $code $(cat "$work/late.json" 2> /dev/null)"
echo "service exit code: $exit_code"
[ "$chunks" -eq "$tokens" ] || { echo "the stream was cut during shutdown"; fail=1; }
grep -q 'data: \[DONE\]' "$work/stream.txt" || { echo "no [DONE]"; fail=1; }
[ "$ready" = "503" ] || { echo "readiness stayed up while draining"; fail=1; }
[ "$code" = "503" ] && grep -q '"code":"shutting_down"' "$work/late.json" || { echo "a request during the drain was not refused with 503 shutting_down"; fail=1; }
[ "$exit_code" -eq 0 ] || [ "$exit_code" -eq 143 ] || { echo "unexpected exit code"; fail=1; }
grep -q 'sequences still running after' target/shutdown-check-service.log && { echo "the drain gave up"; fail=1; }
exit $fail
