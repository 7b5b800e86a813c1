/* SPDX-License-Identifier: Apache-2.0 */
/* test_util.c: buffers (and their sticky errors), the grow helper, the hash map, arena, time
 * parsing and formatting, status names, the escaping of text shown to people, and safe output files
 * (no planted name followed, devices and FIFOs written as they are, nothing left behind on abort or
 * failure). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/ser.h"
#include "util/util.h"

static void test_buf(void)
{
    vg_buf b;
    vg__buf_init(&b, 10);
    CHECK_EQ_INT(vg__buf_adds(&b, "hello"), VIGIE_OK);
    CHECK_EQ_INT(vg__buf_adds(&b, " world"), VIGIE_TOOBIG);
    CHECK_EQ_STR(b.data, "hello");
    vg__buf_reset(&b);
    b.toobig = 0;
    CHECK_EQ_INT(vg__buf_add_json_str(&b, "a\"b\\c\n\x01\xff", 8), VIGIE_OK);
    CHECK_EQ_STR(b.data, "a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD");
    vg__buf_free(&b);
}

/* A failed append is remembered: later appends do nothing and report it, even those that
 * would fit, so a key built of several appends is never a shortened key that looks whole. */
static void test_buf_sticky(void)
{
    vg_buf b;
    vg__buf_init(&b, 8);
    CHECK_EQ_INT(vg__buf_failed(&b), VIGIE_OK);
    CHECK_EQ_INT(vg__buf_adds(&b, "abc"), VIGIE_OK);
    CHECK_EQ_INT(vg__buf_adds(&b, "defghijk"), VIGIE_TOOBIG);
    CHECK_EQ_INT(vg__buf_failed(&b), VIGIE_TOOBIG);
    CHECK_EQ_INT(vg__buf_addc(&b, 'x'), VIGIE_TOOBIG); /* would fit: refused all the same */
    CHECK_EQ_INT(vg__buf_printf(&b, "%d", 1), VIGIE_TOOBIG);
    CHECK_EQ_INT(vg__buf_add_json_str(&b, "y", 1), VIGIE_TOOBIG);
    CHECK_EQ_INT(vg__buf_add_escaped(&b, "z", 1), VIGIE_TOOBIG);
    CHECK_EQ_INT(vg__buf_reserve(&b, 0), VIGIE_TOOBIG);
    CHECK_EQ_STR(b.data, "abc"); /* what was there before the failure */
    CHECK_EQ_INT((int)b.len, 3);
    vg__buf_reset(&b); /* reset starts afresh */
    CHECK_EQ_INT(vg__buf_failed(&b), VIGIE_OK);
    CHECK_EQ_INT(vg__buf_adds(&b, "x"), VIGIE_OK);
    CHECK_EQ_STR(b.data, "x");
    /* an escaping append that fails half-way leaves nothing of itself */
    vg__buf_reset(&b);
    CHECK_EQ_INT(vg__buf_adds(&b, "ab"), VIGIE_OK);
    CHECK_EQ_INT(vg__buf_add_escaped(&b, "c\x01\x02", 3), VIGIE_TOOBIG);
    CHECK_EQ_STR(b.data, "ab");
    vg__buf_free(&b);
    vg__buf_init(&b, 16);
    CHECK_EQ_INT(vg__buf_add_json_str(&b, "\x01\x02\x03", 3), VIGIE_TOOBIG);
    CHECK_EQ_INT((int)b.len, 0);
    CHECK_EQ_INT(vg__buf_failed(&b), VIGIE_TOOBIG);
    vg__buf_free(&b);
    CHECK_EQ_INT(vg__buf_failed(&b), VIGIE_OK);
}

