#!/usr/bin/env python3
"""Writes examples/AWSLogs: a small day of one account's logs in AWS's exact
delivery formats and S3 layout (CloudTrail, VPC Flow Logs v2, Route 53
Resolver query logs), benign background plus a handful of attacks, and the
indicator lists the demo passes. Deterministic: re-running gives the same bytes.
Only needed to regenerate the committed examples; the build never runs it."""
import gzip, io, json, os, random

ACCT = "111122223333"
REGION = "us-east-1"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
rnd = random.Random(7)

def uid(n=32):
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))

def event_id():
    u = uid()
    return f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"

ALICE = {"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE00001", "arn": f"arn:aws:iam::{ACCT}:user/alice",
         "accountId": ACCT, "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": "alice"}
MALLORY = {"type": "IAMUser", "principalId": "AIDAEXAMPLEMALLORY01", "arn": f"arn:aws:iam::{ACCT}:user/build-bot",
           "accountId": ACCT, "accessKeyId": "AKIAEXAMPLEBUILDBOT1", "userName": "build-bot"}
ROOTID = {"type": "Root", "principalId": ACCT, "arn": f"arn:aws:iam::{ACCT}:root", "accountId": ACCT,
          "accessKeyId": "ASIAEXAMPLEROOTKEY01"}

def role(session):
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLEAPPROLE001:{session}",
            "arn": f"arn:aws:sts::{ACCT}:assumed-role/app-role/{session}", "accountId": ACCT,
            "accessKeyId": "ASIAEXAMPLEAPPROLE01",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEAPPROLE001",
                                                  "arn": f"arn:aws:iam::{ACCT}:role/app-role", "accountId": ACCT,
                                                  "userName": "app-role"},
                               "webIdFederationData": {},
                               "attributes": {"creationDate": "2026-11-20T08:00:00Z", "mfaAuthenticated": "false"},
                               "ec2RoleDelivery": "2.0"}}

UA_CLI = "aws-cli/2.13.5 Python/3.11.4 Linux/6.2.0 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances"
UA_SDK = "Boto3/1.28.10 md/Botocore#1.31.10 ua/2.0 os/linux#6.2.0 md/arch#x86_64 lang/python#3.11.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.10"
UA_KALI = "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0-kali5-amd64 exe/x86_64.kali.2023 prompt/off command/s3api.list-buckets"

def ct(t, ident, source, name, params=None, resp=None, ip="198.51.100.20", ua=UA_CLI, read_only=None,
       extra=None, error=None, mgmt=True):
    rec = {"eventVersion": "1.08", "userIdentity": ident, "eventTime": t, "eventSource": source,
           "eventName": name, "awsRegion": REGION, "sourceIPAddress": ip, "userAgent": ua}
    if error:
        rec["errorCode"], rec["errorMessage"] = error
    rec["requestParameters"] = params
    rec["responseElements"] = resp
    rec["requestID"] = uid(8).upper() + "-" + uid(4)
    rec["eventID"] = event_id()
    if read_only is not None:
        rec["readOnly"] = read_only
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = mgmt
    rec["recipientAccountId"] = ACCT
    rec["eventCategory"] = "Management" if mgmt else "Data"
    if extra:
        rec.update(extra)
    rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                         "clientProvidedHostHeader": source.replace(".amazonaws.com", "") + "." + REGION + ".amazonaws.com"}
    return rec

def benign(hour):
    out = []
    for m in range(0, 60, 7):
        t = f"2026-11-20T{hour:02d}:{m:02d}:{rnd.randint(0,59):02d}Z"
        s = f"i-0abc{rnd.randint(1000,9999)}"
        out.append(ct(t, role(s), "ec2.amazonaws.com", "DescribeInstances",
                      {"instancesSet": {}, "filterSet": {}}, None, ip="10.0.1.15", ua=UA_SDK, read_only=True))
        out.append(ct(t, role(s), "s3.amazonaws.com", "GetObject",
                      {"bucketName": "app-assets", "Host": "app-assets.s3.amazonaws.com", "key": f"img/{rnd.randint(1,999)}.png"},
                      None, ip="10.0.1.15", ua=UA_SDK, read_only=True, mgmt=False,
                      extra={"resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::app-assets/img"},
                                           {"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::app-assets"}],
                             "additionalEventData": {"SignatureVersion": "SigV4", "bytesTransferredOut": 2048}}))
        out.append(ct(t, ALICE, "iam.amazonaws.com", "ListUsers", {}, None, read_only=True))
    return out

