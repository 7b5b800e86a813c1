/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rule_value.c: one detection key (`Field|mod|mod: values`) -> a normalized vg_fieldcond.
 *
 * Stage: rule. Sigma modifiers come in three kinds and are applied here, once, so that the
 * matcher never sees them: value transforms, applied left to right (expand, windash,
 * utf16le/wide, utf16be, utf16, base64, base64offset), which can multiply a value into
 * variants (capped by VG_MAX_VALUE_VARIANTS); the match shape (contains / startswith /
 * endswith become wildcards; re, cidr, exists, gt/gte/lt/lte, fieldref and the time parts
 * become their own operators); and flags on the whole key (all, cased, neq).
 * Wildcards: `*` and `?`, with `\*`, `\?` and `\\` as escapes; a backslash before anything
 * else is a literal backslash (Sigma specification 2.1, "escaping").
 */
#define _POSIX_C_SOURCE 200809L
#include "rule_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    M_CONTAINS = 1u << 0, M_STARTSWITH = 1u << 1, M_ENDSWITH = 1u << 2, M_ALL = 1u << 3,
    M_RE = 1u << 4, M_CIDR = 1u << 5, M_EXISTS = 1u << 6, M_GT = 1u << 7, M_GTE = 1u << 8,
    M_LT = 1u << 9, M_LTE = 1u << 10, M_NEQ = 1u << 11, M_FIELDREF = 1u << 12,
    M_CASED = 1u << 13, M_RE_I = 1u << 14, M_RE_M = 1u << 15, M_RE_S = 1u << 16
};
enum { T_EXPAND = 1, T_WINDASH, T_UTF16LE, T_UTF16BE, T_UTF16, T_BASE64, T_BASE64OFF };

typedef struct mods {
    uint32_t flags;
    uint8_t transforms[16];
    uint32_t n_transforms;
    uint8_t timepart;
} mods;

/* Parse the modifier chain s ("contains|all"). On an unknown modifier *bad_off is its byte
 * offset in s, so the caller can point at it. */
static int parse_mods(const char *s, mods *m, rule_err *err, size_t *bad_off)
{
    const char *s0 = s;
    memset(m, 0, sizeof *m);
    *bad_off = 0;
    while (s && *s) {
        const char *e = strchr(s, '|');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char name[32];
        *bad_off = (size_t)(s - s0);
        if (n == 0 || n >= sizeof name) {
            snprintf(err->msg, sizeof err->msg, "empty or overlong modifier");
            err->rc = VIGIE_MODIFIER;
            return err->rc;
        }
        memcpy(name, s, n);
        name[n] = 0;
        static const struct {
            const char *name;
            uint32_t flag;
            uint8_t transform;
            uint8_t timepart;
        } table[] = {
            {"contains", M_CONTAINS, 0, 0}, {"startswith", M_STARTSWITH, 0, 0},
            {"endswith", M_ENDSWITH, 0, 0}, {"all", M_ALL, 0, 0}, {"re", M_RE, 0, 0},
            {"i", M_RE_I, 0, 0}, {"ignorecase", M_RE_I, 0, 0}, {"m", M_RE_M, 0, 0},
            {"multiline", M_RE_M, 0, 0}, {"s", M_RE_S, 0, 0}, {"dotall", M_RE_S, 0, 0},
            {"cidr", M_CIDR, 0, 0}, {"exists", M_EXISTS, 0, 0}, {"gt", M_GT, 0, 0},
            {"gte", M_GTE, 0, 0}, {"lt", M_LT, 0, 0}, {"lte", M_LTE, 0, 0},
            {"neq", M_NEQ, 0, 0}, {"fieldref", M_FIELDREF, 0, 0}, {"cased", M_CASED, 0, 0},
            {"expand", 0, T_EXPAND, 0}, {"windash", 0, T_WINDASH, 0},
            {"utf16le", 0, T_UTF16LE, 0}, {"wide", 0, T_UTF16LE, 0},
            {"utf16be", 0, T_UTF16BE, 0}, {"utf16", 0, T_UTF16, 0},
            {"base64", 0, T_BASE64, 0}, {"base64offset", 0, T_BASE64OFF, 0},
            {"minute", 0, 0, VG_TP_MINUTE}, {"hour", 0, 0, VG_TP_HOUR},
            {"day", 0, 0, VG_TP_DAY}, {"week", 0, 0, VG_TP_WEEK},
            {"month", 0, 0, VG_TP_MONTH}, {"year", 0, 0, VG_TP_YEAR},
        };
        size_t k;
        for (k = 0; k < VG_ARRAY_LEN(table); k++)
            if (strcmp(table[k].name, name) == 0)
                break;
        if (k == VG_ARRAY_LEN(table)) {
            snprintf(err->msg, sizeof err->msg, "unknown modifier '%s'", name);
            err->rc = VIGIE_MODIFIER;
            return err->rc;
        }
        m->flags |= table[k].flag;
        if (table[k].timepart)
            m->timepart = table[k].timepart;
        if (table[k].transform) {
            if (m->n_transforms == VG_ARRAY_LEN(m->transforms)) {
                snprintf(err->msg, sizeof err->msg, "too many modifiers");
                err->rc = VIGIE_MODIFIER;
                return err->rc;
            }
            m->transforms[m->n_transforms++] = table[k].transform;
        }
        s = e ? e + 1 : NULL;
    }
    *bad_off = 0;
    uint32_t shape = m->flags & (M_CONTAINS | M_STARTSWITH | M_ENDSWITH);
    if (shape & (shape - 1)) {
        snprintf(err->msg, sizeof err->msg, "contains, startswith and endswith exclude each other");
        err->rc = VIGIE_MODIFIER;
        return err->rc;
    }
    uint32_t ops = m->flags & (M_RE | M_CIDR | M_EXISTS | M_GT | M_GTE | M_LT | M_LTE);
    if (ops & (ops - 1)) {
        snprintf(err->msg, sizeof err->msg, "conflicting modifiers (re, cidr, exists, gt/lt...)");
        err->rc = VIGIE_MODIFIER;
        return err->rc;
    }
    if ((m->flags & (M_RE_I | M_RE_M | M_RE_S)) && !(m->flags & M_RE)) {
        snprintf(err->msg, sizeof err->msg, "regex flag modifiers (i, m, s) need |re");
        err->rc = VIGIE_MODIFIER;
        return err->rc;
    }
    return VIGIE_OK;
}

