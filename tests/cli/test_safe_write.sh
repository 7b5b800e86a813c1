#!/usr/bin/env bash
# Output files are written safely (docs/internals/output.md) and hostile values cannot hide
# or forge (issue 8, points 1, 3 and 7):
#  - a planted symlink at OUT.tmp (the old temporary of export) or at OUT itself is never
#    followed, for export --stix, report -o, campaigns -o, scan --summary-json, --campaigns
#    and --baseline: the victim is unchanged and no temporary is left behind;
#  - a character device (a private copy of /dev/null, then /dev/null) stays a device and a
#    FIFO receives the content;
#  - --summary-json and --campaigns write failures say "cannot write FILE: REASON", exit 4;
#  - --format csv prefixes cells that start a formula with ';
#  - --format table and stderr escape ESC, BEL, CR, LF, C1 controls in values, rule titles
#    and file names: no raw control byte, still one line per alert.
source "$(dirname "$0")/lib.sh"
RULE="$ROOT/tests/data/rules/keep_marker.yml"

regular() { [ -f "$1" ] && [ ! -L "$1" ]; }
is_link() { [ -L "$1" ]; }
victim_ok() { [ "$(cat "$T/victim")" = VICTIM ]; }
no_temp_left() { # no file of ours other than the planted ones ends in .tmp
  [ -z "$(find "$1" -name '*.tmp' ! -type l)" ]
}

echo VICTIM >"$T/victim"
"$VIGIE_SIM" simulate --orgs 6 --days 3 --victims 2 --seed 5 -o "$T/sim" 2>/dev/null
check "simulate wrote a scenario" [ -d "$T/sim" ]

# ---- 1. planted links are not followed -------------------------------------------------
W="$T/w"
mkdir "$W"
for n in sum.json camp.jsonl b.json r.html c2.jsonl; do
  ln -s "$T/victim" "$W/$n.tmp"
done
ln -s "$T/victim" "$W/sum.json"
ln -s "$T/victim" "$W/camp.jsonl"
ln -s "$T/ghost" "$W/base.jsonl" # dangling: following it would create $T/ghost
ln -s "$T/victim" "$W/base.jsonl.tmp"
"$VIGIE" scan -q --no-progress --db "$T/s.db" --summary-json "$W/sum.json" \
  --campaigns "$W/camp.jsonl" --baseline "$W/base.jsonl" -o "$T/a.jsonl" "$T/sim" 2>"$T/scan.err"
rc=$?
check "scan with planted links exits 0 ($(head -3 "$T/scan.err"))" [ $rc = 0 ]
check "scan: the victim is unchanged" victim_ok
check "scan: the dangling baseline link was not followed" [ ! -e "$T/ghost" ]
check "scan: --summary-json is a regular file now" regular "$W/sum.json"
check "scan: the summary is complete ($(json_get "$W/sum.json" events) events)" \
  [ "$(json_get "$W/sum.json" events)" -gt 0 ]
check "scan: --campaigns is a regular file now" regular "$W/camp.jsonl"
check "scan: --baseline is a regular file now, not empty" bash -c "[ -f '$W/base.jsonl' ] && [ ! -L '$W/base.jsonl' ] && [ -s '$W/base.jsonl' ]"
check "scan: the planted OUT.tmp links are left as they were" is_link "$W/sum.json.tmp"

ln -s "$T/victim" "$W/b.json"
"$VIGIE" export -q --db "$T/s.db" --stix "$W/b.json" 2>"$T/export.err"
rc=$?
check "export with planted links exits 0 ($(head -3 "$T/export.err"))" [ $rc = 0 ]
check "export: the victim is unchanged" victim_ok
check "export: OUT is a regular file with the bundle" bash -c \
  "[ -f '$W/b.json' ] && [ ! -L '$W/b.json' ] && grep -q '\"type\": *\"bundle\"' '$W/b.json'"
check "export: OUT.tmp is still the planted link" is_link "$W/b.json.tmp"

ln -s "$T/victim" "$W/r.html"
"$VIGIE" report --db "$T/s.db" -o "$W/r.html" 2>"$T/report.err"
rc=$?
check "report with planted links exits 0 ($(head -3 "$T/report.err"))" [ $rc = 0 ]
check "report: the victim is unchanged" victim_ok
check "report: OUT is a regular HTML file" bash -c "[ -f '$W/r.html' ] && [ ! -L '$W/r.html' ] && grep -qi '<html' '$W/r.html'"

ln -s "$T/victim" "$W/c2.jsonl"
"$VIGIE" campaigns -q --db "$T/s.db" -o "$W/c2.jsonl" 2>"$T/camp.err" ||
  "$VIGIE" campaigns --db "$T/s.db" -o "$W/c2.jsonl" 2>"$T/camp.err"
