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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "util/limits.h"
#include "util/ser.h"

typedef struct entry {
    char *key;
    uint64_t hash;
    double t;    /* first seen */
    double last; /* last seen (event time): its time to live and LRU age run from it */
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
    uint64_t expired, evicted; /* forgotten: past their time to live; the oldest, when full */
    double ttl_s;              /* VG_NEW_TERMS_TTL_S unless set */
    uint64_t max;              /* groups + terms: VG_MAX_NEW_TERMS unless set */
    double watermark, swept;
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
    t->e[j].last = when;
    t->n++;
    return &t->e[j];
}

int vg__newterms_new(vg_newterms **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return VIGIE_NOMEM;
    (*out)->ttl_s = VG_NEW_TERMS_TTL_S;
    (*out)->max = VG_MAX_NEW_TERMS;
    (*out)->watermark = (*out)->swept = -INFINITY;
    return VIGIE_OK;
}

void vg__newterms_set_limits(vg_newterms *nt, double ttl_s, uint64_t max_entries)
{
    nt->ttl_s = ttl_s > 0 ? ttl_s : VG_NEW_TERMS_TTL_S;
    nt->max = max_entries ? max_entries : VG_MAX_NEW_TERMS;
}

/* Lays a table out again without the entries `gone` marks (their keys freed). */
static void compact(table *t, bool (*gone)(const entry *, const void *), const void *arg,
                    uint64_t *count)
{
    uint64_t kept = 0;
    for (uint64_t i = 0; i < t->cap; i++)
        if (t->e[i].key && gone(&t->e[i], arg)) {
            free(t->e[i].key);
            t->e[i].key = NULL;
            (*count)++;
        } else if (t->e[i].key) {
            kept++;
        }
    entry *ne = t->cap ? calloc(t->cap, sizeof *ne) : NULL;
    if (t->cap && !ne) { /* out of memory: close the holes in place by re-inserting */
        for (uint64_t i = 0; i < t->cap; i++)
            if (t->e[i].key) {
                entry e = t->e[i];
                t->e[i].key = NULL;
                uint64_t j = e.hash & (t->cap - 1);
                while (t->e[j].key)
                    j = (j + 1) & (t->cap - 1);
                t->e[j] = e;
            }
        t->n = kept;
        return;
    }
    for (uint64_t i = 0; i < t->cap; i++)
        if (t->e[i].key) {
            uint64_t j = t->e[i].hash & (t->cap - 1);
            while (ne[j].key)
                j = (j + 1) & (t->cap - 1);
            ne[j] = t->e[i];
        }
    free(t->e);
    t->e = ne;
    t->n = kept;
}

static bool older_than(const entry *e, const void *arg)
{
    return e->last < *(const double *)arg;
}

static bool not_after(const entry *e, const void *arg)
{
    return e->last <= *(const double *)arg;
}

void vg__newterms_advance(vg_newterms *nt, double watermark)
{
    if (watermark <= nt->watermark)
        return;
    nt->watermark = watermark;
    if (watermark < nt->swept + 3600 || watermark == INFINITY)
        return; /* at most one sweep an hour of event time; +infinity forgets nothing */
    nt->swept = watermark;
    double cut = watermark - nt->ttl_s;
    compact(&nt->terms, older_than, &cut, &nt->expired);
    uint64_t g = 0;
    compact(&nt->groups, older_than, &cut, &g);
    nt->expired += g;
}

static int last_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Full: forget the least recently seen eighth (terms and groups), counted in evicted. */
static void evict_lru(vg_newterms *nt)
{
    uint64_t n = nt->terms.n + nt->groups.n, k = 0;
    double *ages = malloc((n ? n : 1) * sizeof *ages);
    if (!ages)
        return;
    const table *tabs[2] = {&nt->terms, &nt->groups};
    for (int q = 0; q < 2; q++)
        for (uint64_t i = 0; i < tabs[q]->cap; i++)
            if (tabs[q]->e[i].key)
                ages[k++] = tabs[q]->e[i].last;
    qsort(ages, k, sizeof *ages, last_cmp);
    double cut = ages[k / 8 < k ? k / 8 : 0];
    /* strictly older than the eighth's age, or at least that one age when all are equal */
    uint64_t before = nt->evicted;
    compact(&nt->terms, older_than, &cut, &nt->evicted);
    compact(&nt->groups, older_than, &cut, &nt->evicted);
    if (nt->evicted == before) { /* that eighth all of one age: that age goes */
        compact(&nt->terms, not_after, &cut, &nt->evicted);
        compact(&nt->groups, not_after, &cut, &nt->evicted);
    }
    free(ages);
}

