#!/usr/bin/env bash
# Long prompts cannot kill the service: on a mid-size generated model (hidden 512, 8 layers, vocabulary 32768, a
# 4096-token context) served in `mixed` under a 3 GB memory limit, the longest prompt the context allows is
# prefilled while four other streams run; the service stays up, answers everything, refuses a prompt one token too
# long with 400, and its resident memory never passes the limit. Maven runs this in `mvn verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-lib.sh
work=$(mktemp -d)
on_exit "rm -rf '$work'"
port=${LONG_PROMPT_CHECK_PORT:-18086}
limit_mb=3072
url="http://127.0.0.1:$port"
java -jar target/quarkus-app/quarkus-run.jar generate-checkpoint --out "$work/mid" --hidden 512 --intermediate 2048 \
  --layers 8 --heads 8 --kv-heads 4 --vocab 32768 --max-positions 4096 --dtype BF16 > "$work/generate.log" 2>&1 \
  || { cat "$work/generate.log"; exit 1; }
start_service "$port" target/long-prompt-check-service.log -Dflexiserve.model.path="$work/mid" -Dflexiserve.model.name=mid \
  -Dflexiserve.model.dtype=mixed -Dflexiserve.memory.limit=${limit_mb}M
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$SERVICE_PID/status" 2> /dev/null || echo 0; }
prompt() { python3 -c "import random; random.seed($1); print(','.join(str(random.randrange(300, 32000)) for _ in range($1)))"; }

streams=()
for i in 1 2 3 4; do
  curl -sN "$url/v1/completions" -H 'Content-Type: application/json' \
    -d "{\"model\":\"mid\",\"prompt\":\"stream $i\",\"max_tokens\":300,\"ignore_eos\":true,\"stream\":true}" > "$work/stream$i.txt" &
  streams+=($!)
done
echo "{\"model\":\"mid\",\"prompt\":[$(prompt 4095)],\"max_tokens\":1}" > "$work/longest.json"
curl -s -o "$work/longest.out" -w '%{http_code}' "$url/v1/completions" -H 'Content-Type: application/json' \
  -d @"$work/longest.json" > "$work/longest.code" &
long=$!
peak=$(rss_kb)
while kill -0 "$long" 2> /dev/null; do now=$(rss_kb); [ "${now:-0}" -gt "$peak" ] && peak=$now; sleep 0.05; done
wait "$long" "${streams[@]}"
echo "{\"model\":\"mid\",\"prompt\":[$(prompt 4096)],\"max_tokens\":1}" > "$work/too-long.json"
too_long=$(curl -s -o "$work/too-long.out" -w '%{http_code}' "$url/v1/completions" -H 'Content-Type: application/json' \
  -d @"$work/too-long.json")

fail=0
echo "longest prompt (4095 tokens + 1 generated): HTTP $(cat "$work/longest.code"); resident peak $((peak / 1024)) MB of the ${limit_mb} MB limit"
[ "$(cat "$work/longest.code")" = "200" ] || { echo "FAIL: $(head -c 300 "$work/longest.out")"; fail=1; }
[ "$peak" -lt $((limit_mb * 1024)) ] || { echo "FAIL: resident memory passed the limit"; fail=1; }
for i in 1 2 3 4; do grep -q 'data: \[DONE\]' "$work/stream$i.txt" || { echo "FAIL: stream $i did not complete"; fail=1; }; done
echo "a prompt one token too long: HTTP $too_long $(head -c 200 "$work/too-long.out")"
[ "$too_long" = "400" ] && grep -q 'context_length_exceeded' "$work/too-long.out" || { echo "FAIL: not refused with 400"; fail=1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/q/health/ready")" = "200" ] || { echo "FAIL: not ready afterwards"; fail=1; }
kill -0 "$SERVICE_PID" 2> /dev/null || { echo "FAIL: the service died"; fail=1; }
exit $fail
