/* SPDX-License-Identifier: Apache-2.0 */
/*
 * html.h: the report stage: one self-contained HTML page, read by a person, from a vigie
 * store (SQLite, schema v1: runs, alerts, evidence, campaigns). The page holds its own CSS
 * and SVG (drawn here, in C); it loads nothing and runs no script, so it can be mailed,
 * archived with a case, or opened offline. Every string taken from the store (tenant and
 * user names, rule titles, raw events) is HTML-escaped: the logs are written by whoever
 * the defender is watching.
 *
 * Stage: report (reads the store's file format directly with SQLite's C API; uses json and
 * util). Cost: one pass over the alerts table per section, in SQL; memory holds the list of
 * organizations, the visibility gaps and the top N alerts, never all alerts.
 * Thread safety: none needed; a db handle belongs to the caller's thread.
 */
#ifndef VG_REPORT_HTML_H
#define VG_REPORT_HTML_H

#include <sqlite3.h>
#include <stdio.h>

#include "util/util.h"

/* The newest store schema version this code reads (PRAGMA user_version); it reads 1 and 2
 * alike (2 only adds columns to runs and an index on evidence). */
#define VG_REPORT_STORE_VERSION 2

typedef struct vg_report_opts {
    const char *title;     /* page title; NULL: "vigie report" (copied into the page) */
    unsigned top;          /* alerts in the "top alerts" list; 0: 25 */
    vigie_diag_fn diag;    /* errors (file = the store path when known); may be NULL */
    void *diag_ud;
} vg_report_opts;

/* Open the store at `path` read-only and check it is a vigie store this code can read.
 * On success *out is an open handle the caller closes with sqlite3_close().
 * Returns VIGIE_OK; VIGIE_NOENT when the file cannot be opened; VIGIE_INVAL when it is not
 * a vigie store (not SQLite, or SQLite without the store's tables); VIGIE_UNSUPPORTED when
 * it was written by a newer vigie (schema version above VG_REPORT_STORE_VERSION). Each
 * failure is also reported through diag with a message saying which. */
int vg__report_open(const char *path, sqlite3 **out, vigie_diag_fn diag, void *diag_ud);

/* Write the report of the store `db` to `out` as one HTML document (UTF-8). The page is
 * built in memory and written with one fwrite; `out` is not closed. Returns VIGIE_OK,
 * VIGIE_IO when a query fails (reported through diag) or the write fails, VIGIE_NOMEM. */
int vg__report_html(sqlite3 *db, FILE *out, const vg_report_opts *o);

/* Append s[0..n) to b as HTML text, safe inside elements and quoted attributes:
 * & < > " ' become entities; C0 controls other than tab, LF, CR, and invalid UTF-8
 * bytes become U+FFFD. */
int vg__report_escape(vg_buf *b, const char *s, size_t n);

#endif
