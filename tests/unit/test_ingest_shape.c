/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ingest_shape.c: log shapes on real records (shared/datasets) and on the schema
 * fixtures of tests/data/ingest for shapes with no public sample: shape, Sigma logsource
 * (product / service / category, as SigmaHQ's rules name them), tenant and time; then the
 * field maps: a Sigma field name, written any way SigmaHQ writes it, resolves to the value
 * the event holds on each shape (the first candidate path present wins, as in the matcher).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_int.h"
#include "test.h"

static vg_fieldmap *fm;
static vg_jtape tape;
static vg_jscratch *js;
static vg_buf tmp;
static char *owned; /* the current record text */

/* ---- helpers ---- */

/* len 0: strlen(json) */
static bool classify_text(const char *json, size_t len, vg_eventinfo *ei)
{
    if (!len)
        len = strlen(json);
    free(owned);
    owned = strndup(json, len);
    memset(ei, 0, sizeof *ei);
    if (!owned || vg__json_parse(&tape, owned, len, NULL) != VIGIE_OK)
        return false;
    vg__jscratch_reset(js);
    vg__buf_reset(&tmp);
    vg__shape_classify(fm, &tape, js, &tmp, ei);
    return true;
}

/* The first record of `path` (relative to shared/datasets, or absolute) classified as
 * `shape`; its eventinfo in *ei. */
static bool find_record(const char *path, int shape, vg_eventinfo *ei)
{
    char p[1024];
    if (path[0] == '/')
        snprintf(p, sizeof p, "%s", path);
    else
        shared_path(p, sizeof p, "datasets/%s", path);
    vg_reader *r;
    if (vg__reader_open(&r, p, NULL) != VIGIE_OK)
        return false;
    vg_record rec;
    bool found = false;
    while (!found && vg__reader_next(r, &rec) == VIGIE_OK)
        found = classify_text(rec.data, rec.len, ei) && ei->shape == shape;
    vg__reader_close(r);
    return found;
}

static bool tenant_is(const vg_eventinfo *ei, const char *want)
{
    return ei->tenant && ei->tenant_len == strlen(want) && !memcmp(ei->tenant, want, ei->tenant_len);
}

typedef struct first_val {
    char s[256];
    bool found;
} first_val;

static int take_first(void *ud, const vg_jval *v)
{
    first_val *f = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type == VG_J_STRING) {
        vg_buf b;
        vg__buf_init(&b, 0);
        size_t n;
        const char *s = vg__json_str(v->tape, v->tok, &b, &n);
        snprintf(f->s, sizeof f->s, "%.*s", (int)n, s);
        vg__buf_free(&b);
    } else {
        snprintf(f->s, sizeof f->s, "%.*s", (int)(k->type == VG_J_OBJECT || k->type == VG_J_ARRAY ? 1 : k->len),
                 vg__json_raw(v->tape, v->tok));
    }
    f->found = true;
    return 1;
}

/* Value of Sigma field `field` on the current record, as the matcher resolves it. */
static const char *field(const vg_eventinfo *ei, const char *name)
{
    static first_val f;
    memset(&f, 0, sizeof f);
    uint32_t n = 0;
    const char *const *paths = vg__fieldmap_paths(fm, ei->map_id, name, &n);
    for (uint32_t i = 0; i < n && !f.found; i++)
        vg__json_path_each(&tape, 0, paths[i], strlen(paths[i]), js, take_first, &f);
    return f.found ? f.s : "(absent)";
}

static const char *fixture(const char *name)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/tests/data/ingest/%s", VIGIE_SOURCE_DIR, name);
    return p;
}

/* ---- shapes on real records ---- */

