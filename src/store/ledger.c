/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ledger.c: the evidence ledger (ledger.h, format in docs/LEDGER.md). Writing: one entry
 * line per alert, appended with one write(2), its leaf hash pushed onto an O(log n) stack of
 * perfect-subtree roots, so a checkpoint (tree root, signed with Ed25519) costs one fsync,
 * O(log n) hashes and one signature whatever the ledger size. Checking (verify, reopen,
 * prove): one streaming pass over entries.jsonl with a bounded line buffer; memory is
 * O(checkpoints), plus 32 bytes per entry for a proof, plus the source references when the
 * raw records are re-read. Every line must be byte-identical to the canonical encoding of
 * the fields it parses to, so one change anywhere in a file is either a syntax error, a
 * non-canonical line, a different leaf, root or signed message: there is no silent way to
 * alter a byte. Hashes and signatures are compared with CRYPTO_memcmp; key material read or
 * written goes through buffers wiped with OPENSSL_cleanse. Besides alerts, entries.jsonl holds
 * one run manifest per scan (input paths, sizes, SHA-256), a leaf like any other. Every signed
 * checkpoint is also DIR/checkpoint, a C2SP signed note replaced by rename. Opening recovers
 * exactly what a crash can leave (a torn last line, an unsigned but intact tail, a note one
 * checkpoint behind, a stale temporary) after verifying the rest, and refuses anything else.
 */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_CTX: the allocation-free SHA-256 (hash_parts) */
#include "ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "json/json.h"

#define SIG_LEN 64
#define KEY_FILE_CAP (64u * 1024u)
#define MAX_REPORTED 100u
#define LEAF_SUFFIX_LEN 75 /* ,"leaf":"<64 hex>"} */
#define CP_MAGIC "vigie-ledger checkpoint v1"
#define PROOF_MAGIC "vigie-ledger inclusion proof v1"

static const char *const F_ENTRIES = "entries.jsonl";
static const char *const F_CPS = "checkpoints.jsonl";
static const char *const F_PUB = "ledger.pub";

/* ---- hashes ----------------------------------------------------------------------------- */

/* SHA-256 of a || b || c with the low-level SHA256_CTX on the stack: OpenSSL 3's EVP
 * contexts allocate on every digest (measured with bench/alloc_count.c), and these hashes are
 * taken per record and per alert. Same digest bytes. */
static void hash_parts(const void *a, size_t an, const void *b, size_t bn, const void *c,
                       size_t cn, uint8_t out[VG_LEDGER_HASH])
{
    SHA256_CTX x;
    SHA256_Init(&x);
    if (an)
        SHA256_Update(&x, a, an);
    if (bn)
        SHA256_Update(&x, b, bn);
    if (cn)
        SHA256_Update(&x, c, cn);
    SHA256_Final(out, &x);
}

void vg__ledger_sha256(const void *p, size_t n, uint8_t out[VG_LEDGER_HASH])
{
    hash_parts(p, n, NULL, 0, NULL, 0, out);
}

void vg__ledger_leaf_hash(const void *p, size_t n, uint8_t out[VG_LEDGER_HASH])
{
    static const uint8_t zero = 0x00;
    hash_parts(&zero, 1, p, n, NULL, 0, out);
}

void vg__ledger_node_hash(const uint8_t l[VG_LEDGER_HASH], const uint8_t r[VG_LEDGER_HASH],
                          uint8_t out[VG_LEDGER_HASH])
{
    static const uint8_t one = 0x01;
    hash_parts(&one, 1, l, VG_LEDGER_HASH, r, VG_LEDGER_HASH, out);
}

static bool heq(const uint8_t *a, const uint8_t *b)
{
    return CRYPTO_memcmp(a, b, VG_LEDGER_HASH) == 0;
}

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* Exactly 2n lowercase hex digits (one spelling per value: no case variants). */
static bool from_hex(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return false;
        if (i & 1)
            out[i / 2] = (uint8_t)(out[i / 2] | v);
        else
            out[i / 2] = (uint8_t)(v << 4);
    }
    return true;
}

/* ---- the tree --------------------------------------------------------------------------- */

void vg__ledger_tree_init(vg_ledger_tree *t)
{
    memset(t, 0, sizeof *t);
}

void vg__ledger_tree_push(vg_ledger_tree *t, const uint8_t leaf[VG_LEDGER_HASH])
{
    memcpy(t->stack[t->n++], leaf, VG_LEDGER_HASH);
    /* each trailing 1 bit of the old size is a perfect subtree the new leaf completes */
    for (uint64_t m = t->size; m & 1; m >>= 1) {
        vg__ledger_node_hash(t->stack[t->n - 2], t->stack[t->n - 1], t->stack[t->n - 2]);
        t->n--;
    }
    t->size++;
}

void vg__ledger_tree_root(const vg_ledger_tree *t, uint8_t out[VG_LEDGER_HASH])
{
    if (t->n == 0) {
        vg__ledger_sha256(NULL, 0, out);
        return;
    }
    uint8_t r[VG_LEDGER_HASH];
    memcpy(r, t->stack[t->n - 1], VG_LEDGER_HASH);
    for (uint32_t i = t->n - 1; i-- > 0;)
        vg__ledger_node_hash(t->stack[i], r, r);
    memcpy(out, r, VG_LEDGER_HASH);
}

/* Largest power of two below n (n >= 2): RFC 6962's split point k. */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k)
        k <<= 1;
    return k;
}

void vg__ledger_mth(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n,
                    uint8_t out[VG_LEDGER_HASH])
{
    if (n == 0) {
        vg__ledger_sha256(NULL, 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], VG_LEDGER_HASH);
        return;
    }
    uint64_t k = split_point(n);
    uint8_t l[VG_LEDGER_HASH], r[VG_LEDGER_HASH];
    vg__ledger_mth(leaves, k, l);
    vg__ledger_mth(leaves + k, n - k, r);
    vg__ledger_node_hash(l, r, out);
}

static void path_rec(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n, uint64_t m,
                     uint8_t (*path)[VG_LEDGER_HASH], uint32_t *np)
{
    if (n <= 1)
        return;
    uint64_t k = split_point(n);
    if (m < k) {
        path_rec(leaves, k, m, path, np);
        vg__ledger_mth(leaves + k, n - k, path[(*np)++]);
    } else {
        path_rec(leaves + k, n - k, m - k, path, np);
        vg__ledger_mth(leaves, k, path[(*np)++]);
    }
}

int vg__ledger_audit_path(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n, uint64_t m,
                          uint8_t (*path)[VG_LEDGER_HASH], uint32_t *n_path)
{
    *n_path = 0;
    if (m >= n)
        return VIGIE_INVAL;
    path_rec(leaves, n, m, path, n_path);
    return VIGIE_OK;
}

