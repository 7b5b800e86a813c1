/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_correlate_sessions.c: libFuzzer target for the ordered state of sessions and first-seen
 * terms. The input is a program: its first byte picks small options (gap, lateness, table
 * bounds, so that windows, lateness, eviction and the LRU all happen), then each operation is
 * one opcode byte and its operands: a record (user, session, token, time step, a signal, mail,
 * an address), a sign-in, advance(watermark), save then load into a fresh object (the state
 * must go on as if nothing happened), a first-seen look-up, a first-seen advance or round trip,
 * and a load of the remaining bytes as a hostile section. Finish at the end. Time steps may go
 * back (out-of-order and late records). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "util/ser.h"

typedef struct rd8 {
    const uint8_t *p;
    size_t n, at;
} rd8;

static unsigned next(rd8 *r)
{
    return r->at < r->n ? r->p[r->at++] : 0;
}

static int sink(void *ud, const vg_sess_alert *a)
{
    size_t *n = ud;
    *n += strlen(a->key) + a->n_signals + a->n_evidence + a->n_ips;
    for (uint32_t i = 0; i < a->n_evidence; i++)
        *n += strlen(a->evidence[i].file) + (a->evidence[i].alert_ids ? 1 : 0);
    return 0;
}

static vg_sessions *reload(vg_sessions *s, const vg_sess_opts *o, const uint8_t *p, size_t n)
{
    vg_sessions *f;
    if (vg__sessions_new(o, &f) != VIGIE_OK)
        return s;
    vg_rd rd;
    vg__rd_init(&rd, p, n);
    if (vg__sessions_load(f, &rd, NULL, NULL) != VIGIE_OK) {
        vg__sessions_free(f);
        return s;
    }
    vg__sessions_free(s);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd8 r = {data, size, 0};
    unsigned cfg = next(&r);
    vg_sess_opts o = {.session_gap_s = 60.0 * (1 + (cfg & 7)),
                      .signin_lateness_s = 60.0 * (1 + (cfg >> 3 & 3)),
                      .signin_window_s = 600,
                      .session_window_s = 1800,
                      .max_sessions = cfg & 0x20 ? 8 : 0,
                      .max_signin_ids = cfg & 0x40 ? 8 : 0};
    vg_sessions *s;
    vg_newterms *nt;
    if (vg__sessions_new(&o, &s) != VIGIE_OK)
        return 0;
    if (vg__newterms_new(&nt) != VIGIE_OK) {
        vg__sessions_free(s);
        return 0;
    }
    vg__newterms_set_limits(nt, 3600, cfg & 0x80 ? 6 : 0);
    static const char *const users[] = {"alice", "bob", "", "-"};
    static const char *const ids[] = {NULL, "S1", "S2", "K1", "K2", "-", ""};
    static const char *const ips[] = {NULL, "1.2.3.4", "5.6.7.8", "::1"};
    static const vg_sess_signal sigs[] = {{"a", "sigma", "r1", "high", 1, NULL},
                                          {"b", "new_term", "r2", "medium", 1, "fam"},
                                          {"c", "new_term", NULL, "low", 1, "fam"}};
    double t = 1.7e9;
    size_t emitted = 0;
    vg_buf sec;
    vg__buf_init(&sec, 0);
    while (r.at < r.n) {
        unsigned op = next(&r) % 9;
        switch (op) {
        case 0:
        case 1: { /* a record */
            unsigned a = next(&r), b = next(&r), c = next(&r);
            t += ((int)(c & 0x7f) - 16) * 30.0;
            char file[8], aid[16];
            snprintf(file, sizeof file, "f%u", a & 3);
            snprintf(aid, sizeof aid, "x%u", b);
            uint64_t msgs[2] = {a, b};
            const char *folders[1] = {"\\Inbox"};
            vg_sess_rec rec = {.tenant = (a & 0x80) ? "T2" : "T", .user = users[a & 3],
                               .session = ids[(a >> 2) % 7], .token = ids[b % 7],
                               .t = t, .has_time = !(c & 0x80), .mail = op == 0,
                               .rest_client = b & 0x40, .file = file, .line = a,
                               .ip = ips[b >> 6], .msgs = msgs, .n_msgs = 2,
                               .folders = folders, .n_folders = b & 1, .ops = 1};
            if (b & 0x8) {
                rec.signals = &sigs[b % 3];
                rec.n_signals = 1 + ((b & 0x10) != 0 && b % 3 < 2);
                rec.alert_ids = aid;
            }
            if (vg__sessions_needs(s, &rec) || (a & 0x40))
                vg__sessions_add(s, &rec);
            break;
        }
        case 2: { /* a sign-in */
            unsigned a = next(&r), c = next(&r);
            vg__sessions_signin(s, (a & 0x80) ? "T2" : "T", ids[a % 7], ids[(a >> 3) % 7],
                                t + ((int)c - 128) * 30.0);
            break;
        }
        case 3: /* the watermark: a little behind the current time */
            vg__sessions_advance(s, t - next(&r) * 60.0, sink, &emitted, NULL);
            break;
        case 4: /* save, and go on from a fresh object loaded from it */
            vg__buf_reset(&sec);
            if (vg__sessions_save(s, &sec) == VIGIE_OK && !vg__buf_failed(&sec))
                s = reload(s, &o, (const uint8_t *)sec.data, sec.len);
            break;
        case 5: { /* first-seen */
            unsigned a = next(&r);
            char term[8];
            snprintf(term, sizeof term, "t%u", a & 15);
            vg__newterms_state(nt, (a & 0x80) ? "r2" : "r1", (a & 0x40) ? "g2" : "g1", term, t,
                               (a & 0x20) ? 600 : 0);
            break;
        }
        case 6:
            vg__newterms_advance(nt, t - next(&r) * 60.0);
            break;
        case 7: { /* first-seen round trip */
            vg__buf_reset(&sec);
            vg_newterms *f;
            if (vg__newterms_save_section(nt, &sec) == VIGIE_OK && vg__newterms_new(&f) == VIGIE_OK) {
                vg__newterms_set_limits(f, 3600, cfg & 0x80 ? 6 : 0);
                vg_rd rd;
                vg__rd_init(&rd, sec.data, sec.len);
                if (vg__newterms_load_section(f, &rd, NULL, NULL) == VIGIE_OK) {
                    vg__newterms_free(nt);
                    nt = f;
                } else {
                    vg__newterms_free(f);
                }
            }
            break;
        }
        default: { /* the rest of the input as a hostile section, for both loaders */
            vg_sessions *f;
            if (vg__sessions_new(&o, &f) == VIGIE_OK) {
                vg_rd rd;
                vg__rd_init(&rd, r.p + r.at, r.n - r.at);
                if (vg__sessions_load(f, &rd, NULL, NULL) == VIGIE_OK)
                    vg__sessions_finish(f, sink, &emitted, NULL);
                vg__sessions_free(f);
            }
            vg_newterms *g;
            if (vg__newterms_new(&g) == VIGIE_OK) {
                vg_rd rd;
                vg__rd_init(&rd, r.p + r.at, r.n - r.at);
                vg__newterms_load_section(g, &rd, NULL, NULL);
                vg__newterms_free(g);
            }
            r.at = r.n;
            break;
        }
        }
    }
    vg__sessions_finish(s, sink, &emitted, NULL);
    vg__buf_free(&sec);
    vg__sessions_free(s);
    vg__newterms_free(nt);
    return 0;
}
