/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store.c: the SQLite alert store: migration from an empty file, refusal of foreign or
 * newer databases, every alert kind of tests/data/alerts_sample.jsonl (with malformed and
 * partial lines), duplicates across runs and handles, campaign replacement, the commit
 * cadence (1,000 alerts or 2 s) seen from a second connection, WAL mode, the readers; schema
 * 2: migration of a version-1 file, run states and interrupted runs, a full disk (SQLITE_FULL
 * from PRAGMA max_page_count) that rolls back whole and is sticky, the same alert's evidence
 * from two files kept once per position, a store locked by another writer.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "test.h"

#define SAMPLE VIGIE_SOURCE_DIR "/tests/data/alerts_sample.jsonl"

static char dir[64];
static int n_db;

/* A fresh path for a store in the test's temporary directory. */
static const char *db_path(char *out, size_t cap)
{
    snprintf(out, cap, "%s/s%d.db", dir, ++n_db);
    return out;
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* The first column of the first row of `sql` as an integer (-1 when no row or NULL). */
static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "sql: %s: %s\n", sql, sqlite3_errmsg(db));
        return -2;
    }
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Same, as text in a static buffer ("(null)" for NULL, "(none)" for no row). */
static const char *q_text(sqlite3 *db, const char *sql)
{
    static char buf[512];
    sqlite3_stmt *s;
    snprintf(buf, sizeof buf, "(none)");
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        snprintf(buf, sizeof buf, "(error %s)", sqlite3_errmsg(db));
        return buf;
    }
    if (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(buf, sizeof buf, "%s", t ? (const char *)t : "(null)");
    }
    sqlite3_finalize(s);
    return buf;
}

/* Diagnostics of a load, collected. */
typedef struct diags {
    int n;
    uint64_t line[16];
    uint64_t col[16];
} diags;

static void on_diag(void *ud, const vigie_diag *d)
{
    diags *g = ud;
    if (g->n < 16) {
        g->line[g->n] = d->line;
        g->col[g->n] = d->col;
    }
    g->n++;
}

static vg_store *open_ok(const char *path)
{
    vg_store *st = NULL;
    char err[256];
    int rc = vg__store_open(path, &st, err, sizeof err);
    CHECK_MSG(rc == VIGIE_OK, "%s: %s", path, err);
    return st;
}

static void test_open_empty_file_migrates(void)
{
    char p[128];
    db_path(p, sizeof p);
    FILE *f = fopen(p, "wb"); /* an empty file is an SQLite database of version 0 */
    CHECK(f != NULL);
    if (f)
        fclose(f);
    vg_store *st = open_ok(p);
    if (!st)
        return;
    int v = -1;
    CHECK_EQ_INT(vg__store_user_version(st, &v), VIGIE_OK);
    CHECK_EQ_INT(v, VG_STORE_SCHEMA_VERSION);
    sqlite3 *db = vg__store_db(st);
    CHECK_EQ_STR(q_text(db, "SELECT value FROM meta WHERE key = 'schema_version'"), "2");
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                           " ('meta','runs','alerts','evidence','campaigns','campaign_orgs',"
                           "'campaign_alerts')"),
                 7);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                           " ('alerts_tenant','alerts_kind')"),
                 2);
    CHECK_EQ_STR(q_text(db, "PRAGMA journal_mode"), "wal");
    vg__store_close(st);
    /* Reopening does not migrate again. */
    st = open_ok(p);
    if (st) {
        CHECK_EQ_INT(q_int(vg__store_db(st), "SELECT count(*) FROM meta"), 2);
        vg__store_close(st);
    }
    /* and the journal mode is persistent: seen by a plain connection too. */
    sqlite3 *raw = raw_open(p);
    CHECK(raw != NULL);
    CHECK_EQ_STR(q_text(raw, "PRAGMA journal_mode"), "wal");
    CHECK_EQ_INT(q_int(raw, "PRAGMA user_version"), 2);
    sqlite3_close(raw);
}

static void test_open_refuses(void)
{
    char p[128], err[256];
    vg_store *st = (vg_store *)1;
    /* Not SQLite at all. */
    db_path(p, sizeof p);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs("this is not a database, it is a text file of some length............\n", f);
        fclose(f);
    }
    CHECK_EQ_INT(vg__store_open(p, &st, err, sizeof err), VIGIE_INVAL);
    CHECK(st == NULL);
    CHECK(err[0] != 0);
    /* SQLite, but someone else's. */
    db_path(p, sizeof p);
    sqlite3 *raw = raw_open(p);
    sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL);
    sqlite3_close(raw);
    CHECK_EQ_INT(vg__store_open(p, &st, err, sizeof err), VIGIE_INVAL);
    CHECK_MSG(strstr(err, "not a vigie store") != NULL, "%s", err);
    /* A newer vigie's store. */
    db_path(p, sizeof p);
    raw = raw_open(p);
    sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(raw);
    CHECK_EQ_INT(vg__store_open(p, &st, err, sizeof err), VIGIE_UNSUPPORTED);
    CHECK_MSG(strstr(err, "newer") != NULL, "%s", err);
    /* A directory that does not exist. */
    CHECK_EQ_INT(vg__store_open("/nonexistent-vigie-dir/x.db", &st, err, sizeof err), VIGIE_IO);
}

