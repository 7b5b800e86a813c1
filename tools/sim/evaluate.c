/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evaluate.c: `vigie-sim evaluate TRUTH.json ALERTS.jsonl`: score a scan of a simulated scenario
 * against the scenario's truth. Per organization: victim or not, alerts by level, high
 * (high or critical) alerts, messages read (distinct InternetMessageIds in high mail-access
 * alerts), first-seen and indicator alerts, visibility gaps; then organization-level precision
 * and recall of "flagged high". Exit 0 when precision and recall are both 1, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

typedef struct org_score {
    char name[64], tenant[64];
    bool victim;
    uint64_t alerts, high, messages, first_seen, indicators, gaps;
    uint64_t sessions_high, session_messages; /* combined (per-session) alerts */
} org_score;

int vg__sim_evaluate(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vigie-sim evaluate TRUTH.json ALERTS.jsonl\n");
        return VG_SIM_EXIT_USAGE;
    }
    char *truth, *alerts;
    size_t tl, al;
    if (vg__read_file(argv[1], 1u << 30, &truth, &tl) != VIGIE_OK) {
        fprintf(stderr, "vigie-sim: error: cannot read %s\n", argv[1]);
        return VG_SIM_EXIT_INPUT;
    }
    if (vg__read_file(argv[2], (size_t)1 << 34, &alerts, &al) != VIGIE_OK) {
        fprintf(stderr, "vigie-sim: error: cannot read %s\n", argv[2]);
        free(truth);
        return VG_SIM_EXIT_INPUT;
    }
    vg_jtape t;
    vg__jtape_init(&t);
    org_score *orgs = NULL;
    uint32_t n = 0;
    int ex = VG_SIM_EXIT_INPUT;
    int64_t list = -1;
    if (vg__json_parse(&t, truth, tl, NULL) == VIGIE_OK)
        list = vg__json_obj_get(&t, 0, "orgs", 4);
    if (list < 0 || t.tok[list].type != VG_J_ARRAY) {
        fprintf(stderr, "vigie-sim: error: %s is not a vigie-sim simulate truth.json\n", argv[1]);
        goto out;
    }
    orgs = calloc(t.tok[list].len + 1, sizeof *orgs);
    for (uint32_t i = (uint32_t)list + 1; orgs && i < t.tok[list].next; i = t.tok[i].next) {
        org_score *o = &orgs[n++];
        vg__json_str_copy(&t, vg__json_obj_get(&t, i, "name", 4), o->name, sizeof o->name);
        vg__json_str_copy(&t, vg__json_obj_get(&t, i, "tenant", 6), o->tenant, sizeof o->tenant);
        int64_t v = vg__json_obj_get(&t, i, "victim", 6);
        o->victim = v >= 0 && t.tok[v].type == VG_J_TRUE;
    }
    bool any_combined = false;
    for (char *p = alerts, *end = alerts + al; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l && vg__json_parse(&t, p, l, NULL) == VIGIE_OK && t.tok[0].type == VG_J_OBJECT) {
            char tenant[64], kind[32], level[32] = "";
            vg__json_str_copy(&t, vg__json_obj_get(&t, 0, "tenant", 6), tenant, sizeof tenant);
            vg__json_str_copy(&t, vg__json_obj_get(&t, 0, "kind", 4), kind, sizeof kind);
            int64_t rule = vg__json_obj_get(&t, 0, "rule", 4);
            if (rule >= 0)
                vg__json_str_copy(&t, vg__json_obj_get(&t, (uint32_t)rule, "level", 5), level, sizeof level);
            for (uint32_t k = 0; k < n; k++) {
                org_score *o = &orgs[k];
                if (strcmp(o->tenant, tenant) != 0)
                    continue;
                if (!strcmp(kind, "gap")) {
                    o->gaps++;
                    break;
                }
                if (!strcmp(kind, "combined")) {
                    any_combined = true;
                    bool sh = !strcmp(level, "high") || !strcmp(level, "critical");
                    o->sessions_high += sh;
                    int64_t smr = vg__json_obj_get(&t, 0, "messages_read", 13);
                    int64_t sid = smr >= 0 ? vg__json_obj_get(&t, (uint32_t)smr, "internet_message_ids", 20) : -1;
                    double sd;
                    if (sh && sid >= 0 &&
                        vg__json_number(t.src + t.tok[sid].off, t.tok[sid].len, &sd) == VIGIE_OK)
                        o->session_messages += (uint64_t)sd;
                    break;
                }
                o->alerts++;
                bool high = !strcmp(level, "high") || !strcmp(level, "critical");
                o->high += high;
                o->first_seen += !strcmp(kind, "new_term");
                o->indicators += !strcmp(kind, "indicator");
                int64_t mr = vg__json_obj_get(&t, 0, "messages_read", 13);
                int64_t ids = mr >= 0 ? vg__json_obj_get(&t, (uint32_t)mr, "internet_message_ids", 20) : -1;
                double d;
                if (high && ids >= 0 &&
                    vg__json_number(t.src + t.tok[ids].off, t.tok[ids].len, &d) == VIGIE_OK)
                    o->messages += (uint64_t)d;
                break;
            }
        }
        p += l + 1;
    }
    /* with combined alerts, an organization is flagged by its high sessions; else by its
     * high per-record alerts (output of an older vigie, or of other rules) */
    if (any_combined)
        for (uint32_t k = 0; k < n; k++) {
            orgs[k].high = orgs[k].sessions_high;
            orgs[k].messages = orgs[k].session_messages;
        }
    uint32_t tp = 0, fp = 0, fn = 0;
    printf("%-16s %-7s %7s %9s %9s %10s %10s %5s  %s\n", "ORGANIZATION", "TRUTH", "ALERTS", "HIGH-SESS",
           "MESSAGES", "FIRST-SEEN", "INDICATORS", "GAPS", "VERDICT");
    for (uint32_t k = 0; k < n; k++) {
        org_score *o = &orgs[k];
        bool flagged = o->high > 0;
        tp += flagged && o->victim;
        fp += flagged && !o->victim;
        fn += !flagged && o->victim;
        printf("%-16s %-7s %7llu %9llu %9llu %10llu %10llu %5llu  %s\n", o->name,
               o->victim ? "victim" : "clean", (unsigned long long)o->alerts,
               (unsigned long long)o->high, (unsigned long long)o->messages,
               (unsigned long long)o->first_seen, (unsigned long long)o->indicators,
               (unsigned long long)o->gaps,
               flagged ? (o->victim ? "flagged high (correct)" : "flagged high (FALSE POSITIVE)")
                       : (o->victim ? "missed (FALSE NEGATIVE)" : "quiet (correct)"));
    }
    double precision = tp + fp ? (double)tp / (tp + fp) : 1.0;
    double recall = tp + fn ? (double)tp / (tp + fn) : 1.0;
    printf("\norganizations flagged high: %u of %u victims, %u clean ones; precision %.2f, "
           "recall %.2f\n", tp, tp + fn, fp, precision, recall);
    ex = fp == 0 && fn == 0 ? VG_SIM_EXIT_OK : VG_SIM_EXIT_ALERTS;
out:
    free(orgs);
    vg__jtape_free(&t);
    free(truth);
    free(alerts);
    return ex;
}
