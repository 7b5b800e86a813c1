/* SPDX-License-Identifier: Apache-2.0 */
/*
 * compile.c: loaded rules -> one immutable vg_ruleset (see compile.h for the plan).
 *
 * The prefilter, explained before the code (as YARA explains its atoms). For every rule we
 * derive a set L of literals with the property: if the rule matches an event, at least one
 * literal of L occurs in the event's raw bytes, ignoring ASCII case. Then one Vectorscan scan
 * of the raw record finds which literals occur, and only rules with a hit (or without a set)
 * are evaluated. Derivation, bottom-up:
 *   value    a glob's longest run of printable ASCII without '\', '"' and the characters
 *            encoders escape for HTML (< > & ' + `; vg__compile_lit_byte), 3 bytes or more:
 *            those bytes appear verbatim in the JSON text of any string the glob matches,
 *            unless written as "\uXXXX" or "\/" (the other escapes touch only '\', '"' and
 *            control characters): records holding such an escape of a literal byte, at any
 *            nesting of JSON held in strings, skip the prefilter (match.c). Numbers,
 *            regexes, CIDRs, null/exists, comparisons and field references give nothing.
 *   key      OR of its values: the union, if every value gives a literal; with |all, any
 *            single value's literal is necessary, so the longest one; with |neq, nothing.
 *   map      AND of keys: the best single key's set (fewest literals, then longest).
 *   search   OR of alternatives: the union, if every alternative gives a set.
 *   cond     AND: the better side; OR / 1 of: the union if all give one; NOT: nothing;
 *            all of: the best member.
 * A rule without a set is "always" a candidate. The prefilter can only remove rules that
 * cannot match; tests check that results are identical with and without it.
 *
 * Databases: one per logsource product (its rules plus the rules without a product), and
 * group 0 for rules without a product; an event scans its product's database only, so a
 * cloud event does not pay for the literals of thousands of Windows rules (all SigmaHQ
 * rules: 7,539 literals; 1.66 us/event of matching instead of 4.3 with one database).
 * Literals are deduplicated case-insensitively through a hash table; compile cost is
 * dominated by Vectorscan (about 0.5 s for the 3,755 SigmaHQ rules).
 *
 * Cost is linear in rules and values (bench/rule_load.sh: 100,000 rules, or 100,000 values
 * in one list, in under 3 s): filters, field names and products are found through one name
 * index, each product group's rules come from per-group lists, and a literal set is given
 * up while it is built once it passes MAX_SET, which bounds every duplicate check.
 */
#define _POSIX_C_SOURCE 200809L
#include "compile.h"

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
    uint32_t n, cap;
} lset;

static lset set_none(void)
{
    lset s = {true, NULL, 0, 0};
    return s;
}

static void set_free(lset *s)
{
    free(s->l);
    s->l = NULL;
    s->n = 0;
    s->cap = 0;
}

/* Add l unless already there (ASCII case-insensitively). A set never holds more than
 * MAX_SET + 1 literals (every caller gives up on a set past MAX_SET: a key of 100,000
 * values has no useful literal set), so the duplicate check is bounded and the cost of a
 * list stays linear in its length. Storage grows geometrically. */
static int set_add(lset *s, lit l)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->l[i].len == l.len && vg__ascii_ieq(s->l[i].s, l.len, l.s, l.len))
            return VIGIE_OK;
    int rc = VG_GROW(s->l, s->cap, (size_t)s->n + 1, 4);
    if (rc)
        return rc;
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
        if (set_add(&a, b.l[i]) || a.n > MAX_SET) { /* sets only grow: past MAX_SET is final */
            set_free(&a);
            set_free(&b);
            return set_none();
        }
    set_free(&b);
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
            if (k == p->len || !vg__compile_lit_byte((unsigned char)p->s[k])) {
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
    lset s = {false, NULL, 0, 0};
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
    /* past MAX_SET distinct literals the set is dropped by the union that consumes it
     * (search_set), so dropping it here already gives the same prefilter */
    for (uint32_t i = 0; i < fc->n_values; i++) {
        lit l;
        if (!value_lit(&fc->values[i], &l) || set_add(&s, l) || s.n > MAX_SET) {
            set_free(&s);
            return set_none();
        }
    }
    return s;
}

