/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_rule_cond.c: libFuzzer target for the Sigma condition parser. */
#include "rule/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"selection", "sel_a", "sel_b", "filter_x", "_hidden",
                                        "keywords", "note"};
    vg_arena *a = vg__arena_new(4096);
    if (!a)
        return 0;
    vg_cond *c;
    uint32_t col;
    char err[128];
    vg__cond_parse(a, (const char *)data, size, names, 7, &c, &col, err, sizeof err);
    vg__arena_free(a);
    return 0;
}
