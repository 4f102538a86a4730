#!/usr/bin/env bash
# Load failures end the packaged service loudly: a checkpoint too large for the memory budget, a truncated shard
# and a shard missing from the index each make the process exit non-zero by itself, with one ERROR line naming
# the cause and the remedy. And a bf16 checkpoint far larger than the JVM's direct-memory cap still loads (its
# conversion goes through tensors libtorch allocates). Maven runs this in `mvn verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-lib.sh
work=$(mktemp -d)
on_exit "rm -rf '$work'"
jar=target/quarkus-app/quarkus-run.jar
port=${LOAD_FAILURE_CHECK_PORT:-18085}
fail=0

# A 64-token vocabulary's worth of layers is enough: ~110 MB as bf16, 220 MB as f32.
java -jar "$jar" generate-checkpoint --out "$work/big" --hidden 512 --intermediate 2048 --layers 8 --heads 8 --kv-heads 4 \
  --vocab 32768 --dtype BF16 --shards 3 > "$work/generate.log" 2>&1 || { cat "$work/generate.log"; exit 1; }

# expect_exit NAME [JVM options...]: the service must exit non-zero by itself (within 180 s) and log ERROR + reason.
expect_exit() {
  local name=$1 log="$work/$1.log" data
  shift
  data=$(mktemp -d -p "$work")
  java "$@" -Dquarkus.http.port="$port" -Dflexiserve.data-dir="$data" -jar "$jar" > "$log" 2>&1 &
  local pid=$! waited=0
  while kill -0 "$pid" 2> /dev/null && [ $waited -lt 1800 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2> /dev/null; then
    kill "$pid"; wait "$pid" 2> /dev/null || true
    echo "FAIL $name: the process was still running after 180 s"; tail -20 "$log"; fail=1; return
  fi
  set +e; wait "$pid"; local code=$?; set -e
  local line
  line=$(grep -m1 'ERROR.*cannot serve model' "$log" || true)
  if [ "$code" -eq 0 ] || [ -z "$line" ]; then
    echo "FAIL $name: exit code $code, error line: '${line}'"; tail -20 "$log"; fail=1; return
  fi
  echo "ok $name: exit code $code after $((waited / 10)) s: ${line#*cannot serve model }"
  LAST_LOG=$log
}

# 1. Far too large for a configured budget (a margin no start-up noise can close): refused before any weight is
#    read, naming the need and the free memory (MemoryPlanTest checks the dtypes it names).
expect_exit over-budget -Dflexiserve.model.path="$work/big" -Dflexiserve.memory.limit=900M -Dflexiserve.memory.reserve=512M
if [ "$fail" -eq 0 ]; then
  grep -q 'needs [0-9.]* GB' "$LAST_LOG" && grep -q 'GB is free' "$LAST_LOG" \
    || { echo "FAIL over-budget: the reason does not name the need and the free memory"; fail=1; }
  grep -q 'loading .*: *[1-9][0-9]*%' "$LAST_LOG" && { echo "FAIL over-budget: weights were read before refusing"; fail=1; }
fi

# 2. A truncated shard (the last 1000 bytes cut off).
cp -r "$work/big" "$work/truncated"
shard=$(ls "$work/truncated"/model-*.safetensors | tail -1)
truncate -s -1000 "$shard"
expect_exit truncated-shard -Dflexiserve.model.path="$work/truncated"
[ "$fail" -eq 0 ] && { grep -q "$(basename "$shard")" "$LAST_LOG" || { echo "FAIL truncated-shard: the shard is not named"; fail=1; }; }

# 3. A shard the index names but that is missing.
cp -r "$work/big" "$work/missing"
shard=$(ls "$work/missing"/model-*.safetensors | head -1)
rm "$shard"
expect_exit missing-shard -Dflexiserve.model.path="$work/missing"
[ "$fail" -eq 0 ] && { grep -q "$(basename "$shard")" "$LAST_LOG" || { echo "FAIL missing-shard: the shard is not named"; fail=1; }; }

# 4. Converting bf16 does not go through direct buffers: a 16 MiB cap does not stop a ~220 MB f32 conversion.
if start_service "$port" "$work/direct-cap.log" -XX:MaxDirectMemorySize=16m -Dflexiserve.model.path="$work/big"; then
  code=$(curl -s -o "$work/completion.json" -w '%{http_code}' "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model":"big","prompt":"hello","max_tokens":4}')
  [ "$code" = "200" ] && echo "ok direct-memory cap: a bf16 checkpoint loaded and served under -XX:MaxDirectMemorySize=16m" \
    || { echo "FAIL direct-memory cap: completion got $code $(cat "$work/completion.json")"; fail=1; }
else
  echo "FAIL direct-memory cap: the bf16 checkpoint did not load under -XX:MaxDirectMemorySize=16m"; fail=1
fi
exit $fail
