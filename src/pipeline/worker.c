/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.c: what a pipeline worker (`vigie scan`) does to each record of a batch. Stage:
 * pipeline, over json, ingest, detect (record facts), match, correlate (indicators), token and
 * alert.
 *
 * Per record: parse into the worker's tape, classify (shape, logsource, tenant, time; the
 * time where --time-field says for logs of unknown shape), run the matcher, the indicator
 * and bearer-token checks, and build each alert (a vigie_alert: its stable id, the record's
 * SHA-256) and render it into the batch's output (src/alert; a first-seen candidate is kept
 * typed instead, and every alert too when --db or --ledger want it) (a rule left UNKNOWN by a regex
 * limit: an "undetermined" alert and a warning queued for the writer, unless --regex-limit=ignore).
 * Then the facts the writer needs: first-seen candidates (kept or dropped by the writer),
 * mailbox-audit visibility, session facts (a mail read without an alert carries only what the
 * sign-in join needs), correlation facts (the values the correlations read). A worker writes only
 * to its own state and its batch; everything it reads from the run is immutable. No allocation per
 * event once buffers have grown.
 */
#define _POSIX_C_SOURCE 200809L
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 but the only allocation-free SHA-256 it
 * has (alert ids below; record hashes are vg__ledger_sha256, the same allocation-free way) */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pipeline.h"

/* ---- alert formatting ---------------------------------------------------------------------- */

const char *const vg__scan_level_names[LV_COUNT] = {"informational", "low",      "medium",
                                                    "high",          "critical", "other"};

int vg__scan_level_index(const char *lv)
{
    if (!lv)
        return LV_OTHER;
    for (int i = 0; i < LV_OTHER; i++)
        if (strcmp(lv, vg__scan_level_names[i]) == 0)
            return i;
    return LV_OTHER;
}

/* The first value of a field on the current event, as text, appended to out ("-" when
 * absent); the same resolution (field map, first present path) the matcher uses. */
typedef struct first_val {
    vg_buf *out;
    vg_buf *tmp;
    bool found;
} first_val;

static int first_val_cb(void *ud, const vg_jval *v)
{
    first_val *f = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    uint32_t tok = v->tok;
    if (k->type == VG_J_ARRAY && k->len)
        tok++, k = &v->tape->tok[tok];
    size_t l = 0;
    const char *s = NULL;
    if (k->type == VG_J_STRING)
        s = vg__json_str(v->tape, tok, f->tmp, &l);
    else if (k->type == VG_J_NUMBER || k->type == VG_J_TRUE || k->type == VG_J_FALSE)
        s = v->tape->src + k->off, l = k->len;
    if (!s)
        return 0;
    vg__buf_add(f->out, s, l);
    f->found = true;
    return 1;
}

static void field_text(worker *w, const vg_eventinfo *ei, const char *field, vg_buf *out)
{
    uint32_t n = 1;
    const char *const *paths =
        w->c->fmap ? vg__fieldmap_paths(w->c->fmap, ei->map_id, field, &n) : &field;
    first_val f = {out, &w->ft_tmp, false};
    for (uint32_t i = 0; i < n && !f.found; i++)
        vg__json_path_each(&w->tape, 0, paths[i], strlen(paths[i]), w->js, first_val_cb, &f);
    w->ftext_found = f.found;
    if (!f.found)
        vg__buf_addc(out, '-');
}

/* Record a first-seen candidate: group and term of the event for the rule. */
static bool nt_pending(worker *w, batch *b, uint32_t ri, const vg_rule *rule,
                       const vg_eventinfo *ei)
{
    if (VG_GROW(b->pend, b->cap_pend, (size_t)b->n_pend + 1, 64))
        return false;
    struct pending *p = &b->pend[b->n_pend++];
    p->rule = ri;
    p->t = ei->has_time ? ei->time : 0;
    p->strs = b->nt_strs.len;
    if (rule->n_nt_group == 0) {
        if (ei->tenant)
            vg__buf_add(&b->nt_strs, ei->tenant, ei->tenant_len);
        else
            vg__buf_addc(&b->nt_strs, '-');
    }
    for (uint32_t i = 0; i < rule->n_nt_group; i++) {
        if (i)
            vg__buf_addc(&b->nt_strs, '|');
        field_text(w, ei, rule->nt_group[i], &b->nt_strs);
    }
    vg__buf_addc(&b->nt_strs, 0);
    for (uint32_t i = 0; i < rule->n_nt_fields; i++) {
        if (i)
            vg__buf_addc(&b->nt_strs, '|');
        field_text(w, ei, rule->nt_fields[i], &b->nt_strs);
    }
    vg__buf_addc(&b->nt_strs, 0);
    return true;
}

