/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c: one combined alert per (tenant, user, session or day). Stage: correlate, fed by
 * `vigie scan`'s writer in read order.
 *
 * The 2023 campaign left, at each victim, a few signals that were weak alone: an application
 * reading mail for the first time, a token that no sign-in issued, an address on a list, the
 * actor's working hours. This module gathers them per session (SessionId / AADSessionId; the
 * token id when only that is known; the UTC day when the record carries neither) and scores
 * the group. Sign-ins with linkable identifiers are remembered per tenant (a hash set of
 * SessionId and UniqueTokenIdentifier with their first and last time); at the end of input
 * every linkable mailbox access is joined to them, so the order of the files does not matter.
 * An access without identifiers, or in a tenant whose sign-ins were not given, is
 * "unlinkable": it cannot be cleared, and it counts as a weak signal, never as innocent.
 *
 * Memory: a group exists only for records that carry a signal or still need the join (an
 * access with identifiers not yet seen in sign-ins, or an unlinkable one); benign accesses
 * whose sign-in is already known cost nothing. Groups are bounded by VG_MAX_SESSIONS (when
 * full, the oldest eighth is dropped, groups without a signal first, and counted); per group,
 * distinct message ids are kept exactly up to VG_MAX_SESSION_MSGS, evidence up to
 * VG_MAX_SESSION_EVIDENCE records. A group's key (tenant, user, session, token or day) is kept
 * whole, however long: keys compare in full, so distinct users never share a group. Scoring is
 * documented in docs/DETECTIONS.md. Not thread-safe.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "util/limits.h"
#include "util/util.h"

typedef struct sig {
    char *name, *kind, *rule;
    int level; /* VG_SL_* */
    uint64_t records;
    char *family;
} sig;

/* Accesses waiting for the end-of-input join, one entry per distinct (session, token): the
 * accesses it stands for and their first and last time (NAN: some had no time). */
typedef struct pend_id {
    uint64_t session, token; /* hashes, 0 = absent */
    double t0, t1;
    uint64_t n, untimed;
} pend_id;

typedef struct group {
    char *key;
    uint64_t hash;
    char *tenant, *user, *session, *day;
    double first, last;
    uint64_t records, mail, unlinkable, actor_hours, rest;
    uint64_t seq; /* creation order: output order and eviction age */
    sig *sigs;    /* up to VG_MAX_SESSION_SIGNALS */
    uint32_t n_sigs, cap_sigs;
    pend_id *pend;
    uint32_t n_pend, cap_pend;
    uint64_t pend_overflow, matched;
    uint64_t *msgs; /* open-addressing set of message-id hashes (0 = empty) */
    uint32_t cap_msgs, n_msgs;
    bool msgs_capped;
    double ops;
    char **folders; /* up to VG_MAX_SESSION_FOLDERS */
    uint32_t n_folders;
    vg_sess_evidence *ev;
    uint32_t n_ev, cap_ev;
    char **infra[3]; /* ips, apps, uas: up to VG_SESS_INFRA each */
    uint32_t n_infra[3];
    uint64_t ev_omitted;
} group;

typedef struct signin {
    uint64_t hash;        /* of tenant \x1f id; 0 = empty */
    uint32_t first, last; /* Unix seconds of its first and last sign-in (16 bytes a slot) */
} signin;

typedef struct tenant_si {
    char *tenant;
    uint64_t signins;
} tenant_si;

struct vg_sessions {
    vg_sess_opts o;
    group **g; /* open addressing on group key hash */
    uint64_t cap, n, seq;
    signin *si;
    uint64_t si_cap, si_n;
    uint64_t si_dropped; /* ids not remembered: the set was full (the join degrades) */
    tenant_si *ts;
    uint32_t n_ts, cap_ts;
    vg_hmap ts_idx; /* tenant (borrowed from ts[i].tenant) -> i */
    uint64_t evicted, signins;
    vg_buf key; /* the current record's group key, reused (no allocation per record) */
};

static uint64_t id_hash(const char *tenant, const char *id)
{
    uint64_t h = vg__hash64(tenant, strlen(tenant), 0xcbf29ce484222325ull);
    h = vg__hash64("\x1f", 1, h);
    return vg__hash64(id, strlen(id), h);
}

static bool present(const char *s)
{
    return s && *s && strcmp(s, "-") != 0;
}

