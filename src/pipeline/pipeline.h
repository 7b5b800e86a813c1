/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.h: the pipeline stage (src/pipeline: worker.c, writer.c) and its one client so
 * far, `vigie scan` (src/cli/scan.c): the batch, the options, the run's context and the
 * worker. Stage: pipeline, over every detection stage; nothing here calls back into src/cli
 * (diagnostics and progress are callbacks in scan_ctx).
 *
 * scan.c still owns the run: options, set-up, the reader thread, the worker threads, the
 * summary. worker.c is what a worker does to each record of a batch (parse, classify, match,
 * indicators, tokens, alert lines, session and correlation facts); it touches only its
 * worker and its batch. writer.c is the writer, which sees batches in read order and
 * alone owns the state that outlives a batch (first-seen terms, sessions, correlations,
 * visibility, the store and the ledger) and the output.
 */
#ifndef VG_PIPELINE_H
#define VG_PIPELINE_H

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "alert/render.h"
#include "compile/compile.h"
#include "correlate/corr.h"
#include "correlate/correlate.h"
#include "detect/detect.h"
#include "ingest/ingest.h"
#include "match/match.h"
#include "rule/rule.h"
#include "store/ledger.h"
#include "store/store.h"
#include "token/token.h"
#include "util/util.h"
#include "json/json.h"

#define BATCH_RECORDS 2048
#define BATCH_BYTES (4u << 20)
#define MAX_RULE_PATHS 256
#define MAX_PLACEHOLDERS 64

enum { FMT_JSONL = 0, FMT_CSV, FMT_TABLE };
enum { LV_INFO = 0, LV_LOW, LV_MEDIUM, LV_HIGH, LV_CRITICAL, LV_OTHER, LV_COUNT };
extern const char *const vg__scan_level_names[LV_COUNT];

typedef struct rec_ref {
    size_t off;
    size_t len;
    uint32_t file; /* index into inputs */
    uint64_t line, index, offset;
} rec_ref;

typedef struct batch {
    uint64_t seq;
    vg_buf data;
    rec_ref *recs;
    uint32_t n;
    vg_buf out;
    /* counters filled by the worker */
    uint64_t events;
    uint64_t bad;
    uint64_t bad_by_rc[VIGIE_STATUS_COUNT];
    uint64_t alerts;
    uint64_t by_level[LV_COUNT];
    uint64_t ind_hits;
    uint64_t token_findings;
    int done;
    struct batch *next; /* queue link */
    /* typed alerts for the writer: every first-seen candidate (not rendered: the writer
     * renders the kept ones), and, when a typed sink is on (scan_ctx.typed), every alert with
     * its rendered text; in read order. Their strings are in al_arena (which never moves what
     * it gave), except the rule's, the input's path and the event (in data): all outlive the
     * batch's turn at the writer. */
    struct balert {
        vigie_alert a;
        size_t start, end; /* its text in out; start == end: not rendered (a candidate) */
        int32_t pend;      /* first-seen candidate index, or -1 */
    } * al;
    uint32_t n_al, cap_al;
    vg_arena *al_arena;
    /* first-seen candidates: alerts the writer keeps only if the term is new */
    struct pending {
        uint32_t al; /* its typed alert, in al */
        size_t strs; /* offset of "group\0term\0" in nt_strs */
        uint32_t rule;
        double t;
        int state; /* VG_NT_*, decided by the writer */
    } * pend;
    uint32_t n_pend, cap_pend;
    vg_buf nt_strs;
    /* mailbox-audit facts for visibility: one per MailItemsAccessed record */
    struct mfact {
        size_t tenant; /* offset of the tenant (NUL-terminated) in mf_strs */
        double t;
        uint8_t throttled, linkable, has_time;
    } * facts;
    uint32_t n_facts, cap_facts;
    vg_buf mf_strs;
    /* session facts (combined alerts): one per mail access, sign-in or alerted record, with
     * the signals (alerts) raised on it; the facts themselves typed in rfl (src/detect), the
     * signals' strings in sf_strs */
    struct rsig {
        size_t strs;  /* "name\0kind\0rule\0level\0alert id\0family\0" */
        int32_t pend; /* first-seen candidate index, or -1 */
    } * sigs;
    uint32_t n_sigs, cap_sigs;
    struct sfact {
        uint32_t fact; /* index in rfl */
        uint32_t rec;  /* index in recs */
        uint32_t sig0, n_sig;
        uint8_t sha[32];
    } * sf;
    uint32_t n_sf, cap_sf;
    vg_rfacts_list rfl;
    vg_buf sf_strs;
    /* matches of rules that Sigma correlations refer to, with the field values the
     * correlations read ("name\0value\0" pairs in sf_strs), fed to them by the writer */
    struct cfact {
        uint32_t rule, rec, n_vals;
        size_t strs;
        double t;
        char id[33];
        char tenant[VG_CORR_TENANT_BYTES];
    } * cf;
    uint32_t n_cf, cap_cf;
    /* rules left UNKNOWN by a regex limit (each also an "undetermined" alert line in out):
     * the record and the warning text in undet_strs, printed by the writer in read order */
    struct undet {
        uint32_t rec;
        size_t msg;
    } * undet;
    uint32_t n_undet, cap_undet;
    vg_buf undet_strs;
    uint64_t undetermined; /* undetermined alerts written (n_undet, unless out of memory) */
    double max_t;          /* the latest event time of the batch's records (-INFINITY: none) */
} batch;

