/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_json.c: the JSON reader. JSONTestSuite (every y_ file accepted, every n_ file
 * rejected, i_ files either way without a crash), tape structure, errors with offsets,
 * unescaping, numbers, and Sigma field paths.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "test.h"

static void test_json_test_suite(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/json-test-suite/test_parsing", VIGIE_SHARED_DIR);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    vg_jtape t;
    vg__jtape_init(&t);
    int y = 0, n = 0, i = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        char *buf;
        size_t len;
        if (vg__read_file(p, 1 << 26, &buf, &len) != VIGIE_OK)
            continue;
        vg_jerr err;
        int rc = vg__json_parse(&t, buf, len, &err);
        if (e->d_name[0] == 'y') {
            y++;
            CHECK_MSG(rc == VIGIE_OK, "%s rejected: %s", e->d_name, err.msg);
        } else if (e->d_name[0] == 'n') {
            n++;
            CHECK_MSG(rc != VIGIE_OK, "%s accepted", e->d_name);
        } else {
            i++;
        }
        free(buf);
    }
    closedir(d);
    printf("JSONTestSuite: %d y_, %d n_, %d i_ files\n", y, n, i);
    CHECK(y >= 95 && n >= 180);
    vg__jtape_free(&t);
}

static void test_tape(void)
{
    vg_jtape t;
    vg__jtape_init(&t);
    const char *s = "{\"a\":[1,{\"b\":\"x\\ny\"}],\"c\":null}";
    CHECK_EQ_INT(vg__json_parse(&t, s, strlen(s), NULL), VIGIE_OK);
    CHECK_EQ_INT(t.tok[0].type, VG_J_OBJECT);
    CHECK_EQ_INT(t.tok[0].len, 2);
    CHECK_EQ_INT(t.tok[0].next, t.n);
    int64_t a = vg__json_obj_get(&t, 0, "a", 1);
    CHECK(a > 0 && t.tok[a].type == VG_J_ARRAY && t.tok[a].len == 2);
    int64_t c = vg__json_obj_get(&t, 0, "c", 1);
    CHECK(c > 0 && t.tok[c].type == VG_J_NULL);
    CHECK_EQ_INT(vg__json_obj_get(&t, 0, "z", 1), -1);
    CHECK_EQ_INT(vg__json_obj_get_ci(&t, 0, "A", 1), a);
    /* the string with an escape */
    uint32_t obj = t.tok[a + 1].next;
    int64_t b = vg__json_obj_get(&t, obj, "b", 1);
    CHECK(b > 0 && t.tok[b].esc);
    vg_buf tmp;
    vg__buf_init(&tmp, 0);
    size_t l;
    const char *str = vg__json_str(&t, (uint32_t)b, &tmp, &l);
    CHECK(l == 3 && memcmp(str, "x\ny", 3) == 0);
    vg__buf_free(&tmp);
    vg__jtape_free(&t);
}

static void test_errors(void)
{
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jerr err;
    CHECK_EQ_INT(vg__json_parse(&t, "{\"a\" 1}", 7, &err), VIGIE_JSON);
    CHECK_EQ_INT(err.offset, 5);
    CHECK(strstr(err.msg, "':'") != NULL);
    CHECK_EQ_INT(vg__json_parse(&t, "{\"a\":\"\xff\"}", 9, &err), VIGIE_UTF8);
    CHECK_EQ_INT(err.offset, 6);
    CHECK_EQ_INT(vg__json_parse(&t, "{\"a\":1", 6, &err), VIGIE_TRUNCATED);
    CHECK_EQ_INT(vg__json_parse(&t, "[1,]", 4, &err), VIGIE_JSON);
    CHECK_EQ_INT(vg__json_parse(&t, "01", 2, &err), VIGIE_JSON);
    /* depth 100,000 is rejected quickly, without recursion */
    size_t n = 100000;
    char *deep = malloc(2 * n);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    double t0 = vg__now();
    CHECK_EQ_INT(vg__json_parse(&t, deep, 2 * n, &err), VIGIE_TOODEEP);
    CHECK(vg__now() - t0 < 1.0);
    free(deep);
    /* parse_prefix: concatenated values */
    size_t used;
    CHECK_EQ_INT(vg__json_parse_prefix(&t, " {\"a\":1} {\"b\":2}", 16, &used, &err), VIGIE_OK);
    CHECK_EQ_INT(used, 8);
    CHECK_EQ_INT(vg__json_parse_prefix(&t, "  \n", 3, &used, &err), VIGIE_EOF);
    vg__jtape_free(&t);
}

static void test_big_string(void)
{
    size_t n = 64u << 20;
    char *s = malloc(n + 16);
    memcpy(s, "{\"a\":\"", 6);
    memset(s + 6, 'x', n);
    memcpy(s + 6 + n, "\"}", 2);
    vg_jtape t;
    vg__jtape_init(&t);
    CHECK_EQ_INT(vg__json_parse(&t, s, n + 8, NULL), VIGIE_OK);
    CHECK_EQ_INT(t.tok[2].len, n);
    vg__jtape_free(&t);
    free(s);
}

