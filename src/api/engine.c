/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c: vigie_engine: what is added (rules, field maps, indicators, key sets), compiled
 * once, then read-only and shared by every scanner.
 *
 * Stage: api. Building runs on one thread: the vg_ruleload is made at the first rule added
 * (placeholders must come before it, the loader copies them), field maps added by the user
 * go into the map before the built-in sections (a record takes the first section that
 * selects it, so the user's win), indicators and key sets are made at their first add.
 * Compiling appends the built-in field maps, compiles the rule set and builds one
 * vigie_rule_info per rule document the loader saw, in load order: loaded documents from
 * the rules, skipped ones from the loader's status list, and detections the compiler
 * refused (invalid regex) marked DROPPED with the reason its diagnostic gave; that
 * diagnostic names the rule by the very pointers of its vg_rule (path and id), which is how
 * it is told apart. After compile nothing changes: every add_* returns VIGIE_INVAL.
 *
 * Memory: copies (placeholders, drop reasons) live in the engine's arena; the rule strings
 * handed out live in the loader's arena. Nothing here is on the per-record path.
 */
#define _GNU_SOURCE /* dladdr */
#include "api.h"

#include "compile/compile.h"
#include "correlate/correlate.h"
#include "detect/detect.h"
#include "ingest/ingest.h"
#include "json/json.h"
#include "match/match.h"
#include "rule/rule.h"
#include "token/token.h"
#include "util/util.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef VIGIE_PACK_DIR
#define VIGIE_PACK_DIR "/usr/local/share/vigie/rules"
#endif

#define DEFAULT_INDICATOR_MARGIN_S (7 * 86400.0) /* as vigie scan --indicator-margin-days */

/* A compile diagnostic that dropped a rule: file and rule_id are the vg_rule's own pointers. */
typedef struct drop {
    const char *file, *rule_id;
    uint32_t line, col;
    int rc;
    const char *msg; /* in the engine's arena */
    bool used;
} drop;

struct vigie_engine {
    vigie_diag_fn diag;
    void *diag_ud;
    unsigned flags;
    double margin_s;
    bool compiled;
    vg_arena *a;
    vg_placeholder *ph;
    uint32_t n_ph, cap_ph;
    vg_ruleload *rl;
    vg_fieldmap *fm;
    vg_indicators *ind;
    vg_keysets *keys;
    vg_detect *det; /* the record facts (mail reads for alerts), built at compile */
    vg_ruleset *rs;
    vigie_rule_info *rules; /* one per rule document, load order */
    uint32_t n_rules;
    uint32_t *active;       /* compiled index -> document index */
    drop *drops;
    uint32_t n_drops, cap_drops;
    vigie_engine_stats st;
};

int vigie_engine_new(vigie_diag_fn diag, void *diag_ud, vigie_engine **out)
{
    if (!out)
        return VIGIE_INVAL;
    *out = NULL;
    vigie_engine *e = calloc(1, sizeof *e);
    if (!e)
        return VIGIE_NOMEM;
    e->diag = diag;
    e->diag_ud = diag_ud;
    e->margin_s = DEFAULT_INDICATOR_MARGIN_S;
    e->a = vg__arena_new(16 * 1024);
    int rc = e->a ? vg__fieldmap_new(&e->fm) : VIGIE_NOMEM;
    if (rc) {
        vigie_engine_free(e);
        return rc;
    }
    *out = e;
    return VIGIE_OK;
}

void vigie_engine_free(vigie_engine *e)
{
    if (!e)
        return;
    vg__ruleset_free(e->rs);
    vg__ruleload_free(e->rl);
    vg__fieldmap_free(e->fm);
    vg__indicators_free(e->ind);
    vg__keysets_free(e->keys);
    vg__detect_free(e->det);
    free(e->ph);
    free(e->rules);
    free(e->active);
    free(e->drops);
    vg__arena_free(e->a);
    free(e);
}

/* Every add_* and set_* first: NULL handle or a compiled engine is VIGIE_INVAL. */
static int building(const vigie_engine *e)
{
    return e && !e->compiled ? VIGIE_OK : VIGIE_INVAL;
}

int vigie_engine_set_flags(vigie_engine *e, unsigned flags)
{
    int rc = building(e);
    if (!rc)
        e->flags = flags;
    return rc;
}

int vigie_engine_set_placeholder(vigie_engine *e, const char *name, const char *const *values,
                                 uint32_t n_values)
{
    int rc = building(e);
    if (rc || !name || (n_values && !values))
        return VIGIE_INVAL;
    if (e->rl) {
        vg__diag(e->diag, e->diag_ud, VIGIE_DIAG_ERROR, VIGIE_INVAL, NULL, 0, 0, NULL,
                 "placeholder %%%s%% given after rules were added: give placeholders first",
                 name);
        return VIGIE_INVAL;
    }
    if (VG_GROW(e->ph, e->cap_ph, (size_t)e->n_ph + 1, 8))
        return VIGIE_NOMEM;
    vg_placeholder *p = &e->ph[e->n_ph];
    p->name = vg__arena_strdup(e->a, name);
    p->values = vg__arena_alloc(e->a, ((size_t)n_values + 1) * sizeof *p->values);
    if (!p->name || !p->values)
        return VIGIE_NOMEM;
    for (uint32_t i = 0; i < n_values; i++)
        if (!(p->values[i] = vg__arena_strdup(e->a, values[i] ? values[i] : "")))
            return VIGIE_NOMEM;
    p->n_values = n_values;
    e->n_ph++;
    return VIGIE_OK;
}

static int ruleload(vigie_engine *e)
{
    if (e->rl)
        return VIGIE_OK;
    vg_ruleload_opts lo = {e->diag, e->diag_ud, e->ph, e->n_ph};
    e->rl = vg__ruleload_new(&lo);
    return e->rl ? VIGIE_OK : VIGIE_NOMEM;
}

int vigie_engine_add_rules(vigie_engine *e, const char *path)
{
    int rc = building(e);
    if (rc || !path)
        return VIGIE_INVAL;
    if ((rc = ruleload(e)))
        return rc;
    rc = vg__ruleload_path(e->rl, path);
    if (rc == VIGIE_NOENT || rc == VIGIE_IO)
        vg__diag(e->diag, e->diag_ud, VIGIE_DIAG_ERROR, rc, path, 0, 0, NULL,
                 "cannot read rules: %s", vigie_strerror(rc));
    return rc;
}

int vigie_engine_add_rules_string(vigie_engine *e, const char *name, const char *yaml,
                                  size_t len)
{
    int rc = building(e);
    if (rc || (!yaml && len))
        return VIGIE_INVAL;
    if ((rc = ruleload(e)))
        return rc;
    return vg__ruleload_string(e->rl, name, yaml ? yaml : "", len);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int put_dir(char *buf, size_t cap, const char *dir)
{
    size_t n = strlen(dir);
    if (n + 1 > cap)
        return VIGIE_TOOBIG;
    memcpy(buf, dir, n + 1);
    return VIGIE_OK;
}

int vigie_pack_dir(const char *dir, char *buf, size_t cap)
{
    if (!buf || !cap)
        return VIGIE_INVAL;
    buf[0] = 0;
    if (dir)
        return is_dir(dir) ? put_dir(buf, cap, dir) : VIGIE_NOTFOUND;
    const char *env = getenv("VIGIE_RULES");
    if (env && *env)
        return is_dir(env) ? put_dir(buf, cap, env) : VIGIE_NOTFOUND;
    /* beside the module that holds this function: libvigie.so, or the program it is
     * statically linked into */
    Dl_info info;
    if (dladdr((void *)&vigie_pack_dir, &info) && info.dli_fname && info.dli_fname[0]) {
        char p[PATH_MAX];
        const char *slash = strrchr(info.dli_fname, '/');
        int n = slash ? snprintf(p, sizeof p, "%.*s/../share/vigie/rules",
                                 (int)(slash - info.dli_fname), info.dli_fname)
                      : snprintf(p, sizeof p, "../share/vigie/rules");
        if (n > 0 && (size_t)n < sizeof p && is_dir(p))
            return put_dir(buf, cap, p);
    }
    return is_dir(VIGIE_PACK_DIR) ? put_dir(buf, cap, VIGIE_PACK_DIR) : VIGIE_NOTFOUND;
}

int vigie_engine_add_pack(vigie_engine *e, const char *dir)
{
    int rc = building(e);
    if (rc)
        return rc;
    char p[PATH_MAX];
    rc = vigie_pack_dir(dir, p, sizeof p);
    if (rc) {
        vg__diag(e->diag, e->diag_ud, VIGIE_DIAG_ERROR, rc, dir, 0, 0, NULL,
                 "vigie's rule pack was not found (%s; set VIGIE_RULES or pass its directory)",
                 dir ? "no such directory" : "not in $VIGIE_RULES, beside the library or in "
                                             VIGIE_PACK_DIR);
        return rc;
    }
    return vigie_engine_add_rules(e, p);
}

int vigie_engine_add_fieldmap_string(vigie_engine *e, const char *name, const char *yaml,
                                     size_t len)
{
    int rc = building(e);
    if (rc || (!yaml && len))
        return VIGIE_INVAL;
    return vg__fieldmap_load_string(e->fm, name ? name : "<string>", yaml ? yaml : "", len,
                                    e->diag, e->diag_ud);
}

/* Read a whole input file, saying why not through diag. */
static int read_input(vigie_engine *e, const char *path, const char *what, char **text,
                      size_t *len)
{
    int rc = vg__read_file(path, VG_MAX_RULE_FILE_BYTES, text, len);
    if (rc)
        vg__diag(e->diag, e->diag_ud, VIGIE_DIAG_ERROR, rc, path, 0, 0, NULL, "cannot read %s: %s",
                 what, vigie_strerror(rc));
    return rc;
}

int vigie_engine_add_fieldmap(vigie_engine *e, const char *path)
{
    int rc = building(e);
    if (rc || !path)
        return VIGIE_INVAL;
    char *text;
    size_t len;
    if ((rc = read_input(e, path, "field map", &text, &len)))
        return rc;
    rc = vg__fieldmap_load_string(e->fm, path, text, len, e->diag, e->diag_ud);
    free(text);
    return rc;
}

int vigie_engine_set_indicator_margin(vigie_engine *e, double margin_s)
{
    int rc = building(e);
    if (rc || e->ind || !(margin_s >= 0))
        return VIGIE_INVAL;
    e->margin_s = margin_s;
    return VIGIE_OK;
}

static int indicators(vigie_engine *e)
{
    return e->ind ? VIGIE_OK : vg__indicators_new(&e->ind, e->margin_s);
}

int vigie_engine_add_builtin_indicators(vigie_engine *e)
{
    int rc = building(e);
    if (!rc)
        rc = indicators(e);
    if (!rc)
        rc = vg__indicators_load_builtin(e->ind, e->diag, e->diag_ud);
    return rc;
}

int vigie_engine_add_indicators(vigie_engine *e, const char *path)
{
    int rc = building(e);
    if (rc || !path)
        return VIGIE_INVAL;
    if ((rc = indicators(e)))
        return rc;
    rc = vg__indicators_load(e->ind, path, e->diag, e->diag_ud);
    if (rc == VIGIE_NOENT || rc == VIGIE_IO)
        vg__diag(e->diag, e->diag_ud, VIGIE_DIAG_ERROR, rc, path, 0, 0, NULL,
                 "cannot read indicators: %s", vigie_strerror(rc));
    return rc;
}

int vigie_engine_add_jwks(vigie_engine *e, const char *issuer, const char *path)
{
    int rc = building(e);
    if (rc || !issuer || !path)
        return VIGIE_INVAL;
    if (!e->keys && (rc = vg__keysets_new(&e->keys)))
        return rc;
    rc = vg__keysets_load(e->keys, issuer, path, e->diag, e->diag_ud);
    if (rc == VIGIE_NOENT || rc == VIGIE_IO)
        vg__diag(e->diag, e->diag_ud, VIGIE_DIAG_ERROR, rc, path, 0, 0, NULL,
                 "cannot read key set: %s", vigie_strerror(rc));
    return rc;
}

/* ---- compile --------------------------------------------------------------------------------- */

/* The compiler's diagnostics go to the user's callback; an error naming a rule file is the
 * drop of that rule, remembered for its vigie_rule_info. */
static void compile_diag(void *ud, const vigie_diag *d)
{
    vigie_engine *e = ud;
    if (e->diag)
        e->diag(e->diag_ud, d);
    if (d->level != VIGIE_DIAG_ERROR || !d->file)
        return;
    if (VG_GROW(e->drops, e->cap_drops, (size_t)e->n_drops + 1, 8))
        return;
    drop *p = &e->drops[e->n_drops];
    p->file = d->file;
    p->rule_id = d->rule_id;
    p->line = (uint32_t)d->line;
    p->col = (uint32_t)d->col;
    p->rc = d->rc;
    p->msg = vg__arena_strdup(e->a, d->message ? d->message : "");
    p->used = false;
    if (p->msg)
        e->n_drops++;
}

static void info_from_rule(vigie_rule_info *in, const vg_rule *r)
{
    in->kind = r->kind == VG_RULE_CORRELATION ? VIGIE_RULE_CORRELATION
               : r->kind == VG_RULE_FILTER    ? VIGIE_RULE_FILTER
                                              : VIGIE_RULE_DETECTION;
    in->file = r->path;
    in->line = r->line;
    in->col = 0;
    in->id = r->id;
    in->title = r->title;
    in->level = r->level;
    in->sigma_status = r->status;
    in->description = r->description;
    in->tags = r->tags;
    in->n_tags = r->n_tags;
    in->product = r->ls_product;
    in->category = r->ls_category;
    in->service = r->ls_service;
    in->new_terms = r->n_nt_fields > 0;
}

/* One vigie_rule_info per document: the loader's statuses in order, the k-th loaded status
 * being the k-th loaded rule. */
static int build_infos(vigie_engine *e, vg_hmap *by_rule)
{
    uint32_t ns = e->rl ? vg__ruleload_status_count(e->rl) : 0;
    e->rules = calloc(ns ? ns : 1, sizeof *e->rules);
    if (!e->rules)
        return VIGIE_NOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < ns; i++) {
        const vg_rule_status *st = vg__ruleload_status(e->rl, i);
        vigie_rule_info *in = &e->rules[i];
        in->rc = st->rc;
        in->file = st->path;
        if (st->rc == VIGIE_OK && k < vg__ruleload_count(e->rl)) {
            const vg_rule *r = vg__ruleload_get(e->rl, k++);
            info_from_rule(in, r);
            in->status = VIGIE_RULE_ACTIVE;
            vg_hmap_slot *sl;
            bool added;
            int rc = vg__hmap_put_u64(by_rule, (uint64_t)(uintptr_t)r, &sl, &added);
            if (rc)
                return rc;
            sl->val.idx = i;
        } else {
            in->status = VIGIE_RULE_SKIPPED;
            in->kind = VIGIE_RULE_UNKNOWN;
            if (in->rc == VIGIE_OK)
                in->rc = VIGIE_NOMEM; /* the loader lost the rule itself (out of memory) */
            in->line = st->line;
            in->col = st->col;
            in->id = st->id;
            in->title = st->title;
            in->reason = st->reason ? st->reason : vigie_strerror(in->rc);
        }
    }
    e->n_rules = ns;
    return VIGIE_OK;
}

/* Detections the compiler refused: DROPPED, with the reason of their diagnostic. */
static void mark_drops(vigie_engine *e, vg_hmap *by_rule, const bool *compiled)
{
    uint32_t n = vg__ruleload_count(e->rl);
    for (uint32_t k = 0; k < n; k++) {
        const vg_rule *r = vg__ruleload_get(e->rl, k);
        vg_hmap_slot *sl = vg__hmap_find_u64(by_rule, (uint64_t)(uintptr_t)r);
        if (!sl || r->kind != VG_RULE_DETECTION)
            continue;
        vigie_rule_info *in = &e->rules[sl->val.idx];
        if (in->status != VIGIE_RULE_ACTIVE || compiled[sl->val.idx])
            continue;
        in->status = VIGIE_RULE_DROPPED;
        in->rc = VIGIE_RULE;
        in->reason = "refused by the compiler";
        for (uint32_t d = 0; d < e->n_drops; d++) {
            drop *p = &e->drops[d];
            if (p->used || p->file != r->path || p->rule_id != r->id)
                continue;
            p->used = true;
            in->rc = p->rc;
            in->reason = p->msg;
            in->line = p->line;
            in->col = p->col;
            break;
        }
    }
}

int vigie_engine_compile(vigie_engine *e)
{
    int rc = building(e);
    if (rc)
        return rc;
    e->compiled = true; /* even on failure: an engine is compiled once */
    vg_hmap by_rule;
    vg__hmap_init(&by_rule, 0);
    bool *compiled = NULL;
    if ((rc = ruleload(e)) || (rc = vg__fieldmap_add_builtin(e->fm, e->diag, e->diag_ud)))
        goto out;
    vg_compile_opts co = {compile_diag, e, e->fm, (e->flags & VIGIE_ENGINE_LOGSOURCE_ALL) != 0,
                          (e->flags & VIGIE_ENGINE_NO_PREFILTER) != 0};
    if ((rc = vg__ruleset_compile(e->rl, &co, &e->rs)))
        goto out;
    if ((rc = vg__detect_new(e->fm, NULL, e->diag, e->diag_ud, &e->det)))
        goto out;
    if ((rc = build_infos(e, &by_rule)))
        goto out;
    uint32_t nc = vg__ruleset_count(e->rs);
    e->active = calloc(nc ? nc : 1, sizeof *e->active);
    compiled = calloc(e->n_rules ? e->n_rules : 1, sizeof *compiled);
    if (!e->active || !compiled) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    /* compiled detections: the index a match reports */
    for (uint32_t i = 0; i < nc; i++) {
        const vg_rule *r = vg__ruleset_rule(e->rs, i);
        vg_hmap_slot *sl = vg__hmap_find_u64(&by_rule, (uint64_t)(uintptr_t)r);
        e->active[i] = sl ? sl->val.idx : 0;
        if (sl)
            compiled[sl->val.idx] = true;
    }
    mark_drops(e, &by_rule, compiled);
    vigie_engine_stats *st = &e->st;
    memset(st, 0, sizeof *st);
    st->rules = e->n_rules;
    for (uint32_t i = 0; i < e->n_rules; i++) {
        const vigie_rule_info *in = &e->rules[i];
        if (in->status == VIGIE_RULE_SKIPPED)
            st->skipped++;
        else if (in->status == VIGIE_RULE_DROPPED)
            st->dropped++;
        else if (in->kind == VIGIE_RULE_CORRELATION)
            st->correlations++;
        else if (in->kind == VIGIE_RULE_FILTER)
            st->filters++;
    }
    st->detections = nc;
    vg__ruleset_prefilter_info(e->rs, &st->prefilter_literals, &st->always_candidates);
    st->indicators = e->ind ? vg__indicators_count(e->ind) : 0;
    st->key_sets = e->keys ? vg__keysets_count(e->keys) : 0;
out:
    vg__hmap_free(&by_rule);
    free(compiled);
    free(e->drops);
    e->drops = NULL;
    e->n_drops = e->cap_drops = 0;
    if (rc) {
        vg__ruleset_free(e->rs);
        e->rs = NULL;
        free(e->rules);
        e->rules = NULL;
        e->n_rules = 0;
    }
    return rc;
}

/* ---- queries ----------------------------------------------------------------------------------- */

uint32_t vigie_engine_rule_count(const vigie_engine *e)
{
    return e && e->rs ? e->n_rules : 0;
}

int vigie_engine_rule(const vigie_engine *e, uint32_t i, vigie_rule_info *out)
{
    if (!e || !e->rs || i >= e->n_rules || !out)
        return VIGIE_NOTFOUND;
    *out = e->rules[i];
    return VIGIE_OK;
}

int vigie_engine_stats_get(const vigie_engine *e, vigie_engine_stats *out)
{
    if (!e || !out)
        return VIGIE_INVAL;
    if (!e->rs) {
        memset(out, 0, sizeof *out);
        return VIGIE_INVAL;
    }
    *out = e->st;
    return VIGIE_OK;
}

const vg_ruleset *vg__engine_ruleset(const vigie_engine *e)
{
    return e->rs;
}
const vg_ruleload *vg__engine_ruleload(const vigie_engine *e)
{
    return e->rl;
}
const vg_fieldmap *vg__engine_fieldmap(const vigie_engine *e)
{
    return e->fm;
}
const vg_indicators *vg__engine_indicators(const vigie_engine *e)
{
    return e->ind;
}
const vg_keysets *vg__engine_keysets(const vigie_engine *e)
{
    return e->keys;
}
const vg_detect *vg__engine_detect(const vigie_engine *e)
{
    return e->det;
}
uint32_t vg__engine_rule_index(const vigie_engine *e, uint32_t compiled)
{
    return e->active[compiled];
}
const vigie_rule_info *vg__engine_rule_info(const vigie_engine *e, uint32_t i)
{
    return e->rs && i < e->n_rules ? &e->rules[i] : NULL;
}
