/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen.c: deterministic generator of the benchmark's cloud audit dataset (NDJSON).
 *
 * Stage: bench only (not part of the library). Writes a mix of the record shapes vigie reads
 * most: Microsoft 365 Unified Audit Log records as the Management Activity API returns them
 * (MailItemsAccessed with Folders/FolderItems and AppAccessContext, FileAccessed,
 * UserLoggedIn, Set-Mailbox / New-InboxRule with Parameters), Entra ID sign-ins in both the
 * Log Analytics `SigninLogs` row shape and the Azure Monitor (Event Hub) envelope, and AWS
 * CloudTrail records. Values come from small pools (6 tenants, ~40 users each, public-looking
 * IPv4/IPv6 addresses, real user agents and well-known first-party app ids) so that field
 * cardinalities look like a real tenant; a low rate (between 1 in 200 and 1 in 10,000
 * records, about 0.4% of records alert in all) of what SigmaHQ's cloud rules look for
 * (StopLogging/DeleteTrail, GuardDuty and Config tampering, assumed-role sessions, account
 * lockout 50053, MFA denied, "Disable Strong Authentication.", Device Code sign-ins,
 * non-compliant devices, ...) makes alerts fire without drowning the output.
 *
 * Invariants: the output is a pure function of (seed, size): one splitmix64 stream, no clock,
 * no environment. Records average about 1.3 KB; generation stops at the first record that
 * takes the output to the requested size (-m MB, 10^6 bytes). Costs: one output buffer of
 * 1 MiB, no allocation per record; about 500 MB/s on one core (220 MB in under a second).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG ---------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). The modulo bias is irrelevant here. */
