#!/usr/bin/env bash
# vigie-sim simulate: deterministic for a seed, every record readable in every export shape,
# truth.json consistent with the files (campaign records only in victim organizations).
# The generator and the scorer are test tooling (vigie-sim), not subcommands of vigie.
source "$(dirname "$0")/lib.sh"
for c in simulate evaluate; do
  "$VIGIE" $c --orgs 2 --days 2 --victims 1 -o "$T/old-$c" >"$T/old.out" 2>"$T/old.err"
  rc=$?
  check "vigie $c is a usage error (exit 2, got $rc)" [ $rc = 2 ]
  check "vigie $c names vigie-sim $c" grep -q "run \`vigie-sim $c\`" "$T/old.err"
  check "vigie $c writes nothing" bash -c "[ ! -e '$T/old-$c' ] && [ ! -s '$T/old.out' ]"
done
"$VIGIE" help >"$T/help.txt"
check "vigie help lists neither simulate nor evaluate" bash -c "! grep -qE 'simulate|evaluate' '$T/help.txt'"
"$VIGIE_SIM" help >"$T/simhelp.txt"
rc=$?
check "vigie-sim help exits 0" [ $rc = 0 ]
check "vigie-sim help lists simulate and evaluate" bash -c "grep -q '^  simulate ' '$T/simhelp.txt' && grep -q '^  evaluate ' '$T/simhelp.txt'"
"$VIGIE_SIM" frobnicate 2>/dev/null
rc=$?
check "vigie-sim: an unknown command exits 2" [ $rc = 2 ]
# installing the product installs vigie, not the test tooling
cmake --install "$(dirname "$VIGIE")" --prefix "$T/inst" >/dev/null 2>&1
rc=$?
check "cmake --install of the build tree works (exit $rc)" [ $rc = 0 ]
check "the install has bin/vigie" [ -x "$T/inst/bin/vigie" ]
check "the install has no vigie-sim" bash -c "[ -z \"\$(find '$T/inst' -name 'vigie-sim*')\" ]"
"$VIGIE_SIM" simulate --orgs 8 --days 14 --victims 3 --seed 42 -o "$T/a" 2>/dev/null
check "simulate exits 0" [ $? = 0 ]
"$VIGIE_SIM" simulate --orgs 8 --days 14 --victims 3 --seed 42 -o "$T/b" 2>/dev/null
check "same seed, same bytes" diff -r -q "$T/a" "$T/b"
"$VIGIE_SIM" simulate --orgs 8 --days 14 --victims 3 --seed 43 -o "$T/c" 2>/dev/null
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
# bearer tokens: enterprise ones verify with the enterprise key set; forged ones (victims
# only) carry an enterprise issuer but the consumer key's kid and verify with that key
import base64, hashlib
def b64d(x): return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
def jwks(name):
    k = json.load(open(os.path.join(root, t["jwks"][name])))["keys"][0]
    return k["kid"], int.from_bytes(b64d(k["n"]), "big")
