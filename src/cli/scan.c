/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scan.c: `vigie scan`: rules in, logs in, alerts out.
 *
 * Pipeline of the command: the main thread expands the inputs and reads records (ingest)
 * into batches (copies of up to BATCH_RECORDS records / BATCH_BYTES bytes, with their
 * source positions); N worker threads each own a JSON tape, a JSON scratch and a matcher
 * (per-worker scratch over the one shared, immutable rule set), parse, classify and match
 * every record of a batch and format its alerts into the batch's output buffer; the writer
 * thread writes batches strictly in the order they were read. So the alert stream is the
 * same, in the same order, for any -j N. With -j 1 everything runs on the calling thread.
 *
 * Memory is flat: a fixed pool of 2N+2 batches is recycled; nothing grows with the input
 * except the per-rule counters (one per rule). A bad record is reported with file:line,
 * counted by reason and skipped.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "cli.h"
#include "correlate/correlate.h"
#include "correlate/corr.h"
#include "store/ledger.h"
#include "store/store.h"
#include "token/token.h"

#define BATCH_RECORDS 2048
#define VG_CORR_RING 65536u /* recent correlated events whose positions alerts can name */
#define BATCH_BYTES (4u << 20)
#define MAX_RULE_PATHS 256
#define MAX_PLACEHOLDERS 64

enum { FMT_JSONL = 0, FMT_CSV, FMT_TABLE };
enum { LV_INFO = 0, LV_LOW, LV_MEDIUM, LV_HIGH, LV_CRITICAL, LV_OTHER, LV_COUNT };
static const char *const level_names[LV_COUNT] = {"informational", "low", "medium",
                                                   "high", "critical", "other"};

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
    /* first-seen candidates: alert lines the writer keeps only if the term is new */
    struct pending {
        size_t out_start, out_end;
        size_t strs;   /* offset of "group\0term\0" in nt_strs */
        uint32_t rule;
        double t;
        int state;     /* VG_NT_*, decided by the writer */
    } *pend;
    uint32_t n_pend, cap_pend;
    vg_buf nt_strs;
    /* mailbox-audit facts for visibility: one per MailItemsAccessed record */
    struct mfact {
        char tenant[64];
        double t;
        uint8_t throttled, linkable, has_time;
    } *facts;
    uint32_t n_facts, cap_facts;
    /* session facts (combined alerts): one per mail access, sign-in or alerted record, with
     * the signals (alerts) raised on it; strings in sf_strs, message-id hashes in sf_msgs */
    struct rsig {
        size_t strs;   /* "name\0kind\0rule\0level\0alert id\0" */
        int32_t pend;  /* first-seen candidate index, or -1 */
    } *sigs;
    uint32_t n_sigs, cap_sigs;
    struct sfact {
        size_t strs;   /* "tenant\0user\0session\0token\0ip\0app\0ua\0" then folder paths */
        uint32_t rec;  /* index in recs */
        uint32_t sig0, n_sig;
        size_t msg0;
        uint32_t n_msg, n_folders;
        double t, ops;
        bool has_time, mail, signin, rest;
        bool lite; /* a mail read with only tenant, user, session, token: see fold_sessions */
        uint8_t sha[32];
    } *sf;
    uint32_t n_sf, cap_sf;
    vg_buf sf_strs;
    uint64_t *sf_msgs;
    size_t n_sf_msgs, cap_sf_msgs;
    /* matches of rules that Sigma correlations refer to, with the field values the
     * correlations read ("name\0value\0" pairs in sf_strs), fed to them by the writer */
    struct cfact {
        uint32_t rule, rec, n_vals;
        size_t strs;
        double t;
        char id[33];
        char tenant[64];
    } *cf;
    uint32_t n_cf, cap_cf;
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
    const char *ledger_dir;
    const char *key_prefix;
    int argc;
    char **argv;
    const char *baseline_path;
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
    char **inputs;
    uint32_t n_inputs;
} scan_opts;

typedef struct scan_ctx {
    const scan_opts *o;
    vg_ruleload *rl;
    vg_ruleset *rs;
    vg_fieldmap *fmap;
    vg_inputs in;
    uint8_t *rule_level;        /* per rule: LV_* */
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
    vg_match_stats mstats;
    vg_newterms *nt;
    uint64_t nt_first_seen;
    vg_indicators *ind;
    uint64_t ind_hits;
    vg_keysets *keys;
    uint64_t token_findings;
    struct tvis {
        char tenant[64];
        double first, last;
        uint64_t n, throttled, linkable, gaps;
        uint8_t *days; /* one byte per day since `first`'s day, up to VIS_DAYS */
        int64_t day0;
    } *vis;
    uint32_t n_vis, cap_vis;
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
    vg_jtape sink_tape;
    vg_buf sink_tmp;
    uint64_t ledgered, ledger_ck; /* entries appended; at the last checkpoint */
    vg_corr *corr;
    const char ***corr_fields; /* per rule: NULL-terminated fields its correlations read */
    uint32_t n_corr_fields;
    bool *corr_quiet;          /* per rule: referenced by a correlation without generate */
    uint64_t corr_seq, corr_alerts, corr_untimed;
    struct cref {
        uint64_t ref;
        uint32_t file;
        uint64_t line, index, offset;
        char id[33];
        char tenant[64];
        uint8_t sha[32];
    } *ring; /* recent correlated events, by ref % VG_CORR_RING */
    double t_start;
    double last_progress;
    bool progress;
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
    vg_buf extra; /* extra JSON members of the alert being formatted */
    vg_buf ftext; /* field text for visibility facts */
    size_t redact_off, redact_len; /* a span of the event replaced by redact_with (0: none) */
    char redact_with[64];
    vg_matcher *m;
    uint64_t *hits;
    pthread_t th;
    /* current record while matching */
    batch *b;
    const rec_ref *r;
    const vg_eventinfo *ei;
    /* per record, computed at most once: its SHA-256, what it says was read */
    bool sha_ok, mail_ok, is_mail, mdet_ok;
    uint8_t sha[32];
    char sha_hex[65];
    vg_buf mr_json;          /* ,"messages_read":{...} or empty */
    uint64_t *mh;            /* hashes of its distinct InternetMessageIds */
    uint32_t n_mh, cap_mh;
    double mops;
    vg_buf mfolders;         /* folder paths, NUL-separated */
    uint32_t n_mfolders;
    uint32_t sig0;           /* b->n_sigs when the record began */
    bool ftext_found;        /* the last field_text found a value */
    bool linkable_ok, linkable; /* record_fact saw the record's SessionId / UniqueTokenId */
    char tok_tenant[128];       /* tenant taken from a bearer token's issuer */
} worker;

/* ---- options ------------------------------------------------------------------------------ */

static void scan_usage(FILE *f)
{
    fputs("usage: vigie scan [-r RULES]... [options] INPUT...\n"
          "\n"
          "INPUT: files, directories (recursive) or - for stdin. The format (NDJSON, JSON array,\n"
          "{\"Records\":[...]}/{\"value\":[...]}, concatenated JSON, CSV with a JSON column or with\n"
          "field columns; gzip/zstd) is detected from the content.\n"
          "\n"
          "  -r, --rules PATH        Sigma rule file or directory (repeatable); default: vigie's pack\n"
          "  -o, --output FILE       write alerts to FILE instead of stdout\n"
          "      --format FMT        jsonl (default) | csv | table\n"
          "  -j, --threads N         worker threads (default: number of cores)\n"
          "      --logsource=all     evaluate every rule on every event (no logsource routing)\n"
          "      --summary-json FILE write the end summary as one JSON object\n"
          "  -p, --placeholder NAME=V1[,V2...]  values for |expand placeholders (repeatable)\n"
          "      --baseline FILE     first-seen state: loaded if FILE exists, saved at the end\n"
          "      --jwks ISSUER=FILE  the issuer's key set (JWKS) for bearer-token checks; ISSUER may\n"
          "                          hold one '*' (repeatable)\n"
          "      --indicators FILE   indicators with time windows: vigie YAML or STIX 2.1 (repeatable)\n"
          "      --indicator-margin DAYS  widen every indicator window (default 7)\n"
          "      --signin-window HOURS  a token or session is used up to HOURS after its last\n"
          "                          sign-in (default 24); mail access outside it has no sign-in\n"
          "      --actor-hours SPEC  the actor's working hours in UTC (default \"Mon-Fri 00-09\"),\n"
          "                          supporting evidence in combined alerts\n"
          "      --campaigns FILE    write campaigns (alerts of many tenants linked by shared\n"
          "                          infrastructure) as JSON lines to FILE\n"
          "      --asn-db FILE       a MaxMind-format ASN database (GeoLite2-ASN): link by\n"
          "                          autonomous system too\n"
          "      --db FILE           also keep alerts, evidence and campaigns in a SQLite store\n"
          "                          (docs/STORE.md); runs append without duplicates\n"
          "      --ledger DIR        append every alert, with the SHA-256 and position of each\n"
          "                          record behind it, to a tamper-evident ledger (docs/LEDGER.md)\n"
          "      --key PREFIX        sign the ledger's checkpoints with vigie keygen's key\n"
          "      --time-field PATH   event time for logs of unknown shape (epoch seconds or\n"
          "                          ISO 8601); known shapes use their own time field\n"
          "      --lateness SECONDS  Sigma correlations accept events this much out of time\n"
          "                          order (default 3600)\n"
          "      --no-combined       no combined alerts (one per tenant, user and session)\n"
          "      --builtin-indicators     also match the published Storm-0558 list when -r is given\n"
          "                          (always on with vigie's own pack)\n"
          "      --fail-on-alert     exit 1 when any alert was written\n"
          "      --no-progress       no progress bar on a terminal\n"
          "      --no-prefilter      evaluate every routed rule (testing)\n"
          "  -q, --quiet             only errors on stderr, no summary\n",
          f);
}

/* Returns the value of an option given as "--opt=value", "--opt value", "-o value". */
static const char *opt_value(int argc, char **argv, int *i, const char *arg, size_t name_len)
{
    if (arg[name_len] == '=')
        return arg + name_len + 1;
    if (*i + 1 >= argc)
        return NULL;
    (*i)++;
    return argv[*i];
}

static bool opt_is(const char *arg, const char *name, size_t *len)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && (arg[n] == 0 || arg[n] == '=')) {
        *len = n;
        return true;
    }
    return false;
}

static int parse_placeholder(scan_opts *o, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || o->n_ph >= MAX_PLACEHOLDERS)
        return VIGIE_INVAL;
    vg_placeholder *p = &o->ph[o->n_ph++];
    p->name = strndup(spec, (size_t)(eq - spec));
    uint32_t n = 1;
    for (const char *s = eq + 1; *s; s++)
        n += *s == ',';
    const char **vals = calloc(n, sizeof *vals);
    if (!p->name || !vals)
        return VIGIE_NOMEM;
    const char *s = eq + 1;
    for (uint32_t k = 0; k < n; k++) {
        const char *c = strchr(s, ',');
        size_t l = c ? (size_t)(c - s) : strlen(s);
        vals[k] = strndup(s, l);
        s = c ? c + 1 : s + l;
    }
    p->values = vals;
    p->n_values = n;
    return VIGIE_OK;
}

/* "Mon-Fri 00-09", "Sat,Sun 22-24": days (ranges or lists) then UTC hours [h0, h1). */
static int parse_actor_hours(vg_sess_opts *so, const char *spec)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    uint32_t mask = 0;
    const char *p = spec;
    int prev = -1;
    bool range = false;
    while (*p && *p != ' ') {
        int d = -1;
        for (int k = 0; k < 7 && strnlen(p, 3) == 3; k++)
            if (vg__ascii_ieq(p, 3, days[k], 3))
                d = k;
        if (d < 0)
            return -1;
        p += 3;
        if (range && prev >= 0) {
            for (int k = prev; k != d; k = (k + 1) % 7)
                mask |= 1u << k;
        }
        mask |= 1u << d;
        range = *p == '-';
        prev = d;
        if (*p == '-' || *p == ',')
            p++;
    }
    int h0, h1, n = 0;
    if (!mask || sscanf(p, " %d-%d%n", &h0, &h1, &n) != 2 || p[n] || h0 < 0 || h1 > 24 ||
        h0 >= h1)
        return -1;
    so->actor_days = mask;
    so->actor_h0 = h0;
    so->actor_h1 = h1;
    return 0;
}

