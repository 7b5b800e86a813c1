/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ingest_reader.c: the readers, format by format, on inputs built in memory (and a few
 * written to a temporary directory to go through files, directories and compression):
 * record text, file / line / index / byte offset of every record, what a bad record costs
 * (one diagnostic "file:line: reason", one count by status, nothing else lost), the
 * wrapper rule, CSV exports (Purview AuditData anywhere in the row, Log Analytics columns),
 * gzip / zstd including cut streams, and a 64 MiB line.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "ingest/ingest_int.h"
#include "test.h"

/* ---- helpers ---- */

#define MAXR 32

typedef struct got {
    int rc;        /* last vg__reader_next status */
    int fmt, comp;
    uint32_t n;
    char *text[MAXR];
    vg_source src[MAXR];
    vg_reader_stats st;
    uint32_t n_diag;
    char diag[4][300];
    char file[64]; /* src.file of the first record (the pointer dies with the reader) */
    uint64_t diag_line[4];
    int diag_rc[4];
} got;

static void on_diag(void *ud, const vigie_diag *d)
{
    got *g = ud;
    if (g->n_diag < 4) {
        snprintf(g->diag[g->n_diag], sizeof g->diag[0], "%s:%llu: %s", d->file ? d->file : "?",
                 (unsigned long long)d->line, d->message);
        g->diag_line[g->n_diag] = d->line;
        g->diag_rc[g->n_diag] = d->rc;
    }
    g->n_diag++;
}

static void got_free(got *g)
{
    for (uint32_t i = 0; i < g->n && i < MAXR; i++)
        free(g->text[i]);
    memset(g, 0, sizeof *g);
}

static void drain(vg_reader *r, got *g)
{
    vg_record rec;
    while ((g->rc = vg__reader_next(r, &rec)) == VIGIE_OK) {
        if (g->n < MAXR) {
            g->text[g->n] = strndup(rec.data, rec.len);
            g->src[g->n] = rec.src;
        }
        if (g->n == 0)
            snprintf(g->file, sizeof g->file, "%s", rec.src.file);
        g->n++;
    }
    g->fmt = vg__reader_format(r);
    g->comp = vg__reader_compression(r);
    g->st = *vg__reader_stats(r);
    vg__reader_close(r);
}

/* g must be zeroed or hold an earlier result (freed here). */
static void read_mem_opt(got *g, const char *name, const void *data, size_t len, size_t max)
{
    got_free(g);
    vg_reader_opts o = {on_diag, g, max, 0};
    vg_reader *r = NULL;
    g->rc = vg__reader_open_mem(&r, name, data, len, &o);
    if (g->rc == VIGIE_OK)
        drain(r, g);
}

static void read_mem(got *g, const char *name, const char *text)
{
    read_mem_opt(g, name, text, strlen(text), 0);
}

static char tmpdir[] = "/tmp/vigie-ingest-XXXXXX";

static const char *tmp_path(const char *name)
{
    static char p[8][600];
    static int k;
    char *s = p[k++ % 8];
    snprintf(s, 600, "%s/%s", tmpdir, name);
    return s;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    return p;
}

static void read_file_path(got *g, const char *path)
{
    got_free(g);
    vg_reader_opts o = {on_diag, g, 0, 0};
    vg_reader *r = NULL;
    g->rc = vg__reader_open(&r, path, &o);
    if (g->rc == VIGIE_OK)
        drain(r, g);
}

/* ---- NDJSON ---- */

static void test_ndjson_positions(void)
{
    got g = {0};
    const char *t = "{\"a\":1}\n\n{\"b\":2}\r\n   {\"c\":\"x\"}  \n{\"d\":4}";
    read_mem(&g, "n.jsonl", t);
    CHECK_EQ_INT(g.fmt, VG_FMT_NDJSON);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    CHECK_EQ_INT(g.n, 4);
    CHECK_EQ_STR(g.text[0], "{\"a\":1}");
    CHECK_EQ_STR(g.text[1], "{\"b\":2}");
    CHECK_EQ_STR(g.text[2], "{\"c\":\"x\"}"); /* surrounding blanks and CR trimmed */
    CHECK_EQ_STR(g.text[3], "{\"d\":4}");     /* last line without a newline */
    CHECK_EQ_STR(g.file, "n.jsonl");
    uint64_t lines[] = {1, 3, 4, 5}, offs[] = {0, 9, 21, 33};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(g.src[i].line, lines[i]);
        CHECK_EQ_INT(g.src[i].offset, offs[i]);
        CHECK_EQ_INT(g.src[i].index, i);
        CHECK_EQ_INT(memcmp(t + offs[i], g.text[i], strlen(g.text[i])), 0);
    }
    CHECK_EQ_INT(g.st.records, 4);
    CHECK_EQ_INT(g.st.bad_records, 0);
    CHECK_EQ_INT(g.st.bytes, strlen(t));
    got_free(&g);
}

/* The reader does not validate NDJSON lines (the worker parses each record and reports a
 * failure at the record's position): a malformed line and an invalid UTF-8 line come back
 * as records with their exact positions, and the good lines around them are intact. */
