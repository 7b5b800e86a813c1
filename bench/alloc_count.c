/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc_count.c: an LD_PRELOAD library that counts heap calls and lock calls of a process.
 *
 * Bench only (libvigie_alloc_count.so). Interposes malloc, calloc, realloc, free,
 * posix_memalign, aligned_alloc and memalign (strdup, strndup and the rest of libc allocate
 * through these symbols, so they are counted too) and forwards them to glibc's
 * __libc_malloc family, which needs no dlsym and so cannot recurse. It also interposes
 * pthread_mutex_lock / trylock and pthread_rwlock_rdlock / wrlock, forwarded through
 * dlsym(RTLD_NEXT), and counts them. Counters are relaxed atomics: exact totals, any number
 * of threads. At exit (a destructor: normal exit or return from main) one line goes to
 * $ALLOC_COUNT_OUT (appended) or to stderr:
 *   malloc=N calloc=N realloc=N memalign=N free=N allocs=N mutex_lock=N rwlock=N
 * where allocs = malloc + calloc + realloc + memalign (a realloc is an allocation: it may
 * move). free(NULL) is not counted.
 *
 * Finding the callers: ALLOC_COUNT_BT=N writes a backtrace (backtrace_symbols_fd: module and
 * offset, resolve with addr2line -f -e BINARY OFFSET) of every N-th allocation to
 * $ALLOC_COUNT_BT_FILE (or stderr); ALLOC_COUNT_BT_SKIP=K ignores the first K allocations
 * (the set-up). A thread-local guard keeps backtrace()'s own allocations out of it.
 *
 * Usage: LD_PRELOAD=build/bench/libvigie_alloc_count.so ALLOC_COUNT_OUT=f vigie scan ...
 * bench/run.sh runs the scan on N and 2N events and divides the difference by N, so that
 * set-up and warm-up cancel out (see bench/README.md).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_ullong n_malloc, n_calloc, n_realloc, n_memalign, n_free, n_mutex, n_rwlock;
static atomic_ullong n_allocs; /* all four allocation kinds, for the backtrace sampling */
static unsigned long long bt_every, bt_skip;
static int bt_fd = -1;
static _Thread_local int in_bt;

#define BUMP(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)

static void sample(void)
{
    unsigned long long k = BUMP(n_allocs) + 1;
    if (!bt_every || in_bt || k <= bt_skip || (k - bt_skip) % bt_every)
        return;
    in_bt = 1;
    void *frames[24];
    int n = backtrace(frames, 24);
    char head[64];
    int l = snprintf(head, sizeof head, "--- allocation %llu\n", k);
    if (write(bt_fd, head, (size_t)l) < 0) { /* best effort */
    }
    backtrace_symbols_fd(frames + 2, n > 2 ? n - 2 : 0, bt_fd);
    in_bt = 0;
}

void *malloc(size_t n)
{
    BUMP(n_malloc);
    sample();
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    BUMP(n_calloc);
    sample();
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    BUMP(n_realloc);
    sample();
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (p)
        BUMP(n_free);
    __libc_free(p);
}

void *memalign(size_t al, size_t n)
{
    BUMP(n_memalign);
    sample();
    return __libc_memalign(al, n);
}

void *aligned_alloc(size_t al, size_t n)
{
    BUMP(n_memalign);
    sample();
    return __libc_memalign(al, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    BUMP(n_memalign);
    sample();
    void *p = __libc_memalign(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

typedef int (*mutex_fn)(pthread_mutex_t *);
typedef int (*rwlock_fn)(pthread_rwlock_t *);
static mutex_fn real_lock, real_trylock;
static rwlock_fn real_rdlock, real_wrlock;

int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (!real_lock)
        real_lock = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_lock");
    BUMP(n_mutex);
    return real_lock(m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    if (!real_trylock)
        real_trylock = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_trylock");
    BUMP(n_mutex);
    return real_trylock(m);
}

int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (!real_rdlock)
        real_rdlock = (rwlock_fn)dlsym(RTLD_NEXT, "pthread_rwlock_rdlock");
    BUMP(n_rwlock);
    return real_rdlock(l);
}

int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (!real_wrlock)
        real_wrlock = (rwlock_fn)dlsym(RTLD_NEXT, "pthread_rwlock_wrlock");
    BUMP(n_rwlock);
    return real_wrlock(l);
}

static unsigned long long env_num(const char *name)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : 0;
}

__attribute__((constructor)) static void ac_init(void)
{
    bt_every = env_num("ALLOC_COUNT_BT");
    bt_skip = env_num("ALLOC_COUNT_BT_SKIP");
    if (!bt_every)
        return;
    const char *f = getenv("ALLOC_COUNT_BT_FILE");
    bt_fd = f && *f ? open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;
    if (bt_fd < 0)
        bt_fd = 2;
    in_bt = 1; /* backtrace() loads libgcc_s on first use, which allocates: do it now */
    void *fr[2];
    backtrace(fr, 2);
    in_bt = 0;
}

__attribute__((destructor)) static void ac_report(void)
{
    char line[256];
    unsigned long long m = atomic_load(&n_malloc), c = atomic_load(&n_calloc),
                       r = atomic_load(&n_realloc), a = atomic_load(&n_memalign);
    int l = snprintf(line, sizeof line,
                     "malloc=%llu calloc=%llu realloc=%llu memalign=%llu free=%llu allocs=%llu "
                     "mutex_lock=%llu rwlock=%llu\n",
                     m, c, r, a, (unsigned long long)atomic_load(&n_free), m + c + r + a,
                     (unsigned long long)atomic_load(&n_mutex),
                     (unsigned long long)atomic_load(&n_rwlock));
    const char *f = getenv("ALLOC_COUNT_OUT");
    int fd = f && *f ? open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : 2;
    if (fd < 0)
        fd = 2;
    if (write(fd, line, (size_t)l) < 0) { /* nothing to do at exit */
    }
    if (fd != 2)
        close(fd);
}
