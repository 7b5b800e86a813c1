/* SPDX-License-Identifier: Apache-2.0 */
/*
 * indicators.c: network indicators with time windows (see correlate.h).
 *
 * Stage: correlate. Sets are loaded from vigie's YAML format (libyaml document API) or from
 * STIX 2.1 bundles (vigie's JSON reader; `[ipv4-addr:value = '...']` comparisons, also OR-ed,
 * are taken from each indicator's pattern). Addresses are normalized (port, brackets and
 * IPv4-mapped prefix removed, IPv6 in inet_ntop form) and kept in one sorted array, searched
 * by bisection: lookups cost O(log n) and no allocation. Windows are whole days in UTC:
 * [first_seen 00:00 - margin, last_seen 24:00 + margin).
 */
#define _POSIX_C_SOURCE 200809L
#include "correlate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "json/json.h"

typedef struct vg_embedded_ind {
    const char *name;
    const char *text;
    size_t len;
} vg_embedded_ind;
extern const vg_embedded_ind vg__builtin_indicators[];

typedef struct iset {
    char *id, *name, *level;
    char **tags;
    uint32_t n_tags;
} iset;

typedef struct ind {
    char addr[48];      /* normalized; "" for a user agent */
    char *ua;           /* a user agent (type user_agent), else NULL */
    double from, until; /* window, margin applied */
    char *role, *first, *last;
    uint32_t set;
} ind;

struct vg_indicators {
    double margin;
    iset *sets;
    uint32_t n_sets;
    ind *v;
    uint32_t n, cap;
    ind *uas; /* user agents: few, scanned in order */
    uint32_t n_uas, cap_uas;
    bool sorted;
};

int vg__indicators_new(vg_indicators **out, double margin_s)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return VIGIE_NOMEM;
    (*out)->margin = margin_s;
    return VIGIE_OK;
}

void vg__indicators_free(vg_indicators *x)
{
    if (!x)
        return;
    for (uint32_t i = 0; i < x->n; i++) {
        free(x->v[i].role);
        free(x->v[i].first);
        free(x->v[i].last);
    }
    for (uint32_t i = 0; i < x->n_uas; i++) {
        free(x->uas[i].ua);
        free(x->uas[i].role);
        free(x->uas[i].first);
        free(x->uas[i].last);
    }
    free(x->uas);
    for (uint32_t i = 0; i < x->n_sets; i++) {
        free(x->sets[i].id);
        free(x->sets[i].name);
        free(x->sets[i].level);
        for (uint32_t k = 0; k < x->sets[i].n_tags; k++)
            free(x->sets[i].tags[k]);
        free(x->sets[i].tags);
    }
    free(x->sets);
    free(x->v);
    free(x);
}

uint32_t vg__indicators_count(const vg_indicators *x)
{
    return x->n + x->n_uas;
}

/* Normalize an address into out (at least 48 bytes); false if it is not an IP address. */
static bool norm_ip(const char *s, size_t n, char *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *p = buf;
    if (*p == '[') { /* [v6]:port */
        char *e = strchr(p, ']');
        if (!e)
            return false;
        *e = 0;
        p++;
    } else {
        char *c = strchr(p, ':');
        if (c && !strchr(c + 1, ':'))
            *c = 0; /* v4:port */
    }
    if (!strncmp(p, "::ffff:", 7) && strchr(p + 7, '.'))
        p += 7;
    unsigned char a[16];
    if (inet_pton(AF_INET, p, a) == 1)
        return inet_ntop(AF_INET, a, out, 48) != NULL;
    if (inet_pton(AF_INET6, p, a) == 1)
        return inet_ntop(AF_INET6, a, out, 48) != NULL;
    return false;
}