static void test_cloudtrail(void)
{
    vg_eventinfo ei;
    CHECK(find_record("stratus-red-team-detonations/aws.defense-evasion.cloudtrail-stop.json",
                      VG_SHAPE_CLOUDTRAIL, &ei));
    CHECK(vg__logsource_matches(&ei, "aws", NULL, "cloudtrail"));
    CHECK(!vg__logsource_matches(&ei, "azure", NULL, NULL));
    CHECK(ei.tenant && ei.tenant_len == 12); /* recipientAccountId: the AWS account */
    CHECK(ei.has_time && ei.time > 1.7e9);
    CHECK_EQ_STR(field(&ei, "eventName"), "StopLogging");
    CHECK_EQ_STR(field(&ei, "eventSource"), "cloudtrail.amazonaws.com");
    /* wrapped {"Records": [...]} */
    CHECK(find_record("suzaku-test-files/test.json", VG_SHAPE_CLOUDTRAIL, &ei));
    /* Panther's lower-cased keys */
    CHECK(classify_text("{\"eventsource\":\"iam.amazonaws.com\",\"eventname\":\"CreateUser\","
                        "\"eventtime\":\"2023-01-01T00:00:00Z\",\"awsregion\":\"us-east-1\"}",
                        0, &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_CLOUDTRAIL);
    CHECK(ei.has_time && ei.time == 1672531200.0);
}

static void test_okta_gcp(void)
{
    vg_eventinfo ei;
    CHECK(find_record("panther-analysis-tests/Okta_SystemLog/events.jsonl", VG_SHAPE_OKTA, &ei));
    CHECK(vg__logsource_matches(&ei, "okta", NULL, "okta"));
    CHECK(ei.has_time);
    CHECK(strcmp(field(&ei, "eventType"), "(absent)") != 0);
    CHECK(find_record("panther-analysis-tests/GCP_AuditLog/events.jsonl", VG_SHAPE_GCP_AUDIT,
                      &ei));
    CHECK(vg__logsource_matches(&ei, "gcp", NULL, "gcp.audit"));
    /* tenant = resource.labels.project_id; SigmaHQ's short names resolve */
    const char *gcp = "{\"protoPayload\":{\"@type\":\"type.googleapis.com/google.cloud.audit.AuditLog\","
                      "\"methodName\":\"SetIamPolicy\",\"serviceName\":\"cloudresourcemanager.googleapis.com\"},"
                      "\"resource\":{\"type\":\"project\",\"labels\":{\"project_id\":\"proj-1\"}},"
                      "\"timestamp\":\"2023-06-01T00:00:01.5Z\",\"logName\":\"projects/proj-1/logs/"
                      "cloudaudit.googleapis.com%2Factivity\"}";
    CHECK(classify_text(gcp, strlen(gcp), &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_GCP_AUDIT);
    CHECK(tenant_is(&ei, "proj-1"));
    CHECK(ei.has_time && ei.time == 1685577601.5);
    CHECK_EQ_STR(field(&ei, "gcp.audit.method_name"), "SetIamPolicy");
    CHECK_EQ_STR(field(&ei, "data.protoPayload.serviceName"),
                 "cloudresourcemanager.googleapis.com");
}

static void test_m365(void)
{
    vg_eventinfo ei;
    /* Panther's lower-cased Exchange records */
    CHECK(find_record("panther-analysis-tests/Microsoft365_Audit_Exchange/events.jsonl",
                      VG_SHAPE_M365_UAL, &ei));
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "exchange"));
    CHECK(ei.tenant != NULL && ei.has_time);
    /* schema fixture: MailItemsAccessed */
    CHECK(find_record(fixture("ual_mailitemsaccessed.json"), VG_SHAPE_M365_UAL, &ei));
    CHECK(tenant_is(&ei, "b5a1c9f2-0f4c-4a4b-9d6e-2a3b4c5d6e7f"));
    CHECK(ei.has_time && ei.time == 1686624077.0); /* no zone: UTC */
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "audit"));
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "exchange"));
    CHECK(!vg__logsource_matches(&ei, "m365", NULL, "threat_management"));
    CHECK_EQ_STR(field(&ei, "eventName"), "MailItemsAccessed");
    CHECK_EQ_STR(field(&ei, "eventSource"), "Exchange");
    CHECK_EQ_STR(field(&ei, "status"), "Succeeded");
    CHECK_EQ_STR(field(&ei, "Client_IPAddress"), "51.89.156.153");
    CHECK_EQ_STR(field(&ei, "OperationProperties.MailAccessType"), "Bind");
    CHECK_EQ_STR(field(&ei, "AppAccessContext.UniqueTokenId"), "Zk2WxvK5n0u0Hq0eXtwAAA");
    /* Purview CSV export: the AuditData column is the record */
    CHECK(find_record(fixture("purview_export.csv"), VG_SHAPE_M365_UAL, &ei));
    CHECK_EQ_STR(field(&ei, "Operation"), "MailItemsAccessed");
    CHECK_EQ_STR(field(&ei, "Folders.FolderItems.InternetMessageId"), "<a1@contoso.com>");
    CHECK(tenant_is(&ei, "b5a1c9f2-0f4c-4a4b-9d6e-2a3b4c5d6e7f"));
    /* an AzureActiveDirectory sign-in in the UAL */
    const char *li = "{\"CreationTime\":\"2023-06-13T02:45:00\",\"Operation\":\"UserLoggedIn\","
                     "\"RecordType\":15,\"Workload\":\"AzureActiveDirectory\",\"OrganizationId\":\"o\"}";
    CHECK(classify_text(li, strlen(li), &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_M365_UAL);
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "audit"));
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "azuread"));
    CHECK(!vg__logsource_matches(&ei, "m365", NULL, "exchange"));
    /* Security & Compliance alerts: threat_management */
    const char *tm = "{\"CreationTime\":\"2023-06-13T02:45:00\",\"Operation\":\"AlertTriggered\","
                     "\"RecordType\":40,\"Workload\":\"SecurityComplianceCenter\",\"ResultStatus\":\"Succeeded\"}";
    CHECK(classify_text(tm, strlen(tm), &ei));
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "threat_management"));
    CHECK_EQ_STR(field(&ei, "eventSource"), "SecurityComplianceCenter");
}

