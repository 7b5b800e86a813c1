/* SPDX-License-Identifier: Apache-2.0 */
/*
 * campaign.c: many tenants' alerts into campaigns (one actor, N organizations). Stage:
 * correlate; fed the typed combined alerts by the scan's writer (vg__campaigns_add_session),
 * and alert lines (JSON, as `vigie scan` writes them) for token alerts and, for `vigie
 * campaigns`, from a store.
 *
 * The nodes are the high and critical combined alerts (one per tenant, user and session):
 * each brings its infrastructure (client addresses, "AppId|ClientAppId" pairs, user agents or
 * ClientInfoString) and, when --asn-db gives a MaxMind-format database, the autonomous system
 * of each address. Two nodes are linked when they share a strong feature (the same public
 * address, the same /24 or IPv6 /48, the same application pair, the same forged-token key
 * id) or weak ones together (two of autonomous systems and user agents, or an autonomous
 * system with timing: both sessions in the actor's hours; among the first 4,096 nodes).
 * Bearer-token findings add their key id to the campaign of their tenant. A campaign is a connected
 * component; it lists its organizations, users, first and last activity, indicators (the features
 * its nodes share, with how many organizations each), signals, ATT&CK techniques (from the tags),
 * what was read, and its alert ids.
 *
 * Linking (link_all) runs over a sorted copy of the features, parents reset first, so it can
 * run again as nodes arrive: vg__campaigns_changes publishes each campaign whose line changed
 * since the last call (a hash per campaign id); finish writes them all. The state saved is
 * the nodes, features, key ids and published hashes; components are derived.
 *
 * Cost: O(n log n) in nodes for strong links, O(n^2) in weak-only comparisons (only below
 * 4,096 nodes), per finish or changes call; up to VG_MAX_CAMPAIGN_NODES nodes (more are
 * counted and left out). Not thread-safe.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <math.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "util/limits.h"
#include "util/ser.h"
#include "util/util.h"
#include "json/json.h"

enum { F_IP = 0, F_NET, F_APP, F_ASN, F_UA, F_KID, F_TIME, F_COUNT };
static const char *const ftype[F_COUNT] = {"ip",         "net",    "app-id", "asn",
                                           "user-agent", "key-id", "timing"};
static const bool fstrong[F_COUNT] = {true, true, true, false, false, true, false};

typedef struct feat {
    uint8_t type;
    char *value;
    uint32_t node;
} feat;

typedef struct node {
    char *id, *tenant, *user, *first, *last;
    char **signals, **techniques;
    uint32_t n_signals, n_techniques;
    uint64_t messages, ops;
    uint32_t parent;
} node;

struct vg_campaigns {
    node *nodes;
    uint32_t n, cap;
    feat *feats;
    uint32_t n_feats, cap_feats;
    struct kid {
        char *tenant, *kid;
    } * kids;
    uint32_t n_kids, cap_kids;
    MMDB_s mmdb;
    bool have_mmdb;
    uint64_t dropped;
    vg_jtape t;
    vg_buf tmp;
    /* published campaigns (vg__campaigns_changes): campaign id -> index in pub_hash */
    vg_hmap pub;
    struct pubc {
        char *id;
        uint64_t hash; /* vg__hash64 of the line last published */
    } * pubs;
    uint32_t n_pubs, cap_pubs;
};

int vg__campaigns_new(const char *asn_db, vigie_diag_fn diag, void *diag_ud, vg_campaigns **out)
{
    *out = NULL;
    vg_campaigns *c = calloc(1, sizeof *c);
    if (!c)
        return VIGIE_NOMEM;
    vg__jtape_init(&c->t);
    vg__buf_init(&c->tmp, 0);
    vg__hmap_init(&c->pub, VG_MAX_CAMPAIGN_NODES);
    if (asn_db) {
        int rc = MMDB_open(asn_db, MMDB_MODE_MMAP, &c->mmdb);
        if (rc != MMDB_SUCCESS) {
            vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_IO, asn_db, 0, 0, NULL,
                     "cannot open the ASN database: %s", MMDB_strerror(rc));
            vg__campaigns_free(c);
            return VIGIE_IO;
        }
        c->have_mmdb = true;
    }
    *out = c;
    return VIGIE_OK;
}

static void node_free(node *n)
{
    free(n->id);
    free(n->tenant);
    free(n->user);
    free(n->first);
    free(n->last);
    for (uint32_t i = 0; i < n->n_signals; i++)
        free(n->signals[i]);
    for (uint32_t i = 0; i < n->n_techniques; i++)
        free(n->techniques[i]);
    free(n->signals);
    free(n->techniques);
}

