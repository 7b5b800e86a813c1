/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h: the bottom of the pipeline: status names, growable byte buffers with a cap and sticky
 * errors (curl's dynbuf, SQLite's mallocFailed), the one grow helper for arrays, a bump arena
 * (YARA's arena), the one hash function and the one hash table (Redis's dict, open addressing),
 * diagnostics, small string helpers.
 * Every other stage may use these; util uses nothing of vigie's.
 */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vigie/vigie.h"
#include "limits.h"

#define VG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VG_UNUSED(x) ((void)(x))
#if defined(__GNUC__)
#define VG_LIKELY(x) __builtin_expect(!!(x), 1)
#define VG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VG_LIKELY(x) (x)
#define VG_UNLIKELY(x) (x)
#define VG_PRINTF(a, b)
#endif

/* ---- vg_buf: a growable byte buffer that refuses to grow past `toobig`. ----
 * Invariant: data is NUL-terminated whenever data != NULL (len excludes the NUL).
 * Errors are sticky (SQLite's mallocFailed): the first append that fails (VIGIE_NOMEM, or
 * VIGIE_TOOBIG past the cap) is recorded in err and leaves the content as it was before that
 * append; every later append is then a no-op returning the same status, so a sequence of
 * appends whose statuses are ignored can never produce a shortened value that looks whole.
 * Check vg__buf_failed() once after the sequence. reset, free and init clear the error. */
typedef struct vg_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t toobig; /* 0 = no cap */
    int err;       /* VIGIE_OK, or the status of the first failed append since the last reset */
} vg_buf;

void vg__buf_init(vg_buf *b, size_t toobig);
void vg__buf_free(vg_buf *b);
void vg__buf_reset(vg_buf *b); /* len = 0, err = VIGIE_OK, keeps memory */
/* The status of the first append that failed since init or reset (VIGIE_OK if none). */
static inline int vg__buf_failed(const vg_buf *b)
{
    return b->err;
}
int vg__buf_reserve(vg_buf *b, size_t extra);
int vg__buf_add(vg_buf *b, const void *p, size_t n);
int vg__buf_addc(vg_buf *b, char c);
int vg__buf_adds(vg_buf *b, const char *s);
int vg__buf_printf(vg_buf *b, const char *fmt, ...) VG_PRINTF(2, 3);
/* Append s as the body of a JSON string (no surrounding quotes), escaping as RFC 8259 wants.
 * Invalid UTF-8 bytes are replaced by U+FFFD. */
int vg__buf_add_json_str(vg_buf *b, const char *s, size_t n);
/* Append s for a person to read (a terminal, a table, stderr): every byte that could move
 * the cursor, recolour the terminal or start a line is shown as a visible escape instead:
 * LF, CR, TAB as \n \r \t; other C0 controls, DEL and bytes that are not UTF-8 as \xHH; C1
 * controls (U+0080-U+009F), U+2028/U+2029 and the bidirectional controls U+202A-U+202E,
 * U+2066-U+2069 as \uHHHH. Everything else, backslash included, is copied unchanged, so the
 * text stays readable; the exact bytes are in the JSON output. */
int vg__buf_add_escaped(vg_buf *b, const char *s, size_t n);
/* The same escaping into out (cap bytes, NUL-terminated), stopping before the first
 * character or escape that would not fit: a table cell never ends in half an escape or half
 * a UTF-8 sequence. Returns the length written. */
size_t vg__escape_to(char *out, size_t cap, const char *s, size_t n);

/* ---- growing arrays: the one doubling block ----
 * vg__grow makes room for at least `need` elements of `elem` bytes in the array *p of *cap
 * elements: nothing if need <= *cap, else the capacity becomes `first` (if *cap is 0) doubled
 * until it holds need, and the array is realloc'd to it. The size multiplication is checked:
 * VIGIE_TOOBIG if it would overflow (or, for vg__grow32, if the capacity would pass
 * UINT32_MAX); VIGIE_NOMEM if realloc fails. On failure *p and *cap are unchanged, so the old
 * array stays valid and owned by the caller. New elements are not initialized.
 * VG_GROW(arr, cap, need, first) picks the function by the type of cap (uint32_t or size_t). */
int vg__grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);
int vg__grow32(void **p, uint32_t *cap, size_t need, size_t elem, size_t first);
#define VG_GROW(arr, cap, need, first)                                                             \
    _Generic((cap), uint32_t                                                                       \
             : vg__grow32, default                                                                 \
             : vg__grow)((void **)&(arr), &(cap), (need), sizeof *(arr), (first))
/* The same with a bound: the capacity never passes maxcap (the last doubling stops at it), and
 * need > maxcap is VIGIE_TOOBIG with nothing changed. For arrays whose length is an
 * input-driven limit of limits.h (JSON tokens, CSV columns). uint32_t capacities only. */
int vg__grow32_max(void **p, uint32_t *cap, size_t need, size_t elem, size_t first,
                   uint32_t maxcap);
