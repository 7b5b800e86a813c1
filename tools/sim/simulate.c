/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simulate.c: `vigie-sim simulate`: a deterministic scenario of many organizations' audit logs
 * with a forged-token mail espionage campaign hidden in some of them (../shared/BRIEF.md).
 *
 * Per organization (its own tenant id, time zone, users, usual mail clients), it writes a
 * directory of logs in one of the export shapes vigie reads (Management Activity API NDJSON or
 * JSON array, Purview CSV export, Sentinel OfficeActivity rows; sign-ins as Log Analytics rows
 * or Event Hub envelopes), and DIR/truth.json says what is what. Benign life: sign-ins and
 * mailbox access in business hours with linkable identifiers that match (SessionId,
 * UniqueTokenId), file activity, quiet weekends, benign REST clients everywhere. The campaign,
 * in K organizations: MailItemsAccessed with no matching sign-in, an application id the tenant
 * never used, actor addresses (some on the published list, some not), the actor's hours
 * (Mon-Fri 00:00-09:00 UTC), bulk Bind records, some in the older shape without identifiers.
 * Decoys: a new legitimate mail application with real sign-ins from fixed vendor addresses, an
 * indicator address seen months before its window, travelling users.
 * The output is a pure function of the options (xorshift64*; no clock, no environment).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "sim.h"

#define MAX_ORGS 200
#define MAX_USERS 64

static uint64_t rs = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return rs * 2685821657736338717ull;
}

static uint32_t pick(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

static void guid(char out[37])
{
    uint64_t a = rnd(), b = rnd();
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a & 0xffff),
             (unsigned)((b >> 52) & 0xfff), (unsigned)(0x8000 | ((b >> 36) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffull));
}

static void iso(char *out, size_t cap, double t, bool zone)
{
    vg__format_time(t, out, cap);
    if (!zone) {
        char *dot = strchr(out, '.');
        if (dot)
            *dot = 0; /* UAL CreationTime: no fraction, no zone */
    }
}

/* well-known first-party client application ids */
static const char *const APP_OWA = "00000002-0000-0ff1-ce00-000000000000";
static const char *const CLIENT_OWA = "00000002-0000-0ff1-ce00-000000000000";
static const char *const CLIENT_OUTLOOK = "d3590ed6-52b3-4102-aeff-aad2292ab01c";
static const char *const CLIENT_MOBILE = "27922004-5251-4030-b22d-91ecd9a37ea4";
static const char *const CLIENT_GRAPH = "00000003-0000-0000-c000-000000000000";
static const char *const CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";
/* the actor's client id: a multi-tenant app no simulated tenant uses (made up) */
static const char *const CLIENT_ACTOR = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346";
/* a legitimate vendor's mail app that a decoy organization adopts mid-period (made up) */
static const char *const CLIENT_VENDOR = "a8f7a65c-f5ba-4859-b2d6-df772c264e9d";

static const char *const published_ips[] = {"195.26.87.219", "185.236.228.183", "51.89.156.153",
                                            "176.31.90.129", "137.74.181.100", "193.36.119.45",
                                            "185.158.248.159", "131.153.78.188"};

typedef struct user {
    char upn[96];
    char oid[37];
    char mailbox[37];
    bool traveller;
} user;

typedef struct org {
    char name[32];
    char tenant[37];
    int tz;          /* hours east of UTC */
    int shape;       /* 0..3: export shapes, see write_org */
    bool victim;
    bool decoy_vendor, decoy_old_ip;
    user users[MAX_USERS];
    uint32_t n_users;
    FILE *ual, *signin;
    bool ual_first, signin_first;
    uint64_t n_records;
} org;

typedef struct sim {
    uint32_t n_orgs, days, victims;
    uint64_t seed;
    const char *dir;
    org *orgs;
    double start; /* first day 00:00 UTC */
    double campaign_start;
    FILE *truth_ids; /* campaign record ids, one JSON string per line (tmp) */
    uint64_t n_campaign;
    vg_buf campaign_ids, decoy_ids;
} sim;

static void json_list_add(vg_buf *b, const char *id)
{
    vg__buf_adds(b, b->len ? ",\"" : "\"");
    vg__buf_adds(b, id);
    vg__buf_addc(b, '"');
}

/* ---- sign-ins --------------------------------------------------------------------------------- */