void vg__campaigns_free(vg_campaigns *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->n; i++)
        node_free(&c->nodes[i]);
    for (uint32_t i = 0; i < c->n_feats; i++)
        free(c->feats[i].value);
    for (uint32_t i = 0; i < c->n_kids; i++) {
        free(c->kids[i].tenant);
        free(c->kids[i].kid);
    }
    free(c->kids);
    for (uint32_t i = 0; i < c->n_pubs; i++)
        free(c->pubs[i].id);
    free(c->pubs);
    vg__hmap_free(&c->pub);
    free(c->nodes);
    free(c->feats);
    if (c->have_mmdb)
        MMDB_close(&c->mmdb);
    vg__jtape_free(&c->t);
    vg__buf_free(&c->tmp);
    free(c);
}

/* ---- reading alert lines --------------------------------------------------------------------- */

static char *str_at(vg_campaigns *c, int64_t tok)
{
    if (tok < 0 || c->t.tok[tok].type != VG_J_STRING)
        return NULL;
    size_t l;
    const char *s = vg__json_str(&c->t, (uint32_t)tok, &c->tmp, &l);
    return strndup(s, l);
}

static int64_t get(vg_campaigns *c, int64_t obj, const char *key)
{
    if (obj < 0 || c->t.tok[obj].type != VG_J_OBJECT)
        return -1;
    return vg__json_obj_get(&c->t, (uint32_t)obj, key, strlen(key));
}

static double num_at(vg_campaigns *c, int64_t tok)
{
    double d = 0;
    if (tok >= 0 && c->t.tok[tok].type == VG_J_NUMBER)
        vg__json_number(c->t.src + c->t.tok[tok].off, c->t.tok[tok].len, &d);
    return d;
}

static void add_feat(vg_campaigns *c, uint8_t type, const char *value, uint32_t nd)
{
    for (uint32_t i = c->n_feats; i-- > 0 && c->feats[i].node == nd;)
        if (c->feats[i].type == type && !strcmp(c->feats[i].value, value))
            return;
    if (VG_GROW(c->feats, c->cap_feats, (size_t)c->n_feats + 1, 256))
        return;
    char *v = strdup(value);
    if (!v)
        return;
    c->feats[c->n_feats++] = (feat){type, v, nd};
}

/* Private, loopback, link-local and documentation-free ranges are shared by every
 * organization: never a link. */
static bool public_v4(const unsigned char *a)
{
    return !(a[0] == 10 || a[0] == 127 || a[0] == 0 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
             (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
             (a[0] == 100 && (a[1] & 0xc0) == 64) || a[0] >= 224);
}

/* A public address, in a[] (4 bytes for IPv4, 16 for IPv6) with its family. An IPv4 address
 * written in IPv6 (::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d) is the IPv4 address. */
static bool public_ip(const char *s, unsigned char a[16], int *fam)
{
    if (inet_pton(AF_INET, s, a) == 1) {
        *fam = 4;
        return public_v4(a);
    }
    if (inet_pton(AF_INET6, s, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
        if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12)) {
            memmove(a, a + 12, 4);
            *fam = 4;
            return public_v4(a);
        }
        *fam = 6;
        static const unsigned char zero[15];
        return !((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff ||
                 (!memcmp(a, zero, 15) && a[15] <= 1));
    }
    return false;
}

static void ip_feats(vg_campaigns *c, const char *ip, uint32_t nd)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", ip);
    char *p = buf;
    if (*p == '[') { /* [v6]:port */
        char *e = strchr(p, ']');
        if (e)
            *e = 0;
        p++;
    } else {
        char *colon = strchr(p, ':');
        if (colon && !strchr(colon + 1, ':'))
            *colon = 0; /* v4:port */
    }
    unsigned char a[16];
    int fam;
    if (!public_ip(p, a, &fam))
        return;
    char canon[64], net[80];
    inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, canon, sizeof canon);
    add_feat(c, F_IP, canon, nd);
    if (fam == 4) {
        snprintf(net, sizeof net, "%u.%u.%u.0/24", a[0], a[1], a[2]);
    } else {
        unsigned char m[16] = {0};
        memcpy(m, a, 6);
        inet_ntop(AF_INET6, m, canon, sizeof canon);
        snprintf(net, sizeof net, "%s/48", canon);
    }
    add_feat(c, F_NET, net, nd);
    if (c->have_mmdb) {
        int gai = 0, mrc = 0;
        MMDB_lookup_result_s r = MMDB_lookup_string(&c->mmdb, p, &gai, &mrc);
        MMDB_entry_data_s d;
        if (!gai && mrc == MMDB_SUCCESS && r.found_entry &&
            MMDB_get_value(&r.entry, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS &&
            d.has_data && d.type == MMDB_DATA_TYPE_UINT32) {
            char asn[32];
            snprintf(asn, sizeof asn, "AS%u", d.uint32);
            add_feat(c, F_ASN, asn, nd);
        }
    }
}

