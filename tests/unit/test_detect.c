/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_detect.c: the record facts of the detect stage (src/detect).
 *
 * 1. Equivalence: every record of the repository's sample logs (tests/data/demo,
 *    tests/data/ingest) and of the shared datasets' M365 / Entra / Azure / Panther files goes
 *    through the new stage and through a COPY of the code that computed the same facts inside
 *    `vigie scan` before the stage existed (src/cli/scan_worker.c: record_fact, mail_fact,
 *    first_of, field_text, is_mail, ensure_mail and the mr_*_cb callbacks, the indicator and
 *    token field arrays, vg__scan_time_field), in every mode scan uses (no signal, a signal,
 *    the writer's `full` second look, sessions off). Every fact must be the same, byte for
 *    byte; the mail read's JSON part rendered from the typed result must equal ensure_mail's.
 *    The reference below is the code scan ran before it called the stage (kept after the
 *    switch: it is the only per-fact, per-mode oracle; without it this test would only count
 *    records and allocations, and test_detect_scenario.sh would compare nothing).
 * 2. Hostile values: NUL and \u001f, huge strings, missing fields, arrays and objects where
 *    strings are expected, "-" values, many message ids, too many folders, bad fact files.
 * 3. Zero allocations per record once the scratch has grown (a counting malloc in this
 *    program; not under a sanitizer, which owns malloc).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "detect/detect.h"
#include "test.h"
#include "util/limits.h"

/* ---- allocation counter ----------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNTING 0
#endif
#endif
#ifndef COUNTING
#define COUNTING 1
#endif

static unsigned long n_allocs;
#if COUNTING
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
void *malloc(size_t n)
{
    n_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    n_allocs++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    n_allocs++;
    return __libc_realloc(p, n);
}
#endif

/* ==== PRE-MOVE REFERENCE: a copy of src/cli/scan_worker.c as of a1fa996 ====================
 * (worker fields renamed to a local struct; the logic is unchanged). Delete with the switch. */

#define VG_ARRAY_LEN_R(a) (sizeof(a) / sizeof((a)[0]))

typedef struct refw {
    const vg_fieldmap *fmap;
    vg_jtape *tape;
    vg_jscratch *js;
    const char *time_field;
    vg_buf ftext, ft_tmp, mr_tmp, mr_json, mfolders, mr_folders;
    bool mail_ok, is_mail, mdet_ok, ftext_found, linkable_ok, linkable;
    uint64_t *mh;
    uint32_t n_mh, cap_mh;
    uint64_t *mh_set;
    uint32_t mh_set_cap;
    bool mh_set_ok;
    double mops;
    uint32_t n_mfolders;
} refw;

typedef struct ref_sfact {
    bool present, mail, signin, lite, rest, has_time, need_sha;
    double t, ops;
    uint32_t n_folders, n_msg;
    vg_buf strs;
    uint64_t *msgs;
} ref_sfact;

typedef struct first_val_r {
    vg_buf *out;
    vg_buf *tmp;
    bool found;
} first_val_r;

static int r_first_val_cb(void *ud, const vg_jval *v)
{
    first_val_r *f = ud;
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

static void r_field_text(refw *w, const vg_eventinfo *ei, const char *field, vg_buf *out)
{
    uint32_t n = 1;
    const char *const *paths = w->fmap ? vg__fieldmap_paths(w->fmap, ei->map_id, field, &n) : &field;
    first_val_r f = {out, &w->ft_tmp, false};
    for (uint32_t i = 0; i < n && !f.found; i++)
        vg__json_path_each(w->tape, 0, paths[i], strlen(paths[i]), w->js, r_first_val_cb, &f);
    w->ftext_found = f.found;
    if (!f.found)
        vg__buf_addc(out, '-');
}

typedef struct mr_ctx_r {
    refw *w;
    vg_buf *tmp;
    vg_buf *folders;
} mr_ctx_r;

static int r_mr_id_cb(void *ud, const vg_jval *v)
{
    mr_ctx_r *x = ud;
    refw *w = x->w;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING)
        return 0;
    size_t l;
    const char *s = vg__json_str(v->tape, v->tok, x->tmp, &l);
    uint64_t h = vg__hash64(s, l, 0);
    if (w->n_mh < 32) {
        for (uint32_t i = 0; i < w->n_mh; i++)
            if (w->mh[i] == h)
                return 0;
    } else {
        if (w->n_mh * 2 >= w->mh_set_cap || !w->mh_set_ok) {
            uint32_t nc = w->mh_set_cap ? w->mh_set_cap : 128;
            while (nc <= w->n_mh * 2)
                nc *= 2;
            if (nc != w->mh_set_cap) {
                uint64_t *ns = realloc(w->mh_set, nc * sizeof *ns);
                if (!ns)
                    return 0;
                w->mh_set = ns;
                w->mh_set_cap = nc;
            }
            memset(w->mh_set, 0, nc * sizeof *w->mh_set);
            for (uint32_t i = 0; i < w->n_mh; i++) {
                uint32_t j = (uint32_t)(w->mh[i] & (nc - 1));
                while (w->mh_set[j])
                    j = (j + 1) & (nc - 1);
                w->mh_set[j] = w->mh[i];
            }
            w->mh_set_ok = true;
        }
        uint32_t j = (uint32_t)(h & (w->mh_set_cap - 1));
        while (w->mh_set[j]) {
            if (w->mh_set[j] == h)
                return 0;
            j = (j + 1) & (w->mh_set_cap - 1);
        }
        w->mh_set[j] = h;
    }
    if (VG_GROW(w->mh, w->cap_mh, (size_t)w->n_mh + 1, 256))
        return 0;
    w->mh[w->n_mh++] = h;
    return 0;
}

static int r_mr_ops_cb(void *ud, const vg_jval *v)
{
    mr_ctx_r *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    double d;
    if ((k->type == VG_J_NUMBER || k->type == VG_J_STRING) &&
        vg__json_number(v->tape->src + k->off, k->len, &d) == VIGIE_OK)
        x->w->mops += d;
    return 0;
}

static int r_mr_folder_cb(void *ud, const vg_jval *v)
{
    mr_ctx_r *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || x->w->n_mfolders >= 32)
        return 0;
    size_t l;
    const char *s = vg__json_str(v->tape, v->tok, x->tmp, &l);
    vg__buf_adds(x->folders, x->w->n_mfolders ? ",\"" : "\"");
    vg__buf_add_json_str(x->folders, s, l);
    vg__buf_addc(x->folders, '"');
    vg__buf_add(&x->w->mfolders, s, l);
    vg__buf_addc(&x->w->mfolders, 0);
    x->w->n_mfolders++;
    return 0;
}