#define VG_GROW_MAX(arr, cap, need, first, maxcap)                                                 \
    vg__grow32_max((void **)&(arr), &(cap), (need), sizeof *(arr), (first), (maxcap))

/* ---- vg_arena: bump allocator; everything freed at once. Not thread-safe. ---- */
typedef struct vg_arena vg_arena;
vg_arena *vg__arena_new(size_t chunk);
void vg__arena_free(vg_arena *a);
void vg__arena_reset(vg_arena *a); /* keeps the first chunk */
void *vg__arena_alloc(vg_arena *a, size_t n);  /* 16-byte aligned, zeroed; NULL on OOM */
char *vg__arena_strndup(vg_arena *a, const char *s, size_t n);
char *vg__arena_strdup(vg_arena *a, const char *s);
size_t vg__arena_used(const vg_arena *a);

/* ---- diagnostics ---- */
/* Build a diagnostic and hand it to fn (if non-NULL). The message is formatted. */
void vg__diag(vigie_diag_fn fn, void *ud, vigie_diag_level level, int rc, const char *file,
              uint64_t line, uint64_t col, const char *rule_id, const char *fmt, ...)
    VG_PRINTF(9, 10);
/* Standard printer: "vigie: error: file:line:col: message" to the FILE* in ud (stderr if NULL),
 * file, rule id and message escaped (vg__buf_add_escaped), in one write. */
void vg__diag_print(void *ud, const vigie_diag *d);
/* Format one message, escape every control character in it (vg__buf_add_escaped) except one
 * final newline, and write it to f in one fwrite: for stderr lines that carry a file name or
 * a value from the input. */
void vg__print_escaped(FILE *f, const char *fmt, ...) VG_PRINTF(2, 3);

/* ---- strings ---- */
static inline unsigned char vg__lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}
bool vg__ascii_ieq(const char *a, size_t alen, const char *b, size_t blen);
/* Case-insensitive (ASCII) substring search; returns pointer or NULL. */
const char *vg__ascii_imemmem(const char *h, size_t hlen, const char *n, size_t nlen);
bool vg__utf8_valid(const char *s, size_t n);
/* The first path segment of a URL ("https://host/SEG/..." gives SEG), or NULL; *len its
 * length. A token issuer's tenant: https://login.microsoftonline.com/<tenant>/v2.0 */
const char *vg__url_first_segment(const char *url, size_t *len);

/* ---- hashing ---- */
/* A 64-bit hash of n bytes from seed, eight bytes a step (multiply-xorshift mixing); never 0,
 * so 0 can mark an empty slot in open-addressing tables. Not for anything adversaries must
 * not collide: table indexes and distinct counts only. */
uint64_t vg__hash64(const void *p, size_t n, uint64_t seed);
/* The same mixing for one 64-bit integer key (vg__hash64 of its 8 bytes). */
static inline uint64_t vg__hash64_u64(uint64_t u, uint64_t seed)
{
    return vg__hash64(&u, sizeof u, seed);
}

/* vg__hash64 of the bytes with ASCII letters lowercased (keys compared case-insensitively). */
uint64_t vg__hash64_ci(const void *p, size_t n, uint64_t seed);

/* ---- vg_hmap: the one hash table ----
 * Open addressing with linear probing over a power-of-two array of slots; a slot with
 * hash 0 is empty (vg__hash64 is never 0, and a caller-given hash of 0 is taken as 1).
 * A map holds one kind of key: byte strings (the _h/_s functions; the bytes are NOT copied,
 * the caller keeps them alive and unchanged while they are in the map, typically inside the
 * object the value designates), byte strings compared ASCII-case-insensitively (the _ci
 * functions, hashed with vg__hash64_ci; same borrowing) or 64-bit integers (the _u64
 * functions, stored in the slot).
 * The value is a 32-bit index or a pointer (vg_hmap_val), written by the caller through the
 * slot that put returns.
 * Invariants: cap is 0 or a power of two >= 16; n <= max; 2 * n <= cap (load at most one
 * half, so every probe ends at an empty slot). Entries are never removed singly (clear empties
 * all). When n == max a put of a new key returns VIGIE_TOOBIG ("full") and changes nothing;
 * a put that has to grow the slots and cannot returns VIGIE_NOMEM and changes nothing.
 * Iteration (vg__hmap_next) visits every entry once, in slot order (which depends on the hashes
 * and the capacity: do not let it decide an output order). Not thread-safe. */
typedef union vg_hmap_val {
    uint32_t idx;
    void *ptr;
} vg_hmap_val;
typedef struct vg_hmap_slot {
    uint64_t hash; /* 0 = empty */
    union {
        const void *p; /* byte keys: the caller's bytes */
        uint64_t u;    /* integer keys */
    } key;
    size_t len; /* byte keys: length */
    vg_hmap_val val;
} vg_hmap_slot;
typedef struct vg_hmap {
    vg_hmap_slot *slot;
    uint32_t cap; /* slots: 0 or a power of two */
    uint32_t n;   /* entries */
    uint32_t max; /* bound on n given at init */
} vg_hmap;

