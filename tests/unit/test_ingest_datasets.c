/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ingest_datasets.c: reads every file of the public datasets under shared/datasets
 * (CloudTrail from Stratus and Suzaku, Panther's test events, Sentinel training-lab and
 * notebook CSV exports) through the reader and the classifier, as a scan would: no crash,
 * no bad record in files known to be valid, and each file's records get the shape expected
 * for its source. VIGIE_TEST_VERBOSE=1 prints one summary line per file.
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest/ingest.h"
#include "test.h"

static const char *const dirs[] = {"azure-sentinel-training-lab", "azure-sentinel-notebooks",
                                   "panther-analysis-tests", "suzaku-test-files",
                                   "stratus-red-team-detonations"};

static bool skipped(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    return (n > 5 && !strcmp(base + n - 5, ".evtx")) || (n > 3 && !strcmp(base + n - 3, ".md")) ||
           !strcmp(base, "MANIFEST.csv") || !strcmp(base, "labels.csv") ||
           !strcmp(base, "labels.jsonl");
}

/* The shape a file's records have (by its source), how many of them must have it in
 * percent (Panther's test events are hand-trimmed, some folders mix log types: EKS audit
 * among Azure activity), and whether each must carry a time. */
typedef struct want {
    const char *part;
    int shape;
    int pct;
    bool time;
    const char *p_log_type; /* Panther: records of another log type are not counted */
} want;

static const want wants[] = {
    {"stratus-red-team-detonations/", VG_SHAPE_CLOUDTRAIL, 100, true, NULL},
    {"suzaku-test-files/azure_value_format", VG_SHAPE_AZURE_ACTIVITY, 100, true, NULL},
    {"suzaku-test-files/", VG_SHAPE_CLOUDTRAIL, 100, true, NULL},
    {"office_activity.csv", VG_SHAPE_OFFICEACTIVITY, 100, true, NULL},
    {"office_activity_inbox_rule.csv", VG_SHAPE_OFFICEACTIVITY, 100, false, NULL},
    {"sign-in_adelete.csv", VG_SHAPE_SIGNIN_LA, 100, true, NULL},
    {"AuditLogs_Hunting.csv", VG_SHAPE_AUDIT_LA, 100, false, NULL},
    {"azureActivity_adele.csv", VG_SHAPE_AZURE_ACTIVITY, 100, true, NULL},
    {"/AWS_CloudTrail/", VG_SHAPE_CLOUDTRAIL, 90, false, "AWS.CloudTrail"},
    {"/GCP_AuditLog/", VG_SHAPE_GCP_AUDIT, 90, false, "GCP.AuditLog"},
    {"/Okta_SystemLog/", VG_SHAPE_OKTA, 90, false, "Okta.SystemLog"},
    {"/Windows_EventLogs/", VG_SHAPE_WINDOWS, 100, true, NULL},
    {"/Microsoft365_Audit_", VG_SHAPE_M365_UAL, 100, true, NULL},
    {"/Azure_MonitorActivity/", VG_SHAPE_AZURE_ACTIVITY, 90, false, "Azure.MonitorActivity"},
};

static const want *expected(const char *path)
{
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++)
        if (strstr(path, wants[i].part))
            return &wants[i];
    return NULL;
}

