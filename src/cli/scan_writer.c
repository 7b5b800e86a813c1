/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan_writer.c: the writer of `vigie scan`: batches in read order, and the end of the run.
 * Stage: cli, over correlate, store.
 *
 * Per batch, in read order: decide first-seen candidates against the shared state, write the
 * batch's alert lines (and hand each to --db and --ledger), fold visibility facts, feed
 * session facts to the combiner (re-parsing the few mail reads the sign-ins do not explain),
 * feed Sigma correlations and write what they raise. At the end: combined alerts, visibility
 * gaps. The writer alone owns this state, so the output is the same for any -j.
 */
#define _POSIX_C_SOURCE 200809L
#include "scan_int.h"

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

/* End of run: one combined alert per session group with a primary signal. */
typedef struct emit_ctx {
    scan_ctx *c;
    vg_buf o;
} emit_ctx;

static int emit_combined(void *ud, const vg_sess_alert *a)
{
    emit_ctx *x = ud;
    scan_ctx *c = x->c;
    vg_buf *o = &x->o;
    const char *level = vg__sessions_level_name(a->level);
    char first[40] = "", last[40] = "", id[33];
    if (a->first <= a->last) {
        vg__format_time(a->first, first, sizeof first);
        vg__format_time(a->last, last, sizeof last);
    }
    const char *parts[] = {"combined", a->key};
    vg__scan_alert_id(parts, 2, id);
    /* a title a person reads: the strongest signals first */
    bool no_si = false, novel = false, tok = false, ind = false;
    for (uint32_t i = 0; i < a->n_signals; i++) {
        const vg_sess_signal *g = &a->signals[i];
        no_si |= !strcmp(g->name, "no_signin");
        novel |= !strcmp(g->kind, "new_term");
        tok |= !strcmp(g->kind, "token") || !strncmp(g->name, "consumer", 8);
        ind |= !strcmp(g->kind, "indicator");
    }
    char title[256];
    int tl = snprintf(title, sizeof title, "%s%s%s%s%s", a->mail ? "Mailbox read" : "Activity",
                      no_si ? " with a token no sign-in issued" : "",
                      novel ? (no_si ? ", by an application new to the tenant"
                                     : " by an application new to the tenant")
                            : "",
                      tok ? ", forged-token signs" : "",
                      ind ? ", from listed actor infrastructure" : "");
    if (!no_si && !novel && !tok && !ind)
        for (uint32_t i = 0, k = 0; i < a->n_signals && tl > 0 && (size_t)tl < sizeof title; i++)
            if (strcmp(a->signals[i].kind, "supporting") != 0)
                tl += snprintf(title + tl, sizeof title - (size_t)tl, "%s%s", k++ ? ", " : ": ",
                               a->signals[i].name);
    c->sess_by_level[a->level]++;
    c->sess_alerts++;
    if (c->camp) /* the typed alert: campaigns do not read the line back */
        vg__campaigns_add_session(c->camp, a, id);
    if (c->o->format != FMT_JSONL) {
        const vg_sess_evidence *e = a->n_evidence ? &a->evidence[0] : NULL;
        if (c->o->format == FMT_CSV) {
            vg__buf_printf(o, "%s,%s,vigie:combined,", first, level);
            vg__scan_csv_cell(o, title, strlen(title));
            vg__buf_addc(o, ',');
            vg__scan_csv_cell(o, a->tenant, strlen(a->tenant));
            vg__buf_addc(o, ',');
            if (e)
                vg__scan_csv_cell(o, e->file, strlen(e->file));
            vg__buf_printf(o, ",%llu,%llu\n", e ? (unsigned long long)e->line : 0ull,
                           e ? (unsigned long long)e->offset : 0ull);
        } else {
            vg__scan_table_line(o, first, level, title, a->tenant, strlen(a->tenant),
                                e ? e->file : NULL, e ? e->line : 0);
        }
        if (x->o.len > (1u << 20)) {
            vg__scan_write_out(c, x->o.data, x->o.len);
            vg__buf_reset(&x->o);
        }
        return 0;
    }
    vg__buf_printf(o, "{\"id\":\"%s\",\"rule\":{\"id\":\"vigie:combined\",\"title\":", id);
    vg__scan_json_str_or_null(o, title, strlen(title));
    /* ATT&CK: what the signals show (mail collection; forged or unissued tokens used as
     * alternate authentication material; traffic through listed proxies) */
    const char *tags[VG_COMBINED_MAX_TAGS];
    uint32_t n_tags = vg__combined_tags(a, tags);
    vg__buf_printf(o, ",\"level\":\"%s\",\"tags\":[", level);
    for (uint32_t i = 0; i < n_tags; i++)
        vg__buf_printf(o, "%s\"%s\"", i ? "," : "", tags[i]);
    vg__buf_adds(o, "]},\"kind\":\"combined\",\"tenant\":");
    vg__scan_json_str_or_null(o, a->tenant, strlen(a->tenant));
    vg__buf_adds(o, ",\"user\":");
    vg__scan_json_str_or_null(o, a->user, strlen(a->user));
    vg__buf_adds(o, ",\"session\":");
    vg__scan_json_str_or_null(o, a->session, a->session ? strlen(a->session) : 0);
    vg__buf_adds(o, ",\"day\":");
    vg__scan_json_str_or_null(o, a->session ? NULL : a->day, a->session ? 0 : strlen(a->day));
    vg__buf_adds(o, ",\"time\":");
    vg__scan_json_str_or_null(o, first[0] ? first : NULL, strlen(first));
    vg__buf_printf(o, ",\"score\":%d,\"signals\":[", a->score);
    for (uint32_t i = 0; i < a->n_signals; i++) {
        if (i)
            vg__buf_addc(o, ',');
        vg__scan_json_str_or_null(o, a->signals[i].name, strlen(a->signals[i].name));
    }
    vg__buf_adds(o, "],\"signal_detail\":[");
    for (uint32_t i = 0; i < a->n_signals; i++) {
        const vg_sess_signal *g = &a->signals[i];
        vg__buf_adds(o, i ? ",{\"name\":" : "{\"name\":");
        vg__scan_json_str_or_null(o, g->name, strlen(g->name));
        vg__buf_adds(o, ",\"kind\":");
        vg__scan_json_str_or_null(o, g->kind, strlen(g->kind));
        vg__buf_adds(o, ",\"level\":");
        vg__scan_json_str_or_null(o, g->level, strlen(g->level));
        vg__buf_adds(o, ",\"rule\":");
        vg__scan_json_str_or_null(o, g->rule && *g->rule ? g->rule : NULL,
                                  g->rule ? strlen(g->rule) : 0);
        vg__buf_printf(o, ",\"records\":%llu}", (unsigned long long)g->records);
    }
    vg__buf_printf(o,
                   "],\"records\":%llu,\"mail_records\":%llu,"
                   "\"sign_in_join\":{\"matched\":%llu,\"no_signin\":%llu,\"unlinkable\":%llu}",
                   (unsigned long long)a->records, (unsigned long long)a->mail,
                   (unsigned long long)a->matched, (unsigned long long)a->no_signin,
                   (unsigned long long)a->unlinkable);
    if (a->mail) {
        vg__buf_printf(o,
                       ",\"messages_read\":{\"internet_message_ids\":%llu,%s"
                       "\"operation_count\":%.0f,\"folders\":[",
                       (unsigned long long)a->messages,
                       a->messages_capped ? "\"at_least\":true," : "", a->ops);
        for (uint32_t i = 0; i < a->n_folders; i++) {
            if (i)
                vg__buf_addc(o, ',');
            vg__scan_json_str_or_null(o, a->folders[i], strlen(a->folders[i]));
        }
        vg__buf_adds(o, "],\"first\":");
        vg__scan_json_str_or_null(o, first[0] ? first : NULL, strlen(first));
        vg__buf_adds(o, ",\"last\":");
        vg__scan_json_str_or_null(o, last[0] ? last : NULL, strlen(last));
        vg__buf_addc(o, '}');
    }
    const char *const *lists[3] = {a->ips, a->apps, a->uas};
    uint32_t ns[3] = {a->n_ips, a->n_apps, a->n_uas};
    static const char *const lnames[3] = {"ips", "app_ids", "user_agents"};
    vg__buf_adds(o, ",\"infrastructure\":{");
    for (int k = 0; k < 3; k++) {
        vg__buf_printf(o, "%s\"%s\":[", k ? "," : "", lnames[k]);
        for (uint32_t i = 0; i < ns[k]; i++) {
            if (i)
                vg__buf_addc(o, ',');
            vg__scan_json_str_or_null(o, lists[k][i], strlen(lists[k][i]));
        }
        vg__buf_addc(o, ']');
    }
    vg__buf_addc(o, '}');
    for (uint32_t i = 0; i < a->n_evidence; i++) {
        const vg_sess_evidence *e = &a->evidence[i];
        char sh[65];
        vg__scan_hex(e->sha256, 32, sh);
        if (i == 0) {
            vg__buf_adds(o, ",\"source\":{\"file\":");
            vg__scan_json_str_or_null(o, e->file, strlen(e->file));
            vg__buf_printf(o,
                           ",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"%s\"}"
                           ",\"evidence\":[",
                           (unsigned long long)e->line, (unsigned long long)e->index,
                           (unsigned long long)e->offset, sh);
        }
        vg__buf_adds(o, i ? ",{\"file\":" : "{\"file\":");
        vg__scan_json_str_or_null(o, e->file, strlen(e->file));
        vg__buf_printf(
            o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"%s\",\"alerts\":[",
            (unsigned long long)e->line, (unsigned long long)e->index,
            (unsigned long long)e->offset, sh);
        for (const char *p = e->alert_ids; p && *p;) {
            const char *q = strchr(p, ',');
            size_t l = q ? (size_t)(q - p) : strlen(p);
            vg__buf_addc(o, p == e->alert_ids ? '"' : ',');
            if (p != e->alert_ids)
                vg__buf_addc(o, '"');
            vg__buf_add(o, p, l);
            vg__buf_addc(o, '"');
            p += l + (q ? 1 : 0);
        }
        vg__buf_adds(o, "]}");
    }
    if (a->n_evidence)
        vg__buf_printf(o, "],\"evidence_omitted\":%llu", (unsigned long long)a->evidence_omitted);
    vg__buf_adds(o, "}\n");
    if (x->o.len > (1u << 20)) {
        vg__scan_write_out(c, x->o.data, x->o.len);
        vg__buf_reset(&x->o);
    }
    return 0;
}

