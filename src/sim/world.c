/*
 * The simulated company and its ordinary days.
 *
 * One production account in us-east-1 with a VPC of nine instances (two web
 * servers behind the internet, two app servers and a batch worker that reach
 * out through a NAT gateway, a database, a bastion, a Windows host, a
 * developer box), three people who work office hours from Lyon (alice the
 * admin and carol the security analyst use the console with MFA; bob the
 * developer uses the CLI, sometimes from home), and a CI pipeline.
 *
 * Everything behaves consistently, which is what keeps the background quiet:
 * instance roles are only used from their instance's address, people only
 * from the office or home, CI only from its runners; nobody opens buckets,
 * stops trails or signs in without MFA. Attacks break exactly these habits.
 */
#include "sim/sim_int.h"

#include <stdio.h>
#include <string.h>

static const struct sim_instance INSTANCES[] = {
    { "web-1", "i-0a1b2c3d4e5f60001", "eni-0a1b2c3d4e5f61001", "subnet-0a1b2c3d4e5f6a001",
      "use1-az1", "10.0.1.11", "3.84.10.11", "web-role", SIM_WEB },
    { "web-2", "i-0a1b2c3d4e5f60002", "eni-0a1b2c3d4e5f61002", "subnet-0a1b2c3d4e5f6a002",
      "use1-az2", "10.0.1.12", "3.84.10.12", "web-role", SIM_WEB },
    { "app-1", "i-0a1b2c3d4e5f60003", "eni-0a1b2c3d4e5f61003", "subnet-0a1b2c3d4e5f6b001",
      "use1-az1", "10.0.2.21", NULL, "app-role", SIM_APP },
    { "app-2", "i-0a1b2c3d4e5f60004", "eni-0a1b2c3d4e5f61004", "subnet-0a1b2c3d4e5f6b002",
      "use1-az2", "10.0.2.22", NULL, "app-role", SIM_APP },
    { "db-1", "i-0a1b2c3d4e5f60005", "eni-0a1b2c3d4e5f61005", "subnet-0a1b2c3d4e5f6b001",
      "use1-az1", "10.0.2.31", NULL, NULL, SIM_DB },
    { "bastion", "i-0a1b2c3d4e5f60006", "eni-0a1b2c3d4e5f61006", "subnet-0a1b2c3d4e5f6a001",
      "use1-az1", "10.0.1.5", "3.84.10.5", "bastion-role", SIM_BASTION },
    { "batch-1", "i-0a1b2c3d4e5f60007", "eni-0a1b2c3d4e5f61007", "subnet-0a1b2c3d4e5f6b002",
      "use1-az2", "10.0.2.41", NULL, "batch-role", SIM_BATCH },
    { "win-1", "i-0a1b2c3d4e5f60008", "eni-0a1b2c3d4e5f61008", "subnet-0a1b2c3d4e5f6b001",
      "use1-az1", "10.0.2.51", NULL, "win-role", SIM_WIN },
    { "dev-1", "i-0a1b2c3d4e5f60009", "eni-0a1b2c3d4e5f61009", "subnet-0a1b2c3d4e5f6b002",
      "use1-az2", "10.0.2.61", NULL, "dev-role", SIM_DEV },
};

#define N_INST (sizeof(INSTANCES) / sizeof(INSTANCES[0]))

size_t sim__instance_count(void) { return N_INST; }
const struct sim_instance *sim__instance(size_t i) { return i < N_INST ? &INSTANCES[i] : NULL; }

const struct sim_instance *sim__instance_named(const char *name)
{
    for (size_t i = 0; i < N_INST; i++)
        if (strcmp(INSTANCES[i].name, name) == 0)
            return &INSTANCES[i];
    return NULL;
}

const char *sim__egress_ip(const struct sim_instance *in)
{
    return in->public_ip ? in->public_ip : SIM_NAT_IP;
}

/* ---- identities ---------------------------------------------------------------------- */

void sim__stable_id(const char *prefix, const char *name, size_t n, char *out)
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint64_t h = hash64(name, strlen(name), 0x1d5eed), g = hash64(name, strlen(name), 0x2d5eed);
    size_t p = strlen(prefix);
    memcpy(out, prefix, p);
    for (size_t i = 0; i < n; i++) {
        uint64_t src = i < 12 ? h >> (5 * i) : g >> (5 * (i - 12));
        out[p + i] = b32[src & 31];
    }
    out[p + n] = '\0';
}

void sim__user(struct sim_identity *id, const char *account, const char *user)
{
    char seed[128];
    memset(id, 0, sizeof(*id));
    id->type = SIM_ID_USER;
    id->account = account;
    id->name = user;
    snprintf(seed, sizeof(seed), "key/%s/%s", account, user);
    sim__stable_id("AKIA", seed, 16, id->access_key);
    snprintf(seed, sizeof(seed), "user/%s/%s", account, user);
    sim__stable_id("AIDA", seed, 17, id->principal_id);
}

