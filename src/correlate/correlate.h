/* SPDX-License-Identifier: Apache-2.0 */
/*
 * correlate.h: detections that need state across events. Stage: correlate (depends on util,
 * json, rule).
 *
 * First-seen ("new terms", the vigie extension `vigie: new_terms:` of a Sigma rule): for
 * each rule, group (a tenant, or the values of group fields) and term (the tuple of the
 * rule's field values), remember when the group was first seen and which terms it has
 * shown. An event whose term is new after the group's baseline period is first-seen; during
 * the baseline, terms are learned silently. State can be saved to and loaded from a file, so
 * that a baseline learned on one run is used by the next (`vigie scan --baseline FILE`).
 *
 * Events must reach vg__newterms_check in time order per group; `vigie scan` calls it from
 * its writer, which sees records in read order. Not thread-safe: one caller at a time.
 * Memory: a term or group not seen for a time to live (VG_NEW_TERMS_TTL_S of event time, 90
 * days: longer than any baseline period) is forgotten when vg__newterms_advance passes it; at
 * most VG_MAX_NEW_TERMS entries (groups and terms), the least recently seen eighth forgotten
 * when full. Both are counted (vg__newterms_forgotten). A forgotten term seen again is new
 * again; a forgotten group learns a new baseline.
 */
#ifndef VG_CORRELATE_H
#define VG_CORRELATE_H

#include "util/ser.h"
#include "util/util.h"

typedef struct vg_newterms vg_newterms;

int vg__newterms_new(vg_newterms **out);
void vg__newterms_free(vg_newterms *nt);

/* Returns true when `term` is new for (rule_key, group) and the group's baseline has
 * passed at time t; records the term either way. rule_key identifies the rule (its id). */
bool vg__newterms_check(vg_newterms *nt, const char *rule_key, const char *group,
                        const char *term, double t, double baseline_s);

/* The same, telling apart a term seen before that is still novel: first seen after the
 * baseline (it alerted then), less than one baseline period ago (a day when baseline_s is 0).
 * The state file keeps the novel mark. */
enum { VG_NT_KNOWN = 0, VG_NT_NEW, VG_NT_NOVEL };
int vg__newterms_state(vg_newterms *nt, const char *rule_key, const char *group,
                       const char *term, double t, double baseline_s);

/* ttl_s: 0 = VG_NEW_TERMS_TTL_S; max_entries: 0 = VG_MAX_NEW_TERMS. */
void vg__newterms_set_limits(vg_newterms *nt, double ttl_s, uint64_t max_entries);
/* Event time moved to watermark: what was last seen more than the time to live before it is
 * forgotten (a sweep at most once an hour of event time; +infinity forgets nothing). */
void vg__newterms_advance(vg_newterms *nt, double watermark);
/* Entries forgotten: past their time to live (*expired) and least recently seen when full
 * (*evicted); returns the sum. Either pointer may be NULL. */
uint64_t vg__newterms_forgotten(const vg_newterms *nt, uint64_t *expired, uint64_t *evicted);
/* The whole state as a section of a state file (util/ser.h encoding), and back into a FRESH
 * object (VIGIE_INVAL, told through diag, for a truncated, malformed or hostile section). */
int vg__newterms_save_section(const vg_newterms *nt, vg_buf *out);
int vg__newterms_load_section(vg_newterms *nt, vg_rd *in, vigie_diag_fn diag, void *diag_ud);

/* Entries not remembered or forgotten because of the bound (out of memory, or the least
 * recently seen when full). */
uint64_t vg__newterms_dropped(const vg_newterms *nt);
uint64_t vg__newterms_count(const vg_newterms *nt);

/* State file: JSON lines {"rule":..,"group":..,"term":..,"first_seen":..} and one line per
 * group {"rule":..,"group":..,"group_first_seen":..}, each with an optional "last_seen" (files
 * without it load as last seen when first seen; readers before it ignore it). Loading a group marks its baseline as
 * already learned. Load reports bad lines through diag and skips them. */
