#!/usr/bin/env bash
# Dependencies point one way, down the pipeline, and are stated once: the dep_<stage> lists
# of CMakeLists.txt (docs/ARCHITECTURE.md shows the same graph). Checked on src/:
#  1. a vigie include names its stage folder ("stage/file.h", quoted or angled, rooted at
#     src/) or "vigie/..." or a header of the file's own folder; never "../";
#  2. a file of stage X includes headers only of X and of the stages in dep_X (the command,
#     src/cli, links the whole library and may include every stage);
#  3. no file includes another folder's internal header (*_int.h);
#  4. every stage in dep_X is included by some file of X: CMake states no stale dependency;
#  5. the linker agrees: a symbol that libvg_X.a needs and another stage library defines
#     comes from a stage in dep_X;
#  6. file base names are unique across src/, include/ and tools/;
#  7. the test tooling (tools/sim, vigie-sim) sits beside the product, not in it: its files
#     include only the stages of its own dep_sim list (tools/sim/CMakeLists.txt), never an
#     *_int.h, each listed stage is used, and its objects take symbols only from those stage
#     libraries; nothing in src/ includes tools/, and the vigie binary holds none of its code.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$(dirname "$VIGIE")" && pwd)
cd "$ROOT"

# The allowed graph, from CMakeLists.txt only.
stages=$(sed -nE 's/^set\(VIGIE_STAGES ([a-z ]+)\)$/\1/p' CMakeLists.txt)
check "CMakeLists.txt lists VIGIE_STAGES" [ -n "$stages" ]
declare -A allowed=()
for s in $stages; do
  line=$(grep -E "^set\(dep_$s( |\))" CMakeLists.txt)
  if [ -z "$line" ]; then bad "CMakeLists.txt has no set(dep_$s ...)"; continue; fi
  allowed[$s]=$(grep -oE '\bvg_[a-z]+\b' <<<"$line" | sed 's/^vg_//' | tr '\n' ' ')
done
allowed[cli]=$stages

declare -A used=() # used[X] = the stages X's files include (not X itself)
for dir in src/*/; do
  stage=$(basename "$dir")
  if [ -z "${allowed[$stage]+x}" ]; then bad "unknown stage folder $dir (not in VIGIE_STAGES)"; continue; fi
  for f in "$dir"*.[ch]; do
    [ -e "$f" ] || continue
    while read -r delim inc; do
      case $inc in
        ../* | */../*) bad "$f includes \"$inc\": includes are rooted at src/, not relative"; continue ;;
        vigie/*) ok; continue ;;
        */*) ;;
        *) # bare: "x.h" is a header of the file's own folder, <x.h> a system header
          if [ "$delim" = '"' ]; then check "$f includes \"$inc\" of its own folder" [ -e "$dir$inc" ]; fi
          continue ;;
      esac
      dep=${inc%%/*}
      if [ "$dep" = tools ]; then bad "$f includes \"$inc\": the product may not depend on test tooling"; continue; fi
      [ -d "src/$dep" ] || continue # a system header with a folder (<openssl/evp.h>)
      if [ "$dep" != "$stage" ]; then
        case $inc in
          *_int.h) bad "$f includes \"$inc\": ${inc#*/} is internal to $dep"; continue ;;
        esac
        used[$stage]+=" $dep"
      fi
      case " $stage ${allowed[$stage]} " in
        *" $dep "*) ok ;;
        *) bad "$f includes \"$inc\": $stage may not depend on $dep (CMakeLists.txt dep_$stage)" ;;
      esac
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^>"]+)[>"].*/\1 \2/p' "$f")
  done
done

# No stale dependency: what CMake declares, the stage includes.
for s in $stages; do
  for d in ${allowed[$s]}; do
    case " ${used[$s]:-} " in
      *" $d "*) ok ;;
      *) bad "CMakeLists.txt dep_$s names vg_$d but no file of src/$s includes a $d header" ;;
    esac
  done
done

