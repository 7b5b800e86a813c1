/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_regress_sigmahq.c: SigmaHQ's own regression suite. For every labelled case in
 * ../shared/datasets/sigmahq-regression/labels.csv, the labelled rule from ../shared/sigma
 * must fire on the case's JSON rendering at least once, and exactly `match_count` times
 * where the label gives one. The rule runs through the whole pipeline as `vigie scan` runs
 * it: reader (format detected from content), JSON tape, shape classification (Windows
 * channel + EventID -> logsource), logsource routing, field mapping, prefilter, match.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/match.h"
#include "test.h"

typedef struct row_ctx {
    char **cells[400];
    uint32_t n_rows;
    int col_rule_path, col_json, col_count, col_rule_id;
} row_ctx;

typedef struct label {
    char *rule_path, *json, *count, *rule_id;
} label;

static label labels[1024];
static uint32_t n_labels;
static int cols[4] = {-1, -1, -1, -1};

static int on_row(void *ud, uint64_t line, const char *const *cells, const size_t *lens,
                  uint32_t n)
{
    (void)ud;
    static const char *names[4] = {"rule_path_in_sigma_repo", "json_rendering", "match_count",
                                   "rule_id"};
    if (line == 1) {
        for (uint32_t i = 0; i < n; i++)
            for (int k = 0; k < 4; k++)
                if (lens[i] == strlen(names[k]) && memcmp(cells[i], names[k], lens[i]) == 0)
                    cols[k] = (int)i;
        return 0;
    }
    if (n_labels >= 1024 || cols[0] < 0 || cols[1] < 0 || cols[2] < 0 || cols[3] < 0)
        return 0;
    label *l = &labels[n_labels++];
    char **dst[4] = {&l->rule_path, &l->json, &l->count, &l->rule_id};
    for (int k = 0; k < 4; k++)
        *dst[k] = (uint32_t)cols[k] < n ? strndup(cells[cols[k]], lens[cols[k]]) : strdup("");
    return 0;
}

typedef struct count_ctx {
    const vg_ruleset *rs;
    const char *want_id;
    int hits;
} count_ctx;

static int on_match(void *ud, uint32_t ri)
{
    count_ctx *c = ud;
    const vg_rule *r = vg__ruleset_rule(c->rs, ri);
    if (r->id && strcmp(r->id, c->want_id) == 0)
        c->hits++;
    return 0;
}

static int quiet_diag_count;
static void quiet_diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    quiet_diag_count++;
    if (quiet_diag_count < 20)
        vg__diag_print(stderr, d);
}

/* Disputed labels (tests/regress/sigmahq_label_disputes.txt): rule path -> reason. */
static char *disputes;

