/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h: the public engine (include/vigie/engine.h) over the internal stages.
 *
 * Stage: api (depends on util, json, rule, ingest, token, compile, match, correlate). It owns
 * vigie_engine (engine.c: the rule load, the field maps, indicators and key sets, the
 * compiled rule set, and one vigie_rule_info per rule document) and vigie_scanner
 * (scanner.c: a JSON tape, a field scratch and a vg_matcher per thread). The parts below are
 * for library code that drives the internals from an engine (the command, the pipeline to
 * come): everything they return is owned by the engine, read-only after compile, and lives
 * as long as the engine.
 */
#ifndef VG_API_H
#define VG_API_H

#include "compile/compile.h"
#include "correlate/correlate.h"
#include "detect/detect.h"
#include "token/token.h"
#include "vigie/engine.h"

const vg_ruleset *vg__engine_ruleset(const vigie_engine *e);   /* NULL before compile */
const vg_ruleload *vg__engine_ruleload(const vigie_engine *e); /* NULL if no rule was added */
const vg_fieldmap *vg__engine_fieldmap(const vigie_engine *e);
const vg_indicators *vg__engine_indicators(const vigie_engine *e); /* NULL: none added */
const vg_keysets *vg__engine_keysets(const vigie_engine *e);       /* NULL: none added */
const vg_detect *vg__engine_detect(const vigie_engine *e);         /* NULL before compile */
/* The rule-document index (vigie_engine_rule) of compiled rule i (vg__ruleset_rule). */
uint32_t vg__engine_rule_index(const vigie_engine *e, uint32_t compiled);
/* The info of rule document i, or NULL. */
const vigie_rule_info *vg__engine_rule_info(const vigie_engine *e, uint32_t i);

#endif
