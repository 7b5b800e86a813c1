/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vigie.h: the public interface of libvigie, a detection engine for security logs.
 *
 * Data flow: inputs (files, directories, stdin) are read by ingest into records; each
 * record is parsed by the JSON reader into a flat tape, classified into a log shape (M365
 * UAL, Entra sign-in, CloudTrail, ...), and matched against a compiled, immutable rule set
 * by a per-worker matcher. Matches become alerts.
 *
 * Ownership, in one sentence: every handle returned by a vigie_*_new/_load/_compile call
 * is owned by the caller and freed with the matching _free call; strings passed in are
 * copied unless documented otherwise, and pointers handed to callbacks are valid only for
 * the duration of the callback.
 *
 * Thread safety: a compiled vigie_ruleset is read-only and may be shared by any number of
 * threads; each thread needs its own vigie_matcher.
 */
#ifndef VIGIE_VIGIE_H
#define VIGIE_VIGIE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIE_VERSION "0.1.0"

/* One list of status codes: X(name, message). */
#define VIGIE_STATUS_MAP(X)                                                                       \
    X(OK, "success")                                                                              \
    X(NOMEM, "out of memory")                                                                     \
    X(IO, "input/output error")                                                                   \
    X(NOENT, "no such file or directory")                                                         \
    X(INVAL, "invalid argument")                                                                  \
    X(TOOBIG, "input exceeds a configured limit")                                                 \
    X(TOODEEP, "nesting too deep")                                                                \
    X(JSON, "malformed JSON")                                                                     \
    X(UTF8, "invalid UTF-8")                                                                      \
    X(CSV, "malformed CSV")                                                                       \
    X(YAML, "malformed YAML")                                                                     \
    X(RULE, "invalid rule")                                                                       \
    X(CONDITION, "invalid condition")                                                             \
    X(MODIFIER, "unknown or invalid modifier")                                                    \
    X(REGEX, "invalid regular expression")                                                        \
    X(UNSUPPORTED, "unsupported construct")                                                       \
    X(DECOMPRESS, "decompression failed")                                                         \
    X(TRUNCATED, "truncated input")                                                               \
    X(NOTFOUND, "not found")                                                                      \
    X(PREFILTER, "prefilter (Vectorscan) error")                                                  \
    X(LIMIT, "match limit reached")                                                               \
    X(EOF, "end of input")                                                                        \
    X(VERIFY, "verification failed")                                                              \
    X(CRYPTO, "cryptographic library error")

typedef enum {
#define VIGIE_X_ENUM(name, msg) VIGIE_##name,
    VIGIE_STATUS_MAP(VIGIE_X_ENUM)
#undef VIGIE_X_ENUM
        VIGIE_STATUS_COUNT
} vigie_status;

/* Short upper-case name ("JSON") and human message ("malformed JSON") of a status. */
const char *vigie_status_name(int rc);
const char *vigie_strerror(int rc);

/* A diagnostic: an error or warning with its position. Passed to a vigie_diag_fn; all
 * pointers are valid only during the callback. line/col are 1-based, 0 when unknown. */
typedef enum { VIGIE_DIAG_ERROR = 0, VIGIE_DIAG_WARNING = 1, VIGIE_DIAG_NOTE = 2 } vigie_diag_level;

typedef struct vigie_diag {
    vigie_diag_level level;
    int rc;              /* status code that classifies it (VIGIE_JSON, VIGIE_RULE, ...) */
    const char *file;    /* may be NULL */
    uint64_t line;       /* 1-based line or record index; 0 when unknown */
    uint64_t col;        /* 1-based column; 0 when unknown */
    uint64_t offset;     /* byte offset in the (decompressed) input; UINT64_MAX when unknown */
    const char *rule_id; /* may be NULL */
    const char *message;
} vigie_diag;

typedef void (*vigie_diag_fn)(void *ud, const vigie_diag *d);

#ifdef __cplusplus
}
#endif

#include "vigie/alert.h" /* the alert type and its renderers */

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
