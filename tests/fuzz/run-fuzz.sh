#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz.cmake) with clang, ASan and UBSan in
# build-fuzz/ and runs each one for a fixed time on a copy of its seed corpus.
#
# Usage: tests/fuzz/run-fuzz.sh [seconds-per-target] [target ...]
#   seconds-per-target  default 30 (`make fuzz FUZZ_SECONDS=N` passes N)
#   target              e.g. wal_reader_fuzz; default: every target
#
# Exits non-zero when any target reports a finding: a crash, a sanitizer report, a failed
# check in the target, a leak, a timeout (> 10 s for one input) or an out-of-memory (> 2 GB).
# The input that caused it is kept as build-fuzz/fuzz-artifacts/<target>-crash-<sha1> (or
# leak-, timeout-, oom-); reproduce with `build-fuzz/<target> <that file>`.
# Each run's libFuzzer output is in build-fuzz/fuzz-logs/<target>.log; a summary of executions
# per target is printed at the end.
#
# The committed corpus (tests/fuzz/corpus) is never modified: inputs the fuzzer finds go to a
# temporary copy that is deleted afterwards.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (targets run at once, default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

seconds="${1:-30}"
shift || true
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${FUZZ_JOBS:-2}"
all_targets=(request_parser_fuzz inline_split_fuzz wal_reader_fuzz mutation_fuzz
             sstable_reader_fuzz manifest_fuzz config_fuzz)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "run-fuzz: seconds must be a positive integer, got '$seconds'" >&2
  exit 2
fi

bash deps/install-deps.sh --build-only --with fuzz

# A build directory configured with another compiler cannot be switched to clang in place.
if [[ -f "$build_dir/CMakeCache.txt" ]] &&
   ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$build_dir/CMakeCache.txt"; then
  echo "run-fuzz: $build_dir was configured without clang++; remove it first" >&2
  exit 2
fi
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DORGANIC_FUZZ=ON \
  >/dev/null
cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}"

logs="$build_dir/fuzz-logs"
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$logs" "$artifacts"
work="$(mktemp -d /tmp/organic-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Runs one target; its exit status is libFuzzer's (0: no finding).
run_target() {
  local target="$1" corpus_name="${1%_fuzz}"
  local corpus="$work/$corpus_name"
  cp -r "tests/fuzz/corpus/$corpus_name" "$corpus"
  # Leak checking is on by default in libFuzzer; UBSan reports already abort
  # (-fno-sanitize-recover), the options only add stack traces.
  UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=abort_on_error=0 \
    "$build_dir/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$corpus" \
    >"$logs/$target.log" 2>&1
}

declare -A status
running=()
running_names=()
for target in "${targets[@]}"; do
  if [[ ${#running[@]} -ge $jobs ]]; then
    wait "${running[0]}" && status[${running_names[0]}]=0 || status[${running_names[0]}]=$?
    running=("${running[@]:1}")
    running_names=("${running_names[@]:1}")
  fi
  echo "run-fuzz: $target for ${seconds} s"
  run_target "$target" &
  running+=("$!")
  running_names+=("$target")
done
for i in "${!running[@]}"; do
  wait "${running[$i]}" && status[${running_names[$i]}]=0 || status[${running_names[$i]}]=$?
done

failed=0
printf '%-22s %12s %8s %s\n' target executions seconds result
for target in "${targets[@]}"; do
  log="$logs/$target.log"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  secs="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)"
  if [[ "${status[$target]}" == 0 ]]; then
    result="ok"
  else
    result="FINDING (exit ${status[$target]}): see $log"
    failed=1
  fi
  printf '%-22s %12s %8s %s\n' "$target" "${runs:-?}" "${secs:-?}" "$result"
done
if [[ "$failed" != 0 ]]; then
  echo "run-fuzz: findings above; inputs in $artifacts" >&2
  grep -h -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$logs"/*.log >&2 || true
  exit 1
fi
echo "run-fuzz: no findings"