static void test_grow(void)
{
    uint32_t *a = NULL, cap = 0;
    CHECK_EQ_INT(VG_GROW(a, cap, 1, 16), VIGIE_OK);
    CHECK_EQ_INT((int)cap, 16);
    for (uint32_t i = 0; i < 16; i++)
        a[i] = i;
    CHECK_EQ_INT(VG_GROW(a, cap, 16, 16), VIGIE_OK); /* fits: nothing */
    CHECK_EQ_INT((int)cap, 16);
    CHECK_EQ_INT(VG_GROW(a, cap, 17, 16), VIGIE_OK); /* doubles */
    CHECK_EQ_INT((int)cap, 32);
    CHECK_EQ_INT(VG_GROW(a, cap, 1000, 16), VIGIE_OK); /* doubles until it holds need */
    CHECK_EQ_INT((int)cap, 1024);
    CHECK_EQ_INT((int)a[15], 15); /* contents kept */
    /* overflow: the size multiplication would wrap; the old array stays as it was */
    uint32_t *keep = a;
    CHECK_EQ_INT(VG_GROW(a, cap, (size_t)UINT32_MAX + 1, 16), VIGIE_TOOBIG);
    CHECK(a == keep);
    CHECK_EQ_INT((int)cap, 1024);
    CHECK_EQ_INT((int)a[15], 15);
    struct wide {
        char b[1024];
    } *w = NULL;
    size_t wcap = 0;
    CHECK_EQ_INT(VG_GROW(w, wcap, SIZE_MAX / 512, 1), VIGIE_TOOBIG);
    CHECK(w == NULL);
    CHECK_EQ_INT((int)wcap, 0);
    /* a size_t capacity grows the same way */
    size_t scap = 0;
    char *c = NULL;
    CHECK_EQ_INT(VG_GROW(c, scap, 65, 64), VIGIE_OK);
    CHECK_EQ_INT((int)scap, 128);
    free(c);
    free(a);
}

/* The case-insensitive hash is vg__hash64 of the lowercased bytes, at every length (across the
 * 64-byte blocks it lowercases in); the _ci map finds a key in any case. */
static void test_hmap_ci(void)
{
    char up[200], low[200];
    for (size_t i = 0; i < sizeof up; i++) {
        up[i] = (char)((i % 3) ? 'A' + i % 26 : '0' + i % 10);
        low[i] = (char)vg__lower((unsigned char)up[i]);
    }
    for (size_t n = 0; n <= sizeof up; n++) {
        CHECK(vg__hash64_ci(up, n, 7) == vg__hash64(low, n, 7));
        CHECK(vg__hash64_ci(low, n, 7) == vg__hash64(low, n, 7));
    }
    CHECK(vg__hash64_ci("Okta", 4, 7) != vg__hash64_ci("Oktb", 4, 7));
    vg_hmap m;
    vg__hmap_init(&m, 0);
    vg_hmap_slot *e;
    bool added;
    CHECK_EQ_INT(vg__hmap_put_ci(&m, "Okta", 4, &e, &added), VIGIE_OK);
    CHECK(added);
    e->val.idx = 5;
    CHECK_EQ_INT(vg__hmap_put_ci(&m, "OKTA", 4, &e, &added), VIGIE_OK);
    CHECK(!added);
    CHECK_EQ_INT((int)e->val.idx, 5);
    CHECK(memcmp(e->key.p, "Okta", 4) == 0); /* the first spelling is kept */
    e = vg__hmap_find_ci(&m, "okta", 4);
    CHECK(e && e->val.idx == 5);
    CHECK(vg__hmap_find_ci(&m, "okt", 3) == NULL);
    CHECK(vg__hmap_find_ci(&m, "oktb", 4) == NULL);
    /* many keys, found in another case after the slots grew */
    static char keys[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof keys[i], "K%dx", i);
        CHECK_EQ_INT(vg__hmap_put_ci(&m, keys[i], strlen(keys[i]), &e, &added), VIGIE_OK);
        CHECK(added);
        e->val.idx = (uint32_t)i + 10;
    }
    for (int i = 0; i < 300; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%dX", i);
        e = vg__hmap_find_ci(&m, k, strlen(k));
        CHECK(e && e->val.idx == (uint32_t)i + 10);
    }
    CHECK_EQ_INT((int)m.n, 301);
    vg__hmap_free(&m);
}

