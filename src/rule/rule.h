/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rule.h: Sigma rules as loaded from YAML, before compilation.
 *
 * Stage: rule (depends on util). Input: rule files (libyaml, multi-document).
 * Output: vg_rule values whose detection is fully normalized: every modifier that
 * transforms a value (base64, base64offset, utf16le/utf16be/utf16/wide, windash, expand) has
 * already been applied, so the compile stage sees only final matchers (glob patterns,
 * regexes, CIDRs, numeric comparisons, null/exists checks, field references) and a condition
 * tree whose leaves are indices into the rule's searches ("1 of sel_*" already expanded).
 *
 * Ownership: every pointer inside a vg_rule points into the arena of the vg_ruleload that
 * produced it; they live until vg__ruleload_free(). Not thread-safe while loading; read-only
 * afterwards.
 */
#ifndef VG_RULE_H
#define VG_RULE_H

#include "util/util.h"

/* ---- values ---------------------------------------------------------------------------- */

/* A glob pattern is a sequence of parts. Escapes (\*, \?, \\) are already resolved:
 * LIT parts hold plain bytes. `contains` = STAR + pattern + STAR, and so on. */
typedef enum { VG_PART_LIT = 0, VG_PART_STAR = 1, VG_PART_QMARK = 2 } vg_part_kind;

typedef struct vg_part {
    uint8_t kind;  /* vg_part_kind */
    uint32_t len;  /* LIT: byte length */
    const char *s; /* LIT: bytes (not NUL-terminated in general; arena copies are) */
} vg_part;

typedef enum {
    VG_OP_GLOB = 0, /* event value matches the glob (no wildcards = whole-value equality) */
    VG_OP_RE,       /* PCRE2 pattern, unanchored search */
    VG_OP_CIDR,     /* event value is an IP address inside the network */
    VG_OP_NULL,     /* field absent, or present with JSON null */
    VG_OP_EXISTS,   /* field present (value.exists) or absent (!value.exists) */
    VG_OP_NUM_CMP,  /* gt/gte/lt/lte: event value parsed as a number */
    VG_OP_FIELDREF, /* event value compared with the value(s) of another field */
} vg_op;

enum { VG_RE_I = 1, VG_RE_M = 2, VG_RE_S = 4 };
enum { VG_CMP_GT = 0, VG_CMP_GTE, VG_CMP_LT, VG_CMP_LTE };
enum { VG_FREF_EQ = 0, VG_FREF_CONTAINS, VG_FREF_STARTSWITH, VG_FREF_ENDSWITH };

typedef struct vg_value {
    uint8_t op;          /* vg_op */
    uint32_t line, col;  /* position of this value in the rule file (1-based) */

    /* VG_OP_GLOB */
    vg_part *parts;
    uint32_t n_parts;
    const char *text;    /* display/literal form: the value after transforms, NUL-terminated */
    uint32_t text_len;
    bool is_num;         /* YAML plain scalar that is a number: `num` holds it; numeric events
                            compare numerically, string events compare with the glob */
    double num;
    bool is_bool;        /* YAML true/false: glob is "true"/"false" */

    /* VG_OP_RE: pattern text (NUL-terminated) and VG_RE_* flags */
    const char *re;
    uint32_t re_len;
    uint32_t re_flags;

    /* VG_OP_CIDR */
    uint8_t family;      /* 4 or 6 */
    uint8_t prefix;      /* bits */
    uint8_t addr[16];    /* network address, host bits zeroed; IPv4 in the first 4 bytes */

    /* VG_OP_NUM_CMP */
    uint8_t cmp;         /* VG_CMP_* ; threshold in `num` */

    /* VG_OP_EXISTS */
    bool exists;

    /* VG_OP_FIELDREF */
    const char *ref_field;
    uint8_t fref_mode;   /* VG_FREF_* */
} vg_value;

/* Time-part modifiers: the event value is read as a timestamp and the part compared. */
typedef enum {
    VG_TP_NONE = 0, VG_TP_MINUTE, VG_TP_HOUR, VG_TP_DAY, VG_TP_WEEK, VG_TP_MONTH, VG_TP_YEAR
} vg_timepart;