static void test_every_kind_from_sample(void)
{
    char p[128];
    vg_store *st = open_ok(db_path(p, sizeof p));
    if (!st)
        return;
    int64_t run = 0;
    CHECK_EQ_INT(vg__store_run_begin(st, "test --sample", &run), VIGIE_OK);
    CHECK(run > 0);
    diags g = {0};
    CHECK_EQ_INT(vg__store_load_jsonl(st, run, SAMPLE, on_diag, &g), VIGIE_OK);
    /* lines 7 (truncated JSON), 13 (an array), 14 (no kind, no campaign) */
    CHECK_EQ_INT(g.n, 3);
    CHECK_EQ_INT(g.line[0], 7);
    CHECK(g.col[0] > 60); /* the end of the truncated line */
    CHECK_EQ_INT(g.line[1], 13);
    CHECK_EQ_INT(g.line[2], 14);
    vg_store_stats s;
    vg__store_stats_get(st, &s);
    CHECK_EQ_INT(s.alerts_added, 16);
    CHECK_EQ_INT(s.alerts_dup, 1);
    CHECK_EQ_INT(s.campaigns, 1);
    CHECK_EQ_INT(s.bad, 3);
    CHECK_EQ_INT(vg__store_run_end(st, run, VG_RUN_FINISHED, 1000, 17, 3), VIGIE_OK);
    sqlite3 *db = vg__store_db(st);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM alerts"), 16);
    CHECK_EQ_INT(q_int(db, "SELECT count(DISTINCT kind) FROM alerts"), 7);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM alerts WHERE run_id = 1"), 16);
    /* sigma: rule columns, messages, one evidence row from "source" */
    const char *a1 = "'a1000000000000000000000000000001'";
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT level || '|' || rule_title || '|' || tenant || '|' || user"
             " || '|' || time || '|' || first_time || '|' || last_time || '|' || messages || '|'"
             " || operation_count FROM alerts WHERE id = %s",
             a1);
    CHECK_EQ_STR(q_text(db, sql),
                 "high|Mailbox Read With a Consumer-Tenant Token|3bfa5ce3-1c2d-4e5f-8a9b-"
                 "0c1d2e3f4a01|alice@org01.example|2023-06-07T01:33:15.000Z|2023-06-07T01:33:"
                 "15.000Z|2023-06-07T01:33:15.000Z|60|228");
    snprintf(sql, sizeof sql,
             "SELECT seq || '|' || file || '|' || line || '|' || idx || '|' ||"
             " offset || '|' || substr(sha256, 1, 4) FROM evidence WHERE alert_id = %s",
             a1);
    CHECK_EQ_STR(q_text(db, sql), "0|/tmp/sim/org01.example/audit.ndjson|123|122|135300|aaaa");
    /* combined: time span from messages_read, score, user, evidence list in order */
    CHECK_EQ_STR(q_text(db, "SELECT first_time || '|' || last_time || '|' || score || '|' || user"
                            " || '|' || messages FROM alerts WHERE kind = 'combined' AND tenant"
                            " LIKE '3bfa%'"),
                 "2023-06-07T01:30:02.500Z|2023-06-07T03:12:48.000Z|0.97|alice@org01.example|130");
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(seq || ':' || line, ',') FROM (SELECT * FROM"
                            " evidence WHERE alert_id = 'a1000000000000000000000000000005' ORDER"
                            " BY seq)"),
                 "0:123,1:125,2:98");
    /* gaps: no level, time = from, last_time = to; the one without id gets a derived id */
    CHECK_EQ_STR(q_text(db, "SELECT coalesce(level, 'NULL') || '|' || time || '|' || last_time"
                            " FROM alerts WHERE id = 'c3000000000000000000000000000001'"),
                 "NULL|2023-03-04T00:00:00.000Z|2023-06-01T00:00:00.000Z");
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM alerts WHERE kind = 'gap' AND id LIKE 'gap-%'"
                           " AND length(id) = 36 AND time IS NULL"),
                 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM evidence WHERE alert_id IN (SELECT id FROM"
                           " alerts WHERE kind = 'gap')"),
                 0);
    /* nulls everywhere: stored, every column NULL but id/kind/json, no evidence */
    CHECK_EQ_INT(q_int(db,
                       "SELECT count(*) FROM alerts WHERE id = 'd4000000000000000000000000000001'"
                       " AND rule_id IS NULL AND tenant IS NULL AND time IS NULL AND"
                       " messages IS NULL"),
                 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM evidence WHERE alert_id ="
                           " 'd4000000000000000000000000000001'"),
                 0);
    /* escapes unescaped; fields of another type become NULL (line "12" is a string) */
    CHECK_EQ_STR(
        q_text(db, "SELECT rule_title FROM alerts WHERE id = 'd4000000000000000000000000000002'"),
        "Title with \"quotes\", a \\ backslash and \xc3\xa9t\xc3\xa9");
    CHECK_EQ_STR(q_text(db, "SELECT coalesce(line, 'NULL') || '|' || idx || '|' || offset || '|' ||"
                            " coalesce(sha256, 'NULL') FROM evidence WHERE alert_id ="
                            " 'd4000000000000000000000000000002'"),
                 "NULL|11|-1|NULL");
    CHECK_EQ_INT(
        q_int(db, "SELECT messages FROM alerts WHERE id = 'd4000000000000000000000000000002'"), -1);
    /* the stored line is the line, and JSON1 reads it */
    CHECK_EQ_STR(q_text(db, "SELECT json_extract(json, '$.token.verdict') FROM alerts WHERE kind ="
                            " 'token'"),
                 "foreign_key");
    /* campaign */
    CHECK_EQ_STR(q_text(db, "SELECT id || '|' || first_seen || '|' || last_seen || '|' || n_orgs"
                            " FROM campaigns"),
                 "campaign-0001|2023-06-07T01:30:02.500Z|2023-06-13T04:00:00.000Z|2");
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM campaign_orgs"), 2);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM campaign_alerts"), 11);
    /* the run */
    CHECK_EQ_STR(q_text(db, "SELECT args || '|' || events || '|' || alerts || '|' || bad || '|' ||"
                            " vigie_version || '|' || (finished >= started) FROM runs"),
                 "test --sample|1000|17|3|" VIGIE_VERSION "|1");
    vg__store_close(st);
}

