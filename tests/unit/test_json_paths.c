/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_json_paths.c: Sigma field addressing over JSON tapes (vg__json_path_each) and the
 * keyword walk (vg__json_scalars_each): literal dotted keys before nesting, case-insensitive
 * fallback, arrays, Name/Value lists, JSON held in strings (cached per event, bounded in
 * depth and count), early stop, and the values' lifetime in the scratch.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "json/json.h"

/* Values found, rendered: strings unescaped, other scalars as their text, containers as
 * "<array n>" / "<object n>". */
typedef struct found {
    char v[16][64];
    const vg_jtape *tape[16];
    int n;
    int stop_at; /* return 7 on this call (1-based), 0 never */
    vg_buf tmp;
} found;

static int found_cb(void *ud, const vg_jval *v)
{
    found *f = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (f->n < 16) {
        f->tape[f->n] = v->tape;
        if (k->type == VG_J_STRING) {
            size_t l;
            const char *s = vg__json_str(v->tape, v->tok, &f->tmp, &l);
            snprintf(f->v[f->n], 64, "%.*s", (int)l, s);
        } else if (k->type == VG_J_ARRAY || k->type == VG_J_OBJECT) {
            snprintf(f->v[f->n], 64, "<%s %u>", k->type == VG_J_ARRAY ? "array" : "object", k->len);
        } else {
            snprintf(f->v[f->n], 64, "%.*s", (int)k->len, vg__json_raw(v->tape, v->tok));
        }
    }
    f->n++;
    return f->stop_at && f->n == f->stop_at ? 7 : 0;
}

static vg_jtape tape;
static vg_jscratch *scratch;

/* Parse json (as one event: scratch reset) and look up path; the values joined by '|'. */
static const char *lookup(const char *json, const char *path)
{
    static char out[1024];
    found f;
    memset(&f, 0, sizeof f);
    vg__buf_init(&f.tmp, 0);
    vg__jscratch_reset(scratch);
    out[0] = 0;
    if (vg__json_parse(&tape, json, strlen(json), NULL) != VIGIE_OK) {
        snprintf(out, sizeof out, "<bad json>");
    } else {
        vg__json_path_each(&tape, 0, path, strlen(path), scratch, found_cb, &f);
        size_t l = 0;
        for (int i = 0; i < f.n && i < 16; i++)
            l += (size_t)snprintf(out + l, sizeof out - l, "%s%s", i ? "|" : "", f.v[i]);
    }
    vg__buf_free(&f.tmp);
    return out;
}

static void test_flat_and_nested(void)
{
    /* a literal dotted key wins over nesting, wherever it sits in the object */
    CHECK_EQ_STR(lookup("{\"Image.source\":\"x\",\"Image\":{\"source\":\"y\"}}", "Image.source"),
                 "x");
    CHECK_EQ_STR(lookup("{\"Image\":{\"source\":\"y\"},\"Image.source\":\"x\"}", "Image.source"),
                 "x");
    /* the longest literal prefix wins at each level */
    CHECK_EQ_STR(lookup("{\"a\":{\"b.c\":{\"d\":1}},\"a.b\":{\"c\":{\"d\":2}}}", "a.b.c.d"), "2");
    CHECK_EQ_STR(lookup("{\"a\":{\"b.c\":{\"d\":1}}}", "a.b.c.d"), "1");
    CHECK_EQ_STR(lookup("{\"a\":{\"b\":{\"c\":\"x\"}}}", "a.b.c"), "x");
    /* a key that is only a textual prefix of a segment does not match */
    CHECK_EQ_STR(lookup("{\"Imag\":{\"e\":1},\"ImageX\":2}", "Image"), "");
    /* missing: no key, a scalar on the way, an empty path segment list */
    CHECK_EQ_STR(lookup("{\"a\":1}", "b"), "");
    CHECK_EQ_STR(lookup("{\"a\":1}", "a.b"), "");
    CHECK_EQ_STR(lookup("{\"a\":{\"b\":null}}", "a.b.c"), "");
    CHECK_EQ_STR(lookup("{\"a\":{\"b\":null}}", "a.b"), "null");
    /* containers at the end of the path are passed whole, once */
    CHECK_EQ_STR(lookup("{\"a\":[1,2,3]}", "a"), "<array 3>");
    CHECK_EQ_STR(lookup("{\"a\":{\"x\":1,\"y\":2}}", "a"), "<object 2>");
    /* escaped keys match their unescaped text */
    CHECK_EQ_STR(lookup("{\"\\u0041pp\":{\"N\\u0061me\":\"v\"}}", "App.Name"), "v");
    /* a dotted key written with escapes is still a literal dotted key */
    CHECK_EQ_STR(lookup("{\"a\\u002eb\":\"lit\",\"a\":{\"b\":\"nest\"}}", "a.b"), "lit");
}

