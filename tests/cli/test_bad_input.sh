#!/usr/bin/env bash
# Bad input is normal input: each bad record gets a message with its position, is counted
# and skipped, and every good record around it is processed.
source "$(dirname "$0")/lib.sh"
RULE="$ROOT/tests/data/rules/keep_marker.yml"
good() { printf '{"marker":"keep","n":%d}\n' "$1"; }

scan() { # scan NAME INPUT... ; leaves $T/NAME.{out,err,sum}
  local name=$1; shift
  "$VIGIE" scan -j 2 --no-progress --logsource=all -r "$RULE" --summary-json "$T/$name.sum" \
    "$@" >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}
expect() { # expect NAME EVENTS ALERTS BAD MSG_REGEX
  local name=$1 ev=$2 al=$3 bd=$4 re=$5
  check "$name: exit 0" [ "$(cat "$T/$name.rc")" = 0 ]
  check "$name: events=$ev (got $(json_get "$T/$name.sum" events))" [ "$(json_get "$T/$name.sum" events)" = "$ev" ]
  check "$name: alerts=$al (got $(json_get "$T/$name.sum" alerts))" [ "$(json_get "$T/$name.sum" alerts)" = "$al" ]
  check "$name: bad_records=$bd (got $(json_get "$T/$name.sum" bad_records))" [ "$(json_get "$T/$name.sum" bad_records)" = "$bd" ]
  check "$name: message matching '$re'" grep -Eq "$re" "$T/$name.err"
  check "$name: one alert line per alert" [ "$(grep -vc '"kind":"combined"' "$T/$name.out")" = "$al" ]
}

# 1. malformed JSON lines among good ones
{ good 1; echo '{"marker":"keep",'; good 2; echo 'not json at all'; good 3; echo '{"a":1}}'; good 4; } >"$T/mixed.ndjson"
scan mixed "$T/mixed.ndjson"
expect mixed 4 4 3 "mixed.ndjson:2: .*skipped"
check "mixed: line 4 reported" grep -q "mixed.ndjson:4:" "$T/mixed.err"
check "mixed: line 6 reported" grep -q "mixed.ndjson:6:" "$T/mixed.err"

# 2. invalid UTF-8
{ good 1; printf '{"marker":"keep","bad":"\xff\xfe"}\n'; good 2; } >"$T/utf8.ndjson"
scan utf8 "$T/utf8.ndjson"
expect utf8 2 2 1 "utf8.ndjson:2: .*UTF-8"

# 3. a truncated gzip: the records before the cut are kept, the cut is reported
for i in $(seq 1 2000); do good "$i"; done | gzip -c >"$T/full.gz"
size=$(stat -c %s "$T/full.gz")
head -c $((size / 2)) "$T/full.gz" >"$T/trunc.json.gz"
scan trunc "$T/trunc.json.gz"
check "trunc: exit 0" [ "$(cat "$T/trunc.rc")" = 0 ]
ev=$(json_get "$T/trunc.sum" events)
check "trunc: some records before the cut kept (got $ev)" [ "$ev" -gt 100 -a "$ev" -lt 2000 ]
check "trunc: alerts = events" [ "$(json_get "$T/trunc.sum" alerts)" = "$ev" ]
check "trunc: counted as bad" [ "$(json_get "$T/trunc.sum" bad_records)" -ge 1 ]
check "trunc: message names the file" grep -Eq "trunc.json.gz(:[0-9]+)?:.*(truncat|gzip|decompress)" "$T/trunc.err"

# 4. a 64 MiB line between good ones (valid: processed)
python3 - "$T/big.ndjson" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"marker":"keep","n":1}\n')
    f.write('{"marker":"keep","blob":"' + "A" * (64 * 1024 * 1024) + '"}\n')
    f.write('{"marker":"keep","n":3}\n')
PY
scan big "$T/big.ndjson"
check "big: exit 0" [ "$(cat "$T/big.rc")" = 0 ]
check "big: 3 events" [ "$(json_get "$T/big.sum" events)" = 3 ]
check "big: 3 alerts" [ "$(json_get "$T/big.sum" alerts)" = 3 ]

# 5. nesting depth 100,000
{ good 1; python3 -c 'print("{\"marker\":\"keep\",\"x\":" + "[" * 100000 + "]" * 100000 + "}")'; good 2; } >"$T/deep.ndjson"
scan deep "$T/deep.ndjson"
expect deep 2 2 1 "deep.ndjson:2: .*(deep|depth|nest)"