static void test_ndjson_bad_lines_returned_with_position(void)
{
    got g = {0};
    const char *t = "{\"a\":1}\n{\"b\":\n{\"c\":\"\xff\xfe\"}\n{\"d\":4}\n";
    read_mem(&g, "bad.jsonl", t);
    CHECK_EQ_INT(g.fmt, VG_FMT_NDJSON);
    CHECK_EQ_INT(g.n, 4);
    CHECK_EQ_STR(g.text[1], "{\"b\":");
    CHECK_EQ_INT(g.src[1].line, 2);
    CHECK_EQ_INT(g.src[2].line, 3);
    CHECK_EQ_INT(g.src[2].offset, 14);
    CHECK_EQ_STR(g.text[3], "{\"d\":4}");
    CHECK_EQ_INT(g.src[3].line, 4);
    /* what the worker does with them */
    vg_jtape t2;
    vg__jtape_init(&t2);
    vg_jerr err;
    CHECK_EQ_INT(vg__json_parse(&t2, g.text[1], strlen(g.text[1]), &err), VIGIE_TRUNCATED);
    CHECK_EQ_INT(vg__json_parse(&t2, g.text[2], strlen(g.text[2]), &err), VIGIE_UTF8);
    CHECK_EQ_INT(vg__json_parse(&t2, g.text[3], strlen(g.text[3]), &err), VIGIE_OK);
    vg__jtape_free(&t2);
    /* a first line that is broken does not turn the file into another format */
    read_mem(&g, "bad1.jsonl", "{\"a\":}\n{\"b\":2}\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_NDJSON);
    CHECK_EQ_INT(g.n, 2);
    got_free(&g);
}

/* A line longer than max_record: reported as TOOBIG with its line, skipped to the next
 * newline without being kept; the lines after it are read. */
static void test_ndjson_line_over_limit(void)
{
    size_t big = 3000;
    char *t = malloc(big + 64);
    size_t n = (size_t)sprintf(t, "{\"a\":1}\n{\"x\":\"");
    memset(t + n, 'y', big);
    n += big;
    n += (size_t)sprintf(t + n, "\"}\n{\"b\":2}\n");
    got g = {0};
    read_mem_opt(&g, "long.jsonl", t, n, 1024);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"b\":2}");
    CHECK_EQ_INT(g.src[1].line, 3);
    CHECK_EQ_INT(g.st.bad_records, 1);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_TOOBIG], 1);
    CHECK_EQ_INT(g.n_diag, 1);
    CHECK_EQ_INT(g.diag_line[0], 2);
    CHECK(strstr(g.diag[0], "long.jsonl:2:") != NULL);
    /* the same in an array: the element is TOOBIG, the next one is read */
    n = (size_t)sprintf(t, "[{\"a\":1},{\"x\":\"");
    memset(t + n, 'y', big);
    n += big;
    n += (size_t)sprintf(t + n, "\"},{\"b\":2}]");
    read_mem_opt(&g, "long.json", t, n, 1024);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"b\":2}");
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_TOOBIG], 1);
    got_free(&g);
    free(t);
}

/* 64 MiB on one line is a normal record under the default limit (256 MiB). */
static void test_ndjson_64mib_line(void)
{
    size_t big = 64u << 20;
    char *t = malloc(big + 64);
    if (!t)
        return;
    size_t n = (size_t)sprintf(t, "{\"a\":1}\n{\"blob\":\"");
    memset(t + n, 'q', big);
    n += big;
    n += (size_t)sprintf(t + n, "\"}\n{\"b\":2}\n");
    got g = {0};
    read_mem_opt(&g, "big.jsonl", t, n, 0);
    CHECK_EQ_INT(g.n, 3);
    CHECK_EQ_INT(g.st.bad_records, 0);
    CHECK(g.text[1] && strlen(g.text[1]) == big + 11);
    CHECK_EQ_INT(g.src[2].line, 3);
    CHECK_EQ_INT(g.src[2].offset, big + 20);
    got_free(&g);
    free(t);
}

/* ---- JSON arrays, wrappers, concatenated values ---- */

static void test_json_array(void)
{
    got g = {0};
    const char *t = "\xef\xbb\xbf[\n  {\"a\": 1},\n  {\"b\": [1, {\"c\": 2}]}\n]\n";
    read_mem(&g, "arr.json", t);
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_ARRAY);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"b\": [1, {\"c\": 2}]}");
    CHECK_EQ_INT(g.src[0].line, 2);
    CHECK_EQ_INT(g.src[0].offset, 7);
    CHECK_EQ_INT(g.src[1].line, 3);
    CHECK_EQ_INT(g.src[1].offset, 19);
    CHECK_EQ_INT(g.st.bad_records, 0);
    read_mem(&g, "empty.json", "[]");
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    CHECK_EQ_INT(g.st.bad_records, 0);
    /* a non-object element is a bad record */
    read_mem(&g, "mixed.json", "[{\"a\":1}, 5, {\"b\":2}]");
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_JSON], 1);
    got_free(&g);
}

/* Pretty-printed array with a malformed element: the reader resynchronises on the next
 * line that starts an element at the elements' indentation, not on nested objects. */
static void test_json_array_malformed_element(void)
{
    got g = {0};
    const char *t = "[\n"
                    "  {\"a\": 1},\n"
                    "  {\"bad\": [\n"
                    "    {\"n\": 1},\n"
                    "    {\"n\": ,}\n"
                    "  ]},\n"
                    "  {\"c\": 3}\n"
                    "]\n";
    read_mem(&g, "broken.json", t);
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_ARRAY);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[0], "{\"a\": 1}");
    CHECK_EQ_STR(g.text[1], "{\"c\": 3}");
    CHECK_EQ_INT(g.src[1].line, 7);
    CHECK_EQ_INT(g.st.bad_records, 1);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_JSON], 1);
    CHECK_EQ_INT(g.n_diag, 1);
    CHECK(strstr(g.diag[0], "broken.json:3:") != NULL);
    /* compact: resynchronised at the next "},{" */
    read_mem(&g, "compact.json", "[{\"a\":1},{\"b\":tru},{\"c\":3}]");
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"c\":3}");
    CHECK_EQ_INT(g.st.bad_records, 1);
    got_free(&g);
}

