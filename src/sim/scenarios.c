/*
 * The game-day scenarios: each adds one attack to the company's ordinary
 * days (world.c) and says what it should make a detector find.
 *
 * Attacks are drawn well past any sensible threshold (hundreds of attempts,
 * not a handful) and the background stays well below, so a scenario checks
 * that a detector exists and is wired, not where its threshold sits.
 * Expectations whose detector is not on main are marked pending; the
 * scenario table names what they wait for.
 */
#include "sim/sim_int.h"

#include <stdio.h>
#include <string.h>

#define UA_KALI "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off command/%s"
#define UA_ATTACKER "aws-cli/2.13.5 Python/3.11.4 Windows/10 exe/AMD64 prompt/off command/%s"
#define UA_BOTO_EXT "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#5.15.0-86-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57"
#define UA_BOB "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-26-generic exe/x86_64.ubuntu.22 prompt/off command/%s"
#define UA_BROWSER "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"

static bool read_only_api(const char *name)
{
    static const char *const pre[] = { "Get", "List", "Describe", "Head", "Lookup", "BatchGet" };
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (strncmp(name, pre[i], strlen(pre[i])) == 0)
            return true;
    return false;
}

/* A management call. */
static void api(struct sim_ctx *c, const struct sim_identity *id, int64_t ms, const char *ip,
                const char *ua, const char *source, const char *name, const char *req, const char *resp)
{
    struct sim_ct ct = { .ms = ms, .who = id, .event_source = source, .event_name = name, .ip = ip,
                         .ua = ua, .req = req, .resp = resp, .read_only = read_only_api(name) };
    sim__ct(c, &ct);
}

/* An S3 object-level call (a data event). */
static void s3_data(struct sim_ctx *c, const struct sim_identity *id, int64_t ms, const char *ip,
                    const char *ua, const char *op, const char *bucket, const char *key, uint64_t bytes)
{
    const char *req, *res;
    if (key != NULL) {
        req = sim__fmt(c, "{\"bucketName\":\"%s\",\"Host\":\"%s.s3.us-east-1.amazonaws.com\",\"key\":\"%s\"}",
                       bucket, bucket, key);
        res = sim__fmt(c, "[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::%s/%s\"},{\"accountId\":"
                          "\"%s\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::%s\"}]",
                       bucket, key, SIM_ACCOUNT, bucket);
    } else {
        req = sim__fmt(c, "{\"bucketName\":\"%s\",\"Host\":\"%s.s3.us-east-1.amazonaws.com\","
                          "\"list-type\":\"2\",\"prefix\":\"\"}",
                       bucket, bucket);
        res = sim__fmt(c, "[{\"accountId\":\"%s\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::%s\"}]",
                       SIM_ACCOUNT, bucket);
    }
    bool write = strncmp(op, "Put", 3) == 0 || strncmp(op, "Delete", 6) == 0;
    const char *add = sim__fmt(c, "{\"SignatureVersion\":\"%s\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\","
                                  "\"bytesTransferredIn\":%llu,\"AuthenticationMethod\":\"%s\","
                                  "\"bytesTransferredOut\":%llu}",
                               id->type == SIM_ID_ANON ? "" : "SigV4",
                               (unsigned long long)(write ? bytes : 0),
                               id->type == SIM_ID_ANON ? "" : "AuthHeader",
                               (unsigned long long)(write ? 0 : bytes));
    struct sim_ct ct = { .ms = ms, .who = id, .event_source = "s3.amazonaws.com", .event_name = op,
                         .ip = ip, .ua = ua, .req = req, .read_only = !write, .data = true,
                         .resources = res, .additional = add,
                         .recipient = SIM_ACCOUNT };
    sim__ct(c, &ct);
}

static void expect(struct sim_ctx *c, const char *type, const char *resource, const char *key,
                   const char *remote_ip, const char *domain, bool pending, const char *why)
{
    struct sim_expect e = { type, resource, key, remote_ip, domain, pending, why, false };
    sim__expect(c, &e);
}

/* A finding the attack may also raise; neither required nor unexpected. */
static void may(struct sim_ctx *c, const char *type, const char *resource, const char *key,
                bool pending, const char *why)
{
    struct sim_expect e = { type, resource, key, NULL, NULL, pending, why, true };
    sim__expect(c, &e);
}

/* GuardDuty's NetworkPortUnusual follows most attacks that use a port the
 * instance never used; the scenarios that do so expect it too. */
static void expect_port_unusual(struct sim_ctx *c, const struct sim_instance *in, const char *remote,
                                int port)
{
    expect(c, "Behavior:EC2/NetworkPortUnusual", "Instance", in->id, remote, NULL, false,
           sim__fmt(c, "also: %s uses remote port %d for the first time", in->name, port));
}

static int64_t at(const struct sim_ctx *c, int h, int m, int s)
{
    return sim__day0(c) + (int64_t)h * SIM_HOUR + (int64_t)m * SIM_MIN + (int64_t)s * 1000;
}

static const struct sim_instance *inst(const char *name) { return sim__instance_named(name); }

/* ---- benign ------------------------------------------------------------------------------- */

static void attack_none(struct sim_ctx *c) { (void)c; }

/* ---- compromised credential ---------------------------------------------------------------- */

static void attack_compromised_credential(struct sim_ctx *c)
{
    const char *ip = "203.0.113.66";
    sim__list(c, SIM_LIST_THREAT, ip, "threat intel: credential-stuffing and cloud-abuse source");
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "ci-deploy");
    int64_t t = at(c, 14, 2, 10);
