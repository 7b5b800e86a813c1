/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_ledger.c: the evidence ledger (src/store/ledger.c). The tree against a plain
 * recursive reference written here and against RFC 6962's published vectors; inclusion
 * proofs for every leaf of every size up to 40; append across reopen; one flipped byte at
 * every position of every ledger file and of an input, each caught; the limits verify states
 * in docs/LEDGER.md (a rollback to an earlier checkpoint is not visible from the directory).
 *
 * Also a helper for tests/cli/test_ledger.sh, until `vigie scan --ledger` exists:
 *   test_store_ledger --make DIR KEY|- INPUT...
 * makes a ledger in DIR with one alert per record of the inputs (every third alert also
 * names the record before it), closing and reopening the ledger half way.
 */
#define _GNU_SOURCE /* memrchr, mkdtemp */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "store/ledger.h"
#include "test.h"

typedef uint8_t hash[32];

/* ---- a reference tree, as RFC 6962 section 2.1 writes it -------------------------------- */

static void ref_node(const uint8_t *l, const uint8_t *r, uint8_t *out)
{
    uint8_t buf[65];
    buf[0] = 1;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    SHA256(buf, sizeof buf, out);
}

static void ref_leaf(const void *p, size_t n, uint8_t *out)
{
    uint8_t *buf = malloc(n + 1);
    buf[0] = 0;
    memcpy(buf + 1, p, n);
    SHA256(buf, n + 1, out);
    free(buf);
}

static uint64_t ref_k(uint64_t n)
{
    uint64_t k = 1;
    while (2 * k < n)
        k *= 2;
    return k;
}

static void ref_mth(const hash *d, uint64_t n, uint8_t *out)
{
    if (n == 0) {
        SHA256((const uint8_t *)"", 0, out);
    } else if (n == 1) {
        memcpy(out, d[0], 32);
    } else {
        uint64_t k = ref_k(n);
        hash l, r;
        ref_mth(d, k, l);
        ref_mth(d + k, n - k, r);
        ref_node(l, r, out);
    }
}

static void ref_path(const hash *d, uint64_t n, uint64_t m, hash *path, uint32_t *np)
{
    if (n <= 1)
        return;
    uint64_t k = ref_k(n);
    if (m < k) {
        ref_path(d, k, m, path, np);
        ref_mth(d + k, n - k, path[(*np)++]);
    } else {
        ref_path(d + k, n - k, m - k, path, np);
        ref_mth(d, k, path[(*np)++]);
    }
}