void sim__console_user(struct sim_identity *id, const char *account, const char *user, bool mfa,
                       int64_t login_ms)
{
    char seed[128];
    sim__user(id, account, user);
    snprintf(seed, sizeof(seed), "console/%s/%lld", user, (long long)login_ms);
    sim__stable_id("ASIA", seed, 16, id->access_key);
    id->console = true;
    id->mfa = mfa;
    id->session_ms = login_ms;
}

void sim__instance_role(struct sim_identity *id, const struct sim_instance *in, int64_t ms)
{
    char seed[128], role_id[32];
    memset(id, 0, sizeof(*id));
    int64_t window = ms / (6 * SIM_HOUR);
    id->type = SIM_ID_ROLE;
    id->account = SIM_ACCOUNT;
    id->name = in->role;
    id->session = in->id;
    id->ec2_role = true;
    id->session_ms = window * 6 * SIM_HOUR + 3 * SIM_MIN;
    snprintf(seed, sizeof(seed), "imds/%s/%lld", in->id, (long long)window);
    sim__stable_id("ASIA", seed, 16, id->access_key);
    snprintf(seed, sizeof(seed), "role/%s", in->role);
    sim__stable_id("AROA", seed, 17, role_id);
    snprintf(id->principal_id, sizeof(id->principal_id), "%s:%s", role_id, in->id);
}

void sim__root(struct sim_identity *id, const char *account)
{
    memset(id, 0, sizeof(*id));
    id->type = SIM_ID_ROOT;
    id->account = account;
    id->name = "root";
    snprintf(id->principal_id, sizeof(id->principal_id), "%s", account);
}

void sim__anonymous(struct sim_identity *id)
{
    memset(id, 0, sizeof(*id));
    id->type = SIM_ID_ANON;
    id->account = "anonymous";
    id->name = "anonymous";
}

void sim__service(struct sim_identity *id, const char *service)
{
    memset(id, 0, sizeof(*id));
    id->type = SIM_ID_SERVICE;
    id->account = SIM_ACCOUNT;
    id->name = service;
}

/* ---- places ----------------------------------------------------------------------------- */

void sim__world_places(struct sim_ctx *c)
{
    /* The internet is the documentation ranges; each /26 is somewhere. */
    sim__place(c, "192.0.2.0/26", "FR", "Lyon", 45.7485, 4.8467, 64496, "Example Fibre Lyon");
    sim__place(c, "192.0.2.0/28", "FR", "Lyon", 45.7485, 4.8467, 64497, "Acme Corp Office");
    sim__place(c, "192.0.2.16/28", "US", "Ashburn", 39.0437, -77.4875, 64498, "Example CI Runners");
    sim__place(c, "192.0.2.64/26", "DE", "Frankfurt am Main", 50.1109, 8.6821, 64499, "Example Hosting GmbH");
    sim__place(c, "192.0.2.128/25", "US", "San Francisco", 37.7749, -122.4194, 64500, "Example SaaS Inc.");
    sim__place(c, "198.51.100.0/25", "FR", "Villeurbanne", 45.7719, 4.8902, 64496, "Example Fibre Lyon");
    sim__place(c, "198.51.100.128/25", "GB", "London", 51.5072, -0.1276, 64501, "Example Broadband Ltd");
    sim__place(c, "203.0.113.0/25", "NL", "Amsterdam", 52.3740, 4.8897, 64502, "Example VPS B.V.");
    sim__place(c, "203.0.113.128/25", "AU", "Sydney", -33.8688, 151.2093, 64503, "Example Telecom Australia");
    /* The public resolvers dns-evasion uses, as the real databases place them. */
    sim__place(c, "8.8.8.8/32", "US", "Mountain View", 37.4056, -122.0775, 15169, "GOOGLE");
    sim__place(c, "1.1.1.1/32", "AU", "Sydney", -33.8688, 151.2093, 13335, "CLOUDFLARENET");
    sim__place(c, "9.9.9.9/32", "CH", "Zurich", 47.3769, 8.5417, 19281, "QUAD9-AS-1");
    sim__place(c, "2001:db8::/32", "DE", "Berlin", 52.5200, 13.4050, 64504, "Example Mobile Proxy GmbH");
    /* AWS: their own ASN, as the real databases have it. */
    sim__place(c, "3.80.0.0/12", "US", "Ashburn", 39.0437, -77.4875, 14618, "AMAZON-AES");
    sim__place(c, "18.204.0.0/14", "US", "Ashburn", 39.0437, -77.4875, 14618, "AMAZON-AES");
    sim__place(c, "52.216.0.0/15", "US", "Ashburn", 39.0437, -77.4875, 16509, "AMAZON-02");
    sim__place(c, "52.94.0.0/22", "US", "Ashburn", 39.0437, -77.4875, 16509, "AMAZON-02");
}

/* ---- the background ------------------------------------------------------------------------ */

