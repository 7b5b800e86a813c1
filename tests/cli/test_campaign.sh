#!/usr/bin/env bash
# End to end: on simulated scenarios of 25 organizations, vigie's pack flags every victim
# organization high and no clean one (vigie-sim evaluate exits 0 only then), for several seeds.
source "$(dirname "$0")/lib.sh"
for seed in 1 2023 77; do
  "$VIGIE_SIM" simulate --orgs 25 --days 14 --victims 5 --seed "$seed" -o "$T/s$seed" 2>/dev/null
  "$VIGIE" scan -q --no-progress --campaigns "$T/c$seed.jsonl" -o "$T/a$seed.jsonl" "$T/s$seed"
  "$VIGIE_SIM" evaluate "$T/s$seed/truth.json" "$T/a$seed.jsonl" >"$T/e$seed.txt"
  rc=$?
  check "seed $seed: every victim flagged high, no clean organization ($(tail -1 "$T/e$seed.txt"))" [ $rc = 0 ]
  check "seed $seed: precision and recall 1.00" grep -q "precision 1.00, recall 1.00" "$T/e$seed.txt"
  # one campaign holds every victim organization and no clean one
  python3 - "$T/s$seed/truth.json" "$T/c$seed.jsonl" <<'PY' || bad "seed $seed: one campaign = the victims"
import json, sys
truth = json.load(open(sys.argv[1]))
camps = [json.loads(l) for l in open(sys.argv[2])]
victims = set(truth["victims"])
big = max(camps, key=lambda c: len(c["organizations"]))
assert set(big["organizations"]) == victims, (sorted(big["organizations"]), sorted(victims))
for c in camps:
    assert set(c["organizations"]) <= victims, c["organizations"]
    for k in ("id", "organizations", "users", "first_seen", "last_seen", "indicators", "signals",
              "techniques", "messages_read", "alerts"):
        assert k in c, k
assert big["messages_read"]["internet_message_ids"] > 0 and "T1114.002" in big["techniques"]
assert any(i["links"] for i in big["indicators"])
assert big["first_seen"] <= big["last_seen"]
PY
done
# with an ASN database (GeoLite2-ASN format, written by tests/tools/make_asn_mmdb.py) the
# campaign also names the actor's autonomous systems
python3 "$ROOT/tests/tools/make_asn_mmdb.py" "$T/asn.mmdb" 45.153.160.0/22=64511:ActorHost \
  195.26.87.0/24=64512:Panel 185.0.0.0/8=64513:Proxies
"$VIGIE" scan -q --campaigns "$T/ca.jsonl" --asn-db "$T/asn.mmdb" -o /dev/null "$T/s1"
check "--asn-db: scan exits 0" [ $? = 0 ]
check "--asn-db: the campaign lists an autonomous system" grep -q '"type":"asn","value":"AS645' "$T/ca.jsonl"
"$VIGIE" scan -q --campaigns "$T/x.jsonl" --asn-db "$T/missing.mmdb" "$T/s1" >/dev/null 2>"$T/asn.err"
check "a missing --asn-db is an input error (exit 4)" [ $? = 4 ]
check "and says which file" grep -q "missing.mmdb" "$T/asn.err"
# evaluate itself fails when an organization is missed: drop one victim's alerts
victim=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["victims"][0])' "$T/s1/truth.json")
grep -v "\"tenant\":\"$victim\"" "$T/a1.jsonl" >"$T/missing.jsonl"
"$VIGIE_SIM" evaluate "$T/s1/truth.json" "$T/missing.jsonl" >"$T/emiss.txt"
check "evaluate reports a missed victim (exit 1)" [ $? = 1 ]
check "and says so" grep -q "FALSE NEGATIVE" "$T/emiss.txt"
finish