static void test_grow_max(void)
{
    uint32_t *a = NULL, cap = 0;
    CHECK_EQ_INT(VG_GROW_MAX(a, cap, 1, 256, 100), VIGIE_OK); /* first alone passes the bound */
    CHECK_EQ_INT((int)cap, 100);
    free(a);
    a = NULL;
    cap = 0;
    CHECK_EQ_INT(VG_GROW_MAX(a, cap, 1, 32, 100), VIGIE_OK);
    CHECK_EQ_INT((int)cap, 32);
    a[31] = 7;
    CHECK_EQ_INT(VG_GROW_MAX(a, cap, 33, 32, 100), VIGIE_OK);
    CHECK_EQ_INT((int)cap, 64);
    CHECK_EQ_INT(VG_GROW_MAX(a, cap, 65, 32, 100), VIGIE_OK); /* the last doubling stops at 100 */
    CHECK_EQ_INT((int)cap, 100);
    CHECK_EQ_INT((int)a[31], 7);
    uint32_t *keep = a;
    CHECK_EQ_INT(VG_GROW_MAX(a, cap, 101, 32, 100), VIGIE_TOOBIG); /* past the bound: unchanged */
    CHECK(a == keep);
    CHECK_EQ_INT((int)cap, 100);
    CHECK_EQ_INT(VG_GROW_MAX(a, cap, 100, 32, 100), VIGIE_OK); /* fits: nothing */
    free(a);
}

/* Keys are borrowed: they live in this array, the map holds their index. */
static void test_hmap(void)
{
    enum { N = 5000 };
    static char keys[N][16];
    vg_hmap m;
    vg__hmap_init(&m, 0);
    CHECK(vg__hmap_find(&m, "x", 1) == NULL); /* empty map */
    for (uint32_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%u", i);
        vg_hmap_slot *e;
        bool added;
        CHECK_EQ_INT(vg__hmap_put(&m, keys[i], strlen(keys[i]), &e, &added), VIGIE_OK);
        CHECK(added);
        e->val.idx = i;
    }
    CHECK_EQ_INT((int)m.n, N);
    CHECK(m.cap >= 2 * N && (m.cap & (m.cap - 1)) == 0);
    for (uint32_t i = 0; i < N; i++) {
        vg_hmap_slot *e = vg__hmap_find(&m, keys[i], strlen(keys[i]));
        CHECK(e && e->val.idx == i);
        bool added;
        CHECK_EQ_INT(vg__hmap_put(&m, keys[i], strlen(keys[i]), &e, &added), VIGIE_OK);
        CHECK(!added && e->val.idx == i); /* found again, not added twice */
    }
    CHECK(vg__hmap_find(&m, "key-5000", 8) == NULL);
    CHECK(vg__hmap_find(&m, "key-1", 4) == NULL); /* a prefix is another key */
    /* iteration visits every entry once */
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    uint32_t it = 0, count = 0;
    vg_hmap_slot *e;
    while ((e = vg__hmap_next(&m, &it))) {
        CHECK(e->val.idx < N && !seen[e->val.idx]);
        seen[e->val.idx] = 1;
        count++;
    }
    CHECK_EQ_INT((int)count, N);
    vg__hmap_clear(&m);
    CHECK_EQ_INT((int)m.n, 0);
    CHECK(vg__hmap_find(&m, keys[7], strlen(keys[7])) == NULL);
    vg__hmap_free(&m);

    /* every key with the same hash: found by comparing the bytes (lengths first) */
    vg__hmap_init(&m, 0);
    for (uint32_t i = 0; i < 200; i++) {
        bool added;
        CHECK_EQ_INT(vg__hmap_put_h(&m, 42, keys[i], strlen(keys[i]), &e, &added), VIGIE_OK);
        CHECK(added);
        e->val.ptr = keys[i];
    }
    for (uint32_t i = 0; i < 200; i++) {
        e = vg__hmap_find_h(&m, 42, keys[i], strlen(keys[i]));
        CHECK(e && e->val.ptr == keys[i]);
    }
    CHECK(vg__hmap_find_h(&m, 42, "key-200", 7) == NULL);
    CHECK(vg__hmap_find_h(&m, 0, "", 0) == NULL);
    bool added;
    CHECK_EQ_INT(vg__hmap_put_h(&m, 0, "", 0, &e, &added), VIGIE_OK); /* hash 0 and empty key */
    CHECK(added && vg__hmap_find_h(&m, 0, "", 0) == e);
    vg__hmap_free(&m);

    /* bounded: the max+1-th new key is refused and changes nothing; known keys still found */
    vg__hmap_init(&m, 100);
    for (uint64_t k = 0; k < 100; k++) {
        CHECK_EQ_INT(vg__hmap_put_u64(&m, k * 0x100000000ull, &e, &added), VIGIE_OK);
        CHECK(added);
        e->val.idx = (uint32_t)k;
    }
    CHECK_EQ_INT(vg__hmap_put_u64(&m, 12345, &e, &added), VIGIE_TOOBIG);
    CHECK(e == NULL && !added);
    CHECK_EQ_INT((int)m.n, 100);
    CHECK(vg__hmap_find_u64(&m, 12345) == NULL);
    CHECK_EQ_INT(vg__hmap_put_u64(&m, 99 * 0x100000000ull, &e, &added), VIGIE_OK);
    CHECK(!added && e->val.idx == 99);
    e = vg__hmap_find_u64(&m, 0);
    CHECK(e && e->val.idx == 0);
    vg__hmap_free(&m);
}