static int parse_opts(scan_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = nproc > 0 ? (int)nproc : 1;
    o->indicator_margin_days = 7;
    o->lateness_s = 3600;
    o->argc = argc;
    o->argv = argv;
    o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs);
    if (!o->inputs)
        return VG_EXIT_USAGE;
    bool only_inputs = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t nl;
        const char *v;
        if (only_inputs || a[0] != '-' || strcmp(a, "-") == 0) {
            o->inputs[o->n_inputs++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_inputs = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            scan_usage(stdout);
            return -1;
        } else if (opt_is(a, "-r", &nl) || opt_is(a, "--rules", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)) || o->n_rule_paths >= MAX_RULE_PATHS)
                goto missing;
            o->rule_paths[o->n_rule_paths++] = v;
        } else if (opt_is(a, "-o", &nl) || opt_is(a, "--output", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->out_path = v;
        } else if (opt_is(a, "--format", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            if (strcmp(v, "jsonl") == 0 || strcmp(v, "json") == 0)
                o->format = FMT_JSONL;
            else if (strcmp(v, "csv") == 0)
                o->format = FMT_CSV;
            else if (strcmp(v, "table") == 0)
                o->format = FMT_TABLE;
            else {
                fprintf(stderr, "vigie: error: unknown format '%s' (jsonl, csv, table)\n", v);
                return VG_EXIT_USAGE;
            }
        } else if (opt_is(a, "-j", &nl) || opt_is(a, "--threads", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 256) {
                fprintf(stderr, "vigie: error: -j wants a number from 1 to 256\n");
                return VG_EXIT_USAGE;
            }
            o->threads = (int)n;
        } else if (strncmp(a, "-j", 2) == 0 && a[2] >= '0' && a[2] <= '9') {
            o->threads = atoi(a + 2) > 0 ? atoi(a + 2) : 1;
        } else if (opt_is(a, "--logsource", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            if (strcmp(v, "all") != 0) {
                fprintf(stderr, "vigie: error: --logsource takes 'all'\n");
                return VG_EXIT_USAGE;
            }
            o->logsource_all = true;
        } else if (opt_is(a, "--summary-json", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->summary_path = v;
        } else if (opt_is(a, "--baseline", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->baseline_path = v;
        } else if (opt_is(a, "--jwks", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)) || o->n_jwks >= 32)
                goto missing;
            const char *eq = strrchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                fprintf(stderr, "vigie: error: --jwks wants ISSUER=FILE\n");
                return VG_EXIT_USAGE;
            }
            o->jwks[o->n_jwks][0] = strndup(v, (size_t)(eq - v));
            o->jwks[o->n_jwks++][1] = eq + 1;
        } else if (opt_is(a, "--indicators", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)) || o->n_indicator_paths >= 32)
                goto missing;
            o->indicator_paths[o->n_indicator_paths++] = v;
        } else if (opt_is(a, "--indicator-margin", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            char *end;
            o->indicator_margin_days = strtod(v, &end);
            if (*end || o->indicator_margin_days < 0) {
                fprintf(stderr, "vigie: error: --indicator-margin takes a number of days\n");
                return VG_EXIT_USAGE;
            }
        } else if (opt_is(a, "--signin-window", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            char *end;
            double h = strtod(v, &end);
            if (*end || h <= 0) {
                fprintf(stderr, "vigie: error: --signin-window takes a number of hours\n");
                return VG_EXIT_USAGE;
            }
            o->sess.signin_window_s = h * 3600;
        } else if (opt_is(a, "--actor-hours", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            if (parse_actor_hours(&o->sess, v)) {
                fprintf(stderr, "vigie: error: --actor-hours wants DAYS HH-HH in UTC, e.g. "
                                "\"Mon-Fri 00-09\"\n");
                return VG_EXIT_USAGE;
            }
        } else if (opt_is(a, "--campaigns", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->campaigns_path = v;
        } else if (opt_is(a, "--asn-db", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->asn_db = v;
        } else if (opt_is(a, "--db", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->db_path = v;
        } else if (opt_is(a, "--ledger", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->ledger_dir = v;
        } else if (opt_is(a, "--key", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->key_prefix = v;
        } else if (opt_is(a, "--time-field", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->time_field = v;
        } else if (opt_is(a, "--lateness", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            char *end;
            o->lateness_s = strtod(v, &end);
            if (*end || o->lateness_s < 0) {
                fprintf(stderr, "vigie: error: --lateness takes a number of seconds\n");
                return VG_EXIT_USAGE;
            }
        } else if (strcmp(a, "--no-combined") == 0) {
            o->no_combined = true;
        } else if (strcmp(a, "--builtin-indicators") == 0) {
            o->builtin_indicators = true;
        } else if (opt_is(a, "-p", &nl) || opt_is(a, "--placeholder", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            if (parse_placeholder(o, v)) {
                fprintf(stderr, "vigie: error: --placeholder wants NAME=V1[,V2...]\n");
                return VG_EXIT_USAGE;
            }
        } else if (strcmp(a, "--fail-on-alert") == 0) {
            o->fail_on_alert = true;
        } else if (strcmp(a, "--no-progress") == 0) {
            o->no_progress = true;
        } else if (strcmp(a, "--no-prefilter") == 0) {
            o->no_prefilter = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            vg__cli_quiet = 1;
        } else {
            fprintf(stderr, "vigie: error: unknown option '%s'\n", a);
            scan_usage(stderr);
            return VG_EXIT_USAGE;
        }
        continue;
    missing:
        fprintf(stderr, "vigie: error: option '%s' needs a value\n", a);
        return VG_EXIT_USAGE;
    }
    if (o->n_inputs == 0) {
        fprintf(stderr, "vigie: error: no input (give files, directories or - for stdin)\n");
        scan_usage(stderr);
        return VG_EXIT_USAGE;
    }
    return VG_EXIT_OK;
}

/* ---- alert formatting ---------------------------------------------------------------------- */

static int level_index(const char *lv)
{
    if (!lv)
        return LV_OTHER;
    for (int i = 0; i < LV_OTHER; i++)
        if (strcmp(lv, level_names[i]) == 0)
            return i;
    return LV_OTHER;
}

static void add_json_str_or_null(vg_buf *o, const char *s, size_t n)
{
    if (!s) {
        vg__buf_add(o, "null", 4);
        return;
    }
    vg__buf_addc(o, '"');
    vg__buf_add_json_str(o, s, n);
    vg__buf_addc(o, '"');
}

static void add_csv_cell(vg_buf *o, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = true;
    if (!quote) {
        vg__buf_add(o, s, n);
        return;
    }
    vg__buf_addc(o, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            vg__buf_addc(o, '"');
        vg__buf_addc(o, s[i]);
    }
    vg__buf_addc(o, '"');
}

/* The first value of a field on the current event, as text, appended to out ("-" when
 * absent); the same resolution (field map, first present path) the matcher uses. */
typedef struct first_val {
    vg_buf *out;
    vg_buf tmp;
    bool found;
} first_val;

static int first_val_cb(void *ud, const vg_jval *v)
{
    first_val *f = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    uint32_t tok = v->tok;
    if (k->type == VG_J_ARRAY && k->len)
        tok++, k = &v->tape->tok[tok];
    size_t l = 0;
    const char *s = NULL;
    if (k->type == VG_J_STRING)
        s = vg__json_str(v->tape, tok, &f->tmp, &l);
    else if (k->type == VG_J_NUMBER || k->type == VG_J_TRUE || k->type == VG_J_FALSE)
        s = v->tape->src + k->off, l = k->len;
    if (!s)
        return 0;
    vg__buf_add(f->out, s, l);
    f->found = true;
    return 1;
}

static void field_text(worker *w, const vg_eventinfo *ei, const char *field, vg_buf *out)
{
    uint32_t n = 1;
    const char *const *paths = w->c->fmap ? vg__fieldmap_paths(w->c->fmap, ei->map_id, field, &n)
                                          : &field;
    first_val f = {out, {0}, false};
    vg__buf_init(&f.tmp, 0);
    for (uint32_t i = 0; i < n && !f.found; i++)
        vg__json_path_each(&w->tape, 0, paths[i], strlen(paths[i]), w->js, first_val_cb, &f);
    w->ftext_found = f.found;
    if (!f.found)
        vg__buf_addc(out, '-');
    vg__buf_free(&f.tmp);
}

/* Record a first-seen candidate: group and term of the event for the rule. */
static bool nt_pending(worker *w, batch *b, uint32_t ri, const vg_rule *rule,
                       const vg_eventinfo *ei)
{
    if (b->n_pend == b->cap_pend) {
        uint32_t nc = b->cap_pend ? b->cap_pend * 2 : 64;
        struct pending *np = realloc(b->pend, nc * sizeof *np);
        if (!np)
            return false;
        b->pend = np;
        b->cap_pend = nc;
    }
    struct pending *p = &b->pend[b->n_pend++];
    p->rule = ri;
    p->t = ei->has_time ? ei->time : 0;
    p->strs = b->nt_strs.len;
    if (rule->n_nt_group == 0) {
        if (ei->tenant)
            vg__buf_add(&b->nt_strs, ei->tenant, ei->tenant_len);
        else
            vg__buf_addc(&b->nt_strs, '-');
    }
    for (uint32_t i = 0; i < rule->n_nt_group; i++) {
        if (i)
            vg__buf_addc(&b->nt_strs, '|');
        field_text(w, ei, rule->nt_group[i], &b->nt_strs);
    }
    vg__buf_addc(&b->nt_strs, 0);
    for (uint32_t i = 0; i < rule->n_nt_fields; i++) {
        if (i)
            vg__buf_addc(&b->nt_strs, '|');
        field_text(w, ei, rule->nt_fields[i], &b->nt_strs);
    }
    vg__buf_addc(&b->nt_strs, 0);
    return true;
}

/* What a mail-access record says was read: distinct InternetMessageIds, the summed
 * OperationCount, the folder paths (MailItemsAccessed; any shape, through the field map).
 * Computed once per record into the worker (mr_json for alerts, hashes for sessions). */
typedef struct mr_ctx {
    worker *w;
    vg_buf *tmp;
    vg_buf *folders;
} mr_ctx;

static uint64_t hash64(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h ? h : 1;
}

static int mr_id_cb(void *ud, const vg_jval *v)
{
    mr_ctx *x = ud;
    worker *w = x->w;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING)
        return 0;
    size_t l;
    const char *s = vg__json_str(v->tape, v->tok, x->tmp, &l);
    uint64_t h = hash64(s, l);
    for (uint32_t i = 0; i < w->n_mh; i++)
        if (w->mh[i] == h)
            return 0;
    if (w->n_mh == w->cap_mh) {
        uint32_t nc = w->cap_mh ? w->cap_mh * 2 : 256;
        uint64_t *n = realloc(w->mh, nc * sizeof *n);
        if (!n)
            return 0;
        w->mh = n;
        w->cap_mh = nc;
    }
    w->mh[w->n_mh++] = h;
    return 0;
}

static int mr_ops_cb(void *ud, const vg_jval *v)
{
    mr_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    double d;
    if ((k->type == VG_J_NUMBER || k->type == VG_J_STRING) &&
        vg__json_number(v->tape->src + k->off, k->len, &d) == VIGIE_OK)
        x->w->mops += d;
    return 0;
}

static int mr_folder_cb(void *ud, const vg_jval *v)
{
    mr_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || x->w->n_mfolders >= 32)
        return 0;
    size_t l;
    const char *s = vg__json_str(v->tape, v->tok, x->tmp, &l);
    vg__buf_adds(x->folders, x->w->n_mfolders ? ",\"" : "\"");
    vg__buf_add_json_str(x->folders, s, l);
    vg__buf_addc(x->folders, '"');
    vg__buf_add(&x->w->mfolders, s, l);
    vg__buf_addc(&x->w->mfolders, 0);
    x->w->n_mfolders++;
    return 0;
}

static void each_field(worker *w, const vg_eventinfo *ei, const char *field, vg_jval_fn fn,
                       void *ud)
{
    uint32_t n = 1;
    const char *const *paths = w->c->fmap ? vg__fieldmap_paths(w->c->fmap, ei->map_id, field, &n)
                                          : &field;
    for (uint32_t i = 0; i < n; i++)
        vg__json_path_each(&w->tape, 0, paths[i], strlen(paths[i]), w->js, fn, ud);
}

/* Whether the record is a mailbox read (MailItemsAccessed), once per record. */
static bool is_mail(worker *w, const vg_eventinfo *ei)
{
    if (w->mail_ok)
        return w->is_mail;
    w->mail_ok = true;
    w->is_mail = false;
    w->mdet_ok = false;
    if (!ei->product || strcmp(ei->product, "m365") != 0)
        return false;
    vg_buf *op = &w->ftext;
    vg__buf_reset(op);
    field_text(w, ei, "Operation", op);
    w->is_mail = op->data && strcmp(op->data, "MailItemsAccessed") == 0;
    return w->is_mail;
}

/* A mailbox read and what it read (message ids, operations, folders), once per record. */
static bool ensure_mail(worker *w, const vg_eventinfo *ei)
{
    if (!is_mail(w, ei))
        return false;
    if (w->mdet_ok)
        return true;
    w->mdet_ok = true;
    w->n_mh = 0;
    w->mops = 0;
    w->n_mfolders = 0;
    vg__buf_reset(&w->mr_json);
    vg__buf_reset(&w->mfolders);
    vg_buf folders, tmp;
    vg__buf_init(&folders, 0);
    vg__buf_init(&tmp, 0);
    mr_ctx x = {w, &tmp, &folders};
    each_field(w, ei, "Folders.FolderItems.InternetMessageId", mr_id_cb, &x);
    each_field(w, ei, "OperationCount", mr_ops_cb, &x);
    each_field(w, ei, "Folders.Path", mr_folder_cb, &x);
    vg__buf_printf(&w->mr_json, ",\"messages_read\":{\"internet_message_ids\":%u,"
                                "\"operation_count\":%.0f,\"folders\":[%s]}",
                   w->n_mh, w->mops, folders.data ? folders.data : "");
    vg__buf_free(&folders);
    vg__buf_free(&tmp);
    return true;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* SHA-256 of the record exactly as the reader returned it (the ledger hashes the same). */
static void ensure_sha(worker *w)
{
    if (w->sha_ok)
        return;
    SHA256((const unsigned char *)w->b->data.data + w->r->off, w->r->len, w->sha);
    hex(w->sha, 32, w->sha_hex);
    w->sha_ok = true;
}

/* Stable alert id: the same alert on the same record gives the same id in any run. */
static void alert_id(const char *const *parts, int n, char out[33])
{
    vg_buf k;
    uint8_t d[32];
    vg__buf_init(&k, 0);
    for (int i = 0; i < n; i++) {
        vg__buf_adds(&k, parts[i] ? parts[i] : "");
        vg__buf_addc(&k, 0);
    }
    SHA256((const unsigned char *)k.data, k.len, d);
    vg__buf_free(&k);
    hex(d, 16, out);
}

/* Remember a signal (an alert) raised on the current record, for its session. */
static int32_t push_signal(worker *w, const char *name, const char *kind, const char *rule,
                           const char *level, const char *id)
{
    batch *b = w->b;
    if (b->n_sigs == b->cap_sigs) {
        uint32_t nc = b->cap_sigs ? b->cap_sigs * 2 : 256;
        struct rsig *n = realloc(b->sigs, nc * sizeof *n);
        if (!n)
            return -1;
        b->sigs = n;
        b->cap_sigs = nc;
    }
    struct rsig *g = &b->sigs[b->n_sigs];
    g->strs = b->sf_strs.len;
    g->pend = -1;
    const char *v[5] = {name, kind, rule, level, id};
    for (int i = 0; i < 5; i++) {
        vg__buf_adds(&b->sf_strs, v[i] ? v[i] : "");
        vg__buf_addc(&b->sf_strs, 0);
    }
    return (int32_t)b->n_sigs++;
}

/* Format one alert for the current record into the batch output. `kind` is "sigma",
 * "new_term", "indicator" or "token"; `extra` holds more JSON members (",\"x\":...") or is
 * NULL; `signal` names it among the signals of its session. Returns the signal's index. */
static int32_t format_alert(worker *w, const char *rid, const char *title, const char *level,
                            const char *const *tags, uint32_t n_tags, const char *kind,
                            const char *extra, const char *signal)
{
    scan_ctx *c = w->c;
    batch *b = w->b;
    const rec_ref *r = w->r;
    const vg_eventinfo *ei = w->ei;
    vg_buf *o = &b->out;
    const char *file = c->in.paths[r->file];
    char tbuf[40];
    if (ei->has_time)
        vg__format_time(ei->time, tbuf, sizeof tbuf);
    struct {
        const char *id, *title, *level;
        const char *const *tags;
        uint32_t n_tags;
    } rv = {rid, title, level, tags, n_tags}, *rule = &rv;
    ensure_sha(w);
    char id[33];
    char tenant[256];
    snprintf(tenant, sizeof tenant, "%.*s", ei->tenant ? (int)ei->tenant_len : 0,
             ei->tenant ? ei->tenant : "");
    const char *parts[] = {kind, rid, tenant, w->sha_hex, extra};
    alert_id(parts, 5, id);
    int32_t si = push_signal(w, signal ? signal : rid, kind, rid, level, id);
    switch (c->o->format) {
    case FMT_JSONL: {
        vg__buf_printf(o, "{\"id\":\"%s\",\"rule\":{\"id\":", id);
        add_json_str_or_null(o, rule->id, rule->id ? strlen(rule->id) : 0);
        vg__buf_adds(o, ",\"title\":");
        add_json_str_or_null(o, rule->title, rule->title ? strlen(rule->title) : 0);
        vg__buf_adds(o, ",\"level\":");
        add_json_str_or_null(o, rule->level, rule->level ? strlen(rule->level) : 0);
        vg__buf_adds(o, ",\"tags\":[");
        for (uint32_t k = 0; k < rule->n_tags; k++) {
            if (k)
                vg__buf_addc(o, ',');
            add_json_str_or_null(o, rule->tags[k], strlen(rule->tags[k]));
        }
        vg__buf_printf(o, "]},\"kind\":\"%s\"", kind);
        if (extra && *extra)
            vg__buf_adds(o, extra);
        vg__buf_adds(o, ",\"tenant\":");
        add_json_str_or_null(o, ei->tenant, ei->tenant_len);
        vg__buf_adds(o, ",\"time\":");
        if (ei->has_time)
            add_json_str_or_null(o, tbuf, strlen(tbuf));
        else
            vg__buf_adds(o, "null");
        vg__buf_adds(o, ",\"source\":{\"file\":");
        add_json_str_or_null(o, file, strlen(file));
        vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"%s\"},"
                          "\"shape\":\"%s\",\"event\":",
                       (unsigned long long)r->line, (unsigned long long)r->index,
                       (unsigned long long)r->offset, w->sha_hex, vg__shape_name(ei->shape));
        /* the record as read, on one line: raw newlines can only be JSON whitespace */
        size_t start = o->len;
        size_t begin = w->tape.tok[0].off; /* the root object's '{' */
        const char *src = w->tape.src;
        size_t last = w->tape.src_len;
        while (last > begin && (src[last - 1] == ' ' || src[last - 1] == '\n' ||
                                src[last - 1] == '\r' || src[last - 1] == '\t'))
            last--;
        if (w->redact_len && w->redact_off >= begin && w->redact_off + w->redact_len <= last) {
            vg__buf_add(o, src + begin, w->redact_off - begin);
            vg__buf_adds(o, w->redact_with);
            vg__buf_add(o, src + w->redact_off + w->redact_len,
                        last - w->redact_off - w->redact_len);
        } else {
            vg__buf_add(o, src + begin, last - begin);
        }
        for (size_t k = start; k < o->len; k++)
            if (o->data[k] == '\n' || o->data[k] == '\r')
                o->data[k] = ' ';
        vg__buf_adds(o, "}\n");
        break;
    }
    case FMT_CSV: {
        if (ei->has_time)
            vg__buf_adds(o, tbuf);
        vg__buf_addc(o, ',');
        if (rule->level)
            vg__buf_adds(o, rule->level);
        vg__buf_addc(o, ',');
        if (rule->id)
            add_csv_cell(o, rule->id, strlen(rule->id));
        vg__buf_addc(o, ',');
        if (rule->title)
            add_csv_cell(o, rule->title, strlen(rule->title));
        vg__buf_addc(o, ',');
        if (ei->tenant)
            add_csv_cell(o, ei->tenant, ei->tenant_len);
        vg__buf_addc(o, ',');
        add_csv_cell(o, file, strlen(file));
        vg__buf_printf(o, ",%llu,%llu\n", (unsigned long long)r->line,
                       (unsigned long long)r->offset);
        break;
    }
    default: {
        char src[64];
        const char *base = strrchr(file, '/');
        base = base ? base + 1 : file;
        snprintf(src, sizeof src, "%.48s:%llu", base, (unsigned long long)r->line);
        vg__buf_printf(o, "%-24s  %-13s  %-60.60s  %-36.*s  %s\n", ei->has_time ? tbuf : "-",
                       rule->level ? rule->level : "-", rule->title ? rule->title : "-",
                       ei->tenant ? (int)(ei->tenant_len > 36 ? 36 : ei->tenant_len) : 1,
                       ei->tenant ? ei->tenant : "-", src);
    }
    }
    return si;
}

/* A match of a rule that correlations refer to: its time, its would-be alert id and the
 * values of the fields its correlations read, for the writer. */
static void corr_fact(worker *w, uint32_t ri, const vg_rule *rule)
{
    scan_ctx *c = w->c;
    batch *b = w->b;
    const vg_eventinfo *ei = w->ei;
    if (b->n_cf == b->cap_cf) {
        uint32_t nc = b->cap_cf ? b->cap_cf * 2 : 64;
        struct cfact *n = realloc(b->cf, nc * sizeof *n);
        if (!n)
            return;
        b->cf = n;
        b->cap_cf = nc;
    }
    struct cfact *f = &b->cf[b->n_cf++];
    f->rule = ri;
    f->rec = (uint32_t)(w->r - b->recs);
    f->t = ei->has_time ? ei->time : NAN;
    ensure_sha(w);
    char tenant[256];
    snprintf(tenant, sizeof tenant, "%.*s", ei->tenant ? (int)ei->tenant_len : 0,
             ei->tenant ? ei->tenant : "");
    const char *parts[] = {"sigma", rule->id ? rule->id : rule->title, tenant, w->sha_hex, ""};
    alert_id(parts, 5, f->id);
    snprintf(f->tenant, sizeof f->tenant, "%.63s", tenant);
    f->strs = b->sf_strs.len;
    f->n_vals = 0;
    for (const char **fl = c->corr_fields[ri]; *fl; fl++) {
        vg_buf *o = &b->sf_strs;
        size_t at = o->len;
        vg__buf_adds(o, *fl);
        vg__buf_addc(o, 0);
        field_text(w, ei, *fl, o);
        if (!w->ftext_found) {
            o->len = at; /* absent */
            continue;
        }
        vg__buf_addc(o, 0);
        f->n_vals++;
    }
}

static int on_match(void *ud, uint32_t ri)
{
    worker *w = ud;
    scan_ctx *c = w->c;
    batch *b = w->b;
    const vg_eventinfo *ei = w->ei;
    const vg_rule *rule = vg__ruleset_rule(c->rs, ri);
    if (c->corr_fields && c->corr_fields[ri])
        corr_fact(w, ri, rule);
    if (c->corr_quiet && c->corr_quiet[ri]) {
        w->hits[ri]++;
        return 0; /* referenced by a correlation without generate: no alert of its own */
    }
    vg_buf *o = &b->out;
    bool nt = rule->n_nt_fields > 0;
    size_t out_start = o->len;
    vg__buf_reset(&w->extra);
    if (nt) {
        if (!nt_pending(w, b, ri, rule, ei))
            return 0;
        const char *g = b->nt_strs.data + b->pend[b->n_pend - 1].strs;
        const char *tm = g + strlen(g) + 1;
        vg__buf_adds(&w->extra, ",\"new_term\":{\"group\":");
        add_json_str_or_null(&w->extra, g, strlen(g));
        vg__buf_adds(&w->extra, ",\"term\":");
        add_json_str_or_null(&w->extra, tm, strlen(tm));
        vg__buf_adds(&w->extra, ",\"fields\":[");
        for (uint32_t k = 0; k < rule->n_nt_fields; k++) {
            if (k)
                vg__buf_addc(&w->extra, ',');
            add_json_str_or_null(&w->extra, rule->nt_fields[k], strlen(rule->nt_fields[k]));
        }
        vg__buf_adds(&w->extra, "]}");
    } else {
        w->hits[ri]++;
        b->alerts++;
        b->by_level[c->rule_level[ri]]++;
    }
    if (ensure_mail(w, ei))
        vg__buf_adds(&w->extra, w->mr_json.data);
    int32_t si = format_alert(w, rule->id, rule->title, rule->level, rule->tags, rule->n_tags,
                              nt ? "new_term" : "sigma", w->extra.data,
                              rule->name ? rule->name : rule->id ? rule->id : rule->title);
    if (nt) {
        b->pend[b->n_pend - 1].out_start = out_start;
        b->pend[b->n_pend - 1].out_end = o->len;
        if (si >= 0)
            b->sigs[si].pend = (int32_t)(b->n_pend - 1);
    }
    return 0;
}

/* Address fields an indicator is looked for in (resolved through the event's field map). */
static const char *const ip_fields[] = {"ClientIP", "ClientIPAddress", "IPAddress",
                                        "callerIpAddress", "sourceIPAddress", "client_ip",
                                        "ipAddress"};

typedef struct ip_ctx {
    worker *w;
    batch *b;
    const vg_eventinfo *ei;
    char seen[8][48];
    int n_seen;
    bool ua; /* user-agent fields */
    vg_buf tmp;
} ip_ctx;

static void indicator_alert(ip_ctx *x, const vg_indicator_hit *hp, const char *type)
{
    vg_indicator_hit h = *hp;
    char title[256];
    snprintf(title, sizeof title, "%s of %s%s%s%s",
             x->ua ? "User agent" : "Activity from an address", h.set_name,
             h.role ? " (" : "", h.role ? h.role : "", h.role ? ")" : "");
    char id[160];
    snprintf(id, sizeof id, "indicator:%s", h.set_id);
    vg_buf *e = &x->w->extra;
    vg__buf_reset(e);
    vg__buf_printf(e, ",\"indicator\":{\"type\":\"%s\",\"value\":", type);
    add_json_str_or_null(e, h.value, strlen(h.value));
    vg__buf_adds(e, ",\"first_seen\":");
    add_json_str_or_null(e, h.first_seen, h.first_seen ? strlen(h.first_seen) : 0);
    vg__buf_adds(e, ",\"last_seen\":");
    add_json_str_or_null(e, h.last_seen, h.last_seen ? strlen(h.last_seen) : 0);
    vg__buf_adds(e, ",\"role\":");
    add_json_str_or_null(e, h.role, h.role ? strlen(h.role) : 0);
    vg__buf_adds(e, ",\"set\":");
    add_json_str_or_null(e, h.set_id, strlen(h.set_id));
    vg__buf_adds(e, "}");
    format_alert(x->w, id, title, h.level, h.tags, h.n_tags, "indicator", e->data, id);
    x->b->alerts++;
    x->b->by_level[level_index(h.level)]++;
    x->b->ind_hits++;
}

static int ua_cb(void *ud, const vg_jval *v)
{
    ip_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || !x->ei->has_time || x->n_seen >= 8)
        return 0;
    size_t l;
    const char *s = vg__json_str(v->tape, v->tok, &x->tmp, &l);
    vg_indicator_hit h;
    if (!vg__indicators_match_ua(x->w->c->ind, s, l, x->ei->time, &h))
        return 0;
    /* one alert per indicator and record, however many fields hold the same string */
    for (int i = 0; i < x->n_seen; i++)
        if (!strncmp(x->seen[i], h.value, sizeof x->seen[i] - 1))
            return 0;
    snprintf(x->seen[x->n_seen++], sizeof x->seen[0], "%s", h.value);
    indicator_alert(x, &h, "user_agent");
    return 0;
}

static int ip_cb(void *ud, const vg_jval *v)
{
    ip_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || k->esc || k->len >= 48 || !x->ei->has_time)
        return 0;
    const char *s = v->tape->src + k->off;
    for (int i = 0; i < x->n_seen; i++)
        if (strlen(x->seen[i]) == k->len && !memcmp(x->seen[i], s, k->len))
            return 0;
    if (x->n_seen < 8) {
        memcpy(x->seen[x->n_seen], s, k->len);
        x->seen[x->n_seen++][k->len] = 0;
    }
    vg_indicator_hit h;
    if (vg__indicators_match_ip(x->w->c->ind, s, k->len, x->ei->time, &h))
        indicator_alert(x, &h, "ip");
    return 0;
}

/* Indicators with time windows on the event's address fields. */
static void match_indicators(worker *w, batch *b, const vg_eventinfo *ei)
{
    static const char *const ua_fields[] = {"UserAgent", "userAgent", "user_agent",
                                            "ClientInfoString", "http_user_agent"};
    ip_ctx x;
    memset(&x, 0, sizeof x);
    x.w = w;
    x.b = b;
    x.ei = ei;
    for (size_t f = 0; f < VG_ARRAY_LEN(ip_fields); f++) {
        uint32_t n = 1;
        const char *const *paths = vg__fieldmap_paths(w->c->fmap, ei->map_id, ip_fields[f], &n);
        for (uint32_t i = 0; i < n; i++)
            vg__json_path_each(&w->tape, 0, paths[i], strlen(paths[i]), w->js, ip_cb, &x);
    }
    if (!vg__indicators_has_ua(w->c->ind))
        return;
    x.ua = true;
    x.n_seen = 0;
    vg__buf_init(&x.tmp, 0);
    for (size_t f = 0; f < VG_ARRAY_LEN(ua_fields); f++) {
        uint32_t n = 1;
        const char *const *paths = vg__fieldmap_paths(w->c->fmap, ei->map_id, ua_fields[f], &n);
        for (uint32_t i = 0; i < n; i++)
            vg__json_path_each(&w->tape, 0, paths[i], strlen(paths[i]), w->js, ua_cb, &x);
    }
    vg__buf_free(&x.tmp);
}

/* Fields that may carry a bearer token. */
static const char *const token_fields[] = {"authorization", "headers.authorization",
                                           "access_token", "id_token", "token"};

typedef struct tok_ctx {
    worker *w;
    batch *b;
    vg_eventinfo *ei;
    int n;
} tok_ctx;

static int tok_cb(void *ud, const vg_jval *v)
{
    tok_ctx *x = ud;
    const vg_jtok *k = &v->tape->tok[v->tok];
    if (k->type != VG_J_STRING || k->esc || v->tape != &x->w->tape || x->n++ > 4)
        return 0;
    const char *s = v->tape->src + k->off;
    size_t n = k->len;
    if (n > 7 && vg__ascii_ieq(s, 7, "Bearer ", 7)) {
        s += 7;
        n -= 7;
    }
    vg_jwt_result r;
    vg__jwt_check(x->w->c->keys, s, n, &r);
    if (r.verdict == VG_JWT_OK || r.verdict == VG_JWT_NOT_JWT || r.verdict == VG_JWT_NO_KEYSET)
        return 0;
    static const char *const titles[] = {
        "", "", "", "Bearer token with alg none", "Bearer token with an algorithm its issuer does not use",
        "Bearer token signed with a known-compromised key",
        "Bearer token signed with another issuer's key", "Bearer token signed with an unknown key",
        "Bearer token with an invalid signature"};
    const char *level = r.verdict == VG_JWT_KEY_OTHER_ISSUER ? "critical"
                        : r.verdict == VG_JWT_KEY_UNKNOWN    ? "medium"
                                                             : "high";
    static const char *const tags[] = {"attack.credential-access", "attack.t1606.002"};
    vg_buf *e = &x->w->extra;
    vg__buf_reset(e);
    vg__buf_printf(e, ",\"token\":{\"fingerprint\":\"sha256:%s\",\"verdict\":\"%s\",\"alg\":",
                   r.fingerprint, vg__jwt_verdict_name(r.verdict));
    add_json_str_or_null(e, r.alg, strlen(r.alg));
    vg__buf_adds(e, ",\"kid\":");
    add_json_str_or_null(e, r.kid, strlen(r.kid));
    vg__buf_adds(e, ",\"issuer\":");
    add_json_str_or_null(e, r.issuer, strlen(r.issuer));
    vg__buf_adds(e, ",\"key_issuer\":");
    add_json_str_or_null(e, r.key_issuer[0] ? r.key_issuer : NULL, strlen(r.key_issuer));
    vg__buf_printf(e, ",\"compromised_key\":%s}", r.compromised ? "true" : "false");
    /* a log that names no tenant (an application's gateway): the tenant is the one the token
     * claims, from its issuer (https://login.microsoftonline.com/<tenant>/v2.0) */
    if (!x->ei->tenant) {
        const char *p = strstr(r.issuer, "://");
        p = p ? strchr(p + 3, '/') : NULL;
        const char *pe = p ? strchr(p + 1, '/') : NULL;
        size_t l = p ? (pe ? (size_t)(pe - p - 1) : strlen(p + 1)) : 0;
        if (l && l < sizeof x->w->tok_tenant) {
            memcpy(x->w->tok_tenant, p + 1, l);
            x->w->tok_tenant[l] = 0;
            x->ei->tenant = x->w->tok_tenant;
            x->ei->tenant_len = l;
        }
    }
    /* the token itself never leaves: the event is written with it replaced */
    x->w->redact_off = k->off;
    x->w->redact_len = k->len;
    snprintf(x->w->redact_with, sizeof x->w->redact_with, "<redacted sha256:%s>", r.fingerprint);
    char id[64];
    snprintf(id, sizeof id, "token:%s", vg__jwt_verdict_name(r.verdict));
    format_alert(x->w, id, titles[r.verdict], level, tags, 2, "token", e->data, id);
    x->w->redact_len = 0;
    x->b->alerts++;
    x->b->by_level[level_index(level)]++;
    x->b->token_findings++;
    return 0;
}

static void match_tokens(worker *w, batch *b, vg_eventinfo *ei)
{
    tok_ctx x = {w, b, ei, 0};
    for (size_t f = 0; f < VG_ARRAY_LEN(token_fields); f++) {
        uint32_t n = 1;
        const char *const *paths = vg__fieldmap_paths(w->c->fmap, ei->map_id, token_fields[f], &n);
        for (uint32_t i = 0; i < n; i++)
            vg__json_path_each(&w->tape, 0, paths[i], strlen(paths[i]), w->js, tok_cb, &x);
    }
}

static void write_out(scan_ctx *c, const char *p, size_t n);

#define VIS_DAYS 3660
#define VIS_GAP_DAYS 3 /* a run of days without mailbox audit records worth reporting */

/* Record the visibility facts of a mailbox read (worker side). */
static void mail_fact(worker *w, batch *b, const vg_eventinfo *ei)
{
    if (!is_mail(w, ei))
        return;
    vg_buf *vp = &w->ftext;
    if (b->n_facts == b->cap_facts) {
        uint32_t nc = b->cap_facts ? b->cap_facts * 2 : 256;
        struct mfact *nf = realloc(b->facts, nc * sizeof *nf);
        if (!nf)
            return;
        b->facts = nf;
        b->cap_facts = nc;
    }
    struct mfact *f = &b->facts[b->n_facts++];
    snprintf(f->tenant, sizeof f->tenant, "%.*s", ei->tenant ? (int)ei->tenant_len : 1,
             ei->tenant ? ei->tenant : "-");
    f->t = ei->time;
    f->has_time = ei->has_time;
    vg__buf_reset(vp);
    field_text(w, ei, "OperationProperties.IsThrottled", vp);
    f->throttled = vp->data && vg__ascii_ieq(vp->data, vp->len, "true", 4);
    if (w->linkable_ok) { /* record_fact read the identifiers already */
        f->linkable = w->linkable;
        return;
    }
    vg__buf_reset(vp);
    field_text(w, ei, "AppAccessContext.UniqueTokenId", vp);
    bool tok = vp->data && strcmp(vp->data, "-") != 0;
    vg__buf_reset(vp);
    field_text(w, ei, "SessionId", vp);
    f->linkable = tok || (vp->data && strcmp(vp->data, "-") != 0);
}

/* The first present of several fields, as text ("-" when none). */
static void first_of(worker *w, const vg_eventinfo *ei, const char *const *fields, size_t n,
                     vg_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = out->len;
        field_text(w, ei, fields[i], out);
        if (out->len != at + 1 || out->data[at] != '-')
            return;
        out->len = at;
        out->data[at] = 0;
    }
    vg__buf_addc(out, '-');
}

/* A session fact for the current record (worker side): a mailbox access, a sign-in with
 * linkable identifiers, or any record that raised an alert. The writer feeds it to the
 * session combiner in read order. */
static void record_fact(worker *w, batch *b, uint32_t ri, const vg_eventinfo *ei, bool full)
{
    static const char *const user_fields[] = {
        "MailboxOwnerUPN", "UserId", "UserPrincipalName", "userPrincipalName", "Username",
        "userIdentity.arn", "actor.alternateId", "protoPayload.authenticationInfo.principalEmail",
        "SubjectUserName"};
    static const char *const mail_session[] = {"SessionId", "AppAccessContext.AADSessionId"};
    static const char *const mail_token[] = {"AppAccessContext.UniqueTokenId"};
    static const char *const si_session[] = {"SessionId"};
    static const char *const si_token[] = {"UniqueTokenIdentifier"};
    const char *shape = vg__shape_name(ei->shape);
    bool signin = shape && !strncmp(shape, "signin", 6);
    bool mail = is_mail(w, ei);
    uint32_t n_sig = b->n_sigs - w->sig0;
    /* a mail read without an alert: only what the sign-in join needs; the writer asks for
     * the rest (record_fact with full) when the sessions keep it */
    bool lite = mail && !n_sig && !full;
    if (mail && !lite)
        ensure_mail(w, ei);
    if (!mail && !signin && !n_sig)
        return;
    if (b->n_sf == b->cap_sf) {
        uint32_t nc = b->cap_sf ? b->cap_sf * 2 : 256;
        struct sfact *n = realloc(b->sf, nc * sizeof *n);
        if (!n)
            return;
        b->sf = n;
        b->cap_sf = nc;
    }
    struct sfact *f = &b->sf[b->n_sf++];
    memset(f, 0, sizeof *f);
    f->rec = ri;
    f->sig0 = w->sig0;
    f->n_sig = n_sig;
    f->mail = mail;
    f->signin = signin;
    f->lite = lite;
    f->has_time = ei->has_time;
    f->t = ei->time;
    f->strs = b->sf_strs.len;
    vg_buf *o = &b->sf_strs;
    if (ei->tenant)
        vg__buf_add(o, ei->tenant, ei->tenant_len);
    else
        vg__buf_addc(o, '-');
    vg__buf_addc(o, 0);
    /* a mail record names its mailbox, a sign-in its user: look only where they are */
    static const char *const mail_user[] = {"MailboxOwnerUPN", "UserId"};
    static const char *const si_user[] = {"UserPrincipalName", "userPrincipalName"};
    if (mail)
        first_of(w, ei, mail_user, 2, o);
    else if (signin && !n_sig)
        vg__buf_addc(o, '-'); /* only the join reads it */
    else if (signin)
        first_of(w, ei, si_user, 2, o);
    else
        first_of(w, ei, user_fields, VG_ARRAY_LEN(user_fields), o);
    vg__buf_addc(o, 0);
    if (mail)
        first_of(w, ei, mail_session, 2, o);
    else
        first_of(w, ei, si_session, 1, o);
    vg__buf_addc(o, 0);
    if (mail)
        first_of(w, ei, mail_token, 1, o);
    else if (signin)
        first_of(w, ei, si_token, 1, o);
    else
        vg__buf_addc(o, '-');
    vg__buf_addc(o, 0);
    if (mail) {
        const char *se = o->data + f->strs;
        se += strlen(se) + 1;                /* user */
        se += strlen(se) + 1;                /* session */
        const char *tk = se + strlen(se) + 1; /* token */
        w->linkable = strcmp(se, "-") != 0 || strcmp(tk, "-") != 0;
        w->linkable_ok = true;
    }
    /* infrastructure, for campaigns */
    static const char *const ipf[] = {"ClientIPAddress", "ClientIP", "IPAddress", "ipAddress",
                                      "callerIpAddress", "sourceIPAddress", "client_ip"};
    static const char *const uaf[] = {"UserAgent", "userAgent", "user_agent", "ClientInfoString"};
    static const char *const mail_ip[] = {"ClientIPAddress", "ClientIP"};
    static const char *const mail_ua[] = {"ClientInfoString"};
    if ((signin && !n_sig) || lite) {
        /* a sign-in without an alert only feeds the join, a lite mail read only asks for it:
         * no infrastructure needed */
        vg__buf_adds(o, "-");
        vg__buf_addc(o, 0);
        vg__buf_adds(o, "-");
        vg__buf_addc(o, 0);
        vg__buf_adds(o, "-");
        vg__buf_addc(o, 0);
        goto folders;
    }
    if (mail)
        first_of(w, ei, mail_ip, 2, o);
    else
        first_of(w, ei, ipf, VG_ARRAY_LEN(ipf), o);
    vg__buf_addc(o, 0);
    {
        size_t at = o->len;
        static const char *const appf[] = {"AppId", "appId"};
        static const char *const cappf[] = {"ClientAppId"};
        first_of(w, ei, appf, 2, o);
        vg__buf_addc(o, '|');
        first_of(w, ei, cappf, 1, o);
        if (o->len - at == 3 && !memcmp(o->data + at, "-|-", 3)) {
            o->len = at;
            vg__buf_addc(o, '-');
        }
    }
    vg__buf_addc(o, 0);
    if (mail)
        first_of(w, ei, mail_ua, 1, o);
    else
        first_of(w, ei, uaf, VG_ARRAY_LEN(uaf), o);
    vg__buf_addc(o, 0);
folders:
    if (mail && !lite) {
        vg__buf_add(o, w->mfolders.data ? w->mfolders.data : "", w->mfolders.len);
        f->n_folders = w->n_mfolders;
        f->ops = w->mops;
        if (b->n_sf_msgs + w->n_mh > b->cap_sf_msgs) {
            size_t nc = (b->n_sf_msgs + w->n_mh) * 2 + 256;
            uint64_t *n = realloc(b->sf_msgs, nc * sizeof *n);
            if (n) {
                b->sf_msgs = n;
                b->cap_sf_msgs = nc;
            }
        }
        if (b->n_sf_msgs + w->n_mh <= b->cap_sf_msgs) {
            f->msg0 = b->n_sf_msgs;
            f->n_msg = w->n_mh;
            memcpy(b->sf_msgs + b->n_sf_msgs, w->mh, w->n_mh * sizeof *w->mh);
            b->n_sf_msgs += w->n_mh;
        }
        /* the user agent just read is the ClientInfoString */
        const char *ua = o->data + f->strs;
        for (int k = 0; k < 6; k++)
            ua += strlen(ua) + 1;
        f->rest = strstr(ua, "Client=REST") != NULL;
    }
    if ((mail && !lite) || n_sig) {
        ensure_sha(w);
        memcpy(f->sha, w->sha, 32);
    }
}

/* Writer side: fold a batch's facts into the per-tenant visibility table. */
static void fold_facts(scan_ctx *c, const batch *b)
{
    for (uint32_t i = 0; i < b->n_facts; i++) {
        const struct mfact *f = &b->facts[i];
        struct tvis *t = NULL;
        for (uint32_t k = 0; k < c->n_vis; k++)
            if (!strcmp(c->vis[k].tenant, f->tenant)) {
                t = &c->vis[k];
                break;
            }
        if (!t) {
            if (c->n_vis == c->cap_vis) {
                uint32_t nc = c->cap_vis ? c->cap_vis * 2 : 16;
                struct tvis *nv = realloc(c->vis, nc * sizeof *nv);
                if (!nv)
                    return;
                c->vis = nv;
                c->cap_vis = nc;
            }
            t = &c->vis[c->n_vis++];
            memset(t, 0, sizeof *t);
            snprintf(t->tenant, sizeof t->tenant, "%s", f->tenant);
            t->day0 = f->has_time ? (int64_t)(f->t / 86400) - VIS_DAYS / 2 : 0;
            t->first = 1e18;
            t->last = -1e18;
        }
        t->n++;
        t->throttled += f->throttled;
        t->linkable += f->linkable;
        if (!f->has_time)
            continue;
        if (f->t < t->first)
            t->first = f->t;
        if (f->t > t->last)
            t->last = f->t;
        int64_t d = (int64_t)(f->t / 86400) - t->day0;
        if (d >= 0 && d < VIS_DAYS) {
            if (!t->days)
                t->days = calloc(VIS_DAYS, 1);
            if (t->days)
                t->days[d] = 1;
        }
    }
}

/* End of run: one combined alert per session group with a primary signal. */
typedef struct emit_ctx {
    scan_ctx *c;
    vg_buf o;
} emit_ctx;

static int emit_combined(void *ud, const vg_sess_alert *a)
{
    emit_ctx *x = ud;
    scan_ctx *c = x->c;
    vg_buf *o = &x->o;
    const char *level = vg__sessions_level_name(a->level);
    char first[40] = "", last[40] = "", id[33];
    if (a->first <= a->last) {
        vg__format_time(a->first, first, sizeof first);
        vg__format_time(a->last, last, sizeof last);
    }
    const char *parts[] = {"combined", a->tenant, a->user, a->session ? a->session : a->day};
    alert_id(parts, 4, id);
    /* a title a person reads: the strongest signals first */
    bool no_si = false, novel = false, tok = false, ind = false;
    for (uint32_t i = 0; i < a->n_signals; i++) {
        const vg_sess_signal *g = &a->signals[i];
        no_si |= !strcmp(g->name, "no_signin");
        novel |= !strcmp(g->kind, "new_term");
        tok |= !strcmp(g->kind, "token") || !strncmp(g->name, "consumer", 8);
        ind |= !strcmp(g->kind, "indicator");
    }
    char title[256];
    int tl = snprintf(title, sizeof title, "%s%s%s%s%s", a->mail ? "Mailbox read" : "Activity",
                      no_si ? " with a token no sign-in issued" : "",
                      novel ? (no_si ? ", by an application new to the tenant"
                                     : " by an application new to the tenant")
                            : "",
                      tok ? ", forged-token signs" : "",
                      ind ? ", from listed actor infrastructure" : "");
    if (!no_si && !novel && !tok && !ind)
        for (uint32_t i = 0, k = 0; i < a->n_signals && tl > 0 && (size_t)tl < sizeof title; i++)
            if (strcmp(a->signals[i].kind, "supporting") != 0)
                tl += snprintf(title + tl, sizeof title - (size_t)tl, "%s%s", k++ ? ", " : ": ",
                               a->signals[i].name);
    c->sess_by_level[a->level]++;
    c->sess_alerts++;
    vg_buf side;
    vg__buf_init(&side, 0);
    if (c->o->format != FMT_JSONL) {
        const vg_sess_evidence *e = a->n_evidence ? &a->evidence[0] : NULL;
        if (c->o->format == FMT_CSV) {
            vg__buf_printf(o, "%s,%s,vigie:combined,", first, level);
            add_csv_cell(o, title, strlen(title));
            vg__buf_addc(o, ',');
            add_csv_cell(o, a->tenant, strlen(a->tenant));
            vg__buf_addc(o, ',');
            if (e)
                add_csv_cell(o, e->file, strlen(e->file));
            vg__buf_printf(o, ",%llu,%llu\n", e ? (unsigned long long)e->line : 0ull,
                           e ? (unsigned long long)e->offset : 0ull);
        } else {
            char src[64];
            const char *base = e ? strrchr(e->file, '/') : NULL;
            base = base ? base + 1 : e ? e->file : "-";
            snprintf(src, sizeof src, "%.48s:%llu", base, e ? (unsigned long long)e->line : 0ull);
            vg__buf_printf(o, "%-24s  %-13s  %-60.60s  %-36.36s  %s\n", first[0] ? first : "-",
                           level, title, a->tenant, src);
        }
        if (!c->camp)
            return 0;
        o = &side; /* the JSON line, for campaigns only */
    }
    size_t line0 = o->len;
    vg__buf_printf(o, "{\"id\":\"%s\",\"rule\":{\"id\":\"vigie:combined\",\"title\":", id);
    add_json_str_or_null(o, title, strlen(title));
    /* ATT&CK: what the signals show (mail collection; forged or unissued tokens used as
     * alternate authentication material; traffic through listed proxies) */
    char tags[512] = "";
    if (a->mail)
        strcat(tags, ",\"attack.collection\",\"attack.t1114.002\"");
    if (no_si || tok)
        strcat(tags, ",\"attack.defense-evasion\",\"attack.t1550.001\"");
    if (tok)
        strcat(tags, ",\"attack.credential-access\",\"attack.t1606.002\"");
    if (ind)
        strcat(tags, ",\"attack.command-and-control\",\"attack.t1090.002\"");
    vg__buf_printf(o, ",\"level\":\"%s\",\"tags\":[%s]},\"kind\":\"combined\",\"tenant\":", level,
                   tags[0] ? tags + 1 : "");
    add_json_str_or_null(o, a->tenant, strlen(a->tenant));
    vg__buf_adds(o, ",\"user\":");
    add_json_str_or_null(o, a->user, strlen(a->user));
    vg__buf_adds(o, ",\"session\":");
    add_json_str_or_null(o, a->session, a->session ? strlen(a->session) : 0);
    vg__buf_adds(o, ",\"day\":");
    add_json_str_or_null(o, a->session ? NULL : a->day, a->session ? 0 : strlen(a->day));
    vg__buf_adds(o, ",\"time\":");
    add_json_str_or_null(o, first[0] ? first : NULL, strlen(first));
    vg__buf_printf(o, ",\"score\":%d,\"signals\":[", a->score);
    for (uint32_t i = 0; i < a->n_signals; i++) {
        if (i)
            vg__buf_addc(o, ',');
        add_json_str_or_null(o, a->signals[i].name, strlen(a->signals[i].name));
    }
    vg__buf_adds(o, "],\"signal_detail\":[");
    for (uint32_t i = 0; i < a->n_signals; i++) {
        const vg_sess_signal *g = &a->signals[i];
        vg__buf_adds(o, i ? ",{\"name\":" : "{\"name\":");
        add_json_str_or_null(o, g->name, strlen(g->name));
        vg__buf_adds(o, ",\"kind\":");
        add_json_str_or_null(o, g->kind, strlen(g->kind));
        vg__buf_adds(o, ",\"level\":");
        add_json_str_or_null(o, g->level, strlen(g->level));
        vg__buf_adds(o, ",\"rule\":");
        add_json_str_or_null(o, g->rule && *g->rule ? g->rule : NULL, g->rule ? strlen(g->rule) : 0);
        vg__buf_printf(o, ",\"records\":%llu}", (unsigned long long)g->records);
    }
    vg__buf_printf(o, "],\"records\":%llu,\"mail_records\":%llu,"
                      "\"sign_in_join\":{\"matched\":%llu,\"no_signin\":%llu,\"unlinkable\":%llu}",
                   (unsigned long long)a->records, (unsigned long long)a->mail,
                   (unsigned long long)a->matched, (unsigned long long)a->no_signin,
                   (unsigned long long)a->unlinkable);
    if (a->mail) {
        vg__buf_printf(o, ",\"messages_read\":{\"internet_message_ids\":%llu,%s"
                          "\"operation_count\":%.0f,\"folders\":[",
                       (unsigned long long)a->messages,
                       a->messages_capped ? "\"at_least\":true," : "", a->ops);
        for (uint32_t i = 0; i < a->n_folders; i++) {
            if (i)
                vg__buf_addc(o, ',');
            add_json_str_or_null(o, a->folders[i], strlen(a->folders[i]));
        }
        vg__buf_adds(o, "],\"first\":");
        add_json_str_or_null(o, first[0] ? first : NULL, strlen(first));
        vg__buf_adds(o, ",\"last\":");
        add_json_str_or_null(o, last[0] ? last : NULL, strlen(last));
        vg__buf_addc(o, '}');
    }
    const char *const *lists[3] = {a->ips, a->apps, a->uas};
    uint32_t ns[3] = {a->n_ips, a->n_apps, a->n_uas};
    static const char *const lnames[3] = {"ips", "app_ids", "user_agents"};
    vg__buf_adds(o, ",\"infrastructure\":{");
    for (int k = 0; k < 3; k++) {
        vg__buf_printf(o, "%s\"%s\":[", k ? "," : "", lnames[k]);
        for (uint32_t i = 0; i < ns[k]; i++) {
            if (i)
                vg__buf_addc(o, ',');
            add_json_str_or_null(o, lists[k][i], strlen(lists[k][i]));
        }
        vg__buf_addc(o, ']');
    }
    vg__buf_addc(o, '}');
    for (uint32_t i = 0; i < a->n_evidence; i++) {
        const vg_sess_evidence *e = &a->evidence[i];
        char sh[65];
        hex(e->sha256, 32, sh);
        if (i == 0) {
            vg__buf_adds(o, ",\"source\":{\"file\":");
            add_json_str_or_null(o, e->file, strlen(e->file));
            vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"%s\"}"
                              ",\"evidence\":[",
                           (unsigned long long)e->line, (unsigned long long)e->index,
                           (unsigned long long)e->offset, sh);
        }
        vg__buf_adds(o, i ? ",{\"file\":" : "{\"file\":");
        add_json_str_or_null(o, e->file, strlen(e->file));
        vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"%s\",\"alerts\":[",
                       (unsigned long long)e->line, (unsigned long long)e->index,
                       (unsigned long long)e->offset, sh);
        for (const char *p = e->alert_ids; p && *p;) {
            const char *q = strchr(p, ',');
            size_t l = q ? (size_t)(q - p) : strlen(p);
            vg__buf_addc(o, p == e->alert_ids ? '"' : ',');
            if (p != e->alert_ids)
                vg__buf_addc(o, '"');
            vg__buf_add(o, p, l);
            vg__buf_addc(o, '"');
            p += l + (q ? 1 : 0);
        }
        vg__buf_adds(o, "]}");
    }
    if (a->n_evidence)
        vg__buf_printf(o, "],\"evidence_omitted\":%llu", (unsigned long long)a->evidence_omitted);
    vg__buf_adds(o, "}\n");
    if (c->camp)
        vg__campaigns_add_alert(c->camp, o->data + line0, o->len - line0 - 1);
    vg__buf_free(&side);
    if (x->o.len > (1u << 20)) {
        write_out(c, x->o.data, x->o.len);
        vg__buf_reset(&x->o);
    }
    return 0;
}

static void write_combined(scan_ctx *c)
{
    if (!c->sess)
        return;
    emit_ctx x = {c, {0}};
    vg__buf_init(&x.o, 0);
    vg__sessions_finish(c->sess, emit_combined, &x, &c->sess_stats);
    if (x.o.len)
        write_out(c, x.o.data, x.o.len);
    vg__buf_free(&x.o);
}

/* A gap record with its stable id (the hash of its content). */
static void put_gap(scan_ctx *c, struct tvis *t, vg_buf *o, const char *fmt, ...)
{
    char body[1024], id[33];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    const char *parts[] = {"gap", body};
    alert_id(parts, 2, id);
    vg__buf_printf(o, "{\"id\":\"%s\",%s}\n", id, body);
    c->gaps++;
    t->gaps++;
}

/* End of run: visibility gaps as records of their own ("kind": "gap"). */
static void write_gaps(scan_ctx *c)
{
    vg_buf o;
    vg__buf_init(&o, 0);
    for (uint32_t i = 0; i < c->n_vis; i++) {
        struct tvis *t = &c->vis[i];
        char a[40], z[40];
        if (t->days && t->first <= t->last) {
            int64_t d0 = (int64_t)(t->first / 86400) - t->day0, d1 = (int64_t)(t->last / 86400) - t->day0;
            for (int64_t d = d0; d <= d1; d++) {
                if (t->days[d])
                    continue;
                int64_t e = d;
                while (e + 1 <= d1 && !t->days[e + 1])
                    e++;
                if (e - d + 1 >= VIS_GAP_DAYS) {
                    vg__format_time((double)(d + t->day0) * 86400, a, sizeof a);
                    vg__format_time((double)(e + 1 + t->day0) * 86400, z, sizeof z);
                    put_gap(c, t, &o, "\"kind\":\"gap\",\"gap\":\"no_mailbox_audit\","
                                   "\"tenant\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"days\":%lld,"
                                   "\"detail\":\"no MailItemsAccessed record in these days\"",
                            t->tenant, a, z, (long long)(e - d + 1));
                }
                d = e;
            }
        }
        if (t->throttled) {
            put_gap(c, t, &o, "\"kind\":\"gap\",\"gap\":\"throttled\",\"tenant\":\"%s\","
                           "\"records\":%llu,\"detail\":\"IsThrottled: Bind records stop for 24 h "
                           "after 1,000 in 24 h; reads in that period are not audited\"",
                    t->tenant, (unsigned long long)t->throttled);
        }
        if (t->linkable < t->n) {
            put_gap(c, t, &o, "\"kind\":\"gap\",\"gap\":\"unlinkable\",\"tenant\":\"%s\","
                           "\"records\":%llu,\"of\":%llu,\"detail\":\"mail access without "
                           "UniqueTokenId or SessionId: cannot be joined to sign-ins\"",
                    t->tenant, (unsigned long long)(t->n - t->linkable), (unsigned long long)t->n);
        }
        if (t->linkable && c->sess && !vg__sessions_tenant_has_signins(c->sess, t->tenant)) {
            put_gap(c, t, &o, "\"kind\":\"gap\",\"gap\":\"no_signin_logs\",\"tenant\":\"%s\","
                           "\"records\":%llu,\"detail\":\"no sign-in records for this tenant in the "
                           "input: mail access cannot be joined to sign-ins and counts as unlinkable\"",
                    t->tenant, (unsigned long long)t->linkable);
        }
    }
    if (o.len && c->o->format == FMT_JSONL)
        write_out(c, o.data, o.len);
    vg__buf_free(&o);
}

/* ---- work ---------------------------------------------------------------------------------- */

static void process_batch(worker *w, batch *b)
{
    scan_ctx *c = w->c;
    vg__buf_reset(&b->out);
    vg__buf_reset(&b->nt_strs);
    b->n_pend = 0;
    b->n_facts = 0;
    b->n_sigs = 0;
    b->n_sf = 0;
    b->n_cf = 0;
    b->n_sf_msgs = 0;
    vg__buf_reset(&b->sf_strs);
    b->events = b->bad = b->alerts = b->ind_hits = b->token_findings = 0;
    memset(b->bad_by_rc, 0, sizeof b->bad_by_rc);
    memset(b->by_level, 0, sizeof b->by_level);
    for (uint32_t i = 0; i < b->n; i++) {
        const rec_ref *r = &b->recs[i];
        const char *data = b->data.data + r->off;
        vg_jerr err;
        int rc = vg__json_parse(&w->tape, data, r->len, &err);
        if (rc == VIGIE_OK && w->tape.tok[0].type != VG_J_OBJECT) {
            rc = VIGIE_JSON;
            err.offset = 0;
            snprintf(err.msg, sizeof err.msg, "record is not a JSON object");
        }
        if (rc != VIGIE_OK) {
            b->bad++;
            b->bad_by_rc[rc < VIGIE_STATUS_COUNT ? rc : VIGIE_JSON]++;
            vigie_diag d = {VIGIE_DIAG_ERROR, rc, c->in.paths[r->file], r->line, 0,
                            r->offset + err.offset, NULL, NULL};
            char msg[256];
            snprintf(msg, sizeof msg, "record %llu skipped: %s: %s (at byte %llu of the record)",
                     (unsigned long long)r->index + 1, vigie_strerror(rc), err.msg,
                     (unsigned long long)err.offset);
            d.message = msg;
            vg__cli_diag(NULL, &d);
            continue;
        }
        b->events++;
        vg__jscratch_reset(w->js);
        vg__buf_reset(&w->tmp);
        vg_eventinfo ei;
        vg__shape_classify(c->fmap, &w->tape, w->js, &w->tmp, &ei);
        if (!ei.has_time && c->o->time_field) {
            /* a log of unknown shape: the time where --time-field says */
            vg_buf *tb = &w->ftext;
            vg__buf_reset(tb);
            field_text(w, &ei, c->o->time_field, tb);
            double tv;
            char *end;
            if (w->ftext_found && tb->len) {
                tv = strtod(tb->data, &end);
                if (*end == 0 && end != tb->data) {
                    ei.time = tv > 1e11 ? tv / 1000 : tv; /* epoch seconds, or milliseconds */
                    ei.has_time = true;
                } else if (vg__parse_time(tb->data, tb->len, &tv) == VIGIE_OK) {
                    ei.time = tv;
                    ei.has_time = true;
                }
            }
        }
        w->b = b;
        w->r = r;
        w->ei = &ei;
        w->sha_ok = w->mail_ok = false;
        w->sig0 = b->n_sigs;
        vg__matcher_run(w->m, &w->tape, &ei, on_match, w);
        if (c->ind)
            match_indicators(w, b, &ei);
        if (c->keys)
            match_tokens(w, b, &ei);
        w->linkable_ok = false;
        if (c->sess)
            record_fact(w, b, i, &ei, false);
        mail_fact(w, b, &ei);
    }
}

static int worker_init(worker *w, scan_ctx *c)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    vg__jtape_init(&w->tape);
    vg__buf_init(&w->tmp, 0);
    vg__buf_init(&w->extra, 0);
    vg__buf_init(&w->ftext, 0);
    vg__buf_init(&w->mr_json, 0);
    vg__buf_init(&w->mfolders, 0);
    w->js = vg__jscratch_new();
    w->hits = calloc(vg__ruleset_count(c->rs) + 1, sizeof *w->hits);
    if (!w->js || !w->hits)
        return VIGIE_NOMEM;
    return vg__matcher_new(c->rs, &w->m);
}

static void worker_fini(worker *w)
{
    scan_ctx *c = w->c;
    if (w->m) {
        const vg_match_stats *st = vg__matcher_stats(w->m);
        pthread_mutex_lock(&c->hits_mu);
        c->mstats.events += st->events;
        c->mstats.routed += st->routed;
        c->mstats.candidates += st->candidates;
        c->mstats.matches += st->matches;
        c->mstats.regex_limit += st->regex_limit;
        if (w->hits)
            for (uint32_t i = 0; i < vg__ruleset_count(c->rs); i++)
                c->rule_hits[i] += w->hits[i];
        pthread_mutex_unlock(&c->hits_mu);
        vg__matcher_free(w->m);
    }
    free(w->hits);
    vg__jscratch_free(w->js);
    vg__buf_free(&w->tmp);
    vg__buf_free(&w->extra);
    vg__buf_free(&w->ftext);
    vg__buf_free(&w->mr_json);
    vg__buf_free(&w->mfolders);
    free(w->mh);
    vg__jtape_free(&w->tape);
}

static void progress(scan_ctx *c, bool final)
{
    if (!c->progress)
        return;
    double now = vg__now();
    if (!final && now - c->last_progress < 0.25)
        return;
    c->last_progress = now;
    double el = now - c->t_start;
    fprintf(stderr, "\r\033[Kvigie: %llu events  %.1f MB  %llu alerts  %llu bad  %.1f MB/s",
            (unsigned long long)c->events, (double)c->bytes / 1e6, (unsigned long long)c->alerts,
            (unsigned long long)c->bad, el > 0 ? (double)c->bytes / 1e6 / el : 0.0);
    if (final)
        fputc('\n', stderr);
}

/* Writer side: account and write one processed batch. Called in sequence order. */
/* The sources of an alert line for the ledger: "source", each of "evidence" (combined)
 * and each of "events" (correlation; positions only). */
static uint32_t line_sources(scan_ctx *c, vg_ledger_src *v, uint32_t cap, char (*files)[1024])
{
    vg_jtape *t = &c->sink_tape;
    uint32_t n = 0;
    const char *keys[] = {"source", "evidence", "events"};
    for (int k = 0; k < 3; k++) {
        int64_t x = vg__json_obj_get(t, 0, keys[k], strlen(keys[k]));
        if (x < 0)
            continue;
        uint32_t first = (uint32_t)x, end = t->tok[x].next;
        bool arr = t->tok[x].type == VG_J_ARRAY;
        if (arr)
            first++;
        else if (t->tok[x].type != VG_J_OBJECT)
            continue;
        for (uint32_t i = first; i < end && n < cap; i = arr ? t->tok[i].next : end) {
            if (t->tok[i].type != VG_J_OBJECT)
                continue;
            int64_t f = vg__json_obj_get(t, i, "file", 4), l = vg__json_obj_get(t, i, "line", 4);
            int64_t ix = vg__json_obj_get(t, i, "index", 5), off = vg__json_obj_get(t, i, "offset", 6);
            int64_t h = vg__json_obj_get(t, i, "sha256", 6);
            if (f < 0 || ix < 0)
                continue;
            vg__json_str_copy(t, f, files[n], sizeof files[n]);
            double d;
            vg_ledger_src *e = &v[n];
            memset(e, 0, sizeof *e);
            e->file = files[n];
            if (l >= 0 && vg__json_number(t->src + t->tok[l].off, t->tok[l].len, &d) == VIGIE_OK)
                e->line = (uint64_t)d;
            if (vg__json_number(t->src + t->tok[ix].off, t->tok[ix].len, &d) == VIGIE_OK)
                e->index = (uint64_t)d;
            if (off >= 0 && vg__json_number(t->src + t->tok[off].off, t->tok[off].len, &d) == VIGIE_OK)
                e->offset = (uint64_t)d;
            char hx[80] = "";
            if (h >= 0)
                vg__json_str_copy(t, h, hx, sizeof hx);
            if (strlen(hx) != 64)
                continue; /* a position without its hash (correlation events): not evidence */
            for (int b = 0; b < 32; b++) {
                unsigned hi, lo;
                sscanf(hx + 2 * b, "%1x%1x", &hi, &lo);
                e->sha256[b] = (uint8_t)(hi << 4 | lo);
            }
            bool dup = false;
            for (uint32_t q = 0; q < n && !dup; q++)
                dup = v[q].index == e->index && !strcmp(v[q].file, e->file);
            if (!dup)
                n++;
        }
    }
    return n;
}

/* Every alert line written also goes to the store and the ledger. */
static void sink_lines(scan_ctx *c, const char *p, size_t n)
{
    static vg_ledger_src srcs[VG_MAX_SESSION_EVIDENCE + 4];
    static char files[VG_MAX_SESSION_EVIDENCE + 4][1024];
    for (const char *end = p + n; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l && c->db && vg__store_add_alert(c->db, c->run_id, p, l) != VIGIE_OK && !c->out_error)
            fprintf(stderr, "vigie: error: --db: an alert line could not be stored\n");
        if (l && c->ledger && vg__json_parse(&c->sink_tape, p, l, NULL) == VIGIE_OK &&
            c->sink_tape.tok[0].type == VG_J_OBJECT) {
            char id[128] = "";
            vg__json_str_copy(&c->sink_tape, vg__json_obj_get(&c->sink_tape, 0, "id", 2), id,
                              sizeof id);
            uint32_t ns = line_sources(c, srcs, VG_ARRAY_LEN(srcs), files);
            if (!id[0] || vg__ledger_append(c->ledger, id, p, l, srcs, ns) != VIGIE_OK) {
                if (!c->out_error)
                    fprintf(stderr, "vigie: error: --ledger: cannot append alert %s\n", id);
                c->out_error = c->out_error ? c->out_error : EIO;
            } else {
                c->ledgered++;
            }
        }
        p += l + 1;
    }
}