static void r_each_field(refw *w, const vg_eventinfo *ei, const char *field, vg_jval_fn fn,
                         void *ud)
{
    uint32_t n = 1;
    const char *const *paths = w->fmap ? vg__fieldmap_paths(w->fmap, ei->map_id, field, &n) : &field;
    for (uint32_t i = 0; i < n; i++)
        vg__json_path_each(w->tape, 0, paths[i], strlen(paths[i]), w->js, fn, ud);
}

static bool r_is_mail(refw *w, const vg_eventinfo *ei)
{
    if (w->mail_ok)
        return w->is_mail;
    w->mail_ok = true;
    w->is_mail = false;
    w->mdet_ok = false;
    if (!ei->product || strcmp(ei->product, "m365") != 0)
        return false;
    vg_buf *op = &w->ftext;
    vg__buf_reset(op);
    r_field_text(w, ei, "Operation", op);
    w->is_mail = op->data && strcmp(op->data, "MailItemsAccessed") == 0;
    return w->is_mail;
}

static bool r_ensure_mail(refw *w, const vg_eventinfo *ei)
{
    if (!r_is_mail(w, ei))
        return false;
    if (w->mdet_ok)
        return true;
    w->mdet_ok = true;
    w->n_mh = 0;
    w->mh_set_ok = false;
    w->mops = 0;
    w->n_mfolders = 0;
    vg__buf_reset(&w->mr_json);
    vg__buf_reset(&w->mfolders);
    vg_buf *folders = &w->mr_folders;
    vg__buf_reset(folders);
    mr_ctx_r x = {w, &w->mr_tmp, folders};
    r_each_field(w, ei, "Folders.FolderItems.InternetMessageId", r_mr_id_cb, &x);
    r_each_field(w, ei, "OperationCount", r_mr_ops_cb, &x);
    r_each_field(w, ei, "Folders.Path", r_mr_folder_cb, &x);
    vg__buf_printf(&w->mr_json,
                   ",\"messages_read\":{\"internet_message_ids\":%u,"
                   "\"operation_count\":%.0f,\"folders\":[%s]}",
                   w->n_mh, w->mops, folders->len ? folders->data : "");
    return true;
}

static void r_time_field(refw *w, vg_eventinfo *ei)
{
    if (ei->has_time || !w->time_field)
        return;
    vg_buf *tb = &w->ftext;
    vg__buf_reset(tb);
    r_field_text(w, ei, w->time_field, tb);
    double tv;
    char *end;
    if (!w->ftext_found || !tb->len)
        return;
    tv = strtod(tb->data, &end);
    if (*end == 0 && end != tb->data) {
        ei->time = tv > 1e11 ? tv / 1000 : tv;
        ei->has_time = true;
    } else if (vg__parse_time(tb->data, tb->len, &tv) == VIGIE_OK) {
        ei->time = tv;
        ei->has_time = true;
    }
}

static void r_add_clean(vg_buf *o, const char *s, size_t n)
{
    size_t at = o->len;
    vg__buf_add(o, s, n);
    for (size_t k = at; k < o->len; k++)
        if (o->data[k] == 0 || o->data[k] == 0x1f)
            o->data[k] = '?';
}

typedef struct ref_mfact {
    vg_buf tenant;
    double t;
    bool has_time, throttled, linkable;
} ref_mfact;

static bool r_mail_fact(refw *w, const vg_eventinfo *ei, ref_mfact *f)
{
    if (!r_is_mail(w, ei))
        return false;
    vg_buf *vp = &w->ftext;
    vg__buf_reset(&f->tenant);
    if (ei->tenant)
        r_add_clean(&f->tenant, ei->tenant, ei->tenant_len);
    else
        vg__buf_addc(&f->tenant, '-');
    f->t = ei->time;
    f->has_time = ei->has_time;
    vg__buf_reset(vp);
    r_field_text(w, ei, "OperationProperties.IsThrottled", vp);
    f->throttled = vp->data && vg__ascii_ieq(vp->data, vp->len, "true", 4);
    if (w->linkable_ok) {
        f->linkable = w->linkable;
        return true;
    }
    vg__buf_reset(vp);
    r_field_text(w, ei, "AppAccessContext.UniqueTokenId", vp);
    bool tok = vp->data && strcmp(vp->data, "-") != 0;
    vg__buf_reset(vp);
    r_field_text(w, ei, "SessionId", vp);
    f->linkable = tok || (vp->data && strcmp(vp->data, "-") != 0);
    return true;
}

static void r_first_of(refw *w, const vg_eventinfo *ei, const char *const *fields, size_t n,
                       vg_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = out->len;
        r_field_text(w, ei, fields[i], out);
        if (out->len != at + 1 || out->data[at] != '-') {
            for (size_t k = at; k < out->len; k++)
                if (out->data[k] == 0 || out->data[k] == 0x1f)
                    out->data[k] = '?';
            return;
        }
        out->len = at;
        out->data[at] = 0;
    }
    vg__buf_addc(out, '-');
}

