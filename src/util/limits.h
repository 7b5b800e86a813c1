/* SPDX-License-Identifier: Apache-2.0 */
/*
 * limits.h: every input-driven limit of vigie, in one place.
 *
 * Each limit bounds memory or time that a hostile input could otherwise make unbounded.
 * A record or rule that exceeds one is reported with its position, counted and skipped;
 * nothing else is lost. Change a value here, not at the point of use.
 */
#ifndef VG_LIMITS_H
#define VG_LIMITS_H

/* Largest single record (one JSON line, one CSV row, one array element): 256 MiB.
 * A 64 MiB line is valid and must be processed. */
#define VG_MAX_RECORD_BYTES (256u * 1024u * 1024u)

/* Deepest JSON nesting accepted (objects + arrays). Deeper input is rejected as TOODEEP
 * without recursion, so depth 100,000 costs nothing but the scan. */
#define VG_MAX_JSON_DEPTH 512

/* Most tokens one JSON record may produce on the tape (about 16 bytes each). */
#define VG_MAX_JSON_TOKENS (64u * 1024u * 1024u)

/* Depth of JSON-inside-a-JSON-string that field lookup will descend into, and how many such
 * strings one event may have parsed (past it, further ones are not looked into). */
#define VG_MAX_EMBEDDED_JSON_DEPTH 2
#define VG_MAX_EMBEDDED_JSON_PARSES 1024u

/* YAML: most events (nodes) one rule file may produce, and most alias expansions:
 * bounds the "billion laughs" alias bomb. */
#define VG_MAX_YAML_EVENTS 200000u
#define VG_MAX_YAML_ALIAS_EXPANSIONS 10000u
#define VG_MAX_RULE_FILE_BYTES (8u * 1024u * 1024u)

/* Condition expressions: longest text and deepest parenthesis nesting. */
#define VG_MAX_CONDITION_BYTES 65536u
#define VG_MAX_CONDITION_DEPTH 256

/* PCRE2: match limit and depth limit per regex evaluation (backtracking bound). */
#define VG_PCRE2_MATCH_LIMIT 100000u
#define VG_PCRE2_DEPTH_LIMIT 10000u
/* A regex evaluation stopped by either makes its rule UNKNOWN on that record: an alert of kind
 * "undetermined" names at most this many fields, and stderr shows at most this many such
 * records per run (then a count), so hostile values cannot flood either. */
#define VG_UNDET_MAX_FIELDS 8u
#define VG_UNDET_MAX_WARNINGS 100u

/* base64offset / windash / expand may multiply values; cap on variants per value. */
#define VG_MAX_VALUE_VARIANTS 4096u

/* CSV: most columns per row (the header included). Per reader the cell index costs 16 bytes a
 * column (1 MiB at the limit) plus the header names; the widest real exports (Log Analytics
 * tables with every dynamic column expanded) have a few hundred columns. A wider row is one
 * bad record named with this limit; a wider header makes the file unreadable. */
#define VG_MAX_CSV_COLUMNS 65536u

/* Compressed input (gzip, zstd), per input file: the stream is cut, reported and the rest
 * of the file not read when its decompressed bytes exceed VG_MAX_DECOMPRESSED_BYTES (the
 * default of `vigie scan --max-decompressed`), or exceed VG_DECOMPRESS_MAX_RATIO times the
 * compressed bytes read so far once past VG_DECOMPRESS_RATIO_FLOOR.
 * Absolute: 64 GiB, ten times the largest single export seen in practice (multi-GB Purview
 * CSV and Sentinel exports), about a minute of scanning: a bound on the time one input may
 * take, not a memory bound (text is streamed).
 * Ratio: real logs compress 10:1 to 40:1 (JSON with GUIDs and timestamps in every record
 * gets to about 100:1 at best), deflate cannot exceed about 1032:1, so 500:1 catches gzip
 * bombs (which a ratio of 2000:1 never did) with a margin of 5 over the most repetitive
 * real logs. zstd does reach legitimate ratios past 1,000:1 (a health-check log whose lines
 * differ only in their time: about 1,500:1 at -19), so its ratio is VG_DECOMPRESS_MAX_RATIO_ZSTD
 * (20,000:1; zstd bombs reach millions and are caught). The floor keeps small files (a few
 * MiB of identical test records) out of the ratio check. An explicit --max-decompressed
 * replaces both: the operator who sets a size has said what one input may expand to.
 * A compressed stream whose content is again gzip or zstd (nested compression) is not
 * decompressed a second time (ratios would multiply): it is reported as unreadable. */
