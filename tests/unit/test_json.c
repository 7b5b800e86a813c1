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

#include "test.h"
#include "json/json.h"

static void test_json_test_suite(void)
{
    char dir[4096];
    shared_path(dir, sizeof dir, "json-test-suite/test_parsing");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    vg_jtape t;
    vg__jtape_init(&t);
    int y = 0, n = 0, i = 0, i_ok = 0;
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
            y += rc == VIGIE_OK;
            CHECK_MSG(rc == VIGIE_OK, "%s rejected: %s", e->d_name, err.msg);
        } else if (e->d_name[0] == 'n') {
            n += rc != VIGIE_OK;
            CHECK_MSG(rc != VIGIE_OK, "%s accepted", e->d_name);
        } else {
            i++;
            i_ok += rc == VIGIE_OK;
            /* either way, but a rejection must say where and why */
            CHECK_MSG(rc == VIGIE_OK || (err.offset <= len && err.msg[0]), "%s", e->d_name);
        }
        free(buf);
    }
    closedir(d);
    printf("JSONTestSuite: %d y_ accepted, %d n_ rejected, %d i_ (%d accepted)\n", y, n, i, i_ok);
    CHECK(y >= 95 && n >= 188 && i >= 35);
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
    g = paths(
        "{\"Folders\":[{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{\"InternetMessageId\":\"<1>\"},"
        "{\"InternetMessageId\":\"<2>\"}]},{\"Path\":\"\\\\Sent\"}]}",
        "Folders.FolderItems.InternetMessageId");
    CHECK(g.n == 2 && !strcmp(g.v[0], "<1>") && !strcmp(g.v[1], "<2>"));
    /* Name/Value list, also inside a JSON string (Sentinel OfficeActivity) */
    g = paths("{\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"},"
              "{\"Name\":\"IsThrottled\",\"Value\":\"False\"}]}",
              "OperationProperties.MailAccessType");
    CHECK(g.n == 1 && !strcmp(g.v[0], "Bind"));
    g = paths("{\"OperationProperties\":\"[{\\\"Name\\\":\\\"IsThrottled\\\",\\\"Value\\\":"
              "\\\"True\\\"}]\"}",
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

/* Offsets, lengths, next-skips and key flags of every token of a small document. */
static void test_tape_layout(void)
{
    vg_jtape t;
    vg__jtape_init(&t);
    const char *s = "[1, \"ab\", {\"k\": [true, false]}, null, -2.5e3]";
    CHECK_EQ_INT(vg__json_parse(&t, s, strlen(s), NULL), VIGIE_OK);
    CHECK_EQ_INT(t.n, 10);
    CHECK_EQ_INT(t.tok[0].type, VG_J_ARRAY);
    CHECK_EQ_INT(t.tok[0].len, 5);
    CHECK_EQ_INT(t.tok[0].next, 10);
    CHECK_EQ_INT(t.tok[1].type, VG_J_NUMBER);
    CHECK_EQ_INT(t.tok[1].off, 1);
    CHECK_EQ_INT(t.tok[1].len, 1);
    CHECK_EQ_INT(t.tok[2].type, VG_J_STRING);
    CHECK_EQ_INT(t.tok[2].off, 5); /* after the quote */
    CHECK_EQ_INT(t.tok[2].len, 2);
    CHECK_EQ_INT(t.tok[2].key, 0);
    CHECK_EQ_INT(t.tok[3].type, VG_J_OBJECT);
    CHECK_EQ_INT(t.tok[3].off, 10);
    CHECK_EQ_INT(t.tok[3].len, 1);
    CHECK_EQ_INT(t.tok[3].next, 8);
    CHECK_EQ_INT(t.tok[4].key, 1);
    CHECK_EQ_INT(t.tok[5].type, VG_J_ARRAY);
    CHECK_EQ_INT(t.tok[5].len, 2);
    CHECK_EQ_INT(t.tok[5].next, 8);
    CHECK_EQ_INT(t.tok[6].type, VG_J_TRUE);
    CHECK_EQ_INT(t.tok[7].type, VG_J_FALSE);
    CHECK_EQ_INT(t.tok[8].type, VG_J_NULL);
    CHECK_EQ_INT(t.tok[9].type, VG_J_NUMBER);
    CHECK_EQ_INT(t.tok[9].off, 38);
    CHECK_EQ_INT(t.tok[9].len, 6);
    /* walking the root's elements through next visits exactly its 5 elements */
    int n = 0;
    for (uint32_t i = vg__json_child(&t, 0); i < t.tok[0].next; i = vg__json_next(&t, i))
        n++;
    CHECK_EQ_INT(n, 5);
    CHECK(memcmp(vg__json_raw(&t, 9), "-2.5e3", 6) == 0);
    /* the tape is reused: a smaller record neither moves nor shrinks it */
    vg_jtok *before = t.tok;
    uint32_t cap = t.cap;
    CHECK_EQ_INT(vg__json_parse(&t, "{}", 2, NULL), VIGIE_OK);
    CHECK(t.tok == before && t.cap == cap && t.n == 1 && t.tok[0].len == 0);
    /* a record with many tokens grows it; every container's next stays consistent */
    size_t big = 10000;
    char *b = malloc(big * 4 + 2);
    size_t l = 0;
    b[l++] = '[';
    for (size_t i = 0; i < big; i++)
        l += (size_t)sprintf(b + l, i ? ",[0]" : "[0]");
    b[l++] = ']';
    CHECK_EQ_INT(vg__json_parse(&t, b, l, NULL), VIGIE_OK);
    CHECK_EQ_INT(t.n, 1 + 2 * big);
    CHECK_EQ_INT(t.tok[0].len, big);
    CHECK_EQ_INT(t.tok[1].next, 3);
    free(b);
    vg__jtape_free(&t);
}

typedef struct err_case {
    const char *text;
    int rc;
    size_t offset;
    const char *msg; /* substring of err.msg */
} err_case;

static void test_error_table(void)
{
    static const err_case cases[] = {
        {"[1,]", VIGIE_JSON, 3, "expected a value"},
        {"{\"a\":1,}", VIGIE_JSON, 7, "object key"},
        {"{\"a\" 1}", VIGIE_JSON, 5, "expected ':' after object key"},
        {"[1 2]", VIGIE_JSON, 3, "expected ',' or ']'"},
        {"{\"a\":1 \"b\":2}", VIGIE_JSON, 7, "expected ',' or '}'"},
        {"[\"a\x01\"]", VIGIE_JSON, 3, "control character"},
        {"\"\\x\"", VIGIE_JSON, 1, "invalid escape"},
        {"\"\\u12G4\"", VIGIE_JSON, 1, "\\u escape"},
        {"\"\\u12\"", VIGIE_JSON, 1, "\\u escape"},
        {"tru", VIGIE_JSON, 0, "literal"},
        {"[nul]", VIGIE_JSON, 1, "literal"},
        {"truex", VIGIE_JSON, 4, "after a value"},
        {"1 2", VIGIE_JSON, 2, "after the JSON value"},
        {"\xef\xbb\xbf{}", VIGIE_JSON, 0, "expected a value"}, /* BOM: rejected */
        {"[\"\xed\xa0\x80\"]", VIGIE_UTF8, 2, "invalid UTF-8 in string"},
        {"\"\xc0\xaf\"", VIGIE_UTF8, 1, "UTF-8"},
        {"\"ab\xf4\x90\x80\x80\"", VIGIE_UTF8, 3, "UTF-8"},
        {"\"\xe2\x82\"", VIGIE_UTF8, 1, "UTF-8"},
        {"{\"a\":\"abc", VIGIE_TRUNCATED, 9, "unterminated string"},
        {"{\"a\":", VIGIE_TRUNCATED, 5, "expected a value"},
        {"[", VIGIE_TRUNCATED, 1, "expected a value"},
        {"", VIGIE_JSON, 0, "empty"},
        {" \n ", VIGIE_JSON, 3, "empty"},
        {"[01]", VIGIE_JSON, 1, "leading zero"},
        {"-012", VIGIE_JSON, 0, "leading zero"},
        {"\"\\u12", VIGIE_TRUNCATED, 1, "truncated \\u escape"},
        {"-", VIGIE_JSON, 0, "invalid number"},
        {"+1", VIGIE_JSON, 0, "expected a value"},
        {".5", VIGIE_JSON, 0, "expected a value"},
        {"1.", VIGIE_JSON, 0, "invalid number"},
        {"1e+", VIGIE_JSON, 0, "invalid number"},
        {"[1.5.3]", VIGIE_JSON, 4, "after a value"},
        {"{1:2}", VIGIE_JSON, 1, "expected a string as object key"},
        {"['a']", VIGIE_JSON, 1, "expected a value"},
        {"[NaN]", VIGIE_JSON, 1, "expected a value"},
    };
    vg_jtape t;
    vg__jtape_init(&t);
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        const err_case *c = &cases[i];
        vg_jerr err;
        memset(&err, 0, sizeof err);
        int rc = vg__json_parse(&t, c->text, strlen(c->text), &err);
        CHECK_MSG(rc == c->rc, "case %zu %s: rc %d, want %d", i, c->text, rc, c->rc);
        CHECK_MSG(err.rc == rc, "case %zu: err.rc %d", i, err.rc);
        CHECK_MSG(err.offset == c->offset, "case %zu %s: offset %zu, want %zu", i, c->text,
                  err.offset, c->offset);
        CHECK_MSG(strstr(err.msg, c->msg) != NULL, "case %zu %s: msg '%s', want '%s'", i, c->text,
                  err.msg, c->msg);
        CHECK_EQ_INT(t.n, 0); /* a failed parse leaves no tape behind */
    }
    /* valid edge cases of the grammar */
    static const char *ok[] = {"-0",
                               "0",
                               "0.5e-3",
                               "1E+2",
                               "-1.0e0",
                               "[]",
                               "{}",
                               " [ ] ",
                               "\"\\ud800\"",
                               "\"\\udc00\\ud800\"",
                               "\"\\/\\b\\f\\n\\r\\t\"",
                               "\"\xf4\x8f\xbf\xbf\"",
                               "\"\xe2\x82\xac\"",
                               "{\"\":\"\"}",
                               "[[[]],{}]",
                               "\t\r\n1\t\r\n"};
    for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++)
        CHECK_MSG(vg__json_parse(&t, ok[i], strlen(ok[i]), NULL) == VIGIE_OK, "%s rejected", ok[i]);
    vg__jtape_free(&t);
}

