/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html.c: `vigie report`: a vigie store (SQLite, schema v1) turned into one HTML page a
 * person reads: totals, campaigns, one row per organization, a timeline (SVG drawn here),
 * the top N alerts with their raw records, and where the logs were blind (visibility gaps).
 *
 * Stage: report. Reads the store's tables with SQLite's C API (no vigie store code needed),
 * and the alerts' `json` column with vigie's JSON reader. The page is assembled in one
 * vg_buf (`page.b`) and written at the end; the first failure is kept in `page.rc` and
 * every later append is a no-op, so the section writers stay linear.
 *
 * Invariants: every byte taken from the store reaches the page through vg__report_escape
 * (tenants, users, titles and raw events are attacker-written); the page references no
 * URL and holds no script, and its Content-Security-Policy forbids both, in case an escape
 * were ever missed. Memory: the organizations and gaps lists and one alert at a time; the
 * timeline draws at most one mark per 4-unit cell (1/200 of the plot), kind and level of a
 * row, so its size is bounded by rows x cells whatever the number of alerts.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/json.h"
#include "report/html.h"

#define DEFAULT_TOP 25u
#define MAX_TOP 1000u
#define MAX_TIMELINE_ROWS 400u  /* organizations drawn on the timeline */
#define MAX_LIST 50u            /* items of one campaign list shown */
#define MAX_EVIDENCE 20         /* evidence rows shown per alert */
#define MAX_PRETTY (256u << 10) /* bytes of one pretty-printed event */

/* Severity, highest first; index = rank - 1 counted from the bottom (see level_rank). */
static const struct {
    const char *name, *color;
} levels[] = {
    {"critical", "#6a1b9a"}, {"high", "#c62828"}, {"medium", "#ef6c00"},
    {"low", "#f9a825"},      {"informational", "#1565c0"},
};
#define RANK_SQL                                                                                  \
    "CASE level WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 " \
    "WHEN 'informational' THEN 1 ELSE 0 END"
#define HIGH_SQL "level IN ('high','critical')"

static int level_rank(const char *lv)
{
    for (size_t i = 0; lv && i < VG_ARRAY_LEN(levels); i++)
        if (!strcmp(lv, levels[i].name))
            return (int)(VG_ARRAY_LEN(levels) - i);
    return 0;
}

static const char *level_color(const char *lv)
{
    int r = level_rank(lv);
    return r ? levels[VG_ARRAY_LEN(levels) - (size_t)r].color : "#757575";
}

/* One organization (tenant) of the store. */
typedef struct org {
    char *tenant;          /* malloc'd; NULL for alerts without a tenant */
    long long alerts;      /* alerts other than gaps */
    long long high;        /* of which high or critical */
    long long messages;    /* distinct messages read in high/critical combined alerts */
    long long gaps;
    char *first, *last;    /* first/last time of a high or critical alert; NULL if none */
    int campaign;          /* tenant listed in campaign_orgs */
} org;

/* One visibility gap (alerts.kind = 'gap'). Strings malloc'd, NULL when absent. */
typedef struct gap {
    char *tenant, *gap, *from, *to, *detail;
    long long records, days; /* -1 when absent */
} gap;

/* An organization's tenant (never NULL: "" for alerts without one) and its index. */
typedef struct name_ix {
    const char *key;
    uint32_t i;
} name_ix;

typedef struct page {
    vg_buf b;   /* the page */
    int rc;     /* first failure; appends are no-ops after it */
    sqlite3 *db;
    const vg_report_opts *o;
    vg_jtape t; /* reused for every json column */
    vg_buf tmp;
    org *orgs;
    uint32_t n_orgs;
    name_ix *by_name;  /* one per org, sorted by tenant (for lookups) */
    gap *gaps;
    uint32_t n_gaps;
} page;

/* ---- output ------------------------------------------------------------------------------ */

static void fail(page *p, int rc)
{
    if (p->rc == VIGIE_OK)
        p->rc = rc;
}

static void put(page *p, const char *s)
{
    if (p->rc == VIGIE_OK)
        fail(p, vg__buf_adds(&p->b, s));
}

/* Formatted text for numbers and fixed words only; data strings go through esc(). */
static void VG_PRINTF(2, 3) putf(page *p, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        fail(p, VIGIE_TOOBIG);
    put(p, tmp);
}

static void escn(page *p, const char *s, size_t n)
{
    if (p->rc == VIGIE_OK)
        fail(p, vg__report_escape(&p->b, s, n));
}

/* Escaped text, or an em dash when the value is absent. */
static void esc(page *p, const char *s)
{
    if (!s || !*s)
        put(p, "\xe2\x80\x94");
    else
        escn(p, s, strlen(s));
}

static void put_int(page *p, long long v)
{
    char d[32], g[48];
    int n = snprintf(d, sizeof d, "%lld", v < 0 ? -v : v), k = 0;
    if (v < 0)
        g[k++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            g[k++] = ',';
        g[k++] = d[i];
    }
    g[k] = 0;
    put(p, g);
}

/* ---- HTML escaping ----------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence (RFC 3629) at s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

int vg__report_escape(vg_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    int rc = VIGIE_OK;
    while (i < n && rc == VIGIE_OK) {
        unsigned c = u[i];
        size_t len = 1;
        const char *rep = NULL;
        if (c < 0x80) {
            switch (c) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            case '\t': case '\n': case '\r': break;
            default:
                if (c < 0x20 || c == 0x7F)
                    rep = "\xef\xbf\xbd";
            }
        } else if ((len = utf8_seq(u + i, n - i)) == 0) {
            len = 1;
            rep = "\xef\xbf\xbd";
        }
        if (rep) {
            rc = vg__buf_add(b, s + run, i - run);
            if (rc == VIGIE_OK)
                rc = vg__buf_adds(b, rep);
            run = i + len;
        }
        i += len;
    }
    if (rc == VIGIE_OK && run < n)
        rc = vg__buf_add(b, s + run, n - run);
    return rc;
}

/* ---- store access ------------------------------------------------------------------------ */

