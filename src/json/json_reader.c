/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_reader.c: the strict JSON reader: one pass from bytes to a flat tape.
 *
 * Stage: json. The parser is an explicit state machine (no recursion) with a fixed stack of
 * VG_MAX_JSON_DEPTH open containers, so hostile nesting costs one scan and an error. Strings
 * are scanned 16 bytes at a time (SSE2) for the only bytes that need attention: the closing
 * quote, a backslash, control characters and non-ASCII bytes (whose UTF-8 is validated
 * there); everything else is skipped without a look. The tape stores offsets into the
 * source, never copies; it grows by doubling and is reused, so steady-state parsing does not
 * allocate. Invariants: tok[i].next > i; a container's children lie in (i, tok[i].next);
 * object children alternate key (key = 1) and value.
 */
#define _POSIX_C_SOURCE 200809L
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

void vg__jtape_init(vg_jtape *t)
{
    memset(t, 0, sizeof *t);
}

void vg__jtape_free(vg_jtape *t)
{
    free(t->tok);
    memset(t, 0, sizeof *t);
}

static int grow(vg_jtape *t)
{
    uint32_t ncap = t->cap ? t->cap * 2 : 256;
    if (t->cap >= VG_MAX_JSON_TOKENS)
        return VIGIE_TOOBIG;
    if (ncap > VG_MAX_JSON_TOKENS)
        ncap = VG_MAX_JSON_TOKENS;
    vg_jtok *n = realloc(t->tok, (size_t)ncap * sizeof *n);
    if (!n)
        return VIGIE_NOMEM;
    t->tok = n;
    t->cap = ncap;
    return VIGIE_OK;
}

static inline bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline size_t skip_ws(const unsigned char *s, size_t p, size_t len)
{
    while (p < len && is_ws(s[p]))
        p++;
    return p;
}

/* Length of a valid UTF-8 sequence starting at s[0] (>= 0x80), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF)
        return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

static inline int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = vg__lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

#define FAIL(code, at, text)                                                                      \
    do {                                                                                          \
        rc = (code);                                                                              \
        errpos = (at);                                                                            \
        errmsg = (text);                                                                          \
        goto out;                                                                                 \
    } while (0)

typedef struct frame {
    uint32_t tok;
    uint32_t count;
    uint8_t is_obj;
} frame;

/* Scan a string body starting after the opening quote at s[p]. On success *end is the index
 * of the closing quote and *esc tells whether a backslash was seen. */
static int scan_string(const unsigned char *s, size_t p, size_t len, size_t *end, uint8_t *esc,
                       size_t *errpos, const char **errmsg)
{
    uint8_t e = 0;
    for (;;) {
#ifdef __SSE2__
        while (p + 16 <= len) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + p));
            __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
            __m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
            __m128i c = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)); /* controls and bytes >= 0x80 */
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c));
            if (m) {
                p += (size_t)__builtin_ctz(m);
                break;
            }
            p += 16;
        }
#endif
        while (p < len && s[p] >= 0x20 && s[p] < 0x80 && s[p] != '"' && s[p] != '\\')
            p++;
        if (p >= len) {
            *errpos = len;
            *errmsg = "unterminated string";
            return VIGIE_TRUNCATED;
        }
        unsigned char c = s[p];
        if (c == '"') {
            *end = p;
            *esc = e;
            return VIGIE_OK;
        }
        if (c == '\\') {
            e = 1;
            if (p + 1 >= len) {
                *errpos = p;
                *errmsg = "unterminated escape";
                return VIGIE_TRUNCATED;
            }
            unsigned char n = s[p + 1];
            if (n == 'u') {
                if (p + 6 > len) {
                    *errpos = p;
                    *errmsg = "truncated \\u escape";
                    return VIGIE_TRUNCATED;
                }
                for (int k = 2; k < 6; k++)
                    if (hexval(s[p + (size_t)k]) < 0) {
                        *errpos = p;
                        *errmsg = "invalid \\u escape";
                        return VIGIE_JSON;
                    }
                p += 6;
            } else if (n == '"' || n == '\\' || n == '/' || n == 'b' || n == 'f' || n == 'n' ||
                       n == 'r' || n == 't') {
                p += 2;
            } else {
                *errpos = p;
                *errmsg = "invalid escape in string";
                return VIGIE_JSON;
            }
            continue;
        }
        if (c < 0x20) {
            *errpos = p;
            *errmsg = "control character in string";
            return VIGIE_JSON;
        }
        size_t k = utf8_len(s + p, len - p);
        if (!k) {
            *errpos = p;
            *errmsg = "invalid UTF-8 in string";
            return VIGIE_UTF8;
        }
        p += k;
    }
}

