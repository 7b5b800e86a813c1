/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rule_load.c: rule files and directories -> vg_rule values, one status per document.
 *
 * Stage: rule. Each file is read whole (bounded by VG_MAX_RULE_FILE_BYTES), parsed into a
 * YAML node tree (rule_yaml.c) in a per-file scratch arena, and each document converted:
 * metadata, logsource, detection (searches via rule_value.c, condition via rule_cond.c),
 * correlation or filter documents. Everything a rule keeps is copied into the loader's
 * arena, so the per-file arena is emptied after the file. A document that fails is reported
 * through the diag callback as file:line:col and recorded with its reason; the loader moves
 * on. Directories are walked recursively in sorted order, *.yml and *.yaml only. A file over
 * the size limit is refused naming VG_MAX_RULE_FILE_BYTES. Cost is linear in the files and
 * the values (bench/rule_load.sh: 100,000 files or one list of 100,000 values).
 */
#define _POSIX_C_SOURCE 200809L
#include "rule_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct vg_ruleload {
    vg_ruleload_opts opts;
    vg_arena *a;
    vg_rule **rules;
    uint32_t n_rules, cap_rules;
    vg_rule_status *st;
    uint32_t n_st, cap_st;
    vg_arena *scratch; /* the current file's YAML tree; reset after each file */
};

vg_ruleload *vg__ruleload_new(const vg_ruleload_opts *opts)
{
    vg_ruleload *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    if (opts)
        rl->opts = *opts;
    rl->a = vg__arena_new(256 * 1024);
    if (!rl->a) {
        free(rl);
        return NULL;
    }
    /* placeholders are copied: the caller's may go away */
    if (rl->opts.n_placeholders) {
        vg_placeholder *ph = vg__arena_alloc(rl->a, rl->opts.n_placeholders * sizeof *ph);
        for (uint32_t i = 0; ph && i < rl->opts.n_placeholders; i++) {
            ph[i].name = vg__arena_strdup(rl->a, opts->placeholders[i].name);
            ph[i].n_values = opts->placeholders[i].n_values;
            ph[i].values = vg__arena_alloc(rl->a, (ph[i].n_values + 1) * sizeof(char *));
            for (uint32_t k = 0; ph[i].values && k < ph[i].n_values; k++)
                ph[i].values[k] = vg__arena_strdup(rl->a, opts->placeholders[i].values[k]);
        }
        rl->opts.placeholders = ph;
    }
    return rl;
}

void vg__ruleload_free(vg_ruleload *rl)
{
    if (!rl)
        return;
    vg__arena_free(rl->a);
    vg__arena_free(rl->scratch);
    free(rl->rules);
    free(rl->st);
    free(rl);
}

uint32_t vg__ruleload_count(const vg_ruleload *rl)
{
    return rl->n_rules;
}
const vg_rule *vg__ruleload_get(const vg_ruleload *rl, uint32_t i)
{
    return i < rl->n_rules ? rl->rules[i] : NULL;
}
uint32_t vg__ruleload_status_count(const vg_ruleload *rl)
{
    return rl->n_st;
}
const vg_rule_status *vg__ruleload_status(const vg_ruleload *rl, uint32_t i)
{
    return i < rl->n_st ? &rl->st[i] : NULL;
}

static void add_status(vg_ruleload *rl, const char *path, uint32_t line, uint32_t col,
                       const char *id, const char *title, int rc, const char *reason)
{
    if (VG_GROW(rl->st, rl->cap_st, (size_t)rl->n_st + 1, 64))
        return;
    vg_rule_status *s = &rl->st[rl->n_st++];
    s->path = path;
    s->line = line;
    s->col = col;
    s->id = id ? vg__arena_strdup(rl->a, id) : NULL;
    s->title = title ? vg__arena_strdup(rl->a, title) : NULL;
    s->rc = rc;
    s->reason = reason ? vg__arena_strdup(rl->a, reason) : NULL;
}

