/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c: one combined alert per session window of (tenant, user, session or day). Stage:
 * correlate, fed by `vigie scan`'s writer in read order; ordered by event time through a
 * watermark (vg__sessions_advance; vg__sessions_finish is advance(+infinity)).
 *
 * The 2023 campaign left, at each victim, a few signals that were weak alone: an application
 * reading mail for the first time, a token that no sign-in issued, an address on a list, the
 * actor's working hours. This module gathers them per session (SessionId / AADSessionId; the
 * token id when only that is known; the UTC day when the record carries neither) and scores
 * the group. A key's records more than session_gap_s apart are different groups (session
 * windows: a record that bridges two windows merges them, so the windows are the same in any
 * arrival order). Sign-ins with linkable identifiers are remembered per tenant (a hash set of
 * SessionId and UniqueTokenIdentifier with their first and last time); a mailbox access that
 * no sign-in seen so far explains waits until the watermark passes its time plus
 * signin_lateness_s, then is joined: explained, no_signin, or unlinkable (no identifiers, or a
 * tenant whose sign-ins were not given: it cannot be cleared, and it counts as a weak signal,
 * never as innocent). A group is scored and emitted once the watermark passes its last record
 * plus the gap and its accesses are joined; emission is ordered by that closing time, then
 * creation order, so any batching of advance gives the same sequence. Sign-in identifiers age
 * out once the watermark passes their last time plus their window plus the lateness.
 *
 * Memory: a group exists only for records that carry a signal or still need the join; benign
 * accesses whose sign-in is already known cost nothing. A group is one compact struct, its key
 * (the tenant, user and id are offsets into it), and small arrays: evidence entries of 64 bytes
 * (position, interned source name, SHA-256), pending (session, token) pairs, a set of message-id
 * hashes, and infrastructure and folders as indexes into one interned string pool of the object
 * (sources, signal names, addresses, applications, user agents, folders: each distinct value
 * once). Bounded by VG_MAX_SESSIONS groups (when full, the oldest eighth is dropped, groups
 * without a signal first, and counted); per group, message ids exactly up to
 * VG_MAX_SESSION_MSGS, evidence up to VG_MAX_SESSION_EVIDENCE records. A key is kept whole:
 * distinct users never share a group. Scoring is documented in docs/DETECTIONS.md. Not
 * thread-safe.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "util/limits.h"
#include "util/ser.h"
#include "util/util.h"

/* a sign-in up to this long after the access still explains it (clock skew) */
#define SKEW_S 300.0

typedef struct sig {
    const char *name, *kind, *rule, *family; /* interned */
    int level;                               /* VG_SL_* */
    uint64_t records;
} sig;

/* Accesses waiting for their sign-in, one entry per distinct (session, token): the accesses it
 * stands for and their first and last time (NAN: none timed yet). */
typedef struct pend_id {
    uint64_t session, token; /* hashes, 0 = absent */
    double t0, t1;
    uint64_t n, untimed;
} pend_id;

/* One record of evidence: 64 bytes. */
typedef struct ev_rec {
    uint64_t line, index, offset;
    uint32_t file; /* interned source name */
    uint32_t ids;  /* 0: no alert ids; else 1 + offset of its NUL-terminated ids in g->ids */
    uint8_t sha256[32];
} ev_rec;

enum { INF_IP, INF_APP, INF_UA, INF_FOLDER };

typedef struct group {
    struct group *next; /* the key's next window (later), or NULL */
    uint64_t hash;
    uint32_t user_off, id_off; /* into key: the user and the id (after its "s:" prefix) */
    bool has_session;          /* the id is a session or token (else the day) */
    bool msgs_capped;
    char day[11];
    uint8_t n_kind[4]; /* infrastructure kept per kind (at most VG_SESS_INFRA, folders 32) */
    double first, last; /* timed records: [first, last]; first > last while none */
    uint64_t records, mail, unlinkable, actor_hours, rest, matched, pend_overflow, ev_omitted;
    uint64_t seq; /* creation order: output order and eviction age */
    double ops;
    sig *sigs; /* up to VG_MAX_SESSION_SIGNALS */
    uint32_t n_sigs, cap_sigs;
    pend_id *pend; /* the first pair inline (pend0), more in pend[1..) */
    uint32_t n_pend, cap_pend;
    pend_id pend0;
    uint64_t *msgs; /* open-addressing set of message-id hashes (0 = empty) */
    uint32_t cap_msgs, n_msgs;
    uint32_t *inf; /* (kind << 28) | pool index, in arrival order */
    uint32_t n_inf, cap_inf;
    ev_rec *ev;
    uint32_t n_ev, cap_ev;
    char *ids; /* the alert ids of evidence records, NUL-separated */
    uint32_t ids_len, ids_cap;
    char key[]; /* tenant \x1f user \x1f (s:|t:|d:) id, whole */
} group;

#define PEND(g, k) ((k) == 0 ? &(g)->pend0 : &(g)->pend[(k) - 1])

typedef struct signin {
    uint64_t hash;        /* of tenant \x1f id, seeded by kind; 0 = empty */
    uint32_t first, last; /* Unix seconds of its first and last sign-in (16 bytes a slot) */
} signin;

typedef struct tenant_si {
    char *tenant;
    uint64_t signins;
} tenant_si;

struct vg_sessions {
    vg_sess_opts o;
    group **g; /* open addressing on the key hash: the first window of each key */
    uint64_t cap, n_keys, n, seq;
    signin *si;
    uint64_t si_cap, si_n;
    uint64_t si_dropped; /* ids not remembered: the set was full (the join degrades) */
    uint64_t si_aged;
    tenant_si *ts;
    uint32_t n_ts, cap_ts;
    vg_hmap ts_idx; /* tenant (borrowed from ts[i].tenant) -> i */
    char **pool;    /* interned strings */
    uint32_t n_pool, cap_pool;
    vg_hmap pool_idx;     /* string (borrowed from pool[i]) -> i */
    vg_hmap emitted_keys; /* key hashes that have emitted an alert under the bare key */
    uint64_t evicted, signins, emitted, late;
    double watermark, swept;
    vg_buf key; /* the current record's group key, reused (no allocation per record) */
};

/* session ids and token ids hash apart, the kind in the lowest bit: they age with different
 * windows */
#define KIND_SESSION 0u
#define KIND_TOKEN 1u

