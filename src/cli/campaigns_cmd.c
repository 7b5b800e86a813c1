/* SPDX-License-Identifier: Apache-2.0 */
/*
 * campaigns_cmd.c: `vigie campaigns --db FILE [-o OUT] [--asn-db FILE]`: rebuild campaigns
 * from the alerts kept in a store (every run's combined and token alerts), write them as JSON
 * lines and replace the store's campaigns with them. The linking is the one `vigie scan
 * --campaigns` applies (src/correlate/campaign.c), so alerts of several runs, or of several
 * sites' scans loaded into one store, form one campaign. OUT is written whole at the end
 * through vg__safefile_write (a temporary renamed over it; a device or FIFO as it is).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "correlate/correlate.h"
#include "store/store.h"

static int feed(void *ud, const char *json, size_t len)
{
    vg__campaigns_add_alert(ud, json, len);
    return 0;
}

int vg__cmd_campaigns(int argc, char **argv)
{
    const char *db = NULL, *out = NULL, *asn = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--asn-db") && i + 1 < argc)
            asn = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: vigie campaigns --db FILE [-o OUT] [--asn-db FILE]\n"
                 "Rebuilds campaigns from the store's alerts, writes them as JSON lines (stdout\n"
                 "or OUT) and replaces the store's campaigns.");
            return VG_EXIT_OK;
        } else {
            fprintf(stderr, "vigie: error: campaigns: unexpected argument '%s' (see --help)\n",
                    argv[i]);
            return VG_EXIT_USAGE;
        }
    }
    if (!db) {
        fprintf(stderr, "vigie: error: campaigns: --db FILE is required\n");
        return VG_EXIT_USAGE;
    }
    char err[512] = "";
    vg_store *st = NULL;
    vg_campaigns *c = NULL;
    int ex = VG_EXIT_OK;
    if (vg__store_open(db, &st, err, sizeof err) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: %s: %s\n", db, err);
        return VG_EXIT_INPUT;
    }
    if (vg__campaigns_new(asn, vg__cli_diag, NULL, &c) != VIGIE_OK) {
        vg__store_close(st);
        return VG_EXIT_INPUT;
    }
    vg_buf lines;
    vg__buf_init(&lines, 0);
    vg_campaign_stats cs;
    if (vg__store_each_alert(st, "combined", feed, c) != VIGIE_OK ||
        vg__store_each_alert(st, "token", feed, c) != VIGIE_OK ||
        vg__campaigns_finish(c, &lines, &cs) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: %s: cannot read the alerts\n", db);
        ex = VG_EXIT_INPUT;
        goto done;
    }
    for (const char *p = lines.data, *end = lines.data + lines.len; p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l && vg__store_add_campaign(st, p, l) != VIGIE_OK) {
            vg__print_escaped(stderr, "vigie: error: %s: cannot store a campaign\n", db);
            ex = VG_EXIT_INPUT;
        }
        p = nl ? nl + 1 : NULL;
    }
    if (vg__safefile_write(out ? out : "-", lines.data, lines.len) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: cannot write %s: %s\n", out ? out : "stdout",
                          strerror(errno));
        ex = VG_EXIT_INPUT;
    }
    if (!vg__cli_quiet)
        fprintf(stderr, "vigie: %llu campaign(s) from %llu high session(s), the largest across %u "
                        "organization(s)\n",
                (unsigned long long)cs.campaigns, (unsigned long long)cs.nodes, cs.max_orgs);
done:
    vg__buf_free(&lines);
    vg__campaigns_free(c);
    if (vg__store_flush(st) != VIGIE_OK && ex == VG_EXIT_OK)
        ex = VG_EXIT_INPUT;
    vg__store_close(st);
    return ex;
}