/* What a mail read read (the detect stage's typed mail read), as the typed messages of its
 * alerts: once per record, the folder strings pointing into the detect scratch. */
static bool ensure_mail(worker *w)
{
    const vg_mailread *mr = vg__detect_mail_read(w->ds);
    if (!mr)
        return false;
    if (w->mdet_ok)
        return true;
    w->mdet_ok = true;
    uint32_t nf = mr->n_folders < VG_MAX_SESSION_FOLDERS ? mr->n_folders : VG_MAX_SESSION_FOLDERS;
    for (uint32_t i = 0; i < nf; i++)
        w->mr_folder[i] = mr->folders[i].p;
    w->mr = (vigie_alert_messages){.internet_message_ids = mr->n_ids,
                                   .operation_count = mr->ops,
                                   .folders = w->mr_folder,
                                   .n_folders = nf};
    return true;
}

/* SHA-256 of the record exactly as the reader returned it (the ledger hashes the same). */
static void ensure_sha(worker *w)
{
    if (w->sha_ok)
        return;
    vg__ledger_sha256(w->b->data.data + w->r->off, w->r->len, w->sha);
    vg__alert_hex(w->sha, 32, w->sha_hex);
    w->sha_ok = true;
}

/* Remember a signal (an alert) raised on the current record, for its session. */
static int32_t push_signal(worker *w, const char *name, const char *kind, const char *rule,
                           const char *level, const char *id, const char *family)
{
    batch *b = w->b;
    if (VG_GROW(b->sigs, b->cap_sigs, (size_t)b->n_sigs + 1, 256))
        return -1;
    struct rsig *g = &b->sigs[b->n_sigs];
    g->strs = b->sf_strs.len;
    g->pend = -1;
    const char *v[6] = {name, kind, rule, level, id, family};
    for (int i = 0; i < 6; i++) {
        vg__buf_adds(&b->sf_strs, v[i] ? v[i] : "");
        vg__buf_addc(&b->sf_strs, 0);
    }
    return (int32_t)b->n_sigs++;
}

/* The user a record alert is about, for the store: the first member of the detect stage's
 * alert_user list that is a string (the worker's scratch holds it until the alert is copied
 * into the batch). */
static void alert_user(worker *w, vigie_alert *a)
{
    uint32_t n;
    const vg_dpath *p = vg__detect_paths(w->c->det, w->ei, VG_DL_ALERT_USER, &n);
    for (uint32_t i = 0; i < n; i++) {
        int64_t k = vg__json_obj_get(&w->tape, 0, p[i].path, p[i].len);
        if (k < 0 || w->tape.tok[k].type != VG_J_STRING)
            continue;
        vg__buf_reset(&w->ftext);
        a->user = vg__json_str(&w->tape, (uint32_t)k, &w->ftext, &a->user_len);
        return;
    }
}

/* Complete one alert of the current record (the caller filled its kind, rule and kind-specific
 * part): tenant, time, source, the event as read (with the worker's redaction), its id; then
 * render it into the batch output, unless it is a first-seen candidate (the writer renders it
 * if it keeps it). A candidate, and every alert when a typed sink is on, is also kept typed in
 * the batch (b->al). `signal` names it among the signals of its session. Returns the signal's
 * index, or -1. */
