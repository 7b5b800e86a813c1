/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shape.c: field maps (how Sigma field names resolve on each log shape) and shape names.
 *
 * Stage: ingest. Field maps are YAML data (data/fieldmaps/NAME.yml, compiled in): each
 * document is a section naming a shape (optionally a service and a category) with explicit
 * renames (`fields`: name -> paths), `strip` prefixes (a name "properties.X" also tried as
 * "X") and `prefixes` (a name X also tried as "Event.EventData.X"). Section i is map id
 * i + 1; map id 0 is the identity. vg__fieldmap_paths builds a field's candidate list once
 * and caches it in a per-section open-addressing hash (vg__hash64 of the name), so the
 * compiler's calls (one per rule field and map id) cost O(1) after the first. Not vg_hmap
 * because the workers probe it without a lock (below): vg_hmap is single-threaded and frees
 * its old slots when it grows, this table publishes atomic slots and retires old tables.
 *
 * The workers call vg__fieldmap_paths on every record (the fixed M365/address/token field
 * lists), so a hit takes no lock: the hash is a published table of entry pointers. An entry
 * is complete and immutable before it is stored (release) into a slot; a reader loads the
 * table and the slots with acquire and sees a whole entry or an empty slot. Only a miss
 * (the first use of a field on a section) takes the mutex, looks again and inserts. A table
 * that grows is replaced by a new one, published the same way; the old one stays readable
 * (kept on a retired list, freed with the map), so a reader never touches freed memory.
 * Returned lists live as long as the map. Classification itself is in classify.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

extern const vg_embedded_file vg__builtin_fieldmaps[];

static const char *const shape_names[VG_SHAPE_COUNT] = {
    "unknown", "m365_ual", "officeactivity", "signin_graph", "signin_la", "signin_eventhub",
    "audit_graph", "audit_la", "audit_eventhub", "azure_activity", "cloudtrail", "okta",
    "gcp_audit", "windows"};

const char *vg__shape_name(int shape)
{
    return shape >= 0 && shape < VG_SHAPE_COUNT ? shape_names[shape] : "unknown";
}

/* ---- field maps -------------------------------------------------------------------------------- */

typedef struct fm_entry {
    char *field;
    char **paths;
    uint32_t n;
} fm_entry;

typedef struct fm_section {
    int shape;
    char *service, *category;  /* NULL = any */
    char **prefixes;           /* "Event.EventData.": field F is also tried as prefix+F */
    uint32_t n_prefixes;
    char **strip;              /* "properties.": field "properties.F" is also tried as F */
    uint32_t n_strip;
    fm_entry *fields;          /* explicit renames, tried first, in order */
    uint32_t n_fields;
    fm_entry **cache;          /* resolved candidate lists, in insertion order (owned; only
                                  touched under the mutex) */
    uint32_t n_cache, cap_cache;
    _Atomic(struct fm_table *) table; /* the hash readers use without the lock, or NULL */
} fm_section;

/* Open-addressing hash over a section's cache: n_slots is a power of two, never more than
 * half full; a slot is NULL or a complete entry. Retired tables chain through `retired`. */
typedef struct fm_table {
    uint32_t n_slots;
    struct fm_table *retired;
    _Atomic(fm_entry *) slot[];
} fm_table;

struct vg_fieldmap {
    fm_section *s;
    uint16_t n;
    pthread_mutex_t mu;
    fm_section identity;
};

static char *node_str(yaml_document_t *d, yaml_node_t *n)
{
    (void)d;
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    return strndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strlen(key) == k->data.scalar.length &&
            memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static int str_seq(yaml_document_t *d, yaml_node_t *n, char ***out, uint32_t *count)
{
    *out = NULL;
    *count = 0;
    if (!n)
        return VIGIE_OK;
    if (n->type != YAML_SEQUENCE_NODE)
        return VIGIE_YAML;
    size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = calloc(len + 1, sizeof(char *));
    if (!*out)
        return VIGIE_NOMEM;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        char *s = node_str(d, yaml_document_get_node(d, *it));
        if (!s)
            return VIGIE_YAML;
        (*out)[(*count)++] = s;
    }
    return VIGIE_OK;
}

