/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ledger_cmd.c: the evidence ledger's commands (store/ledger.h, docs/LEDGER.md):
 *   vigie keygen -o PREFIX                    Ed25519 key pair: PREFIX (0600), PREFIX.pub
 *   vigie verify --ledger DIR [--key PUB] [--inputs FILE...]
 *   vigie verify --proof FILE --key PUB       a third party's check, with only the public key
 *   vigie prove --ledger DIR ALERT_ID|--seq N [-o FILE]
 * Exit codes here: 0 everything checks, 1 verification failed (each failure printed as
 * "vigie: error: file:line: message"), 2 usage, I/O or not found. No state; the library
 * does the work, this file parses options and words the outcome.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "cli.h"
#include "ingest/ingest.h"
#include "store/ledger.h"

enum { EX_OK = 0, EX_FAILED = 1, EX_USAGE = 2 };

static int usage_keygen(FILE *f, int ex)
{
    fputs("usage: vigie keygen -o PREFIX\n"
          "  writes an Ed25519 private key to PREFIX (mode 0600) and its public key to\n"
          "  PREFIX.pub, both PEM; existing files are never overwritten\n",
          f);
    return ex;
}

static int usage_verify(FILE *f, int ex)
{
    fputs("usage: vigie verify --ledger DIR [--key PREFIX.pub] [--inputs FILE...]\n"
          "       vigie verify --proof FILE --key PREFIX.pub\n"
          "  --ledger DIR     check every entry, the hash chain, the Merkle tree and every\n"
          "                   signed checkpoint of the ledger in DIR\n"
          "  --key PUB        the public key you trust (also --pub); without it a ledger is\n"
          "                   checked against its own copy, DIR/ledger.pub\n"
          "  --inputs FILE... also re-read the raw records the entries reference and compare\n"
          "                   their SHA-256 (files matched by path, else by base name; files\n"
          "                   not given are looked for at their recorded path)\n"
          "  --proof FILE     check an inclusion proof made by `vigie prove`\n"
          "exit: 0 everything checks, 1 verification failed, 2 usage or I/O error\n",
          f);
    return ex;
}

static int usage_prove(FILE *f, int ex)
{
    fputs("usage: vigie prove [--ledger DIR] (ALERT_ID | --seq N) [-o FILE]\n"
          "  prints a self-contained JSON inclusion proof of one alert's entry, checked by a\n"
          "  third party with `vigie verify --proof FILE --key PREFIX.pub`; without --ledger,\n"
          "  the ledger is $VIGIE_LEDGER, else the current directory\n",
          f);
    return ex;
}

static const char *need_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "vigie: error: %s needs an argument\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int vg__cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage_keygen(stdout, EX_OK);
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (!(out = need_arg(argc, argv, &i)))
                return EX_USAGE;
        } else {
            fprintf(stderr, "vigie: error: keygen: unexpected argument '%s'\n", argv[i]);
            return usage_keygen(stderr, EX_USAGE);
        }
    }
    if (!out)
        return usage_keygen(stderr, EX_USAGE);
    char err[512], id[VG_LEDGER_HEX];
    if (vg__ledger_keygen(out, id, err, sizeof err) != VIGIE_OK) {
        fprintf(stderr, "vigie: error: %s\n", err);
        return EX_USAGE;
    }
    printf("private key: %s (keep it secret; mode 0600)\npublic key:  %s.pub\nkey id:      %s\n",
           out, out, id);
    return EX_OK;
}

