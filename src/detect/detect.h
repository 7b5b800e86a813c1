/* SPDX-License-Identifier: Apache-2.0 */
/*
 * detect.h: what one record says about who did what from where: the record facts.
 *
 * Stage: detect (depends on util, json, ingest). Runs on a worker after a record is parsed
 * and classified (ingest), beside the matcher. It owns the per-record facts that sessions,
 * combined alerts, campaigns and visibility are built from: tenant, user, session, token,
 * client address, application, user agent; whether the record is a mail read
 * (MailItemsAccessed), a sign-in, a REST client; what a mail read read (distinct message
 * ids, operation count, folders); whether it is throttled and linkable to a sign-in. It also
 * gives the indicator and bearer-token checks the fields they read.
 *
 * Which fields hold each fact is data (data/facts/NAME.yml, compiled in; docs/FIELDS.md), per
 * log shape with a default. vg__detect_new resolves every list through the field maps for
 * every (shape, field-map section) pair ONCE: a record's lookup is one table index, with no
 * lock and no lookup by name.
 *
 * Ownership: a vg_detect is immutable after vg__detect_new and shared by all workers; it
 * copies what it needs (it does not borrow the field map). A vg_detect_scratch belongs to
 * one worker: every string a call returns points into it and is valid until the next
 * vg__detect_begin on that scratch. Once its buffers have grown to the largest record, no
 * call allocates.
 *
 * Conventions (those of `vigie scan` before this stage existed, kept exactly): an absent fact
 * is "-"; a value that is "-" counts as absent (the next field of the list is tried); "" is a
 * value. Fact strings have NUL and 0x1f (separators of session keys) replaced by '?', so
 * every string is also NUL-terminated at its length; folder paths are kept as read (they can
 * hold any byte: use their length).
 */
#ifndef VG_DETECT_H
#define VG_DETECT_H

#include "ingest/ingest.h"
#include "json/json.h"
#include "util/util.h"

/* A string in the scratch: p[len] == 0. */
typedef struct vg_sref {
    const char *p;
    size_t len;
} vg_sref;

/* The field lists of data/facts, one per fact. The mail lists hold for mail reads. */
typedef enum {
    VG_DL_USER = 0,
    VG_DL_SESSION,
    VG_DL_TOKEN,
    VG_DL_ADDRESS,
    VG_DL_APP,
    VG_DL_CLIENT_APP,
    VG_DL_USER_AGENT,
    VG_DL_INDICATOR_ADDRESS,    /* every value is an indicator candidate (ip) */
    VG_DL_INDICATOR_USER_AGENT, /* every value is an indicator candidate (user agent) */
    VG_DL_BEARER_TOKEN,         /* every value may be a bearer token (JWT) */
    VG_DL_MAIL_WHEN,            /* the field whose value says "mail read" */
    VG_DL_MAIL_USER,
    VG_DL_MAIL_SESSION,
    VG_DL_MAIL_TOKEN,
    VG_DL_MAIL_ADDRESS,
    VG_DL_MAIL_USER_AGENT,
    VG_DL_MAIL_MESSAGE_IDS,
    VG_DL_MAIL_OPERATION_COUNT,
    VG_DL_MAIL_FOLDERS,
    VG_DL_MAIL_THROTTLED,
    VG_DL_MAIL_LINKABLE,
    VG_DL_ALERT_USER, /* the user of a record alert: top-level member names, as written
                         (not through the field map); the first that is a string */
    VG_DL_TIME,       /* --time-field, for records whose shape gives no time */
    VG_DL_COUNT
} vg_dlist_id;

/* One candidate path of a resolved list. `name` numbers the Sigma field names of the list
 * (0, 1, ...): the paths of one name are its field-map candidates, in order. */
typedef struct vg_dpath {
    const char *path;
    uint32_t len;
    uint32_t name;
} vg_dpath;

typedef struct vg_detect vg_detect;
typedef struct vg_detect_scratch vg_detect_scratch;

typedef struct vg_detect_opts {
    const char *time_field; /* --time-field: where records of unknown shape keep their time;
                               NULL: none */
    /* extra fact files (YAML text) loaded after the built-in ones, or NULL (tests) */
    const char *extra_yaml;
    size_t extra_len;
} vg_detect_opts;

/* Load the built-in fact lists (data/facts) and resolve them through `fmap` (NULL: field
 * names as written) for every shape and field-map section. A bad fact file is reported
 * through diag with its file:line and fails the call (VIGIE_YAML). */
int vg__detect_new(const vg_fieldmap *fmap, const vg_detect_opts *o, vigie_diag_fn diag,
                   void *diag_ud, vg_detect **out);
void vg__detect_free(vg_detect *d);

/* The resolved paths of list `id` on records like `ei` (its shape and map id), in the order
 * they are tried. Never NULL; *n may be 0. Valid as long as d. Lock-free. */
const vg_dpath *vg__detect_paths(const vg_detect *d, const vg_eventinfo *ei, vg_dlist_id id,
                                 uint32_t *n);