static void unhex(const char *s, uint8_t *out)
{
    for (size_t i = 0; s[2 * i]; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static bool hash_is(const uint8_t *h, const char *hex)
{
    uint8_t w[32];
    unhex(hex, w);
    return memcmp(h, w, 32) == 0;
}

/* ---- the tree ---------------------------------------------------------------------------- */

static void test_rfc6962_vectors(void)
{
    static const char *const data[] = {"", "00", "10", "2021", "3031", "40414243",
                                       "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
    static const char *const roots[] = {
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
    hash leaves[8];
    vg_ledger_tree t;
    vg__ledger_tree_init(&t);
    hash root;
    vg__ledger_tree_root(&t, root);
    CHECK(hash_is(root, roots[0]));
    for (int i = 0; i < 8; i++) {
        uint8_t bytes[16];
        unhex(data[i], bytes);
        vg__ledger_leaf_hash(bytes, strlen(data[i]) / 2, leaves[i]);
        vg__ledger_tree_push(&t, leaves[i]);
        vg__ledger_tree_root(&t, root);
        CHECK_MSG(hash_is(root, roots[i + 1]), "size %d", i + 1);
        vg__ledger_mth((const hash *)leaves, (uint64_t)i + 1, root);
        CHECK_MSG(hash_is(root, roots[i + 1]), "size %d (recursive)", i + 1);
    }
    /* RFC 6962 inclusion vectors: leaf 0 and leaf 5 of 8 */
    hash path[VG_LEDGER_MAX_PATH];
    uint32_t np;
    CHECK_EQ_INT(vg__ledger_audit_path((const hash *)leaves, 8, 0, path, &np), VIGIE_OK);
    CHECK_EQ_INT(np, 3);
    CHECK(hash_is(path[0], "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"));
    CHECK(hash_is(path[1], "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"));
    CHECK(hash_is(path[2], "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"));
    CHECK_EQ_INT(vg__ledger_audit_path((const hash *)leaves, 8, 5, path, &np), VIGIE_OK);
    CHECK_EQ_INT(np, 3);
    CHECK(hash_is(path[0], "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"));
    CHECK(hash_is(path[1], "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"));
    CHECK(hash_is(path[2], "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"));
}

#define MAXN 300

static void test_roots_every_size(void)
{
    static hash leaves[MAXN];
    vg_ledger_tree t;
    vg__ledger_tree_init(&t);
    for (uint64_t n = 1; n <= MAXN; n++) {
        char s[32];
        int l = snprintf(s, sizeof s, "leaf %llu", (unsigned long long)n);
        ref_leaf(s, (size_t)l, leaves[n - 1]);
        hash lib_leaf;
        vg__ledger_leaf_hash(s, (size_t)l, lib_leaf);
        CHECK(memcmp(lib_leaf, leaves[n - 1], 32) == 0);
        vg__ledger_tree_push(&t, leaves[n - 1]);
        hash want, inc, rec;
        ref_mth((const hash *)leaves, n, want);
        vg__ledger_tree_root(&t, inc);
        vg__ledger_mth((const hash *)leaves, n, rec);
        CHECK_MSG(memcmp(want, inc, 32) == 0, "incremental root, size %llu", (unsigned long long)n);
        CHECK_MSG(memcmp(want, rec, 32) == 0, "recursive root, size %llu", (unsigned long long)n);
        CHECK_EQ_INT(t.n, __builtin_popcountll(n));
    }
}

static void test_inclusion_every_leaf(void)
{
    static hash leaves[64];
    for (int i = 0; i < 64; i++)
        vg__ledger_leaf_hash(&i, sizeof i, leaves[i]);
    int bad = 0;
    for (uint64_t n = 1; n <= 40; n++) {
        hash root;
        ref_mth((const hash *)leaves, n, root);
        for (uint64_t m = 0; m < n; m++) {
            hash path[VG_LEDGER_MAX_PATH], want[VG_LEDGER_MAX_PATH], got;
            uint32_t np = 0, nw = 0;
            CHECK(vg__ledger_audit_path((const hash *)leaves, n, m, path, &np) == VIGIE_OK);
            ref_path((const hash *)leaves, n, m, want, &nw);
            bad += np != nw || memcmp(path, want, 32 * (size_t)np) != 0;
            bad += vg__ledger_root_from_path(leaves[m], m, n, (const hash *)path, np, got) !=
                       VIGIE_OK || memcmp(got, root, 32) != 0;
            /* a wrong leaf, index or size, a shortened or lengthened path: never the root */
            bad += vg__ledger_root_from_path(leaves[(m + 1) % 64], m, n, (const hash *)path, np,
                                             got) == VIGIE_OK && memcmp(got, root, 32) == 0;
            if (n > 1)
                bad += vg__ledger_root_from_path(leaves[m], (m + 1) % n, n, (const hash *)path,
                                                 np, got) == VIGIE_OK &&
                       memcmp(got, root, 32) == 0;
            hash root1;
            ref_mth((const hash *)leaves, n + 1, root1);
            bad += vg__ledger_root_from_path(leaves[m], m, n + 1, (const hash *)path, np, got) ==
                       VIGIE_OK && memcmp(got, root1, 32) == 0;
            if (np)
                bad += vg__ledger_root_from_path(leaves[m], m, n, (const hash *)path, np - 1,
                                                 got) == VIGIE_OK && memcmp(got, root, 32) == 0;
            memcpy(path[np], root, 32);
            bad += vg__ledger_root_from_path(leaves[m], m, n, (const hash *)path, np + 1, got) ==
                       VIGIE_OK && memcmp(got, root, 32) == 0;
            if (np) {
                path[np / 2][7] ^= 1;
                bad += vg__ledger_root_from_path(leaves[m], m, n, (const hash *)path, np, got) ==
                           VIGIE_OK && memcmp(got, root, 32) == 0;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    hash path[VG_LEDGER_MAX_PATH];
    uint32_t np;
    CHECK_EQ_INT(vg__ledger_audit_path((const hash *)leaves, 5, 5, path, &np), VIGIE_INVAL);
}

/* ---- ledgers on disk ----------------------------------------------------------------------- */

/* Consistency proofs (RFC 9162 2.1.4) for every 0 <= m <= n <= 40, checked against the
 * roots of the reference MTH; every altered proof, a wrong old root and a wrong size fail. */
static void test_consistency_every_size(void)
{
    hash d[40];
    for (int i = 0; i < 40; i++) {
        char b[8];
        snprintf(b, sizeof b, "c%d", i);
        ref_leaf(b, strlen(b), d[i]);
    }
    int bad = 0, checked = 0;
    hash path[VG_LEDGER_MAX_CONSISTENCY], oldr, newr, other;
    for (uint64_t n = 0; n <= 40; n++) {
        ref_mth(d, n, newr);
        for (uint64_t m = 0; m <= n; m++) {
            ref_mth(d, m, oldr);
            uint32_t np = 0;
            if (m == 0) {
                bad += vg__ledger_consistency_proof((const uint8_t(*)[32])d, n, m, path, &np) !=
                       VIGIE_INVAL;
            } else {
                bad += vg__ledger_consistency_proof((const uint8_t(*)[32])d, n, m, path, &np) !=
                       VIGIE_OK;
            }
            const uint8_t(*cp)[32] = (const uint8_t(*)[32])path;
            bad += vg__ledger_verify_consistency(m, n, oldr, newr, cp, np) != VIGIE_OK;
            checked++;
            /* every hash of the proof matters */
            for (uint32_t i = 0; i < np; i++) {
                path[i][i % 32] ^= 0x10;
                bad += vg__ledger_verify_consistency(m, n, oldr, newr, cp, np) == VIGIE_OK;
                path[i][i % 32] ^= 0x10;
            }
            /* a tree that does not extend: the old tree's last leaf changed */
            if (m > 0) {
                hash save;
                memcpy(save, d[m - 1], 32);
                d[m - 1][0] ^= 1;
                ref_mth(d, m, other);
                memcpy(d[m - 1], save, 32);
                bad += vg__ledger_verify_consistency(m, n, other, newr, cp, np) == VIGIE_OK;
                bad += vg__ledger_verify_consistency(m, n, oldr, other, cp, np) == VIGIE_OK;
            }
            /* the proof does not pass for another size, nor with a hash missing or added */
            if (m > 0 && m < n && n < 40) { /* (the empty tree is extended by every tree) */
                hash bigger;
                ref_mth(d, n + 1, bigger);
                bad += vg__ledger_verify_consistency(m, n + 1, oldr, bigger, cp, np) == VIGIE_OK;
            }
            if (np)
                bad += vg__ledger_verify_consistency(m, n, oldr, newr, cp, np - 1) == VIGIE_OK;
            if (np + 1 < VG_LEDGER_MAX_CONSISTENCY) {
                memcpy(path[np], newr, 32);
                bad += vg__ledger_verify_consistency(m, n, oldr, newr, cp, np + 1) == VIGIE_OK;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(checked, 41 * 42 / 2);
    uint32_t np;
    CHECK_EQ_INT(vg__ledger_consistency_proof((const uint8_t(*)[32])d, 3, 4, path, &np),
                 VIGIE_INVAL);
}

static char tmp_root[256];

static const char *tmp_path(const char *name)
{
    static char p[256][512]; /* a ring: a test holds at most a few dozen at once */
    static int k;
    k = (k + 1) % 256;
    snprintf(p[k], sizeof p[k], "%s/%s", tmp_root, name);
    return p[k];
}

static void rm_rf(const char *p)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    CHECK(system(cmd) == 0);
}

static void cp_r(const char *a, const char *b)
{
    char cmd[1200];
    rm_rf(b);
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", a, b);
    CHECK(system(cmd) == 0);
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static char *slurp(const char *path, size_t *len)
{
    char *s = NULL;
    CHECK(vg__read_file(path, 1u << 26, &s, len) == VIGIE_OK);
    return s;
}

typedef struct diag_count {
    int errors;
    char first[512];
} diag_count;

static void count_diag(void *ud, const vigie_diag *d)
{
    diag_count *c = ud;
    if (d->level != VIGIE_DIAG_ERROR)
        return;
    if (!c->errors++)
        snprintf(c->first, sizeof c->first, "%s:%llu: %s", d->file ? d->file : "",
                 (unsigned long long)d->line, d->message);
}

static int verify_dir(const char *dir, const char *pub, const char *const *inputs, uint32_t n_in,
                      diag_count *dc, vg_ledger_verify_result *res)
{
    diag_count local = {0};
    vg_ledger_verify_opts o = {.pub_path = pub, .check_inputs = inputs != NULL, .inputs = inputs,
                               .n_inputs = n_in, .diag = count_diag, .diag_ud = dc ? dc : &local};
    return vg__ledger_verify(dir, &o, res);
}

/* Append one alert per record of each input; every third alert also names the record before
 * it. The record hashes are those of exactly the bytes the reader returns. */
static int append_inputs(vg_ledger *l, const char *const *inputs, int n_in, uint64_t *n_alerts)
{
    for (int f = 0; f < n_in; f++) {
        vg_reader *r;
        vg_reader_opts ro = {0};
        int rc = vg__reader_open(&r, inputs[f], &ro);
        if (rc)
            return rc;
        vg_record rec;
        vg_ledger_src prev = {0};
        bool have_prev = false;
        while ((rc = vg__reader_next(r, &rec)) == VIGIE_OK) {
            vg_ledger_src s[2];
            s[0].file = inputs[f];
            s[0].line = rec.src.line;
            s[0].index = rec.src.index;
            s[0].offset = rec.src.offset;
            vg__ledger_sha256(rec.data, rec.len, s[0].sha256);
            uint32_t ns = 1;
            if (have_prev && *n_alerts % 3 == 2)
                s[ns++] = prev;
            char id[64], alert[128];
            snprintf(id, sizeof id, "alert-%llu", (unsigned long long)*n_alerts);
            int al = snprintf(alert, sizeof alert, "{\"alert\":%llu,\"rule\":\"test\"}",
                              (unsigned long long)*n_alerts);
            if ((rc = vg__ledger_append(l, id, alert, (size_t)al, s, ns)))
                break;
            (*n_alerts)++;
            prev = s[0];
            have_prev = true;
        }
        vg__reader_close(r);
        if (rc != VIGIE_EOF)
            return rc;
    }
    return VIGIE_OK;
}

static int make_ledger(const char *dir, const char *key, const char *const *inputs, int n_in)
{
    char err[512];
    vg_ledger *l;
    uint64_t n = 0;
    int rc = vg__ledger_open(dir, key, NULL, NULL, &l, err, sizeof err);
    if (rc) {
        fprintf(stderr, "open: %s\n", err);
        return rc;
    }
    int half = n_in > 1 ? n_in / 2 : n_in;
    rc = append_inputs(l, inputs, half, &n);
    if (!rc) /* the run manifest, as a scan appends it */
        rc = vg__ledger_append_manifest(l, inputs, (uint32_t)half, NULL);
    if (!rc)
        rc = vg__ledger_checkpoint(l);
    int rc2 = vg__ledger_close(l, err, sizeof err);
    if (rc || rc2)
        return rc ? rc : rc2;
    if (half == n_in)
        return VIGIE_OK;
    if ((rc = vg__ledger_open(dir, key, NULL, NULL, &l, err, sizeof err))) {
        fprintf(stderr, "reopen: %s\n", err);
        return rc;
    }
    rc = append_inputs(l, inputs + half, n_in - half, &n);
    if (!rc)
        rc = vg__ledger_append_manifest(l, inputs + half, (uint32_t)(n_in - half), NULL);
    rc2 = vg__ledger_close(l, err, sizeof err);
    return rc ? rc : rc2;
}

static void make_input(const char *path, int n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    for (int i = 0; f && i < n; i++)
        fprintf(f, "{\"Operation\":\"MailItemsAccessed\",\"n\":%d,"
                   "\"UserId\":\"u%d@example.com\"}\n", i, i % 7);
    if (f)
        fclose(f);
}

static void keys(void)
{
    char err[256], id[VG_LEDGER_HEX];
    if (access(tmp_path("k1"), F_OK) == 0)
        return;
    CHECK_EQ_INT(vg__ledger_keygen(tmp_path("k1"), id, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(strlen(id), 64);
    CHECK_EQ_INT(vg__ledger_keygen(tmp_path("k2"), NULL, err, sizeof err), VIGIE_OK);
}

static void test_keygen(void)
{
    keys();
    struct stat st;
    CHECK(stat(tmp_path("k1"), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(tmp_path("k1.pub"), &st) == 0);
    char err[256];
    CHECK_EQ_INT(vg__ledger_keygen(tmp_path("k1"), NULL, err, sizeof err), VIGIE_INVAL);
    CHECK(strstr(err, "never overwritten") != NULL);
    /* a private key readable by others is refused */
    vg_ledger *l;
    cp_r(tmp_path("k1"), tmp_path("kopen"));
    chmod(tmp_path("kopen"), 0644);
    CHECK_EQ_INT(
        vg__ledger_open(tmp_path("lk"), tmp_path("kopen"), NULL, NULL, &l, err, sizeof err),
        VIGIE_INVAL);
    CHECK(strstr(err, "chmod 600") != NULL);
    /* the public key is not a private key */
    CHECK_EQ_INT(
        vg__ledger_open(tmp_path("lk"), tmp_path("k1.pub"), NULL, NULL, &l, err, sizeof err),
        VIGIE_INVAL);
    rm_rf(tmp_path("lk"));
}

static void test_append_reopen_prove(void)
{
    keys();
    const char *dir = tmp_path("l1");
    rm_rf(dir);
    make_input(tmp_path("in1.ndjson"), 9);
    make_input(tmp_path("in2.ndjson"), 8);
    const char *inputs[] = {tmp_path("in1.ndjson"), tmp_path("in2.ndjson")};
    CHECK_EQ_INT(make_ledger(dir, tmp_path("k1"), inputs, 2), VIGIE_OK);
    vg_ledger_verify_result res;
    diag_count dc = {0};
    CHECK_EQ_INT(verify_dir(dir, NULL, inputs, 2, &dc, &res), VIGIE_OK);
    CHECK_MSG(dc.errors == 0, "%s", dc.first);
    /* 9 alerts, the first run's manifest (seq 9), 8 alerts, the second run's (seq 18) */
    CHECK_EQ_INT(res.entries, 19);
    CHECK_EQ_INT(res.signed_size, 19);
    CHECK(res.is_signed);
    CHECK_EQ_INT(res.sources, res.sources_checked);
    CHECK(res.sources > 17);
    CHECK_EQ_INT(res.manifests, 2);
    CHECK_EQ_INT(res.files_checked, 2);
    CHECK_EQ_INT(verify_dir(dir, tmp_path("k1.pub"), NULL, 0, NULL, &res), VIGIE_OK);
    CHECK(res.key_pinned);
    /* pinned to another key: refused */
    dc.errors = 0;
    CHECK_EQ_INT(verify_dir(dir, tmp_path("k2.pub"), NULL, 0, &dc, NULL), VIGIE_VERIFY);
    CHECK(strstr(dc.first, "key ids differ") != NULL);

    /* a third run continues the chain and the tree */
    vg_ledger *l;
    char err[512];
    CHECK_EQ_INT(vg__ledger_open(dir, tmp_path("k1"), NULL, NULL, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_size(l), 19);
    vg_ledger_src s = {.file = "x.json", .line = 1, .index = 0, .offset = 0};
    CHECK_EQ_INT(vg__ledger_append(l, "late", "{}", 2, &s, 1), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_append(l, "", "{}", 2, NULL, 0), VIGIE_INVAL);
    /* a second writer is refused while the first holds the ledger */
    vg_ledger *l2;
    CHECK_EQ_INT(vg__ledger_open(dir, tmp_path("k1"), NULL, NULL, &l2, err, sizeof err), VIGIE_IO);
    CHECK(strstr(err, "in use") != NULL);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(verify_dir(dir, tmp_path("k1.pub"), NULL, 0, NULL, &res), VIGIE_OK);
    CHECK_EQ_INT(res.entries, 20);
    /* with inputs: x.json does not exist */
    dc.errors = 0;
    CHECK_EQ_INT(verify_dir(dir, NULL, inputs, 2, &dc, NULL), VIGIE_VERIFY);
    CHECK_EQ_INT(dc.errors, 1);
    CHECK_MSG(strstr(dc.first, "missing file") && strstr(dc.first, "entry 19"), "%s", dc.first);

    /* a reopen without the key, or of a signed ledger as unsigned, is refused */
    CHECK_EQ_INT(vg__ledger_open(dir, NULL, NULL, NULL, &l, err, sizeof err), VIGIE_INVAL);
    CHECK(strstr(err, "private key is needed") != NULL);
    CHECK_EQ_INT(vg__ledger_open(dir, tmp_path("k2"), NULL, NULL, &l, err, sizeof err),
                 VIGIE_VERIFY);

    /* proofs for every entry, checked with only the public key */
    size_t pl, ql;
    char *pub = slurp(tmp_path("k1.pub"), &pl), *other = slurp(tmp_path("k2.pub"), &ql);
    vg_buf b;
    vg__buf_init(&b, 0);
    int bad = 0;
    for (int i = 0; i < 18; i++) {
        char id[32];
        snprintf(id, sizeof id, "alert-%d", i);
        vg__buf_reset(&b);
        int rc = vg__ledger_prove(dir, i == 17 ? "late" : id, 0, &b, err, sizeof err);
        CHECK_MSG(rc == VIGIE_OK, "prove %s: %s", id, err);
        vg_ledger_proof_info info;
        rc = vg__ledger_verify_proof(b.data, b.len, pub, pl, &info, err, sizeof err);
        CHECK_MSG(rc == VIGIE_OK, "verify proof %s: %s", id, err);
        bad += info.seq != (uint64_t)(i < 9 ? i : i < 17 ? i + 1 : 19) || info.tree_size != 20;
        bad += vg__ledger_verify_proof(b.data, b.len, other, ql, NULL, err, sizeof err) !=
               VIGIE_VERIFY;
        /* every byte of the proof matters, except spacing between JSON tokens */
        for (size_t k = 0; k < b.len; k++) {
            if (b.data[k] == ' ' || b.data[k] == '\n')
                continue;
            b.data[k] ^= 1;
            bad += vg__ledger_verify_proof(b.data, b.len, pub, pl, NULL, err, sizeof err) ==
                   VIGIE_OK;
            b.data[k] ^= 1;
        }
    }
    CHECK_EQ_INT(bad, 0);
    vg__buf_reset(&b);
    CHECK_EQ_INT(vg__ledger_prove(dir, "nope", 0, &b, err, sizeof err), VIGIE_NOTFOUND);
    CHECK_EQ_INT(vg__ledger_prove(dir, NULL, 3, &b, err, sizeof err), VIGIE_OK);
    CHECK(strstr(b.data, "\"alert_id\": \"alert-3\"") != NULL);
    /* a manifest is never an alert: prove by id skips it, --seq proves it */
    vg__buf_reset(&b);
    CHECK_EQ_INT(vg__ledger_prove(dir, "", 0, &b, err, sizeof err), VIGIE_NOTFOUND);
    CHECK_EQ_INT(vg__ledger_prove(dir, NULL, 9, &b, err, sizeof err), VIGIE_OK);
    CHECK(strstr(b.data, "\\\"manifest\\\":[") != NULL);
    CHECK_EQ_INT(vg__ledger_verify_proof(b.data, b.len, pub, pl, NULL, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_verify_proof(b.data, b.len, "x", 1, NULL, err, sizeof err),
                 VIGIE_INVAL);
    vg__buf_free(&b);
    free(pub);
    free(other);
}

/* Flip one byte at every position of every ledger file and of the inputs: each is caught. */
static void test_every_byte_flip(void)
{
    keys();
    const char *dir = tmp_path("l2"), *work = tmp_path("l2w");
    rm_rf(dir);
    make_input(tmp_path("in3.ndjson"), 7);
    const char *inputs[] = {tmp_path("in3.ndjson")};
    CHECK_EQ_INT(make_ledger(dir, tmp_path("k1"), inputs, 1), VIGIE_OK);
    static const char *const files[] = {"entries.jsonl", "checkpoints.jsonl", "ledger.pub",
                                        "checkpoint"};
    static const uint8_t flips[] = {0x01, 0x20, 0x80, 0x04};
    cp_r(dir, work);
    for (size_t f = 0; f < VG_ARRAY_LEN(files); f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", work, files[f]);
        size_t len;
        char *orig = slurp(path, &len);
        int missed = 0;
        for (size_t i = 0; orig && i < len; i++) {
            orig[i] = (char)(orig[i] ^ flips[i % 4]);
            FILE *o = fopen(path, "wb");
            fwrite(orig, 1, len, o);
            fclose(o);
            orig[i] = (char)(orig[i] ^ flips[i % 4]);
            diag_count dc = {0};
            int rc = verify_dir(work, NULL, NULL, 0, &dc, NULL);
            if (rc != VIGIE_VERIFY || dc.errors == 0) {
                if (!missed++)
                    fprintf(stderr, "%s: byte %zu flipped: verify rc %d\n", files[f], i, rc);
            }
        }
        CHECK_MSG(missed == 0, "%s: %d flips not detected", files[f], missed);
        FILE *o = fopen(path, "wb");
        if (orig)
            fwrite(orig, 1, len, o);
        fclose(o);
        free(orig);
        CHECK_EQ_INT(verify_dir(work, NULL, inputs, 1, NULL, NULL), VIGIE_OK);
    }
    /* the input, flipped where the ledger recorded it: every byte belongs to a referenced
     * record or separates two, and the run manifest holds the whole file's SHA-256 */
    size_t len;
    char *orig = slurp(inputs[0], &len);
    int missed = 0, missed_records = 0;
    for (size_t i = 0; orig && i < len; i++) {
        orig[i] = (char)(orig[i] ^ flips[i % 4]);
        FILE *o = fopen(inputs[0], "wb");
        fwrite(orig, 1, len, o);
        fclose(o);
        orig[i] = (char)(orig[i] ^ flips[i % 4]);
        diag_count dc = {0};
        if (verify_dir(dir, NULL, inputs, 1, &dc, NULL) != VIGIE_VERIFY || !dc.errors)
            missed++;
        else if (!strstr(dc.first, "record") && !strstr(dc.first, "missing"))
            missed_records++; /* the record check, not only the manifest, must see it */
    }
    CHECK_MSG(missed == 0, "input: %d flips not detected", missed);
    CHECK_MSG(missed_records == 0, "input: %d flips seen by the manifest only", missed_records);
    FILE *o = fopen(inputs[0], "wb");
    if (orig)
        fwrite(orig, 1, len, o);
    fclose(o);
    free(orig);
}

/* Cut a ledger back to its first `keep` checkpoint lines and the entries the last of them
 * covers; returns that size. */
static uint64_t rollback(const char *dir, int keep)
{
    char p[600];
    snprintf(p, sizeof p, "%s/checkpoints.jsonl", dir);
    size_t len;
    char *s = slurp(p, &len), *e = s;
    uint64_t size = 0;
    for (int i = 0; e && *e && i < keep; i++) {
        sscanf(e, "{\"size\":%llu", (unsigned long long *)&size);
        e = strchr(e, '\n') + 1;
    }
    if (e) {
        *e = 0;
        write_text(p, s);
    }
    free(s);
    snprintf(p, sizeof p, "%s/entries.jsonl", dir);
    s = slurp(p, &len);
    e = s;
    for (uint64_t i = 0; e && i < size; i++)
        e = strchr(e, '\n') + 1;
    if (e) {
        *e = 0;
        write_text(p, s);
    }
    free(s);
    return size;
}

static void test_cuts_and_limits(void)
{
    keys();
    const char *dir = tmp_path("l3"), *work = tmp_path("l3w");
    rm_rf(dir);
    make_input(tmp_path("in4.ndjson"), 6);
    make_input(tmp_path("in5.ndjson"), 6);
    const char *inputs[] = {tmp_path("in4.ndjson"), tmp_path("in5.ndjson")};
    CHECK_EQ_INT(make_ledger(dir, tmp_path("k1"), inputs, 2), VIGIE_OK);
    char p[600], err[512];
    diag_count dc;

    /* the last entry removed: the last checkpoint covers more than there is */
    cp_r(dir, work);
    snprintf(p, sizeof p, "%s/entries.jsonl", work);
    size_t len;
    char *s = slurp(p, &len);
    char *last = s ? memrchr(s, '\n', len - 1) : NULL;
    char *last_line = last ? strdup(last + 1) : NULL;
    if (last) {
        last[1] = 0;
        write_text(p, s);
    }
    dc = (diag_count){0};
    CHECK_EQ_INT(verify_dir(work, NULL, NULL, 0, &dc, NULL), VIGIE_VERIFY);
    CHECK_MSG(strstr(dc.first, "covers 14 entries but entries.jsonl has 13"), "%s", dc.first);
    /* an entry appended after the last checkpoint (a copy of the one before): not covered */
    cp_r(dir, work);
    if (last_line) {
        FILE *f = fopen(p, "ab");
        fputs(last_line, f);
        fclose(f);
    }
    free(last_line);
    free(s);
    dc = (diag_count){0};
    CHECK_EQ_INT(verify_dir(work, NULL, NULL, 0, &dc, NULL), VIGIE_VERIFY);
    vg_ledger *l;
    CHECK_EQ_INT(vg__ledger_open(work, tmp_path("k1"), NULL, NULL, &l, err, sizeof err),
                 VIGIE_VERIFY);
    CHECK_MSG(strstr(err, "not appended to") != NULL, "%s", err);

    /* the checkpoints removed */
    cp_r(dir, work);
    snprintf(p, sizeof p, "%s/checkpoints.jsonl", work);
    unlink(p);
    CHECK_EQ_INT(verify_dir(work, NULL, NULL, 0, NULL, NULL), VIGIE_VERIFY);
    /* ledger.pub removed: the signed checkpoints say so; with the key pinned too */
    cp_r(dir, work);
    snprintf(p, sizeof p, "%s/ledger.pub", work);
    unlink(p);
    CHECK_EQ_INT(verify_dir(work, NULL, NULL, 0, NULL, NULL), VIGIE_VERIFY);
    CHECK_EQ_INT(verify_dir(work, tmp_path("k1.pub"), NULL, 0, NULL, NULL), VIGIE_VERIFY);
    /* ledger.pub replaced by another key: signatures fail */
    cp_r(dir, work);
    cp_r(tmp_path("k2.pub"), p);
    CHECK_EQ_INT(verify_dir(work, NULL, NULL, 0, NULL, NULL), VIGIE_VERIFY);
    /* not a ledger at all */
    CHECK_EQ_INT(verify_dir(tmp_path("nothing-here"), NULL, NULL, 0, NULL, NULL), VIGIE_NOENT);

    /* A rollback of both files to an earlier checkpoint: DIR/checkpoint (the last signed
     * tree head as a note) is then ahead of the ledger; verify fails and the next open
     * refuses instead of re-signing the cut ledger */
    cp_r(dir, work);
    size_t saved_len;
    char *saved = slurp(tmp_path("l3/checkpoint"), &saved_len);
    write_text(tmp_path("saved-checkpoint"), saved ? saved : "");
    free(saved);
    uint64_t size = rollback(work, 2);
    CHECK(size > 0 && size < 14);
    dc = (diag_count){0};
    CHECK_EQ_INT(verify_dir(work, NULL, NULL, 0, &dc, NULL), VIGIE_VERIFY);
    CHECK_MSG(strstr(dc.first, "rolled back"), "%s", dc.first);
    CHECK_EQ_INT(vg__ledger_open(work, tmp_path("k1"), NULL, NULL, &l, err, sizeof err),
                 VIGIE_VERIFY);
    /* Documented limit: with the note removed too, the directory alone is consistent (and
     * the next open writes a note for it); only a checkpoint kept elsewhere shows the cut */
    snprintf(p, sizeof p, "%s/checkpoint", work);
    unlink(p);
    CHECK_EQ_INT(vg__ledger_open(work, tmp_path("k1"), NULL, NULL, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(verify_dir(work, NULL, NULL, 0, NULL, NULL), VIGIE_OK);
    vg_ledger_verify_opts o = {
        .checkpoint_path = tmp_path("saved-checkpoint"), .diag = count_diag, .diag_ud = &dc};
    vg_ledger_verify_result res;
    dc = (diag_count){0};
    CHECK_EQ_INT(vg__ledger_verify(work, &o, &res), VIGIE_VERIFY);
    CHECK_MSG(strstr(dc.first, "fewer than the 14"), "%s", dc.first);
    /* cut to 0 entries: the same */
    cp_r(dir, work);
    CHECK_EQ_INT(rollback(work, 1), 0);
    unlink(p);
    dc = (diag_count){0};
    CHECK_EQ_INT(vg__ledger_verify(work, &o, &res), VIGIE_VERIFY);
    /* the untouched ledger extends its own saved checkpoint, and so does a longer one */
    dc = (diag_count){0};
    CHECK_EQ_INT(vg__ledger_verify(dir, &o, &res), VIGIE_OK);
    CHECK_MSG(dc.errors == 0, "%s", dc.first);
    CHECK_EQ_INT(res.cp_size, 14);
    cp_r(dir, work);
    CHECK_EQ_INT(vg__ledger_open(work, tmp_path("k1"), NULL, NULL, &l, err, sizeof err), VIGIE_OK);
    vg_ledger_src src = {.file = inputs[0], .line = 1};
    CHECK_EQ_INT(vg__ledger_append(l, "more", "{}", 2, &src, 0), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_verify(work, &o, &res), VIGIE_OK);
    /* a rewritten history of the same length (an entry replaced and the chain redone by
     * the key holder) does not extend the saved checkpoint: simulated with another ledger
     * signed by the same key */
    const char *other = tmp_path("l3o");
    rm_rf(other);
    const char *rev[] = {inputs[1], inputs[0]};
    CHECK_EQ_INT(make_ledger(other, tmp_path("k1"), rev, 2), VIGIE_OK);
    dc = (diag_count){0};
    CHECK_EQ_INT(vg__ledger_verify(other, &o, &res), VIGIE_VERIFY);
    CHECK_MSG(strstr(dc.first, "does not extend"), "%s", dc.first);
}

static void test_unsigned(void)
{
    const char *dir = tmp_path("l4");
    rm_rf(dir);
    make_input(tmp_path("in6.ndjson"), 5);
    const char *inputs[] = {tmp_path("in6.ndjson")};
    CHECK_EQ_INT(make_ledger(dir, NULL, inputs, 1), VIGIE_OK);
    vg_ledger_verify_result res;
    CHECK_EQ_INT(verify_dir(dir, NULL, inputs, 1, NULL, &res), VIGIE_OK);
    CHECK(!res.is_signed);
    CHECK_EQ_INT(res.entries, 6);
    /* a key given later: signatures are required, and there are none */
    keys();
    CHECK_EQ_INT(verify_dir(dir, tmp_path("k1.pub"), NULL, 0, NULL, NULL), VIGIE_VERIFY);
    char err[512];
    vg_ledger *l;
    CHECK_EQ_INT(vg__ledger_open(dir, tmp_path("k1"), NULL, NULL, &l, err, sizeof err),
                 VIGIE_INVAL);
    CHECK_EQ_INT(vg__ledger_open(dir, NULL, NULL, NULL, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    /* a proof from an unsigned ledger proves nothing to a third party */
    vg_buf b;
    vg__buf_init(&b, 0);
    CHECK_EQ_INT(vg__ledger_prove(dir, "alert-2", 0, &b, err, sizeof err), VIGIE_OK);
    size_t pl;
    char *pub = slurp(tmp_path("k1.pub"), &pl);
    CHECK_EQ_INT(vg__ledger_verify_proof(b.data, b.len, pub, pl, NULL, err, sizeof err),
                 VIGIE_VERIFY);
    free(pub);
    vg__buf_free(&b);
}

/* DIR/checkpoint is a C2SP tlog-checkpoint signed note; checked here with OpenSSL alone:
 * origin, size and base64 root of the last checkpoint line, then the signature line
 * "\u2014 name base64(SHA-256(name || 0x0A || 0x01 || raw key)[0..4] || Ed25519 sig)". */
static void test_checkpoint_note(void)
{
    keys();
    const char *dir = tmp_path("l5");
    rm_rf(dir);
    make_input(tmp_path("in7.ndjson"), 4);
    const char *inputs[] = {tmp_path("in7.ndjson")};
    CHECK_EQ_INT(make_ledger(dir, tmp_path("k1"), inputs, 1), VIGIE_OK);
    vg_ledger_verify_result res;
    CHECK_EQ_INT(verify_dir(dir, NULL, NULL, 0, NULL, &res), VIGIE_OK);
    size_t len;
    char *note = slurp(tmp_path("l5/checkpoint"), &len);
    if (!note)
        return;
    char origin[128], size_s[32], root64[64], name[128], sig64[256];
    int got = sscanf(note, "%127[^\n]\n%31[^\n]\n%63[^\n]\n\n\xe2\x80\x94 %127s %255s", origin,
                     size_s, root64, name, sig64);
    CHECK_EQ_INT(got, 5);
    char want_origin[128];
    snprintf(want_origin, sizeof want_origin, "vigie.ledger/%.16s", res.key_id);
    CHECK_EQ_STR(origin, want_origin);
    CHECK_EQ_STR(name, want_origin);
    CHECK_EQ_INT(strtoull(size_s, NULL, 10), res.entries);
    /* the root is the last checkpoint line's */
    size_t cl;
    char *cps = slurp(tmp_path("l5/checkpoints.jsonl"), &cl);
    char *lastroot = NULL;
    for (char *q = cps; q && (q = strstr(q, "\"root\":\"")); q++)
        lastroot = q;
    CHECK(lastroot != NULL);
    uint8_t root[48], want_root[32];
    CHECK_EQ_INT(EVP_DecodeBlock(root, (const unsigned char *)root64, (int)strlen(root64)), 33);
    if (lastroot) {
        char hx[65];
        memcpy(hx, lastroot + 8, 64);
        hx[64] = 0;
        unhex(hx, want_root);
        CHECK(memcmp(root, want_root, 32) == 0);
    }
    free(cps);
    /* the signature, over the body (the three lines with their newlines) */
    size_t body = strlen(origin) + strlen(size_s) + strlen(root64) + 3;
    uint8_t blob[96];
    CHECK_EQ_INT(EVP_DecodeBlock(blob, (const unsigned char *)sig64, (int)strlen(sig64)), 69);
    size_t pl;
    char *pem = slurp(tmp_path("k1.pub"), &pl);
    BIO *bio = BIO_new_mem_buf(pem, (int)pl);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    CHECK(k != NULL);
    uint8_t raw[32], kh[32];
    size_t rl = sizeof raw;
    CHECK(k && EVP_PKEY_get_raw_public_key(k, raw, &rl) == 1 && rl == 32);
    uint8_t buf[256];
    size_t nl = strlen(name);
    memcpy(buf, name, nl);
    buf[nl] = 0x0a;
    buf[nl + 1] = 0x01;
    memcpy(buf + nl + 2, raw, 32);
    SHA256(buf, nl + 34, kh);
    CHECK(memcmp(kh, blob, 4) == 0);
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    CHECK(k && EVP_DigestVerifyInit(x, NULL, NULL, NULL, k) == 1 &&
          EVP_DigestVerify(x, blob + 4, 64, (const unsigned char *)note, body) == 1);
    EVP_MD_CTX_free(x);
    EVP_PKEY_free(k);
    BIO_free(bio);
    free(pem);
    free(note);
    /* an unsigned ledger has no note; one planted there says the signatures were stripped */
    const char *u = tmp_path("l5u");
    rm_rf(u);
    CHECK_EQ_INT(make_ledger(u, NULL, inputs, 1), VIGIE_OK);
    CHECK(access(tmp_path("l5u/checkpoint"), F_OK) != 0);
    cp_r(tmp_path("l5/checkpoint"), tmp_path("l5u/checkpoint"));
    diag_count dc = {0};
    CHECK_EQ_INT(verify_dir(u, NULL, NULL, 0, &dc, NULL), VIGIE_VERIFY);
    CHECK_MSG(strstr(dc.first, "stripped"), "%s", dc.first);
}

typedef struct diag_log {
    char text[4096];
    int warnings;
} diag_log;

static void log_diag(void *ud, const vigie_diag *d)
{
    diag_log *g = ud;
    size_t n = strlen(g->text);
    g->warnings += d->level == VIGIE_DIAG_WARNING;
    snprintf(g->text + n, sizeof g->text - n, "%s:%llu: %s\n", d->file ? d->file : "",
             (unsigned long long)d->line, d->message);
}

static uint64_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Recovery on open: the state a kill -9 leaves (entries after the last checkpoint, a torn
 * last line of either file) is recovered and reported; tampering is still refused. */
static void test_recovery(void)
{
    keys();
    const char *dir = tmp_path("l6"), *crash = tmp_path("l6c"), *w = tmp_path("l6w");
    rm_rf(dir);
    make_input(tmp_path("in8.ndjson"), 5);
    const char *inputs[] = {tmp_path("in8.ndjson")};
    CHECK_EQ_INT(make_ledger(dir, tmp_path("k1"), inputs, 1), VIGIE_OK);
    /* a run that appends 3 entries and dies before its checkpoint: the directory copied
     * while the ledger is open is what kill -9 leaves */
    char err[512];
    vg_ledger *l;
    CHECK_EQ_INT(vg__ledger_open(dir, tmp_path("k1"), NULL, NULL, &l, err, sizeof err), VIGIE_OK);
    uint64_t before = vg__ledger_size(l);
    vg_ledger_src src = {.file = inputs[0], .line = 1};
    vg__ledger_sha256("x", 1, src.sha256);
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "late-%d", i);
        CHECK_EQ_INT(vg__ledger_append(l, id, "{}", 2, NULL, 0), VIGIE_OK);
    }
    /* the 30 s checkpoint clock */
    CHECK(!vg__ledger_checkpoint_due(l, vg__now()));
    CHECK(vg__ledger_checkpoint_due(l, vg__now() + VG_LEDGER_CHECKPOINT_SECONDS + 1));
    cp_r(dir, crash);
    CHECK_EQ_INT(vg__ledger_checkpoint(l), VIGIE_OK);
    CHECK(!vg__ledger_checkpoint_due(l, vg__now() + VG_LEDGER_CHECKPOINT_SECONDS + 1));
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    diag_count dc = {0};
    CHECK_EQ_INT(verify_dir(crash, NULL, NULL, 0, &dc, NULL), VIGIE_VERIFY);
    CHECK_MSG(strstr(dc.first, "follow the last checkpoint"), "%s", dc.first);

    /* entries after the last checkpoint: kept, checkpointed, reported */
    cp_r(crash, w);
    diag_log g = {{0}, 0};
    CHECK_EQ_INT(vg__ledger_open(w, tmp_path("k1"), log_diag, &g, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_size(l), before + 3);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    CHECK_MSG(strstr(g.text, "kept 3 entries") && g.warnings == 1, "%s", g.text);
    vg_ledger_verify_result res;
    CHECK_EQ_INT(verify_dir(w, tmp_path("k1.pub"), NULL, 0, NULL, &res), VIGIE_OK);
    CHECK_EQ_INT(res.entries, before + 3);
    size_t pl;
    char *pub = slurp(tmp_path("k1.pub"), &pl);
    vg_buf b;
    vg__buf_init(&b, 0);
    CHECK_EQ_INT(vg__ledger_prove(w, "late-2", 0, &b, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_verify_proof(b.data, b.len, pub, pl, NULL, err, sizeof err), VIGIE_OK);
    vg__buf_free(&b);
    free(pub);

    /* a torn last entry line (written in part): cut, with its offset and size */
    char p[600];
    cp_r(crash, w);
    snprintf(p, sizeof p, "%s/entries.jsonl", w);
    uint64_t sz = file_size(p);
    FILE *f = fopen(p, "ab");
    fputs("{\"seq\":8,\"alert_id\":\"torn", f);
    fclose(f);
    g = (diag_log){{0}, 0};
    CHECK_EQ_INT(vg__ledger_open(w, tmp_path("k1"), log_diag, &g, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    char want[128];
    snprintf(want, sizeof want, "cut a torn last line (25 bytes at offset %llu",
             (unsigned long long)sz);
    CHECK_MSG(strstr(g.text, want) && strstr(g.text, "kept 3 entries"), "%s", g.text);
    CHECK_EQ_INT(verify_dir(w, tmp_path("k1.pub"), NULL, 0, NULL, &res), VIGIE_OK);
    CHECK_EQ_INT(res.entries, before + 3);
    /* a last line that ends in a newline but does not parse (zeros from a lost write) */
    cp_r(crash, w);
    f = fopen(p, "ab");
    fwrite("\0\0\0\0\n", 1, 5, f);
    fclose(f);
    g = (diag_log){{0}, 0};
    CHECK_EQ_INT(vg__ledger_open(w, tmp_path("k1"), log_diag, &g, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    CHECK_MSG(strstr(g.text, "cut a torn last line (5 bytes"), "%s", g.text);
    CHECK_EQ_INT(verify_dir(w, tmp_path("k1.pub"), NULL, 0, NULL, NULL), VIGIE_OK);

    /* a torn last checkpoint line */
    cp_r(dir, w);
    snprintf(p, sizeof p, "%s/checkpoints.jsonl", w);
    sz = file_size(p);
    f = fopen(p, "ab");
    fputs("{\"size\":9,\"ro", f);
    fclose(f);
    CHECK_EQ_INT(verify_dir(w, NULL, NULL, 0, NULL, NULL), VIGIE_VERIFY);
    g = (diag_log){{0}, 0};
    CHECK_EQ_INT(vg__ledger_open(w, tmp_path("k1"), log_diag, &g, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    CHECK_MSG(strstr(g.text, "checkpoints.jsonl:0: recovered: cut a torn last line (13 bytes"),
              "%s", g.text);
    CHECK_EQ_INT(file_size(p), sz);
    CHECK_EQ_INT(verify_dir(w, tmp_path("k1.pub"), NULL, 0, NULL, NULL), VIGIE_OK);
    /* the note missing (a ledger written before it existed): written again; a temporary
     * of an interrupted note write: removed */
    snprintf(p, sizeof p, "%s/checkpoint", w);
    unlink(p);
    CHECK_EQ_INT(verify_dir(w, NULL, NULL, 0, NULL, NULL), VIGIE_VERIFY);
    write_text(tmp_path("l6w/.checkpoint.Ab12Cd"), "vigie.ledger/");
    g = (diag_log){{0}, 0};
    CHECK_EQ_INT(vg__ledger_open(w, tmp_path("k1"), log_diag, &g, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    CHECK_MSG(strstr(g.text, "rewrote the checkpoint note"), "%s", g.text);
    CHECK_MSG(strstr(g.text, "removed a temporary"), "%s", g.text);
    CHECK(access(tmp_path("l6w/.checkpoint.Ab12Cd"), F_OK) != 0);
    CHECK_EQ_INT(verify_dir(w, tmp_path("k1.pub"), NULL, 0, NULL, NULL), VIGIE_OK);

    /* tampering is not recovery: an entry in the middle altered, with an unsigned tail and
     * a torn line after it; refused, and nothing is cut */
    cp_r(crash, w);
    snprintf(p, sizeof p, "%s/entries.jsonl", w);
    size_t len;
    char *s = slurp(p, &len), *q = s ? strstr(s, "\"alert-1\"") : NULL;
    if (q) {
        q[7] = '7';
        write_text(p, s);
    }
    free(s);
    f = fopen(p, "ab");
    fputs("{\"seq\"", f);
    fclose(f);
    sz = file_size(p);
    CHECK_EQ_INT(vg__ledger_open(w, tmp_path("k1"), NULL, NULL, &l, err, sizeof err), VIGIE_VERIFY);
    CHECK_MSG(strstr(err, "does not verify") && strstr(err, "entry 1"), "%s", err);
    CHECK_EQ_INT(file_size(p), sz);
    /* a checkpoint that does not match its entries: refused */
    cp_r(crash, w);
    snprintf(p, sizeof p, "%s/checkpoints.jsonl", w);
    s = slurp(p, &len);
    q = s ? strstr(s, "\"root\":\"") : NULL;
    if (q) {
        q[8] = q[8] == 'a' ? 'b' : 'a';
        write_text(p, s);
    }
    free(s);
    CHECK_EQ_INT(vg__ledger_open(w, tmp_path("k1"), NULL, NULL, &l, err, sizeof err), VIGIE_VERIFY);
}

/* The run manifest covers files no alert references (the sign-in logs a no_signin alert
 * rests on); --inputs matches a copy by its SHA-256, never by base name. */
static void test_manifest_inputs(void)
{
    keys();
    const char *dir = tmp_path("l7");
    rm_rf(dir);
    mkdir(tmp_path("o1"), 0755);
    mkdir(tmp_path("o2"), 0755);
    mkdir(tmp_path("elsewhere"), 0755);
    make_input(tmp_path("o1/ual.ndjson"), 4);
    make_input(tmp_path("o2/ual.ndjson"), 6); /* same base name, other bytes */
    make_input(tmp_path("signin.ndjson"), 3);
    const char *alerts_on[] = {tmp_path("o1/ual.ndjson"), tmp_path("o2/ual.ndjson")};
    const char *all[] = {tmp_path("o1/ual.ndjson"), tmp_path("o2/ual.ndjson"),
                         tmp_path("signin.ndjson")};
    char err[512];
    vg_ledger *l;
    uint64_t n = 0, bytes = 0;
    CHECK_EQ_INT(vg__ledger_open(dir, tmp_path("k1"), NULL, NULL, &l, err, sizeof err), VIGIE_OK);
    CHECK_EQ_INT(append_inputs(l, alerts_on, 2, &n), VIGIE_OK);
    CHECK_EQ_INT(vg__ledger_append_manifest(l, all, 3, &bytes), VIGIE_OK);
    CHECK_EQ_INT(bytes, file_size(all[0]) + file_size(all[1]) + file_size(all[2]));
    CHECK_EQ_INT(vg__ledger_close(l, err, sizeof err), VIGIE_OK);
    vg_ledger_verify_result res;
    diag_count dc = {0};
    /* one untouched file given: OK, every other file is checked at its recorded path */
    const char *one[] = {all[1]};
    CHECK_EQ_INT(verify_dir(dir, NULL, one, 1, &dc, &res), VIGIE_OK);
    CHECK_MSG(dc.errors == 0, "%s", dc.first);
    CHECK_EQ_INT(res.files_checked, 3);
    /* a copy of o2/ual.ndjson elsewhere: matched by its SHA-256, not o1's by base name */
    cp_r(all[1], tmp_path("elsewhere/ual.ndjson"));
    const char *copy[] = {tmp_path("elsewhere/ual.ndjson")};
    diag_log g = {{0}, 0};
    vg_ledger_verify_opts o = {
        .check_inputs = true, .inputs = copy, .n_inputs = 1, .diag = log_diag, .diag_ud = &g};
    CHECK_EQ_INT(vg__ledger_verify(dir, &o, &res), VIGIE_OK);
    CHECK_MSG(g.warnings == 0, "%s", g.text);
    /* a file the ledger does not know: a warning, not a failure */
    make_input(tmp_path("elsewhere/other.ndjson"), 2);
    copy[0] = tmp_path("elsewhere/other.ndjson");
    g = (diag_log){{0}, 0};
    CHECK_EQ_INT(vg__ledger_verify(dir, &o, &res), VIGIE_OK);
    CHECK_MSG(g.warnings == 1 && strstr(g.text, "not referenced by the ledger"), "%s", g.text);
    /* the sign-in log altered (no alert references it): the manifest names it */
    FILE *f = fopen(all[2], "ab");
    fputs("{\"late\":1}\n", f);
    fclose(f);
    dc = (diag_count){0};
    CHECK_EQ_INT(verify_dir(dir, NULL, one, 1, &dc, &res), VIGIE_VERIFY);
    CHECK_MSG(strstr(dc.first, "signin.ndjson") && strstr(dc.first, "differs from the run "
                                                                    "manifest"),
              "%s", dc.first);
    /* removed: a warning that it was not checked */
    unlink(all[2]);
    g = (diag_log){{0}, 0};
    o.inputs = one;
    CHECK_EQ_INT(vg__ledger_verify(dir, &o, &res), VIGIE_OK);
    CHECK_EQ_INT(res.files_unchecked, 1);
    CHECK_MSG(strstr(g.text, "1 file of the run manifests not checked"), "%s", g.text);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--make")) {
        const char *key = strcmp(argv[3], "-") ? argv[3] : NULL;
        int rc = make_ledger(argv[2], key, (const char *const *)argv + 4, argc - 4);
        if (rc)
            fprintf(stderr, "test_store_ledger --make: %s\n", vigie_strerror(rc));
        return rc ? 1 : 0;
    }
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/vigie-ledger-XXXXXX", tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_rfc6962_vectors);
    RUN(test_roots_every_size);
    RUN(test_inclusion_every_leaf);
    RUN(test_consistency_every_size);
    RUN(test_keygen);
    RUN(test_append_reopen_prove);
    RUN(test_every_byte_flip);
    RUN(test_cuts_and_limits);
    RUN(test_unsigned);
    RUN(test_checkpoint_note);
    RUN(test_recovery);
    RUN(test_manifest_inputs);
    rm_rf(tmp_root);
    return TEST_DONE();
}