/* vg__scan_record_fact, writing into one ref_sfact instead of the batch */
static void r_record_fact(refw *w, const vg_eventinfo *ei, uint32_t n_sig, bool full,
                          ref_sfact *f)
{
    static const char *const user_fields[] = {
        "MailboxOwnerUPN",   "UserId",
        "UserPrincipalName", "userPrincipalName",
        "Username",          "userIdentity.arn",
        "actor.alternateId", "protoPayload.authenticationInfo.principalEmail",
        "SubjectUserName"};
    static const char *const mail_session[] = {"SessionId", "AppAccessContext.AADSessionId"};
    static const char *const mail_token[] = {"AppAccessContext.UniqueTokenId"};
    static const char *const si_session[] = {"SessionId"};
    static const char *const si_token[] = {"UniqueTokenIdentifier"};
    const char *shape = vg__shape_name(ei->shape);
    bool signin = shape && !strncmp(shape, "signin", 6);
    bool mail = r_is_mail(w, ei);
    bool lite = mail && !n_sig && !full;
    if (mail && !lite)
        r_ensure_mail(w, ei);
    f->present = false;
    if (!mail && !signin && !n_sig)
        return;
    f->present = true;
    f->mail = mail;
    f->signin = signin;
    f->lite = lite;
    f->has_time = ei->has_time;
    f->t = ei->time;
    f->rest = false;
    f->n_folders = 0;
    f->n_msg = 0;
    f->ops = 0;
    vg_buf *o = &f->strs;
    vg__buf_reset(o);
    if (ei->tenant)
        r_add_clean(o, ei->tenant, ei->tenant_len);
    else
        vg__buf_addc(o, '-');
    vg__buf_addc(o, 0);
    static const char *const mail_user[] = {"MailboxOwnerUPN", "UserId"};
    static const char *const si_user[] = {"UserPrincipalName", "userPrincipalName"};
    if (mail)
        r_first_of(w, ei, mail_user, 2, o);
    else if (signin && !n_sig)
        vg__buf_addc(o, '-');
    else if (signin)
        r_first_of(w, ei, si_user, 2, o);
    else
        r_first_of(w, ei, user_fields, VG_ARRAY_LEN_R(user_fields), o);
    vg__buf_addc(o, 0);
    if (mail)
        r_first_of(w, ei, mail_session, 2, o);
    else
        r_first_of(w, ei, si_session, 1, o);
    vg__buf_addc(o, 0);
    if (mail)
        r_first_of(w, ei, mail_token, 1, o);
    else if (signin)
        r_first_of(w, ei, si_token, 1, o);
    else
        vg__buf_addc(o, '-');
    vg__buf_addc(o, 0);
    if (mail) {
        const char *se = o->data;
        se += strlen(se) + 1;
        se += strlen(se) + 1;
        const char *tk = se + strlen(se) + 1;
        w->linkable = strcmp(se, "-") != 0 || strcmp(tk, "-") != 0;
        w->linkable_ok = true;
    }
    static const char *const ipf[] = {"ClientIPAddress", "ClientIP",        "IPAddress",
                                      "ipAddress",       "callerIpAddress", "sourceIPAddress",
                                      "client_ip"};
    static const char *const uaf[] = {"UserAgent", "userAgent", "user_agent", "ClientInfoString"};
    static const char *const mail_ip[] = {"ClientIPAddress", "ClientIP"};
    static const char *const mail_ua[] = {"ClientInfoString"};
    if ((signin && !n_sig) || lite) {
        vg__buf_adds(o, "-");
        vg__buf_addc(o, 0);
        vg__buf_adds(o, "-");
        vg__buf_addc(o, 0);
        vg__buf_adds(o, "-");
        vg__buf_addc(o, 0);
        goto folders;
    }
    if (mail)
        r_first_of(w, ei, mail_ip, 2, o);
    else
        r_first_of(w, ei, ipf, VG_ARRAY_LEN_R(ipf), o);
    vg__buf_addc(o, 0);
    {
        size_t at = o->len;
        static const char *const appf[] = {"AppId", "appId"};
        static const char *const cappf[] = {"ClientAppId"};
        r_first_of(w, ei, appf, 2, o);
        vg__buf_addc(o, '|');
        r_first_of(w, ei, cappf, 1, o);
        if (o->len - at == 3 && !memcmp(o->data + at, "-|-", 3)) {
            o->len = at;
            vg__buf_addc(o, '-');
        }
    }
    vg__buf_addc(o, 0);
    if (mail)
        r_first_of(w, ei, mail_ua, 1, o);
    else
        r_first_of(w, ei, uaf, VG_ARRAY_LEN_R(uaf), o);
    vg__buf_addc(o, 0);
folders:
    if (mail && !lite) {
        vg__buf_add(o, w->mfolders.data ? w->mfolders.data : "", w->mfolders.len);
        f->n_folders = w->n_mfolders;
        f->ops = w->mops;
        f->msgs = w->mh;
        f->n_msg = w->n_mh;
        const char *ua = o->data;
        for (int k = 0; k < 6; k++)
            ua += strlen(ua) + 1;
        f->rest = strstr(ua, "Client=REST") != NULL;
    }
    f->need_sha = (mail && !lite) || n_sig;
}

static const char *const r_ip_fields[] = {"ClientIP",        "ClientIPAddress", "IPAddress",
                                          "callerIpAddress", "sourceIPAddress", "client_ip",
                                          "ipAddress"};
static const char *const r_ua_fields[] = {"UserAgent", "userAgent", "user_agent",
                                          "ClientInfoString", "http_user_agent"};
static const char *const r_token_fields[] = {"authorization", "headers.authorization",
                                             "access_token", "id_token", "token"};

/* ==== end of the pre-move reference ========================================================= */

static void refw_init(refw *w, const vg_fieldmap *fm, vg_jtape *t, vg_jscratch *js,
                      const char *time_field)
{
    memset(w, 0, sizeof *w);
    w->fmap = fm;
    w->tape = t;
    w->js = js;
    w->time_field = time_field;
    vg_buf *b[] = {&w->ftext, &w->ft_tmp, &w->mr_tmp, &w->mr_json, &w->mfolders, &w->mr_folders};
    for (size_t i = 0; i < VG_ARRAY_LEN(b); i++)
        vg__buf_init(b[i], 0);
}

static void refw_free(refw *w)
{
    vg_buf *b[] = {&w->ftext, &w->ft_tmp, &w->mr_tmp, &w->mr_json, &w->mfolders, &w->mr_folders};
    for (size_t i = 0; i < VG_ARRAY_LEN(b); i++)
        vg__buf_free(b[i]);
    free(w->mh);
    free(w->mh_set);
}

static void refw_begin(refw *w)
{
    w->mail_ok = w->linkable_ok = false;
}

/* The messages_read JSON member from the typed mail read: what the lead's switch renders
 * (the same text ensure_mail built). */
static void render_mail_read(vg_buf *o, const vg_mailread *mr)
{
    vg__buf_printf(o, ",\"messages_read\":{\"internet_message_ids\":%u,\"operation_count\":%.0f,"
                      "\"folders\":[",
                   mr->n_ids, mr->ops);
    for (uint32_t i = 0; i < mr->n_folders; i++) {
        vg__buf_adds(o, i ? ",\"" : "\"");
        vg__buf_add_json_str(o, mr->folders[i].p, mr->folders[i].len);
        vg__buf_addc(o, '"');
    }
    vg__buf_adds(o, "]}");
}

static uint64_t n_diffs;

#define DIFF(cond, ...)                                                                           \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            if (n_diffs++ < 20) {                                                                 \
                fprintf(stderr, "%s:%llu: ", where, (unsigned long long)line);                    \
                fprintf(stderr, __VA_ARGS__);                                                     \
                fputc('\n', stderr);                                                              \
            }                                                                                     \
        }                                                                                         \
    } while (0)

