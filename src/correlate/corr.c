/* SPDX-License-Identifier: Apache-2.0 */
/*
 * corr.c: the Sigma 2.1 correlation engine (corr.h). Built once from the loaded rules: each
 * correlation rule's references are resolved (id, then name) into "slots" (its distinct
 * referenced rules), its group-by and condition.field names are resolved per slot through
 * `aliases`, and a table maps each referenced rule to the (correlation, slot) pairs it feeds.
 * Per correlation, groups live in a chained hash table with an LRU list (least recently
 * updated evicted at the limit); each group keeps a ring of window entries in time order
 * (t, value, event_ref), the index `win` of the first entry inside the window
 * [newest - timespan, newest], and running totals over [win, n): count, sum, distinct values
 * (an open-addressing table of 64-bit value hashes with counts) or matched slots. Entries
 * older than the window are kept `lateness` longer so a late match can be inserted in order
 * and evaluated over its own window by a scan. Invariants: ring entries are sorted by t;
 * totals always describe exactly [win, n); a correlation is never re-entered during its own
 * feed (chains are checked acyclic at build), so its scratch buffers are safe to use across
 * the chain recursion. Saved state (vg__corr_save/_load, at the end of this file): the rings
 * and counters keyed by rule ids, totals rebuilt at load.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "corr.h"
#include "json/json.h"

/* One window entry: a fed match, or several merged ones (n > 1) at the group limit. */
typedef struct entry {
    double t;
    union {
        double num;  /* value_sum/avg/percentile: the value (merged: the sum) */
        uint64_t vh; /* value_count: hash of the value text */
    } u;
    uint64_t ref;  /* caller's event_ref (merged: the newest one) */
    uint32_t n;    /* matches this entry stands for */
    uint32_t slot; /* referenced-rule slot (temporal types) */
} entry;

typedef struct group {
    struct group *hnext;       /* hash chain */
    struct group *prev, *next; /* LRU list, head = most recently updated */
    uint64_t hash;
    char *key; /* group values: per group-by field, u32 length + bytes */
    uint32_t key_len, key_cap;
    entry *ring; /* cap entries, a power of two; logical i at (head+i)&(cap-1) */
    uint32_t cap, head, n, win;
    double newest;     /* newest t accepted (-inf when none) */
    uint64_t cnt;      /* sum of entry n over [win, n) */
    double sum;        /* sum of u.num over [win, n) (value_sum/avg) */
    uint32_t distinct; /* value_count: distinct hashes; temporal: slots with cnt > 0 */
    uint64_t last_ref; /* event_ref of the last match accepted (dedupe) */
    bool has_last;
    uint32_t *slot_cnt; /* temporal types: entries per slot over [win, n) */
    uint64_t *vkey;     /* value_count: open addressing, 0 = empty */
    uint32_t *vcnt;
    uint32_t vcap; /* 2 x cap */
} group;

typedef struct corr {
    const vg_rule *rule;
    const vg_correlation *k;
    bool active;
    uint32_t n_slots;
    const vg_rule **slot_rule; /* n_slots */
    uint32_t *seq;             /* temporal_ordered: slot of each listed rule */
    uint32_t n_seq;
    const char **gb_field;  /* [slot * n_group_by + i]: field to read (aliases applied) */
    const char **val_field; /* [slot]: condition.field to read */
    double pct;             /* value_percentile: 0..100 */
    uint32_t max_groups, n_groups, n_buckets;
    group **buckets;
    group *lru_head, *lru_tail;
    vg_buf key, disp; /* scratch: group key being built; alert group text */
    const char **gv;  /* n_group_by: values of the group being fed (into key) */
    uint32_t *gl;
    vg_corr_stats st;
} corr;

typedef struct route {
    const vg_rule *rule;
    uint32_t corr, slot;
} route;

typedef struct rinfo {
    const vg_rule *rule; /* NULL = empty bucket */
    uint32_t first, n;   /* routes[first .. first+n) */
    bool gen;            /* some referencing correlation has generate: true */
} rinfo;

struct vg_corr {
    corr *v;
    uint32_t n;
    route *routes;
    uint32_t n_routes;
    rinfo *rtab;
    uint32_t rtab_cap;
    double lateness;
    bool reset;
    uint64_t refs[VG_CORR_MAX_ALERT_REFS];
    double *dscr;   /* VG_CORR_MAX_GROUP_EVENTS: percentile values */
    uint64_t *hscr; /* VG_CORR_MAX_GROUP_EVENTS: value hashes of a late scan */
    uint8_t *sscr;  /* max slots: temporal slots seen in a late scan */
};

/* ---- small helpers -------------------------------------------------------------------- */

static uint64_t hash_ptr(const void *p)
{
    return vg__hash64_u64((uint64_t)(uintptr_t)p, 0);
}

static bool is_temporal(uint8_t type)
{
    return type == VG_CORR_TEMPORAL || type == VG_CORR_TEMPORAL_ORDERED;
}

static bool is_additive(uint8_t type)
{
    return type == VG_CORR_EVENT_COUNT || type == VG_CORR_VALUE_SUM || type == VG_CORR_VALUE_AVG;
}

static bool has_num(uint8_t type)
{
    return type == VG_CORR_VALUE_SUM || type == VG_CORR_VALUE_AVG ||
           type == VG_CORR_VALUE_PERCENTILE;
}

static inline entry *E(const group *g, uint32_t i)
{
    return &g->ring[(g->head + i) & (g->cap - 1)];
}

/* ---- value_count: distinct hashes with counts (linear probing, backward-shift delete) -- */

static void vt_add(group *g, uint64_t h)
{
    uint32_t m = g->vcap - 1, i = (uint32_t)h & m;
    while (g->vkey[i] && g->vkey[i] != h)
        i = (i + 1) & m;
    if (!g->vkey[i]) {
        g->vkey[i] = h;
        g->vcnt[i] = 0;
        g->distinct++;
    }
    g->vcnt[i]++;
}