static void write_signin(sim *s, org *o, const user *u, double t, const char *ip,
                         const char *client, const char *token_id, const char *session,
                         const char *ua)
{
    (void)s;
    char id[37], corr[37], when[40];
    guid(id);
    guid(corr);
    iso(when, sizeof when, t, true);
    FILE *f = o->signin;
    if (o->shape % 2 == 0) { /* Log Analytics SigninLogs rows, NDJSON */
        fprintf(f,
                "{\"TenantId\":\"%s\",\"SourceSystem\":\"Azure AD\",\"TimeGenerated\":\"%s\","
                "\"ResourceId\":\"/tenants/%s/providers/Microsoft.aadiam\",\"OperationName\":"
                "\"Sign-in activity\",\"Category\":\"SignInLogs\",\"ResultType\":\"0\","
                "\"CorrelationId\":\"%s\",\"AppDisplayName\":\"Microsoft Office\",\"AppId\":\"%s\","
                "\"ClientAppUsed\":\"Browser\",\"IPAddress\":\"%s\",\"Id\":\"%s\",\"IsInteractive\":true,"
                "\"UserAgent\":\"%s\",\"UserPrincipalName\":\"%s\",\"UserId\":\"%s\","
                "\"ResourceDisplayName\":\"Office 365 Exchange Online\",\"UniqueTokenIdentifier\":"
                "\"%s\",\"SessionId\":\"%s\",\"TokenIssuerType\":\"AzureAD\",\"HomeTenantId\":\"%s\","
                "\"ResourceTenantId\":\"%s\",\"Type\":\"SigninLogs\"}\n",
                o->tenant, when, o->tenant, corr, client, ip, id, ua, u->upn, u->oid, token_id,
                session, o->tenant, o->tenant);
    } else { /* diagnostic-settings envelope, one {"records":[...]} file */
        fprintf(f,
                "%s\n{\"time\":\"%s\",\"resourceId\":\"/tenants/%s/providers/Microsoft.aadiam\","
                "\"operationName\":\"Sign-in activity\",\"category\":\"SignInLogs\",\"tenantId\":"
                "\"%s\",\"resultType\":\"0\",\"callerIpAddress\":\"%s\",\"correlationId\":\"%s\","
                "\"properties\":{\"id\":\"%s\",\"createdDateTime\":\"%s\",\"userPrincipalName\":\"%s\","
                "\"userId\":\"%s\",\"appId\":\"%s\",\"appDisplayName\":\"Microsoft Office\","
                "\"ipAddress\":\"%s\",\"status\":{\"errorCode\":0},\"userAgent\":\"%s\","
                "\"resourceDisplayName\":\"Office 365 Exchange Online\",\"uniqueTokenIdentifier\":"
                "\"%s\",\"sessionId\":\"%s\",\"homeTenantId\":\"%s\",\"resourceTenantId\":\"%s\"}}",
                o->signin_first ? "" : ",", when, o->tenant, o->tenant, ip, corr, id, when, u->upn,
                u->oid, client, ip, ua, token_id, session, o->tenant, o->tenant);
        o->signin_first = false;
    }
    o->n_records++;
}

/* ---- mailbox access ---------------------------------------------------------------------------- */

typedef struct access {
    const user *u;
    double t;
    const char *ip;
    const char *client;
    const char *token_tenant;
    const char *token_id; /* NULL: older shape without linkable identifiers */
    const char *session;
    const char *info;
    uint32_t n_items;
    uint32_t ops;
} access;

static void write_ual_record(vg_buf *b, org *o, const access *a, char id_out[37])
{
    char id[37], when[40];
    guid(id);
    memcpy(id_out, id, 37);
    iso(when, sizeof when, a->t, false);
    vg__buf_printf(b,
                   "{\"CreationTime\":\"%s\",\"Id\":\"%s\",\"Operation\":\"MailItemsAccessed\","
                   "\"OrganizationId\":\"%s\",\"RecordType\":50,\"ResultStatus\":\"Succeeded\","
                   "\"UserKey\":\"%s\",\"UserType\":0,\"Version\":1,\"Workload\":\"Exchange\","
                   "\"ClientIP\":\"%s\",\"UserId\":\"%s\",\"AppId\":\"%s\",\"ClientAppId\":\"%s\","
                   "\"ClientIPAddress\":\"%s\",\"ClientInfoString\":\"%s\",\"ExternalAccess\":false,"
                   "\"InternalLogonType\":0,\"LogonType\":0,\"MailboxGuid\":\"%s\","
                   "\"MailboxOwnerUPN\":\"%s\",\"OperationProperties\":[{\"Name\":\"MailAccessType\","
                   "\"Value\":\"Bind\"},{\"Name\":\"IsThrottled\",\"Value\":\"%s\"}],"
                   "\"OperationCount\":%u,\"TokenObjectId\":\"%s\",\"TokenTenantId\":\"%s\"",
                   when, id, o->tenant, a->u->oid, a->ip, a->u->upn, APP_OWA, a->client, a->ip,
                   a->info, a->u->mailbox, a->u->upn,
                   a->ops > 200 ? "True" : "False", /* bulk reads hit the Bind throttle */
                   a->ops, a->u->oid, a->token_tenant);
    if (a->token_id)
        vg__buf_printf(b,
                       ",\"SessionId\":\"%s\",\"AppAccessContext\":{\"AADSessionId\":\"%s\","
                       "\"ClientAppId\":\"%s\",\"UniqueTokenId\":\"%s\",\"IssuedAtTime\":\"%s\"}",
                       a->session, a->session, a->client, a->token_id, when);
    vg__buf_adds(b, ",\"Folders\":[{\"Id\":\"LgAAAAB\",\"Path\":\"\\\\Inbox\",\"FolderItems\":[");
    for (uint32_t k = 0; k < a->n_items; k++) {
        char mid[37];
        guid(mid);
        vg__buf_printf(b, "%s{\"InternetMessageId\":\"<%s@%s>\"}", k ? "," : "", mid,
                       o->name);
    }
    vg__buf_adds(b, "]}]}");
}

