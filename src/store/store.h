/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h: the alert store: one SQLite file that keeps every alert, its evidence (the raw
 * records behind it, by file, line, offset and SHA-256) and the campaigns built over many
 * organizations, across any number of runs.
 *
 * Stage: store (depends on util, json, and ingest for the ledger's re-read of records; links
 * the system libsqlite3). `vigie scan --db FILE` writes it; the report stage (HTML report,
 * STIX export) reads it. The schema is documented in docs/STORE.md and is a contract with
 * the report stage: it changes only through a new migration (PRAGMA user_version), never in
 * place.
 *
 * Input: the JSON lines `vigie scan` writes, one alert or one campaign per line. Alerts are
 * keyed by their stable "id": adding the same alert again (a second run over the same logs,
 * or the same record in another file) stores no second alert row, is counted as a duplicate,
 * and adds only the evidence positions the alert did not have yet. Campaigns are keyed by "id" and
 * replaced whole. A line that is not JSON, not an object, or lacks what a row needs ("kind" for an
 * alert, "id" for a campaign) is refused with a status and a message (vg__store_errmsg) naming the
 * byte offset; the store is unchanged and the caller reports it with its own position and goes on.
 * Fields that are missing, null or of another type become NULL columns.
 *
 * Cost: writes are batched: a commit every VG_STORE_BATCH rows or VG_STORE_COMMIT_MS,
 * whichever comes first (checked on each add and by vg__store_tick), so a crash loses at most
 * that much; an alert and its evidence rows are always in one transaction. Readers
 * (vg__store_each_*) first commit what is pending.
 *
 * Failures: the first failed write (disk full, I/O error, a lock held past the busy timeout)
 * rolls the open transaction back whole and is sticky: every later write returns the same
 * status at once and vg__store_failure names the cause. The store then holds exactly the
 * committed alerts (vg_store_stats.alerts_stored), each with all its evidence.
 *
 * Runs: each run row has a state, 'running' until vg__store_run_end, and the pid and host of
 * its writer; vg__store_run_begin marks 'interrupted' the runs left 'running' by a process of
 * this host that is gone (docs/STORE.md).
 *
 * Ownership: a vg_store is owned by the caller of vg__store_open and freed by
 * vg__store_close; strings passed in are copied (bound to SQLite) before the call returns;
 * pointers passed to callbacks are valid only during the callback.
 *
 * Thread safety: one vg_store is used by one thread at a time (the caller serialises). Several
 * handles, in threads or processes, may open the same file: WAL mode lets readers run beside
 * one writer, and a writer waits up to its busy timeout (VG_STORE_BUSY_MS, or the one given
 * to vg__store_open_wait) for another before failing with "database is locked".
 */
#ifndef VG_STORE_H
#define VG_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "util/util.h"
#include "vigie/alert.h"

typedef struct sqlite3 sqlite3;
typedef struct vg_store vg_store;

/* Schema version this build writes (PRAGMA user_version after migration). */
#define VG_STORE_SCHEMA_VERSION 2
/* Rows (alert or campaign lines) written per transaction before an automatic commit. */
#define VG_STORE_BATCH 1000u
/* Age of the open transaction after which the next add (or vg__store_tick) commits it. */
#define VG_STORE_COMMIT_MS 2000
/* How long a write waits for another connection's lock (SQLite busy timeout). */
#define VG_STORE_BUSY_MS 10000

/* Counters since open. */
typedef struct vg_store_stats {
    uint64_t alerts_added;     /* new alert rows written (a rolled-back transaction's taken off) */
    uint64_t alerts_stored;    /* of those, committed */
    uint64_t alerts_dup;       /* alert lines whose id was already stored (evidence only) */
    uint64_t evidence_added;   /* new evidence rows written (as alerts_added) */
    uint64_t runs_interrupted; /* runs marked 'interrupted' by vg__store_run_begin */
    uint64_t campaigns;        /* campaign lines stored (new or replaced) */
    uint64_t bad;              /* lines refused (malformed JSON, no kind, no id, ...) */
} vg_store_stats;

/* Open (creating if absent) the store at `path` (":memory:" for a private in-memory store),
 * switch it to WAL mode, set the busy timeout and foreign keys, and migrate its schema to
 * VG_STORE_SCHEMA_VERSION. Refuses a file that is not SQLite, an SQLite file that is not a
 * vigie store (user_version 0 with tables in it), and a store newer than this build.
 * On failure *out is NULL and err (if non-NULL) holds a message; returns VIGIE_IO, VIGIE_NOMEM,
 * VIGIE_INVAL (not a vigie store) or VIGIE_UNSUPPORTED (newer schema). */
int vg__store_open(const char *path, vg_store **out, char *err, size_t errlen);
/* vg__store_open with a busy timeout of busy_ms milliseconds (--db-timeout) instead of
 * VG_STORE_BUSY_MS: how long a write waits for another writer's lock. */
int vg__store_open_wait(const char *path, int busy_ms, vg_store **out, char *err, size_t errlen);