static void test_case_fallback(void)
{
    /* exact first, even when a case-insensitive match comes earlier */
    CHECK_EQ_STR(lookup("{\"RESULTTYPE\":\"ci\",\"ResultType\":\"exact\"}", "ResultType"), "exact");
    CHECK_EQ_STR(lookup("{\"resultType\":\"0\"}", "ResultType"), "0");
    CHECK_EQ_STR(lookup("{\"properties\":{\"Status\":{\"ErrorCode\":50126}}}",
                        "Properties.status.errorCode"),
                 "50126");
    /* spaces in a key are ignored as a last resort (Windows renderings) */
    CHECK_EQ_STR(lookup("{\"EventData\":{\"Threat Name\":\"EICAR\"}}", "EventData.ThreatName"),
                 "EICAR");
    CHECK_EQ_STR(lookup("{\"Threat Name\":\"no\",\"ThreatName\":\"yes\"}", "ThreatName"), "yes");
    /* '*' takes every member */
    CHECK_EQ_STR(
        lookup("{\"UserData\":{\"Op_X\":{\"Operation\":\"clear\"}}}", "UserData.*.Operation"),
        "clear");
}

static void test_arrays(void)
{
    const char *j =
        "{\"Folders\":[{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{\"Id\":\"<1>\"},"
        "{\"Id\":\"<2>\"}]},{\"Path\":\"\\\\Sent\"},{\"FolderItems\":[{\"Id\":\"<3>\"}]}]}";
    CHECK_EQ_STR(lookup(j, "Folders.FolderItems.Id"), "<1>|<2>|<3>");
    CHECK_EQ_STR(lookup(j, "Folders.Path"), "\\Inbox|\\Sent");
    /* arrays of arrays, and a root array */
    CHECK_EQ_STR(lookup("{\"a\":[[{\"b\":1}],[{\"b\":2},{\"c\":3}]]}", "a.b"), "1|2");
    CHECK_EQ_STR(lookup("[{\"a\":1},{\"a\":2},3]", "a"), "1|2");
    /* scalars in an array on the way are skipped */
    CHECK_EQ_STR(lookup("{\"a\":[1,\"x\",null,{\"b\":\"y\"}]}", "a.b"), "y");
}

static void test_name_value(void)
{
    const char *j = "{\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"},"
                    "{\"Name\":\"IsThrottled\",\"Value\":\"False\"}]}";
    CHECK_EQ_STR(lookup(j, "OperationProperties.MailAccessType"), "Bind");
    CHECK_EQ_STR(lookup(j, "OperationProperties.IsThrottled"), "False");
    CHECK_EQ_STR(lookup(j, "OperationProperties.Missing"), "");
    /* the element's own members stay addressable */
    CHECK_EQ_STR(lookup(j, "OperationProperties.Name"), "MailAccessType|IsThrottled");
    /* lower-case member names, a Value that is an object walked further */
    CHECK_EQ_STR(lookup("{\"p\":[{\"name\":\"k\",\"value\":{\"x\":\"deep\"}}]}", "p.k.x"), "deep");
    /* Sentinel's shape: the list held in a JSON string */
    CHECK_EQ_STR(lookup("{\"OperationProperties\":\"[{\\\"Name\\\":\\\"MailAccessType\\\","
                        "\\\"Value\\\":\\\"Bind\\\"}]\"}",
                        "OperationProperties.MailAccessType"),
                 "Bind");
    /* a Name that is not a string never matches */
    CHECK_EQ_STR(lookup("{\"p\":[{\"Name\":1,\"Value\":\"v\"}]}", "p.1"), "");
}