static void test_depth_limit(void)
{
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jerr err;
    char buf[2 * (VG_MAX_JSON_DEPTH + 1)];
    memset(buf, '[', VG_MAX_JSON_DEPTH);
    memset(buf + VG_MAX_JSON_DEPTH, ']', VG_MAX_JSON_DEPTH);
    CHECK_EQ_INT(vg__json_parse(&t, buf, 2 * VG_MAX_JSON_DEPTH, &err), VIGIE_OK);
    CHECK_EQ_INT(t.n, VG_MAX_JSON_DEPTH);
    memset(buf, '[', VG_MAX_JSON_DEPTH + 1);
    memset(buf + VG_MAX_JSON_DEPTH + 1, ']', VG_MAX_JSON_DEPTH + 1);
    CHECK_EQ_INT(vg__json_parse(&t, buf, 2 * (VG_MAX_JSON_DEPTH + 1), &err), VIGIE_TOODEEP);
    CHECK_EQ_INT(err.offset, VG_MAX_JSON_DEPTH);
    /* objects count too */
    size_t n = 100000;
    char *deep = malloc(5 * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(deep + 5 * i, "{\"a\":", 5);
    double t0 = vg__now();
    CHECK_EQ_INT(vg__json_parse(&t, deep, 5 * n, &err), VIGIE_TOODEEP);
    CHECK_EQ_INT(err.offset, 5 * VG_MAX_JSON_DEPTH);
    CHECK(vg__now() - t0 < 1.0);
    free(deep);
    vg__jtape_free(&t);
}

static void test_keys(void)
{
    vg_jtape t;
    vg__jtape_init(&t);
    /* escaped keys are compared after unescaping, without allocation */
    const char *s = "{\"a\\u0062c\":1,\"ABC\":2,\"abc\":3,\"d\\u00e9j\\u00e0\":4,\"x\":5,\"x\":6}";
    CHECK_EQ_INT(vg__json_parse(&t, s, strlen(s), NULL), VIGIE_OK);
    int64_t v = vg__json_obj_get(&t, 0, "abc", 3);
    CHECK(v > 0 && memcmp(vg__json_raw(&t, (uint32_t)v), "1", 1) == 0);
    v = vg__json_obj_get(&t, 0, "ABC", 3);
    CHECK(v > 0 && memcmp(vg__json_raw(&t, (uint32_t)v), "2", 1) == 0);
    v = vg__json_obj_get_ci(&t, 0, "Abc", 3);
    CHECK(v > 0 && memcmp(vg__json_raw(&t, (uint32_t)v), "1", 1) == 0);
    /* obj_find: exact anywhere beats an earlier case-insensitive match */
    v = vg__json_obj_find(&t, 0, "ABC", 3);
    CHECK(v > 0 && memcmp(vg__json_raw(&t, (uint32_t)v), "2", 1) == 0);
    v = vg__json_obj_find(&t, 0, "aBc", 3);
    CHECK(v > 0 && memcmp(vg__json_raw(&t, (uint32_t)v), "1", 1) == 0);
    v = vg__json_obj_get(&t, 0, "d\xc3\xa9j\xc3\xa0", 6);
    CHECK(v > 0 && memcmp(vg__json_raw(&t, (uint32_t)v), "4", 1) == 0);
    CHECK_EQ_INT(vg__json_obj_get(&t, 0, "d\xc3\xa9j", 4), -1);
    CHECK_EQ_INT(vg__json_obj_get(&t, 0, "ab", 2), -1);
    CHECK_EQ_INT(vg__json_obj_get(&t, 0, "abcd", 4), -1);
    /* duplicate keys: the first wins */
    v = vg__json_obj_get(&t, 0, "x", 1);
    CHECK(v > 0 && memcmp(vg__json_raw(&t, (uint32_t)v), "5", 1) == 0);
    /* not an object */
    CHECK_EQ_INT(vg__json_obj_get(&t, (uint32_t)v, "x", 1), -1);
    CHECK_EQ_INT(vg__json_obj_find(&t, (uint32_t)v, "x", 1), -1);
    vg__jtape_free(&t);
}

static void test_unescape_surrogates(void)
{
    static const struct {
        const char *raw, *want;
    } cases[] = {
        {"\\ud800x", "\xef\xbf\xbdx"},                  /* lone high */
        {"\\udc00\\ud800", "\xef\xbf\xbd\xef\xbf\xbd"}, /* low then high */
        {"\\ud800\\u0041", "\xef\xbf\xbd"
                           "A"},                /* high then non-surrogate */
        {"\\uD834\\uDD1E", "\xf0\x9d\x84\x9e"}, /* U+1D11E, upper-case hex */
        {"\\u0000", ""},                        /* NUL is kept (length 1) */
        {"\\u007f\\u0080\\u07ff\\u0800\\uffff", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"},
        {"\\\"\\\\\\/\\b\\f\\n\\r\\t", "\"\\/\b\f\n\r\t"},
        {"plain", "plain"},
    };
    vg_buf b;
    vg__buf_init(&b, 0);
    for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
        vg__buf_reset(&b);
        CHECK_EQ_INT(vg__json_unescape(cases[i].raw, strlen(cases[i].raw), &b), VIGIE_OK);
        CHECK_EQ_STR(b.data, cases[i].want);
    }
    vg__buf_reset(&b);
    CHECK_EQ_INT(vg__json_unescape("\\u0000", 6, &b), VIGIE_OK);
    CHECK_EQ_INT(b.len, 1);
    /* appends */
    vg__buf_reset(&b);
    vg__buf_adds(&b, "x");
    CHECK_EQ_INT(vg__json_unescape("\\n", 2, &b), VIGIE_OK);
    CHECK_EQ_STR(b.data, "x\n");
    vg__buf_free(&b);
    /* vg__json_str on a parsed lone surrogate */
    vg_jtape t;
    vg__jtape_init(&t);
    CHECK_EQ_INT(vg__json_parse(&t, "[\"a\\ud83d\"]", 11, NULL), VIGIE_OK);
    vg_buf tmp;
    vg__buf_init(&tmp, 0);
    size_t l;
    const char *s = vg__json_str(&t, 1, &tmp, &l);
    CHECK(l == 4 && memcmp(s, "a\xef\xbf\xbd", 4) == 0);
    /* no escapes: the raw bytes, no copy */
    CHECK_EQ_INT(vg__json_parse(&t, "[\"abc\"]", 7, NULL), VIGIE_OK);
    s = vg__json_str(&t, 1, &tmp, &l);
    CHECK(s == t.src + 2 && l == 3);
    vg__buf_free(&tmp);
    vg__jtape_free(&t);
}

static void test_numbers(void)
{
    static const struct {
        const char *text;
        double want;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"4103", 4103},
        {"-17", -17},
        {"1.5", 1.5},
        {"1e3", 1000},
        {"1E+2", 100},
        {"25e-1", 2.5},
        {"123456789012345", 123456789012345.0},
        {"9007199254740993", 9007199254740992.0},
        {"0.000001", 1e-6},
    };
    for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
        double d = -1;
        CHECK_MSG(vg__json_number(ok[i].text, strlen(ok[i].text), &d) == VIGIE_OK, "%s",
                  ok[i].text);
        CHECK_MSG(d == ok[i].want, "%s -> %g", ok[i].text, d);
    }
    static const char *bad[] = {"",   " 12",  "12 ", "+1",       ".5",  "1.",  "01",  "-",
                                "1e", "0x10", "1,5", "Infinity", "NaN", "--1", "1e+", "\"1\""};
    for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
        double d;
        CHECK_MSG(vg__json_number(bad[i], strlen(bad[i]), &d) == VIGIE_INVAL, "'%s'", bad[i]);
    }
    /* a 600-digit number is valid JSON (the grammar has no length limit) */
    char big[602];
    big[0] = '1';
    memset(big + 1, '0', 600);
    big[601] = 0;
    double d = 0;
    CHECK_EQ_INT(vg__json_number(big, 601, &d), VIGIE_OK);
    CHECK(d > 1e300);
    /* works on a string's content: "4103" taken from a parsed record */
    vg_jtape t;
    vg__jtape_init(&t);
    CHECK_EQ_INT(vg__json_parse(&t, "{\"EventID\":\"4103\"}", 18, NULL), VIGIE_OK);
    CHECK_EQ_INT(vg__json_number(vg__json_raw(&t, 2), t.tok[2].len, &d), VIGIE_OK);
    CHECK(d == 4103);
    vg__jtape_free(&t);
}

