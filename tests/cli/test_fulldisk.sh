#!/usr/bin/env bash
# A full disk never leaves half an alert (issue 8, point 3). A scenario of ~8,800 alerts (a
# noisy rule: every mailbox read) is scanned with --db, then --ledger, on a small tmpfs that
# fills mid-run; -o is on the normal disk. Expected: exit 4, one error line, -o complete
# (equal to a run without the store or ledger), the store holds only whole alerts (every
# alert with all the evidence its line names, integrity_check ok), a subset of -o's.
# Needs root to mount a tmpfs: exits 77 (ctest shows it as skipped) when it cannot.
source "$(dirname "$0")/lib.sh"
MNT="$T/mnt"
mkdir -p "$MNT"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=10m tmpfs "$MNT" 2>/dev/null; then
  echo "SKIP: test_fulldisk needs root to mount a 10 MiB tmpfs (mount -t tmpfs)" >&2
  exit 77
fi
trap 'umount "$MNT" 2>/dev/null; rm -rf "$T"' EXIT
"$VIGIE_SIM" simulate --orgs 25 --days 14 --victims 5 --seed 1 -o "$T/s" 2>/dev/null
"$VIGIE" scan -q --no-progress -r "$ROOT/tests/data/rules/noisy_mail_reads.yml" -o "$T/ref.jsonl" "$T/s"
check "reference run exits 0" [ $? = 0 ]
n_ref=$(wc -l <"$T/ref.jsonl")
check "a scenario of thousands of alerts ($n_ref)" [ "$n_ref" -gt 5000 ]

# the store on the full disk
"$VIGIE" scan -q --no-progress -r "$ROOT/tests/data/rules/noisy_mail_reads.yml" -o "$T/a.jsonl" --db "$MNT/v.db" "$T/s" 2>"$T/err"
check "a full store disk exits 4" [ $? = 4 ]
check "one error line" [ "$(wc -l <"$T/err")" = 1 ]
check "saying the disk is full after N stored" grep -Eq "^vigie: error: --db $MNT/v.db: disk full after [0-9]+ alerts stored; the run goes on without the store$" "$T/err"
check "-o complete" cmp -s "$T/ref.jsonl" "$T/a.jsonl"
said=$(sed -E 's/.*after ([0-9]+) alerts.*/\1/' "$T/err")
stored=$(sqlite3 "$MNT/v.db" "select count(*) from alerts")
check "N counts the alerts in the store ($said = $stored)" [ "$said" = "$stored" ]
check "the store filled mid-run (0 < $stored < $n_ref)" [ "$stored" -gt 0 ] && [ "$stored" -lt "$n_ref" ]
check "integrity_check ok" [ "$(sqlite3 "$MNT/v.db" "pragma integrity_check")" = ok ]
q="select count(*) from alerts a where (select count(*) from evidence e where e.alert_id = a.id)
   != case when json_type(a.json, '\$.evidence') = 'array' then json_array_length(a.json, '\$.evidence')
           when json_type(a.json, '\$.source') = 'object' then 1 else 0 end"
check "every stored alert has all its evidence" [ "$(sqlite3 "$MNT/v.db" "$q")" = 0 ]
check "no evidence without its alert" [ "$(sqlite3 "$MNT/v.db" "select count(*) from evidence where alert_id not in (select id from alerts)")" = 0 ]
check "the run is not 'finished'" [ "$(sqlite3 "$MNT/v.db" "select count(*) from runs where state = 'finished'")" = 0 ]
sqlite3 "$MNT/v.db" "select id from alerts" | sort >"$T/store.ids"
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["id"])' "$T/a.jsonl" | sort -u >"$T/out.ids"
check "the store's alerts are a subset of -o's" [ -z "$(comm -23 "$T/store.ids" "$T/out.ids")" ]
# the same query holds on a store that did not fill (the check itself is sound)
"$VIGIE" scan -q --no-progress -r "$ROOT/tests/data/rules/noisy_mail_reads.yml" -o /dev/null --db "$T/full.db" "$T/s"
check "the evidence query is 0 on a complete store" [ "$(sqlite3 "$T/full.db" "$q")" = 0 ]
rm -f "$MNT"/v.db*
# leave about 1 MiB: the ledger of this scenario takes about 4
dd if=/dev/zero of="$MNT/filler" bs=1M count=9 2>/dev/null

# the ledger on the full disk
"$VIGIE" scan -q --no-progress -r "$ROOT/tests/data/rules/noisy_mail_reads.yml" -o "$T/b.jsonl" --ledger "$MNT/L" "$T/s" 2>"$T/err"
check "a full ledger disk exits 4" [ $? = 4 ]
check "one error line" [ "$(wc -l <"$T/err")" = 1 ]
check "saying what failed, once" grep -Eq "^vigie: error: --ledger $MNT/L: .*No space left on device after [0-9]+ alerts appended; the run goes on without the ledger$" "$T/err"
check "-o complete with a full ledger" cmp -s "$T/ref.jsonl" "$T/b.jsonl"
finish
