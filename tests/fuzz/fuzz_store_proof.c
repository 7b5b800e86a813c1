/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_store_proof.c: libFuzzer target for the ledger's inclusion-proof reader and checker
 * (vg__ledger_verify_proof): the proof's JSON, the embedded entry (parsed and re-encoded),
 * the checkpoint, the audit path walk and the signature check, against a fixed public key.
 * The seed corpus holds proofs made with that key's private half (not kept), so mutations
 * reach past the syntax into the path and signature code. */
#include <string.h>

#include "store/ledger.h"

static const char pub[] = "-----BEGIN PUBLIC KEY-----\n"
                          "MCowBQYDK2VwAyEAX8NtXASjLzwGhsucVeuAg4sq0MjpV4RK1Ic3wEPZTo4=\n"
                          "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    vg_ledger_proof_info info;
    vg__ledger_verify_proof((const char *)data, size, pub, strlen(pub), &info, err, sizeof err);
    return 0;
}