static void test_wrapped(void)
{
    got g = {0};
    /* CloudTrail */
    read_mem(&g, "ct.json", "{\"Records\": [\n{\"eventName\":\"A\"},\n{\"eventName\":\"B\"}\n]}");
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_WRAPPED);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.src[1].line, 3);
    /* Graph: scalar members before the array, nextLink after it */
    read_mem(&g, "graph.json",
             "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#auditLogs/"
             "signIns\",\"@odata.count\":2,\"value\":[{\"id\":\"1\"},{\"id\":\"2\"}],"
             "\"@odata.nextLink\":\"https://x\"}");
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_WRAPPED);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"id\":\"2\"}");
    CHECK_EQ_INT(g.st.bad_records, 0);
    /* other names, any case; an empty array */
    read_mem(&g, "ev.json", "{\"EVENTS\":[{\"x\":1}]}");
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_WRAPPED);
    CHECK_EQ_INT(g.n, 1);
    read_mem(&g, "none.json", "{\"value\":[]}");
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_WRAPPED);
    CHECK_EQ_INT(g.n, 0);
    /* several wrappers one after another (concatenated CloudTrail files), trailing members */
    read_mem(&g, "two.json", "{\"Records\":[{\"n\":1},{\"n\":2}],\"next\":{\"a\":[1]}}\n"
                             "{\"Records\":[{\"n\":3}]}\n[{\"n\":4}]\n{\"n\":5}\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_WRAPPED);
    CHECK_EQ_INT(g.n, 5);
    CHECK_EQ_STR(g.text[2], "{\"n\":3}");
    CHECK_EQ_INT(g.src[2].line, 2);
    CHECK_EQ_STR(g.text[4], "{\"n\":5}");
    CHECK_EQ_INT(g.src[4].line, 4);
    CHECK_EQ_INT(g.st.bad_records, 0);
    /* a wrapper whose tail is broken: reported, the rest ignored */
    read_mem(&g, "tail.json", "{\"value\":[{\"n\":1}],\"x\": oops}\n{\"n\":2}\n");
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_JSON], 1);
    /* not wrappers: a record whose array member comes after an object member, an array of
     * scalars, an unknown key: each is one record */
    read_mem(&g, "rec1.json", "{\"userIdentity\":{\"type\":\"Root\"},\"Records\":[{\"a\":1}]}\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_NDJSON);
    CHECK_EQ_INT(g.n, 1);
    read_mem(&g, "rec2.json", "{\"value\":[1,2,3]}\n");
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_STR(g.text[0], "{\"value\":[1,2,3]}");
    read_mem(&g, "rec3.json", "{\"resources\":[{\"arn\":\"x\"}],\"eventName\":\"A\"}\n");
    CHECK_EQ_INT(g.n, 1);
    got_free(&g);
}

static void test_concat(void)
{
    got g = {0};
    const char *t = "{\n  \"a\": 1\n}\n{\n  \"b\": {\"c\": 2}\n}{\"d\":3} {\"e\":4}\n";
    read_mem(&g, "cat.json", t);
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_CONCAT);
    CHECK_EQ_INT(g.n, 4);
    CHECK_EQ_INT(g.src[1].line, 4);
    CHECK_EQ_INT(g.src[1].offset, 13);
    CHECK_EQ_STR(g.text[2], "{\"d\":3}");
    CHECK_EQ_INT(g.src[3].line, 6);
    /* several objects on the first line */
    read_mem(&g, "cat1.json", "{\"a\":1}{\"b\":2}\n{\"c\":3}\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_CONCAT);
    CHECK_EQ_INT(g.n, 3);
    /* a malformed pretty-printed object among good ones */
    const char *b = "{\n  \"a\": 1\n}\n{\n  \"b\": [1,,2]\n}\n{\n  \"c\": 3\n}\n";
    read_mem(&g, "catbad.json", b);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\n  \"c\": 3\n}");
    CHECK_EQ_INT(g.src[1].line, 7);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_JSON], 1);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "catbad.json:4:") != NULL);
    /* nesting deeper than the JSON limit, in an array (parsed by the reader) */
    size_t depth = 2000;
    char *deep = malloc(2 * depth + 64);
    size_t n = (size_t)sprintf(deep, "[{\"a\":1},{\"x\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    n += (size_t)sprintf(deep + n, "},{\"b\":2}]");
    read_mem_opt(&g, "deep.json", deep, n, 0);
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_ARRAY);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"b\":2}");
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_TOODEEP], 1);
    free(deep);
    got_free(&g);
}

static void test_empty_and_garbage(void)
{
    got g = {0};
    read_mem(&g, "e.json", "");
    CHECK_EQ_INT(g.fmt, VG_FMT_EMPTY);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    CHECK_EQ_INT(g.n, 0);
    read_mem(&g, "ws.json", " \n\t\r\n");
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    /* no log: binary content is unreadable (one diagnostic, not a bad record) */
    read_mem(&g, "bin.dat", "\x01\x02\x03{{{");
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(g.rc, VIGIE_UNSUPPORTED);
    CHECK_EQ_INT(g.st.unreadable, 1);
    CHECK_EQ_INT(g.st.bad_records, 0);
    /* text that is neither JSON nor CSV stays one bad record */
    read_mem(&g, "prose.txt", "hello: world!\n");
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    CHECK_EQ_INT(g.st.bad_records, 1);
    CHECK_EQ_INT(g.st.unreadable, 0);
    got_free(&g);
}

/* ---- CSV ---- */

static void test_purview_csv_auditdata_anywhere(void)
{
    static const char *const files[] = {
        /* Search-UnifiedAuditLog / Purview export: AuditData last */
        "CreationDate,UserIds,Operations,AuditData\r\n"
        "2023-06-15T00:58:11.0000000Z,a@x.com,MailItemsAccessed,\"{\"\"Operation\"\":"
        "\"\"MailItemsAccessed\"\",\"\"n\"\":1}\"\r\n"
        "2023-06-15T00:59:11.0000000Z,b@x.com,MailItemsAccessed,\"{\"\"Operation\"\":"
        "\"\"MailItemsAccessed\"\",\"\"n\"\":2}\"\r\n",
        /* AuditData first */
        "AuditData,RecordId\n\"{\"\"Operation\"\":\"\"MailItemsAccessed\"\",\"\"n\"\":1}\",7\n"
        "\"{\"\"Operation\"\":\"\"MailItemsAccessed\"\",\"\"n\"\":2}\",8\n",
        /* AuditData in the middle, after a quoted cell with a comma */
        "RecordType,AuditData,CreationDate\n\"Exchange, item\",\"{\"\"Operation\"\":"
        "\"\"MailItemsAccessed\"\",\"\"n\"\":1}\",2023-06-15\n50,\"{\"\"Operation\"\":"
        "\"\"MailItemsAccessed\"\",\"\"n\"\":2}\",2023-06-15\n",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        got g = {0};
        read_mem(&g, "purview.csv", files[i]);
        CHECK_EQ_INT(g.fmt, VG_FMT_CSV_JSON_COLUMN);
        CHECK_EQ_INT(g.n, 2);
        CHECK_EQ_STR(g.text[0], "{\"Operation\":\"MailItemsAccessed\",\"n\":1}");
        CHECK_EQ_STR(g.text[1], "{\"Operation\":\"MailItemsAccessed\",\"n\":2}");
        CHECK_EQ_INT(g.src[0].line, 2);
        CHECK_EQ_INT(g.src[1].line, 3);
        CHECK_EQ_INT(g.src[1].index, 1);
        CHECK_EQ_INT(g.st.bad_records, 0);
        got_free(&g);
    }
}

