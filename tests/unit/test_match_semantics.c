/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_match_semantics.c: engine-level domain assertions that the conformance vectors do not
 * pin down: JSON escapes that hide prefilter literals (nested "\\u", "\/"), glob matching cost
 * and UTF-8 '?', numbers and booleans, filters AND-ed into the rules they name, invalid
 * regexes dropped with file:line:col, routing when more logsources appear than the route
 * cache holds. Every assertion runs twice, with and without the prefilter, and both runs must
 * give the expected answer: the prefilter may only skip rules that cannot match.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/match.h"
#include "test.h"

typedef struct diags {
    int n;
    char last[512];
    uint64_t line, col;
} diags;

static void keep(void *ud, const vigie_diag *d)
{
    diags *g = ud;
    if (!g)
        return;
    g->n++;
    snprintf(g->last, sizeof g->last, "%s", d->message);
    g->line = d->line;
    g->col = d->col;
}

static int count_cb(void *ud, uint32_t ri)
{
    (void)ri;
    (*(int *)ud)++;
    return 0;
}

/* Number of rules of `yaml` that fire on `event` (identity field map, every logsource),
 * or -1 when something before matching failed. */
static int run_rules(const char *yaml, const char *event, bool no_prefilter, diags *g)
{
    vg_ruleload_opts lo = {keep, g, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg_compile_opts co = {keep, g, NULL, true, no_prefilter};
    vg_ruleset *rs = NULL;
    vg_matcher *m = NULL;
    vg_jtape t;
    vg__jtape_init(&t);
    int hits = -1;
    if (rl && vg__ruleload_string(rl, "t.yml", yaml, strlen(yaml)) == VIGIE_OK &&
        vg__ruleset_compile(rl, &co, &rs) == VIGIE_OK && vg__matcher_new(rs, &m) == VIGIE_OK &&
        vg__json_parse(&t, event, strlen(event), NULL) == VIGIE_OK) {
        vg_eventinfo ei;
        memset(&ei, 0, sizeof ei);
        hits = 0;
        if (vg__matcher_run(m, &t, &ei, count_cb, &hits) != VIGIE_OK)
            hits = -1;
    }
    vg__jtape_free(&t);
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
    return hits;
}

static int matches_both(const char *yaml, const char *event)
{
    int a = run_rules(yaml, event, false, NULL);
    int b = run_rules(yaml, event, true, NULL);
    return a == b ? a : -2;
}

#define assert_rule_matches(rule, event, want)                                                    \
    CHECK_MSG(matches_both(rule, event) == (want), "want %d (prefilter on/off): %s", want, event)

/* a one-search rule from the body of `sel:` */
static const char *rule_of(char *buf, size_t cap, const char *sel)
{
    snprintf(buf, cap, "title: t\nid: r1\nlogsource:\n  product: test\ndetection:\n  sel:\n%s"
                       "  condition: sel\n",
             sel);
    return buf;
}

static void test_escapes_never_hide_a_match(void)
{
    char r[1024];
    /* JSON held in a string: "\\u0041" is an escape once the inner JSON is read */
    rule_of(r, sizeof r, "    AuditData.Operation: AddMember\n");
    assert_rule_matches(r, "{\"AuditData\":\"{\\\"Operation\\\":\\\"\\\\u0041ddMember\\\"}\"}", 1);
    assert_rule_matches(r, "{\"AuditData\":\"{\\\"Operation\\\":\\\"AddMember\\\"}\"}", 1);
    assert_rule_matches(r, "{\"AuditData\":\"{\\\"Operation\\\":\\\"DelMember\\\"}\"}", 0);
    /* "\/" is '/' */
    rule_of(r, sizeof r, "    Image|endswith: '/bin/sh'\n");
    assert_rule_matches(r, "{\"Image\":\"\\/usr\\/bin\\/sh\"}", 1);
    assert_rule_matches(r, "{\"Image\":\"/usr/bin/sh\"}", 1);
    assert_rule_matches(r, "{\"Image\":\"/usr/bin/bash\"}", 0);
    /* a plain "\u" escape at the top level */
    rule_of(r, sizeof r, "    CommandLine|contains: 'Invoke-Mimikatz'\n");
    assert_rule_matches(r, "{\"CommandLine\":\"x \\u0049nvoke-Mimikatz y\"}", 1);
    assert_rule_matches(r, "{\"CommandLine\":\"x invoke-mimikatz y\"}", 1);
    assert_rule_matches(r, "{\"CommandLine\":\"x Invoke-Mimi katz\"}", 0);
    /* an escaped backslash then an escape: "\\\u0041" is '\' 'A' */
    rule_of(r, sizeof r, "    a|contains: 'AddMember'\n");
    assert_rule_matches(r, "{\"a\":\"x\\\\\\u0041ddMember\"}", 1);
    assert_rule_matches(r, "{\"a\":\"x\\\\u0041ddMember\"}", 0);
    /* keywords see unescaped string values */
    const char *kw = "title: t\nlogsource:\n  product: test\ndetection:\n  keywords:\n"
                     "    - 'mimikatz'\n  condition: keywords\n";
    assert_rule_matches(kw, "{\"a\":{\"b\":[1,\"run \\u006dimikatz now\"]}}", 1);
    assert_rule_matches(kw, "{\"a\":{\"b\":[1,\"run mimi katz now\"]}}", 0);
    /* a backslash in the value: escaped in the raw text, matched after unescaping */
    rule_of(r, sizeof r, "    Image|endswith: '\\cmd.exe'\n");
    assert_rule_matches(r, "{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\"}", 1);
    assert_rule_matches(r, "{\"Image\":\"C:\\\\Windows\\\\System32\\\\xcmd.exe\"}", 0);
}

static void test_glob_text_numbers_booleans(void)
{
    char r[1024];
    rule_of(r, sizeof r, "    EventID: 4103\n");
    assert_rule_matches(r, "{\"EventID\":4103}", 1);
    assert_rule_matches(r, "{\"EventID\":\"4103\"}", 1);
    assert_rule_matches(r, "{\"EventID\":4103.0}", 1);
    assert_rule_matches(r, "{\"EventID\":41030}", 0);
    assert_rule_matches(r, "{\"EventID\":[1,2,4103]}", 1);
    rule_of(r, sizeof r, "    EventID: '41*3'\n");
    assert_rule_matches(r, "{\"EventID\":4103}", 1);
    assert_rule_matches(r, "{\"EventID\":4104}", 0);
    rule_of(r, sizeof r, "    Enabled: true\n");
    assert_rule_matches(r, "{\"Enabled\":true}", 1);
    assert_rule_matches(r, "{\"Enabled\":\"True\"}", 1);
    assert_rule_matches(r, "{\"Enabled\":false}", 0);
    /* '?' is one UTF-8 character, case-insensitivity is ASCII only */
    rule_of(r, sizeof r, "    User: 'J?rg'\n");
    assert_rule_matches(r, "{\"User\":\"J\xc3\xb6rg\"}", 1);
    assert_rule_matches(r, "{\"User\":\"jorg\"}", 1);
    assert_rule_matches(r, "{\"User\":\"J\xc3\xb6\xc3\xb6rg\"}", 0);
    rule_of(r, sizeof r, "    User|cased: 'Admin*'\n");
    assert_rule_matches(r, "{\"User\":\"Administrator\"}", 1);
    assert_rule_matches(r, "{\"User\":\"administrator\"}", 0);
    /* '' only matches an empty string; an absent field matches no value */
    rule_of(r, sizeof r, "    User: ''\n");
    assert_rule_matches(r, "{\"User\":\"\"}", 1);
    assert_rule_matches(r, "{\"User\":\"x\"}", 0);
    assert_rule_matches(r, "{\"Other\":\"\"}", 0);
}

static void test_glob_no_blowup(void)
{
    /* a*a*a*...b over a long run of 'a': exponential with naive backtracking */
    char r[1024], ev[70000];
    rule_of(r, sizeof r, "    a: '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'\n");
    size_t n = 0;
    n += (size_t)snprintf(ev, sizeof ev, "{\"a\":\"");
    memset(ev + n, 'a', 60000);
    n += 60000;
    snprintf(ev + n, sizeof ev - n, "\"}");
    double t0 = vg__now();
    assert_rule_matches(r, ev, 0);
    ev[n - 1] = 'b';
    assert_rule_matches(r, ev, 1);
    CHECK_MSG(vg__now() - t0 < 5.0, "glob took %.2fs", vg__now() - t0);
}

static void test_filters(void)
{
    const char *yaml =
        "title: admin sign-in\nid: 11111111-1111-1111-1111-111111111111\nname: admin_signin\n"
        "logsource:\n  product: test\ndetection:\n  sel:\n    Role|contains: admin\n"
        "  condition: sel\n---\n"
        "title: not from the jump host\nlogsource:\n  product: test\nfilter:\n  rules:\n"
        "    - admin_signin\n  selection:\n    Source: 10.0.0.5\n  condition: not selection\n---\n"
        "title: other rule\nid: 22222222-2222-2222-2222-222222222222\nlogsource:\n"
        "  product: test\ndetection:\n  sel:\n    Role|contains: admin\n  condition: sel\n---\n"
        "title: not at night\nlogsource:\n  product: test\nfilter:\n  rules:\n"
        "    - 22222222-2222-2222-2222-222222222222\n  selection:\n    Hour: night\n"
        "  condition: not selection\n";
    CHECK_EQ_INT(matches_both(yaml, "{\"Role\":\"GlobalAdmin\",\"Source\":\"10.0.0.9\"}"), 2);
    /* the first filter removes the first rule only */
    CHECK_EQ_INT(matches_both(yaml, "{\"Role\":\"GlobalAdmin\",\"Source\":\"10.0.0.5\"}"), 1);
    /* the second filter (by id) removes the second rule only */
    CHECK_EQ_INT(matches_both(yaml, "{\"Role\":\"GlobalAdmin\",\"Hour\":\"night\"}"), 1);
    CHECK_EQ_INT(matches_both(yaml, "{\"Role\":\"GlobalAdmin\",\"Hour\":\"night\","
                                    "\"Source\":\"10.0.0.5\"}"),
                 0);
    CHECK_EQ_INT(matches_both(yaml, "{\"Role\":\"reader\"}"), 0);
}

static void test_invalid_regex_dropped(void)
{
    const char *yaml = "title: bad\nid: bad-1\nlogsource:\n  product: test\ndetection:\n  sel:\n"
                       "    a|re: 'ab(c'\n  condition: sel\n---\n"
                       "title: good\nlogsource:\n  product: test\ndetection:\n  sel:\n"
                       "    a|re: '^ab+c$'\n  condition: sel\n";
    diags g;
    memset(&g, 0, sizeof g);
    vg_ruleload_opts lo = {keep, &g, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    CHECK_EQ_INT(vg__ruleload_string(rl, "t.yml", yaml, strlen(yaml)), VIGIE_OK);
    CHECK_EQ_INT(vg__ruleload_count(rl), 2);
    vg_compile_opts co = {keep, &g, NULL, true, false};
    vg_ruleset *rs = NULL;
    CHECK_EQ_INT(vg__ruleset_compile(rl, &co, &rs), VIGIE_OK);
    if (rs) {
        CHECK_EQ_INT(vg__ruleset_count(rs), 1);
        CHECK_EQ_INT(vg__ruleset_dropped(rs), 1);
        CHECK_EQ_STR(vg__ruleset_rule(rs, 0)->title, "good");
    }
    CHECK_EQ_INT(g.n, 1);
    CHECK_MSG(strstr(g.last, "invalid regular expression: ") && strstr(g.last, " at offset 4"),
              "diag: %s", g.last);
    CHECK_EQ_INT(g.line, 7);
    CHECK(g.col > 0);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);

    char r[1024];
    rule_of(r, sizeof r, "    a|re: '^ab+c$'\n");
    assert_rule_matches(r, "{\"a\":\"abbbc\"}", 1);
    assert_rule_matches(r, "{\"a\":\"ABBC\"}", 0);
    rule_of(r, sizeof r, "    a|re|i: '^ab+c$'\n");
    assert_rule_matches(r, "{\"a\":\"ABBC\"}", 1);
    /* invalid UTF-8 never errors (JSON strings are valid UTF-8, but \\ud800 is not) */
    rule_of(r, sizeof r, "    a|re: 'x.y'\n");
    assert_rule_matches(r, "{\"a\":\"x\\ud800y\"}", 1);
}

/* more logsources than the matcher's route cache holds: routing stays exact */
static void test_routing_many_logsources(void)
{
    static const char *products[40] = {
        "p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09",
        "p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18", "p19",
        "p20", "p21", "p22", "p23", "p24", "p25", "p26", "p27", "p28", "p29",
        "p30", "p31", "p32", "p33", "p34", "p35", "p36", "p37", "p38", "p39"};
    char *yaml = malloc(40 * 200);
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(yaml + n, 40 * 200 - n,
                              "%stitle: r%d\nlogsource:\n  product: %s\ndetection:\n  sel:\n"
                              "    a: hello\n  condition: sel\n",
                              i ? "---\n" : "", i, products[i]);
    vg_ruleload_opts lo = {keep, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg__ruleload_string(rl, "t.yml", yaml, n);
    vg_compile_opts co = {keep, NULL, NULL, false, false};
    vg_ruleset *rs = NULL;
    vg_matcher *m = NULL;
    CHECK_EQ_INT(vg__ruleset_compile(rl, &co, &rs), VIGIE_OK);
    CHECK_EQ_INT(vg__matcher_new(rs, &m), VIGIE_OK);
    vg_jtape t;
    vg__jtape_init(&t);
    const char *ev = "{\"a\":\"hello\"}";
    CHECK_EQ_INT(vg__json_parse(&t, ev, strlen(ev), NULL), VIGIE_OK);
    int wrong = 0;
    for (int round = 0; m && round < 3; round++)
        for (int i = 0; i < 40; i++) {
            vg_eventinfo ei;
            memset(&ei, 0, sizeof ei);
            ei.product = products[(i * 7 + round) % 40];
            int hits = 0;
            vg__matcher_run(m, &t, &ei, count_cb, &hits);
            if (hits != 1)
                wrong++;
        }
    CHECK_EQ_INT(wrong, 0);
    if (m) {
        CHECK(vg__matcher_stats(m)->routed == 120);
        CHECK(vg__matcher_stats(m)->matches == 120);
    }
    vg__jtape_free(&t);
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
    free(yaml);
}

static void test_prefilter_literals(void)
{
    /* three rules with literals, one without (regex only), one negated */
    const char *yaml = "title: a\nlogsource:\n  product: test\ndetection:\n  sel:\n"
                       "    a|contains:\n      - 'foo'\n      - 'barbaz'\n  condition: sel\n---\n"
                       "title: b\nlogsource:\n  product: test\ndetection:\n  sel:\n"
                       "    a|re: 'q+'\n  condition: sel\n---\n"
                       "title: c\nlogsource:\n  product: test\ndetection:\n  sel:\n"
                       "    a: 'quux'\n  condition: not sel\n---\n"
                       "title: d\nlogsource:\n  product: test\ndetection:\n  sel:\n"
                       "    a|contains|all:\n      - 'xy'\n      - 'longest'\n  condition: sel\n";
    vg_ruleload_opts lo = {keep, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg__ruleload_string(rl, "t.yml", yaml, strlen(yaml));
    vg_compile_opts co = {keep, NULL, NULL, true, false};
    vg_ruleset *rs = NULL;
    CHECK_EQ_INT(vg__ruleset_compile(rl, &co, &rs), VIGIE_OK);
    uint32_t n_lit = 0, n_always = 0;
    if (rs)
        vg__ruleset_prefilter_info(rs, &n_lit, &n_always);
    CHECK_EQ_INT(n_lit, 3); /* foo, barbaz, longest ('xy' is too short) */
    CHECK_EQ_INT(n_always, 2);
    vg_matcher *m = NULL;
    if (rs && vg__matcher_new(rs, &m) == VIGIE_OK) {
        vg_jtape t;
        vg__jtape_init(&t);
        const char *ev = "{\"a\":\"nothing here\"}";
        vg__json_parse(&t, ev, strlen(ev), NULL);
        vg_eventinfo ei;
        memset(&ei, 0, sizeof ei);
        int hits = 0;
        vg__matcher_run(m, &t, &ei, count_cb, &hits);
        CHECK_EQ_INT(hits, 1); /* c (not quux) */
        CHECK(vg__matcher_stats(m)->candidates == 2);
        vg__jtape_free(&t);
    }
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
}

/* Candidates evaluated for one event (prefilter on), or -1. */
static int candidates(const char *yaml, const char *event)
{
    vg_ruleload_opts lo = {keep, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg_compile_opts co = {keep, NULL, NULL, true, false};
    vg_ruleset *rs = NULL;
    vg_matcher *m = NULL;
    vg_jtape t;
    vg__jtape_init(&t);
    int c = -1;
    if (vg__ruleload_string(rl, "t.yml", yaml, strlen(yaml)) == VIGIE_OK &&
        vg__ruleset_compile(rl, &co, &rs) == VIGIE_OK && vg__matcher_new(rs, &m) == VIGIE_OK &&
        vg__json_parse(&t, event, strlen(event), NULL) == VIGIE_OK) {
        vg_eventinfo ei;
        memset(&ei, 0, sizeof ei);
        vg__matcher_run(m, &t, &ei, NULL, NULL);
        c = (int)vg__matcher_stats(m)->candidates;
    }
    vg__jtape_free(&t);
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
    return c;
}

/* Windows paths ("C:\\users") keep the prefilter; real escapes and embedded JSON skip it. */
static void test_prefilter_skipped_only_when_needed(void)
{
    char r[1024];
    rule_of(r, sizeof r, "    Image|endswith: 'mimikatz.exe'\n");
    CHECK_EQ_INT(candidates(r, "{\"Image\":\"C:\\\\users\\\\x\\\\cmd.exe\"}"), 0);
    CHECK_EQ_INT(candidates(r, "{\"Image\":\"C:\\\\Users\\\\x\\\\mimikatz.exe\"}"), 1);
    CHECK_EQ_INT(candidates(r, "{\"Image\":\"C:\\u0041\\\\cmd.exe\"}"), 1);
    CHECK_EQ_INT(candidates(r, "{\"Image\":\"C:\\/cmd.exe\"}"), 1);
    CHECK_EQ_INT(candidates(r, "{\"Image\":\"C:\\\\users\",\"j\":\"[1]\"}"), 1);
    CHECK_EQ_INT(candidates(r, "{\"Image\":\"C:\\\\users\",\"j\":\"x[1]\"}"), 0);
    /* "\u003c" ('<', escaped by Go and .NET encoders) never hides a literal */
    CHECK_EQ_INT(candidates(r, "{\"Image\":\"\\u003cx\\u003e cmd.exe\"}"), 0);
    rule_of(r, sizeof r, "    a|contains: '<script>alert'\n");
    assert_rule_matches(r, "{\"a\":\"x\\u003cscript\\u003ealert(1)\"}", 1);
    assert_rule_matches(r, "{\"a\":\"x<script>alert(1)\"}", 1);
    assert_rule_matches(r, "{\"a\":\"x\\u003cscript\\u003e alert(1)\"}", 0);
}

int main(void)
{
    RUN(test_escapes_never_hide_a_match);
    RUN(test_glob_text_numbers_booleans);
    RUN(test_glob_no_blowup);
    RUN(test_filters);
    RUN(test_invalid_regex_dropped);
    RUN(test_routing_many_logsources);
    RUN(test_prefilter_literals);
    RUN(test_prefilter_skipped_only_when_needed);
    return TEST_DONE();
}
