/* SPDX-License-Identifier: Apache-2.0 */
/*
 * correlate.h: detections that need state across events. Stage: correlate (after match).
 *
 * First-seen ("new terms", the vigie extension `vigie: new_terms:` of a Sigma rule): for
 * each rule, group (a tenant, or the values of group fields) and term (the tuple of the
 * rule's field values), remember when the group was first seen and which terms it has
 * shown. An event whose term is new after the group's baseline period is first-seen; during
 * the baseline, terms are learned silently. State can be saved to and loaded from a file, so
 * that a baseline learned on one run is used by the next (`vigie scan --baseline FILE`).
 *
 * Events must reach vg__newterms_check in time order per group; `vigie scan` calls it from
 * its writer, which sees records in read order. Not thread-safe: one caller at a time.
 * Memory: bounded by VG_MAX_NEW_TERMS entries.
 */
#ifndef VG_CORRELATE_H
#define VG_CORRELATE_H

#include "match/match.h"

typedef struct vg_newterms vg_newterms;

int vg__newterms_new(vg_newterms **out);
void vg__newterms_free(vg_newterms *nt);

/* Returns true when `term` is new for (rule_key, group) and the group's baseline has
 * passed at time t; records the term either way. rule_key identifies the rule (its id). */
bool vg__newterms_check(vg_newterms *nt, const char *rule_key, const char *group,
                        const char *term, double t, double baseline_s);

/* Terms not remembered because the limit was reached. */
uint64_t vg__newterms_dropped(const vg_newterms *nt);
uint64_t vg__newterms_count(const vg_newterms *nt);

/* State file: JSON lines {"rule":..,"group":..,"term":..,"first_seen":..} and one line per
 * group {"rule":..,"group":..,"group_first_seen":..}. Loading a group marks its baseline as
 * already learned. Load reports bad lines through diag and skips them. */
int vg__newterms_load(vg_newterms *nt, const char *path, vigie_diag_fn diag, void *diag_ud);
int vg__newterms_save(const vg_newterms *nt, const char *path);

/* ---- indicators with time windows ------------------------------------------------------------ */

/* Indicator sets: published infrastructure (the Storm-0558 list is built in, from
 * data/indicators/) and the user's own, in vigie's YAML format (docs/INDICATORS.md) or as
 * STIX 2.1 bundles of `indicator` objects with ipv4-addr / ipv6-addr value patterns and
 * valid_from / valid_until. An address matches only inside its window, widened by a margin.
 * Immutable after loading: share it between threads. */
typedef struct vg_indicators vg_indicators;

typedef struct vg_indicator_hit {
    const char *set_id, *set_name, *level, *role, *value, *first_seen, *last_seen;
    const char *const *tags;
    uint32_t n_tags;
} vg_indicator_hit;

int vg__indicators_new(vg_indicators **out, double margin_s);
void vg__indicators_free(vg_indicators *x);
int vg__indicators_load_builtin(vg_indicators *x, vigie_diag_fn diag, void *diag_ud);
/* A file: vigie's YAML format, or a STIX 2.1 bundle (JSON), told apart by content. */
int vg__indicators_load(vg_indicators *x, const char *path, vigie_diag_fn diag, void *diag_ud);
uint32_t vg__indicators_count(const vg_indicators *x);
/* Look up an address seen at time t (Unix seconds). The address may carry a port
 * ("1.2.3.4:443", "[2001:db8::1]:443") or an IPv4-mapped prefix ("::ffff:1.2.3.4"). */
bool vg__indicators_match_ip(const vg_indicators *x, const char *s, size_t n, double t,
                             vg_indicator_hit *hit);

#endif
