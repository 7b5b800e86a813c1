/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_vectors.c: every scenario of ../shared/conformance/
 * sigma-correlation-vectors.json runs through the whole chain: the rules (multi-document
 * YAML) through vigie's loader and compiler, each event through the matcher with every rule
 * evaluated regardless of logsource (the vectors' logsources are placeholders), every match
 * of a referenced rule fed to the correlation engine, and the indexes of the events on which
 * a correlation alerted compared exactly with `fires_at`. Each scenario runs twice, with no
 * allowed lateness and with an hour of it: in-order input must give the same alerts.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/corr.h"
#include "match/match.h"
#include "test.h"

static char last_diag[512];
static void diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    snprintf(last_diag, sizeof last_diag, "%s:%llu: %s", d->file ? d->file : "",
             (unsigned long long)d->line, d->message);
}

/* Byte length of the JSON value at token i: its last descendant's end, then the closers of
 * every container ending there. */
static size_t value_len(const vg_jtape *t, uint32_t i)
{
    const vg_jtok *v = &t->tok[i];
    if (v->type != VG_J_OBJECT && v->type != VG_J_ARRAY)
        return v->len + (v->type == VG_J_STRING ? 2 : 0);
    uint32_t last = v->next - 1, closers = 0;
    for (uint32_t c = i; c < v->next; c++)
        closers += (t->tok[c].type == VG_J_OBJECT || t->tok[c].type == VG_J_ARRAY) &&
                   t->tok[c].next == v->next;
    const vg_jtok *l = &t->tok[last];
    size_t p = last == i ? v->off + 1 : l->off + l->len + (l->type == VG_J_STRING ? 1 : 0);
    while (closers && p < t->src_len) {
        if (t->src[p] == '}' || t->src[p] == ']')
            closers--;
        p++;
    }
    return p - v->off;
}

/* ---- the event getter: first value at a Sigma field path, as text ---------------------- */
typedef struct event_ctx {
    const vg_jtape *tape;
    vg_jscratch *scratch;
    vg_buf text;
    vg_jval found;
    bool have;
} event_ctx;

static int first_value(void *ud, const vg_jval *v)
{
    event_ctx *e = ud;
    e->found = *v;
    e->have = true;
    return 1;
}

static bool get_field(void *ud, const char *field, const char **val, size_t *len)
{
    event_ctx *e = ud;
    e->have = false;
    vg__json_path_each(e->tape, 0, field, strlen(field), e->scratch, first_value, e);
    if (!e->have)
        return false;
    const vg_jtape *t = e->found.tape;
    uint32_t i = e->found.tok;
    if (t->tok[i].type == VG_J_ARRAY && t->tok[i].len > 0)
        i++; /* an array gives its first element */
    switch (t->tok[i].type) {
    case VG_J_STRING:
        *val = vg__json_str(t, i, &e->text, len);
        return *val != NULL;
    case VG_J_NUMBER:
    case VG_J_TRUE:
    case VG_J_FALSE:
        *val = vg__json_raw(t, i);
        *len = t->tok[i].len;
        return true;
    default:
        return false; /* null, objects */
    }
}

/* ---- one scenario ------------------------------------------------------------------------ */
typedef struct fired {
    int event;      /* index of the event being fed */
    int last_event; /* last index recorded, to record each event once */
    int got[64];
    int n_got;
    int n_alerts;
} fired;

static int on_alert(void *ud, const vg_corr_alert *a)
{
    fired *f = ud;
    CHECK(a->n_refs >= 1 && a->n_refs <= a->n_events && a->t_start <= a->t_end);
    CHECK(a->refs[a->n_refs - 1] == (uint64_t)f->event);
    f->n_alerts++;
    if (f->event != f->last_event && f->n_got < 64)
        f->got[f->n_got++] = f->last_event = f->event;
    return 0;
}

/* Matches of one event, in rule order. */
typedef struct hits {
    uint32_t v[64];
    uint32_t n;
} hits;

static int collect(void *ud, uint32_t ri)
{
    hits *h = ud;
    if (h->n < 64)
        h->v[h->n++] = ri;
    return 0;
}

