/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_fixture.c: builds a vigie store from JSON-lines files, for the shell tests
 * (tests/cli/test_export.sh runs `test_store_fixture OUT.db tests/data/alerts_sample.jsonl`
 * from beside the vigie binary, then `vigie export` on OUT.db). Lines refused by the store
 * are reported on stderr with their position, as vigie reports bad input.
 *
 * Run without arguments (as ctest does) it checks itself: the sample builds a store with one
 * run, 16 alerts and one campaign.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "test.h"

static int build(const char *db, int n_in, char **in, vg_store_stats *stats)
{
    char err[512];
    vg_store *st;
    if (vg__store_open(db, &st, err, sizeof err) != VIGIE_OK) {
        fprintf(stderr, "vigie: error: %s: %s\n", db, err);
        return 2;
    }
    int64_t run;
    int rc = vg__store_run_begin(st, "test_store_fixture", &run);
    for (int i = 0; i < n_in && rc == VIGIE_OK; i++)
        rc = vg__store_load_jsonl(st, run, in[i], vg__diag_print, stderr);
    vg__store_stats_get(st, stats);
    if (rc == VIGIE_OK)
        rc = vg__store_run_end(st, run, VG_RUN_FINISHED, 0, stats->alerts_added, stats->bad);
    if (rc != VIGIE_OK)
        fprintf(stderr, "vigie: error: %s: %s\n", db, vg__store_errmsg(st));
    vg__store_close(st);
    return rc == VIGIE_OK ? 0 : 2;
}

static void test_sample_builds(void)
{
    char dir[] = "/tmp/vigie-fixture-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char db[64], *in[] = {VIGIE_SOURCE_DIR "/tests/data/alerts_sample.jsonl"};
    snprintf(db, sizeof db, "%s/f.db", dir);
    vg_store_stats s;
    CHECK_EQ_INT(build(db, 1, in, &s), 0);
    CHECK_EQ_INT(s.alerts_added, 16);
    CHECK_EQ_INT(s.campaigns, 1);
    CHECK_EQ_INT(s.bad, 3);
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[80];
        snprintf(p, sizeof p, "%s%s", db, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc >= 3) {
        vg_store_stats s;
        return build(argv[1], argc - 2, argv + 2, &s);
    }
    if (argc == 2) {
        fprintf(stderr, "usage: test_store_fixture OUT.db ALERTS.jsonl...\n");
        return 2;
    }
    RUN(test_sample_builds);
    return TEST_DONE();
}
