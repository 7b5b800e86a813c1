#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_store_fixture.py: write a vigie store (SQLite, schema v1) for the report tests.

Not a scan's output: a hand-built, deterministic picture of a forged-token mail campaign
across six organizations (tenants), shaped as vigie's store holds it. Two victims have
indicator, first-seen, token and combined (per-session) high alerts with messages read;
one campaign joins them; the other four have ordinary low and medium alerts; three
visibility gaps (throttled, unlinkable, no mailbox audit). One tenant name, one user and
one raw event carry a hostile string (<script>alert(1)</script> and quotes) that the
report must escape. Addresses are documentation ranges, except the actor's, which are on
Microsoft's published Storm-0558 list.

usage: make_store_fixture.py OUT.db [--empty] [--user-version N]
  --empty            the schema and one run, no alert (a clean store)
  --user-version N   write PRAGMA user_version = N (to test a store from a newer vigie)
"""
import argparse
import hashlib
import json
import os
import random
import sqlite3

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE runs(id INTEGER PRIMARY KEY, started TEXT, finished TEXT, vigie_version TEXT, args TEXT, events INTEGER, alerts INTEGER, bad INTEGER);
CREATE TABLE alerts(id TEXT PRIMARY KEY, run_id INTEGER REFERENCES runs(id), kind TEXT NOT NULL, rule_id TEXT, rule_title TEXT, level TEXT, tenant TEXT, user TEXT, time TEXT, first_time TEXT, last_time TEXT, score REAL, messages INTEGER, operation_count INTEGER, json TEXT NOT NULL);
CREATE INDEX alerts_tenant ON alerts(tenant, time);
CREATE INDEX alerts_kind ON alerts(kind, level);
CREATE TABLE evidence(alert_id TEXT NOT NULL REFERENCES alerts(id), seq INTEGER NOT NULL, file TEXT, line INTEGER, idx INTEGER, offset INTEGER, sha256 TEXT, PRIMARY KEY(alert_id, seq));
CREATE TABLE campaigns(id TEXT PRIMARY KEY, first_seen TEXT, last_seen TEXT, n_orgs INTEGER, json TEXT NOT NULL);
CREATE TABLE campaign_orgs(campaign_id TEXT NOT NULL, tenant TEXT NOT NULL, PRIMARY KEY(campaign_id, tenant));
CREATE TABLE campaign_alerts(campaign_id TEXT NOT NULL, alert_id TEXT NOT NULL, PRIMARY KEY(campaign_id, alert_id));
"""

HOSTILE = '<script>alert(1)</script>"\''
VICTIM_A = "5b0c1a8e-3f43-4f6e-9a51-0d1e2c3b4a01"  # a government agency
VICTIM_B = "7d2e4f60-8a9b-4c1d-b2e3-f4a5b6c7d802"
CLEAN = ["1a2b3c4d-0000-4e5f-8a9b-c0d1e2f30003", "2b3c4d5e-1111-4f60-9b0c-d1e2f3a40004",
         "3c4d5e6f-2222-4071-8c1d-e2f3a4b50005"]
HOSTILE_TENANT = "fabrikam.example" + HOSTILE  # a tenant name written by an attacker
CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
ACTOR_APP = "b3f7c2a1-6d4e-4b8f-9a0c-1e2d3f4a5b6c"


class Store:
    def __init__(self, db):
        self.db = db
        self.line = {}

    def source(self, file, event):
        raw = json.dumps(event, separators=(",", ":"))
        n = self.line.get(file, 0) + 1
        self.line[file] = n
        return {"file": file, "line": n, "index": n - 1, "offset": (n - 1) * 1500,
                "sha256": hashlib.sha256(raw.encode()).hexdigest()}

    def alert(self, run, kind, level, tenant, user, time, rule_id, title, event=None,
              file="logs/ual.ndjson", tags=(), extra=None, first=None, last=None, score=None,
              messages=None, ops=None):
        a = {"rule": {"id": rule_id, "title": title, "level": level, "tags": list(tags)},
             "kind": kind}
        a.update(extra or {})
        a.update({"tenant": tenant, "user": user, "time": time})
        if event is not None:
            a["source"] = self.source(file, event)
            a["shape"] = "m365_ual"
            a["event"] = event
        text = json.dumps(a, separators=(",", ":"))
        aid = hashlib.sha256(text.encode()).hexdigest()[:24]
        self.db.execute("INSERT INTO alerts VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (aid, run, kind, rule_id, title, level, tenant, user, time, first, last,
                         score, messages, ops, text))
        return aid, a

    def gap(self, run, tenant, gap, detail, frm=None, to=None, records=None, days=None):
        g = {"kind": "gap", "gap": gap, "tenant": tenant}
        if frm:
            g["from"], g["to"] = frm, to
        if records is not None:
            g["records"] = records
        if days is not None:
            g["days"] = days
        g["detail"] = detail
        text = json.dumps(g, separators=(",", ":"))
        aid = "gap-" + hashlib.sha256(text.encode()).hexdigest()[:20]
        self.db.execute("INSERT INTO alerts(id,run_id,kind,tenant,time,json) VALUES(?,?,?,?,?,?)",
                        (aid, run, "gap", tenant, frm, text))