/* One MailItemsAccessed record in the organization's export shape. Returns its Id. */
static void write_access(sim *s, org *o, const access *a, char id[37])
{
    (void)s;
    vg_buf rec;
    vg__buf_init(&rec, 0);
    write_ual_record(&rec, o, a, id);
    switch (o->shape) {
    case 0: /* Management Activity API, NDJSON */
        fprintf(o->ual, "%s\n", rec.data);
        break;
    case 1: { /* Purview CSV export: CreationDate,UserIds,Operations,AuditData */
        char when[40];
        iso(when, sizeof when, a->t, false);
        fprintf(o->ual, "%s,%s,MailItemsAccessed,\"", when, a->u->upn);
        for (size_t i = 0; i < rec.len; i++) {
            if (rec.data[i] == '"')
                fputc('"', o->ual);
            fputc(rec.data[i], o->ual);
        }
        fputs("\"\r\n", o->ual);
        break;
    }
    case 2: { /* Sentinel OfficeActivity row: renamed columns, lists as JSON strings */
        char when[40];
        iso(when, sizeof when, a->t, true);
        vg_buf folders;
        vg__buf_init(&folders, 0);
        const char *f = strstr(rec.data, "\"Folders\":");
        size_t fl = rec.len - (size_t)(f + 10 - rec.data) - 1;
        vg__buf_add_json_str(&folders, f + 10, fl);
        fprintf(o->ual,
                "{\"TenantId\":\"%s\",\"TimeGenerated\":\"%s\",\"Operation\":\"MailItemsAccessed\","
                "\"OrganizationId\":\"%s\",\"RecordType\":\"ExchangeItemAggregated\",\"UserKey\":"
                "\"%s\",\"OfficeWorkload\":\"Exchange\",\"ResultStatus\":\"Succeeded\",\"OfficeId\":"
                "\"%s\",\"UserId\":\"%s\",\"Client_IPAddress\":\"%s\",\"ClientAppId\":\"%s\","
                "\"AppId\":\"%s\",\"ClientInfoString\":\"%s\",\"MailboxOwnerUPN\":\"%s\","
                "\"TokenTenantId\":\"%s\",%s%s%s\"OperationProperties\":\"[{\\\"Name\\\":"
                "\\\"MailAccessType\\\",\\\"Value\\\":\\\"Bind\\\"}]\",\"OperationCount\":%u,"
                "\"Folders\":\"%s\",\"Type\":\"OfficeActivity\"}\n",
                o->tenant, when, o->tenant, a->u->oid, id, a->u->upn, a->ip, a->client, APP_OWA,
                a->info, a->u->upn, a->token_tenant, a->token_id ? "\"SessionId\":\"" : "",
                a->token_id ? a->session : "", a->token_id ? "\"," : "", a->ops, folders.data);
        vg__buf_free(&folders);
        break;
    }
    default: /* Management Activity API, one JSON array */
        fprintf(o->ual, "%s\n%s", o->ual_first ? "" : ",", rec.data);
        o->ual_first = false;
    }
    vg__buf_free(&rec);
    o->n_records++;
}

static void file_activity(org *o, const user *u, double t, const char *ip)
{
    if (o->shape == 1 || o->shape == 2)
        return; /* only the API shapes carry SharePoint records here */
    char id[37], when[40];
    guid(id);
    iso(when, sizeof when, t, false);
    fprintf(o->ual,
            "%s{\"CreationTime\":\"%s\",\"Id\":\"%s\",\"Operation\":\"FileAccessed\","
            "\"OrganizationId\":\"%s\",\"RecordType\":6,\"UserType\":0,\"Version\":1,"
            "\"Workload\":\"SharePoint\",\"ClientIP\":\"%s\",\"UserId\":\"%s\",\"ObjectId\":"
            "\"https://%s.sharepoint.com/sites/team/report-%u.docx\"}%s",
            o->shape == 3 ? (o->ual_first ? "" : ",\n") : "", when, id, o->tenant, ip, u->upn,
            o->name, pick(500), o->shape == 3 ? "" : "\n");
    o->ual_first = false;
    o->n_records++;
}

