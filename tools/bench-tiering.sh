#!/usr/bin/env bash
# Tiering benchmark (docs/benchmarks.md, issue #3): a dataset 10x maxmemory, Zipf GETs after
# a load phase, against redis-server with everything in RAM and redis-server with the same
# maxmemory under allkeys-lfu; then p99.9 latency across metabolic flushes.
#
# Usage: tools/bench-tiering.sh [--quick] [--duration S]
#   --quick   a 10x smaller dataset (smoke run; not the recorded figures)
#
# Servers run pinned to CPU 0, organic-bench to CPU 1 (taskset), one server at a time.
# organic-server: --maxmemory M (policy organic: the MemTables get half of it).
set -euo pipefail
cd "$(dirname "$0")/.."
ORGANIC=${ORGANIC_BIN:-build/organic-server}
REDIS=${REDIS_BIN:-/usr/bin/redis-server}
BENCH=${BENCH_BIN:-build/organic-bench}
MAXMEM_MB=64
VALUE=1000
KEYS=640000           # 640 MB of values: 10x maxmemory
DURATION=20
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) KEYS=64000; MAXMEM_MB=8; DURATION=5; shift ;;
    --duration) DURATION=$2; shift 2 ;;
    *) echo "usage: $0 [--quick] [--duration S]" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d /tmp/organic-tier-bench-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

source tools/bench-lib.sh
start() {  # kind dir extra-args...
  local kind=$1 dir=$WORK/$2; shift 2
  mkdir -p "$dir"
  if [ "$kind" = redis ]; then
    taskset -c 0 "$REDIS" --port "$PORT" --dir "$dir" --save '' --appendonly no \
      --daemonize no "$@" >"$dir.log" 2>&1 &
  else
    taskset -c 0 "$ORGANIC" --port "$PORT" --dir "$dir" "$@" >"$dir.log" 2>&1 &
  fi
  SERVER_PID=$!
  wait_ready "$dir.log"
}
rss_mb() { echo $(( $(awk '/VmRSS/ {print $2}' /proc/"$SERVER_PID"/status) / 1024 )); }

COMMON=(--keys "$KEYS" --value-size "$VALUE")
GETS=(--distribution zipf --zipf-theta 0.99 --ratio 1:0 --connections 50 --pipeline 1
      --duration "$DURATION")
# The same GETs from 4 connections: latency when the two cores are not saturated (50
# connections at pipeline 1 queue on the server's core and the tail is scheduling).
LIGHT=(--distribution zipf --zipf-theta 0.99 --ratio 1:0 --connections 4 --threads 1
       --pipeline 1 --duration 10)
light() {  # label
  local r
  r=$(bench "${COMMON[@]}" "${LIGHT[@]}")
  echo "$1, 4 connections: ops/s $(echo "$r" | field "['ops_per_sec']")  p50 $(echo "$r" | field "['latency_ms']['p50']") ms  p99 $(echo "$r" | field "['latency_ms']['p99']") ms  p99.9 $(echo "$r" | field "['latency_ms']['p99_9']") ms"
}
printf 'dataset: %d keys x %d B = %d MB; maxmemory %d MB; Zipf 0.99 GETs for %d s\n' \
  "$KEYS" "$VALUE" $((KEYS * VALUE / 1000000)) "$MAXMEM_MB" "$DURATION"

# 1. redis-server, everything in RAM: the reference throughput.
start redis redis-ram
bench --load "${COMMON[@]}" --connections 50 --pipeline 16 >/dev/null
R=$(bench "${COMMON[@]}" "${GETS[@]}")
RAM_OPS=$(echo "$R" | field "['ops_per_sec']")
echo "redis (all in RAM):      ops/s $RAM_OPS  p50 $(echo "$R" | field "['latency_ms']['p50']") ms  p99 $(echo "$R" | field "['latency_ms']['p99']") ms  RSS $(rss_mb) MB"
light "redis (all in RAM)"
stop

# 2. redis-server, maxmemory + allkeys-lfu: a cache that drops what does not fit.
start redis redis-lfu --maxmemory "${MAXMEM_MB}mb" --maxmemory-policy allkeys-lfu
bench --load "${COMMON[@]}" --connections 50 --pipeline 16 >/dev/null
R=$(bench "${COMMON[@]}" "${GETS[@]}")
KEPT=$(redis-cli -p "$PORT" dbsize)
echo "redis allkeys-lfu:       ops/s $(echo "$R" | field "['ops_per_sec']")  p99 $(echo "$R" | field "['latency_ms']['p99']") ms  hit ratio $(echo "$R" | field "['keyspace_hit_ratio']")  keys kept $KEPT of $KEYS (lost $((KEYS - KEPT)))  RSS $(rss_mb) MB"
stop

# 3. organic-server, same maxmemory, policy organic: cold keys go to disk.
start organic organic --maxmemory "${MAXMEM_MB}mb" --appendfsync everysec
bench --load "${COMMON[@]}" --connections 50 --pipeline 16 >/dev/null
MAX_RSS=$(rss_mb)
R=$(bench "${COMMON[@]}" "${GETS[@]}")
OPS=$(echo "$R" | field "['ops_per_sec']")
RSS=$(rss_mb)
[ "$RSS" -gt "$MAX_RSS" ] && MAX_RSS=$RSS
echo "organic (maxmemory):     ops/s $OPS  p50 $(echo "$R" | field "['latency_ms']['p50']") ms  p99 $(echo "$R" | field "['latency_ms']['p99']") ms  p99.9 $(echo "$R" | field "['latency_ms']['p99_9']") ms  memory hit ratio $(echo "$R" | field "['memory_hit_ratio']")  RSS $MAX_RSS MB"
V=$(bench --verify "${COMMON[@]}" --connections 50 --pipeline 16 || true)
echo "organic verify:          missing $(echo "$V" | field "['missing']")  wrong $(echo "$V" | field "['wrong']")  DBSIZE $(redis-cli -p "$PORT" dbsize)"
light "organic (maxmemory)"
/usr/bin/python3 -c "print('ratio organic/redis-in-RAM GET ops/s: %.2f' % ($OPS / $RAM_OPS))"
redis-cli -p "$PORT" info organic | grep -E "organic_(sstables|level|flushes|compactions|write_amp|promotions|write_stalls)" | tr -d '\r' | sed 's/^/  /'
stop

# 4. p99.9 across metabolic flushes: a 9:1 GET:SET mix on 100k keys, with a budget large
#    enough that no flush happens (steady), then one small enough for a flush every few
#    seconds. Same load, same server binary.
MIX=(--keys 100000 --value-size 100 --ratio 9:1 --distribution uniform --connections 50
     --pipeline 1 --duration "$DURATION")
for budget in 1gb 8mb; do
  start organic "flush-$budget" --organic-memtable-budget "$budget" --appendfsync everysec
  bench --load --keys 100000 --value-size 100 --connections 50 --pipeline 16 >/dev/null
  before=$(redis-cli -p "$PORT" info organic | awk -F: '/organic_flushes/ {print $2}' | tr -d '\r')
  R=$(bench "${MIX[@]}")
  after=$(redis-cli -p "$PORT" info organic | awk -F: '/organic_flushes/ {print $2}' | tr -d '\r')
  echo "organic budget $budget: ops/s $(echo "$R" | field "['ops_per_sec']")  p99 $(echo "$R" | field "['latency_ms']['p99']") ms  p99.9 $(echo "$R" | field "['latency_ms']['p99_9']") ms  flushes during run $((after - before))"
  stop
done
