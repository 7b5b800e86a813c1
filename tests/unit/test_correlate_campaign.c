/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_campaign.c: campaigns from combined alert lines: a shared public address,
 * /24 or application pair links tenants; private addresses never do; one weak feature (a user
 * agent) does not, two do (user agent + autonomous system from a MaxMind-format database
 * written by tests/tools/make_asn_mmdb.py); medium sessions are not campaign nodes; token
 * key ids are listed with their tenant's campaign.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "test.h"

static void add(vg_campaigns *c, const char *id, const char *tenant, const char *level,
                const char *ip, const char *app, const char *ua)
{
    char line[2048];
    snprintf(line, sizeof line,
             "{\"id\":\"%s\",\"rule\":{\"id\":\"vigie:combined\",\"level\":\"%s\",\"tags\":"
             "[\"attack.collection\",\"attack.t1114.002\"]},\"kind\":\"combined\",\"tenant\":\"%s\","
             "\"user\":\"u@%s\",\"time\":\"2023-06-0%cT01:00:00.000Z\",\"signals\":[\"no_signin\"],"
             "\"messages_read\":{\"internet_message_ids\":10,\"operation_count\":20,"
             "\"first\":\"2023-06-05T01:00:00.000Z\",\"last\":\"2023-06-05T02:00:00.000Z\"},"
             "\"infrastructure\":{\"ips\":[\"%s\"],\"app_ids\":[\"%s\"],\"user_agents\":[\"%s\"]}}",
             id, level, tenant, tenant, id[0], ip, app, ua);
    CHECK_EQ_INT(vg__campaigns_add_alert(c, line, strlen(line)), VIGIE_OK);
}

/* the diagnostic channel: "file: message" of the last one */
static void keep_diag(void *ud, const vigie_diag *d)
{
    snprintf(ud, 512, "%s: %s", d->file ? d->file : "", d->message);
}

/* organizations of each campaign, one string per line: "A,B|C|" */
static void shape(vg_campaigns *c, char *out, size_t cap)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    vg_campaign_stats st;
    CHECK_EQ_INT(vg__campaigns_finish(c, &b, &st), VIGIE_OK);
    out[0] = 0;
    for (char *p = b.data; p && *p;) {
        char *nl = strchr(p, '\n');
        char *o = strstr(p, "\"organizations\":[");
        if (o && (!nl || o < nl)) {
            o += 17;
            char *e = strchr(o, ']');
            size_t l = strlen(out);
            for (char *q = o; q < e && l + 2 < cap; q++)
                if (*q != '"')
                    out[l++] = *q;
            out[l++] = '|';
            out[l] = 0;
        }
        p = nl ? nl + 1 : NULL;
    }
    vg__buf_free(&b);
}

static void test_strong_links(void)
{
    vg_campaigns *c;
    char got[512];
    CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &c), VIGIE_OK);
    add(c, "1a", "A", "high", "203.0.113.5", "owa|actor", "x");
    add(c, "2b", "B", "critical", "203.0.113.77", "owa|other", "y");   /* same /24 */
    add(c, "3c", "C", "high", "198.51.100.9", "owa|actor", "z");      /* same app pair */
    add(c, "4d", "D", "high", "10.0.0.5", "owa|d", "x");               /* private: no link */
    add(c, "5e", "E", "high", "10.0.0.5", "owa|e", "q");
    add(c, "6f", "F", "medium", "203.0.113.5", "owa|actor", "x");     /* not a node */
    add(c, "7g", "G", "high", "::ffff:10.0.0.1", "g|7", "g");          /* private, mapped */
    add(c, "8h", "H", "high", "::ffff:192.168.7.7", "h|8", "h");
    add(c, "9i", "I", "high", "ff02::1", "i|9", "i");                   /* multicast */
    add(c, "aj", "J", "high", "ff02::2", "j|a", "j");
    add(c, "bk", "K", "high", "::ffff:203.0.113.9", "k|b", "k");        /* = A's /24 */
    shape(c, got, sizeof got);
    CHECK_EQ_STR(got, "A,B,C,K|D|E|G|H|I|J|");
    vg__campaigns_free(c);
}

