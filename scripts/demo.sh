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
