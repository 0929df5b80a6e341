#!/usr/bin/env python3
"""Writes the fire/miss files of the stateful rules (tests/rules/<rule-id>/).

Run: python3 tests/make_stateful_rule_tests.py

A stateful rule fires on many records, so its test files hold a whole small
scenario: VPC flow lines (default v2 format, `.log`), Route 53 Resolver query
lines (`.jsonl`) or a CloudTrail log file (`.json`). Each miss file is the
nearest scenario that must not fire: one attempt short, the wrong port, still
learning, and so on. Run it from the repository root after changing a rule's
thresholds; the files are committed, this script only saves writing them by
hand. Deterministic: the same files every time.
"""
import json
import os
import random

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules")
T0 = 1795132800  # 2026-11-20T00:00:00Z
ACCT = "111122223333"
ENI = "eni-0a1b2c3d4e5f60718"
INST = "i-0123456789abcdef0"
ME = "10.0.2.9"


def iso(s):
    import datetime
    return datetime.datetime.fromtimestamp(T0 + s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write(rule, name, text):
    d = os.path.join(ROOT, rule)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


# ---- flows --------------------------------------------------------------------

def fl(s, src, dst, sport, dport, proto=6, packets=2, nbytes=100, action="ACCEPT", eni=ENI):
    return f"2 {ACCT} {eni} {src} {dst} {sport} {dport} {proto} {packets} {nbytes} {T0 + s} {T0 + s + 30} {action} OK"


HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


def flows(rule, name, lines):
    write(rule, name, HEADER + "\n" + "\n".join(lines) + "\n")


def history(days=1.5, port=443, peer="198.51.100.200"):
    """An instance's ordinary outbound HTTPS, every hour, long enough to learn."""
    out = []
    for h in range(int(days * 24) + 1):
        out.append(fl(3600 * h, ME, peer, 40000 + h, port, 6, 20, 9000))
    return out


def brute(rule_prefix, port):
    base = 2 * 86400
    flows(f"{rule_prefix}-target", "fire-attempts.log",
          [fl(base + 5 * i, "203.0.113.66", ME, 41000 + i, port, action="REJECT") for i in range(25)])
    flows(f"{rule_prefix}-target", "miss-19-attempts.log",
          [fl(base + 5 * i, "203.0.113.66", ME, 41000 + i, port, action="REJECT") for i in range(19)])
    flows(f"{rule_prefix}-target", "miss-slow.log",
          [fl(base + 45 * i, "203.0.113.66", ME, 41000 + i, port, action="REJECT") for i in range(25)])
    flows(f"{rule_prefix}-actor", "fire-attempts.log",
          [fl(base + 5 * i, ME, "198.51.100.10", 50000 + i, port, packets=3, nbytes=180)
           for i in range(25)])
    flows(f"{rule_prefix}-actor", "miss-internal-target.log",
          [fl(base + 5 * i, ME, "10.0.3.3", 50000 + i, port, packets=3, nbytes=180)
           for i in range(25)])


def vpcflow():
    brute("ssh-brute-force", 22)
    brute("rdp-brute-force", 3389)
    brute("winrm-brute-force", 5985)
    b = 2 * 86400
    flows("portscan", "fire-ports.log",
          [fl(b + 2 * i, ME, "198.51.100.20", 51000, 1 + i * 37, action="ACCEPT", packets=1, nbytes=44)
           for i in range(30)])
    flows("portscan", "miss-web-ports.log",
          [fl(b + 2 * i, ME, "198.51.100.20", 51000 + i, 80 if i % 2 else 443, packets=10, nbytes=5000)
           for i in range(30)] +
          [fl(b + 70 + i, ME, "198.51.100.20", 52000 + i, 8000 + i, packets=1, nbytes=44)
           for i in range(20)])
    flows("port-sweep", "fire-telnet.log",
          [fl(b + i, ME, f"198.51.100.{30 + i}", 52000 + i, 23, packets=1, nbytes=44) for i in range(30)])
    flows("port-sweep", "miss-real-traffic.log",
          [fl(b + i, ME, f"198.51.100.{30 + i}", 52000 + i, 23, packets=12, nbytes=4000)
           for i in range(30)])
    flows("port-probe-unprotected-port", "fire-8080.log",
          [fl(b + 60 * i, f"203.0.113.{10 + i}", ME, 45000 + i, 8080, packets=2, nbytes=100)
           for i in range(12)])
    flows("port-probe-unprotected-port", "miss-https.log",
          [fl(b + 60 * i, f"203.0.113.{10 + i}", ME, 45000 + i, 443, packets=2, nbytes=100)
           for i in range(12)])
    flows("port-probe-unprotected-port", "miss-blocked.log",
          [fl(b + 60 * i, f"203.0.113.{10 + i}", ME, 45000 + i, 8080, packets=1, nbytes=44,
              action="REJECT") for i in range(12)])
    flows("port-probe-unprotected-port-elasticsearch", "fire-9200.log",
          [fl(b + 60 * i, f"203.0.113.{10 + i}", ME, 45000 + i, 9200, packets=2, nbytes=100)
           for i in range(12)])
    flows("port-probe-unprotected-port-elasticsearch", "miss-9-sources.log",
          [fl(b + 60 * i, f"203.0.113.{10 + i}", ME, 45000 + i, 9200, packets=2, nbytes=100)
           for i in range(9)])

    def flood(proto, dport, size, n=4, packets=60000, dst="198.51.100.99", inbound=False):
        out = []
        for i in range(n):
            if inbound:
                out.append(fl(b + 60 * i, dst, ME, dport, 33000 + i, proto, packets, packets * size))
            else:
                out.append(fl(b + 60 * i, ME, dst, 33000 + i, dport, proto, packets, packets * size))
        return out
    flows("dos-tcp", "fire-syn-flood.log", flood(6, 80, 40))
    flows("dos-tcp", "miss-bulk-transfer.log", flood(6, 443, 1400))
    flows("dos-udp", "fire-udp-flood.log", flood(17, 9999, 512))
    flows("dos-udp", "miss-dns-port.log", flood(17, 53, 512))
    flows("dos-udp-on-tcp-ports", "fire-udp-443.log", flood(17, 443, 512))
    flows("dos-udp-on-tcp-ports", "miss-udp-9999.log", flood(17, 9999, 512))
    flows("dos-dns", "fire-dns-flood.log", flood(17, 53, 80))
    flows("dos-dns", "miss-inbound-queries.log", flood(17, 53, 80, inbound=True))
    flows("dos-unusual-protocol", "fire-gre.log", flood(47, 0, 100))
    flows("dos-unusual-protocol", "miss-small-flows.log", flood(47, 0, 100, n=60, packets=4999))

    learned = history()
    late = 36 * 3600 + 600
    flows("spambot", "fire-smtp.log", learned + [fl(late, ME, "198.51.100.40", 41234, 25, 6, 30, 9000)])
    flows("spambot", "miss-learning.log", learned[:2] + [fl(1800, ME, "198.51.100.40", 41234, 25, 6, 30, 9000)])
    # a port scan's bare SYN to port 25 is no mail
    flows("spambot", "miss-syn-probe.log", learned + [fl(late, ME, "198.51.100.40", 41234, 25, 6, 1, 44)])
    flows("network-port-unusual", "fire-irc.log", learned + [fl(late, ME, "198.51.100.41", 41235, 6667, 6, 30, 9000)])
    flows("network-port-unusual", "miss-usual-port.log", learned + [fl(late, ME, "198.51.100.41", 41235, 443, 6, 30, 9000)])
    flows("network-port-unusual-ldap", "fire-1389.log", learned + [fl(late, ME, "198.51.100.42", 41236, 1389, 6, 8, 900)])
    flows("network-port-unusual-ldap", "miss-known-ldap.log",
          [fl(0, ME, "198.51.100.42", 41000, 1389, 6, 8, 900)] + learned + [fl(late, ME, "198.51.100.42", 41236, 1389, 6, 8, 900)])
    flows("unusual-dns-resolver", "fire-public-resolver.log", learned + [fl(late, ME, "198.51.100.53", 51000, 53, 17, 2, 140)])
    flows("unusual-dns-resolver", "miss-vpc-resolver.log", learned + [fl(late, ME, "10.0.0.2", 51000, 53, 17, 2, 140)])
    flows("unusual-dns-resolver", "miss-tcp-syn-probe.log", learned + [fl(late, ME, "198.51.100.53", 51000, 53, 6, 1, 44)])
    flows("unusual-doh-activity", "fire-cloudflare.log", learned + [fl(late, ME, "1.1.1.1", 51001, 443, 6, 12, 3000)])
    flows("unusual-doh-activity", "miss-plain-https.log", learned + [fl(late, ME, "198.51.100.81", 51001, 443, 6, 12, 3000)])
    flows("unusual-dot-activity", "fire-quad9.log", learned + [fl(late, ME, "9.9.9.9", 51002, 853, 6, 12, 3000)])
    flows("unusual-dot-activity", "miss-learning.log", learned[:2] + [fl(1800, ME, "9.9.9.9", 51002, 853, 6, 12, 3000)])
    flows("unusual-dot-activity", "miss-syn-probe.log", learned + [fl(late, ME, "9.9.9.9", 51002, 853, 6, 2, 88)])
    vol = [fl(3600 * h, ME, "198.51.100.200", 40000 + h, 443, 6, 8000, 10_000_000) for h in range(40)]
    flows("traffic-volume-unusual", "fire-5gb.log", vol + [fl(40 * 3600 + 60, ME, "198.51.100.201", 42000, 443, 6, 3_500_000, 5_000_000_000)])
    flows("traffic-volume-unusual", "miss-under-floor.log", vol + [fl(40 * 3600 + 60, ME, "198.51.100.201", 42000, 443, 6, 600_000, 900_000_000)])


# ---- DNS ------------------------------------------------------------------------

def q(s, name, rcode="NOERROR"):
    return json.dumps({
        "version": "1.100000", "account_id": ACCT, "region": "us-east-1", "vpc_id": "vpc-0a1b2c3d",
        "query_timestamp": iso(s), "query_name": name, "query_type": "TXT", "query_class": "IN",
        "rcode": rcode, "answers": [], "srcaddr": ME, "srcport": "53001", "transport": "UDP",
        "srcids": {"instance": INST}}, separators=(",", ":"))


def dns():
    rnd = random.Random(7)
    hexl = lambda: "".join(rnd.choice("0123456789abcdef") for _ in range(40))
    write("dns-data-exfiltration", "fire-hex-labels.jsonl",
          "\n".join(q(10 * i, f"{hexl()}.{i}.t.exfil-example.com.") for i in range(25)) + "\n")
    same = hexl()
    write("dns-data-exfiltration", "miss-same-name.jsonl",
          "\n".join(q(10 * i, f"{same}.t.exfil-example.com.") for i in range(25)) + "\n")
    write("dns-data-exfiltration", "miss-aws-names.jsonl",
          "\n".join(q(10 * i, f"{hexl()}.execute-api.us-east-1.amazonaws.com.") for i in range(25)) + "\n")
    cons = "bcdfghjklmnpqrstvwxz"
    dga = lambda: "".join(rnd.choice(cons + "0123456789") for _ in range(14))
    write("dga-domain-request", "fire-generated.jsonl",
          "\n".join(q(30 * i, f"{dga()}.com.", "NXDOMAIN") for i in range(12)) + "\n")
    words = ["github", "wikipedia", "stackoverflow", "debian", "ubuntu", "python", "mozilla",
             "example", "kernel", "apache", "openssl", "letsencrypt"]
    write("dga-domain-request", "miss-real-names.jsonl",
          "\n".join(q(30 * i, f"www.{w}.org.") for i, w in enumerate(words)) + "\n")


# ---- CloudTrail -------------------------------------------------------------------

_n = [0]


def ev(s, name, source, ident=None, ip="198.51.100.7", ua="aws-cli/2.13.0 Python/3.11.4 Linux/6.1",
       req=None, resp=None, error=None, readonly=False, etype="AwsApiCall", extra=None):
    _n[0] += 1
    r = {
        "eventVersion": "1.08",
        "userIdentity": ident or {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER00001",
                                  "arn": f"arn:aws:iam::{ACCT}:user/alice", "accountId": ACCT,
                                  "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": "alice"},
        "eventTime": iso(s), "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": ip, "userAgent": ua, "requestParameters": req, "responseElements": resp,
        "eventID": f"00000000-0000-4000-8000-{_n[0]:012d}", "readOnly": readonly,
        "eventType": etype, "managementEvent": True, "recipientAccountId": ACCT,
        "eventCategory": "Management"}
    if error:
        r["errorCode"] = error
        r["errorMessage"] = "You are not authorized to perform this operation."
    if extra:
        r.update(extra)
    return r


def trail(rule, name, records):
    write(rule, name, json.dumps({"Records": records}, separators=(",", ":")) + "\n")


def instance_identity(inst=INST):
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLEROLE00001:{inst}",
            "arn": f"arn:aws:sts::{ACCT}:assumed-role/web-ec2-role/{inst}", "accountId": ACCT,
            "accessKeyId": "ASIAEXAMPLEINSTANCE1",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLE00001",
                                                 "arn": f"arn:aws:iam::{ACCT}:role/web-ec2-role",
                                                 "accountId": ACCT, "userName": "web-ec2-role"},
                               "attributes": {"creationDate": iso(0), "mfaAuthenticated": "false"},
                               "ec2RoleDelivery": "2.0"}}


