/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stix.c: the STIX 2.1 export (stix.h). Three passes over the store, then one write:
 *
 *   1. campaigns, by id: each gives a `campaign`, a `relationship` "targets" per organization
 *      (`identity`), "uses" per ATT&CK technique (`attack-pattern`, from the campaign's
 *      "techniques" and its alerts' attack.tNNNN tags) and "indicates" from each of its
 *      indicators; its alerts are searched for its indicators' values, and every alert that
 *      holds one is a sighting of that indicator in the alert's tenant;
 *   2. indicator alerts (kind "indicator"): the published indicator they matched, sighted in
 *      their tenant;
 *   3. every tenant of the store: one `identity` (identity_class organization).
 *
 * Aggregates (tenants, indicators, sightings, techniques) live in small string-keyed tables
 * and carry a time span (first, last) that becomes created/modified, first_seen/last_seen,
 * valid_from. Objects are collected as (rank, id, text), sorted and written once; an id seen
 * twice (the same relationship from two lists) is written once. A sighting is counted once
 * per alert, however many campaigns hold the alert.
 *
 * Invariants: every *_ref written names an object of the bundle (identities are created for
 * every tenant a campaign, sighting or relationship mentions); modified >= created and
 * last_seen >= first_seen, since both come from one span.
 */
#define _POSIX_C_SOURCE 200809L
#include "report/stix.h"

#include <math.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

/* vigie's UUIDv5 namespace for STIX ids (a fixed random UUID). */
static const unsigned char stix_ns[16] = {0x5d, 0x0a, 0x6c, 0x43, 0x2b, 0x7e, 0x4f, 0x19,
                                          0x9a, 0x31, 0xc8, 0x52, 0x7d, 0x6e, 0x90, 0x14};

/* The vigie identity is the same object in every export: a fixed id and a fixed time. */
#define VIGIE_IDENTITY_TIME "2023-01-01T00:00:00.000Z"

/* ATT&CK names of the techniques vigie's rules tag (others are named by their id). */
static const struct {
    const char *id, *name;
} attack_names[] = {
    {"T1078", "Valid Accounts"},
    {"T1078.004", "Valid Accounts: Cloud Accounts"},
    {"T1090", "Proxy"},
    {"T1090.002", "Proxy: External Proxy"},
    {"T1090.003", "Proxy: Multi-hop Proxy"},
    {"T1114", "Email Collection"},
    {"T1114.002", "Email Collection: Remote Email Collection"},
    {"T1528", "Steal Application Access Token"},
    {"T1550", "Use Alternate Authentication Material"},
    {"T1550.001", "Use Alternate Authentication Material: Application Access Token"},
    {"T1606", "Forge Web Credentials"},
    {"T1606.002", "Forge Web Credentials: SAML Tokens"},
};

/* ---- small containers ------------------------------------------------------------------ */

/* A time span; empty until the first add. */
typedef struct span {
    double first, last;
    bool set;
} span;

static void span_add(span *s, double t)
{
    if (!s->set) {
        s->first = s->last = t;
        s->set = true;
        return;
    }
    if (t < s->first)
        s->first = t;
    if (t > s->last)
        s->last = t;
}

static void span_merge(span *s, const span *o)
{
    if (o->set) {
        span_add(s, o->first);
        span_add(s, o->last);
    }
}

static void span_add_str(span *s, const char *p, size_t n)
{
    double t;
    if (p && n && vg__parse_time(p, n, &t) == VIGIE_OK && isfinite(t))
        span_add(s, t);
}

/* String -> index table: a vg_hmap whose keys are copies the smap owns. */
typedef struct smap {
    vg_hmap m;
} smap;

static void smap_free(smap *m)
{
    uint32_t it = 0;
    vg_hmap_slot *e;
    while ((e = vg__hmap_next(&m->m, &it)))
        free((void *)e->key.p);
    vg__hmap_free(&m->m);
}

static bool smap_get(const smap *m, const char *k, size_t n, uint32_t *val)
{
    vg_hmap_slot *e = vg__hmap_find(&m->m, k, n);
    if (!e)
        return false;
    *val = e->val.idx;
    return true;
}

static int smap_put(smap *m, const char *k, size_t n, uint32_t val)
{
    vg_hmap_slot *e = vg__hmap_find(&m->m, k, n);
    if (!e) {
        char *own = malloc(n + 1);
        if (!own)
            return VIGIE_NOMEM;
        memcpy(own, k, n);
        own[n] = 0;
        bool added;
        int rc = vg__hmap_put(&m->m, own, n, &e, &added);
        if (rc) {
            free(own);
            return rc;
        }
    }
    e->val.idx = val;
    return VIGIE_OK;
}

/* Make room in array `arr` (count n, capacity cap) for one more element; sets rc on failure. */
#define GROW(arr, n, cap, rc)                                                                      \
    do {                                                                                           \
        if (VG_GROW(arr, cap, (size_t)(n) + 1, 16))                                                \
            (rc) = VIGIE_NOMEM;                                                                    \
    } while (0)

/* ---- the model -------------------------------------------------------------------------- */

typedef struct tenant_e {
    char *name;
    span sp;
} tenant_e;

typedef struct ind_e {
    const char *type; /* STIX observable type: ipv4-addr, ipv6-addr, user-agent, app-id, key-id */
    char *value;
    char *desc;    /* NULL or a description (role and set of a published indicator) */
    char *key;     /* "type|value" (the id's name) */
    span sp;
} ind_e;

typedef struct sight_e {
    uint32_t ind, tenant;
    span sp;
    uint64_t count;
} sight_e;

typedef struct ap_e {
    char tid[16]; /* T1114.002 */
    span sp;
} ap_e;

typedef struct obj {
    int rank;
    char id[80];
    char *json;
} obj;

typedef struct ctx {
    vg_store *st;
    sqlite3 *db;
    vg_stix_stats stats;
    tenant_e *tenants;
    uint32_t n_tenants, cap_tenants;
    smap tenant_map;
    ind_e *inds;
    uint32_t n_inds, cap_inds;
    smap ind_map;
    sight_e *sights;
    uint32_t n_sights, cap_sights;
    smap sight_map;
    smap seen;                 /* "alert id|indicator key": sightings already counted */
    ap_e *aps;
    uint32_t n_aps, cap_aps;
    smap ap_map;
    obj *objs;
    uint32_t n_objs, cap_objs;
    vg_jtape ct, at;           /* campaign tape, alert tape */
    vg_buf tmp, key, o;        /* scratch: unescape, keys, the object being written */
    char vigie_id[80];
    char err[256];
} ctx;

enum { RANK_SELF, RANK_IDENTITY, RANK_ATTACK, RANK_CAMPAIGN, RANK_INDICATOR, RANK_SIGHTING, RANK_REL };

/* ---- ids, literals, timestamps ------------------------------------------------------------ */

void vg__stix_id(const char *type, const char *name, size_t name_len, char *out, size_t cap)
{
    unsigned char d[SHA_DIGEST_LENGTH];
    size_t tl = strlen(type);
    unsigned char *m = malloc(16 + tl + 1 + name_len);
    if (m) {
        memcpy(m, stix_ns, 16);
        memcpy(m + 16, type, tl);
        m[16 + tl] = '|';
        memcpy(m + 17 + tl, name, name_len);
        SHA1(m, 17 + tl + name_len, d);
        free(m);
    } else {
        memset(d, 0, sizeof d);
    }
    d[6] = (unsigned char)((d[6] & 0x0f) | 0x50); /* version 5 */
    d[8] = (unsigned char)((d[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, cap,
             "%s--%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", type,
             d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12],
             d[13], d[14], d[15]);
}

int vg__stix_pattern_str(vg_buf *b, const char *s, size_t n)
{
    int rc = vg__buf_addc(b, '\'');
    for (size_t i = 0; i < n && rc == VIGIE_OK; i++) {
        if (s[i] == '\'' || s[i] == '\\')
            rc = vg__buf_addc(b, '\\');
        if (rc == VIGIE_OK)
            rc = vg__buf_addc(b, s[i]);
    }
    return rc == VIGIE_OK ? vg__buf_addc(b, '\'') : rc;
}

static void ts(double t, char out[40])
{
    vg__format_time(t, out, 40);
}

static int jstr(vg_buf *b, const char *s, size_t n)
{
    int rc = vg__buf_addc(b, '"');
    if (rc == VIGIE_OK)
        rc = vg__buf_add_json_str(b, s, n);
    return rc == VIGIE_OK ? vg__buf_addc(b, '"') : rc;
}

static int jstrz(vg_buf *b, const char *s)
{
    return jstr(b, s, strlen(s));
}

/* Start an object in x->o: type, spec_version, id, created, modified, created_by_ref. */
static int obj_begin(ctx *x, const char *type, const char *id, const span *sp)
{
    char c[40], m[40];
    ts(sp->set ? sp->first : 0, c);
    ts(sp->set ? sp->last : 0, m);
    vg__buf_reset(&x->o);
    int rc = vg__buf_printf(&x->o,
                            "{\"type\":\"%s\",\"spec_version\":\"2.1\",\"id\":\"%s\","
                            "\"created\":\"%s\",\"modified\":\"%s\"",
                            type, id, c, m);
    /* Everything but vigie's own identity is created by vigie. */
    if (rc == VIGIE_OK && strcmp(id, x->vigie_id) != 0)
        rc = vg__buf_printf(&x->o, ",\"created_by_ref\":\"%s\"", x->vigie_id);
    return rc;
}

/* Close x->o and keep it as an object of the bundle. */
static int obj_end(ctx *x, int rank, const char *id)
{
    int rc = vg__buf_addc(&x->o, '}');
    if (rc == VIGIE_OK)
        GROW(x->objs, x->n_objs, x->cap_objs, rc);
    if (rc != VIGIE_OK)
        return rc;
    obj *ob = &x->objs[x->n_objs];
    ob->rank = rank;
    snprintf(ob->id, sizeof ob->id, "%s", id);
    ob->json = malloc(x->o.len + 1);
    if (!ob->json)
        return VIGIE_NOMEM;
    memcpy(ob->json, x->o.data, x->o.len + 1);
    x->n_objs++;
    return VIGIE_OK;
}

/* ---- model updates ------------------------------------------------------------------------ */

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static int tenant_ref(ctx *x, const char *name, size_t n, uint32_t *out)
{
    if (smap_get(&x->tenant_map, name, n, out))
        return VIGIE_OK;
    int rc = VIGIE_OK;
    GROW(x->tenants, x->n_tenants, x->cap_tenants, rc);
    if (rc)
        return rc;
    tenant_e *t = &x->tenants[x->n_tenants];
    memset(t, 0, sizeof *t);
    if (!(t->name = dupn(name, n)))
        return VIGIE_NOMEM;
    *out = x->n_tenants++;
    return smap_put(&x->tenant_map, name, n, *out);
}

/* Map a vigie indicator type to the STIX observable it describes; NULL when none. "net" (a /24
 * or /48 that links a campaign) becomes ipv4-net / ipv6-net (patterns with ISSUBSET), "asn" an
 * autonomous-system when its value is a number (optionally "AS"-prefixed). */
static const char *ind_type(const char *type, size_t n, const char *value, size_t vn)
{
    static const char *const known[] = {"ipv4-addr", "ipv6-addr", "user-agent", "app-id",
                                        "key-id"};
    bool v6 = memchr(value, ':', vn) != NULL;
    if (n == 2 && !memcmp(type, "ip", 2))
        return v6 ? "ipv6-addr" : "ipv4-addr";
    if (n == 3 && !memcmp(type, "net", 3))
        return v6 ? "ipv6-net" : "ipv4-net";
    if (n == 3 && !memcmp(type, "asn", 3)) {
        size_t i = vn >= 2 && (value[0] | 0x20) == 'a' && (value[1] | 0x20) == 's' ? 2 : 0;
        if (i == vn || vn - i > 10)
            return NULL;
        for (; i < vn; i++)
            if (value[i] < '0' || value[i] > '9')
                return NULL;
        return "autonomous-system";
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(known); i++)
        if (strlen(known[i]) == n && !memcmp(known[i], type, n))
            return known[i];
    return NULL;
}

/* Find or add the indicator (type, value); *out = its index, or UINT32_MAX when skipped. */
static int ind_ref(ctx *x, const char *type, size_t tn, const char *value, size_t vn,
                   uint32_t *out)
{
    *out = UINT32_MAX;
    const char *st = ind_type(type, tn, value, vn);
    if (!st || vn == 0) {
        x->stats.skipped++;
        return VIGIE_OK;
    }
    vg__buf_reset(&x->key);
    int rc = vg__buf_printf(&x->key, "%s|", st);
    if (rc || (rc = vg__buf_add(&x->key, value, vn)))
        return rc;
    if (smap_get(&x->ind_map, x->key.data, x->key.len, out))
        return VIGIE_OK;
    GROW(x->inds, x->n_inds, x->cap_inds, rc);
    if (rc)
        return rc;
    ind_e *e = &x->inds[x->n_inds];
    memset(e, 0, sizeof *e);
    e->type = st;
    if (!(e->value = dupn(value, vn)) || !(e->key = dupn(x->key.data, x->key.len)))
        return VIGIE_NOMEM;
    *out = x->n_inds++;
    return smap_put(&x->ind_map, x->key.data, x->key.len, *out);
}

/* Count one sighting of indicator `ind` in `tenant` by alert `alert_id` over `sp`. */
static int sight(ctx *x, uint32_t ind, uint32_t tenant, const char *alert_id, const span *sp)
{
    uint32_t v;
    vg__buf_reset(&x->key);
    int rc = vg__buf_printf(&x->key, "%s|%s", alert_id, x->inds[ind].key);
    if (rc)
        return rc;
    if (smap_get(&x->seen, x->key.data, x->key.len, &v))
        return VIGIE_OK;
    if ((rc = smap_put(&x->seen, x->key.data, x->key.len, 1)))
        return rc;
    vg__buf_reset(&x->key);
    if ((rc = vg__buf_printf(&x->key, "%s|%s", x->inds[ind].key, x->tenants[tenant].name)))
        return rc;
    if (!smap_get(&x->sight_map, x->key.data, x->key.len, &v)) {
        GROW(x->sights, x->n_sights, x->cap_sights, rc);
        if (rc)
            return rc;
        v = x->n_sights++;
        memset(&x->sights[v], 0, sizeof x->sights[v]);
        x->sights[v].ind = ind;
        x->sights[v].tenant = tenant;
        if ((rc = smap_put(&x->sight_map, x->key.data, x->key.len, v)))
            return rc;
    }
    x->sights[v].count++;
    span_merge(&x->sights[v].sp, sp);
    span_merge(&x->inds[ind].sp, sp);
    span_merge(&x->tenants[tenant].sp, sp);
    return VIGIE_OK;
}

/* "T1114.002", "t1114.002" or "attack.t1114.002" -> "T1114.002" in out[16]; false if not one. */
static bool technique(const char *s, size_t n, char out[16])
{
    if (n > 7 && !memcmp(s, "attack.", 7))
        s += 7, n -= 7;
    if (n != 5 && n != 9)
        return false;
    if (s[0] != 'T' && s[0] != 't')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(i == 5 ? s[i] == '.' : (s[i] >= '0' && s[i] <= '9')))
            return false;
    out[0] = 'T';
    memcpy(out + 1, s + 1, n - 1);
    out[n] = 0;
    return true;
}

static int ap_ref(ctx *x, const char *tid, uint32_t *out)
{
    size_t n = strlen(tid);
    if (smap_get(&x->ap_map, tid, n, out))
        return VIGIE_OK;
    int rc = VIGIE_OK;
    GROW(x->aps, x->n_aps, x->cap_aps, rc);
    if (rc)
        return rc;
    memset(&x->aps[x->n_aps], 0, sizeof x->aps[0]);
    snprintf(x->aps[x->n_aps].tid, sizeof x->aps[0].tid, "%s", tid);
    *out = x->n_aps++;
    return smap_put(&x->ap_map, tid, n, *out);
}

/* Is the JSON-escaped `needle` in `hay` as a whole value (not part of a longer word or
 * address)? */
static bool holds(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (!nn || nn > hn)
        return false;
    for (const char *p = hay, *end = hay + hn; (size_t)(end - p) >= nn;) {
        const char *q = p;
        while ((size_t)(end - q) >= nn && (q[0] != needle[0] || memcmp(q, needle, nn) != 0))
            q++;
        if ((size_t)(end - q) < nn)
            return false;
        unsigned char b = q > hay ? (unsigned char)q[-1] : ' ';
        unsigned char a = q + nn < end ? (unsigned char)q[nn] : ' ';
#define WORD(c) (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || \
                 ((c) >= 'A' && (c) <= 'Z') || (c) == '.' || (c) == '_' || (c) == '-')
        if (!WORD(b) && !WORD(a))
            return true;
#undef WORD
        p = q + 1;
    }
    return false;
}