static void str_list(vg_campaigns *c, int64_t arr, char ***out, uint32_t *n)
{
    if (arr < 0 || c->t.tok[arr].type != VG_J_ARRAY)
        return;
    for (uint32_t i = (uint32_t)arr + 1; i < c->t.tok[arr].next; i = c->t.tok[i].next) {
        char *s = str_at(c, i);
        if (!s)
            continue;
        char **nv = realloc(*out, (*n + 1) * sizeof *nv);
        if (!nv) {
            free(s);
            return;
        }
        *out = nv;
        (*out)[(*n)++] = s;
    }
}

/* A new node (a combined alert of level high or critical), its fields zero. */
static int new_node(vg_campaigns *c, uint32_t *out)
{
    if (c->n >= VG_MAX_CAMPAIGN_NODES) {
        c->dropped++;
        return VIGIE_TOOBIG;
    }
    if (VG_GROW(c->nodes, c->cap, (size_t)c->n + 1, 64))
        return VIGIE_NOMEM;
    uint32_t ni = c->n++;
    node *n = &c->nodes[ni];
    memset(n, 0, sizeof *n);
    n->parent = ni;
    *out = ni;
    return VIGIE_OK;
}

/* An ATT&CK technique from a tag: attack.t1114.002 -> T1114.002; other tags are not. */
static void add_technique(node *n, const char *tag)
{
    if (strncmp(tag, "attack.t", 8) != 0 || tag[8] < '0' || tag[8] > '9')
        return;
    char *t = strdup(tag + 7);
    if (!t)
        return;
    t[0] = 'T';
    char **nv = realloc(n->techniques, (n->n_techniques + 1) * sizeof *nv);
    if (!nv) {
        free(t);
        return;
    }
    n->techniques = nv;
    n->techniques[n->n_techniques++] = t;
}

/* Features of a node from its signals. Timing: a session mostly in the actor's working hours
 * (weak: many organizations share business hours; it links only with another weak feature). */
static void node_feats(vg_campaigns *c, uint32_t ni)
{
    node *n = &c->nodes[ni];
    for (uint32_t k = 0; k < n->n_signals; k++)
        if (!strcmp(n->signals[k], "actor_hours"))
            add_feat(c, F_TIME, "actor-hours", ni);
}

/* One infrastructure value: k = 0 address, 1 application pair, 2 user agent. */
static void infra_feat(vg_campaigns *c, int k, const char *v, uint32_t ni)
{
    if (!v || !*v || !strcmp(v, "-"))
        return;
    if (k == 0)
        ip_feats(c, v, ni);
    else
        add_feat(c, k == 1 ? F_APP : F_UA, v, ni);
}

int vg__campaigns_add_alert(vg_campaigns *c, const char *line, size_t len)
{
    if (vg__json_parse(&c->t, line, len, NULL) != VIGIE_OK || c->t.tok[0].type != VG_J_OBJECT)
        return VIGIE_JSON;
    char *kind = str_at(c, get(c, 0, "kind"));
    int64_t rule = get(c, 0, "rule");
    char *level = str_at(c, get(c, rule, "level"));
    int rc = VIGIE_OK;
    if (kind && !strcmp(kind, "token")) {
        char *tenant = str_at(c, get(c, 0, "tenant"));
        char *kid = str_at(c, get(c, get(c, 0, "token"), "kid"));
        if (!tenant) {
            /* a gateway log names no tenant: the token's issuer does
             * (https://login.microsoftonline.com/<tenant>/v2.0) */
            char *iss = str_at(c, get(c, get(c, 0, "token"), "issuer"));
            size_t l = 0;
            const char *seg = vg__url_first_segment(iss, &l);
            if (seg && l < 80)
                tenant = strndup(seg, l);
            free(iss);
        }
        for (uint32_t k = 0; tenant && kid && k < c->n_kids; k++)
            if (!strcmp(c->kids[k].tenant, tenant) && !strcmp(c->kids[k].kid, kid)) {
                free(kid);
                kid = NULL; /* known already */
            }
        if (tenant && kid && *kid && c->n_kids >= VG_MAX_CAMPAIGN_KIDS) {
            c->dropped++; /* key ids are attacker-chosen: bounded */
        } else if (tenant && kid && *kid) {
            VG_GROW(c->kids, c->cap_kids, (size_t)c->n_kids + 1, 16); /* kept if it fails */
            if (c->n_kids < c->cap_kids) {
                c->kids[c->n_kids++] = (struct kid){tenant, kid};
                tenant = kid = NULL;
            }
        }
        free(tenant);
        free(kid);
    }
    bool high = level && (!strcmp(level, "high") || !strcmp(level, "critical"));
    if (kind && !strcmp(kind, "combined") && high) {
        uint32_t ni;
        if ((rc = new_node(c, &ni)) != VIGIE_OK) {
            if (rc == VIGIE_TOOBIG)
                rc = VIGIE_OK; /* counted in dropped */
            goto out;
        }
        node *n = &c->nodes[ni];
        n->id = str_at(c, get(c, 0, "id"));
        n->tenant = str_at(c, get(c, 0, "tenant"));
        n->user = str_at(c, get(c, 0, "user"));
        int64_t mr = get(c, 0, "messages_read");
        n->first = str_at(c, get(c, mr, "first"));
        n->last = str_at(c, get(c, mr, "last"));
        if (!n->first)
            n->first = str_at(c, get(c, 0, "time"));
        if (!n->last && n->first)
            n->last = strdup(n->first);
        n->messages = (uint64_t)num_at(c, get(c, mr, "internet_message_ids"));
        n->ops = (uint64_t)num_at(c, get(c, mr, "operation_count"));
        str_list(c, get(c, 0, "signals"), &n->signals, &n->n_signals);
        char **tags = NULL;
        uint32_t n_tags = 0;
        str_list(c, get(c, rule, "tags"), &tags, &n_tags);
        for (uint32_t i = 0; i < n_tags; i++) {
            add_technique(n, tags[i]);
            free(tags[i]);
        }
        free(tags);
        node_feats(c, ni);
        int64_t inf = get(c, 0, "infrastructure");
        static const char *const lists[] = {"ips", "app_ids", "user_agents"};
        for (int k = 0; k < 3; k++) {
            int64_t arr = get(c, inf, lists[k]);
            if (arr < 0 || c->t.tok[arr].type != VG_J_ARRAY)
                continue;
            for (uint32_t i = (uint32_t)arr + 1; i < c->t.tok[arr].next; i = c->t.tok[i].next) {
                char *v = str_at(c, i);
                infra_feat(c, k, v, ni);
                free(v);
            }
        }
    }
out:
    free(kind);
    free(level);
    return rc;
}

