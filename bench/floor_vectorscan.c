/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor_vectorscan.c: the literal-scan floor vigie is measured against.
 *
 * Bench only. Loads Sigma rules with the rule stage (vg__ruleload_path), collects every
 * literal run (VG_PART_LIT, >= 1 byte) of every glob value and keyword, deduplicates them
 * (ASCII case-insensitively) and compiles them into one Vectorscan block-mode database
 * (HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH, hs_compile_lit_multi). The NDJSON input is then
 * streamed in 8 MiB chunks and every line (event) is scanned once. That is the least work a
 * literal prefilter over all the rules' values can do per event, without parsing the JSON:
 * vigie parses, routes, prefilters and evaluates, so it cannot beat this, and the ratio says
 * what the rest costs. With -L FILE the literals come from FILE (one per line) instead of
 * rules (for development without the rule stage). Costs: flat memory (one chunk, the
 * database and one scratch); reading is inside the timing, as it is for vigie.
 *
 * Output (stdout, one line): events=N bytes=N seconds=S literals=N short=N matches=N
 * (short: literals of 1 or 2 bytes, which match in almost every event; matches: events x
 * distinct literals found).
 */
#define _POSIX_C_SOURCE 200809L
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule/rule.h"

#define CHUNK ((size_t)8 << 20)

typedef struct lit {
    const char *s;
    size_t len;
} lit;

typedef struct lits {
    lit *v;
    size_t n, cap;
} lits;

static int lits_add(lits *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        lit *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return VIGIE_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (lit){s, len};
    return VIGIE_OK;
}

static int lit_cmp(const void *a, const void *b)
{
    const lit *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = strncasecmp(x->s, y->s, m);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Literal runs of every glob value of every rule: field values and keywords alike. */
static int collect_rules(const vg_ruleload *rl, lits *out)
{
    for (uint32_t r = 0; r < vg__ruleload_count(rl); r++) {
        const vg_rule *rule = vg__ruleload_get(rl, r);
        for (uint32_t s = 0; s < rule->n_searches; s++)
            for (uint32_t a = 0; a < rule->searches[s].n_alts; a++)
                for (uint32_t f = 0; f < rule->searches[s].alts[a].n_conds; f++) {
                    const vg_fieldcond *fc = &rule->searches[s].alts[a].conds[f];
                    for (uint32_t v = 0; v < fc->n_values; v++) {
                        const vg_value *val = &fc->values[v];
                        if (val->op != VG_OP_GLOB)
                            continue;
                        for (uint32_t p = 0; p < val->n_parts; p++) {
                            const vg_part *pt = &val->parts[p];
                            if (pt->kind != VG_PART_LIT || pt->len == 0)
                                continue;
                            if (lits_add(out, pt->s, pt->len) != VIGIE_OK)
                                return VIGIE_NOMEM;
                        }
                    }
                }
    }
    return VIGIE_OK;
}

/* -L FILE: one literal per line (empty lines ignored). `text` must outlive `out`. */
static int collect_file(char *text, size_t len, lits *out)
{
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l && lits_add(out, p, l) != VIGIE_OK)
            return VIGIE_NOMEM;
        p += l + 1;
    }
    return VIGIE_OK;
}

static void print_diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    (void)d; /* skipped rules are counted by vigie itself; the floor only needs the rest */
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    (void)id;
    (void)from;
    (void)to;
    (void)flags;
    (*(size_t *)ctx)++;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: floor_vectorscan RULES_PATH FILE.ndjson\n"
                    "       floor_vectorscan -L LITERALS_FILE FILE.ndjson\n");
}

