/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_corr_state.c: the correlation engine's saved state (vg__corr_save/_load).
 * A stream of matches over several groups and five correlation types (with lateness and a
 * chained correlation) is fed in one pass; then, at many split points, the first part is
 * fed, the state saved, the rules loaded again (new pointers, the references of the temporal
 * correlation listed in another order, so other slot numbers) and the state loaded into a
 * new engine that is fed the rest: the alerts (match index, rule, value, events) are those of
 * the one pass. The state of a correlation that is no longer loaded is reported and dropped
 * while the others load; truncated and bit-flipped sections fail cleanly.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/corr.h"
#include "test.h"

#define HDR(name)                                                                                  \
    "title: " name "\nname: " name "\nlogsource: {category: test}\n"                               \
    "detection: {sel: {x: 1}, condition: sel}\n---\n"

#define CORRS(temporal_rules)                                                                      \
    HDR("a")                                                                                       \
    HDR("b") "title: Count\nid: c-count\ncorrelation:\n  type: event_count\n  rules: [a]\n"        \
             "  group-by: [U]\n  timespan: 30s\n  condition: {gte: 3}\n---\n"                      \
             "title: Distinct\nid: c-distinct\ncorrelation:\n  type: value_count\n  rules: [a, "   \
             "b]\n"                                                                                \
             "  group-by: [U]\n  timespan: 40s\n  condition: {field: V, gte: 3}\n---\n"            \
             "title: Both\nid: c-both\ncorrelation:\n  type: temporal\n  rules: " temporal_rules   \
             "\n"                                                                                  \
             "  group-by: [U]\n  timespan: 20s\n---\n"                                             \
             "title: Pct\nid: c-pct\ncorrelation:\n  type: value_percentile\n  rules: [b]\n"       \
             "  timespan: 50s\n  condition: {field: V, percentile: 90, gt: 30}\n---\n"             \
             "title: Outer\nid: c-outer\ncorrelation:\n  type: event_count\n  rules: [c-count]\n"  \
             "  group-by: [U]\n  timespan: 60s\n  condition: {gte: 2}\n"

typedef struct m {
    int rule; /* 0: a, 1: b */
    double t;
    char u[4], v[4];
} m;

enum { N = 600 };
static m ms[N];

static bool get(void *ud, const char *field, const char **val, size_t *len)
{
    const m *e = ud;
    const char *s = !strcmp(field, "U") ? e->u : !strcmp(field, "V") ? e->v : NULL;
    if (!s)
        return false;
    *val = s;
    *len = strlen(s);
    return true;
}

typedef struct out {
    vg_buf b;
    int cur;
} out;

static int on_alert(void *ud, const vg_corr_alert *a)
{
    out *o = ud;
    vg__buf_printf(&o->b, "%d %s %.6g %llu %.*s\n", o->cur, a->rule->id, a->value,
                   (unsigned long long)a->n_events, (int)a->group_len, a->group);
    return 0;
}

static int n_diag;
static void count_diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    (void)d;
    n_diag++;
}

typedef struct eng {
    vg_ruleload *rl;
    vg_corr *c;
    const vg_rule *base[2];
} eng;

static void eng_new(eng *e, const char *yaml)
{
    vg_ruleload_opts lo = {NULL, NULL, NULL, 0};
    e->rl = vg__ruleload_new(&lo);
    vg__ruleload_string(e->rl, "t.yml", yaml, strlen(yaml));
    uint32_t nr = vg__ruleload_count(e->rl);
    const vg_rule *rules[16];
    for (uint32_t i = 0; i < nr && i < 16; i++) {
        rules[i] = vg__ruleload_get(e->rl, i);
        if (rules[i]->name && !strcmp(rules[i]->name, "a"))
            e->base[0] = rules[i];
        if (rules[i]->name && !strcmp(rules[i]->name, "b"))
            e->base[1] = rules[i];
    }
    vg_corr_opts o = {.lateness = 15, .diag = count_diag};
    CHECK_EQ_INT(vg__corr_new(rules, nr < 16 ? nr : 16, &o, &e->c), VIGIE_OK);
}

static void eng_free(eng *e)
{
    vg__corr_free(e->c);
    vg__ruleload_free(e->rl);
}

static void feed(eng *e, int from, int to, out *o)
{
    for (int i = from; i < to; i++) {
        o->cur = i;
        CHECK_EQ_INT(vg__corr_feed(e->c, e->base[ms[i].rule], ms[i].t, get, &ms[i], (uint64_t)i + 1,
                                   on_alert, o),
                     VIGIE_OK);
    }
}

static void make_stream(void)
{
    uint32_t seed = 777;
    double t = 0;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        t += (seed >> 16) % 5;
        ms[i].rule = (seed >> 9) & 1;
        /* some matches late, within the lateness and beyond it */
        ms[i].t = t - ((seed >> 20) % 8 == 0 ? (double)((seed >> 12) % 25) : 0);
        snprintf(ms[i].u, sizeof ms[i].u, "u%u", (seed >> 4) % 4);
        snprintf(ms[i].v, sizeof ms[i].v, "%u", (seed >> 24) % 40);
    }
}

static void stats_line(const vg_corr *c, char *s, size_t n)
{
    vg_corr_stats st;
    vg__corr_stats(c, NULL, &st);
    snprintf(s, n, "%llu %llu %llu %llu %llu %u", (unsigned long long)st.fed,
             (unsigned long long)st.alerts, (unsigned long long)st.late_inserted,
             (unsigned long long)st.late_dropped, (unsigned long long)st.overflow, st.groups);
}

