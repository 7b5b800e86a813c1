# SPDX-License-Identifier: Apache-2.0
# The file-mode golden cases: one list, sourced by tests/cli/test_file_mode_golden.sh (which
# compares against tests/data/golden/file_mode.txt) and by tests/tools/golden_update.sh (which
# rewrites that file from the build of a given commit), so the two cannot drift apart.
#
# Invariants:
# - every case runs `vigie scan` from a fixed directory with relative input paths, so alert
#   ids and source.file are the same on every machine and nothing needs rewriting;
# - what a case records is deterministic: the exact bytes of every -o line in order, the
#   campaigns file, the store's alert and campaign ids (sorted), the summary with its timing
#   fields removed (elapsed_s, events_per_s, mb_per_s, rule_load_s, peak_rss_kb), the exit
#   code, and a hash of the inputs (so a changed dataset or generator reads as "inputs
#   changed", not as a behaviour change);
# - nothing from ../shared is copied into the reference: only hashes and counts;
# - ../shared missing is an error (exit 2 with a message), never a skip.
#
# Usage (after sourcing): golden_run VIGIE SHARED OUTDIR >DIGEST; golden_compare REF DIGEST.

# shellcheck disable=SC2034 # both read by the scripts that source this one
GOLDEN_FORMAT=1
# what golden_update.sh builds in the revision's tree; GOLDEN_SIM_TARGET too when the
# revision has it (tools/sim; older revisions generate with `vigie simulate`)
GOLDEN_BUILD_TARGETS="vigie"
GOLDEN_SIM_TARGET="vigie-sim"

golden__env() {
  export LC_ALL=C TZ=UTC
  unset VIGIE_RULES VIGIE_LEDGER
}

# golden_sim DIR ARGS...: write a simulated scenario into DIR (relative to the cwd), with
# $GOLDEN_SIM when set (a whole command, e.g. "/path/vigie-sim simulate"); else with
# `vigie-sim simulate` when vigie-sim is beside the vigie under test (the generator is test
# tooling since tools/sim); else with `vigie simulate`, so that an older revision built by
# golden_update.sh still gives a reference with its own generator.
golden_sim() {
  local dir=$1 sim
  shift
  sim="$(dirname "$GOLDEN_VIGIE")/$GOLDEN_SIM_TARGET"
  if [ -n "${GOLDEN_SIM:-}" ]; then
    $GOLDEN_SIM "$@" -o "$dir"
  elif [ -x "$sim" ]; then
    "$sim" simulate "$@" -o "$dir"
  else
    "$GOLDEN_VIGIE" simulate "$@" -o "$dir"
  fi
}

# golden__files DIR FIND-ARGS...: files under DIR (relative to the cwd), sorted bytewise;
# fails when none is found (a dataset missing is an error, not an empty case)
golden__files() {
  local dir=$1
  shift
  if [ ! -d "$dir" ]; then
    echo "golden: error: $(pwd)/$dir: not found (the shared datasets are needed)" >&2
    return 2
  fi
  local list
  list=$(find -L "$dir" -type f "$@" | LC_ALL=C sort)
  if [ -z "$list" ]; then
    echo "golden: error: $(pwd)/$dir: no input file matches ($*)" >&2
    return 2
  fi
  printf '%s\n' "$list"
}

# golden__scan NAME CWD OPTION... -- INPUT...: run one case; outputs in $GOLDEN_OUT/NAME/.
# Options "+csv" / "+table" make a format-only case: -o in that format, no store/campaigns.
golden__scan() {
  local name=$1 cwd=$2
  shift 2
  local o="$GOLDEN_OUT/$name" opts=() inputs=() fmt=jsonl rc
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case $1 in
    +csv | +table) fmt=${1#+} ;;
    *) opts+=("$1") ;;
    esac
    shift
  done
  shift
  inputs=("$@")
  mkdir -p "$o"
  printf '%s\n' "$cwd" >"$o/cwd"
  printf '%s\n' "${opts[*]} +$fmt" >"$o/args"
  printf '%s\n' "${inputs[@]}" >"$o/inputs"
  (
    cd "$cwd" || exit 2
    # inputs: name and bytes of every file, in order (directories walked, sorted)
    find -L "${inputs[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >"$o/inputs.sha256"
    if [ "$fmt" = jsonl ]; then
      local sinks=(--campaigns "$o/campaigns.jsonl" --db "$o/store.db")
      case " ${opts[*]} " in *" --no-combined "*) sinks=() ;; esac # both need combined alerts
      "$GOLDEN_VIGIE" scan -q --no-progress -o "$o/alerts.out" "${sinks[@]}" \
        --summary-json "$o/summary.json" "${opts[@]}" "${inputs[@]}" \
        2>"$o/stderr" && rc=0 || rc=$?
    else
      "$GOLDEN_VIGIE" scan -q --no-progress --format "$fmt" -o "$o/alerts.out" \
        "${opts[@]}" "${inputs[@]}" 2>"$o/stderr" && rc=0 || rc=$?
    fi
    echo "$rc" >"$o/rc"
  )
  printf '%s\n' "$name" >>"$GOLDEN_OUT/cases"
}