typedef struct scan_opts {
    const char *rule_paths[MAX_RULE_PATHS];
    uint32_t n_rule_paths;
    vg_placeholder ph[MAX_PLACEHOLDERS];
    uint32_t n_ph;
    const char *out_path;
    const char *summary_path;
    const char *campaigns_path;
    const char *asn_db;
    const char *time_field;
    double lateness_s;
    const char *db_path;
    int db_timeout_ms; /* --db-timeout: how long the store waits for another writer */
    const char *ledger_dir;
    const char *key_prefix;
    int argc;
    char **argv;
    const char *baseline_path;
    const char *state_path; /* --state FILE: loaded if it exists, saved at the end */
    bool finish; /* --finish: close every open group at the end (always without --state) */
    const char *jwks[32][2]; /* issuer, file */
    uint32_t n_jwks;
    double signin_window_h;
    vg_sess_opts sess;
    const char *indicator_paths[32];
    uint32_t n_indicator_paths;
    double indicator_margin_days;
    bool builtin_indicators;
    int format;
    int threads;
    bool logsource_all;
    bool fail_on_alert;
    bool no_progress;
    bool no_prefilter;
    bool no_combined;
    uint64_t max_decompressed; /* --max-decompressed; 0 = VG_MAX_DECOMPRESSED_BYTES */
    bool regex_limit_ignore;   /* --regex-limit=ignore: a regex stopped by a limit is no match */
    char **inputs;
    uint32_t n_inputs;
} scan_opts;