#define K(cmd) sim__fmt(c, UA_KALI, cmd)
    /* Recon: who am I, what is here. */
    api(c, &id, t, ip, K("sts.get-caller-identity"), "sts.amazonaws.com", "GetCallerIdentity", NULL, NULL);
    api(c, &id, t += 21000, ip, K("iam.list-users"), "iam.amazonaws.com", "ListUsers", "{\"maxItems\":100}", NULL);
    api(c, &id, t += 9000, ip, K("iam.list-roles"), "iam.amazonaws.com", "ListRoles", "{\"maxItems\":100}", NULL);
    api(c, &id, t += 12000, ip, K("iam.list-attached-user-policies"), "iam.amazonaws.com",
        "ListAttachedUserPolicies", "{\"userName\":\"ci-deploy\"}", NULL);
    api(c, &id, t += 15000, ip, K("iam.get-account-authorization-details"), "iam.amazonaws.com",
        "GetAccountAuthorizationDetails", "{\"maxItems\":1000}", NULL);
    api(c, &id, t += 30000, ip, K("s3.ls"), "s3.amazonaws.com", "ListBuckets", "{\"Host\":\"s3.amazonaws.com\"}", NULL);
    api(c, &id, t += 8000, ip, K("ec2.describe-instances"), "ec2.amazonaws.com", "DescribeInstances",
        "{\"instancesSet\":{},\"filterSet\":{}}", NULL);
    api(c, &id, t += 7000, ip, K("secretsmanager.list-secrets"), "secretsmanager.amazonaws.com", "ListSecrets",
        "{\"maxResults\":100}", NULL);
    /* Privilege escalation: the CI user may attach policies to itself. */
    api(c, &id, t += 95000, ip, K("iam.attach-user-policy"), "iam.amazonaws.com", "AttachUserPolicy",
        "{\"userName\":\"ci-deploy\",\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"}", NULL);
    /* Persistence: a user of its own, with a key and a console password. */
    char newkey[24];
    sim__stable_id("AKIA", "svc-backup-key", 16, newkey);
    api(c, &id, t += 40000, ip, K("iam.create-user"), "iam.amazonaws.com", "CreateUser",
        "{\"userName\":\"svc-backup\"}",
        sim__fmt(c, "{\"user\":{\"path\":\"/\",\"userName\":\"svc-backup\",\"userId\":\"AIDAEXAMPLESVCBACKUP1\","
                    "\"arn\":\"arn:aws:iam::%s:user/svc-backup\",\"createDate\":\"Nov 20, 2026 2:06:02 PM\"}}",
                 SIM_ACCOUNT));
    api(c, &id, t += 12000, ip, K("iam.create-access-key"), "iam.amazonaws.com", "CreateAccessKey",
        "{\"userName\":\"svc-backup\"}",
        sim__fmt(c, "{\"accessKey\":{\"userName\":\"svc-backup\",\"accessKeyId\":\"%s\",\"status\":\"Active\","
                    "\"createDate\":\"Nov 20, 2026 2:06:14 PM\"}}",
                 newkey));
    api(c, &id, t += 9000, ip, K("iam.create-login-profile"), "iam.amazonaws.com", "CreateLoginProfile",
        "{\"userName\":\"svc-backup\",\"passwordResetRequired\":false}", NULL);
    /* Covering tracks: flow logs off, then the trail. */
    api(c, &id, t += 60000, ip, K("ec2.delete-flow-logs"), "ec2.amazonaws.com", "DeleteFlowLogs",
        sim__fmt(c, "{\"DeleteFlowLogsRequest\":{\"FlowLogId\":{\"content\":\"%s\",\"tag\":1}}}", SIM_FLOW_LOG),
        "{\"DeleteFlowLogsResponse\":{\"xmlns\":\"http://ec2.amazonaws.com/doc/2016-11-15/\","
        "\"requestId\":\"5d8b7c3e-6f0e-4c0b-9a5e-EXAMPLE\",\"unsuccessful\":\"\"}}");
    api(c, &id, t += 20000, ip, K("cloudtrail.stop-logging"), "cloudtrail.amazonaws.com", "StopLogging",
        sim__fmt(c, "{\"name\":\"%s\"}", SIM_TRAIL), NULL);
#undef K
    const char *k = id.access_key;
    expect(c, "Recon:IAMUser/MaliciousIPCaller.Custom", "AccessKey", k, ip, NULL, false,
           "List/Describe/Get calls from an address on the threat list");
    expect(c, "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom", "AccessKey", k, ip, NULL, false,
           "other calls (AttachUserPolicy, CreateUser, StopLogging...) from an address on the threat list");
    expect(c, "PenTest:IAMUser/KaliLinux", "AccessKey", k, ip, NULL, false,
           "the attacker's AWS CLI runs on Kali Linux");
    expect(c, "PrivilegeEscalation:IAMUser/AdminPolicyAttached", "AccessKey", k, ip, NULL, false,
           "AttachUserPolicy AdministratorAccess on itself");
    expect(c, "Persistence:IAMUser/AccessKeyCreatedForOtherUser", "AccessKey", k, ip, NULL, false,
           "CreateAccessKey for the new user svc-backup");
    expect(c, "Persistence:IAMUser/LoginProfileChangedForOtherUser", "AccessKey", k, ip, NULL, false,
           "CreateLoginProfile for svc-backup");
    expect(c, "DefenseEvasion:IAMUser/VPCFlowLogsDeleted", "AccessKey", k, ip, NULL, false,
           "DeleteFlowLogs on the VPC's flow log");
    expect(c, "Stealth:IAMUser/CloudTrailLoggingDisabled", "AccessKey", k, ip, NULL, false,
           "StopLogging on the management trail");
    /* GuardDuty reports the first anomalous API with the others "in
     * proximity"; whether the later classes get findings of their own is its
     * model's call, so they may but need not. */
    expect(c, "Discovery:IAMUser/AnomalousBehavior", "AccessKey", k, ip, NULL, false,
           "ci-deploy never listed users or roles, and never from this network or user agent");
    may(c, "PrivilegeEscalation:IAMUser/AnomalousBehavior", "AccessKey", k, false,
        "AttachUserPolicy is new for ci-deploy");
    may(c, "Persistence:IAMUser/AnomalousBehavior", "AccessKey", k, false,
        "CreateUser/CreateAccessKey are new for ci-deploy");
    may(c, "DefenseEvasion:IAMUser/AnomalousBehavior", "AccessKey", k, false,
        "DeleteFlowLogs/StopLogging are new for ci-deploy");
}

/* ---- public bucket ------------------------------------------------------------------------------ */

static void attack_public_bucket(struct sim_ctx *c)
{
    const char *bucket = "acme-customer-exports", *tor = "198.51.100.99";
    sim__list(c, SIM_LIST_TOR, tor, "Tor exit node");
    struct sim_identity bob;
    sim__user(&bob, SIM_ACCOUNT, "bob");
    int64_t t = at(c, 10, 14, 3);
    api(c, &bob, t, SIM_OFFICE_IP, sim__fmt(c, UA_BOB, "s3api.put-public-access-block"), "s3.amazonaws.com",
        "PutBucketPublicAccessBlock",
        sim__fmt(c, "{\"PublicAccessBlockConfiguration\":{\"xmlns\":\"http://s3.amazonaws.com/doc/2006-03-01/\","
                    "\"BlockPublicAcls\":false,\"IgnorePublicAcls\":false,\"BlockPublicPolicy\":false,"
                    "\"RestrictPublicBuckets\":false},\"bucketName\":\"%s\",\"Host\":\"%s.s3.us-east-1.amazonaws.com\","
                    "\"publicAccessBlock\":\"\"}",
                 bucket, bucket),
        NULL);
    api(c, &bob, t += 47000, SIM_OFFICE_IP, sim__fmt(c, UA_BOB, "s3api.put-bucket-policy"), "s3.amazonaws.com",
        "PutBucketPolicy",
        sim__fmt(c, "{\"bucketPolicy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"ShareWithPartner\","
                    "\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
                    "\"arn:aws:s3:::%s/*\"}]},\"bucketName\":\"%s\",\"Host\":\"%s.s3.us-east-1.amazonaws.com\","
                    "\"policy\":\"\"}",
                 bucket, bucket, bucket),
        NULL);
    /* Found within hours: anonymous readers, one of them through Tor. */
    struct sim_identity anon;
    sim__anonymous(&anon);
    struct sim_rng *r = sim__rng(c);
    for (int k = 0; k < 60; k++) {
        int64_t m = at(c, 13, 0, 0) + (int64_t)sim__below(r, 10 * 3600) * 1000;
        const char *who = sim__fmt(c, "203.0.113.%u", 10 + sim__below(r, 50));
        s3_data(c, &anon, m, who, "curl/8.4.0", "GetObject", bucket,
                sim__fmt(c, "exports/2026/11/customers-%03u.csv", sim__below(r, 200)),
                sim__range(r, 200000, 9000000));
    }
    int64_t m = at(c, 15, 31, 7);
    s3_data(c, &anon, m, tor, "python-requests/2.31.0", "ListObjects", bucket, NULL, 48000);
    for (int k = 0; k < 25; k++)
        s3_data(c, &anon, m += 4000, tor, "python-requests/2.31.0", "GetObject", bucket,
                sim__fmt(c, "exports/2026/11/customers-%03d.csv", k), 4500000);
    expect(c, "Policy:S3/BucketBlockPublicAccessDisabled", "S3Bucket", bucket, NULL, NULL, false,
           "PutBucketPublicAccessBlock turning all four settings off");
    expect(c, "Policy:S3/BucketAnonymousAccessGranted", "S3Bucket", bucket, NULL, NULL, false,
           "a bucket policy allowing s3:GetObject to Principal *");
    expect(c, "Discovery:S3/TorIPCaller", "S3Bucket", bucket, tor, NULL, false,
           "ListObjects from a Tor exit node");
    expect(c, "UnauthorizedAccess:S3/TorIPCaller", "S3Bucket", bucket, tor, NULL, false,
           "GetObject from a Tor exit node");
}

