#!/usr/bin/env bash
# Space benchmark (docs/benchmarks.md): disk space vs live data under a steady overwrite load.
# The issue's target: the data directory stays within 2x the live data size.
#
# For each value kind: a fresh organic-server with a small MemTable budget (so nearly all data
# is on disk), --load of KEYS keys, then uniform SETs of the same keys with the same value size
# for DURATION seconds. A sampler reads every SAMPLE_S seconds the bytes of the data directory
# (sst-*.sst, wal-*.log, MANIFEST and anything else), the bytes of files the server deleted but
# still holds open (they use the disk until closed), and INFO organic.
#
# Live data = KEYS x (key bytes + value bytes), the logical size; every key stays live (DBSIZE
# is checked). Values: "letters" (organic-bench's default, 6 bits of entropy per byte: zstd
# saves up to ~1/4) and "random" (every byte random: incompressible, the honest case).
#
# Usage: tools/bench-space.sh [--quick]
#   --quick   100,000 keys, 40 s of overwrites (smoke run; not the recorded figures)
# Environment (defaults in brackets):
#   ORGANIC_BIN [build/organic-server]  BENCH_BIN [build/organic-bench]
#   KEYS [500000]  VALUE [200]  BUDGET [8mb] (organic-memtable-budget)  DURATION [150]
#   VALUES ["letters random"]  SAMPLE_S [1]  CONNECTIONS [50]  PIPELINE [16]
#   KEEP_SAMPLES=DIR  copy each run's samples (TSV) there
#
# Server pinned to CPU 0, organic-bench to CPU 1 (taskset), one server at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
ORGANIC=${ORGANIC_BIN:-build/organic-server}
BENCH=${BENCH_BIN:-build/organic-bench}
KEYS=${KEYS:-500000}
VALUE=${VALUE:-200}
BUDGET=${BUDGET:-8mb}
DURATION=${DURATION:-150}
VALUES=${VALUES:-letters random}
SAMPLE_S=${SAMPLE_S:-1}
CONNECTIONS=${CONNECTIONS:-50}
PIPELINE=${PIPELINE:-16}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) KEYS=100000; DURATION=40; shift ;;
    *) echo "usage: $0 [--quick]  (see the environment variables in the header)" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d /tmp/organic-space-bench-XXXXXX)
PORT=$((20000 + RANDOM % 20000))
SERVER_PID=
SAMPLER_PID=
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

source tools/bench-lib.sh
start() {  # dir
  local dir=$WORK/$1
  mkdir -p "$dir"
  taskset -c 0 "$ORGANIC" --port "$PORT" --dir "$dir" --organic-memtable-budget "$BUDGET" \
    --appendfsync everysec --save '' >"$dir.log" 2>&1 &
  SERVER_PID=$!
  wait_ready "$dir.log"
}

# The sampler: one TSV line per sample. Phase comes from the file $WORK/phase.
SAMPLER=$(cat <<'EOF'
import os, subprocess, sys, time
dir_, pid, port, interval, phase_file, out = sys.argv[1:7]
interval = float(interval)
fields = ["organic_flush_in_progress", "organic_compaction_in_progress", "organic_flushes",
          "organic_compactions", "organic_sstables", "organic_sstable_bytes",
          "organic_level0", "organic_level1", "organic_level2", "organic_level3"]
def organic_info():
    info = {}
    try:
        text = subprocess.run(["redis-cli", "-p", port, "info", "organic"],
                              capture_output=True, text=True, timeout=5).stdout
        for line in text.splitlines():
            k, _, v = line.strip().partition(":")
            info[k] = v
    except subprocess.TimeoutExpired:
        pass
    return info
t0 = time.monotonic()
with open(out, "w") as f:
    f.write("t\tphase\tsst\twal\tother\tdeleted_open\t" + "\t".join(fields) + "\n")
    while True:
        # INFO before and after the directory scan: a job running at either end counts as
        # running during the sample (a compaction can start or end within the scan).
        before = organic_info()
        sst = wal = other = 0
        try:
            for e in os.scandir(dir_):
                try:
                    size = e.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue
                if e.name.endswith(".sst"): sst += size
                elif e.name.startswith("wal-"): wal += size
                else: other += size
        except FileNotFoundError:
            break
        # Deleted files the server still has open take disk space until closed.
        deleted = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                p = f"/proc/{pid}/fd/{fd}"
                try:
                    target = os.readlink(p)
                    if target.startswith(dir_) and target.endswith(" (deleted)"):
                        deleted += os.stat(p).st_size
                except OSError:
                    pass
        except OSError:
            break
        info = organic_info()
        for k in ("organic_flush_in_progress", "organic_compaction_in_progress"):
            if before.get(k) == "1": info[k] = "1"
        try:
            phase = open(phase_file).read().strip()
        except OSError:
            phase = "?"
        row = [f"{time.monotonic() - t0:.1f}", phase, str(sst), str(wal), str(other),
               str(deleted)] + [info.get(k, "") for k in fields]
        f.write("\t".join(row) + "\n")
        f.flush()
        time.sleep(interval)
EOF
)