rc=$?
check "campaigns -o with planted links exits 0 ($(head -3 "$T/camp.err"))" [ $rc = 0 ]
check "campaigns: the victim is unchanged" victim_ok
check "campaigns: OUT is a regular file" regular "$W/c2.jsonl"
check "no temporary left behind ($(find "$W" -name '*.tmp' ! -type l))" no_temp_left "$W"

# ---- 2. devices stay devices, FIFOs receive the content --------------------------------
chr() { [ "$(stat -c %F "$1")" = "character special file" ]; }
if mknod "$T/nulldev" c 1 3 2>/dev/null; then
  "$VIGIE" export -q --db "$T/s.db" --stix "$T/nulldev" 2>"$T/dev.err"
  rc=$?
  check "export --stix to a device exits 0 ($(head -2 "$T/dev.err"))" [ $rc = 0 ]
  check "export --stix: a private /dev/null copy stays a character device" chr "$T/nulldev"
  "$VIGIE" scan -q --no-progress --summary-json "$T/nulldev" -o /dev/null "$T/sim"
  check "--summary-json: a private /dev/null copy stays a character device" chr "$T/nulldev"
  safe_for_devnull=$(chr "$T/nulldev" && echo yes)
else
  safe_for_devnull=yes # not root: vigie could not replace /dev/null anyway
fi
if [ "$safe_for_devnull" = yes ]; then
  "$VIGIE" export -q --db "$T/s.db" --stix /dev/null 2>"$T/dev.err"
  rc=$?
  check "export --stix /dev/null exits 0 ($(head -2 "$T/dev.err"))" [ $rc = 0 ]
  check "export --stix /dev/null: /dev/null is a character device" chr /dev/null
  "$VIGIE" scan -q --no-progress --summary-json /dev/null -o /dev/null "$T/sim"
  check "--summary-json /dev/null exits 0" [ $? = 0 ]
  check "--summary-json /dev/null: /dev/null is a character device" chr /dev/null
else
  bad "a device given as OUT was replaced: /dev/null itself not tried"
fi

# a link planted beside the output that points at a device is refused (only /dev/... names
# may reach a device through a link); a FIFO with no reader fails instead of hanging
ln -s /dev/zero "$T/devlink"
"$VIGIE" scan -q --no-progress --summary-json "$T/devlink" -o /dev/null "$T/sim" 2>"$T/devlink.err"
rc=$?
check "a planted link to a device: refused, exit 4 (got $rc)" [ $rc = 4 ]
check "a planted link to a device: said" grep -q "cannot write $T/devlink: Permission denied" "$T/devlink.err"
check "a planted link to a device: the link is left as it was" [ "$(readlink "$T/devlink")" = /dev/zero ]
mkfifo "$T/noreader"
start=$(date +%s)
timeout 60 "$VIGIE" scan -q --no-progress --summary-json "$T/noreader" -o /dev/null "$T/sim" 2>"$T/noreader.err"
rc=$?
check "a FIFO without a reader: exit 4, not a hang (got $rc after $(($(date +%s) - start)) s)" [ $rc = 4 ]
check "a FIFO without a reader: said" grep -q "cannot write $T/noreader: No such device or address" "$T/noreader.err"
mkfifo "$T/f1" "$T/f2"
timeout 30 cat "$T/f1" >"$T/f1.got" &
reader=$!
timeout 30 "$VIGIE" export -q --db "$T/s.db" --stix "$T/f1" 2>"$T/f1.err"
rc=$?
check "export --stix FIFO exits 0 ($(head -2 "$T/f1.err"))" [ $rc = 0 ]
wait "$reader"
check "the FIFO's reader received the bundle" python3 -c '
import json, sys; b = json.load(open(sys.argv[1])); assert b["type"] == "bundle"' "$T/f1.got"
check "the FIFO is still a FIFO" [ "$(stat -c %F "$T/f1")" = fifo ]
timeout 30 cat "$T/f2" >"$T/f2.got" &
reader=$!
timeout 30 "$VIGIE" scan -q --no-progress --summary-json "$T/f2" -o /dev/null "$T/sim"
check "--summary-json FIFO exits 0" [ $? = 0 ]
wait "$reader"
check "the FIFO's reader received the summary" [ "$(json_get "$T/f2.got" events)" -gt 0 ]

# ---- 3. write failures exit 4 with the reason ------------------------------------------
fails() { # fails OPTION PATH REASON
  "$VIGIE" scan -q --no-progress "$1" "$2" -o /dev/null "$T/sim" 2>"$T/fail.err"
  local rc=$?
  check "$1 $2: exit 4 (got $rc)" [ $rc = 4 ]
  check "$1 $2: says 'cannot write $2: $3' ($(head -2 "$T/fail.err"))" \
    grep -qF "vigie: error: cannot write $2: $3" "$T/fail.err"
  check "$1 $2: does not blame the alerts" bash -c "! grep -q 'writing alerts' '$T/fail.err'"
}
fails --summary-json "$T/victim/s.json" "Not a directory"
fails --campaigns "$T/victim/c.jsonl" "Not a directory"
fails --summary-json /dev/full "No space left on device"
fails --campaigns /dev/full "No space left on device"
if [ "$(id -u)" != 0 ]; then
  mkdir "$T/ro" && chmod 555 "$T/ro"
  fails --summary-json "$T/ro/s.json" "Permission denied"
  fails --campaigns "$T/ro/c.jsonl" "Permission denied"
