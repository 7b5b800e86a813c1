/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_correlate_session.c: combined alerts per (tenant, user, session or day): the sign-in
 * join (in either read order, within its window), unlinkable access never cleared but never
 * alerting alone, the actor's hours as supporting evidence only, a lone weak signal kept at
 * its own level, the forged-token pattern high or critical, what was read counted per
 * session (distinct message ids, summed operations, first and last time), and the novel
 * state of a first-seen term.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "test.h"

/* 2023-06-05 was a Monday */
#define MON_0300 1685934000.0
#define MON_1400 1685973600.0
#define SAT_0300 1686366000.0
#define HOUR 3600.0

typedef struct got {
    int n;
    vg_sess_alert a[16];
    char names[16][512];
    char keys[16][512], users[16][400], tenants[16][64], sessions[16][64];
} got;

static int collect(void *ud, const vg_sess_alert *a)
{
    got *g = ud;
    if (g->n < 16) {
        g->a[g->n] = *a;
        g->names[g->n][0] = 0;
        for (uint32_t i = 0; i < a->n_signals; i++) {
            strcat(g->names[g->n], a->signals[i].name);
            strcat(g->names[g->n], " ");
        }
        /* the strings are valid during the callback only: copies */
        snprintf(g->keys[g->n], sizeof g->keys[g->n], "%s", a->key);
        snprintf(g->users[g->n], sizeof g->users[g->n], "%s", a->user);
        snprintf(g->tenants[g->n], sizeof g->tenants[g->n], "%s", a->tenant);
        snprintf(g->sessions[g->n], sizeof g->sessions[g->n], "%s", a->session ? a->session : "");
        g->a[g->n].key = g->keys[g->n];
        g->a[g->n].user = g->users[g->n];
        g->a[g->n].tenant = g->tenants[g->n];
        g->a[g->n].session = a->session ? g->sessions[g->n] : NULL;
        g->a[g->n].day = NULL;
        g->a[g->n].signals = NULL; /* not valid after the callback */
        g->a[g->n].evidence = NULL;
        g->a[g->n].folders = NULL;
    }
    g->n++;
    return 0;
}

static vg_sess_rec mail(const char *user, const char *session, const char *token, double t)
{
    vg_sess_rec r;
    memset(&r, 0, sizeof r);
    r.tenant = "T";
    r.user = user;
    r.session = session;
    r.token = token;
    r.t = t;
    r.has_time = true;
    r.mail = true;
    r.file = "f.json";
    return r;
}

static const vg_sess_signal new_app = {"new_mail_app", "new_term", "r1", "medium", 1,
                                       "new_terms:AppId|ClientAppId"};
static const vg_sess_signal consumer = {"consumer_tenant_token", "sigma", "r2", "high", 1, NULL};
static const vg_sess_signal new_app_mbx = {"new_mail_app_mailbox", "new_term", "r3", "low", 1,
                                           "new_terms:AppId|ClientAppId"};

