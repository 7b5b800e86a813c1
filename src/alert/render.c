/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render.c: the text of every alert, in the three output formats, and the stable ids.
 * Stage: alert (depends on util; libcrypto for SHA-256).
 *
 * One renderer per format covers every kind (include/vigie/alert.h): JSONL is the full
 * alert, one object per line (the common part, then the kind's part, then where it came
 * from); CSV and table show the same eight columns for every kind (time, level, rule id,
 * title, tenant, file, line, offset; the table drops the rule id and the offset). The layout
 * is byte for byte what `vigie scan` wrote before the alert type existed
 * (tests/cli/test_file_mode_golden.sh), quirks included: a gap is written only as JSONL by
 * the scan; a correlation without a source shows file "-" in CSV; an undetermined alert's
 * CSV and table title says "undetermined: " (those formats have no kind column).
 *
 * Ids: the same alert on the same record gives the same id in every run. A record alert's
 * id hashes its kind, rule id, tenant, the record's SHA-256 and the JSON of its kind-specific
 * part; a combined alert's its session group's key; a correlation's its rule, window end,
 * group and contributing ids; a gap's its whole text. Nothing here allocates except the
 * caller's vg_buf growing.
 */
#define _POSIX_C_SOURCE 200809L
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 but the only allocation-free SHA-256 it
 * has (the ids are hashed in place, without a key buffer) */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "render.h"
#include "util/limits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

static const char *const kind_names[VIGIE_ALERT_KIND_COUNT] = {
    "sigma", "new_term", "indicator", "token", "undetermined", "correlation", "combined", "gap"};

const char *vg__alert_kind_name(vigie_alert_kind k)
{
    return (unsigned)k < VIGIE_ALERT_KIND_COUNT ? kind_names[k] : "?";
}

const char *vigie_alert_kind_name(vigie_alert_kind kind)
{
    return vg__alert_kind_name(kind);
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

void vg__alert_json_str_or_null(vg_buf *o, const char *s, size_t n)
{
    if (!s) {
        vg__buf_add(o, "null", 4);
        return;
    }
    vg__buf_addc(o, '"');
    vg__buf_add_json_str(o, s, n);
    vg__buf_addc(o, '"');
}

static void jstr(vg_buf *o, const char *s)
{
    vg__alert_json_str_or_null(o, s, slen(s));
}

/* A number, or null where JSON has none (NaN, infinities). */
static void jnum(vg_buf *o, const char *fmt, double d)
{
    if (isfinite(d))
        vg__buf_printf(o, fmt, d);
    else
        vg__buf_adds(o, "null");
}

void vg__alert_csv_cell(vg_buf *o, const char *s, size_t n)
{
    bool quote = false;
    bool formula = n && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                         s[0] == '\r');
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = true;
    if (!quote) {
        if (formula)
            vg__buf_addc(o, '\'');
        vg__buf_add(o, s, n);
        return;
    }
    vg__buf_addc(o, '"');
    if (formula)
        vg__buf_addc(o, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            vg__buf_addc(o, '"');
        vg__buf_addc(o, s[i]);
    }
    vg__buf_addc(o, '"');
}

void vg__alert_table_line(vg_buf *o, const char *time, const char *level, const char *title,
                          const char *tenant, size_t tenant_len, const char *file, uint64_t line)
{
    char lv[64], ti[61], te[37], src[49];
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : file ? file : "-";
    vg__escape_to(lv, sizeof lv, level ? level : "-", level ? strlen(level) : 1);
    vg__escape_to(ti, sizeof ti, title ? title : "-", title ? strlen(title) : 1);
    vg__escape_to(te, sizeof te, tenant && tenant_len ? tenant : "-",
                  tenant && tenant_len ? tenant_len : 1);
    vg__escape_to(src, sizeof src, base, strlen(base));
    vg__buf_printf(o, "%-24s  %-13s  %-60s  %-36s  %s:%llu\n", time && *time ? time : "-", lv, ti,
                   te, src, (unsigned long long)line);
}