/* ---- tape helpers ------------------------------------------------------------------------- */

static int64_t get(const vg_jtape *t, int64_t obj_tok, const char *key)
{
    if (obj_tok < 0 || t->tok[obj_tok].type != VG_J_OBJECT)
        return -1;
    return vg__json_obj_get(t, (uint32_t)obj_tok, key, strlen(key));
}

/* String token -> malloc'd copy ("" for anything else). */
static char *str_dup(const vg_jtape *t, int64_t tok, vg_buf *tmp)
{
    if (tok < 0 || t->tok[tok].type != VG_J_STRING)
        return dupn("", 0);
    size_t n;
    const char *p = vg__json_str(t, (uint32_t)tok, tmp, &n);
    return dupn(p, n);
}

static double num(const vg_jtape *t, int64_t tok)
{
    double d;
    if (tok < 0 || t->tok[tok].type != VG_J_NUMBER ||
        vg__json_number(vg__json_raw(t, (uint32_t)tok), t->tok[tok].len, &d) != VIGIE_OK)
        return -1;
    return d;
}

static void span_tok(span *sp, const vg_jtape *t, int64_t tok, vg_buf *tmp)
{
    if (tok < 0 || t->tok[tok].type != VG_J_STRING)
        return;
    size_t n;
    const char *p = vg__json_str(t, (uint32_t)tok, tmp, &n);
    span_add_str(sp, p, n);
}

