#!/usr/bin/env bash
# vigie export --db FILE --stix OUT: a store built from tests/data/alerts_sample.jsonl (by the
# test_store_fixture program beside the vigie binary) exports a STIX 2.1 bundle that
# tests/tools/stix_check.py accepts, with the expected objects, byte-identical on re-export
# and after a second load of the same alerts; usage and I/O errors exit 2 with
# "vigie: error:"; and the validator itself rejects deliberately broken bundles.
source "$(dirname "$0")/lib.sh"
FIXTURE=$(dirname "$VIGIE")/test_store_fixture
CHECKER="$ROOT/tests/tools/stix_check.py"
SAMPLE="$ROOT/tests/data/alerts_sample.jsonl"

check "the fixture builder exists beside vigie ($FIXTURE)" [ -x "$FIXTURE" ]
check "the pattern checker passes its own cases" python3 "$CHECKER" --selftest

"$FIXTURE" "$T/s.db" "$SAMPLE" 2>"$T/fixture.err"
rc=$?
check "the fixture store builds" [ $rc = 0 ]
check "the fixture reports the malformed line with its position" \
  grep -q "alerts_sample.jsonl:7:" "$T/fixture.err"

"$VIGIE" export --db "$T/s.db" --stix "$T/b.json" 2>"$T/export.err"
check "export exits 0" [ $? = 0 ]
check "export says what it wrote" grep -q "exported 4 identities, 1 campaigns, 9 indicators" "$T/export.err"
python3 "$CHECKER" "$T/b.json" >"$T/check.out"
rc=$?
check "the bundle is valid STIX 2.1 ($(head -3 "$T/check.out"))" [ $rc = 0 ]

counts=$(python3 -c '
import collections, json, sys
b = json.load(open(sys.argv[1]))
c = collections.Counter(o["type"] for o in b["objects"])
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))' "$T/b.json")
check "object counts ($counts)" [ "$counts" = \
  "attack-pattern=5 campaign=1 identity=4 indicator=9 relationship=15 sighting=9" ]

python3 - "$T/b.json" >"$T/facts.out" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
by = {o["id"]: o for o in b["objects"]}
ok = True
def need(cond, what):
    global ok
    if not cond:
        ok = False
        print("missing:", what)
camp = [o for o in b["objects"] if o["type"] == "campaign"][0]
need(camp["name"] == "campaign-0001", "campaign name")
need(camp["first_seen"] == "2023-06-07T01:30:02.500Z" and camp["created"] == camp["first_seen"],
     "campaign times from the data")
ind = {o["pattern"]: o for o in b["objects"] if o["type"] == "indicator"}
need("[ipv4-addr:value = '195.26.87.219']" in ind, "ipv4 pattern")
need("[ipv6-addr:value = '2001:db8:dead::1']" in ind, "ipv6 pattern")
need("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
     "'curl/7.0 (it\\'s a \\\\ test)']" in ind, "escaped user-agent pattern")
need("[x509-certificate:hashes.'SHA-1' = 'd4b4cccda9228624656bff33d8110955779632aa']" in ind,
     "key thumbprint pattern")
rel = {(by[o["source_ref"]]["type"], o["relationship_type"], by[o["target_ref"]]["type"])
       for o in b["objects"] if o["type"] == "relationship"}
need(rel == {("indicator", "indicates", "campaign"), ("campaign", "uses", "attack-pattern"),
             ("campaign", "targets", "identity")}, "relationship kinds %r" % rel)
ext = [o["external_references"][0] for o in b["objects"] if o["type"] == "attack-pattern"]
need(all(e["source_name"] == "mitre-attack" and e["external_id"].startswith("T") for e in ext),
     "mitre-attack references")
need({e["external_id"] for e in ext} >= {"T1114.002", "T1606.002"}, "campaign techniques")
ip = ind["[ipv4-addr:value = '195.26.87.219']"]["id"]
s = [o for o in b["objects"] if o["type"] == "sighting" and o["sighting_of_ref"] == ip]
need(len(s) == 1 and s[0]["count"] == 3 and
     by[s[0]["where_sighted_refs"][0]]["name"].endswith("3bfa5ce3-1c2d-4e5f-8a9b-0c1d2e3f4a01"),
     "sighting of 195.26.87.219 in the first tenant, 3 alerts")
vigie = [o for o in b["objects"] if o["type"] == "identity" and o["name"] == "vigie"]
need(len(vigie) == 1 and all(o.get("created_by_ref") == vigie[0]["id"]
                             for o in b["objects"] if o is not vigie[0]), "created_by_ref vigie")