static void test_signin_join_either_order(void)
{
    vg_sessions *s;
    CHECK_EQ_INT(vg__sessions_new(NULL, &s), VIGIE_OK);
    /* access read before its sign-in (mail audit file first): joined at the end */
    vg_sess_rec a = mail("alice", "S1", "K1", MON_1400);
    CHECK_EQ_INT(vg__sessions_add(s, &a), VIGIE_OK);
    vg__sessions_signin(s, "T", "S1", "K1", MON_1400 - HOUR);
    /* access after its sign-in: cleared at once */
    vg__sessions_signin(s, "T", "S2", "K2", MON_1400);
    vg_sess_rec b = mail("bob", "S2", "K2", MON_1400 + HOUR);
    vg__sessions_add(s, &b);
    /* a token no sign-in issued */
    vg_sess_rec c = mail("carol", "S3", "K3", MON_1400);
    vg__sessions_add(s, &c);
    /* a token signed in too long before its use (window 24 h) */
    vg_sess_rec d = mail("dave", NULL, "K4", MON_1400 + 3 * 24 * HOUR);
    vg__sessions_signin(s, "T", NULL, "K4", MON_1400);
    vg__sessions_add(s, &d);
    /* a session lives longer (30 days): three days after its sign-in it is explained, forty
     * days after it is not */
    vg__sessions_signin(s, "T", "S5", NULL, MON_1400);
    vg_sess_rec e = mail("erin", "S5", NULL, MON_1400 + 3 * 24 * HOUR);
    vg__sessions_add(s, &e);
    vg_sess_rec f = mail("frank", "S5", NULL, MON_1400 + 40 * 24 * HOUR);
    vg__sessions_add(s, &f);
    got g = {0};
    vg_sess_stats st;
    CHECK_EQ_INT(vg__sessions_finish(s, collect, &g, &st), VIGIE_OK);
    CHECK_EQ_INT(g.n, 3);
    CHECK_EQ_STR(g.a[0].user, "carol");
    CHECK_EQ_STR(g.names[0], "no_signin ");
    CHECK_EQ_INT(g.a[0].level, VG_SL_MEDIUM); /* a lone signal stays medium */
    CHECK_EQ_STR(g.a[1].user, "dave");
    CHECK_EQ_STR(g.a[2].user, "frank");
    CHECK_EQ_INT(st.no_signin, 3);
    vg__sessions_free(s);
}

static void test_full_signin_table_degrades_to_unlinkable(void)
{
    vg_sess_opts o = {0};
    o.max_signin_ids = 2;
    vg_sessions *s;
    CHECK_EQ_INT(vg__sessions_new(&o, &s), VIGIE_OK);
    vg__sessions_signin(s, "T", "S1", "K1", MON_1400 - HOUR); /* fills the table */
    vg__sessions_signin(s, "T", "S2", "K2", MON_1400 - HOUR); /* not remembered */
    vg_sess_rec a = mail("alice", "S2", "K2", MON_1400);
    vg__sessions_add(s, &a);
    got g = {0};
    vg_sess_stats st;
    vg__sessions_finish(s, collect, &g, &st);
    CHECK_EQ_INT(g.n, 0); /* never a false "no sign-in" */
    CHECK_EQ_INT(st.no_signin, 0);
    CHECK_EQ_INT(st.unlinkable, 1);
    CHECK_EQ_INT(st.signin_ids_dropped, 2);
    vg__sessions_free(s);
}

static void test_full_session_table_keeps_signals(void)
{
    vg_sess_opts o = {0};
    o.max_sessions = 16;
    vg_sessions *s;
    CHECK_EQ_INT(vg__sessions_new(&o, &s), VIGIE_OK);
    vg__sessions_signin(s, "T", "other", "other", MON_0300);
    /* one session with a signal first, then many unexplained ones without */
    vg_sess_rec a = mail("victim", "X1", "XK1", MON_0300);
    a.signals = &new_app;
    a.n_signals = 1;
    vg__sessions_add(s, &a);
    for (int i = 0; i < 200; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "S%d", i);
        vg_sess_rec b = mail("user", sid, NULL, MON_1400 + i);
        vg__sessions_add(s, &b);
    }
    got g = {0};
    vg_sess_stats st;
    vg__sessions_finish(s, collect, &g, &st);
    CHECK(st.evicted >= 184);
    CHECK(st.groups <= 16);
    CHECK(g.n >= 1);
    CHECK_EQ_STR(g.a[0].user, "victim"); /* the session with a signal survived */
    CHECK_EQ_INT(g.a[0].level, VG_SL_HIGH);
    vg__sessions_free(s);
}

static void test_unlinkable_never_alone(void)
{
    vg_sessions *s;
    vg__sessions_new(NULL, &s);
    /* no identifiers at all, and a tenant without sign-ins: unlinkable, no alert */
    vg_sess_rec a = mail("alice", NULL, NULL, MON_0300);
    a.rest_client = true;
    vg__sessions_add(s, &a);
    vg_sess_rec b = mail("bob", "S9", "K9", MON_0300);
    vg__sessions_add(s, &b);
    got g = {0};
    vg_sess_stats st;
    vg__sessions_finish(s, collect, &g, &st);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(st.unlinkable, 2);
    CHECK(!vg__sessions_tenant_has_signins(s, "T"));
    vg__sessions_free(s);
}

