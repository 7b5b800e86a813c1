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

struct vg_ruleset {
    vg_arena *a;
    const vg_fieldmap *fm;
    uint16_t n_maps;
    bool logsource_all;
    crule *rules;
    uint32_t n_rules;
    uint32_t dropped;
    /* prefilter */
    hs_database_t *db;
    hs_scratch_t *proto_scratch;
    uint32_t n_lits;
    uint32_t *lit_rules_off;   /* CSR: rules of literal i are lit_rules[off[i] .. off[i+1]) */
    uint32_t *lit_rules;
    uint32_t n_always;
    pcre2_match_context *mctx;
};

#endif