static sqlite3_stmt *prep(page *p, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (p->rc != VIGIE_OK)
        return NULL;
    if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK) {
        vg__diag(p->o->diag, p->o->diag_ud, VIGIE_DIAG_ERROR, VIGIE_IO,
                 sqlite3_db_filename(p->db, "main"), 0, 0, NULL, "store query failed: %s",
                 sqlite3_errmsg(p->db));
        fail(p, VIGIE_IO);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Next row of st: true while there is one; a failed step is reported and ends the loop. */
static bool row(page *p, sqlite3_stmt *st)
{
    if (!st || p->rc != VIGIE_OK)
        return false;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        return true;
    if (r != SQLITE_DONE) {
        vg__diag(p->o->diag, p->o->diag_ud, VIGIE_DIAG_ERROR, VIGIE_IO,
                 sqlite3_db_filename(p->db, "main"), 0, 0, NULL, "reading the store failed: %s",
                 sqlite3_errmsg(p->db));
        fail(p, VIGIE_IO);
    }
    return false;
}

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static char *dup_or_null(page *p, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        fail(p, VIGIE_NOMEM);
    return d;
}

/* A single integer from a query with no parameters (0 when it has no row). */
static long long scalar(page *p, const char *sql)
{
    sqlite3_stmt *st = prep(p, sql);
    long long v = row(p, st) ? (long long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

/* Parse a json column into p->t; false when it is absent or not a JSON object. */
static bool parse_json(page *p, const char *s, int n)
{
    return s && n > 0 && vg__json_parse(&p->t, s, (size_t)n, NULL) == VIGIE_OK &&
           p->t.tok[0].type == VG_J_OBJECT;
}

static int64_t member(page *p, uint32_t obj, const char *key)
{
    return vg__json_obj_get(&p->t, obj, key, strlen(key));
}

/* Unescaped string member as a malloc'd string, NULL when absent or not a string. */
static char *member_str(page *p, uint32_t obj, const char *key)
{
    int64_t v = member(p, obj, key);
    if (v < 0 || p->t.tok[v].type != VG_J_STRING)
        return NULL;
    size_t l;
    const char *s = vg__json_str(&p->t, (uint32_t)v, &p->tmp, &l);
    char *d = malloc(l + 1);
    if (!d) {
        fail(p, VIGIE_NOMEM);
        return NULL;
    }
    memcpy(d, s, l);
    d[l] = 0;
    return d;
}

static long long member_int(page *p, uint32_t obj, const char *key)
{
    int64_t v = member(p, obj, key);
    double d;
    if (v < 0 || p->t.tok[v].type != VG_J_NUMBER ||
        vg__json_number(vg__json_raw(&p->t, (uint32_t)v), p->t.tok[v].len, &d) != VIGIE_OK)
        return -1;
    return (long long)d;
}

/* Text of a JSON token: strings unescaped, other scalars as written, containers compact. */
static void put_jtext(page *p, uint32_t i)
{
    const vg_jtok *k = &p->t.tok[i];
    if (k->type == VG_J_STRING) {
        size_t l;
        const char *s = vg__json_str(&p->t, i, &p->tmp, &l);
        escn(p, s, l);
    } else if (k->type == VG_J_ARRAY || k->type == VG_J_OBJECT) {
        /* the source text of the container: from its bracket to its closing bracket */
        const char *s = vg__json_raw(&p->t, i);
        size_t end = k->next < p->t.n ? p->t.tok[k->next].off : p->t.src_len;
        const char *e = p->t.src + end;
        while (e > s && *(e - 1) != ']' && *(e - 1) != '}')
            e--;
        escn(p, s, (size_t)(e - s));
    } else {
        escn(p, vg__json_raw(&p->t, i), k->len);
    }
}

/* ---- loading organizations and gaps ------------------------------------------------------ */

static const char *tenant_key(const char *t)
{
    return t ? t : "";
}

static int by_tenant(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->key, ((const name_ix *)b)->key);
}

static void load_orgs(page *p)
{
    sqlite3_stmt *st = prep(p,
        "SELECT tenant, sum(kind<>'gap'), sum(kind<>'gap' AND " HIGH_SQL "),"
        " total(CASE WHEN kind='combined' AND " HIGH_SQL " THEN messages END),"
        " min(CASE WHEN kind<>'gap' AND " HIGH_SQL " THEN coalesce(first_time,time) END),"
        " max(CASE WHEN kind<>'gap' AND " HIGH_SQL " THEN coalesce(last_time,time) END),"
        " sum(kind='gap'),"
        " EXISTS(SELECT 1 FROM campaign_orgs c WHERE c.tenant=a.tenant)"
        " FROM alerts a GROUP BY tenant ORDER BY 3 DESC, 2 DESC, tenant");
    uint32_t cap = 0;
    while (row(p, st)) {
        if (VG_GROW(p->orgs, cap, (size_t)p->n_orgs + 1, 16)) {
            fail(p, VIGIE_NOMEM);
            break;
        }
        org *o = &p->orgs[p->n_orgs++];
        memset(o, 0, sizeof *o);
        o->tenant = dup_or_null(p, col(st, 0));
        o->alerts = sqlite3_column_int64(st, 1);
        o->high = sqlite3_column_int64(st, 2);
        o->messages = (long long)sqlite3_column_double(st, 3);
        o->first = dup_or_null(p, col(st, 4));
        o->last = dup_or_null(p, col(st, 5));
        o->gaps = sqlite3_column_int64(st, 6);
        o->campaign = sqlite3_column_int(st, 7);
    }
    sqlite3_finalize(st);
    if (p->rc != VIGIE_OK || !p->n_orgs)
        return;
    p->by_name = malloc(p->n_orgs * sizeof *p->by_name);
    if (!p->by_name) {
        fail(p, VIGIE_NOMEM);
        return;
    }
    for (uint32_t i = 0; i < p->n_orgs; i++) {
        p->by_name[i].key = tenant_key(p->orgs[i].tenant);
        p->by_name[i].i = i;
    }
    if (p->n_orgs)
        qsort(p->by_name, p->n_orgs, sizeof *p->by_name, by_tenant);
}

/* Index in p->orgs of a tenant, or -1. */
static int64_t find_org(const page *p, const char *tenant)
{
    const char *k = tenant_key(tenant);
    uint32_t lo = 0, hi = p->n_orgs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->by_name[mid].key, k);
        if (c == 0)
            return p->by_name[mid].i;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void load_gaps(page *p)
{
    sqlite3_stmt *st =
        prep(p, "SELECT tenant, json FROM alerts WHERE kind='gap' ORDER BY tenant, rowid");
    uint32_t cap = 0;
    while (row(p, st)) {
        if (VG_GROW(p->gaps, cap, (size_t)p->n_gaps + 1, 16)) {
            fail(p, VIGIE_NOMEM);
            break;
        }
        gap *g = &p->gaps[p->n_gaps++];
        memset(g, 0, sizeof *g);
        g->records = g->days = -1;
        g->tenant = dup_or_null(p, col(st, 0));
        if (parse_json(p, col(st, 1), sqlite3_column_bytes(st, 1))) {
            g->gap = member_str(p, 0, "gap");
            g->from = member_str(p, 0, "from");
            g->to = member_str(p, 0, "to");
            g->detail = member_str(p, 0, "detail");
            g->records = member_int(p, 0, "records");
            g->days = member_int(p, 0, "days");
        }
    }
    sqlite3_finalize(st);
}

static const char *gap_label(const char *g)
{
    if (!g)
        return "unknown";
    if (!strcmp(g, "no_mail_audit") || !strcmp(g, "no_mailbox_audit"))
        return "no mailbox audit";
    if (!strcmp(g, "throttled"))
        return "throttled (IsThrottled)";
    if (!strcmp(g, "unlinkable"))
        return "not linkable to sign-ins";
    return g;
}

/* ---- page sections ----------------------------------------------------------------------- */

static const char css[] =
    ":root{--fg:#1c1c1c;--muted:#5f6368;--line:#d9dce1;--bg2:#f4f6f8}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "color:var(--fg);background:#fff}"
    "header.top{background:#14213d;color:#fff;padding:20px 32px}"
    "header.top h1{margin:0 0 4px;font-size:26px}header.top p{margin:0;color:#c9d1e0}"
    "nav{background:#0f1a30;padding:6px 32px}nav a{color:#c9d1e0;margin-right:18px;font-size:14px}"
    "main{padding:8px 32px 40px;max-width:1400px}"
    "section{margin:28px 0}h2{font-size:20px;border-bottom:2px solid #14213d;padding-bottom:4px}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}"
    ".card{border:1px solid var(--line);border-radius:6px;padding:10px 16px;min-width:150px;"
    "background:var(--bg2)}.card .n{font-size:26px;font-weight:700}.card .l{color:var(--muted);"
    "font-size:13px}.card.alarm{border-color:#c62828;background:#fdecea}"
    ".empty{padding:12px 16px;border:1px dashed var(--line);color:var(--muted)}"
    "table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0}"
    "caption{text-align:left;color:var(--muted);padding:4px 0}"
    "th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}"
    "thead th{background:var(--bg2)}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.flagged th,tr.flagged td{background:#fdecea}"
    ".yes{color:#b71c1c;font-weight:700}.no{color:var(--muted)}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;"
    "font-weight:700;vertical-align:middle;background:#757575}"
    ".lv-critical{background:#6a1b9a}.lv-high{background:#c62828}.lv-medium{background:#ef6c00}"
    ".lv-low{background:#f9a825;color:#222}.lv-informational{background:#1565c0}"
    "article{border:1px solid var(--line);border-radius:6px;padding:8px 16px;margin:12px 0}"
    "article h3{margin:6px 0 8px;font-size:16px}"
    "dl{display:grid;grid-template-columns:170px 1fr;gap:4px 12px;margin:0}"
    "dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}"
    "dd ul,dd ol{margin:0;padding-left:18px}"
    "code{font:13px/1.4 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;"
    "overflow-wrap:anywhere}"
    "details{margin:8px 0}summary{cursor:pointer;color:#14213d;font-weight:600}"
    "pre{background:#f7f7f9;border:1px solid var(--line);padding:8px;overflow:auto;"
    "max-height:480px;"
    "font:12px/1.4 ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}"
    ".chart{width:100%;height:auto;border:1px solid var(--line);background:#fff}"
    "footer{color:var(--muted);font-size:13px;padding:16px 32px;border-top:1px solid var(--line)}"
    "@media print{nav{display:none}details{display:block}pre{max-height:none}}";

static void section_head(page *p, const char *title, long long n_alerts)
{
    time_t now = time(NULL);
    struct tm tm;
    char when[32] = "";
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    put(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'\">\n"
           "<meta name=\"generator\" content=\"vigie " VIGIE_VERSION "\">\n<title>");
    esc(p, title);
    put(p, "</title>\n<style>");
    put(p, css);
    put(p, "</style>\n</head>\n<body>\n<header class=\"top\" id=\"top\">\n<h1>");
    esc(p, title);
    putf(p, "</h1>\n<p>vigie %s report, generated <time datetime=\"%s\">%s</time>", VIGIE_VERSION,
         when, when);
    if (!n_alerts)
        put(p, " \xc2\xb7 <strong id=\"empty\">No alerts in this store.</strong>");
    put(p, "</p>\n</header>\n<nav aria-label=\"Sections\"><a href=\"#summary\">Summary</a>"
           "<a href=\"#campaigns\">Campaigns</a><a href=\"#organizations\">Organizations</a>"
           "<a href=\"#timeline\">Timeline</a><a href=\"#top-alerts\">Top alerts</a>"
           "<a href=\"#gaps\">Visibility gaps</a><a href=\"#runs\">Runs</a></nav>\n<main>\n");
}

static void card(page *p, long long n, const char *label, bool alarm, const char *id)
{
    putf(p, "<div class=\"card%s\" id=\"%s\"><div class=\"n\">", alarm ? " alarm" : "", id);
    put_int(p, n);
    putf(p, "</div><div class=\"l\">%s</div></div>\n", label);
}

static void section_summary(page *p, long long n_alerts, long long n_campaigns)
{
    long long flagged = 0, high = 0, messages = 0;
    for (uint32_t i = 0; i < p->n_orgs; i++) {
        flagged += p->orgs[i].high > 0;
        high += p->orgs[i].high;
        messages += p->orgs[i].messages;
    }
    long long runs = scalar(p, "SELECT count(*) FROM runs");
    long long events = scalar(p, "SELECT CAST(total(events) AS INTEGER) FROM runs");
    put(p, "<section id=\"summary\" aria-labelledby=\"summary-h\">\n"
           "<h2 id=\"summary-h\">Summary</h2>\n");
    if (!n_alerts)
        put(p, "<p class=\"empty\">No alerts in this store: the runs recorded here found nothing "
               "to report. Visibility gaps and runs, if any, are listed below.</p>\n");
    else {
        put(p, "<p>");
        put_int(p, flagged);
        put(p, " of ");
        put_int(p, (long long)p->n_orgs);
        put(p, " organizations have high or critical alerts");
        if (n_campaigns) {
            put(p, "; ");
            put_int(p, n_campaigns);
            put(p, n_campaigns == 1 ? " campaign links organizations"
                                    : " campaigns link organizations");
        }
        put(p, ".</p>\n");
    }
    put(p, "<div class=\"cards\">\n");
    card(p, (long long)p->n_orgs, "organizations", false, "total-organizations");
    card(p, flagged, "organizations with high/critical alerts", flagged > 0, "total-flagged");
    card(p, n_alerts, "alerts", false, "total-alerts");
    card(p, high, "high or critical alerts", high > 0, "total-high");
    card(p, messages, "messages read (actor sessions)", messages > 0, "total-messages");
    card(p, n_campaigns, "campaigns", n_campaigns > 0, "total-campaigns");
    card(p, runs, "runs", false, "total-runs");
    card(p, events, "events scanned", false, "total-events");
    put(p, "</div>\n<table id=\"alerts-by-level\"><caption>Alerts by level (visibility gaps not "
           "counted)</caption>\n<thead><tr><th scope=\"col\">level</th><th scope=\"col\" "
           "class=\"num\">alerts</th></tr></thead>\n<tbody>\n");
    sqlite3_stmt *st =
        prep(p, "SELECT level, count(*) FROM alerts WHERE kind<>'gap' GROUP BY level "
                "ORDER BY " RANK_SQL " DESC, level");
    int rows = 0;
    while (row(p, st)) {
        const char *lv = col(st, 0);
        int r = level_rank(lv);
        put(p, "<tr><th scope=\"row\">");
        if (r)
            putf(p, "<span class=\"badge lv-%s\">%s</span>", lv, lv);
        else
            esc(p, lv ? lv : "(none)");
        put(p, "</th><td class=\"num\">");
        put_int(p, sqlite3_column_int64(st, 1));
        put(p, "</td></tr>\n");
        rows++;
    }
    sqlite3_finalize(st);
    if (!rows)
        put(p, "<tr><td colspan=\"2\">No alerts.</td></tr>\n");
    put(p, "</tbody></table>\n</section>\n");
}

/* Items of a JSON array of strings (or of objects, shown by `key`, else compactly). */
static void put_list(page *p, int64_t arr, const char *key, const char *key2)
{
    if (arr < 0 || p->t.tok[arr].type != VG_J_ARRAY || !p->t.tok[arr].len) {
        put(p, "\xe2\x80\x94");
        return;
    }
    put(p, "<ul>");
    uint32_t shown = 0;
    for (uint32_t i = (uint32_t)arr + 1; i < p->t.tok[arr].next; i = p->t.tok[i].next) {
        if (shown == MAX_LIST) {
            put(p, "<li>\xe2\x80\xa6 and ");
            put_int(p, (long long)(p->t.tok[arr].len - MAX_LIST));
            put(p, " more</li>");
            break;
        }
        shown++;
        put(p, "<li>");
        int64_t a = -1, b = -1;
        if (p->t.tok[i].type == VG_J_OBJECT) {
            a = key ? member(p, i, key) : -1;
            b = key2 ? member(p, i, key2) : -1;
        }
        if (a >= 0 && b >= 0) {
            put(p, "<code>");
            put_jtext(p, (uint32_t)a);
            put(p, "</code> ");
            put_jtext(p, (uint32_t)b);
        } else if (a >= 0)
            put_jtext(p, (uint32_t)a);
        else
            put_jtext(p, i);
        put(p, "</li>");
    }
    put(p, "</ul>");
}

static void section_campaigns(page *p)
{
    put(p, "<section id=\"campaigns\" aria-labelledby=\"campaigns-h\">\n<h2 id=\"campaigns-h\">"
           "Campaigns</h2>\n<p>One actor seen across organizations: shared infrastructure, clients "
           "and timing joined into one campaign.</p>\n");
    sqlite3_stmt *st = prep(p, "SELECT id, first_seen, last_seen, n_orgs, json FROM campaigns "
                               "ORDER BY first_seen, id");
    int n = 0;
    while (row(p, st)) {
        n++;
        putf(p, "<article class=\"campaign\" id=\"campaign-%d\">\n<h3>Campaign <code>", n);
        esc(p, col(st, 0));
        put(p, "</code></h3>\n<dl>\n<dt>First seen</dt><dd>");
        esc(p, col(st, 1));
        put(p, "</dd>\n<dt>Last seen</dt><dd>");
        esc(p, col(st, 2));
        put(p, "</dd>\n");
        bool ok = parse_json(p, col(st, 4), sqlite3_column_bytes(st, 4));
        putf(p, "<dt>Organizations (%lld)</dt><dd>", (long long)sqlite3_column_int64(st, 3));
        put_list(p, ok ? member(p, 0, "organizations") : -1, NULL, NULL);
        put(p, "</dd>\n<dt>Users</dt><dd>");
        put_list(p, ok ? member(p, 0, "users") : -1, NULL, NULL);
        put(p, "</dd>\n<dt>Indicators</dt><dd>");
        put_list(p, ok ? member(p, 0, "indicators") : -1, "type", "value");
        put(p, "</dd>\n<dt>Techniques</dt><dd>");
        put_list(p, ok ? member(p, 0, "techniques") : -1, NULL, NULL);
        put(p, "</dd>\n<dt>Signals</dt><dd>");
        put_list(p, ok ? member(p, 0, "signals") : -1, "title", NULL);
        put(p, "</dd>\n<dt>Messages read</dt><dd>");
        int64_t mr = ok ? member(p, 0, "messages_read") : -1;
        if (mr >= 0 && p->t.tok[mr].type == VG_J_OBJECT) {
            long long ids = member_int(p, (uint32_t)mr, "internet_message_ids");
            long long ops = member_int(p, (uint32_t)mr, "operation_count");
            put_int(p, ids < 0 ? 0 : ids);
            put(p, " distinct InternetMessageIds (operation count ");
            put_int(p, ops < 0 ? 0 : ops);
            put(p, ")");
        } else
            put(p, "\xe2\x80\x94");
        put(p, "</dd>\n<dt>Alerts</dt><dd>");
        int64_t al = ok ? member(p, 0, "alerts") : -1;
        put_int(p, al >= 0 && p->t.tok[al].type == VG_J_ARRAY ? (long long)p->t.tok[al].len : 0);
        put(p, "</dd>\n</dl>\n</article>\n");
    }
    sqlite3_finalize(st);
    if (!n)
        put(p,
            "<p class=\"empty\">No campaigns: no activity was joined across organizations.</p>\n");
    put(p, "</section>\n");
}

static void section_orgs(page *p)
{
    put(p, "<section id=\"organizations\" aria-labelledby=\"organizations-h\">\n"
           "<h2 id=\"organizations-h\">Organizations</h2>\n");
    if (!p->n_orgs) {
        put(p, "<p class=\"empty\">No organization appears in this store.</p>\n</section>\n");
        return;
    }
    put(p,
        "<table id=\"organizations-table\">\n<caption>One row per organization (tenant), "
        "flagged ones first. Actor activity: first and last high or critical alert.</caption>\n"
        "<thead><tr><th scope=\"col\">organization</th><th scope=\"col\">high/critical alerts?"
        "</th><th scope=\"col\">in a campaign</th><th scope=\"col\" class=\"num\">alerts</th>"
        "<th scope=\"col\" class=\"num\">high/critical</th><th scope=\"col\" class=\"num\">"
        "messages read</th><th scope=\"col\">first actor activity</th><th scope=\"col\">"
        "last actor activity</th><th scope=\"col\">visibility gaps</th></tr></thead>\n<tbody>\n");
    for (uint32_t i = 0; i < p->n_orgs; i++) {
        const org *o = &p->orgs[i];
        put(p, o->high ? "<tr class=\"flagged\"><th scope=\"row\">" : "<tr><th scope=\"row\">");
        if (o->tenant)
            esc(p, o->tenant);
        else
            put(p, "(no tenant)");
        put(p, o->high ? "</th><td class=\"yes\">yes</td>" : "</th><td class=\"no\">no</td>");
        put(p, o->campaign ? "<td class=\"yes\">yes</td>" : "<td class=\"no\">no</td>");
        put(p, "<td class=\"num\">");
        put_int(p, o->alerts);
        put(p, "</td><td class=\"num\">");
        put_int(p, o->high);
        put(p, "</td><td class=\"num\">");
        put_int(p, o->messages);
        put(p, "</td><td>");
        esc(p, o->first);
        put(p, "</td><td>");
        esc(p, o->last);
        put(p, "</td><td>");
        if (!o->gaps)
            put(p, "none");
        else {
            /* distinct gap kinds of this tenant, in order of first appearance */
            const char *seen[8];
            int n_seen = 0;
            for (uint32_t g = 0; g < p->n_gaps; g++) {
                if (strcmp(tenant_key(p->gaps[g].tenant), tenant_key(o->tenant)))
                    continue;
                const char *l = gap_label(p->gaps[g].gap);
                int dup = 0;
                for (int k = 0; k < n_seen; k++)
                    dup |= !strcmp(seen[k], l);
                if (dup || n_seen == (int)VG_ARRAY_LEN(seen))
                    continue;
                if (n_seen)
                    put(p, ", ");
                seen[n_seen++] = l;
                esc(p, l);
            }
            put(p, " (<a href=\"#gaps\">");
            put_int(p, o->gaps);
            put(p, "</a>)");
        }
        put(p, "</td></tr>\n");
    }
    put(p, "</tbody></table>\n</section>\n");
}

/* ---- timeline ---------------------------------------------------------------------------- */

#define TL_W 1000.0   /* viewBox width */
#define TL_LABEL 210.0 /* left column for organization names */
#define TL_RIGHT 20.0
#define TL_TOP 34.0
#define TL_ROW 28.0
#define TL_PLOT (TL_W - TL_LABEL - TL_RIGHT)
#define TL_CELL 4.0   /* x units per dedup cell: closer marks of one kind and level look as one */
#define TL_COLS 200   /* cells across the plot: TL_PLOT / TL_CELL, rounded up */

static bool parse_t(const char *s, double *t)
{
    return s && vg__parse_time(s, strlen(s), t) == VIGIE_OK;
}

static void day_label(double t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d", &tm))
        snprintf(out, cap, "?");
}

/* The prefix of s that fits in max bytes, cut on a character boundary. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

#define MARKS_SQL                                                                                  \
    "SELECT tenant, kind, level, coalesce(first_time,time), coalesce(last_time,time,first_time) "  \
    "FROM alerts WHERE kind='combined' OR (kind<>'gap' AND " HIGH_SQL ") "                         \
    "ORDER BY kind='combined' DESC, " RANK_SQL /* bars first, the most severe circles on top */

static void section_timeline(page *p)
{
    put(p, "<section id=\"timeline\" aria-labelledby=\"timeline-h\">\n<h2 id=\"timeline-h\">"
           "Timeline</h2>\n");
    /* pass 1: the time range of the marks (gaps only when there is no mark) */
    double t0 = INFINITY, t1 = -INFINITY, a, b;
    long long n_marks = 0;
    sqlite3_stmt *st = prep(p, MARKS_SQL);
    while (row(p, st)) {
        if (parse_t(col(st, 3), &a)) {
            t0 = fmin(t0, a);
            t1 = fmax(t1, a);
            n_marks++;
        }
        if (parse_t(col(st, 4), &b))
            t1 = fmax(t1, b);
    }
    for (uint32_t g = 0; !n_marks && g < p->n_gaps; g++) {
        if (parse_t(p->gaps[g].from, &a))
            t0 = fmin(t0, a), t1 = fmax(t1, a);
        if (parse_t(p->gaps[g].to, &b))
            t0 = fmin(t0, b), t1 = fmax(t1, b);
    }
    if (p->rc != VIGIE_OK || !(t0 <= t1) || !p->n_orgs) {
        sqlite3_finalize(st);
        put(p, "<p class=\"empty\">Nothing to draw: no high or critical alert, no combined alert "
               "and no dated visibility gap.</p>\n</section>\n");
        return;
    }
    /* whole UTC days, and a tick step that gives at most 10 labels */
    double d0 = floor(t0 / 86400) * 86400, d1 = ceil(t1 / 86400) * 86400;
    if (d1 <= d0 || d1 == t1)
        d1 += 86400;
    double days = (d1 - d0) / 86400;
    static const int steps[] = {1, 2, 7, 14, 30, 61, 91, 182, 365, 730, 1461, 3652};
    int step = steps[VG_ARRAY_LEN(steps) - 1];
    for (size_t i = 0; i < VG_ARRAY_LEN(steps); i++)
        if (days / steps[i] <= 10) {
            step = steps[i];
            break;
        }
    while (days / step > 10) /* spans beyond the table: keep the label count bounded */
        step *= 2;
    uint32_t rows = p->n_orgs < MAX_TIMELINE_ROWS ? p->n_orgs : MAX_TIMELINE_ROWS;
    double h = TL_TOP + rows * TL_ROW + 56;
    char lab[32];
    day_label(d0, lab, sizeof lab);
    putf(p, "<p>One row per organization; x is time (UTC) from %s ", lab);
    day_label(d1, lab, sizeof lab);
    putf(p, "to %s. Circles: high and critical alerts; bars: combined alerts (one actor session, "
           "first to last record); hatched: visibility gaps.", lab);
    if (rows < p->n_orgs)
        putf(p, " The first %u organizations of the table are drawn.", rows);
    put(p, "</p>\n");
    putf(p, "<svg class=\"chart\" id=\"timeline-chart\" "
            "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-labelledby=\"timeline-title "
            "timeline-desc\" font-family=\"system-ui,Arial,sans-serif\" font-size=\"12\">\n",
         TL_W, h);
    put(p, "<title id=\"timeline-title\">Alerts over time, per organization</title>\n"
           "<desc id=\"timeline-desc\">");
    put_int(p, n_marks);
    put(p, " high, critical or combined alerts over ");
    put_int(p, (long long)days);
    put(p, " days, on ");
    put_int(p, (long long)rows);
    put(p, " organization rows.</desc>\n<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" "
           "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" "
           "height=\"6\" fill=\"#eceff1\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" "
           "stroke=\"#90a4ae\" stroke-width=\"2\"/></pattern></defs>\n");
    /* rows: band, label */
    for (uint32_t r = 0; r < rows; r++) {
        double y = TL_TOP + r * TL_ROW;
        const org *o = &p->orgs[r];
        putf(p, "<rect x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" fill=\"%s\"/>\n", y, TL_W,
             TL_ROW, o->high ? "#fdecea" : (r % 2 ? "#f7f8fa" : "#ffffff"));
        putf(p, "<text x=\"8\" y=\"%.1f\" fill=\"#1c1c1c\"%s>", y + TL_ROW / 2 + 4,
             o->high ? " font-weight=\"700\"" : "");
        const char *name = o->tenant ? o->tenant : "(no tenant)";
        size_t n = utf8_prefix(name, 24);
        put(p, "<title>");
        esc(p, name);
        put(p, "</title>");
        escn(p, name, n);
        if (n < strlen(name))
            put(p, "\xe2\x80\xa6");
        put(p, "</text>\n");
    }
    /* axis: day grid and labels */
    double span = d1 - d0;
    put(p, "<g stroke=\"#cfd8dc\" stroke-width=\"1\">\n");
    for (double t = d0; t <= d1 + 1; t += step * 86400.0) {
        double x = TL_LABEL + (t - d0) / span * TL_PLOT;
        putf(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, TL_TOP - 4, x,
             TL_TOP + rows * TL_ROW);
    }
    put(p, "</g>\n<g fill=\"#37474f\" text-anchor=\"middle\">\n");
    for (double t = d0; t <= d1 + 1; t += step * 86400.0) {
        double x = TL_LABEL + (t - d0) / span * TL_PLOT;
        day_label(t, lab, sizeof lab);
        putf(p, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, TL_TOP - 10, lab);
        putf(p, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, TL_TOP + rows * TL_ROW + 16, lab);
    }
    put(p, "</g>\n");
    /* gaps behind the marks */
    for (uint32_t g = 0; g < p->n_gaps; g++) {
        int64_t r = find_org(p, p->gaps[g].tenant);
        if (r < 0 || (uint32_t)r >= rows || !parse_t(p->gaps[g].from, &a) ||
            !parse_t(p->gaps[g].to, &b) || b < d0 || a > d1)
            continue;
        double xa = TL_LABEL + (fmax(a, d0) - d0) / span * TL_PLOT;
        double xb = TL_LABEL + (fmin(b, d1) - d0) / span * TL_PLOT;
        putf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"url(#hatch)\">"
                "<title>visibility gap: ", xa, TL_TOP + r * TL_ROW + 2, fmax(xb - xa, 2),
             TL_ROW - 4);
        esc(p, gap_label(p->gaps[g].gap));
        put(p, "</title></rect>\n");
    }
    /* pass 2: the marks, at most one per (row, x unit, kind, level) */
    uint8_t *seen = calloc((size_t)rows * TL_COLS, 1);
    if (!seen)
        fail(p, VIGIE_NOMEM);
    sqlite3_reset(st);
    while (seen && row(p, st)) {
        int64_t r = find_org(p, col(st, 0));
        if (r < 0 || (uint32_t)r >= rows || !parse_t(col(st, 3), &a))
            continue;
        if (!parse_t(col(st, 4), &b) || b < a)
            b = a;
        const char *kind = col(st, 1), *lv = col(st, 2);
        bool combined = kind && !strcmp(kind, "combined");
        double xa = TL_LABEL + (a - d0) / span * TL_PLOT, xb = TL_LABEL + (b - d0) / span * TL_PLOT;
        int cell = (int)((xa - TL_LABEL) / TL_CELL);
        cell = cell < 0 ? 0 : cell >= TL_COLS ? TL_COLS - 1 : cell;
        uint8_t bit = (uint8_t)(1u << (combined ? 7 : level_rank(lv)));
        if (seen[(size_t)r * TL_COLS + (size_t)cell] & bit)
            continue;
        seen[(size_t)r * TL_COLS + (size_t)cell] |= bit;
        double y = TL_TOP + r * TL_ROW + TL_ROW / 2;
        if (combined)
            putf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\" rx=\"3\" fill=\"%s\" "
                    "fill-opacity=\"0.75\" stroke=\"#263238\" stroke-width=\"0.8\">",
                 xa, y, fmax(xb - xa, 5), level_color(lv));
        else
            putf(p, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" stroke=\"#ffffff\" "
                    "stroke-width=\"1\">", xa, y - 5, level_color(lv));
        put(p, "<title>");
        esc(p, lv ? lv : "no level");
        put(p, " ");
        esc(p, kind);
        put(p, " ");
        esc(p, col(st, 3));
        put(p, "</title>");
        put(p, combined ? "</rect>\n" : "</circle>\n");
    }
    free(seen);
    sqlite3_finalize(st);
    /* legend */
    double ly = TL_TOP + rows * TL_ROW + 40, lx = TL_LABEL;
    put(p, "<g>\n");
    for (size_t i = 0; i < 2; i++, lx += 90) {
        putf(p, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>", lx, ly - 4,
             levels[i].color);
        putf(p, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", lx + 10, ly, levels[i].name);
    }
    putf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"10\" rx=\"3\" fill=\"%s\" "
            "fill-opacity=\"0.75\" stroke=\"#263238\" stroke-width=\"0.8\"/>", lx, ly - 9,
         levels[1].color);
    putf(p, "<text x=\"%.1f\" y=\"%.1f\">combined (session)</text>\n", lx + 30, ly);
    lx += 170;
    putf(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"24\" height=\"12\" fill=\"url(#hatch)\"/>", lx,
         ly - 10);
    putf(p, "<text x=\"%.1f\" y=\"%.1f\">visibility gap</text>\n</g>\n</svg>\n</section>\n",
         lx + 30, ly);
}

