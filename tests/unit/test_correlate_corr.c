/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_corr.c: the correlation engine on what the conformance vectors leave out:
 * temporal_ordered order, repeated rules, value_percentile and its interpolation, generate,
 * chaining, group eviction at the limit, late matches within and over the lateness, window
 * boundaries, ranges, reset_on_fire, a missing group-by field or value, aliases, the
 * per-group entry limit, refused correlations. Each case is rules (YAML) + matches
 * (rule name, time, fields) -> the indexes of the matches that made a correlation fire.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/corr.h"
#include "test.h"

#define HDR(name)                                                                                  \
    "title: " name "\nname: " name "\nlogsource: {category: test}\n"                               \
    "detection: {sel: {x: 1}, condition: sel}\n---\n"

/* A fed match: base rule name, time, up to 4 fields (NULL-terminated pairs). */
typedef struct m {
    const char *rule;
    double t;
    const char *f[8];
} m;

static bool get(void *ud, const char *field, const char **val, size_t *len)
{
    const m *e = ud;
    for (int i = 0; i < 8 && e->f[i]; i += 2) {
        if (!strcmp(e->f[i], field)) {
            *val = e->f[i + 1];
            *len = strlen(*val);
            return true;
        }
    }
    return false;
}

typedef struct run {
    char fired[512];    /* "i,j,..." indexes of matches that fired, once each */
    double values[64];  /* value of each alert */
    vg_corr_alert last; /* its pointers are dangling once play() returns: use the copies */
    char last_group[128];
    char last_title[64];
    uint64_t last_refs[VG_CORR_MAX_ALERT_REFS];
    int n_alerts, cur, last_idx;
    vg_corr_stats st;
    int n_diag;
} run;

static int on_alert(void *ud, const vg_corr_alert *a)
{
    run *r = ud;
    if (r->n_alerts < 64)
        r->values[r->n_alerts] = a->value;
    r->n_alerts++;
    r->last = *a;
    snprintf(r->last_group, sizeof r->last_group, "%.*s", (int)a->group_len, a->group);
    snprintf(r->last_title, sizeof r->last_title, "%s", a->rule->title);
    memcpy(r->last_refs, a->refs, a->n_refs * sizeof *a->refs);
    r->last.refs = NULL;
    r->last.rule = NULL;
    r->last.group = NULL;
    if (r->cur != r->last_idx) {
        size_t l = strlen(r->fired);
        snprintf(r->fired + l, sizeof r->fired - l, "%s%d", l ? "," : "", r->cur);
        r->last_idx = r->cur;
    }
    return 0;
}

static void count_diag(void *ud, const vigie_diag *d)
{
    (void)d;
    ((run *)ud)->n_diag++;
}

static const vg_rule *by_name(vg_ruleload *rl, const char *name)
{
    for (uint32_t i = 0; i < vg__ruleload_count(rl); i++) {
        const vg_rule *r = vg__ruleload_get(rl, i);
        if ((r->name && !strcmp(r->name, name)) || (r->title && !strcmp(r->title, name)))
            return r;
    }
    return NULL;
}

/* Load yaml, build an engine with opts (NULL = defaults), feed the matches in order (each
 * with event_ref = its index), return the run. `cb` (may be NULL) sees the engine after. */
