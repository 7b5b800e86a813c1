#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stix_check.py: a small, dependency-free validator of STIX 2.1 bundles, for vigie's tests.

Checks what `vigie export --stix` promises (docs/STIX.md):
  - the bundle: type "bundle", id "bundle--<uuid>", a list of objects;
  - every object: the common properties STIX 2.1 requires (type, spec_version "2.1",
    id "<type>--<RFC 4122 uuid>", created and modified with millisecond precision, modified >=
    created), no two objects with the same id and modified;
  - per type: identity (name), campaign (name), indicator (pattern, pattern_type,
    valid_from; a "stix" pattern must parse), sighting (sighting_of_ref, count range,
    first_seen <= last_seen), attack-pattern (name; external_references with source_name),
    relationship (relationship_type, source_ref, target_ref);
  - every *_ref / *_refs property (at any depth) names an object of the bundle, of an
    allowed type where the specification restricts it;
  - every timestamp is RFC 3339 in UTC with a Z.

The pattern checker is a recursive-descent parser of the STIX 2.1 patterning grammar
(STIX 2.1 part 9, and its ANTLR grammar STIXPattern.g4): observation expressions joined by
AND / OR / FOLLOWEDBY with optional WITHIN / REPEATS / START-STOP qualifiers; comparison
expressions with AND / OR / NOT / parentheses over object paths and literals (strings with
\\' and \\\\ escapes, numbers, booleans, h'..', b'..', t'..'), IN sets, LIKE, MATCHES,
ISSUBSET, ISSUPERSET, EXISTS.

Usage: stix_check.py BUNDLE.json      exit 0 when valid, 1 with one line per problem
       stix_check.py --selftest       run the pattern parser's own cases
"""
import json
import re
import sys

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ID_RE = re.compile(r"^([a-z0-9][a-z0-9-]*[a-z0-9])--(" + UUID + r")$")
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$")
TS_PROPS = {"created", "modified", "valid_from", "valid_until", "first_seen", "last_seen",
            "first_observed", "last_observed", "start_time", "stop_time", "published"}
COMMON_REQUIRED = ("type", "spec_version", "id", "created", "modified")
REQUIRED = {
    "identity": ("name",),
    "campaign": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "sighting": ("sighting_of_ref",),
    "attack-pattern": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "intrusion-set": ("name",),
    "threat-actor": ("name",),
    "malware": ("name", "is_family"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "report": ("name", "published", "object_refs"),
}
SDO_TYPES = {"attack-pattern", "campaign", "course-of-action", "grouping", "identity",
             "incident", "indicator", "infrastructure", "intrusion-set", "location", "malware",
             "malware-analysis", "note", "observed-data", "opinion", "report", "threat-actor",
             "tool", "vulnerability"}
REF_TYPES = {  # property -> allowed target types
    "created_by_ref": {"identity"},
    "where_sighted_refs": {"identity", "location"},
    "observed_data_refs": {"observed-data"},
    "sighting_of_ref": SDO_TYPES,
}


# ---- timestamps ---------------------------------------------------------------------------

def ts_ok(v, millis=False):
    if not isinstance(v, str):
        return False
    m = TS_RE.match(v)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        return False
    if millis and (m.group(7) is None or len(m.group(7)) < 4):
        return False
    return True


def ts_key(v):
    """Comparable form: (seconds part, fraction as a padded string)."""
    m = TS_RE.match(v)
    frac = (m.group(7) or ".")[1:].ljust(9, "0")
    return (v[:19], frac)


# ---- STIX patterns ------------------------------------------------------------------------

class PatternError(Exception):
    pass


TOKEN_SPECS = [
    ("WS", r"\s+"),
    ("TIMESTAMP", r"t'\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:"
                  r"([0-5]\d|60)(\.\d+)?Z'"),
    ("HEX", r"h'([0-9a-fA-F]{2})*'"),
    ("BINARY", r"b'([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?'"),
    ("STRING", r"'(?:[^'\\]|\\['\\])*'"),
    ("FLOAT", r"[+-]?\d*\.\d+"),
    ("INT", r"[+-]?(?:0|[1-9]\d*)"),
    ("IDENT", r"[a-zA-Z_][a-zA-Z0-9_-]*"),
    ("OP", r"<=|>=|!=|<>|==|=|<|>"),
    ("PUNCT", r"[\[\]():.,*]"),
]
TOKEN_RE = re.compile("|".join("(?P<%s>%s)" % (n, p) for n, p in TOKEN_SPECS))
KEYWORDS = {"AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET",
            "EXISTS", "IN", "START", "STOP", "SECONDS", "WITHIN", "REPEATS", "TIMES", "LAST"}


def tokenize(s):
    toks, i = [], 0
    while i < len(s):
        m = TOKEN_RE.match(s, i)
        if not m or m.end() == i:
            raise PatternError("unexpected character %r at %d" % (s[i], i))
        kind = m.lastgroup
        text = m.group(kind)
        if kind != "WS":
            if kind == "IDENT" and text in KEYWORDS:
                kind = text
            elif kind == "IDENT" and text in ("true", "false"):
                kind = "BOOL"
            elif kind in ("OP", "PUNCT"):
                kind = text
            toks.append((kind, text, i))
        i = m.end()
    toks.append(("EOF", "", len(s)))
    return toks


class PatternParser:
    def __init__(self, s):
        self.toks = tokenize(s)
        self.i = 0

    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)][0]

    def take(self, *kinds):
        kind, text, pos = self.toks[self.i]
        if kind not in kinds:
            raise PatternError("expected %s at %d, found %r" % ("/".join(kinds), pos, text or "end"))
        self.i += 1
        return text

    def parse(self):
        self.observation_expressions()
        self.take("EOF")

    # observationExpressions: Or (FOLLOWEDBY Or)*
    def observation_expressions(self):
        self.observation_or()
        while self.peek() == "FOLLOWEDBY":
            self.take("FOLLOWEDBY")
            self.observation_or()

    def observation_or(self):
        self.observation_and()
        while self.peek() == "OR":
            self.take("OR")
            self.observation_and()

    def observation_and(self):
        self.observation()
        while self.peek() == "AND":
            self.take("AND")
            self.observation()

    def observation(self):
        if self.peek() == "[":
            self.take("[")
            self.comparison()
            self.take("]")
        elif self.peek() == "(":
            self.take("(")
            self.observation_expressions()
            self.take(")")
        else:
            self.take("[", "(")
        while self.peek() in ("START", "WITHIN", "REPEATS"):
            q = self.take("START", "WITHIN", "REPEATS")
            if q == "START":
                self.take("TIMESTAMP")
                self.take("STOP")
                self.take("TIMESTAMP")
            elif q == "WITHIN":
                n = self.take("INT", "FLOAT")
                if n.startswith("-") or float(n) <= 0:
                    raise PatternError("WITHIN needs a positive number")
                self.take("SECONDS")
            else:
                n = self.take("INT")
                if n.startswith("-") or int(n) <= 0:
                    raise PatternError("REPEATS needs a positive integer")
                self.take("TIMES")

    def comparison(self):
        self.comparison_and()
        while self.peek() == "OR":
            self.take("OR")
            self.comparison_and()

    def comparison_and(self):
        self.prop_test()
        while self.peek() == "AND":
            self.take("AND")
            self.prop_test()

    def prop_test(self):
        if self.peek() == "(":
            self.take("(")
            self.comparison()
            self.take(")")
            return
        if self.peek() == "EXISTS":
            self.take("EXISTS")
            self.object_path()
            return
        self.object_path()
        if self.peek() == "NOT":
            self.take("NOT")
        op = self.peek()
        if op in ("=", "!=", "==", "<>"):
            if op in ("==", "<>"):
                raise PatternError("%s is not a STIX operator" % op)
            self.take(op)
            self.literal(primitive=True)
        elif op in ("<", ">", "<=", ">="):
            self.take(op)
            self.literal(primitive=False)
        elif op == "IN":
            self.take("IN")
            self.take("(")
            if self.peek() != ")":
                self.literal(primitive=True)
                while self.peek() == ",":
                    self.take(",")
                    self.literal(primitive=True)
            self.take(")")
        elif op in ("LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"):
            self.take(op)
            self.take("STRING")
        else:
            self.take("=", "!=", "<", ">", "<=", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET",
                      "ISSUPERSET")

    def object_path(self):
        t = self.take("IDENT")
        if not re.match(r"^[a-z0-9-]+$", t):
            raise PatternError("object type %r is not a STIX type name" % t)
        self.take(":")
        first = self.take("IDENT", "STRING")
        if "-" in first and not first.startswith("'"):
            raise PatternError("property %r: a hyphenated name must be quoted" % first)
        while self.peek() in (".", "["):
            if self.take(".", "[") == ".":
                p = self.take("IDENT", "STRING")
                if "-" in p and not p.startswith("'"):
                    raise PatternError("property %r: a hyphenated name must be quoted" % p)
            else:
                if self.peek() == "*":
                    self.take("*")
                else:
                    self.take("INT")
                self.take("]")

    def literal(self, primitive):
        kinds = ["INT", "FLOAT", "STRING", "BINARY", "HEX", "TIMESTAMP"]
        if primitive:
            kinds.append("BOOL")
        self.take(*kinds)


def check_pattern(p):
    """Return None when p parses as a STIX 2.1 pattern, else the reason."""
    if not isinstance(p, str) or not p.strip():
        return "empty pattern"
    try:
        PatternParser(p).parse()
    except PatternError as e:
        return str(e)
    return None


# ---- bundle -------------------------------------------------------------------------------

def refs(obj, path=""):
    """Yield (property path, property name, value) for every *_ref / *_refs at any depth."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = path + "." + k if path else k
            if k.endswith("_ref") and isinstance(v, str):
                yield p, k, v
            elif k.endswith("_refs") and isinstance(v, list):
                for i, x in enumerate(v):
                    yield "%s[%d]" % (p, i), k, x
            else:
                yield from refs(v, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from refs(v, "%s[%d]" % (path, i))


def check_bundle(b):
    errs = []
    if not isinstance(b, dict) or b.get("type") != "bundle":
        return ["top level: not a STIX bundle (type must be \"bundle\")"]
    if not isinstance(b.get("id"), str) or not re.match("^bundle--" + UUID + "$", b["id"]):
        errs.append("bundle: id %r is not bundle--<uuid>" % b.get("id"))
    objs = b.get("objects")
    if not isinstance(objs, list) or not objs:
        return errs + ["bundle: objects must be a non-empty list"]
    by_id, seen = {}, set()
    for n, o in enumerate(objs):
        if isinstance(o, dict) and isinstance(o.get("id"), str):
            by_id.setdefault(o["id"], o)
    for n, o in enumerate(objs):
        where = "objects[%d]" % n
        if not isinstance(o, dict):
            errs.append("%s: not an object" % where)
            continue
        t = o.get("type")
        where = "objects[%d] (%s %s)" % (n, t, o.get("id"))
        for k in COMMON_REQUIRED:
            if k not in o:
                errs.append("%s: missing required property %s" % (where, k))
        if not isinstance(t, str) or not re.match(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$", t):
            errs.append("%s: bad type %r" % (where, t))
        if o.get("spec_version") != "2.1":
            errs.append("%s: spec_version must be \"2.1\"" % where)
        m = ID_RE.match(o.get("id", "")) if isinstance(o.get("id"), str) else None
        if not m or m.group(1) != t:
            errs.append("%s: id must be %s--<RFC 4122 uuid>" % (where, t))
        for k, v in o.items():
            if k in TS_PROPS and not ts_ok(v, millis=k in ("created", "modified")):
                errs.append("%s: %s %r is not an RFC 3339 UTC timestamp%s" %
                            (where, k, v, " with milliseconds" if k in ("created", "modified") else ""))
        if ts_ok(o.get("created")) and ts_ok(o.get("modified")) and \
                ts_key(o["modified"]) < ts_key(o["created"]):
            errs.append("%s: modified is before created" % where)
        key = (o.get("id"), o.get("modified"))
        if key in seen:
            errs.append("%s: the same id and modified appear twice" % where)
        seen.add(key)
        for k in REQUIRED.get(t, ()):
            if k not in o or o[k] in (None, "", []):
                errs.append("%s: missing required property %s" % (where, k))
        if t == "indicator":
            if o.get("pattern_type") == "stix":
                why = check_pattern(o.get("pattern"))
                if why:
                    errs.append("%s: pattern %r does not parse: %s" % (where, o.get("pattern"), why))
            if ts_ok(o.get("valid_from")) and ts_ok(o.get("valid_until")) and \
                    not ts_key(o["valid_until"]) > ts_key(o["valid_from"]):
                errs.append("%s: valid_until must be after valid_from" % where)
        if t == "sighting":
            c = o.get("count")
            if c is not None and (not isinstance(c, int) or isinstance(c, bool) or
                                  not 0 <= c <= 999999999):
                errs.append("%s: count %r out of range" % (where, c))
            if ts_ok(o.get("first_seen")) and ts_ok(o.get("last_seen")) and \
                    ts_key(o["last_seen"]) < ts_key(o["first_seen"]):
                errs.append("%s: last_seen is before first_seen" % where)
        if t == "campaign" and ts_ok(o.get("first_seen")) and ts_ok(o.get("last_seen")) and \
                ts_key(o["last_seen"]) < ts_key(o["first_seen"]):
            errs.append("%s: last_seen is before first_seen" % where)
        if t == "relationship" and not re.match(r"^[a-z0-9-]+$", str(o.get("relationship_type"))):
            errs.append("%s: relationship_type %r" % (where, o.get("relationship_type")))
        for i, er in enumerate(o.get("external_references", []) or []):
            if not isinstance(er, dict) or not er.get("source_name"):
                errs.append("%s: external_references[%d] needs source_name" % (where, i))
        for p, name, v in refs(o):
            target = by_id.get(v) if isinstance(v, str) else None
            if target is None:
                errs.append("%s: %s = %r names no object of the bundle" % (where, p, v))
            elif name in REF_TYPES and target.get("type") not in REF_TYPES[name]:
                errs.append("%s: %s = %r must name a %s" %
                            (where, p, v, " or ".join(sorted(REF_TYPES[name]))))
    return errs


SELFTEST = [
    ("[ipv4-addr:value = '195.26.87.219']", True),
    ("[ipv6-addr:value = '2001:db8::1']", True),
    ("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'a\\'b\\\\c']", True),
    ("[x509-certificate:hashes.'SHA-1' = 'd4b4cccda9228624656bff33d8110955779632aa']", True),
    ("[file:hashes.'SHA-256' = 'aa' OR file:name = 'x'] AND [ipv4-addr:value ISSUBSET '10.0.0.0/8']", True),
    ("([a:b = 1] FOLLOWEDBY [c:d != true]) WITHIN 300 SECONDS", True),
    ("[a:b[*].c IN ('x', 2, 3.5)] REPEATS 5 TIMES", True),
    ("[a:b[0] NOT LIKE 'x%'] START t'2023-01-01T00:00:00Z' STOP t'2023-02-01T00:00:00.5Z'", True),
    ("[(a:b = h'0aff' AND a:c > -1) OR EXISTS a:d]", True),
    ("[a:b = b'aGVsbG8=']", True),
    ("[ipv4-addr:value = '1.2.3.4'", False),
    ("ipv4-addr:value = '1.2.3.4'", False),
    ("[ipv4-addr:value = 'it's']", False),
    ("[ipv4-addr:value = 'a\\b']", False),
    ("[ipv4-addr:value == '1.2.3.4']", False),
    ("[network-traffic:extensions.http-request-ext.x = 'a']", False),
    ("[ipv4-addr:value = '1' AND]", False),
    ("[Bad_Type:value = 'x']", False),
    ("[a:b = 'x'] WITHIN 0 SECONDS", False),
    ("[a:b = t'2023-13-01T00:00:00Z']", False),
    ("", False),
]


def selftest():
    bad = 0
    for p, ok in SELFTEST:
        why = check_pattern(p)
        if (why is None) != ok:
            bad += 1
            print("selftest: %r: expected %s, got %s" % (p, "valid" if ok else "invalid",
                                                         why or "valid"))
    print("selftest: %d cases, %d wrong" % (len(SELFTEST), bad))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        return selftest()
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            b = json.load(f)
    except (OSError, ValueError) as e:
        print("%s: %s" % (argv[1], e))
        return 1
    errs = check_bundle(b)
    for e in errs:
        print("%s: %s" % (argv[1], e))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