def verifies(tok, n):
    h, p, sg = tok.split(".")
    em = pow(int.from_bytes(b64d(sg), "big"), 65537, n).to_bytes((n.bit_length() + 7) // 8, "big")
    return em.startswith(b"\x00\x01") and em.endswith(hashlib.sha256((h + "." + p).encode()).digest())
ent_kid, ent_n = jwks("enterprise")
con_kid, con_n = jwks("consumer")
forged = set(t["forged_token_request_ids"])
assert forged
victim_tenants = set(t["victims"])
for line in open(os.path.join(root, "app-gateway", "access.ndjson")):
    r = json.loads(line)
    tok = r["authorization"].split()[1]
    hdr = json.loads(b64d(tok.split(".")[0]))
    payload = json.loads(b64d(tok.split(".")[1]))
    assert payload["iss"].endswith(payload["tid"] + "/v2.0")
    if r["request_id"] in forged:
        assert r["tenant"] in victim_tenants
        assert hdr["kid"] == con_kid and verifies(tok, con_n) and not verifies(tok, ent_n)
    else:
        assert hdr["kid"] == ent_kid and verifies(tok, ent_n)
PY
# first-seen application on MailItemsAccessed (vigie's pack, new_terms): every victim tenant
# flags the actor's application; the only clean tenants that flag anything are those that
# adopted the decoy vendor application, and never at a level above medium
python3 - "$T/a" "$T/alerts.jsonl" <<'PY' || bad "first-seen detection against truth.json"
import json, os, sys
t = json.load(open(os.path.join(sys.argv[1], "truth.json")))
alerts = [json.loads(l) for l in open(sys.argv[2])]
first = {}
TENANT_RULE = "2d1f8b77-5c8e-4a7b-9f35-6b0c1e4a9d21"   # per tenant; the per-mailbox one is low
for a in alerts:
    if a.get("kind") == "new_term" and a["rule"]["id"] == TENANT_RULE:
        first.setdefault(a["tenant"], []).append(a)
    elif a.get("kind") == "new_term":
        assert a["rule"]["level"] == "low" and "|" in a["new_term"]["group"], a["new_term"]
for o in t["orgs"]:
    got = first.get(o["tenant"], [])
    terms = {a["new_term"]["term"] for a in got}
    if o["victim"]:
        assert any(t["actor_client_app_id"] in x for x in terms), (o["name"], terms)
    elif "new_vendor_mail_app" not in o["decoys"]:
        assert not got, (o["name"], terms)
    assert all(a["rule"]["level"] in ("low", "medium") for a in got)
PY
# visibility gaps are records of their own: throttled and unlinkable mail access only where
# the actor read in bulk with old-shape records (victims); the tenant whose only record of
# March is the indicator decoy has a hole in its mailbox audit coverage
python3 - "$T/a" "$T/alerts.jsonl" <<'PY' || bad "visibility gaps against truth.json"
import json, os, sys
t = json.load(open(os.path.join(sys.argv[1], "truth.json")))
gaps = [json.loads(l) for l in open(sys.argv[2]) if '"kind":"gap"' in l]
victims = set(t["victims"])
kinds = {g["gap"] for g in gaps}
assert {"throttled", "unlinkable", "no_mailbox_audit"} <= kinds, kinds
for g in gaps:
    if g["gap"] in ("throttled", "unlinkable"):
        assert g["tenant"] in victims, g
old_ip = {o["tenant"] for o in t["orgs"] if "indicator_ip_before_window" in o["decoys"]}
holes = {g["tenant"] for g in gaps if g["gap"] == "no_mailbox_audit"}
assert old_ip <= holes, (old_ip, holes)
PY
check "summary counts gaps" [ "$(json_get "$T/s.json" gaps)" -ge 3 ]

# a saved baseline is used by the next run: nothing is new any more
"$VIGIE" scan -q --no-progress --baseline "$T/base.jsonl" -o /dev/null "$T/a"
check "baseline saved" test -s "$T/base.jsonl"
"$VIGIE" scan -q --no-progress --baseline "$T/base.jsonl" --summary-json "$T/s2.json" -o /dev/null "$T/a"
check "with the saved baseline, no first-seen alert" [ "$(json_get "$T/s2.json" new_terms_first_seen)" = 0 ]
check "without it, first-seen alerts" [ "$(json_get "$T/s.json" new_terms_first_seen)" -ge 3 ]
# bearer tokens checked against each issuer's key set: exactly the forged requests, and
# the tokens themselves never in the output
"$VIGIE" scan -q --no-progress \
  --jwks "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0=$T/a/keys/consumer-jwks.json" \
  --jwks "https://login.microsoftonline.com/*/v2.0=$T/a/keys/enterprise-jwks.json" \
  --summary-json "$T/tok.json" -o "$T/tok.jsonl" "$T/a/app-gateway"
check "token scan exits 0" [ $? = 0 ]
python3 - "$T/a/truth.json" "$T/tok.jsonl" <<'PY' || bad "token findings = forged requests"
import json, sys
forged = set(json.load(open(sys.argv[1]))["forged_token_request_ids"])
alerts = [json.loads(l) for l in open(sys.argv[2])]
got = {a["event"]["request_id"] for a in alerts if a["kind"] == "token"}
assert got == forged, (len(got), len(forged))
for a in alerts:
    if a["kind"] != "token":
        continue
    assert a["token"]["verdict"] == "key_other_issuer" and a["rule"]["level"] == "critical"
    # the gateway log names no tenant: the alert takes the one the forged token claims
    assert a["tenant"] in json.load(open(sys.argv[1]))["victims"], a["tenant"]
    assert a["event"]["authorization"].startswith("<redacted sha256:")
PY
check "no token text in the output" bash -c "! grep -q 'eyJ' '$T/tok.jsonl'"
"$VIGIE_SIM" simulate --orgs 0 -o "$T/x" 2>/dev/null; check "bad arguments exit 2" [ $? = 2 ]
finish