static int add(vg_indicators *x, bool ua, const char *value, const char *first,
               const char *last, const char *role, uint32_t set)
{
    ind d;
    memset(&d, 0, sizeof d);
    if (ua ? !*value : !norm_ip(value, strlen(value), d.addr))
        return VIGIE_INVAL;
    double f = 0, l = 4e9;
    if (first && vg__parse_time(first, strlen(first), &f) != VIGIE_OK)
        return VIGIE_INVAL;
    if (last && vg__parse_time(last, strlen(last), &l) != VIGIE_OK)
        return VIGIE_INVAL;
    /* a date-only last_seen covers that whole day */
    if (last && strlen(last) == 10)
        l += 86400;
    d.from = first ? f - x->margin : -1e18;
    d.until = last ? l + x->margin : 1e18;
    d.role = role ? strdup(role) : NULL;
    d.first = first ? strdup(first) : NULL;
    d.last = last ? strdup(last) : NULL;
    d.set = set;
    if (ua) {
        if (VG_GROW(x->uas, x->cap_uas, (size_t)x->n_uas + 1, 8))
            goto nomem;
        if (!(d.ua = strdup(value)))
            goto nomem;
        x->uas[x->n_uas++] = d;
        return VIGIE_OK;
    }
    if (VG_GROW(x->v, x->cap, (size_t)x->n + 1, 64))
        goto nomem;
    x->v[x->n++] = d;
    x->sorted = false;
    return VIGIE_OK;
nomem:
    free(d.role);
    free(d.first);
    free(d.last);
    return VIGIE_NOMEM;
}

static int cmp_ind(const void *a, const void *b)
{
    return strcmp(((const ind *)a)->addr, ((const ind *)b)->addr);
}

static uint32_t new_set(vg_indicators *x, const char *id, const char *name, const char *level)
{
    iset *ns = realloc(x->sets, (x->n_sets + 1) * sizeof *ns);
    if (!ns)
        return UINT32_MAX;
    x->sets = ns;
    iset *s = &x->sets[x->n_sets];
    memset(s, 0, sizeof *s);
    s->id = strdup(id ? id : "indicators");
    s->name = strdup(name ? name : s->id);
    s->level = strdup(level ? level : "medium");
    return x->n_sets++;
}

/* ---- vigie's YAML format ---------------------------------------------------------------------- */

static char *scalar(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        yaml_node_t *v = yaml_document_get_node(d, p->value);
        if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
            !strcmp((const char *)k->data.scalar.value, key))
            return strndup((const char *)v->data.scalar.value, v->data.scalar.length);
    }
    return NULL;
}

static yaml_node_t *child(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static int load_yaml(vg_indicators *x, const char *name, const char *text, size_t len,
                     vigie_diag_fn diag, void *ud)
{
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p))
        return VIGIE_NOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = VIGIE_OK;
    if (!yaml_parser_load(&p, &d)) {
        vg__diag(diag, ud, VIGIE_DIAG_ERROR, VIGIE_YAML, name, p.problem_mark.line + 1,
                 p.problem_mark.column + 1, NULL, "indicators: %s",
                 p.problem ? p.problem : "YAML error");
        yaml_parser_delete(&p);
        return VIGIE_YAML;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    char *id = scalar(&d, root, "id"), *nm = scalar(&d, root, "name"),
         *lv = scalar(&d, root, "level");
    uint32_t set = new_set(x, id, nm, lv);
    free(id);
    free(nm);
    free(lv);
    yaml_node_t *tags = child(&d, root, "tags");
    if (set != UINT32_MAX && tags && tags->type == YAML_SEQUENCE_NODE) {
        iset *s = &x->sets[set];
        size_t nt = (size_t)(tags->data.sequence.items.top - tags->data.sequence.items.start);
        s->tags = calloc(nt + 1, sizeof *s->tags);
        for (yaml_node_item_t *it = tags->data.sequence.items.start;
             s->tags && it < tags->data.sequence.items.top; it++) {
            yaml_node_t *t = yaml_document_get_node(&d, *it);
            if (t && t->type == YAML_SCALAR_NODE)
                s->tags[s->n_tags++] = strdup((const char *)t->data.scalar.value);
        }
    }
    yaml_node_t *list = child(&d, root, "indicators");
    if (set == UINT32_MAX || !list || list->type != YAML_SEQUENCE_NODE) {
        vg__diag(diag, ud, VIGIE_DIAG_ERROR, VIGIE_YAML, name, 1, 1, NULL,
                 "indicators: expected a map with an 'indicators' list");
        rc = VIGIE_YAML;
    }
    for (yaml_node_item_t *it = list && !rc ? list->data.sequence.items.start : NULL;
         it && it < list->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(&d, *it);
        char *type = scalar(&d, e, "type"), *value = scalar(&d, e, "value");
        char *first = scalar(&d, e, "first_seen"), *last = scalar(&d, e, "last_seen");
        char *role = scalar(&d, e, "role");
        int arc = VIGIE_INVAL;
        if (type && value && (!strcmp(type, "ipv4") || !strcmp(type, "ipv6") || !strcmp(type, "ip")))
            arc = add(x, false, value, first, last, role, set);
        else if (type && value && (!strcmp(type, "user_agent") || !strcmp(type, "user-agent")))
            arc = add(x, true, value, first, last, role, set);
        if (arc)
            vg__diag(diag, ud, VIGIE_DIAG_WARNING, VIGIE_INVAL, name, e ? e->start_mark.line + 1 : 0,
                     e ? e->start_mark.column + 1 : 0, NULL,
                     "indicator skipped: needs type ipv4|ipv6|user_agent, a value and dates "
                     "(YYYY-MM-DD or ISO 8601)");
        free(type), free(value), free(first), free(last), free(role);
    }
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    return rc;
}