int vg__sessions_new(const vg_sess_opts *o, vg_sessions **out)
{
    vg_sessions *s = calloc(1, sizeof *s);
    if (!s)
        return VIGIE_NOMEM;
    if (o)
        s->o = *o;
    vg__buf_init(&s->key, 0); /* whole keys: bounded by the record, never cut */
    if (s->o.signin_window_s <= 0)
        s->o.signin_window_s = 86400;
    if (s->o.session_window_s <= 0)
        s->o.session_window_s = 30 * 86400.0;
    if (!s->o.actor_days)
        s->o.actor_days = 0x1f; /* Monday to Friday */
    if (s->o.actor_h0 == 0 && s->o.actor_h1 == 0)
        s->o.actor_h1 = 9;
    s->cap = 1024;
    s->g = calloc(s->cap, sizeof *s->g);
    s->si_cap = 1024;
    s->si = calloc(s->si_cap, sizeof *s->si);
    if (!s->g || !s->si) {
        vg__sessions_free(s);
        return VIGIE_NOMEM;
    }
    *out = s;
    return VIGIE_OK;
}

static void group_free(group *g)
{
    if (!g)
        return;
    free(g->key);
    free(g->tenant);
    free(g->user);
    free(g->session);
    free(g->day);
    for (uint32_t i = 0; i < g->n_sigs; i++) {
        free(g->sigs[i].name);
        free(g->sigs[i].kind);
        free(g->sigs[i].rule);
        free(g->sigs[i].family);
    }
    for (uint32_t i = 0; i < g->n_folders; i++)
        free(g->folders[i]);
    free(g->folders);
    free(g->sigs);
    for (uint32_t i = 0; i < g->n_ev; i++) {
        free(g->ev[i].alert_ids);
    }
    free(g->ev);
    for (int k = 0; k < 3; k++) {
        for (uint32_t i = 0; i < g->n_infra[k]; i++)
            free(g->infra[k][i]);
        free(g->infra[k]);
    }
    free(g->pend);
    free(g->msgs);
    free(g);
}

void vg__sessions_free(vg_sessions *s)
{
    if (!s)
        return;
    for (uint64_t i = 0; i < s->cap; i++)
        group_free(s->g[i]);
    free(s->g);
    free(s->si);
    for (uint32_t i = 0; i < s->n_ts; i++)
        free(s->ts[i].tenant);
    free(s->ts);
    vg__hmap_free(&s->ts_idx);
    vg__buf_free(&s->key);
    free(s);
}

/* ---- sign-ins ------------------------------------------------------------------------------- */

static signin *si_find(vg_sessions *s, uint64_t h, bool add)
{
    uint64_t max = s->o.max_signin_ids ? s->o.max_signin_ids : VG_MAX_SIGNIN_IDS;
    if (add && s->si_n < max && (s->si_n + 1) * 2 > s->si_cap) { /* never grows past max */
        uint64_t nc = s->si_cap * 2;
        signin *n = calloc(nc, sizeof *n);
        if (!n)
            return NULL;
        for (uint64_t i = 0; i < s->si_cap; i++)
            if (s->si[i].hash) {
                uint64_t j = s->si[i].hash & (nc - 1);
                while (n[j].hash)
                    j = (j + 1) & (nc - 1);
                n[j] = s->si[i];
            }
        free(s->si);
        s->si = n;
        s->si_cap = nc;
    }
    uint64_t j = h & (s->si_cap - 1);
    while (s->si[j].hash) {
        if (s->si[j].hash == h)
            return &s->si[j];
        j = (j + 1) & (s->si_cap - 1);
    }
    if (!add)
        return NULL;
    if (s->si_n >= max || (s->si_n + 1) * 2 > s->si_cap) {
        s->si_dropped++;
        return NULL;
    }
    s->si[j].hash = h;
    s->si[j].first = UINT32_MAX;
    s->si[j].last = 0;
    s->si_n++;
    return &s->si[j];
}

