/* SPDX-License-Identifier: Apache-2.0 */
/*
 * classify.c: a parsed record -> its log shape, Sigma logsource, tenant, time, field map.
 *
 * Stage: ingest. Decided by the presence of a few top-level keys, in an order that puts
 * the most specific shapes first (see docs/FIELDS.md for each rule). The logsource values
 * are the ones SigmaHQ's rules use (product m365/azure/aws/gcp/okta/windows and their
 * services and categories; Windows per ../shared/WINDOWS.md: channel -> service, Sysmon and
 * PowerShell event ids -> categories). Costs: a handful of key lookups on the tape; strings
 * are unescaped into `tmp` only when they carry escapes.
 * The root-key index (cls.hash/tok, hash_ci) is its own fixed 64-slot table, not vg_hmap:
 * it is rebuilt for every record, lives on the stack, never allocates, and hashes a key from
 * its length and three bytes. Measured (a 15-key M365 root, 15 inserts + 12 look-ups, gcc -O2,
 * one core): about 140-200 ns a record this way, about 1,460 ns with vg__hmap_clear +
 * vg__hmap_put_ci/find_ci (vg__hash64_ci over every byte, 32-byte slots).
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct cls {
    const vg_jtape *t;
    vg_buf *tmp;
    /* The root object's keys, hashed once (hash_ci) into an
     * open-addressing table: classification asks a dozen questions of one object, most of
     * them misses, and each would otherwise scan every key. */
    bool indexed;
    uint32_t hash[64];
    uint32_t tok[64]; /* key token index + 1; 0 = empty slot */
} cls;

/* A cheap hash, O(1) per key: length, first and last two bytes, case-folded. Collisions are
 * resolved by comparing the keys. */
static uint32_t hash_ci(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    uint32_t h = (uint32_t)n * 2654435761u;
    h ^= (uint32_t)vg__lower((unsigned char)s[0]) * 40503u;
    h ^= (uint32_t)vg__lower((unsigned char)s[n - 1]) << 7;
    if (n > 2)
        h ^= (uint32_t)vg__lower((unsigned char)s[n - 2]) << 14;
    return h ^ (h >> 13);
}

static void index_root(cls *c)
{
    const vg_jtape *t = c->t;
    c->indexed = false;
    if (t->tok[0].len > 40)
        return;
    memset(c->tok, 0, sizeof c->tok);
    for (uint32_t i = 1; i < t->tok[0].next; i = t->tok[i + 1].next) {
        const vg_jtok *k = &t->tok[i];
        if (k->esc)
            return; /* escaped keys: use plain lookups */
        uint32_t h = hash_ci(t->src + k->off, k->len), j = h & 63;
        while (c->tok[j])
            j = (j + 1) & 63;
        c->hash[j] = h;
        c->tok[j] = i + 1;
    }
    c->indexed = true;
}

/* Exact key first, then ASCII case-insensitive: some pipelines lower-case every field name
 * (Panther's M365 schema), others upper-case the first letter. */
static int64_t get(const cls *c, uint32_t obj, const char *key)
{
    size_t l = strlen(key);
    if (obj != 0 || !c->indexed)
        return vg__json_obj_find(c->t, obj, key, l);
    uint32_t h = hash_ci(key, l), j = h & 63;
    int64_t ci = -1;
    for (; c->tok[j]; j = (j + 1) & 63) {
        if (c->hash[j] != h)
            continue;
        const vg_jtok *k = &c->t->tok[c->tok[j] - 1];
        const char *kb = c->t->src + k->off;
        if (k->len != l)
            continue;
        if (memcmp(kb, key, l) == 0)
            return c->tok[j]; /* the value follows its key */
        if (ci < 0 && vg__ascii_ieq(kb, l, key, l))
            ci = c->tok[j];
    }
    return ci;
}

static bool has(const cls *c, uint32_t obj, const char *key)
{
    return get(c, obj, key) >= 0;
}

/* Graph shapes are told from Log Analytics rows by the exact camelCase of their keys. */
static bool has_exact(const cls *c, uint32_t obj, const char *key)
{
    return vg__json_obj_get(c->t, obj, key, strlen(key)) >= 0;
}

/* String value of key in obj: pointer into the record or into tmp (appended, stable until
 * tmp is reset: tmp only grows during one classification, so earlier results stay valid
 * because we copy them into a fixed region first). */