void vg__alert_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

void vg__alert_id_parts(const char *const *parts, int n, char out[33])
{
    SHA256_CTX x;
    uint8_t d[32];
    SHA256_Init(&x);
    for (int i = 0; i < n; i++) {
        const char *p = parts[i] ? parts[i] : "";
        SHA256_Update(&x, p, strlen(p) + 1);
    }
    SHA256_Final(d, &x);
    vg__alert_hex(d, 16, out);
}

void vg__alert_head(vg_buf *o, const char *id, const char *rid, const char *title,
                    const char *level, const char *const *tags, uint32_t n_tags)
{
    vg__buf_adds(o, "{\"id\":");
    jstr(o, id);
    vg__buf_adds(o, ",\"rule\":{\"id\":");
    jstr(o, rid);
    vg__buf_adds(o, ",\"title\":");
    jstr(o, title);
    vg__buf_adds(o, ",\"level\":");
    jstr(o, level);
    vg__buf_adds(o, ",\"tags\":[");
    for (uint32_t k = 0; k < n_tags; k++) {
        if (k)
            vg__buf_addc(o, ',');
        jstr(o, tags[k] ? tags[k] : "");
    }
    vg__buf_adds(o, "]}");
}

static void str_list(vg_buf *o, const char *const *v, uint32_t n)
{
    vg__buf_addc(o, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            vg__buf_addc(o, ',');
        jstr(o, v[i] ? v[i] : "");
    }
    vg__buf_addc(o, ']');
}

static void messages_json(vg_buf *o, const vigie_alert_messages *m)
{
    vg__buf_printf(o, ",\"messages_read\":{\"internet_message_ids\":%llu,%s\"operation_count\":",
                   (unsigned long long)m->internet_message_ids, m->at_least ? "\"at_least\":true," : "");
    jnum(o, "%.0f", m->operation_count);
    vg__buf_adds(o, ",\"folders\":");
    str_list(o, m->folders, m->n_folders);
    if (m->has_span) {
        vg__buf_adds(o, ",\"first\":");
        jstr(o, m->first);
        vg__buf_adds(o, ",\"last\":");
        jstr(o, m->last);
    }
    vg__buf_addc(o, '}');
}

static bool record_kind(vigie_alert_kind k)
{
    return k <= VIGIE_ALERT_UNDETERMINED;
}

/* The kind-specific members of a record alert, then what it read: the text its id hashes. */
static void record_extra(vg_buf *o, const vigie_alert *a)
{
    switch (a->kind) {
    case VIGIE_ALERT_NEW_TERM: {
        const vigie_alert_new_term *t = &a->u.new_term;
        vg__buf_adds(o, ",\"new_term\":{\"group\":");
        jstr(o, t->group);
        vg__buf_adds(o, ",\"term\":");
        jstr(o, t->term);
        vg__buf_adds(o, ",\"fields\":");
        str_list(o, t->fields, t->n_fields);
        vg__buf_addc(o, '}');
        break;
    }
    case VIGIE_ALERT_INDICATOR: {
        const vigie_alert_indicator *i = &a->u.indicator;
        vg__buf_adds(o, ",\"indicator\":{\"type\":");
        jstr(o, i->type);
        vg__buf_adds(o, ",\"value\":");
        jstr(o, i->value);
        vg__buf_adds(o, ",\"first_seen\":");
        jstr(o, i->first_seen);
        vg__buf_adds(o, ",\"last_seen\":");
        jstr(o, i->last_seen);
        vg__buf_adds(o, ",\"role\":");
        jstr(o, i->role);
        vg__buf_adds(o, ",\"set\":");
        jstr(o, i->set);
        vg__buf_addc(o, '}');
        break;
    }
    case VIGIE_ALERT_TOKEN: {
        const vigie_alert_token *t = &a->u.token;
        vg__buf_adds(o, ",\"token\":{\"fingerprint\":\"sha256:");
        vg__buf_add_json_str(o, t->fingerprint ? t->fingerprint : "", slen(t->fingerprint));
        vg__buf_adds(o, "\",\"verdict\":");
        jstr(o, t->verdict);
        vg__buf_adds(o, ",\"alg\":");
        jstr(o, t->alg);
        vg__buf_adds(o, ",\"kid\":");
        jstr(o, t->kid);
        vg__buf_adds(o, ",\"issuer\":");
        jstr(o, t->issuer);
        vg__buf_adds(o, ",\"key_issuer\":");
        jstr(o, t->key_issuer);
        vg__buf_printf(o, ",\"compromised_key\":%s}", t->compromised_key ? "true" : "false");
        break;
    }
    case VIGIE_ALERT_UNDETERMINED: {
        const vigie_alert_undetermined *u = &a->u.undetermined;
        vg__buf_adds(o, ",\"undetermined\":{\"reason\":");
        jstr(o, u->reason);
        vg__buf_adds(o, ",\"fields\":");
        str_list(o, u->fields, u->n_fields);
        vg__buf_adds(o, u->more_fields ? ",\"more_fields\":true}" : "}");
        break;
    }
    default:
        break;
    }
    if (a->messages_read)
        messages_json(o, a->messages_read);
}