/* ---- document -> rule ------------------------------------------------------------------------ */

typedef struct doc_ctx {
    vg_ruleload *rl;
    const char *path; /* in rl's arena */
} doc_ctx;

static const char *scalar_str(vg_arena *a, const ynode *n)
{
    if (!n || n->type != YN_SCALAR)
        return NULL;
    return vg__arena_strndup(a, n->value, n->len);
}

static int str_list(vg_arena *a, const ynode *n, const char ***out, uint32_t *count)
{
    *out = NULL;
    *count = 0;
    if (!n)
        return VIGIE_OK;
    if (n->type == YN_SCALAR) {
        *out = vg__arena_alloc(a, sizeof(char *));
        if (!*out)
            return VIGIE_NOMEM;
        (*out)[0] = scalar_str(a, n);
        *count = 1;
        return VIGIE_OK;
    }
    if (n->type != YN_SEQ)
        return VIGIE_RULE;
    *out = vg__arena_alloc(a, (n->n_kids + 1) * sizeof(char *));
    if (!*out)
        return VIGIE_NOMEM;
    for (uint32_t i = 0; i < n->n_kids; i++)
        if (n->kids[i]->type == YN_SCALAR)
            (*out)[(*count)++] = scalar_str(a, n->kids[i]);
    return VIGIE_OK;
}

#define RFAIL(code, node, ...)                                                                    \
    do {                                                                                          \
        err->rc = (code);                                                                         \
        err->line = (node) ? (node)->line : doc_line;                                             \
        err->col = (node) ? (node)->col : 1;                                                      \
        snprintf(err->msg, sizeof err->msg, __VA_ARGS__);                                         \
        return err->rc;                                                                           \
    } while (0)

typedef struct alts {
    vg_map *m;
    uint32_t n, cap;
} alts;

static vg_map *alt_new(alts *l)
{
    if (VG_GROW(l->m, l->cap, (size_t)l->n + 1, 4))
        return NULL;
    vg_map *m = &l->m[l->n++];
    memset(m, 0, sizeof *m);
    return m;
}

static int map_from_ymap(vg_ruleload *rl, const ynode *ym, vg_map *out, rule_err *err)
{
    uint32_t n = ym->n_kids / 2;
    out->conds = vg__arena_alloc(rl->a, (n ? n : 1) * sizeof(vg_fieldcond));
    if (!out->conds)
        return VIGIE_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const ynode *k = ym->kids[2 * i], *v = ym->kids[2 * i + 1];
        if (k->type != YN_SCALAR) {
            err->rc = VIGIE_RULE;
            err->line = k->line;
            err->col = k->col;
            snprintf(err->msg, sizeof err->msg, "a detection key must be a field name");
            return err->rc;
        }
        int rc = vg__rule_fieldcond(rl->a, k, v, &rl->opts, &out->conds[out->n_conds], err);
        if (rc)
            return rc;
        out->n_conds++;
    }
    if (n == 0) {
        err->rc = VIGIE_RULE;
        err->line = ym->line;
        err->col = ym->col;
        snprintf(err->msg, sizeof err->msg, "empty search map");
        return err->rc;
    }
    return VIGIE_OK;
}