/* ---- top alerts -------------------------------------------------------------------------- */

static void indent(page *p, unsigned n)
{
    static const char sp[] = "                                ";
    while (n) {
        unsigned k = n < 32 ? n : 32;
        put(p, sp + 32 - k);
        n -= k;
    }
}

/* JSON value i of p->t, indented by 2 per level, HTML-escaped; strings stay as written
 * (JSON escapes kept), so the text is the record's own. Stops adding after MAX_PRETTY. */
static uint32_t pretty(page *p, uint32_t i, unsigned depth, size_t start)
{
    const vg_jtok *k = &p->t.tok[i];
    if (p->b.len - start > MAX_PRETTY)
        return k->next;
    if (k->type == VG_J_STRING) {
        put(p, "\"");
        escn(p, vg__json_raw(&p->t, i), k->len);
        put(p, "\"");
        return i + 1;
    }
    if (k->type != VG_J_OBJECT && k->type != VG_J_ARRAY) {
        escn(p, vg__json_raw(&p->t, i), k->len);
        return i + 1;
    }
    bool obj = k->type == VG_J_OBJECT;
    if (!k->len) {
        put(p, obj ? "{}" : "[]");
        return k->next;
    }
    put(p, obj ? "{\n" : "[\n");
    uint32_t j = i + 1, end = k->next;
    while (j < end) {
        indent(p, 2 * (depth + 1));
        if (obj) {
            j = pretty(p, j, depth + 1, start); /* the key */
            put(p, ": ");
        }
        j = pretty(p, j, depth + 1, start);
        put(p, j < end ? ",\n" : "\n");
    }
    indent(p, 2 * depth);
    put(p, obj ? "}" : "]");
    return end;
}

