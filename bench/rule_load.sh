#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/rule_load.sh: rule loading at scale. Generates (bench/gen_rules.py, deterministic)
# 25,000 and 100,000 small distinct rule files, and one rule whose selection lists 100,000
# distinct values (plain, |contains, |re), then measures load + compile of each: the
# `rule_load_s` of `vigie scan -j 1 -r SET` on a one-event file (best of BENCH_RUNS) and the
# wall time of `vigie rules check SET`; then the same for every SigmaHQ rule (rules/ +
# rules-emerging-threats/). The target is under 3 s for each generated set. With
# BASE_VIGIE=/path/to/an/older/vigie the same table is measured for that binary too (once:
# it may be slow) and the speed-up shown. Writes bench/out/rule_load.md and prints it;
# bench/run.sh includes it in bench/RESULTS.md.
#
# Usage: bench/rule_load.sh [BUILD_DIR]      (default: build)
# Environment: VIGIE (default BUILD_DIR/vigie), BASE_VIGIE (none), BENCH_RUNS (3),
#              SIGMA_DIR (../shared/sigma beside the project; skipped when missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-build}
case "$build" in /*) b=$build ;; *) b=$root/$build ;; esac
vigie=${VIGIE:-$b/vigie}
base=${BASE_VIGIE:-}
runs=${BENCH_RUNS:-3}
sigma=${SIGMA_DIR:-$root/../shared/sigma}
rss=$b/bench/vigie_rss
data=$here/data/rules-scale
out=$here/out
target=3

die() { echo "bench: error: $*" >&2; exit 1; }
[ -x "$vigie" ] || die "$vigie is not built"
[ -x "$rss" ] || die "$rss is not built (configure with -DVIGIE_BENCH=ON, then build)"
[ -z "$base" ] || [ -x "$base" ] || die "BASE_VIGIE=$base is not an executable"
command -v python3 >/dev/null || die "python3 is needed to generate the rule sets"
command -v jq >/dev/null || die "jq is not installed (scripts/setup.sh bench installs it)"
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 1 ] || die "BENCH_RUNS must be a positive integer"
mkdir -p "$data" "$out"

# ---- rule sets (regenerated when gen_rules.py changed) ----------------------------------------
want=$(sha256sum "$here/gen_rules.py" | cut -d' ' -f1)
if [ "$(cat "$data/stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "bench: generating rule sets into ${data#"$root"/}"
  rm -rf "$data" && mkdir -p "$data"
  python3 "$here/gen_rules.py" files 25000 "$data/files-25000"
  python3 "$here/gen_rules.py" files 100000 "$data/files-100000"
  python3 "$here/gen_rules.py" values 100000 "" "$data/values-100000.yml"
  python3 "$here/gen_rules.py" values 100000 contains "$data/values-100000-contains.yml"
  python3 "$here/gen_rules.py" values 100000 re "$data/values-100000-re.yml"
  echo "$want" >"$data/stamp"
fi
n25=$(find "$data/files-25000" -name '*.yml' | wc -l)
n100=$(find "$data/files-100000" -name '*.yml' | wc -l)
[ "$n25" -eq 25000 ] && [ "$n100" -eq 100000 ] || die "rule sets incomplete ($n25, $n100 files)"
event=$out/rule_load_event.ndjson
echo '{"eventSource":"s3.amazonaws.com","eventName":"Value0000001Op"}' >"$event"

# measure BIN LABEL RUNS PATH...: sets load_s (best rule_load_s of RUNS scans), check_s (wall
# of one rules check), compiled (rules compiled by the scan)
measure() {
  local bin=$1 label=$2 n=$3 i s args=()
  shift 3
  for p in "$@"; do args+=(-r "$p"); done
  load_s=""
  for ((i = 1; i <= n; i++)); do
    # exit 1 only means some rules were skipped (SigmaHQ placeholders): time it anyway
    "$bin" scan -j 1 -q --no-progress "${args[@]}" --summary-json "$out/rl-$label.json" \
      -o /dev/null "$event" >/dev/null 2>"$out/rl-$label.stderr" || [ $? -eq 1 ] ||
      die "$label: vigie scan failed; see ${out#"$root"/}/rl-$label.stderr"
    s=$(jq -r .rule_load_s "$out/rl-$label.json")
    load_s=$(awk -v a="$load_s" -v b="$s" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  compiled=$(jq -r .rules_compiled "$out/rl-$label.json")
  "$rss" -o "$out/rl-$label.rss" -- "$bin" rules check -q "$@" >/dev/null 2>&1 || true
  check_s=$(sed -n 's/.*wall_s=\([^ ]*\).*/\1/p' "$out/rl-$label.rss")
  check_kb=$(sed -n 's/.*rss_kb=\([^ ]*\).*/\1/p' "$out/rl-$label.rss")
}

