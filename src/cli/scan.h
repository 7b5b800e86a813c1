/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan.h: private to `vigie scan` (scan.c, scan_state.c): what the command adds to the
 * pipeline stage (src/pipeline) it runs: --state FILE.
 */
#ifndef VG_SCAN_H
#define VG_SCAN_H

#include "cli.h"
#include "pipeline/pipeline.h"

/* ---- scan_state.c: --state FILE ------------------------------------------------------- */
/* Load the saved state into the run's fresh parts (after the inputs are expanded); a missing
 * file is a first run. Returns a VG_EXIT_* code (0: go on). */
int vg__scan_state_load(scan_ctx *c);
/* Save the run's state (atomically, with a checksum); false on failure (said). */
bool vg__scan_state_save(scan_ctx *c);
#endif