static int sqlfail(ctx *x, const char *what)
{
    snprintf(x->err, sizeof x->err, "%s: %s", what, sqlite3_errmsg(x->db));
    return sqlite3_errcode(x->db) == SQLITE_NOMEM ? VIGIE_NOMEM : VIGIE_IO;
}

/* The span of an alert row: columns first_time, last_time, time (ic = index of first_time). */
static void row_span(sqlite3_stmt *s, int ic, span *sp)
{
    for (int c = ic; c < ic + 3; c++) {
        const char *v = (const char *)sqlite3_column_text(s, c);
        if (v)
            span_add_str(sp, v, (size_t)sqlite3_column_bytes(s, c));
    }
}

/* ---- pass 1: campaigns -------------------------------------------------------------------- */

typedef struct camp_lists {
    uint32_t *ind, *org, *ap;
    uint32_t n_ind, n_org, n_ap, cap_ind, cap_org, cap_ap;
} camp_lists;

static int push(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t v)
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*arr)[i] == v)
            return VIGIE_OK;
    int rc = VIGIE_OK;
    GROW(*arr, *n, *cap, rc);
    if (rc == VIGIE_OK)
        (*arr)[(*n)++] = v;
    return rc;
}

/* The alerts of campaign `cid`: their ATT&CK tags, their span, and sightings of the
 * campaign's indicators. */
