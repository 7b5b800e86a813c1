#!/usr/bin/env bash
# End to end: on simulated scenarios of 25 organizations, vigie's pack flags every victim
# organization high and no clean one (vigie evaluate exits 0 only then), for several seeds.
source "$(dirname "$0")/lib.sh"
for seed in 1 2023 77; do
  "$VIGIE" simulate --orgs 25 --days 14 --victims 5 --seed "$seed" -o "$T/s$seed" 2>/dev/null
  "$VIGIE" scan -q --no-progress -o "$T/a$seed.jsonl" "$T/s$seed"
  "$VIGIE" evaluate "$T/s$seed/truth.json" "$T/a$seed.jsonl" >"$T/e$seed.txt"
  check "seed $seed: every victim flagged high, no clean organization ($(tail -1 "$T/e$seed.txt"))" [ $? = 0 ]
  check "seed $seed: precision and recall 1.00" grep -q "precision 1.00, recall 1.00" "$T/e$seed.txt"
done
# evaluate itself fails when an organization is missed: drop one victim's alerts
victim=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["victims"][0])' "$T/s1/truth.json")
grep -v "\"tenant\":\"$victim\"" "$T/a1.jsonl" >"$T/missing.jsonl"
"$VIGIE" evaluate "$T/s1/truth.json" "$T/missing.jsonl" >"$T/emiss.txt"
check "evaluate reports a missed victim (exit 1)" [ $? = 1 ]
check "and says so" grep -q "FALSE NEGATIVE" "$T/emiss.txt"
finish
