/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ser.h: the binary encoding of saved state (vigie scan --state): what each stateful part
 * (first-seen terms, sessions, correlations, visibility, campaigns) writes into its section
 * of a state file, and reads back.
 *
 * Encoding: little-endian fixed-width integers; doubles as their IEEE-754 bits (so NAN and
 * infinities round-trip); byte strings as a u32 length then the bytes; a NULL string as the
 * length 0xFFFFFFFF. No alignment, no padding, no pointers: a section is a byte stream.
 *
 * Writer: appends to a vg_buf; its errors are sticky (vg__buf_failed once at the end).
 * Reader: reads a bounded span it does not own. Any read past the end, or a length longer
 * than what remains, sets the sticky `err` and every later read returns 0 / NULL: a caller
 * checks `err` once after a sequence, and a truncated or hostile section can never make it
 * read outside the span. Counts read from a section must still be checked against limits.h
 * before they size an allocation (vg__rd_count does both).
 */
#ifndef VG_SER_H
#define VG_SER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define VG_SER_NULL 0xFFFFFFFFu

void vg__ser_u8(vg_buf *b, uint8_t v);
void vg__ser_u32(vg_buf *b, uint32_t v);
void vg__ser_u64(vg_buf *b, uint64_t v);
void vg__ser_i64(vg_buf *b, int64_t v);
void vg__ser_f64(vg_buf *b, double v);
void vg__ser_bool(vg_buf *b, bool v);
/* n bytes with their length; p may be NULL only when n is 0 */
void vg__ser_bytes(vg_buf *b, const void *p, size_t n);
/* a NUL-terminated string, or NULL */
void vg__ser_str(vg_buf *b, const char *s);

typedef struct vg_rd {
    const uint8_t *p;
    size_t n, at;
    bool err;
} vg_rd;

void vg__rd_init(vg_rd *r, const void *p, size_t n);
uint8_t vg__rd_u8(vg_rd *r);
uint32_t vg__rd_u32(vg_rd *r);
uint64_t vg__rd_u64(vg_rd *r);
int64_t vg__rd_i64(vg_rd *r);
double vg__rd_f64(vg_rd *r);
bool vg__rd_bool(vg_rd *r); /* a byte other than 0 or 1 is an error */
/* A count that will size an allocation: an error when it exceeds max. */
uint64_t vg__rd_count(vg_rd *r, uint64_t max);
/* Bytes written by vg__ser_bytes/_str: a pointer into the span (not NUL-terminated) and its
 * length; *is_null tells a NULL string apart from "" (is_null may be NULL). */
const uint8_t *vg__rd_bytes(vg_rd *r, size_t *len, bool *is_null);
/* A string written by vg__ser_str as a new NUL-terminated copy (free it), or NULL for NULL
 * or on error (check r->err to tell them apart). A string holding a NUL is an error. */
char *vg__rd_strdup(vg_rd *r);
/* Whether the whole span was read without error (a section with trailing bytes is wrong). */
static inline bool vg__rd_done(const vg_rd *r)
{
    return !r->err && r->at == r->n;
}

#endif