# The cases. Each scans with -j 2 unless it says otherwise; the *-j1 twins must give the same
# alerts, campaigns and store ids as their -j 2 case (checked by the test).
golden__cases() {
  local S=$GOLDEN_SHARED D="$GOLDEN_SHARED/datasets" sim="$GOLDEN_OUT/sim"
  local sigma=(-r sigma/rules)
  # (a) the demo scenario (make demo's: 25 organizations, 14 days, 5 victims, with the
  # scenario's JWKS so token checks run), then smaller ones on other seeds
  mkdir -p "$sim"
  (cd "$sim" && golden_sim s1 --orgs 25 --days 14 --victims 5 --seed 1 >/dev/null 2>&1) || return 2
  (cd "$sim" && golden_sim s2 --orgs 10 --days 7 --victims 3 --seed 2 >/dev/null 2>&1) || return 2
  (cd "$sim" && golden_sim s3 --orgs 8 --days 10 --victims 2 --seed 3 >/dev/null 2>&1) || return 2
  local jwks=(--jwks "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0=s1/keys/consumer-jwks.json"
    --jwks "https://login.microsoftonline.com/*/v2.0=s1/keys/enterprise-jwks.json")
  golden__scan demo-s1 "$sim" -j 2 "${jwks[@]}" -- s1
  golden__scan demo-s1-j1 "$sim" -j 1 "${jwks[@]}" -- s1
  golden__scan demo-s1-csv "$sim" -j 2 +csv "${jwks[@]}" -- s1
  golden__scan demo-s1-table "$sim" -j 2 +table "${jwks[@]}" -- s1
  golden__scan demo-s1-nocombined "$sim" -j 2 --no-combined -- s1
  golden__scan demo-s2 "$sim" -j 2 -- s2
  golden__scan demo-s3 "$sim" -j 2 -- s3
  # the sample logs shipped in the repository (four formats), as `make demo` scans them
  golden__scan bundled-demo "$GOLDEN_ROOT" -j 2 -- tests/data/demo

  # (b) the shared datasets, by family, with vigie's pack and with SigmaHQ's rules
  if [ ! -d "$D" ] || [ ! -d "$S/sigma/rules" ]; then
    echo "golden: error: $S: no datasets/ or sigma/rules/ there; the file-mode comparison needs ../shared" >&2
    return 2
  fi
  local m365 cloud winreg winotrf
  # M365 / Entra / Azure: Management API records, Entra envelopes, Sentinel CSV exports
  m365=$(cd "$S" && {
    golden__files datasets/panther-analysis-tests -path '*Microsoft365_*' -name events.jsonl &&
      golden__files datasets/panther-analysis-tests -path '*Azure_*' -name events.jsonl &&
      golden__files datasets/panther-analysis-tests -path '*MicrosoftGraph_*' -name events.jsonl &&
      golden__files datasets/panther-analysis-tests -path '*MicrosoftDefenderXDR_*' -name events.jsonl &&
      golden__files datasets/panther-analysis-tests -path '*MicrosoftIntune_*' -name events.jsonl &&
      golden__files datasets/azure-sentinel-training-lab -name '*.csv' ! -name MANIFEST.csv &&
      golden__files datasets/azure-sentinel-notebooks -name '*.csv' ! -name MANIFEST.csv
  }) || return 2
  # CloudTrail (JSON lines, arrays, S3 Records), GCP audit, Okta, Azure Activity `value`
  cloud=$(cd "$S" && {
    golden__files datasets/panther-analysis-tests -path '*AWS_CloudTrail*' -name events.jsonl &&
      golden__files datasets/panther-analysis-tests -path '*GCP_AuditLog*' -name events.jsonl &&
      golden__files datasets/panther-analysis-tests -path '*Okta_SystemLog*' -name events.jsonl &&
      golden__files datasets/stratus-red-team-detonations -name '*.json' &&
      golden__files datasets/suzaku-test-files -name '*.json' &&
      golden__files datasets/otrf-security-datasets/datasets/atomic/aws \( -name '*.json' -o -name '*.csv' \)
  }) || return 2
  # Windows event JSON: SigmaHQ's regression renderings; OTRF's Sysmon/Security JSON lines
  # and Panther's Windows events
  winreg=$(cd "$S" && golden__files datasets/sigmahq-regression -name '*.json') || return 2
  winotrf=$(cd "$S" && {
    golden__files datasets/otrf-security-datasets/datasets/atomic/windows -name '*.json' &&
      golden__files datasets/otrf-security-datasets/datasets/compound -name '*.json' &&
      golden__files datasets/panther-analysis-tests -path '*Windows_EventLogs*' -name events.jsonl
  }) || return 2
  mapfile -t m365 <<<"$m365"
  mapfile -t cloud <<<"$cloud"
  mapfile -t winreg <<<"$winreg"
  mapfile -t winotrf <<<"$winotrf"
  golden__scan pack-m365-entra "$S" -j 2 -- "${m365[@]}"
  golden__scan pack-cloud "$S" -j 2 -- "${cloud[@]}"
  golden__scan pack-windows "$S" -j 2 -- "${winreg[@]}" "${winotrf[@]}"
  golden__scan sigma-m365-entra "$S" -j 2 "${sigma[@]}" -- "${m365[@]}"
  golden__scan sigma-cloud "$S" -j 2 "${sigma[@]}" -- "${cloud[@]}"
  golden__scan sigma-cloud-j1 "$S" -j 1 "${sigma[@]}" -- "${cloud[@]}"
  golden__scan sigma-cloud-logsource-all "$S" -j 2 --logsource=all "${sigma[@]}" -- "${cloud[@]}"
  golden__scan sigma-windows-regression "$S" -j 2 "${sigma[@]}" -r sigma/rules-emerging-threats \
    -r sigma/rules-threat-hunting -- "${winreg[@]}"
  golden__scan sigma-windows-otrf "$S" -j 2 -r sigma/rules/windows -r sigma/rules-emerging-threats \
    -- "${winotrf[@]}"
}

