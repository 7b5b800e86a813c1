/* SPDX-License-Identifier: Apache-2.0 */
/*
 * safefile.c: the one way vigie writes an output file (a STIX bundle, a report, a baseline,
 * a summary, campaigns, a proof). vigie often runs as root in directories others can write
 * to, so a planted name must never redirect a write, a device must never be replaced, and a
 * failed or interrupted write must never leave half a file under the final name.
 *
 * Invariants (docs/internals/output.md):
 *  - "-" is standard output; it is flushed, never closed.
 *  - OUT that exists and is not a regular file once symbolic links are followed (a character
 *    device such as /dev/null or /dev/stdout, a FIFO) is opened for writing as it is: no
 *    O_CREAT, no O_TRUNC, never replaced. A directory (EISDIR) or a block device (EINVAL)
 *    is refused: nobody means to write a report over a disk; so is anything but a character
 *    device or a FIFO once opened (a swap between stat and open). A device reached through
 *    a symbolic link is written only under the system's own names (/dev/..., /dev/fd/N,
 *    /proc/self/fd/N); a link planted elsewhere that points at a device is refused
 *    (EACCES). A FIFO is opened without blocking: with no reader within
 *    SAFEFILE_FIFO_WAIT_MS the open fails (ENXIO) instead of hanging.
 *  - Otherwise the bytes go to a temporary in OUT's own directory (so the rename cannot cross
 *    file systems), named ".BASE.<16 random hex>.tmp" and created with O_CREAT|O_EXCL|
 *    O_NOFOLLOW: a name planted in advance, symbolic link or not, makes the open fail and
 *    another random name is tried; nothing planted is ever opened. A new file gets mode 0644
 *    less the umask, a replaced one keeps its permission bits.
 *  - Commit = fflush, fsync, close, rename over OUT, fsync of the directory. A symbolic link
 *    at OUT is replaced by the file, its target is left alone. Until the rename OUT is
 *    untouched; after it OUT is the whole new content.
 *  - Any failure, and abort, unlink the temporary. Functions return a vigie status and leave
 *    errno saying why (the caller prints strerror(errno)).
 * Not thread-safe per handle; distinct handles are independent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define SAFEFILE_FIFO_WAIT_MS 10000 /* how long a FIFO's reader may take to open it */

struct vg_safefile {
    FILE *f;
    char *path; /* OUT */
    char *tmp;  /* the temporary, NULL when writing OUT directly or stdout */
    char *dir;  /* OUT's directory, for the fsync after rename */
    bool is_stdout;
};

static void sf_free(vg_safefile *sf)
{
    free(sf->path);
    free(sf->tmp);
    free(sf->dir);
    free(sf);
}

/* 16 hex digits nobody can predict; getrandom never fails on Linux >= 3.17 for 8 bytes, the
 * fallback only loses unpredictability, never safety (O_EXCL still holds). */
static void random_hex(char out[17])
{
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
        x = vg__hash64(&x, sizeof x, (uint64_t)(uintptr_t)r);
        memcpy(r, &x, sizeof r);
    }
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hx[r[i] >> 4];
        out[2 * i + 1] = hx[r[i] & 15];
    }
    out[16] = 0;
}

/* Open OUT as it is (a device or a FIFO). Returns 1 when it turned out to be a regular file
 * after all (replaced between stat and open): the caller goes the temporary way. */
