/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compile.c: loaded rules -> one immutable vg_ruleset (see compile.h for the plan).
 *
 * The prefilter, explained before the code (as YARA explains its atoms). For every rule we
 * derive a set L of literals with the property: if the rule matches an event, at least one
 * literal of L occurs in the event's raw bytes, ignoring ASCII case. Then one Vectorscan scan
 * of the raw record finds which literals occur, and only rules with a hit (or without a set)
 * are evaluated. Derivation, bottom-up:
 *   value    a glob's longest run of plain printable ASCII without '\' or '"' (3 bytes or
 *            more): those bytes appear verbatim in the JSON text of any string the glob
 *            matches, whatever the JSON escaping (escapes only touch '\', '"', control and,
 *            with \u, any character: records holding "\u" skip the prefilter). Numbers,
 *            regexes, CIDRs, null/exists, comparisons and field references give nothing.
 *   key      OR of its values: the union, if every value gives a literal; with |all, any
 *            single value's literal is necessary, so the longest one; with |neq, nothing.
 *   map      AND of keys: the best single key's set (fewest literals, then longest).
 *   search   OR of alternatives: the union, if every alternative gives a set.
 *   cond     AND: the better side; OR / 1 of: the union if all give one; NOT: nothing;
 *            all of: the best member.
 * A rule without a set is "always" a candidate. The prefilter can only remove rules that
 * cannot match; tests check that results are identical with and without it.
 */
#define _POSIX_C_SOURCE 200809L
#include "compile_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_LIT 3
#define MAX_SET 256

/* ---- literal sets (temporary, malloc) ---------------------------------------------------------- */

typedef struct lit {
    const char *s;
    uint32_t len;
} lit;

typedef struct lset {
    bool none; /* no necessary set */
    lit *l;
    uint32_t n;
} lset;

static lset set_none(void)
{
    lset s = {true, NULL, 0};
    return s;
}

static void set_free(lset *s)
{
    free(s->l);
    s->l = NULL;
    s->n = 0;
}

static int set_add(lset *s, lit l)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->l[i].len == l.len && vg__ascii_ieq(s->l[i].s, l.len, l.s, l.len))
            return VIGIE_OK;
    lit *n = realloc(s->l, (s->n + 1) * sizeof *n);
    if (!n)
        return VIGIE_NOMEM;
    s->l = n;
    s->l[s->n++] = l;
    return VIGIE_OK;
}

/* union into a (consumes b); none if either is none or it grows too big */
static lset set_union(lset a, lset b)
{
    if (a.none || b.none) {
        set_free(&a);
        set_free(&b);
        return set_none();
    }
    for (uint32_t i = 0; i < b.n; i++)
        if (set_add(&a, b.l[i])) {
            set_free(&a);
            set_free(&b);
            return set_none();
        }
    set_free(&b);
    if (a.n > MAX_SET) {
        set_free(&a);
        return set_none();
    }
    return a;
}

static uint32_t set_minlen(const lset *s)
{
    uint32_t m = UINT32_MAX;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->l[i].len < m)
            m = s->l[i].len;
    return m;
}

/* keep the better of two sets (consumes both) */
static lset set_best(lset a, lset b)
{
    if (a.none) {
        set_free(&a);
        return b;
    }
    if (b.none) {
        set_free(&b);
        return a;
    }
    bool take_b = b.n < a.n || (b.n == a.n && set_minlen(&b) > set_minlen(&a));
    if (take_b) {
        set_free(&a);
        return b;
    }
    set_free(&b);
    return a;
}

static bool plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
}

static bool value_lit(const vg_value *v, lit *out)
{
    if (v->op != VG_OP_GLOB || v->is_num)
        return false;
    lit best = {NULL, 0};
    for (uint32_t i = 0; i < v->n_parts; i++) {
        const vg_part *p = &v->parts[i];
        if (p->kind != VG_PART_LIT)
            continue;
        uint32_t st = 0;
        for (uint32_t k = 0; k <= p->len; k++) {
            if (k == p->len || !plain((unsigned char)p->s[k])) {
                if (k - st > best.len) {
                    best.s = p->s + st;
                    best.len = k - st;
                }
                st = k + 1;
            }
        }
    }
    if (best.len < MIN_LIT)
        return false;
    *out = best;
    return true;
}

