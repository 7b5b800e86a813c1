/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_alert.c: the alert type and its renderers through the public header only
 * (include/vigie/alert.h): every kind in JSONL, CSV and table, byte for byte as `vigie scan`
 * writes them; hostile strings (quotes, backslashes, control characters, newlines, commas,
 * CSV formula prefixes, terminal escapes) escaped in each format; ids stable and sensitive
 * to what they hash; vigie_alert_render's snprintf contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vigie/alert.h"

static char out[16384];

static const char *render(const vigie_alert *a, vigie_format f)
{
    size_t n = vigie_alert_render(a, f, out, sizeof out);
    CHECK(n < sizeof out);
    CHECK_EQ_INT((int)strlen(out), (int)n);
    return out;
}

#define CHECK_RENDER(a, f, want)                                                                  \
    do {                                                                                          \
        const char *got_ = render((a), (f));                                                      \
        CHECK_MSG(strcmp(got_, (want)) == 0, "format %d:\n got: %s\nwant: %s", (int)(f), got_,   \
                  (want));                                                                        \
    } while (0)

static const char *const tags[] = {"attack.collection", "attack.t1114.002"};

/* A Sigma match on one record: the common part every record alert shares. */
static void record(vigie_alert *a, vigie_alert_kind kind)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->rule.id = "r-1";
    a->rule.title = "Mail read";
    a->rule.level = "high";
    a->rule.tags = tags;
    a->rule.n_tags = 2;
    a->tenant = "t1";
    a->tenant_len = 2;
    a->time = 1686119700; /* 2023-06-07T06:35:00Z */
    a->has_time = true;
    a->has_source = true;
    a->source.file = "logs/ual.json";
    a->source.line = 7;
    a->source.index = 6;
    a->source.offset = 1234;
    memset(a->source.sha256, 0xab, 32);
    a->source.has_sha = true;
    a->shape = "m365_ual";
    a->event = "{\"Operation\":\"x\",\n \"UserId\":\"u\"}";
    a->event_len = strlen(a->event);
}

#define SHA "abababababababababababababababababababababababababababababababab"
#define SRC "\"source\":{\"file\":\"logs/ual.json\",\"line\":7,\"index\":6,\"offset\":1234,\"sha256\":\"" SHA "\"}"
#define HEAD(id) "{\"id\":\"" id "\",\"rule\":{\"id\":\"r-1\",\"title\":\"Mail read\",\"level\":\"high\",\"tags\":[\"attack.collection\",\"attack.t1114.002\"]}"
#define TAIL ",\"tenant\":\"t1\",\"time\":\"2023-06-07T06:35:00.000Z\"," SRC ",\"shape\":\"m365_ual\",\"event\":{\"Operation\":\"x\",  \"UserId\":\"u\"}}\n"
#define CSV_LINE "2023-06-07T06:35:00.000Z,high,r-1,Mail read,t1,logs/ual.json,7,1234\n"

static void test_sigma(void)
{
    vigie_alert a;
    record(&a, VIGIE_ALERT_SIGMA);
    CHECK_EQ_INT(vigie_alert_id(&a), 0);
    /* 32 hex of SHA-256 of kind, rule id, tenant, the record's hash, the kind's JSON (here
     * none), each followed by a NUL: the recipe of every id vigie ever wrote */
    CHECK_EQ_STR(a.id, "36f84a6349e07161fca3b0d8b445374c");
    char id[33];
    memcpy(id, a.id, 33);
    char want[4096];
    snprintf(want, sizeof want,
             "{\"id\":\"%s\",\"rule\":{\"id\":\"r-1\",\"title\":\"Mail read\",\"level\":\"high\","
             "\"tags\":[\"attack.collection\",\"attack.t1114.002\"]},\"kind\":\"sigma\"" TAIL,
             id);
    CHECK_RENDER(&a, VIGIE_FORMAT_JSONL, want);
    CHECK_RENDER(&a, VIGIE_FORMAT_CSV, CSV_LINE);
    CHECK_RENDER(&a, VIGIE_FORMAT_TABLE,
                 "2023-06-07T06:35:00.000Z  high           Mail read                         "
                 "                            t1                                    ual.json:7\n");
    /* the id: the same alert gives the same id; each part it hashes changes it */
    vigie_alert b = a;
    CHECK_EQ_INT(vigie_alert_id(&b), 0);
    CHECK_EQ_STR(b.id, id);
    b.tenant = "t2";
    vigie_alert_id(&b);
    CHECK(strcmp(b.id, id) != 0);
    b = a;
    b.source.sha256[0] = 0;
    vigie_alert_id(&b);
    CHECK(strcmp(b.id, id) != 0);
    b = a;
    b.kind = VIGIE_ALERT_NEW_TERM; /* and its kind-specific part */
    vigie_alert_id(&b);
    CHECK(strcmp(b.id, id) != 0);
    /* the record's position is no part of it: the same record elsewhere is the same alert */
    b = a;
    b.source.line = 99;
    vigie_alert_id(&b);
    CHECK_EQ_STR(b.id, id);
    /* a record without time or tenant: null in JSON, empty cells, "-" in the table */
    b = a;
    b.has_time = false;
    b.tenant = NULL;
    b.tenant_len = 0;
    CHECK_RENDER(&b, VIGIE_FORMAT_CSV, ",high,r-1,Mail read,,logs/ual.json,7,1234\n");
    render(&b, VIGIE_FORMAT_JSONL);
    CHECK(strstr(out, ",\"tenant\":null,\"time\":null,") != NULL);
    render(&b, VIGIE_FORMAT_TABLE);
    CHECK(strncmp(out, "-                         high", 30) == 0);
}

