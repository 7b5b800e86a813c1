/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_main.c: entry point of `vigie-sim` (sim.h): a table of its two subcommands and help.
 * Each subcommand parses its own options; their output is what `vigie simulate` and `vigie
 * evaluate` wrote before they moved here, byte for byte.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "sim.h"

static void usage(FILE *f)
{
    fputs("usage: vigie-sim <command> [options]   (vigie's test tooling; not installed)\n"
          "\n"
          "commands:\n"
          "  simulate [--orgs N] [--days D] [--victims K] [--seed S] -o DIR\n"
          "                                          write a multi-organization scenario with a\n"
          "                                          hidden forged-token mail campaign\n"
          "  evaluate TRUTH.json ALERTS.jsonl        score a scan of a simulated scenario\n"
          "  help                                    this text\n",
          f);
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return VG_SIM_EXIT_OK;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {
    {"simulate", vg__sim_simulate},
    {"evaluate", vg__sim_evaluate},
    {"help", cmd_help},
    {"--help", cmd_help},
    {"-h", cmd_help},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VG_SIM_EXIT_USAGE;
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "vigie-sim: error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return VG_SIM_EXIT_USAGE;
}
