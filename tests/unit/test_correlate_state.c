/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_state.c: the ordered state of sessions and first-seen terms on event time.
 * Session windows (records of one key more than the gap apart are two groups, a record that
 * bridges them makes one, in any arrival order; a later window's key carries its first time),
 * the sign-in lateness (an access waits for its sign-in until the watermark passes it),
 * sign-in ids aging out, emission order the same for any batching of advance, save/load
 * (half fed, saved, loaded into a fresh object, the rest fed: the same alerts as one pass;
 * every truncation and corruption of a section refused without harm), and first-seen terms
 * with a time to live and an LRU bound, saved and loaded likewise.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlate/correlate.h"
#include "util/ser.h"
#include "test.h"

#define T0 1685934000.0 /* 2023-06-05 03:00 UTC, a Monday */
#define HOUR 3600.0
#define DAY 86400.0

static const vg_sess_signal sig_high = {"consumer_tenant_token", "sigma", "r2", "high", 1, NULL};

/* Every emitted alert as one text line: what a test compares. */
static int render(void *ud, const vg_sess_alert *a)
{
    vg_buf *b = ud;
    char k[600];
    snprintf(k, sizeof k, "%s", a->key);
    for (char *p = k; *p; p++)
        if (*p == '\x1f')
            *p = '|';
    vg__buf_printf(b, "%s lv=%d score=%d rec=%llu mail=%llu msgs=%llu ns=%llu ul=%llu m=%llu "
                      "first=%.0f last=%.0f ev=%u",
                   k, a->level, a->score, (unsigned long long)a->records,
                   (unsigned long long)a->mail, (unsigned long long)a->messages,
                   (unsigned long long)a->no_signin, (unsigned long long)a->unlinkable,
                   (unsigned long long)a->matched, a->first, a->last, a->n_evidence);
    for (uint32_t i = 0; i < a->n_signals; i++)
        vg__buf_printf(b, " %s", a->signals[i].name);
    for (uint32_t i = 0; i < a->n_evidence; i++)
        vg__buf_printf(b, " %s:%llu%s%s", a->evidence[i].file,
                       (unsigned long long)a->evidence[i].line, a->evidence[i].alert_ids ? "#" : "",
                       a->evidence[i].alert_ids ? a->evidence[i].alert_ids : "");
    for (uint32_t i = 0; i < a->n_ips; i++)
        vg__buf_printf(b, " ip=%s", a->ips[i]);
    vg__buf_addc(b, '\n');
    return 0;
}

static size_t count_lines(const vg_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->data[i] == '\n';
    return n;
}

/* one step of a scripted input: a sign-in, or a record (with a signal when sig) */
typedef struct step {
    char kind; /* 's' sign-in, 'm' mail access, 'a' signal on a non-mail record */
    const char *user, *session, *token;
    double t;
    const char *ip;
} step;

static void feed(vg_sessions *s, const step *st)
{
    if (st->kind == 's') {
        vg__sessions_signin(s, "T", st->session, st->token, st->t);
        return;
    }
    char file[32], ids[32];
    snprintf(file, sizeof file, "f%d.json", (int)((long long)st->t % 3)); /* a copy: interned */
    snprintf(ids, sizeof ids, "id%.0f", st->t);
    uint64_t msgs[2] = {(uint64_t)st->t, 7};
    vg_sess_rec r = {.tenant = "T", .user = st->user, .session = st->session,
                     .token = st->token, .t = st->t, .has_time = true, .mail = st->kind == 'm',
                     .file = file, .line = (uint64_t)st->t % 1000, .ip = st->ip};
    if (st->kind == 'a') {
        r.signals = &sig_high;
        r.n_signals = 1;
        r.alert_ids = ids;
    } else {
        r.msgs = msgs;
        r.n_msgs = 2;
    }
    CHECK_EQ_INT(vg__sessions_add(s, &r), VIGIE_OK);
}

static void test_windows_split_and_merge(void)
{
    /* one session key: records an hour apart, then two days later: two windows; a record
     * between them within the gap of both: one window, whatever the order */
    const step steps[] = {{'a', "alice", "S1", NULL, T0, "1.1.1.1"},
                          {'a', "alice", "S1", NULL, T0 + HOUR, NULL},
                          {'a', "alice", "S1", NULL, T0 + 2 * DAY, "2.2.2.2"},
                          {'a', "alice", "S1", NULL, T0 + 1 * DAY, NULL}};
    vg_buf two, one, rev;
    vg__buf_init(&two, 0);
    vg__buf_init(&one, 0);
    vg__buf_init(&rev, 0);
    vg_sessions *s;
    CHECK_EQ_INT(vg__sessions_new(NULL, &s), VIGIE_OK);
    for (int i = 0; i < 3; i++)
        feed(s, &steps[i]);
    CHECK_EQ_INT(vg__sessions_finish(s, render, &two, NULL), VIGIE_OK);
    vg__sessions_free(s);
    CHECK_EQ_INT((int)count_lines(&two), 2);
    /* the first window keeps the bare key (the id of an unsplit group does not change), the
     * second carries its first time */
    CHECK(strstr(two.data, "T|alice|s:S1 lv=") != NULL);
    CHECK(strstr(two.data, "T|alice|s:S1|w:2023-06-07T03:00:00.000Z lv=") != NULL);
    vg__sessions_new(NULL, &s);
    for (int i = 0; i < 4; i++)
        feed(s, &steps[i]);
    vg__sessions_finish(s, render, &one, NULL);
    vg__sessions_free(s);
    CHECK_EQ_INT((int)count_lines(&one), 1);
    CHECK(strstr(one.data, "rec=4") != NULL);
    CHECK(strstr(one.data, "ip=1.1.1.1 ip=2.2.2.2") != NULL);
    vg__sessions_new(NULL, &s);
    const int order[] = {3, 0, 2, 1};
    for (int i = 0; i < 4; i++)
        feed(s, &steps[order[i]]);
    vg__sessions_finish(s, render, &rev, NULL);
    vg__sessions_free(s);
    CHECK_EQ_INT((int)count_lines(&rev), 1);
    CHECK(strstr(rev.data, "rec=4 mail=0 msgs=0 ns=0 ul=0 m=0 first=1685934000 last=1686106800") !=
          NULL);
    vg__buf_free(&two);
    vg__buf_free(&one);
    vg__buf_free(&rev);
}

static void test_gap_option(void)
{
    vg_sess_opts o = {.session_gap_s = HOUR};
    vg_sessions *s;
    vg__sessions_new(&o, &s);
    const step a = {'a', "bob", "S2", NULL, T0, NULL}, b = {'a', "bob", "S2", NULL, T0 + 2 * HOUR, NULL};
    feed(s, &a);
    feed(s, &b);
    vg_buf out;
    vg__buf_init(&out, 0);
    vg__sessions_finish(s, render, &out, NULL);
    CHECK_EQ_INT((int)count_lines(&out), 2); /* two hours apart, a one-hour gap: two groups */
    vg__sessions_free(s);
    vg__buf_free(&out);
}

static void test_lateness(void)
{
    vg_sess_opts o = {.session_gap_s = 600, .signin_lateness_s = 2 * HOUR};
    for (int late_signin = 0; late_signin < 2; late_signin++) {
        vg_sessions *s;
        vg__sessions_new(&o, &s);
        vg__sessions_signin(s, "T", "other", NULL, T0 - DAY); /* the tenant has sign-ins */
        const step m = {'m', "carol", "S3", "K3", T0, NULL};
        feed(s, &m);
        vg_buf out;
        vg__buf_init(&out, 0);
        vg_sess_stats st;
        /* the gap has passed, the lateness not: the access still waits */
        CHECK_EQ_INT(vg__sessions_advance(s, T0 + HOUR, render, &out, &st), VIGIE_OK);
        CHECK_EQ_INT((int)out.len, 0);
        CHECK_EQ_INT((int)st.open, 1);
        if (late_signin) /* its sign-in, read late but within the lateness */
            vg__sessions_signin(s, "T", "S3", "K3", T0 - 60);
        vg__sessions_advance(s, T0 + 2 * HOUR + 301, render, &out, &st);
        CHECK_EQ_INT((int)st.open, 0);
        if (late_signin) {
            CHECK_EQ_INT((int)out.len, 0); /* explained: nothing to say */
        } else {
            CHECK_EQ_INT((int)count_lines(&out), 1);
            CHECK(strstr(out.data, "ns=1") != NULL && strstr(out.data, " no_signin") != NULL);
        }
        vg__sessions_free(s);
        vg__buf_free(&out);
    }
}

static void test_signin_ids_age_out(void)
{
    vg_sess_opts o = {.signin_window_s = DAY, .session_window_s = 2 * DAY,
                      .signin_lateness_s = HOUR};
    vg_sessions *s;
    vg__sessions_new(&o, &s);
    vg__sessions_signin(s, "T", "S4", "K4", T0);
    vg_sess_stats st;
    vg_buf out;
    vg__buf_init(&out, 0);
    vg__sessions_advance(s, T0 + DAY + HOUR - 1, render, &out, &st);
    CHECK_EQ_INT((int)st.signin_ids, 2);
    vg__sessions_advance(s, T0 + DAY + 2 * HOUR + 1, render, &out, &st); /* the token: gone */
    CHECK_EQ_INT((int)st.signin_ids, 1);
    CHECK_EQ_INT((int)st.signin_ids_aged, 1);
    vg__sessions_advance(s, T0 + 2 * DAY + 3 * HOUR + 1, render, &out, &st); /* the session */
    CHECK_EQ_INT((int)st.signin_ids, 0);
    CHECK_EQ_INT((int)st.signin_ids_aged, 2);
    vg__sessions_free(s);
    vg__buf_free(&out);
}

/* a longer script: several users, sessions, days; sign-ins before and after their accesses */
static step script[64];
static int n_script;
static char script_ids[2][12][16]; /* sessions and tokens of the script */

static void make_script(void)
{
    n_script = 0;
    const char *users[] = {"u1", "u2", "u3"};
    for (int d = 0; d < 4; d++)
        for (int u = 0; u < 3; u++) {
            char *sess = script_ids[0][d * 3 + u], *tok = script_ids[1][d * 3 + u];
            snprintf(sess, 16, "S%d%d", u, d / 2); /* a session spans two days */
            snprintf(tok, 16, "K%d%d", u, d);
            double t = T0 + d * DAY + u * HOUR;
            if (u != 2) /* u3's tokens: no sign-in */
                script[n_script++] = (step){'s', users[u], sess, tok, t - 600, NULL};
            script[n_script++] = (step){'m', users[u], sess, tok, t, "9.9.9.9"};
            if ((d + u) % 3 == 0)
                script[n_script++] = (step){'a', users[u], sess, NULL, t + 60, "8.8.8.8"};
            script[n_script++] = (step){'m', users[u], NULL, NULL, t + 120, NULL};
        }
}

static void free_script(void)
{
    n_script = 0;
}

static void run_batched(int every, vg_buf *out)
{
    vg_sessions *s;
    vg__sessions_new(NULL, &s);
    vg__sessions_signin(s, "T", "x", "x", T0 - DAY);
    for (int i = 0; i < n_script; i++) {
        feed(s, &script[i]);
        if (every && i % every == 0) /* in time order: the watermark is the record's time */
            vg__sessions_advance(s, script[i].t, render, out, NULL);
    }
    vg__sessions_finish(s, render, out, NULL);
    vg__sessions_free(s);
}

static void test_batching_gives_one_sequence(void)
{
    make_script();
    vg_buf ref, b1, b5;
    vg__buf_init(&ref, 0);
    vg__buf_init(&b1, 0);
    vg__buf_init(&b5, 0);
    run_batched(0, &ref);
    run_batched(1, &b1);
    run_batched(5, &b5);
    CHECK(count_lines(&ref) >= 4);
    CHECK_EQ_STR(b1.data, ref.data);
    CHECK_EQ_STR(b5.data, ref.data);
    vg__buf_free(&ref);
    vg__buf_free(&b1);
    vg__buf_free(&b5);
    free_script();
}

static void quiet(void *ud, const vigie_diag *d)
{
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "diag: %s\n", d->message);
    (*(int *)ud)++;
}

