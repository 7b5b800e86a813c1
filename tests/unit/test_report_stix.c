/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_report_stix.c: the STIX 2.1 export: name-based ids, pattern string escaping, the
 * bundle of tests/data/alerts_sample.jsonl (object counts, valid JSON, byte-identical on a
 * second export), an empty store, and stable ids with a later `modified` after the store grows.
 * The full STIX validation (required properties, references, pattern grammar) is
 * tests/tools/stix_check.py, run by tests/cli/test_export.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "report/stix.h"
#include "test.h"

#define SAMPLE VIGIE_SOURCE_DIR "/tests/data/alerts_sample.jsonl"

/* Export st into a malloc'd string. */
static char *export_str(vg_store *st, vg_stix_stats *s, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    char err[256];
    int rc = vg__stix_export(st, f, s, err, sizeof err);
    fclose(f);
    CHECK_MSG(rc == VIGIE_OK, "%s", err);
    *len = n;
    return buf;
}

static vg_store *sample_store(void)
{
    vg_store *st = NULL;
    char err[256];
    CHECK_EQ_INT(vg__store_open(":memory:", &st, err, sizeof err), VIGIE_OK);
    if (st)
        CHECK_EQ_INT(vg__store_load_jsonl(st, 0, SAMPLE, NULL, NULL), VIGIE_OK);
    return st;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void test_ids(void)
{
    char a[80], b[80], c[80];
    vg__stix_id("indicator", "ipv4-addr|1.2.3.4", 17, a, sizeof a);
    vg__stix_id("indicator", "ipv4-addr|1.2.3.4", 17, b, sizeof b);
    vg__stix_id("indicator", "ipv4-addr|1.2.3.5", 17, c, sizeof c);
    CHECK_EQ_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    /* indicator--xxxxxxxx-xxxx-5xxx-[89ab]xxx-xxxxxxxxxxxx */
    CHECK_EQ_INT(strlen(a), strlen("indicator--") + 36);
    const char *u = a + strlen("indicator--");
    CHECK(!strncmp(a, "indicator--", 11));
    CHECK(u[8] == '-' && u[13] == '-' && u[18] == '-' && u[23] == '-');
    CHECK(is_hex(u, 8) && is_hex(u + 9, 4) && is_hex(u + 14, 4) && is_hex(u + 19, 4) &&
          is_hex(u + 24, 12));
    CHECK(u[14] == '5');
    CHECK(strchr("89ab", u[19]) != NULL);
    /* the type is part of the name: same key, other type, other uuid */
    vg__stix_id("sighting", "ipv4-addr|1.2.3.4", 17, c, sizeof c);
    CHECK(strcmp(a + 11, c + 10) != 0);
}

static void test_pattern_strings(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"1.2.3.4", "'1.2.3.4'"},
        {"it's", "'it\\'s'"},
        {"a\\b", "'a\\\\b'"},
        {"\\'", "'\\\\\\''"},
        {"\"Edge\";v=\"113\"", "'\"Edge\";v=\"113\"'"},
        {"", "''"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_buf b;
        vg__buf_init(&b, 0);
        CHECK_EQ_INT(vg__stix_pattern_str(&b, cases[i].in, strlen(cases[i].in)), VIGIE_OK);
        CHECK_EQ_STR(b.data, cases[i].out);
        vg__buf_free(&b);
    }
}

