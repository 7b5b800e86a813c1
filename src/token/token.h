/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.h: bearer tokens (JWT) checked against their issuer's own key set.
 *
 * Stage: token (depends on util, json). Key sets are JWKS files given per issuer
 * (`--jwks ISSUER=FILE`; ISSUER may hold one '*', e.g. the enterprise
 * "https://login.microsoftonline.com/x/v2.0" with x as '*'; exact issuers are tried first).
 * A token is decoded (header and claims, base64url + vigie's JSON reader) and judged:
 * alg none or a non-RSA algorithm where the issuer publishes RSA keys (algorithm confusion),
 * a key id on the known-compromised list, a signing key that belongs to another issuer's set
 * (the 2023 flaw: a consumer key accepted for an enterprise token), an unknown key, or a bad
 * signature (RS256/384/512 verified with OpenSSL). Tokens are never copied out: findings
 * carry a SHA-256 fingerprint. The key sets are immutable after loading: share them.
 */
#ifndef VG_TOKEN_H
#define VG_TOKEN_H

#include "util/util.h"
#include "json/json.h"

typedef struct vg_keysets vg_keysets;

typedef enum {
    VG_JWT_OK = 0,          /* signed by a key of its own issuer's set */
    VG_JWT_NOT_JWT,         /* not three base64url parts with JSON header and claims */
    VG_JWT_NO_KEYSET,       /* no key set for its issuer: not judged */
    VG_JWT_ALG_NONE,
    VG_JWT_ALG_CONFUSION,   /* HS*, or anything but RS* where the issuer publishes RSA keys */
    VG_JWT_KEY_COMPROMISED, /* key id / thumbprint on the known-compromised list */
    VG_JWT_KEY_OTHER_ISSUER,/* the signing key belongs to another issuer's set */
    VG_JWT_KEY_UNKNOWN,     /* key id in no set */
    VG_JWT_BAD_SIGNATURE,
} vg_jwt_verdict;

const char *vg__jwt_verdict_name(int v);

typedef struct vg_jwt_result {
    int verdict;            /* vg_jwt_verdict */
    char fingerprint[17];   /* first 16 hex digits of SHA-256 of the whole token */
    char kid[64];
    char alg[16];
    char issuer[256];
    char key_issuer[256];   /* for KEY_OTHER_ISSUER: the issuer whose key signed it */
    bool compromised;       /* the key id / thumbprint is on the known-compromised list */
} vg_jwt_result;

int vg__keysets_new(vg_keysets **out);
void vg__keysets_free(vg_keysets *k);
/* Load a JWKS file for an issuer (pattern with at most one '*'). */
int vg__keysets_load(vg_keysets *k, const char *issuer, const char *path, vigie_diag_fn diag,
                     void *diag_ud);
uint32_t vg__keysets_count(const vg_keysets *k);

/* Judge one token (the text after "Bearer "). Never fails; see res->verdict. */
void vg__jwt_check(const vg_keysets *k, const char *tok, size_t len, vg_jwt_result *res);

#endif
