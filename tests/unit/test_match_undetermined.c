/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_match_undetermined.c: a regex stopped by a PCRE2 limit makes its comparison UNKNOWN,
 * and conditions combine it in Kleene logic (docs/SIGMA.md, "Regex limits"): false and
 * unknown = false, true or unknown = true, not unknown = unknown; the same inside a search
 * (alternatives, keys, a key's values, array elements), for `1 of` and `all of`. A rule that
 * comes out UNKNOWN goes to the undetermined callback with the fields whose regexes were
 * stopped; without a callback it is no match, counted. Every case runs with and without the
 * prefilter and both runs must agree (the prefilter skips only rules that are FALSE).
 *
 * The stopped regex is `(a+)+b` over 40 'a's then "c b": the 'b' PCRE2 requires is present,
 * so it backtracks (2^40 ways) into the match limit; test_limit_is_reached shows the same
 * regex deciding below the limit (12 'a's: no match) and matching a short "aaab".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/match.h"
#include "test.h"

#define PAD40 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void quiet(void *ud, const vigie_diag *d)
{
    (void)ud;
    (void)d;
}

typedef struct outcome {
    int matches, undetermined;
    int reason;
    char fields[256]; /* the undetermined fields, comma-separated */
} outcome;

static int on_match(void *ud, uint32_t ri)
{
    (void)ri;
    ((outcome *)ud)->matches++;
    return 0;
}

static int on_undet(void *ud, uint32_t ri, const vg_undetermined *u)
{
    (void)ri;
    outcome *o = ud;
    o->undetermined++;
    o->reason = u->reason;
    for (uint32_t i = 0; i < u->n_fields; i++) {
        size_t l = strlen(o->fields);
        snprintf(o->fields + l, sizeof o->fields - l, "%s%s", l ? "," : "", u->fields[i]);
    }
    return 0;
}

/* The searches every rule below may use. */
static const char searches[] = "  re:\n    CommandLine|re: '(a+)+b'\n"
                               "  re2:\n    Image|re: '(a+)+b'\n"
                               "  yes:\n    User: alice\n"
                               "  no:\n    User: bob\n"
                               "  lit:\n    Other|contains: needle\n"
                               "  u1_re:\n    CommandLine|re: '(a+)+b'\n"
                               "  u1_no:\n    User: bob\n"
                               "  u2_re:\n    CommandLine|re: '(a+)+b'\n"
                               "  u2_yes:\n    User: alice\n";

static const char event[] = "{\"CommandLine\":\"" PAD40 "c b\",\"Image\":\"" PAD40 "c b\","
                            "\"User\":\"alice\",\"Other\":\"hay\"}";

/* Evaluate one rule (detection body + condition) on an event; callback or not. Returns 0,
 * or -1 when anything before matching failed. */
static int eval(const char *detection, const char *cond, const char *ev, bool no_prefilter,
                bool with_cb, outcome *o, vg_match_stats *st)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "title: t\nid: 00000000-0000-0000-0000-000000000001\nlevel: high\n"
             "logsource:\n  product: test\ndetection:\n%s  condition: %s\n",
             detection, cond);
    memset(o, 0, sizeof *o);
    vg_ruleload_opts lo = {quiet, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg_compile_opts co = {quiet, NULL, NULL, true, no_prefilter};
    vg_ruleset *rs = NULL;
    vg_matcher *m = NULL;
    vg_jtape t;
    vg__jtape_init(&t);
    int rc = -1;
    if (rl && vg__ruleload_string(rl, "t.yml", yaml, strlen(yaml)) == VIGIE_OK &&
        vg__ruleset_compile(rl, &co, &rs) == VIGIE_OK && vg__ruleset_count(rs) == 1 &&
        vg__matcher_new(rs, &m) == VIGIE_OK &&
        vg__json_parse(&t, ev, strlen(ev), NULL) == VIGIE_OK) {
        vg_eventinfo ei;
        memset(&ei, 0, sizeof ei);
        if (with_cb)
            vg__matcher_on_undetermined(m, on_undet);
        if (vg__matcher_run(m, &t, &ei, on_match, o) == VIGIE_OK)
            rc = 0;
        if (st)
            *st = *vg__matcher_stats(m);
    }
    vg__jtape_free(&t);
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
    return rc;
}

/* 'T', 'F' or 'U' for the rule on the event, the same with and without the prefilter; 'E'
 * when they differ or something failed. */
