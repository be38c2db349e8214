#!/usr/bin/env bash
# Hostile clients against organic-server and redis-server in the same run (issue #9, section 4;
# docs/benchmarks.md "Hostile clients", docs/reliability.md "Hostile clients and limits").
#
# Each load runs for SECONDS against a fresh server (pinned to CPU 0; the load tool
# tools/hostile_clients.py and its PING prober run on CPU 1), first redis-server, then
# organic-server, with their default configuration except where the load says otherwise.
# The table gives the server's peak and final VmRSS, a normal client's PING p50/p99/max
# (one PING every 5 ms on its own connection) and what the server did to the hostile clients.
# A server whose RSS passes KILL_MB (default 4096) is SIGKILLed so the machine survives:
# its row then says "killed".
#
# Usage: tools/bench-clients.sh [--quick]       (--quick: 5 s per load instead of 15)
# Environment: ONLY=<load name> runs one load; ORGANIC_BIN, REDIS_BIN choose the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
ORGANIC=${ORGANIC_BIN:-build/organic-server}
REDIS=${REDIS_BIN:-/usr/bin/redis-server}
SECONDS_PER_LOAD=15
[ "${1:-}" = "--quick" ] && SECONDS_PER_LOAD=5
KILL_MB=${KILL_MB:-4096}
WORK=$(mktemp -d /tmp/organic-clients-bench-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
SERVER_PID=
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
source tools/bench-lib.sh
# 10,000 clients in the load tool, as many in the server.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 10300 ]; then
  echo "RLIMIT_NOFILE hard limit $(ulimit -Hn) < 10300: the 10,000-client load cannot run" >&2
fi

# name | server options (both servers) | load tool options
LOADS=(
  "non-readers||--non-readers 500 --pipeline 100 --value-size 1048576"
  "slow-loris||--slow-loris 1000"
  "idle-timeout|--timeout 5|--idle 5000"
  "10k-active|--maxclients 10100|--active 10000"
  "combined||--non-readers 200 --pipeline 100 --value-size 1048576 --idle 2000 --slow-loris 50"
)
# Extra rows: Redis made to pass the combined load with its own knobs.
REDIS_EXTRA=(
  "combined|--client-output-buffer-limit 'normal 64mb 16mb 10'|obuf-limit"
  "combined|--maxmemory-clients 512mb|maxmemory-clients"
)

run() {  # server-name label server-options load-options
  local server=$1 label=$2 sopts=$3 lopts=$4 dir=$WORK/$1-$2
  mkdir -p "$dir"
  PORT=$((PORT + 1))  # a fresh port: the previous server's may still be in TIME_WAIT
  eval "set -- $sopts"  # the options may hold quoted words ('normal 64mb 16mb 10')
  if [ "$server" = redis ]; then
    taskset -c 0 "$REDIS" --port "$PORT" --dir "$dir" --save '' --daemonize no "$@" \
      >"$dir.log" 2>&1 &
  else
    taskset -c 0 "$ORGANIC" --port "$PORT" --dir "$dir" --save '' "$@" >"$dir.log" 2>&1 &
  fi
  SERVER_PID=$!
  wait_ready "$dir.log"
  local json
  # shellcheck disable=SC2086
  json=$(taskset -c 1 /usr/bin/python3 tools/hostile_clients.py --port "$PORT" --pid "$SERVER_PID" \
    --seconds "$SECONDS_PER_LOAD" --kill-rss-mb "$KILL_MB" $lopts)
  if kill -0 "$SERVER_PID" 2>/dev/null; then stop; else wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$dir"
  printf '| %s | %s | %s | %s | %s | %s / %s / %s | %s |\n' "$label" "$server" \
    "$(echo "$json" | field "['rss_peak_mb']")" "$(echo "$json" | field "['rss_end_mb']")" \
    "$(echo "$json" | field "['connected_at_end']")" \
    "$(echo "$json" | field "['ping_p50_ms']")" "$(echo "$json" | field "['ping_p99_ms']")" \
    "$(echo "$json" | field "['ping_max_ms']")" \
    "$(echo "$json" | /usr/bin/python3 -c "
import json, sys
j = json.load(sys.stdin)
notes = []
if j.get('killed_over_mb'): notes.append('killed at %d MB RSS' % j['killed_over_mb'])
if j.get('evicted_clients'): notes.append('%d clients evicted' % j['evicted_clients'])
if j.get('obuf_limit_closes'): notes.append('%d closed by output limit' % j['obuf_limit_closes'])
if j.get('connections_refused'): notes.append('%d refused' % j['connections_refused'])
if j.get('active_ops_per_sec'): notes.append('%d ops/s' % j['active_ops_per_sec'])
if j.get('ping_failures'): notes.append('%d PING failures' % j['ping_failures'])
print(', '.join(notes) or '-')")"
}

printf '| load | server | peak RSS MB | end RSS MB | clients at end | PING p50 / p99 / max ms | notes |\n'
printf '|---|---|---|---|---|---|---|\n'
for l in "${LOADS[@]}"; do
  IFS='|' read -r name sopts lopts <<<"$l"
  [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && continue
  run redis "$name" "$sopts" "$lopts"
  run organic "$name" "$sopts" "$lopts"
  if [ "$name" = combined ]; then
    for x in "${REDIS_EXTRA[@]}"; do
      IFS='|' read -r _ xopts xlabel <<<"$x"
      run redis "combined ($xlabel)" "$xopts" "$lopts"
    done
  fi
done
