/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rss.c: run a command, report its peak resident set size, wall and CPU time.
 *
 * Bench only. fork + execvp the command, wait4() for it and read ru_maxrss (KiB on Linux),
 * ru_utime and ru_stime of that one child from the rusage wait4 returns: the child's own
 * numbers, not this process's nor its other children's. The child's stdin/stdout/stderr are
 * inherited untouched; the report goes to REPORT_FILE (or stderr) as one line:
 *   rss_kb=N wall_s=S user_s=S sys_s=S status=N
 * Exit status: the child's (128+signal if it was killed), 127 if it could not be run.
 * Usage: vigie_rss [-o REPORT_FILE] [--] CMD [ARGS...]
 */
#define _DEFAULT_SOURCE /* wait4 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    const char *report = NULL;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "-o")) {
        report = argv[i + 1];
        i += 2;
    }
    if (i < argc && !strcmp(argv[i], "--"))
        i++;
    if (i >= argc) {
        fprintf(stderr, "usage: vigie_rss [-o REPORT_FILE] [--] CMD [ARGS...]\n");
        return 2;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "vigie_rss: error: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "vigie_rss: error: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    pid_t w;
    do
        w = wait4(pid, &status, 0, &ru);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        fprintf(stderr, "vigie_rss: error: wait4: %s\n", strerror(errno));
        return 127;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127;
    FILE *f = report ? fopen(report, "w") : stderr;
    if (!f) {
        fprintf(stderr, "vigie_rss: error: cannot write %s: %s\n", report, strerror(errno));
        return 127;
    }
    fprintf(f, "rss_kb=%ld wall_s=%.6f user_s=%.6f sys_s=%.6f status=%d\n", ru.ru_maxrss,
            (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
            tv_s(ru.ru_utime), tv_s(ru.ru_stime), code);
    if (f != stderr && fclose(f) != 0) {
        fprintf(stderr, "vigie_rss: error: cannot write %s\n", report);
        return 127;
    }
    return code;
}
