/* SPDX-License-Identifier: Apache-2.0 */
/*
 * match.c: one event against the compiled rule set (see match.h for the flow).
 *
 * Per event: the routed rule list for the event's logsource comes from a small per-matcher
 * cache (built once per distinct logsource), with the prefilter database of the event's
 * product; one Vectorscan scan of the raw record stamps the candidate rules with the event's
 * epoch (no clearing between events); each candidate's
 * condition is evaluated. A field is read by trying its candidate paths for the event's
 * field-map id until one is present; its values (array elements flattened) are collected
 * once into a reused list and every value of the key is tested against them. Strings are
 * compared in place unless they carry JSON escapes. Glob matching is the greedy algorithm
 * with one backtrack point (O(n*m) worst case, no blow-up); '?' takes one UTF-8 character.
 *
 * Conditions are evaluated in three-valued (Kleene) logic: a regex evaluation that PCRE2 stops
 * at a limit (match, depth, JIT stack, heap) is UNKNOWN, not false; and/or/not, `1 of` and
 * `all of`, a key's values and |all, |neq propagate it (false and unknown = false, true or
 * unknown = true, not unknown = unknown). A TRUE rule is a match; an UNKNOWN one goes to the
 * undetermined callback with the fields and reason of its limit hits (docs/SIGMA.md). Every
 * other comparison is two-valued. The prefilter stays exact: a rule's literal set comes from
 * globs only (two-valued) through and / or / all-of / union, never through not, so a record
 * without any literal of the set makes the rule FALSE, not UNKNOWN.
 */
#define _POSIX_C_SOURCE 200809L
#include "match.h"

#include "compile/compile.h" /* the compiled layout */
#include "rule/rule.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_CACHE 32

typedef struct route {
    const char *product;
    const char *services[VG_EI_MAX_SERVICES];
    const char *categories[VG_EI_MAX_CATEGORIES];
    uint8_t n_services, n_categories;
    uint32_t *rules;
    uint32_t n;
    const cgroup *grp; /* prefilter database covering every routed rule, or NULL */
} route;

/* A three-valued result: FALSE, TRUE or UNKNOWN (a regex stopped by a PCRE2 limit). */
typedef enum tri { T_F = 0, T_T = 1, T_U = 2 } tri;

static tri t_and(tri a, tri b)
{
    return a == T_F || b == T_F ? T_F : a == T_U || b == T_U ? T_U : T_T;
}

static tri t_or(tri a, tri b)
{
    return a == T_T || b == T_T ? T_T : a == T_U || b == T_U ? T_U : T_F;
}

static tri t_not(tri a)
{
    return a == T_U ? T_U : a == T_T ? T_F : T_T;
}

typedef struct vlist {
    vg_jval *v;
    uint32_t n, cap;
    bool present;
    bool has_null;
} vlist;

struct vg_matcher {
    const vg_ruleset *rs;
    hs_scratch_t *scratch;
    pcre2_match_data *md;
    vg_jscratch *js;
    uint32_t *cand_epoch;
    uint32_t epoch;
    route routes[ROUTE_CACHE];
    uint32_t n_routes;
    uint32_t *all_rules;
    const cgroup *cur; /* group whose database is being scanned */
    vlist vals, refs;
    vg_buf s1, s2;
    const vg_jtape *t;
    const vg_eventinfo *ei;
    vg_match_stats st;
    vg_undet_fn on_undet; /* NULL: an UNKNOWN rule is no match (--regex-limit=ignore) */
    vg_undetermined u;    /* the limit hits of the rule being evaluated */
};

int vg__matcher_new(const vg_ruleset *rs, vg_matcher **out)
{
    *out = NULL;
    vg_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return VIGIE_NOMEM;
    m->rs = rs;
    m->cand_epoch = calloc(rs->n_rules + 1, sizeof *m->cand_epoch);
    m->all_rules = calloc(rs->n_rules + 1, sizeof *m->all_rules);
    m->md = pcre2_match_data_create(4, NULL);
    m->js = vg__jscratch_new();
    vg__buf_init(&m->s1, 0);
    vg__buf_init(&m->s2, 0);
    if (!m->cand_epoch || !m->all_rules || !m->md || !m->js)
        goto fail;
    for (uint32_t i = 0; i < rs->n_rules; i++)
        m->all_rules[i] = i;
    if (rs->proto_scratch && hs_clone_scratch(rs->proto_scratch, &m->scratch) != HS_SUCCESS)
        goto fail;
    *out = m;
    return VIGIE_OK;
fail:
    vg__matcher_free(m);
    return VIGIE_NOMEM;
}

