#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# bench/gen_rules.py: deterministic Sigma rule sets for the rule-load scale benchmark
# (bench/rule_load.sh). Two shapes, both the worst a real rule set plausibly reaches:
#   files N DIR          N small distinct rule files (ids derived from the index) in DIR,
#                        100 files a subdirectory, as large rule repositories are laid out
#   values N MOD FILE    one rule whose selection lists N distinct values of one field,
#                        with modifier MOD ("" for the plain list, "contains", "re", ...)
# Output depends only on the arguments (no randomness, no clock).
import os
import sys
import uuid

NS = uuid.UUID("6f0c6a5e-9a1b-4c55-8d43-000000000000")


def rule_id(tag, i):
    return str(uuid.uuid5(NS, "%s-%d" % (tag, i)))


def files(n, out):
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        d = os.path.join(out, "d%04d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "rule_%06d.yml" % i), "w") as f:
            f.write(
                "title: Scale rule %d\n"
                "id: %s\n"
                "status: test\n"
                "logsource:\n  product: aws\n  service: cloudtrail\n"
                "detection:\n"
                "  selection:\n"
                "    eventSource: svc%d.amazonaws.com\n"
                "    eventName|startswith: Op%dx\n"
                "  condition: selection\n"
                "level: low\n" % (i, rule_id("file", i), i % 997, i)
            )


def values(n, mod, out):
    key = "eventName" + ("|" + mod if mod else "")
    with open(out, "w") as f:
        f.write(
            "title: One list of %d values%s\n"
            "id: %s\n"
            "status: test\n"
            "logsource:\n  product: aws\n  service: cloudtrail\n"
            "detection:\n"
            "  selection:\n"
            "    %s:\n" % (n, " (" + mod + ")" if mod else "", rule_id("values-" + mod, n), key)
        )
        for i in range(n):
            f.write("      - 'Value%07dOp'\n" % i)
        f.write("  condition: selection\nlevel: low\n")


def main(argv):
    if len(argv) == 4 and argv[1] == "files":
        files(int(argv[2]), argv[3])
    elif len(argv) == 5 and argv[1] == "values":
        values(int(argv[2]), argv[3], argv[4])
    else:
        sys.stderr.write("usage: gen_rules.py files N DIR | values N MOD FILE\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