/* ---- crypto-mining instance ------------------------------------------------------------------------ */

static void attack_crypto_mining(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("dev-1");
    /* The miner rotates between two pools: one is on the company's own threat
     * list, the other only on a crypto-mining intelligence feed. */
    const char *pool = "xmr.minepool.example", *pool_ip = "203.0.113.77";
    const char *pool2 = "pool.hashvault.example", *pool2_ip = "203.0.113.78";
    sim__list(c, SIM_LIST_THREAT, pool, "crypto-mining pool seen in an earlier incident");
    sim__list(c, SIM_LIST_THREAT, pool_ip, NULL);
    sim__list(c, SIM_LIST_BITCOIN, pool2, "crypto-mining pools (CryptoCurrency feed)");
    sim__list(c, SIM_LIST_BITCOIN, pool2_ip, NULL);
    struct sim_rng *r = sim__rng(c);
    /* The miner starts at 02:13 and talks to its pool every minute, switching
     * pools every hour; the resolver is asked again on every switch. */
    int64_t start = at(c, 2, 13, 0);
    for (int64_t t = start; t < sim__day0(c) + SIM_DAY - SIM_MIN; t += SIM_MIN) {
        bool second = ((t - start) / SIM_HOUR) % 2 == 1;
        const char *name = second ? pool2 : pool, *ip = second ? pool2_ip : pool_ip;
        if ((t - start) % SIM_HOUR == 0) {
            struct sim_dns d = { .ms = t, .in = in, .name = name, .answer = ip };
            sim__dns(c, &d);
        }
        struct sim_flow f = { .ms = t + 2000, .in = in, .src = in->private_ip, .dst = ip,
                              .sport = 41872, .dport = 3333, .proto = 6,
                              .packets = sim__range(r, 20, 40), .bytes = sim__range(r, 3000, 6000),
                              .secs = 58 };
        sim__conn(c, &f);
    }
    expect(c, "Impact:EC2/MaliciousDomainRequest.Custom", "Instance", in->id, NULL, pool, false,
           "the instance resolves a mining pool on the threat list");
    expect(c, "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", "Instance", in->id, pool_ip, NULL, false,
           "the instance talks to the pool's address (stratum, port 3333)");
    expect(c, "CryptoCurrency:EC2/BitcoinTool.B!DNS", "Instance", in->id, NULL, pool2, false,
           "the instance resolves a pool on the crypto-mining list (--threat-list bitcoin:FILE)");
    expect(c, "CryptoCurrency:EC2/BitcoinTool.B", "Instance", in->id, pool2_ip, NULL, false,
           "the instance talks to a pool on the crypto-mining list");
    expect_port_unusual(c, in, NULL, 3333);
}

/* ---- DNS exfiltration ------------------------------------------------------------------------------ */

static void attack_dns_exfiltration(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("app-2");
    const char *domain = "cdn-metrics.example";
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 3, 0, 12);
    for (int k = 0; k < 400; k++, t += sim__range(r, 2000, 8000)) {
        char chunk[64], chunk2[40];
        sim__chars(r, "abcdefghijklmnopqrstuvwxyz234567", 52, chunk);
        sim__chars(r, "abcdefghijklmnopqrstuvwxyz234567", 30, chunk2);
        const char *name = sim__fmt(c, "%s.%s.%04x.t.%s", chunk, chunk2, (unsigned)k, domain);
        struct sim_dns d = { .ms = t, .in = in, .name = name, .qtype = "TXT", .answer = "\"ack\"" };
        sim__dns(c, &d);
    }
    expect(c, "Trojan:EC2/DNSDataExfiltration", "Instance", in->id, NULL, domain, false,
           "400 queries with long high-entropy labels under one domain in 40 minutes");
}

/* ---- brute force ------------------------------------------------------------------------------------- */

static void brute(struct sim_ctx *c, const struct sim_instance *in, const char *remote, int port,
                  bool outbound, int n, int64_t t)
{
    struct sim_rng *r = sim__rng(c);
    for (int k = 0; k < n; k++, t += sim__range(r, 800, 2500)) {
        struct sim_flow f = { .ms = t, .in = in, .sport = (int)sim__range(r, 32768, 60999),
                              .dport = port, .proto = 6, .packets = sim__range(r, 6, 14),
                              .bytes = sim__range(r, 900, 2400), .secs = (int)sim__range(r, 2, 9) };
        if (outbound) {
            f.src = in->private_ip;
            f.dst = remote;
        } else {
            f.src = remote;
            f.dst = in->private_ip;
            f.ingress = true;
        }
        sim__conn(c, &f);
    }
}

static void attack_ssh_brute_force(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("bastion");
    const char *ip = "203.0.113.50";
    brute(c, in, ip, 22, false, 600, at(c, 4, 10, 0));
    expect(c, "UnauthorizedAccess:EC2/SSHBruteForce", "Instance", in->id, ip, NULL, false,
           "600 short SSH connections from one address to the bastion in 15 minutes");
}

static void attack_rdp_brute_force(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("win-1");
    const char *ip = "198.51.100.77";
    brute(c, in, ip, 3389, true, 500, at(c, 20, 30, 0));
    expect(c, "UnauthorizedAccess:EC2/RDPBruteForce", "Instance", in->id, ip, NULL, false,
           "the Windows host makes 500 short RDP connections to one outside address (instance as actor)");
    expect_port_unusual(c, in, ip, 3389);
}

static void attack_winrm_brute_force(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("win-1");
    const char *ip = "198.51.100.78";
    brute(c, in, ip, 5985, true, 500, at(c, 21, 5, 0));
    expect(c, "Impact:EC2/WinRMBruteForce", "Instance", in->id, ip, NULL, false,
           "the Windows host makes 500 short WinRM connections to one outside address");
    expect_port_unusual(c, in, ip, 5985);
}

/* ---- scans ----------------------------------------------------------------------------------------------- */

static void attack_port_scan(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("app-1");
    const char *ip = "198.51.100.200";
    int64_t t = at(c, 11, 42, 0);
    for (int port = 1; port <= 1024; port++, t += 350) {
        struct sim_flow f = { .ms = t, .in = in, .src = in->private_ip, .dst = ip, .sport = 55123,
                              .dport = port, .proto = 6, .packets = 1, .bytes = 44, .tcp_flags = 2,
                              .secs = 1 };
        sim__flow(c, &f);
    }
    expect(c, "Recon:EC2/Portscan", "Instance", in->id, ip, NULL, false,
           "the app server probes 1024 ports of one outside host in 6 minutes");
    expect_port_unusual(c, in, ip, 1);
}

