/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_path.c: Sigma field addressing over a JSON tape.
 *
 * Stage: json. A Sigma field name is a dotted path; real logs make it ambiguous, so the
 * walk tries, at each object, the longest literal key that is a prefix of the remaining
 * path (a key "a.b" wins over "a" then "b"), exact bytes first and ASCII case-insensitive
 * when nothing matches exactly; goes through arrays element by element; descends into JSON
 * held inside strings (Sentinel's Folders, OperationProperties), parsed once per event into
 * the scratch and cached by (tape, token); and addresses Name/Value lists by name.
 * Cost: a lookup visits only the keys of the objects on its path; each container is skipped
 * in O(1) through tok.next. The scratch allocates only while growing to the largest event.
 */
#define _POSIX_C_SOURCE 200809L
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* Most embedded-JSON strings parsed for one event. Past it, further strings are not descended
 * into (their fields are not found): bounds the scratch at about this many small tapes even
 * for a hostile record made of many tiny JSON strings. Entries are never evicted within an
 * event, so every vg_jval handed out stays valid until the reset.
 * (Candidate for limits.h: VG_MAX_EMBEDDED_JSON_PARSES.) */
#define MAX_EMBEDDED_PER_EVENT VG_MAX_EMBEDDED_JSON_PARSES

typedef struct embedded {
    const vg_jtape *parent;
    uint32_t tok;
    int ok;      /* 1 parsed, 0 not JSON */
    vg_buf text; /* unescaped string content (only used when the string has escapes) */
    vg_jtape tape;
} embedded;

/* Index of this event's entries by (tape, token): open addressing, linear probing, twice
 * as many slots as entries can exist, so a probe is short even on a hostile record. A slot
 * is live only when its gen equals the scratch's: a reset is gen++, not a clear. Not vg_hmap
 * for that reason: it is reset on every event, and a vg_hmap reset (vg__hmap_clear) is a
 * memset of its slots, while this one is a fixed array in the scratch that never allocates
 * and whose key is (tape pointer, token), hashed in two multiplications. */
#define INDEX_SLOTS (2 * MAX_EMBEDDED_PER_EVENT)

typedef struct index_slot {
    uint32_t gen;
    uint32_t entry;
} index_slot;

struct vg_jscratch {
    embedded **e; /* e[0, n) are this event's parses; e[n, n_alloc) are kept for reuse */
    uint32_t n;
    uint32_t n_alloc;
    uint32_t cap; /* slots in e */
    uint32_t gen; /* current event's generation, never 0 */
    vg_buf key;   /* unescaped keys and names */
    index_slot index[INDEX_SLOTS];
};

static uint32_t index_hash(const vg_jtape *t, uint32_t tok)
{
    uint64_t h = ((uint64_t)(uintptr_t)t >> 4) * 0x9E3779B97F4A7C15u ^ tok;
    h *= 0xBF58476D1CE4E5B9u;
    return (uint32_t)(h >> 40) % INDEX_SLOTS;
}

vg_jscratch *vg__jscratch_new(void)
{
    vg_jscratch *s = calloc(1, sizeof *s);
    if (s) {
        vg__buf_init(&s->key, 0);
        s->gen = 1;
    }
    return s;
}

void vg__jscratch_free(vg_jscratch *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n_alloc; i++) {
        vg__buf_free(&s->e[i]->text);
        vg__jtape_free(&s->e[i]->tape);
        free(s->e[i]);
    }
    free(s->e);
    vg__buf_free(&s->key);
    free(s);
}

void vg__jscratch_reset(vg_jscratch *s)
{
    if (!s)
        return;
    s->n = 0;
    if (++s->gen == 0) { /* wrapped after 4 billion events: forget every slot once */
        memset(s->index, 0, sizeof s->index);
        s->gen = 1;
    }
}

/* A free entry for this event, or NULL (limit reached or out of memory). */
static embedded *embedded_slot(vg_jscratch *s)
{
    if (s->n >= MAX_EMBEDDED_PER_EVENT)
        return NULL;
    if (s->n == s->n_alloc) {
        if (VG_GROW(s->e, s->cap, (size_t)s->n_alloc + 1, 16))
            return NULL;
        embedded *e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        vg__buf_init(&e->text, 0);
        vg__jtape_init(&e->tape);
        s->e[s->n_alloc++] = e;
    }
    return s->e[s->n++];
}

