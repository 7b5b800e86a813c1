/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_visibility.c: visibility gaps (correlate/visibility.c): a run of
 * VG_VIS_GAP_DAYS days without mailbox audit between two audited days is a gap, a shorter one
 * is not; advance reports a gap only once the watermark has passed it, and never twice;
 * finish reports the rest and the per-tenant totals (throttled, unlinkable, no sign-in logs,
 * asked of the caller); save / load in the middle of a feed gives what one pass gives; a
 * truncated or bit-flipped section fails cleanly.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "test.h"
#include "util/limits.h"

#define DAY 86400.0
#define T0 (19500 * DAY) /* 2023-05-23 */

/* gaps as text, one per line: "kind tenant from-day days records of" */
static int collect(void *ud, const vg_vis_gap *g)
{
    vg_buf *b = ud;
    vg__buf_printf(b, "%d %s %lld %lld %llu %llu\n", (int)g->kind, g->tenant,
                   g->kind == VG_GAP_NO_MAILBOX_AUDIT ? (long long)((g->from - T0) / DAY) : -1,
                   (long long)g->days, (unsigned long long)g->records, (unsigned long long)g->of);
    return 0;
}

static bool no_signins_for_b(void *ud, const char *tenant)
{
    (void)ud;
    return strcmp(tenant, "B") != 0;
}

static void fact(vg_vis *v, const char *tenant, double day, bool thr, bool link)
{
    vg_vis_fact f = {tenant, T0 + day * DAY + 3600, true, thr, link};
    CHECK_EQ_INT(vg__vis_add(v, &f), VIGIE_OK);
}

/* The feed of the tests: tenant A audited on days 0, 1, 5 (gap 2-4: 3 days), 7 (1 day: no
 * gap), 12 (gap 8-11); B on days 0 and 2 only, linkable, one throttled record; one untimed
 * record of A without identifier. */
static void feed(vg_vis *v, int from, int to)
{
    static const struct {
        const char *t;
        double day;
        bool thr, link;
    } f[] = {{"A", 0, false, true}, {"B", 0, true, true},  {"A", 1, false, true},
             {"B", 2, false, true}, {"A", 5, false, true}, {"A", 7, false, true},
             {"A", 12, false, true}};
    for (int i = from; i < to && i < (int)VG_ARRAY_LEN(f); i++)
        fact(v, f[i].t, f[i].day, f[i].thr, f[i].link);
    if (from <= (int)VG_ARRAY_LEN(f) && to > (int)VG_ARRAY_LEN(f)) {
        vg_vis_fact u = {"A", 0, false, false, false};
        CHECK_EQ_INT(vg__vis_add(v, &u), VIGIE_OK);
    }
}

static const char *const ONE_PASS = "0 A 2 3 0 0\n"
                                    "0 A 8 4 0 0\n"
                                    "2 A -1 0 1 6\n"
                                    "1 B -1 0 1 0\n"
                                    "3 B -1 0 2 0\n";

static void test_gaps_at_finish(void)
{
    vg_vis *v;
    CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
    feed(v, 0, 100);
    vg_buf b;
    vg__buf_init(&b, 0);
    CHECK_EQ_INT(vg__vis_finish(v, no_signins_for_b, NULL, collect, &b), VIGIE_OK);
    CHECK_EQ_STR(b.data, ONE_PASS);
    CHECK_EQ_INT(vg__vis_count(v), 2);
    vg_vis_tenant t;
    vg__vis_tenant(v, 0, &t);
    CHECK_EQ_STR(t.tenant, "A");
    CHECK_EQ_INT(t.n, 6);
    CHECK_EQ_INT(t.linkable, 5);
    CHECK_EQ_INT(t.gaps, 3);
    vg__vis_tenant(v, 1, &t);
    CHECK_EQ_INT(t.throttled, 1);
    CHECK_EQ_INT(t.gaps, 2);
    vg__buf_free(&b);
    vg__vis_free(v);
    /* without the sessions' answer, no no_signin_logs gap */
    CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
    feed(v, 0, 100);
    vg__buf_init(&b, 0);
    vg__vis_finish(v, NULL, NULL, collect, &b);
    CHECK(b.data && !strstr(b.data, "3 B"));
    vg__buf_free(&b);
    vg__vis_free(v);
}

