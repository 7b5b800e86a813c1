/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_json_parse.c: libFuzzer target for the JSON reader: parse, walk every token, unescape
 * every string, look up a few Sigma field paths (nested, arrays, JSON in strings). */
#include <string.h>

#include "json/json.h"

static int count_cb(void *ud, const vg_jval *v)
{
    (void)v;
    (*(int *)ud)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_jtape t;
    static vg_jscratch *s;
    static vg_buf b;
    if (!s)
        s = vg__jscratch_new();
    if (vg__json_parse(&t, (const char *)data, size, NULL) == VIGIE_OK) {
        for (uint32_t i = 0; i < t.n; i++) {
            if (t.tok[i].type == VG_J_STRING) {
                size_t l;
                vg__json_str(&t, i, &b, &l);
            } else if (t.tok[i].type == VG_J_NUMBER) {
                double d;
                vg__json_number(t.src + t.tok[i].off, t.tok[i].len, &d);
            }
        }
        static const char *paths[] = {"a", "a.b", "Folders.FolderItems.InternetMessageId",
                                      "OperationProperties.MailAccessType", "x.*.y", "Event.EventData.Image"};
        int n = 0;
        vg__jscratch_reset(s);
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
            vg__json_path_each(&t, 0, paths[i], strlen(paths[i]), s, count_cb, &n);
        vg__json_scalars_each(&t, 0, count_cb, &n);
    }
    size_t consumed;
    vg__json_parse_prefix(&t, (const char *)data, size, &consumed, NULL);
    return 0;
}
