#!/usr/bin/env bash
# The store under crashes and contention (issue 8, points 2, 3 and 7): kill -9 mid-scan keeps
# the alerts committed so far (a commit every 1,000 alerts or 2 s), each with its evidence;
# the next run marks the crashed run 'interrupted' and, over the same input, leaves exactly
# the alerts of an uninterrupted run; a store locked by another writer says "database is
# locked" after --db-timeout; -o failing leaves the run 'failed', not 'finished'; the same
# record in two files keeps both positions as evidence, once.
source "$(dirname "$0")/lib.sh"
"$VIGIE_SIM" simulate --orgs 25 --days 14 --victims 5 --seed 1 -o "$T/s" 2>/dev/null
# six copies of the scenario: a scan of several seconds (the same records in several files,
# so the same alerts, each with one evidence row per copy)
mkdir -p "$T/in"
for k in 1 2 3 4 5 6; do cp -r "$T/s" "$T/in/c$k"; done
scan() { "$VIGIE" scan -q --no-progress -j 2 -r "$ROOT/tests/data/rules/noisy_mail_reads.yml" "$@"; }
scan -o "$T/ref.jsonl" --db "$T/ref.db" "$T/in"
check "uninterrupted run exits 0" [ $? = 0 ]
n_ref=$(sqlite3 "$T/ref.db" "select count(*) from alerts")
check "uninterrupted run stores thousands of alerts ($n_ref)" [ "$n_ref" -gt 3000 ]

# kill -9 once the store shows 1,000 alerts to another reader: committed during the run
"$VIGIE" scan -q --no-progress -j 2 -r "$ROOT/tests/data/rules/noisy_mail_reads.yml" -o "$T/k.jsonl" --db "$T/k.db" "$T/in" &
pid=$!
seen=0
for _ in $(seq 600); do
  seen=$(sqlite3 "file:$T/k.db?mode=ro" "select count(*) from alerts" 2>/dev/null || echo 0)
  [ "${seen:-0}" -ge 1000 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "the store showed 1,000 alerts before the scan ended ($seen)" [ "${seen:-0}" -ge 1000 ]
kept=$(sqlite3 "$T/k.db" "select count(*) from alerts")
check "kill -9: the store kept the committed alerts ($kept >= 1000)" [ "$kept" -ge 1000 ]
check "kill -9: fewer than an uninterrupted run ($kept < $n_ref)" [ "$kept" -lt "$n_ref" ]
q="select count(*) from alerts a where (select count(*) from evidence e where e.alert_id = a.id)
   < case when json_type(a.json, '\$.evidence') = 'array' then json_array_length(a.json, '\$.evidence')
          when json_type(a.json, '\$.source') = 'object' then 1 else 0 end"
check "kill -9: every kept alert has all its evidence" [ "$(sqlite3 "$T/k.db" "$q")" = 0 ]
check "kill -9: integrity_check ok" [ "$(sqlite3 "$T/k.db" "pragma integrity_check")" = ok ]
check "kill -9: the run is 'running', not finished" [ "$(sqlite3 "$T/k.db" "select state || ':' || (finished is null) from runs")" = running:1 ]
"$VIGIE" scan --no-progress -j 2 -r "$ROOT/tests/data/rules/noisy_mail_reads.yml" -o /dev/null --db "$T/k.db" "$T/in" 2>"$T/err"
check "the re-run after the crash exits 0" [ $? = 0 ]
check "and says it marked the crashed run" grep -q "1 earlier run(s) marked interrupted" "$T/err"
check "the crashed run is 'interrupted', finished NULL" [ "$(sqlite3 "$T/k.db" "select state || ':' || (finished is null) from runs where id = 1")" = interrupted:1 ]
check "the re-run is 'finished'" [ "$(sqlite3 "$T/k.db" "select state from runs where id = 2")" = finished ]
sqlite3 "$T/ref.db" "select id from alerts order by id" >"$T/ref.ids"
sqlite3 "$T/k.db" "select id from alerts order by id" >"$T/k.ids"
check "the store holds exactly the uninterrupted run's alerts" cmp -s "$T/ref.ids" "$T/k.ids"
ev="select alert_id, file, line, offset, sha256 from evidence order by 1, 2, 3, 4"
check "and exactly its evidence" [ "$(sqlite3 "$T/k.db" "$ev" | md5sum)" = "$(sqlite3 "$T/ref.db" "$ev" | md5sum)" ]

# a store locked by another writer
python3 - "$T/ref.db" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
c.execute("SELECT 1")
open(sys.argv[1] + ".held", "w").close()
time.sleep(20)
PY
holder=$!
for _ in $(seq 100); do [ -f "$T/ref.db.held" ] && break; sleep 0.1; done
t0=$(date +%s)
scan -o /dev/null --db "$T/ref.db" --db-timeout 1 "$T/s" 2>"$T/err"
rc=$?
t1=$(date +%s)
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
check "a locked store exits 4" [ "$rc" = 4 ]
check "saying the database is locked" grep -q "^vigie: error: --db $T/ref.db: .*database is locked" "$T/err"
check "not an input/output error" [ -z "$(grep -i "input/output" "$T/err")" ]
check "after --db-timeout 1, not the default 30 ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 10 ]
scan -o /dev/null --db "$T/ref.db" --db-timeout x "$T/s" 2>/dev/null
check "--db-timeout wants a number" [ $? = 2 ]

# -o failing: the run is 'failed', not 'finished'
if [ -w /dev/full ]; then
  scan -o /dev/full --db "$T/o.db" "$T/s" 2>"$T/err"
  check "-o failing exits 4" [ $? = 4 ]
  check "-o failing: the run is 'failed'" [ "$(sqlite3 "$T/o.db" "select state from runs")" = failed ]
  check "-o failing: says so" grep -q "writing alerts: No space left on device" "$T/err"
else
  bad "/dev/full is needed to make -o fail"
fi

# the same record in two files: one alert, both positions as evidence; again: no new row
mkdir -p "$T/two/x" "$T/two/y"
cat "$T"/s/*/audit-management-api.ndjson | grep -m1 MailItemsAccessed >"$T/two/x/a.json"
cp "$T/two/x/a.json" "$T/two/y/b.json"
for round in 1 2; do
  scan -o "$T/two.jsonl" --db "$T/two.db" "$T/two/x/a.json" "$T/two/y/b.json"
  check "two files, round $round, exits 0" [ $? = 0 ]
  id=$(python3 -c 'import json,sys
print(next(d["id"] for d in map(json.loads, open(sys.argv[1])) if d["kind"] == "sigma"))' "$T/two.jsonl")
  check "two files, round $round: one sigma alert" [ "$(sqlite3 "$T/two.db" "select count(*) from alerts where kind = 'sigma'")" = 1 ]
  check "two files, round $round: its evidence names both files" [ "$(sqlite3 "$T/two.db" "select group_concat(file, ' ') from (select file from evidence where alert_id = '$id' order by seq)")" = "$T/two/x/a.json $T/two/y/b.json" ]
  check "two files, round $round: evidence rows ($(sqlite3 "$T/two.db" "select count(*) from evidence")) one per position" [ "$(sqlite3 "$T/two.db" "select count(*) from evidence")" = "$(sqlite3 "$T/two.db" "select count(*) from (select distinct alert_id, file, line, offset from evidence)")" ]
done
check "the second run added no evidence" [ "$(sqlite3 "$T/two.db" "select count(*) from evidence where alert_id = '$id'")" = 2 ]
finish