static void test_lone_weak_signal_stays_medium(void)
{
    vg_sessions *s;
    vg__sessions_new(NULL, &s);
    vg__sessions_signin(s, "T", "S1", "K1", MON_0300 - HOUR);
    /* a new application with a real sign-in, in the actor's hours, REST client: one primary
     * signal (medium) and supporting evidence: medium, not high */
    vg_sess_rec a = mail("alice", "S1", "K1", MON_0300);
    a.signals = &new_app;
    a.n_signals = 1;
    a.rest_client = true;
    vg__sessions_add(s, &a);
    got g = {0};
    vg__sessions_finish(s, collect, &g, NULL);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.a[0].level, VG_SL_MEDIUM);
    CHECK_EQ_STR(g.names[0], "actor_hours new_mail_app rest_client ");
    vg__sessions_free(s);
}

/* Group keys are as long as their parts: two users whose ids differ only after byte 300 are
 * two groups, by session and by day (a key capped at 256 bytes lost the user and merged them). */
static void test_long_user_ids_stay_distinct(void)
{
    static char u1[320], u2[320];
    memset(u1, 'u', 310);
    memcpy(u2, u1, 310);
    strcpy(u1 + 310, "-alice");
    strcpy(u2 + 310, "-bob");
    const char *sess[] = {"S1", NULL}; /* the same session id; then no session: the same day */
    for (int k = 0; k < 2; k++) {
        vg_sessions *s;
        CHECK_EQ_INT(vg__sessions_new(NULL, &s), VIGIE_OK);
        vg_sess_rec a = mail(u1, sess[k], NULL, MON_1400);
        vg_sess_rec b = mail(u2, sess[k], NULL, MON_1400 + HOUR);
        a.signals = b.signals = &consumer;
        a.n_signals = b.n_signals = 1;
        CHECK(vg__sessions_needs(s, &a));
        CHECK_EQ_INT(vg__sessions_add(s, &a), VIGIE_OK);
        CHECK_EQ_INT(vg__sessions_add(s, &b), VIGIE_OK);
        got g = {0};
        CHECK_EQ_INT(vg__sessions_finish(s, collect, &g, NULL), VIGIE_OK);
        CHECK_EQ_INT(g.n, 2);
        vg__sessions_free(s);
    }
}

static void test_forged_token_pattern(void)
{
    vg_sessions *s;
    vg__sessions_new(NULL, &s);
    vg__sessions_signin(s, "T", "other", "other", MON_0300);
    uint64_t m1[] = {11, 12, 13}, m2[] = {13, 14};
    const char *folders[] = {"\\Inbox"};
    /* new application, token no sign-in issued, actor's hours: high */
    vg_sess_rec a = mail("alice", "X1", "XK1", MON_0300);
    a.signals = &new_app;
    a.n_signals = 1;
    a.msgs = m1;
    a.n_msgs = 3;
    a.ops = 10;
    a.folders = folders;
    a.n_folders = 1;
    vg__sessions_add(s, &a);
    vg_sess_rec a2 = mail("alice", "X1", "XK2", MON_0300 + 600);
    a2.msgs = m2;
    a2.n_msgs = 2;
    a2.ops = 5;
    a2.folders = folders;
    a2.n_folders = 1;
    vg__sessions_add(s, &a2);
    /* and with a consumer-tenant token too: critical */
    vg_sess_signal both[2] = {new_app, consumer};
    vg_sess_rec b = mail("bob", "X2", "XK3", MON_0300 + 900); /* closes after alice's */
    b.signals = both;
    b.n_signals = 2;
    vg__sessions_add(s, &b);
    /* the same as alice's on a Saturday afternoon-free pattern: no actor hours */
    vg_sess_rec c = mail("carol", "X3", "XK4", SAT_0300);
    c.signals = &new_app;
    c.n_signals = 1;
    vg__sessions_add(s, &c);
    got g = {0};
    vg__sessions_finish(s, collect, &g, NULL);
    CHECK_EQ_INT(g.n, 3);
    CHECK_EQ_STR(g.a[0].user, "alice");
    CHECK_EQ_INT(g.a[0].level, VG_SL_HIGH);
    CHECK_EQ_STR(g.names[0], "actor_hours new_mail_app no_signin ");
    CHECK_EQ_INT(g.a[0].messages, 4); /* 11 12 13 14: 13 once */
    CHECK(g.a[0].ops == 15);
    CHECK_EQ_INT(g.a[0].n_folders, 1);
    CHECK(g.a[0].first == MON_0300 && g.a[0].last == MON_0300 + 600);
    CHECK_EQ_INT(g.a[0].no_signin, 2);
    CHECK_EQ_INT(g.a[1].level, VG_SL_CRITICAL);
    CHECK_EQ_STR(g.names[2], "new_mail_app no_signin "); /* Saturday: not the actor's hours */
    CHECK(g.a[2].score < g.a[0].score); /* supporting evidence raises the score */
    CHECK_EQ_INT(g.a[2].level, VG_SL_HIGH);
    vg__sessions_free(s);
}