static int build_search(vg_ruleload *rl, const ynode *name, const ynode *body, vg_search *s,
                        rule_err *err)
{
    s->name = vg__arena_strndup(rl->a, name->value, name->len);
    s->line = name->line;
    s->col = name->col;
    alts l = {NULL, 0, 0};
    int rc = VIGIE_OK;
    if (body->type == YN_MAP) {
        vg_map *m = alt_new(&l);
        rc = m ? map_from_ymap(rl, body, m, err) : VIGIE_NOMEM;
    } else if (body->type == YN_SEQ) {
        const ynode **kws = calloc(body->n_kids + 1, sizeof *kws);
        uint32_t nk = 0;
        if (!kws)
            rc = VIGIE_NOMEM;
        for (uint32_t i = 0; !rc && i < body->n_kids; i++) {
            const ynode *it = body->kids[i];
            if (it->type == YN_MAP) {
                vg_map *m = alt_new(&l);
                rc = m ? map_from_ymap(rl, it, m, err) : VIGIE_NOMEM;
            } else if (it->type == YN_SCALAR) {
                kws[nk++] = it;
            } else {
                err->line = it->line;
                err->col = it->col;
                snprintf(err->msg, sizeof err->msg, "nested lists are not allowed in a search");
                rc = err->rc = VIGIE_RULE;
            }
        }
        if (!rc && nk) {
            vg_map *m = alt_new(&l);
            if (!m)
                rc = VIGIE_NOMEM;
            else {
                m->conds = vg__arena_alloc(rl->a, sizeof(vg_fieldcond));
                rc = m->conds ? vg__rule_keywords(rl->a, kws, nk, NULL, body->line, body->col,
                                                  &rl->opts, &m->conds[0], err)
                              : VIGIE_NOMEM;
                m->n_conds = 1;
            }
        }
        if (!rc && body->n_kids == 0) {
            err->line = body->line;
            err->col = body->col;
            snprintf(err->msg, sizeof err->msg, "empty search list");
            rc = err->rc = VIGIE_RULE;
        }
        free(kws);
    } else if (body->type == YN_SCALAR && body->len) {
        vg_map *m = alt_new(&l);
        if (!m)
            rc = VIGIE_NOMEM;
        else {
            m->conds = vg__arena_alloc(rl->a, sizeof(vg_fieldcond));
            const ynode *one = body;
            rc = m->conds ? vg__rule_keywords(rl->a, &one, 1, NULL, body->line, body->col,
                                              &rl->opts, &m->conds[0], err)
                          : VIGIE_NOMEM;
            m->n_conds = 1;
        }
    } else {
        err->line = body->line;
        err->col = body->col;
        snprintf(err->msg, sizeof err->msg, "search '%s' is empty", s->name);
        rc = err->rc = VIGIE_RULE;
    }
    if (!rc) {
        s->alts = vg__arena_alloc(rl->a, (l.n ? l.n : 1) * sizeof(vg_map));
        if (!s->alts)
            rc = VIGIE_NOMEM;
        else if (l.n)
            memcpy(s->alts, l.m, l.n * sizeof(vg_map));
        s->n_alts = l.n;
    }
    free(l.m);
    if (rc && !err->rc)
        err->rc = rc;
    return rc;
}

