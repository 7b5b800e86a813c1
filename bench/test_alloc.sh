#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/test_alloc.sh: the steady-state targets of issue 9 as a test. Generates 40,000 events
# (vigie_gen -s 1), runs bench/alloc.sh on 20,000 and 40,000 of them with SigmaHQ rules/cloud
# and with vigie's pack, and requires at most 0.1 allocation per event and no lock per
# record (below 0.01 mutex or rwlock calls per event: a lock per batch is allowed) for both.
# Registered by bench/CMakeLists.txt in builds without sanitizers (the counter is a preloaded
# malloc; ASan owns malloc). Fails, with the reason, when SigmaHQ's rules are missing.
# Usage: bash bench/test_alloc.sh BUILD_DIR SHARED_DIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
b=${1:?build directory}
shared=${2:-$here/../../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { fail=1; echo "FAIL: $*" >&2; }

[ -d "$shared/sigma/rules/cloud" ] || {
  echo "FAIL: this test needs SigmaHQ's rules at $shared/sigma/rules/cloud (../shared missing?)" >&2
  exit 1
}
"$b/bench/vigie_gen" -s 1 -m 54 -o "$T/data.ndjson" 2>/dev/null || { echo "FAIL: vigie_gen" >&2; exit 1; }
ALLOC_OUT=$T ALLOC_EVENTS=20000 SIGMA_DIR=$shared/sigma VIGIE=$b/vigie \
  bash "$here/alloc.sh" "$b" "$T/data.ndjson" || { echo "FAIL: bench/alloc.sh" >&2; exit 1; }
for set in sigma pack; do
  row=$(awk -v k=$set '$1 == k' "$T/alloc.tsv")
  [ -n "$row" ] || { bad "$set: no result"; continue; }
  read -r _ allocs frees mutex rwlock <<<"$row"
  [ "$allocs" != failed ] || { bad "$set: the counted scan failed"; continue; }
  awk -v a="$allocs" 'BEGIN { exit !(a <= 0.1) }' || bad "$set: $allocs allocations per event (target <= 0.1)"
  awk -v m="$mutex" -v r="$rwlock" 'BEGIN { exit !(m < 0.01 && r < 0.01) }' ||
    bad "$set: $mutex mutex and $rwlock rwlock calls per event (target: none per record)"
done
[ "$fail" -eq 0 ] && echo "alloc: steady state within the targets"
exit "$fail"