static void put_source(page *p, int64_t src)
{
    char *file = member_str(p, (uint32_t)src, "file");
    long long line = member_int(p, (uint32_t)src, "line");
    long long idx = member_int(p, (uint32_t)src, "index");
    long long off = member_int(p, (uint32_t)src, "offset");
    put(p, "<code>");
    esc(p, file);
    if (line >= 0)
        putf(p, ":%lld", line);
    put(p, "</code>");
    if (idx >= 0)
        putf(p, ", record %lld", idx);
    if (off >= 0)
        putf(p, ", byte offset %lld", off);
    free(file);
}

static void put_evidence(page *p, const char *alert_id)
{
    sqlite3_stmt *st = prep(p, "SELECT file, line, idx, offset, sha256 FROM evidence "
                               "WHERE alert_id=?1 ORDER BY seq LIMIT 21");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_STATIC);
    int n = 0;
    while (row(p, st)) {
        if (n == 0)
            put(p, "<dt>Evidence</dt><dd><ol>");
        if (++n > MAX_EVIDENCE) {
            put(p, "<li>\xe2\x80\xa6 more in the store</li>");
            break;
        }
        put(p, "<li><code>");
        esc(p, col(st, 0));
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            putf(p, ":%lld", (long long)sqlite3_column_int64(st, 1));
        put(p, "</code>");
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            putf(p, ", record %lld", (long long)sqlite3_column_int64(st, 2));
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            putf(p, ", byte offset %lld", (long long)sqlite3_column_int64(st, 3));
        put(p, "<br>sha256 <code>");
        esc(p, col(st, 4));
        put(p, "</code></li>");
    }
    if (n)
        put(p, "</ol></dd>\n");
    sqlite3_finalize(st);
}

