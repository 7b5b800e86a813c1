/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_campaign.c: campaigns from combined alert lines: a shared public address,
 * /24 or application pair links tenants; private addresses never do; one weak feature (a user
 * agent) does not, two do (user agent + autonomous system from a MaxMind-format database
 * written by tests/tools/make_asn_mmdb.py); medium sessions are not campaign nodes; token
 * key ids are listed with their tenant's campaign. The typed entry (a session alert) builds
 * what the line entry builds; vg__campaigns_changes publishes new and changed campaigns once;
 * save / load at every split gives the campaigns of one pass; broken sections fail cleanly.
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

/* A high session as the sessions emit it, and the line `vigie scan` writes for it. */
static vg_sess_alert sess(const char *tenant, const char *ip, const char *ua, bool mail,
                          const vg_sess_signal *sig, uint32_t n_sig)
{
    static const char *ipv[8], *uav[8], *appv[8]; /* the lists outlive the call */
    static int k;
    ipv[k & 7] = ip;
    uav[k & 7] = ua;
    appv[k & 7] = tenant; /* an application pair of its own: the nodes stay apart */
    vg_sess_alert a = {.key = tenant,
                       .tenant = tenant,
                       .user = "u",
                       .day = "2023-06-05",
                       .first = 1685926800,
                       .last = 1685930400,
                       .level = VG_SL_HIGH,
                       .signals = sig,
                       .n_signals = n_sig,
                       .records = 3,
                       .mail = mail ? 3 : 0,
                       .messages = 10,
                       .ops = 20.5,
                       .ips = &ipv[k & 7],
                       .n_ips = 1,
                       .apps = &appv[k & 7],
                       .n_apps = 1,
                       .uas = &uav[k & 7],
                       .n_uas = 1};
    k++;
    return a;
}

static const vg_sess_signal SIG_MAIL[] = {{"no_signin", "session", "", "high", 3, NULL},
                                          {"actor_hours", "supporting", "", "low", 3, NULL}};
static const vg_sess_signal SIG_TOK[] = {{"consumer_key", "token", "r", "critical", 1, NULL}};

/* The typed entry builds the campaigns the line entry builds from the line of the same alert. */
static void test_typed_equals_line(void)
{
    vg_campaigns *a, *b;
    CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &a), VIGIE_OK);
    CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &b), VIGIE_OK);
    vg_sess_alert s1 = sess("A", "203.0.113.5", "x", true, SIG_MAIL, 2);
    vg_sess_alert s2 = sess("B", "198.51.100.7", "y", false, SIG_TOK, 1);
    vg_sess_alert s3 = sess("C", "203.0.113.9", "z", true, SIG_MAIL, 1);
    s3.level = VG_SL_MEDIUM; /* not a node */
    CHECK_EQ_INT(vg__campaigns_add_session(a, &s1, "aaaa1111bbbb2222cccc"), VIGIE_OK);
    CHECK_EQ_INT(vg__campaigns_add_session(a, &s2, "dddd"), VIGIE_OK);
    CHECK_EQ_INT(vg__campaigns_add_session(a, &s3, "eeee"), VIGIE_OK);
    const char *l1 =
        "{\"id\":\"aaaa1111bbbb2222cccc\",\"rule\":{\"id\":\"vigie:combined\",\"level\":\"high\","
        "\"tags\":[\"attack.collection\",\"attack.t1114.002\",\"attack.defense-evasion\","
        "\"attack.t1550.001\"]},\"kind\":\"combined\",\"tenant\":\"A\",\"user\":\"u\","
        "\"time\":\"2023-06-05T01:00:00.000Z\",\"signals\":[\"no_signin\",\"actor_hours\"],"
        "\"messages_read\":{\"internet_message_ids\":10,\"operation_count\":20,"
        "\"first\":\"2023-06-05T01:00:00.000Z\",\"last\":\"2023-06-05T02:00:00.000Z\"},"
        "\"infrastructure\":{\"ips\":[\"203.0.113.5\"],\"app_ids\":[\"A\"],"
        "\"user_agents\":[\"x\"]}}";
    const char *l2 =
        "{\"id\":\"dddd\",\"rule\":{\"id\":\"vigie:combined\",\"level\":\"high\","
        "\"tags\":[\"attack.defense-evasion\",\"attack.t1550.001\",\"attack.credential-access\","
        "\"attack.t1606.002\"]},\"kind\":\"combined\",\"tenant\":\"B\",\"user\":\"u\","
        "\"time\":\"2023-06-05T01:00:00.000Z\",\"signals\":[\"consumer_key\"],"
        "\"infrastructure\":{\"ips\":[\"198.51.100.7\"],\"app_ids\":[\"B\"],"
        "\"user_agents\":[\"y\"]}}";
    CHECK_EQ_INT(vg__campaigns_add_alert(b, l1, strlen(l1)), VIGIE_OK);
    CHECK_EQ_INT(vg__campaigns_add_alert(b, l2, strlen(l2)), VIGIE_OK);
    vg_buf x, y;
    vg__buf_init(&x, 0);
    vg__buf_init(&y, 0);
    vg__campaigns_finish(a, &x, NULL);
    vg__campaigns_finish(b, &y, NULL);
    CHECK(x.len > 0);
    CHECK_EQ_STR(x.data, y.data);
    /* two campaigns: A's (mail: its last read) and B's (no mail: its one time) */
    CHECK(x.data && strstr(x.data, "\"techniques\":[\"T1114.002\",\"T1550.001\"]"));
    CHECK(x.data && strstr(x.data, "\"techniques\":[\"T1550.001\",\"T1606.002\"]"));
    CHECK(x.data && strstr(x.data, "\"last_seen\":\"2023-06-05T01:00:00.000Z\""));
    vg__buf_free(&x);
    vg__buf_free(&y);
    vg__campaigns_free(a);
    vg__campaigns_free(b);
}