int main(int argc, char **argv)
{
    int rc = 1;
    vg_ruleload *rl = NULL;
    char *litfile = NULL, *buf = NULL;
    size_t litfile_len = 0;
    lits l = {0};
    const char **pats = NULL;
    size_t *lens = NULL;
    unsigned *flags = NULL, *ids = NULL;
    hs_database_t *db = NULL;
    hs_scratch_t *scratch = NULL;
    hs_compile_error_t *cerr = NULL;
    FILE *in = NULL;
    const char *input;

    if (argc == 4 && !strcmp(argv[1], "-L")) {
        if (vg__read_file(argv[2], (size_t)64 << 20, &litfile, &litfile_len) != VIGIE_OK) {
            fprintf(stderr, "floor_vectorscan: error: cannot read %s\n", argv[2]);
            goto out;
        }
        if (collect_file(litfile, litfile_len, &l) != VIGIE_OK)
            goto nomem;
        input = argv[3];
    } else if (argc == 3 && argv[1][0] != '-') {
        vg_ruleload_opts o = {print_diag, NULL, NULL, 0};
        rl = vg__ruleload_new(&o);
        if (!rl)
            goto nomem;
        if (vg__ruleload_path(rl, argv[1]) != VIGIE_OK) {
            fprintf(stderr, "floor_vectorscan: error: cannot load rules from %s\n", argv[1]);
            goto out;
        }
        if (collect_rules(rl, &l) != VIGIE_OK)
            goto nomem;
        input = argv[2];
    } else {
        usage();
        rc = 2;
        goto out;
    }

    /* deduplicate: the database is caseless, so "StopLogging" and "stoplogging" are one */
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, lit_cmp);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (n == 0 || lit_cmp(&l.v[n - 1], &l.v[i]) != 0)
            l.v[n++] = l.v[i];
    l.n = n;
    if (n == 0) {
        fprintf(stderr, "floor_vectorscan: error: no literals\n");
        goto out;
    }
    pats = malloc(n * sizeof *pats);
    lens = malloc(n * sizeof *lens);
    flags = malloc(n * sizeof *flags);
    ids = malloc(n * sizeof *ids);
    if (!pats || !lens || !flags || !ids)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        pats[i] = l.v[i].s;
        lens[i] = l.v[i].len;
        flags[i] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
        ids[i] = (unsigned)i;
    }
    if (hs_compile_lit_multi(pats, flags, ids, lens, (unsigned)n, HS_MODE_BLOCK, NULL, &db,
                             &cerr) != HS_SUCCESS) {
        fprintf(stderr, "floor_vectorscan: error: hs_compile_lit_multi: %s\n",
                cerr ? cerr->message : "?");
        goto out;
    }
    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
        fprintf(stderr, "floor_vectorscan: error: hs_alloc_scratch failed\n");
        goto out;
    }

    in = fopen(input, "rb");
    if (!in) {
        fprintf(stderr, "floor_vectorscan: error: cannot open %s\n", input);
        goto out;
    }
    buf = malloc(CHUNK);
    if (!buf)
        goto nomem;
    size_t have = 0, bytes = 0, events = 0, matches = 0;
    double t0 = vg__now();
    for (;;) {
        size_t got = fread(buf + have, 1, CHUNK - have, in);
        bytes += got;
        have += got;
        int eof = got == 0;
        if (have == 0)
            break;
        size_t done = 0;
        for (;;) {
            char *nl = memchr(buf + done, '\n', have - done);
            if (!nl && !eof)
                break;
            size_t len = nl ? (size_t)(nl - (buf + done)) : have - done;
            if (len && hs_scan(db, buf + done, (unsigned)len, 0, scratch, on_match, &matches) !=
                           HS_SUCCESS) {
                fprintf(stderr, "floor_vectorscan: error: hs_scan failed\n");
                goto out;
            }
            events += len != 0;
            done += len + (nl != NULL);
            if (done >= have)
                break;
        }
        if (done == 0 && have == CHUNK) {
            fprintf(stderr, "floor_vectorscan: error: line longer than %zu bytes\n", CHUNK);
            goto out;
        }
        memmove(buf, buf + done, have - done);
        have -= done;
        if (eof)
            break;
    }
    double secs = vg__now() - t0;
    size_t n_short = 0;
    for (size_t i = 0; i < n; i++)
        n_short += lens[i] < 3;
    printf("events=%zu bytes=%zu seconds=%.6f literals=%zu short=%zu matches=%zu\n", events,
           bytes, secs, n, n_short, matches);
    rc = 0;
    goto out;
nomem:
    fprintf(stderr, "floor_vectorscan: error: out of memory\n");
out:
    if (in)
        fclose(in);
    free(buf);
    hs_free_compile_error(cerr);
    hs_free_scratch(scratch);
    hs_free_database(db);
    free(pats);
    free(lens);
    free(flags);
    free(ids);
    free(l.v);
    free(litfile);
    vg__ruleload_free(rl);
    return rc;
}