int vg__newterms_load(vg_newterms *nt, const char *path, vigie_diag_fn diag, void *diag_ud);
int vg__newterms_save(const vg_newterms *nt, const char *path);

/* ---- indicators with time windows ------------------------------------------------------------ */

/* Indicator sets: published infrastructure (the Storm-0558 list is built in, from
 * data/indicators/) and the user's own, in vigie's YAML format (docs/INDICATORS.md) or as
 * STIX 2.1 bundles of `indicator` objects with ipv4-addr / ipv6-addr value patterns and
 * valid_from / valid_until. An address matches only inside its window, widened by a margin.
 * Immutable after loading: share it between threads. */
typedef struct vg_indicators vg_indicators;

typedef struct vg_indicator_hit {
    const char *set_id, *set_name, *level, *role, *value, *first_seen, *last_seen;
    const char *const *tags;
    uint32_t n_tags;
} vg_indicator_hit;

int vg__indicators_new(vg_indicators **out, double margin_s);
void vg__indicators_free(vg_indicators *x);
int vg__indicators_load_builtin(vg_indicators *x, vigie_diag_fn diag, void *diag_ud);
/* A file: vigie's YAML format, or a STIX 2.1 bundle (JSON), told apart by content. */
int vg__indicators_load(vg_indicators *x, const char *path, vigie_diag_fn diag, void *diag_ud);
uint32_t vg__indicators_count(const vg_indicators *x);
/* Look up an address seen at time t (Unix seconds). The address may carry a port
 * ("1.2.3.4:443", "[2001:db8::1]:443") or an IPv4-mapped prefix ("::ffff:1.2.3.4"). */
bool vg__indicators_match_ip(const vg_indicators *x, const char *s, size_t n, double t,
                             vg_indicator_hit *hit);
/* A user agent seen at time t: equal (ASCII case-insensitive) to a user_agent indicator,
 * or containing it when the indicator is 16 characters or longer. */
bool vg__indicators_has_ua(const vg_indicators *x);
bool vg__indicators_match_ua(const vg_indicators *x, const char *s, size_t n, double t,
                             vg_indicator_hit *hit);


/* ---- sessions: one combined alert per (tenant, user, session or day) -------------------------- */

/* Signals of the records of a session window are gathered, sign-ins joined to mailbox access
 * once the watermark has passed it plus the sign-in lateness, and each group with at least one
 * primary signal (an alert, or an access no sign-in issued) is scored into one alert when the
 * watermark passes its last record plus the gap (session.c; docs/DETECTIONS.md). Fed in read
 * order by one thread; the strings passed in are copied; the strings of a vg_sess_alert are
 * valid during the emit call only. */
typedef struct vg_sessions vg_sessions;

enum { VG_SL_INFO = 0, VG_SL_LOW, VG_SL_MEDIUM, VG_SL_HIGH, VG_SL_CRITICAL };

typedef struct vg_sess_opts {
    double signin_window_s; /* a token id is used up to this long after its sign-in (1 day) */
    uint32_t actor_days;    /* bit 0 = Monday; 0: Monday-Friday */
    int actor_h0, actor_h1; /* UTC hours [h0, h1); both 0: 00-09 (BRIEF.md) */
    uint64_t max_signin_ids; /* 0: VG_MAX_SIGNIN_IDS */
    uint64_t max_sessions;   /* 0: VG_MAX_SESSIONS */
    double session_window_s; /* a session id, after its last sign-in (30 days): sessions
                                outlive tokens, and exports often hold only interactive
                                sign-ins */
    double session_gap_s;     /* records of one key further apart are different groups
                                 (0: VG_SESSION_GAP_S) */
    double signin_lateness_s; /* a mail access waits this long, in event time, for the sign-in
                                 that explains it (0: VG_SIGNIN_LATENESS_S) */
} vg_sess_opts;

/* Defaults (docs/DETECTIONS.md says why): a day without activity ends a session window; sign-in
 * logs arrive up to two hours after the mail access they explain. */
