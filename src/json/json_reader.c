/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_reader.c: the strict JSON reader: one pass from bytes to a flat tape.
 *
 * Stage: json. The parser is an explicit state machine (no recursion) with a fixed stack of
 * VG_MAX_JSON_DEPTH open containers, so hostile nesting costs one scan and an error. Strings
 * are scanned 16 bytes at a time (SSE2; 8 at a time portably) for the only bytes that need
 * attention: the closing quote, a backslash, control characters and non-ASCII bytes (whose
 * UTF-8 is validated there); everything else is skipped without a look. The tape stores
 * offsets into the source, never copies; it grows by doubling and is reused, so steady-state
 * parsing does not allocate. Invariants: tok[i].next > i; a container's children lie in
 * (i, tok[i].next); object children alternate key (key = 1) and value. Unescaping and key
 * comparison decode escapes on demand; comparison never allocates.
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
    return VG_GROW_MAX(t->tok, t->cap, (size_t)t->cap + 1, 256, VG_MAX_JSON_TOKENS);
}

static inline bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Skip JSON whitespace. Compact records have none between tokens, so the common case is one
 * compare: every whitespace byte is <= ' ', and every byte that may start or follow a token
 * is above it. */
static inline size_t skip_ws(const unsigned char *s, size_t p, size_t len)
{
    while (p < len && s[p] <= ' ' && is_ws(s[p]))
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

#define FAIL(code, at, text)                                                                       \
    do {                                                                                           \
        rc = (code);                                                                               \
        errpos = (at);                                                                             \
        errmsg = (text);                                                                           \
        goto out;                                                                                  \
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
#else
        /* portable: 8 bytes at a time (SWAR); a word with any byte of interest hands over
         * to the byte loop below, which stops exactly at it */
        const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
        while (p + 8 <= len) {
            uint64_t v;
            memcpy(&v, s + p, 8);
            uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
            uint64_t m = ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b) | v;
            if (m & highs)
                break;
            p += 8;
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
                for (size_t k = 2; k < 6; k++) {
                    if (p + k >= len) {
                        *errpos = p;
                        *errmsg = "truncated \\u escape";
                        return VIGIE_TRUNCATED;
                    }
                    if (hexval(s[p + k]) < 0) {
                        *errpos = p;
                        *errmsg = "invalid \\u escape: expected 4 hex digits";
                        return VIGIE_JSON;
                    }
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
        case 'f':
        case 'n': {
            const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
            size_t ll = c == 'f' ? 5 : 4;
            if (len - p < ll || memcmp(s + p, lit, ll) != 0)
                FAIL(VIGIE_JSON, p, "invalid literal");
            k->type = c == 't' ? VG_J_TRUE : c == 'f' ? VG_J_FALSE : VG_J_NULL;
            k->len = (uint32_t)ll;
            break;
        }
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
        if (p < len && !is_ws(s[p]) && s[p] != ',' && s[p] != ']' && s[p] != '}') {
            if (k->type == VG_J_NUMBER && s[p] >= '0' && s[p] <= '9')
                FAIL(VIGIE_JSON, k->off, "invalid number: leading zero");
            FAIL(VIGIE_JSON, p, "unexpected character after a value");
        }
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

int vg__json_parse_prefix(vg_jtape *t, const char *src, size_t len, size_t *consumed, vg_jerr *err)
{
    size_t c = 0;
    int rc = parse(t, src, len, &c, true, err);
    if (consumed)
        *consumed = c;
    return rc;
}

/* ---- access --------------------------------------------------------------------------------- */

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v * 16 + (uint32_t)hexval((unsigned char)p[i]);
    return v;
}

/* Decode the escape at raw[*i] (a backslash) into a code point and advance *i past it: a
 * high surrogate followed by a low one combine; any other surrogate becomes U+FFFD. Returns
 * UINT32_MAX on a malformed escape (never for text the parser accepted). */
static uint32_t esc_decode(const char *raw, size_t len, size_t *i)
{
    size_t p = *i;
    if (p + 1 >= len)
        return UINT32_MAX;
    static const char names[8] = {'"', '\\', '/', 'b', 'f', 'n', 'r', 't'};
    static const char values[8] = {'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'};
    char c = raw[p + 1];
    if (c != 'u') {
        const char *m = memchr(names, c, sizeof names);
        if (!m)
            return UINT32_MAX;
        *i = p + 2;
        return (unsigned char)values[m - names];
    }
    if (p + 6 > len)
        return UINT32_MAX;
    for (int k = 2; k < 6; k++)
        if (hexval((unsigned char)raw[p + (size_t)k]) < 0)
            return UINT32_MAX;
    uint32_t cp = hex4(raw + p + 2);
    p += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p + 6 <= len && raw[p] == '\\' && raw[p + 1] == 'u' &&
            hexval((unsigned char)raw[p + 2]) >= 0 && hexval((unsigned char)raw[p + 3]) >= 0 &&
            hexval((unsigned char)raw[p + 4]) >= 0 && hexval((unsigned char)raw[p + 5]) >= 0) {
            uint32_t lo = hex4(raw + p + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else {
                cp = 0xFFFD;
            }
        } else {
            cp = 0xFFFD;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    *i = p;
    return cp;
}

/* UTF-8 encoding of cp (<= 0x10FFFF) into b; returns the byte count. */
static size_t utf8_put(uint32_t cp, char b[4])
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
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
        uint32_t cp = esc_decode(raw, len, &i);
        if (cp == UINT32_MAX)
            return VIGIE_JSON;
        char b[4];
        if ((rc = vg__buf_add(out, b, utf8_put(cp, b))))
            return rc;
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

/* Compare the escaped string body raw[0, len) with (key, key_len) after unescaping, decoding
 * one escape at a time: no buffer, no allocation (escaped keys are rare but must not cost an
 * allocation per event). */
static bool esc_eq(const char *raw, size_t len, const char *key, size_t key_len, bool ci)
{
    size_t i = 0, j = 0;
    while (i < len) {
        char b[4];
        size_t n;
        if (raw[i] != '\\') {
            b[0] = raw[i++];
            n = 1;
        } else {
            uint32_t cp = esc_decode(raw, len, &i);
            if (cp == UINT32_MAX)
                return false;
            n = utf8_put(cp, b);
        }
        if (key_len - j < n)
            return false;
        for (size_t k = 0; k < n; k++, j++) {
            unsigned char x = (unsigned char)b[k], y = (unsigned char)key[j];
            if (x != y && (!ci || vg__lower(x) != vg__lower(y)))
                return false;
        }
    }
    return j == key_len;
}

/* Compare key token i with (key, key_len), exact or ASCII case-insensitive. */
static bool key_eq(const vg_jtape *t, uint32_t i, const char *key, size_t key_len, bool ci)
{
    const vg_jtok *k = &t->tok[i];
    const char *p = t->src + k->off;
    if (VG_UNLIKELY(k->esc))
        return esc_eq(p, k->len, key, key_len, ci);
    if (k->len != key_len)
        return false;
    return ci ? vg__ascii_ieq(p, k->len, key, key_len) : memcmp(p, key, key_len) == 0;
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
    if (len == 0 || scan_number((const unsigned char *)p, 0, len) != len)
        return VIGIE_INVAL;
    /* fast path: an integer of up to 15 digits is exact in a double */
    size_t d = p[0] == '-';
    if (len - d <= 15) {
        uint64_t v = 0;
        size_t i = d;
        while (i < len && p[i] >= '0' && p[i] <= '9')
            v = v * 10 + (uint64_t)(p[i++] - '0');
        if (i == len) {
            *out = d ? -(double)v : (double)v;
            return VIGIE_OK;
        }
    }
    /* strtod needs a terminator; the grammar is already checked, so it consumes it all */
    char small[128];
    char *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf)
        return VIGIE_NOMEM;
    memcpy(buf, p, len);
    buf[len] = 0;
    char *end;
    double v = strtod(buf, &end);
    int rc = *end ? VIGIE_INVAL : VIGIE_OK;
    if (buf != small)
        free(buf);
    if (rc == VIGIE_OK)
        *out = v;
    return rc;
}

void vg__json_str_copy(const vg_jtape *t, int64_t tok, char *out, size_t cap)
{
    if (!cap)
        return;
    out[0] = 0;
    if (tok < 0 || (uint64_t)tok >= t->n || t->tok[tok].type != VG_J_STRING)
        return;
    vg_buf b;
    vg__buf_init(&b, 0);
    size_t l;
    const char *s = vg__json_str(t, (uint32_t)tok, &b, &l);
    if (l >= cap)
        l = cap - 1;
    memcpy(out, s, l);
    out[l] = 0;
    vg__buf_free(&b);
}