/* The embedded parse of string token `tok` of tape `t`, or NULL when it is not JSON.
 * Cached per (tape, token) for the event: several rules asking for fields inside the same
 * string parse it once. A string without escapes is parsed in place (its bytes are the
 * content); one with escapes is unescaped into the entry first. */
static const vg_jtape *embedded_get(vg_jscratch *s, const vg_jtape *t, uint32_t tok)
{
    const vg_jtok *k = &t->tok[tok];
    /* cheap rejection: first non-space byte of the raw string must be { or [ */
    const char *p = t->src + k->off;
    uint32_t i = 0;
    while (i < k->len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    if (i >= k->len || (p[i] != '{' && p[i] != '['))
        return NULL;
    uint32_t h = index_hash(t, tok);
    for (;;) {
        index_slot *is = &s->index[h];
        if (is->gen != s->gen)
            break; /* free: not parsed yet in this event */
        embedded *c = s->e[is->entry];
        if (c->tok == tok && c->parent == t)
            return c->ok ? &c->tape : NULL;
        h = (h + 1) % INDEX_SLOTS;
    }
    embedded *e = embedded_slot(s);
    if (!e)
        return NULL;
    s->index[h].gen = s->gen;
    s->index[h].entry = s->n - 1;
    e->parent = t;
    e->tok = tok;
    e->ok = 0;
    const char *text = p;
    size_t text_len = k->len;
    if (k->esc) {
        vg__buf_reset(&e->text);
        if (vg__json_unescape(p, k->len, &e->text) != VIGIE_OK || !e->text.data)
            return NULL;
        text = e->text.data;
        text_len = e->text.len;
    }
    if (vg__json_parse(&e->tape, text, text_len, NULL) != VIGIE_OK)
        return NULL;
    e->ok = 1;
    return &e->tape;
}

typedef struct walk_ctx {
    vg_jscratch *s;
    vg_jval_fn fn;
    void *ud;
} walk_ctx;

static int walk(walk_ctx *w, const vg_jtape *t, uint32_t tok, const char *path, size_t plen,
                int emb_depth);

/* The unescaped bytes of key token i (into the scratch's key buffer when escaped). */
static const char *key_bytes(walk_ctx *w, const vg_jtape *t, uint32_t i, size_t *len)
{
    return vg__json_str(t, i, &w->s->key, len);
}

/* Length of the path prefix that key equals when its spaces are ignored (ASCII case-
 * insensitively), ending at a '.' or the end of the path; 0 when none. Windows renderings
 * write some EventData names with spaces ("Threat Name") that Sigma writes without. */
static size_t nospace_match(const char *k, size_t kl, const char *path, size_t plen)
{
    size_t i = 0, j = 0;
    bool spaced = false;
    while (i < kl) {
        if (k[i] == ' ') {
            spaced = true;
            i++;
            continue;
        }
        if (j >= plen || vg__lower((unsigned char)k[i]) != vg__lower((unsigned char)path[j]))
            return 0;
        i++;
        j++;
    }
    if (!spaced || j == 0 || (j < plen && path[j] != '.'))
        return 0;
    return j;
}

static int walk_object(walk_ctx *w, const vg_jtape *t, uint32_t obj, const char *path, size_t plen,
                       int emb_depth)
{
    /* "*" as a segment: every member (Windows UserData holds one element of any name) */
    if (path[0] == '*' && (plen == 1 || path[1] == '.')) {
        size_t rest = plen == 1 ? 1 : 2;
        for (uint32_t i = obj + 1; i < t->tok[obj].next; i = t->tok[i + 1].next) {
            int r = walk(w, t, i + 1, path + rest, plen - rest, emb_depth);
            if (r)
                return r;
        }
        return 0;
    }
    /* one pass over the keys, three candidates: exact bytes, ASCII case-insensitive, and
     * case-insensitive ignoring spaces in the key; the first kind found wins, and within a
     * kind the longest key */
    int64_t best[3] = {-1, -1, -1};
    size_t best_len[3] = {0, 0, 0};
    uint32_t i = obj + 1, end = t->tok[obj].next;
    while (i < end) {
        uint32_t v = i + 1;
        size_t kl;
        const char *kb = key_bytes(w, t, i, &kl);
        if (kl <= plen && (kl == plen || path[kl] == '.') && kl > 0) {
            if (kl > best_len[0] && memcmp(kb, path, kl) == 0) {
                best[0] = v;
                best_len[0] = kl;
                if (kl == plen)
                    break; /* the whole remaining path is one key: nothing can beat it */
            } else if (kl > best_len[1] && vg__ascii_ieq(kb, kl, path, kl)) {
                best[1] = v;
                best_len[1] = kl;
            }
        }
        if (best[0] < 0 && best[1] < 0 && kl > 1 && kl > best_len[2] &&
            vg__lower((unsigned char)kb[0]) == vg__lower((unsigned char)path[0]) &&
            memchr(kb, ' ', kl)) {
            size_t ml = nospace_match(kb, kl, path, plen);
            if (ml > best_len[2]) {
                best[2] = v;
                best_len[2] = ml;
            }
        }
        i = t->tok[v].next;
    }
    for (int kind = 0; kind < 3; kind++) {
        if (best[kind] >= 0) {
            size_t rest = best_len[kind] < plen ? best_len[kind] + 1 : plen;
            return walk(w, t, (uint32_t)best[kind], path + rest, plen - rest, emb_depth);
        }
    }
    return 0;
}

/* If element `el` is an object {Name: seg, Value: v} return v's token, else -1. */
static int64_t name_value(const vg_jtape *t, uint32_t el, const char *seg, size_t seg_len,
                          vg_buf *tmp)
{
    if (t->tok[el].type != VG_J_OBJECT)
        return -1;
    int64_t nm = vg__json_obj_get(t, el, "Name", 4);
    if (nm < 0)
        nm = vg__json_obj_get_ci(t, el, "name", 4);
    if (nm < 0 || t->tok[nm].type != VG_J_STRING)
        return -1;
    int64_t val = vg__json_obj_get(t, el, "Value", 5);
    if (val < 0)
        val = vg__json_obj_get_ci(t, el, "value", 5);
    if (val < 0)
        return -1;
    size_t nl;
    const char *nb = vg__json_str(t, (uint32_t)nm, tmp, &nl);
    if (nl == seg_len && vg__ascii_ieq(nb, nl, seg, seg_len))
        return val;
    return -1;
}

static int walk(walk_ctx *w, const vg_jtape *t, uint32_t tok, const char *path, size_t plen,
                int emb_depth)
{
    if (plen == 0) {
        vg_jval v = {t, tok};
        return w->fn(w->ud, &v);
    }
    const vg_jtok *k = &t->tok[tok];
    switch (k->type) {
    case VG_J_OBJECT:
        return walk_object(w, t, tok, path, plen, emb_depth);
    case VG_J_ARRAY: {
        const char *dot = memchr(path, '.', plen);
        size_t seg_len = dot ? (size_t)(dot - path) : plen;
        size_t rest = dot ? seg_len + 1 : plen;
        uint32_t i = tok + 1, end = k->next;
        while (i < end) {
            int64_t v = name_value(t, i, path, seg_len, &w->s->key);
            int r;
            if (v >= 0 && (r = walk(w, t, (uint32_t)v, path + rest, plen - rest, emb_depth)))
                return r;
            if ((r = walk(w, t, i, path, plen, emb_depth)))
                return r;
            i = t->tok[i].next;
        }
        return 0;
    }
    case VG_J_STRING: {
        if (emb_depth >= VG_MAX_EMBEDDED_JSON_DEPTH)
            return 0;
        const vg_jtape *e = embedded_get(w->s, t, tok);
        if (!e)
            return 0;
        return walk(w, e, 0, path, plen, emb_depth + 1);
    }
    default:
        return 0;
    }
}

int vg__json_path_each(const vg_jtape *t, uint32_t root, const char *path, size_t path_len,
                       vg_jscratch *s, vg_jval_fn fn, void *ud)
{
    if (!t->n || root >= t->n || path_len == 0)
        return 0;
    walk_ctx w = {s, fn, ud};
    return walk(&w, t, root, path, path_len, 0);
}

int vg__json_scalars_each(const vg_jtape *t, uint32_t root, vg_jval_fn fn, void *ud)
{
    if (!t->n || root >= t->n)
        return 0;
    uint32_t end = t->tok[root].next;
    for (uint32_t i = root; i < end; i++) {
        const vg_jtok *k = &t->tok[i];
        if (k->key || k->type == VG_J_OBJECT || k->type == VG_J_ARRAY)
            continue;
        vg_jval v = {t, i};
        int r = fn(ud, &v);
        if (r)
            return r;
    }
    return 0;
}