static lset search_set(const csearch *cs)
{
    lset acc = {false, NULL, 0, 0};
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
        lset acc = {false, NULL, 0, 0};
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
    vg_hmap field_idx; /* field name (the cfield's own name bytes) -> index in fields */
} builder;

static const cfield *field_get(builder *b, const char *name)
{
    size_t len = strlen(name);
    const vg_hmap_slot *found = vg__hmap_find(&b->field_idx, name, len);
    if (found)
        return b->fields[found->val.idx];
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
    vg_hmap_slot *e;
    bool added;
    if (VG_GROW(b->fields, b->cap_fields, (size_t)b->n_fields + 1, 64) ||
        vg__hmap_put(&b->field_idx, name, len, &e, &added))
        return NULL;
    e->val.idx = b->n_fields;
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

/* Filters by the rule id or name they list: name -> the filters (indices in load order)
 * naming it, so a rule finds its filters with two probes whatever the number of filters. */
typedef struct fname {
    const char *name;
    uint32_t *v, n, cap;
} fname;

typedef struct filter_index {
    vg_hmap idx; /* name (the bytes a filter lists) -> index in names */
    fname *names;
    uint32_t n_names;
} filter_index;

static const fname *fname_get(filter_index *fx, const char *name)
{
    if (!name)
        return NULL;
    const vg_hmap_slot *e = vg__hmap_find(&fx->idx, name, strlen(name));
    return e ? &fx->names[e->val.idx] : NULL;
}

static void filter_index_free(filter_index *fx)
{
    for (uint32_t i = 0; i < fx->n_names; i++)
        free(fx->names[i].v);
    free(fx->names);
    vg__hmap_free(&fx->idx);
}

/* Index filters[0..n): each name a filter lists, once per filter. */
static int filter_index_build(filter_index *fx, const vg_rule *const *filters, uint32_t n)
{
    uint32_t total = 0;
    for (uint32_t k = 0; k < n; k++)
        total += filters[k]->n_filter_rules;
    fx->names = calloc(total ? total : 1, sizeof *fx->names);
    if (!fx->names)
        return VIGIE_NOMEM;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < filters[k]->n_filter_rules; i++) {
            const char *x = filters[k]->filter_rules[i];
            if (!x)
                continue;
            vg_hmap_slot *e;
            bool added;
            if (vg__hmap_put(&fx->idx, x, strlen(x), &e, &added))
                return VIGIE_NOMEM;
            if (added) {
                e->val.idx = fx->n_names++;
                fx->names[e->val.idx].name = x;
            }
            uint32_t id = e->val.idx;
            fname *fn = &fx->names[id];
            if (fn->n && fn->v[fn->n - 1] == k) /* this filter lists the name twice */
                continue;
            int rc = VG_GROW(fn->v, fn->cap, (size_t)fn->n + 1, 2);
            if (rc)
                return rc;
            fn->v[fn->n++] = k;
        }
    return VIGIE_OK;
}

/* The filters that name rule r (by id or by name), in load order, into out; their count. */
static uint32_t filters_of(filter_index *fx, const vg_rule *r, uint32_t *out)
{
    const fname *a = fname_get(fx, r->id), *b = fname_get(fx, r->name);
    uint32_t i = 0, j = 0, na = a ? a->n : 0, nb = b ? b->n : 0, n = 0;
    while (i < na || j < nb) { /* both ascending: merge, a filter naming both counts once */
        uint32_t k = j >= nb || (i < na && a->v[i] <= b->v[j]) ? a->v[i++] : b->v[j++];
        if (!n || out[n - 1] != k)
            out[n++] = k;
    }
    return n;
}

