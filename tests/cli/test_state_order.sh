#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# File mode holds the state's watermark to the end of input (docs/DETECTIONS.md, "Event time"):
# the simulator writes, per organization, an audit file and a sign-in file that each span every
# day, so an event-time watermark would pass weeks of mail access before its sign-ins are read.
# The order of the input files must therefore not change the result: the same scenario's files
# in their sorted order and in the reverse order (every sign-in file before its audit file) give
# the same alert ids, the same combined alerts and the same campaigns, with -j 1 and -j 2.
source "$(dirname "$0")/lib.sh"
"$VIGIE_SIM" simulate --orgs 6 --days 21 --victims 2 --seed 7 -o "$T/sim" 2>/dev/null
rc=$?
check "simulate exits 0" [ $rc = 0 ]
find "$T/sim" -name '*.ndjson' -o -name '*.json' -o -name '*.csv' -o -name '*.jsonl' |
  grep -v '/keys/\|truth.json' | LC_ALL=C sort >"$T/fwd"
tac "$T/fwd" >"$T/rev"
check "the scenario has several files" [ "$(wc -l <"$T/fwd")" -ge 6 ]
mapfile -t fwd <"$T/fwd"
mapfile -t rev <"$T/rev"
"$VIGIE" scan -q --no-progress -j 2 --campaigns "$T/c1.jsonl" -o "$T/a1.jsonl" "${fwd[@]}"
rc=$?
check "scan in sorted order exits 0" [ $rc = 0 ]
"$VIGIE" scan -q --no-progress -j 1 --campaigns "$T/c2.jsonl" -o "$T/a2.jsonl" "${rev[@]}"
rc=$?
check "scan in reverse order exits 0" [ $rc = 0 ]
ids() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    k = a.get("kind", "")
    print(a.get("id", ""), k, a.get("level", ""), a.get("score", ""))' "$1" | LC_ALL=C sort; }
ids "$T/a1.jsonl" >"$T/i1"
ids "$T/a2.jsonl" >"$T/i2"
check "alerts were written" [ -s "$T/i1" ]
check "combined alerts among them" grep -q combined "$T/i1"
check "the same alert ids, kinds, levels and scores in either file order" diff "$T/i1" "$T/i2"
camp() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    c = json.loads(l)
    print(json.dumps(sorted(c.get("alerts", [])), sort_keys=True), sorted(c.get("organizations", [])))' "$1" | LC_ALL=C sort; }
camp "$T/c1.jsonl" >"$T/k1"
camp "$T/c2.jsonl" >"$T/k2"
check "the same campaigns (their alerts and organizations) in either file order" diff "$T/k1" "$T/k2"
finish