static int verify_proof(const char *proof_path, const char *pub_path)
{
    char *proof = NULL, *pub = NULL;
    size_t pl, kl;
    int rc = vg__read_file(proof_path, VG_MAX_LEDGER_PROOF, &proof, &pl);
    if (rc) {
        fprintf(stderr, "vigie: error: %s: cannot read: %s\n", proof_path, vigie_strerror(rc));
        return EX_USAGE;
    }
    if ((rc = vg__read_file(pub_path, 1u << 16, &pub, &kl))) {
        fprintf(stderr, "vigie: error: %s: cannot read: %s\n", pub_path, vigie_strerror(rc));
        free(proof);
        return EX_USAGE;
    }
    char err[512];
    vg_ledger_proof_info in;
    rc = vg__ledger_verify_proof(proof, pl, pub, kl, &in, err, sizeof err);
    free(proof);
    free(pub);
    if (rc == VIGIE_INVAL) {
        fprintf(stderr, "vigie: error: %s: %s\n", pub_path, err);
        return EX_USAGE;
    }
    if (rc) {
        fprintf(stderr, "vigie: error: %s: proof does not verify: %s\n", proof_path, err);
        return EX_FAILED;
    }
    printf("proof OK: alert %s is entry %llu of a ledger of %llu entries\n"
           "  alert sha256 %s, %u raw record%s behind it\n"
           "  tree root %s\n  checkpoint signed %s by key %s\n",
           in.alert_id, (unsigned long long)in.seq, (unsigned long long)in.tree_size,
           in.alert_sha256, in.n_sources, in.n_sources == 1 ? "" : "s", in.root, in.time,
           in.key_id);
    return EX_OK;
}

static const char **grow(const char **a, uint32_t *cap, uint32_t n)
{
    if (n < *cap)
        return a;
    uint32_t nc = *cap ? *cap * 2 : 16;
    const char **na = realloc(a, nc * sizeof *na);
    if (!na) {
        free(a);
        fprintf(stderr, "vigie: error: out of memory\n");
        return NULL;
    }
    *cap = nc;
    return na;
}

int vg__cmd_verify(int argc, char **argv)
{
    const char *dir = NULL, *pub = NULL, *proof = NULL;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    uint32_t n_inputs = 0;
    bool want_inputs = false, in_inputs = false;
    int ex = EX_USAGE;
    vg_inputs files = {0};  /* directories given to --inputs, expanded */
    const char **all = NULL; /* every input file, in order */
    uint32_t n_all = 0, cap_all = 0;
    if (!inputs)
        return EX_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (in_inputs && (a[0] != '-' || !strcmp(a, "-"))) {
            inputs[n_inputs++] = a;
            continue;
        }
        in_inputs = false;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ex = usage_verify(stdout, EX_OK);
            goto out;
        } else if (!strcmp(a, "--ledger")) {
            if (!(dir = need_arg(argc, argv, &i)))
                goto out;
        } else if (!strcmp(a, "--key") || !strcmp(a, "--pub")) {
            if (!(pub = need_arg(argc, argv, &i)))
                goto out;
        } else if (!strcmp(a, "--proof")) {
            if (!(proof = need_arg(argc, argv, &i)))
                goto out;
        } else if (!strcmp(a, "--inputs")) {
            want_inputs = in_inputs = true;
        } else {
            fprintf(stderr, "vigie: error: verify: unexpected argument '%s'\n", a);
            ex = usage_verify(stderr, EX_USAGE);
            goto out;
        }
    }
    if (proof) {
        if (dir || want_inputs || !pub) {
            fprintf(stderr, "vigie: error: verify --proof takes only --key PUB (the public key "
                    "the proof must be signed with)\n");
            goto out;
        }
        ex = verify_proof(proof, pub);
        goto out;
    }
    if (!dir) {
        ex = usage_verify(stderr, EX_USAGE);
        goto out;
    }
    if (want_inputs && n_inputs == 0) {
        fprintf(stderr, "vigie: error: --inputs needs at least one file\n");
        goto out;
    }
    /* directories are expanded as the scan expands them; a path that does not exist is kept,
     * so that the failure names the ledger entries that need it */
    for (uint32_t i = 0; i < n_inputs; i++) {
        struct stat st;
        uint32_t before = files.n;
        if (stat(inputs[i], &st) != 0) {
            if (!(all = grow(all, &cap_all, n_all)))
                goto out;
            all[n_all++] = inputs[i];
            continue;
        }
        if (vg__inputs_expand(&files, &inputs[i], 1, vg__cli_diag, NULL) != VIGIE_OK)
            goto out;
        for (uint32_t k = before; k < files.n; k++) {
            if (!(all = grow(all, &cap_all, n_all)))
                goto out;
            all[n_all++] = files.paths[k];
        }
    }
    vg_ledger_verify_opts o = {.pub_path = pub, .check_inputs = want_inputs, .inputs = all,
                               .n_inputs = n_all, .diag = vg__cli_diag};
    vg_ledger_verify_result r;
    int rc = vg__ledger_verify(dir, &o, &r);
    if (rc == VIGIE_VERIFY) {
        fprintf(stderr, "vigie: error: %s: verification FAILED: %llu problem%s (listed above)\n",
                dir, (unsigned long long)r.failures, r.failures == 1 ? "" : "s");
        ex = EX_FAILED;
        goto out;
    }
    if (rc) {
        ex = EX_USAGE; /* reported by the library */
        goto out;
    }
    if (!r.is_signed)
        fprintf(stderr, "vigie: warning: %s: the ledger is unsigned: its checkpoints prove "
                "consistency, not origin\n", dir);
    else if (!r.key_pinned)
        fprintf(stderr, "vigie: warning: %s: checked against the ledger's own ledger.pub; give "
                "--key PREFIX.pub to check it against the key you trust\n", dir);
    printf("ledger %s: OK: %llu entries, %llu checkpoints, the last covering all entries",
           dir, (unsigned long long)r.entries, (unsigned long long)r.checkpoints);
    if (r.is_signed)
        printf(", signed by key %s%s", r.key_id, r.key_pinned ? " (the key given)" : "");
    if (want_inputs)
        printf("; %llu of %llu raw records re-read and unaltered",
               (unsigned long long)r.sources_checked, (unsigned long long)r.sources);
    printf("\n");
    ex = EX_OK;
