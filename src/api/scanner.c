/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scanner.c: vigie_scanner: one record in, its matches out, on one thread.
 *
 * Stage: api. Per record: the JSON reader parses it into the scanner's tape (strict; not an
 * object is a bad record), the classifier gives its shape, logsource, tenant and time (into
 * the scanner's scratch), and the matcher evaluates the rules routed to that logsource,
 * calling back per match with the compiled rule's index, which is turned into the engine's
 * rule-document index. Each match carries its vigie_alert, built as src/cli/scan_worker.c
 * builds it (format_alert, on_match, on_undetermined: the same fields, the same id recipe
 * vg__alert_set_id): the record's SHA-256 is computed once per record on its first match, a
 * mail read's messages (vg__detect_mail_read) once too, a first-seen candidate's group and
 * term are the first value of each field as the matcher resolves it ("-" when absent), in
 * the scanner's buffers. Cost: zero allocations per record once the tape, scratch, matcher,
 * detect and alert buffers have grown to the largest record and its routes are cached (the
 * matcher keeps one route list per logsource seen); a bad record's diagnostic is formatted
 * on the stack. tests/unit/test_api.c counts the allocations of a warm scanner.
 */
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 but its only allocation-free SHA-256 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "api.h"

#include "alert/render.h"
#include "detect/detect.h"
#include "ingest/ingest.h"
#include "json/json.h"
#include "match/match.h"
#include "util/util.h"

#include <openssl/sha.h>
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
    vg_detect_scratch *ds;
    vg_buf idbuf;  /* vg__alert_set_id's scratch */
    vg_buf user;   /* the alert's user, unescaped */
    vg_buf nt;     /* a candidate's group and term */
    vg_buf nt_tmp; /* their unescaped values */
    /* the record being scanned */
    vigie_match_fn fn;
    void *ud;
    vigie_record rec;
    vg_eventinfo ei_rec; /* the last record's classification (facts read it after the scan) */
    bool have_rec;       /* the last scan parsed a record */
    const vg_eventinfo *ei;
    const char *data;
    size_t len;
    bool sha_ok, mail_ok, is_mail;
    uint8_t sha[32];
    vigie_alert_messages mr;
    const char *mr_folder[VG_MAX_SESSION_FOLDERS];
    vigie_alert alert;
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
    vg__buf_init(&s->idbuf, 0);
    vg__buf_init(&s->user, 0);
    vg__buf_init(&s->nt, 0);
    vg__buf_init(&s->nt_tmp, 0);
    s->js = vg__jscratch_new();
    s->ds = vg__detect_scratch_new();
    int rc = s->js && s->ds ? vg__matcher_new(vg__engine_ruleset(e), &s->m) : VIGIE_NOMEM;
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
    vg__detect_scratch_free(s->ds);
    vg__buf_free(&s->tmp);
    vg__buf_free(&s->idbuf);
    vg__buf_free(&s->user);
    vg__buf_free(&s->nt);
    vg__buf_free(&s->nt_tmp);
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

/* ---- the alert of a match (scan_worker.c's format_alert, on_match, on_undetermined) ---- */

/* The first value of a field on the record, as text, appended to out ("-" when absent):
 * the field map's candidate paths in order, the first value (of an array, its first
 * element) that is a string, a number or a boolean. */
typedef struct first_val {
    vg_buf *out, *tmp;
    bool found;
} first_val;

static int first_val_cb(void *ud, const vg_jval *v)
{
    first_val *f = ud;
    uint32_t tok = v->tok;
    const vg_jtok *k = &v->tape->tok[tok];
    if (k->type == VG_J_ARRAY && k->len)
        tok++, k = &v->tape->tok[tok];
    size_t l = 0;
    const char *p = NULL;
    if (k->type == VG_J_STRING)
        p = vg__json_str(v->tape, tok, f->tmp, &l);
    else if (k->type == VG_J_NUMBER || k->type == VG_J_TRUE || k->type == VG_J_FALSE)
        p = v->tape->src + k->off, l = k->len;
    if (!p)
        return 0;
    vg__buf_add(f->out, p, l);
    f->found = true;
    return 1;
}

static void field_text(vigie_scanner *s, const char *field, vg_buf *out)
{
    uint32_t n = 1;
    const char *const *paths = vg__fieldmap_paths(vg__engine_fieldmap(s->e), s->ei->map_id,
                                                  field, &n);
    first_val f = {out, &s->nt_tmp, false};
    for (uint32_t i = 0; i < n && !f.found; i++)
        vg__json_path_each(&s->tape, 0, paths[i], strlen(paths[i]), s->js, first_val_cb, &f);
    if (!f.found)
        vg__buf_addc(out, '-');
}

/* A candidate's group (the tenant, or the nt_group fields joined by '|') and term (the
 * nt_fields joined by '|'), NUL-separated in s->nt; false when the buffer failed. */
static bool nt_strings(vigie_scanner *s, const vg_rule *rule, const char **g, const char **t)
{
    vg_buf *o = &s->nt;
    vg__buf_reset(o);
    vg__buf_reset(&s->nt_tmp);
    if (rule->n_nt_group == 0) {
        if (s->ei->tenant)
            vg__buf_add(o, s->ei->tenant, s->ei->tenant_len);
        else
            vg__buf_addc(o, '-');
    }
    for (uint32_t i = 0; i < rule->n_nt_group; i++) {
        if (i)
            vg__buf_addc(o, '|');
        field_text(s, rule->nt_group[i], o);
    }
    vg__buf_addc(o, 0);
    size_t at = o->len;
    for (uint32_t i = 0; i < rule->n_nt_fields; i++) {
        if (i)
            vg__buf_addc(o, '|');
        field_text(s, rule->nt_fields[i], o);
    }
    vg__buf_addc(o, 0);
    if (o->err || !o->data)
        return false;
    *g = o->data;
    *t = o->data + at;
    return true;
}

/* What the record read when it is a mail read (once per record), else NULL. */
static const vigie_alert_messages *messages(vigie_scanner *s)
{
    if (!s->mail_ok) {
        s->mail_ok = true;
        const vg_mailread *r = vg__detect_mail_read(s->ds);
        s->is_mail = r != NULL;
        if (r) {
            uint32_t nf = r->n_folders < VG_MAX_SESSION_FOLDERS ? r->n_folders
                                                                : VG_MAX_SESSION_FOLDERS;
            for (uint32_t i = 0; i < nf; i++)
                s->mr_folder[i] = r->folders[i].p;
            s->mr = (vigie_alert_messages){.internet_message_ids = r->n_ids,
                                           .operation_count = r->ops,
                                           .folders = s->mr_folder,
                                           .n_folders = nf};
        }
    }
    return s->is_mail ? &s->mr : NULL;
}

/* The user the alert is about (stored by sinks, not rendered): the first of the record's
 * top-level UserId, userPrincipalName, MailboxOwnerUPN that is a string. */
static void alert_user(vigie_scanner *s, vigie_alert *a)
{
    static const char *const keys[] = {"UserId", "userPrincipalName", "MailboxOwnerUPN"};
    for (size_t i = 0; i < VG_ARRAY_LEN(keys); i++) {
        int64_t k = vg__json_obj_get(&s->tape, 0, keys[i], strlen(keys[i]));
        if (k < 0 || s->tape.tok[k].type != VG_J_STRING)
            continue;
        vg__buf_reset(&s->user);
        a->user = vg__json_str(&s->tape, (uint32_t)k, &s->user, &a->user_len);
        return;
    }
}

/* The common part: tenant, time, source and the record's SHA-256, shape, the event as read
 * (the root object, trailing white space cut), the id. */
static void complete_alert(vigie_scanner *s, vigie_alert *a)
{
    const vg_eventinfo *ei = s->ei;
    const vigie_source *src = s->rec.src;
    if (!s->sha_ok) {
        SHA256_CTX c;
        SHA256_Init(&c);
        SHA256_Update(&c, s->data, s->len);
        SHA256_Final(s->sha, &c);
        s->sha_ok = true;
    }
    a->tenant = ei->tenant;
    a->tenant_len = ei->tenant ? ei->tenant_len : 0;
    a->time = ei->time;
    a->has_time = ei->has_time;
    a->has_source = src != NULL;
    if (src) {
        a->source.file = src->name;
        a->source.line = src->line;
        a->source.index = src->index;
        a->source.offset = src->offset;
    }
    memcpy(a->source.sha256, s->sha, 32);
    a->source.has_sha = true;
    a->shape = vg__shape_name(ei->shape);
    size_t begin = s->tape.tok[0].off; /* the root object's '{' */
    const char *text = s->tape.src;
    size_t last = s->tape.src_len;
    while (last > begin && (text[last - 1] == ' ' || text[last - 1] == '\n' ||
                            text[last - 1] == '\r' || text[last - 1] == '\t'))
        last--;
    a->event = text + begin;
    a->event_len = last - begin;
    alert_user(s, a);
    vg__alert_set_id(a, &s->idbuf);
}

static int report(vigie_scanner *s, uint32_t ri, const vg_undetermined *u)
{
    uint32_t doc = vg__engine_rule_index(s->e, ri);
    const vigie_rule_info *in = vg__engine_rule_info(s->e, doc);
    const vg_rule *rule = vg__ruleset_rule(vg__engine_ruleset(s->e), ri);
    vigie_alert *a = &s->alert;
    memset(a, 0, sizeof *a);
    bool nt = !u && rule->n_nt_fields > 0;
    a->kind = u ? VIGIE_ALERT_UNDETERMINED : nt ? VIGIE_ALERT_NEW_TERM : VIGIE_ALERT_SIGMA;
    a->rule.id = rule->id;
    a->rule.title = rule->title;
    a->rule.level = rule->level;
    a->rule.tags = (const char *const *)rule->tags;
    a->rule.n_tags = rule->n_tags;
    if (u)
        a->u.undetermined = (vigie_alert_undetermined){vg__undet_reason_name(u->reason, false),
                                                       u->fields, u->n_fields, u->more_fields};
    if (nt) {
        const char *g, *t;
        if (!nt_strings(s, rule, &g, &t))
            return 0; /* out of memory: the candidate is lost, as in `vigie scan` */
        a->u.new_term = (vigie_alert_new_term){g, t, (const char *const *)rule->nt_fields,
                                               rule->n_nt_fields};
    }
    a->messages_read = messages(s);
    complete_alert(s, a);
    vigie_match m = {doc,  in->id, in->title, in->level, VIGIE_MATCH_TRUE, NULL, NULL, 0, 0,
                     &s->rec, a, nt};
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
    s->have_rec = false;
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
    /* the classification's strings are in s->tmp and the tape: they live until the next scan */
    vg__shape_classify(vg__engine_fieldmap(s->e), &s->tape, s->js, &s->tmp, &s->ei_rec);
    vg__detect_begin(s->ds, vg__engine_detect(s->e), &s->tape, s->js, &s->ei_rec);
    s->have_rec = true;
    s->ei = &s->ei_rec;
    s->data = rec ? rec : "";
    s->len = len;
    s->sha_ok = s->mail_ok = false;
    const vg_eventinfo *ep = &s->ei_rec;
    vigie_record *r = &s->rec;
    r->data = rec;
    r->len = len;
    r->src = src;
    r->shape = vg__shape_name(ep->shape);
    r->product = ep->product;
    r->services = ep->services;
    r->n_services = ep->n_services;
    r->categories = ep->categories;
    r->n_categories = ep->n_categories;
    r->tenant = ep->tenant;
    r->tenant_len = ep->tenant_len;
    r->has_time = ep->has_time;
    r->time = ep->has_time ? ep->time : 0;
    s->fn = fn;
    s->ud = ud;
    rc = vg__matcher_run(s->m, &s->tape, ep, on_match, s);
    s->fn = NULL;
    s->ud = NULL;
    s->ei = NULL;
    return rc;
}

static const char *fact_str(vg_sref r)
{
    return !r.p || (r.len == 1 && r.p[0] == '-') ? NULL : r.p;
}

int vigie_scanner_facts(vigie_scanner *s, vigie_record_facts *out)
{
    if (!out)
        return VIGIE_INVAL;
    memset(out, 0, sizeof *out);
    if (!s || !s->have_rec)
        return VIGIE_INVAL;
    /* as for a record that raised a signal, all asked: every fact of its lists */
    vg_rfacts f;
    memset(&f, 0, sizeof f);
    if (!vg__detect_record_facts(s->ds, 1, true, &f))
        return VIGIE_OK;
    out->mail_read = f.mail;
    out->signin = f.signin;
    out->rest_client = f.rest_client;
    out->tenant = fact_str(f.tenant);
    out->user = fact_str(f.user);
    out->session = fact_str(f.session);
    out->token = fact_str(f.token);
    out->address = fact_str(f.ip);
    out->app = fact_str(f.app);
    out->user_agent = fact_str(f.ua);
    out->internet_message_ids = f.n_msgs;
    out->operation_count = f.ops;
    out->n_folders = f.n_folders;
    return VIGIE_OK;
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