#define VG_SESSION_GAP_S 86400.0
#define VG_SIGNIN_LATENESS_S 7200.0


typedef struct vg_sess_signal {
    const char *name, *kind, *rule, *level;
    uint64_t records;
    /* signals of one family are one piece of evidence: the score counts the family once, at
     * its highest level (first-seen rules over the same fields, per tenant and per mailbox).
     * NULL or "": the name. */
    const char *family;
} vg_sess_signal;

typedef struct vg_sess_evidence {
    const char *file; /* interned by the sessions object: valid during the emit call */
    uint64_t line, index, offset;
    uint8_t sha256[32];
    char *alert_ids; /* comma-separated ids of the alerts on this record, or NULL */
} vg_sess_evidence;

typedef struct vg_sess_rec {
    const char *tenant, *user, *session, *token; /* NULL or "" when absent */
    double t;
    bool has_time;
    bool mail;        /* a mailbox access record (MailItemsAccessed) */
    bool rest_client; /* ClientInfoString Client=REST... (supporting only) */
    const vg_sess_signal *signals; /* alerts raised on this record */
    uint32_t n_signals;
    const uint64_t *msgs; /* hashes of its InternetMessageIds */
    uint32_t n_msgs;
    double ops;
    const char *const *folders;
    uint32_t n_folders;
    const char *file; /* the source's name, copied (interned once per distinct name) */
    uint64_t line, index, offset;
    uint8_t sha256[32];
    const char *alert_ids;
    /* infrastructure, for campaigns: client address, "AppId|ClientAppId", user agent or
     * ClientInfoString (NULL or "" when absent) */
    const char *ip, *app, *ua;
} vg_sess_rec;

typedef struct vg_sess_alert {
    const char *key; /* the group's key: unique per group, stable across runs */
    const char *tenant, *user, *session, *day;
    double first, last;
    int level, score;
    const vg_sess_signal *signals;
    uint32_t n_signals;
    uint64_t records, mail, messages;
    bool messages_capped;
    double ops;
    const char *const *folders;
    uint32_t n_folders;
    const vg_sess_evidence *evidence;
    uint32_t n_evidence;
    uint64_t evidence_omitted, no_signin, unlinkable, matched;
    /* distinct values seen in the session (up to VG_SESS_INFRA each) */
    const char *const *ips, *const *apps, *const *uas;
    uint32_t n_ips, n_apps, n_uas;
} vg_sess_alert;

#define VG_SESS_INFRA 16

typedef struct vg_sess_stats {
    uint64_t groups, alerts, by_level[5], evicted, signins, no_signin, unlinkable;
    uint64_t signin_ids, signin_ids_dropped;
    uint64_t signin_ids_aged; /* forgotten once the watermark passed their window */
    uint64_t late;            /* records older than the watermark less the gap */
    uint64_t open;            /* groups still open after the call */
} vg_sess_stats;

typedef int (*vg_sess_emit)(void *ud, const vg_sess_alert *a);

int vg__sessions_new(const vg_sess_opts *o, vg_sessions **out);
void vg__sessions_free(vg_sessions *s);
/* A sign-in with its linkable identifiers (SessionId, UniqueTokenIdentifier). */
void vg__sessions_signin(vg_sessions *s, const char *tenant, const char *session,
                         const char *token, double t);
int vg__sessions_add(vg_sessions *s, const vg_sess_rec *r);
/* Whether vg__sessions_add would keep anything of the record (its group exists, or it has a
 * signal, or it is mail access the sign-ins seen so far do not explain). Only tenant, user,
 * session, token, time, mail and n_signals are read: a caller can defer the costly fields
 * (hashes, message ids, infrastructure) to the records that need them. */
bool vg__sessions_needs(vg_sessions *s, const vg_sess_rec *r);
/* Event time moves to `watermark` (it never goes back): every group whose last record plus the
 * gap, and whose pending accesses plus the sign-in lateness, are before it is joined, scored
 * and emitted (those with a primary signal), ordered by that closing time then creation order
 * (the same sequence for any batching of the same input), then freed; sign-in ids past their
 * window plus the lateness are forgotten. The alert key is the group's key for the first window
 * of a key that alerts, the key and "\x1fw:" and the window's first time for a later one.
 * st (may be NULL) counts what this call emitted. */