/* ---- the scenario ------------------------------------------------------------------------------- */

static void org_ip(const org *o, uint32_t k, char out[16])
{
    unsigned h = (unsigned)(o->tenant[0] * 7 + o->tenant[1]);
    snprintf(out, 16, "198.%u.%u.%u", 18 + (h % 2), h % 256, 10 + k % 200);
}

static void benign_day(sim *s, org *o, uint32_t day)
{
    double day0 = s->start + day * 86400.0;
    int wd = (int)(((int64_t)(day0 / 86400) + 3) % 7); /* 0 = Monday */
    bool weekend = wd >= 5;
    for (uint32_t i = 0; i < o->n_users; i++) {
        user *u = &o->users[i];
        if (weekend && pick(5))
            continue;
        uint32_t sessions = 1 + pick(2);
        for (uint32_t k = 0; k < sessions; k++) {
            double local_h = 8 + pick(10) + pick(60) / 60.0;
            double t = day0 + (local_h - o->tz) * 3600.0;
            char ip[16], token[37], session[37];
            org_ip(o, i, ip);
            if (u->traveller && pick(3) == 0)
                snprintf(ip, sizeof ip, "203.0.113.%u", 1 + pick(250)); /* abroad, real sign-in */
            guid(token);
            guid(session);
            static const char *const *clients[] = {&CLIENT_OWA, &CLIENT_OUTLOOK, &CLIENT_MOBILE};
            const char *client = *clients[pick(3)];
            bool rest = pick(6) == 0; /* benign REST traffic, everywhere */
            write_signin(s, o, u, t - 30, ip, client, token, session,
                         rest ? "python-requests/2.31" : "Mozilla/5.0 (Windows NT 10.0; Win64; x64)");
            access a = {u, t, ip, rest ? CLIENT_GRAPH : client, o->tenant, token, session,
                        rest ? "Client=REST;Client=RESTSystem;;" : "Client=OWA;Action=ViewConv",
                        1 + pick(3), 1 + pick(4)};
            char id[37];
            write_access(s, o, &a, id);
            if (pick(3) == 0)
                file_activity(o, u, t + 600, ip);
        }
        /* decoy: a legitimate vendor mail app adopted mid-period, with real sign-ins */
        if (o->decoy_vendor && day >= s->days / 2 && i % 3 == 0 && !weekend) {
            double t = day0 + (11 - o->tz) * 3600.0 + pick(3600);
            char ip[16], token[37], session[37], id[37];
            snprintf(ip, sizeof ip, "192.0.2.%u", 10 + pick(4)); /* the vendor's fixed addresses */
            guid(token);
            guid(session);
            write_signin(s, o, u, t - 20, ip, CLIENT_VENDOR, token, session, "VendorMail/4.2");
            access a = {u, t, ip, CLIENT_VENDOR, o->tenant, token, session, "Client=REST;VendorMail;",
                        2 + pick(5), 2};
            write_access(s, o, &a, id);
            json_list_add(&s->decoy_ids, id);
        }
    }
    /* decoy: an address from the indicator list, months before its window (5.252.176.8 was
     * actor infrastructure on 1 Jul 2023 only) */
    if (o->decoy_old_ip && day == 1) {
        user *u = &o->users[0];
        double t = s->start - 90 * 86400.0 + (10 - o->tz) * 3600.0;
        char token[37], session[37], id[37];
        guid(token);
        guid(session);
        write_signin(s, o, u, t - 10, "5.252.176.8", CLIENT_OWA, token, session, "Mozilla/5.0");
        access a = {u, t, "5.252.176.8", CLIENT_OWA, o->tenant, token, session,
                    "Client=OWA;Action=ViewConv", 1, 1};
        write_access(s, o, &a, id);
        json_list_add(&s->decoy_ids, id);
    }
}