static void source_json(vg_buf *o, const vigie_alert_source *s, bool with_sha)
{
    vg__buf_adds(o, "{\"file\":");
    jstr(o, s->file);
    vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu",
                   (unsigned long long)s->line, (unsigned long long)s->index,
                   (unsigned long long)s->offset);
    if (with_sha) {
        char sh[65];
        vg__alert_hex(s->sha256, 32, sh);
        vg__buf_printf(o, ",\"sha256\":\"%s\"", sh);
    }
}

/* The record as read, on one line: raw newlines can only be JSON whitespace. */
static void event_json(vg_buf *o, const vigie_alert *a)
{
    if (!a->event) {
        vg__buf_adds(o, "null");
        return;
    }
    size_t start = o->len;
    if (a->redact_len && a->redact_off + a->redact_len <= a->event_len) {
        vg__buf_add(o, a->event, a->redact_off);
        vg__buf_adds(o, a->redact_with ? a->redact_with : "");
        vg__buf_add(o, a->event + a->redact_off + a->redact_len,
                    a->event_len - a->redact_off - a->redact_len);
    } else {
        vg__buf_add(o, a->event, a->event_len);
    }
    if (vg__buf_failed(o))
        return;
    for (size_t k = start; k < o->len; k++)
        if (o->data[k] == '\n' || o->data[k] == '\r')
            o->data[k] = ' ';
}

static void record_json(vg_buf *o, const vigie_alert *a)
{
    vg__alert_head(o, a->id, a->rule.id, a->rule.title, a->rule.level, a->rule.tags,
                   a->rule.n_tags);
    vg__buf_adds(o, ",\"kind\":");
    jstr(o, vg__alert_kind_name(a->kind));
    record_extra(o, a);
    vg__buf_adds(o, ",\"tenant\":");
    vg__alert_json_str_or_null(o, a->tenant, a->tenant_len);
    vg__buf_adds(o, ",\"time\":");
    char tb[40];
    if (a->has_time)
        vg__format_time(a->time, tb, sizeof tb);
    jstr(o, a->has_time ? tb : NULL);
    vg__buf_adds(o, ",\"source\":");
    source_json(o, &a->source, true);
    vg__buf_adds(o, "},\"shape\":");
    jstr(o, a->shape);
    vg__buf_adds(o, ",\"event\":");
    event_json(o, a);
    vg__buf_adds(o, "}\n");
}