void vg__scan_write_combined(scan_ctx *c)
{
    if (!c->sess)
        return;
    emit_ctx x = {c, {0}};
    vg__buf_init(&x.o, 0);
    vg__sessions_finish(c->sess, emit_combined, &x, &c->sess_stats);
    if (x.o.len)
        vg__scan_write_out(c, x.o.data, x.o.len);
    vg__buf_free(&x.o);
}

/* A gap record with its stable id (the hash of its content). The format's %s arguments
 * must already be JSON-escaped. */
static void put_gap(scan_ctx *c, vg_buf *o, const char *fmt, ...)
{
    char id[33];
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *body = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (body)
        vsnprintf(body, (size_t)n + 1, fmt, aq);
    va_end(aq);
    if (!body)
        return;
    const char *parts[] = {"gap", body};
    vg__scan_alert_id(parts, 2, id);
    vg__buf_printf(o, "{\"id\":\"%s\",%s}\n", id, body);
    free(body);
    c->gaps++;
}

typedef struct gap_ctx {
    scan_ctx *c;
    vg_buf o, et;
} gap_ctx;

/* One gap from visibility.c as a record of its own ("kind": "gap"). */
static int emit_gap(void *ud, const vg_vis_gap *g)
{
    gap_ctx *x = ud;
    scan_ctx *c = x->c;
    vg_buf *o = &x->o;
    char a[40], z[40];
    vg__buf_reset(&x->et);
    vg__buf_add_json_str(&x->et, g->tenant, strlen(g->tenant));
    vg__buf_addc(&x->et, 0);
    const char *tenant = x->et.data;
    switch (g->kind) {
    case VG_GAP_NO_MAILBOX_AUDIT:
        vg__format_time(g->from, a, sizeof a);
        vg__format_time(g->to, z, sizeof z);
        put_gap(c, o,
                "\"kind\":\"gap\",\"gap\":\"no_mailbox_audit\","
                "\"tenant\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"days\":%lld,"
                "\"detail\":\"no MailItemsAccessed record in these days\"",
                tenant, a, z, (long long)g->days);
        break;
    case VG_GAP_THROTTLED:
        put_gap(c, o,
                "\"kind\":\"gap\",\"gap\":\"throttled\",\"tenant\":\"%s\","
                "\"records\":%llu,\"detail\":\"IsThrottled: Bind records stop for 24 h "
                "after 1,000 in 24 h; reads in that period are not audited\"",
                tenant, (unsigned long long)g->records);
        break;
    case VG_GAP_UNLINKABLE:
        put_gap(c, o,
                "\"kind\":\"gap\",\"gap\":\"unlinkable\",\"tenant\":\"%s\","
                "\"records\":%llu,\"of\":%llu,\"detail\":\"mail access without "
                "UniqueTokenId or SessionId: cannot be joined to sign-ins\"",
                tenant, (unsigned long long)g->records, (unsigned long long)g->of);
        break;
    case VG_GAP_NO_SIGNIN_LOGS:
        put_gap(c, o,
                "\"kind\":\"gap\",\"gap\":\"no_signin_logs\",\"tenant\":\"%s\","
                "\"records\":%llu,\"detail\":\"no sign-in records for this tenant in the "
                "input: mail access cannot be joined to sign-ins and counts as unlinkable\"",
                tenant, (unsigned long long)g->records);
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
    gap_ctx x = {c, {0}, {0}};
    vg__buf_init(&x.o, 0);
    vg__buf_init(&x.et, 0);
    /* the no_signin_logs gap only when the sessions (and so the sign-ins) are kept */
    vg__vis_finish(c->vis, c->sess ? tenant_signins : NULL, c->sess, emit_gap, &x);
    vg__buf_free(&x.et);
    if (x.o.len && c->o->format == FMT_JSONL)
        vg__scan_write_out(c, x.o.data, x.o.len);
    vg__buf_free(&x.o);
}

void vg__scan_progress(scan_ctx *c, bool final)
{
    if (!c->progress)
        return;
    double now = vg__now();
    if (!final && now - c->last_progress < 0.25)
        return;
    c->last_progress = now;
    double el = now - c->t_start;
    fprintf(stderr, "\r\033[Kvigie: %llu events  %.1f MB  %llu alerts  %llu bad  %.1f MB/s",
            (unsigned long long)c->events, (double)c->bytes / 1e6, (unsigned long long)c->alerts,
            (unsigned long long)c->bad, el > 0 ? (double)c->bytes / 1e6 / el : 0.0);
    if (final)
        fputc('\n', stderr);
}

/* The sources of an alert line for the ledger: "source", each of "evidence" (combined)
 * and each of "events" (correlation; positions only). */
static uint32_t line_sources(scan_ctx *c, vg_ledger_src *v, uint32_t cap, char (*files)[1024])
{
    vg_jtape *t = &c->sink_tape;
    uint32_t n = 0;
    const char *keys[] = {"source", "evidence", "events"};
    for (int k = 0; k < 3; k++) {
        int64_t x = vg__json_obj_get(t, 0, keys[k], strlen(keys[k]));
        if (x < 0)
            continue;
        uint32_t first = (uint32_t)x, end = t->tok[x].next;
        bool arr = t->tok[x].type == VG_J_ARRAY;
        if (arr)
            first++;
        else if (t->tok[x].type != VG_J_OBJECT)
            continue;
        for (uint32_t i = first; i < end && n < cap; i = arr ? t->tok[i].next : end) {
            if (t->tok[i].type != VG_J_OBJECT)
                continue;
            int64_t f = vg__json_obj_get(t, i, "file", 4), l = vg__json_obj_get(t, i, "line", 4);
            int64_t ix = vg__json_obj_get(t, i, "index", 5),
                    off = vg__json_obj_get(t, i, "offset", 6);
            int64_t h = vg__json_obj_get(t, i, "sha256", 6);
            if (f < 0 || ix < 0)
                continue;
            vg__json_str_copy(t, f, files[n], sizeof files[n]);
            double d;
            vg_ledger_src *e = &v[n];
            memset(e, 0, sizeof *e);
            e->file = files[n];
            if (l >= 0 && vg__json_number(t->src + t->tok[l].off, t->tok[l].len, &d) == VIGIE_OK)
                e->line = (uint64_t)d;
            if (vg__json_number(t->src + t->tok[ix].off, t->tok[ix].len, &d) == VIGIE_OK)
                e->index = (uint64_t)d;
            if (off >= 0 &&
                vg__json_number(t->src + t->tok[off].off, t->tok[off].len, &d) == VIGIE_OK)
                e->offset = (uint64_t)d;
            char hx[80] = "";
            if (h >= 0)
                vg__json_str_copy(t, h, hx, sizeof hx);
            if (strlen(hx) != 64)
                continue; /* a position without its hash (correlation events): not evidence */
            for (int b = 0; b < 32; b++) {
                unsigned hi, lo;
                sscanf(hx + 2 * b, "%1x%1x", &hi, &lo);
                e->sha256[b] = (uint8_t)(hi << 4 | lo);
            }
            bool dup = false;
            for (uint32_t q = 0; q < n && !dup; q++)
                dup = v[q].index == e->index && !strcmp(v[q].file, e->file);
            if (!dup)
                n++;
        }
    }
    return n;
}

void vg__scan_store_failed(scan_ctx *c)
{
    if (c->db_failed || !c->db)
        return;
    c->db_failed = true;
    vg_store_stats s;
    vg__store_stats_get(c->db, &s);
    const char *cause = vg__store_failure(c->db);
    fprintf(stderr,
            "vigie: error: --db %s: %s after %llu alerts stored; the run goes on without the "
            "store\n",
            c->o->db_path, cause ? cause : vg__store_errmsg(c->db),
            (unsigned long long)s.alerts_stored);
}

void vg__scan_ledger_failed(scan_ctx *c)
{
    if (c->ledger_failed || !c->ledger)
        return;
    c->ledger_failed = true;
    fprintf(stderr,
            "vigie: error: --ledger %s: %s after %llu alerts appended; the run goes on without "
            "the ledger\n",
            c->o->ledger_dir, vg__ledger_error(c->ledger), (unsigned long long)c->ledgered);
    /* A handle that failed on I/O refuses every call (no checkpoint is written over entries
     * that may be torn); closing it releases the ledger's lock. */
    vg__ledger_close(c->ledger, NULL, 0);
    c->ledger = NULL;
}

/* Every alert line written also goes to the store and the ledger. A store or ledger that
 * fails is said once and left (vg__scan_store_failed / _ledger_failed); -o goes on. */
static void sink_lines(scan_ctx *c, const char *p, size_t n)
{
    static vg_ledger_src srcs[VG_MAX_SESSION_EVIDENCE + 4];
    static char files[VG_MAX_SESSION_EVIDENCE + 4][1024];
    for (const char *end = p + n; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l && c->db && !c->db_failed &&
            vg__store_add_alert(c->db, c->run_id, p, l) != VIGIE_OK) {
            if (vg__store_failure(c->db))
                vg__scan_store_failed(c);
            else /* a line the store refuses: one of ours, so a bug; the store stays usable */
                fprintf(stderr, "vigie: error: --db %s: an alert line could not be stored: %s\n",
                        c->o->db_path, vg__store_errmsg(c->db));
        }
        if (l && c->ledger && vg__json_parse(&c->sink_tape, p, l, NULL) == VIGIE_OK &&
            c->sink_tape.tok[0].type == VG_J_OBJECT) {
            char id[128] = "";
            vg__json_str_copy(&c->sink_tape, vg__json_obj_get(&c->sink_tape, 0, "id", 2), id,
                              sizeof id);
            uint32_t ns = line_sources(c, srcs, VG_ARRAY_LEN(srcs), files);
            if (!id[0]) {
                fprintf(stderr,
                        "vigie: error: --ledger %s: an alert line without \"id\" was not "
                        "appended\n",
                        c->o->ledger_dir);
                c->ledger_failed = true;
            } else if (vg__ledger_append(c->ledger, id, p, l, srcs, ns) != VIGIE_OK) {
                vg__scan_ledger_failed(c);
            } else {
                c->ledgered++;
            }
        }
        p += l + 1;
    }
}