static void test_save_load_resume(void)
{
    make_script();
    vg_buf ref, res, sec;
    vg__buf_init(&ref, 0);
    vg__buf_init(&res, 0);
    vg__buf_init(&sec, 0);
    run_batched(0, &ref);
    for (int cut = 1; cut < n_script; cut += 7) {
        vg_sessions *a, *b;
        vg__sessions_new(NULL, &a);
        vg__sessions_signin(a, "T", "x", "x", T0 - DAY);
        for (int i = 0; i < cut; i++)
            feed(a, &script[i]);
        vg__buf_reset(&sec);
        CHECK_EQ_INT(vg__sessions_save(a, &sec), VIGIE_OK);
        vg__sessions_free(a); /* nothing of it survives but the section */
        vg__sessions_new(NULL, &b);
        vg_rd rd;
        vg__rd_init(&rd, sec.data, sec.len);
        int nd = 0;
        CHECK_EQ_INT(vg__sessions_load(b, &rd, quiet, &nd), VIGIE_OK);
        for (int i = cut; i < n_script; i++)
            feed(b, &script[i]);
        vg__buf_reset(&res);
        vg__sessions_finish(b, render, &res, NULL);
        vg__sessions_free(b);
        CHECK_MSG(res.len == ref.len && !memcmp(res.data, ref.data, ref.len),
                  "cut at %d: resumed\n%s\none pass\n%s", cut, res.data, ref.data);
    }
    /* saved twice: the same bytes (no pointer, no table order in it) */
    vg_sessions *a;
    vg__sessions_new(NULL, &a);
    for (int i = 0; i < n_script; i++)
        feed(a, &script[i]);
    vg_buf s1, s2;
    vg__buf_init(&s1, 0);
    vg__buf_init(&s2, 0);
    vg__sessions_save(a, &s1);
    vg_sessions *b;
    vg__sessions_new(NULL, &b);
    vg_rd rd;
    vg__rd_init(&rd, s1.data, s1.len);
    CHECK_EQ_INT(vg__sessions_load(b, &rd, NULL, NULL), VIGIE_OK);
    /* sign-in ids in slot order may differ in layout; groups and pool must not */
    vg__sessions_save(b, &s2);
    CHECK_EQ_INT((int)s2.len, (int)s1.len);
    /* every truncation is refused, every corrupted byte is survived (ASan checks) */
    for (size_t n = 0; n < s1.len; n++) {
        vg_sessions *c;
        vg__sessions_new(NULL, &c);
        vg__rd_init(&rd, s1.data, n);
        int nd = 0;
        CHECK(vg__sessions_load(c, &rd, quiet, &nd) != VIGIE_OK);
        CHECK(nd == 1);
        vg__sessions_free(c);
    }
    for (size_t n = 0; n < s1.len; n += 3) {
        vg_buf bad;
        vg__buf_init(&bad, 0);
        vg__buf_add(&bad, s1.data, s1.len);
        bad.data[n] ^= 0xa5;
        vg_sessions *c;
        vg__sessions_new(NULL, &c);
        vg__rd_init(&rd, bad.data, bad.len);
        int nd = 0;
        if (vg__sessions_load(c, &rd, quiet, &nd) == VIGIE_OK) {
            vg_buf o;
            vg__buf_init(&o, 0);
            vg__sessions_finish(c, render, &o, NULL); /* usable: still no harm */
            vg__buf_free(&o);
        }
        vg__sessions_free(c);
        vg__buf_free(&bad);
    }
    /* loading into an object that already holds state is refused */
    vg__rd_init(&rd, s1.data, s1.len);
    CHECK(vg__sessions_load(a, &rd, NULL, NULL) == VIGIE_INVAL);
    vg__sessions_free(a);
    vg__sessions_free(b);
    vg__buf_free(&s1);
    vg__buf_free(&s2);
    vg__buf_free(&ref);
    vg__buf_free(&res);
    vg__buf_free(&sec);
    free_script();
}