static void attack_port_probe(struct sim_ctx *c)
{
    /* web-2's security group was left open on 9200 (Elasticsearch); internet
     * scanners find it within the hour: a SYN, the handshake, a reset. */
    const struct sim_instance *in = inst("web-2");
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 0, 30, 0);
    for (int k = 0; k < 40; k++, t += sim__range(r, 10000, 80000)) {
        const char *ip = sim__fmt(c, "203.0.113.%d", 200 + k % 40);
        struct sim_flow f = { .ms = t, .in = in, .src = ip, .dst = in->private_ip,
                              .sport = (int)sim__range(r, 32768, 60999), .dport = 9200, .proto = 6,
                              .packets = 3, .bytes = 164, .ingress = true, .secs = 1 };
        sim__conn(c, &f);
    }
    expect(c, "Recon:EC2/PortProbeUnprotectedPort", "Instance", in->id, NULL, NULL, false,
           "40 outside addresses reach port 9200, open to the world, within 30 minutes");
}

static void attack_port_sweep(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("batch-1");
    int64_t t = at(c, 16, 0, 0);
    for (int k = 0; k < 250; k++, t += 900) {
        const char *ip = sim__fmt(c, "203.0.113.%d", k + 1);
        struct sim_flow f = { .ms = t, .in = in, .src = in->private_ip, .dst = ip, .sport = 49700 + k,
                              .dport = 445, .proto = 6, .packets = 2, .bytes = 104, .tcp_flags = 2,
                              .secs = 2 };
        sim__flow(c, &f);
    }
    expect(c, "Impact:EC2/PortSweep", "Instance", in->id, NULL, NULL, false,
           "the batch worker probes port 445 on 250 outside addresses in 4 minutes");
    expect_port_unusual(c, in, NULL, 445);
}

/* ---- denial of service ------------------------------------------------------------------------------------- */

static void flood(struct sim_ctx *c, const struct sim_instance *in, const char *dst, int proto, int port,
                  int64_t t)
{
    struct sim_rng *r = sim__rng(c);
    for (int k = 0; k < 15; k++, t += SIM_MIN) {
        for (int s = 0; s < 8; s++) {
            struct sim_flow f = { .ms = t, .in = in, .src = in->private_ip, .dst = dst,
                                  .sport = (int)sim__range(r, 1024, 65000), .dport = port,
                                  .proto = proto, .packets = sim__range(r, 400000, 900000),
                                  .tcp_flags = proto == 6 ? 2 : 0 };
            f.bytes = f.packets * (proto == 17 ? 1200 : 60);
            sim__flow(c, &f);
        }
    }
}

static void attack_denial_of_service(struct sim_ctx *c)
{
    static const struct {
        const char *inst, *dst, *type, *why;
        int proto, port;
    } V[] = {
        { "web-1", "198.51.100.201", "Backdoor:EC2/DenialOfService.Tcp", "a TCP SYN flood at port 80", 6, 80 },
        { "web-2", "198.51.100.202", "Backdoor:EC2/DenialOfService.Udp", "a UDP flood at port 19", 17, 19 },
        { "app-1", "198.51.100.203", "Backdoor:EC2/DenialOfService.Dns", "a flood of DNS (UDP 53) traffic", 17, 53 },
        { "app-2", "198.51.100.204", "Backdoor:EC2/DenialOfService.UdpOnTcpPorts", "UDP at 443, a TCP port", 17, 443 },
        { "batch-1", "198.51.100.205", "Backdoor:EC2/DenialOfService.UnusualProtocol", "IGMP (protocol 2) in volume", 2, 0 },
    };
    for (size_t i = 0; i < sizeof(V) / sizeof(V[0]); i++) {
        const struct sim_instance *in = inst(V[i].inst);
        flood(c, in, V[i].dst, V[i].proto, V[i].port, at(c, 18, (int)(5 * i), 0));
        expect(c, V[i].type, "Instance", in->id, V[i].dst, NULL, false,
               sim__fmt(c, "%s sends %s to one outside address for 15 minutes", V[i].inst, V[i].why));
        expect(c, "Behavior:EC2/TrafficVolumeUnusual", "Instance", in->id, NULL, NULL, false,
               sim__fmt(c, "also: %s sends far more bytes than it ever did", V[i].inst));
        if (V[i].port == 53)
            may(c, "DefenseEvasion:EC2/UnusualDNSResolver", "Instance", in->id, false,
                "the DNS flood goes to port 53 of a server the instance never used");
        /* app-2 always used 443 and IGMP has no port: no new port for those two.
         * Vigil's NetworkPortUnusual leaves web ports out (every client uses
         * them, some seldom): port 80 may be reported, need not. */
        if (V[i].port == 80)
            may(c, "Behavior:EC2/NetworkPortUnusual", "Instance", in->id, false,
                sim__fmt(c, "%s uses remote port 80 for the first time", V[i].inst));
        else if (V[i].port != 0 && V[i].port != 443)
            expect_port_unusual(c, in, V[i].dst, V[i].port);
    }
}

/* ---- baseline and behaviour ---------------------------------------------------------------------------------- */

static void attack_spambot(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("dev-1");
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 13, 0, 0);
    for (int k = 0; k < 150; k++, t += sim__range(r, 3000, 20000)) {
        const char *mx = sim__fmt(c, "203.0.113.%d", 100 + k % 100);
        struct sim_flow f = { .ms = t, .in = in, .src = in->private_ip, .dst = mx,
                              .sport = (int)sim__range(r, 32768, 60999), .dport = 25, .proto = 6,
                              .packets = sim__range(r, 12, 30), .bytes = sim__range(r, 4000, 30000) };
        sim__conn(c, &f);
    }
    expect(c, "Backdoor:EC2/Spambot", "Instance", in->id, NULL, NULL, false,
           "the developer box, which never sent mail, talks SMTP to 100 mail servers");
    may(c, "Behavior:EC2/NetworkPortUnusual", "Instance", in->id, false,
        "port 25 is new for dev-1 (reported as Spambot, or also as an unusual port)");
}

static void attack_unusual_traffic(struct sim_ctx *c)
{
    const struct sim_instance *app = inst("app-1"), *batch = inst("batch-1");
    const char *ldap = "203.0.113.99", *drop = "203.0.113.98";
    /* A log4j-style callback: LDAP to the outside, a port app-1 never used. */
    struct sim_flow f = { .ms = at(c, 9, 12, 44), .in = app, .src = app->private_ip, .dst = ldap,
                          .sport = 48211, .dport = 1389, .proto = 6, .packets = 12, .bytes = 2100 };
    sim__conn(c, &f);
    /* 30 GB out to one host that batch-1 never talked to, where it usually sends
     * nothing outside AWS. */
    int64_t t = at(c, 22, 0, 0);
    for (int k = 0; k < 60; k++, t += SIM_MIN) {
        struct sim_flow g = { .ms = t, .in = batch, .src = batch->private_ip, .dst = drop,
                              .sport = 51515, .dport = 443, .proto = 6, .packets = 400000,
                              .bytes = 500000000ULL };
        sim__conn(c, &g);
    }
    expect(c, "Behavior:EC2/NetworkPortUnusual", "Instance", app->id, ldap, NULL, false,
           "app-1 connects out on port 1389 (LDAP, as a log4j callback does) for the first time");
    expect(c, "Behavior:EC2/TrafficVolumeUnusual", "Instance", batch->id, drop, NULL, false,
           "batch-1 sends 30 GB in an hour to a host it never talked to");
}

