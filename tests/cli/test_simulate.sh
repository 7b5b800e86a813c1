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
"$VIGIE" simulate --orgs 0 -o "$T/x" 2>/dev/null; check "bad arguments exit 2" [ $? = 2 ]
finish