static void test_terms_ttl_and_lru(void)
{
    vg_newterms *nt;
    vg__newterms_new(&nt);
    vg__newterms_set_limits(nt, 10 * DAY, 0);
    double b = 2 * DAY; /* baseline */
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "owa", T0, b), VG_NT_KNOWN); /* learned */
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "app", T0 + 3 * DAY, b), VG_NT_NEW);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "owa", T0 + 5 * DAY, b), VG_NT_KNOWN);
    vg__newterms_advance(nt, T0 + 14 * DAY); /* app last seen 11 days ago: forgotten */
    uint64_t exp, ev;
    CHECK_EQ_INT((int)vg__newterms_forgotten(nt, &exp, &ev), 1);
    CHECK_EQ_INT((int)exp, 1);
    CHECK_EQ_INT((int)vg__newterms_count(nt), 1);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "owa", T0 + 14 * DAY, b), VG_NT_KNOWN);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "app", T0 + 14 * DAY, b), VG_NT_NEW);
    /* everything unseen for the TTL: the group too, which then learns a new baseline */
    vg__newterms_advance(nt, T0 + 30 * DAY);
    CHECK_EQ_INT((int)vg__newterms_count(nt), 0);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "zzz", T0 + 30 * DAY, b), VG_NT_KNOWN);
    vg__newterms_free(nt);

    /* a bound of 10 entries: the least recently seen go, the recently seen stay */
    vg__newterms_new(&nt);
    vg__newterms_set_limits(nt, 0, 10);
    for (int i = 0; i < 40; i++) {
        char term[16];
        snprintf(term, sizeof term, "t%d", i);
        vg__newterms_state(nt, "r", "T", term, T0 + i * HOUR, 0);
        vg__newterms_state(nt, "r", "T", "hot", T0 + i * HOUR, 0); /* seen every time */
    }
    CHECK(vg__newterms_count(nt) + 1 <= 10);
    vg__newterms_forgotten(nt, &exp, &ev);
    CHECK(ev >= 30);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "hot", T0 + 41 * HOUR, 0), VG_NT_KNOWN);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "t0", T0 + 41 * HOUR, 0), VG_NT_NEW);
    CHECK(vg__newterms_dropped(nt) >= 30); /* the summary's count includes them */
    vg__newterms_free(nt);
}

