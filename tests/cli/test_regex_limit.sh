#!/usr/bin/env bash
# A regex that PCRE2 stops at its match limit leaves its rule undecided on that record: vigie
# writes an alert of kind "undetermined" (the rule's level, the reason and the field), warns on
# stderr with the record's position and the rule (at most 100 lines, then a count), counts it
# in the summary, and keeps it in the store and the ledger; it adds no signal to combined
# alerts and is no match for correlations. --regex-limit=ignore: no match, still counted. A
# match elsewhere in the condition stands (sel_regex or sel_plain). docs/SIGMA.md.
source "$(dirname "$0")/lib.sh"
RID=7a3c1f00-0000-4000-8000-00000000000a
cat >"$T/re.yml" <<EOF
title: Nested quantifier
id: $RID
level: high
logsource:
  product: test
detection:
  sel:
    CommandLine|re: '(a+)+b'
  condition: sel
EOF
cat >"$T/or.yml" <<'EOF'
title: Regex or plain
id: 7a3c1f00-0000-4000-8000-00000000000b
level: medium
logsource:
  product: test
detection:
  sel_regex:
    CommandLine|re: '(a+)+b'
  sel_plain:
    User: mallory
  condition: sel_regex or sel_plain
EOF
pad() { printf 'a%.0s' $(seq "$1"); }
# 'c b': the 'b' that PCRE2 requires is present, so it backtracks; without it, it gives up at once
rec() { printf '{"CommandLine":"%sc b","User":"%s","n":%d}\n' "$(pad "$1")" "$2" "$3"; }

scan() { # scan NAME ARGS... ; leaves $T/NAME.{out,err,sum,rc}
  local name=$1; shift
  "$VIGIE" scan -j 2 --no-progress --logsource=all --summary-json "$T/$name.sum" \
    -o "$T/$name.out" "$@" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}

