#!/usr/bin/env bash
# vigie scan end to end on the bundled demo logs with vigie's own rule pack: the alerts a
# responder expects, in every output format, identical for any -j, with stable interfaces.
source "$(dirname "$0")/lib.sh"
DEMO="$ROOT/tests/data/demo"

"$VIGIE" scan -j 1 --no-progress --summary-json "$T/s1.json" "$DEMO" >"$T/a1.jsonl" 2>"$T/e1"
check "exit 0" [ $? = 0 ]
"$VIGIE" scan -j 2 --no-progress --summary-json "$T/s2.json" "$DEMO" >"$T/a2.jsonl" 2>"$T/e2"
check "-j 2 exit 0" [ $? = 0 ]
check "same alerts, same order for -j 1 and -j 2" cmp -s "$T/a1.jsonl" "$T/a2.jsonl"

python3 - "$T/a1.jsonl" "$T/s1.json" <<'PY' || bad "alert content"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
alerts = [a for a in lines if a["kind"] not in ("combined", "gap")]
s = json.load(open(sys.argv[2]))
def titles(pred):
    return [a for a in alerts if pred(a)]
for a in alerts:
    for k in ("rule", "tenant", "time", "source", "event"):
        assert k in a, (k, a)
    for k in ("id", "title", "level", "tags"):
        assert k in a["rule"], k
    for k in ("file", "line", "offset"):
        assert k in a["source"], k
by = {}
for a in alerts:
    by.setdefault(a["rule"]["title"], []).append(a)
consumer = by.get("Mailbox Read With a Consumer-Tenant Token", [])
# bob (NDJSON line 2) and dave (Purview CSV) read mail with consumer-tenant tokens
users = sorted(a["event"]["UserId"] for a in consumer)
assert users == ["bob@contoso.example", "dave@contoso.example"], users
bob = [a for a in consumer if a["event"]["UserId"] == "bob@contoso.example"][0]
assert bob["source"]["line"] == 2, bob["source"]
assert bob["source"]["file"].endswith("m365_management_api.ndjson")
assert bob["tenant"] == "3d6f4c1a-8a2b-4f5e-9c71-2b0e5a9d4f10", bob["tenant"]
assert bob["time"] == "2023-06-13T02:41:17.000Z", bob["time"]
assert bob["rule"]["level"] == "high"
# what was read, from the record itself
assert bob["messages_read"] == {"internet_message_ids": 5, "operation_count": 14, "folders": ["\\Inbox"]}, bob["messages_read"]
assert "messages_read" not in [a for a in alerts if a["event"].get("Operation") == "New-InboxRule"][0]
dave = [a for a in consumer if a["event"]["UserId"] == "dave@contoso.example"][0]
assert dave["source"]["file"].endswith("purview_audit_export.csv")
mismatch = by.get("Mailbox Read With a Token of Another Tenant", [])
assert sorted(a["event"]["UserId"] for a in mismatch) == ["bob@contoso.example", "bob@contoso.example", "dave@contoso.example"], mismatch
# published Storm-0558 addresses, only inside their windows (7-day margin): bob's two reads
# (195.26.87.219 on 13 Jun, window 15 May-25 Jun; 51.89.156.153) and the CloudTrail calls from
# 146.70.121.44 on 16 Jun; not dave's read from 91.231.186.226 on 15 Jun (window 29 Jun-4 Jul)
ind = [a for a in alerts if a["kind"] == "indicator"]
assert sorted(a["indicator"]["value"] for a in ind) == ["146.70.121.44", "146.70.121.44", "195.26.87.219", "51.89.156.153"], ind
assert all(a["rule"]["level"] == "medium" and a["indicator"]["first_seen"] for a in ind)
assert len(by.get("Inbox Rule Forwarding or Redirecting Mail", [])) == 1
assert len(by.get("CloudTrail Logging Stopped, Deleted or Narrowed", [])) == 1
ua = by.get("Sign-in or Mail Access With a User Agent Published for Storm-0558", [])
assert len(ua) == 1 and ua[0]["tenant"] == "3d6f4c1a-8a2b-4f5e-9c71-2b0e5a9d4f10", ua
assert len(by.get("Entra Sign-in Token Issued by the Consumer Tenant for an Enterprise Tenant Resource", [])) == 1
for k in ("events", "bytes", "bad_records", "alerts", "alerts_by_level", "top_rules", "rule_load_s"):
    assert k in s, k
