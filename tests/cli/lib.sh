# Shared helpers for tests/cli/*.sh. Each test script: bash test_x.sh VIGIE SHARED_DIR
# The test tooling (scenario generator, scorer) is $VIGIE_SIM: ctest sets it; by hand it
# defaults to vigie-sim beside VIGIE (both are in the build tree).
set -uo pipefail
VIGIE=${1:?vigie binary}
VIGIE_SIM=${VIGIE_SIM:-$(dirname "$VIGIE")/vigie-sim}
SHARED=${2:-../shared}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { # check "description" command...
  local d=$1; shift
  if "$@"; then ok; else bad "$d"; fi
}
# json_get FILE KEY -> value of a top-level key of a one-object JSON file
json_get() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); k=sys.argv[2].split("."); 
for p in k: v=v.get(p,0) if isinstance(v,dict) else 0
print(v)' "$1" "$2"; }
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
# need_shared REL: the shared data beside the project is required, never optional: when
# $SHARED/REL is missing the test fails at once with one clear line (no skip).
need_shared() {
  [ -e "$SHARED/$1" ] && return 0
  echo "FAIL: $SHARED/$1 not found (tests need the shared data beside the project)" >&2
  exit 1
}