static void campaign_day(sim *s, org *o, uint32_t day)
{
    double day0 = s->start + day * 86400.0;
    if (day0 < s->campaign_start)
        return;
    int wd = (int)(((int64_t)(day0 / 86400) + 3) % 7);
    if (wd >= 5 || pick(3) == 0)
        return; /* the actor works Monday to Friday, not every day at every victim */
    uint32_t targets = 1 + (o->n_users > 8 ? 2 : 0);
    for (uint32_t k = 0; k < targets; k++) {
        user *u = &o->users[(k * 5) % o->n_users];
        uint32_t bursts = 1 + pick(3);
        for (uint32_t b = 0; b < bursts; b++) {
            double t = day0 + (pick(9) * 3600.0) + pick(3600); /* 00:00-09:00 UTC */
            char ip[16];
            if (pick(2))
                snprintf(ip, sizeof ip, "%s", published_ips[pick(VG_ARRAY_LEN(published_ips))]);
            else
                snprintf(ip, sizeof ip, "45.153.%u.%u", 160 + pick(4), 1 + pick(250)); /* unlisted */
            char token[37], session[37], id[37];
            guid(token);
            guid(session);
            bool old_shape = pick(10) < 3; /* no linkable identifiers */
            access a = {u, t, ip, CLIENT_ACTOR, pick(2) ? CONSUMER_TENANT : o->tenant,
                        old_shape ? NULL : token, session, "Client=REST;Client=RESTSystem;;",
                        20 + pick(60), 40 + pick(200)};
            write_access(s, o, &a, id);
            json_list_add(&s->campaign_ids, id);
            s->n_campaign++;
        }
    }
}

static int mkdir_p(const char *p)
{
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return VIGIE_IO;
    return VIGIE_OK;
}


/* ---- bearer tokens: two key sets and an application's access log ------------------------------ */

/* A deterministic RSA key from the scenario's PRNG (OpenSSL's own generator draws from the
 * system's entropy, which would break "same seed, same bytes"). */
static BIGNUM *det_prime(BN_CTX *ctx, int bytes)
{
    unsigned char buf[256];
    for (int i = 0; i < bytes; i++)
        buf[i] = (unsigned char)rnd();
    buf[0] |= 0xC0;
    buf[bytes - 1] |= 1;
    BIGNUM *p = BN_bin2bn(buf, bytes, NULL);
    while (p && BN_check_prime(p, ctx, NULL) != 1)
        BN_add_word(p, 2);
    return p;
}

static EVP_PKEY *det_rsa(BIGNUM **n_out)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = det_prime(ctx, 128), *q = det_prime(ctx, 128);
    BIGNUM *n = BN_new(), *e = BN_new(), *d = BN_new(), *p1 = BN_new(), *q1 = BN_new();
    BIGNUM *phi = BN_new(), *dp = BN_new(), *dq = BN_new(), *qi = BN_new();
    EVP_PKEY *key = NULL;
    BN_set_word(e, 65537);
    BN_mul(n, p, q, ctx);
    BN_sub(p1, p, BN_value_one());
    BN_sub(q1, q, BN_value_one());
    BN_mul(phi, p1, q1, ctx);
    if (BN_mod_inverse(d, e, phi, ctx) && BN_mod(dp, d, p1, ctx) && BN_mod(dq, d, q1, ctx) &&
        BN_mod_inverse(qi, q, p, ctx)) {
        OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, d);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, p);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, q);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi);
        OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (pc && EVP_PKEY_fromdata_init(pc) > 0)
            EVP_PKEY_fromdata(pc, &key, EVP_PKEY_KEYPAIR, params);
        EVP_PKEY_CTX_free(pc);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(b);
    }
    *n_out = n;
    BN_free(p), BN_free(q), BN_free(e), BN_free(d), BN_free(p1), BN_free(q1);
    BN_free(phi), BN_free(dp), BN_free(dq), BN_free(qi);
    BN_CTX_free(ctx);
    return key;
}

typedef struct keyset {
    EVP_PKEY *key;
    char kid[64];
    vg_buf x5t, n;
} keyset;

static int keyset_make(keyset *k, const char *kid)
{
    BIGNUM *n = NULL;
    memset(k, 0, sizeof *k);
    k->key = det_rsa(&n);
    if (!k->key || !n)
        return VIGIE_NOMEM;
    unsigned char nb[512], dig[SHA_DIGEST_LENGTH];
    int nl = BN_bn2bin(n, nb);
    BN_free(n);
    SHA1(nb, (size_t)nl, dig);
    vg__buf_init(&k->x5t, 0);
    vg__buf_init(&k->n, 0);
    vg__b64url_encode(&k->x5t, dig, sizeof dig);
    vg__b64url_encode(&k->n, nb, (size_t)nl);
    snprintf(k->kid, sizeof k->kid, "%s", kid);
    return VIGIE_OK;
}

static void keyset_free(keyset *k)
{
    EVP_PKEY_free(k->key);
    vg__buf_free(&k->x5t);
    vg__buf_free(&k->n);
}

static int write_jwks(const char *path, const keyset *k, const char *issuer_note)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return VIGIE_IO;
    fprintf(f, "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"x5t\":\"%s\","
               "\"n\":\"%s\",\"e\":\"AQAB\",\"issuer\":\"%s\"}]}\n",
            k->kid, k->x5t.data, k->n.data, issuer_note);
    fclose(f);
    return VIGIE_OK;
}