assert s["bad_records"] == 2, s["bad_records"]          # the truncated record and the non-JSON line
assert s["events"] == 12, s["events"]
assert s["alerts"] == len(alerts)
PY
check "bad records reported with their line" grep -q "m365_management_api.ndjson:3:" "$T/e1"

# many batches: the alert stream is identical, in the same order, for any -j
python3 - "$T/many.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(9000):
        f.write(json.dumps({"marker": "keep" if i % 7 == 0 else "skip", "n": i}) + "\n")
PY
"$VIGIE" scan -j 1 -q --logsource=all -r "$ROOT/tests/data/rules/keep_marker.yml" "$T/many.ndjson" >"$T/m1"
"$VIGIE" scan -j 3 -q --logsource=all -r "$ROOT/tests/data/rules/keep_marker.yml" "$T/many.ndjson" >"$T/m3"
check "-j 3 = -j 1 over 9000 records (5 batches)" cmp -s "$T/m1" "$T/m3"
check "every 7th record alerted" [ "$(grep -vc '"kind":"combined"' "$T/m1")" = 1286 ]

# formats
"$VIGIE" scan -j 1 --no-progress -q --format csv "$DEMO" >"$T/a.csv"
check "csv header" grep -q '^time,level,rule_id,rule_title,tenant,file,line,offset$' "$T/a.csv"
check "csv rows" [ "$(($(wc -l <"$T/a.csv") - 1))" = "$(wc -l <"$T/a1.jsonl")" ]
"$VIGIE" scan -j 1 --no-progress -q --format table "$DEMO" >"$T/a.txt"
check "table lists the consumer token rule" grep -q "Consumer-Tenant Token" "$T/a.txt"
# stdin and -o
cat "$DEMO/m365_management_api.ndjson" | "$VIGIE" scan -q -o "$T/stdin.jsonl" - 2>/dev/null
check "stdin input" grep -q '"file":"-"' "$T/stdin.jsonl"

# exit codes
"$VIGIE" scan --bogus "$DEMO" >/dev/null 2>&1; check "usage error exits 2" [ $? = 2 ]
"$VIGIE" scan -r "$T/none" "$DEMO" >/dev/null 2>&1; check "missing rules exit 3" [ $? = 3 ]
"$VIGIE" scan -q --fail-on-alert "$DEMO" >/dev/null 2>&1; check "--fail-on-alert exits 1" [ $? = 1 ]
"$VIGIE" scan -q "$T/does-not-exist.json" >/dev/null 2>&1; check "missing input exits 4" [ $? = 4 ]

# rules check --json on the pack
"$VIGIE" rules check --json "$ROOT/rules" >"$T/rc.json"
check "rules check: every pack rule loads" [ "$(json_get "$T/rc.json" skipped)" = 0 ]
check "rules check: pack has rules" [ "$(json_get "$T/rc.json" loaded)" -ge 7 ]

# indicators: vigie's own YAML format and STIX 2.1, windows and margins
cat >"$T/ind.yml" <<'YML'
name: test set
id: test-set
level: high
indicators:
  - {type: ipv4, value: 203.0.113.9, first_seen: 2023-06-10, last_seen: 2023-06-12, role: test}
  - {type: ipv6, value: "2001:db8::7", first_seen: 2023-06-01}
YML
cat >"$T/ind.stix.json" <<'JSN'
{"type":"bundle","id":"bundle--0b3e1c55-7c2f-4b7e-9a0e-2b0a8f6a1c11","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  "created":"2023-07-14T00:00:00Z","modified":"2023-07-14T00:00:00Z","name":"proxy",
  "pattern":"[ipv4-addr:value = '198.51.100.77'] OR [ipv4-addr:value = '198.51.100.78/32']",
  "pattern_type":"stix","valid_from":"2023-06-01T00:00:00Z","valid_until":"2023-06-30T00:00:00Z"}]}