/* ---- prefilter databases ---------------------------------------------------------------------- */

/* The rules whose literals go into one group's database, in rule order: with
 * logsource_all (or for the count over every rule) all of them, otherwise the rules
 * without a product merged with the group's own (rgroup: each rule's group, 0 without a
 * product). Rules without a literal set are never in a database. Members are found per
 * group in time linear in the group's size, not by a walk over every rule per group. */
typedef struct members {
    uint32_t *v;
    uint32_t n, cap; /* cap: grown ones only (own[]); the others are allocated whole */
} members;

static int group_members(const vg_ruleset *rs, uint32_t g, const uint32_t *rgroup,
                         const members *own, const members *unscoped, members *out)
{
    out->n = 0;
    if (g == UINT32_MAX || rs->logsource_all) {
        for (uint32_t i = 0; i < rs->n_rules; i++)
            if (!rs->rules[i].always)
                out->v[out->n++] = i;
        return VIGIE_OK;
    }
    const members *mine = g ? &own[g] : NULL;
    uint32_t a = 0, b = 0, na = unscoped->n, nb = mine ? mine->n : 0;
    while (a < na || b < nb) { /* both ascending: merge */
        uint32_t i =
            b >= nb || (a < na && unscoped->v[a] < mine->v[b]) ? unscoped->v[a++] : mine->v[b++];
        if (!rs->rules[i].always && (rgroup[i] == 0 || rgroup[i] == g))
            out->v[out->n++] = i;
    }
    return VIGIE_OK;
}

/* Deduplicate (ASCII case-insensitively, hash table) the literals of the group's rules
 * (mem), lay out the literal -> rules table in the arena and compile the group's Vectorscan
 * database. With count != NULL only count the distinct literals. A database Vectorscan
 * refuses is a warning: that group runs without prefilter. */
