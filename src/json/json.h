/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.h: vigie's own JSON reader: strict RFC 8259, zero-copy, no tree per event.
 *
 * Stage: json (depends on util). One pass over a record validates it (grammar, UTF-8,
 * depth) and writes a flat tape of tokens into a caller-owned, reused buffer: no per-event
 * allocation once the tape has grown to the largest record. Tokens point into the source
 * bytes; strings stay escaped on the tape and are unescaped only when a caller compares
 * them. Containers record the index of the token after their last child, so any value is
 * skipped in O(1) and a field is found by walking only the keys of the objects on its path.
 *
 * Field paths (vg__json_path_each) add Sigma's addressing on top: dotted paths into nested
 * objects (a literal dotted key wins over nesting), arrays traversed element by element,
 * strings that hold JSON descended into, and Name/Value lists addressed by name.
 *
 * Thread safety: a tape and a scratch belong to one thread; the functions keep no state.
 */
#ifndef VG_JSON_H
#define VG_JSON_H

#include "util/util.h"

typedef enum {
    VG_J_NULL = 0, VG_J_FALSE, VG_J_TRUE, VG_J_NUMBER, VG_J_STRING, VG_J_ARRAY, VG_J_OBJECT
} vg_jtype;

/* One token of the tape. Objects are followed by their children as key, value, key, value;
 * arrays by their elements. Offsets are into the source text. */
typedef struct vg_jtok {
    uint32_t off;   /* strings: first byte after the opening quote; others: first byte */
    uint32_t len;   /* strings: raw length between the quotes; numbers and literals: text
                       length; arrays: element count; objects: member (pair) count */
    uint32_t next;  /* index of the first token after this value and all its children */
    uint8_t type;   /* vg_jtype */
    uint8_t esc;    /* strings: 1 when the raw text contains at least one backslash */
    uint8_t key;    /* 1 when this string token is an object key */
    uint8_t pad_;
} vg_jtok;

typedef struct vg_jtape {
    const char *src; /* the text parsed (not owned) */
    size_t src_len;
    vg_jtok *tok;    /* owned, reused across parses */
    uint32_t n;
    uint32_t cap;
} vg_jtape;

typedef struct vg_jerr {
    int rc;          /* VIGIE_JSON, VIGIE_UTF8, VIGIE_TOODEEP, VIGIE_TOOBIG, VIGIE_TRUNCATED */
    size_t offset;   /* byte offset of the error within the parsed text */
    char msg[128];   /* e.g. "expected ':' after object key" */
} vg_jerr;

void vg__jtape_init(vg_jtape *t);
void vg__jtape_free(vg_jtape *t);

/* Parse exactly one JSON text (RFC 8259: one value, optional surrounding whitespace).
 * On error returns the status and fills *err (may be NULL). Token 0 is the root value. */
int vg__json_parse(vg_jtape *t, const char *src, size_t len, vg_jerr *err);

/* Parse one value at the start of src (after optional whitespace) and stop at its end;
 * *consumed = bytes up to the end of the value (trailing whitespace not consumed).
 * For concatenated JSON and array-element splitting. Returns VIGIE_EOF when src holds only
 * whitespace. */
int vg__json_parse_prefix(vg_jtape *t, const char *src, size_t len, size_t *consumed,
                          vg_jerr *err);

/* ---- tape access ----------------------------------------------------------------------- */
static inline const char *vg__json_raw(const vg_jtape *t, uint32_t i)
{
    return t->src + t->tok[i].off;
}
/* First child of a non-empty container, and the sibling after value i. */
static inline uint32_t vg__json_child(const vg_jtape *t, uint32_t i)
{
    (void)t;
    return i + 1;
}
static inline uint32_t vg__json_next(const vg_jtape *t, uint32_t i)
{
    return t->tok[i].next;
}

/* Find a member of object `obj` by key (exact bytes, compared after unescaping).
 * Returns the value's token index, or -1. */
int64_t vg__json_obj_get(const vg_jtape *t, uint32_t obj, const char *key, size_t key_len);
/* Same, ASCII case-insensitive. */
int64_t vg__json_obj_get_ci(const vg_jtape *t, uint32_t obj, const char *key, size_t key_len);
/* One pass: the exact key if present, else the first ASCII case-insensitive match, else -1. */
int64_t vg__json_obj_find(const vg_jtape *t, uint32_t obj, const char *key, size_t key_len);

/* Unescape a raw JSON string body (without quotes) into out (appended); surrogate pairs are
 * combined, lone surrogates become U+FFFD. The input must have been validated by the parser. */
int vg__json_unescape(const char *raw, size_t len, vg_buf *out);

/* The bytes of string token i, unescaped: returns the raw pointer when the string has no
 * escapes, else unescapes into tmp (reset first) and returns tmp->data. *len is set. */
const char *vg__json_str(const vg_jtape *t, uint32_t i, vg_buf *tmp, size_t *len);

/* Copy string token `tok` (unescaped, truncated to cap-1 bytes) into out; "" when tok < 0
 * or the token is not a string. For small configuration values, not the hot path. */
void vg__json_str_copy(const vg_jtape *t, int64_t tok, char *out, size_t cap);

/* Parse a JSON number text (strict grammar) into a double; VIGIE_INVAL if not a number.
 * Also used on string values: "4103" -> 4103, " 12" -> INVAL. */
int vg__json_number(const char *p, size_t len, double *out);

/* ---- field paths (Sigma addressing) -------------------------------------------------------- */

/* Scratch for field lookups: tapes and buffers for JSON held inside strings. Owned by one
 * worker, reset per event; grows to the largest need and is then allocation-free. */
typedef struct vg_jscratch vg_jscratch;
vg_jscratch *vg__jscratch_new(void);
void vg__jscratch_free(vg_jscratch *s);
void vg__jscratch_reset(vg_jscratch *s); /* per event: forget cached embedded parses */

/* A value found at a path. `tape` is the tape it lives on (the event's, or an embedded one
 * from the scratch); valid until the scratch is reset. */
typedef struct vg_jval {
    const vg_jtape *tape;
    uint32_t tok;
} vg_jval;

/* Return non-zero from the callback to stop the walk (that value is then returned). */
typedef int (*vg_jval_fn)(void *ud, const vg_jval *v);

/* Call fn for every value at `path` (dotted, as in Sigma rules) under token `root`:
 *  - at each object, the longest literal key that equals a prefix of the remaining path wins
 *    ("a.b" as one key before "a" then "b"); exact key bytes first, then ASCII
 *    case-insensitive when no key matches exactly;
 *  - an array met before the path ends is traversed element by element;
 *  - a string met before the path ends whose content is a JSON object or array is parsed
 *    (into the scratch, at most VG_MAX_EMBEDDED_JSON_DEPTH levels) and descended into;
 *  - an array of objects with Name/Value members (any ASCII case: "Name"/"name",
 *    "Value"/"value") is addressed by name: the next path segment selects the elements whose
 *    Name equals it and continues in their Value.
 * The terminal value is passed as is: an array at the end of the path is one call (the
 * caller iterates its elements). Returns the first non-zero callback result, else 0. */
int vg__json_path_each(const vg_jtape *t, uint32_t root, const char *path, size_t path_len,
                       vg_jscratch *s, vg_jval_fn fn, void *ud);

/* Call fn for every scalar value (not keys) in the tree under root, descending into arrays
 * and objects (not into JSON held in strings). For keyword search. */
int vg__json_scalars_each(const vg_jtape *t, uint32_t root, vg_jval_fn fn, void *ud);

#endif
