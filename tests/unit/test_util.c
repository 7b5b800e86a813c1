/* SPDX-License-Identifier: Apache-2.0 */
/* test_util.c: buffers, arena, time parsing and formatting, status names. */
#include "test.h"
#include "util/util.h"

static void test_buf(void)
{
    vg_buf b;
    vg__buf_init(&b, 10);
    CHECK_EQ_INT(vg__buf_adds(&b, "hello"), VIGIE_OK);
    CHECK_EQ_INT(vg__buf_adds(&b, " world"), VIGIE_TOOBIG);
    CHECK_EQ_STR(b.data, "hello");
    vg__buf_reset(&b);
    b.toobig = 0;
    CHECK_EQ_INT(vg__buf_add_json_str(&b, "a\"b\\c\n\x01\xff", 8), VIGIE_OK);
    CHECK_EQ_STR(b.data, "a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD");
    vg__buf_free(&b);
}

static void test_arena(void)
{
    vg_arena *a = vg__arena_new(64);
    char *s = vg__arena_strdup(a, "abc");
    void *big = vg__arena_alloc(a, 1000);
    char *t = vg__arena_strdup(a, "def");
    CHECK(big != NULL);
    CHECK_EQ_STR(s, "abc");
    CHECK_EQ_STR(t, "def");
    vg__arena_free(a);
}

static void test_time(void)
{
    double t;
    char out[40];
    CHECK_EQ_INT(vg__parse_time("2023-06-01T03:04:05Z", 20, &t), VIGIE_OK);
    CHECK(t == 1685588645.0);
    CHECK_EQ_INT(vg__parse_time("2023-06-01T03:04:05", 19, &t), VIGIE_OK);
    CHECK(t == 1685588645.0);
    CHECK_EQ_INT(vg__parse_time("2023-06-01T05:04:05+02:00", 25, &t), VIGIE_OK);
    CHECK(t == 1685588645.0);
    CHECK_EQ_INT(vg__parse_time("2023-06-01 03:04:05.5", 21, &t), VIGIE_OK);
    CHECK(t == 1685588645.5);
    CHECK_EQ_INT(vg__parse_time("2023-13-01", 10, &t), VIGIE_INVAL);
    CHECK_EQ_INT(vg__parse_time("yesterday", 9, &t), VIGIE_INVAL);
    vg__format_time(1685588645.25, out, sizeof out);
    CHECK_EQ_STR(out, "2023-06-01T03:04:05.250Z");
}

static void test_status(void)
{
    CHECK_EQ_STR(vigie_status_name(VIGIE_JSON), "JSON");
    CHECK_EQ_STR(vigie_strerror(VIGIE_OK), "success");
    CHECK_EQ_STR(vigie_status_name(-1), "UNKNOWN");
}

static void test_b64url(void)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    CHECK_EQ_INT(vg__b64url_encode(&b, (const unsigned char *)"\xfb\xffhi", 4), VIGIE_OK);
    CHECK_EQ_STR(b.data, "-_9oaQ");
    unsigned char out[8];
    size_t ol;
    CHECK_EQ_INT(vg__b64url_decode("-_9oaQ", 6, out, sizeof out, &ol), VIGIE_OK);
    CHECK(ol == 4 && memcmp(out, "\xfb\xffhi", 4) == 0);
    CHECK_EQ_INT(vg__b64url_decode("+/9oaQ==", 8, out, sizeof out, &ol), VIGIE_OK);
    CHECK_EQ_INT(ol, 4);
    CHECK_EQ_INT(vg__b64url_decode("ab$c", 4, out, sizeof out, &ol), VIGIE_INVAL);
    CHECK_EQ_INT(vg__b64url_decode("aGVsbG8gd29ybGQ", 15, out, 4, &ol), VIGIE_TOOBIG);
    vg__buf_free(&b);
}

int main(void)
{
    RUN(test_b64url);
    RUN(test_buf);
    RUN(test_arena);
    RUN(test_time);
    RUN(test_status);
    return TEST_DONE();
}