static void attack_dns_evasion(struct sim_ctx *c)
{
    const struct sim_instance *web = inst("web-1"), *app = inst("app-1"), *dev = inst("dev-1");
    struct sim_rng *r = sim__rng(c);
    for (int k = 0; k < 30; k++) {
        int64_t t = at(c, 12, 0, 0) + (int64_t)k * 2 * SIM_MIN;
        struct sim_flow a = { .ms = t, .in = web, .src = web->private_ip, .dst = "8.8.8.8",
                              .sport = (int)sim__range(r, 32768, 60999), .dport = 53, .proto = 17,
                              .packets = 2, .bytes = 180 };
        sim__conn(c, &a);
        struct sim_flow b = { .ms = t + 5000, .in = app, .src = app->private_ip, .dst = "1.1.1.1",
                              .sport = (int)sim__range(r, 32768, 60999), .dport = 443, .proto = 6,
                              .packets = 14, .bytes = 3800 };
        sim__conn(c, &b);
        struct sim_flow d = { .ms = t + 9000, .in = dev, .src = dev->private_ip, .dst = "9.9.9.9",
                              .sport = (int)sim__range(r, 32768, 60999), .dport = 853, .proto = 6,
                              .packets = 12, .bytes = 2600 };
        sim__conn(c, &d);
    }
    expect(c, "DefenseEvasion:EC2/UnusualDNSResolver", "Instance", web->id, "8.8.8.8", NULL, false,
           "web-1 sends DNS to a public resolver instead of the VPC resolver, for the first time");
    expect(c, "DefenseEvasion:EC2/UnusualDoHActivity", "Instance", app->id, "1.1.1.1", NULL, false,
           "app-1 makes DNS-over-HTTPS connections to a public DoH server");
    expect(c, "DefenseEvasion:EC2/UnusualDoTActivity", "Instance", dev->id, "9.9.9.9", NULL, false,
           "dev-1 makes DNS-over-TLS (853) connections to a public resolver");
    expect_port_unusual(c, web, "8.8.8.8", 53);
    expect_port_unusual(c, dev, "9.9.9.9", 853);
}

static void attack_tor_client(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("app-2");
    const char *guard = "198.51.100.101";
    sim__list(c, SIM_LIST_TOR, guard, "Tor guard relay");
    int64_t t = at(c, 7, 45, 0);
    for (int k = 0; k < 20; k++, t += 3 * SIM_MIN) {
        struct sim_flow f = { .ms = t, .in = in, .src = in->private_ip, .dst = guard, .sport = 45001,
                              .dport = 9001, .proto = 6, .packets = 200, .bytes = 120000, .secs = 58 };
        sim__conn(c, &f);
    }
    expect(c, "UnauthorizedAccess:EC2/TorClient", "Instance", in->id, guard, NULL, false,
           "app-2 keeps a connection to a Tor guard relay (port 9001) on the Tor list");
    expect_port_unusual(c, in, guard, 9001);
}

static void attack_dga(struct sim_ctx *c)
{
    const struct sim_instance *in = inst("dev-1");
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 5, 20, 0);
    for (int k = 0; k < 150; k++, t += sim__range(r, 1000, 6000)) {
        char label[24];
        sim__chars(r, "abcdefghijklmnopqrstuvwxyz", 12 + sim__below(r, 8), label);
        struct sim_dns d = { .ms = t, .in = in, .name = sim__fmt(c, "%s.example", label),
                             .rcode = "NXDOMAIN" };
        sim__dns(c, &d);
    }
    expect(c, "Trojan:EC2/DGADomainRequest.B", "Instance", in->id, NULL, NULL, false,
           "150 queries for random-looking names, nearly all NXDOMAIN");
}

static void attack_credential_exfiltration(struct sim_ctx *c)
{
    const struct sim_instance *app = inst("app-1"), *web = inst("web-1");
    const char *outside = "203.0.113.90", *other_aws = "18.204.33.44";
    struct sim_identity a, w;
    /* The keys are taken from the metadata service at 10:00 and used from elsewhere. */
    int64_t t = at(c, 10, 20, 0);
    sim__instance_role(&a, app, t);
    api(c, &a, t, outside, sim__fmt(c, UA_ATTACKER, "sts.get-caller-identity"), "sts.amazonaws.com",
        "GetCallerIdentity", NULL, NULL);
    api(c, &a, t + 15000, outside, sim__fmt(c, UA_ATTACKER, "s3.ls"), "s3.amazonaws.com", "ListBuckets",
        "{\"Host\":\"s3.amazonaws.com\"}", NULL);
    api(c, &a, t + 31000, outside, sim__fmt(c, UA_ATTACKER, "secretsmanager.get-secret-value"),
        "secretsmanager.amazonaws.com", "GetSecretValue", "{\"secretId\":\"prod/orders/db\"}", NULL);
    int64_t u = at(c, 11, 5, 0);
    sim__instance_role(&w, web, u);
    api(c, &w, u, other_aws, UA_BOTO_EXT, "sts.amazonaws.com", "GetCallerIdentity", NULL, NULL);
    api(c, &w, u + 9000, other_aws, UA_BOTO_EXT, "ec2.amazonaws.com", "DescribeInstances",
        "{\"instancesSet\":{},\"filterSet\":{}}", NULL);
    expect(c, "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "AccessKey", a.access_key,
           outside, NULL, false, "app-1's instance-role session is used from an address outside AWS");
    expect(c, "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS", "AccessKey", w.access_key,
           other_aws, NULL, false, "web-1's instance-role session is used from an EC2 address that is not web-1's");
}

static void attack_impossible_travel(struct sim_ctx *c)
{
    const char *sydney = "203.0.113.140";
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "carol");
    id.access_key[0] = '\0';
    const char *add = sim__fmt(c, "{\"LoginTo\":\"https://console.aws.amazon.com/console/home?region=us-east-1\","
                                  "\"MobileVersion\":\"No\",\"MFAIdentifier\":\"arn:aws:iam::%s:mfa/carol\","
                                  "\"MFAUsed\":\"Yes\"}",
                               SIM_ACCOUNT);
    /* carol signs in from Lyon between 08:00 and 09:00 (world.c); at 09:40 her
     * account signs in from Sydney too, 16,900 km away. */
    struct sim_ct ct = { .ms = at(c, 9, 40, 12), .who = &id, .event_source = "signin.amazonaws.com",
                         .event_name = "ConsoleLogin", .ip = sydney, .ua = UA_BROWSER,
                         .resp = "{\"ConsoleLogin\":\"Success\"}", .additional = add };
    sim__ct(c, &ct);
    expect(c, "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B", "AccessKey",
           "arn:aws:iam::111122223333:user/carol", sydney, NULL, false,
           "carol signs in from Lyon and, 40 minutes later, from Sydney");
}