/* ---- wildcard strings ------------------------------------------------------------------------ */

typedef struct pv {
    vg_part *p;
    uint32_t n, cap;
} pv;

static int pv_push(pv *v, uint8_t kind, const char *s, uint32_t len)
{
    if (kind == VG_PART_LIT && len == 0)
        return VIGIE_OK;
    if (kind == VG_PART_STAR && v->n && v->p[v->n - 1].kind == VG_PART_STAR)
        return VIGIE_OK; /* "**" = "*" */
    if (VG_GROW(v->p, v->cap, (size_t)v->n + 1, 8))
        return VIGIE_NOMEM;
    v->p[v->n++] = (vg_part){kind, len, s};
    return VIGIE_OK;
}

/* Parse s into parts; LIT parts point into `buf` (an arena copy with escapes removed). */
static int glob_parse_pv(vg_arena *a, const char *s, size_t n, pv *out)
{
    char *buf = vg__arena_alloc(a, n + 1);
    if (!buf)
        return VIGIE_NOMEM;
    size_t bl = 0, lit_start = 0;
    int rc = VIGIE_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
            buf[bl++] = s[++i];
        } else if (c == '*' || c == '?') {
            rc = pv_push(out, VG_PART_LIT, buf + lit_start, (uint32_t)(bl - lit_start));
            if (!rc)
                rc = pv_push(out, c == '*' ? VG_PART_STAR : VG_PART_QMARK, NULL, 0);
            lit_start = bl;
        } else {
            buf[bl++] = c;
        }
    }
    if (!rc)
        rc = pv_push(out, VG_PART_LIT, buf + lit_start, (uint32_t)(bl - lit_start));
    return rc;
}

int vg__glob_parse(vg_arena *a, const char *s, size_t n, vg_part **parts, uint32_t *n_parts)
{
    pv v = {NULL, 0, 0};
    int rc = glob_parse_pv(a, s, n, &v);
    if (!rc) {
        *parts = vg__arena_alloc(a, (v.n ? v.n : 1) * sizeof(vg_part));
        if (!*parts)
            rc = VIGIE_NOMEM;
        else if (v.n)
            memcpy(*parts, v.p, v.n * sizeof(vg_part));
        *n_parts = v.n;
    }
    free(v.p);
    return rc;
}

/* ---- variants ---------------------------------------------------------------------------------- */

typedef struct vlist {
    pv *v;
    uint32_t n, cap;
} vlist;

static int vl_add(vlist *l, pv v)
{
    if (l->n >= VG_MAX_VALUE_VARIANTS) {
        free(v.p);
        return VIGIE_TOOBIG;
    }
    if (VG_GROW(l->v, l->cap, (size_t)l->n + 1, 4)) {
        free(v.p);
        return VIGIE_NOMEM;
    }
    l->v[l->n++] = v;
    return VIGIE_OK;
}