#define UA_SSM "aws-sdk-go/1.44.302 (go1.21.5; linux; amd64) amazon-ssm-agent/3.2.1705.0"
#define UA_SSM_WIN "aws-sdk-go/1.44.302 (go1.21.5; windows; amd64) amazon-ssm-agent/3.2.1705.0"
#define UA_BOTO "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#6.1.72-96.166.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.34"
#define UA_JAVA "aws-sdk-java/2.21.29 Linux/6.1.72-96.166.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 vendor/Amazon.com_Inc. exec-env/AWS_ECS_EC2 io/sync http/Apache cfg/retry-mode/legacy"
#define UA_CLI_BOB "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-26-generic exe/x86_64.ubuntu.22 prompt/off command/%s"
#define UA_CLI_CI "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1017-azure exe/x86_64.ubuntu.22 prompt/off command/%s"
#define UA_BROWSER "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"

/* Internet services the instances use, and where they resolve. */
static const struct {
    const char *name, *ip;
} SAAS[] = {
    { "api.github.com", "192.0.2.140" },      { "codeload.github.com", "192.0.2.141" },
    { "pypi.org", "192.0.2.150" },            { "files.pythonhosted.org", "192.0.2.151" },
    { "registry.npmjs.org", "192.0.2.160" },  { "hooks.slack.com", "192.0.2.170" },
    { "api.stripe.com", "192.0.2.180" },      { "api.sendgrid.com", "192.0.2.190" },
};

#define N_SAAS (sizeof(SAAS) / sizeof(SAAS[0]))

static bool workday(int64_t day_ms)
{
    int64_t d = day_ms / SIM_DAY; /* 1970-01-01 was a Thursday */
    int wd = (int)((d + 4) % 7);  /* 0 = Sunday */
    return wd != 0 && wd != 6;
}

static int64_t jitter(struct sim_rng *r, int64_t at, int64_t spread)
{
    return at + (int64_t)sim__below(r, (uint32_t)(spread > 0 ? spread : 1));
}

static void ssm_ping(struct sim_ctx *c, struct sim_rng *r, const struct sim_instance *in, int64_t ms)
{
    struct sim_identity id;
    sim__instance_role(&id, in, ms);
    bool win = in->kind == SIM_WIN;
    const char *req = sim__fmt(
        c,
        "{\"instanceId\":\"%s\",\"agentVersion\":\"3.2.1705.0\",\"agentStatus\":\"Active\","
        "\"platformType\":\"%s\",\"platformName\":\"%s\",\"platformVersion\":\"%s\","
        "\"iPAddress\":\"%s\",\"computerName\":\"ip-%s.ec2.internal\",\"agentName\":"
        "\"amazon-ssm-agent\",\"availabilityZone\":\"us-east-1%c\",\"availabilityZoneId\":\"%s\"}",
        in->id, win ? "Windows" : "Linux", win ? "Microsoft Windows Server 2022 Datacenter" : "Amazon Linux",
        win ? "10.0.20348" : "2023", in->private_ip, in->private_ip, in->az[7] == '1' ? 'a' : 'b',
        in->az);
    struct sim_ct ct = { .ms = ms, .who = &id, .event_source = "ssm.amazonaws.com",
                         .event_name = "UpdateInstanceInformation", .ip = sim__egress_ip(in),
                         .ua = win ? UA_SSM_WIN : UA_SSM, .req = req };
    (void)r;
    sim__ct(c, &ct);
}

static void assume_instance_role(struct sim_ctx *c, const struct sim_instance *in, int64_t ms)
{
    struct sim_identity svc, next;
    sim__service(&svc, "ec2.amazonaws.com");
    sim__instance_role(&next, in, ms + SIM_MIN);
    char exp[32];
    time_format_iso8601(next.session_ms + 6 * SIM_HOUR + 30 * SIM_MIN, false, exp);
    const char *req = sim__fmt(c, "{\"roleArn\":\"arn:aws:iam::%s:role/%s\",\"roleSessionName\":\"%s\"}",
                               SIM_ACCOUNT, in->role, in->id);
    const char *resp = sim__fmt(
        c,
        "{\"credentials\":{\"accessKeyId\":\"%s\",\"sessionToken\":\"IQoJb3JpZ2luX2VjEXAMPLE\","
        "\"expiration\":\"%s\"},\"assumedRoleUser\":{\"assumedRoleId\":\"%s\",\"arn\":"
        "\"arn:aws:sts::%s:assumed-role/%s/%s\"}}",
        next.access_key, exp, next.principal_id, SIM_ACCOUNT, in->role, in->id);
    const char *res = sim__fmt(c, "[{\"accountId\":\"%s\",\"type\":\"AWS::IAM::Role\",\"ARN\":"
                                  "\"arn:aws:iam::%s:role/%s\"}]",
                               SIM_ACCOUNT, SIM_ACCOUNT, in->role);
    struct sim_ct ct = { .ms = ms, .who = &svc, .event_source = "sts.amazonaws.com",
                         .event_name = "AssumeRole", .ip = "ec2.amazonaws.com",
                         .ua = "ec2.amazonaws.com", .req = req, .resp = resp, .read_only = true,
                         .resources = res };
    sim__ct(c, &ct);
}