JSN
printf '%s\n' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-19T10:00:00Z","sourceIPAddress":"203.0.113.9"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-20T10:00:00Z","sourceIPAddress":"203.0.113.9"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-11T10:00:00Z","sourceIPAddress":"203.0.113.9:443"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-11T10:00:00Z","sourceIPAddress":"[2001:db8:0::7]:443"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-15T10:00:00Z","sourceIPAddress":"198.51.100.78"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-08-15T10:00:00Z","sourceIPAddress":"198.51.100.77"}' \
 >"$T/ind.ndjson"
"$VIGIE" scan -q -r "$ROOT/rules/aws" --indicators "$T/ind.yml" --indicators "$T/ind.stix.json" \
  --summary-json "$T/ind.sum" "$T/ind.ndjson" >"$T/ind.out"
check "indicators: exit 0" [ $? = 0 ]
# 19 Jun: inside 12 Jun + 7 days margin; 20 Jun: outside; port and IPv6 forms normalized;
# STIX /32 inside its validity; 15 Aug outside it
check "indicators: 4 hits (got $(json_get "$T/ind.sum" indicator_hits))" [ "$(json_get "$T/ind.sum" indicator_hits)" = 4 ]
check "indicators: set level used" grep -q '"level":"high"' "$T/ind.out"
"$VIGIE" scan -q -r "$ROOT/rules/aws" --indicators "$T/ind.yml" --indicator-margin 0 \
  --summary-json "$T/ind0.sum" "$T/ind.ndjson" >/dev/null
check "indicators: no margin, 2 hits" [ "$(json_get "$T/ind0.sum" indicator_hits)" = 2 ]

# user agents and network-traffic patterns: YAML user_agent, STIX http-request-ext header and
# network-traffic:src_ref.value; inside windows only; a long string also inside a longer field
cat >"$T/ua.yml" <<'YML'
name: ua set
id: ua-set
indicators:
  - {type: user_agent, value: "Mozilla/5.0 (X11; Linux x86_64) TestActor/1.0", first_seen: 2023-06-10, last_seen: 2023-06-12}
YML
cat >"$T/ua.stix.json" <<'JSN'
{"type":"bundle","id":"bundle--1b3e1c55-7c2f-4b7e-9a0e-2b0a8f6a1c11","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--5f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  "created":"2023-07-14T00:00:00Z","modified":"2023-07-14T00:00:00Z","name":"scripted client",
  "pattern":"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'python-requests/2.31.0 \\'x\\''] OR [network-traffic:src_ref.value = '192.0.2.44']",
  "pattern_type":"stix","valid_from":"2023-06-01T00:00:00Z","valid_until":"2023-06-30T00:00:00Z"}]}
JSN
printf '%s\n' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-11T10:00:00Z","userAgent":"Mozilla/5.0 (X11; Linux x86_64) TestActor/1.0"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-08-11T10:00:00Z","userAgent":"Mozilla/5.0 (X11; Linux x86_64) TestActor/1.0"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-11T10:00:00Z","userAgent":"[aws-cli] Mozilla/5.0 (X11; Linux x86_64) TestActor/1.0 extra"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-11T10:00:00Z","userAgent":"python-requests/2.31.0 '"'"'x'"'"'"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-11T10:00:00Z","userAgent":"python-requests/2.31.0"}' \
 '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2023-06-11T10:00:00Z","sourceIPAddress":"192.0.2.44"}' \
 >"$T/ua.ndjson"
"$VIGIE" scan -q -r "$ROOT/rules/aws" --indicators "$T/ua.yml" --indicators "$T/ua.stix.json" \
  --summary-json "$T/ua.sum" "$T/ua.ndjson" >"$T/ua.out"
check "user agents: exit 0" [ $? = 0 ]
check "user agents: 4 hits (got $(json_get "$T/ua.sum" indicator_hits))" [ "$(json_get "$T/ua.sum" indicator_hits)" = 4 ]
check "user agents: typed user_agent" grep -q '"type":"user_agent"' "$T/ua.out"
finish