static void vl_free(vlist *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int pv_copy(const pv *src, pv *dst)
{
    memset(dst, 0, sizeof *dst);
    for (uint32_t i = 0; i < src->n; i++)
        if (pv_push(dst, src->p[i].kind, src->p[i].s, src->p[i].len))
            return VIGIE_NOMEM;
    return VIGIE_OK;
}

/* The value with its wildcards as one literal byte string (for base64, which has none). */
static int pv_flatten(vg_arena *a, const pv *v, const char **out, size_t *len)
{
    size_t n = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        if (v->p[i].kind != VG_PART_LIT)
            return VIGIE_UNSUPPORTED;
        n += v->p[i].len;
    }
    char *b = vg__arena_alloc(a, n + 1);
    if (!b)
        return VIGIE_NOMEM;
    size_t o = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        memcpy(b + o, v->p[i].s, v->p[i].len);
        o += v->p[i].len;
    }
    *out = b;
    *len = n;
    return VIGIE_OK;
}

static char *b64(vg_arena *a, const unsigned char *s, size_t n, size_t *out_len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t ol = (n + 2) / 3 * 4;
    char *o = vg__arena_alloc(a, ol + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        o[j++] = tbl[(v >> 18) & 63];
        o[j++] = tbl[(v >> 12) & 63];
        o[j++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        o[j++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    o[j] = 0;
    *out_len = j;
    return o;
}

/* Decode one UTF-8 code point (invalid bytes are taken as Latin-1). */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp;
    size_t k = 0;
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F;
        k = 1;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F;
        k = 2;
    } else if ((c & 0xF8) == 0xF0) {
        cp = c & 0x07;
        k = 3;
    } else {
        (*i)++;
        return c;
    }
    for (size_t j = 1; j <= k; j++) {
        if (*i + j >= n || (s[*i + j] & 0xC0) != 0x80) {
            (*i)++;
            return c;
        }
        cp = (cp << 6) | (s[*i + j] & 0x3F);
    }
    *i += k + 1;
    return cp;
}

static const char *utf16(vg_arena *a, const char *s, size_t n, bool be, bool bom, size_t *ol)
{
    char *o = vg__arena_alloc(a, n * 4 + 3);
    if (!o)
        return NULL;
    size_t j = 0;
    if (bom) {
        o[j++] = (char)0xFF;
        o[j++] = (char)0xFE;
    }
    size_t i = 0;
    while (i < n) {
        uint32_t cp = utf8_next((const unsigned char *)s, n, &i);
        uint16_t u[2];
        int k = 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[0] = (uint16_t)(0xD800 + (cp >> 10));
            u[1] = (uint16_t)(0xDC00 + (cp & 0x3FF));
            k = 2;
        } else {
            u[0] = (uint16_t)cp;
        }
        for (int q = 0; q < k; q++) {
            if (be) {
                o[j++] = (char)(u[q] >> 8);
                o[j++] = (char)(u[q] & 0xFF);
            } else {
                o[j++] = (char)(u[q] & 0xFF);
                o[j++] = (char)(u[q] >> 8);
            }
        }
    }
    *ol = j;
    return o;
}

static bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

/* windash: every '-' or '/' at a word start (after a non-word character or at the start,
 * and before a word character) takes each of five forms, independently. */