static void test_add_alert_refusals(void)
{
    vg_store *st = open_ok(":memory:");
    if (!st)
        return;
    const char *bad = "{\"id\":\"x\",\"kind\":\"sigma\",}";
    CHECK_EQ_INT(vg__store_add_line(st, 0, bad, strlen(bad)), VIGIE_JSON);
    CHECK_MSG(!strncmp(vg__store_errmsg(st), "byte ", 5), "%s", vg__store_errmsg(st));
    CHECK_EQ_INT(vg__store_add_line(st, 0, "", 0), VIGIE_JSON);
    CHECK_EQ_INT(vg__store_add_line(st, 0, "  \n", 3), VIGIE_JSON);
    CHECK_EQ_INT(vg__store_add_line(st, 0, "\"kind\"", 6), VIGIE_INVAL);
    const char *nokind = "{\"id\":\"x\",\"kind\":null}";
    CHECK_EQ_INT(vg__store_add_line(st, 0, nokind, strlen(nokind)), VIGIE_INVAL);
    const char *emptykind = "{\"id\":\"x\",\"kind\":\"\"}";
    CHECK_EQ_INT(vg__store_add_line(st, 0, emptykind, strlen(emptykind)), VIGIE_INVAL);
    const char *noid = "{\"organizations\":[\"a\"]}";
    CHECK_EQ_INT(vg__store_add_campaign(st, noid, strlen(noid)), VIGIE_INVAL);
    CHECK_EQ_INT(vg__store_add_line(st, 0, noid, strlen(noid)), VIGIE_INVAL);
    /* minimal alert, surrounding whitespace and CRLF trimmed from the stored text */
    const char *min = "  {\"kind\":\"sigma\",\"id\":\"m1\"}\r\n";
    CHECK_EQ_INT(vg__store_add_line(st, 0, min, strlen(min)), VIGIE_OK);
    vg_store_stats s;
    vg__store_stats_get(st, &s);
    CHECK_EQ_INT(s.bad, 8);
    CHECK_EQ_INT(s.alerts_added, 1);
    sqlite3 *db = vg__store_db(st);
    CHECK_EQ_STR(q_text(db, "SELECT json FROM alerts WHERE id = 'm1'"),
                 "{\"kind\":\"sigma\",\"id\":\"m1\"}");
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM alerts WHERE run_id IS NULL"), 1);
    /* an unknown run is refused by the foreign key, not silently kept */
    const char *orphan = "{\"kind\":\"sigma\",\"id\":\"m2\"}";
    CHECK(vg__store_add_line(st, 4242, orphan, strlen(orphan)) != VIGIE_OK);
    CHECK_EQ_INT(vg__store_run_end(st, 4242, VG_RUN_FINISHED, 0, 0, 0), VIGIE_NOTFOUND);
    vg__store_close(st);
}

static void test_duplicates_across_runs(void)
{
    char p[128];
    db_path(p, sizeof p);
    for (int pass = 0; pass < 2; pass++) {
        vg_store *st = open_ok(p);
        if (!st)
            return;
        int64_t run;
        CHECK_EQ_INT(vg__store_run_begin(st, pass ? "second" : "first", &run), VIGIE_OK);
        CHECK_EQ_INT(run, pass + 1);
        CHECK_EQ_INT(vg__store_load_jsonl(st, run, SAMPLE, NULL, NULL), VIGIE_OK);
        vg_store_stats s;
        vg__store_stats_get(st, &s);
        CHECK_EQ_INT(s.alerts_added, pass ? 0 : 16);
        CHECK_EQ_INT(s.alerts_dup, pass ? 17 : 1);
        CHECK_EQ_INT(vg__store_run_end(st, run, VG_RUN_FINISHED, 10, s.alerts_added, s.bad),
                     VIGIE_OK);
        vg__store_close(st);
    }
    sqlite3 *raw = raw_open(p);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 16);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts WHERE run_id = 1"), 16);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM evidence"), 15);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM campaigns"), 1);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM campaign_alerts"), 11);
    CHECK_EQ_STR(q_text(raw, "SELECT group_concat(args || ':' || alerts, ',') FROM runs"),
                 "first:16,second:0");
    sqlite3_close(raw);
}

