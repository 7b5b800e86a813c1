/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vigie.h: the public interface of libvigie, a detection engine for security logs. This is
 * the umbrella header: it declares what every part shares (version, status codes,
 * diagnostics, VIGIE_API) and includes the others (vigie/engine.h: rules compiled into an
 * engine, records scanned by per-thread scanners). docs/API.md is the guide.
 *
 * Data flow: a record (one JSON object text) is parsed into a flat tape, classified into a
 * log shape (M365 UAL, Entra sign-in, CloudTrail, ...) and matched against the engine's
 * compiled, immutable rule set by a per-thread scanner. Matches are reported to a callback.
 *
 * Ownership, in one sentence: every handle returned by a vigie_*_new call is owned by the
 * caller and freed with the matching vigie_*_free call (NULL is accepted); strings passed in
 * are copied unless documented otherwise; pointers handed out are borrowed: those an engine
 * query returns live as long as the engine, those passed to a callback only for the duration
 * of the callback.
 *
 * Errors: fallible functions return a vigie_status (VIGIE_OK is 0); what went wrong where
 * (file, line, column, rule id, message) goes to the one vigie_diag_fn callback given when
 * the handle was made. There is no stored last error and no error-string out-parameter.
 *
 * Thread safety: a compiled vigie_engine is read-only and may be shared by any number of
 * threads; each thread needs its own vigie_scanner. Nothing else is thread-safe.
 *
 * Symbols: libvigie.so exports only the vigie_* functions marked VIGIE_API.
 */
#ifndef VIGIE_VIGIE_H
#define VIGIE_VIGIE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIE_VERSION "0.1.0"

/* Marks the functions libvigie.so exports; the library is built with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define VIGIE_API __attribute__((visibility("default")))
#else
#define VIGIE_API
#endif

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
VIGIE_API const char *vigie_status_name(int rc);
VIGIE_API const char *vigie_strerror(int rc);
/* VIGIE_VERSION of the library actually linked (static string). */
VIGIE_API const char *vigie_version(void);

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

/* A ready vigie_diag_fn: one line "vigie: error: file:line:col: rule ID: message" to the
 * FILE * given as ud (stderr when NULL), input text escaped so it cannot move the terminal. */
VIGIE_API void vigie_diag_print(void *ud, const vigie_diag *d);

#ifdef __cplusplus
}
#endif

/* The parts of the API (each includes this header first, so either may be included alone). */
#include "vigie/engine.h"
#include "vigie/alert.h" /* the alert type and its renderers */

#endif