static void section_top(page *p, unsigned top)
{
    put(p, "<section id=\"top-alerts\" aria-labelledby=\"top-alerts-h\">\n<h2 id=\"top-alerts-h\">"
           "Top alerts</h2>\n");
    putf(p, "<p>At most %u alerts, by level, then score, then time (earliest first). "
            "Each keeps the position and SHA-256 of the records behind it.</p>\n", top);
    sqlite3_stmt *st = prep(p,
        "SELECT id, kind, rule_id, rule_title, level, tenant, user, time, first_time, last_time,"
        " score, messages, operation_count, json FROM alerts WHERE kind<>'gap'"
        " ORDER BY " RANK_SQL " DESC, score IS NULL, score DESC, coalesce(first_time,time), id"
        " LIMIT ?1");
    if (st)
        sqlite3_bind_int64(st, 1, top);
    int n = 0;
    while (row(p, st)) {
        n++;
        const char *lv = col(st, 4);
        int rank = level_rank(lv);
        putf(p, "<article class=\"alert\" id=\"alert-%d\">\n<h3>", n);
        if (rank)
            putf(p, "<span class=\"badge lv-%s\">%s</span> ", lv, lv);
        else
            put(p, "<span class=\"badge\">no level</span> ");
        esc(p, col(st, 3) ? col(st, 3) : col(st, 2));
        put(p, "</h3>\n<dl>\n<dt>Kind</dt><dd>");
        esc(p, col(st, 1));
        put(p, "</dd>\n<dt>Rule</dt><dd><code>");
        esc(p, col(st, 2));
        put(p, "</code></dd>\n<dt>Organization</dt><dd>");
        esc(p, col(st, 5));
        put(p, "</dd>\n<dt>User</dt><dd>");
        esc(p, col(st, 6));
        put(p, "</dd>\n<dt>Time</dt><dd>");
        if (col(st, 8) && col(st, 9)) {
            esc(p, col(st, 8));
            put(p, " \xe2\x80\x93 ");
            esc(p, col(st, 9));
        } else
            esc(p, col(st, 7));
        put(p, "</dd>\n");
        if (sqlite3_column_type(st, 10) != SQLITE_NULL)
            putf(p, "<dt>Score</dt><dd>%.2f</dd>\n", sqlite3_column_double(st, 10));
        if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
            put(p, "<dt>Messages read</dt><dd>");
            put_int(p, sqlite3_column_int64(st, 11));
            put(p, " distinct InternetMessageIds");
            if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
                put(p, " (operation count ");
                put_int(p, sqlite3_column_int64(st, 12));
                put(p, ")");
            }
            put(p, "</dd>\n");
        }
        bool ok = parse_json(p, col(st, 13), sqlite3_column_bytes(st, 13));
        int64_t v;
        if (ok && (v = member(p, 0, "signals")) >= 0) {
            put(p, "<dt>Signals</dt><dd>");
            put_list(p, v, "title", NULL);
            put(p, "</dd>\n");
        }
        if (ok && (v = member(p, 0, "indicator")) >= 0 && p->t.tok[v].type == VG_J_OBJECT) {
            char *ty = member_str(p, (uint32_t)v, "type"),
                 *va = member_str(p, (uint32_t)v, "value");
            put(p, "<dt>Indicator</dt><dd>");
            esc(p, ty);
            put(p, " <code>");
            esc(p, va);
            put(p, "</code></dd>\n");
            free(ty);
            free(va);
        }
        int64_t rule = ok ? member(p, 0, "rule") : -1;
        if (rule >= 0 && p->t.tok[rule].type == VG_J_OBJECT &&
            (v = member(p, (uint32_t)rule, "tags")) >= 0 && p->t.tok[v].type == VG_J_ARRAY &&
            p->t.tok[v].len) {
            put(p, "<dt>Tags</dt><dd>");
            for (uint32_t i = (uint32_t)v + 1; i < p->t.tok[v].next; i = p->t.tok[i].next) {
                put(p, "<code>");
                put_jtext(p, i);
                put(p, "</code> ");
            }
            put(p, "</dd>\n");
        }
        int64_t src = ok ? member(p, 0, "source") : -1;
        if (src >= 0 && p->t.tok[src].type == VG_J_OBJECT) {
            put(p, "<dt>Source</dt><dd>");
            put_source(p, src);
            put(p, "</dd>\n<dt>SHA-256</dt><dd><code>");
            char *sha = member_str(p, (uint32_t)src, "sha256");
            esc(p, sha);
            free(sha);
            put(p, "</code></dd>\n");
        }
        put_evidence(p, col(st, 0));
        put(p, "<dt>Alert id</dt><dd><code>");
        esc(p, col(st, 0));
        put(p, "</code></dd>\n</dl>\n");
        /* put_evidence ran no json; p->t still holds this alert */
        int64_t ev = ok ? member(p, 0, "event") : -1;
        put(p, ev >= 0 ? "<details><summary>Raw event</summary><pre>"
                       : "<details><summary>Alert record</summary><pre>");
        size_t start = p->b.len;
        if (ok)
            pretty(p, ev >= 0 ? (uint32_t)ev : 0, 0, start);
        else if (col(st, 13))
            escn(p, col(st, 13), (size_t)sqlite3_column_bytes(st, 13));
        if (p->b.len - start > MAX_PRETTY)
            put(p, "\n\xe2\x80\xa6 (cut here: the record is longer; it is whole in the store)");
        put(p, "</pre></details>\n</article>\n");
    }
    sqlite3_finalize(st);
    if (!n)
        put(p, "<p class=\"empty\">No alerts.</p>\n");
    put(p, "</section>\n");
}

