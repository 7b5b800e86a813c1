/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c: the SQLite alert store (store.h): open and migrate, runs, alerts with their
 * evidence, campaigns, readers.
 *
 * Workload: one writer (the scan's writer thread) appends up to millions of alerts per run,
 * in bursts; readers (report, export) walk them afterwards. So: WAL journal, synchronous
 * NORMAL (a crash loses at most the last uncommitted transaction, never the file), statements
 * prepared once, a commit every VG_STORE_BATCH alerts or VG_STORE_COMMIT_MS, whichever comes
 * first (checked on every add and by vg__store_tick). The scan's alerts come typed (their
 * columns from the vigie_alert, their JSON line stored as given, never parsed); a line
 * imported from a file is parsed once into a tape that the handle reuses (no allocation per
 * alert once it has grown).
 *
 * Failures: the first SQLite failure of a write (disk full, I/O error, a lock held past the
 * busy timeout) is sticky (`failed`, like SQLite's own mallocFailed): the open transaction is
 * rolled back whole, whether or not SQLite already did it (sqlite3_get_autocommit tells), so
 * the store keeps exactly the committed alerts, each with all its evidence; every later write
 * returns the same status without touching the file. vg__store_failure names the cause.
 *
 * Migrations: `migrations[]` lists, per schema version, the SQL that takes a store from the
 * version before it; open applies those above PRAGMA user_version, each in its own
 * transaction with the new user_version, so a store is always at one exact version. Version 1
 * is created from an empty file by the same path; version 2 (the schema of docs/STORE.md)
 * adds the runs' state, pid and host and the evidence's unique position.
 *
 * Invariants: an alerts row exists for every evidence row (evidence is written in the
 * transaction of its alert line, after the alert row is there: new or already stored);
 * evidence positions (alert, file, line, offset, sha256) are unique; campaign_orgs/
 * campaign_alerts hold exactly the lists of the last stored line of their campaign; `in_tx`
 * is true exactly when a write transaction is open on `db`; after `failed` no write reaches
 * `db`.
 */
#define _POSIX_C_SOURCE 200809L
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/render.h"
#include "json/json.h"

struct vg_store {
    sqlite3 *db;
    bool in_tx;           /* a write transaction is open */
    uint32_t pending;     /* rows written in the open transaction */
    double tx_started;    /* monotonic seconds when the open transaction began */
    uint64_t tx_alerts;   /* new alert rows in the open transaction */
    uint64_t tx_evidence; /* new evidence rows in the open transaction */
    int failed;           /* sticky status of the first failed write; 0 while healthy */
    int failed_sqlite;    /* its SQLite result code */
    char cause[512];      /* its cause, for vg__store_failure */
    vg_jtape tape;        /* reused for every line */
    vg_buf tmp;           /* unescape scratch */
    vg_store_stats stats;
    sqlite3_stmt *ins_alert, *ins_evidence, *ins_campaign, *del_corgs, *del_calerts, *ins_corg,
        *ins_calert;
    char err[512];
};

/* ---- migrations ------------------------------------------------------------------------ */

static const struct {
    int version;
    const char *sql;
} migrations[] = {
    {1, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);\n"
        "CREATE TABLE runs(id INTEGER PRIMARY KEY, started TEXT, finished TEXT, vigie_version TEXT,"
        " args TEXT, events INTEGER, alerts INTEGER, bad INTEGER);\n"
        "CREATE TABLE alerts(id TEXT PRIMARY KEY, run_id INTEGER REFERENCES runs(id), kind TEXT NOT"
        " NULL, rule_id TEXT, rule_title TEXT, level TEXT, tenant TEXT, user TEXT, time TEXT,"
        " first_time TEXT, last_time TEXT, score REAL, messages INTEGER, operation_count INTEGER,"
        " json TEXT NOT NULL);\n"
        "CREATE INDEX alerts_tenant ON alerts(tenant, time);\n"
        "CREATE INDEX alerts_kind ON alerts(kind, level);\n"
        "CREATE TABLE evidence(alert_id TEXT NOT NULL REFERENCES alerts(id), seq INTEGER NOT NULL,"
        " file TEXT, line INTEGER, idx INTEGER, offset INTEGER, sha256 TEXT,"
        " PRIMARY KEY(alert_id, seq));\n"
        "CREATE TABLE campaigns(id TEXT PRIMARY KEY, first_seen TEXT, last_seen TEXT, n_orgs"
        " INTEGER, json TEXT NOT NULL);\n"
        "CREATE TABLE campaign_orgs(campaign_id TEXT NOT NULL, tenant TEXT NOT NULL,"
        " PRIMARY KEY(campaign_id, tenant));\n"
        "CREATE TABLE campaign_alerts(campaign_id TEXT NOT NULL, alert_id TEXT NOT NULL,"
        " PRIMARY KEY(campaign_id, alert_id));\n"
        "INSERT INTO meta(key, value) VALUES('schema_version', '1');\n"
        "INSERT INTO meta(key, value) VALUES('created_by', 'vigie " VIGIE_VERSION "');\n"},
    /* 2: the state of each run (and who ran it, to tell a crashed run from a live one);
     * evidence keyed by its position, so the same alert found in two files keeps both. */
    {2, "ALTER TABLE runs ADD COLUMN state TEXT CHECK(state IN ('running', 'finished',"
        " 'interrupted', 'failed'));\n"
        "ALTER TABLE runs ADD COLUMN pid INTEGER;\n"
        "ALTER TABLE runs ADD COLUMN host TEXT;\n"
        "UPDATE runs SET state = CASE WHEN finished IS NULL THEN 'interrupted' ELSE 'finished'"
        " END;\n"
        "DELETE FROM evidence WHERE rowid NOT IN (SELECT min(rowid) FROM evidence GROUP BY"
        " alert_id, ifnull(file, ''), ifnull(line, -1), ifnull(offset, -1), ifnull(sha256, ''));\n"
        "CREATE UNIQUE INDEX evidence_position ON evidence(alert_id, ifnull(file, ''),"
        " ifnull(line, -1), ifnull(offset, -1), ifnull(sha256, ''));\n"
        "UPDATE meta SET value = '2' WHERE key = 'schema_version';\n"},
};

