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

#endif