static int sign_jwt(const keyset *k, const char *payload, vg_buf *out)
{
    vg_buf hdr;
    vg__buf_init(&hdr, 0);
    vg__buf_printf(&hdr, "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5t\":\"%s\",\"kid\":\"%s\"}",
                   k->x5t.data, k->kid);
    vg__buf_reset(out);
    vg__b64url_encode(out, (const unsigned char *)hdr.data, hdr.len);
    vg__buf_addc(out, '.');
    vg__b64url_encode(out, (const unsigned char *)payload, strlen(payload));
    vg__buf_free(&hdr);
    unsigned char sig[512];
    size_t sl = sizeof sig;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    int ok = mc && EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, k->key) == 1 &&
             EVP_DigestSign(mc, sig, &sl, (const unsigned char *)out->data, out->len) == 1;
    EVP_MD_CTX_free(mc);
    if (!ok)
        return VIGIE_INVAL;
    vg__buf_addc(out, '.');
    vg__b64url_encode(out, sig, sl);
    return VIGIE_OK;
}

/* The multi-tenant application's gateway log: one request per line with its bearer token.
 * Forged requests (victims, campaign days) carry an enterprise issuer signed by the consumer
 * key. Their request ids go to truth.json. */
static int write_tokens(sim *s, vg_buf *forged_ids)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/keys", s->dir);
    if (mkdir_p(path))
        return VIGIE_IO;
    snprintf(path, sizeof path, "%s/app-gateway", s->dir);
    if (mkdir_p(path))
        return VIGIE_IO;
    keyset ent, con;
    int rc = keyset_make(&ent, "ent-2023-1");
    if (!rc)
        rc = keyset_make(&con, "d4b4cccda9228624656bff33d8110955779632aa");
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/keys/enterprise-jwks.json", s->dir);
    rc = write_jwks(path, &ent, "https://login.microsoftonline.com/{tenantid}/v2.0");
    snprintf(path, sizeof path, "%s/keys/consumer-jwks.json", s->dir);
    if (!rc)
        rc = write_jwks(path, &con, "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0");
    snprintf(path, sizeof path, "%s/app-gateway/access.ndjson", s->dir);
    FILE *f = rc ? NULL : fopen(path, "wb");
    if (!f) {
        keyset_free(&ent);
        keyset_free(&con);
        return rc ? rc : VIGIE_IO;
    }
    vg_buf jwt, payload;
    vg__buf_init(&jwt, 0);
    vg__buf_init(&payload, 0);
    for (uint32_t day = 0; day < s->days && !rc; day++) {
        for (uint32_t i = 0; i < s->n_orgs && !rc; i++) {
            org *o = &s->orgs[i];
            double day0 = s->start + day * 86400.0;
            uint32_t n = 2 + pick(3);
            bool forge_day = o->victim && day0 >= s->campaign_start && pick(2);
            for (uint32_t k = 0; k < n + (forge_day ? 1 : 0) && !rc; k++) {
                bool forged = forge_day && k == n;
                const user *u = &o->users[pick(o->n_users)];
                double t = day0 + (forged ? pick(9) * 3600.0 : (9 + pick(8) - o->tz) * 3600.0) +
                           pick(3600);
                char uti[37], rid[37], when[40], ip[16];
                guid(uti);
                guid(rid);
                vg__format_time(t, when, sizeof when);
                if (forged)
                    snprintf(ip, sizeof ip, "%s", published_ips[pick(VG_ARRAY_LEN(published_ips))]);
                else
                    org_ip(o, pick(200), ip);
                vg__buf_reset(&payload);
                vg__buf_printf(&payload,
                               "{\"aud\":\"https://outlook.office365.com\",\"iss\":"
                               "\"https://login.microsoftonline.com/%s/v2.0\",\"iat\":%lld,"
                               "\"nbf\":%lld,\"exp\":%lld,\"tid\":\"%s\",\"oid\":\"%s\","
                               "\"upn\":\"%s\",\"appid\":\"%s\",\"scp\":\"Mail.Read\","
                               "\"uti\":\"%.22s\",\"ver\":\"2.0\"}",
                               o->tenant, (long long)t - 60, (long long)t - 60,
                               (long long)t + 3540, o->tenant, u->oid, u->upn,
                               forged ? CLIENT_ACTOR : CLIENT_OUTLOOK, uti);
                rc = sign_jwt(forged ? &con : &ent, payload.data, &jwt);
                fprintf(f, "{\"time\":\"%s\",\"request_id\":\"%s\",\"tenant\":\"%s\","
                           "\"client_ip\":\"%s\",\"method\":\"GET\",\"path\":"
                           "\"/api/v2.0/me/messages\",\"status\":200,\"user_agent\":\"%s\","
                           "\"authorization\":\"Bearer %s\"}\n",
                        when, rid, o->tenant, ip,
                        forged ? "python-requests/2.25.1" : "Microsoft Office/16.0", jwt.data);
                if (forged)
                    json_list_add(forged_ids, rid);
            }
        }
    }
    fclose(f);
    vg__buf_free(&jwt);
    vg__buf_free(&payload);
    keyset_free(&ent);
    keyset_free(&con);
    return rc;
}