static run play(const char *yaml, const vg_corr_opts *opts, const m *ms, int n,
                void (*cb)(vg_corr *, vg_ruleload *, run *))
{
    run r;
    memset(&r, 0, sizeof r);
    r.last_idx = -1;
    vg_ruleload_opts lo = {NULL, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg__ruleload_string(rl, "t.yml", yaml, strlen(yaml));
    uint32_t nr = vg__ruleload_count(rl);
    const vg_rule *rules[16];
    for (uint32_t i = 0; i < nr && i < 16; i++)
        rules[i] = vg__ruleload_get(rl, i);
    vg_corr_opts o = opts ? *opts : (vg_corr_opts){0};
    o.diag = count_diag;
    o.diag_ud = &r;
    vg_corr *c;
    CHECK_EQ_INT(vg__corr_new(rules, nr < 16 ? nr : 16, &o, &c), VIGIE_OK);
    for (int i = 0; i < n; i++) {
        const vg_rule *b = by_name(rl, ms[i].rule);
        CHECK_MSG(b != NULL, "no rule %s", ms[i].rule);
        r.cur = i;
        if (b)
            CHECK_EQ_INT(
                vg__corr_feed(c, b, ms[i].t, get, (void *)&ms[i], (uint64_t)i, on_alert, &r),
                VIGIE_OK);
    }
    vg__corr_stats(c, NULL, &r.st);
    if (cb)
        cb(c, rl, &r);
    vg__corr_free(c);
    vg__ruleload_free(rl);
    return r;
}

#define COUNT_CORR(cond, extra)                                                                    \
    HDR("a")                                                                                       \
    HDR("b") "title: C\ncorrelation:\n  type: event_count\n  rules: [a]\n"                         \
             "  group-by: [User]\n  timespan: 10s\n" extra "  condition: " cond "\n"

static void test_temporal_ordered_order_matters(void)
{
    const char *y = HDR("a") HDR("b") "title: C\ncorrelation:\n  type: temporal_ordered\n"
                                      "  rules: [a, b]\n  group-by: [User]\n  timespan: 60s\n";
    const m ab[] = {{"a", 0, {"User", "u"}}, {"b", 5, {"User", "u"}}};
    const m ba[] = {{"b", 0, {"User", "u"}}, {"a", 5, {"User", "u"}}};
    const m bab[] = {{"b", 0, {"User", "u"}}, {"a", 5, {"User", "u"}}, {"b", 9, {"User", "u"}}};
    CHECK_EQ_STR(play(y, NULL, ab, 2, NULL).fired, "1");
    CHECK_EQ_STR(play(y, NULL, ba, 2, NULL).fired, "");
    CHECK_EQ_STR(play(y, NULL, bab, 3, NULL).fired, "2");
    /* ties (same time) count as in order: arrival order decides */
    const m tie[] = {{"a", 5, {"User", "u"}}, {"b", 5, {"User", "u"}}};
    CHECK_EQ_STR(play(y, NULL, tie, 2, NULL).fired, "1");
    /* the unordered type fires on b then a */
    const char *yu = HDR("a") HDR("b") "title: C\ncorrelation:\n  type: temporal\n"
                                       "  rules: [a, b]\n  group-by: [User]\n  timespan: 60s\n";
    CHECK_EQ_STR(play(yu, NULL, ba, 2, NULL).fired, "1");
}

static void test_temporal_repeated_rules(void)
{
    /* repeated matches of one rule never stand for another */
    const char *yu = HDR("a") HDR("b") "title: C\ncorrelation:\n  type: temporal\n"
                                       "  rules: [a, b]\n  timespan: 60s\n";
    const m aaa[] = {{"a", 0, {0}}, {"a", 1, {0}}, {"a", 2, {0}}};
    CHECK_EQ_STR(play(yu, NULL, aaa, 3, NULL).fired, "");
    /* temporal: a rule listed twice is needed once; temporal_ordered: a, b, a in order */
    const char *y2 = HDR("a") HDR("b") "title: C\ncorrelation:\n  type: temporal\n"
                                       "  rules: [a, b, a]\n  timespan: 60s\n";
    const m ab[] = {{"a", 0, {0}}, {"b", 1, {0}}};
    CHECK_EQ_STR(play(y2, NULL, ab, 2, NULL).fired, "1");
    const char *yo = HDR("a") HDR("b") "title: C\ncorrelation:\n  type: temporal_ordered\n"
                                       "  rules: [a, b, a]\n  timespan: 60s\n";
    const m aba[] = {{"a", 0, {0}}, {"b", 1, {0}}, {"a", 2, {0}}};
    CHECK_EQ_STR(play(yo, NULL, aba, 3, NULL).fired, "2");
    /* a condition on a temporal correlation counts the distinct rules matched */
    const char *y3 =
        HDR("a") HDR("b") HDR("c") "title: C\ncorrelation:\n  type: temporal\n"
                                   "  rules: [a, b, c]\n  timespan: 60s\n  condition: {gte: 2}\n";
    CHECK_EQ_STR(play(y3, NULL, ab, 2, NULL).fired, "1");
}

static void test_value_percentile(void)
{
    const char *y = HDR("a") "title: C\ncorrelation:\n  type: value_percentile\n  rules: [a]\n"
                             "  group-by: [S]\n  timespan: 60s\n"
                             "  condition: {field: ms, percentile: 75, gt: 310}\n";
    const m ms[] = {{"a", 0, {"S", "api", "ms", "400"}},
                    {"a", 1, {"S", "api", "ms", "100"}},
                    {"a", 2, {"S", "api", "ms", "300"}},
                    {"a", 3, {"S", "api", "ms", "200"}},
                    {"a", 100, {"S", "api", "ms", "1000"}}};
    /* p75 of {400}=400; {100,400}=325; {100,300,400}=350; {100,200,300,400}=325
       (rank 2.25, linear interpolation); then only {1000} is in the window */
    run r = play(y, NULL, ms, 5, NULL);
    CHECK_EQ_STR(r.fired, "0,1,2,3,4");
    CHECK(fabs(r.values[0] - 400) < 1e-9 && fabs(r.values[1] - 325) < 1e-9);
    CHECK(fabs(r.values[2] - 350) < 1e-9 && fabs(r.values[3] - 325) < 1e-9);
    CHECK(fabs(r.values[4] - 1000) < 1e-9);
    /* default percentile 50 (median); out-of-range percentile refuses the correlation */
    const char *y50 = HDR("a") "title: C\ncorrelation:\n  type: value_percentile\n"
                               "  rules: [a]\n  timespan: 60s\n  condition: {field: ms, gt: 250}\n";
    CHECK_EQ_STR(play(y50, NULL, ms, 4, NULL).fired, "0,2"); /* 400, 250, 300, 250 */
    const char *bad = HDR("a") "title: C\ncorrelation:\n  type: value_percentile\n"
                               "  rules: [a]\n  timespan: 60s\n"
                               "  condition: {field: ms, percentile: 101, gt: 1}\n";
    run rb = play(bad, NULL, ms, 1, NULL);
    CHECK_EQ_STR(rb.fired, "");
    CHECK_EQ_INT(rb.n_diag, 1);
}

static void check_generate(vg_corr *c, vg_ruleload *rl, run *r)
{
    (void)r;
    CHECK(vg__corr_generates(c, by_name(rl, "a")));  /* referenced by a generate: true */
    CHECK(!vg__corr_generates(c, by_name(rl, "b"))); /* referenced, no generate */
    CHECK(vg__corr_generates(c, by_name(rl, "c")));  /* not referenced */
    CHECK(!vg__corr_generates(c, by_name(rl, "Inner")));
    CHECK(vg__corr_generates(c, by_name(rl, "Outer")));
    CHECK(vg__corr_wants(c, by_name(rl, "a")) && !vg__corr_wants(c, by_name(rl, "c")));
}

static void test_generate_and_chaining(void)
{
    const char *y = HDR("a") HDR("b") HDR(
        "c") "title: G\nname: G\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n"
             "  generate: true\n  condition: {gte: 100}\n---\n"
             "title: Inner\nname: inner\ncorrelation:\n  type: event_count\n  rules: [b]\n"
             "  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n---\n"
             "title: Outer\ncorrelation:\n  type: event_count\n  rules: [inner]\n"
             "  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n";
    const m ms[] = {{"b", 0, {"User", "u"}}, {"b", 1, {"User", "u"}}, {"b", 2, {"User", "u"}}};
    run r = play(y, NULL, ms, 3, check_generate);
    /* inner fires at 1 and 2 (no reset); its second alert makes the outer fire at 2 */
    CHECK_EQ_STR(r.fired, "1,2");
    CHECK_EQ_INT(r.n_alerts, 3);
    CHECK_EQ_STR(r.last_title, "Outer");
    CHECK(r.last.depth == 1 && r.last.output && r.last.value == 2);
    CHECK_EQ_STR(r.last_group, "{\"User\":\"u\"}");
    /* a reference cycle refuses both correlations; an unknown reference refuses its own */
    const char *cyc =
        HDR("a") "title: X\nname: x\ncorrelation:\n  type: event_count\n  rules: [a, y]\n"
                 "  timespan: 1m\n  condition: {gte: 1}\n---\n"
                 "title: Y\nname: y\ncorrelation:\n  type: event_count\n  rules: [x]\n"
                 "  timespan: 1m\n  condition: {gte: 1}\n---\n"
                 "title: Z\ncorrelation:\n  type: event_count\n  rules: [nope]\n"
                 "  timespan: 1m\n  condition: {gte: 1}\n";
    run rc = play(cyc, NULL, ms, 0, NULL);
    CHECK_EQ_INT(rc.n_diag, 3);
}

static void test_eviction_at_group_limit(void)
{
    const char *y = COUNT_CORR("{gte: 2}", "");
    const m ms[] = {{"a", 0, {"User", "u1"}},
                    {"a", 1, {"User", "u2"}},
                    {"a", 2, {"User", "u3"}},
                    {"a", 3, {"User", "u1"}},
                    {"a", 4, {"User", "u3"}}};
    vg_corr_opts o = {.max_groups = 2};
    run r = play(y, &o, ms, 5, NULL);
    /* u3 evicts u1 (least recently updated); u1 comes back empty and evicts u2; u3 kept */
    CHECK_EQ_STR(r.fired, "4");
    CHECK_EQ_INT(r.st.evictions, 2);
    CHECK_EQ_INT(r.st.groups, 2);
    run big = play(y, NULL, ms, 5, NULL);
    CHECK_EQ_STR(big.fired, "3,4");
    CHECK_EQ_INT(big.st.evictions, 0);
}

static void test_late_matches(void)
{
    const char *y = COUNT_CORR("{gte: 2}", "");
    const m ms[] = {{"a", 100, {"User", "u"}}, {"a", 120, {"User", "u"}},
                    {"a", 112, {"User", "u"}},  /* late by 8s: window [102, 112] */
                    {"a", 105, {"User", "u"}},  /* late by 15s: window [95, 105] has 100 */
                    {"a", 50, {"User", "u"}},   /* later than the lateness: dropped */
                    {"a", 121, {"User", "u"}}}; /* [111, 121]: 112, 120, 121 */
    vg_corr_opts o = {.lateness = 20};
    run r = play(y, &o, ms, 6, NULL);
    CHECK_EQ_STR(r.fired, "3,5");
    CHECK_EQ_INT(r.st.late_inserted, 2);
    CHECK_EQ_INT(r.st.late_dropped, 1);
    CHECK(r.values[1] == 3 && r.last.t_start == 112 && r.last.n_refs == 3);
    CHECK(r.last_refs[0] == 2 && r.last_refs[1] == 1 && r.last_refs[2] == 5);
    /* no lateness: every out-of-order match is dropped */
    run strict = play(y, NULL, ms, 6, NULL);
    CHECK_EQ_STR(strict.fired, "5");
    CHECK_EQ_INT(strict.st.late_dropped, 3);
}

static void test_window_boundaries_and_ranges(void)
{
    /* inclusive at both ends: a match exactly timespan old is still in the window */
    const char *y = COUNT_CORR("{gte: 2}", "");
    const m edge[] = {{"a", 0, {"User", "u"}}, {"a", 10, {"User", "u"}}};
    const m past[] = {{"a", 0, {"User", "u"}}, {"a", 10.001, {"User", "u"}}};
    CHECK_EQ_STR(play(y, NULL, edge, 2, NULL).fired, "1");
    CHECK_EQ_STR(play(y, NULL, past, 2, NULL).fired, "");
    const char *yr = COUNT_CORR("{gte: 2, lte: 3}", "");
    const m four[] = {{"a", 0, {"User", "u"}},
                      {"a", 1, {"User", "u"}},
                      {"a", 2, {"User", "u"}},
                      {"a", 3, {"User", "u"}}};
    CHECK_EQ_STR(play(yr, NULL, four, 4, NULL).fired, "1,2");
    const char *yeq = COUNT_CORR("{eq: 3}", "");
    CHECK_EQ_STR(play(yeq, NULL, four, 4, NULL).fired, "2");
    const char *ylt = COUNT_CORR("{lt: 2}", "");
    CHECK_EQ_STR(play(ylt, NULL, four, 4, NULL).fired, "0");
}

static void test_reset_on_fire(void)
{
    const char *y = COUNT_CORR("{gte: 2}", "");
    const m ms[] = {{"a", 0, {"User", "u"}},
                    {"a", 1, {"User", "u"}},
                    {"a", 2, {"User", "u"}},
                    {"a", 3, {"User", "u"}},
                    {"a", 4, {"User", "u"}}};
    vg_corr_opts o = {.reset_on_fire = true};
    CHECK_EQ_STR(play(y, &o, ms, 5, NULL).fired, "1,3");
    CHECK_EQ_STR(play(y, NULL, ms, 5, NULL).fired, "1,2,3,4");
}

static void test_missing_group_field_and_value(void)
{
    const char *y = COUNT_CORR("{gte: 2}", "");
    const m ms[] = {{"a", 0, {"User", "u"}},
                    {"a", 1, {"Host", "h"}},
                    {"a", 2, {"User", ""}},
                    {"a", 3, {"User", ""}}};
    run r = play(y, NULL, ms, 4, NULL);
    /* no User: not counted (no group); an empty User is a group of its own */
    CHECK_EQ_STR(r.fired, "3");
    CHECK_EQ_STR(r.last_group, "{\"User\":\"\"}");
    CHECK_EQ_INT(r.st.missing_group, 1);
    const char *ys = HDR("a") "title: C\ncorrelation:\n  type: value_sum\n  rules: [a]\n"
                              "  timespan: 60s\n  condition: {field: n, gte: 10}\n";
    const m vs[] = {
        {"a", 0, {"n", "4"}}, {"a", 1, {"n", "many"}}, {"a", 2, {0}}, {"a", 3, {"n", "6.5"}}};
    run rs = play(ys, NULL, vs, 4, NULL);
    CHECK_EQ_STR(rs.fired, "3");
    CHECK_EQ_INT(rs.st.missing_value, 2);
    CHECK_EQ_STR(rs.last_group, "{}");
}

static void test_aliases(void)
{
    const char *y = HDR("login")
        HDR("proc") "title: C\ncorrelation:\n  type: value_count\n  rules: [login, proc]\n"
                    "  group-by: [host]\n  timespan: 60s\n"
                    "  aliases:\n    host:\n      login: TargetHost\n      proc: Computer\n"
                    "  condition: {field: Image, gte: 2}\n";
    const m ms[] = {{"login", 0, {"TargetHost", "h1", "Image", "a.exe"}},
                    {"proc", 1, {"Computer", "h2", "Image", "b.exe"}},
                    {"proc", 2, {"Computer", "h1", "Image", "a.exe"}},
                    {"proc", 3, {"Computer", "h1", "Image", "c.exe"}}};
    run r = play(y, NULL, ms, 4, NULL);
    CHECK_EQ_STR(r.fired, "3");
    CHECK_EQ_STR(r.last_group, "{\"host\":\"h1\"}");
    CHECK(r.last.value == 2 && r.last.n_events == 3);
}

static void test_same_event_counted_once(void)
{
    const char *y = HDR("a") HDR("b") "title: C\ncorrelation:\n  type: event_count\n"
                                      "  rules: [a, b]\n  timespan: 60s\n  condition: {gte: 2}\n";
    vg_ruleload_opts lo = {NULL, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg__ruleload_string(rl, "t.yml", y, strlen(y));
    const vg_rule *rules[3] = {vg__ruleload_get(rl, 0), vg__ruleload_get(rl, 1),
                               vg__ruleload_get(rl, 2)};
    vg_corr *c;
    CHECK_EQ_INT(vg__corr_new(rules, 3, NULL, &c), VIGIE_OK);
    run r;
    memset(&r, 0, sizeof r);
    r.last_idx = -1;
    m e = {"a", 0, {0}};
    vg__corr_feed(c, rules[0], 0, get, &e, 7, on_alert, &r);
    vg__corr_feed(c, rules[1], 0, get, &e, 7, on_alert, &r); /* same event, other rule */
    CHECK_EQ_INT(r.n_alerts, 0);
    r.cur = 1;
    vg__corr_feed(c, rules[1], 1, get, &e, 8, on_alert, &r);
    CHECK_EQ_STR(r.fired, "1");
    vg__corr_free(c);
    vg__ruleload_free(rl);
}

static void test_group_entry_limit(void)
{
    /* more matches in one window than a group keeps: event_count stays exact (the oldest
       entries are merged), value_count forgets its oldest values (counted as overflow) */
    enum { N = VG_CORR_MAX_GROUP_EVENTS * 2 + 10 };
    static m ms[N];
    static char vals[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(vals[i], sizeof vals[i], "v%d", i);
        ms[i] = (m){"a", i * 0.001, {"User", "u", "V", vals[i]}};
    }
    char y[512];
    snprintf(y, sizeof y, "%s", COUNT_CORR("{gte: 99999}", ""));
    char *p = strstr(y, "99999");
    snprintf(p, 8, "%d}\n", N);
    run r = play(y, NULL, ms, N, NULL);
    char want[16];
    snprintf(want, sizeof want, "%d", N - 1);
    CHECK_EQ_STR(r.fired, want);
    CHECK(r.st.overflow > 0);
    CHECK(r.last.n_events == N && r.last.n_refs == VG_CORR_MAX_ALERT_REFS);
    CHECK(r.last_refs[VG_CORR_MAX_ALERT_REFS - 1] == N - 1);
    const char *yv = HDR("a") "title: C\ncorrelation:\n  type: value_count\n  rules: [a]\n"
                              "  timespan: 1h\n  condition: {field: V, gte: 1}\n";
    run rv = play(yv, NULL, ms, N, NULL);
    CHECK_EQ_INT(rv.n_alerts, N);
    CHECK(rv.last.value == VG_CORR_MAX_GROUP_EVENTS);
    CHECK_EQ_INT(rv.st.overflow, N - VG_CORR_MAX_GROUP_EVENTS);
}

static void test_value_count_sliding(void)
{
    /* distinct values leave the window with their last occurrence */
    const char *y = HDR("a") "title: C\ncorrelation:\n  type: value_count\n  rules: [a]\n"
                             "  timespan: 10s\n  condition: {field: V, gte: 3}\n";
    const m ms[] = {{"a", 0, {"V", "x"}},  {"a", 5, {"V", "y"}},  {"a", 8, {"V", "x"}},
                    {"a", 14, {"V", "z"}}, {"a", 16, {"V", "w"}}, {"a", 19, {"V", "q"}}};
    /* at 14: [4,14] has y, x, z -> 3; at 16: [6,16] x, z, w -> 3; at 19: [9,19] z, w, q */
    run r = play(y, NULL, ms, 6, NULL);
    CHECK_EQ_STR(r.fired, "3,4,5");
}

static int keep_value(void *ud, const vg_corr_alert *a)
{
    *(double *)ud = a->value;
    return 0;
}

/* Random matches, in time order (ties included) and then jittered up to 20 s out of order
 * with 100 s of allowed lateness: every alert value is checked against a brute-force
 * computation over the matches fed so far whose time is in [t - 30, t]. */
static void test_random_against_brute_force(void)
{
    enum { N = 3000 };
    static m ms[N];
    static char vals[N][8];
    uint32_t seed = 12345;
    double t = 0;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        t += (seed >> 16) % 4;
        snprintf(vals[i], sizeof vals[i], "%u", (seed >> 8) % 40);
        ms[i] = (m){"a", t, {"V", vals[i]}};
    }
    static const char *types[] = {"event_count", "value_count", "value_sum", "value_avg"};
    for (int pass = 0; pass < 2; pass++)
        for (int ty = 0; ty < 4; ty++) {
            if (pass == 1 && ty == 0)
                for (int i = 0; i < N; i++) {
                    seed = seed * 1103515245u + 12345u;
                    ms[i].t -= (seed >> 16) % 21;
                }
            char y[512];
            snprintf(y, sizeof y,
                     HDR("a") "title: C\ncorrelation:\n  type: %s\n  rules: [a]\n"
                              "  timespan: 30s\n  condition: {field: V, gte: -1}\n",
                     types[ty]);
            vg_ruleload_opts lo = {NULL, NULL, NULL, 0};
            vg_ruleload *rl = vg__ruleload_new(&lo);
            vg__ruleload_string(rl, "t.yml", y, strlen(y));
            const vg_rule *rules[2] = {vg__ruleload_get(rl, 0), vg__ruleload_get(rl, 1)};
            vg_corr *c;
            vg_corr_opts o = {.lateness = pass ? 100 : 0};
            CHECK_EQ_INT(vg__corr_new(rules, 2, &o, &c), VIGIE_OK);
            int bad = 0;
            for (int i = 0; i < N; i++) {
                double got = NAN, want = 0, sum = 0;
                int n = 0;
                bool seen[40] = {0};
                vg__corr_feed(c, rules[0], ms[i].t, get, &ms[i], (uint64_t)i, keep_value, &got);
                for (int j = 0; j <= i; j++) {
                    if (ms[j].t < ms[i].t - 30 || ms[j].t > ms[i].t)
                        continue;
                    int v = atoi(vals[j]);
                    n++;
                    sum += v;
                    if (!seen[v])
                        want += ty == 1;
                    seen[v] = true;
                }
                want = ty == 0 ? n : ty == 1 ? want : ty == 2 ? sum : sum / n;
                if (!(fabs(got - want) < 1e-6) && bad++ < 3)
                    fprintf(stderr, "%s pass %d at %d: got %g, want %g\n", types[ty], pass, i, got,
                            want);
            }
            CHECK_EQ_INT(bad, 0);
            vg_corr_stats st;
            vg__corr_stats(c, rules[1], &st);
            CHECK(pass ? st.late_inserted > N / 4 && !st.late_dropped : !st.late_inserted);
            vg__corr_free(c);
            vg__ruleload_free(rl);
        }
}

int main(void)
{
    RUN(test_temporal_ordered_order_matters);
    RUN(test_temporal_repeated_rules);
    RUN(test_value_percentile);
    RUN(test_generate_and_chaining);
    RUN(test_eviction_at_group_limit);
    RUN(test_late_matches);
    RUN(test_window_boundaries_and_ranges);
    RUN(test_reset_on_fire);
    RUN(test_missing_group_field_and_value);
    RUN(test_aliases);
    RUN(test_same_event_counted_once);
    RUN(test_group_entry_limit);
    RUN(test_value_count_sliding);
    RUN(test_random_against_brute_force);
    return TEST_DONE();
}
