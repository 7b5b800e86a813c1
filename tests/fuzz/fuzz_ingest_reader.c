/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_ingest_reader.c: libFuzzer target for the whole reader: the input is written to a
 * temporary file and read with format and compression detection; every record returned is
 * parsed and classified like a scan does. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_fieldmap *fm;
    static vg_jtape t;
    static vg_jscratch *s;
    static vg_buf tmp;
    if (!fm && vg__fieldmap_load_builtin(&fm, NULL, NULL) != VIGIE_OK)
        return 0;
    if (!s)
        s = vg__jscratch_new();
    char path[] = "/tmp/vigie-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    vg_reader *r;
    vg_reader_opts o = {NULL, NULL, 1 << 20};
    if (vg__reader_open(&r, path, &o) == VIGIE_OK) {
        vg_record rec;
        while (vg__reader_next(r, &rec) == VIGIE_OK) {
            if (vg__json_parse(&t, rec.data, rec.len, NULL) == VIGIE_OK) {
                vg_eventinfo ei;
                vg__jscratch_reset(s);
                vg__buf_reset(&tmp);
                vg__shape_classify(fm, &t, s, &tmp, &ei);
            }
        }
        vg__reader_close(r);
    }
    unlink(path);
    return 0;
}