static int32_t format_alert(worker *w, vigie_alert *a, const char *signal, bool candidate)
{
    scan_ctx *c = w->c;
    batch *b = w->b;
    const rec_ref *r = w->r;
    const vg_eventinfo *ei = w->ei;
    ensure_sha(w);
    a->tenant = ei->tenant;
    a->tenant_len = ei->tenant ? ei->tenant_len : 0;
    a->time = ei->time;
    a->has_time = ei->has_time;
    a->has_source = true;
    a->source.file = c->in.paths[r->file];
    a->source.line = r->line;
    a->source.index = r->index;
    a->source.offset = r->offset;
    memcpy(a->source.sha256, w->sha, 32);
    a->source.has_sha = true;
    a->shape = vg__shape_name(ei->shape);
    size_t begin = w->tape.tok[0].off; /* the root object's '{' */
    const char *src = w->tape.src;
    size_t last = w->tape.src_len;
    while (last > begin && (src[last - 1] == ' ' || src[last - 1] == '\n' ||
                            src[last - 1] == '\r' || src[last - 1] == '\t'))
        last--;
    a->event = src + begin;
    a->event_len = last - begin;
    if (w->redact_len && w->redact_off >= begin && w->redact_off + w->redact_len <= last) {
        a->redact_off = w->redact_off - begin;
        a->redact_len = w->redact_len;
        a->redact_with = w->redact_with;
    }
    vg__alert_set_id(a, &w->extra);
    const char *kind = vg__alert_kind_name(a->kind);
    int32_t si = w->no_signal ? -1
                              : push_signal(w, signal ? signal : a->rule.id, kind, a->rule.id,
                                            a->rule.level, a->id, w->sig_family);
    if (c->typed)
        alert_user(w, a);
    size_t start = b->out.len;
    if (!candidate)
        vg__alert_render(&b->out, a, c->o->format);
    if (candidate || c->typed) {
        if (VG_GROW(b->al, b->cap_al, (size_t)b->n_al + 1, 64))
            return candidate ? -1 : si;
        struct balert *q = &b->al[b->n_al];
        /* the ruleset's rules, the inputs' paths and the batch's records outlive the batch;
         * indicator and token alerts name their rule in the caller's buffers: copied */
        unsigned borrow = VG_ALERT_BORROW_EVENT | VG_ALERT_BORROW_FILE;
        if (a->kind == VIGIE_ALERT_SIGMA || a->kind == VIGIE_ALERT_NEW_TERM ||
            a->kind == VIGIE_ALERT_UNDETERMINED)
            borrow |= VG_ALERT_BORROW_RULE;
        if (vg__alert_copy(b->al_arena, &q->a, a, borrow) != VIGIE_OK)
            return candidate ? -1 : si; /* out of memory: a candidate is lost, as on any */
        q->start = start;
        q->end = b->out.len;
        q->pend = candidate ? (int32_t)b->n_pend - 1 : -1;
        if (candidate)
            b->pend[b->n_pend - 1].al = b->n_al;
        b->n_al++;
    }
    return si;
}

static void alert_rule(vigie_alert *a, vigie_alert_kind kind, const char *id, const char *title,
                       const char *level, const char *const *tags, uint32_t n_tags)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->rule.id = id;
    a->rule.title = title;
    a->rule.level = level;
    a->rule.tags = tags;
    a->rule.n_tags = n_tags;
}

/* A match of a rule that correlations refer to: its time, its would-be alert id and the
 * values of the fields its correlations read, for the writer. */
static void corr_fact(worker *w, uint32_t ri, const vg_rule *rule)
{
    scan_ctx *c = w->c;
    batch *b = w->b;
    const vg_eventinfo *ei = w->ei;
    if (VG_GROW(b->cf, b->cap_cf, (size_t)b->n_cf + 1, 64))
        return;
    struct cfact *f = &b->cf[b->n_cf++];
    f->rule = ri;
    f->rec = (uint32_t)(w->r - b->recs);
    f->t = ei->has_time ? ei->time : NAN;
    ensure_sha(w);
    char tenant[VG_ALERT_TENANT_BYTES];
    snprintf(tenant, sizeof tenant, "%.*s", ei->tenant ? (int)ei->tenant_len : 0,
             ei->tenant ? ei->tenant : "");
    const char *parts[] = {"sigma", rule->id ? rule->id : rule->title, tenant, w->sha_hex, ""};
    vg__alert_id_parts(parts, 5, f->id);
    snprintf(f->tenant, sizeof f->tenant, "%.*s", (int)sizeof f->tenant - 1, tenant);
    f->strs = b->sf_strs.len;
    f->n_vals = 0;
    for (const char **fl = c->corr_fields[ri]; *fl; fl++) {
        vg_buf *o = &b->sf_strs;
        size_t at = o->len;
        vg__buf_adds(o, *fl);
        vg__buf_addc(o, 0);
        field_text(w, ei, *fl, o);
        if (!w->ftext_found) {
            o->len = at; /* absent */
            continue;
        }
        vg__buf_addc(o, 0);
        f->n_vals++;
    }
}

