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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int push(vg_inputs *in, const char *p)
{
    if (VG_GROW(in->paths, in->cap, (size_t)in->n + 1, 16))
        return VIGIE_NOMEM;
    in->paths[in->n] = strdup(p);
    if (!in->paths[in->n])
        return VIGIE_NOMEM;
    in->n++;
    return VIGIE_OK;
}

static int push_cb(void *ud, const char *path)
{
    return push(ud, path);
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
            rc = vg__walk_files(a, push_cb, in, diag, diag_ud);
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