static void test_record_kinds(void)
{
    vigie_alert a;
    static const char *const nt_fields[] = {"AppId", "ClientAppId"};
    static const char *const folders[] = {"Inbox", "Sent \"Items\""};
    vigie_alert_messages mr = {.internet_message_ids = 3, .operation_count = 4,
                               .folders = folders, .n_folders = 2};
    record(&a, VIGIE_ALERT_NEW_TERM);
    a.u.new_term = (vigie_alert_new_term){"t1", "app|-", nt_fields, 2};
    a.messages_read = &mr;
    vigie_alert_id(&a);
    CHECK_EQ_STR(a.id, "8a050dc3d6a27c1d56924659f0f297f7"); /* the kind's JSON is hashed */
    char want[4096];
    snprintf(want, sizeof want,
             HEAD("%s") ",\"kind\":\"new_term\",\"new_term\":{\"group\":\"t1\",\"term\":\"app|-\","
                        "\"fields\":[\"AppId\",\"ClientAppId\"]},\"messages_read\":{"
                        "\"internet_message_ids\":3,\"operation_count\":4,\"folders\":[\"Inbox\","
                        "\"Sent \\\"Items\\\"\"]}" TAIL,
             a.id);
    CHECK_RENDER(&a, VIGIE_FORMAT_JSONL, want);
    CHECK_RENDER(&a, VIGIE_FORMAT_CSV, CSV_LINE);

    record(&a, VIGIE_ALERT_INDICATOR);
    a.u.indicator = (vigie_alert_indicator){"ip", "203.0.113.9", "2023-05-01", NULL, "proxy", "s-1"};
    vigie_alert_id(&a);
    snprintf(want, sizeof want,
             HEAD("%s") ",\"kind\":\"indicator\",\"indicator\":{\"type\":\"ip\",\"value\":"
                        "\"203.0.113.9\",\"first_seen\":\"2023-05-01\",\"last_seen\":null,"
                        "\"role\":\"proxy\",\"set\":\"s-1\"}" TAIL,
             a.id);
    CHECK_RENDER(&a, VIGIE_FORMAT_JSONL, want);

    /* a token: the event is written with the token replaced */
    record(&a, VIGIE_ALERT_TOKEN);
    a.event = "{\"authorization\":\"Bearer eyJ.x.y\"}";
    a.event_len = strlen(a.event);
    a.redact_off = 18;
    a.redact_len = 14;
    a.redact_with = "<redacted sha256:00ff>";
    a.u.token = (vigie_alert_token){"00ff", "key_other_issuer", "RS256", "k1", "https://i/", NULL,
                                    true};
    vigie_alert_id(&a);
    render(&a, VIGIE_FORMAT_JSONL);
    CHECK(strstr(out, ",\"kind\":\"token\",\"token\":{\"fingerprint\":\"sha256:00ff\",\"verdict\":"
                      "\"key_other_issuer\",\"alg\":\"RS256\",\"kid\":\"k1\",\"issuer\":"
                      "\"https://i/\",\"key_issuer\":null,\"compromised_key\":true},") != NULL);
    CHECK(strstr(out, "\"event\":{\"authorization\":\"<redacted sha256:00ff>\"}}\n") != NULL);
    CHECK(strstr(out, "eyJ") == NULL);

    /* undetermined: csv and table have no kind column, the title says it */
    static const char *const ufields[] = {"CommandLine"};
    record(&a, VIGIE_ALERT_UNDETERMINED);
    a.u.undetermined = (vigie_alert_undetermined){"regex_match_limit", ufields, 1, true};
    render(&a, VIGIE_FORMAT_JSONL);
    CHECK(strstr(out, ",\"kind\":\"undetermined\",\"undetermined\":{\"reason\":\"regex_match_limit\","
                      "\"fields\":[\"CommandLine\"],\"more_fields\":true},") != NULL);
    CHECK(strstr(out, "\"title\":\"Mail read\"") != NULL);
    CHECK_RENDER(&a, VIGIE_FORMAT_CSV,
                 "2023-06-07T06:35:00.000Z,high,r-1,undetermined: Mail read,t1,logs/ual.json,7,1234\n");
}