static int on_match(void *ud, uint32_t ri)
{
    worker *w = ud;
    scan_ctx *c = w->c;
    batch *b = w->b;
    const vg_eventinfo *ei = w->ei;
    const vg_rule *rule = vg__ruleset_rule(c->rs, ri);
    if (c->corr_fields && c->corr_fields[ri])
        corr_fact(w, ri, rule);
    if (c->corr_quiet && c->corr_quiet[ri]) {
        w->hits[ri]++;
        return 0; /* referenced by a correlation without generate: no alert of its own */
    }
    bool nt = rule->n_nt_fields > 0;
    vigie_alert a;
    alert_rule(&a, nt ? VIGIE_ALERT_NEW_TERM : VIGIE_ALERT_SIGMA, rule->id, rule->title,
               rule->level, (const char *const *)rule->tags, rule->n_tags);
    if (nt) {
        if (!nt_pending(w, b, ri, rule, ei))
            return 0;
        const char *g = b->nt_strs.data + b->pend[b->n_pend - 1].strs;
        a.u.new_term = (vigie_alert_new_term){
            g, g + strlen(g) + 1, (const char *const *)rule->nt_fields, rule->n_nt_fields};
    } else {
        w->hits[ri]++;
        b->alerts++;
        b->by_level[c->rule_level[ri]]++;
    }
    if (ensure_mail(w))
        a.messages_read = &w->mr;
    /* first-seen rules over the same fields are one piece of evidence (per tenant, per
     * mailbox): one family */
    w->sig_family[0] = 0;
    if (nt) {
        size_t fl = (size_t)snprintf(w->sig_family, sizeof w->sig_family, "new_terms:");
        for (uint32_t k = 0; k < rule->n_nt_fields && fl < sizeof w->sig_family; k++)
            fl += (size_t)snprintf(w->sig_family + fl, sizeof w->sig_family - fl, "%s%s",
                                   k ? "|" : "", rule->nt_fields[k]);
    }
    int32_t si = format_alert(w, &a,
                              rule->name    ? rule->name
                              : rule->title ? rule->title
                                            : rule->id,
                              nt);
    w->sig_family[0] = 0;
    if (nt && si >= 0)
        b->sigs[si].pend = (int32_t)(b->n_pend - 1);
    return 0;
}

/* A rule whose condition is UNKNOWN on the current record because a regex was stopped by a
 * PCRE2 limit (match.h; docs/SIGMA.md): an alert of kind "undetermined" at the rule's level,
 * naming the reason and the fields, in -o, the store and the ledger like any alert. It is no
 * match: no signal of a session (it adds nothing to combined alerts), no fact for Sigma
 * correlations or first-seen terms, not a hit of the rule. The warning is queued for the
 * writer, which prints it in read order. */
