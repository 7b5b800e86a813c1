/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inputs.c: command-line inputs -> the ordered list of files to read.
 * Stage: ingest. Directories are walked recursively (at most 64 levels), entries sorted by
 * name (byte order), hidden entries (leading '.') skipped, symbolic links to directories
 * not followed inside a walk; "-" stays as stdin. A missing path is reported and skipped.
 * Cost: one readdir + sort per directory; paths are copied once into the list.
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int push(vg_inputs *in, const char *p)
{
    if (in->n == in->cap) {
        uint32_t nc = in->cap ? in->cap * 2 : 16;
        char **np = realloc(in->paths, nc * sizeof *np);
        if (!np)
            return VIGIE_NOMEM;
        in->paths = np;
        in->cap = nc;
    }
    in->paths[in->n] = strdup(p);
    if (!in->paths[in->n])
        return VIGIE_NOMEM;
    in->n++;
    return VIGIE_OK;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(vg_inputs *in, const char *dir, int depth, vigie_diag_fn diag, void *ud)
{
    if (depth > 64)
        return VIGIE_OK;
    DIR *d = opendir(dir);
    if (!d) {
        vg__diag(diag, ud, VIGIE_DIAG_ERROR, VIGIE_IO, dir, 0, 0, NULL, "cannot read directory: %s",
                 strerror(errno));
        return VIGIE_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = VIGIE_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = VIGIE_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = VIGIE_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, cmp);
    for (size_t i = 0; i < n; i++) {
        if (!rc && names[i]) {
            size_t l = strlen(dir) + strlen(names[i]) + 2;
            char *full = malloc(l);
            if (!full) {
                rc = VIGIE_NOMEM;
            } else {
                snprintf(full, l, "%s/%s", dir, names[i]);
                /* symbolic links to files are followed, links to directories are not
                 * (a link cycle would otherwise multiply the walk) */
                struct stat st, lst;
                bool link = lstat(full, &lst) == 0 && S_ISLNK(lst.st_mode);
                if (stat(full, &st) == 0 && S_ISDIR(st.st_mode) && !link)
                    rc = walk(in, full, depth + 1, diag, ud);
                else if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
                    rc = push(in, full);
                free(full);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int vg__inputs_expand(vg_inputs *in, const char *const *args, uint32_t n_args,
                      vigie_diag_fn diag, void *diag_ud)
{
    int rc = VIGIE_OK;
    for (uint32_t i = 0; i < n_args && !rc; i++) {
        const char *a = args[i];
        struct stat st;
        if (!strcmp(a, "-")) {
            rc = push(in, a);
        } else if (stat(a, &st) != 0) {
            vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, VIGIE_NOENT, a, 0, 0, NULL, "%s",
                     strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(in, a, 0, diag, diag_ud);
        } else {
            rc = push(in, a);
        }
    }
    return rc;
}

void vg__inputs_free(vg_inputs *in)
{
    for (uint32_t i = 0; i < in->n; i++)
        free(in->paths[i]);
    free(in->paths);
    memset(in, 0, sizeof *in);
}
