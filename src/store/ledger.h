/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ledger.h: the tamper-evident evidence ledger: an append-only directory in which every
 * alert is an entry carrying the SHA-256 of the alert and of each raw record behind it with
 * its source position. Entries are hash-chained (each names the leaf hash of the one before)
 * and are the leaves of a Merkle tree shaped as in RFC 6962 / RFC 9162; signed checkpoints
 * (Ed25519 through OpenSSL 3) commit to the tree size and root, the last one also as a C2SP
 * signed note (DIR/checkpoint); each scan run appends a manifest entry (every input file's
 * path, size, SHA-256). Opening recovers an interrupted run. Verification re-reads the
 * whole directory, and optionally the raw records; an inclusion proof lets a third party
 * check one entry with only the public key. The on-disk format is in docs/LEDGER.md.
 *
 * Stage: store (may use ingest to re-read records). Ownership, in one sentence: a vg_ledger
 * is owned by the caller from vg__ledger_open until vg__ledger_close, which always frees it,
 * and every pointer passed in is only read during the call. Thread safety: one vg_ledger
 * belongs to one thread (scan appends from its writer thread, in read order); the directory
 * is locked (flock) while open, so a second writer, in any process, is refused. Verify,
 * prove and verify_proof keep no state and may run in any thread.
 */
#ifndef VG_LEDGER_H
#define VG_LEDGER_H

#include "util/util.h"

#define VG_LEDGER_HASH 32     /* SHA-256 */
#define VG_LEDGER_HEX 65      /* 64 lowercase hex digits and a NUL */
#define VG_LEDGER_MAX_PATH 64 /* audit path length bound: trees of up to 2^64 leaves */
#define VG_LEDGER_MAX_CONSISTENCY 130 /* consistency proof length bound (2 log2 n + 2) */
/* A checkpoint at least this often while a run appends (checked by the scan writer at
 * batch boundaries), as well as every VG_LEDGER_CHECKPOINT_ENTRIES entries: what a crash
 * leaves unsigned is bounded in time as well as in count. */
#define VG_LEDGER_CHECKPOINT_SECONDS 30.0
#define VG_LEDGER_CHECKPOINT_ENTRIES 4096
/* The origin line of DIR/checkpoint (C2SP tlog-checkpoint) and the signed-note key name:
 * this prefix and the first 16 hex digits of the key id. */
#define VG_LEDGER_ORIGIN_PREFIX "vigie.ledger/"

/* ---- writing -------------------------------------------------------------------------- */

typedef struct vg_ledger vg_ledger;

/* One raw record behind an alert: its position as the ingest reader gave it (vg_source)
 * and the SHA-256 of exactly the record bytes vg__reader_next returned (rec.data, rec.len). */
typedef struct vg_ledger_src {
    const char *file;  /* the input path as given to the scan; NUL-terminated */
    uint64_t line;     /* 1-based line of the record's first byte */
    uint64_t index;    /* 0-based record index in the file */
    uint64_t offset;   /* byte offset of the record in the (decompressed) text */
    uint8_t sha256[VG_LEDGER_HASH];
} vg_ledger_src;

/* Create the key pair for signing checkpoints: the Ed25519 private key (PKCS#8 PEM) to
 * `prefix`, mode 0600, and the public key (SubjectPublicKeyInfo PEM) to `prefix`.pub.
 * Existing files are never overwritten (VIGIE_INVAL). key_id (may be NULL) receives the
 * key id: lowercase hex SHA-256 of the DER public key. */
int vg__ledger_keygen(const char *prefix, char key_id[VG_LEDGER_HEX], char *err, size_t errlen);

/* Open the ledger in `dir` for appending; the directory (one level) and its files are
 * created when absent. An existing ledger is verified in full first (chain, tree, every
 * checkpoint) and recovered from an interrupted run: a torn last line of entries.jsonl or
 * checkpoints.jsonl (no newline, or a last line that does not parse) is cut off; entries
 * after the last checkpoint whose chain and canonical form are intact are kept and a
 * checkpoint over them is appended (signed when there is a key); DIR/checkpoint is
 * rewritten when it is missing or stale. Each of these is reported through diag (one
 * VIGIE_DIAG_WARNING line each: what was cut, at which offset, what was kept; diag may be
 * NULL). Anything else that fails verification (a broken chain before the tail, a
 * checkpoint that does not match) is refused: tampering is not recovered. `key_prefix` is
 * the private key file (vigie keygen's PREFIX; refused when group or others may read it);
 * NULL makes an unsigned ledger whose checkpoints carry the root without a signature. A
 * ledger is signed or not for life: the other kind of open is refused. On failure *out is
 * NULL and err holds one line. */
int vg__ledger_open(const char *dir, const char *key_prefix, vigie_diag_fn diag, void *diag_ud,
                    vg_ledger **out, char *err, size_t errlen);

