/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statefile.c: the container of saved state (statefile.h): written whole and atomically,
 * read whole and checked (checksum first, then every length) before any section is used.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "correlate/statefile.h"
#include "util/ser.h"

static const char magic[12] = "VIGIESTATE\n";

int vg__statefile_save(const char *path, const vg_state_section *s, uint32_t n,
                       vigie_diag_fn diag, void *diag_ud)
{
    if (n > VG_MAX_STATE_SECTIONS) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_INVAL, path, 0, 0, NULL,
                 "state: %u sections, at most %u", n, VG_MAX_STATE_SECTIONS);
        return VIGIE_INVAL;
    }
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__buf_add(&b, magic, sizeof magic);
    vg__ser_u32(&b, VG_STATEFILE_VERSION);
    vg__ser_u32(&b, n);
    for (uint32_t i = 0; i < n; i++) {
        vg__ser_u32(&b, s[i].tag);
        vg__ser_u64(&b, s[i].len);
        if (s[i].len)
            vg__buf_add(&b, s[i].data, s[i].len);
    }
    uint8_t d[32];
    if (!vg__buf_failed(&b)) {
        SHA256((const unsigned char *)b.data, b.len, d);
        vg__buf_add(&b, d, sizeof d);
    }
    int rc = vg__buf_failed(&b);
    if (rc) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, rc, path, 0, 0, NULL,
                 "state not saved: %s", vigie_strerror(rc));
        vg__buf_free(&b);
        return rc;
    }
    rc = vg__safefile_write(path, b.data, b.len);
    if (rc != VIGIE_OK)
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, rc, path, 0, 0, NULL, "state not saved: %s",
                 strerror(errno ? errno : EIO));
    vg__buf_free(&b);
    return rc;
}

static int refuse(vigie_diag_fn diag, void *ud, const char *path, int rc, const char *why)
{
    vg__diag(diag, ud, VIGIE_DIAG_ERROR, rc, path, 0, 0, NULL, "state file refused: %s", why);
    return rc;
}

int vg__statefile_load(const char *path, vg_statefile_in *in, vigie_diag_fn diag, void *diag_ud)
{
    memset(in, 0, sizeof *in);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return VIGIE_NOENT;
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_IO, path, 0, 0, NULL,
                 "state file cannot be read: %s", strerror(errno));
        return VIGIE_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return refuse(diag, diag_ud, path, VIGIE_IO, "not a regular file");
    }
    if ((uint64_t)st.st_size > VG_MAX_STATE_BYTES) {
        close(fd);
        return refuse(diag, diag_ud, path, VIGIE_TOOBIG, "larger than VG_MAX_STATE_BYTES");
    }
    size_t len = (size_t)st.st_size;
    uint8_t *p = malloc(len ? len : 1);
    if (!p) {
        close(fd);
        return refuse(diag, diag_ud, path, VIGIE_NOMEM, "out of memory");
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, p + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != len) {
        free(p);
        return refuse(diag, diag_ud, path, VIGIE_IO, "short read");
    }
    int rc = VIGIE_VERIFY;
    const char *why = NULL;
    if (len < sizeof magic + 8 + 32 || memcmp(p, magic, sizeof magic) != 0) {
        why = "not a vigie state file (bad magic or too short)";
        goto fail;
    }
    uint8_t d[32];
    SHA256(p, len - 32, d);
    if (memcmp(d, p + len - 32, 32) != 0) {
        why = "checksum mismatch (the file is truncated or corrupted)";
        goto fail;
    }
    vg_rd r;
    vg__rd_init(&r, p + sizeof magic, len - 32 - sizeof magic);
    uint32_t version = vg__rd_u32(&r);
    if (version != VG_STATEFILE_VERSION) {
        vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_VERIFY, path, 0, 0, NULL,
                 "state file refused: format version %u, this vigie reads version %u", version,
                 VG_STATEFILE_VERSION);
        free(p);
        return VIGIE_VERIFY;
    }
    uint32_t n = vg__rd_u32(&r);
    if (n > VG_MAX_STATE_SECTIONS) {
        why = "too many sections";
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t tag = vg__rd_u32(&r);
        uint64_t sl = vg__rd_u64(&r);
        if (r.err || sl > r.n - r.at) {
            why = "a section runs past the end";
            goto fail;
        }
        for (uint32_t k = 0; k < i; k++)
            if (in->sec[k].tag == tag) {
                why = "a section appears twice";
                goto fail;
            }
        in->sec[i].tag = tag;
        in->sec[i].data = r.p + r.at;
        in->sec[i].len = (size_t)sl;
        r.at += (size_t)sl;
    }
    if (!vg__rd_done(&r)) {
        why = "bytes after the last section";
        goto fail;
    }
    in->bytes = p;
    in->len = len;
    in->n = n;
    return VIGIE_OK;
fail:
    free(p);
    memset(in, 0, sizeof *in);
    return refuse(diag, diag_ud, path, rc, why);
}

const vg_state_section *vg__statefile_get(const vg_statefile_in *in, uint32_t tag)
{
    for (uint32_t i = 0; i < in->n; i++)
        if (in->sec[i].tag == tag)
            return &in->sec[i];
    return NULL;
}

void vg__statefile_free(vg_statefile_in *in)
{
    free(in->bytes);
    memset(in, 0, sizeof *in);
}