static void vt_del(group *g, uint64_t h)
{
    uint32_t m = g->vcap - 1, i = (uint32_t)h & m;
    while (g->vkey[i] && g->vkey[i] != h)
        i = (i + 1) & m;
    if (!g->vkey[i] || --g->vcnt[i])
        return;
    g->distinct--;
    /* backward shift: move later members of the run into the hole when their home allows */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & m; g->vkey[j]; j = (j + 1) & m) {
        uint32_t home = (uint32_t)g->vkey[j] & m;
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            g->vkey[hole] = g->vkey[j];
            g->vcnt[hole] = g->vcnt[j];
            hole = j;
        }
    }
    g->vkey[hole] = 0;
}

/* ---- totals over [win, n) ------------------------------------------------------------- */

static void tot_add(const corr *k, group *g, const entry *e)
{
    g->cnt += e->n;
    switch (k->k->type) {
    case VG_CORR_VALUE_SUM:
    case VG_CORR_VALUE_AVG:
        g->sum += e->u.num;
        break;
    case VG_CORR_VALUE_COUNT:
        vt_add(g, e->u.vh);
        break;
    case VG_CORR_TEMPORAL:
    case VG_CORR_TEMPORAL_ORDERED:
        if (g->slot_cnt[e->slot]++ == 0)
            g->distinct++;
        break;
    default:
        break;
    }
}

static void tot_del(const corr *k, group *g, const entry *e)
{
    g->cnt -= e->n;
    switch (k->k->type) {
    case VG_CORR_VALUE_SUM:
    case VG_CORR_VALUE_AVG:
        g->sum -= e->u.num;
        if (!g->cnt)
            g->sum = 0; /* an empty window sums to exactly 0: no drift carried over */
        break;
    case VG_CORR_VALUE_COUNT:
        vt_del(g, e->u.vh);
        break;
    case VG_CORR_TEMPORAL:
    case VG_CORR_TEMPORAL_ORDERED:
        if (--g->slot_cnt[e->slot] == 0)
            g->distinct--;
        break;
    default:
        break;
    }
}

/* Recompute win and the totals from the ring (after growth or a reset). */
static void tot_rebuild(const corr *k, group *g)
{
    g->cnt = 0;
    g->sum = 0;
    g->distinct = 0;
    if (g->slot_cnt)
        memset(g->slot_cnt, 0, k->n_slots * sizeof *g->slot_cnt);
    if (g->vkey)
        memset(g->vkey, 0, g->vcap * sizeof *g->vkey);
    double lo = g->newest - k->k->timespan;
    g->win = 0;
    while (g->win < g->n && E(g, g->win)->t < lo)
        g->win++;
    for (uint32_t i = g->win; i < g->n; i++)
        tot_add(k, g, E(g, i));
}

static void pop_front(group *g)
{
    g->head = (g->head + 1) & (g->cap - 1);
    g->n--;
}

/* Make room for one more entry: grow the ring, or at VG_CORR_MAX_GROUP_EVENTS merge or
 * forget the oldest entry. */
static int make_room(const corr *k, group *g)
{
    if (g->n < g->cap)
        return VIGIE_OK;
    if (g->cap < VG_CORR_MAX_GROUP_EVENTS) {
        uint32_t cap = g->cap ? g->cap * 2 : 8;
        entry *r = malloc(cap * sizeof *r);
        if (!r)
            return VIGIE_NOMEM;
        for (uint32_t i = 0; i < g->n; i++)
            r[i] = *E(g, i);
        free(g->ring);
        g->ring = r;
        g->cap = cap;
        g->head = 0;
        if (k->k->type == VG_CORR_VALUE_COUNT) {
            uint64_t *vk = malloc(2 * cap * sizeof *vk);
            uint32_t *vc = malloc(2 * cap * sizeof *vc);
            if (!vk || !vc) {
                free(vk);
                free(vc);
                return VIGIE_NOMEM;
            }
            free(g->vkey);
            free(g->vcnt);
            g->vkey = vk;
            g->vcnt = vc;
            g->vcap = 2 * cap;
            tot_rebuild(k, g);
        }
        return VIGIE_OK;
    }
    ((corr *)k)->st.overflow++;
    if (g->win > 0) { /* the oldest is only kept for late matches: forget it */
        pop_front(g);
        g->win--;
    } else if (is_additive(k->k->type)) { /* fold the oldest into the next: totals unchanged */
        entry *a = E(g, 0), *b = E(g, 1);
        b->n += a->n;
        b->u.num += a->u.num;
        pop_front(g);
    } else {
        tot_del(k, g, E(g, 0));
        pop_front(g);
    }
    return VIGIE_OK;
}

