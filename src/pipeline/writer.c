/* SPDX-License-Identifier: Apache-2.0 */
/*
 * writer.c: the pipeline's writer (`vigie scan`): batches in read order, and the end of the
 * run. Stage: pipeline, over correlate, store, alert. Its own errors (the store, the ledger)
 * go through the run's diagnostic callback; the command's progress bar is a callback too.
 *
 * Per batch, in read order: decide first-seen candidates against the shared state, hand every
 * alert to the sinks (-o; --db and --ledger take the typed alert and its JSON line, which
 * nothing parses again), rendering only the candidates it keeps; fold visibility facts, feed
 * session facts to the combiner (re-parsing the few mail reads the sign-ins do not explain),
 * feed Sigma correlations and write what they raise. At the end: combined alerts, visibility
 * gaps. The writer alone owns this state, so the output is the same for any -j.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline.h"

/* Writer side: a batch's mail-access facts into the visibility of their tenants. */
static void fold_facts(scan_ctx *c, const batch *b)
{
    for (uint32_t i = 0; c->vis && i < b->n_facts; i++) {
        const struct mfact *f = &b->facts[i];
        vg_vis_fact vf = {.tenant = b->mf_strs.data + f->tenant,
                          .t = f->t,
                          .has_time = f->has_time,
                          .throttled = f->throttled,
                          .linkable = f->linkable};
        if (vg__vis_add(c->vis, &vf) == VIGIE_NOMEM)
            return;
    }
}

/* End of run: one combined alert per session group with a primary signal. The signals and
 * evidence of the group, as the alert's typed lists, in arrays the context keeps. */
typedef struct emit_ctx {
    scan_ctx *c;
    vg_buf o;
    vg_buf scratch;
    vigie_alert_signal *sig;
    uint32_t cap_sig;
    vigie_alert_evidence *ev;
    uint32_t cap_ev;
} emit_ctx;