def day():
    recs = []
    for h in (8, 9, 10, 11):
        recs += benign(h)
    recs.append(ct("2026-11-20T08:03:11Z", ALICE, "signin.amazonaws.com", "ConsoleLogin", None,
                   {"ConsoleLogin": "Success"}, ua="Mozilla/5.0 (X11; Linux x86_64) Firefox/119.0",
                   extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                                  "MobileVersion": "No", "MFAUsed": "Yes"}, "eventType": "AwsConsoleSignIn"}))
    # The attack: build-bot's key leaks and is used from outside.
    evil = "203.0.113.66"
    recs.append(ct("2026-11-20T10:15:02Z", MALLORY, "s3.amazonaws.com", "ListBuckets", {"Host": "s3.amazonaws.com"}, None,
                   ip=evil, ua=UA_KALI, read_only=True))
    recs.append(ct("2026-11-20T10:16:40Z", MALLORY, "iam.amazonaws.com", "CreateAccessKey", {"userName": "alice"},
                   {"accessKey": {"accessKeyId": "AKIAEXAMPLENEWKEY001", "status": "Active", "userName": "alice",
                                  "createDate": "Nov 20, 2026 10:16:40 AM"}}, ip=evil, ua=UA_CLI))
    recs.append(ct("2026-11-20T10:18:05Z", MALLORY, "cloudtrail.amazonaws.com", "StopLogging",
                   {"name": f"arn:aws:cloudtrail:{REGION}:{ACCT}:trail/management"}, None, ip=evil))
    recs.append(ct("2026-11-20T10:19:30Z", MALLORY, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
                   {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [
                       {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
                   {"_return": True}, ip=evil))
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "Public", "Effect": "Allow", "Principal": "*",
                         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::customer-exports/*"}]})
    recs.append(ct("2026-11-20T10:21:12Z", MALLORY, "s3.amazonaws.com", "PutBucketPolicy",
                   {"bucketName": "customer-exports", "Host": "customer-exports.s3.amazonaws.com", "bucketPolicy": json.loads(policy),
                    "policy": [""]}, None, ip=evil))
    recs.append(ct("2026-11-20T10:22:40Z", MALLORY, "ec2.amazonaws.com", "ModifySnapshotAttribute",
                   {"snapshotId": "snap-0a1b2c3d4e5f60718", "createVolumePermission": {"add": {"items": [{"group": "all"}]}},
                    "attributeType": "CREATE_VOLUME_PERMISSION"}, {"_return": True}, ip=evil))
    recs.append(ct("2026-11-20T10:25:00Z", ROOTID, "iam.amazonaws.com", "CreateUser", {"userName": "support-admin"},
                   {"user": {"path": "/", "userName": "support-admin", "userId": "AIDAEXAMPLESUPPORT01",
                             "arn": f"arn:aws:iam::{ACCT}:user/support-admin", "createDate": "Nov 20, 2026 10:25:00 AM"}},
                   ip=evil))
    recs.append(ct("2026-11-20T10:25:30Z", ROOTID, "iam.amazonaws.com", "AttachUserPolicy",
                   {"userName": "support-admin", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None, ip=evil))
    recs.sort(key=lambda r: r["eventTime"])
    return recs

def write_gz(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())

def main():
    recs = day()
    base = os.path.join(ROOT, "AWSLogs", ACCT)
    half = len(recs) // 2
    for i, chunk in enumerate((recs[:half], recs[half:])):
        stamp = chunk[-1]["eventTime"][:16].replace("-", "").replace(":", "")
        name = f"{ACCT}_CloudTrail_{REGION}_{stamp}Z_{uid(16)[:16].upper()}.json.gz"
        body = json.dumps({"Records": chunk}, separators=(",", ":")).encode()
        write_gz(os.path.join(base, "CloudTrail", REGION, "2026", "11", "20", name), body)

    # VPC Flow Logs, default v2 format with its header line.
    lines = ["version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"]
    t0 = 1795168800  # 2026-11-20T08:00:00Z
    for i in range(40):
        s = t0 + i * 60
        lines.append(f"2 {ACCT} eni-0a1b2c3d4e5f60718 10.0.1.15 52.216.8.{i % 200} {40000 + i} 443 6 {12 + i} {8000 + 37 * i} {s} {s + 60} ACCEPT OK")
    for i in range(30):  # an SSH brute force against the open group
        s = t0 + 8400 + i * 5
        lines.append(f"2 {ACCT} eni-0a1b2c3d4e5f60718 198.18.7.{(i * 7) % 250} 10.0.1.15 {50000 + i} 22 6 6 420 {s} {s + 5} REJECT OK")
    lines.append(f"2 {ACCT} eni-0a1b2c3d4e5f60718 10.0.1.15 203.0.113.66 49152 4444 6 120 98000 {t0 + 9000} {t0 + 9060} ACCEPT OK")
    lines.append(f"2 {ACCT} eni-0a1b2c3d4e5f60718 - - - - - - - {t0 + 9060} {t0 + 9120} - NODATA")
    name = f"{ACCT}_vpcflowlogs_{REGION}_fl-0123456789abcdef0_20261120T1030Z_{uid(8)}.log.gz"
    write_gz(os.path.join(base, "vpcflowlogs", REGION, "2026", "11", "20", name), ("\n".join(lines) + "\n").encode())

    # Route 53 Resolver query logs: JSON lines.
    q = []
    names = ["app-assets.s3.amazonaws.com.", "sts.us-east-1.amazonaws.com.", "pool.minexmr.example.", "api.github.com."]
    for i in range(24):
        qn = names[i % 2] if i % 6 else names[3]
        q.append({"version": "1.100000", "account_id": ACCT, "region": REGION, "vpc_id": "vpc-0a1b2c3d4e5f60718",
                  "query_timestamp": f"2026-11-20T09:{i:02d}:10Z", "query_name": qn, "query_type": "A", "query_class": "IN",
                  "rcode": "NOERROR", "answers": [{"Rdata": f"52.216.8.{i}", "Type": "A", "Class": "IN"}],
                  "srcaddr": "10.0.1.15", "srcport": str(53000 + i), "transport": "UDP",
                  "srcids": {"instance": "i-0abc1234def567890"}})
    q.append({"version": "1.100000", "account_id": ACCT, "region": REGION, "vpc_id": "vpc-0a1b2c3d4e5f60718",
              "query_timestamp": "2026-11-20T10:40:02Z", "query_name": names[2], "query_type": "A", "query_class": "IN",
              "rcode": "NOERROR", "answers": [{"Rdata": "192.0.2.44", "Type": "A", "Class": "IN"}],
              "srcaddr": "10.0.1.15", "srcport": "53999", "transport": "UDP", "srcids": {"instance": "i-0abc1234def567890"}})
    q.append({"version": "1.100000", "account_id": ACCT, "region": REGION, "vpc_id": "vpc-0a1b2c3d4e5f60718",
              "query_timestamp": "2026-11-20T10:41:20Z", "query_name": "rebind.attacker.example.", "query_type": "A",
              "query_class": "IN", "rcode": "NOERROR", "answers": [{"Rdata": "169.254.169.254", "Type": "A", "Class": "IN"}],
              "srcaddr": "10.0.1.15", "srcport": "54001", "transport": "UDP", "srcids": {"instance": "i-0abc1234def567890"}})
    name = f"{ACCT}_vpcdnsquerylogs_vpc-0a1b2c3d4e5f60718_20261120T1045Z_{uid(8)}.log.gz"
    write_gz(os.path.join(base, "vpcdnsquerylogs", "vpc-0a1b2c3d4e5f60718", "2026", "11", "20", name),
             ("\n".join(json.dumps(x, separators=(",", ":")) for x in q) + "\n").encode())

    with open(os.path.join(ROOT, "threats.txt"), "w") as f:
        f.write("# Example threat list (GuardDuty TXT format): addresses, CIDRs and domains\n"
                "203.0.113.0/24\n2001:db8:bad::/48\npool.minexmr.example\n")
    with open(os.path.join(ROOT, "tor.txt"), "w") as f:
        f.write("# Example Tor exit list\n198.51.100.99\n")

main()
