#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh: the benchmark, in one run. Generates the dataset once (bench/data/, git-ignored;
# regenerated when missing or when gen.c, the size or the seed changed), self-tests the
# generator, then measures on one core, best of BENCH_RUNS runs each:
#   vigie scan -j 1 with SigmaHQ rules/cloud | the simdjson floor | the Vectorscan floor | jq
# plus vigie's peak RSS on half and all of the data, the load+compile time of every
# SigmaHQ rule, and rule loading at scale (bench/rule_load.sh: 25,000 and 100,000 rule
# files, 100,000 values in one list), heap allocations and lock calls per event in steady
# state (bench/alloc.sh), and the state's peak RSS on the 180-day, 100-organization simulated
# scenario (bench/state_memory.sh). Writes bench/RESULTS.md and prints it. See
# bench/README.md.
#
# Usage: bench/run.sh [BUILD_DIR]      (default: build; `make bench` passes it)
# Environment: SIGMA_DIR (default ../shared/sigma beside the project), BENCH_MB (220),
#              BENCH_SEED (1), BENCH_RUNS (3), VIGIE (the vigie binary; default BUILD_DIR/vigie).
#              ALLOC_EVENTS (20000: bench/alloc.sh's N).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-build}
case "$build" in /*) b=$build ;; *) b=$root/$build ;; esac
sigma=${SIGMA_DIR:-$root/../shared/sigma}
mb=${BENCH_MB:-220}
seed=${BENCH_SEED:-1}
runs=${BENCH_RUNS:-3}
data=$here/data
out=$here/out

die() { echo "bench: error: $*" >&2; exit 1; }
[ -d "$b" ] || die "build directory $b does not exist (run: make bench)"
gen=$b/bench/vigie_gen
rss=$b/bench/vigie_rss
vigie=${VIGIE:-$b/vigie}
fsj=$b/bench/floor_simdjson
fvs=$b/bench/floor_vectorscan
[ -x "$gen" ] || die "$gen is not built (configure with -DVIGIE_BENCH=ON, then build)"
[ -x "$rss" ] || die "$rss is not built"
command -v jq >/dev/null || die "jq is not installed (scripts/setup.sh bench installs it)"
[ -d "$sigma/rules/cloud" ] || die "no SigmaHQ rules at $sigma/rules/cloud (set SIGMA_DIR)"
sigma=$(cd "$sigma" && pwd)
[[ "$mb" =~ ^[0-9]+$ ]] && [ "$mb" -ge 1 ] || die "BENCH_MB must be a positive integer"
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -ge 1 ] || die "BENCH_RUNS must be a positive integer"
mkdir -p "$data" "$out"

# ---- dataset ------------------------------------------------------------------------------
file=$data/cloud-s$seed-${mb}MB.ndjson
stamp=$file.stamp
want="$(sha256sum "$here/gen.c" | cut -d' ' -f1) seed=$seed mb=$mb"
if [ ! -s "$file" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "bench: generating $mb MB of cloud audit events (seed $seed) into ${file#"$root"/}"
  rm -f "$stamp"
  "$gen" -s "$seed" -m "$mb" -o "$file.tmp" || die "generator failed"
  mv "$file.tmp" "$file"
  echo "$want" >"$stamp"
fi
bytes=$(stat -c %s "$file")
events=$(wc -l <"$file")
[ "$bytes" -ge $((mb * 1000000)) ] || die "$file is $bytes bytes, less than $mb MB"

# ---- generator self-test: deterministic, sized, valid JSON (cheap; every run) --------------
h1=$("$gen" -s 7 -m 4 2>/dev/null | sha256sum)
h2=$("$gen" -s 7 -m 4 2>/dev/null | sha256sum)
h3=$("$gen" -s 8 -m 4 2>/dev/null | sha256sum)
[ "$h1" = "$h2" ] || die "generator self-test: two runs with seed 7 differ"
[ "$h1" != "$h3" ] || die "generator self-test: seeds 7 and 8 give the same output"
small=$("$gen" -s 7 -m 4 2>/dev/null | wc -c)
[ "$small" -ge 4000000 ] && [ "$small" -lt 4020000 ] ||
  die "generator self-test: -m 4 gave $small bytes"
nvalid=$(head -n 20000 "$file" | jq -c . | wc -l) || die "generator self-test: invalid JSON in $file"
[ "$nvalid" -eq "$(head -n 20000 "$file" | wc -l)" ] || die "generator self-test: jq lost records"
kinds=$(head -n 20000 "$file" | jq -r 'if .eventVersion then "cloudtrail" elif .CreationTime
  then "m365" elif .Type == "SigninLogs" then "signin-la" elif .category == "SignInLogs"
  then "signin-eventhub" else "other" end' | sort | uniq -c | awk '{printf "%s%s %s", s, $2, $1; s=", "}')
case "$kinds" in *other*) die "generator self-test: unknown record kind ($kinds)" ;; esac
echo "bench: generator self-test ok (deterministic, sized, valid JSON; first 20000: $kinds)"
echo "bench: $events events, $bytes bytes ($((bytes / events)) B/event)"

half=$data/cloud-s$seed-${mb}MB-half.ndjson
if [ ! -s "$half" ] || [ "$half" -ot "$file" ]; then
  head -n $((events / 2)) "$file" >"$half"
fi
tiny=$out/tiny.ndjson
head -n 100 "$file" >"$tiny"

# ---- helpers ---------------------------------------------------------------------------------
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2"; }            # kv KEY FILE
fmin() { awk 'NR == 1 || $1 < m { m = $1 } END { print m }'; }   # min of a column
fmax() { awk 'NR == 1 || $1 > m { m = $1 } END { print m }'; }

# run_best NAME SECONDS_CMD -- CMD...: runs CMD $runs times under vigie_rss; SECONDS_CMD is
# evaluated after each run (it reads the program's own timing) and the minimum is kept.
# Sets best_s, best_rss_kb (max over runs), cpu_ratio ((user+sys)/wall of the best run).
run_best() {
  local name=$1 secs_cmd=$2; shift 3
  local i s times="" rsss="" cpus=""
  for ((i = 1; i <= runs; i++)); do
    if ! "$rss" -o "$out/$name.rss" -- "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"; then
      echo "bench: $name failed (exit $(kv status "$out/$name.rss")); see ${out#"$root"/}/$name.stderr" >&2
      tail -3 "$out/$name.stderr" >&2
      return 1
    fi
    s=$(eval "$secs_cmd")
    [ -n "$s" ] || { echo "bench: $name: no timing in its output" >&2; return 1; }
    times+="$s"$'\n'
    rsss+="$(kv rss_kb "$out/$name.rss")"$'\n'
    cpus+="$s $(awk -v u="$(kv user_s "$out/$name.rss")" -v y="$(kv sys_s "$out/$name.rss")" \
                  -v w="$(kv wall_s "$out/$name.rss")" 'BEGIN { printf "%.2f", (u + y) / w }')"$'\n'
  done
  best_s=$(printf '%s' "$times" | fmin)
  best_rss_kb=$(printf '%s' "$rsss" | fmax)
  cpu_ratio=$(printf '%s' "$cpus" | sort -g | head -1 | cut -d' ' -f2)
}

declare -A T RSS CPU NOTE
ok() { T[$1]=$best_s; RSS[$1]=$best_rss_kb; CPU[$1]=$cpu_ratio; }

# 1. vigie, SigmaHQ cloud rules, one worker
if [ -x "$vigie" ]; then
  vargs=(scan -j 1 -q --no-progress -r "$sigma/rules/cloud")
  echo "bench: vigie scan -j 1, SigmaHQ rules/cloud ($runs runs)"
  if run_best vigie 'jq -r .elapsed_s "$out/vigie.json"' -- \
       "$vigie" "${vargs[@]}" --summary-json "$out/vigie.json" -o /dev/null "$file"; then
    ok vigie
    v_events=$(jq -r .events "$out/vigie.json")
    [ "$v_events" -eq "$events" ] || die "vigie read $v_events events of $events"
    NOTE[vigie]=$(jq -r '"\(.rules_compiled) rules (\(.rules_skipped) skipped), \(.alerts) alerts, \(.bad_records) bad records, rule load+compile \(.rule_load_s * 1000 | floor) ms"' "$out/vigie.json")
    v_disable=$(jq -r '[.top_rules[] | select(.id == "4db60cc0-36fb-42b7-9b58-a5b53019fb74") | .count] | first // 0' "$out/vigie.json")
    echo "bench: vigie scan -j 1 --no-combined (the cost of sessions: $runs runs)"
    run_best vigie_nocomb 'jq -r .elapsed_s "$out/vigie_nocomb.json"' -- \
      "$vigie" "${vargs[@]}" --no-combined --summary-json "$out/vigie_nocomb.json" -o /dev/null "$file" &&
      ok vigie_nocomb && NOTE[vigie_nocomb]="per-record alerts only: no session join, no combined alerts"
    NOTE[vigie]="${NOTE[vigie]}, $(jq -r '"\(.combined_alerts) combined alerts, \(.sessions.signins) sign-ins joined"' "$out/vigie.json")"
    echo "bench: vigie on half of the data (flat memory)"
    run_best vigie_half 'jq -r .elapsed_s "$out/vigie_half.json"' -- \
      "$vigie" "${vargs[@]}" --summary-json "$out/vigie_half.json" -o /dev/null "$half" &&
      ok vigie_half
    echo "bench: load + compile of every SigmaHQ rule (rules/ + rules-emerging-threats/)"
    run_best allrules 'jq -r .rule_load_s "$out/allrules.json"' -- \
      "$vigie" scan -j 1 -q --no-progress -r "$sigma/rules" -r "$sigma/rules-emerging-threats" \
      --summary-json "$out/allrules.json" -o /dev/null "$tiny" && ok allrules
    # exit 1 only means some rules were skipped (SigmaHQ has placeholder rules): time it anyway
    check_s=$({ "$rss" -o "$out/check.rss" -- "$vigie" rules check -q "$sigma/rules" \
                "$sigma/rules-emerging-threats" >/dev/null 2>&1 || true; } &&
              awk -v w="$(kv wall_s "$out/check.rss")" 'BEGIN { printf "%.3f", w }')
  fi
  echo "bench: allocations and locks per event (bench/alloc.sh; log in ${out#"$root"/}/alloc.log)"
  if VIGIE=$vigie SIGMA_DIR=$sigma "$here/alloc.sh" "$build" "$file" >"$out/alloc.log" 2>&1; then
    alloc_md=$out/alloc.md
  else
    echo "bench: alloc.sh failed:" >&2
    tail -3 "$out/alloc.log" >&2
  fi
  echo "bench: rule loading at scale (bench/rule_load.sh; log in ${out#"$root"/}/rule_load.log)"
  if VIGIE=$vigie BENCH_RUNS=$runs SIGMA_DIR=$sigma "$here/rule_load.sh" "$build" \
       >"$out/rule_load.log" 2>&1; then
    rule_scale=$out/rule_load.md
  else
    echo "bench: rule_load.sh failed:" >&2
    tail -3 "$out/rule_load.log" >&2
  fi
  echo "bench: state memory at scale (bench/state_memory.sh; log in ${out#"$root"/}/state_memory.log)"
  if VIGIE=$vigie "$here/state_memory.sh" "$build" >"$out/state_memory.log" 2>&1; then
    state_md=$out/state_memory.md
  else
    echo "bench: state_memory.sh failed (or over its target):" >&2
    tail -3 "$out/state_memory.log" >&2
    [ -s "$out/state_memory.md" ] && state_md=$out/state_memory.md
  fi
else
  echo "bench: vigie: not built ($vigie)"
fi

# 2. simdjson floor
if [ -x "$fsj" ]; then
  echo "bench: simdjson floor ($runs runs)"
  run_best simdjson 'kv seconds "$out/simdjson.stdout"' -- "$fsj" "$file" && ok simdjson &&
    NOTE[simdjson]="On-Demand, iterate_many, 3 fields/event; kernels: stage 1 $(kv stage1 "$out/simdjson.stdout"), On-Demand $(kv ondemand "$out/simdjson.stdout")"
else
  echo "bench: simdjson floor: not built (libsimdjson-dev missing)"
fi

# 3. Vectorscan floor: every literal of the same rules, one scan per event
if [ -x "$fvs" ]; then
  echo "bench: Vectorscan floor ($runs runs)"
  run_best vectorscan 'kv seconds "$out/vectorscan.stdout"' -- "$fvs" "$sigma/rules/cloud" "$file" &&
    ok vectorscan && NOTE[vectorscan]="$(kv literals "$out/vectorscan.stdout") literals of rules/cloud ($(kv short "$out/vectorscan.stdout") of 1-2 bytes), caseless, one block scan per event"
else
  echo "bench: Vectorscan floor: not built"
fi

# 4. jq running one SigmaHQ rule by hand (aws_cloudtrail_disable_logging), counting matches
jqprog='reduce (inputs | select(.eventSource == "cloudtrail.amazonaws.com" and
  (.eventName == "StopLogging" or .eventName == "UpdateTrail" or .eventName == "DeleteTrail")))
  as $e (0; . + 1)'
echo "bench: jq, one rule ($runs runs)"
run_best jq 'kv wall_s "$out/jq.rss"' -- jq -n "$jqprog" "$file" && ok jq &&
  NOTE[jq]="$(cat "$out/jq.stdout") matches of 'AWS CloudTrail Important Change' (vigie: ${v_disable:-n/a})"

# ---- report ------------------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cores=$(nproc)
memg=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] && commit="$commit (with local changes)"

row() { # row KEY LABEL
  local k=$1 label=$2
  if [ -z "${T[$k]:-}" ]; then
    echo "| ${label%% (*}: not built | | | | | | |"
    return
  fi
  awk -v s="${T[$k]}" -v b="$bytes" -v e="$events" -v sj="${T[simdjson]:-}" -v vs="${T[vectorscan]:-}" \
      -v r="${RSS[$k]}" -v c="${CPU[$k]}" -v l="$label" -v n="${NOTE[$k]:-}" 'BEGIN {
    ratio_sj = (sj == "") ? "n/a" : sprintf("%.2fx", sj / s)
    ratio_vs = (vs == "") ? "n/a" : sprintf("%.2fx", vs / s)
    printf "| %s | %d | %.0f | %s | %s | %.1f | %s |\n", l, e / s, b / 1e6 / s, ratio_sj, ratio_vs, r / 1024, n
  }'
}

{
  echo "# vigie benchmark results"
  echo
  echo "- Machine: $cpu, $cores cores, $memg GiB RAM, $(uname -sr)"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit"
  echo "- Dataset: \`vigie_gen -s $seed -m $mb\`: $events events, $((bytes / 1000000)) MB, $((bytes / events)) B/event; $kinds (first 20000)"
  echo "- Rules: SigmaHQ \`rules/cloud\` from $sigma"
  echo "- Each program on one core, best of $runs runs in this session (shared machine: read the ratios)."
  echo "  Throughput = events (or bytes) / the program's own processing time: vigie's elapsed_s"
  echo "  (reading + parsing + matching, rule loading excluded), the floors' timed loop (reading"
  echo "  included, database/parser setup excluded), jq's wall time. Ratio = throughput / floor's."
  echo
  echo "| program | events/s | MB/s | x simdjson floor | x Vectorscan floor | peak RSS MiB | notes |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  if [ -n "${T[vigie]:-}" ]; then row vigie "vigie scan -j 1 (CPU/wall ${CPU[vigie]})"; else row vigie vigie; fi
  row vigie_nocomb "vigie scan -j 1 --no-combined"
  row simdjson "simdjson floor"
  row vectorscan "Vectorscan floor"
  row jq "jq 1 rule"
  echo
  if [ -n "${T[vigie]:-}" ]; then
    echo "Flat memory: vigie peak RSS $(awk -v r="${RSS[vigie_half]:-0}" 'BEGIN { printf "%.1f", r / 1024 }') MiB on half the data ($((events / 2)) events),"
    echo "$(awk -v r="${RSS[vigie]}" 'BEGIN { printf "%.1f", r / 1024 }') MiB on all of it ($events events)."
    echo
    echo "Rule load: SigmaHQ rules/cloud loaded and compiled in $(jq -r '.rule_load_s * 1000 | floor' "$out/vigie.json") ms;"
    if [ -n "${T[allrules]:-}" ]; then
      echo "every SigmaHQ rule (rules/ + rules-emerging-threats/: $(jq -r '"\(.rules_loaded) loaded, \(.rules_skipped) skipped, \(.rules_compiled) compiled"' "$out/allrules.json"))"
      echo "loaded and compiled in $(awk -v s="${T[allrules]}" 'BEGIN { printf "%.3f", s }') s (best of $runs); \`vigie rules check\` on them: ${check_s:-n/a} s wall."
    fi
    echo
    echo "Targets:"
    if [ -n "${T[simdjson]:-}" ]; then
      awk -v v="${T[vigie]}" -v s="${T[simdjson]}" 'BEGIN {
        r = s / v; printf "- vigie >= 0.25x the simdjson floor on one core: %.2fx, %s\n", r, (r >= 0.25) ? "met" : "NOT met" }'
    fi
    if [ -n "${T[allrules]:-}" ]; then
      awk -v a="${T[allrules]}" 'BEGIN {
        printf "- every SigmaHQ rule compiled in under 1 s: %.3f s, %s\n", a, (a < 1) ? "met" : "NOT met" }'
    fi
  fi
  if [ -n "${alloc_md:-}" ]; then
    echo
    cat "$alloc_md"
  fi
  if [ -n "${rule_scale:-}" ]; then
    echo
    cat "$rule_scale"
  fi
  if [ -n "${state_md:-}" ]; then
    echo
    cat "$state_md"
  fi
  echo
  echo "Reproduce: \`make bench\` (see bench/README.md; BENCH_MB, BENCH_SEED, BENCH_RUNS, SIGMA_DIR)."
} >"$out/RESULTS.md"
cp "$out/RESULTS.md" "$here/RESULTS.md"
echo
cat "$here/RESULTS.md"