static void test_prefix(void)
{
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jerr err;
    const char *s = "[1] {\"a\":2}\n\"x\"7 ";
    size_t off = 0, used = 0;
    int n = 0;
    int rc;
    while ((rc = vg__json_parse_prefix(&t, s + off, strlen(s) - off, &used, &err)) == VIGIE_OK) {
        n++;
        off += used;
    }
    CHECK_EQ_INT(rc, VIGIE_EOF);
    CHECK_EQ_INT(n, 4);
    /* the value ends where its text ends; trailing whitespace is left */
    CHECK_EQ_INT(vg__json_parse_prefix(&t, " 12 ", 4, &used, &err), VIGIE_OK);
    CHECK_EQ_INT(used, 3);
    CHECK_EQ_INT(t.tok[0].off, 1);
    /* errors keep their offsets relative to the text given */
    CHECK_EQ_INT(vg__json_parse_prefix(&t, "[1,", 3, &used, &err), VIGIE_TRUNCATED);
    CHECK_EQ_INT(err.offset, 3);
    vg__jtape_free(&t);
}

static void test_str_copy(void)
{
    vg_jtape t;
    vg__jtape_init(&t);
    const char *j = "{\"a\":\"x\\u00e9yz\",\"n\":1}";
    CHECK_EQ_INT(vg__json_parse(&t, j, strlen(j), NULL), VIGIE_OK);
    char out[4];
    vg__json_str_copy(&t, vg__json_obj_get(&t, 0, "a", 1), out, sizeof out);
    CHECK_EQ_STR(out, "x\xc3\xa9"); /* unescaped, truncated to 3 bytes */
    vg__json_str_copy(&t, vg__json_obj_get(&t, 0, "n", 1), out, sizeof out);
    CHECK_EQ_STR(out, ""); /* not a string */
    vg__json_str_copy(&t, -1, out, sizeof out);
    CHECK_EQ_STR(out, "");
    vg__jtape_free(&t);
}

int main(void)
{
    RUN(test_str_copy);
    RUN(test_json_test_suite);
    RUN(test_tape);
    RUN(test_errors);
    RUN(test_big_string);
    RUN(test_unescape_numbers);
    RUN(test_paths);
    RUN(test_tape_layout);
    RUN(test_error_table);
    RUN(test_depth_limit);
    RUN(test_keys);
    RUN(test_unescape_surrogates);
    RUN(test_numbers);
    RUN(test_prefix);
    return TEST_DONE();
}