static void test_arena(void)
{
    vg_arena *a = vg__arena_new(64);
    char *s = vg__arena_strdup(a, "abc");
    void *big = vg__arena_alloc(a, 1000);
    char *t = vg__arena_strdup(a, "def");
    CHECK(big != NULL);
    CHECK_EQ_STR(s, "abc");
    CHECK_EQ_STR(t, "def");
    vg__arena_free(a);
}

static void test_time(void)
{
    double t;
    char out[40];
    CHECK_EQ_INT(vg__parse_time("2023-06-01T03:04:05Z", 20, &t), VIGIE_OK);
    CHECK(t == 1685588645.0);
    CHECK_EQ_INT(vg__parse_time("2023-06-01T03:04:05", 19, &t), VIGIE_OK);
    CHECK(t == 1685588645.0);
    CHECK_EQ_INT(vg__parse_time("2023-06-01T05:04:05+02:00", 25, &t), VIGIE_OK);
    CHECK(t == 1685588645.0);
    CHECK_EQ_INT(vg__parse_time("2023-06-01 03:04:05.5", 21, &t), VIGIE_OK);
    CHECK(t == 1685588645.5);
    CHECK_EQ_INT(vg__parse_time("2023-13-01", 10, &t), VIGIE_INVAL);
    CHECK_EQ_INT(vg__parse_time("yesterday", 9, &t), VIGIE_INVAL);
    vg__format_time(1685588645.25, out, sizeof out);
    CHECK_EQ_STR(out, "2023-06-01T03:04:05.250Z");
}

static void test_status(void)
{
    CHECK_EQ_STR(vigie_status_name(VIGIE_JSON), "JSON");
    CHECK_EQ_STR(vigie_strerror(VIGIE_OK), "success");
    CHECK_EQ_STR(vigie_status_name(-1), "UNKNOWN");
}