/* Append one manifest entry (docs/LEDGER.md) listing each of paths[0..n) with its size and
 * the SHA-256 of its bytes as they are on disk now (each file is read once, streaming);
 * several entries when one would exceed VG_MAX_LEDGER_LINE. A path that is not a regular
 * file ("-", a FIFO) or cannot be read is left out and reported through the open's diag.
 * *bytes (may be NULL) receives the bytes hashed. Part of the chain and tree like an alert;
 * never matched by an alert id. */
int vg__ledger_append_manifest(vg_ledger *l, const char *const *paths, uint32_t n, uint64_t *bytes);

/* True when entries were appended since the last checkpoint and that checkpoint is
 * VG_LEDGER_CHECKPOINT_SECONDS old or more at `now` (vg__now's monotonic clock). */
bool vg__ledger_checkpoint_due(const vg_ledger *l, double now);

/* Append one alert. alert_id: the caller's id (non-empty, at most VG_MAX_LEDGER_ALERT_ID
 * bytes; unique ids make `vigie prove ALERT_ID` unambiguous); alert_json/len: the exact
 * bytes whose SHA-256 is stored (the alert line as written, without its newline); srcs: the
 * raw records behind it (0 to VG_MAX_LEDGER_SOURCES). The entry is written with one
 * write(2) but not synced; vg__ledger_checkpoint syncs. After an I/O error the handle
 * refuses every further call. Message of the last failure: vg__ledger_error. */
int vg__ledger_append(vg_ledger *l, const char *alert_id, const char *alert_json, size_t len,
                      const vg_ledger_src *srcs, uint32_t n_srcs);

/* Sync the entries, then append and sync a checkpoint over everything so far (signed when
 * the ledger has a key). A no-op when the last checkpoint already covers every entry. */
int vg__ledger_checkpoint(vg_ledger *l);

/* Final checkpoint, sync, unlock, free. Always frees l (NULL is fine); returns the first
 * failure, with its message in err (may be NULL). */
int vg__ledger_close(vg_ledger *l, char *err, size_t errlen);

uint64_t vg__ledger_size(const vg_ledger *l);   /* entries so far */
const char *vg__ledger_error(const vg_ledger *l); /* last failure of append/checkpoint, or "" */

/* SHA-256 of n bytes (the sources' record hashes), with no heap allocation and no lock:
 * scan takes it per record. */
void vg__ledger_sha256(const void *p, size_t n, uint8_t out[VG_LEDGER_HASH]);

/* ---- verifying ------------------------------------------------------------------------- */

typedef struct vg_ledger_verify_opts {
    const char *pub_path;       /* trusted public key (PEM); NULL: trust DIR/ledger.pub */
    bool check_inputs;          /* re-read and hash every raw record the entries name, and
                                   check every file of the run manifests */
    const char *const *inputs;  /* where those files are now: a ledger file name is matched
                                   to an input with the same path (string, then realpath),
                                   else with the SHA-256 its manifest records; never by base
                                   name. Unmatched names are opened at their recorded path;
                                   an input matching nothing is a warning */
    uint32_t n_inputs;
    const char *checkpoint_path; /* a C2SP checkpoint kept elsewhere: its signature must
                                    verify and the ledger must extend it (RFC 9162 2.1.4) */
    vigie_diag_fn diag;         /* every failure: file:line: message (NULL: silent) */
    void *diag_ud;
} vg_ledger_verify_opts;

typedef struct vg_ledger_verify_result {
    uint64_t entries;          /* entry lines read */
    uint64_t checkpoints;      /* checkpoint lines read */
    uint64_t signed_size;      /* entries covered by the last checkpoint */
    uint64_t sources;          /* source references in all entries */
    uint64_t sources_checked;  /* of those, records re-read and hashed equal */
    uint64_t failures;         /* every failed check, reported or not */
    bool is_signed;            /* the ledger has ledger.pub and signed checkpoints */
    bool key_pinned;           /* opts.pub_path was given and matched */
    char key_id[VG_LEDGER_HEX];
    uint64_t manifests;       /* manifest entries */
    uint64_t files_checked;   /* manifest files re-read with the size and SHA-256 recorded */
    uint64_t files_unchecked; /* manifest files neither given nor at their recorded path */
    uint64_t cp_size;         /* with checkpoint_path: the size of that checkpoint */
} vg_ledger_verify_result;

/* Verify the ledger in dir: every entry line (canonical form, seq, hash chain, leaf hash),
 * every checkpoint (canonical form, sizes in order, root of the first `size` entries,
 * signature and key id), that the last checkpoint covers every entry, and with
 * check_inputs every referenced raw record (file present, record at its index with the
 * same line, offset and SHA-256). Each failure is reported through opts->diag (at most
 * 100 messages, then one summary line) and counted. Returns VIGIE_OK when everything
 * checks, VIGIE_VERIFY when something did not, VIGIE_NOENT when dir holds no ledger,
 * another status for I/O or memory failures (also reported). res may be NULL. */
int vg__ledger_verify(const char *dir, const vg_ledger_verify_opts *opts,
                      vg_ledger_verify_result *res);

/* ---- inclusion proofs ------------------------------------------------------------------ */

