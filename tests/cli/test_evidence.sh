#!/usr/bin/env bash
# The whole flow on a simulated scenario: scan into a store and a signed ledger, a second run
# appends without duplicating alerts, campaigns rebuilt from the store, the ledger and the raw
# records verify, an altered input record is caught, a proof checks with the public key only,
# and the store gives a STIX bundle and an HTML report.
source "$(dirname "$0")/lib.sh"
"$VIGIE_SIM" simulate --orgs 6 --days 12 --victims 2 --seed 9 -o "$T/s" 2>/dev/null
"$VIGIE" keygen -o "$T/key" >/dev/null 2>&1
check "keygen" [ -f "$T/key" ] && [ -f "$T/key.pub" ]
"$VIGIE" scan -q --no-progress --db "$T/v.db" --ledger "$T/L" --key "$T/key" \
  --campaigns "$T/c.jsonl" -o "$T/a.jsonl" "$T/s"
check "scan with --db --ledger --key exits 0" [ $? = 0 ]
n1=$(sqlite3 "$T/v.db" "select count(*) from alerts")
check "every alert line stored ($n1)" [ "$n1" = "$(wc -l <"$T/a.jsonl")" ]
"$VIGIE" scan -q --no-progress --db "$T/v.db" --ledger "$T/L" --key "$T/key" -o /dev/null "$T/s"
check "second run exits 0" [ $? = 0 ]
check "no duplicate alerts after a second run" [ "$(sqlite3 "$T/v.db" "select count(*) from alerts")" = "$n1" ]
check "two runs recorded" [ "$(sqlite3 "$T/v.db" "select count(*) from runs")" = 2 ]
"$VIGIE" campaigns --db "$T/v.db" -o "$T/c2.jsonl" 2>/dev/null
check "campaigns rebuilt from the store" [ $? = 0 ]
python3 - "$T/s/truth.json" "$T/c2.jsonl" "$T/c.jsonl" <<'PY' || bad "store campaigns = scan campaigns = the victims"
import json, sys
truth = json.load(open(sys.argv[1]))
a = [json.loads(l) for l in open(sys.argv[2])]
b = [json.loads(l) for l in open(sys.argv[3])]
assert [c["organizations"] for c in a] == [c["organizations"] for c in b]
assert set(max(a, key=lambda c: len(c["organizations"]))["organizations"]) == set(truth["victims"])
PY
"$VIGIE" verify --ledger "$T/L" --key "$T/key.pub" --inputs "$T/s" >"$T/v.out" 2>&1
check "ledger and raw records verify" [ $? = 0 ]
# alter one byte of a record the ledger references: verify fails and says where
f=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d=json.loads(l)
    if d["kind"]=="combined": print(d["source"]["file"], d["source"]["offset"]); break' "$T/a.jsonl")
set -- $f
cp -r "$T/s" "$T/s2"
rel=${1#"$T/s/"}
python3 - "$T/s2/$rel" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
i = b.index(b'"Operation"', off)
b[i + 1] = ord("o")
open(p, "wb").write(bytes(b))
PY
rm -rf "$T/s"; mv "$T/s2" "$T/s"
"$VIGIE" verify --ledger "$T/L" --key "$T/key.pub" --inputs "$T/s" >"$T/v2.out" 2>&1
check "an altered input record fails verification" [ $? = 1 ]
check "and the message names the file" grep -q "$(basename "$rel")" "$T/v2.out"
# the first entry of the ledger: the first alert of the first run
id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/a.jsonl")
"$VIGIE" prove --ledger "$T/L" "$id" -o "$T/p.json" 2>/dev/null   # appended by both runs
check "prove" [ $? = 0 ]
"$VIGIE" verify --proof "$T/p.json" --key "$T/key.pub" >/dev/null 2>&1
check "the proof checks with the public key only" [ $? = 0 ]
(cd "$T/L" && "$VIGIE" prove "$id" >"$T/p2.json" 2>/dev/null)
check "vigie prove ALERT_ID inside the ledger directory" cmp -s "$T/p.json" "$T/p2.json"
VIGIE_LEDGER="$T/L" "$VIGIE" prove "$id" >"$T/p3.json" 2>/dev/null
check "vigie prove ALERT_ID with VIGIE_LEDGER" cmp -s "$T/p.json" "$T/p3.json"
"$VIGIE" export --db "$T/v.db" --stix "$T/x.json" 2>/dev/null
check "STIX export" [ $? = 0 ]
check "STIX bundle valid" python3 "$ROOT/tests/tools/stix_check.py" "$T/x.json"
"$VIGIE" report --db "$T/v.db" -o "$T/r.html" 2>/dev/null
check "HTML report" grep -q 'id="campaigns"' "$T/r.html"
"$VIGIE" scan -q --format table --db "$T/x.db" "$T/s" >/dev/null 2>&1
check "--db needs jsonl (exit 2)" [ $? = 2 ]
finish