/* max: the most entries the map may hold (0 = no bound but the 2^31 slots). A zeroed vg_hmap is
 * the same as one initialized with max 0. */
void vg__hmap_init(vg_hmap *m, uint32_t max);
void vg__hmap_free(vg_hmap *m);
void vg__hmap_clear(vg_hmap *m); /* n = 0, keeps the slots */
/* Byte keys with the caller's hash h (for keys whose hash is already known; equal keys must
 * have equal hashes). find returns the entry's slot or NULL. put finds or inserts: *out is the
 * slot, *added whether it is new (its value is then zeroed for the caller to set). */
vg_hmap_slot *vg__hmap_find_h(const vg_hmap *m, uint64_t h, const void *key, size_t len);
int vg__hmap_put_h(vg_hmap *m, uint64_t h, const void *key, size_t len, vg_hmap_slot **out,
                   bool *added);
/* Byte keys hashed with vg__hash64. */
vg_hmap_slot *vg__hmap_find(const vg_hmap *m, const void *key, size_t len);
int vg__hmap_put(vg_hmap *m, const void *key, size_t len, vg_hmap_slot **out, bool *added);
/* Integer keys. */
vg_hmap_slot *vg__hmap_find_u64(const vg_hmap *m, uint64_t key);
int vg__hmap_put_u64(vg_hmap *m, uint64_t key, vg_hmap_slot **out, bool *added);
/* Byte keys, ASCII-case-insensitive: "Okta" and "OKTA" are one key (the first one put is kept). */
vg_hmap_slot *vg__hmap_find_ci(const vg_hmap *m, const void *key, size_t len);
int vg__hmap_put_ci(vg_hmap *m, const void *key, size_t len, vg_hmap_slot **out, bool *added);
/* Iterate: uint32_t it = 0; vg_hmap_slot *e; while ((e = vg__hmap_next(m, &it))) ... */
vg_hmap_slot *vg__hmap_next(const vg_hmap *m, uint32_t *it);

/* base64url (RFC 4648 section 5, no padding), as JWTs and JWKS use it. Decoding also takes
 * the standard alphabet and stops at '='; VIGIE_INVAL on other bytes, VIGIE_TOOBIG when the
 * output does not fit in cap. */
int vg__b64url_encode(vg_buf *out, const unsigned char *s, size_t n);
int vg__b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *out_len);

/* Read a whole file into a malloc'd NUL-terminated buffer (max bytes `cap`). */
int vg__read_file(const char *path, size_t cap, char **out, size_t *out_len);

/* Call fn(ud, path) for every regular file under directory `dir`, recursively, entries in
 * name order, hidden entries (leading '.') skipped. Links to files are followed, links to
 * directories are not (a cycle would multiply the walk); depth is capped at 64. A directory
 * that cannot be read is reported through diag and skipped. Stops at the first non-OK
 * status fn returns, and returns it. */
typedef int (*vg_walk_fn)(void *ud, const char *path);
int vg__walk_files(const char *dir, vg_walk_fn fn, void *ud, vigie_diag_fn diag, void *diag_ud);

/* ---- writing an output file safely (safefile.c, docs/internals/output.md) ----
 * vg__safefile_open(OUT): "-" is stdout; an existing non-regular OUT (a character device, a
 * FIFO) is written directly and never replaced; a directory or block device is refused;
 * otherwise the bytes go to a fresh temporary in OUT's directory (O_EXCL|O_NOFOLLOW, random
 * name) that commit fsyncs and renames over OUT (then fsyncs the directory). Write with
 * stdio on vg__safefile_stream(). commit and abort free the handle; abort and every failure
 * unlink the temporary, so OUT is either untouched or the whole new content. All return a
 * status (VIGIE_IO, VIGIE_NOMEM, VIGIE_INVAL) and leave errno saying why. One thread per
 * handle. */
typedef struct vg_safefile vg_safefile;
int vg__safefile_open(const char *path, vg_safefile **out);
FILE *vg__safefile_stream(const vg_safefile *sf);
const char *vg__safefile_path(const vg_safefile *sf);
int vg__safefile_commit(vg_safefile *sf);
void vg__safefile_abort(vg_safefile *sf);
/* Open, write len bytes, commit: a whole buffer to OUT. */
int vg__safefile_write(const char *path, const void *data, size_t len);

/* Monotonic time in seconds. */
double vg__now(void);

/* Parse an ISO 8601 / RFC 3339 timestamp ("2023-06-01T03:04:05Z", "2023-06-01 03:04:05.123",
 * "2023-06-01T03:04:05.1234567+02:00", no zone = UTC) into Unix seconds (double). */
int vg__parse_time(const char *s, size_t n, double *out);
/* Format Unix seconds as "2023-06-01T03:04:05.123Z" into out (at least 32 bytes). */
void vg__format_time(double t, char *out, size_t cap);

#endif
