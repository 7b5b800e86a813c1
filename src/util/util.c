/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.c: byte buffers, the grow helper, the arena, the hash map, diagnostics, status names,
 * strings and time. Nothing here knows about logs or rules. Costs: vg_buf and every array grown
 * with vg__grow double (amortized O(1) per element); vg_hmap doubles its slots when half full
 * (O(1) expected per find or put); the arena allocates chunks of a fixed size (or larger for
 * big requests) and never frees singly.
 */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const status_names[] = {
#define X(name, msg) #name,
    VIGIE_STATUS_MAP(X)
#undef X
};
static const char *const status_msgs[] = {
#define X(name, msg) msg,
    VIGIE_STATUS_MAP(X)
#undef X
};

const char *vigie_status_name(int rc)
{
    if (rc < 0 || rc >= VIGIE_STATUS_COUNT)
        return "UNKNOWN";
    return status_names[rc];
}

const char *vigie_strerror(int rc)
{
    if (rc < 0 || rc >= VIGIE_STATUS_COUNT)
        return "unknown status";
    return status_msgs[rc];
}

const char *vigie_version(void)
{
    return VIGIE_VERSION;
}

/* ---- vg_buf ---- */
void vg__buf_init(vg_buf *b, size_t toobig)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->toobig = toobig;
    b->err = VIGIE_OK;
}

void vg__buf_free(vg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = VIGIE_OK;
}

void vg__buf_reset(vg_buf *b)
{
    b->len = 0;
    b->err = VIGIE_OK;
    if (b->data)
        b->data[0] = 0;
}

/* The one place a buffer's error becomes sticky: every append reserves first. */
static int buf_fail(vg_buf *b, int rc)
{
    if (!b->err)
        b->err = rc;
    return rc;
}

int vg__buf_reserve(vg_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > SIZE_MAX - b->len - 1)
        return buf_fail(b, VIGIE_TOOBIG);
    size_t need = b->len + extra + 1;
    if (b->toobig && need - 1 > b->toobig)
        return buf_fail(b, VIGIE_TOOBIG);
    if (need <= b->cap)
        return VIGIE_OK;
    size_t ncap = b->cap;
    int rc = vg__grow((void **)&b->data, &ncap, need, 1, 64);
    if (rc)
        return buf_fail(b, rc);
    b->cap = ncap;
    return VIGIE_OK;
}

/* A multi-step append that failed half-way: back to what the buffer held before it. */
static int buf_undo(vg_buf *b, size_t start, int rc)
{
    if (rc && b->data && start <= b->len) {
        b->len = start;
        b->data[start] = 0;
    }
    return rc;
}

/* The doubling block written once: the new capacity for need (at most maxcap elements), the
 * realloc, and the old array left alone on failure. */
static int grow_to(void **pp, size_t cur, size_t need, size_t elem, size_t first, size_t maxcap,
                   size_t *out)
{
    if (!elem)
        return VIGIE_INVAL;
    if (SIZE_MAX / elem < maxcap)
        maxcap = SIZE_MAX / elem;
    if (need > maxcap)
        return VIGIE_TOOBIG;
    size_t ncap = cur ? cur : (first ? first : 1);
    while (ncap < need)
        ncap = ncap > maxcap / 2 ? maxcap : ncap * 2;
    if (ncap > maxcap)
        ncap = maxcap > need ? maxcap : need; /* first alone was too big */
    void *old;
    memcpy(&old, pp, sizeof old); /* *pp is some T *: copied, never read as a void * */
    void *n = realloc(old, ncap * elem);
    if (!n)
        return VIGIE_NOMEM;
    memcpy(pp, &n, sizeof n);
    *out = ncap;
    return VIGIE_OK;
}

int vg__grow(void **pp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return VIGIE_OK;
    return grow_to(pp, *cap, need, elem, first, SIZE_MAX, cap);
}

int vg__grow32(void **pp, uint32_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return VIGIE_OK;
    size_t ncap;
    int rc = grow_to(pp, *cap, need, elem, first, UINT32_MAX, &ncap);
    if (!rc)
        *cap = (uint32_t)ncap;
    return rc;
}

