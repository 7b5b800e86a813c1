#!/usr/bin/env bash
# Inputs that used to be silently not analysed (issue 8, point 6):
#  1. UTF-16 (LE/BE, with or without BOM) gives the same alerts as the same data in UTF-8;
#  2. decompressed bytes are bounded (--max-decompressed, and a ratio gzip can reach);
#  3. zstd --long=31 files are read, a window over the limit is refused with the limit named;
#  4. CSV wider than the old 4,096 columns is read, a row over VG_MAX_CSV_COLUMNS is skipped
#     with the limit named, a header over it makes the file unreadable;
#  5. what is no log (random bytes, zip, EVTX, gzip inside gzip) is reported and counted as
#     unreadable_files, not as events; exit 4.
source "$(dirname "$0")/lib.sh"
RULE="$ROOT/tests/data/rules/keep_marker.yml"

scan() { # scan NAME ARGS... ; leaves $T/NAME.{out,err,sum,rc}
  local name=$1; shift
  "$VIGIE" scan -j 1 --no-progress --summary-json "$T/$name.sum" "$@" >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
sum_of() { json_get "$T/$1.sum" "$2"; }
# alerts of a run with every string equal to the input path replaced by FILE
norm() { # norm NAME PATH
  python3 - "$T/$1.out" "$2" <<'PY'
import json, sys
path = sys.argv[2]
def fix(v):
    if isinstance(v, dict):
        return {k: fix(x) for k, x in v.items()}
    if isinstance(v, list):
        return [fix(x) for x in v]
    return "FILE" if v == path else v
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps(fix(json.loads(line)), sort_keys=True))
PY
}
record_alerts() { grep -vc '"kind":"\(combined\|gap\)"' "$T/$1.out"; }

# ---- 1. UTF-16 -----------------------------------------------------------------------------
"$VIGIE_SIM" simulate --orgs 8 --days 3 --victims 4 --seed 1 -o "$T/sim" >/dev/null 2>&1
pick() { # the first file named $1 of the scenario whose scan (vigie's pack) gives record alerts
  local f
  for f in $(find "$T/sim" -name "$1" | sort); do
    scan pick "$f"
    if [ "$(record_alerts pick)" -gt 0 ]; then echo "$f"; return; fi
  done
}
CSV=$(pick purview-audit-export.csv)
NDJ=$(pick audit-management-api.ndjson)
check "scenario has a Purview CSV that fires a rule" [ -n "$CSV" ]
check "scenario has a Management API NDJSON that fires a rule" [ -n "$NDJ" ]
mkdir -p "$T/v"
variants() { # variants SRC EXT KINDS...: $T/v/KIND.EXT
  local src=$1 ext=$2; shift 2
  for k in "$@"; do
    case $k in
      u8) cp "$src" "$T/v/$k.$ext" ;;
      u8bom) { printf '\xef\xbb\xbf'; cat "$src"; } >"$T/v/$k.$ext" ;;
      lebom) { printf '\xff\xfe'; iconv -f UTF-8 -t UTF-16LE "$src"; } >"$T/v/$k.$ext" ;;
      bebom) { printf '\xfe\xff'; iconv -f UTF-8 -t UTF-16BE "$src"; } >"$T/v/$k.$ext" ;;
      le) iconv -f UTF-8 -t UTF-16LE "$src" >"$T/v/$k.$ext" ;;
      be) iconv -f UTF-8 -t UTF-16BE "$src" >"$T/v/$k.$ext" ;;
      legz) { printf '\xff\xfe'; iconv -f UTF-8 -t UTF-16LE "$src"; } | gzip -c >"$T/v/$k.$ext" ;;
    esac
  done
}
same_alerts() { # same_alerts EXT REF KIND: identical alert lines but for the file name
  local ext=$1 ref=$2 k=$3
  scan "$k.$ext" "$T/v/$k.$ext"
  check "$k.$ext: exit 0 (got $(rc_of "$k.$ext"))" [ "$(rc_of "$k.$ext")" = 0 ]
  check "$k.$ext: no bad record" [ "$(sum_of "$k.$ext" bad_records)" = 0 ]
  norm "$ref.$ext" "$T/v/$ref.$ext" >"$T/ref.norm"
  norm "$k.$ext" "$T/v/$k.$ext" >"$T/k.norm"
  check "$k.$ext: the same alerts as $ref.$ext ($(wc -l <"$T/k.norm") vs $(wc -l <"$T/ref.norm"))" \
    cmp -s "$T/ref.norm" "$T/k.norm"
}
if [ -n "$CSV" ]; then
  variants "$CSV" csv u8 u8bom lebom bebom be legz
  scan u8.csv "$T/v/u8.csv"
  scan u8bom.csv "$T/v/u8bom.csv"
  check "UTF-8 Purview CSV: record alerts (got $(record_alerts u8.csv))" [ "$(record_alerts u8.csv)" -ge 1 ]
  check "UTF-8 with BOM: as many alerts" [ "$(record_alerts u8bom.csv)" = "$(record_alerts u8.csv)" ]
  # with a BOM, offsets count it as the 3 bytes of a UTF-8 BOM: compare with the UTF-8+BOM run
  same_alerts csv u8bom lebom
  same_alerts csv u8bom bebom
  same_alerts csv u8bom legz
  same_alerts csv u8 be