vg_detect_scratch *vg__detect_scratch_new(void);
void vg__detect_scratch_free(vg_detect_scratch *s);

/* Start a record: t and js are the worker's parsed tape and JSON scratch (js reset for this
 * record), ei its classification. They must stay valid and unchanged until the next begin.
 * Forgets what was computed for the previous record (each fact below is computed at most
 * once per record). */
void vg__detect_begin(vg_detect_scratch *s, const vg_detect *d, const vg_jtape *t,
                      vg_jscratch *js, const vg_eventinfo *ei);

/* Whether the record is a mail read (its shape has a mail_read section and its `when` field
 * equals `equals`). */
bool vg__detect_is_mail(vg_detect_scratch *s);

/* What a mail read read: distinct message ids (their vg__hash64, in first-seen order),
 * summed operation counts, the first VG_MAX_SESSION_FOLDERS folder paths. NULL when the
 * record is no mail read. */
typedef struct vg_mailread {
    uint32_t n_ids;
    const uint64_t *ids;
    double ops;
    const vg_sref *folders; /* as read, unescaped; any byte */
    uint32_t n_folders;
} vg_mailread;
const vg_mailread *vg__detect_mail_read(vg_detect_scratch *s);

/* The session facts of the record. */
typedef struct vg_rfacts {
    bool mail;        /* a mail read */
    bool signin;      /* a sign-in (its shape's section says signin: true) */
    bool lite;        /* a mail read without signal, asked without `full`: only tenant, user,
                         session and token are filled (ip, app, ua are "-", no mail read) */
    bool rest_client; /* a full mail read whose user agent holds rest_client */
    bool need_sha;    /* the caller attaches the record's SHA-256 (full mail read, or a signal) */
    bool has_time;
    double t;
    vg_sref tenant, user, session, token, ip, app, ua;
    /* a full mail read: what it read (else 0 / NULL) */
    double ops;
    const uint64_t *msgs;
    uint32_t n_msgs;
    const vg_sref *folders;
    uint32_t n_folders;
} vg_rfacts;

/* Fill *out with the facts of the record, for a record on which n_sig signals (alerts) were
 * raised; `full` asks for everything even for a mail read without signal (the writer's
 * second look at a record the sessions keep). Returns false (and leaves *out alone) when the
 * record has no session fact: neither a mail read nor a sign-in, and no signal. A sign-in
 * without signal only feeds the sign-in join: user, ip, app, ua are "-". */
bool vg__detect_record_facts(vg_detect_scratch *s, uint32_t n_sig, bool full, vg_rfacts *out);

/* The visibility fact of a mail read (false when the record is none). linkable is the
 * session/token of vg__detect_record_facts when it ran on this record, else whether one of
 * the mail_read `linkable` fields is present and not "-". */
typedef struct vg_mfact {
    vg_sref tenant;
    bool has_time;
    double t;
    bool throttled, linkable;
} vg_mfact;
bool vg__detect_mail_fact(vg_detect_scratch *s, vg_mfact *out);

/* The record's time from --time-field when its shape gave none (epoch seconds, or
 * milliseconds past 1e11, or ISO 8601); sets ei->time / has_time. Returns whether it did.
 * Call before vg__detect_begin, with the same tape and scratch (ei is not yet fixed). */
bool vg__detect_time_field(const vg_detect *d, vg_detect_scratch *s, const vg_jtape *t,
                           vg_jscratch *js, vg_eventinfo *ei);

/* ---- a batch's facts: typed storage that outlives the scratch --------------------------------
 * The facts of many records (a batch), copied out of the scratch so that another thread (the
 * writer) reads them later as vg_rfacts again: no NUL-separated strings to decode. Strings
 * are kept with their lengths (folders may hold any byte). One owner at a time; reset keeps
 * the memory, so a recycled batch stops allocating once grown. A push that cannot grow fails
 * with VIGIE_NOMEM and adds nothing; the list then refuses every push until reset. */
typedef struct vg_rfacts_ent vg_rfacts_ent;
typedef struct vg_rfacts_list {
    vg_buf strs;
    vg_rfacts_ent *e;
    uint32_t n, cap;
    uint64_t *msgs;
    size_t n_msgs, cap_msgs;
    struct vg_rfacts_span {
        size_t off, len;
    } * folders;
    size_t n_folders, cap_folders;
    int err; /* sticky: the status of the first failed push since the last reset */
} vg_rfacts_list;

void vg__rfacts_list_init(vg_rfacts_list *l);
void vg__rfacts_list_free(vg_rfacts_list *l);
void vg__rfacts_list_reset(vg_rfacts_list *l);
/* Copy f in; *idx (may be NULL) is its index. */
int vg__rfacts_list_push(vg_rfacts_list *l, const vg_rfacts *f, uint32_t *idx);
/* Fact i as it was pushed; its strings point into l (valid until the next push or reset),
 * its folders into `folders` (the caller's array of VG_MAX_SESSION_FOLDERS). */
void vg__rfacts_list_get(const vg_rfacts_list *l, uint32_t i, vg_rfacts *out,
                         vg_sref *folders);

#endif
