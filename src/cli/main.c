/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c: entry point of the `vigie` command: a table of subcommands, help and version.
 * Each subcommand parses its own options and returns an exit code (cli.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int vg__cli_quiet;
static pthread_mutex_t diag_mu = PTHREAD_MUTEX_INITIALIZER;

void vg__cli_diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    if (vg__cli_quiet && d->level != VIGIE_DIAG_ERROR)
        return;
    pthread_mutex_lock(&diag_mu);
    vg__diag_print(stderr, d);
    pthread_mutex_unlock(&diag_mu);
}

int vg__cli_exe_dir(char *out, size_t cap)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return VIGIE_NOTFOUND;
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return VIGIE_NOTFOUND;
    *slash = 0;
    if (strlen(buf) + 1 > cap)
        return VIGIE_TOOBIG;
    strcpy(out, buf);
    return VIGIE_OK;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int vg__cli_default_rules(char *out, size_t cap)
{
    const char *env = getenv("VIGIE_RULES");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return VIGIE_OK;
    }
    char dir[PATH_MAX];
    if (vg__cli_exe_dir(dir, sizeof dir) == VIGIE_OK) {
        const char *rel[] = {"/rules", "/../share/vigie/rules"};
        for (size_t i = 0; i < VG_ARRAY_LEN(rel); i++) {
            snprintf(out, cap, "%s%s", dir, rel[i]);
            if (is_dir(out))
                return VIGIE_OK;
        }
    }
#ifdef VIGIE_SOURCE_DIR
    snprintf(out, cap, "%s/rules", VIGIE_SOURCE_DIR);
    if (is_dir(out))
        return VIGIE_OK;
#endif
    return VIGIE_NOTFOUND;
}

static void usage(FILE *f)
{
    fputs("usage: vigie <command> [options]\n"
          "\n"
          "commands:\n"
          "  scan [-r RULES]... [options] INPUT...   run Sigma rules over logs, write alerts\n"
          "  rules check [--json] PATH...            load rules and report each loaded/skipped\n"
          "  state finish --state FILE [scan options]\n"
          "                                          close a saved state: its open sessions, gaps\n"
          "                                          and campaigns (vigie scan --state FILE --finish)\n"
          "  export --db FILE --stix OUT             write a store's campaigns as a STIX 2.1 bundle\n"
          "  report --db FILE -o OUT [--top N] [--title T]\n"
          "                                          one self-contained HTML report of a store\n"
          "  campaigns --db FILE [-o OUT]            rebuild campaigns from a store's alerts\n"
          "  keygen -o PREFIX                        Ed25519 key pair for signed ledger checkpoints\n"
          "  verify --ledger DIR (--key PUB | --trust-ledger-key | --unsigned)\n"
          "         [--checkpoint FILE] [--inputs FILE...]\n"
          "                                          prove a ledger (and its raw records) unaltered\n"
          "  ledger recover --ledger DIR [--key PREFIX]\n"
          "                                          recover a ledger after a crash (torn line,\n"
          "                                          unsigned tail) and say what was dropped\n"
          "  prove [--ledger DIR] ALERT_ID [-o FILE] an inclusion proof of one alert\n"
          "  verify --proof FILE --key PUB           check a proof with only the public key\n"
          "  version                                 print the version\n"
          "  help                                    this text\n"
          "\n"
          "`vigie scan --help` lists the scan options.\n"
          "\n"
          "exit codes: 0 completed; 1 alerts found with --fail-on-alert; 2 usage error;\n"
          "            3 no usable rule; 4 an input or the output could not be read/written\n",
          f);
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("vigie %s\n", VIGIE_VERSION);
    return VG_EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return VG_EXIT_OK;
}

/* `vigie state finish --state FILE [scan options]`: the scan of no input that closes a saved
 * state (the same as `vigie scan --state FILE --finish` with no input). */
static int cmd_state(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "finish") != 0) {
        fprintf(stderr, "usage: vigie state finish --state FILE [scan options]\n");
        return VG_EXIT_USAGE;
    }
    char **av = calloc((size_t)argc + 2, sizeof *av);
    if (!av)
        return VG_EXIT_INPUT;
    av[0] = "scan";
    for (int i = 2; i < argc; i++)
        av[i - 1] = argv[i];
    av[argc - 1] = "--finish";
    int rc = vg__cmd_scan(argc, av);
    free(av);
    return rc;
}

/* simulate and evaluate were subcommands; they are test tooling now (tools/sim) */
static int cmd_moved(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vigie: error: '%s' is not a vigie command any more: it is test tooling, "
                    "run `vigie-sim %s` (built beside vigie in the build tree, not installed)\n",
            argv[0], argv[0]);
    return VG_EXIT_USAGE;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {
    {"scan", vg__cmd_scan},
    {"rules", vg__cmd_rules},
    {"state", cmd_state},
    {"simulate", cmd_moved},
    {"evaluate", cmd_moved},
    {"keygen", vg__cmd_keygen},
    {"verify", vg__cmd_verify},
    {"prove", vg__cmd_prove},
    {"ledger", vg__cmd_ledger},
    {"export", vg__cmd_export},
    {"report", vg__cmd_report},
    {"campaigns", vg__cmd_campaigns},
    {"version", cmd_version},
    {"--version", cmd_version},
    {"help", cmd_help},
    {"--help", cmd_help},
    {"-h", cmd_help},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VG_EXIT_USAGE;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vigie: error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return VG_EXIT_USAGE;
}