#define VG_MAX_DECOMPRESSED_BYTES (64ull * 1024u * 1024u * 1024u)
#define VG_DECOMPRESS_MAX_RATIO 500u
#define VG_DECOMPRESS_MAX_RATIO_ZSTD 20000u
#define VG_DECOMPRESS_RATIO_FLOOR (64u * 1024u * 1024u)

/* zstd: largest window (log2 bytes) a frame may declare. 31 (2 GiB) is what `zstd --long=31`
 * writes and the most libzstd decodes on 64-bit systems. Cost: the decoder allocates the
 * window a frame declares (capped by its content size when the header gives it), so one
 * reader may map up to 2 GiB; pages are only touched as far as the text goes, and vigie
 * reads one input at a time. A frame over it is refused with this limit named. */
#define VG_ZSTD_MAX_WINDOW_LOG 31

/* Encoding and binary sniffing (reader.c): bytes looked at at the start of each input
 * (after decompression) to detect UTF-16 without a BOM (NUL every other byte in the first
 * VG_SNIFF_UTF16_BYTES) and binary content / known file signatures (first
 * VG_SNIFF_BINARY_BYTES). */
#define VG_SNIFF_UTF16_BYTES 1024u
#define VG_SNIFF_BINARY_BYTES 4096u

/* First-seen ("new terms") state: most (rule, group) and (rule, group, term) entries
 * remembered. When full, the least recently seen eighth is forgotten (counted in the summary);
 * an entry not seen for VG_NEW_TERMS_TTL_S of event time is forgotten when the watermark passes
 * it (90 days: longer than any baseline period, so a baseline is never forgotten while it is
 * being learned or used). */
#define VG_MAX_NEW_TERMS (4u * 1024u * 1024u)
#define VG_NEW_TERMS_TTL_S (90.0 * 86400.0)

/* Session groups kept for combined alerts (session.c): a group per session with a signal or
 * still waiting for its sign-in join; when full the oldest eighth is dropped, groups
 * without a signal first (counted as "evicted" in the summary). Per group: distinct message ids counted exactly up
 * to VG_MAX_SESSION_MSGS (then "at least"), evidence records listed up to
 * VG_MAX_SESSION_EVIDENCE (then counted). Sign-in identifiers remembered: VG_MAX_SIGNIN_IDS. */
#define VG_MAX_SESSIONS (2u * 1024u * 1024u)
#define VG_MAX_SESSION_MSGS (1u << 20)
#define VG_MAX_SESSION_EVIDENCE 256u
/* Sign-in identifiers (SessionId, UniqueTokenIdentifier) remembered for the join: 16 bytes
 * a slot at most half full, so 4 M ids take at most 128 MiB. Past it, further ids are not
 * remembered (counted) and mail access the remembered ones do not explain is "unlinkable",
 * never "no_signin": a full table cannot cause a false alert. */
#define VG_MAX_SIGNIN_IDS (4u * 1024u * 1024u)

/* Sigma correlation rules (src/correlate/corr.c, docs/internals/correlation.md).
 * VG_CORR_MAX_GROUPS: default most groups (distinct group-by values) kept per correlation
 * rule; when full, the least recently updated group is evicted (counted in the stats).
 * VG_CORR_MAX_GROUP_EVENTS: most window entries one group keeps (a power of two); past it,
 * event_count/value_sum/value_avg merge their two oldest entries (counts stay exact, the
 * oldest events expire a little later) and the other types forget their oldest entry
 * (counted as overflow). Entries are 32 bytes and grow on demand, so the worst case per
 * correlation rule is 16,384 x 1,024 x 32 B = 512 MiB (value_count adds up to 24 KiB per
 * group for its distinct-value table); typical groups hold a handful of entries.
 * VG_CORR_MAX_ALERT_REFS: most contributing event references one alert carries (the newest
 * ones; the alert also gives the total). */
