/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ingest.h: from bytes on disk to records with a source position and a known log shape.
 *
 * Stage: ingest (depends on util, json). Three parts:
 *  1. inputs: files, directories (recursive, sorted), "-" for stdin;
 *  2. readers: decompress (gzip, zstd: detected by magic bytes, bounded by limits.h), decode
 *     UTF-16 to UTF-8, refuse what is no log (signatures, binary), detect the format from the
 *     content (NDJSON, JSON array, an object wrapping a record array such as CloudTrail's
 *     {"Records":[...]} or Azure's {"value":[...]}, concatenated JSON, CSV with a JSON column
 *     such as the Purview export's AuditData, CSV whose columns are the fields) and split the
 *     stream into records, each a JSON object text with its file, line and byte offset.
 *     A bad record is reported with its position through the diag callback, counted by
 *     reason and skipped; reading goes on with the next record;
 *  3. shapes: classify a parsed record (M365 UAL, OfficeActivity, Entra sign-in and audit in
 *     their Graph / Log Analytics / Event Hub shapes, CloudTrail, Okta, GCP audit, Azure
 *     activity, Windows events as JSON), giving its Sigma logsource, tenant and time, and the
 *     field map (data/fieldmaps/NAME.yml, compiled into the binary) that resolves Sigma field
 *     names on that shape.
 *
 * Memory: a reader owns a bounded window buffer (grows to the largest record, capped by
 * VG_MAX_RECORD_BYTES) and reuses it; a record's bytes are valid until the next call.
 * Thread safety: one reader per thread; a vg_fieldmap is immutable after load and shared.
 */
#ifndef VG_INGEST_H
#define VG_INGEST_H

#include "util/util.h"
#include "json/json.h"

/* ---- inputs ------------------------------------------------------------------------------ */

typedef struct vg_inputs {
    char **paths; /* owned; regular files, in order; "-" for stdin */
    uint32_t n;
    uint32_t cap;
} vg_inputs;

/* Expand each argument: files as they are, directories recursively (entries sorted by
 * name, hidden entries skipped), "-" kept. Missing paths are reported and skipped. */
int vg__inputs_expand(vg_inputs *in, const char *const *args, uint32_t n_args,
                      vigie_diag_fn diag, void *diag_ud);
void vg__inputs_free(vg_inputs *in);

/* ---- readers ------------------------------------------------------------------------------ */

typedef enum {
    VG_FMT_UNKNOWN = 0, VG_FMT_NDJSON, VG_FMT_JSON_ARRAY, VG_FMT_JSON_WRAPPED,
    VG_FMT_JSON_CONCAT, VG_FMT_CSV_JSON_COLUMN, VG_FMT_CSV_FIELDS, VG_FMT_EMPTY
} vg_format;
const char *vg__format_name(int fmt);

typedef enum { VG_COMP_NONE = 0, VG_COMP_GZIP, VG_COMP_ZSTD } vg_compression;

/* Text encoding of an input, detected after decompression: UTF-16 is transcoded to UTF-8 as
 * it is read, and everything after (format detection, records, positions) sees UTF-8. */
typedef enum { VG_ENC_UTF8 = 0, VG_ENC_UTF16LE, VG_ENC_UTF16BE } vg_encoding;

typedef struct vg_source {
    const char *file;  /* the input path ("-" for stdin): valid while the reader lives */
    uint64_t line;     /* 1-based line where the record starts (decoded text) */
    uint64_t index;    /* 0-based record index within the file */
    uint64_t offset;   /* byte offset of the record's first byte in the decoded text: after
                          decompression and, for UTF-16 input, in its UTF-8 transcoding
                          (the BOM counted as the 3 bytes of a UTF-8 BOM) */
} vg_source;

typedef struct vg_record {
    const char *data;  /* one JSON object text; for CSV rows a synthesized object */
    size_t len;
    vg_source src;
} vg_record;

typedef struct vg_reader_stats {
    uint64_t bytes_read;         /* bytes read from the file (compressed size) */
    uint64_t bytes;              /* bytes of decoded text (decompressed, UTF-8) */
    uint64_t records;            /* good records returned */
    uint64_t bad_records;        /* skipped records, all reasons */
    uint64_t bad_by_rc[VIGIE_STATUS_COUNT]; /* skipped records by status (JSON, UTF8, CSV...) */
    /* 1 when the input is not a log vigie can read (a known non-log signature, binary
     * content, nested compression, a CSV header over VG_MAX_CSV_COLUMNS): reported once, no
     * record returned; not itself a bad record */
    uint64_t unreadable;
} vg_reader_stats;

typedef struct vg_reader_opts {
    vigie_diag_fn diag;          /* every skipped record: file:line: reason */
    void *diag_ud;
    size_t max_record;           /* 0 = VG_MAX_RECORD_BYTES */
    uint64_t max_decompressed;   /* decompressed bytes per input; 0 = VG_MAX_DECOMPRESSED_BYTES */
} vg_reader_opts;

typedef struct vg_reader vg_reader;

/* Open path ("-" = stdin). Compression is detected on open; encoding (UTF-16 by BOM or by
 * NUL every other byte), non-log content and format on the first read. */
int vg__reader_open(vg_reader **out, const char *path, const vg_reader_opts *opts);
/* Next good record: VIGIE_OK, VIGIE_EOF at the end, or a fatal status (I/O error, or
 * a truncated/corrupt compressed stream, or a decompression limit hit: reported, and the
 * records before it were returned; VIGIE_UNSUPPORTED when the input is not a log vigie can
 * read: reported once, stats->unreadable set, nothing returned).
 * Bad records are never returned: they are reported, counted and skipped.
 * Validation contract: the reader checks records only as far as it needs to split them.
 * NDJSON lines are split on newlines and NOT parsed (a malformed or invalid UTF-8 line is
 * returned with its position): the caller parses every record (vg__json_parse) and reports
 * and counts a failure itself with rec->src. Array elements and concatenated values are
 * parsed here (vg__json_parse_prefix), so their syntax errors are reported by the reader;
 * CSV field rows are synthesized as valid JSON. src.index counts skipped records too. */
int vg__reader_next(vg_reader *r, vg_record *rec);
const vg_reader_stats *vg__reader_stats(const vg_reader *r);
int vg__reader_format(const vg_reader *r);      /* vg_format, once known */
int vg__reader_compression(const vg_reader *r); /* vg_compression */
int vg__reader_encoding(const vg_reader *r);    /* vg_encoding, once known */
void vg__reader_close(vg_reader *r);

/* Parse CSV text for tests and fuzzing: split into rows and cells (RFC 4180, plus the
 * quirks of real exports: BOM, CRLF, embedded newlines in quotes). Calls fn per row. */
typedef int (*vg_csv_row_fn)(void *ud, uint64_t line, const char *const *cells,
                             const size_t *lens, uint32_t n_cells);
int vg__csv_parse(const char *text, size_t len, vg_csv_row_fn fn, void *ud, uint64_t *err_line);

/* ---- shapes ------------------------------------------------------------------------------- */

typedef enum {
    VG_SHAPE_UNKNOWN = 0,
    VG_SHAPE_M365_UAL,          /* Management Activity API record (also Purview CSV AuditData) */
    VG_SHAPE_OFFICEACTIVITY,    /* Sentinel OfficeActivity row */
    VG_SHAPE_SIGNIN_GRAPH,      /* Graph signIn */
    VG_SHAPE_SIGNIN_LA,         /* Log Analytics SigninLogs (and AADNonInteractive...) */
    VG_SHAPE_SIGNIN_EVENTHUB,   /* diagnostic-settings envelope, category *SignInLogs */
    VG_SHAPE_AUDIT_GRAPH,       /* Graph directoryAudit */
    VG_SHAPE_AUDIT_LA,          /* Log Analytics AuditLogs */
    VG_SHAPE_AUDIT_EVENTHUB,    /* envelope, category AuditLogs */
    VG_SHAPE_AZURE_ACTIVITY,    /* Azure activity log (envelope or AzureActivity row) */
    VG_SHAPE_CLOUDTRAIL,
    VG_SHAPE_OKTA,
    VG_SHAPE_GCP_AUDIT,
    VG_SHAPE_WINDOWS,           /* {"Event":{"System":...,"EventData":...}} */
    VG_SHAPE_COUNT
} vg_shape;
const char *vg__shape_name(int shape);

#define VG_EI_MAX_SERVICES 4
#define VG_EI_MAX_CATEGORIES 4

typedef struct vg_eventinfo {
    uint8_t shape;                 /* vg_shape */
    uint16_t map_id;               /* field-map section for this event (vg__fieldmap_paths) */
    /* product, services and categories are static strings: equal values are the same pointer
     * (the matcher's route cache compares them by pointer) */
    const char *product;           /* Sigma logsource product (static string) or NULL */
    const char *services[VG_EI_MAX_SERVICES]; /* Sigma services this event belongs to */
    uint8_t n_services;
    const char *categories[VG_EI_MAX_CATEGORIES];
    uint8_t n_categories;
    const char *tenant;            /* organization / tenant id, unescaped, or NULL; points
                                      into the record or the classifier's buffer */
    size_t tenant_len;
    bool has_time;
    double time;                   /* event time, Unix seconds UTC */
} vg_eventinfo;

typedef struct vg_fieldmap vg_fieldmap;

/* Load the field maps compiled into the binary (data/fieldmaps/NAME.yml). */
int vg__fieldmap_load_builtin(vg_fieldmap **out, vigie_diag_fn diag, void *diag_ud);
/* The same in two steps, so that other sections can come first (a record takes the first
 * section that selects it): an empty map (identity only), then the built-in sections
 * appended. */
int vg__fieldmap_new(vg_fieldmap **out);
int vg__fieldmap_add_builtin(vg_fieldmap *m, vigie_diag_fn diag, void *diag_ud);
/* Load field maps from YAML text (tests) or add a user file. */
int vg__fieldmap_load_string(vg_fieldmap *m, const char *name, const char *yaml, size_t len,
                             vigie_diag_fn diag, void *diag_ud);
void vg__fieldmap_free(vg_fieldmap *m);
uint16_t vg__fieldmap_count(const vg_fieldmap *m);  /* number of map ids */

/* Candidate paths for a Sigma field name on events of map id `map_id`, in the order they
 * are tried: the matcher uses the values of the first candidate path present in the event.
 * The field name itself (as written) is always the first candidate unless the map says
 * otherwise. Never NULL; *n >= 1. Pointers live as long as the map. */
const char *const *vg__fieldmap_paths(const vg_fieldmap *m, uint16_t map_id, const char *field,
                                      uint32_t *n);

/* Classify a parsed record: shape, logsource, map id, tenant, time. Never fails: unknown
 * records get VG_SHAPE_UNKNOWN, map id 0 (identity), no product. `tmp` holds unescaped
 * strings that ei points to; valid until its next reset. */
void vg__shape_classify(const vg_fieldmap *m, const vg_jtape *t, vg_jscratch *s, vg_buf *tmp,
                        vg_eventinfo *ei);

/* Case-insensitive logsource routing: true when every part the rule gives is one the event
 * has (NULL in the rule = any). */
bool vg__logsource_matches(const vg_eventinfo *ei, const char *product, const char *category,
                           const char *service);

#endif
