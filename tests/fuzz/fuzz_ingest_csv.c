/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_ingest_csv.c: libFuzzer target for the CSV parser (quotes, embedded newlines, BOM). */
#include "ingest/ingest.h"

static int row_cb(void *ud, uint64_t line, const char *const *cells, const size_t *lens,
                  uint32_t n)
{
    (void)line;
    size_t *total = ud;
    for (uint32_t i = 0; i < n; i++)
        if (lens[i])
            *total += (unsigned char)cells[i][lens[i] - 1];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t total = 0;
    uint64_t err_line = 0;
    vg__csv_parse((const char *)data, size, row_cb, &total, &err_line);
    return 0;
}
