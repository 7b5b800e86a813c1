/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ingest.c: readers (every format, gzip, zstd, positions, bad records), CSV, log shapes
 * on real records from ../shared/datasets, field maps, and a sweep that reads every M365,
 * Entra, CloudTrail, GCP and Okta dataset file without error.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "ingest/ingest.h"
#include "test.h"

static char tmpdir[] = "/tmp/vigie-test-XXXXXX";
static int n_diag;
static char last_diag[512];

static void diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    n_diag++;
    snprintf(last_diag, sizeof last_diag, "%s:%llu: %s", d->file, (unsigned long long)d->line,
             d->message);
}

static const char *write_tmp(const char *name, const void *data, size_t len)
{
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
    return p;
}

typedef struct recs {
    int n;
    char data[16][256];
    uint64_t line[16], offset[16];
    int fmt;
    vg_reader_stats st;
    int rc;
} recs;

static recs read_all(const char *path)
{
    recs r;
    memset(&r, 0, sizeof r);
    vg_reader *rd;
    vg_reader_opts o = {diag, NULL, 0, 0};
    n_diag = 0;
    if ((r.rc = vg__reader_open(&rd, path, &o)) != VIGIE_OK)
        return r;
    vg_record rec;
    while ((r.rc = vg__reader_next(rd, &rec)) == VIGIE_OK) {
        if (r.n < 16) {
            snprintf(r.data[r.n], 256, "%.*s", (int)(rec.len < 255 ? rec.len : 255), rec.data);
            r.line[r.n] = rec.src.line;
            r.offset[r.n] = rec.src.offset;
        }
        r.n++;
    }
    r.fmt = vg__reader_format(rd);
    r.st = *vg__reader_stats(rd);
    vg__reader_close(rd);
    return r;
}

static void test_ndjson_positions(void)
{
    const char *s = "{\"a\":1}\n\n{\"b\":2}\r\n  {\"c\":3}\n";
    recs r = read_all(write_tmp("x.ndjson", s, strlen(s)));
    CHECK_EQ_INT(r.fmt, VG_FMT_NDJSON);
    CHECK_EQ_INT(r.n, 3);
    CHECK_EQ_STR(r.data[1], "{\"b\":2}");
    CHECK_EQ_INT(r.line[1], 3);
    CHECK_EQ_INT(r.offset[1], 9);
    CHECK_EQ_INT(r.line[2], 4);
    CHECK_EQ_INT(r.offset[2], 20);
}

static void test_array_wrapper_concat(void)
{
    const char *a = "[\n {\"a\":1},\n {\"b\":[1,2]}\n]\n";
    recs r = read_all(write_tmp("a.json", a, strlen(a)));
    CHECK(r.fmt == VG_FMT_JSON_ARRAY && r.n == 2 && r.line[1] == 3);
    const char *w = "{\"Records\": [{\"eventName\":\"A\"}, {\"eventName\":\"B\"}]}";
    r = read_all(write_tmp("w.json", w, strlen(w)));
    CHECK(r.fmt == VG_FMT_JSON_WRAPPED && r.n == 2);
    CHECK_EQ_STR(r.data[1], "{\"eventName\":\"B\"}");
    const char *v = "{\"value\":[{\"x\":1}]}";
    r = read_all(write_tmp("v.json", v, strlen(v)));
    CHECK(r.fmt == VG_FMT_JSON_WRAPPED && r.n == 1);
    const char *c = "{\n  \"a\": 1\n}\n{\n  \"b\": 2\n}\n";
    r = read_all(write_tmp("c.json", c, strlen(c)));
    CHECK(r.fmt == VG_FMT_JSON_CONCAT && r.n == 2 && r.line[1] == 4);
    /* a malformed element between good ones: reported, skipped, the next one read */
    const char *bad = "[\n{\"a\":1},\n{\"b\":,},\n{\"c\":3}\n]";
    r = read_all(write_tmp("bad.json", bad, strlen(bad)));
    CHECK(r.n == 2 && r.st.bad_records == 1 && strstr(last_diag, "bad.json:3:"));
    CHECK_EQ_STR(r.data[1], "{\"c\":3}");
}