static int run(sim *s)
{
    char path[4096];
    if (mkdir_p(s->dir))
        return VIGIE_IO;
    rs ^= s->seed * 0xD1B54A32D192ED03ull;
    for (int i = 0; i < 8; i++)
        rnd();
    s->start = 1685577600.0; /* 2023-06-01 00:00 UTC */
    s->campaign_start = s->start + (s->days / 2) * 86400.0;
    s->orgs = calloc(s->n_orgs, sizeof *s->orgs);
    if (!s->orgs)
        return VIGIE_NOMEM;
    /* victims: the first K of a seeded permutation */
    uint32_t *perm = calloc(s->n_orgs, sizeof *perm);
    for (uint32_t i = 0; i < s->n_orgs; i++)
        perm[i] = i;
    for (uint32_t i = s->n_orgs; i > 1; i--) {
        uint32_t j = pick(i), tmp = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = tmp;
    }
    for (uint32_t i = 0; i < s->victims && i < s->n_orgs; i++)
        s->orgs[perm[i]].victim = true;
    uint32_t clean_seen = 0;
    for (uint32_t i = 0; i < s->n_orgs; i++) {
        org *o = &s->orgs[i];
        snprintf(o->name, sizeof o->name, "org%02u.example", i + 1);
        guid(o->tenant);
        o->tz = -8 + (int)pick(18);
        o->shape = (int)(i % 4);
        if (!o->victim) {
            o->decoy_vendor = clean_seen % 3 == 0;
            o->decoy_old_ip = clean_seen % 4 == 1;
            clean_seen++;
        }
        o->n_users = 6 + pick(10);
        char dom[sizeof o->name]; /* a copy: GCC's -Wrestrict cannot tell upn from name */
        memcpy(dom, o->name, sizeof dom);
        for (uint32_t k = 0; k < o->n_users; k++) {
            user *u = &o->users[k];
            snprintf(u->upn, sizeof u->upn, "user%02u@%s", k + 1, dom);
            guid(u->oid);
            guid(u->mailbox);
            u->traveller = pick(8) == 0;
        }
        snprintf(path, sizeof path, "%s/%s", s->dir, o->name);
        if (mkdir_p(path))
            return VIGIE_IO;
        static const char *const ual_names[] = {"audit-management-api.ndjson",
                                                "purview-audit-export.csv",
                                                "sentinel-officeactivity.ndjson",
                                                "audit-management-api.json"};
        snprintf(path, sizeof path, "%s/%s/%s", s->dir, o->name, ual_names[o->shape]);
        o->ual = fopen(path, "wb");
        snprintf(path, sizeof path, "%s/%s/%s", s->dir, o->name,
                 o->shape % 2 == 0 ? "signin-loganalytics.ndjson" : "signin-eventhub.json");
        o->signin = fopen(path, "wb");
        if (!o->ual || !o->signin)
            return VIGIE_IO;
        o->ual_first = o->signin_first = true;
        if (o->shape == 1)
            fputs("CreationDate,UserIds,Operations,AuditData\r\n", o->ual);
        if (o->shape == 3)
            fputs("[", o->ual);
        if (o->shape % 2 == 1)
            fputs("{\"records\":[", o->signin);
    }
    free(perm);
    for (uint32_t d = 0; d < s->days; d++)
        for (uint32_t i = 0; i < s->n_orgs; i++) {
            benign_day(s, &s->orgs[i], d);
            if (s->orgs[i].victim)
                campaign_day(s, &s->orgs[i], d);
        }
    for (uint32_t i = 0; i < s->n_orgs; i++) {
        org *o = &s->orgs[i];
        if (o->shape == 3)
            fputs("\n]\n", o->ual);
        if (o->shape % 2 == 1)
            fputs("\n]}\n", o->signin);
        fclose(o->ual);
        fclose(o->signin);
    }
    vg_buf forged;
    vg__buf_init(&forged, 0);
    int trc = write_tokens(s, &forged);
    if (trc) {
        vg__buf_free(&forged);
        return trc;
    }
    /* truth.json */
    snprintf(path, sizeof path, "%s/truth.json", s->dir);
    FILE *t = fopen(path, "wb");
    if (!t)
        return VIGIE_IO;
    char first[40], camp[40];
    vg__format_time(s->start, first, sizeof first);
    vg__format_time(s->campaign_start, camp, sizeof camp);
    fprintf(t, "{\"seed\":%llu,\"days\":%u,\"start\":\"%s\",\"campaign_start\":\"%s\","
               "\"actor_client_app_id\":\"%s\",\"orgs\":[",
            (unsigned long long)s->seed, s->days, first, camp, CLIENT_ACTOR);
    for (uint32_t i = 0; i < s->n_orgs; i++) {
        org *o = &s->orgs[i];
        static const char *const shapes[] = {"management-api-ndjson+signin-la",
                                             "purview-csv+signin-eventhub",
                                             "officeactivity+signin-la",
                                             "management-api-array+signin-eventhub"};
        fprintf(t, "%s\n {\"name\":\"%s\",\"tenant\":\"%s\",\"victim\":%s,\"utc_offset\":%d,"
                   "\"shapes\":\"%s\",\"decoys\":[%s%s%s],\"records\":%llu}",
                i ? "," : "", o->name, o->tenant, o->victim ? "true" : "false", o->tz,
                shapes[o->shape], o->decoy_vendor ? "\"new_vendor_mail_app\"" : "",
                o->decoy_vendor && o->decoy_old_ip ? "," : "",
                o->decoy_old_ip ? "\"indicator_ip_before_window\"" : "",
                (unsigned long long)o->n_records);
    }
    fprintf(t, "\n],\"victims\":[");
    bool firstv = true;
    for (uint32_t i = 0; i < s->n_orgs; i++)
        if (s->orgs[i].victim) {
            fprintf(t, "%s\"%s\"", firstv ? "" : ",", s->orgs[i].tenant);
            firstv = false;
        }
    fprintf(t, "],\n\"campaign_record_ids\":[%s],\n\"decoy_record_ids\":[%s],\n"
               "\"forged_token_request_ids\":[%s],\n\"jwks\":{\"enterprise\":"
               "\"keys/enterprise-jwks.json\",\"consumer\":\"keys/consumer-jwks.json\"}}\n",
            s->campaign_ids.data ? s->campaign_ids.data : "",
            s->decoy_ids.data ? s->decoy_ids.data : "", forged.data ? forged.data : "");
    vg__buf_free(&forged);
    fclose(t);
    return VIGIE_OK;
}

