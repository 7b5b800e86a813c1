/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_rule_load.c: libFuzzer target for the Sigma rule loader (YAML, modifiers, conditions,
 * correlation and filter documents). */
#include "rule/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *vals[] = {"a", "b"};
    static const vg_placeholder ph[] = {{"name", vals, 2}};
    vg_ruleload_opts o = {NULL, NULL, ph, 1};
    vg_ruleload *rl = vg__ruleload_new(&o);
    if (rl) {
        vg__ruleload_string(rl, "fuzz.yml", (const char *)data, size);
        vg__ruleload_free(rl);
    }
    return 0;
}
