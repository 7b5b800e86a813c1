/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanner.c: vigie_scanner: one record in, its matches out, on one thread.
 *
 * Stage: api. Per record: the JSON reader parses it into the scanner's tape (strict; not an
 * object is a bad record), the classifier gives its shape, logsource, tenant and time (into
 * the scanner's scratch), and the matcher evaluates the rules routed to that logsource,
 * calling back per match with the compiled rule's index, which is turned into the engine's
 * rule-document index. Cost: zero allocations per record once the tape, scratch and matcher
 * buffers have grown to the largest record and its routes are cached (the matcher keeps one
 * route list per logsource seen); a bad record's diagnostic is formatted on the stack.
 * tests/unit/test_api.c counts the allocations of a warm scanner.
 */
#include "api.h"

#include "ingest/ingest.h"
#include "json/json.h"
#include "match/match.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vigie_scanner {
    const vigie_engine *e;
    vigie_diag_fn diag;
    void *diag_ud;
    vg_matcher *m;
    vg_jtape tape;
    vg_jscratch *js;
    vg_buf tmp; /* the classifier's unescaped strings */
    bool undet;
    uint64_t records, bad;
    /* the record being scanned */
    vigie_match_fn fn;
    void *ud;
    vigie_record rec;
};

static int on_undet(void *ud, uint32_t ri, const vg_undetermined *u);

int vigie_scanner_new(const vigie_engine *e, vigie_diag_fn diag, void *diag_ud,
                      vigie_scanner **out)
{
    if (!out)
        return VIGIE_INVAL;
    *out = NULL;
    if (!e || !vg__engine_ruleset(e))
        return VIGIE_INVAL;
    vigie_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return VIGIE_NOMEM;
    s->e = e;
    s->diag = diag;
    s->diag_ud = diag_ud;
    vg__jtape_init(&s->tape);
    vg__buf_init(&s->tmp, 0);
    s->js = vg__jscratch_new();
    int rc = s->js ? vg__matcher_new(vg__engine_ruleset(e), &s->m) : VIGIE_NOMEM;
    if (rc) {
        vigie_scanner_free(s);
        return rc;
    }
    vigie_scanner_set_undetermined(s, 1);
    *out = s;
    return VIGIE_OK;
}

void vigie_scanner_free(vigie_scanner *s)
{
    if (!s)
        return;
    vg__matcher_free(s->m);
    vg__jscratch_free(s->js);
    vg__buf_free(&s->tmp);
    vg__jtape_free(&s->tape);
    free(s);
}

void vigie_scanner_set_undetermined(vigie_scanner *s, int on)
{
    if (!s)
        return;
    s->undet = on != 0;
    vg__matcher_on_undetermined(s->m, s->undet ? on_undet : NULL);
}

static int report(vigie_scanner *s, uint32_t ri, const vg_undetermined *u)
{
    uint32_t doc = vg__engine_rule_index(s->e, ri);
    const vigie_rule_info *in = vg__engine_rule_info(s->e, doc);
    vigie_match m = {doc, in->id, in->title, in->level, VIGIE_MATCH_TRUE, NULL, NULL, 0, 0,
                     &s->rec};
    if (u) {
        m.result = VIGIE_MATCH_UNDETERMINED;
        m.undetermined_reason = vg__undet_reason_name(u->reason, false);
        m.undetermined_fields = u->fields;
        m.n_undetermined_fields = u->n_fields;
        m.more_undetermined_fields = u->more_fields;
    }
    return s->fn ? s->fn(s->ud, &m) : 0;
}

static int on_match(void *ud, uint32_t ri)
{
    return report(ud, ri, NULL);
}

static int on_undet(void *ud, uint32_t ri, const vg_undetermined *u)
{
    return report(ud, ri, u);
}

static int bad_record(vigie_scanner *s, const vigie_source *src, int rc, const vg_jerr *err)
{
    s->bad++;
    if (!s->diag)
        return rc;
    char msg[256];
    if (src)
        snprintf(msg, sizeof msg, "record %llu skipped: %s: %s (at byte %llu of the record)",
                 (unsigned long long)src->index + 1, vigie_strerror(rc), err->msg,
                 (unsigned long long)err->offset);
    else
        snprintf(msg, sizeof msg, "record skipped: %s: %s (at byte %llu of the record)",
                 vigie_strerror(rc), err->msg, (unsigned long long)err->offset);
    vigie_diag d = {VIGIE_DIAG_ERROR,
                    rc,
                    src ? src->name : NULL,
                    src ? src->line : 0,
                    0,
                    src ? src->offset + err->offset : (uint64_t)err->offset,
                    NULL,
                    msg};
    s->diag(s->diag_ud, &d);
    return rc;
}

int vigie_scanner_scan(vigie_scanner *s, const char *rec, size_t len, const vigie_source *src,
                       vigie_match_fn fn, void *ud)
{
    if (!s || (!rec && len))
        return VIGIE_INVAL;
    vg_jerr err;
    memset(&err, 0, sizeof err);
    int rc = vg__json_parse(&s->tape, rec ? rec : "", len, &err);
    if (rc == VIGIE_OK && s->tape.tok[0].type != VG_J_OBJECT) {
        rc = VIGIE_JSON;
        err.offset = 0;
        snprintf(err.msg, sizeof err.msg, "record is not a JSON object");
    }
    if (rc != VIGIE_OK)
        return bad_record(s, src, rc, &err);
    s->records++;
    vg__jscratch_reset(s->js);
    vg__buf_reset(&s->tmp);
    vg_eventinfo ei;
    vg__shape_classify(vg__engine_fieldmap(s->e), &s->tape, s->js, &s->tmp, &ei);
    vigie_record *r = &s->rec;
    r->data = rec;
    r->len = len;
    r->src = src;
    r->shape = vg__shape_name(ei.shape);
    r->product = ei.product;
    r->services = ei.services;
    r->n_services = ei.n_services;
    r->categories = ei.categories;
    r->n_categories = ei.n_categories;
    r->tenant = ei.tenant;
    r->tenant_len = ei.tenant_len;
    r->has_time = ei.has_time;
    r->time = ei.has_time ? ei.time : 0;
    s->fn = fn;
    s->ud = ud;
    rc = vg__matcher_run(s->m, &s->tape, &ei, on_match, s);
    s->fn = NULL;
    s->ud = NULL;
    /* ei lives on this stack frame: the record's pointers into it end here */
    r->services = r->categories = NULL;
    r->n_services = r->n_categories = 0;
    return rc;
}

void vigie_scanner_stats(const vigie_scanner *s, vigie_scan_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    const vg_match_stats *st = vg__matcher_stats(s->m);
    out->records = s->records;
    out->bad_records = s->bad;
    out->routed = st->routed;
    out->candidates = st->candidates;
    out->matches = st->matches;
    out->undetermined = st->undetermined;
}