static const char *str(const cls *c, int64_t tok, size_t *len)
{
    if (tok < 0 || c->t->tok[tok].type != VG_J_STRING)
        return NULL;
    const vg_jtok *k = &c->t->tok[tok];
    if (!k->esc) {
        *len = k->len;
        return c->t->src + k->off;
    }
    /* unescape into a fresh tail of tmp; tmp is reserved up front so it never moves */
    size_t start = c->tmp->len;
    if (c->tmp->cap - c->tmp->len <= k->len + 8)
        return NULL;
    if (vg__json_unescape(c->t->src + k->off, k->len, c->tmp) != VIGIE_OK)
        return NULL;
    *len = c->tmp->len - start;
    vg__buf_addc(c->tmp, 0);
    return c->tmp->data + start;
}

static bool str_eq(const cls *c, int64_t tok, const char *want)
{
    size_t l;
    const char *s = str(c, tok, &l);
    return s && l == strlen(want) && vg__ascii_ieq(s, l, want, l);
}

/* "2024-01-15 10:30:45 +0000": an RFC 822-style numeric zone after a blank, which
 * vg__parse_time does not take: parse the rest and apply the offset. */
static bool parse_time_spaced_zone(const char *s, size_t l, double *t)
{
    if (l < 7 || s[l - 6] != ' ' || (s[l - 5] != '+' && s[l - 5] != '-'))
        return false;
    int hh = 0, mm = 0;
    for (int i = 0; i < 4; i++)
        if (s[l - 4 + i] < '0' || s[l - 4 + i] > '9')
            return false;
    hh = (s[l - 4] - '0') * 10 + (s[l - 3] - '0');
    mm = (s[l - 2] - '0') * 10 + (s[l - 1] - '0');
    if (vg__parse_time(s, l - 6, t) != VIGIE_OK)
        return false;
    *t -= (s[l - 5] == '-' ? -1 : 1) * (hh * 3600.0 + mm * 60.0);
    return true;
}

static void set_time(const cls *c, vg_eventinfo *ei, int64_t tok)
{
    size_t l;
    const char *s = str(c, tok, &l);
    double t;
    if (s && (vg__parse_time(s, l, &t) == VIGIE_OK || parse_time_spaced_zone(s, l, &t))) {
        ei->time = t;
        ei->has_time = true;
    } else if (tok >= 0 && c->t->tok[tok].type == VG_J_NUMBER &&
               vg__json_number(c->t->src + c->t->tok[tok].off, c->t->tok[tok].len, &t) ==
                   VIGIE_OK) {
        ei->time = t > 1e11 ? t / 1000.0 : t; /* epoch milliseconds or seconds */
        ei->has_time = true;
    }
}

static void set_tenant(const cls *c, vg_eventinfo *ei, int64_t tok)
{
    size_t l;
    const char *s = str(c, tok, &l);
    if (s && l) {
        ei->tenant = s;
        ei->tenant_len = l;
    }
}

static void add_service(vg_eventinfo *ei, const char *s)
{
    if (ei->n_services < VG_EI_MAX_SERVICES)
        ei->services[ei->n_services++] = s;
}

static void add_category(vg_eventinfo *ei, const char *s)
{
    if (ei->n_categories < VG_EI_MAX_CATEGORIES)
        ei->categories[ei->n_categories++] = s;
}

/* "/tenants/<tid>/providers/..." -> tid */
static void tenant_from_resource(const cls *c, vg_eventinfo *ei, int64_t tok)
{
    size_t l;
    const char *s = str(c, tok, &l);
    if (!s || l < 9 || !vg__ascii_ieq(s, 9, "/tenants/", 9))
        return;
    const char *e = memchr(s + 9, '/', l - 9);
    ei->tenant = s + 9;
    ei->tenant_len = e ? (size_t)(e - (s + 9)) : l - 9;
}

/* GCP: ".../logs/cloudaudit.googleapis.com%2Factivity" (or with '/' unescaped) */
static bool gcp_audit_log_name(const cls *c, int64_t tok)
{
    size_t l;
    const char *s = str(c, tok, &l);
    return s && vg__ascii_imemmem(s, l, "cloudaudit.googleapis.com", 25) != NULL;
}

/* ---- Windows ------------------------------------------------------------------------------- */