# 1. the limit is really reached: increasing padding, one record per length; below some length
#    PCRE2 decides (no match), from there on it stops, and 40 is well past it
: >"$T/grow.ndjson"
for n in 4 8 12 16 20 24 28 32 36 40; do rec "$n" bob "$n" >>"$T/grow.ndjson"; done
scan grow -r "$T/re.yml" "$T/grow.ndjson"
python3 - "$T/grow.out" <<'PY' || bad "grow: undecided exactly from some padding on"
import json, sys
und = [json.loads(l)["event"]["n"] for l in open(sys.argv[1]) if '"kind":"undetermined"' in l]
assert und and und[-1] == 40 and 4 not in und, und
lengths = [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
k = lengths.index(und[0])
assert und == lengths[k:], und
PY

# 2. one padded record, one genuine match, one decided non-match
{ rec 40 bob 1; echo '{"CommandLine":"aaab","User":"bob","n":2}'; rec 8 bob 3; } >"$T/ev.ndjson"
scan one -r "$T/re.yml" --db "$T/a.db" --ledger "$T/led" "$T/ev.ndjson"
check "one: exit 0" [ "$(cat "$T/one.rc")" = 0 ]
python3 - "$T/one.out" "$T/ev.ndjson" "$RID" <<'PY' || bad "one: the undetermined alert and the sigma alert"
import hashlib, json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
recs = open(sys.argv[2], "rb").read().split(b"\n")
und = [a for a in out if a["kind"] == "undetermined"]
sig = [a for a in out if a["kind"] == "sigma"]
assert len(und) == 1 and len(sig) == 1, out
u = und[0]
assert u["rule"]["id"] == sys.argv[3] and u["rule"]["level"] == "high", u["rule"]
assert u["rule"]["title"] == "Nested quantifier"
assert u["undetermined"] == {"reason": "regex_match_limit", "fields": ["CommandLine"]}, u
assert len(u["id"]) == 32 and "tenant" in u and "time" in u
assert u["source"]["line"] == 1 and u["source"]["sha256"] == hashlib.sha256(recs[0]).hexdigest()
assert u["event"]["n"] == 1
assert sig[0]["source"]["line"] == 2
# the undetermined record is no signal of any session: combined alerts rest on line 2 only
for c in (a for a in out if a["kind"] == "combined"):
    assert all(e["line"] == 2 for e in c["evidence"]), c
PY
check "one: stderr names position, rule and field" grep -Fq \
  "ev.ndjson:1: record 1: rule $RID (Nested quantifier): regex match limit reached on CommandLine; written as undetermined" "$T/one.err"
check "one: one warning" [ "$(grep -c 'written as undetermined' "$T/one.err")" = 1 ]
check "one: summary undetermined=1" [ "$(json_get "$T/one.sum" undetermined)" = 1 ]
check "one: summary regex_undecided=1" [ "$(json_get "$T/one.sum" regex_undecided)" = 1 ]
check "one: summary regex_limit=alert" [ "$(json_get "$T/one.sum" regex_limit)" = alert ]
check "one: summary regex_limit_hits>=1" [ "$(json_get "$T/one.sum" regex_limit_hits)" -ge 1 ]
check "one: alerts=2, both high" [ "$(json_get "$T/one.sum" alerts)/$(json_get "$T/one.sum" alerts_by_level.high)" = 2/2 ]
check "one: stderr summary line" grep -q "undetermined (regex limit) 1" "$T/one.err"
python3 - "$T/a.db" "$T/led/entries.jsonl" "$T/one.out" <<'PY' || bad "one: undetermined alert in the store and the ledger"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT id, level FROM alerts WHERE kind = 'undetermined'").fetchall()
assert len(rows) == 1 and rows[0][1] == "high", rows
ev = db.execute("SELECT line FROM evidence WHERE alert_id = ?", (rows[0][0],)).fetchall()
assert ev == [(1,)], ev
led = {json.loads(l).get("alert_id") for l in open(sys.argv[2])}
assert rows[0][0] in led
assert {json.loads(l)["id"] for l in open(sys.argv[3])} <= led
PY
"$VIGIE" verify --ledger "$T/led" --unsigned >/dev/null 2>&1
rc=$?
check "one: the (unsigned) ledger verifies" [ $rc = 0 ]

# 3. only the padded record: nothing for combined alerts
rec 40 bob 1 >"$T/only.ndjson"
scan only -r "$T/re.yml" "$T/only.ndjson"
check "only: one undetermined alert" [ "$(grep -c '"kind":"undetermined"' "$T/only.out")" = 1 ]
check "only: no combined alert" [ "$(json_get "$T/only.sum" combined_alerts)" = 0 ]
check "only: no line but the undetermined one" [ "$(wc -l <"$T/only.out")" = 1 ]

scan csv -r "$T/re.yml" --format csv --no-combined "$T/only.ndjson"
check "csv: the title says undetermined" grep -q ',high,[^,]*,undetermined: Nested quantifier,' "$T/csv.out"

# 4. --regex-limit=ignore: the old behaviour, still counted
scan ign -r "$T/re.yml" --regex-limit=ignore --no-combined "$T/ev.ndjson"
check "ignore: exit 0" [ "$(cat "$T/ign.rc")" = 0 ]
check "ignore: no undetermined alert" [ "$(grep -c '"kind":"undetermined"' "$T/ign.out")" = 0 ]
check "ignore: the genuine match stays" [ "$(grep -c '"kind":"sigma"' "$T/ign.out")" = 1 ]
check "ignore: summary undetermined=0" [ "$(json_get "$T/ign.sum" undetermined)" = 0 ]
check "ignore: still counted (regex_undecided=1)" [ "$(json_get "$T/ign.sum" regex_undecided)" = 1 ]
check "ignore: summary regex_limit=ignore" [ "$(json_get "$T/ign.sum" regex_limit)" = ignore ]
check "ignore: no per-record warning" [ "$(grep -c 'written as undetermined' "$T/ign.err")" = 0 ]
check "ignore: one line saying what was ignored" grep -q "taken as no match (--regex-limit=ignore)" "$T/ign.err"
scan ign2 -r "$T/re.yml" --regex-limit ignore "$T/ev.ndjson"
check "ignore (separate value): no undetermined alert" [ "$(grep -c '"kind":"undetermined"' "$T/ign2.out")" = 0 ]
scan bad -r "$T/re.yml" --regex-limit=maybe "$T/ev.ndjson"
check "--regex-limit=maybe: usage error" [ "$(cat "$T/bad.rc")" = 2 ]
check "--regex-limit=maybe: says why" grep -q "regex-limit takes alert or ignore" "$T/bad.err"

# 5. sel_regex or sel_plain, sel_plain true on the padded record: a normal alert only
rec 40 mallory 1 >"$T/or.ndjson"
scan or -r "$T/or.yml" --no-combined "$T/or.ndjson"
check "or: one sigma alert" [ "$(grep -c '"kind":"sigma"' "$T/or.out")" = 1 ]
check "or: no undetermined alert" [ "$(grep -c '"kind":"undetermined"' "$T/or.out")" = 0 ]
check "or: medium" [ "$(json_get "$T/or.sum" alerts_by_level.medium)" = 1 ]
check "or: no warning" [ "$(grep -c 'written as undetermined' "$T/or.err")" = 0 ]
# ... and with sel_plain false, undetermined at the rule's level
rec 40 bob 1 >"$T/or2.ndjson"
scan or2 -r "$T/or.yml" --no-combined "$T/or2.ndjson"
check "or, plain false: undetermined at the rule's level" \
  [ "$(grep -c '"level":"medium","tags":\[\]},"kind":"undetermined"' "$T/or2.out")/$(wc -l <"$T/or2.out")" = 1/1 ]

# 6. a flood of hostile records: 100 warnings, then a count; every one is an alert
for i in $(seq 1 150); do rec 40 bob "$i"; done >"$T/flood.ndjson"
scan flood -r "$T/re.yml" --no-combined "$T/flood.ndjson"
check "flood: 150 undetermined alerts" [ "$(grep -c '"kind":"undetermined"' "$T/flood.out")" = 150 ]
check "flood: 100 warnings" [ "$(grep -c 'written as undetermined' "$T/flood.err")" = 100 ]
check "flood: then a count" grep -q "50 more undetermined alert(s) not shown" "$T/flood.err"
check "flood: summary 150" [ "$(json_get "$T/flood.sum" undetermined)" = 150 ]
check "flood: the first 100 in read order" [ "$(grep -o 'record [0-9]*:' "$T/flood.err" | tail -1)" = "record 100:" ]
scan flood1 -r "$T/re.yml" --no-combined -j 1 "$T/flood.ndjson"
check "flood: -j 1 and -j 2 write the same" cmp -s "$T/flood.out" "$T/flood1.out"

# 7. a correlation over the rule: an undetermined record is not one of its events
cat >"$T/corr.yml" <<EOF
title: Nested quantifier
id: $RID
name: nested
level: low
logsource:
  product: test
detection:
  sel:
    CommandLine|re: '(a+)+b'
  condition: sel
---
title: Two nested
id: 7a3c1f00-0000-4000-8000-00000000000c
correlation:
  type: event_count
  rules:
    - nested
  group-by:
    - User
  timespan: 1h
  condition:
    gte: 2
level: high
EOF
{ printf '{"ts":1686000000,"CommandLine":"aaab","User":"bob"}\n'
  printf '{"ts":1686000001,"CommandLine":"%sc b","User":"bob"}\n' "$(pad 40)"; } >"$T/c1.ndjson"
scan c1 -r "$T/corr.yml" --time-field ts --no-combined "$T/c1.ndjson"
check "correlation: undetermined is no event of it" [ "$(grep -c '"kind":"correlation"' "$T/c1.out")" = 0 ]
check "correlation: the undetermined alert is written" [ "$(grep -c '"kind":"undetermined"' "$T/c1.out")" = 1 ]
{ printf '{"ts":1686000000,"CommandLine":"aaab","User":"bob"}\n'
  printf '{"ts":1686000001,"CommandLine":"ab","User":"bob"}\n'; } >"$T/c2.ndjson"
scan c2 -r "$T/corr.yml" --time-field ts --no-combined "$T/c2.ndjson"
check "correlation: two genuine matches fire it" [ "$(grep -c '"kind":"correlation"' "$T/c2.out")" = 1 ]
finish
