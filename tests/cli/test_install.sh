#!/usr/bin/env bash
# The installed tree is enough to build against: `cmake --install` (what `make install
# PREFIX=... DESTDIR=...` runs) into a temporary DESTDIR puts there include/vigie/*.h,
# libvigie.a, libvigie.so with its soname, pkgconfig/vigie.pc, bin/vigie and the rule pack
# under share/vigie/rules. examples/vigie-match.c is then built with nothing but
# `cc $(pkg-config --cflags --libs vigie)` (PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR into
# the temporary tree), run on records with a known answer, and checked line for line; the
# shared build finds its rule pack beside the library it loaded; then the same with
# libvigie.so removed (a static-only install) and `pkg-config --static`. The public headers
# also compile alone as strict C11 and as C++.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$(dirname "$VIGIE")" && pwd)
cd "$ROOT"
CC=${CC:-cc}
cache() { sed -nE "s/^$1:[A-Z]+=(.*)$/\1/p" "$BUILD/CMakeCache.txt"; }
PREFIX=$(cache CMAKE_INSTALL_PREFIX)
check "the build has an install prefix" [ -n "$PREFIX" ]
# a sanitized library needs the sanitizer runtime in every program that links it
SAN=()
[ "$(cache VIGIE_SANITIZE)" = ON ] && SAN=(-fsanitize=address,undefined)

R=$T/root
DESTDIR=$R cmake --install "$BUILD" >"$T/install.log" 2>&1
rc=$?
check "cmake --install into DESTDIR (rc=$rc; $(tail -1 "$T/install.log"))" [ "$rc" = 0 ]
P=$R$PREFIX
pc=$(find "$P" -name vigie.pc -path '*/pkgconfig/*' | head -1)
check "pkgconfig/vigie.pc installed" [ -n "$pc" ]
LIBDIR=$(dirname "$(dirname "$pc")")
for f in include/vigie/vigie.h include/vigie/engine.h bin/vigie share/vigie/rules; do
  check "installed: $f" [ -e "$P/$f" ]
done
for f in libvigie.a libvigie.so; do check "installed: $f" [ -e "$LIBDIR/$f" ]; done
n_src=$(find rules -name '*.yml' | wc -l)
n_inst=$(find "$P/share/vigie/rules" -name '*.yml' | wc -l)
check "the whole pack is installed ($n_inst of $n_src rule files)" [ "$n_src" = "$n_inst" ] && [ "$n_src" -gt 0 ]
soname=$(readelf -d "$LIBDIR/libvigie.so" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
check "libvigie.so has a soname ($soname) and it is installed" [ -n "$soname" ] && [ -e "$LIBDIR/$soname" ]
grep -q 'Requires.private:.*libhs' "$pc"
check "vigie.pc names the static dependencies (Requires.private)" [ $? = 0 ]
check "no internal header installed" [ -z "$(find "$P/include" -name '*_int.h' -o -name 'util.h')" ]

export PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$R
flags=$(pkg-config --cflags --libs vigie)
rc=$?
check "pkg-config --cflags --libs vigie (rc=$rc)" [ "$rc" = 0 ]
case " $flags " in
  *" -I$P/include "*) ok ;;
  *) bad "pkg-config's include path is not the installed tree's: $flags" ;;
esac
case " $flags " in *"$ROOT/src"*) bad "pkg-config points into the source tree: $flags" ;; *) ok ;; esac

