#!/usr/bin/env bash
# The record facts of the detect stage against the pre-move reference (tests/unit/test_detect.c)
# on a simulated scenario as well as the sample logs and shared datasets: the scenario has
# thousands of mail reads and sign-ins (the datasets have ten mail reads), so every branch of
# the facts (lite and full mail reads, sign-ins with and without signals, folders, message
# ids, linkable identifiers) is compared on real volume.
source "$(dirname "$0")/lib.sh"
need_shared datasets
BUILD=$(cd "$(dirname "$VIGIE")" && pwd)
check "test_detect is built beside vigie" [ -x "$BUILD/test_detect" ]
"$VIGIE_SIM" simulate --orgs 10 --days 10 --victims 3 --seed 2 -o "$T/sim" >"$T/sim.out" 2>&1
rc=$?
check "simulate writes a scenario (rc=$rc)" [ "$rc" = 0 ]
VIGIE_DETECT_EXTRA="$T/sim" "$BUILD/test_detect" >"$T/out" 2>"$T/err"
rc=$?
check "facts equal the reference on the scenario (rc=$rc: $(tail -3 "$T/err" | tr '\n' ' '))" [ "$rc" = 0 ]
check "the scenario was read" grep -qE 'equivalence: [0-9]+ files, [0-9]+ records, [0-9]+ facts \([0-9]{4,} mail reads' "$T/err"
finish