static int emit_combined(void *ud, const vg_sess_alert *s)
{
    emit_ctx *x = ud;
    scan_ctx *c = x->c;
    vg_buf *o = &x->o;
    const char *level = vg__sessions_level_name(s->level);
    char first[40] = "", last[40] = "";
    if (s->first <= s->last) {
        vg__format_time(s->first, first, sizeof first);
        vg__format_time(s->last, last, sizeof last);
    }
    /* a title a person reads: the strongest signals first */
    bool no_si = false, novel = false, tok = false, ind = false;
    for (uint32_t i = 0; i < s->n_signals; i++) {
        const vg_sess_signal *g = &s->signals[i];
        no_si |= !strcmp(g->name, "no_signin");
        novel |= !strcmp(g->kind, "new_term");
        tok |= !strcmp(g->kind, "token") || !strncmp(g->name, "consumer", 8);
        ind |= !strcmp(g->kind, "indicator");
    }
    char title[256];
    int tl = snprintf(title, sizeof title, "%s%s%s%s%s", s->mail ? "Mailbox read" : "Activity",
                      no_si ? " with a token no sign-in issued" : "",
                      novel ? (no_si ? ", by an application new to the tenant"
                                     : " by an application new to the tenant")
                            : "",
                      tok ? ", forged-token signs" : "",
                      ind ? ", from listed actor infrastructure" : "");
    if (!no_si && !novel && !tok && !ind)
        for (uint32_t i = 0, k = 0; i < s->n_signals && tl > 0 && (size_t)tl < sizeof title; i++)
            if (strcmp(s->signals[i].kind, "supporting") != 0)
                tl += snprintf(title + tl, sizeof title - (size_t)tl, "%s%s", k++ ? ", " : ": ",
                               s->signals[i].name);
    c->sess_by_level[s->level]++;
    c->sess_alerts++;
    /* ATT&CK: what the signals show (campaign.c, one list for alerts and campaigns) */
    const char *tags[VG_COMBINED_MAX_TAGS];
    uint32_t n_tags = vg__combined_tags(s, tags);
    if (VG_GROW(x->sig, x->cap_sig, (size_t)s->n_signals, 16) ||
        VG_GROW(x->ev, x->cap_ev, (size_t)s->n_evidence, 16))
        return 0;
    for (uint32_t i = 0; i < s->n_signals; i++) {
        const vg_sess_signal *g = &s->signals[i];
        x->sig[i] = (vigie_alert_signal){g->name, g->kind, g->level, g->rule, g->records};
    }
    for (uint32_t i = 0; i < s->n_evidence; i++) {
        const vg_sess_evidence *e = &s->evidence[i];
        vigie_alert_evidence *v = &x->ev[i];
        memset(v, 0, sizeof *v);
        v->source.file = e->file;
        v->source.line = e->line;
        v->source.index = e->index;
        v->source.offset = e->offset;
        memcpy(v->source.sha256, e->sha256, 32);
        v->source.has_sha = true;
        v->alert_ids = e->alert_ids;
    }
    vigie_alert a;
    memset(&a, 0, sizeof a);
    a.kind = VIGIE_ALERT_COMBINED;
    a.rule.id = "vigie:combined";
    a.rule.title = title;
    a.rule.level = level;
    a.rule.tags = tags;
    a.rule.n_tags = n_tags;
    a.tenant = s->tenant;
    a.tenant_len = strlen(s->tenant);
    a.user = s->user;
    a.user_len = strlen(s->user);
    a.time = s->first;
    a.has_time = s->first <= s->last;
    if (s->n_evidence) {
        a.has_source = true;
        a.source = x->ev[0].source;
    }
    vigie_alert_messages m = {.internet_message_ids = s->messages,
                              .at_least = s->messages_capped,
                              .operation_count = s->ops,
                              .folders = s->folders,
                              .n_folders = s->n_folders,
                              .has_span = true,
                              .first = first[0] ? first : NULL,
                              .last = last[0] ? last : NULL};
    if (s->mail)
        a.messages_read = &m;
    vigie_alert_combined *cb = &a.u.combined;
    cb->key = s->key;
    cb->session = s->session;
    cb->day = s->day;
    cb->score = s->score;
    cb->signals = x->sig;
    cb->n_signals = s->n_signals;
    cb->records = s->records;
    cb->mail_records = s->mail;
    cb->matched = s->matched;
    cb->no_signin = s->no_signin;
    cb->unlinkable = s->unlinkable;
    cb->has_messages = s->mail > 0;
    cb->ips = s->ips;
    cb->n_ips = s->n_ips;
    cb->app_ids = s->apps;
    cb->n_app_ids = s->n_apps;
    cb->user_agents = s->uas;
    cb->n_user_agents = s->n_uas;
    cb->evidence = x->ev;
    cb->n_evidence = s->n_evidence;
    cb->evidence_omitted = s->evidence_omitted;
    vg__alert_set_id(&a, &x->scratch);
    vg__buf_reset(o);
    vg__alert_render(o, &a, c->o->format);
    if (vg__buf_failed(o))
        return 0;
    vg__scan_emit(c, &a, o->data, o->len);
    if (c->camp) /* the typed alert: campaigns do not read a line back */
        vg__campaigns_add_session(c->camp, s, a.id);
    return 0;
}

void vg__scan_write_combined(scan_ctx *c)
{
    if (!c->sess)
        return;
    emit_ctx x;
    memset(&x, 0, sizeof x);
    x.c = c;
    vg__buf_init(&x.o, 0);
    vg__buf_init(&x.scratch, 0);
    vg__sessions_finish(c->sess, emit_combined, &x, &c->sess_stats);
    vg__buf_free(&x.o);
    vg__buf_free(&x.scratch);
    free(x.sig);
    free(x.ev);
}

/* A gap record of a tenant with its stable id (the hash of its content), as JSON into o. */
static void put_gap(scan_ctx *c, const char *tenant, vg_buf *o, vg_buf *scratch,
                    const vigie_alert_gap *g)
{
    vigie_alert a;
    memset(&a, 0, sizeof a);
    a.kind = VIGIE_ALERT_GAP;
    a.tenant = tenant;
    a.tenant_len = strlen(tenant);
    a.u.gap = *g;
    c->gaps++;
    if (c->o->format != FMT_JSONL || vg__alert_set_id(&a, scratch) != VIGIE_OK)
        return; /* gaps are records of the JSON output only */
    vg__buf_reset(o);
    vg__alert_render(o, &a, FMT_JSONL);
    if (!vg__buf_failed(o))
        vg__scan_emit(c, &a, o->data, o->len);
}