static uint64_t id_hash(const char *tenant, const char *id, unsigned kind)
{
    uint64_t h = vg__hash64(tenant, strlen(tenant), 0xcbf29ce484222325ull + kind);
    h = vg__hash64("\x1f", 1, h);
    h = vg__hash64(id, strlen(id), h);
    h = (h & ~1ull) | kind;
    return h ? h : 2;
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
    if (s->o.session_gap_s <= 0)
        s->o.session_gap_s = VG_SESSION_GAP_S;
    if (s->o.signin_lateness_s <= 0)
        s->o.signin_lateness_s = VG_SIGNIN_LATENESS_S;
    if (!s->o.actor_days)
        s->o.actor_days = 0x1f; /* Monday to Friday */
    if (s->o.actor_h0 == 0 && s->o.actor_h1 == 0)
        s->o.actor_h1 = 9;
    s->watermark = s->swept = -INFINITY;
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
    free(g->sigs);
    free(g->pend);
    free(g->msgs);
    free(g->inf);
    free(g->ev);
    free(g->ids);
    free(g);
}

void vg__sessions_free(vg_sessions *s)
{
    if (!s)
        return;
    for (uint64_t i = 0; i < s->cap; i++)
        for (group *g = s->g[i], *nx; g; g = nx) {
            nx = g->next;
            group_free(g);
        }
    free(s->g);
    free(s->si);
    for (uint32_t i = 0; i < s->n_ts; i++)
        free(s->ts[i].tenant);
    free(s->ts);
    vg__hmap_free(&s->ts_idx);
    for (uint32_t i = 0; i < s->n_pool; i++)
        free(s->pool[i]);
    free(s->pool);
    vg__hmap_free(&s->pool_idx);
    vg__hmap_free(&s->emitted_keys);
    vg__buf_free(&s->key);
    free(s);
}

/* ---- the string pool ------------------------------------------------------------------------ */

/* The index of str in the pool, added if new; UINT32_MAX when out of memory. */
static uint32_t intern(vg_sessions *s, const char *str)
{
    size_t len = strlen(str);
    vg_hmap_slot *e = vg__hmap_find(&s->pool_idx, str, len);
    if (e)
        return e->val.idx;
    if (s->n_pool >= (1u << 28) || VG_GROW(s->pool, s->cap_pool, (size_t)s->n_pool + 1, 64))
        return UINT32_MAX;
    char *c = strdup(str);
    bool added;
    if (!c || vg__hmap_put(&s->pool_idx, c, len, &e, &added)) {
        free(c);
        return UINT32_MAX;
    }
    s->pool[s->n_pool] = c;
    e->val.idx = s->n_pool;
    return s->n_pool++;
}

static const char *pooled(vg_sessions *s, const char *str)
{
    uint32_t i = intern(s, str);
    return i == UINT32_MAX ? NULL : s->pool[i];
}

/* ---- sign-ins ------------------------------------------------------------------------------- */

