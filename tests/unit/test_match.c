/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_match.c: domain assertions (rule YAML + event JSON -> match or not) over the whole
 * compile + match path, including logsource routing and field mapping across log shapes;
 * the prefilter never changes a result (SigmaHQ's cloud rules over every cloud dataset, with
 * and without it); regex match limits.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "match/match.h"
#include "test.h"

static vg_fieldmap *fm;

static void quiet(void *ud, const vigie_diag *d)
{
    (void)ud;
    (void)d;
}

static int count_cb(void *ud, uint32_t ri)
{
    (void)ri;
    (*(int *)ud)++;
    return 0;
}

/* Does the rule fire on the event, with logsource routing and field maps as a scan does? */
static int matches(const char *rule, const char *event)
{
    vg_ruleload_opts lo = {quiet, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg__ruleload_string(rl, "t.yml", rule, strlen(rule));
    vg_compile_opts co = {quiet, NULL, fm, false, false};
    vg_ruleset *rs = NULL;
    vg_matcher *m = NULL;
    int hits = -1;
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jscratch *js = vg__jscratch_new();
    vg_buf tmp;
    vg__buf_init(&tmp, 0);
    if (vg__ruleset_compile(rl, &co, &rs) == VIGIE_OK && vg__ruleset_count(rs) == 1 &&
        vg__matcher_new(rs, &m) == VIGIE_OK &&
        vg__json_parse(&t, event, strlen(event), NULL) == VIGIE_OK) {
        vg_eventinfo ei;
        vg__shape_classify(fm, &t, js, &tmp, &ei);
        hits = 0;
        vg__matcher_run(m, &t, &ei, count_cb, &hits);
    }
    vg__buf_free(&tmp);
    vg__jscratch_free(js);
    vg__jtape_free(&t);
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
    return hits;
}

#define assert_rule_matches(rule, event, want)                                                    \
    CHECK_MSG(matches(rule, event) == (want), "want %d: %s", want, event)

static const char *signin_rule =
    "title: failed sign-in\nlogsource:\n  product: azure\n  service: signinlogs\n"
    "detection:\n  sel:\n    ResultType: 50126\n    UserAgent|contains: python\n"
    "  condition: sel\n";

static void test_signin_field_mapping_across_shapes(void)
{
    /* Log Analytics row */
    assert_rule_matches(signin_rule,
                        "{\"Type\":\"SigninLogs\",\"TenantId\":\"t\",\"ResultType\":\"50126\","
                        "\"UserAgent\":\"python-requests/2.31\",\"TimeGenerated\":\"2023-06-01T00:00:00Z\"}",
                        1);
    /* Event Hub envelope */
    assert_rule_matches(signin_rule,
                        "{\"time\":\"2023-06-01T00:00:00Z\",\"category\":\"SignInLogs\",\"resourceId\":"
                        "\"/tenants/t/providers/Microsoft.aadiam\",\"resultType\":\"50126\",\"properties\":"
                        "{\"userAgent\":\"python-requests\",\"status\":{\"errorCode\":50126}}}",
                        1);
    /* Graph signIn */
    assert_rule_matches(signin_rule,
                        "{\"createdDateTime\":\"2023-06-01T00:00:00Z\",\"userPrincipalName\":\"a@b\","
                        "\"appId\":\"x\",\"status\":{\"errorCode\":50126},\"userAgent\":\"Python/3\"}",
                        1);
    /* same fields, other logsource: routed away */
    assert_rule_matches(signin_rule,
                        "{\"eventVersion\":\"1.08\",\"eventSource\":\"x\",\"eventName\":\"y\","
                        "\"ResultType\":\"50126\",\"UserAgent\":\"python\"}",
                        0);
    assert_rule_matches(signin_rule,
                        "{\"Type\":\"SigninLogs\",\"ResultType\":\"0\",\"UserAgent\":\"python\"}", 0);
}

static void test_m365_mail_access(void)
{
    const char *rule = "title: consumer token\nlogsource:\n  product: m365\n  service: exchange\n"
                       "detection:\n  sel:\n    Operation: MailItemsAccessed\n"
                       "    OperationProperties.MailAccessType: Bind\n"
                       "    Folders.FolderItems.InternetMessageId|endswith: '@evil.example>'\n"
                       "  condition: sel\n";
    const char *ual = "{\"CreationTime\":\"2023-06-13T02:41:17\",\"Operation\":\"MailItemsAccessed\","
                      "\"RecordType\":50,\"Workload\":\"Exchange\",\"OrganizationId\":\"o\","
                      "\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"}],"
                      "\"Folders\":[{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{\"InternetMessageId\":"
                      "\"<1@ok.example>\"},{\"InternetMessageId\":\"<2@evil.example>\"}]}]}";
    assert_rule_matches(rule, ual, 1);
    /* Sentinel OfficeActivity: the lists arrive as JSON strings */
    const char *oa = "{\"Type\":\"OfficeActivity\",\"TimeGenerated\":\"2023-06-13T02:41:17Z\","
                     "\"Operation\":\"MailItemsAccessed\",\"OfficeWorkload\":\"Exchange\","
                     "\"OperationProperties\":\"[{\\\"Name\\\":\\\"MailAccessType\\\",\\\"Value\\\":\\\"Bind\\\"}]\","
                     "\"Folders\":\"[{\\\"FolderItems\\\":[{\\\"InternetMessageId\\\":\\\"<3@evil.example>\\\"}]}]\"}";
    assert_rule_matches(rule, oa, 1);
    const char *sync = "{\"CreationTime\":\"2023-06-13T02:41:17\",\"Operation\":\"MailItemsAccessed\","
                       "\"RecordType\":50,\"Workload\":\"Exchange\","
                       "\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"Sync\"}],"
                       "\"Folders\":[{\"FolderItems\":[{\"InternetMessageId\":\"<2@evil.example>\"}]}]}";
    assert_rule_matches(rule, sync, 0);
}