void vg__matcher_free(vg_matcher *m)
{
    if (!m)
        return;
    if (m->scratch)
        hs_free_scratch(m->scratch);
    if (m->md)
        pcre2_match_data_free(m->md);
    vg__jscratch_free(m->js);
    for (uint32_t i = 0; i < m->n_routes; i++)
        free(m->routes[i].rules);
    free(m->cand_epoch);
    free(m->all_rules);
    free(m->vals.v);
    free(m->refs.v);
    vg__buf_free(&m->s1);
    vg__buf_free(&m->s2);
    free(m);
}

const vg_match_stats *vg__matcher_stats(const vg_matcher *m)
{
    return &m->st;
}

void vg__matcher_on_undetermined(vg_matcher *m, vg_undet_fn fn)
{
    m->on_undet = fn;
}

static const char *const reason_names[][2] = {
    {"regex_error", "regex error"},
    {"regex_match_limit", "regex match limit"},
    {"regex_depth_limit", "regex depth limit"},
    {"regex_heap_limit", "regex heap limit"},
};

const char *vg__undet_reason_name(int reason, bool text)
{
    if (reason < VG_UNDET_MATCH_LIMIT || reason > VG_UNDET_HEAP_LIMIT)
        reason = 0;
    return reason_names[reason][text];
}

/* ---- routing ----------------------------------------------------------------------------------- */

static const route *route_get(vg_matcher *m, const vg_eventinfo *ei)
{
    for (uint32_t i = 0; i < m->n_routes; i++) {
        route *r = &m->routes[i];
        if (r->product != ei->product || r->n_services != ei->n_services ||
            r->n_categories != ei->n_categories)
            continue;
        bool same = true;
        for (uint8_t k = 0; same && k < ei->n_services; k++)
            same = r->services[k] == ei->services[k];
        for (uint8_t k = 0; same && k < ei->n_categories; k++)
            same = r->categories[k] == ei->categories[k];
        if (same)
            return r;
    }
    route tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.product = ei->product;
    tmp.n_services = ei->n_services;
    tmp.n_categories = ei->n_categories;
    memcpy(tmp.services, ei->services, sizeof tmp.services);
    memcpy(tmp.categories, ei->categories, sizeof tmp.categories);
    tmp.rules = malloc((m->rs->n_rules + 1) * sizeof(uint32_t));
    if (!tmp.rules)
        return NULL;
    /* the product's database; group 0 (rules without a product) when no rule names it */
    const vg_ruleset *rs = m->rs;
    const char *ep = ei->product;
    tmp.grp = &rs->groups[0];
    for (uint32_t g = 1; ep && g < rs->n_groups; g++)
        if (vg__ascii_ieq(rs->groups[g].product, strlen(rs->groups[g].product), ep, strlen(ep)))
            tmp.grp = &rs->groups[g];
    for (uint32_t i = 0; i < rs->n_rules; i++) {
        const vg_rule *r = rs->rules[i].r;
        if (!vg__logsource_matches(ei, r->ls_product, r->ls_category, r->ls_service))
            continue;
        tmp.rules[tmp.n++] = i;
        /* a routed rule outside the group (routing by product changed?): no prefilter */
        const char *gp = tmp.grp->product, *rp = r->ls_product;
        if (rp && !(gp && vg__ascii_ieq(gp, strlen(gp), rp, strlen(rp))))
            tmp.grp = NULL;
    }
    uint32_t slot;
    if (m->n_routes < ROUTE_CACHE) {
        slot = m->n_routes++;
    } else { /* full: evict one, round robin */
        slot = m->epoch % ROUTE_CACHE;
        free(m->routes[slot].rules);
    }
    m->routes[slot] = tmp;
    return &m->routes[slot];
}

/* ---- values ------------------------------------------------------------------------------------- */