typedef struct gap_ctx {
    scan_ctx *c;
    vg_buf o, sc;
} gap_ctx;

/* One gap from visibility.c as a record of its own ("kind": "gap"). */
static int emit_gap(void *ud, const vg_vis_gap *g)
{
    gap_ctx *x = ud;
    char a[40], z[40];
    switch (g->kind) {
    case VG_GAP_NO_MAILBOX_AUDIT:
        vg__format_time(g->from, a, sizeof a);
        vg__format_time(g->to, z, sizeof z);
        put_gap(x->c, g->tenant, &x->o, &x->sc,
                &(vigie_alert_gap){.gap = "no_mailbox_audit",
                                   .from = a,
                                   .to = z,
                                   .days = g->days,
                                   .detail = "no MailItemsAccessed record in these days"});
        break;
    case VG_GAP_THROTTLED:
        put_gap(x->c, g->tenant, &x->o, &x->sc,
                &(vigie_alert_gap){.gap = "throttled",
                                   .records = g->records,
                                   .detail = "IsThrottled: Bind records stop for 24 h after "
                                             "1,000 in 24 h; reads in that period are not "
                                             "audited"});
        break;
    case VG_GAP_UNLINKABLE:
        put_gap(x->c, g->tenant, &x->o, &x->sc,
                &(vigie_alert_gap){.gap = "unlinkable",
                                   .records = g->records,
                                   .of = g->of,
                                   .has_of = true,
                                   .detail = "mail access without UniqueTokenId or SessionId: "
                                             "cannot be joined to sign-ins"});
        break;
    case VG_GAP_NO_SIGNIN_LOGS:
        put_gap(x->c, g->tenant, &x->o, &x->sc,
                &(vigie_alert_gap){.gap = "no_signin_logs",
                                   .records = g->records,
                                   .detail = "no sign-in records for this tenant in the input: "
                                             "mail access cannot be joined to sign-ins and "
                                             "counts as unlinkable"});
        break;
    }
    return 0;
}

static bool tenant_signins(void *ud, const char *tenant)
{
    return vg__sessions_tenant_has_signins(ud, tenant);
}

/* End of run: visibility gaps as records of their own ("kind": "gap"). */
void vg__scan_write_gaps(scan_ctx *c)
{
    if (!c->vis)
        return;
    gap_ctx x;
    memset(&x, 0, sizeof x);
    x.c = c;
    vg__buf_init(&x.o, 0);
    vg__buf_init(&x.sc, 0);
    /* the no_signin_logs gap only when the sessions (and so the sign-ins) are kept */
    vg__vis_finish(c->vis, c->sess ? tenant_signins : NULL, c->sess, emit_gap, &x);
    vg__buf_free(&x.sc);
    vg__buf_free(&x.o);
}

void vg__scan_advance(scan_ctx *c, double watermark)
{
    if (!(watermark > -INFINITY))
        return; /* no timed record yet: nothing can close */
    if (c->nt)
        vg__newterms_advance(c->nt, watermark);
    if (c->sess) {
        emit_ctx x;
        memset(&x, 0, sizeof x);
        x.c = c;
        vg__buf_init(&x.o, 0);
        vg__buf_init(&x.scratch, 0);
        vg__sessions_advance(c->sess, watermark, emit_combined, &x, &c->sess_stats);
        vg__buf_free(&x.o);
        vg__buf_free(&x.scratch);
        free(x.sig);
        free(x.ev);
    }
    if (c->vis) {
        gap_ctx g;
        memset(&g, 0, sizeof g);
        g.c = c;
        vg__buf_init(&g.o, 0);
        vg__buf_init(&g.sc, 0);
        vg__vis_advance(c->vis, watermark, emit_gap, &g);
        vg__buf_free(&g.sc);
        vg__buf_free(&g.o);
    }
}