static const char *disputed(const char *rule_path)
{
    if (!disputes)
        return NULL;
    size_t rl = strlen(rule_path);
    for (const char *line = disputes; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        if (line[0] != '#' && ll > rl && !memcmp(line, rule_path, rl) && line[rl] == '\t')
            return line + rl + 1;
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static void test_sigmahq_regression(void)
{
    size_t dl;
    vg__read_file(VIGIE_SOURCE_DIR "/tests/regress/sigmahq_label_disputes.txt", 1 << 20,
                  &disputes, &dl);
    char path[4096];
    shared_path(path, sizeof path, "datasets/sigmahq-regression/labels.csv");
    char *text;
    size_t len;
    if (vg__read_file(path, 1 << 24, &text, &len) != VIGIE_OK) {
        CHECK_MSG(false, "cannot read %s", path);
        return;
    }
    uint64_t err_line = 0;
    CHECK_EQ_INT(vg__csv_parse(text, len, on_row, NULL, &err_line), VIGIE_OK);
    free(text);
    CHECK(n_labels >= 200);

    vg_fieldmap *fm = NULL;
    CHECK_EQ_INT(vg__fieldmap_load_builtin(&fm, quiet_diag, NULL), VIGIE_OK);
    vg_jtape tape;
    vg__jtape_init(&tape);
    vg_jscratch *js = vg__jscratch_new();
    vg_buf tmp;
    vg__buf_init(&tmp, 0);
    int passed = 0, failed = 0;
    for (uint32_t i = 0; i < n_labels; i++) {
        label *l = &labels[i];
        char rp[4096], jp[4096];
        snprintf(rp, sizeof rp, "%s/sigma/%s", VIGIE_SHARED_DIR, l->rule_path);
        snprintf(jp, sizeof jp, "%s/datasets/sigmahq-regression/%s", VIGIE_SHARED_DIR, l->json);
        vg_ruleload_opts lo = {quiet_diag, NULL, NULL, 0};
        vg_ruleload *rl = vg__ruleload_new(&lo);
        vg_ruleset *rs = NULL;
        vg_matcher *m = NULL;
        vg_reader *rd = NULL;
        count_ctx cc = {NULL, l->rule_id, 0};
        int events = 0;
        if (vg__ruleload_path(rl, rp) != VIGIE_OK || vg__ruleload_count(rl) == 0) {
            fprintf(stderr, "FAIL %s: rule did not load\n", l->rule_path);
            failed++;
            goto next;
        }
        vg_compile_opts co = {quiet_diag, NULL, fm, false, false};
        if (vg__ruleset_compile(rl, &co, &rs) != VIGIE_OK || vg__matcher_new(rs, &m) != VIGIE_OK) {
            fprintf(stderr, "FAIL %s: rule did not compile\n", l->rule_path);
            failed++;
            goto next;
        }
        cc.rs = rs;
        vg_reader_opts ro = {quiet_diag, NULL, 0, 0};
        if (vg__reader_open(&rd, jp, &ro) != VIGIE_OK) {
            fprintf(stderr, "FAIL %s: cannot open %s\n", l->rule_path, jp);
            failed++;
            goto next;
        }
        vg_record rec;
        while (vg__reader_next(rd, &rec) == VIGIE_OK) {
            if (vg__json_parse(&tape, rec.data, rec.len, NULL) != VIGIE_OK)
                continue;
            events++;
            vg__jscratch_reset(js);
            vg__buf_reset(&tmp);
            vg_eventinfo ei;
            vg__shape_classify(fm, &tape, js, &tmp, &ei);
            vg__matcher_run(m, &tape, &ei, on_match, &cc);
        }
        {
            int want = l->count[0] ? atoi(l->count) : -1;
            const char *why = disputed(l->rule_path);
            if (why && cc.hits >= 1) {
                fprintf(stderr, "note %s: %d match(es), label says %s (disputed: %.*s)\n",
                        l->rule_path, cc.hits, l->count, (int)strcspn(why, "\n"), why);
                want = -1;
            }
            bool ok = want >= 0 ? cc.hits == want : cc.hits >= 1;
            if (ok)
                passed++;
            else {
                failed++;
                fprintf(stderr, "FAIL %s: %d match(es) on %d event(s), want %s\n", l->rule_path,
                        cc.hits, events, want >= 0 ? l->count : ">= 1");
            }
        }
    next:
        if (rd)
            vg__reader_close(rd);
        if (m)
            vg__matcher_free(m);
        if (rs)
            vg__ruleset_free(rs);
        vg__ruleload_free(rl);
    }
    printf("sigmahq regression: %d passed, %d failed of %u labelled cases\n", passed, failed,
           n_labels);
    CHECK_EQ_INT(failed, 0);
    vg__buf_free(&tmp);
    vg__jscratch_free(js);
    vg__jtape_free(&tape);
    vg__fieldmap_free(fm);
    free(disputes);
    for (uint32_t i = 0; i < n_labels; i++) {
        free(labels[i].rule_path);
        free(labels[i].json);
        free(labels[i].count);
        free(labels[i].rule_id);
    }
}

int main(void)
{
    RUN(test_sigmahq_regression);
    return TEST_DONE();
}