static char tri_of(const char *detection, const char *cond, const char *ev, char *fields,
                   size_t cap)
{
    outcome a, b;
    if (eval(detection, cond, ev, false, true, &a, NULL) ||
        eval(detection, cond, ev, true, true, &b, NULL))
        return 'E';
    if (a.matches != b.matches || a.undetermined != b.undetermined ||
        strcmp(a.fields, b.fields) != 0 || a.matches + a.undetermined > 1)
        return 'E';
    if (fields)
        snprintf(fields, cap, "%s", a.fields);
    return a.matches ? 'T' : a.undetermined ? 'U' : 'F';
}

#define assert_cond(cond, want)                                                                    \
    do {                                                                                           \
        char got_ = tri_of(searches, cond, event, NULL, 0);                                        \
        CHECK_MSG(got_ == (want), "condition '%s': want %c, got %c", cond, want, got_);            \
    } while (0)

static void test_limit_is_reached(void)
{
    outcome o;
    vg_match_stats st;
    /* below the limit the regex decides: no match, nothing undetermined */
    CHECK_EQ_INT(
        eval(searches, "re", "{\"CommandLine\":\"aaaaaaaaaaaac b\"}", false, true, &o, &st), 0);
    CHECK_EQ_INT(o.matches, 0);
    CHECK_EQ_INT(o.undetermined, 0);
    CHECK(st.regex_limit == 0);
    /* a genuine match */
    CHECK_EQ_INT(eval(searches, "re", "{\"CommandLine\":\"aaab\"}", false, true, &o, &st), 0);
    CHECK_EQ_INT(o.matches, 1);
    CHECK_EQ_INT(o.undetermined, 0);
    /* padded past the limit: undetermined, by the match limit, on CommandLine */
    CHECK_EQ_INT(eval(searches, "re", event, false, true, &o, &st), 0);
    CHECK_EQ_INT(o.matches, 0);
    CHECK_EQ_INT(o.undetermined, 1);
    CHECK_EQ_INT(o.reason, VG_UNDET_MATCH_LIMIT);
    CHECK_EQ_STR(o.fields, "CommandLine");
    CHECK(st.regex_limit == 1);
    CHECK(st.undetermined == 1);
    CHECK(st.matches == 0);
    CHECK_EQ_STR(vg__undet_reason_name(o.reason, false), "regex_match_limit");
    CHECK_EQ_STR(vg__undet_reason_name(o.reason, true), "regex match limit");
    /* without the 'b' PCRE2 requires, the regex cannot match and says so at once */
    CHECK_EQ_INT(eval(searches, "re", "{\"CommandLine\":\"" PAD40 "c\"}", false, true, &o, &st), 0);
    CHECK_EQ_INT(o.undetermined, 0);
    CHECK(st.regex_limit == 0);
}

static void test_no_callback_is_no_match(void)
{
    outcome o;
    vg_match_stats st;
    CHECK_EQ_INT(eval(searches, "re", event, false, false, &o, &st), 0);
    CHECK_EQ_INT(o.matches, 0);
    CHECK_EQ_INT(o.undetermined, 0);
    CHECK(st.regex_limit == 1);
    CHECK(st.undetermined == 1); /* still counted */
    /* a match elsewhere stands */
    CHECK_EQ_INT(eval(searches, "re or yes", event, false, false, &o, &st), 0);
    CHECK_EQ_INT(o.matches, 1);
}

static void test_kleene_conditions(void)
{
    assert_cond("re", 'U');
    assert_cond("yes", 'T');
    assert_cond("no", 'F');
    assert_cond("re and yes", 'U');
    assert_cond("yes and re", 'U');
    assert_cond("re and no", 'F');
    assert_cond("no and re", 'F');
    assert_cond("re or yes", 'T');
    assert_cond("yes or re", 'T');
    assert_cond("re or no", 'U');
    assert_cond("no or re", 'U');
    assert_cond("not re", 'U');
    assert_cond("not not re", 'U');
    assert_cond("not re and no", 'F');
    assert_cond("not re or yes", 'T');
    assert_cond("re and not yes", 'F');
    assert_cond("re and not no", 'U');
    assert_cond("(re or no) and yes", 'U');
    assert_cond("(re and no) or yes", 'T');
    assert_cond("(re and no) or no", 'F');
    assert_cond("re and re2", 'U');
    assert_cond("1 of u1_*", 'U');   /* unknown or false */
    assert_cond("1 of u2_*", 'T');   /* unknown or true */
    assert_cond("all of u1_*", 'F'); /* unknown and false */
    assert_cond("all of u2_*", 'U'); /* unknown and true */
    assert_cond("not 1 of u1_*", 'U');
    assert_cond("not all of u2_*", 'U');
    assert_cond("1 of them", 'T');
    assert_cond("all of them", 'F');
    /* the prefilter skips the rule when the literal of a conjunct is absent: FALSE, as a full
     * evaluation says too (tri_of compares both) */
    assert_cond("re and lit", 'F');
    assert_cond("re or lit", 'U');
}

