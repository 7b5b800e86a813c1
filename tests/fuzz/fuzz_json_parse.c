/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_json_parse.c: libFuzzer target for the JSON reader (stage json). Parses the input as
 * one record and as concatenated values; on success checks the tape's invariants (every
 * container's children lie inside it and its count matches, keys alternate with values),
 * unescapes every string and checks the result is valid UTF-8, parses every number, looks
 * every key up again, walks a few Sigma field paths (nested, arrays, Name/Value lists, JSON
 * in strings, '*') and the keyword walk. A broken invariant traps (this is a test, not the
 * library). Replayed over tests/fuzz/corpus/fuzz_json_parse/ by the normal test run.
 */
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

static int count_cb(void *ud, const vg_jval *v)
{
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (v->tok >= v->tape->n || k->next <= v->tok || k->next > v->tape->n)
        __builtin_trap();
    (*(int *)ud)++;
    return 0;
}

static void check_tape(const vg_jtape *t, vg_buf *b)
{
    for (uint32_t i = 0; i < t->n; i++) {
        const vg_jtok *k = &t->tok[i];
        if (k->next <= i || k->next > t->n)
            __builtin_trap();
        if (k->type == VG_J_ARRAY || k->type == VG_J_OBJECT) {
            uint32_t n = 0, c = i + 1;
            while (c < k->next) {
                if (k->type == VG_J_OBJECT) {
                    if (t->tok[c].type != VG_J_STRING || !t->tok[c].key)
                        __builtin_trap();
                    c++;
                    if (c >= k->next)
                        __builtin_trap();
                }
                c = t->tok[c].next;
                n++;
            }
            if (c != k->next || n != k->len)
                __builtin_trap();
            if (k->type == VG_J_OBJECT && k->len) {
                /* every key is found again (first of duplicates: at or before it) */
                size_t l;
                vg_buf kb;
                vg__buf_init(&kb, 0);
                const char *ks = vg__json_str(t, i + 1, &kb, &l);
                int64_t v = vg__json_obj_get(t, i, ks, l);
                int64_t f = vg__json_obj_find(t, i, ks, l);
                int64_t ci = vg__json_obj_get_ci(t, i, ks, l);
                if (v != (int64_t)i + 2 || f != v || ci < 0 || ci > v)
                    __builtin_trap();
                vg__buf_free(&kb);
            }
        } else if (k->type == VG_J_STRING) {
            if (k->off + (uint64_t)k->len >= t->src_len || t->src[k->off + k->len] != '"')
                __builtin_trap();
            vg__buf_reset(b);
            if (vg__json_unescape(t->src + k->off, k->len, b) != VIGIE_OK)
                __builtin_trap();
            if (b->data && !vg__utf8_valid(b->data, b->len))
                __builtin_trap();
        } else if (k->type == VG_J_NUMBER) {
            double d;
            if (vg__json_number(t->src + k->off, k->len, &d) != VIGIE_OK)
                __builtin_trap();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_jtape t;
    static vg_jscratch *s;
    static vg_buf b;
    if (!s)
        s = vg__jscratch_new();
    if (!s)
        return 0;
    vg_jerr err;
    int rc = vg__json_parse(&t, (const char *)data, size, &err);
    if (rc == VIGIE_OK) {
        if (t.n == 0 || t.tok[0].next != t.n)
            __builtin_trap();
        check_tape(&t, &b);
        static const char *paths[] = {"a",
                                      "a.b",
                                      "a.b.c",
                                      "Folders.FolderItems.InternetMessageId",
                                      "OperationProperties.MailAccessType",
                                      "x.*.y",
                                      "Event.EventData.Image",
                                      "*",
                                      "a.*"};
        int n = 0;
        vg__jscratch_reset(s);
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
            vg__json_path_each(&t, 0, paths[i], strlen(paths[i]), s, count_cb, &n);
        /* twice: the second pass runs on cached embedded parses */
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
            vg__json_path_each(&t, 0, paths[i], strlen(paths[i]), s, count_cb, &n);
        vg__json_scalars_each(&t, 0, count_cb, &n);
    } else if (err.offset > size || err.rc != rc) {
        __builtin_trap();
    }
    size_t off = 0, consumed = 0;
    for (int k = 0; k < 8 && off < size; k++) {
        if (vg__json_parse_prefix(&t, (const char *)data + off, size - off, &consumed, NULL) !=
            VIGIE_OK)
            break;
        if (consumed == 0 || consumed > size - off)
            __builtin_trap();
        check_tape(&t, &b);
        off += consumed;
    }
    return 0;
}