static int on_undetermined(void *ud, uint32_t ri, const vg_undetermined *u)
{
    worker *w = ud;
    scan_ctx *c = w->c;
    batch *b = w->b;
    const rec_ref *r = w->r;
    const vg_rule *rule = vg__ruleset_rule(c->rs, ri);
    vigie_alert a;
    alert_rule(&a, VIGIE_ALERT_UNDETERMINED, rule->id, rule->title, rule->level,
               (const char *const *)rule->tags, rule->n_tags);
    a.u.undetermined = (vigie_alert_undetermined){vg__undet_reason_name(u->reason, false),
                                                  u->fields, u->n_fields, u->more_fields};
    if (ensure_mail(w))
        a.messages_read = &w->mr;
    w->no_signal = true;
    w->sig_family[0] = 0;
    format_alert(w, &a, NULL, false);
    w->no_signal = false;
    b->alerts++;
    b->by_level[c->rule_level[ri]]++;
    b->undetermined++;
    if (VG_GROW(b->undet, b->cap_undet, (size_t)b->n_undet + 1, 16))
        return 0; /* the alert is written and counted; only its warning is lost */
    struct undet *q = &b->undet[b->n_undet++];
    q->rec = (uint32_t)(r - b->recs);
    q->msg = b->undet_strs.len;
    const char *what = vg__undet_reason_name(u->reason, true);
    vg__buf_printf(&b->undet_strs, "record %llu: rule %s (%s): %s reached on ",
                   (unsigned long long)r->index + 1, rule->id ? rule->id : "-",
                   rule->title ? rule->title : "untitled", what);
    for (uint32_t k = 0; k < u->n_fields; k++)
        vg__buf_printf(&b->undet_strs, "%s%s", k ? ", " : "", u->fields[k]);
    vg__buf_adds(&b->undet_strs,
                 u->more_fields ? ", ...; written as undetermined" : "; written as undetermined");
    vg__buf_addc(&b->undet_strs, 0);
    return 0;
}

void vg__scan_write_undetermined(scan_ctx *c, batch *b)
{
    c->undetermined += b->undetermined;
    for (uint32_t i = 0; i < b->n_undet; i++) {
        if (c->undet_warned >= VG_UNDET_MAX_WARNINGS)
            return;
        c->undet_warned++;
        const rec_ref *r = &b->recs[b->undet[i].rec];
        vigie_diag d = {VIGIE_DIAG_WARNING,
                        VIGIE_LIMIT,
                        c->in.paths[r->file],
                        r->line,
                        0,
                        r->offset,
                        NULL,
                        b->undet_strs.data + b->undet[i].msg};
        if (c->diag)
            c->diag(c->diag_ud, &d);
    }
}

typedef struct ip_ctx {
    worker *w;
    batch *b;
    const vg_eventinfo *ei;
    char seen[8][48];
    int n_seen;
    bool ua;     /* user-agent fields */
    vg_buf *tmp; /* the worker's ua_tmp */
} ip_ctx;

static void indicator_alert(ip_ctx *x, const vg_indicator_hit *hp, const char *type)
{
    vg_indicator_hit h = *hp;
    char title[256];
    snprintf(title, sizeof title, "%s of %s%s%s%s",
             x->ua ? "User agent" : "Activity from an address", h.set_name, h.role ? " (" : "",
             h.role ? h.role : "", h.role ? ")" : "");
    char id[160];
    snprintf(id, sizeof id, "indicator:%s", h.set_id);
    vigie_alert a;
    alert_rule(&a, VIGIE_ALERT_INDICATOR, id, title, h.level, h.tags, h.n_tags);
    a.u.indicator =
        (vigie_alert_indicator){type, h.value, h.first_seen, h.last_seen, h.role, h.set_id};
    format_alert(x->w, &a, id, false);
    x->b->alerts++;
    x->b->by_level[vg__scan_level_index(h.level)]++;
    x->b->ind_hits++;
}

static int ua_cb(void *ud, const vg_jval *v)
{
    ip_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || !x->ei->has_time || x->n_seen >= 8)
        return 0;
    size_t l;
    const char *s = vg__json_str(v->tape, v->tok, x->tmp, &l);
    vg_indicator_hit h;
    if (!vg__indicators_match_ua(x->w->c->ind, s, l, x->ei->time, &h))
        return 0;
    /* one alert per indicator and record, however many fields hold the same string */
    for (int i = 0; i < x->n_seen; i++)
        if (!strncmp(x->seen[i], h.value, sizeof x->seen[i] - 1))
            return 0;
    snprintf(x->seen[x->n_seen++], sizeof x->seen[0], "%s", h.value);
    indicator_alert(x, &h, "user_agent");
    return 0;
}