static int vl_push(vlist *l, const vg_jval *v)
{
    if (VG_GROW(l->v, l->cap, (size_t)l->n + 1, 32))
        return 1;
    l->v[l->n++] = *v;
    return 0;
}

static void flatten(vlist *l, const vg_jtape *t, uint32_t tok)
{
    const vg_jtok *k = &t->tok[tok];
    if (k->type == VG_J_ARRAY) {
        for (uint32_t i = tok + 1; i < k->next; i = t->tok[i].next)
            flatten(l, t, i);
        return;
    }
    if (k->type == VG_J_NULL)
        l->has_null = true;
    vg_jval v = {t, tok};
    vl_push(l, &v);
}

static int collect_cb(void *ud, const vg_jval *v)
{
    vlist *l = ud;
    l->present = true;
    flatten(l, v->tape, v->tok);
    return 0;
}

/* Values of a field on this event: the first candidate path that is present. */
static void collect(vg_matcher *m, const cfield *f, vlist *l)
{
    l->n = 0;
    l->present = false;
    l->has_null = false;
    uint16_t mid = m->ei->map_id < m->rs->n_maps ? m->ei->map_id : 0;
    const char *const *paths = f->paths[mid];
    uint32_t np = f->n_paths[mid];
    for (uint32_t i = 0; i < np && !l->present; i++)
        vg__json_path_each(m->t, 0, paths[i], strlen(paths[i]), m->js, collect_cb, l);
}

/* Text of a scalar value; NULL for null, objects and arrays. */
static const char *val_text(const vg_jval *v, vg_buf *tmp, size_t *len)
{
    const vg_jtok *k = &v->tape->tok[v->tok];
    switch (k->type) {
    case VG_J_STRING:
        return vg__json_str(v->tape, v->tok, tmp, len);
    case VG_J_NUMBER:
        *len = k->len;
        return v->tape->src + k->off;
    case VG_J_TRUE:
        *len = 4;
        return "true";
    case VG_J_FALSE:
        *len = 5;
        return "false";
    default:
        return NULL;
    }
}

static bool has_sub(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return true;
    for (size_t i = 0; i + nl <= hl; i++) {
        const char *p = memchr(h + i, n[0], hl - nl - i + 1);
        if (!p)
            return false;
        i = (size_t)(p - h);
        if (memcmp(p, n, nl) == 0)
            return true;
    }
    return false;
}

static inline bool bytes_eq(const char *a, const char *b, size_t n, bool ci)
{
    if (!ci)
        return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (vg__lower((unsigned char)a[i]) != vg__lower((unsigned char)b[i]))
            return false;
    return true;
}

static size_t utf8_step(const char *s, size_t pos, size_t len)
{
    unsigned char c = (unsigned char)s[pos];
    size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return pos + k <= len ? k : len - pos;
}

static bool glob(const vg_part *p, uint32_t n, const char *s, size_t len, bool ci)
{
    /* fast paths */
    if (n == 1 && p[0].kind == VG_PART_LIT)
        return p[0].len == len && bytes_eq(p[0].s, s, len, ci);
    if (n == 0)
        return len == 0;
    if (n == 1 && p[0].kind == VG_PART_STAR)
        return true;
    if (n == 2 && p[0].kind == VG_PART_LIT && p[1].kind == VG_PART_STAR)
        return p[0].len <= len && bytes_eq(p[0].s, s, p[0].len, ci);
    if (n == 2 && p[0].kind == VG_PART_STAR && p[1].kind == VG_PART_LIT)
        return p[1].len <= len && bytes_eq(p[1].s, s + len - p[1].len, p[1].len, ci);
    if (n == 3 && p[0].kind == VG_PART_STAR && p[2].kind == VG_PART_STAR &&
        p[1].kind == VG_PART_LIT) {
        if (ci)
            return vg__ascii_imemmem(s, len, p[1].s, p[1].len) != NULL;
        return has_sub(s, len, p[1].s, p[1].len);
    }
    uint32_t i = 0, star_i = UINT32_MAX;
    size_t pos = 0, star_pos = 0;
    for (;;) {
        if (i < n) {
            const vg_part *q = &p[i];
            if (q->kind == VG_PART_STAR) {
                star_i = i++;
                star_pos = pos;
                if (i == n)
                    return true;
                continue;
            }
            if (q->kind == VG_PART_LIT) {
                if (pos + q->len <= len && bytes_eq(s + pos, q->s, q->len, ci)) {
                    pos += q->len;
                    i++;
                    continue;
                }
            } else if (pos < len) { /* QMARK */
                pos += utf8_step(s, pos, len);
                i++;
                continue;
            }
        } else if (pos == len) {
            return true;
        }
        if (star_i == UINT32_MAX)
            return false;
        if (star_pos >= len)
            return false;
        star_pos += utf8_step(s, star_pos, len);
        pos = star_pos;
        i = star_i + 1;
    }
}