fi
check "the victim is still unchanged" victim_ok

# ---- 4. CSV injection -------------------------------------------------------------------
rec() { # rec TENANT-JSON-STRING N
  printf '{"CreationTime":"2023-06-01T00:00:0%d","Operation":"x","Workload":"Exchange",' "$2"
  printf '"OrganizationId":%s,"marker":"keep"}\n' "$1"
}
{
  rec "\"=cmd|' /C calc'!A0\"" 1
  rec '"+1+2"' 2
  rec '"-2-3"' 3
  rec '"@SUM(1)"' 4
  rec '"\tTAB"' 5
  rec '"\rCR, quoted"' 6
  rec '"plain tenant"' 7
} >"$T/inj.ndjson"
"$VIGIE" scan -q --no-progress --no-combined --logsource=all -r "$RULE" --format csv \
  "$T/inj.ndjson" >"$T/inj.csv" 2>"$T/inj.err"
rc=$?
check "csv scan exits 0 ($(head -2 "$T/inj.err"))" [ $rc = 0 ]
python3 - "$T/inj.csv" <<'PY' || bad "CSV cells that start a formula get a leading '"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][4] == "tenant", rows[0]
tenants = sorted(r[4] for r in rows[1:])
want = sorted(["'=cmd|' /C calc'!A0", "'+1+2", "'-2-3", "'@SUM(1)", "'\tTAB", "'\rCR, quoted",
               "plain tenant"])
assert tenants == want, tenants
for r in rows:
    for cell in r:
        assert not cell or cell[0] not in "=+-@\t\r", (cell, r)
PY

# ---- 5. control characters in table output and on stderr --------------------------------
cat >"$T/hostile.yml" <<'EOF'
title: "Hostile \e[31mred\a\rtitle\nvigie: error: forged line"
id: 6a1f4a0e-3c1b-4d5e-9f70-1b2c3d4e5f60
logsource:
  product: test
detection:
  selection:
    marker: keep
  condition: selection
level: low
EOF
F="$T/rec"$'\e[2J\a\r\n'"vigie: forged.ndjson"
{
  rec '"t\u009b1m\u001b[31m\u0007\r\nvigie: error: forged"' 1
  rec '"ok"' 2
  echo '{not json'
} >"$F"
"$VIGIE" scan --no-progress --logsource=all -r "$T/hostile.yml" "$F" "$T/missing"$'\e[31m\n' \
  >"$T/h.jsonl" 2>/dev/null
n_alerts=$(wc -l <"$T/h.jsonl")
"$VIGIE" scan --no-progress --logsource=all -r "$T/hostile.yml" --format table "$F" \
  "$T/missing"$'\e[31m\n' >"$T/h.table" 2>"$T/h.err"
check "table scan ran (exit 4 for the missing input, got $?)" [ -s "$T/h.table" ]
check "alerts were found ($n_alerts)" [ "$n_alerts" -ge 4 ]
clean() { ! LC_ALL=C grep -qaP '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$1"; }
check "table output has no raw control byte" clean "$T/h.table"
check "stderr has no raw control byte" clean "$T/h.err"
check "one table line per alert, plus the header ($(wc -l <"$T/h.table") for $n_alerts)" \
  [ "$(wc -l <"$T/h.table")" = $((n_alerts + 1)) ]
check "every stderr line is vigie's own ($(grep -v '^vigie: ' "$T/h.err" | head -2))" \
  bash -c "! grep -qv '^vigie: ' '$T/h.err'"
check "the escapes are visible in the table" grep -qF 'Hostile \x1b[31mred\x07\rtitle\nvigie' "$T/h.table"
check "the tenant's C1 control is visible" grep -qF '\u009b1m' "$T/h.table"
check "the file name is escaped in the table" grep -qF 'rec\x1b[2J\x07\r\nvigie: forged.ndjson:1' "$T/h.table"
check "the file name is escaped on stderr" grep -qF 'rec\x1b[2J\x07\r\nvigie: forged.ndjson:3:' "$T/h.err"
check "the missing input's name is escaped on stderr" grep -qF 'missing\x1b[31m\n' "$T/h.err"
check "the rule title is escaped in the summary" grep -qF 'low       Hostile \x1b[31mred' "$T/h.err"
finish