static void test_campaign_replace(void)
{
    vg_store *st = open_ok(":memory:");
    if (!st)
        return;
    const char *c1 =
        "{\"id\":\"campaign-x\",\"organizations\":[\"A\",\"B\",\"B\",7],\"first_seen\":"
        "\"2023-06-01T00:00:00Z\",\"alerts\":[\"x\",\"y\"]}";
    const char *c2 = "{\"id\":\"campaign-x\",\"organizations\":[\"C\"],\"last_seen\":"
                     "\"2023-07-01T00:00:00Z\",\"alerts\":[\"z\"]}";
    const char *c3 = "{\"id\":\"campaign-y\",\"organizations\":null,\"alerts\":{}}";
    CHECK_EQ_INT(vg__store_add_campaign(st, c1, strlen(c1)), VIGIE_OK);
    sqlite3 *db = vg__store_db(st);
    CHECK_EQ_INT(q_int(db, "SELECT n_orgs FROM campaigns WHERE id = 'campaign-x'"), 3);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM campaign_orgs"), 2);
    CHECK_EQ_INT(vg__store_add_line(st, 0, c2, strlen(c2)), VIGIE_OK);
    CHECK_EQ_INT(vg__store_add_line(st, 0, c3, strlen(c3)), VIGIE_OK);
    db = vg__store_db(st);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM campaigns"), 2);
    CHECK_EQ_STR(q_text(db, "SELECT coalesce(first_seen, 'NULL') || '|' || last_seen || '|' ||"
                            " n_orgs FROM campaigns WHERE id = 'campaign-x'"),
                 "NULL|2023-07-01T00:00:00Z|1");
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(tenant) FROM campaign_orgs WHERE campaign_id ="
                            " 'campaign-x'"),
                 "C");
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(alert_id) FROM campaign_alerts"), "z");
    CHECK_EQ_STR(q_text(db, "SELECT json_extract(json, '$.last_seen') FROM campaigns WHERE id ="
                            " 'campaign-x'"),
                 "2023-07-01T00:00:00Z");
    vg__store_close(st);
}

typedef struct counter {
    int n, stop_at;
    size_t bytes;
} counter;

static int count_row(void *ud, const char *json, size_t len)
{
    counter *c = ud;
    c->n++;
    c->bytes += len;
    if (json[len] != 0 || json[0] != '{')
        return -1;
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

static void test_readers(void)
{
    vg_store *st = open_ok(":memory:");
    if (!st)
        return;
    CHECK_EQ_INT(vg__store_load_jsonl(st, 0, SAMPLE, NULL, NULL), VIGIE_OK);
    counter c = {0};
    CHECK_EQ_INT(vg__store_each_alert(st, NULL, count_row, &c), VIGIE_OK);
    CHECK_EQ_INT(c.n, 16);
    c = (counter){0};
    CHECK_EQ_INT(vg__store_each_alert(st, "gap", count_row, &c), VIGIE_OK);
    CHECK_EQ_INT(c.n, 2);
    c = (counter){0};
    CHECK_EQ_INT(vg__store_each_alert(st, "no-such-kind", count_row, &c), VIGIE_OK);
    CHECK_EQ_INT(c.n, 0);
    c = (counter){.stop_at = 3};
    CHECK_EQ_INT(vg__store_each_alert(st, NULL, count_row, &c), 42);
    CHECK_EQ_INT(c.n, 3);
    c = (counter){0};
    CHECK_EQ_INT(vg__store_each_campaign(st, count_row, &c), VIGIE_OK);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(vg__store_load_jsonl(st, 0, "/nonexistent/alerts.jsonl", NULL, NULL), VIGIE_NOENT);
    vg__store_close(st);
}

static int add_bulk(vg_store *st, int64_t run, int from, int to)
{
    char line[256];
    int rc = VIGIE_OK;
    for (int i = from; i < to && rc == VIGIE_OK; i++) {
        int n = snprintf(line, sizeof line,
                         "{\"id\":\"bulk-%06d\",\"kind\":\"sigma\",\"tenant\":\"t%d\",\"time\":"
                         "\"2023-06-01T00:00:00.000Z\",\"source\":{\"line\":%d}}",
                         i, i % 7, i + 1);
        rc = vg__store_add_line(st, run, line, (size_t)n);
    }
    return rc;
}

/* The cadence: a second connection sees nothing of 999 alerts (the transaction is open), all
 * 1,000 at the 1,000th (committed without close or flush), 25,000 after 25,000; an alert
 * alone is committed by the next add or vg__store_tick once its transaction is 2 s old. */
static void test_batches(void)
{
    char p[128];
    vg_store *st = open_ok(db_path(p, sizeof p));
    if (!st)
        return;
    int64_t run;
    CHECK_EQ_INT(vg__store_run_begin(st, NULL, &run), VIGIE_OK);
    sqlite3 *raw = raw_open(p);
    CHECK_EQ_INT(add_bulk(st, run, 0, 999), VIGIE_OK);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 0);
    CHECK_EQ_INT(add_bulk(st, run, 999, 1000), VIGIE_OK);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 1000);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM evidence"), 1000);
    CHECK_EQ_INT(add_bulk(st, run, 1000, 25000), VIGIE_OK);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 25000);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM evidence"), 25000);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts WHERE tenant = 't3'"), 3571);
    /* time: one alert waits in its transaction; 2 s later the next add commits both */
    CHECK_EQ_INT(add_bulk(st, run, 25000, 25001), VIGIE_OK);
    CHECK_EQ_INT(vg__store_tick(st), VIGIE_OK);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 25000);
    nanosleep(&(struct timespec){2, 100000000}, NULL);
    CHECK_EQ_INT(add_bulk(st, run, 25001, 25002), VIGIE_OK);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 25002);
    /* and vg__store_tick commits an old transaction when no add comes */
    CHECK_EQ_INT(add_bulk(st, run, 25002, 25003), VIGIE_OK);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 25002);
    nanosleep(&(struct timespec){2, 100000000}, NULL);
    CHECK_EQ_INT(vg__store_tick(st), VIGIE_OK);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), 25003);
    vg_store_stats s;
    vg__store_stats_get(st, &s);
    CHECK_EQ_INT(s.alerts_stored, 25003);
    sqlite3_close(raw);
    vg__store_close(st);
}

