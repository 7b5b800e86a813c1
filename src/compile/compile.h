/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compile.h: loaded Sigma rules -> one immutable, shared rule set.
 *
 * Stage: compile (depends on util, json, ingest, rule). Compiling does, once:
 *  - route: index each rule by its logsource (product/service/category), so an event only
 *    meets the rules of its logsource (or every rule with logsource_all);
 *  - prefilter: extract from each rule a set of literals at least one of which must occur
 *    in the raw record for the rule to be able to match (YARA's atoms, Suricata's MPM);
 *    all literals of all rules go into one Vectorscan database, scanned once per record;
 *    rules without such a set are always candidates;
 *  - regexes: every |re value compiled by PCRE2 with JIT, with a match and depth limit;
 *  - fields: each Sigma field name resolved, per field-map id, to its candidate paths;
 *  - Sigma filters: their condition AND-ed into the rules they name.
 * A rule that cannot compile (invalid regex, ...) is reported with file:line:col and
 * dropped; the others compile.
 *
 * Ownership and thread safety: the vg_ruleset keeps the vg_ruleload it was built from alive
 * by reference (the caller frees the ruleload only after the ruleset) and is read-only after
 * vg__ruleset_compile returns: share it between any number of matchers and threads.
 */
#ifndef VG_COMPILE_H
#define VG_COMPILE_H

#include "ingest/ingest.h"
#include "rule/rule.h"

typedef struct vg_ruleset vg_ruleset;

typedef struct vg_compile_opts {
    vigie_diag_fn diag;
    void *diag_ud;
    const vg_fieldmap *fieldmap; /* required; shared, must outlive the ruleset */
    bool logsource_all;          /* evaluate every rule on every event */
    bool no_prefilter;           /* for tests and the bench: every routed rule is a candidate */
} vg_compile_opts;

int vg__ruleset_compile(const vg_ruleload *rl, const vg_compile_opts *opts, vg_ruleset **out);
void vg__ruleset_free(vg_ruleset *rs);

/* The compiled detection rules (correlation and filter documents are not counted). */
uint32_t vg__ruleset_count(const vg_ruleset *rs);
const vg_rule *vg__ruleset_rule(const vg_ruleset *rs, uint32_t i);
/* Rules dropped at compile time (invalid regex ...), for the summary. */
uint32_t vg__ruleset_dropped(const vg_ruleset *rs);
/* Number of literals in the prefilter database and rules without prefilter literals. */
void vg__ruleset_prefilter_info(const vg_ruleset *rs, uint32_t *n_literals,
                                uint32_t *n_rules_always);

#endif