static bool sref_eq(vg_sref a, const char *b)
{
    return a.p && a.len == strlen(b) && !memcmp(a.p, b, a.len) && a.p[a.len] == 0;
}

/* The typed facts against the reference's NUL-separated ones. */
static void compare_facts(const char *where, uint64_t line, const ref_sfact *r, bool got,
                          const vg_rfacts *f, const char *mode)
{
    DIFF(r->present == got, "%s: present %d != %d", mode, r->present, got);
    if (!r->present || !got)
        return;
    DIFF(r->mail == f->mail && r->signin == f->signin && r->lite == f->lite &&
             r->rest == f->rest_client && r->has_time == f->has_time &&
             r->need_sha == f->need_sha,
         "%s: flags", mode);
    DIFF(!r->has_time || r->t == f->t, "%s: time", mode);
    const char *p = r->strs.data;
    const vg_sref *mine[7] = {&f->tenant, &f->user, &f->session, &f->token,
                              &f->ip,     &f->app,  &f->ua};
    static const char *const names[7] = {"tenant", "user", "session", "token", "ip", "app", "ua"};
    for (int i = 0; i < 7; i++) {
        DIFF(sref_eq(*mine[i], p), "%s: %s \"%s\" != \"%.*s\"", mode, names[i], p,
             (int)mine[i]->len, mine[i]->p);
        p += strlen(p) + 1;
    }
    DIFF(r->n_folders == f->n_folders, "%s: folders %u != %u", mode, r->n_folders, f->n_folders);
    for (uint32_t k = 0; k < r->n_folders && k < f->n_folders; k++) {
        DIFF(f->folders[k].len == strlen(p) && !memcmp(f->folders[k].p, p, f->folders[k].len),
             "%s: folder %u", mode, k);
        p += strlen(p) + 1;
    }
    DIFF(r->ops == f->ops, "%s: ops", mode);
    DIFF(r->n_msg == f->n_msgs && (!r->n_msg || !memcmp(r->msgs, f->msgs, r->n_msg * 8)),
         "%s: message ids %u != %u", mode, r->n_msg, f->n_msgs);
}

static void compare_paths(const char *where, uint64_t line, const vg_fieldmap *fm,
                          const vg_detect *d, const vg_eventinfo *ei, vg_dlist_id id,
                          const char *const *fields, size_t n_fields)
{
    uint32_t n;
    const vg_dpath *p = vg__detect_paths(d, ei, id, &n);
    uint32_t k = 0;
    for (size_t i = 0; i < n_fields; i++) {
        uint32_t m;
        const char *const *paths = vg__fieldmap_paths(fm, ei->map_id, fields[i], &m);
        for (uint32_t j = 0; j < m; j++, k++)
            DIFF(k < n && !strcmp(p[k].path, paths[j]) && p[k].len == strlen(paths[j]) &&
                     p[k].name == i,
                 "list %d path %u: %s", (int)id, k, paths[j]);
    }
    DIFF(k == n, "list %d: %u paths, reference %u", (int)id, n, k);
}

static bool skipped(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    return (n > 5 && !strcmp(base + n - 5, ".evtx")) || (n > 3 && !strcmp(base + n - 3, ".md")) ||
           !strcmp(base, "MANIFEST.csv") || !strcmp(base, "labels.csv") ||
           !strcmp(base, "labels.jsonl");
}

static bool sref_same(vg_sref a, vg_sref b)
{
    return a.len == b.len && !memcmp(a.p, b.p, a.len) && a.p[a.len] == 0;
}

/* A fact pushed into a batch's list comes back the same. */
static void roundtrip(const char *where, uint64_t line, vg_rfacts_list *l, const vg_rfacts *f)
{
    uint32_t idx = UINT32_MAX;
    DIFF(vg__rfacts_list_push(l, f, &idx) == VIGIE_OK && idx == l->n - 1, "list push");
    if (idx != l->n - 1)
        return;
    vg_rfacts g;
    vg_sref folders[VG_MAX_SESSION_FOLDERS];
    vg__rfacts_list_get(l, idx, &g, folders);
    bool same = g.mail == f->mail && g.signin == f->signin && g.lite == f->lite &&
                g.rest_client == f->rest_client && g.need_sha == f->need_sha &&
                g.has_time == f->has_time && (!g.has_time || g.t == f->t) && g.ops == f->ops &&
                g.n_msgs == f->n_msgs && g.n_folders == f->n_folders &&
                (!g.n_msgs || !memcmp(g.msgs, f->msgs, g.n_msgs * sizeof *g.msgs));
    const vg_sref *a[7] = {&f->tenant, &f->user, &f->session, &f->token, &f->ip, &f->app, &f->ua};
    const vg_sref *b[7] = {&g.tenant, &g.user, &g.session, &g.token, &g.ip, &g.app, &g.ua};
    for (int i = 0; i < 7 && same; i++)
        same = sref_same(*a[i], *b[i]);
    for (uint32_t i = 0; i < g.n_folders && same; i++)
        same = sref_same(f->folders[i], g.folders[i]);
    DIFF(same, "list roundtrip");
}

static vg_rfacts_list facts_list;

typedef struct counts {
    uint64_t records, mail, signin, folders, msgs, facts, throttled, linkable, times;
} counts;

