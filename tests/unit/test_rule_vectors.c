/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rule_vectors.c: the rule loader against the shared conformance data. Every rule text of
 * sigma-vectors.json (298 vectors, with their `placeholders`) and every multi-document rule
 * set of sigma-correlation-vectors.json must load, and the AST of the tricky vectors (windash,
 * base64offset, utf16, escapes, expand, keyword lists, condition precedence) is checked
 * value by value. The JSON files are read with a tiny reader local to this test, so the test
 * depends on the rule stage only.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule/rule.h"
#include "test.h"

/* ---- a tiny JSON reader: just enough for the vector files ------------------------------- */

typedef struct jr {
    const char *s;
    size_t n, i;
    int bad;
} jr;

static void ws(jr *j)
{
    while (j->i < j->n && strchr(" \t\r\n", j->s[j->i]))
        j->i++;
}

static void put_utf8(char **o, unsigned cp)
{
    if (cp < 0x80) {
        *(*o)++ = (char)cp;
    } else if (cp < 0x800) {
        *(*o)++ = (char)(0xC0 | (cp >> 6));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *(*o)++ = (char)(0xE0 | (cp >> 12));
        *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *(*o)++ = (char)(0xF0 | (cp >> 18));
        *(*o)++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *(*o)++ = (char)(0x80 | (cp & 0x3F));
    }
}

static unsigned hex4(jr *j)
{
    unsigned v = 0;
    for (int k = 0; k < 4 && j->i < j->n; k++, j->i++) {
        char c = j->s[j->i];
        v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
    }
    return v;
}

/* Decode a string at j->i (on the opening quote) into a malloc'd buffer. */
static char *jstr(jr *j, size_t *len)
{
    ws(j);
    if (j->i >= j->n || j->s[j->i] != '"') {
        j->bad = 1;
        return NULL;
    }
    j->i++;
    char *buf = malloc(j->n - j->i + 1), *o = buf;
    while (j->i < j->n && j->s[j->i] != '"') {
        char c = j->s[j->i++];
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        c = j->s[j->i++];
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = hex4(j);
            if (cp >= 0xD800 && cp < 0xDC00 && j->i + 1 < j->n && j->s[j->i] == '\\') {
                j->i += 2;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(j) - 0xDC00);
            }
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = c; break;
        }
    }
    j->i++;
    *o = 0;
    if (len)
        *len = (size_t)(o - buf);
    return buf;
}

static void jskip(jr *j)
{
    ws(j);
    if (j->i >= j->n) {
        j->bad = 1;
        return;
    }
    char c = j->s[j->i];
    if (c == '"') {
        free(jstr(j, NULL));
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->i++;
        ws(j);
        if (j->s[j->i] == close) {
            j->i++;
            return;
        }
        for (;;) {
            if (c == '{') {
                free(jstr(j, NULL));
                ws(j);
                j->i++; /* ':' */
            }
            jskip(j);
            ws(j);
            if (j->bad || j->i >= j->n)
                return;
            if (j->s[j->i++] == close)
                return;
        }
    } else {
        while (j->i < j->n && !strchr(",]} \t\r\n", j->s[j->i]))
            j->i++;
    }
}

/* One vector: the fields this test needs. */
typedef struct vec {
    char *id, *rule;
    vg_placeholder ph[8];
    uint32_t n_ph;
} vec;

static void vec_free(vec *v)
{
    free(v->id);
    free(v->rule);
    for (uint32_t i = 0; i < v->n_ph; i++) {
        free((char *)v->ph[i].name);
        for (uint32_t k = 0; k < v->ph[i].n_values; k++)
            free((char *)v->ph[i].values[k]);
        free(v->ph[i].values);
    }
    memset(v, 0, sizeof *v);
}

static void read_placeholders(jr *j, vec *v)
{
    ws(j);
    j->i++; /* '{' */
    ws(j);
    while (!j->bad && j->i < j->n && j->s[j->i] != '}') {
        vg_placeholder *p = &v->ph[v->n_ph < 8 ? v->n_ph++ : 7];
        p->name = jstr(j, NULL);
        ws(j);
        j->i++; /* ':' */
        ws(j);
        j->i++; /* '[' */
        const char **vals = calloc(32, sizeof *vals);
        uint32_t nv = 0;
        ws(j);
        while (!j->bad && j->s[j->i] != ']') {
            char *s = jstr(j, NULL);
            if (nv < 32)
                vals[nv++] = s;
            else
                free(s);
            ws(j);
            if (j->s[j->i] == ',')
                j->i++;
            ws(j);
        }
        j->i++;
        p->values = vals;
        p->n_values = nv;
        ws(j);
        if (j->s[j->i] == ',')
            j->i++;
        ws(j);
    }
    j->i++;
}