# records with a known answer: a consumer-token mail read (the pack's rule a095b800 and the
# test rule below), a read with the enterprise token (nothing), a bad record (line 3)
cat >"$T/in.ndjson" <<'EOF'
{"CreationTime":"2023-06-07T01:33:15","Id":"r1","Operation":"MailItemsAccessed","OrganizationId":"tenant-a","RecordType":50,"UserId":"alice@a.example","Workload":"Exchange","TokenTenantId":"9188040d-6c67-4c5b-b112-36a304b66dad"}
{"CreationTime":"2023-06-07T01:33:16","Id":"r2","Operation":"MailItemsAccessed","OrganizationId":"tenant-a","RecordType":50,"UserId":"alice@a.example","Workload":"Exchange","TokenTenantId":"tenant-a"}
{"CreationTime":
EOF
RULE=rules/m365/m365_mail_access_consumer_token_tenant.yml
EXPECT='{"rule":{"id":"a095b800-75d6-4f0f-a220-a9c45340c050","title":"Mailbox Read With a Consumer-Tenant Token","level":"high"},"kind":"sigma","tenant":"tenant-a","source":{"file":"-","line":1,"index":0,"offset":0},"shape":"m365_ual"}'
# a rule only the installed pack has: proves which pack --pack found
cat >"$P/share/vigie/rules/zz_install_marker.yml" <<'EOF'
title: Install Marker
id: 00000000-0000-4000-8000-0000000000aa
logsource: {product: m365}
detection:
  sel: {Id: r2}
  condition: sel
level: low
EOF
off2=$(head -1 "$T/in.ndjson" | wc -c)
MARK='{"rule":{"id":"00000000-0000-4000-8000-0000000000aa","title":"Install Marker","level":"low"},"kind":"sigma","tenant":"tenant-a","source":{"file":"-","line":2,"index":1,"offset":'$off2'},"shape":"m365_ual"}'

# head_of FILE: each alert line's head, as the known answers above write it (the full line
# also has the id, the rule's tags, the time, the record's sha256 and the event)
head_of() {
  python3 -c 'import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l); s = a["source"]
    print(json.dumps({"rule": {k: a["rule"][k] for k in ("id", "title", "level")}, "kind": a["kind"],
        "tenant": a["tenant"], "source": {k: s[k] for k in ("file", "line", "index", "offset")},
        "shape": a["shape"]}, separators=(",", ":")))' "$1"
}

# run_example NAME ARGS...: runs $T/NAME on in.ndjson; checks exit 1 (the bad record), the
# bad record's diagnostic, and leaves stdout in $T/NAME.out
run_example() {
  local name=$1; shift
  "$T/$name" "$@" <"$T/in.ndjson" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  check "$name $*: exit 1 for the bad record (rc=$rc; $(head -c 300 "$T/$name.err"))" [ "$rc" = 1 ]
  grep -qE '^vigie: error: (-|stdin):3: record 3 skipped' "$T/$name.err"
  check "$name: the bad record is reported with its position" [ $? = 0 ]
}

# --- shared ---
$CC -o "$T/vm" examples/vigie-match.c "${SAN[@]}" $(pkg-config --cflags --libs vigie) 2>"$T/cc.err"
rc=$?
check "cc examples/vigie-match.c \$(pkg-config --cflags --libs vigie) (rc=$rc; $(head -c 400 "$T/cc.err"))" [ "$rc" = 0 ]
readelf -d "$T/vm" 2>/dev/null | grep -q "NEEDED.*\[$soname\]"
check "the example needs $soname" [ $? = 0 ]
export LD_LIBRARY_PATH=$LIBDIR
unset VIGIE_RULES
run_example vm "$RULE"
check "shared: one line per match, as expected ($(head -c 300 "$T/vm.out"))" [ "$(head_of "$T/vm.out")" = "$EXPECT" ]
run_example vm --pack
head_of "$T/vm.out" >"$T/vm.head"
grep -qxF "$EXPECT" "$T/vm.head" && grep -qxF "$MARK" "$T/vm.head"
check "shared: --pack finds the pack installed beside libvigie.so ($(head -c 400 "$T/vm.out"))" [ $? = 0 ]
# the complete program of docs/API.md, as printed there
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' docs/API.md >"$T/doc.c"
$CC -o "$T/doc" "$T/doc.c" "${SAN[@]}" $(pkg-config --cflags --libs vigie) 2>"$T/cc.err"
rc=$?
check "docs/API.md's program builds against the tree (rc=$rc; $(head -c 400 "$T/cc.err"))" [ "$rc" = 0 ]
run_example doc "$RULE"
check "docs/API.md's program: one alert line per match ($(head -c 300 "$T/doc.out"))" \
  [ "$(head_of "$T/doc.out")" = "${EXPECT/\"file\":\"-\"/\"file\":\"stdin\"}" ]

# vigie-match against `vigie scan` on real files: the sigma (and undetermined) lines are
# byte-identical and in the same order, when --name names stdin as scan names its file; with
# --candidates, scan's sigma and new_term lines are the ones vigie-match prints, in order, less
# the candidates scan dropped (their term was not new). A simulated scenario's audit logs
# with vigie's rules, and a shared CloudTrail dataset with SigmaHQ's cloud rules.
# same_as_scan LABEL FILE RULES: compares; leaves the counts of sigma lines in $n_sigma
same_as_scan() {
  local label=$1 f=$2 rules=$3
  "$VIGIE" scan -r "$rules" --no-combined "$f" -o "$T/scan.jsonl" 2>"$T/scan.err"
  local rc=$?
  check "$label: vigie scan ran (rc=$rc; $(head -c 300 "$T/scan.err"))" [ "$rc" = 0 ]
  grep -E '"kind":"(sigma|undetermined)"' "$T/scan.jsonl" >"$T/scan.sigma"
  n_sigma=$(wc -l <"$T/scan.sigma")
  "$T/vm" --name "$f" "$rules" <"$f" >"$T/vm.jsonl" 2>"$T/vm.err"
  rc=$?
  check "$label: vigie-match ran (rc=$rc; $(head -c 300 "$T/vm.err"))" [ "$rc" = 0 ]
  cmp -s "$T/scan.sigma" "$T/vm.jsonl"
  rc=$?
  check "$label: vigie-match's lines are vigie scan's sigma lines, byte for byte ($n_sigma; first difference: $(diff "$T/scan.sigma" "$T/vm.jsonl" | head -3 | cut -c1-300))" [ "$rc" = 0 ]
  "$T/vm" --name "$f" --candidates "$rules" <"$f" >"$T/vmc.jsonl" 2>"$T/vm.err"
  grep -E '"kind":"(sigma|undetermined|new_term)"' "$T/scan.jsonl" >"$T/scan.nt"
  python3 -c 'import sys
want = open(sys.argv[1]).read().splitlines(); got = open(sys.argv[2]).read().splitlines()
i = 0
for l in got:
    if i < len(want) and l == want[i]: i += 1
sys.exit(0 if i == len(want) else 1)' "$T/scan.nt" "$T/vmc.jsonl"
  rc=$?
  check "$label: --candidates: scan's sigma and new_term lines are among vigie-match's, in order" [ "$rc" = 0 ]
}
"$VIGIE_SIM" simulate --orgs 10 --days 14 --victims 3 --seed 5 -o "$T/sim" >/dev/null 2>&1
rc=$?
check "vigie-sim simulate (rc=$rc)" [ "$rc" = 0 ]
total=0
for f in "$T/sim/org01.example/audit-management-api.ndjson" "$T/sim/org03.example/sentinel-officeactivity.ndjson"; do
  same_as_scan "scenario $(basename "$(dirname "$f")")" "$f" rules
  total=$((total + n_sigma))
done
# the same records with CRLF ends, a blank line, a line of blanks and an indented record:
# positions and hashes as scan reads them
f=$T/sim/org03.example/sentinel-officeactivity.ndjson
{ head -5 "$f"; echo; echo "   "; sed -n 6p "$f" | sed 's/^/  /'; sed -n '7,$p' "$f"; } | sed 's/$/\r/' >"$T/crlf.ndjson"
same_as_scan "CRLF, blank lines, indented records" "$T/crlf.ndjson" rules
total=$((total + n_sigma))
check "the scenario's files raise sigma alerts to compare ($total)" [ "$total" -gt 10 ]
need_shared datasets/panther-analysis-tests/AWS_CloudTrail/events.jsonl
need_shared sigma/rules/cloud
same_as_scan "SigmaHQ cloud rules on CloudTrail" "$SHARED/datasets/panther-analysis-tests/AWS_CloudTrail/events.jsonl" "$SHARED/sigma/rules/cloud"
check "the CloudTrail dataset raises sigma alerts to compare ($n_sigma)" [ "$n_sigma" -gt 100 ]
unset LD_LIBRARY_PATH

# --- static: libvigie.so removed, pkg-config --static ---
rm -f "$LIBDIR"/libvigie.so*
$CC -o "$T/vms" examples/vigie-match.c "${SAN[@]}" $(pkg-config --static --cflags --libs vigie) 2>"$T/cc.err"
rc=$?
check "cc examples/vigie-match.c \$(pkg-config --static --cflags --libs vigie) (rc=$rc; $(head -c 400 "$T/cc.err"))" [ "$rc" = 0 ]
readelf -d "$T/vms" 2>/dev/null | grep -q 'NEEDED.*libvigie'
check "the static example needs no libvigie.so" [ $? != 0 ]
run_example vms "$RULE"
check "static: same output ($(head -c 300 "$T/vms.out"))" [ "$(head_of "$T/vms.out")" = "$EXPECT" ]
VIGIE_RULES=$P/share/vigie/rules run_example vms --pack
head_of "$T/vms.out" | grep -qxF "$MARK"
check "static: --pack through \$VIGIE_RULES" [ $? = 0 ]

# --- the headers alone: strict C11 and C++ ---
printf '#include <vigie/vigie.h>\nint main(void) { return vigie_status_name(0) == 0; }\n' >"$T/h.c"
$CC -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$P/include" "$T/h.c" 2>"$T/h.err"
check "public headers: strict C11 ($(head -c 300 "$T/h.err"))" [ $? = 0 ]
if command -v c++ >/dev/null; then
  c++ -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I"$P/include" "$T/h.c" 2>"$T/h.err"
  check "public headers: C++ ($(head -c 300 "$T/h.err"))" [ $? = 0 ]
fi
finish
