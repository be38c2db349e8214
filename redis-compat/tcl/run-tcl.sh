#!/usr/bin/env bash
# Runs Redis's own Tcl test suite (7.0.15, external mode) against a running server.
#
# Usage:
#   redis-compat/tcl/run-tcl.sh [--port P | --server-bin PATH] [--host H] [--units "unit/a unit/b"]
#                               [--tags "TAGS"] [--timeout SECONDS] [-- EXTRA_SUITE_ARGS...]
#
#   --port P           test a server already listening on H:P (H defaults to 127.0.0.1).
#   --server-bin PATH  start PATH on a free port in a temporary dir, test it, stop it. The server
#                      gets `--port P --dir D`; when PATH is a redis-server, also
#                      `--save '' --appendonly no`. If the server dies during a unit it is
#                      restarted for the next unit, and the unit counts as crashed.
#   --units "..."      units to run (default: the nine string/keyspace/expire/protocol units in
#                      kDefaultUnits below).
#   --tags "..."       the suite's tag filter (default "-needs:debug -needs:repl"; README.md says why).
#   --timeout S        per-unit wall-clock limit (default 300 s); a unit over it counts as crashed.
#   -- ARGS            passed to tests/test_helper.tcl as is (e.g. --only "SET and GET an item",
#                      --ignore-encoding, --verbose).
#
# Output: one line per unit, the names of failing tests with the first line of their error, and
# last a line exactly `N passed, M failed, K skipped`. A crashed / timed-out unit (exception,
# server death, no "The End") adds one to M. Exit status: 0 if M is 0, 1 otherwise, 2 on usage
# errors. Full logs are kept in redis-compat/.work/tcl-logs/ (git-ignored; ORGANIC_TCL_LOG_DIR
# overrides it, e.g. for two runs at once). The suite is fetched first if it is missing.
#
# Tests named in redis-compat/tcl/skip.txt are skipped (see that file for its format).
set -uo pipefail

readonly kDefaultUnits="unit/type/string unit/type/incr unit/type/hash unit/type/set unit/keyspace unit/expire unit/protocol
unit/scan unit/info-command unit/quit unit/introspection-2"
# needs:debug: DEBUG / OBJECT REFCOUNT internals (shared integers, object addresses); Redis's own
#              "external-nodebug" CI job runs external mode with this same filter.
# needs:repl:  attaches to the replication stream with SYNC; not a goal of this project.
readonly kDefaultTags="-needs:debug -needs:repl"
readonly kDefaultUnitTimeout=300

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
compat_dir="$(cd "$script_dir/.." && pwd)"
suite_dir="$compat_dir/redis-tests"
skip_file="${ORGANIC_TCL_SKIP_FILE:-$script_dir/skip.txt}"
log_dir="${ORGANIC_TCL_LOG_DIR:-$compat_dir/.work/tcl-logs}"