static void free_strs(char **s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static void section_free(fm_section *s)
{
    free(s->service);
    free(s->category);
    free_strs(s->prefixes, s->n_prefixes);
    free_strs(s->strip, s->n_strip);
    for (uint32_t i = 0; i < s->n_fields; i++) {
        free(s->fields[i].field);
        free_strs(s->fields[i].paths, s->fields[i].n);
    }
    free(s->fields);
    for (uint32_t i = 0; i < s->n_cache; i++) {
        free(s->cache[i]->field);
        free_strs(s->cache[i]->paths, s->cache[i]->n);
        free(s->cache[i]);
    }
    free(s->cache);
    fm_table *t = atomic_load_explicit(&s->table, memory_order_relaxed);
    while (t) {
        fm_table *next = t->retired;
        free(t);
        t = next;
    }
}

int vg__fieldmap_load_string(vg_fieldmap *m, const char *name, const char *text, size_t len,
                             vigie_diag_fn diag, void *diag_ud)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return VIGIE_NOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = VIGIE_OK;
    for (;;) {
        yaml_document_t d;
        if (!yaml_parser_load(&p, &d)) {
            vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_YAML, name,
                     (uint64_t)p.problem_mark.line + 1, (uint64_t)p.problem_mark.column + 1,
                     NULL, "field map: %s", p.problem ? p.problem : "YAML error");
            rc = VIGIE_YAML;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&d);
        if (!root) {
            yaml_document_delete(&d);
            break;
        }
        fm_section s;
        memset(&s, 0, sizeof s);
        s.shape = -1;
        char *shape = node_str(&d, map_get(&d, root, "shape"));
        for (int i = 0; shape && i < VG_SHAPE_COUNT; i++)
            if (!strcmp(shape, shape_names[i]))
                s.shape = i;
        s.service = node_str(&d, map_get(&d, root, "service"));
        s.category = node_str(&d, map_get(&d, root, "category"));
        int src = str_seq(&d, map_get(&d, root, "prefixes"), &s.prefixes, &s.n_prefixes);
        if (!src)
            src = str_seq(&d, map_get(&d, root, "strip"), &s.strip, &s.n_strip);
        yaml_node_t *fields = map_get(&d, root, "fields");
        if (fields && fields->type == YAML_MAPPING_NODE) {
            size_t nf = (size_t)(fields->data.mapping.pairs.top - fields->data.mapping.pairs.start);
            s.fields = calloc(nf + 1, sizeof *s.fields);
            for (yaml_node_pair_t *pp = fields->data.mapping.pairs.start;
                 s.fields && !src && pp < fields->data.mapping.pairs.top; pp++) {
                fm_entry *e = &s.fields[s.n_fields];
                e->field = node_str(&d, yaml_document_get_node(&d, pp->key));
                src = str_seq(&d, yaml_document_get_node(&d, pp->value), &e->paths, &e->n);
                s.n_fields++;
            }
        }
        if (s.shape < 0 || src) {
            vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_YAML, name,
                     (uint64_t)root->start_mark.line + 1, 1, NULL,
                     "field map: %s", s.shape < 0 ? "unknown or missing 'shape'"
                                                  : "'prefixes', 'strip' and 'fields' take lists");
            section_free(&s);
            rc = VIGIE_YAML;
        } else {
            fm_section *ns = realloc(m->s, (m->n + 1u) * sizeof *ns);
            if (!ns) {
                section_free(&s);
                rc = VIGIE_NOMEM;
            } else {
                m->s = ns;
                m->s[m->n++] = s;
            }
        }
        free(shape);
        yaml_document_delete(&d);
        if (rc == VIGIE_NOMEM)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