/* An S3 object call by an instance role, as a data event. */
static void s3_object(struct sim_ctx *c, const struct sim_identity *id, int64_t ms, const char *ip,
                      const char *op, const char *bucket, const char *key, uint64_t bytes)
{
    const char *req = sim__fmt(c, "{\"bucketName\":\"%s\",\"Host\":\"%s.s3.us-east-1.amazonaws.com\",\"key\":\"%s\"}",
                               bucket, bucket, key);
    const char *res = sim__fmt(c, "[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::%s/%s\"},"
                                  "{\"accountId\":\"%s\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::%s\"}]",
                               bucket, key, SIM_ACCOUNT, bucket);
    bool put = strcmp(op, "PutObject") == 0;
    const char *add = sim__fmt(c, "{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\","
                                  "\"bytesTransferredIn\":%llu,\"AuthenticationMethod\":\"AuthHeader\","
                                  "\"x-amz-id-2\":\"EXAMPLEid2\",\"bytesTransferredOut\":%llu}",
                               (unsigned long long)(put ? bytes : 0), (unsigned long long)(put ? 0 : bytes));
    struct sim_ct ct = { .ms = ms, .who = id, .event_source = "s3.amazonaws.com", .event_name = op,
                         .ip = ip, .ua = UA_BOTO, .req = req, .read_only = !put, .data = true,
                         .resources = res, .additional = add };
    sim__ct(c, &ct);
}

static void dns_q(struct sim_ctx *c, const struct sim_instance *in, int64_t ms, const char *name,
                  const char *answer)
{
    struct sim_dns d = { .ms = ms, .in = in, .name = name, .answer = answer };
    sim__dns(c, &d);
}

