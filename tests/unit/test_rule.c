/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rule.c: the Sigma rule loader. Every rule of SigmaHQ's rules/ and
 * rules-emerging-threats/ loads or is skipped for a genuine reason (and fast); the AST of
 * the tricky constructs (escapes, modifiers that multiply values, conditions); bad rules are
 * reported with file:line:col.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule/rule.h"
#include "test.h"

static char last[512];
static int n_diag;
static void diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    n_diag++;
    snprintf(last, sizeof last, "%s:%llu:%llu: %s", d->file ? d->file : "",
             (unsigned long long)d->line, (unsigned long long)d->col, d->message);
}

static vg_ruleload *load(const char *yaml)
{
    static const char *vals[] = {"alice", "bob"};
    static const vg_placeholder ph[] = {{"users", vals, 2}};
    vg_ruleload_opts o = {diag, NULL, ph, 1};
    vg_ruleload *rl = vg__ruleload_new(&o);
    n_diag = 0;
    last[0] = 0;
    vg__ruleload_string(rl, "t.yml", yaml, strlen(yaml));
    return rl;
}

#define HEAD "title: t\nlogsource:\n  product: test\ndetection:\n"

static void test_sigmahq_corpus_loads(void)
{
    vg_ruleload_opts o = {NULL, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&o);
    char p[4096];
    double t0 = vg__now();
    snprintf(p, sizeof p, "%s/sigma/rules", VIGIE_SHARED_DIR);
    CHECK_EQ_INT(vg__ruleload_path(rl, p), VIGIE_OK);
    snprintf(p, sizeof p, "%s/sigma/rules-emerging-threats", VIGIE_SHARED_DIR);
    CHECK_EQ_INT(vg__ruleload_path(rl, p), VIGIE_OK);
    double secs = vg__now() - t0;
    uint32_t n = vg__ruleload_status_count(rl), skipped = 0;
    for (uint32_t i = 0; i < n; i++) {
        const vg_rule_status *s = vg__ruleload_status(rl, i);
        if (s->rc == VIGIE_OK)
            continue;
        skipped++;
        /* the only genuine reason in this corpus: |expand placeholders not configured */
        CHECK_MSG(strstr(s->reason, "placeholder") != NULL, "%s:%u:%u: %s", s->path, s->line,
                  s->col, s->reason);
    }
    printf("SigmaHQ rules + emerging threats: %u documents, %u loaded, %u skipped, %.3f s\n", n,
           vg__ruleload_count(rl), skipped, secs);
    CHECK(n > 3500);
    CHECK(skipped <= 5);
    vg__ruleload_free(rl);
}

