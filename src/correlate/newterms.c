/* SPDX-License-Identifier: Apache-2.0 */
/*
 * newterms.c: first-seen state (see correlate.h). Two open-addressing hash tables keyed by
 * strings: "rule \x1f group" -> the group's first time, and "rule \x1f group \x1f term" ->
 * the term's first time. Keys are owned copies; tables double at half load. A look-up
 * builds its keys in two scratch buffers of the state (no allocation per candidate once
 * they have grown; a key is copied only when it is inserted). The state file
 * is JSON lines, read back with vigie's JSON reader, saved through vg__safefile (a temporary
 * beside it, renamed over it: no planted name followed, never half a file).
 */
#define _POSIX_C_SOURCE 200809L
#include "correlate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

typedef struct entry {
    char *key;
    uint64_t hash;
    double t;
    bool loaded; /* came from a state file: its baseline is complete */
    bool novel;  /* a term first seen after its group's baseline (it alerted then) */
} entry;

typedef struct table {
    entry *e;
    uint64_t cap, n;
} table;

struct vg_newterms {
    table groups, terms;
    uint64_t dropped;
    vg_buf gk, tk; /* scratch: the group and term keys of the current look-up */
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static entry *find(table *t, const char *key, uint64_t h)
{
    if (!t->cap)
        return NULL;
    for (uint64_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        entry *e = &t->e[i];
        if (!e->key)
            return NULL;
        if (e->hash == h && !strcmp(e->key, key))
            return e;
    }
}

static entry *insert(table *t, const char *key, uint64_t h, double when)
{
    if ((t->n + 1) * 2 > t->cap) {
        uint64_t ncap = t->cap ? t->cap * 2 : 1024;
        entry *ne = calloc(ncap, sizeof *ne);
        if (!ne)
            return NULL;
        for (uint64_t i = 0; i < t->cap; i++)
            if (t->e[i].key) {
                uint64_t j = t->e[i].hash & (ncap - 1);
                while (ne[j].key)
                    j = (j + 1) & (ncap - 1);
                ne[j] = t->e[i];
            }
        free(t->e);
        t->e = ne;
        t->cap = ncap;
    }
    uint64_t j = h & (t->cap - 1);
    while (t->e[j].key)
        j = (j + 1) & (t->cap - 1);
    t->e[j].key = strdup(key);
    if (!t->e[j].key)
        return NULL;
    t->e[j].hash = h;
    t->e[j].t = when;
    t->n++;
    return &t->e[j];
}

int vg__newterms_new(vg_newterms **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? VIGIE_OK : VIGIE_NOMEM;
}

static void table_free(table *t)
{
    for (uint64_t i = 0; i < t->cap; i++)
        free(t->e[i].key);
    free(t->e);
}

void vg__newterms_free(vg_newterms *nt)
{
    if (!nt)
        return;
    table_free(&nt->groups);
    table_free(&nt->terms);
    vg__buf_free(&nt->gk);
    vg__buf_free(&nt->tk);
    free(nt);
}

uint64_t vg__newterms_dropped(const vg_newterms *nt)
{
    return nt->dropped;
}

uint64_t vg__newterms_count(const vg_newterms *nt)
{
    return nt->terms.n;
}

/* "a \x1f b" or "a \x1f b \x1f c" in the scratch buffer k; NULL when out of memory */
static const char *join(vg_buf *k, const char *a, const char *b, const char *c)
{
    vg__buf_reset(k);
    int rc = vg__buf_adds(k, a);
    if (!rc)
        rc = vg__buf_addc(k, '\x1f');
    if (!rc)
        rc = vg__buf_adds(k, b);
    if (!rc && c)
        rc = vg__buf_addc(k, '\x1f');
    if (!rc && c)
        rc = vg__buf_adds(k, c);
    return rc ? NULL : k->data;
}

static bool remember(vg_newterms *nt, const char *rule, const char *group, const char *term,
                     double t, bool loaded, bool *is_new, bool *in_baseline, double baseline_s,
                     entry **term_out)
{
    *term_out = NULL;
    const char *gk = join(&nt->gk, rule, group, NULL);
    const char *tk = term ? join(&nt->tk, rule, group, term) : NULL;
    bool ok = gk && (tk || !term);
    if (ok) {
        uint64_t gh = fnv(gk), th = tk ? fnv(tk) : 0;
        entry *g = find(&nt->groups, gk, gh);
        if (!g)
            g = nt->groups.n + nt->terms.n < VG_MAX_NEW_TERMS ? insert(&nt->groups, gk, gh, t)
                                                               : NULL;
        if (g && loaded)
            g->loaded = true;
        if (g && t < g->t && !g->loaded)
            g->t = t;
        *in_baseline = g && !g->loaded && t < g->t + baseline_s;
        entry *e = tk ? find(&nt->terms, tk, th) : NULL;
        if (!tk)
            return true; /* a group line of a state file */
        *is_new = e == NULL;
        if (!e) {
            if (nt->groups.n + nt->terms.n < VG_MAX_NEW_TERMS)
                e = insert(&nt->terms, tk, th, t);
            if (!e)
                nt->dropped++;
            else
                e->novel = !*in_baseline && !loaded;
        }
        *term_out = e;
    }
    return ok;
}

bool vg__newterms_check(vg_newterms *nt, const char *rule_key, const char *group,
                        const char *term, double t, double baseline_s)
{
    return vg__newterms_state(nt, rule_key, group, term, t, baseline_s) == VG_NT_NEW;
}

int vg__newterms_state(vg_newterms *nt, const char *rule_key, const char *group,
                       const char *term, double t, double baseline_s)
{
    bool is_new = false, in_baseline = true;
    entry *e;
    if (!remember(nt, rule_key, group, term, t, false, &is_new, &in_baseline, baseline_s, &e))
        return VG_NT_KNOWN;
    if (is_new)
        return in_baseline ? VG_NT_KNOWN : VG_NT_NEW;
    /* seen before: still novel for one baseline period after it first alerted */
    if (e && e->novel && t - e->t < (baseline_s > 0 ? baseline_s : 86400.0))
        return VG_NT_NOVEL;
    return VG_NT_KNOWN;
}

static void put_json(FILE *f, const char *s, size_t n)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__buf_add_json_str(&b, s, n);
    fputc('"', f);
    if (b.len)
        fwrite(b.data, 1, b.len, f);
    fputc('"', f);
    vg__buf_free(&b);
}

