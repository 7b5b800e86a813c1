/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rule_cond.c: the Sigma condition grammar -> a vg_cond tree.
 *
 *   expr    := and ('or' and)*          left-associative; 'or' binds loosest
 *   and     := unary ('and' unary)*
 *   unary   := 'not' unary | primary    'not' binds tightest
 *   primary := '(' expr ')' | quant | IDENT
 *   quant   := ('1' | 'any' | 'all') 'of' (PATTERN | 'them')
 *
 * Operators are whole words, case-insensitive ('note' is an identifier). Identifiers are
 * [A-Za-z0-9_.-] plus '*' in patterns. `them` and patterns that do not start with '_' skip
 * identifiers starting with '_'. A quantifier is expanded at parse time into the list of
 * search indices it selects. Recursive descent: parentheses and 'not' nest at most
 * VG_MAX_CONDITION_DEPTH deep (a few stack frames each).
 */
#define _POSIX_C_SOURCE 200809L
#include "rule_int.h"

#include <stdio.h>
#include <string.h>

enum { TK_END = 0, TK_LP, TK_RP, TK_AND, TK_OR, TK_NOT, TK_OF, TK_ONE, TK_ALL, TK_THEM,
       TK_IDENT, TK_BAD };

typedef struct cparser {
    vg_arena *a;
    const char *s;
    size_t n, pos;
    int tk;
    size_t tk_start, tk_len;
    const char *const *names;
    uint32_t n_names;
    int depth;
    uint32_t err_col;
    char *err;
    size_t errcap;
    int failed;
} cparser;

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == '*' || c == '?';
}

static void lex(cparser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
    p->tk_start = p->pos;
    if (p->pos >= p->n) {
        p->tk = TK_END;
        p->tk_len = 0;
        return;
    }
    char c = p->s[p->pos];
    if (c == '(' || c == ')') {
        p->tk = c == '(' ? TK_LP : TK_RP;
        p->tk_len = 1;
        p->pos++;
        return;
    }
    if (!ident_char(c)) {
        p->tk = TK_BAD;
        p->tk_len = 1;
        return;
    }
    size_t e = p->pos;
    while (e < p->n && ident_char(p->s[e]))
        e++;
    p->tk_len = e - p->pos;
    const char *w = p->s + p->pos;
    p->pos = e;
    static const struct {
        const char *w;
        int tk;
    } kw[] = {{"and", TK_AND}, {"or", TK_OR}, {"not", TK_NOT}, {"of", TK_OF}, {"1", TK_ONE},
              {"any", TK_ONE}, {"all", TK_ALL}, {"them", TK_THEM}};
    for (size_t i = 0; i < VG_ARRAY_LEN(kw); i++)
        if (strlen(kw[i].w) == p->tk_len && vg__ascii_ieq(w, p->tk_len, kw[i].w, p->tk_len)) {
            p->tk = kw[i].tk;
            return;
        }
    p->tk = TK_IDENT;
}

static vg_cond *fail(cparser *p, const char *fmt, const char *arg, size_t arg_len)
{
    if (!p->failed) {
        p->failed = 1;
        p->err_col = (uint32_t)p->tk_start + 1;
        snprintf(p->err, p->errcap, fmt, (int)arg_len, arg);
    }
    return NULL;
}

static vg_cond *node(cparser *p, int kind)
{
    vg_cond *c = vg__arena_alloc(p->a, sizeof *c);
    if (c)
        c->kind = (uint8_t)kind;
    return c;
}