static int keep_line(void *ud, const char *line, size_t len)
{
    vg__buf_add(ud, line, len);
    vg__buf_addc(ud, '\n');
    return 0;
}

/* changes: a new campaign, then nothing, then the campaign a new session joins */
static void test_changes(void)
{
    vg_campaigns *c;
    CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &c), VIGIE_OK);
    vg_buf b;
    vg__buf_init(&b, 0);
    add(c, "1a", "A", "high", "203.0.113.5", "a|1", "x");
    add(c, "2b", "B", "high", "198.51.100.9", "b|2", "y");
    CHECK_EQ_INT(vg__campaigns_changes(c, keep_line, &b), VIGIE_OK);
    CHECK(b.data && strstr(b.data, "campaign-1a") && strstr(b.data, "campaign-2b"));
    vg__buf_reset(&b);
    CHECK_EQ_INT(vg__campaigns_changes(c, keep_line, &b), VIGIE_OK);
    CHECK_EQ_INT(b.len, 0);
    add(c, "3c", "C", "high", "198.51.100.10", "c|3", "z"); /* B's /24 */
    CHECK_EQ_INT(vg__campaigns_changes(c, keep_line, &b), VIGIE_OK);
    CHECK(b.data && strstr(b.data, "campaign-2b") && !strstr(b.data, "campaign-1a"));
    CHECK(b.data && strstr(b.data, "\"organizations\":[\"B\",\"C\"]"));
    /* finish still writes every campaign */
    vg_buf f;
    vg__buf_init(&f, 0);
    vg_campaign_stats st;
    vg__campaigns_finish(c, &f, &st);
    CHECK_EQ_INT(st.campaigns, 2);
    vg__buf_free(&f);
    vg__buf_free(&b);
    vg__campaigns_free(c);
}

/* save after some sessions, load into a new object, add the rest: the finish of one pass,
 * and what was published stays published */