static void combined_json(vg_buf *o, const vigie_alert *a)
{
    const vigie_alert_combined *c = &a->u.combined;
    char tb[40];
    if (a->has_time)
        vg__format_time(a->time, tb, sizeof tb);
    vg__alert_head(o, a->id, a->rule.id, a->rule.title, a->rule.level, a->rule.tags,
                   a->rule.n_tags);
    vg__buf_adds(o, ",\"kind\":\"combined\",\"tenant\":");
    vg__alert_json_str_or_null(o, a->tenant, a->tenant_len);
    vg__buf_adds(o, ",\"user\":");
    vg__alert_json_str_or_null(o, a->user, a->user_len);
    vg__buf_adds(o, ",\"session\":");
    jstr(o, c->session);
    vg__buf_adds(o, ",\"day\":");
    jstr(o, c->session ? NULL : c->day);
    vg__buf_adds(o, ",\"time\":");
    jstr(o, a->has_time ? tb : NULL);
    vg__buf_printf(o, ",\"score\":%d,\"signals\":[", c->score);
    for (uint32_t i = 0; i < c->n_signals; i++) {
        if (i)
            vg__buf_addc(o, ',');
        jstr(o, c->signals[i].name ? c->signals[i].name : "");
    }
    vg__buf_adds(o, "],\"signal_detail\":[");
    for (uint32_t i = 0; i < c->n_signals; i++) {
        const vigie_alert_signal *g = &c->signals[i];
        vg__buf_adds(o, i ? ",{\"name\":" : "{\"name\":");
        jstr(o, g->name ? g->name : "");
        vg__buf_adds(o, ",\"kind\":");
        jstr(o, g->kind ? g->kind : "");
        vg__buf_adds(o, ",\"level\":");
        jstr(o, g->level ? g->level : "");
        vg__buf_adds(o, ",\"rule\":");
        jstr(o, g->rule && *g->rule ? g->rule : NULL);
        vg__buf_printf(o, ",\"records\":%llu}", (unsigned long long)g->records);
    }
    vg__buf_printf(o,
                   "],\"records\":%llu,\"mail_records\":%llu,"
                   "\"sign_in_join\":{\"matched\":%llu,\"no_signin\":%llu,\"unlinkable\":%llu}",
                   (unsigned long long)c->records, (unsigned long long)c->mail_records,
                   (unsigned long long)c->matched, (unsigned long long)c->no_signin,
                   (unsigned long long)c->unlinkable);
    if (c->has_messages && a->messages_read)
        messages_json(o, a->messages_read);
    vg__buf_adds(o, ",\"infrastructure\":{\"ips\":");
    str_list(o, c->ips, c->n_ips);
    vg__buf_adds(o, ",\"app_ids\":");
    str_list(o, c->app_ids, c->n_app_ids);
    vg__buf_adds(o, ",\"user_agents\":");
    str_list(o, c->user_agents, c->n_user_agents);
    vg__buf_addc(o, '}');
    for (uint32_t i = 0; i < c->n_evidence; i++) {
        const vigie_alert_evidence *e = &c->evidence[i];
        if (i == 0) {
            vg__buf_adds(o, ",\"source\":");
            source_json(o, &e->source, true);
            vg__buf_adds(o, "},\"evidence\":[");
        }
        if (i)
            vg__buf_addc(o, ',');
        source_json(o, &e->source, true);
        vg__buf_adds(o, ",\"alerts\":[");
        /* the ids, comma-separated: an empty one between two commas stays an empty string */
        for (const char *p = e->alert_ids; p && *p;) {
            const char *q = strchr(p, ',');
            size_t l = q ? (size_t)(q - p) : strlen(p);
            if (p != e->alert_ids)
                vg__buf_addc(o, ',');
            vg__alert_json_str_or_null(o, p, l);
            p += l + (q ? 1 : 0);
        }
        vg__buf_adds(o, "]}");
    }
    if (c->n_evidence)
        vg__buf_printf(o, "],\"evidence_omitted\":%llu", (unsigned long long)c->evidence_omitted);
    vg__buf_adds(o, "}\n");
}