typedef struct scan_ctx {
    const scan_opts *o;
    vg_ruleload *rl;
    vg_ruleset *rs;
    vg_fieldmap *fmap;
    vg_detect *det; /* record-fact lists, resolved per shape (immutable, shared) */
    vg_inputs in;
    uint8_t *rule_level; /* per rule: LV_* */
    FILE *out;
    int out_error;
    /* per-rule alert counts: summed from workers at the end */
    uint64_t *rule_hits;
    pthread_mutex_t hits_mu;
    /* totals (writer side) */
    uint64_t events, bad, alerts;
    uint64_t bad_by_rc[VIGIE_STATUS_COUNT];
    uint64_t by_level[LV_COUNT];
    uint64_t bytes, bytes_read, files;
    uint64_t unreadable_files; /* inputs that are no log vigie can read (0 events each) */
    vg_match_stats mstats;
    vg_newterms *nt;
    uint64_t nt_first_seen;
    vg_indicators *ind;
    uint64_t ind_hits;
    vg_keysets *keys;
    uint64_t token_findings;
    uint64_t undetermined, undet_warned; /* undetermined alerts; their warnings printed */
    vg_vis *vis; /* mailbox-audit visibility per tenant (correlate/visibility.c) */
    uint64_t gaps;
    uint64_t sess_alerts, sess_by_level[5];
    vg_sessions *sess;
    vg_sess_stats sess_stats;
    struct worker *wwp; /* the writer's own parse state (hydrate) */
    vg_campaigns *camp;
    vg_campaign_stats camp_stats;
    /* Sigma correlations (writer side) */
    /* --db and --ledger: every alert line is also stored / appended (writer side) */
    vg_store *db;
    int64_t run_id;
    vg_ledger *ledger;
    bool typed;       /* --db or --ledger: the batches keep every alert typed, for them */
    vg_sink sinks[3]; /* -o, then --db, then --ledger: every alert, in read order */
    uint32_t n_sinks;
    vg_buf wr_render;              /* the writer's text of the candidates it keeps */
    uint64_t ledgered, ledger_ck;  /* entries appended; at the last checkpoint */
    bool db_failed, ledger_failed; /* said once; the run went on without it; exit 4 */
    vg_corr *corr;
    const char ***corr_fields; /* per rule: NULL-terminated fields its correlations read */
    uint32_t n_corr_fields;
    bool *corr_quiet; /* per rule: referenced by a correlation without generate */
    uint64_t corr_seq, corr_alerts, corr_untimed;
    struct cref {
        uint64_t ref;
        uint32_t file;
        uint64_t line, index, offset;
        char id[33];
        char tenant[VG_CORR_TENANT_BYTES];
        uint8_t sha[32];
    } * ring; /* recent correlated events, by ref % VG_CORR_RING */
    /* event time: the latest record time seen, in this run and the runs whose state was
     * loaded (--state); the watermark a run without --finish advances to */
    double max_t;
    /* sources of correlation-ring entries loaded from a state file: ring file indexes at and
     * past in.n name them (vg__scan_ring_file) */
    char **old_paths;
    uint32_t n_old_paths;
    int interrupted;    /* the signal (SIGINT, SIGTERM) that stopped reading, or 0 */
    uint32_t n_reached; /* inputs the reader opened or tried, in order (c->in.paths[0..n)) */
    double t_start;
    double last_progress;
    bool progress;
    /* the caller's: every diagnostic of the run (records skipped, store and ledger
     * failures), and a progress report after each batch written (NULL: none) */
    vigie_diag_fn diag;
    void *diag_ud;
    void (*on_progress)(struct scan_ctx *c, bool final);
    volatile sig_atomic_t *stop; /* non-zero: stop reading at the next record */
    /* queues */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done, cv_free;
    batch *pool;
    uint32_t n_pool;
    batch *free_list;
    batch *work_head, *work_tail;
    uint64_t next_write;
    bool reading_done;
    bool stop_workers;
} scan_ctx;

typedef struct worker {
    scan_ctx *c;
    vg_jtape tape;
    vg_jscratch *js;
    vg_buf tmp;
    vg_buf extra;                  /* scratch of the alert ids (vg__alert_set_id) */
    vg_buf ftext;                  /* scratch of the alert's user (alert_user) */
    size_t redact_off, redact_len; /* a span of the event replaced by redact_with (0: none) */
    char redact_with[64];
    vg_matcher *m;
    uint64_t *hits;
    pthread_t th;
    /* current record while matching */
    batch *b;
    const rec_ref *r;
    const vg_eventinfo *ei;
    /* per record, computed at most once: its SHA-256, what it read (typed, for its alerts) */
    bool sha_ok, mdet_ok;
    uint8_t sha[32];
    char sha_hex[65];
    vigie_alert_messages mr;                       /* what it read (once mdet_ok), for its alerts */
    const char *mr_folder[VG_MAX_SESSION_FOLDERS]; /* mr.folders: into the detect scratch */
    vg_detect_scratch *ds;                         /* the record's facts (src/detect) */
    uint32_t sig0;                                 /* b->n_sigs when the record began */
    bool ftext_found;                              /* the last field_text found a value */
    /* per-worker scratch, reused for every record (no allocation once grown): unescaped
     * strings of field_text and of the user-agent check */
    vg_buf ft_tmp, ua_tmp;
    char tok_tenant[VG_TOKEN_TENANT_BYTES]; /* tenant taken from a bearer token's issuer */
    char sig_family[256]; /* family of the signal being formatted ("" = its name) */
    bool no_signal;       /* the alert being formatted is no signal of its session */
} worker;