/* Commit pending writes and free the handle. NULL is a no-op. */
void vg__store_close(vg_store *st);

/* Commit pending writes now. */
int vg__store_flush(vg_store *st);

/* Commit the open transaction if it is VG_STORE_COMMIT_MS old (cheap otherwise: one clock
 * read). The scan writer calls it once per batch, so alerts do not wait for the next add. */
int vg__store_tick(vg_store *st);

/* NULL while the store is healthy; after a failed write, its cause ("disk full", or SQLite's
 * message: "storing an alert: disk I/O error", "database is locked"). */
const char *vg__store_failure(const vg_store *st);

/* Message of the last failure on this handle ("" if none); valid until the next call. */
const char *vg__store_errmsg(const vg_store *st);

void vg__store_stats_get(const vg_store *st, vg_store_stats *out);

/* PRAGMA user_version of the open store (VG_STORE_SCHEMA_VERSION after a successful open). */
int vg__store_user_version(vg_store *st, int *out);

/* How a run ended (runs.state). */
typedef enum vg_run_state {
    VG_RUN_FINISHED,    /* every output written */
    VG_RUN_FAILED,      /* an output (-o, the store, the ledger, ...) could not be written */
    VG_RUN_INTERRUPTED, /* stopped early (a signal) */
} vg_run_state;

/* Record the start of a run (wall-clock time, vigie version, the command line `args`, may be
 * NULL, state 'running', this process's pid and host) and return its id, to pass to
 * vg__store_add_alert. First marks 'interrupted' every run left 'running' by a process of
 * this host that no longer exists (stats.runs_interrupted counts them). */
int vg__store_run_begin(vg_store *st, const char *args, int64_t *run_id);
/* Record the end of run `run_id`: its state, end time and counts, and commit. After a failed
 * write the state is 'failed' whatever `state` says; one attempt is made to record it (none
 * after a lock timeout) and the sticky status is returned. */
int vg__store_run_end(vg_store *st, int64_t run_id, vg_run_state state, uint64_t events,
                      uint64_t alerts, uint64_t bad);

/* Add one alert: its columns (id, kind, rule, tenant, user, times, score, what was read) and
 * evidence (its source; a combined alert's evidence) from the typed alert, and its JSON text
 * `json` (the line as rendered, not parsed) stored verbatim in alerts.json. run_id <= 0
 * stores NULL. An alert without an id gets "<kind>-<first 32 hex of SHA-256 of the text>".
 * Returns VIGIE_OK (also for a duplicate, see vg_store_stats), VIGIE_INVAL (refused: an
 * unknown run), VIGIE_TOOBIG (the store is unchanged and stays usable), or VIGIE_IO /
 * VIGIE_NOMEM (SQLite failed: sticky, see vg__store_failure). */
int vg__store_add_alert(vg_store *st, int64_t run_id, const vigie_alert *a, const char *json,
                        size_t len);

/* Add or replace one campaign line; its organization and alert rows are replaced too.
 * Returns as vg__store_add_alert (VIGIE_INVAL: no string "id"). */
int vg__store_add_campaign(vg_store *st, const char *line, size_t len);

/* Import one JSON line of either kind, parsing it: an object with "kind" is an alert (its
 * columns read from the line: sigma, new_term, indicator, token, combined, correlation, gap
 * or any other kind; an alert without "id" gets one as vg__store_add_alert says), one with
 * "organizations" (or an "id" starting "campaign-") a campaign; anything else VIGIE_INVAL.
 * Returns as vg__store_add_alert, and VIGIE_JSON for a line that is not JSON. For lines read
 * from a file (fixtures, tests); the scan hands its alerts typed to vg__store_add_alert. */
int vg__store_add_line(vg_store *st, int64_t run_id, const char *line, size_t len);

/* Add every line of the JSON-lines file `path` ("-" = stdin) with vg__store_add_line.
 * A refused line is reported through diag (file, line, column) and skipped; blank lines are
 * ignored. Returns VIGIE_OK unless the file cannot be read or SQLite fails. */
int vg__store_load_jsonl(vg_store *st, int64_t run_id, const char *path, vigie_diag_fn diag,
                         void *diag_ud);

/* Callback of the readers: one stored JSON line (not NUL-terminated at len, but followed by a
 * NUL). Return 0 to go on; any other value stops the walk and is returned by it. */
typedef int (*vg_store_row_fn)(void *ud, const char *json, size_t len);

/* Every alert, in insertion order; kind == NULL for all kinds, else only that kind. */
int vg__store_each_alert(vg_store *st, const char *kind, vg_store_row_fn cb, void *ud);
/* Every campaign, by id. */
int vg__store_each_campaign(vg_store *st, vg_store_row_fn cb, void *ud);

/* The SQLite connection, for read-only queries by the report stage (pending writes are
 * committed first). Borrowed: valid until vg__store_close; do not close it, do not write. */
sqlite3 *vg__store_db(vg_store *st);

#endif
