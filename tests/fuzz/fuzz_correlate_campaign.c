/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_correlate_campaign.c: libFuzzer target for the campaign builder's reading of alert
 * lines (as a store hands them back: any bytes): each input line is an alert, then the
 * campaigns are built and written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_campaigns *c;
    if (vg__campaigns_new(NULL, NULL, NULL, &c) != VIGIE_OK)
        return 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        vg__campaigns_add_alert(c, p, l);
        p += l + 1;
    }
    vg_buf out;
    vg__buf_init(&out, 0);
    vg__campaigns_finish(c, &out, NULL);
    vg__buf_free(&out);
    vg__campaigns_free(c);
    return 0;
}
