#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Save and resume (vigie scan --state FILE, --finish; issue 9 section 4; docs/STATE.md). The demo
# scenario and a shared dataset are merged into one time-ordered stream and split into two
# inputs (tests/tools/merge_by_time.py); `scan --state S first` then `scan --state S --finish
# second` gives the same alerts (ids and whole lines), the same combined alerts and the same
# campaigns as one pass over both. Split at the midpoint and at 3/4 (where campaigns begin in
# the first run); the same through `vigie state finish`; a Sigma correlation whose window
# spans the two runs keeps its contributing events; a state file that is cut or altered is
# refused before anything is read and is left as it was; --finish needs --state; --state and
# --baseline are not given together. ../shared missing fails.
source "$(dirname "$0")/lib.sh"
need_shared datasets/azure-sentinel-training-lab/office_activity.csv
LAB="$SHARED/datasets/azure-sentinel-training-lab"
cd "$T" || exit 1
"$VIGIE_SIM" simulate --orgs 25 --days 14 --victims 5 --seed 2023 -o sc >/dev/null 2>&1
rc=$?
check "the demo scenario is generated" [ $rc = 0 ]
J=(--jwks "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0=sc/keys/consumer-jwks.json"
  --jwks "https://login.microsoftonline.com/*/v2.0=sc/keys/enterprise-jwks.json")
S=(scan -q --no-progress -j 2 "${J[@]}")

# every alert, whole, keyed by id (a missing, extra or changed alert shows as a diff line)
lines() { python3 -c '
import json, sys
out = []
for f in sys.argv[1:]:
    for l in open(f):
        a = json.loads(l)
        out.append(a["id"] + " " + json.dumps(a, sort_keys=True))
print("\n".join(sorted(out)))' "$@"; }

for at in 0.5 0.75; do
  python3 "$ROOT/tests/tools/merge_by_time.py" --at $at first.ndjson second.ndjson sc \
    "$LAB/office_activity.csv" "$LAB/sign-in_adelete.csv" >/dev/null
  rc=$?
  check "split at $at: the stream is merged and split" [ $rc = 0 ]
  rm -f S S2
  "$VIGIE" "${S[@]}" -o one.jsonl --campaigns one.camp first.ndjson second.ndjson
  rc=$?
  check "split at $at: one pass exits 0" [ $rc = 0 ]
  "$VIGIE" "${S[@]}" --state S -o a.jsonl --campaigns a.camp first.ndjson
  rc=$?
  check "split at $at: the first run exits 0 and saves its state" [ $rc = 0 ] && [ -s S ]
  "$VIGIE" "${S[@]}" --state S --finish -o b.jsonl --campaigns b.camp second.ndjson
  rc=$?
  check "split at $at: the resumed run exits 0" [ $rc = 0 ]
  lines one.jsonl >one.l
  lines a.jsonl b.jsonl >ab.l
  check "split at $at: alerts were found, combined ones among them" grep -q '"kind": "combined"' one.l
  check "split at $at: the first run already closed some sessions" grep -q '"kind":"combined"' a.jsonl
  check "split at $at: the same alerts, line for line, as one pass" diff one.l ab.l
  check "split at $at: a campaign was found" [ -s one.camp ]
  check "split at $at: the same campaigns as one pass" cmp one.camp b.camp
  if [ $at = 0.75 ]; then
    check "split at 3/4: the first run's --campaigns holds the campaign begun in it" [ -s a.camp ]
  fi
  # the same, the state closed by `vigie state finish` after a run without --finish
  "$VIGIE" "${S[@]}" --state S2 -o a2.jsonl first.ndjson &&
    "$VIGIE" "${S[@]}" --state S2 -o b2.jsonl second.ndjson &&
    "$VIGIE" state finish --state S2 -q --no-progress "${J[@]}" -o c2.jsonl --campaigns c2.camp
  rc=$?
  check "split at $at: vigie state finish exits 0" [ $rc = 0 ]
  lines a2.jsonl b2.jsonl c2.jsonl >abc.l
  check "split at $at: run, run, state finish = one pass" diff one.l abc.l
  check "split at $at: state finish writes every campaign" cmp one.camp c2.camp
done

# a Sigma correlation whose window spans the two runs: the same alert, events and all
D="$ROOT/tests/data/correlation"
head -3 "$D/logins.ndjson" >l1.ndjson
tail -n +4 "$D/logins.ndjson" >l2.ndjson
C=(scan -q --no-progress --logsource=all -r "$D/logins.yml" --time-field ts)
"$VIGIE" "${C[@]}" -o c1.jsonl l1.ndjson l2.ndjson
"$VIGIE" "${C[@]}" --state CS -o ca.jsonl l1.ndjson &&
  "$VIGIE" "${C[@]}" --state CS --finish -o cb.jsonl l2.ndjson
rc=$?
check "correlation split: both runs exit 0" [ $rc = 0 ]
check "correlation split: one correlation alert" [ "$(grep -c '"kind":"correlation"' c1.jsonl)" = 1 ]
lines c1.jsonl >c1.l
lines ca.jsonl cb.jsonl >cab.l
check "correlation split: the same alert, with the first run's events" diff c1.l cab.l

# a state file that is cut or altered is refused, nothing is read, the file stays
cp S good
head -c 1000 good >S
cp S cut
"$VIGIE" "${S[@]}" --state S -o x.jsonl second.ndjson 2>err
rc=$?
check "a cut state: exit 4" [ $rc = 4 ]
check "a cut state: the message says why" grep -q "state file refused: .*checksum" err
check "a cut state: nothing was scanned" [ ! -s x.jsonl ]
check "a cut state: the file is left as it was" cmp S cut
cp good S
printf 'X' | dd of=S bs=1 seek=5000 conv=notrunc 2>/dev/null
"$VIGIE" "${S[@]}" --state S -o x.jsonl second.ndjson 2>err
rc=$?
check "an altered state: exit 4" [ $rc = 4 ]
"$VIGIE" "${S[@]}" --finish -o x.jsonl second.ndjson 2>err
rc=$?
check "--finish without --state: usage error" [ $rc = 2 ]
"$VIGIE" "${S[@]}" --state S --baseline B -o x.jsonl second.ndjson 2>err
rc=$?
check "--state with --baseline: usage error" [ $rc = 2 ]
finish