static int build_group(vg_ruleset *rs, const vg_compile_opts *o, uint32_t g, const lset *sets,
                       const members *mem, uint32_t *count)
{
    int rc = VIGIE_OK;
    uint32_t total = 0, n_u = 0;
    vg_hmap seen = {NULL, 0, 0, 0}; /* literal, ASCII-case-insensitively -> its index in u */
    uint32_t *cnt = NULL, *occ_id = NULL, *occ_rule = NULL;
    lit *u = NULL;
    const char **pats = NULL;
    unsigned *flags = NULL, *ids = NULL;
    size_t *lens = NULL;
    for (uint32_t m = 0; m < mem->n; m++)
        total += sets[mem->v[m]].n;
    if (count)
        *count = 0;
    if (total == 0)
        return VIGIE_OK;
    cnt = calloc(total, sizeof *cnt);
    occ_id = malloc(total * sizeof *occ_id);
    occ_rule = malloc(total * sizeof *occ_rule);
    u = malloc(total * sizeof *u);
    if (!cnt || !occ_id || !occ_rule || !u) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    uint32_t n_occ = 0;
    for (uint32_t m = 0; m < mem->n; m++) {
        uint32_t i = mem->v[m];
        for (uint32_t k = 0; k < sets[i].n; k++) {
            lit l = sets[i].l[k];
            vg_hmap_slot *e;
            bool added;
            if ((rc = vg__hmap_put_ci(&seen, l.s, l.len, &e, &added)) != VIGIE_OK)
                goto out;
            if (added) { /* the first spelling stands for the literal */
                e->val.idx = n_u++;
                u[e->val.idx] = l;
            }
            uint32_t id = e->val.idx;
            cnt[id]++;
            occ_id[n_occ] = id;
            occ_rule[n_occ++] = i;
        }
    }
    if (count) {
        *count = n_u;
        goto out;
    }
    cgroup *gr = &rs->groups[g];
    gr->lit_rules_off = vg__arena_alloc(rs->a, (n_u + 1) * sizeof(uint32_t));
    gr->lit_rules = vg__arena_alloc(rs->a, n_occ * sizeof(uint32_t));
    pats = malloc(n_u * sizeof *pats);
    flags = malloc(n_u * sizeof *flags);
    ids = malloc(n_u * sizeof *ids);
    lens = malloc(n_u * sizeof *lens);
    if (!gr->lit_rules_off || !gr->lit_rules || !pats || !flags || !ids || !lens) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    uint32_t off = 0;
    for (uint32_t id = 0; id < n_u; id++) {
        gr->lit_rules_off[id] = off;
        off += cnt[id];
        cnt[id] = gr->lit_rules_off[id]; /* now the fill cursor */
        pats[id] = u[id].s;
        lens[id] = u[id].len;
        flags[id] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
        ids[id] = id;
    }
    gr->lit_rules_off[n_u] = off;
    for (uint32_t k = 0; k < n_occ; k++) /* rule order within each literal */
        gr->lit_rules[cnt[occ_id[k]]++] = occ_rule[k];
    hs_compile_error_t *ce = NULL;
    if (hs_compile_lit_multi(pats, flags, ids, lens, n_u, HS_MODE_BLOCK, NULL, &gr->db, &ce) !=
        HS_SUCCESS) {
        vg__diag(o->diag, o->diag_ud, VIGIE_DIAG_WARNING, VIGIE_PREFILTER, NULL, 0, 0, NULL,
                 "prefilter disabled for product '%s': Vectorscan: %s",
                 gr->product ? gr->product : "(none)", ce ? ce->message : "error");
        if (ce)
            hs_free_compile_error(ce);
        gr->db = NULL;
        goto out;
    }
    gr->n_lits = n_u;
    if (hs_alloc_scratch(gr->db, &rs->proto_scratch) != HS_SUCCESS)
        rc = VIGIE_PREFILTER;
out:
    vg__hmap_free(&seen);
    free(cnt);
    free(occ_id);
    free(occ_rule);
    free(u);
    free(pats);
    free(flags);
    free(ids);
    free(lens);
    return rc;
}

