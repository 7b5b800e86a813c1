#!/usr/bin/env bash
# Dependencies point one way, down the pipeline: a stage may include only its own headers
# and those of the stages below it. Also: file base names are unique across src/.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
declare -A allowed=(
  [util]="util"
  [json]="util json"
  [rule]="util rule"
  [ingest]="util json ingest"
  [token]="util json token"
  [compile]="util json rule ingest compile"
  [match]="util json rule ingest compile match"
  [correlate]="util json rule ingest compile match correlate"
  [store]="util json rule ingest compile match correlate store"
  [report]="util json rule ingest compile match correlate store report"
  [cli]="util json rule ingest token compile match correlate store report cli"
)
for dir in src/*/; do
  stage=$(basename "$dir")
  if [ -z "${allowed[$stage]+x}" ]; then bad "unknown stage folder $dir"; continue; fi
  for f in "$dir"*.[ch]; do
    [ -e "$f" ] || continue
    while IFS= read -r inc; do
      dep=${inc%%/*}
      case " vigie ${allowed[$stage]} " in
        *" $dep "*) ok ;;
        *) bad "$f includes \"$inc\": $stage may not depend on $dep" ;;
      esac
    done < <(grep -hoE '^#include "[a-z_]+/[a-z_]+\.h"' "$f" | sed -E 's/#include "(.*)"/\1/')
  done
done
dups=$(find src include -name '*.[ch]' -printf '%f\n' | sort | uniq -d)
check "unique file base names under src/ and include/ (dups: $dups)" [ -z "$dups" ]
finish