uint32_t vg__combined_tags(const vg_sess_alert *a, const char *tags[VG_COMBINED_MAX_TAGS])
{
    bool no_si = false, tok = false, ind = false;
    for (uint32_t i = 0; i < a->n_signals; i++) {
        const vg_sess_signal *g = &a->signals[i];
        no_si |= !strcmp(g->name, "no_signin");
        tok |= !strcmp(g->kind, "token") || !strncmp(g->name, "consumer", 8);
        ind |= !strcmp(g->kind, "indicator");
    }
    uint32_t n = 0;
    if (a->mail) {
        tags[n++] = "attack.collection";
        tags[n++] = "attack.t1114.002";
    }
    if (no_si || tok) {
        tags[n++] = "attack.defense-evasion";
        tags[n++] = "attack.t1550.001";
    }
    if (tok) {
        tags[n++] = "attack.credential-access";
        tags[n++] = "attack.t1606.002";
    }
    if (ind) {
        tags[n++] = "attack.command-and-control";
        tags[n++] = "attack.t1090.002";
    }
    return n;
}

static char *time_str(double t)
{
    char b[40];
    vg__format_time(t, b, sizeof b);
    return strdup(b);
}

int vg__campaigns_add_session(vg_campaigns *c, const vg_sess_alert *a, const char *id)
{
    if (a->level < VG_SL_HIGH)
        return VIGIE_OK; /* only high and critical sessions are nodes */
    uint32_t ni;
    int rc = new_node(c, &ni);
    if (rc)
        return rc == VIGIE_TOOBIG ? VIGIE_OK : rc; /* TOOBIG: counted in dropped */
    node *n = &c->nodes[ni];
    /* what the alert line says: "time" is the first activity, messages_read (mail only) its
     * first and last; without a time both are unknown */
    n->id = id ? strdup(id) : NULL;
    n->tenant = a->tenant ? strdup(a->tenant) : NULL;
    n->user = a->user ? strdup(a->user) : NULL;
    if (a->first <= a->last) {
        n->first = time_str(a->first);
        n->last = time_str(a->mail ? a->last : a->first);
    }
    if (a->mail) {
        n->messages = a->messages;
        n->ops = (uint64_t)nearbyint(a->ops); /* the line's "%.0f" */
    }
    if (a->n_signals && !(n->signals = calloc(a->n_signals, sizeof *n->signals)))
        return VIGIE_NOMEM;
    for (uint32_t i = 0; i < a->n_signals; i++)
        if ((n->signals[n->n_signals] = strdup(a->signals[i].name)))
            n->n_signals++;
    const char *tags[VG_COMBINED_MAX_TAGS];
    uint32_t nt = vg__combined_tags(a, tags);
    for (uint32_t i = 0; i < nt; i++)
        add_technique(n, tags[i]);
    node_feats(c, ni);
    const char *const *lists[3] = {a->ips, a->apps, a->uas};
    uint32_t ns[3] = {a->n_ips, a->n_apps, a->n_uas};
    for (int k = 0; k < 3; k++)
        for (uint32_t i = 0; i < ns[k]; i++)
            infra_feat(c, k, lists[k][i], ni);
    return VIGIE_OK;
}

