/* SPDX-License-Identifier: Apache-2.0 */
/*
 * corr.h: the Sigma 2.1 correlation engine. Stage: correlate (depends on util, json, rule).
 *
 * The caller runs the base rules on each event (match stage) and hands every match of a rule
 * that some correlation references to vg__corr_feed, in read order. The engine keeps, per
 * correlation rule and group (the values of its group-by fields, through its aliases), a
 * sliding window ending at the current event, evaluates the correlation's condition on it
 * and calls `emit` for each correlation that fires. All seven types are supported:
 * event_count, value_count, temporal, temporal_ordered, value_sum, value_avg,
 * value_percentile; a correlation may reference rules by id or name, and other correlations
 * (chaining: an inner alert feeds the outer correlation, whose group-by fields are read from
 * the inner group first, then from the event). Semantics and their reasons are in
 * docs/internals/correlation.md.
 *
 * Costs: O(1) amortized per fed match for event_count, value_count, temporal, value_sum and
 * value_avg in time order; O(window) for temporal_ordered, value_percentile and late
 * events; no allocation per event once groups and their rings have grown. Memory is bounded
 * by VG_CORR_MAX_GROUPS groups per correlation rule (least recently updated evicted) and
 * VG_CORR_MAX_GROUP_EVENTS entries per group (limits.h).
 *
 * Ownership and threads: vg__corr_new borrows the rules (they must outlive the vg_corr; they
 * normally live in the vg_ruleload's arena); the vg_corr owns all its state and is freed with
 * vg__corr_free. Pointers passed to emit are valid only during the callback. A vg_corr is not
 * thread-safe: one caller at a time (vigie scan calls it from its writer, in read order).
 */
#ifndef VG_CORR_H
#define VG_CORR_H

#include "rule/rule.h"

typedef struct vg_corr vg_corr;

typedef struct vg_corr_opts {
    uint32_t max_groups; /* per correlation rule; 0 = VG_CORR_MAX_GROUPS */
    double lateness;     /* seconds: a match up to this much older than its group's newest
                            is inserted in time order and evaluated; older ones are dropped
                            and counted (late_dropped). 0 = input must be in time order */
    bool reset_on_fire;  /* forget a group's window after it fires (default false: every
                            match whose window meets the condition fires, as Sigma's range
                            conditions require; see docs/internals/correlation.md) */
    vigie_diag_fn diag;  /* correlations refused at vg__corr_new (unknown rule, cycle,
                            bad percentile) are reported here and skipped */
    void *diag_ud;
} vg_corr_opts;

/* Field lookup for the current event: set *val and *len to the text of `field` (Sigma dotted
 * name) and return true, or return false when the field is absent (or null). The caller
 * picks the text of non-string values (numbers as written, true/false) and of arrays (for
 * instance the first element). *val must stay valid until the next call of the getter. */
typedef bool (*vg_corr_getter)(void *ud, const char *field, const char **val, size_t *len);

/* One firing of a correlation rule. */
typedef struct vg_corr_alert {
    const vg_rule *rule; /* the correlation rule */
    const char *group;   /* the group as a JSON object text: {"User":"admin"} (group-by and
                            alias names as keys, values as strings); "{}" without group-by */
    size_t group_len;
    double value;         /* what met the condition: event count, distinct count, matched
                             referenced rules (temporal), ordered prefix length
                             (temporal_ordered), sum, average or percentile */
    double t_start;       /* time of the oldest event in the window (>= t_end - timespan) */
    double t_end;         /* time of the event that made it fire */
    const uint64_t *refs; /* event_refs of the window, oldest first: the newest
                             VG_CORR_MAX_ALERT_REFS of them */
    uint32_t n_refs;
    uint64_t n_events; /* matches in the window (may exceed n_refs) */
    uint32_t depth;    /* 0: fed by base rules; n: fed by a correlation of depth n-1 */
    bool output;       /* vg__corr_generates(c, rule): false when another correlation
                          references this one without `generate: true` */
} vg_corr_alert;

/* Return non-zero to stop the feed; vg__corr_feed then returns that value. */
typedef int (*vg_corr_emit)(void *ud, const vg_corr_alert *a);

typedef struct vg_corr_stats {
    uint64_t fed;           /* matches accepted into a window */
    uint64_t alerts;        /* emitted alerts */
    uint64_t evictions;     /* groups evicted because the group limit was reached */
    uint64_t late_inserted; /* matches older than their group's newest, inserted in order */
    uint64_t late_dropped;  /* matches older than the allowed lateness, dropped */
    uint64_t missing_group; /* matches without a group-by field, not counted */
    uint64_t missing_value; /* value_* matches without a usable condition.field value */
    uint64_t overflow;      /* window entries merged or forgotten at the per-group limit */
    uint32_t groups;        /* groups currently held */
} vg_corr_stats;

/* Build an engine for every correlation rule among rules[0..n_rules) (the other rules are
 * the ones they may reference, by id first, then by name). A correlation whose reference
 * is unknown, that is part of a reference cycle, or whose percentile is outside [0, 100] is
 * reported through opts->diag and skipped; the others work. opts may be NULL (defaults).
 * Returns VIGIE_OK or VIGIE_NOMEM / VIGIE_INVAL. */
int vg__corr_new(const vg_rule *const *rules, uint32_t n_rules, const vg_corr_opts *opts,
                 vg_corr **out);
void vg__corr_free(vg_corr *c);

/* Number of correlation rules that are active (loaded and not skipped). */
uint32_t vg__corr_count(const vg_corr *c);

/* True when some active correlation references base_rule: its matches should be fed. */
bool vg__corr_wants(const vg_corr *c, const vg_rule *base_rule);

/* Whether matches of `rule` (a base rule or a correlation) should be output as alerts of
 * their own: true unless an active correlation references it, and none of those that do
 * sets `generate: true` (Sigma: referenced rules are silent by default). */
bool vg__corr_generates(const vg_corr *c, const vg_rule *rule);

/* Feed one match of base_rule on the event at time t (seconds), identified by event_ref
 * (returned in alerts; feeding the same event_ref twice in a row to a correlation for two of
 * its rules counts the event once, except for temporal types where each rule counts).
 * Calls emit for each correlation that fires, chained ones included. Returns VIGIE_OK,
 * VIGIE_NOMEM, or the non-zero value emit returned. */
int vg__corr_feed(vg_corr *c, const vg_rule *base_rule, double t, vg_corr_getter get, void *get_ud,
                  uint64_t event_ref, vg_corr_emit emit, void *emit_ud);

/* Counters of one correlation rule, or the sum over all when corr_rule is NULL. */
void vg__corr_stats(const vg_corr *c, const vg_rule *corr_rule, vg_corr_stats *out);

/* Saved state (util/ser.h encoding): every open window, keyed by the correlation rules' ids
 * (then name, then title) and their referenced rules' ids, so a state survives a restart
 * and a rule reload. Save appends a section to out. Load reads one into an engine that holds
 * no group yet: the state of a correlation no loaded rule has (or whose type, group-by or
 * referenced rules changed) is reported through diag and dropped; a short or malformed
 * section returns VIGIE_TRUNCATED and leaves no group; VIGIE_INVAL when c holds groups.
 * Event refs are saved as given: a caller that resumes must go on numbering after them. */
int vg__corr_save(const vg_corr *c, vg_buf *out);
int vg__corr_load(vg_corr *c, const void *p, size_t n, vigie_diag_fn diag, void *diag_ud);

#endif
