/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate.c: first-seen ("new terms") state: silent during a group's baseline, one
 * alert per new term after it, groups independent, state saved and loaded (a loaded group's
 * baseline is complete), bad state lines skipped.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlate/correlate.h"
#include "test.h"

#define DAY 86400.0

static void test_baseline_then_first_seen(void)
{
    vg_newterms *nt;
    CHECK_EQ_INT(vg__newterms_new(&nt), VIGIE_OK);
    double t0 = 1685577600.0;
    /* baseline: 5 days, terms learned silently */
    CHECK(!vg__newterms_check(nt, "r", "tenantA", "owa", t0, 5 * DAY));
    CHECK(!vg__newterms_check(nt, "r", "tenantA", "outlook", t0 + 2 * DAY, 5 * DAY));
    /* after the baseline: known term quiet, new term alerts once */
    CHECK(!vg__newterms_check(nt, "r", "tenantA", "owa", t0 + 6 * DAY, 5 * DAY));
    CHECK(vg__newterms_check(nt, "r", "tenantA", "actor-app", t0 + 6 * DAY, 5 * DAY));
    CHECK(!vg__newterms_check(nt, "r", "tenantA", "actor-app", t0 + 7 * DAY, 5 * DAY));
    /* another group has its own baseline */
    CHECK(!vg__newterms_check(nt, "r", "tenantB", "actor-app", t0 + 6 * DAY, 5 * DAY));
    /* another rule has its own terms */
    CHECK(!vg__newterms_check(nt, "r2", "tenantA", "actor-app", t0 + 6 * DAY, 5 * DAY));
    CHECK_EQ_INT(vg__newterms_count(nt), 5);
    vg__newterms_free(nt);
}

static void test_save_load(void)
{
    char path[] = "/tmp/vigie-nt-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    vg_newterms *a;
    vg__newterms_new(&a);
    double t0 = 1685577600.0;
    vg__newterms_check(a, "rule \"x\"", "tenant|A", "owa", t0, 5 * DAY);
    CHECK_EQ_INT(vg__newterms_save(a, path), VIGIE_OK);
    vg__newterms_free(a);
    /* a bad line among good ones is skipped */
    FILE *f = fopen(path, "a");
    fputs("not json\n{\"rule\":\"r\"}\n", f);
    fclose(f);
    vg_newterms *b;
    vg__newterms_new(&b);
    CHECK_EQ_INT(vg__newterms_load(b, path, NULL, NULL), VIGIE_OK);
    /* loaded: the group's baseline is over, so a new term alerts at once, a known one not */
    CHECK(!vg__newterms_check(b, "rule \"x\"", "tenant|A", "owa", t0 + DAY, 5 * DAY));
    CHECK(vg__newterms_check(b, "rule \"x\"", "tenant|A", "graph", t0 + DAY, 5 * DAY));
    CHECK_EQ_INT(vg__newterms_count(b), 2);
    vg__newterms_free(b);
    vg__newterms_new(&b);
    CHECK(vg__newterms_load(b, "/nonexistent/x", NULL, NULL) != VIGIE_OK);
    vg__newterms_free(b);
    unlink(path);
}

int main(void)
{
    RUN(test_baseline_then_first_seen);
    RUN(test_save_load);
    return TEST_DONE();
}