static void test_every_dataset_file(void)
{
    const char *args[sizeof dirs / sizeof dirs[0]];
    char paths[sizeof dirs / sizeof dirs[0]][512];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        shared_path(paths[i], sizeof paths[i], "datasets/%s", dirs[i]);
        args[i] = paths[i];
    }
    vg_inputs in = {0};
    CHECK_EQ_INT(vg__inputs_expand(&in, args, sizeof dirs / sizeof dirs[0], NULL, NULL), VIGIE_OK);
    CHECK(in.n > 40);
    vg_fieldmap *fm = NULL;
    CHECK_EQ_INT(vg__fieldmap_load_builtin(&fm, NULL, NULL), VIGIE_OK);
    vg_jtape t;
    vg__jtape_init(&t);
    vg_jscratch *s = vg__jscratch_new();
    vg_buf tmp;
    vg__buf_init(&tmp, 0);
    bool verbose = getenv("VIGIE_TEST_VERBOSE") != NULL;
    uint32_t n_files = 0;
    uint64_t n_records = 0;
    for (uint32_t i = 0; fm && i < in.n; i++) {
        if (skipped(in.paths[i]))
            continue;
        n_files++;
        vg_reader *r = NULL;
        int rc = vg__reader_open(&r, in.paths[i], NULL);
        CHECK_EQ_INT(rc, VIGIE_OK);
        if (rc)
            continue;
        vg_record rec;
        uint64_t n = 0, n_foreign = 0, parse_bad = 0, by_shape[VG_SHAPE_COUNT] = {0};
        const want *w = expected(in.paths[i]);
        while ((rc = vg__reader_next(r, &rec)) == VIGIE_OK) {
            n++;
            vg_jerr err;
            if (vg__json_parse(&t, rec.data, rec.len, &err) != VIGIE_OK) {
                parse_bad++;
                if (verbose)
                    fprintf(stderr, "  %s:%llu: %s\n", in.paths[i],
                            (unsigned long long)rec.src.line, err.msg);
                continue;
            }
            if (w && w->p_log_type) {
                int64_t lt = vg__json_obj_get(&t, 0, "p_log_type", 10);
                size_t ll = lt >= 0 ? t.tok[lt].len : 0;
                if (lt >= 0 && (ll != strlen(w->p_log_type) ||
                                memcmp(vg__json_raw(&t, (uint32_t)lt), w->p_log_type, ll))) {
                    n_foreign++;
                    continue;
                }
            }
            vg__jscratch_reset(s);
            vg__buf_reset(&tmp);
            vg_eventinfo ei;
            vg__shape_classify(fm, &t, s, &tmp, &ei);
            by_shape[ei.shape]++;
            if (w && w->pct == 100 && ei.shape != w->shape)
                CHECK_MSG(0, "%s:%llu: shape %s, want %s", in.paths[i],
                          (unsigned long long)rec.src.line, vg__shape_name(ei.shape),
                          vg__shape_name(w->shape));
            if (w && w->time)
                CHECK_MSG(ei.has_time, "%s:%llu: no time", in.paths[i],
                          (unsigned long long)rec.src.line);
        }
        if (w)
            CHECK_MSG(by_shape[w->shape] * 100 >= (n - n_foreign) * (uint64_t)w->pct,
                      "%s: %llu of %llu records are %s", in.paths[i],
                      (unsigned long long)by_shape[w->shape], (unsigned long long)n,
                      vg__shape_name(w->shape));
        CHECK_EQ_INT(rc, VIGIE_EOF);
        const vg_reader_stats *st = vg__reader_stats(r);
        CHECK_MSG(st->bad_records == 0 && parse_bad == 0, "%s: %llu bad records, %llu unparsable",
                  in.paths[i], (unsigned long long)st->bad_records,
                  (unsigned long long)parse_bad);
        CHECK_EQ_INT(st->records, n);
        n_records += n;
        if (verbose) {
            fprintf(stderr, "%s: %s, %llu records:", in.paths[i],
                    vg__format_name(vg__reader_format(r)), (unsigned long long)n);
            for (int k = 0; k < VG_SHAPE_COUNT; k++)
                if (by_shape[k])
                    fprintf(stderr, " %s=%llu", vg__shape_name(k),
                            (unsigned long long)by_shape[k]);
            fputc('\n', stderr);
        }
        vg__reader_close(r);
    }
    CHECK(n_files >= 40);
    CHECK(n_records > 1000);
    vg__buf_free(&tmp);
    vg__jscratch_free(s);
    vg__jtape_free(&t);
    vg__fieldmap_free(fm);
    vg__inputs_free(&in);
}

int main(void)
{
    RUN(test_every_dataset_file);
    return TEST_DONE();
}
