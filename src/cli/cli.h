/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h: the `vigie` command: subcommands (table-driven, as wireguard-tools' wg), shared
 * option helpers, alert output and exit codes. The command is the only place that decides
 * to exit; the library only reports.
 *
 * Exit codes (documented in README and `vigie help`):
 *   0  the run completed (with or without alerts; see --fail-on-alert)
 *   1  alerts were found and --fail-on-alert was given
 *   2  usage error (unknown option, missing argument)
 *   3  no usable rule (every rule failed to load or compile, or no rule path found)
 *   4  an input could not be read at all, or a fatal I/O error on output
 */
#ifndef VG_CLI_H
#define VG_CLI_H

#include "compile/compile.h"
#include "match/match.h"

enum { VG_EXIT_OK = 0, VG_EXIT_ALERTS = 1, VG_EXIT_USAGE = 2, VG_EXIT_RULES = 3, VG_EXIT_INPUT = 4 };

int vg__cmd_scan(int argc, char **argv);
int vg__cmd_rules(int argc, char **argv);
int vg__cmd_keygen(int argc, char **argv); /* ledger_cmd.c: evidence ledger commands */
int vg__cmd_verify(int argc, char **argv);
int vg__cmd_prove(int argc, char **argv);
int vg__cmd_ledger(int argc, char **argv); /* vigie ledger recover */
int vg__cmd_export(int argc, char **argv);
int vg__cmd_campaigns(int argc, char **argv); /* campaigns_cmd.c */
int vg__cmd_report(int argc, char **argv);

/* Directory of the running executable (for rules/ beside the binary). */
int vg__cli_exe_dir(char *out, size_t cap);
/* The default rule pack: $VIGIE_RULES, <exe>/rules, <exe>/../share/vigie/rules, then the
 * source tree's rules/. Returns VIGIE_NOTFOUND when none exists. */
int vg__cli_default_rules(char *out, size_t cap);

/* Thread-safe diagnostic printer for stderr (serialised with a mutex; quiet mode drops
 * warnings and notes). ud is ignored. */
void vg__cli_diag(void *ud, const vigie_diag *d);
extern int vg__cli_quiet;

#endif
