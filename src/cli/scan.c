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
 * This file owns the run (options, set-up, threads, reading, summary); a worker's work per
 * record is in src/pipeline/worker.c, the writer's in src/pipeline/writer.c (pipeline.h).
 *
 * Memory does not grow with the number of records: a fixed pool of 2N+2 batches is
 * recycled. What outlives a batch (first-seen terms, session groups, sign-in ids,
 * correlation groups) is bounded in util/limits.h. A bad record is reported with
 * file:line, counted by reason and skipped.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>

#include "cli.h"
#include "pipeline/pipeline.h"

/* The progress bar on a terminal (the pipeline calls it after each batch). */
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

/* ---- options ------------------------------------------------------------------------------ */

static void scan_usage(FILE *f)
{
    fputs("usage: vigie scan [-r RULES]... [options] INPUT...\n"
          "\n"
          "INPUT: files, directories (recursive) or - for stdin. The format (NDJSON, JSON array,\n"
          "{\"Records\":[...]}/{\"value\":[...]}, concatenated JSON, CSV with a JSON column or with\n"
          "field columns; gzip/zstd; UTF-8 or UTF-16) is detected from the content.\n"
          "\n"
          "  -r, --rules PATH        Sigma rule file or directory (repeatable); default: vigie's pack\n"
          "  -o, --output FILE       write alerts to FILE instead of stdout\n"
          "      --format FMT        jsonl (default) | csv | table\n"
          "  -j, --threads N         worker threads (default: number of cores)\n"
          "      --logsource=all     evaluate every rule on every event (no logsource routing)\n"
          "      --summary-json FILE write the end summary as one JSON object\n"
          "      --max-decompressed BYTES  most decompressed bytes per input (suffix K, M, G, T;\n"
          "                          default 64G); the rest of a file past it is not read\n"
          "  -p, --placeholder NAME=V1[,V2...]  values for |expand placeholders (repeatable)\n"
          "      --baseline FILE     first-seen state: loaded if FILE exists, saved at the end\n"
          "      --state FILE        the whole state (first-seen terms, sessions and the sign-in\n"
          "                          join, correlations, visibility, campaigns): loaded if FILE\n"
          "                          exists, saved at the end; without --finish, what the latest\n"
          "                          event time has closed is written and the rest stays open\n"
          "      --finish            close everything at the end (what a run without --state does)\n"
          "      --jwks ISSUER=FILE  the issuer's key set (JWKS) for bearer-token checks; ISSUER may\n"
          "                          hold one '*' (repeatable)\n"
          "      --indicators FILE   indicators with time windows: vigie YAML or STIX 2.1 (repeatable)\n"
          "      --indicator-margin DAYS  widen every indicator window (default 7)\n"
          "      --signin-window HOURS  a token is used up to HOURS after its sign-in (default\n"
          "                          24); mail access outside it has no sign-in\n"
          "      --session-window DAYS  a session, up to DAYS after its last sign-in (default 30)\n"
          "      --signin-lateness HOURS  a mail access waits this long in event time for its\n"
          "                          sign-in (default 2) when the state advances before the\n"
          "                          end; one file-mode run joins at the end of input\n"
          "      --actor-hours SPEC  the actor's working hours in UTC (default \"Mon-Fri 00-09\"),\n"
          "                          supporting evidence in combined alerts\n"
          "      --campaigns FILE    write campaigns (alerts of many tenants linked by shared\n"
          "                          infrastructure) as JSON lines to FILE\n"
          "      --asn-db FILE       a MaxMind-format ASN database (GeoLite2-ASN): link by\n"
          "                          autonomous system too\n"
          "      --db FILE           also keep alerts, evidence and campaigns in a SQLite store\n"
          "                          (docs/STORE.md); runs append without duplicates\n"
          "      --db-timeout SECONDS  wait this long for another writer of the --db store\n"
          "                          (default 30), then fail with \"database is locked\"\n"
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
          "      --regex-limit=alert|ignore  a record on which a regex hits a PCRE2 limit and\n"
          "                          leaves its rule undecided: an \"undetermined\" alert and a\n"
          "                          warning (alert, the default), or no match (ignore)\n"
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

/* "64G", "1M", "500000": bytes, with an optional binary suffix K, M, G or T (and B/iB). */
static int parse_bytes(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || errno || v[0] == '-')
        return -1;
    static const char units[] = "KMGT";
    unsigned shift = 0;
    for (unsigned k = 0; k < 4 && *end; k++)
        if ((*end & ~0x20) == units[k]) { /* ASCII case-insensitive */
            shift = 10 * (k + 1);
            end++;
            break;
        }
    if (shift && *end == 'i')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || n == 0 || n > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)n << shift;
    return 0;
}