static lset fc_set(const vg_fieldcond *fc)
{
    if (fc->neg || fc->timepart || fc->n_values == 0)
        return set_none();
    lset s = {false, NULL, 0};
    if (fc->all) {
        lit best = {NULL, 0};
        for (uint32_t i = 0; i < fc->n_values; i++) {
            lit l;
            if (value_lit(&fc->values[i], &l) && l.len > best.len)
                best = l;
        }
        if (!best.len || set_add(&s, best))
            return set_none();
        return s;
    }
    for (uint32_t i = 0; i < fc->n_values; i++) {
        lit l;
        if (!value_lit(&fc->values[i], &l) || set_add(&s, l)) {
            set_free(&s);
            return set_none();
        }
    }
    return s;
}

static lset search_set(const csearch *cs)
{
    lset acc = {false, NULL, 0};
    for (uint32_t a = 0; a < cs->n; a++) {
        lset best = set_none();
        for (uint32_t f = 0; f < cs->alts[a].n; f++)
            best = set_best(best, fc_set(cs->alts[a].fcs[f].fc));
        acc = set_union(acc, best);
        if (acc.none)
            break;
    }
    if (cs->n == 0) {
        set_free(&acc);
        return set_none();
    }
    return acc;
}

static lset cond_set(const crule *r, const vg_cond *c, int depth)
{
    if (!c || depth > VG_MAX_CONDITION_DEPTH * 2)
        return set_none();
    switch (c->kind) {
    case VG_C_SEARCH:
        return c->search < r->n_searches ? search_set(&r->searches[c->search]) : set_none();
    case VG_C_AND:
        return set_best(cond_set(r, c->a, depth + 1), cond_set(r, c->b, depth + 1));
    case VG_C_OR:
        return set_union(cond_set(r, c->a, depth + 1), cond_set(r, c->b, depth + 1));
    case VG_C_OF_ANY: {
        lset acc = {false, NULL, 0};
        for (uint32_t i = 0; i < c->n_searches && !acc.none; i++)
            acc = set_union(acc, c->searches[i] < r->n_searches
                                     ? search_set(&r->searches[c->searches[i]])
                                     : set_none());
        return acc;
    }
    case VG_C_OF_ALL: {
        lset best = set_none();
        for (uint32_t i = 0; i < c->n_searches; i++)
            if (c->searches[i] < r->n_searches)
                best = set_best(best, search_set(&r->searches[c->searches[i]]));
        return best;
    }
    default:
        return set_none();
    }
}

/* ---- fields ----------------------------------------------------------------------------------- */

typedef struct builder {
    vg_ruleset *rs;
    const vg_compile_opts *o;
    cfield **fields;
    uint32_t n_fields, cap_fields;
} builder;

static const cfield *field_get(builder *b, const char *name)
{
    for (uint32_t i = 0; i < b->n_fields; i++)
        if (strcmp(b->fields[i]->name, name) == 0)
            return b->fields[i];
    vg_ruleset *rs = b->rs;
    cfield *f = vg__arena_alloc(rs->a, sizeof *f);
    if (!f)
        return NULL;
    f->name = name;
    f->paths = vg__arena_alloc(rs->a, rs->n_maps * sizeof *f->paths);
    f->n_paths = vg__arena_alloc(rs->a, rs->n_maps * sizeof *f->n_paths);
    if (!f->paths || !f->n_paths)
        return NULL;
    for (uint16_t m = 0; m < rs->n_maps; m++) {
        if (rs->fm) {
            f->paths[m] = vg__fieldmap_paths(rs->fm, m, name, &f->n_paths[m]);
        } else {
            const char **one = vg__arena_alloc(rs->a, sizeof *one);
            if (!one)
                return NULL;
            one[0] = name;
            f->paths[m] = one;
            f->n_paths[m] = 1;
        }
    }
    if (b->n_fields == b->cap_fields) {
        uint32_t ncap = b->cap_fields ? b->cap_fields * 2 : 64;
        cfield **nf = realloc(b->fields, ncap * sizeof *nf);
        if (!nf)
            return NULL;
        b->fields = nf;
        b->cap_fields = ncap;
    }
    b->fields[b->n_fields++] = f;
    return f;
}

/* ---- rules ------------------------------------------------------------------------------------ */