/* ---- errors ---------------------------------------------------------------------------- */

static void seterr(vg_store *st, const char *fmt, ...) VG_PRINTF(2, 3);
static void seterr(vg_store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
}

static int sqlerr(vg_store *st, const char *what)
{
    int code = sqlite3_errcode(st->db);
    seterr(st, "%s: %s", what, sqlite3_errmsg(st->db));
    return code == SQLITE_NOMEM ? VIGIE_NOMEM : VIGIE_IO;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec(vg_store *st, const char *sql);

/* A write failed with rc (message in st->err): roll the open transaction back whole (SQLite
 * may have done it already on SQLITE_FULL, IOERR or NOMEM: sqlite3_get_autocommit says so),
 * forget what it held, and make the failure sticky. Returns rc. */
static int write_failed(vg_store *st, int rc)
{
    int code = sqlite3_errcode(st->db);
    if (!st->failed) {
        st->failed = rc;
        st->failed_sqlite = code;
        if (code == SQLITE_FULL)
            snprintf(st->cause, sizeof st->cause, "disk full");
        else
            snprintf(st->cause, sizeof st->cause, "%s", st->err[0] ? st->err : vigie_strerror(rc));
    }
    if (st->in_tx) {
        if (!sqlite3_get_autocommit(st->db)) {
            char keep[sizeof st->err];
            memcpy(keep, st->err, sizeof keep);
            exec(st, "ROLLBACK");
            memcpy(st->err, keep, sizeof keep);
        }
        st->stats.alerts_added -= st->tx_alerts;
        st->stats.evidence_added -= st->tx_evidence;
        st->in_tx = false;
        st->pending = 0;
        st->tx_alerts = st->tx_evidence = 0;
    }
    return rc;
}

const char *vg__store_errmsg(const vg_store *st)
{
    return st ? st->err : "no store";
}

const char *vg__store_failure(const vg_store *st)
{
    return st && st->failed ? st->cause : NULL;
}

void vg__store_stats_get(const vg_store *st, vg_store_stats *out)
{
    *out = st->stats;
}

static void now_iso(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    vg__format_time((double)ts.tv_sec + (double)ts.tv_nsec / 1e9, out, cap);
}

/* ---- transactions ---------------------------------------------------------------------- */

static int exec(vg_store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_errcode(st->db);
        seterr(st, "%s", msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return code == SQLITE_NOMEM ? VIGIE_NOMEM : VIGIE_IO;
    }
    return VIGIE_OK;
}

static int tx_begin(vg_store *st)
{
    if (st->failed)
        return st->failed;
    if (st->in_tx)
        return VIGIE_OK;
    int rc = exec(st, "BEGIN IMMEDIATE");
    if (rc != VIGIE_OK)
        return write_failed(st, rc);
    st->in_tx = true;
    st->pending = 0;
    st->tx_alerts = st->tx_evidence = 0;
    st->tx_started = mono_now();
    return VIGIE_OK;
}

static int tx_commit(vg_store *st)
{
    if (st->failed)
        return st->failed;
    if (!st->in_tx)
        return VIGIE_OK;
    int rc = exec(st, "COMMIT");
    if (rc != VIGIE_OK)
        return write_failed(st, rc);
    st->stats.alerts_stored += st->tx_alerts;
    st->in_tx = false;
    st->pending = 0;
    st->tx_alerts = st->tx_evidence = 0;
    return VIGIE_OK;
}

static bool tx_old(const vg_store *st)
{
    return st->in_tx && mono_now() - st->tx_started >= VG_STORE_COMMIT_MS / 1000.0;
}

/* One row written: commit when VG_STORE_BATCH rows are pending or the transaction is
 * VG_STORE_COMMIT_MS old. */
static int tx_row(vg_store *st)
{
    if (++st->pending >= VG_STORE_BATCH || tx_old(st))
        return tx_commit(st);
    return VIGIE_OK;
}

int vg__store_flush(vg_store *st)
{
    return tx_commit(st);
}

int vg__store_tick(vg_store *st)
{
    if (st->failed)
        return st->failed;
    return tx_old(st) ? tx_commit(st) : VIGIE_OK;
}

/* ---- open / migrate / close -------------------------------------------------------------- */

static int pragma_int(vg_store *st, const char *sql, int *out)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sqlerr(st, "reading the store");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sqlerr(st, "reading the store");
    return VIGIE_OK;
}

int vg__store_user_version(vg_store *st, int *out)
{
    *out = 0;
    return pragma_int(st, "PRAGMA user_version", out);
}