/* ---- STIX 2.1 bundles -------------------------------------------------------------------------- */

static char *tok_str(const vg_jtape *t, int64_t i)
{
    if (i < 0 || t->tok[i].type != VG_J_STRING)
        return NULL;
    vg_buf b;
    vg__buf_init(&b, 0);
    size_t l;
    const char *s = vg__json_str(t, (uint32_t)i, &b, &l);
    char *r = strndup(s, l);
    vg__buf_free(&b);
    return r;
}

/* The equality comparisons of a STIX pattern that name an address or a user agent:
 * `ipv4-addr:value`, `ipv6-addr:value`, `network-traffic:src_ref.value` / `dst_ref.value`
 * (with a single-host CIDR suffix allowed), and
 * `network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'`. Other
 * comparisons are ignored (they are not in these logs). Returns how many were added. */
static uint32_t stix_pattern(vg_indicators *x, const char *pat, const char *from,
                             const char *until, const char *iname, uint32_t set)
{
    uint32_t added = 0;
    for (const char *p = pat; p && (p = strchr(p, '='));) {
        /* the object path: the run of non-blank characters before '=' (spaces skipped) */
        const char *e = p;
        while (e > pat && e[-1] == ' ')
            e--;
        const char *b = e;
        while (b > pat && b[-1] != ' ' && b[-1] != '[' && b[-1] != '(')
            b--;
        /* the quoted value after it, with \' and \\ escapes */
        const char *q = p + 1;
        while (*q == ' ')
            q++;
        p++;
        if (*q != '\'')
            continue;
        char v[1024];
        size_t n = 0;
        for (q++; *q && *q != '\''; q++) {
            if (*q == '\\' && q[1])
                q++;
            if (n + 1 < sizeof v)
                v[n++] = *q;
        }
        if (!*q)
            break;
        v[n] = 0;
        p = q + 1;
        size_t pl = (size_t)(e - b);
        bool ip = false;
        static const char *const ip_paths[] = {"ipv4-addr:value", "ipv6-addr:value",
                                               "network-traffic:src_ref.value",
                                               "network-traffic:dst_ref.value"};
        for (size_t k = 0; k < sizeof ip_paths / sizeof *ip_paths; k++)
            ip |= pl == strlen(ip_paths[k]) && !memcmp(b, ip_paths[k], pl);
        bool ua = pl >= 12 && vg__ascii_ieq(e - 12, 12, "'User-Agent'", 12);
        if (ip) {
            char *slash = strchr(v, '/');
            if (slash && (!strcmp(slash, "/32") || !strcmp(slash, "/128")))
                *slash = 0;
        }
        if ((ip || ua) && add(x, ua, v, from, until, iname, set) == VIGIE_OK)
            added++;
    }
    return added;
}

