#!/usr/bin/env bash
# Benchmarks organic-server's hashes and sets against redis-server in the same run
# (docs/benchmarks.md).
#
# Usage: tools/bench-collections.sh [--quick] [--rounds N] [--mode pinned|unpinned|both|none]
#                                    [--memory]
#   --quick     10x smaller request counts and datasets (a smoke run; not the figures we record)
#   --rounds N  alternate the two servers N times per test (default 3) and report medians
#   --mode M    pinned: servers on CPU 0 and redis-benchmark on CPU 1 (taskset); unpinned: no
#               taskset at all; both (default): the two, one after the other; none: no
#               throughput tables (with --memory: the memory section alone)
#   --memory    also run the memory section (off by default: it loads two large datasets)
# Environment: ORGANIC_BIN, REDIS_BIN (default build/organic-server, /usr/bin/redis-server),
#   RUN_TIMEOUT (seconds a single redis-benchmark run may take, default 600).
#
# What is measured, and why:
# 1. Write paths of large collections: `redis-benchmark -t hset,sadd,spop -c 50 -r 1000000` at
#    -P 1 and -P 16. With -r the field/member names are random, so HSET grows one hash
#    ("myhash") and SADD one set ("myset") to ~n distinct entries (member spaces, not the
#    inline encoding); SPOP then pops that set empty (the remaining SPOPs find no key). The
#    keys stay across rounds: the hash keeps growing, the set is rebuilt by each SADD phase.
# 2. Read paths of small collections: HGETALL of a 100-field hash and SMEMBERS of a
#    100-member set (fields, values and members of 10 bytes; created before the runs), as
#    custom redis-benchmark commands at -P 1 and -P 16: reply building dominates here.
# 3. Both in two placements: pinned (servers on CPU 0, client on CPU 1, the set-up of
#    tools/bench-vs-redis.sh: steadier) and unpinned (the scheduler places everything: what a
#    2-core machine gives without tuning, where client and servers compete).
#    Both servers run at once (fresh process and data dir per mode), Redis with
#    `--save '' --appendonly yes --appendfsync everysec`, organic-server with
#    `--save '' --appendfsync everysec`. Each test alternates redis, organic, redis, organic...
#    ROUNDS times and the tables give medians (single sequential runs on 2 cores spread
#    +-15%). Before each run the script waits until neither server has background work in
#    progress (Redis AOF rewrite / BGSAVE, organic flush / compaction), so one server's
#    background work does not land on the other's test.
# 4. Memory (--memory): per-entry cost of (a) 1,000,000 hashes "h:<i>" of 10 fields f0..f9
#    with 8-byte values (Redis keeps these as listpacks) and (b) one hash of 1,000,000 fields
#    "field:<i>" with 8-byte values (a Redis hashtable). Loaded through `redis-cli --pipe`
#    (one HSET per hash in (a), one per field in (b)), one server at a time (on CPU 0,
#    redis-cli on CPU 1), each in a fresh process and data dir; after 3 s and once no background work is in progress, the table
#    gives VmRSS, its growth over the empty server, and INFO's used_memory.
# Ratios are organic / redis: above 1 is better for ops/s, below 1 for latency and memory.
set -euo pipefail
cd "$(dirname "$0")/.."
ORGANIC_SRC=${ORGANIC_BIN:-build/organic-server}
REDIS=${REDIS_BIN:-/usr/bin/redis-server}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
SCALE=1
ROUNDS=3
MODE=both
MEMORY=0
usage() { sed -n '5,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SCALE=10; shift ;;
    --rounds) [ $# -ge 2 ] || usage; ROUNDS=$2; shift 2 ;;
    --mode) [ $# -ge 2 ] || usage; MODE=$2; shift 2 ;;
    --memory) MEMORY=1; shift ;;
    *) usage ;;
  esac
done
case "$MODE" in
  pinned) MODES=(pinned) ;;
  unpinned) MODES=(unpinned) ;;
  both) MODES=(pinned unpinned) ;;
  none) MODES=() ;;
  *) usage ;;
