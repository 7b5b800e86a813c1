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
    vigie_engine *e = three_rules(&dg);
    vigie_scanner *s = NULL;
    CHECK_EQ_INT(vigie_scanner_new(e, NULL, NULL, &s), VIGIE_OK);
    const char *recs[] = {REC_MATCH, REC_NOMATCH, REC_KEYWORD, REC_CLOUDTRAIL, REC_OTHER, REC_BAD};
    int n_match = 0, rc;
    for (int round = 0; round < 3; round++) /* warm: buffers grown, routes cached */
        for (size_t i = 0; i < sizeof recs / sizeof *recs; i++)
            n_match += scan(s, recs[i], &rc).n;
    unsigned long long before = allocs();
    for (int round = 0; round < 2000; round++)
        for (size_t i = 0; i < sizeof recs / sizeof *recs; i++)
            n_match += scan(s, recs[i], &rc).n;
    unsigned long long after = allocs();
    CHECK_MSG(after == before, "%llu allocations over 12000 warm records", after - before);
    CHECK_EQ_INT(n_match, 3 * 2003);
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
    RUN(test_fieldmap);
    RUN(test_zero_allocations_warm);
    RUN(test_threads_share_engine);
    RUN(test_pack_lookup);
    RUN(test_status_names);
    return TEST_DONE();
}
