#!/usr/bin/env bash
# The evidence ledger from the command line: keygen, verify (ledger, raw records), prove and
# a third party's verify --proof. One flipped byte at many positions of every ledger file and
# of the inputs must make `vigie verify` exit 1 with a message; the pristine copy exits 0.
# Until `vigie scan --ledger` lands, the ledger is made by the unit test's helper
# (build/test_store_ledger --make DIR KEY INPUT...: one alert per record, reopened half way).
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
check "pristine: 14 entries" grep -q "OK: 14 entries" ok.out
check "pristine: every record re-read" grep -Eq "([0-9]+) of \1 raw records re-read and unaltered" ok.out
run_verify ok2 --ledger L
check "pristine, key from the ledger: exit 0" [ "$(cat ok2.rc)" = 0 ]
check "pristine, key from the ledger: says the key is not pinned" grep -q "give --key" ok2.err
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
run_verify missing --ledger L --inputs in/a.ndjson
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
for name in ["entries.jsonl", "checkpoints.jsonl", "ledger.pub"]:
    size = os.path.getsize(f"L/{name}")
    for k, pos in enumerate(positions(size)):
        shutil.rmtree("W", ignore_errors=True)
        shutil.copytree("L", "W")
        open(f"W/{name}", "wb").write(flipped(f"L/{name}", pos, k))
        run(["--ledger", "W"], f"{name} byte {pos}")
        if k % 8 == 0:  # also with the key pinned and the inputs
            run(["--ledger", "W", "--key", "k.pub", "--inputs", "in/a.ndjson", "in/b.ndjson"],
                f"{name} byte {pos} (pinned)")
os.makedirs("X", exist_ok=True)
for name in ["a.ndjson", "b.ndjson"]:
    size = os.path.getsize(f"in/{name}")
    for k, pos in enumerate(positions(size, 120)):
        open(f"X/{name}", "wb").write(flipped(f"in/{name}", pos, k))
        other = "b.ndjson" if name == "a.ndjson" else "a.ndjson"
        run(["--ledger", "L", "--inputs", f"X/{name}", f"in/{other}"], f"input {name} byte {pos}")
# cuts: the last entry, the last checkpoint line, whole files
for name, how in [("entries.jsonl", "last line"), ("checkpoints.jsonl", "last line"),
                  ("entries.jsonl", "empty"), ("checkpoints.jsonl", "remove"), ("ledger.pub", "remove")]:
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
check "prove: exit 0 ($(cat prove.err))" [ $? = 0 ]
"$VIGIE" prove --ledger L --seq 13 >p13.json
check "prove --seq to stdout: exit 0" [ $? = 0 ]
"$VIGIE" verify --proof p.json --key k.pub >pv.out 2>pv.err
check "verify --proof: exit 0 ($(cat pv.err))" [ $? = 0 ]
check "verify --proof: names the alert" grep -q "alert alert-5 is entry 5 of a ledger of 14 entries" pv.out
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
finish