static int migrate(vg_store *st)
{
    int have = 0, rc;
    if ((rc = vg__store_user_version(st, &have)) != VIGIE_OK)
        return rc;
    int latest = migrations[VG_ARRAY_LEN(migrations) - 1].version;
    if (have > latest) {
        seterr(st, "store schema version %d is newer than this vigie knows (%d)", have, latest);
        return VIGIE_UNSUPPORTED;
    }
    if (have == 0) {
        int n_tables = 0;
        if ((rc = pragma_int(st, "SELECT count(*) FROM sqlite_master", &n_tables)) != VIGIE_OK)
            return rc;
        if (n_tables > 0) {
            seterr(st, "an SQLite database that is not a vigie store (user_version 0, %d objects)",
                   n_tables);
            return VIGIE_INVAL;
        }
    }
    for (size_t i = 0; i < VG_ARRAY_LEN(migrations); i++) {
        if (migrations[i].version <= have)
            continue;
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", migrations[i].version);
        if ((rc = exec(st, "BEGIN IMMEDIATE")) != VIGIE_OK)
            return rc;
        if ((rc = exec(st, migrations[i].sql)) != VIGIE_OK || (rc = exec(st, sql)) != VIGIE_OK) {
            char keep[sizeof st->err];
            memcpy(keep, st->err, sizeof keep);
            exec(st, "ROLLBACK");
            snprintf(st->err, sizeof st->err, "migration to schema %d: %.400s",
                     migrations[i].version, keep);
            return rc;
        }
        if ((rc = exec(st, "COMMIT")) != VIGIE_OK)
            return rc;
    }
    return VIGIE_OK;
}

static int prepare(vg_store *st, sqlite3_stmt **s, const char *sql)
{
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK)
        return sqlerr(st, "preparing a statement");
    return VIGIE_OK;
}

int vg__store_open(const char *path, vg_store **out, char *err, size_t errlen)
{
    return vg__store_open_wait(path, VG_STORE_BUSY_MS, out, err, errlen);
}

int vg__store_open_wait(const char *path, int busy_ms, vg_store **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    vg_store *st = calloc(1, sizeof *st);
    if (!st) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return VIGIE_NOMEM;
    }
    vg__jtape_init(&st->tape);
    vg__buf_init(&st->tmp, 0);
    int rc = VIGIE_IO;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        seterr(st, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
        rc = st->db && sqlite3_errcode(st->db) == SQLITE_NOMEM ? VIGIE_NOMEM : VIGIE_IO;
        goto out;
    }
    sqlite3_extended_result_codes(st->db, 0);
    sqlite3_busy_timeout(st->db, busy_ms < 0 ? 0 : busy_ms);
    /* journal_mode answers with the mode in force: "wal" on a file, "memory" for :memory:. */
    if ((rc = exec(st, "PRAGMA journal_mode=WAL")) != VIGIE_OK ||
        (rc = exec(st, "PRAGMA synchronous=NORMAL")) != VIGIE_OK ||
        (rc = exec(st, "PRAGMA foreign_keys=ON")) != VIGIE_OK)
        goto fail;
    if ((rc = migrate(st)) != VIGIE_OK)
        goto fail;
    if ((rc = prepare(st, &st->ins_alert,
                      "INSERT OR IGNORE INTO alerts(id, run_id, kind, rule_id, rule_title, level,"
                      " tenant, user, time, first_time, last_time, score, messages,"
                      " operation_count, json) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
                      "?14,?15)")) != VIGIE_OK ||
        (rc = prepare(st, &st->ins_evidence,
                      "INSERT OR IGNORE INTO evidence(alert_id, seq, file, line, idx, offset,"
                      " sha256) SELECT ?1, ifnull((SELECT max(seq) + 1 FROM evidence WHERE"
                      " alert_id = ?1), 0), ?2, ?3, ?4, ?5, ?6")) != VIGIE_OK ||
        (rc = prepare(st, &st->ins_campaign,
                      "INSERT OR REPLACE INTO campaigns(id, first_seen, last_seen, n_orgs, json)"
                      " VALUES(?1,?2,?3,?4,?5)")) != VIGIE_OK ||
        (rc = prepare(st, &st->del_corgs, "DELETE FROM campaign_orgs WHERE campaign_id = ?1")) !=
            VIGIE_OK ||
        (rc = prepare(st, &st->del_calerts,
                      "DELETE FROM campaign_alerts WHERE campaign_id = ?1")) != VIGIE_OK ||
        (rc = prepare(st, &st->ins_corg,
                      "INSERT OR IGNORE INTO campaign_orgs(campaign_id, tenant) VALUES(?1,?2)")) !=
            VIGIE_OK ||
        (rc = prepare(st, &st->ins_calert,
                      "INSERT OR IGNORE INTO campaign_alerts(campaign_id, alert_id)"
                      " VALUES(?1,?2)")) != VIGIE_OK)
        goto fail;
    st->err[0] = 0;
    *out = st;
    return VIGIE_OK;
fail:
    /* A file that is not SQLite fails at the first statement with SQLITE_NOTADB. */
    if (rc == VIGIE_IO && sqlite3_errcode(st->db) == SQLITE_NOTADB)
        rc = VIGIE_INVAL;
out:
    if (err && errlen)
        snprintf(err, errlen, "%s", st->err[0] ? st->err : vigie_strerror(rc));
    vg__store_close(st);
    return rc;
}

void vg__store_close(vg_store *st)
{
    if (!st)
        return;
    if (st->db) {
        tx_commit(st);
        sqlite3_stmt *all[] = {st->ins_alert,   st->ins_evidence, st->ins_campaign, st->del_corgs,
                               st->del_calerts, st->ins_corg,     st->ins_calert};
        for (size_t i = 0; i < VG_ARRAY_LEN(all); i++)
            sqlite3_finalize(all[i]);
        sqlite3_close_v2(st->db);
    }
    vg__jtape_free(&st->tape);
    vg__buf_free(&st->tmp);
    free(st);
}