static int open_direct(vg_safefile *sf)
{
    /* O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging; a reader that is
     * starting (a shell's `cat FIFO &`) is waited for up to SAFEFILE_FIFO_WAIT_MS */
    int fd = -1;
    for (int waited = 0;; waited += 50) {
        fd = open(sf->path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0 || errno != ENXIO || waited >= SAFEFILE_FIFO_WAIT_MS)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (fd < 0)
        return -1;
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (S_ISREG(st.st_mode)) {
        close(fd);
        return 1;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        close(fd); /* swapped for a block device or anything else between stat and open */
        errno = EINVAL;
        return -1;
    }
    if (!(sf->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return 0;
}

static int open_temp(vg_safefile *sf, const struct stat *old)
{
    const char *slash = strrchr(sf->path, '/');
    const char *base = slash ? slash + 1 : sf->path;
    size_t dl = slash ? (size_t)(slash - sf->path) : 0;
    if (!*base) {
        errno = EISDIR;
        return -1;
    }
    if (slash)
        sf->dir = dl ? strndup(sf->path, dl) : strdup("/");
    else
        sf->dir = strdup(".");
    size_t bl = strlen(base) > 64 ? 64 : strlen(base); /* the name stays under NAME_MAX */
    size_t cap = dl + bl + 32;
    if (!sf->dir || !(sf->tmp = malloc(cap))) {
        errno = ENOMEM;
        return -1;
    }
    mode_t mode = old ? (old->st_mode & 0777) : 0644;
    for (int attempt = 0; attempt < 32; attempt++) {
        char rnd[17];
        random_hex(rnd);
        snprintf(sf->tmp, cap, "%.*s%s.%.*s.%s.tmp", (int)dl, sf->path, slash ? "/" : "", (int)bl,
                 base, rnd);
        int fd = open(sf->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                      old ? 0600 : mode);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            return -1;
        }
        /* the umask applies to new files only: a replaced file keeps its bits */
        if ((old && fchmod(fd, mode) != 0) || !(sf->f = fdopen(fd, "wb"))) {
            int e = errno;
            close(fd);
            unlink(sf->tmp);
            errno = e;
            return -1;
        }
        return 0;
    }
    errno = EEXIST;
    return -1;
}

int vg__safefile_open(const char *path, vg_safefile **out)
{
    *out = NULL;
    if (!path || !*path) {
        errno = EINVAL;
        return VIGIE_INVAL;
    }
    vg_safefile *sf = calloc(1, sizeof *sf);
    if (!sf || !(sf->path = strdup(path))) {
        free(sf);
        errno = ENOMEM;
        return VIGIE_NOMEM;
    }
    if (!strcmp(path, "-")) {
        sf->f = stdout;
        sf->is_stdout = true;
        *out = sf;
        return VIGIE_OK;
    }
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        goto fail;
    if (exists && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (exists && S_ISBLK(st.st_mode)) {
        errno = EINVAL;
        goto fail;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        /* a device reached through a link: only the system's own names (/dev/stdout,
         * /dev/fd/N, /proc/self/fd/N), never a link planted beside the output */
        struct stat lst;
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && strncmp(path, "/dev/", 5) != 0 &&
            strncmp(path, "/proc/self/fd/", 14) != 0) {
            errno = EACCES;
            goto fail;
        }
        int r = open_direct(sf);
        if (r < 0)
            goto fail;
        if (r == 0) {
            *out = sf;
            return VIGIE_OK;
        }
        exists = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    }
    if (open_temp(sf, exists ? &st : NULL) != 0)
        goto fail;
    *out = sf;
    return VIGIE_OK;
fail:;
    int e = errno;
    sf_free(sf);
    errno = e;
    return e == ENOMEM ? VIGIE_NOMEM : VIGIE_IO;
}

FILE *vg__safefile_stream(const vg_safefile *sf)
{
    return sf ? sf->f : NULL;
}

const char *vg__safefile_path(const vg_safefile *sf)
{
    return sf ? sf->path : NULL;
}

int vg__safefile_commit(vg_safefile *sf)
{
    if (!sf) {
        errno = EINVAL;
        return VIGIE_INVAL;
    }
    int e = 0;
    errno = 0;
    if (fflush(sf->f) != 0 || ferror(sf->f))
        e = errno ? errno : EIO;
    if (sf->is_stdout) {
        sf_free(sf);
        errno = e;
        return e ? VIGIE_IO : VIGIE_OK;
    }
    /* a device or a FIFO has nothing to sync (EINVAL, EROFS): only a temporary is synced */
    if (!e && sf->tmp && fsync(fileno(sf->f)) != 0)
        e = errno;
    if (fclose(sf->f) != 0 && !e)
        e = errno ? errno : EIO;
    sf->f = NULL;
    if (sf->tmp) {
        if (!e && rename(sf->tmp, sf->path) != 0)
            e = errno;
        if (e) {
            unlink(sf->tmp);
        } else {
            int dfd = open(sf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL))
                e = errno; /* renamed, but not known to be durable */
            if (dfd >= 0)
                close(dfd);
        }
    }
    sf_free(sf);
    errno = e;
    return e ? VIGIE_IO : VIGIE_OK;
}

void vg__safefile_abort(vg_safefile *sf)
{
    if (!sf)
        return;
    int e = errno;
    if (sf->is_stdout)
        fflush(sf->f);
    else if (sf->f)
        fclose(sf->f);
    if (sf->tmp)
        unlink(sf->tmp);
    sf_free(sf);
    errno = e;
}

int vg__safefile_write(const char *path, const void *data, size_t len)
{
    vg_safefile *sf;
    int rc = vg__safefile_open(path, &sf);
    if (rc)
        return rc;
    if (len && fwrite(data, 1, len, sf->f) != len) {
        int e = errno ? errno : EIO;
        vg__safefile_abort(sf);
        errno = e;
        return VIGIE_IO;
    }
    return vg__safefile_commit(sf);
}
