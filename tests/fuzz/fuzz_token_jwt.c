/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_token_jwt.c: libFuzzer target for the JWT decoder and verdicts (no key sets: decoding,
 * header and claims parsing, algorithm and key-id handling). */
#include "token/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_keysets *ks;
    if (!ks && vg__keysets_new(&ks) != VIGIE_OK)
        return 0;
    vg_jwt_result r;
    vg__jwt_check(ks, (const char *)data, size, &r);
    return 0;
}
