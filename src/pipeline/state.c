/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c: the saved state of a run (`vigie scan --state FILE`). The state of a run (first-seen terms, sessions with
 * their sign-in join, Sigma correlations with the recent events they refer to, visibility,
 * campaigns, the latest event time) is saved at the end of a run and loaded at the start of
 * the next, so that a series of runs over consecutive slices of a log gives what one pass over
 * all of it gives (docs/STATE.md).
 *
 * Invariants: each part writes and reads its own section (util/ser.h encoding) in the
 * container of correlate/statefile.c (version, checksum, atomic replace); a state is loaded
 * only into parts that are still fresh (before any record is read); a file that is refused
 * stops the run before anything is read (the command exits 4), so a broken state is never overwritten by a
 * state that silently forgot what it held; an interrupted run does not save (the file keeps
 * the state before the run). Sources are kept by name, never by index: correlation-ring
 * entries loaded from a state name their file through c->old_paths.
 */
#include "correlate/statefile.h"
#include "pipeline/pipeline.h"
#include "util/limits.h"
#include "util/ser.h"

#define TAG_META VG_STATE_TAG('M', 'E', 'T', 'A')
#define TAG_NTRM VG_STATE_TAG('N', 'T', 'R', 'M')
#define TAG_SESS VG_STATE_TAG('S', 'E', 'S', 'S')
#define TAG_CORR VG_STATE_TAG('C', 'O', 'R', 'R')
#define TAG_VISB VG_STATE_TAG('V', 'I', 'S', 'B')
#define TAG_CAMP VG_STATE_TAG('C', 'A', 'M', 'P')
#define META_VERSION 1u

/* META: the latest event time, the correlation sequence and the ring entries still live. */
static void save_meta(const scan_ctx *c, vg_buf *o)
{
    vg__ser_u32(o, META_VERSION);
    vg__ser_f64(o, c->max_t);
    vg__ser_u64(o, c->corr_seq);
    uint64_t n = 0;
    for (uint32_t i = 0; c->ring && i < VG_CORR_RING; i++)
        n += c->ring[i].ref != 0;
    vg__ser_u64(o, n);
    for (uint32_t i = 0; c->ring && i < VG_CORR_RING; i++) {
        const struct cref *e = &c->ring[i];
        if (!e->ref)
            continue;
        vg__ser_u64(o, e->ref);
        vg__ser_str(o, vg__scan_ring_file(c, e->file));
        vg__ser_u64(o, e->line);
        vg__ser_u64(o, e->index);
        vg__ser_u64(o, e->offset);
        vg__ser_str(o, e->id);
        vg__ser_str(o, e->tenant);
        vg__ser_bytes(o, e->sha, 32);
    }
}

static bool load_meta(scan_ctx *c, const vg_state_section *s)
{
    vg_rd r;
    vg__rd_init(&r, s->data, s->len);
    if (vg__rd_u32(&r) != META_VERSION)
        return false;
    double t = vg__rd_f64(&r);
    if (!r.err && t > c->max_t)
        c->max_t = t;
    uint64_t seq = vg__rd_u64(&r);
    uint64_t n = vg__rd_count(&r, VG_CORR_RING);
    if (r.err)
        return false;
    if (seq > c->corr_seq)
        c->corr_seq = seq;
    if (n && !c->ring)
        return true; /* no correlation in these rules: its ring entries are not needed */
    for (uint64_t k = 0; k < n && !r.err; k++) {
        uint64_t ref = vg__rd_u64(&r);
        char *file = vg__rd_strdup(&r);
        uint64_t line = vg__rd_u64(&r), index = vg__rd_u64(&r), offset = vg__rd_u64(&r);
        size_t il, tl, hl;
        const uint8_t *id = vg__rd_bytes(&r, &il, NULL), *tn = vg__rd_bytes(&r, &tl, NULL),
                      *sha = vg__rd_bytes(&r, &hl, NULL);
        if (r.err || !file || !ref || il > 32 || tl >= VG_CORR_TENANT_BYTES || hl != 32) {
            free(file);
            r.err = true;
            break;
        }
        /* the file, by name: one entry of old_paths per distinct name */
        uint32_t fi = 0;
        while (fi < c->n_old_paths && strcmp(c->old_paths[fi], file) != 0)
            fi++;
        if (fi == c->n_old_paths) {
            char **np = realloc(c->old_paths, (c->n_old_paths + 1) * sizeof *np);
            if (!np) {
                free(file);
                return false;
            }
            c->old_paths = np;
            c->old_paths[c->n_old_paths++] = file;
        } else {
            free(file);
        }
        struct cref *e = &c->ring[ref % VG_CORR_RING];
        memset(e, 0, sizeof *e);
        e->ref = ref;
        e->file = c->in.n + fi;
        e->line = line;
        e->index = index;
        e->offset = offset;
        memcpy(e->id, id, il);
        memcpy(e->tenant, tn, tl);
        memcpy(e->sha, sha, 32);
    }
    return vg__rd_done(&r);
}