esac
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || usage
[ -x "$ORGANIC_SRC" ] || { echo "no organic-server at $ORGANIC_SRC (build it first)" >&2; exit 1; }
[ -x "$REDIS" ] || { echo "no redis-server at $REDIS" >&2; exit 1; }

# Request counts: each test takes ~3-5 s per server on the 2-core reference machine, idle
# (-t runs three tests). RANGE is redis-benchmark's -r for the write tests.
N_WRITE_P1=$((200000 / SCALE)); N_WRITE_P16=$((1000000 / SCALE))
N_HGETALL_P1=$((160000 / SCALE)); N_HGETALL_P16=$((400000 / SCALE))
N_SMEMBERS_P1=$((200000 / SCALE)); N_SMEMBERS_P16=$((800000 / SCALE))
RANGE=1000000
MEM_HASHES=$((1000000 / SCALE)); MEM_FIELDS=$((1000000 / SCALE))

WORK=$(mktemp -d /tmp/organic-bench-coll-XXXXXX)
declare -A PORT PID
cleanup() {
  local p
  for p in "${PID[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PID[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The organic binary as it is now: a rebuild during the run does not mix two binaries.
ORGANIC=$WORK/organic-server
cp "$ORGANIC_SRC" "$ORGANIC"

free_ports() {  # two distinct free loopback ports, assigned by the kernel
  /usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
}
read -r PORT[redis] PORT[organic] < <(free_ports)

SRV_PIN=(); CLI_PIN=()
set_mode() {
  if [ "$1" = pinned ]; then SRV_PIN=(taskset -c 0); CLI_PIN=(taskset -c 1)
  else SRV_PIN=(); CLI_PIN=(); fi
}
cli() { local name=$1; shift; redis-cli -p "${PORT[$name]}" "$@"; }

start_server() {  # name data-dir-name -> PID[name]
  local name=$1 dir=$WORK/$2 port=${PORT[$1]}
  mkdir -p "$dir"
  if [ "$name" = redis ]; then
    "${SRV_PIN[@]}" "$REDIS" --port "$port" --dir "$dir" --save '' --appendonly yes \
      --appendfsync everysec --daemonize no >"$dir.log" 2>&1 &
  else
    "${SRV_PIN[@]}" "$ORGANIC" --port "$port" --dir "$dir" --save '' --appendfsync everysec \
      >"$dir.log" 2>&1 &
  fi
  PID[$name]=$!
  local i
  for ((i = 0; i < 2000; i++)); do  # up to 20 s; a loading Redis answers -LOADING
    [ "$(cli "$name" ping 2>/dev/null)" = PONG ] && return 0
    kill -0 "${PID[$name]}" 2>/dev/null || break
    sleep 0.01
  done
  echo "$name did not start on port $port:" >&2
  cat "$dir.log" >&2
  exit 1
}
stop_server() {
  local name=$1 i
  cli "$name" shutdown nosave >/dev/null 2>&1 || true
  for ((i = 0; i < 600; i++)); do
    kill -0 "${PID[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  kill "${PID[$name]}" 2>/dev/null || true
  wait "${PID[$name]}" 2>/dev/null || true
  PID[$name]=
}

# True while the server runs background work: Redis an AOF rewrite or BGSAVE (a forked child),
# organic-server a flush or compaction (fields absent from INFO count as idle).
busy() {
  cli "$1" info persistence 2>/dev/null | tr -d '\r' | grep -qE \
      '^(aof_rewrite_in_progress|aof_rewrite_scheduled|rdb_bgsave_in_progress):1' && return 0
  [ "$1" = organic ] || return 1
  cli organic info organic 2>/dev/null | tr -d '\r' | grep -qE \
      '^organic_(flush|compaction)_in_progress:[1-9]'
}
quiesce() {  # names...: waits (up to 120 s) until none of them is busy
  local i name again
  for ((i = 0; i < 1200; i++)); do
    again=0
    for name in "$@"; do busy "$name" && again=1; done
    [ $again = 0 ] && return 0
    sleep 0.1
  done
  echo "warning: background work still in progress after 120 s on: $*" >&2
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# The median of a list of values, or the first non-number (timeout, failed) if there is one.
med() {
  local v
  for v in $1; do [[ "$v" =~ ^[0-9.]+$ ]] || { echo "$v"; return; }; done
  [ -n "$1" ] || { echo missing; return; }
  echo $1 | tr ' ' '\n' | median
}
ratio() {
  [[ "$1" =~ ^[0-9.]+$ && "$2" =~ ^[0-9.]+$ ]] || { echo "-"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'
}
commas() {  # 1234567.8 -> 1,234,568 (non-numbers unchanged)
  [[ "$1" =~ ^[0-9.]+$ ]] || { echo "$1"; return; }
  printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'
}


# redis-benchmark --csv: "test","rps","avg_latency_ms","min","p50","p95","p99","max".
# RPS/P99[server,mode,label,TEST] collect one value per round. A run that times out, fails or
# prints nothing records "timeout"/"failed" for its tests (the tables then show that word).
declare -A RPS P99
run_bench() {  # mode label "TEST..." redis-benchmark-args...
  local mode=$1 label=$2 tests=$3; shift 3
  local r name t rps p99 out rc what
  for ((r = 1; r <= ROUNDS; r++)); do
    for name in redis organic; do
      echo "  $mode $label: round $r/$ROUNDS, $name" >&2
      quiesce redis organic
      rc=0
      out=$(timeout "$RUN_TIMEOUT" "${CLI_PIN[@]}" redis-benchmark -p "${PORT[$name]}" --csv \
              "$@" 2>"$WORK/bench.err") || rc=$?
      if grep -q 'Error from server' "$WORK/bench.err"; then
        echo "redis-benchmark $* on $name: $(grep -m1 'Error from server' "$WORK/bench.err")" >&2
        exit 1
      fi
      out=$(echo "$out" | tail -n +2 | tr -d '"')
      # A custom command's test is named after its text: store it under the one TEST given.
      [ "${tests// /}" = "$tests" ] && out=$(echo "$out" | sed "s/^[^,]*,/$tests,/")
      if [ $rc != 0 ] || [ -z "$out" ]; then
        what=failed; [ $rc = 124 ] && what="timeout>${RUN_TIMEOUT}s"
        echo "warning: redis-benchmark $* on $name ($mode): $what" >&2
        for t in $tests; do RPS[$name,$mode,$label,$t]+="$what "; P99[$name,$mode,$label,$t]+="$what "; done
        continue
      fi
      while IFS=, read -r t rps _ _ _ _ p99 _; do
        RPS[$name,$mode,$label,$t]+="$rps "
        P99[$name,$mode,$label,$t]+="$p99 "
      done <<<"$out"
    done
  done
}

# bench:h100: 100 fields field:0000 -> value:0000; bench:s100: 100 members member:000
# (10 bytes each).
make_small_keys() {  # name
  local name=$1 i args=()
  for ((i = 0; i < 100; i++)); do args+=("$(printf 'field:%04d' $i)" "$(printf 'value:%04d' $i)"); done
  cli "$name" del bench:h100 bench:s100 >/dev/null
  cli "$name" hset bench:h100 "${args[@]}" >/dev/null
  args=()
  for ((i = 0; i < 100; i++)); do args+=("$(printf 'member:%03d' $i)"); done
  cli "$name" sadd bench:s100 "${args[@]}" >/dev/null
  check_small_keys "$name"
}
check_small_keys() {  # name: both keys whole, and their full replies as long as they should be
  local h s
  h=$(cli "$1" hlen bench:h100); s=$(cli "$1" scard bench:s100)
  if [ "$h" != 100 ] || [ "$s" != 100 ] || [ "$(cli "$1" hgetall bench:h100 | wc -l)" != 200 ] ||
     [ "$(cli "$1" smembers bench:s100 | wc -l)" != 100 ]; then
    echo "$1: bench:h100 has $h fields, bench:s100 $s members (want 100 each)" >&2
    exit 1
  fi
}

throughput() {  # mode
  local mode=$1 p n
  set_mode "$mode"
  echo "$mode: starting both servers" >&2
  start_server redis "redis-$mode"
  start_server organic "organic-$mode"
  make_small_keys redis
  make_small_keys organic
  for p in 1 16; do
    run_bench "$mode" "w$p" "SADD HSET SPOP" -t hset,sadd,spop -c 50 -n "$(n_for HSET $p)" \
      -r $RANGE -P $p
  done
  for p in 1 16; do
    run_bench "$mode" "r$p" HGETALL -c 50 -n "$(n_for HGETALL $p)" -P $p hgetall bench:h100
    run_bench "$mode" "r$p" SMEMBERS -c 50 -n "$(n_for SMEMBERS $p)" -P $p smembers bench:s100
  done
  check_small_keys redis
  check_small_keys organic
  stop_server redis
  stop_server organic
  print_throughput "$mode"
}
n_for() {  # TEST pipeline -> request count
  case "$1,$2" in
    HGETALL,1) echo "$N_HGETALL_P1" ;; HGETALL,16) echo "$N_HGETALL_P16" ;;
    SMEMBERS,1) echo "$N_SMEMBERS_P1" ;; SMEMBERS,16) echo "$N_SMEMBERS_P16" ;;
    *,1) echo "$N_WRITE_P1" ;; *) echo "$N_WRITE_P16" ;;
  esac
}

