/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.h: rules compiled once into an engine, records scanned by per-thread scanners.
 *
 * Lifetime of an engine (YARA's compiler -> rules -> scanner, in one handle):
 *   1. vigie_engine_new, then any number of vigie_engine_add_* calls: Sigma rule files,
 *      directories and strings, vigie's own pack, extra field maps, indicator files, JWKS key
 *      sets. A bad rule is reported through the diag callback with file:line:col and skipped;
 *      the others load. An add_* call fails (non-OK) only when its input cannot be read at all.
 *   2. vigie_engine_compile: routing, prefilter literals (one Vectorscan database per
 *      logsource product), PCRE2 JIT regexes, per-field-map field resolution. A rule that
 *      cannot compile (invalid regex) is reported and dropped. After this the engine is
 *      immutable: every add_* call returns VIGIE_INVAL, and any number of threads may read it.
 *   3. one vigie_scanner per thread (vigie_scanner_new): vigie_scanner_scan parses one record,
 *      classifies it and reports each matching rule, with its alert, to a callback;
 *      vigie_scanner_facts gives the record's facts. A warm scanner allocates nothing per
 *      record (tests/unit/test_api.c counts).
 *   4. free the scanners, then the engine.
 *
 * Rule status: every rule document the engine saw, loaded or not, has an index in
 * [0, vigie_engine_rule_count) in load order; vigie_engine_rule gives its id, title, level,
 * kind and status (active, skipped with the reason and file:line:col, dropped at compile).
 * A match names the rule by the same index.
 *
 * Alerts: each match carries the typed vigie_alert (include/vigie/alert.h) that `vigie scan`
 * builds for it, field for field and with the same id: kind sigma, or undetermined (a regex
 * limit), with tenant, time, source (name, line, index, offset, SHA-256 of the record's
 * bytes), shape, the event and, on a mail read, what it read. vigie_alert_render(JSONL) of it
 * is the line `vigie scan --no-combined` writes when src->name is the path scan was given.
 *
 * First-seen (`vigie: new_terms`) rules: whether a term is new needs the ordered state, which
 * a scanner does not have. Their matches are reported with `candidate` set and an alert of
 * kind new_term whose group and term are filled (its id is the one scan gives it): a
 * candidate, not an alert; `vigie scan` writes it only when the term is new for its group
 * after the baseline. A program without a state should drop candidates (vigie-match does).
 *
 * Facts: vigie_scanner_facts gives the record's tenant, user, session, token, address,
 * application and user agent, and whether it is a mail read (and what it read) or a sign-in.
 *
 * Not yet in the scanner: the indicator and bearer-token checks (`vigie scan` raises
 * indicator and token alerts from the engine's indicators and key sets; a scanner raises
 * none), --time-field for records of unknown shape, and the correlation plan: a detection
 * that a Sigma correlation refers to without `generate` is reported like any match, where
 * `vigie scan` writes no alert of its own for it. Not yet in the API: the ordered state
 * (first-seen, sessions, Sigma correlations, visibility, campaigns) and the file pipeline.
 */
#ifndef VIGIE_ENGINE_H
#define VIGIE_ENGINE_H

#include "vigie/vigie.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vigie_engine vigie_engine;
typedef struct vigie_scanner vigie_scanner;
typedef struct vigie_alert vigie_alert; /* vigie/alert.h (included by vigie/vigie.h) */

/* ---- building --------------------------------------------------------------------------- */

/* A new, empty engine with the built-in field maps (data/fieldmaps). diag receives every
 * diagnostic of loading and compiling (may be NULL); it is called from the thread that calls
 * the engine's functions, never from scanners. */
VIGIE_API int vigie_engine_new(vigie_diag_fn diag, void *diag_ud, vigie_engine **out);
/* Frees the engine; every scanner made from it must have been freed first. */
VIGIE_API void vigie_engine_free(vigie_engine *e);

/* Compile flags (vigie_engine_set_flags, before compile). */
enum {
    VIGIE_ENGINE_LOGSOURCE_ALL = 1, /* evaluate every rule on every record, ignoring logsource */
    VIGIE_ENGINE_NO_PREFILTER = 2   /* no literal prefilter: every routed rule is evaluated
                                       (for differential tests and measurements) */
};
VIGIE_API int vigie_engine_set_flags(vigie_engine *e, unsigned flags);

/* Values for Sigma's |expand placeholders (%name%): must be given before the rules that use
 * them are added; a rule whose placeholder is unknown is skipped with that reason. Copied. */
VIGIE_API int vigie_engine_set_placeholder(vigie_engine *e, const char *name,
                                           const char *const *values, uint32_t n_values);

/* A Sigma rule file (multi-document YAML) or a directory (recursively, *.yml and *.yaml in
 * name order, hidden entries skipped). VIGIE_NOENT / VIGIE_IO when path cannot be read. */
VIGIE_API int vigie_engine_add_rules(vigie_engine *e, const char *path);
/* Rules from memory; name stands for the file in diagnostics (NULL: "<string>"). */
VIGIE_API int vigie_engine_add_rules_string(vigie_engine *e, const char *name, const char *yaml,
                                            size_t len);

/* Where vigie's own rule pack is, in this order: dir when not NULL; $VIGIE_RULES when set and
 * not empty; share/vigie/rules beside the installed library (found from the module that holds
 * libvigie: <libdir>/../share/vigie/rules, so a moved or DESTDIR-staged tree finds its own
 * pack); the share/vigie/rules of the prefix the library was configured with. The first that
 * names an existing directory is written to buf (NUL-terminated). VIGIE_NOTFOUND when none
 * does (an explicit dir or $VIGIE_RULES that does not exist is NOT passed over: NOTFOUND);
 * VIGIE_TOOBIG when buf is too small. */
VIGIE_API int vigie_pack_dir(const char *dir, char *buf, size_t cap);
/* vigie_pack_dir(dir) then vigie_engine_add_rules on it. The pack's detections expect the
 * built-in indicators too (vigie_engine_add_builtin_indicators), as `vigie scan` loads them. */
VIGIE_API int vigie_engine_add_pack(vigie_engine *e, const char *dir);

/* An extra field-map file (the format of the files in data/fieldmaps, docs/FIELDS.md). Its sections
 * are tried before the built-in ones, so a section of it wins for the records it selects.
 * VIGIE_YAML (reported) when it is malformed: sections before the error are kept. */
VIGIE_API int vigie_engine_add_fieldmap(vigie_engine *e, const char *path);
VIGIE_API int vigie_engine_add_fieldmap_string(vigie_engine *e, const char *name,
                                               const char *yaml, size_t len);

/* Indicators with time windows (docs/INDICATORS.md): the built-in published sets, and files
 * in vigie's YAML format or STIX 2.1 bundles. margin_s widens every window (default: 7
 * days, as `vigie scan --indicator-margin-days`); set it before the first indicator. */
VIGIE_API int vigie_engine_set_indicator_margin(vigie_engine *e, double margin_s);
VIGIE_API int vigie_engine_add_builtin_indicators(vigie_engine *e);
VIGIE_API int vigie_engine_add_indicators(vigie_engine *e, const char *path);

/* A JWKS key set for a token issuer (at most one '*' in issuer), as `vigie scan --jwks`. */
VIGIE_API int vigie_engine_add_jwks(vigie_engine *e, const char *issuer, const char *path);

/* Compile what was added. VIGIE_OK even when no detection rule is usable (see
 * vigie_engine_stats); non-OK only when compiling could not run (out of memory, a Vectorscan
 * failure). Calling it twice is VIGIE_INVAL. */
VIGIE_API int vigie_engine_compile(vigie_engine *e);

/* ---- what the engine holds (after compile) ------------------------------------------------ */

typedef enum {
    VIGIE_RULE_ACTIVE = 0, /* loaded and compiled: a detection scanners evaluate, or a
                              correlation or filter document the detections use */
    VIGIE_RULE_SKIPPED,    /* refused at load (malformed YAML, invalid Sigma, unreadable file) */
    VIGIE_RULE_DROPPED     /* loaded, then refused at compile (invalid regular expression) */
} vigie_rule_status;

typedef enum {
    VIGIE_RULE_DETECTION = 0,
    VIGIE_RULE_CORRELATION, /* Sigma correlation document: evaluated by the state (not yet API) */
    VIGIE_RULE_FILTER,      /* Sigma filter: AND-ed into the detections it names */
    VIGIE_RULE_UNKNOWN      /* skipped before its kind was known */
} vigie_rule_kind;

typedef struct vigie_rule_info {
    vigie_rule_status status;
    vigie_rule_kind kind;
    int rc;                 /* VIGIE_OK, or why it was skipped or dropped (VIGIE_YAML, ...) */
    const char *reason;     /* NULL when active; else the message the diag callback got */
    const char *file;       /* the rule file (or the name given to add_rules_string) */
    uint32_t line, col;     /* of the problem; for an active rule its document's first line
                               (col 0) */
    const char *id, *title; /* NULL when absent (or when skipped before they were read) */
    const char *level;      /* "informational" ... "critical", or NULL */
    const char *sigma_status; /* the rule's own `status:` (stable, test, ...), or NULL */
    const char *description;
    const char *const *tags;
    uint32_t n_tags;
    const char *product, *category, *service; /* logsource, NULL when not given */
    int new_terms;          /* a first-seen rule (`vigie: new_terms`): its matches are candidates
                               the state decides on */
} vigie_rule_info;

/* Every rule document seen, loaded or not (0 before compile). */
VIGIE_API uint32_t vigie_engine_rule_count(const vigie_engine *e);
/* Fill *out for rule i; VIGIE_NOTFOUND when i is out of range or before compile. Strings live
 * as long as the engine. */
VIGIE_API int vigie_engine_rule(const vigie_engine *e, uint32_t i, vigie_rule_info *out);

typedef struct vigie_engine_stats {
    uint32_t rules;        /* documents seen (vigie_engine_rule_count) */
    uint32_t detections;   /* active detections: what scanners evaluate */
    uint32_t correlations, filters; /* active correlation and filter documents */
    uint32_t skipped, dropped;
    uint32_t prefilter_literals, always_candidates; /* detections without a prefilter literal */
    uint32_t indicators, key_sets;
} vigie_engine_stats;
VIGIE_API int vigie_engine_stats_get(const vigie_engine *e, vigie_engine_stats *out);

/* ---- scanning ----------------------------------------------------------------------------- */

/* Where a record comes from. name: a file path, a stream or topic name, "-" (NULL: none);
 * line: 1-based, 0 when unknown; index: 0-based record number; offset: byte offset of the
 * record's first byte. Passed through to diagnostics, matches and the alert's source (which
 * has_source only when src is not NULL); name must stay valid during the scan call. */
typedef struct vigie_source {
    const char *name;
    uint64_t line;
    uint64_t index;
    uint64_t offset;
} vigie_source;

/* What the scanner learned of a record: its log shape and Sigma logsource, tenant and event
 * time. Valid during the callback. */
typedef struct vigie_record {
    const char *data; /* the record as given */
    size_t len;
    const vigie_source *src;   /* as given (may be NULL) */
    const char *shape;         /* "m365_ual", "signin_graph", "cloudtrail", ... "unknown" */
    const char *product;       /* Sigma logsource product, or NULL */
    const char *const *services;
    uint32_t n_services;
    const char *const *categories;
    uint32_t n_categories;
    const char *tenant;        /* organization / tenant id (not NUL-terminated), or NULL */
    size_t tenant_len;
    int has_time;
    double time;               /* event time, Unix seconds UTC, when has_time */
} vigie_record;

typedef enum {
    VIGIE_MATCH_TRUE = 0,     /* the rule's condition is true */
    VIGIE_MATCH_UNDETERMINED  /* neither true nor false: a regex hit its PCRE2 limit
                                 (docs/SIGMA.md, three-valued matching) */
} vigie_match_result;

/* One rule that matched a record, and the alert `vigie scan` raises for it. Rule strings live
 * as long as the engine, the rest (alert included) during the callback. */
typedef struct vigie_match {
    uint32_t rule;            /* index for vigie_engine_rule */
    const char *rule_id;      /* may be NULL */
    const char *title;
    const char *level;        /* may be NULL */
    vigie_match_result result;
    /* VIGIE_MATCH_UNDETERMINED only: why ("regex_match_limit", "regex_depth_limit",
     * "regex_heap_limit", "regex_error") and the Sigma fields whose regexes were stopped */
    const char *undetermined_reason;
    const char *const *undetermined_fields;
    uint32_t n_undetermined_fields;
    int more_undetermined_fields;
    const vigie_record *record;
    /* the alert: kind VIGIE_ALERT_SIGMA, VIGIE_ALERT_UNDETERMINED, or VIGIE_ALERT_NEW_TERM
     * for a first-seen candidate; its id is computed (vigie_alert_id). Never NULL. */
    const vigie_alert *alert;
    /* a first-seen rule's match: a candidate the state (not in the API yet) would decide on;
     * not an alert by itself (see the top of this header) */
    int candidate;
} vigie_match;

/* Called per match, in rule order. Return non-zero to stop scanning this record. */
typedef int (*vigie_match_fn)(void *ud, const vigie_match *m);

/* A scanner for one thread over a compiled engine (VIGIE_INVAL before compile). diag receives
 * a bad record's diagnostic (file:line, offset, reason), from the scanning thread; may be NULL.
 * The engine must outlive the scanner. */
VIGIE_API int vigie_scanner_new(const vigie_engine *e, vigie_diag_fn diag, void *diag_ud,
                                vigie_scanner **out);
VIGIE_API void vigie_scanner_free(vigie_scanner *s);

/* Report UNDETERMINED rules to the match callback too (default: on, as `vigie scan`); off:
 * they are only counted. */
VIGIE_API void vigie_scanner_set_undetermined(vigie_scanner *s, int on);

/* Scan one record: rec[0..len) is one JSON object text (no NUL needed). Parses it, classifies
 * it, evaluates the rules routed to its logsource and calls fn for each match. Returns
 * VIGIE_OK (also when nothing matched), or the status of a bad record (VIGIE_JSON,
 * VIGIE_TRUNCATED, VIGIE_UTF8, VIGIE_TOODEEP, VIGIE_TOOBIG: reported through the scanner's
 * diag with src's position, no rule evaluated), or an internal error (VIGIE_PREFILTER). */
VIGIE_API int vigie_scanner_scan(vigie_scanner *s, const char *rec, size_t len,
                                 const vigie_source *src, vigie_match_fn fn, void *ud);

/* What the record says about who did what from where (the facts sessions, combined alerts
 * and campaigns are built from; the field lists per log shape are data/facts, docs/FIELDS.md).
 * A string is NULL when the record does not say (no field of its list is present, or its
 * value is "-"); strings are NUL-terminated, with NUL and 0x1f bytes of a value replaced by
 * '?'. app is "AppId|ClientAppId" (either part "-" when absent). For a mail read the user is
 * the mailbox, the address and user agent those of the client that read it. */
typedef struct vigie_record_facts {
    int mail_read;   /* a mailbox read (MailItemsAccessed) */
    int signin;      /* a sign-in record */
    int rest_client; /* a mail read by a REST client (its user agent says Client=REST) */
    const char *tenant, *user, *session, *token, *address, *app, *user_agent;
    /* a mail read: what it read (else 0) */
    uint64_t internet_message_ids; /* distinct InternetMessageIds */
    double operation_count;
    uint32_t n_folders;
} vigie_record_facts;

/* The facts of the record the scanner last scanned: from its match callback, or after
 * vigie_scanner_scan returned VIGIE_OK, until the next scan. Computed when asked (once per
 * record), in the scanner's buffers: no allocation once warm. VIGIE_INVAL when the last scan
 * parsed no record (a bad record, or none yet). */
VIGIE_API int vigie_scanner_facts(vigie_scanner *s, vigie_record_facts *out);

typedef struct vigie_scan_stats {
    uint64_t records;       /* scanned and parsed */
    uint64_t bad_records;   /* refused (not JSON, not an object, ...) */
    uint64_t routed;        /* (record, rule) pairs after logsource routing */
    uint64_t candidates;    /* pairs that passed the prefilter and were evaluated */
    uint64_t matches;
    uint64_t undetermined;
} vigie_scan_stats;
VIGIE_API void vigie_scanner_stats(const vigie_scanner *s, vigie_scan_stats *out);

#ifdef __cplusplus
}
#endif
#endif
