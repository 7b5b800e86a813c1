#!/usr/bin/env bash
# The ledger as `vigie scan --ledger` writes it. (1) verify --inputs on a scenario whose ten
# organizations' files share base names: one untouched file given is OK (matched by recorded
# path or SHA-256, never by base name); one byte changed inside a referenced record fails,
# naming the record (file:line); a changed sign-in log, which no alert references, fails
# through the run manifest. (2) kill -9 at three moments of a scan of several seconds: the
# ledger recovers (vigie ledger recover, or the next scan's open), verifies, and the alerts
# whose line in -o and whose entry are complete are provable; the re-run exits 0.
source "$(dirname "$0")/lib.sh"
VIGIE="$(cd "$(dirname "$VIGIE")" && pwd)/$(basename "$VIGIE")"
cd "$T"
"$VIGIE" keygen -o k >/dev/null 2>&1

# ---- (1) verify --inputs does not cry wolf --------------------------------------------------
"$VIGIE_SIM" simulate --orgs 10 --days 3 --victims 2 --seed 3 -o S 2>/dev/null
check "simulated: files share base names across organizations" \
  [ "$(find S -name purview-audit-export.csv | wc -l)" -gt 1 ]
"$VIGIE" scan -q --no-progress --ledger L --key k -o a.jsonl S 2>scan.err
rc=$?
check "scan --ledger: exit 0 ($(head -c 300 scan.err))" [ $rc = 0 ]
check "scan: the run manifest is one entry" [ "$(grep -c '"manifest":\[' L/entries.jsonl)" = 1 ]
check "manifest: every input file, sign-in logs included" \
  [ "$(grep -o '"path":"[^"]*"' L/entries.jsonl | wc -l)" = "$(find S -type f | wc -l)" ]
check "manifest: a sign-in log" grep -q '"path":"S/org01.example/signin-loganalytics.ndjson","size":[0-9]*,"sha256":"[0-9a-f]\{64\}"' L/entries.jsonl
# the referenced file (from the ledger) and an unreferenced one with the same base name
ref=$(python3 -c 'import json
for l in open("L/entries.jsonl"):
    d = json.loads(l)
    for s in d.get("sources", []):
        print(s["file"]); raise SystemExit' )
check "an alert references a file ($ref)" [ -n "$ref" ]
base=$(basename "$ref")
other=$(find S -name "$base" ! -path "$ref" ! -path "./$ref" | head -1)
check "another organization has a file named $base" [ -n "$other" ]
"$VIGIE" verify --ledger L --key k.pub --inputs "$other" >v1.out 2>v1.err
rc=$?
check "one untouched file (same base name as a referenced one): OK ($(head -c 300 v1.err))" [ $rc = 0 ]
check "  no 'altered' cried" bash -c "! grep -q altered v1.err"
"$VIGIE" verify --ledger L --key k.pub --inputs "$ref" >v2.out 2>v2.err
check "the referenced file itself: OK" [ $? = 0 ]
mkdir elsewhere && cp "$ref" elsewhere/
"$VIGIE" verify --ledger L --key k.pub --inputs "elsewhere/$base" >v3.out 2>v3.err
rc=$?
check "a copy elsewhere, matched by SHA-256: OK with no warning" bash -c "[ $rc = 0 ] && [ ! -s v3.err ]"
echo '{"not":"in the ledger"}' >elsewhere/new.ndjson
"$VIGIE" verify --ledger L --key k.pub --inputs elsewhere/new.ndjson >v4.out 2>v4.err
check "a file the ledger does not reference: exit 0" [ $? = 0 ]
check "  with a warning" grep -q "warning: elsewhere/new.ndjson: not referenced by the ledger" v4.err
# one byte changed inside a referenced record
read -r line off <<<"$(python3 -c 'import json
for l in open("L/entries.jsonl"):
    d = json.loads(l)
    for s in d.get("sources", []):
        print(s["line"], s["offset"]); raise SystemExit')"
cp "$ref" ref.orig
python3 - "$ref" "$off" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
# inside the record as the reader returns it: a value of the JSON (for a Purview CSV row,
# the AuditData column; other columns are not the record)
i = b.index(b'Id"', off) + 3
while b[i] in b'":, ':
    i += 1
b[i] ^= 0x01
open(p, "wb").write(bytes(b))
PY
"$VIGIE" verify --ledger L --key k.pub --inputs "$ref" >v5.out 2>v5.err
check "one byte changed in a referenced record: exit 1" [ $? = 1 ]
check "  FAILED" grep -q "verification FAILED" v5.err
check "  naming the record ($ref:$line)" grep -q "^vigie: error: $ref:$line: record .* the record was altered" v5.err
cp ref.orig "$ref"
# a sign-in log no alert references: the manifest shows it altered
sl=S/org01.example/signin-loganalytics.ndjson
cp "$sl" sl.orig
sed -i '1s/.$/ /' "$sl"
"$VIGIE" verify --ledger L --key k.pub --inputs "$sl" >v6.out 2>v6.err
check "an altered sign-in log: exit 1" [ $? = 1 ]
check "  naming it" grep -q "^vigie: error: $sl: file differs from the run manifest" v6.err
cp sl.orig "$sl"

# ---- (2) kill -9 during a scan ---------------------------------------------------------------
"$VIGIE_SIM" simulate --orgs 60 --days 60 --victims 5 --seed 1 -o B 2>/dev/null
"$VIGIE" scan -q --no-progress -o full.jsonl B 2>/dev/null
total=$(wc -l <full.jsonl)
check "the long scenario has thousands of alerts ($total)" [ "$total" -gt 1500 ]
for at in 300 900 1500; do
  rm -rf K "o$at.jsonl"
  "$VIGIE" scan -q --no-progress --ledger K --key k -o "o$at.jsonl" B 2>/dev/null &
  pid=$!
  for _ in $(seq 1 600); do
    n=$( [ -f K/entries.jsonl ] && wc -l <K/entries.jsonl || echo 0)
    [ "$n" -ge "$at" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.02
  done
  kill -9 $pid 2>/dev/null
  killed=$?
  wait $pid 2>/dev/null
  check "kill -9 after $at entries: the scan was still running" [ $killed = 0 ]
  "$VIGIE" verify --ledger K --key k.pub >k1.out 2>k1.err
  check "after kill -9 at $at: verify fails (unsigned tail or torn line)" [ $? = 1 ]
  if [ "$at" = 900 ]; then # the next scan's open recovers
    "$VIGIE" scan --no-progress --ledger K --key k -o /dev/null B 2>rerun.err
    rc=$?
    check "re-run after kill -9 at $at: exit 0 ($(head -c 300 rerun.err))" [ $rc = 0 ]
    check "  reports what it recovered" grep -q "recovered: kept [0-9]* entr" rerun.err
  else
    "$VIGIE" ledger recover --ledger K --key k >rec.out 2>rec.err
    rc=$?
    check "ledger recover after kill -9 at $at: exit 0 ($(head -c 300 rec.err))" [ $rc = 0 ]
    check "  says what it kept" grep -q "recovered: kept [0-9]* entr" rec.err
  fi
  "$VIGIE" verify --ledger K --key k.pub >k2.out 2>k2.err
  rc=$?
  check "after recovery: verify --key passes ($(head -c 300 k2.err))" [ $rc = 0 ]
  # alerts whose line in -o is complete and whose entry is complete are provable
  python3 - "o$at.jsonl" K/entries.jsonl >ids.txt <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
lines = data.split(b"\n")[:-1]  # complete lines only
ledger = set()
for l in open(sys.argv[2], "rb"):
    if l.endswith(b"\n"):
        d = json.loads(l)
        if "alert_id" in d:
            ledger.add(d["alert_id"])
ids = [json.loads(l)["id"] for l in lines if json.loads(l)["id"] in ledger]
pick = sorted(set([ids[0], ids[len(ids) // 2], ids[-1]])) if ids else []
print("\n".join(pick))
PY
  check "after kill -9 at $at: alerts in -o and in the ledger" [ -s ids.txt ]
  while read -r id; do
    "$VIGIE" prove --ledger K "$id" -o p.json 2>p.err && "$VIGIE" verify --proof p.json --key k.pub >/dev/null 2>&1
    rc=$?
    check "  alert $id provable ($(head -c 200 p.err))" [ $rc = 0 ]
  done <ids.txt
done
finish