/* No AuditData header: the JSON column is found by content (a column named ...Data whose
 * value is an object). */
static void test_csv_json_column_by_content(void)
{
    got g = {0};
    read_mem(&g, "x.csv", "When,Who,RecordData\n1,a,\"{\"\"CreationTime\"\":\"\"2023-06-15T00:58:11\"\"}\"\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_CSV_JSON_COLUMN);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_STR(g.text[0], "{\"CreationTime\":\"2023-06-15T00:58:11\"}");
    /* any column name, when the value is a UAL record */
    read_mem(&g, "y.csv", "Date,Record\n1,\"{\"\"CreationTime\"\":\"\"t\"\",\"\"Operation\"\":"
                          "\"\"Send\"\"}\"\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_CSV_JSON_COLUMN);
    CHECK_EQ_STR(g.text[0], "{\"CreationTime\":\"t\",\"Operation\":\"Send\"}");
    /* a Log Analytics dynamic column is not the record */
    read_mem(&g, "z.csv", "TimeGenerated,DeviceDetail\n1,\"{\"\"trustType\"\":\"\"x\"\"}\"\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_CSV_FIELDS);
    got_free(&g);
}

static void test_csv_fields(void)
{
    got g = {0};
    const char *t = "TimeGenerated [UTC],UserPrincipalName,ResultType,Empty,DeviceDetail,Note\n"
                    "\"4/28/2021, 3:05:26.000 PM\",a@x.com,50126,,\"{\"\"trustType\"\":"
                    "\"\"Azure AD joined\"\"}\",\"say \"\"hi\"\"\\\tnew\nline\"\n"
                    "2021-04-28,b@x.com,0,,,\n";
    read_mem(&g, "la.csv", t);
    CHECK_EQ_INT(g.fmt, VG_FMT_CSV_FIELDS);
    CHECK_EQ_INT(g.n, 2);
    /* header suffix " [UTC]" dropped, empty cells absent, values strings, JSON escaped */
    CHECK_EQ_STR(g.text[0], "{\"TimeGenerated\":\"4/28/2021, 3:05:26.000 PM\","
                            "\"UserPrincipalName\":\"a@x.com\",\"ResultType\":\"50126\","
                            "\"DeviceDetail\":\"{\\\"trustType\\\":\\\"Azure AD joined\\\"}\","
                            "\"Note\":\"say \\\"hi\\\"\\\\\\tnew\\nline\"}");
    CHECK_EQ_STR(g.text[1], "{\"TimeGenerated\":\"2021-04-28\",\"UserPrincipalName\":"
                            "\"b@x.com\",\"ResultType\":\"0\"}");
    CHECK_EQ_INT(g.src[0].line, 2);
    CHECK_EQ_INT(g.src[1].line, 4); /* the quoted newline moved it */
    vg_jtape jt;
    vg__jtape_init(&jt);
    for (uint32_t i = 0; i < g.n; i++)
        CHECK_EQ_INT(vg__json_parse(&jt, g.text[i], strlen(g.text[i]), NULL), VIGIE_OK);
    vg__jtape_free(&jt);
    /* one-column CSV (a watchlist) */
    read_mem(&g, "w.csv", "IPAddress\n23.102.131.33\n10.0.0.1\n");
    CHECK_EQ_INT(g.fmt, VG_FMT_CSV_FIELDS);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"IPAddress\":\"10.0.0.1\"}");
    got_free(&g);
}

/* A broken quote: that row is reported with its line, the next rows are read. */
static void test_csv_broken_quote(void)
{
    got g = {0};
    read_mem(&g, "b.csv", "a,b\n1,2\n3,\"oops\n5,6\n");
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"a\":\"5\",\"b\":\"6\"}");
    CHECK_EQ_INT(g.src[1].line, 4);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_CSV], 1);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "b.csv:3:") != NULL);
    /* Purview rows all quote AuditData: a missing closing quote must not swallow the next
     * row */
    read_mem(&g, "p.csv", "CreationDate,AuditData\n"
                          "d1,\"{\"\"n\"\":1}\"\n"
                          "d2,\"{\"\"n\"\":2}\n"
                          "d3,\"{\"\"n\"\":3}\"\n"
                          "d4,\"{\"\"n\"\":4}\"\n");
    CHECK_EQ_INT(g.n, 3);
    CHECK_EQ_STR(g.text[1], "{\"n\":3}");
    CHECK_EQ_INT(g.src[1].line, 4);
    CHECK_EQ_STR(g.text[2], "{\"n\":4}");
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_CSV], 1);
    CHECK_EQ_INT(g.diag_line[0], 3);
    got_free(&g);
}

typedef struct rows {
    uint32_t n;
    uint64_t line[8];
    uint32_t cells[8];
    char first[8][64];
} rows;

static int on_row(void *ud, uint64_t line, const char *const *cells, const size_t *lens,
                  uint32_t n)
{
    rows *r = ud;
    if (r->n < 8) {
        r->line[r->n] = line;
        r->cells[r->n] = n;
        snprintf(r->first[r->n], 64, "%.*s", (int)lens[n - 1], cells[n - 1]);
    }
    r->n++;
    return 0;
}

static void test_csv_parse_api(void)
{
    rows r = {0};
    uint64_t el = 0;
    const char *t = "\xef\xbb\xbfh1,h2\r\n\"a\"\"b\",\"x\r\ny\"\r\nc,\r\n";
    CHECK_EQ_INT(vg__csv_parse(t, strlen(t), on_row, &r, &el), VIGIE_OK);
    CHECK_EQ_INT(r.n, 3);
    CHECK_EQ_STR(r.first[0], "h2");
    CHECK_EQ_STR(r.first[1], "x\r\ny");
    CHECK_EQ_INT(r.line[2], 4);
    CHECK_EQ_INT(r.cells[2], 2);
    CHECK_EQ_STR(r.first[2], "");
    memset(&r, 0, sizeof r);
    const char *b = "a,b\n1,\"2\n";
    CHECK_EQ_INT(vg__csv_parse(b, strlen(b), on_row, &r, &el), VIGIE_CSV);
    CHECK_EQ_INT(el, 2);
    CHECK_EQ_INT(r.n, 1);
}

/* ---- compression ---- */