/* First logical index whose t is >= x (lower) or > x (upper). */
static uint32_t bound(const group *g, double x, bool upper)
{
    uint32_t lo = 0, hi = g->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        double t = E(g, mid)->t;
        if (upper ? t <= x : t < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- groups ---------------------------------------------------------------------------- */

static void lru_unlink(corr *k, group *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        k->lru_head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    else
        k->lru_tail = g->prev;
    g->prev = g->next = NULL;
}

static void lru_front(corr *k, group *g)
{
    g->next = k->lru_head;
    g->prev = NULL;
    if (k->lru_head)
        k->lru_head->prev = g;
    k->lru_head = g;
    if (!k->lru_tail)
        k->lru_tail = g;
}

static void bucket_remove(corr *k, group *g)
{
    group **pp = &k->buckets[g->hash & (k->n_buckets - 1)];
    while (*pp != g)
        pp = &(*pp)->hnext;
    *pp = g->hnext;
    g->hnext = NULL;
}

static int grow_buckets(corr *k)
{
    uint32_t nb = k->n_buckets ? k->n_buckets * 2 : 64;
    group **b = calloc(nb, sizeof *b);
    if (!b)
        return VIGIE_NOMEM;
    free(k->buckets);
    k->buckets = b;
    k->n_buckets = nb;
    for (group *g = k->lru_head; g; g = g->next) {
        g->hnext = b[g->hash & (nb - 1)];
        b[g->hash & (nb - 1)] = g;
    }
    return VIGIE_OK;
}

static void group_free(group *g)
{
    free(g->key);
    free(g->ring);
    free(g->slot_cnt);
    free(g->vkey);
    free(g->vcnt);
    free(g);
}

/* The group of the key in k->key: found, new, or the least recently updated one reused. */
static int group_get(corr *k, group **out)
{
    const char *key = k->key.data ? k->key.data : "";
    uint32_t len = (uint32_t)k->key.len;
    uint64_t h = vg__hash64(key, len, 0);
    if (k->n_buckets) {
        for (group *g = k->buckets[h & (k->n_buckets - 1)]; g; g = g->hnext) {
            if (g->hash == h && g->key_len == len && (!len || !memcmp(g->key, key, len))) {
                lru_unlink(k, g);
                lru_front(k, g);
                *out = g;
                return VIGIE_OK;
            }
        }
    }
    group *g;
    if (k->n_groups < k->max_groups) {
        if (k->n_groups >= k->n_buckets && grow_buckets(k))
            return VIGIE_NOMEM;
        if (!(g = calloc(1, sizeof *g)))
            return VIGIE_NOMEM;
        if (is_temporal(k->k->type) && !(g->slot_cnt = calloc(k->n_slots, sizeof(uint32_t)))) {
            free(g);
            return VIGIE_NOMEM;
        }
        k->n_groups++;
    } else {
        g = k->lru_tail;
        bucket_remove(k, g);
        lru_unlink(k, g);
        k->st.evictions++;
        g->n = g->head = g->win = 0;
        if (g->slot_cnt)
            memset(g->slot_cnt, 0, k->n_slots * sizeof *g->slot_cnt);
        if (g->vkey)
            memset(g->vkey, 0, g->vcap * sizeof *g->vkey);
    }
    g->newest = -INFINITY;
    g->cnt = 0;
    g->sum = 0;
    g->distinct = 0;
    g->has_last = false;
    if (len > g->key_cap) {
        char *nk = realloc(g->key, len);
        if (!nk) {
            group_free(g); /* not linked anywhere */
            k->n_groups--;
            return VIGIE_NOMEM;
        }
        g->key = nk;
        g->key_cap = len;
    }
    if (len)
        memcpy(g->key, key, len);
    g->key_len = len;
    g->hash = h;
    group **b = &k->buckets[h & (k->n_buckets - 1)];
    g->hnext = *b;
    *b = g;
    lru_front(k, g);
    *out = g;
    return VIGIE_OK;
}

/* ---- evaluation ------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* k-th smallest of a[0..n) (Hoare partition, which stays linear on repeated values);
 * afterwards every a[i > k] >= a[k]. */
static double select_k(double *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* Percentile p (0..100) of a[0..n), linear interpolation between closest ranks. */
static double percentile(double *a, uint32_t n, double p)
{
    double r = p / 100.0 * (double)(n - 1);
    int64_t lo = (int64_t)floor(r);
    double v = select_k(a, n, lo), frac = r - (double)lo;
    if (frac > 0 && lo + 1 < (int64_t)n) {
        double next = a[lo + 1];
        for (int64_t i = lo + 2; i < (int64_t)n; i++)
            if (a[i] < next)
                next = a[i];
        v += frac * (next - v);
    }
    return v;
}

/* The correlation's value over entries [lo, hi] by a scan; *n_events gets their count. */
static double scan_value(vg_corr *c, const corr *k, const group *g, uint32_t lo, uint32_t hi,
                         uint64_t *n_events)
{
    uint64_t cnt = 0;
    double sum = 0;
    uint32_t m = 0, matched = 0;
    if (k->k->type == VG_CORR_TEMPORAL)
        memset(c->sscr, 0, k->n_slots);
    for (uint32_t i = lo; i <= hi; i++) {
        const entry *e = E(g, i);
        cnt += e->n;
        switch (k->k->type) {
        case VG_CORR_VALUE_SUM:
        case VG_CORR_VALUE_AVG:
            sum += e->u.num;
            break;
        case VG_CORR_VALUE_PERCENTILE:
            c->dscr[m++] = e->u.num;
            break;
        case VG_CORR_VALUE_COUNT:
            c->hscr[m++] = e->u.vh;
            break;
        case VG_CORR_TEMPORAL:
            if (!c->sscr[e->slot]) {
                c->sscr[e->slot] = 1;
                matched++;
            }
            break;
        case VG_CORR_TEMPORAL_ORDERED:
            if (matched < k->n_seq && e->slot == k->seq[matched])
                matched++;
            break;
        default:
            break;
        }
    }
    *n_events = cnt;
    switch (k->k->type) {
    case VG_CORR_EVENT_COUNT:
        return (double)cnt;
    case VG_CORR_VALUE_SUM:
        return sum;
    case VG_CORR_VALUE_AVG:
        return cnt ? sum / (double)cnt : 0;
    case VG_CORR_VALUE_PERCENTILE:
        return m ? percentile(c->dscr, m, k->pct) : NAN;
    case VG_CORR_VALUE_COUNT: {
        qsort(c->hscr, m, sizeof *c->hscr, cmp_u64);
        uint32_t d = 0;
        for (uint32_t i = 0; i < m; i++)
            d += !i || c->hscr[i] != c->hscr[i - 1];
        return d;
    }
    default:
        return matched;
    }
}

/* The value over the current window [win, n) from the running totals. */
static double fast_value(vg_corr *c, const corr *k, const group *g, uint64_t *n_events)
{
    switch (k->k->type) {
    case VG_CORR_EVENT_COUNT:
        *n_events = g->cnt;
        return (double)g->cnt;
    case VG_CORR_VALUE_SUM:
        *n_events = g->cnt;
        return g->sum;
    case VG_CORR_VALUE_AVG:
        *n_events = g->cnt;
        return g->cnt ? g->sum / (double)g->cnt : 0;
    case VG_CORR_VALUE_COUNT:
    case VG_CORR_TEMPORAL:
        *n_events = g->cnt;
        return g->distinct;
    default:
        return scan_value(c, k, g, g->win, g->n - 1, n_events);
    }
}

static bool cond_holds(const corr *k, double v)
{
    const vg_correlation *q = k->k;
    if (isnan(v))
        return false;
    bool any = !isnan(q->gt) || !isnan(q->gte) || !isnan(q->lt) || !isnan(q->lte) || !isnan(q->eq);
    if (!any) /* temporal types without a condition: every listed rule */
        return v >= (q->type == VG_CORR_TEMPORAL_ORDERED ? k->n_seq : k->n_slots);
    return (isnan(q->gt) || v > q->gt) && (isnan(q->gte) || v >= q->gte) &&
           (isnan(q->lt) || v < q->lt) && (isnan(q->lte) || v <= q->lte) &&
           (isnan(q->eq) || v == q->eq);
}

/* ---- feeding --------------------------------------------------------------------------- */

static const rinfo *rlookup(const vg_corr *c, const vg_rule *r)
{
    if (!c->rtab_cap)
        return NULL;
    uint32_t m = c->rtab_cap - 1;
    for (uint32_t i = (uint32_t)hash_ptr(r) & m; c->rtab[i].rule; i = (i + 1) & m)
        if (c->rtab[i].rule == r)
            return &c->rtab[i];
    return NULL;
}

/* Getter of a chained feed: the inner correlation's group values first, then the event. */
typedef struct chain_ud {
    const corr *inner;
    vg_corr_getter get;
    void *get_ud;
} chain_ud;

static bool chain_get(void *ud, const char *field, const char **val, size_t *len)
{
    const chain_ud *ch = ud;
    const vg_correlation *q = ch->inner->k;
    for (uint32_t i = 0; i < q->n_group_by; i++) {
        if (!strcmp(q->group_by[i], field)) {
            *val = ch->inner->gv[i];
            *len = ch->inner->gl[i];
            return true;
        }
    }
    return ch->get(ch->get_ud, field, val, len);
}

static int feed_one(vg_corr *c, uint32_t ci, uint32_t slot, double t, vg_corr_getter get,
                    void *get_ud, uint64_t ref, vg_corr_emit emit, void *emit_ud, uint32_t depth);

static int fire(vg_corr *c, uint32_t ci, group *g, double value, uint32_t lo, uint32_t hi,
                uint64_t n_events, double t, vg_corr_getter get, void *get_ud, uint64_t ref,
                vg_corr_emit emit, void *emit_ud, uint32_t depth)
{
    corr *k = &c->v[ci];
    const vg_correlation *q = k->k;
    int brc = 0;
    vg__buf_reset(&k->disp);
    brc |= vg__buf_addc(&k->disp, '{');
    for (uint32_t i = 0; i < q->n_group_by; i++) {
        brc |= vg__buf_adds(&k->disp, i ? ",\"" : "\"");
        brc |= vg__buf_add_json_str(&k->disp, q->group_by[i], strlen(q->group_by[i]));
        brc |= vg__buf_adds(&k->disp, "\":\"");
        brc |= vg__buf_add_json_str(&k->disp, k->gv[i], k->gl[i]);
        brc |= vg__buf_addc(&k->disp, '"');
    }
    brc |= vg__buf_addc(&k->disp, '}');
    if (brc)
        return VIGIE_NOMEM;
    uint32_t nr = 0;
    for (uint32_t i = hi + 1; i-- > lo && nr < VG_CORR_MAX_ALERT_REFS;)
        c->refs[VG_CORR_MAX_ALERT_REFS - 1 - nr++] = E(g, i)->ref;
    vg_corr_alert a = {
        .rule = k->rule,
        .group = k->disp.data,
        .group_len = k->disp.len,
        .value = value,
        .t_start = E(g, lo)->t,
        .t_end = t,
        .refs = c->refs + VG_CORR_MAX_ALERT_REFS - nr,
        .n_refs = nr,
        .n_events = n_events,
        .depth = depth,
        .output = vg__corr_generates(c, k->rule),
    };
    k->st.alerts++;
    int rc = emit ? emit(emit_ud, &a) : 0;
    if (rc)
        return rc;
    if (c->reset) { /* forget everything up to the firing match */
        for (uint32_t i = 0; i <= hi; i++)
            pop_front(g);
        tot_rebuild(k, g);
    }
    const rinfo *ri = rlookup(c, k->rule);
    if (!ri)
        return VIGIE_OK;
    chain_ud ch = {k, get, get_ud};
    for (uint32_t i = 0; i < ri->n; i++) {
        const route *r = &c->routes[ri->first + i];
        if ((rc = feed_one(c, r->corr, r->slot, t, chain_get, &ch, ref, emit, emit_ud, depth + 1)))
            return rc;
    }
    return VIGIE_OK;
}

static int feed_one(vg_corr *c, uint32_t ci, uint32_t slot, double t, vg_corr_getter get,
                    void *get_ud, uint64_t ref, vg_corr_emit emit, void *emit_ud, uint32_t depth)
{
    corr *k = &c->v[ci];
    const vg_correlation *q = k->k;
    const char *v;
    size_t len;
    int brc = 0;
    vg__buf_reset(&k->key);
    for (uint32_t i = 0; i < q->n_group_by; i++) {
        if (!get(get_ud, k->gb_field[slot * q->n_group_by + i], &v, &len)) {
            k->st.missing_group++;
            return VIGIE_OK;
        }
        uint32_t l = (uint32_t)len;
        brc |= vg__buf_add(&k->key, &l, sizeof l);
        brc |= vg__buf_add(&k->key, v, l);
    }
    if (brc)
        return VIGIE_NOMEM;
    for (size_t off = 0, i = 0; i < q->n_group_by; i++) { /* values, for alerts and chains */
        uint32_t l;
        memcpy(&l, k->key.data + off, sizeof l);
        k->gv[i] = k->key.data + off + sizeof l;
        k->gl[i] = l;
        off += sizeof l + l;
    }
    entry e = {.t = t, .ref = ref, .n = 1, .slot = slot};
    if (q->type == VG_CORR_VALUE_COUNT || has_num(q->type)) {
        if (!get(get_ud, k->val_field[slot], &v, &len) ||
            (has_num(q->type) && vg__json_number(v, len, &e.u.num) != VIGIE_OK)) {
            k->st.missing_value++;
            return VIGIE_OK;
        }
        if (q->type == VG_CORR_VALUE_COUNT)
            e.u.vh = vg__hash64(v, len, 0);
    }
    group *g;
    int rc = group_get(k, &g);
    if (rc)
        return rc;
    if (!is_temporal(q->type) && g->has_last && g->last_ref == ref)
        return VIGIE_OK; /* the same event through another referenced rule: counted once */
    double span = q->timespan;
    uint32_t lo, hi;
    double value;
    uint64_t n_events;
    if (t >= g->newest) {
        g->newest = t;
        while (g->win < g->n && E(g, g->win)->t < t - span)
            tot_del(k, g, E(g, g->win++));
        while (g->n && E(g, 0)->t < t - span - c->lateness) {
            pop_front(g);
            g->win--;
        }
        if ((rc = make_room(k, g)))
            return rc;
        *E(g, g->n++) = e;
        tot_add(k, g, &e);
        lo = g->win;
        hi = g->n - 1;
        value = fast_value(c, k, g, &n_events);
    } else {
        if (t < g->newest - c->lateness) {
            k->st.late_dropped++;
            return VIGIE_OK;
        }
        k->st.late_inserted++;
        if ((rc = make_room(k, g)))
            return rc;
        uint32_t p = bound(g, t, true);
        for (uint32_t i = g->n; i > p; i--)
            *E(g, i) = *E(g, i - 1);
        *E(g, p) = e;
        g->n++;
        if (t >= g->newest - span)
            tot_add(k, g, &e);
        else
            g->win++;
        lo = bound(g, t - span, false);
        hi = p;
        value = scan_value(c, k, g, lo, hi, &n_events);
    }
    k->st.fed++;
    g->last_ref = ref;
    g->has_last = true;
    if (!cond_holds(k, value))
        return VIGIE_OK;
    return fire(c, ci, g, value, lo, hi, n_events, t, get, get_ud, ref, emit, emit_ud, depth);
}

int vg__corr_feed(vg_corr *c, const vg_rule *base_rule, double t, vg_corr_getter get, void *get_ud,
                  uint64_t event_ref, vg_corr_emit emit, void *emit_ud)
{
    const rinfo *ri = rlookup(c, base_rule);
    if (!ri || isnan(t))
        return VIGIE_OK;
    for (uint32_t i = 0; i < ri->n; i++) {
        const route *r = &c->routes[ri->first + i];
        int rc = feed_one(c, r->corr, r->slot, t, get, get_ud, event_ref, emit, emit_ud, 0);
        if (rc)
            return rc;
    }
    return VIGIE_OK;
}

bool vg__corr_wants(const vg_corr *c, const vg_rule *base_rule)
{
    return rlookup(c, base_rule) != NULL;
}

bool vg__corr_generates(const vg_corr *c, const vg_rule *rule)
{
    const rinfo *ri = rlookup(c, rule);
    return !ri || ri->gen;
}

uint32_t vg__corr_count(const vg_corr *c)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n; i++)
        n += c->v[i].active;
    return n;
}

void vg__corr_stats(const vg_corr *c, const vg_rule *corr_rule, vg_corr_stats *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < c->n; i++) {
        const corr *k = &c->v[i];
        if (corr_rule && k->rule != corr_rule)
            continue;
        out->fed += k->st.fed;
        out->alerts += k->st.alerts;
        out->evictions += k->st.evictions;
        out->late_inserted += k->st.late_inserted;
        out->late_dropped += k->st.late_dropped;
        out->missing_group += k->st.missing_group;
        out->missing_value += k->st.missing_value;
        out->overflow += k->st.overflow;
        out->groups += k->n_groups;
    }
}

