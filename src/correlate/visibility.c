/* SPDX-License-Identifier: Apache-2.0 */
/*
 * visibility.c: where each tenant's mailbox audit is blind (correlate.h, "visibility").
 * Stage: correlate; fed the mail-access facts of every record by the scan's writer, in read
 * order.
 *
 * Per tenant (a vg_hmap from the tenant to its index, tenants kept in first-seen order): the
 * counts of mail records, throttled ones and linkable ones, the first and last record time,
 * and one byte per day over VG_MAX_VISIBILITY_DAYS days centred on the tenant's first timed
 * record (day0; records outside are counted and draw no gap). A gap is a run of at least
 * VG_VIS_GAP_DAYS days without a record between two days with one. `judged` is the day
 * index before which every run has been decided: advance moves it to the start of the first
 * run the watermark has not passed yet, finish moves it to the last record's day. Invariants:
 * judged only grows, so a run is reported at most once; a record that arrives later than the
 * watermark promised, inside a run already reported, changes the counts but not the report.
 *
 * Costs: O(1) per fact (one hash lookup); advance and finish scan each tenant's days once
 * since its last judgement. Memory: VG_MAX_VISIBILITY_DAYS bytes per tenant with a timed
 * record, at most VG_MAX_VIS_TENANTS tenants. Not thread-safe.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "util/limits.h"
#include "util/ser.h"

#define VIS_SECTION_VERSION 1u
/* |t| beyond this (about 31 million years) is no event time: its day would not fit the
 * day arithmetic (also the bound of a loaded first/last, whose "none" marks are +-1e18) */
#define VIS_MAX_ABS_TIME 1e15

typedef struct tvis {
    char *tenant;
    double first, last;
    uint64_t n, throttled, linkable, gaps;
    uint8_t *days; /* VG_MAX_VISIBILITY_DAYS bytes from day0, or NULL before a timed record */
    int64_t day0;  /* set by the tenant's first record with a time */
    bool have_day0;
    int64_t judged; /* day index: every run before it has been reported or dismissed */
} tvis;

struct vg_vis {
    tvis *v;
    uint32_t n, cap;
    vg_hmap idx; /* tenant (borrowed from v[i].tenant) -> i */
    uint64_t dropped;
};

int vg__vis_new(vg_vis **out)
{
    vg_vis *v = calloc(1, sizeof *v);
    if (!v)
        return VIGIE_NOMEM;
    vg__hmap_init(&v->idx, VG_MAX_VIS_TENANTS);
    *out = v;
    return VIGIE_OK;
}

static void clear(vg_vis *v)
{
    for (uint32_t i = 0; i < v->n; i++) {
        free(v->v[i].tenant);
        free(v->v[i].days);
    }
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
    vg__hmap_free(&v->idx);
    vg__hmap_init(&v->idx, VG_MAX_VIS_TENANTS);
    v->dropped = 0;
}

void vg__vis_free(vg_vis *v)
{
    if (!v)
        return;
    clear(v);
    vg__hmap_free(&v->idx);
    free(v);
}

/* The tenant's entry, created when absent (NULL: no memory or the tenant limit). */
static tvis *get(vg_vis *v, const char *tenant, int *rc)
{
    size_t len = strlen(tenant);
    vg_hmap_slot *e = vg__hmap_find(&v->idx, tenant, len);
    if (e)
        return &v->v[e->val.idx];
    *rc = VIGIE_NOMEM;
    if (v->n >= VG_MAX_VIS_TENANTS) {
        *rc = VIGIE_TOOBIG;
        return NULL;
    }
    if (VG_GROW(v->v, v->cap, (size_t)v->n + 1, 16))
        return NULL;
    tvis *t = &v->v[v->n];
    memset(t, 0, sizeof *t);
    if (!(t->tenant = strdup(tenant)))
        return NULL;
    bool added;
    if (vg__hmap_put(&v->idx, t->tenant, len, &e, &added)) {
        free(t->tenant);
        return NULL;
    }
    t->first = 1e18;
    t->last = -1e18;
    e->val.idx = v->n++;
    return t;
}