static void test_terms_section_round_trip(void)
{
    vg_newterms *a, *b;
    vg__newterms_new(&a);
    vg__newterms_state(a, "r", "T", "owa", T0, DAY);
    vg__newterms_state(a, "r", "T", "app", T0 + 2 * DAY, DAY);
    vg__newterms_state(a, "r", "T", "owa", T0 + 3 * DAY, DAY);
    vg_buf sec;
    vg__buf_init(&sec, 0);
    CHECK_EQ_INT(vg__newterms_save_section(a, &sec), VIGIE_OK);
    vg__newterms_new(&b);
    vg_rd rd;
    vg__rd_init(&rd, sec.data, sec.len);
    CHECK_EQ_INT(vg__newterms_load_section(b, &rd, NULL, NULL), VIGIE_OK);
    /* the same answers after the load as without it */
    CHECK_EQ_INT(vg__newterms_state(b, "r", "T", "app", T0 + 2.5 * DAY, DAY), VG_NT_NOVEL);
    CHECK_EQ_INT(vg__newterms_state(a, "r", "T", "app", T0 + 2.5 * DAY, DAY), VG_NT_NOVEL);
    CHECK_EQ_INT(vg__newterms_state(b, "r", "T", "new", T0 + 4 * DAY, DAY), VG_NT_NEW);
    /* the last-seen time survived: owa (seen at +3 d) outlives app (+2.5 d) by the TTL */
    vg__newterms_set_limits(b, 1.2 * DAY, 0);
    vg__newterms_advance(b, T0 + 3.9 * DAY);
    CHECK_EQ_INT((int)vg__newterms_count(b), 2); /* owa, new */
    for (size_t n = 0; n < sec.len; n++) {
        vg_newterms *c;
        vg__newterms_new(&c);
        vg__rd_init(&rd, sec.data, n);
        int nd = 0;
        CHECK(vg__newterms_load_section(c, &rd, quiet, &nd) == VIGIE_INVAL);
        CHECK(nd == 1);
        vg__newterms_free(c);
    }
    vg__newterms_free(a);
    vg__newterms_free(b);
    vg__buf_free(&sec);
}

