#!/usr/bin/env bash
# What an interrupted scan keeps (issue 8, point 2). A scan with --db, --ledger and a key is
# killed with SIGKILL at three moments (first alerts out, about half, most of them), then:
# the store holds alerts, each with all its evidence, and the crashed run says
# "interrupted"; `vigie ledger recover` keeps the intact entries and the ledger verifies;
# every alert whose line is complete in -o and whose ledger entry is complete is provable;
# re-running the same scan exits 0 and leaves exactly the alerts of an uninterrupted run.
# SIGTERM and SIGINT stop reading, write and commit what was found and exit 143 / 130.
source "$(dirname "$0")/lib.sh"
VIGIE="$(cd "$(dirname "$VIGIE")" && pwd)/$(basename "$VIGIE")"
command -v sqlite3 >/dev/null || { bad "sqlite3 not found: run scripts/setup.sh check"; finish; exit; }
cd "$T"
python3 "$ROOT/tests/tools/gen_alert_stream.py" 60000 4 in.ndjson
"$VIGIE" keygen -o key >/dev/null 2>&1
SCAN=(scan -j 2 --key key in.ndjson)
q() { sqlite3 "$1" "$2" 2>/dev/null; }

# the reference: an uninterrupted run
"$VIGIE" "${SCAN[@]}" --db ref.db --ledger refl -o ref.jsonl 2>ref.err
rc=$?
check "reference run exits 0 ($(tail -1 ref.err))" [ $rc = 0 ]
q ref.db "select id from alerts order by id" >ref.ids
nref=$(wc -l <ref.ids)
check "reference run stores thousands of alerts ($nref)" [ "$nref" -gt 20000 ]

lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# complete lines of a file cut anywhere: the last line counts only if it ends in a newline
complete_ids() { python3 - "$1" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
for line in data.split(b"\n")[:-1]:
    try:
        print(json.loads(line)["id"])
    except Exception:
        pass
PY
}