static int windash(vg_arena *a, const pv *v, vlist *out)
{
    static const char *const forms[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94",
                                        "\xE2\x80\x95"};
    /* split LIT parts so every eligible dash is its own 1-byte part */
    pv split = {NULL, 0, 0};
    uint32_t *slots = NULL, n_slots = 0;
    int rc = VIGIE_OK;
    unsigned char prev = 0; /* 0 = start or after a wildcard: non-word */
    for (uint32_t i = 0; i < v->n && !rc; i++) {
        const vg_part *p = &v->p[i];
        if (p->kind != VG_PART_LIT) {
            rc = pv_push(&split, p->kind, NULL, 0);
            prev = 0;
            continue;
        }
        uint32_t st = 0;
        for (uint32_t k = 0; k < p->len && !rc; k++) {
            unsigned char c = (unsigned char)p->s[k];
            unsigned char next = k + 1 < p->len ? (unsigned char)p->s[k + 1]
                                 : (i + 1 < v->n && v->p[i + 1].kind == VG_PART_LIT &&
                                    v->p[i + 1].len)
                                     ? (unsigned char)v->p[i + 1].s[0]
                                     : 0;
            if ((c == '-' || c == '/') && !is_word(prev) && is_word(next)) {
                rc = pv_push(&split, VG_PART_LIT, p->s + st, k - st);
                if (!rc) {
                    uint32_t *ns = realloc(slots, (n_slots + 1) * sizeof *ns);
                    if (!ns) {
                        rc = VIGIE_NOMEM;
                        break;
                    }
                    slots = ns;
                    slots[n_slots++] = split.n;
                    rc = pv_push(&split, VG_PART_LIT, p->s + k, 1);
                }
                st = k + 1;
            }
            prev = c;
        }
        if (!rc)
            rc = pv_push(&split, VG_PART_LIT, p->s + st, p->len - st);
    }
    uint64_t total = 1;
    for (uint32_t i = 0; i < n_slots && total <= VG_MAX_VALUE_VARIANTS; i++)
        total *= 5;
    if (!rc && total > VG_MAX_VALUE_VARIANTS)
        rc = VIGIE_TOOBIG;
    for (uint64_t combo = 0; !rc && combo < total; combo++) {
        pv c;
        if ((rc = pv_copy(&split, &c)))
            break;
        uint64_t x = combo;
        for (uint32_t i = 0; i < n_slots; i++) {
            const char *f = forms[x % 5];
            x /= 5;
            c.p[slots[i]].s = f;
            c.p[slots[i]].len = (uint32_t)strlen(f);
        }
        rc = vl_add(out, c);
    }
    (void)a;
    free(split.p);
    free(slots);
    return rc;
}

/* expand: %name% placeholders replaced by their values; "\%" is a literal percent. */
static int expand(vg_arena *a, const char *s, size_t n, const vg_ruleload_opts *opts,
                  const char ***out, uint32_t *n_out, rule_err *err)
{
    /* variants as raw strings (wildcards still in them) */
    vg_buf cur;
    const char **vars = calloc(1, sizeof *vars);
    uint32_t nv = 1;
    if (!vars)
        return VIGIE_NOMEM;
    vars[0] = "";
    size_t i = 0;
    vg__buf_init(&cur, 0);
    while (i < n) {
        const char *lit_s = s + i;
        size_t lit_n = 0;
        const vg_placeholder *ph = NULL;
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '%') {
            lit_s = "%";
            lit_n = 1;
            i += 2;
        } else if (s[i] == '%') {
            const char *e = memchr(s + i + 1, '%', n - i - 1);
            size_t nl = e ? (size_t)(e - (s + i + 1)) : 0;
            bool name_ok = e && nl > 0;
            for (size_t k = 0; name_ok && k < nl; k++) {
                char c = s[i + 1 + k];
                if (!(is_word((unsigned char)c) || c == '.' || c == '-'))
                    name_ok = false;
            }
            if (name_ok) {
                for (uint32_t k = 0; k < (opts ? opts->n_placeholders : 0); k++)
                    if (strlen(opts->placeholders[k].name) == nl &&
                        memcmp(opts->placeholders[k].name, s + i + 1, nl) == 0)
                        ph = &opts->placeholders[k];
                if (!ph) {
                    snprintf(err->msg, sizeof err->msg,
                             "placeholder %%%.*s%% has no value (give it with --placeholder)",
                             (int)nl, s + i + 1);
                    err->rc = VIGIE_UNSUPPORTED;
                    free(vars);
                    vg__buf_free(&cur);
                    return err->rc;
                }
                i += nl + 2;
            } else {
                lit_n = 1;
                i++;
            }
        } else {
            lit_n = 1;
            i++;
        }
        uint32_t mult = ph ? ph->n_values : 1;
        if (mult == 0 || (uint64_t)nv * mult > VG_MAX_VALUE_VARIANTS) {
            free(vars);
            vg__buf_free(&cur);
            snprintf(err->msg, sizeof err->msg, "placeholder expansion gives too many values");
            err->rc = VIGIE_TOOBIG;
            return err->rc;
        }
        const char **nvars = calloc((size_t)nv * mult, sizeof *nvars);
        if (!nvars) {
            free(vars);
            vg__buf_free(&cur);
            return VIGIE_NOMEM;
        }
        for (uint32_t v = 0; v < nv; v++)
            for (uint32_t k = 0; k < mult; k++) {
                vg__buf_reset(&cur);
                vg__buf_adds(&cur, vars[v]);
                if (ph)
                    vg__buf_adds(&cur, ph->values[k]);
                else
                    vg__buf_add(&cur, lit_s, lit_n);
                nvars[v * mult + k] = vg__arena_strndup(a, cur.data ? cur.data : "", cur.len);
            }
        free(vars);
        vars = nvars;
        nv *= mult;
    }
    vg__buf_free(&cur);
    *out = vars;
    *n_out = nv;
    return VIGIE_OK;
}

