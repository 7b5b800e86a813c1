/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.c: the run of the pipeline for its client (`vigie scan`): the reader (on the calling
 * thread) copies records into batches of a fixed pool, N worker threads process them
 * (worker.c), and whoever holds the next batch in read order writes it (writer.c), so the
 * output is the same for any -j; with one worker everything runs on the calling thread.
 * Reading stops at the next record once *c->stop is set (the client's signal handler).
 * Also what the run sets up and tears down: the plan of Sigma correlations (which fields each
 * referenced rule's matches must carry to the writer: group-by fields, aliases, condition.field),
 * and the batches of the pool. Stage: pipeline.
 *
 * The correlation plan is made once, before the first record, from the loaded rules and the
 * compiled rule set; it is immutable while workers run (they read c->corr_fields). A batch
 * owns its buffers; reset per use by the worker (vg__scan_process_batch), so a recycled batch
 * stops allocating once grown.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline.h"

/* An input that cannot be opened or read (the reader reported the rest with its position). */
static void say_input(scan_ctx *c, const char *path, uint64_t line, int rc)
{
    if (c->diag)
        c->diag(c->diag_ud, &(vigie_diag){.level = VIGIE_DIAG_ERROR,
                                          .rc = rc,
                                          .file = path,
                                          .line = line,
                                          .offset = UINT64_MAX,
                                          .message = vigie_strerror(rc)});
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
        vg__scan_process_batch(w, b);
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
        vg__scan_write_batch(c, ready);
        pthread_mutex_lock(&c->mu);
        ready->done = 0;
        ready->next = c->free_list;
        c->free_list = ready;
        c->next_write++;
    }
}

/* ---- the run: reader, workers, writer
 * ------------------------------------------------------------------------------- */

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
        vg__scan_process_batch(rs->inline_worker, b);
        vg__scan_write_batch(c, b);
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
    int status = VIGIE_OK;
    vg_reader_opts ro = {c->diag, c->diag_ud, 0, c->o->max_decompressed};
    for (uint32_t i = 0; i < c->in.n && !*c->stop; i++) {
        c->n_reached = i + 1;
        vg_reader *r = NULL;
        int rc = vg__reader_open(&r, c->in.paths[i], &ro);
        if (rc) {
            say_input(c, c->in.paths[i], 0, rc);
            status = VIGIE_IO;
            continue;
        }
        c->files++;
        vg_record rec;
        while (!*c->stop && (rc = vg__reader_next(r, &rec)) == VIGIE_OK) {
            if ((rc = add_record(rs, &rec, i)) != VIGIE_OK) {
                say_input(c, c->in.paths[i], rec.src.line, rc);
                break;
            }
            if (rs->inline_worker && (rec.src.index & 1023) == 0 && c->on_progress)
                c->on_progress(c, false);
        }
        if (rc != VIGIE_EOF && rc != VIGIE_OK) {
            /* the reader reported the cause with its position; records before it are kept */
            if (rc == VIGIE_IO || rc == VIGIE_NOENT)
                status = VIGIE_IO;
        }
        const vg_reader_stats *st = vg__reader_stats(r);
        c->bytes += st->bytes;
        c->bytes_read += st->bytes_read;
        c->bad += st->bad_records;
        for (int k = 0; k < VIGIE_STATUS_COUNT; k++)
            c->bad_by_rc[k] += st->bad_by_rc[k];
        if (st->unreadable) {
            /* not a log: reported by the reader; 0 events; "could not be read at all" */
            c->unreadable_files++;
            status = VIGIE_IO;
        } else if (rc != VIGIE_EOF && rc != VIGIE_OK && st->bad_records == 0) {
            /* a fatal stream error (truncated compression ...) counts as one bad record */
            c->bad++;
            c->bad_by_rc[rc < VIGIE_STATUS_COUNT ? rc : VIGIE_IO]++;
        }
        vg__reader_close(r);
    }
    submit(rs);
    return status;
}

int vg__pipeline_run(scan_ctx *c, worker *workers, int nw)
{
    reader_side rs = {c, nw == 1 ? &workers[0] : NULL, NULL, 0};
    if (nw > 1)
        for (int i = 0; i < nw; i++)
            pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);
    int rc = read_inputs(c, &rs);
    c->interrupted = *c->stop;
    if (nw > 1) {
        pthread_mutex_lock(&c->mu);
        drain_done(c, true, rs.seq);
        c->stop_workers = true;
        pthread_cond_broadcast(&c->cv_work);
        pthread_mutex_unlock(&c->mu);
        for (int i = 0; i < nw; i++)
            pthread_join(workers[i].th, NULL);
    }
    return rc;
}

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
