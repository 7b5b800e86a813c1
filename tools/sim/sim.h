/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim.h: `vigie-sim`, vigie's test tooling, not part of the product: `simulate` writes a
 * deterministic multi-organization scenario with a hidden campaign and its ground truth
 * (simulate.c), `evaluate` scores a scan's alerts against that truth (evaluate.c). The
 * tests, the golden file-mode comparison and `make demo` use it.
 *
 * Where it lives: built in the build tree only, as build/vigie-sim beside build/vigie; never
 * installed (`make install` / `cmake --install` installs the product, not this). It links the
 * internal stage libraries it needs, named in tools/sim/CMakeLists.txt (util, json, OpenSSL's
 * libcrypto); nothing in src/ includes or links anything of tools/ (tests/cli/test_layering.sh).
 *
 * Exit codes, the same as the `vigie` command's (src/cli/cli.h): 0 done (evaluate: precision
 * and recall both 1); 1 evaluate: an organization was missed or falsely flagged; 2 usage
 * error; 4 an input could not be read or the output could not be written.
 */
#ifndef VG_SIM_H
#define VG_SIM_H

#include "json/json.h"
#include "util/util.h"

enum { VG_SIM_EXIT_OK = 0, VG_SIM_EXIT_ALERTS = 1, VG_SIM_EXIT_USAGE = 2, VG_SIM_EXIT_INPUT = 4 };

/* The subcommands: argv[0] is the subcommand's name; each returns an exit code. */
int vg__sim_simulate(int argc, char **argv);
int vg__sim_evaluate(int argc, char **argv);

#endif