static bool text_num(const char *s, size_t len, double *d)
{
    return vg__json_number(s, len, d) == VIGIE_OK;
}

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian), and back. */
static void civil(int64_t days, int64_t *y, uint32_t *mo, uint32_t *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    uint32_t doe = (uint32_t)(z - era * 146097);
    uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint32_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *mo = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*mo <= 2);
}

static int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    uint32_t yoe = (uint32_t)(y - era * 400);
    uint32_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool time_part(const char *s, size_t len, uint8_t tp, double *out)
{
    double t;
    if (vg__parse_time(s, len, &t) != VIGIE_OK)
        return false;
    int64_t secs = (int64_t)t;
    if (t < 0 && (double)secs != t)
        secs--;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400, y;
    uint32_t mo, d;
    civil(days, &y, &mo, &d);
    switch (tp) {
    case VG_TP_MINUTE: *out = (double)(rem % 3600 / 60); return true;
    case VG_TP_HOUR: *out = (double)(rem / 3600); return true;
    case VG_TP_DAY: *out = d; return true;
    case VG_TP_MONTH: *out = mo; return true;
    case VG_TP_YEAR: *out = (double)y; return true;
    case VG_TP_WEEK: {
        /* ISO 8601: week 1 holds the year's first Thursday; weeks start on Monday */
        int64_t wd = ((days % 7) + 7 + 3) % 7; /* 0 = Monday; 1970-01-01 was a Thursday */
        int64_t thursday = days - wd + 3, ty;
        uint32_t tm, td;
        civil(thursday, &ty, &tm, &td);
        *out = (double)((thursday - days_from_civil(ty, 1, 1)) / 7 + 1);
        return true;
    }
    default:
        return false;
    }
}

static bool ip_in(const char *s, size_t len, const vg_value *v)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    unsigned char a[16];
    if (v->family == 4) {
        if (inet_pton(AF_INET, buf, a) != 1)
            return false;
    } else if (inet_pton(AF_INET6, buf, a) != 1) {
        return false;
    }
    uint32_t bits = v->prefix;
    for (uint32_t i = 0; i < bits / 8; i++)
        if (a[i] != v->addr[i])
            return false;
    if (bits % 8) {
        uint8_t mask = (uint8_t)(0xFF << (8 - bits % 8));
        if ((a[bits / 8] & mask) != (v->addr[bits / 8] & mask))
            return false;
    }
    return true;
}

/* A regex evaluation of field condition c stopped by PCRE2 (rc < -1): remember its field
 * (once) and the first reason, for the rule's undetermined result. */
static void note_limit(vg_matcher *m, const cfc *c, int rc)
{
    vg_undetermined *u = &m->u;
    m->st.regex_limit++;
    if (!u->reason)
        switch (rc) {
        case PCRE2_ERROR_MATCHLIMIT:
            u->reason = VG_UNDET_MATCH_LIMIT;
            break;
        case PCRE2_ERROR_DEPTHLIMIT:
        case PCRE2_ERROR_JIT_STACKLIMIT:
            u->reason = VG_UNDET_DEPTH_LIMIT;
            break;
        case PCRE2_ERROR_HEAPLIMIT:
        case PCRE2_ERROR_NOMEMORY:
            u->reason = VG_UNDET_HEAP_LIMIT;
            break;
        default:
            u->reason = VG_UNDET_ERROR;
        }
    const char *f = c->fc->field ? c->fc->field : "keywords";
    for (uint32_t i = 0; i < u->n_fields; i++)
        if (strcmp(u->fields[i], f) == 0)
            return;
    if (u->n_fields < VG_UNDET_MAX_FIELDS)
        u->fields[u->n_fields++] = f;
    else
        u->more_fields = true;
}

