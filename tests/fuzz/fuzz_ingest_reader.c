/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ingest_reader.c: libFuzzer target for the whole reader: the input is read from
 * memory (vg__reader_open_mem) with compression, encoding (UTF-16) and format detection, with
 * a small record limit and a small decompressed-size limit so that the size paths are
 * reached; every record returned must lie inside the text and is parsed and classified as a
 * scan does. Invariants checked: records in input order, counts agree, the status at the
 * end is EOF or a decompression / size / truncation status, or UNSUPPORTED for an input that
 * is no log (then nothing was returned).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "ingest/ingest_int.h"

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
    vg_reader *r;
    vg_reader_opts o = {NULL, NULL, 4096, 1u << 20};
    if (vg__reader_open_mem(&r, "fuzz", data, size, &o) != VIGIE_OK)
        return 0;
    vg_record rec;
    int rc;
    uint64_t n = 0, last_offset = 0, last_index = 0;
    while ((rc = vg__reader_next(r, &rec)) == VIGIE_OK) {
        /* records come in input order; the index also counts the skipped records */
        if (n && (rec.src.offset < last_offset || rec.src.index <= last_index))
            abort();
        if (rec.src.line == 0)
            abort();
        last_offset = rec.src.offset;
        last_index = rec.src.index;
        n++;
        if (vg__json_parse(&t, rec.data, rec.len, NULL) == VIGIE_OK) {
            vg_eventinfo ei;
            vg__jscratch_reset(s);
            vg__buf_reset(&tmp);
            vg__shape_classify(fm, &t, s, &tmp, &ei);
        }
    }
    const vg_reader_stats *st = vg__reader_stats(r);
    if (st->records != n || (rc != VIGIE_EOF && rc != VIGIE_TRUNCATED && rc != VIGIE_DECOMPRESS &&
                             rc != VIGIE_TOOBIG && rc != VIGIE_UNSUPPORTED))
        abort();
    if ((rc == VIGIE_UNSUPPORTED) != (st->unreadable == 1))
        abort();
    if (st->unreadable && n) /* (a stream may also have failed before the sniff: counted) */
        abort();
    vg__reader_close(r);
    return 0;
}