/* Strict number grammar; returns the end index, or 0 on error (a number is never empty). */
static size_t scan_number(const unsigned char *s, size_t p, size_t len)
{
    size_t st = p;
    if (p < len && s[p] == '-')
        p++;
    if (p >= len)
        return 0;
    if (s[p] == '0') {
        p++;
    } else if (s[p] >= '1' && s[p] <= '9') {
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
    } else {
        return 0;
    }
    if (p < len && s[p] == '.') {
        p++;
        size_t d = p;
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
        if (p == d)
            return 0;
    }
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < len && (s[p] == '+' || s[p] == '-'))
            p++;
        size_t d = p;
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
        if (p == d)
            return 0;
    }
    return p > st ? p : 0;
}

static int parse(vg_jtape *t, const char *src, size_t len, size_t *consumed, bool prefix,
                 vg_jerr *err)
{
    const unsigned char *s = (const unsigned char *)src;
    frame stack[VG_MAX_JSON_DEPTH];
    uint32_t depth = 0;
    int rc = VIGIE_OK;
    size_t errpos = 0;
    const char *errmsg = NULL;
    size_t p;
    t->src = src;
    t->src_len = len;
    t->n = 0;
    if (len > UINT32_MAX - 16)
        FAIL(VIGIE_TOOBIG, 0, "record larger than 4 GiB");
    p = skip_ws(s, 0, len);
    if (p >= len) {
        if (prefix)
            FAIL(VIGIE_EOF, len, "no JSON value");
        FAIL(VIGIE_JSON, p, "empty input: expected a JSON value");
    }

value:
    if (p >= len)
        FAIL(VIGIE_TRUNCATED, len, "unexpected end of input: expected a value");
    if (VG_UNLIKELY(t->n == t->cap) && (rc = grow(t)) != VIGIE_OK)
        FAIL(rc, p, "too many tokens in one record");
    {
        vg_jtok *k = &t->tok[t->n];
        uint32_t idx = t->n;
        unsigned char c = s[p];
        k->off = (uint32_t)p;
        k->esc = 0;
        k->key = 0;
        k->pad_ = 0;
        switch (c) {
        case '{':
        case '[':
            if (depth == VG_MAX_JSON_DEPTH)
                FAIL(VIGIE_TOODEEP, p, "nesting too deep");
            k->type = c == '{' ? VG_J_OBJECT : VG_J_ARRAY;
            k->len = 0;
            t->n++;
            stack[depth].tok = idx;
            stack[depth].count = 0;
            stack[depth].is_obj = c == '{';
            depth++;
            p = skip_ws(s, p + 1, len);
            if (p < len && s[p] == (c == '{' ? '}' : ']')) {
                p++;
                goto close;
            }
            if (c == '{')
                goto key;
            goto value;
        case '"': {
            size_t end;
            uint8_t esc;
            int r = scan_string(s, p + 1, len, &end, &esc, &errpos, &errmsg);
            if (r) {
                rc = r;
                goto out;
            }
            k->type = VG_J_STRING;
            k->off = (uint32_t)(p + 1);
            k->len = (uint32_t)(end - p - 1);
            k->esc = esc;
            k->next = idx + 1;
            t->n++;
            p = end + 1;
            goto after;
        }
        case 't':
            if (len - p >= 4 && memcmp(s + p, "true", 4) == 0) {
                k->type = VG_J_TRUE;
                k->len = 4;
                break;
            }
            FAIL(VIGIE_JSON, p, "invalid literal");
        case 'f':
            if (len - p >= 5 && memcmp(s + p, "false", 5) == 0) {
                k->type = VG_J_FALSE;
                k->len = 5;
                break;
            }
            FAIL(VIGIE_JSON, p, "invalid literal");
        case 'n':
            if (len - p >= 4 && memcmp(s + p, "null", 4) == 0) {
                k->type = VG_J_NULL;
                k->len = 4;
                break;
            }
            FAIL(VIGIE_JSON, p, "invalid literal");
        default: {
            if (c == '-' || (c >= '0' && c <= '9')) {
                size_t e = scan_number(s, p, len);
                if (!e)
                    FAIL(VIGIE_JSON, p, "invalid number");
                k->type = VG_J_NUMBER;
                k->len = (uint32_t)(e - p);
                break;
            }
            FAIL(VIGIE_JSON, p, "unexpected character: expected a value");
        }
        }
        k->next = idx + 1;
        t->n++;
        p += k->len;
        /* a literal or number must end at a delimiter */
        if (p < len && !is_ws(s[p]) && s[p] != ',' && s[p] != ']' && s[p] != '}')
            FAIL(VIGIE_JSON, p, "unexpected character after a value");
        goto after;
    }

key:
    if (p >= len)
        FAIL(VIGIE_TRUNCATED, len, "unexpected end of input: expected an object key");
    if (s[p] != '"')
        FAIL(VIGIE_JSON, p, "expected a string as object key");
    if (VG_UNLIKELY(t->n == t->cap) && (rc = grow(t)) != VIGIE_OK)
        FAIL(rc, p, "too many tokens in one record");
    {
        size_t end;
        uint8_t esc;
        int r = scan_string(s, p + 1, len, &end, &esc, &errpos, &errmsg);
        if (r) {
            rc = r;
            goto out;
        }
        vg_jtok *k = &t->tok[t->n];
        k->type = VG_J_STRING;
        k->off = (uint32_t)(p + 1);
        k->len = (uint32_t)(end - p - 1);
        k->esc = esc;
        k->key = 1;
        k->pad_ = 0;
        k->next = t->n + 1;
        t->n++;
        p = skip_ws(s, end + 1, len);
        if (p >= len)
            FAIL(VIGIE_TRUNCATED, len, "unexpected end of input: expected ':'");
        if (s[p] != ':')
            FAIL(VIGIE_JSON, p, "expected ':' after object key");
        p = skip_ws(s, p + 1, len);
        goto value;
    }

after:
    if (depth == 0)
        goto done;
    stack[depth - 1].count++;
    p = skip_ws(s, p, len);
    if (p >= len)
        FAIL(VIGIE_TRUNCATED, len, "unexpected end of input inside a container");
    if (s[p] == ',') {
        p = skip_ws(s, p + 1, len);
        if (stack[depth - 1].is_obj)
            goto key;
        goto value;
    }
    if (s[p] == (stack[depth - 1].is_obj ? '}' : ']')) {
        p++;
        goto close;
    }
    FAIL(VIGIE_JSON, p, stack[depth - 1].is_obj ? "expected ',' or '}'" : "expected ',' or ']'");

close:
    depth--;
    t->tok[stack[depth].tok].len = stack[depth].count;
    t->tok[stack[depth].tok].next = t->n;
    goto after;

done:
    if (prefix) {
        *consumed = p;
    } else {
        p = skip_ws(s, p, len);
        if (p != len)
            FAIL(VIGIE_JSON, p, "unexpected content after the JSON value");
        if (consumed)
            *consumed = p;
    }
out:
    if (rc && err) {
        err->rc = rc;
        err->offset = errpos;
        snprintf(err->msg, sizeof err->msg, "%s", errmsg ? errmsg : vigie_strerror(rc));
    }
    if (rc)
        t->n = 0;
    return rc;
}