int vg__grow32_max(void **pp, uint32_t *cap, size_t need, size_t elem, size_t first,
                   uint32_t maxcap)
{
    if (need <= *cap)
        return VIGIE_OK;
    if (first > maxcap)
        first = maxcap;
    size_t ncap;
    int rc = grow_to(pp, *cap, need, elem, first, maxcap, &ncap);
    if (!rc)
        *cap = (uint32_t)ncap;
    return rc;
}

int vg__buf_add(vg_buf *b, const void *p, size_t n)
{
    int rc = vg__buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return VIGIE_OK;
}

int vg__buf_addc(vg_buf *b, char c)
{
    return vg__buf_add(b, &c, 1);
}

int vg__buf_adds(vg_buf *b, const char *s)
{
    return vg__buf_add(b, s, strlen(s));
}

int vg__buf_printf(vg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return b->err ? b->err : buf_fail(b, VIGIE_INVAL);
    }
    int rc = vg__buf_reserve(b, (size_t)n);
    if (rc) {
        va_end(ap2);
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return VIGIE_OK;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0;
        if (c == 0xED && s[1] > 0x9F)
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0;
        if (c == 0xF4 && s[1] > 0x8F)
            return 0;
        return 4;
    }
    return 0;
}

bool vg__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* The shown form of the unit at p (one byte, or one UTF-8 sequence): written to e (at most
 * 7 bytes) and its length returned; *used = bytes of p it stands for. */
static size_t escape_unit(const unsigned char *p, size_t n, char e[8], size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = p[0];
    *used = 1;
    if (c >= 0x20 && c < 0x7f) {
        e[0] = (char)c;
        return 1;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
        e[0] = '\\', e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        return 2;
    }
    size_t k = c < 0x80 ? 0 : utf8_seq(p, n);
    if (!k) { /* C0, DEL, or a byte that is no UTF-8: a lone 0x9b is CSI to some terminals */
        e[0] = '\\', e[1] = 'x', e[2] = hex[c >> 4], e[3] = hex[c & 15];
        return 4;
    }
    *used = k;
    if ((k == 2 && c == 0xc2 && p[1] < 0xa0) ||
        (k == 3 && c == 0xe2 && p[1] == 0x80 && p[2] >= 0xa8 && p[2] <= 0xae) ||
        (k == 3 && c == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)) {
        /* C1 controls; line and paragraph separators; bidirectional embeddings, overrides
         * and isolates (they reorder what the reader sees) */
        unsigned cp = k == 2 ? (unsigned)(p[1] & 0x3f) | 0x80u
                             : 0x2000u | ((unsigned)(p[1] & 0x3f) << 6) | (unsigned)(p[2] & 0x3f);
        e[0] = '\\', e[1] = 'u';
        for (int i = 0; i < 4; i++)
            e[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
        return 6;
    }
    memcpy(e, p, k);
    return k;
}

int vg__buf_add_escaped(vg_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = b->len;
    int rc = vg__buf_reserve(b, n);
    size_t i = 0;
    while (!rc && i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x7f)
            run++;
        if (run > i) {
            rc = vg__buf_add(b, p + i, run - i);
            i = run;
            continue;
        }
        char e[8];
        size_t used, el = escape_unit(p + i, n - i, e, &used);
        rc = vg__buf_add(b, e, el);
        i += used;
    }
    return buf_undo(b, start, rc);
}

size_t vg__escape_to(char *out, size_t cap, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, len = 0;
    if (!cap)
        return 0;
    while (i < n) {
        char e[8];
        size_t used, el = escape_unit(p + i, n - i, e, &used);
        if (len + el + 1 > cap)
            break;
        memcpy(out + len, e, el);
        len += el;
        i += used;
    }
    out[len] = 0;
    return len;
}