/* One regex against one text: UNKNOWN when PCRE2 stops (a limit or an error), not "no match". */
static tri re_test(vg_matcher *m, const cfc *c, const cvalue *cv, const char *s, size_t len)
{
    int r = pcre2_match(cv->re, (PCRE2_SPTR)s, len, 0, 0, m->md, m->rs->mctx);
    if (r < PCRE2_ERROR_PARTIAL) {
        note_limit(m, c, r);
        return T_U;
    }
    return r >= 0 ? T_T : T_F;
}

/* Does one event value satisfy one rule value? Two-valued except a regex stopped by a limit. */
static tri value_ok(vg_matcher *m, const cfc *c, const cvalue *cv, const vg_jval *ev)
{
    const vg_value *v = cv->v;
    const vg_jtok *k = &ev->tape->tok[ev->tok];
    size_t len;
    const char *s;
    switch (v->op) {
    case VG_OP_GLOB: {
        if (c->fc->timepart) {
            s = val_text(ev, &m->s1, &len);
            double part, want = v->num;
            if (!s || !time_part(s, len, c->fc->timepart, &part))
                return false;
            if (!v->is_num && !text_num(v->text, v->text_len, &want))
                return false;
            return part == want;
        }
        if (v->is_num && k->type == VG_J_NUMBER) {
            double d;
            if (text_num(ev->tape->src + k->off, k->len, &d))
                return d == v->num;
        }
        s = val_text(ev, &m->s1, &len);
        if (!s)
            return false;
        if (v->is_num && k->type == VG_J_STRING) {
            double d;
            if (text_num(s, len, &d) && d == v->num)
                return true;
        }
        return glob(v->parts, v->n_parts, s, len, !c->fc->cased);
    }
    case VG_OP_RE: {
        s = val_text(ev, &m->s1, &len);
        if (!s || !cv->re)
            return false;
        return re_test(m, c, cv, s, len);
    }
    case VG_OP_CIDR:
        s = val_text(ev, &m->s1, &len);
        return s && k->type == VG_J_STRING && ip_in(s, len, v);
    case VG_OP_NUM_CMP: {
        s = val_text(ev, &m->s1, &len);
        double d;
        if (!s || k->type == VG_J_TRUE || k->type == VG_J_FALSE || !text_num(s, len, &d))
            return false;
        switch (v->cmp) {
        case VG_CMP_GT: return d > v->num;
        case VG_CMP_GTE: return d >= v->num;
        case VG_CMP_LT: return d < v->num;
        default: return d <= v->num;
        }
    }
    case VG_OP_FIELDREF: {
        s = val_text(ev, &m->s1, &len);
        if (!s)
            return false;
        bool ci = !c->fc->cased;
        for (uint32_t i = 0; i < m->refs.n; i++) {
            size_t rl;
            const char *r = val_text(&m->refs.v[i], &m->s2, &rl);
            if (!r)
                continue;
            switch (v->fref_mode) {
            case VG_FREF_EQ:
                if (rl == len && bytes_eq(s, r, len, ci))
                    return true;
                break;
            case VG_FREF_STARTSWITH:
                if (rl <= len && bytes_eq(s, r, rl, ci))
                    return true;
                break;
            case VG_FREF_ENDSWITH:
                if (rl <= len && bytes_eq(s + len - rl, r, rl, ci))
                    return true;
                break;
            default:
                if (ci ? vg__ascii_imemmem(s, len, r, rl) != NULL
                       : has_sub(s, len, r, rl))
                    return true;
            }
        }
        return false;
    }
    default:
        return false;
    }
}

/* One rule value against the collected field values: TRUE if one value satisfies it, else
 * UNKNOWN if one could not be decided, else FALSE. */
static tri value_any(vg_matcher *m, const cfc *c, const cvalue *cv)
{
    const vg_value *v = cv->v;
    if (v->op == VG_OP_NULL)
        return !m->vals.present || m->vals.has_null;
    if (v->op == VG_OP_EXISTS)
        return m->vals.present == v->exists;
    if (!m->vals.present)
        return false;
    if (v->op == VG_OP_FIELDREF) {
        collect(m, cv->ref, &m->refs);
        if (!m->refs.present)
            return false;
    }
    tri r = T_F;
    for (uint32_t i = 0; i < m->vals.n && r != T_T; i++)
        r = t_or(r, value_ok(m, c, cv, &m->vals.v[i]));
    return r;
}