static int build_searches(builder *b, const vg_rule *r, crule *cr, uint32_t offset)
{
    vg_ruleset *rs = b->rs;
    for (uint32_t s = 0; s < r->n_searches; s++) {
        const vg_search *vs = &r->searches[s];
        csearch *cs = &cr->searches[offset + s];
        cs->n = vs->n_alts;
        cs->alts = vg__arena_alloc(rs->a, (vs->n_alts ? vs->n_alts : 1) * sizeof(cmap));
        if (!cs->alts)
            return VIGIE_NOMEM;
        for (uint32_t a = 0; a < vs->n_alts; a++) {
            const vg_map *m = &vs->alts[a];
            cmap *cm = &cs->alts[a];
            cm->n = m->n_conds;
            cm->fcs = vg__arena_alloc(rs->a, (m->n_conds ? m->n_conds : 1) * sizeof(cfc));
            if (!cm->fcs)
                return VIGIE_NOMEM;
            for (uint32_t f = 0; f < m->n_conds; f++) {
                const vg_fieldcond *fc = &m->conds[f];
                cfc *c = &cm->fcs[f];
                c->fc = fc;
                if (fc->field && !(c->field = field_get(b, fc->field)))
                    return VIGIE_NOMEM;
                c->n_vals = fc->n_values;
                c->vals = vg__arena_alloc(rs->a, (fc->n_values ? fc->n_values : 1) *
                                                     sizeof(cvalue));
                if (!c->vals)
                    return VIGIE_NOMEM;
                for (uint32_t v = 0; v < fc->n_values; v++) {
                    const vg_value *val = &fc->values[v];
                    cvalue *cv = &c->vals[v];
                    cv->v = val;
                    if (val->op == VG_OP_FIELDREF && !(cv->ref = field_get(b, val->ref_field)))
                        return VIGIE_NOMEM;
                    if (val->op == VG_OP_RE) {
                        uint32_t opt = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
                        if (val->re_flags & VG_RE_I)
                            opt |= PCRE2_CASELESS;
                        if (val->re_flags & VG_RE_M)
                            opt |= PCRE2_MULTILINE;
                        if (val->re_flags & VG_RE_S)
                            opt |= PCRE2_DOTALL;
                        int ec;
                        PCRE2_SIZE eo;
                        cv->re = pcre2_compile((PCRE2_SPTR)val->re, val->re_len, opt, &ec, &eo,
                                               NULL);
                        if (!cv->re) {
                            PCRE2_UCHAR msg[160];
                            pcre2_get_error_message(ec, msg, sizeof msg);
                            vg__diag(b->o->diag, b->o->diag_ud, VIGIE_DIAG_ERROR, VIGIE_REGEX,
                                     r->path, val->line, val->col, r->id,
                                     "rule skipped: invalid regular expression: %s at offset %zu",
                                     (const char *)msg, (size_t)eo);
                            return VIGIE_REGEX;
                        }
                        pcre2_jit_compile(cv->re, PCRE2_JIT_COMPLETE); /* interpreter if no JIT */
                    }
                }
            }
        }
    }
    return VIGIE_OK;
}

static void free_regexes(crule *cr)
{
    for (uint32_t s = 0; s < cr->n_searches; s++)
        for (uint32_t a = 0; cr->searches[s].alts && a < cr->searches[s].n; a++)
            for (uint32_t f = 0; f < cr->searches[s].alts[a].n; f++) {
                cfc *c = &cr->searches[s].alts[a].fcs[f];
                for (uint32_t v = 0; c->vals && v < c->n_vals; v++)
                    if (c->vals[v].re) {
                        pcre2_code_free(c->vals[v].re);
                        c->vals[v].re = NULL;
                    }
            }
}

/* copy a condition tree with search indices shifted by `off` */
static vg_cond *cond_shift(vg_arena *a, const vg_cond *c, uint32_t off)
{
    if (!c)
        return NULL;
    vg_cond *n = vg__arena_alloc(a, sizeof *n);
    if (!n)
        return NULL;
    *n = *c;
    n->search = c->search + off;
    if (c->n_searches) {
        n->searches = vg__arena_alloc(a, c->n_searches * sizeof(uint32_t));
        if (!n->searches)
            return NULL;
        for (uint32_t i = 0; i < c->n_searches; i++)
            n->searches[i] = c->searches[i] + off;
    }
    if (c->a && !(n->a = cond_shift(a, c->a, off)))
        return NULL;
    if (c->b && !(n->b = cond_shift(a, c->b, off)))
        return NULL;
    return n;
}

static bool filter_applies(const vg_rule *f, const vg_rule *r)
{
    for (uint32_t i = 0; i < f->n_filter_rules; i++) {
        const char *x = f->filter_rules[i];
        if (!x)
            continue;
        if ((r->id && !strcmp(x, r->id)) || (r->name && !strcmp(x, r->name)))
            return true;
    }
    return false;
}

