#!/usr/bin/env bash
# Rule files at the limits: a file over VG_MAX_RULE_FILE_BYTES is refused with a message that
# names the limit and its value, and the rules beside it load and fire; a list of 100,000
# values loads whole (its load time is measured in bench/rule_load.sh, never here); a list
# past VG_MAX_YAML_EVENTS is refused naming that limit.
source "$(dirname "$0")/lib.sh"
good() { printf '{"marker":"keep","n":%d,"v":"%s"}\n' "$1" "$2"; }
mkdir -p "$T/rules"
cp "$ROOT/tests/data/rules/keep_marker.yml" "$T/rules/"
python3 - "$T/rules" <<'PY'
import sys
d = sys.argv[1]
head = "title: %s\nlogsource:\n  product: test\ndetection:\n  s:\n    v:\n"
# 8 MiB + 1 byte: a valid rule, then comment lines
rule = (head % "big") + "      - x\n  condition: s\n"
with open(d + "/big.yml", "w") as f:
    f.write(rule)
    left = 8 * 1024 * 1024 + 1 - len(rule)
    while left > 0:
        line = "#" * min(79, left - 1) + "\n" if left > 1 else "#"
        f.write(line)
        left -= len(line)
# 100,000 distinct values (loads) and 200,000 (past VG_MAX_YAML_EVENTS)
for name, n in (("long", 100000), ("toolong", 200000)):
    with open("%s/%s.yml" % (d, name), "w") as f:
        f.write(head % name)
        f.write("".join("      - 'Value%07dOp'\n" % i for i in range(n)))
        f.write("  condition: s\n")
PY
check "big.yml is one byte over 8 MiB" [ "$(stat -c %s "$T/rules/big.yml")" = $((8 * 1024 * 1024 + 1)) ]

"$VIGIE" rules check --json "$T/rules" >"$T/check.json" 2>"$T/check.err"
echo $? >"$T/check.rc"
check "rules check: exit 0 (some rules usable)" [ "$(cat "$T/check.rc")" = 0 ]
check "rules check: 2 loaded (keep_marker, long)" [ "$(json_get "$T/check.json" loaded)" = 2 ]
check "rules check: 2 skipped (big, toolong)" [ "$(json_get "$T/check.json" skipped)" = 2 ]
reason() { python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["rules"]:
    if r["path"].endswith(sys.argv[2]): print(r["status"], r["reason"])' "$T/check.json" "$1"; }
check "rules check: big.yml's reason names VG_MAX_RULE_FILE_BYTES and 8 MiB ($(reason /big.yml))" \
  grep -q "^skipped rule file exceeds VG_MAX_RULE_FILE_BYTES (8 MiB" <(reason /big.yml)
check "rules check: toolong.yml's reason names VG_MAX_YAML_EVENTS ($(reason /toolong.yml))" \
  grep -q "^skipped more than VG_MAX_YAML_EVENTS (200000) YAML nodes" <(reason /toolong.yml)
check "rules check: long.yml (100,000 values) loaded" grep -q "^loaded" <(reason /long.yml)

{ good 1 nope; good 2 Value0099999Op; good 3 Value0050000Op; } >"$T/three.ndjson"
"$VIGIE" scan -j 1 --no-progress --logsource=all -r "$T/rules" --summary-json "$T/scan.sum" \
  "$T/three.ndjson" >"$T/scan.out" 2>"$T/scan.err"
echo $? >"$T/scan.rc"
check "scan: exit 0" [ "$(cat "$T/scan.rc")" = 0 ]
check "scan: stderr names the size limit for big.yml" \
  grep -Eq "big.yml: rule file exceeds VG_MAX_RULE_FILE_BYTES \(8 MiB, 8388608 bytes\)" "$T/scan.err"
check "scan: stderr names VG_MAX_YAML_EVENTS for toolong.yml" \
  grep -Eq "toolong.yml:[0-9]+:[0-9]+: .*VG_MAX_YAML_EVENTS \(200000\)" "$T/scan.err"
check "scan: 2 rules compiled" [ "$(json_get "$T/scan.sum" rules_compiled)" = 2 ]
# keep_marker fires on all three records, the 100,000-value list on records 2 and 3
check "scan: 5 alerts (got $(json_get "$T/scan.sum" alerts))" [ "$(json_get "$T/scan.sum" alerts)" = 5 ]
finish