int vg__pipeline_state_load(scan_ctx *c)
{
    const char *path = c->o->state_path;
    vg_statefile_in in;
    int rc = vg__statefile_load(path, &in, c->diag, c->diag_ud);
    if (rc == VIGIE_NOENT)
        return VIGIE_OK; /* a first run */
    if (rc != VIGIE_OK)
        return rc;
    const char *bad = NULL;
    const vg_state_section *s;
    if (!(s = vg__statefile_get(&in, TAG_META)) || !load_meta(c, s))
        bad = "its run section (META)";
    if (!bad && c->nt && (s = vg__statefile_get(&in, TAG_NTRM))) {
        vg_rd r;
        vg__rd_init(&r, s->data, s->len);
        if (vg__newterms_load_section(c->nt, &r, c->diag, c->diag_ud) != VIGIE_OK)
            bad = "its first-seen terms (NTRM)";
    }
    if (!bad && c->sess && (s = vg__statefile_get(&in, TAG_SESS))) {
        vg_rd r;
        vg__rd_init(&r, s->data, s->len);
        if (vg__sessions_load(c->sess, &r, c->diag, c->diag_ud) != VIGIE_OK)
            bad = "its sessions (SESS)";
    }
    if (!bad && c->corr && (s = vg__statefile_get(&in, TAG_CORR)) &&
        vg__corr_load(c->corr, s->data, s->len, c->diag, c->diag_ud) != VIGIE_OK)
        bad = "its correlations (CORR)";
    if (!bad && c->vis && (s = vg__statefile_get(&in, TAG_VISB)) &&
        vg__vis_load(c->vis, s->data, s->len) != VIGIE_OK)
        bad = "its visibility (VISB)";
    if (!bad && c->camp && (s = vg__statefile_get(&in, TAG_CAMP)) &&
        vg__campaigns_load(c->camp, s->data, s->len) != VIGIE_OK)
        bad = "its campaigns (CAMP)";
    vg__statefile_free(&in);
    if (bad) {
        vg__diag(c->diag, c->diag_ud, VIGIE_DIAG_ERROR, VIGIE_VERIFY, path, 0, 0, NULL,
                 "--state: %s cannot be read; nothing was scanned and the file is left as it "
                 "is",
                 bad);
        return VIGIE_VERIFY;
    }
    return VIGIE_OK;
}

bool vg__pipeline_state_save(scan_ctx *c)
{
    vg_buf b[6];
    for (int i = 0; i < 6; i++)
        vg__buf_init(&b[i], 0);
    vg_state_section s[6];
    uint32_t n = 0;
    save_meta(c, &b[n]);
    s[n] = (vg_state_section){TAG_META, NULL, 0}, n++;
    bool ok = true;
#define PART(cond, tag, call)                                                                      \
    if (cond) {                                                                                    \
        if ((call) != VIGIE_OK)                                                                    \
            ok = false;                                                                            \
        s[n] = (vg_state_section){tag, NULL, 0}, n++;                                              \
    }
    PART(c->nt, TAG_NTRM, vg__newterms_save_section(c->nt, &b[n]))
    PART(c->sess, TAG_SESS, vg__sessions_save(c->sess, &b[n]))
    PART(c->corr, TAG_CORR, vg__corr_save(c->corr, &b[n]))
    PART(c->vis, TAG_VISB, vg__vis_save(c->vis, &b[n]))
    PART(c->camp, TAG_CAMP, vg__campaigns_save(c->camp, &b[n]))
#undef PART
    for (uint32_t i = 0; i < n; i++) {
        if (vg__buf_failed(&b[i]))
            ok = false;
        s[i].data = (const uint8_t *)b[i].data;
        s[i].len = b[i].len;
    }
    if (!ok)
        vg__diag(c->diag, c->diag_ud, VIGIE_DIAG_ERROR, VIGIE_NOMEM, c->o->state_path, 0, 0,
                 NULL, "--state: a part of the state could not be encoded (out of memory); the "
                       "state was not saved");
    else if (vg__statefile_save(c->o->state_path, s, n, c->diag, c->diag_ud) != VIGIE_OK)
        ok = false;
    for (int i = 0; i < 6; i++)
        vg__buf_free(&b[i]);
    return ok;
}