static void test_b64url(void)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    CHECK_EQ_INT(vg__b64url_encode(&b, (const unsigned char *)"\xfb\xffhi", 4), VIGIE_OK);
    CHECK_EQ_STR(b.data, "-_9oaQ");
    unsigned char out[8];
    size_t ol;
    CHECK_EQ_INT(vg__b64url_decode("-_9oaQ", 6, out, sizeof out, &ol), VIGIE_OK);
    CHECK(ol == 4 && memcmp(out, "\xfb\xffhi", 4) == 0);
    CHECK_EQ_INT(vg__b64url_decode("+/9oaQ==", 8, out, sizeof out, &ol), VIGIE_OK);
    CHECK_EQ_INT(ol, 4);
    CHECK_EQ_INT(vg__b64url_decode("ab$c", 4, out, sizeof out, &ol), VIGIE_INVAL);
    CHECK_EQ_INT(vg__b64url_decode("aGVsbG8gd29ybGQ", 15, out, 4, &ol), VIGIE_TOOBIG);
    vg__buf_free(&b);
}

static void test_escape(void)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    /* ESC, BEL, CR, LF, TAB, NUL, DEL, a C1 CSI (U+009B), a lone 0x9b, U+202E, and text */
    static const char in[] = "a\x1b[31mb\x07\r\n\t\x00\x7f\xc2\x9b\x9b\xe2\x80\xae"
                             "\xc3\xa9\\z";
    CHECK_EQ_INT(vg__buf_add_escaped(&b, in, sizeof in - 1), VIGIE_OK);
    CHECK_EQ_STR(b.data, "a\\x1b[31mb\\x07\\r\\n\\t\\x00\\x7f\\u009b\\x9b\\u202e\xc3\xa9\\z");
    for (size_t i = 0; i < b.len; i++)
        CHECK((unsigned char)b.data[i] >= 0x20 && (unsigned char)b.data[i] != 0x7f);
    vg__buf_free(&b);

    /* bounded: never half an escape, never half a UTF-8 sequence, always NUL-terminated */
    char out[8];
    CHECK_EQ_INT((int)vg__escape_to(out, sizeof out, "abcd\x1b", 5), 4);
    CHECK_EQ_STR(out, "abcd");
    CHECK_EQ_INT((int)vg__escape_to(out, sizeof out, "abc\n\x1b", 5), 5);
    CHECK_EQ_STR(out, "abc\\n");
    CHECK_EQ_INT((int)vg__escape_to(out, sizeof out, "abcdef\xc3\xa9", 8), 6);
    CHECK_EQ_STR(out, "abcdef");
    CHECK_EQ_INT((int)vg__escape_to(out, 1, "abc", 3), 0);
    CHECK_EQ_STR(out, "");

    /* diagnostics: file name, rule id and message cannot forge a line */
    char *mem = NULL;
    size_t ml = 0;
    FILE *f = open_memstream(&mem, &ml);
    vigie_diag d = {0};
    d.level = VIGIE_DIAG_ERROR;
    d.file = "x\n\x1b[2Jy.log";
    d.line = 3;
    d.rule_id = "r\r1";
    d.message = "bad\nvigie: note: forged";
    vg__diag_print(f, &d);
    vg__print_escaped(f, "vigie: error: %s: %s\n", "a\x07" "b", "c");
    fclose(f);
    CHECK_EQ_STR(mem, "vigie: error: x\\n\\x1b[2Jy.log:3: rule r\\r1: bad\\nvigie: note: forged\n"
                      "vigie: error: a\\x07b: c\n");
    free(mem);
}

static char *slurp(const char *path)
{
    char *s = NULL;
    size_t n;
    return vg__read_file(path, 1 << 20, &s, &n) == VIGIE_OK ? s : NULL;
}

/* number of entries in dir other than . and .. */
static int n_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void put(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(s, f);
        fclose(f);
    }
}

