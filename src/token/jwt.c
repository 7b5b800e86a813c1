/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwt.c: JWKS key sets and JWT verdicts (see token.h). OpenSSL 3 builds RSA public keys from
 * the JWKS modulus and exponent (OSSL_PARAM) and verifies RS256/384/512 signatures. Signature
 * verification happens only for the key the header names; comparisons of thumbprints use
 * CRYPTO_memcmp. Per token: three base64url decodes into stack buffers (tokens over 16 KiB
 * are not judged), two small JSON parses.
 */
#define _POSIX_C_SOURCE 200809L
#include "token.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Key ids / thumbprints published as compromised: the Storm-0558 MSA signing key. */
static const char *const compromised[] = {"d4b4cccda9228624656bff33d8110955779632aa"};

typedef struct jkey {
    char kid[128];
    char x5t[64];
    EVP_PKEY *pub;
    uint32_t set;
} jkey;

typedef struct kset {
    char issuer[256];
} kset;

struct vg_keysets {
    kset *sets;
    uint32_t n_sets;
    jkey *keys;
    uint32_t n_keys;
};

const char *vg__jwt_verdict_name(int v)
{
    static const char *const n[] = {"ok", "not_jwt", "no_keyset", "alg_none", "alg_confusion",
                                    "key_compromised", "key_other_issuer", "key_unknown",
                                    "bad_signature"};
    return v >= 0 && v < (int)VG_ARRAY_LEN(n) ? n[v] : "unknown";
}

int vg__keysets_new(vg_keysets **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? VIGIE_OK : VIGIE_NOMEM;
}

void vg__keysets_free(vg_keysets *k)
{
    if (!k)
        return;
    for (uint32_t i = 0; i < k->n_keys; i++)
        EVP_PKEY_free(k->keys[i].pub);
    free(k->keys);
    free(k->sets);
    free(k);
}

uint32_t vg__keysets_count(const vg_keysets *k)
{
    return k->n_keys;
}

static EVP_PKEY *rsa_pub(const unsigned char *n, size_t nl, const unsigned char *e, size_t el)
{
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY *key = NULL;
    if (bn && be && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be)) {
        OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (p && c && EVP_PKEY_fromdata_init(c) > 0)
            EVP_PKEY_fromdata(c, &key, EVP_PKEY_PUBLIC_KEY, p);
        EVP_PKEY_CTX_free(c);
        OSSL_PARAM_free(p);
    }
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return key;
}