/* ---- typed scalars ----------------------------------------------------------------------------- */

static bool plain_null(const ynode *n)
{
    if (!n)
        return true;
    if (n->type != YN_SCALAR || n->quoted)
        return false;
    return n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

static int plain_bool(const ynode *n)
{
    if (n->type != YN_SCALAR || n->quoted)
        return -1;
    const char *v = n->value;
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return 0;
    return -1;
}

static bool numeric_text(const char *v, double *out)
{
    const char *p = v;
    if (*p == '-' || *p == '+')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return false;
    char *end;
    double d = strtod(v, &end);
    if (*end || end == v)
        return false;
    for (const char *q = v; *q; q++)
        if (*q == 'x' || *q == 'X' || *q == 'n' || *q == 'N' || *q == 'p' || *q == 'P')
            return false;
    *out = d;
    return true;
}

static bool plain_number(const ynode *n, double *out)
{
    if (n->type != YN_SCALAR || n->quoted)
        return false;
    return numeric_text(n->value, out);
}

/* ---- building values --------------------------------------------------------------------------- */

typedef struct vals {
    vg_value *v;
    uint32_t n, cap;
} vals;

static vg_value *val_new(vals *vs, const ynode *n)
{
    if (VG_GROW(vs->v, vs->cap, (size_t)vs->n + 1, 4))
        return NULL;
    vg_value *v = &vs->v[vs->n++];
    memset(v, 0, sizeof *v);
    v->line = n ? n->line : 0;
    v->col = n ? n->col : 0;
    return v;
}

/* Freeze a part list into the arena as a GLOB value. */
static int add_glob(vg_arena *a, vals *vs, const ynode *src, pv *p, bool is_num, double num,
                    bool is_bool)
{
    vg_value *v = val_new(vs, src);
    if (!v)
        return VIGIE_NOMEM;
    v->op = VG_OP_GLOB;
    v->parts = vg__arena_alloc(a, (p->n ? p->n : 1) * sizeof(vg_part));
    if (!v->parts)
        return VIGIE_NOMEM;
    size_t tl = 0;
    for (uint32_t i = 0; i < p->n; i++)
        tl += p->p[i].kind == VG_PART_LIT ? p->p[i].len : 1;
    char *text = vg__arena_alloc(a, tl + 1);
    if (!text)
        return VIGIE_NOMEM;
    size_t o = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        vg_part q = p->p[i];
        if (q.kind == VG_PART_LIT) {
            char *c = vg__arena_strndup(a, q.s, q.len);
            if (!c)
                return VIGIE_NOMEM;
            q.s = c;
            memcpy(text + o, c, q.len);
            o += q.len;
        } else {
            text[o++] = q.kind == VG_PART_STAR ? '*' : '?';
        }
        v->parts[i] = q;
    }
    text[o] = 0;
    v->n_parts = p->n;
    v->text = text;
    v->text_len = (uint32_t)o;
    v->is_num = is_num;
    v->num = num;
    v->is_bool = is_bool;
    return VIGIE_OK;
}

static int apply_shape(pv *p, uint32_t flags)
{
    int rc = VIGIE_OK;
    if (flags & (M_CONTAINS | M_ENDSWITH)) {
        if (!(p->n && p->p[0].kind == VG_PART_STAR)) {
            rc = pv_push(p, VG_PART_STAR, NULL, 0);
            if (!rc && p->n > 1) {
                vg_part star = p->p[p->n - 1];
                memmove(p->p + 1, p->p, (p->n - 1) * sizeof *p->p);
                p->p[0] = star;
            }
        }
    }
    if (!rc && (flags & (M_CONTAINS | M_STARTSWITH)))
        rc = pv_push(p, VG_PART_STAR, NULL, 0);
    return rc;
}