/* ---- components --------------------------------------------------------------------------------
 */

static uint32_t find(node *v, uint32_t i)
{
    while (v[i].parent != i) {
        v[i].parent = v[v[i].parent].parent;
        i = v[i].parent;
    }
    return i;
}

static void unite(node *v, uint32_t a, uint32_t b)
{
    a = find(v, a);
    b = find(v, b);
    if (a != b)
        v[a > b ? a : b].parent = a < b ? a : b; /* the earlier node is the root */
}

static int feat_cmp(const void *x, const void *y)
{
    const feat *a = x, *b = y;
    if (a->type != b->type)
        return a->type - b->type;
    int d = strcmp(a->value, b->value);
    return d ? d : (a->node > b->node) - (a->node < b->node);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, distinct strings. */
typedef struct strset {
    char **v;
    uint32_t n, cap;
} strset;

static void set_add(strset *s, const char *v)
{
    if (!v || !*v || !strcmp(v, "-"))
        return;
    for (uint32_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], v))
            return;
    if (VG_GROW(s->v, s->cap, (size_t)s->n + 1, 8))
        return;
    s->v[s->n++] = (char *)v;
}

static void put_set(vg_buf *o, const char *name, strset *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, str_cmp);
    vg__buf_printf(o, ",\"%s\":[", name);
    for (uint32_t i = 0; i < s->n; i++) {
        vg__buf_adds(o, i ? ",\"" : "\"");
        vg__buf_add_json_str(o, s->v[i], strlen(s->v[i]));
        vg__buf_addc(o, '"');
    }
    vg__buf_addc(o, ']');
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* The components of the nodes so far: parents reset and linked again over a sorted copy of
 * the features, with the token key ids added to the nodes of their tenant (the nodes' own
 * features stay in arrival order, so that linking runs again as nodes arrive). *fv_out is
 * the sorted copy (values borrowed), for the indicators; free it. */
static int link_all(vg_campaigns *c, feat **fv_out, uint32_t *nf_out)
{
    for (uint32_t i = 0; i < c->n; i++)
        c->nodes[i].parent = i;
    feat *fv = NULL;
    uint32_t nf = 0, cap = 0;
    if (VG_GROW(fv, cap, (size_t)c->n_feats + 1, 256))
        return VIGIE_NOMEM;
    if (c->n_feats)
        memcpy(fv, c->feats, c->n_feats * sizeof *fv);
    nf = c->n_feats;
    /* a signing key found on forged tokens of several tenants links their sessions */
    for (uint32_t k = 0; k < c->n_kids; k++)
        for (uint32_t i = 0; i < c->n; i++)
            if (c->nodes[i].tenant && !strcmp(c->nodes[i].tenant, c->kids[k].tenant) &&
                !VG_GROW(fv, cap, (size_t)nf + 1, 256))
                fv[nf++] = (feat){F_KID, c->kids[k].kid, i};
    if (nf)
        qsort(fv, nf, sizeof *fv, feat_cmp);
    /* strong features: every node sharing one is linked */
    for (uint32_t i = 0, j; i < nf; i = j) {
        for (j = i + 1; j < nf && fv[j].type == fv[i].type && !strcmp(fv[j].value, fv[i].value);
             j++)
            if (fstrong[fv[i].type])
                unite(c->nodes, fv[i].node, fv[j].node);
    }
    /* weak features: two shared ones link */
    /* per pair of nodes: shared user agents (bits 0-1), autonomous systems (bits 2-3), timing
     * (bit 4). Two user agents or systems link, or the actor's hours with the same system;
     * the hours with a user agent do not (Client=REST... is everywhere, and so are mornings) */
    uint8_t *weak =
        calloc((size_t)c->n * c->n > 0 && c->n < 4096 ? (size_t)c->n * c->n : 1, sizeof *weak);
    if (weak && c->n < 4096) {
        for (uint32_t i = 0, j; i < nf; i = j) {
            for (j = i + 1; j < nf && fv[j].type == fv[i].type && !strcmp(fv[j].value, fv[i].value);
                 j++)
                ;
            if (fstrong[fv[i].type])
                continue;
            for (uint32_t a = i; a < j; a++)
                for (uint32_t b = a + 1; b < j; b++) {
                    uint32_t x = fv[a].node, y = fv[b].node;
                    if (x == y)
                        continue;
                    uint8_t *w = &weak[(size_t)x * c->n + y];
                    uint8_t t = fv[i].type;
                    if (t == F_UA && (*w & 3) < 2)
                        *w = (uint8_t)(*w + 1);
                    else if (t == F_ASN && ((*w >> 2) & 3) < 2)
                        *w = (uint8_t)(*w + 4);
                    else if (t == F_TIME)
                        *w |= 16;
                    unsigned ua = *w & 3, as = (*w >> 2) & 3, tm = (*w >> 4) & 1;
                    if (ua + as >= 2 || (tm && as))
                        unite(c->nodes, x, y);
                }
        }
    }
    free(weak);
    *fv_out = fv;
    *nf_out = nf;
    return VIGIE_OK;
}