static void correlation_json(vg_buf *o, const vigie_alert *a)
{
    const vigie_alert_correlation *r = &a->u.correlation;
    char tb[40];
    vg__format_time(a->time, tb, sizeof tb);
    vg__alert_head(o, a->id, a->rule.id, a->rule.title, a->rule.level, a->rule.tags,
                   a->rule.n_tags);
    vg__buf_adds(o, ",\"kind\":\"correlation\",\"correlation\":{\"type\":");
    jstr(o, r->type ? r->type : "none");
    vg__buf_adds(o, ",\"group\":");
    if (r->group && r->group_len && r->group[0] == '{')
        vg__buf_add(o, r->group, r->group_len);
    else
        vg__buf_adds(o, "{}");
    vg__buf_adds(o, ",\"value\":");
    jnum(o, "%.17g", r->value);
    vg__buf_printf(o, ",\"events\":%llu,\"window\":{\"start\":", (unsigned long long)r->events);
    jstr(o, r->window_start ? r->window_start : "");
    vg__buf_adds(o, ",\"end\":");
    jstr(o, r->window_end ? r->window_end : "");
    vg__buf_adds(o, "}},\"tenant\":");
    vg__alert_json_str_or_null(o, a->tenant, a->tenant_len);
    vg__buf_adds(o, ",\"time\":");
    jstr(o, tb);
    vg__buf_adds(o, ",\"source\":");
    if (a->has_source) {
        source_json(o, &a->source, true);
        vg__buf_addc(o, '}');
    } else {
        vg__buf_adds(o, "null");
    }
    vg__buf_adds(o, ",\"contributing\":");
    str_list(o, r->contributing, r->n_contributing);
    vg__buf_adds(o, ",\"events\":[");
    for (uint32_t i = 0; i < r->n_positions; i++) {
        const vigie_alert_position *p = &r->positions[i];
        vigie_alert_source s = {.file = p->file, .line = p->line, .index = p->index,
                                .offset = p->offset};
        if (i)
            vg__buf_addc(o, ',');
        source_json(o, &s, false);
        vg__buf_addc(o, '}');
    }
    vg__buf_adds(o, "]}\n");
}

/* The members of a gap after its id: the text its id hashes. */
static void gap_body(vg_buf *o, const vigie_alert *a)
{
    const vigie_alert_gap *g = &a->u.gap;
    vg__buf_adds(o, "\"kind\":\"gap\",\"gap\":");
    jstr(o, g->gap ? g->gap : "");
    vg__buf_adds(o, ",\"tenant\":");
    vg__alert_json_str_or_null(o, a->tenant ? a->tenant : "", a->tenant ? a->tenant_len : 0);
    if (g->from) {
        vg__buf_adds(o, ",\"from\":");
        jstr(o, g->from);
        vg__buf_adds(o, ",\"to\":");
        jstr(o, g->to ? g->to : "");
        vg__buf_printf(o, ",\"days\":%lld", (long long)g->days);
    } else {
        vg__buf_printf(o, ",\"records\":%llu", (unsigned long long)g->records);
        if (g->has_of)
            vg__buf_printf(o, ",\"of\":%llu", (unsigned long long)g->of);
    }
    vg__buf_adds(o, ",\"detail\":");
    jstr(o, g->detail ? g->detail : "");
}

static void gap_json(vg_buf *o, const vigie_alert *a)
{
    vg__buf_adds(o, "{\"id\":");
    jstr(o, a->id);
    vg__buf_addc(o, ',');
    gap_body(o, a);
    vg__buf_adds(o, "}\n");
}

/* ---- CSV and table: the same columns for every kind ---------------------------------- */

typedef struct cols {
    char time[40];
    const char *level, *rid, *title, *tenant, *file;
    size_t tenant_len;
    uint64_t line, offset;
    bool has_file;
    char title_buf[300];
} cols;