static uint32_t rn(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

/* True with probability 1/n. */
static int one_in(uint32_t n)
{
    return rn(n) == 0;
}

#define PICK(arr) ((arr)[rn((uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* ---- output buffer --------------------------------------------------------------------------- */

#define OUT_CAP (1u << 20)
#define REC_MAX 16384u /* one record never exceeds this; flushed before each record */

static char out_buf[OUT_CAP];
static size_t out_len;
static FILE *out_f;
static uint64_t out_total;

static int flush_out(void)
{
    if (out_len && fwrite(out_buf, 1, out_len, out_f) != out_len)
        return -1;
    out_total += out_len;
    out_len = 0;
    return 0;
}

static void put(const char *s)
{
    size_t l = strlen(s);
    memcpy(out_buf + out_len, s, l);
    out_len += l;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void putf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out_buf + out_len, OUT_CAP - out_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_len += (size_t)n;
}

/* ---- value pools ----------------------------------------------------------------------------- */

typedef struct tenant {
    char id[37];
    const char *domain;
    const char *org;
    char aws_account[13];
} tenant;

#define N_TENANTS 6
#define N_USERS 40
static tenant tenants[N_TENANTS];
static const char *const domains[N_TENANTS] = {"contoso.com", "fabrikam.com",
                                               "northwindtraders.com", "adatum.com",
                                               "tailspintoys.com", "wingtiptoys.com"};
static const char *const orgs[N_TENANTS] = {"contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com",
                                            "northwind.onmicrosoft.com", "adatum.onmicrosoft.com",
                                            "tailspin.onmicrosoft.com", "wingtip.onmicrosoft.com"};
static const char *const first_names[] = {
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
    "yasmin", "zoe", "amir", "bea", "chen", "dmitri", "elena", "farid", "gita", "hugo", "ines"};
static const char *const last_names[] = {
    "martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy",
    "moreau", "simon", "laurent", "lefebvre", "michel", "garcia", "david", "bertrand", "roux",
    "vincent", "fournier", "morel", "girard", "andre", "mercier", "dupont", "lambert"};

typedef struct user {
    char upn[64];
    char name[48];
    char oid[37];
    char mbx[37];
} user;

static user users[N_TENANTS][N_USERS];

/* Each user's current sign-in session and token: mailbox access carries them (SessionId,
 * AADSessionId, UniqueTokenId), as Exchange does for tokens Entra ID issued, so the sign-in
 * join of vigie's sessions finds them. Access before any sign-in of the user (the start of
 * the data) carries ids no sign-in in the data issued, as a real export window does. */
static struct {
    char sess[37], tok[24];
    int set;
} ustate[N_TENANTS * N_USERS];

static int ustate_of(const user *u)
{
    return (int)(u - &users[0][0]);
}

/* Well-known first-party application ids (public). */
typedef struct app {
    const char *id;
    const char *name;
} app;
static const app apps[] = {
    {"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
    {"d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"},
    {"27922004-5251-4030-b22d-91ecd9a37ea4", "Outlook Mobile"},
    {"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
    {"00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"},
    {"4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"},
    {"1950a258-227b-4e31-a9cf-717495945fc2", "Microsoft Azure PowerShell"},
    {"04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Microsoft Azure CLI"},
    {"de8bc8b5-d9f9-48b1-a8ad-b748da725064", "Graph Explorer"},
    {"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", "Office365 Shell WCSS-Client"},
};

static const char *const user_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/114.0.0.0 Safari/537.36 Edg/114.0.1823.58",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/115.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.16529; Pro)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/114.0",
};

static const char *const client_info[] = {
    "Client=OWA;Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/114.0.0.0 Safari/537.36;",
    "Client=MSExchangeRPC",
    "Client=REST;Client=RESTSystem;;",
    "Client=OutlookService;Outlook-iOS/2.0;",
    "Client=WebServices;Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.16529; "
    "Pro);",
};

static const char *const aws_regions[] = {"us-east-1", "us-east-2", "us-west-2", "eu-west-1",
                                          "eu-central-1", "ap-southeast-2"};
static const char *const aws_ua[] = {
    "aws-cli/2.13.0 Python/3.11.4 Linux/6.1.0-10-amd64 exe/x86_64.debian.12 prompt/off "
    "command/s3.ls",
    "Boto3/1.28.1 md/Botocore#1.31.1 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.4 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.1",
    "aws-sdk-go-v2/1.18.1 os/linux lang/go#1.20.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.19.2",
    "console.amazonaws.com",
    "AWS Internal",
    "Terraform/1.5.2 (+https://www.terraform.io) terraform-provider-aws/5.6.2 "
    "aws-sdk-go-v2/1.18.1",
};

/* A public-looking address: IPv4 from cloud/ISP blocks, sometimes IPv6. */
static void ip(char *dst, size_t cap)
{
    static const uint8_t a[] = {20, 40, 52, 81, 86, 90, 109, 145, 176, 185, 193, 203};
    if (one_in(12)) {
        snprintf(dst, cap, "2a01:e0a:%x:%x::%x", rn(0xffff), rn(0xffff), rn(0xfff) + 1);
        return;
    }
    snprintf(dst, cap, "%u.%u.%u.%u", PICK(a), rn(256), rn(256), 1 + rn(254));
}

static void guid(char *dst)
{
    uint64_t a = rnd(), b = rnd();
    snprintf(dst, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             a >> 32, (a >> 16) & 0xffff, a & 0xfff, ((b >> 48) & 0x3fff) | 0x8000,
             (uint64_t)(b & 0xffffffffffffULL));
}

static void hex(char *dst, unsigned n)
{
    static const char d[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++)
        dst[i] = d[rn(16)];
    dst[n] = 0;
}

static void upper_alnum(char *dst, unsigned n)
{
    static const char d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for (unsigned i = 0; i < n; i++)
        dst[i] = d[rn(32)];
    dst[n] = 0;
}

static void init_pools(void)
{
    for (int t = 0; t < N_TENANTS; t++) {
        guid(tenants[t].id);
        tenants[t].domain = domains[t];
        tenants[t].org = orgs[t];
        snprintf(tenants[t].aws_account, sizeof tenants[t].aws_account, "%06u%06u",
                 rn(1000000), rn(1000000));
        for (int u = 0; u < N_USERS; u++) {
            user *us = &users[t][u];
            const char *f = PICK(first_names), *l = PICK(last_names);
            snprintf(us->upn, sizeof us->upn, "%s.%s@%s", f, l, domains[t]);
            snprintf(us->name, sizeof us->name, "%c%s %c%s", f[0] - 32, f + 1, l[0] - 32, l + 1);
            guid(us->oid);
            guid(us->mbx);
        }
    }
}

/* ---- time ------------------------------------------------------------------------------------ */

static int64_t now_ms = 1685577600000LL; /* 2023-06-01T00:00:00Z */

static void advance(void)
{
    now_ms += rn(40); /* ~50 records per second of audit time */
}

/* fmt: 0 = UAL "2023-06-01T00:00:00" (no zone), 1 = ISO with Z, 2 = 7 fractional digits + Z */
static void put_time(int fmt)
{
    int64_t s = now_ms / 1000, ms = now_ms % 1000;
    int64_t days = s / 86400, rem = s % 86400;
    /* civil from days (Howard Hinnant's algorithm) */
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    putf("\"%04d-%02d-%02dT%02d:%02d:%02d", (int)y, (int)m, (int)d, (int)(rem / 3600),
         (int)(rem / 60 % 60), (int)(rem % 60));
    if (fmt == 1)
        putf(".%03dZ\"", (int)ms);
    else if (fmt == 2)
        putf(".%03d%04uZ\"", (int)ms, rn(10000));
    else
        put("\"");
}

/* ---- M365 Unified Audit Log -------------------------------------------------------------------- */

static const char *const folders[] = {"\\\\Inbox", "\\\\Sent Items", "\\\\Archive",
                                      "\\\\Inbox\\\\Projects", "\\\\Deleted Items",
                                      "\\\\Drafts", "\\\\Inbox\\\\Finance"};

static void ual_common(const tenant *t, const user *u, const char *op, int rtype,
                       const char *workload, const char *ipaddr, const char *result)
{
    char id[37];
    guid(id);
    putf("{\"CreationTime\":");
    put_time(0);
    putf(",\"Id\":\"%s\",\"Operation\":\"%s\",\"OrganizationId\":\"%s\",\"RecordType\":%d,"
         "\"ResultStatus\":\"%s\",\"UserKey\":\"%s\",\"UserType\":0,\"Version\":1,"
         "\"Workload\":\"%s\",\"ClientIP\":\"%s\",\"UserId\":\"%s\"",
         id, op, t->id, rtype, result, u->oid, workload, ipaddr, u->upn);
}

static void ual_mail_items_accessed(const tenant *t, const user *u)
{
    char ipaddr[48], sess[37], corr[37], tok[24], aad[37];
    ip(ipaddr, sizeof ipaddr);
    guid(sess);
    guid(corr);
    guid(aad);
    upper_alnum(tok, 22);
    int ui = ustate_of(u);
    if (ustate[ui].set) {
        memcpy(sess, ustate[ui].sess, sizeof sess);
        memcpy(aad, ustate[ui].sess, sizeof aad);
        memcpy(tok, ustate[ui].tok, sizeof tok);
    }
    const app *a = rn(10) < 7 ? &apps[rn(3)] : &PICK(apps);
    ual_common(t, u, "MailItemsAccessed", 50, "Exchange", ipaddr, "Succeeded");
    int bind = rn(4) != 0;
    putf(",\"AppId\":\"%s\",\"ClientAppId\":\"%s\",\"ClientIPAddress\":\"%s\","
         "\"ClientInfoString\":\"%s\",\"ExternalAccess\":false,\"InternalLogonType\":0,"
         "\"LogonType\":0,\"MailboxGuid\":\"%s\","
         "\"MailboxOwnerSid\":\"S-1-5-21-%u-%u-%u-%u\",\"MailboxOwnerUPN\":\"%s\","
         "\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"%s\"},"
         "{\"Name\":\"IsThrottled\",\"Value\":\"%s\"}],"
         "\"SessionId\":\"%s\",\"TokenObjectId\":\"%s\",\"TokenTenantId\":\"%s\"",
         a->id, a->id, ipaddr, PICK(client_info), u->mbx, 1000 + rn(9000), 1000 + rn(9000),
         1000 + rn(9000), 1100 + rn(900), u->upn, bind ? "Bind" : "Sync",
         one_in(500) ? "True" : "False", sess,
         u->oid, t->id);
    put(",\"Folders\":[");
    unsigned nf = 1 + one_in(4);
    unsigned count = 0;
    for (unsigned f = 0; f < nf; f++) {
        char fid[49];
        hex(fid, 48);
        putf("%s{\"FolderItems\":[", f ? "," : "");
        unsigned ni = bind ? 1 + rn(2) : 0;
        for (unsigned i = 0; i < ni; i++) {
            char mid[40];
            upper_alnum(mid, 30);
            putf("%s{\"InternetMessageId\":\"<%s@%sPR%02uMB%04u.eurprd0%u.prod.outlook.com>\","
                 "\"SizeInBytes\":%u}",
                 i ? "," : "", mid, rn(2) ? "AM" : "DB", rn(100), rn(10000), 1 + rn(8),
                 2000 + rn(200000));
            count++;
        }
        putf("],\"Id\":\"LgAAAA%s\",\"Path\":\"%s\"}", fid, PICK(folders));
    }
    putf("],\"OperationCount\":%u", count ? count : 1);
    putf(",\"AppAccessContext\":{\"AADSessionId\":\"%s\",\"APIId\":\"%s\",\"ClientAppId\":\"%s\","
         "\"ClientAppName\":\"%s\",\"CorrelationId\":\"%s\",\"UniqueTokenId\":\"%s\","
         "\"IssuedAtTime\":",
         aad, apps[0].id, a->id, a->name, corr, tok);
    put_time(0);
    put("}}\n");
}

static void ual_file_accessed(const tenant *t, const user *u)
{
    static const char *const files[] = {"Q3 forecast.xlsx", "Board minutes 2023-05.docx",
                                        "Architecture.vsdx", "Salaries_2023.xlsx",
                                        "Onboarding.pptx", "VPN config.pdf"};
    static const char *const sites[] = {"Finance", "HR", "Engineering", "Legal", "Sales"};
    char ipaddr[48], lid[37], site[37], web[37];
    ip(ipaddr, sizeof ipaddr);
    guid(lid);
    guid(site);
    guid(web);
    int od = rn(3) == 0;
    const char *workload = od ? "OneDrive" : "SharePoint";
    const char *sname = PICK(sites), *fname = PICK(files);
    const char *op = one_in(50) ? "FileDownloaded" : one_in(30) ? "FileDeleted" : "FileAccessed";
    ual_common(t, u, op, 6, workload, ipaddr, "Succeeded");
    char host[40], dev[16];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(t->org, "."), t->org);
    snprintf(dev, sizeof dev, "PC-%05u", rn(100000));
    putf(",\"CorrelationId\":\"%s\",\"EventSource\":\"SharePoint\",\"ItemType\":\"File\","
         "\"ListId\":\"%s\",\"ListItemUniqueId\":\"%s\",\"Site\":\"%s\",\"UserAgent\":\"%s\","
         "\"WebId\":\"%s\","
         "\"ObjectId\":\"https://%s.sharepoint.com/sites/%s/Shared Documents/%s\","
         "\"SourceFileExtension\":\"%s\",\"SiteUrl\":\"https://%s.sharepoint.com/sites/%s/\","
         "\"SourceFileName\":\"%s\",\"SourceRelativeUrl\":\"Shared Documents\","
         "\"ApplicationDisplayName\":\"%s\",\"ApplicationId\":\"%s\",\"AuthenticationType\":"
         "\"OAuth\","
         "\"DeviceDisplayName\":\"%s\",\"IsManagedDevice\":%s,\"Platform\":\"WinDesktop\","
         "\"IsInternal\":true}\n",
         web, lid, site, site, user_agents[0], web, host, sname, fname, strrchr(fname, '.') + 1, host,
         sname, fname, apps[4].name, apps[4].id, dev, rn(2) ? "true" : "false");
}

static void ual_user_logged_in(const tenant *t, const user *u)
{
    char ipaddr[48], req[37], intid[37];
    ip(ipaddr, sizeof ipaddr);
    guid(req);
    guid(intid);
    int fail = one_in(8);
    const app *a = &PICK(apps);
    ual_common(t, u, fail ? "UserLoginFailed" : "UserLoggedIn", 15, "AzureActiveDirectory",
               ipaddr, fail ? "Failed" : "Success");
    putf(",\"AzureActiveDirectoryEventType\":1,\"ExtendedProperties\":["
         "{\"Name\":\"ResultStatusDetail\",\"Value\":\"%s\"},"
         "{\"Name\":\"UserAgent\",\"Value\":\"%s\"},"
         "{\"Name\":\"RequestType\",\"Value\":\"OAuth2:Authorize\"}],"
         "\"ModifiedProperties\":[],\"Actor\":[{\"ID\":\"%s\",\"Type\":0},{\"ID\":\"%s\","
         "\"Type\":5}],\"ActorContextId\":\"%s\",\"ActorIpAddress\":\"%s\","
         "\"InterSystemsId\":\"%s\",\"IntraSystemId\":\"%s\",\"SupportTicketId\":\"\","
         "\"Target\":[{\"ID\":\"%s\",\"Type\":0}],\"TargetContextId\":\"%s\","
         "\"ApplicationId\":\"%s\",\"DeviceProperties\":[{\"Name\":\"OS\",\"Value\":\"Windows 10\"},"
         "{\"Name\":\"BrowserType\",\"Value\":\"Edge\"},{\"Name\":\"IsCompliantAndManaged\","
         "\"Value\":\"False\"},{\"Name\":\"SessionId\",\"Value\":\"%s\"}],"
         "\"ErrorNumber\":\"%s\"}\n",
         fail ? "UserError" : "Redirect", PICK(user_agents), u->oid, u->upn, t->id, ipaddr, req,
         intid, a->id, t->id, a->id, req, fail ? (one_in(2) ? "50126" : "50053") : "0");
}

static void ual_exchange_admin(const tenant *t, const user *u)
{
    char ipaddr[48];
    ip(ipaddr, sizeof ipaddr);
    const user *target = &users[t - tenants][rn(N_USERS)];
    int rule = rn(2);
    int rare = one_in(200);
    const char *op = rule ? "New-InboxRule" : "Set-Mailbox";
    if (rare)
        op = rn(2) ? "Disable Strong Authentication." : "Add-MailboxPermission";
    ual_common(t, u, op, 1, "Exchange", ipaddr, "True");
    putf(",\"AppId\":\"\",\"ClientAppId\":\"\",\"ExternalAccess\":false,"
         "\"OrganizationName\":\"%s\",\"OriginatingServer\":\"DB%uPR%02uMB%04u (15.20.6500.%u)\","
         "\"ObjectId\":\"%s\",\"Parameters\":[",
         t->org, 6 + rn(3), rn(100), rn(10000), rn(30), target->upn);
    if (rule)
        putf("{\"Name\":\"Identity\",\"Value\":\"%s\"},{\"Name\":\"Name\",\"Value\":\"%s\"},"
             "{\"Name\":\"From\",\"Value\":\"%s\"},{\"Name\":\"MoveToFolder\",\"Value\":"
             "\"Archive\"},{\"Name\":\"StopProcessingRules\",\"Value\":\"True\"}",
             target->upn, rn(3) ? "Newsletters" : "..", PICK(users[rn(N_TENANTS)]).upn);
    else
        putf("{\"Name\":\"Identity\",\"Value\":\"%s\"},{\"Name\":\"ForwardingSmtpAddress\","
             "\"Value\":\"smtp:%s\"},{\"Name\":\"DeliverToMailboxAndForward\",\"Value\":\"True\"}",
             target->upn, PICK(users[rn(N_TENANTS)]).upn);
    putf("],\"SessionId\":\"\",\"RequestId\":\"%08x-%04x\"}\n", (unsigned)rnd(), rn(65536));
}

/* ---- Entra ID sign-ins ------------------------------------------------------------------------ */

typedef struct signin {
    const char *result_type;
    const char *result_desc;
    const char *status_extra;
    const char *auth_req;
    const char *protocol;
    const char *client_app;
} signin;

static signin pick_signin(void)
{
    signin s = {"0", "", "", "singleFactorAuthentication", "none", "Browser"};
    uint32_t r = rn(4000);
    if (r < 300) {
        s.result_type = "50126";
        s.result_desc = "Error validating credentials due to invalid username or password.";
    } else if (r < 500) {
        s.result_type = "50074";
        s.result_desc = "Strong Authentication is required.";
        s.auth_req = "multiFactorAuthentication";
    } else if (r < 502) {
        s.result_type = "50053";
        s.result_desc = "Account is locked because user tried to sign in too many times with an "
                        "incorrect user ID or password.";
    } else if (r < 504) {
        s.result_type = "500121";
        s.result_desc = "Authentication failed during strong authentication request.";
        s.status_extra = "MFA Denied; user declined the authentication";
        s.auth_req = "multiFactorAuthentication";
    } else if (r < 506) {
        s.protocol = "deviceCode";
        s.client_app = "Mobile Apps and Desktop clients";
    } else if (r < 508) {
        s.result_type = "50057";
        s.result_desc = "User account is disabled.";
    } else if (r < 1800) {
        s.auth_req = "multiFactorAuthentication";
        s.client_app = rn(2) ? "Browser" : "Mobile Apps and Desktop clients";
    }
    return s;
}

static void put_signin_props(const tenant *t, const user *u, const app *a, const signin *s,
                             const char *ipaddr, const char *id, const char *corr, int lower)
{
    /* lower = Event Hub properties (camelCase), otherwise Log Analytics columns (PascalCase) */
    char tok[24], sess[37], dev[37];
    upper_alnum(tok, 22);
    guid(sess);
    guid(dev);
    int ui = ustate_of(u);
    if (s->result_type[0] == '0') { /* a successful sign-in: the user's session from now on */
        memcpy(ustate[ui].sess, sess, sizeof sess);
        memcpy(ustate[ui].tok, tok, sizeof tok);
        ustate[ui].set = 1;
    }
    const char *ua = PICK(user_agents);
    if (lower)
        putf("{\"id\":\"%s\",\"createdDateTime\":", id);
    else
        putf("\"Id\":\"%s\",\"CreatedDateTime\":", id);
    put_time(2);
    putf(lower ? ",\"userDisplayName\":\"%s\",\"userPrincipalName\":\"%s\",\"userId\":\"%s\","
                 "\"appId\":\"%s\",\"appDisplayName\":\"%s\",\"ipAddress\":\"%s\","
                 "\"clientAppUsed\":\"%s\",\"userAgent\":\"%s\",\"correlationId\":\"%s\","
                 "\"conditionalAccessStatus\":\"%s\",\"isInteractive\":%s,"
                 "\"authenticationRequirement\":\"%s\",\"authenticationProtocol\":\"%s\","
                 "\"tokenIssuerType\":\"AzureAD\",\"uniqueTokenIdentifier\":\"%s\","
                 "\"sessionId\":\"%s\","
                 "\"homeTenantId\":\"%s\",\"resourceTenantId\":\"%s\","
                 "\"status\":{\"errorCode\":%s,\"failureReason\":\"%s\","
                 "\"additionalDetails\":\"%s\"},"
                 "\"deviceDetail\":{\"deviceId\":\"%s\",\"displayName\":\"LAPTOP-%.6s\","
                 "\"operatingSystem\":\"Windows10\",\"browser\":\"Edge 114.0.1823\","
                 "\"isCompliant\":%s,\"trustType\":\"Azure AD joined\"},"
                 "\"location\":{\"city\":\"%s\",\"countryOrRegion\":\"%s\"},"
                 "\"riskState\":\"none\"}"
               : ",\"UserDisplayName\":\"%s\",\"UserPrincipalName\":\"%s\",\"UserId\":\"%s\","
                 "\"AppId\":\"%s\",\"AppDisplayName\":\"%s\",\"IPAddress\":\"%s\","
                 "\"ClientAppUsed\":\"%s\",\"UserAgent\":\"%s\",\"CorrelationId\":\"%s\","
                 "\"ConditionalAccessStatus\":\"%s\",\"IsInteractive\":%s,"
                 "\"AuthenticationRequirement\":\"%s\",\"AuthenticationProtocol\":\"%s\","
                 "\"TokenIssuerType\":\"AzureAD\",\"UniqueTokenIdentifier\":\"%s\","
                 "\"SessionId\":\"%s\","
                 "\"HomeTenantId\":\"%s\",\"ResourceTenantId\":\"%s\","
                 "\"Status\":{\"errorCode\":%s,\"failureReason\":\"%s\","
                 "\"additionalDetails\":\"%s\"},"
                 "\"DeviceDetail\":{\"deviceId\":\"%s\",\"displayName\":\"LAPTOP-%.6s\","
                 "\"operatingSystem\":\"Windows10\",\"browser\":\"Edge 114.0.1823\","
                 "\"isCompliant\":%s,\"trustType\":\"Azure AD joined\"},"
                 "\"LocationDetails\":{\"city\":\"%s\",\"countryOrRegion\":\"%s\"},"
                 "\"RiskState\":\"none\"",
         u->name, u->upn, u->oid, a->id, a->name, ipaddr, s->client_app, ua, corr,
         s->result_type[0] == '0' ? "success" : "notApplied", rn(3) ? "true" : "false",
         s->auth_req, s->protocol, tok, sess, t->id, t->id, s->result_type, s->result_desc,
         s->status_extra, dev, dev, one_in(400) ? "false" : "true",
         rn(2) ? "Paris" : rn(2) ? "Amsterdam" : "Dublin", rn(2) ? "FR" : rn(2) ? "NL" : "IE");
}

static void signin_la(const tenant *t, const user *u)
{
    char ipaddr[48], id[37], corr[37];
    ip(ipaddr, sizeof ipaddr);
    guid(id);
    guid(corr);
    const app *a = &PICK(apps);
    signin s = pick_signin();
    put("{\"TenantId\":");
    putf("\"%s\",\"SourceSystem\":\"Azure AD\",\"TimeGenerated\":", t->id);
    put_time(2);
    putf(",\"OperationName\":\"Sign-in activity\",\"Category\":\"SignInLogs\","
         "\"ResultType\":\"%s\",\"ResultDescription\":\"%s\",\"Identity\":\"%s\","
         "\"Level\":\"4\",\"Location\":\"%s\",\"AppDisplayName\":\"%s\",",
         s.result_type, s.result_desc, u->name, rn(2) ? "FR" : "NL", a->name);
    put_signin_props(t, u, a, &s, ipaddr, id, corr, 0);
    put(",\"Type\":\"SigninLogs\"}\n");
}

static void signin_eventhub(const tenant *t, const user *u)
{
    char ipaddr[48], id[37], corr[37];
    ip(ipaddr, sizeof ipaddr);
    guid(id);
    guid(corr);
    const app *a = &PICK(apps);
    signin s = pick_signin();
    put("{\"time\":");
    put_time(2);
    putf(",\"resourceId\":\"/tenants/%s/providers/Microsoft.aadiam\","
         "\"operationName\":\"Sign-in activity\","
         "\"category\":\"SignInLogs\",\"tenantId\":\"%s\",\"resultType\":\"%s\","
         "\"resultDescription\":\"%s\","
         "\"callerIpAddress\":\"%s\",\"correlationId\":\"%s\",\"identity\":\"%s\","
         "\"location\":\"%s\",\"properties\":",
         t->id, t->id, s.result_type, s.result_desc, ipaddr, corr, u->name,
         rn(2) ? "FR" : "NL");
    put_signin_props(t, u, a, &s, ipaddr, id, corr, 1);
    put("}\n");
}

/* ---- CloudTrail -------------------------------------------------------------------------------- */

typedef struct ct_event {
    const char *source;
    const char *name;
    int read_only;
} ct_event;

static const ct_event ct_common[] = {
    {"s3.amazonaws.com", "GetObject", 1},       {"s3.amazonaws.com", "PutObject", 0},
    {"s3.amazonaws.com", "GetBucketLocation", 1}, {"ec2.amazonaws.com", "DescribeInstances", 1},
    {"sts.amazonaws.com", "AssumeRole", 1},     {"kms.amazonaws.com", "Decrypt", 1},
    {"iam.amazonaws.com", "ListRoles", 1},      {"lambda.amazonaws.com", "Invoke", 0},
    {"logs.amazonaws.com", "PutLogEvents", 0},  {"ec2.amazonaws.com", "DescribeSecurityGroups", 1},
    {"dynamodb.amazonaws.com", "Query", 1},     {"ssm.amazonaws.com", "GetParameter", 1},
};
static const ct_event ct_rare[] = {
    {"cloudtrail.amazonaws.com", "StopLogging", 0},
    {"cloudtrail.amazonaws.com", "DeleteTrail", 0},
    {"cloudtrail.amazonaws.com", "UpdateTrail", 0},
    {"guardduty.amazonaws.com", "DeleteDetector", 0},
    {"iam.amazonaws.com", "CreateAccessKey", 0},
    {"ec2.amazonaws.com", "CreateKeyPair", 0},
    {"s3.amazonaws.com", "DeleteBucket", 0},
    {"config.amazonaws.com", "StopConfigurationRecorder", 0},
    {"sts.amazonaws.com", "GetSessionToken", 1},
    {"ec2.amazonaws.com", "DeleteFlowLogs", 0},
    {"s3.amazonaws.com", "ListBuckets", 1},
};

static void cloudtrail(const tenant *t, const user *u)
{
    char ipaddr[48], req[37], evid[37], akid[21], pid[22];
    ip(ipaddr, sizeof ipaddr);
    guid(req);
    guid(evid);
    memcpy(akid, "ASIA", 4);
    upper_alnum(akid + 4, 16);
    memcpy(pid, "AROA", 4);
    upper_alnum(pid + 4, 17);
    const ct_event *e = one_in(400) ? &PICK(ct_rare) : &PICK(ct_common);
    const char *region = PICK(aws_regions);
    char uname[40];
    snprintf(uname, sizeof uname, "%.*s", (int)strcspn(u->upn, "@"), u->upn);
    int fail = one_in(30);
    /* Most calls come from IAM users (access keys); an assumed-role session is rare here so
     * that SigmaHQ's "AssumeRole Misuse" rule fires at a low rate, not on every record. */
    const char *role = rn(2) ? "AdminRole" : "DevOpsRole";
    if (one_in(200)) {
        put("{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AssumedRole\",");
        putf("\"principalId\":\"%s:%s\",\"arn\":\"arn:aws:sts::%s:assumed-role/%s/%s\","
             "\"accountId\":\"%s\",\"accessKeyId\":\"%s\",\"sessionContext\":{"
             "\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"%s\","
             "\"arn\":\"arn:aws:iam::%s:role/%s\",\"accountId\":\"%s\",\"userName\":\"%s\"},"
             "\"attributes\":{\"creationDate\":",
             pid, uname, t->aws_account, role, uname, t->aws_account, akid, pid, t->aws_account,
             role, t->aws_account, role);
    } else {
        memcpy(akid, "AKIA", 4);
        memcpy(pid, "AIDA", 4);
        put("{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",");
        putf("\"principalId\":\"%s\",\"arn\":\"arn:aws:iam::%s:user/%s\","
             "\"accountId\":\"%s\",\"accessKeyId\":\"%s\",\"userName\":\"%s\","
             "\"sessionContext\":{\"attributes\":{\"creationDate\":",
             pid, t->aws_account, uname, t->aws_account, akid, uname);
    }
    put_time(1);
    putf(",\"mfaAuthenticated\":\"%s\"}}},\"eventTime\":", rn(3) ? "true" : "false");
    put_time(1);
    putf(",\"eventSource\":\"%s\",\"eventName\":\"%s\",\"awsRegion\":\"%s\","
         "\"sourceIPAddress\":\"%s\",\"userAgent\":\"%s\",",
         e->source, e->name, region, ipaddr, PICK(aws_ua));
    if (fail)
        put("\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User is not authorized to "
            "perform this operation\",");
    if (!strcmp(e->source, "s3.amazonaws.com"))
        putf("\"requestParameters\":{\"bucketName\":\"%s-%s-data\",\"Host\":\"%s-%s-data.s3."
             "%s.amazonaws.com\",\"key\":\"exports/%u/part-%05u.parquet\"},",
             t->domain, region, t->domain, region, region, rn(1000), rn(100000));
    else if (!strcmp(e->source, "cloudtrail.amazonaws.com"))
        putf("\"requestParameters\":{\"name\":\"arn:aws:cloudtrail:%s:%s:trail/org-trail\"},",
             region, t->aws_account);
    else if (!strcmp(e->name, "DescribeInstances"))
        putf("\"requestParameters\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-%s\"}]},"
             "\"filterSet\":{}},",
             "0a1b2c3d4e5f60718");
    else
        putf("\"requestParameters\":{\"roleArn\":\"arn:aws:iam::%s:role/%s\","
             "\"roleSessionName\":\"%s\",\"durationSeconds\":3600},",
             t->aws_account, rn(2) ? "AdminRole" : "DevOpsRole", uname);
    put("\"responseElements\":null,");
    putf("\"requestID\":\"%s\",\"eventID\":\"%s\",\"readOnly\":%s,\"eventType\":\"AwsApiCall\","
         "\"managementEvent\":true,\"recipientAccountId\":\"%s\","
         "\"tlsDetails\":{\"clientProvidedHostHeader\":\"%.*s.%s.amazonaws.com\"}}\n",
         req, evid, e->read_only ? "true" : "false", t->aws_account,
         (int)strcspn(e->source, "."), e->source, region);
}

/* ---- main -------------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: gen [-m MB] [-s SEED] [-o FILE]\n"
                    "  -m MB    stop after this many megabytes (10^6 bytes; default 220)\n"
                    "  -s SEED  PRNG seed (default 1); the output is a function of (seed, MB)\n"
                    "  -o FILE  output file (default stdout)\n");
}

int main(int argc, char **argv)
{
    double mb = 220;
    uint64_t seed = 1;
    const char *path = NULL;
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "-m") && i + 1 < argc) {
            mb = strtod(argv[++i], &end);
            if (*end || mb <= 0) {
                fprintf(stderr, "gen: error: bad size '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (*end || errno) {
                fprintf(stderr, "gen: error: bad seed '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            path = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    out_f = path ? fopen(path, "wb") : stdout;
    if (!out_f) {
        fprintf(stderr, "gen: error: %s: %s\n", path, strerror(errno));
        return 1;
    }
    rng_state = seed;
    init_pools();
    uint64_t target = (uint64_t)(mb * 1e6);
    uint64_t n = 0;
    while (out_total + out_len < target) {
        if (OUT_CAP - out_len < REC_MAX && flush_out() != 0)
            goto io_err;
        advance();
        uint32_t ti = rn(N_TENANTS) % N_TENANTS;
        /* skew: the first tenant is the biggest */
        if (rn(3) == 0)
            ti = 0;
        const tenant *t = &tenants[ti];
        const user *u = &users[ti][rn(N_USERS)];
        uint32_t k = rn(100);
        if (k < 20)
            ual_mail_items_accessed(t, u);
        else if (k < 34)
            ual_file_accessed(t, u);
        else if (k < 42)
            ual_user_logged_in(t, u);
        else if (k < 45)
            ual_exchange_admin(t, u);
        else if (k < 53)
            signin_la(t, u);
        else if (k < 61)
            signin_eventhub(t, u);
        else
            cloudtrail(t, u);
        n++;
    }
    if (flush_out() != 0)
        goto io_err;
    if (fflush(out_f) != 0)
        goto io_err;
    fprintf(stderr, "gen: %" PRIu64 " records, %" PRIu64 " bytes (%.0f bytes/record), seed %" PRIu64
                    "\n",
            n, out_total, n ? (double)out_total / (double)n : 0.0, seed);
    rc = 0;
    goto out;
io_err:
    fprintf(stderr, "gen: error: write failed: %s\n", strerror(errno));
out:
    if (path && out_f && fclose(out_f) != 0 && rc == 0) {
        fprintf(stderr, "gen: error: close failed: %s\n", strerror(errno));
        rc = 1;
    }
    return rc;
}