static void test_compressed(void)
{
    char text[4096];
    size_t tl = 0;
    for (int i = 0; i < 100; i++)
        tl += (size_t)snprintf(text + tl, sizeof text - tl, "{\"i\":%d}\n", i);
    /* gzip, two members */
    uLong cap = compressBound(tl) + 64;
    unsigned char *gz = malloc(2 * cap);
    size_t gl = 0;
    for (int m = 0; m < 2; m++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)text;
        z.avail_in = (uInt)tl;
        z.next_out = gz + gl;
        z.avail_out = (uInt)cap;
        deflate(&z, Z_FINISH);
        gl += z.total_out;
        deflateEnd(&z);
    }
    recs r = read_all(write_tmp("t.gz", gz, gl));
    CHECK_EQ_INT(r.n, 200);
    CHECK_EQ_INT(r.st.bad_records, 0);
    CHECK_EQ_INT(r.rc, VIGIE_EOF);
    /* truncated: records before the cut kept, the cut reported */
    r = read_all(write_tmp("trunc.gz", gz, gl / 2 + 10));
    CHECK(r.n > 0 && r.n < 200);
    CHECK_EQ_INT(r.rc, VIGIE_TRUNCATED);
    CHECK(strstr(last_diag, "truncated gzip") != NULL);
    free(gz);
    /* zstd */
    size_t zc = ZSTD_compressBound(tl);
    void *zs = malloc(zc);
    size_t zl = ZSTD_compress(zs, zc, text, tl, 3);
    r = read_all(write_tmp("t.zst", zs, zl));
    CHECK_EQ_INT(r.n, 100);
    r = read_all(write_tmp("tz.zst", zs, zl - 5));
    CHECK(r.rc == VIGIE_TRUNCATED || r.rc == VIGIE_DECOMPRESS);
    free(zs);
}

static void test_csv(void)
{
    const char *p = "\xef\xbb\xbf" "CreationDate,UserIds,Operations,AuditData\r\n"
                    "2023-06-01,u@x,MailItemsAccessed,\"{\"\"Operation\"\":\"\"MailItemsAccessed\"\"}\"\r\n";
    recs r = read_all(write_tmp("p.csv", p, strlen(p)));
    CHECK(r.fmt == VG_FMT_CSV_JSON_COLUMN && r.n == 1);
    CHECK_EQ_STR(r.data[0], "{\"Operation\":\"MailItemsAccessed\"}");
    const char *first = "AuditData,RecordId\n\"{\"\"a\"\":1}\",7\n";
    r = read_all(write_tmp("f.csv", first, strlen(first)));
    CHECK(r.n == 1 && !strcmp(r.data[0], "{\"a\":1}"));
    const char *la = "TimeGenerated [UTC],Operation,Empty,DeviceDetail_dynamic,DeviceDetail_string\n"
                     "\"4/28/2021, 3:05:26.000 PM\",\"say \"\"hi\"\"\",,\"{\"\"a\"\":1}\",x\n";
    r = read_all(write_tmp("la.csv", la, strlen(la)));
    CHECK(r.fmt == VG_FMT_CSV_FIELDS && r.n == 1);
    CHECK_EQ_STR(r.data[0], "{\"TimeGenerated\":\"4/28/2021, 3:05:26.000 PM\",\"Operation\":"
                            "\"say \\\"hi\\\"\",\"DeviceDetail\":\"{\\\"a\\\":1}\"}");
    const char *broken = "a,b\n1,2\n3,\"oops\n5,6\n";
    r = read_all(write_tmp("broken.csv", broken, strlen(broken)));
    CHECK(r.n == 2 && r.st.bad_records == 1 && strstr(last_diag, "broken.csv:3:"));
    CHECK_EQ_STR(r.data[1], "{\"a\":\"5\",\"b\":\"6\"}");
}