/* One record through both; `pass` 1 counts allocations of the stage (the scratch is warm). */
static void one_record(const char *where, uint64_t line, const vg_fieldmap *fm,
                       const vg_detect *d, vg_detect_scratch *ds, refw *w, vg_jtape *t,
                       vg_jscratch *js, vg_buf *tmp, ref_sfact *rf, ref_mfact *rm, vg_buf *mj,
                       counts *c, unsigned long *allocs)
{
    vg__jscratch_reset(js);
    vg__buf_reset(tmp);
    vg_eventinfo ei;
    vg__shape_classify(fm, t, js, tmp, &ei);
    c->records++;
    /* the time field: as if the shape gave none (the only case where it applies) */
    vg_eventinfo e1 = ei, e2 = ei;
    e1.has_time = e2.has_time = false;
    r_time_field(w, &e1);
    unsigned long a0 = n_allocs;
    bool tf = vg__detect_time_field(d, ds, t, js, &e2);
    *allocs += n_allocs - a0;
    DIFF(e1.has_time == e2.has_time && e1.has_time == tf && (!tf || e1.time == e2.time),
         "time field");
    c->times += tf;
    static const struct {
        uint32_t n_sig;
        bool full, sess;
        const char *name;
    } modes[] = {{0, false, true, "no signal"},
                 {1, false, true, "a signal"},
                 {0, true, true, "full"},
                 {2, true, true, "full, signals"},
                 {0, false, false, "sessions off"}};
    for (size_t m = 0; m < VG_ARRAY_LEN(modes); m++) {
        refw_begin(w);
        vg_rfacts f;
        bool got = false;
        a0 = n_allocs;
        vg__detect_begin(ds, d, t, js, &ei);
        if (modes[m].sess)
            got = vg__detect_record_facts(ds, modes[m].n_sig, modes[m].full, &f);
        vg_mfact mf;
        bool gm = vg__detect_mail_fact(ds, &mf);
        *allocs += n_allocs - a0;
        if (modes[m].sess) {
            r_record_fact(w, &ei, modes[m].n_sig, modes[m].full, rf);
            compare_facts(where, line, rf, got, &f, modes[m].name);
            if (got) {
                a0 = n_allocs;
                roundtrip(where, line, &facts_list, &f);
                *allocs += n_allocs - a0;
            }
            if (m == 0 && got) {
                c->facts++;
                c->mail += f.mail;
                c->signin += f.signin;
            }
            if (got && f.n_folders)
                c->folders++;
            if (got && f.n_msgs)
                c->msgs++;
        }
        bool rmf = r_mail_fact(w, &ei, rm);
        DIFF(rmf == gm, "%s: mail fact %d != %d", modes[m].name, rmf, gm);
        if (rmf && gm) {
            DIFF(sref_eq(mf.tenant, rm->tenant.data), "%s: mail fact tenant", modes[m].name);
            DIFF(mf.has_time == rm->has_time && (!mf.has_time || mf.t == rm->t) &&
                     mf.throttled == rm->throttled && mf.linkable == rm->linkable,
                 "%s: mail fact flags (throttled %d/%d linkable %d/%d)", modes[m].name,
                 mf.throttled, rm->throttled, mf.linkable, rm->linkable);
            if (m == 4) {
                c->throttled += mf.throttled;
                c->linkable += mf.linkable;
            }
        }
        /* the mail read as an alert shows it */
        a0 = n_allocs;
        const vg_mailread *mr = vg__detect_mail_read(ds);
        *allocs += n_allocs - a0;
        bool rmr = r_ensure_mail(w, &ei);
        DIFF(rmr == (mr != NULL), "%s: mail read", modes[m].name);
        if (rmr && mr) {
            vg__buf_reset(mj);
            render_mail_read(mj, mr);
            DIFF(mj->len == w->mr_json.len && !memcmp(mj->data, w->mr_json.data, mj->len),
                 "%s: messages_read %s != %s", modes[m].name, mj->data, w->mr_json.data);
        }
    }
    compare_paths(where, line, fm, d, &ei, VG_DL_INDICATOR_ADDRESS, r_ip_fields,
                  VG_ARRAY_LEN(r_ip_fields));
    compare_paths(where, line, fm, d, &ei, VG_DL_INDICATOR_USER_AGENT, r_ua_fields,
                  VG_ARRAY_LEN(r_ua_fields));
    compare_paths(where, line, fm, d, &ei, VG_DL_BEARER_TOKEN, r_token_fields,
                  VG_ARRAY_LEN(r_token_fields));
}

static void test_equivalence(void)
{
    static const char *const shared_dirs[] = {"azure-sentinel-training-lab",
                                              "azure-sentinel-notebooks", "panther-analysis-tests"};
    char paths[8][512];
    const char *args[8];
    uint32_t n_args = 0;
    /* VIGIE_DETECT_EXTRA: one more directory (tests/cli/test_detect_scenario.sh gives a
     * simulated scenario: thousands of mail reads and sign-ins) */
    const char *extra = getenv("VIGIE_DETECT_EXTRA");
    if (extra && *extra)
        snprintf(paths[n_args], sizeof paths[0], "%s", extra), args[n_args] = paths[n_args],
            n_args++;
    for (size_t i = 0; i < VG_ARRAY_LEN(shared_dirs); i++) {
        shared_path(paths[n_args], sizeof paths[0], "datasets/%s", shared_dirs[i]);
        args[n_args] = paths[n_args];
        n_args++;
    }
    snprintf(paths[n_args], sizeof paths[0], "%s/tests/data/demo", VIGIE_SOURCE_DIR);
    args[n_args] = paths[n_args];
    n_args++;
    snprintf(paths[n_args], sizeof paths[0], "%s/tests/data/ingest", VIGIE_SOURCE_DIR);
    args[n_args] = paths[n_args];
    n_args++;
    vg_inputs in = {0};
    CHECK_EQ_INT(vg__inputs_expand(&in, args, n_args, NULL, NULL), VIGIE_OK);
    vg_fieldmap *fm = NULL;
    CHECK_EQ_INT(vg__fieldmap_load_builtin(&fm, NULL, NULL), VIGIE_OK);
    vg_detect *d = NULL;
    vg_detect_opts o = {.time_field = "CreationTime"};
    CHECK_EQ_INT(vg__detect_new(fm, &o, NULL, NULL, &d), VIGIE_OK);
    if (!fm || !d)
        return;
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jscratch *js = vg__jscratch_new();
    vg_detect_scratch *ds = vg__detect_scratch_new();
    vg_buf tmp, mj;
    vg__buf_init(&tmp, 0);
    vg__buf_init(&mj, 0);
    refw w;
    refw_init(&w, fm, &t, js, "CreationTime");
    ref_sfact rf;
    memset(&rf, 0, sizeof rf);
    vg__buf_init(&rf.strs, 0);
    ref_mfact rm;
    memset(&rm, 0, sizeof rm);
    vg__buf_init(&rm.tenant, 0);
    counts c = {0};
    vg__rfacts_list_init(&facts_list);
    unsigned long warm_allocs = 0, cold_allocs = 0;
    uint32_t n_files = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < in.n; i++) {
            if (skipped(in.paths[i]))
                continue;
            n_files += !pass;
            vg_reader *r = NULL;
            if (vg__reader_open(&r, in.paths[i], NULL) != VIGIE_OK)
                continue;
            vg_record rec;
            while (vg__reader_next(r, &rec) == VIGIE_OK) {
                vg_jerr err;
                if (vg__json_parse(&t, rec.data, rec.len, &err) != VIGIE_OK ||
                    t.tok[0].type != VG_J_OBJECT)
                    continue;
                one_record(in.paths[i], rec.src.line, fm, d, ds, &w, &t, js, &tmp, &rf, &rm, &mj,
                           &c, pass ? &warm_allocs : &cold_allocs);
            }
            vg__reader_close(r);
            vg__rfacts_list_reset(&facts_list); /* one "batch" per file */
        }
        if (!pass)
            fprintf(stderr, "equivalence: %u files, %llu records, %llu facts (%llu mail reads, "
                            "%llu sign-ins), %llu with folders, %llu with message ids, "
                            "%llu throttled, %llu linkable, %llu timed by --time-field\n",
                    n_files, (unsigned long long)c.records, (unsigned long long)c.facts,
                    (unsigned long long)c.mail, (unsigned long long)c.signin,
                    (unsigned long long)c.folders, (unsigned long long)c.msgs,
                    (unsigned long long)c.throttled, (unsigned long long)c.linkable,
                    (unsigned long long)c.times);
    }
    fprintf(stderr, "allocations in the stage: %lu on the first pass, %lu on the second%s\n",
            cold_allocs, warm_allocs, COUNTING ? "" : " (not counted under a sanitizer)");
    if (COUNTING)
        CHECK(cold_allocs > 0); /* the counter counts */
    CHECK_MSG(n_diffs == 0, "%llu differences from the pre-move reference",
              (unsigned long long)n_diffs);
    /* the comparison means something only if every kind of record was there */
    CHECK(n_files >= 30);
    CHECK(c.records > 2000);
    CHECK(c.mail >= (extra && *extra ? 1000u : 10u));
    CHECK(c.signin >= (extra && *extra ? 1000u : 70u));
    CHECK(c.folders >= 5);
    CHECK(c.msgs >= 5);
    CHECK(c.linkable >= 5);
    CHECK(c.times >= 10);
    if (COUNTING)
        CHECK_MSG(warm_allocs == 0, "%lu allocations in the stage on the second pass (first: %lu)",
                  warm_allocs, cold_allocs);
    vg__rfacts_list_free(&facts_list);
    vg__buf_free(&rf.strs);
    vg__buf_free(&rm.tenant);
    vg__buf_free(&tmp);
    vg__buf_free(&mj);
    refw_free(&w);
    vg__detect_scratch_free(ds);
    vg__jscratch_free(js);
    vg__jtape_free(&t);
    vg__detect_free(d);
    vg__fieldmap_free(fm);
    vg__inputs_free(&in);
}