static void test_officeactivity(void)
{
    vg_eventinfo ei;
    CHECK(find_record("azure-sentinel-training-lab/office_activity.csv", VG_SHAPE_OFFICEACTIVITY,
                      &ei));
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "audit"));
    CHECK(ei.tenant != NULL && ei.has_time);
    CHECK_EQ_STR(field(&ei, "eventSource"), field(&ei, "OfficeWorkload"));
    /* JSON-in-string columns read through */
    const char *oa = "{\"Type\":\"OfficeActivity\",\"TimeGenerated\":\"2023-06-13T02:41:17Z\","
                     "\"TenantId\":\"t-1\",\"Operation\":\"MailItemsAccessed\",\"OfficeWorkload\":"
                     "\"Exchange\",\"Client_IPAddress\":\"51.89.156.153\",\"OperationProperties\":"
                     "\"[{\\\"Name\\\":\\\"MailAccessType\\\",\\\"Value\\\":\\\"Bind\\\"}]\"}";
    CHECK(classify_text(oa, strlen(oa), &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_OFFICEACTIVITY);
    CHECK(tenant_is(&ei, "t-1"));
    CHECK(ei.has_time && ei.time == 1686624077.0);
    CHECK(vg__logsource_matches(&ei, "m365", NULL, "exchange"));
    CHECK_EQ_STR(field(&ei, "ClientIPAddress"), "51.89.156.153");
    CHECK_EQ_STR(field(&ei, "Workload"), "Exchange");
    CHECK_EQ_STR(field(&ei, "OperationProperties.MailAccessType"), "Bind");
}