typedef struct kw_ctx {
    vg_matcher *m;
    const cfc *c;
    const cvalue *cv;
    tri r;
} kw_ctx;

static int kw_cb(void *ud, const vg_jval *v)
{
    kw_ctx *k = ud;
    size_t len;
    const char *s = val_text(v, &k->m->s1, &len);
    if (!s)
        return 0;
    const vg_value *val = k->cv->v;
    tri t = val->op == VG_OP_RE ? re_test(k->m, k->c, k->cv, s, len)
                                : (tri)glob(val->parts, val->n_parts, s, len, !k->c->fc->cased);
    k->r = t_or(k->r, t);
    return k->r == T_T;
}

/* A keyword (a glob, or a regex from a '|re' key) against every string and number value of
 * the event: TRUE if one matches, else UNKNOWN if a regex was stopped on one, else FALSE. */
static tri keyword_ok(vg_matcher *m, const cfc *c, const cvalue *cv)
{
    if (cv->v->op != VG_OP_GLOB && !(cv->v->op == VG_OP_RE && cv->re))
        return T_F;
    kw_ctx k = {m, c, cv, T_F};
    vg__json_scalars_each(m->t, 0, kw_cb, &k);
    return k.r;
}

/* A key: OR of its values (AND with |all), negated with |neq. */
static tri fc_eval(vg_matcher *m, const cfc *c)
{
    bool all = c->fc->all;
    tri r = all ? T_T : T_F;
    if (c->field)
        collect(m, c->field, &m->vals);
    for (uint32_t i = 0; i < c->n_vals; i++) {
        tri ok = c->field ? value_any(m, c, &c->vals[i]) : keyword_ok(m, c, &c->vals[i]);
        r = all ? t_and(r, ok) : t_or(r, ok);
        if (r == (all ? T_F : T_T))
            break;
    }
    if (c->field && c->n_vals == 0)
        r = T_F;
    return c->fc->neg ? t_not(r) : r;
}

/* A search: OR of its alternatives, each the AND of its keys. */
static tri search_eval(vg_matcher *m, const csearch *s)
{
    tri any = T_F;
    for (uint32_t a = 0; a < s->n && any != T_T; a++) {
        const cmap *cm = &s->alts[a];
        tri ok = T_T;
        for (uint32_t f = 0; ok != T_F && f < cm->n; f++)
            ok = t_and(ok, fc_eval(m, &cm->fcs[f]));
        any = t_or(any, ok);
    }
    return any;
}

/* The condition, short-circuit where the Kleene result is already fixed (false and x, true
 * or x): an UNKNOWN side never hides a decisive other side. */
static tri cond_eval(vg_matcher *m, const crule *r, const vg_cond *c)
{
    tri x;
    switch (c->kind) {
    case VG_C_SEARCH:
        return c->search < r->n_searches ? search_eval(m, &r->searches[c->search]) : T_F;
    case VG_C_AND:
        x = cond_eval(m, r, c->a);
        return x == T_F ? T_F : t_and(x, cond_eval(m, r, c->b));
    case VG_C_OR:
        x = cond_eval(m, r, c->a);
        return x == T_T ? T_T : t_or(x, cond_eval(m, r, c->b));
    case VG_C_NOT:
        return t_not(cond_eval(m, r, c->a));
    case VG_C_OF_ANY:
        x = T_F;
        for (uint32_t i = 0; i < c->n_searches && x != T_T; i++)
            x = t_or(x, search_eval(m, &r->searches[c->searches[i]]));
        return x;
    case VG_C_OF_ALL:
        x = T_T;
        for (uint32_t i = 0; i < c->n_searches && x != T_F; i++)
            x = t_and(x, search_eval(m, &r->searches[c->searches[i]]));
        return x;
    case VG_C_TRUE:
        return T_T;
    default:
        return T_F;
    }
}

/* ---- run ---------------------------------------------------------------------------------------- */