const char *vg__scan_ring_file(const scan_ctx *c, uint32_t file)
{
    if (file < c->in.n)
        return c->in.paths[file];
    if (file - c->in.n < c->n_old_paths)
        return c->old_paths[file - c->in.n];
    return "-";
}

/* An error of the run's own (the store, the ledger) through the diagnostic callback. */
static void say(scan_ctx *c, const char *fmt, ...) VG_PRINTF(2, 3);
static void say(scan_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->diag)
        c->diag(c->diag_ud, &(vigie_diag){.level = VIGIE_DIAG_ERROR,
                                          .rc = VIGIE_IO,
                                          .offset = UINT64_MAX,
                                          .message = msg});
}

void vg__scan_store_failed(scan_ctx *c)
{
    if (c->db_failed || !c->db)
        return;
    c->db_failed = true;
    vg_store_stats s;
    vg__store_stats_get(c->db, &s);
    const char *cause = vg__store_failure(c->db);
    say(c, "--db %s: %s after %llu alerts stored; the run goes on without the store", c->o->db_path,
        cause ? cause : vg__store_errmsg(c->db), (unsigned long long)s.alerts_stored);
}

void vg__scan_ledger_failed(scan_ctx *c)
{
    if (c->ledger_failed || !c->ledger)
        return;
    c->ledger_failed = true;
    say(c, "--ledger %s: %s after %llu alerts appended; the run goes on without the ledger",
        c->o->ledger_dir, vg__ledger_error(c->ledger), (unsigned long long)c->ledgered);
    /* A handle that failed on I/O refuses every call (no checkpoint is written over entries
     * that may be torn); closing it releases the ledger's lock. */
    vg__ledger_close(c->ledger, NULL, 0);
    c->ledger = NULL;
}

/* ---- sinks: -o (or stdout), --db, --ledger; every alert to each, in read order ---------- */

static int text_on_alert(void *ud, const vigie_alert *a, const char *p, size_t n)
{
    scan_ctx *c = ud;
    (void)a;
    if (n && !c->out_error && fwrite(p, 1, n, c->out) != n)
        c->out_error = errno ? errno : EIO;
    return VIGIE_OK;
}

void vg__scan_write_out(scan_ctx *c, const char *p, size_t n)
{
    text_on_alert(c, NULL, p, n);
}

static size_t no_newline(const char *p, size_t n)
{
    return n && p[n - 1] == '\n' ? n - 1 : n;
}

/* The store: its columns and evidence from the typed alert, the JSON text kept verbatim. A
 * store that fails is said once and left (vg__scan_store_failed); -o goes on. */
static int store_on_alert(void *ud, const vigie_alert *a, const char *p, size_t n)
{
    scan_ctx *c = ud;
    size_t l = no_newline(p, n);
    if (!a || !l || !c->db || c->db_failed)
        return VIGIE_OK;
    if (vg__store_add_alert(c->db, c->run_id, a, p, l) != VIGIE_OK) {
        if (vg__store_failure(c->db))
            vg__scan_store_failed(c);
        else /* an alert the store refuses: one of ours, so a bug; the store stays usable */
            say(c, "--db %s: an alert line could not be stored: %s", c->o->db_path,
                vg__store_errmsg(c->db));
    }
    return VIGIE_OK;
}

/* The records an alert rests on, for the ledger: its source, then (combined) each piece of
 * evidence, each position once; a position without its hash is no evidence. */
static uint32_t alert_sources(const vigie_alert *a, vg_ledger_src *v, uint32_t cap)
{
    uint32_t n = 0;
    uint32_t ne = a->kind == VIGIE_ALERT_COMBINED ? a->u.combined.n_evidence : 0;
    for (uint32_t i = 0; i <= ne && n < cap; i++) {
        const vigie_alert_source *s =
            i == 0 ? (a->has_source ? &a->source : NULL) : &a->u.combined.evidence[i - 1].source;
        if (!s || !s->file || !s->has_sha)
            continue;
        bool dup = false;
        for (uint32_t q = 0; q < n && !dup; q++)
            dup = v[q].index == s->index && !strcmp(v[q].file, s->file);
        if (dup)
            continue;
        v[n] = (vg_ledger_src){s->file, s->line, s->index, s->offset, {0}};
        memcpy(v[n].sha256, s->sha256, 32);
        n++;
    }
    return n;
}

