/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vigie-match.c: Sigma rules over NDJSON on stdin with libvigie, one alert line per match.
 *
 *   cc -o vigie-match vigie-match.c $(pkg-config --cflags --libs vigie)
 *   vigie-match [--name NAME] [--candidates] [--pack] [RULES]... < records.ndjson
 *
 * RULES are Sigma rule files or directories; --pack adds vigie's own rule pack (found as
 * vigie_pack_dir says: $VIGIE_RULES, beside the library, the install prefix). Rules that do
 * not load are reported on stderr with file:line:col; the others are used. Each alert is one
 * line on stdout, vigie_alert_render(JSONL) of the alert the scanner built: the line `vigie
 * scan -r RULES --no-combined FILE` writes for the same record (kind sigma, or undetermined
 * when a regex limit left a rule undecided), byte for byte, when stdin is FILE and NAME is
 * FILE as scan was given it. NAME (default "-") is the alert's source.file (not part of
 * its id, which hashes the rule, the tenant and the record's bytes). First-seen rules' candidates (kind new_term) are printed only with --candidates:
 * deciding whether a term is new needs the state, not in the API yet, so every candidate is
 * printed, and scan's new_term lines are the subset it kept. Indicator and token alerts are
 * not raised (not in the scanner yet). Records are lines as `vigie scan` reads NDJSON: the
 * line without its blanks at either end (a "\r" included), a blank line no record; line
 * numbers count every line, the record index only records, the offset is that of the
 * record's first byte. Exit status: 0, 1 when a record was bad, 2 on
 * usage or when no rule is usable.
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

typedef struct out {
    FILE *f;
    char *buf; /* the rendered line, grown to the longest */
    size_t cap;
    unsigned long long alerts;
    int candidates; /* --candidates: print first-seen candidates too */
} out_t;

/* One alert line per match: the alert the scanner built, rendered as `vigie scan` renders
 * it. A first-seen candidate is skipped: only the ordered state (not in the API yet) can say
 * whether its term is new. */
static int print_match(void *ud, const vigie_match *m)
{
    out_t *o = ud;
    if (m->candidate && !o->candidates)
        return 0;
    size_t n = vigie_alert_render(m->alert, VIGIE_FORMAT_JSONL, o->buf, o->cap);
    if (n >= o->cap) {
        char *nb = realloc(o->buf, n + 1);
        if (!nb)
            return 1; /* out of memory: stop this record */
        o->buf = nb;
        o->cap = n + 1;
        n = vigie_alert_render(m->alert, VIGIE_FORMAT_JSONL, o->buf, o->cap);
    }
    if (n == 0)
        return 1;
    fwrite(o->buf, 1, n, o->f);
    o->alerts++;
    return 0;
}

int main(int argc, char **argv)
{
    int ex = 2;
    vigie_engine *e = NULL;
    vigie_scanner *s = NULL;
    char *line = NULL;
    const char *name = "-";
    int first = 1, candidates = 0;
    for (;;) {
        if (argc > first + 1 && !strcmp(argv[first], "--name")) {
            name = argv[first + 1];
            first += 2;
        } else if (argc > first && !strcmp(argv[first], "--candidates")) {
            candidates = 1;
            first++;
        } else
            break;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: vigie-match [--name NAME] [--candidates] [--pack] RULES... "
                        "< records.ndjson\n");
        return 2;
    }
    /* 1. the engine: rules in, compiled once; every diagnostic to stderr */
    if (vigie_engine_new(vigie_diag_print, NULL, &e) != VIGIE_OK)
        goto out;
    for (int i = first; i < argc; i++) {
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
    vigie_source src = {name, 0, 0, 0};
    out_t o = {stdout, NULL, 0, 0, candidates};
    uint64_t at = 0; /* byte offset of the line */
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        src.line++;
        /* the record is the line without its blanks (space, tab, CR, LF) at either end, as
         * `vigie scan` reads NDJSON; a blank line is no record */
        size_t b = 0, n = (size_t)len;
        while (n > b && strchr(" \t\r\n", line[n - 1]))
            n--;
        while (b < n && strchr(" \t\r\n", line[b]))
            b++;
        src.offset = at + b;
        if (n > b) {
            if (vigie_scanner_scan(s, line + b, n - b, &src, print_match, &o) != VIGIE_OK)
                ex = 1; /* a bad record: reported, skipped */
            src.index++;
        }
        at += (uint64_t)len;
    }
    vigie_scan_stats ss;
    vigie_scanner_stats(s, &ss);
    fprintf(stderr, "vigie-match: %u rules, %llu records, %llu bad, %llu alerts\n",
            st.detections, (unsigned long long)ss.records, (unsigned long long)ss.bad_records,
            o.alerts);
    free(o.buf);
out:
    free(line);
    /* 3. scanners first, then the engine */
    vigie_scanner_free(s);
    vigie_engine_free(e);
    return ex;
}