/* detection (or filter body): searches + condition */
static int build_detection(vg_ruleload *rl, const ynode *det, uint32_t doc_line, vg_rule *r,
                           rule_err *err, bool require_condition)
{
    if (!det || det->type != YN_MAP)
        RFAIL(VIGIE_RULE, det, "detection must be a map of searches and a condition");
    const ynode *cond = NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; i + 1 < det->n_kids; i += 2)
        if (det->kids[i]->type == YN_SCALAR) {
            const char *k = det->kids[i]->value;
            if (!strcmp(k, "condition"))
                cond = det->kids[i + 1];
            else if (strcmp(k, "timeframe") != 0 && strcmp(k, "rules") != 0)
                n++;
        }
    if (!cond && require_condition)
        RFAIL(VIGIE_RULE, det, "detection has no condition");
    r->searches = vg__arena_alloc(rl->a, (n ? n : 1) * sizeof(vg_search));
    const char **names = vg__arena_alloc(rl->a, (n ? n : 1) * sizeof(char *));
    if (!r->searches || !names)
        return VIGIE_NOMEM;
    for (uint32_t i = 0; i + 1 < det->n_kids; i += 2) {
        const ynode *k = det->kids[i];
        if (k->type != YN_SCALAR)
            RFAIL(VIGIE_RULE, k, "search names must be scalars");
        if (!strcmp(k->value, "condition") || !strcmp(k->value, "timeframe") ||
            !strcmp(k->value, "rules"))
            continue;
        vg_search *s = &r->searches[r->n_searches];
        int rc = build_search(rl, k, det->kids[i + 1], s, err);
        if (rc)
            return rc;
        names[r->n_searches++] = s->name;
    }
    if (!cond)
        return VIGIE_OK;
    const ynode *const *conds = &cond;
    uint32_t nc = 1;
    if (cond->type == YN_SEQ) {
        conds = (const ynode *const *)cond->kids;
        nc = cond->n_kids;
    }
    if (nc == 0)
        RFAIL(VIGIE_CONDITION, cond, "empty condition list");
    vg_cond *all = NULL;
    for (uint32_t i = 0; i < nc; i++) {
        const ynode *c = conds[i];
        if (c->type != YN_SCALAR)
            RFAIL(VIGIE_CONDITION, c, "a condition must be a string");
        vg_cond *tree;
        uint32_t ecol = 0;
        char emsg[200];
        if (vg__cond_parse(rl->a, c->value, c->len, names, r->n_searches, &tree, &ecol, emsg,
                           sizeof emsg)) {
            err->rc = VIGIE_CONDITION;
            err->line = c->line;
            err->col = c->col + (c->quoted ? 1 : 0) + ecol - 1;
            snprintf(err->msg, sizeof err->msg, "invalid condition: %s", emsg);
            return err->rc;
        }
        if (!all) {
            all = tree;
        } else {
            vg_cond *o = vg__arena_alloc(rl->a, sizeof *o);
            if (!o)
                return VIGIE_NOMEM;
            o->kind = VG_C_OR;
            o->a = all;
            o->b = tree;
            all = o;
        }
    }
    r->cond = all;
    return VIGIE_OK;
}

/* "30s", "5m", "1.5h", "1d", "2w", "1M", "1y" or bare seconds -> seconds; -1 if invalid */
static double parse_timespan(const char *s)
{
    size_t digits = strspn(s, "0123456789.");
    if (digits == 0 || digits > 32)
        return -1;
    char num[40], *end;
    memcpy(num, s, digits);
    num[digits] = 0;
    double v = strtod(num, &end);
    if (*end || !(v >= 0 && v < 1e12))
        return -1;
    end = (char *)s + digits;
    switch (*end) {
    case 's': return end[1] ? -1 : v;
    case 'm': return end[1] ? -1 : v * 60;
    case 'h': return end[1] ? -1 : v * 3600;
    case 'd': return end[1] ? -1 : v * 86400;
    case 'w': return end[1] ? -1 : v * 7 * 86400;
    /* calendar units, as pySigma has them: approximate (Julian year, a twelfth of it) */
    case 'M': return end[1] ? -1 : v * 365.25 / 12 * 86400;
    case 'y': return end[1] ? -1 : v * 365.25 * 86400;
    case 0: return v;
    default: return -1;
    }
}