int vg__json_parse(vg_jtape *t, const char *src, size_t len, vg_jerr *err)
{
    return parse(t, src, len, NULL, false, err);
}

int vg__json_parse_prefix(vg_jtape *t, const char *src, size_t len, size_t *consumed,
                          vg_jerr *err)
{
    size_t c = 0;
    int rc = parse(t, src, len, &c, true, err);
    if (consumed)
        *consumed = c;
    return rc;
}

/* ---- access --------------------------------------------------------------------------------- */

static int append_utf8(vg_buf *out, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return vg__buf_add(out, b, n);
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v * 16 + (uint32_t)hexval((unsigned char)p[i]);
    return v;
}

int vg__json_unescape(const char *raw, size_t len, vg_buf *out)
{
    int rc = vg__buf_reserve(out, len);
    if (rc)
        return rc;
    size_t i = 0;
    while (i < len) {
        const char *bs = memchr(raw + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (raw + i)) : len - i;
        if (run && (rc = vg__buf_add(out, raw + i, run)))
            return rc;
        i += run;
        if (i >= len)
            break;
        if (i + 1 >= len)
            return VIGIE_JSON;
        char c = raw[i + 1];
        char o;
        switch (c) {
        case 'b': o = '\b'; break;
        case 'f': o = '\f'; break;
        case 'n': o = '\n'; break;
        case 'r': o = '\r'; break;
        case 't': o = '\t'; break;
        case 'u': {
            if (i + 6 > len)
                return VIGIE_JSON;
            uint32_t cp = hex4(raw + i + 2);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 6 <= len && raw[i] == '\\' && raw[i + 1] == 'u') {
                    uint32_t lo = hex4(raw + i + 2);
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    } else {
                        cp = 0xFFFD;
                    }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            if ((rc = append_utf8(out, cp)))
                return rc;
            continue;
        }
        default: o = c; break; /* " \ / */
        }
        if ((rc = vg__buf_addc(out, o)))
            return rc;
        i += 2;
    }
    return VIGIE_OK;
}

