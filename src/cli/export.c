/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export.c: `vigie export --db FILE --stix OUT`: write the campaigns, organizations,
 * indicators, sightings and ATT&CK techniques of a vigie store (written by `vigie scan --db`)
 * as one STIX 2.1 bundle (src/report/stix.h, docs/STIX.md). OUT "-" is stdout; otherwise the
 * bundle goes to OUT.tmp first and is renamed over OUT only when complete, so a failed export
 * never leaves a half-written file. Exit 0 on success, 2 on a usage or I/O error.
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
        fprintf(stderr, "vigie: error: %s: %s\n", db, strerror(errno));
        return VG_EXIT_USAGE;
    }
    char err[512];
    vg_store *st;
    if (vg__store_open(db, &st, err, sizeof err) != VIGIE_OK) {
        fprintf(stderr, "vigie: error: %s: %s\n", db, err);
        return VG_EXIT_USAGE;
    }
    bool to_stdout = !strcmp(stix, "-");
    char *tmp = NULL;
    FILE *out = stdout;
    int ex = VG_EXIT_USAGE;
    if (!to_stdout) {
        size_t n = strlen(stix) + 5;
        if (!(tmp = malloc(n))) {
            fprintf(stderr, "vigie: error: out of memory\n");
            goto out;
        }
        snprintf(tmp, n, "%s.tmp", stix);
        if (!(out = fopen(tmp, "wb"))) {
            fprintf(stderr, "vigie: error: %s: %s\n", tmp, strerror(errno));
            goto out;
        }
    }
    vg_stix_stats s;
    int rc = vg__stix_export(st, out, &s, err, sizeof err);
    if (!to_stdout) {
        if (fclose(out) != 0 && rc == VIGIE_OK) {
            snprintf(err, sizeof err, "%s: %s", tmp, strerror(errno));
            rc = VIGIE_IO;
        }
        if (rc == VIGIE_OK && rename(tmp, stix) != 0) {
            snprintf(err, sizeof err, "%s: %s", stix, strerror(errno));
            rc = VIGIE_IO;
        }
        if (rc != VIGIE_OK)
            remove(tmp);
    }
    if (rc != VIGIE_OK) {
        fprintf(stderr, "vigie: error: export: %s\n", err);
        goto out;
    }
    if (!quiet)
        fprintf(stderr,
                "vigie: exported %u identities, %u campaigns, %u indicators, %u sightings, "
                "%u attack patterns, %u relationships to %s\n",
                s.identities, s.campaigns, s.indicators, s.sightings, s.attack_patterns,
                s.relationships, to_stdout ? "stdout" : stix);
    ex = VG_EXIT_OK;
out:
    free(tmp);
    vg__store_close(st);
    return ex;
}