/* One scalar value -> one or more vg_values. */
static int build_value(vg_arena *a, vals *vs, const ynode *n, const mods *m, bool keyword,
                       const vg_ruleload_opts *opts, rule_err *err)
{
    int rc = VIGIE_OK;
    err->line = n ? n->line : 0;
    err->col = n ? n->col : 0;
    if (n && n->type != YN_SCALAR) {
        snprintf(err->msg, sizeof err->msg, "a value must be a scalar or a list of scalars");
        return err->rc = VIGIE_RULE;
    }
    if (m->flags & M_EXISTS) {
        int b = n ? plain_bool(n) : -1;
        if (b < 0 && n && n->quoted)
            b = strcmp(n->value, "true") == 0 ? 1 : strcmp(n->value, "false") == 0 ? 0 : -1;
        if (b < 0) {
            snprintf(err->msg, sizeof err->msg, "|exists takes true or false");
            return err->rc = VIGIE_MODIFIER;
        }
        vg_value *v = val_new(vs, n);
        if (!v)
            return VIGIE_NOMEM;
        v->op = VG_OP_EXISTS;
        v->exists = b == 1;
        return VIGIE_OK;
    }
    if (plain_null(n)) {
        if (keyword) {
            snprintf(err->msg, sizeof err->msg, "null is not a keyword");
            return err->rc = VIGIE_RULE;
        }
        vg_value *v = val_new(vs, n);
        if (!v)
            return VIGIE_NOMEM;
        v->op = VG_OP_NULL;
        return VIGIE_OK;
    }
    double num = 0;
    bool is_num = plain_number(n, &num);
    /* the YAML tree is temporary: everything a value keeps is copied into the arena */
    const char *text = vg__arena_strndup(a, n->value, n->len);
    if (!text)
        return VIGIE_NOMEM;
    if (m->flags & (M_GT | M_GTE | M_LT | M_LTE)) {
        if (!is_num && !numeric_text(n->value, &num)) {
            snprintf(err->msg, sizeof err->msg, "gt/gte/lt/lte take a number, not '%s'",
                     n->value);
            return err->rc = VIGIE_MODIFIER;
        }
        vg_value *v = val_new(vs, n);
        if (!v)
            return VIGIE_NOMEM;
        v->op = VG_OP_NUM_CMP;
        v->num = num;
        v->cmp = (m->flags & M_GT) ? VG_CMP_GT : (m->flags & M_GTE) ? VG_CMP_GTE
                 : (m->flags & M_LT) ? VG_CMP_LT : VG_CMP_LTE;
        v->text = text;
        v->text_len = n->len;
        return VIGIE_OK;
    }
    if (m->flags & M_RE) {
        vg_value *v = val_new(vs, n);
        if (!v)
            return VIGIE_NOMEM;
        v->op = VG_OP_RE;
        v->re = text;
        v->re_len = n->len;
        v->re_flags = ((m->flags & M_RE_I) ? VG_RE_I : 0) | ((m->flags & M_RE_M) ? VG_RE_M : 0) |
                      ((m->flags & M_RE_S) ? VG_RE_S : 0);
        v->text = text;
        v->text_len = n->len;
        return VIGIE_OK;
    }
    if (m->flags & M_CIDR) {
        vg_value *v = val_new(vs, n);
        if (!v)
            return VIGIE_NOMEM;
        char addr[64];
        const char *slash = strchr(n->value, '/');
        size_t al = slash ? (size_t)(slash - n->value) : n->len;
        if (al >= sizeof addr)
            goto bad_cidr;
        memcpy(addr, n->value, al);
        addr[al] = 0;
        v->op = VG_OP_CIDR;
        if (inet_pton(AF_INET, addr, v->addr) == 1)
            v->family = 4;
        else if (inet_pton(AF_INET6, addr, v->addr) == 1)
            v->family = 6;
        else
            goto bad_cidr;
        {
            int maxp = v->family == 4 ? 32 : 128, pl = maxp;
            if (slash) {
                char *end;
                long l = strtol(slash + 1, &end, 10);
                if (*end || end == slash + 1 || l < 0 || l > maxp)
                    goto bad_cidr;
                pl = (int)l;
            }
            v->prefix = (uint8_t)pl;
            for (int bit = pl; bit < maxp; bit++)
                v->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
        }
        v->text = text;
        v->text_len = n->len;
        return VIGIE_OK;
    bad_cidr:
        snprintf(err->msg, sizeof err->msg, "invalid CIDR '%s'", n->value);
        return err->rc = VIGIE_MODIFIER;
    }
    if (m->flags & M_FIELDREF) {
        vg_value *v = val_new(vs, n);
        if (!v)
            return VIGIE_NOMEM;
        v->op = VG_OP_FIELDREF;
        v->ref_field = text;
        v->fref_mode = (m->flags & M_CONTAINS)     ? VG_FREF_CONTAINS
                       : (m->flags & M_STARTSWITH) ? VG_FREF_STARTSWITH
                       : (m->flags & M_ENDSWITH)   ? VG_FREF_ENDSWITH
                                                   : VG_FREF_EQ;
        return VIGIE_OK;
    }
    int b = plain_bool(n);
    if (m->n_transforms == 0 && (is_num || b >= 0)) {
        pv p = {NULL, 0, 0};
        rc = pv_push(&p, VG_PART_LIT, n->value, n->len);
        if (!rc && (keyword || (m->flags & (M_CONTAINS | M_STARTSWITH | M_ENDSWITH))))
            rc = apply_shape(&p, keyword ? M_CONTAINS : m->flags);
        if (!rc)
            rc = add_glob(a, vs, n, &p, is_num && !keyword, num, b >= 0);
        free(p.p);
        return rc;
    }

    /* strings: expand, then wildcards, then the other transforms in order */
    const char **raws = NULL;
    uint32_t n_raws = 1;
    const char *single = n->value;
    bool did_expand = false;
    vlist cur = {NULL, 0, 0}, next = {NULL, 0, 0};
    for (uint32_t t = 0; t < m->n_transforms; t++)
        if (m->transforms[t] == T_EXPAND && !did_expand) {
            if ((rc = expand(a, n->value, n->len, opts, &raws, &n_raws, err)))
                return rc;
            did_expand = true;
        }
    for (uint32_t r = 0; r < n_raws && !rc; r++) {
        const char *s = did_expand ? raws[r] : single;
        pv p = {NULL, 0, 0};
        rc = glob_parse_pv(a, s, strlen(s), &p);
        if (!rc)
            rc = vl_add(&cur, p);
        else
            free(p.p);
    }
    free(raws);
    for (uint32_t t = 0; t < m->n_transforms && !rc; t++) {
        uint8_t tr = m->transforms[t];
        if (tr == T_EXPAND)
            continue;
        for (uint32_t i = 0; i < cur.n && !rc; i++) {
            pv *p = &cur.v[i];
            if (tr == T_WINDASH) {
                rc = windash(a, p, &next);
                continue;
            }
            if (tr == T_UTF16LE || tr == T_UTF16BE || tr == T_UTF16) {
                pv q = {NULL, 0, 0};
                for (uint32_t k = 0; k < p->n && !rc; k++) {
                    if (p->p[k].kind != VG_PART_LIT) {
                        rc = pv_push(&q, p->p[k].kind, NULL, 0);
                        continue;
                    }
                    size_t ol;
                    const char *e = utf16(a, p->p[k].s, p->p[k].len, tr == T_UTF16BE,
                                          tr == T_UTF16 && k == 0, &ol);
                    rc = e ? pv_push(&q, VG_PART_LIT, e, (uint32_t)ol) : VIGIE_NOMEM;
                }
                if (!rc)
                    rc = vl_add(&next, q);
                else
                    free(q.p);
                continue;
            }
            /* base64 / base64offset need a plain value */
            const char *flat;
            size_t fl;
            rc = pv_flatten(a, p, &flat, &fl);
            if (rc == VIGIE_UNSUPPORTED) {
                snprintf(err->msg, sizeof err->msg,
                         "base64 of a value with wildcards cannot be matched");
                err->rc = rc = VIGIE_MODIFIER;
                break;
            }
            if (rc)
                break;
            if (tr == T_BASE64) {
                size_t ol;
                char *e = b64(a, (const unsigned char *)flat, fl, &ol);
                /* UTF-16 text searched inside a larger blob (|contains, |startswith: an
                 * encoded command line) never ends at the blob's end, so its '=' padding
                 * cannot occur there: drop it. Plain base64 keeps its padding. */
                if (e && t > 0 &&
                    (m->transforms[t - 1] == T_UTF16LE || m->transforms[t - 1] == T_UTF16BE ||
                     m->transforms[t - 1] == T_UTF16) &&
                    (m->flags & (M_CONTAINS | M_STARTSWITH)))
                    while (ol && e[ol - 1] == '=')
                        e[--ol] = 0;
                pv q = {NULL, 0, 0};
                rc = e ? pv_push(&q, VG_PART_LIT, e, (uint32_t)ol) : VIGIE_NOMEM;
                if (!rc)
                    rc = vl_add(&next, q);
                else
                    free(q.p);
            } else {
                static const size_t start[3] = {0, 2, 3};
                static const size_t endcut[3] = {0, 3, 2};
                for (size_t off = 0; off < 3 && !rc; off++) {
                    unsigned char *tmp = vg__arena_alloc(a, fl + 3);
                    if (!tmp) {
                        rc = VIGIE_NOMEM;
                        break;
                    }
                    memset(tmp, ' ', off);
                    memcpy(tmp + off, flat, fl);
                    size_t ol;
                    char *e = b64(a, tmp, fl + off, &ol);
                    if (!e) {
                        rc = VIGIE_NOMEM;
                        break;
                    }
                    size_t cut = endcut[(fl + off) % 3];
                    if (ol < start[off] + cut)
                        continue;
                    pv q = {NULL, 0, 0};
                    rc = pv_push(&q, VG_PART_LIT, e + start[off],
                                 (uint32_t)(ol - start[off] - cut));
                    if (!rc)
                        rc = vl_add(&next, q);
                    else
                        free(q.p);
                }
            }
        }
        if (rc)
            break;
        vl_free(&cur);
        cur = next;
        memset(&next, 0, sizeof next);
    }
    for (uint32_t i = 0; i < cur.n && !rc; i++) {
        rc = apply_shape(&cur.v[i], keyword ? M_CONTAINS : m->flags);
        if (!rc)
            rc = add_glob(a, vs, n, &cur.v[i], false, 0, false);
    }
    if (rc == VIGIE_TOOBIG && !err->msg[0])
        snprintf(err->msg, sizeof err->msg, "modifiers give more than %u variants of one value",
                 (unsigned)VG_MAX_VALUE_VARIANTS);
    vl_free(&cur);
    vl_free(&next);
    if (rc && !err->rc)
        err->rc = rc;
    return rc;
}

