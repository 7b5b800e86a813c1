/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reader.c: one input (file, stdin or memory) -> records with positions.
 *
 * Stage: ingest. Bytes are read in 256 KiB blocks, decompressed when the first bytes are a
 * gzip (1f 8b, multi-member) or zstd (28 b5 2f fd, multi-frame) magic (decompressed bytes
 * bounded by --max-decompressed and a ratio, zstd windows by VG_ZSTD_MAX_WINDOW_LOG), and
 * appended to a window buffer that holds the unconsumed text; UTF-16 input (BOM, or NUL
 * every other byte) goes through a second block buffer and is transcoded to UTF-8 on the
 * way (positions are in the decoded text). Consumed text is dropped from the front as
 * the window slides, so memory is bounded by the largest record (capped at max_record)
 * plus a block. A record that does not fit yet grows the window geometrically, so parsing
 * it again from its start costs O(size) overall. Before the format, the first 4 KiB are
 * sniffed once: known non-log signatures (zip, EVTX, ...), nested compression and binary
 * content make the input unreadable (reported once, UNSUPPORTED, nothing returned). The
 * format is detected once from the first non-blank bytes (after a UTF-8 BOM), never from
 * the name:
 *   '['                       JSON array: elements parsed one at a time;
 *   '{' + wrapper rule        its record array's elements (the rule: wrapper_start below);
 *   '{' ... '}' on line one   NDJSON: one record per line, NOT parsed here (the worker parses
 *                             each record and reports a bad one with its position);
 *   '{' otherwise             concatenated JSON: values parsed one after another;
 *   anything else             CSV (RFC 4180 + BOM/CRLF/quoted newlines): a JSON column
 *                             (AuditData, or by content) or one column per field.
 * A bad record is reported (file:line: reason), counted by status and skipped: NDJSON and
 * CSV resume at the next line; JSON arrays and streams resume at the next line starting an
 * object at the first record's indentation (pretty-printed input) or after the next "},{"
 * (compact input). A cut or corrupt compressed stream ends the file with TRUNCATED or
 * DECOMPRESS after the records decoded before it. Costs: one memchr per NDJSON line; JSON
 * arrays and streams are parsed once here (vg__json_parse_prefix) and again by the worker.
 * See docs/internals/ingest.md.
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define BLOCK (256u * 1024u)

const char *vg__format_name(int fmt)
{
    static const char *const names[] = {"unknown", "ndjson", "json-array", "json-wrapped",
                                        "json-concat", "csv-json-column", "csv-fields", "empty"};
    return fmt >= 0 && fmt < (int)VG_ARRAY_LEN(names) ? names[fmt] : "unknown";
}

struct vg_reader {
    char *path;
    FILE *f;
    const unsigned char *mem; /* vg__reader_open_mem: the whole input (not owned) */
    size_t mem_len, mem_pos;
    bool is_stdin;
    vg_reader_opts o;
    vg_reader_stats st;
    int fmt;               /* format being read (detected again after an array ends) */
    int first_fmt;         /* first non-empty format detected: what vg__reader_format says */
    int comp;
    bool explicit_max; /* --max-decompressed given: it replaces the ratio check */
    uint64_t nul_run;  /* NULs skipped before the first record, not yet reported */
    bool detected;
    /* decoding (sniff: once, on the first bytes of decompressed text) */
    bool sniffed;
    int enc;    /* vg_encoding */
    vg_buf mid; /* UTF-16 input: decompressed bytes not yet transcoded */
    size_t mid_pos;
    uint64_t u16_off; /* offset in the UTF-16 bytes of mid.data[mid_pos] */
    bool u16_warned;  /* a lone surrogate was reported (once per input) */
    uint64_t dec;     /* decompressed bytes so far (before transcoding): the limits */
    /* compressed input */
    unsigned char *in;
    size_t in_len, in_pos;
    bool in_eof;
    z_stream z;
    bool member_done; /* the last gzip member / zstd frame ended */
    ZSTD_DStream *zs;
    bool stream_done; /* decompressed stream ended (or failed) */
    int stream_rc;    /* VIGIE_OK or the failure */
    /* text window */
    vg_buf win;
    size_t pos;            /* first unconsumed byte in win */
    uint64_t win_offset;   /* decompressed offset of win.data[0] */
    uint64_t line_at_pos;  /* line number of win.data[pos] */
    uint64_t index;
    /* JSON streams */
    vg_jtape tape;
    bool in_array;         /* inside the array of an array / wrapper format */
    int64_t indent;        /* column of the first record's '{' when it starts its line
                              (pretty-printed streams), else -1: used to resynchronise */
    /* CSV */
    vg_buf rec;            /* synthesized record */
    vg_buf cells;          /* unquoted cell bytes */
    uint64_t csv_rows;     /* rows parsed, the header included (for messages) */
    size_t *cell_off, *cell_len;
    uint32_t cell_cap;
    char **header;
    uint32_t n_header;
    int json_col;          /* -1: field columns */
    bool header_done;
};

/* ---- bytes in -------------------------------------------------------------------------------- */

static int read_block(vg_reader *r)
{
    if (r->in_eof)
        return VIGIE_EOF;
    if (r->in_pos < r->in_len)
        return VIGIE_OK;
    size_t n;
    if (r->mem) {
        n = r->mem_len - r->mem_pos < BLOCK ? r->mem_len - r->mem_pos : BLOCK;
        memcpy(r->in, r->mem + r->mem_pos, n);
        r->mem_pos += n;
    } else {
        n = fread(r->in, 1, BLOCK, r->f);
    }
    if (n == 0) {
        r->in_eof = true;
        return r->f && ferror(r->f) ? VIGIE_IO : VIGIE_EOF;
    }
    r->in_len = n;
    r->in_pos = 0;
    r->st.bytes_read += n;
    return VIGIE_OK;
}

static void report(vg_reader *r, int rc, uint64_t line, const char *fmt, const char *detail)
{
    char msg[300];
    snprintf(msg, sizeof msg, fmt, detail ? detail : "");
    /* offset: where the bad record (or the failed stream) starts in the decompressed text */
    vigie_diag d = {VIGIE_DIAG_ERROR, rc, r->path, line, 0, r->win_offset + r->pos, NULL, msg};
    if (r->o.diag)
        r->o.diag(r->o.diag_ud, &d);
}

static void stream_fail(vg_reader *r, int rc, const char *what)
{
    r->stream_done = true;
    r->stream_rc = rc;
    r->st.bad_records++;
    r->st.bad_by_rc[rc]++;
    char detail[200];
    snprintf(detail, sizeof detail, "%s after %llu bytes of text", what,
             (unsigned long long)(r->win_offset + r->win.len));
    report(r, rc, r->line_at_pos, "%s; the records before this point were read", detail);
}

/* The input is not a log vigie can read: one diagnostic, nothing returned, the rest of the
 * input not read. `line` 0 when the whole input is meant. */
static void unreadable(vg_reader *r, uint64_t line, const char *msg)
{
    r->st.unreadable = 1;
    r->stream_done = true;
    r->stream_rc = VIGIE_UNSUPPORTED;
    r->fmt = VG_FMT_UNKNOWN;
    r->pos = r->win.len;
    vigie_diag d = {VIGIE_DIAG_ERROR, VIGIE_UNSUPPORTED, r->path, line, 0, 0, NULL, msg};
    if (r->o.diag)
        r->o.diag(r->o.diag_ud, &d);
}

