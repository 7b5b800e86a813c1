#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/alloc.sh: heap allocations and lock calls per event in steady state.
#
# Runs `vigie scan -j 1` under the LD_PRELOAD counter (bench/alloc_count.c) on the first N
# events of the bench dataset and on the first 2N, once per rule set (SigmaHQ rules/cloud,
# vigie's own pack), and reports (count(2N) - count(N)) / N: rule loading, compiling, the
# first use of every cache and the end-of-run work are the same in both runs and cancel out,
# what is left is what the N extra records cost. The counts are exact (no sampling), so one
# run of each is enough. Writes a Markdown section to OUT/alloc.md (and prints it) and the
# numbers to OUT/alloc.tsv (rule_set allocs/event frees/event mutex/event rwlock/event).
#
# Usage: bench/alloc.sh [BUILD_DIR] DATA.ndjson
# Environment: ALLOC_EVENTS (N, default 20000), ALLOC_OUT (OUT, default bench/out),
#              SIGMA_DIR, VIGIE (default BUILD_DIR/vigie).
# ALLOC_COUNT_BT=K on the counter itself samples the callers (see alloc_count.c).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-build}
data=${2:-}
case "$build" in /*) b=$build ;; *) b=$root/$build ;; esac
sigma=${SIGMA_DIR:-$root/../shared/sigma}
n=${ALLOC_EVENTS:-20000}
vigie=${VIGIE:-$b/vigie}
lib=$b/bench/libvigie_alloc_count.so
out=${ALLOC_OUT:-$here/out}

die() { echo "alloc: error: $*" >&2; exit 1; }
[ -n "$data" ] && [ -s "$data" ] || die "usage: bench/alloc.sh BUILD_DIR DATA.ndjson"
[ -x "$vigie" ] || die "$vigie is not built"
[ -f "$lib" ] || die "$lib is not built (configure with -DVIGIE_BENCH=ON)"
[ -d "$sigma/rules/cloud" ] || die "no SigmaHQ rules at $sigma/rules/cloud (set SIGMA_DIR)"
[ -d "$root/rules" ] || die "no rule pack at $root/rules"
[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1000 ] || die "ALLOC_EVENTS must be an integer >= 1000"
total=$(wc -l <"$data")
[ "$total" -ge $((2 * n)) ] || die "$data has $total events, fewer than 2 x $n"
mkdir -p "$out"
head -n "$n" "$data" >"$out/alloc-1x.ndjson"
head -n $((2 * n)) "$data" >"$out/alloc-2x.ndjson"

kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2"; }
alerts() { # per-record + combined alerts of a --summary-json file
  python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))
print(s.get("alerts", 0) + s.get("combined_alerts", 0))' "$1"
}

# count NAME SLICE ARGS...: one counted scan; the counter's line goes to $out/NAME.count
count() {
  local name=$1 slice=$2
  shift 2
  rm -f "$out/$name.count"
  if ! ALLOC_COUNT_OUT=$out/$name.count LD_PRELOAD=$lib "$vigie" scan -j 1 -q --no-progress \
       "$@" --summary-json "$out/$name.json" -o /dev/null "$out/alloc-$slice.ndjson" \
       2>"$out/$name.stderr"; then
    echo "alloc: $name failed; see ${out#"$root"/}/$name.stderr" >&2
    return 1
  fi
  [ -s "$out/$name.count" ] || { echo "alloc: $name: the counter wrote nothing" >&2; return 1; }
}

# measure KEY LABEL ARGS...: prints one table row
measure() {
  local key=$1 label=$2
  shift 2
  count "$key-1x" 1x "$@" && count "$key-2x" 2x "$@" || {
    echo "| $label | failed | | | | |"
    printf '%s\tfailed\n' "$key" >>"$out/alloc.tsv"
    return
  }
  local a1 a2 f1 f2 m1 m2 r1 r2 al1 al2
  a1=$(kv allocs "$out/$key-1x.count") a2=$(kv allocs "$out/$key-2x.count")
  f1=$(kv free "$out/$key-1x.count") f2=$(kv free "$out/$key-2x.count")
  m1=$(kv mutex_lock "$out/$key-1x.count") m2=$(kv mutex_lock "$out/$key-2x.count")
  r1=$(kv rwlock "$out/$key-1x.count") r2=$(kv rwlock "$out/$key-2x.count")
  al1=$(alerts "$out/$key-1x.json") al2=$(alerts "$out/$key-2x.json")
  awk -v l="$label" -v n="$n" -v a=$((a2 - a1)) -v f=$((f2 - f1)) -v m=$((m2 - m1)) \
      -v r=$((r2 - r1)) -v al=$((al2 - al1)) -v k="$key" -v tsv="$out/alloc.tsv" 'BEGIN {
    printf "| %s | %.3f | %.3f | %.3f | %.3f | %d (%.2f%%) |\n", l, a / n, f / n, m / n, r / n,
           al, 100 * al / n
    printf "%s\t%.4f\t%.4f\t%.4f\t%.4f\n", k, a / n, f / n, m / n, r / n >>tsv }'
}
rm -f "$out/alloc.tsv"

{
  echo "## Allocations per event"
  echo
  echo "\`vigie scan -j 1 -o /dev/null\` under \`LD_PRELOAD=libvigie_alloc_count.so\` (bench/alloc_count.c)"
  echo "on the first $n and the first $((2 * n)) events of the dataset: (count(2N) - count(N)) / N,"
  echo "so set-up and warm-up cancel out. allocs = malloc + calloc + realloc + aligned; locks ="
  echo "pthread_mutex_lock/trylock (and pthread_rwlock rd/wr, OpenSSL's). Alerts: in the $n extra"
  echo "events (per-record and combined), whose writer-side work is included in the counts."
  echo
  echo "| rule set | allocs/event | frees/event | mutex locks/event | rwlocks/event | alerts |"
  echo "|---|---:|---:|---:|---:|---:|"
  measure sigma "SigmaHQ rules/cloud" -r "$sigma/rules/cloud"
  VIGIE_RULES=$root/rules measure pack "vigie's pack (rules/)"
  echo
  awk -F'\t' '$2 == "failed" { bad = 1 } $2 != "failed" && ($2 > 0.1 || $4 >= 0.01 || $5 >= 0.01) {
    bad = 1 } END { printf "Target (issue 9): at most 0.1 allocation per event with both rule sets, no lock per record (under 0.01 per event): %s\n", bad ? "NOT met" : "met" }' "$out/alloc.tsv"
} >"$out/alloc.md"
cat "$out/alloc.md"