static void test_combined(void)
{
    static const char *const ctags[] = {"attack.collection", "attack.t1114.002"};
    static const char *const folders[] = {"Inbox"};
    static const char *const ips[] = {"203.0.113.9"};
    vigie_alert_signal sig[] = {{"no_signin", "session", "high", NULL, 2},
                                {"Mail read", "sigma", "medium", "r-1", 1}};
    vigie_alert_evidence ev[2];
    memset(ev, 0, sizeof ev);
    ev[0].source = (vigie_alert_source){"a.json", 1, 0, 0, {0}, true};
    ev[0].alert_ids = "aa,,bb";
    ev[1].source = (vigie_alert_source){"a.json", 2, 1, 10, {0}, true};
    vigie_alert_messages mr = {.internet_message_ids = 5, .at_least = true, .operation_count = 6,
                               .folders = folders, .n_folders = 1, .has_span = true,
                               .first = "2023-06-07T06:35:00.000Z", .last = NULL};
    vigie_alert a;
    memset(&a, 0, sizeof a);
    a.kind = VIGIE_ALERT_COMBINED;
    a.rule = (__typeof__(a.rule)){"vigie:combined", "Mailbox read with a token no sign-in issued",
                                  "high", ctags, 2};
    a.tenant = "t1";
    a.tenant_len = 2;
    a.user = "u@x";
    a.user_len = 3;
    a.time = 1686119700;
    a.has_time = true;
    a.has_source = true;
    a.source = ev[0].source;
    a.messages_read = &mr;
    a.u.combined = (vigie_alert_combined){.key = "t1\x1fu@x\x1fs1", .session = "s1",
                                          .day = "2023-06-07", .score = 7, .signals = sig,
                                          .n_signals = 2, .records = 3, .mail_records = 2,
                                          .matched = 0, .no_signin = 2, .unlinkable = 0,
                                          .has_messages = true, .ips = ips, .n_ips = 1,
                                          .evidence = ev, .n_evidence = 2};
    CHECK_EQ_INT(vigie_alert_id(&a), 0);
    /* 32 hex of SHA-256("combined\0" key "\0") */
    CHECK_EQ_STR(a.id, "bc38366e1e611b0b96c15d7a169a050e");
    char want[8192];
    snprintf(
        want, sizeof want,
        "{\"id\":\"%s\",\"rule\":{\"id\":\"vigie:combined\",\"title\":\"Mailbox read with a token no "
        "sign-in issued\",\"level\":\"high\",\"tags\":[\"attack.collection\",\"attack.t1114.002\"]},"
        "\"kind\":\"combined\",\"tenant\":\"t1\",\"user\":\"u@x\",\"session\":\"s1\",\"day\":null,"
        "\"time\":\"2023-06-07T06:35:00.000Z\",\"score\":7,\"signals\":[\"no_signin\",\"Mail read\"],"
        "\"signal_detail\":[{\"name\":\"no_signin\",\"kind\":\"session\",\"level\":\"high\","
        "\"rule\":null,\"records\":2},{\"name\":\"Mail read\",\"kind\":\"sigma\",\"level\":"
        "\"medium\",\"rule\":\"r-1\",\"records\":1}],\"records\":3,\"mail_records\":2,"
        "\"sign_in_join\":{\"matched\":0,\"no_signin\":2,\"unlinkable\":0},\"messages_read\":{"
        "\"internet_message_ids\":5,\"at_least\":true,\"operation_count\":6,\"folders\":[\"Inbox\"],"
        "\"first\":\"2023-06-07T06:35:00.000Z\",\"last\":null},\"infrastructure\":{\"ips\":["
        "\"203.0.113.9\"],\"app_ids\":[],\"user_agents\":[]},\"source\":{\"file\":\"a.json\","
        "\"line\":1,\"index\":0,\"offset\":0,\"sha256\":\"%s\"},\"evidence\":[{\"file\":\"a.json\","
        "\"line\":1,\"index\":0,\"offset\":0,\"sha256\":\"%s\",\"alerts\":[\"aa\",\"\",\"bb\"]},"
        "{\"file\":\"a.json\",\"line\":2,\"index\":1,\"offset\":10,\"sha256\":\"%s\",\"alerts\":[]}],"
        "\"evidence_omitted\":0}\n",
        a.id, "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000");
    CHECK_RENDER(&a, VIGIE_FORMAT_JSONL, want);
    CHECK_RENDER(&a, VIGIE_FORMAT_CSV,
                 "2023-06-07T06:35:00.000Z,high,vigie:combined,Mailbox read with a token no sign-in "
                 "issued,t1,a.json,1,0\n");
    /* a day group: session null, day named */
    a.u.combined.session = NULL;
    render(&a, VIGIE_FORMAT_JSONL);
    CHECK(strstr(out, "\"session\":null,\"day\":\"2023-06-07\",") != NULL);
    /* the id hashes the group's key only */
    char id[33];
    memcpy(id, a.id, 33);
    a.u.combined.score = 1;
    vigie_alert_id(&a);
    CHECK_EQ_STR(a.id, id);
    a.u.combined.key = "other";
    vigie_alert_id(&a);
    CHECK(strcmp(a.id, id) != 0);
}

