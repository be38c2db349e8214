#!/usr/bin/env bash
# redis-cli compatibility tests for Organic KV.
#
# Drives the installed redis-cli (redis-tools) against the server on --port the ways people use
# it: one-shot commands in raw (pipe) and human (--no-raw / tty) formatting, -x, --pipe mass
# insertion, --scan, --bigkeys, --memkeys, --stat, an interactive session on a pseudo-terminal,
# -n DB and -3 (RESP3). Expectations come from a real redis-server 7.0 with redis-cli 7.0.
# The tests FLUSHALL the server: never point them at a server holding data you want.
#
# Output: "ok - redis-cli/<test>" or "FAIL - redis-cli/<test>: why" per test, then
# "redis-cli: N passed, M failed". Exit status 1 if anything failed.
#
# Usage: cli_test.sh --port P [--host H]
set -u
export LC_ALL=C

HOST=127.0.0.1
PORT=
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --host) HOST="$2"; shift 2 ;;
    *) echo "usage: $0 --port P [--host H]" >&2; exit 2 ;;
  esac
done
[ -n "$PORT" ] || { echo "usage: $0 --port P [--host H]" >&2; exit 2; }

CLI=(redis-cli -h "$HOST" -p "$PORT")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
CUR=""
CUR_OK=1

# Each test is a function; check/expect_eq record a failure but let the test go on, so one run
# shows every difference.
fail_msg() { CUR_OK=0; echo "  # $CUR: $*"; }
expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then fail_msg "$1: expected $(printf %q "$2"), got $(printf %q "$3")"; fi
}
expect_match() {  # expect_match WHAT ERE TEXT
  if ! printf '%s' "$3" | grep -Eq -- "$2"; then fail_msg "$1: /$2/ not found in $(printf %q "${3:0:400}")"; fi
}
run_test() {
  CUR="redis-cli/${1#t_}"
  CUR_OK=1
  "$1"
  if [ "$CUR_OK" = 1 ]; then PASSED=$((PASSED + 1)); echo "ok - $CUR"
  else FAILED=$((FAILED + 1)); echo "FAIL - $CUR"; fi
}
# Runs redis-cli on a pseudo-terminal so it formats output for a human (as a shell user sees it).
on_tty() { TERM=dumb script -qefc "$(printf '%q ' "$@")" /dev/null | tr -d '\r'; }

t_oneshot_raw() {
  "${CLI[@]}" flushall >/dev/null
  expect_eq "SET" "OK" "$("${CLI[@]}" set k1 hello)"
  expect_eq "GET" "hello" "$("${CLI[@]}" get k1)"
  expect_eq "INCR new" "1" "$("${CLI[@]}" incr counter)"
  expect_eq "INCRBY" "11" "$("${CLI[@]}" incrby counter 10)"
  # Raw mode: nil is an empty line, integers are bare.
  expect_eq "GET missing (bytes)" "0a" "$("${CLI[@]}" get missing | od -An -tx1 | tr -d ' \n')"
  expect_eq "TTL missing" "-2" "$("${CLI[@]}" ttl missing)"
  # Raw mode error: the text without "(error)", on stdout.
  "${CLI[@]}" set s abc >/dev/null
  expect_eq "INCR on string" "ERR value is not an integer or out of range" "$("${CLI[@]}" incr s 2>/dev/null)"
  expect_eq "arity error" "ERR wrong number of arguments for 'get' command" "$("${CLI[@]}" get 2>/dev/null)"
  expect_eq "MGET raw" $'hello\n\n11' "$("${CLI[@]}" mget k1 missing counter)"
}

t_oneshot_no_raw() {
  expect_eq "nil" "(nil)" "$("${CLI[@]}" --no-raw get missing)"
  expect_eq "integer" "(integer) 12" "$("${CLI[@]}" --no-raw incr counter)"
  expect_eq "status" "OK" "$("${CLI[@]}" --no-raw set k2 $'two\nlines')"
  expect_eq "quoted bulk" '"two\nlines"' "$("${CLI[@]}" --no-raw get k2)"
  expect_eq "error" "(error) ERR value is not an integer or out of range" "$("${CLI[@]}" --no-raw incr s)"
  expect_eq "array" $'1) "hello"\n2) (nil)\n3) "12"' "$("${CLI[@]}" --no-raw mget k1 missing counter)"
  expect_eq "empty array" "(empty array)" "$("${CLI[@]}" --no-raw keys 'nomatch*')"
  expect_eq "unknown command" \
    "(error) ERR unknown command 'nosuch', with args beginning with: 'a' " \
    "$("${CLI[@]}" --no-raw nosuch a)"
}

