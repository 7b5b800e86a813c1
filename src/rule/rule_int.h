/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rule_int.h: private to the rule stage: the YAML node tree and the value pipeline.
 */
#ifndef VG_RULE_INT_H
#define VG_RULE_INT_H

#include "rule.h"

enum { YN_SCALAR = 0, YN_SEQ, YN_MAP };

/* A YAML node. Maps hold key, value, key, value in kids. Aliased nodes are shared. */
typedef struct ynode {
    uint8_t type;
    bool quoted;         /* scalar written with quotes (or block style): always a string */
    uint32_t line, col;  /* 1-based */
    const char *value;   /* scalar text, NUL-terminated */
    uint32_t len;
    struct ynode **kids;
    uint32_t n_kids, cap_kids;
    uint64_t size;       /* nodes in this subtree, aliases expanded */
} ynode;

typedef struct yaml_err {
    uint32_t doc, line, col;
    int rc;              /* VIGIE_YAML, VIGIE_TOOBIG, VIGIE_TOODEEP */
    char msg[256];
} yaml_err;

/* Called once per document with its root (NULL for an empty document). `derr` is non-NULL
 * when the document itself was refused (alias bomb, undefined alias, nesting too deep): its
 * events were skipped to the document end, root is NULL, and the next document still loads. */
typedef int (*yaml_doc_fn)(void *ud, uint32_t doc, uint32_t line, const ynode *root,
                           const struct yaml_err *derr);

/* Parse every document of text. A syntax error, or more than VG_MAX_YAML_EVENTS events in
 * the file, stops the file (reported in err: libyaml cannot resynchronise); document-level
 * refusals are passed to fn and parsing goes on with the next document. */
int vg__yaml_parse(vg_arena *a, const char *text, size_t len, yaml_doc_fn fn, void *ud,
                   yaml_err *err);
const ynode *vg__ynode_get(const ynode *map, const char *key);

/* Error position and message while converting a rule. */
typedef struct rule_err {
    uint32_t line, col;
    int rc;
    char msg[256];
} rule_err;

/* Build the field conditions of one detection-map key `Field|mod|...: value(s)`. */
int vg__rule_fieldcond(vg_arena *a, const ynode *key, const ynode *val,
                       const vg_ruleload_opts *opts, vg_fieldcond *out, rule_err *err);
/* Keyword values (a list of plain values, no field). */
int vg__rule_keywords(vg_arena *a, const ynode *const *vals, uint32_t n, const char *mods,
                      uint32_t line, uint32_t col, const vg_ruleload_opts *opts,
                      vg_fieldcond *out, rule_err *err);

/* Parse a Sigma wildcard string (escapes resolved) into parts. */
int vg__glob_parse(vg_arena *a, const char *s, size_t n, vg_part **parts, uint32_t *n_parts);

#endif