static void test_split_equals_one_pass(void)
{
    make_stream();
    const char *y1 = CORRS("[a, b]"), *y2 = CORRS("[b, a]");
    eng one;
    eng_new(&one, y1);
    out o1 = {{0}, 0};
    vg__buf_init(&o1.b, 0);
    feed(&one, 0, N, &o1);
    char st1[128];
    stats_line(one.c, st1, sizeof st1);
    CHECK(o1.b.len > 1000); /* every correlation fires somewhere in the stream */
    CHECK(o1.b.data && strstr(o1.b.data, "c-count") && strstr(o1.b.data, "c-distinct") &&
          strstr(o1.b.data, "c-both") && strstr(o1.b.data, "c-pct") &&
          strstr(o1.b.data, "c-outer"));
    for (int k = 0; k <= N; k += 37) {
        eng a, b;
        eng_new(&a, y1);
        out o = {{0}, 0};
        vg__buf_init(&o.b, 0);
        feed(&a, 0, k, &o);
        vg_buf st;
        vg__buf_init(&st, 0);
        CHECK_EQ_INT(vg__corr_save(a.c, &st), VIGIE_OK);
        eng_free(&a);
        eng_new(&b, y2); /* the rules again, another slot order */
        n_diag = 0;
        CHECK_EQ_INT(vg__corr_load(b.c, st.data, st.len, count_diag, NULL), VIGIE_OK);
        CHECK_EQ_INT(n_diag, 0);
        CHECK_EQ_INT(vg__corr_load(b.c, st.data, st.len, count_diag, NULL),
                     k ? VIGIE_INVAL : VIGIE_OK);
        feed(&b, k, N, &o);
        CHECK_MSG(o.b.len == o1.b.len && !memcmp(o.b.data, o1.b.data, o.b.len),
                  "split at %d: the alerts differ from one pass", k);
        char st2[128];
        stats_line(b.c, st2, sizeof st2);
        CHECK_EQ_STR(st2, st1);
        eng_free(&b);
        vg__buf_free(&st);
        vg__buf_free(&o.b);
    }
    eng_free(&one);
    vg__buf_free(&o1.b);
}

static void test_unknown_rule_dropped(void)
{
    make_stream();
    eng a, b;
    eng_new(&a, CORRS("[a, b]"));
    out o = {{0}, 0};
    vg__buf_init(&o.b, 0);
    feed(&a, 0, N / 2, &o);
    vg_buf st;
    vg__buf_init(&st, 0);
    CHECK_EQ_INT(vg__corr_save(a.c, &st), VIGIE_OK);
    eng_free(&a);
    /* the reload lost c-pct and changed c-both's type: both reported and dropped */
    const char *y = HDR("a") HDR(
        "b") "title: Count\nid: c-count\ncorrelation:\n  type: event_count\n  rules: [a]\n"
             "  group-by: [U]\n  timespan: 30s\n  condition: {gte: 3}\n---\n"
             "title: Both\nid: c-both\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b]\n"
             "  group-by: [U]\n  timespan: 20s\n";
    eng_new(&b, y);
    n_diag = 0;
    CHECK_EQ_INT(vg__corr_load(b.c, st.data, st.len, count_diag, NULL), VIGIE_OK);
    CHECK_EQ_INT(n_diag, 4); /* c-distinct, c-both, c-pct, c-outer */
    vg_corr_stats s;
    vg__corr_stats(b.c, NULL, &s);
    CHECK(s.groups == 4 && s.fed > 0); /* c-count's four users */
    eng_free(&b);
    vg__buf_free(&st);
    vg__buf_free(&o.b);
}

static void test_broken_sections_fail_cleanly(void)
{
    make_stream();
    eng a;
    eng_new(&a, CORRS("[a, b]"));
    out o = {{0}, 0};
    vg__buf_init(&o.b, 0);
    feed(&a, 0, 120, &o);
    vg_buf st;
    vg__buf_init(&st, 0);
    CHECK_EQ_INT(vg__corr_save(a.c, &st), VIGIE_OK);
    eng_free(&a);
    eng b;
    eng_new(&b, CORRS("[a, b]"));
    int bad = 0;
    for (size_t n = 0; n < st.len; n += (n < 64 ? 1 : 13)) {
        int rc = vg__corr_load(b.c, st.data, n, NULL, NULL);
        vg_corr_stats s;
        vg__corr_stats(b.c, NULL, &s);
        if (rc != VIGIE_TRUNCATED || s.groups)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* bit flips: an error and no group, or a state the engine goes on with (ASan watches) */
    for (size_t i = 0; i < st.len; i += 5) {
        ((uint8_t *)st.data)[i] ^= 0x21;
        int rc = vg__corr_load(b.c, st.data, st.len, NULL, NULL);
        vg_corr_stats s;
        vg__corr_stats(b.c, NULL, &s);
        if (rc != VIGIE_OK)
            CHECK(rc == VIGIE_TRUNCATED && s.groups == 0);
        else
            feed(&b, 120, 200, &o);
        ((uint8_t *)st.data)[i] ^= 0x21;
        eng_free(&b);
        eng_new(&b, CORRS("[a, b]"));
    }
    eng_free(&b);
    vg__buf_free(&st);
    vg__buf_free(&o.b);
}

int main(void)
{
    RUN(test_split_equals_one_pass);
    RUN(test_unknown_rule_dropped);
    RUN(test_broken_sections_fail_cleanly);
    return TEST_DONE();
}