t_oneshot_tty() {
  # On a terminal redis-cli picks the human format by itself.
  expect_eq "nil on tty" "(nil)" "$(on_tty "${CLI[@]}" get missing)"
  expect_eq "integer on tty" "(integer) 13" "$(on_tty "${CLI[@]}" incr counter)"
  expect_eq "error on tty" "(error) ERR value is not an integer or out of range" \
    "$(on_tty "${CLI[@]}" incr s)"
  expect_eq "bulk on tty" '"hello"' "$(on_tty "${CLI[@]}" get k1)"
}

t_stdin_x() {
  expect_eq "SET -x" "OK" "$(printf 'from stdin' | "${CLI[@]}" -x set xk)"
  expect_eq "GET" "from stdin" "$("${CLI[@]}" get xk)"
  # -x keeps the bytes exactly, trailing newline included.
  printf 'a\nb\n' | "${CLI[@]}" -x set xk2 >/dev/null
  expect_eq "STRLEN with newlines" "4" "$("${CLI[@]}" strlen xk2)"
  expect_eq "quoted" '"a\nb\n"' "$("${CLI[@]}" --no-raw get xk2)"
  head -c 100000 /dev/zero | tr '\0' z | "${CLI[@]}" -x set xbig >/dev/null
  expect_eq "100 KB value" "100000" "$("${CLI[@]}" strlen xbig)"
  # Commands read from a non-terminal stdin, one per line.
  expect_eq "commands on stdin" $'OK\n6\nbar' \
    "$(printf 'set foo 5\nincr foo\nappend foo bar\nget nokey\necho bar\n' | "${CLI[@]}" | grep -v '^$' | sed -n '1p;2p;$p')"
}

t_pipe_100k() {
  "${CLI[@]}" flushall >/dev/null
  awk 'BEGIN { for (i = 0; i < 100000; i++) { k = "pk:" i; v = "val" i;
         printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' \
    > "$WORK/mass.resp"
  local out rc
  out=$("${CLI[@]}" --pipe < "$WORK/mass.resp" 2>&1); rc=$?
  expect_eq "--pipe exit" "0" "$rc"
  expect_match "--pipe summary" '^errors: 0, replies: 100000$' "$(printf '%s\n' "$out" | tail -1)"
  expect_eq "DBSIZE" "100000" "$("${CLI[@]}" dbsize)"
  expect_eq "sample value" "val77777" "$("${CLI[@]}" get pk:77777)"
  # Errors inside a pipe are counted, not fatal.
  out=$(printf 'SET pe 1\r\nINCR pe\r\nGET\r\nINCR pe\r\n' | "${CLI[@]}" --pipe 2>&1)
  expect_match "--pipe with an error" 'errors: 1, replies: 4' "$out"
  expect_eq "after pipe errors" "3" "$("${CLI[@]}" get pe)"
}

t_scan() {
  # Uses the 100,000 keys left by t_pipe_100k (+ "pe").
  expect_eq "--scan count" "100001" "$("${CLI[@]}" --scan | sort -u | wc -l | tr -d ' ')"
  expect_eq "--scan --pattern" "$(printf 'pk:%s\n' 9999 99990 99991 99992 99993 99994 99995 99996 99997 99998 99999)" \
    "$("${CLI[@]}" --scan --pattern 'pk:9999*' | sort)"
  expect_eq "--scan --pattern (many)" "111" "$("${CLI[@]}" --scan --pattern 'pk:999*' | sort -u | wc -l | tr -d ' ')"
  expect_eq "--scan no match" "" "$("${CLI[@]}" --scan --pattern 'nomatch:*')"
}

t_bigkeys() {
  "${CLI[@]}" flushall >/dev/null
  "${CLI[@]}" set small x >/dev/null
  "${CLI[@]}" set mid "$(head -c 300 /dev/zero | tr '\0' b)" >/dev/null
  "${CLI[@]}" set big "$(head -c 5000 /dev/zero | tr '\0' a)" >/dev/null
  local out
  out=$("${CLI[@]}" --bigkeys 2>&1)
  expect_match "sampled" 'Sampled 3 keys in the keyspace!' "$out"
  expect_match "biggest" "Biggest string found '\"big\"' has 5000 bytes" "$out"
  expect_match "totals" '3 strings with 5301 bytes \(100\.00% of keys, avg size 1767\.00\)' "$out"
  expect_match "key length" 'Total key length in bytes is 11 \(avg len 3\.67\)' "$out"
}

t_memkeys() {
  local out n
  out=$("${CLI[@]}" --memkeys 2>&1)
  expect_match "sampled" 'Sampled 3 keys in the keyspace!' "$out"
  # MEMORY USAGE is implementation-specific; it must at least cover the value and rank "big" first.
  n=$(printf '%s\n' "$out" | sed -n "s/^Biggest string found '\"big\"' has \([0-9]*\) bytes$/\1/p")
  if [ -z "$n" ] || [ "$n" -lt 5000 ] || [ "$n" -gt 100000 ]; then
    fail_msg "biggest by memory should be \"big\" with 5000..100000 bytes, got '${n}'"
  fi
  expect_match "strings line" '^3 strings with [0-9]+ bytes' "$(printf '%s\n' "$out" | grep strings)"
}