static tenant_si *tenant_entry(vg_sessions *s, const char *tenant, bool add)
{
    /* hashed: logs of many tenants cost no more per sign-in than those of one */
    size_t len = strlen(tenant);
    vg_hmap_slot *e = vg__hmap_find(&s->ts_idx, tenant, len);
    if (e)
        return &s->ts[e->val.idx];
    if (!add)
        return NULL;
    if (VG_GROW(s->ts, s->cap_ts, (size_t)s->n_ts + 1, 16))
        return NULL;
    tenant_si *t = &s->ts[s->n_ts];
    t->tenant = strdup(tenant);
    bool added;
    if (!t->tenant || vg__hmap_put(&s->ts_idx, t->tenant, len, &e, &added)) {
        free(t->tenant);
        return NULL;
    }
    t->signins = 0;
    e->val.idx = s->n_ts++;
    return t;
}

void vg__sessions_signin(vg_sessions *s, const char *tenant, const char *session, const char *token,
                         double t)
{
    if (!present(tenant))
        return;
    tenant_si *ts = tenant_entry(s, tenant, true);
    if (ts)
        ts->signins++;
    s->signins++;
    const char *ids[2] = {session, token};
    for (int k = 0; k < 2; k++) {
        if (!present(ids[k]))
            continue;
        signin *e = si_find(s, id_hash(tenant, ids[k]), true);
        if (!e)
            continue;
        uint32_t sec = t <= 0 ? 0 : t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
        if (sec < e->first)
            e->first = sec;
        if (sec > e->last)
            e->last = sec;
    }
}

/* A token or session issued at a sign-in is used after it, within the window. */
static bool signin_covers(vg_sessions *s, uint64_t h, double t, double window)
{
    if (!h)
        return false;
    signin *e = si_find(s, h, false);
    return e && t >= (double)e->first - 300 && t <= (double)e->last + window;
}

/* ---- groups --------------------------------------------------------------------------------- */

static void evict_batch(vg_sessions *s);

static group *group_get(vg_sessions *s, const char *key, bool add)
{
    uint64_t h = vg__hash64(key, strlen(key), 0xcbf29ce484222325ull);
    if (add && (s->n + 1) * 2 > s->cap) {
        uint64_t nc = s->cap * 2;
        group **n = calloc(nc, sizeof *n);
        if (!n)
            return NULL;
        for (uint64_t i = 0; i < s->cap; i++)
            if (s->g[i]) {
                uint64_t j = s->g[i]->hash & (nc - 1);
                while (n[j])
                    j = (j + 1) & (nc - 1);
                n[j] = s->g[i];
            }
        free(s->g);
        s->g = n;
        s->cap = nc;
    }
    uint64_t j = h & (s->cap - 1);
    while (s->g[j]) {
        if (s->g[j]->hash == h && !strcmp(s->g[j]->key, key))
            return s->g[j];
        j = (j + 1) & (s->cap - 1);
    }
    if (!add)
        return NULL;
    if (s->n >= (s->o.max_sessions ? s->o.max_sessions : VG_MAX_SESSIONS)) {
        evict_batch(s);
        return group_get(s, key, true);
    }
    group *g = calloc(1, sizeof *g);
    if (!g || !(g->key = strdup(key))) {
        free(g);
        return NULL;
    }
    g->hash = h;
    g->first = INFINITY;
    g->last = -INFINITY;
    g->seq = s->seq++;
    s->g[j] = g;
    s->n++;
    return g;
}