/* The schema of version 1, as vigie 0.x wrote it: a fixture of the old format. */
static const char v1_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, started TEXT, finished TEXT, vigie_version TEXT,"
    " args TEXT, events INTEGER, alerts INTEGER, bad INTEGER);"
    "CREATE TABLE alerts(id TEXT PRIMARY KEY, run_id INTEGER REFERENCES runs(id), kind TEXT NOT"
    " NULL, rule_id TEXT, rule_title TEXT, level TEXT, tenant TEXT, user TEXT, time TEXT,"
    " first_time TEXT, last_time TEXT, score REAL, messages INTEGER, operation_count INTEGER,"
    " json TEXT NOT NULL);"
    "CREATE INDEX alerts_tenant ON alerts(tenant, time);"
    "CREATE INDEX alerts_kind ON alerts(kind, level);"
    "CREATE TABLE evidence(alert_id TEXT NOT NULL REFERENCES alerts(id), seq INTEGER NOT NULL,"
    " file TEXT, line INTEGER, idx INTEGER, offset INTEGER, sha256 TEXT,"
    " PRIMARY KEY(alert_id, seq));"
    "CREATE TABLE campaigns(id TEXT PRIMARY KEY, first_seen TEXT, last_seen TEXT, n_orgs"
    " INTEGER, json TEXT NOT NULL);"
    "CREATE TABLE campaign_orgs(campaign_id TEXT NOT NULL, tenant TEXT NOT NULL,"
    " PRIMARY KEY(campaign_id, tenant));"
    "CREATE TABLE campaign_alerts(campaign_id TEXT NOT NULL, alert_id TEXT NOT NULL,"
    " PRIMARY KEY(campaign_id, alert_id));"
    "INSERT INTO meta VALUES('schema_version', '1');"
    "INSERT INTO runs(id, started, finished, args) VALUES(1, 't0', 't1', 'done'),"
    " (2, 't2', NULL, 'crashed');"
    "INSERT INTO alerts(id, run_id, kind, json) VALUES('x', 1, 'sigma', '{}');"
    "INSERT INTO evidence VALUES('x', 0, 'a.json', 3, 2, 100, 'aa'), ('x', 1, 'a.json', 3, 2,"
    " 100, 'aa'), ('x', 2, 'b.json', 3, 2, 100, 'aa');"
    "PRAGMA user_version = 1;";

/* A version-1 store opens and is migrated: runs get their state (a run never finished was
 * interrupted), evidence its unique position (a repeated position kept once), data kept. */
static void test_migrate_v1(void)
{
    char p[128];
    db_path(p, sizeof p);
    sqlite3 *raw = raw_open(p);
    CHECK(raw != NULL);
    CHECK_EQ_INT(sqlite3_exec(raw, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    vg_store *st = open_ok(p);
    if (!st)
        return;
    int v = 0;
    CHECK_EQ_INT(vg__store_user_version(st, &v), VIGIE_OK);
    CHECK_EQ_INT(v, 2);
    sqlite3 *db = vg__store_db(st);
    CHECK_EQ_STR(q_text(db, "SELECT value FROM meta WHERE key = 'schema_version'"), "2");
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(args || ':' || state, ',') FROM runs"),
                 "done:finished,crashed:interrupted");
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(file, ',') FROM evidence WHERE alert_id = 'x'"
                            " ORDER BY seq"),
                 "a.json,b.json");
    /* the new key holds: the same position again adds nothing, a new one is seq 3 */
    const char *a = "{\"kind\":\"sigma\",\"id\":\"x\",\"source\":{\"file\":\"a.json\",\"line\":3,"
                    "\"index\":2,\"offset\":100,\"sha256\":\"aa\"}}";
    const char *c = "{\"kind\":\"sigma\",\"id\":\"x\",\"source\":{\"file\":\"c.json\",\"line\":3,"
                    "\"index\":2,\"offset\":100,\"sha256\":\"aa\"}}";
    CHECK_EQ_INT(vg__store_add_line(st, 0, a, strlen(a)), VIGIE_OK);
    CHECK_EQ_INT(vg__store_add_line(st, 0, c, strlen(c)), VIGIE_OK);
    db = vg__store_db(st);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM evidence"), 3);
    CHECK_EQ_INT(q_int(db, "SELECT seq FROM evidence WHERE file = 'c.json'"), 3);
    CHECK_EQ_STR(q_text(db, "PRAGMA integrity_check"), "ok");
    vg__store_close(st);
}