static void test_weak_links_need_two(void)
{
    char path[] = "/tmp/vigie-asn-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 %s/tests/tools/make_asn_mmdb.py %s 192.0.2.0/24=64500:Example "
             "198.51.100.0/24=64500:Example 233.252.0.0/24=64501:Other",
             VIGIE_SOURCE_DIR, path);
    CHECK_EQ_INT(system(cmd), 0);
    char got[512];
    vg_campaigns *c;
    /* same user agent only: one weak feature, no link */
    CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &c), VIGIE_OK);
    add(c, "1a", "A", "high", "192.0.2.10", "a|1", "python-requests/2.31");
    add(c, "2b", "B", "high", "198.51.100.20", "b|2", "python-requests/2.31");
    shape(c, got, sizeof got);
    CHECK_EQ_STR(got, "A|B|");
    vg__campaigns_free(c);
    /* with the ASN database: same AS and same user agent, linked */
    CHECK_EQ_INT(vg__campaigns_new(path, NULL, NULL, &c), VIGIE_OK);
    add(c, "1a", "A", "high", "192.0.2.10", "a|1", "python-requests/2.31");
    add(c, "2b", "B", "high", "198.51.100.20", "b|2", "python-requests/2.31");
    add(c, "3c", "C", "high", "233.252.0.9", "c|3", "python-requests/2.31"); /* other AS */
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__campaigns_finish(c, &b, NULL);
    CHECK(b.data && strstr(b.data, "\"type\":\"asn\",\"value\":\"AS64500\",\"organizations\":2"));
    vg__buf_free(&b);
    vg__campaigns_free(c);
    CHECK_EQ_INT(vg__campaigns_new(path, NULL, NULL, &c), VIGIE_OK);
    add(c, "1a", "A", "high", "192.0.2.10", "a|1", "python-requests/2.31");
    add(c, "2b", "B", "high", "198.51.100.20", "b|2", "python-requests/2.31");
    add(c, "3c", "C", "high", "233.252.0.9", "c|3", "python-requests/2.31");
    shape(c, got, sizeof got);
    CHECK_EQ_STR(got, "A,B|C|");
    vg__campaigns_free(c);
    /* timing is weak too, and links only with the same autonomous system: the same user
     * agent in the actor's hours does not (mornings and REST clients are everywhere) */
    CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &c), VIGIE_OK);
    const char *hours = "{\"id\":\"%s\",\"rule\":{\"level\":\"high\"},\"kind\":\"combined\","
                        "\"tenant\":\"%s\",\"signals\":[\"actor_hours\",\"no_signin\"],"
                        "\"infrastructure\":{\"ips\":[\"%s\"],\"user_agents\":[\"%s\"]}}";
    char l1[512], l2[512], l3[512];
    snprintf(l1, sizeof l1, hours, "1a", "A", "192.0.2.10", "python-requests/2.31");
    snprintf(l2, sizeof l2, hours, "2b", "B", "198.51.100.20", "python-requests/2.31");
    snprintf(l3, sizeof l3, hours, "3c", "C", "203.0.113.30", "curl/8");
    vg__campaigns_add_alert(c, l1, strlen(l1));
    vg__campaigns_add_alert(c, l2, strlen(l2));
    vg__campaigns_add_alert(c, l3, strlen(l3));
    shape(c, got, sizeof got);
    CHECK_EQ_STR(got, "A|B|C|");
    vg__campaigns_free(c);
    CHECK_EQ_INT(vg__campaigns_new(path, NULL, NULL, &c), VIGIE_OK);
    snprintf(l1, sizeof l1, hours, "1a", "A", "192.0.2.10", "ua-a");
    snprintf(l2, sizeof l2, hours, "2b", "B", "198.51.100.20", "ua-b"); /* same AS as A */
    snprintf(l3, sizeof l3, hours, "3c", "C", "233.252.0.9", "ua-c");   /* another AS */
    vg__campaigns_add_alert(c, l1, strlen(l1));
    vg__campaigns_add_alert(c, l2, strlen(l2));
    vg__campaigns_add_alert(c, l3, strlen(l3));
    shape(c, got, sizeof got);
    CHECK_EQ_STR(got, "A,B|C|");
    vg__campaigns_free(c);
    /* a file that is not a database: a clear error */
    char said[512] = "";
    CHECK(vg__campaigns_new("/etc/hostname", keep_diag, said, &c) != VIGIE_OK);
    CHECK(c == NULL);
    CHECK(strstr(said, "/etc/hostname: cannot open the ASN database") != NULL);
    remove(path);
}

static void test_token_key_ids(void)
{
    vg_campaigns *c;
    vg__campaigns_new(NULL, NULL, NULL, &c);
    add(c, "1a", "A", "high", "203.0.113.5", "owa|actor", "x");
    const char *tok = "{\"id\":\"t1\",\"rule\":{\"level\":\"critical\"},\"kind\":\"token\","
                      "\"tenant\":\"A\",\"token\":{\"kid\":\"consumer-key-1\"}}";
    CHECK_EQ_INT(vg__campaigns_add_alert(c, tok, strlen(tok)), VIGIE_OK);
    CHECK(vg__campaigns_add_alert(c, "{bad", 4) != VIGIE_OK);
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__campaigns_finish(c, &b, NULL);
    CHECK(b.data && strstr(b.data, "\"type\":\"key-id\",\"value\":\"consumer-key-1\""));
    CHECK(b.data && strstr(b.data, "\"techniques\":[\"T1114.002\"]"));
    vg__buf_free(&b);
    vg__campaigns_free(c);
    /* the same foreign signing key on forged tokens of two tenants links them; a gateway log
     * without a tenant field names it through the token's issuer */
    char got[256];
    vg__campaigns_new(NULL, NULL, NULL, &c);
    add(c, "1a", "A", "high", "203.0.113.5", "a|1", "x");
    add(c, "2b", "B", "high", "198.51.100.9", "b|2", "y");
    add(c, "3c", "C", "high", "192.0.2.9", "c|3", "z");
    const char *t1 = "{\"kind\":\"token\",\"rule\":{\"level\":\"critical\"},\"tenant\":null,"
                     "\"token\":{\"kid\":\"K\",\"issuer\":\"https://login.example.com/A/v2.0\"}}";
    const char *t2 = "{\"kind\":\"token\",\"rule\":{\"level\":\"critical\"},\"tenant\":\"B\","
                     "\"token\":{\"kid\":\"K\"}}";
    vg__campaigns_add_alert(c, t1, strlen(t1));
    vg__campaigns_add_alert(c, t1, strlen(t1));
    vg__campaigns_add_alert(c, t2, strlen(t2));
    shape(c, got, sizeof got);
    CHECK_EQ_STR(got, "A,B|C|");
    vg__campaigns_free(c);
}

int main(void)
{
    RUN(test_strong_links);
    RUN(test_weak_links_need_two);
    RUN(test_token_key_ids);
    return TEST_DONE();
}