static const struct {
    const char *channel;
    const char *service;
} channels[] = {
    {"Security", "security"},
    {"System", "system"},
    {"Application", "application"},
    {"Microsoft-Windows-Sysmon/Operational", "sysmon"},
    {"Microsoft-Windows-PowerShell/Operational", "powershell"},
    {"PowerShellCore/Operational", "powershell"},
    {"Windows PowerShell", "powershell-classic"},
    {"Microsoft-Windows-Windows Defender/Operational", "windefend"},
    {"Microsoft-Windows-TaskScheduler/Operational", "taskscheduler"},
    {"Microsoft-Windows-WMI-Activity/Operational", "wmi"},
    {"Microsoft-Windows-DNS-Client/Operational", "dns-client"},
    {"DNS Server", "dns-server"},
    {"Microsoft-Windows-Bits-Client/Operational", "bits-client"},
    {"Microsoft-Windows-CodeIntegrity/Operational", "codeintegrity-operational"},
    {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "firewall-as"},
    {"Microsoft-Windows-AppLocker/EXE and DLL", "applocker"},
    {"Microsoft-Windows-AppLocker/MSI and Script", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Deployment", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Execution", "applocker"},
    {"Microsoft-Windows-PrintService/Admin", "printservice-admin"},
    {"Microsoft-Windows-PrintService/Operational", "printservice-operational"},
    {"Microsoft-Windows-SmbClient/Security", "smbclient-security"},
    {"Microsoft-Windows-NTLM/Operational", "ntlm"},
    {"Microsoft-Windows-DriverFrameworks-UserMode/Operational", "driver-framework"},
    {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
     "terminalservices-localsessionmanager"},
    {"Microsoft-Windows-Shell-Core/Operational", "shell-core"},
    {"OpenSSH/Operational", "openssh"},
    {"Microsoft-Windows-LDAP-Client/Debug", "ldap_debug"},
    {"Microsoft-Windows-Kernel-ShimEngine/Operational", "shim-engine"},
    {"Microsoft-Windows-Security-Mitigations/KernelMode", "security-mitigations"},
    {"Microsoft-Windows-Security-Mitigations/UserMode", "security-mitigations"},
    {"Microsoft-Windows-Diagnosis-Scripted/Operational", "diagnosis-scripted"},
    {"Microsoft-Windows-AppXDeploymentServer/Operational", "appxdeployment-server"},
    {"Microsoft-Windows-AppXPackaging/Operational", "appxpackaging-om"},
    {"Microsoft-Windows-CAPI2/Operational", "capi2"},
    {"Microsoft-Windows-Certificate-Services-Lifecycle-System/Operational", "certificateservicesclient-lifecycle-system"},
    {"Microsoft-Windows-VHDMP-Operational", "vhdmp"},
    {"Microsoft-Windows-WinRM/Operational", "winrm"},
    {"Microsoft-Windows-Bitlocker-Driver/Operational", "bitlocker"},
    {"Microsoft-Windows-Hyper-V-Worker-Admin", "hyper-v-worker"},
};

static const struct {
    int id;
    const char *cat;
} sysmon_cats[] = {
    {1, "process_creation"}, {2, "file_change"}, {3, "network_connection"}, {4, "sysmon_status"},
    {5, "process_termination"}, {6, "driver_load"}, {7, "image_load"},
    {8, "create_remote_thread"}, {9, "raw_access_thread"}, {10, "process_access"},
    {11, "file_event"}, {12, "registry_event"}, {13, "registry_event"}, {14, "registry_event"},
    {13, "registry_set"}, {14, "registry_rename"}, {15, "create_stream_hash"},
    {16, "sysmon_status"}, {17, "pipe_created"}, {18, "pipe_created"}, {19, "wmi_event"},
    {20, "wmi_event"}, {21, "wmi_event"}, {22, "dns_query"}, {23, "file_delete"},
    {24, "clipboard_capture"}, {25, "process_tampering"}, {26, "file_delete_detected"},
    {26, "file_delete"}, {27, "file_block_executable"}, {28, "file_block_shredding"},
    {29, "file_executable_detected"}, {255, "sysmon_error"},
};

/* sys: the object holding EventID / Channel (Event.System, or the record itself in flat
 * renderings); ed: the object holding the event data (-1 if none). */
