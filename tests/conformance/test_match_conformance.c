/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_match_conformance.c: every vector of ../shared/conformance/sigma-vectors.json
 * (rule YAML, event JSON, expected match) runs through the loader, the compiler and the
 * matcher, with every rule evaluated regardless of logsource (the vectors' logsources are
 * placeholders) and the identity field map, with and without the prefilter.
 * The vectors file is read with vigie's own JSON reader.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/match.h"
#include "test.h"

static int hit_cb(void *ud, uint32_t ri)
{
    (void)ri;
    (*(int *)ud)++;
    return 0;
}

static int n_diag;
static char last_diag[512];
static void diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    n_diag++;
    snprintf(last_diag, sizeof last_diag, "%s:%llu:%llu: %s", d->file ? d->file : "",
             (unsigned long long)d->line, (unsigned long long)d->col, d->message);
}

/* Run one rule on one event; returns matches, or -1 when the rule did not load/compile. */
static int run_one(const char *rule, size_t rule_len, const char *event, size_t event_len,
                   const vg_placeholder *ph, uint32_t n_ph, bool prefilter)
{
    vg_ruleload_opts lo = {diag, NULL, ph, n_ph};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg__ruleload_string(rl, "vector.yml", rule, rule_len);
    int hits = -1;
    vg_ruleset *rs = NULL;
    vg_matcher *m = NULL;
    vg_compile_opts co = {diag, NULL, NULL, true, !prefilter};
    if (vg__ruleload_count(rl) >= 1 && vg__ruleset_compile(rl, &co, &rs) == VIGIE_OK &&
        vg__ruleset_count(rs) == 1 && vg__matcher_new(rs, &m) == VIGIE_OK) {
        vg_jtape t;
        vg__jtape_init(&t);
        if (vg__json_parse(&t, event, event_len, NULL) == VIGIE_OK) {
            vg_eventinfo ei;
            memset(&ei, 0, sizeof ei);
            hits = 0;
            vg__matcher_run(m, &t, &ei, hit_cb, &hits);
        }
        vg__jtape_free(&t);
    }
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
    return hits;
}

static void test_vectors(void)
{
    char path[4096];
    shared_path(path, sizeof path, "conformance/sigma-vectors.json");
    char *text;
    size_t len;
    CHECK_EQ_INT(vg__read_file(path, 1 << 26, &text, &len), VIGIE_OK);
    if (!text)
        return;
    vg_jtape t;
    vg__jtape_init(&t);
    CHECK_EQ_INT(vg__json_parse(&t, text, len, NULL), VIGIE_OK);
    vg_buf rb, idb;
    vg__buf_init(&rb, 0);
    vg__buf_init(&idb, 0);
    int total = 0, failed = 0;
    for (uint32_t v = 1; v < t.tok[0].next; v = t.tok[v].next) {
        total++;
        int64_t id = vg__json_obj_get(&t, v, "id", 2);
        int64_t rule = vg__json_obj_get(&t, v, "rule", 4);
        int64_t ev = vg__json_obj_get(&t, v, "event", 5);
        int64_t mt = vg__json_obj_get(&t, v, "match", 5);
        int64_t phs = vg__json_obj_get(&t, v, "placeholders", 12);
        if (id < 0 || rule < 0 || ev < 0 || mt < 0) {
            failed++;
            continue;
        }
        size_t il, rl_;
        const char *ids = vg__json_str(&t, (uint32_t)id, &idb, &il);
        char idc[128];
        snprintf(idc, sizeof idc, "%.*s", (int)il, ids);
        const char *rules = vg__json_str(&t, (uint32_t)rule, &rb, &rl_);
        char *rule_copy = strndup(rules, rl_);
        const vg_jtok *e = &t.tok[ev];
        const char *ev_text = t.src + e->off;
        size_t ev_len = 0;
        /* the event object's text: from '{' to the end of its last token */
        {
            uint32_t last = e->next - 1;
            const vg_jtok *lt = &t.tok[last];
            size_t endoff = lt->off + lt->len + (lt->type == VG_J_STRING ? 1 : 0);
            while (endoff < t.src_len && t.src[endoff] != '}')
                endoff++;
            /* step out of nested closers until balanced */
            int depth = 0;
            for (size_t k = e->off; k < t.src_len; k++) {
                char c = t.src[k];
                if (c == '"') { /* skip strings */
                    k++;
                    while (k < t.src_len && t.src[k] != '"') {
                        if (t.src[k] == '\\')
                            k++;
                        k++;
                    }
                    continue;
                }
                if (c == '{' || c == '[')
                    depth++;
                else if (c == '}' || c == ']') {
                    if (--depth == 0) {
                        ev_len = k + 1 - e->off;
                        break;
                    }
                }
            }
        }
        vg_placeholder ph[8];
        uint32_t n_ph = 0;
        const char *vals[8][16];
        if (phs >= 0 && t.tok[phs].type == VG_J_OBJECT) {
            for (uint32_t k = (uint32_t)phs + 1; k < t.tok[phs].next && n_ph < 8;) {
                uint32_t val = k + 1;
                ph[n_ph].name = strndup(t.src + t.tok[k].off, t.tok[k].len);
                uint32_t nv = 0;
                for (uint32_t q = val + 1; q < t.tok[val].next && nv < 16; q = t.tok[q].next)
                    vals[n_ph][nv++] = strndup(t.src + t.tok[q].off, t.tok[q].len);
                ph[n_ph].values = vals[n_ph];
                ph[n_ph].n_values = nv;
                n_ph++;
                k = t.tok[val].next;
            }
        }
        bool want = t.tok[mt].type == VG_J_TRUE;
        for (int pf = 0; pf < 2; pf++) {
            n_diag = 0;
            int hits = run_one(rule_copy, strlen(rule_copy), ev_text, ev_len, ph, n_ph, pf);
            if (hits < 0 || (hits > 0) != want) {
                failed++;
                fprintf(stderr, "FAIL %s (prefilter %s): want %s, got %s%s%s\n", idc,
                        pf ? "on" : "off", want ? "match" : "no match",
                        hits < 0 ? "rule rejected" : hits ? "match" : "no match",
                        n_diag ? ": " : "", n_diag ? last_diag : "");
                break;
            }
        }
        for (uint32_t k = 0; k < n_ph; k++) {
            free((void *)ph[k].name);
            for (uint32_t q = 0; q < ph[k].n_values; q++)
                free((void *)ph[k].values[q]);
        }
        free(rule_copy);
    }
    printf("conformance: %d vectors, %d failed\n", total, failed);
    CHECK(total >= 298);
    CHECK_EQ_INT(failed, 0);
    vg__buf_free(&rb);
    vg__buf_free(&idb);
    vg__jtape_free(&t);
    free(text);
}

int main(void)
{
    RUN(test_vectors);
    return TEST_DONE();
}
