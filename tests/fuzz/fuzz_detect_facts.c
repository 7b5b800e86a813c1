/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_detect_facts.c: libFuzzer target for the record facts (stage detect). Input bytes are
 * parsed as one record; a JSON object is classified (built-in field maps), given a time by
 * --time-field, and its facts are computed in every mode `vigie scan` asks for (no signal, a
 * signal, the writer's full look, sessions off), with the mail read, the visibility fact and
 * every value of the indicator and bearer-token lists. Checked: every fact string is
 * NUL-terminated at its length and holds no NUL or 0x1f, folder and message-id counts stay
 * in their bounds and ids are distinct, a fact copied into a batch's list comes back the
 * same; a broken invariant traps (this is a test, not the
 * library). An input starting with "#facts\n" is instead loaded as an extra fact file (the
 * YAML loader must refuse what it cannot use, without leaking). Replayed over
 * tests/fuzz/corpus/fuzz_detect_facts/ by the normal test run.
 */
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "util/limits.h"

static void check_ref(vg_sref r, bool clean)
{
    if (!r.p || r.p[r.len] != 0)
        __builtin_trap();
    if (clean)
        for (size_t i = 0; i < r.len; i++)
            if (r.p[i] == 0 || r.p[i] == 0x1f)
                __builtin_trap();
}

static int count_cb(void *ud, const vg_jval *v)
{
    (void)v;
    (*(unsigned *)ud)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_fieldmap *fm;
    static vg_detect *d;
    static vg_detect_scratch *s;
    static vg_jscratch *js;
    static vg_jtape t;
    static vg_buf tmp;
    if (!d) {
        vg_detect_opts o = {.time_field = "ts"};
        if (vg__fieldmap_load_builtin(&fm, NULL, NULL) || vg__detect_new(fm, &o, NULL, NULL, &d))
            __builtin_trap();
        s = vg__detect_scratch_new();
        js = vg__jscratch_new();
        if (!s || !js)
            return 0;
    }
    if (size >= 7 && !memcmp(data, "#facts\n", 7)) {
        vg_detect *x = NULL;
        vg_detect_opts o = {.extra_yaml = (const char *)data + 7, .extra_len = size - 7};
        int rc = vg__detect_new(fm, &o, NULL, NULL, &x);
        if ((rc == VIGIE_OK) != (x != NULL))
            __builtin_trap();
        vg__detect_free(x);
        return 0;
    }
    vg_jerr err;
    if (vg__json_parse(&t, (const char *)data, size, &err) != VIGIE_OK ||
        t.tok[0].type != VG_J_OBJECT)
        return 0;
    vg__jscratch_reset(js);
    vg__buf_reset(&tmp);
    vg_eventinfo ei;
    vg__shape_classify(fm, &t, js, &tmp, &ei);
    vg__detect_time_field(d, s, &t, js, &ei);
    static const struct {
        uint32_t n_sig;
        bool full, sess;
    } modes[] = {{0, false, true}, {1, false, true}, {0, true, true}, {0, false, false}};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        vg__detect_begin(s, d, &t, js, &ei);
        vg_rfacts f;
        if (modes[m].sess && vg__detect_record_facts(s, modes[m].n_sig, modes[m].full, &f)) {
            const vg_sref *all[] = {&f.tenant, &f.user, &f.session, &f.token, &f.ip, &f.app, &f.ua};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                check_ref(*all[i], true);
            if (f.lite && (f.n_msgs || f.n_folders || !f.mail))
                __builtin_trap();
            if (f.n_folders > VG_MAX_SESSION_FOLDERS)
                __builtin_trap();
            for (uint32_t i = 0; i < f.n_folders; i++)
                check_ref(f.folders[i], false);
            /* through a batch's list and back: the same bytes */
            static vg_rfacts_list l;
            vg__rfacts_list_reset(&l);
            uint32_t idx;
            if (vg__rfacts_list_push(&l, &f, &idx) == VIGIE_OK) {
                vg_rfacts g;
                vg_sref fo[VG_MAX_SESSION_FOLDERS];
                vg__rfacts_list_get(&l, idx, &g, fo);
                if (g.user.len != f.user.len || memcmp(g.user.p, f.user.p, f.user.len) ||
                    g.n_folders != f.n_folders || g.n_msgs != f.n_msgs || g.mail != f.mail)
                    __builtin_trap();
                for (uint32_t i = 0; i < g.n_folders; i++)
                    if (g.folders[i].len != f.folders[i].len ||
                        memcmp(g.folders[i].p, f.folders[i].p, f.folders[i].len))
                        __builtin_trap();
            }
            for (uint32_t i = 0; i < f.n_msgs && i < 64; i++)
                for (uint32_t k = 0; k < i; k++)
                    if (f.msgs[i] == f.msgs[k])
                        __builtin_trap();
        }
        vg_mfact mf;
        if (vg__detect_mail_fact(s, &mf))
            check_ref(mf.tenant, true);
        const vg_mailread *mr = vg__detect_mail_read(s);
        if (mr && (mr->n_folders > VG_MAX_SESSION_FOLDERS || (mr->n_ids && !mr->ids)))
            __builtin_trap();
        if ((mr != NULL) != vg__detect_is_mail(s))
            __builtin_trap();
    }
    static const vg_dlist_id lists[] = {VG_DL_INDICATOR_ADDRESS, VG_DL_INDICATOR_USER_AGENT,
                                        VG_DL_BEARER_TOKEN};
    unsigned n_vals = 0;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        uint32_t n;
        const vg_dpath *p = vg__detect_paths(d, &ei, lists[l], &n);
        for (uint32_t i = 0; i < n; i++)
            vg__json_path_each(&t, 0, p[i].path, p[i].len, js, count_cb, &n_vals);
    }
    return 0;
}