/* correlation `aliases:` -> vg_corr_aliases (rule.h): alias name -> rule -> field */
static int build_aliases(vg_ruleload *rl, const ynode *al, vg_correlation *k, rule_err *err)
{
    if (al->type != YN_MAP || al->n_kids == 0) {
        err->rc = VIGIE_RULE;
        err->line = al->line;
        err->col = al->col;
        snprintf(err->msg, sizeof err->msg, "correlation aliases must be a map of maps");
        return err->rc;
    }
    vg_corr_aliases *out = vg__arena_alloc(rl->a, sizeof *out);
    uint32_t n = al->n_kids / 2;
    if (!out || !(out->v = vg__arena_alloc(rl->a, n * sizeof *out->v)))
        return VIGIE_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const ynode *name = al->kids[2 * i], *m = al->kids[2 * i + 1];
        if (name->type != YN_SCALAR || m->type != YN_MAP || m->n_kids == 0) {
            err->rc = VIGIE_RULE;
            err->line = m->line;
            err->col = m->col;
            snprintf(err->msg, sizeof err->msg,
                     "correlation alias must map each rule to a field name");
            return err->rc;
        }
        vg_corr_alias *a = &out->v[out->n++];
        uint32_t nr = m->n_kids / 2;
        a->name = scalar_str(rl->a, name);
        a->rules = vg__arena_alloc(rl->a, nr * sizeof(char *));
        a->fields = vg__arena_alloc(rl->a, nr * sizeof(char *));
        if (!a->name || !a->rules || !a->fields)
            return VIGIE_NOMEM;
        for (uint32_t j = 0; j < nr; j++) {
            const ynode *rk = m->kids[2 * j], *fv = m->kids[2 * j + 1];
            if (rk->type != YN_SCALAR || fv->type != YN_SCALAR || !fv->len) {
                err->rc = VIGIE_RULE;
                err->line = fv->line;
                err->col = fv->col;
                snprintf(err->msg, sizeof err->msg, "correlation alias '%s': rule: field",
                         a->name);
                return err->rc;
            }
            a->rules[a->n] = scalar_str(rl->a, rk);
            a->fields[a->n++] = scalar_str(rl->a, fv);
            if (!a->rules[a->n - 1] || !a->fields[a->n - 1])
                return VIGIE_NOMEM;
        }
    }
    k->aliases = out;
    return VIGIE_OK;
}

static int build_correlation(vg_ruleload *rl, const ynode *c, uint32_t doc_line, vg_rule *r,
                             rule_err *err)
{
    if (c->type != YN_MAP)
        RFAIL(VIGIE_RULE, c, "correlation must be a map");
    vg_correlation *k = vg__arena_alloc(rl->a, sizeof *k);
    if (!k)
        return VIGIE_NOMEM;
    k->gt = k->gte = k->lt = k->lte = k->eq = k->percentile = NAN;
    const ynode *t = vg__ynode_get(c, "type");
    static const struct {
        const char *n;
        int t;
    } types[] = {{"event_count", VG_CORR_EVENT_COUNT}, {"value_count", VG_CORR_VALUE_COUNT},
                 {"temporal", VG_CORR_TEMPORAL}, {"temporal_ordered", VG_CORR_TEMPORAL_ORDERED},
                 {"value_sum", VG_CORR_VALUE_SUM}, {"value_avg", VG_CORR_VALUE_AVG},
                 {"value_percentile", VG_CORR_VALUE_PERCENTILE}};
    for (size_t i = 0; t && t->type == YN_SCALAR && i < VG_ARRAY_LEN(types); i++)
        if (!strcmp(t->value, types[i].n))
            k->type = (uint8_t)types[i].t;
    if (!k->type)
        RFAIL(VIGIE_RULE, t ? t : c, "unknown or missing correlation type");
    if (str_list(rl->a, vg__ynode_get(c, "rules"), &k->rules, &k->n_rules) || !k->n_rules)
        RFAIL(VIGIE_RULE, c, "correlation needs 'rules'");
    if (str_list(rl->a, vg__ynode_get(c, "group-by"), &k->group_by, &k->n_group_by))
        RFAIL(VIGIE_RULE, c, "invalid group-by");
    const ynode *ts = vg__ynode_get(c, "timespan");
    if (!ts)
        ts = vg__ynode_get(c, "timeframe");
    if (!ts || ts->type != YN_SCALAR || (k->timespan = parse_timespan(ts->value)) <= 0)
        RFAIL(VIGIE_RULE, ts ? ts : c, "correlation needs a timespan like 5m, 1h or 1d");
    const ynode *g = vg__ynode_get(c, "generate");
    k->generate = g && g->type == YN_SCALAR && !strcmp(g->value, "true");
    const ynode *cond = vg__ynode_get(c, "condition");
    if (cond && cond->type == YN_MAP) {
        for (uint32_t i = 0; i + 1 < cond->n_kids; i += 2) {
            const char *key = cond->kids[i]->value;
            const ynode *v = cond->kids[i + 1];
            if (!strcmp(key, "field")) {
                k->field = scalar_str(rl->a, v);
                continue;
            }
            double d;
            char *end;
            if (v->type != YN_SCALAR || (d = strtod(v->value, &end), *end))
                RFAIL(VIGIE_RULE, v, "correlation condition '%s' needs a number", key);
            if (!strcmp(key, "gt"))
                k->gt = d;
            else if (!strcmp(key, "gte"))
                k->gte = d;
            else if (!strcmp(key, "lt"))
                k->lt = d;
            else if (!strcmp(key, "lte"))
                k->lte = d;
            else if (!strcmp(key, "eq"))
                k->eq = d;
            else if (!strcmp(key, "percentile"))
                k->percentile = d;
            else
                RFAIL(VIGIE_RULE, cond->kids[i], "unknown correlation condition '%s'", key);
        }
    } else if (k->type != VG_CORR_TEMPORAL && k->type != VG_CORR_TEMPORAL_ORDERED) {
        RFAIL(VIGIE_RULE, c, "correlation needs a condition");
    }
    bool bounded = !isnan(k->gt) || !isnan(k->gte) || !isnan(k->lt) || !isnan(k->lte) ||
                   !isnan(k->eq);
    if (cond && cond->type == YN_MAP && !bounded)
        RFAIL(VIGIE_RULE, cond, "correlation condition needs gt, gte, lt, lte or eq");
    if (k->type >= VG_CORR_VALUE_COUNT && k->type != VG_CORR_TEMPORAL &&
        k->type != VG_CORR_TEMPORAL_ORDERED && !k->field)
        RFAIL(VIGIE_RULE, cond ? cond : c, "this correlation type needs condition.field");
    const ynode *al = vg__ynode_get(c, "aliases");
    if (al) {
        int rc = build_aliases(rl, al, k, err);
        if (rc)
            return rc;
    }
    r->corr = k;
    return VIGIE_OK;
}