/* ---- hostile and edge values ---------------------------------------------------------------- */

typedef struct fx {
    vg_fieldmap *fm;
    vg_detect *d;
    vg_detect_scratch *s;
    vg_jtape t;
    vg_jscratch *js;
    vg_buf tmp;
    vg_eventinfo ei;
} fx;

static void fx_init(fx *x)
{
    memset(x, 0, sizeof *x);
    CHECK_EQ_INT(vg__fieldmap_load_builtin(&x->fm, NULL, NULL), VIGIE_OK);
    vg_detect_opts o = {.time_field = "ts"};
    CHECK_EQ_INT(vg__detect_new(x->fm, &o, NULL, NULL, &x->d), VIGIE_OK);
    x->s = vg__detect_scratch_new();
    x->js = vg__jscratch_new();
    vg__jtape_init(&x->t);
    vg__buf_init(&x->tmp, 0);
}

static void fx_free(fx *x)
{
    vg__buf_free(&x->tmp);
    vg__jtape_free(&x->t);
    vg__jscratch_free(x->js);
    vg__detect_scratch_free(x->s);
    vg__detect_free(x->d);
    vg__fieldmap_free(x->fm);
}

/* Parse and classify json, start the record. */
static bool fx_rec(fx *x, const char *json, size_t len)
{
    vg_jerr err;
    if (vg__json_parse(&x->t, json, len, &err) != VIGIE_OK) {
        CHECK_MSG(0, "bad test JSON: %s", err.msg);
        return false;
    }
    vg__jscratch_reset(x->js);
    vg__buf_reset(&x->tmp);
    vg__shape_classify(x->fm, &x->t, x->js, &x->tmp, &x->ei);
    vg__detect_time_field(x->d, x->s, &x->t, x->js, &x->ei);
    vg__detect_begin(x->s, x->d, &x->t, x->js, &x->ei);
    return true;
}

#define MAIL_HEAD                                                                                  \
    "{\"CreationTime\":\"2024-05-01T10:00:00\",\"Operation\":\"MailItemsAccessed\","             \
    "\"RecordType\":50,\"Workload\":\"Exchange\",\"OrganizationId\":\"t1\""

static void test_mail_read(void)
{
    fx x;
    fx_init(&x);
    const char *j = MAIL_HEAD ",\"MailboxOwnerUPN\":\"-\",\"UserId\":\"bob@x\","
                              "\"AppAccessContext\":{\"AADSessionId\":\"s1\"},"
                              "\"ClientIPAddress\":\"1.2.3.4\",\"ClientInfoString\":\"Client=REST;x\","
                              "\"AppId\":\"a1\",\"OperationCount\":\"3\","
                              "\"OperationProperties\":[{\"Name\":\"IsThrottled\",\"Value\":\"TRUE\"}],"
                              "\"Folders\":[{\"Path\":\"\\\\Inbox\",\"FolderItems\":["
                              "{\"InternetMessageId\":\"<a>\"},{\"InternetMessageId\":\"<b>\"},"
                              "{\"InternetMessageId\":\"<a>\"}]},{\"Path\":\"\\\\Sent\"}]}";
    if (fx_rec(&x, j, strlen(j))) {
        CHECK(vg__detect_is_mail(x.s));
        vg_rfacts f;
        /* a mail read without signal: only what the join needs */
        CHECK(vg__detect_record_facts(x.s, 0, false, &f));
        CHECK(f.mail && f.lite && !f.signin && !f.need_sha);
        CHECK_EQ_STR(f.user.p, "bob@x"); /* "-" is no value: the next field */
        CHECK_EQ_STR(f.session.p, "s1");
        CHECK_EQ_STR(f.token.p, "-");
        CHECK_EQ_STR(f.ip.p, "-");
        CHECK_EQ_INT(f.n_msgs, 0);
        CHECK(vg__detect_record_facts(x.s, 0, true, &f));
        CHECK(!f.lite && f.need_sha && f.rest_client);
        CHECK_EQ_STR(f.tenant.p, "t1");
        CHECK_EQ_STR(f.ip.p, "1.2.3.4");
        CHECK_EQ_STR(f.app.p, "a1|-");
        CHECK_EQ_STR(f.ua.p, "Client=REST;x");
        CHECK_EQ_INT(f.n_msgs, 2);
        CHECK(f.ops == 3);
        CHECK_EQ_INT(f.n_folders, 2);
        CHECK(f.n_folders == 2 && f.folders[0].len == 6 && !memcmp(f.folders[0].p, "\\Inbox", 6));
        vg_mfact m;
        CHECK(vg__detect_mail_fact(x.s, &m));
        CHECK(m.throttled && m.linkable && m.has_time);
        CHECK_EQ_STR(m.tenant.p, "t1");
    }
    /* sessions off: linkable from the `linkable` list (SessionId, UniqueTokenId), which does
     * not hold AADSessionId */
    if (fx_rec(&x, j, strlen(j))) {
        vg_mfact m;
        CHECK(vg__detect_mail_fact(x.s, &m));
        CHECK(!m.linkable);
    }
    fx_free(&x);
}