/* ---- building -------------------------------------------------------------------------- */

static const vg_rule *find_rule(const vg_rule *const *rules, uint32_t n, const vg_rule *self,
                                const char *ref)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < n; i++) {
            const vg_rule *r = rules[i];
            const char *s = pass ? r->name : r->id;
            if (r != self && r->kind != VG_RULE_FILTER && s && !strcmp(s, ref))
                return r;
        }
    }
    return NULL;
}

static bool names_rule(const char *written, const vg_rule *r)
{
    return (r->id && !strcmp(written, r->id)) || (r->name && !strcmp(written, r->name));
}

/* The field that stands for `name` in rule r: the alias's field for r, else name itself. */
static const char *field_for(const vg_correlation *q, const char *name, const vg_rule *r)
{
    for (uint32_t i = 0; q->aliases && i < q->aliases->n; i++) {
        const vg_corr_alias *a = &q->aliases->v[i];
        if (strcmp(a->name, name))
            continue;
        for (uint32_t j = 0; j < a->n; j++)
            if (names_rule(a->rules[j], r))
                return a->fields[j];
    }
    return name;
}

static void refuse(const vg_corr_opts *o, corr *k, const char *why, const char *arg)
{
    k->active = false;
    if (o)
        vg__diag(o->diag, o->diag_ud, VIGIE_DIAG_ERROR, VIGIE_RULE, k->rule->path, k->rule->line, 0,
                 k->rule->id, "correlation skipped: %s%s", why, arg);
}