static int convert(vg_ruleload *rl, const char *path, uint32_t doc, uint32_t doc_line,
                   const ynode *root, vg_rule **out, rule_err *err)
{
    if (!root || root->type != YN_MAP)
        RFAIL(VIGIE_RULE, root, "a rule document must be a YAML map");
    vg_rule *r = vg__arena_alloc(rl->a, sizeof *r);
    if (!r)
        return VIGIE_NOMEM;
    r->path = path;
    r->doc = doc;
    r->line = doc_line;
    r->id = scalar_str(rl->a, vg__ynode_get(root, "id"));
    r->name = scalar_str(rl->a, vg__ynode_get(root, "name"));
    r->title = scalar_str(rl->a, vg__ynode_get(root, "title"));
    r->level = scalar_str(rl->a, vg__ynode_get(root, "level"));
    r->status = scalar_str(rl->a, vg__ynode_get(root, "status"));
    r->description = scalar_str(rl->a, vg__ynode_get(root, "description"));
    r->author = scalar_str(rl->a, vg__ynode_get(root, "author"));
    r->date = scalar_str(rl->a, vg__ynode_get(root, "date"));
    *out = r;
    if (str_list(rl->a, vg__ynode_get(root, "tags"), &r->tags, &r->n_tags))
        RFAIL(VIGIE_RULE, vg__ynode_get(root, "tags"), "tags must be a list of strings");
    str_list(rl->a, vg__ynode_get(root, "falsepositives"), &r->falsepositives,
             &r->n_falsepositives);
    const ynode *ls = vg__ynode_get(root, "logsource");
    if (ls && ls->type == YN_MAP) {
        r->ls_product = scalar_str(rl->a, vg__ynode_get(ls, "product"));
        r->ls_category = scalar_str(rl->a, vg__ynode_get(ls, "category"));
        r->ls_service = scalar_str(rl->a, vg__ynode_get(ls, "service"));
    }
    const ynode *ext = vg__ynode_get(root, "vigie");
    const ynode *nt = ext ? vg__ynode_get(ext, "new_terms") : NULL;
    if (ext && ext->type != YN_MAP)
        RFAIL(VIGIE_RULE, ext, "'vigie' must be a map of vigie extensions");
    if (nt) {
        if (nt->type != YN_MAP || str_list(rl->a, vg__ynode_get(nt, "fields"), &r->nt_fields,
                                           &r->n_nt_fields) || !r->n_nt_fields)
            RFAIL(VIGIE_RULE, nt, "new_terms needs 'fields': a list of field names");
        const ynode *g = vg__ynode_get(nt, "group_by");
        if (g && !(g->type == YN_SCALAR && !strcmp(g->value, "tenant")) &&
            str_list(rl->a, g, &r->nt_group, &r->n_nt_group))
            RFAIL(VIGIE_RULE, g, "new_terms group_by: 'tenant' or a list of field names");
        const ynode *bd = vg__ynode_get(nt, "baseline_days");
        char *end = NULL;
        double days = bd && bd->type == YN_SCALAR ? strtod(bd->value, &end) : 7;
        if (bd && (!end || *end || days < 0 || days > 3650))
            RFAIL(VIGIE_RULE, bd, "new_terms baseline_days: a number of days");
        r->nt_baseline_s = days * 86400.0;
    }
    const ynode *corr = vg__ynode_get(root, "correlation");
    const ynode *filter = vg__ynode_get(root, "filter");
    if (corr) {
        r->kind = VG_RULE_CORRELATION;
        return build_correlation(rl, corr, doc_line, r, err);
    }
    if (filter) {
        r->kind = VG_RULE_FILTER;
        if (str_list(rl->a, vg__ynode_get(filter, "rules"), &r->filter_rules,
                     &r->n_filter_rules) ||
            !r->n_filter_rules)
            RFAIL(VIGIE_RULE, filter, "a filter needs 'rules'");
        return build_detection(rl, filter, doc_line, r, err, true);
    }
    const ynode *det = vg__ynode_get(root, "detection");
    if (!det)
        RFAIL(VIGIE_RULE, root, "no detection section");
    if (!ls)
        RFAIL(VIGIE_RULE, root, "no logsource section");
    if (!r->title)
        RFAIL(VIGIE_RULE, root, "no title");
    return build_detection(rl, det, doc_line, r, err, true);
}

