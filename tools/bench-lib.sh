# Shared by the tools/bench-*.sh scripts (sourced, not run). The caller sets PORT, BENCH and,
# after starting a server in the background, SERVER_PID.

# Waits until the server on $PORT answers PING; otherwise exits with the server's log ($1).
wait_ready() {
  for _ in $(seq 1 200); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server did not start: $(cat "$1")" >&2
  exit 1
}
# Stops the server without a final flush (a benchmark measures nothing after this).
stop() {
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
# organic-bench on CPU 1 (the servers run on CPU 0), JSON report on stdout.
bench() { taskset -c 1 "$BENCH" --port "$PORT" --quiet --json "$@"; }
# A field of a JSON report on stdin: field "['latency_ms']['p99']".
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