static void test_correlation_and_gap(void)
{
    static const char *const ids[] = {"aa", "bb"};
    vigie_alert_position pos[] = {{"l.ndjson", 1, 0, 0}, {"l.ndjson", 2, 1, 40}};
    vigie_alert a;
    memset(&a, 0, sizeof a);
    a.kind = VIGIE_ALERT_CORRELATION;
    a.rule.id = "c-1";
    a.rule.title = "Many logins";
    a.rule.level = "medium";
    a.time = 1686119700;
    a.has_time = true;
    a.u.correlation = (vigie_alert_correlation){"event_count", "{\"User\":\"bob\"}", 14, 2, 2,
                                               "2023-06-07T06:30:00.000Z", "2023-06-07T06:35:00.000Z",
                                               ids, 2, pos, 2};
    vigie_alert_id(&a);
    char want[4096];
    snprintf(want, sizeof want,
             "{\"id\":\"%s\",\"rule\":{\"id\":\"c-1\",\"title\":\"Many logins\",\"level\":\"medium\","
             "\"tags\":[]},\"kind\":\"correlation\",\"correlation\":{\"type\":\"event_count\","
             "\"group\":{\"User\":\"bob\"},\"value\":2,\"events\":2,\"window\":{\"start\":"
             "\"2023-06-07T06:30:00.000Z\",\"end\":\"2023-06-07T06:35:00.000Z\"}},\"tenant\":null,"
             "\"time\":\"2023-06-07T06:35:00.000Z\",\"source\":null,\"contributing\":[\"aa\",\"bb\"],"
             "\"events\":[{\"file\":\"l.ndjson\",\"line\":1,\"index\":0,\"offset\":0},{\"file\":"
             "\"l.ndjson\",\"line\":2,\"index\":1,\"offset\":40}]}\n",
             a.id);
    CHECK_RENDER(&a, VIGIE_FORMAT_JSONL, want);
    /* without a source, CSV names the file "-" (formula-guarded, as every cell) */
    CHECK_RENDER(&a, VIGIE_FORMAT_CSV, "2023-06-07T06:35:00.000Z,medium,c-1,Many logins,,'-,0,0\n");
    char id[33];
    memcpy(id, a.id, 33);
    a.u.correlation.n_contributing = 1;
    vigie_alert_id(&a);
    CHECK(strcmp(a.id, id) != 0);

    vigie_alert g;
    memset(&g, 0, sizeof g);
    g.kind = VIGIE_ALERT_GAP;
    g.tenant = "t\"1";
    g.tenant_len = 3;
    g.u.gap = (vigie_alert_gap){.gap = "unlinkable", .records = 3, .of = 9, .has_of = true,
                                .detail = "mail access without UniqueTokenId"};
    vigie_alert_id(&g);
    snprintf(want, sizeof want,
             "{\"id\":\"%s\",\"kind\":\"gap\",\"gap\":\"unlinkable\",\"tenant\":\"t\\\"1\","
             "\"records\":3,\"of\":9,\"detail\":\"mail access without UniqueTokenId\"}\n",
             g.id);
    CHECK_RENDER(&g, VIGIE_FORMAT_JSONL, want);
    g.u.gap = (vigie_alert_gap){.gap = "no_mailbox_audit", .from = "2023-06-01T00:00:00.000Z",
                                .to = "2023-06-04T00:00:00.000Z", .days = 3, .detail = "d"};
    render(&g, VIGIE_FORMAT_JSONL);
    CHECK(strstr(out, "\"tenant\":\"t\\\"1\",\"from\":\"2023-06-01T00:00:00.000Z\",\"to\":"
                      "\"2023-06-04T00:00:00.000Z\",\"days\":3,\"detail\":\"d\"}\n") != NULL);
}

