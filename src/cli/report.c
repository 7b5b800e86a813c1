/* SPDX-License-Identifier: Apache-2.0 */
/*
 * report.c: `vigie report --db FILE -o OUT [--top N] [--title T]`: one self-contained HTML
 * page (report/html.h) from a vigie store. The store is opened read-only; the page is
 * written to OUT ("-": standard output) through vg__safefile_open: a temporary beside OUT
 * renamed over it when complete (a device or FIFO is written as it is), so a half page is
 * never left behind and no planted name is followed. Exit codes: 0 written; 2 usage error,
 * or FILE is not a vigie store this vigie can read (not SQLite, other tables, newer
 * schema); 4 FILE cannot be opened, or OUT cannot be written.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report/html.h"

static void usage(FILE *f)
{
    fputs("usage: vigie report --db FILE -o OUT [--top N] [--title T]\n"
          "\n"
          "Write one self-contained HTML report (no script, no network resource) of a vigie\n"
          "store: totals, campaigns, organizations, a timeline, the top N alerts with their\n"
          "raw records, visibility gaps.\n"
          "\n"
          "  --db FILE    the vigie store (SQLite), opened read-only\n"
          "  -o OUT       the HTML file to write ('-' for standard output)\n"
          "  --top N      alerts in the top list (default 25, at most 1000)\n"
          "  --title T    page title (default \"vigie report\")\n",
          f);
}

int vg__cmd_report(int argc, char **argv)
{
    const char *db_path = NULL, *out_path = NULL;
    vg_report_opts o = {NULL, 0, vg__cli_diag, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return VG_EXIT_OK;
        }
        bool takes = !strcmp(a, "--db") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
                     !strcmp(a, "--top") || !strcmp(a, "--title");
        if (!takes) {
            fprintf(stderr, "vigie: error: report: unknown option or argument '%s'\n", a);
            usage(stderr);
            return VG_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "vigie: error: report: %s needs a value\n", a);
            return VG_EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--db"))
            db_path = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out_path = v;
        else if (!strcmp(a, "--title"))
            o.title = v;
        else {
            char *end;
            long n = strtol(v, &end, 10);
            if (*v == 0 || *end != 0 || n < 1 || n > 1000) {
                fprintf(stderr, "vigie: error: report: --top takes a number from 1 to 1000\n");
                return VG_EXIT_USAGE;
            }
            o.top = (unsigned)n;
        }
    }
    if (!db_path || !out_path) {
        fprintf(stderr, "vigie: error: report: --db FILE and -o OUT are required\n");
        usage(stderr);
        return VG_EXIT_USAGE;
    }
    sqlite3 *db;
    int rc = vg__report_open(db_path, &db, vg__cli_diag, NULL);
    if (rc == VIGIE_NOENT)
        return VG_EXIT_INPUT;
    if (rc != VIGIE_OK)
        return VG_EXIT_USAGE;
    vg_safefile *sf;
    if (vg__safefile_open(out_path, &sf) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: %s: cannot write the report: %s\n", out_path,
                          strerror(errno));
        sqlite3_close(db);
        return VG_EXIT_INPUT;
    }
    rc = vg__report_html(db, vg__safefile_stream(sf), &o);
    sqlite3_close(db);
    if (rc != VIGIE_OK) {
        vg__safefile_abort(sf);
        vg__print_escaped(stderr, "vigie: error: %s: report not written: %s\n", out_path,
                          vigie_strerror(rc));
        return VG_EXIT_INPUT;
    }
    if (vg__safefile_commit(sf) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: %s: report not written: %s\n", out_path,
                          strerror(errno));
        return VG_EXIT_INPUT;
    }
    return VG_EXIT_OK;
}