static int setup_corr(const vg_rule *const *rules, uint32_t n_rules, const vg_corr_opts *o, corr *k)
{
    const vg_correlation *q = k->k;
    uint32_t n_gb = q->n_group_by;
    k->active = true;
    vg__buf_init(&k->key, 0);
    vg__buf_init(&k->disp, 0);
    k->slot_rule = calloc(q->n_rules, sizeof *k->slot_rule);
    k->seq = calloc(q->n_rules, sizeof *k->seq);
    k->gb_field = calloc((size_t)q->n_rules * n_gb + 1, sizeof *k->gb_field);
    k->val_field = calloc(q->n_rules, sizeof *k->val_field);
    k->gv = calloc(n_gb + 1, sizeof *k->gv);
    k->gl = calloc(n_gb + 1, sizeof *k->gl);
    if (!k->slot_rule || !k->seq || !k->gb_field || !k->val_field || !k->gv || !k->gl)
        return VIGIE_NOMEM;
    for (uint32_t p = 0; p < q->n_rules; p++) {
        const vg_rule *r = find_rule(rules, n_rules, k->rule, q->rules[p]);
        if (!r) {
            refuse(o, k, "no rule has the id or name ", q->rules[p]);
            return VIGIE_OK;
        }
        uint32_t s = 0;
        while (s < k->n_slots && k->slot_rule[s] != r)
            s++;
        if (s == k->n_slots) {
            k->slot_rule[k->n_slots++] = r;
            for (uint32_t i = 0; i < n_gb; i++)
                k->gb_field[s * n_gb + i] = field_for(q, q->group_by[i], r);
            k->val_field[s] = q->field ? field_for(q, q->field, r) : NULL;
        }
        k->seq[k->n_seq++] = s;
    }
    k->pct = isnan(q->percentile) ? 50.0 : q->percentile;
    if (q->type == VG_CORR_VALUE_PERCENTILE && !(k->pct >= 0 && k->pct <= 100))
        refuse(o, k, "percentile must be between 0 and 100", "");
    return VIGIE_OK;
}

