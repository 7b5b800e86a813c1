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
#include <unistd.h>

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
    shared_path(p, sizeof p, "sigma/rules");
    CHECK_EQ_INT(vg__ruleload_path(rl, p), VIGIE_OK);
    shared_path(p, sizeof p, "sigma/rules-emerging-threats");
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
    /* how long it takes is measured by bench/ (a benchmark is a program, not a timed test) */
    vg__ruleload_free(rl);
}

/* The other SigmaHQ trees: rules-placeholder needs |expand values (a genuine reason when none
 * are configured); threat hunting and compliance rules must all load. */
static void test_sigmahq_other_trees(void)
{
    static const char *const trees[] = {"rules-placeholder", "rules-threat-hunting",
                                        "rules-compliance"};
    vg_ruleload_opts o = {NULL, NULL, NULL, 0};
    for (size_t t = 0; t < VG_ARRAY_LEN(trees); t++) {
        vg_ruleload *rl = vg__ruleload_new(&o);
        char p[4096];
        shared_path(p, sizeof p, "sigma/%s", trees[t]);
        int rc = vg__ruleload_path(rl, p);
        uint32_t n = vg__ruleload_status_count(rl), skipped = 0;
        for (uint32_t i = 0; rc == VIGIE_OK && i < n; i++) {
            const vg_rule_status *s = vg__ruleload_status(rl, i);
            if (s->rc == VIGIE_OK)
                continue;
            skipped++;
            CHECK_MSG(t == 0 && s->rc == VIGIE_UNSUPPORTED && strstr(s->reason, "placeholder %"),
                      "%s:%u:%u: %s", s->path, s->line, s->col, s->reason);
        }
        printf("SigmaHQ %s: %u documents, %u loaded, %u skipped\n", trees[t], n,
               vg__ruleload_count(rl), skipped);
        CHECK_EQ_INT(rc, VIGIE_OK);
        CHECK(n > 0);
        vg__ruleload_free(rl);
    }
}

/* rules-placeholder loads completely once its placeholders have values: the names are taken
 * from the skip reasons, given a value, and the tree reloaded until nothing is missing. */
