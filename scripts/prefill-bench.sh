#!/usr/bin/env bash
# Prefill through the HTTP API: for each prompt length, one /v1/completions request of that many token ids with
# max_tokens 1, timed end to end (its TTFT), while the service's resident memory is sampled every 50 ms.
# Prints prefill tokens/s and the RSS peak above the ready level; then, for each of STREAMS (default "1 4 16"),
# that many 1000-token prompts sent at once, with their time to first token (mean and worst). Not part of the tests.
#   MODEL=/path/to/checkpoint DTYPE=mixed LENGTHS="512 2000 4000" THRESHOLD=0 bash scripts/prefill-bench.sh
# (THRESHOLD 0 runs every routed layer: full depth, the work a plain Llama of the same shape does)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-lib.sh
: "${MODEL:?set MODEL to a checkpoint directory}"
dtype=${DTYPE:-auto}
lengths=${LENGTHS:-512 2000 4000}
port=${PREFILL_PORT:-18090}
log=target/prefill-bench-service.log
mkdir -p target
start_service "$port" "$log" -Dflexiserve.model.path="$MODEL" -Dflexiserve.model.dtype="$dtype" \
  ${EXTRA_JVM:-} -Dflexiserve.model.name=bench -Dflexiserve.engine.max-batch-tokens="${MAX_BATCH_TOKENS:-2048}"
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVICE_PID/status"; }
ready_kb=$(rss)
echo "dtype $dtype, max-batch-tokens ${MAX_BATCH_TOKENS:-2048}: ready RSS $((ready_kb / 1024)) MB"
for n in $lengths; do
  ids=$(python3 -c "import random; random.seed($n); print(','.join(str(random.randrange(1000, 30000)) for _ in range($n)))")
  body="{\"model\":\"bench\",\"prompt\":[$ids],\"max_tokens\":1,\"temperature\":0,\"flexidepth\":{\"threshold\":${THRESHOLD:-0.5}}}"
  before_kb=$(rss)
  peak=$before_kb
  start=$(date +%s.%N)
  curl -s -o /tmp/prefill-bench.json -w '%{http_code}' "http://127.0.0.1:$port/v1/completions" \
    -H 'Content-Type: application/json' -d "$body" > /tmp/prefill-bench.code &
  req=$!
  while kill -0 "$req" 2> /dev/null; do now=$(rss || echo 0); [ "${now:-0}" -gt "$peak" ] && peak=$now; sleep 0.05; done
  end=$(date +%s.%N)
  code=$(cat /tmp/prefill-bench.code)
  python3 -c "n=$n; t=$end-$start; print(f'prompt {n:5d}: HTTP $code, {t:6.2f} s, {n/t:6.1f} tokens/s, RSS peak {$peak/1024:6.0f} MB: +{($peak-$before_kb)/1024:5.0f} MB over the request, +{($peak-$ready_kb)/1024:5.0f} MB over ready')"
done
for k in ${STREAMS:-1 4 16}; do
  ids=$(python3 -c "import random; random.seed(1000); print(','.join(str(random.randrange(1000, 30000)) for _ in range(1000)))")
  pids=()
  for i in $(seq 1 "$k"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
      -d "{\"model\":\"bench\",\"prompt\":[$i,$ids],\"max_tokens\":1,\"flexidepth\":{\"threshold\":${THRESHOLD:-0.5}}}" > "/tmp/prefill-ttft.$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  cat /tmp/prefill-ttft.* | python3 -c "
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
t = [float(r[1]) for r in rows]; ok = sum(r[0] == '200' for r in rows)
print(f'{$k:2d} streams of 1000-token prompts: {ok}/{len(rows)} HTTP 200, TTFT mean {sum(t)/len(t):6.2f} s, worst {max(t):6.2f} s')"
  rm -f /tmp/prefill-ttft.*
done
