/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_report_store_lines.c: libFuzzer target for the store's line intake (vg__store_add_line on a
 * private in-memory store, each input line an alert or campaign line) followed by the STIX
 * export of what was stored: hostile lines must be refused or stored, never crash either. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/stix.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_store *st;
    if (vg__store_open(":memory:", &st, NULL, 0) != VIGIE_OK)
        return 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        vg__store_add_line(st, 0, p, n);
        p += n + 1;
    }
    FILE *out = fopen("/dev/null", "wb");
    if (out) {
        vg__stix_export(st, out, NULL, NULL, 0);
        fclose(out);
    }
    vg__store_close(st);
    return 0;
}