def mail_event(tenant, user, time, ip, app, ids, folder="Inbox", client="Client=REST;Client=RESTSystem;;",
               token_tenant=None):
    return {
        "CreationTime": time.rstrip("Z"), "Id": hashlib.md5((tenant + user + time).encode()).hexdigest(),
        "Operation": "MailItemsAccessed", "OrganizationId": tenant, "RecordType": 50,
        "ResultStatus": "Succeeded", "UserKey": user, "UserType": 0, "Workload": "Exchange",
        "UserId": user, "ClientIPAddress": ip, "ClientInfoString": client, "AppId": app,
        "ClientAppId": app, "MailboxOwnerUPN": user, "LogonType": 0, "ExternalAccess": False,
        "TokenTenantId": token_tenant or tenant,
        "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"},
                                {"Name": "IsThrottled", "Value": "False"}],
        "Folders": [{"Path": "\\" + folder,
                     "FolderItems": [{"InternetMessageId": "<%s@mail.example>" % i} for i in ids]}],
        "OperationCount": len(ids),
    }


def signin_event(tenant, user, time, ip):
    return {"time": time, "category": "SignInLogs",
            "resourceId": "/tenants/%s/providers/Microsoft.aadiam" % tenant,
            "properties": {"userPrincipalName": user, "ipAddress": ip, "appId": ACTOR_APP,
                           "resultType": "0", "homeTenantId": CONSUMER_TENANT}}