# golden__digest: one block per case, on stdout (the reference file's body)
golden__digest() {
  python3 - "$GOLDEN_OUT" <<'PY'
import collections, hashlib, json, os, sqlite3, sys

out = sys.argv[1]
TIMING = {"elapsed_s", "events_per_s", "mb_per_s", "rule_load_s", "peak_rss_kb"}

def sha(b):
    return hashlib.sha256(b).hexdigest()

def read(p):
    if not os.path.exists(p):
        sys.exit("golden: error: %s: not written (see %s)" % (p, os.path.join(os.path.dirname(p), "stderr")))
    with open(p, "rb") as f:
        return f.read()

for name in read(os.path.join(out, "cases")).decode().split():
    d = os.path.join(out, name)
    txt = lambda f: read(os.path.join(d, f)).decode().strip()
    print("case " + name)
    print("  run cd %s; vigie scan %s" % (
        "<shared>" if txt("cwd") == os.environ["GOLDEN_SHARED"] else
        "<repo>" if txt("cwd") == os.environ["GOLDEN_ROOT"] else "<scenarios>", txt("args")))
    print("  exit %s" % txt("rc"))
    inp = read(os.path.join(d, "inputs.sha256"))
    nbytes = sum(os.path.getsize(os.path.join(txt("cwd"), l.split(b"  ", 1)[1].decode()))
                 for l in inp.splitlines())
    print("  inputs %s files=%d bytes=%d" % (sha(inp), len(inp.splitlines()), nbytes))
    alerts = read(os.path.join(d, "alerts.out"))
    print("  alerts %s lines=%d" % (sha(alerts), alerts.count(b"\n")))
    if not os.path.exists(os.path.join(d, "summary.json")):
        continue  # a format-only case (csv, table)
    if os.path.exists(os.path.join(d, "store.db")):
        camp = read(os.path.join(d, "campaigns.jsonl"))
        print("  campaigns %s lines=%d" % (sha(camp), camp.count(b"\n")))
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "store.db"), uri=True)
        for table in ("alerts", "campaigns"):
            ids = [r[0] for r in db.execute("SELECT id FROM %s ORDER BY id" % table)]
            print("  store.%s %s ids=%d" % (table, sha("".join(i + "\n" for i in ids).encode()),
                                            len(ids)))
        db.close()
    else:  # --no-combined: no campaigns, no store (both need combined alerts)
        print("  campaigns - store -")
    s = json.loads(read(os.path.join(d, "summary.json")))
    for k in TIMING:
        s.pop(k, None)
    norm = json.dumps(s, sort_keys=True, separators=(",", ":")).encode()
    keys = ("events", "files", "unreadable_files", "bad_records", "alerts", "combined_alerts",
            "campaigns", "gaps", "rules_loaded", "rules_skipped")
    print("  summary %s %s" % (sha(norm), " ".join("%s=%s" % (k, s.get(k)) for k in keys)))
    kinds, shapes, first = collections.Counter(), collections.Counter(), "-"
    for line in alerts.splitlines():
        a = json.loads(line)
        if first == "-":
            first = a.get("id", "-")
        lvl = (a.get("rule") or {}).get("level") or a.get("level") or a.get("gap") or "-"
        kinds["%s/%s" % (a.get("kind", "-"), lvl)] += 1
        if "shape" in a:
            shapes[a["shape"]] += 1
    print("  first_id %s" % first)
    print("  kinds " + (" ".join("%s=%d" % kv for kv in sorted(kinds.items())) or "-"))
    print("  shapes " + (" ".join("%s=%d" % kv for kv in sorted(shapes.items())) or "-"))