int vg__ruleset_compile(const vg_ruleload *rl, const vg_compile_opts *opts, vg_ruleset **out)
{
    *out = NULL;
    vg_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return VIGIE_NOMEM;
    rs->a = vg__arena_new(256 * 1024);
    builder b = {rs, opts, NULL, 0, 0};
    int rc = VIGIE_OK;
    uint32_t n = vg__ruleload_count(rl);
    char **pats = NULL;
    unsigned *flags = NULL, *ids = NULL;
    size_t *lens = NULL;
    lit *lits = NULL;
    uint32_t **lrules = NULL;
    uint32_t *lrn = NULL;
    uint32_t n_lits = 0, cap_lits = 0;
    if (!rs->a) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    rs->fm = opts->fieldmap;
    rs->n_maps = opts->fieldmap ? vg__fieldmap_count(opts->fieldmap) : 1;
    if (rs->n_maps == 0)
        rs->n_maps = 1;
    rs->logsource_all = opts->logsource_all;
    rs->rules = vg__arena_alloc(rs->a, (n ? n : 1) * sizeof(crule));
    rs->mctx = pcre2_match_context_create(NULL);
    if (!rs->rules || !rs->mctx) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    pcre2_set_match_limit(rs->mctx, VG_PCRE2_MATCH_LIMIT);
    pcre2_set_depth_limit(rs->mctx, VG_PCRE2_DEPTH_LIMIT);

    for (uint32_t i = 0; i < n; i++) {
        const vg_rule *r = vg__ruleload_get(rl, i);
        if (r->kind != VG_RULE_DETECTION || !r->cond)
            continue;
        /* searches of the rule plus those of every filter that names it */
        uint32_t ns = r->n_searches;
        for (uint32_t k = 0; k < n; k++) {
            const vg_rule *f = vg__ruleload_get(rl, k);
            if (f->kind == VG_RULE_FILTER && f->cond && filter_applies(f, r))
                ns += f->n_searches;
        }
        crule *cr = &rs->rules[rs->n_rules];
        memset(cr, 0, sizeof *cr);
        cr->r = r;
        cr->n_searches = ns;
        cr->searches = vg__arena_alloc(rs->a, (ns ? ns : 1) * sizeof(csearch));
        if (!cr->searches) {
            rc = VIGIE_NOMEM;
            goto out;
        }
        int brc = build_searches(&b, r, cr, 0);
        const vg_cond *cond = r->cond;
        uint32_t off = r->n_searches;
        for (uint32_t k = 0; !brc && k < n; k++) {
            const vg_rule *f = vg__ruleload_get(rl, k);
            if (f->kind != VG_RULE_FILTER || !f->cond || !filter_applies(f, r))
                continue;
            brc = build_searches(&b, f, cr, off);
            vg_cond *both = vg__arena_alloc(rs->a, sizeof *both);
            vg_cond *fc = cond_shift(rs->a, f->cond, off);
            if (!brc && (!both || !fc))
                brc = VIGIE_NOMEM;
            if (!brc) {
                both->kind = VG_C_AND;
                both->a = (vg_cond *)cond;
                both->b = fc;
                cond = both;
            }
            off += f->n_searches;
        }
        if (brc == VIGIE_NOMEM) {
            rc = brc;
            goto out;
        }
        if (brc) {
            free_regexes(cr);
            rs->dropped++;
            continue;
        }
        cr->cond = cond;
        rs->n_rules++;
    }

    /* prefilter literal sets */
    if (!opts->no_prefilter) {
        for (uint32_t i = 0; i < rs->n_rules; i++) {
            crule *cr = &rs->rules[i];
            lset s = cond_set(cr, cr->cond, 0);
            if (s.none || s.n == 0) {
                cr->always = true;
                rs->n_always++;
                set_free(&s);
                continue;
            }
            for (uint32_t k = 0; k < s.n; k++) {
                uint32_t id = n_lits;
                for (uint32_t q = 0; q < n_lits; q++)
                    if (lits[q].len == s.l[k].len &&
                        vg__ascii_ieq(lits[q].s, lits[q].len, s.l[k].s, s.l[k].len)) {
                        id = q;
                        break;
                    }
                if (id == n_lits) {
                    if (n_lits == cap_lits) {
                        uint32_t nc = cap_lits ? cap_lits * 2 : 256;
                        lit *nl = realloc(lits, nc * sizeof *nl);
                        uint32_t **nr = realloc(lrules, nc * sizeof *nr);
                        uint32_t *nn = realloc(lrn, nc * sizeof *nn);
                        if (nl)
                            lits = nl;
                        if (nr)
                            lrules = nr;
                        if (nn)
                            lrn = nn;
                        if (!nl || !nr || !nn) {
                            set_free(&s);
                            rc = VIGIE_NOMEM;
                            goto out;
                        }
                        cap_lits = nc;
                    }
                    lits[n_lits] = s.l[k];
                    lrules[n_lits] = NULL;
                    lrn[n_lits] = 0;
                    n_lits++;
                }
                uint32_t *nr = realloc(lrules[id], (lrn[id] + 1) * sizeof *nr);
                if (!nr) {
                    set_free(&s);
                    rc = VIGIE_NOMEM;
                    goto out;
                }
                lrules[id] = nr;
                nr[lrn[id]++] = i;
            }
            set_free(&s);
        }
    } else {
        for (uint32_t i = 0; i < rs->n_rules; i++)
            rs->rules[i].always = true;
        rs->n_always = rs->n_rules;
    }
    if (n_lits) {
        pats = calloc(n_lits, sizeof *pats);
        flags = calloc(n_lits, sizeof *flags);
        ids = calloc(n_lits, sizeof *ids);
        lens = calloc(n_lits, sizeof *lens);
        rs->lit_rules_off = vg__arena_alloc(rs->a, (n_lits + 1) * sizeof(uint32_t));
        uint32_t total = 0;
        for (uint32_t i = 0; i < n_lits; i++)
            total += lrn[i];
        rs->lit_rules = vg__arena_alloc(rs->a, (total ? total : 1) * sizeof(uint32_t));
        if (!pats || !flags || !ids || !lens || !rs->lit_rules_off || !rs->lit_rules) {
            rc = VIGIE_NOMEM;
            goto out;
        }
        uint32_t o = 0;
        for (uint32_t i = 0; i < n_lits; i++) {
            pats[i] = (char *)lits[i].s;
            lens[i] = lits[i].len;
            flags[i] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
            ids[i] = i;
            rs->lit_rules_off[i] = o;
            memcpy(rs->lit_rules + o, lrules[i], lrn[i] * sizeof(uint32_t));
            o += lrn[i];
        }
        rs->lit_rules_off[n_lits] = o;
        hs_compile_error_t *ce = NULL;
        if (hs_compile_lit_multi((const char *const *)pats, flags, ids, lens, n_lits,
                                 HS_MODE_BLOCK, NULL, &rs->db, &ce) != HS_SUCCESS) {
            vg__diag(opts->diag, opts->diag_ud, VIGIE_DIAG_WARNING, VIGIE_PREFILTER, NULL, 0, 0,
                     NULL, "prefilter disabled: Vectorscan: %s", ce ? ce->message : "error");
            if (ce)
                hs_free_compile_error(ce);
            rs->db = NULL;
            for (uint32_t i = 0; i < rs->n_rules; i++)
                rs->rules[i].always = true;
            rs->n_always = rs->n_rules;
        } else if (hs_alloc_scratch(rs->db, &rs->proto_scratch) != HS_SUCCESS) {
            rc = VIGIE_PREFILTER;
            goto out;
        } else {
            rs->n_lits = n_lits;
        }
    }
out:
    for (uint32_t i = 0; i < n_lits; i++)
        free(lrules[i]);
    free(lrules);
    free(lrn);
    free(lits);
    free(pats);
    free(flags);
    free(ids);
    free(lens);
    free(b.fields);
    if (rc) {
        vg__ruleset_free(rs);
        return rc;
    }
    *out = rs;
    return VIGIE_OK;
}

void vg__ruleset_free(vg_ruleset *rs)
{
    if (!rs)
        return;
    for (uint32_t i = 0; i < rs->n_rules; i++)
        free_regexes(&rs->rules[i]);
    if (rs->proto_scratch)
        hs_free_scratch(rs->proto_scratch);
    if (rs->db)
        hs_free_database(rs->db);
    if (rs->mctx)
        pcre2_match_context_free(rs->mctx);
    vg__arena_free(rs->a);
    free(rs);
}

uint32_t vg__ruleset_count(const vg_ruleset *rs)
{
    return rs->n_rules;
}

const vg_rule *vg__ruleset_rule(const vg_ruleset *rs, uint32_t i)
{
    return i < rs->n_rules ? rs->rules[i].r : NULL;
}

uint32_t vg__ruleset_dropped(const vg_ruleset *rs)
{
    return rs->dropped;
}

void vg__ruleset_prefilter_info(const vg_ruleset *rs, uint32_t *n_literals,
                                uint32_t *n_rules_always)
{
    *n_literals = rs->n_lits;
    *n_rules_always = rs->n_always;
}