static int cmp_route(const void *a, const void *b)
{
    const route *x = a, *y = b;
    uintptr_t p = (uintptr_t)x->rule, r = (uintptr_t)y->rule;
    if (p != r)
        return p < r ? -1 : 1;
    return x->corr < y->corr ? -1 : x->corr > y->corr;
}

static int corr_index(const vg_corr *c, const vg_rule *r)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->v[i].rule == r)
            return (int)i;
    return -1;
}

int vg__corr_new(const vg_rule *const *rules, uint32_t n_rules, const vg_corr_opts *opts,
                 vg_corr **out)
{
    int rc = VIGIE_OK;
    *out = NULL;
    if ((n_rules && !rules) ||
        (opts && (isnan(opts->lateness) || opts->lateness < 0 || isinf(opts->lateness))))
        return VIGIE_INVAL;
    vg_corr *c = calloc(1, sizeof *c);
    bool *settled = NULL;
    if (!c)
        return VIGIE_NOMEM;
    c->lateness = opts ? opts->lateness : 0;
    c->reset = opts && opts->reset_on_fire;
    uint32_t max_groups = opts && opts->max_groups ? opts->max_groups : VG_CORR_MAX_GROUPS;
    for (uint32_t i = 0; i < n_rules; i++)
        c->n += rules[i]->kind == VG_RULE_CORRELATION && rules[i]->corr;
    c->v = calloc(c->n + 1, sizeof *c->v);
    c->dscr = malloc(VG_CORR_MAX_GROUP_EVENTS * sizeof *c->dscr);
    c->hscr = malloc(VG_CORR_MAX_GROUP_EVENTS * sizeof *c->hscr);
    settled = calloc(c->n + 1, sizeof *settled);
    if (!c->v || !c->dscr || !c->hscr || !settled) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    uint32_t max_slots = 1, n_routes = 0;
    for (uint32_t i = 0, j = 0; i < n_rules; i++) {
        if (rules[i]->kind != VG_RULE_CORRELATION || !rules[i]->corr)
            continue;
        corr *k = &c->v[j++];
        k->rule = rules[i];
        k->k = rules[i]->corr;
        k->max_groups = max_groups;
        if ((rc = setup_corr(rules, n_rules, opts, k)))
            goto out;
        if (k->n_slots > max_slots)
            max_slots = k->n_slots;
    }
    /* chains: a correlation works once every correlation it references works */
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = 0; i < c->n; i++) {
            corr *k = &c->v[i];
            if (!k->active || settled[i])
                continue;
            bool ok = true;
            for (uint32_t s = 0; s < k->n_slots && ok; s++) {
                int ri = k->slot_rule[s]->kind == VG_RULE_CORRELATION
                             ? corr_index(c, k->slot_rule[s])
                             : -2;
                ok = ri == -2 || (ri >= 0 && c->v[ri].active && settled[ri]);
            }
            if (ok)
                settled[i] = changed = true;
        }
    }
    for (uint32_t i = 0; i < c->n; i++)
        if (c->v[i].active && !settled[i])
            refuse(opts, &c->v[i],
                   "it references a correlation that is skipped or that refers back to it", "");
    for (uint32_t i = 0; i < c->n; i++)
        n_routes += c->v[i].active ? c->v[i].n_slots : 0;
    c->sscr = calloc(max_slots, 1);
    c->routes = calloc(n_routes + 1, sizeof *c->routes);
    c->rtab_cap = 8;
    while (c->rtab_cap < 2 * n_routes)
        c->rtab_cap *= 2;
    c->rtab = calloc(c->rtab_cap, sizeof *c->rtab);
    if (!c->sscr || !c->routes || !c->rtab) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < c->n; i++)
        for (uint32_t s = 0; c->v[i].active && s < c->v[i].n_slots; s++)
            c->routes[c->n_routes++] = (route){c->v[i].slot_rule[s], i, s};
    if (c->n_routes)
        qsort(c->routes, c->n_routes, sizeof *c->routes, cmp_route);
    for (uint32_t i = 0; i < c->n_routes;) {
        uint32_t j = i;
        bool gen = false;
        while (j < c->n_routes && c->routes[j].rule == c->routes[i].rule)
            gen |= c->v[c->routes[j++].corr].k->generate;
        uint32_t m = c->rtab_cap - 1, b = (uint32_t)hash_ptr(c->routes[i].rule) & m;
        while (c->rtab[b].rule)
            b = (b + 1) & m;
        c->rtab[b] = (rinfo){c->routes[i].rule, i, j - i, gen};
        i = j;
    }
