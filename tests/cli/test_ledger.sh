#!/usr/bin/env bash
# The evidence ledger from the command line: keygen, verify (ledger, raw records), prove and
# a third party's verify --proof. One flipped byte at many positions of every ledger file and
# of the inputs must make `vigie verify` exit 1 with a message; the pristine copy exits 0.
# The ledger is made by the unit test's helper (build/test_store_ledger --make DIR KEY
# INPUT...: one alert per record, a run manifest per run, reopened half way), so that every
# byte of the inputs is evidence. Also: verify needs a key to trust (--key, or
# --trust-ledger-key, or --unsigned for an unsigned ledger), stripped signatures fail, a
# checkpoint kept elsewhere shows a rollback, and `vigie ledger recover`.
source "$(dirname "$0")/lib.sh"
VIGIE="$(cd "$(dirname "$VIGIE")" && pwd)/$(basename "$VIGIE")" # absolute: the test works in $T
HELPER="$(dirname "$VIGIE")/test_store_ledger"
if [ ! -x "$HELPER" ]; then bad "helper $HELPER not built"; finish; exit; fi
cd "$T"

# keys
"$VIGIE" keygen -o k >keygen.out 2>keygen.err
check "keygen: exit 0" [ $? = 0 ]
check "keygen: private key mode 0600" [ "$(stat -c %a k)" = 600 ]
check "keygen: public key written" grep -q "BEGIN PUBLIC KEY" k.pub
check "keygen: prints the key id" grep -Eq "key id: +[0-9a-f]{64}" keygen.out
"$VIGIE" keygen -o k >/dev/null 2>keygen2.err
check "keygen: never overwrites (exit 2)" [ $? = 2 ]
check "keygen: says so" grep -q "never overwritten" keygen2.err
"$VIGIE" keygen -o other >/dev/null 2>&1
"$VIGIE" keygen >/dev/null 2>&1
check "keygen without -o: usage (exit 2)" [ $? = 2 ]

# inputs: every record is behind an alert, so every byte of them is evidence
mkdir in
for i in $(seq 1 8); do printf '{"Operation":"MailItemsAccessed","n":%d,"UserId":"u%d@x.test"}\n' "$i" "$i"; done >in/a.ndjson
for i in $(seq 1 6); do printf '{"eventName":"GetObject","n":%d}\n' "$i"; done >in/b.ndjson
"$HELPER" --make L k in/a.ndjson in/b.ndjson
check "ledger made" [ $? = 0 ]

run_verify() { # run_verify NAME ARGS... ; leaves NAME.rc NAME.out NAME.err
  local name=$1; shift
  "$VIGIE" verify "$@" >"$name.out" 2>"$name.err"
  echo $? >"$name.rc"
}
run_verify ok --ledger L --key k.pub --inputs in/a.ndjson in/b.ndjson
check "pristine ledger and inputs: exit 0 ($(cat ok.err))" [ "$(cat ok.rc)" = 0 ]
check "pristine: 16 entries (14 alerts, 2 run manifests)" grep -q "OK: 16 entries" ok.out
check "pristine: both input files as in the manifests" grep -q "2 files as in the run manifests" ok.out
check "pristine: every record re-read" grep -Eq "([0-9]+) of \1 raw records re-read and unaltered" ok.out
keyid=$(sed -n 's/^key id: *//p' keygen.out)
run_verify nokey --ledger L
check "no --key: exit 1" [ "$(cat nokey.rc)" = 1 ]
check "no --key: says which key it would have trusted" grep -q "trust the ledger's own L/ledger.pub (key id $keyid)" nokey.err
run_verify ok2 --ledger L --trust-ledger-key
check "pristine, --trust-ledger-key: exit 0" [ "$(cat ok2.rc)" = 0 ]
check "pristine, --trust-ledger-key: warns the key is not pinned" grep -q "own ledger.pub (key id $keyid)" ok2.err
run_verify both --ledger L --key k.pub --trust-ledger-key
check "--key with --trust-ledger-key: usage (exit 2)" [ "$(cat both.rc)" = 2 ]
run_verify wrongkey --ledger L --key other.pub
check "another key: exit 1" [ "$(cat wrongkey.rc)" = 1 ]
check "another key: message" grep -q "key ids differ" wrongkey.err
run_verify nodir --ledger nowhere
check "not a ledger: exit 2" [ "$(cat nodir.rc)" = 2 ]
run_verify usage --ledger
check "usage error: exit 2" [ "$(cat usage.rc)" = 2 ]