print_throughput() {  # mode
  local mode=$1 p t label desc ro rr po pr
  echo
  if [ "$mode" = pinned ]; then
    echo "### Throughput, pinned: servers on CPU 0, redis-benchmark on CPU 1 (median of $ROUNDS)"
  else
    echo "### Throughput, unpinned: no taskset (median of $ROUNDS)"
  fi
  echo
  echo "| test | organic ops/s | redis ops/s | ratio | organic p99 ms | redis p99 ms | ratio |"
  echo "|---|---|---|---|---|---|---|"
  for p in 1 16; do
    for t in HSET SADD SPOP HGETALL SMEMBERS; do
      label=w$p; desc=$t
      case $t in
        HGETALL) label=r$p; desc="HGETALL 100 fields" ;;
        SMEMBERS) label=r$p; desc="SMEMBERS 100 members" ;;
      esac
      ro=$(med "${RPS[organic,$mode,$label,$t]:-}"); rr=$(med "${RPS[redis,$mode,$label,$t]:-}")
      po=$(med "${P99[organic,$mode,$label,$t]:-}"); pr=$(med "${P99[redis,$mode,$label,$t]:-}")
      echo "| $desc -P $p (n=$(commas "$(n_for $t $p)")) | $(commas "$ro") | $(commas "$rr") |" \
           "$(ratio "$ro" "$rr") | $po | $pr | $(ratio "$po" "$pr") |"
    done
  done
}