out:
    free(settled);
    if (rc) {
        vg__corr_free(c);
        return rc;
    }
    *out = c;
    return VIGIE_OK;
}

void vg__corr_free(vg_corr *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; c->v && i < c->n; i++) {
        corr *k = &c->v[i];
        for (group *g = k->lru_head, *next; g; g = next) {
            next = g->next;
            group_free(g);
        }
        free(k->buckets);
        free(k->slot_rule);
        free(k->seq);
        free(k->gb_field);
        free(k->val_field);
        free(k->gv);
        free(k->gl);
        vg__buf_free(&k->key);
        vg__buf_free(&k->disp);
    }
    free(c->v);
    free(c->routes);
    free(c->rtab);
    free(c->dscr);
    free(c->hscr);
    free(c->sscr);
    free(c);
}

/* ---- saved state --------------------------------------------------------------------------
 * Open windows, keyed by the rules' ids (a rule reload gives new pointers and may reorder
 * slots): u32 version, u64 count, then per active correlation: its key, type, n_group_by,
 * its slots' rule keys, its counters, u64 groups and per group, least recently updated
 * first (so that loading them in order rebuilds the LRU list): key bytes, newest,
 * has_last, last_ref, u64 entries and per entry t, u (bits), ref, n, slot. Totals and `win`
 * are not saved: tot_rebuild derives them from the ring. */

#include "util/ser.h"

#define CORR_SECTION_VERSION 1u

static const char *rule_key(const vg_rule *r)
{
    return r->id ? r->id : r->name ? r->name : r->title ? r->title : "";
}

int vg__corr_save(const vg_corr *c, vg_buf *out)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < c->n; i++)
        n += c->v[i].active;
    vg__ser_u32(out, CORR_SECTION_VERSION);
    vg__ser_u64(out, n);
    for (uint32_t i = 0; i < c->n; i++) {
        const corr *k = &c->v[i];
        if (!k->active)
            continue;
        vg__ser_str(out, rule_key(k->rule));
        vg__ser_u8(out, k->k->type);
        vg__ser_u32(out, k->k->n_group_by);
        vg__ser_u32(out, k->n_slots);
        for (uint32_t s = 0; s < k->n_slots; s++)
            vg__ser_str(out, rule_key(k->slot_rule[s]));
        const vg_corr_stats *st = &k->st;
        uint64_t cnt[] = {st->fed,          st->alerts,        st->evictions,     st->late_inserted,
                          st->late_dropped, st->missing_group, st->missing_value, st->overflow};
        for (size_t j = 0; j < VG_ARRAY_LEN(cnt); j++)
            vg__ser_u64(out, cnt[j]);
        vg__ser_u64(out, k->n_groups);
        for (const group *g = k->lru_tail; g; g = g->prev) {
            vg__ser_bytes(out, g->key, g->key_len);
            vg__ser_f64(out, g->newest);
            vg__ser_bool(out, g->has_last);
            vg__ser_u64(out, g->last_ref);
            vg__ser_u64(out, g->n);
            for (uint32_t e = 0; e < g->n; e++) {
                const entry *x = E(g, e);
                uint64_t u;
                memcpy(&u, &x->u, sizeof u);
                vg__ser_f64(out, x->t);
                vg__ser_u64(out, u);
                vg__ser_u64(out, x->ref);
                vg__ser_u32(out, x->n);
                vg__ser_u32(out, x->slot);
            }
        }
    }
    return out->err ? out->err : VIGIE_OK;
}

/* Forget every group (a failed load leaves no half state). */
static void drop_groups(corr *k)
{
    for (group *g = k->lru_head, *next; g; g = next) {
        next = g->next;
        group_free(g);
    }
    k->lru_head = k->lru_tail = NULL;
    k->n_groups = 0;
    if (k->buckets)
        memset(k->buckets, 0, k->n_buckets * sizeof *k->buckets);
    memset(&k->st, 0, sizeof k->st);
}