int vg__keysets_load(vg_keysets *k, const char *issuer, const char *path, vigie_diag_fn diag,
                     void *diag_ud)
{
    char *text;
    size_t len;
    int rc = vg__read_file(path, 16u << 20, &text, &len);
    if (rc)
        return rc;
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jerr err;
    int64_t keys = -1;
    if ((rc = vg__json_parse(&t, text, len, &err)) == VIGIE_OK)
        keys = vg__json_obj_get(&t, 0, "keys", 4);
    if (rc || keys < 0 || t.tok[keys].type != VG_J_ARRAY) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_JSON, path, 0, 0, NULL,
                 "JWKS: expected {\"keys\":[...]}%s%s", rc ? ": " : "", rc ? err.msg : "");
        vg__jtape_free(&t);
        free(text);
        return VIGIE_JSON;
    }
    kset *ns = realloc(k->sets, (k->n_sets + 1) * sizeof *ns);
    if (!ns) {
        vg__jtape_free(&t);
        free(text);
        return VIGIE_NOMEM;
    }
    k->sets = ns;
    snprintf(k->sets[k->n_sets].issuer, sizeof k->sets[0].issuer, "%s", issuer);
    uint32_t set = k->n_sets++;
    for (uint32_t i = (uint32_t)keys + 1; i < t.tok[keys].next; i = t.tok[i].next) {
        char kty[16], kid[128], x5t[64], n64[2048], e64[32];
        vg__json_str_copy(&t, vg__json_obj_get(&t, i, "kty", 3), kty, sizeof kty);
        vg__json_str_copy(&t, vg__json_obj_get(&t, i, "kid", 3), kid, sizeof kid);
        vg__json_str_copy(&t, vg__json_obj_get(&t, i, "x5t", 3), x5t, sizeof x5t);
        vg__json_str_copy(&t, vg__json_obj_get(&t, i, "n", 1), n64, sizeof n64);
        vg__json_str_copy(&t, vg__json_obj_get(&t, i, "e", 1), e64, sizeof e64);
        unsigned char n[1024], e[16];
        size_t nl, el;
        EVP_PKEY *pub = NULL;
        if (!strcmp(kty, "RSA") && !vg__b64url_decode(n64, strlen(n64), n, sizeof n, &nl) &&
            !vg__b64url_decode(e64, strlen(e64), e, sizeof e, &el))
            pub = rsa_pub(n, nl, e, el);
        if (!pub) {
            vg__diag(diag, diag_ud, VIGIE_DIAG_WARNING, VIGIE_INVAL, path, 0, 0, NULL,
                     "JWKS: key '%s' skipped: not an RSA key with n and e", kid);
            continue;
        }
        jkey *nk = realloc(k->keys, (k->n_keys + 1) * sizeof *nk);
        if (!nk) {
            EVP_PKEY_free(pub);
            break;
        }
        k->keys = nk;
        jkey *d = &k->keys[k->n_keys++];
        snprintf(d->kid, sizeof d->kid, "%s", kid);
        snprintf(d->x5t, sizeof d->x5t, "%s", x5t);
        d->pub = pub;
        d->set = set;
    }
    vg__jtape_free(&t);
    free(text);
    return VIGIE_OK;
}

static bool issuer_matches(const char *pat, const char *iss)
{
    const char *star = strchr(pat, '*');
    if (!star)
        return !strcmp(pat, iss);
    size_t pre = (size_t)(star - pat), post = strlen(star + 1), il = strlen(iss);
    return il >= pre + post && !strncmp(pat, iss, pre) && !strcmp(star + 1, iss + il - post);
}