static size_t ndjson_text(char *buf, size_t cap, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "{\"i\":%d,\"pad\":\"%0*d\"}\n", i,
                                i % 50 + 1, 0);
    return len;
}

static size_t gzip_member(const char *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

static void test_gzip(void)
{
    static char text[200000];
    size_t tl = ndjson_text(text, sizeof text, 2000);
    size_t cap = compressBound((uLong)tl) + 64;
    unsigned char *gz = malloc(2 * cap);
    /* two members: read as one stream */
    size_t gl = gzip_member(text, tl, gz, cap);
    gl += gzip_member(text, tl, gz + gl, cap);
    got g = {0};
    read_mem_opt(&g, "t.jsonl.gz", gz, gl, 0);
    CHECK_EQ_INT(g.comp, VG_COMP_GZIP);
    CHECK_EQ_INT(g.fmt, VG_FMT_NDJSON);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    CHECK_EQ_INT(g.n, 4000);
    CHECK_EQ_INT(g.st.bytes, 2 * tl);
    CHECK_EQ_INT(g.st.bytes_read, gl);
    CHECK_EQ_INT(g.st.bad_records, 0);
    got_free(&g);
    /* through a file too, and the name does not matter */
    read_file_path(&g, write_file("no-extension", gz, gl));
    CHECK_EQ_INT(g.comp, VG_COMP_GZIP);
    CHECK_EQ_INT(g.n, 4000);
    got_free(&g);
    /* truncated: the records decoded before the cut are returned, then TRUNCATED; the
     * partial last line is not returned as a record */
    size_t cut = gl / 4;
    read_mem_opt(&g, "cut.gz", gz, cut, 0);
    CHECK_EQ_INT(g.rc, VIGIE_TRUNCATED);
    CHECK(g.n > 100 && g.n < 2000);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_TRUNCATED], 1);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "truncated gzip") != NULL);
    for (uint32_t i = 0; i < g.n && i < MAXR; i++)
        CHECK(g.text[i][strlen(g.text[i]) - 1] == '}');
    got_free(&g);
    /* corrupt in the middle */
    unsigned char *bad = malloc(gl);
    memcpy(bad, gz, gl);
    for (size_t i = gl / 3; i < gl / 3 + 64; i++)
        bad[i] ^= 0x5a;
    read_mem_opt(&g, "corrupt.gz", bad, gl, 0);
    CHECK(g.rc == VIGIE_DECOMPRESS || g.rc == VIGIE_TRUNCATED);
    CHECK(g.n < 4000);
    CHECK_EQ_INT(g.st.bad_records, 1);
    got_free(&g);
    free(bad);
    free(gz);
}

static void test_zstd(void)
{
    /* large enough for several zstd blocks (128 KiB each), so a cut frame has decoded some */
    static char text[2000000];
    size_t tl = ndjson_text(text, sizeof text, 20000);
    size_t cap = ZSTD_compressBound(tl);
    unsigned char *zs = malloc(2 * cap);
    size_t zl = ZSTD_compress(zs, cap, text, tl, 3);
    CHECK(!ZSTD_isError(zl));
    size_t z2 = ZSTD_compress(zs + zl, cap, text, tl, 3); /* two frames */
    got g = {0};
    read_mem_opt(&g, "t.zst", zs, zl + z2, 0);
    CHECK_EQ_INT(g.comp, VG_COMP_ZSTD);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    CHECK_EQ_INT(g.n, 40000);
    CHECK_EQ_INT(g.src[1].line, 2);
    got_free(&g);
    read_mem_opt(&g, "cut.zst", zs, zl / 2, 0);
    CHECK_EQ_INT(g.rc, VIGIE_TRUNCATED);
    CHECK(g.n > 0 && g.n < 20000);
    CHECK_EQ_INT(g.st.bad_records, 1);
    got_free(&g);
    free(zs);
}

/* gzip of a pretty-printed JSON array (CloudTrail's delivery format) */
static void test_gzip_wrapped(void)
{
    const char *t = "{\"Records\":[\n {\"eventName\":\"A\"},\n {\"eventName\":\"B\"}\n]}\n";
    unsigned char gz[512];
    size_t gl = gzip_member(t, strlen(t), gz, sizeof gz);
    got g = {0};
    read_mem_opt(&g, "ct.json.gz", gz, gl, 0);
    CHECK_EQ_INT(g.fmt, VG_FMT_JSON_WRAPPED);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.src[1].line, 3);
    CHECK_EQ_INT(g.src[1].offset, 34);
    got_free(&g);
}

/* ---- encodings ---- */