/* One step of decompression (or copy) into the free space of `out` (BLOCK reserved). */
static void inflate_step(vg_reader *r, int rc, vg_buf *out)
{
    if (r->comp == VG_COMP_NONE) {
        if (rc == VIGIE_EOF) {
            r->stream_done = true;
            return;
        }
        size_t n = r->in_len - r->in_pos;
        if (n > BLOCK)
            n = BLOCK;
        memcpy(out->data + out->len, r->in + r->in_pos, n);
        out->len += n;
        r->in_pos += n;
        return;
    }
    if (rc == VIGIE_EOF) {
        if (r->member_done)
            r->stream_done = true;
        else
            stream_fail(r, VIGIE_TRUNCATED,
                        r->comp == VG_COMP_GZIP ? "truncated gzip stream" : "truncated zstd stream");
        return;
    }
    if (r->comp == VG_COMP_GZIP) {
        if (r->member_done) { /* another gzip member follows */
            inflateReset(&r->z);
            r->member_done = false;
        }
        r->z.next_in = r->in + r->in_pos;
        r->z.avail_in = (uInt)(r->in_len - r->in_pos);
        r->z.next_out = (Bytef *)out->data + out->len;
        r->z.avail_out = (uInt)BLOCK;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        out->len = (size_t)((char *)r->z.next_out - out->data);
        r->in_pos = r->in_len - r->z.avail_in;
        if (zr == Z_STREAM_END)
            r->member_done = true;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            stream_fail(r, VIGIE_DECOMPRESS, "corrupt gzip stream");
        return;
    }
    ZSTD_inBuffer ib = {r->in + r->in_pos, r->in_len - r->in_pos, 0};
    ZSTD_outBuffer ob = {out->data + out->len, BLOCK, 0};
    size_t zr = ZSTD_decompressStream(r->zs, &ob, &ib);
    r->in_pos += ib.pos;
    out->len += ob.pos;
    if (ZSTD_isError(zr) && ZSTD_getErrorCode(zr) == ZSTD_error_frameParameter_windowTooLarge) {
        char why[160];
        snprintf(why, sizeof why,
                 "zstd frame window larger than VG_ZSTD_MAX_WINDOW_LOG (%d: %llu MiB); the "
                 "rest of the file is not read",
                 VG_ZSTD_MAX_WINDOW_LOG, (1ull << VG_ZSTD_MAX_WINDOW_LOG) >> 20);
        stream_fail(r, VIGIE_TOOBIG, why);
    } else if (ZSTD_isError(zr)) {
        stream_fail(r, VIGIE_DECOMPRESS, "corrupt zstd stream");
    } else {
        r->member_done = zr == 0; /* a frame is complete */
    }
}

/* Decompressed bytes bounded per input: `added` bytes just went into `out`. Past a limit,
 * `out` is cut at the limit, the stream ends with TOOBIG and the limit is named. */
static void check_limits(vg_reader *r, vg_buf *out, size_t added)
{
    r->dec += added;
    uint64_t limit = r->o.max_decompressed;
    bool by_ratio = false;
    unsigned ratio = r->comp == VG_COMP_ZSTD ? VG_DECOMPRESS_MAX_RATIO_ZSTD : VG_DECOMPRESS_MAX_RATIO;
    if (!r->explicit_max && r->dec > VG_DECOMPRESS_RATIO_FLOOR) {
        uint64_t rl = r->st.bytes_read * ratio;
        if (rl < VG_DECOMPRESS_RATIO_FLOOR)
            rl = VG_DECOMPRESS_RATIO_FLOOR;
        if (rl < limit) {
            limit = rl;
            by_ratio = true;
        }
    }
    if (r->dec <= limit)
        return;
    uint64_t excess = r->dec - limit;
    out->len -= excess < added ? (size_t)excess : added; /* keep the text up to the limit */
    r->dec = limit;
    if (r->stream_rc)
        return; /* the stream failed in this very step: already reported */
    uint64_t keep = limit, max = r->o.max_decompressed;
    char msg[300];
    if (by_ratio)
        snprintf(msg, sizeof msg,
                 "decompressed size exceeds %u times the compressed size (ratio %u:1, %s, "
                 "past %u MiB) after %llu bytes: rest of file not read (an explicit "
                 "--max-decompressed replaces the ratio)",
                 ratio, ratio,
                 r->comp == VG_COMP_ZSTD ? "VG_DECOMPRESS_MAX_RATIO_ZSTD" : "VG_DECOMPRESS_MAX_RATIO",
                 VG_DECOMPRESS_RATIO_FLOOR >> 20, (unsigned long long)keep);
    else
        snprintf(msg, sizeof msg,
                 "decompressed size exceeds %llu bytes (--max-decompressed %llu): rest of file "
                 "not read",
                 (unsigned long long)max, (unsigned long long)max);
    r->stream_done = true;
    r->stream_rc = VIGIE_TOOBIG;
    r->st.bad_records++;
    r->st.bad_by_rc[VIGIE_TOOBIG]++;
    vigie_diag d = {VIGIE_DIAG_ERROR, VIGIE_TOOBIG, r->path, 0, 0, keep, NULL, msg};
    if (r->o.diag)
        r->o.diag(r->o.diag_ud, &d);
}

static void put_utf8(unsigned char **o, uint32_t cp)
{
    unsigned char *p = *o;
    if (cp < 0x80) {
        *p++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *p++ = (unsigned char)(0xC0 | cp >> 6);
        *p++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *p++ = (unsigned char)(0xE0 | cp >> 12);
        *p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *p++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *p++ = (unsigned char)(0xF0 | cp >> 18);
        *p++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        *p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *p++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *o = p;
}

/* UTF-16 (LE or BE) in mid -> UTF-8 at the end of the window (at most 3 bytes per 2: the
 * window grows by 1.5 times what mid holds). A surrogate pair becomes one 4-byte sequence;
 * a lone surrogate becomes its 3-byte form (ED A0..BF xx), which every UTF-8 check of vigie
 * rejects, so the record holding it is reported and skipped like a record with invalid
 * UTF-8 (the first one is also reported here, with its byte offset in the UTF-16 text).
 * A unit cut by the end of mid waits for more input; at the end of the input it is a
 * truncation (odd byte count, or a high surrogate without its low half). */
static void transcode(vg_reader *r)
{
    const unsigned char *s = (const unsigned char *)r->mid.data + r->mid_pos;
    size_t n = r->mid.len - r->mid_pos, i = 0;
    if (vg__buf_reserve(&r->win, n / 2 * 3 + 8) != VIGIE_OK) {
        stream_fail(r, VIGIE_NOMEM, "out of memory");
        return;
    }
    bool be = r->enc == VG_ENC_UTF16BE;
    unsigned char *o = (unsigned char *)r->win.data + r->win.len;
    while (i + 2 <= n) {
        uint32_t u = be ? (uint32_t)s[i] << 8 | s[i + 1] : (uint32_t)s[i + 1] << 8 | s[i];
        if (u < 0x80) { /* ASCII: the common case */
            *o++ = (unsigned char)u;
            i += 2;
            continue;
        }
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (i + 4 > n)
                break; /* its low half is in the next block (or the input is cut) */
            uint32_t l =
                be ? (uint32_t)s[i + 2] << 8 | s[i + 3] : (uint32_t)s[i + 3] << 8 | s[i + 2];
            if (l >= 0xDC00 && l <= 0xDFFF) {
                put_utf8(&o, 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00));
                i += 4;
                continue;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF && !r->u16_warned) {
            r->u16_warned = true;
            char msg[200];
            snprintf(msg, sizeof msg,
                     "invalid UTF-16: unpaired surrogate 0x%04X at byte %llu of the UTF-16 "
                     "text; records holding one are skipped as invalid UTF-8",
                     (unsigned)u, (unsigned long long)(r->u16_off + i));
            uint64_t at = r->win_offset + (size_t)((char *)o - r->win.data);
            vigie_diag d = {VIGIE_DIAG_WARNING, VIGIE_UTF8, r->path, 0, 0, at, NULL, msg};
            if (r->o.diag)
                r->o.diag(r->o.diag_ud, &d);
        }
        put_utf8(&o, u); /* BMP, or a lone surrogate in its (invalid) 3-byte form */
        i += 2;
    }
    r->win.len = (size_t)((char *)o - r->win.data);
    r->win.data[r->win.len] = 0;
    r->mid_pos += i;
    r->u16_off += i;
    if (r->mid_pos == r->mid.len)
        r->mid.len = r->mid_pos = 0;
    if (r->stream_done && r->mid_pos < r->mid.len && !r->stream_rc) {
        char what[160];
        snprintf(what, sizeof what,
                 "UTF-16 text ends inside a character (%s at byte %llu of the UTF-16 text)",
                 r->mid.len - r->mid_pos == 1 ? "an odd last byte" : "half a surrogate pair",
                 (unsigned long long)r->u16_off);
        r->mid.len = r->mid_pos = 0;
        stream_fail(r, VIGIE_TRUNCATED, what);
    }
}

