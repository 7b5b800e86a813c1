#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Rewrite tests/data/golden/file_mode.txt from the build of one commit:
#   tests/tools/golden_update.sh [--shared DIR] [REV]     (REV: default HEAD)
# REV is checked out in a temporary git worktree and built there with its own build
# directory (nothing of the current tree's build is reused); the cases are those of the
# CURRENT tree's tests/tools/golden_cases.sh (the same list the test runs), run with REV's
# binary and REV's rule pack. Only committed state is built: uncommitted edits do not count.
# The commit that changes the reference must say why the output changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
SHARED=${VIGIE_SHARED_DIR:-$ROOT/../shared}
REV=HEAD
while [ $# -gt 0 ]; do
  case $1 in
  --shared) SHARED=$2; shift 2 ;;
  -h | --help) sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "golden_update: unknown option $1" >&2; exit 2 ;;
  *) REV=$1; shift ;;
  esac
done
sha=$(git -C "$ROOT" rev-parse --verify "$REV^{commit}")
subject=$(git -C "$ROOT" log -1 --format=%s "$sha")
# shellcheck source=golden_cases.sh
source "$here/golden_cases.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigie-golden.XXXXXX")
cleanup() {
  git -C "$ROOT" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
git -C "$ROOT" worktree add --detach "$tmp/src" "$sha" >/dev/null 2>&1
echo "golden_update: building ${sha:0:12} ($subject) in $tmp/build" >&2
cmake -S "$tmp/src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIE_BENCH=OFF >"$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log" >&2; exit 1; }
# shellcheck disable=SC2086
nice cmake --build "$tmp/build" -j "${JOBS:-2}" --target $GOLDEN_BUILD_TARGETS >"$tmp/build.log" 2>&1 ||
  { tail -40 "$tmp/build.log" >&2; exit 1; }

echo "golden_update: running the cases" >&2
golden_run "$tmp/build/vigie" "$SHARED" "$tmp/out" >"$tmp/digest.txt" ||
  { echo "golden_update: a case did not run; outputs were in $tmp/out" >&2; exit 1; }
ref="$ROOT/tests/data/golden/file_mode.txt"
mkdir -p "$(dirname "$ref")"
{
  echo "# vigie file-mode reference: written by tests/tools/golden_update.sh, checked by"
  echo "# tests/cli/test_file_mode_golden.sh (cases: tests/tools/golden_cases.sh). Do not edit by"
  echo "# hand; a commit that changes this file says why the output changed."
  echo "format $GOLDEN_FORMAT"
  echo "built-from $sha $subject"
  cat "$tmp/digest.txt"
} >"$tmp/file_mode.txt"
if [ -f "$ref" ]; then
  if golden_compare "$ref" "$tmp/file_mode.txt" >&2; then
    echo "golden_update: no case changed" >&2
  fi
fi
mv "$tmp/file_mode.txt" "$ref"
echo "golden_update: wrote $ref (from ${sha:0:12}); commit it with the reason for every change" >&2
