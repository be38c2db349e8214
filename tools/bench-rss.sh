#!/usr/bin/env bash
# RSS against the maxmemory bound (issue #3: RSS <= maxmemory x 1.1 + 64 MB under any
# workload), for workloads the tiering benchmark does not cover: tiny values (per-entry
# overhead), large values (block and buffer sizes), and many connections (per-client buffers).
# Each runs organic-server under policy organic with the given maxmemory, loads the keys through
# organic-bench, then reads them back (--verify); VmRSS is sampled every 200 ms throughout.
#
# Usage: tools/bench-rss.sh [--quick]     (--quick: 10x smaller datasets, a smoke run)
# Environment: ONLY=<workload name> runs one workload; ORGANIC_ARGS adds server options.
set -euo pipefail
cd "$(dirname "$0")/.."
ORGANIC=${ORGANIC_BIN:-build/organic-server}
BENCH=${BENCH_BIN:-build/organic-bench}
SCALE=1
[ "${1:-}" = "--quick" ] && SCALE=10
WORK=$(mktemp -d /tmp/organic-rss-bench-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
source tools/bench-lib.sh

# name maxmemory-mb keys value-bytes connections pipeline
WORKLOADS=(
  "tiny-values 64 $((4000000 / SCALE)) 16 50 64"
  "large-values 128 $((20000 / SCALE)) 100000 20 1"
  "many-clients 64 $((640000 / SCALE)) 1000 1000 16"
)

printf '| workload | maxmemory | keys x value | connections x pipeline | bound | peak RSS | after verify | verify |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for w in "${WORKLOADS[@]}"; do
  read -r name mem keys value conns pipeline <<<"$w"
  [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && continue
  dir=$WORK/$name
  mkdir -p "$dir"
  taskset -c 0 "$ORGANIC" --port "$PORT" --dir "$dir" --maxmemory "${mem}mb" \
    --maxclients 2000 --save '' ${ORGANIC_ARGS:-} >"$dir.log" 2>&1 &
  pid=$!
  wait_ready "$dir.log"
  peak_file=$dir.peak
  echo 0 >"$peak_file"
  (  # the sampler: the highest VmRSS seen, in kB
    peak=0
    while kill -0 "$pid" 2>/dev/null; do
      rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null || echo 0)
      if [ "${rss:-0}" -gt "$peak" ]; then peak=$rss; echo "$peak" >"$peak_file"; fi
      sleep 0.2
    done
  ) &
  sampler=$!
  args=(--port "$PORT" --quiet --keys "$keys" --value-size "$value" --connections "$conns"
        --threads 2 --pipeline "$pipeline")
  taskset -c 1 "$BENCH" "${args[@]}" --load >"$dir.load" 2>&1
  verify=ok
  taskset -c 1 "$BENCH" "${args[@]}" --verify >"$dir.verify" 2>&1 || verify=FAILED
  after=$(( $(awk '/VmRSS/ {print $2}' /proc/"$pid"/status) / 1024 ))
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  bound=$(( mem * 11 / 10 + 64 ))
  printf '| %s | %d MB | %d x %d B | %d x %d | %d MB | %d MB | %d MB | %s |\n' "$name" "$mem" \
    "$keys" "$value" "$conns" "$pipeline" "$bound" $(( $(cat "$peak_file") / 1024 )) "$after" \
    "$verify"
  rm -rf "$dir"
done