static void section_gaps(page *p)
{
    put(p, "<section id=\"gaps\" aria-labelledby=\"gaps-h\">\n<h2 id=\"gaps-h\">Visibility gaps"
           "</h2>\n<p>Where the logs could not show mail access: no mailbox audit records, "
           "throttled Bind records, mail access that cannot be joined to a sign-in. An empty "
           "finding there is not a clean bill of health.</p>\n");
    if (!p->n_gaps) {
        put(p, "<p class=\"empty\">No visibility gaps recorded.</p>\n</section>\n");
        return;
    }
    put(p, "<table id=\"gaps-table\">\n<caption>Visibility gaps per organization</caption>\n"
           "<thead><tr><th scope=\"col\">organization</th><th scope=\"col\">gap</th>"
           "<th scope=\"col\">from</th><th scope=\"col\">to</th><th scope=\"col\" class=\"num\">"
           "extent</th><th scope=\"col\">detail</th></tr></thead>\n<tbody>\n");
    for (uint32_t i = 0; i < p->n_gaps; i++) {
        const gap *g = &p->gaps[i];
        put(p, "<tr><th scope=\"row\">");
        if (g->tenant)
            esc(p, g->tenant);
        else
            put(p, "(no tenant)");
        put(p, "</th><td>");
        esc(p, gap_label(g->gap));
        put(p, "</td><td>");
        esc(p, g->from);
        put(p, "</td><td>");
        esc(p, g->to);
        put(p, "</td><td class=\"num\">");
        if (g->records >= 0) {
            put_int(p, g->records);
            put(p, " records");
        } else if (g->days >= 0) {
            put_int(p, g->days);
            put(p, " days");
        } else
            put(p, "\xe2\x80\x94");
        put(p, "</td><td>");
        esc(p, g->detail);
        put(p, "</td></tr>\n");
    }
    put(p, "</tbody></table>\n</section>\n");
}

