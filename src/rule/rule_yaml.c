/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rule_yaml.c: YAML text -> a small node tree, with positions and bounded aliases.
 *
 * Stage: rule. libyaml's event parser feeds a tree of ynode (scalars keep their style so a
 * quoted "true" stays a string; every node keeps its 1-based line and column). Aliases are
 * shared, not copied, and their expanded size is counted: a document whose aliases expand
 * past VG_MAX_YAML_ALIAS_EXPANSIONS nodes (a "billion laughs" bomb) is rejected before any
 * walk could go exponential. Such a refusal (also an undefined alias or nesting deeper than
 * VG_MAX_CONDITION_DEPTH) costs only its document: the remaining events of that document
 * are skipped and the next one loads. A syntax error ends the file, as libyaml cannot
 * resynchronise. Nodes live in the caller's arena; cost is linear in the events.
 */
#define _POSIX_C_SOURCE 200809L
#include "rule_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

typedef struct anchor {
    const char *name;
    ynode *node;
} anchor;

typedef struct builder {
    vg_arena *a;
    ynode *stack[VG_MAX_CONDITION_DEPTH];
    uint32_t depth;
    anchor *anchors;
    uint32_t n_anchors, cap_anchors;
    uint64_t events;
    uint64_t expanded;
} builder;

static int add_child(builder *b, ynode *parent, ynode *child)
{
    if (parent->n_kids == parent->cap_kids) {
        uint32_t ncap = parent->cap_kids ? parent->cap_kids * 2 : 8;
        ynode **nk = vg__arena_alloc(b->a, ncap * sizeof *nk);
        if (!nk)
            return VIGIE_NOMEM;
        if (parent->n_kids)
            memcpy(nk, parent->kids, parent->n_kids * sizeof *nk);
        parent->kids = nk;
        parent->cap_kids = ncap;
    }
    parent->kids[parent->n_kids++] = child;
    return VIGIE_OK;
}

static ynode *new_node(builder *b, int type, const yaml_mark_t *m)
{
    ynode *n = vg__arena_alloc(b->a, sizeof *n);
    if (!n)
        return NULL;
    n->type = (uint8_t)type;
    n->line = (uint32_t)m->line + 1;
    n->col = (uint32_t)m->column + 1;
    n->size = 1;
    return n;
}

static int remember_anchor(builder *b, const yaml_char_t *name, ynode *n)
{
    if (!name)
        return VIGIE_OK;
    if (b->n_anchors == b->cap_anchors) {
        uint32_t ncap = b->cap_anchors ? b->cap_anchors * 2 : 8;
        anchor *na = vg__arena_alloc(b->a, ncap * sizeof *na);
        if (!na)
            return VIGIE_NOMEM;
        if (b->n_anchors)
            memcpy(na, b->anchors, b->n_anchors * sizeof *na);
        b->anchors = na;
        b->cap_anchors = ncap;
    }
    b->anchors[b->n_anchors].name = vg__arena_strdup(b->a, (const char *)name);
    b->anchors[b->n_anchors].node = n;
    b->n_anchors++;
    return VIGIE_OK;
}

/* Attach a finished node to the open container (or make it the document root). */
static int attach(builder *b, ynode *n, ynode **root)
{
    if (b->depth == 0) {
        *root = n;
        return VIGIE_OK;
    }
    return add_child(b, b->stack[b->depth - 1], n);
}

/* Refuse the current document: remember why; its remaining events are skipped. */
static void doc_refuse(yaml_err *derr, bool *skipping, uint32_t doc, const yaml_mark_t *m,
                       int rc, const char *fmt, ...) VG_PRINTF(6, 7);
static void doc_refuse(yaml_err *derr, bool *skipping, uint32_t doc, const yaml_mark_t *m,
                       int rc, const char *fmt, ...)
{
    va_list ap;
    derr->doc = doc;
    derr->line = (uint32_t)m->line + 1;
    derr->col = (uint32_t)m->column + 1;
    derr->rc = rc;
    va_start(ap, fmt);
    vsnprintf(derr->msg, sizeof derr->msg, fmt, ap);
    va_end(ap);
    *skipping = true;
}