int vg__fieldmap_new(vg_fieldmap **out)
{
    vg_fieldmap *m = calloc(1, sizeof *m);
    if (!m)
        return VIGIE_NOMEM;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return VIGIE_OK;
}

int vg__fieldmap_add_builtin(vg_fieldmap *m, vigie_diag_fn diag, void *diag_ud)
{
    int rc = VIGIE_OK;
    for (const vg_embedded_file *f = vg__builtin_fieldmaps; f->name && !rc; f++)
        rc = vg__fieldmap_load_string(m, f->name, f->text, f->len, diag, diag_ud);
    return rc;
}

int vg__fieldmap_load_builtin(vg_fieldmap **out, vigie_diag_fn diag, void *diag_ud)
{
    vg_fieldmap *m;
    int rc = vg__fieldmap_new(&m);
    if (rc)
        return rc;
    rc = vg__fieldmap_add_builtin(m, diag, diag_ud);
    if (rc) {
        vg__fieldmap_free(m);
        return rc;
    }
    *out = m;
    return VIGIE_OK;
}

void vg__fieldmap_free(vg_fieldmap *m)
{
    if (!m)
        return;
    for (uint16_t i = 0; i < m->n; i++)
        section_free(&m->s[i]);
    free(m->s);
    section_free(&m->identity);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

uint16_t vg__fieldmap_count(const vg_fieldmap *m)
{
    return (uint16_t)(m->n + 1);
}

static int push_path(fm_entry *e, const char *p)
{
    for (uint32_t i = 0; i < e->n; i++)
        if (!strcmp(e->paths[i], p))
            return VIGIE_OK;
    char **np = realloc(e->paths, (e->n + 2) * sizeof *np);
    if (!np)
        return VIGIE_NOMEM;
    e->paths = np;
    e->paths[e->n] = strdup(p);
    if (!e->paths[e->n])
        return VIGIE_NOMEM;
    e->n++;
    e->paths[e->n] = NULL;
    return VIGIE_OK;
}

/* The entry of `field` in table t (NULL if t is NULL or has none); with `empty`, the empty
 * slot where it would go. Lock-free: slots are loaded with acquire. */
static fm_entry *table_find(fm_table *t, const char *field, _Atomic(fm_entry *) **empty)
{
    if (!t)
        return NULL;
    uint32_t mask = t->n_slots - 1, i = (uint32_t)vg__hash64(field, strlen(field), 0) & mask;
    fm_entry *e;
    while ((e = atomic_load_explicit(&t->slot[i], memory_order_acquire)) &&
           strcmp(e->field, field) != 0)
        i = (i + 1) & mask;
    if (empty)
        *empty = &t->slot[i];
    return e;
}

/* Room for one more entry (under the mutex): the cache array, and a table at most half full
 * after the insertion (a bigger one is built, filled and published; the old one retired). */
static int grow(fm_section *s)
{
    if (VG_GROW(s->cache, s->cap_cache, (size_t)s->n_cache + 1, 32))
        return VIGIE_NOMEM;
    fm_table *old = atomic_load_explicit(&s->table, memory_order_relaxed);
    if (!old || 2 * (s->n_cache + 1) >= old->n_slots) {
        uint32_t ns = old ? old->n_slots * 2 : 64;
        fm_table *t = calloc(1, sizeof *t + ns * sizeof t->slot[0]);
        if (!t)
            return VIGIE_NOMEM;
        t->n_slots = ns;
        t->retired = old;
        for (uint32_t i = 0; i < s->n_cache; i++) {
            _Atomic(fm_entry *) *at;
            table_find(t, s->cache[i]->field, &at);
            atomic_store_explicit(at, s->cache[i], memory_order_relaxed);
        }
        atomic_store_explicit(&s->table, t, memory_order_release);
    }
    return VIGIE_OK;
}

/* Candidate list of `field` in section s: explicit renames, the name itself, the name with a
 * `strip` prefix removed, then the name under each of `prefixes`. */
static int resolve(const fm_section *s, const char *field, fm_entry *e)
{
    int rc = VIGIE_OK;
    for (uint32_t i = 0; !rc && i < s->n_fields; i++)
        if (!strcmp(s->fields[i].field, field))
            for (uint32_t k = 0; !rc && k < s->fields[i].n; k++)
                rc = push_path(e, s->fields[i].paths[k]);
    if (!rc)
        rc = push_path(e, field);
    for (uint32_t i = 0; !rc && i < s->n_strip; i++) {
        size_t pl = strlen(s->strip[i]);
        if (strlen(field) > pl && vg__ascii_ieq(field, pl, s->strip[i], pl))
            rc = push_path(e, field + pl);
    }
    char buf[1024];
    for (uint32_t i = 0; !rc && i < s->n_prefixes; i++) {
        int w = snprintf(buf, sizeof buf, "%s%s", s->prefixes[i], field);
        if (w > 0 && (size_t)w < sizeof buf)
            rc = push_path(e, buf);
    }
    return rc;
}

const char *const *vg__fieldmap_paths(const vg_fieldmap *cm, uint16_t map_id, const char *field,
                                      uint32_t *n)
{
    /* the cache is internal state behind a const handle: hits are lock-free, misses take
     * the mutex (see the header) */
    vg_fieldmap *m = (vg_fieldmap *)cm;
    fm_section *s = map_id == 0 || map_id > m->n ? &m->identity : &m->s[map_id - 1];
    fm_entry *hit = table_find(atomic_load_explicit(&s->table, memory_order_acquire), field, NULL);
    if (hit) {
        *n = hit->n;
        return (const char *const *)hit->paths;
    }
    const char *const *res = NULL;
    pthread_mutex_lock(&m->mu);
    hit = table_find(atomic_load_explicit(&s->table, memory_order_relaxed), field, NULL);
    if (hit) { /* another thread inserted it meanwhile */
        *n = hit->n;
        res = (const char *const *)hit->paths;
        goto out;
    }
    if (grow(s) != VIGIE_OK)
        goto out;
    fm_entry *e = calloc(1, sizeof *e);
    int rc = e && (e->field = strdup(field)) ? resolve(s, field, e) : VIGIE_NOMEM;
    if (rc) {
        if (e) {
            free(e->field);
            free_strs(e->paths, e->n);
        }
        free(e);
        goto out;
    }
    s->cache[s->n_cache++] = e;
    _Atomic(fm_entry *) *at;
    table_find(atomic_load_explicit(&s->table, memory_order_relaxed), field, &at);
    atomic_store_explicit(at, e, memory_order_release);
    *n = e->n;
    res = (const char *const *)e->paths;
out:
    pthread_mutex_unlock(&m->mu);
    if (!res) { /* out of memory: the field itself, from per-thread storage */
        static _Thread_local const char *none[1];
        none[0] = field;
        *n = 1;
        return none;
    }
    return res;
}

static bool has_str(const char *const *arr, uint8_t n, const char *s)
{
    for (uint8_t i = 0; i < n; i++)
        if (arr[i] && vg__ascii_ieq(arr[i], strlen(arr[i]), s, strlen(s)))
            return true;
    return false;
}

uint16_t vg__fieldmap_select(const vg_fieldmap *m, const vg_eventinfo *ei)
{
    if (!m)
        return 0;
    for (uint16_t i = 0; i < m->n; i++) {
        const fm_section *s = &m->s[i];
        if (s->shape != ei->shape)
            continue;
        if (s->service && !has_str(ei->services, ei->n_services, s->service))
            continue;
        if (s->category && !has_str(ei->categories, ei->n_categories, s->category))
            continue;
        return (uint16_t)(i + 1);
    }
    return 0;
}