static void classify_windows(const cls *c, int64_t sys, int64_t ed, vg_eventinfo *ei)
{
    ei->shape = VG_SHAPE_WINDOWS;
    ei->product = "windows";
    if (sys < 0 || c->t->tok[sys].type != VG_J_OBJECT)
        return;
    int64_t tc = get(c, (uint32_t)sys, "TimeCreated");
    if (tc >= 0 && c->t->tok[tc].type == VG_J_OBJECT) {
        int64_t at = get(c, (uint32_t)tc, "#attributes");
        if (at >= 0)
            set_time(c, ei, get(c, (uint32_t)at, "SystemTime"));
    } else if (tc >= 0) {
        set_time(c, ei, tc);
    }
    int64_t idt = get(c, (uint32_t)sys, "EventID");
    if (idt >= 0 && c->t->tok[idt].type == VG_J_OBJECT)
        idt = get(c, (uint32_t)idt, "#text");
    double idd = -1;
    if (idt >= 0) {
        const vg_jtok *k = &c->t->tok[idt];
        if (k->type == VG_J_NUMBER || k->type == VG_J_STRING)
            vg__json_number(c->t->src + k->off, k->len, &idd);
    }
    int id = (int)idd;
    size_t cl;
    const char *ch = str(c, get(c, (uint32_t)sys, "Channel"), &cl);
    const char *service = NULL;
    for (size_t i = 0; ch && i < VG_ARRAY_LEN(channels); i++)
        if (strlen(channels[i].channel) == cl && vg__ascii_ieq(ch, cl, channels[i].channel, cl))
            service = channels[i].service;
    if (service)
        add_service(ei, service);
    if (service && !strcmp(service, "sysmon")) {
        for (size_t i = 0; i < VG_ARRAY_LEN(sysmon_cats); i++)
            if (sysmon_cats[i].id == id)
                add_category(ei, sysmon_cats[i].cat);
        if (id == 12) {
            size_t tl;
            const char *et = ed >= 0 && c->t->tok[ed].type == VG_J_OBJECT
                                 ? str(c, get(c, (uint32_t)ed, "EventType"), &tl)
                                 : NULL;
            if (!et || (tl == 9 && !memcmp(et, "CreateKey", 9)))
                add_category(ei, "registry_add");
            if (!et || (tl >= 6 && !memcmp(et, "Delete", 6)))
                add_category(ei, "registry_delete");
        }
    } else if (service && !strcmp(service, "security") && id == 4688) {
        add_category(ei, "process_creation");
    } else if (service && !strcmp(service, "powershell")) {
        if (id == 4103)
            add_category(ei, "ps_module");
        if (id == 4104)
            add_category(ei, "ps_script");
    } else if (service && !strcmp(service, "powershell-classic")) {
        if (id == 400)
            add_category(ei, "ps_classic_start");
        if (id == 600)
            add_category(ei, "ps_classic_provider_start");
        if (id == 800)
            add_category(ei, "ps_classic_script");
    }
}

/* ---- Microsoft 365 ----------------------------------------------------------------------------- */

static void m365_services(const cls *c, int64_t workload, vg_eventinfo *ei)
{
    add_service(ei, "audit");
    if (str_eq(c, workload, "Exchange")) {
        add_service(ei, "exchange");
    } else if (str_eq(c, workload, "SecurityComplianceCenter")) {
        add_service(ei, "threat_management");
        add_service(ei, "threat_detection");
    } else if (str_eq(c, workload, "SharePoint")) {
        add_service(ei, "sharepoint");
    } else if (str_eq(c, workload, "OneDrive")) {
        add_service(ei, "onedrive");
    } else if (str_eq(c, workload, "AzureActiveDirectory")) {
        add_service(ei, "azuread");
    } else if (str_eq(c, workload, "MicrosoftTeams")) {
        add_service(ei, "teams");
    }
}