static void write_out(scan_ctx *c, const char *p, size_t n)
{
    if (n && !c->out_error && fwrite(p, 1, n, c->out) != n)
        c->out_error = errno ? errno : EIO;
    if (n && (c->db || c->ledger))
        sink_lines(c, p, n);
}

static bool has_sub(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (const char *q = p; k <= n && (q = memchr(q, needle[0], n - (size_t)(q - p) - k + 1));
         q++)
        if (!memcmp(q, needle, k))
            return true;
    return false;
}

/* The full fact of a record a lite fact stood for: the writer parses it again (with its own
 * worker state) and appends the fact; returns its index, UINT32_MAX on failure. Only mail
 * reads the sign-ins do not explain come here. */
static uint32_t hydrate(scan_ctx *c, batch *b, uint32_t rec)
{
    worker *w = c->wwp;
    if (!w)
        return UINT32_MAX;
    const rec_ref *r = &b->recs[rec];
    if (vg__json_parse(&w->tape, b->data.data + r->off, r->len, NULL) != VIGIE_OK)
        return UINT32_MAX;
    vg__jscratch_reset(w->js);
    vg__buf_reset(&w->tmp);
    vg_eventinfo ei;
    vg__shape_classify(c->fmap, &w->tape, w->js, &w->tmp, &ei);
    w->b = b;
    w->r = r;
    w->ei = &ei;
    w->sha_ok = w->mail_ok = false;
    w->sig0 = b->n_sigs;
    uint32_t before = b->n_sf;
    record_fact(w, b, rec, &ei, true);
    return b->n_sf > before ? b->n_sf - 1 : UINT32_MAX;
}