static void test_hostile(void)
{
    vigie_alert a;
    record(&a, VIGIE_ALERT_SIGMA);
    a.rule.title = "=HYPERLINK(\"x\"),\nnext";
    a.tenant = "-1+2";
    a.tenant_len = 4;
    a.rule.level = "@lvl";
    a.source.file = "dir/\x1b[31mred\ttab";
    a.rule.id = "q\"\\\x01";
    /* CSV: formula prefixes get a quote, cells with quotes, commas or newlines are quoted */
    CHECK_RENDER(&a, VIGIE_FORMAT_CSV,
                 "2023-06-07T06:35:00.000Z,'@lvl,\"q\"\"\\\x01\",\"'=HYPERLINK(\"\"x\"\"),\nnext\","
                 "'-1+2,dir/\x1b[31mred\ttab,7,1234\n");
    /* JSON: escaped, one line */
    render(&a, VIGIE_FORMAT_JSONL);
    CHECK(strstr(out, "\"id\":\"q\\\"\\\\\\u0001\"") != NULL);
    CHECK(strstr(out, "\"title\":\"=HYPERLINK(\\\"x\\\"),\\nnext\"") != NULL);
    CHECK(strstr(out, "\"file\":\"dir/\\u001b[31mred\\ttab\"") != NULL);
    CHECK(strchr(out, '\n') == out + strlen(out) - 1);
    /* table: nothing that moves the cursor or colours the terminal */
    render(&a, VIGIE_FORMAT_TABLE);
    CHECK(strchr(out, '\x1b') == NULL);
    CHECK(strchr(out, '\n') == out + strlen(out) - 1);
    CHECK(strstr(out, "=HYPERLINK(\"x\"),\\nnext") != NULL);
    CHECK(strstr(out, "\\x1b[31mred\\ttab:7\n") != NULL);
    /* an event with raw newlines (JSON whitespace) stays on one line */
    a.event = "{\"a\":\r\n1}";
    a.event_len = strlen(a.event);
    render(&a, VIGIE_FORMAT_JSONL);
    CHECK(strstr(out, "\"event\":{\"a\":  1}}\n") != NULL);
}

static void test_render_contract(void)
{
    vigie_alert a;
    record(&a, VIGIE_ALERT_SIGMA);
    size_t need = vigie_alert_render(&a, VIGIE_FORMAT_CSV, NULL, 0);
    CHECK_EQ_INT((int)need, (int)strlen(CSV_LINE));
    char small[10];
    CHECK_EQ_INT((int)vigie_alert_render(&a, VIGIE_FORMAT_CSV, small, sizeof small), (int)need);
    CHECK_EQ_STR(small, "2023-06-0");
    CHECK_EQ_STR(vigie_alert_kind_name(VIGIE_ALERT_COMBINED), "combined");
    CHECK_EQ_STR(vigie_alert_kind_name(VIGIE_ALERT_GAP), "gap");
    CHECK_EQ_STR(vigie_alert_kind_name((vigie_alert_kind)99), "?");
}

int main(void)
{
    RUN(test_sigma);
    RUN(test_record_kinds);
    RUN(test_combined);
    RUN(test_correlation_and_gap);
    RUN(test_hostile);
    RUN(test_render_contract);
    return TEST_DONE();
}