static void test_embedded(void)
{
    CHECK_EQ_STR(lookup("{\"DeviceDetail\":\"{\\\"trustType\\\":\\\"Azure AD joined\\\"}\"}",
                        "DeviceDetail.trusttype"),
                 "Azure AD joined");
    /* leading whitespace inside the string; a string that only looks like JSON */
    CHECK_EQ_STR(lookup("{\"d\":\" {\\\"a\\\":1}\"}", "d.a"), "1");
    CHECK_EQ_STR(lookup("{\"d\":\"{not json\"}", "d.a"), "");
    CHECK_EQ_STR(lookup("{\"d\":\"plain\"}", "d.a"), "");
    /* a string at the end of the path is the string, not its parse */
    CHECK_EQ_STR(lookup("{\"d\":\"{\\\"a\\\":1}\"}", "d"), "{\"a\":1}");
    /* two levels are descended, the third is not */
    const char *j2 = "{\"a\":\"{\\\"b\\\":\\\"{\\\\\\\"c\\\\\\\":\\\\\\\"two\\\\\\\"}\\\"}\"}";
    CHECK_EQ_STR(lookup(j2, "a.b.c"), "two");
    const char *j3 =
        "{\"a\":\"{\\\"b\\\":\\\"{\\\\\\\"c\\\\\\\":\\\\\\\"{\\\\\\\\\\\\\\\"d\\\\\\\\\\\\\\\":"
        "\\\\\\\\\\\\\\\"three\\\\\\\\\\\\\\\"}\\\\\\\"}\\\"}\"}";
    CHECK_EQ_STR(lookup(j3, "a.b.c"), "{\"d\":\"three\"}");
    CHECK_EQ_STR(lookup(j3, "a.b.c.d"), "");
    /* an array inside the string is walked element-wise like any other */
    CHECK_EQ_STR(lookup("{\"d\":\"[{\\\"a\\\":1},{\\\"a\\\":2}]\"}", "d.a"), "1|2");
}

/* The embedded parse is cached per (tape, token) within an event: a second lookup into the
 * same string returns values on the same embedded tape; a reset forgets it. */
static void test_embedded_cache(void)
{
    const char *j =
        "{\"Props\":\"{\\\"a\\\":\\\"1\\\",\\\"b\\\":\\\"2\\\"}\",\"Other\":\"{\\\"a\\\":3}\"}";
    CHECK_EQ_INT(vg__json_parse(&tape, j, strlen(j), NULL), VIGIE_OK);
    vg__jscratch_reset(scratch);
    found f1, f2, f3;
    memset(&f1, 0, sizeof f1);
    memset(&f2, 0, sizeof f2);
    memset(&f3, 0, sizeof f3);
    vg__buf_init(&f1.tmp, 0);
    vg__buf_init(&f2.tmp, 0);
    vg__buf_init(&f3.tmp, 0);
    vg__json_path_each(&tape, 0, "Props.a", 7, scratch, found_cb, &f1);
    vg__json_path_each(&tape, 0, "Props.b", 7, scratch, found_cb, &f2);
    vg__json_path_each(&tape, 0, "Other.a", 7, scratch, found_cb, &f3);
    CHECK(f1.n == 1 && f2.n == 1 && f3.n == 1);
    CHECK_EQ_STR(f1.v[0], "1");
    CHECK_EQ_STR(f2.v[0], "2");
    CHECK_EQ_STR(f3.v[0], "3");
    CHECK(f1.tape[0] != &tape);
    CHECK(f1.tape[0] == f2.tape[0]); /* not reparsed */
    CHECK(f3.tape[0] != f1.tape[0]);
    /* values from the first lookup are still valid after later ones */
    CHECK(f1.tape[0]->tok[0].type == VG_J_OBJECT && f1.tape[0]->n == 5);
    vg__buf_free(&f1.tmp);
    vg__buf_free(&f2.tmp);
    vg__buf_free(&f3.tmp);
}

/* Many JSON strings in one event: entries are never evicted while the event is walked (a
 * string inside an embedded array of 100 strings each holding JSON), and the count of
 * parses per event is bounded. */
static void test_embedded_many(void)
{
    size_t cap = 1 << 20;
    char *j = malloc(cap);
    size_t l = 0;
    /* {"outer":"[\"{\\\"k\\\":0}\", ...]"}: depth 2, 100 inner strings */
    l += (size_t)snprintf(j + l, cap - l, "{\"outer\":\"[");
    for (int i = 0; i < 100; i++)
        l += (size_t)snprintf(j + l, cap - l, "%s\\\"{\\\\\\\"k\\\\\\\":%d}\\\"", i ? "," : "", i);
    l += (size_t)snprintf(j + l, cap - l, "]\"}");
    CHECK_EQ_INT(vg__json_parse(&tape, j, l, NULL), VIGIE_OK);
    vg__jscratch_reset(scratch);
    found f;
    memset(&f, 0, sizeof f);
    vg__buf_init(&f.tmp, 0);
    vg__json_path_each(&tape, 0, "outer.k", 7, scratch, found_cb, &f);
    CHECK_EQ_INT(f.n, 100);
    CHECK_EQ_STR(f.v[0], "0");
    CHECK_EQ_STR(f.v[15], "15");
    /* 3000 strings holding JSON at the top level: the walk stays bounded, never crashes,
     * and finds the values of the first ones */
    l = 0;
    l += (size_t)snprintf(j + l, cap - l, "[");
    for (int i = 0; i < 3000; i++)
        l += (size_t)snprintf(j + l, cap - l, "%s\"{\\\"k\\\":%d}\"", i ? "," : "", i);
    l += (size_t)snprintf(j + l, cap - l, "]");
    CHECK_EQ_INT(vg__json_parse(&tape, j, l, NULL), VIGIE_OK);
    vg__jscratch_reset(scratch);
    f.n = 0;
    vg__json_path_each(&tape, 0, "k", 1, scratch, found_cb, &f);
    CHECK(f.n >= 1000 && f.n <= 3000);
    CHECK_EQ_STR(f.v[0], "0");
    /* after a reset the next event gets the full budget again */
    vg__jscratch_reset(scratch);
    int n1 = f.n;
    f.n = 0;
    vg__json_path_each(&tape, 0, "k", 1, scratch, found_cb, &f);
    CHECK_EQ_INT(f.n, n1);
    vg__buf_free(&f.tmp);
    free(j);
}

