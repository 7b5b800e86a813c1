/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test.h: the tiny test harness every unit test uses (in the spirit of libuv's test list).
 * A test file defines `static void test_x(void)` functions and lists them in main() with
 * RUN(test_x). CHECK() records a failure with file:line and goes on; the program's exit
 * status is the number of failures (capped), and it prints the plain closing line
 * "N passed, N failed" that CI reads.
 */
#ifndef VIGIE_TEST_H
#define VIGIE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_checks_failed_;
static int t_tests_passed_, t_tests_failed_;
static const char *t_current_;

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, t_current_,     \
                    #cond);                                                                       \
            t_checks_failed_++;                                                                   \
        }                                                                                         \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                      \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: %s: check failed: %s: ", __FILE__, __LINE__, t_current_,     \
                    #cond);                                                                       \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            t_checks_failed_++;                                                                   \
        }                                                                                         \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                        \
    do {                                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                                       \
        if (a_ != b_) {                                                                           \
            fprintf(stderr, "%s:%d: %s: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__,    \
                    t_current_, #a, #b, a_, b_);                                                  \
            t_checks_failed_++;                                                                   \
        }                                                                                         \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                        \
    do {                                                                                          \
        const char *a_ = (a), *b_ = (b);                                                          \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                  \
            fprintf(stderr, "%s:%d: %s: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,          \
                    __LINE__, t_current_, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");        \
            t_checks_failed_++;                                                                   \
        }                                                                                         \
    } while (0)

#define RUN(fn)                                                                                   \
    do {                                                                                          \
        int before_ = t_checks_failed_;                                                           \
        t_current_ = #fn;                                                                         \
        fn();                                                                                     \
        if (t_checks_failed_ == before_)                                                          \
            t_tests_passed_++;                                                                    \
        else {                                                                                    \
            t_tests_failed_++;                                                                    \
            fprintf(stderr, "FAIL %s\n", #fn);                                                    \
        }                                                                                         \
    } while (0)

/* The shared data beside the project (VIGIE_SHARED_DIR, ../shared by default) is required,
 * never optional: shared_path() writes VIGIE_SHARED_DIR "/" and the formatted rest into buf
 * and returns buf; when that path does not exist, the test program stops at once with one
 * clear line and a failing status (no skip, no cascade of checks on missing data). */
#ifdef VIGIE_SHARED_DIR
#include <stdarg.h>
#include <sys/stat.h>

__attribute__((format(printf, 3, 4))) static inline char *shared_path(char *buf, size_t n,
                                                                      const char *fmt, ...)
{
    int k = snprintf(buf, n, "%s/", VIGIE_SHARED_DIR);
    va_list ap;
    va_start(ap, fmt);
    int m = k >= 0 && (size_t)k < n ? vsnprintf(buf + k, n - (size_t)k, fmt, ap) : -1;
    va_end(ap);
    struct stat st;
    if (m < 0 || (size_t)m >= n - (size_t)k || stat(buf, &st) != 0) {
        fprintf(stderr, "FAIL: %s not found (tests need the shared data beside the project)\n",
                buf);
        printf("%d passed, %d failed\n", t_tests_passed_, t_tests_failed_ + 1);
        exit(1);
    }
    return buf;
}
#endif

#define TEST_DONE()                                                                               \
    (printf("%d passed, %d failed\n", t_tests_passed_, t_tests_failed_),                          \
     t_tests_failed_ > 100 ? 100 : t_tests_failed_)

#endif