/* The line of the component whose root (first node) is r; *n_orgs: its organizations. */
static void render(vg_campaigns *c, const feat *fv, uint32_t nf, uint32_t r, vg_buf *out,
                   uint32_t *n_orgs_out)
{
    strset orgs = {0}, users = {0}, sigs = {0}, techs = {0};
    const char *first = NULL, *last = NULL;
    uint64_t msgs = 0, ops = 0, n_alerts = 0;
    for (uint32_t i = r; i < c->n; i++) {
        node *n = &c->nodes[i];
        if (find(c->nodes, i) != r)
            continue;
        n_alerts++;
        set_add(&orgs, n->tenant);
        set_add(&users, n->user);
        for (uint32_t k = 0; k < n->n_signals; k++)
            set_add(&sigs, n->signals[k]);
        for (uint32_t k = 0; k < n->n_techniques; k++)
            set_add(&techs, n->techniques[k]);
        if (n->first && (!first || strcmp(n->first, first) < 0))
            first = n->first;
        if (n->last && (!last || strcmp(n->last, last) > 0))
            last = n->last;
        msgs += n->messages;
        ops += n->ops;
    }
    char id[80];
    snprintf(id, sizeof id, "campaign-%.16s", c->nodes[r].id ? c->nodes[r].id : "unknown");
    vg__buf_printf(out, "{\"id\":\"%s\"", id);
    *n_orgs_out = orgs.n;
    put_set(out, "organizations", &orgs);
    put_set(out, "users", &users);
    vg__buf_adds(out, ",\"first_seen\":");
    if (first) {
        vg__buf_addc(out, '"');
        vg__buf_add_json_str(out, first, strlen(first));
        vg__buf_addc(out, '"');
    } else {
        vg__buf_adds(out, "null");
    }
    vg__buf_adds(out, ",\"last_seen\":");
    if (last) {
        vg__buf_addc(out, '"');
        vg__buf_add_json_str(out, last, strlen(last));
        vg__buf_addc(out, '"');
    } else {
        vg__buf_adds(out, "null");
    }
    /* indicators: each feature of the component, with its organizations; those seen in
     * more than one organization linked them */
    vg__buf_adds(out, ",\"indicators\":[");
    bool any = false;
    for (uint32_t i = 0, j; i < nf; i = j) {
        strset fo = {0};
        for (j = i; j < nf && fv[j].type == fv[i].type && !strcmp(fv[j].value, fv[i].value); j++)
            if (find(c->nodes, fv[j].node) == r)
                set_add(&fo, c->nodes[fv[j].node].tenant);
        if (!fo.n) {
            free(fo.v);
            continue;
        }
        const char *type = ftype[fv[i].type];
        if (fv[i].type == F_IP)
            type = strchr(fv[i].value, ':') ? "ipv6-addr" : "ipv4-addr";
        vg__buf_printf(out, "%s{\"type\":\"%s\",\"value\":\"", any ? "," : "", type);
        vg__buf_add_json_str(out, fv[i].value, strlen(fv[i].value));
        vg__buf_printf(out, "\",\"organizations\":%u,\"links\":%s}", fo.n,
                       fo.n > 1 && fstrong[fv[i].type] ? "true" : "false");
        any = true;
        free(fo.v);
    }
    vg__buf_addc(out, ']');
    put_set(out, "signals", &sigs);
    put_set(out, "techniques", &techs);
    vg__buf_printf(out,
                   ",\"messages_read\":{\"internet_message_ids\":%llu,"
                   "\"operation_count\":%llu},\"alerts\":[",
                   (unsigned long long)msgs, (unsigned long long)ops);
    bool firsta = true;
    for (uint32_t i = r; i < c->n; i++) {
        if (find(c->nodes, i) != r || !c->nodes[i].id)
            continue;
        vg__buf_printf(out, "%s\"%s\"", firsta ? "" : ",", c->nodes[i].id);
        firsta = false;
    }
    vg__buf_printf(out, "],\"n_alerts\":%llu}\n", (unsigned long long)n_alerts);
}

