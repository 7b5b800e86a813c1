/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compile_int.h: the compiled rule set's layout, shared by compile (which builds it) and
 * match (which reads it). Everything here lives in the ruleset's arena and is read-only
 * once vg__ruleset_compile returns.
 */
#ifndef VG_COMPILE_INT_H
#define VG_COMPILE_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include "compile.h"

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