sqlite3 *vg__store_db(vg_store *st)
{
    tx_commit(st);
    return st->db;
}

/* ---- runs ------------------------------------------------------------------------------ */

static void host_name(char *out, size_t cap)
{
    if (gethostname(out, cap) != 0)
        out[0] = 0;
    out[cap - 1] = 0;
}

/* A run recorded as 'running' by process `pid` on `host`: is that process still there? Only a
 * process of this host can be asked (kill(pid, 0)); a run of another host is presumed alive.
 * A reused pid makes a dead run look alive (it stays 'running'), never the reverse. */
static bool run_alive(int64_t pid, const char *host, const char *me)
{
    if (!host || strcmp(host, me) != 0)
        return host != NULL;
    if (pid <= 0 || pid > INT32_MAX)
        return false;
    if ((pid_t)pid == getpid())
        return true;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Mark 'interrupted' every run left 'running' by a process that is gone. In the open
 * transaction. */
static int mark_interrupted(vg_store *st, const char *me)
{
    sqlite3_stmt *s = NULL, *u = NULL;
    int rc = VIGIE_OK, r;
    if (sqlite3_prepare_v2(st->db, "SELECT id, pid, host FROM runs WHERE state = 'running'", -1, &s,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "UPDATE runs SET state = 'interrupted' WHERE id = ?1", -1, &u,
                           NULL) != SQLITE_OK) {
        rc = sqlerr(st, "marking interrupted runs");
        goto out;
    }
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *host = (const char *)sqlite3_column_text(s, 2);
        if (run_alive(sqlite3_column_int64(s, 1), host, me))
            continue;
        sqlite3_bind_int64(u, 1, sqlite3_column_int64(s, 0));
        if (sqlite3_step(u) != SQLITE_DONE) {
            rc = sqlerr(st, "marking interrupted runs");
            goto out;
        }
        sqlite3_reset(u);
        st->stats.runs_interrupted++;
    }
    if (r != SQLITE_DONE)
        rc = sqlerr(st, "marking interrupted runs");
out:
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    return rc;
}

int vg__store_run_begin(vg_store *st, const char *args, int64_t *run_id)
{
    *run_id = 0;
    char now[40], host[256];
    now_iso(now, sizeof now);
    host_name(host, sizeof host);
    sqlite3_stmt *s = NULL;
    int rc = tx_begin(st);
    if (rc != VIGIE_OK)
        return rc;
    if ((rc = mark_interrupted(st, host)) != VIGIE_OK)
        return write_failed(st, rc);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO runs(started, vigie_version, args, state, pid, host)"
                           " VALUES(?1, ?2, ?3, 'running', ?4, ?5)",
                           -1, &s, NULL) != SQLITE_OK)
        return write_failed(st, sqlerr(st, "starting a run"));
    sqlite3_bind_text(s, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, VIGIE_VERSION, -1, SQLITE_STATIC);
    if (args)
        sqlite3_bind_text(s, 3, args, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)getpid());
    sqlite3_bind_text(s, 5, host, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = sqlerr(st, "starting a run");
    else
        *run_id = sqlite3_last_insert_rowid(st->db);
    sqlite3_finalize(s);
    return rc == VIGIE_OK ? tx_commit(st) : write_failed(st, rc);
}

static const char *const run_state_names[] = {"finished", "failed", "interrupted"};

int vg__store_run_end(vg_store *st, int64_t run_id, vg_run_state state, uint64_t events,
                      uint64_t alerts, uint64_t bad)
{
    /* After a failed write the run is 'failed': one more try to say so (a small update often
     * fits where a batch did not), unless the failure was a lock we already waited for. The
     * store stays failed either way. */
    int failed = st->failed, failed_sqlite = st->failed_sqlite;
    char cause[sizeof st->cause], err[sizeof st->err];
    if (failed) {
        if (failed_sqlite == SQLITE_BUSY || failed_sqlite == SQLITE_LOCKED)
            return failed;
        state = VG_RUN_FAILED;
        memcpy(cause, st->cause, sizeof cause);
        memcpy(err, st->err, sizeof err);
        st->failed = 0;
    }
    if ((unsigned)state >= VG_ARRAY_LEN(run_state_names))
        state = VG_RUN_FAILED;
    char now[40];
    now_iso(now, sizeof now);
    sqlite3_stmt *s = NULL;
    int rc = tx_begin(st);
    if (rc != VIGIE_OK)
        goto out;
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE runs SET finished = ?1, events = ?2, alerts = ?3, bad = ?4,"
                           " state = ?6 WHERE id = ?5",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = write_failed(st, sqlerr(st, "ending a run"));
        goto out;
    }
    sqlite3_bind_text(s, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)events);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)alerts);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)bad);
    sqlite3_bind_int64(s, 5, run_id);
    sqlite3_bind_text(s, 6, run_state_names[state], -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = write_failed(st, sqlerr(st, "ending a run"));
    sqlite3_finalize(s);
    if (rc == VIGIE_OK && sqlite3_changes(st->db) == 0) {
        seterr(st, "no run %lld in the store", (long long)run_id);
        rc = VIGIE_NOTFOUND;
    }
    int rc2 = tx_commit(st);
    rc = rc != VIGIE_OK ? rc : rc2;
out:
    if (failed) {
        if (st->in_tx)
            write_failed(st, VIGIE_IO);
        st->failed = failed;
        st->failed_sqlite = failed_sqlite;
        memcpy(st->cause, cause, sizeof cause);
        memcpy(st->err, err, sizeof err);
        return failed;
    }
    return rc;
}