/* UTF-8 text -> UTF-16 (le or be), with a BOM or not. Returns the length. */
static size_t to_utf16(const char *u8, size_t n, bool be, bool bom, unsigned char *out)
{
    size_t o = 0;
    uint32_t units[2];
    if (bom) {
        out[o++] = be ? 0xFE : 0xFF;
        out[o++] = be ? 0xFF : 0xFE;
    }
    for (size_t i = 0; i < n;) {
        const unsigned char *s = (const unsigned char *)u8 + i;
        uint32_t cp;
        if (s[0] < 0x80) {
            cp = s[0];
            i += 1;
        } else if (s[0] < 0xE0) {
            cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
            i += 2;
        } else if (s[0] < 0xF0) {
            cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
            i += 3;
        } else {
            cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
                 (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
            i += 4;
        }
        int nu = 1;
        units[0] = cp;
        if (cp >= 0x10000) {
            units[0] = 0xD800 + ((cp - 0x10000) >> 10);
            units[1] = 0xDC00 + ((cp - 0x10000) & 0x3FF);
            nu = 2;
        }
        for (int k = 0; k < nu; k++) {
            out[o++] = (unsigned char)(be ? units[k] >> 8 : units[k] & 0xFF);
            out[o++] = (unsigned char)(be ? units[k] & 0xFF : units[k] >> 8);
        }
    }
    return o;
}

/* The same records, lines and offsets from UTF-8 and from UTF-16 LE / BE, with and without
 * a BOM (offsets of a BOM input count it as the 3 bytes of a UTF-8 BOM), across blocks
 * (surrogate pairs split by a block end), plain and gzip-compressed. */
static void test_utf16(void)
{
    /* ~600 KiB: more than two 256 KiB blocks of UTF-16 */
    size_t cap = 700000, tl = 0;
    char *text = malloc(cap);
    for (int i = 0; tl < 300000; i++)
        tl += (size_t)snprintf(text + tl, cap - tl,
                               "{\"i\":%d,\"who\":\"Ren\xc3\xa9"
                               "e \xe6\x9d\xb1\xe4\xba\xac\","
                               "\"e\":\"\xf0\x9f\x98\x80"
                               "%.*s\"}\n",
                               i, i % 7, "abcdefg");
    got ref = {0};
    read_mem_opt(&ref, "u8.ndjson", text, tl, 0);
    CHECK_EQ_INT(ref.fmt, VG_FMT_NDJSON);
    CHECK(ref.n > 1000);
    unsigned char *u16 = malloc(4 * cap + 4);
    size_t gcap = compressBound((uLong)(4 * cap)) + 64;
    unsigned char *gz = malloc(gcap);
    for (int v = 0; v < 6; v++) {
        bool be = v & 1, bom = (v >> 1) & 1, zip = v >= 4;
        size_t ul = to_utf16(text, tl, be, bom, u16);
        got g = {0};
        if (zip)
            read_mem_opt(&g, "u16.gz", gz, gzip_member((const char *)u16, ul, gz, gcap), 0);
        else
            read_mem_opt(&g, "u16.ndjson", u16, ul, 0);
        CHECK_MSG(g.n == ref.n && g.rc == VIGIE_EOF, "variant %d: %u records, rc %d", v, g.n, g.rc);
        CHECK_EQ_INT(g.fmt, VG_FMT_NDJSON);
        CHECK_EQ_INT(g.st.bad_records, 0);
        CHECK_EQ_INT(g.st.bytes, tl + (bom ? 3 : 0));
        for (uint32_t i = 0; i < g.n && i < MAXR; i++) {
            CHECK_EQ_STR(g.text[i], ref.text[i]);
            CHECK_EQ_INT(g.src[i].line, ref.src[i].line);
            CHECK_EQ_INT(g.src[i].offset, ref.src[i].offset + (bom ? 3 : 0));
        }
        got_free(&g);
    }
    /* every record equal, the last ones too (after several blocks): through a file */
    size_t ul = to_utf16(text, tl, false, true, u16);
    vg_reader *r8 = NULL, *r16 = NULL;
    CHECK_EQ_INT(vg__reader_open_mem(&r8, "a", text, tl, NULL), VIGIE_OK);
    CHECK_EQ_INT(vg__reader_open(&r16, write_file("le.ndjson", u16, ul), NULL), VIGIE_OK);
    vg_record a, b;
    uint64_t same = 0;
    int ra, rb;
    while ((ra = vg__reader_next(r8, &a)) == VIGIE_OK &&
           (rb = vg__reader_next(r16, &b)) == VIGIE_OK)
        same += a.len == b.len && !memcmp(a.data, b.data, a.len) && a.src.line == b.src.line;
    CHECK_EQ_INT(same, ref.n);
    CHECK_EQ_INT(vg__reader_encoding(r16), VG_ENC_UTF16LE);
    CHECK_EQ_INT(vg__reader_encoding(r8), VG_ENC_UTF8);
    vg__reader_close(r8);
    vg__reader_close(r16);
    got_free(&ref);
    free(gz);
    free(u16);
    free(text);
}

/* A Purview CSV saved as UTF-16LE with a BOM (Excel, PowerShell Export-Csv) reads as the
 * UTF-8 one does. */
static void test_utf16_purview_csv(void)
{
    const char *csv = "CreationDate,UserIds,Operations,AuditData\r\n"
                      "2023-06-15T00:58:11.0000000Z,a@x.com,MailItemsAccessed,\"{\"\"Operation\"\":"
                      "\"\"MailItemsAccessed\"\",\"\"UserId\"\":\"\"Jos\xc3\xa9\"\"}\"\r\n";
    unsigned char u16[2048];
    size_t ul = to_utf16(csv, strlen(csv), false, true, u16);
    got g = {0};
    read_mem_opt(&g, "purview16.csv", u16, ul, 0);
    CHECK_EQ_INT(g.fmt, VG_FMT_CSV_JSON_COLUMN);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_STR(g.text[0], "{\"Operation\":\"MailItemsAccessed\",\"UserId\":\"Jos\xc3\xa9\"}");
    CHECK_EQ_INT(g.src[0].line, 2);
    CHECK_EQ_INT(g.st.bad_records, 0);
    got_free(&g);
}

/* Broken UTF-16: a lone surrogate makes its record invalid UTF-8 (the reader reports it once
 * with its byte offset; the JSON array reader rejects the record, the others are read); an
 * odd last byte is a truncation after the complete records. */
static void test_utf16_broken(void)
{
    const char *t = "[{\"a\":1},\n{\"a\":\"X\"},\n{\"a\":3}]\n";
    unsigned char u16[256];
    size_t ul = to_utf16(t, strlen(t), false, true, u16);
    /* the X (at UTF-8 byte 16, UTF-16 byte 2 + 2 * 16) becomes a lone low surrogate */
    CHECK(u16[34] == 'X' && u16[35] == 0);
    u16[34] = 0x00;
    u16[35] = 0xDC;
    got g = {0};
    read_mem_opt(&g, "lone.json", u16, ul, 0);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_STR(g.text[1], "{\"a\":3}");
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_UTF8], 1);
    CHECK(g.n_diag == 2 && strstr(g.diag[0], "unpaired surrogate 0xDC00 at byte 34") != NULL);
    CHECK(g.n_diag == 2 && strstr(g.diag[1], "lone.json:2: record 2 skipped") != NULL);
    got_free(&g);
    /* odd byte count */
    const char *nd = "{\"a\":1}\n{\"a\":2}\n";
    ul = to_utf16(nd, strlen(nd), true, false, u16);
    u16[ul++] = '{';
    read_mem_opt(&g, "odd.ndjson", u16, ul, 0);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.rc, VIGIE_TRUNCATED);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_TRUNCATED], 1);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "an odd last byte at byte 32") != NULL);
    /* a high surrogate at the very end */
    ul = to_utf16(nd, strlen(nd), false, false, u16);
    u16[ul++] = 0x3D;
    u16[ul++] = 0xD8;
    read_mem_opt(&g, "half.ndjson", u16, ul, 0);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.rc, VIGIE_TRUNCATED);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "half a surrogate pair") != NULL);
    got_free(&g);
}