static int on_doc(void *ud, uint32_t doc, uint32_t line, const ynode *root,
                  const yaml_err *derr)
{
    doc_ctx *d = ud;
    vg_ruleload *rl = d->rl;
    if (derr) {
        vg__diag(rl->opts.diag, rl->opts.diag_ud, VIGIE_DIAG_ERROR, derr->rc, d->path,
                 derr->line, derr->col, NULL, "rule skipped: %s", derr->msg);
        add_status(rl, d->path, derr->line, derr->col, NULL, NULL, derr->rc, derr->msg);
        return VIGIE_OK;
    }
    if (!root)
        return VIGIE_OK; /* empty document */
    vg_rule *r = NULL;
    rule_err err;
    memset(&err, 0, sizeof err);
    int rc = convert(rl, d->path, doc, line, root, &r, &err);
    const char *id = r ? r->id : NULL, *title = r ? r->title : NULL;
    if (rc) {
        if (!err.msg[0])
            snprintf(err.msg, sizeof err.msg, "%s", vigie_strerror(rc));
        if (!err.line) {
            err.line = line;
            err.col = 1;
        }
        vg__diag(rl->opts.diag, rl->opts.diag_ud, VIGIE_DIAG_ERROR, err.rc ? err.rc : rc, d->path,
                 err.line, err.col, id, "rule skipped: %s", err.msg);
        add_status(rl, d->path, err.line, err.col, id, title, err.rc ? err.rc : rc, err.msg);
        return rc == VIGIE_NOMEM ? rc : VIGIE_OK;
    }
    if (VG_GROW(rl->rules, rl->cap_rules, (size_t)rl->n_rules + 1, 64))
        return VIGIE_NOMEM;
    rl->rules[rl->n_rules++] = r;
    add_status(rl, d->path, 0, 0, id, title, VIGIE_OK, NULL);
    return VIGIE_OK;
}