/* glob match of a selector pattern (only '*' and '?') against a name */
static bool pat_match(const char *pat, size_t pl, const char *s)
{
    size_t sl = strlen(s), pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < sl) {
        if (pi < pl && (pat[pi] == '?' || pat[pi] == s[si])) {
            pi++;
            si++;
        } else if (pi < pl && pat[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pl && pat[pi] == '*')
        pi++;
    return pi == pl;
}

static vg_cond *parse_expr(cparser *p);

static vg_cond *parse_primary(cparser *p)
{
    if (p->tk == TK_LP) {
        if (++p->depth > VG_MAX_CONDITION_DEPTH)
            return fail(p, "condition nested too deeply%.*s", "", 0);
        lex(p);
        vg_cond *e = parse_expr(p);
        if (!e)
            return NULL;
        if (p->tk != TK_RP)
            return fail(p, "expected ')'%.*s", "", 0);
        p->depth--;
        lex(p);
        return e;
    }
    if (p->tk == TK_ONE || p->tk == TK_ALL) {
        int all = p->tk == TK_ALL;
        lex(p);
        if (p->tk != TK_OF)
            return fail(p, "expected 'of' after '1', 'any' or 'all'%.*s", "", 0);
        lex(p);
        if (p->tk != TK_THEM && p->tk != TK_IDENT)
            return fail(p, "expected an identifier pattern or 'them' after 'of'%.*s", "", 0);
        bool them = p->tk == TK_THEM;
        const char *pat = p->s + p->tk_start;
        size_t pl = p->tk_len;
        vg_cond *c = node(p, all ? VG_C_OF_ALL : VG_C_OF_ANY);
        if (!c)
            return NULL;
        c->searches = vg__arena_alloc(p->a, (p->n_names ? p->n_names : 1) * sizeof(uint32_t));
        if (!c->searches)
            return NULL;
        for (uint32_t i = 0; i < p->n_names; i++) {
            const char *nm = p->names[i];
            if (them ? nm[0] != '_' : (pat_match(pat, pl, nm) && (nm[0] != '_' || pat[0] == '_')))
                c->searches[c->n_searches++] = i;
        }
        if (c->n_searches == 0)
            return fail(p, "no search identifier matches '%.*s'", them ? "them" : pat,
                        them ? 4 : pl);
        lex(p);
        return c;
    }
    if (p->tk == TK_IDENT) {
        for (uint32_t i = 0; i < p->n_names; i++)
            if (strlen(p->names[i]) == p->tk_len &&
                memcmp(p->names[i], p->s + p->tk_start, p->tk_len) == 0) {
                vg_cond *c = node(p, VG_C_SEARCH);
                if (!c)
                    return NULL;
                c->search = i;
                lex(p);
                return c;
            }
        return fail(p, "undefined search identifier '%.*s'", p->s + p->tk_start, p->tk_len);
    }
    if (p->tk == TK_END)
        return fail(p, "unexpected end of condition%.*s", "", 0);
    return fail(p, "unexpected '%.*s'", p->s + p->tk_start, p->tk_len ? p->tk_len : 1);
}

/* Nesting depth counts '(' and 'not' (the two recursions), bounded by VG_MAX_CONDITION_DEPTH. */
static vg_cond *parse_unary(cparser *p)
{
    if (p->tk != TK_NOT)
        return parse_primary(p);
    if (++p->depth > VG_MAX_CONDITION_DEPTH)
        return fail(p, "condition nested too deeply%.*s", "", 0);
    lex(p);
    vg_cond *a = parse_unary(p);
    vg_cond *r = a ? node(p, VG_C_NOT) : NULL;
    if (r)
        r->a = a;
    p->depth--;
    return r;
}

static vg_cond *parse_and(cparser *p)
{
    vg_cond *l = parse_unary(p);
    while (l && p->tk == TK_AND) {
        lex(p);
        vg_cond *r = parse_unary(p);
        if (!r)
            return NULL;
        vg_cond *c = node(p, VG_C_AND);
        if (!c)
            return NULL;
        c->a = l;
        c->b = r;
        l = c;
    }
    return l;
}

static vg_cond *parse_expr(cparser *p)
{
    vg_cond *l = parse_and(p);
    while (l && p->tk == TK_OR) {
        lex(p);
        vg_cond *r = parse_and(p);
        if (!r) {
            l = NULL;
            break;
        }
        vg_cond *c = node(p, VG_C_OR);
        if (!c) {
            l = NULL;
            break;
        }
        c->a = l;
        c->b = r;
        l = c;
    }
    return l;
}

int vg__cond_parse(vg_arena *a, const char *text, size_t len, const char *const *names,
                   uint32_t n_names, vg_cond **out, uint32_t *err_col, char *err, size_t errcap)
{
    char dummy[8];
    cparser p = {a, text, len, 0, 0, 0, 0, names, n_names, 0, 0, err ? err : dummy,
                 err ? errcap : sizeof dummy, 0};
    *out = NULL;
    if (len > VG_MAX_CONDITION_BYTES) {
        snprintf(p.err, p.errcap, "condition longer than %u bytes",
                 (unsigned)VG_MAX_CONDITION_BYTES);
        if (err_col)
            *err_col = 1;
        return VIGIE_CONDITION;
    }
    lex(&p);
    vg_cond *c = parse_expr(&p);
    if (c && p.tk != TK_END)
        c = fail(&p, "unexpected '%.*s' after the condition", p.s + p.tk_start,
                 p.tk_len ? p.tk_len : 1);
    if (!c) {
        if (!p.failed)
            snprintf(p.err, p.errcap, "out of memory");
        if (err_col)
            *err_col = p.err_col ? p.err_col : 1;
        return VIGIE_CONDITION;
    }
    *out = c;
    return VIGIE_OK;
}