/* Read the next object of the top-level array into v; 0 at the end. `rulekey` names the
 * member holding the rule text ("rule" or "rules"). */
static int next_vec(jr *j, vec *v, const char *rulekey)
{
    memset(v, 0, sizeof *v);
    ws(j);
    if (j->i < j->n && (j->s[j->i] == '[' || j->s[j->i] == ','))
        j->i++;
    ws(j);
    if (j->bad || j->i >= j->n || j->s[j->i] != '{')
        return 0;
    j->i++;
    for (;;) {
        ws(j);
        if (j->s[j->i] == '}') {
            j->i++;
            return 1;
        }
        char *k = jstr(j, NULL);
        ws(j);
        j->i++; /* ':' */
        if (!k || j->bad)
            return free(k), 0;
        if (!strcmp(k, "id"))
            v->id = jstr(j, NULL);
        else if (!strcmp(k, rulekey))
            v->rule = jstr(j, NULL);
        else if (!strcmp(k, "placeholders"))
            read_placeholders(j, v);
        else
            jskip(j);
        free(k);
        ws(j);
        if (j->s[j->i] == ',')
            j->i++;
        if (j->bad)
            return 0;
    }
}

static char *slurp(const char *rel, size_t *len)
{
    char p[4096];
    shared_path(p, sizeof p, "%s", rel);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

/* ---- helpers on the AST ---------------------------------------------------------------------- */

static char last[512];
static void diag(void *ud, const vigie_diag *d)
{
    (void)ud;
    snprintf(last, sizeof last, "%s:%llu:%llu: %s", d->file ? d->file : "",
             (unsigned long long)d->line, (unsigned long long)d->col, d->message);
}

/* Load one vector's rule; NULL (and a failed check) when it does not load. */
static vg_ruleload *load_vec(const vec *v)
{
    vg_ruleload_opts o = {diag, NULL, v->ph, v->n_ph};
    vg_ruleload *rl = vg__ruleload_new(&o);
    last[0] = 0;
    vg__ruleload_string(rl, v->id, v->rule, strlen(v->rule));
    return rl;
}

static bool has_text(const vg_fieldcond *fc, const char *text)
{
    for (uint32_t i = 0; i < fc->n_values; i++)
        if (fc->values[i].op == VG_OP_GLOB && strcmp(fc->values[i].text, text) == 0)
            return true;
    return false;
}

static const vg_fieldcond *first_fc(const vg_ruleload *rl)
{
    const vg_rule *r = vg__ruleload_get(rl, 0);
    if (!r || !r->n_searches || !r->searches[0].n_alts || !r->searches[0].alts[0].n_conds)
        return NULL;
    return &r->searches[0].alts[0].conds[0];
}

/* The vectors check_ast() looks into: all must be present in the file. */
static const char *const tricky[] = {
    "wd-endash", "wd-endash-rule-emdash", "wd-ps-inner", "wd-sl-boundary", "wd-svc-dash",
    "b64off-http-0", "b64off-foobar-0", "b64off-noncontains", "b64off-reordered", "utf16-b64",
    "utf16-b64-contains", "utf16le-b64", "b64-contains-unpadded", "spec-esc-two-bs-is-one",
    "spec-esc-four-bs-is-two", "hb-many-bs", "expand-inside", "expand-escaped-percent",
    "expand-embedded-no", "kw-mixed-list-kw", "kw-number", "list-of-maps-nested-1",
    "ident-note-pad", "cond-not-not", "filter-drop", "cond-them-underscore-all"};

/* Per-vector AST checks for the tricky ones. */
static void check_ast(const vec *v, const vg_ruleload *rl)
{
    const char *id = v->id;
    const vg_fieldcond *fc = first_fc(rl);
    const vg_rule *r = vg__ruleload_get(rl, 0);
    if (!fc || !r)
        return;
    if (!strcmp(id, "wd-endash")) {
        /* '-addstore' at a word start: five dash forms, contains-wrapped */
        CHECK_EQ_INT(fc->n_values, 5);
        CHECK(has_text(fc, "*-addstore*") && has_text(fc, "*/addstore*") &&
              has_text(fc, "*\xE2\x80\x93" "addstore*") && has_text(fc, "*\xE2\x80\x94" "addstore*") &&
              has_text(fc, "*\xE2\x80\x95" "addstore*"));
    } else if (!strcmp(id, "wd-endash-rule-emdash")) {
        CHECK_EQ_INT(fc->n_values, 1); /* an en dash in the rule is not varied */
    } else if (!strcmp(id, "wd-ps-inner")) {
        /* '-param-1 -param2': the inner dash follows a word character: 2 slots, 25 values */
        CHECK_EQ_INT(fc->n_values, 25);
        CHECK(has_text(fc, "/param-1 /param2"));
        CHECK(!has_text(fc, "-param/1 -param2"));
    } else if (!strcmp(id, "wd-sl-boundary")) {
        CHECK_EQ_INT(fc->n_values, 5);
        CHECK(has_text(fc, "/test-boundaries") && !has_text(fc, "/test/boundaries"));
    } else if (!strcmp(id, "wd-svc-dash")) {
        CHECK_EQ_INT(fc->n_values, 10);
        CHECK(has_text(fc, "* /c *") && has_text(fc, "* -r *"));
    } else if (!strcmp(id, "b64off-http-0")) {
        CHECK_EQ_INT(fc->n_values, 3);
        CHECK(has_text(fc, "*aHR0cDovL*") && has_text(fc, "*h0dHA6Ly*") &&
              has_text(fc, "*odHRwOi8v*"));
    } else if (!strcmp(id, "b64off-foobar-0")) {
        CHECK_EQ_INT(fc->n_values, 3);
        CHECK(has_text(fc, "*Zm9vYmFy*") && has_text(fc, "*Zvb2Jhc*") &&
              has_text(fc, "*mb29iYX*"));
    } else if (!strcmp(id, "b64off-noncontains")) {
        CHECK_EQ_INT(fc->n_values, 3);
        CHECK(has_text(fc, "aHR0cDovL") && fc->values[0].parts[0].kind == VG_PART_LIT);
    } else if (!strcmp(id, "b64off-reordered")) {
        CHECK(has_text(fc, "*aHR0cDovL*"));
    } else if (!strcmp(id, "utf16-b64")) {
        CHECK_EQ_INT(fc->n_values, 1);
        CHECK_EQ_STR(fc->values[0].text, "//5BAA==");
    } else if (!strcmp(id, "utf16-b64-contains")) {
        CHECK_EQ_STR(fc->values[0].text, "*//5oAHQAdABwADoALwAvAA*");
    } else if (!strcmp(id, "utf16le-b64")) {
        CHECK_EQ_STR(fc->values[0].text, "VABlAHMAdAA=");
    } else if (!strcmp(id, "b64-contains-unpadded")) {
        CHECK_EQ_STR(fc->values[0].text, "*aHR0cDovLw==*");
    } else if (!strcmp(id, "spec-esc-two-bs-is-one")) {
        CHECK_EQ_STR(fc->values[0].parts[0].s, "C:\\Windows\\System32\\cmd.exe");
    } else if (!strcmp(id, "spec-esc-four-bs-is-two")) {
        CHECK_EQ_STR(fc->values[0].parts[0].s, "\\\\server\\share");
    } else if (!strcmp(id, "hb-many-bs")) {
        CHECK_EQ_INT(fc->values[0].n_parts, 1);
        CHECK_EQ_STR(fc->values[0].parts[0].s, "\\*ho\\*ge\\\\");
    } else if (!strcmp(id, "expand-inside")) {
        CHECK_EQ_STR(fc->values[0].text, "C:\\Users%username%\\AppData\\sensitive.dat");
    } else if (!strcmp(id, "expand-escaped-percent")) {
        CHECK_EQ_INT(fc->n_values, 1);
        CHECK_EQ_STR(fc->values[0].text, "%plainXYZ");
    } else if (!strcmp(id, "expand-embedded-no")) {
        CHECK_EQ_INT(fc->n_values, 2);
        CHECK(has_text(fc, "/home/alice/.ssh/id_rsa") && has_text(fc, "/home/bob/.ssh/id_rsa"));
    } else if (!strcmp(id, "kw-mixed-list-kw")) {
        CHECK_EQ_INT(r->searches[0].n_alts, 2);
    } else if (!strcmp(id, "kw-number")) {
        CHECK(fc->field == NULL && has_text(fc, "*4103*"));
    } else if (!strcmp(id, "list-of-maps-nested-1")) {
        const vg_search *s = &r->searches[1];
        CHECK_EQ_INT(s->n_alts, 2);
        CHECK(s->n_alts == 2 && s->alts[0].n_conds == 2 &&
              !s->alts[0].conds[1].values[0].is_bool &&
              !strcmp(s->alts[0].conds[1].values[0].text, "yes"));
    } else if (!strcmp(id, "ident-note-pad")) {
        CHECK(r->cond->kind == VG_C_AND && r->cond->a->kind == VG_C_SEARCH);
    } else if (!strcmp(id, "cond-not-not")) {
        CHECK(r->cond->kind == VG_C_NOT && r->cond->a->kind == VG_C_NOT);
    } else if (!strcmp(id, "filter-drop")) {
        const vg_rule *f = vg__ruleload_get(rl, 1);
        CHECK(f && f->n_filter_rules == 1 && f->cond->kind == VG_C_NOT &&
              !strcmp(f->filter_rules[0], r->id));
    } else if (!strcmp(id, "cond-them-underscore-all")) {
        CHECK(r->cond->kind == VG_C_OF_ALL && r->cond->n_searches == 1);
    }
}

static void test_all_vectors_load(void)
{
    size_t len;
    char *text = slurp("conformance/sigma-vectors.json", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    jr j = {text, len, 0, 0};
    vec v;
    uint32_t n = 0, loaded = 0, n_tricky = 0;
    while (next_vec(&j, &v, "rule")) {
        n++;
        CHECK(v.id && v.rule);
        if (v.id && v.rule) {
            vg_ruleload *rl = load_vec(&v);
            /* one rule, or a rule and the Sigma filter that applies to it */
            uint32_t nr = vg__ruleload_count(rl);
            bool ok = nr >= 1 && nr == vg__ruleload_status_count(rl) &&
                      vg__ruleload_get(rl, 0)->kind == VG_RULE_DETECTION &&
                      (nr == 1 || (nr == 2 && vg__ruleload_get(rl, 1)->kind == VG_RULE_FILTER));
            CHECK_MSG(ok, "vector %s: %s", v.id, last);
            if (ok) {
                loaded++;
                check_ast(&v, rl);
                for (size_t t = 0; t < sizeof tricky / sizeof tricky[0]; t++)
                    n_tricky += strcmp(tricky[t], v.id) == 0;
            }
            vg__ruleload_free(rl);
        }
        vec_free(&v);
    }
    CHECK(!j.bad);
    CHECK_EQ_INT(n, 298);
    CHECK_EQ_INT(loaded, 298);
    CHECK_EQ_INT(n_tricky, sizeof tricky / sizeof tricky[0]);
    printf("sigma-vectors.json: %u vectors, %u rules loaded\n", n, loaded);
    free(text);
}

static void test_correlation_vectors_load(void)
{
    size_t len;
    char *text = slurp("conformance/sigma-correlation-vectors.json", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    jr j = {text, len, 0, 0};
    vec v;
    uint32_t n = 0, n_corr = 0, n_alias = 0;
    while (next_vec(&j, &v, "rules")) {
        n++;
        if (v.rule) {
            vg_ruleload *rl = load_vec(&v);
            uint32_t ns = vg__ruleload_status_count(rl);
            CHECK_MSG(ns >= 2 && vg__ruleload_count(rl) == ns, "vector %s: %s", v.id, last);
            for (uint32_t i = 0; i < vg__ruleload_count(rl); i++) {
                const vg_rule *r = vg__ruleload_get(rl, i);
                if (r->kind != VG_RULE_CORRELATION)
                    continue;
                n_corr++;
                CHECK(r->corr->n_rules >= 1 && r->corr->timespan > 0);
                const vg_corr_aliases *al = r->corr->aliases;
                if (al)
                    n_alias++;
                if (!strcmp(v.id, "alias-basic")) {
                    CHECK(al && al->n == 1 && al->v[0].n == 2);
                    if (al && al->n == 1 && al->v[0].n == 2) {
                        const vg_corr_alias *a = &al->v[0];
                        CHECK_EQ_STR(a->name, "internal_ip");
                        CHECK_EQ_STR(a->rules[0], "internal_error");
                        CHECK_EQ_STR(a->fields[0], "destination.ip");
                        CHECK_EQ_STR(a->rules[1], "new_network_connection");
                        CHECK_EQ_STR(a->fields[1], "source.ip");
                    }
                }
            }
            vg__ruleload_free(rl);
        }
        vec_free(&v);
    }
    CHECK(!j.bad);
    CHECK(n > 5);
    CHECK_EQ_INT(n_corr, n);
    CHECK(n_alias >= 1);
    printf("sigma-correlation-vectors.json: %u sets, %u correlations (%u with aliases)\n", n,
           n_corr, n_alias);
    free(text);
}

int main(void)
{
    RUN(test_all_vectors_load);
    RUN(test_correlation_vectors_load);
    return TEST_DONE();
}