int vg__buf_add_json_str(vg_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t start = b->len;
    int rc = vg__buf_reserve(b, n + 8);
    if (rc)
        return rc;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            if ((rc = vg__buf_add(b, p + i, run - i)))
                return buf_undo(b, start, rc);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (k) {
                rc = vg__buf_add(b, p + i, k);
                i += k;
            } else {
                rc = vg__buf_add(b, "\xEF\xBF\xBD", 3);
                i++;
            }
        } else {
            char esc[7];
            size_t el = 2;
            esc[0] = '\\';
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default:
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                el = 6;
            }
            rc = vg__buf_add(b, esc, el);
            i++;
        }
        if (rc)
            return buf_undo(b, start, rc);
    }
    return VIGIE_OK;
}

/* ---- vg_arena ---- */
typedef struct chunk {
    struct chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char mem[];
} chunk;

struct vg_arena {
    chunk *head;
    size_t chunk_size;
    size_t total;
};

vg_arena *vg__arena_new(size_t chunk_size)
{
    vg_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    return a;
}

void vg__arena_free(vg_arena *a)
{
    if (!a)
        return;
    chunk *c = a->head;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

void vg__arena_reset(vg_arena *a)
{
    if (!a || !a->head)
        return;
    chunk *c = a->head->next;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head->next = NULL;
    a->head->used = 0;
    a->total = 0;
}

void *vg__arena_alloc(vg_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > a->chunk_size ? n : a->chunk_size;
        chunk *nc = malloc(sizeof(chunk) + cap);
        if (!nc)
            return NULL;
        nc->cap = cap;
        nc->used = 0;
        /* keep the partially used head in front if the new chunk is a one-off big block */
        if (c && n > a->chunk_size) {
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        c = nc;
    }
    void *p = c->mem + c->used;
    c->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *vg__arena_strndup(vg_arena *a, const char *s, size_t n)
{
    char *p = vg__arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *vg__arena_strdup(vg_arena *a, const char *s)
{
    return s ? vg__arena_strndup(a, s, strlen(s)) : NULL;
}

size_t vg__arena_used(const vg_arena *a)
{
    return a ? a->total : 0;
}

/* ---- diagnostics ---- */
void vg__diag(vigie_diag_fn fn, void *ud, vigie_diag_level level, int rc, const char *file,
              uint64_t line, uint64_t col, const char *rule_id, const char *fmt, ...)
{
    if (!fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vigie_diag d = {level, rc, file, line, col, UINT64_MAX, rule_id, msg};
    fn(ud, &d);
}

void vg__diag_print(void *ud, const vigie_diag *d)
{
    FILE *f = ud ? (FILE *)ud : stderr;
    const char *lv = d->level == VIGIE_DIAG_ERROR ? "error"
                     : d->level == VIGIE_DIAG_WARNING ? "warning" : "note";
    /* file names, rule ids and messages carry input text: escaped, one line, one write */
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__buf_printf(&b, "vigie: %s: ", lv);
    if (d->file) {
        vg__buf_add_escaped(&b, d->file, strlen(d->file));
        vg__buf_addc(&b, ':');
        if (d->line)
            vg__buf_printf(&b, "%llu:", (unsigned long long)d->line);
        if (d->col)
            vg__buf_printf(&b, "%llu:", (unsigned long long)d->col);
        vg__buf_addc(&b, ' ');
    }
    if (d->rule_id) {
        vg__buf_adds(&b, "rule ");
        vg__buf_add_escaped(&b, d->rule_id, strlen(d->rule_id));
        vg__buf_adds(&b, ": ");
    }
    if (d->message)
        vg__buf_add_escaped(&b, d->message, strlen(d->message));
    if (vg__buf_addc(&b, '\n') == VIGIE_OK)
        fwrite(b.data, 1, b.len, f);
    else
        fprintf(f, "vigie: %s: (message lost: out of memory)\n", lv);
    vg__buf_free(&b);
}

void vigie_diag_print(void *ud, const vigie_diag *d)
{
    vg__diag_print(ud, d);
}

void vg__print_escaped(FILE *f, const char *fmt, ...)
{
    vg_buf raw, b;
    vg__buf_init(&raw, 0);
    vg__buf_init(&b, 0);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && vg__buf_reserve(&raw, (size_t)n + 1) == VIGIE_OK) {
        va_start(ap, fmt);
        vsnprintf(raw.data, (size_t)n + 1, fmt, ap);
        va_end(ap);
        raw.len = (size_t)n;
        bool nl = raw.len && raw.data[raw.len - 1] == '\n';
        vg__buf_add_escaped(&b, raw.data, raw.len - nl);
        if (nl)
            vg__buf_addc(&b, '\n');
        if (b.data)
            fwrite(b.data, 1, b.len, f);
    }
    vg__buf_free(&raw);
    vg__buf_free(&b);
}

/* ---- strings ---- */
bool vg__ascii_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (vg__lower((unsigned char)a[i]) != vg__lower((unsigned char)b[i]))
            return false;
    return true;
}

const char *vg__url_first_segment(const char *url, size_t *len)
{
    const char *p = url ? strstr(url, "://") : NULL;
    p = p ? strchr(p + 3, '/') : NULL;
    if (!p)
        return NULL;
    p++;
    const char *e = strchr(p, '/');
    *len = e ? (size_t)(e - p) : strlen(p);
    return *len ? p : NULL;
}

uint64_t vg__hash64(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, n - i);
    h = (h ^ w ^ (uint64_t)n << 56) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

uint64_t vg__hash64_ci(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    unsigned char low[64];
    uint64_t acc = h;
    size_t done = 0;
    /* lowercase a block at a time into low[], then the same mixing as vg__hash64 over it: the
     * result equals vg__hash64 of the lowercased bytes */
    do {
        size_t k = n - done < sizeof low ? n - done : sizeof low;
        for (size_t i = 0; i < k; i++)
            low[i] = vg__lower(s[done + i]);
        size_t i = 0;
        bool last = done + k == n;
        for (; i + 8 <= k; i += 8) {
            uint64_t w;
            memcpy(&w, low + i, 8);
            acc = (acc ^ w) * 0x9e3779b97f4a7c15ull;
            acc ^= acc >> 32;
        }
        if (last) {
            uint64_t w = 0;
            memcpy(&w, low + i, k - i);
            acc = (acc ^ w ^ (uint64_t)n << 56) * 0xff51afd7ed558ccdull;
            acc ^= acc >> 33;
            return acc ? acc : 1;
        }
        done += k; /* k == sizeof low, a multiple of 8: nothing left over */
    } while (1);
}

/* ---- vg_hmap ---- */
#define MAP_SEED 0x9ae16a3b2f90404full
#define MAP_MIN 16u

void vg__hmap_init(vg_hmap *m, uint32_t max)
{
    m->slot = NULL;
    m->cap = m->n = 0;
    m->max = max;
}

void vg__hmap_free(vg_hmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

void vg__hmap_clear(vg_hmap *m)
{
    if (m->slot)
        memset(m->slot, 0, (size_t)m->cap * sizeof *m->slot);
    m->n = 0;
}

/* The slot holding the key, or the empty slot where it would go. cap > 0. */
enum { K_BYTES, K_U64, K_CI }; /* the kind of key: bytes, integer, ASCII-case-insensitive bytes */
static bool key_eq(const vg_hmap_slot *e, const void *key, size_t len, int kind)
{
    if (kind == K_U64)
        return e->key.u == *(const uint64_t *)key;
    if (e->len != len)
        return false;
    if (kind == K_CI)
        return vg__ascii_ieq(e->key.p, len, key, len);
    return len == 0 || memcmp(e->key.p, key, len) == 0;
}

static vg_hmap_slot *map_probe(const vg_hmap *m, uint64_t h, const void *key, size_t len, int u64)
{
    uint32_t mask = m->cap - 1, j = (uint32_t)h & mask;
    for (;;) {
        vg_hmap_slot *e = &m->slot[j];
        if (!e->hash)
            return e;
        if (e->hash == h && key_eq(e, key, len, u64))
            return e;
        j = (j + 1) & mask;
    }
}

static vg_hmap_slot *map_find(const vg_hmap *m, uint64_t h, const void *key, size_t len, int u64)
{
    if (!m->n)
        return NULL;
    vg_hmap_slot *e = map_probe(m, h ? h : 1, key, len, u64);
    return e->hash ? e : NULL;
}

static int map_put(vg_hmap *m, uint64_t h, const void *key, size_t len, int u64,
                   vg_hmap_slot **out, bool *added)
{
    h = h ? h : 1;
    *added = false;
    vg_hmap_slot *e = m->cap ? map_probe(m, h, key, len, u64) : NULL;
    if (e && e->hash) {
        *out = e;
        return VIGIE_OK;
    }
    *out = NULL;
    if (m->max && m->n >= m->max)
        return VIGIE_TOOBIG;
    if ((size_t)(m->n + 1) * 2 > m->cap) { /* keep the load at most one half */
        uint32_t nc = m->cap ? m->cap * 2 : MAP_MIN;
        if (m->cap > UINT32_MAX / 2)
            return VIGIE_TOOBIG;
        vg_hmap_slot *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return VIGIE_NOMEM;
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->slot[i].hash) {
                uint32_t j = (uint32_t)m->slot[i].hash & (nc - 1);
                while (ns[j].hash)
                    j = (j + 1) & (nc - 1);
                ns[j] = m->slot[i];
            }
        free(m->slot);
        m->slot = ns;
        m->cap = nc;
        e = map_probe(m, h, key, len, u64);
    }
    e->hash = h;
    if (u64 == K_U64) {
        e->key.u = *(const uint64_t *)key;
        e->len = 0;
    } else {
        e->key.p = key;
        e->len = len;
    }
    memset(&e->val, 0, sizeof e->val);
    m->n++;
    *out = e;
    *added = true;
    return VIGIE_OK;
}

vg_hmap_slot *vg__hmap_find_h(const vg_hmap *m, uint64_t h, const void *key, size_t len)
{
    return map_find(m, h, key, len, K_BYTES);
}

int vg__hmap_put_h(vg_hmap *m, uint64_t h, const void *key, size_t len, vg_hmap_slot **out,
                   bool *added)
{
    return map_put(m, h, key, len, K_BYTES, out, added);
}

vg_hmap_slot *vg__hmap_find(const vg_hmap *m, const void *key, size_t len)
{
    return map_find(m, vg__hash64(key, len, MAP_SEED), key, len, K_BYTES);
}

int vg__hmap_put(vg_hmap *m, const void *key, size_t len, vg_hmap_slot **out, bool *added)
{
    return map_put(m, vg__hash64(key, len, MAP_SEED), key, len, K_BYTES, out, added);
}

vg_hmap_slot *vg__hmap_find_u64(const vg_hmap *m, uint64_t key)
{
    return map_find(m, vg__hash64_u64(key, MAP_SEED), &key, 0, K_U64);
}

int vg__hmap_put_u64(vg_hmap *m, uint64_t key, vg_hmap_slot **out, bool *added)
{
    return map_put(m, vg__hash64_u64(key, MAP_SEED), &key, 0, K_U64, out, added);
}

vg_hmap_slot *vg__hmap_find_ci(const vg_hmap *m, const void *key, size_t len)
{
    return map_find(m, vg__hash64_ci(key, len, MAP_SEED), key, len, K_CI);
}

int vg__hmap_put_ci(vg_hmap *m, const void *key, size_t len, vg_hmap_slot **out, bool *added)
{
    return map_put(m, vg__hash64_ci(key, len, MAP_SEED), key, len, K_CI, out, added);
}

vg_hmap_slot *vg__hmap_next(const vg_hmap *m, uint32_t *it)
{
    while (*it < m->cap) {
        vg_hmap_slot *e = &m->slot[(*it)++];
        if (e->hash)
            return e;
    }
    return NULL;
}

const char *vg__ascii_imemmem(const char *h, size_t hlen, const char *n, size_t nlen)
{
    if (nlen == 0)
        return h;
    if (nlen > hlen)
        return NULL;
    unsigned char f = vg__lower((unsigned char)n[0]);
    for (size_t i = 0; i + nlen <= hlen; i++) {
        if (vg__lower((unsigned char)h[i]) != f)
            continue;
        size_t j = 1;
        while (j < nlen && vg__lower((unsigned char)h[i + j]) == vg__lower((unsigned char)n[j]))
            j++;
        if (j == nlen)
            return h + i;
    }
    return NULL;
}

int vg__b64url_encode(vg_buf *o, const unsigned char *s, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int rc = vg__buf_reserve(o, (n + 2) / 3 * 4);
    for (size_t i = 0; !rc && i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {t[(v >> 18) & 63], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
        rc = vg__buf_add(o, q, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
    }
    return rc;
}

int vg__b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *out_len)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52 : (c == '-' || c == '+') ? 62
                : (c == '_' || c == '/') ? 63 : c == '=' ? -2 : -1;
        if (v == -2)
            break;
        if (v < 0)
            return VIGIE_INVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return VIGIE_TOOBIG;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *out_len = o;
    return VIGIE_OK;
}

int vg__read_file(const char *path, size_t cap, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? VIGIE_NOENT : VIGIE_IO;
    vg_buf b;
    vg__buf_init(&b, cap);
    char tmp[65536];
    size_t n;
    int rc = VIGIE_OK;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if ((rc = vg__buf_add(&b, tmp, n)))
            break;
    }
    if (!rc && ferror(f))
        rc = VIGIE_IO;
    fclose(f);
    if (rc) {
        vg__buf_free(&b);
        return rc;
    }
    if (!b.data && (rc = vg__buf_reserve(&b, 0)) == VIGIE_OK)
        b.data[0] = 0;
    if (rc)
        return rc;
    *out = b.data;
    *out_len = b.len;
    return VIGIE_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(const char *dir, int depth, vg_walk_fn fn, void *ud, vigie_diag_fn diag,
                    void *diag_ud)
{
    if (depth > 64)
        return VIGIE_OK;
    DIR *d = opendir(dir);
    if (!d) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_IO, dir, 0, 0, NULL,
                 "cannot read directory: %s", strerror(errno));
        return VIGIE_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = VIGIE_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if ((rc = VG_GROW(names, cap, n + 1, 32)))
            break;
        if (!(names[n] = strdup(e->d_name))) {
            rc = VIGIE_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        if (!rc) {
            size_t l = strlen(dir) + strlen(names[i]) + 2;
            char *full = malloc(l);
            if (!full) {
                rc = VIGIE_NOMEM;
            } else {
                snprintf(full, l, "%s/%s", dir, names[i]);
                struct stat st, lst;
                bool link = lstat(full, &lst) == 0 && S_ISLNK(lst.st_mode);
                if (stat(full, &st) == 0) {
                    if (S_ISDIR(st.st_mode) && !link)
                        rc = walk_dir(full, depth + 1, fn, ud, diag, diag_ud);
                    else if (S_ISREG(st.st_mode))
                        rc = fn(ud, full);
                }
                free(full);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int vg__walk_files(const char *dir, vg_walk_fn fn, void *ud, vigie_diag_fn diag, void *diag_ud)
{
    return walk_dir(dir, 0, fn, ud, diag, diag_ud);
}

double vg__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, size_t at, size_t k, int *v)
{
    if (at + k > n)
        return 0;
    int x = 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[at + i];
        if (c < '0' || c > '9')
            return 0;
        x = x * 10 + (c - '0');
    }
    *v = x;
    return 1;
}

/* Log Analytics CSV exports: "4/28/2021, 2:08:45.221 PM" (UTC). */
static int parse_us_time(const char *s, size_t n, double *out)
{
    int M = 0, D = 0, Y = 0, h = 0, mi = 0, se = 0;
    double frac = 0;
    size_t i = 0;
    int *parts[3] = {&M, &D, &Y};
    for (int k = 0; k < 3; k++) {
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            *parts[k] = *parts[k] * 10 + (s[i++] - '0');
        if (i == st || i - st > 4)
            return VIGIE_INVAL;
        if (k < 2) {
            if (i >= n || s[i] != '/')
                return VIGIE_INVAL;
            i++;
        }
    }
    if (i < n && s[i] == ',')
        i++;
    while (i < n && s[i] == ' ')
        i++;
    int *tp[3] = {&h, &mi, &se};
    for (int k = 0; k < 3 && i < n; k++) {
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            *tp[k] = *tp[k] * 10 + (s[i++] - '0');
        if (i == st)
            return VIGIE_INVAL;
        if (k < 2 && i < n && s[i] == ':')
            i++;
        else
            break;
    }
    if (i < n && s[i] == '.') {
        double scale = 0.1;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac += (s[i] - '0') * scale;
    }
    while (i < n && s[i] == ' ')
        i++;
    if (i + 2 <= n && (s[i] == 'P' || s[i] == 'p') && (s[i + 1] == 'M' || s[i + 1] == 'm')) {
        if (h < 12)
            h += 12;
        i += 2;
    } else if (i + 2 <= n && (s[i] == 'A' || s[i] == 'a') && (s[i + 1] == 'M' || s[i + 1] == 'm')) {
        if (h == 12)
            h = 0;
        i += 2;
    }
    if (i != n || M < 1 || M > 12 || D < 1 || D > 31 || Y < 1970 || h > 23 || mi > 59 || se > 60)
        return VIGIE_INVAL;
    *out = (double)(days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 +
                    se) + frac;
    return VIGIE_OK;
}

int vg__parse_time(const char *s, size_t n, double *out)
{
    int Y, M, D, h = 0, mi = 0, se = 0;
    if (n >= 8 && memchr(s, '/', n < 6 ? n : 6))
        return parse_us_time(s, n, out);
    if (n >= 2 && s[0] == '"') { /* tolerate quoted */
        s++;
        n -= 2;
    }
    if (!digits(s, n, 0, 4, &Y) || n < 10 || s[4] != '-' || !digits(s, n, 5, 2, &M) ||
        s[7] != '-' || !digits(s, n, 8, 2, &D))
        return VIGIE_INVAL;
    if (M < 1 || M > 12 || D < 1 || D > 31)
        return VIGIE_INVAL;
    size_t i = 10;
    double frac = 0;
    int tz = 0;
    if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if (!digits(s, n, i, 2, &h) || i + 2 >= n || s[i + 2] != ':' ||
            !digits(s, n, i + 3, 2, &mi))
            return VIGIE_INVAL;
        i += 5;
        if (i < n && s[i] == ':') {
            if (!digits(s, n, i + 1, 2, &se))
                return VIGIE_INVAL;
            i += 3;
        }
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            i++;
            double scale = 0.1;
            size_t st = i;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                frac += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == st)
                return VIGIE_INVAL;
        }
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            int th, tm = 0;
            int sign = s[i] == '-' ? -1 : 1;
            if (!digits(s, n, i + 1, 2, &th))
                return VIGIE_INVAL;
            i += 3;
            if (i < n && s[i] == ':')
                i++;
            if (i < n && digits(s, n, i, 2, &tm))
                i += 2;
            tz = sign * (th * 3600 + tm * 60);
        }
    }
    if (i != n)
        return VIGIE_INVAL;
    if (h > 23 || mi > 59 || se > 60)
        return VIGIE_INVAL;
    int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
    *out = (double)(days * 86400 + h * 3600 + mi * 60 + se - tz) + frac;
    return VIGIE_OK;
}

void vg__format_time(double t, char *out, size_t cap)
{
    int64_t secs = (int64_t)(t < 0 ? t - 1 : t);
    int ms = (int)((t - (double)secs) * 1000.0 + 0.5);
    if (ms >= 1000) {
        ms -= 1000;
        secs++;
    }
    int64_t z = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        z--;
    }
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60), ms);
}