int vg__vis_add(vg_vis *v, const vg_vis_fact *f)
{
    int rc = VIGIE_OK;
    tvis *t = get(v, f->tenant ? f->tenant : "", &rc);
    if (!t) {
        v->dropped++;
        return rc;
    }
    t->n++;
    t->throttled += f->throttled;
    t->linkable += f->linkable;
    if (!f->has_time || !(fabs(f->t) <= VIS_MAX_ABS_TIME))
        return VIGIE_OK; /* no time, or none a log can hold: counted, draws no gap */
    if (!t->have_day0) {
        t->day0 = (int64_t)(f->t / 86400) - VG_MAX_VISIBILITY_DAYS / 2;
        t->have_day0 = true;
    }
    int64_t d = (int64_t)(f->t / 86400) - t->day0;
    if (d < 0 || d >= VG_MAX_VISIBILITY_DAYS)
        return VIGIE_OK; /* outside the ten years around the tenant's first record: not tracked */
    if (f->t < t->first)
        t->first = f->t;
    if (f->t > t->last)
        t->last = f->t;
    if (!t->days && !(t->days = calloc(VG_MAX_VISIBILITY_DAYS, 1)))
        return VIGIE_NOMEM;
    t->days[d] = 1;
    return VIGIE_OK;
}

/* Runs of missing days from t->judged on, among the days of [first, last]; a run is decided
 * when the watermark has reached the day after it (finish: wm = +inf). */
static int judge(tvis *t, double wm, vg_vis_emit emit, void *ud)
{
    if (!t->days || t->first > t->last)
        return 0;
    int64_t d0 = (int64_t)(t->first / 86400) - t->day0, d1 = (int64_t)(t->last / 86400) - t->day0;
    if (d0 < 0)
        d0 = 0;
    if (d1 > VG_MAX_VISIBILITY_DAYS - 1)
        d1 = VG_MAX_VISIBILITY_DAYS - 1;
    int64_t d = t->judged > d0 ? t->judged : d0;
    for (; d <= d1; d++) {
        if (t->days[d])
            continue;
        int64_t e = d;
        while (e + 1 <= d1 && !t->days[e + 1])
            e++;
        if ((double)(e + 1 + t->day0) * 86400 > wm)
            break; /* the watermark has not passed the run: a late record may still fill it */
        if (e - d + 1 >= VG_VIS_GAP_DAYS) {
            vg_vis_gap g = {.kind = VG_GAP_NO_MAILBOX_AUDIT,
                            .tenant = t->tenant,
                            .from = (double)(d + t->day0) * 86400,
                            .to = (double)(e + 1 + t->day0) * 86400,
                            .days = e - d + 1};
            t->gaps++;
            t->judged = e + 1;
            int rc = emit(ud, &g);
            if (rc)
                return rc;
        }
        d = e;
    }
    if (d > t->judged)
        t->judged = d;
    return 0;
}

int vg__vis_advance(vg_vis *v, double watermark, vg_vis_emit emit, void *ud)
{
    for (uint32_t i = 0; i < v->n; i++) {
        int rc = judge(&v->v[i], watermark, emit, ud);
        if (rc)
            return rc;
    }
    return VIGIE_OK;
}

static int total(tvis *t, vg_gap_kind kind, uint64_t records, uint64_t of, vg_vis_emit emit,
                 void *ud)
{
    vg_vis_gap g = {.kind = kind, .tenant = t->tenant, .records = records, .of = of};
    t->gaps++;
    return emit(ud, &g);
}

int vg__vis_finish(vg_vis *v, vg_vis_signins signins, void *signins_ud, vg_vis_emit emit, void *ud)
{
    int rc = 0;
    for (uint32_t i = 0; i < v->n && !rc; i++) {
        tvis *t = &v->v[i];
        rc = judge(t, INFINITY, emit, ud);
        if (!rc && t->throttled)
            rc = total(t, VG_GAP_THROTTLED, t->throttled, 0, emit, ud);
        if (!rc && t->linkable < t->n)
            rc = total(t, VG_GAP_UNLINKABLE, t->n - t->linkable, t->n, emit, ud);
        if (!rc && t->linkable && signins && !signins(signins_ud, t->tenant))
            rc = total(t, VG_GAP_NO_SIGNIN_LOGS, t->linkable, 0, emit, ud);
    }
    return rc;
}

uint32_t vg__vis_count(const vg_vis *v)
{
    return v->n;
}

void vg__vis_tenant(const vg_vis *v, uint32_t i, vg_vis_tenant *out)
{
    const tvis *t = &v->v[i];
    *out = (vg_vis_tenant){t->tenant, t->first, t->last, t->n, t->throttled, t->linkable, t->gaps};
}