out:
    free(all);
    vg__inputs_free(&files);
    free(inputs);
    return ex;
}

int vg__cmd_prove(int argc, char **argv)
{
    const char *dir = NULL, *id = NULL, *out = NULL;
    uint64_t seq = 0;
    bool by_seq = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage_prove(stdout, EX_OK);
        if (!strcmp(a, "--ledger")) {
            if (!(dir = need_arg(argc, argv, &i)))
                return EX_USAGE;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = need_arg(argc, argv, &i)))
                return EX_USAGE;
        } else if (!strcmp(a, "--seq")) {
            if (!(v = need_arg(argc, argv, &i)))
                return EX_USAGE;
            char *end;
            errno = 0;
            seq = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-') {
                fprintf(stderr, "vigie: error: --seq: '%s' is not an entry number\n", v);
                return EX_USAGE;
            }
            by_seq = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vigie: error: prove: unknown option '%s'\n", a);
            return usage_prove(stderr, EX_USAGE);
        } else if (!id) {
            id = a;
        } else {
            fprintf(stderr, "vigie: error: prove: one alert id at a time ('%s')\n", a);
            return EX_USAGE;
        }
    }
    if (!dir) {
        /* `vigie prove ALERT_ID`: the ledger named by VIGIE_LEDGER, else the current
         * directory when it is one */
        const char *env = getenv("VIGIE_LEDGER");
        struct stat st;
        if (env && *env)
            dir = env;
        else if (stat("entries.jsonl", &st) == 0)
            dir = ".";
    }
    if (!dir || (!id) == !by_seq)
        return usage_prove(stderr, EX_USAGE);
    vg_buf b;
    vg__buf_init(&b, 0);
    char err[1024];
    int rc = vg__ledger_prove(dir, by_seq ? NULL : id, seq, &b, err, sizeof err);
    int ex = EX_OK;
    if (rc) {
        fprintf(stderr, "vigie: error: %s: %s\n", dir, err);
        ex = rc == VIGIE_VERIFY ? EX_FAILED : EX_USAGE;
    } else if (out) {
        if (vg__safefile_write(out, b.data, b.len) != VIGIE_OK) {
            vg__print_escaped(stderr, "vigie: error: %s: cannot write: %s\n", out, strerror(errno));
            ex = EX_USAGE;
        }
    } else if (fwrite(b.data, 1, b.len, stdout) != b.len) {
        ex = EX_USAGE;
    }
    vg__buf_free(&b);
    return ex;
}