static int evict_cmp(const void *a, const void *b)
{
    const group *x = *(group *const *)a, *y = *(group *const *)b;
    if ((x->n_sigs > 0) != (y->n_sigs > 0))
        return x->n_sigs > 0 ? 1 : -1; /* groups without a signal go first */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Full: drop the oldest eighth of the groups, those without a signal first, and rebuild the
 * table. O(n log n) once every n/8 new groups: amortized O(log n) a group. */
static void evict_batch(vg_sessions *s)
{
    group **all = malloc((s->n ? s->n : 1) * sizeof *all);
    if (!all)
        return;
    uint64_t n = 0;
    for (uint64_t i = 0; i < s->cap; i++)
        if (s->g[i])
            all[n++] = s->g[i];
    qsort(all, n, sizeof *all, evict_cmp);
    uint64_t k = n / 8 ? n / 8 : 1;
    for (uint64_t i = 0; i < k && i < n; i++)
        group_free(all[i]);
    s->evicted += k < n ? k : n;
    memset(s->g, 0, s->cap * sizeof *s->g);
    s->n = 0;
    for (uint64_t i = k; i < n; i++) {
        uint64_t j = all[i]->hash & (s->cap - 1);
        while (s->g[j])
            j = (j + 1) & (s->cap - 1);
        s->g[j] = all[i];
        s->n++;
    }
    free(all);
}

static void add_msg(group *g, uint64_t h)
{
    if (!h)
        h = 1;
    if ((g->n_msgs + 1) * 2 > g->cap_msgs) {
        if (g->n_msgs >= VG_MAX_SESSION_MSGS) {
            g->msgs_capped = true;
            return;
        }
        uint32_t nc = g->cap_msgs ? g->cap_msgs * 2 : 16;
        uint64_t *n = calloc(nc, sizeof *n);
        if (!n)
            return;
        for (uint32_t i = 0; i < g->cap_msgs; i++)
            if (g->msgs[i]) {
                uint32_t j = (uint32_t)(g->msgs[i] & (nc - 1));
                while (n[j])
                    j = (j + 1) & (nc - 1);
                n[j] = g->msgs[i];
            }
        free(g->msgs);
        g->msgs = n;
        g->cap_msgs = nc;
    }
    uint32_t j = (uint32_t)(h & (g->cap_msgs - 1));
    while (g->msgs[j]) {
        if (g->msgs[j] == h)
            return;
        j = (j + 1) & (g->cap_msgs - 1);
    }
    g->msgs[j] = h;
    g->n_msgs++;
}

static int level_of(const char *lv)
{
    static const char *const names[] = {"informational", "low", "medium", "high", "critical"};
    for (int i = 0; lv && i < 5; i++)
        if (!strcmp(lv, names[i]))
            return i;
    return VG_SL_LOW;
}

const char *vg__sessions_level_name(int level)
{
    static const char *const names[] = {"informational", "low", "medium", "high", "critical"};
    return level >= 0 && level < 5 ? names[level] : "low";
}

static void add_sig(group *g, const char *name, const char *kind, const char *rule, int level,
                    const char *family)
{
    for (uint32_t i = 0; i < g->n_sigs; i++)
        if (!strcmp(g->sigs[i].name, name)) {
            g->sigs[i].records++;
            if (level > g->sigs[i].level)
                g->sigs[i].level = level;
            return;
        }
    if (g->n_sigs == VG_MAX_SESSION_SIGNALS)
        return;
    if (VG_GROW(g->sigs, g->cap_sigs, (size_t)g->n_sigs + 1, 2))
        return;
    sig *x = &g->sigs[g->n_sigs];
    x->name = strdup(name);
    x->kind = strdup(kind ? kind : "sigma");
    x->rule = rule ? strdup(rule) : NULL;
    x->family = strdup(family && *family ? family : name);
    if (!x->name || !x->kind || !x->family) {
        free(x->name);
        free(x->kind);
        free(x->rule);
        free(x->family);
        return;
    }
    x->level = level;
    x->records = 1;
    g->n_sigs++;
}

bool vg__sessions_actor_hours(const vg_sess_opts *o, double t)
{
    int64_t day = (int64_t)floor(t / 86400);
    int wd = (int)(((day + 3) % 7 + 7) % 7); /* 0 = Monday (1970-01-01 was a Thursday) */
    int hour = (int)((t - (double)day * 86400) / 3600);
    uint32_t days = o->actor_days ? o->actor_days : 0x1f;
    int h0 = o->actor_h0, h1 = o->actor_h0 == 0 && o->actor_h1 == 0 ? 9 : o->actor_h1;
    return (days >> wd & 1) && hour >= h0 && hour < h1;
}

/* The group key of a record, into key (reset first); *wanted says whether the record would open
 * a group. The key is as long as its parts (bounded by the record's size, VG_MAX_RECORD_BYTES):
 * a cap would cut the user or the session off and merge distinct groups. VIGIE_NOMEM if the key
 * could not be built (the buffer's error is sticky: no shortened key is ever used). */
static int rec_key(vg_sessions *s, const vg_sess_rec *r, vg_buf *key, char day[16], bool *wanted,
                   bool *known, uint64_t *sh, uint64_t *th)
{
    vg__buf_reset(key);
    const char *tenant = present(r->tenant) ? r->tenant : "-";
    const char *user = present(r->user) ? r->user : "-";
    bool has_session = present(r->session), has_token = present(r->token);
    bool linkable = has_session || has_token;
    *sh = has_session ? id_hash(tenant, r->session) : 0;
    *th = has_token ? id_hash(tenant, r->token) : 0;
    *known = linkable && r->has_time &&
             (signin_covers(s, *sh, r->t, s->o.session_window_s) ||
              signin_covers(s, *th, r->t, s->o.signin_window_s));
    strcpy(day, "-");
    if (r->has_time && !linkable) {
        char iso[40];
        vg__format_time(r->t, iso, sizeof iso);
        snprintf(day, 16, "%.10s", iso);
    }
    vg__buf_adds(key, tenant);
    vg__buf_addc(key, '\x1f');
    vg__buf_adds(key, user);
    vg__buf_adds(key, has_session ? "\x1fs:"
                      : has_token ? "\x1ft:"
                                  : "\x1f"
                                    "d:");
    vg__buf_adds(key, has_session ? r->session : has_token ? r->token : day);
    *wanted = r->n_signals > 0 || (r->mail && (!linkable || !*known));
    return vg__buf_failed(key);
}

bool vg__sessions_needs(vg_sessions *s, const vg_sess_rec *r)
{
    char day[16];
    bool wanted, known;
    uint64_t sh, th;
    if (rec_key(s, r, &s->key, day, &wanted, &known, &sh, &th))
        return true; /* let vg__sessions_add report it */
    return wanted || group_get(s, s->key.data, false) != NULL;
}

int vg__sessions_add(vg_sessions *s, const vg_sess_rec *r)
{
    const char *tenant = present(r->tenant) ? r->tenant : "-";
    const char *user = present(r->user) ? r->user : "-";
    bool has_session = present(r->session), has_token = present(r->token);
    bool linkable = has_session || has_token;
    /* the group: session, else token, else the UTC day */
    char day[16];
    bool wanted, known;
    uint64_t sh, th;
    int rc = rec_key(s, r, &s->key, day, &wanted, &known, &sh, &th);
    if (rc)
        return rc;
    group *g = group_get(s, s->key.data, false);
    if (!g && wanted)
        g = group_get(s, s->key.data, true);
    if (!g)
        return VIGIE_OK;
    if (!g->tenant) {
        g->tenant = strdup(tenant);
        g->user = strdup(user);
        g->session = has_session ? strdup(r->session) : has_token ? strdup(r->token) : NULL;
        if (!linkable) {
            g->day = strdup(day);
        } else if (r->has_time) {
            char iso[40];
            vg__format_time(r->t, iso, sizeof iso);
            g->day = strndup(iso, 10);
        } else {
            g->day = strdup("-");
        }
    }
    g->records++;
    if (r->has_time) {
        if (r->t < g->first)
            g->first = r->t;
        if (r->t > g->last)
            g->last = r->t;
        if (vg__sessions_actor_hours(&s->o, r->t))
            g->actor_hours++;
    }
    if (r->rest_client)
        g->rest++;
    for (uint32_t i = 0; i < r->n_signals; i++)
        add_sig(g, r->signals[i].name, r->signals[i].kind, r->signals[i].rule,
                level_of(r->signals[i].level), r->signals[i].family);
    if (r->mail) {
        g->mail++;
        if (!linkable) {
            g->unlinkable++;
        } else if (known) {
            g->matched++;
        } else {
            pend_id *pe = NULL;
            for (uint32_t k = g->n_pend; k-- > 0 && !pe;)
                if (g->pend[k].session == sh && g->pend[k].token == th)
                    pe = &g->pend[k];
            if (pe) {
                pe->n++;
                if (!r->has_time)
                    pe->untimed++;
                else if (isnan(pe->t0) || r->t < pe->t0)
                    pe->t0 = r->t;
                if (r->has_time && (isnan(pe->t1) || r->t > pe->t1))
                    pe->t1 = r->t;
            } else if (g->n_pend < VG_MAX_SESSION_PENDING) {
                VG_GROW(g->pend, g->cap_pend, (size_t)g->n_pend + 1, 2); /* kept if it fails */
                if (g->n_pend < g->cap_pend)
                    g->pend[g->n_pend++] = (pend_id){
                        sh, th,          r->has_time ? r->t : NAN, r->has_time ? r->t : NAN,
                        1,  !r->has_time};
            } else {
                g->pend_overflow++; /* more distinct (session, token) pairs: unlinkable */
            }
        }
        for (uint32_t i = 0; i < r->n_msgs; i++)
            add_msg(g, r->msgs[i]);
        g->ops += r->ops;
        if (r->n_folders && !g->folders)
            g->folders = calloc(VG_MAX_SESSION_FOLDERS, sizeof *g->folders);
        for (uint32_t i = 0; g->folders && i < r->n_folders && g->n_folders < VG_MAX_SESSION_FOLDERS; i++) {
            bool dup = false;
            for (uint32_t k = 0; k < g->n_folders && !dup; k++)
                dup = !strcmp(g->folders[k], r->folders[i]);
            if (!dup && (g->folders[g->n_folders] = strdup(r->folders[i])))
                g->n_folders++;
        }
    }
    const char *inf[3] = {r->ip, r->app, r->ua};
    for (int k = 0; k < 3; k++) {
        if (!present(inf[k]) || g->n_infra[k] >= VG_SESS_INFRA)
            continue;
        bool dup = false;
        for (uint32_t i = 0; i < g->n_infra[k] && !dup; i++)
            dup = !strcmp(g->infra[k][i], inf[k]);
        if (dup)
            continue;
        if ((g->n_infra[k] & (g->n_infra[k] - 1)) == 0) { /* 0, 1, 2, 4, 8: grow */
            char **n = realloc(g->infra[k], (g->n_infra[k] ? g->n_infra[k] * 2 : 1) * sizeof *n);
            if (!n)
                continue;
            g->infra[k] = n;
        }
        if ((g->infra[k][g->n_infra[k]] = strdup(inf[k])))
            g->n_infra[k]++;
    }
    /* evidence: every record of the group up to the cap */
    if (g->n_ev < VG_MAX_SESSION_EVIDENCE) {
        VG_GROW(g->ev, g->cap_ev, (size_t)g->n_ev + 1, 1); /* kept if it fails */
        if (g->n_ev < g->cap_ev) {
            vg_sess_evidence *e = &g->ev[g->n_ev];
            memset(e, 0, sizeof *e);
            e->file = r->file ? r->file : "-"; /* the caller keeps file names for the run */
            e->line = r->line;
            e->index = r->index;
            e->offset = r->offset;
            memcpy(e->sha256, r->sha256, sizeof e->sha256);
            if (r->alert_ids && *r->alert_ids)
                e->alert_ids = strdup(r->alert_ids);
            g->n_ev++;
        }
    } else {
        g->ev_omitted++;
    }
    return VIGIE_OK;
}

static int grp_cmp(const void *a, const void *b)
{
    const group *x = *(group *const *)a, *y = *(group *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int sig_cmp(const void *a, const void *b)
{
    const vg_sess_signal *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int vg__sessions_finish(vg_sessions *s, vg_sess_emit emit, void *ud, vg_sess_stats *st)
{
    group **list = malloc((s->n ? s->n : 1) * sizeof *list);
    if (!list)
        return VIGIE_NOMEM;
    uint64_t n = 0;
    for (uint64_t i = 0; i < s->cap; i++)
        if (s->g[i])
            list[n++] = s->g[i];
    qsort(list, n, sizeof *list, grp_cmp);
    int rc = VIGIE_OK;
    if (st) {
        memset(st, 0, sizeof *st);
        st->evicted = s->evicted;
        st->signins = s->signins;
        st->signin_ids = s->si_n;
        st->signin_ids_dropped = s->si_dropped;
    }
    for (uint64_t i = 0; i < n && rc == VIGIE_OK; i++) {
        group *g = list[i];
        tenant_si *ts = tenant_entry(s, g->tenant, false);
        bool have_signins = ts && ts->signins > 0;
        uint64_t no_signin = 0, unlinked = g->unlinkable + g->pend_overflow;
        for (uint32_t k = 0; k < g->n_pend; k++) {
            const pend_id *p = &g->pend[k];
            unlinked += p->untimed; /* without a time nothing can be joined */
            uint64_t timed = p->n - p->untimed;
            if (!timed)
                continue;
            /* the first and the last access of the pair: explained at either end, all are */
            bool ok = signin_covers(s, p->session, p->t0, s->o.session_window_s) ||
                      signin_covers(s, p->token, p->t0, s->o.signin_window_s) ||
                      signin_covers(s, p->session, p->t1, s->o.session_window_s) ||
                      signin_covers(s, p->token, p->t1, s->o.signin_window_s);
            if (ok)
                g->matched += timed;
            else if (have_signins && !s->si_dropped)
                no_signin += timed;
            else
                unlinked += timed; /* no sign-ins for the tenant, or not all of them remembered */
        }
        if (st) {
            st->no_signin += no_signin;
            st->unlinkable += unlinked;
        }
        /* signals and score */
        vg_sess_signal sigs[VG_MAX_SESSION_SIGNALS + 4];
        uint32_t ns = 0, primary = 0;
        int score = 0, top = -1;
        for (uint32_t k = 0; k < g->n_sigs; k++) {
            const sig *x = &g->sigs[k];
            sigs[ns++] =
                (vg_sess_signal){x->name,    x->kind,  x->rule, vg__sessions_level_name(x->level),
                                 x->records, x->family};
            /* a family counts once, at its highest level */
            bool counted = false;
            int fam_top = x->level;
            for (uint32_t q = 0; q < g->n_sigs; q++) {
                if (q == k || strcmp(g->sigs[q].family, x->family) != 0)
                    continue;
                if (g->sigs[q].level > fam_top || (g->sigs[q].level == fam_top && q < k))
                    counted = true; /* another member stands for the family */
            }
            if (x->level > top)
                top = x->level;
            if (counted)
                continue;
            score += x->level;
            if (x->level >= VG_SL_LOW)
                primary++;
        }
        if (no_signin) {
            sigs[ns++] = (vg_sess_signal){"no_signin", "session", NULL, "medium", no_signin, NULL};
            score += 3;
            primary++;
            if (VG_SL_MEDIUM > top)
                top = VG_SL_MEDIUM;
        }
        if (!primary)
            continue; /* supporting evidence never alerts alone */
        if (unlinked) {
            sigs[ns++] = (vg_sess_signal){"unlinkable", "supporting", NULL, "low", unlinked, NULL};
            score += 1;
        }
        if (g->actor_hours * 2 > g->records) {
            sigs[ns++] =
                (vg_sess_signal){"actor_hours", "supporting", NULL, "low", g->actor_hours, NULL};
            score += 1;
        }
        if (g->rest) {
            sigs[ns++] = (vg_sess_signal){"rest_client", "supporting", NULL, "low", g->rest, NULL};
            score += 1;
        }
        qsort(sigs, ns, sizeof *sigs, sig_cmp);
        int level = score >= 8   ? VG_SL_CRITICAL
                    : score >= 5 ? VG_SL_HIGH
                    : score >= 3 ? VG_SL_MEDIUM
                                 : VG_SL_LOW;
        /* one signal alone keeps its own level: supporting evidence raises the score, never
         * the level of a lone signal (a new application alone stays medium at most) */
        if (level < top)
            level = top; /* never below the strongest signal's own level */
        if (primary == 1)
            level = top;
        vg_sess_alert a = {.key = g->key,
                           .tenant = g->tenant,
                           .user = g->user,
                           .session = g->session,
                           .day = g->day,
                           .first = g->first,
                           .last = g->last,
                           .level = level,
                           .score = score,
                           .signals = sigs,
                           .n_signals = ns,
                           .records = g->records,
                           .mail = g->mail,
                           .messages = g->n_msgs,
                           .messages_capped = g->msgs_capped,
                           .ops = g->ops,
                           .folders = (const char *const *)g->folders,
                           .n_folders = g->n_folders,
                           .evidence = g->ev,
                           .n_evidence = g->n_ev,
                           .evidence_omitted = g->ev_omitted,
                           .no_signin = no_signin,
                           .unlinkable = unlinked,
                           .matched = g->matched,
                           .ips = (const char *const *)g->infra[0],
                           .n_ips = g->n_infra[0],
                           .apps = (const char *const *)g->infra[1],
                           .n_apps = g->n_infra[1],
                           .uas = (const char *const *)g->infra[2],
                           .n_uas = g->n_infra[2]};
        if (st) {
            st->alerts++;
            st->by_level[level]++;
        }
        rc = emit(ud, &a);
    }
    if (st)
        st->groups = n;
    free(list);
    return rc;
}

bool vg__sessions_tenant_has_signins(const vg_sessions *s, const char *tenant)
{
    /* a lookup (add false) changes nothing */
    const tenant_si *t = tenant_entry((vg_sessions *)(uintptr_t)s, tenant, false);
    return t && t->signins > 0;
}