# Memory: RESP files generated once, loaded into each server in turn.
gen_resp() {  # kind count > file; kind = hashes (h:<i>, f0..f9) or bighash (field:<i>)
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
buf = []
for i in range(n):
    if kind == "hashes":
        args = [b"HSET", b"h:%d" % i]
        for j in range(10):
            args += [b"f%d" % j, b"val%05d" % ((i * 10 + j) % 100000)]  # 8-byte values
        buf.append(cmd(*args))
    else:
        buf.append(cmd(b"HSET", b"bighash", b"field:%d" % i, b"val%05d" % (i % 100000)))
    if len(buf) == 10000:
        out.write(b"".join(buf)); buf = []
out.write(b"".join(buf))
PY
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/${PID[$1]}/status"; }
info_field() { cli "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2}'; }
declare -A MEM
memory_run() {  # dataset file commands entries
  local ds=$1 file=$2 cmds=$3 entries=$4 name base out got
  for name in redis organic; do
    echo "memory $ds: $name" >&2
    start_server "$name" "mem-$ds-$name"
    sleep 1
    base=$(rss_kb "$name")
    out=$("${CLI_PIN[@]}" redis-cli -p "${PORT[$name]}" --pipe <"$file" 2>&1)
    if ! grep -q "errors: 0, replies: $cmds\$" <<<"$out"; then
      echo "$name: loading $ds: $(tail -1 <<<"$out")" >&2
      exit 1
    fi
    if [ "$ds" = hashes ]; then
      got="$(cli "$name" dbsize) $(cli "$name" hlen h:0) $(cli "$name" hlen "h:$((entries - 1))")"
      [ "$got" = "$entries 10 10" ] || { echo "$name: $ds: dbsize/hlen $got" >&2; exit 1; }
    else
      got=$(cli "$name" hlen bighash)
      [ "$got" = "$entries" ] || { echo "$name: $ds: hlen $got" >&2; exit 1; }
    fi
    sleep 3
    quiesce "$name"
    sleep 1
    MEM[$name,$ds,rss]=$(rss_kb "$name")
    MEM[$name,$ds,growth]=$(( MEM[$name,$ds,rss] - base ))
    MEM[$name,$ds,per]=$(( MEM[$name,$ds,growth] * 1024 / entries ))
    MEM[$name,$ds,used]=$(info_field "$name" memory used_memory)
    if [ "$name" = redis ]; then
      MEM[$name,$ds,bg]="$(info_field redis persistence aof_rewrites) AOF rewrites"
    else
      MEM[$name,$ds,bg]="$(info_field organic organic organic_flushes) flushes"
    fi
    stop_server "$name"
    rm -rf "$WORK/mem-$ds-$name"
  done
}
memory() {
  set_mode pinned
  echo "memory: generating the datasets" >&2
  gen_resp hashes "$MEM_HASHES" >"$WORK/hashes.resp"
  memory_run hashes "$WORK/hashes.resp" "$MEM_HASHES" "$MEM_HASHES"
  rm -f "$WORK/hashes.resp"
  gen_resp bighash "$MEM_FIELDS" >"$WORK/bighash.resp"
  memory_run bighash "$WORK/bighash.resp" "$MEM_FIELDS" "$MEM_FIELDS"
  rm -f "$WORK/bighash.resp"
  local ds label unit row o r
  echo
  echo "### Memory: one server at a time, fresh process, after the load, 3 s and no background work"
  echo
  echo "| dataset | measurement | organic | redis | ratio |"
  echo "|---|---|---|---|---|"
  for ds in hashes bighash; do
    if [ $ds = hashes ]; then
      label="$(commas "$MEM_HASHES") hashes x 10 fields"; unit=hash
    else
      label="1 hash x $(commas "$MEM_FIELDS") fields"; unit=field
    fi
    for row in "rss|VmRSS (KiB)" "growth|VmRSS growth over the empty server (KiB)" \
               "per|RSS growth per $unit (bytes)" "used|used_memory (bytes)"; do
      o=${MEM[organic,$ds,${row%%|*}]}; r=${MEM[redis,$ds,${row%%|*}]}
      echo "| $label | ${row#*|} | $(commas "$o") | $(commas "$r") | $(ratio "$o" "$r") |"
    done
  done
  echo
  echo "Background work during the loads (included in the figures): 10-field hashes: organic" \
       "${MEM[organic,hashes,bg]}, redis ${MEM[redis,hashes,bg]}; big hash: organic" \
       "${MEM[organic,bighash,bg]}, redis ${MEM[redis,bighash,bg]}."
}

echo "## tools/bench-collections.sh $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "- organic-server: $ORGANIC_SRC (built $(date -u -r "$ORGANIC_SRC" +%Y-%m-%dT%H:%M:%SZ)," \
     "sha256 $(sha256sum "$ORGANIC" | cut -c1-12); repo HEAD $(git log -1 --format=%h 2>/dev/null || echo '?'))"
echo "- redis-server: $("$REDIS" --version | awk '{print $3}') ($REDIS)"
echo "- modes: ${MODES[*]:-none}; rounds: $ROUNDS; scale: 1/$SCALE; memory section: $([ $MEMORY = 1 ] && echo yes || echo no)"
echo "- writes: \`redis-benchmark -t hset,sadd,spop -c 50 -r $RANGE -n N -P 1|16 --csv\`;" \
     "reads: \`redis-benchmark -c 50 -n N -P 1|16 --csv hgetall bench:h100\` (and smembers bench:s100)"
for mode in "${MODES[@]}"; do throughput "$mode"; done
[ $MEMORY = 1 ] && memory
exit 0
