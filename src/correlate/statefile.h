/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statefile.h: the file that `vigie scan --state FILE` saves and loads: the state's sections
 * (first-seen terms, sessions, correlations, visibility, campaigns, the watermark), each a
 * byte stream in the encoding of util/ser.h, in one container with a version and a checksum.
 *
 * Layout (all integers little-endian):
 *   "VIGIESTATE\n\0"            12 bytes of magic
 *   u32 version                 VG_STATEFILE_VERSION; another version is refused with its number
 *   u32 n_sections              at most VG_MAX_STATE_SECTIONS
 *   n_sections x { u32 tag; u64 len; len bytes }   tags are four ASCII letters, unique
 *   32 bytes                    SHA-256 of every byte before it
 * Invariants: a file is written whole through a random temporary beside it, fsync'd and
 * renamed (util/safefile.c), so a reader sees the old state or the new one, never a torn
 * one; a file is read whole (at most VG_MAX_STATE_BYTES), its checksum checked before any
 * section is looked at, and every length checked against what remains, so a truncated,
 * corrupted or hostile file is refused with a message and nothing of it is used.
 */
#ifndef VG_STATEFILE_H
#define VG_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"
#include "util/util.h"

#define VG_STATEFILE_VERSION 1u
#define VG_STATE_TAG(a, b, c, d)                                                                   \
    ((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | (uint32_t)(uint8_t)(c) << 16 |         \
     (uint32_t)(uint8_t)(d) << 24)

typedef struct vg_state_section {
    uint32_t tag;
    const uint8_t *data; /* into the loaded file (vg_statefile_in) or the caller's buffer */
    size_t len;
} vg_state_section;

/* Write the sections to path atomically. Returns VIGIE_OK or VIGIE_IO / VIGIE_INVAL with a
 * message through diag. */
int vg__statefile_save(const char *path, const vg_state_section *s, uint32_t n,
                       vigie_diag_fn diag, void *diag_ud);

/* A loaded file: its bytes and its sections (pointing into them). */
typedef struct vg_statefile_in {
    uint8_t *bytes;
    size_t len;
    vg_state_section sec[VG_MAX_STATE_SECTIONS];
    uint32_t n;
} vg_statefile_in;

/* Load and check path. VIGIE_NOENT when it does not exist (a first run: not an error for
 * --state); VIGIE_VERIFY for a bad magic, version, checksum or layout; VIGIE_TOOBIG past
 * VG_MAX_STATE_BYTES; VIGIE_IO. Diagnostics name the file and the reason. */
int vg__statefile_load(const char *path, vg_statefile_in *in, vigie_diag_fn diag, void *diag_ud);
/* The section with this tag, or NULL. */
const vg_state_section *vg__statefile_get(const vg_statefile_in *in, uint32_t tag);
void vg__statefile_free(vg_statefile_in *in);

#endif