static void test_unescape_numbers(void)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    const char *e = "a\\u00e9\\ud83d\\ude00\\udc00\\t";
    CHECK_EQ_INT(vg__json_unescape(e, strlen(e), &b), VIGIE_OK);
    CHECK_EQ_STR(b.data, "a\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\t");
    vg__buf_free(&b);
    double d;
    CHECK_EQ_INT(vg__json_number("4103", 4, &d), VIGIE_OK);
    CHECK(d == 4103);
    CHECK_EQ_INT(vg__json_number("-1.5e3", 6, &d), VIGIE_OK);
    CHECK(d == -1500);
    CHECK_EQ_INT(vg__json_number(" 12", 3, &d), VIGIE_INVAL);
    CHECK_EQ_INT(vg__json_number("0x10", 4, &d), VIGIE_INVAL);
}

typedef struct got {
    char v[8][64];
    int n;
    vg_buf tmp;
} got;

static int got_cb(void *ud, const vg_jval *v)
{
    got *g = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (g->n < 8) {
        if (k->type == VG_J_STRING) {
            size_t l;
            const char *s = vg__json_str(v->tape, v->tok, &g->tmp, &l);
            snprintf(g->v[g->n], 64, "%.*s", (int)l, s);
        } else {
            snprintf(g->v[g->n], 64, "<%d>", k->type);
        }
    }
    g->n++;
    return 0;
}

static got paths(const char *json, const char *path)
{
    static vg_jtape t;
    static vg_jscratch *s;
    if (!s)
        s = vg__jscratch_new();
    got g;
    memset(&g, 0, sizeof g);
    vg__buf_init(&g.tmp, 0);
    vg__jscratch_reset(s);
    if (vg__json_parse(&t, json, strlen(json), NULL) == VIGIE_OK)
        vg__json_path_each(&t, 0, path, strlen(path), s, got_cb, &g);
    vg__buf_free(&g.tmp);
    return g;
}

static void test_paths(void)
{
    got g = paths("{\"Image.source\":\"flat\",\"Image\":{\"source\":\"nested\"}}", "Image.source");
    CHECK(g.n == 1 && !strcmp(g.v[0], "flat"));
    g = paths("{\"a\":{\"b\":{\"c\":\"x\"}}}", "a.b.c");
    CHECK(g.n == 1 && !strcmp(g.v[0], "x"));
    g = paths("{\"Folders\":[{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{\"InternetMessageId\":\"<1>\"},"
              "{\"InternetMessageId\":\"<2>\"}]},{\"Path\":\"\\\\Sent\"}]}",
              "Folders.FolderItems.InternetMessageId");
    CHECK(g.n == 2 && !strcmp(g.v[0], "<1>") && !strcmp(g.v[1], "<2>"));
    /* Name/Value list, also inside a JSON string (Sentinel OfficeActivity) */
    g = paths("{\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"},"
              "{\"Name\":\"IsThrottled\",\"Value\":\"False\"}]}",
              "OperationProperties.MailAccessType");
    CHECK(g.n == 1 && !strcmp(g.v[0], "Bind"));
    g = paths("{\"OperationProperties\":\"[{\\\"Name\\\":\\\"IsThrottled\\\",\\\"Value\\\":\\\"True\\\"}]\"}",
              "OperationProperties.IsThrottled");
    CHECK(g.n == 1 && !strcmp(g.v[0], "True"));
    g = paths("{\"DeviceDetail\":\"{\\\"trustType\\\":\\\"Azure AD joined\\\"}\"}",
              "DeviceDetail.trusttype");
    CHECK(g.n == 1 && !strcmp(g.v[0], "Azure AD joined"));
    /* case-insensitive fallback, spaces in keys, '*' segment */
    g = paths("{\"resultType\":\"0\"}", "ResultType");
    CHECK(g.n == 1 && !strcmp(g.v[0], "0"));
    g = paths("{\"EventData\":{\"Threat Name\":\"EICAR\"}}", "EventData.ThreatName");
    CHECK(g.n == 1 && !strcmp(g.v[0], "EICAR"));
    g = paths("{\"UserData\":{\"Op_X\":{\"Operation\":\"clear\"}}}", "UserData.*.Operation");
    CHECK(g.n == 1 && !strcmp(g.v[0], "clear"));
    g = paths("{\"a\":1}", "b");
    CHECK_EQ_INT(g.n, 0);
    g = paths("{\"a\":[1,2]}", "a");
    CHECK(g.n == 1 && !strcmp(g.v[0], "<5>")); /* arrays at the end come whole */
}

int main(void)
{
    RUN(test_json_test_suite);
    RUN(test_tape);
    RUN(test_errors);
    RUN(test_big_string);
    RUN(test_unescape_numbers);
    RUN(test_paths);
    return TEST_DONE();
}