/* The ledger: the alert's id and sources from the typed alert, its JSON text hashed. A ledger
 * that fails is said once and left (vg__scan_ledger_failed); -o goes on. */
static int ledger_on_alert(void *ud, const vigie_alert *a, const char *p, size_t n)
{
    static vg_ledger_src srcs[VG_MAX_SESSION_EVIDENCE + 4];
    scan_ctx *c = ud;
    size_t l = no_newline(p, n);
    if (!a || !l || !c->ledger)
        return VIGIE_OK;
    uint32_t ns = alert_sources(a, srcs, VG_ARRAY_LEN(srcs));
    if (!a->id[0]) {
        say(c, "--ledger %s: an alert line without \"id\" was not appended", c->o->ledger_dir);
        c->ledger_failed = true;
    } else if (vg__ledger_append(c->ledger, a->id, p, l, srcs, ns) != VIGIE_OK) {
        vg__scan_ledger_failed(c);
    } else {
        c->ledgered++;
    }
    return VIGIE_OK;
}

void vg__scan_sinks_init(scan_ctx *c)
{
    c->n_sinks = 0;
    c->sinks[c->n_sinks++] = (vg_sink){c, text_on_alert, NULL};
    if (c->db)
        c->sinks[c->n_sinks++] = (vg_sink){c, store_on_alert, NULL};
    if (c->ledger)
        c->sinks[c->n_sinks++] = (vg_sink){c, ledger_on_alert, NULL};
    c->typed = c->db || c->ledger;
}

void vg__scan_emit(scan_ctx *c, const vigie_alert *a, const char *text, size_t n)
{
    for (uint32_t i = 0; i < c->n_sinks; i++)
        c->sinks[i].on_alert(c->sinks[i].ud, a, text, n);
}

/* The full fact of a record a lite fact stood for: the writer parses it again (with its own
 * worker state) and appends the fact; returns its index, UINT32_MAX on failure. Only mail
 * reads the sign-ins do not explain come here. */
static uint32_t hydrate(scan_ctx *c, batch *b, uint32_t rec)
{
    worker *w = c->wwp;
    if (!w)
        return UINT32_MAX;
    const rec_ref *r = &b->recs[rec];
    if (vg__json_parse(&w->tape, b->data.data + r->off, r->len, NULL) != VIGIE_OK)
        return UINT32_MAX;
    vg__jscratch_reset(w->js);
    vg__buf_reset(&w->tmp);
    vg_eventinfo ei;
    vg__shape_classify(c->fmap, &w->tape, w->js, &w->tmp, &ei);
    w->b = b;
    w->r = r;
    w->ei = &ei;
    w->sha_ok = w->mdet_ok = false;
    vg__detect_time_field(c->det, w->ds, &w->tape, w->js, &ei); /* as the worker did */
    vg__detect_begin(w->ds, c->det, &w->tape, w->js, &ei);
    w->sig0 = b->n_sigs;
    uint32_t before = b->n_sf;
    vg__scan_record_fact(w, b, rec, &ei, true);
    return b->n_sf > before ? b->n_sf - 1 : UINT32_MAX;
}

/* Writer side: a batch's session facts, in read order, into the session combiner. A
 * first-seen signal counts when its term was new (the alert was kept) or is still novel. */