static void columns(const vigie_alert *a, cols *c)
{
    c->time[0] = 0;
    if (a->has_time)
        vg__format_time(a->time, c->time, sizeof c->time);
    c->level = a->rule.level;
    c->rid = a->rule.id;
    c->title = a->rule.title;
    c->tenant = a->tenant;
    c->tenant_len = a->tenant ? a->tenant_len : 0;
    c->has_file = a->has_source;
    c->file = a->has_source ? a->source.file : NULL;
    c->line = a->has_source ? a->source.line : 0;
    c->offset = a->has_source ? a->source.offset : 0;
    if (a->kind == VIGIE_ALERT_UNDETERMINED) {
        /* csv and table have no kind column: the title says it */
        snprintf(c->title_buf, sizeof c->title_buf, "undetermined: %s",
                 a->rule.title ? a->rule.title : "(untitled)");
        c->title = c->title_buf;
    } else if (a->kind == VIGIE_ALERT_GAP) {
        c->level = NULL;
        snprintf(c->title_buf, sizeof c->title_buf, "gap: %s",
                 a->u.gap.gap ? a->u.gap.gap : "");
        c->rid = "vigie:gap";
        c->title = c->title_buf;
    } else if (a->kind == VIGIE_ALERT_CORRELATION && !a->has_source) {
        c->file = "-";
        c->has_file = true;
    }
}

static void csv_line(vg_buf *o, const vigie_alert *a)
{
    cols c;
    columns(a, &c);
    vg__buf_adds(o, c.time);
    vg__buf_addc(o, ',');
    vg__alert_csv_cell(o, c.level ? c.level : "", slen(c.level));
    vg__buf_addc(o, ',');
    vg__alert_csv_cell(o, c.rid ? c.rid : "", slen(c.rid));
    vg__buf_addc(o, ',');
    vg__alert_csv_cell(o, c.title ? c.title : "", slen(c.title));
    vg__buf_addc(o, ',');
    vg__alert_csv_cell(o, c.tenant ? c.tenant : "", c.tenant_len);
    vg__buf_addc(o, ',');
    vg__alert_csv_cell(o, c.file ? c.file : "", slen(c.file));
    vg__buf_printf(o, ",%llu,%llu\n", (unsigned long long)c.line, (unsigned long long)c.offset);
}

static void table_line(vg_buf *o, const vigie_alert *a)
{
    cols c;
    columns(a, &c);
    vg__alert_table_line(o, c.time, c.level, c.title, c.tenant, c.tenant_len, c.file, c.line);
}

void vg__alert_header(vg_buf *out, int format)
{
    if (format == VIGIE_FORMAT_CSV)
        vg__buf_adds(out, "time,level,rule_id,rule_title,tenant,file,line,offset\n");
    else if (format == VIGIE_FORMAT_TABLE)
        vg__buf_printf(out, "%-24s  %-13s  %-60s  %-36s  %s\n", "TIME", "LEVEL", "RULE", "TENANT",
                       "SOURCE");
}

void vg__alert_render(vg_buf *out, const vigie_alert *a, int format)
{
    if (format == VIGIE_FORMAT_CSV) {
        csv_line(out, a);
        return;
    }
    if (format == VIGIE_FORMAT_TABLE) {
        table_line(out, a);
        return;
    }
    if (record_kind(a->kind))
        record_json(out, a);
    else if (a->kind == VIGIE_ALERT_COMBINED)
        combined_json(out, a);
    else if (a->kind == VIGIE_ALERT_CORRELATION)
        correlation_json(out, a);
    else
        gap_json(out, a);
}

int vg__alert_set_id(vigie_alert *a, vg_buf *scratch)
{
    vg__buf_reset(scratch);
    if (record_kind(a->kind)) {
        char tenant[VG_ALERT_TENANT_BYTES], sh[65]; /* ids: the tenant cut as ever */
        snprintf(tenant, sizeof tenant, "%.*s", a->tenant ? (int)a->tenant_len : 0,
                 a->tenant ? a->tenant : "");
        vg__alert_hex(a->source.sha256, 32, sh);
        record_extra(scratch, a);
        const char *parts[] = {vg__alert_kind_name(a->kind), a->rule.id, tenant, sh,
                               scratch->data};
        vg__alert_id_parts(parts, 5, a->id);
    } else if (a->kind == VIGIE_ALERT_COMBINED) {
        const char *parts[] = {"combined", a->u.combined.key};
        vg__alert_id_parts(parts, 2, a->id);
    } else if (a->kind == VIGIE_ALERT_CORRELATION) {
        const vigie_alert_correlation *r = &a->u.correlation;
        char tb[40];
        vg__format_time(a->time, tb, sizeof tb);
        if (r->group)
            vg__buf_add(scratch, r->group, r->group_len);
        for (uint32_t i = 0; i < r->n_contributing; i++)
            vg__buf_adds(scratch, r->contributing[i] ? r->contributing[i] : "");
        vg__buf_addc(scratch, 0); /* data != NULL even when empty */
        const char *parts[] = {"correlation", a->rule.id ? a->rule.id : a->rule.title, tb,
                               scratch->data};
        vg__alert_id_parts(parts, 4, a->id);
    } else {
        gap_body(scratch, a);
        const char *parts[] = {"gap", scratch->data};
        vg__alert_id_parts(parts, 2, a->id);
    }
    return vg__buf_failed(scratch);
}

