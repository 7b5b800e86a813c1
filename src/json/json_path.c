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

#define MAX_EMBEDDED 64

typedef struct embedded {
    const vg_jtape *parent;
    uint32_t tok;
    int ok;          /* 1 parsed, 0 not JSON */
    vg_buf text;     /* unescaped string content */
    vg_jtape tape;
} embedded;

struct vg_jscratch {
    embedded *e[MAX_EMBEDDED];
    uint32_t n;      /* entries valid for this event */
    uint32_t next;   /* round-robin slot once full */
    vg_buf key;      /* unescaped keys */
};

vg_jscratch *vg__jscratch_new(void)
{
    vg_jscratch *s = calloc(1, sizeof *s);
    if (s)
        vg__buf_init(&s->key, 0);
    return s;
}

void vg__jscratch_free(vg_jscratch *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < MAX_EMBEDDED; i++) {
        if (s->e[i]) {
            vg__buf_free(&s->e[i]->text);
            vg__jtape_free(&s->e[i]->tape);
            free(s->e[i]);
        }
    }
    vg__buf_free(&s->key);
    free(s);
}

void vg__jscratch_reset(vg_jscratch *s)
{
    if (s) {
        s->n = 0;
        s->next = 0;
    }
}

/* The embedded parse of string token `tok` of tape `t`, or NULL when it is not JSON. */
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
    for (uint32_t j = 0; j < s->n; j++)
        if (s->e[j]->parent == t && s->e[j]->tok == tok)
            return s->e[j]->ok ? &s->e[j]->tape : NULL;
    uint32_t slot;
    if (s->n < MAX_EMBEDDED) {
        slot = s->n++;
    } else {
        slot = s->next++ % MAX_EMBEDDED;
    }
    if (!s->e[slot]) {
        s->e[slot] = calloc(1, sizeof(embedded));
        if (!s->e[slot])
            return NULL;
        vg__buf_init(&s->e[slot]->text, 0);
        vg__jtape_init(&s->e[slot]->tape);
    }
    embedded *e = s->e[slot];
    e->parent = t;
    e->tok = tok;
    e->ok = 0;
    vg__buf_reset(&e->text);
    if (k->esc) {
        if (vg__json_unescape(p, k->len, &e->text) != VIGIE_OK)
            return NULL;
    } else if (vg__buf_add(&e->text, p, k->len) != VIGIE_OK) {
        return NULL;
    }
    if (vg__json_parse(&e->tape, e->text.data, e->text.len, NULL) != VIGIE_OK)
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

static int walk_object(walk_ctx *w, const vg_jtape *t, uint32_t obj, const char *path,
                       size_t plen, int emb_depth)
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
    for (int ci = 0; ci < 3; ci++) {
        int64_t best = -1;
        size_t best_len = 0;
        uint32_t i = obj + 1, end = t->tok[obj].next;
        while (i < end) {
            uint32_t v = i + 1;
            size_t kl;
            const char *kb = key_bytes(w, t, i, &kl);
            if (ci == 2) {
                size_t ml = nospace_match(kb, kl, path, plen);
                if (ml > best_len) {
                    best = v;
                    best_len = ml;
                }
            } else if (kl <= plen && kl > best_len && (kl == plen || path[kl] == '.') &&
                       (ci ? vg__ascii_ieq(kb, kl, path, kl) : memcmp(kb, path, kl) == 0)) {
                best = v;
                best_len = kl;
                if (kl == plen)
                    break; /* the whole remaining path is one key: longest possible */
            }
            i = t->tok[v].next;
        }
        if (best >= 0) {
            size_t rest = best_len < plen ? best_len + 1 : plen;
            return walk(w, t, (uint32_t)best, path + rest, plen - rest, emb_depth);
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