int vg__campaigns_finish(vg_campaigns *c, vg_buf *out, vg_campaign_stats *st)
{
    if (st)
        memset(st, 0, sizeof *st);
    feat *fv;
    uint32_t nf;
    int rc = link_all(c, &fv, &nf);
    if (rc)
        return rc;
    /* one line per component, in order of its first node */
    for (uint32_t r = 0; r < c->n; r++) {
        if (find(c->nodes, r) != r)
            continue;
        uint32_t n_orgs = 0;
        render(c, fv, nf, r, out, &n_orgs);
        if (st) {
            st->campaigns++;
            if (n_orgs > st->max_orgs)
                st->max_orgs = n_orgs;
        }
    }
    free(fv);
    if (st) {
        st->nodes = c->n;
        st->dropped = c->dropped;
    }
    return VIGIE_OK;
}

int vg__campaigns_changes(vg_campaigns *c, vg_campaign_emit emit, void *ud)
{
    feat *fv;
    uint32_t nf;
    int rc = link_all(c, &fv, &nf);
    if (rc)
        return rc;
    vg_buf line;
    vg__buf_init(&line, 0);
    for (uint32_t r = 0; r < c->n && !rc; r++) {
        if (find(c->nodes, r) != r)
            continue;
        uint32_t n_orgs;
        vg__buf_reset(&line);
        render(c, fv, nf, r, &line, &n_orgs);
        if (line.err) {
            rc = VIGIE_NOMEM;
            break;
        }
        char id[80];
        snprintf(id, sizeof id, "campaign-%.16s", c->nodes[r].id ? c->nodes[r].id : "unknown");
        uint64_t h = vg__hash64(line.data, line.len, 0);
        vg_hmap_slot *e = vg__hmap_find(&c->pub, id, strlen(id));
        if (e && c->pubs[e->val.idx].hash == h)
            continue; /* published as it is */
        if (!e) {
            bool added;
            char *key = strdup(id);
            if (!key || VG_GROW(c->pubs, c->cap_pubs, (size_t)c->n_pubs + 1, 16) ||
                vg__hmap_put(&c->pub, key, strlen(key), &e, &added)) {
                free(key);
                rc = VIGIE_NOMEM;
                break;
            }
            e->val.idx = c->n_pubs;
            c->pubs[c->n_pubs++] = (struct pubc){key, 0};
        }
        c->pubs[e->val.idx].hash = h;
        rc = emit(ud, line.data, line.len - 1); /* without its newline */
    }
    vg__buf_free(&line);
    free(fv);
    return rc;
}

/* ---- saved state ----------------------------------------------------------------------------
 * u32 version, u64 dropped; nodes (id, tenant, user, first, last, messages, ops, signals,
 * techniques); features (type, value, node) in arrival order; token key ids (tenant, kid);
 * published campaigns (id, hash). Components are not saved: linking derives them. */

#define CAMP_SECTION_VERSION 1u

static void ser_strs(vg_buf *o, char *const *v, uint32_t n)
{
    vg__ser_u64(o, n);
    for (uint32_t i = 0; i < n; i++)
        vg__ser_str(o, v[i]);
}

int vg__campaigns_save(const vg_campaigns *c, vg_buf *out)
{
    vg__ser_u32(out, CAMP_SECTION_VERSION);
    vg__ser_u64(out, c->dropped);
    vg__ser_u64(out, c->n);
    for (uint32_t i = 0; i < c->n; i++) {
        const node *n = &c->nodes[i];
        vg__ser_str(out, n->id);
        vg__ser_str(out, n->tenant);
        vg__ser_str(out, n->user);
        vg__ser_str(out, n->first);
        vg__ser_str(out, n->last);
        vg__ser_u64(out, n->messages);
        vg__ser_u64(out, n->ops);
        ser_strs(out, n->signals, n->n_signals);
        ser_strs(out, n->techniques, n->n_techniques);
    }
    vg__ser_u64(out, c->n_feats);
    for (uint32_t i = 0; i < c->n_feats; i++) {
        vg__ser_u8(out, c->feats[i].type);
        vg__ser_str(out, c->feats[i].value);
        vg__ser_u32(out, c->feats[i].node);
    }
    vg__ser_u64(out, c->n_kids);
    for (uint32_t i = 0; i < c->n_kids; i++) {
        vg__ser_str(out, c->kids[i].tenant);
        vg__ser_str(out, c->kids[i].kid);
    }
    vg__ser_u64(out, c->n_pubs);
    for (uint32_t i = 0; i < c->n_pubs; i++) {
        vg__ser_str(out, c->pubs[i].id);
        vg__ser_u64(out, c->pubs[i].hash);
    }
    return out->err ? out->err : VIGIE_OK;
}

