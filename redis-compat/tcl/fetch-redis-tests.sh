#!/usr/bin/env bash
# Fetches Redis's own Tcl test suite (version 7.0.15) from Debian's `redis` source package into
# redis-compat/redis-tests/ (git-ignored: never commit it).
#
# Usage: redis-compat/tcl/fetch-redis-tests.sh [--force]
#   --force   fetch again even if redis-compat/redis-tests/tests/test_helper.tcl exists.
#
# How: a temporary apt configuration with deb-src entries (copied from the machine's
# /etc/apt/sources.list.d/debian.sources) is used through -o Dir::... options, so the machine's
# own apt sources, lists and caches are left untouched. `apt-get source --download-only` fetches
# the .dsc, the upstream tarball and Debian's patches; `dpkg-source -x` unpacks them with Debian's
# patches applied, so the tests match the Debian-built redis-server we compare against (Debian's
# security fixes add regression tests, e.g. a KEYS pattern-matching one in unit/keyspace). If
# dpkg-source is missing the pristine upstream tarball is used instead, with a warning.
#
# Only what the suite needs in external mode (--host/--port) is kept: tests/ (test_helper.tcl,
# support/, helpers/, assets/, unit/, integration/, tmp/) and the license. src/redis-server and
# src/redis-cli are needed only when the suite spawns its own servers, which we never do.
set -euo pipefail

readonly kWantedUpstream="7.0.15"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$(cd "$script_dir/.." && pwd)/redis-tests"
sources_file="${ORGANIC_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}"

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    *) echo "fetch-redis-tests: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

if [[ "$force" == 0 && -f "$dest/tests/test_helper.tcl" ]]; then
  exit 0
fi

for tool in apt-get apt-cache tar; do
  command -v "$tool" >/dev/null || { echo "fetch-redis-tests: '$tool' not found" >&2; exit 1; }
done
if [[ ! -r "$sources_file" ]]; then
  echo "fetch-redis-tests: cannot read $sources_file (need Debian deb822 sources to derive deb-src)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt drops privileges to _apt for downloads; it must be able to enter these directories.
chmod 755 "$work"
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
chmod 777 "$work/src"
: >"$work/sources.list"
# Same stanzas (URIs, Suites, Components, Signed-By), but for source packages.
sed -E 's/^Types:.*/Types: deb-src/' "$sources_file" >"$work/parts/debian-src.sources"

apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
)

echo "fetch-redis-tests: updating source package lists (temporary apt config)"
if ! apt-get "${apt_opts[@]}" -q update >"$work/update.log" 2>&1; then
  cat "$work/update.log" >&2
  echo "fetch-redis-tests: apt-get update failed" >&2
  exit 1
fi

# Versions look like 5:7.0.15-1~deb12u10; prefer the newest Debian revision of 7.0.15.
versions="$(apt-cache "${apt_opts[@]}" showsrc redis 2>/dev/null | sed -n 's/^Version: //p' | sort -uV)"
if [[ -z "$versions" ]]; then
  echo "fetch-redis-tests: no 'redis' source package found in $sources_file's repositories" >&2
  exit 1
fi
version="$(grep -E "^([0-9]+:)?${kWantedUpstream//./\\.}-" <<<"$versions" | tail -n1 || true)"
if [[ -z "$version" ]]; then
  version="$(tail -n1 <<<"$versions")"
  echo "fetch-redis-tests: WARNING: redis $kWantedUpstream not available; using $version" \
       "(available: $(tr '\n' ' ' <<<"$versions"))" >&2
fi
echo "fetch-redis-tests: downloading source package redis=$version"
if ! (cd "$work/src" && apt-get "${apt_opts[@]}" -q source --download-only "redis=$version" \
        >"$work/source.log" 2>&1); then
  cat "$work/source.log" >&2
  echo "fetch-redis-tests: apt-get source failed" >&2
  exit 1
fi

tree=""
dsc="$(find "$work/src" -maxdepth 1 -name 'redis_*.dsc' | head -n1)"
if [[ -n "$dsc" ]] && command -v dpkg-source >/dev/null; then
  if dpkg-source --no-check -x "$dsc" "$work/tree" >"$work/unpack.log" 2>&1; then
    tree="$work/tree"
  else
    cat "$work/unpack.log" >&2
    echo "fetch-redis-tests: WARNING: dpkg-source failed; using the upstream tarball" >&2
  fi
else
  echo "fetch-redis-tests: WARNING: dpkg-source not found (install dpkg-dev);" \
       "using the upstream tarball without Debian's patches" >&2
fi
if [[ -z "$tree" ]]; then
  orig="$(find "$work/src" -maxdepth 1 -name 'redis_*.orig.tar.*' | head -n1)"
  [[ -n "$orig" ]] || { echo "fetch-redis-tests: no orig tarball downloaded" >&2; exit 1; }
  mkdir -p "$work/orig"
  tar -xf "$orig" -C "$work/orig"
  tree="$(find "$work/orig" -mindepth 1 -maxdepth 1 -type d | head -n1)"
fi
if [[ ! -f "$tree/tests/test_helper.tcl" ]]; then
  echo "fetch-redis-tests: unpacked source has no tests/test_helper.tcl" >&2
  exit 1
fi

# Replace atomically enough: build next to the destination, then move into place.
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -a "$tree/tests" "$dest.new/"
mkdir -p "$dest.new/tests/tmp"
cp -a "$tree/COPYING" "$dest.new/" 2>/dev/null || true
printf 'redis source package %s (Debian patches applied: %s)\n' "$version" \
  "$([[ "$tree" == "$work/tree" ]] && echo yes || echo no)" >"$dest.new/SOURCE"
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "fetch-redis-tests: Redis $version test suite in $dest"