int vg__sessions_advance(vg_sessions *s, double watermark, vg_sess_emit emit, void *ud,
                         vg_sess_stats *st);
/* advance(+infinity): everything closes. */
int vg__sessions_finish(vg_sessions *s, vg_sess_emit emit, void *ud, vg_sess_stats *st);
double vg__sessions_watermark(const vg_sessions *s);
/* The whole state (open groups, sign-in ids, the watermark, the interned names) as a section of
 * a state file (util/ser.h encoding); nothing is finished. Load reads one into a FRESH object
 * made with the same options: VIGIE_INVAL (told through diag) for a truncated, malformed or
 * hostile section, after which the object must only be freed. */
int vg__sessions_save(const vg_sessions *s, vg_buf *out);
int vg__sessions_load(vg_sessions *s, vg_rd *in, vigie_diag_fn diag, void *diag_ud);
bool vg__sessions_tenant_has_signins(const vg_sessions *s, const char *tenant);
bool vg__sessions_actor_hours(const vg_sess_opts *o, double t);
const char *vg__sessions_level_name(int level);

/* ---- visibility: where each tenant's mailbox audit is blind (visibility.c) ------------------ */

/* Per tenant, from the facts of its mail-access records: on which days a MailItemsAccessed
 * record exists, how many records were throttled, how many carry an identifier that can be
 * joined to a sign-in. Gaps are judged on event time against a watermark (the time before
 * which no more facts are expected): a run of at least VG_VIS_GAP_DAYS days without mailbox
 * audit, between two days that have some, is reported once the watermark has passed its
 * end; vg__vis_finish reports the runs not yet reported and the per-tenant totals
 * (throttled, unlinkable, no sign-in logs). File mode calls finish only, so the gaps come
 * out per tenant in the order tenants were first seen. Fed by one thread; strings copied. */
typedef struct vg_vis vg_vis;

typedef struct vg_vis_fact {
    const char *tenant; /* "" when unknown */
    double t;
    bool has_time;
    bool throttled; /* IsThrottled */
    bool linkable;  /* carries a SessionId or UniqueTokenId */
} vg_vis_fact;

typedef enum vg_gap_kind {
    VG_GAP_NO_MAILBOX_AUDIT = 0, /* from, to (day bounds, to exclusive), days */
    VG_GAP_THROTTLED,            /* records: throttled records */
    VG_GAP_UNLINKABLE,           /* records without identifier, of: all mail records */
    VG_GAP_NO_SIGNIN_LOGS        /* records: linkable records, the tenant had no sign-in */
} vg_gap_kind;

typedef struct vg_vis_gap {
    vg_gap_kind kind;
    const char *tenant; /* valid during the callback */
    double from, to;    /* Unix seconds (no_mailbox_audit only) */
    int64_t days;
    uint64_t records, of;
} vg_vis_gap;

/* What is known of one tenant (the run summary). first > last when no timed record. */
typedef struct vg_vis_tenant {
    const char *tenant; /* owned by the vg_vis */
    double first, last;
    uint64_t n, throttled, linkable, gaps;
} vg_vis_tenant;

/* Return non-zero to stop; the calling function then returns that value. */
typedef int (*vg_vis_emit)(void *ud, const vg_vis_gap *g);
/* Whether the tenant had sign-in records (the sessions know; visibility does not ask them). */
typedef bool (*vg_vis_signins)(void *ud, const char *tenant);