fi
if [ -n "$NDJ" ]; then
  variants "$NDJ" ndjson u8 u8bom lebom bebom le be
  scan u8.ndjson "$T/v/u8.ndjson"
  scan u8bom.ndjson "$T/v/u8bom.ndjson"
  check "UTF-8 NDJSON: record alerts (got $(record_alerts u8.ndjson))" [ "$(record_alerts u8.ndjson)" -ge 1 ]
  same_alerts ndjson u8bom lebom
  same_alerts ndjson u8bom bebom
  same_alerts ndjson u8 le
  same_alerts ndjson u8 be
fi
# a broken UTF-16 file: an unpaired surrogate costs its record, an odd last byte is a truncation
python3 - "$T/lone.ndjson" <<'PY'
import sys
rec = lambda n: ('{"marker":"keep","n":%d}\n' % n).encode("utf-16-le")
bad = '{"marker":"keep","n":"'.encode("utf-16-le") + b"\x00\xd8" + '"}\n'.encode("utf-16-le")
open(sys.argv[1], "wb").write(b"\xff\xfe" + rec(1) + bad + rec(3) + b"{")
PY
scan lone --logsource=all -r "$RULE" "$T/lone.ndjson"
check "lone surrogate: 2 events" [ "$(sum_of lone events)" = 2 ]
check "lone surrogate: reported with its byte offset" grep -q "lone.ndjson: invalid UTF-16: unpaired surrogate 0xD800 at byte" "$T/lone.err"
check "lone surrogate: its record skipped at line 2" grep -q "lone.ndjson:2: .*invalid UTF-8" "$T/lone.err"
check "odd last byte: reported as a truncation" grep -q "UTF-16 text ends inside a character (an odd last byte" "$T/lone.err"

# ---- 2. decompressed bytes -----------------------------------------------------------------
python3 - "$T/big.ndjson" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(60000):
        f.write('{"marker":"keep","n":%d,"pad":"%s"}\n' % (i, "x" * (i % 40)))
PY
gzip -c "$T/big.ndjson" >"$T/big.ndjson.gz"
zstd -q -c "$T/big.ndjson" >"$T/big.ndjson.zst"
for c in gz zst; do
  scan "lim$c" --logsource=all -r "$RULE" --max-decompressed 1M "$T/big.ndjson.$c"
  # the records wholly inside the first MiB
  want=$(head -c 1048576 "$T/big.ndjson" | grep -c '}$')
  check "--max-decompressed 1M ($c): exit 0" [ "$(rc_of "lim$c")" = 0 ]
  check "--max-decompressed 1M ($c): the $want records before the limit (got $(sum_of "lim$c" events))" [ "$(sum_of "lim$c" events)" = "$want" ]
  check "--max-decompressed 1M ($c): alerts on them" [ "$(sum_of "lim$c" alerts)" = "$want" ]
  check "--max-decompressed 1M ($c): counted as TOOBIG" [ "$(sum_of "lim$c" bad_by_reason.TOOBIG)" = 1 ]
  check "--max-decompressed 1M ($c): message names the limit" grep -q "vigie: error: $T/big.ndjson.$c: decompressed size exceeds 1048576 bytes (--max-decompressed 1048576): rest of file not read" "$T/lim$c.err"
done
scan limok --logsource=all -r "$RULE" --max-decompressed 64G "$T/big.ndjson.gz"
check "--max-decompressed 64G: every record" [ "$(sum_of limok events)" = 60000 ]
scan limbad --max-decompressed 12X "$T/big.ndjson.gz"
check "--max-decompressed 12X: usage error" [ "$(rc_of limbad)" = 2 ]
# a gzip bomb past the ratio: 80 MiB of blank lines after one record (about 80 KB of gzip)
python3 - "$T/bomb.gz" <<'PY'
import gzip, sys
with gzip.open(sys.argv[1], "wb", 9) as f:
    f.write(b'{"marker":"keep","n":1}\n')
    for _ in range(80):
        f.write(b"\n" * (1 << 20))