/* Returns the number of alerting events recorded into f, or -1 on a set-up failure. */
static int run_scenario(const char *yaml, size_t yaml_len, const vg_jtape *vt, uint32_t events,
                        double lateness, fired *f)
{
    int rc = -1;
    vg_ruleload_opts lo = {diag, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg_ruleset *rs = NULL;
    vg_matcher *m = NULL;
    vg_corr *cr = NULL;
    const vg_rule **rules = NULL;
    event_ctx ec = {0};
    vg_jtape et;
    vg__jtape_init(&et);
    vg__buf_init(&ec.text, 0);
    ec.scratch = vg__jscratch_new();
    memset(f, 0, sizeof *f);
    f->last_event = -1;
    vg__ruleload_string(rl, "vector.yml", yaml, yaml_len);
    uint32_t n = vg__ruleload_count(rl);
    vg_compile_opts co = {diag, NULL, NULL, true, false};
    if (!n || vg__ruleset_compile(rl, &co, &rs) != VIGIE_OK ||
        vg__matcher_new(rs, &m) != VIGIE_OK || !(rules = calloc(n, sizeof *rules)))
        goto out;
    for (uint32_t i = 0; i < n; i++)
        rules[i] = vg__ruleload_get(rl, i);
    vg_corr_opts opts = {0, lateness, false, diag, NULL};
    if (vg__corr_new(rules, n, &opts, &cr) != VIGIE_OK || vg__corr_count(cr) != 1)
        goto out;
    int idx = 0;
    for (uint32_t ev = events + 1; ev < vt->tok[events].next; ev = vt->tok[ev].next, idx++) {
        int64_t tt = vg__json_obj_get(vt, ev, "t", 1);
        int64_t body = vg__json_obj_get(vt, ev, "event", 5);
        double t;
        if (tt < 0 || body < 0 ||
            vg__json_number(vg__json_raw(vt, (uint32_t)tt), vt->tok[tt].len, &t) != VIGIE_OK ||
            vg__json_parse(&et, vg__json_raw(vt, (uint32_t)body), value_len(vt, (uint32_t)body),
                           NULL) != VIGIE_OK)
            goto out;
        vg__jscratch_reset(ec.scratch);
        ec.tape = &et;
        f->event = idx;
        /* base rules: collect the matches first, then feed them in rule order */
        hits hu = {.n = 0};
        vg_eventinfo ei;
        memset(&ei, 0, sizeof ei);
        if (vg__matcher_run(m, &et, &ei, collect, &hu) != VIGIE_OK)
            goto out;
        for (uint32_t h = 0; h < hu.n; h++) {
            const vg_rule *r = vg__ruleset_rule(rs, hu.v[h]);
            if (vg__corr_wants(cr, r))
                vg__corr_feed(cr, r, t, get_field, &ec, (uint64_t)idx, on_alert, f);
        }
    }
    rc = f->n_got;
out:
    vg__corr_free(cr);
    free(rules);
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
    vg__jtape_free(&et);
    vg__buf_free(&ec.text);
    vg__jscratch_free(ec.scratch);
    return rc;
}

static void test_vectors(void)
{
    char path[4096];
    shared_path(path, sizeof path, "conformance/sigma-correlation-vectors.json");
    char *text = NULL;
    size_t len;
    CHECK_EQ_INT(vg__read_file(path, 1 << 26, &text, &len), VIGIE_OK);
    if (!text)
        return;
    vg_jtape t;
    vg__jtape_init(&t);
    CHECK_EQ_INT(vg__json_parse(&t, text, len, NULL), VIGIE_OK);
    vg_buf idb, yb;
    vg__buf_init(&idb, 0);
    vg__buf_init(&yb, 0);
    int total = 0, passed = 0;
    for (uint32_t v = 1; t.n && v < t.tok[0].next; v = t.tok[v].next) {
        total++;
        int64_t id = vg__json_obj_get(&t, v, "id", 2);
        int64_t rules = vg__json_obj_get(&t, v, "rules", 5);
        int64_t events = vg__json_obj_get(&t, v, "events", 6);
        int64_t want = vg__json_obj_get(&t, v, "fires_at", 8);
        if (id < 0 || rules < 0 || events < 0 || want < 0) {
            fprintf(stderr, "FAIL vector %d: missing id, rules, events or fires_at\n", total);
            continue;
        }
        size_t il, yl;
        const char *ids = vg__json_str(&t, (uint32_t)id, &idb, &il);
        char idc[128];
        snprintf(idc, sizeof idc, "%.*s", (int)il, ids);
        const char *y = vg__json_str(&t, (uint32_t)rules, &yb, &yl);
        char *yaml = strndup(y, yl);
        char want_s[256] = "", got_s[256] = "";
        int wanted[64], n_want = 0;
        for (uint32_t k = (uint32_t)want + 1; k < t.tok[want].next && n_want < 64;
             k = t.tok[k].next) {
            double d = -1;
            vg__json_number(vg__json_raw(&t, k), t.tok[k].len, &d);
            wanted[n_want++] = (int)d;
            snprintf(want_s + strlen(want_s), sizeof want_s - strlen(want_s), "%s%d",
                     n_want > 1 ? "," : "", (int)d);
        }
        bool ok = true;
        const double lateness[2] = {0, 3600};
        for (int l = 0; l < 2 && ok; l++) {
            fired f;
            last_diag[0] = 0;
            int n_got = run_scenario(yaml, yl, &t, (uint32_t)events, lateness[l], &f);
            got_s[0] = 0;
            for (int k = 0; k < f.n_got; k++)
                snprintf(got_s + strlen(got_s), sizeof got_s - strlen(got_s), "%s%d", k ? "," : "",
                         f.got[k]);
            ok = n_got == n_want;
            for (int k = 0; ok && k < n_want; k++)
                ok = f.got[k] == wanted[k];
            if (!ok)
                fprintf(stderr, "FAIL %s (lateness %gs): fires_at [%s], got %s%s%s%s\n", idc,
                        lateness[l], want_s, n_got < 0 ? "a set-up failure" : "[",
                        n_got < 0 ? "" : got_s, n_got < 0 ? "" : "]",
                        last_diag[0] ? last_diag : "");
        }
        passed += ok;
        free(yaml);
    }
    printf("correlation conformance: %d/%d vectors pass\n", passed, total);
    CHECK(total >= 11);
    CHECK_EQ_INT(passed, total);
    vg__buf_free(&idb);
    vg__buf_free(&yb);
    vg__jtape_free(&t);
    free(text);
}

int main(void)
{
    RUN(test_vectors);
    return TEST_DONE();
}