static int ip_cb(void *ud, const vg_jval *v)
{
    ip_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || k->esc || k->len >= 48 || !x->ei->has_time)
        return 0;
    const char *s = v->tape->src + k->off;
    for (int i = 0; i < x->n_seen; i++)
        if (strlen(x->seen[i]) == k->len && !memcmp(x->seen[i], s, k->len))
            return 0;
    if (x->n_seen < 8) {
        memcpy(x->seen[x->n_seen], s, k->len);
        x->seen[x->n_seen++][k->len] = 0;
    }
    vg_indicator_hit h;
    if (vg__indicators_match_ip(x->w->c->ind, s, k->len, x->ei->time, &h))
        indicator_alert(x, &h, "ip");
    return 0;
}

/* Indicators with time windows on the event's address fields. */
static void match_indicators(worker *w, batch *b, const vg_eventinfo *ei)
{
    ip_ctx x;
    memset(&x, 0, sizeof x);
    x.w = w;
    x.b = b;
    x.ei = ei;
    x.tmp = &w->ua_tmp;
    uint32_t n;
    const vg_dpath *p = vg__detect_paths(w->c->det, ei, VG_DL_INDICATOR_ADDRESS, &n);
    for (uint32_t i = 0; i < n; i++)
        vg__json_path_each(&w->tape, 0, p[i].path, p[i].len, w->js, ip_cb, &x);
    if (!vg__indicators_has_ua(w->c->ind))
        return;
    x.ua = true;
    x.n_seen = 0;
    p = vg__detect_paths(w->c->det, ei, VG_DL_INDICATOR_USER_AGENT, &n);
    for (uint32_t i = 0; i < n; i++)
        vg__json_path_each(&w->tape, 0, p[i].path, p[i].len, w->js, ua_cb, &x);
}

typedef struct tok_ctx {
    worker *w;
    batch *b;
    vg_eventinfo *ei;
    int n;
} tok_ctx;

static int tok_cb(void *ud, const vg_jval *v)
{
    tok_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || k->esc || v->tape != &x->w->tape ||
        x->n++ >= (int)VG_MAX_RECORD_TOKENS)
        return 0;
    const char *s = v->tape->src + k->off;
    size_t n = k->len;
    if (n > 7 && vg__ascii_ieq(s, 7, "Bearer ", 7)) {
        s += 7;
        n -= 7;
    }
    vg_jwt_result r;
    vg__jwt_check(x->w->c->keys, s, n, &r);
    if (r.verdict == VG_JWT_OK || r.verdict == VG_JWT_NOT_JWT || r.verdict == VG_JWT_NO_KEYSET)
        return 0;
    static const char *const titles[] = {"",
                                         "",
                                         "",
                                         "Bearer token with alg none",
                                         "Bearer token with an algorithm its issuer does not use",
                                         "Bearer token signed with a known-compromised key",
                                         "Bearer token signed with another issuer's key",
                                         "Bearer token signed with an unknown key",
                                         "Bearer token with an invalid signature"};
    const char *level = r.verdict == VG_JWT_KEY_OTHER_ISSUER ? "critical"
                        : r.verdict == VG_JWT_KEY_UNKNOWN    ? "medium"
                                                             : "high";
    static const char *const tags[] = {"attack.credential-access", "attack.t1606.002"};
    vigie_alert a;
    alert_rule(&a, VIGIE_ALERT_TOKEN, NULL, titles[r.verdict], level, tags, 2);
    a.u.token = (vigie_alert_token){
        r.fingerprint, vg__jwt_verdict_name(r.verdict),       r.alg,        r.kid,
        r.issuer,      r.key_issuer[0] ? r.key_issuer : NULL, r.compromised};
    /* a log that names no tenant (an application's gateway): the tenant is the one the token
     * claims, from its issuer (https://login.microsoftonline.com/<tenant>/v2.0) */
    size_t l = 0;
    const char *seg = x->ei->tenant ? NULL : vg__url_first_segment(r.issuer, &l);
    if (seg) {
        if (l < sizeof x->w->tok_tenant) {
            memcpy(x->w->tok_tenant, seg, l);
            x->w->tok_tenant[l] = 0;
            x->ei->tenant = x->w->tok_tenant;
            x->ei->tenant_len = l;
        }
    }
    /* the token itself never leaves: the event is written with it replaced */
    x->w->redact_off = k->off;
    x->w->redact_len = k->len;
    snprintf(x->w->redact_with, sizeof x->w->redact_with, "<redacted sha256:%s>", r.fingerprint);
    char id[64];
    snprintf(id, sizeof id, "token:%s", vg__jwt_verdict_name(r.verdict));
    a.rule.id = id;
    format_alert(x->w, &a, id, false);
    x->w->redact_len = 0;
    x->b->alerts++;
    x->b->by_level[vg__scan_level_index(level)]++;
    x->b->token_findings++;
    return 0;
}

