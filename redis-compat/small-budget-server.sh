#!/usr/bin/env bash
# Starts organic-server with a MemTable budget so small that almost every key lives in SSTables
# (a flush whenever the MemTables pass 512 bytes, checked every loop iteration). The compatibility
# suites run through it too: every reply must be the same whether a key is in memory or on disk.
#   ORGANIC_SERVER_BIN=build/organic-server redis-compat/small-budget-server.sh [server args...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${ORGANIC_SERVER_BIN:-$here/../build/organic-server}"
exec "$bin" "$@" --organic-memtable-budget 1kb
