#!/usr/bin/env bash
# Benchmarks organic-server against redis-server in the same run (docs/benchmarks.md).
#
# Usage: tools/bench-vs-redis.sh [--quick] [--rounds N]
#   --quick     10x smaller request counts (a smoke run; not the figures we record)
#   --rounds N  alternate the two servers N times per test (default 3) and report medians
#
# Both servers run at once on loopback ports, pinned to CPU 0; redis-benchmark runs on CPU 1
# (taskset). Each test alternates redis, organic, redis, organic ... so slow drifts of the
# machine hit both alike; single sequential runs on a 2-core machine spread by +-15%.
# Redis runs with `save '' appendonly yes appendfsync everysec`, organic-server with
# `save '' appendfsync everysec`: the same persistence settings, no snapshot at save points on
# either side (Redis's BGSAVE, organic's periodic flush), each one's log rewrite/flush by log size
# at its defaults. Memory and restart figures use a fresh process and data dir each.
set -euo pipefail
cd "$(dirname "$0")/.."
ORGANIC=${ORGANIC_BIN:-build/organic-server}
REDIS=${REDIS_BIN:-/usr/bin/redis-server}
SCALE=1
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SCALE=10; shift ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: $0 [--quick] [--rounds N]" >&2; exit 2 ;;
  esac
done
N1=$((1000000 / SCALE)); N2=$((2000000 / SCALE)); KEYS=$((1000000 / SCALE))
WORK=$(mktemp -d /tmp/organic-bench-XXXXXX)
BASE_PORT=$((20000 + RANDOM % 20000))
declare -A PORT=([redis]=$BASE_PORT [organic]=$((BASE_PORT + 1)))
declare -A PID
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_server() {  # name data-dir-name -> PID[name], READY_MS
  local name=$1 dir=$WORK/$2 port=${PORT[$1]}
  mkdir -p "$dir"
  if [ "$name" = redis ]; then
    taskset -c 0 "$REDIS" --port "$port" --dir "$dir" --save '' --appendonly yes \
      --appendfsync everysec --daemonize no >"$dir.log" 2>&1 &
  else
    taskset -c 0 "$ORGANIC" --port "$port" --dir "$dir" --save '' --appendfsync everysec \
      >"$dir.log" 2>&1 &
  fi
  PID[$name]=$!
  local t0
  t0=$(date +%s%N)
  # Ready = answers PONG (a loading Redis answers -LOADING, which is not ready).
  until [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; do sleep 0.005; done
  READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
stop_server() {
  redis-cli -p "${PORT[$1]}" shutdown >/dev/null 2>&1 || true
  wait "${PID[$1]}" 2>/dev/null || true
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/${PID[$1]}/status"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

# redis-benchmark --csv: "test","rps","avg_latency_ms","min","p50","p95","p99","max"
declare -A RPS P99
run_bench() {  # label args...
  local label=$1; shift
  for ((r = 0; r < ROUNDS; r++)); do
    for name in redis organic; do
      while IFS=, read -r t rps _ _ _ _ p99 _; do
        RPS[$name,$label,$t]+="$rps "
        P99[$name,$label,$t]+="$p99 "
      done < <(taskset -c 1 redis-benchmark -p "${PORT[$name]}" "$@" --csv 2>/dev/null |
               tail -n +2 | tr -d '"')
    done
  done
}

start_server redis redis
start_server organic organic
run_bench c50 -t set,get -n $N1 -c 50 -r 1000000 -d 32
run_bench c50p16 -t set,get -n $N2 -c 50 -r 1000000 -d 32 -P 16
stop_server redis
stop_server organic

# Memory for KEYS keys (16-byte keys, 32-byte values) and restart time on that data.
/usr/bin/python3 - "$KEYS" > "$WORK/load.resp" <<'PY'
import sys
n = int(sys.argv[1]); v = b"v" * 32; out = sys.stdout.buffer
for i in range(n):
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + (b"key:%012d" % i) + b"\r\n$32\r\n" + v + b"\r\n")
PY
declare -A RSS READY KEYS_AFTER
for name in redis organic; do
  start_server $name $name-load
  base=$(rss_kb $name)
  redis-cli -p "${PORT[$name]}" --pipe < "$WORK/load.resp" >/dev/null
  sleep 1
  RSS[$name]=$(( $(rss_kb $name) - base ))
  stop_server $name
  start_server $name $name-load
  READY[$name]=$READY_MS
  KEYS_AFTER[$name]=$(redis-cli -p "${PORT[$name]}" dbsize)
  stop_server $name
done

printf "%-30s %14s %14s %8s\n" "measurement (median of $ROUNDS)" organic redis ratio
for l in c50 c50p16; do
  for t in SET GET; do
    o=$(echo ${RPS[organic,$l,$t]} | tr ' ' '\n' | median)
    r=$(echo ${RPS[redis,$l,$t]} | tr ' ' '\n' | median)
    printf "%-30s %14s %14s %8s\n" "$l $t ops/s" "$o" "$r" "$(ratio "$o" "$r")"
    o=$(echo ${P99[organic,$l,$t]} | tr ' ' '\n' | median)
    r=$(echo ${P99[redis,$l,$t]} | tr ' ' '\n' | median)
    printf "%-30s %14s %14s %8s\n" "$l $t p99 ms" "$o" "$r" "$(ratio "$o" "$r")"
  done
done
printf "%-30s %14s %14s %8s\n" "RSS for $KEYS keys (KiB)" "${RSS[organic]}" "${RSS[redis]}" \
  "$(ratio "${RSS[organic]}" "${RSS[redis]}")"
printf "%-30s %14s %14s %8s\n" "restart to ready (ms)" "${READY[organic]}" "${READY[redis]}" \
  "$(ratio "${READY[organic]}" "${READY[redis]}")"
printf "%-30s %14s %14s\n" "keys after restart" "${KEYS_AFTER[organic]}" "${KEYS_AFTER[redis]}"
