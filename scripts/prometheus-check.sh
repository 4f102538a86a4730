#!/usr/bin/env bash
# The dashboard against a real Prometheus: starts the packaged service and Prometheus (scraping every
# second), drives traffic, then checks every PromQL expression of dashboards/flexiserve.json returns data,
# and that `promtool check metrics` finds nothing wrong with our own metric families.
# Maven runs this in `mvn verify` after the Node SDK end-to-end script. Needs Debian's prometheus package
# (.ci/run installs it); without it, it says so and skips, unless CI is set.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/service-lib.sh
if ! command -v prometheus > /dev/null || ! command -v promtool > /dev/null; then
  if [ -n "${CI:-}" ]; then echo "prometheus is not installed (apt-get install prometheus)" >&2; exit 1; fi
  echo "SKIPPED dashboard check: prometheus is not installed (apt-get install prometheus)" >&2
  exit 0
fi
port=${PROM_CHECK_PORT:-18081}
prom_port=${PROM_PORT:-19090}
work=$(mktemp -d)
on_exit "rm -rf '$work'"
admin_token=check-$RANDOM$RANDOM
start_service "$port" target/prometheus-check-service.log -Dflexiserve.admin.token="$admin_token"
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: flexiserve
    metrics_path: /q/metrics
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
promtool check config "$work/prometheus.yml" > /dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" > target/prometheus-check-prometheus.log 2>&1 &
prom=$!
on_exit "kill $prom 2> /dev/null; wait $prom 2> /dev/null"
prom_ready=0
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$prom_port/-/ready" > /dev/null 2>&1 && { prom_ready=1; break; }
  sleep 0.5
done
[ "$prom_ready" -eq 1 ] || { echo "Prometheus did not become ready within 120 s" >&2; tail -20 target/prometheus-check-prometheus.log >&2; exit 1; }
npm_deps
ADMIN_TOKEN="$admin_token" FLEXISERVE_URL="http://127.0.0.1:$port" PROM_URL="http://127.0.0.1:$prom_port" node e2e/dashboard-check.mjs

echo "== promtool check metrics (flexiserve_* and flexidepth_* families)"
curl -fs -H 'Accept: text/plain; version=0.0.4' "http://127.0.0.1:$port/q/metrics" \
  | grep -E '^(# (HELP|TYPE) )?(flexiserve|flexidepth)_' > "$work/ours.txt"
problems=$(promtool check metrics < "$work/ours.txt" 2>&1 || true)
if [ -n "$problems" ]; then
  echo "promtool found problems:"; echo "$problems"; exit 1
fi
echo "promtool: no problems in $(grep -c '^# TYPE' "$work/ours.txt") families"
