#!/usr/bin/env bash
# `make demo`: run vigie with its own rule pack over the sample logs shipped in
# tests/data/demo (four formats: NDJSON, Purview CSV, Event Hub JSON, gzip CloudTrail),
# print the alerts as a table and the end summary.
set -euo pipefail
vigie=${1:-build/vigie}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== vigie scan (vigie's own rule pack) over $here/tests/data/demo"
"$vigie" scan --format table --no-progress --summary-json "$out/summary.json" \
  "$here/tests/data/demo"
echo
echo "== summary JSON"
cat "$out/summary.json"

# SigmaHQ's own cloud rules, unmodified, over real public CloudTrail detonation logs, when a
# SigmaHQ checkout and the datasets are beside the project (../shared); SIGMA_DIR overrides.
sigma=${SIGMA_DIR:-$here/../shared/sigma}
logs=${DEMO_LOGS:-$here/../shared/datasets/stratus-red-team-detonations}
if [ -d "$sigma/rules/cloud" ] && [ -d "$logs" ]; then
  echo
  echo "== vigie scan -r $sigma/rules/cloud over $logs (Stratus Red Team detonations)"
  "$vigie" scan --no-progress -r "$sigma/rules/cloud" --format table -o "$out/sigmahq.txt" "$logs"/*.json
  echo "(first 15 alert lines of $(($(wc -l <"$out/sigmahq.txt") - 1)))"
  head -16 "$out/sigmahq.txt" | cut -c1-160
fi
