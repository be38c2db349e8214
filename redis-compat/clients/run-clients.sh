#!/usr/bin/env bash
# Real-client compatibility matrix: redis-cli, redis-py, node-redis (current + v4), ioredis.
#
# Usage:
#   run-clients.sh --port P           test the server already listening on 127.0.0.1:P
#   run-clients.sh --server-bin PATH  start PATH on a free port in a temp dir, test it, stop it
#                                     (PATH --port P --dir D; for redis-server also --save ''
#                                     --appendonly no)
# The tests FLUSHALL the server. Node packages are installed with `npm ci` only when
# node_modules/ is missing, so a prepared tree runs offline.
# Ends with the line "N passed, M failed" over all suites; exit status 1 on any failure.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=
SERVER_BIN=
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --server-bin) SERVER_BIN="$2"; shift 2 ;;
    *) echo "usage: $0 --port P | --server-bin PATH" >&2; exit 2 ;;
  esac
done
if [ -z "$PORT" ] && [ -z "$SERVER_BIN" ] || [ -n "$PORT" ] && [ -n "$SERVER_BIN" ]; then
  echo "usage: $0 --port P | --server-bin PATH" >&2
  exit 2
fi

PASSED=0
FAILED=0
SERVER_PID=
SERVER_DIR=

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
}
cleanup() {
  stop_server
  [ -n "$SERVER_DIR" ] && rm -rf "$SERVER_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

if [ -n "$SERVER_BIN" ]; then
  [ -x "$SERVER_BIN" ] || { echo "server binary not executable: $SERVER_BIN" >&2; exit 2; }
  SERVER_DIR=$(mktemp -d)
  PORT=$(free_port)
  args=(--port "$PORT" --dir "$SERVER_DIR")
  if [ "$(basename "$SERVER_BIN")" = redis-server ]; then
    args+=(--save '' --appendonly no)
  fi
  "$SERVER_BIN" "${args[@]}" > "$SERVER_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  up=0
  for _ in $(seq 1 100); do
    if [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ]; then up=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$up" != 1 ]; then
    echo "server did not answer PING on port $PORT; log:" >&2
    tail -20 "$SERVER_DIR/server.log" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "# started $SERVER_BIN on port $PORT (pid $SERVER_PID)"
fi

if [ ! -d "$HERE/node_modules" ]; then
  echo "# installing node packages (npm ci)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || echo "# npm ci failed"
fi

# Runs one suite with a time limit and adds the counts from its "NAME: N passed, M failed" line.
# A suite that dies or times out without that line counts as one failure.
run_suite() {
  local name="$1" limit="$2"
  shift 2
  local log="${SERVER_DIR:-/tmp}/suite-$name.$$.log"
  echo "# --- $name"
  timeout --kill-after=5 "$limit" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -1)
  rm -f "$log"
  if [ -z "$line" ]; then
    echo "FAIL - $name: suite ended without a count (exit $rc)"
    FAILED=$((FAILED + 1))
    return
  fi
  local p f
  p=$(echo "$line" | sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
  f=$(echo "$line" | sed -E 's/^.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$f" = 0 ] && [ "$rc" != 0 ]; then
    echo "FAIL - $name: exit status $rc"
    FAILED=$((FAILED + 1))
  fi
}

run_suite redis-cli 60 bash "$HERE/cli_test.sh" --port "$PORT"
run_suite redis-py 60 /usr/bin/python3 "$HERE/py_test.py" --port "$PORT"
run_suite node 100 node "$HERE/node_test.mjs" --port "$PORT"

if [ -n "$SERVER_PID" ]; then
  # The server must have survived every client.
  if kill -0 "$SERVER_PID" 2>/dev/null && [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ]; then
    PASSED=$((PASSED + 1)); echo "ok - server/alive_after_all_clients"
  else
    FAILED=$((FAILED + 1)); echo "FAIL - server/alive_after_all_clients; log tail:"
    tail -20 "$SERVER_DIR/server.log"
  fi
  stop_server
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