static void test_hostile_values(void)
{
    fx x;
    fx_init(&x);
    /* NUL and \u001f in the tenant and the user become '?'; a folder keeps its bytes */
    const char *j = "{\"CreationTime\":\"2024-05-01T10:00:00\",\"RecordType\":50,"
                    "\"Operation\":\"MailItemsAccessed\",\"OrganizationId\":\"t\\u0000\\u001fz\","
                              "\"MailboxOwnerUPN\":\"a\\u0000b\\u001fc\",\"SessionId\":\"\","
                              "\"Folders\":[{\"Path\":\"x\\u0000y\"}]}";
    if (fx_rec(&x, j, strlen(j))) {
        vg_rfacts f;
        CHECK(vg__detect_record_facts(x.s, 1, false, &f));
        CHECK_EQ_INT(f.tenant.len, 4);
        CHECK_EQ_STR(f.tenant.p, "t??z");
        CHECK_EQ_STR(f.user.p, "a?b?c");
        CHECK_EQ_INT(f.session.len, 0); /* "" is a value */
        CHECK(f.n_folders == 1 && f.folders[0].len == 3 && !memcmp(f.folders[0].p, "x\0y", 3));
        vg_mfact m;
        CHECK(vg__detect_mail_fact(x.s, &m) && m.linkable && !m.throttled);
        CHECK_EQ_STR(m.tenant.p, "t??z");
    }
    /* arrays and objects where strings are expected: an array gives its first element, an
     * empty array or an object is no value (the next field is tried) */
    j = "{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"eventVersion\":\"1\","
        "\"MailboxOwnerUPN\":[],\"UserId\":{\"x\":1},\"UserPrincipalName\":[\"u1\",\"u2\"],"
        "\"SessionId\":[[1]],\"sourceIPAddress\":[\"9.9.9.9\"],\"AppId\":true,\"ClientAppId\":7}";
    if (fx_rec(&x, j, strlen(j))) {
        CHECK_EQ_INT(x.ei.shape, VG_SHAPE_CLOUDTRAIL);
        vg_rfacts f;
        CHECK(!vg__detect_record_facts(x.s, 0, false, &f)); /* no mail, no sign-in, no signal */
        CHECK(vg__detect_record_facts(x.s, 1, false, &f));
        CHECK_EQ_STR(f.user.p, "u1");
        CHECK_EQ_STR(f.session.p, "-");
        CHECK_EQ_STR(f.token.p, "-");
        CHECK_EQ_STR(f.ip.p, "9.9.9.9");
        CHECK_EQ_STR(f.app.p, "true|7");
        CHECK_EQ_STR(f.ua.p, "-");
        CHECK(!vg__detect_is_mail(x.s) && !vg__detect_mail_read(x.s));
    }
    /* everything missing */
    j = "{}";
    if (fx_rec(&x, j, strlen(j))) {
        vg_rfacts f;
        CHECK(vg__detect_record_facts(x.s, 3, true, &f));
        CHECK(!f.mail && !f.signin && f.need_sha && !f.has_time);
        vg_sref *all[] = {&f.tenant, &f.user, &f.session, &f.token, &f.ip, &f.app, &f.ua};
        for (size_t i = 0; i < VG_ARRAY_LEN(all); i++)
            CHECK_EQ_STR(all[i]->p, "-");
        vg_mfact m;
        CHECK(!vg__detect_mail_fact(x.s, &m));
    }
    /* a huge user, many message ids (past the short list), more folders than the cap */
    vg_buf big;
    vg__buf_init(&big, 0);
    vg__buf_adds(&big, MAIL_HEAD ",\"MailboxOwnerUPN\":\"");
    for (int i = 0; i < 1 << 20; i++)
        vg__buf_addc(&big, (char)('a' + i % 26));
    vg__buf_adds(&big, "\",\"Folders\":[");
    for (int i = 0; i < 50; i++) {
        vg__buf_printf(&big, "%s{\"Path\":\"f%d\",\"FolderItems\":[", i ? "," : "", i);
        for (int k = 0; k < 40; k++)
            vg__buf_printf(&big, "%s{\"InternetMessageId\":\"<m%d>\"}", k ? "," : "",
                           (i * 40 + k) % 1500);
        vg__buf_adds(&big, "]}");
    }
    vg__buf_adds(&big, "]}");
    CHECK(!vg__buf_failed(&big));
    if (fx_rec(&x, big.data, big.len)) {
        vg_rfacts f;
        CHECK(vg__detect_record_facts(x.s, 1, false, &f));
        CHECK_EQ_INT(f.user.len, 1u << 20);
        CHECK_EQ_INT(strlen(f.user.p), 1u << 20);
        CHECK_EQ_INT(f.n_msgs, 1500);
        CHECK_EQ_INT(f.n_folders, VG_MAX_SESSION_FOLDERS);
        CHECK(f.n_folders == VG_MAX_SESSION_FOLDERS && !strcmp(f.folders[31].p, "f31"));
        bool distinct = true;
        for (uint32_t i = 0; i < f.n_msgs && distinct; i++)
            for (uint32_t k = 0; k < i && distinct; k++)
                distinct = f.msgs[i] != f.msgs[k];
        CHECK(distinct);
    }
    vg__buf_free(&big);
    /* a sign-in without signal feeds the join only; with one, it names its user */
    j = "{\"Type\":\"SigninLogs\",\"TimeGenerated\":\"2024-05-01T10:00:00Z\",\"TenantId\":\"t\","
        "\"UserPrincipalName\":\"u@x\",\"SessionId\":\"s\",\"UniqueTokenIdentifier\":\"k\","
        "\"IPAddress\":\"5.5.5.5\",\"AppId\":\"a\",\"UserAgent\":\"ua\"}";
    if (fx_rec(&x, j, strlen(j))) {
        vg_rfacts f;
        CHECK(vg__detect_record_facts(x.s, 0, false, &f));
        CHECK(f.signin && !f.need_sha);
        CHECK_EQ_STR(f.user.p, "-");
        CHECK_EQ_STR(f.session.p, "s");
        CHECK_EQ_STR(f.token.p, "k");
        CHECK_EQ_STR(f.ip.p, "-");
        CHECK(vg__detect_record_facts(x.s, 1, false, &f));
        CHECK_EQ_STR(f.user.p, "u@x");
        CHECK_EQ_STR(f.ip.p, "5.5.5.5");
        CHECK_EQ_STR(f.app.p, "a|-");
        CHECK_EQ_STR(f.ua.p, "ua");
    }
    /* --time-field on a record of unknown shape: milliseconds, ISO 8601, junk */
    j = "{\"ts\":1714557600000}";
    if (fx_rec(&x, j, strlen(j)))
        CHECK(x.ei.has_time && x.ei.time == 1714557600);
    j = "{\"ts\":\"2024-05-01T10:00:00Z\"}";
    if (fx_rec(&x, j, strlen(j)))
        CHECK(x.ei.has_time && x.ei.time == 1714557600);
    j = "{\"ts\":\"soon\"}";
    if (fx_rec(&x, j, strlen(j)))
        CHECK(!x.ei.has_time);
    fx_free(&x);
}

