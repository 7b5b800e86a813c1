/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ledger_cmd.c: the evidence ledger's commands (store/ledger.h, docs/LEDGER.md):
 *   vigie keygen -o PREFIX                    Ed25519 key pair: PREFIX (0600), PREFIX.pub
 *   vigie verify --ledger DIR (--key PUB | --trust-ledger-key | --unsigned)
 *                [--checkpoint FILE] [--inputs FILE...]
 *   vigie verify --proof FILE --key PUB       a third party's check, with only the public key
 *   vigie prove --ledger DIR ALERT_ID|--seq N [-o FILE]
 *   vigie ledger recover --ledger DIR [--key PREFIX]
 * verify trusts a key only when told which: --key PUB, or --trust-ledger-key for the
 * directory's own DIR/ledger.pub; an unsigned ledger only with --unsigned.
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
    fputs("usage: vigie verify --ledger DIR (--key PREFIX.pub | --trust-ledger-key | --unsigned)\n"
          "                    [--checkpoint FILE] [--inputs FILE...]\n"
          "       vigie verify --proof FILE --key PREFIX.pub\n"
          "  --ledger DIR        check every entry, the hash chain, the Merkle tree, every\n"
          "                      signed checkpoint and DIR/checkpoint of the ledger in DIR\n"
          "  --key PUB           the public key you trust (also --pub)\n"
          "  --trust-ledger-key  trust the ledger's own DIR/ledger.pub instead (whoever can\n"
          "                      replace the directory can replace that key too)\n"
          "  --unsigned          check an unsigned ledger: consistency only, nothing against\n"
          "                      rollback or rewrite\n"
          "  --checkpoint FILE   a DIR/checkpoint copy kept elsewhere: its signature must hold\n"
          "                      and the ledger must extend it (RFC 9162 consistency proof)\n"
          "  --inputs FILE...    also re-read the raw records the entries reference and compare\n"
          "                      their SHA-256, and each file's size and SHA-256 with the run\n"
          "                      manifests (files matched by recorded path, then realpath, then\n"
          "                      SHA-256; never by base name; referenced files not given are\n"
          "                      read at their recorded path; a file matching nothing: warning)\n"
          "  --proof FILE        check an inclusion proof made by `vigie prove`\n"
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
    if (VG_GROW(a, *cap, (size_t)n + 1, 16)) {
        free(a);
        fprintf(stderr, "vigie: error: out of memory\n");
        return NULL;
    }
    return a;
}

