#!/usr/bin/env bash
# Benchmarks organic-server against redis-server in the same run (docs/benchmarks.md).
#
# Usage: tools/bench-vs-redis.sh [--quick]
#   --quick  10x smaller request counts (a smoke run; not the figures we record)
#
# Both servers run on loopback ports of this machine, one at a time, with the same client
# (redis-benchmark); Redis with `appendonly yes appendfsync everysec`, organic-server with
# `appendfsync everysec`. Prints one table row per measurement with the organic/redis ratio.
# The server is pinned to CPU 0 and redis-benchmark to CPU 1 (taskset), so the two never fight
# for a core; without pinning, run-to-run spread on a 2-core machine is about +-25%.
set -euo pipefail
cd "$(dirname "$0")/.."
ORGANIC=${ORGANIC_BIN:-build/organic-server}
REDIS=${REDIS_BIN:-/usr/bin/redis-server}
SCALE=1
[ "${1:-}" = "--quick" ] && SCALE=10
N1=$((1000000 / SCALE)); N2=$((2000000 / SCALE)); KEYS=$((1000000 / SCALE))
WORK=$(mktemp -d /tmp/organic-bench-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_server() {  # name [data-dir-name] -> sets PID, READY_MS
  local name=$1 dir=$WORK/${2:-$1}
  mkdir -p "$dir"
  if [ "$name" = redis ]; then
    taskset -c 0 "$REDIS" --port $PORT --dir "$dir" --save '' --appendonly yes --appendfsync everysec \
      --daemonize no >"$dir.log" 2>&1 &
  else
    taskset -c 0 "$ORGANIC" --port $PORT --dir "$dir" --appendfsync everysec >"$dir.log" 2>&1 &
  fi
  PID=$!
  local t0=$(date +%s%N)
  # Ready = answers PONG (a loading Redis answers -LOADING, which is not ready).
  until [ "$(redis-cli -p $PORT ping 2>/dev/null)" = PONG ]; do sleep 0.005; done
  READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
stop_server() { redis-cli -p $PORT shutdown >/dev/null 2>&1 || true; wait $PID 2>/dev/null || true; }
rss_kb() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }

# redis-benchmark --csv: "test","rps","avg_latency_ms","min_latency_ms","p50","p95","p99","max"
bench() {  # label args...
  local label=$1; shift
  taskset -c 1 redis-benchmark -p $PORT "$@" --csv 2>/dev/null | tail -n +2 | tr -d '"' |
    awk -F, -v l="$label" '{printf "%s %s %s %s\n", l, $1, $2, $7}'
}

gen_keys() {  # 16-byte keys, 32-byte values, as a redis protocol stream
  /usr/bin/python3 - "$KEYS" <<'PY'
import sys
n = int(sys.argv[1]); v = b"v" * 32; out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$32\r\n" + v + b"\r\n")
PY
}
gen_keys > "$WORK/load.resp"

declare -A R
for name in redis organic; do
  start_server $name
  while read -r l t rps p99; do R[$name,$l,$t,rps]=$rps; R[$name,$l,$t,p99]=$p99; done < <(
    bench c50 -t set,get -n $N1 -c 50 -r 1000000 -d 32
    bench c50p16 -t set,get -n $N2 -c 50 -r 1000000 -d 32 -P 16)
  stop_server
  start_server $name $name-load   # a fresh process and data dir for the memory figure
  base=$(rss_kb)
  redis-cli -p $PORT --pipe < "$WORK/load.resp" >/dev/null
  sleep 1
  R[$name,rss]=$(( $(rss_kb) - base ))
  R[$name,dbsize]=$(redis-cli -p $PORT dbsize)
  stop_server
  start_server $name $name-load   # restart: replay the WAL / AOF holding the keys
  R[$name,ready]=$READY_MS
  R[$name,dbsize2]=$(redis-cli -p $PORT dbsize)
  stop_server
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
printf "%-28s %14s %14s %8s\n" measurement organic redis ratio
for l in c50 c50p16; do
  for t in SET GET; do
    printf "%-28s %14s %14s %8s\n" "$l $t ops/s" "${R[organic,$l,$t,rps]}" "${R[redis,$l,$t,rps]}" \
      "$(ratio "${R[organic,$l,$t,rps]}" "${R[redis,$l,$t,rps]}")"
    printf "%-28s %14s %14s %8s\n" "$l $t p99 ms" "${R[organic,$l,$t,p99]}" "${R[redis,$l,$t,p99]}" \
      "$(ratio "${R[organic,$l,$t,p99]}" "${R[redis,$l,$t,p99]}")"
  done
done
printf "%-28s %14s %14s %8s\n" "RSS for $KEYS keys (KiB)" "${R[organic,rss]}" "${R[redis,rss]}" \
  "$(ratio "${R[organic,rss]}" "${R[redis,rss]}")"
printf "%-28s %14s %14s %8s\n" "restart to ready (ms)" "${R[organic,ready]}" "${R[redis,ready]}" \
  "$(ratio "${R[organic,ready]}" "${R[redis,ready]}")"
printf "%-28s %14s %14s\n" "keys after load / restart" "${R[organic,dbsize]}/${R[organic,dbsize2]}" \
  "${R[redis,dbsize]}/${R[redis,dbsize2]}"