/* One group of a section into k (k NULL: read and dropped). slot_map: saved slot -> slot. */
static int load_group(vg_rd *r, corr *k, const uint32_t *slot_map, uint32_t n_saved_slots)
{
    size_t klen;
    bool null;
    const uint8_t *key = vg__rd_bytes(r, &klen, &null);
    double newest = vg__rd_f64(r);
    bool has_last = vg__rd_bool(r);
    uint64_t last_ref = vg__rd_u64(r);
    uint64_t n = vg__rd_count(r, VG_CORR_MAX_GROUP_EVENTS);
    if (r->err || null || isnan(newest))
        return VIGIE_TRUNCATED;
    group *g = NULL;
    if (k) {
        vg__buf_reset(&k->key);
        if (klen && vg__buf_add(&k->key, key, klen))
            return VIGIE_NOMEM;
        int rc = group_get(k, &g);
        if (rc)
            return rc;
        if (g->n || g->newest != -INFINITY)
            return VIGIE_TRUNCATED; /* a group twice */
    }
    double prev = -INFINITY;
    for (uint64_t i = 0; i < n; i++) {
        entry e;
        e.t = vg__rd_f64(r);
        uint64_t u = vg__rd_u64(r);
        memcpy(&e.u, &u, sizeof u);
        e.ref = vg__rd_u64(r);
        e.n = vg__rd_u32(r);
        uint32_t slot = vg__rd_u32(r);
        /* what feeding can make: times in order and not after newest, counts >= 1, a slot of
         * the correlation, a value_count hash never 0 (the empty mark of its table) */
        if (r->err || isnan(e.t) || e.t < prev || e.t > newest || e.n == 0 || slot >= n_saved_slots)
            return VIGIE_TRUNCATED;
        prev = e.t;
        if (!k)
            continue;
        if (k->k->type == VG_CORR_VALUE_COUNT && e.u.vh == 0)
            return VIGIE_TRUNCATED;
        e.slot = slot_map[slot];
        if (g->n >= VG_CORR_MAX_GROUP_EVENTS)
            return VIGIE_TRUNCATED;
        int rc = make_room(k, g);
        if (rc)
            return rc;
        *E(g, g->n++) = e;
    }
    if (g) {
        g->newest = newest;
        g->has_last = has_last;
        g->last_ref = last_ref;
        tot_rebuild(k, g);
    }
    return VIGIE_OK;
}

int vg__corr_load(vg_corr *c, const void *p, size_t n, vigie_diag_fn diag, void *diag_ud)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->v[i].n_groups)
            return VIGIE_INVAL;
    vg_rd r;
    vg__rd_init(&r, p, n);
    int rc = VIGIE_TRUNCATED;
    uint32_t *slot_map = NULL;
    uint8_t *seen = calloc(c->n + 1, 1);
    if (!seen)
        return VIGIE_NOMEM;
    if (vg__rd_u32(&r) != CORR_SECTION_VERSION)
        goto fail;
    /* counts that size nothing are bounded by what the section can hold: a correlation takes
     * at least 85 bytes, a slot 4 */
    uint64_t count = vg__rd_count(&r, (r.n - r.at) / 85);
    for (uint64_t i = 0; i < count && !r.err; i++) {
        size_t len;
        bool null;
        const uint8_t *id = vg__rd_bytes(&r, &len, &null);
        size_t id_len = len;
        uint8_t type = vg__rd_u8(&r);
        uint32_t n_gb = vg__rd_u32(&r);
        uint32_t n_slots = vg__rd_u32(&r);
        if (r.err || null || n_slots > (r.n - r.at) / 4)
            goto fail;
        free(slot_map);
        if (!(slot_map = malloc(((size_t)n_slots + 1) * sizeof *slot_map))) {
            rc = VIGIE_NOMEM;
            goto fail;
        }
        corr *k = NULL;
        for (uint32_t j = 0; j < c->n && !k; j++)
            if (c->v[j].active && !seen[j] && strlen(rule_key(c->v[j].rule)) == len &&
                !memcmp(rule_key(c->v[j].rule), id, len))
                k = &c->v[j], seen[j] = 1;
        const char *why = NULL;
        if (!k)
            why = "no loaded correlation rule has this id";
        else if (k->k->type != type || k->k->n_group_by != n_gb)
            why = "the rule's type or group-by changed";
        for (uint32_t s = 0; s < n_slots; s++) {
            const uint8_t *sid = vg__rd_bytes(&r, &len, &null);
            if (r.err || null)
                goto fail;
            uint32_t m = 0;
            while (k && m < k->n_slots &&
                   !(strlen(rule_key(k->slot_rule[m])) == len &&
                     !memcmp(rule_key(k->slot_rule[m]), sid, len)))
                m++;
            if (k && m == k->n_slots && !why)
                why = "a rule it references is no longer referenced";
            slot_map[s] = m;
        }
        if (why) {
            vg__diag(diag, diag_ud, VIGIE_DIAG_WARNING, VIGIE_NOTFOUND, NULL, 0, 0,
                     k ? rule_key(k->rule) : NULL, "saved state of correlation %.*s dropped: %s",
                     (int)(id_len > 200 ? 200 : id_len), (const char *)id, why);
            k = NULL; /* its state is read and dropped */
        }
        uint64_t cnt[8];
        for (size_t j = 0; j < 8; j++)
            cnt[j] = vg__rd_u64(&r);
        if (k)
            k->st =
                (vg_corr_stats){cnt[0], cnt[1], cnt[2], cnt[3], cnt[4], cnt[5], cnt[6], cnt[7], 0};
        uint64_t n_groups = vg__rd_count(&r, VG_CORR_MAX_GROUPS);
        for (uint64_t g = 0; g < n_groups && !r.err; g++)
            if ((rc = load_group(&r, k, slot_map, n_slots)) != VIGIE_OK)
                goto fail;
        rc = VIGIE_TRUNCATED;
    }
    if (!vg__rd_done(&r))
        goto fail;
    free(seen);
    free(slot_map);
    return VIGIE_OK;
fail:
    free(seen);
    free(slot_map);
    for (uint32_t i = 0; i < c->n; i++)
        drop_groups(&c->v[i]);
    return rc;
}
