/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert.h: the one alert type of libvigie and its renderers (JSONL, CSV, table).
 *
 * Every alert vigie raises is a vigie_alert: a Sigma match (sigma), a first-seen term
 * (new_term), a listed indicator (indicator), a bearer-token verdict (token), a rule left
 * undecided by a regex limit (undetermined), a Sigma correlation (correlation), a session's
 * combined alert (combined) and a visibility gap (gap). The common part (id, rule, tenant,
 * time, source, event) is filled for every kind where it applies; the kind-specific part is
 * the member of the union named by `kind`.
 *
 * Ownership, in one sentence: every pointer in a vigie_alert is borrowed; an alert handed
 * to a callback is valid only for the duration of that call, and one built by the caller
 * only as long as the caller keeps what it points to. Strings are NUL-terminated unless a
 * length is given beside them; a NULL string is rendered as JSON null (or an empty cell).
 *
 * Thread safety: the functions below read only the alert; any number of threads may render
 * alerts at once.
 */
#ifndef VIGIE_ALERT_H
#define VIGIE_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigie/vigie.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vigie_alert_kind {
    VIGIE_ALERT_SIGMA = 0,
    VIGIE_ALERT_NEW_TERM,
    VIGIE_ALERT_INDICATOR,
    VIGIE_ALERT_TOKEN,
    VIGIE_ALERT_UNDETERMINED,
    VIGIE_ALERT_CORRELATION,
    VIGIE_ALERT_COMBINED,
    VIGIE_ALERT_GAP,
    VIGIE_ALERT_KIND_COUNT
} vigie_alert_kind;

/* Output formats: one JSON object per line; RFC 4180 CSV (time, level, rule id, title,
 * tenant, file, line, offset; cells a spreadsheet would take for a formula start with ');
 * a fixed-width table for a terminal (every cell escaped). */
typedef enum vigie_format { VIGIE_FORMAT_JSONL = 0, VIGIE_FORMAT_CSV, VIGIE_FORMAT_TABLE } vigie_format;

/* Where a record was read: a file (or a stream's name), its line, its index among the
 * input's records and its byte offset; the SHA-256 of the record's bytes when known. */
typedef struct vigie_alert_source {
    const char *file;
    uint64_t line, index, offset;
    uint8_t sha256[32];
    bool has_sha;
} vigie_alert_source;

/* What a mailbox read read (MailItemsAccessed): distinct InternetMessageIds (at_least: the
 * count stopped at a cap), the summed OperationCount, the folder paths; first/last (combined
 * alerts only, may be NULL) the times of the first and last read. */
typedef struct vigie_alert_messages {
    uint64_t internet_message_ids;
    bool at_least;
    double operation_count;
    const char *const *folders;
    uint32_t n_folders;
    bool has_span; /* render first and last */
    const char *first, *last;
} vigie_alert_messages;

typedef struct vigie_alert_new_term {
    const char *group, *term;
    const char *const *fields;
    uint32_t n_fields;
} vigie_alert_new_term;

typedef struct vigie_alert_indicator {
    const char *type; /* "ip", "user_agent" */
    const char *value, *first_seen, *last_seen, *role, *set;
} vigie_alert_indicator;

typedef struct vigie_alert_token {
    const char *fingerprint; /* hex prefix of the token's SHA-256 (rendered "sha256:<hex>") */
    const char *verdict, *alg, *kid, *issuer;
    const char *key_issuer; /* NULL: no other issuer's key */
    bool compromised_key;
} vigie_alert_token;

typedef struct vigie_alert_undetermined {
    const char *reason;
    const char *const *fields;
    uint32_t n_fields;
    bool more_fields;
} vigie_alert_undetermined;

/* A position of an event that contributed to a correlation (no hash). */
typedef struct vigie_alert_position {
    const char *file;
    uint64_t line, index, offset;
} vigie_alert_position;