static bool verify(EVP_PKEY *pub, const char *alg, const char *signed_part, size_t sl,
                   const unsigned char *sig, size_t sigl)
{
    const EVP_MD *md = !strcmp(alg, "RS256") ? EVP_sha256()
                       : !strcmp(alg, "RS384") ? EVP_sha384()
                       : !strcmp(alg, "RS512") ? EVP_sha512() : NULL;
    if (!md)
        return false;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestVerifyInit(c, NULL, md, NULL, pub) == 1 &&
              EVP_DigestVerify(c, sig, sigl, (const unsigned char *)signed_part, sl) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

void vg__jwt_check(const vg_keysets *k, const char *tok, size_t len, vg_jwt_result *res)
{
    memset(res, 0, sizeof *res);
    unsigned char dig[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, len, dig);
    for (int i = 0; i < 8; i++)
        snprintf(res->fingerprint + 2 * i, 3, "%02x", dig[i]);
    res->verdict = VG_JWT_NOT_JWT;
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d1 || !d2 || len > VG_MAX_TOKEN_BYTES)
        return;
    unsigned char hdr[2048], pay[8192], sig[1024];
    size_t hl, pl, sl;
    if (vg__b64url_decode(tok, (size_t)(d1 - tok), hdr, sizeof hdr, &hl) ||
        vg__b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pay, sizeof pay, &pl) ||
        vg__b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - tok), sig, sizeof sig, &sl))
        return;
    vg_jtape th, tp;
    vg__jtape_init(&th);
    vg__jtape_init(&tp);
    if (vg__json_parse(&th, (const char *)hdr, hl, NULL) || th.tok[0].type != VG_J_OBJECT ||
        vg__json_parse(&tp, (const char *)pay, pl, NULL) || tp.tok[0].type != VG_J_OBJECT)
        goto out;
    vg__json_str_copy(&th, vg__json_obj_get(&th, 0, "alg", 3), res->alg, sizeof res->alg);
    vg__json_str_copy(&th, vg__json_obj_get(&th, 0, "kid", 3), res->kid, sizeof res->kid);
    char x5t[64];
    vg__json_str_copy(&th, vg__json_obj_get(&th, 0, "x5t", 3), x5t, sizeof x5t);
    vg__json_str_copy(&tp, vg__json_obj_get(&tp, 0, "iss", 3), res->issuer, sizeof res->issuer);
    /* the issuer's own set: exact patterns first, then patterns with '*' */
    int64_t own = -1;
    for (int pass = 0; pass < 2 && own < 0; pass++)
        for (uint32_t s = 0; s < k->n_sets && own < 0; s++)
            if ((strchr(k->sets[s].issuer, '*') != NULL) == (pass == 1) &&
                issuer_matches(k->sets[s].issuer, res->issuer))
                own = s;
    if (!strcmp(res->alg, "none") || !res->alg[0]) {
        res->verdict = VG_JWT_ALG_NONE;
        goto out;
    }
    /* known-compromised: by key id, or by thumbprint (x5t is base64url of the SHA-1) */
    {
        unsigned char x5[64];
        size_t x5l = 0;
        char x5hex[129] = "";
        if (x5t[0] && !vg__b64url_decode(x5t, strlen(x5t), x5, sizeof x5, &x5l))
            for (size_t i = 0; i < x5l && i < 64; i++)
                snprintf(x5hex + 2 * i, 3, "%02x", x5[i]);
        for (size_t i = 0; i < VG_ARRAY_LEN(compromised); i++) {
            size_t cl = strlen(compromised[i]);
            if (vg__ascii_ieq(res->kid, strlen(res->kid), compromised[i], cl) ||
                vg__ascii_ieq(x5hex, strlen(x5hex), compromised[i], cl))
                res->compromised = true;
        }
    }
    if (own < 0) {
        res->verdict = res->compromised ? VG_JWT_KEY_COMPROMISED : VG_JWT_NO_KEYSET;
        goto out;
    }
    if (strncmp(res->alg, "RS", 2) != 0) {
        res->verdict = VG_JWT_ALG_CONFUSION;
        goto out;
    }
    {
        const char *signed_part = tok;
        size_t signed_len = (size_t)(d2 - tok);
        const jkey *mine = NULL, *other = NULL;
        for (uint32_t i = 0; i < k->n_keys; i++) {
            const jkey *key = &k->keys[i];
            bool named = (res->kid[0] && !strcmp(key->kid, res->kid)) ||
                         (x5t[0] && key->x5t[0] && strlen(key->x5t) == strlen(x5t) &&
                          !CRYPTO_memcmp(key->x5t, x5t, strlen(x5t)));
            if (!named)
                continue;
            if ((int64_t)key->set == own)
                mine = key;
            else if (!other)
                other = key;
        }
        if (mine) {
            res->verdict = verify(mine->pub, res->alg, signed_part, signed_len, sig, sl)
                               ? (res->compromised ? VG_JWT_KEY_COMPROMISED : VG_JWT_OK)
                               : VG_JWT_BAD_SIGNATURE;
        } else if (other) {
            snprintf(res->key_issuer, sizeof res->key_issuer, "%s", k->sets[other->set].issuer);
            res->verdict = verify(other->pub, res->alg, signed_part, signed_len, sig, sl)
                               ? VG_JWT_KEY_OTHER_ISSUER
                               : VG_JWT_BAD_SIGNATURE;
        } else {
            res->verdict = res->compromised ? VG_JWT_KEY_COMPROMISED : VG_JWT_KEY_UNKNOWN;
        }
    }
out:
    vg__jtape_free(&th);
    vg__jtape_free(&tp);
}