static void test_sigmahq_placeholders_configured(void)
{
    static char names[64][64];
    static const char *vals[] = {"value-a", "value-b"};
    vg_placeholder ph[64];
    uint32_t n_ph = 0, skipped = 1, loaded = 0;
    char p[4096];
    shared_path(p, sizeof p, "sigma/rules-placeholder");
    for (int round = 0; round < 6 && skipped; round++) {
        vg_ruleload_opts o = {NULL, NULL, ph, n_ph};
        vg_ruleload *rl = vg__ruleload_new(&o);
        if (vg__ruleload_path(rl, p) != VIGIE_OK) {
            CHECK_MSG(false, "cannot load %s", p);
            vg__ruleload_free(rl);
            return;
        }
        skipped = 0;
        for (uint32_t i = 0; i < vg__ruleload_status_count(rl); i++) {
            const vg_rule_status *st = vg__ruleload_status(rl, i);
            if (st->rc == VIGIE_OK)
                continue;
            skipped++;
            const char *b = strstr(st->reason, "placeholder %");
            const char *e = b ? strchr(b + 13, '%') : NULL;
            CHECK_MSG(e && n_ph < 64 && e - b - 13 < 64, "%s: %s", st->path, st->reason);
            if (!e || n_ph >= 64 || e - b - 13 >= 64)
                continue;
            snprintf(names[n_ph], sizeof names[n_ph], "%.*s", (int)(e - b - 13), b + 13);
            bool dup = false;
            for (uint32_t k = 0; k < n_ph; k++)
                dup |= strcmp(ph[k].name, names[n_ph]) == 0;
            if (!dup) {
                ph[n_ph] = (vg_placeholder){names[n_ph], vals, 2};
                n_ph++;
            }
        }
        loaded = vg__ruleload_count(rl);
        vg__ruleload_free(rl);
    }
    printf("SigmaHQ rules-placeholder with %u placeholders configured: %u loaded, %u skipped\n",
           n_ph, loaded, skipped);
    CHECK_EQ_INT(skipped, 0);
    CHECK(loaded > 10);
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
    CHECK_MSG(s0->rc == VIGIE_MODIFIER && s0->line == 6 && s0->col == 7 &&
                  strstr(s0->reason, "nosuchmod"),
              "%u:%u %s", s0->line, s0->col, s0->reason);
    const vg_rule_status *s1 = vg__ruleload_status(rl, 1);
    CHECK_MSG(s1->rc == VIGIE_CONDITION && s1->line == 15 && s1->col == 20, "%d %u:%u %s",
              s1->rc, s1->line, s1->col, s1->reason);
    vg__ruleload_free(rl);
    rl = load(HEAD "  s:\n    'a|contains|nosuch': x\n  condition: s\n");
    CHECK_MSG(strstr(last, "t.yml:6:17: rule skipped: unknown modifier 'nosuch'"), "%s", last);
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

static const vg_fieldcond *fc_of(const vg_ruleload *rl, uint32_t search, uint32_t alt)
{
    const vg_rule *r = vg__ruleload_get(rl, 0);
    if (!r || search >= r->n_searches || alt >= r->searches[search].n_alts)
        return NULL;
    return r->searches[search].alts[alt].conds;
}

static void test_scalar_typing(void)
{
    vg_ruleload *rl = load(HEAD "  s:\n    a: yes\n    b: 'true'\n    c: true\n    d: 0x1F\n"
                                "    e: 1.5\n    f: ~\n    g:\n    h: -42\n    i: \"12\"\n"
                                "    j: 1e3\n    k: False\n    l: |\n      block\n  condition: s\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    const vg_fieldcond *fc = fc_of(rl, 0, 0);
    if (fc) {
        CHECK(fc[0].values[0].op == VG_OP_GLOB && !fc[0].values[0].is_bool &&
              !strcmp(fc[0].values[0].text, "yes"));
        CHECK(!fc[1].values[0].is_bool && !strcmp(fc[1].values[0].text, "true"));
        CHECK(fc[2].values[0].is_bool && !strcmp(fc[2].values[0].text, "true"));
        CHECK(!fc[3].values[0].is_num && !strcmp(fc[3].values[0].text, "0x1F"));
        CHECK(fc[4].values[0].is_num && fc[4].values[0].num == 1.5);
        CHECK(fc[5].values[0].op == VG_OP_NULL);
        CHECK(fc[6].values[0].op == VG_OP_NULL);
        CHECK(fc[7].values[0].is_num && fc[7].values[0].num == -42);
        CHECK(!fc[8].values[0].is_num && !strcmp(fc[8].values[0].text, "12"));
        CHECK(fc[9].values[0].is_num && fc[9].values[0].num == 1000);
        CHECK(fc[10].values[0].is_bool && !strcmp(fc[10].values[0].text, "False"));
        CHECK(!fc[11].values[0].is_bool && !strcmp(fc[11].values[0].text, "block\n"));
    }
    vg__ruleload_free(rl);
}

static void test_keywords_and_lists(void)
{
    /* keyword list, '|all' keyword map, a list mixing keywords and maps, list of maps */
    vg_ruleload *rl = load(HEAD "  kw:\n    - evil\n    - 42\n  kwall:\n    '|all':\n      - a\n"
                                "      - b\n  mixed:\n    - KW\n    - f: x\n    - g|endswith: y\n"
                                "  lom:\n    - f: 1\n      g: 2\n    - h: 3\n"
                                "  condition: kw or kwall or mixed or lom\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    const vg_rule *r = vg__ruleload_get(rl, 0);
    if (r && r->n_searches == 4) {
        const vg_fieldcond *kw = r->searches[0].alts[0].conds;
        CHECK(r->searches[0].n_alts == 1 && kw->field == NULL && kw->n_values == 2 && !kw->all);
        CHECK_EQ_STR(kw->values[0].text, "*evil*");
        CHECK_EQ_STR(kw->values[1].text, "*42*");
        CHECK(!kw->values[1].is_num); /* a keyword is a substring search */
        const vg_fieldcond *ka = r->searches[1].alts[0].conds;
        CHECK(ka->field == NULL && ka->all && ka->n_values == 2);
        CHECK_EQ_STR(ka->values[1].text, "*b*");
        const vg_search *m = &r->searches[2];
        CHECK_EQ_INT(m->n_alts, 3); /* two maps, then one keyword alternative */
        CHECK(m->n_alts == 3 && m->alts[2].conds[0].field == NULL &&
              !strcmp(m->alts[2].conds[0].values[0].text, "*KW*"));
        CHECK(m->n_alts == 3 && !strcmp(m->alts[1].conds[0].field, "g") &&
              !strcmp(m->alts[1].conds[0].values[0].text, "*y"));
        const vg_search *l = &r->searches[3];
        CHECK(l->n_alts == 2 && l->alts[0].n_conds == 2 && l->alts[1].n_conds == 1);
    }
    vg__ruleload_free(rl);
    /* invalid shapes: empty value list, a map as a value, a nested list, an empty search */
    static const char *const bad[] = {"    f: []\n", "    f:\n      x: 1\n", "    - [a, b]\n",
                                      "    f|contains|startswith: x\n", "    f|re|nosuch: x\n",
                                      "    f|i: x\n", "    f|gt: abc\n", "    f|exists: maybe\n",
                                      "    - ~\n"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        char y[512];
        snprintf(y, sizeof y, HEAD "  s:\n%s  condition: s\n", bad[i]);
        rl = load(y);
        CHECK_MSG(vg__ruleload_count(rl) == 0 && n_diag == 1, "accepted: %s", bad[i]);
        const vg_rule_status *st = vg__ruleload_status(rl, 0);
        CHECK_MSG(st && st->line >= 6 && st->col >= 5, "%s -> %u:%u", bad[i], st ? st->line : 0,
                  st ? st->col : 0);
        CHECK(strncmp(last, "t.yml:", 6) == 0);
        vg__ruleload_free(rl);
    }
}

static void test_more_modifiers(void)
{
    vg_ruleload *rl = load(HEAD "  s:\n    a|utf16be|base64: 'A'\n    b|wide|base64offset|contains: 'ab'\n"
                                "    c|cidr:\n      - '2001:db8::1/32'\n      - 192.168.1.7\n"
                                "    d|re|ignorecase|multiline|dotall: 'a.b'\n    e|minute: 5\n"
                                "    f|day: 1\n    g|week: 2\n    h|month: 3\n    i|year: 2024\n"
                                "    j|fieldref: other\n    k|cased|contains: AbC\n"
                                "    l|lt: '10'\n    m|startswith|windash: '/x'\n"
                                "    n|base64: 'http://'\n  condition: s\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    const vg_fieldcond *fc = fc_of(rl, 0, 0);
    if (fc) {
        CHECK_EQ_STR(fc[0].values[0].text, "AEE="); /* 00 41 */
        CHECK_EQ_INT(fc[1].n_values, 3);
        const vg_value *c6 = &fc[2].values[0], *c4 = &fc[2].values[1];
        CHECK(c6->op == VG_OP_CIDR && c6->family == 6 && c6->prefix == 32 && c6->addr[15] == 0 &&
              c6->addr[0] == 0x20 && c6->addr[3] == 0xb8);
        CHECK(c4->family == 4 && c4->prefix == 32 && c4->addr[3] == 7);
        CHECK(fc[3].values[0].re_flags == (VG_RE_I | VG_RE_M | VG_RE_S) &&
              !strcmp(fc[3].values[0].re, "a.b"));
        CHECK(fc[4].timepart == VG_TP_MINUTE && fc[5].timepart == VG_TP_DAY &&
              fc[6].timepart == VG_TP_WEEK && fc[7].timepart == VG_TP_MONTH &&
              fc[8].timepart == VG_TP_YEAR && fc[8].values[0].num == 2024);
        CHECK(fc[9].values[0].op == VG_OP_FIELDREF && fc[9].values[0].fref_mode == VG_FREF_EQ &&
              !strcmp(fc[9].values[0].ref_field, "other"));
        CHECK(fc[10].cased && !strcmp(fc[10].values[0].text, "*AbC*"));
        CHECK(fc[11].values[0].op == VG_OP_NUM_CMP && fc[11].values[0].cmp == VG_CMP_LT &&
              fc[11].values[0].num == 10);
        CHECK(fc[12].n_values == 5 && !strcmp(fc[12].values[0].text, "-x*"));
        CHECK_EQ_STR(fc[13].values[0].text, "aHR0cDovLw==");
        /* positions: the value of `c`'s second list item */
        CHECK(c4->line == 10 && c4->col == 9);
        CHECK(fc[2].line == 8 && fc[2].col == 5);
    }
    vg__ruleload_free(rl);
    static const char *const bad[] = {"10.0.0.0/33", "300.1.1.1", "::1/129", "10.0.0.0/", "x"};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        char y[512];
        snprintf(y, sizeof y, HEAD "  s:\n    ip|cidr: '%s'\n  condition: s\n", bad[i]);
        rl = load(y);
        CHECK_MSG(vg__ruleload_count(rl) == 0 && strstr(last, "invalid CIDR"), "%s: %s", bad[i],
                  last);
        vg__ruleload_free(rl);
    }
    /* an unknown placeholder skips the rule with its name */
    rl = load(HEAD "  s:\n    u|expand: '%nobody%'\n  condition: s\n");
    CHECK_MSG(vg__ruleload_count(rl) == 0 && strstr(last, "%nobody%") && strstr(last, "t.yml:6:15"), "%s", last);
    vg__ruleload_free(rl);
    /* windash multiplication is capped */
    rl = load(HEAD "  s:\n    a|windash: '-a -b -c -d -e -f -g'\n  condition: s\n");
    CHECK(vg__ruleload_count(rl) == 0 && strstr(last, "variants"));
    vg__ruleload_free(rl);
}

static void test_condition_grammar(void)
{
    const char *names[] = {"sel", "selection-1", "sel.x", "note", "filter_a", "filter_b",
                           "_hidden", "x_mid_y"};
    uint32_t nn = VG_ARRAY_LEN(names);
    vg_arena *ar = vg__arena_new(4096);
    vg_cond *c;
    uint32_t col;
    char err[160];
#define PARSE(t) vg__cond_parse(ar, (t), strlen(t), names, nn, &c, &col, err, sizeof err)
    CHECK_EQ_INT(PARSE("note and selection-1 and sel.x"), VIGIE_OK);
    CHECK(c->kind == VG_C_AND && c->a->kind == VG_C_AND && c->b->search == 2 &&
          c->a->a->search == 3);
    CHECK_EQ_INT(PARSE("NOT sel AND (note OR sel.x)"), VIGIE_OK);
    CHECK(c->kind == VG_C_AND && c->a->kind == VG_C_NOT && c->b->kind == VG_C_OR);
    CHECK_EQ_INT(PARSE("sel or note or sel.x"), VIGIE_OK); /* left-associative */
    CHECK(c->kind == VG_C_OR && c->a->kind == VG_C_OR && c->b->search == 2);
    CHECK_EQ_INT(PARSE("not sel and note"), VIGIE_OK); /* not binds tightest */
    CHECK(c->kind == VG_C_AND && c->a->kind == VG_C_NOT);
    CHECK_EQ_INT(PARSE("any of filter_* and not 1 of *mid*"), VIGIE_OK);
    CHECK(c->kind == VG_C_AND && c->a->kind == VG_C_OF_ANY && c->a->n_searches == 2 &&
          c->b->a->n_searches == 1 && c->b->a->searches[0] == 7);
    CHECK_EQ_INT(PARSE("1 of _*"), VIGIE_OK); /* the pattern itself starts with '_' */
    CHECK(c->n_searches == 1 && c->searches[0] == 6);
    CHECK_EQ_INT(PARSE("1 of them"), VIGIE_OK);
    CHECK(c->kind == VG_C_OF_ANY && c->n_searches == 7);
    CHECK_EQ_INT(PARSE("all of sel"), VIGIE_OK);
    CHECK(c->kind == VG_C_OF_ALL && c->n_searches == 1);
    /* errors, with the column of the offending token */
    CHECK_EQ_INT(PARSE("sel and"), VIGIE_CONDITION);
    CHECK_EQ_INT(col, 8);
    CHECK_EQ_INT(PARSE("sel andnot note"), VIGIE_CONDITION);
    CHECK_EQ_INT(col, 5);
    CHECK(strstr(err, "andnot") != NULL);
    CHECK_EQ_INT(PARSE("1 of nomatch*"), VIGIE_CONDITION);
    CHECK_EQ_INT(col, 6);
    CHECK_EQ_INT(PARSE("sel | count() > 5"), VIGIE_CONDITION);
    CHECK_EQ_INT(col, 5);
    CHECK_EQ_INT(PARSE("sel )"), VIGIE_CONDITION);
    CHECK_EQ_INT(PARSE("all sel"), VIGIE_CONDITION);
    CHECK_EQ_INT(PARSE(""), VIGIE_CONDITION);
    /* depth: 200 parentheses are fine, 300 are refused without recursing further */
    char deep[1024];
    size_t o = 0;
    for (int i = 0; i < 300; i++)
        deep[o++] = '(';
    memcpy(deep + o, "sel", 3);
    o += 3;
    for (int i = 0; i < 300; i++)
        deep[o++] = ')';
    deep[o] = 0;
    CHECK_EQ_INT(PARSE(deep), VIGIE_CONDITION);
    CHECK(strstr(err, "deep") != NULL);
    CHECK_EQ_INT(vg__cond_parse(ar, deep + 100, strlen(deep) - 200, names, nn, &c, &col, err,
                                sizeof err),
                 VIGIE_OK);
    CHECK(c->kind == VG_C_SEARCH && c->search == 0);
#undef PARSE
    vg__arena_free(ar);
    /* a YAML list of conditions is OR-ed */
    vg_ruleload *rl = load(HEAD "  a:\n    f: 1\n  b:\n    g: 2\n  condition:\n    - a\n    - b\n");
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    if (vg__ruleload_count(rl) == 1) {
        const vg_cond *k = vg__ruleload_get(rl, 0)->cond;
        CHECK(k->kind == VG_C_OR && k->a->search == 0 && k->b->search == 1);
    }
    vg__ruleload_free(rl);
}

static void test_documents_independent(void)
{
    /* an alias bomb, an undefined alias and a good rule in one file: only the good one loads,
     * each bad document is reported at its position */
    const char *y = "title: bomb\nlogsource: {product: test}\n"
                    "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                    "detection: {s: {m: *f}, condition: s}\n"
                    "---\ntitle: undefined\nlogsource: {product: test}\n"
                    "detection: {s: {m: *nope}, condition: s}\n"
                    "---\n" HEAD "  s:\n    a: x\n  condition: s\nid: good\n";
    vg_ruleload *rl = load(y);
    CHECK_EQ_INT(vg__ruleload_status_count(rl), 3);
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    if (vg__ruleload_status_count(rl) == 3) {
        const vg_rule_status *s0 = vg__ruleload_status(rl, 0), *s1 = vg__ruleload_status(rl, 1);
        CHECK_MSG(s0->rc == VIGIE_TOOBIG && strstr(s0->reason, "alias bomb") && s0->line == 6,
                  "%d %u %s", s0->rc, s0->line, s0->reason);
        CHECK_MSG(s1->rc == VIGIE_YAML && strstr(s1->reason, "*nope") && s1->line == 13 &&
                      s1->col == 20,
                  "%d %u:%u %s", s1->rc, s1->line, s1->col, s1->reason);
        CHECK_EQ_STR(vg__ruleload_status(rl, 2)->id, "good");
    }
    vg__ruleload_free(rl);
    /* YAML nesting deeper than the stack: that document only */
    char deep[2048];
    size_t o = (size_t)snprintf(deep, sizeof deep, "title: deep\nx: ");
    for (int i = 0; i < 300; i++)
        deep[o++] = '[';
    for (int i = 0; i < 300; i++)
        deep[o++] = ']';
    snprintf(deep + o, sizeof deep - o, "\n---\n%s  s:\n    a: x\n  condition: s\n", HEAD);
    rl = load(deep);
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    CHECK(vg__ruleload_status_count(rl) == 2 &&
          vg__ruleload_status(rl, 0)->rc == VIGIE_TOODEEP);
    vg__ruleload_free(rl);
    /* too large a file is refused as a whole */
    size_t big = VG_MAX_RULE_FILE_BYTES + 1;
    char *b = malloc(big);
    if (b) {
        memset(b, '#', big);
        vg_ruleload_opts op = {diag, NULL, NULL, 0};
        rl = vg__ruleload_new(&op);
        CHECK_EQ_INT(vg__ruleload_string(rl, "big.yml", b, big), VIGIE_OK);
        CHECK(vg__ruleload_status_count(rl) == 1 &&
              vg__ruleload_status(rl, 0)->rc == VIGIE_TOOBIG);
        CHECK_MSG(strstr(vg__ruleload_status(rl, 0)->reason, "VG_MAX_RULE_FILE_BYTES (8 MiB"), "%s",
                  vg__ruleload_status(rl, 0)->reason);
        vg__ruleload_free(rl);
        free(b);
    }
    /* metadata */
    rl = load("title: meta\nid: 123\nstatus: test\nlevel: high\nauthor: me\ndate: 2024-01-02\n"
              "tags: [attack.t1, attack.t2]\nfalsepositives: [none]\n"
              "logsource: {product: p, service: sv, category: cat}\n"
              "detection: {s: {a: 1}, condition: s}\n");
    const vg_rule *r = vg__ruleload_get(rl, 0);
    CHECK(r != NULL);
    if (r) {
        CHECK_EQ_STR(r->id, "123");
        CHECK_EQ_STR(r->level, "high");
        CHECK_EQ_STR(r->date, "2024-01-02");
        CHECK(r->n_tags == 2 && !strcmp(r->tags[1], "attack.t2") && r->n_falsepositives == 1);
        CHECK_EQ_STR(r->ls_product, "p");
        CHECK_EQ_STR(r->ls_service, "sv");
        CHECK_EQ_STR(r->ls_category, "cat");
        CHECK(r->line == 1 && r->doc == 0 && !strcmp(r->path, "t.yml"));
    }
    vg__ruleload_free(rl);
}

static void test_correlation_details(void)
{
    static const struct {
        const char *ts;
        double secs;
    } spans[] = {{"30s", 30}, {"5m", 300}, {"1h", 3600}, {"1d", 86400}, {"2w", 1209600},
                   {"1M", 2629800}, {"1y", 31557600}, {"90", 90}};
    for (size_t i = 0; i < VG_ARRAY_LEN(spans); i++) {
        char y[512];
        snprintf(y, sizeof y,
                 "title: c\ncorrelation:\n  type: event_count\n  rules: r\n  timespan: %s\n"
                 "  generate: true\n  condition:\n    gt: 1\n    lte: 9\n",
                 spans[i].ts);
        vg_ruleload *rl = load(y);
        const vg_rule *r = vg__ruleload_get(rl, 0);
        CHECK_MSG(r && r->corr->timespan == spans[i].secs, "%s: %s", spans[i].ts, last);
        if (r) {
            CHECK(r->corr->type == VG_CORR_EVENT_COUNT && r->corr->generate);
            CHECK(r->corr->gt == 1 && r->corr->lte == 9 && r->corr->n_rules == 1);
            CHECK(r->corr->eq != r->corr->eq); /* unset bounds are NAN */
        }
        vg__ruleload_free(rl);
    }
    static const char *const bad[] = {
        "  type: nosuch\n  rules: r\n  timespan: 1h\n  condition: {gt: 1}\n",
        "  type: event_count\n  rules: r\n  timespan: 1q\n  condition: {gt: 1}\n",
        "  type: event_count\n  rules: r\n  timespan: -5m\n  condition: {gt: 1}\n",
        "  type: event_count\n  rules: r\n  timespan: infm\n  condition: {gt: 1}\n",
        "  type: event_count\n  rules: r\n  timespan: 0x10s\n  condition: {gt: 1}\n",
        "  type: event_count\n  rules: r\n  timespan: 1.2.3h\n  condition: {gt: 1}\n",
        "  type: event_count\n  timespan: 1h\n  condition: {gt: 1}\n",
        "  type: event_count\n  rules: r\n  timespan: 1h\n  condition: {gt: many}\n",
        "  type: value_count\n  rules: r\n  timespan: 1h\n  condition: {gt: 1}\n",
        "  type: event_count\n  rules: r\n  timespan: 1h\n  condition: {field: x}\n",
        "  type: temporal\n  rules: [a, b]\n  timespan: 1h\n  aliases: [x]\n",
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        char y[512];
        snprintf(y, sizeof y, "title: c\ncorrelation:\n%s", bad[i]);
        vg_ruleload *rl = load(y);
        CHECK_MSG(vg__ruleload_count(rl) == 0 && n_diag == 1, "accepted: %s", bad[i]);
        vg__ruleload_free(rl);
    }
    vg_ruleload *rl = load("title: t\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b]\n"
                           "  group-by: [ip]\n  timespan: 10m\n  aliases:\n    ip:\n      a: src\n"
                           "      b: dst\n");
    const vg_rule *r = vg__ruleload_get(rl, 0);
    CHECK(r && r->corr->type == VG_CORR_TEMPORAL_ORDERED && r->corr->n_group_by == 1);
    const vg_corr_aliases *al = r ? r->corr->aliases : NULL;
    CHECK(al && al->n == 1 && al->v[0].n == 2);
    if (al && al->n == 1 && al->v[0].n == 2) {
        CHECK_EQ_STR(al->v[0].name, "ip");
        CHECK_EQ_STR(al->v[0].rules[0], "a");
        CHECK_EQ_STR(al->v[0].fields[0], "src");
        CHECK_EQ_STR(al->v[0].rules[1], "b");
        CHECK_EQ_STR(al->v[0].fields[1], "dst");
    }
    vg__ruleload_free(rl);
}

/* diag that remembers the message about one file (big.yml) among others */
static char big_msg[512];
static void diag_big(void *ud, const vigie_diag *d)
{
    (void)ud;
    if (d->file && strstr(d->file, "big.yml"))
        snprintf(big_msg, sizeof big_msg, "%s", d->message);
}

static int write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(text, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* A rule file over VG_MAX_RULE_FILE_BYTES in a directory: refused naming the limit and its
 * value (rules check and scan show the reason), the files around it load. */
static void test_rule_file_over_size_limit(void)
{
    char dir[] = "/tmp/vigie-test-rule-XXXXXX", p[600];
    CHECK(mkdtemp(dir) != NULL);
    const char *rule = HEAD "  s:\n    a: x\n  condition: s\n";
    size_t big = (size_t)VG_MAX_RULE_FILE_BYTES + 1, rl_len = strlen(rule);
    char *b = malloc(big);
    CHECK(b != NULL);
    if (!b)
        return;
    memset(b, '#', big); /* a valid rule, then comment lines up to one byte over the limit */
    memcpy(b, rule, rl_len);
    for (size_t i = rl_len + 80; i < big; i += 80)
        b[i] = '\n';
    snprintf(p, sizeof p, "%s/a.yml", dir);
    CHECK_EQ_INT(write_file(p, rule, rl_len), 0);
    snprintf(p, sizeof p, "%s/big.yml", dir);
    CHECK_EQ_INT(write_file(p, b, big), 0);
    snprintf(p, sizeof p, "%s/c.yml", dir);
    CHECK_EQ_INT(write_file(p, rule, rl_len), 0);
    free(b);
    vg_ruleload_opts o = {diag_big, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&o);
    big_msg[0] = 0;
    CHECK_EQ_INT(vg__ruleload_path(rl, dir), VIGIE_OK);
    CHECK_EQ_INT(vg__ruleload_count(rl), 2);
    CHECK_EQ_INT(vg__ruleload_status_count(rl), 3);
    const vg_rule_status *st = vg__ruleload_status(rl, 1);
    CHECK(st && st->rc == VIGIE_TOOBIG && strstr(st->path, "big.yml"));
    CHECK_MSG(st && st->reason && strstr(st->reason, "VG_MAX_RULE_FILE_BYTES (8 MiB, 8388608"),
              "%s", st && st->reason ? st->reason : "(none)");
    CHECK_MSG(strstr(big_msg, "exceeds VG_MAX_RULE_FILE_BYTES (8 MiB"), "%s", big_msg);
    vg__ruleload_free(rl);
    const char *names[] = {"a.yml", "big.yml", "c.yml"};
    for (size_t i = 0; i < VG_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        remove(p);
    }
    rmdir(dir);
}

/* one rule whose search lists n distinct values of one field */
static char *values_rule(uint32_t n, size_t *len)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__buf_adds(&b, HEAD "  s:\n    eventName:\n");
    for (uint32_t i = 0; i < n; i++)
        vg__buf_printf(&b, "      - 'Value%07uOp'\n", (unsigned)i);
    vg__buf_adds(&b, "  condition: s\n");
    *len = b.len;
    return b.data;
}

/* A list of 100,000 values is within the YAML limits and loads whole, in order (the bench,
 * bench/rule_load.sh, times it); a list past VG_MAX_YAML_EVENTS is refused naming it. */
static void test_long_value_lists(void)
{
    size_t len;
    char *y = values_rule(100000, &len);
    CHECK(y != NULL);
    vg_ruleload_opts o = {diag, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&o);
    CHECK_EQ_INT(vg__ruleload_string(rl, "long.yml", y, len), VIGIE_OK);
    CHECK_EQ_INT(vg__ruleload_count(rl), 1);
    const vg_rule *r = vg__ruleload_get(rl, 0);
    if (r) {
        const vg_fieldcond *fc = &r->searches[0].alts[0].conds[0];
        CHECK_EQ_INT(fc->n_values, 100000);
        CHECK_EQ_STR(fc->values[0].text, "Value0000000Op");
        CHECK_EQ_STR(fc->values[99999].text, "Value0099999Op");
    }
    vg__ruleload_free(rl);
    free(y);
    y = values_rule(VG_MAX_YAML_EVENTS, &len);
    CHECK(y != NULL);
    rl = vg__ruleload_new(&o);
    last[0] = 0;
    CHECK_EQ_INT(vg__ruleload_string(rl, "toolong.yml", y, len), VIGIE_OK);
    CHECK_EQ_INT(vg__ruleload_count(rl), 0);
    const vg_rule_status *st = vg__ruleload_status(rl, 0);
    CHECK(st && st->rc == VIGIE_TOOBIG);
    CHECK_MSG(st && st->reason && strstr(st->reason, "VG_MAX_YAML_EVENTS (200000)"), "%s",
              st && st->reason ? st->reason : "(none)");
    CHECK_MSG(strstr(last, "VG_MAX_YAML_EVENTS (200000)"), "%s", last);
    vg__ruleload_free(rl);
    free(y);
}

int main(void)
{
    RUN(test_sigmahq_corpus_loads);
    RUN(test_sigmahq_other_trees);
    RUN(test_sigmahq_placeholders_configured);
    RUN(test_escapes_and_wildcards);
    RUN(test_value_transforms);
    RUN(test_operators);
    RUN(test_conditions);
    RUN(test_bad_rules_positions);
    RUN(test_correlation_and_filter_docs);
    RUN(test_scalar_typing);
    RUN(test_keywords_and_lists);
    RUN(test_more_modifiers);
    RUN(test_condition_grammar);
    RUN(test_documents_independent);
    RUN(test_correlation_details);
    RUN(test_rule_file_over_size_limit);
    RUN(test_long_value_lists);
    return TEST_DONE();
}