/* Runs: 'running' with pid and host, then finished / failed; a run left 'running' by a dead
 * process of this host is marked 'interrupted' by the next run_begin; one of a live process
 * (our parent) or of another host is left alone. */
static void test_run_states(void)
{
    char p[128];
    db_path(p, sizeof p);
    vg_store *st = open_ok(p);
    if (!st)
        return;
    int64_t r1, r2, r3, r4;
    CHECK_EQ_INT(vg__store_run_begin(st, "a", &r1), VIGIE_OK);
    CHECK_EQ_INT(vg__store_run_begin(st, "b", &r2), VIGIE_OK);
    CHECK_EQ_INT(vg__store_run_begin(st, "c", &r3), VIGIE_OK);
    CHECK_EQ_INT(vg__store_run_begin(st, "d", &r4), VIGIE_OK);
    sqlite3 *db = vg__store_db(st);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM runs WHERE state = 'running' AND pid = %d"
             " AND host IS NOT NULL AND finished IS NULL",
             (int)getpid());
    CHECK_EQ_INT(q_int(db, sql), 4);
    CHECK_EQ_INT(vg__store_run_end(st, r4, VG_RUN_FAILED, 1, 2, 3), VIGIE_OK);
    vg__store_close(st);
    /* a pid that is gone: a child that has exited and been reaped */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    sqlite3 *raw = raw_open(p);
    snprintf(sql, sizeof sql,
             "UPDATE runs SET pid = %d WHERE id = 1; UPDATE runs SET pid = %d WHERE id = 2;"
             " UPDATE runs SET pid = %d, host = 'elsewhere.invalid' WHERE id = 3;",
             (int)child, (int)getppid(), (int)child);
    CHECK_EQ_INT(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    st = open_ok(p);
    if (!st)
        return;
    int64_t r5;
    CHECK_EQ_INT(vg__store_run_begin(st, "e", &r5), VIGIE_OK);
    vg_store_stats s;
    vg__store_stats_get(st, &s);
    CHECK_EQ_INT(s.runs_interrupted, 1);
    CHECK_EQ_INT(vg__store_run_end(st, r5, VG_RUN_FINISHED, 0, 0, 0), VIGIE_OK);
    db = vg__store_db(st);
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(args || ':' || state || ':' ||"
                            " (finished IS NOT NULL), ',') FROM runs"),
                 "a:interrupted:0,b:running:0,c:running:0,d:failed:1,e:finished:1");
    vg__store_close(st);
}

/* A full disk (SQLITE_FULL through max_page_count): the failing transaction is rolled back
 * whole, the failure is sticky (no more writes, the same status at once), the store holds
 * exactly alerts_stored alerts, each with all three of its evidence rows, and the run ends
 * 'failed'. */
static void test_full_disk(void)
{
    char p[128];
    db_path(p, sizeof p);
    vg_store *st = open_ok(p);
    if (!st)
        return;
    int64_t run;
    CHECK_EQ_INT(vg__store_run_begin(st, "full", &run), VIGIE_OK);
    sqlite3 *db = vg__store_db(st);
    long long pages = q_int(db, "PRAGMA page_count");
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", pages + 1000);
    CHECK(q_int(db, sql) >= pages + 1000);
    char line[2048];
    int rc = VIGIE_OK, i;
    for (i = 0; i < 20000 && rc == VIGIE_OK; i++) {
        int n = snprintf(line, sizeof line,
                         "{\"id\":\"full-%06d\",\"kind\":\"combined\",\"evidence\":[", i);
        for (int k = 0; k < 3; k++)
            n += snprintf(line + n, sizeof line - (size_t)n,
                          "%s{\"file\":\"/logs/org%d/mail-%06d.json\",\"line\":%d,\"index\":%d,"
                          "\"offset\":%d,\"sha256\":\"%064d\"}",
                          k ? "," : "", k, i, i + k, i, 100 * i + k, i);
        n += snprintf(line + n, sizeof line - (size_t)n, "],\"pad\":\"%0300d\"}", i);
        rc = vg__store_add_line(st, run, line, (size_t)n);
    }
    CHECK_EQ_INT(rc, VIGIE_IO);
    CHECK(i < 20000);
    fprintf(stderr, "full disk at alert %d\n", i);
    CHECK_EQ_STR(vg__store_failure(st) ? vg__store_failure(st) : "(null)", "disk full");
    CHECK(strstr(vg__store_errmsg(st), "full") != NULL);
    CHECK_EQ_INT(sqlite3_get_autocommit(db), 1); /* nothing left open */
    vg_store_stats s;
    vg__store_stats_get(st, &s);
    CHECK(s.alerts_stored > 0);
    CHECK_EQ_INT(s.alerts_added, s.alerts_stored);
    /* sticky: the next add fails at once and writes nothing */
    const char *late = "{\"kind\":\"sigma\",\"id\":\"late\"}";
    CHECK_EQ_INT(vg__store_add_line(st, run, late, strlen(late)), VIGIE_IO);
    CHECK_EQ_INT(vg__store_flush(st), VIGIE_IO);
    CHECK_EQ_INT(vg__store_tick(st), VIGIE_IO);
    CHECK_EQ_INT(vg__store_run_end(st, run, VG_RUN_FINISHED, 1, 2, 3), VIGIE_IO);
    vg__store_close(st);
    sqlite3 *raw = raw_open(p);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts"), (long long)s.alerts_stored);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM evidence"), 3 * (long long)s.alerts_stored);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts a WHERE (SELECT count(*) FROM evidence e"
                            " WHERE e.alert_id = a.id) != json_array_length(a.json, '$.evidence')"),
                 0);
    CHECK_EQ_INT(q_int(raw, "SELECT count(*) FROM alerts WHERE id = 'late'"), 0);
    CHECK_EQ_STR(q_text(raw, "PRAGMA integrity_check"), "ok");
    /* the small update that ends the run fitted: the run says it failed */
    CHECK_EQ_STR(q_text(raw, "SELECT state FROM runs WHERE args = 'full'"), "failed");
    sqlite3_close(raw);
}