# 6. a CSV with a broken quote
printf 'marker,n,note\nkeep,1,fine\nkeep,2,"broken\nkeep,3,fine\n' >"$T/broken.csv"
scan csv "$T/broken.csv"
check "csv: exit 0" [ "$(cat "$T/csv.rc")" = 0 ]
check "csv: broken row reported with its line" grep -Eq "broken.csv:3: " "$T/csv.err"
check "csv: at least one bad record" [ "$(json_get "$T/csv.sum" bad_records)" -ge 1 ]
check "csv: rows before and after the broken one processed" [ "$(json_get "$T/csv.sum" alerts)" = 2 ]

# 7. a rule with an invalid regex, and a YAML alias bomb, beside a good rule
cp "$ROOT/tests/data/rules/keep_marker.yml" "$ROOT/tests/data/rules/bad_regex.yml" "$ROOT/tests/data/rules/alias_bomb.yml" "$T/"
mkdir -p "$T/rules" && mv "$T"/*.yml "$T/rules/"
{ good 1; good 2; } >"$T/two.ndjson"
start=$(date +%s)
"$VIGIE" scan -j 1 --no-progress --logsource=all -r "$T/rules" --summary-json "$T/rules.sum" "$T/two.ndjson" >"$T/rules.out" 2>"$T/rules.err"
rc=$?
end=$(date +%s)
check "rules: exit 0" [ "$rc" = 0 ]
check "rules: good rule still fires on both records" [ "$(json_get "$T/rules.sum" alerts)" = 2 ]
check "rules: invalid regex reported with file:line:col" grep -Eq "bad_regex.yml:[0-9]+:[0-9]+: .*(regular expression|regex)" "$T/rules.err"
check "rules: alias bomb reported with position" grep -Eq "alias_bomb.yml:[0-9]+(:[0-9]+)?: .*(alias|expansion|too many)" "$T/rules.err"
check "rules: alias bomb rejected, not expanded (generous bound under load)" [ $((end - start)) -lt 60 ]
"$VIGIE" rules check --json "$T/rules" >"$T/check.json" 2>/dev/null
check "rules check: 1 loaded" [ "$(json_get "$T/check.json" loaded)" = 1 ]
check "rules check: 2 skipped" [ "$(json_get "$T/check.json" skipped)" = 2 ]

# hostile mailbox records through vigie's pack (sessions, visibility, gaps): one tenant's
# records decades apart, a tenant that tries to inject JSON, NUL and \x1f inside a session id
# and a user, 400,000 message ids in one record: no crash, every line valid JSON, values
# kept as they were
python3 - "$T/hostile.ndjson" <<'PY'
import json, sys
def mail(t, ts, sess="s1", user="a@b", ids=1):
    return {"CreationTime": ts, "Id": "x", "Operation": "MailItemsAccessed", "OrganizationId": t,
            "RecordType": 50, "UserId": user, "AppId": "app", "ClientAppId": "capp",
            "ClientIPAddress": "::ffff:10.1.2.3", "MailboxOwnerUPN": user, "SessionId": sess,
            "OperationCount": 3, "Folders": [{"Path": "\\Inbox", "FolderItems":
            [{"InternetMessageId": "<m%d@x>" % i} for i in range(ids)]}]}
recs = [mail("t1", "2023-06-07T01:33:15"), mail("t1", "2040-06-15T01:33:15"),
        mail("t1", "1971-01-01T00:00:00"), mail('evil","gap":"x\\', "2023-06-07T01:33:15"),
        mail("t2", "2023-06-07T01:33:15", sess="a\u0000b\u001fc", user="u\u001fs:zz"),
        mail("t3", "2023-06-07T01:33:15", ids=400000)]
with open(sys.argv[1], "w") as f:
    for r in recs:
        f.write(json.dumps(r) + "\n")
PY
timeout 60 "$VIGIE" scan -q --no-progress --summary-json "$T/hostile.sum" -o "$T/hostile.out" "$T/hostile.ndjson"
check "hostile mail records: exit 0" [ $? = 0 ]
python3 - "$T/hostile.out" "$T/hostile.sum" <<'PY' || bad "hostile mail records: valid output"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
tenants = {l.get("tenant") for l in lines if l["kind"] == "gap"}
assert 'evil","gap":"x\\' in tenants, tenants
s = json.load(open(sys.argv[2]))
assert s["events"] == 6 and s["bad_records"] == 0
PY
finish