def build(path, empty, user_version):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("PRAGMA user_version = %d" % user_version)
    db.execute("INSERT INTO meta VALUES('schema','1'),('created','2023-07-12T08:00:00Z')")
    s = Store(db)
    if empty:
        db.execute("INSERT INTO runs VALUES(1,'2023-07-12T08:00:00Z','2023-07-12T08:03:10Z','0.1.0',"
                   "'scan --store clean.db logs/',125000,0,0)")
        db.commit()
        db.close()
        return
    db.execute("INSERT INTO runs VALUES(1,'2023-07-11T22:00:00Z','2023-07-11T22:41:07Z','0.1.0',"
               "'scan --store vigie.db logs/june/',4812300,0,3)")
    db.execute("INSERT INTO runs VALUES(2,'2023-07-12T08:00:00Z','2023-07-12T08:19:45Z','0.1.0',"
               "?,2650112,0,0)", ("scan --store vigie.db --baseline base.state logs/july/ " + HOSTILE,))
    rnd = random.Random(558)
    campaign_alerts = []
    victims = [(VICTIM_A, "alice.diplomat@agency-a.example", "2023-06-05", "51.89.156.153", 412),
               (VICTIM_B, "bob.analyst@agency-b.example", "2023-06-14", "185.38.142.229", 178)]
    for tenant, user, day, ip, n_msgs in victims:
        # indicator alerts: the actor's SoftEther proxies, inside their published windows
        for k, hh in enumerate(("01:12:09", "02:40:51", "04:05:33")):
            t = "%sT%sZ" % (day, hh)
            ev = mail_event(tenant, user, t, ip, ACTOR_APP, ["m%d-%d" % (k, j) for j in range(12)])
            aid, _ = s.alert(2, "indicator", "high", tenant, user, t, "indicator:storm-0558-softether",
                             "Activity from an address of Storm-0558 (SoftEther proxy)", ev,
                             tags=["attack.t1090.003"],
                             extra={"indicator": {"type": "ip", "value": ip, "first_seen": "2023-03-09",
                                                  "last_seen": "2023-07-10", "role": "SoftEther proxy",
                                                  "set": "storm-0558"},
                                    "messages_read": {"internet_message_ids": 12, "operation_count": 12,
                                                      "folders": ["\\Inbox"]}})
            campaign_alerts.append(aid)
        # first-seen application reading mail
        t = "%sT01:12:09Z" % day
        ev = mail_event(tenant, user, t, ip, ACTOR_APP, ["first-%d" % j for j in range(5)])
        aid, _ = s.alert(2, "new_term", "high", tenant, user, t, "vigie-mail-app-first-seen",
                         "Application reading mail for the first time in this tenant", ev,
                         tags=["attack.collection", "attack.t1114.002"],
                         extra={"new_term": {"group": tenant, "term": ACTOR_APP, "fields": ["ClientAppId"]}})
        campaign_alerts.append(aid)
        # token claims: the consumer tenant signing an enterprise mailbox access
        ev = mail_event(tenant, user, t, ip, ACTOR_APP, ["tok-1"], token_tenant=CONSUMER_TENANT)
        aid, _ = s.alert(2, "token", "critical", tenant, user, t, "vigie-token-consumer-tenant",
                         "Mailbox access with a token from the consumer (MSA) tenant", ev,
                         tags=["attack.t1606.001"])
        campaign_alerts.append(aid)
        # sign-in from actor infrastructure
        ev = signin_event(tenant, user, "%sT00:58:40Z" % day, ip)
        s.alert(2, "sigma", "medium", tenant, user, "%sT00:58:40Z" % day, "vigie-signin-consumer-home",
                "Sign-in with a consumer home tenant into an enterprise tenant", ev,
                file="logs/entra_signins.json", tags=["attack.initial_access"])
        # the combined per-session alert, with what was read
        first, last = "%sT01:12:09Z" % day, "%sT06:47:15Z" % day
        evidence = [dict(alert=a, **s.source("logs/ual.ndjson", {"n": a})) for a in campaign_alerts[-5:]]
        aid, a = s.alert(2, "combined", "critical", tenant, user, first, "vigie-combined-session",
                         "Forged-token mail access: one session, several signals",
                         extra={"session": "sess-" + tenant[:8], "score": 9.6,
                                "signals": ["indicator: Storm-0558 SoftEther proxy",
                                            "new_term: ClientAppId first seen",
                                            "token: consumer tenant on an enterprise mailbox",
                                            "hours: Monday-Friday 00:00-09:00 UTC"],
                                "messages_read": {"internet_message_ids": n_msgs,
                                                  "operation_count": n_msgs + 61,
                                                  "folders": ["\\Inbox", "\\Sent Items"],
                                                  "first": first, "last": last},
                                "evidence": evidence},
                         first=first, last=last, score=9.6, messages=n_msgs, ops=n_msgs + 61)
        for seq, e in enumerate(evidence):
            db.execute("INSERT INTO evidence VALUES(?,?,?,?,?,?,?)",
                       (aid, seq, e["file"], e["line"], e["index"], e["offset"], e["sha256"]))
        campaign_alerts.append(aid)
        # a second, smaller session a week later
        d2 = "2023-06-%02d" % (int(day[-2:]) + 7)
        aid, _ = s.alert(2, "combined", "high", tenant, user, d2 + "T03:00:00Z", "vigie-combined-session",
                         "Forged-token mail access: one session, several signals",
                         extra={"session": "sess2-" + tenant[:8], "score": 7.1,
                                "signals": ["indicator: Storm-0558 SoftEther proxy",
                                            "hours: Monday-Friday 00:00-09:00 UTC"],
                                "messages_read": {"internet_message_ids": 40, "operation_count": 44,
                                                  "folders": ["\\Inbox"]}},
                         first=d2 + "T03:00:00Z", last=d2 + "T05:10:00Z", score=7.1, messages=40, ops=44)
        campaign_alerts.append(aid)
    # ordinary alerts everywhere, the hostile tenant included
    everyone = [VICTIM_A, VICTIM_B] + CLEAN + [HOSTILE_TENANT]
    ordinary = [("low", "vigie-inbox-rule", "New inbox rule"),
                ("medium", "vigie-forwarding", "Mail forwarding to an external address"),
                ("informational", "vigie-file-access", "File accessed from a new device"),
                ("low", "sigma-mfa-fatigue", "Many MFA prompts for one user")]
    for i in range(36):
        tenant = everyone[i % len(everyone)]
        lv, rid, title = ordinary[rnd.randrange(len(ordinary))]
        t = "2023-06-%02dT%02d:%02d:00Z" % (1 + rnd.randrange(28), rnd.randrange(24), rnd.randrange(60))
        user = "user%d@org%d.example" % (rnd.randrange(20), everyone.index(tenant))
        ev = {"CreationTime": t.rstrip("Z"), "Operation": "New-InboxRule", "OrganizationId": tenant,
              "UserId": user, "ClientIP": "198.51.100.%d" % rnd.randrange(1, 250)}
        if tenant == HOSTILE_TENANT:
            user = 'mallory"' + HOSTILE + "@fabrikam.example"
            ev["UserId"] = user
            ev["Parameters"] = [{"Name": "Name", "Value": "rule " + HOSTILE}]
            ev["ClientInfoString"] = "</pre><script>alert(1)</script>"
        s.alert(1 if t < "2023-06-15" else 2, "sigma", lv, tenant, user, t, rid, title, ev,
                tags=["attack.persistence"])
    # a medium first-seen in a clean tenant (a new, legitimate backup application)
    t = "2023-06-20T10:00:00Z"
    s.alert(2, "new_term", "medium", CLEAN[0], "backup@org2.example", t, "vigie-mail-app-first-seen",
            "Application reading mail for the first time in this tenant",
            mail_event(CLEAN[0], "backup@org2.example", t, "203.0.113.7", "0f0e0d0c-backup-app", ["b1"]))
    # visibility gaps
    s.gap(2, VICTIM_A, "throttled", "IsThrottled: Bind records stop for 24 h after 1,000 in 24 h; "
          "reads in that period are not audited", records=37)
    s.gap(2, VICTIM_B, "unlinkable", "mail access without UniqueTokenId or SessionId: cannot be "
          "joined to sign-ins", records=120)
    s.gap(2, CLEAN[1], "no_mail_audit", "no MailItemsAccessed record in these days",
          frm="2023-06-09T00:00:00.000Z", to="2023-06-13T00:00:00.000Z", days=4)
    s.gap(1, HOSTILE_TENANT, "no_mail_audit", "no MailItemsAccessed record " + HOSTILE,
          frm="2023-06-21T00:00:00.000Z", to="2023-06-24T00:00:00.000Z", days=3)
    # the campaign
    camp = {"id": "campaign-storm-0558-like-1", "organizations": [VICTIM_A, VICTIM_B],
            "users": [v[1] for v in victims], "first_seen": "2023-06-05T00:58:40Z",
            "last_seen": "2023-06-21T05:10:00Z",
            "indicators": [{"type": "ip", "value": "51.89.156.153"},
                           {"type": "ip", "value": "185.38.142.229"},
                           {"type": "client_app_id", "value": ACTOR_APP},
                           {"type": "user_agent", "value": "Client=REST;Client=RESTSystem;;"}],
            "signals": ["indicator", "new_term", "token", "combined"],
            "techniques": ["T1114.002", "T1606.001", "T1090.003"],
            "messages_read": {"internet_message_ids": sum(v[4] for v in victims) + 80,
                              "operation_count": sum(v[4] + 61 for v in victims) + 88},
            "alerts": campaign_alerts}
    db.execute("INSERT INTO campaigns VALUES(?,?,?,?,?)",
               (camp["id"], camp["first_seen"], camp["last_seen"], 2, json.dumps(camp)))
    for t in camp["organizations"]:
        db.execute("INSERT INTO campaign_orgs VALUES(?,?)", (camp["id"], t))
    for a in campaign_alerts:
        db.execute("INSERT INTO campaign_alerts VALUES(?,?)", (camp["id"], a))
    db.execute("UPDATE runs SET alerts=(SELECT count(*) FROM alerts WHERE run_id=runs.id AND kind<>'gap')")
    db.commit()
    db.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--empty", action="store_true")
    ap.add_argument("--user-version", type=int, default=1)
    a = ap.parse_args()
    build(a.out, a.empty, a.user_version)


if __name__ == "__main__":
    main()