static void instance_day(struct sim_ctx *c, const struct sim_instance *in, int64_t day,
                         struct sim_rng *r)
{
    struct sim_identity id;
    if (in->role != NULL) {
        for (int64_t t = day; t < day + SIM_DAY; t += 30 * SIM_MIN)
            ssm_ping(c, r, in, jitter(r, t, 5 * SIM_MIN));
        for (int64_t t = day; t < day + SIM_DAY; t += 6 * SIM_HOUR)
            assume_instance_role(c, in, jitter(r, t, 2 * SIM_MIN));
        for (int64_t t = day; t < day + SIM_DAY; t += 30 * SIM_MIN) {
            int64_t m = jitter(r, t, 20 * SIM_MIN);
            dns_q(c, in, m, "ssm.us-east-1.amazonaws.com", "52.94.0.21");
            dns_q(c, in, m + 1000, "ec2messages.us-east-1.amazonaws.com", "52.94.0.22");
            struct sim_flow f = { .ms = m, .in = in, .src = in->private_ip, .dst = "52.94.0.21",
                                  .sport = (int)sim__range(r, 32768, 60999), .dport = 443,
                                  .proto = 6, .packets = sim__range(r, 8, 30),
                                  .bytes = sim__range(r, 2000, 9000), .dst_service = "AMAZON" };
            sim__conn(c, &f);
        }
    }
    switch (in->kind) {
    case SIM_WEB:
        /* Customers on 443; most of the internet is in the documentation ranges here. */
        for (int64_t t = day; t < day + SIM_DAY; t += 5 * SIM_MIN) {
            const char *client = sim__fmt(c, "198.51.100.%u", sim__range(r, 130, 250));
            struct sim_flow f = { .ms = jitter(r, t, 4 * SIM_MIN), .in = in, .src = client,
                                  .dst = in->private_ip, .sport = (int)sim__range(r, 40000, 65000),
                                  .dport = 443, .proto = 6, .packets = sim__range(r, 10, 80),
                                  .bytes = sim__range(r, 1500, 60000), .ingress = true };
            sim__conn(c, &f);
        }
        for (int64_t t = day; t < day + SIM_DAY; t += 15 * SIM_MIN) {
            int64_t m = jitter(r, t, 10 * SIM_MIN);
            sim__instance_role(&id, in, m);
            s3_object(c, &id, m, sim__egress_ip(in), "GetObject", "acme-app-assets",
                      sim__fmt(c, "static/img/%u.webp", sim__range(r, 1, 400)), sim__range(r, 2000, 90000));
            dns_q(c, in, m - 200, "acme-app-assets.s3.us-east-1.amazonaws.com", "52.216.10.33");
            struct sim_flow f = { .ms = m, .in = in, .src = in->private_ip, .dst = "52.216.10.33",
                                  .sport = (int)sim__range(r, 32768, 60999), .dport = 443,
                                  .proto = 6, .packets = 20, .bytes = 3000, .dst_service = "S3" };
            sim__conn(c, &f);
        }
        break;
    case SIM_APP:
        for (int64_t t = day; t < day + SIM_DAY; t += 10 * SIM_MIN) {
            const struct sim_instance *db = sim__instance_named("db-1");
            struct sim_flow f = { .ms = jitter(r, t, 5 * SIM_MIN), .in = in, .src = in->private_ip,
                                  .dst = db->private_ip, .sport = (int)sim__range(r, 32768, 60999),
                                  .dport = 5432, .proto = 6, .packets = sim__range(r, 20, 200),
                                  .bytes = sim__range(r, 4000, 80000) };
            sim__conn(c, &f);
            f.in = db;
            f.ingress = true;
            sim__conn(c, &f);
        }
        for (int64_t t = day; t < day + SIM_DAY; t += SIM_HOUR) {
            int64_t m = jitter(r, t, 30 * SIM_MIN);
            sim__instance_role(&id, in, m);
            const char *p = "{\"name\":\"/acme/prod/app/feature-flags\",\"withDecryption\":true}";
            struct sim_ct ct = { .ms = m, .who = &id, .event_source = "ssm.amazonaws.com",
                                 .event_name = "GetParameter", .ip = SIM_NAT_IP, .ua = UA_JAVA,
                                 .req = p, .read_only = true };
            sim__ct(c, &ct);
            const char *kreq = "{\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"encryptionContext\":"
                               "{\"app\":\"orders\"}}";
            struct sim_ct k = { .ms = m + 400, .who = &id, .event_source = "kms.amazonaws.com",
                                .event_name = "Decrypt", .ip = SIM_NAT_IP, .ua = UA_JAVA,
                                .req = kreq, .read_only = true };
            sim__ct(c, &k);
            size_t s = sim__below(r, (uint32_t)N_SAAS);
            dns_q(c, in, m + 800, SAAS[s].name, SAAS[s].ip);
            struct sim_flow f = { .ms = m + 900, .in = in, .src = in->private_ip, .dst = SAAS[s].ip,
                                  .sport = (int)sim__range(r, 32768, 60999), .dport = 443,
                                  .proto = 6, .packets = sim__range(r, 10, 40),
                                  .bytes = sim__range(r, 2000, 20000) };
            sim__conn(c, &f);
        }
        /* An optional flag the app reads at start-up and that was never set:
         * SSM answers ParameterNotFound a couple of times a day. */
        for (int64_t t = day + 5 * SIM_HOUR; t < day + SIM_DAY; t += 12 * SIM_HOUR) {
            int64_t m = jitter(r, t, 2 * SIM_HOUR);
            sim__instance_role(&id, in, m);
            struct sim_ct ct = { .ms = m, .who = &id, .event_source = "ssm.amazonaws.com",
                                 .event_name = "GetParameter", .ip = SIM_NAT_IP, .ua = UA_JAVA,
                                 .req = "{\"name\":\"/acme/prod/app/maintenance-banner\"}",
                                 .error_code = "ParameterNotFound", .read_only = true };
            sim__ct(c, &ct);
        }
        for (int64_t t = day + 2 * SIM_HOUR; t < day + SIM_DAY; t += 6 * SIM_HOUR) {
            int64_t m = jitter(r, t, SIM_HOUR);
            sim__instance_role(&id, in, m);
            struct sim_ct ct = { .ms = m, .who = &id, .event_source = "secretsmanager.amazonaws.com",
                                 .event_name = "GetSecretValue", .ip = SIM_NAT_IP, .ua = UA_JAVA,
                                 .req = "{\"secretId\":\"prod/orders/db\"}", .read_only = true };
            sim__ct(c, &ct);
        }
        break;
    case SIM_BASTION:
        if (workday(day)) {
            for (int k = 0; k < 3; k++) {
                int64_t m = day + 8 * SIM_HOUR + (int64_t)sim__below(r, 8 * 60) * SIM_MIN;
                struct sim_flow f = { .ms = m, .in = in, .src = k == 2 ? SIM_HOME_IP : SIM_OFFICE_IP,
                                      .dst = in->private_ip, .sport = (int)sim__range(r, 40000, 65000),
                                      .dport = 22, .proto = 6, .packets = sim__range(r, 300, 3000),
                                      .bytes = sim__range(r, 40000, 900000), .ingress = true, .secs = 58 };
                sim__conn(c, &f);
                const struct sim_instance *to = sim__instance_named(k ? "app-1" : "db-1");
                struct sim_flow g = { .ms = m + 20000, .in = in, .src = in->private_ip,
                                      .dst = to->private_ip, .sport = (int)sim__range(r, 40000, 65000),
                                      .dport = 22, .proto = 6, .packets = 400, .bytes = 60000 };
                sim__conn(c, &g);
            }
        }
        break;
    case SIM_BATCH: {
        /* The nightly export: read the day's events, write the report. */
        int64_t m = day + SIM_HOUR + (int64_t)sim__below(r, 600) * 1000;
        for (int k = 0; k < 40; k++, m += sim__range(r, 5000, 60000)) {
            sim__instance_role(&id, in, m);
            s3_object(c, &id, m, SIM_NAT_IP, k < 30 ? "GetObject" : "PutObject", "acme-data-lake",
                      sim__fmt(c, "%s/part-%05d.parquet", k < 30 ? "events" : "reports", k),
                      sim__range(r, 2000000, 40000000));
            struct sim_flow f = { .ms = m, .in = in, .src = in->private_ip, .dst = "52.216.20.7",
                                  .sport = (int)sim__range(r, 32768, 60999), .dport = 443,
                                  .proto = 6, .packets = sim__range(r, 2000, 30000),
                                  .bytes = sim__range(r, 2000000, 40000000), .dst_service = "S3" };
            sim__conn(c, &f);
        }
        dns_q(c, in, day + SIM_HOUR, "acme-data-lake.s3.us-east-1.amazonaws.com", "52.216.20.7");
        break;
    }
    case SIM_WIN: {
        int64_t m = day + 3 * SIM_HOUR + (int64_t)sim__below(r, 3600) * 1000;
        dns_q(c, in, m, "download.windowsupdate.example.com", "192.0.2.200");
        struct sim_flow f = { .ms = m + 300, .in = in, .src = in->private_ip, .dst = "192.0.2.200",
                              .sport = (int)sim__range(r, 49152, 65000), .dport = 443, .proto = 6,
                              .packets = 9000, .bytes = 12000000 };
        sim__conn(c, &f);
        if (workday(day)) {
            const struct sim_instance *b = sim__instance_named("bastion");
            struct sim_flow g = { .ms = day + 10 * SIM_HOUR, .in = in, .src = b->private_ip,
                                  .dst = in->private_ip, .sport = 51234, .dport = 3389, .proto = 6,
                                  .packets = 5000, .bytes = 2500000, .ingress = true };
            sim__conn(c, &g);
        }
        break;
    }
    case SIM_DEV:
        if (workday(day)) {
            for (int k = 0; k < 6; k++) {
                int64_t m = day + 8 * SIM_HOUR + (int64_t)sim__below(r, 9 * 60) * SIM_MIN;
                size_t s = sim__below(r, (uint32_t)N_SAAS);
                dns_q(c, in, m, SAAS[s].name, SAAS[s].ip);
                struct sim_flow f = { .ms = m + 200, .in = in, .src = in->private_ip,
                                      .dst = SAAS[s].ip, .sport = (int)sim__range(r, 32768, 60999),
                                      .dport = 443, .proto = 6, .packets = sim__range(r, 30, 900),
                                      .bytes = sim__range(r, 5000, 3000000) };
                sim__conn(c, &f);
            }
        }
        break;
    case SIM_DB:
        break;
    }
}

