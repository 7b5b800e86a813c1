/* SPDX-License-Identifier: Apache-2.0 */
/*
 * match.h: evaluate a compiled rule set on one event, per worker.
 *
 * Stage: match (depends on compile and below). For each event: routed rules of its
 * logsource -> one Vectorscan scan of the raw record marks candidate rules -> each
 * candidate's condition is evaluated, reading fields lazily through the JSON tape
 * (vg__json_path_each) with the event's field map, comparing values without copying them
 * unless an unescape is needed. Zero allocations per event in steady state: the matcher owns
 * the Vectorscan scratch, PCRE2 match data, JSON scratch and buffers, all reused.
 *
 * Thread safety: one vg_matcher per thread; many matchers may share one vg_ruleset.
 */
#ifndef VG_MATCH_H
#define VG_MATCH_H

#include "compile/compile.h"

typedef struct vg_matcher vg_matcher;

typedef struct vg_match_stats {
    uint64_t events;
    uint64_t routed;      /* (event, rule) pairs after logsource routing */
    uint64_t candidates;  /* pairs that passed the prefilter and were evaluated */
    uint64_t matches;
    uint64_t regex_limit; /* regex evaluations stopped by the PCRE2 match limit */
} vg_match_stats;

int vg__matcher_new(const vg_ruleset *rs, vg_matcher **out);
void vg__matcher_free(vg_matcher *m);

/* Called for each rule that matches, in rule order. Return non-zero to stop. */
typedef int (*vg_match_fn)(void *ud, uint32_t rule_index);

/* Evaluate every routed rule on the event parsed in `t` (t->src is the raw record) and
 * classified in `ei`. Returns VIGIE_OK or an internal error (Vectorscan failure). */
int vg__matcher_run(vg_matcher *m, const vg_jtape *t, const vg_eventinfo *ei, vg_match_fn fn,
                    void *ud);
const vg_match_stats *vg__matcher_stats(const vg_matcher *m);

#endif
