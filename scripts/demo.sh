#!/usr/bin/env bash
# `make demo`: run vigie with its own rule pack over the sample logs shipped in
# tests/data/demo (four formats: NDJSON, Purview CSV, Event Hub JSON, gzip CloudTrail),
# print the alerts as a table and the end summary. The scenario comes from the test
# tooling, vigie-sim (built beside vigie in the build tree; tools/sim).
#   scripts/demo.sh [VIGIE [VIGIE_SIM]]   (defaults: build/vigie, vigie-sim beside VIGIE)
set -euo pipefail
vigie=${1:-build/vigie}
sim=${2:-$(dirname "$vigie")/vigie-sim}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== the campaign: 25 simulated organizations, 14 days, 5 victims (vigie-sim simulate)"
"$sim" simulate --orgs 25 --days 14 --victims 5 --seed 2023 -o "$out/scenario"
"$vigie" keygen -o "$out/key" >/dev/null
"$vigie" scan --no-progress -q --summary-json "$out/scenario.json" -o "$out/scenario.jsonl" \
  --db "$out/vigie.db" --ledger "$out/ledger" --key "$out/key" --campaigns "$out/campaigns.jsonl" \
  --jwks "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0=$out/scenario/keys/consumer-jwks.json" \
  --jwks "https://login.microsoftonline.com/*/v2.0=$out/scenario/keys/enterprise-jwks.json" \
  "$out/scenario"
echo "-- per organization, against the generator's truth (vigie-sim evaluate):"
"$sim" evaluate "$out/scenario/truth.json" "$out/scenario.jsonl" || true
echo "-- forged bearer tokens found in the application gateway log: $(grep -c '"kind":"token"' "$out/scenario.jsonl" || true)"
echo "-- campaigns (one actor across organizations):"
python3 -c 'import json,sys
for l in open(sys.argv[1]):
    c = json.loads(l)
    print("   %s: %d organizations, %d users, %s .. %s, %d messages read, techniques %s" % (c["id"],
          len(c["organizations"]), len(c["users"]), c["first_seen"], c["last_seen"],
          c["messages_read"]["internet_message_ids"], ",".join(c["techniques"])))' "$out/campaigns.jsonl" 2>/dev/null || head -c 600 "$out/campaigns.jsonl"
echo "-- evidence ledger:"
"$vigie" verify --ledger "$out/ledger" --key "$out/key.pub" --inputs "$out/scenario" 2>/dev/null || true
"$vigie" export --db "$out/vigie.db" --stix "$out/bundle.json"
mkdir -p "$here/build/demo"
"$vigie" report --db "$out/vigie.db" -o "$here/build/demo/report.html" && echo "-- report: $here/build/demo/report.html"
cp "$out/bundle.json" "$here/build/demo/stix-bundle.json" && echo "-- STIX 2.1 bundle: $here/build/demo/stix-bundle.json"
echo

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