int vg__yaml_parse(vg_arena *a, const char *text, size_t len, yaml_doc_fn fn, void *ud,
                   yaml_err *err)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int rc = VIGIE_OK;
    if (!yaml_parser_initialize(&p))
        return VIGIE_NOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    builder b;
    memset(&b, 0, sizeof b);
    b.a = a;
    ynode *root = NULL;
    uint32_t doc_index = 0, doc_line = 1;
    bool done = false, skipping = false;
    yaml_err derr;
    memset(&derr, 0, sizeof derr);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            err->line = (uint32_t)p.problem_mark.line + 1;
            err->col = (uint32_t)p.problem_mark.column + 1;
            snprintf(err->msg, sizeof err->msg, "YAML syntax error: %s%s%s",
                     p.problem ? p.problem : "unknown problem", p.context ? " " : "",
                     p.context ? p.context : "");
            err->doc = doc_index;
            rc = VIGIE_YAML;
            break;
        }
        if (++b.events > VG_MAX_YAML_EVENTS) {
            err->line = (uint32_t)ev.start_mark.line + 1;
            err->col = (uint32_t)ev.start_mark.column + 1;
            snprintf(err->msg, sizeof err->msg,
                     "more than VG_MAX_YAML_EVENTS (%u) YAML nodes in one file",
                     (unsigned)VG_MAX_YAML_EVENTS);
            err->doc = doc_index;
            yaml_event_delete(&ev);
            rc = VIGIE_TOOBIG;
            break;
        }
        ynode *n = NULL;
        if (skipping && ev.type != YAML_DOCUMENT_END_EVENT && ev.type != YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            root = NULL;
            b.depth = 0;
            b.n_anchors = 0;
            b.expanded = 0;
            skipping = false;
            doc_line = (uint32_t)ev.start_mark.line + 1;
            break;
        case YAML_DOCUMENT_END_EVENT:
            rc = fn(ud, doc_index, doc_line, skipping ? NULL : root, skipping ? &derr : NULL);
            skipping = false;
            doc_index++;
            if (rc)
                done = true;
            break;
        case YAML_SCALAR_EVENT:
            n = new_node(&b, YN_SCALAR, &ev.start_mark);
            if (!n) {
                rc = VIGIE_NOMEM;
                done = true;
                break;
            }
            n->value = vg__arena_strndup(a, (const char *)ev.data.scalar.value,
                                         ev.data.scalar.length);
            n->len = (uint32_t)ev.data.scalar.length;
            n->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
            if (remember_anchor(&b, ev.data.scalar.anchor, n) || attach(&b, n, &root)) {
                rc = VIGIE_NOMEM;
                done = true;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            bool map = ev.type == YAML_MAPPING_START_EVENT;
            n = new_node(&b, map ? YN_MAP : YN_SEQ, &ev.start_mark);
            if (!n || remember_anchor(&b, map ? ev.data.mapping_start.anchor
                                              : ev.data.sequence_start.anchor, n)) {
                rc = VIGIE_NOMEM;
                done = true;
                break;
            }
            if (b.depth >= VG_ARRAY_LEN(b.stack)) {
                doc_refuse(&derr, &skipping, doc_index, &ev.start_mark, VIGIE_TOODEEP,
                           "YAML nesting deeper than %u levels", (unsigned)VG_ARRAY_LEN(b.stack));
                break;
            }
            b.stack[b.depth++] = n;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            ynode *c = b.stack[--b.depth];
            for (uint32_t i = 0; i < c->n_kids; i++)
                c->size += c->kids[i]->size;
            if (attach(&b, c, &root)) {
                rc = VIGIE_NOMEM;
                done = true;
            }
            break;
        }
        case YAML_ALIAS_EVENT: {
            ynode *target = NULL;
            for (uint32_t i = b.n_anchors; i-- > 0;)
                if (strcmp(b.anchors[i].name, (const char *)ev.data.alias.anchor) == 0) {
                    target = b.anchors[i].node;
                    break;
                }
            if (!target) {
                doc_refuse(&derr, &skipping, doc_index, &ev.start_mark, VIGIE_YAML,
                           "undefined YAML alias '*%.100s'", (const char *)ev.data.alias.anchor);
                break;
            }
            b.expanded += target->size;
            if (b.expanded > VG_MAX_YAML_ALIAS_EXPANSIONS) {
                doc_refuse(&derr, &skipping, doc_index, &ev.start_mark, VIGIE_TOOBIG,
                           "YAML aliases expand to more than %u nodes (alias bomb)",
                           (unsigned)VG_MAX_YAML_ALIAS_EXPANSIONS);
                break;
            }
            if (attach(&b, target, &root)) {
                rc = VIGIE_NOMEM;
                done = true;
            }
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

const ynode *vg__ynode_get(const ynode *map, const char *key)
{
    if (!map || map->type != YN_MAP)
        return NULL;
    for (uint32_t i = 0; i + 1 < map->n_kids; i += 2) {
        const ynode *k = map->kids[i];
        if (k->type == YN_SCALAR && strcmp(k->value, key) == 0)
            return map->kids[i + 1];
    }
    return NULL;
}