static vg_eventinfo classify(vg_fieldmap *fm, const char *json)
{
    static vg_jtape t;
    static vg_jscratch *s;
    static vg_buf tmp;
    if (!s)
        s = vg__jscratch_new();
    vg_eventinfo ei;
    memset(&ei, 0, sizeof ei);
    vg__buf_reset(&tmp);
    if (vg__json_parse(&t, json, strlen(json), NULL) == VIGIE_OK)
        vg__shape_classify(fm, &t, s, &tmp, &ei);
    return ei;
}

/* first record of a dataset file (any format) */
static char *first_record(const char *rel)
{
    char p[4096];
    shared_path(p, sizeof p, "datasets/%s", rel);
    vg_reader *rd;
    vg_reader_opts o = {NULL, NULL, 0, 0};
    if (vg__reader_open(&rd, p, &o))
        return NULL;
    vg_record rec;
    char *out = NULL;
    if (vg__reader_next(rd, &rec) == VIGIE_OK)
        out = strndup(rec.data, rec.len);
    vg__reader_close(rd);
    return out;
}

static void test_shapes_on_real_data(void)
{
    vg_fieldmap *fm;
    CHECK_EQ_INT(vg__fieldmap_load_builtin(&fm, diag, NULL), VIGIE_OK);
    static const struct {
        const char *file;
        int shape;
        const char *product, *service;
        bool tenant, time;
    } cases[] = {
        {"azure-sentinel-training-lab/office_activity.csv", VG_SHAPE_OFFICEACTIVITY, "m365", "audit", true, true},
        {"azure-sentinel-training-lab/sign-in_adelete.csv", VG_SHAPE_SIGNIN_LA, "azure", "signinlogs", true, true},
        {"azure-sentinel-training-lab/AuditLogs_Hunting.csv", VG_SHAPE_AUDIT_LA, "azure", "auditlogs", false, false},
        {"azure-sentinel-training-lab/azureActivity_adele.csv", VG_SHAPE_AZURE_ACTIVITY, "azure", "activitylogs", true, true},
        {"panther-analysis-tests/Azure_Audit/events.jsonl", VG_SHAPE_SIGNIN_EVENTHUB, "azure", "signinlogs", true, true},
        {"panther-analysis-tests/AWS_CloudTrail/events.jsonl", VG_SHAPE_CLOUDTRAIL, "aws", "cloudtrail", true, true},
        {"panther-analysis-tests/GCP_AuditLog/events.jsonl", VG_SHAPE_GCP_AUDIT, "gcp", "gcp.audit", false, true},
        {"panther-analysis-tests/Okta_SystemLog/events.jsonl", VG_SHAPE_OKTA, "okta", "okta", false, true},
        {"panther-analysis-tests/Microsoft365_Audit_Exchange/events.jsonl", VG_SHAPE_M365_UAL, "m365", "audit", true, true},
        {"suzaku-test-files/azure_value_format.json", VG_SHAPE_AZURE_ACTIVITY, "azure", "activitylogs", false, true},
        {"stratus-red-team-detonations/aws.defense-evasion.cloudtrail-stop.json", VG_SHAPE_CLOUDTRAIL, "aws", "cloudtrail", true, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *rec = first_record(cases[i].file);
        CHECK_MSG(rec != NULL, "%s", cases[i].file);
        if (!rec)
            continue;
        vg_eventinfo ei = classify(fm, rec);
        CHECK_MSG(ei.shape == cases[i].shape, "%s: shape %s", cases[i].file,
                  vg__shape_name(ei.shape));
        CHECK_MSG(ei.product && !strcmp(ei.product, cases[i].product), "%s", cases[i].file);
        CHECK_MSG(vg__logsource_matches(&ei, cases[i].product, NULL, cases[i].service), "%s",
                  cases[i].file);
        if (cases[i].tenant)
            CHECK_MSG(ei.tenant != NULL, "%s: no tenant", cases[i].file);
        if (cases[i].time)
            CHECK_MSG(ei.has_time, "%s: no time", cases[i].file);
        free(rec);
    }
    /* Windows: Sysmon category, Security 4688 */
    vg_eventinfo ei = classify(fm, "{\"Event\":{\"System\":{\"EventID\":1,\"Channel\":"
                                   "\"Microsoft-Windows-Sysmon/Operational\"}}}");
    CHECK(ei.shape == VG_SHAPE_WINDOWS &&
          vg__logsource_matches(&ei, "windows", "process_creation", NULL));
    CHECK(!vg__logsource_matches(&ei, "windows", "file_event", NULL));
    ei = classify(fm, "{\"Event\":{\"System\":{\"EventID\":{\"#text\":4688},\"Channel\":"
                      "\"Security\"}}}");
    CHECK(vg__logsource_matches(&ei, "windows", "process_creation", "security"));
    uint32_t n;
    const char *const *p = vg__fieldmap_paths(fm, ei.map_id, "Image", &n);
    CHECK(n >= 2 && !strcmp(p[0], "Event.EventData.NewProcessName"));
    /* tenant, time, field map for a UAL record and a Graph sign-in (schema fixtures) */
    ei = classify(fm, "{\"CreationTime\":\"2023-06-13T02:41:17\",\"Operation\":\"MailItemsAccessed\","
                      "\"RecordType\":50,\"Workload\":\"Exchange\",\"OrganizationId\":\"org-1\"}");
    CHECK(ei.shape == VG_SHAPE_M365_UAL && ei.tenant_len == 5 && !memcmp(ei.tenant, "org-1", 5));
    CHECK(ei.has_time && ei.time == 1686624077.0);
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "exchange"));
    ei = classify(fm, "{\"id\":\"1\",\"createdDateTime\":\"2023-06-15T00:58:11Z\",\"userPrincipalName\":"
                      "\"a@b\",\"appId\":\"x\",\"status\":{\"errorCode\":50126},\"resourceTenantId\":\"t9\"}");
    CHECK(ei.shape == VG_SHAPE_SIGNIN_GRAPH && ei.tenant_len == 2);
    p = vg__fieldmap_paths(fm, ei.map_id, "ResultType", &n);
    CHECK(n >= 1 && !strcmp(p[0], "status.errorCode"));
    vg__fieldmap_free(fm);
}