void vg__shape_classify(const vg_fieldmap *m, const vg_jtape *t, vg_jscratch *s, vg_buf *tmp,
                        vg_eventinfo *ei)
{
    (void)s;
    memset(ei, 0, sizeof *ei);
    if (!t->n || t->tok[0].type != VG_J_OBJECT)
        return;
    /* strings with escapes are unescaped into tmp; reserve so pointers stay valid */
    size_t need = t->src_len + 64;
    if (tmp->cap - tmp->len < need)
        vg__buf_reserve(tmp, need);
    cls c;
    c.t = t;
    c.tmp = tmp;
    index_root(&c);
    int64_t v;
    if ((v = get(&c, 0, "Event")) >= 0 && t->tok[v].type == VG_J_OBJECT &&
        has(&c, (uint32_t)v, "System")) {
        int64_t ed = get(&c, (uint32_t)v, "EventData");
        classify_windows(&c, get(&c, (uint32_t)v, "System"), ed, ei);
    } else if (has(&c, 0, "EventID") && has(&c, 0, "Channel") &&
               (has(&c, 0, "Computer") || has(&c, 0, "Provider_Name") ||
                has(&c, 0, "ProviderName"))) {
        /* flat renderings (Panther, Winlogbeat-like exports): System fields at the top */
        int64_t ed = get(&c, 0, "EventData");
        classify_windows(&c, 0, ed >= 0 ? ed : get(&c, 0, "ExtraEventData"), ei);
    } else if (has(&c, 0, "eventSource") && has(&c, 0, "eventName") &&
               (has(&c, 0, "eventVersion") || has(&c, 0, "awsRegion") ||
                has(&c, 0, "eventTime") || has(&c, 0, "userIdentity") ||
                has(&c, 0, "recipientAccountId"))) {
        ei->shape = VG_SHAPE_CLOUDTRAIL;
        ei->product = "aws";
        add_service(ei, "cloudtrail");
        set_tenant(&c, ei, get(&c, 0, "recipientAccountId"));
        set_time(&c, ei, get(&c, 0, "eventTime"));
    } else if (((v = get(&c, 0, "protoPayload")) >= 0 && t->tok[v].type == VG_J_OBJECT) ||
               gcp_audit_log_name(&c, get(&c, 0, "logName"))) {
        ei->shape = VG_SHAPE_GCP_AUDIT;
        ei->product = "gcp";
        add_service(ei, "gcp.audit");
        int64_t res = get(&c, 0, "resource");
        int64_t lab = res >= 0 ? get(&c, (uint32_t)res, "labels") : -1;
        if (lab >= 0)
            set_tenant(&c, ei, get(&c, (uint32_t)lab, "project_id"));
        set_time(&c, ei, get(&c, 0, "timestamp"));
    } else if (has(&c, 0, "eventType") && has(&c, 0, "actor") &&
               (has(&c, 0, "published") || has(&c, 0, "outcome"))) {
        ei->shape = VG_SHAPE_OKTA;
        ei->product = "okta";
        add_service(ei, "okta");
        set_time(&c, ei, get(&c, 0, "published"));
    } else if (has(&c, 0, "Operation") &&
               (has(&c, 0, "OfficeWorkload") || str_eq(&c, get(&c, 0, "Type"), "OfficeActivity") ||
                has(&c, 0, "Client_IPAddress") ||
                (has(&c, 0, "TimeGenerated") && has(&c, 0, "OfficeId")))) {
        ei->shape = VG_SHAPE_OFFICEACTIVITY;
        ei->product = "m365";
        m365_services(&c, get(&c, 0, "OfficeWorkload"), ei);
        set_tenant(&c, ei, get(&c, 0, "OrganizationId"));
        if (!ei->tenant)
            set_tenant(&c, ei, get(&c, 0, "TenantId"));
        set_time(&c, ei, get(&c, 0, "TimeGenerated"));
        if (!ei->has_time)
            set_time(&c, ei, get(&c, 0, "CreationTime"));
    } else if (has(&c, 0, "CreationTime") && has(&c, 0, "Operation") &&
               (has(&c, 0, "RecordType") || has(&c, 0, "Workload"))) {
        ei->shape = VG_SHAPE_M365_UAL;
        ei->product = "m365";
        m365_services(&c, get(&c, 0, "Workload"), ei);
        set_tenant(&c, ei, get(&c, 0, "OrganizationId"));
        set_time(&c, ei, get(&c, 0, "CreationTime"));
    } else if ((v = get(&c, 0, "properties")) >= 0 && t->tok[v].type == VG_J_OBJECT &&
               has(&c, 0, "category") &&
               (has(&c, 0, "time") || has(&c, 0, "operationName") || has(&c, 0, "resourceId"))) {
        /* the Azure Monitor diagnostic-settings envelope (Event Hub, storage export) */
        int64_t cat = get(&c, 0, "category");
        if (str_eq(&c, cat, "SignInLogs") || str_eq(&c, cat, "NonInteractiveUserSignInLogs") ||
            str_eq(&c, cat, "ServicePrincipalSignInLogs") ||
            str_eq(&c, cat, "ManagedIdentitySignInLogs")) {
            ei->shape = VG_SHAPE_SIGNIN_EVENTHUB;
            add_service(ei, "signinlogs");
        } else if (str_eq(&c, cat, "AuditLogs")) {
            ei->shape = VG_SHAPE_AUDIT_EVENTHUB;
            add_service(ei, "auditlogs");
        } else if (str_eq(&c, cat, "RiskyUsers") || str_eq(&c, cat, "UserRiskEvents")) {
            ei->shape = VG_SHAPE_AUDIT_EVENTHUB;
            add_service(ei, "riskdetection");
        } else {
            ei->shape = VG_SHAPE_AZURE_ACTIVITY;
            add_service(ei, "activitylogs");
        }
        ei->product = "azure";
        set_tenant(&c, ei, get(&c, 0, "tenantId"));
        if (!ei->tenant)
            tenant_from_resource(&c, ei, get(&c, 0, "resourceId"));
        set_time(&c, ei, get(&c, 0, "time"));
    } else if (has_exact(&c, 0, "createdDateTime") && has_exact(&c, 0, "userPrincipalName") &&
               (has(&c, 0, "appId") || has(&c, 0, "status"))) {
        ei->shape = VG_SHAPE_SIGNIN_GRAPH;
        ei->product = "azure";
        add_service(ei, "signinlogs");
        set_tenant(&c, ei, get(&c, 0, "resourceTenantId"));
        if (!ei->tenant)
            set_tenant(&c, ei, get(&c, 0, "homeTenantId"));
        set_time(&c, ei, get(&c, 0, "createdDateTime"));
    } else if (has_exact(&c, 0, "activityDateTime") && has_exact(&c, 0, "activityDisplayName")) {
        ei->shape = VG_SHAPE_AUDIT_GRAPH;
        ei->product = "azure";
        add_service(ei, "auditlogs");
        set_tenant(&c, ei, get(&c, 0, "tenantId"));
        set_time(&c, ei, get(&c, 0, "activityDateTime"));
    } else {
        int64_t type = get(&c, 0, "Type");
        if (str_eq(&c, type, "SigninLogs") || str_eq(&c, type, "AADNonInteractiveUserSignInLogs") ||
            str_eq(&c, type, "AADServicePrincipalSignInLogs") ||
            str_eq(&c, type, "AADManagedIdentitySignInLogs") ||
            (!has(&c, 0, "Type") && has(&c, 0, "ResultType") &&
             (has(&c, 0, "UniqueTokenIdentifier") || has(&c, 0, "AppDisplayName")))) {
            ei->shape = VG_SHAPE_SIGNIN_LA;
            add_service(ei, "signinlogs");
        } else if (str_eq(&c, type, "AuditLogs") ||
                   (!has(&c, 0, "Type") && has(&c, 0, "OperationName") &&
                    (has(&c, 0, "InitiatedBy") || has(&c, 0, "TargetResources")))) {
            ei->shape = VG_SHAPE_AUDIT_LA;
            add_service(ei, "auditlogs");
        } else if (str_eq(&c, type, "AzureActivity") || has(&c, 0, "OperationNameValue") ||
                   (has(&c, 0, "operationName") &&
                    (has(&c, 0, "resourceId") || has(&c, 0, "subscriptionId") ||
                     has(&c, 0, "eventDataId")))) {
            ei->shape = VG_SHAPE_AZURE_ACTIVITY;
            add_service(ei, "activitylogs");
        }
        if (ei->shape) {
            ei->product = "azure";
            set_tenant(&c, ei, get(&c, 0, "TenantId"));
            if (!ei->tenant)
                set_tenant(&c, ei, get(&c, 0, "AADTenantId"));
            if (!ei->tenant)
                set_tenant(&c, ei, get(&c, 0, "tenantId"));
            static const char *const tkeys[] = {"TimeGenerated", "CreatedDateTime", "time",
                                                "eventTimestamp", "ActivityDateTime"};
            for (size_t i = 0; i < VG_ARRAY_LEN(tkeys) && !ei->has_time; i++)
                set_time(&c, ei, get(&c, 0, tkeys[i]));
        }
    }
    ei->map_id = vg__fieldmap_select(m, ei);
}

bool vg__logsource_matches(const vg_eventinfo *ei, const char *product, const char *category,
                           const char *service)
{
    if (product && (!ei->product || !vg__ascii_ieq(product, strlen(product), ei->product,
                                                   strlen(ei->product))))
        return false;
    if (service) {
        bool ok = false;
        for (uint8_t i = 0; i < ei->n_services && !ok; i++)
            ok = vg__ascii_ieq(service, strlen(service), ei->services[i],
                               strlen(ei->services[i]));
        if (!ok)
            return false;
    }
    if (category) {
        bool ok = false;
        for (uint8_t i = 0; i < ei->n_categories && !ok; i++)
            ok = vg__ascii_ieq(category, strlen(category), ei->categories[i],
                               strlen(ei->categories[i]));
        if (!ok)
            return false;
    }
    return true;
}