uint64_t vg__vis_dropped(const vg_vis *v)
{
    return v->dropped;
}

/* ---- saved state ----------------------------------------------------------------------------
 * u32 version, u64 dropped, u64 count, then per tenant: tenant, first, last, n, throttled,
 * linkable, gaps, have_day0, day0, judged, days (VG_MAX_VISIBILITY_DAYS bytes, or empty). */

int vg__vis_save(const vg_vis *v, vg_buf *out)
{
    vg__ser_u32(out, VIS_SECTION_VERSION);
    vg__ser_u64(out, v->dropped);
    vg__ser_u64(out, v->n);
    for (uint32_t i = 0; i < v->n; i++) {
        const tvis *t = &v->v[i];
        vg__ser_str(out, t->tenant);
        vg__ser_f64(out, t->first);
        vg__ser_f64(out, t->last);
        vg__ser_u64(out, t->n);
        vg__ser_u64(out, t->throttled);
        vg__ser_u64(out, t->linkable);
        vg__ser_u64(out, t->gaps);
        vg__ser_bool(out, t->have_day0);
        vg__ser_i64(out, t->day0);
        vg__ser_i64(out, t->judged);
        vg__ser_bytes(out, t->days, t->days ? VG_MAX_VISIBILITY_DAYS : 0);
    }
    return out->err ? out->err : VIGIE_OK;
}

int vg__vis_load(vg_vis *v, const void *p, size_t n)
{
    if (v->n)
        return VIGIE_INVAL;
    vg_rd r;
    vg__rd_init(&r, p, n);
    int rc = VIGIE_TRUNCATED;
    if (vg__rd_u32(&r) != VIS_SECTION_VERSION)
        goto fail;
    uint64_t dropped = vg__rd_u64(&r);
    uint64_t count = vg__rd_count(&r, VG_MAX_VIS_TENANTS);
    for (uint64_t i = 0; i < count && !r.err; i++) {
        size_t len;
        bool null;
        const uint8_t *name = vg__rd_bytes(&r, &len, &null);
        if (r.err || null || memchr(name, 0, len))
            goto fail;
        char *tenant = strndup((const char *)name, len);
        if (!tenant) {
            rc = VIGIE_NOMEM;
            goto fail;
        }
        int grc = VIGIE_OK;
        bool fresh = !vg__hmap_find(&v->idx, tenant, len);
        tvis *t = fresh ? get(v, tenant, &grc) : NULL;
        free(tenant);
        if (!t) { /* a tenant twice is a broken section */
            rc = fresh ? grc : VIGIE_TRUNCATED;
            goto fail;
        }
        t->first = vg__rd_f64(&r);
        t->last = vg__rd_f64(&r);
        t->n = vg__rd_u64(&r);
        t->throttled = vg__rd_u64(&r);
        t->linkable = vg__rd_u64(&r);
        t->gaps = vg__rd_u64(&r);
        t->have_day0 = vg__rd_bool(&r);
        t->day0 = vg__rd_i64(&r);
        t->judged = vg__rd_i64(&r);
        const uint8_t *days = vg__rd_bytes(&r, &len, &null);
        if (r.err || null || (len != 0 && len != VG_MAX_VISIBILITY_DAYS))
            goto fail;
        /* what vg__vis_add could have made: counts within n, days only after day0, times
         * finite or the "none" sentinels, judged inside the day range */
        if (t->throttled > t->n || t->linkable > t->n || (len && !t->have_day0) || t->judged < 0 ||
            t->judged > VG_MAX_VISIBILITY_DAYS || !(fabs(t->first) <= 1e18) ||
            !(fabs(t->last) <= 1e18) ||
            (t->have_day0 && (t->day0 < -(INT64_C(1) << 40) || t->day0 > (INT64_C(1) << 40))))
            goto fail;
        if (len) {
            if (!(t->days = malloc(VG_MAX_VISIBILITY_DAYS))) {
                rc = VIGIE_NOMEM;
                goto fail;
            }
            memcpy(t->days, days, VG_MAX_VISIBILITY_DAYS);
        }
    }
    if (!vg__rd_done(&r))
        goto fail;
    v->dropped = dropped;
    return VIGIE_OK;
fail:
    clear(v);
    return rc;
}