static void test_escapes_and_wildcards(void)
{
    vg_ruleload *rl = load(HEAD "  s:\n    a: 'C:\\Windows\\\\*.exe'\n    e: 'C:\\Windows\\*.exe'\n    b: 'lit\\*star\\?q\\\\x'\n"
                                "    c|contains: 'mid'\n  condition: s\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    const vg_rule *r = vg__ruleload_get(rl, 0);
    const vg_fieldcond *fc = r->searches[0].alts[0].conds;
    CHECK_EQ_STR(fc[0].values[0].text, "C:\\Windows\\*.exe");
    CHECK_EQ_INT(fc[0].values[0].n_parts, 3);
    CHECK_EQ_INT(fc[0].values[0].parts[1].kind, VG_PART_STAR);
    CHECK_EQ_INT(fc[2].values[0].n_parts, 1); /* all literal */
    CHECK_EQ_STR(fc[2].values[0].parts[0].s, "lit*star?q\\x");
    CHECK_EQ_STR(fc[3].values[0].text, "*mid*");
    /* '\*' is a literal star: no wildcard */
    CHECK_EQ_INT(fc[1].values[0].n_parts, 1);
    CHECK_EQ_STR(fc[1].values[0].parts[0].s, "C:\\Windows*.exe");
    vg__ruleload_free(rl);
}

static void test_value_transforms(void)
{
    vg_ruleload *rl = load(HEAD "  s:\n    a|windash: '-a /b'\n    b|base64offset|contains: 'http://'\n"
                                "    c|wide|base64: 'Test'\n    d|expand: '%users%'\n"
                                "  condition: s\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    if (vg__ruleload_count(rl) == 1) {
        const vg_fieldcond *fc = vg__ruleload_get(rl, 0)->searches[0].alts[0].conds;
        CHECK_EQ_INT(fc[0].n_values, 25); /* two positions x five dash forms */
        CHECK_EQ_INT(fc[1].n_values, 3);
        CHECK_EQ_STR(fc[1].values[0].text, "*aHR0cDovL*");
        CHECK_EQ_STR(fc[1].values[1].text, "*h0dHA6Ly*");
        CHECK_EQ_STR(fc[1].values[2].text, "*odHRwOi8v*");
        CHECK_EQ_STR(fc[2].values[0].text, "VABlAHMAdAA=");
        CHECK_EQ_INT(fc[3].n_values, 2);
        CHECK_EQ_STR(fc[3].values[1].text, "bob");
    }
    vg__ruleload_free(rl);
}

static void test_operators(void)
{
    vg_ruleload *rl = load(HEAD "  s:\n    a|re|i: '^x'\n    b|cidr: '10.1.0.0/16'\n    c|gte: 5\n"
                                "    d|exists: false\n    e: null\n    f|fieldref|startswith: a\n"
                                "    g|neq: 4\n    h|hour: 3\n  condition: s\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    if (vg__ruleload_count(rl) == 1) {
        const vg_fieldcond *fc = vg__ruleload_get(rl, 0)->searches[0].alts[0].conds;
        CHECK(fc[0].values[0].op == VG_OP_RE && fc[0].values[0].re_flags == VG_RE_I);
        CHECK(fc[1].values[0].op == VG_OP_CIDR && fc[1].values[0].prefix == 16 &&
              fc[1].values[0].addr[1] == 1);
        CHECK(fc[2].values[0].op == VG_OP_NUM_CMP && fc[2].values[0].cmp == VG_CMP_GTE);
        CHECK(fc[3].values[0].op == VG_OP_EXISTS && !fc[3].values[0].exists);
        CHECK(fc[4].values[0].op == VG_OP_NULL);
        CHECK(fc[5].values[0].op == VG_OP_FIELDREF &&
              fc[5].values[0].fref_mode == VG_FREF_STARTSWITH);
        CHECK(fc[6].neg && fc[6].values[0].is_num);
        CHECK(fc[7].timepart == VG_TP_HOUR);
    }
    vg__ruleload_free(rl);
}

static void test_conditions(void)
{
    const char *names[] = {"a", "b", "c", "sel_x", "sel_y", "_f"};
    vg_arena *ar = vg__arena_new(4096);
    vg_cond *c;
    uint32_t col;
    char err[128];
    CHECK_EQ_INT(vg__cond_parse(ar, "a or b and not c", 16, names, 6, &c, &col, err, sizeof err),
                 VIGIE_OK);
    CHECK(c->kind == VG_C_OR && c->b->kind == VG_C_AND && c->b->b->kind == VG_C_NOT);
    CHECK_EQ_INT(vg__cond_parse(ar, "all of them", 11, names, 6, &c, &col, err, sizeof err),
                 VIGIE_OK);
    CHECK(c->kind == VG_C_OF_ALL && c->n_searches == 5); /* _f excluded */
    CHECK_EQ_INT(vg__cond_parse(ar, "1 of sel_*", 10, names, 6, &c, &col, err, sizeof err),
                 VIGIE_OK);
    CHECK(c->kind == VG_C_OF_ANY && c->n_searches == 2);
    CHECK_EQ_INT(vg__cond_parse(ar, "a and nope", 10, names, 6, &c, &col, err, sizeof err),
                 VIGIE_CONDITION);
    CHECK_EQ_INT(col, 7);
    CHECK(strstr(err, "nope") != NULL);
    CHECK_EQ_INT(vg__cond_parse(ar, "(a or b", 7, names, 6, &c, &col, err, sizeof err),
                 VIGIE_CONDITION);
    vg__arena_free(ar);
}

static void test_bad_rules_positions(void)
{
    vg_ruleload *rl = load(HEAD "  s:\n    a|nosuchmod: x\n  condition: s\n---\n" HEAD
                                "  s:\n    a: x\n  condition: s and t\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 0);
    CHECK_EQ_INT(vg__ruleload_status_count(rl), 2);
    const vg_rule_status *s0 = vg__ruleload_status(rl, 0);
    CHECK(s0->rc == VIGIE_MODIFIER && s0->line == 6 && strstr(s0->reason, "nosuchmod"));
    const vg_rule_status *s1 = vg__ruleload_status(rl, 1);
    CHECK_MSG(s1->rc == VIGIE_CONDITION && s1->line == 15 && s1->col == 20, "%d %u:%u %s",
              s1->rc, s1->line, s1->col, s1->reason);
    vg__ruleload_free(rl);
    /* YAML syntax error and alias bomb */
    rl = load("title: [unclosed\n");
    CHECK(vg__ruleload_status_count(rl) == 1 && vg__ruleload_status(rl, 0)->rc == VIGIE_YAML);
    vg__ruleload_free(rl);
    char p[4096];
    snprintf(p, sizeof p, "%s/tests/data/rules/alias_bomb.yml", VIGIE_SOURCE_DIR);
    vg_ruleload_opts o = {diag, NULL, NULL, 0};
    rl = vg__ruleload_new(&o);
    double t0 = vg__now();
    vg__ruleload_path(rl, p);
    CHECK(vg__now() - t0 < 1.0);
    CHECK(vg__ruleload_count(rl) == 0 && strstr(last, "alias"));
    vg__ruleload_free(rl);
}

static void test_correlation_and_filter_docs(void)
{
    vg_ruleload *rl = load(HEAD "  s:\n    a: x\n  condition: s\nname: base\n---\ntitle: c\n"
                                "correlation:\n  type: value_count\n  rules: [base]\n"
                                "  group-by: [User]\n  timespan: 1h\n  condition:\n    field: Host\n"
                                "    gte: 3\n    lt: 10\n---\ntitle: f\nlogsource:\n  product: test\n"
                                "filter:\n  rules: [base]\n  sel:\n    u: admin\n  condition: not sel\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 3);
    if (vg__ruleload_count(rl) == 3) {
        const vg_rule *c = vg__ruleload_get(rl, 1);
        CHECK(c->kind == VG_RULE_CORRELATION && c->corr->type == VG_CORR_VALUE_COUNT);
        CHECK(c->corr->timespan == 3600 && c->corr->gte == 3 && c->corr->lt == 10);
        CHECK_EQ_STR(c->corr->field, "Host");
        const vg_rule *f = vg__ruleload_get(rl, 2);
        CHECK(f->kind == VG_RULE_FILTER && f->n_filter_rules == 1 && f->cond->kind == VG_C_NOT);
    }
    vg__ruleload_free(rl);
}

int main(void)
{
    RUN(test_sigmahq_corpus_loads);
    RUN(test_escapes_and_wildcards);
    RUN(test_value_transforms);
    RUN(test_operators);
    RUN(test_conditions);
    RUN(test_bad_rules_positions);
    RUN(test_correlation_and_filter_docs);
    return TEST_DONE();
}