t_stat() {
  local out data
  # --stat polls INFO every -i seconds until killed; stdbuf keeps its lines when timeout ends it.
  out=$(timeout 2.6 stdbuf -oL "${CLI[@]}" --stat -i 0.5 2>&1)
  expect_match "header 1" '^------- data ------ --------------------- load -------------------- - child -' "$out"
  expect_match "header 2" '^keys +mem +clients +blocked +requests +connections' "$out"
  data=$(printf '%s\n' "$out" | grep -E '^3 +[0-9.]+[BKMG]? +[0-9]+ +[0-9]+ +[0-9]+ \(\+[0-9]+\) +[0-9]+' | wc -l)
  if [ "$data" -lt 3 ]; then fail_msg "expected >= 3 data lines with keys=3, got $data: $(printf %q "$out")"; fi
  # Each poll is one INFO, so requests grow by at least 1 per line after the first.
  local grows
  grows=$(printf '%s\n' "$out" | grep -E '^3 ' | sed -n '2,$p' | grep -cE '\(\+[1-9][0-9]*\)')
  if [ "$grows" -lt 2 ]; then fail_msg "requests column does not grow: $(printf %q "$out")"; fi
}

t_interactive() {
  local out
  out=$( (sleep 0.4
          for c in 'set ikey hello' 'get ikey' 'incr ikey' 'select 2' 'get ikey' 'set n 41' 'incr n'; do
            echo "$c"; sleep 0.15
          done
          echo quit; sleep 0.2) | on_tty "${CLI[@]}")
  local p="$HOST:$PORT"
  expect_match "prompt + SET" "^$p> set ikey hello\$" "$out"
  expect_match "GET shows quoted" '^"hello"$' "$out"
  expect_match "error" '^\(error\) ERR value is not an integer or out of range$' "$out"
  expect_match "SELECT changes prompt" "^$p\\[2\\]> get ikey\$" "$out"
  expect_match "nil in db 2" '^\(nil\)$' "$out"
  expect_match "integer" '^\(integer\) 42$' "$out"
  expect_match "quit" "^$p\\[2\\]> quit" "$out"
  expect_eq "db 2 really written" "42" "$("${CLI[@]}" -n 2 get n)"
}

t_db_option() {
  "${CLI[@]}" flushall >/dev/null
  expect_eq "SET -n 3" "OK" "$("${CLI[@]}" -n 3 set dbk three)"
  expect_eq "GET -n 3" "three" "$("${CLI[@]}" -n 3 get dbk)"
  expect_eq "GET db 0" "" "$("${CLI[@]}" get dbk)"
  expect_eq "DBSIZE -n 3" "1" "$("${CLI[@]}" -n 3 dbsize)"
  expect_eq "DBSIZE db 0" "0" "$("${CLI[@]}" dbsize)"
  expect_eq "--scan -n 3" "dbk" "$("${CLI[@]}" -n 3 --scan)"
  expect_match "-n out of range" 'DB index is out of range' "$("${CLI[@]}" -n 16 get x 2>&1)"
}

t_resp3() {
  local out
  out=$("${CLI[@]}" -3 --no-raw hello 3)
  expect_match "HELLO 3 is a map" '^1# "server" => ' "$out"
  expect_match "proto 3" '"proto" => \(integer\) 3$' "$out"
  expect_match "id" '"id" => \(integer\) [0-9]+$' "$out"
  expect_match "modules" '"modules" => \(empty array\)$' "$out"
  # The same in RESP2 is a flat array.
  out=$("${CLI[@]}" --no-raw hello 2)
  expect_match "HELLO 2 is an array" '^ 1\) "server"$' "$out"
  expect_match "proto 2" '^ 6\) \(integer\) 2$' "$out"
  expect_eq "RESP3 nil" "(nil)" "$("${CLI[@]}" -3 --no-raw get missing)"
  expect_eq "RESP3 integer" "(integer) 1" "$("${CLI[@]}" -3 --no-raw incr r3)"
  expect_eq "RESP3 CONFIG GET is a map" '1# "maxmemory" => "0"' "$("${CLI[@]}" -3 --no-raw config get maxmemory)"
  expect_eq "RESP3 error" "(error) ERR value is not a valid float" \
    "$("${CLI[@]}" -3 --no-raw incrbyfloat nosuchfloat x)"
}

echo "# $(redis-cli --version)"
for t in t_oneshot_raw t_oneshot_no_raw t_oneshot_tty t_stdin_x t_pipe_100k t_scan t_bigkeys \
         t_memkeys t_stat t_interactive t_db_option t_resp3; do
  run_test "$t"
done
echo "redis-cli: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