static void test_advance_with_watermark(void)
{
    vg_vis *v;
    CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
    vg_buf b;
    vg__buf_init(&b, 0);
    feed(v, 0, 5); /* A: days 0, 1, 5 */
    /* the day after the run (5) has not begun by the watermark: nothing yet */
    CHECK_EQ_INT(vg__vis_advance(v, T0 + 4.5 * DAY, collect, &b), VIGIE_OK);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(vg__vis_advance(v, T0 + 5 * DAY + 7200, collect, &b), VIGIE_OK);
    CHECK_EQ_STR(b.data, "0 A 2 3 0 0\n");
    /* never twice */
    CHECK_EQ_INT(vg__vis_advance(v, T0 + 6 * DAY, collect, &b), VIGIE_OK);
    CHECK_EQ_STR(b.data, "0 A 2 3 0 0\n");
    feed(v, 5, 100);
    CHECK_EQ_INT(vg__vis_advance(v, T0 + 13 * DAY, collect, &b), VIGIE_OK);
    CHECK_EQ_STR(b.data, "0 A 2 3 0 0\n0 A 8 4 0 0\n");
    /* finish: the totals only */
    vg__buf_reset(&b);
    vg__vis_finish(v, no_signins_for_b, NULL, collect, &b);
    CHECK_EQ_STR(b.data, "2 A -1 0 1 6\n1 B -1 0 1 0\n3 B -1 0 2 0\n");
    vg__buf_free(&b);
    vg__vis_free(v);
}

/* The state saved after k facts (and an advance) and loaded into a fresh object, then the
 * rest: the gaps of both parts together are those of one pass. */
static void test_save_load_round_trip(void)
{
    for (int k = 0; k <= 8; k++) {
        vg_vis *v, *w;
        CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
        CHECK_EQ_INT(vg__vis_new(&w), VIGIE_OK);
        vg_buf gaps, st;
        vg__buf_init(&gaps, 0);
        vg__buf_init(&st, 0);
        feed(v, 0, k);
        vg__vis_advance(v, T0 + (k < 5 ? 0 : 6) * DAY, collect, &gaps);
        CHECK_EQ_INT(vg__vis_save(v, &st), VIGIE_OK);
        CHECK_EQ_INT(vg__vis_load(w, st.data, st.len), VIGIE_OK);
        feed(w, k, 100);
        vg__vis_finish(w, no_signins_for_b, NULL, collect, &gaps);
        CHECK_MSG(gaps.data && !strcmp(gaps.data, ONE_PASS), "split at %d: %s", k,
                  gaps.data ? gaps.data : "(none)");
        /* loading into a vg_vis that has tenants is refused */
        CHECK_EQ_INT(vg__vis_load(w, st.data, st.len), VIGIE_INVAL);
        vg__buf_free(&gaps);
        vg__buf_free(&st);
        vg__vis_free(v);
        vg__vis_free(w);
    }
}

static void test_load_rejects_broken(void)
{
    vg_vis *v;
    CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
    feed(v, 0, 100);
    vg_buf st;
    vg__buf_init(&st, 0);
    CHECK_EQ_INT(vg__vis_save(v, &st), VIGIE_OK);
    vg__vis_free(v);
    /* every truncation fails, and leaves the object empty */
    for (size_t n = 0; n < st.len; n++) {
        CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
        int rc = vg__vis_load(v, st.data, n);
        CHECK_MSG(rc == VIGIE_TRUNCATED, "truncated at %zu: %d", n, rc);
        CHECK_EQ_INT(vg__vis_count(v), 0);
        vg__vis_free(v);
    }
    /* trailing bytes */
    vg__buf_addc(&st, 0);
    CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
    CHECK_EQ_INT(vg__vis_load(v, st.data, st.len), VIGIE_TRUNCATED);
    vg__vis_free(v);
    st.len--;
    /* bit flips: an error status or a state that still works, never a crash (ASan) */
    for (size_t i = 0; i < st.len; i += 7) {
        for (int bit = 0; bit < 8; bit += 3) {
            ((uint8_t *)st.data)[i] ^= (uint8_t)(1u << bit);
            CHECK_EQ_INT(vg__vis_new(&v), VIGIE_OK);
            if (vg__vis_load(v, st.data, st.len) == VIGIE_OK) {
                vg_buf b;
                vg__buf_init(&b, 0);
                vg__vis_advance(v, T0 + 20 * DAY, collect, &b);
                vg__vis_finish(v, NULL, NULL, collect, &b);
                vg__buf_free(&b);
            } else {
                CHECK_EQ_INT(vg__vis_count(v), 0);
            }
            vg__vis_free(v);
            ((uint8_t *)st.data)[i] ^= (uint8_t)(1u << bit);
        }
    }
    vg__buf_free(&st);
}

int main(void)
{
    RUN(test_gaps_at_finish);
    RUN(test_advance_with_watermark);
    RUN(test_save_load_round_trip);
    RUN(test_load_rejects_broken);
    return TEST_DONE();
}