static void test_paths_resolved_once(void)
{
    fx x;
    fx_init(&x);
    /* OfficeActivity renames ClientIPAddress to Client_IPAddress: the compiled list has it */
    const char *j = "{\"Operation\":\"MailItemsAccessed\",\"OfficeWorkload\":\"Exchange\","
                    "\"TimeGenerated\":\"2024-05-01T10:00:00Z\",\"Client_IPAddress\":\"7.7.7.7\"}";
    if (fx_rec(&x, j, strlen(j))) {
        CHECK_EQ_INT(x.ei.shape, VG_SHAPE_OFFICEACTIVITY);
        uint32_t n;
        const vg_dpath *p = vg__detect_paths(x.d, &x.ei, VG_DL_MAIL_ADDRESS, &n);
        CHECK(n >= 3 && !strcmp(p[0].path, "Client_IPAddress") && p[0].name == 0);
        vg_rfacts f;
        CHECK(vg__detect_record_facts(x.s, 1, false, &f));
        CHECK_EQ_STR(f.ip.p, "7.7.7.7");
        p = vg__detect_paths(x.d, &x.ei, VG_DL_COUNT, &n);
        CHECK(n == 0 && p);
        /* a record alert's user: top-level member names as written, on every shape */
        static const char *const au[] = {"UserId", "userPrincipalName", "MailboxOwnerUPN"};
        p = vg__detect_paths(x.d, &x.ei, VG_DL_ALERT_USER, &n);
        CHECK_EQ_INT(n, 3);
        for (uint32_t i = 0; i < n && i < 3; i++)
            CHECK(p[i].len == strlen(au[i]) && !strcmp(p[i].path, au[i]) && p[i].name == i);
    }
    fx_free(&x);
}

static int n_diag;
static char diag_msg[256];
static uint64_t diag_line;
static void on_diag(void *ud, const vigie_diag *dg)
{
    (void)ud;
    n_diag++;
    diag_line = dg->line;
    snprintf(diag_msg, sizeof diag_msg, "%s", dg->message ? dg->message : "");
}

static void test_bad_fact_files(void)
{
    static const struct {
        const char *yaml, *msg;
        uint64_t line;
    } cases[] = {
        {"shape: m365_ual\nusr: [a]\n", "unknown key: usr", 2},
        {"shape: nosuch\n", "unknown shape: nosuch", 1},
        {"user: [a]\n", "a section needs 'shape'", 1},
        {"shape: okta\nuser: {a: b}\n", "a list of field names is expected: user", 2},
        {"shape: okta\nmail_read: {when: Operation}\n", "'mail_read' needs 'when' and 'equals'", 2},
        {"shape: signin_la\n", "a shape is in two sections: signin_la", 0},
        {"shape: default\n", "more than one default section", 0},
        {"shape: [okta\n", NULL, 0},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        n_diag = 0;
        vg_detect *d = (vg_detect *)1;
        vg_detect_opts o = {.extra_yaml = cases[i].yaml, .extra_len = strlen(cases[i].yaml)};
        CHECK_EQ_INT(vg__detect_new(NULL, &o, on_diag, NULL, &d), VIGIE_YAML);
        CHECK(d == NULL);
        CHECK_EQ_INT(n_diag, 1);
        if (cases[i].msg) {
            CHECK_MSG(strstr(diag_msg, cases[i].msg) != NULL, "case %zu: %s", i, diag_msg);
            CHECK_EQ_INT(diag_line, cases[i].line);
        }
    }
    /* a good extra section replaces the lists it names, keeps the default's others */
    const char *y = "shape: okta\nuser: [who]\n";
    vg_detect *d = NULL;
    vg_detect_opts o = {.extra_yaml = y, .extra_len = strlen(y)};
    CHECK_EQ_INT(vg__detect_new(NULL, &o, on_diag, NULL, &d), VIGIE_OK);
    if (d) {
        vg_eventinfo ei = {.shape = VG_SHAPE_OKTA};
        uint32_t n;
        const vg_dpath *p = vg__detect_paths(d, &ei, VG_DL_USER, &n);
        CHECK(n == 1 && !strcmp(p[0].path, "who"));
        p = vg__detect_paths(d, &ei, VG_DL_BEARER_TOKEN, &n);
        CHECK(n == 5 && !strcmp(p[0].path, "authorization"));
    }
    vg__detect_free(d);
}

int main(void)
{
    RUN(test_mail_read);
    RUN(test_hostile_values);
    RUN(test_paths_resolved_once);
    RUN(test_bad_fact_files);
    RUN(test_equivalence);
    return TEST_DONE();
}