/* Writer side: a batch's session facts, in read order, into the session combiner. A
 * first-seen signal counts when its term was new (the alert was kept) or is still novel. */
static void fold_sessions(scan_ctx *c, batch *b)
{
    if (!c->sess)
        return;
    vg_sess_signal sigs[64];
    const char *folders[32];
    vg_buf ids;
    vg__buf_init(&ids, 0);
    uint32_t n0 = b->n_sf; /* hydrated facts are appended past it */
    for (uint32_t i = 0; i < n0; i++) {
        const struct sfact *f = &b->sf[i];
        if (f->lite) {
            const char *t0 = b->sf_strs.data + f->strs;
            const char *u0 = t0 + strlen(t0) + 1;
            const char *s0 = u0 + strlen(u0) + 1;
            const char *k0 = s0 + strlen(s0) + 1;
            vg_sess_rec q = {.tenant = t0, .user = u0, .session = s0, .token = k0, .t = f->t,
                             .has_time = f->has_time, .mail = true};
            if (!vg__sessions_needs(c->sess, &q))
                continue; /* explained by a sign-in already seen: nothing to keep */
            uint32_t j = hydrate(c, b, f->rec);
            if (j == UINT32_MAX)
                continue;
            f = &b->sf[j];
        }
        const char *tenant = b->sf_strs.data + f->strs;
        const char *user = tenant + strlen(tenant) + 1;
        const char *session = user + strlen(user) + 1;
        const char *token = session + strlen(session) + 1;
        const char *ip = token + strlen(token) + 1;
        const char *app = ip + strlen(ip) + 1;
        const char *ua = app + strlen(app) + 1;
        const char *fp = ua + strlen(ua) + 1;
        uint32_t nf = 0;
        for (uint32_t k = 0; k < f->n_folders && nf < 32; k++) {
            folders[nf++] = fp;
            fp += strlen(fp) + 1;
        }
        if (f->signin && f->has_time)
            vg__sessions_signin(c->sess, tenant, session, token, f->t);
        uint32_t ns = 0;
        vg__buf_reset(&ids);
        for (uint32_t k = 0; k < f->n_sig && ns < 64; k++) {
            const struct rsig *g = &b->sigs[f->sig0 + k];
            const char *name = b->sf_strs.data + g->strs;
            const char *kind = name + strlen(name) + 1;
            const char *rule = kind + strlen(kind) + 1;
            const char *level = rule + strlen(rule) + 1;
            const char *id = level + strlen(level) + 1;
            if (g->pend >= 0) {
                int st = b->pend[g->pend].state;
                if (st == VG_NT_KNOWN)
                    continue;
                if (st == VG_NT_NOVEL) {
                    /* seen again while still novel: no alert, a signal one level lower */
                    id = "";
                    static const char *const lower[] = {"informational", "informational", "low",
                                                        "medium", "high"};
                    int li = level_index(level);
                    level = li < 5 ? lower[li] : "low";
                }
            }
            sigs[ns++] = (vg_sess_signal){name, kind, rule, level, 1};
            if (*id) {
                if (ids.len)
                    vg__buf_addc(&ids, ',');
                vg__buf_adds(&ids, id);
            }
        }
        if (!f->mail && !ns)
            continue;
        const rec_ref *r = &b->recs[f->rec];
        vg_sess_rec sr = {.tenant = tenant, .user = user, .session = session, .token = token,
                          .t = f->t, .has_time = f->has_time, .mail = f->mail,
                          .rest_client = f->rest, .signals = sigs, .n_signals = ns,
                          .msgs = b->sf_msgs + f->msg0, .n_msgs = f->n_msg, .ops = f->ops,
                          .folders = folders, .n_folders = nf, .file = c->in.paths[r->file],
                          .line = r->line, .index = r->index, .offset = r->offset,
                          .alert_ids = ids.data, .ip = ip, .app = app, .ua = ua};
        memcpy(sr.sha256, f->sha, 32);
        vg__sessions_add(c->sess, &sr);
    }
    vg__buf_free(&ids);
}