static int load_stix(vg_indicators *x, const char *name, const char *text, size_t len,
                     vigie_diag_fn diag, void *ud)
{
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jerr err;
    int rc = vg__json_parse(&t, text, len, &err);
    int64_t objs = rc ? -1 : vg__json_obj_get(&t, 0, "objects", 7);
    if (rc || objs < 0 || t.tok[objs].type != VG_J_ARRAY) {
        vg__diag(diag, ud, VIGIE_DIAG_ERROR, VIGIE_JSON, name, 0, 0, NULL,
                 "STIX: expected a bundle with an 'objects' array%s%s", rc ? ": " : "",
                 rc ? err.msg : "");
        vg__jtape_free(&t);
        return VIGIE_JSON;
    }
    char *bid = tok_str(&t, vg__json_obj_get(&t, 0, "id", 2));
    uint32_t set = new_set(x, bid ? bid : name, name, "medium");
    free(bid);
    uint32_t added = 0;
    for (uint32_t i = (uint32_t)objs + 1; set != UINT32_MAX && i < t.tok[objs].next;
         i = t.tok[i].next) {
        char *type = tok_str(&t, vg__json_obj_get(&t, i, "type", 4));
        if (!type || strcmp(type, "indicator")) {
            free(type);
            continue;
        }
        char *pat = tok_str(&t, vg__json_obj_get(&t, i, "pattern", 7));
        char *from = tok_str(&t, vg__json_obj_get(&t, i, "valid_from", 10));
        char *until = tok_str(&t, vg__json_obj_get(&t, i, "valid_until", 11));
        char *iname = tok_str(&t, vg__json_obj_get(&t, i, "name", 4));
        added += stix_pattern(x, pat, from, until, iname, set);
        free(type), free(pat), free(from), free(until), free(iname);
    }
    if (!added)
        vg__diag(diag, ud, VIGIE_DIAG_WARNING, VIGIE_INVAL, name, 0, 0, NULL,
                 "STIX: no indicator with an address or user-agent comparison in its pattern");
    vg__jtape_free(&t);
    return VIGIE_OK;
}

int vg__indicators_load(vg_indicators *x, const char *path, vigie_diag_fn diag, void *diag_ud)
{
    char *text;
    size_t len;
    int rc = vg__read_file(path, 64u << 20, &text, &len);
    if (rc)
        return rc;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    rc = i < len && text[i] == '{' ? load_stix(x, path, text, len, diag, diag_ud)
                                   : load_yaml(x, path, text, len, diag, diag_ud);
    free(text);
    if (!rc && x->n)
        qsort(x->v, x->n, sizeof *x->v, cmp_ind);
    x->sorted = true;
    return rc;
}

int vg__indicators_load_builtin(vg_indicators *x, vigie_diag_fn diag, void *diag_ud)
{
    int rc = VIGIE_OK;
    for (const vg_embedded_ind *f = vg__builtin_indicators; f->name && !rc; f++)
        rc = load_yaml(x, f->name, f->text, f->len, diag, diag_ud);
    if (x->n)
        qsort(x->v, x->n, sizeof *x->v, cmp_ind);
    x->sorted = true;
    return rc;
}

static void fill_hit(const vg_indicators *x, const ind *d, const char *value,
                     vg_indicator_hit *hit)
{
    const iset *st = &x->sets[d->set];
    hit->set_id = st->id;
    hit->set_name = st->name;
    hit->level = st->level;
    hit->tags = (const char *const *)st->tags;
    hit->n_tags = st->n_tags;
    hit->role = d->role;
    hit->value = value;
    hit->first_seen = d->first;
    hit->last_seen = d->last;
}

bool vg__indicators_match_ip(const vg_indicators *x, const char *s, size_t n, double t,
                             vg_indicator_hit *hit)
{
    char a[48];
    if (!x || !x->n || !norm_ip(s, n, a))
        return false;
    uint32_t lo = 0, hi = x->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (strcmp(x->v[mid].addr, a) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i < x->n && !strcmp(x->v[i].addr, a); i++) {
        const ind *d = &x->v[i];
        if (t < d->from || t >= d->until)
            continue;
        fill_hit(x, d, d->addr, hit);
        return true;
    }
    return false;
}

bool vg__indicators_match_ua(const vg_indicators *x, const char *s, size_t n, double t,
                             vg_indicator_hit *hit)
{
    if (!x || !x->n_uas || !n)
        return false;
    for (uint32_t i = 0; i < x->n_uas; i++) {
        const ind *d = &x->uas[i];
        size_t l = strlen(d->ua);
        /* a long published string also matches inside a longer field (ClientInfoString) */
        bool m = l >= 16 ? vg__ascii_imemmem(s, n, d->ua, l) != NULL
                         : l == n && vg__ascii_ieq(s, n, d->ua, l);
        if (!m || t < d->from || t >= d->until)
            continue;
        fill_hit(x, d, d->ua, hit);
        return true;
    }
    return false;
}

bool vg__indicators_has_ua(const vg_indicators *x)
{
    return x && x->n_uas > 0;
}