/* ---- the public wrappers -------------------------------------------------------------- */

size_t vigie_alert_render(const vigie_alert *a, vigie_format format, char *buf, size_t cap)
{
    vg_buf o;
    vg__buf_init(&o, 0);
    vg__alert_render(&o, a, (int)format);
    if (vg__buf_failed(&o)) {
        vg__buf_free(&o);
        if (buf && cap)
            buf[0] = 0;
        return 0;
    }
    size_t n = o.len;
    if (buf && cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        if (k)
            memcpy(buf, o.data, k);
        buf[k] = 0;
    }
    vg__buf_free(&o);
    return n;
}

int vigie_alert_id(vigie_alert *a)
{
    vg_buf s;
    vg__buf_init(&s, 0);
    int rc = vg__alert_set_id(a, &s);
    vg__buf_free(&s);
    return rc;
}

/* ---- copies ----------------------------------------------------------------------------- */

typedef struct cp {
    vg_arena *ar;
    bool fail;
} cp;

static const char *cstr(cp *c, const char *s)
{
    if (!s)
        return NULL;
    char *d = vg__arena_strdup(c->ar, s);
    c->fail |= !d;
    return d;
}

static const char *cmem(cp *c, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = vg__arena_strndup(c->ar, s, n);
    c->fail |= !d;
    return d;
}

static const char *const *clist(cp *c, const char *const *v, uint32_t n)
{
    if (!v || !n)
        return NULL;
    const char **d = vg__arena_alloc(c->ar, n * sizeof *d);
    if (!d) {
        c->fail = true;
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++)
        d[i] = cstr(c, v[i]);
    return d;
}

static void *cblock(cp *c, const void *p, size_t n)
{
    if (!p || !n)
        return NULL;
    void *d = vg__arena_alloc(c->ar, n);
    if (!d) {
        c->fail = true;
        return NULL;
    }
    memcpy(d, p, n);
    return d;
}