/* ---- reading the line -------------------------------------------------------------------- */

static int64_t get(const vg_jtape *t, int64_t obj, const char *key)
{
    if (obj < 0 || t->tok[obj].type != VG_J_OBJECT)
        return -1;
    return vg__json_obj_get(t, (uint32_t)obj, key, strlen(key));
}

static bool is_str(const vg_jtape *t, int64_t tok)
{
    return tok >= 0 && t->tok[tok].type == VG_J_STRING;
}

/* Bind a string token (unescaped), or NULL for anything else. */
static void bind_str(vg_store *st, sqlite3_stmt *s, int col, int64_t tok)
{
    if (!is_str(&st->tape, tok)) {
        sqlite3_bind_null(s, col);
        return;
    }
    size_t n;
    const char *p = vg__json_str(&st->tape, (uint32_t)tok, &st->tmp, &n);
    sqlite3_bind_text64(s, col, p, n, SQLITE_TRANSIENT, SQLITE_UTF8);
}

static bool num(const vg_jtape *t, int64_t tok, double *out)
{
    if (tok < 0 || t->tok[tok].type != VG_J_NUMBER)
        return false;
    return vg__json_number(vg__json_raw(t, (uint32_t)tok), t->tok[tok].len, out) == VIGIE_OK;
}

static void bind_int(sqlite3_stmt *s, int col, const vg_jtape *t, int64_t tok)
{
    double d;
    if (num(t, tok, &d) && d >= -9.2e18 && d <= 9.2e18)
        sqlite3_bind_int64(s, col, (sqlite3_int64)d);
    else
        sqlite3_bind_null(s, col);
}

static void bind_real(sqlite3_stmt *s, int col, const vg_jtape *t, int64_t tok)
{
    double d;
    if (num(t, tok, &d))
        sqlite3_bind_double(s, col, d);
    else
        sqlite3_bind_null(s, col);
}

static void trim(const char **line, size_t *len)
{
    const char *p = *line;
    size_t n = *len;
    while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    *line = p;
    *len = n;
}

/* Parse the line onto the handle's tape; it must be one JSON object. */
static int parse_line(vg_store *st, const char *line, size_t len)
{
    if (len > VG_MAX_RECORD_BYTES) {
        seterr(st, "line of %zu bytes exceeds the record limit", len);
        return VIGIE_TOOBIG;
    }
    vg_jerr je;
    int rc = vg__json_parse(&st->tape, line, len, &je);
    if (rc != VIGIE_OK) {
        seterr(st, "byte %zu: %s", je.offset + 1, je.msg);
        return rc == VIGIE_NOMEM ? rc : VIGIE_JSON;
    }
    if (st->tape.tok[0].type != VG_J_OBJECT) {
        seterr(st, "byte 1: expected a JSON object");
        return VIGIE_INVAL;
    }
    return VIGIE_OK;
}

/* Run one write statement; a failure is sticky (write_failed), except, when `refusable`, a
 * row refused by a constraint (an alert of an unknown run): SQLite undid that one statement,
 * the transaction goes on, VIGIE_INVAL. Only the first statement of a line is refusable, so a
 * refusal never leaves part of a line behind. */
static int step_row(vg_store *st, sqlite3_stmt *s, const char *what, bool refusable)
{
    int r = sqlite3_step(s);
    int rc = r == SQLITE_DONE ? VIGIE_OK : sqlerr(st, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == VIGIE_OK)
        return rc;
    if (refusable && sqlite3_errcode(st->db) == SQLITE_CONSTRAINT &&
        !sqlite3_get_autocommit(st->db))
        return VIGIE_INVAL;
    return write_failed(st, rc);
}

static int step_done(vg_store *st, sqlite3_stmt *s, const char *what)
{
    return step_row(st, s, what, false);
}

/* The id of an alert without one: "<kind>-<32 hex of SHA-256(line)>". */
static void derived_id(const char *kind, size_t kind_len, const char *line, size_t len, char *out,
                       size_t cap)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)line, len, d);
    if (kind_len > 32)
        kind_len = 32;
    size_t o = (size_t)snprintf(out, cap, "%.*s-", (int)kind_len, kind);
    for (size_t i = 0; i < 16 && o + 2 < cap; i++, o += 2)
        snprintf(out + o, cap - o, "%02x", d[i]);
}

/* One evidence row, unless the alert already has one at this position (file, line, offset,
 * sha256); a new row takes the alert's next seq. */
static int add_evidence(vg_store *st, const char *id, size_t id_len, int64_t obj)
{
    const vg_jtape *t = &st->tape;
    if (obj < 0 || t->tok[obj].type != VG_J_OBJECT)
        return VIGIE_OK;
    sqlite3_stmt *s = st->ins_evidence;
    sqlite3_bind_text64(s, 1, id, id_len, SQLITE_TRANSIENT, SQLITE_UTF8);
    bind_str(st, s, 2, get(t, obj, "file"));
    bind_int(s, 3, t, get(t, obj, "line"));
    bind_int(s, 4, t, get(t, obj, "index"));
    bind_int(s, 5, t, get(t, obj, "offset"));
    bind_str(st, s, 6, get(t, obj, "sha256"));
    int rc = step_done(st, s, "storing evidence");
    if (rc == VIGIE_OK && sqlite3_changes(st->db) > 0) {
        st->stats.evidence_added++;
        st->tx_evidence++;
    }
    return rc;
}