static void sweep(const char *dir, int *files, int *records, int *bad)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            sweep(p, files, records, bad);
            continue;
        }
        const char *ext = strrchr(e->d_name, '.');
        if (!ext || (strcmp(ext, ".json") && strcmp(ext, ".jsonl") && strcmp(ext, ".csv")) ||
            !strcmp(e->d_name, "MANIFEST.csv") || !strcmp(e->d_name, "labels.jsonl") ||
            !strcmp(e->d_name, "labels.csv") || !strcmp(e->d_name, "index.csv"))
            continue;
        recs r = read_all(p);
        (*files)++;
        *records += r.n;
        *bad += (int)r.st.bad_records;
        CHECK_MSG(r.st.bad_records == 0 && (r.rc == VIGIE_EOF), "%s: %s", p, last_diag);
    }
    closedir(d);
}

static void test_read_every_cloud_dataset(void)
{
    const char *dirs[] = {"azure-sentinel-training-lab", "azure-sentinel-notebooks",
                          "panther-analysis-tests", "suzaku-test-files",
                          "stratus-red-team-detonations"};
    int files = 0, records = 0, bad = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char p[4096];
        shared_path(p, sizeof p, "datasets/%s", dirs[i]);
        sweep(p, &files, &records, &bad);
    }
    printf("datasets: %d files, %d records, %d bad\n", files, records, bad);
    CHECK(files > 20 && records > 1000);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_ndjson_positions);
    RUN(test_array_wrapper_concat);
    RUN(test_compressed);
    RUN(test_csv);
    RUN(test_shapes_on_real_data);
    RUN(test_read_every_cloud_dataset);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    return TEST_DONE();
}