/* ---- pipeline.c: set-up and tear-down ------------------------------------------------- */
/* The Sigma correlations over every loaded rule (c->rl) and, per compiled rule (c->rs), the
 * fields its correlations read (c->corr, corr_fields, corr_quiet, ring; left NULL when no
 * correlation or out of memory: the run goes on without them). Diagnostics to c->diag. */
void vg__pipeline_plan_corr(scan_ctx *c, double lateness_s);
void vg__pipeline_plan_corr_free(scan_ctx *c);
/* A zeroed batch of the pool: its buffers, then onto c->free_list. VIGIE_NOMEM: not on the
 * list; vg__pipeline_batch_free still releases what it holds. */
int vg__pipeline_batch_init(scan_ctx *c, batch *b);
void vg__pipeline_batch_free(batch *b);
/* Read every input (c->in) through the workers (nw of them, initialised; one: on the calling
 * thread) and write every batch in read order; returns VIGIE_IO when an input could not be
 * opened or read (said through c->diag), else VIGIE_OK. c->interrupted: *c->stop when reading
 * stopped early. */
int vg__pipeline_run(scan_ctx *c, worker *workers, int nw);

/* ---- worker.c: per record, on a worker thread --------------------------------------- */
int vg__scan_worker_init(worker *w, scan_ctx *c);
void vg__scan_worker_fini(worker *w);
void vg__scan_process_batch(worker *w, batch *b);
/* The full session fact of a record (full: even a plain mail read), appended to b->sf. */
void vg__scan_record_fact(worker *w, batch *b, uint32_t ri, const vg_eventinfo *ei, bool full);
int vg__scan_level_index(const char *lv);

/* ---- writer.c: in read order, on the writer -------------------------------------- */
/* Text for -o (stdout), outside any alert: the text sink's bytes. */
void vg__scan_write_out(scan_ctx *c, const char *p, size_t n);
/* One alert to every sink, in read order: its text in the output format (a may be NULL for
 * text of many alerts when no typed sink is on, see scan_ctx.typed). */
void vg__scan_emit(scan_ctx *c, const vigie_alert *a, const char *text, size_t n);
/* The sinks of the run: -o, and --db / --ledger when open. */
void vg__scan_sinks_init(scan_ctx *c);
/* The batch's undetermined warnings on stderr (at most VG_UNDET_MAX_WARNINGS per run). */
void vg__scan_write_undetermined(scan_ctx *c, batch *b);
/* The store (the ledger) failed: say so once, stop using it, exit 4 at the end. */
void vg__scan_store_failed(scan_ctx *c);
void vg__scan_ledger_failed(scan_ctx *c);
void vg__scan_write_batch(scan_ctx *c, batch *b);
void vg__scan_write_combined(scan_ctx *c);
/* A run with --state and without --finish: every group, gap and first-seen term whose window
 * the watermark (the latest event time seen) has passed is closed; the rest stays open. */
void vg__scan_advance(scan_ctx *c, double watermark);
/* The input path of a correlation-ring entry (this run's inputs, then a state file's). */
const char *vg__scan_ring_file(const scan_ctx *c, uint32_t file);

void vg__scan_write_gaps(scan_ctx *c);

/* ---- state.c: the saved state (--state FILE, docs/STATE.md) ---------------------------- */
/* Load the saved state at c->o->state_path into the run's fresh parts (after the inputs are
 * expanded, before any record); a missing file is a first run (VIGIE_OK). A refused file is
 * said through c->diag and returns its status: nothing of it is used. */
int vg__pipeline_state_load(scan_ctx *c);
/* Save the run's state (atomically, with a checksum); false on failure (said). */
bool vg__pipeline_state_save(scan_ctx *c);

#endif