static void section_runs(page *p)
{
    put(p, "<section id=\"runs\" aria-labelledby=\"runs-h\">\n<h2 id=\"runs-h\">Runs</h2>\n");
    sqlite3_stmt *st =
        prep(p, "SELECT id, started, finished, vigie_version, events, alerts, bad, args "
                "FROM runs ORDER BY id DESC LIMIT 100");
    int n = 0;
    while (row(p, st)) {
        if (!n++)
            put(p, "<table id=\"runs-table\">\n<caption>Scans recorded in this store, latest first"
                   "</caption>\n<thead><tr><th scope=\"col\">run</th><th scope=\"col\">started"
                   "</th><th scope=\"col\">finished</th><th scope=\"col\">vigie</th>"
                   "<th scope=\"col\" class=\"num\">events</th><th scope=\"col\" class=\"num\">"
                   "alerts</th><th scope=\"col\" class=\"num\">bad records</th><th scope=\"col\">"
                   "arguments</th></tr></thead>\n<tbody>\n");
        putf(p, "<tr><th scope=\"row\">%lld</th><td>", (long long)sqlite3_column_int64(st, 0));
        esc(p, col(st, 1));
        put(p, "</td><td>");
        esc(p, col(st, 2));
        put(p, "</td><td>");
        esc(p, col(st, 3));
        for (int c = 4; c <= 6; c++) {
            put(p, "</td><td class=\"num\">");
            put_int(p, sqlite3_column_int64(st, c));
        }
        put(p, "</td><td><code>");
        esc(p, col(st, 7));
        put(p, "</code></td></tr>\n");
    }
    sqlite3_finalize(st);
    put(p, n ? "</tbody></table>\n" : "<p class=\"empty\">No runs recorded.</p>\n");
    put(p, "</section>\n");
}