static void test_windows_security_4688(void)
{
    const char *rule = "title: whoami\nlogsource:\n  product: windows\n  category: process_creation\n"
                       "detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";
    assert_rule_matches(rule,
                        "{\"Event\":{\"System\":{\"EventID\":4688,\"Channel\":\"Security\"},"
                        "\"EventData\":{\"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\whoami.exe\"}}}",
                        1);
    assert_rule_matches(rule,
                        "{\"Event\":{\"System\":{\"EventID\":1,\"Channel\":"
                        "\"Microsoft-Windows-Sysmon/Operational\"},\"EventData\":{\"Image\":"
                        "\"C:\\\\Windows\\\\System32\\\\WHOAMI.EXE\"}}}",
                        1);
    /* right EventID, wrong channel: not a process creation */
    assert_rule_matches(rule,
                        "{\"Event\":{\"System\":{\"EventID\":1,\"Channel\":\"Application\"},"
                        "\"EventData\":{\"Image\":\"C:\\\\whoami.exe\"}}}",
                        0);
}

static void test_regex_limit(void)
{
    const char *rule = "title: catastrophic\nlogsource:\n  product: test\ndetection:\n  sel:\n"
                       "    a|re: '^(\\w+\\s?)*$'\n  condition: sel\n";
    char ev[200];
    snprintf(ev, sizeof ev, "{\"a\":\"%s!\"}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    double t0 = vg__now();
    vg_ruleload_opts lo = {quiet, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    vg__ruleload_string(rl, "t.yml", rule, strlen(rule));
    vg_compile_opts co = {quiet, NULL, fm, true, false};
    vg_ruleset *rs;
    CHECK_EQ_INT(vg__ruleset_compile(rl, &co, &rs), VIGIE_OK);
    vg_matcher *m;
    CHECK_EQ_INT(vg__matcher_new(rs, &m), VIGIE_OK);
    vg_jtape t;
    vg__jtape_init(&t);
    vg__json_parse(&t, ev, strlen(ev), NULL);
    vg_eventinfo ei;
    memset(&ei, 0, sizeof ei);
    int hits = 0;
    vg__matcher_run(m, &t, &ei, count_cb, &hits);
    CHECK_EQ_INT(hits, 0);
    CHECK(vg__matcher_stats(m)->regex_limit == 1);
    CHECK(vg__now() - t0 < 5.0);
    vg__jtape_free(&t);
    vg__matcher_free(m);
    vg__ruleset_free(rs);
    vg__ruleload_free(rl);
}

/* ---- prefilter equivalence ------------------------------------------------------------------- */

typedef struct pf_run {
    vg_matcher *with, *without;
    uint64_t hits_with, hits_without, events, differ;
    uint32_t a[4096], b[4096];
    uint32_t na, nb;
} pf_run;

static int rec_a(void *ud, uint32_t ri)
{
    pf_run *p = ud;
    if (p->na < 4096)
        p->a[p->na++] = ri;
    return 0;
}

static int rec_b(void *ud, uint32_t ri)
{
    pf_run *p = ud;
    if (p->nb < 4096)
        p->b[p->nb++] = ri;
    return 0;
}

static void pf_file(pf_run *p, const char *path)
{
    vg_reader *rd;
    vg_reader_opts o = {NULL, NULL, 0, 0};
    if (vg__reader_open(&rd, path, &o) != VIGIE_OK)
        return;
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jscratch *js = vg__jscratch_new();
    vg_buf tmp;
    vg__buf_init(&tmp, 0);
    vg_record rec;
    while (vg__reader_next(rd, &rec) == VIGIE_OK) {
        if (vg__json_parse(&t, rec.data, rec.len, NULL) != VIGIE_OK)
            continue;
        vg_eventinfo ei;
        vg__jscratch_reset(js);
        vg__buf_reset(&tmp);
        vg__shape_classify(fm, &t, js, &tmp, &ei);
        p->na = p->nb = 0;
        vg__matcher_run(p->with, &t, &ei, rec_a, p);
        vg__matcher_run(p->without, &t, &ei, rec_b, p);
        p->events++;
        p->hits_with += p->na;
        p->hits_without += p->nb;
        if (p->na != p->nb || memcmp(p->a, p->b, p->na * sizeof *p->a) != 0)
            p->differ++;
    }
    vg__buf_free(&tmp);
    vg__jscratch_free(js);
    vg__jtape_free(&t);
    vg__reader_close(rd);
}

static void pf_dir(pf_run *p, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, "MANIFEST") || strstr(e->d_name, "labels") ||
            strstr(e->d_name, ".md") || strstr(e->d_name, ".evtx"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            pf_dir(p, path);
        else
            pf_file(p, path);
    }
    closedir(d);
}

static void test_prefilter_never_changes_results(void)
{
    char rules[4096];
    shared_path(rules, sizeof rules, "sigma/rules/cloud");
    vg_ruleload_opts lo = {quiet, NULL, NULL, 0};
    vg_ruleload *rl = vg__ruleload_new(&lo);
    CHECK_EQ_INT(vg__ruleload_path(rl, rules), VIGIE_OK);
    vg_ruleset *with = NULL, *without = NULL;
    vg_compile_opts c1 = {quiet, NULL, fm, false, false}, c2 = {quiet, NULL, fm, false, true};
    CHECK_EQ_INT(vg__ruleset_compile(rl, &c1, &with), VIGIE_OK);
    CHECK_EQ_INT(vg__ruleset_compile(rl, &c2, &without), VIGIE_OK);
    pf_run *p = calloc(1, sizeof *p);
    vg__matcher_new(with, &p->with);
    vg__matcher_new(without, &p->without);
    const char *dirs[] = {"panther-analysis-tests", "stratus-red-team-detonations",
                          "suzaku-test-files", "azure-sentinel-training-lab"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char d[4096];
        shared_path(d, sizeof d, "datasets/%s", dirs[i]);
        pf_dir(p, d);
    }
    uint32_t n_lit, n_always;
    vg__ruleset_prefilter_info(with, &n_lit, &n_always);
    printf("prefilter: %u rules, %u literals, %u rules without literals; %llu events, %llu "
           "matches; candidates %llu of %llu routed\n",
           vg__ruleset_count(with), n_lit, n_always, (unsigned long long)p->events,
           (unsigned long long)p->hits_with,
           (unsigned long long)vg__matcher_stats(p->with)->candidates,
           (unsigned long long)vg__matcher_stats(p->with)->routed);
    CHECK(p->events > 500);
    CHECK(p->hits_without > 10);
    CHECK_EQ_INT(p->differ, 0);
    CHECK(vg__matcher_stats(p->with)->candidates < vg__matcher_stats(p->without)->candidates);
    vg__matcher_free(p->with);
    vg__matcher_free(p->without);
    free(p);
    vg__ruleset_free(with);
    vg__ruleset_free(without);
    vg__ruleload_free(rl);
}

int main(void)
{
    if (vg__fieldmap_load_builtin(&fm, quiet, NULL) != VIGIE_OK)
        return 1;
    RUN(test_signin_field_mapping_across_shapes);
    RUN(test_m365_mail_access);
    RUN(test_windows_security_4688);
    RUN(test_regex_limit);
    RUN(test_prefilter_never_changes_results);
    vg__fieldmap_free(fm);
    return TEST_DONE();
}
