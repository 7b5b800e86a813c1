#!/usr/bin/env bash
# vigie simulate: deterministic for a seed, every record readable in every export shape,
# truth.json consistent with the files (campaign records only in victim organizations).
source "$(dirname "$0")/lib.sh"
"$VIGIE" simulate --orgs 8 --days 10 --victims 3 --seed 42 -o "$T/a" 2>/dev/null
check "simulate exits 0" [ $? = 0 ]
"$VIGIE" simulate --orgs 8 --days 10 --victims 3 --seed 42 -o "$T/b" 2>/dev/null
check "same seed, same bytes" diff -r -q "$T/a" "$T/b"
"$VIGIE" simulate --orgs 8 --days 10 --victims 3 --seed 43 -o "$T/c" 2>/dev/null
check "another seed differs" bash -c "! diff -r -q '$T/a' '$T/c' >/dev/null"
"$VIGIE" scan -q --no-progress --summary-json "$T/s.json" -o "$T/alerts.jsonl" "$T/a"
check "scan exits 0" [ $? = 0 ]
check "no bad record in any shape" [ "$(json_get "$T/s.json" bad_records)" = 0 ]
python3 - "$T/a" <<'PY' || bad "truth.json consistent with the logs"
import json, os, sys
root = sys.argv[1]
t = json.load(open(os.path.join(root, "truth.json")))
assert len(t["orgs"]) == 8 and len(t["victims"]) == 3
victims = {o["name"] for o in t["orgs"] if o["victim"]}
assert len(victims) == 3
shapes = {o["shapes"] for o in t["orgs"]}
assert len(shapes) == 4, shapes
ids = set(t["campaign_record_ids"])
assert ids, "no campaign records"
found = {}
for o in t["orgs"]:
    d = os.path.join(root, o["name"])
    text = "".join(open(os.path.join(d, f), encoding="utf-8").read() for f in os.listdir(d))
    found[o["name"]] = sum(1 for i in ids if i in text)
assert sum(found.values()) == len(ids), found
for name, n in found.items():
    assert (n > 0) == (name in victims), (name, n)
assert any("new_vendor_mail_app" in o["decoys"] for o in t["orgs"])
PY
"$VIGIE" simulate --orgs 0 -o "$T/x" 2>/dev/null; check "bad arguments exit 2" [ $? = 2 ]
finish