static void fold_sessions(scan_ctx *c, batch *b)
{
    if (!c->sess)
        return;
    vg_sess_signal sigs[64];
    const char *folders[VG_MAX_SESSION_FOLDERS];
    vg_buf ids;
    vg__buf_init(&ids, 0);
    uint32_t n0 = b->n_sf; /* hydrated facts are appended past it */
    for (uint32_t i = 0; i < n0; i++) {
        const struct sfact *f = &b->sf[i];
        vg_rfacts rf;
        vg_sref fref[VG_MAX_SESSION_FOLDERS];
        vg__rfacts_list_get(&b->rfl, f->fact, &rf, fref);
        if (rf.lite) {
            vg_sess_rec q = {.tenant = rf.tenant.p,
                             .user = rf.user.p,
                             .session = rf.session.p,
                             .token = rf.token.p,
                             .t = rf.t,
                             .has_time = rf.has_time,
                             .mail = true};
            if (!vg__sessions_needs(c->sess, &q))
                continue; /* explained by a sign-in already seen: nothing to keep */
            uint32_t j = hydrate(c, b, f->rec);
            if (j == UINT32_MAX)
                continue;
            f = &b->sf[j];
            vg__rfacts_list_get(&b->rfl, f->fact, &rf, fref);
        }
        const char *tenant = rf.tenant.p, *session = rf.session.p, *token = rf.token.p;
        uint32_t nf = 0;
        for (uint32_t k = 0; k < rf.n_folders && nf < VG_MAX_SESSION_FOLDERS; k++)
            folders[nf++] = fref[k].p;
        if (rf.signin && rf.has_time)
            vg__sessions_signin(c->sess, tenant, session, token, rf.t);
        uint32_t ns = 0;
        vg__buf_reset(&ids);
        for (uint32_t k = 0; k < f->n_sig && ns < 64; k++) {
            const struct rsig *g = &b->sigs[f->sig0 + k];
            const char *name = b->sf_strs.data + g->strs;
            const char *kind = name + strlen(name) + 1;
            const char *rule = kind + strlen(kind) + 1;
            const char *level = rule + strlen(rule) + 1;
            const char *id = level + strlen(level) + 1;
            const char *family = id + strlen(id) + 1;
            if (g->pend >= 0) {
                int st = b->pend[g->pend].state;
                if (st == VG_NT_KNOWN)
                    continue;
                if (st == VG_NT_NOVEL) {
                    /* seen again while still novel: no alert, a signal one level lower */
                    id = "";
                    static const char *const lower[] = {"informational", "informational", "low",
                                                        "medium", "high"};
                    int li = vg__scan_level_index(level);
                    level = li < 5 ? lower[li] : "low";
                }
            }
            sigs[ns++] = (vg_sess_signal){name, kind, rule, level, 1, family};
            if (*id) {
                if (ids.len)
                    vg__buf_addc(&ids, ',');
                vg__buf_adds(&ids, id);
            }
        }
        if (!rf.mail && !ns)
            continue;
        const rec_ref *r = &b->recs[f->rec];
        vg_sess_rec sr = {.tenant = tenant,
                          .user = rf.user.p,
                          .session = session,
                          .token = token,
                          .t = rf.t,
                          .has_time = rf.has_time,
                          .mail = rf.mail,
                          .rest_client = rf.rest_client,
                          .signals = sigs,
                          .n_signals = ns,
                          .msgs = rf.msgs,
                          .n_msgs = rf.n_msgs,
                          .ops = rf.ops,
                          .folders = folders,
                          .n_folders = nf,
                          .file = c->in.paths[r->file],
                          .line = r->line,
                          .index = r->index,
                          .offset = r->offset,
                          .alert_ids = ids.data,
                          .ip = rf.ip.p,
                          .app = rf.app.p,
                          .ua = rf.ua.p};
        memcpy(sr.sha256, f->sha, 32);
        vg__sessions_add(c->sess, &sr);
    }
    vg__buf_free(&ids);
}

/* ---- Sigma correlations (writer side, read order) ---------------------------------------- */

typedef struct cfeed {
    scan_ctx *c;
    batch *b;
    const struct cfact *f;
    vg_buf *out, *scratch;
    const char **ids; /* corr_emit's lists of contributing events (grown, reused) */
    uint32_t cap_ids;
    vigie_alert_position *pos;
    uint32_t cap_pos;
} cfeed;

static bool corr_get(void *ud, const char *field, const char **val, size_t *len)
{
    cfeed *x = ud;
    const char *p = x->b->sf_strs.data + x->f->strs;
    for (uint32_t i = 0; i < x->f->n_vals; i++) {
        const char *v = p + strlen(p) + 1;
        if (!strcmp(p, field)) {
            *val = v;
            *len = strlen(v);
            return true;
        }
        p = v + strlen(v) + 1;
    }
    return false;
}