def cloudtrail():
    ii = instance_identity()
    own = [ev(60 * i, "ListBuckets", "s3.amazonaws.com", ii, ip=ME, ua="Boto3/1.28.0", readonly=True)
           for i in range(5)]
    trail("instance-credential-exfiltration-outside", "fire-outside.json",
          own + [ev(900, "GetCallerIdentity", "sts.amazonaws.com", ii, ip="198.51.100.23", readonly=True)])
    trail("instance-credential-exfiltration-outside", "miss-own-address.json", own)
    # The instance's own public address, used from its first minutes: home, not outside.
    pub = [ev(60 * i, "ListBuckets", "s3.amazonaws.com", ii, ip="3.225.16.109", ua="Boto3/1.28.0",
              readonly=True) for i in range(3)]
    trail("instance-credential-exfiltration-outside", "miss-own-public-address.json",
          pub + [ev(1800, "ListBuckets", "s3.amazonaws.com", ii, ip="3.225.16.109", readonly=True)])
    trail("instance-credential-exfiltration-inside", "fire-other-vpc-address.json",
          own + [ev(1800, "ListBuckets", "s3.amazonaws.com", ii, ip="10.0.5.5", readonly=True)])
    trail("instance-credential-exfiltration-inside", "miss-own-address.json",
          own + [ev(1800, "ListBuckets", "s3.amazonaws.com", ii, ip=ME, readonly=True)])

    def rate(error):
        hist = [ev(3600 * h, "RunInstances", "ec2.amazonaws.com", error=error) for h in range(40)]
        burst = [ev(40 * 3600 + 300 + i, "RunInstances", "ec2.amazonaws.com", error=error) for i in range(30)]
        early = [ev(600 + i, "RunInstances", "ec2.amazonaws.com", error=error) for i in range(30)]
        return hist, burst, early
    hist, burst, early = rate(None)
    trail("api-call-rate-insight", "fire-burst.json", hist + burst)
    trail("api-call-rate-insight", "miss-while-learning.json", hist[:3] + early)
    hist, burst, early = rate("Client.UnauthorizedOperation")
    trail("api-error-rate-insight", "fire-burst.json", hist + burst)
    trail("api-error-rate-insight", "miss-while-learning.json", hist[:3] + early)

    def burst_of(n, gap, name, source, **kw):
        return [ev(gap * i, name, source, **kw) for i in range(n)]
    sec = {"secretId": "prod/db/password"}
    trail("secrets-retrieval-burst", "fire-22.json",
          burst_of(22, 10, "GetSecretValue", "secretsmanager.amazonaws.com", req=sec, readonly=True))
    trail("secrets-retrieval-burst", "miss-19.json",
          burst_of(19, 10, "GetSecretValue", "secretsmanager.amazonaws.com", req=sec, readonly=True))
    trail("secrets-batch-retrieval-burst", "fire-6.json",
          burst_of(6, 20, "BatchGetSecretValue", "secretsmanager.amazonaws.com", readonly=True))
    trail("secrets-batch-retrieval-burst", "miss-4.json",
          burst_of(4, 20, "BatchGetSecretValue", "secretsmanager.amazonaws.com", readonly=True))
    pw = {"instanceId": "i-0fedcba9876543210"}
    trail("password-data-retrieval-burst", "fire-denied.json",
          burst_of(12, 5, "GetPasswordData", "ec2.amazonaws.com", req=pw, error="Client.UnauthorizedOperation", readonly=True))
    trail("password-data-retrieval-burst", "miss-spread.json",
          burst_of(12, 150, "GetPasswordData", "ec2.amazonaws.com", req=pw, readonly=True))
    trail("user-data-enumeration", "fire-userdata.json",
          burst_of(12, 5, "DescribeInstanceAttribute", "ec2.amazonaws.com",
                   req={"instanceId": "i-0fedcba9876543210", "attribute": "userData"}, readonly=True))
    trail("user-data-enumeration", "miss-instance-type.json",
          burst_of(12, 5, "DescribeInstanceAttribute", "ec2.amazonaws.com",
                   req={"instanceId": "i-0fedcba9876543210", "attribute": "instanceType"}, readonly=True))
    names = [f"/credentials/app/credentials-{i}" for i in range(30)]
    trail("ssm-secure-parameters-burst", "fire-sweep.json",
          [ev(5 * i, "GetParameters", "ssm.amazonaws.com",
              req={"names": names[10 * i:10 * i + 10], "withDecryption": True}, readonly=True)
           for i in range(3)])
    def walk(pages, decrypt=True):
        return [ev(3 * i, "GetParametersByPath", "ssm.amazonaws.com",
                   req=dict({"path": "/acme/prod/", "recursive": True, "withDecryption": decrypt},
                            **({"nextToken": f"page-{i}"} if i else {})), readonly=True)
                for i in range(pages)]
    trail("ssm-parameters-path-walk", "fire-8-pages.json", walk(8))
    trail("ssm-parameters-path-walk", "miss-4-pages.json", walk(4))
    trail("ssm-parameters-path-walk", "miss-plain.json", walk(8, decrypt=False))
    trail("ssm-secure-parameters-burst", "miss-same-few.json",
          [ev(5 * i, "GetParameters", "ssm.amazonaws.com",
              req={"names": names[:5], "withDecryption": True}, readonly=True) for i in range(12)])
    trail("ssm-secure-parameters-burst", "miss-plain.json",
          [ev(5 * i, "GetParameters", "ssm.amazonaws.com",
              req={"names": names[10 * i:10 * i + 10], "withDecryption": False}, readonly=True)
           for i in range(3)])
    login = lambda s, res: ev(s, "ConsoleLogin", "signin.amazonaws.com",
                              {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER00002", "accountId": ACCT,
                               "accessKeyId": "", "userName": "bob",
                               "arn": f"arn:aws:iam::{ACCT}:user/bob"},
                              ip="203.0.113.50", ua="Mozilla/5.0", resp={"ConsoleLogin": res},
                              etype="AwsConsoleSignIn",
                              extra={"additionalEventData": {"MFAUsed": "Yes", "LoginTo": "https://console.aws.amazon.com/console/home"}})
    trail("console-login-failures", "fire-7-failures.json", [login(20 * i, "Failure") for i in range(7)])
    def login_from(s, ip):
        r = login(s, "Success")
        r["sourceIPAddress"] = ip
        return r
    # The rule tests' GeoIP database puts 203.0.113.0/24 in the US and
    # 198.51.100.0/24 in France (tests/unit/test_detect.c).
    trail("console-login-success-geo", "fire-two-countries.json",
          [login_from(0, "203.0.113.50"), login_from(1200, "198.51.100.77")])
    trail("console-login-success-geo", "miss-same-country.json",
          [login_from(0, "203.0.113.50"), login_from(1200, "203.0.113.51")])
    trail("console-login-success-geo", "miss-hours-apart.json",
          [login_from(0, "203.0.113.50"), login_from(4 * 3600, "198.51.100.77")])
    trail("console-login-failures", "miss-successes.json", [login(20 * i, "Success") for i in range(7)])
    apis = ["ListUsers", "ListRoles", "GetAccountAuthorizationDetails", "ListBuckets", "DescribeInstances",
            "ListFunctions20150331", "DescribeDBInstances", "ListSecrets", "DescribeTrails",
            "ListDetectors", "GetCallerIdentity", "ListKeys", "ListGroups", "ListPolicies",
            "DescribeVpcs", "DescribeSubnets", "ListTopics"]
    trail("permission-enumeration", "fire-12-apis.json",
          [ev(5 * i, a, "iam.amazonaws.com", error="AccessDenied", readonly=True) for i, a in enumerate(apis)])
    trail("permission-enumeration", "miss-one-api.json",
          [ev(5 * i, "ListUsers", "iam.amazonaws.com", error="AccessDenied", readonly=True) for i in range(17)])
    stop = lambda s: ev(s, "StopInstances", "ec2.amazonaws.com",
                        req={"instancesSet": {"items": [{"instanceId": "i-0fedcba9876543210"}]}, "force": False})
    mod = lambda s: ev(s, "ModifyInstanceAttribute", "ec2.amazonaws.com",
                       req={"instanceId": "i-0fedcba9876543210", "userData": "<sensitiveDataRemoved>"})
    start = lambda s: ev(s, "StartInstances", "ec2.amazonaws.com",
                         req={"instancesSet": {"items": [{"instanceId": "i-0fedcba9876543210"}]}})
    trail("ec2-user-data-modified-and-restarted", "fire-stop-modify-start.json", [stop(0), mod(120), start(300)])
    trail("ec2-user-data-modified-and-restarted", "miss-no-stop.json", [mod(120), start(300)])

    # IAM AnomalousBehavior: a week of the same tool from the office, then a
    # new API from a new network and tool.
    week = [ev(86400 * d + 3600, "DescribeInstances", "ec2.amazonaws.com", ip="203.0.113.10", readonly=True)
            for d in range(8)]
    late = 8 * 86400
    attacker = dict(ip="198.51.100.66", ua="python-requests/2.31.0")
    classes = {
        "credential-access": ("GetSecretValue", "secretsmanager.amazonaws.com"),
        "defense-evasion": ("StopLogging", "cloudtrail.amazonaws.com"),
        "exfiltration": ("CreateSnapshot", "ec2.amazonaws.com"),
        "impact": ("DeleteSecurityGroup", "ec2.amazonaws.com"),
        "initial-access": ("StartSession", "ssm.amazonaws.com"),
        "persistence": ("CreateAccessKey", "iam.amazonaws.com"),
        "privilege-escalation": ("AttachUserPolicy", "iam.amazonaws.com"),
        "discovery": ("ListUsers", "iam.amazonaws.com"),
    }
    for cls, (name, source) in classes.items():
        trail(f"iam-anomalous-{cls}", "fire-new-api-new-tool.json",
              week + [ev(late, name, source, **attacker)])
        trail(f"iam-anomalous-{cls}", "miss-usual-tool.json",
              week + [ev(late, name, source, ip="203.0.113.11", readonly=True)])
        trail(f"iam-anomalous-{cls}", "miss-learning.json",
              week[:2] + [ev(86400 + 7200, name, source, **attacker)])

    def s3ev(s, name, bucket="acme-prod-data", ident=None):
        r = ev(s, name, "s3.amazonaws.com", ident, req={"bucketName": bucket, "key": f"obj/{s}"},
               readonly=name.startswith(("Get", "List", "Head")))
        r["eventCategory"] = "Data"
        r["managementEvent"] = False
        return r
    s3 = {"discovery": ("ListObjects", 120), "exfiltration": ("GetObject", 120),
          "delete": ("DeleteObject", 60), "write": ("PutObject", 120), "permission": ("PutObjectAcl", 20)}
    for cls, (name, n) in s3.items():
        hist = [s3ev(1800 * i, name) for i in range(60)]  # two an hour for thirty hours
        burst = [s3ev(60 * 1800 + 60 + i, name) for i in range(n)]
        early = [s3ev(600 + i, name) for i in range(n)]
        trail(f"s3-anomalous-{cls}", "fire-burst.json", hist + burst)
        trail(f"s3-anomalous-{cls}", "miss-while-learning.json", hist[:2] + early)


if __name__ == "__main__":
    vpcflow()
    dns()
    cloudtrail()