host="127.0.0.1"
port=""
server_bin=""
units="$kDefaultUnits"
tags="$kDefaultTags"
unit_timeout="$kDefaultUnitTimeout"
extra_args=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
die_usage() { echo "run-tcl: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) [[ $# -ge 2 ]] || die_usage "--port needs a value"; port="$2"; shift 2 ;;
    --host) [[ $# -ge 2 ]] || die_usage "--host needs a value"; host="$2"; shift 2 ;;
    --server-bin) [[ $# -ge 2 ]] || die_usage "--server-bin needs a value"; server_bin="$2"; shift 2 ;;
    --units) [[ $# -ge 2 ]] || die_usage "--units needs a value"; units="$2"; shift 2 ;;
    --tags) [[ $# -ge 2 ]] || die_usage "--tags needs a value"; tags="$2"; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || die_usage "--timeout needs a value"; unit_timeout="$2"; shift 2 ;;
    --) shift; extra_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument '$1' (see --help)" ;;
  esac
done

if [[ -n "$port" && -n "$server_bin" ]]; then die_usage "give --port or --server-bin, not both"; fi
if [[ -z "$port" && -z "$server_bin" ]]; then die_usage "give --port P or --server-bin PATH"; fi
if [[ -n "$server_bin" && ! -x "$server_bin" ]]; then
  die_usage "--server-bin '$server_bin' is not an executable file"
fi
[[ "$unit_timeout" =~ ^[0-9]+$ ]] || die_usage "--timeout must be a number of seconds"
command -v tclsh >/dev/null || { echo "run-tcl: tclsh not found (apt-get install tcl)" >&2; exit 2; }

if [[ ! -f "$suite_dir/tests/test_helper.tcl" ]]; then
  "$script_dir/fetch-redis-tests.sh" || { echo "run-tcl: could not fetch the test suite" >&2; exit 2; }
fi

rm -rf "$log_dir"
mkdir -p "$log_dir"

# The suite reads its skip list verbatim (one exact name, or /regex, per line); strip our comments.
suite_skip="$log_dir/skip.list"
if [[ -f "$skip_file" ]]; then
  sed -E -e '/^[[:space:]]*#/d' -e 's/[[:space:]]+#.*$//' -e 's/[[:space:]]+$//' -e '/^$/d' \
    "$skip_file" >"$suite_skip"
else
  : >"$suite_skip"
fi

# ---------------------------------------------------------------------------------------------
# Server management (only with --server-bin).
server_pid=""
server_dir=""
server_starts=0

# True if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Answers PING with +PONG within one second.
server_answers() {
  local reply=""
  {
    exec 3<>"/dev/tcp/$host/$1" || return 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 1 reply <&3 || true
    exec 3<&-
  } 2>/dev/null
  [[ "$reply" == "+PONG"* ]]
}

pick_free_port() {
  # Stay below 21079: the suite's own test server listens on 21079-21110 and +10000.
  local candidate
  for _ in $(seq 1 200); do
    candidate=$((17000 + RANDOM % 4000))
    if ! port_in_use "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

start_server() {
  server_starts=$((server_starts + 1))
  port="$(pick_free_port)" || { echo "run-tcl: no free port found" >&2; return 1; }
  server_dir="$(mktemp -d)"
  local args=(--port "$port" --dir "$server_dir")
  if [[ "$(basename "$server_bin")" == redis-server* ]]; then
    args+=(--save '' --appendonly no)
  fi
  "$server_bin" "${args[@]}" >"$log_dir/server-$server_starts.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    if server_answers "$port"; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "run-tcl: $server_bin did not answer PING on port $port; its log:" >&2
  tail -n 20 "$log_dir/server-$server_starts.log" >&2
  stop_server
  return 1
}

stop_server() {
  [[ -n "$server_pid" ]] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null
  fi
  wait "$server_pid" 2>/dev/null
  server_pid=""
  [[ -n "$server_dir" ]] && rm -rf "$server_dir"
  server_dir=""
}

server_alive() { [[ -z "$server_bin" ]] || kill -0 "$server_pid" 2>/dev/null; }

trap 'stop_server' EXIT
trap 'exit 130' INT TERM

if [[ -n "$server_bin" ]]; then
  start_server || exit 1
  echo "run-tcl: started $server_bin on port $port (pid $server_pid)"
elif ! server_answers "$port"; then
  echo "run-tcl: nothing answers PING on $host:$port" >&2
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# Run the units.
total_passed=0
total_failed=0
total_skipped=0
failures=()     # "unit: test name -- first error line"

for unit in $units; do
  if [[ ! -f "$suite_dir/tests/$unit.tcl" ]]; then
    echo "run-tcl: unknown unit '$unit' (no tests/$unit.tcl)" >&2
    failures+=("$unit: unknown unit")
    total_failed=$((total_failed + 1))
    continue
  fi
  # Each unit gets a fresh server when we start it: units change server-wide state and do not
  # always restore it (unit/type/set's large-memory block leaves proto-max-bulk-len at 10 GB,
  # after which unit/protocol's "out of range" bulk length is a valid one and the test waits
  # for 2 GB that never come).
  if [[ -n "$server_bin" ]] && { [[ "$unit" != "${units%% *}" ]] || ! server_alive; }; then
    stop_server
    start_server || { failures+=("$unit: server could not be restarted"); total_failed=$((total_failed + 1)); break; }
  fi

  log="$log_dir/${unit//\//_}.log"
  started=$SECONDS
  # timeout(1) puts the suite in its own process group and signals the whole group, so the test
  # client that test_helper.tcl spawns dies with it. TERM=dumb: no colour codes to parse.
  (cd "$suite_dir" && TERM=dumb timeout --kill-after=10 "$unit_timeout" \
      tclsh tests/test_helper.tcl --host "$host" --port "$port" --single "$unit" --clients 1 \
      --durable --tags "$tags" --skipfile "$suite_skip" "${extra_args[@]}" \
      </dev/null >"$log" 2>&1)
  rc=$?
  elapsed=$((SECONDS - started))

  # Strip any colour codes anyway, then count the suite's per-test status lines.
  clean="$log_dir/${unit//\//_}.clean"
  sed -E 's/\x1b\[[0-9;]*m//g' "$log" >"$clean"
  passed=$(grep -c '^\[ok\]: ' "$clean")
  failed=$(grep -c '^\[err\]: ' "$clean")
  skipped=$(grep -c '^\[skip\]: ' "$clean")
  ignored=$(grep -c '^\[ignore\]: ' "$clean")

  # Each [err] line is "[err]: <name> in tests/<unit>.tcl" followed by the error's lines.
  while IFS= read -r entry; do
    failures+=("$unit: $entry")
  done < <(awk '
    /^\[err\]: / { name = substr($0, 8); sub(/ in tests\/[^ ]*\.tcl$/, "", name); want = 1; next }
    want { print name " -- " substr($0, 1, 240); want = 0 }
    END { if (want) print name }
  ' "$clean")

  crash=""
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    crash="timed out after ${unit_timeout}s"
  elif grep -q '^\[exception\]: ' "$clean"; then
    crash="exception: $(grep -m1 '^\[exception\]: ' "$clean" | cut -c 14- | cut -c 1-240)"
  elif ! grep -q 'The End' "$clean"; then
    crash="suite exited (rc $rc) without finishing; see $log"
  elif [[ $rc -ne 0 && $failed -eq 0 ]]; then
    crash="suite exited with rc $rc but reported no failing test; see $log"
  fi
  if [[ -n "$server_bin" ]] && ! server_alive; then
    crash="${crash:+$crash; }server died (log: $log_dir/server-$server_starts.log)"
  fi
  if [[ -n "$crash" ]]; then
    failures+=("$unit: UNIT CRASHED -- $crash")
    failed=$((failed + 1))
  fi

  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped + ignored))
  printf '%-24s %4d passed, %3d failed, %3d skipped, %3d ignored by tag  (%ds)%s\n' \
    "$unit" "$passed" "$failed" "$skipped" "$ignored" "$elapsed" "${crash:+  [CRASHED]}"
done

if [[ ${#failures[@]} -gt 0 ]]; then
  echo
  echo "Failing tests:"
  for entry in "${failures[@]}"; do
    echo "  $entry"
  done
fi
echo "logs: $log_dir"
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
[[ $total_failed -eq 0 ]]