/* ---- Sigma correlations (writer side, read order) ---------------------------------------- */

typedef struct cfeed {
    scan_ctx *c;
    batch *b;
    const struct cfact *f;
    vg_buf *out;
} cfeed;

static bool corr_get(void *ud, const char *field, const char **val, size_t *len)
{
    cfeed *x = ud;
    const char *p = x->b->sf_strs.data + x->f->strs;
    for (uint32_t i = 0; i < x->f->n_vals; i++) {
        const char *v = p + strlen(p) + 1;
        if (!strcmp(p, field)) {
            *val = v;
            *len = strlen(v);
            return true;
        }
        p = v + strlen(v) + 1;
    }
    return false;
}

static int corr_emit(void *ud, const vg_corr_alert *a)
{
    cfeed *x = ud;
    scan_ctx *c = x->c;
    if (!a->output)
        return 0;
    const vg_rule *r = a->rule;
    const struct cref *last = NULL;
    if (a->n_refs) {
        const struct cref *e = &c->ring[a->refs[a->n_refs - 1] % VG_CORR_RING];
        if (e->ref == a->refs[a->n_refs - 1])
            last = e;
    }
    char tend[40], tstart[40], id[33];
    vg__format_time(a->t_end, tend, sizeof tend);
    vg__format_time(a->t_start, tstart, sizeof tstart);
    vg_buf key;
    vg__buf_init(&key, 0);
    vg__buf_add(&key, a->group, a->group_len);
    for (uint32_t i = 0; i < a->n_refs; i++) {
        const struct cref *e = &c->ring[a->refs[i] % VG_CORR_RING];
        if (e->ref == a->refs[i])
            vg__buf_adds(&key, e->id);
    }
    const char *parts[] = {"correlation", r->id ? r->id : r->title, tend, key.data};
    alert_id(parts, 4, id);
    vg__buf_free(&key);
    c->corr_alerts++;
    c->by_level[level_index(r->level)]++;
    c->alerts++;
    vg_buf *o = x->out;
    if (c->o->format != FMT_JSONL) {
        const char *file = last ? c->in.paths[last->file] : "-";
        if (c->o->format == FMT_CSV) {
            vg__buf_printf(o, "%s,%s,", tend, r->level ? r->level : "");
            add_csv_cell(o, r->id ? r->id : "", r->id ? strlen(r->id) : 0);
            vg__buf_addc(o, ',');
            add_csv_cell(o, r->title ? r->title : "", r->title ? strlen(r->title) : 0);
            vg__buf_addc(o, ',');
            if (last)
                add_csv_cell(o, last->tenant, strlen(last->tenant));
            vg__buf_addc(o, ',');
            add_csv_cell(o, file, strlen(file));
            vg__buf_printf(o, ",%llu,%llu\n", last ? (unsigned long long)last->line : 0ull,
                           last ? (unsigned long long)last->offset : 0ull);
        } else {
            const char *base = strrchr(file, '/');
            base = base ? base + 1 : file;
            char src[64];
            snprintf(src, sizeof src, "%.48s:%llu", base, last ? (unsigned long long)last->line : 0ull);
            vg__buf_printf(o, "%-24s  %-13s  %-60.60s  %-36.36s  %s\n", tend,
                           r->level ? r->level : "-", r->title ? r->title : "-",
                           last && last->tenant[0] ? last->tenant : "-", src);
        }
        return 0;
    }
    static const char *const types[] = {"none", "event_count", "value_count", "temporal",
                                        "temporal_ordered", "value_sum", "value_avg",
                                        "value_percentile"};
    vg__buf_printf(o, "{\"id\":\"%s\",\"rule\":{\"id\":", id);
    add_json_str_or_null(o, r->id, r->id ? strlen(r->id) : 0);
    vg__buf_adds(o, ",\"title\":");
    add_json_str_or_null(o, r->title, r->title ? strlen(r->title) : 0);
    vg__buf_adds(o, ",\"level\":");
    add_json_str_or_null(o, r->level, r->level ? strlen(r->level) : 0);
    vg__buf_adds(o, ",\"tags\":[");
    for (uint32_t k = 0; k < r->n_tags; k++) {
        if (k)
            vg__buf_addc(o, ',');
        add_json_str_or_null(o, r->tags[k], strlen(r->tags[k]));
    }
    vg__buf_printf(o, "]},\"kind\":\"correlation\",\"correlation\":{\"type\":\"%s\",\"group\":",
                   r->corr && r->corr->type < 8 ? types[r->corr->type] : "none");
    if (a->group_len && a->group[0] == '{')
        vg__buf_add(o, a->group, a->group_len);
    else
        vg__buf_adds(o, "{}");
    vg__buf_printf(o, ",\"value\":%.17g,\"events\":%llu,\"window\":{\"start\":\"%s\",\"end\":\"%s\"}}",
                   a->value, (unsigned long long)a->n_events, tstart, tend);
    vg__buf_adds(o, ",\"tenant\":");
    add_json_str_or_null(o, last && last->tenant[0] ? last->tenant : NULL,
                         last ? strlen(last->tenant) : 0);
    vg__buf_printf(o, ",\"time\":\"%s\",\"source\":", tend);
    if (last) {
        char sh[65];
        hex(last->sha, 32, sh);
        const char *file = c->in.paths[last->file];
        vg__buf_adds(o, "{\"file\":");
        add_json_str_or_null(o, file, strlen(file));
        vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu,\"sha256\":\"%s\"}",
                       (unsigned long long)last->line, (unsigned long long)last->index,
                       (unsigned long long)last->offset, sh);
    } else {
        vg__buf_adds(o, "null");
    }
    vg__buf_adds(o, ",\"contributing\":[");
    bool first = true;
    for (uint32_t i = 0; i < a->n_refs; i++) {
        const struct cref *e = &c->ring[a->refs[i] % VG_CORR_RING];
        if (e->ref != a->refs[i])
            continue;
        vg__buf_printf(o, "%s\"%s\"", first ? "" : ",", e->id);
        first = false;
    }
    vg__buf_adds(o, "],\"events\":[");
    first = true;
    for (uint32_t i = 0; i < a->n_refs; i++) {
        const struct cref *e = &c->ring[a->refs[i] % VG_CORR_RING];
        if (e->ref != a->refs[i])
            continue;
        const char *file = c->in.paths[e->file];
        vg__buf_adds(o, first ? "{\"file\":" : ",{\"file\":");
        add_json_str_or_null(o, file, strlen(file));
        vg__buf_printf(o, ",\"line\":%llu,\"index\":%llu,\"offset\":%llu}",
                       (unsigned long long)e->line, (unsigned long long)e->index,
                       (unsigned long long)e->offset);
        first = false;
    }
    vg__buf_adds(o, "]}\n");
    return 0;
}