int vg__sim_simulate(int argc, char **argv)
{
    sim s;
    memset(&s, 0, sizeof s);
    s.n_orgs = 25;
    s.days = 14;
    s.victims = 5;
    s.seed = 1;
    vg__buf_init(&s.campaign_ids, 0);
    vg__buf_init(&s.decoy_ids, 0);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: vigie-sim simulate [--orgs N] [--days D] [--victims K] [--seed S] -o DIR\n");
            return VG_SIM_EXIT_OK;
        }
        if (!v) {
            fprintf(stderr, "vigie-sim: error: option '%s' needs a value\n", a);
            return VG_SIM_EXIT_USAGE;
        }
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            s.dir = v;
        } else if (*end) {
            fprintf(stderr, "vigie-sim: error: %s wants a number\n", a);
            return VG_SIM_EXIT_USAGE;
        } else if (!strcmp(a, "--orgs")) {
            s.n_orgs = (uint32_t)n;
        } else if (!strcmp(a, "--days")) {
            s.days = (uint32_t)n;
        } else if (!strcmp(a, "--victims")) {
            s.victims = (uint32_t)n;
        } else if (!strcmp(a, "--seed")) {
            s.seed = n;
        } else {
            fprintf(stderr, "vigie-sim: error: unknown option '%s'\n", a);
            return VG_SIM_EXIT_USAGE;
        }
        i++;
    }
    if (!s.dir || s.n_orgs == 0 || s.n_orgs > MAX_ORGS || s.days < 2 || s.days > 400 ||
        s.victims > s.n_orgs) {
        fprintf(stderr, "vigie-sim: error: simulate needs -o DIR, 1-%d orgs, 2-400 days and no more "
                        "victims than orgs\n", MAX_ORGS);
        return VG_SIM_EXIT_USAGE;
    }
    int rc = run(&s);
    if (rc)
        fprintf(stderr, "vigie-sim: error: simulate: %s: %s\n", s.dir, vigie_strerror(rc));
    else
        fprintf(stderr, "vigie-sim: simulated %u organizations over %u days (%u victims, %llu campaign "
                        "records) into %s\n", s.n_orgs, s.days, s.victims,
                (unsigned long long)s.n_campaign, s.dir);
    free(s.orgs);
    vg__buf_free(&s.campaign_ids);
    vg__buf_free(&s.decoy_ids);
    return rc ? VG_SIM_EXIT_INPUT : VG_SIM_EXIT_OK;
}