/* ---- inputs that are no log ---- */

#define CASE(lit, looks)                                                                           \
    {                                                                                              \
        lit, sizeof lit - 1, looks                                                                 \
    }

static void test_unreadable(void)
{
    static const struct {
        const char *data;
        size_t len;
        const char *looks;
    } cases[] = {
        CASE("PK\x03\x04\x14\x00\x00\x00\x08\x00 fake zip entry", "looks like: zip)"),
        CASE("ElfFile\0\0\0\0\0\0\0\0\0{\"not\":\"json\"}", "looks like: evtx)"),
        CASE("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "looks like: pdf)"),
        CASE("\x7f"
             "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
             "looks like: elf)"),
        CASE("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "looks like: png)"),
        CASE("\x01\x02\x03\x04\x05\x06\x07\x08{\"a\":1}\n{\"b\":2}\n", "looks like: binary)"),
    };
    got g = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        read_mem_opt(&g, "x.log", cases[i].data, cases[i].len, 0);
        CHECK_MSG(g.rc == VIGIE_UNSUPPORTED && g.st.unreadable == 1, "case %zu: rc %d", i, g.rc);
        CHECK_EQ_INT(g.n, 0);
        CHECK_EQ_INT(g.st.bad_records, 0);
        CHECK_MSG(g.n_diag == 1 && strstr(g.diag[0], "x.log:0: not a log vigie can read (") &&
                      strstr(g.diag[0], cases[i].looks),
                  "case %zu: %s", i, g.n_diag ? g.diag[0] : "(no diagnostic)");
        CHECK_EQ_INT(g.diag_rc[0], VIGIE_UNSUPPORTED);
    }
    /* random bytes (a fixed generator) */
    unsigned char rnd[8192];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof rnd; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        rnd[i] = (unsigned char)(x >> 24);
    }
    read_mem_opt(&g, "rnd", rnd, sizeof rnd, 0);
    CHECK_EQ_INT(g.st.unreadable, 1);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "looks like: binary") != NULL);
    /* nested compression: reported as such */
    unsigned char gz1[256], gz2[512];
    size_t l1 = gzip_member("{\"a\":1}\n", 8, gz1, sizeof gz1);
    size_t l2 = gzip_member((const char *)gz1, l1, gz2, sizeof gz2);
    read_mem_opt(&g, "twice.gz", gz2, l2, 0);
    CHECK_EQ_INT(g.st.unreadable, 1);
    CHECK_EQ_INT(g.n, 0);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "gzip inside gzip") != NULL);
    /* text with some Latin-1 bytes (invalid UTF-8) and ANSI colours is still text */
    const char *latin = "Name,Ville,marker\nRen\xe9,Orl\xe9"
                        "ans,\x1b[1mkeep\x1b[0m\n";
    read_mem(&g, "latin1.csv", latin);
    CHECK_MSG(g.n_diag == 0, "%s", g.diag[0]);
    CHECK_EQ_INT(g.st.unreadable, 0);
    CHECK_EQ_INT(g.n, 1);
    got_free(&g);
}

/* ---- decompression limits ---- */

static void test_decompress_limits(void)
{
    static char text[200000];
    size_t tl = ndjson_text(text, sizeof text, 2000);
    size_t cap = compressBound((uLong)tl) + 64;
    unsigned char *gz = malloc(cap);
    size_t gl = gzip_member(text, tl, gz, cap);
    got g = {0};
    got_free(&g);
    vg_reader_opts o = {on_diag, &g, 0, 10000};
    vg_reader *r = NULL;
    CHECK_EQ_INT(vg__reader_open_mem(&r, "lim.gz", gz, gl, &o), VIGIE_OK);
    drain(r, &g);
    /* the records wholly inside the first 10,000 bytes, then TOOBIG naming the limit */
    uint32_t want = 0;
    for (size_t i = 0, end = 0; i < tl; i++)
        if (text[i] == '\n' && (end = i + 1) <= 10000)
            want++;
    CHECK_EQ_INT(g.n, want);
    CHECK_EQ_INT(g.rc, VIGIE_TOOBIG);
    CHECK_EQ_INT(g.st.bytes, 10000);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_TOOBIG], 1);
    CHECK(g.n_diag == 1 &&
          strstr(g.diag[0], "lim.gz:0: decompressed size exceeds 10000 bytes "
                            "(--max-decompressed 10000): rest of file not read") != NULL);
    got_free(&g);
    /* zstd too */
    size_t zcap = ZSTD_compressBound(tl);
    unsigned char *zs = malloc(zcap);
    size_t zl = ZSTD_compress(zs, zcap, text, tl, 3);
    o.diag_ud = &g;
    CHECK_EQ_INT(vg__reader_open_mem(&r, "lim.zst", zs, zl, &o), VIGIE_OK);
    drain(r, &g);
    CHECK_EQ_INT(g.n, want);
    CHECK_EQ_INT(g.rc, VIGIE_TOOBIG);
    got_free(&g);
    /* plain text is not bounded by it (its size is what is on disk) */
    CHECK_EQ_INT(vg__reader_open_mem(&r, "plain", text, tl, &o), VIGIE_OK);
    drain(r, &g);
    CHECK_EQ_INT(g.n, 2000);
    got_free(&g);
    free(zs);
    free(gz);
}

/* zstd windows: a frame declaring a 2 GiB window (zstd --long=31 on a stream of unknown
 * size) is read; one declaring 4 GiB is refused with the limit named. */
static void test_zstd_window(void)
{
    const char *t = "{\"a\":1}\n{\"a\":2}\n";
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 31);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1);
    unsigned char out[256];
    ZSTD_outBuffer ob = {out, sizeof out, 0};
    ZSTD_inBuffer ib = {t, strlen(t), 0};
    /* streamed (as from a pipe): the frame does not know its size and keeps the window */
    CHECK(!ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
    ZSTD_inBuffer none = {NULL, 0, 0};
    CHECK(ZSTD_compressStream2(cc, &ob, &none, ZSTD_e_end) == 0);
    ZSTD_freeCCtx(cc);
    /* the frame header declares it: no single-segment flag, window exponent 21 (2^31) */
    CHECK((out[4] & 0x20) == 0 && out[5] == 21 << 3);
    got g = {0};
    read_mem_opt(&g, "long31.zst", out, ob.pos, 0);
    CHECK_EQ_INT(g.rc, VIGIE_EOF);
    CHECK_EQ_INT(g.n, 2);
    CHECK_EQ_INT(g.st.bad_records, 0);
    /* magic, no flags, window descriptor exponent 22 (2^32), one raw last block "{}\n" */
    static const unsigned char w32[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xb0,
                                        0x19, 0x00, 0x00, '{',  '}',  '\n'};
    read_mem_opt(&g, "w32.zst", w32, sizeof w32, 0);
    CHECK_EQ_INT(g.rc, VIGIE_TOOBIG);
    CHECK_EQ_INT(g.n, 0);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "VG_ZSTD_MAX_WINDOW_LOG (31: 2048 MiB)") != NULL);
    got_free(&g);
}

