/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vigie-match.c: Sigma rules over NDJSON on stdin with libvigie, one JSON line per match.
 *
 *   cc -o vigie-match vigie-match.c $(pkg-config --cflags --libs vigie)
 *   vigie-match [--pack] [RULES]... < records.ndjson
 *
 * RULES are Sigma rule files or directories; --pack adds vigie's own rule pack (found as
 * vigie_pack_dir says: $VIGIE_RULES, beside the library, the install prefix). Rules that do
 * not load are reported on stderr with file:line:col; the others are used. Each match is one
 * line on stdout:
 *   {"rule":{"id":..,"title":..,"level":..},"kind":"sigma","tenant":..,"source":{"file":"-",
 *    "line":N,"index":N,"offset":N},"shape":..}
 * the head of the alert line `vigie scan` writes (kind "new_term_candidate" for a first-seen
 * rule: deciding whether the term is new needs the state, not in the API yet). When the typed vigie_alert lands, print_match
 * becomes: build the alert from the match, vigie_alert_render it in the wanted format, write
 * it. Exit status: 0, 1 when a record was bad, 2 on usage or when no rule is usable.
 *
 * The engine is built once and could be shared by any number of threads, each with its own
 * scanner; this program is single-threaded for brevity.
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <vigie/vigie.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* s as the body of a JSON string (n bytes; control characters and quotes escaped) */
static void json_str(FILE *f, const char *s, size_t n)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, s, s ? strlen(s) : 0);
}

typedef struct out {
    const vigie_engine *e;
    FILE *f;
} out_t;

static int print_match(void *ud, const vigie_match *m)
{
    const out_t *o = ud;
    FILE *out = o->f;
    const vigie_record *r = m->record;
    vigie_rule_info rule;
    if (vigie_engine_rule(o->e, m->rule, &rule) != VIGIE_OK)
        return 0;
    /* a first-seen rule's match is only a candidate: the state (not yet in the API) decides */
    const char *kind = m->result == VIGIE_MATCH_UNDETERMINED ? "undetermined"
                       : rule.new_terms                      ? "new_term_candidate"
                                                             : "sigma";
    fputs("{\"rule\":{\"id\":", out);
    json_cstr(out, m->rule_id);
    fputs(",\"title\":", out);
    json_cstr(out, m->title);
    fputs(",\"level\":", out);
    json_cstr(out, m->level);
    fprintf(out, "},\"kind\":\"%s\",\"tenant\":", kind);
    json_str(out, r->tenant, r->tenant_len);
    fputs(",\"source\":{\"file\":", out);
    json_cstr(out, r->src->name);
    fprintf(out, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu},\"shape\":",
            (unsigned long long)r->src->line, (unsigned long long)r->src->index,
            (unsigned long long)r->src->offset);
    json_cstr(out, r->shape);
    fputs("}\n", out);
    return 0;
}

int main(int argc, char **argv)
{
    int ex = 2;
    vigie_engine *e = NULL;
    vigie_scanner *s = NULL;
    char *line = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: vigie-match [--pack] RULES... < records.ndjson\n");
        return 2;
    }
    /* 1. the engine: rules in, compiled once; every diagnostic to stderr */
    if (vigie_engine_new(vigie_diag_print, NULL, &e) != VIGIE_OK)
        goto out;
    for (int i = 1; i < argc; i++) {
        int rc = !strcmp(argv[i], "--pack") ? vigie_engine_add_pack(e, NULL)
                                            : vigie_engine_add_rules(e, argv[i]);
        if (rc != VIGIE_OK)
            goto out; /* unreadable: already said through the diag callback */
    }
    vigie_engine_stats st;
    if (vigie_engine_compile(e) != VIGIE_OK || vigie_engine_stats_get(e, &st) != VIGIE_OK)
        goto out;
    if (st.detections == 0) {
        fprintf(stderr, "vigie-match: no usable rule\n");
        goto out;
    }
    /* 2. a scanner (one per thread), fed one record per line */
    if (vigie_scanner_new(e, vigie_diag_print, NULL, &s) != VIGIE_OK)
        goto out;
    ex = 0;
    size_t cap = 0;
    ssize_t len;
    vigie_source src = {"-", 0, 0, 0};
    out_t o = {e, stdout};
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        src.line++;
        size_t n = (size_t)len;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n && vigie_scanner_scan(s, line, n, &src, print_match, &o) != VIGIE_OK)
            ex = 1; /* a bad record: reported, skipped */
        if (n)
            src.index++;
        src.offset += (uint64_t)len;
    }
    vigie_scan_stats ss;
    vigie_scanner_stats(s, &ss);
    fprintf(stderr, "vigie-match: %u rules, %llu records, %llu bad, %llu matches\n",
            st.detections, (unsigned long long)ss.records, (unsigned long long)ss.bad_records,
            (unsigned long long)ss.matches);
out:
    free(line);
    /* 3. scanners first, then the engine */
    vigie_scanner_free(s);
    vigie_engine_free(e);
    return ex;
}
