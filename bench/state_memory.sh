#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/state_memory.sh: the memory of the ordered state (sessions, the sign-in join, first-seen
# terms) at scale. Generates the 180-day, 100-organization simulated scenario (`vigie-sim simulate
# --orgs 100 --days 180 --victims 3`, about 600 MB of logs) into a temporary directory, scans it
# with `vigie scan -q` (vigie's pack, default threads) and reports the scan's peak RSS. The target
# (issue 9 section 3) is under 256 MiB; exit 1 when it is not met. In file mode the watermark is
# held to the end of input (docs/DETECTIONS.md), so this measures the compact state, not aging.
# Writes bench/out/state_memory.md and prints it; bench/run.sh includes it in bench/RESULTS.md.
#
# Usage: bench/state_memory.sh [BUILD_DIR]      (default: build)
# Environment: VIGIE (default BUILD_DIR/vigie), VIGIE_SIM (the simulator: BUILD_DIR/vigie-sim
#              when built, else `vigie simulate`), STATE_ORGS (100), STATE_DAYS (180),
#              STATE_LIMIT_MIB (256), TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-build}
case "$build" in /*) b=$build ;; *) b=$root/$build ;; esac
vigie=${VIGIE:-$b/vigie}
orgs=${STATE_ORGS:-100}
days=${STATE_DAYS:-180}
limit=${STATE_LIMIT_MIB:-256}
out=$here/out
mkdir -p "$out"

die() { echo "state_memory: error: $*" >&2; exit 2; }
[ -x "$vigie" ] || die "$vigie is not built"
if [ -n "${VIGIE_SIM:-}" ]; then
  sim=("$VIGIE_SIM" simulate)
elif [ -x "$b/vigie-sim" ]; then
  sim=("$b/vigie-sim" simulate)
else
  sim=("$vigie" simulate)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigie-state-mem.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "state_memory: generating $orgs organizations x $days days into $tmp" >&2
"${sim[@]}" --orgs "$orgs" --days "$days" --victims 3 -o "$tmp/scenario" >"$tmp/sim.log" 2>&1 ||
  { cat "$tmp/sim.log" >&2; die "the simulator failed"; }
size=$(du -sm "$tmp/scenario" | cut -f1)

# peak RSS of the scan alone: bench's vigie_rss when built, else GNU time
echo "state_memory: scanning ($size MB)" >&2
if [ -x "$b/bench/vigie_rss" ]; then
  "$b/bench/vigie_rss" -o "$tmp/rss" -- "$vigie" scan -q --no-progress \
    --summary-json "$tmp/summary.json" -o "$tmp/alerts.jsonl" "$tmp/scenario" || true
  kb=$(tr ' ' '\n' <"$tmp/rss" | sed -n 's/^rss_kb=//p')
  wall=$(tr ' ' '\n' <"$tmp/rss" | sed -n 's/^wall_s=//p')
elif [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M %e' -o "$tmp/time" "$vigie" scan -q --no-progress \
    --summary-json "$tmp/summary.json" -o "$tmp/alerts.jsonl" "$tmp/scenario" || true
  read -r kb wall <"$tmp/time"
else
  die "neither $b/bench/vigie_rss nor /usr/bin/time is available"
fi
[ -s "$tmp/summary.json" ] || die "the scan did not finish (no summary)"
alerts=$(wc -l <"$tmp/alerts.jsonl")
combined=$(sed -n 's/.*"combined_alerts":\([0-9]*\).*/\1/p' "$tmp/summary.json")
mib=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
met=$(awk -v k="$kb" -v l="$limit" 'BEGIN { print (k / 1024 < l) ? "met" : "NOT met" }')
{
  echo "### State memory at scale (bench/state_memory.sh)"
  echo
  echo "| scenario | logs | alerts (combined) | wall | peak RSS |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| simulate --orgs $orgs --days $days --victims 3 | $size MB | $alerts (${combined:-?}) | $(awk -v w="$wall" 'BEGIN { printf "%.1f", w }') s | $mib MiB |"
  echo
  echo "- the 180-day, 100-organization scan under $limit MiB peak RSS: $mib MiB, $met"
} >"$out/state_memory.md"
cat "$out/state_memory.md"
[ "$met" = met ]