/* The --baseline file keeps the last-seen time (an optional field: a file without it loads as
 * before, last seen when first seen). */
static void test_baseline_file_keeps_last_seen(void)
{
    char path[] = "/tmp/vigie-test-baseline-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    vg_newterms *a, *b;
    vg__newterms_new(&a);
    vg__newterms_state(a, "r", "T", "old", T0, 0);
    vg__newterms_state(a, "r", "T", "kept", T0, 0);
    vg__newterms_state(a, "r", "T", "kept", T0 + 20 * DAY, 0);
    CHECK_EQ_INT(vg__newterms_save(a, path), VIGIE_OK);
    vg__newterms_new(&b);
    CHECK_EQ_INT(vg__newterms_load(b, path, NULL, NULL), VIGIE_OK);
    vg__newterms_set_limits(b, 10 * DAY, 0);
    vg__newterms_advance(b, T0 + 25 * DAY);
    CHECK_EQ_INT((int)vg__newterms_count(b), 1); /* "kept" was seen 5 days ago, "old" 25 */
    CHECK_EQ_INT(vg__newterms_state(b, "r", "T", "kept", T0 + 25 * DAY, 0), VG_NT_KNOWN);
    /* a file of the previous format: no last_seen */
    FILE *f = fopen(path, "w");
    fputs("{\"rule\":\"r\",\"group\":\"T\",\"group_first_seen\":\"2023-06-05T03:00:00Z\"}\n"
          "{\"rule\":\"r\",\"group\":\"T\",\"term\":\"x\",\"first_seen\":\"2023-06-05T03:00:00Z\"}\n",
          f);
    fclose(f);
    vg_newterms *c;
    vg__newterms_new(&c);
    CHECK_EQ_INT(vg__newterms_load(c, path, NULL, NULL), VIGIE_OK);
    CHECK_EQ_INT((int)vg__newterms_count(c), 1);
    CHECK_EQ_INT(vg__newterms_state(c, "r", "T", "x", T0 + DAY, 0), VG_NT_KNOWN);
    CHECK_EQ_INT(vg__newterms_state(c, "r", "T", "y", T0 + DAY, 0), VG_NT_NEW);
    remove(path);
    close(fd);
    vg__newterms_free(a);
    vg__newterms_free(b);
    vg__newterms_free(c);
}

int main(void)
{
    RUN(test_windows_split_and_merge);
    RUN(test_gap_option);
    RUN(test_lateness);
    RUN(test_signin_ids_age_out);
    RUN(test_batching_gives_one_sequence);
    RUN(test_save_load_resume);
    RUN(test_terms_ttl_and_lru);
    RUN(test_terms_section_round_trip);
    RUN(test_baseline_file_keeps_last_seen);
    return TEST_DONE();
}