/* Append up to one block of text to the window, keeping the unconsumed text (only its
 * index changes when the window slides). UTF-16 input goes through mid and is transcoded.
 * Returns bytes added (0 at the end). */
static size_t fill(vg_reader *r)
{
    for (;;) {
        if (r->stream_done)
            return 0;
        if (r->pos > 0 && (r->pos >= r->win.len / 2 || r->pos > BLOCK)) {
            memmove(r->win.data, r->win.data + r->pos, r->win.len - r->pos);
            r->win.len -= r->pos;
            r->win_offset += r->pos;
            r->pos = 0;
            r->win.data[r->win.len] = 0;
        }
        if (vg__buf_reserve(&r->win, BLOCK) != VIGIE_OK) {
            stream_fail(r, VIGIE_NOMEM, "out of memory");
            return 0;
        }
        size_t before = r->win.len;
        if (r->comp == VG_COMP_NONE && r->enc == VG_ENC_UTF8 && !r->mem && r->f &&
            r->in_pos >= r->in_len && !r->in_eof) {
            /* plain text: read straight into the window (no copy through the input block) */
            size_t n = fread(r->win.data + r->win.len, 1, BLOCK, r->f);
            if (n == 0) {
                r->in_eof = true;
                if (ferror(r->f)) {
                    stream_fail(r, VIGIE_IO, strerror(errno));
                    return 0;
                }
                r->stream_done = true;
                r->win.data[r->win.len] = 0;
                return 0;
            }
            r->st.bytes_read += n;
            r->win.len += n;
            r->win.data[r->win.len] = 0;
            r->st.bytes += n;
            return n;
        }
        vg_buf *out = &r->win;
        if (r->enc != VG_ENC_UTF8) {
            out = &r->mid;
            if (r->mid_pos > 0) { /* keep the cut unit (at most 3 bytes) at the front */
                memmove(r->mid.data, r->mid.data + r->mid_pos, r->mid.len - r->mid_pos);
                r->mid.len -= r->mid_pos;
                r->mid_pos = 0;
            }
            if (vg__buf_reserve(&r->mid, BLOCK) != VIGIE_OK) {
                stream_fail(r, VIGIE_NOMEM, "out of memory");
                return 0;
            }
        }
        size_t out_before = out->len;
        int rc = read_block(r);
        if (rc == VIGIE_IO) {
            stream_fail(r, VIGIE_IO, strerror(errno));
            return 0;
        }
        inflate_step(r, rc, out);
        if (r->comp != VG_COMP_NONE)
            check_limits(r, out, out->len - out_before);
        if (r->enc != VG_ENC_UTF8)
            transcode(r);
        r->win.data[r->win.len] = 0;
        size_t added = r->win.len - before;
        r->st.bytes += added;
        if (added)
            return added;
    }
}

/* Make sure at least `need` unconsumed bytes are in the window, if the input has them. */
static bool ensure(vg_reader *r, size_t need)
{
    while (r->win.len - r->pos < need)
        if (!fill(r))
            return false;
    return true;
}

/* Advance pos to `to`, counting lines. */
static void advance(vg_reader *r, size_t to)
{
    if (!r->win.data || to <= r->pos) {
        r->pos = to > r->pos ? to : r->pos;
        return;
    }
    const char *p = r->win.data + r->pos, *e = r->win.data + to;
    while ((p = memchr(p, '\n', (size_t)(e - p)))) {
        r->line_at_pos++;
        p++;
    }
    r->pos = to;
}

static int reader_new(vg_reader **out, const char *path, const vg_reader_opts *opts)
{
    vg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return VIGIE_NOMEM;
    r->path = strdup(path);
    r->is_stdin = strcmp(path, "-") == 0;
    if (opts)
        r->o = *opts;
    if (!r->o.max_record)
        r->o.max_record = VG_MAX_RECORD_BYTES;
    r->explicit_max = r->o.max_decompressed != 0;
    if (!r->o.max_decompressed)
        r->o.max_decompressed = VG_MAX_DECOMPRESSED_BYTES;
    r->in = malloc(BLOCK);
    vg__buf_init(&r->win, 0);
    vg__buf_init(&r->rec, 0);
    vg__buf_init(&r->cells, 0);
    vg__buf_init(&r->mid, 0);
    vg__jtape_init(&r->tape);
    r->line_at_pos = 1;
    r->json_col = -1;
    r->indent = -1;
    *out = r;
    if (!r->path || !r->in)
        return VIGIE_NOMEM;
    return VIGIE_OK;
}

/* Compression by magic bytes of the first block. */
static int detect_compression(vg_reader *r)
{
    if (read_block(r) != VIGIE_OK || r->in_len < 4)
        return VIGIE_OK;
    if (r->in[0] == 0x1f && r->in[1] == 0x8b) {
        if (inflateInit2(&r->z, 15 + 32) != Z_OK)
            return VIGIE_NOMEM;
        r->comp = VG_COMP_GZIP;
    } else if (r->in[0] == 0x28 && r->in[1] == 0xb5 && r->in[2] == 0x2f && r->in[3] == 0xfd) {
        r->zs = ZSTD_createDStream();
        if (!r->zs || ZSTD_isError(ZSTD_initDStream(r->zs)) ||
            ZSTD_isError(
                ZSTD_DCtx_setParameter(r->zs, ZSTD_d_windowLogMax, VG_ZSTD_MAX_WINDOW_LOG)))
            return VIGIE_NOMEM;
        r->comp = VG_COMP_ZSTD;
    }
    return VIGIE_OK;
}