static void console_call(struct sim_ctx *c, const struct sim_identity *id, int64_t ms,
                         const char *source, const char *name, const char *req)
{
    struct sim_ct ct = { .ms = ms, .who = id, .event_source = source, .event_name = name,
                         .ip = SIM_OFFICE_IP, .ua = UA_BROWSER, .req = req, .read_only = true };
    sim__ct(c, &ct);
}

static void console_login(struct sim_ctx *c, const char *user, int64_t ms, const char *ip)
{
    struct sim_identity id;
    sim__user(&id, SIM_ACCOUNT, user);
    id.access_key[0] = '\0';
    const char *add = sim__fmt(c, "{\"LoginTo\":\"https://console.aws.amazon.com/console/home?region=us-east-1\","
                                  "\"MobileVersion\":\"No\",\"MFAIdentifier\":\"arn:aws:iam::%s:mfa/%s\","
                                  "\"MFAUsed\":\"Yes\"}",
                               SIM_ACCOUNT, user);
    struct sim_ct ct = { .ms = ms, .who = &id, .event_source = "signin.amazonaws.com",
                         .event_name = "ConsoleLogin", .ip = ip, .ua = UA_BROWSER,
                         .resp = "{\"ConsoleLogin\":\"Success\"}", .additional = add };
    sim__ct(c, &ct);
}

