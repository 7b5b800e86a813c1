/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_token.c: bearer-token verdicts against per-issuer key sets: a good token, alg none,
 * algorithm confusion, a key of another issuer (the 2023 flaw), an unknown key, a tampered
 * signature, a known-compromised key id, an issuer without key set, not a JWT; issuer
 * patterns with '*', exact issuers first; fingerprints never the token.
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "token/token.h"

static EVP_PKEY *newkey(void)
{
    return EVP_RSA_gen(2048);
}

static void write_jwks(const char *path, EVP_PKEY *k, const char *kid)
{
    BIGNUM *n = NULL, *e = NULL;
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
    unsigned char nb[512], eb[8];
    int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
    vg_buf nn, ee;
    vg__buf_init(&nn, 0);
    vg__buf_init(&ee, 0);
    vg__b64url_encode(&nn, nb, (size_t)nl);
    vg__b64url_encode(&ee, eb, (size_t)el);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}]}", kid,
            nn.data, ee.data);
    fclose(f);
    vg__buf_free(&nn);
    vg__buf_free(&ee);
    BN_free(n);
    BN_free(e);
}

static void make_token(vg_buf *out, EVP_PKEY *k, const char *alg, const char *kid, const char *iss)
{
    char hdr[256], pay[512];
    snprintf(hdr, sizeof hdr, "{\"typ\":\"JWT\",\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    snprintf(pay, sizeof pay, "{\"iss\":\"%s\",\"tid\":\"t\",\"exp\":1900000000}", iss);
    vg__buf_reset(out);
    vg__b64url_encode(out, (const unsigned char *)hdr, strlen(hdr));
    vg__buf_addc(out, '.');
    vg__b64url_encode(out, (const unsigned char *)pay, strlen(pay));
    unsigned char sig[512];
    size_t sl = 0;
    if (k && !strcmp(alg, "RS256")) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        sl = sizeof sig;
        EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k);
        EVP_DigestSign(c, sig, &sl, (const unsigned char *)out->data, out->len);
        EVP_MD_CTX_free(c);
    } else if (strcmp(alg, "none")) {
        memset(sig, 7, 32);
        sl = 32;
    }
    vg__buf_addc(out, '.');
    vg__b64url_encode(out, sig, sl);
}

static int verdict(const vg_keysets *ks, const vg_buf *tok, vg_jwt_result *r)
{
    vg__jwt_check(ks, tok->data, tok->len, r);
    return r->verdict;
}

static void test_verdicts(void)
{
    const char *ent_iss = "https://login.example/tenant-1/v2.0";
    const char *con_iss = "https://login.example/consumers/v2.0";
    EVP_PKEY *ent = newkey(), *con = newkey(), *rogue = newkey();
    char ep[] = "/tmp/vigie-jwks-e-XXXXXX", cp[] = "/tmp/vigie-jwks-c-XXXXXX";
    close(mkstemp(ep));
    close(mkstemp(cp));
    write_jwks(ep, ent, "ent-1");
    write_jwks(cp, con, "d4b4cccda9228624656bff33d8110955779632aa");
    vg_keysets *ks;
    CHECK_EQ_INT(vg__keysets_new(&ks), VIGIE_OK);
    /* the exact consumer issuer must win over the enterprise pattern */
    CHECK_EQ_INT(vg__keysets_load(ks, "https://login.example/*/v2.0", ep, NULL, NULL), VIGIE_OK);
    CHECK_EQ_INT(vg__keysets_load(ks, con_iss, cp, NULL, NULL), VIGIE_OK);
    CHECK_EQ_INT(vg__keysets_count(ks), 2);
    vg_buf t;
    vg__buf_init(&t, 0);
    vg_jwt_result r;

    make_token(&t, ent, "RS256", "ent-1", ent_iss);
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_OK);
    CHECK(strlen(r.fingerprint) == 16 && !strstr(t.data, r.fingerprint));
    /* the forged-token pattern: enterprise issuer, consumer key */
    make_token(&t, con, "RS256", "d4b4cccda9228624656bff33d8110955779632aa", ent_iss);
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_KEY_OTHER_ISSUER);
    CHECK(r.compromised);
    CHECK_EQ_STR(r.key_issuer, con_iss);
    /* the consumer key for a consumer token is fine but on the compromised list */
    make_token(&t, con, "RS256", "d4b4cccda9228624656bff33d8110955779632aa", con_iss);
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_KEY_COMPROMISED);
    make_token(&t, NULL, "none", "ent-1", ent_iss);
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_ALG_NONE);
    make_token(&t, NULL, "HS256", "ent-1", ent_iss);
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_ALG_CONFUSION);
    make_token(&t, rogue, "RS256", "rogue-9", ent_iss);
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_KEY_UNKNOWN);
    /* a key id of the issuer's own set but another key's signature */
    make_token(&t, rogue, "RS256", "ent-1", ent_iss);
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_BAD_SIGNATURE);
    make_token(&t, ent, "RS256", "ent-1", "https://elsewhere.example/");
    CHECK_EQ_INT(verdict(ks, &t, &r), VG_JWT_NO_KEYSET);
    vg_buf junk;
    vg__buf_init(&junk, 0);
    vg__buf_adds(&junk, "not.a.jwt!");
    CHECK_EQ_INT(verdict(ks, &junk, &r), VG_JWT_NOT_JWT);
    vg__buf_free(&junk);
    vg__buf_free(&t);
    vg__keysets_free(ks);
    EVP_PKEY_free(ent);
    EVP_PKEY_free(con);
    EVP_PKEY_free(rogue);
    unlink(ep);
    unlink(cp);
}

static void test_bad_jwks(void)
{
    char p[] = "/tmp/vigie-jwks-b-XXXXXX";
    int fd = mkstemp(p);
    CHECK(write(fd, "{\"keys\":", 8) == 8);
    close(fd);
    vg_keysets *ks;
    vg__keysets_new(&ks);
    CHECK_EQ_INT(vg__keysets_load(ks, "x", p, NULL, NULL), VIGIE_JSON);
    CHECK(vg__keysets_load(ks, "x", "/nonexistent/jwks", NULL, NULL) != VIGIE_OK);
    vg__keysets_free(ks);
    unlink(p);
}

int main(void)
{
    RUN(test_verdicts);
    RUN(test_bad_jwks);
    return TEST_DONE();
}