int vg__alert_copy(vg_arena *ar, vigie_alert *dst, const vigie_alert *src, unsigned borrow)
{
    cp c = {ar, false};
    *dst = *src;
    if (!(borrow & VG_ALERT_BORROW_RULE)) {
        dst->rule.id = cstr(&c, src->rule.id);
        dst->rule.title = cstr(&c, src->rule.title);
        dst->rule.level = cstr(&c, src->rule.level);
        dst->rule.tags = clist(&c, src->rule.tags, src->rule.n_tags);
    }
    if (!(borrow & VG_ALERT_BORROW_EVENT))
        dst->event = cmem(&c, src->event, src->event_len);
    if (!(borrow & VG_ALERT_BORROW_FILE))
        dst->source.file = cstr(&c, src->source.file);
    dst->tenant = cmem(&c, src->tenant, src->tenant_len);
    dst->user = cmem(&c, src->user, src->user_len);
    dst->shape = cstr(&c, src->shape);
    dst->redact_with = cstr(&c, src->redact_with);
    if (src->messages_read) {
        vigie_alert_messages *m = cblock(&c, src->messages_read, sizeof *m);
        if (m) {
            m->folders = clist(&c, m->folders, m->n_folders);
            m->first = cstr(&c, m->first);
            m->last = cstr(&c, m->last);
        }
        dst->messages_read = m;
    }
    switch (src->kind) {
    case VIGIE_ALERT_NEW_TERM: {
        vigie_alert_new_term *t = &dst->u.new_term;
        t->group = cstr(&c, t->group);
        t->term = cstr(&c, t->term);
        if (!(borrow & VG_ALERT_BORROW_RULE))
            t->fields = clist(&c, t->fields, t->n_fields);
        break;
    }
    case VIGIE_ALERT_INDICATOR: {
        vigie_alert_indicator *i = &dst->u.indicator;
        i->type = cstr(&c, i->type);
        i->value = cstr(&c, i->value);
        i->first_seen = cstr(&c, i->first_seen);
        i->last_seen = cstr(&c, i->last_seen);
        i->role = cstr(&c, i->role);
        i->set = cstr(&c, i->set);
        break;
    }
    case VIGIE_ALERT_TOKEN: {
        vigie_alert_token *t = &dst->u.token;
        t->fingerprint = cstr(&c, t->fingerprint);
        t->verdict = cstr(&c, t->verdict);
        t->alg = cstr(&c, t->alg);
        t->kid = cstr(&c, t->kid);
        t->issuer = cstr(&c, t->issuer);
        t->key_issuer = cstr(&c, t->key_issuer);
        break;
    }
    case VIGIE_ALERT_UNDETERMINED: {
        vigie_alert_undetermined *u = &dst->u.undetermined;
        u->reason = cstr(&c, u->reason);
        u->fields = clist(&c, u->fields, u->n_fields); /* the matcher's list is transient */
        break;
    }
    case VIGIE_ALERT_CORRELATION: {
        vigie_alert_correlation *r = &dst->u.correlation;
        r->type = cstr(&c, r->type);
        r->group = cmem(&c, r->group, r->group_len);
        r->window_start = cstr(&c, r->window_start);
        r->window_end = cstr(&c, r->window_end);
        r->contributing = clist(&c, r->contributing, r->n_contributing);
        vigie_alert_position *p = cblock(&c, r->positions, r->n_positions * sizeof *p);
        for (uint32_t i = 0; p && i < r->n_positions; i++)
            p[i].file = cstr(&c, p[i].file);
        r->positions = p;
        break;
    }
    case VIGIE_ALERT_COMBINED: {
        vigie_alert_combined *b = &dst->u.combined;
        b->key = cstr(&c, b->key);
        b->session = cstr(&c, b->session);
        b->day = cstr(&c, b->day);
        vigie_alert_signal *g = cblock(&c, b->signals, b->n_signals * sizeof *g);
        for (uint32_t i = 0; g && i < b->n_signals; i++) {
            g[i].name = cstr(&c, g[i].name);
            g[i].kind = cstr(&c, g[i].kind);
            g[i].level = cstr(&c, g[i].level);
            g[i].rule = cstr(&c, g[i].rule);
        }
        b->signals = g;
        b->ips = clist(&c, b->ips, b->n_ips);
        b->app_ids = clist(&c, b->app_ids, b->n_app_ids);
        b->user_agents = clist(&c, b->user_agents, b->n_user_agents);
        vigie_alert_evidence *e = cblock(&c, b->evidence, b->n_evidence * sizeof *e);
        for (uint32_t i = 0; e && i < b->n_evidence; i++) {
            e[i].source.file = cstr(&c, e[i].source.file);
            e[i].alert_ids = cstr(&c, e[i].alert_ids);
        }
        b->evidence = e;
        break;
    }
    case VIGIE_ALERT_GAP: {
        vigie_alert_gap *g = &dst->u.gap;
        g->gap = cstr(&c, g->gap);
        g->from = cstr(&c, g->from);
        g->to = cstr(&c, g->to);
        g->detail = cstr(&c, g->detail);
        break;
    }
    default:
        break;
    }
    return c.fail ? VIGIE_NOMEM : VIGIE_OK;
}