for moment in 1 15000 32000; do
  d=kill$moment; mkdir $d
  "$VIGIE" "${SCAN[@]}" --db $d/db --ledger $d/l -o $d/out.jsonl 2>$d/err &
  pid=$!
  for _ in $(seq 1 3000); do
    [ "$(lines $d/out.jsonl)" -ge "$moment" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  if ! kill -9 $pid 2>/dev/null; then bad "kill at $moment: the scan ended first (make the input larger)"; continue; fi
  wait $pid 2>/dev/null
  nout=$(lines $d/out.jsonl)
  nst=$(q $d/db "select count(*) from alerts")
  check "kill at $moment: -o has $nout lines" [ "$nout" -ge "$moment" ]
  if [ "$moment" -gt 5000 ]; then
    check "kill at $moment: the store kept alerts ($nst of $nout)" [ "${nst:-0}" -gt 0 ]
    check "kill at $moment: at most ~1,000 alerts found not yet stored ($nst stored, $nout in -o)" \
      [ $((nout - ${nst:-0})) -le 3500 ]
  fi
  # every stored alert has all its evidence: the number of evidence rows equals its sources
  nbad=$(q $d/db "select count(*) from alerts a where kind in ('sigma','new_term','indicator','token') and (select count(*) from evidence e where e.alert_id = a.id) = 0")
  check "kill at $moment: no stored alert without its evidence ($nbad)" [ "${nbad:-1}" = 0 ]
  "$VIGIE" ledger recover --ledger $d/l --key key >$d/recover.out 2>$d/recover.err
  rc=$?
  check "kill at $moment: ledger recover exits 0 ($(cat $d/recover.err | tail -1))" [ $rc = 0 ]
  "$VIGIE" verify --ledger $d/l --key key.pub >$d/verify.out 2>$d/verify.err
  rc=$?
  check "kill at $moment: verify passes after recovery ($(tail -1 $d/verify.err))" [ $rc = 0 ]
  # provable: complete -o lines whose entry is in the ledger (a sample, the last ones included)
  complete_ids $d/out.jsonl >$d/out.ids
  python3 - $d/l/entries.jsonl >$d/ledger.ids <<'PY'
import json, sys
for line in open(sys.argv[1], "rb"):
    try:
        e = json.loads(line)
    except Exception:
        continue
    if e.get("alert_id"):
        print(e["alert_id"])
PY
  sort -u $d/ledger.ids >$d/ledger.sids
  sort -u $d/out.ids | comm -12 - $d/ledger.sids >$d/both.ids
  nboth=$(wc -l <$d/both.ids)
  check "kill at $moment: alerts both in -o and the ledger ($nboth)" [ "$nboth" -gt 0 ]
  unprov=0
  for id in $( (head -3 $d/both.ids; tail -3 $d/both.ids; shuf -n 4 --random-source=$d/both.ids $d/both.ids) | sort -u); do
    if ! "$VIGIE" prove --ledger $d/l "$id" -o $d/p.json 2>>$d/prove.err ||
       ! "$VIGIE" verify --proof $d/p.json --key key.pub >/dev/null 2>>$d/prove.err; then
      unprov=$((unprov + 1))
    fi
  done
  check "kill at $moment: every sampled alert is provable ($unprov not; $(tail -1 $d/prove.err 2>/dev/null))" [ $unprov = 0 ]
  # the same scan again: exit 0, exactly the reference alerts, a ledger that verifies
  "$VIGIE" "${SCAN[@]}" --db $d/db --ledger $d/l -o $d/out2.jsonl 2>$d/err2
  rc=$?
  check "kill at $moment: re-run exits 0 ($(grep error $d/err2 | head -1))" [ $rc = 0 ]
  q $d/db "select id from alerts order by id" >$d/ids
  check "kill at $moment: re-run leaves exactly the alerts of an uninterrupted run" cmp -s $d/ids ref.ids
  check "kill at $moment: no duplicate alert rows" [ "$(q $d/db 'select count(*) - count(distinct id) from alerts')" = 0 ]
  check "kill at $moment: the crashed run is marked interrupted" \
    [ "$(q $d/db "select count(*) from runs where state = 'interrupted' and finished is null")" = 1 ]
  "$VIGIE" verify --ledger $d/l --key key.pub >$d/verify2.out 2>$d/verify2.err
  rc=$?
  check "kill at $moment: ledger verifies after the re-run ($(tail -1 $d/verify2.err))" [ $rc = 0 ]
done

# SIGTERM and SIGINT: stop reading, write and commit what was found, exit 143 / 130
for sig in TERM INT; do
  d=sig$sig; mkdir $d
  "$VIGIE" "${SCAN[@]}" --db $d/db --ledger $d/l -o $d/out.jsonl 2>$d/err &
  pid=$!
  for _ in $(seq 1 3000); do
    [ "$(lines $d/out.jsonl)" -ge 5000 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  kill -$sig $pid 2>/dev/null || bad "SIG$sig: the scan ended first"
  wait $pid
  rc=$?
  want=$([ $sig = TERM ] && echo 143 || echo 130)
  check "SIG$sig: exit $want (got $rc)" [ $rc = $want ]
  check "SIG$sig: says it was interrupted" grep -q "interrupted" $d/err
  complete_ids $d/out.jsonl | sort -u >$d/out.ids
  q $d/db "select id from alerts" | sort -u >$d/db.ids
  check "SIG$sig: every alert written to -o is stored ($(wc -l <$d/out.ids) in -o, $(wc -l <$d/db.ids) stored)" \
    [ -z "$(comm -23 $d/out.ids $d/db.ids)" ]
  check "SIG$sig: fewer alerts than a full run (reading stopped)" [ "$(wc -l <$d/db.ids)" -lt "$nref" ]
  check "SIG$sig: the run is marked interrupted" \
    [ "$(q $d/db "select state from runs order by id desc limit 1")" = interrupted ]
  "$VIGIE" verify --ledger $d/l --key key.pub >$d/verify.out 2>$d/verify.err
  rc=$?
  check "SIG$sig: ledger verifies with no recovery ($(tail -1 $d/verify.err))" [ $rc = 0 ]
done
# a second signal exits at once: the reader is blocked on a FIFO that stays open, so the
# first signal can only set the flag; the second one ends the process (128 + its number)
mkfifo fifo
(exec 3>fifo; head -200 in.ndjson >&3; sleep 20) &
feeder=$!
"$VIGIE" scan -j 1 --db sig2.db -o sig2.jsonl fifo 2>sig2.err &
pid=$!
sleep 0.5
kill -TERM $pid
sleep 0.3
check "second signal: still running after the first (blocked on its input)" kill -0 $pid
kill -INT $pid
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
check "second signal: exits at once" bash -c "! kill -0 $pid 2>/dev/null"
wait $pid
rc=$?
check "second signal: exit 130 (got $rc)" [ $rc = 130 ]
kill $feeder 2>/dev/null
wait $feeder 2>/dev/null
# a ledger whose creation was cut by a crash (ledger.pub written, the ledger files absent or
# empty, no checkpoint yet) is created again by the next scan or by ledger recover; the same
# state with the checkpoint note present is a ledger cut back to nothing: refused
head -100 in.ndjson >small.ndjson
"$VIGIE" scan -q --ledger born --key key -o /dev/null small.ndjson
for st in pub-only pub-empty-cps; do
  rm -rf u-$st; cp -r born u-$st; rm -f u-$st/entries.jsonl u-$st/checkpoint
  if [ $st = pub-only ]; then rm -f u-$st/checkpoints.jsonl; else : >u-$st/checkpoints.jsonl; fi
done
"$VIGIE" scan -q --ledger u-pub-only --key key -o /dev/null small.ndjson 2>u1.err
rc=$?
check "creation cut (ledger.pub only): the next scan creates the ledger ($(head -1 u1.err))" [ $rc = 0 ]
"$VIGIE" verify --ledger u-pub-only --key key.pub >/dev/null 2>&1
rc=$?
check "creation cut (ledger.pub only): verifies after the scan" [ $rc = 0 ]
"$VIGIE" ledger recover --ledger u-pub-empty-cps --key key >/dev/null 2>u2.err
rc=$?
check "creation cut (empty checkpoints): ledger recover completes it ($(head -1 u2.err))" [ $rc = 0 ]
"$VIGIE" verify --ledger u-pub-empty-cps --key key.pub >/dev/null 2>&1
rc=$?
check "creation cut (empty checkpoints): verifies after recovery" [ $rc = 0 ]
"$VIGIE" keygen -o key2 >/dev/null 2>&1
rm -rf u-other; cp -r born u-other; rm -f u-other/entries.jsonl u-other/checkpoints.jsonl u-other/checkpoint
"$VIGIE" scan -q --ledger u-other --key key2 -o /dev/null small.ndjson 2>/dev/null
rc=$?
check "creation cut: another key is refused (exit 4, got $rc)" [ $rc = 4 ]
rm -rf zeroed; cp -r born zeroed; : >zeroed/entries.jsonl; : >zeroed/checkpoints.jsonl
"$VIGIE" verify --ledger zeroed --key key.pub >/dev/null 2>zeroed.err
rc=$?
check "ledger files emptied beside its note: verify fails" [ $rc != 0 ]
check "ledger files emptied beside its note: says rolled back" grep -q "rolled back or rewritten" zeroed.err
"$VIGIE" scan -q --ledger zeroed --key key -o /dev/null small.ndjson 2>/dev/null
rc=$?
check "ledger files emptied beside its note: a scan refuses to append (exit 4, got $rc)" [ $rc = 4 ]
finish
