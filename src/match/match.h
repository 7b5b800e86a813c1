/* SPDX-License-Identifier: Apache-2.0 */
/*
 * match.h: evaluate a compiled rule set on one event, per worker.
 *
 * Stage: match (depends on util, json, rule, ingest, compile). For each event: routed rules
 * of its logsource -> one Vectorscan scan of the raw record marks candidate rules -> each
 * candidate's condition is evaluated, reading fields lazily through the JSON tape
 * (vg__json_path_each) with the event's field map, comparing values without copying them
 * unless an unescape is needed. Conditions are three-valued: a regex stopped by a PCRE2 limit
 * is UNKNOWN, and a rule that comes out UNKNOWN is reported apart from the matches
 * (vg__matcher_on_undetermined; docs/SIGMA.md). Zero allocations per event in steady state:
 * the matcher owns the Vectorscan scratch, PCRE2 match data, JSON scratch and buffers, all
 * reused.
 *
 * Thread safety: one vg_matcher per thread; many matchers may share one vg_ruleset.
 */
#ifndef VG_MATCH_H
#define VG_MATCH_H

#include "compile/compile.h"
#include "ingest/ingest.h"
#include "json/json.h"

typedef struct vg_matcher vg_matcher;

typedef struct vg_match_stats {
    uint64_t events;
    uint64_t routed;      /* (event, rule) pairs after logsource routing */
    uint64_t candidates;  /* pairs that passed the prefilter and were evaluated */
    uint64_t matches;
    uint64_t regex_limit;  /* regex evaluations stopped by a PCRE2 limit (match, depth, ...) */
    uint64_t undetermined; /* (event, rule) pairs whose condition was UNKNOWN */
} vg_match_stats;

/* Why a rule's result is UNKNOWN: the first PCRE2 limit its evaluation hit. */
enum {
    VG_UNDET_MATCH_LIMIT = 1, /* match limit (VG_PCRE2_MATCH_LIMIT); JIT counts the same way */
    VG_UNDET_DEPTH_LIMIT,     /* depth limit, or the JIT stack */
    VG_UNDET_HEAP_LIMIT,      /* heap limit or out of memory */
    VG_UNDET_ERROR            /* any other matching error */
};

/* A rule whose condition was UNKNOWN on an event: the Sigma fields (as written in the rule)
 * whose regexes were stopped, in the order met, at most VG_UNDET_MAX_FIELDS of them
 * (more_fields: others were stopped too). The strings live in the rule set; the struct is
 * the matcher's, valid during the callback only. */
typedef struct vg_undetermined {
    int reason; /* VG_UNDET_* */
    uint32_t n_fields;
    bool more_fields;
    const char *fields[VG_UNDET_MAX_FIELDS];
} vg_undetermined;

/* "regex_match_limit", "regex_depth_limit", "regex_heap_limit" or "regex_error"; with text,
 * the same in words ("regex match limit"). Static strings. */
const char *vg__undet_reason_name(int reason, bool text);

int vg__matcher_new(const vg_ruleset *rs, vg_matcher **out);
void vg__matcher_free(vg_matcher *m);

/* Called for each rule that matches, in rule order. Return non-zero to stop. */
typedef int (*vg_match_fn)(void *ud, uint32_t rule_index);

/* Called for each rule whose condition is UNKNOWN (neither TRUE nor FALSE because a regex
 * hit a PCRE2 limit), in rule order with the matches, with run's ud. Return non-zero to
 * stop. */
typedef int (*vg_undet_fn)(void *ud, uint32_t rule_index, const vg_undetermined *u);

/* Report UNKNOWN rules to fn from now on; NULL (the default): an UNKNOWN rule is no match,
 * only counted in the stats (regex_limit, undetermined). */
void vg__matcher_on_undetermined(vg_matcher *m, vg_undet_fn fn);

/* Evaluate every routed rule on the event parsed in `t` (t->src is the raw record) and
 * classified in `ei`. Returns VIGIE_OK or an internal error (Vectorscan failure). */
int vg__matcher_run(vg_matcher *m, const vg_jtape *t, const vg_eventinfo *ei, vg_match_fn fn,
                    void *ud);
const vg_match_stats *vg__matcher_stats(const vg_matcher *m);

#endif