sets=(files-25000 files-100000 values-100000.yml values-100000-contains.yml values-100000-re.yml)
declare -A what=([files-25000]="25,000 rule files" [files-100000]="100,000 rule files"
  [values-100000.yml]="one list of 100,000 values" [values-100000-contains.yml]="100,000 values, \|contains"
  [values-100000-re.yml]="100,000 values, \|re")
declare -A expect=([files-25000]=25000 [files-100000]=100000 [values-100000.yml]=1
  [values-100000-contains.yml]=1 [values-100000-re.yml]=1)
declare -A L C K BL BC
have_sigma=0
[ -d "$sigma/rules" ] && [ -d "$sigma/rules-emerging-threats" ] && have_sigma=1

for s in "${sets[@]}"; do
  echo "bench: rule load, ${what[$s]} ($runs runs)"
  measure "$vigie" "$s" "$runs" "$data/$s"
  [ "$compiled" -eq "${expect[$s]}" ] || die "${what[$s]}: $compiled rules compiled, not ${expect[$s]}"
  L[$s]=$load_s C[$s]=$check_s K[$s]=$check_kb
  if [ -n "$base" ]; then
    echo "bench: rule load, ${what[$s]}, BASE_VIGIE (1 run)"
    measure "$base" "base-$s" 1 "$data/$s"
    BL[$s]=$load_s BC[$s]=$check_s
  fi
done
if [ "$have_sigma" = 1 ]; then
  echo "bench: rule load, every SigmaHQ rule ($runs runs)"
  measure "$vigie" sigma "$runs" "$sigma/rules" "$sigma/rules-emerging-threats"
  L[sigma]=$load_s C[sigma]=$check_s K[sigma]=$check_kb what[sigma]="SigmaHQ rules/ + rules-emerging-threats/ ($compiled compiled)"
  if [ -n "$base" ]; then
    measure "$base" base-sigma "$runs" "$sigma/rules" "$sigma/rules-emerging-threats"
    BL[sigma]=$load_s BC[sigma]=$check_s
  fi
  sets+=(sigma)
else
  echo "bench: no SigmaHQ rules at $sigma: that row is left out (set SIGMA_DIR)"
fi

# ---- report ----------------------------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] && commit="$commit (with local changes)"
{
  echo "## Rule loading at scale"
  echo
  echo "\`bench/rule_load.sh\` ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit): load + compile"
  echo "seconds (\`rule_load_s\` of \`vigie scan -j 1 -r SET\` on one event, best of $runs) and the wall"
  echo "time and peak RSS of \`vigie rules check SET\`. Rule sets from \`bench/gen_rules.py\`."
  if [ -n "$base" ]; then
    echo "Before: \`$base\` ($("$base" --version 2>/dev/null | head -1 || echo "older build"); one run)."
  fi
  echo
  if [ -n "$base" ]; then
    echo "| rule set | load+compile s | rules check s | check RSS MiB | before: load+compile s | before: rules check s | speed-up |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
  else
    echo "| rule set | load+compile s | rules check s | check RSS MiB |"
    echo "|---|---:|---:|---:|"
  fi
  for s in "${sets[@]}"; do
    W="${what[$s]}" awk -v l="${L[$s]}" -v c="${C[$s]}" -v k="${K[$s]}" -v bl="${BL[$s]:-}" \
        -v bc="${BC[$s]:-}" 'BEGIN {
      w = ENVIRON["W"]
      printf "| %s | %.3f | %.3f | %.1f |", w, l, c, k / 1024
      if (bl != "") printf " %.3f | %.3f | %.1fx |", bl, bc, bl / l
      printf "\n" }'
  done
  echo
  echo "Target: each generated set loaded and compiled in under $target s:"
  for s in "${sets[@]}"; do
    [ "$s" = sigma ] && continue
    W="${what[$s]}" awk -v l="${L[$s]}" -v t="$target" 'BEGIN {
      w = ENVIRON["W"]
      printf "- %s: %.3f s, %s\n", w, l, (l < t) ? "met" : "NOT met" }'
  done
  echo
  echo "Reproduce: \`bench/rule_load.sh build\` (\`BASE_VIGIE=old/vigie\` adds the before columns)."
} >"$out/rule_load.md"
echo
cat "$out/rule_load.md"