static void feed_correlations(scan_ctx *c, batch *b)
{
    if (!c->corr || !b->n_cf)
        return;
    vg_buf out;
    vg__buf_init(&out, 0);
    for (uint32_t i = 0; i < b->n_cf; i++) {
        const struct cfact *f = &b->cf[i];
        if (isnan(f->t)) {
            c->corr_untimed++;
            continue;
        }
        const rec_ref *r = &b->recs[f->rec];
        uint64_t ref = ++c->corr_seq;
        struct cref *e = &c->ring[ref % VG_CORR_RING];
        e->ref = ref;
        e->file = r->file;
        e->line = r->line;
        e->index = r->index;
        e->offset = r->offset;
        memcpy(e->id, f->id, sizeof e->id);
        SHA256((const unsigned char *)b->data.data + r->off, r->len, e->sha);
        memcpy(e->tenant, f->tenant, sizeof e->tenant);
        cfeed x = {c, b, f, &out};
        vg__corr_feed(c->corr, vg__ruleset_rule(c->rs, f->rule), f->t, corr_get, &x, ref,
                      corr_emit, &x);
    }
    if (out.len)
        write_out(c, out.data, out.len);
    vg__buf_free(&out);
}

static void write_batch(scan_ctx *c, batch *b)
{
    /* first-seen candidates are decided here, in read order, against the shared state */
    size_t at = 0;
    for (uint32_t i = 0; i < b->n_pend; i++) {
        struct pending *p = &b->pend[i];
        const vg_rule *r = vg__ruleset_rule(c->rs, p->rule);
        const char *group = b->nt_strs.data + p->strs;
        const char *term = group + strlen(group) + 1;
        p->state = c->nt ? vg__newterms_state(c->nt, r->id ? r->id : (r->title ? r->title : "?"),
                                              group, term, p->t, r->nt_baseline_s)
                         : VG_NT_KNOWN;
        bool keep = p->state == VG_NT_NEW;
        write_out(c, b->out.data + at, p->out_start - at);
        if (keep) {
            write_out(c, b->out.data + p->out_start, p->out_end - p->out_start);
            b->alerts++;
            b->by_level[c->rule_level[p->rule]]++;
            c->rule_hits[p->rule]++;
            c->nt_first_seen++;
        }
        at = p->out_end;
    }
    if (b->out.len > at)
        write_out(c, b->out.data + at, b->out.len - at);
    if (c->camp && c->o->format == FMT_JSONL && b->token_findings)
        for (const char *p = b->out.data, *end = b->out.data + b->out.len; p && p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (has_sub(p, l, "\"kind\":\"token\""))
                vg__campaigns_add_alert(c->camp, p, l);
            p = nl ? nl + 1 : NULL;
        }
    fold_facts(c, b);
    fold_sessions(c, b);
    feed_correlations(c, b);
    /* a signed checkpoint every 4,096 entries: a crash loses at most the entries after it */
    if (c->ledger && c->ledgered - c->ledger_ck >= 4096) {
        if (vg__ledger_checkpoint(c->ledger) != VIGIE_OK && !c->out_error) {
            fprintf(stderr, "vigie: error: --ledger: checkpoint failed: %s\n",
                    vg__ledger_error(c->ledger));
            c->out_error = EIO;
        }
        c->ledger_ck = c->ledgered;
    }
    c->events += b->events;
    c->ind_hits += b->ind_hits;
    c->token_findings += b->token_findings;
    c->bad += b->bad;
    c->alerts += b->alerts;
    for (int i = 0; i < VIGIE_STATUS_COUNT; i++)
        c->bad_by_rc[i] += b->bad_by_rc[i];
    for (int i = 0; i < LV_COUNT; i++)
        c->by_level[i] += b->by_level[i];
    progress(c, false);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    scan_ctx *c = w->c;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->work_head && !c->stop_workers)
            pthread_cond_wait(&c->cv_work, &c->mu);
        batch *b = c->work_head;
        if (!b) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        c->work_head = b->next;
        if (!c->work_head)
            c->work_tail = NULL;
        pthread_mutex_unlock(&c->mu);
        process_batch(w, b);
        pthread_mutex_lock(&c->mu);
        b->done = 1;
        pthread_cond_broadcast(&c->cv_done);
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

/* Threaded mode: write every done batch that is next in sequence. Called by the reader with
 * the lock held; releases it while writing. */
static void drain_done(scan_ctx *c, bool wait_all, uint64_t submitted)
{
    for (;;) {
        batch *ready = NULL;
        for (uint32_t i = 0; i < c->n_pool; i++) {
            batch *b = &c->pool[i];
            if (b->done && b->seq == c->next_write) {
                ready = b;
                break;
            }
        }
        if (!ready) {
            if (wait_all && c->next_write < submitted) {
                pthread_cond_wait(&c->cv_done, &c->mu);
                continue;
            }
            return;
        }
        pthread_mutex_unlock(&c->mu);
        write_batch(c, ready);
        pthread_mutex_lock(&c->mu);
        ready->done = 0;
        ready->next = c->free_list;
        c->free_list = ready;
        c->next_write++;
    }
}

/* ---- reading ------------------------------------------------------------------------------- */

typedef struct reader_side {
    scan_ctx *c;
    worker *inline_worker; /* -j 1 */
    batch *cur;
    uint64_t seq;
} reader_side;

static batch *get_free_batch(reader_side *rs)
{
    scan_ctx *c = rs->c;
    if (rs->inline_worker)
        return &c->pool[0];
    pthread_mutex_lock(&c->mu);
    for (;;) {
        drain_done(c, false, rs->seq);
        if (c->free_list)
            break;
        pthread_cond_wait(&c->cv_done, &c->mu);
    }
    batch *b = c->free_list;
    c->free_list = b->next;
    pthread_mutex_unlock(&c->mu);
    return b;
}

static void submit(reader_side *rs)
{
    batch *b = rs->cur;
    if (!b || b->n == 0)
        return;
    scan_ctx *c = rs->c;
    b->seq = rs->seq++;
    rs->cur = NULL;
    if (rs->inline_worker) {
        process_batch(rs->inline_worker, b);
        write_batch(c, b);
        c->next_write++;
        return;
    }
    pthread_mutex_lock(&c->mu);
    b->next = NULL;
    if (c->work_tail)
        c->work_tail->next = b;
    else
        c->work_head = b;
    c->work_tail = b;
    pthread_cond_signal(&c->cv_work);
    pthread_mutex_unlock(&c->mu);
}

static int add_record(reader_side *rs, const vg_record *rec, uint32_t file)
{
    if (!rs->cur) {
        rs->cur = get_free_batch(rs);
        rs->cur->n = 0;
        vg__buf_reset(&rs->cur->data);
    }
    batch *b = rs->cur;
    rec_ref *r = &b->recs[b->n];
    r->off = b->data.len;
    r->len = rec->len;
    r->file = file;
    r->line = rec->src.line;
    r->index = rec->src.index;
    r->offset = rec->src.offset;
    int rc = vg__buf_add(&b->data, rec->data, rec->len);
    if (rc)
        return rc;
    b->n++;
    if (b->n == BATCH_RECORDS || b->data.len >= BATCH_BYTES)
        submit(rs);
    return VIGIE_OK;
}