/* Insert the alert on the tape (line = its text, trimmed). */
static int insert_alert(vg_store *st, int64_t run_id, const char *line, size_t len)
{
    const vg_jtape *t = &st->tape;
    int64_t kind = get(t, 0, "kind");
    if (!is_str(t, kind) || t->tok[kind].len == 0) {
        seterr(st, "an alert needs a string \"kind\"");
        return VIGIE_INVAL;
    }
    int rc = tx_begin(st);
    if (rc != VIGIE_OK)
        return rc;
    /* The id, kept in `id` for the evidence rows (the tape's scratch is reused). */
    char idbuf[128];
    vg_buf idb;
    vg__buf_init(&idb, 0);
    const char *id;
    size_t id_len;
    int64_t idt = get(t, 0, "id");
    if (is_str(t, idt) && t->tok[idt].len > 0) {
        const char *p = vg__json_str(t, (uint32_t)idt, &st->tmp, &id_len);
        if (vg__buf_add(&idb, p, id_len) != VIGIE_OK)
            return VIGIE_NOMEM;
        id = idb.data;
    } else {
        size_t kl;
        const char *k = vg__json_str(t, (uint32_t)kind, &st->tmp, &kl);
        derived_id(k, kl, line, len, idbuf, sizeof idbuf);
        id = idbuf;
        id_len = strlen(idbuf);
    }
    bool gap = t->tok[kind].len == 3 && !memcmp(vg__json_raw(t, (uint32_t)kind), "gap", 3);
    int64_t rule = get(t, 0, "rule"), mr = get(t, 0, "messages_read");
    int64_t time = get(t, 0, gap ? "from" : "time");
    if (gap && !is_str(t, time))
        time = get(t, 0, "time");
    int64_t first = time, last = gap ? get(t, 0, "to") : time;
    if (is_str(t, get(t, mr, "first")))
        first = get(t, mr, "first");
    if (is_str(t, get(t, mr, "last")))
        last = get(t, mr, "last");
    if (!is_str(t, last))
        last = time;
    int64_t user = get(t, 0, "user");
    if (!is_str(t, user)) {
        /* Alerts on one record: the user named by the record (UAL, then Graph sign-in). */
        int64_t ev = get(t, 0, "event");
        static const char *const user_keys[] = {"UserId", "userPrincipalName", "MailboxOwnerUPN"};
        for (size_t i = 0; i < VG_ARRAY_LEN(user_keys) && !is_str(t, user); i++)
            user = get(t, ev, user_keys[i]);
    }
    sqlite3_stmt *s = st->ins_alert;
    sqlite3_bind_text64(s, 1, id, id_len, SQLITE_TRANSIENT, SQLITE_UTF8);
    if (run_id > 0)
        sqlite3_bind_int64(s, 2, run_id);
    else
        sqlite3_bind_null(s, 2);
    bind_str(st, s, 3, kind);
    bind_str(st, s, 4, get(t, rule, "id"));
    bind_str(st, s, 5, get(t, rule, "title"));
    bind_str(st, s, 6, gap ? -1 : get(t, rule, "level"));
    bind_str(st, s, 7, get(t, 0, "tenant"));
    bind_str(st, s, 8, user);
    bind_str(st, s, 9, time);
    bind_str(st, s, 10, first);
    bind_str(st, s, 11, last);
    bind_real(s, 12, t, get(t, 0, "score"));
    bind_int(s, 13, t, get(t, mr, "internet_message_ids"));
    bind_int(s, 14, t, get(t, mr, "operation_count"));
    sqlite3_bind_text64(s, 15, line, len, SQLITE_TRANSIENT, SQLITE_UTF8);
    if ((rc = step_row(st, s, "storing an alert", true)) != VIGIE_OK)
        goto out;
    /* A stored id: the same alert found again (a second run, or the same record in another
     * file); its evidence is still added, each position once. */
    if (sqlite3_changes(st->db) == 0) {
        st->stats.alerts_dup++;
    } else {
        st->stats.alerts_added++;
        st->tx_alerts++;
    }
    int64_t ev = get(t, 0, "evidence");
    if (ev >= 0 && t->tok[ev].type == VG_J_ARRAY) {
        for (uint32_t i = (uint32_t)ev + 1; i < t->tok[ev].next && rc == VIGIE_OK;
             i = t->tok[i].next)
            rc = add_evidence(st, id, id_len, i);
    } else {
        rc = add_evidence(st, id, id_len, get(t, 0, "source"));
    }
    if (rc == VIGIE_OK)
        rc = tx_row(st);
out:
    vg__buf_free(&idb);
    return rc;
}