static int corr_emit(void *ud, const vg_corr_alert *ca)
{
    cfeed *x = ud;
    scan_ctx *c = x->c;
    if (!ca->output)
        return 0;
    const vg_rule *r = ca->rule;
    const struct cref *last = NULL;
    if (ca->n_refs) {
        const struct cref *e = &c->ring[ca->refs[ca->n_refs - 1] % VG_CORR_RING];
        if (e->ref == ca->refs[ca->n_refs - 1])
            last = e;
    }
    char tend[40], tstart[40];
    vg__format_time(ca->t_end, tend, sizeof tend);
    vg__format_time(ca->t_start, tstart, sizeof tstart);
    /* the contributing events still in the ring: their ids and positions */
    if (VG_GROW(x->ids, x->cap_ids, (size_t)ca->n_refs, 16) ||
        VG_GROW(x->pos, x->cap_pos, (size_t)ca->n_refs, 16))
        return 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < ca->n_refs; i++) {
        const struct cref *e = &c->ring[ca->refs[i] % VG_CORR_RING];
        if (e->ref != ca->refs[i])
            continue;
        x->ids[n] = e->id;
        x->pos[n++] =
            (vigie_alert_position){vg__scan_ring_file(c, e->file), e->line, e->index, e->offset};
    }
    static const char *const types[] = {"none",      "event_count",      "value_count",
                                        "temporal",  "temporal_ordered", "value_sum",
                                        "value_avg", "value_percentile"};
    vigie_alert a;
    memset(&a, 0, sizeof a);
    a.kind = VIGIE_ALERT_CORRELATION;
    a.rule.id = r->id;
    a.rule.title = r->title;
    a.rule.level = r->level;
    a.rule.tags = (const char *const *)r->tags;
    a.rule.n_tags = r->n_tags;
    a.time = ca->t_end;
    a.has_time = true;
    if (last && last->tenant[0]) {
        a.tenant = last->tenant;
        a.tenant_len = strlen(last->tenant);
    }
    if (last) {
        a.has_source = true;
        a.source.file = vg__scan_ring_file(c, last->file);
        a.source.line = last->line;
        a.source.index = last->index;
        a.source.offset = last->offset;
        memcpy(a.source.sha256, last->sha, 32);
        a.source.has_sha = true;
    }
    vigie_alert_correlation *k = &a.u.correlation;
    k->type = r->corr && r->corr->type < 8 ? types[r->corr->type] : "none";
    k->group = ca->group;
    k->group_len = ca->group_len;
    k->value = ca->value;
    k->events = ca->n_events;
    k->window_start = tstart;
    k->window_end = tend;
    k->contributing = x->ids;
    k->n_contributing = n;
    k->positions = x->pos;
    k->n_positions = n;
    if (vg__alert_set_id(&a, x->scratch) != VIGIE_OK)
        return 0;
    c->corr_alerts++;
    c->by_level[vg__scan_level_index(r->level)]++;
    c->alerts++;
    vg__buf_reset(x->out);
    vg__alert_render(x->out, &a, c->o->format);
    vg__scan_emit(c, &a, x->out->data, x->out->len);
    return 0;
}

static void feed_correlations(scan_ctx *c, batch *b)
{
    if (!c->corr || !b->n_cf)
        return;
    vg_buf out, scratch;
    vg__buf_init(&out, 0);
    vg__buf_init(&scratch, 0);
    cfeed x = {.c = c, .b = b, .out = &out, .scratch = &scratch};
    for (uint32_t i = 0; i < b->n_cf; i++) {
        const struct cfact *f = &b->cf[i];
        if (isnan(f->t)) {
            c->corr_untimed++;
            continue;
        }
        const rec_ref *r = &b->recs[f->rec];
        uint64_t ref = ++c->corr_seq;
        struct cref *e = &c->ring[ref % VG_CORR_RING];
        e->ref = ref;
        e->file = r->file;
        e->line = r->line;
        e->index = r->index;
        e->offset = r->offset;
        memcpy(e->id, f->id, sizeof e->id);
        vg__ledger_sha256(b->data.data + r->off, r->len, e->sha);
        memcpy(e->tenant, f->tenant, sizeof e->tenant);
        x.f = f;
        vg__corr_feed(c->corr, vg__ruleset_rule(c->rs, f->rule), f->t, corr_get, &x, ref, corr_emit,
                      &x);
    }
    vg__buf_free(&out);
    vg__buf_free(&scratch);
    free(x.ids);
    free(x.pos);
}