static void test_one_family_counts_once(void)
{
    vg_sessions *s;
    vg__sessions_new(NULL, &s);
    vg__sessions_signin(s, "T", "S1", "K1", MON_0300 - HOUR);
    /* new for the tenant and new for the mailbox: one piece of evidence, still medium */
    vg_sess_signal both[2] = {new_app, new_app_mbx};
    vg_sess_rec a = mail("alice", "S1", "K1", MON_0300);
    a.signals = both;
    a.n_signals = 2;
    a.rest_client = true;
    vg__sessions_add(s, &a);
    got g = {0};
    vg__sessions_finish(s, collect, &g, NULL);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.a[0].level, VG_SL_MEDIUM);
    CHECK_EQ_INT(g.a[0].score, 4); /* medium 2 + actor hours 1 + REST 1; the low one not added */
    CHECK_EQ_STR(g.names[0], "actor_hours new_mail_app new_mail_app_mailbox rest_client ");
    vg__sessions_free(s);
}

static void test_actor_hours(void)
{
    vg_sess_opts o = {0};
    CHECK(vg__sessions_actor_hours(&o, MON_0300));
    CHECK(!vg__sessions_actor_hours(&o, MON_1400));
    CHECK(!vg__sessions_actor_hours(&o, SAT_0300));
    vg_sess_opts w = {.actor_days = 0x60, .actor_h0 = 2, .actor_h1 = 4}; /* Sat, Sun 02-04 */
    CHECK(vg__sessions_actor_hours(&w, SAT_0300));
    CHECK(!vg__sessions_actor_hours(&w, MON_0300));
}

static void test_novel_term(void)
{
    vg_newterms *nt;
    vg__newterms_new(&nt);
    double t0 = MON_0300, day = 86400;
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "owa", t0, 5 * day), VG_NT_KNOWN);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "app", t0 + 6 * day, 5 * day), VG_NT_NEW);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "app", t0 + 7 * day, 5 * day), VG_NT_NOVEL);
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "owa", t0 + 7 * day, 5 * day), VG_NT_KNOWN);
    /* one baseline period after it first alerted, it is known */
    CHECK_EQ_INT(vg__newterms_state(nt, "r", "T", "app", t0 + 12 * day, 5 * day), VG_NT_KNOWN);
    vg__newterms_free(nt);
}

int main(void)
{
    RUN(test_signin_join_either_order);
    RUN(test_unlinkable_never_alone);
    RUN(test_full_session_table_keeps_signals);
    RUN(test_full_signin_table_degrades_to_unlinkable);
    RUN(test_lone_weak_signal_stays_medium);
    RUN(test_long_user_ids_stay_distinct);
    RUN(test_forged_token_pattern);
    RUN(test_one_family_counts_once);
    RUN(test_actor_hours);
    RUN(test_novel_term);
    return TEST_DONE();
}