/* One key of a detection map (`Field|mod|mod: values`), or a keyword list (field == NULL). */
typedef struct vg_fieldcond {
    const char *field;   /* Sigma field name as written (dotted path allowed); NULL = keywords */
    vg_value *values;
    uint32_t n_values;
    bool all;            /* |all: every value must match (each may match a different array
                            element); otherwise any value */
    bool cased;          /* |cased: case-sensitive glob comparison */
    bool neg;            /* |neq: the whole condition's result is negated (absent field: true) */
    uint8_t timepart;    /* vg_timepart */
    uint32_t line, col;
} vg_fieldcond;

/* AND of field conditions. */
typedef struct vg_map {
    vg_fieldcond *conds;
    uint32_t n_conds;
} vg_map;

/* A named search identifier of `detection`: OR of its alternatives. A YAML map is one
 * alternative; a list of maps is several; a keyword list is one alternative holding one
 * keyword fieldcond; a list mixing keywords and maps gives one alternative per item kind. */
typedef struct vg_search {
    const char *name;
    vg_map *alts;
    uint32_t n_alts;
    uint32_t line, col;
} vg_search;

/* Condition tree. Selector expressions ("1 of sel_*", "all of them") are expanded at load:
 * VG_C_OF_ANY / VG_C_OF_ALL carry the list of search indices. Keyword values (field NULL)
 * arrive as globs already wrapped in '*' (substring semantics). */
typedef enum {
    VG_C_SEARCH = 0, /* leaf: search index */
    VG_C_AND,
    VG_C_OR,
    VG_C_NOT,
    VG_C_OF_ANY,     /* 1 of / any of */
    VG_C_OF_ALL,     /* all of */
    VG_C_TRUE,       /* constant (e.g. "1 of x*" matching nothing is FALSE: use VG_C_FALSE) */
    VG_C_FALSE,
} vg_cond_kind;

typedef struct vg_cond {
    uint8_t kind;
    uint32_t search;        /* VG_C_SEARCH */
    struct vg_cond *a, *b;  /* AND/OR: a, b; NOT: a */
    uint32_t *searches;     /* OF_ANY/OF_ALL */
    uint32_t n_searches;
} vg_cond;

/* ---- correlation (Sigma 2.1 meta rules); parsed here, evaluated by correlate ---------- */
typedef enum {
    VG_CORR_NONE = 0, VG_CORR_EVENT_COUNT, VG_CORR_VALUE_COUNT, VG_CORR_TEMPORAL,
    VG_CORR_TEMPORAL_ORDERED, VG_CORR_VALUE_SUM, VG_CORR_VALUE_AVG, VG_CORR_VALUE_PERCENTILE
} vg_corr_type;

/* Field-name aliases of a correlation (`aliases:`): one alias name stands for a different
 * field in each referenced rule. `rules[i]` (a rule id or name, as written) uses field
 * `fields[i]`. A group-by name that is an alias is read, for an event of rule R, from the
 * field the alias gives for R. */
typedef struct vg_corr_alias {
    const char *name;
    const char **rules;  /* rule id or name, as written */
    const char **fields; /* field for that rule */
    uint32_t n;
} vg_corr_alias;

typedef struct vg_corr_aliases {
    vg_corr_alias *v;
    uint32_t n;
} vg_corr_aliases;

typedef struct vg_correlation {
    uint8_t type;            /* vg_corr_type */
    const char **rules;      /* referenced rule ids or names */
    uint32_t n_rules;
    const char **group_by;
    uint32_t n_group_by;
    double timespan;         /* seconds */
    const char *field;       /* value_count/sum/avg/percentile: condition.field */
    /* condition: ranges allowed; unset bounds are NAN */
    double gt, gte, lt, lte, eq;
    double percentile;       /* value_percentile */
    bool generate;
    const vg_corr_aliases *aliases; /* NULL when the correlation has no `aliases` */
} vg_correlation;