static int on_lit(unsigned int id, unsigned long long from, unsigned long long to,
                  unsigned int flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    vg_matcher *m = ctx;
    const cgroup *g = m->cur;
    for (uint32_t i = g->lit_rules_off[id]; i < g->lit_rules_off[id + 1]; i++)
        m->cand_epoch[g->lit_rules[i]] = m->epoch;
    return 0;
}

/* Might the record hold JSON inside a string (which vg__json_path_each descends into)? Such a
 * string's raw text starts, after spaces, with '{' or '[': look for '"' then spaces then one
 * of those. Conservative: an escaped quote inside a string can also answer yes. */
static bool may_embed(const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    while (p < end && (p = memchr(p, '"', (size_t)(end - p)))) {
        p++;
        while (p < end && *p == ' ')
            p++;
        if (p < end && (*p == '{' || *p == '['))
            return true;
    }
    return false;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* Can the raw text hide a literal that a decoded value holds? Only "\uXXXX" of a literal byte
 * (vg__compile_lit_byte) and "\/" can: the other escapes give bytes no literal holds. A run
 * of backslashes before 'u' or '/' is an escape at this level when its length is odd; when
 * even ("C:\\users"), the 'u' is plain here but turns into an escape once a string is read
 * as embedded JSON, so it counts only if the record may embed JSON. Such records skip the
 * prefilter: conservative and rare (Windows records with "\u003c" keep it: '<' is never in
 * a literal). */
static bool hides_literals(const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    int embed = -1;
    while (p < end && (p = memchr(p, '\\', (size_t)(end - p)))) {
        const char *q = p;
        while (q < end && *q == '\\')
            q++;
        bool hides = false;
        if (q < end && *q == '/') {
            hides = true;
        } else if (q < end && *q == 'u') {
            int cp = 0;
            for (int k = 1; k <= 4 && cp >= 0; k++)
                cp = q + k < end && hexval(q[k]) >= 0 ? cp * 16 + hexval(q[k]) : -1;
            hides = cp < 0 || (cp < 0x80 && vg__compile_lit_byte((unsigned char)cp));
        }
        if (hides) {
            if ((q - p) & 1)
                return true;
            if (embed < 0)
                embed = may_embed(s, len);
            if (embed)
                return true;
        }
        p = q;
    }
    return false;
}

int vg__matcher_run(vg_matcher *m, const vg_jtape *t, const vg_eventinfo *ei, vg_match_fn fn,
                    void *ud)
{
    const vg_ruleset *rs = m->rs;
    if (!t->n)
        return VIGIE_INVAL;
    m->st.events++;
    m->t = t;
    m->ei = ei;
    if (++m->epoch == 0) {
        memset(m->cand_epoch, 0, rs->n_rules * sizeof *m->cand_epoch);
        m->epoch = 1;
    }
    vg__jscratch_reset(m->js);
    const uint32_t *list = m->all_rules;
    uint32_t n = rs->n_rules;
    const cgroup *grp = &rs->groups[0];
    if (!rs->logsource_all) {
        const route *r = route_get(m, ei);
        if (!r)
            return VIGIE_NOMEM;
        list = r->rules;
        n = r->n;
        grp = r->grp;
    }
    if (n == 0)
        return VIGIE_OK;
    m->st.routed += n;
    bool use_pf = grp && grp->db && m->scratch;
    if (use_pf && hides_literals(t->src, t->src_len))
        use_pf = false;
    m->cur = grp;
    if (use_pf && hs_scan(grp->db, t->src, (unsigned)t->src_len, 0, m->scratch, on_lit, m) !=
                      HS_SUCCESS)
        return VIGIE_PREFILTER;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ri = list[i];
        const crule *r = &rs->rules[ri];
        if (use_pf && !r->always && m->cand_epoch[ri] != m->epoch)
            continue;
        m->st.candidates++;
        m->u.reason = 0;
        m->u.n_fields = 0;
        m->u.more_fields = false;
        tri res = cond_eval(m, r, r->cond);
        if (res == T_T) {
            m->st.matches++;
            if (fn && fn(ud, ri))
                break;
        } else if (res == T_U) {
            m->st.undetermined++;
            if (m->on_undet && m->on_undet(ud, ri, &m->u))
                break;
        }
    }
    return VIGIE_OK;
}
