/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stix.h: export of a vigie store as a STIX 2.1 bundle, to share what a campaign looked like
 * (its organizations, indicators, sightings and ATT&CK techniques) with other defenders.
 *
 * Stage: report (reads the store). The mapping from store rows to STIX objects is in
 * docs/STIX.md. The export is deterministic: object ids are name-based UUIDs (version 5) of
 * what the object stands for (a tenant, a campaign id, an indicator's type and value, ...),
 * created/modified come from the data's own timestamps, never from the clock, and objects are
 * written in a fixed order; so exporting the same store twice gives the same bytes, and a
 * later export of a grown store gives the same ids with later `modified` times.
 *
 * Cost: memory grows with the number of tenants, indicators, techniques and campaigns, not
 * with the number of alerts (alerts are streamed from SQLite); time is one pass over the
 * campaign alerts times the campaign indicators (substring search), plus one over the
 * indicator alerts.
 *
 * Thread safety: uses the store handle; same rules as store.h.
 */
#ifndef VG_STIX_H
#define VG_STIX_H

#include <stdio.h>

#include "store/store.h"

/* What an export wrote. */
typedef struct vg_stix_stats {
    uint32_t identities;      /* including vigie's own */
    uint32_t campaigns;
    uint32_t indicators;
    uint32_t sightings;
    uint32_t attack_patterns;
    uint32_t relationships;
    uint32_t skipped;         /* campaign indicators of a type with no STIX pattern mapping,
                                 empty values, malformed stored lines */
} vg_stix_stats;

/* Write the store's content as one STIX 2.1 bundle (JSON, one object per line) to `out`.
 * stats may be NULL; err (if non-NULL) holds a message on failure.
 * Returns VIGIE_OK, VIGIE_NOMEM, or VIGIE_IO (SQLite or the output failed). */
int vg__stix_export(vg_store *st, FILE *out, vg_stix_stats *stats, char *err, size_t errlen);

/* The STIX id "<type>--<uuid>" of `name` under vigie's namespace (UUID version 5, SHA-1):
 * out needs at least strlen(type) + 39 bytes. Exposed for tests. */
void vg__stix_id(const char *type, const char *name, size_t name_len, char *out, size_t cap);

/* Append `s` as a STIX pattern string literal ('...' with \' and \\ escaped) to b. */
int vg__stix_pattern_str(vg_buf *b, const char *s, size_t n);

#endif