int vg__ruleset_compile(const vg_ruleload *rl, const vg_compile_opts *opts, vg_ruleset **out)
{
    *out = NULL;
    vg_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return VIGIE_NOMEM;
    rs->a = vg__arena_new(256 * 1024);
    builder b = {rs, opts, NULL, 0, 0, {NULL, 0, 0, 0}};
    int rc = VIGIE_OK;
    uint32_t n = vg__ruleload_count(rl);
    lset *sets = NULL;
    const vg_rule **filters = NULL;
    uint32_t n_filters = 0, cap_filters = 0, *applied = NULL;
    filter_index fx;
    memset(&fx, 0, sizeof fx);
    uint32_t *rgroup = NULL;
    members *own = NULL, unscoped = {NULL, 0, 0}, mem = {NULL, 0, 0};
    vg_hmap prod_idx = {NULL, 0, 0, 0}; /* product, ASCII-case-insensitively -> its group */
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

    /* the filter documents, in load order, found once and indexed by the names they list:
     * a rule finds its own filters in two probes, so neither 100,000 rules nor 100,000
     * filters make compile quadratic */
    for (uint32_t k = 0; k < n; k++) {
        const vg_rule *f = vg__ruleload_get(rl, k);
        if (f->kind != VG_RULE_FILTER || !f->cond)
            continue;
        if (VG_GROW(filters, cap_filters, (size_t)n_filters + 1, 16)) {
            rc = VIGIE_NOMEM;
            goto out;
        }
        filters[n_filters++] = f;
    }
    if (n_filters && ((rc = filter_index_build(&fx, filters, n_filters)) ||
                      !(applied = malloc(n_filters * sizeof *applied)))) {
        rc = rc ? rc : VIGIE_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        const vg_rule *r = vg__ruleload_get(rl, i);
        if (r->kind != VG_RULE_DETECTION || !r->cond)
            continue;
        /* searches of the rule plus those of every filter that names it */
        uint32_t ns = r->n_searches, n_applied = n_filters ? filters_of(&fx, r, applied) : 0;
        for (uint32_t k = 0; k < n_applied; k++)
            ns += filters[applied[k]]->n_searches;
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
        for (uint32_t k = 0; !brc && k < n_applied; k++) {
            const vg_rule *f = filters[applied[k]];
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

    /* prefilter literal sets, then one database per product group */
    if (!opts->no_prefilter) {
        sets = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *sets);
        if (!sets) {
            rc = VIGIE_NOMEM;
            goto out;
        }
    }
    for (uint32_t i = 0; i < rs->n_rules; i++) {
        crule *cr = &rs->rules[i];
        if (sets)
            sets[i] = cond_set(cr, cr->cond, 0);
        if (!sets || sets[i].none || sets[i].n == 0) {
            cr->always = true;
            rs->n_always++;
        }
    }
    rs->groups = vg__arena_alloc(rs->a, (rs->n_rules + 1) * sizeof(cgroup));
    if (!rs->groups) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    memset(&rs->groups[0], 0, sizeof(cgroup));
    rs->n_groups = 1;
    /* each rule's group: products compared ASCII-case-insensitively through an index, the
     * group named as its first rule writes it; groups numbered in order of first use */
    rgroup = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *rgroup);
    own = calloc(rs->n_rules + 1, sizeof *own);
    unscoped.v = malloc((rs->n_rules ? rs->n_rules : 1) * sizeof *unscoped.v);
    mem.v = malloc((rs->n_rules ? rs->n_rules : 1) * sizeof *mem.v);
    if (!rgroup || !own || !unscoped.v || !mem.v) {
        rc = VIGIE_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; !rs->logsource_all && i < rs->n_rules; i++) {
        const char *pr = rs->rules[i].r->ls_product;
        if (!pr) {
            unscoped.v[unscoped.n++] = i;
            continue;
        }
        vg_hmap_slot *e;
        bool added;
        if (vg__hmap_put_ci(&prod_idx, pr, strlen(pr), &e, &added)) {
            rc = VIGIE_NOMEM;
            goto out;
        }
        if (added) {
            e->val.idx = rs->n_groups++;
            memset(&rs->groups[e->val.idx], 0, sizeof(cgroup));
            rs->groups[e->val.idx].product = pr;
        }
        uint32_t g = e->val.idx;
        rgroup[i] = g;
        members *m = &own[g];
        if ((rc = VG_GROW(m->v, m->cap, (size_t)m->n + 1, 4)) != VIGIE_OK)
            goto out;
        m->v[m->n++] = i;
    }
    if (sets) {
        rc = group_members(rs, UINT32_MAX, rgroup, own, &unscoped, &mem);
        if (!rc)
            rc = build_group(rs, opts, UINT32_MAX, sets, &mem, &rs->n_lits);
        for (uint32_t g = 0; !rc && g < rs->n_groups; g++) {
            rc = group_members(rs, g, rgroup, own, &unscoped, &mem);
            if (!rc)
                rc = build_group(rs, opts, g, sets, &mem, NULL);
        }
        if (rc)
            goto out;
    }
out:
    for (uint32_t g = 0; own && g < rs->n_groups; g++)
        free(own[g].v);
    free(own);
    free(rgroup);
    free(unscoped.v);
    free(mem.v);
    vg__hmap_free(&prod_idx);
    for (uint32_t i = 0; sets && i < rs->n_rules; i++)
        set_free(&sets[i]);
    free(sets);
    free(filters);
    free(applied);
    filter_index_free(&fx);
    free(b.fields);
    vg__hmap_free(&b.field_idx);
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
    for (uint32_t g = 0; rs->groups && g < rs->n_groups; g++)
        if (rs->groups[g].db)
            hs_free_database(rs->groups[g].db);
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
