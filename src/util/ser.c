/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ser.c: the encoding of saved state (ser.h). Every reader bounds-checks before it touches the
 * span; an error is sticky.
 */
#include <stdlib.h>
#include <string.h>

#include "util/ser.h"

static void put_le(vg_buf *b, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    vg__buf_add(b, x, (size_t)n);
}

void vg__ser_u8(vg_buf *b, uint8_t v)
{
    put_le(b, v, 1);
}
void vg__ser_u32(vg_buf *b, uint32_t v)
{
    put_le(b, v, 4);
}
void vg__ser_u64(vg_buf *b, uint64_t v)
{
    put_le(b, v, 8);
}
void vg__ser_i64(vg_buf *b, int64_t v)
{
    put_le(b, (uint64_t)v, 8);
}
void vg__ser_f64(vg_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_le(b, u, 8);
}
void vg__ser_bool(vg_buf *b, bool v)
{
    put_le(b, v ? 1 : 0, 1);
}

void vg__ser_bytes(vg_buf *b, const void *p, size_t n)
{
    if (n >= VG_SER_NULL) { /* longer than the encoding can say: fail the buffer */
        if (!b->err)
            b->err = VIGIE_TOOBIG;
        return;
    }
    put_le(b, (uint32_t)n, 4);
    if (n)
        vg__buf_add(b, p, n);
}

void vg__ser_str(vg_buf *b, const char *s)
{
    if (!s)
        put_le(b, VG_SER_NULL, 4);
    else
        vg__ser_bytes(b, s, strlen(s));
}

void vg__rd_init(vg_rd *r, const void *p, size_t n)
{
    r->p = p;
    r->n = p ? n : 0;
    r->at = 0;
    r->err = false;
}

static uint64_t get_le(vg_rd *r, int n)
{
    if (r->err || r->n - r->at < (size_t)n) {
        r->err = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)r->p[r->at + (size_t)i] << (8 * i);
    r->at += (size_t)n;
    return v;
}

uint8_t vg__rd_u8(vg_rd *r)
{
    return (uint8_t)get_le(r, 1);
}
uint32_t vg__rd_u32(vg_rd *r)
{
    return (uint32_t)get_le(r, 4);
}
uint64_t vg__rd_u64(vg_rd *r)
{
    return get_le(r, 8);
}
int64_t vg__rd_i64(vg_rd *r)
{
    return (int64_t)get_le(r, 8);
}
double vg__rd_f64(vg_rd *r)
{
    uint64_t u = get_le(r, 8);
    double d;
    memcpy(&d, &u, sizeof d);
    return r->err ? 0 : d;
}
bool vg__rd_bool(vg_rd *r)
{
    uint8_t v = (uint8_t)get_le(r, 1);
    if (v > 1)
        r->err = true;
    return !r->err && v == 1;
}

uint64_t vg__rd_count(vg_rd *r, uint64_t max)
{
    uint64_t v = get_le(r, 8);
    if (!r->err && v > max)
        r->err = true;
    return r->err ? 0 : v;
}

const uint8_t *vg__rd_bytes(vg_rd *r, size_t *len, bool *is_null)
{
    *len = 0;
    if (is_null)
        *is_null = false;
    uint32_t n = (uint32_t)get_le(r, 4);
    if (r->err)
        return NULL;
    if (n == VG_SER_NULL) {
        if (is_null)
            *is_null = true;
        return NULL;
    }
    if (r->n - r->at < n) {
        r->err = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->at;
    r->at += n;
    *len = n;
    return p;
}

char *vg__rd_strdup(vg_rd *r)
{
    size_t n;
    bool null;
    const uint8_t *p = vg__rd_bytes(r, &n, &null);
    if (r->err || null)
        return NULL;
    if (n && memchr(p, 0, n)) {
        r->err = true;
        return NULL;
    }
    char *s = malloc(n + 1);
    if (!s) {
        r->err = true;
        return NULL;
    }
    if (n)
        memcpy(s, p, n);
    s[n] = 0;
    return s;
}