# The linker's view: undefined symbols of each stage library resolved against the others.
for s in $stages; do
  if [ ! -f "$BUILD/libvg_$s.a" ]; then bad "no $BUILD/libvg_$s.a (build the stage libraries)"; continue; fi
  nm -g --defined-only "$BUILD/libvg_$s.a" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u >"$T/def_$s"
  nm -u "$BUILD/libvg_$s.a" 2>/dev/null | awk '{print $NF}' | sort -u >"$T/und_$s"
done
for s in $stages; do
  [ -f "$T/und_$s" ] || continue
  for d in $stages; do
    [ "$d" = "$s" ] && continue
    syms=$(comm -12 "$T/und_$s" "$T/def_$d" | head -5 | tr '\n' ' ')
    [ -z "$syms" ] && continue
    case " ${allowed[$s]} " in
      *" $d "*) ok ;;
      *) bad "libvg_$s.a uses $d ($syms) but CMakeLists.txt dep_$s does not name vg_$d" ;;
    esac
  done
done

# The test tooling: tools/sim against its dep_sim list.
sim_line=$(grep -E '^set\(dep_sim( |\))' tools/sim/CMakeLists.txt)
check "tools/sim/CMakeLists.txt states set(dep_sim ...)" [ -n "$sim_line" ]
sim_allowed=" $(grep -oE '\bvg_[a-z]+\b' <<<"$sim_line" | sed 's/^vg_//' | tr '\n' ' ') "
sim_used=" "
for f in tools/sim/*.[ch]; do
  while read -r delim inc; do
    case $inc in
      ../* | */../*) bad "$f includes \"$inc\": includes are rooted at src/, not relative"; continue ;;
      vigie/*) ok; continue ;;
      */*) ;;
      *) if [ "$delim" = '"' ]; then check "$f includes \"$inc\" of its own folder" [ -e "tools/sim/$inc" ]; fi
        continue ;;
    esac
    dep=${inc%%/*}
    [ -d "src/$dep" ] || continue
    case $inc in *_int.h) bad "$f includes \"$inc\": ${inc#*/} is internal to $dep"; continue ;; esac
    sim_used+="$dep "
    case $sim_allowed in
      *" $dep "*) ok ;;
      *) bad "$f includes \"$inc\": vigie-sim may not depend on $dep (tools/sim/CMakeLists.txt dep_sim)" ;;
    esac
  done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^>"]+)[>"].*/\1 \2/p' "$f")
done
for d in $sim_allowed; do
  case $sim_used in
    *" $d "*) ok ;;
    *) bad "tools/sim/CMakeLists.txt dep_sim names vg_$d but no file of tools/sim includes a $d header" ;;
  esac
done
sim_objs=$(find "$BUILD/tools/sim" -name '*.o' 2>/dev/null)
if [ -z "$sim_objs" ]; then
  bad "no object files of vigie-sim under $BUILD/tools/sim (build vigie-sim)"
else
  # shellcheck disable=SC2086
  nm -u $sim_objs 2>/dev/null | awk '{print $NF}' | sort -u >"$T/und_sim"
  for d in $stages; do
    [ -f "$T/def_$d" ] || continue
    syms=$(comm -12 "$T/und_sim" "$T/def_$d" | head -5 | tr '\n' ' ')
    [ -z "$syms" ] && continue
    case $sim_allowed in
      *" $d "*) ok ;;
      *) bad "vigie-sim uses $d ($syms) but tools/sim/CMakeLists.txt dep_sim does not name vg_$d" ;;
    esac
  done
fi
check "the vigie binary holds no test tooling (no simulate or evaluate symbol)" \
  bash -c "! nm '$VIGIE' | grep -qE ' (vg__sim_[a-z_]+|vg__cmd_simulate|vg__cmd_evaluate)$'"

dups=$(find src include tools -name '*.[ch]' -printf '%f\n' | sort | uniq -d)
check "unique file base names under src/, include/ and tools/ (dups: $dups)" [ -z "$dups" ]
finish
