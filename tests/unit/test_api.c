/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api.c: the public API as a client sees it: only <vigie/...> (CMake gives this test
 * include/ and tests/ for test.h, never src/) and libvigie.so (so a function that is not
 * exported does not link).
 *
 * Proves: an engine built from rule strings; a bad rule reported through the diag callback
 * with file:line:col and listed SKIPPED, a rule with a bad regex DROPPED, the good ones
 * active; a scanner matching and not matching, reporting the rule, the record's shape and
 * tenant, and refusing a bad record with its position; zero heap allocations per record once
 * a scanner is warm (counted by this program's own malloc family, or by the sanitizer's
 * allocation hooks under ASan); one engine shared by two threads with a scanner each; the
 * pack lookup; an engine frozen after compile.
 */
#define _GNU_SOURCE
#include <vigie/vigie.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* ---- counting allocations ----------------------------------------------------------------- */

static atomic_ullong n_allocs;

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

#ifdef ASAN
/* the sanitizer runtime's allocation hooks (compiler-rt's sanitizer/allocator_interface.h,
 * which GCC does not install) */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                              void (*f)(const volatile void *));
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
}
static void on_free(const volatile void *p)
{
    (void)p;
}
static void count_init(void)
{
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
/* This program's malloc family: every allocation of the process (libvigie.so, Vectorscan,
 * PCRE2, libc) comes here first and is counted, then served by glibc. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
#define BUMP() atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed)
/* exported (the build hides symbols by default): the dynamic linker must see them first */
#define EXPORT __attribute__((visibility("default")))
EXPORT void *malloc(size_t n)
{
    BUMP();
    return __libc_malloc(n);
}
EXPORT void *calloc(size_t a, size_t b)
{
    BUMP();
    return __libc_calloc(a, b);
}
EXPORT void *realloc(void *p, size_t n)
{
    BUMP();
    return __libc_realloc(p, n);
}
EXPORT void free(void *p)
{
    __libc_free(p);
}
EXPORT void *memalign(size_t al, size_t n)
{
    BUMP();
    return __libc_memalign(al, n);
}
EXPORT void *aligned_alloc(size_t al, size_t n)
{
    BUMP();
    return __libc_memalign(al, n);
}
EXPORT int posix_memalign(void **out, size_t al, size_t n)
{
    BUMP();
    void *p = __libc_memalign(al, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}
static void count_init(void)
{
}
#endif

static unsigned long long allocs(void)
{
    return atomic_load(&n_allocs);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

#define RULE_CONSUMER                                                                              \
    "title: Mailbox Read With a Consumer-Tenant Token\n"                                           \
    "id: 00000000-0000-4000-8000-000000000001\n"                                                   \
    "status: test\n"                                                                               \
    "tags: [attack.collection, attack.t1114.002]\n"                                                \
    "logsource: {product: m365, service: exchange}\n"                                              \
    "detection:\n"                                                                                 \
    "  selection:\n"                                                                               \
    "    Operation: MailItemsAccessed\n"                                                           \
    "    TokenTenantId: 9188040d-6c67-4c5b-b112-36a304b66dad\n"                                    \
    "  condition: selection\n"                                                                     \
    "level: high\n"

#define RULE_CLOUDTRAIL                                                                            \
    "title: CloudTrail Logging Stopped\n"                                                          \
    "id: 00000000-0000-4000-8000-000000000002\n"                                                   \
    "logsource: {product: aws, service: cloudtrail}\n"                                             \
    "detection:\n"                                                                                 \
    "  selection:\n"                                                                               \
    "    eventName|re: '^(StopLogging|DeleteTrail)$'\n"                                            \
    "    userIdentity.arn|endswith: ':root'\n"                                                     \
    "  condition: selection\n"                                                                     \
    "level: medium\n"

#define RULE_KEYWORD                                                                               \
    "title: Keyword Anywhere\n"                                                                    \
    "id: 00000000-0000-4000-8000-000000000003\n"                                                   \
    "logsource: {product: m365}\n"                                                                 \
    "detection:\n"                                                                                 \
    "  keywords: ['evil.example']\n"                                                               \
    "  condition: keywords\n"                                                                      \
    "level: low\n"

static const char *REC_MATCH =
    "{\"CreationTime\":\"2023-06-07T01:33:15\",\"Id\":\"r1\",\"Operation\":\"MailItemsAccessed\","
    "\"OrganizationId\":\"tenant-a\",\"RecordType\":50,\"UserId\":\"alice@a.example\","
    "\"Workload\":\"Exchange\",\"TokenTenantId\":\"9188040d-6c67-4c5b-b112-36a304b66dad\"}";
static const char *REC_NOMATCH =
    "{\"CreationTime\":\"2023-06-07T01:33:16\",\"Id\":\"r2\",\"Operation\":\"MailItemsAccessed\","
    "\"OrganizationId\":\"tenant-a\",\"RecordType\":50,\"UserId\":\"alice@a.example\","
    "\"Workload\":\"Exchange\",\"TokenTenantId\":\"tenant-a\"}";
static const char *REC_KEYWORD =
    "{\"CreationTime\":\"2023-06-07T01:33:17\",\"Id\":\"r3\",\"Operation\":\"Send\","
    "\"OrganizationId\":\"tenant-b\",\"RecordType\":2,\"Workload\":\"Exchange\","
    "\"Subject\":\"see https://evil.example/x\"}";
static const char *REC_CLOUDTRAIL =
    "{\"eventVersion\":\"1.08\",\"eventTime\":\"2023-06-07T01:00:00Z\",\"eventSource\":"
    "\"cloudtrail.amazonaws.com\",\"eventName\":\"StopLogging\",\"awsRegion\":\"us-east-1\","
    "\"recipientAccountId\":\"123456789012\",\"userIdentity\":{\"type\":\"Root\",\"arn\":"
    "\"arn:aws:iam::123456789012:root\"}}";
/* a first-seen rule: a match is a candidate with its group and term */
#define RULE_NEWTERM                                                                               \
    "title: First Client For The Mailbox\n"                                                        \
    "id: 00000000-0000-4000-8000-000000000004\n"                                                   \
    "logsource: {product: m365}\n"                                                                 \
    "detection:\n"                                                                                 \
    "  sel: {Operation: MailItemsAccessed}\n"                                                      \
    "  condition: sel\n"                                                                           \
    "vigie:\n"                                                                                     \
    "  new_terms: {fields: [Id, NoSuchField], group_by: [OrganizationId, UserId]}\n"               \
    "level: low\n"

/* a regex that backtracks into PCRE2's match limit on a long run of 'a' */
#define RULE_UNDET                                                                                 \
    "title: Backtracking Subject\n"                                                                \
    "id: 00000000-0000-4000-8000-000000000005\n"                                                   \
    "logsource: {product: m365}\n"                                                                 \
    "detection:\n"                                                                                 \
    "  sel: {Subject|re: '(a+)+b'}\n"                                                              \
    "  condition: sel\n"                                                                           \
    "level: medium\n"

/* REC_MATCH's SHA-256 (sha256sum of its bytes) and event time */
#define REC_MATCH_SHA "e34bf329a24c7073ad1805d17261321c668831c55c18b09c8f7bb480ec4989ad"
#define REC_MATCH_TIME 1686101595.0
/* a mail read that read two distinct messages (one twice) in one folder */
static const char *REC_MAILREAD =
    "{\"CreationTime\":\"2023-06-07T01:40:00\",\"Id\":\"r4\",\"Operation\":\"MailItemsAccessed\","
    "\"OrganizationId\":\"tenant-a\",\"RecordType\":50,\"UserId\":\"bob@a.example\","
    "\"Workload\":\"Exchange\",\"TokenTenantId\":\"9188040d-6c67-4c5b-b112-36a304b66dad\","
    "\"OperationCount\":3,\"Folders\":[{\"Path\":\"\\\\Inbox\",\"FolderItems\":["
    "{\"InternetMessageId\":\"<a@x>\"},{\"InternetMessageId\":\"<b@x>\"},"
    "{\"InternetMessageId\":\"<a@x>\"}]}]}";
static const char *REC_UNDET =
    "{\"CreationTime\":\"2023-06-07T01:33:18\",\"Id\":\"r5\",\"Operation\":\"Send\","
    "\"OrganizationId\":\"tenant-b\",\"RecordType\":2,\"Workload\":\"Exchange\","
    "\"Subject\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac b\"}";
static const char *REC_OTHER = "{\"hello\":\"world\",\"n\":[1,2,3]}";
static const char *REC_BAD = "{\"a\":1,";

typedef struct diags {
    int n;
    vigie_diag last;
    char file[256], msg[512];
} diags;

static void on_diag(void *ud, const vigie_diag *d)
{
    diags *x = ud;
    x->n++;
    x->last = *d;
    snprintf(x->file, sizeof x->file, "%s", d->file ? d->file : "");
    snprintf(x->msg, sizeof x->msg, "%s", d->message ? d->message : "");
    x->last.file = x->file;
    x->last.message = x->msg;
}

static vigie_engine *engine_of(const char *yaml, diags *dg)
{
    vigie_engine *e = NULL;
    CHECK_EQ_INT(vigie_engine_new(on_diag, dg, &e), VIGIE_OK);
    if (!e)
        return NULL;
    CHECK_EQ_INT(vigie_engine_add_rules_string(e, "test.yml", yaml, strlen(yaml)), VIGIE_OK);
    CHECK_EQ_INT(vigie_engine_compile(e), VIGIE_OK);
    return e;
}

typedef struct hits {
    int n;
    uint32_t rule[8];
    char id[8][64];
    char shape[32];
    char tenant[64];
    int undetermined;
} hits;

static int on_match(void *ud, const vigie_match *m)
{
    hits *h = ud;
    if (h->n < 8) {
        h->rule[h->n] = m->rule;
        snprintf(h->id[h->n], sizeof h->id[0], "%s", m->rule_id ? m->rule_id : "");
    }
    h->n++;
    h->undetermined += m->result == VIGIE_MATCH_UNDETERMINED;
    snprintf(h->shape, sizeof h->shape, "%s", m->record->shape);
    snprintf(h->tenant, sizeof h->tenant, "%.*s", (int)m->record->tenant_len,
             m->record->tenant ? m->record->tenant : "");
    return 0;
}

static hits scan(vigie_scanner *s, const char *rec, int *rc)
{
    hits h;
    memset(&h, 0, sizeof h);
    vigie_source src = {"input.ndjson", 7, 6, 1000};
    *rc = vigie_scanner_scan(s, rec, strlen(rec), &src, on_match, &h);
    return h;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_engine_from_string(void)
{
    diags dg = {0};
    vigie_engine *e = engine_of(RULE_CONSUMER, &dg);
    CHECK_EQ_INT(dg.n, 0);
    CHECK_EQ_INT(vigie_engine_rule_count(e), 1);
    vigie_rule_info in;
    CHECK_EQ_INT(vigie_engine_rule(e, 0, &in), VIGIE_OK);
    CHECK_EQ_INT(in.status, VIGIE_RULE_ACTIVE);
    CHECK_EQ_INT(in.kind, VIGIE_RULE_DETECTION);
    CHECK_EQ_STR(in.id, "00000000-0000-4000-8000-000000000001");
    CHECK_EQ_STR(in.title, "Mailbox Read With a Consumer-Tenant Token");
    CHECK_EQ_STR(in.level, "high");
    CHECK_EQ_STR(in.sigma_status, "test");
    CHECK_EQ_STR(in.file, "test.yml");
    CHECK_EQ_STR(in.product, "m365");
    CHECK_EQ_INT(in.n_tags, 2);
    CHECK(in.reason == NULL);
    CHECK_EQ_INT(vigie_engine_rule(e, 1, &in), VIGIE_NOTFOUND);
    vigie_engine_stats st;
    CHECK_EQ_INT(vigie_engine_stats_get(e, &st), VIGIE_OK);
    CHECK_EQ_INT(st.rules, 1);
    CHECK_EQ_INT(st.detections, 1);
    CHECK_EQ_INT(st.skipped + st.dropped, 0);
    CHECK(st.prefilter_literals >= 1);
    /* frozen: nothing can be added after compile */
    CHECK_EQ_INT(vigie_engine_add_rules_string(e, "x", RULE_KEYWORD, strlen(RULE_KEYWORD)),
                 VIGIE_INVAL);
    CHECK_EQ_INT(vigie_engine_compile(e), VIGIE_INVAL);
    CHECK_EQ_INT(vigie_engine_rule_count(e), 1);
    vigie_engine_free(e);
}

static void test_bad_rule_diag(void)
{
    /* three documents: good, a bad condition (line 7 of the file), a bad regex */
    const char *yaml = RULE_KEYWORD "---\n"
                                    "title: Broken\n"
                                    "id: 00000000-0000-4000-8000-00000000000b\n"
                                    "logsource: {product: m365}\n"
                                    "detection:\n"
                                    "  sel: {Operation: x}\n"
                                    "  condition: sel and and\n"
                                    "---\n"
                                    "title: Bad Regex\n"
                                    "id: 00000000-0000-4000-8000-00000000000c\n"
                                    "logsource: {product: m365}\n"
                                    "detection:\n"
                                    "  sel:\n"
                                    "    Operation|re: 'a(b'\n"
                                    "  condition: sel\n";
    diags dg = {0};
    vigie_engine *e = engine_of(yaml, &dg);
    CHECK_EQ_INT(dg.n, 2);
    CHECK_EQ_INT(vigie_engine_rule_count(e), 3);
    vigie_rule_info in;
    CHECK_EQ_INT(vigie_engine_rule(e, 0, &in), VIGIE_OK);
    CHECK_EQ_INT(in.status, VIGIE_RULE_ACTIVE);
    CHECK_EQ_INT(vigie_engine_rule(e, 1, &in), VIGIE_OK);
    CHECK_EQ_INT(in.status, VIGIE_RULE_SKIPPED);
    CHECK_EQ_INT(in.rc, VIGIE_CONDITION);
    CHECK_EQ_STR(in.file, "test.yml");
    CHECK_EQ_INT(in.line, 14); /* 7 lines of RULE_KEYWORD, "---", then line 6 of the doc */
    CHECK(in.col > 1);
    CHECK(in.reason && *in.reason);
    CHECK_EQ_STR(in.id, "00000000-0000-4000-8000-00000000000b");
    CHECK_EQ_INT(vigie_engine_rule(e, 2, &in), VIGIE_OK);
    CHECK_EQ_INT(in.status, VIGIE_RULE_DROPPED);
    CHECK_EQ_INT(in.rc, VIGIE_REGEX);
    CHECK_EQ_INT(in.line, 21);
    CHECK(in.col > 1);
    CHECK(in.reason && strstr(in.reason, "regular expression"));
    CHECK_EQ_STR(in.title, "Bad Regex");
    /* the last diagnostic is the regex: same position, through the one callback */
    CHECK_EQ_INT(dg.last.level, VIGIE_DIAG_ERROR);
    CHECK_EQ_INT(dg.last.rc, VIGIE_REGEX);
    CHECK_EQ_STR(dg.last.file, "test.yml");
    CHECK_EQ_INT(dg.last.line, 21);
    CHECK_EQ_INT(dg.last.col, in.col);
    vigie_engine_stats st;
    vigie_engine_stats_get(e, &st);
    CHECK_EQ_INT(st.detections, 1);
    CHECK_EQ_INT(st.skipped, 1);
    CHECK_EQ_INT(st.dropped, 1);
    vigie_engine_free(e);

    /* an unreadable path is an error of the call, and said */
    diags d2 = {0};
    vigie_engine *e2 = NULL;
    CHECK_EQ_INT(vigie_engine_new(on_diag, &d2, &e2), VIGIE_OK);
    CHECK_EQ_INT(vigie_engine_add_rules(e2, "/nonexistent/rules.yml"), VIGIE_NOENT);
    CHECK_EQ_INT(d2.n, 1);
    CHECK_EQ_STR(d2.last.file, "/nonexistent/rules.yml");
    vigie_engine_free(e2);
}

static vigie_engine *three_rules(diags *dg)
{
    return engine_of(RULE_CONSUMER "---\n" RULE_CLOUDTRAIL "---\n" RULE_KEYWORD, dg);
}

static void test_scanner_match(void)
{
    diags dg = {0};
    vigie_engine *e = three_rules(&dg);
    CHECK_EQ_INT(dg.n, 0);
    diags sd = {0};
    vigie_scanner *s = NULL;
    CHECK_EQ_INT(vigie_scanner_new(e, on_diag, &sd, &s), VIGIE_OK);
    int rc;
    hits h = scan(s, REC_MATCH, &rc);
    CHECK_EQ_INT(rc, VIGIE_OK);
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_INT(h.rule[0], 0);
    CHECK_EQ_STR(h.id[0], "00000000-0000-4000-8000-000000000001");
    CHECK_EQ_STR(h.shape, "m365_ual");
    CHECK_EQ_STR(h.tenant, "tenant-a");
    h = scan(s, REC_NOMATCH, &rc);
    CHECK_EQ_INT(rc, VIGIE_OK);
    CHECK_EQ_INT(h.n, 0);
    h = scan(s, REC_KEYWORD, &rc);
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_INT(h.rule[0], 2);
    h = scan(s, REC_CLOUDTRAIL, &rc);
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_INT(h.rule[0], 1);
    CHECK_EQ_STR(h.shape, "cloudtrail");
    h = scan(s, REC_OTHER, &rc);
    CHECK_EQ_INT(rc, VIGIE_OK);
    CHECK_EQ_INT(h.n, 0);
    /* a bad record: its status, and one diagnostic with the position given */
    h = scan(s, REC_BAD, &rc);
    CHECK_EQ_INT(rc, VIGIE_TRUNCATED);
    CHECK_EQ_INT(h.n, 0);
    CHECK_EQ_INT(sd.n, 1);
    CHECK_EQ_STR(sd.last.file, "input.ndjson");
    CHECK_EQ_INT(sd.last.line, 7);
    CHECK(sd.last.offset >= 1000 && sd.last.offset <= 1000 + strlen(REC_BAD));
    CHECK(strstr(sd.msg, "record 7 skipped") != NULL);
    h = scan(s, "[1,2]", &rc);
    CHECK_EQ_INT(rc, VIGIE_JSON);
    /* a record with no source: still reported */
    CHECK(vigie_scanner_scan(s, "nope", 4, NULL, on_match, &h) != VIGIE_OK);
    CHECK_EQ_INT(sd.n, 3);
    vigie_scan_stats st;
    vigie_scanner_stats(s, &st);
    CHECK_EQ_INT(st.records, 5);
    CHECK_EQ_INT(st.bad_records, 3);
    CHECK_EQ_INT(st.matches, 3);
    /* the callback can stop a record */
    vigie_scanner_free(s);
    vigie_engine_free(e);
}

/* What a callback keeps of a match's alert (the alert lives only during the call). */
typedef struct seen {
    int n;
    vigie_alert a[4];
    vigie_match_result result[4];
    int candidate[4];
    char line[4][2048]; /* vigie_alert_render(JSONL) */
    size_t line_len[4];
    char id_again[4][33]; /* vigie_alert_id on a copy */
    char group[4][64], term[4][64], undet_reason[4][32];
    uint64_t msg_ids[4];
    double ops[4];
    uint32_t n_folders[4];
    char folder[4][32];
    int has_messages[4];
    char sha_hex[4][65];
    char file[4][64];
} seen;

static int keep_alert(void *ud, const vigie_match *m)
{
    seen *x = ud;
    if (x->n >= 4 || !m->alert)
        return 0;
    int i = x->n++;
    const vigie_alert *a = m->alert;
    x->a[i] = *a;
    x->result[i] = m->result;
    x->candidate[i] = m->candidate;
    x->line_len[i] = vigie_alert_render(a, VIGIE_FORMAT_JSONL, x->line[i], sizeof x->line[i]);
    vigie_alert c = *a;
    memset(c.id, 0, sizeof c.id);
    CHECK_EQ_INT(vigie_alert_id(&c), VIGIE_OK);
    memcpy(x->id_again[i], c.id, sizeof c.id);
    if (a->kind == VIGIE_ALERT_NEW_TERM) {
        snprintf(x->group[i], sizeof x->group[i], "%s", a->u.new_term.group);
        snprintf(x->term[i], sizeof x->term[i], "%s", a->u.new_term.term);
    }
    if (a->kind == VIGIE_ALERT_UNDETERMINED)
        snprintf(x->undet_reason[i], sizeof x->undet_reason[i], "%s", a->u.undetermined.reason);
    x->has_messages[i] = a->messages_read != NULL;
    if (a->messages_read) {
        x->msg_ids[i] = a->messages_read->internet_message_ids;
        x->ops[i] = a->messages_read->operation_count;
        x->n_folders[i] = a->messages_read->n_folders;
        if (a->messages_read->n_folders)
            snprintf(x->folder[i], sizeof x->folder[i], "%s", a->messages_read->folders[0]);
    }
    for (int k = 0; k < 32; k++)
        snprintf(x->sha_hex[i] + 2 * k, 3, "%02x", a->source.sha256[k]);
    snprintf(x->file[i], sizeof x->file[i], "%s", a->source.file ? a->source.file : "");
    /* pointers of the copy die with the call */
    x->a[i].event = NULL;
    x->a[i].source.file = NULL;
    x->a[i].tenant = NULL;
    return 0;
}

static seen scan_alerts(vigie_scanner *s, const char *rec)
{
    seen x;
    memset(&x, 0, sizeof x);
    vigie_source src = {"input.ndjson", 7, 6, 1000};
    CHECK_EQ_INT(vigie_scanner_scan(s, rec, strlen(rec), &src, keep_alert, &x), VIGIE_OK);
    return x;
}

/* Each match carries the alert `vigie scan` builds: kind, rule, tenant, time, source with
 * the record's SHA-256, shape, event, messages read, a stable id; first-seen matches are
 * candidates with their group and term; a regex stopped by its limit is undetermined. */
static void test_scanner_alerts(void)
{
    diags dg = {0};
    vigie_engine *e = engine_of(RULE_CONSUMER "---\n" RULE_KEYWORD "---\n" RULE_NEWTERM
                                              "---\n" RULE_UNDET,
                                &dg);
    CHECK_EQ_INT(dg.n, 0);
    vigie_scanner *s = NULL;
    CHECK_EQ_INT(vigie_scanner_new(e, NULL, NULL, &s), VIGIE_OK);
    /* a Sigma match and a first-seen candidate on one mail read, in rule order */
    seen x = scan_alerts(s, REC_MATCH);
    CHECK_EQ_INT(x.n, 2);
    const vigie_alert *a = &x.a[0];
    CHECK_EQ_INT(a->kind, VIGIE_ALERT_SIGMA);
    CHECK_EQ_INT(x.candidate[0], 0);
    CHECK_EQ_STR(a->rule.id, "00000000-0000-4000-8000-000000000001");
    CHECK_EQ_STR(a->rule.title, "Mailbox Read With a Consumer-Tenant Token");
    CHECK_EQ_STR(a->rule.level, "high");
    CHECK_EQ_INT(a->rule.n_tags, 2);
    CHECK_EQ_INT(a->tenant_len, 8);
    CHECK(a->has_time && a->time == REC_MATCH_TIME);
    CHECK(a->has_source && a->source.has_sha);
    CHECK_EQ_STR(x.file[0], "input.ndjson");
    CHECK_EQ_INT(a->source.line, 7);
    CHECK_EQ_INT(a->source.index, 6);
    CHECK_EQ_INT(a->source.offset, 1000);
    CHECK_EQ_STR(x.sha_hex[0], REC_MATCH_SHA);
    CHECK_EQ_STR(a->shape, "m365_ual");
    CHECK_EQ_INT(a->event_len, strlen(REC_MATCH));
    CHECK_EQ_INT(strlen(a->id), 32);
    CHECK_EQ_STR(x.id_again[0], a->id); /* the id is vigie_alert_id's */
    CHECK(x.has_messages[0]);           /* a mail read says what it read (nothing here) */
    CHECK_EQ_INT(x.msg_ids[0], 0);
    CHECK(x.line_len[0] > 0 && x.line_len[0] < sizeof x.line[0]);
    CHECK(x.line[0][x.line_len[0] - 1] == '\n');
    CHECK(strstr(x.line[0], "\"kind\":\"sigma\"") != NULL);
    CHECK(strstr(x.line[0], "\"sha256\":\"" REC_MATCH_SHA "\"") != NULL);
    CHECK(strstr(x.line[0], "\"file\":\"input.ndjson\",\"line\":7,\"index\":6,\"offset\":1000") !=
          NULL);
    CHECK(strstr(x.line[0], "\"id\":\"") == x.line[0] + 1);
    CHECK(strncmp(x.line[0] + 7, a->id, 32) == 0);
    /* the candidate: group by OrganizationId and UserId, term Id and an absent field */
    CHECK_EQ_INT(x.a[1].kind, VIGIE_ALERT_NEW_TERM);
    CHECK_EQ_INT(x.candidate[1], 1);
    CHECK_EQ_STR(x.a[1].rule.id, "00000000-0000-4000-8000-000000000004");
    CHECK_EQ_STR(x.group[1], "tenant-a|alice@a.example");
    CHECK_EQ_STR(x.term[1], "r1|-");
    CHECK_EQ_STR(x.id_again[1], x.a[1].id);
    CHECK(strcmp(x.a[1].id, a->id) != 0);
    CHECK(strstr(x.line[1], "\"kind\":\"new_term\"") != NULL);
    /* the same record again: the same ids; from another position too (a record alert's id
     * hashes its kind, rule, tenant and the record's SHA-256, not where it was read) */
    seen y = scan_alerts(s, REC_MATCH);
    CHECK_EQ_STR(y.a[0].id, a->id);
    CHECK_EQ_STR(y.a[1].id, x.a[1].id);
    seen z;
    memset(&z, 0, sizeof z);
    vigie_source other = {"other.ndjson", 1, 0, 0};
    CHECK_EQ_INT(vigie_scanner_scan(s, REC_MATCH, strlen(REC_MATCH), &other, keep_alert, &z),
                 VIGIE_OK);
    CHECK_EQ_INT(z.n, 2);
    CHECK_EQ_STR(z.file[0], "other.ndjson");
    CHECK_EQ_STR(z.a[0].id, a->id);
    CHECK(strstr(z.line[0], "\"file\":\"other.ndjson\",\"line\":1,") != NULL);
    /* what a mail read read: distinct message ids, operations, folders */
    x = scan_alerts(s, REC_MAILREAD);
    CHECK_EQ_INT(x.n, 2);
    CHECK(x.has_messages[0]);
    CHECK_EQ_INT(x.msg_ids[0], 2);
    CHECK(x.ops[0] == 3);
    CHECK_EQ_INT(x.n_folders[0], 1);
    CHECK_EQ_STR(x.folder[0], "\\Inbox");
    CHECK(strstr(x.line[0], "\"messages_read\":{\"internet_message_ids\":2,") != NULL);
    /* not a mail read: no messages */
    x = scan_alerts(s, REC_KEYWORD);
    CHECK_EQ_INT(x.n, 1);
    CHECK_EQ_INT(x.a[0].kind, VIGIE_ALERT_SIGMA);
    CHECK(!x.has_messages[0]);
    /* a rule the regex limit left undecided: an undetermined alert with its reason */
    x = scan_alerts(s, REC_UNDET);
    CHECK_EQ_INT(x.n, 1);
    CHECK_EQ_INT(x.result[0], VIGIE_MATCH_UNDETERMINED);
    CHECK_EQ_INT(x.a[0].kind, VIGIE_ALERT_UNDETERMINED);
    CHECK_EQ_STR(x.undet_reason[0], "regex_match_limit");
    CHECK_EQ_STR(x.id_again[0], x.a[0].id);
    CHECK(strstr(x.line[0], "\"kind\":\"undetermined\"") != NULL);
    /* no source: the alert has none, but still its hash and id */
    memset(&x, 0, sizeof x);
    CHECK_EQ_INT(vigie_scanner_scan(s, REC_KEYWORD, strlen(REC_KEYWORD), NULL, keep_alert, &x),
                 VIGIE_OK);
    CHECK_EQ_INT(x.n, 1);
    CHECK(!x.a[0].has_source && x.a[0].source.has_sha);
    CHECK_EQ_INT(strlen(x.a[0].id), 32);
    vigie_scanner_free(s);
    vigie_engine_free(e);
}

/* The record's facts, asked after the scan. */
static void test_scanner_facts(void)
{
    diags dg = {0};
    vigie_engine *e = three_rules(&dg);
    vigie_scanner *s = NULL;
    CHECK_EQ_INT(vigie_scanner_new(e, NULL, NULL, &s), VIGIE_OK);
    vigie_record_facts f;
    CHECK_EQ_INT(vigie_scanner_facts(s, &f), VIGIE_INVAL); /* nothing scanned yet */
    int rc;
    scan(s, REC_MAILREAD, &rc);
    CHECK_EQ_INT(rc, VIGIE_OK);
    CHECK_EQ_INT(vigie_scanner_facts(s, &f), VIGIE_OK);
    CHECK(f.mail_read && !f.signin);
    CHECK_EQ_STR(f.tenant, "tenant-a");
    CHECK_EQ_STR(f.user, "bob@a.example"); /* the mailbox */
    CHECK(f.session == NULL && f.token == NULL && f.address == NULL);
    CHECK_EQ_INT(f.internet_message_ids, 2);
    CHECK(f.operation_count == 3);
    CHECK_EQ_INT(f.n_folders, 1);
    /* asked twice: the same */
    vigie_record_facts g;
    CHECK_EQ_INT(vigie_scanner_facts(s, &g), VIGIE_OK);
    CHECK_EQ_STR(g.user, "bob@a.example");
    scan(s, REC_CLOUDTRAIL, &rc);
    CHECK_EQ_INT(vigie_scanner_facts(s, &f), VIGIE_OK);
    CHECK(!f.mail_read && !f.signin);
    CHECK_EQ_STR(f.user, "arn:aws:iam::123456789012:root");
    CHECK_EQ_INT(f.internet_message_ids, 0);
    scan(s, REC_KEYWORD, &rc);
    CHECK_EQ_INT(vigie_scanner_facts(s, &f), VIGIE_OK);
    CHECK_EQ_STR(f.tenant, "tenant-b");
    CHECK(f.user == NULL); /* absent */
    /* a sign-in: its user, session, token, address, app and user agent */
    const char *si =
        "{\"TimeGenerated\":\"2023-06-07T01:30:00Z\",\"Type\":\"SigninLogs\","
        "\"TenantId\":\"tenant-a\",\"UserPrincipalName\":\"alice@a.example\","
        "\"SessionId\":\"s-1\",\"UniqueTokenIdentifier\":\"tok-1\",\"IPAddress\":\"192.0.2.7\","
        "\"AppId\":\"app-1\",\"UserAgent\":\"curl/8\",\"ResultType\":\"0\"}";
    scan(s, si, &rc);
    CHECK_EQ_INT(rc, VIGIE_OK);
    CHECK_EQ_INT(vigie_scanner_facts(s, &f), VIGIE_OK);
    CHECK_MSG(f.signin, "shape %s", "signin");
    CHECK_EQ_STR(f.user ? f.user : "(null)", "alice@a.example");
    CHECK_EQ_STR(f.session ? f.session : "(null)", "s-1");
    CHECK_EQ_STR(f.token ? f.token : "(null)", "tok-1");
    CHECK_EQ_STR(f.address ? f.address : "(null)", "192.0.2.7");
    CHECK_EQ_STR(f.app ? f.app : "(null)", "app-1|-");
    CHECK_EQ_STR(f.user_agent ? f.user_agent : "(null)", "curl/8");
    /* a bad record: no facts */
    scan(s, REC_BAD, &rc);
    CHECK_EQ_INT(vigie_scanner_facts(s, &f), VIGIE_INVAL);
    vigie_scanner_free(s);
    vigie_engine_free(e);
}

/* A field map given by the user is tried before the built-in sections. */
static void test_fieldmap(void)
{
    const char *fm = "shape: m365_ual\nfields:\n  TheOperation: [Operation]\n";
    const char *rule = "title: Renamed\nid: r-renamed\nlogsource: {product: m365}\n"
                       "detection:\n  sel: {TheOperation: MailItemsAccessed}\n"
                       "  condition: sel\nlevel: low\n";
    for (int with_map = 0; with_map < 2; with_map++) {
        diags dg = {0};
        vigie_engine *e = NULL;
        CHECK_EQ_INT(vigie_engine_new(on_diag, &dg, &e), VIGIE_OK);
        if (with_map)
            CHECK_EQ_INT(vigie_engine_add_fieldmap_string(e, "my.yml", fm, strlen(fm)), VIGIE_OK);
        CHECK_EQ_INT(vigie_engine_add_rules_string(e, "r.yml", rule, strlen(rule)), VIGIE_OK);
        CHECK_EQ_INT(vigie_engine_compile(e), VIGIE_OK);
        vigie_scanner *s = NULL;
        CHECK_EQ_INT(vigie_scanner_new(e, NULL, NULL, &s), VIGIE_OK);
        int rc;
        hits h = scan(s, REC_MATCH, &rc);
        CHECK_EQ_INT(h.n, with_map);
        vigie_scanner_free(s);
        vigie_engine_free(e);
    }
    diags dg = {0};
    vigie_engine *e = NULL;
    vigie_engine_new(on_diag, &dg, &e);
    const char *bad = "shape: no_such_shape\n";
    CHECK_EQ_INT(vigie_engine_add_fieldmap_string(e, "bad.yml", bad, strlen(bad)), VIGIE_YAML);
    CHECK_EQ_INT(dg.n, 1);
    CHECK_EQ_STR(dg.last.file, "bad.yml");
    CHECK_EQ_INT(dg.last.line, 1);
    vigie_engine_free(e);
}

static void test_zero_allocations_warm(void)
{
    diags dg = {0};
    /* the three rules, then a first-seen rule and an undetermined one: every match builds its
     * alert (the record's hash, messages read, a candidate's group and term, the id) */
    vigie_engine *e = engine_of(RULE_CONSUMER "---\n" RULE_CLOUDTRAIL "---\n" RULE_KEYWORD
                                              "---\n" RULE_NEWTERM "---\n" RULE_UNDET,
                                &dg);
    vigie_scanner *s = NULL;
    CHECK_EQ_INT(vigie_scanner_new(e, NULL, NULL, &s), VIGIE_OK);
    const char *recs[] = {REC_MATCH,  REC_NOMATCH, REC_KEYWORD, REC_CLOUDTRAIL,
                          REC_OTHER,  REC_BAD,     REC_MAILREAD, REC_UNDET};
    int n_match = 0, rc;
    for (int round = 0; round < 3; round++) /* warm: buffers grown, routes cached */
        for (size_t i = 0; i < sizeof recs / sizeof *recs; i++)
            n_match += scan(s, recs[i], &rc).n;
    vigie_record_facts f;
    for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
        scan(s, recs[i], &rc);
        vigie_scanner_facts(s, &f);
    }
    unsigned long long before = allocs();
    for (int round = 0; round < 2000; round++)
        for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
            n_match += scan(s, recs[i], &rc).n;
            vigie_scanner_facts(s, &f); /* the facts too */
        }
    unsigned long long after = allocs();
    CHECK_MSG(after == before, "%llu allocations over 16000 warm records", after - before);
    /* per round: REC_MATCH 2 (sigma + candidate), REC_NOMATCH 1 (candidate), REC_KEYWORD 1,
     * REC_CLOUDTRAIL 1, REC_MAILREAD 2, REC_UNDET 1 */
    CHECK_EQ_INT(n_match, 8 * 2003);
    /* the counter counts: a scanner's set-up allocates */
    vigie_scanner *s2 = NULL;
    before = allocs();
    vigie_scanner_new(e, NULL, NULL, &s2);
    CHECK(allocs() > before);
    vigie_scanner_free(s2);
    vigie_scanner_free(s);
    vigie_engine_free(e);
}

typedef struct worker {
    const vigie_engine *e;
    int rc, matches, records;
} worker;

static void *work(void *ud)
{
    worker *w = ud;
    vigie_scanner *s = NULL;
    w->rc = vigie_scanner_new(w->e, NULL, NULL, &s);
    const char *recs[] = {REC_MATCH, REC_NOMATCH, REC_KEYWORD, REC_CLOUDTRAIL};
    for (int round = 0; s && round < 5000; round++)
        for (size_t i = 0; i < 4; i++) {
            hits h;
            memset(&h, 0, sizeof h);
            vigie_source src = {"t", (uint64_t)round + 1, (uint64_t)round, 0};
            int rc = vigie_scanner_scan(s, recs[i], strlen(recs[i]), &src, on_match, &h);
            if (rc)
                w->rc = rc;
            w->matches += h.n;
            w->records++;
        }
    vigie_scanner_free(s);
    return NULL;
}

static void test_threads_share_engine(void)
{
    diags dg = {0};
    vigie_engine *e = three_rules(&dg);
    worker w[2] = {{e, 0, 0, 0}, {e, 0, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(w[i].rc, VIGIE_OK);
        CHECK_EQ_INT(w[i].records, 20000);
        CHECK_EQ_INT(w[i].matches, 15000);
    }
    vigie_engine_free(e);
}

static void test_pack_lookup(void)
{
    char buf[4096];
    const char *src_rules = VIGIE_SOURCE_DIR "/rules";
    CHECK_EQ_INT(vigie_pack_dir(src_rules, buf, sizeof buf), VIGIE_OK);
    CHECK_EQ_STR(buf, src_rules);
    CHECK_EQ_INT(vigie_pack_dir("/nonexistent/pack", buf, sizeof buf), VIGIE_NOTFOUND);
    CHECK_EQ_INT(vigie_pack_dir(src_rules, buf, 4), VIGIE_TOOBIG);
    setenv("VIGIE_RULES", src_rules, 1);
    CHECK_EQ_INT(vigie_pack_dir(NULL, buf, sizeof buf), VIGIE_OK);
    CHECK_EQ_STR(buf, src_rules);
    diags dg = {0};
    vigie_engine *e = NULL;
    vigie_engine_new(on_diag, &dg, &e);
    CHECK_EQ_INT(vigie_engine_add_pack(e, NULL), VIGIE_OK);
    CHECK_EQ_INT(vigie_engine_add_builtin_indicators(e), VIGIE_OK);
    CHECK_EQ_INT(vigie_engine_compile(e), VIGIE_OK);
    vigie_engine_stats st;
    vigie_engine_stats_get(e, &st);
    CHECK(st.detections >= 5);
    CHECK_EQ_INT(st.skipped + st.dropped, 0);
    CHECK(st.indicators > 0);
    CHECK_EQ_INT(dg.n, 0);
    vigie_engine_free(e);
    /* $VIGIE_RULES naming nothing is not passed over */
    setenv("VIGIE_RULES", "/nonexistent/pack", 1);
    CHECK_EQ_INT(vigie_pack_dir(NULL, buf, sizeof buf), VIGIE_NOTFOUND);
    vigie_engine_new(on_diag, &dg, &e);
    CHECK_EQ_INT(vigie_engine_add_pack(e, NULL), VIGIE_NOTFOUND);
    CHECK_EQ_INT(dg.n, 1);
    vigie_engine_free(e);
    unsetenv("VIGIE_RULES");
}

static void test_status_names(void)
{
    CHECK_EQ_STR(vigie_status_name(VIGIE_JSON), "JSON");
    CHECK_EQ_STR(vigie_strerror(VIGIE_REGEX), "invalid regular expression");
    CHECK_EQ_STR(vigie_version(), VIGIE_VERSION);
    vigie_scanner *s = (vigie_scanner *)1;
    CHECK_EQ_INT(vigie_scanner_new(NULL, NULL, NULL, &s), VIGIE_INVAL);
    CHECK(s == NULL);
    vigie_engine *e = NULL;
    vigie_engine_new(NULL, NULL, &e);
    CHECK_EQ_INT(vigie_scanner_new(e, NULL, NULL, &s), VIGIE_INVAL); /* not compiled */
    /* no rule at all: compiles, scans, matches nothing */
    CHECK_EQ_INT(vigie_engine_compile(e), VIGIE_OK);
    CHECK_EQ_INT(vigie_engine_rule_count(e), 0);
    CHECK_EQ_INT(vigie_scanner_new(e, NULL, NULL, &s), VIGIE_OK);
    int rc;
    hits h = scan(s, REC_MATCH, &rc);
    CHECK_EQ_INT(rc, VIGIE_OK);
    CHECK_EQ_INT(h.n, 0);
    vigie_scanner_free(s);
    vigie_engine_free(e);
    vigie_engine_free(NULL);
    vigie_scanner_free(NULL);
}

int main(void)
{
    count_init();
    RUN(test_engine_from_string);
    RUN(test_bad_rule_diag);
    RUN(test_scanner_match);
    RUN(test_scanner_alerts);
    RUN(test_scanner_facts);
    RUN(test_fieldmap);
    RUN(test_zero_allocations_warm);
    RUN(test_threads_share_engine);
    RUN(test_pack_lookup);
    RUN(test_status_names);
    return TEST_DONE();
}
