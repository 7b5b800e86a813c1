/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.c: the parts of a run that the pipeline sets up and tears down for its client
 * (`vigie scan`): the plan of Sigma correlations (which fields each referenced rule's matches
 * must carry to the writer: group-by fields, aliases, condition.field), and the batches of
 * the pool. Stage: pipeline.
 *
 * The correlation plan is made once, before the first record, from the loaded rules and the
 * compiled rule set; it is immutable while workers run (they read c->corr_fields). A batch
 * owns its buffers; reset per use by the worker (vg__scan_process_batch), so a recycled batch
 * stops allocating once grown.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline.h"

void vg__pipeline_plan_corr(scan_ctx *c, double lateness_s)
{
    uint32_t nl = vg__ruleload_count(c->rl), n_corr = 0;
    const vg_rule **all = calloc(nl ? nl : 1, sizeof *all);
    for (uint32_t i = 0; all && i < nl; i++) {
        all[i] = vg__ruleload_get(c->rl, i);
        n_corr += all[i] && all[i]->kind == VG_RULE_CORRELATION;
    }
    vg_corr_opts cop = {0, lateness_s, false, c->diag, c->diag_ud};
    if (all && n_corr && vg__corr_new(all, nl, &cop, &c->corr) == VIGIE_OK &&
        vg__corr_count(c->corr) > 0) {
        uint32_t nrs = vg__ruleset_count(c->rs);
        c->corr_fields = calloc(nrs, sizeof *c->corr_fields);
        c->n_corr_fields = nrs;
        c->corr_quiet = calloc(nrs, sizeof *c->corr_quiet);
        c->ring = calloc(VG_CORR_RING, sizeof *c->ring);
        for (uint32_t ri = 0; c->corr_fields && c->corr_quiet && c->ring && ri < nrs; ri++) {
            const vg_rule *r = vg__ruleset_rule(c->rs, ri);
            if (!vg__corr_wants(c->corr, r))
                continue;
            c->corr_quiet[ri] = !vg__corr_generates(c->corr, r);
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
            c->corr_fields[ri] = fl;
        }
    }
    free(all);
}

void vg__pipeline_plan_corr_free(scan_ctx *c)
{
    for (uint32_t i = 0; c->corr_fields && i < c->n_corr_fields; i++)
        free(c->corr_fields[i]);
    free(c->corr_fields);
    free(c->corr_quiet);
    free(c->ring);
    vg__corr_free(c->corr);
    c->corr_fields = NULL;
    c->corr_quiet = NULL;
    c->ring = NULL;
    c->corr = NULL;
    c->n_corr_fields = 0;
}

int vg__pipeline_batch_init(scan_ctx *c, batch *b)
{
    vg__buf_init(&b->data, 0);
    vg__buf_init(&b->out, 0);
    vg__buf_init(&b->nt_strs, 0);
    vg__buf_init(&b->sf_strs, 0);
    vg__rfacts_list_init(&b->rfl);
    vg__buf_init(&b->mf_strs, 0);
    vg__buf_init(&b->undet_strs, 0);
    b->recs = calloc(BATCH_RECORDS, sizeof(rec_ref));
    b->al_arena = vg__arena_new(256u << 10);
    if (!b->recs || !b->al_arena)
        return VIGIE_NOMEM;
    b->next = c->free_list;
    c->free_list = b;
    return VIGIE_OK;
}

void vg__pipeline_batch_free(batch *b)
{
    vg__buf_free(&b->data);
    vg__buf_free(&b->out);
    vg__buf_free(&b->nt_strs);
    free(b->pend);
    free(b->facts);
    free(b->sigs);
    free(b->cf);
    free(b->sf);
    vg__rfacts_list_free(&b->rfl);
    vg__buf_free(&b->sf_strs);
    vg__buf_free(&b->mf_strs);
    free(b->undet);
    vg__buf_free(&b->undet_strs);
    free(b->recs);
    free(b->al);
    vg__arena_free(b->al_arena);
}