const char *vg__json_str(const vg_jtape *t, uint32_t i, vg_buf *tmp, size_t *len)
{
    const vg_jtok *k = &t->tok[i];
    if (!k->esc) {
        *len = k->len;
        return t->src + k->off;
    }
    vg__buf_reset(tmp);
    if (vg__json_unescape(t->src + k->off, k->len, tmp) != VIGIE_OK || !tmp->data) {
        *len = 0;
        return "";
    }
    *len = tmp->len;
    return tmp->data;
}

/* Compare key token i with (key, key_len), exact or ASCII case-insensitive. */
static bool key_eq(const vg_jtape *t, uint32_t i, const char *key, size_t key_len, bool ci)
{
    const vg_jtok *k = &t->tok[i];
    const char *p = t->src + k->off;
    if (!k->esc) {
        if (k->len != key_len)
            return false;
        return ci ? vg__ascii_ieq(p, k->len, key, key_len) : memcmp(p, key, key_len) == 0;
    }
    /* escaped keys are rare: unescape on the heap */
    vg_buf heap;
    vg__buf_init(&heap, 0);
    if (vg__json_unescape(p, k->len, &heap) != VIGIE_OK) {
        vg__buf_free(&heap);
        return false;
    }
    bool eq = heap.len == key_len && (ci ? vg__ascii_ieq(heap.data, heap.len, key, key_len)
                                         : memcmp(heap.data, key, key_len) == 0);
    vg__buf_free(&heap);
    return eq;
}

static int64_t obj_get(const vg_jtape *t, uint32_t obj, const char *key, size_t key_len, bool ci)
{
    if (t->tok[obj].type != VG_J_OBJECT)
        return -1;
    uint32_t i = obj + 1, end = t->tok[obj].next;
    while (i < end) {
        uint32_t v = i + 1;
        if (key_eq(t, i, key, key_len, ci))
            return v;
        i = t->tok[v].next;
    }
    return -1;
}

int64_t vg__json_obj_find(const vg_jtape *t, uint32_t obj, const char *key, size_t key_len)
{
    if (t->tok[obj].type != VG_J_OBJECT)
        return -1;
    int64_t ci = -1;
    uint32_t i = obj + 1, end = t->tok[obj].next;
    while (i < end) {
        const vg_jtok *k = &t->tok[i];
        uint32_t v = i + 1;
        if (k->esc || k->len == key_len) {
            if (key_eq(t, i, key, key_len, false))
                return v;
            if (ci < 0 && key_eq(t, i, key, key_len, true))
                ci = v;
        }
        i = t->tok[v].next;
    }
    return ci;
}

int64_t vg__json_obj_get(const vg_jtape *t, uint32_t obj, const char *key, size_t key_len)
{
    return obj_get(t, obj, key, key_len, false);
}

int64_t vg__json_obj_get_ci(const vg_jtape *t, uint32_t obj, const char *key, size_t key_len)
{
    return obj_get(t, obj, key, key_len, true);
}

int vg__json_number(const char *p, size_t len, double *out)
{
    if (len == 0 || len > 400)
        return VIGIE_INVAL;
    if (scan_number((const unsigned char *)p, 0, len) != len)
        return VIGIE_INVAL;
    char buf[401];
    memcpy(buf, p, len);
    buf[len] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end ? VIGIE_INVAL : VIGIE_OK;
}
