#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""merge_by_time.py [--at FRACTION] OUT1 OUT2 INPUT...: the records of INPUT files (NDJSON, a JSON array,
{"records"|"value"|"Records": [...]}, CSV with an AuditData column, CSV of fields; found under
directories too) merged into ONE time-ordered stream, written as NDJSON and split at its
midpoint (or at FRACTION of its records): the first part to OUT1, the rest to OUT2.

Test tooling for the save-and-resume test (tests/cli/test_state_resume.sh). Invariants: every
record of the inputs is written exactly once (a record without a readable time sorts first, in
input order); the sort is stable, so equal times keep their input order; a record is written
as compact JSON on one line; a CSV row without AuditData becomes an object of its non-empty
columns. Nothing is tuned to one file: times are read from the usual field names of the log
shapes vigie knows, in ISO 8601 or the US form of Sentinel exports.
"""
import csv
import datetime
import json
import os
import sys

TIME_KEYS = ["CreationTime", "TimeGenerated", "TimeGenerated [UTC]", "createdDateTime", "time",
             "eventTime", "timestamp", "timestamp [UTC]", "published", "@timestamp",
             "receiveTimestamp", "StartTime [UTC]", "CreationDate"]

csv.field_size_limit(1 << 30)


def parse_time(v):
    if not isinstance(v, str) or not v:
        return None
    s = v.strip()
    try:
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        d = datetime.datetime.fromisoformat(s)
        if d.tzinfo is None:
            d = d.replace(tzinfo=datetime.timezone.utc)
        return d.timestamp()
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y, %I:%M:%S.%f %p", "%m/%d/%Y, %I:%M:%S %p", "%m/%d/%Y %H:%M"):
        try:
            return datetime.datetime.strptime(s, fmt).replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            pass
    return None


def rec_time(r):
    for k in TIME_KEYS:
        if k in r:
            t = parse_time(r[k])
            if t is not None:
                return t
    return None


def records(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8", errors="replace")
    s = text.lstrip()
    if path.endswith(".csv"):
        rows = list(csv.DictReader(text.splitlines()))
        for row in rows:
            if row.get("AuditData"):
                try:
                    yield json.loads(row["AuditData"])
                    continue
                except ValueError:
                    pass
            yield {k: v for k, v in row.items() if k and v not in (None, "")}
        return
    if s.startswith("[") or (s.startswith("{") and "\n{" not in s.strip()):
        try:
            doc = json.loads(s)
            if isinstance(doc, list):
                yield from (r for r in doc if isinstance(r, dict))
                return
            for k in ("records", "value", "Records"):
                if isinstance(doc, dict) and isinstance(doc.get(k), list):
                    yield from (r for r in doc[k] if isinstance(r, dict))
                    return
            if isinstance(doc, dict):
                yield doc
                return
        except ValueError:
            pass
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if not line or line in ("[", "]", "{", "}"):
            continue
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if isinstance(r, dict):
            yield r


def files(args):
    for a in args:
        if os.path.isdir(a):
            for d, _, fs in sorted(os.walk(a)):
                for f in sorted(fs):
                    if f.endswith((".json", ".ndjson", ".jsonl", ".csv")) and "jwks" not in f \
                            and f != "truth.json":
                        yield os.path.join(d, f)
        else:
            yield a


def main():
    args = sys.argv[1:]
    at = 0.5
    if len(args) > 1 and args[0] == "--at":
        at = float(args[1])
        args = args[2:]
    if len(args) < 3 or not 0 < at < 1:
        sys.exit("usage: merge_by_time.py [--at FRACTION] OUT1 OUT2 INPUT...")
    out1, out2 = args[0], args[1]
    recs = []
    for p in files(args[2:]):
        for r in records(p):
            t = rec_time(r)
            recs.append((float("-inf") if t is None else t, len(recs), r))
    if not recs:
        sys.exit("merge_by_time.py: no record in the inputs")
    recs.sort(key=lambda x: (x[0], x[1]))
    mid = int(len(recs) * at)
    for path, part in ((out1, recs[:mid]), (out2, recs[mid:])):
        with open(path, "w") as f:
            for _, _, r in part:
                f.write(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")
    print("%d records, %d + %d" % (len(recs), mid, len(recs) - mid))


if __name__ == "__main__":
    main()
