/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_alert_render.c: libFuzzer target for the alert renderers (stage alert). The input is
 * cut at NUL bytes into strings that fill every string field of every kind of alert (a
 * missing piece is NULL); the event and a correlation's group are JSON objects holding such
 * strings, as their producers guarantee. Each alert gets its id and is rendered in the three
 * formats. Checked: the JSONL text is exactly one JSON object (vigie's own reader) on one
 * line ending in a newline; the table line has one newline, at its end, and no ESC byte;
 * vigie_alert_render agrees with the internal renderer. A broken invariant traps (this is a
 * test, not the library). Replayed over tests/fuzz/corpus/fuzz_alert_render/.
 */
#include <stdlib.h>
#include <string.h>

#include "alert/render.h"
#include "json/json.h"

#define N_STR 48

typedef struct pieces {
    const char *s[N_STR];
    uint32_t n, next;
    uint8_t num[8];
} pieces;

static const char *str(pieces *p)
{
    const char *s = p->s[p->next % N_STR];
    p->next++;
    return s;
}

static void check_jsonl(const vg_buf *o, vg_jtape *t)
{
    if (!o->len || o->data[o->len - 1] != '\n')
        __builtin_trap();
    if (memchr(o->data, '\n', o->len - 1) || memchr(o->data, '\r', o->len))
        __builtin_trap();
    if (vg__json_parse(t, o->data, o->len - 1, NULL) != VIGIE_OK || t->tok[0].type != VG_J_OBJECT)
        __builtin_trap();
}

static void check_one(vigie_alert *a, vg_buf *o, vg_buf *sc, vg_jtape *t)
{
    if (vg__alert_set_id(a, sc) != VIGIE_OK || strlen(a->id) != 32)
        __builtin_trap();
    vg__buf_reset(o);
    vg__alert_render(o, a, VIGIE_FORMAT_JSONL);
    check_jsonl(o, t);
    char small[64];
    size_t need = vigie_alert_render(a, VIGIE_FORMAT_JSONL, small, sizeof small);
    if (need != o->len || strncmp(small, o->data, sizeof small - 1) != 0)
        __builtin_trap();
    vg__buf_reset(o);
    vg__alert_render(o, a, VIGIE_FORMAT_CSV);
    if (!o->len || o->data[o->len - 1] != '\n')
        __builtin_trap();
    vg__buf_reset(o);
    vg__alert_render(o, a, VIGIE_FORMAT_TABLE);
    if (!o->len || memchr(o->data, '\n', o->len - 1) || memchr(o->data, 0x1b, o->len))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = 0;
    pieces p;
    memset(&p, 0, sizeof p);
    memcpy(p.num, data, size < 8 ? size : 8);
    for (size_t i = 0; i <= size && p.n < N_STR;) {
        p.s[p.n++] = copy + i;
        i += strlen(copy + i) + 1;
    }
    vg_buf o, sc, ev, grp;
    vg__buf_init(&o, 0);
    vg__buf_init(&sc, 0);
    vg__buf_init(&ev, 0);
    vg__buf_init(&grp, 0);
    vg_jtape t;
    vg__jtape_init(&t);
    /* the event: a JSON object of fuzz strings, with raw newlines between members */
    vg__buf_adds(&ev, "{\"a\":\"");
    vg__buf_add_json_str(&ev, p.s[0], strlen(p.s[0]));
    size_t a_len = ev.len + 1 - 5; /* the string of "a", quotes included, from byte 5 */
    vg__buf_adds(&ev, "\",\r\n\"b\":\"");
    const char *s1 = p.n > 1 ? p.s[1] : "";
    vg__buf_add_json_str(&ev, s1, strlen(s1));
    vg__buf_adds(&ev, "\"}");
    vg__buf_adds(&grp, "{\"g\":\"");
    vg__buf_add_json_str(&grp, s1, strlen(s1));
    vg__buf_adds(&grp, "\"}");
    const char *tags[3], *list[3];
    vigie_alert_messages mr;
    vigie_alert_signal sig[2];
    vigie_alert_evidence evd[2];
    vigie_alert_position pos[2];
    for (int kind = 0; kind < VIGIE_ALERT_KIND_COUNT; kind++) {
        vigie_alert a;
        memset(&a, 0, sizeof a);
        p.next = (uint32_t)kind;
        a.kind = (vigie_alert_kind)kind;
        a.rule.id = str(&p);
        a.rule.title = str(&p);
        a.rule.level = str(&p);
        for (int k = 0; k < 3; k++)
            tags[k] = str(&p);
        a.rule.tags = tags;
        a.rule.n_tags = p.num[0] % 4;
        a.tenant = str(&p);
        a.tenant_len = a.tenant ? strlen(a.tenant) : 0;
        a.user = str(&p);
        a.user_len = a.user ? strlen(a.user) : 0;
        a.time = (double)((uint32_t)p.num[1] << 24 | (uint32_t)p.num[2] << 8) + p.num[3] / 8.0;
        a.has_time = p.num[4] & 1;
        a.has_source = p.num[4] & 2;
        a.source = (vigie_alert_source){str(&p), p.num[5], p.num[6], p.num[7], {0}, p.num[4] & 4};
        memcpy(a.source.sha256, data, size < 32 ? size : 32);
        a.shape = str(&p);
        a.event = ev.data;
        a.event_len = ev.len;
        if (p.num[5] & 1) { /* a redaction replaces a whole JSON string (a token's) */
            a.redact_off = 5;
            a.redact_len = a_len;
            a.redact_with = "\"<redacted sha256:00>\"";
        }
        for (int k = 0; k < 3; k++)
            list[k] = str(&p) ? p.s[(p.next + (uint32_t)k) % N_STR] : "";
        mr = (vigie_alert_messages){p.num[5], p.num[6] & 1, p.num[7] * 1.5, list, p.num[0] % 4,
                                    p.num[1] & 1, str(&p), str(&p)};
        if (p.num[2] & 1)
            a.messages_read = &mr;
        switch (a.kind) {
        case VIGIE_ALERT_NEW_TERM:
            a.u.new_term = (vigie_alert_new_term){str(&p), str(&p), list, p.num[3] % 4};
            break;
        case VIGIE_ALERT_INDICATOR:
            a.u.indicator =
                (vigie_alert_indicator){str(&p), str(&p), str(&p), str(&p), str(&p), str(&p)};
            break;
        case VIGIE_ALERT_TOKEN:
            a.u.token = (vigie_alert_token){str(&p), str(&p), str(&p), str(&p),
                                            str(&p), str(&p), p.num[3] & 1};
            break;
        case VIGIE_ALERT_UNDETERMINED:
            a.u.undetermined = (vigie_alert_undetermined){str(&p), list, p.num[3] % 4, p.num[4] & 8};
            break;
        case VIGIE_ALERT_CORRELATION:
            pos[0] = (vigie_alert_position){str(&p), 1, 2, 3};
            pos[1] = (vigie_alert_position){str(&p), 4, 5, 6};
            a.u.correlation = (vigie_alert_correlation){
                str(&p), p.num[3] & 1 ? grp.data : str(&p), 0, p.num[5] / 3.0, p.num[6],
                str(&p), str(&p), list, p.num[3] % 4, pos, p.num[7] % 3};
            /* the group is a JSON object or NULL, as corr.c gives it; other text is {} */
            a.u.correlation.group_len = a.u.correlation.group ? strlen(a.u.correlation.group) : 0;
            if (a.u.correlation.group && a.u.correlation.group != grp.data)
                a.u.correlation.group = NULL, a.u.correlation.group_len = 0;
            break;
        case VIGIE_ALERT_COMBINED:
            for (int k = 0; k < 2; k++) {
                sig[k] = (vigie_alert_signal){str(&p), str(&p), str(&p), str(&p), p.num[k]};
                evd[k] = (vigie_alert_evidence){{str(&p), 1, 2, 3, {0}, true}, str(&p)};
            }
            a.u.combined = (vigie_alert_combined){
                .key = str(&p), .session = str(&p), .day = str(&p),
                .score = p.num[1], .signals = sig, .n_signals = p.num[2] % 3,
                .has_messages = p.num[3] & 2, .ips = list, .n_ips = p.num[4] % 4,
                .app_ids = list, .n_app_ids = p.num[5] % 4, .user_agents = list,
                .n_user_agents = p.num[6] % 4, .evidence = evd, .n_evidence = p.num[7] % 3};
            break;
        case VIGIE_ALERT_GAP:
            a.u.gap = (vigie_alert_gap){str(&p), str(&p), str(&p), p.num[1], p.num[2],
                                        p.num[3], p.num[4] & 1, str(&p)};
            break;
        default:
            break;
        }
        check_one(&a, &o, &sc, &t);
    }
    vg__jtape_free(&t);
    vg__buf_free(&o);
    vg__buf_free(&sc);
    vg__buf_free(&ev);
    vg__buf_free(&grp);
    free(copy);
    return 0;
}