/* Write to out (appended) a self-contained JSON inclusion proof for the entry whose
 * alert_id is `alert_id`, or, when alert_id is NULL, for the entry number `seq`: the entry
 * bytes, leaf index, tree size, audit path (RFC 9162 2.1.3.1) and the last checkpoint,
 * which must cover the entry. The ledger is checked on the way (leaf hashes, the
 * checkpoint's root and signature); VIGIE_VERIFY if that fails, VIGIE_NOTFOUND if no entry
 * matches. Several entries with that alert id (runs that appended the same alert): the
 * first. */
int vg__ledger_prove(const char *dir, const char *alert_id, uint64_t seq, vg_buf *out,
                     char *err, size_t errlen);

typedef struct vg_ledger_proof_info {
    uint64_t seq, tree_size;
    uint32_t n_sources;
    char alert_id[VG_MAX_LEDGER_ALERT_ID + 1];
    char alert_sha256[VG_LEDGER_HEX];
    char root[VG_LEDGER_HEX];
    char key_id[VG_LEDGER_HEX];
    char time[40];
} vg_ledger_proof_info;

/* Check a proof made by vg__ledger_prove with nothing but the public key (PEM bytes):
 * proof syntax, the entry's own leaf hash, the audit path up to the checkpoint root, the
 * checkpoint's key id and Ed25519 signature. VIGIE_OK and info filled (may be NULL) when
 * it holds; VIGIE_VERIFY with the reason in err when it does not; VIGIE_INVAL when the key
 * is not an Ed25519 public key. */
int vg__ledger_verify_proof(const char *proof, size_t len, const char *pub_pem, size_t pub_len,
                            vg_ledger_proof_info *info, char *err, size_t errlen);

/* ---- the tree (RFC 6962 section 2.1; exposed for tests) --------------------------------- */

/* Leaf hash SHA-256(0x00 || bytes) and node hash SHA-256(0x01 || left || right). */
void vg__ledger_leaf_hash(const void *p, size_t n, uint8_t out[VG_LEDGER_HASH]);
void vg__ledger_node_hash(const uint8_t l[VG_LEDGER_HASH], const uint8_t r[VG_LEDGER_HASH],
                          uint8_t out[VG_LEDGER_HASH]);

/* Incremental tree: the roots of the perfect subtrees that the binary digits of `size`
 * split the leaves into, largest first (popcount(size) of them). O(log n) memory. */
typedef struct vg_ledger_tree {
    uint64_t size;
    uint32_t n;
    uint8_t stack[64][VG_LEDGER_HASH];
} vg_ledger_tree;

void vg__ledger_tree_init(vg_ledger_tree *t);
void vg__ledger_tree_push(vg_ledger_tree *t, const uint8_t leaf[VG_LEDGER_HASH]);
/* Merkle tree hash of the leaves so far (SHA-256 of nothing for the empty tree). */
void vg__ledger_tree_root(const vg_ledger_tree *t, uint8_t out[VG_LEDGER_HASH]);

/* Consistency proof between the trees of the first m and of all n leaves (RFC 9162
 * 2.1.4.1, 0 < m <= n; empty for m == n). path must hold VG_LEDGER_MAX_CONSISTENCY hashes.
 * VIGIE_INVAL when m == 0 or m > n. */
int vg__ledger_consistency_proof(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n, uint64_t m,
                                 uint8_t (*path)[VG_LEDGER_HASH], uint32_t *n_path);
/* Check a consistency proof (RFC 9162 2.1.4.2): VIGIE_OK when the tree of size n with root
 * new_root extends the tree of size m with root old_root; VIGIE_VERIFY otherwise. m == n
 * needs an empty proof and equal roots; m == 0 needs an empty proof and old_root the hash
 * of the empty tree. */
int vg__ledger_verify_consistency(uint64_t m, uint64_t n, const uint8_t old_root[VG_LEDGER_HASH],
                                  const uint8_t new_root[VG_LEDGER_HASH],
                                  const uint8_t (*path)[VG_LEDGER_HASH], uint32_t n_path);

/* Merkle tree hash of leaves[0..n) (recursive, O(n)). */
void vg__ledger_mth(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n,
                    uint8_t out[VG_LEDGER_HASH]);
/* Audit path of leaf m in the tree of leaves[0..n), leaf-side first; VIGIE_INVAL when
 * m >= n. path must hold VG_LEDGER_MAX_PATH hashes. */
int vg__ledger_audit_path(const uint8_t (*leaves)[VG_LEDGER_HASH], uint64_t n, uint64_t m,
                          uint8_t (*path)[VG_LEDGER_HASH], uint32_t *n_path);
/* The root an audit path leads to (RFC 9162 2.1.3.2); VIGIE_VERIFY when the path has the
 * wrong length for (m, n) or m >= n. */
int vg__ledger_root_from_path(const uint8_t leaf[VG_LEDGER_HASH], uint64_t m, uint64_t n,
                              const uint8_t (*path)[VG_LEDGER_HASH], uint32_t n_path,
                              uint8_t out[VG_LEDGER_HASH]);

#endif