static int insert_campaign(vg_store *st, const char *line, size_t len)
{
    const vg_jtape *t = &st->tape;
    int64_t idt = get(t, 0, "id");
    if (!is_str(t, idt) || t->tok[idt].len == 0) {
        seterr(st, "a campaign needs a string \"id\"");
        return VIGIE_INVAL;
    }
    int rc = tx_begin(st);
    if (rc != VIGIE_OK)
        return rc;
    int64_t orgs = get(t, 0, "organizations"), alerts = get(t, 0, "alerts");
    int64_t n_orgs = 0;
    if (orgs >= 0 && t->tok[orgs].type == VG_J_ARRAY)
        for (uint32_t i = (uint32_t)orgs + 1; i < t->tok[orgs].next; i = t->tok[i].next)
            n_orgs += t->tok[i].type == VG_J_STRING;
    sqlite3_stmt *s = st->ins_campaign;
    bind_str(st, s, 1, idt);
    bind_str(st, s, 2, get(t, 0, "first_seen"));
    bind_str(st, s, 3, get(t, 0, "last_seen"));
    sqlite3_bind_int64(s, 4, n_orgs);
    sqlite3_bind_text64(s, 5, line, len, SQLITE_TRANSIENT, SQLITE_UTF8);
    if ((rc = step_done(st, s, "storing a campaign")) != VIGIE_OK)
        return rc;
    sqlite3_stmt *del[] = {st->del_corgs, st->del_calerts};
    for (size_t k = 0; k < 2; k++) {
        bind_str(st, del[k], 1, idt);
        if ((rc = step_done(st, del[k], "replacing a campaign")) != VIGIE_OK)
            return rc;
    }
    int64_t lists[] = {orgs, alerts};
    sqlite3_stmt *ins[] = {st->ins_corg, st->ins_calert};
    for (size_t k = 0; k < 2; k++) {
        int64_t l = lists[k];
        if (l < 0 || t->tok[l].type != VG_J_ARRAY)
            continue;
        for (uint32_t i = (uint32_t)l + 1; i < t->tok[l].next; i = t->tok[i].next) {
            if (t->tok[i].type != VG_J_STRING)
                continue;
            bind_str(st, ins[k], 1, idt);
            bind_str(st, ins[k], 2, i);
            if ((rc = step_done(st, ins[k], "storing a campaign")) != VIGIE_OK)
                return rc;
        }
    }
    st->stats.campaigns++;
    return tx_row(st);
}

/* ---- typed alerts (the scan's sink): the columns from the alert, no parsing --------------- */

static void bind_s(sqlite3_stmt *s, int col, const char *p, size_t n)
{
    if (p)
        sqlite3_bind_text64(s, col, p, n, SQLITE_TRANSIENT, SQLITE_UTF8);
    else
        sqlite3_bind_null(s, col);
}

static void bind_z(sqlite3_stmt *s, int col, const char *p)
{
    bind_s(s, col, p, p ? strlen(p) : 0);
}

/* A count as the JSON text gives it (%.0f), or NULL outside what an integer column holds. */
static void bind_count(sqlite3_stmt *s, int col, double d)
{
    d = isfinite(d) ? nearbyint(d) : NAN;
    if (d >= -9.2e18 && d <= 9.2e18)
        sqlite3_bind_int64(s, col, (sqlite3_int64)d);
    else
        sqlite3_bind_null(s, col);
}

static int add_evidence_src(vg_store *st, const char *id, size_t id_len,
                            const vigie_alert_source *e)
{
    sqlite3_stmt *s = st->ins_evidence;
    char sh[65];
    sqlite3_bind_text64(s, 1, id, id_len, SQLITE_TRANSIENT, SQLITE_UTF8);
    bind_z(s, 2, e->file);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)e->line);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)e->index);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)e->offset);
    if (e->has_sha) {
        vg__alert_hex(e->sha256, 32, sh);
        sqlite3_bind_text64(s, 6, sh, 64, SQLITE_TRANSIENT, SQLITE_UTF8);
    } else {
        sqlite3_bind_null(s, 6);
    }
    int rc = step_done(st, s, "storing evidence");
    if (rc == VIGIE_OK && sqlite3_changes(st->db) > 0) {
        st->stats.evidence_added++;
        st->tx_evidence++;
    }
    return rc;
}

int vg__store_add_alert(vg_store *st, int64_t run_id, const vigie_alert *a, const char *json,
                        size_t len)
{
    trim(&json, &len);
    if (len > VG_MAX_RECORD_BYTES) {
        seterr(st, "line of %zu bytes exceeds the record limit", len);
        st->stats.bad++;
        return VIGIE_TOOBIG;
    }
    const char *kind = vg__alert_kind_name(a->kind);
    char idbuf[128];
    const char *id = a->id;
    if (!id[0]) {
        derived_id(kind, strlen(kind), json, len, idbuf, sizeof idbuf);
        id = idbuf;
    }
    size_t id_len = strlen(id);
    int rc = tx_begin(st);
    if (rc != VIGIE_OK)
        return rc;
    bool gap = a->kind == VIGIE_ALERT_GAP;
    /* time, first and last as the JSON line says them: a gap's run of days; a mail read's
     * first and last read; else the alert's time */
    char tb[40];
    const char *time = NULL;
    if (gap)
        time = a->u.gap.from;
    else if (a->has_time || a->kind == VIGIE_ALERT_CORRELATION)
        vg__format_time(a->time, tb, sizeof tb), time = tb;
    const char *first = time, *last = gap && a->u.gap.from && a->u.gap.to ? a->u.gap.to : time;
    const vigie_alert_messages *mr = a->messages_read;
    if (a->kind == VIGIE_ALERT_COMBINED && !a->u.combined.has_messages)
        mr = NULL;
    if (gap || a->kind == VIGIE_ALERT_CORRELATION)
        mr = NULL;
    if (mr && mr->has_span && mr->first)
        first = mr->first;
    if (mr && mr->has_span && mr->last)
        last = mr->last;
    sqlite3_stmt *s = st->ins_alert;
    sqlite3_bind_text64(s, 1, id, id_len, SQLITE_TRANSIENT, SQLITE_UTF8);
    if (run_id > 0)
        sqlite3_bind_int64(s, 2, run_id);
    else
        sqlite3_bind_null(s, 2);
    bind_z(s, 3, kind);
    bind_z(s, 4, gap ? NULL : a->rule.id);
    bind_z(s, 5, gap ? NULL : a->rule.title);
    bind_z(s, 6, gap ? NULL : a->rule.level);
    bind_s(s, 7, a->tenant, a->tenant_len);
    bind_s(s, 8, a->user, a->user_len);
    bind_z(s, 9, time);
    bind_z(s, 10, first);
    bind_z(s, 11, last);
    if (a->kind == VIGIE_ALERT_COMBINED)
        sqlite3_bind_double(s, 12, a->u.combined.score);
    else
        sqlite3_bind_null(s, 12);
    if (mr) {
        bind_count(s, 13, (double)mr->internet_message_ids);
        bind_count(s, 14, mr->operation_count);
    } else {
        sqlite3_bind_null(s, 13);
        sqlite3_bind_null(s, 14);
    }
    sqlite3_bind_text64(s, 15, json, len, SQLITE_TRANSIENT, SQLITE_UTF8);
    if ((rc = step_row(st, s, "storing an alert", true)) != VIGIE_OK) {
        if (rc == VIGIE_INVAL)
            st->stats.bad++;
        return rc;
    }
    if (sqlite3_changes(st->db) == 0) {
        st->stats.alerts_dup++;
    } else {
        st->stats.alerts_added++;
        st->tx_alerts++;
    }
    if (a->kind == VIGIE_ALERT_COMBINED && a->u.combined.n_evidence) {
        for (uint32_t i = 0; i < a->u.combined.n_evidence && rc == VIGIE_OK; i++)
            rc = add_evidence_src(st, id, id_len, &a->u.combined.evidence[i].source);
    } else if (a->has_source) {
        rc = add_evidence_src(st, id, id_len, &a->source);
    }
    if (rc == VIGIE_OK)
        rc = tx_row(st);
    return rc;
}

