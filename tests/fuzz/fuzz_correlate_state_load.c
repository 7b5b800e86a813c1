/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_correlate_state_load.c: libFuzzer target for the loaders of saved state in correlate:
 * the first byte picks visibility, campaigns or the Sigma correlation engine (built once from
 * three correlation rules), the rest is the section. Any bytes must give an error status or a
 * state that then works (visibility finished, campaigns linked and written, correlations
 * fed), never a crash or a read outside the section. Corpus: sections saved by the unit
 * tests' feeds, and broken ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/corr.h"
#include "correlate/correlate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR(name)                                                                                  \
    "title: " name "\nname: " name "\nlogsource: {category: test}\n"                               \
    "detection: {sel: {x: 1}, condition: sel}\n---\n"
static const char RULES[] = HDR("a")
    HDR("b") "title: Count\nid: c-count\ncorrelation:\n  type: event_count\n  rules: [a]\n"
             "  group-by: [U]\n  timespan: 30s\n  condition: {gte: 3}\n---\n"
             "title: Distinct\nid: c-distinct\ncorrelation:\n  type: value_count\n  rules: [a, b]\n"
             "  group-by: [U]\n  timespan: 40s\n  condition: {field: V, gte: 3}\n---\n"
             "title: Both\nid: c-both\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b]\n"
             "  group-by: [U]\n  timespan: 20s\n";

static vg_ruleload *rl;
static const vg_rule *rules[8];
static uint32_t n_rules;

static bool get(void *ud, const char *field, const char **val, size_t *len)
{
    (void)field;
    *val = ud;
    *len = strlen(ud);
    return true;
}

static int no_alert(void *ud, const vg_corr_alert *a)
{
    (void)ud;
    (void)a;
    return 0;
}

static int no_gap(void *ud, const vg_vis_gap *g)
{
    (void)ud;
    (void)g;
    return 0;
}

static int no_line(void *ud, const char *line, size_t len)
{
    (void)ud;
    (void)line;
    (void)len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        vg_vis *v;
        if (vg__vis_new(&v) != VIGIE_OK)
            return 0;
        if (vg__vis_load(v, p, n) == VIGIE_OK) {
            vg_vis_fact f = {"a", 1.7e9, true, false, true};
            vg__vis_add(v, &f);
            vg__vis_advance(v, 1.8e9, no_gap, NULL);
            vg__vis_finish(v, NULL, NULL, no_gap, NULL);
        }
        vg__vis_free(v);
        break;
    }
    case 1: {
        vg_campaigns *c;
        if (vg__campaigns_new(NULL, NULL, NULL, &c) != VIGIE_OK)
            return 0;
        if (vg__campaigns_load(c, p, n) == VIGIE_OK) {
            vg__campaigns_changes(c, no_line, NULL);
            vg_buf o;
            vg__buf_init(&o, 0);
            vg__campaigns_finish(c, &o, NULL);
            vg__buf_free(&o);
        }
        vg__campaigns_free(c);
        break;
    }
    default: {
        if (!rl) {
            vg_ruleload_opts lo = {NULL, NULL, NULL, 0};
            rl = vg__ruleload_new(&lo);
            vg__ruleload_string(rl, "t.yml", RULES, strlen(RULES));
            n_rules = vg__ruleload_count(rl);
            for (uint32_t i = 0; i < n_rules && i < 8; i++)
                rules[i] = vg__ruleload_get(rl, i);
        }
        vg_corr *c;
        vg_corr_opts o = {.lateness = 10};
        if (vg__corr_new(rules, n_rules < 8 ? n_rules : 8, &o, &c) != VIGIE_OK)
            return 0;
        if (vg__corr_load(c, p, n, NULL, NULL) == VIGIE_OK)
            for (int i = 0; i < 16; i++)
                vg__corr_feed(c, rules[i & 1], 100.0 + i * 3 - (i % 5) * 7, get,
                              (void *)(i & 2 ? "u1" : "u2"), 1000 + (uint64_t)i, no_alert, NULL);
        vg__corr_free(c);
        break;
    }
    }
    return 0;
}