PY
start=$(date +%s)
scan bomb --logsource=all -r "$RULE" "$T/bomb.gz"
check "gzip bomb: stopped at the ratio ($(grep -c ratio "$T/bomb.err") message)" grep -q "bomb.gz: decompressed size exceeds 500 times the compressed size (ratio 500:1, VG_DECOMPRESS_MAX_RATIO, past 64 MiB) after [0-9]* bytes: rest of file not read" "$T/bomb.err"
check "gzip bomb: the record before kept" [ "$(sum_of bomb events)" = 1 ]
check "gzip bomb: counted as TOOBIG" [ "$(sum_of bomb bad_by_reason.TOOBIG)" = 1 ]
check "gzip bomb: at most 64 MiB of text read (got $(sum_of bomb bytes))" [ "$(sum_of bomb bytes)" -le $((64 << 20)) ]
check "gzip bomb: stopped, not read to its end (generous bound; bench/ measures time)" [ $(($(date +%s) - start)) -lt 120 ]

# legitimate repetitive logs: a health-check log, 20 identical lines a second, compresses
# past 500:1 with zstd (about 750:1 at -3): read whole; an explicit --max-decompressed
# replaces the ratio, so the gzip bomb's blank lines are read to the end when asked
python3 - "$T/health.ndjson" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(700000):
        j = i // 20
        f.write('{"time":"2024-01-01T%02d:%02d:%02dZ","marker":"keep","path":"/healthz"}\n'
                % (j // 3600 % 24, j // 60 % 60, j % 60))
PY
zstd -q -3 -c "$T/health.ndjson" >"$T/health.ndjson.zst"
rm -f "$T/health.ndjson"
ratio=$(( $(zstd -lv "$T/health.ndjson.zst" 2>/dev/null | awk '/Decompressed Size/{gsub(/[(),]/,"",$5); print $5; exit}') / $(stat -c %s "$T/health.ndjson.zst") ))
check "health-check log: zstd ratio past 500:1 (got $ratio:1)" [ "$ratio" -gt 500 ]
scan health --logsource=all -r "$RULE" "$T/health.ndjson.zst"
check "health-check log (zstd, $ratio:1): every record read ($(sum_of health events))" [ "$(sum_of health events)" = 700000 -a "$(sum_of health bad_records)" = 0 ]
scan bombok --logsource=all -r "$RULE" --max-decompressed 1G "$T/bomb.gz"
check "gzip bomb with --max-decompressed 1G: read to its end, no limit hit" [ "$(sum_of bombok bad_records)" = 0 -a "$(sum_of bombok bytes)" -gt $((80 << 20)) ]

# ---- 3. zstd windows -----------------------------------------------------------------------
head -100 "$T/big.ndjson" | zstd -q --long=31 -c >"$T/long31.zst" # from a pipe: the 2 GiB window stays
check "zstd --long=31 declares a 2 GiB window" sh -c "zstd -lv '$T/long31.zst' 2>/dev/null | grep -q 'Window Size: 2.00 GiB'"
scan long31 --logsource=all -r "$RULE" "$T/long31.zst"
check "zstd --long=31: read (got $(sum_of long31 events) events, $(sum_of long31 bad_records) bad)" [ "$(sum_of long31 events)" = 100 -a "$(sum_of long31 bad_records)" = 0 ]
# magic, no flags, window exponent 22 (4 GiB), one raw last block "{}\n"
printf '\x28\xb5\x2f\xfd\x00\xb0\x19\x00\x00{}\n' >"$T/w32.zst"
scan w32 --logsource=all -r "$RULE" "$T/w32.zst"
check "zstd window over the limit: refused naming it" grep -q "w32.zst:1: zstd frame window larger than VG_ZSTD_MAX_WINDOW_LOG (31: 2048 MiB)" "$T/w32.err"

# ---- 4. wide CSV ---------------------------------------------------------------------------
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
open(t + "/w5000.csv", "w").write(",".join("c%d" % i for i in range(5000)) + ",marker\n" + "v," * 5000 + "keep\n")
open(t + "/wrow.csv", "w").write("marker,n\nkeep,1\nkeep,2" + "," * 70000 + "\nkeep,3\n")
open(t + "/whdr.csv", "w").write("c," * 70000 + "marker\nkeep,1\n")
PY
scan w5000 --logsource=all -r "$RULE" "$T/w5000.csv"
check "5,000 columns: read" [ "$(sum_of w5000 events)" = 1 -a "$(sum_of w5000 alerts)" = 1 ]
scan wrow --logsource=all -r "$RULE" "$T/wrow.csv"
check "row over the limit: the others kept" [ "$(sum_of wrow events)" = 2 -a "$(sum_of wrow alerts)" = 2 ]
check "row over the limit: named" grep -q "wrow.csv:3: record 2 skipped: CSV row 3 has more than VG_MAX_CSV_COLUMNS (65536) columns" "$T/wrow.err"
scan whdr --logsource=all -r "$RULE" "$T/whdr.csv"
check "header over the limit: cannot be read, said so" grep -q "whdr.csv:1: CSV header has more than VG_MAX_CSV_COLUMNS (65536) columns: the file cannot be read" "$T/whdr.err"
check "header over the limit: unreadable_files 1, exit 4" [ "$(sum_of whdr unreadable_files)" = 1 -a "$(rc_of whdr)" = 4 ]

# ---- 5. no log -----------------------------------------------------------------------------
python3 - "$T" <<'PY'
import gzip, random, sys, zipfile
t = sys.argv[1]
r = random.Random(8)
open(t + "/random.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(65536)))
with zipfile.ZipFile(t + "/logs.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("audit.json", '{"marker":"keep","n":1}\n' * 100)
open(t + "/twice.json.gz", "wb").write(gzip.compress(gzip.compress(b'{"marker":"keep","n":1}\n')))
PY
need_shared datasets
EVTX=$(find "$SHARED/datasets" -name '*.evtx' 2>/dev/null | sort | head -1)
if [ -z "$EVTX" ]; then
  bad "no .evtx file under $SHARED/datasets (the shared datasets are needed for this test)"
else
  cp "$EVTX" "$T/security.evtx"
fi
printf '{"marker":"keep","n":1}\n{"marker":"keep","n":2}\n' >"$T/good.ndjson"
for f in random.bin:binary logs.zip:zip security.evtx:evtx twice.json.gz:'gzip inside gzip'; do
  name=${f%%:*} looks=${f#*:}
  [ -f "$T/$name" ] || continue
  scan "no-$name" --logsource=all -r "$RULE" "$T/$name"
  check "$name: exit 4 (got $(rc_of "no-$name"))" [ "$(rc_of "no-$name")" = 4 ]
  check "$name: 0 events (got $(sum_of "no-$name" events))" [ "$(sum_of "no-$name" events)" = 0 ]
  check "$name: not a bad record" [ "$(sum_of "no-$name" bad_records)" = 0 ]
  check "$name: unreadable_files 1" [ "$(sum_of "no-$name" unreadable_files)" = 1 ]
  check "$name: message 'looks like: $looks'" grep -q "^vigie: error: $T/$name: not a log vigie can read (looks like: $looks" "$T/no-$name.err"
  check "$name: in the stderr summary" grep -q "^vigie: unreadable files (not a log vigie can read, 0 events): 1" "$T/no-$name.err"
done
scan mixed --logsource=all -r "$RULE" "$T/random.bin" "$T/good.ndjson" "$T/logs.zip"
check "mixed: the good file is read" [ "$(sum_of mixed events)" = 2 -a "$(sum_of mixed alerts)" = 2 ]
check "mixed: unreadable_files 2" [ "$(sum_of mixed unreadable_files)" = 2 ]
check "mixed: exit 4" [ "$(rc_of mixed)" = 4 ]
# text that is not UTF-8 is still text: a CP1251 CSV (Excel's plain "CSV" on a Cyrillic
# Windows) whose ASCII rows fire the rule; a log after a copytruncate hole of NULs
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
rows = ["marker,name"] + ["none,%s" % ("Пользователь вошёл в систему %d" % i) for i in range(60)]
rows += ["keep,row%d" % i for i in range(50)]
open(t + "/cp1251.csv", "wb").write(("\n".join(rows) + "\n").encode("cp1251"))
open(t + "/hole.ndjson", "wb").write(b"\0" * 300 + b"\n" + b'{"marker":"keep","n":1}\n' * 5)
PY
scan cp1251 --logsource=all -r "$RULE" "$T/cp1251.csv"
check "CP1251 CSV: read as text, its 50 ASCII rows fire ($(sum_of cp1251 alerts) alerts, $(sum_of cp1251 unreadable_files) unreadable)" [ "$(sum_of cp1251 unreadable_files)" = 0 -a "$(sum_of cp1251 alerts)" = 50 ]
scan hole --logsource=all -r "$RULE" "$T/hole.ndjson"
check "log after a hole of NULs: read ($(sum_of hole alerts) alerts, $(sum_of hole unreadable_files) unreadable)" [ "$(sum_of hole unreadable_files)" = 0 -a "$(sum_of hole alerts)" = 5 ]
check "log after a hole of NULs: the hole is one bad record" [ "$(sum_of hole bad_records)" = 1 ]
check "log after a hole of NULs: said" grep -q "300 NUL byte(s) before the first record skipped" "$T/hole.err"
scan good --logsource=all -r "$RULE" "$T/good.ndjson"
check "good: unreadable_files 0, exit 0" [ "$(sum_of good unreadable_files)" = 0 -a "$(rc_of good)" = 0 ]
finish