# one altered field: the message names the file, the line and the entry
cp -a L L1
sed -i '3s/"alert_id":"alert-2"/"alert_id":"alert-9"/' L1/entries.jsonl
run_verify field --ledger L1 --key k.pub
check "altered alert id: exit 1" [ "$(cat field.rc)" = 1 ]
check "altered alert id: file:line: entry" grep -q "^vigie: error: L1/entries.jsonl:3: entry 2 (alert alert-9): leaf hash does not match" field.err
# a removed input file, a changed record
mv in/b.ndjson in/b.away
run_verify missing --ledger L --key k.pub --inputs in/a.ndjson
check "missing input: exit 1" [ "$(cat missing.rc)" = 1 ]
check "missing input: names the entry and position" grep -Eq "in/b.ndjson:1: missing file: record 0 behind ledger entry [0-9]+ \(alert alert-[0-9]+\)" missing.err
mv in/b.away in/b.ndjson

# flips: every position of small files, many positions of the others; each must fail
python3 - "$VIGIE" "$T" <<'PY' >flips.out 2>&1
import os, shutil, subprocess, sys
vigie, t = sys.argv[1], sys.argv[2]
os.chdir(t)
XOR = [0x01, 0x20, 0x80, 0x04, 0x40]
def positions(size, want=160):
    step = max(1, size // want)
    ps = set(range(0, size, step)) | {0, size - 1}
    return sorted(p for p in ps if 0 <= p < size)
def flipped(path, pos, k):
    data = bytearray(open(path, "rb").read())
    data[pos] ^= XOR[k % len(XOR)]
    return bytes(data)
missed, runs = [], 0
def run(args, label):
    global runs
    runs += 1
    r = subprocess.run([vigie, "verify"] + args, capture_output=True, text=True)
    if r.returncode != 1 or "vigie: error:" not in r.stderr:
        missed.append(f"{label}: exit {r.returncode}, stderr {r.stderr.strip()[:200]!r}")
for name in ["entries.jsonl", "checkpoints.jsonl", "ledger.pub", "checkpoint"]:
    size = os.path.getsize(f"L/{name}")
    for k, pos in enumerate(positions(size)):
        shutil.rmtree("W", ignore_errors=True)
        shutil.copytree("L", "W")
        open(f"W/{name}", "wb").write(flipped(f"L/{name}", pos, k))
        run(["--ledger", "W", "--trust-ledger-key"], f"{name} byte {pos}")
        if k % 8 == 0:  # also with the key pinned and the inputs
            run(["--ledger", "W", "--key", "k.pub", "--inputs", "in/a.ndjson", "in/b.ndjson"],
                f"{name} byte {pos} (pinned)")
# the inputs, flipped where the ledger recorded them (a flipped copy elsewhere matches no
# recorded path and no recorded SHA-256: a warning, and the recorded file is checked)
for name in ["a.ndjson", "b.ndjson"]:
    size = os.path.getsize(f"in/{name}")
    orig = open(f"in/{name}", "rb").read()
    for k, pos in enumerate(positions(size, 120)):
        d = bytearray(orig)
        d[pos] ^= XOR[k % len(XOR)]
        open(f"in/{name}", "wb").write(bytes(d))
        other = "b.ndjson" if name == "a.ndjson" else "a.ndjson"
        run(["--ledger", "L", "--key", "k.pub", "--inputs", f"in/{name}", f"in/{other}"],
            f"input {name} byte {pos}")
        open(f"in/{name}", "wb").write(orig)
# cuts: the last entry, the last checkpoint line, whole files
for name, how in [("entries.jsonl", "last line"), ("checkpoints.jsonl", "last line"),
                  ("entries.jsonl", "empty"), ("checkpoints.jsonl", "remove"), ("ledger.pub", "remove"),
                  ("checkpoint", "remove")]:
    shutil.rmtree("W", ignore_errors=True)
    shutil.copytree("L", "W")
    p = f"W/{name}"
    if how == "remove":
        os.remove(p)
    elif how == "empty":
        open(p, "wb").close()
    else:
        lines = open(p, "rb").read().splitlines(keepends=True)
        open(p, "wb").write(b"".join(lines[:-1]))
    if name == "checkpoints.jsonl" and how == "last line":
        # the entries after the checkpoint before are then unsigned: caught
        pass
    run(["--ledger", "W", "--key", "k.pub"], f"{name}: {how}")
print(f"runs {runs} missed {len(missed)}")
for m in missed[:20]:
    print("MISSED", m)
PY
check "flips and cuts: every one fails verification ($(tail -n +1 flips.out | head -5))" grep -q "missed 0$" flips.out
runs=$(sed -n 's/^runs \([0-9]*\).*/\1/p' flips.out)
check "flips: many positions tried ($runs)" [ "${runs:-0}" -gt 400 ]

# proofs
"$VIGIE" prove --ledger L alert-5 -o p.json 2>prove.err
rc=$?
check "prove: exit 0 ($(cat prove.err))" [ $rc = 0 ]
"$VIGIE" prove --ledger L --seq 13 >p13.json
check "prove --seq to stdout: exit 0" [ $? = 0 ]
"$VIGIE" verify --proof p.json --key k.pub >pv.out 2>pv.err
rc=$?
check "verify --proof: exit 0 ($(cat pv.err))" [ $rc = 0 ]
check "verify --proof: names the alert" grep -q "alert alert-5 is entry 5 of a ledger of 16 entries" pv.out
"$VIGIE" verify --proof p13.json --pub k.pub >/dev/null 2>&1
check "verify --proof (--pub): exit 0" [ $? = 0 ]
"$VIGIE" verify --proof p.json --key other.pub >/dev/null 2>pw.err
check "verify --proof, wrong key: exit 1" [ $? = 1 ]
check "verify --proof, wrong key: message" grep -q "not by the key given" pw.err
"$VIGIE" verify --proof p.json --key k >/dev/null 2>&1
check "verify --proof with the private key file: exit 2" [ $? = 2 ]
"$VIGIE" prove --ledger L no-such-alert >/dev/null 2>pn.err
check "prove unknown alert: exit 2" [ $? = 2 ]
"$VIGIE" prove --ledger L1 alert-5 >/dev/null 2>pl.err
check "prove on an altered ledger: exit 1" [ $? = 1 ]
python3 - "$VIGIE" "$T" <<'PY' >pflips.out 2>&1
import subprocess, sys, os
vigie, t = sys.argv[1], sys.argv[2]
os.chdir(t)
data = open("p.json", "rb").read()
missed = runs = 0
for pos in range(0, len(data), 3):
    if data[pos] in b" \n":
        continue
    d = bytearray(data)
    d[pos] ^= 0x01
    open("pf.json", "wb").write(d)
    r = subprocess.run([vigie, "verify", "--proof", "pf.json", "--key", "k.pub"], capture_output=True)
    runs += 1
    if r.returncode != 1:
        missed += 1
        print("MISSED byte", pos, r.returncode)
print(f"runs {runs} missed {missed}")
PY
check "altered proofs all fail ($(tail -1 pflips.out))" grep -q "missed 0$" pflips.out

# an unsigned ledger: only with --unsigned, which says what it does not prove
"$HELPER" --make U - in/a.ndjson
run_verify u --ledger U
check "unsigned ledger without --unsigned: exit 1" [ "$(cat u.rc)" = 1 ]
check "unsigned ledger: says so" grep -q "the ledger is unsigned" u.err
run_verify u2 --ledger U --unsigned
check "unsigned ledger with --unsigned: exit 0" [ "$(cat u2.rc)" = 0 ]
check "unsigned ledger: nothing against rollback" grep -q "nothing against rollback or rewrite" u2.err
# stripped signatures: checkpoints without sig/key_id, ledger.pub and the note removed
cp -a L S1
sed -i -E 's/"key_id":"[0-9a-f]*","sig":"[0-9a-f]*"/"key_id":"","sig":""/' S1/checkpoints.jsonl
run_verify strip1 --ledger S1 --trust-ledger-key
check "signatures stripped (ledger.pub kept): exit 1" [ "$(cat strip1.rc)" = 1 ]
check "signatures stripped: not signed" grep -q "checkpoint is not signed" strip1.err
rm S1/ledger.pub
run_verify strip2 --ledger S1 --key k.pub
check "signatures and ledger.pub stripped, --key: exit 1" [ "$(cat strip2.rc)" = 1 ]
run_verify strip3 --ledger S1 --unsigned
check "signatures and ledger.pub stripped, --unsigned: the note left says stripped" grep -q "signatures were stripped" strip3.err
check "  and exits 1" [ "$(cat strip3.rc)" = 1 ]
rm S1/checkpoint
run_verify strip4 --ledger S1 --trust-ledger-key
check "everything stripped, --trust-ledger-key: exit 1 (unsigned)" [ "$(cat strip4.rc)" = 1 ]
cp -a L S2
cp other.pub S2/ledger.pub
run_verify repl --ledger S2 --trust-ledger-key
check "ledger.pub replaced: exit 1 even when trusting it" [ "$(cat repl.rc)" = 1 ]

# a checkpoint kept elsewhere shows a rollback, even to 0 entries and with the note gone
cp L/checkpoint saved.cp
check "DIR/checkpoint is a C2SP signed note" grep -q "^— vigie.ledger/${keyid:0:16} " saved.cp
run_verify ext --ledger L --key k.pub --checkpoint saved.cp
check "untouched ledger extends the saved checkpoint: exit 0" [ "$(cat ext.rc)" = 0 ]
check "  and says so" grep -q "extends the checkpoint of size 16" ext.out
cut_back() { # cut_back DIR N: keep the first N checkpoint lines and the entries they cover
  local size
  head -n "$2" "$1/checkpoints.jsonl" >"$1/c.tmp" && mv "$1/c.tmp" "$1/checkpoints.jsonl"
  size=$(tail -n 1 "$1/checkpoints.jsonl" | sed -E 's/^\{"size":([0-9]+).*/\1/')
  head -n "$size" "$1/entries.jsonl" >"$1/e.tmp" && mv "$1/e.tmp" "$1/entries.jsonl"
  rm -f "$1/checkpoint"
}
for n in 2 1; do
  rm -rf RB && cp -a L RB && cut_back RB $n
  "$VIGIE" ledger recover --ledger RB --key k >/dev/null 2>&1 # re-signs the cut ledger's note
  run_verify rb$n --ledger RB --key k.pub
  check "cut back to checkpoint $n, note rewritten: verify alone passes (the documented limit)" [ "$(cat rb$n.rc)" = 0 ]
  run_verify rbc$n --ledger RB --key k.pub --checkpoint saved.cp
  check "cut back to checkpoint $n: verify --checkpoint FAILS" [ "$(cat rbc$n.rc)" = 1 ]
  check "  saying it was cut back" grep -q "rolled back" rbc$n.err
done
check "cut to 0 entries" [ ! -s RB/entries.jsonl ]
rm -rf RB && cp -a L RB && cut_back RB 2 && cp L/checkpoint RB/checkpoint
run_verify rbn --ledger RB --key k.pub
check "cut back with the later note left in DIR: verify FAILS" [ "$(cat rbn.rc)" = 1 ]
"$VIGIE" ledger recover --ledger RB --key k >rbr.out 2>rbr.err
check "  and recover refuses to re-sign it (exit 1)" [ $? = 1 ]

# recovery: a torn last line and an unsigned tail, as kill -9 leaves them
rm -rf R && cp -a L R
head -c 150 R/entries.jsonl | tail -c 40 >>R/entries.jsonl  # a line written in part
run_verify torn --ledger R --key k.pub
check "torn last line: verify fails" [ "$(cat torn.rc)" = 1 ]
"$VIGIE" ledger recover --ledger R --key k >rec.out 2>rec.err
rc=$?
check "ledger recover: exit 0 ($(cat rec.err))" [ $rc = 0 ]
check "ledger recover: says what it dropped" grep -q "entries.jsonl: recovered: cut a torn last line (40 bytes at offset" rec.err
check "ledger recover: says the ledger is sound" grep -q "recovered: 16 entries" rec.out
run_verify afterrec --ledger R --key k.pub --checkpoint saved.cp
check "after recovery: verify (and --checkpoint) pass" [ "$(cat afterrec.rc)" = 0 ]
"$VIGIE" ledger recover --ledger R --key k >rec2.out 2>&1
check "recover again: nothing to do" grep -q "sound, nothing to recover" rec2.out
# a tampered middle entry: refused, nothing changed
rm -rf R2 && cp -a L R2
sed -i '3s/"alert_id":"alert-2"/"alert_id":"alert-9"/' R2/entries.jsonl
cp R2/entries.jsonl before.jsonl
"$VIGIE" ledger recover --ledger R2 --key k >/dev/null 2>rec3.err
check "ledger recover on a tampered ledger: exit 1" [ $? = 1 ]
check "  says it was not recovered" grep -q "not recovered" rec3.err
check "  and changed nothing" cmp -s before.jsonl R2/entries.jsonl
"$VIGIE" ledger recover --ledger nowhere >/dev/null 2>&1
check "ledger recover on no ledger: exit 2" [ $? = 2 ]
finish