uint64_t vg__newterms_forgotten(const vg_newterms *nt, uint64_t *expired, uint64_t *evicted)
{
    if (expired)
        *expired = nt->expired;
    if (evicted)
        *evicted = nt->evicted;
    return nt->expired + nt->evicted;
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
    return nt->dropped + nt->evicted; /* what the bound cost: the summary's count */
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
        entry *e = tk ? find(&nt->terms, tk, th) : NULL;
        /* room for what is new: the least recently seen go first (entries move: find again) */
        if (((!g) + (tk && !e)) && nt->groups.n + nt->terms.n + 2 > nt->max) {
            evict_lru(nt);
            g = find(&nt->groups, gk, gh);
            e = tk ? find(&nt->terms, tk, th) : NULL;
        }
        if (!g)
            g = nt->groups.n + nt->terms.n < nt->max ? insert(&nt->groups, gk, gh, t) : NULL;
        if (g && loaded)
            g->loaded = true;
        if (g && t < g->t && !g->loaded)
            g->t = t;
        if (g && t > g->last)
            g->last = t;
        *in_baseline = g && !g->loaded && t < g->t + baseline_s;
        if (!tk)
            return true; /* a group line of a state file */
        *is_new = e == NULL;
        if (!e) {
            if (nt->groups.n + nt->terms.n < nt->max)
                e = insert(&nt->terms, tk, th, t);
            if (!e)
                nt->dropped++;
            else
                e->novel = !*in_baseline && !loaded;
        } else if (t > e->last) {
            e->last = t;
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
                fprintf(f, ",\"first_seen\":\"%s\"%s", when, e->novel ? ",\"novel\":true" : "");
            } else {
                fprintf(f, ",\"group_first_seen\":\"%s\"", when);
            }
            if (e->last > e->t) { /* optional: older readers ignore it, older files lack it */
                vg__format_time(e->last, when, sizeof when);
                fprintf(f, ",\"last_seen\":\"%s\"", when);
            }
            fputs("}\n", f);
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
            int64_t ls = vg__json_obj_get(&t, 0, "last_seen", 9);
            double last = NAN;
            size_t ll;
            vg_buf lb;
            vg__buf_init(&lb, 0);
            const char *lsv = ls >= 0 ? vg__json_str(&t, (uint32_t)ls, &lb, &ll) : NULL;
            if (lsv && vg__parse_time(lsv, ll, &last) != VIGIE_OK)
                last = NAN;
            vg__buf_free(&lb);
            if (rk && gk && fsv && vg__parse_time(fsv, fl, &when) == VIGIE_OK) {
                remember(nt, rk, gk, tk, when, true, &is_new, &inb, 0, &te);
                if (te && novel)
                    te->novel = true;
                if (!isnan(last)) {
                    entry *x = te;
                    if (!tk) { /* the group line */
                        const char *k = join(&nt->gk, rk, gk, NULL);
                        x = k ? find(&nt->groups, k, fnv(k)) : NULL;
                    }
                    if (x && last > x->last)
                        x->last = last;
                }
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

/* ---- a section of a state file (util/ser.h) --------------------------------------------------- */
#define NT_FORMAT 1u

int vg__newterms_save_section(const vg_newterms *nt, vg_buf *out)
{
    vg__ser_u32(out, NT_FORMAT);
    vg__ser_f64(out, nt->watermark);
    vg__ser_f64(out, nt->swept);
    vg__ser_u64(out, nt->dropped);
    vg__ser_u64(out, nt->expired);
    vg__ser_u64(out, nt->evicted);
    const table *tabs[2] = {&nt->groups, &nt->terms};
    for (int k = 0; k < 2; k++) {
        vg__ser_u64(out, tabs[k]->n);
        for (uint64_t i = 0; i < tabs[k]->cap; i++) {
            const entry *e = &tabs[k]->e[i];
            if (!e->key)
                continue;
            vg__ser_str(out, e->key);
            vg__ser_f64(out, e->t);
            vg__ser_f64(out, e->last);
            vg__ser_bool(out, e->loaded);
            vg__ser_bool(out, e->novel);
        }
    }
    return vg__buf_failed(out) ? VIGIE_NOMEM : VIGIE_OK;
}

static size_t seps(const char *k)
{
    size_t n = 0;
    for (; *k; k++)
        n += *k == '\x1f';
    return n;
}

int vg__newterms_load_section(vg_newterms *nt, vg_rd *in, vigie_diag_fn diag, void *diag_ud)
{
    const char *why = "first-seen: the saved section is truncated or malformed";
    if (nt->groups.n || nt->terms.n) {
        why = "first-seen: a state loads into a fresh object";
        goto bad;
    }
    if (vg__rd_u32(in) != NT_FORMAT) {
        why = "first-seen: not a first-seen section of a known format";
        goto bad;
    }
    double w = vg__rd_f64(in), swept = vg__rd_f64(in);
    uint64_t dropped = vg__rd_u64(in), expired = vg__rd_u64(in), evicted = vg__rd_u64(in);
    table *tabs[2] = {&nt->groups, &nt->terms};
    for (int k = 0; k < 2 && !in->err; k++) {
        uint64_t n = vg__rd_count(in, nt->max);
        for (uint64_t i = 0; i < n && !in->err; i++) {
            char *key = vg__rd_strdup(in);
            double t = vg__rd_f64(in), last = vg__rd_f64(in);
            bool loaded = vg__rd_bool(in), novel = vg__rd_bool(in);
            uint64_t h = key ? fnv(key) : 0;
            /* a group key is rule \x1f group, a term's has the term too (save splits on them) */
            bool ok = key && !in->err && seps(key) >= (size_t)(k + 1) && !isnan(t) &&
                      !isnan(last) && !find(tabs[k], key, h) &&
                      nt->groups.n + nt->terms.n < nt->max;
            entry *e = ok ? insert(tabs[k], key, h, t) : NULL;
            free(key);
            if (!e)
                goto bad;
            e->last = last;
            e->loaded = loaded;
            e->novel = novel;
        }
    }
    if (!vg__rd_done(in))
        goto bad;
    nt->watermark = w;
    nt->swept = swept;
    nt->dropped = dropped;
    nt->expired = expired;
    nt->evicted = evicted;
    return VIGIE_OK;
bad:
    vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_INVAL, NULL, 0, 0, NULL, "%s", why);
    return VIGIE_INVAL;
}