static void match_tokens(worker *w, batch *b, vg_eventinfo *ei)
{
    tok_ctx x = {w, b, ei, 0};
    uint32_t n;
    const vg_dpath *p = vg__detect_paths(w->c->det, ei, VG_DL_BEARER_TOKEN, &n);
    for (uint32_t i = 0; i < n; i++)
        vg__json_path_each(&w->tape, 0, p[i].path, p[i].len, w->js, tok_cb, &x);
}

/* Record the visibility facts of a mailbox read (worker side). */
static void mail_fact(worker *w, batch *b)
{
    vg_mfact m;
    if (!vg__detect_mail_fact(w->ds, &m))
        return;
    if (VG_GROW(b->facts, b->cap_facts, (size_t)b->n_facts + 1, 256))
        return;
    struct mfact *f = &b->facts[b->n_facts++];
    f->tenant = b->mf_strs.len;
    vg__buf_add(&b->mf_strs, m.tenant.p, m.tenant.len);
    vg__buf_addc(&b->mf_strs, 0);
    f->t = m.t;
    f->has_time = m.has_time;
    f->throttled = m.throttled;
    f->linkable = m.linkable;
}

/* A session fact for the current record (worker side): a mailbox access, a sign-in with
 * linkable identifiers, or any record that raised an alert (the detect stage decides and
 * computes it). The writer feeds it to the session combiner in read order. */
void vg__scan_record_fact(worker *w, batch *b, uint32_t ri, const vg_eventinfo *ei, bool full)
{
    (void)ei; /* the detect scratch holds the record since vg__detect_begin */
    uint32_t n_sig = b->n_sigs - w->sig0;
    vg_rfacts rf;
    if (!vg__detect_record_facts(w->ds, n_sig, full, &rf))
        return;
    uint32_t fi;
    if (VG_GROW(b->sf, b->cap_sf, (size_t)b->n_sf + 1, 256) ||
        vg__rfacts_list_push(&b->rfl, &rf, &fi) != VIGIE_OK)
        return;
    struct sfact *f = &b->sf[b->n_sf++];
    memset(f, 0, sizeof *f);
    f->fact = fi;
    f->rec = ri;
    f->sig0 = w->sig0;
    f->n_sig = n_sig;
    if (rf.need_sha) {
        ensure_sha(w);
        memcpy(f->sha, w->sha, 32);
    }
}

/* ---- work ---------------------------------------------------------------------------------- */

