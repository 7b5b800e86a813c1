/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules.c: `vigie rules check [--json] PATH...`: load and compile rules as a scan would and
 * report, per rule document, whether it loaded and, if not, why (file:line:col: reason).
 * A rule that loads but cannot compile (an invalid regex ...) is reported as skipped with
 * the compile stage's reason. Exit 0 when at least one rule is usable, 3 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct compile_err {
    char *file;
    char *rule_id;
    uint64_t line, col;
    char *msg;
} compile_err;

typedef struct collect {
    compile_err *e;
    uint32_t n, cap;
    bool print;
} collect;

static void collect_diag(void *ud, const vigie_diag *d)
{
    collect *c = ud;
    if (c->print)
        vg__cli_diag(NULL, d);
    if (d->level != VIGIE_DIAG_ERROR)
        return;
    if (VG_GROW(c->e, c->cap, (size_t)c->n + 1, 16))
        return;
    compile_err *e = &c->e[c->n++];
    e->file = d->file ? strdup(d->file) : NULL;
    e->rule_id = d->rule_id ? strdup(d->rule_id) : NULL;
    e->line = d->line;
    e->col = d->col;
    e->msg = strdup(d->message ? d->message : "");
}

/* Compile errors ordered by file, then by when they were reported: a rule's status finds
 * the errors of its file by binary search instead of a walk over all of them, so 100,000
 * rules with 100,000 compile errors cost n log n, not n squared. */
static const compile_err *sort_base;
static int err_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const char *fx = sort_base[x].file, *fy = sort_base[y].file;
    int c = !fx || !fy ? (fy != NULL) - (fx != NULL) : strcmp(fx, fy); /* no file: first */
    return c ? c : (x > y) - (x < y);
}

/* The first compile error (in report order) for the rule of status st, or NULL. */
static const compile_err *compile_error_of(const collect *c, const uint32_t *ord, uint32_t n,
                                           const vg_rule_status *st)
{
    if (!st->path || n == 0)
        return NULL;
    uint32_t lo = 0, hi = n;
    while (lo < hi) { /* first error whose file is >= st->path */
        uint32_t mid = lo + (hi - lo) / 2;
        const char *f = c->e[ord[mid]].file;
        if (!f || strcmp(f, st->path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n; lo++) {
        const compile_err *e = &c->e[ord[lo]];
        if (strcmp(e->file, st->path) != 0) /* errors without a file sort first */
            break;
        if (!e->rule_id || !st->id || strcmp(e->rule_id, st->id) == 0)
            return e;
    }
    return NULL;
}

static void json_str(vg_buf *b, const char *s)
{
    if (!s) {
        vg__buf_adds(b, "null");
        return;
    }
    vg__buf_addc(b, '"');
    vg__buf_add_json_str(b, s, strlen(s));
    vg__buf_addc(b, '"');
}

int vg__cmd_rules(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "usage: vigie rules check [--json] [-q] PATH...\n");
        return VG_EXIT_USAGE;
    }
    bool as_json = false;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    uint32_t n_paths = 0;
    if (!paths)
        return VG_EXIT_RULES;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = true;
        else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
            vg__cli_quiet = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vigie: error: unknown option '%s'\n", argv[i]);
            free(paths);
            return VG_EXIT_USAGE;
        } else
            paths[n_paths++] = argv[i];
    }
    char defrules[4096];
    if (n_paths == 0) {
        if (vg__cli_default_rules(defrules, sizeof defrules) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: no rule path given and no default rule pack found\n");
            free(paths);
            return VG_EXIT_RULES;
        }
        paths[n_paths++] = defrules;
    }
    collect col = {NULL, 0, 0, !as_json && !vg__cli_quiet};
    int ex = VG_EXIT_OK;
    vg_ruleload_opts lo = {collect_diag, &col, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg_fieldmap *fm = NULL;
    vg_ruleset *rs = NULL;
    double t0 = vg__now();
    for (uint32_t i = 0; rl && i < n_paths; i++) {
        int rc = vg__ruleload_path(rl, paths[i]);
        if (rc) {
            vg__print_escaped(stderr, "vigie: error: %s: %s\n", paths[i], vigie_strerror(rc));
            ex = VG_EXIT_RULES;
        }
    }
    uint32_t load_errors = col.n;
    if (rl && vg__fieldmap_load_builtin(&fm, vg__cli_diag, NULL) == VIGIE_OK) {
        vg_compile_opts co = {collect_diag, &col, fm, false, false};
        vg__ruleset_compile(rl, &co, &rs);
    }
    double secs = vg__now() - t0;
    uint32_t loaded = 0, skipped = 0, n_ord = col.n - load_errors;
    uint32_t *ord = malloc((n_ord ? n_ord : 1) * sizeof *ord);
    if (!ord) {
        fprintf(stderr, "vigie: error: %s\n", vigie_strerror(VIGIE_NOMEM));
        ex = VG_EXIT_RULES;
        n_ord = 0;
    }
    for (uint32_t k = 0; k < n_ord; k++)
        ord[k] = load_errors + k;
    sort_base = col.e;
    if (n_ord)
        qsort(ord, n_ord, sizeof *ord, err_cmp);
    uint32_t ns = rl ? vg__ruleload_status_count(rl) : 0;
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__buf_adds(&b, "[");
    for (uint32_t i = 0; i < ns; i++) {
        const vg_rule_status *st = vg__ruleload_status(rl, i);
        const char *reason = st->reason;
        uint64_t line = st->line, column = st->col;
        if (st->rc == VIGIE_OK) {
            /* dropped at compile? */
            const compile_err *e = compile_error_of(&col, ord, n_ord, st);
            if (e) {
                reason = e->msg;
                line = e->line;
                column = e->col;
            }
        }
        bool ok = reason == NULL;
        ok ? loaded++ : skipped++;
        if (as_json) {
            vg__buf_adds(&b, i ? ",\n{\"path\":" : "\n{\"path\":");
            json_str(&b, st->path);
            vg__buf_adds(&b, ",\"id\":");
            json_str(&b, st->id);
            vg__buf_adds(&b, ",\"title\":");
            json_str(&b, st->title);
            vg__buf_printf(&b, ",\"status\":\"%s\",\"reason\":", ok ? "loaded" : "skipped");
            json_str(&b, reason);
            vg__buf_printf(&b, ",\"line\":%llu,\"col\":%llu}", (unsigned long long)line,
                           (unsigned long long)column);
        } else if (!ok && vg__cli_quiet) {
            printf("skipped %s:%llu:%llu: %s\n", st->path, (unsigned long long)line,
                   (unsigned long long)column, reason);
        }
    }
    vg__buf_adds(&b, "]");
    if (as_json) {
        printf("{\"loaded\":%u,\"skipped\":%u,\"seconds\":%.6f,\"rules\":%s}\n", loaded, skipped,
               secs, b.data);
    } else {
        printf("%u rule(s) loaded, %u skipped, in %.3f s\n", loaded, skipped, secs);
    }
    if (loaded == 0 && ex == VG_EXIT_OK)
        ex = VG_EXIT_RULES;
    vg__buf_free(&b);
    free(ord);
    for (uint32_t k = 0; k < col.n; k++) {
        free(col.e[k].file);
        free(col.e[k].rule_id);
        free(col.e[k].msg);
    }
    free(col.e);
    if (rs)
        vg__ruleset_free(rs);
    if (rl)
        vg__ruleload_free(rl);
    if (fm)
        vg__fieldmap_free(fm);
    free(paths);
    return ex;
}
