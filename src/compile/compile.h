/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compile.h: loaded Sigma rules -> one immutable, shared rule set.
 *
 * Stage: compile (depends on util, rule, ingest). Compiling does, once:
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
 *
 * The second half of this header is the compiled rule set's layout: compile builds it,
 * match (the only other stage that reads it) evaluates events against it. Everything there
 * lives in the ruleset's arena and is read-only once vg__ruleset_compile returns.
 */
#ifndef VG_COMPILE_H
#define VG_COMPILE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include "ingest/ingest.h"
#include "rule/rule.h"
#include "util/util.h"

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

/* ---- The compiled layout, read by match ---- */

/* Bytes a prefilter literal may hold: printable ASCII except '\\' and '"' (JSON escapes
 * them) and the characters JSON encoders commonly write as \uXXXX for HTML safety (Go:
 * < > &; .NET: also ' + `). A \u escape of any other character can then never hide a
 * literal, so records full of "\u003c" keep their prefilter (see match.c). */
static inline bool vg__compile_lit_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&' &&
           c != '\'' && c != '+' && c != '`';
}

/* A Sigma field name resolved, per field-map id, to the paths tried in order. */
typedef struct cfield {
    const char *name;
    const char *const **paths; /* [map_id] -> array of paths */
    uint32_t *n_paths;         /* [map_id] */
} cfield;

typedef struct cvalue {
    const vg_value *v;
    pcre2_code *re;            /* VG_OP_RE */
    const cfield *ref;         /* VG_OP_FIELDREF */
} cvalue;

typedef struct cfc {
    const vg_fieldcond *fc;
    const cfield *field;       /* NULL for keywords */
    cvalue *vals;
    uint32_t n_vals;
} cfc;

typedef struct cmap {
    cfc *fcs;
    uint32_t n;
} cmap;

typedef struct csearch {
    cmap *alts;
    uint32_t n;
} csearch;

typedef struct crule {
    const vg_rule *r;
    csearch *searches;         /* the rule's, then those of filters applied to it */
    uint32_t n_searches;
    const vg_cond *cond;       /* the rule's condition AND each applied filter's */
    bool always;               /* no prefilter literal set: always a candidate */
} crule;

/* One prefilter database: the literals of the rules of one logsource product plus those of
 * the rules without a product (group 0: rules without a product only; with logsource_all,
 * group 0 holds every rule). An event scans only its product's group, so the Windows rules'
 * literals never cost a cloud event anything. */
typedef struct cgroup {
    const char *product;       /* as written in the first rule naming it; NULL for group 0 */
    hs_database_t *db;         /* NULL: no literal, or Vectorscan refused: no prefilter */
    uint32_t n_lits;
    uint32_t *lit_rules_off;   /* CSR: rules of literal i are lit_rules[off[i] .. off[i+1]) */
    uint32_t *lit_rules;
} cgroup;

struct vg_ruleset {
    vg_arena *a;
    const vg_fieldmap *fm;
    uint16_t n_maps;
    bool logsource_all;
    crule *rules;
    uint32_t n_rules;
    uint32_t dropped;
    /* prefilter */
    cgroup *groups;            /* [0] = no product; then one per distinct product */
    uint32_t n_groups;
    hs_scratch_t *proto_scratch; /* large enough for every group's database */
    uint32_t n_lits;           /* distinct literals over all rules */
    uint32_t n_always;
    pcre2_match_context *mctx;
};

#endif