static void test_inside_a_search(void)
{
    /* a key's values: OR; |all: AND */
    CHECK(tri_of("  s:\n    CommandLine|re:\n      - '(a+)+b'\n      - 'c b$'\n", "s", event, NULL,
                 0) == 'T');
    CHECK(tri_of("  s:\n    CommandLine|re:\n      - '(a+)+b'\n      - 'zzz'\n", "s", event, NULL,
                 0) == 'U');
    CHECK(tri_of("  s:\n    CommandLine|re|all:\n      - '(a+)+b'\n      - 'zzz'\n", "s", event,
                 NULL, 0) == 'F');
    CHECK(tri_of("  s:\n    CommandLine|re|all:\n      - '(a+)+b'\n      - 'c b$'\n", "s", event,
                 NULL, 0) == 'U');
    /* keys of a map: AND */
    CHECK(tri_of("  s:\n    CommandLine|re: '(a+)+b'\n    User: bob\n", "s", event, NULL, 0) ==
          'F');
    CHECK(tri_of("  s:\n    CommandLine|re: '(a+)+b'\n    User: alice\n", "s", event, NULL, 0) ==
          'U');
    /* alternatives (a list of maps): OR */
    CHECK(tri_of("  s:\n    - CommandLine|re: '(a+)+b'\n    - User: alice\n", "s", event, NULL,
                 0) == 'T');
    CHECK(tri_of("  s:\n    - CommandLine|re: '(a+)+b'\n    - User: bob\n", "s", event, NULL, 0) ==
          'U');
    /* array elements: any element */
    const char *arr_hit = "{\"CommandLine\":[\"" PAD40 "c b\",\"ab\"]}";
    const char *arr_unk = "{\"CommandLine\":[\"" PAD40 "c b\",\"zz\"]}";
    CHECK(tri_of("  s:\n    CommandLine|re: '(a+)+b'\n", "s", arr_hit, NULL, 0) == 'T');
    CHECK(tri_of("  s:\n    CommandLine|re: '(a+)+b'\n", "s", arr_unk, NULL, 0) == 'U');
}

/* A '|re' key without a field is a keyword regex over every string and number of the event:
 * the same three values (it never matched before: keywords were globs only). */
static void test_keyword_regex(void)
{
    char f[256];
    CHECK(tri_of("  keywords:\n    '|re': '(a+)+b'\n", "keywords", event, f, sizeof f) == 'U');
    CHECK_EQ_STR(f, "keywords");
    CHECK(tri_of("  keywords:\n    '|re': '^ali'\n", "keywords", event, NULL, 0) == 'T');
    CHECK(tri_of("  keywords:\n    '|re': 'zz+'\n", "keywords", event, NULL, 0) == 'F');
    CHECK(tri_of("  keywords:\n    '|re': '(a+)+b'\n", "keywords", "{\"x\":{\"y\":[\"aab\"]}}",
                 NULL, 0) == 'T');
    CHECK(tri_of("  keywords:\n    '|re': '(a+)+b'\n  no:\n    User: bob\n", "keywords and no",
                 event, NULL, 0) == 'F');
    CHECK(tri_of("  keywords:\n    '|re': '(a+)+b'\n  yes:\n    User: alice\n", "keywords or yes",
                 event, NULL, 0) == 'T');
    /* a matching value elsewhere in the event decides, wherever it is */
    CHECK(tri_of("  keywords:\n    '|re': '(a+)+b'\n", "keywords",
                 "{\"a\":\"" PAD40 "c b\",\"b\":\"ab\"}", NULL, 0) == 'T');
}

static void test_fields_named(void)
{
    char f[256];
    CHECK(tri_of(searches, "re and re2", event, f, sizeof f) == 'U');
    CHECK_EQ_STR(f, "CommandLine,Image");
    /* one field once, however many of its regexes were stopped */
    CHECK(tri_of("  s:\n    CommandLine|re:\n      - '(a+)+b'\n      - '(a+)+ b'\n", "s", event, f,
                 sizeof f) == 'U');
    CHECK_EQ_STR(f, "CommandLine");
}

int main(void)
{
    RUN(test_limit_is_reached);
    RUN(test_no_callback_is_no_match);
    RUN(test_kleene_conditions);
    RUN(test_inside_a_search);
    RUN(test_keyword_regex);
    RUN(test_fields_named);
    return TEST_DONE();
}