# The report of one run, from its samples.
REPORT=$(cat <<'EOF'
import sys
samples, live = sys.argv[1], int(sys.argv[2])
rows = [l.rstrip("\n").split("\t") for l in open(samples)]
head, rows = rows[0], rows[1:]
rows = [dict(zip(head, r)) for r in rows]
for r in rows:
    r["disk"] = int(r["sst"]) + int(r["wal"]) + int(r["other"]) + int(r["deleted_open"])
    r["ratio"] = r["disk"] / live
mb = lambda b: b / 1e6
def levels(r):
    out = []
    for i in range(4):
        v = r.get(f"organic_level{i}", "")
        if v:
            kv = dict(p.split("=") for p in v.split(","))
            out.append(f"L{i} {kv['tables']}t/{mb(int(kv['bytes'])):.0f}MB")
    return " ".join(out)
def show(label, r):
    busy = [n for n, k in (("flush", "organic_flush_in_progress"),
                           ("compaction", "organic_compaction_in_progress")) if r.get(k) == "1"]
    print(f"  {label:<22} t={float(r['t']):6.1f}s  disk {mb(r['disk']):6.1f} MB = {r['ratio']:.2f}x"
          f"  (tables {mb(int(r['sst'])):.1f}, WAL {mb(int(r['wal'])):.1f}, other"
          f" {mb(int(r['other'])):.2f}, deleted-open {mb(int(r['deleted_open'])):.1f})"
          f"  {'+'.join(busy) or 'idle'}  {levels(r)}")
over = [r for r in rows if r["phase"] == "overwrite"]
load = [r for r in rows if r["phase"] == "load"]
if load: show("max during load", max(load, key=lambda r: r["ratio"]))
if over:
    show("max during overwrite", max(over, key=lambda r: r["ratio"]))
    late = over[len(over) // 2:]
    ratios = sorted(r["ratio"] for r in late)
    mean = sum(ratios) / len(ratios)
    print(f"  steady (2nd half)      mean {mean:.2f}x  median {ratios[len(ratios)//2]:.2f}x"
          f"  min {ratios[0]:.2f}x  max {ratios[-1]:.2f}x  over {len(late)} samples")
    for what in ("sst", "wal", "deleted_open"):
        vals = [int(r[what]) for r in late]
        print(f"    {what:<13} mean {mb(sum(vals)/len(vals)):6.1f} MB  max {mb(max(vals)):6.1f} MB")
    busy_c = [r["ratio"] for r in over if r.get("organic_compaction_in_progress") == "1"]
    idle = [r["ratio"] for r in over if r.get("organic_compaction_in_progress") == "0"]
    if busy_c and idle:
        print(f"    samples during a compaction: {len(busy_c)}/{len(over)}, max {max(busy_c):.2f}x;"
              f" without: max {max(idle):.2f}x")
    above = sum(1 for r in over if r["ratio"] > 2)
    print(f"    samples above 2x: {above} of {len(over)}")
settled = [r for r in rows if r["phase"] == "settled"]
if settled: show("after the run, idle", settled[-1])
EOF
)

KEY_BYTES=$(( 4 + $( [ ${#KEYS} -gt 12 ] && echo ${#KEYS} || echo 12 ) ))  # "key:" + digits
LIVE=$(( KEYS * (KEY_BYTES + VALUE) ))
printf 'space: %d keys x (%d B key + %d B value) = %.1f MB live; organic-memtable-budget %s;\n' \
  "$KEYS" "$KEY_BYTES" "$VALUE" "$(awk -v b="$LIVE" 'BEGIN {print b / 1e6}')" "$BUDGET"
printf '       uniform SET-only overwrites for %d s (%d connections x pipeline %d),' \
  "$DURATION" "$CONNECTIONS" "$PIPELINE"
printf ' sampled every %s s\n' "$SAMPLE_S"

for kind in $VALUES; do
  start "$kind"
  echo load >"$WORK/phase"
  python3 -c "$SAMPLER" "$WORK/$kind" "$SERVER_PID" "$PORT" "$SAMPLE_S" "$WORK/phase" \
    "$WORK/$kind.tsv" &
  SAMPLER_PID=$!
  COMMON=(--keys "$KEYS" --value-size "$VALUE" --values "$kind" --connections "$CONNECTIONS"
          --pipeline "$PIPELINE")
  L=$(bench --load "${COMMON[@]}")
  echo overwrite >"$WORK/phase"
  R=$(bench "${COMMON[@]}" --ratio 0:1 --distribution uniform --duration "$DURATION")
  SETS=$(echo "$R" | field "['sets']")
  # Let the last flush and compactions finish, then a few idle samples.
  echo settle >"$WORK/phase"
  for _ in $(seq 1 120); do
    busy=$(redis-cli -p "$PORT" info organic | tr -d '\r' |
           awk -F: '/_in_progress/ {s += $2} END {print s + 0}')
    [ "$busy" = 0 ] && break
    sleep 0.5
  done
  echo settled >"$WORK/phase"
  sleep $(( ${SAMPLE_S%.*} * 3 + 2 ))
  DBSIZE=$(redis-cli -p "$PORT" dbsize)
  INFO=$(redis-cli -p "$PORT" info organic | tr -d '\r')
  kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
  stop
  echo
  printf 'values %s: load %.0f SET/s; overwrite %.0f SET/s, %d SETs = %.1f overwrites of' \
    "$kind" "$(echo "$L" | field "['ops_per_sec']")" "$(echo "$R" | field "['ops_per_sec']")" \
    "$SETS" "$(awk -v s="$SETS" -v k="$KEYS" 'BEGIN {print s / k}')"
  printf ' the keyspace; DBSIZE %s\n' "$DBSIZE"
  [ "$DBSIZE" = "$KEYS" ] || echo "  WARNING: DBSIZE $DBSIZE != $KEYS keys: the live size is off"
  python3 -c "$REPORT" "$WORK/$kind.tsv" "$LIVE"
  echo "$INFO" | grep -E "organic_(flushes|compactions|write_amplification|write_stalls)" |
    tr '\n' ' ' | sed 's/^/  /; s/$/\n/'
  if [ -n "${KEEP_SAMPLES:-}" ]; then
    mkdir -p "$KEEP_SAMPLES" && cp "$WORK/$kind.tsv" "$KEEP_SAMPLES/space-$kind.tsv"
  fi
done