typedef struct vigie_alert_correlation {
    const char *type;              /* "event_count", "value_count", "temporal", ... */
    const char *group;             /* a JSON object text, or NULL (rendered {}) */
    size_t group_len;
    double value;
    uint64_t events;
    const char *window_start, *window_end;
    const char *const *contributing; /* alert ids */
    uint32_t n_contributing;
    const vigie_alert_position *positions;
    uint32_t n_positions;
} vigie_alert_correlation;

typedef struct vigie_alert_signal {
    const char *name, *kind, *level;
    const char *rule; /* NULL or "": none */
    uint64_t records;
} vigie_alert_signal;

typedef struct vigie_alert_evidence {
    vigie_alert_source source;
    const char *alert_ids; /* the record's alerts: ids separated by ',' (may be NULL) */
} vigie_alert_evidence;

typedef struct vigie_alert_combined {
    const char *key;     /* the session group's key (the id is derived from it) */
    const char *session; /* NULL: a day group, `day` names it (the user is vigie_alert.user) */
    const char *day;
    int score;
    const vigie_alert_signal *signals;
    uint32_t n_signals;
    uint64_t records, mail_records;
    uint64_t matched, no_signin, unlinkable; /* the sign-in join */
    bool has_messages;                      /* messages_read (in vigie_alert) is rendered */
    const char *const *ips, *const *app_ids, *const *user_agents;
    uint32_t n_ips, n_app_ids, n_user_agents;
    const vigie_alert_evidence *evidence;
    uint32_t n_evidence;
    uint64_t evidence_omitted;
} vigie_alert_combined;

typedef struct vigie_alert_gap {
    const char *gap; /* "no_mailbox_audit", "throttled", "unlinkable", "no_signin_logs" */
    const char *from, *to; /* a run of days (NULL: none; then records is rendered) */
    int64_t days;
    uint64_t records, of;
    bool has_of;
    const char *detail;
} vigie_alert_gap;

typedef struct vigie_alert {
    char id[33]; /* 32 hex + NUL: stable for the same alert on the same input */
    vigie_alert_kind kind;
    struct {
        const char *id, *title, *level;
        const char *const *tags;
        uint32_t n_tags;
    } rule;
    const char *tenant; /* NULL: none */
    size_t tenant_len;
    const char *user; /* the user the alert is about, when known (stored, not rendered) */
    size_t user_len;
    double time; /* seconds since the epoch (UTC) */
    bool has_time;
    bool has_source;
    vigie_alert_source source;
    const char *shape; /* log shape name (record alerts) */
    /* the record as read (record alerts); rendered on one line. A redaction replaces
     * event[redact_off, redact_off + redact_len) by redact_with (token alerts). */
    const char *event;
    size_t event_len;
    size_t redact_off, redact_len;
    const char *redact_with;
    const vigie_alert_messages *messages_read; /* NULL: none */
    union {
        vigie_alert_new_term new_term;
        vigie_alert_indicator indicator;
        vigie_alert_token token;
        vigie_alert_undetermined undetermined;
        vigie_alert_correlation correlation;
        vigie_alert_combined combined;
        vigie_alert_gap gap;
    } u;
} vigie_alert;

/* "sigma", "new_term", ... ("?" for a value out of range). */
VIGIE_API const char *vigie_alert_kind_name(vigie_alert_kind kind);

/* Render the alert in `format` into buf (NUL-terminated, cut at cap - 1 bytes) and return
 * the length the whole text needs, without its NUL, like snprintf: a return >= cap means
 * buf was too small. JSONL and CSV text end with a newline, so does a table line. buf may
 * be NULL when cap is 0. Returns 0 when memory ran out. The id is rendered as it is in
 * a->id (see vigie_alert_id). */
VIGIE_API size_t vigie_alert_render(const vigie_alert *a, vigie_format format, char *buf, size_t cap);

/* Compute the alert's stable id into a->id from its kind, rule, tenant, source and
 * kind-specific part (the same alert on the same record gives the same id in every run).
 * Returns 0 (VIGIE_OK) or VIGIE_NOMEM. */
VIGIE_API int vigie_alert_id(vigie_alert *a);

#ifdef __cplusplus
}
#endif
#endif