static void test_safefile(void)
{
    char dir[] = "/tmp/vigie-safefile-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char out[256], victim[256], link[256], tmp[300];
    snprintf(out, sizeof out, "%s/out.json", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(link, sizeof link, "%s/out.json.tmp", dir);
    put(victim, "VICTIM");
    CHECK_EQ_INT(symlink(victim, link), 0);

    /* a new file: whole content, mode 0644 less the umask, only OUT and the planted link
     * beside the victim afterwards (no temporary left), the victim untouched */
    mode_t um = umask(022);
    CHECK_EQ_INT(vg__safefile_write(out, "hello\n", 6), VIGIE_OK);
    umask(um);
    char *got = slurp(out);
    CHECK(got && !strcmp(got, "hello\n"));
    free(got);
    struct stat st;
    CHECK_EQ_INT(lstat(out, &st), 0);
    CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);
    got = slurp(victim);
    CHECK(got && !strcmp(got, "VICTIM"));
    free(got);
    CHECK_EQ_INT(n_entries(dir), 3);

    /* an existing file keeps its permission bits */
    CHECK_EQ_INT(chmod(out, 0600), 0);
    CHECK_EQ_INT(vg__safefile_write(out, "again", 5), VIGIE_OK);
    CHECK_EQ_INT(stat(out, &st), 0);
    CHECK_EQ_INT((int)(st.st_mode & 0777), 0600);

    /* a symbolic link at OUT itself is replaced, its target is left alone */
    char ln2[256];
    snprintf(ln2, sizeof ln2, "%s/viaLink", dir);
    CHECK_EQ_INT(symlink(victim, ln2), 0);
    CHECK_EQ_INT(vg__safefile_write(ln2, "new", 3), VIGIE_OK);
    CHECK_EQ_INT(lstat(ln2, &st), 0);
    CHECK(S_ISREG(st.st_mode));
    got = slurp(victim);
    CHECK(got && !strcmp(got, "VICTIM"));
    free(got);

    /* abort: OUT unchanged, no temporary left */
    int before = n_entries(dir);
    vg_safefile *sf;
    CHECK_EQ_INT(vg__safefile_open(out, &sf), VIGIE_OK);
    fputs("half", vg__safefile_stream(sf));
    vg__safefile_abort(sf);
    got = slurp(out);
    CHECK(got && !strcmp(got, "again"));
    free(got);
    CHECK_EQ_INT(n_entries(dir), before);

    /* a character device is written as it is and stays a device; a failing one reports
     * errno (ENOSPC from /dev/full) */
    CHECK_EQ_INT(vg__safefile_write("/dev/null", "x", 1), VIGIE_OK);
    CHECK_EQ_INT(stat("/dev/null", &st), 0);
    CHECK(S_ISCHR(st.st_mode));
    errno = 0;
    CHECK_EQ_INT(vg__safefile_write("/dev/full", "x", 1), VIGIE_IO);
    CHECK_EQ_INT(errno, ENOSPC);

    /* a FIFO: written through, still a FIFO */
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
    int rfd = open(fifo, O_RDONLY | O_NONBLOCK);
    CHECK(rfd >= 0);
    CHECK_EQ_INT(vg__safefile_write(fifo, "via fifo", 8), VIGIE_OK);
    char rb[16] = {0};
    CHECK_EQ_INT((int)read(rfd, rb, sizeof rb - 1), 8);
    CHECK_EQ_STR(rb, "via fifo");
    close(rfd);
    CHECK_EQ_INT(lstat(fifo, &st), 0);
    CHECK(S_ISFIFO(st.st_mode));

    /* refused: a directory, a parent that is not a directory; errno says why */
    errno = 0;
    CHECK_EQ_INT(vg__safefile_write(dir, "x", 1), VIGIE_IO);
    CHECK_EQ_INT(errno, EISDIR);
    snprintf(tmp, sizeof tmp, "%s/sub", victim);
    errno = 0;
    CHECK_EQ_INT(vg__safefile_write(tmp, "x", 1), VIGIE_IO);
    CHECK_EQ_INT(errno, ENOTDIR);

    /* "-" is standard output */
    CHECK_EQ_INT(vg__safefile_open("-", &sf), VIGIE_OK);
    CHECK(vg__safefile_stream(sf) == stdout);
    CHECK_EQ_INT(vg__safefile_commit(sf), VIGIE_OK);

    /* clean up */
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(tmp, sizeof tmp, "%s/%s", dir, e->d_name);
        unlink(tmp);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* ser.h: every value round-trips; a cut or hostile span sets the sticky error and never reads
 * past its end. */
static void test_ser(void)
{
    vg_buf b;
    vg__buf_init(&b, 0);
    vg__ser_u8(&b, 0xAB);
    vg__ser_u32(&b, 0xDEADBEEFu);
    vg__ser_u64(&b, 0x0123456789ABCDEFull);
    vg__ser_i64(&b, -42);
    vg__ser_f64(&b, NAN);
    vg__ser_f64(&b, -1.5);
    vg__ser_bool(&b, true);
    vg__ser_str(&b, "tenant");
    vg__ser_str(&b, NULL);
    vg__ser_str(&b, "");
    vg__ser_u64(&b, 7);
    CHECK(!vg__buf_failed(&b));
    vg_rd r;
    vg__rd_init(&r, b.data, b.len);
    CHECK(vg__rd_u8(&r) == 0xAB);
    CHECK(vg__rd_u32(&r) == 0xDEADBEEFu);
    CHECK(vg__rd_u64(&r) == 0x0123456789ABCDEFull);
    CHECK(vg__rd_i64(&r) == -42);
    CHECK(isnan(vg__rd_f64(&r)));
    CHECK(vg__rd_f64(&r) == -1.5);
    CHECK(vg__rd_bool(&r));
    char *s = vg__rd_strdup(&r);
    CHECK(s && !strcmp(s, "tenant"));
    free(s);
    size_t n;
    bool null;
    CHECK(!vg__rd_bytes(&r, &n, &null) && null && n == 0);
    s = vg__rd_strdup(&r);
    CHECK(s && !*s);
    free(s);
    CHECK(vg__rd_count(&r, 6) == 0 && r.err); /* 7 > 6: refused */
    /* every cut of the span fails cleanly */
    for (size_t cut = 0; cut + 8 < b.len; cut++) {
        vg_rd q;
        vg__rd_init(&q, b.data, cut);
        vg__rd_u8(&q);
        vg__rd_u32(&q);
        vg__rd_u64(&q);
        vg__rd_i64(&q);
        vg__rd_f64(&q);
        vg__rd_f64(&q);
        vg__rd_bool(&q);
        free(vg__rd_strdup(&q));
        free(vg__rd_strdup(&q));
        free(vg__rd_strdup(&q));
        vg__rd_u64(&q);
        CHECK(q.err && q.at <= cut && !vg__rd_done(&q));
    }
    /* a length larger than the span */
    uint8_t hostile[] = {0x10, 0, 0, 0, 'a', 'b'};
    vg__rd_init(&r, hostile, sizeof hostile);
    CHECK(!vg__rd_strdup(&r) && r.err);
    uint8_t badbool[] = {2};
    vg__rd_init(&r, badbool, 1);
    CHECK(!vg__rd_bool(&r) && r.err);
    vg__buf_free(&b);
}

int main(void)
{
    RUN(test_ser);
    RUN(test_escape);
    RUN(test_safefile);
    RUN(test_b64url);
    RUN(test_buf);
    RUN(test_buf_sticky);
    RUN(test_grow);
    RUN(test_grow_max);
    RUN(test_hmap_ci);
    RUN(test_hmap);
    RUN(test_arena);
    RUN(test_time);
    RUN(test_status);
    return TEST_DONE();
}
