/* SPDX-License-Identifier: Apache-2.0 */
/* The state-file container (correlate/statefile.c): round trip; a missing file is NOENT; a
 * truncated, bit-flipped, wrong-version or duplicated-section file is refused with a message
 * and nothing of it is returned; saving goes through a temporary (an old file survives a
 * failed save). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "correlate/statefile.h"
#include "test.h"
#include "util/ser.h"

static int n_diag;
static char last_msg[512];
static void diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    n_diag++;
    snprintf(last_msg, sizeof last_msg, "%s", d->message ? d->message : "");
}

static char dir[256];

static uint8_t *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)l + 1);
    *n = fread(b, 1, (size_t)l, f);
    fclose(f);
    return b;
}

static void spit(const char *p, const uint8_t *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static void test_roundtrip(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/s.state", dir);
    vg_statefile_in in;
    CHECK(vg__statefile_load(path, &in, diag, NULL) == VIGIE_NOENT);
    const char big[] = "sessions go here";
    vg_state_section s[3] = {{VG_STATE_TAG('N', 'T', 'R', 'M'), (const uint8_t *)"abc", 3},
                             {VG_STATE_TAG('S', 'E', 'S', 'S'), (const uint8_t *)big, sizeof big},
                             {VG_STATE_TAG('E', 'M', 'P', 'T'), NULL, 0}};
    CHECK(vg__statefile_save(path, s, 3, diag, NULL) == VIGIE_OK);
    CHECK(vg__statefile_load(path, &in, diag, NULL) == VIGIE_OK);
    CHECK(in.n == 3);
    const vg_state_section *x = vg__statefile_get(&in, VG_STATE_TAG('S', 'E', 'S', 'S'));
    CHECK(x && x->len == sizeof big && !memcmp(x->data, big, sizeof big));
    x = vg__statefile_get(&in, VG_STATE_TAG('E', 'M', 'P', 'T'));
    CHECK(x && x->len == 0);
    CHECK(!vg__statefile_get(&in, VG_STATE_TAG('N', 'O', 'N', 'E')));
    vg__statefile_free(&in);
}

static void test_refused(void)
{
    char path[300], bad[300];
    snprintf(path, sizeof path, "%s/s.state", dir);
    snprintf(bad, sizeof bad, "%s/bad.state", dir);
    size_t n;
    uint8_t *b = slurp(path, &n);
    CHECK(b && n > 44);
    if (!b)
        return;
    vg_statefile_in in;
    /* every truncation */
    for (size_t cut = 0; cut < n; cut++) {
        spit(bad, b, cut);
        n_diag = 0;
        CHECK(vg__statefile_load(bad, &in, diag, NULL) == VIGIE_VERIFY && n_diag == 1);
        CHECK(in.bytes == NULL && in.n == 0);
    }
    /* every single bit flip */
    for (size_t i = 0; i < n; i++) {
        b[i] ^= 0x10;
        spit(bad, b, n);
        CHECK(vg__statefile_load(bad, &in, diag, NULL) != VIGIE_OK);
        b[i] ^= 0x10;
    }
    /* another version, with a valid checksum: named */
    vg_state_section s = {VG_STATE_TAG('A', 'B', 'C', 'D'), (const uint8_t *)"x", 1};
    CHECK(vg__statefile_save(bad, &s, 1, diag, NULL) == VIGIE_OK);
    size_t m;
    uint8_t *c = slurp(bad, &m);
    c[12] = 9; /* version 9 */
    SHA256(c, m - 32, c + m - 32);
    spit(bad, c, m);
    n_diag = 0;
    CHECK(vg__statefile_load(bad, &in, diag, NULL) == VIGIE_VERIFY);
    CHECK(strstr(last_msg, "version 9") != NULL);
    free(c);
    /* two sections with one tag */
    vg_state_section two[2] = {s, s};
    CHECK(vg__statefile_save(bad, two, 2, diag, NULL) == VIGIE_OK);
    CHECK(vg__statefile_load(bad, &in, diag, NULL) == VIGIE_VERIFY);
    CHECK(strstr(last_msg, "twice") != NULL);
    /* a failed save leaves the old file whole: a directory in the way of the temporary's
     * rename cannot be replaced, the old file stays */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    CHECK(mkdir(sub, 0700) == 0);
    CHECK(vg__statefile_save(sub, &s, 1, diag, NULL) != VIGIE_OK);
    CHECK(vg__statefile_load(path, &in, diag, NULL) == VIGIE_OK);
    vg__statefile_free(&in);
    free(b);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vg_statefile_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_roundtrip);
    RUN(test_refused);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_DONE();
}