void vg__scan_process_batch(worker *w, batch *b)
{
    scan_ctx *c = w->c;
    vg__buf_reset(&b->out);
    vg__buf_reset(&b->nt_strs);
    b->n_pend = 0;
    b->n_al = 0;
    vg__arena_reset(b->al_arena);
    b->n_facts = 0;
    vg__buf_reset(&b->mf_strs);
    b->n_sigs = 0;
    b->n_sf = 0;
    b->n_cf = 0;
    vg__rfacts_list_reset(&b->rfl);
    vg__buf_reset(&b->sf_strs);
    b->n_undet = 0;
    b->undetermined = 0;
    vg__buf_reset(&b->undet_strs);
    b->events = b->bad = b->alerts = b->ind_hits = b->token_findings = 0;
    b->max_t = -INFINITY;
    memset(b->bad_by_rc, 0, sizeof b->bad_by_rc);
    memset(b->by_level, 0, sizeof b->by_level);
    for (uint32_t i = 0; i < b->n; i++) {
        const rec_ref *r = &b->recs[i];
        const char *data = b->data.data + r->off;
        vg_jerr err;
        int rc = vg__json_parse(&w->tape, data, r->len, &err);
        if (rc == VIGIE_OK && w->tape.tok[0].type != VG_J_OBJECT) {
            rc = VIGIE_JSON;
            err.offset = 0;
            snprintf(err.msg, sizeof err.msg, "record is not a JSON object");
        }
        if (rc != VIGIE_OK) {
            b->bad++;
            b->bad_by_rc[rc < VIGIE_STATUS_COUNT ? rc : VIGIE_JSON]++;
            vigie_diag d = {VIGIE_DIAG_ERROR,
                            rc,
                            c->in.paths[r->file],
                            r->line,
                            0,
                            r->offset + err.offset,
                            NULL,
                            NULL};
            char msg[256];
            snprintf(msg, sizeof msg, "record %llu skipped: %s: %s (at byte %llu of the record)",
                     (unsigned long long)r->index + 1, vigie_strerror(rc), err.msg,
                     (unsigned long long)err.offset);
            d.message = msg;
            if (c->diag)
                c->diag(c->diag_ud, &d);
            continue;
        }
        b->events++;
        vg__jscratch_reset(w->js);
        vg__buf_reset(&w->tmp);
        vg_eventinfo ei;
        vg__shape_classify(c->fmap, &w->tape, w->js, &w->tmp, &ei);
        vg__detect_time_field(c->det, w->ds, &w->tape, w->js, &ei);
        if (ei.has_time && ei.time > b->max_t)
            b->max_t = ei.time;
        vg__detect_begin(w->ds, c->det, &w->tape, w->js, &ei);
        w->b = b;
        w->r = r;
        w->ei = &ei;
        w->sha_ok = w->mdet_ok = false;
        w->sig0 = b->n_sigs;
        vg__matcher_run(w->m, &w->tape, &ei, on_match, w);
        if (c->ind)
            match_indicators(w, b, &ei);
        if (c->keys)
            match_tokens(w, b, &ei);
        if (c->sess)
            vg__scan_record_fact(w, b, i, &ei, false);
        mail_fact(w, b);
    }
}

int vg__scan_worker_init(worker *w, scan_ctx *c)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    vg__jtape_init(&w->tape);
    vg__buf_init(&w->tmp, 0);
    vg__buf_init(&w->extra, 0);
    vg__buf_init(&w->ftext, 0);
    vg__buf_init(&w->ft_tmp, 0);
    vg__buf_init(&w->ua_tmp, 0);
    w->js = vg__jscratch_new();
    w->ds = vg__detect_scratch_new();
    w->hits = calloc(vg__ruleset_count(c->rs) + 1, sizeof *w->hits);
    if (!w->js || !w->ds || !w->hits)
        return VIGIE_NOMEM;
    int rc = vg__matcher_new(c->rs, &w->m);
    if (rc == VIGIE_OK && !c->o->regex_limit_ignore)
        vg__matcher_on_undetermined(w->m, on_undetermined);
    return rc;
}

void vg__scan_worker_fini(worker *w)
{
    scan_ctx *c = w->c;
    if (w->m) {
        const vg_match_stats *st = vg__matcher_stats(w->m);
        pthread_mutex_lock(&c->hits_mu);
        c->mstats.events += st->events;
        c->mstats.routed += st->routed;
        c->mstats.candidates += st->candidates;
        c->mstats.matches += st->matches;
        c->mstats.regex_limit += st->regex_limit;
        c->mstats.undetermined += st->undetermined;
        if (w->hits)
            for (uint32_t i = 0; i < vg__ruleset_count(c->rs); i++)
                c->rule_hits[i] += w->hits[i];
        pthread_mutex_unlock(&c->hits_mu);
        vg__matcher_free(w->m);
    }
    free(w->hits);
    vg__jscratch_free(w->js);
    vg__detect_scratch_free(w->ds);
    vg__buf_free(&w->tmp);
    vg__buf_free(&w->extra);
    vg__buf_free(&w->ftext);
    vg__buf_free(&w->ft_tmp);
    vg__buf_free(&w->ua_tmp);
    vg__jtape_free(&w->tape);
}
