/* SPDX-License-Identifier: Apache-2.0 */
/*
 * render.h: the alert stage, what other stages may use: one renderer per output format for
 * every kind of vigie_alert (include/vigie/alert.h), the stable alert ids, and the cell
 * helpers the renderers share. Stage: alert (depends on util).
 *
 * Invariants: the text of an alert is written here and nowhere else; JSONL output is one
 * JSON object on one line for any string in any field (strings are escaped, the event's raw
 * newlines become spaces), given that `event` is the text of a JSON object and
 * correlation.group NULL or the text of one, as their producers guarantee; CSV cells follow
 * RFC 4180 with the formula guard; table cells are escaped for a terminal. Rendering appends
 * to a caller's vg_buf and allocates nothing else.
 */
#ifndef VG_ALERT_RENDER_H
#define VG_ALERT_RENDER_H

#include "vigie/alert.h"
#include "util/util.h"

/* Append the alert in `format` (vigie_format) to out. Errors are out's (sticky). */
void vg__alert_render(vg_buf *out, const vigie_alert *a, int format);

/* The header line of a format (CSV's column names, the table's titles; nothing for JSONL). */
void vg__alert_header(vg_buf *out, int format);

/* Compute a->id (vigie_alert_id), with `scratch` (reset first) for the text some kinds'
 * ids hash. Returns VIGIE_OK or scratch's error. */
int vg__alert_set_id(vigie_alert *a, vg_buf *scratch);

/* Stable id: 32 hex of the SHA-256 of the parts, each followed by a NUL (NULL = ""). */
void vg__alert_id_parts(const char *const *parts, int n, char out[33]);

const char *vg__alert_kind_name(vigie_alert_kind k);

/* A deep copy of src into dst whose strings and lists live in the arena `ar` (so dst stays
 * valid until the arena is reset), except what `borrow` names: still src's (VG_ALERT_BORROW_*
 * flags, for what the caller knows outlives the copy). VIGIE_OK or VIGIE_NOMEM (then dst may
 * hold NULLs where a copy failed: do not use it). */
enum { VG_ALERT_BORROW_RULE = 1, VG_ALERT_BORROW_EVENT = 2, VG_ALERT_BORROW_FILE = 4 };
int vg__alert_copy(vg_arena *ar, vigie_alert *dst, const vigie_alert *src, unsigned borrow);

/* JSON string (quoted, escaped) or null when s is NULL. */
void vg__alert_json_str_or_null(vg_buf *o, const char *s, size_t n);
/* RFC 4180 quoting, and OWASP's guard against CSV injection (a leading ' on = + - @ TAB CR). */
void vg__alert_csv_cell(vg_buf *o, const char *s, size_t n);
/* One --format table line, every cell escaped (vg__escape_to) and cut to its column. */
void vg__alert_table_line(vg_buf *o, const char *time, const char *level, const char *title,
                          const char *tenant, size_t tenant_len, const char *file, uint64_t line);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void vg__alert_hex(const uint8_t *p, size_t n, char *out);
/* The opening of an alert line: {"id":...,"rule":{"id","title","level","tags"} */
void vg__alert_head(vg_buf *o, const char *id, const char *rid, const char *title,
                    const char *level, const char *const *tags, uint32_t n_tags);

/* A sink: where alerts go (the text output, the store, the ledger, ...). on_alert gets each
 * alert in order with its text (JSONL when the sink needs it: `vigie scan` refuses a typed
 * sink with another format), rendered once for all sinks; a sink takes what it needs from
 * the typed alert and never parses the text. Returns VIGIE_OK or a status (the caller
 * decides what a failed sink means). Both pointers are valid only during the call. */
typedef struct vg_sink {
    void *ud;
    int (*on_alert)(void *ud, const vigie_alert *a, const char *text, size_t n);
    int (*flush)(void *ud); /* may be NULL */
} vg_sink;

#endif