/* ---- the rule ---------------------------------------------------------------------------- */
typedef enum { VG_RULE_DETECTION = 0, VG_RULE_CORRELATION, VG_RULE_FILTER } vg_rule_kind;

typedef struct vg_rule {
    uint8_t kind;            /* vg_rule_kind */
    const char *path;        /* file it came from */
    uint32_t doc;            /* 0-based document index within the file */
    uint32_t line;           /* line of the document start */
    const char *id, *name, *title, *level, *status, *description, *author, *date;
    const char **tags;
    uint32_t n_tags;
    const char **falsepositives;
    uint32_t n_falsepositives;
    /* logsource (NULL = unspecified) */
    const char *ls_product, *ls_category, *ls_service;

    vg_search *searches;
    uint32_t n_searches;
    vg_cond *cond;           /* a YAML list of conditions is OR-ed into one tree */

    vg_correlation *corr;    /* VG_RULE_CORRELATION */

    /* VG_RULE_FILTER (Sigma filters): the rules it applies to (ids or names); the filter's
     * condition (usually "not ...") is AND-ed into each of them by the compile stage. */
    const char **filter_rules;
    uint32_t n_filter_rules;

    /* vigie extension (top-level `vigie: new_terms:`), see docs/SIGMA.md: the rule alerts only
     * when the tuple of `nt_fields` values is new for its group (the event's tenant, or the
     * `nt_group` fields), after a baseline of `nt_baseline_s` seconds per group. */
    const char **nt_fields;
    uint32_t n_nt_fields;      /* 0 = not a new-terms rule */
    const char **nt_group;     /* NULL/0 = group by tenant */
    uint32_t n_nt_group;
    double nt_baseline_s;
} vg_rule;

/* ---- loading ------------------------------------------------------------------------------ */
typedef struct vg_placeholder {
    const char *name;        /* without % */
    const char **values;
    uint32_t n_values;
} vg_placeholder;

typedef struct vg_ruleload_opts {
    vigie_diag_fn diag;      /* every skipped rule is reported here, with file:line:col */
    void *diag_ud;
    const vg_placeholder *placeholders; /* for |expand; a rule whose placeholder is not given
                                           is skipped with a clear reason */
    uint32_t n_placeholders;
} vg_ruleload_opts;

typedef struct vg_ruleload vg_ruleload;

/* Status of one rule document, for `vigie rules check`. */
typedef struct vg_rule_status {
    const char *path;
    uint32_t line, col;      /* where the problem is (0 when loaded) */
    const char *id;          /* may be NULL */
    const char *title;       /* may be NULL */
    int rc;                  /* VIGIE_OK when loaded */
    const char *reason;      /* NULL when loaded */
} vg_rule_status;

vg_ruleload *vg__ruleload_new(const vg_ruleload_opts *opts);
void vg__ruleload_free(vg_ruleload *rl);
/* Load a file or a directory (recursively, *.yml and *.yaml, sorted by name). Bad rules are
 * reported and skipped; the return is non-OK only for an unreadable top-level path. */
int vg__ruleload_path(vg_ruleload *rl, const char *path);
/* Load rules from a string (tests, fuzzing). `name` is used as the file name in diagnostics. */
int vg__ruleload_string(vg_ruleload *rl, const char *name, const char *yaml, size_t len);

uint32_t vg__ruleload_count(const vg_ruleload *rl);
const vg_rule *vg__ruleload_get(const vg_ruleload *rl, uint32_t i);
/* Every document seen, loaded or skipped, in load order. */
uint32_t vg__ruleload_status_count(const vg_ruleload *rl);
const vg_rule_status *vg__ruleload_status(const vg_ruleload *rl, uint32_t i);

/* Condition parser on its own (fuzzing, tests): parse `text` against the search names;
 * on error returns VIGIE_CONDITION and sets *err_col (1-based) and err (message). */
int vg__cond_parse(vg_arena *a, const char *text, size_t len, const char *const *names,
                   uint32_t n_names, vg_cond **out, uint32_t *err_col, char *err, size_t errcap);

#endif
