#!/usr/bin/env bash
# libvigie.so exports the public API and nothing else: every dynamic symbol it defines starts
# with vigie_ (the library is built with -fvisibility=hidden; VIGIE_API marks what is public),
# and every function include/vigie/*.h declares is exported (a public function that lacks
# VIGIE_API would link against libvigie.a but not against libvigie.so). Its soname is
# libvigie.so.<major>.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$(dirname "$VIGIE")" && pwd)
cd "$ROOT"
SO=$BUILD/libvigie.so
check "libvigie.so is built beside libvigie.a" [ -e "$SO" ] && [ -e "$BUILD/libvigie.a" ]

nm -D --defined-only "$SO" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u >"$T/exported"
n=$(wc -l <"$T/exported")
check "libvigie.so exports symbols ($n)" [ "$n" -gt 0 ]
others=$(grep -v '^vigie_' "$T/exported" | head -10 | tr '\n' ' ')
check "every exported symbol starts with vigie_ (others: $others)" [ -z "$others" ]

# the functions the public headers declare, comments and macros stripped by the preprocessor
${CC:-cc} -E -P -I include include/vigie/vigie.h 2>/dev/null |
  grep -oE '\bvigie_[a-z0-9_]+[[:space:]]*\(' | sed -E 's/[[:space:]]*\($//' | sort -u >"$T/declared"
n=$(wc -l <"$T/declared")
check "the public headers declare functions ($n)" [ "$n" -gt 10 ]
missing=$(comm -23 "$T/declared" "$T/exported" | head -10 | tr '\n' ' ')
check "every declared function is exported (missing: $missing)" [ -z "$missing" ]
undeclared=$(comm -13 "$T/declared" "$T/exported" | head -10 | tr '\n' ' ')
check "every exported function is declared in include/vigie (undeclared: $undeclared)" [ -z "$undeclared" ]

soname=$(readelf -d "$SO" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
grep -qxE 'libvigie\.so\.[0-9]+' <<<"$soname"
check "soname libvigie.so.N ($soname)" [ $? = 0 ]
finish