static void attack_anomalous_iam(struct sim_ctx *c)
{
    /* bob's key, at night, through a residential IPv6 proxy pool that gives
     * every request another exit: each call is an API bob never used, from a
     * network he never used, one of each of GuardDuty's eight classes. */
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "bob");
    const char *ua = UA_BOTO_EXT;
    int64_t t = at(c, 3, 12, 0);
    static const struct {
        const char *source, *name, *req, *type;
    } CALLS[] = {
        { "iam.amazonaws.com", "ListAccessKeys", "{\"userName\":\"alice\"}", "Discovery:IAMUser/AnomalousBehavior" },
        { "secretsmanager.amazonaws.com", "GetSecretValue", "{\"secretId\":\"prod/orders/db\"}",
          "CredentialAccess:IAMUser/AnomalousBehavior" },
        { "ssm.amazonaws.com", "StartSession", "{\"target\":\"i-0a1b2c3d4e5f60005\"}",
          "InitialAccess:IAMUser/AnomalousBehavior" },
        { "iam.amazonaws.com", "AddUserToGroup", "{\"groupName\":\"admins\",\"userName\":\"bob\"}",
          "PrivilegeEscalation:IAMUser/AnomalousBehavior" },
        { "ec2.amazonaws.com", "ImportKeyPair", "{\"keyName\":\"ops\",\"publicKeyMaterial\":\"<sensitiveDataRemoved>\"}",
          "Persistence:IAMUser/AnomalousBehavior" },
        { "ec2.amazonaws.com", "CreateSnapshot", "{\"volumeId\":\"vol-0a1b2c3d4e5f60005\",\"description\":\"backup\"}",
          "Exfiltration:IAMUser/AnomalousBehavior" },
        { "monitoring.amazonaws.com", "DisableAlarmActions", "{\"alarmNames\":[\"orders-5xx\",\"db-cpu\"]}",
          "DefenseEvasion:IAMUser/AnomalousBehavior" },
        { "ec2.amazonaws.com", "DeleteSecurityGroup", "{\"groupId\":\"sg-0a1b2c3d4e5f60001\"}",
          "Impact:IAMUser/AnomalousBehavior" },
    };
    for (size_t i = 0; i < sizeof(CALLS) / sizeof(CALLS[0]); i++) {
        const char *ip = sim__fmt(c, "2001:db8:%x::%x", 0xa10 + (unsigned)i, 0x1d + (unsigned)i);
        api(c, &id, t, ip, ua, CALLS[i].source, CALLS[i].name, CALLS[i].req, NULL);
        expect(c, CALLS[i].type, "AccessKey", id.access_key, ip, NULL, false,
               sim__fmt(c, "bob's key calls %s at 03:00, an API he never used, from a network he never used",
                        CALLS[i].name));
        t += 47000;
    }
}

static void attack_anomalous_s3(struct sim_ctx *c)
{
    /* bob reads and writes a little S3 every working day (world.c); at 02:00
     * his key, from somewhere new, lists, downloads, overwrites, deletes and
     * opens objects in bulk. */
    const char *ip = "203.0.113.131";
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "bob");
    const char *ua = UA_BOTO_EXT;
    int64_t t = at(c, 2, 5, 0);
    for (int k = 0; k < 150; k++)
        s3_data(c, &id, t += 1500, ip, ua, "ListObjects", k % 2 ? "acme-data-lake" : "acme-app-assets",
                NULL, 90000);
    for (int k = 0; k < 400; k++)
        s3_data(c, &id, t += 1200, ip, ua, "GetObject", "acme-data-lake",
                sim__fmt(c, "events/part-%05d.parquet", k), 30000000);
    for (int k = 0; k < 300; k++)
        s3_data(c, &id, t += 800, ip, ua, "PutObject", "acme-build-artifacts",
                sim__fmt(c, "orders/%05d.zip.enc", k), 5000000);
    for (int k = 0; k < 300; k++)
        s3_data(c, &id, t += 600, ip, ua, "DeleteObject", "acme-app-assets",
                sim__fmt(c, "static/img/%d.webp", k), 0);
    for (int k = 0; k < 60; k++) {
        const char *key = sim__fmt(c, "exports/2026/11/customers-%03d.csv", k);
        struct sim_ct ct = { .ms = t += 700, .who = &id, .event_source = "s3.amazonaws.com",
                             .event_name = "PutObjectAcl", .ip = ip, .ua = ua,
                             .req = sim__fmt(c, "{\"bucketName\":\"acme-data-lake\",\"Host\":"
                                                "\"acme-data-lake.s3.us-east-1.amazonaws.com\",\"acl\":\"\","
                                                "\"key\":\"%s\",\"x-amz-acl\":[\"public-read\"]}", key),
                             .data = true, .recipient = SIM_ACCOUNT,
                             .resources = sim__fmt(c, "[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::acme-data-lake/%s\"},"
                                                      "{\"accountId\":\"%s\",\"type\":\"AWS::S3::Bucket\",\"ARN\":"
                                                      "\"arn:aws:s3:::acme-data-lake\"}]", key, SIM_ACCOUNT) };
        sim__ct(c, &ct);
    }
    expect(c, "Discovery:S3/AnomalousBehavior", "S3Bucket", NULL, ip, NULL, false,
           "bob lists 150 prefixes in four minutes, against two a day");
    expect(c, "Exfiltration:S3/AnomalousBehavior", "S3Bucket", "acme-data-lake", ip, NULL, false,
           "bob downloads 400 objects (12 GB) in eight minutes, against three a day");
    expect(c, "Impact:S3/AnomalousBehavior.Write", "S3Bucket", "acme-build-artifacts", ip, NULL, false,
           "bob writes 300 objects in four minutes, against one a day");
    expect(c, "Impact:S3/AnomalousBehavior.Delete", "S3Bucket", "acme-app-assets", ip, NULL, false,
           "bob deletes 300 objects in three minutes, against one a day");
    expect(c, "Impact:S3/AnomalousBehavior.Permission", "S3Bucket", "acme-data-lake", ip, NULL, false,
           "bob makes 60 objects public-read in a minute, against one private ACL a day");
}

/* ---- CloudTrail bursts and rates ------------------------------------------------------------------------ */

static void attack_api_call_rate(struct sim_ctx *c)
{
    /* The CI key again, now scripted: it pushes an image tag to the
     * repository 300 times in six minutes (CI pushes a few a day), then sweeps
     * SSM for parameters by name, 400 misses in five minutes (the app misses
     * one twice a day). */
    const char *ip = "203.0.113.70";
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "ci-deploy");
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 15, 0, 0);
    for (int k = 0; k < 300; k++, t += sim__range(r, 600, 1800)) {
        const char *req = sim__fmt(c, "{\"repositoryName\":\"orders\",\"imageTag\":\"v%d\"}", k);
        api(c, &id, t, ip, UA_BOTO_EXT, "ecr.amazonaws.com", "PutImage", req, NULL);
    }
    static const char *const WORDS[] = { "db", "database", "password", "secret", "token", "api-key",
                                         "stripe", "sendgrid", "github", "admin", "root", "jwt" };
    t = at(c, 15, 20, 0);
    for (int k = 0; k < 400; k++, t += sim__range(r, 400, 1100)) {
        const char *req = sim__fmt(c, "{\"name\":\"/acme/prod/%s/%s-%d\"}", WORDS[k % 12],
                                   WORDS[(k / 12) % 12], k / 144);
        struct sim_ct ct = { .ms = t, .who = &id, .event_source = "ssm.amazonaws.com",
                             .event_name = "GetParameter", .ip = ip, .ua = UA_BOTO_EXT, .req = req,
                             .error_code = "ParameterNotFound", .read_only = true };
        sim__ct(c, &ct);
    }
    /* Insights-style findings are about an API, whoever called it. */
    expect(c, "Behavior:IAMUser/ApiCallRateInsight", "AccessKey", "ecr:PutImage", NULL, NULL, false,
           "ecr:PutImage at 50 a minute against a baseline of a few a day");
    expect(c, "Behavior:IAMUser/ApiErrorRateInsight", "AccessKey", "ssm:GetParameter", NULL, NULL, false,
           "ssm:GetParameter ParameterNotFound at 80 a minute against a baseline of two a day");
    expect(c, "CredentialAccess:IAMUser/AnomalousBehavior", "AccessKey", id.access_key, ip, NULL, false,
           "ci-deploy never read parameters, nor called from this network");
}