/* ---- entry points ------------------------------------------------------------------------ */

int vg__report_open(const char *path, sqlite3 **out, vigie_diag_fn diag, void *diag_ud)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = VIGIE_OK;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_NOENT, path, 0, 0, NULL,
                 "cannot open the store: %s", db ? sqlite3_errmsg(db) : "out of memory");
        rc = VIGIE_NOENT;
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    int version = -1, tables = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (version < 0) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_INVAL, path, 0, 0, NULL,
                 "not a vigie store (%s)", sqlite3_errmsg(db));
        rc = VIGIE_INVAL;
        goto out;
    }
    if (version > VG_REPORT_STORE_VERSION) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_UNSUPPORTED, path, 0, 0, NULL,
                 "store schema version %d was written by a newer vigie; this vigie reads "
                 "version %d", version, VG_REPORT_STORE_VERSION);
        rc = VIGIE_UNSUPPORTED;
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                               "('meta','runs','alerts','evidence','campaigns','campaign_orgs',"
                               "'campaign_alerts')", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        tables = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 1 || tables != 7) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_INVAL, path, 0, 0, NULL,
                 "not a vigie store (schema version %d, %d of the 7 store tables)", version,
                 tables);
        rc = VIGIE_INVAL;
        goto out;
    }
    sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
    *out = db;
    db = NULL;
out:
    sqlite3_close(db);
    return rc;
}

int vg__report_html(sqlite3 *db, FILE *out, const vg_report_opts *o)
{
    static const vg_report_opts none = {NULL, 0, NULL, NULL};
    page pg;
    page *p = &pg;
    memset(p, 0, sizeof *p);
    o = o ? o : &none;
    p->db = db;
    p->o = o;
    vg__buf_init(&p->b, 0);
    vg__buf_init(&p->tmp, 0);
    vg__jtape_init(&p->t);
    const char *title = o->title && *o->title ? o->title : "vigie report";
    unsigned top = o->top ? (o->top > MAX_TOP ? MAX_TOP : o->top) : DEFAULT_TOP;

    /* one read transaction: every section sees the same snapshot, even while a scan
     * is adding to the store */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        vg__diag(o->diag, o->diag_ud, VIGIE_DIAG_ERROR, VIGIE_IO, sqlite3_db_filename(db, "main"),
                 0, 0, NULL, "cannot read the store: %s", sqlite3_errmsg(db));
        fail(p, VIGIE_IO);
    }
    long long n_alerts = scalar(p, "SELECT count(*) FROM alerts WHERE kind<>'gap'");
    long long n_campaigns = scalar(p, "SELECT count(*) FROM campaigns");
    load_orgs(p);
    load_gaps(p);
    section_head(p, title, n_alerts);
    section_summary(p, n_alerts, n_campaigns);
    section_campaigns(p);
    section_orgs(p);
    section_timeline(p);
    section_top(p, top);
    section_gaps(p);
    section_runs(p);
    put(p,
        "</main>\n<footer>Written by vigie " VIGIE_VERSION " from a vigie store. Self-contained: "
        "no script, no network resource.</footer>\n</body>\n</html>\n");

    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    int rc = p->rc;
    if (rc == VIGIE_OK && (fwrite(p->b.data, 1, p->b.len, out) != p->b.len || fflush(out) != 0))
        rc = VIGIE_IO;
    for (uint32_t i = 0; i < p->n_orgs; i++) {
        free(p->orgs[i].tenant);
        free(p->orgs[i].first);
        free(p->orgs[i].last);
    }
    for (uint32_t i = 0; i < p->n_gaps; i++) {
        gap *g = &p->gaps[i];
        free(g->tenant);
        free(g->gap);
        free(g->from);
        free(g->to);
        free(g->detail);
    }
    free(p->orgs);
    free(p->by_name);
    free(p->gaps);
    vg__jtape_free(&p->t);
    vg__buf_free(&p->tmp);
    vg__buf_free(&p->b);
    return rc;
}
