#!/usr/bin/env bash
# Sigma correlation rules in vigie scan: an event_count over a log of unknown shape whose time
# comes from --time-field (epoch seconds, milliseconds, ISO 8601), one event late within the
# lateness, one without a time; the referenced rule is silent unless generate: true.
source "$(dirname "$0")/lib.sh"
D="$ROOT/tests/data/correlation"
"$VIGIE" scan -q --no-progress --logsource=all -r "$D/logins.yml" --time-field ts \
  --summary-json "$T/s.json" -o "$T/a.jsonl" "$D/logins.ndjson"
check "scan exits 0" [ $? = 0 ]
python3 - "$T/a.jsonl" "$T/s.json" <<'PY' || bad "correlation alert"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
corr = [a for a in lines if a["kind"] == "correlation"]
assert len(corr) == 1, lines
a = corr[0]
assert a["rule"]["title"] == "Many Logins" and a["rule"]["level"] == "high"
assert a["correlation"]["type"] == "event_count" and a["correlation"]["group"] == {"User": "admin"}
assert a["correlation"]["value"] == 4
assert a["source"]["line"] == 5 and len(a["source"]["sha256"]) == 64   # the event that completed it
assert len(a["contributing"]) == 4 and [e["line"] for e in a["events"]] == [1, 4, 3, 5]
assert not [x for x in lines if x["kind"] == "sigma"], "referenced rule must be silent"
c = s["correlations"]
assert c["late_inserted"] == 1 and c["without_time"] == 1 and c["evictions"] == 0, c
PY
# without lateness the late event is dropped and counted; the window then holds 3 events
"$VIGIE" scan -q --no-progress --logsource=all -r "$D/logins.yml" --time-field ts --lateness 0 \
  --summary-json "$T/s0.json" -o "$T/a0.jsonl" "$D/logins.ndjson"
check "--lateness 0: late event dropped" [ "$(json_get "$T/s0.json" correlations.late_dropped)" = 1 ]
check "--lateness 0: still fires on 3 in 10 s" [ "$(grep -c '"kind":"correlation"' "$T/a0.jsonl")" = 1 ]
# generate: true keeps the base rule's own alerts
sed 's/^    timespan: 10s/    timespan: 10s\n    generate: true/' "$D/logins.yml" >"$T/gen.yml"
"$VIGIE" scan -q --no-progress --logsource=all -r "$T/gen.yml" --time-field ts -o "$T/g.jsonl" "$D/logins.ndjson"
check "generate: true: base alerts written" [ "$(grep -c '"rule":{"id":"11111111-2222-4333-8444-555555555555"' "$T/g.jsonl")" = 7 ]
# without a time field nothing can be correlated, and the summary says so
"$VIGIE" scan -q --no-progress --logsource=all -r "$D/logins.yml" --summary-json "$T/s1.json" \
  -o "$T/a1.jsonl" "$D/logins.ndjson"
check "no --time-field: no correlation" [ "$(grep -c '"kind":"correlation"' "$T/a1.jsonl")" = 0 ]
check "no --time-field: 7 events without time" [ "$(json_get "$T/s1.json" correlations.without_time)" = 7 ]
finish
