/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export.c: `vigie export --db FILE --stix OUT`: write the campaigns, organizations,
 * indicators, sightings and ATT&CK techniques of a vigie store (written by `vigie scan --db`)
 * as one STIX 2.1 bundle (src/report/stix.h, docs/STIX.md). OUT is written through
 * vg__safefile_open: "-" is stdout, a device or FIFO is written as it is, otherwise a fresh
 * temporary beside OUT is renamed over it only when complete, so a failed export never
 * leaves a half-written file and no planted name is followed. Exit 0 on success, 2 on a
 * usage or I/O error.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report/stix.h"
#include "store/store.h"

static void export_usage(FILE *f)
{
    fputs("usage: vigie export --db FILE --stix OUT\n"
          "\n"
          "  --db FILE     the vigie store to read (written by `vigie scan --db FILE`)\n"
          "  --stix OUT    write a STIX 2.1 bundle to OUT (\"-\" for stdout)\n"
          "  -q, --quiet   no summary on stderr\n",
          f);
}

int vg__cmd_export(int argc, char **argv)
{
    const char *db = NULL, *stix = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            export_usage(stdout);
            return VG_EXIT_OK;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "--db") || !strcmp(a, "--stix")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vigie: error: %s needs an argument\n", a);
                return VG_EXIT_USAGE;
            }
            *(!strcmp(a, "--db") ? &db : &stix) = argv[++i];
        } else if (!strncmp(a, "--db=", 5)) {
            db = a + 5;
        } else if (!strncmp(a, "--stix=", 7)) {
            stix = a + 7;
        } else {
            fprintf(stderr, "vigie: error: export: unknown argument '%s'\n", a);
            export_usage(stderr);
            return VG_EXIT_USAGE;
        }
    }
    if (!db || !*db || !stix || !*stix) {
        fprintf(stderr, "vigie: error: export needs --db FILE and --stix OUT\n");
        export_usage(stderr);
        return VG_EXIT_USAGE;
    }
    /* Opening creates a missing store; an export of nothing is a mistake. */
    if (access(db, R_OK) != 0) {
        vg__print_escaped(stderr, "vigie: error: %s: %s\n", db, strerror(errno));
        return VG_EXIT_USAGE;
    }
    char err[512];
    vg_store *st;
    if (vg__store_open(db, &st, err, sizeof err) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: %s: %s\n", db, err);
        return VG_EXIT_USAGE;
    }
    bool to_stdout = !strcmp(stix, "-");
    vg_safefile *sf = NULL;
    int ex = VG_EXIT_USAGE;
    if (vg__safefile_open(stix, &sf) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: cannot write %s: %s\n", stix, strerror(errno));
        goto out;
    }
    vg_stix_stats s;
    int rc = vg__stix_export(st, vg__safefile_stream(sf), &s, err, sizeof err);
    if (rc != VIGIE_OK) {
        vg__safefile_abort(sf);
    } else if (vg__safefile_commit(sf) != VIGIE_OK) {
        snprintf(err, sizeof err, "cannot write %s: %s", stix, strerror(errno));
        rc = VIGIE_IO;
    }
    if (rc != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: export: %s\n", err);
        goto out;
    }
    if (!quiet)
        vg__print_escaped(
            stderr,
            "vigie: exported %u identities, %u campaigns, %u indicators, %u sightings, "
            "%u attack patterns, %u relationships to %s\n",
            s.identities, s.campaigns, s.indicators, s.sightings, s.attack_patterns,
            s.relationships, to_stdout ? "stdout" : stix);
    ex = VG_EXIT_OK;
out:
    vg__store_close(st);
    return ex;
}