/* A list of strings (none NULL), bounded by what the section can still hold (4 bytes each). */
static bool rd_strs(vg_rd *r, char ***out, uint32_t *n)
{
    uint64_t k = vg__rd_count(r, (r->n - r->at) / 4);
    if (r->err)
        return false;
    if (k && !(*out = calloc(k, sizeof **out))) {
        r->err = true;
        return false;
    }
    for (uint64_t i = 0; i < k; i++) {
        char *s = vg__rd_strdup(r);
        if (!s) {
            r->err = true;
            return false;
        }
        (*out)[(*n)++] = s;
    }
    return true;
}

static void clear_all(vg_campaigns *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        node_free(&c->nodes[i]);
    for (uint32_t i = 0; i < c->n_feats; i++)
        free(c->feats[i].value);
    for (uint32_t i = 0; i < c->n_kids; i++) {
        free(c->kids[i].tenant);
        free(c->kids[i].kid);
    }
    for (uint32_t i = 0; i < c->n_pubs; i++)
        free(c->pubs[i].id);
    c->n = c->n_feats = c->n_kids = c->n_pubs = 0;
    c->dropped = 0;
    vg__hmap_clear(&c->pub);
}

int vg__campaigns_load(vg_campaigns *c, const void *p, size_t len)
{
    if (c->n || c->n_feats || c->n_kids || c->n_pubs)
        return VIGIE_INVAL;
    vg_rd r;
    vg__rd_init(&r, p, len);
    int rc = VIGIE_TRUNCATED;
    if (vg__rd_u32(&r) != CAMP_SECTION_VERSION)
        goto fail;
    uint64_t dropped = vg__rd_u64(&r);
    uint64_t n = vg__rd_count(&r, VG_MAX_CAMPAIGN_NODES);
    for (uint64_t i = 0; i < n && !r.err; i++) {
        uint32_t ni;
        if ((rc = new_node(c, &ni)) != VIGIE_OK)
            goto fail;
        rc = VIGIE_TRUNCATED;
        node *nd = &c->nodes[ni];
        char **sv[] = {&nd->id, &nd->tenant, &nd->user, &nd->first, &nd->last};
        for (size_t k = 0; k < VG_ARRAY_LEN(sv); k++)
            *sv[k] = vg__rd_strdup(&r);
        nd->messages = vg__rd_u64(&r);
        nd->ops = vg__rd_u64(&r);
        if (!rd_strs(&r, &nd->signals, &nd->n_signals) ||
            !rd_strs(&r, &nd->techniques, &nd->n_techniques))
            goto fail;
    }
    uint64_t nf = vg__rd_count(&r, (r.n - r.at) / 9);
    if (!r.err && nf && VG_GROW(c->feats, c->cap_feats, (size_t)nf, 256)) {
        rc = VIGIE_NOMEM;
        goto fail;
    }
    for (uint64_t i = 0; i < nf && !r.err; i++) {
        uint8_t type = vg__rd_u8(&r);
        char *v = vg__rd_strdup(&r);
        uint32_t at = vg__rd_u32(&r);
        /* key ids are not node features until linking; a feature names one of the nodes */
        if (r.err || !v || type >= F_COUNT || type == F_KID || at >= c->n) {
            free(v);
            goto fail;
        }
        c->feats[c->n_feats++] = (feat){type, v, at};
    }
    uint64_t nk = vg__rd_count(&r, VG_MAX_CAMPAIGN_KIDS);
    if (!r.err && nk && VG_GROW(c->kids, c->cap_kids, (size_t)nk, 16)) {
        rc = VIGIE_NOMEM;
        goto fail;
    }
    for (uint64_t i = 0; i < nk && !r.err; i++) {
        char *t = vg__rd_strdup(&r), *k = vg__rd_strdup(&r);
        if (!t || !k) {
            free(t);
            free(k);
            goto fail;
        }
        c->kids[c->n_kids++] = (struct kid){t, k};
    }
    uint64_t np = vg__rd_count(&r, VG_MAX_CAMPAIGN_NODES);
    for (uint64_t i = 0; i < np && !r.err; i++) {
        char *id = vg__rd_strdup(&r);
        uint64_t h = vg__rd_u64(&r);
        vg_hmap_slot *e;
        bool added = false;
        if (!id || r.err || VG_GROW(c->pubs, c->cap_pubs, (size_t)c->n_pubs + 1, 16) ||
            vg__hmap_put(&c->pub, id, strlen(id), &e, &added) || !added) {
            free(id);
            goto fail; /* a campaign twice is a broken section (or no memory) */
        }
        e->val.idx = c->n_pubs;
        c->pubs[c->n_pubs++] = (struct pubc){id, h};
    }
    if (!vg__rd_done(&r))
        goto fail;
    c->dropped = dropped;
    return VIGIE_OK;
fail:
    clear_all(c);
    return rc;
}
