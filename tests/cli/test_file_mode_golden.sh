#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# File mode does not change by accident: the cases of tests/tools/golden_cases.sh (the demo
# scenario and smaller seeds, the repository's sample logs, every dataset family of ../shared
# with vigie's pack and with SigmaHQ's rules) give the alert lines, campaigns, store ids and
# summary counts recorded in tests/data/golden/file_mode.txt. An intended change regenerates
# that file with tests/tools/golden_update.sh and says why in the commit that makes it.
# Also: -j 1 and -j 2 give the same alerts, campaigns and store ids. ../shared missing fails.
# GOLDEN_KEEP=DIR keeps every case's outputs in DIR for a look at what changed.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/tools/golden_cases.sh"
REF="$ROOT/tests/data/golden/file_mode.txt"
OUT=${GOLDEN_KEEP:-$T/golden}

if [ ! -d "$SHARED/datasets" ] || [ ! -d "$SHARED/sigma/rules" ]; then
  bad "$SHARED: the shared datasets and SigmaHQ rules are missing; this comparison needs ../shared (pass its path as the second argument)"
  finish
  exit 1
fi
check "the reference $REF exists" [ -s "$REF" ]
check "the reference is of this case list's format ($GOLDEN_FORMAT)" \
  grep -qx "format $GOLDEN_FORMAT" "$REF"

golden_run "$VIGIE" "$SHARED" "$OUT" >"$T/now.txt"
rc=$?
if [ $rc != 0 ]; then
  bad "the cases did not all run (golden_run exit $rc; see the error above): nothing compared"
  finish
  exit 1
fi
golden_compare "$REF" "$T/now.txt" >"$T/compare.txt"
rc=$?
if [ $rc != 0 ]; then
  cat "$T/compare.txt" >&2
  echo "golden: the reference: $(grep -m1 '^built-from' "$REF"); outputs: GOLDEN_KEEP=DIR keeps them" >&2
fi
check "file mode as recorded in tests/data/golden/file_mode.txt ($(grep -c '^golden: case' "$T/compare.txt") case(s) differ; regenerate with tests/tools/golden_update.sh only for an intended change)" [ $rc = 0 ]

# -j 1 and -j 2 give the same bytes (the summary differs only in "threads")
field() { # field CASE KEY -> that record of the case in the digest just made
  awk -v c="case $1" -v k="  $2 " '$0 == c {on = 1; next} /^case / {on = 0} on && index($0, k) == 1 {print; exit}' "$T/now.txt"
}
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
for pair in demo-s1:demo-s1-j1 sigma-cloud:sigma-cloud-j1; do
  a=${pair%%:*} b=${pair#*:}
  for k in alerts campaigns store.alerts store.campaigns; do
    check "$a / $b: $k the same for -j 2 and -j 1" same "$(field "$a" $k)" "$(field "$b" $k)"
  done
done
# the cases exercise what they claim: alerts of every kind on the demo, Sigma alerts from
# the shared datasets (a case list that silently produced nothing would compare equal forever)
for k in sigma new_term indicator combined token gap; do
  check "demo-s1 has $k alerts" grep -q "^  kinds .*\b$k/" <(awk '/^case demo-s1$/ {on = 1; next} /^case / {on = 0} on' "$T/now.txt")
done
for c in sigma-m365-entra sigma-cloud sigma-windows-regression sigma-windows-otrf; do
  check "$c has Sigma alerts" grep -q "^  kinds .*sigma/" <(awk -v c="case $c" '$0 == c {on = 1; next} /^case / {on = 0} on' "$T/now.txt")
done
finish