static void attack_credential_harvest(struct sim_ctx *c)
{
    /* bob's key, stolen, harvests every secret it can reach in ten minutes. */
    const char *ip = "203.0.113.71";
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "bob");
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 23, 10, 0);
    for (int k = 0; k < 40; k++, t += sim__range(r, 1000, 3000))
        api(c, &id, t, ip, UA_BOTO_EXT, "secretsmanager.amazonaws.com", "GetSecretValue",
            sim__fmt(c, "{\"secretId\":\"prod/service-%02d/credentials\"}", k), NULL);
    for (int k = 0; k < 15; k++, t += sim__range(r, 500, 2000)) {
        const struct sim_instance *in = sim__instance((size_t)k % sim__instance_count());
        struct sim_ct ct = { .ms = t, .who = &id, .event_source = "ec2.amazonaws.com",
                             .event_name = "GetPasswordData", .ip = ip, .ua = UA_BOTO_EXT,
                             .req = sim__fmt(c, "{\"instanceId\":\"%s\"}", in->id),
                             .read_only = true };
        if (in->kind != SIM_WIN) {
            ct.error_code = "Client.UnauthorizedOperation";
            ct.error_message = "You are not authorized to perform this operation.";
        }
        sim__ct(c, &ct);
    }
    for (int k = 0; k < 12; k++, t += sim__range(r, 500, 2000)) {
        const struct sim_instance *in = sim__instance((size_t)k % sim__instance_count());
        api(c, &id, t, ip, UA_BOTO_EXT, "ec2.amazonaws.com", "DescribeInstanceAttribute",
            sim__fmt(c, "{\"instanceId\":\"%s\",\"attribute\":\"userData\"}", in->id), NULL);
    }
    for (int k = 0; k < 8; k++, t += sim__range(r, 500, 2000))
        api(c, &id, t, ip, UA_BOTO_EXT, "ssm.amazonaws.com", "GetParametersByPath",
            sim__fmt(c, "{\"path\":\"/acme/prod/\",\"recursive\":true,\"withDecryption\":true,"
                        "\"nextToken\":\"page-%d\"}", k), NULL);
    const char *k = id.access_key;
    expect(c, "CredentialAccess:IAMUser/SecretsRetrievalBurst", "AccessKey", k, ip, NULL, false,
           "40 GetSecretValue in two minutes");
    expect(c, "CredentialAccess:IAMUser/PasswordDataRetrievalBurst", "AccessKey", k, ip, NULL, false,
           "15 GetPasswordData across the fleet, most refused");
    expect(c, "Discovery:IAMUser/InstanceUserDataEnumeration", "AccessKey", k, ip, NULL, false,
           "12 DescribeInstanceAttribute userData");
    expect(c, "CredentialAccess:IAMUser/ParameterRetrievalBurst", "AccessKey", k, ip, NULL, false,
           "8 GetParametersByPath with decryption");
}

static void attack_permission_enumeration(struct sim_ctx *c)
{
    /* enumerate-iam with the CI key: one call per API, most refused. */
    static const struct {
        const char *source, *name;
    } CALLS[] = {
        { "iam.amazonaws.com", "ListUsers" },           { "iam.amazonaws.com", "ListRoles" },
        { "iam.amazonaws.com", "ListPolicies" },        { "iam.amazonaws.com", "GetAccountSummary" },
        { "iam.amazonaws.com", "ListGroups" },          { "iam.amazonaws.com", "GetAccountPasswordPolicy" },
        { "ec2.amazonaws.com", "DescribeVolumes" },     { "ec2.amazonaws.com", "DescribeSnapshots" },
        { "ec2.amazonaws.com", "DescribeKeyPairs" },    { "ec2.amazonaws.com", "DescribeVpcs" },
        { "rds.amazonaws.com", "DescribeDBInstances" }, { "rds.amazonaws.com", "DescribeDBSnapshots" },
        { "lambda.amazonaws.com", "ListFunctions20150331" }, { "dynamodb.amazonaws.com", "ListTables" },
        { "kms.amazonaws.com", "ListKeys" },            { "secretsmanager.amazonaws.com", "ListSecrets" },
        { "sns.amazonaws.com", "ListTopics" },          { "sqs.amazonaws.com", "ListQueues" },
        { "cloudtrail.amazonaws.com", "DescribeTrails" }, { "guardduty.amazonaws.com", "ListDetectors" },
        { "organizations.amazonaws.com", "DescribeOrganization" },
        { "route53.amazonaws.com", "ListHostedZones" },
    };
    const char *ip = "203.0.113.72";
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "ci-deploy");
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 19, 40, 0);
    api(c, &id, t, ip, UA_BOTO_EXT, "sts.amazonaws.com", "GetCallerIdentity", NULL, NULL);
    for (size_t k = 0; k < sizeof(CALLS) / sizeof(CALLS[0]); k++) {
        t += sim__range(r, 300, 1500);
        bool ec2 = strcmp(CALLS[k].source, "ec2.amazonaws.com") == 0;
        struct sim_ct ct = { .ms = t, .who = &id, .event_source = CALLS[k].source,
                             .event_name = CALLS[k].name, .ip = ip, .ua = UA_BOTO_EXT,
                             .read_only = true,
                             .error_code = ec2 ? "Client.UnauthorizedOperation" : "AccessDenied",
                             .error_message = sim__fmt(c, "User: arn:aws:iam::%s:user/ci-deploy is not "
                                                          "authorized to perform: %.*s:%s",
                                                       SIM_ACCOUNT, (int)strcspn(CALLS[k].source, "."),
                                                       CALLS[k].source, CALLS[k].name) };
        sim__ct(c, &ct);
    }
    expect(c, "Discovery:IAMUser/PermissionEnumeration", "AccessKey", id.access_key, ip, NULL, false,
           "22 different APIs refused in under a minute (enumerate-iam)");
}