static int read_inputs(scan_ctx *c, reader_side *rs)
{
    int status = VG_EXIT_OK;
    vg_reader_opts ro = {vg__cli_diag, NULL, 0};
    for (uint32_t i = 0; i < c->in.n; i++) {
        vg_reader *r = NULL;
        int rc = vg__reader_open(&r, c->in.paths[i], &ro);
        if (rc) {
            fprintf(stderr, "vigie: error: %s: %s\n", c->in.paths[i], vigie_strerror(rc));
            status = VG_EXIT_INPUT;
            continue;
        }
        c->files++;
        vg_record rec;
        while ((rc = vg__reader_next(r, &rec)) == VIGIE_OK) {
            if ((rc = add_record(rs, &rec, i)) != VIGIE_OK) {
                fprintf(stderr, "vigie: error: %s:%llu: %s\n", c->in.paths[i],
                        (unsigned long long)rec.src.line, vigie_strerror(rc));
                break;
            }
            if (rs->inline_worker && (rec.src.index & 1023) == 0)
                progress(c, false);
        }
        if (rc != VIGIE_EOF && rc != VIGIE_OK) {
            /* the reader reported the cause with its position; records before it are kept */
            if (rc == VIGIE_IO || rc == VIGIE_NOENT)
                status = VG_EXIT_INPUT;
        }
        const vg_reader_stats *st = vg__reader_stats(r);
        c->bytes += st->bytes;
        c->bytes_read += st->bytes_read;
        c->bad += st->bad_records;
        for (int k = 0; k < VIGIE_STATUS_COUNT; k++)
            c->bad_by_rc[k] += st->bad_by_rc[k];
        if (rc != VIGIE_EOF && rc != VIGIE_OK && st->bad_records == 0) {
            /* a fatal stream error (truncated compression ...) counts as one bad record */
            c->bad++;
            c->bad_by_rc[rc < VIGIE_STATUS_COUNT ? rc : VIGIE_IO]++;
        }
        vg__reader_close(r);
    }
    submit(rs);
    return status;
}

/* ---- summary ------------------------------------------------------------------------------- */

typedef struct hit {
    uint32_t rule;
    uint64_t n;
} hit;

static int hit_cmp(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_maxrss;
}

static void write_summary(scan_ctx *c, double elapsed, double load_s, uint32_t loaded,
                          uint32_t skipped, int threads)
{
    uint32_t nr = vg__ruleset_count(c->rs);
    hit *hits = calloc(nr ? nr : 1, sizeof *hits);
    uint32_t nh = 0;
    for (uint32_t i = 0; hits && i < nr; i++)
        if (c->rule_hits[i])
            hits[nh++] = (hit){i, c->rule_hits[i]};
    if (hits)
        qsort(hits, nh, sizeof *hits, hit_cmp);
    double mb = (double)c->bytes / 1e6;
    double eps = elapsed > 0 ? (double)c->events / elapsed : 0;
    double mbps = elapsed > 0 ? mb / elapsed : 0;

    if (!vg__cli_quiet) {
        fprintf(stderr, "vigie: %llu events, %.1f MB from %llu file(s) in %.2f s (%.0f events/s, "
                        "%.1f MB/s, %d thread(s))\n",
                (unsigned long long)c->events, mb, (unsigned long long)c->files, elapsed, eps,
                mbps, threads);
        fprintf(stderr, "vigie: rules: %u loaded, %u skipped, %u dropped at compile; load %.3f s\n",
                loaded, skipped, vg__ruleset_dropped(c->rs), load_s);
        fprintf(stderr, "vigie: bad records skipped: %llu", (unsigned long long)c->bad);
        for (int i = 0; i < VIGIE_STATUS_COUNT; i++)
            if (c->bad_by_rc[i])
                fprintf(stderr, "%s %s: %llu", i ? "," : "", vigie_strerror(i),
                        (unsigned long long)c->bad_by_rc[i]);
        fputc('\n', stderr);
        fprintf(stderr, "vigie: alerts: %llu", (unsigned long long)c->alerts);
        for (int i = LV_COUNT - 1; i >= 0; i--)
            if (c->by_level[i])
                fprintf(stderr, ", %s %llu", level_names[i], (unsigned long long)c->by_level[i]);
        fputc('\n', stderr);
        fprintf(stderr, "vigie: combined alerts (per tenant, user, session): %llu",
                (unsigned long long)c->sess_alerts);
        for (int i = 4; i >= 0; i--)
            if (c->sess_by_level[i])
                fprintf(stderr, ", %s %llu", vg__sessions_level_name(i),
                        (unsigned long long)c->sess_by_level[i]);
        fprintf(stderr, "; mail access without sign-in %llu, unlinkable %llu\n",
                (unsigned long long)c->sess_stats.no_signin,
                (unsigned long long)c->sess_stats.unlinkable);
        for (uint32_t i = 0; i < c->n_vis && i < 50; i++) {
            const struct tvis *t = &c->vis[i];
            if (!t->gaps)
                continue;
            fprintf(stderr, "vigie: visibility %s: %llu mail record(s), %llu throttled, %llu of "
                            "them linkable to sign-ins, %llu gap record(s)\n",
                    t->tenant, (unsigned long long)t->n, (unsigned long long)t->throttled,
                    (unsigned long long)t->linkable, (unsigned long long)t->gaps);
        }
        if (c->corr) {
            vg_corr_stats cs;
            vg__corr_stats(c->corr, NULL, &cs);
            fprintf(stderr, "vigie: correlations: %u rule(s), %llu alert(s), %u group(s), %llu "
                            "evicted, %llu late dropped, %llu without time\n",
                    vg__corr_count(c->corr), (unsigned long long)c->corr_alerts, cs.groups,
                    (unsigned long long)cs.evictions, (unsigned long long)cs.late_dropped,
                    (unsigned long long)c->corr_untimed);
        }
        if (c->camp)
            fprintf(stderr, "vigie: campaigns: %llu, the largest across %u organization(s)\n",
                    (unsigned long long)c->camp_stats.campaigns, c->camp_stats.max_orgs);
        for (uint32_t i = 0; i < nh && i < 10; i++) {
            const vg_rule *r = vg__ruleset_rule(c->rs, hits[i].rule);
            fprintf(stderr, "vigie:   %8llu  %-8s  %s\n", (unsigned long long)hits[i].n,
                    r->level ? r->level : "-", r->title ? r->title : "(untitled)");
        }
    }
    if (c->o->summary_path) {
        vg_buf s;
        vg__buf_init(&s, 0);
        vg__buf_printf(&s,
                       "{\"events\":%llu,\"bytes\":%llu,\"bytes_read\":%llu,\"files\":%llu,"
                       "\"bad_records\":%llu,\"bad_by_reason\":{",
                       (unsigned long long)c->events, (unsigned long long)c->bytes,
                       (unsigned long long)c->bytes_read, (unsigned long long)c->files,
                       (unsigned long long)c->bad);
        int first = 1;
        for (int i = 0; i < VIGIE_STATUS_COUNT; i++)
            if (c->bad_by_rc[i]) {
                vg__buf_printf(&s, "%s\"%s\":%llu", first ? "" : ",", vigie_status_name(i),
                               (unsigned long long)c->bad_by_rc[i]);
                first = 0;
            }
        vg__buf_printf(&s, "},\"alerts\":%llu,\"alerts_by_level\":{", (unsigned long long)c->alerts);
        first = 1;
        for (int i = 0; i < LV_COUNT; i++)
            if (c->by_level[i]) {
                vg__buf_printf(&s, "%s\"%s\":%llu", first ? "" : ",", level_names[i],
                               (unsigned long long)c->by_level[i]);
                first = 0;
            }
        vg__buf_printf(&s, "},\"combined_alerts\":%llu,\"combined_by_level\":{",
                       (unsigned long long)c->sess_alerts);
        first = 1;
        for (int i = 0; i < 5; i++)
            if (c->sess_by_level[i]) {
                vg__buf_printf(&s, "%s\"%s\":%llu", first ? "" : ",", vg__sessions_level_name(i),
                               (unsigned long long)c->sess_by_level[i]);
                first = 0;
            }
        vg__buf_printf(&s, "},\"sessions\":{\"groups\":%llu,\"evicted\":%llu,\"signins\":%llu,"
                           "\"signin_ids\":%llu,\"signin_ids_dropped\":%llu,"
                           "\"no_signin\":%llu,\"unlinkable\":%llu",
                       (unsigned long long)c->sess_stats.groups,
                       (unsigned long long)c->sess_stats.evicted,
                       (unsigned long long)c->sess_stats.signins,
                       (unsigned long long)c->sess_stats.signin_ids,
                       (unsigned long long)c->sess_stats.signin_ids_dropped,
                       (unsigned long long)c->sess_stats.no_signin,
                       (unsigned long long)c->sess_stats.unlinkable);
        vg__buf_printf(&s, "},\"campaigns\":%llu", (unsigned long long)c->camp_stats.campaigns);
        /* per tenant: what its mailbox audit shows, and where it is blind */
        vg__buf_adds(&s, ",\"visibility\":[");
        for (uint32_t i = 0; i < c->n_vis; i++) {
            const struct tvis *t = &c->vis[i];
            char a[40] = "", z[40] = "";
            if (t->first <= t->last) {
                vg__format_time(t->first, a, sizeof a);
                vg__format_time(t->last, z, sizeof z);
            }
            vg__buf_adds(&s, i ? ",{\"tenant\":" : "{\"tenant\":");
            add_json_str_or_null(&s, t->tenant, strlen(t->tenant));
            vg__buf_printf(&s, ",\"mail_records\":%llu,\"throttled\":%llu,\"linkable\":%llu,"
                               "\"sign_ins\":%s,\"first\":",
                           (unsigned long long)t->n, (unsigned long long)t->throttled,
                           (unsigned long long)t->linkable,
                           c->sess && vg__sessions_tenant_has_signins(c->sess, t->tenant) ? "true"
                                                                                       : "false");
            add_json_str_or_null(&s, a[0] ? a : NULL, strlen(a));
            vg__buf_adds(&s, ",\"last\":");
            add_json_str_or_null(&s, z[0] ? z : NULL, strlen(z));
            vg__buf_printf(&s, ",\"gaps\":%llu}", (unsigned long long)t->gaps);
        }
        vg__buf_addc(&s, ']');
        vg_corr_stats cst;
        memset(&cst, 0, sizeof cst);
        if (c->corr)
            vg__corr_stats(c->corr, NULL, &cst);
        vg__buf_printf(&s, ",\"correlations\":{\"rules\":%u,\"alerts\":%llu,\"groups\":%u,"
                           "\"evictions\":%llu,\"late_inserted\":%llu,\"late_dropped\":%llu,"
                           "\"without_time\":%llu,\"missing_group\":%llu}",
                       c->corr ? vg__corr_count(c->corr) : 0, (unsigned long long)c->corr_alerts,
                       cst.groups, (unsigned long long)cst.evictions,
                       (unsigned long long)cst.late_inserted, (unsigned long long)cst.late_dropped,
                       (unsigned long long)c->corr_untimed, (unsigned long long)cst.missing_group);
        vg__buf_adds(&s, ",\"top_rules\":[");
        for (uint32_t i = 0; i < nh && i < 20; i++) {
            const vg_rule *r = vg__ruleset_rule(c->rs, hits[i].rule);
            vg__buf_adds(&s, i ? ",{\"id\":" : "{\"id\":");
            add_json_str_or_null(&s, r->id, r->id ? strlen(r->id) : 0);
            vg__buf_adds(&s, ",\"title\":");
            add_json_str_or_null(&s, r->title, r->title ? strlen(r->title) : 0);
            vg__buf_printf(&s, ",\"count\":%llu}", (unsigned long long)hits[i].n);
        }
        uint32_t n_lit = 0, n_always = 0;
        vg__ruleset_prefilter_info(c->rs, &n_lit, &n_always);
        vg__buf_printf(&s,
                       "],\"elapsed_s\":%.6f,\"events_per_s\":%.1f,\"mb_per_s\":%.3f,"
                       "\"threads\":%d,\"rule_load_s\":%.6f,\"rules_loaded\":%u,"
                       "\"rules_skipped\":%u,\"rules_dropped\":%u,\"rules_compiled\":%u,"
                       "\"prefilter_literals\":%u,\"rules_without_prefilter\":%u,"
                       "\"routed\":%llu,\"candidates\":%llu,\"regex_limit_hits\":%llu,"
                       "\"new_terms_first_seen\":%llu,\"new_terms_remembered\":%llu,"
                       "\"new_terms_dropped\":%llu,\"indicator_hits\":%llu,"
                       "\"indicators\":%u,\"token_findings\":%llu,\"gaps\":%llu,"
                       "\"peak_rss_kb\":%ld}\n",
                       elapsed, eps, mbps, threads, load_s, loaded, skipped,
                       vg__ruleset_dropped(c->rs), nr, n_lit, n_always,
                       (unsigned long long)c->mstats.routed,
                       (unsigned long long)c->mstats.candidates,
                       (unsigned long long)c->mstats.regex_limit,
                       (unsigned long long)c->nt_first_seen,
                       (unsigned long long)(c->nt ? vg__newterms_count(c->nt) : 0),
                       (unsigned long long)(c->nt ? vg__newterms_dropped(c->nt) : 0),
                       (unsigned long long)c->ind_hits, c->ind ? vg__indicators_count(c->ind) : 0,
                       (unsigned long long)c->token_findings, (unsigned long long)c->gaps,
                       peak_rss_kb());
        FILE *f = fopen(c->o->summary_path, "w");
        if (!f || fwrite(s.data, 1, s.len, f) != s.len)
            fprintf(stderr, "vigie: error: cannot write %s: %s\n", c->o->summary_path,
                    strerror(errno));
        if (f)
            fclose(f);
        vg__buf_free(&s);
    }
    free(hits);
}

/* ---- the command --------------------------------------------------------------------------- */

static void free_opts(scan_opts *o)
{
    for (uint32_t i = 0; i < o->n_ph; i++) {
        for (uint32_t k = 0; k < o->ph[i].n_values; k++)
            free((void *)o->ph[i].values[k]);
        free((void *)o->ph[i].values);
        free((void *)o->ph[i].name);
    }
    for (uint32_t i = 0; i < o->n_jwks; i++)
        free((void *)o->jwks[i][0]);
    o->n_jwks = 0;
    free(o->inputs);
    o->inputs = NULL;
    o->n_ph = 0;
}

