#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a deterministic NDJSON Management Activity API log for crash and interruption tests:
N MailItemsAccessed records of a few tenants, one in every `every` read with a consumer-tenant
token (vigie's pack raises a high alert on each of those), the others ordinary reads.
Every record is distinct (its own Id, time and message ids), so every alert has its own id.

usage: gen_alert_stream.py N EVERY OUT
"""
import json
import random
import sys
import uuid

CONSUMER = "9188040d-6c67-4c5b-b112-36a304b66dad"


def main():
    n, every, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rnd = random.Random(8)
    tenants = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(5)]
    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            t = tenants[i % len(tenants)]
            u = "user%02d@org%d.example" % (i % 40, i % len(tenants))
            sec = 1686787200 + i * 7  # 2023-06-15 onwards
            hh, rem = divmod(sec % 86400, 3600)
            day = 15 + (sec - 1686787200) // 86400
            when = "2023-06-%02dT%02d:%02d:%02d" % (min(day, 30), hh, rem // 60, rem % 60)
            sid = str(uuid.UUID(int=rnd.getrandbits(128)))
            rec = {
                "CreationTime": when, "Id": str(uuid.UUID(int=rnd.getrandbits(128))),
                "Operation": "MailItemsAccessed", "OrganizationId": t, "RecordType": 50,
                "ResultStatus": "Succeeded", "UserType": 0, "Version": 1, "Workload": "Exchange",
                "ClientIP": "203.0.113.%d" % (i % 250 + 1), "UserId": u,
                "AppId": "00000002-0000-0ff1-ce00-000000000000",
                "ClientAppId": "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
                "ClientInfoString": "Client=REST;Client=RESTSystem;;", "MailboxOwnerUPN": u,
                "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"},
                                        {"Name": "IsThrottled", "Value": "False"}],
                "OperationCount": 3,
                "TokenTenantId": CONSUMER if i % every == 0 else t,
                "SessionId": sid,
                "AppAccessContext": {"AADSessionId": sid, "UniqueTokenId": sid[::-1]},
                "Folders": [{"Path": "\\Inbox", "FolderItems": [
                    {"InternetMessageId": "<%d.%d@org.example>" % (i, k)} for k in range(3)]}],
            }
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