static void test_stop(void)
{
    const char *j = "{\"a\":[{\"b\":1},{\"b\":2},{\"b\":3}]}";
    CHECK_EQ_INT(vg__json_parse(&tape, j, strlen(j), NULL), VIGIE_OK);
    vg__jscratch_reset(scratch);
    found f;
    memset(&f, 0, sizeof f);
    vg__buf_init(&f.tmp, 0);
    f.stop_at = 2;
    CHECK_EQ_INT(vg__json_path_each(&tape, 0, "a.b", 3, scratch, found_cb, &f), 7);
    CHECK_EQ_INT(f.n, 2);
    /* a root below the top, and out-of-range roots */
    f.n = 0;
    f.stop_at = 0;
    int64_t a = vg__json_obj_get(&tape, 0, "a", 1);
    CHECK(a > 0);
    uint32_t second = vg__json_next(&tape, vg__json_child(&tape, (uint32_t)a));
    CHECK_EQ_INT(vg__json_path_each(&tape, second, "b", 1, scratch, found_cb, &f), 0);
    CHECK(f.n == 1 && !strcmp(f.v[0], "2"));
    CHECK_EQ_INT(vg__json_path_each(&tape, tape.n, "b", 1, scratch, found_cb, &f), 0);
    CHECK_EQ_INT(vg__json_path_each(&tape, 0, "", 0, scratch, found_cb, &f), 0);
    CHECK_EQ_INT(f.n, 1);
    vg__buf_free(&f.tmp);
}

static void test_scalars(void)
{
    const char *j = "{\"a\":[1,\"x\",{\"b\":null,\"k\":{}}],\"c\":true,\"d\":\"{\\\"e\\\":5}\"}";
    CHECK_EQ_INT(vg__json_parse(&tape, j, strlen(j), NULL), VIGIE_OK);
    found f;
    memset(&f, 0, sizeof f);
    vg__buf_init(&f.tmp, 0);
    CHECK_EQ_INT(vg__json_scalars_each(&tape, 0, found_cb, &f), 0);
    /* values only, in document order; keys never; JSON in strings not descended */
    CHECK_EQ_INT(f.n, 5);
    CHECK_EQ_STR(f.v[0], "1");
    CHECK_EQ_STR(f.v[1], "x");
    CHECK_EQ_STR(f.v[2], "null");
    CHECK_EQ_STR(f.v[3], "true");
    CHECK_EQ_STR(f.v[4], "{\"e\":5}");
    /* under a sub-tree, and stopping */
    f.n = 0;
    int64_t a = vg__json_obj_get(&tape, 0, "a", 1);
    CHECK_EQ_INT(vg__json_scalars_each(&tape, (uint32_t)a, found_cb, &f), 0);
    CHECK_EQ_INT(f.n, 3);
    f.n = 0;
    f.stop_at = 2;
    CHECK_EQ_INT(vg__json_scalars_each(&tape, 0, found_cb, &f), 7);
    CHECK_EQ_INT(f.n, 2);
    /* a scalar root is its own only scalar */
    CHECK_EQ_INT(vg__json_parse(&tape, "42", 2, NULL), VIGIE_OK);
    f.n = 0;
    f.stop_at = 0;
    vg__json_scalars_each(&tape, 0, found_cb, &f);
    CHECK(f.n == 1 && !strcmp(f.v[0], "42"));
    vg__buf_free(&f.tmp);
}

int main(void)
{
    vg__jtape_init(&tape);
    scratch = vg__jscratch_new();
    RUN(test_flat_and_nested);
    RUN(test_case_fallback);
    RUN(test_arrays);
    RUN(test_name_value);
    RUN(test_embedded);
    RUN(test_embedded_cache);
    RUN(test_embedded_many);
    RUN(test_stop);
    RUN(test_scalars);
    vg__jscratch_free(scratch);
    vg__jtape_free(&tape);
    return TEST_DONE();
}