static void test_sample_bundle(void)
{
    vg_store *st = sample_store();
    if (!st)
        return;
    vg_stix_stats s;
    size_t n1 = 0, n2 = 0;
    char *b1 = export_str(st, &s, &n1);
    CHECK_EQ_INT(s.identities, 4); /* vigie + 3 tenants */
    CHECK_EQ_INT(s.campaigns, 1);
    CHECK_EQ_INT(s.indicators, 9); /* 8 mapped campaign indicators + 1 from an indicator alert */
    CHECK_EQ_INT(s.skipped, 1);    /* email-addr: no mapping */
    CHECK_EQ_INT(s.sightings, 9);
    CHECK_EQ_INT(s.attack_patterns, 5);
    CHECK_EQ_INT(s.relationships, 2 + 5 + 8);
    vg_jtape t;
    vg__jtape_init(&t);
    CHECK(b1 && vg__json_parse(&t, b1, n1, NULL) == VIGIE_OK);
    if (b1 && t.n) {
        int64_t objs = vg__json_obj_get(&t, 0, "objects", 7);
        CHECK(objs >= 0 && t.tok[objs].type == VG_J_ARRAY);
        if (objs >= 0)
            CHECK_EQ_INT(t.tok[objs].len, 4 + 1 + 9 + 9 + 5 + 15);
    }
    vg__jtape_free(&t);
    /* the pattern with a quote and a backslash, escaped for STIX then for JSON */
    CHECK(b1 && strstr(b1, "= 'curl/7.0 (it\\\\'s a \\\\\\\\ test)']") != NULL);
    /* deterministic: the same bytes again */
    char *b2 = export_str(st, &s, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
    /* the store grows: same ids, later modified for the tenant that saw more */
    const char *later = "{\"id\":\"later-1\",\"kind\":\"indicator\",\"tenant\":"
                        "\"3bfa5ce3-1c2d-4e5f-8a9b-0c1d2e3f4a01\",\"time\":"
                        "\"2023-06-20T00:00:00.000Z\",\"indicator\":{\"type\":\"ip\",\"value\":"
                        "\"195.26.87.219\"}}";
    CHECK_EQ_INT(vg__store_add_line(st, 0, later, strlen(later)), VIGIE_OK);
    char *b3 = export_str(st, &s, &n2);
    char tid[80];
    vg__stix_id("identity", "3bfa5ce3-1c2d-4e5f-8a9b-0c1d2e3f4a01", 36, tid, sizeof tid);
    CHECK(b1 && strstr(b1, tid) != NULL);
    CHECK(b3 && strstr(b3, tid) != NULL);
    const char *obj = b3 ? strstr(b3, tid) : NULL; /* first mention: its own object */
    CHECK(obj && strstr(obj, "\"modified\":\"2023-06-20T00:00:00.000Z\"") != NULL);
    CHECK_EQ_INT(s.sightings, 9);
    free(b1);
    free(b2);
    free(b3);
    vg__store_close(st);
}

static void test_empty_store(void)
{
    vg_store *st = NULL;
    CHECK_EQ_INT(vg__store_open(":memory:", &st, NULL, 0), VIGIE_OK);
    if (!st)
        return;
    vg_stix_stats s;
    size_t n = 0;
    char *b = export_str(st, &s, &n);
    CHECK_EQ_INT(s.identities, 1);
    CHECK_EQ_INT(s.campaigns + s.indicators + s.sightings + s.relationships, 0);
    vg_jtape t;
    vg__jtape_init(&t);
    CHECK(b && vg__json_parse(&t, b, n, NULL) == VIGIE_OK);
    vg__jtape_free(&t);
    CHECK(b && strstr(b, "\"name\":\"vigie\"") != NULL);
    free(b);
    vg__store_close(st);
}

/* Campaigns with odd content: no dates (span from its alerts), nothing but an id, junk types. */
static void test_odd_campaigns(void)
{
    vg_store *st = NULL;
    CHECK_EQ_INT(vg__store_open(":memory:", &st, NULL, 0), VIGIE_OK);
    if (!st)
        return;
    const char *lines[] = {
        "{\"id\":\"a1\",\"kind\":\"sigma\",\"tenant\":\"T\",\"time\":\"2023-06-02T00:00:00Z\","
        "\"event\":{\"ip\":\"1.2.3.45\",\"ua\":\"x\"}}",
        "{\"id\":\"campaign-nodate\",\"organizations\":[\"T\",\"U\"],\"indicators\":[{\"type\":"
        "\"ipv4-addr\",\"value\":\"1.2.3.4\"},{\"type\":\"ipv4-addr\",\"value\":\"1.2.3.4\"},"
        "{\"type\":7,\"value\":null},{\"type\":\"user-agent\",\"value\":\"\"},{\"type\":\"net\","
        "\"value\":\"1.2.3.0/24\"},{\"type\":\"net\",\"value\":\"2001:db8:1::/48\"},{\"type\":"
        "\"asn\",\"value\":\"AS64496\"},{\"type\":\"asn\",\"value\":\"ASX\"}],\"techniques\":"
        "[\"T1114.002\",\"bogus\",\"t1114.002\",5],\"alerts\":[\"a1\"]}",
        "{\"id\":\"campaign-bare\",\"organizations\":\"nope\",\"indicators\":{},\"alerts\":null}",
    };
    for (size_t i = 0; i < 3; i++)
        CHECK_EQ_INT(vg__store_add_line(st, 0, lines[i], strlen(lines[i])), VIGIE_OK);
    vg_stix_stats s;
    size_t n = 0;
    char *b = export_str(st, &s, &n);
    CHECK_EQ_INT(s.campaigns, 2);
    CHECK_EQ_INT(s.indicators, 4);
    CHECK(b && strstr(b, "\"pattern\":\"[ipv4-addr:value ISSUBSET '1.2.3.0/24']\"") != NULL);
    CHECK(b && strstr(b, "\"pattern\":\"[ipv6-addr:value ISSUBSET '2001:db8:1::/48']\"") != NULL);
    CHECK(b && strstr(b, "\"pattern\":\"[autonomous-system:number = 64496]\"") != NULL);
    CHECK_EQ_INT(s.attack_patterns, 1);
    CHECK_EQ_INT(s.sightings, 0); /* 1.2.3.45 is not 1.2.3.4 */
    CHECK_EQ_INT(s.identities, 3);
    /* the undated campaign takes the span of its alerts */
    CHECK(b && strstr(b, "\"name\":\"campaign-nodate\"") != NULL);
    CHECK(b && strstr(b, "\"first_seen\":\"2023-06-02T00:00:00.000Z\"") != NULL);
    free(b);
    vg__store_close(st);
}

int main(void)
{
    RUN(test_ids);
    RUN(test_pattern_strings);
    RUN(test_sample_bundle);
    RUN(test_empty_store);
    RUN(test_odd_campaigns);
    return TEST_DONE();
}