#define VG_CORR_MAX_GROUPS 16384u
#define VG_CORR_MAX_GROUP_EVENTS 1024u
#define VG_CORR_MAX_ALERT_REFS 32u

/* Per session group (session.c): distinct signals kept (VG_MAX_SESSION_SIGNALS; further
 * ones are counted, not named), mail reads waiting for their sign-in join with distinct
 * (session, token) pairs (VG_MAX_SESSION_PENDING; past it counted as overflow and judged
 * unlinkable, never no_signin) and folder paths named in messages_read
 * (VG_MAX_SESSION_FOLDERS). */
#define VG_MAX_SESSION_SIGNALS 32u
#define VG_MAX_SESSION_PENDING 256u
#define VG_MAX_SESSION_FOLDERS 32u

/* Visibility (vigie scan): days of mailbox-audit presence tracked per tenant, centred on its
 * first record (ten years); records outside are counted but draw no gap. */
#define VG_MAX_VISIBILITY_DAYS 3660
/* Visibility (src/correlate/visibility.c): a run of at least VG_VIS_GAP_DAYS days without
 * any mailbox-audit record, between two days with one, is a gap worth reporting; at most
 * VG_MAX_VIS_TENANTS tenants are tracked (the facts of further tenants are counted as
 * dropped; a tenant costs VG_MAX_VISIBILITY_DAYS bytes once it has a timed record). */
#define VG_VIS_GAP_DAYS 3
#define VG_MAX_VIS_TENANTS (1u << 20)

/* Sigma correlations in vigie scan: recent correlated events whose positions an alert can
 * still name (a ring; older contributing events are given by id only). */
#define VG_CORR_RING 65536u

/* Bearer tokens (token/jwt.c): longest token decoded; a longer one is judged not a JWT. */
#define VG_MAX_TOKEN_BYTES 16384u

/* Campaigns: high and critical combined alerts taken as nodes (more are counted, left out);
 * weak links (two shared weak features) are looked for among the first 4,096 only. */
#define VG_MAX_CAMPAIGN_NODES (1u << 20)
/* Signing key ids of forged-token findings remembered for campaigns (tenant, key id). */
#define VG_MAX_CAMPAIGN_KIDS 4096u

/* Evidence ledger (store/ledger.c): longest line of entries.jsonl or checkpoints.jsonl,
 * longest alert id, most raw records behind one alert, largest inclusion proof file. */
#define VG_MAX_LEDGER_LINE (1024u * 1024u)
#define VG_MAX_LEDGER_ALERT_ID 512u
#define VG_MAX_LEDGER_SOURCES 4096u
#define VG_MAX_LEDGER_PROOF (4u * 1024u * 1024u)

/* Tenants as fixed-size copies (pipeline/worker.c, writer.c): the tenant that enters an alert
 * id (VG_ALERT_TENANT_BYTES, longer ones are cut there: ids stay stable); the tenant a
 * correlation's recent events keep (VG_CORR_TENANT_BYTES, VG_CORR_RING entries of it: a
 * correlation alert names its last event's tenant cut to 63 bytes); the tenant a bearer token's
 * issuer names (VG_TOKEN_TENANT_BYTES; a longer one is not taken). Bearer tokens judged per
 * record: VG_MAX_RECORD_TOKENS (more string fields that may hold one are not read). */
#define VG_ALERT_TENANT_BYTES 256u
#define VG_CORR_TENANT_BYTES 64u
#define VG_TOKEN_TENANT_BYTES 128u
#define VG_MAX_RECORD_TOKENS 5u

/* Saved state (vigie scan --state, correlate/statefile.c): the largest state file read back,
 * and the most sections in it. */
#define VG_MAX_STATE_BYTES (16ull * 1024u * 1024u * 1024u)
#define VG_MAX_STATE_SECTIONS 16u

#endif