int vg__newterms_save(const vg_newterms *nt, const char *path)
{
    /* a temporary renamed over path: a crash keeps the old baseline. "-" is the file of that
     * name (the one load read), not standard output. */
    vg_safefile *sf;
    int rc = vg__safefile_open(strcmp(path, "-") ? path : "./-", &sf);
    if (rc)
        return rc;
    FILE *f = vg__safefile_stream(sf);
    const table *tabs[2] = {&nt->groups, &nt->terms};
    for (int k = 0; k < 2; k++)
        for (uint64_t i = 0; i < tabs[k]->cap; i++) {
            const entry *e = &tabs[k]->e[i];
            if (!e->key)
                continue;
            const char *s1 = strchr(e->key, '\x1f');
            const char *s2 = k ? strchr(s1 + 1, '\x1f') : NULL;
            char when[40];
            vg__format_time(e->t, when, sizeof when);
            fputs("{\"rule\":", f);
            put_json(f, e->key, (size_t)(s1 - e->key));
            fputs(",\"group\":", f);
            put_json(f, s1 + 1, s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1));
            if (k) {
                fputs(",\"term\":", f);
                put_json(f, s2 + 1, strlen(s2 + 1));
                fprintf(f, ",\"first_seen\":\"%s\"%s}\n", when, e->novel ? ",\"novel\":true" : "");
            } else {
                fprintf(f, ",\"group_first_seen\":\"%s\"}\n", when);
            }
        }
    return vg__safefile_commit(sf); /* errno says why, on failure */
}

int vg__newterms_load(vg_newterms *nt, const char *path, vigie_diag_fn diag, void *diag_ud)
{
    char *text;
    size_t len;
    int rc = vg__read_file(path, (size_t)1 << 32, &text, &len);
    if (rc)
        return rc;
    vg_jtape t;
    vg__jtape_init(&t);
    vg_buf a, b, c;
    vg__buf_init(&a, 0);
    vg__buf_init(&b, 0);
    vg__buf_init(&c, 0);
    uint64_t line = 0;
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (l && vg__json_parse(&t, p, l, NULL) == VIGIE_OK && t.tok[0].type == VG_J_OBJECT) {
            int64_t r = vg__json_obj_get(&t, 0, "rule", 4), g = vg__json_obj_get(&t, 0, "group", 5);
            int64_t tm = vg__json_obj_get(&t, 0, "term", 4);
            int64_t fs = vg__json_obj_get(&t, 0, tm >= 0 ? "first_seen" : "group_first_seen",
                                          tm >= 0 ? 10 : 16);
            size_t rl, gl, tl = 0, fl;
            const char *rs = r >= 0 ? vg__json_str(&t, (uint32_t)r, &a, &rl) : NULL;
            char *rk = rs ? strndup(rs, rl) : NULL;
            const char *gs = g >= 0 ? vg__json_str(&t, (uint32_t)g, &b, &gl) : NULL;
            char *gk = gs ? strndup(gs, gl) : NULL;
            const char *ts = tm >= 0 ? vg__json_str(&t, (uint32_t)tm, &c, &tl) : NULL;
            char *tk = ts ? strndup(ts, tl) : NULL;
            vg_buf fb;
            vg__buf_init(&fb, 0);
            const char *fsv = fs >= 0 ? vg__json_str(&t, (uint32_t)fs, &fb, &fl) : NULL;
            double when;
            bool is_new, inb;
            int64_t nv = vg__json_obj_get(&t, 0, "novel", 5);
            bool novel = nv >= 0 && t.tok[nv].type == VG_J_TRUE;
            entry *te;
            if (rk && gk && fsv && vg__parse_time(fsv, fl, &when) == VIGIE_OK) {
                remember(nt, rk, gk, tk, when, true, &is_new, &inb, 0, &te);
                if (te && novel)
                    te->novel = true;
            } else
                vg__diag(diag, diag_ud, VIGIE_DIAG_WARNING, VIGIE_JSON, path, line, 0, NULL,
                         "baseline line skipped: needs rule, group and a first_seen time");
            vg__buf_free(&fb);
            free(rk);
            free(gk);
            free(tk);
        } else if (l) {
            vg__diag(diag, diag_ud, VIGIE_DIAG_WARNING, VIGIE_JSON, path, line, 0, NULL,
                     "baseline line skipped: not a JSON object");
        }
        p += l + 1;
    }
    vg__buf_free(&a);
    vg__buf_free(&b);
    vg__buf_free(&c);
    vg__jtape_free(&t);
    free(text);
    return VIGIE_OK;
}