static void test_save_load(void)
{
    const char *ids[] = {"1a", "2b", "3c", "4d", "5e"}, *ts[] = {"A", "B", "C", "D", "E"};
    const char *ipv[] = {"203.0.113.5", "198.51.100.9", "203.0.113.70", "10.0.0.1", "198.51.100.3"};
    const char *tok = "{\"kind\":\"token\",\"rule\":{\"level\":\"critical\"},\"tenant\":\"D\","
                      "\"token\":{\"kid\":\"K\"}}";
    const char *tok2 = "{\"kind\":\"token\",\"rule\":{\"level\":\"critical\"},\"tenant\":\"E\","
                       "\"token\":{\"kid\":\"K\"}}";
    vg_campaigns *one;
    CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &one), VIGIE_OK);
    for (int i = 0; i < 5; i++)
        add(one, ids[i], ts[i], "high", ipv[i], ts[i], ts[i]);
    vg__campaigns_add_alert(one, tok, strlen(tok));
    vg__campaigns_add_alert(one, tok2, strlen(tok2));
    vg_buf want;
    vg__buf_init(&want, 0);
    vg__campaigns_finish(one, &want, NULL);
    CHECK(want.data && strstr(want.data, "\"organizations\":[\"B\",\"D\",\"E\"]"));
    vg__campaigns_free(one);
    for (int k = 0; k <= 5; k++) {
        vg_campaigns *a, *b;
        CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &a), VIGIE_OK);
        CHECK_EQ_INT(vg__campaigns_new(NULL, NULL, NULL, &b), VIGIE_OK);
        for (int i = 0; i < k; i++)
            add(a, ids[i], ts[i], "high", ipv[i], ts[i], ts[i]);
        if (k > 3)
            vg__campaigns_add_alert(a, tok, strlen(tok));
        vg_buf pub, st, got;
        vg__buf_init(&pub, 0);
        vg__buf_init(&st, 0);
        vg__buf_init(&got, 0);
        vg__campaigns_changes(a, keep_line, &pub);
        CHECK_EQ_INT(vg__campaigns_save(a, &st), VIGIE_OK);
        CHECK_EQ_INT(vg__campaigns_load(b, st.data, st.len), VIGIE_OK);
        if (k)
            CHECK_EQ_INT(vg__campaigns_load(b, st.data, st.len), VIGIE_INVAL);
        /* nothing new since the save */
        vg__buf_reset(&pub);
        vg__campaigns_changes(b, keep_line, &pub);
        CHECK_EQ_INT(pub.len, 0);
        for (int i = k; i < 5; i++)
            add(b, ids[i], ts[i], "high", ipv[i], ts[i], ts[i]);
        if (k <= 3)
            vg__campaigns_add_alert(b, tok, strlen(tok));
        vg__campaigns_add_alert(b, tok2, strlen(tok2));
        vg__campaigns_finish(b, &got, NULL);
        CHECK_MSG(got.data && !strcmp(got.data, want.data), "split at %d", k);
        /* every truncation of the section fails and leaves nothing */
        for (size_t n = 0; n < st.len; n++) {
            vg_campaigns *e;
            vg__campaigns_new(NULL, NULL, NULL, &e);
            int rc = vg__campaigns_load(e, st.data, n);
            vg_buf o;
            vg__buf_init(&o, 0);
            vg_campaign_stats cs;
            vg__campaigns_finish(e, &o, &cs);
            CHECK(rc == VIGIE_TRUNCATED && cs.nodes == 0);
            vg__buf_free(&o);
            vg__campaigns_free(e);
        }
        /* bit flips: an error, or campaigns that can still be built (ASan watches) */
        for (size_t i = 0; i < st.len; i += 3) {
            ((uint8_t *)st.data)[i] ^= 0x41;
            vg_campaigns *e;
            vg__campaigns_new(NULL, NULL, NULL, &e);
            vg_buf o;
            vg__buf_init(&o, 0);
            if (vg__campaigns_load(e, st.data, st.len) == VIGIE_OK) {
                vg__campaigns_changes(e, keep_line, &o);
                add(e, "zz", "Z", "high", "203.0.113.5", "z", "z");
            }
            vg__campaigns_finish(e, &o, NULL);
            vg__buf_free(&o);
            vg__campaigns_free(e);
            ((uint8_t *)st.data)[i] ^= 0x41;
        }
        vg__buf_free(&pub);
        vg__buf_free(&st);
        vg__buf_free(&got);
        vg__campaigns_free(a);
        vg__campaigns_free(b);
    }
    vg__buf_free(&want);
}

int main(void)
{
    RUN(test_strong_links);
    RUN(test_weak_links_need_two);
    RUN(test_token_key_ids);
    RUN(test_typed_equals_line);
    RUN(test_changes);
    RUN(test_save_load);
    return TEST_DONE();
}