PY
}

# golden_run VIGIE SHARED OUTDIR: run every case, print the digest; exit 2 on a setup error
golden_run() {
  golden__env
  GOLDEN_VIGIE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  if [ ! -d "$2" ]; then
    echo "golden: error: $2: the shared directory (datasets, SigmaHQ rules) is missing; the file-mode comparison cannot run without it" >&2
    return 2
  fi
  GOLDEN_SHARED=$(cd "$2" && pwd)
  GOLDEN_OUT=$3
  GOLDEN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  export GOLDEN_SHARED GOLDEN_ROOT
  mkdir -p "$GOLDEN_OUT"
  : >"$GOLDEN_OUT/cases"
  golden__cases || return 2
  golden__digest
}

# golden_compare REF NEW: 0 when every case of REF is in NEW unchanged; otherwise say, per
# case, which records changed (before -> after), and the per-kind count differences
golden_compare() {
  python3 - "$1" "$2" <<'PY'
import sys

def load(p):
    cases, cur = {}, None
    for line in open(p):
        line = line.rstrip("\n")
        if line.startswith("case "):
            cur = line[5:]
            cases[cur] = {}
        elif cur and line.startswith("  "):
            k, _, v = line[2:].partition(" ")
            cases[cur][k] = v
    return cases

ref, new = load(sys.argv[1]), load(sys.argv[2])
bad = 0
for name in ref:
    if name not in new:
        print("golden: case %s: in the reference, not run now" % name)
        bad += 1
        continue
    r, n = ref[name], new[name]
    diff = [k for k in list(r) + [k for k in n if k not in r] if r.get(k) != n.get(k)]
    if not diff:
        continue
    bad += 1
    print("golden: case %s changed (%s):" % (name, n.get("run", r.get("run"))))
    for k in diff:
        if k in ("kinds", "shapes"):
            rc = dict(x.split("=") for x in r.get(k, "-").split() if "=" in x)
            nc = dict(x.split("=") for x in n.get(k, "-").split() if "=" in x)
            ch = ["%s %s -> %s" % (c, rc.get(c, "0"), nc.get(c, "0"))
                  for c in sorted(set(rc) | set(nc)) if rc.get(c) != nc.get(c)]
            print("    %-16s %s" % (k, ", ".join(ch)))
        else:
            print("    %-16s before: %s" % (k, r.get(k, "(none)")))
            print("    %-16s after:  %s" % ("", n.get(k, "(none)")))
for name in new:
    if name not in ref:
        print("golden: case %s: new, not in the reference (regenerate it with tests/tools/golden_update.sh)" % name)
        bad += 1
sys.exit(1 if bad else 0)
PY
}