void vg__scan_write_out(scan_ctx *c, const char *p, size_t n)
{
    if (n && !c->out_error && fwrite(p, 1, n, c->out) != n)
        c->out_error = errno ? errno : EIO;
    if (n && (c->db || c->ledger))
        sink_lines(c, p, n);
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
    w->sha_ok = w->mail_ok = false;
    vg__scan_time_field(w, &ei); /* as the worker did */
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
    const char *folders[32];
    vg_buf ids;
    vg__buf_init(&ids, 0);
    uint32_t n0 = b->n_sf; /* hydrated facts are appended past it */
    for (uint32_t i = 0; i < n0; i++) {
        const struct sfact *f = &b->sf[i];
        if (f->lite) {
            const char *t0 = b->sf_strs.data + f->strs;
            const char *u0 = t0 + strlen(t0) + 1;
            const char *s0 = u0 + strlen(u0) + 1;
            const char *k0 = s0 + strlen(s0) + 1;
            vg_sess_rec q = {.tenant = t0,
                             .user = u0,
                             .session = s0,
                             .token = k0,
                             .t = f->t,
                             .has_time = f->has_time,
                             .mail = true};
            if (!vg__sessions_needs(c->sess, &q))
                continue; /* explained by a sign-in already seen: nothing to keep */
            uint32_t j = hydrate(c, b, f->rec);
            if (j == UINT32_MAX)
                continue;
            f = &b->sf[j];
        }
        const char *tenant = b->sf_strs.data + f->strs;
        const char *user = tenant + strlen(tenant) + 1;
        const char *session = user + strlen(user) + 1;
        const char *token = session + strlen(session) + 1;
        const char *ip = token + strlen(token) + 1;
        const char *app = ip + strlen(ip) + 1;
        const char *ua = app + strlen(app) + 1;
        const char *fp = ua + strlen(ua) + 1;
        uint32_t nf = 0;
        for (uint32_t k = 0; k < f->n_folders && nf < 32; k++) {
            folders[nf++] = fp;
            fp += strlen(fp) + 1;
        }
        if (f->signin && f->has_time)
            vg__sessions_signin(c->sess, tenant, session, token, f->t);
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
        if (!f->mail && !ns)
            continue;
        const rec_ref *r = &b->recs[f->rec];
        vg_sess_rec sr = {.tenant = tenant,
                          .user = user,
                          .session = session,
                          .token = token,
                          .t = f->t,
                          .has_time = f->has_time,
                          .mail = f->mail,
                          .rest_client = f->rest,
                          .signals = sigs,
                          .n_signals = ns,
                          .msgs = b->sf_msgs + f->msg0,
                          .n_msgs = f->n_msg,
                          .ops = f->ops,
                          .folders = folders,
                          .n_folders = nf,
                          .file = c->in.paths[r->file],
                          .line = r->line,
                          .index = r->index,
                          .offset = r->offset,
                          .alert_ids = ids.data,
                          .ip = ip,
                          .app = app,
                          .ua = ua};
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
    vg_buf *out;
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

static int corr_emit(void *ud, const vg_corr_alert *a)
{
    cfeed *x = ud;
    scan_ctx *c = x->c;
    if (!a->output)
        return 0;
    const vg_rule *r = a->rule;
    const struct cref *last = NULL;
    if (a->n_refs) {
        const struct cref *e = &c->ring[a->refs[a->n_refs - 1] % VG_CORR_RING];
        if (e->ref == a->refs[a->n_refs - 1])
            last = e;
    }
    char tend[40], tstart[40], id[33];
    vg__format_time(a->t_end, tend, sizeof tend);
    vg__format_time(a->t_start, tstart, sizeof tstart);
    vg_buf key;
    vg__buf_init(&key, 0);
    vg__buf_add(&key, a->group, a->group_len);
    for (uint32_t i = 0; i < a->n_refs; i++) {
        const struct cref *e = &c->ring[a->refs[i] % VG_CORR_RING];
        if (e->ref == a->refs[i])
            vg__buf_adds(&key, e->id);
    }
    const char *parts[] = {"correlation", r->id ? r->id : r->title, tend, key.data};
    vg__scan_alert_id(parts, 4, id);
    vg__buf_free(&key);
    c->corr_alerts++;
    c->by_level[vg__scan_level_index(r->level)]++;
    c->alerts++;
    vg_buf *o = x->out;
    if (c->o->format != FMT_JSONL) {
        const char *file = last ? c->in.paths[last->file] : "-";
        if (c->o->format == FMT_CSV) {
            vg__buf_printf(o, "%s,", tend);
            vg__scan_csv_cell(o, r->level ? r->level : "", r->level ? strlen(r->level) : 0);
            vg__buf_addc(o, ',');
            vg__scan_csv_cell(o, r->id ? r->id : "", r->id ? strlen(r->id) : 0);
            vg__buf_addc(o, ',');
            vg__scan_csv_cell(o, r->title ? r->title : "", r->title ? strlen(r->title) : 0);
            vg__buf_addc(o, ',');
            if (last)
                vg__scan_csv_cell(o, last->tenant, strlen(last->tenant));
            vg__buf_addc(o, ',');
            vg__scan_csv_cell(o, file, strlen(file));
            vg__buf_printf(o, ",%llu,%llu\n", last ? (unsigned long long)last->line : 0ull,
                           last ? (unsigned long long)last->offset : 0ull);
        } else {
            vg__scan_table_line(o, tend, r->level, r->title, last ? last->tenant : NULL,
                                last ? strlen(last->tenant) : 0, file, last ? last->line : 0);
        }
        return 0;
    }
    static const char *const types[] = {"none",      "event_count",      "value_count",
                                        "temporal",  "temporal_ordered", "value_sum",
                                        "value_avg", "value_percentile"};
    vg__scan_alert_head(o, id, r->id, r->title, r->level, r->tags, r->n_tags);
    vg__buf_printf(o, ",\"kind\":\"correlation\",\"correlation\":{\"type\":\"%s\",\"group\":",
                   r->corr && r->corr->type < 8 ? types[r->corr->type] : "none");
    if (a->group_len && a->group[0] == '{')
        vg__buf_add(o, a->group, a->group_len);
    else
        vg__buf_adds(o, "{}");
    vg__buf_printf(o,
                   ",\"value\":%.17g,\"events\":%llu,\"window\":{\"start\":\"%s\",\"end\":\"%s\"}}",
                   a->value, (unsigned long long)a->n_events, tstart, tend);
    vg__buf_adds(o, ",\"tenant\":");
    vg__scan_json_str_or_null(o, last && last->tenant[0] ? last->tenant : NULL,
                              last ? strlen(last->tenant) : 0);
    vg__buf_printf(o, ",\"time\":\"%s\",\"source\":", tend);
    if (last) {
        char sh[65];
        vg__scan_hex(last->sha, 32, sh);
        const char *file = c->in.paths[last->file];
        vg__buf_adds(o, "{\"file\":");
        vg__scan_json_str_or_null(o, file, strlen(file));
        vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"%s\"}",
                       (unsigned long long)last->line, (unsigned long long)last->index,
                       (unsigned long long)last->offset, sh);
    } else {
        vg__buf_adds(o, "null");
    }
    vg__buf_adds(o, ",\"contributing\":[");
    bool first = true;
    for (uint32_t i = 0; i < a->n_refs; i++) {
        const struct cref *e = &c->ring[a->refs[i] % VG_CORR_RING];
        if (e->ref != a->refs[i])
            continue;
        vg__buf_printf(o, "%s\"%s\"", first ? "" : ",", e->id);
        first = false;
    }
    vg__buf_adds(o, "],\"events\":[");
    first = true;
    for (uint32_t i = 0; i < a->n_refs; i++) {
        const struct cref *e = &c->ring[a->refs[i] % VG_CORR_RING];
        if (e->ref != a->refs[i])
            continue;
        const char *file = c->in.paths[e->file];
        vg__buf_adds(o, first ? "{\"file\":" : ",{\"file\":");
        vg__scan_json_str_or_null(o, file, strlen(file));
        vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu}",
                       (unsigned long long)e->line, (unsigned long long)e->index,
                       (unsigned long long)e->offset);
        first = false;
    }
    vg__buf_adds(o, "]}\n");
    return 0;
}