void vg__scan_write_batch(scan_ctx *c, batch *b)
{
    if (b->max_t > c->max_t)
        c->max_t = b->max_t;
    /* first-seen candidates are decided here, in read order, against the shared state */
    for (uint32_t i = 0; i < b->n_pend; i++) {
        struct pending *p = &b->pend[i];
        const vg_rule *r = vg__ruleset_rule(c->rs, p->rule);
        const char *group = b->nt_strs.data + p->strs;
        const char *term = group + strlen(group) + 1;
        p->state = c->nt ? vg__newterms_state(c->nt, r->id ? r->id : (r->title ? r->title : "?"),
                                              group, term, p->t, r->nt_baseline_s)
                         : VG_NT_KNOWN;
        if (p->state == VG_NT_NEW) {
            b->alerts++;
            b->by_level[c->rule_level[p->rule]]++;
            c->rule_hits[p->rule]++;
            c->nt_first_seen++;
        }
    }
    /* then every alert to the sinks, in read order: the text the workers rendered (one piece
     * per typed alert when a typed sink is on, else the runs between candidates), and the
     * candidates kept, rendered here */
    size_t at = 0;
    for (uint32_t i = 0; i < b->n_al; i++) {
        const struct balert *q = &b->al[i];
        if (q->start > at)
            vg__scan_emit(c, NULL, b->out.data + at, q->start - at);
        if (q->pend < 0) {
            vg__scan_emit(c, &q->a, b->out.data + q->start, q->end - q->start);
        } else if (b->pend[q->pend].state == VG_NT_NEW) {
            vg__buf_reset(&c->wr_render);
            vg__alert_render(&c->wr_render, &q->a, c->o->format);
            if (!vg__buf_failed(&c->wr_render))
                vg__scan_emit(c, &q->a, c->wr_render.data, c->wr_render.len);
        }
        at = q->end;
    }
    if (b->out.len > at)
        vg__scan_emit(c, NULL, b->out.data + at, b->out.len - at);
    if (c->camp && c->o->format == FMT_JSONL && b->token_findings)
        for (const char *p = b->out.data, *end = b->out.data + b->out.len; p && p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (vg__ascii_imemmem(p, l, "\"kind\":\"token\"", 14))
                vg__campaigns_add_alert(c->camp, p, l);
            p = nl ? nl + 1 : NULL;
        }
    vg__scan_write_undetermined(c, b);
    fold_facts(c, b);
    fold_sessions(c, b);
    feed_correlations(c, b);
    /* a signed checkpoint every 4,096 entries and every 30 s: what a crash leaves unsigned
     * (recovered on the next open) is bounded in count and in time */
    if (c->ledger && (c->ledgered - c->ledger_ck >= VG_LEDGER_CHECKPOINT_ENTRIES ||
                      vg__ledger_checkpoint_due(c->ledger, vg__now()))) {
        if (vg__ledger_checkpoint(c->ledger) != VIGIE_OK)
            vg__scan_ledger_failed(c);
        c->ledger_ck = c->ledgered;
    }
    c->events += b->events;
    c->ind_hits += b->ind_hits;
    c->token_findings += b->token_findings;
    c->bad += b->bad;
    c->alerts += b->alerts;
    for (int i = 0; i < VIGIE_STATUS_COUNT; i++)
        c->bad_by_rc[i] += b->bad_by_rc[i];
    for (int i = 0; i < LV_COUNT; i++)
        c->by_level[i] += b->by_level[i];
    if (c->on_progress)
        c->on_progress(c, false);
    /* the store commits at least every VG_STORE_COMMIT_MS, also when no alert comes */
    if (c->db && !c->db_failed && vg__store_tick(c->db) != VIGIE_OK)
        vg__scan_store_failed(c);
}