/* ---- CSV width ---- */

static void test_csv_wide(void)
{
    size_t cap = 600000, n = 0;
    char *t = malloc(cap);
    /* 5,000 columns (more than the old limit of 4,096): read */
    for (int k = 0; k < 5000; k++)
        n += (size_t)snprintf(t + n, cap - n, "c%d,", k);
    n += (size_t)snprintf(t + n, cap - n, "marker\n");
    for (int k = 0; k < 5000; k++)
        n += (size_t)snprintf(t + n, cap - n, "v,");
    n += (size_t)snprintf(t + n, cap - n, "keep\n");
    got g = {0};
    read_mem_opt(&g, "w.csv", t, n, 0);
    CHECK_EQ_INT(g.fmt, VG_FMT_CSV_FIELDS);
    CHECK_EQ_INT(g.n, 1);
    CHECK(g.n == 1 && strstr(g.text[0], "\"c4999\":\"v\",\"marker\":\"keep\"}") != NULL);
    /* one row over VG_MAX_CSV_COLUMNS among good ones: only that row is skipped, named */
    n = (size_t)snprintf(t, cap, "marker,n\nkeep,1\nkeep,2");
    for (uint32_t k = 0; k < VG_MAX_CSV_COLUMNS; k++)
        t[n++] = ',';
    n += (size_t)snprintf(t + n, cap - n, "\nkeep,\"3\n3\"\nkeep,4\n");
    read_mem_opt(&g, "wide.csv", t, n, 0);
    CHECK_EQ_INT(g.n, 3);
    CHECK(g.n == 3 && strstr(g.text[1], "\"n\":\"3\\n3\"") != NULL);
    CHECK_EQ_INT(g.src[2].line, 6);
    CHECK_EQ_INT(g.st.bad_by_rc[VIGIE_TOOBIG], 1);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "wide.csv:3: record 2 skipped: CSV row 3 has more "
                                             "than VG_MAX_CSV_COLUMNS (65536) columns") != NULL);
    /* a header over it: the file cannot be read */
    n = 0;
    for (uint32_t k = 0; k <= VG_MAX_CSV_COLUMNS; k++)
        n += (size_t)snprintf(t + n, cap - n, "c,");
    n += (size_t)snprintf(t + n, cap - n, "\nkeep,1\n");
    read_mem_opt(&g, "widehdr.csv", t, n, 0);
    CHECK_EQ_INT(g.n, 0);
    CHECK_EQ_INT(g.rc, VIGIE_UNSUPPORTED);
    CHECK_EQ_INT(g.st.unreadable, 1);
    CHECK(g.n_diag == 1 && strstr(g.diag[0], "widehdr.csv:1: CSV header has more than "
                                             "VG_MAX_CSV_COLUMNS (65536) columns: the file "
                                             "cannot be read") != NULL);
    got_free(&g);
    free(t);
}

/* ---- inputs ---- */

static void test_inputs(void)
{
    char sub[700];
    snprintf(sub, sizeof sub, "%s/dir", tmpdir);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/dir/sub", tmpdir);
    mkdir(sub, 0700);
    write_file("dir/b.json", "{}\n", 3);
    write_file("dir/a.json", "{}\n", 3);
    write_file("dir/.hidden", "{}\n", 3);
    write_file("dir/sub/c.json", "{}\n", 3);
    char d[700], missing[700];
    snprintf(d, sizeof d, "%s/dir", tmpdir);
    snprintf(missing, sizeof missing, "%s/nope.json", tmpdir);
    const char *args[] = {d, "-", missing};
    vg_inputs in = {0};
    got g = {0};
    memset(&g, 0, sizeof g);
    CHECK_EQ_INT(vg__inputs_expand(&in, args, 3, on_diag, &g), VIGIE_OK);
    CHECK_EQ_INT(in.n, 4);
    if (in.n == 4) {
        CHECK(strstr(in.paths[0], "/dir/a.json") != NULL);
        CHECK(strstr(in.paths[1], "/dir/b.json") != NULL);
        CHECK(strstr(in.paths[2], "/dir/sub/c.json") != NULL);
        CHECK_EQ_STR(in.paths[3], "-");
    }
    CHECK_EQ_INT(g.n_diag, 1);
    CHECK_EQ_INT(g.diag_rc[0], VIGIE_NOENT);
    CHECK(strstr(g.diag[0], "nope.json") != NULL);
    vg__inputs_free(&in);
    vg_reader *r = NULL;
    CHECK_EQ_INT(vg__reader_open(&r, missing, NULL), VIGIE_NOENT);
    CHECK(r == NULL);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_ndjson_positions);
    RUN(test_ndjson_bad_lines_returned_with_position);
    RUN(test_ndjson_line_over_limit);
    RUN(test_ndjson_64mib_line);
    RUN(test_json_array);
    RUN(test_json_array_malformed_element);
    RUN(test_wrapped);
    RUN(test_concat);
    RUN(test_empty_and_garbage);
    RUN(test_purview_csv_auditdata_anywhere);
    RUN(test_csv_json_column_by_content);
    RUN(test_csv_fields);
    RUN(test_csv_broken_quote);
    RUN(test_csv_parse_api);
    RUN(test_gzip);
    RUN(test_zstd);
    RUN(test_gzip_wrapped);
    RUN(test_utf16);
    RUN(test_utf16_purview_csv);
    RUN(test_utf16_broken);
    RUN(test_unreadable);
    RUN(test_decompress_limits);
    RUN(test_zstd_window);
    RUN(test_csv_wide);
    RUN(test_inputs);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    return TEST_DONE();
}