static void attack_console_brute_force(struct sim_ctx *c)
{
    const char *ip = "203.0.113.45";
    static const char *const USERS[] = { "alice", "admin", "bob", "administrator", "carol" };
    struct sim_rng *r = sim__rng(c);
    int64_t t = at(c, 6, 2, 0);
    for (int k = 0; k < 40; k++, t += sim__range(r, 2000, 7000)) {
        const char *user = USERS[k % 5];
        bool exists = strcmp(user, "alice") == 0 || strcmp(user, "bob") == 0 || strcmp(user, "carol") == 0;
        struct sim_identity id;
        sim__user(&id, SIM_ACCOUNT, exists ? user : "HIDDEN_DUE_TO_SECURITY_REASONS");
        id.access_key[0] = '\0';
        if (!exists)
            id.principal_id[0] = '\0';
        const char *add = "{\"LoginTo\":\"https://console.aws.amazon.com/console/home?region=us-east-1\","
                          "\"MobileVersion\":\"No\",\"MFAUsed\":\"No\"}";
        struct sim_ct ct = { .ms = t, .who = &id, .event_source = "signin.amazonaws.com",
                             .event_name = "ConsoleLogin", .ip = ip,
                             .ua = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
                             .error_message = "Failed authentication",
                             .resp = "{\"ConsoleLogin\":\"Failure\"}", .additional = add };
        sim__ct(c, &ct);
    }
    /* One address tries several users: any user the finding names will do
     * (no key), as long as the address is the attacker's. */
    expect(c, "UnauthorizedAccess:IAMUser/ConsoleLoginFailures", "AccessKey", NULL, ip, NULL, false,
           "40 failed console sign-ins from one address in three minutes");
}

static void attack_user_data_persistence(struct sim_ctx *c)
{
    /* With bob's stolen key: stop app-2, replace its user data with a
     * backdoor, start it again (Stratus Red Team ec2-user-data). */
    const struct sim_instance *in = inst("app-2");
    const char *ip = "203.0.113.73";
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, "bob");
    int64_t t = at(c, 21, 30, 0);
    const char *set = sim__fmt(c, "{\"instancesSet\":{\"items\":[{\"instanceId\":\"%s\"}]},\"force\":false}", in->id);
    api(c, &id, t, ip, UA_BOTO_EXT, "ec2.amazonaws.com", "StopInstances", set, NULL);
    api(c, &id, t + 95000, ip, UA_BOTO_EXT, "ec2.amazonaws.com", "ModifyInstanceAttribute",
        sim__fmt(c, "{\"instanceId\":\"%s\",\"userData\":\"<sensitiveDataRemoved>\"}", in->id), NULL);
    api(c, &id, t + 130000, ip, UA_BOTO_EXT, "ec2.amazonaws.com", "StartInstances",
        sim__fmt(c, "{\"instancesSet\":{\"items\":[{\"instanceId\":\"%s\"}]}}", in->id), NULL);
    expect(c, "Persistence:IAMUser/InstanceUserDataModified", "AccessKey", in->id, ip, NULL, false,
           "ModifyInstanceAttribute replaces app-2's user data");
    expect(c, "Persistence:EC2/UserDataModifiedAndRestarted", "Instance", in->id, NULL, NULL, false,
           "StopInstances, ModifyInstanceAttribute userData, StartInstances on app-2 within three minutes");
}

/* ---- the table ---------------------------------------------------------------------------------------------- */

static const struct sim_scenario_def DEFS[] = {
    { { "benign", "Two ordinary days: nothing to find", "false positives", NULL }, 1, attack_none },
    { { "compromised-credential",
        "A CI user's leaked access key is used from a threat-listed address: recon, admin policy, "
        "a backdoor user, flow logs and the trail stopped",
        "compromised IAM credentials", NULL },
      7, attack_compromised_credential },
    { { "public-bucket",
        "A bucket is opened to the world with a policy and read anonymously, also through Tor",
        "unintended S3 access", NULL },
      1, attack_public_bucket },
    { { "crypto-mining", "A developer box resolves and talks to a crypto-mining pool all day",
        "compromised EC2 instance", NULL },
      1, attack_crypto_mining },
    { { "dns-exfiltration", "An app server tunnels data out through DNS queries",
        "compromised EC2 instance", NULL },
      1, attack_dns_exfiltration },
    { { "ssh-brute-force", "The bastion takes 600 SSH attempts from one address",
        "brute force", NULL },
      1, attack_ssh_brute_force },
    { { "rdp-brute-force", "A Windows host brute-forces RDP on an outside server",
        "compromised EC2 instance", NULL },
      1, attack_rdp_brute_force },
    { { "winrm-brute-force", "A Windows host brute-forces WinRM on an outside server",
        "compromised EC2 instance", NULL },
      1, attack_winrm_brute_force },
    { { "port-scan", "An app server scans 1024 ports of one outside host",
        "compromised EC2 instance", NULL },
      1, attack_port_scan },
    { { "port-probe", "An Elasticsearch port left open to the world is probed by 40 addresses",
        "exposed service", NULL },
      1, attack_port_probe },
    { { "port-sweep", "A batch worker probes port 445 across 250 outside addresses",
        "compromised EC2 instance", NULL },
      1, attack_port_sweep },
    { { "denial-of-service", "Five instances flood outside targets (TCP, UDP, DNS, UDP on a TCP port, IGMP)",
        "compromised EC2 instance", NULL },
      1, attack_denial_of_service },
    { { "spambot", "A developer box that never sent mail talks SMTP to 100 mail servers",
        "compromised EC2 instance", NULL },
      7, attack_spambot },
    { { "unusual-traffic", "A log4j-style LDAP callback and a 30 GB upload to an unknown host",
        "compromised EC2 instance", NULL },
      7, attack_unusual_traffic },
    { { "dns-evasion", "Instances bypass the VPC resolver: a public resolver, DoH, DoT",
        "defense evasion", NULL },
      7, attack_dns_evasion },
    { { "tor-client", "An app server keeps a connection to a Tor guard relay",
        "compromised EC2 instance", NULL },
      1, attack_tor_client },
    { { "dga", "A developer box queries 150 algorithmically generated names",
        "compromised EC2 instance", NULL },
      1, attack_dga },
    { { "instance-credential-exfiltration",
        "Instance-role credentials are used from outside AWS and from another AWS account's instance",
        "compromised EC2 credentials", NULL },
      1, attack_credential_exfiltration },
    { { "impossible-travel", "A console user signs in from Lyon and, 40 minutes later, from Sydney",
        "compromised IAM credentials", NULL },
      7, attack_impossible_travel },
    { { "api-call-rate",
        "A script with the CI key pushes images at 50 a minute and sweeps SSM for parameters by name",
        "compromised IAM credentials", NULL },
      7, attack_api_call_rate },
    { { "credential-harvest",
        "A stolen key reads 40 secrets, Windows passwords, user data and SSM parameters in ten minutes",
        "compromised IAM credentials", NULL },
      1, attack_credential_harvest },
    { { "permission-enumeration", "A stolen key probes 22 APIs in a minute, most of them refused",
        "compromised IAM credentials", NULL },
      1, attack_permission_enumeration },
    { { "console-brute-force", "40 failed console sign-ins from one address in three minutes",
        "brute force", NULL },
      1, attack_console_brute_force },
    { { "user-data-persistence",
        "A stolen key stops an instance, replaces its user data and starts it again",
        "compromised IAM credentials", NULL },
      1, attack_user_data_persistence },
    { { "anomalous-iam-behavior",
        "A developer's key makes one call of each of GuardDuty's eight API classes from a new place at night",
        "compromised IAM credentials", NULL },
      10, attack_anomalous_iam },
    { { "s3-anomalous-behavior",
        "A developer's key lists, downloads, overwrites and deletes S3 data in bulk at night",
        "unintended S3 access", NULL },
      10, attack_anomalous_s3 },
};

const struct sim_scenario_def *sim__scenario_defs(size_t *n)
{
    *n = sizeof(DEFS) / sizeof(DEFS[0]);
    return DEFS;
}