int vg__vis_new(vg_vis **out);
void vg__vis_free(vg_vis *v);
/* VIGIE_OK, VIGIE_NOMEM, or VIGIE_TOOBIG when VG_MAX_VIS_TENANTS are tracked (counted). */
int vg__vis_add(vg_vis *v, const vg_vis_fact *f);
/* Gaps that ended before the watermark and were not reported yet. */
int vg__vis_advance(vg_vis *v, double watermark, vg_vis_emit emit, void *ud);
/* Every gap not reported yet, then per tenant its throttled, unlinkable and (when signins is
 * non-NULL and says no) no-sign-in-logs records; tenant by tenant in first-seen order. Call
 * once: totals are reported only here. */
int vg__vis_finish(vg_vis *v, vg_vis_signins signins, void *signins_ud, vg_vis_emit emit, void *ud);
uint32_t vg__vis_count(const vg_vis *v);
/* Tenant i (0 <= i < vg__vis_count, first-seen order). */
void vg__vis_tenant(const vg_vis *v, uint32_t i, vg_vis_tenant *out);
uint64_t vg__vis_dropped(const vg_vis *v);
/* Saved state (util/ser.h encoding): append a section to out / read one into a vg_vis that
 * has no tenant yet. Load returns VIGIE_TRUNCATED on a short or malformed section (the vg_vis
 * is then left empty), VIGIE_INVAL when v is not empty. */
int vg__vis_save(const vg_vis *v, vg_buf *out);
int vg__vis_load(vg_vis *v, const void *p, size_t n);

/* ---- campaigns: many tenants' alerts into one actor's campaigns (campaign.c) -------------- */

typedef struct vg_campaigns vg_campaigns;
typedef struct vg_campaign_stats {
    uint64_t nodes, campaigns, dropped;
    uint32_t max_orgs;
} vg_campaign_stats;

/* asn_db: a MaxMind-format database (GeoLite2-ASN or compatible) or NULL; one that cannot be
 * opened is reported through diag (VIGIE_IO) and fails. */
int vg__campaigns_new(const char *asn_db, vigie_diag_fn diag, void *diag_ud, vg_campaigns **out);
void vg__campaigns_free(vg_campaigns *c);
/* A combined alert as the sessions emit it (id: its alert id, computed by the caller as for
 * its line); only high and critical ones become nodes. The typed entry of `vigie scan`. */
int vg__campaigns_add_session(vg_campaigns *c, const vg_sess_alert *a, const char *id);
/* An alert line as `vigie scan` writes it (combined and token alerts; lines that do not
 * concern campaigns are ignored): the entry of `vigie campaigns`, which reads a store, and
 * of the scan's token alerts, which are lines until the worker builds typed alerts. */
int vg__campaigns_add_alert(vg_campaigns *c, const char *line, size_t len);
/* The ATT&CK tags of a combined alert (what its signals show): mail collection; forged or
 * unissued tokens used as alternate authentication material; traffic through listed
 * proxies. Static strings; returns how many. */
#define VG_COMBINED_MAX_TAGS 8
uint32_t vg__combined_tags(const vg_sess_alert *a, const char *tags[VG_COMBINED_MAX_TAGS]);
/* Appends one JSON line per campaign to out, in order of each campaign's first node. */
int vg__campaigns_finish(vg_campaigns *c, vg_buf *out, vg_campaign_stats *st);
/* The campaigns that are new or changed (a node joined, two merged, a token key id linked)
 * since the last call (or the state's load): one line each, as finish writes it, without
 * its newline. Campaigns grow as sessions close; a campaign absorbed by an earlier one is
 * published again under the earlier one's id. Return non-zero from emit to stop. */
typedef int (*vg_campaign_emit)(void *ud, const char *line, size_t len);
int vg__campaigns_changes(vg_campaigns *c, vg_campaign_emit emit, void *ud);
/* Saved state (util/ser.h encoding): the nodes, their features, the token key ids and what
 * was published. Load reads a section into an empty vg_campaigns: VIGIE_TRUNCATED on a short
 * or malformed one (left empty), VIGIE_INVAL when c is not empty. */
int vg__campaigns_save(const vg_campaigns *c, vg_buf *out);
int vg__campaigns_load(vg_campaigns *c, const void *p, size_t n);

#endif