static void si_rehash(vg_sessions *s, uint64_t nc)
{
    signin *n = calloc(nc, sizeof *n);
    if (!n)
        return;
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

static signin *si_find(vg_sessions *s, uint64_t h, bool add)
{
    uint64_t max = s->o.max_signin_ids ? s->o.max_signin_ids : VG_MAX_SIGNIN_IDS;
    if (add && s->si_n < max && (s->si_n + 1) * 2 > s->si_cap) /* never grows past max */
        si_rehash(s, s->si_cap * 2);
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

static uint32_t sec_of(double t)
{
    return t <= 0 ? 0 : t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

static void signin_put(vg_sessions *s, uint64_t h, uint32_t first, uint32_t last)
{
    signin *e = si_find(s, h, true);
    if (!e)
        return;
    if (first < e->first)
        e->first = first;
    if (last > e->last)
        e->last = last;
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
    uint32_t sec = sec_of(t);
    if (present(session))
        signin_put(s, id_hash(tenant, session, KIND_SESSION), sec, sec);
    if (present(token))
        signin_put(s, id_hash(tenant, token, KIND_TOKEN), sec, sec);
}

/* A token or session issued at a sign-in is used after it, within the window. */
static bool signin_covers(vg_sessions *s, uint64_t h, double t, double window)
{
    if (!h)
        return false;
    signin *e = si_find(s, h, false);
    return e && t >= (double)e->first - SKEW_S && t <= (double)e->last + window;
}

/* ---- groups --------------------------------------------------------------------------------- */

static void evict_batch(vg_sessions *s);

/* The slot of key's chain (its first window), or of the empty slot where it would go. */
static uint64_t key_slot(const vg_sessions *s, const char *key, uint64_t h)
{
    uint64_t j = h & (s->cap - 1);
    while (s->g[j] && !(s->g[j]->hash == h && !strcmp(s->g[j]->key, key)))
        j = (j + 1) & (s->cap - 1);
    return j;
}

static void table_put(group **t, uint64_t cap, group *g)
{
    uint64_t j = g->hash & (cap - 1);
    while (t[j])
        j = (j + 1) & (cap - 1);
    t[j] = g;
}

/* Removes the chain at slot j (backward-shift deletion keeps every probe sequence whole). */
static void table_del(vg_sessions *s, uint64_t j)
{
    uint64_t m = s->cap - 1;
    s->g[j] = NULL;
    for (uint64_t k = (j + 1) & m; s->g[k]; k = (k + 1) & m) {
        uint64_t home = s->g[k]->hash & m;
        /* move k back to j when j lies cyclically in [home, k) */
        if (((k - home) & m) >= ((k - j) & m)) {
            s->g[j] = s->g[k];
            s->g[k] = NULL;
            j = k;
        }
    }
}

static int table_grow(vg_sessions *s)
{
    uint64_t nc = s->cap * 2;
    group **n = calloc(nc, sizeof *n);
    if (!n)
        return VIGIE_NOMEM;
    for (uint64_t i = 0; i < s->cap; i++)
        if (s->g[i])
            table_put(n, nc, s->g[i]);
    free(s->g);
    s->g = n;
    s->cap = nc;
    return VIGIE_OK;
}

static group *group_new(vg_sessions *s, const char *key, uint64_t h)
{
    size_t kl = strlen(key);
    group *g = calloc(1, sizeof *g + kl + 1);
    if (!g)
        return NULL;
    memcpy(g->key, key, kl + 1);
    g->hash = h;
    g->first = INFINITY;
    g->last = -INFINITY;
    g->seq = s->seq++;
    s->n++;
    return g;
}

static bool timed(const group *g)
{
    return g->first <= g->last;
}

/* The window of key that takes a record at time t (has_time false: the key's latest window),
 * created when `add`; NULL when there is none. Windows of a key are a chain ordered by first
 * time; a record within the gap of two windows merges them (merge_into). */
static void merge_into(vg_sessions *s, group *dst, group *src);

static group *window_get(vg_sessions *s, const char *key, bool has_time, double t, bool add)
{
    uint64_t h = vg__hash64(key, strlen(key), 0xcbf29ce484222325ull);
    if (add && (s->n_keys + 1) * 2 > s->cap && table_grow(s))
        return NULL;
    uint64_t j = key_slot(s, key, h);
    group *head = s->g[j];
    double gap = s->o.session_gap_s;
    if (head) {
        if (!has_time) {
            group *w = head;
            while (w->next)
                w = w->next;
            return w;
        }
        group *hit = NULL, **link = &s->g[j];
        for (group **p = &s->g[j]; *p;) {
            group *w = *p;
            bool in = !timed(w) || (t >= w->first - gap && t <= w->last + gap);
            if (in && !hit) {
                hit = w;
                p = &w->next;
            } else if (in) {
                *p = w->next; /* t bridges hit and w: one window */
                merge_into(s, hit, w);
                group_free(w);
                s->n--;
            } else {
                if (!hit && timed(w) && w->first < t)
                    link = &w->next;
                p = &w->next;
            }
        }
        if (hit || !add)
            return hit;
        if (s->n >= (s->o.max_sessions ? s->o.max_sessions : VG_MAX_SESSIONS)) {
            evict_batch(s);
            return window_get(s, key, has_time, t, add);
        }
        group *g = group_new(s, key, h);
        if (!g)
            return NULL;
        g->next = *link; /* in order of first time */
        *link = g;
        return g;
    }
    if (!add)
        return NULL;
    if (s->n >= (s->o.max_sessions ? s->o.max_sessions : VG_MAX_SESSIONS)) {
        evict_batch(s);
        return window_get(s, key, has_time, t, add);
    }
    group *g = group_new(s, key, h);
    if (!g)
        return NULL;
    s->g[j] = g;
    s->n_keys++;
    return g;
}

static int evict_cmp(const void *a, const void *b)
{
    const group *x = *(group *const *)a, *y = *(group *const *)b;
    if ((x->n_sigs > 0) != (y->n_sigs > 0))
        return x->n_sigs > 0 ? 1 : -1; /* groups without a signal go first */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Rebuilds the table from the groups in list[0..n) (chains by key, in order of first time). */
static int first_cmp(const void *a, const void *b)
{
    const group *x = *(group *const *)a, *y = *(group *const *)b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void rebuild(vg_sessions *s, group **list, uint64_t n)
{
    qsort(list, n, sizeof *list, first_cmp);
    memset(s->g, 0, s->cap * sizeof *s->g);
    s->n = s->n_keys = 0;
    for (uint64_t i = n; i-- > 0;) { /* latest first: each is pushed before the earlier */
        group *g = list[i];
        uint64_t j = key_slot(s, g->key, g->hash);
        g->next = s->g[j];
        if (!s->g[j])
            s->n_keys++;
        s->g[j] = g;
        s->n++;
    }
}

static group **all_groups(vg_sessions *s, uint64_t *n)
{
    group **all = malloc((s->n ? s->n : 1) * sizeof *all);
    *n = 0;
    if (!all)
        return NULL;
    for (uint64_t i = 0; i < s->cap; i++)
        for (group *g = s->g[i]; g; g = g->next)
            all[(*n)++] = g;
    return all;
}

/* Full: drop the oldest eighth of the groups, those without a signal first, and rebuild the
 * table. O(n log n) once every n/8 new groups: amortized O(log n) a group. */
static void evict_batch(vg_sessions *s)
{
    uint64_t n;
    group **all = all_groups(s, &n);
    if (!all)
        return;
    qsort(all, n, sizeof *all, evict_cmp);
    uint64_t k = n / 8 ? n / 8 : 1;
    if (k > n)
        k = n;
    for (uint64_t i = 0; i < k; i++)
        group_free(all[i]);
    s->evicted += k;
    rebuild(s, all + k, n - k);
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
        uint32_t nc = g->cap_msgs ? g->cap_msgs * 2 : 4;
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

/* name, kind, rule, family: interned (rule may be NULL) */
static void add_sig(group *g, const char *name, const char *kind, const char *rule, int level,
                    const char *family, uint64_t records)
{
    for (uint32_t i = 0; i < g->n_sigs; i++)
        if (g->sigs[i].name == name) {
            g->sigs[i].records += records;
            if (level > g->sigs[i].level)
                g->sigs[i].level = level;
            return;
        }
    if (g->n_sigs == VG_MAX_SESSION_SIGNALS)
        return;
    if (VG_GROW(g->sigs, g->cap_sigs, (size_t)g->n_sigs + 1, 2))
        return;
    g->sigs[g->n_sigs++] = (sig){name, kind, rule, family, level, records};
}

static void add_pend(group *g, uint64_t sh, uint64_t th, double t0, double t1, uint64_t n,
                     uint64_t untimed)
{
    pend_id *pe = NULL;
    for (uint32_t k = g->n_pend; k-- > 0 && !pe;)
        if (PEND(g, k)->session == sh && PEND(g, k)->token == th)
            pe = PEND(g, k);
    if (pe) {
        pe->n += n;
        pe->untimed += untimed;
        if (!isnan(t0) && (isnan(pe->t0) || t0 < pe->t0))
            pe->t0 = t0;
        if (!isnan(t1) && (isnan(pe->t1) || t1 > pe->t1))
            pe->t1 = t1;
    } else if (g->n_pend < VG_MAX_SESSION_PENDING) {
        if (g->n_pend) /* the first is inline */
            VG_GROW(g->pend, g->cap_pend, (size_t)g->n_pend, 1); /* kept if it fails */
        uint32_t k = g->n_pend;
        if (k == 0 || k - 1 < g->cap_pend) {
            *PEND(g, k) = (pend_id){sh, th, t0, t1, n, untimed};
            g->n_pend = k + 1;
        }
    } else {
        g->pend_overflow += n; /* more distinct (session, token) pairs: unlinkable */
    }
}

/* kind: INF_*; limit: VG_SESS_INFRA, or VG_MAX_SESSION_FOLDERS for folders */
static void add_inf(group *g, int kind, uint32_t idx)
{
    uint32_t limit = kind == INF_FOLDER ? VG_MAX_SESSION_FOLDERS : VG_SESS_INFRA;
    if (idx == UINT32_MAX || g->n_kind[kind] >= limit)
        return;
    uint32_t v = (uint32_t)kind << 28 | idx;
    for (uint32_t i = 0; i < g->n_inf; i++)
        if (g->inf[i] == v)
            return;
    if (VG_GROW(g->inf, g->cap_inf, (size_t)g->n_inf + 1, 2))
        return;
    g->inf[g->n_inf++] = v;
    g->n_kind[kind]++;
}

static void add_ev(group *g, const ev_rec *e, const char *ids)
{
    if (g->n_ev >= VG_MAX_SESSION_EVIDENCE) {
        g->ev_omitted++;
        return;
    }
    if (VG_GROW(g->ev, g->cap_ev, (size_t)g->n_ev + 1, 1))
        return;
    ev_rec *x = &g->ev[g->n_ev];
    *x = *e;
    x->ids = 0;
    if (ids && *ids) {
        size_t l = strlen(ids) + 1;
        if (l < UINT32_MAX - g->ids_len &&
            !VG_GROW(g->ids, g->ids_cap, (size_t)g->ids_len + l, 32)) {
            memcpy(g->ids + g->ids_len, ids, l);
            x->ids = g->ids_len + 1;
            g->ids_len += (uint32_t)l;
        }
    }
    g->n_ev++;
}

/* src's records into dst (a record bridged their windows); src is freed by the caller. */
static void merge_into(vg_sessions *s, group *dst, group *src)
{
    (void)s;
    if (src->first < dst->first)
        dst->first = src->first;
    if (src->last > dst->last)
        dst->last = src->last;
    if (src->seq < dst->seq) {
        dst->seq = src->seq;
        memcpy(dst->day, src->day, sizeof dst->day);
    }
    dst->records += src->records;
    dst->mail += src->mail;
    dst->unlinkable += src->unlinkable;
    dst->actor_hours += src->actor_hours;
    dst->rest += src->rest;
    dst->matched += src->matched;
    dst->pend_overflow += src->pend_overflow;
    dst->ev_omitted += src->ev_omitted;
    dst->ops += src->ops;
    dst->msgs_capped |= src->msgs_capped;
    for (uint32_t i = 0; i < src->n_sigs; i++) {
        const sig *x = &src->sigs[i];
        add_sig(dst, x->name, x->kind, x->rule, x->level, x->family, x->records);
    }
    for (uint32_t i = 0; i < src->n_pend; i++) {
        const pend_id *p = PEND(src, i);
        add_pend(dst, p->session, p->token, p->t0, p->t1, p->n, p->untimed);
    }
    for (uint32_t i = 0; i < src->cap_msgs; i++)
        if (src->msgs[i])
            add_msg(dst, src->msgs[i]);
    for (uint32_t i = 0; i < src->n_inf; i++)
        add_inf(dst, (int)(src->inf[i] >> 28), src->inf[i] & 0x0fffffffu);
    for (uint32_t i = 0; i < src->n_ev; i++)
        add_ev(dst, &src->ev[i], src->ev[i].ids ? src->ids + src->ev[i].ids - 1 : NULL);
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
                   bool *known, uint64_t *sh, uint64_t *th, uint32_t *user_off, uint32_t *id_off)
{
    vg__buf_reset(key);
    const char *tenant = present(r->tenant) ? r->tenant : "-";
    const char *user = present(r->user) ? r->user : "-";
    bool has_session = present(r->session), has_token = present(r->token);
    bool linkable = has_session || has_token;
    *sh = has_session ? id_hash(tenant, r->session, KIND_SESSION) : 0;
    *th = has_token ? id_hash(tenant, r->token, KIND_TOKEN) : 0;
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
    *user_off = (uint32_t)key->len;
    vg__buf_adds(key, user);
    vg__buf_adds(key, has_session ? "\x1fs:"
                      : has_token ? "\x1ft:"
                                  : "\x1f"
                                    "d:");
    *id_off = (uint32_t)key->len;
    vg__buf_adds(key, has_session ? r->session : has_token ? r->token : day);
    *wanted = r->n_signals > 0 || (r->mail && (!linkable || !*known));
    if (!vg__buf_failed(key) && key->len >= UINT32_MAX)
        return VIGIE_TOOBIG;
    return vg__buf_failed(key);
}

bool vg__sessions_needs(vg_sessions *s, const vg_sess_rec *r)
{
    char day[16];
    bool wanted, known;
    uint64_t sh, th;
    uint32_t uo, io;
    if (rec_key(s, r, &s->key, day, &wanted, &known, &sh, &th, &uo, &io))
        return true; /* let vg__sessions_add report it */
    return wanted || window_get(s, s->key.data, r->has_time, r->t, false) != NULL;
}

int vg__sessions_add(vg_sessions *s, const vg_sess_rec *r)
{
    bool has_session = present(r->session), has_token = present(r->token);
    bool linkable = has_session || has_token;
    /* the group: session, else token, else the UTC day */
    char day[16];
    bool wanted, known;
    uint64_t sh, th;
    uint32_t uo, io;
    int rc = rec_key(s, r, &s->key, day, &wanted, &known, &sh, &th, &uo, &io);
    if (rc)
        return rc;
    if (r->has_time && r->t + s->o.session_gap_s < s->watermark)
        s->late++; /* its window may have been emitted: this opens another */
    group *g = window_get(s, s->key.data, r->has_time, r->t, false);
    if (!g && wanted)
        g = window_get(s, s->key.data, r->has_time, r->t, true);
    if (!g)
        return VIGIE_OK;
    if (!g->records) {
        g->user_off = uo;
        g->id_off = io;
        g->has_session = linkable;
        if (!linkable) {
            snprintf(g->day, sizeof g->day, "%.10s", day);
        } else if (r->has_time) {
            char iso[40];
            vg__format_time(r->t, iso, sizeof iso);
            snprintf(g->day, sizeof g->day, "%.10s", iso);
        } else {
            strcpy(g->day, "-");
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
    for (uint32_t i = 0; i < r->n_signals; i++) {
        const vg_sess_signal *x = &r->signals[i];
        const char *name = pooled(s, x->name);
        const char *kind = pooled(s, x->kind ? x->kind : "sigma");
        const char *rule = x->rule ? pooled(s, x->rule) : NULL;
        const char *family = pooled(s, x->family && *x->family ? x->family : x->name);
        if (name && kind && family)
            add_sig(g, name, kind, rule, level_of(x->level), family, 1);
    }
    if (r->mail) {
        g->mail++;
        if (!linkable)
            g->unlinkable++;
        else if (known)
            g->matched++;
        else
            add_pend(g, sh, th, r->has_time ? r->t : NAN, r->has_time ? r->t : NAN, 1,
                     !r->has_time);
        for (uint32_t i = 0; i < r->n_msgs; i++)
            add_msg(g, r->msgs[i]);
        g->ops += r->ops;
        for (uint32_t i = 0; i < r->n_folders && g->n_kind[INF_FOLDER] < VG_MAX_SESSION_FOLDERS; i++)
            add_inf(g, INF_FOLDER, intern(s, r->folders[i]));
    }
    const char *inf[3] = {r->ip, r->app, r->ua};
    for (int k = 0; k < 3; k++)
        if (present(inf[k]) && g->n_kind[k] < VG_SESS_INFRA)
            add_inf(g, k, intern(s, inf[k]));
    /* evidence: every record of the group up to the cap */
    if (g->n_ev < VG_MAX_SESSION_EVIDENCE) {
        ev_rec e = {.line = r->line, .index = r->index, .offset = r->offset,
                    .file = intern(s, r->file ? r->file : "-")};
        memcpy(e.sha256, r->sha256, sizeof e.sha256);
        if (e.file != UINT32_MAX)
            add_ev(g, &e, r->alert_ids);
    } else {
        g->ev_omitted++;
    }
    return VIGIE_OK;
}

/* ---- closing: join, score, emit --------------------------------------------------------------- */

/* When the group can close: the watermark must pass its last record plus the gap, and each
 * pending access plus the sign-in lateness. Untimed groups close only at +infinity. */
static double close_time(const vg_sessions *s, const group *g)
{
    if (!timed(g))
        return INFINITY;
    double c = g->last + s->o.session_gap_s;
    for (uint32_t k = 0; k < g->n_pend; k++)
        if (!isnan(PEND(g, k)->t1) && PEND(g, k)->t1 + SKEW_S + s->o.signin_lateness_s > c)
            c = PEND(g, k)->t1 + SKEW_S + s->o.signin_lateness_s;
    return c;
}

typedef struct closing {
    group *g;
    double close;
} closing;

static int closing_cmp(const void *a, const void *b)
{
    const closing *x = a, *y = b;
    if (x->close != y->close)
        return x->close < y->close ? -1 : 1;
    return x->g->seq < y->g->seq ? -1 : x->g->seq > y->g->seq;
}

static int sig_cmp(const void *a, const void *b)
{
    const vg_sess_signal *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static void stats_base(const vg_sessions *s, vg_sess_stats *st)
{
    st->evicted = s->evicted;
    st->signins = s->signins;
    st->signin_ids = s->si_n;
    st->signin_ids_dropped = s->si_dropped;
    st->signin_ids_aged = s->si_aged;
    st->late = s->late;
    st->open = s->n;
}

/* Join g's pending accesses, score it, emit it when it has a primary signal. */
static int emit_group(vg_sessions *s, group *g, vg_sess_emit emit, void *ud, vg_sess_stats *st,
                      vg_buf *scratch)
{
    /* the tenant is the key's first part */
    vg_hmap_slot *te = vg__hmap_find(&s->ts_idx, g->key, g->user_off ? g->user_off - 1 : 0);
    const tenant_si *ts = te ? &s->ts[te->val.idx] : NULL;
    bool have_signins = ts && ts->signins > 0;
    uint64_t no_signin = 0, unlinked = g->unlinkable + g->pend_overflow;
    for (uint32_t k = 0; k < g->n_pend; k++) {
        const pend_id *p = PEND(g, k);
        unlinked += p->untimed; /* without a time nothing can be joined */
        uint64_t tn = p->n - p->untimed;
        if (!tn)
            continue;
        /* the first and the last access of the pair: explained at either end, all are */
        bool ok = signin_covers(s, p->session, p->t0, s->o.session_window_s) ||
                  signin_covers(s, p->token, p->t0, s->o.signin_window_s) ||
                  signin_covers(s, p->session, p->t1, s->o.session_window_s) ||
                  signin_covers(s, p->token, p->t1, s->o.signin_window_s);
        if (ok)
            g->matched += tn;
        else if (have_signins && !s->si_dropped)
            no_signin += tn;
        else
            unlinked += tn; /* no sign-ins for the tenant, or not all of them remembered */
    }
    if (st) {
        st->groups++;
        st->no_signin += no_signin;
        st->unlinkable += unlinked;
    }
    /* signals and score */
    vg_sess_signal sigs[VG_MAX_SESSION_SIGNALS + 4];
    uint32_t ns = 0, primary = 0;
    int score = 0, top = -1;
    for (uint32_t k = 0; k < g->n_sigs; k++) {
        const sig *x = &g->sigs[k];
        sigs[ns++] = (vg_sess_signal){x->name,    x->kind,  x->rule, vg__sessions_level_name(x->level),
                                      x->records, x->family};
        /* a family counts once, at its highest level */
        bool counted = false;
        for (uint32_t q = 0; q < g->n_sigs; q++) {
            if (q == k || g->sigs[q].family != x->family)
                continue;
            if (g->sigs[q].level > x->level || (g->sigs[q].level == x->level && q < k))
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
        return VIGIE_OK; /* supporting evidence never alerts alone */
    if (unlinked) {
        sigs[ns++] = (vg_sess_signal){"unlinkable", "supporting", NULL, "low", unlinked, NULL};
        score += 1;
    }
    if (g->actor_hours * 2 > g->records) {
        sigs[ns++] = (vg_sess_signal){"actor_hours", "supporting", NULL, "low", g->actor_hours, NULL};
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
    /* one signal alone keeps its own level: supporting evidence raises the score, never the
     * level of a lone signal (a new application alone stays medium at most) */
    if (level < top)
        level = top; /* never below the strongest signal's own level */
    if (primary == 1)
        level = top;
    /* the parts of the key, NUL-terminated, and the alert key: the bare key for the first
     * window of a key that alerts, the key and the window's first time for any later one */
    vg__buf_reset(scratch);
    size_t kl = strlen(g->key);
    vg__buf_add(scratch, g->key, kl + 1);
    bool later = vg__hmap_find_u64(&s->emitted_keys, g->hash) != NULL;
    if (later) {
        char iso[40] = "-";
        if (timed(g))
            vg__format_time(g->first, iso, sizeof iso);
        scratch->len--;
        vg__buf_adds(scratch, "\x1fw:");
        vg__buf_adds(scratch, iso);
        vg__buf_addc(scratch, '\0');
    }
    size_t parts = scratch->len;
    vg__buf_add(scratch, g->key, kl + 1);
    if (vg__buf_failed(scratch))
        return VIGIE_NOMEM;
    char *p = scratch->data + parts;
    p[g->user_off - 1] = '\0';
    p[g->id_off - 3] = '\0';
    const char *ips[VG_SESS_INFRA], *apps[VG_SESS_INFRA], *uas[VG_SESS_INFRA];
    const char *folders[VG_MAX_SESSION_FOLDERS];
    const char **lists[4] = {ips, apps, uas, folders};
    uint32_t nl[4] = {0, 0, 0, 0};
    for (uint32_t i = 0; i < g->n_inf; i++) {
        int k = (int)(g->inf[i] >> 28);
        lists[k][nl[k]++] = s->pool[g->inf[i] & 0x0fffffffu];
    }
    vg_sess_evidence ev[VG_MAX_SESSION_EVIDENCE];
    for (uint32_t i = 0; i < g->n_ev; i++) {
        const ev_rec *e = &g->ev[i];
        ev[i] = (vg_sess_evidence){.file = s->pool[e->file],
                                   .line = e->line,
                                   .index = e->index,
                                   .offset = e->offset,
                                   .alert_ids = e->ids ? g->ids + e->ids - 1 : NULL};
        memcpy(ev[i].sha256, e->sha256, sizeof ev[i].sha256);
    }
    vg_sess_alert a = {.key = scratch->data,
                       .tenant = p,
                       .user = p + g->user_off,
                       .session = g->has_session ? p + g->id_off : NULL,
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
                       .folders = folders,
                       .n_folders = nl[INF_FOLDER],
                       .evidence = ev,
                       .n_evidence = g->n_ev,
                       .evidence_omitted = g->ev_omitted,
                       .no_signin = no_signin,
                       .unlinkable = unlinked,
                       .matched = g->matched,
                       .ips = ips,
                       .n_ips = nl[INF_IP],
                       .apps = apps,
                       .n_apps = nl[INF_APP],
                       .uas = uas,
                       .n_uas = nl[INF_UA]};
    if (!later) {
        vg_hmap_slot *e;
        bool added;
        vg__hmap_put_u64(&s->emitted_keys, g->hash, &e, &added); /* full: a later window of
                                                                    this key reuses the id */
    }
    s->emitted++;
    if (st) {
        st->alerts++;
        st->by_level[level]++;
    }
    return emit(ud, &a);
}

/* Sign-in ids the watermark has passed (last + window + lateness) are forgotten. */
static void age_signins(vg_sessions *s, double w)
{
    if (w < s->swept + 3600 && w != INFINITY)
        return; /* at most one sweep an hour of event time */
    s->swept = w;
    uint64_t kept = 0, aged = 0;
    for (uint64_t i = 0; i < s->si_cap; i++) {
        signin *e = &s->si[i];
        if (!e->hash)
            continue;
        double win = (e->hash & 1) == KIND_TOKEN ? s->o.signin_window_s : s->o.session_window_s;
        if ((double)e->last + win + s->o.signin_lateness_s < w) {
            e->hash = 0;
            aged++;
        } else {
            kept++;
        }
    }
    if (!aged)
        return;
    s->si_aged += aged;
    s->si_n = kept;
    si_rehash(s, s->si_cap); /* the holes broke probe sequences: lay them out again */
}

int vg__sessions_advance(vg_sessions *s, double watermark, vg_sess_emit emit, void *ud,
                         vg_sess_stats *st)
{
    if (st) {
        memset(st, 0, sizeof *st);
        stats_base(s, st);
    }
    if (watermark < s->watermark)
        watermark = s->watermark; /* a watermark never goes back */
    s->watermark = watermark;
    closing *list = malloc((s->n ? s->n : 1) * sizeof *list);
    vg_buf scratch;
    vg__buf_init(&scratch, 0);
    if (!list)
        return VIGIE_NOMEM;
    uint64_t n = 0;
    for (uint64_t i = 0; i < s->cap; i++)
        for (group *g = s->g[i]; g; g = g->next) {
            double c = close_time(s, g);
            if (c < watermark || watermark == INFINITY)
                list[n++] = (closing){g, c};
        }
    qsort(list, n, sizeof *list, closing_cmp);
    int rc = VIGIE_OK;
    for (uint64_t i = 0; i < n && rc == VIGIE_OK; i++)
        rc = emit_group(s, list[i].g, emit, ud, st, &scratch);
    /* unlink and free what closed (all of it, even after an emit error) */
    for (uint64_t i = 0; i < n; i++) {
        group *g = list[i].g;
        uint64_t j = key_slot(s, g->key, g->hash);
        group **p = &s->g[j];
        while (*p && *p != g)
            p = &(*p)->next;
        if (*p) {
            *p = g->next;
            if (!s->g[j]) {
                table_del(s, j);
                s->n_keys--;
            }
        }
        group_free(g);
        s->n--;
    }
    free(list);
    vg__buf_free(&scratch);
    age_signins(s, watermark);
    if (st) {
        st->open = s->n;
        st->signin_ids_aged = s->si_aged;
        st->signin_ids = s->si_n;
    }
    return rc;
}

int vg__sessions_finish(vg_sessions *s, vg_sess_emit emit, void *ud, vg_sess_stats *st)
{
    uint64_t signin_ids = s->si_n; /* reported as they were before the final sweep */
    int rc = vg__sessions_advance(s, INFINITY, emit, ud, st);
    if (st)
        st->signin_ids = signin_ids;
    return rc;
}

bool vg__sessions_tenant_has_signins(const vg_sessions *s, const char *tenant)
{
    /* a lookup (add false) changes nothing */
    const tenant_si *t = tenant_entry((vg_sessions *)(uintptr_t)s, tenant, false);
    return t && t->signins > 0;
}

double vg__sessions_watermark(const vg_sessions *s)
{
    return s->watermark;
}

/* ---- save and load ---------------------------------------------------------------------------
 * A section: version, counters, the watermark; tenants; sign-in ids; the keys that alerted; the
 * string pool; the open groups whole. Loading checks every count against limits.h and every
 * index against what was read, so a truncated or hostile section is refused (VIGIE_INVAL,
 * reported through diag) and leaves the object as it was only for what it had not yet read:
 * load into a fresh object and free it on failure. */
#define SESS_FORMAT 1u

int vg__sessions_save(const vg_sessions *s, vg_buf *out)
{
    vg__ser_u32(out, SESS_FORMAT);
    vg__ser_f64(out, s->watermark);
    vg__ser_f64(out, s->swept);
    const uint64_t cnt[] = {s->seq, s->evicted, s->signins, s->emitted, s->late, s->si_dropped,
                            s->si_aged};
    for (size_t i = 0; i < sizeof cnt / sizeof *cnt; i++)
        vg__ser_u64(out, cnt[i]);
    vg__ser_u64(out, s->n_ts); /* a count: vg__rd_count reads 64 bits */
    for (uint32_t i = 0; i < s->n_ts; i++) {
        vg__ser_str(out, s->ts[i].tenant);
        vg__ser_u64(out, s->ts[i].signins);
    }
    vg__ser_u64(out, s->si_n);
    for (uint64_t i = 0; i < s->si_cap; i++)
        if (s->si[i].hash) {
            vg__ser_u64(out, s->si[i].hash);
            vg__ser_u32(out, s->si[i].first);
            vg__ser_u32(out, s->si[i].last);
        }
    vg__ser_u64(out, s->emitted_keys.n);
    uint32_t it = 0;
    vg_hmap_slot *e;
    while ((e = vg__hmap_next(&s->emitted_keys, &it)))
        vg__ser_u64(out, e->key.u);
    vg__ser_u64(out, s->n_pool);
    for (uint32_t i = 0; i < s->n_pool; i++)
        vg__ser_str(out, s->pool[i]);
    /* groups in creation order: the saved bytes do not depend on the table's layout */
    uint64_t n;
    group **all = all_groups((vg_sessions *)(uintptr_t)s, &n);
    if (!all)
        return VIGIE_NOMEM;
    qsort(all, n, sizeof *all, first_cmp);
    vg__ser_u64(out, n);
    for (uint64_t i = 0; i < n; i++) {
        const group *g = all[i];
        vg__ser_str(out, g->key);
        vg__ser_u32(out, g->user_off);
        vg__ser_u32(out, g->id_off);
        vg__ser_bool(out, g->has_session);
        vg__ser_bool(out, g->msgs_capped);
        vg__ser_str(out, g->day);
        vg__ser_f64(out, g->first);
        vg__ser_f64(out, g->last);
        const uint64_t c[] = {g->records,  g->mail,          g->unlinkable, g->actor_hours,
                              g->rest,     g->matched,       g->pend_overflow,
                              g->ev_omitted, g->seq};
        for (size_t k = 0; k < sizeof c / sizeof *c; k++)
            vg__ser_u64(out, c[k]);
        vg__ser_f64(out, g->ops);
        vg__ser_u64(out, g->n_sigs);
        for (uint32_t k = 0; k < g->n_sigs; k++) {
            const sig *x = &g->sigs[k];
            const char *str[4] = {x->name, x->kind, x->rule, x->family};
            for (int q = 0; q < 4; q++) {
                vg_hmap_slot *pe =
                    str[q] ? vg__hmap_find(&s->pool_idx, str[q], strlen(str[q])) : NULL;
                vg__ser_u32(out, pe ? pe->val.idx : UINT32_MAX);
            }
            vg__ser_u8(out, (uint8_t)x->level);
            vg__ser_u64(out, x->records);
        }
        vg__ser_u64(out, g->n_pend);
        for (uint32_t k = 0; k < g->n_pend; k++) {
            const pend_id *p = PEND(g, k);
            vg__ser_u64(out, p->session);
            vg__ser_u64(out, p->token);
            vg__ser_f64(out, p->t0);
            vg__ser_f64(out, p->t1);
            vg__ser_u64(out, p->n);
            vg__ser_u64(out, p->untimed);
        }
        vg__ser_u64(out, g->n_msgs);
        for (uint32_t k = 0; k < g->cap_msgs; k++)
            if (g->msgs[k])
                vg__ser_u64(out, g->msgs[k]);
        vg__ser_u64(out, g->n_inf);
        for (uint32_t k = 0; k < g->n_inf; k++)
            vg__ser_u32(out, g->inf[k]);
        vg__ser_u64(out, g->n_ev);
        for (uint32_t k = 0; k < g->n_ev; k++) {
            const ev_rec *x = &g->ev[k];
            vg__ser_u64(out, x->line);
            vg__ser_u64(out, x->index);
            vg__ser_u64(out, x->offset);
            vg__ser_u32(out, x->file);
            vg__ser_str(out, x->ids ? g->ids + x->ids - 1 : NULL);
            vg__ser_bytes(out, x->sha256, sizeof x->sha256);
        }
    }
    free(all);
    return vg__buf_failed(out) ? VIGIE_NOMEM : VIGIE_OK;
}

static int load_fail(vigie_diag_fn diag, void *ud, const char *why)
{
    vg__diag(diag, ud, VIGIE_DIAG_ERROR, VIGIE_INVAL, NULL, 0, 0, NULL, "%s", why);
    return VIGIE_INVAL;
}

/* A group's key read from a section: whole, with the separators where its offsets say. */
static bool key_ok(const char *key, uint32_t uo, uint32_t io)
{
    size_t kl = strlen(key);
    return uo >= 1 && io >= uo + 3 && io <= kl && key[uo - 1] == '\x1f' &&
           key[io - 3] == '\x1f' && strchr("std", key[io - 2]) && key[io - 1] == ':';
}

int vg__sessions_load(vg_sessions *s, vg_rd *in, vigie_diag_fn diag, void *ud)
{
    if (s->n || s->si_n || s->n_ts || s->n_pool)
        return load_fail(diag, ud, "sessions: a state loads into a fresh object");
    if (vg__rd_u32(in) != SESS_FORMAT || in->err)
        return load_fail(diag, ud, "sessions: not a sessions section of a known format");
    int rc = VIGIE_INVAL;
    uint32_t *remap = NULL;
    group *g = NULL;
    double w = vg__rd_f64(in), swept = vg__rd_f64(in);
    uint64_t cnt[7];
    for (size_t i = 0; i < 7; i++)
        cnt[i] = vg__rd_u64(in);
    uint64_t nt = vg__rd_count(in, VG_MAX_SIGNIN_IDS);
    for (uint64_t i = 0; i < nt && !in->err; i++) {
        char *t = vg__rd_strdup(in);
        uint64_t k = vg__rd_u64(in);
        tenant_si *ts = t && !in->err ? tenant_entry(s, t, true) : NULL;
        free(t);
        if (!ts)
            goto bad;
        ts->signins = k;
    }
    uint64_t max_si = s->o.max_signin_ids ? s->o.max_signin_ids : VG_MAX_SIGNIN_IDS;
    uint64_t nsi = vg__rd_count(in, max_si);
    for (uint64_t i = 0; i < nsi && !in->err; i++) {
        uint64_t h = vg__rd_u64(in);
        uint32_t f = vg__rd_u32(in), l = vg__rd_u32(in);
        if (!h || in->err)
            goto bad;
        signin_put(s, h, f, l);
    }
    uint64_t nk = vg__rd_count(in, VG_MAX_SESSIONS);
    for (uint64_t i = 0; i < nk && !in->err; i++) {
        vg_hmap_slot *e;
        bool added;
        uint64_t h = vg__rd_u64(in);
        if (!h || in->err || vg__hmap_put_u64(&s->emitted_keys, h, &e, &added))
            goto bad;
    }
    uint64_t np = vg__rd_count(in, 1u << 28);
    if (in->err)
        goto bad;
    remap = malloc((np ? np : 1) * sizeof *remap);
    if (!remap) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    for (uint64_t i = 0; i < np; i++) {
        char *str = vg__rd_strdup(in);
        remap[i] = str ? intern(s, str) : UINT32_MAX;
        free(str);
        if (remap[i] == UINT32_MAX)
            goto bad;
    }
    uint64_t ng = vg__rd_count(in, s->o.max_sessions ? s->o.max_sessions : VG_MAX_SESSIONS);
    for (uint64_t i = 0; i < ng && !in->err; i++) {
        char *key = vg__rd_strdup(in);
        uint32_t uo = vg__rd_u32(in), io = vg__rd_u32(in);
        if (!key || in->err || !key_ok(key, uo, io)) {
            free(key);
            goto bad;
        }
        uint64_t h = vg__hash64(key, strlen(key), 0xcbf29ce484222325ull);
        g = group_new(s, key, h);
        free(key);
        if (!g) {
            rc = VIGIE_NOMEM;
            goto out;
        }
        s->n--; /* counted when linked */
        g->user_off = uo;
        g->id_off = io;
        g->has_session = vg__rd_bool(in);
        g->msgs_capped = vg__rd_bool(in);
        char *day = vg__rd_strdup(in);
        if (!day || strlen(day) >= sizeof g->day) {
            free(day);
            goto bad;
        }
        memcpy(g->day, day, strlen(day) + 1);
        free(day);
        g->first = vg__rd_f64(in);
        g->last = vg__rd_f64(in);
        uint64_t *c[] = {&g->records,  &g->mail,          &g->unlinkable, &g->actor_hours,
                         &g->rest,     &g->matched,       &g->pend_overflow,
                         &g->ev_omitted, &g->seq};
        for (size_t k = 0; k < sizeof c / sizeof *c; k++)
            *c[k] = vg__rd_u64(in);
        g->ops = vg__rd_f64(in);
        if (in->err || g->seq >= cnt[0] || isnan(g->first) || isnan(g->last))
            goto bad;
        uint64_t ns = vg__rd_count(in, VG_MAX_SESSION_SIGNALS);
        for (uint64_t k = 0; k < ns && !in->err; k++) {
            const char *str[4];
            for (int q = 0; q < 4; q++) {
                uint32_t x = vg__rd_u32(in);
                str[q] = x < np ? s->pool[remap[x]] : NULL;
                if (!str[q] && (q != 2 || x != UINT32_MAX))
                    goto bad;
            }
            uint8_t lv = vg__rd_u8(in);
            uint64_t rec = vg__rd_u64(in);
            if (lv > VG_SL_CRITICAL || in->err)
                goto bad;
            add_sig(g, str[0], str[1], str[2], lv, str[3], rec);
        }
        uint64_t npd = vg__rd_count(in, VG_MAX_SESSION_PENDING);
        for (uint64_t k = 0; k < npd && !in->err; k++) {
            uint64_t sh = vg__rd_u64(in), th = vg__rd_u64(in);
            double t0 = vg__rd_f64(in), t1 = vg__rd_f64(in);
            uint64_t pn = vg__rd_u64(in), pu = vg__rd_u64(in);
            if (in->err || pu > pn)
                goto bad;
            add_pend(g, sh, th, t0, t1, pn, pu);
        }
        uint64_t nm = vg__rd_count(in, VG_MAX_SESSION_MSGS);
        for (uint64_t k = 0; k < nm && !in->err; k++)
            add_msg(g, vg__rd_u64(in));
        uint64_t ni = vg__rd_count(in, 3 * VG_SESS_INFRA + VG_MAX_SESSION_FOLDERS);
        for (uint64_t k = 0; k < ni && !in->err; k++) {
            uint32_t v = vg__rd_u32(in), idx = v & 0x0fffffffu;
            if (v >> 28 > INF_FOLDER || idx >= np)
                goto bad;
            add_inf(g, (int)(v >> 28), remap[idx]);
        }
        uint64_t ne = vg__rd_count(in, VG_MAX_SESSION_EVIDENCE);
        for (uint64_t k = 0; k < ne && !in->err; k++) {
            ev_rec x = {.line = vg__rd_u64(in), .index = vg__rd_u64(in), .offset = vg__rd_u64(in)};
            uint32_t f = vg__rd_u32(in);
            char *ids = vg__rd_strdup(in);
            size_t sl;
            const uint8_t *sha = vg__rd_bytes(in, &sl, NULL);
            if (in->err || f >= np || !sha || sl != sizeof x.sha256) {
                free(ids);
                goto bad;
            }
            x.file = remap[f];
            memcpy(x.sha256, sha, sizeof x.sha256);
            add_ev(g, &x, ids);
            free(ids);
        }
        if (in->err)
            goto bad;
        /* link: the key's chain in order of first time */
        if ((s->n_keys + 1) * 2 > s->cap && table_grow(s)) {
            rc = VIGIE_NOMEM;
            goto out;
        }
        uint64_t j = key_slot(s, g->key, g->hash);
        if (!s->g[j])
            s->n_keys++;
        group **p = &s->g[j];
        while (*p && timed(*p) && (*p)->first < g->first)
            p = &(*p)->next;
        g->next = *p;
        *p = g;
        s->n++;
        g = NULL;
    }
    if (!vg__rd_done(in))
        goto bad;
    s->watermark = w;
    s->swept = swept;
    s->seq = cnt[0];
    s->evicted = cnt[1];
    s->signins = cnt[2];
    s->emitted = cnt[3];
    s->late = cnt[4];
    s->si_dropped = cnt[5];
    s->si_aged = cnt[6];
    rc = VIGIE_OK;
    goto out;
bad:
    rc = load_fail(diag, ud, "sessions: the saved section is truncated or malformed");
out:
    group_free(g);
    free(remap);
    return rc;
}