int vg__store_add_campaign(vg_store *st, const char *line, size_t len)
{
    trim(&line, &len);
    int rc = parse_line(st, line, len);
    if (rc == VIGIE_OK)
        rc = insert_campaign(st, line, len);
    if (rc == VIGIE_JSON || rc == VIGIE_INVAL || rc == VIGIE_TOOBIG)
        st->stats.bad++;
    return rc;
}

int vg__store_add_line(vg_store *st, int64_t run_id, const char *line, size_t len)
{
    trim(&line, &len);
    int rc = parse_line(st, line, len);
    if (rc == VIGIE_OK) {
        const vg_jtape *t = &st->tape;
        int64_t id = get(t, 0, "id");
        if (get(t, 0, "kind") >= 0)
            rc = insert_alert(st, run_id, line, len);
        else if (get(t, 0, "organizations") >= 0 ||
                 (is_str(t, id) && t->tok[id].len >= 9 &&
                  !memcmp(vg__json_raw(t, (uint32_t)id), "campaign-", 9)))
            rc = insert_campaign(st, line, len);
        else {
            seterr(st, "neither an alert (no \"kind\") nor a campaign (no \"organizations\")");
            rc = VIGIE_INVAL;
        }
    }
    if (rc == VIGIE_JSON || rc == VIGIE_INVAL || rc == VIGIE_TOOBIG)
        st->stats.bad++;
    return rc;
}

int vg__store_load_jsonl(vg_store *st, int64_t run_id, const char *path, vigie_diag_fn diag,
                         void *diag_ud)
{
    bool is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        seterr(st, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? VIGIE_NOENT : VIGIE_IO;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = VIGIE_OK;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        const char *p = line;
        size_t l = (size_t)n;
        trim(&p, &l);
        if (l == 0)
            continue;
        int r = vg__store_add_line(st, run_id, p, l);
        if (r == VIGIE_JSON || r == VIGIE_INVAL || r == VIGIE_TOOBIG) {
            /* "byte N: ..." from parse_line gives the column. */
            uint64_t col = 0;
            const char *msg = st->err;
            if (!strncmp(msg, "byte ", 5)) {
                col = strtoull(msg + 5, NULL, 10) + (uint64_t)(p - line);
                const char *colon = strchr(msg, ':');
                msg = colon ? colon + 2 : msg;
            }
            vg__diag(diag, diag_ud, VIGIE_DIAG_ERROR, r, path, lineno, col, NULL, "%s", msg);
            continue;
        }
        if (r != VIGIE_OK) {
            rc = r;
            break;
        }
    }
    if (rc == VIGIE_OK && ferror(f)) {
        seterr(st, "%s: read error", path);
        rc = VIGIE_IO;
    }
    free(line);
    if (!is_stdin)
        fclose(f);
    if (rc == VIGIE_OK)
        rc = tx_commit(st);
    return rc;
}

/* ---- readers --------------------------------------------------------------------------- */

static int each(vg_store *st, const char *sql, const char *arg, vg_store_row_fn cb, void *ud)
{
    int rc = tx_commit(st);
    if (rc != VIGIE_OK)
        return rc;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sqlerr(st, "reading the store");
    if (arg)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *j = (const char *)sqlite3_column_text(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (!j)
            continue;
        if ((rc = cb(ud, j, n)) != 0)
            break;
    }
    if (rc == VIGIE_OK && r != SQLITE_DONE)
        rc = sqlerr(st, "reading the store");
    sqlite3_finalize(s);
    return rc;
}

int vg__store_each_alert(vg_store *st, const char *kind, vg_store_row_fn cb, void *ud)
{
    return each(st,
                kind ? "SELECT json FROM alerts WHERE kind = ?1 ORDER BY rowid"
                     : "SELECT json FROM alerts ORDER BY rowid",
                kind, cb, ud);
}

int vg__store_each_campaign(vg_store *st, vg_store_row_fn cb, void *ud)
{
    return each(st, "SELECT json FROM campaigns ORDER BY id", NULL, cb, ud);
}
