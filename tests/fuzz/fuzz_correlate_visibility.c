/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_correlate_visibility.c: libFuzzer target for visibility (correlate/visibility.c): the
 * input is a program of 4-byte operations: a fact (tenant, day and hour, throttled, linkable,
 * with or without time), an advance to a watermark, or a save / load into a fresh object that
 * replaces the old one (a loaded state saves back to the same bytes). Then finish. Every gap
 * must lie inside the tracked days and be reported once: the gaps counted per tenant equal
 * the gaps emitted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ud, const vg_vis_gap *g)
{
    if (g->kind == VG_GAP_NO_MAILBOX_AUDIT && (g->days < 1 || g->to <= g->from))
        abort();
    (*(uint64_t *)ud)++;
    return 0;
}

static bool odd(void *ud, const char *tenant)
{
    (void)ud;
    return tenant[0] & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tenants[] = {"", "a", "b", "tenant-c"};
    vg_vis *v;
    if (vg__vis_new(&v) != VIGIE_OK)
        return 0;
    uint64_t emitted = 0;
    for (size_t i = 0; i + 4 <= size; i += 4) {
        const uint8_t *op = data + i;
        int16_t day = (int16_t)(op[1] | op[2] << 8);
        switch (op[0] & 3) {
        case 0:
        case 1: {
            vg_vis_fact f = {tenants[(op[0] >> 2) & 3], 1.7e9 + day * 86400.0 + op[3] * 400.0,
                             !(op[0] & 16), op[0] & 32, op[0] & 64};
            vg__vis_add(v, &f);
            break;
        }
        case 2:
            vg__vis_advance(v, 1.7e9 + day * 86400.0, count, &emitted);
            break;
        case 3: {
            vg_buf a, b;
            vg__buf_init(&a, 0);
            vg__buf_init(&b, 0);
            vg_vis *w;
            if (vg__vis_save(v, &a) == VIGIE_OK && vg__vis_new(&w) == VIGIE_OK) {
                if (vg__vis_load(w, a.data, a.len) != VIGIE_OK || vg__vis_save(w, &b) != VIGIE_OK ||
                    a.len != b.len || memcmp(a.data, b.data, a.len))
                    abort();
                vg__vis_free(v);
                v = w;
            }
            vg__buf_free(&a);
            vg__buf_free(&b);
            break;
        }
        }
    }
    vg__vis_finish(v, odd, NULL, count, &emitted);
    uint64_t counted = 0;
    for (uint32_t i = 0; i < vg__vis_count(v); i++) {
        vg_vis_tenant t;
        vg__vis_tenant(v, i, &t);
        counted += t.gaps;
    }
    if (counted != emitted)
        abort();
    vg__vis_free(v);
    return 0;
}