/* A file over VG_MAX_RULE_FILE_BYTES: reported naming the limit, the other files load. */
static void too_big(vg_ruleload *rl, const char *path)
{
    char why[160];
    snprintf(why, sizeof why, "rule file exceeds VG_MAX_RULE_FILE_BYTES (%u MiB, %u bytes)",
             (unsigned)(VG_MAX_RULE_FILE_BYTES / (1024u * 1024u)),
             (unsigned)VG_MAX_RULE_FILE_BYTES);
    vg__diag(rl->opts.diag, rl->opts.diag_ud, VIGIE_DIAG_ERROR, VIGIE_TOOBIG, path, 0, 0, NULL,
             "%s: skipped", why);
    add_status(rl, path, 1, 1, NULL, NULL, VIGIE_TOOBIG, why);
}

int vg__ruleload_string(vg_ruleload *rl, const char *name, const char *yaml, size_t len)
{
    const char *path = vg__arena_strdup(rl->a, name ? name : "<string>");
    if (!path)
        return VIGIE_NOMEM;
    if (len > VG_MAX_RULE_FILE_BYTES) {
        too_big(rl, path);
        return VIGIE_OK;
    }
    /* one scratch arena for every file, emptied after each (its first chunk is kept, so
     * 100,000 small files do not allocate and fault in 100,000 fresh chunks) */
    if (!rl->scratch && !(rl->scratch = vg__arena_new(64 * 1024)))
        return VIGIE_NOMEM;
    vg_arena *tmp = rl->scratch;
    doc_ctx d = {rl, path};
    yaml_err ye;
    memset(&ye, 0, sizeof ye);
    int rc = vg__yaml_parse(tmp, yaml, len, on_doc, &d, &ye);
    if (rc && rc != VIGIE_NOMEM) {
        vg__diag(rl->opts.diag, rl->opts.diag_ud, VIGIE_DIAG_ERROR, rc, path, ye.line, ye.col,
                 NULL, "rule skipped: %s", ye.msg);
        add_status(rl, path, ye.line, ye.col, NULL, NULL, rc, ye.msg);
        rc = VIGIE_OK;
    }
    vg__arena_reset(tmp);
    return rc;
}

static int load_file(vg_ruleload *rl, const char *path)
{
    char *text;
    size_t len;
    int rc = vg__read_file(path, VG_MAX_RULE_FILE_BYTES, &text, &len);
    if (rc == VIGIE_TOOBIG) {
        const char *p = vg__arena_strdup(rl->a, path);
        if (!p)
            return VIGIE_NOMEM;
        too_big(rl, p);
        return VIGIE_OK;
    }
    if (rc) {
        const char *p = vg__arena_strdup(rl->a, path);
        vg__diag(rl->opts.diag, rl->opts.diag_ud, VIGIE_DIAG_ERROR, rc, p, 0, 0, NULL,
                 "cannot read rule file: %s", vigie_strerror(rc));
        add_status(rl, p, 0, 0, NULL, NULL, rc, vigie_strerror(rc));
        return VIGIE_OK;
    }
    rc = vg__ruleload_string(rl, path, text, len);
    free(text);
    return rc;
}

static bool yaml_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 4 && !strcmp(n + l - 4, ".yml")) || (l > 5 && !strcmp(n + l - 5, ".yaml"));
}

static int load_cb(void *ud, const char *path)
{
    return yaml_name(path) ? load_file(ud, path) : VIGIE_OK;
}

int vg__ruleload_path(vg_ruleload *rl, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? VIGIE_NOENT : VIGIE_IO;
    if (S_ISDIR(st.st_mode))
        return vg__walk_files(path, load_cb, rl, rl->opts.diag, rl->opts.diag_ud);
    return load_file(rl, path);
}
