#!/usr/bin/env bash
# Installs the Debian packages listed in deps/packages.txt that are not installed yet.
#
# Usage: deps/install-deps.sh [--build-only] [--with GROUP]...
#   --build-only   install only the "build" group (enough to compile and run unit tests).
#   --with GROUP   also install GROUP. Opt-in groups ("fuzz": clang and libFuzzer for
#                  `make fuzz`) are installed only when named this way.
#
# Behaviour:
#   - Checks each package with dpkg-query; prints nothing and exits 0 when nothing is missing.
#   - Runs `apt-get update` once, and only when something must be installed.
#   - Installs non-interactively, without recommends; uses sudo only when not root.
#   - nodejs/npm are skipped when `node` and `npm` are both on PATH already: the machine may carry
#     NodeSource's nodejs (which bundles npm), and Debian's npm would conflict with it.
#   - Exits non-zero with a message naming the packages when installation fails.
#
# Environment (for tests and unusual machines):
#   ORGANIC_DEPS_FILE=path     package list to read instead of deps/packages.txt
#   ORGANIC_DEPS_DRY_RUN=1     print the apt-get commands instead of running them
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list_file="${ORGANIC_DEPS_FILE:-$script_dir/packages.txt}"
dry_run="${ORGANIC_DEPS_DRY_RUN:-0}"
build_only=0
# Groups that only --with installs (the default installs every other group).
opt_in_groups=" fuzz "
with_groups=" "

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-only) build_only=1 ;;
    --with)
      if [[ $# -lt 2 || -z "$2" ]]; then
        echo "install-deps: --with needs a group name" >&2
        exit 2
      fi
      with_groups+="$2 "
      shift
      ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "install-deps: unknown argument '$1' (expected --build-only or --with GROUP)" >&2; exit 2 ;;
  esac
  shift
done

if [[ ! -r "$list_file" ]]; then
  echo "install-deps: cannot read package list $list_file" >&2
  exit 2
fi

have_node_and_npm=0
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  have_node_and_npm=1
fi

is_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)"
  [[ "$status" == "installed" ]]
}

missing=()
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%%#*}"              # drop the comment
  read -r pkg group _ <<<"$line" || true
  [[ -z "${pkg:-}" ]] && continue
  group="${group:-build}"
  if [[ "$with_groups" != *" $group "* ]]; then
    if [[ "$build_only" == 1 && "$group" != "build" ]] || [[ "$opt_in_groups" == *" $group "* ]]; then
      continue
    fi
  fi
  if [[ ( "$pkg" == "nodejs" || "$pkg" == "npm" ) && "$have_node_and_npm" == 1 ]]; then
    continue
  fi
  if ! is_installed "$pkg"; then
    missing+=("$pkg")
  fi
done <"$list_file"

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root, and sudo is not available" >&2
    exit 1
  fi
fi

run() {
  if [[ "$dry_run" == 1 ]]; then
    echo "[dry-run] $*"
  else
    "$@"
  fi
}

echo "install-deps: installing missing packages: ${missing[*]}"
if ! run "${sudo_cmd[@]}" apt-get update -q; then
  echo "install-deps: 'apt-get update' failed; cannot install: ${missing[*]}" >&2
  exit 1
fi
if ! run "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "install-deps: 'apt-get install' failed for: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: done"