int vg__cmd_scan(int argc, char **argv)
{
    scan_opts o;
    int ex = parse_opts(&o, argc, argv);
    if (ex != VG_EXIT_OK) {
        free_opts(&o);
        return ex < 0 ? VG_EXIT_OK : ex;
    }
    scan_ctx c;
    memset(&c, 0, sizeof c);
    c.o = &o;
    pthread_mutex_init(&c.mu, NULL);
    pthread_mutex_init(&c.hits_mu, NULL);
    pthread_cond_init(&c.cv_work, NULL);
    pthread_cond_init(&c.cv_done, NULL);
    pthread_cond_init(&c.cv_free, NULL);
    worker *workers = NULL;
    int nw = o.threads;
    uint32_t loaded = 0, skipped = 0;
    bool default_pack = false;

    /* rules */
    double t0 = vg__now();
    char defrules[PATH_MAX];
    if (o.n_rule_paths == 0) {
        if (vg__cli_default_rules(defrules, sizeof defrules) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: no rules given (-r) and vigie's own rule pack was not "
                            "found (set VIGIE_RULES)\n");
            ex = VG_EXIT_RULES;
            goto out;
        }
        o.rule_paths[o.n_rule_paths++] = defrules;
        default_pack = true;
    }
    vg_ruleload_opts lo = {vg__cli_diag, NULL, o.ph, o.n_ph};
    c.rl = vg__ruleload_new(&lo);
    if (!c.rl) {
        ex = VG_EXIT_RULES;
        goto out;
    }
    for (uint32_t i = 0; i < o.n_rule_paths; i++) {
        int rc = vg__ruleload_path(c.rl, o.rule_paths[i]);
        if (rc) {
            fprintf(stderr, "vigie: error: %s: %s\n", o.rule_paths[i], vigie_strerror(rc));
            ex = VG_EXIT_RULES;
            goto out;
        }
    }
    for (uint32_t i = 0; i < vg__ruleload_status_count(c.rl); i++) {
        if (vg__ruleload_status(c.rl, i)->rc == VIGIE_OK)
            loaded++;
        else
            skipped++;
    }
    if (vg__fieldmap_load_builtin(&c.fmap, vg__cli_diag, NULL) != VIGIE_OK) {
        fprintf(stderr, "vigie: error: cannot load the built-in field maps\n");
        ex = VG_EXIT_RULES;
        goto out;
    }
    vg_compile_opts co = {vg__cli_diag, NULL, c.fmap, o.logsource_all, o.no_prefilter};
    if (vg__ruleset_compile(c.rl, &co, &c.rs) != VIGIE_OK || vg__ruleset_count(c.rs) == 0) {
        fprintf(stderr, "vigie: error: no usable rule\n");
        ex = VG_EXIT_RULES;
        goto out;
    }
    /* Sigma correlations: the engine over every loaded rule, and per compiled rule the fields
     * its correlations read (group-by, aliases, condition.field) */
    {
        uint32_t nl = vg__ruleload_count(c.rl), n_corr = 0;
        const vg_rule **all = calloc(nl ? nl : 1, sizeof *all);
        for (uint32_t i = 0; all && i < nl; i++) {
            all[i] = vg__ruleload_get(c.rl, i);
            n_corr += all[i] && all[i]->kind == VG_RULE_CORRELATION;
        }
        vg_corr_opts cop = {0, o.lateness_s, false, vg__cli_diag, NULL};
        if (all && n_corr && vg__corr_new(all, nl, &cop, &c.corr) == VIGIE_OK &&
            vg__corr_count(c.corr) > 0) {
            uint32_t nrs = vg__ruleset_count(c.rs);
            c.corr_fields = calloc(nrs, sizeof *c.corr_fields);
            c.n_corr_fields = nrs;
            c.corr_quiet = calloc(nrs, sizeof *c.corr_quiet);
            c.ring = calloc(VG_CORR_RING, sizeof *c.ring);
            for (uint32_t ri = 0; c.corr_fields && c.corr_quiet && c.ring && ri < nrs; ri++) {
                const vg_rule *r = vg__ruleset_rule(c.rs, ri);
                if (!vg__corr_wants(c.corr, r))
                    continue;
                c.corr_quiet[ri] = !vg__corr_generates(c.corr, r);
                const char **fl = calloc(64, sizeof *fl);
                uint32_t nf = 0;
                for (uint32_t i = 0; fl && i < nl; i++) {
                    const vg_rule *cr = all[i];
                    if (!cr || cr->kind != VG_RULE_CORRELATION || !cr->corr)
                        continue;
                    const vg_correlation *k = cr->corr;
                    bool refs = false;
                    for (uint32_t q = 0; q < k->n_rules && !refs; q++)
                        refs = (r->id && !strcmp(k->rules[q], r->id)) ||
                               (r->name && !strcmp(k->rules[q], r->name));
                    if (!refs)
                        continue;
                    const char *want[64];
                    uint32_t n_want = 0;
                    for (uint32_t q = 0; q < k->n_group_by && n_want < 60; q++)
                        want[n_want++] = k->group_by[q];
                    if (k->field)
                        want[n_want++] = k->field;
                    for (uint32_t q = 0; k->aliases && q < k->aliases->n; q++)
                        for (uint32_t z = 0; z < k->aliases->v[q].n && n_want < 63; z++)
                            if ((r->id && !strcmp(k->aliases->v[q].rules[z], r->id)) ||
                                (r->name && !strcmp(k->aliases->v[q].rules[z], r->name)))
                                want[n_want++] = k->aliases->v[q].fields[z];
                    for (uint32_t q = 0; q < n_want && nf < 63; q++) {
                        bool dup = false;
                        for (uint32_t z = 0; z < nf && !dup; z++)
                            dup = !strcmp(fl[z], want[q]);
                        if (!dup)
                            fl[nf++] = want[q];
                    }
                }
                c.corr_fields[ri] = fl;
            }
        }
        free(all);
    }
    if (vg__newterms_new(&c.nt) != VIGIE_OK) {
        ex = VG_EXIT_RULES;
        goto out;
    }
    if (o.baseline_path) {
        struct stat bst;
        if (stat(o.baseline_path, &bst) == 0 &&
            vg__newterms_load(c.nt, o.baseline_path, vg__cli_diag, NULL) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: cannot read baseline %s\n", o.baseline_path);
            ex = VG_EXIT_INPUT;
            goto out;
        }
    }
    if (o.n_jwks) {
        if (vg__keysets_new(&c.keys) != VIGIE_OK) {
            ex = VG_EXIT_RULES;
            goto out;
        }
        for (uint32_t i = 0; i < o.n_jwks; i++) {
            int krc = vg__keysets_load(c.keys, o.jwks[i][0], o.jwks[i][1], vg__cli_diag, NULL);
            if (krc) {
                fprintf(stderr, "vigie: error: %s: %s\n", o.jwks[i][1], vigie_strerror(krc));
                ex = krc == VIGIE_NOENT || krc == VIGIE_IO ? VG_EXIT_INPUT : VG_EXIT_RULES;
                goto out;
            }
        }
    }
    if (default_pack || o.builtin_indicators || o.n_indicator_paths) {
        if (vg__indicators_new(&c.ind, o.indicator_margin_days * 86400.0) != VIGIE_OK) {
            ex = VG_EXIT_RULES;
            goto out;
        }
        if ((default_pack || o.builtin_indicators) &&
            vg__indicators_load_builtin(c.ind, vg__cli_diag, NULL) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: cannot load the built-in indicators\n");
            ex = VG_EXIT_RULES;
            goto out;
        }
        for (uint32_t i = 0; i < o.n_indicator_paths; i++) {
            int irc = vg__indicators_load(c.ind, o.indicator_paths[i], vg__cli_diag, NULL);
            if (irc) {
                fprintf(stderr, "vigie: error: %s: %s\n", o.indicator_paths[i], vigie_strerror(irc));
                ex = irc == VIGIE_NOENT || irc == VIGIE_IO ? VG_EXIT_INPUT : VG_EXIT_RULES;
                goto out;
            }
        }
    }
    if ((o.db_path || o.ledger_dir) && o.format != FMT_JSONL) {
        fprintf(stderr, "vigie: error: --db and --ledger keep JSON alert lines: use --format jsonl\n");
        ex = VG_EXIT_USAGE;
        goto out;
    }
    if (o.key_prefix && !o.ledger_dir) {
        fprintf(stderr, "vigie: error: --key signs a ledger: give --ledger DIR\n");
        ex = VG_EXIT_USAGE;
        goto out;
    }
    if (o.db_path) {
        char derr[512] = "";
        vg_buf args;
        vg__buf_init(&args, 0);
        for (int i = 0; i < o.argc; i++) {
            if (i)
                vg__buf_addc(&args, ' ');
            vg__buf_adds(&args, o.argv[i]);
        }
        int drc = vg__store_open(o.db_path, &c.db, derr, sizeof derr);
        if (drc == VIGIE_OK)
            drc = vg__store_run_begin(c.db, args.data ? args.data : "", &c.run_id);
        vg__buf_free(&args);
        if (drc != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --db %s: %s\n", o.db_path, derr[0] ? derr : vigie_strerror(drc));
            ex = VG_EXIT_INPUT;
            goto out;
        }
    }
    if (o.ledger_dir) {
        char lerr[512] = "";
        if (vg__ledger_open(o.ledger_dir, o.key_prefix, &c.ledger, lerr, sizeof lerr) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --ledger %s: %s\n", o.ledger_dir, lerr);
            ex = VG_EXIT_INPUT;
            goto out;
        }
        vg__jtape_init(&c.sink_tape);
    }
    if (o.campaigns_path || o.db_path) {
        char cerr[512] = "";
        if (o.no_combined) {
            fprintf(stderr, "vigie: error: --campaigns needs combined alerts (drop --no-combined)\n");
            ex = VG_EXIT_USAGE;
            goto out;
        }
        if (vg__campaigns_new(o.asn_db, &c.camp, cerr, sizeof cerr) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --asn-db %s\n", cerr);
            ex = VG_EXIT_INPUT;
            goto out;
        }
    } else if (o.asn_db) {
        fprintf(stderr, "vigie: error: --asn-db is used with --campaigns\n");
        ex = VG_EXIT_USAGE;
        goto out;
    }
    if (!o.no_combined) {
        c.wwp = calloc(1, sizeof *c.wwp);
        if (c.wwp) {
            c.wwp->c = &c;
            vg__jtape_init(&c.wwp->tape);
            vg__buf_init(&c.wwp->tmp, 0);
            vg__buf_init(&c.wwp->extra, 0);
            vg__buf_init(&c.wwp->ftext, 0);
            vg__buf_init(&c.wwp->mr_json, 0);
            vg__buf_init(&c.wwp->mfolders, 0);
            c.wwp->js = vg__jscratch_new();
        }
        if (!c.wwp || !c.wwp->js) {
            ex = VG_EXIT_RULES;
            goto out;
        }
    }
    if (!o.no_combined && vg__sessions_new(&o.sess, &c.sess) != VIGIE_OK) {
        ex = VG_EXIT_RULES;
        goto out;
    }
    double load_s = vg__now() - t0;
    uint32_t nr = vg__ruleset_count(c.rs);
    c.rule_level = calloc(nr, 1);
    c.rule_hits = calloc(nr, sizeof *c.rule_hits);
    if (!c.rule_level || !c.rule_hits) {
        ex = VG_EXIT_RULES;
        goto out;
    }
    for (uint32_t i = 0; i < nr; i++)
        c.rule_level[i] = (uint8_t)level_index(vg__ruleset_rule(c.rs, i)->level);

    /* inputs and output */
    bool missing_input = false;
    for (uint32_t i = 0; i < o.n_inputs; i++) {
        struct stat st;
        if (strcmp(o.inputs[i], "-") != 0 && stat(o.inputs[i], &st) != 0)
            missing_input = true;
    }
    vg__inputs_expand(&c.in, (const char *const *)o.inputs, o.n_inputs, vg__cli_diag, NULL);
    if (c.in.n == 0) {
        fprintf(stderr, "vigie: error: no readable input\n");
        ex = VG_EXIT_INPUT;
        goto out;
    }
    c.out = stdout;
    if (o.out_path && strcmp(o.out_path, "-") != 0) {
        c.out = fopen(o.out_path, "w");
        if (!c.out) {
            fprintf(stderr, "vigie: error: cannot write %s: %s\n", o.out_path, strerror(errno));
            ex = VG_EXIT_INPUT;
            goto out;
        }
    }
    if (o.format == FMT_CSV)
        fputs("time,level,rule_id,rule_title,tenant,file,line,offset\n", c.out);
    else if (o.format == FMT_TABLE)
        fprintf(c.out, "%-24s  %-13s  %-60s  %-36s  %s\n", "TIME", "LEVEL", "RULE", "TENANT",
                "SOURCE");
    c.progress = !o.no_progress && !vg__cli_quiet && isatty(2);

    /* workers and batches */
    c.n_pool = nw == 1 ? 1 : (uint32_t)(2 * nw + 2);
    c.pool = calloc(c.n_pool, sizeof *c.pool);
    workers = calloc((size_t)nw, sizeof *workers);
    if (!c.pool || !workers) {
        ex = VG_EXIT_INPUT;
        goto out;
    }
    for (uint32_t i = 0; i < c.n_pool; i++) {
        vg__buf_init(&c.pool[i].data, 0);
        vg__buf_init(&c.pool[i].out, 0);
        vg__buf_init(&c.pool[i].nt_strs, 0);
        vg__buf_init(&c.pool[i].sf_strs, 0);
        c.pool[i].recs = calloc(BATCH_RECORDS, sizeof(rec_ref));
        if (!c.pool[i].recs) {
            ex = VG_EXIT_INPUT;
            goto out;
        }
        c.pool[i].next = c.free_list;
        c.free_list = &c.pool[i];
    }
    for (int i = 0; i < nw; i++)
        if (worker_init(&workers[i], &c) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: cannot set up worker %d\n", i);
            ex = VG_EXIT_RULES;
            goto out;
        }
    c.t_start = vg__now();
    reader_side rs = {&c, nw == 1 ? &workers[0] : NULL, NULL, 0};
    if (nw > 1)
        for (int i = 0; i < nw; i++)
            pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);
    int rex = read_inputs(&c, &rs);
    if (nw > 1) {
        pthread_mutex_lock(&c.mu);
        drain_done(&c, true, rs.seq);
        c.stop_workers = true;
        pthread_cond_broadcast(&c.cv_work);
        pthread_mutex_unlock(&c.mu);
        for (int i = 0; i < nw; i++)
            pthread_join(workers[i].th, NULL);
    }
    write_combined(&c);
    write_gaps(&c);
    if (c.camp) {
        vg_buf cb;
        vg__buf_init(&cb, 0);
        vg__campaigns_finish(c.camp, &cb, &c.camp_stats);
        if (o.campaigns_path) {
            FILE *cf = fopen(o.campaigns_path, "w");
            if (!cf || (cb.len && fwrite(cb.data, 1, cb.len, cf) != cb.len)) {
                fprintf(stderr, "vigie: error: cannot write %s: %s\n", o.campaigns_path,
                        strerror(errno));
                c.out_error = c.out_error ? c.out_error : EIO;
            }
            if (cf && fclose(cf) != 0)
                c.out_error = c.out_error ? c.out_error : EIO;
        }
        for (const char *p = cb.data, *end = cb.data + cb.len; c.db && p && p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (l)
                vg__store_add_campaign(c.db, p, l);
            p = nl ? nl + 1 : NULL;
        }
        vg__buf_free(&cb);
    }
    double elapsed = vg__now() - c.t_start;
    progress(&c, true);
    if (fflush(c.out) != 0 && !c.out_error)
        c.out_error = errno;
    for (int i = 0; i < nw; i++)
        worker_fini(&workers[i]);
    free(workers);
    workers = NULL;
    write_summary(&c, elapsed, load_s, loaded, skipped, nw);
    if (c.db) {
        if (vg__store_run_end(c.db, c.run_id, c.events, c.alerts + c.sess_alerts + c.gaps, c.bad) !=
                VIGIE_OK ||
            vg__store_flush(c.db) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --db %s: cannot finish the run\n", o.db_path);
            c.out_error = c.out_error ? c.out_error : EIO;
        }
    }
    if (c.ledger) {
        char lerr[512] = "";
        if (vg__ledger_close(c.ledger, lerr, sizeof lerr) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --ledger %s: %s\n", o.ledger_dir, lerr);
            c.out_error = c.out_error ? c.out_error : EIO;
        } else if (!vg__cli_quiet) {
            fprintf(stderr, "vigie: ledger: %llu alert(s) appended to %s, checkpoint %s\n",
                    (unsigned long long)c.ledgered, o.ledger_dir,
                    o.key_prefix ? "signed" : "unsigned");
        }
        c.ledger = NULL;
    }
    if (o.baseline_path && vg__newterms_save(c.nt, o.baseline_path) != VIGIE_OK) {
        fprintf(stderr, "vigie: error: cannot write baseline %s\n", o.baseline_path);
        c.out_error = c.out_error ? c.out_error : EIO;
    }
    if (c.out_error) {
        fprintf(stderr, "vigie: error: writing alerts: %s\n", strerror(c.out_error));
        ex = VG_EXIT_INPUT;
    } else if (rex != VG_EXIT_OK || missing_input) {
        ex = VG_EXIT_INPUT;
    } else if (o.fail_on_alert && (c.alerts || c.sess_alerts)) {
        ex = VG_EXIT_ALERTS;
    }
out:
    if (workers) {
        for (int i = 0; i < nw; i++)
            if (workers[i].c)
                worker_fini(&workers[i]);
        free(workers);
    }
    if (c.out && c.out != stdout)
        fclose(c.out);
    if (c.pool) {
        for (uint32_t i = 0; i < c.n_pool; i++) {
            vg__buf_free(&c.pool[i].data);
            vg__buf_free(&c.pool[i].out);
            vg__buf_free(&c.pool[i].nt_strs);
            free(c.pool[i].pend);
            free(c.pool[i].facts);
            free(c.pool[i].sigs);
            free(c.pool[i].cf);
            free(c.pool[i].sf);
            free(c.pool[i].sf_msgs);
            vg__buf_free(&c.pool[i].sf_strs);
            free(c.pool[i].recs);
        }
        free(c.pool);
    }
    vg__inputs_free(&c.in);
    free(c.rule_level);
    free(c.rule_hits);
    if (c.rs)
        vg__ruleset_free(c.rs);
    if (c.rl)
        vg__ruleload_free(c.rl);
    if (c.fmap)
        vg__fieldmap_free(c.fmap);
    vg__newterms_free(c.nt);
    vg__indicators_free(c.ind);
    vg__keysets_free(c.keys);
    vg__sessions_free(c.sess);
    if (c.wwp) {
        worker_fini(c.wwp);
        free(c.wwp);
    }
    vg__campaigns_free(c.camp);
    if (c.ledger)
        vg__ledger_close(c.ledger, NULL, 0);
    vg__store_close(c.db);
    vg__jtape_free(&c.sink_tape);
    for (uint32_t i = 0; c.corr_fields && i < c.n_corr_fields; i++)
        free(c.corr_fields[i]);
    free(c.corr_fields);
    free(c.corr_quiet);
    free(c.ring);
    vg__corr_free(c.corr);
    for (uint32_t i = 0; i < c.n_vis; i++)
        free(c.vis[i].days);
    free(c.vis);
    free_opts(&o);
    pthread_cond_destroy(&c.cv_work);
    pthread_cond_destroy(&c.cv_done);
    pthread_cond_destroy(&c.cv_free);
    pthread_mutex_destroy(&c.mu);
    pthread_mutex_destroy(&c.hits_mu);
    return ex;
}