static int campaign_alerts(ctx *x, const char *cid, camp_lists *l, span *asp)
{
    static const char sql[] =
        "SELECT a.id, a.tenant, a.first_time, a.last_time, a.time, a.json FROM campaign_alerts c"
        " JOIN alerts a ON a.id = c.alert_id WHERE c.campaign_id = ?1 ORDER BY a.rowid";
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sqlfail(x, "reading campaign alerts");
    sqlite3_bind_text(s, 1, cid, -1, SQLITE_TRANSIENT);
    /* The JSON-escaped form of each indicator value, as it appears in a stored line. */
    vg_buf *needles = calloc(l->n_ind ? l->n_ind : 1, sizeof *needles);
    int rc = needles ? VIGIE_OK : VIGIE_NOMEM;
    for (uint32_t i = 0; rc == VIGIE_OK && i < l->n_ind; i++) {
        vg__buf_init(&needles[i], 0);
        const char *v = x->inds[l->ind[i]].value;
        rc = vg__buf_add_json_str(&needles[i], v, strlen(v));
    }
    int r = SQLITE_DONE;
    while (rc == VIGIE_OK && (r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *aid = (const char *)sqlite3_column_text(s, 0);
        const char *ten = (const char *)sqlite3_column_text(s, 1);
        const char *js = (const char *)sqlite3_column_text(s, 5);
        size_t jn = (size_t)sqlite3_column_bytes(s, 5);
        span sp = {0};
        row_span(s, 2, &sp);
        span_merge(asp, &sp);
        if (js && vg__json_parse(&x->at, js, jn, NULL) == VIGIE_OK) {
            int64_t tags = get(&x->at, get(&x->at, 0, "rule"), "tags");
            if (tags >= 0 && x->at.tok[tags].type == VG_J_ARRAY)
                for (uint32_t i = (uint32_t)tags + 1; rc == VIGIE_OK && i < x->at.tok[tags].next;
                     i = x->at.tok[i].next) {
                    char tid[16];
                    size_t n;
                    uint32_t ap;
                    if (x->at.tok[i].type != VG_J_STRING)
                        continue;
                    const char *tag = vg__json_str(&x->at, i, &x->tmp, &n);
                    if (technique(tag, n, tid) && (rc = ap_ref(x, tid, &ap)) == VIGIE_OK)
                        rc = push(&l->ap, &l->n_ap, &l->cap_ap, ap);
                }
        }
        if (!aid || !ten || !*ten || !js)
            continue;
        uint32_t tenant;
        if ((rc = tenant_ref(x, ten, strlen(ten), &tenant)) != VIGIE_OK)
            break;
        for (uint32_t i = 0; rc == VIGIE_OK && i < l->n_ind; i++)
            if (holds(js, jn, needles[i].data, needles[i].len))
                rc = sight(x, l->ind[i], tenant, aid, &sp);
    }
    if (rc == VIGIE_OK && r != SQLITE_DONE)
        rc = sqlfail(x, "reading campaign alerts");
    for (uint32_t i = 0; needles && i < l->n_ind; i++)
        vg__buf_free(&needles[i]);
    free(needles);
    sqlite3_finalize(s);
    return rc;
}

static int relationship(ctx *x, const char *type, const char *src, const char *tgt,
                        const span *sp)
{
    char id[80];
    vg__buf_reset(&x->key);
    int rc = vg__buf_printf(&x->key, "%s|%s|%s", type, src, tgt);
    if (rc)
        return rc;
    vg__stix_id("relationship", x->key.data, x->key.len, id, sizeof id);
    if ((rc = obj_begin(x, "relationship", id, sp)) ||
        (rc = vg__buf_printf(&x->o,
                             ",\"relationship_type\":\"%s\",\"source_ref\":\"%s\","
                             "\"target_ref\":\"%s\"",
                             type, src, tgt)))
        return rc;
    return obj_end(x, RANK_REL, id);
}

/* Append ",\"name\":[strings of array tok]" when tok is a non-empty array. */
static int copy_str_array(ctx *x, const char *name, int64_t arr)
{
    const vg_jtape *t = &x->ct;
    if (arr < 0 || t->tok[arr].type != VG_J_ARRAY || t->tok[arr].len == 0)
        return VIGIE_OK;
    int rc = vg__buf_printf(&x->o, ",\"%s\":[", name);
    bool first = true;
    for (uint32_t i = (uint32_t)arr + 1; rc == VIGIE_OK && i < t->tok[arr].next;
         i = t->tok[i].next) {
        if (t->tok[i].type != VG_J_STRING)
            continue;
        size_t n;
        const char *p = vg__json_str(t, i, &x->tmp, &n);
        if (!first)
            rc = vg__buf_addc(&x->o, ',');
        if (rc == VIGIE_OK)
            rc = jstr(&x->o, p, n);
        first = false;
    }
    return rc == VIGIE_OK ? vg__buf_addc(&x->o, ']') : rc;
}

static int one_campaign(ctx *x, const char *json, size_t len)
{
    camp_lists l = {0};
    char *cid = NULL;
    int rc = VIGIE_OK;
    if (vg__json_parse(&x->ct, json, len, NULL) != VIGIE_OK || x->ct.tok[0].type != VG_J_OBJECT) {
        x->stats.skipped++;
        return VIGIE_OK;
    }
    const vg_jtape *t = &x->ct;
    if (!(cid = str_dup(t, get(t, 0, "id"), &x->tmp)))
        return VIGIE_NOMEM;
    span sp = {0};
    span_tok(&sp, t, get(t, 0, "first_seen"), &x->tmp);
    span_tok(&sp, t, get(t, 0, "last_seen"), &x->tmp);
    int64_t orgs = get(t, 0, "organizations"), inds = get(t, 0, "indicators");
    int64_t techs = get(t, 0, "techniques");
    if (orgs >= 0 && t->tok[orgs].type == VG_J_ARRAY)
        for (uint32_t i = (uint32_t)orgs + 1; rc == VIGIE_OK && i < t->tok[orgs].next;
             i = t->tok[i].next) {
            uint32_t ten;
            size_t n;
            if (t->tok[i].type != VG_J_STRING || t->tok[i].len == 0)
                continue;
            const char *p = vg__json_str(t, i, &x->tmp, &n);
            if ((rc = tenant_ref(x, p, n, &ten)) == VIGIE_OK)
                rc = push(&l.org, &l.n_org, &l.cap_org, ten);
        }
    if (inds >= 0 && t->tok[inds].type == VG_J_ARRAY)
        for (uint32_t i = (uint32_t)inds + 1; rc == VIGIE_OK && i < t->tok[inds].next;
             i = t->tok[i].next) {
            char *ty = str_dup(t, get(t, i, "type"), &x->tmp);
            char *va = ty ? str_dup(t, get(t, i, "value"), &x->tmp) : NULL;
            uint32_t ind;
            if (!ty || !va)
                rc = VIGIE_NOMEM;
            else if ((rc = ind_ref(x, ty, strlen(ty), va, strlen(va), &ind)) == VIGIE_OK &&
                     ind != UINT32_MAX)
                rc = push(&l.ind, &l.n_ind, &l.cap_ind, ind);
            free(ty);
            free(va);
        }
    if (techs >= 0 && t->tok[techs].type == VG_J_ARRAY)
        for (uint32_t i = (uint32_t)techs + 1; rc == VIGIE_OK && i < t->tok[techs].next;
             i = t->tok[i].next) {
            char tid[16];
            size_t n;
            uint32_t ap;
            if (t->tok[i].type != VG_J_STRING)
                continue;
            const char *p = vg__json_str(t, i, &x->tmp, &n);
            if (technique(p, n, tid) && (rc = ap_ref(x, tid, &ap)) == VIGIE_OK)
                rc = push(&l.ap, &l.n_ap, &l.cap_ap, ap);
        }
    span asp = {0};
    if (rc == VIGIE_OK)
        rc = campaign_alerts(x, cid, &l, &asp);
    if (!sp.set)
        sp = asp; /* no usable first_seen/last_seen: the span of its alerts */
    if (!sp.set)
        span_add(&sp, 0);
    for (uint32_t i = 0; i < l.n_org; i++)
        span_merge(&x->tenants[l.org[i]].sp, &sp);
    for (uint32_t i = 0; i < l.n_ind; i++)
        span_merge(&x->inds[l.ind[i]].sp, &sp);
    for (uint32_t i = 0; i < l.n_ap; i++)
        span_merge(&x->aps[l.ap[i]].sp, &sp);

    /* The campaign object (x->ct is intact: alerts were parsed on x->at). */
    char id[80], fs[40], ls[40];
    vg__stix_id("campaign", cid, strlen(cid), id, sizeof id);
    ts(sp.first, fs);
    ts(sp.last, ls);
    int64_t mr = get(t, 0, "messages_read"), users = get(t, 0, "users");
    int64_t alerts = get(t, 0, "alerts");
    double msgs = num(t, get(t, mr, "internet_message_ids"));
    double ops = num(t, get(t, mr, "operation_count"));
    uint32_t n_users = users >= 0 && t->tok[users].type == VG_J_ARRAY ? t->tok[users].len : 0;
    if (rc == VIGIE_OK && (rc = obj_begin(x, "campaign", id, &sp)) == VIGIE_OK &&
        (rc = vg__buf_adds(&x->o, ",\"name\":")) == VIGIE_OK &&
        (rc = jstrz(&x->o, cid)) == VIGIE_OK) {
        vg__buf_reset(&x->key);
        rc = vg__buf_printf(&x->key,
                            "Mail access by one actor across %u organization%s and %u "
                            "mailbox%s, correlated by vigie",
                            l.n_org, l.n_org == 1 ? "" : "s", n_users, n_users == 1 ? "" : "es");
        if (rc == VIGIE_OK && msgs >= 0)
            rc = vg__buf_printf(&x->key, "; %.0f messages read (distinct InternetMessageId)",
                                msgs);
        if (rc == VIGIE_OK && ops >= 0)
            rc = vg__buf_printf(&x->key, ", %.0f operations", ops);
        if (rc == VIGIE_OK)
            rc = vg__buf_adds(&x->key, ".");
        if (rc == VIGIE_OK && (rc = vg__buf_adds(&x->o, ",\"description\":")) == VIGIE_OK)
            rc = jstr(&x->o, x->key.data, x->key.len);
        if (rc == VIGIE_OK)
            rc = vg__buf_printf(&x->o, ",\"first_seen\":\"%s\",\"last_seen\":\"%s\"", fs, ls);
        if (rc == VIGIE_OK)
            rc = copy_str_array(x, "x_vigie_signals", get(t, 0, "signals"));
        if (rc == VIGIE_OK && (msgs >= 0 || ops >= 0))
            rc = vg__buf_printf(&x->o,
                                ",\"x_vigie_messages_read\":{\"internet_message_ids\":%.0f,"
                                "\"operation_count\":%.0f}",
                                msgs >= 0 ? msgs : 0, ops >= 0 ? ops : 0);
        if (rc == VIGIE_OK && alerts >= 0 && t->tok[alerts].type == VG_J_ARRAY)
            rc = vg__buf_printf(&x->o, ",\"x_vigie_alerts\":%u", t->tok[alerts].len);
        if (rc == VIGIE_OK)
            rc = obj_end(x, RANK_CAMPAIGN, id);
        if (rc == VIGIE_OK)
            x->stats.campaigns++;
    }
    /* Its relationships. */
    char ref[80];
    for (uint32_t i = 0; rc == VIGIE_OK && i < l.n_org; i++) {
        const char *n = x->tenants[l.org[i]].name;
        vg__stix_id("identity", n, strlen(n), ref, sizeof ref);
        rc = relationship(x, "targets", id, ref, &sp);
    }
    for (uint32_t i = 0; rc == VIGIE_OK && i < l.n_ap; i++) {
        const char *n = x->aps[l.ap[i]].tid;
        vg__stix_id("attack-pattern", n, strlen(n), ref, sizeof ref);
        rc = relationship(x, "uses", id, ref, &sp);
    }
    for (uint32_t i = 0; rc == VIGIE_OK && i < l.n_ind; i++) {
        const char *k = x->inds[l.ind[i]].key;
        vg__stix_id("indicator", k, strlen(k), ref, sizeof ref);
        rc = relationship(x, "indicates", ref, id, &sp);
    }
    free(l.ind);
    free(l.org);
    free(l.ap);
    free(cid);
    return rc;
}

static int pass_campaigns(ctx *x)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, "SELECT json FROM campaigns ORDER BY id", -1, &s, NULL) !=
        SQLITE_OK)
        return sqlfail(x, "reading campaigns");
    int r, rc = VIGIE_OK;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *j = (const char *)sqlite3_column_text(s, 0);
        if (j && (rc = one_campaign(x, j, (size_t)sqlite3_column_bytes(s, 0))) != VIGIE_OK)
            break;
    }
    if (rc == VIGIE_OK && r != SQLITE_DONE)
        rc = sqlfail(x, "reading campaigns");
    sqlite3_finalize(s);
    return rc;
}