int vg__cmd_verify(int argc, char **argv)
{
    const char *dir = NULL, *pub = NULL, *proof = NULL, *cpf = NULL;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    uint32_t n_inputs = 0;
    bool want_inputs = false, in_inputs = false, trust_own = false, allow_unsigned = false;
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
        } else if (!strcmp(a, "--checkpoint")) {
            if (!(cpf = need_arg(argc, argv, &i)))
                goto out;
        } else if (!strcmp(a, "--trust-ledger-key")) {
            trust_own = true;
        } else if (!strcmp(a, "--unsigned")) {
            allow_unsigned = true;
        } else if (!strcmp(a, "--inputs")) {
            want_inputs = in_inputs = true;
        } else {
            fprintf(stderr, "vigie: error: verify: unexpected argument '%s'\n", a);
            ex = usage_verify(stderr, EX_USAGE);
            goto out;
        }
    }
    if (proof) {
        if (dir || want_inputs || cpf || trust_own || allow_unsigned || !pub) {
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
    if (pub && (trust_own || allow_unsigned)) {
        fprintf(stderr, "vigie: error: verify: --key names the key to trust; --trust-ledger-key "
                        "and --unsigned are for when there is none\n");
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
    vg_ledger_verify_opts o = {.pub_path = pub,
                               .check_inputs = want_inputs,
                               .inputs = all,
                               .n_inputs = n_all,
                               .checkpoint_path = cpf,
                               .diag = vg__cli_diag};
    vg_ledger_verify_result r;
    int rc = vg__ledger_verify(dir, &o, &r);
    if (rc && rc != VIGIE_VERIFY) {
        ex = EX_USAGE; /* reported by the library */
        goto out;
    }
    /* which key is trusted is the caller's decision, never a silent default */
    uint64_t policy = 0;
    if (r.is_signed && !pub && !trust_own) {
        fprintf(stderr,
                "vigie: error: %s: no trusted key: give --key PREFIX.pub; or "
                "--trust-ledger-key to trust the ledger's own %s/ledger.pub (key id %s), "
                "which whoever can replace the directory can replace too\n",
                dir, dir, r.key_id[0] ? r.key_id : "unreadable");
        policy++;
    } else if (!r.is_signed && !allow_unsigned) {
        fprintf(stderr,
                "vigie: error: %s: the ledger is unsigned (no ledger.pub, no "
                "signatures: stripped, or made without --key); --unsigned checks its "
                "consistency only, which proves nothing against rollback or rewrite\n",
                dir);
        policy++;
    }
    if (rc == VIGIE_VERIFY || policy) {
        fprintf(stderr, "vigie: error: %s: verification FAILED: %llu problem%s (listed above)\n",
                dir, (unsigned long long)(r.failures + policy),
                r.failures + policy == 1 ? "" : "s");
        ex = EX_FAILED;
        goto out;
    }
    if (!r.is_signed)
        fprintf(stderr,
                "vigie: warning: %s: the ledger is unsigned: its checkpoints prove "
                "consistency, not origin, and nothing against rollback or rewrite\n",
                dir);
    else if (!r.key_pinned)
        fprintf(stderr,
                "vigie: warning: %s: checked against the ledger's own ledger.pub (key id "
                "%s), as --trust-ledger-key asked; --key PREFIX.pub checks it against the key "
                "you trust\n",
                dir, r.key_id);
    printf("ledger %s: OK: %llu entries, %llu checkpoints, the last covering all entries",
           dir, (unsigned long long)r.entries, (unsigned long long)r.checkpoints);
    if (r.is_signed)
        printf(", signed by key %s%s", r.key_id, r.key_pinned ? " (the key given)" : "");
    if (cpf)
        printf("; extends the checkpoint of size %llu in %s", (unsigned long long)r.cp_size, cpf);
    if (want_inputs)
        printf("; %llu of %llu raw records re-read and unaltered; %llu file%s as in the run "
               "manifests",
               (unsigned long long)r.sources_checked, (unsigned long long)r.sources,
               (unsigned long long)r.files_checked, r.files_checked == 1 ? "" : "s");
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

static int usage_ledger(FILE *f, int ex)
{
    fputs("usage: vigie ledger recover --ledger DIR [--key PREFIX]\n"
          "  recover the ledger in DIR after an interrupted run: a torn last line of\n"
          "  entries.jsonl or checkpoints.jsonl is cut off; entries after the last checkpoint\n"
          "  whose hash chain is intact are kept and a checkpoint over them is appended (signed\n"
          "  with the private key PREFIX; a signed ledger needs it); DIR/checkpoint is rewritten\n"
          "  when missing or stale. Anything else broken is refused: tampering is not recovered.\n"
          "  Every scan with --ledger does the same when it opens the ledger.\n"
          "exit: 0 the ledger is sound afterwards, 1 it does not verify (not changed),\n"
          "      2 usage, I/O error or not a ledger\n",
          f);
    return ex;
}

typedef struct recover_report {
    uint64_t lines;
} recover_report;

static void recover_diag(void *ud, const vigie_diag *d)
{
    recover_report *r = ud;
    r->lines++;
    vg__cli_diag(NULL, d);
}

int vg__cmd_ledger(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return usage_ledger(argc < 2 ? stderr : stdout, argc < 2 ? EX_USAGE : EX_OK);
    if (strcmp(argv[1], "recover") != 0) {
        fprintf(stderr, "vigie: error: ledger: unknown subcommand '%s'\n", argv[1]);
        return usage_ledger(stderr, EX_USAGE);
    }
    const char *dir = NULL, *key = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage_ledger(stdout, EX_OK);
        if (!strcmp(argv[i], "--ledger")) {
            if (!(dir = need_arg(argc, argv, &i)))
                return EX_USAGE;
        } else if (!strcmp(argv[i], "--key")) {
            if (!(key = need_arg(argc, argv, &i)))
                return EX_USAGE;
        } else {
            fprintf(stderr, "vigie: error: ledger recover: unexpected argument '%s'\n", argv[i]);
            return usage_ledger(stderr, EX_USAGE);
        }
    }
    if (!dir)
        return usage_ledger(stderr, EX_USAGE);
    char pe[4096], pc[4096], pp[4096];
    struct stat st;
    snprintf(pe, sizeof pe, "%s/entries.jsonl", dir);
    snprintf(pc, sizeof pc, "%s/checkpoints.jsonl", dir);
    snprintf(pp, sizeof pp, "%s/ledger.pub", dir); /* alone: a creation cut by a crash */
    if (stat(pe, &st) != 0 && stat(pc, &st) != 0 && stat(pp, &st) != 0) {
        fprintf(stderr,
                "vigie: error: %s: not a vigie ledger (no entries.jsonl, no "
                "checkpoints.jsonl)\n",
                dir);
        return EX_USAGE;
    }
    recover_report rep = {0};
    vg_ledger *l = NULL;
    char err[1024] = "";
    int rc = vg__ledger_open(dir, key, recover_diag, &rep, &l, err, sizeof err);
    if (rc) {
        fprintf(stderr, "vigie: error: %s\n", err);
        if (rc == VIGIE_VERIFY)
            fprintf(stderr,
                    "vigie: error: %s: not recovered: the ledger is damaged beyond an "
                    "interrupted write (vigie verify lists every problem); nothing was changed\n",
                    dir);
        return rc == VIGIE_VERIFY ? EX_FAILED : EX_USAGE;
    }
    uint64_t n = vg__ledger_size(l);
    if ((rc = vg__ledger_close(l, err, sizeof err))) {
        fprintf(stderr, "vigie: error: %s: %s\n", dir, err);
        return EX_USAGE;
    }
    printf("ledger %s: %s: %llu entries, the last checkpoint covering all%s\n", dir,
           rep.lines ? "recovered" : "sound, nothing to recover", (unsigned long long)n,
           key ? ", signed" : "");
    return EX_OK;
}
