/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reader.c: one input (file or stdin) -> records with positions.
 *
 * Stage: ingest. Bytes are read in 256 KiB blocks, decompressed when the first bytes are a
 * gzip (1f 8b, multi-member) or zstd (28 b5 2f fd) magic, and appended to a window buffer
 * that holds the unconsumed text; consumed text is dropped from the front as the window
 * slides, so memory is bounded by the largest record (capped at max_record) plus a block.
 * The format is detected once from the first non-blank bytes, never from the name:
 *   '['                           JSON array: elements parsed one at a time;
 *   '{' + "Records"/"records"/"value"/"events" + '['   a wrapper: its array's elements;
 *   '{' ... '}' then a newline    NDJSON: one record per line, not parsed here (the worker
 *                                 parses and reports bad lines with their position);
 *   '{' spanning lines            concatenated JSON: values parsed one after another;
 *   anything else with a comma    CSV (RFC 4180): a JSON column (AuditData, or a column whose
 *                                 values are JSON objects) or one column per field.
 * A bad record is reported (file:line: reason), counted by status and skipped; the reader
 * resynchronises at the next line (NDJSON, CSV, JSON streams) and goes on.
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

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
    bool is_stdin;
    vg_reader_opts o;
    vg_reader_stats st;
    int fmt;
    int comp;
    bool detected;
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
    bool array_done;
    /* CSV */
    vg_buf rec;            /* synthesized record */
    vg_buf cells;          /* unquoted cell bytes */
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
    size_t n = fread(r->in, 1, BLOCK, r->f);
    if (n == 0) {
        r->in_eof = true;
        return ferror(r->f) ? VIGIE_IO : VIGIE_EOF;
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
    vigie_diag d = {VIGIE_DIAG_ERROR, rc, r->path, line, 0, UINT64_MAX, NULL, msg};
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

/* One step of decompression (or copy) into the window's free space. */
static void inflate_step(vg_reader *r, int rc)
{
    if (r->comp == VG_COMP_NONE) {
        if (rc == VIGIE_EOF) {
            r->stream_done = true;
            return;
        }
        size_t n = r->in_len - r->in_pos;
        if (n > BLOCK)
            n = BLOCK;
        memcpy(r->win.data + r->win.len, r->in + r->in_pos, n);
        r->win.len += n;
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
        r->z.next_out = (Bytef *)r->win.data + r->win.len;
        r->z.avail_out = (uInt)BLOCK;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        r->win.len = (size_t)((char *)r->z.next_out - r->win.data);
        r->in_pos = r->in_len - r->z.avail_in;
        if (zr == Z_STREAM_END)
            r->member_done = true;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            stream_fail(r, VIGIE_DECOMPRESS, "corrupt gzip stream");
        return;
    }
    ZSTD_inBuffer ib = {r->in + r->in_pos, r->in_len - r->in_pos, 0};
    ZSTD_outBuffer ob = {r->win.data + r->win.len, BLOCK, 0};
    size_t zr = ZSTD_decompressStream(r->zs, &ob, &ib);
    r->in_pos += ib.pos;
    r->win.len += ob.pos;
    if (ZSTD_isError(zr))
        stream_fail(r, VIGIE_DECOMPRESS, "corrupt zstd stream");
    else
        r->member_done = zr == 0; /* a frame is complete */
}

/* Append up to one block of text to the window, keeping the unconsumed text (only its
 * index changes when the window slides). Returns bytes added (0 at the end). */
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
        int rc = read_block(r);
        if (rc == VIGIE_IO) {
            stream_fail(r, VIGIE_IO, strerror(errno));
            return 0;
        }
        inflate_step(r, rc);
        r->win.data[r->win.len] = 0;
        size_t added = r->win.len - before;
        r->st.bytes += added;
        if (r->comp != VG_COMP_NONE && r->st.bytes > VG_DECOMPRESS_RATIO_FLOOR &&
            r->st.bytes / (r->st.bytes_read ? r->st.bytes_read : 1) > VG_DECOMPRESS_MAX_RATIO) {
            stream_fail(r, VIGIE_TOOBIG, "decompression ratio too high (compression bomb?)");
            return added;
        }
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

int vg__reader_open(vg_reader **out, const char *path, const vg_reader_opts *opts)
{
    *out = NULL;
    vg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return VIGIE_NOMEM;
    r->path = strdup(path);
    r->is_stdin = strcmp(path, "-") == 0;
    if (opts)
        r->o = *opts;
    if (!r->o.max_record)
        r->o.max_record = VG_MAX_RECORD_BYTES;
    r->in = malloc(BLOCK);
    vg__buf_init(&r->win, 0);
    vg__buf_init(&r->rec, 0);
    vg__buf_init(&r->cells, 0);
    vg__jtape_init(&r->tape);
    r->line_at_pos = 1;
    r->json_col = -1;
    if (!r->path || !r->in) {
        vg__reader_close(r);
        return VIGIE_NOMEM;
    }
    r->f = r->is_stdin ? stdin : fopen(path, "rb");
    if (!r->f) {
        int e = errno;
        vg__reader_close(r);
        return e == ENOENT ? VIGIE_NOENT : VIGIE_IO;
    }
    /* compression by magic */
    if (read_block(r) == VIGIE_OK && r->in_len >= 4) {
        if (r->in[0] == 0x1f && r->in[1] == 0x8b) {
            r->comp = VG_COMP_GZIP;
            if (inflateInit2(&r->z, 15 + 32) != Z_OK) {
                r->comp = VG_COMP_NONE;
                vg__reader_close(r);
                return VIGIE_NOMEM;
            }
        } else if (r->in[0] == 0x28 && r->in[1] == 0xb5 && r->in[2] == 0x2f && r->in[3] == 0xfd) {
            r->comp = VG_COMP_ZSTD;
            r->zs = ZSTD_createDStream();
            if (!r->zs || ZSTD_isError(ZSTD_initDStream(r->zs))) {
                vg__reader_close(r);
                return VIGIE_NOMEM;
            }
        }
    }
    *out = r;
    return VIGIE_OK;
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
    return r->fmt;
}
int vg__reader_compression(const vg_reader *r)
{
    return r->comp;
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

static void detect(vg_reader *r)
{
    r->detected = true;
    ensure(r, 4096);
    const char *s = r->win.data ? r->win.data : "";
    size_t n = r->win.len, i = 0;
    if (n >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF) {
        advance(r, 3);
        i = 3;
    }
    while (i < n && ws(s[i]))
        i++;
    if (i >= n) {
        r->fmt = VG_FMT_EMPTY;
        return;
    }
    if (s[i] == '[') {
        r->fmt = VG_FMT_JSON_ARRAY;
        advance(r, i + 1);
        r->in_array = true;
        return;
    }
    if (s[i] == '{') {
        /* wrapper: {"Records": [ ... */
        size_t k = i + 1;
        while (k < n && ws(s[k]))
            k++;
        static const char *const keys[] = {"\"Records\"", "\"records\"", "\"value\"",
                                           "\"events\""};
        for (size_t q = 0; q < VG_ARRAY_LEN(keys); q++) {
            size_t kl = strlen(keys[q]);
            if (k + kl < n && memcmp(s + k, keys[q], kl) == 0) {
                size_t c = k + kl;
                while (c < n && ws(s[c]))
                    c++;
                if (c < n && s[c] == ':') {
                    c++;
                    while (c < n && ws(s[c]))
                        c++;
                    if (c < n && s[c] == '[') {
                        r->fmt = VG_FMT_JSON_WRAPPED;
                        advance(r, c + 1);
                        r->in_array = true;
                        return;
                    }
                }
            }
        }
        /* one line per record, or objects spanning lines? */
        const char *nl = memchr(s + i, '\n', n - i);
        size_t line_end = nl ? (size_t)(nl - s) : n;
        size_t e = line_end;
        while (e > i && ws(s[e - 1]))
            e--;
        r->fmt = (e > i && s[e - 1] == '}') ? VG_FMT_NDJSON : VG_FMT_JSON_CONCAT;
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
        size_t start = r->pos;
        size_t end = nl ? (size_t)(nl - r->win.data) : r->win.len;
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
            r->in_array = false;
            r->array_done = true;
            advance(r, r->pos + 1);
            if (r->fmt == VG_FMT_JSON_WRAPPED) {
                /* ignore the rest of the wrapper object */
                r->pos = r->win.len;
                while (fill(r))
                    r->pos = r->win.len;
            }
            continue;
        }
        if (r->array_done && r->fmt != VG_FMT_JSON_CONCAT) {
            /* content after the array: treat further values as concatenated */
            r->fmt = VG_FMT_JSON_CONCAT;
        }
        size_t consumed = 0;
        vg_jerr err;
        int rc;
        for (;;) {
            rc = vg__json_parse_prefix(&r->tape, r->win.data + r->pos, r->win.len - r->pos,
                                       &consumed, &err);
            if (rc != VIGIE_TRUNCATED || r->win.len - r->pos > r->o.max_record)
                break;
            if (!fill(r))
                break;
        }
        uint64_t line = r->line_at_pos;
        uint64_t offset = r->win_offset + r->pos;
        if (rc == VIGIE_OK && r->tape.tok[0].type == VG_J_OBJECT) {
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
        char why[200];
        snprintf(why, sizeof why, "%s (byte %zu of the record)", err.msg, err.offset);
        bad(r, rc == VIGIE_TRUNCATED && r->win.len - r->pos > r->o.max_record ? VIGIE_TOOBIG
                                                                                 : rc,
            line, why);
        /* resynchronise: the next line that starts with '{' after the error */
        size_t from = r->pos + (err.offset ? err.offset : 1);
        if (from > r->win.len)
            from = r->win.len;
        advance(r, from);
        for (;;) {
            const char *nl = memchr(r->win.data + r->pos, '\n', r->win.len - r->pos);
            if (!nl) {
                r->pos = r->win.len;
                if (!fill(r))
                    return r->stream_rc ? r->stream_rc : VIGIE_EOF;
                continue;
            }
            advance(r, (size_t)(nl - r->win.data) + 1);
            size_t k = r->pos;
            while (k < r->win.len && (r->win.data[k] == ' ' || r->win.data[k] == '\t'))
                k++;
            if (k < r->win.len && r->win.data[k] == '{') {
                advance(r, k);
                break;
            }
        }
    }
}

/* ---- CSV ---------------------------------------------------------------------------------------- */

/* Parse one CSV row at s[*pos]. Returns VIGIE_OK (row in cells), VIGIE_TRUNCATED (need more
 * text), VIGIE_CSV (unterminated quote at the end of the input). */
static int csv_row(vg_buf *cells, size_t **off, size_t **lenv, uint32_t *cap, uint32_t *n_out,
                   const char *s, size_t n, size_t *pos, bool at_eof, uint64_t *newlines)
{
    size_t i = *pos;
    uint32_t nc = 0;
    uint64_t nls = 0;
    vg__buf_reset(cells);
    for (;;) {
        if (nc == *cap) {
            uint32_t ncap = *cap ? *cap * 2 : 32;
            if (ncap > VG_MAX_CSV_COLUMNS)
                return VIGIE_CSV;
            size_t *no = realloc(*off, ncap * sizeof *no);
            if (!no)
                return VIGIE_NOMEM;
            *off = no;
            size_t *nl2 = realloc(*lenv, ncap * sizeof *nl2);
            if (!nl2)
                return VIGIE_NOMEM;
            *lenv = nl2;
            *cap = ncap;
        }
        size_t start = cells->len;
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
            /* junk between the closing quote and the separator is kept */
            while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r')
                vg__buf_addc(cells, s[i++]);
        } else {
            size_t k = i;
            while (k < n && s[k] != ',' && s[k] != '\n' && s[k] != '\r')
                k++;
            if (k >= n && !at_eof)
                return VIGIE_TRUNCATED;
            vg__buf_add(cells, s + i, k - i);
            i = k;
        }
        (*lenv)[nc] = cells->len - start;
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
    *n_out = nc;
    *newlines = nls;
    return VIGIE_OK;
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
            if (!fill(r))
                continue; /* stream_done now set: parse again at EOF */
        }
        uint64_t line = r->line_at_pos;
        uint64_t offset = r->win_offset + r->pos;
        if (rc) {
            bad(r, rc == VIGIE_TOOBIG ? VIGIE_TOOBIG : VIGIE_CSV, line,
                rc == VIGIE_TOOBIG ? "CSV row longer than the record size limit"
                                   : "unterminated quoted CSV field");
            /* resynchronise at the next line */
            const char *nl = memchr(r->win.data + r->pos, '\n', r->win.len - r->pos);
            advance(r, nl ? (size_t)(nl - r->win.data) + 1 : r->win.len);
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
            for (uint32_t k = 0; k < n && k < r->n_header; k++)
                if (looks_json(r->cells.data + r->cell_off[k], r->cell_len[k]) &&
                    r->header[k] && (strstr(r->header[k], "Data") || strstr(r->header[k], "data")))
                    r->json_col = (int)k;
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
    if (!r->detected)
        detect(r);
    switch (r->fmt) {
    case VG_FMT_EMPTY:
        if (r->pos < r->win.len || fill(r)) {
            r->detected = false; /* more text arrived after blanks */
            return vg__reader_next(r, rec);
        }
        return r->stream_rc ? r->stream_rc : VIGIE_EOF;
    case VG_FMT_NDJSON:
        return next_ndjson(r, rec);
    case VG_FMT_JSON_ARRAY:
    case VG_FMT_JSON_WRAPPED:
    case VG_FMT_JSON_CONCAT:
        return next_json(r, rec);
    case VG_FMT_CSV_FIELDS:
    case VG_FMT_CSV_JSON_COLUMN:
        return next_csv(r, rec);
    default:
        return r->stream_rc ? r->stream_rc : VIGIE_EOF;
    }
}