sys.exit(0 if ok else 1)
EOF
rc=$?
check "the bundle says what the sample holds ($(cat "$T/facts.out"))" [ $rc = 0 ]

# Deterministic: same bytes again, to stdout too, and after loading the same alerts twice more.
"$VIGIE" export -q --db "$T/s.db" --stix "$T/b2.json"
check "re-export gives the same bytes" cmp -s "$T/b.json" "$T/b2.json"
"$VIGIE" export -q --db "$T/s.db" --stix - >"$T/b3.json"
check "--stix - writes the same bundle to stdout" cmp -s "$T/b.json" "$T/b3.json"
"$FIXTURE" "$T/s.db" "$SAMPLE" "$SAMPLE" 2>/dev/null
"$VIGIE" export -q --db "$T/s.db" --stix "$T/b4.json"
check "loading the same alerts again changes nothing" cmp -s "$T/b.json" "$T/b4.json"
check "two runs recorded, alerts kept once" [ "$(sqlite3 "$T/s.db" \
  "select count(*) || ' ' || (select count(*) from alerts) from runs")" = "2 16" ]

# Usage and I/O errors: exit 2 and a vigie: error: line.
usage() { # usage "description" args...
  local d=$1; shift
  "$VIGIE" export "$@" >"$T/u.out" 2>"$T/u.err"
  local rc=$?
  check "$d: exit 2 (got $rc)" [ $rc = 2 ]
  check "$d: says vigie: error:" grep -q "^vigie: error:" "$T/u.err"
}
usage "no arguments"
usage "no --stix" --db "$T/s.db"
usage "--db without a value" --stix "$T/x.json" --db
usage "unknown option" --db "$T/s.db" --stix "$T/x.json" --frobnicate
usage "missing store" --db "$T/none.db" --stix "$T/x.json"
check "a missing store is not created" [ ! -e "$T/none.db" ]
echo "not a database at all, just text, long enough to be a page header..." >"$T/text.db"
usage "not a vigie store" --db "$T/text.db" --stix "$T/x.json"
usage "unwritable output" --db "$T/s.db" --stix "$T/no/such/dir/b.json"
check "no partial output left" [ ! -e "$T/no/such/dir/b.json.tmp" -a ! -e "$T/x.json" ]
"$VIGIE" help | grep -q "export --db FILE --stix OUT"
check "vigie help lists export" [ $? = 0 ]

# The validator must fail on broken bundles (one break each).
python3 - "$T/b.json" "$T" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
def first(t):
    return next(o for o in b["objects"] if o["type"] == t)
breaks = {
    "pattern-unclosed": lambda: first("indicator").update(pattern="[ipv4-addr:value = '1.2.3.4'"),
    "pattern-quote": lambda: first("indicator").update(pattern="[ipv4-addr:value = 'it's']"),
    "pattern-hyphen": lambda: first("indicator").update(
        pattern="[network-traffic:extensions.http-request-ext.x = 'a']"),
    "dangling-ref": lambda: first("sighting").update(
        sighting_of_ref="indicator--00000000-0000-5000-8000-000000000000"),
    "where-not-identity": lambda: first("sighting").update(
        where_sighted_refs=[first("campaign")["id"]]),
    "timestamp-no-z": lambda: first("campaign").update(created="2023-06-07T01:30:02.500"),
    "timestamp-space": lambda: first("identity").update(modified="2023-06-07 01:30:02.500Z"),
    "modified-before-created": lambda: first("attack-pattern").update(
        modified="2000-01-01T00:00:00.000Z"),
    "no-valid-from": lambda: first("indicator").pop("valid_from"),
    "no-spec-version": lambda: first("relationship").pop("spec_version"),
    "bad-id": lambda: first("campaign").update(id="campaign--not-a-uuid"),
    "id-type-mismatch": lambda: first("identity").update(
        id=first("identity")["id"].replace("identity--", "indicator--")),
    "no-relationship-type": lambda: first("relationship").pop("relationship_type"),
    "count-negative": lambda: first("sighting").update(count=-1),
}
for name, f in breaks.items():
    bb = json.loads(json.dumps(b))
    b, keep = bb, b
    f()
    json.dump(b, open("%s/broken-%s.json" % (sys.argv[2], name), "w"))
    b = keep
EOF
for f in "$T"/broken-*.json; do
  python3 "$CHECKER" "$f" >"$T/neg.out"
  rc=$?
  check "the validator rejects $(basename "$f" .json) ($(head -1 "$T/neg.out"))" [ $rc = 1 ]
done
check "14 broken bundles were tried" [ "$(ls "$T"/broken-*.json | wc -l)" = 14 ]
finish