int vg__ledger_root_from_path(const uint8_t leaf[VG_LEDGER_HASH], uint64_t m, uint64_t n,
                              const uint8_t (*path)[VG_LEDGER_HASH], uint32_t n_path,
                              uint8_t out[VG_LEDGER_HASH])
{
    if (m >= n || n_path > VG_LEDGER_MAX_PATH)
        return VIGIE_VERIFY;
    uint64_t fn = m, sn = n - 1;
    uint8_t r[VG_LEDGER_HASH];
    memcpy(r, leaf, VG_LEDGER_HASH);
    for (uint32_t i = 0; i < n_path; i++) {
        if (sn == 0)
            return VIGIE_VERIFY;
        if ((fn & 1) || fn == sn) {
            vg__ledger_node_hash(path[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            vg__ledger_node_hash(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return VIGIE_VERIFY;
    memcpy(out, r, VG_LEDGER_HASH);
    return VIGIE_OK;
}

/* RFC 9162 2.1.4.1: SUBPROOF(m, D[0:n], b). `whole` is b: true while the old tree is still
 * the left edge of the subtree, whose root the verifier already has. */
static void subproof(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n, uint64_t m, bool whole,
                     uint8_t (*path)[VG_LEDGER_HASH], uint32_t *np)
{
    if (m == n) {
        if (!whole)
            vg__ledger_mth(leaves, n, path[(*np)++]);
        return;
    }
    uint64_t k = split_point(n);
    if (m <= k) {
        subproof(leaves, k, m, whole, path, np);
        vg__ledger_mth(leaves + k, n - k, path[(*np)++]);
    } else {
        subproof(leaves + k, n - k, m - k, false, path, np);
        vg__ledger_mth(leaves, k, path[(*np)++]);
    }
}

int vg__ledger_consistency_proof(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n, uint64_t m,
                                 uint8_t (*path)[VG_LEDGER_HASH], uint32_t *n_path)
{
    *n_path = 0;
    if (m == 0 || m > n)
        return VIGIE_INVAL;
    subproof(leaves, n, m, true, path, n_path);
    return VIGIE_OK;
}

int vg__ledger_verify_consistency(uint64_t m, uint64_t n, const uint8_t old_root[VG_LEDGER_HASH],
                                  const uint8_t new_root[VG_LEDGER_HASH],
                                  const uint8_t (*path)[VG_LEDGER_HASH], uint32_t n_path)
{
    if (m > n || n_path > VG_LEDGER_MAX_CONSISTENCY)
        return VIGIE_VERIFY;
    if (m == 0) {
        uint8_t empty[VG_LEDGER_HASH];
        vg__ledger_sha256(NULL, 0, empty);
        return n_path == 0 && heq(old_root, empty) ? VIGIE_OK : VIGIE_VERIFY;
    }
    if (m == n)
        return n_path == 0 && heq(old_root, new_root) ? VIGIE_OK : VIGIE_VERIFY;
    /* 2.1.4.2, step by step; a power-of-two old tree is itself the first node of the path */
    const uint8_t *first = NULL;
    uint32_t i = 0;
    if ((m & (m - 1)) == 0)
        first = old_root;
    else if (n_path == 0)
        return VIGIE_VERIFY;
    else
        first = path[i++];
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[VG_LEDGER_HASH], sr[VG_LEDGER_HASH];
    memcpy(fr, first, VG_LEDGER_HASH);
    memcpy(sr, first, VG_LEDGER_HASH);
    for (; i < n_path; i++) {
        if (sn == 0)
            return VIGIE_VERIFY;
        if ((fn & 1) || fn == sn) {
            vg__ledger_node_hash(path[i], fr, fr);
            vg__ledger_node_hash(path[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            vg__ledger_node_hash(sr, path[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && heq(fr, old_root) && heq(sr, new_root) ? VIGIE_OK : VIGIE_VERIFY;
}

/* ---- keys ------------------------------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...) VG_PRINTF(3, 4);
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int key_id_of(EVP_PKEY *k, char out[VG_LEDGER_HEX])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    if (n <= 0)
        return VIGIE_CRYPTO;
    uint8_t h[VG_LEDGER_HASH];
    vg__ledger_sha256(der, (size_t)n, h);
    OPENSSL_free(der);
    to_hex(h, VG_LEDGER_HASH, out);
    return VIGIE_OK;
}

static int no_passphrase(char *buf, int size, int rw, void *u)
{
    (void)buf, (void)size, (void)rw, (void)u;
    return 0; /* never prompt on a terminal: encrypted keys are refused */
}

static EVP_PKEY *pub_from_pem(const char *pem, size_t len)
{
    if (len > KEY_FILE_CAP)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    if (k && !EVP_PKEY_is_a(k, "ED25519")) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    ERR_clear_error();
    return k;
}

static int pub_to_pem(EVP_PKEY *k, vg_buf *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;
    int rc = VIGIE_CRYPTO;
    if (b && PEM_write_bio_PUBKEY(b, k) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
        rc = vg__buf_add(out, p, (size_t)n);
    BIO_free(b);
    return rc;
}

static int load_private(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        seterr(err, errlen, "cannot read private key %s: %s", path, strerror(errno));
        return errno == ENOENT ? VIGIE_NOENT : VIGIE_IO;
    }
    if (st.st_mode & 077) {
        seterr(err, errlen, "private key %s may be read by group or others (mode %04o): "
               "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
        return VIGIE_INVAL;
    }
    char *text;
    size_t len;
    int rc = vg__read_file(path, KEY_FILE_CAP, &text, &len);
    if (rc) {
        seterr(err, errlen, "cannot read private key %s: %s", path, vigie_strerror(rc));
        return rc;
    }
    BIO *b = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    OPENSSL_cleanse(text, len);
    free(text);
    ERR_clear_error();
    if (!k || !EVP_PKEY_is_a(k, "ED25519")) {
        EVP_PKEY_free(k);
        seterr(err, errlen, "%s is not an unencrypted Ed25519 private key in PEM "
               "(vigie keygen makes one)", path);
        return VIGIE_INVAL;
    }
    *out = k;
    return VIGIE_OK;
}

static int sign_msg(EVP_PKEY *k, const void *m, size_t n, uint8_t sig[SIG_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t sl = SIG_LEN;
    bool ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
              EVP_DigestSign(c, sig, &sl, m, n) == 1 && sl == SIG_LEN;
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return ok ? VIGIE_OK : VIGIE_CRYPTO;
}

static bool verify_sig(EVP_PKEY *k, const void *m, size_t n, const uint8_t sig[SIG_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
              EVP_DigestVerify(c, sig, SIG_LEN, m, n) == 1;
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return ok;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return VIGIE_IO;
        s += w;
        n -= (size_t)w;
    }
    return VIGIE_OK;
}

static int write_new_file(const char *path, mode_t mode, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? VIGIE_INVAL : VIGIE_IO;
    int rc = write_all(fd, p, n);
    if (!rc && fsync(fd) != 0)
        rc = VIGIE_IO;
    if (close(fd) != 0 && !rc)
        rc = VIGIE_IO;
    return rc;
}

int vg__ledger_keygen(const char *prefix, char key_id[VG_LEDGER_HEX], char *err, size_t errlen)
{
    char pub[PATH_MAX];
    if (!prefix || !*prefix || snprintf(pub, sizeof pub, "%s.pub", prefix) >= (int)sizeof pub) {
        seterr(err, errlen, "invalid key file prefix");
        return VIGIE_INVAL;
    }
    struct stat st;
    if (lstat(prefix, &st) == 0 || lstat(pub, &st) == 0) {
        seterr(err, errlen, "%s exists: keys are never overwritten",
               lstat(prefix, &st) == 0 ? prefix : pub);
        return VIGIE_INVAL;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL);
    EVP_PKEY *k = NULL;
    BIO *sb = NULL;
    vg_buf pem;
    vg__buf_init(&pem, 0);
    int rc = VIGIE_CRYPTO;
    if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_generate(c, &k) != 1) {
        seterr(err, errlen, "Ed25519 key generation failed");
        goto out;
    }
    char id[VG_LEDGER_HEX];
    if ((rc = key_id_of(k, id)) || (rc = pub_to_pem(k, &pem)))
        goto out;
    sb = BIO_new(BIO_s_secmem());
    char *p;
    long n;
    if (!sb || PEM_write_bio_PrivateKey(sb, k, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(sb, &p)) <= 0) {
        rc = VIGIE_CRYPTO;
        seterr(err, errlen, "cannot encode the private key");
        goto out;
    }
    rc = write_new_file(prefix, 0600, p, (size_t)n);
    OPENSSL_cleanse(p, (size_t)n);
    if (rc) {
        seterr(err, errlen, "cannot write %s: %s", prefix, strerror(errno));
        goto out;
    }
    if ((rc = write_new_file(pub, 0644, pem.data, pem.len))) {
        seterr(err, errlen, "cannot write %s: %s", pub, strerror(errno));
        unlink(prefix);
        goto out;
    }
    if (key_id)
        memcpy(key_id, id, VG_LEDGER_HEX);
out:
    BIO_free(sb);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(c);
    vg__buf_free(&pem);
    ERR_clear_error();
    return rc;
}

/* ---- DIR/checkpoint: a C2SP tlog-checkpoint signed note ----------------------------------- */

/* https://c2sp.org/tlog-checkpoint and https://c2sp.org/signed-note: the body is the origin
 * line, the tree size in decimal and the root in standard base64, each ending in '\n'; a
 * blank line; then one line per signature, "\u2014 <key name> <base64(key hash || sig)>",
 * with the key hash the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || raw Ed25519
 * public key) and the signature over the body. The key name is the origin. */
#define EM_DASH "\xe2\x80\x94"
#define NOTE_CAP 4096u

static void origin_of(const char *key_id, char *out, size_t cap)
{
    snprintf(out, cap, VG_LEDGER_ORIGIN_PREFIX "%.16s", key_id);
}

static int b64(const uint8_t *p, size_t n, char *out, size_t cap)
{
    if (4 * ((n + 2) / 3) + 1 > cap)
        return VIGIE_INVAL;
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return VIGIE_OK;
}

/* Strict standard base64 of exactly n bytes: decoded, then encoded again to the same text. */
static bool unb64(const char *s, size_t len, uint8_t *out, size_t n)
{
    unsigned char tmp[128];
    char again[200];
    if (len != 4 * ((n + 2) / 3) || len >= sizeof again || (n + 2) / 3 * 3 > sizeof tmp)
        return false;
    if (EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len) < 0)
        return false;
    if (b64(tmp, n, again, sizeof again) || strlen(again) != len || memcmp(again, s, len) != 0)
        return false;
    memcpy(out, tmp, n);
    return true;
}

static int note_key_hash(EVP_PKEY *k, const char *name, uint8_t out[4])
{
    uint8_t raw[32], h[VG_LEDGER_HASH];
    size_t rl = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k, raw, &rl) != 1 || rl != sizeof raw) {
        ERR_clear_error();
        return VIGIE_CRYPTO;
    }
    static const uint8_t sep[2] = {0x0a, 0x01};
    hash_parts(name, strlen(name), sep, 2, raw, sizeof raw, h);
    memcpy(out, h, 4);
    return VIGIE_OK;
}

static int note_body(vg_buf *b, const char *origin, uint64_t size,
                     const uint8_t root[VG_LEDGER_HASH])
{
    char r64[64];
    int rc = b64(root, VG_LEDGER_HASH, r64, sizeof r64);
    return rc ? rc : vg__buf_printf(b, "%s\n%llu\n%s\n", origin, (unsigned long long)size, r64);
}

/* The whole note for (size, root), signed with k (the writer's private key). */
static int note_make(EVP_PKEY *k, const char *key_id, uint64_t size,
                     const uint8_t root[VG_LEDGER_HASH], vg_buf *out)
{
    char origin[64], s64[128];
    uint8_t blob[4 + SIG_LEN];
    origin_of(key_id, origin, sizeof origin);
    vg__buf_reset(out);
    int rc = note_body(out, origin, size, root);
    if (!rc)
        rc = note_key_hash(k, origin, blob);
    if (!rc)
        rc = sign_msg(k, out->data, out->len, blob + 4);
    if (!rc)
        rc = b64(blob, sizeof blob, s64, sizeof s64);
    if (!rc)
        rc = vg__buf_printf(out, "\n" EM_DASH " %s %s\n", origin, s64);
    return rc;
}

/* Check a note against pub: NULL when its syntax holds and one signature line is a valid
 * signature by pub under the expected origin, with size and root filled; else the reason.
 * Signature lines of other keys (cosigners) are ignored. */
static const char *note_problem(EVP_PKEY *pub, const char *key_id, const char *text, size_t len,
                                uint64_t *size, uint8_t root[VG_LEDGER_HASH])
{
    char origin[64];
    origin_of(key_id, origin, sizeof origin);
    if (len > NOTE_CAP || memchr(text, 0, len))
        return "not a checkpoint note (too long or binary)";
    const char *blank = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (text[i] == '\n' && text[i + 1] == '\n') {
            blank = text + i + 1;
            break;
        }
    if (!blank || len == 0 || text[len - 1] != '\n')
        return "not a signed note (no blank line before the signatures, or no final newline)";
    size_t blen = (size_t)(blank - text); /* the body, with its last newline */
    const char *l1 = text, *e1 = memchr(l1, '\n', blen);
    const char *l2 = e1 + 1, *e2 = memchr(l2, '\n', blen - (size_t)(l2 - text));
    if (!e2)
        return "checkpoint body needs an origin, a size and a root line";
    const char *l3 = e2 + 1, *e3 = memchr(l3, '\n', blen - (size_t)(l3 - text));
    if (!e3)
        return "checkpoint body needs an origin, a size and a root line";
    if ((size_t)(e1 - l1) != strlen(origin) || memcmp(l1, origin, strlen(origin)) != 0)
        return "origin line is not this ledger's (another key, or altered)";
    size_t sl = (size_t)(e2 - l2);
    uint64_t v = 0;
    if (sl == 0 || sl > 20 || (sl > 1 && l2[0] == '0'))
        return "tree size is not a decimal number";
    for (size_t i = 0; i < sl; i++) {
        if (l2[i] < '0' || l2[i] > '9' || v > (UINT64_MAX - (uint64_t)(l2[i] - '0')) / 10)
            return "tree size is not a decimal number";
        v = v * 10 + (uint64_t)(l2[i] - '0');
    }
    if (!unb64(l3, (size_t)(e3 - l3), root, VG_LEDGER_HASH))
        return "root hash is not 32 bytes in standard base64";
    *size = v;
    uint8_t want[4];
    if (note_key_hash(pub, origin, want))
        return "cannot compute the key hash";
    bool good = false;
    for (const char *p = blank + 1; p < text + len;) {
        const char *e = memchr(p, '\n', (size_t)(text + len - p));
        size_t ll = (size_t)(e - p);
        if (ll < 5 || memcmp(p, EM_DASH " ", 4) != 0)
            return "a signature line does not start with an em dash and a space";
        const char *name = p + 4, *sp = memchr(name, ' ', ll - 4);
        if (!sp || sp == name)
            return "a signature line has no key name";
        size_t nl = (size_t)(sp - name);
        uint8_t blob[4 + SIG_LEN];
        if (nl == strlen(origin) && memcmp(name, origin, nl) == 0 &&
            unb64(sp + 1, (size_t)(e - sp - 1), blob, sizeof blob) &&
            CRYPTO_memcmp(blob, want, 4) == 0 && verify_sig(pub, text, blen, blob + 4))
            good = true;
        p = e + 1;
    }
    return good ? NULL : "no valid signature by the ledger's key (stripped, forged or altered)";
}

/* Write DIR/checkpoint atomically: a unique temporary in DIR, fsync, rename, fsync DIR. */
static int note_write(const char *dir, const vg_buf *note)
{
    char tmp[PATH_MAX + 32], dst[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/.checkpoint.XXXXXX", dir);
    snprintf(dst, sizeof dst, "%s/checkpoint", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return VIGIE_IO;
    int rc = write_all(fd, note->data, note->len);
    if (!rc && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
        rc = VIGIE_IO;
    if (close(fd) != 0 && !rc)
        rc = VIGIE_IO;
    if (!rc && rename(tmp, dst) != 0)
        rc = VIGIE_IO;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return VIGIE_IO;
    if (fsync(dfd) != 0)
        rc = VIGIE_IO;
    close(dfd);
    return rc;
}

/* ---- lines: a bounded line reader ------------------------------------------------------- */

typedef struct lines {
    FILE *f;
    vg_buf b;
    size_t pos;
    bool eof;
    uint64_t lineno;
    uint64_t limit, consumed; /* read no further than limit bytes (recovery cuts a tail) */
} lines;

static void lines_init(lines *r, FILE *f)
{
    r->f = f;
    vg__buf_init(&r->b, 0);
    r->pos = 0;
    r->eof = false;
    r->lineno = 0;
    r->limit = UINT64_MAX;
    r->consumed = 0;
}

static void lines_free(lines *r)
{
    vg__buf_free(&r->b);
    if (r->f)
        fclose(r->f);
    r->f = NULL;
}

/* Next line without its '\n'; *nl is false for a last line that has none. VIGIE_EOF at the
 * end, VIGIE_TOOBIG for a line over VG_MAX_LEDGER_LINE, VIGIE_IO. */
static int lines_next(lines *r, const char **s, size_t *n, bool *nl)
{
    for (;;) {
        char *p = r->b.len > r->pos ? memchr(r->b.data + r->pos, '\n', r->b.len - r->pos) : NULL;
        if (p) {
            *s = r->b.data + r->pos;
            *n = (size_t)(p - *s);
            *nl = true;
            r->pos = (size_t)(p - r->b.data) + 1;
            r->lineno++;
            return *n > VG_MAX_LEDGER_LINE ? VIGIE_TOOBIG : VIGIE_OK;
        }
        if (r->eof) {
            if (r->pos >= r->b.len)
                return VIGIE_EOF;
            *s = r->b.data + r->pos;
            *n = r->b.len - r->pos;
            *nl = false;
            r->pos = r->b.len;
            r->lineno++;
            return *n > VG_MAX_LEDGER_LINE ? VIGIE_TOOBIG : VIGIE_OK;
        }
        if (r->pos) {
            memmove(r->b.data, r->b.data + r->pos, r->b.len - r->pos);
            r->b.len -= r->pos;
            r->pos = 0;
        }
        if (r->b.len > VG_MAX_LEDGER_LINE) {
            r->lineno++;
            return VIGIE_TOOBIG;
        }
        int rc = vg__buf_reserve(&r->b, 65536);
        if (rc)
            return rc;
        size_t want = r->limit - r->consumed < 65536 ? (size_t)(r->limit - r->consumed) : 65536;
        size_t got = want ? fread(r->b.data + r->b.len, 1, want, r->f) : 0;
        r->consumed += got;
        r->b.len += got;
        r->b.data[r->b.len] = 0;
        if (got == 0) {
            if (want && ferror(r->f))
                return VIGIE_IO;
            r->eof = true;
        }
    }
}

/* ---- entry and checkpoint encodings ------------------------------------------------------ */

static int add_hex(vg_buf *b, const uint8_t *p, size_t n)
{
    char h[2 * SIG_LEN + 1];
    to_hex(p, n, h);
    return vg__buf_add(b, h, 2 * n);
}

static int entry_head(vg_buf *b, uint64_t seq, const char *id, size_t idlen,
                      const uint8_t asha[VG_LEDGER_HASH])
{
    int rc = vg__buf_printf(b, "{\"seq\":%llu,\"alert_id\":\"", (unsigned long long)seq);
    if (!rc)
        rc = vg__buf_add_json_str(b, id, idlen);
    if (!rc)
        rc = vg__buf_adds(b, "\",\"alert_sha256\":\"");
    if (!rc)
        rc = add_hex(b, asha, VG_LEDGER_HASH);
    if (!rc)
        rc = vg__buf_adds(b, "\",\"sources\":[");
    return rc;
}

static int entry_src(vg_buf *b, bool first, const char *file, size_t flen, uint64_t line,
                     uint64_t index, uint64_t offset, const uint8_t sha[VG_LEDGER_HASH])
{
    int rc = vg__buf_adds(b, first ? "{\"file\":\"" : ",{\"file\":\"");
    if (!rc)
        rc = vg__buf_add_json_str(b, file, flen);
    if (!rc)
        rc = vg__buf_printf(b, "\",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"",
                            (unsigned long long)line, (unsigned long long)index,
                            (unsigned long long)offset);
    if (!rc)
        rc = add_hex(b, sha, VG_LEDGER_HASH);
    if (!rc)
        rc = vg__buf_adds(b, "\"}");
    return rc;
}

/* A manifest entry: {"seq":N,"manifest":[{"path":...,"size":N,"sha256":...},...],"prev":...,
 * "leaf":...}; the same tail (entry_tail, entry_finish) as an alert entry. */
static int manifest_head(vg_buf *b, uint64_t seq)
{
    return vg__buf_printf(b, "{\"seq\":%llu,\"manifest\":[", (unsigned long long)seq);
}

static int manifest_file(vg_buf *b, bool first, const char *path, size_t plen, uint64_t size,
                         const uint8_t sha[VG_LEDGER_HASH])
{
    int rc = vg__buf_adds(b, first ? "{\"path\":\"" : ",{\"path\":\"");
    if (!rc)
        rc = vg__buf_add_json_str(b, path, plen);
    if (!rc)
        rc = vg__buf_printf(b, "\",\"size\":%llu,\"sha256\":\"", (unsigned long long)size);
    if (!rc)
        rc = add_hex(b, sha, VG_LEDGER_HASH);
    if (!rc)
        rc = vg__buf_adds(b, "\"}");
    return rc;
}

static int entry_tail(vg_buf *b, const uint8_t prev[VG_LEDGER_HASH])
{
    int rc = vg__buf_adds(b, "],\"prev\":\"");
    if (!rc)
        rc = add_hex(b, prev, VG_LEDGER_HASH);
    if (!rc)
        rc = vg__buf_addc(b, '"');
    return rc;
}

/* The leaf covers the entry without its leaf member: the bytes so far and a closing '}'. */
static void entry_leaf_hash(const vg_buf *b, uint8_t out[VG_LEDGER_HASH])
{
    static const uint8_t zero = 0x00;
    hash_parts(&zero, 1, b->data, b->len, "}", 1, out);
}

static int entry_finish(vg_buf *b, const uint8_t leaf[VG_LEDGER_HASH])
{
    int rc = vg__buf_adds(b, ",\"leaf\":\"");
    if (!rc)
        rc = add_hex(b, leaf, VG_LEDGER_HASH);
    if (!rc)
        rc = vg__buf_adds(b, "\"}");
    return rc;
}

/* The checkpoint line (without '\n') and the message its signature covers. */
static int cp_line(vg_buf *b, uint64_t size, const char *root, const char *time,
                   const char *key_id, const char *sig)
{
    return vg__buf_printf(b, "{\"size\":%llu,\"root\":\"%s\",\"time\":\"%s\",\"key_id\":\"%s\","
                          "\"sig\":\"%s\"}", (unsigned long long)size, root, time, key_id, sig);
}

static int cp_message(vg_buf *b, uint64_t size, const char *root, const char *time,
                      const char *key_id)
{
    return vg__buf_printf(b, CP_MAGIC "\nsize %llu\nroot %s\ntime %s\nkey %s\n",
                          (unsigned long long)size, root, time, key_id);
}

/* ---- parsing ----------------------------------------------------------------------------- */

static bool tok_u64(const vg_jtape *t, int64_t i, uint64_t *v)
{
    if (i < 0 || t->tok[i].type != VG_J_NUMBER)
        return false;
    const char *p = vg__json_raw(t, (uint32_t)i);
    uint32_t n = t->tok[i].len;
    if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
        return false;
    uint64_t x = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return false;
        uint64_t d = (uint64_t)(p[k] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

static bool tok_hex(const vg_jtape *t, int64_t i, uint8_t *out, size_t n)
{
    return i >= 0 && t->tok[i].type == VG_J_STRING && !t->tok[i].esc &&
           from_hex(vg__json_raw(t, (uint32_t)i), t->tok[i].len, out, n);
}

/* A plain string token without escapes, copied (NUL-terminated) when it fits in cap. */
static bool tok_plain(const vg_jtape *t, int64_t i, char *out, size_t cap)
{
    if (i < 0 || t->tok[i].type != VG_J_STRING || t->tok[i].esc || t->tok[i].len >= cap)
        return false;
    memcpy(out, vg__json_raw(t, (uint32_t)i), t->tok[i].len);
    out[t->tok[i].len] = 0;
    return true;
}

#define GET(t, o, k) vg__json_obj_get((t), (o), (k), sizeof(k) - 1)

typedef struct entry {
    uint64_t seq;
    char alert_id[VG_MAX_LEDGER_ALERT_ID + 1];
    size_t alert_id_len;
    uint8_t alert_sha[VG_LEDGER_HASH], prev[VG_LEDGER_HASH], leaf[VG_LEDGER_HASH];
    uint8_t calc[VG_LEDGER_HASH]; /* the leaf hash recomputed from the bytes */
    uint32_t n_sources;
    uint32_t sources_tok;         /* the sources array on the tape */
    bool is_manifest;             /* a run manifest: no alert id; files in sources_tok */
} entry;

typedef struct scratch {
    vg_jtape t;
    vg_buf tmp, canon;
} scratch;

static void scratch_init(scratch *s)
{
    vg__jtape_init(&s->t);
    vg__buf_init(&s->tmp, 0);
    vg__buf_init(&s->canon, VG_MAX_LEDGER_LINE + 1);
}

static void scratch_free(scratch *s)
{
    vg__jtape_free(&s->t);
    vg__buf_free(&s->tmp);
    vg__buf_free(&s->canon);
}

/* The end of an entry (alert or manifest) whose members are in c: prev, the leaf hash of
 * the canonical bytes (e->calc), leaf; then the line must be exactly those bytes. 0, or -1
 * with the reason in why. */
static int entry_close_canonical(vg_buf *c, entry *e, const char *line, size_t n, char *why,
                                 size_t wl)
{
    if (entry_tail(c, e->prev))
        goto toolong;
    entry_leaf_hash(c, e->calc);
    if (entry_finish(c, e->leaf))
        goto toolong;
    if (c->len != n || memcmp(c->data, line, n) != 0) {
        seterr(why, wl, "not in canonical form (members, order, spacing or escapes differ)");
        return -1;
    }
    return 0;
toolong:
    seterr(why, wl, "entry longer than %u bytes", VG_MAX_LEDGER_LINE);
    return -1;
}

/* The manifest form of an entry line (parse_entry has parsed it and read seq). */
static int parse_manifest(scratch *s, const char *line, size_t n, int64_t mf, entry *e, char *why,
                          size_t wl)
{
    vg_jtape *t = &s->t;
    e->is_manifest = true;
    snprintf(e->alert_id, sizeof e->alert_id, "(run manifest)");
    e->alert_id_len = 0; /* never matched by an alert id */
    if (t->tok[mf].type != VG_J_ARRAY || !tok_hex(t, GET(t, 0, "prev"), e->prev, VG_LEDGER_HASH) ||
        !tok_hex(t, GET(t, 0, "leaf"), e->leaf, VG_LEDGER_HASH)) {
        seterr(why, wl, "manifest: needs \"manifest\" (an array), \"prev\" and \"leaf\"");
        return -1;
    }
    e->sources_tok = (uint32_t)mf;
    e->n_sources = t->tok[mf].len;
    vg_buf *c = &s->canon;
    vg__buf_reset(c);
    if (manifest_head(c, e->seq))
        goto toolong;
    uint32_t no = 0;
    for (uint32_t i = (uint32_t)mf + 1; i < t->tok[mf].next; i = t->tok[i].next, no++) {
        uint64_t size;
        uint8_t sh[VG_LEDGER_HASH];
        int64_t f = t->tok[i].type == VG_J_OBJECT ? GET(t, i, "path") : -1;
        if (f < 0 || t->tok[f].type != VG_J_STRING || !tok_u64(t, GET(t, i, "size"), &size) ||
            !tok_hex(t, GET(t, i, "sha256"), sh, VG_LEDGER_HASH)) {
            seterr(why, wl, "manifest file %u: needs path, size and sha256", no);
            return -1;
        }
        size_t fl;
        const char *fs = vg__json_str(t, (uint32_t)f, &s->tmp, &fl);
        if (manifest_file(c, no == 0, fs, fl, size, sh))
            goto toolong;
    }
    return entry_close_canonical(c, e, line, n, why, wl);
toolong:
    seterr(why, wl, "entry longer than %u bytes", VG_MAX_LEDGER_LINE);
    return -1;
}

/* Parse one entry line and check it is the canonical encoding of its fields; e->calc is
 * the leaf hash of its bytes (the caller compares it with e->leaf). The tape stays valid for
 * walking e->sources_tok. 0, or -1 with the reason in why. */
static int parse_entry(scratch *s, const char *line, size_t n, entry *e, char *why, size_t wl)
{
    memset(e, 0, sizeof *e);
    vg_jerr je;
    vg_jtape *t = &s->t;
    if (vg__json_parse(t, line, n, &je) != VIGIE_OK) {
        seterr(why, wl, "not valid JSON (%s at byte %zu)", je.msg, je.offset);
        return -1;
    }
    if (t->tok[0].type != VG_J_OBJECT) {
        seterr(why, wl, "not a JSON object");
        return -1;
    }
    int64_t id = GET(t, 0, "alert_id"), src = GET(t, 0, "sources");
    if (!tok_u64(t, GET(t, 0, "seq"), &e->seq)) {
        seterr(why, wl, "missing or invalid \"seq\"");
        return -1;
    }
    int64_t mf = GET(t, 0, "manifest");
    if (mf >= 0 && id < 0)
        return parse_manifest(s, line, n, mf, e, why, wl);
    if (id < 0 || t->tok[id].type != VG_J_STRING) {
        seterr(why, wl, "missing or invalid \"alert_id\"");
        return -1;
    }
    size_t idl;
    const char *ids = vg__json_str(t, (uint32_t)id, &s->tmp, &idl);
    if (!ids || idl == 0 || idl > VG_MAX_LEDGER_ALERT_ID) {
        seterr(why, wl, "\"alert_id\" is empty or longer than %u bytes", VG_MAX_LEDGER_ALERT_ID);
        return -1;
    }
    memcpy(e->alert_id, ids, idl);
    e->alert_id[idl] = 0;
    e->alert_id_len = idl;
    if (!tok_hex(t, GET(t, 0, "alert_sha256"), e->alert_sha, VG_LEDGER_HASH) ||
        !tok_hex(t, GET(t, 0, "prev"), e->prev, VG_LEDGER_HASH) ||
        !tok_hex(t, GET(t, 0, "leaf"), e->leaf, VG_LEDGER_HASH)) {
        seterr(why, wl, "\"alert_sha256\", \"prev\" or \"leaf\" is not 64 lowercase hex digits");
        return -1;
    }
    if (src < 0 || t->tok[src].type != VG_J_ARRAY || t->tok[src].len > VG_MAX_LEDGER_SOURCES) {
        seterr(why, wl, "missing or invalid \"sources\"");
        return -1;
    }
    e->sources_tok = (uint32_t)src;
    e->n_sources = t->tok[src].len;
    vg_buf *c = &s->canon;
    vg__buf_reset(c);
    if (entry_head(c, e->seq, e->alert_id, e->alert_id_len, e->alert_sha))
        goto toolong;
    uint32_t si_no = 0;
    for (uint32_t i = (uint32_t)src + 1; i < t->tok[src].next; i = t->tok[i].next, si_no++) {
        uint64_t sl, si, so;
        uint8_t sh[VG_LEDGER_HASH];
        int64_t f = t->tok[i].type == VG_J_OBJECT ? GET(t, i, "file") : -1;
        if (f < 0 || t->tok[f].type != VG_J_STRING || !tok_u64(t, GET(t, i, "line"), &sl) ||
            !tok_u64(t, GET(t, i, "index"), &si) || !tok_u64(t, GET(t, i, "offset"), &so) ||
            !tok_hex(t, GET(t, i, "sha256"), sh, VG_LEDGER_HASH)) {
            seterr(why, wl, "source %u: needs file, line, index, offset and sha256", si_no);
            return -1;
        }
        size_t fl;
        const char *fs = vg__json_str(t, (uint32_t)f, &s->tmp, &fl);
        if (entry_src(c, si_no == 0, fs, fl, sl, si, so, sh))
            goto toolong;
    }
    return entry_close_canonical(c, e, line, n, why, wl);
toolong:
    seterr(why, wl, "entry longer than %u bytes", VG_MAX_LEDGER_LINE);
    return -1;
}

typedef struct cp_rec {
    uint64_t size, line;
    uint8_t root[VG_LEDGER_HASH];
    char root_hex[VG_LEDGER_HEX];
    char time[40];
    char key_id[VG_LEDGER_HEX];
    char sig[2 * SIG_LEN + 1];
} cp_rec;

/* Parse a checkpoint object at token `obj` of s->t; with `line`, also require that line to be
 * its canonical encoding. 0, or -1 with the reason. */
static int parse_cp(scratch *s, uint32_t obj, const char *line, size_t n, cp_rec *cp, char *why,
                    size_t wl)
{
    vg_jtape *t = &s->t;
    if (t->tok[obj].type != VG_J_OBJECT) {
        seterr(why, wl, "not a JSON object");
        return -1;
    }
    if (!tok_u64(t, GET(t, obj, "size"), &cp->size) ||
        !tok_hex(t, GET(t, obj, "root"), cp->root, VG_LEDGER_HASH) ||
        !tok_plain(t, GET(t, obj, "time"), cp->time, sizeof cp->time) ||
        !tok_plain(t, GET(t, obj, "key_id"), cp->key_id, sizeof cp->key_id) ||
        !tok_plain(t, GET(t, obj, "sig"), cp->sig, sizeof cp->sig)) {
        seterr(why, wl, "needs size, root, time, key_id and sig");
        return -1;
    }
    to_hex(cp->root, VG_LEDGER_HASH, cp->root_hex);
    if (strspn(cp->time, "0123456789-:.TZ") != strlen(cp->time) || !cp->time[0]) {
        seterr(why, wl, "\"time\" is not a UTC timestamp");
        return -1;
    }
    uint8_t tmp[SIG_LEN];
    if ((cp->key_id[0] && !from_hex(cp->key_id, strlen(cp->key_id), tmp, VG_LEDGER_HASH)) ||
        (cp->sig[0] && !from_hex(cp->sig, strlen(cp->sig), tmp, SIG_LEN)) ||
        !cp->key_id[0] != !cp->sig[0]) {
        seterr(why, wl, "\"key_id\" and \"sig\" must be both empty or 64 and 128 lowercase hex "
               "digits");
        return -1;
    }
    if (line) {
        vg__buf_reset(&s->canon);
        if (cp_line(&s->canon, cp->size, cp->root_hex, cp->time, cp->key_id, cp->sig) ||
            s->canon.len != n || memcmp(s->canon.data, line, n) != 0) {
            seterr(why, wl, "not in canonical form (members, order, spacing or escapes differ)");
            return -1;
        }
    }
    return 0;
}

/* Check a checkpoint's signature: NULL when it holds, else the reason. */
static const char *cp_sig_problem(scratch *s, const cp_rec *cp, EVP_PKEY *pub,
                                  const char *key_id)
{
    if (!cp->sig[0])
        return "checkpoint is not signed";
    if (strcmp(cp->key_id, key_id) != 0)
        return "checkpoint was signed by another key (key_id differs)";
    uint8_t sig[SIG_LEN];
    from_hex(cp->sig, strlen(cp->sig), sig, SIG_LEN);
    vg__buf_reset(&s->tmp);
    if (cp_message(&s->tmp, cp->size, cp->root_hex, cp->time, cp->key_id))
        return "out of memory";
    if (!verify_sig(pub, s->tmp.data, s->tmp.len, sig))
        return "Ed25519 signature does not verify (size, root or time altered, or forged)";
    return NULL;
}

/* ---- checking a ledger directory -------------------------------------------------------- */

typedef struct src_ref {
    uint32_t file;
    uint64_t seq, line, index, offset;
    size_t id_off; /* alert id in chk.ids */
    uint8_t sha[VG_LEDGER_HASH];
} src_ref;

typedef struct mf_rec {
    uint32_t file;
    uint64_t seq, size;
    uint8_t sha[VG_LEDGER_HASH];
} mf_rec;

typedef struct chk {
    char dir[PATH_MAX];
    char p_entries[PATH_MAX + 32], p_cps[PATH_MAX + 32], p_pub[PATH_MAX + 32];
    char p_note[PATH_MAX + 32];
    uint64_t lim_entries, lim_cps; /* bytes read of each file (recovery leaves a torn tail) */
    bool recover;                  /* an unsigned tail and a stale note are not failures */
    bool note_ok;                  /* DIR/checkpoint holds the last checkpoint, validly signed */
    vigie_diag_fn diag;
    void *diag_ud;
    uint64_t failures;
    scratch s;
    EVP_PKEY *pub;           /* the key signatures are checked with (owned) */
    bool is_signed;
    char key_id[VG_LEDGER_HEX];
    cp_rec *cps;
    uint32_t n_cps;
    vg_ledger_tree tree;
    uint64_t n;               /* entries read */
    uint8_t last_leaf[VG_LEDGER_HASH];
    /* collected on demand */
    bool want_sources;
    src_ref *srcs;
    size_t n_srcs, cap_srcs;
    char **files;
    uint32_t n_files, cap_files;
    vg_buf ids;
    bool want_leaves;
    uint8_t (*leaves)[VG_LEDGER_HASH];
    uint64_t cap_leaves;
    mf_rec *mfs; /* every file of every manifest, in ledger order */
    size_t n_mfs, cap_mfs;
    uint64_t n_manifests;
    bool find;                /* look for an entry: by find_id, else by find_seq */
    const char *find_id;
    uint64_t find_seq;
    uint32_t n_found;
    uint64_t found_seq;
    vg_buf found_line;
} chk;

static void fail(chk *c, const char *file, uint64_t line, const char *fmt, ...) VG_PRINTF(4, 5);
static void fail(chk *c, const char *file, uint64_t line, const char *fmt, ...)
{
    c->failures++;
    if (c->failures > MAX_REPORTED + 1)
        return;
    char msg[1024];
    if (c->failures == MAX_REPORTED + 1) {
        snprintf(msg, sizeof msg, "further failures are counted but not shown");
        file = NULL;
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    vg__diag(c->diag, c->diag_ud, VIGIE_DIAG_ERROR, VIGIE_VERIFY, file, line, 0, NULL, "%s", msg);
}

static int chk_init(chk *c, const char *dir, vigie_diag_fn diag, void *ud)
{
    memset(c, 0, sizeof *c);
    c->diag = diag;
    c->diag_ud = ud;
    scratch_init(&c->s);
    vg__buf_init(&c->ids, 0);
    vg__buf_init(&c->found_line, 0);
    vg__ledger_tree_init(&c->tree);
    if (!dir || !*dir || strlen(dir) >= sizeof c->dir)
        return VIGIE_INVAL;
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->p_entries, sizeof c->p_entries, "%s/%s", dir, F_ENTRIES);
    snprintf(c->p_cps, sizeof c->p_cps, "%s/%s", dir, F_CPS);
    snprintf(c->p_pub, sizeof c->p_pub, "%s/%s", dir, F_PUB);
    snprintf(c->p_note, sizeof c->p_note, "%s/checkpoint", dir);
    c->lim_entries = c->lim_cps = UINT64_MAX;
    return VIGIE_OK;
}

static void chk_free(chk *c)
{
    scratch_free(&c->s);
    EVP_PKEY_free(c->pub);
    free(c->cps);
    free(c->srcs);
    free(c->mfs);
    for (uint32_t i = 0; i < c->n_files; i++)
        free(c->files[i]);
    free(c->files);
    vg__buf_free(&c->ids);
    free(c->leaves);
    vg__buf_free(&c->found_line);
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Size of the file at p; 0 when absent. */
static off_t size_or_0(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : 0;
}

/* ledger.pub, and the pinned key if any: decides is_signed, pub and key_id. */
static int chk_keys(chk *c, EVP_PKEY *pinned)
{
    EVP_PKEY *own = NULL;
    if (exists(c->p_pub)) {
        c->is_signed = true;
        char *text = NULL;
        size_t len = 0;
        int rc = vg__read_file(c->p_pub, KEY_FILE_CAP, &text, &len);
        if (rc == VIGIE_NOMEM)
            return rc;
        if (rc) {
            fail(c, c->p_pub, 0, "cannot read the ledger's public key: %s", vigie_strerror(rc));
        } else if (!(own = pub_from_pem(text, len))) {
            fail(c, c->p_pub, 0, "not an Ed25519 public key in PEM (altered?)");
        } else {
            vg_buf pem;
            vg__buf_init(&pem, 0);
            if ((rc = pub_to_pem(own, &pem)) == VIGIE_OK &&
                (pem.len != len || memcmp(pem.data, text, len) != 0))
                fail(c, c->p_pub, 0, "not in canonical PEM form (altered?)");
            vg__buf_free(&pem);
        }
        free(text);
        if (rc == VIGIE_NOMEM || rc == VIGIE_CRYPTO) {
            EVP_PKEY_free(own);
            return rc;
        }
    } else if (pinned) {
        fail(c, c->p_pub, 0, "missing: the ledger is unsigned, or its public key was removed");
    }
    if (pinned) {
        c->is_signed = true;
        if (own) {
            char a[VG_LEDGER_HEX], b[VG_LEDGER_HEX];
            if (key_id_of(own, a) || key_id_of(pinned, b) || strcmp(a, b) != 0)
                fail(c, c->p_pub, 0, "is not the public key given (--key): key ids differ");
            EVP_PKEY_free(own);
        }
        if (!EVP_PKEY_up_ref(pinned))
            return VIGIE_CRYPTO;
        c->pub = pinned;
    } else {
        c->pub = own;
    }
    if (c->pub && key_id_of(c->pub, c->key_id))
        return VIGIE_CRYPTO;
    return VIGIE_OK;
}

static int chk_checkpoints(chk *c)
{
    FILE *f = fopen(c->p_cps, "rb");
    if (!f) {
        fail(c, c->p_cps, 0, "cannot open: %s (the signed checkpoints are gone)", strerror(errno));
        return VIGIE_OK;
    }
    lines r;
    lines_init(&r, f);
    r.limit = c->lim_cps;
    const char *s;
    size_t n;
    bool nl;
    int rc;
    uint32_t cap = 0;
    uint64_t last_size = 0;
    char why[256];
    while ((rc = lines_next(&r, &s, &n, &nl)) == VIGIE_OK || rc == VIGIE_TOOBIG) {
        if (rc == VIGIE_TOOBIG) {
            fail(c, c->p_cps, r.lineno, "line longer than %u bytes", VG_MAX_LEDGER_LINE);
            break;
        }
        if (!nl)
            fail(c, c->p_cps, r.lineno, "last line has no newline (interrupted write or cut)");
        cp_rec cp;
        vg_jerr je;
        if (vg__json_parse(&c->s.t, s, n, &je) != VIGIE_OK) {
            fail(c, c->p_cps, r.lineno, "checkpoint is not valid JSON (%s at byte %zu)", je.msg,
                 je.offset);
            continue;
        }
        if (parse_cp(&c->s, 0, s, n, &cp, why, sizeof why)) {
            fail(c, c->p_cps, r.lineno, "checkpoint %s", why);
            continue;
        }
        cp.line = r.lineno;
        if (c->is_signed) {
            const char *p = c->pub ? cp_sig_problem(&c->s, &cp, c->pub, c->key_id) : NULL;
            if (p)
                fail(c, c->p_cps, r.lineno, "checkpoint of size %llu: %s",
                     (unsigned long long)cp.size, p);
        } else if (cp.sig[0]) {
            fail(c, c->p_cps, r.lineno, "checkpoint is signed but %s is missing (removed?)",
                 F_PUB);
        }
        if (cp.size < last_size)
            fail(c, c->p_cps, r.lineno, "checkpoint size %llu is below the one before (%llu)",
                 (unsigned long long)cp.size, (unsigned long long)last_size);
        last_size = cp.size;
        if (VG_GROW(c->cps, cap, (size_t)c->n_cps + 1, 16)) {
            lines_free(&r);
            return VIGIE_NOMEM;
        }
        c->cps[c->n_cps++] = cp;
    }
    lines_free(&r);
    if (rc != VIGIE_EOF && rc != VIGIE_TOOBIG) {
        fail(c, c->p_cps, 0, "read error: %s", vigie_strerror(rc));
        return rc == VIGIE_NOMEM ? rc : VIGIE_OK;
    }
    return VIGIE_OK;
}

static int intern_file(chk *c, const char *f, size_t fl, uint32_t *out)
{
    for (uint32_t i = c->n_files; i-- > 0;)
        if (strlen(c->files[i]) == fl && memcmp(c->files[i], f, fl) == 0) {
            *out = i;
            return VIGIE_OK;
        }
    if (VG_GROW(c->files, c->cap_files, (size_t)c->n_files + 1, 16))
        return VIGIE_NOMEM;
    char *d = malloc(fl + 1);
    if (!d)
        return VIGIE_NOMEM;
    memcpy(d, f, fl);
    d[fl] = 0;
    c->files[c->n_files] = d;
    *out = c->n_files++;
    return VIGIE_OK;
}

static int collect_sources(chk *c, const entry *e)
{
    vg_jtape *t = &c->s.t;
    size_t id_off = c->ids.len;
    int rc = vg__buf_add(&c->ids, e->alert_id, e->alert_id_len + 1);
    if (rc)
        return rc;
    for (uint32_t i = e->sources_tok + 1; i < t->tok[e->sources_tok].next; i = t->tok[i].next) {
        if (VG_GROW(c->srcs, c->cap_srcs, (size_t)c->n_srcs + 1, 256))
            return VIGIE_NOMEM;
        src_ref *r = &c->srcs[c->n_srcs];
        size_t fl;
        const char *fs = vg__json_str(t, (uint32_t)GET(t, i, "file"), &c->s.tmp, &fl);
        if ((rc = intern_file(c, fs, fl, &r->file)))
            return rc;
        tok_u64(t, GET(t, i, "line"), &r->line);
        tok_u64(t, GET(t, i, "index"), &r->index);
        tok_u64(t, GET(t, i, "offset"), &r->offset);
        tok_hex(t, GET(t, i, "sha256"), r->sha, VG_LEDGER_HASH);
        r->seq = e->seq;
        r->id_off = id_off;
        c->n_srcs++;
    }
    return VIGIE_OK;
}

static int collect_manifest(chk *c, const entry *e)
{
    vg_jtape *t = &c->s.t;
    c->n_manifests++;
    for (uint32_t i = e->sources_tok + 1; i < t->tok[e->sources_tok].next; i = t->tok[i].next) {
        if (VG_GROW(c->mfs, c->cap_mfs, (size_t)c->n_mfs + 1, 64))
            return VIGIE_NOMEM;
        mf_rec *m = &c->mfs[c->n_mfs];
        size_t fl;
        const char *fs = vg__json_str(t, (uint32_t)GET(t, i, "path"), &c->s.tmp, &fl);
        int rc = intern_file(c, fs, fl, &m->file);
        if (rc)
            return rc;
        tok_u64(t, GET(t, i, "size"), &m->size);
        tok_hex(t, GET(t, i, "sha256"), m->sha, VG_LEDGER_HASH);
        m->seq = e->seq;
        c->n_mfs++;
    }
    return VIGIE_OK;
}

static void check_cps_at(chk *c, uint32_t *k)
{
    uint8_t root[VG_LEDGER_HASH];
    bool have = false;
    for (; *k < c->n_cps && c->cps[*k].size <= c->n; (*k)++) {
        const cp_rec *cp = &c->cps[*k];
        if (cp->size < c->n)
            continue; /* out of order: reported already */
        if (!have) {
            vg__ledger_tree_root(&c->tree, root);
            have = true;
        }
        if (!heq(root, cp->root))
            fail(c, c->p_cps, cp->line, "checkpoint of size %llu: root does not match entries "
                 "0..%llu (an entry was altered, removed or inserted)",
                 (unsigned long long)cp->size, (unsigned long long)cp->size - 1);
    }
}

static int chk_entries(chk *c)
{
    FILE *f = fopen(c->p_entries, "rb");
    if (!f) {
        fail(c, c->p_entries, 0, "cannot open: %s", strerror(errno));
        return VIGIE_OK;
    }
    lines r;
    lines_init(&r, f);
    r.limit = c->lim_entries;
    const char *s;
    size_t n;
    bool nl;
    int rc, ret = VIGIE_OK;
    uint32_t k = 0;
    char why[256];
    check_cps_at(c, &k); /* checkpoints of the empty tree */
    memset(c->last_leaf, 0, sizeof c->last_leaf);
    while ((rc = lines_next(&r, &s, &n, &nl)) == VIGIE_OK) {
        entry e;
        uint8_t leaf[VG_LEDGER_HASH];
        const char *fe = c->p_entries;
        uint64_t ln = r.lineno;
        if (!nl)
            fail(c, fe, ln, "last line has no newline (interrupted write or cut)");
        if (parse_entry(&c->s, s, n, &e, why, sizeof why)) {
            fail(c, fe, ln, "entry %llu: %s", (unsigned long long)c->n, why);
            vg__ledger_leaf_hash(s, n, leaf);
            memcpy(c->last_leaf, leaf, VG_LEDGER_HASH);
        } else {
            if (e.seq != c->n)
                fail(c, fe, ln, "entry %llu (alert %s): seq is %llu (entry removed, inserted or "
                     "reordered)", (unsigned long long)c->n, e.alert_id,
                     (unsigned long long)e.seq);
            if (!heq(e.prev, c->last_leaf))
                fail(c, fe, ln, "entry %llu (alert %s): prev does not match the leaf hash of the "
                     "entry before (hash chain broken)", (unsigned long long)c->n, e.alert_id);
            if (!heq(e.leaf, e.calc))
                fail(c, fe, ln, "entry %llu (alert %s): leaf hash does not match the entry's "
                     "bytes (entry altered)", (unsigned long long)c->n, e.alert_id);
            memcpy(leaf, e.calc, VG_LEDGER_HASH);
            memcpy(c->last_leaf, e.leaf, VG_LEDGER_HASH);
            if (c->want_sources && e.is_manifest && (ret = collect_manifest(c, &e)))
                break;
            if (c->want_sources && !e.is_manifest && (ret = collect_sources(c, &e)))
                break;
            if (!c->want_sources && e.is_manifest)
                c->n_manifests++;
            if (c->find && (c->find_id ? (!e.is_manifest && e.alert_id_len == strlen(c->find_id) &&
                                          memcmp(e.alert_id, c->find_id, e.alert_id_len) == 0)
                                       : e.seq == c->find_seq)) {
                if (c->n_found++ == 0) {
                    c->found_seq = c->n;
                    vg__buf_reset(&c->found_line);
                    if ((ret = vg__buf_add(&c->found_line, s, n)))
                        break;
                }
            }
        }
        if (c->want_leaves) {
            if (VG_GROW(c->leaves, c->cap_leaves, (size_t)c->n + 1, 1024)) {
                ret = VIGIE_NOMEM;
                break;
            }
            memcpy(c->leaves[c->n], leaf, VG_LEDGER_HASH);
        }
        vg__ledger_tree_push(&c->tree, leaf);
        c->n++;
        check_cps_at(c, &k);
    }
    uint64_t ln = r.lineno;
    lines_free(&r);
    if (ret)
        return ret;
    if (rc != VIGIE_EOF) {
        fail(c, c->p_entries, ln, "%s", rc == VIGIE_TOOBIG ? "line too long" : "read error");
        if (rc == VIGIE_NOMEM)
            return rc;
    }
    for (; k < c->n_cps; k++)
        if (c->cps[k].size > c->n)
            fail(c, c->p_cps, c->cps[k].line, "checkpoint covers %llu entries but %s has %llu "
                 "(entries removed or the file cut)", (unsigned long long)c->cps[k].size,
                 F_ENTRIES, (unsigned long long)c->n);
    if (c->recover)
        return VIGIE_OK; /* an unsigned tail is what recovery checkpoints */
    if (c->n_cps == 0)
        fail(c, c->p_cps, 0, "no checkpoint: nothing in this ledger is signed");
    else if (c->cps[c->n_cps - 1].size < c->n)
        fail(c, c->p_entries, c->cps[c->n_cps - 1].size + 1,
             "entries %llu..%llu follow the last checkpoint: not covered by a signature "
             "(interrupted run, or appended by someone else: vigie ledger recover checkpoints "
             "an intact tail)",
             (unsigned long long)c->cps[c->n_cps - 1].size, (unsigned long long)c->n - 1);
    return VIGIE_OK;
}

/* DIR/checkpoint: in a signed ledger, the last checkpoint as a signed note (stale or missing
 * is a failure, except for recovery, which rewrites it); in an unsigned ledger it must not
 * exist (its presence means the signatures were stripped). */
static void chk_note(chk *c)
{
    char *text = NULL;
    size_t len = 0;
    int rc = vg__read_file(c->p_note, NOTE_CAP, &text, &len);
    if (!c->is_signed) {
        if (rc != VIGIE_NOENT)
            fail(c, c->p_note, 0,
                 "a signed checkpoint note in a ledger without signatures or "
                 "%s: the signatures were stripped",
                 F_PUB);
        free(text);
        return;
    }
    const char *why = NULL;
    uint64_t size = 0;
    uint8_t root[VG_LEDGER_HASH];
    if (rc)
        why = rc == VIGIE_NOENT ? "missing (vigie ledger recover writes it)" : vigie_strerror(rc);
    else if (!c->pub)
        why = "cannot be checked without a public key";
    else
        why = note_problem(c->pub, c->key_id, text, len, &size, root);
    free(text);
    if (!why && (c->n_cps == 0 || size != c->cps[c->n_cps - 1].size ||
                 !heq(root, c->cps[c->n_cps - 1].root))) {
        /* (no checkpoint line at all beside a valid note: every ledger starts with the
         * checkpoint of the empty tree, so its checkpoints were cut away) */
        /* a crash between checkpoints.jsonl and the note leaves the note one checkpoint
         * behind; a note ahead of every checkpoint, or matching none, is a rollback */
        bool known = false;
        for (uint32_t i = 0; i < c->n_cps && !known; i++)
            known = c->cps[i].size == size && heq(c->cps[i].root, root);
        if (!known)
            fail(c, c->p_note, 0,
                 "is a signed checkpoint of size %llu that the ledger does "
                 "not hold: the ledger was rolled back or rewritten",
                 (unsigned long long)size);
        else if (!c->recover)
            fail(c, c->p_note, 0,
                 "is an earlier checkpoint than the last of checkpoints.jsonl "
                 "(stale after a crash: vigie ledger recover rewrites it)");
        c->note_ok = false;
        return;
    }
    c->note_ok = why == NULL;
    /* in recovery a missing note (a ledger older than the note) is written; a note that is
     * there but does not verify was not left by a crash (it is written by rename) */
    if (why && (!c->recover || rc != VIGIE_NOENT))
        fail(c, c->p_note, 0, "%s", why);
}

/* The whole check of a ledger directory (no raw records). VIGIE_OK unless fatal; failures
 * are counted in c->failures. */
static int chk_run(chk *c, EVP_PKEY *pinned)
{
    if (!exists(c->p_entries) && !exists(c->p_cps)) {
        vg__diag(c->diag, c->diag_ud, VIGIE_DIAG_ERROR, VIGIE_NOENT, c->dir, 0, 0, NULL,
                 "not a vigie ledger (no %s, no %s)", F_ENTRIES, F_CPS);
        return VIGIE_NOENT;
    }
    int rc = chk_keys(c, pinned);
    if (!rc)
        rc = chk_checkpoints(c);
    if (!rc)
        rc = chk_entries(c);
    if (!rc)
        chk_note(c);
    return rc;
}

/* SHA-256 and size of a regular file's bytes, streaming. */
static int hash_file(const char *path, uint64_t *size, uint8_t sha[VG_LEDGER_HASH],
                     const char **why)
{
    *why = NULL;
    if (!strcmp(path, "-")) {
        *why = "standard input cannot be read again";
        return VIGIE_INVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = strerror(errno);
        return VIGIE_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return VIGIE_INVAL;
    }
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    int rc = buf && x && EVP_DigestInit_ex(x, EVP_sha256(), NULL) == 1 ? VIGIE_OK : VIGIE_NOMEM;
    uint64_t total = 0;
    while (!rc) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *why = strerror(errno);
            rc = VIGIE_IO;
        } else if (r == 0) {
            break;
        } else if (EVP_DigestUpdate(x, buf, (size_t)r) != 1) {
            rc = VIGIE_CRYPTO;
        } else {
            total += (uint64_t)r;
        }
    }
    unsigned int ol = 0;
    if (!rc && EVP_DigestFinal_ex(x, sha, &ol) != 1)
        rc = VIGIE_CRYPTO;
    EVP_MD_CTX_free(x);
    free(buf);
    close(fd);
    *size = total;
    if (rc && !*why)
        *why = vigie_strerror(rc);
    return rc;
}

/* ---- raw records ------------------------------------------------------------------------- */

static int src_cmp(const void *a, const void *b)
{
    const src_ref *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void check_file(chk *c, const char *path, const src_ref *g, size_t n, uint64_t *ok)
{
    vg_reader *r = NULL;
    vg_reader_opts ro = {0};
    int rc = vg__reader_open(&r, path, &ro);
    if (rc) {
        fail(c, path, g[0].line, "cannot read (%s): record %llu behind ledger entry %llu (alert "
             "%s)%s is not checked", vigie_strerror(rc), (unsigned long long)g[0].index,
             (unsigned long long)g[0].seq, c->ids.data + g[0].id_off,
             n > 1 ? " and the other records from this file" : "");
        c->failures += n - 1;
        return;
    }
    size_t j = 0;
    vg_record rec;
    while (j < n && (rc = vg__reader_next(r, &rec)) == VIGIE_OK) {
        for (; j < n && g[j].index < rec.src.index; j++)
            fail(c, path, g[j].line, "record %llu (offset %llu) behind ledger entry %llu (alert "
                 "%s) is missing (removed, or no longer a readable record)",
                 (unsigned long long)g[j].index, (unsigned long long)g[j].offset,
                 (unsigned long long)g[j].seq, c->ids.data + g[j].id_off);
        if (j >= n || g[j].index != rec.src.index)
            continue;
        uint8_t h[VG_LEDGER_HASH];
        vg__ledger_sha256(rec.data, rec.len, h);
        for (; j < n && g[j].index == rec.src.index; j++) {
            const src_ref *x = &g[j];
            const char *id = c->ids.data + x->id_off;
            bool bad = false;
            if (x->line != rec.src.line || x->offset != rec.src.offset) {
                fail(c, path, rec.src.line, "record %llu is at line %llu, offset %llu; ledger "
                     "entry %llu (alert %s) has it at line %llu, offset %llu (data inserted or "
                     "removed before it)", (unsigned long long)x->index,
                     (unsigned long long)rec.src.line, (unsigned long long)rec.src.offset,
                     (unsigned long long)x->seq, id, (unsigned long long)x->line,
                     (unsigned long long)x->offset);
                bad = true;
            }
            if (!heq(h, x->sha)) {
                char a[VG_LEDGER_HEX], b[VG_LEDGER_HEX];
                to_hex(h, VG_LEDGER_HASH, a);
                to_hex(x->sha, VG_LEDGER_HASH, b);
                fail(c, path, rec.src.line, "record %llu (offset %llu): SHA-256 %.16s... differs "
                     "from %.16s... in ledger entry %llu (alert %s): the record was altered",
                     (unsigned long long)x->index, (unsigned long long)rec.src.offset, a, b,
                     (unsigned long long)x->seq, id);
                bad = true;
            }
            *ok += !bad;
        }
    }
    if (rc != VIGIE_OK && rc != VIGIE_EOF)
        fail(c, path, 0, "read error (%s): the records after the error cannot be checked",
             vigie_strerror(rc));
    for (; j < n; j++)
        fail(c, path, g[j].line, "record %llu (offset %llu) behind ledger entry %llu (alert %s) "
             "is missing: the file ends before it", (unsigned long long)g[j].index,
             (unsigned long long)g[j].offset, (unsigned long long)g[j].seq,
             c->ids.data + g[j].id_off);
    vg__reader_close(r);
}

/* What verify knows of one given input: its realpath and, once needed, size and SHA-256. */
typedef struct given {
    char *real;
    bool hashed, hash_ok, used;
    uint64_t size;
    uint8_t sha[VG_LEDGER_HASH];
} given;

static void given_hash(given *g, const char *path)
{
    if (g->hashed)
        return;
    const char *why;
    g->hashed = true;
    g->hash_ok = hash_file(path, &g->size, g->sha, &why) == VIGIE_OK;
}

/* Inputs to ledger file names: the recorded path (exact string, then realpath), then the
 * SHA-256 a run manifest recorded for that name; never a base name. Then every referenced
 * record is re-read, and every manifest file is hashed and compared with its last record. */
static void chk_inputs(chk *c, const vg_ledger_verify_opts *o, vg_ledger_verify_result *res)
{
    uint32_t nf = c->n_files, ni = o->n_inputs;
    int64_t *map = malloc((nf + 1) * sizeof *map);
    given *g = calloc(ni + 1, sizeof *g);
    int64_t *last_mf = malloc((nf + 1) * sizeof *last_mf);
    bool *referenced = calloc(nf + 1, sizeof *referenced);
    if (!map || !g || !last_mf || !referenced) {
        fail(c, c->dir, 0, "out of memory");
        goto out;
    }
    for (uint32_t f = 0; f < nf; f++)
        map[f] = last_mf[f] = -1;
    for (size_t i = 0; i < c->n_mfs; i++)
        last_mf[c->mfs[i].file] = (int64_t)i;
    for (size_t i = 0; i < c->n_srcs; i++)
        referenced[c->srcs[i].file] = true;
    for (uint32_t k = 0; k < ni; k++)
        g[k].real = realpath(o->inputs[k], NULL);
    for (uint32_t f = 0; f < nf; f++) {
        for (uint32_t k = 0; k < ni && map[f] < 0; k++)
            if (!strcmp(o->inputs[k], c->files[f]))
                map[f] = k;
        if (map[f] >= 0)
            continue;
        char *rf = realpath(c->files[f], NULL);
        for (uint32_t k = 0; rf && k < ni && map[f] < 0; k++)
            if (g[k].real && !strcmp(g[k].real, rf))
                map[f] = k;
        free(rf);
    }
    for (uint32_t f = 0; f < nf; f++)
        if (map[f] >= 0)
            g[map[f]].used = true;
    /* an input not matched by path: a name whose manifest records its exact bytes */
    for (uint32_t k = 0; k < ni; k++) {
        if (g[k].used)
            continue;
        given_hash(&g[k], o->inputs[k]);
        for (size_t i = 0; g[k].hash_ok && i < c->n_mfs; i++) {
            const mf_rec *m = &c->mfs[i];
            if (map[m->file] < 0 && m->size == g[k].size && heq(m->sha, g[k].sha)) {
                map[m->file] = k;
                g[k].used = true;
            }
        }
    }
    if (c->n_srcs)
        qsort(c->srcs, c->n_srcs, sizeof *c->srcs, src_cmp);
    for (size_t i = 0; i < c->n_srcs;) {
        size_t j = i;
        while (j < c->n_srcs && c->srcs[j].file == c->srcs[i].file)
            j++;
        uint32_t f = c->srcs[i].file;
        const char *name = c->files[f], *path = map[f] >= 0 ? o->inputs[map[f]] : name;
        if (map[f] < 0 && !exists(name)) {
            fail(c, name, c->srcs[i].line, "missing file: record %llu behind ledger entry %llu "
                 "(alert %s)%s cannot be checked (give the file with --inputs)",
                 (unsigned long long)c->srcs[i].index, (unsigned long long)c->srcs[i].seq,
                 c->ids.data + c->srcs[i].id_off, j - i > 1 ? " and others" : "");
            c->failures += j - i - 1;
            i = j;
            continue;
        }
        check_file(c, path, c->srcs + i, j - i, &res->sources_checked);
        i = j;
    }
    /* every file of the manifests: the bytes are those the last run that read it recorded */
    for (uint32_t f = 0; f < nf; f++) {
        if (last_mf[f] < 0)
            continue;
        const mf_rec *m = &c->mfs[last_mf[f]];
        const char *name = c->files[f];
        const char *path = map[f] >= 0 ? o->inputs[map[f]] : name;
        if (map[f] < 0 && !exists(name)) {
            if (!referenced[f]) /* a referenced file is reported missing above */
                res->files_unchecked++;
            continue;
        }
        given tmp = {0}, *h = map[f] >= 0 ? &g[map[f]] : &tmp;
        given_hash(h, path);
        if (!h->hash_ok) {
            fail(c, path, 0, "cannot read to compare with the run manifest (ledger entry %llu)",
                 (unsigned long long)m->seq);
        } else if (h->size != m->size || !heq(h->sha, m->sha)) {
            char a[VG_LEDGER_HEX], b[VG_LEDGER_HEX];
            to_hex(h->sha, VG_LEDGER_HASH, a);
            to_hex(m->sha, VG_LEDGER_HASH, b);
            fail(c, path, 0,
                 "file differs from the run manifest in ledger entry %llu (size %llu, "
                 "SHA-256 %.16s...; recorded %llu, %.16s...): altered, cut or appended to since "
                 "the scan",
                 (unsigned long long)m->seq, (unsigned long long)h->size, a,
                 (unsigned long long)m->size, b);
        } else {
            res->files_checked++;
        }
    }
    if (res->files_unchecked)
        vg__diag(c->diag, c->diag_ud, VIGIE_DIAG_WARNING, VIGIE_NOTFOUND, c->dir, 0, 0, NULL,
                 "%llu file%s of the run manifests not checked: not given with --inputs and not "
                 "at the recorded path",
                 (unsigned long long)res->files_unchecked, res->files_unchecked == 1 ? "" : "s");
    for (uint32_t k = 0; k < ni; k++)
        if (!g[k].used)
            vg__diag(c->diag, c->diag_ud, VIGIE_DIAG_WARNING, VIGIE_NOTFOUND, o->inputs[k], 0, 0,
                     NULL,
                     "not referenced by the ledger (no recorded path and no manifest has "
                     "its SHA-256): nothing checked in it");
out:
    for (uint32_t k = 0; g && k < ni; k++)
        free(g[k].real);
    free(g);
    free(map);
    free(last_mf);
    free(referenced);
}

/* --checkpoint FILE: a note kept elsewhere, signed by the ledger's key; the ledger must be
 * the same tree or extend it (RFC 9162 2.1.4 consistency proof from the leaves). */
static void chk_extends(chk *c, const char *path, vg_ledger_verify_result *res)
{
    char *text = NULL;
    size_t len = 0;
    int rc = vg__read_file(path, NOTE_CAP, &text, &len);
    uint64_t m = 0;
    uint8_t old_root[VG_LEDGER_HASH], new_root[VG_LEDGER_HASH];
    const char *why = NULL;
    if (rc)
        why = vigie_strerror(rc);
    else if (!c->pub)
        why = "an unsigned ledger cannot be checked against a checkpoint";
    else
        why = note_problem(c->pub, c->key_id, text, len, &m, old_root);
    free(text);
    if (why) {
        fail(c, path, 0, "checkpoint: %s", why);
        return;
    }
    res->cp_size = m;
    if (m > c->n) {
        fail(c, path, 0,
             "the ledger has %llu entries, fewer than the %llu of this checkpoint: "
             "cut back (rolled back) since",
             (unsigned long long)c->n, (unsigned long long)m);
        return;
    }
    uint8_t path_h[VG_LEDGER_MAX_CONSISTENCY][VG_LEDGER_HASH];
    uint32_t np = 0;
    const uint8_t(*lv)[VG_LEDGER_HASH] = (const uint8_t(*)[VG_LEDGER_HASH])c->leaves;
    vg__ledger_mth(lv, c->n, new_root);
    if (m > 0 && vg__ledger_consistency_proof(lv, c->n, m, path_h, &np) != VIGIE_OK) {
        fail(c, path, 0, "cannot build the consistency proof");
        return;
    }
    if (vg__ledger_verify_consistency(m, c->n, old_root, new_root,
                                      (const uint8_t(*)[VG_LEDGER_HASH])path_h, np) != VIGIE_OK)
        fail(c, path, 0,
             "the ledger does not extend this checkpoint: its first %llu entries "
             "have another root (rewritten, or rolled back and appended to)",
             (unsigned long long)m);
}

static int read_pub_file(const char *path, EVP_PKEY **out)
{
    char *text;
    size_t len;
    int rc = vg__read_file(path, KEY_FILE_CAP, &text, &len);
    if (rc)
        return rc;
    *out = pub_from_pem(text, len);
    free(text);
    return *out ? VIGIE_OK : VIGIE_INVAL;
}

int vg__ledger_verify(const char *dir, const vg_ledger_verify_opts *opts,
                      vg_ledger_verify_result *res)
{
    vg_ledger_verify_opts none = {0};
    vg_ledger_verify_result tmp;
    const vg_ledger_verify_opts *o = opts ? opts : &none;
    if (!res)
        res = &tmp;
    memset(res, 0, sizeof *res);
    EVP_PKEY *pinned = NULL;
    chk c;
    int rc = chk_init(&c, dir, o->diag, o->diag_ud);
    if (rc) {
        vg__diag(o->diag, o->diag_ud, VIGIE_DIAG_ERROR, rc, dir, 0, 0, NULL, "invalid directory");
        goto out;
    }
    if (o->pub_path && (rc = read_pub_file(o->pub_path, &pinned))) {
        vg__diag(o->diag, o->diag_ud, VIGIE_DIAG_ERROR, rc, o->pub_path, 0, 0, NULL,
                 rc == VIGIE_INVAL ? "not an Ed25519 public key in PEM" : "cannot read: %s",
                 vigie_strerror(rc));
        goto out;
    }
    c.want_sources = o->check_inputs;
    c.want_leaves = o->checkpoint_path != NULL;
    if ((rc = chk_run(&c, pinned)))
        goto out;
    if (o->check_inputs)
        chk_inputs(&c, o, res);
    if (o->checkpoint_path)
        chk_extends(&c, o->checkpoint_path, res);
    res->manifests = c.n_manifests;
    res->entries = c.n;
    for (uint32_t i = 0; i < c.n_cps; i++)
        res->checkpoints++;
    res->signed_size = c.n_cps ? c.cps[c.n_cps - 1].size : 0;
    res->sources = c.n_srcs;
    res->is_signed = c.is_signed;
    res->key_pinned = pinned != NULL;
    memcpy(res->key_id, c.key_id, VG_LEDGER_HEX);
    rc = c.failures ? VIGIE_VERIFY : VIGIE_OK;
out:
    res->failures = c.failures;
    chk_free(&c);
    EVP_PKEY_free(pinned);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------ */

struct vg_ledger {
    char dir[PATH_MAX];
    int fd_entries;          /* O_APPEND, flock'ed while open */
    int fd_cps;              /* O_APPEND */
    EVP_PKEY *key;           /* NULL: unsigned ledger */
    char key_id[VG_LEDGER_HEX];
    vg_ledger_tree tree;     /* over every entry written */
    uint8_t prev[VG_LEDGER_HASH]; /* leaf hash of the last entry (zeros before the first) */
    uint64_t cp_size;        /* size of the last checkpoint */
    bool has_cp;
    int broken;              /* first I/O failure: every later call returns it */
    double cp_mono;          /* vg__now() at the last checkpoint (or the open) */
    vigie_diag_fn diag;      /* recovery and manifest reports (may be NULL) */
    void *diag_ud;
    vg_buf line, msg, note;
    char err[512];
};

uint64_t vg__ledger_size(const vg_ledger *l)
{
    return l ? l->tree.size : 0;
}

const char *vg__ledger_error(const vg_ledger *l)
{
    return l ? l->err : "";
}

typedef struct first_msg {
    char *buf;
    size_t cap;
    bool got;
} first_msg;

static void keep_first(void *ud, const vigie_diag *d)
{
    first_msg *m = ud;
    if (m->got || d->level != VIGIE_DIAG_ERROR)
        return;
    m->got = true;
    if (d->file && d->line)
        snprintf(m->buf, m->cap, "%s:%llu: %s", d->file, (unsigned long long)d->line, d->message);
    else if (d->file)
        snprintf(m->buf, m->cap, "%s: %s", d->file, d->message);
    else
        snprintf(m->buf, m->cap, "%s", d->message);
}

static int write_checkpoint(vg_ledger *l)
{
    if (l->broken)
        return l->broken;
    if (l->has_cp && l->cp_size == l->tree.size)
        return VIGIE_OK;
    int rc = VIGIE_IO;
    if (fsync(l->fd_entries) != 0) {
        seterr(l->err, sizeof l->err, "%s/%s: fsync: %s", l->dir, F_ENTRIES, strerror(errno));
        goto bad;
    }
    uint8_t root[VG_LEDGER_HASH], sig[SIG_LEN];
    char root_hex[VG_LEDGER_HEX], sig_hex[2 * SIG_LEN + 1] = "", when[40];
    vg__ledger_tree_root(&l->tree, root);
    to_hex(root, VG_LEDGER_HASH, root_hex);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    vg__format_time((double)ts.tv_sec + ts.tv_nsec / 1e9, when, sizeof when);
    vg__buf_reset(&l->msg);
    vg__buf_reset(&l->line);
    if (l->key) {
        if ((rc = cp_message(&l->msg, l->tree.size, root_hex, when, l->key_id)) ||
            (rc = sign_msg(l->key, l->msg.data, l->msg.len, sig))) {
            seterr(l->err, sizeof l->err, "cannot sign the checkpoint: %s", vigie_strerror(rc));
            goto bad;
        }
        to_hex(sig, SIG_LEN, sig_hex);
    }
    if ((rc = cp_line(&l->line, l->tree.size, root_hex, when, l->key ? l->key_id : "", sig_hex)) ||
        (rc = vg__buf_addc(&l->line, '\n')))
        goto bad;
    if ((rc = write_all(l->fd_cps, l->line.data, l->line.len)) || fsync(l->fd_cps) != 0) {
        rc = VIGIE_IO;
        seterr(l->err, sizeof l->err, "%s/%s: write: %s", l->dir, F_CPS, strerror(errno));
        goto bad;
    }
    l->cp_size = l->tree.size;
    l->has_cp = true;
    l->cp_mono = vg__now();
    if (l->key && ((rc = note_make(l->key, l->key_id, l->tree.size, root, &l->note)) ||
                   (rc = note_write(l->dir, &l->note)))) {
        seterr(l->err, sizeof l->err, "%s/checkpoint: cannot write the checkpoint note: %s", l->dir,
               vigie_strerror(rc));
        goto bad;
    }
    return VIGIE_OK;
bad:
    l->broken = rc;
    return rc;
}

bool vg__ledger_checkpoint_due(const vg_ledger *l, double now)
{
    return l && !l->broken && l->tree.size > l->cp_size &&
           now - l->cp_mono >= VG_LEDGER_CHECKPOINT_SECONDS;
}

static char *last_nl(char *b, size_t n)
{
    while (n-- > 0)
        if (b[n] == '\n')
            return b + n;
    return NULL;
}

/* The torn tail of a ledger file after a crash: the bytes after its last newline, else its
 * last line when that does not parse (a write cut short and padded). *keep: the bytes to
 * keep (= *size when nothing is torn). Only the last line is ever a candidate. */
static void find_torn(const char *path, bool entries, scratch *s, uint64_t *keep, uint64_t *size)
{
    *keep = *size = UINT64_MAX;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return;
    }
    uint64_t sz = (uint64_t)st.st_size, win = 2u * (VG_MAX_LEDGER_LINE + 1u);
    *keep = *size = sz;
    if (win > sz)
        win = sz;
    char *b = win ? malloc(win) : NULL;
    if (!b || pread(fd, b, win, (off_t)(sz - win)) != (ssize_t)win) {
        free(b);
        close(fd);
        return;
    }
    close(fd);
    uint64_t base = sz - win;
    if (b[win - 1] != '\n') {
        char *p = last_nl(b, win);
        if (p)
            *keep = base + (uint64_t)(p - b) + 1;
        else if (base == 0)
            *keep = 0;
    } else {
        char *q = win > 1 ? last_nl(b, win - 1) : NULL;
        char *start = q ? q + 1 : base == 0 ? b : NULL;
        if (start) {
            size_t n = (size_t)(b + win - 1 - start);
            char why[256];
            bool bad;
            if (entries) {
                entry e;
                bad = parse_entry(s, start, n, &e, why, sizeof why) != 0;
            } else {
                cp_rec cp;
                vg_jerr je;
                bad = vg__json_parse(&s->t, start, n, &je) != VIGIE_OK ||
                      parse_cp(s, 0, start, n, &cp, why, sizeof why) != 0;
            }
            if (bad)
                *keep = base + (uint64_t)(start - b);
        }
    }
    free(b);
}

static int open_existing(vg_ledger *l, bool has_pub, char *err, size_t errlen)
{
    if (has_pub && !l->key) {
        seterr(err, errlen, "%s is a signed ledger: its private key is needed to append", l->dir);
        return VIGIE_INVAL;
    }
    if (!has_pub && l->key) {
        seterr(err, errlen, "%s is an unsigned ledger: it cannot be continued with a key",
               l->dir);
        return VIGIE_INVAL;
    }
    char msg[768] = "";
    first_msg fm = {msg, sizeof msg, false};
    chk c;
    int rc = chk_init(&c, l->dir, keep_first, &fm);
    uint64_t keep_e = 0, size_e = 0, keep_c = 0, size_c = 0;
    if (!rc) {
        find_torn(c.p_entries, true, &c.s, &keep_e, &size_e);
        find_torn(c.p_cps, false, &c.s, &keep_c, &size_c);
        c.lim_entries = keep_e;
        c.lim_cps = keep_c;
        c.recover = true;
        rc = chk_run(&c, l->key);
    }
    if (!rc && c.failures)
        rc = VIGIE_VERIFY;
    if (rc) {
        seterr(err, errlen, "ledger %s does not verify, not appended to (%llu problem%s; "
               "first: %s)", l->dir, (unsigned long long)c.failures, c.failures == 1 ? "" : "s",
               msg[0] ? msg : vigie_strerror(rc));
        goto out;
    }
    const struct {
        int fd;
        const char *path;
        uint64_t keep, size;
    } cut[2] = {{l->fd_entries, c.p_entries, keep_e, size_e}, {l->fd_cps, c.p_cps, keep_c, size_c}};
    for (int i = 0; i < 2; i++) {
        if (cut[i].keep >= cut[i].size)
            continue;
        if (ftruncate(cut[i].fd, (off_t)cut[i].keep) != 0 || fsync(cut[i].fd) != 0) {
            rc = VIGIE_IO;
            seterr(err, errlen, "%s: cannot cut the torn last line: %s", cut[i].path,
                   strerror(errno));
            goto out;
        }
        vg__diag(l->diag, l->diag_ud, VIGIE_DIAG_WARNING, VIGIE_OK, cut[i].path, 0, 0, NULL,
                 "recovered: cut a torn last line (%llu bytes at offset %llu, an interrupted "
                 "write)",
                 (unsigned long long)(cut[i].size - cut[i].keep), (unsigned long long)cut[i].keep);
    }
    /* temporaries of a note write cut short by a crash */
    DIR *d = opendir(l->dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (strncmp(de->d_name, ".checkpoint.", 12) != 0)
            continue;
        char tp[PATH_MAX + 300];
        snprintf(tp, sizeof tp, "%s/%s", l->dir, de->d_name);
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            vg__diag(l->diag, l->diag_ud, VIGIE_DIAG_WARNING, VIGIE_OK, tp, 0, 0, NULL,
                     "recovered: removed a temporary left by an interrupted checkpoint");
    }
    if (d)
        closedir(d);
    l->tree = c.tree;
    memcpy(l->prev, c.last_leaf, VG_LEDGER_HASH);
    l->has_cp = c.n_cps > 0;
    l->cp_size = l->has_cp ? c.cps[c.n_cps - 1].size : 0;
    if (!l->has_cp || l->cp_size < l->tree.size) {
        vg__diag(l->diag, l->diag_ud, VIGIE_DIAG_WARNING, VIGIE_OK, c.p_entries, l->cp_size + 1, 0,
                 NULL,
                 "recovered: kept %llu entr%s (%llu..%llu) after the last checkpoint, "
                 "hash chain and form intact; checkpoint%s now",
                 (unsigned long long)(l->tree.size - l->cp_size),
                 l->tree.size - l->cp_size == 1 ? "y" : "ies", (unsigned long long)l->cp_size,
                 (unsigned long long)l->tree.size - 1, l->key ? " signed" : "ed");
        if ((rc = write_checkpoint(l)))
            seterr(err, errlen, "%s", l->err);
    } else if (l->key && !c.note_ok) {
        uint8_t root[VG_LEDGER_HASH];
        vg__ledger_tree_root(&l->tree, root);
        if ((rc = note_make(l->key, l->key_id, l->tree.size, root, &l->note)) ||
            (rc = note_write(l->dir, &l->note))) {
            seterr(err, errlen, "%s/checkpoint: cannot write: %s", l->dir, vigie_strerror(rc));
            goto out;
        }
        vg__diag(l->diag, l->diag_ud, VIGIE_DIAG_WARNING, VIGIE_OK, c.p_note, 0, 0, NULL,
                 "recovered: rewrote the checkpoint note (it was missing or stale)");
    }
out:
    chk_free(&c);
    return rc;
}

int vg__ledger_open(const char *dir, const char *key_prefix, vigie_diag_fn diag, void *diag_ud,
                    vg_ledger **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!dir || !*dir || strlen(dir) + 32 >= PATH_MAX) {
        seterr(err, errlen, "invalid ledger directory");
        return VIGIE_INVAL;
    }
    vg_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return VIGIE_NOMEM;
    l->fd_entries = l->fd_cps = -1;
    vg__buf_init(&l->line, VG_MAX_LEDGER_LINE + 1);
    vg__buf_init(&l->msg, 0);
    vg__buf_init(&l->note, 0);
    vg__ledger_tree_init(&l->tree);
    l->diag = diag;
    l->diag_ud = diag_ud;
    l->cp_mono = vg__now();
    snprintf(l->dir, sizeof l->dir, "%s", dir);
    char pe[PATH_MAX + 32], pc[PATH_MAX + 32], pp[PATH_MAX + 32];
    snprintf(pe, sizeof pe, "%s/%s", dir, F_ENTRIES);
    snprintf(pc, sizeof pc, "%s/%s", dir, F_CPS);
    snprintf(pp, sizeof pp, "%s/%s", dir, F_PUB);
    int rc = VIGIE_OK;
    if (key_prefix && ((rc = load_private(key_prefix, &l->key, err, errlen)) ||
                       (rc = key_id_of(l->key, l->key_id))))
        goto bad;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        rc = VIGIE_IO;
        seterr(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        goto bad;
    }
    bool has_e = exists(pe), has_c = exists(pc), has_p = exists(pp);
    /* Unborn: creation (ledger.pub, checkpoints.jsonl, entries.jsonl, then the first
     * checkpoint) was cut by a crash before anything was checkpointed: both ledger files
     * absent or empty. It is created again, keeping a ledger.pub of the same key. */
    char pn[PATH_MAX + 32];
    snprintf(pn, sizeof pn, "%s/checkpoint", dir);
    bool fresh = size_or_0(pe) == 0 && size_or_0(pc) == 0 && size_or_0(pn) == 0;
    if (fresh && has_p) {
        vg_buf pem;
        vg__buf_init(&pem, 0);
        char *text = NULL;
        size_t tl = 0;
        bool same = l->key && pub_to_pem(l->key, &pem) == VIGIE_OK &&
                    vg__read_file(pp, KEY_FILE_CAP, &text, &tl) == VIGIE_OK && tl == pem.len &&
                    memcmp(text, pem.data, tl) == 0;
        free(text);
        vg__buf_free(&pem);
        if (!same) {
            rc = VIGIE_INVAL;
            seterr(err, errlen,
                   "%s has %s but no entries: a ledger whose creation was cut, and %s", dir,
                   F_PUB, l->key ? "its key is not the one given" : "no key was given");
            goto bad;
        }
    }
    if (fresh) {
        if (has_e)
            unlink(pe);
        if (has_c)
            unlink(pc);
        if (l->key && !has_p) {
            vg_buf pem;
            vg__buf_init(&pem, 0);
            rc = pub_to_pem(l->key, &pem);
            if (!rc)
                rc = write_new_file(pp, 0644, pem.data, pem.len);
            vg__buf_free(&pem);
            if (rc) {
                seterr(err, errlen, "cannot write %s: %s", pp, vigie_strerror(rc));
                goto bad;
            }
        }
        if ((rc = write_new_file(pc, 0644, "", 0)) || (rc = write_new_file(pe, 0644, "", 0))) {
            seterr(err, errlen, "cannot create the ledger files in %s", dir);
            goto bad;
        }
    }
    l->fd_entries = open(pe, O_RDWR | O_APPEND | O_CLOEXEC);
    l->fd_cps = open(pc, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (l->fd_entries < 0 || l->fd_cps < 0) {
        rc = VIGIE_IO;
        seterr(err, errlen, "cannot open the ledger files in %s: %s", dir, strerror(errno));
        goto bad;
    }
    if (flock(l->fd_entries, LOCK_EX | LOCK_NB) != 0) {
        rc = VIGIE_IO;
        seterr(err, errlen, "ledger %s is in use by another writer", dir);
        goto bad;
    }
    if (!fresh && (rc = open_existing(l, has_p, err, errlen)))
        goto bad;
    if (fresh && (rc = write_checkpoint(l))) { /* every ledger starts with a signed empty tree */
        seterr(err, errlen, "%s", l->err);
        goto bad;
    }
    *out = l;
    return VIGIE_OK;
bad:
    vg__ledger_close(l, NULL, 0);
    return rc;
}

static int emit_entry(vg_ledger *l, vg_buf *b);

int vg__ledger_append(vg_ledger *l, const char *alert_id, const char *alert_json, size_t len,
                      const vg_ledger_src *srcs, uint32_t n_srcs)
{
    if (!l)
        return VIGIE_INVAL;
    if (l->broken)
        return l->broken;
    size_t idl = alert_id ? strlen(alert_id) : 0;
    if (idl == 0 || idl > VG_MAX_LEDGER_ALERT_ID || (!alert_json && len) ||
        n_srcs > VG_MAX_LEDGER_SOURCES || (!srcs && n_srcs)) {
        seterr(l->err, sizeof l->err, "invalid alert: empty or too long id, or too many sources");
        return VIGIE_INVAL;
    }
    for (uint32_t i = 0; i < n_srcs; i++)
        if (!srcs[i].file) {
            seterr(l->err, sizeof l->err, "alert %s: source %u has no file", alert_id, i);
            return VIGIE_INVAL;
        }
    uint8_t asha[VG_LEDGER_HASH];
    vg__ledger_sha256(alert_json, len, asha);
    vg_buf *b = &l->line;
    vg__buf_reset(b);
    int rc = entry_head(b, l->tree.size, alert_id, idl, asha);
    for (uint32_t i = 0; i < n_srcs && !rc; i++)
        rc = entry_src(b, i == 0, srcs[i].file, strlen(srcs[i].file), srcs[i].line,
                       srcs[i].index, srcs[i].offset, srcs[i].sha256);
    if (rc) {
        seterr(l->err, sizeof l->err, "alert %s: entry over %u bytes", alert_id,
               VG_MAX_LEDGER_LINE);
        return rc;
    }
    return emit_entry(l, b);
}

/* Finish the entry in b (its head and members written): prev, leaf, newline; one write(2);
 * then the tree and the chain. */
static int emit_entry(vg_ledger *l, vg_buf *b)
{
    uint8_t leaf[VG_LEDGER_HASH];
    int rc = entry_tail(b, l->prev);
    if (!rc) {
        entry_leaf_hash(b, leaf);
        rc = entry_finish(b, leaf);
    }
    if (!rc)
        rc = vg__buf_addc(b, '\n');
    if (rc || b->len > VG_MAX_LEDGER_LINE + 1) {
        seterr(l->err, sizeof l->err, "entry over %u bytes", VG_MAX_LEDGER_LINE);
        return rc ? rc : VIGIE_TOOBIG;
    }
    if ((rc = write_all(l->fd_entries, b->data, b->len))) {
        seterr(l->err, sizeof l->err, "%s/%s: write: %s", l->dir, F_ENTRIES, strerror(errno));
        l->broken = rc;
        return rc;
    }
    vg__ledger_tree_push(&l->tree, leaf);
    memcpy(l->prev, leaf, VG_LEDGER_HASH);
    return VIGIE_OK;
}

int vg__ledger_append_manifest(vg_ledger *l, const char *const *paths, uint32_t n, uint64_t *bytes)
{
    if (bytes)
        *bytes = 0;
    if (!l)
        return VIGIE_INVAL;
    if (l->broken)
        return l->broken;
    vg_buf *b = &l->line, *item = &l->msg;
    uint32_t in_entry = 0;
    int rc = VIGIE_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        uint64_t size;
        uint8_t sha[VG_LEDGER_HASH];
        const char *why;
        if (hash_file(paths[i], &size, sha, &why) != VIGIE_OK) {
            vg__diag(l->diag, l->diag_ud, VIGIE_DIAG_WARNING, VIGIE_IO, paths[i], 0, 0, NULL,
                     "left out of the ledger's run manifest: %s", why);
            continue;
        }
        if (bytes)
            *bytes += size;
        vg__buf_reset(item);
        if ((rc = manifest_file(item, in_entry == 0, paths[i], strlen(paths[i]), size, sha)))
            break;
        if (in_entry && b->len + item->len + 1 + LEAF_SUFFIX_LEN + 80 > VG_MAX_LEDGER_LINE) {
            if ((rc = emit_entry(l, b)))
                break;
            in_entry = 0;
            vg__buf_reset(item);
            if ((rc = manifest_file(item, true, paths[i], strlen(paths[i]), size, sha)))
                break;
        }
        if (in_entry == 0) {
            vg__buf_reset(b);
            if ((rc = manifest_head(b, l->tree.size)))
                break;
        }
        rc = vg__buf_add(b, item->data, item->len);
        in_entry++;
    }
    if (!rc && in_entry)
        rc = emit_entry(l, b);
    if (rc && !l->err[0])
        seterr(l->err, sizeof l->err, "run manifest: %s", vigie_strerror(rc));
    return rc;
}

int vg__ledger_checkpoint(vg_ledger *l)
{
    return l ? write_checkpoint(l) : VIGIE_INVAL;
}

int vg__ledger_close(vg_ledger *l, char *err, size_t errlen)
{
    if (!l)
        return VIGIE_OK;
    int rc = VIGIE_OK;
    if (l->fd_entries >= 0 && l->fd_cps >= 0 && (l->has_cp || l->tree.size))
        rc = write_checkpoint(l);
    if (rc)
        seterr(err, errlen, "%s", l->err);
    if (l->fd_entries >= 0)
        close(l->fd_entries); /* releases the lock */
    if (l->fd_cps >= 0)
        close(l->fd_cps);
    EVP_PKEY_free(l->key);
    vg__buf_free(&l->line);
    vg__buf_free(&l->msg);
    vg__buf_free(&l->note);
    free(l);
    return rc;
}

/* ---- inclusion proofs ---------------------------------------------------------------------- */

int vg__ledger_prove(const char *dir, const char *alert_id, uint64_t seq, vg_buf *out,
                     char *err, size_t errlen)
{
    char msg[768] = "";
    first_msg fm = {msg, sizeof msg, false};
    chk c;
    int rc = chk_init(&c, dir, keep_first, &fm);
    if (rc) {
        seterr(err, errlen, "invalid ledger directory");
        goto out;
    }
    c.want_leaves = true;
    c.find = true;
    c.find_id = alert_id;
    c.find_seq = seq;
    if ((rc = chk_run(&c, NULL))) {
        seterr(err, errlen, "%s", msg[0] ? msg : vigie_strerror(rc));
        goto out;
    }
    if (c.failures) {
        rc = VIGIE_VERIFY;
        seterr(err, errlen, "the ledger does not verify (%llu problem%s; first: %s): run vigie "
               "verify", (unsigned long long)c.failures, c.failures == 1 ? "" : "s", msg);
        goto out;
    }
    if (!c.n_found) {
        rc = VIGIE_NOTFOUND;
        if (alert_id)
            seterr(err, errlen, "no entry has alert id '%s'", alert_id);
        else
            seterr(err, errlen, "no entry %llu (the ledger has %llu)", (unsigned long long)seq,
                   (unsigned long long)c.n);
        goto out;
    }
    /* several entries with one alert id: the same alert appended by several runs; the
     * first entry is the earliest evidence of it (--seq picks another) */
    const cp_rec *cp = &c.cps[c.n_cps - 1]; /* chk_run guarantees one covering every entry */
    uint8_t path[VG_LEDGER_MAX_PATH][VG_LEDGER_HASH];
    uint32_t np;
    if ((rc = vg__ledger_audit_path((const uint8_t(*)[VG_LEDGER_HASH])c.leaves, cp->size,
                                    c.found_seq, path, &np)))
        goto out;
    vg_buf *b = out;
    entry e;
    char why[256];
    if (parse_entry(&c.s, c.found_line.data, c.found_line.len, &e, why, sizeof why)) {
        rc = VIGIE_VERIFY; /* cannot happen after a clean check */
        seterr(err, errlen, "entry %llu: %s", (unsigned long long)c.found_seq, why);
        goto out;
    }
    rc = vg__buf_adds(b, "{\n  \"proof\": \"" PROOF_MAGIC "\",\n  \"alert_id\": \"");
    if (!rc)
        rc = vg__buf_add_json_str(b, e.alert_id, e.alert_id_len);
    if (!rc)
        rc = vg__buf_printf(b, "\",\n  \"leaf_index\": %llu,\n  \"tree_size\": %llu,\n"
                            "  \"entry\": \"", (unsigned long long)c.found_seq,
                            (unsigned long long)cp->size);
    if (!rc)
        rc = vg__buf_add_json_str(b, c.found_line.data, c.found_line.len);
    if (!rc)
        rc = vg__buf_adds(b, "\",\n  \"path\": [");
    for (uint32_t i = 0; i < np && !rc; i++) {
        rc = vg__buf_adds(b, i ? ",\n    \"" : "\n    \"");
        if (!rc)
            rc = add_hex(b, path[i], VG_LEDGER_HASH);
        if (!rc)
            rc = vg__buf_addc(b, '"');
    }
    if (!rc)
        rc = vg__buf_adds(b, np ? "\n  ],\n  \"checkpoint\": " : "],\n  \"checkpoint\": ");
    if (!rc)
        rc = cp_line(b, cp->size, cp->root_hex, cp->time, cp->key_id, cp->sig);
    if (!rc)
        rc = vg__buf_printf(b, ",\n  \"key_id\": \"%s\"\n}\n", cp->key_id);
    if (rc)
        seterr(err, errlen, "%s", vigie_strerror(rc));
out:
    chk_free(&c);
    return rc;
}

int vg__ledger_verify_proof(const char *proof, size_t len, const char *pub_pem, size_t pub_len,
                            vg_ledger_proof_info *info, char *err, size_t errlen)
{
    vg_ledger_proof_info tmpi;
    if (!info)
        info = &tmpi;
    memset(info, 0, sizeof *info);
    EVP_PKEY *pub = pub_from_pem(pub_pem, pub_len);
    if (!pub) {
        seterr(err, errlen, "not an Ed25519 public key in PEM");
        return VIGIE_INVAL;
    }
    scratch s;
    scratch_init(&s);
    vg_buf ebytes;
    vg__buf_init(&ebytes, VG_MAX_LEDGER_LINE);
    int rc = VIGIE_VERIFY;
    char why[256], key_id[VG_LEDGER_HEX];
    if (key_id_of(pub, key_id)) {
        rc = VIGIE_CRYPTO;
        goto out;
    }
    vg_jerr je;
    vg_jtape *t = &s.t;
    if (len > VG_MAX_LEDGER_PROOF) {
        seterr(err, errlen, "proof larger than %u bytes", VG_MAX_LEDGER_PROOF);
        goto out;
    }
    if (vg__json_parse(t, proof, len, &je) != VIGIE_OK) {
        seterr(err, errlen, "proof is not valid JSON (%s at byte %zu)", je.msg, je.offset);
        goto out;
    }
    if (t->tok[0].type != VG_J_OBJECT) {
        seterr(err, errlen, "proof is not a JSON object");
        goto out;
    }
    char magic[64], top_key[VG_LEDGER_HEX + 1];
    uint64_t m, n;
    int64_t ent = GET(t, 0, "entry"), path = GET(t, 0, "path"), cpt = GET(t, 0, "checkpoint");
    int64_t aid = GET(t, 0, "alert_id");
    if (!tok_plain(t, GET(t, 0, "proof"), magic, sizeof magic) || strcmp(magic, PROOF_MAGIC) ||
        !tok_u64(t, GET(t, 0, "leaf_index"), &m) || !tok_u64(t, GET(t, 0, "tree_size"), &n) ||
        ent < 0 || t->tok[ent].type != VG_J_STRING || aid < 0 ||
        t->tok[aid].type != VG_J_STRING || path < 0 || t->tok[path].type != VG_J_ARRAY ||
        t->tok[path].len > VG_LEDGER_MAX_PATH || cpt < 0 ||
        !tok_plain(t, GET(t, 0, "key_id"), top_key, sizeof top_key)) {
        seterr(err, errlen, "not a vigie inclusion proof (needs proof, alert_id, leaf_index, "
               "tree_size, entry, path, checkpoint, key_id)");
        goto out;
    }
    uint8_t hashes[VG_LEDGER_MAX_PATH][VG_LEDGER_HASH];
    uint32_t np = 0;
    for (uint32_t i = (uint32_t)path + 1; i < t->tok[path].next; i = t->tok[i].next)
        if (!tok_hex(t, i, hashes[np++], VG_LEDGER_HASH)) {
            seterr(err, errlen, "path element %u is not 64 lowercase hex digits", np - 1);
            goto out;
        }
    cp_rec cp;
    if (parse_cp(&s, (uint32_t)cpt, NULL, 0, &cp, why, sizeof why)) {
        seterr(err, errlen, "checkpoint: %s", why);
        goto out;
    }
    size_t al, el;
    const char *as = vg__json_str(t, (uint32_t)aid, &s.tmp, &al);
    if (al > VG_MAX_LEDGER_ALERT_ID) {
        seterr(err, errlen, "alert_id too long");
        goto out;
    }
    memcpy(info->alert_id, as, al);
    info->alert_id[al] = 0;
    const char *es = vg__json_str(t, (uint32_t)ent, &s.tmp, &el);
    if (vg__buf_add(&ebytes, es, el)) {
        seterr(err, errlen, "entry too long");
        goto out;
    }
    /* from here the tape is reused for the entry */
    entry e;
    if (parse_entry(&s, ebytes.data, ebytes.len, &e, why, sizeof why)) {
        seterr(err, errlen, "entry: %s", why);
        goto out;
    }
    if (!heq(e.leaf, e.calc)) {
        seterr(err, errlen, "entry %llu: leaf hash does not match the entry's bytes (altered)",
               (unsigned long long)e.seq);
        goto out;
    }
    if (e.alert_id_len != al || memcmp(e.alert_id, info->alert_id, al) != 0) {
        seterr(err, errlen, "alert_id differs from the entry's");
        goto out;
    }
    if (e.seq != m || n != cp.size) {
        seterr(err, errlen, "leaf_index/tree_size (%llu/%llu) differ from the entry's seq or the "
               "checkpoint's size (%llu/%llu)", (unsigned long long)m, (unsigned long long)n,
               (unsigned long long)e.seq, (unsigned long long)cp.size);
        goto out;
    }
    uint8_t root[VG_LEDGER_HASH];
    if (vg__ledger_root_from_path(e.calc, m, n, (const uint8_t(*)[VG_LEDGER_HASH])hashes, np,
                                  root) != VIGIE_OK) {
        seterr(err, errlen, "audit path has the wrong length for leaf %llu of %llu",
               (unsigned long long)m, (unsigned long long)n);
        goto out;
    }
    if (!heq(root, cp.root)) {
        seterr(err, errlen, "the audit path does not lead to the checkpoint's root: entry or path "
               "altered");
        goto out;
    }
    if (strcmp(top_key, cp.key_id) != 0) {
        seterr(err, errlen, "key_id differs from the checkpoint's");
        goto out;
    }
    if (strcmp(cp.key_id, key_id) != 0) {
        seterr(err, errlen, "checkpoint signed by key %.16s..., not by the key given (%.16s...)",
               cp.key_id[0] ? cp.key_id : "(none)", key_id);
        goto out;
    }
    const char *p = cp_sig_problem(&s, &cp, pub, key_id);
    if (p) {
        seterr(err, errlen, "%s", p);
        goto out;
    }
    info->seq = e.seq;
    info->tree_size = n;
    info->n_sources = e.n_sources;
    to_hex(e.alert_sha, VG_LEDGER_HASH, info->alert_sha256);
    memcpy(info->root, cp.root_hex, VG_LEDGER_HEX);
    memcpy(info->key_id, key_id, VG_LEDGER_HEX);
    snprintf(info->time, sizeof info->time, "%s", cp.time);
    rc = VIGIE_OK;
out:
    vg__buf_free(&ebytes);
    scratch_free(&s);
    EVP_PKEY_free(pub);
    return rc;
}