int vg__reader_open(vg_reader **out, const char *path, const vg_reader_opts *opts)
{
    vg_reader *r = NULL;
    *out = NULL;
    int rc = reader_new(&r, path, opts);
    if (rc)
        goto out;
    r->f = r->is_stdin ? stdin : fopen(path, "rb");
    if (!r->f) {
        rc = errno == ENOENT ? VIGIE_NOENT : VIGIE_IO;
        goto out;
    }
    rc = detect_compression(r);
out:
    if (rc) {
        vg__reader_close(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

int vg__reader_open_mem(vg_reader **out, const char *name, const void *data, size_t len,
                        const vg_reader_opts *opts)
{
    vg_reader *r = NULL;
    *out = NULL;
    int rc = reader_new(&r, name, opts);
    if (rc)
        goto out;
    r->is_stdin = false;
    r->mem = data ? data : (const void *)"";
    r->mem_len = data ? len : 0;
    rc = detect_compression(r);
out:
    if (rc) {
        vg__reader_close(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

void vg__reader_close(vg_reader *r)
{
    if (!r)
        return;
    if (r->f && !r->is_stdin)
        fclose(r->f);
    if (r->comp == VG_COMP_GZIP)
        inflateEnd(&r->z);
    if (r->zs)
        ZSTD_freeDStream(r->zs);
    for (uint32_t i = 0; i < r->n_header; i++)
        free(r->header[i]);
    free(r->header);
    free(r->cell_off);
    free(r->cell_len);
    vg__buf_free(&r->win);
    vg__buf_free(&r->rec);
    vg__buf_free(&r->cells);
    vg__buf_free(&r->mid);
    vg__jtape_free(&r->tape);
    free(r->in);
    free(r->path);
    free(r);
}

const vg_reader_stats *vg__reader_stats(const vg_reader *r)
{
    return &r->st;
}
int vg__reader_format(const vg_reader *r)
{
    return r->first_fmt ? r->first_fmt : r->fmt;
}
int vg__reader_compression(const vg_reader *r)
{
    return r->comp;
}
int vg__reader_encoding(const vg_reader *r)
{
    return r->enc;
}

static void bad(vg_reader *r, int rc, uint64_t line, const char *why)
{
    r->st.bad_records++;
    r->st.bad_by_rc[rc >= 0 && rc < VIGIE_STATUS_COUNT ? rc : VIGIE_JSON]++;
    char detail[256];
    snprintf(detail, sizeof detail, "record %llu skipped: %s", (unsigned long long)r->index + 1,
             why);
    r->index++;
    report(r, rc, line, "%s", detail);
}

static inline bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- detection -------------------------------------------------------------------------------- */

/* Wrapper keys: the member of a top-level object that holds the records (CloudTrail
 * "Records", Azure / Graph "value", and the names other exporters use). */
static const char *const wrapper_keys[] = {"Records", "value", "events", "items", "data",
                                           "logs", "entries", "results"};

/* Skip a JSON string at s[i] == '"'; returns the index after the closing quote, or n. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

/* The wrapper rule: a top-level object whose members before the record array all have
 * scalar values (strings, numbers, true/false/null: "@odata.context", "nextLink", counts)
 * and whose next member has a key from wrapper_keys (any ASCII case) and an array value
 * whose first element is an object (or that is empty). Members after the array are ignored.
 * s[i] == '{'. Returns the index just after the array's '[' or 0 when the rule fails. */
static size_t wrapper_start(const char *s, size_t n, size_t i)
{
    for (i++;;) {
        while (i < n && ws(s[i]))
            i++;
        if (i >= n || s[i] != '"')
            return 0;
        size_t k0 = i + 1, ke = skip_string(s, n, i);
        if (ke >= n)
            return 0;
        size_t kl = ke - 1 - k0;
        i = ke;
        while (i < n && ws(s[i]))
            i++;
        if (i >= n || s[i] != ':')
            return 0;
        i++;
        while (i < n && ws(s[i]))
            i++;
        if (i >= n)
            return 0;
        if (s[i] == '[') {
            bool known = false;
            for (size_t q = 0; q < VG_ARRAY_LEN(wrapper_keys) && !known; q++)
                known = vg__ascii_ieq(s + k0, kl, wrapper_keys[q], strlen(wrapper_keys[q]));
            size_t e = i + 1;
            while (e < n && ws(s[e]))
                e++;
            return known && e < n && (s[e] == '{' || s[e] == ']') ? i + 1 : 0;
        }
        if (s[i] == '{')
            return 0; /* an object member: this is a record */
        if (s[i] == '"')
            i = skip_string(s, n, i);
        else
            while (i < n && s[i] != ',' && s[i] != '}' && !ws(s[i]))
                i++;
        while (i < n && ws(s[i]))
            i++;
        if (i >= n || s[i] != ',')
            return 0;
        i++;
    }
}

/* Column of s[i] when only blanks precede it on its line, else -1. */
static int64_t line_indent(const char *s, size_t i)
{
    size_t k = i;
    while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
        k--;
    return k == 0 || s[k - 1] == '\n' ? (int64_t)(i - k) : -1;
}

/* ---- encoding and content sniffing --------------------------------------------------------- */

/* Signatures of files that are not logs (first bytes), named in the message. */
static const struct {
    const char *magic;
    size_t len;
    const char *name;
} signatures[] = {
    {"PK\x03\x04", 4, "zip"},
    {"PK\x05\x06", 4, "zip"},
    {"ElfFile\0", 8, "evtx"},
    {"%PDF-", 5, "pdf"},
    {"\x7f\x45LF", 4, "elf"},
    {"\x89PNG\r\n\x1a\n", 8, "png"},
    {"\xff\xd8\xff", 3, "jpeg"},
    {"GIF87a", 6, "gif"},
    {"GIF89a", 6, "gif"},
    {"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "ole2 (xls/doc/msg)"},
    {"SQLite format 3\0", 16, "sqlite"},
    {"\xfd\x37zXZ\0", 6, "xz"},
    {"7z\xbc\xaf\x27\x1c", 6, "7z"},
    {"PAR1", 4, "parquet"},
    {"\x1f\x8b", 2, "gzip"},
    {"\x28\xb5\x2f\xfd", 4, "zstd"},
};

/* Bytes of s[0, n) that are not text: C0 controls other than TAB LF VT FF CR ESC, DEL and
 * NUL in *ctrl; bytes of invalid UTF-8 sequences in *inval (a sequence cut by the end of
 * the sample is not counted). */
static void text_stats(const unsigned char *s, size_t n, size_t *ctrl, size_t *inval)
{
    size_t c = 0, v = 0;
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        if (b < 0x80) {
            c += (b < 0x20 && !(b >= 0x09 && b <= 0x0d) && b != 0x1b) || b == 0x7f;
            i++;
            continue;
        }
        size_t len = b >= 0xC2 && b <= 0xDF   ? 2
                     : b >= 0xE0 && b <= 0xEF ? 3
                     : b >= 0xF0 && b <= 0xF4 ? 4
                                              : 0;
        if (len && i + len > n)
            break;
        bool ok = len > 0;
        for (size_t k = 1; ok && k < len; k++)
            ok = (s[i + k] & 0xC0) == 0x80;
        if (ok && len == 3)
            ok = !(b == 0xE0 && s[i + 1] < 0xA0) && !(b == 0xED && s[i + 1] > 0x9F);
        if (ok && len == 4)
            ok = !(b == 0xF0 && s[i + 1] < 0x90) && !(b == 0xF4 && s[i + 1] > 0x8F);
        if (ok) {
            i += len;
        } else {
            v++;
            i++;
        }
    }
    *ctrl = c;
    *inval = v;
}

/* UTF-16 by BOM (FF FE little-endian, FE FF big-endian; FF FE 00 00 is UTF-32 and not
 * taken), or without one when at least 75% of the 16-bit units of the first
 * VG_SNIFF_UTF16_BYTES have a NUL byte on the same side and a non-NUL one on the other
 * (U+0001..U+00FF: mostly-ASCII text; UTF-8 text has no NUL at all). */
static int sniff_utf16(const unsigned char *s, size_t n)
{
    if (n >= 2 && s[0] == 0xFF && s[1] == 0xFE && !(n >= 4 && s[2] == 0 && s[3] == 0))
        return VG_ENC_UTF16LE;
    if (n >= 2 && s[0] == 0xFE && s[1] == 0xFF)
        return VG_ENC_UTF16BE;
    size_t m = (n < VG_SNIFF_UTF16_BYTES ? n : VG_SNIFF_UTF16_BYTES) / 2, le = 0, be = 0;
    for (size_t k = 0; k < m; k++) {
        unsigned char a = s[2 * k], b = s[2 * k + 1];
        le += b == 0 && a;
        be += a == 0 && b;
    }
    if (m >= 2 && le * 4 >= m * 3)
        return VG_ENC_UTF16LE;
    if (m >= 2 && be * 4 >= m * 3)
        return VG_ENC_UTF16BE;
    return VG_ENC_UTF8;
}

/* Once per input, on its first decoded bytes: a signature of something that is no log
 * (nested compression included) makes it unreadable; UTF-16 switches the input to
 * transcoding (the bytes already in the window go through it); then binary content
 * (more than 5% controls or NULs in the first VG_SNIFF_BINARY_BYTES after any leading run
 * of NULs) makes it unreadable. False when unreadable. */
static bool sniff(vg_reader *r)
{
    r->sniffed = true;
    ensure(r, VG_SNIFF_BINARY_BYTES);
    const unsigned char *s = (const unsigned char *)(r->win.data ? r->win.data : "");
    size_t n = r->win.len;
    char msg[200];
    for (size_t k = 0; k < VG_ARRAY_LEN(signatures); k++) {
        if (n < signatures[k].len || memcmp(s, signatures[k].magic, signatures[k].len))
            continue;
        bool nested = k + 2 >= VG_ARRAY_LEN(signatures);
        if (nested && r->comp == VG_COMP_NONE)
            continue; /* cannot happen: the outer layer was detected as compression */
        if (nested)
            snprintf(msg, sizeof msg,
                     "not a log vigie can read (looks like: %s inside %s; nested compression is "
                     "not decompressed twice: decompress the outer layer first)",
                     signatures[k].name, r->comp == VG_COMP_GZIP ? "gzip" : "zstd");
        else
            snprintf(msg, sizeof msg, "not a log vigie can read (looks like: %s)",
                     signatures[k].name);
        unreadable(r, 0, msg);
        return false;
    }
    if (n >= 10 && !memcmp(s, "BZh", 3) && s[3] >= '1' && s[3] <= '9' &&
        !memcmp(s + 4, "1AY&SY", 6)) {
        unreadable(r, 0, "not a log vigie can read (looks like: bzip2)");
        return false;
    }
    int enc = sniff_utf16(s, n);
    if (enc != VG_ENC_UTF8) {
        /* what was read is UTF-16: decode it, and everything after it */
        r->enc = enc;
        vg__buf_reset(&r->mid);
        r->mid_pos = 0;
        if (vg__buf_add(&r->mid, r->win.data, r->win.len) != VIGIE_OK) {
            stream_fail(r, VIGIE_NOMEM, "out of memory");
            return false;
        }
        r->st.bytes -= r->win.len;
        r->win.len = 0;
        transcode(r);
        r->st.bytes += r->win.len;
        ensure(r, VG_SNIFF_BINARY_BYTES);
        s = (const unsigned char *)(r->win.data ? r->win.data : "");
        n = r->win.len;
    }
    /* A leading run of NULs is the hole `copytruncate` leaves in a log whose writer lacks
     * O_APPEND: judge what follows it (the NULs themselves are bad records, reported). Bytes
     * that are not UTF-8 do not make a file binary: an 8-bit code page export (CP1251,
     * Latin-1) is text whose ASCII records are still read. */
    size_t z = 0;
    while (z < n && s[z] == 0)
        z++;
    size_t m = n - z < VG_SNIFF_BINARY_BYTES ? n - z : VG_SNIFF_BINARY_BYTES, ctrl, inval;
    text_stats(s + z, m, &ctrl, &inval);
    (void)inval;
    if (m && ctrl * 20 > m) {
        unreadable(r, 0, "not a log vigie can read (looks like: binary)");
        return false;
    }
    return true;
}

static void detect(vg_reader *r)
{
    r->detected = true;
    r->in_array = false;
    if (!r->sniffed && !sniff(r))
        return;
    ensure(r, 64 * 1024);
    const char *s = r->win.data ? r->win.data : "";
    size_t n = r->win.len, i = r->pos;
    if (r->win_offset + r->pos == 0 && n >= 3 && (unsigned char)s[0] == 0xEF &&
        (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF) {
        advance(r, 3);
        i = 3;
    }
    while (i < n && (ws(s[i]) || s[i] == 0)) {
        r->nul_run += s[i] == 0; /* a hole of NULs before the first record (copytruncate) */
        i++;
    }
    if (i >= n) {
        advance(r, n); /* blanks consumed: detection starts again if more text comes */
        r->fmt = VG_FMT_EMPTY;
        return;
    }
    if (r->nul_run) {
        /* said once and counted as one bad record: nothing is skipped silently */
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%llu NUL byte(s) before the first record skipped (a hole, as copytruncate "
                 "leaves in a log being written)",
                 (unsigned long long)r->nul_run);
        vigie_diag d = {VIGIE_DIAG_ERROR, VIGIE_TRUNCATED, r->path, 1, 0, 0, NULL, msg};
        if (r->o.diag)
            r->o.diag(r->o.diag_ud, &d);
        r->st.bad_records++;
        r->st.bad_by_rc[VIGIE_TRUNCATED]++;
        r->nul_run = 0;
    }
    if (s[i] == '[') {
        r->fmt = VG_FMT_JSON_ARRAY;
        advance(r, i + 1);
        r->in_array = true;
        return;
    }
    if (s[i] == '{') {
        size_t w = wrapper_start(s, n, i);
        if (w) {
            r->fmt = VG_FMT_JSON_WRAPPED;
            advance(r, w);
            r->in_array = true;
            return;
        }
        /* NDJSON when the first line is one complete object: look for the first newline
         * (up to 1 MiB of text), and check the line ends with '}'. Otherwise values are
         * parsed one after another (pretty-printed or several per line). */
        size_t scan = i;
        const char *nl;
        while (!(nl = memchr(r->win.data + scan, '\n', r->win.len - scan)) &&
               r->win.len - r->pos < (1u << 20)) {
            size_t base = r->pos, old = r->win.len;
            if (!fill(r))
                break;
            scan = old - (base - r->pos); /* the window may have slid */
            i -= base - r->pos;
        }
        s = r->win.data;
        n = r->win.len;
        size_t line_end = nl ? (size_t)(nl - s) : n;
        size_t e = line_end;
        while (e > i && ws(s[e - 1]))
            e--;
        /* one value filling the line: NDJSON; a value and more, or a value running past the
         * line: concatenated; a syntax error: NDJSON with a bad first line (the worker
         * reports it, the next lines are read) */
        r->fmt = VG_FMT_JSON_CONCAT;
        if (e > i && s[e - 1] == '}') {
            size_t consumed = 0;
            int prc = vg__json_parse_prefix(&r->tape, s + i, e - i, &consumed, NULL);
            if ((prc == VIGIE_OK && consumed == e - i) ||
                (prc != VIGIE_OK && prc != VIGIE_TRUNCATED && nl))
                r->fmt = VG_FMT_NDJSON;
        }
        advance(r, i);
        return;
    }
    r->fmt = VG_FMT_CSV_FIELDS; /* refined once the header is read */
    advance(r, i);
}

/* ---- NDJSON ------------------------------------------------------------------------------------- */

static int next_ndjson(vg_reader *r, vg_record *rec)
{
    for (;;) {
        if (r->pos >= r->win.len && !fill(r))
            return r->stream_rc ? r->stream_rc : VIGIE_EOF;
        size_t scanned = 0; /* bytes after pos known to hold no newline */
        const char *nl;
        for (;;) {
            size_t from = r->pos + scanned;
            nl = memchr(r->win.data + from, '\n', r->win.len - from);
            if (nl)
                break;
            scanned = r->win.len - r->pos;
            if (scanned > r->o.max_record) {
                /* too long: report, then skip to the next newline without keeping it */
                bad(r, VIGIE_TOOBIG, r->line_at_pos, "line longer than the record size limit");
                for (;;) {
                    nl = memchr(r->win.data + r->pos, '\n', r->win.len - r->pos);
                    if (nl) {
                        advance(r, (size_t)(nl - r->win.data) + 1);
                        break;
                    }
                    r->pos = r->win.len;
                    if (!fill(r))
                        return r->stream_rc ? r->stream_rc : VIGIE_EOF;
                }
                scanned = 0;
                continue;
            }
            if (!fill(r))
                break;
        }
        if (!nl && r->stream_rc)
            return r->stream_rc; /* a line cut by a failed decompression: not a record */
        size_t start = r->pos;
        size_t end = nl ? (size_t)(nl - r->win.data) : r->win.len;
        if (end - start > r->o.max_record) {
            bad(r, VIGIE_TOOBIG, r->line_at_pos, "line longer than the record size limit");
            r->pos = nl ? end + 1 : end;
            r->line_at_pos += nl != NULL;
            continue;
        }
        size_t e = end, b = start;
        while (e > b && ws(r->win.data[e - 1]))
            e--;
        while (b < e && ws(r->win.data[b]))
            b++;
        uint64_t line = r->line_at_pos;
        uint64_t offset = r->win_offset + b;
        r->pos = nl ? end + 1 : end;
        if (nl)
            r->line_at_pos++;
        if (b == e) {
            if (!nl && r->stream_done)
                return r->stream_rc ? r->stream_rc : VIGIE_EOF;
            continue; /* blank line */
        }
        rec->data = r->win.data + b;
        rec->len = e - b;
        rec->src.file = r->path;
        rec->src.line = line;
        rec->src.index = r->index++;
        rec->src.offset = offset;
        r->st.records++;
        return VIGIE_OK;
    }
}

/* ---- JSON arrays and concatenated values -------------------------------------------------------- */

/* More text for a record that does not fit yet: grow the unconsumed text geometrically
 * (at least doubling it), so that re-parsing a large record from its start costs O(size)
 * overall. False when the input has nothing more. */
static bool grow_window(vg_reader *r)
{
    size_t have = r->win.len - r->pos, want = have < BLOCK ? have + BLOCK : 2 * have;
    if (want > r->o.max_record + BLOCK) /* one block past the limit is enough to know */
        want = r->o.max_record + BLOCK;
    bool any = false;
    while (r->win.len - r->pos < want && fill(r))
        any = true;
    return any;
}

/* After a bad value: move to where the next record probably starts. Pretty-printed input
 * (records begin their line at column `indent`): the next line whose first non-blank byte
 * is '{' at that column. Compact input: the next "}" "," "{" sequence (which may be inside
 * a nested array: such a nested object is then read as a record). */
static bool resync_json(vg_reader *r)
{
    advance(r, r->pos + 1);
    for (;;) {
        const char *s = r->win.data, *e = s + r->win.len;
        const char *p = s + r->pos;
        if (r->indent >= 0) {
            while ((p = memchr(p, '\n', (size_t)(e - p)))) {
                const char *q = ++p;
                while (q < e && (*q == ' ' || *q == '\t'))
                    q++;
                if (q >= e)
                    break; /* need more text to see this line's start */
                if (*q == '{' && q - p == r->indent) {
                    advance(r, (size_t)(q - s));
                    return true;
                }
            }
        } else {
            for (; p < e && (p = memchr(p, '}', (size_t)(e - p))); p++) {
                const char *q = p + 1;
                while (q < e && ws(*q))
                    q++;
                if (q < e && *q == ',') {
                    q++;
                    while (q < e && ws(*q))
                        q++;
                    if (q < e && *q == '{') {
                        advance(r, (size_t)(q - s));
                        return true;
                    }
                }
                if (q >= e)
                    break;
            }
        }
        /* keep a little context (a partial line or separator) and read on */
        size_t keep = r->win.len - r->pos > 4096 ? r->win.len - 4096 : r->pos;
        const char *nl = keep > r->pos ? memchr(s + keep, '\n', r->win.len - keep) : NULL;
        advance(r, nl ? (size_t)(nl - s) : keep);
        if (!fill(r))
            return false;
    }
}

/* Internal status of the format readers: detect the format again and go on. */
#define AGAIN (-1)

/* Skip blanks, reading more text as needed; false at the end of the input. */
static bool skip_ws(vg_reader *r)
{
    for (;;) {
        while (r->pos < r->win.len && ws(r->win.data[r->pos]))
            advance(r, r->pos + 1);
        if (r->pos < r->win.len)
            return true;
        if (!fill(r))
            return false;
    }
}

/* Parse (and skip) one JSON value at pos; false when malformed or too large. */
static bool skip_value(vg_reader *r)
{
    size_t consumed = 0;
    int rc;
    for (;;) {
        rc = vg__json_parse_prefix(&r->tape, r->win.data + r->pos, r->win.len - r->pos,
                                   &consumed, NULL);
        if (rc != VIGIE_TRUNCATED || r->win.len - r->pos > r->o.max_record || !grow_window(r))
            break;
    }
    if (rc != VIGIE_OK)
        return false;
    advance(r, r->pos + consumed);
    return true;
}

/* After a wrapper's record array: the remaining members ("key": value, ...) and the closing
 * brace. True when the wrapper object ended well. */
static bool finish_wrapper(vg_reader *r)
{
    for (;;) {
        if (!skip_ws(r))
            return false;
        char c = r->win.data[r->pos];
        if (c == '}') {
            advance(r, r->pos + 1);
            return true;
        }
        if (c == ',') {
            advance(r, r->pos + 1);
            continue;
        }
        if (c != '"' || !skip_value(r) || !skip_ws(r) || r->win.data[r->pos] != ':')
            return false;
        advance(r, r->pos + 1);
        if (!skip_ws(r) || !skip_value(r))
            return false;
    }
}

static int next_json(vg_reader *r, vg_record *rec)
{
    for (;;) {
        /* skip whitespace and, inside an array, commas */
        for (;;) {
            while (r->pos < r->win.len &&
                   (ws(r->win.data[r->pos]) || (r->in_array && r->win.data[r->pos] == ',')))
                advance(r, r->pos + 1);
            if (r->pos < r->win.len)
                break;
            if (!fill(r))
                return r->stream_rc ? r->stream_rc : VIGIE_EOF;
        }
        char c = r->win.data[r->pos];
        if (r->in_array && c == ']') {
            /* the end of the record array: skip the rest of a wrapper object (nextLink...),
             * then detect afresh what follows (another array or wrapper, values, nothing) */
            r->in_array = false;
            uint64_t line = r->line_at_pos;
            advance(r, r->pos + 1);
            if (r->fmt == VG_FMT_JSON_WRAPPED && !finish_wrapper(r)) {
                bad(r, VIGIE_JSON, line, "malformed wrapper object after its record array; "
                                         "the rest of the input is ignored");
                r->pos = r->win.len;
                while (fill(r))
                    r->pos = r->win.len;
                return r->stream_rc ? r->stream_rc : VIGIE_EOF;
            }
            r->detected = false;
            return AGAIN;
        }
        size_t consumed = 0;
        vg_jerr err;
        int rc;
        for (;;) {
            rc = vg__json_parse_prefix(&r->tape, r->win.data + r->pos, r->win.len - r->pos,
                                       &consumed, &err);
            if (rc != VIGIE_TRUNCATED || r->win.len - r->pos > r->o.max_record)
                break;
            if (!grow_window(r))
                break;
        }
        uint64_t line = r->line_at_pos;
        uint64_t offset = r->win_offset + r->pos;
        if (rc == VIGIE_OK && consumed > r->o.max_record) {
            /* complete but over the limit (it fit in the window): skip it whole */
            advance(r, r->pos + consumed);
            bad(r, VIGIE_TOOBIG, line, "record longer than the size limit");
            continue;
        }
        if (rc == VIGIE_OK && r->tape.tok[0].type == VG_J_OBJECT) {
            if (r->index == 0 && r->st.bad_records == 0)
                r->indent = line_indent(r->win.data, r->pos);
            rec->data = r->win.data + r->pos;
            rec->len = consumed;
            rec->src.file = r->path;
            rec->src.line = line;
            rec->src.index = r->index++;
            rec->src.offset = offset;
            advance(r, r->pos + consumed);
            r->st.records++;
            return VIGIE_OK;
        }
        if (rc == VIGIE_OK) {
            advance(r, r->pos + consumed);
            bad(r, VIGIE_JSON, line, "not a JSON object");
            continue;
        }
        if (rc == VIGIE_EOF)
            return r->stream_rc ? r->stream_rc : VIGIE_EOF;
        if (rc == VIGIE_TRUNCATED && r->stream_rc)
            return r->stream_rc; /* cut by the decompressor: already reported */
        if (r->index == 0 && r->st.bad_records == 0)
            r->indent = line_indent(r->win.data, r->pos);
        char why[200];
        bool toobig = rc == VIGIE_TRUNCATED && r->win.len - r->pos > r->o.max_record;
        if (toobig)
            snprintf(why, sizeof why, "record longer than the size limit (%zu bytes)",
                     r->o.max_record);
        else
            snprintf(why, sizeof why, "%s: %s (byte %zu of the record)", vigie_strerror(rc),
                     err.msg, err.offset);
        bad(r, toobig ? VIGIE_TOOBIG : rc, line, why);
        if (!resync_json(r))
            return r->stream_rc ? r->stream_rc : VIGIE_EOF;
    }
}

/* ---- CSV ---------------------------------------------------------------------------------------- */

/* csv_row: the row has more than VG_MAX_CSV_COLUMNS cells (its end is known). */
#define CSV_WIDE (-2)

/* Parse one CSV row at s[*pos]. Returns VIGIE_OK (row in cells), VIGIE_TRUNCATED (need more
 * text), VIGIE_CSV (unterminated quote at the end of the input), CSV_WIDE (more cells than
 * VG_MAX_CSV_COLUMNS: the cells past the limit are parsed to find the row's end but not
 * kept; *pos and *newlines are set as for VIGIE_OK). */
static int csv_row(vg_buf *cells, size_t **off, size_t **lenv, uint32_t *cap, uint32_t *n_out,
                   const char *s, size_t n, size_t *pos, bool at_eof, uint64_t *newlines)
{
    size_t i = *pos;
    uint32_t nc = 0;
    uint64_t nls = 0;
    bool wide = false;
    vg__buf_reset(cells);
    for (;;) {
        if (nc == *cap && *cap >= VG_MAX_CSV_COLUMNS)
            wide = true;
        if (nc == *cap && !wide) {
            /* two arrays of one capacity: each grows on its own copy, *cap moves when both have */
            uint32_t c1 = *cap, c2 = *cap;
            int rc = VG_GROW_MAX(*off, c1, (size_t)nc + 1, 32, VG_MAX_CSV_COLUMNS);
            if (!rc)
                rc = VG_GROW_MAX(*lenv, c2, (size_t)nc + 1, 32, VG_MAX_CSV_COLUMNS);
            if (rc)
                return rc;
            *cap = c1;
        }
        size_t start = cells->len;
        if (!wide)
            (*off)[nc] = start;
        if (i < n && s[i] == '"') {
            i++;
            for (;;) {
                const char *q = memchr(s + i, '"', n - i);
                if (!q) {
                    if (!at_eof)
                        return VIGIE_TRUNCATED;
                    return VIGIE_CSV;
                }
                size_t qi = (size_t)(q - s);
                for (size_t k = i; k < qi; k++)
                    nls += s[k] == '\n';
                vg__buf_add(cells, s + i, qi - i);
                if (qi + 1 < n && s[qi + 1] == '"') {
                    vg__buf_addc(cells, '"');
                    i = qi + 2;
                    continue;
                }
                if (qi + 1 >= n && !at_eof)
                    return VIGIE_TRUNCATED;
                i = qi + 1;
                break;
            }
            /* after the closing quote only blanks may come before the separator: anything
             * else means the quotes are broken (a quote missing, so this "closing" quote
             * opened the next row's field): the row is rejected */
            while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
            if (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
                return VIGIE_CSV;
        } else {
            size_t k = i;
            while (k < n && s[k] != ',' && s[k] != '\n' && s[k] != '\r')
                k++;
            if (k >= n && !at_eof)
                return VIGIE_TRUNCATED;
            vg__buf_add(cells, s + i, k - i);
            i = k;
        }
        if (!wide)
            (*lenv)[nc] = cells->len - start;
        else
            cells->len = start; /* past the limit: parsed, not kept */
        nc++;
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '\r')
            i++;
        if (i < n && s[i] == '\n') {
            i++;
            nls++;
        } else if (i >= n && !at_eof) {
            return VIGIE_TRUNCATED;
        }
        break;
    }
    *pos = i;
    *n_out = wide ? VG_MAX_CSV_COLUMNS : nc;
    *newlines = nls;
    return wide ? CSV_WIDE : VIGIE_OK;
}

int vg__csv_parse(const char *text, size_t len, vg_csv_row_fn fn, void *ud, uint64_t *err_line)
{
    vg_buf cells;
    vg__buf_init(&cells, 0);
    size_t *off = NULL, *lens = NULL;
    uint32_t cap = 0, n = 0;
    size_t pos = 0;
    uint64_t line = 1, nls;
    const char **cp = NULL;
    int rc = VIGIE_OK;
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF)
        pos = 3;
    while (pos < len) {
        uint64_t row_line = line;
        rc = csv_row(&cells, &off, &lens, &cap, &n, text, len, &pos, true, &nls);
        if (rc == CSV_WIDE)
            rc = VIGIE_TOOBIG;
        if (rc) {
            if (err_line)
                *err_line = row_line;
            break;
        }
        line += nls;
        const char **ncp = realloc(cp, (n + 1) * sizeof *cp);
        if (!ncp) {
            rc = VIGIE_NOMEM;
            break;
        }
        cp = ncp;
        for (uint32_t k = 0; k < n; k++)
            cp[k] = cells.data ? cells.data + off[k] : "";
        if (fn && fn(ud, row_line, cp, lens, n))
            break;
    }
    free(cp);
    free(off);
    free(lens);
    vg__buf_free(&cells);
    return rc;
}

static bool looks_json(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && ws(s[i]))
        i++;
    return i < n && s[i] == '{';
}

static int next_csv(vg_reader *r, vg_record *rec)
{
    for (;;) {
        if (r->pos >= r->win.len && !fill(r))
            return r->stream_rc ? r->stream_rc : VIGIE_EOF;
        uint32_t n = 0;
        uint64_t nls = 0;
        size_t p = r->pos;
        int rc;
        for (;;) {
            p = r->pos;
            rc = csv_row(&r->cells, &r->cell_off, &r->cell_len, &r->cell_cap, &n, r->win.data,
                         r->win.len, &p, r->stream_done, &nls);
            if (rc != VIGIE_TRUNCATED)
                break;
            if (r->win.len - r->pos > r->o.max_record) {
                rc = VIGIE_TOOBIG;
                break;
            }
            if (!grow_window(r) && r->stream_rc)
                return r->stream_rc; /* a row cut by a failed decompression */
            /* else more text, or the end of input: parse again (at_eof now known) */
        }
        uint64_t line = r->line_at_pos;
        uint64_t offset = r->win_offset + r->pos;
        if (rc == VIGIE_OK || rc == CSV_WIDE)
            r->csv_rows++;
        if (rc == CSV_WIDE) {
            char why[200];
            if (!r->header_done) {
                snprintf(why, sizeof why,
                         "CSV header has more than VG_MAX_CSV_COLUMNS (%u) columns: the file "
                         "cannot be read",
                         VG_MAX_CSV_COLUMNS);
                unreadable(r, line, why);
                return VIGIE_UNSUPPORTED;
            }
            snprintf(why, sizeof why, "CSV row %llu has more than VG_MAX_CSV_COLUMNS (%u) columns",
                     (unsigned long long)r->csv_rows, VG_MAX_CSV_COLUMNS);
            bad(r, VIGIE_TOOBIG, line, why);
            r->pos = p;
            r->line_at_pos += nls;
            continue;
        }
        if (rc) {
            bad(r, rc == VIGIE_TOOBIG ? VIGIE_TOOBIG : VIGIE_CSV, line,
                rc == VIGIE_TOOBIG ? "CSV row longer than the record size limit"
                                   : "malformed CSV row: unterminated or broken quoted field");
            /* resynchronise at the next line */
            const char *nl = memchr(r->win.data + r->pos, '\n', r->win.len - r->pos);
            advance(r, nl ? (size_t)(nl - r->win.data) + 1 : r->win.len);
            continue;
        }
        if (p - r->pos > r->o.max_record) {
            bad(r, VIGIE_TOOBIG, line, "CSV row longer than the record size limit");
            r->pos = p;
            r->line_at_pos += nls;
            continue;
        }
        r->pos = p;
        r->line_at_pos += nls;
        if (n == 1 && r->cell_len[0] == 0)
            continue; /* blank line */
        if (!r->header_done) {
            r->header = calloc(n, sizeof *r->header);
            if (!r->header)
                return VIGIE_NOMEM;
            r->n_header = n;
            for (uint32_t k = 0; k < n; k++) {
                /* Log Analytics exports: "TimeGenerated [UTC]" is TimeGenerated, and a dynamic
                 * column comes as X_dynamic (JSON) and X_string: X_dynamic is read as X */
                size_t hl = r->cell_len[k];
                const char *h = r->cells.data + r->cell_off[k];
                if (hl > 6 && !memcmp(h + hl - 6, " [UTC]", 6))
                    hl -= 6;
                if (hl > 8 && !memcmp(h + hl - 8, "_dynamic", 8))
                    hl -= 8;
                r->header[k] = strndup(h, hl);
                if (r->header[k] && vg__ascii_ieq(r->header[k], strlen(r->header[k]),
                                                  "AuditData", 9))
                    r->json_col = (int)k;
            }
            /* X_string duplicates X_dynamic: drop it */
            for (uint32_t k = 0; k < n; k++) {
                size_t hl = r->header[k] ? strlen(r->header[k]) : 0;
                if (hl > 7 && !strcmp(r->header[k] + hl - 7, "_string"))
                    for (uint32_t q = 0; q < n; q++)
                        if (q != k && r->header[q] && strlen(r->header[q]) == hl - 7 &&
                            !memcmp(r->header[q], r->header[k], hl - 7))
                            r->header[k][0] = 0;
            }
            r->header_done = true;
            bool ident = n == 1 && r->header[0] && r->header[0][0] &&
                         strlen(r->header[0]) <= 64;
            for (const char *h = ident ? r->header[0] : ""; *h; h++)
                if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
                      (*h >= '0' && *h <= '9') || *h == '_' || *h == ' ' || *h == '.' ||
                      *h == '-'))
                    ident = false;
            if (n < 2 && !ident) { /* one column only when its header is a plain name */
                r->fmt = VG_FMT_UNKNOWN;
                bad(r, VIGIE_CSV, line, "input is neither JSON nor CSV with a header row");
                r->pos = r->win.len;
                while (fill(r))
                    r->pos = r->win.len;
                return r->stream_rc ? r->stream_rc : VIGIE_EOF;
            }
            r->fmt = r->json_col >= 0 ? VG_FMT_CSV_JSON_COLUMN : VG_FMT_CSV_FIELDS;
            continue;
        }
        if (r->json_col < 0 && r->fmt == VG_FMT_CSV_FIELDS && r->index == 0) {
            /* no AuditData header: a column whose value is a JSON object holds the record
             * only when every other column is a short summary (Purview-like exports) */
            for (uint32_t k = 0; k < n && k < r->n_header && r->json_col < 0; k++) {
                const char *v = r->cells.data + r->cell_off[k];
                size_t vl = r->cell_len[k];
                if (!r->header[k] || !looks_json(v, vl))
                    continue;
                /* a "...Data" column holding an object, or any column holding a Management
                 * Activity API record (both CreationTime and Operation keys) */
                if (vg__ascii_imemmem(r->header[k], strlen(r->header[k]), "data", 4) ||
                    (vg__ascii_imemmem(v, vl, "\"CreationTime\"", 14) &&
                     vg__ascii_imemmem(v, vl, "\"Operation\"", 11)))
                    r->json_col = (int)k;
            }
            if (r->json_col >= 0)
                r->fmt = VG_FMT_CSV_JSON_COLUMN;
        }
        vg__buf_reset(&r->rec);
        if (r->json_col >= 0) {
            if ((uint32_t)r->json_col >= n) {
                bad(r, VIGIE_CSV, line, "row has no AuditData column");
                continue;
            }
            vg__buf_add(&r->rec, r->cells.data + r->cell_off[r->json_col],
                        r->cell_len[r->json_col]);
        } else {
            vg__buf_addc(&r->rec, '{');
            bool first = true;
            for (uint32_t k = 0; k < n && k < r->n_header; k++) {
                if (r->cell_len[k] == 0 || !r->header[k] || !r->header[k][0])
                    continue;
                if (!first)
                    vg__buf_addc(&r->rec, ',');
                first = false;
                vg__buf_addc(&r->rec, '"');
                vg__buf_add_json_str(&r->rec, r->header[k], strlen(r->header[k]));
                vg__buf_adds(&r->rec, "\":\"");
                vg__buf_add_json_str(&r->rec, r->cells.data + r->cell_off[k], r->cell_len[k]);
                vg__buf_addc(&r->rec, '"');
            }
            vg__buf_addc(&r->rec, '}');
        }
        rec->data = r->rec.data ? r->rec.data : "";
        rec->len = r->rec.len;
        rec->src.file = r->path;
        rec->src.line = line;
        rec->src.index = r->index++;
        rec->src.offset = offset;
        r->st.records++;
        return VIGIE_OK;
    }
}

int vg__reader_next(vg_reader *r, vg_record *rec)
{
    for (;;) {
        if (!r->detected) {
            detect(r);
            if (!r->first_fmt && r->fmt != VG_FMT_EMPTY && r->fmt != VG_FMT_CSV_FIELDS)
                r->first_fmt = r->fmt; /* CSV: refined when the header is read */
        }
        int rc;
        switch (r->fmt) {
        case VG_FMT_EMPTY:
            if (r->pos < r->win.len || fill(r)) {
                r->detected = false; /* more text arrived after blanks */
                continue;
            }
            return r->stream_rc ? r->stream_rc : VIGIE_EOF;
        case VG_FMT_NDJSON:
            return next_ndjson(r, rec);
        case VG_FMT_JSON_ARRAY:
        case VG_FMT_JSON_WRAPPED:
        case VG_FMT_JSON_CONCAT:
            rc = next_json(r, rec);
            if (rc == AGAIN)
                continue;
            return rc;
        case VG_FMT_CSV_FIELDS:
        case VG_FMT_CSV_JSON_COLUMN:
            return next_csv(r, rec);
        default:
            return r->stream_rc ? r->stream_rc : VIGIE_EOF;
        }
    }
}