static int finish(vg_arena *a, vals *vs, vg_fieldcond *out)
{
    out->values = vg__arena_alloc(a, (vs->n ? vs->n : 1) * sizeof(vg_value));
    if (!out->values)
        return VIGIE_NOMEM;
    if (vs->n)
        memcpy(out->values, vs->v, vs->n * sizeof(vg_value));
    out->n_values = vs->n;
    return VIGIE_OK;
}

int vg__rule_fieldcond(vg_arena *a, const ynode *key, const ynode *val,
                       const vg_ruleload_opts *opts, vg_fieldcond *out, rule_err *err)
{
    memset(out, 0, sizeof *out);
    out->line = key->line;
    out->col = key->col;
    err->line = key->line;
    err->col = key->col;
    const char *bar = strchr(key->value, '|');
    mods m;
    size_t bad_off;
    if (parse_mods(bar ? bar + 1 : NULL, &m, err, &bad_off)) {
        /* point at the bad modifier (the first one for a conflict) in a one-line key */
        if (bar && !memchr(key->value, '\n', key->len))
            err->col = key->col + (key->quoted ? 1 : 0) + (uint32_t)(bar + 1 - key->value) +
                       (uint32_t)bad_off;
        return err->rc;
    }
    size_t fl = bar ? (size_t)(bar - key->value) : key->len;
    out->field = fl ? vg__arena_strndup(a, key->value, fl) : NULL;
    out->all = (m.flags & M_ALL) != 0;
    out->cased = (m.flags & M_CASED) != 0;
    out->neg = (m.flags & M_NEQ) != 0;
    out->timepart = m.timepart;
    vals vs = {NULL, 0, 0};
    int rc = VIGIE_OK;
    if (val && val->type == YN_SEQ) {
        if (val->n_kids == 0) {
            snprintf(err->msg, sizeof err->msg, "empty list of values");
            free(vs.v);
            return err->rc = VIGIE_RULE;
        }
        for (uint32_t i = 0; i < val->n_kids && !rc; i++)
            rc = build_value(a, &vs, val->kids[i], &m, out->field == NULL, opts, err);
    } else if (val && val->type == YN_MAP) {
        err->line = val->line;
        err->col = val->col;
        snprintf(err->msg, sizeof err->msg, "a field value cannot be a map");
        rc = err->rc = VIGIE_RULE;
    } else {
        rc = build_value(a, &vs, val, &m, out->field == NULL, opts, err);
    }
    if (!rc)
        rc = finish(a, &vs, out);
    free(vs.v);
    if (rc && !err->rc)
        err->rc = rc;
    return rc;
}

int vg__rule_keywords(vg_arena *a, const ynode *const *vals_in, uint32_t n, const char *mods_s,
                      uint32_t line, uint32_t col, const vg_ruleload_opts *opts,
                      vg_fieldcond *out, rule_err *err)
{
    memset(out, 0, sizeof *out);
    out->line = line;
    out->col = col;
    mods m;
    err->line = line;
    err->col = col;
    size_t bad_off;
    if (parse_mods(mods_s, &m, err, &bad_off))
        return err->rc;
    out->all = (m.flags & M_ALL) != 0;
    out->cased = (m.flags & M_CASED) != 0;
    vals vs = {NULL, 0, 0};
    int rc = VIGIE_OK;
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = build_value(a, &vs, vals_in[i], &m, true, opts, err);
    if (!rc)
        rc = finish(a, &vs, out);
    free(vs.v);
    if (rc && !err->rc)
        err->rc = rc;
    return rc;
}