/* A store locked by another writer: the second handle waits its busy timeout (here 200 ms),
 * then fails with SQLite's "database is locked", stickily; run_end does not wait again. */
static void test_locked(void)
{
    char p[128];
    db_path(p, sizeof p);
    vg_store *a = open_ok(p);
    if (!a)
        return;
    vg_store *b = NULL;
    char err[256];
    CHECK_EQ_INT(vg__store_open_wait(p, 200, &b, err, sizeof err), VIGIE_OK);
    if (!b) {
        vg__store_close(a);
        return;
    }
    int64_t ra, rb;
    CHECK_EQ_INT(vg__store_run_begin(a, "a", &ra), VIGIE_OK);
    CHECK_EQ_INT(add_bulk(a, ra, 0, 10), VIGIE_OK); /* a's transaction stays open */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(vg__store_run_begin(b, "b", &rb), VIGIE_IO);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK_MSG(waited >= 0.15 && waited < 5, "waited %.3f s", waited);
    const char *cause = vg__store_failure(b);
    CHECK(cause && strstr(cause, "database is locked"));
    CHECK(strstr(vg__store_errmsg(b), "database is locked") != NULL);
    CHECK_EQ_INT(add_bulk(b, 0, 100, 101), VIGIE_IO);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(vg__store_run_end(b, 1, VG_RUN_FINISHED, 0, 0, 0), VIGIE_IO);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec < 1);
    vg__store_close(b);
    CHECK_EQ_INT(vg__store_run_end(a, ra, VG_RUN_FINISHED, 0, 10, 0), VIGIE_OK);
    sqlite3 *db = vg__store_db(a);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM alerts"), 10);
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(args || ':' || state) FROM runs"), "a:finished");
    vg__store_close(a);
}

/* The same record in two files: one alert, both positions as evidence; the same lines again
 * (a second run) add no row. */
static void test_evidence_two_files(void)
{
    char p[128];
    vg_store *st = open_ok(db_path(p, sizeof p));
    if (!st)
        return;
    const char *fmt = "{\"kind\":\"sigma\",\"id\":\"same\",\"source\":{\"file\":\"%s\",\"line\":1,"
                      "\"index\":0,\"offset\":0,\"sha256\":\"%064d\"}}";
    char a[256], b[256];
    int na = snprintf(a, sizeof a, fmt, "a.json", 7), nb = snprintf(b, sizeof b, fmt, "b.json", 7);
    for (int pass = 0; pass < 2; pass++) {
        CHECK_EQ_INT(vg__store_add_line(st, 0, a, (size_t)na), VIGIE_OK);
        CHECK_EQ_INT(vg__store_add_line(st, 0, b, (size_t)nb), VIGIE_OK);
        vg_store_stats s;
        vg__store_stats_get(st, &s);
        CHECK_EQ_INT(s.alerts_added, 1);
        CHECK_EQ_INT(s.evidence_added, 2);
        sqlite3 *db = vg__store_db(st);
        CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM alerts"), 1);
        CHECK_EQ_STR(q_text(db, "SELECT group_concat(seq || ':' || file, ',') FROM (SELECT * FROM"
                                " evidence WHERE alert_id = 'same' ORDER BY seq)"),
                     "0:a.json,1:b.json");
    }
    vg__store_close(st);
}

static void cleanup(void)
{
    char p[160];
    for (int i = 1; i <= n_db; i++) {
        const char *suffix[] = {"", "-wal", "-shm"};
        for (int k = 0; k < 3; k++) {
            snprintf(p, sizeof p, "%s/s%d.db%s", dir, i, suffix[k]);
            unlink(p);
        }
    }
    rmdir(dir);
}