static void feed_correlations(scan_ctx *c, batch *b)
{
    if (!c->corr || !b->n_cf)
        return;
    vg_buf out;
    vg__buf_init(&out, 0);
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
        cfeed x = {c, b, f, &out};
        vg__corr_feed(c->corr, vg__ruleset_rule(c->rs, f->rule), f->t, corr_get, &x, ref, corr_emit,
                      &x);
    }
    if (out.len)
        vg__scan_write_out(c, out.data, out.len);
    vg__buf_free(&out);
}

void vg__scan_write_batch(scan_ctx *c, batch *b)
{
    /* first-seen candidates are decided here, in read order, against the shared state */
    size_t at = 0;
    for (uint32_t i = 0; i < b->n_pend; i++) {
        struct pending *p = &b->pend[i];
        const vg_rule *r = vg__ruleset_rule(c->rs, p->rule);
        const char *group = b->nt_strs.data + p->strs;
        const char *term = group + strlen(group) + 1;
        p->state = c->nt ? vg__newterms_state(c->nt, r->id ? r->id : (r->title ? r->title : "?"),
                                              group, term, p->t, r->nt_baseline_s)
                         : VG_NT_KNOWN;
        bool keep = p->state == VG_NT_NEW;
        vg__scan_write_out(c, b->out.data + at, p->out_start - at);
        if (keep) {
            vg__scan_write_out(c, b->out.data + p->out_start, p->out_end - p->out_start);
            b->alerts++;
            b->by_level[c->rule_level[p->rule]]++;
            c->rule_hits[p->rule]++;
            c->nt_first_seen++;
        }
        at = p->out_end;
    }
    if (b->out.len > at)
        vg__scan_write_out(c, b->out.data + at, b->out.len - at);
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
    vg__scan_progress(c, false);
    /* the store commits at least every VG_STORE_COMMIT_MS, also when no alert comes */
    if (c->db && !c->db_failed && vg__store_tick(c->db) != VIGIE_OK)
        vg__scan_store_failed(c);
}