static void people_day(struct sim_ctx *c, int64_t day, struct sim_rng *r)
{
    if (!workday(day))
        return;
    static const struct {
        const char *source, *name, *req;
    } ADMIN[] = {
        { "ec2.amazonaws.com", "DescribeInstances", "{\"maxResults\":50}" },
        { "ec2.amazonaws.com", "DescribeSecurityGroups", "{\"maxResults\":100}" },
        { "s3.amazonaws.com", "ListBuckets", "{\"Host\":\"s3.amazonaws.com\"}" },
        { "monitoring.amazonaws.com", "DescribeAlarms", "{\"maxRecords\":100}" },
        { "cloudtrail.amazonaws.com", "LookupEvents", "{\"maxResults\":50}" },
        { "iam.amazonaws.com", "ListRoles", "{\"maxItems\":100}" },
        { "rds.amazonaws.com", "DescribeDBInstances", "{\"maxRecords\":100}" },
    };
    static const struct {
        const char *source, *name, *req;
    } SECURITY[] = {
        { "guardduty.amazonaws.com", "ListFindings", "{\"detectorId\":\"12abc34d567e8fa901bc2d34eexample\",\"maxResults\":50}" },
        { "guardduty.amazonaws.com", "GetFindings", "{\"detectorId\":\"12abc34d567e8fa901bc2d34eexample\"}" },
        { "securityhub.amazonaws.com", "GetFindings", "{\"maxResults\":100}" },
        { "access-analyzer.amazonaws.com", "ListFindings", "{\"maxResults\":100}" },
    };
    static const struct {
        const char *source, *name, *cmd, *req;
    } DEV[] = {
        { "ec2.amazonaws.com", "DescribeInstances", "ec2.describe-instances", "{\"instancesSet\":{},\"filterSet\":{}}" },
        { "lambda.amazonaws.com", "ListFunctions20150331", "lambda.list-functions", "{\"maxItems\":50}" },
        { "logs.amazonaws.com", "DescribeLogGroups", "logs.describe-log-groups", "{\"limit\":50}" },
        { "s3.amazonaws.com", "ListBuckets", "s3.ls", "{\"Host\":\"s3.amazonaws.com\"}" },
        { "ecs.amazonaws.com", "DescribeServices", "ecs.describe-services", "{\"cluster\":\"prod\",\"services\":[\"orders\"]}" },
    };
    struct sim_identity id;

    /* alice: console with MFA from the office. */
    int64_t login = day + 7 * SIM_HOUR + (int64_t)sim__below(r, 60) * SIM_MIN;
    console_login(c, "alice", login, SIM_OFFICE_IP);
    sim__console_user(&id, SIM_ACCOUNT, "alice", true, login);
    for (int k = 0; k < 25; k++) {
        size_t a = sim__below(r, (uint32_t)(sizeof(ADMIN) / sizeof(ADMIN[0])));
        console_call(c, &id, login + SIM_MIN + (int64_t)sim__below(r, 8 * 60) * SIM_MIN,
                     ADMIN[a].source, ADMIN[a].name, ADMIN[a].req);
    }
    /* carol: security console, mornings. */
    login = day + 8 * SIM_HOUR + (int64_t)sim__below(r, 60) * SIM_MIN;
    console_login(c, "carol", login, SIM_OFFICE_IP);
    sim__console_user(&id, SIM_ACCOUNT, "carol", true, login);
    for (int k = 0; k < 12; k++) {
        size_t a = sim__below(r, (uint32_t)(sizeof(SECURITY) / sizeof(SECURITY[0])));
        console_call(c, &id, login + SIM_MIN + (int64_t)sim__below(r, 4 * 60) * SIM_MIN,
                     SECURITY[a].source, SECURITY[a].name, SECURITY[a].req);
    }
    /* bob: the CLI with his key, from the office or in the evening from home. */
    sim__user(&id, SIM_ACCOUNT, "bob");
    for (int k = 0; k < 20; k++) {
        bool home = k >= 16;
        int64_t m = day + (home ? 18 : 8) * SIM_HOUR + (int64_t)sim__below(r, home ? 180 : 540) * SIM_MIN;
        size_t a = sim__below(r, (uint32_t)(sizeof(DEV) / sizeof(DEV[0])));
        struct sim_ct ct = { .ms = m, .who = &id, .event_source = DEV[a].source,
                             .event_name = DEV[a].name, .ip = home ? SIM_HOME_IP : SIM_OFFICE_IP,
                             .ua = sim__fmt(c, UA_CLI_BOB, DEV[a].cmd), .req = DEV[a].req,
                             .read_only = true };
        sim__ct(c, &ct);
    }
    /* bob's own S3: a few reads of the data lake, a listing or two, and a
     * scratch file he uploads (bucket-owner-full-control) and later deletes. */
    static const char *const UA_S3 = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-26-generic exe/x86_64.ubuntu.22 prompt/off command/s3.cp";
    for (int k = 0; k < 8; k++) {
        int64_t m = day + 9 * SIM_HOUR + (int64_t)sim__below(r, 8 * 60) * SIM_MIN;
        static const char *const OPS[] = { "GetObject", "GetObject", "GetObject", "ListObjects",
                                           "ListObjects", "PutObject", "PutObjectAcl", "DeleteObject" };
        const char *op = OPS[k];
        bool list = strcmp(op, "ListObjects") == 0;
        const char *okey = k < 3 ? sim__fmt(c, "reports/daily-%02d.parquet", k)
                                 : sim__fmt(c, "scratch/bob/notebook-%u.ipynb", (unsigned)(day / SIM_DAY % 1000));
        const char *req = list ? "{\"bucketName\":\"acme-data-lake\",\"Host\":\"acme-data-lake.s3.us-east-1.amazonaws.com\","
                                 "\"list-type\":\"2\",\"prefix\":\"reports/\"}"
                        : strcmp(op, "PutObjectAcl") == 0
                            ? sim__fmt(c, "{\"bucketName\":\"acme-data-lake\",\"Host\":\"acme-data-lake.s3.us-east-1.amazonaws.com\","
                                          "\"acl\":\"\",\"key\":\"%s\",\"x-amz-acl\":[\"bucket-owner-full-control\"]}", okey)
                            : sim__fmt(c, "{\"bucketName\":\"acme-data-lake\",\"Host\":\"acme-data-lake.s3.us-east-1.amazonaws.com\","
                                          "\"key\":\"%s\"}", okey);
        const char *res = list ? sim__fmt(c, "[{\"accountId\":\"%s\",\"type\":\"AWS::S3::Bucket\",\"ARN\":"
                                             "\"arn:aws:s3:::acme-data-lake\"}]", SIM_ACCOUNT)
                               : sim__fmt(c, "[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::acme-data-lake/%s\"},"
                                             "{\"accountId\":\"%s\",\"type\":\"AWS::S3::Bucket\",\"ARN\":"
                                             "\"arn:aws:s3:::acme-data-lake\"}]", okey, SIM_ACCOUNT);
        struct sim_ct ct = { .ms = m, .who = &id, .event_source = "s3.amazonaws.com", .event_name = op,
                             .ip = SIM_OFFICE_IP, .ua = UA_S3, .req = req, .data = true,
                             .read_only = strncmp(op, "Get", 3) == 0 || list, .resources = res,
                             .recipient = SIM_ACCOUNT };
        sim__ct(c, &ct);
    }
    /* CI: a few deploys a day from the runners. */
    sim__user(&id, SIM_ACCOUNT, "ci-deploy");
    int deploys = (int)sim__range(r, 2, 5);
    for (int k = 0; k < deploys; k++) {
        int64_t m = day + 8 * SIM_HOUR + (int64_t)sim__below(r, 9 * 60) * SIM_MIN;
        struct sim_ct ct = { .ms = m, .who = &id, .event_source = "sts.amazonaws.com",
                             .event_name = "GetCallerIdentity", .ip = SIM_CI_IP,
                             .ua = sim__fmt(c, UA_CLI_CI, "sts.get-caller-identity"), .read_only = true };
        sim__ct(c, &ct);
        ct.ms += 4000;
        ct.event_source = "ecr.amazonaws.com";
        ct.event_name = "GetAuthorizationToken";
        ct.ua = sim__fmt(c, UA_CLI_CI, "ecr.get-login-password");
        sim__ct(c, &ct);
        ct.ms += 60000;
        ct.event_name = "PutImage";
        ct.read_only = false;
        ct.ua = "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.5.0-1017-azure os/linux arch/amd64";
        ct.req = sim__fmt(c, "{\"repositoryName\":\"orders\",\"imageTag\":\"%08x\"}", (unsigned)sim__next(r));
        sim__ct(c, &ct);
        ct.ms += 20000;
        ct.event_source = "ecs.amazonaws.com";
        ct.event_name = "UpdateService";
        ct.ua = sim__fmt(c, UA_CLI_CI, "ecs.update-service");
        ct.req = "{\"cluster\":\"prod\",\"service\":\"orders\",\"forceNewDeployment\":true}";
        sim__ct(c, &ct);
        const char *okey = sim__fmt(c, "orders/%08x.zip", (unsigned)sim__next(r));
        const char *req = sim__fmt(c, "{\"bucketName\":\"acme-build-artifacts\",\"Host\":"
                                      "\"acme-build-artifacts.s3.us-east-1.amazonaws.com\",\"key\":\"%s\"}", okey);
        const char *res = sim__fmt(c, "[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::acme-build-artifacts/%s\"},"
                                      "{\"accountId\":\"%s\",\"type\":\"AWS::S3::Bucket\",\"ARN\":"
                                      "\"arn:aws:s3:::acme-build-artifacts\"}]", okey, SIM_ACCOUNT);
        struct sim_ct put = { .ms = ct.ms + 3000, .who = &id, .event_source = "s3.amazonaws.com",
                              .event_name = "PutObject", .ip = SIM_CI_IP,
                              .ua = sim__fmt(c, UA_CLI_CI, "s3.cp"), .req = req, .data = true,
                              .resources = res,
                              .additional = "{\"SignatureVersion\":\"SigV4\",\"bytesTransferredIn\":5242880,"
                                            "\"AuthenticationMethod\":\"AuthHeader\",\"bytesTransferredOut\":0}" };
        sim__ct(c, &put);
    }
}

void sim__background(struct sim_ctx *c)
{
    int64_t first = sim__day0(c) - (int64_t)sim__history(c) * SIM_DAY;
    for (int64_t day = first; day <= sim__day0(c); day += SIM_DAY) {
        /* One stream per day and instance: the background of a day is the
         * same whatever the scenario and however long the history. */
        for (size_t i = 0; i < sim__instance_count(); i++) {
            const struct sim_instance *in = sim__instance(i);
            struct sim_rng r = sim__stream(0x5eedULL, in->name, (uint64_t)(day / SIM_DAY));
            instance_day(c, in, day, &r);
        }
        struct sim_rng r = sim__stream(0x5eedULL, "people", (uint64_t)(day / SIM_DAY));
        people_day(c, day, &r);
    }
}