static void test_entra_signin(void)
{
    vg_eventinfo ei;
    /* Log Analytics SigninLogs export (CSV) */
    CHECK(find_record("azure-sentinel-training-lab/sign-in_adelete.csv", VG_SHAPE_SIGNIN_LA, &ei));
    CHECK(vg__logsource_matches(&ei, "azure", NULL, "signinlogs"));
    CHECK(ei.tenant != NULL && ei.has_time);
    CHECK(strcmp(field(&ei, "resultType"), "(absent)") != 0);
    CHECK_EQ_STR(field(&ei, "resultType"), field(&ei, "ResultType"));
    /* Event Hub envelope (Panther Azure.Audit) */
    CHECK(find_record("panther-analysis-tests/Azure_Audit/events.jsonl", VG_SHAPE_SIGNIN_EVENTHUB,
                      &ei));
    CHECK(vg__logsource_matches(&ei, "azure", NULL, "signinlogs"));
    const char *eh = "{\"time\":\"2023-06-15T00:58:11.1234567Z\",\"resourceId\":\"/tenants/"
                     "72f988bf-86f1-41af-91ab-2d7cd011db47/providers/Microsoft.aadiam\","
                     "\"operationName\":\"Sign-in activity\",\"category\":\"NonInteractiveUserSignInLogs\","
                     "\"resultType\":\"50126\",\"callerIpAddress\":\"51.89.156.153\",\"properties\":"
                     "{\"userPrincipalName\":\"a@contoso.com\",\"appId\":\"app-1\",\"status\":"
                     "{\"errorCode\":50126,\"failureReason\":\"Invalid username or password\"},"
                     "\"deviceDetail\":{\"trustType\":\"Azure AD joined\"},\"riskState\":\"atRisk\","
                     "\"authenticationRequirement\":\"singleFactorAuthentication\","
                     "\"conditionalAccessStatus\":\"success\",\"userAgent\":\"python-requests\"}}";
    CHECK(classify_text(eh, strlen(eh), &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_SIGNIN_EVENTHUB);
    CHECK(tenant_is(&ei, "72f988bf-86f1-41af-91ab-2d7cd011db47"));
    CHECK(ei.has_time && fabs(ei.time - 1686790691.1234567) < 1e-3);
    CHECK_EQ_STR(field(&ei, "ResultType"), "50126");
    CHECK_EQ_STR(field(&ei, "resultType"), "50126");
    CHECK_EQ_STR(field(&ei, "ResultDescription"), "Invalid username or password");
    CHECK_EQ_STR(field(&ei, "AppId"), "app-1");
    CHECK_EQ_STR(field(&ei, "properties.appId"), "app-1");
    CHECK_EQ_STR(field(&ei, "RiskState"), "atRisk");
    CHECK_EQ_STR(field(&ei, "AuthenticationRequirement"), "singleFactorAuthentication");
    CHECK_EQ_STR(field(&ei, "DeviceDetail.trusttype"), "Azure AD joined");
    CHECK_EQ_STR(field(&ei, "conditionalAccessStatus"), "success");
    CHECK_EQ_STR(field(&ei, "userAgent"), "python-requests");
    CHECK_EQ_STR(field(&ei, "IPAddress"), "51.89.156.153");
    /* Graph signIn (schema fixture, in a Graph list response) */
    CHECK(find_record(fixture("graph_signin.json"), VG_SHAPE_SIGNIN_GRAPH, &ei));
    CHECK(vg__logsource_matches(&ei, "azure", NULL, "signinlogs"));
    CHECK(tenant_is(&ei, "72f988bf-86f1-41af-91ab-2d7cd011db47"));
    CHECK(ei.has_time && ei.time == 1686790691.0);
    CHECK_EQ_STR(field(&ei, "ResultType"), "50126");
    CHECK_EQ_STR(field(&ei, "resultType"), "50126");
    CHECK_EQ_STR(field(&ei, "ResultDescription"),
                 "Error validating credentials due to invalid username or password.");
    CHECK_EQ_STR(field(&ei, "IPAddress"), "131.107.159.37");
    CHECK_EQ_STR(field(&ei, "AppId"), "de8bc8b5-d9f9-48b1-a8ad-b748da725064");
    CHECK_EQ_STR(field(&ei, "properties.appId"), "de8bc8b5-d9f9-48b1-a8ad-b748da725064");
    CHECK_EQ_STR(field(&ei, "ResourceDisplayName"), "Microsoft Graph");
    CHECK_EQ_STR(field(&ei, "DeviceDetail.isCompliant"), "false");
    CHECK_EQ_STR(field(&ei, "location"), "US");
    CHECK_EQ_STR(field(&ei, "ClientApp"), "Browser");
    /* a Log Analytics row in JSON: the same names as written by SigmaHQ */
    const char *la = "{\"Type\":\"SigninLogs\",\"TenantId\":\"t-2\",\"TimeGenerated\":"
                     "\"2023-06-15T00:58:11Z\",\"ResultType\":\"0\",\"UserAgent\":\"BAV2ROPC\","
                     "\"IPAddress\":\"1.2.3.4\",\"UniqueTokenIdentifier\":\"Zk2W\"}";
    CHECK(classify_text(la, strlen(la), &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_SIGNIN_LA);
    CHECK(tenant_is(&ei, "t-2"));
    CHECK_EQ_STR(field(&ei, "userAgent"), "BAV2ROPC");
    CHECK_EQ_STR(field(&ei, "resultType"), "0");
    CHECK_EQ_STR(field(&ei, "ipAddress"), "1.2.3.4");
}

static void test_entra_audit(void)
{
    vg_eventinfo ei;
    CHECK(find_record("azure-sentinel-training-lab/AuditLogs_Hunting.csv", VG_SHAPE_AUDIT_LA, &ei));
    CHECK(vg__logsource_matches(&ei, "azure", NULL, "auditlogs"));
    CHECK_EQ_STR(field(&ei, "properties.message"), field(&ei, "OperationName"));
    CHECK(find_record("panther-analysis-tests/Azure_Audit/events.jsonl", VG_SHAPE_AUDIT_EVENTHUB,
                      &ei));
    CHECK(vg__logsource_matches(&ei, "azure", NULL, "auditlogs"));
    CHECK(ei.tenant != NULL && ei.has_time);
    CHECK(strcmp(field(&ei, "properties.message"), "(absent)") != 0);
    /* Graph directoryAudit (schema fixture) */
    CHECK(find_record(fixture("graph_directoryaudit.json"), VG_SHAPE_AUDIT_GRAPH, &ei));
    CHECK(vg__logsource_matches(&ei, "azure", NULL, "auditlogs"));
    CHECK(ei.has_time);
    CHECK_EQ_STR(field(&ei, "properties.message"), "Add member to role");
    CHECK_EQ_STR(field(&ei, "OperationName"), "Add member to role");
    CHECK_EQ_STR(field(&ei, "Category"), "RoleManagement");
    CHECK_EQ_STR(field(&ei, "Status"), "success");
    CHECK_EQ_STR(field(&ei, "LoggedByService"), "Core Directory");
    CHECK_EQ_STR(field(&ei, "Initiatedby"), "admin@contoso.com");
    CHECK_EQ_STR(field(&ei, "Target"), "victim@contoso.com");
    CHECK_EQ_STR(field(&ei, "TargetResources.ModifiedProperties.NewValue"),
                 "\"Global Administrator\"");
    /* envelope */
    const char *eh = "{\"time\":\"2023-06-20T14:51:03Z\",\"resourceId\":\"/tenants/t-3/providers/"
                     "Microsoft.aadiam\",\"operationName\":\"Add member to role\",\"category\":"
                     "\"AuditLogs\",\"resultType\":\"Success\",\"properties\":{\"activityDisplayName\":"
                     "\"Add member to role\",\"category\":\"RoleManagement\",\"result\":\"success\","
                     "\"loggedByService\":\"Core Directory\",\"initiatedBy\":{\"user\":"
                     "{\"userPrincipalName\":\"admin@contoso.com\"}}}}";
    CHECK(classify_text(eh, strlen(eh), &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_AUDIT_EVENTHUB);
    CHECK(tenant_is(&ei, "t-3"));
    CHECK_EQ_STR(field(&ei, "properties.message"), "Add member to role");
    CHECK_EQ_STR(field(&ei, "Category"), "RoleManagement");
    CHECK_EQ_STR(field(&ei, "LoggedByService"), "Core Directory");
    CHECK_EQ_STR(field(&ei, "Initiatedby"), "admin@contoso.com");
    CHECK_EQ_STR(field(&ei, "Status"), "success");
}

static void test_azure_activity(void)
{
    vg_eventinfo ei;
    CHECK(find_record("suzaku-test-files/azure_value_format.json", VG_SHAPE_AZURE_ACTIVITY, &ei));
    CHECK(vg__logsource_matches(&ei, "azure", NULL, "activitylogs"));
    CHECK(ei.has_time);
    CHECK(strcmp(field(&ei, "operationName"), "(absent)") != 0);
    CHECK(find_record("azure-sentinel-training-lab/azureActivity_adele.csv",
                      VG_SHAPE_AZURE_ACTIVITY, &ei));
    CHECK(ei.tenant != NULL && ei.has_time);
    CHECK_EQ_STR(field(&ei, "operationName"), field(&ei, "OperationNameValue"));
    CHECK(find_record("panther-analysis-tests/Azure_MonitorActivity/events.jsonl",
                      VG_SHAPE_AZURE_ACTIVITY, &ei));
    const char *env = "{\"time\":\"2023-06-01T00:00:00Z\",\"resourceId\":\"/SUBSCRIPTIONS/S-1/"
                      "RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV\",\"operationName\":"
                      "\"MICROSOFT.KEYVAULT/VAULTS/DELETE\",\"category\":\"Administrative\","
                      "\"resultType\":\"Success\",\"tenantId\":\"t-4\",\"properties\":{}}";
    CHECK(classify_text(env, strlen(env), &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_AZURE_ACTIVITY);
    CHECK(tenant_is(&ei, "t-4"));
    CHECK_EQ_STR(field(&ei, "operationName"), "MICROSOFT.KEYVAULT/VAULTS/DELETE");
    CHECK_EQ_STR(field(&ei, "OperationNameValue"), "MICROSOFT.KEYVAULT/VAULTS/DELETE");
    CHECK_EQ_STR(field(&ei, "CategoryValue"), "Administrative");
}

static void test_windows(void)
{
    vg_eventinfo ei;
    const char *sec = "sigmahq-regression/regression_data/rules/windows/builtin/security/"
                      "win_security_susp_scheduled_task_delete_or_disable/"
                      "7595ba94-cf3b-4471-aa03-4f6baa9e5fad.json";
    CHECK(find_record(sec, VG_SHAPE_WINDOWS, &ei));
    CHECK(vg__logsource_matches(&ei, "windows", NULL, "security"));
    CHECK(!vg__logsource_matches(&ei, "windows", "process_creation", NULL));
    CHECK(ei.has_time && ei.time > 1.7e9);
    CHECK_EQ_STR(field(&ei, "EventID"), "4701");
    CHECK_EQ_STR(field(&ei, "Channel"), "Security");
    CHECK_EQ_STR(field(&ei, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
    const char *sm = "sigmahq-regression/regression_data/rules-threat-hunting/windows/image_load/"
                     "image_load_win_werfaultsecure_dbgcore_dbghelp_load/"
                     "8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b.json";
    CHECK(find_record(sm, VG_SHAPE_WINDOWS, &ei));
    CHECK(vg__logsource_matches(&ei, "windows", "image_load", "sysmon"));
    CHECK(!vg__logsource_matches(&ei, "windows", "process_creation", NULL));
    CHECK(strstr(field(&ei, "ImageLoaded"), ".dll") || strstr(field(&ei, "ImageLoaded"), ".DLL"));
    /* 4688 as process_creation, Sysmon field names renamed */
    const char *p4688 = "{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":"
                        "\"Microsoft-Windows-Security-Auditing\"}},\"EventID\":{\"#text\":4688,"
                        "\"#attributes\":{\"Qualifiers\":0}},\"Channel\":\"Security\",\"Computer\":"
                        "\"ws1\",\"TimeCreated\":{\"#attributes\":{\"SystemTime\":"
                        "\"2023-06-01T00:00:00.5Z\"}}},\"EventData\":{\"NewProcessName\":"
                        "\"C:\\\\Windows\\\\System32\\\\whoami.exe\",\"ParentProcessName\":"
                        "\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"whoami /all\","
                        "\"NewProcessId\":\"0x1a4\",\"SubjectLogonId\":\"0x3e7\"}}}";
    CHECK(classify_text(p4688, strlen(p4688), &ei));
    CHECK(vg__logsource_matches(&ei, "windows", "process_creation", "security"));
    CHECK(ei.has_time && ei.time == 1685577600.5);
    CHECK_EQ_STR(field(&ei, "Image"), "C:\\Windows\\System32\\whoami.exe");
    CHECK_EQ_STR(field(&ei, "ParentImage"), "C:\\Windows\\System32\\cmd.exe");
    CHECK_EQ_STR(field(&ei, "CommandLine"), "whoami /all");
    CHECK_EQ_STR(field(&ei, "EventID"), "4688");
    CHECK_EQ_STR(field(&ei, "Computer"), "ws1");
    CHECK_EQ_STR(field(&ei, "LogonId"), "0x3e7");
    CHECK_EQ_STR(field(&ei, "OriginalFileName"), "(absent)");
    /* channels -> services, event ids -> categories; EventID alone is not enough */
    static const struct {
        const char *channel;
        int id;
        const char *service, *category;
    } cases[] = {
        {"Microsoft-Windows-Sysmon/Operational", 1, "sysmon", "process_creation"},
        {"Microsoft-Windows-Sysmon/Operational", 13, "sysmon", "registry_set"},
        {"Microsoft-Windows-Sysmon/Operational", 22, "sysmon", "dns_query"},
        {"Microsoft-Windows-PowerShell/Operational", 4104, "powershell", "ps_script"},
        {"Windows PowerShell", 400, NULL, "ps_classic_start"},
        {"Microsoft-Windows-Windows Defender/Operational", 1116, "windefend", NULL},
        {"Microsoft-Windows-TaskScheduler/Operational", 106, "taskscheduler", NULL},
        {"Microsoft-Windows-WMI-Activity/Operational", 5861, "wmi", NULL},
        {"System", 7045, "system", NULL},
        {"Application", 1000, "application", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char j[300];
        int n = snprintf(j, sizeof j, "{\"Event\":{\"System\":{\"EventID\":%d,\"Channel\":\"%s\"}}}",
                         cases[i].id, cases[i].channel);
        CHECK(classify_text(j, (size_t)n, &ei));
        CHECK_MSG(vg__logsource_matches(&ei, "windows", cases[i].category, cases[i].service),
                  "%s %d", cases[i].channel, cases[i].id);
    }
    CHECK(classify_text("{\"Event\":{\"System\":{\"EventID\":1,\"Channel\":\"Security\"}}}", 0, &ei));
    CHECK(!vg__logsource_matches(&ei, "windows", "process_creation", NULL));
    /* flat rendering (Panther) */
    CHECK(find_record("panther-analysis-tests/Windows_EventLogs/events.jsonl", VG_SHAPE_WINDOWS, &ei));
    CHECK(vg__logsource_matches(&ei, "windows", "process_creation", "security"));
    CHECK(ei.has_time);
    CHECK(strstr(field(&ei, "Image"), "mimikatz.exe") != NULL);
}

static void test_unknown(void)
{
    vg_eventinfo ei;
    CHECK(classify_text("{\"hello\":\"world\"}", 0, &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_UNKNOWN);
    CHECK_EQ_INT(ei.map_id, 0);
    CHECK(ei.product == NULL && !ei.has_time && !ei.tenant);
    CHECK(vg__logsource_matches(&ei, NULL, NULL, NULL));
    CHECK(!vg__logsource_matches(&ei, "azure", NULL, NULL));
    CHECK(classify_text("[1,2]", 0, &ei));
    CHECK_EQ_INT(ei.shape, VG_SHAPE_UNKNOWN);
    CHECK_EQ_STR(vg__shape_name(VG_SHAPE_SIGNIN_GRAPH), "signin_graph");
    CHECK_EQ_STR(vg__shape_name(99), "unknown");
}

/* ---- field maps ---- */

static void test_fieldmap_api(void)
{
    uint32_t n = 0;
    const char *const *p = vg__fieldmap_paths(fm, 0, "ResultType", &n);
    CHECK(n == 1 && !strcmp(p[0], "ResultType")); /* identity */
    CHECK(vg__fieldmap_count(fm) > 8);
    /* the same list (pointer) on the second call: cached */
    vg_eventinfo ei;
    CHECK(find_record(fixture("graph_signin.json"), VG_SHAPE_SIGNIN_GRAPH, &ei));
    const char *const *a = vg__fieldmap_paths(fm, ei.map_id, "ResultType", &n);
    uint32_t n2;
    const char *const *b = vg__fieldmap_paths(fm, ei.map_id, "ResultType", &n2);
    CHECK(a == b && n == n2 && n >= 2);
    CHECK_EQ_STR(a[0], "status.errorCode");
    CHECK_EQ_STR(a[1], "ResultType");
    /* many fields: the hash grows and keeps every list */
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "F%d", i);
        vg__fieldmap_paths(fm, ei.map_id, name, &n);
    }
    p = vg__fieldmap_paths(fm, ei.map_id, "F1234", &n);
    CHECK(n >= 1 && !strcmp(p[0], "F1234"));
    CHECK(vg__fieldmap_paths(fm, ei.map_id, "ResultType", &n2) == a);
    /* out-of-range map id: identity */
    p = vg__fieldmap_paths(fm, 60000, "X", &n);
    CHECK(n == 1 && !strcmp(p[0], "X"));
}

static void test_fieldmap_load_string(void)
{
    vg_fieldmap *m = NULL;
    CHECK_EQ_INT(vg__fieldmap_load_builtin(&m, NULL, NULL), VIGIE_OK);
    uint16_t before = vg__fieldmap_count(m);
    const char *y = "shape: okta\nprefixes: [debugContext.debugData.]\nstrip: [okta.]\n"
                    "fields:\n  user: [actor.alternateId]\n";
    CHECK_EQ_INT(vg__fieldmap_load_string(m, "user.yml", y, strlen(y), NULL, NULL), VIGIE_OK);
    CHECK_EQ_INT(vg__fieldmap_count(m), before + 1);
    uint32_t n;
    const char *const *p = vg__fieldmap_paths(m, before, "user", &n);
    CHECK(n == 3 && !strcmp(p[0], "actor.alternateId") && !strcmp(p[1], "user") &&
          !strcmp(p[2], "debugContext.debugData.user"));
    p = vg__fieldmap_paths(m, before, "okta.eventType", &n);
    CHECK(n == 3 && !strcmp(p[1], "eventType"));
    /* errors: reported with a position, nothing added */
    int nd = 0;
    const char *bad = "shape: nosuchshape\n";
    CHECK_EQ_INT(vg__fieldmap_load_string(m, "bad.yml", bad, strlen(bad), NULL, NULL), VIGIE_YAML);
    const char *bad2 = "shape: okta\nfields: {a: [b\n";
    CHECK_EQ_INT(vg__fieldmap_load_string(m, "bad2.yml", bad2, strlen(bad2), NULL, NULL),
                 VIGIE_YAML);
    CHECK_EQ_INT(vg__fieldmap_count(m), before + 1);
    (void)nd;
    vg__fieldmap_free(m);
}

int main(void)
{
    if (vg__fieldmap_load_builtin(&fm, NULL, NULL) != VIGIE_OK)
        return 1;
    vg__jtape_init(&tape);
    js = vg__jscratch_new();
    vg__buf_init(&tmp, 0);
    RUN(test_cloudtrail);
    RUN(test_okta_gcp);
    RUN(test_m365);
    RUN(test_officeactivity);
    RUN(test_entra_signin);
    RUN(test_entra_audit);
    RUN(test_azure_activity);
    RUN(test_windows);
    RUN(test_unknown);
    RUN(test_fieldmap_api);
    RUN(test_fieldmap_load_string);
    free(owned);
    vg__buf_free(&tmp);
    vg__jscratch_free(js);
    vg__jtape_free(&tape);
    vg__fieldmap_free(fm);
    return TEST_DONE();
}