/* ---- pass 2: indicator alerts --------------------------------------------------------------- */

static int pass_indicator_alerts(ctx *x)
{
    static const char sql[] = "SELECT id, tenant, first_time, last_time, time, json FROM alerts"
                              " WHERE kind = 'indicator' ORDER BY rowid";
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sqlfail(x, "reading indicator alerts");
    int r, rc = VIGIE_OK;
    while (rc == VIGIE_OK && (r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *aid = (const char *)sqlite3_column_text(s, 0);
        const char *ten = (const char *)sqlite3_column_text(s, 1);
        const char *js = (const char *)sqlite3_column_text(s, 5);
        size_t jn = (size_t)sqlite3_column_bytes(s, 5);
        const vg_jtape *t = &x->at;
        if (!aid || !js || vg__json_parse(&x->at, js, jn, NULL) != VIGIE_OK) {
            x->stats.skipped++;
            continue;
        }
        int64_t ind = get(t, 0, "indicator");
        char *ty = str_dup(t, get(t, ind, "type"), &x->tmp);
        char *va = ty ? str_dup(t, get(t, ind, "value"), &x->tmp) : NULL;
        uint32_t ix = UINT32_MAX;
        if (!ty || !va)
            rc = VIGIE_NOMEM;
        else
            rc = ind_ref(x, ty, strlen(ty), va, strlen(va), &ix);
        free(ty);
        free(va);
        if (rc != VIGIE_OK || ix == UINT32_MAX)
            continue;
        ind_e *e = &x->inds[ix];
        /* The published window of the indicator is part of its validity. */
        span_tok(&e->sp, t, get(t, ind, "first_seen"), &x->tmp);
        span_tok(&e->sp, t, get(t, ind, "last_seen"), &x->tmp);
        if (!e->desc) {
            char *role = str_dup(t, get(t, ind, "role"), &x->tmp);
            char *set = role ? str_dup(t, get(t, ind, "set"), &x->tmp) : NULL;
            if (role && set && (*role || *set)) {
                size_t n = strlen(role) + strlen(set) + 40;
                if ((e->desc = malloc(n)))
                    snprintf(e->desc, n, "%s%s%s%s%s", role, *role && *set ? " " : "",
                             *set ? "(indicator set " : "", set, *set ? ")" : "");
            }
            free(role);
            free(set);
        }
        if (!ten || !*ten)
            continue;
        span sp = {0};
        row_span(s, 2, &sp);
        uint32_t tenant;
        if ((rc = tenant_ref(x, ten, strlen(ten), &tenant)) == VIGIE_OK)
            rc = sight(x, ix, tenant, aid, &sp);
    }
    if (rc == VIGIE_OK && r != SQLITE_DONE)
        rc = sqlfail(x, "reading indicator alerts");
    sqlite3_finalize(s);
    return rc;
}

/* ---- pass 3: tenants ------------------------------------------------------------------------ */

static int pass_tenants(ctx *x)
{
    static const char sql[] =
        "SELECT tenant, min(coalesce(first_time, time)), max(coalesce(last_time, time)),"
        " min(time), max(time) FROM alerts WHERE tenant IS NOT NULL AND tenant <> ''"
        " GROUP BY tenant ORDER BY tenant";
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(x->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sqlfail(x, "reading tenants");
    int r, rc = VIGIE_OK;
    while (rc == VIGIE_OK && (r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *ten = (const char *)sqlite3_column_text(s, 0);
        uint32_t ix;
        if ((rc = tenant_ref(x, ten, (size_t)sqlite3_column_bytes(s, 0), &ix)) != VIGIE_OK)
            break;
        for (int c = 1; c <= 4; c++) {
            const char *v = (const char *)sqlite3_column_text(s, c);
            if (v)
                span_add_str(&x->tenants[ix].sp, v, (size_t)sqlite3_column_bytes(s, c));
        }
    }
    if (rc == VIGIE_OK && r != SQLITE_DONE)
        rc = sqlfail(x, "reading tenants");
    sqlite3_finalize(s);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------------- */

static int emit_identities(ctx *x)
{
    span fixed = {0};
    vg__parse_time(VIGIE_IDENTITY_TIME, strlen(VIGIE_IDENTITY_TIME), &fixed.first);
    fixed.last = fixed.first;
    fixed.set = true;
    int rc = obj_begin(x, "identity", x->vigie_id, &fixed);
    if (rc || (rc = vg__buf_adds(&x->o, ",\"name\":\"vigie\",\"identity_class\":\"system\","
                                        "\"description\":\"vigie, a detection engine for "
                                        "security logs\"")) ||
        (rc = obj_end(x, RANK_SELF, x->vigie_id)))
        return rc;
    x->stats.identities++;
    for (uint32_t i = 0; i < x->n_tenants; i++) {
        tenant_e *t = &x->tenants[i];
        char id[80];
        vg__stix_id("identity", t->name, strlen(t->name), id, sizeof id);
        if (!t->sp.set)
            span_add(&t->sp, 0);
        if ((rc = obj_begin(x, "identity", id, &t->sp)) ||
            (rc = vg__buf_adds(&x->o, ",\"name\":")))
            return rc;
        vg__buf_reset(&x->key);
        if ((rc = vg__buf_printf(&x->key, "Microsoft 365 tenant %s", t->name)) ||
            (rc = jstr(&x->o, x->key.data, x->key.len)) ||
            (rc = vg__buf_adds(&x->o, ",\"identity_class\":\"organization\",\"x_vigie_tenant\":")) ||
            (rc = jstrz(&x->o, t->name)) || (rc = obj_end(x, RANK_IDENTITY, id)))
            return rc;
        x->stats.identities++;
    }
    return VIGIE_OK;
}

static int pattern(const ind_e *e, vg_buf *p)
{
    size_t vn = strlen(e->value);
    const char *path, *op = "=";
    bool hex40 = vn == 40;
    for (size_t i = 0; hex40 && i < vn; i++)
        hex40 = (e->value[i] >= '0' && e->value[i] <= '9') ||
                ((e->value[i] | 0x20) >= 'a' && (e->value[i] | 0x20) <= 'f');
    if (!strcmp(e->type, "autonomous-system")) {
        const char *d = e->value + strspn(e->value, "ASas");
        vg__buf_reset(p);
        return vg__buf_printf(p, "[autonomous-system:number = %lld]", strtoll(d, NULL, 10));
    }
    if (!strcmp(e->type, "ipv4-net") || !strcmp(e->type, "ipv6-net")) {
        path = e->type[3] == '4' ? "ipv4-addr:value" : "ipv6-addr:value";
        op = "ISSUBSET";
    } else if (!strcmp(e->type, "ipv4-addr"))
        path = "ipv4-addr:value";
    else if (!strcmp(e->type, "ipv6-addr"))
        path = "ipv6-addr:value";
    else if (!strcmp(e->type, "user-agent"))
        path = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'";
    else if (!strcmp(e->type, "app-id"))
        path = "software:x_vigie_app_id";
    else /* key-id: a certificate thumbprint (x5t, SHA-1 hex) or another key id */
        path = hex40 ? "x509-certificate:hashes.'SHA-1'" : "x509-certificate:x_vigie_key_id";
    vg__buf_reset(p);
    int rc = vg__buf_printf(p, "[%s %s ", path, op);
    if (rc == VIGIE_OK)
        rc = vg__stix_pattern_str(p, e->value, vn);
    return rc == VIGIE_OK ? vg__buf_addc(p, ']') : rc;
}

static int emit_indicators(ctx *x)
{
    static const struct {
        const char *type, *label;
    } labels[] = {{"ipv4-addr", "IPv4 address"}, {"ipv6-addr", "IPv6 address"},
                  {"user-agent", "User agent"},  {"app-id", "Application (client) id"},
                  {"key-id", "Signing key"},     {"ipv4-net", "IPv4 network"},
                  {"ipv6-net", "IPv6 network"},  {"autonomous-system", "Autonomous system"}};
    vg_buf p;
    vg__buf_init(&p, 0);
    int rc = VIGIE_OK;
    for (uint32_t i = 0; rc == VIGIE_OK && i < x->n_inds; i++) {
        ind_e *e = &x->inds[i];
        char id[80], vf[40];
        vg__stix_id("indicator", e->key, strlen(e->key), id, sizeof id);
        if (!e->sp.set)
            span_add(&e->sp, 0);
        ts(e->sp.first, vf);
        const char *label = e->type;
        for (size_t k = 0; k < VG_ARRAY_LEN(labels); k++)
            if (!strcmp(labels[k].type, e->type))
                label = labels[k].label;
        vg__buf_reset(&x->key);
        if ((rc = pattern(e, &p)) || (rc = obj_begin(x, "indicator", id, &e->sp)) ||
            (rc = vg__buf_printf(&x->key, "%s %s", label, e->value)) ||
            (rc = vg__buf_adds(&x->o, ",\"name\":")) ||
            (rc = jstr(&x->o, x->key.data, x->key.len)))
            break;
        if (e->desc && ((rc = vg__buf_adds(&x->o, ",\"description\":")) ||
                        (rc = jstrz(&x->o, e->desc))))
            break;
        if ((rc = vg__buf_adds(&x->o, ",\"pattern\":")) || (rc = jstr(&x->o, p.data, p.len)) ||
            (rc = vg__buf_printf(&x->o, ",\"pattern_type\":\"stix\",\"valid_from\":\"%s\"", vf)) ||
            (rc = obj_end(x, RANK_INDICATOR, id)))
            break;
        x->stats.indicators++;
    }
    vg__buf_free(&p);
    return rc;
}

static int emit_sightings(ctx *x)
{
    for (uint32_t i = 0; i < x->n_sights; i++) {
        sight_e *s = &x->sights[i];
        const ind_e *e = &x->inds[s->ind];
        const char *tn = x->tenants[s->tenant].name;
        char id[80], ind[80], where[80], fs[40], ls[40];
        vg__buf_reset(&x->key);
        int rc = vg__buf_printf(&x->key, "%s|%s", e->key, tn);
        if (rc)
            return rc;
        vg__stix_id("sighting", x->key.data, x->key.len, id, sizeof id);
        vg__stix_id("indicator", e->key, strlen(e->key), ind, sizeof ind);
        vg__stix_id("identity", tn, strlen(tn), where, sizeof where);
        if (!s->sp.set)
            span_add(&s->sp, 0);
        ts(s->sp.first, fs);
        ts(s->sp.last, ls);
        uint64_t count = s->count > 999999999u ? 999999999u : s->count;
        if ((rc = obj_begin(x, "sighting", id, &s->sp)) ||
            (rc = vg__buf_printf(&x->o,
                                 ",\"sighting_of_ref\":\"%s\",\"where_sighted_refs\":[\"%s\"],"
                                 "\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"count\":%llu",
                                 ind, where, fs, ls, (unsigned long long)count)) ||
            (rc = obj_end(x, RANK_SIGHTING, id)))
            return rc;
        x->stats.sightings++;
    }
    return VIGIE_OK;
}

static int emit_attack_patterns(ctx *x)
{
    for (uint32_t i = 0; i < x->n_aps; i++) {
        ap_e *a = &x->aps[i];
        char id[80], url[64];
        const char *name = a->tid;
        for (size_t k = 0; k < VG_ARRAY_LEN(attack_names); k++)
            if (!strcmp(attack_names[k].id, a->tid))
                name = attack_names[k].name;
        /* https://attack.mitre.org/techniques/T1114/002/ */
        snprintf(url, sizeof url, "https://attack.mitre.org/techniques/%.5s/%s%s", a->tid,
                 a->tid[5] ? a->tid + 6 : "", a->tid[5] ? "/" : "");
        vg__stix_id("attack-pattern", a->tid, strlen(a->tid), id, sizeof id);
        if (!a->sp.set)
            span_add(&a->sp, 0);
        int rc;
        if ((rc = obj_begin(x, "attack-pattern", id, &a->sp)) ||
            (rc = vg__buf_adds(&x->o, ",\"name\":")) || (rc = jstrz(&x->o, name)) ||
            (rc = vg__buf_printf(&x->o,
                                 ",\"external_references\":[{\"source_name\":\"mitre-attack\","
                                 "\"external_id\":\"%s\",\"url\":\"%s\"}]",
                                 a->tid, url)) ||
            (rc = obj_end(x, RANK_ATTACK, id)))
            return rc;
        x->stats.attack_patterns++;
    }
    return VIGIE_OK;
}

static int obj_cmp(const void *a, const void *b)
{
    const obj *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int write_bundle(ctx *x, FILE *out)
{
    if (x->n_objs)
        qsort(x->objs, x->n_objs, sizeof *x->objs, obj_cmp);
    vg_buf all;
    vg__buf_init(&all, 0);
    int rc = VIGIE_OK;
    for (uint32_t i = 0; i < x->n_objs && rc == VIGIE_OK; i++) {
        if (i && !strcmp(x->objs[i].id, x->objs[i - 1].id))
            continue; /* the same relationship from two lists */
        if (x->objs[i].rank == RANK_REL)
            x->stats.relationships++;
        rc = vg__buf_printf(&all, "%s    %s", all.len ? ",\n" : "", x->objs[i].json);
    }
    char bid[80];
    if (rc == VIGIE_OK) {
        vg__stix_id("bundle", all.data ? all.data : "", all.len, bid, sizeof bid);
        fprintf(out, "{\n  \"type\": \"bundle\",\n  \"id\": \"%s\",\n  \"objects\": [\n%s\n  ]\n}\n",
                bid, all.data ? all.data : "");
        if (fflush(out) != 0 || ferror(out)) {
            snprintf(x->err, sizeof x->err, "writing the bundle failed");
            rc = VIGIE_IO;
        }
    }
    vg__buf_free(&all);
    return rc;
}

int vg__stix_export(vg_store *st, FILE *out, vg_stix_stats *stats, char *err, size_t errlen)
{
    ctx *x = calloc(1, sizeof *x);
    if (!x) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return VIGIE_NOMEM;
    }
    x->st = st;
    x->db = vg__store_db(st);
    vg__jtape_init(&x->ct);
    vg__jtape_init(&x->at);
    vg__buf_init(&x->tmp, 0);
    vg__buf_init(&x->key, 0);
    vg__buf_init(&x->o, 0);
    vg__stix_id("identity", "vigie", 5, x->vigie_id, sizeof x->vigie_id);
    int rc;
    /* Read everything in one snapshot: a scan may be appending meanwhile. */
    if (sqlite3_exec(x->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sqlfail(x, "reading the store");
        goto out;
    }
    if ((rc = pass_campaigns(x)) == VIGIE_OK && (rc = pass_indicator_alerts(x)) == VIGIE_OK)
        rc = pass_tenants(x);
    sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL);
    if (rc == VIGIE_OK && (rc = emit_identities(x)) == VIGIE_OK &&
        (rc = emit_attack_patterns(x)) == VIGIE_OK && (rc = emit_indicators(x)) == VIGIE_OK &&
        (rc = emit_sightings(x)) == VIGIE_OK)
        rc = write_bundle(x, out);
out:
    if (rc != VIGIE_OK && err && errlen)
        snprintf(err, errlen, "%s", x->err[0] ? x->err : vigie_strerror(rc));
    if (stats)
        *stats = x->stats;
    for (uint32_t i = 0; i < x->n_tenants; i++)
        free(x->tenants[i].name);
    for (uint32_t i = 0; i < x->n_inds; i++) {
        free(x->inds[i].value);
        free(x->inds[i].desc);
        free(x->inds[i].key);
    }
    for (uint32_t i = 0; i < x->n_objs; i++)
        free(x->objs[i].json);
    free(x->tenants);
    free(x->inds);
    free(x->sights);
    free(x->aps);
    free(x->objs);
    smap_free(&x->tenant_map);
    smap_free(&x->ind_map);
    smap_free(&x->sight_map);
    smap_free(&x->seen);
    smap_free(&x->ap_map);
    vg__jtape_free(&x->ct);
    vg__jtape_free(&x->at);
    vg__buf_free(&x->tmp);
    vg__buf_free(&x->key);
    vg__buf_free(&x->o);
    free(x);
    return rc;
}
