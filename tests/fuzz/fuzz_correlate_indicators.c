/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_correlate_indicators.c: libFuzzer target for indicator files (vigie YAML and STIX 2.1
 * bundles, told apart by content) and address lookups. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlate/correlate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/vigie-fuzz-ind-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    vg_indicators *x;
    if (vg__indicators_new(&x, 86400.0) == VIGIE_OK) {
        vg__indicators_load(x, path, NULL, NULL);
        vg_indicator_hit h;
        vg__indicators_match_ip(x, "195.26.87.219", 13, 1686624077.0, &h);
        vg__indicators_match_ip(x, "[2001:db8::1]:443", 17, 1686624077.0, &h);
        const char *ua = "Mozilla/5.0 a'b python-requests";
        vg__indicators_match_ua(x, ua, strlen(ua), 1686624077.0, &h);
        vg__indicators_free(x);
    }
    unlink(path);
    return 0;
}