static int parse_opts(scan_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = nproc > 0 ? (int)nproc : 1;
    o->indicator_margin_days = 7;
    o->lateness_s = 3600;
    o->db_timeout_ms = 30000;
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
        } else if (opt_is(a, "--max-decompressed", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            if (parse_bytes(v, &o->max_decompressed)) {
                fprintf(stderr, "vigie: error: --max-decompressed takes a number of bytes "
                                "(suffix K, M, G or T), e.g. 64G\n");
                return VG_EXIT_USAGE;
            }
        } else if (opt_is(a, "--state", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            o->state_path = v;
        } else if (!strcmp(a, "--finish")) {
            o->finish = true;
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
        } else if (opt_is(a, "--session-window", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            char *end;
            double d = strtod(v, &end);
            if (*end || d <= 0) {
                fprintf(stderr, "vigie: error: --session-window takes a number of days\n");
                return VG_EXIT_USAGE;
            }
            o->sess.session_window_s = d * 86400;
        } else if (opt_is(a, "--signin-lateness", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            char *end;
            double h = strtod(v, &end);
            if (*end || h <= 0) {
                fprintf(stderr, "vigie: error: --signin-lateness takes a number of hours\n");
                return VG_EXIT_USAGE;
            }
            o->sess.signin_lateness_s = h * 3600;
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
        } else if (opt_is(a, "--db-timeout", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            char *end;
            double s = strtod(v, &end);
            /* a day at most: the busy timeout is an int of milliseconds */
            if (end == v || *end || !(s >= 0 && s <= 86400)) {
                fprintf(stderr,
                        "vigie: error: --db-timeout takes a number of seconds (0 to 86400)\n");
                return VG_EXIT_USAGE;
            }
            o->db_timeout_ms = (int)(s * 1000);
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
        } else if (opt_is(a, "--regex-limit", &nl)) {
            if (!(v = opt_value(argc, argv, &i, a, nl)))
                goto missing;
            if (strcmp(v, "alert") != 0 && strcmp(v, "ignore") != 0) {
                fprintf(stderr, "vigie: error: --regex-limit takes alert or ignore\n");
                return VG_EXIT_USAGE;
            }
            o->regex_limit_ignore = strcmp(v, "ignore") == 0;
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
    if (o->finish && !o->state_path) {
        fprintf(stderr, "vigie: error: --finish closes a saved state: it needs --state FILE\n");
        return VG_EXIT_USAGE;
    }
    if (o->state_path && o->baseline_path) {
        fprintf(stderr, "vigie: error: --state holds the first-seen terms too: give --state or "
                        "--baseline, not both\n");
        return VG_EXIT_USAGE;
    }
    if (o->n_inputs == 0 && !(o->finish && o->state_path)) {
        fprintf(stderr, "vigie: error: no input (give files, directories or - for stdin)\n");
        scan_usage(stderr);
        return VG_EXIT_USAGE;
    }
    return VG_EXIT_OK;
}

/* ---- interruption ---------------------------------------------------------------------------- */

/* SIGINT / SIGTERM: the first one asks the reader to stop at the next record; batches in
 * flight are still matched and written, the store commits, the ledger checkpoints, and the
 * run exits 128 + signo. A second signal exits at once (_exit: what was committed and
 * appended stays; the ledger's tail is recovered by the next open). */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (stop_signal)
        _exit(128 + sig);
    stop_signal = sig;
}

static void install_stop_handlers(struct sigaction old[2])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* a read in progress completes; the reader checks the flag */
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void restore_stop_handlers(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
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

/* Returns false when --summary-json could not be written (said on stderr). */
static bool write_summary(scan_ctx *c, double elapsed, double load_s, uint32_t loaded,
                          uint32_t skipped, int threads)
{
    bool ok = true;
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
        if (c->unreadable_files)
            fprintf(stderr, "vigie: unreadable files (not a log vigie can read, 0 events): %llu\n",
                    (unsigned long long)c->unreadable_files);
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
                fprintf(stderr, ", %s %llu", vg__scan_level_names[i], (unsigned long long)c->by_level[i]);
        if (c->undetermined)
            fprintf(stderr, "; undetermined (regex limit) %llu", (unsigned long long)c->undetermined);
        fputc('\n', stderr);
        if (c->undetermined > c->undet_warned)
            fprintf(stderr, "vigie: warning: %llu more undetermined alert(s) not shown\n",
                    (unsigned long long)(c->undetermined - c->undet_warned));
        if (c->o->regex_limit_ignore && c->mstats.undetermined)
            fprintf(stderr, "vigie: warning: %llu (record, rule) pair(s) left undecided by a regex "
                            "limit were taken as no match (--regex-limit=ignore)\n",
                    (unsigned long long)c->mstats.undetermined);
        fprintf(stderr, "vigie: combined alerts (per tenant, user, session): %llu",
                (unsigned long long)c->sess_alerts);
        for (int i = 4; i >= 0; i--)
            if (c->sess_by_level[i])
                fprintf(stderr, ", %s %llu", vg__sessions_level_name(i),
                        (unsigned long long)c->sess_by_level[i]);
        fprintf(stderr, "; mail access without sign-in %llu, unlinkable %llu\n",
                (unsigned long long)c->sess_stats.no_signin,
                (unsigned long long)c->sess_stats.unlinkable);
        for (uint32_t i = 0; c->vis && i < vg__vis_count(c->vis) && i < 50; i++) {
            vg_vis_tenant tv, *t = &tv;
            vg__vis_tenant(c->vis, i, t);
            if (!t->gaps)
                continue;
            char safe[80]; /* a tenant from the logs, shown on a terminal: escaped */
            vg__escape_to(safe, sizeof safe, t->tenant, strlen(t->tenant));
            fprintf(stderr, "vigie: visibility %s: %llu mail record(s), %llu throttled, %llu of "
                            "them linkable to sign-ins, %llu gap record(s)\n",
                    safe, (unsigned long long)t->n, (unsigned long long)t->throttled,
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
            vg__print_escaped(stderr, "vigie:   %8llu  %-8s  %s\n", (unsigned long long)hits[i].n,
                              r->level ? r->level : "-", r->title ? r->title : "(untitled)");
        }
    }
    if (c->o->summary_path) {
        vg_buf s;
        vg__buf_init(&s, 0);
        vg__buf_printf(&s,
                       "{\"events\":%llu,\"bytes\":%llu,\"bytes_read\":%llu,\"files\":%llu,"
                       "\"unreadable_files\":%llu,\"bad_records\":%llu,\"bad_by_reason\":{",
                       (unsigned long long)c->events, (unsigned long long)c->bytes,
                       (unsigned long long)c->bytes_read, (unsigned long long)c->files,
                       (unsigned long long)c->unreadable_files, (unsigned long long)c->bad);
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
                vg__buf_printf(&s, "%s\"%s\":%llu", first ? "" : ",", vg__scan_level_names[i],
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
        for (uint32_t i = 0; c->vis && i < vg__vis_count(c->vis); i++) {
            vg_vis_tenant tv, *t = &tv;
            vg__vis_tenant(c->vis, i, t);
            char a[40] = "", z[40] = "";
            if (t->first <= t->last) {
                vg__format_time(t->first, a, sizeof a);
                vg__format_time(t->last, z, sizeof z);
            }
            vg__buf_adds(&s, i ? ",{\"tenant\":" : "{\"tenant\":");
            vg__alert_json_str_or_null(&s, t->tenant, strlen(t->tenant));
            vg__buf_printf(&s, ",\"mail_records\":%llu,\"throttled\":%llu,\"linkable\":%llu,"
                               "\"sign_ins\":%s,\"first\":",
                           (unsigned long long)t->n, (unsigned long long)t->throttled,
                           (unsigned long long)t->linkable,
                           c->sess && vg__sessions_tenant_has_signins(c->sess, t->tenant) ? "true"
                                                                                       : "false");
            vg__alert_json_str_or_null(&s, a[0] ? a : NULL, strlen(a));
            vg__buf_adds(&s, ",\"last\":");
            vg__alert_json_str_or_null(&s, z[0] ? z : NULL, strlen(z));
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
            vg__alert_json_str_or_null(&s, r->id, r->id ? strlen(r->id) : 0);
            vg__buf_adds(&s, ",\"title\":");
            vg__alert_json_str_or_null(&s, r->title, r->title ? strlen(r->title) : 0);
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
                       "\"regex_limit\":\"%s\",\"regex_undecided\":%llu,\"undetermined\":%llu,"
                       "\"new_terms_first_seen\":%llu,\"new_terms_remembered\":%llu,"
                       "\"new_terms_dropped\":%llu,\"indicator_hits\":%llu,"
                       "\"indicators\":%u,\"token_findings\":%llu,\"gaps\":%llu,"
                       "\"peak_rss_kb\":%ld}\n",
                       elapsed, eps, mbps, threads, load_s, loaded, skipped,
                       vg__ruleset_dropped(c->rs), nr, n_lit, n_always,
                       (unsigned long long)c->mstats.routed,
                       (unsigned long long)c->mstats.candidates,
                       (unsigned long long)c->mstats.regex_limit,
                       c->o->regex_limit_ignore ? "ignore" : "alert",
                       (unsigned long long)c->mstats.undetermined,
                       (unsigned long long)c->undetermined,
                       (unsigned long long)c->nt_first_seen,
                       (unsigned long long)(c->nt ? vg__newterms_count(c->nt) : 0),
                       (unsigned long long)(c->nt ? vg__newterms_dropped(c->nt) : 0),
                       (unsigned long long)c->ind_hits, c->ind ? vg__indicators_count(c->ind) : 0,
                       (unsigned long long)c->token_findings, (unsigned long long)c->gaps,
                       peak_rss_kb());
        if (vg__safefile_write(c->o->summary_path, s.data, s.len) != VIGIE_OK) {
            vg__print_escaped(stderr, "vigie: error: cannot write %s: %s\n", c->o->summary_path,
                              strerror(errno));
            ok = false;
        }
        vg__buf_free(&s);
    }
    free(hits);
    return ok;
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
    c.diag = vg__cli_diag;
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
            vg__print_escaped(stderr, "vigie: error: %s: %s\n", o.rule_paths[i],
                              vigie_strerror(rc));
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
    vg_detect_opts dopt = {.time_field = o.time_field};
    if (vg__detect_new(c.fmap, &dopt, vg__cli_diag, NULL, &c.det) != VIGIE_OK) {
        fprintf(stderr, "vigie: error: cannot load the built-in record-fact lists\n");
        ex = VG_EXIT_RULES;
        goto out;
    }
    vg_compile_opts co = {vg__cli_diag, NULL, c.fmap, o.logsource_all, o.no_prefilter};
    if (vg__ruleset_compile(c.rl, &co, &c.rs) != VIGIE_OK || vg__ruleset_count(c.rs) == 0) {
        fprintf(stderr, "vigie: error: no usable rule\n");
        ex = VG_EXIT_RULES;
        goto out;
    }
    vg__pipeline_plan_corr(&c, o.lateness_s); /* Sigma correlations and the fields they read */
    if (vg__newterms_new(&c.nt) != VIGIE_OK) {
        ex = VG_EXIT_RULES;
        goto out;
    }
    if (o.baseline_path) {
        struct stat bst;
        if (stat(o.baseline_path, &bst) == 0 &&
            vg__newterms_load(c.nt, o.baseline_path, vg__cli_diag, NULL) != VIGIE_OK) {
            vg__print_escaped(stderr, "vigie: error: cannot read baseline %s\n", o.baseline_path);
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
                vg__print_escaped(stderr, "vigie: error: %s: %s\n", o.jwks[i][1],
                                  vigie_strerror(krc));
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
                vg__print_escaped(stderr, "vigie: error: %s: %s\n", o.indicator_paths[i],
                                  vigie_strerror(irc));
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
        int drc = vg__store_open_wait(o.db_path, o.db_timeout_ms, &c.db, derr, sizeof derr);
        if (drc == VIGIE_OK &&
            (drc = vg__store_run_begin(c.db, args.data ? args.data : "", &c.run_id)) != VIGIE_OK)
            snprintf(derr, sizeof derr, "%s", vg__store_errmsg(c.db));
        vg__buf_free(&args);
        if (drc != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --db %s: %s\n", o.db_path, derr[0] ? derr : vigie_strerror(drc));
            ex = VG_EXIT_INPUT;
            goto out;
        }
        vg_store_stats dst;
        vg__store_stats_get(c.db, &dst);
        if (dst.runs_interrupted && !vg__cli_quiet)
            fprintf(stderr, "vigie: --db %s: %llu earlier run(s) marked interrupted\n", o.db_path,
                    (unsigned long long)dst.runs_interrupted);
    }
    if (o.ledger_dir) {
        char lerr[512] = "";
        if (vg__ledger_open(o.ledger_dir, o.key_prefix, vg__cli_diag, NULL, &c.ledger, lerr,
                            sizeof lerr) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --ledger %s: %s\n", o.ledger_dir, lerr);
            ex = VG_EXIT_INPUT;
            goto out;
        }
    }
    if ((o.campaigns_path || o.db_path || o.state_path) && !(o.no_combined && o.state_path)) {
        /* a saved state knows every campaign, whether this run writes them or not */
        if (o.no_combined) {
            fprintf(stderr, "vigie: error: %s needs combined alerts (drop --no-combined)\n",
                    o.campaigns_path ? "--campaigns" : "--db");
            ex = VG_EXIT_USAGE;
            goto out;
        }
        if (vg__campaigns_new(o.asn_db, vg__cli_diag, NULL, &c.camp) != VIGIE_OK) {
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
            c.wwp->js = vg__jscratch_new();
            c.wwp->ds = vg__detect_scratch_new();
        }
        if (!c.wwp || !c.wwp->js || !c.wwp->ds) {
            ex = VG_EXIT_RULES;
            goto out;
        }
    }
    if (vg__vis_new(&c.vis) != VIGIE_OK) {
        ex = VG_EXIT_RULES;
        goto out;
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
        c.rule_level[i] = (uint8_t)vg__scan_level_index(vg__ruleset_rule(c.rs, i)->level);

    /* inputs and output */
    bool missing_input = false, side_fail = false; /* side_fail: summary, campaigns, baseline */
    for (uint32_t i = 0; i < o.n_inputs; i++) {
        struct stat st;
        if (strcmp(o.inputs[i], "-") != 0 && stat(o.inputs[i], &st) != 0)
            missing_input = true;
    }
    vg__inputs_expand(&c.in, (const char *const *)o.inputs, o.n_inputs, vg__cli_diag, NULL);
    if (c.in.n == 0 && o.n_inputs) {
        fprintf(stderr, "vigie: error: no readable input\n");
        ex = VG_EXIT_INPUT;
        goto out;
    }
    c.max_t = -INFINITY;
    if (o.state_path && vg__pipeline_state_load(&c) != VIGIE_OK) {
        ex = VG_EXIT_INPUT;
        goto out;
    }
    c.out = stdout;
    if (o.out_path && strcmp(o.out_path, "-") != 0) {
        c.out = fopen(o.out_path, "w");
        if (!c.out) {
            vg__print_escaped(stderr, "vigie: error: cannot write %s: %s\n", o.out_path,
                              strerror(errno));
            ex = VG_EXIT_INPUT;
            goto out;
        }
    }
    vg__alert_header(&c.wr_render, o.format);
    vg__scan_write_out(&c, c.wr_render.data, c.wr_render.len);
    vg__buf_reset(&c.wr_render);
    vg__scan_sinks_init(&c);
    c.progress = !o.no_progress && !vg__cli_quiet && isatty(2);
    c.on_progress = progress;

    /* workers and batches */
    c.n_pool = nw == 1 ? 1 : (uint32_t)(2 * nw + 2);
    c.pool = calloc(c.n_pool, sizeof *c.pool);
    workers = calloc((size_t)nw, sizeof *workers);
    if (!c.pool || !workers) {
        ex = VG_EXIT_INPUT;
        goto out;
    }
    for (uint32_t i = 0; i < c.n_pool; i++)
        if (vg__pipeline_batch_init(&c, &c.pool[i]) != VIGIE_OK) {
            ex = VG_EXIT_INPUT;
            goto out;
        }
    for (int i = 0; i < nw; i++)
        if (vg__scan_worker_init(&workers[i], &c) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: cannot set up worker %d\n", i);
            ex = VG_EXIT_RULES;
            goto out;
        }
    c.t_start = vg__now();
    c.stop = &stop_signal;
    struct sigaction old_sa[2];
    install_stop_handlers(old_sa);
    int rex = vg__pipeline_run(&c, workers, nw) == VIGIE_OK ? VG_EXIT_OK : VG_EXIT_INPUT;
    if (!c.interrupted)
        c.interrupted = stop_signal; /* a signal while the last batches were written */
    if (c.interrupted) {
        /* The sign-in join, combined alerts, gaps and campaigns need the whole input: on a
         * part of it they would call access "without sign-in" whose sign-in was not read. */
        fprintf(stderr,
                "vigie: interrupted (%s): reading stopped after %llu events; the alerts found are "
                "written; combined alerts, gaps and campaigns need the whole input and were not "
                "made: run the scan again to complete it\n",
                c.interrupted == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)c.events);
    } else if (o.state_path && !o.finish) {
        /* a slice of a longer log: close what the latest event time has closed, keep the
         * rest open in the saved state for the next run (docs/STATE.md) */
        vg__scan_advance(&c, c.max_t);
    } else {
        vg__scan_write_combined(&c);
        vg__scan_write_gaps(&c);
    }
    if (!c.interrupted && stop_signal) {
        /* while combined alerts and gaps were written: the rest is not started */
        c.interrupted = stop_signal;
        fprintf(stderr, "vigie: interrupted (%s) at the end of input: campaigns were not made: "
                        "run the scan again to complete it\n",
                c.interrupted == SIGINT ? "SIGINT" : "SIGTERM");
    }
    if (c.camp && !c.interrupted) {
        vg_buf cb;
        vg__buf_init(&cb, 0);
        vg__campaigns_finish(c.camp, &cb, &c.camp_stats);
        if (o.campaigns_path && vg__safefile_write(o.campaigns_path, cb.data, cb.len) != VIGIE_OK) {
            vg__print_escaped(stderr, "vigie: error: cannot write %s: %s\n", o.campaigns_path,
                              strerror(errno));
            side_fail = true; /* exit 4, but not "writing alerts" */
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
        vg__scan_worker_fini(&workers[i]);
    free(workers);
    workers = NULL;
    if (!write_summary(&c, elapsed, load_s, loaded, skipped, nw))
        side_fail = true;
    if (c.db && !c.db_failed && vg__store_failure(c.db))
        vg__scan_store_failed(&c); /* the campaigns' lines failed */
    if (c.ledger) {
        /* the run manifest: every input's path, size and SHA-256, re-read now (the readers
         * hand over records, not raw bytes; docs/LEDGER.md gives the cost) */
        char lerr[512] = "";
        uint64_t mbytes = 0;
        double mt = vg__now();
        /* an interrupted run names the inputs it reached, not those it never read */
        uint32_t n_man = c.interrupted ? c.n_reached : c.in.n;
        if (vg__ledger_append_manifest(c.ledger, (const char *const *)c.in.paths, n_man,
                                       &mbytes) != VIGIE_OK) {
            vg__scan_ledger_failed(&c);
        } else if (!vg__cli_quiet) {
            fprintf(stderr,
                    "vigie: ledger: run manifest of %u file(s), %llu bytes hashed in "
                    "%.2f s\n",
                    n_man, (unsigned long long)mbytes, vg__now() - mt);
        }
        if (!c.ledger) {
            /* failed above: said once, closed */
        } else if (vg__ledger_close(c.ledger, lerr, sizeof lerr) != VIGIE_OK) {
            fprintf(stderr, "vigie: error: --ledger %s: %s\n", o.ledger_dir, lerr);
            c.ledger_failed = true;
        } else if (!vg__cli_quiet) {
            fprintf(stderr, "vigie: ledger: %llu alert(s) appended to %s, checkpoint %s\n",
                    (unsigned long long)c.ledgered, o.ledger_dir,
                    o.key_prefix ? "signed" : "unsigned");
        }
        c.ledger = NULL;
    }
    if (o.state_path && c.interrupted) {
        vg__print_escaped(stderr,
                          "vigie: --state %s: not saved (the run was interrupted): the file keeps "
                          "the state from before this run; scan the same inputs again\n",
                          o.state_path);
    } else if (o.state_path && !vg__pipeline_state_save(&c)) {
        side_fail = true;
    }
    if (o.baseline_path && vg__newterms_save(c.nt, o.baseline_path) != VIGIE_OK) {
        vg__print_escaped(stderr, "vigie: error: cannot write baseline %s: %s\n", o.baseline_path,
                          strerror(errno));
        side_fail = true;
    }
    /* Last, so that the run's state covers every output: 'failed' when any was not written,
     * 'interrupted' when a signal stopped reading. */
    if (c.db) {
        bool failed = c.out_error || c.db_failed || c.ledger_failed || side_fail;
        int state = c.interrupted ? VG_RUN_INTERRUPTED : failed ? VG_RUN_FAILED : VG_RUN_FINISHED;
        if (vg__store_run_end(c.db, c.run_id, state, c.events, c.alerts + c.sess_alerts + c.gaps,
                              c.bad) != VIGIE_OK &&
            !c.db_failed) {
            fprintf(stderr, "vigie: error: --db %s: cannot finish the run: %s\n", o.db_path,
                    vg__store_errmsg(c.db));
            c.db_failed = true;
        }
    }
    if (c.out_error)
        fprintf(stderr, "vigie: error: writing alerts: %s\n", strerror(c.out_error));
    if (c.interrupted) {
        ex = 128 + c.interrupted; /* 130 / 143, whatever else happened */
    } else if (c.out_error) {
        ex = VG_EXIT_INPUT;
    } else if (c.db_failed || c.ledger_failed) {
        ex = VG_EXIT_INPUT;
    } else if (rex != VG_EXIT_OK || missing_input || side_fail) {
        ex = VG_EXIT_INPUT;
    } else if (o.fail_on_alert && (c.alerts || c.sess_alerts)) {
        ex = VG_EXIT_ALERTS;
    }
    restore_stop_handlers(old_sa);
out:
    if (workers) {
        for (int i = 0; i < nw; i++)
            if (workers[i].c)
                vg__scan_worker_fini(&workers[i]);
        free(workers);
    }
    if (c.out && c.out != stdout)
        fclose(c.out);
    if (c.pool) {
        for (uint32_t i = 0; i < c.n_pool; i++)
            vg__pipeline_batch_free(&c.pool[i]);
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
    vg__detect_free(c.det);
    vg__newterms_free(c.nt);
    vg__indicators_free(c.ind);
    vg__keysets_free(c.keys);
    vg__sessions_free(c.sess);
    if (c.wwp) {
        vg__scan_worker_fini(c.wwp);
        free(c.wwp);
    }
    vg__campaigns_free(c.camp);
    if (c.ledger)
        vg__ledger_close(c.ledger, NULL, 0);
    vg__store_close(c.db);
    vg__buf_free(&c.wr_render);
    vg__pipeline_plan_corr_free(&c);
    for (uint32_t i = 0; i < c.n_old_paths; i++)
        free(c.old_paths[i]);
    free(c.old_paths);
    vg__vis_free(c.vis);
    free_opts(&o);
    pthread_cond_destroy(&c.cv_work);
    pthread_cond_destroy(&c.cv_done);
    pthread_cond_destroy(&c.cv_free);
    pthread_mutex_destroy(&c.mu);
    pthread_mutex_destroy(&c.hits_mu);
    return ex;
}