/* The scan's sink: an alert arrives typed, with its JSON text. The columns and the evidence
 * come from the typed alert and the text is stored as given, never parsed: here it is not
 * even JSON, and it says other things than the alert. */
static void test_typed_alert(void)
{
    vg_store *st = open_ok(":memory:");
    if (!st)
        return;
    sqlite3 *db = vg__store_db(st);
    static const char *const folders[] = {"Inbox"};
    vigie_alert_messages mr = {.internet_message_ids = 4, .operation_count = 2.5,
                               .folders = folders, .n_folders = 1, .has_span = true,
                               .first = "2023-06-07T06:00:00.000Z", .last = "2023-06-07T07:00:00.000Z"};
    vigie_alert_evidence ev[2];
    memset(ev, 0, sizeof ev);
    ev[0].source = (vigie_alert_source){"a.json", 1, 0, 0, {0}, true};
    ev[1].source = (vigie_alert_source){"b.json", 2, 1, 10, {0}, true};
    memset(ev[1].source.sha256, 0xcd, 32);
    vigie_alert a;
    memset(&a, 0, sizeof a);
    memcpy(a.id, "c0ffee00c0ffee00c0ffee00c0ffee00", 33);
    a.kind = VIGIE_ALERT_COMBINED;
    a.rule.id = "vigie:combined";
    a.rule.title = "Mailbox read";
    a.rule.level = "high";
    a.tenant = "t1";
    a.tenant_len = 2;
    a.user = "u@x";
    a.user_len = 3;
    a.time = 1686117600; /* 2023-06-07T06:00:00Z */
    a.has_time = true;
    a.messages_read = &mr;
    a.u.combined.score = 7;
    a.u.combined.has_messages = true;
    a.u.combined.evidence = ev;
    a.u.combined.n_evidence = 2;
    const char *text = "not JSON, \"kind\":\"sigma\"\n";
    CHECK_EQ_INT(vg__store_add_alert(st, 0, &a, text, strlen(text)), VIGIE_OK);
    CHECK_EQ_STR(q_text(db, "SELECT kind || '|' || rule_id || '|' || rule_title || '|' || level || '|' ||"
                            " tenant || '|' || user || '|' || time || '|' || first_time || '|' ||"
                            " last_time || '|' || score || '|' || messages || '|' ||"
                            " operation_count || '|' || json FROM alerts"),
                 "combined|vigie:combined|Mailbox read|high|t1|u@x|2023-06-07T06:00:00.000Z|"
                 "2023-06-07T06:00:00.000Z|2023-06-07T07:00:00.000Z|7.0|4|2|not JSON, \"kind\":\"sigma\"");
    CHECK_EQ_STR(q_text(db, "SELECT group_concat(file || ':' || line || ':' || substr(sha256, 1, 4), ' ')"
                            " FROM (SELECT * FROM evidence ORDER BY seq)"),
                 "a.json:1:0000 b.json:2:cdcd");
    /* a gap: no rule, no level; its time is the run of days */
    vigie_alert g;
    memset(&g, 0, sizeof g);
    memcpy(g.id, "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a", 33);
    g.kind = VIGIE_ALERT_GAP;
    g.rule.level = "high"; /* ignored: a gap has none */
    g.tenant = "t1";
    g.tenant_len = 2;
    g.u.gap = (vigie_alert_gap){.gap = "no_mailbox_audit", .from = "2023-06-01T00:00:00.000Z",
                                .to = "2023-06-04T00:00:00.000Z", .days = 3, .detail = "d"};
    CHECK_EQ_INT(vg__store_add_alert(st, 0, &g, "{}", 2), VIGIE_OK);
    CHECK_EQ_STR(q_text(db, "SELECT kind || '|' || coalesce(level, 'null') || '|' || time || '|' ||"
                            " last_time || '|' || (SELECT count(*) FROM evidence e WHERE e.alert_id = a.id)"
                            " FROM alerts a WHERE id = '9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a'"),
                 "gap|null|2023-06-01T00:00:00.000Z|2023-06-04T00:00:00.000Z|0");
    /* the same alert again: a duplicate, its evidence not repeated */
    CHECK_EQ_INT(vg__store_add_alert(st, 0, &a, text, strlen(text)), VIGIE_OK);
    vg_store_stats sst;
    vg__store_stats_get(st, &sst);
    CHECK_EQ_INT(sst.alerts_added, 2);
    CHECK_EQ_INT(sst.alerts_dup, 1);
    CHECK_EQ_INT(sst.evidence_added, 2);
    vg__store_close(st);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vigie-store-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_open_empty_file_migrates);
    RUN(test_open_refuses);
    RUN(test_every_kind_from_sample);
    RUN(test_add_alert_refusals);
    RUN(test_typed_alert);
    RUN(test_duplicates_across_runs);
    RUN(test_campaign_replace);
    RUN(test_readers);
    RUN(test_batches);
    RUN(test_migrate_v1);
    RUN(test_run_states);
    RUN(test_full_disk);
    RUN(test_evidence_two_files);
    RUN(test_locked);
    cleanup();
    return TEST_DONE();
}
