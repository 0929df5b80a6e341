/*
 * bench_json: json_flatten throughput on synthetic CloudTrail records.
 *
 * Generates compact records in memory (an API mix with Zipf-like weights,
 * userIdentity variants, nested requestParameters/responseElements, resources
 * arrays, tlsDetails; ~1.4 KB on average, like the corpus of
 * shared/research/perf-limits.md) and times, each as the median of the runs:
 *   skip      json_skip_value over each record (validation only, the floor)
 *   flatten   json_flatten with every leaf
 *   pathset   json_flatten with a small path set (the common event fields and
 *             a few rule paths), which skips most request/response subtrees
 * The arena is reset every 1000 records, as a batch would be.
 *
 * usage: bench_json [-n records] [-r runs] [-m mode] [-s seed] [-d dir]
 *   mode: all (default), skip, flatten, pathset.
 *   -d dir: instead of generating, take the records of every *.json file
 *   ({"Records":[...]}) directly in dir, repeated up to -n records: real
 *   CloudTrail, e.g. shared/datasets/invictus-aws-stratus-2023/CloudTrail.
 *   For instruction counts run
 *   one mode under callgrind, e.g.
 *   valgrind --tool=callgrind bench_json -n 20000 -r 1 -m flatten
 */
#include "json/json.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rng {
    uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned rn(struct rng *r, unsigned n) { return (unsigned)(rnd(r) % n); }

static const char *pick(struct rng *r, const char *const *v, size_t n) { return v[rn(r, (unsigned)n)]; }
#define PICK(r, arr) pick((r), (arr), sizeof(arr) / sizeof((arr)[0]))

static void hex(struct buf *b, struct rng *r, int n)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < n; i++)
        buf_putc(b, digits[rn(r, 16)]);
}

static void upper(struct buf *b, struct rng *r, int n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for (int i = 0; i < n; i++)
        buf_putc(b, digits[rn(r, 32)]);
}

static void b64(struct buf *b, struct rng *r, int n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < n; i++)
        buf_putc(b, digits[rn(r, 64)]);
}

static void uuid(struct buf *b, struct rng *r)
{
    hex(b, r, 8);
    buf_putc(b, '-');
    hex(b, r, 4);
    buf_putc(b, '-');
    hex(b, r, 4);
    buf_putc(b, '-');
    hex(b, r, 4);
    buf_putc(b, '-');
    hex(b, r, 12);
}

static const char *const accounts[] = { "111122223333", "444455556666", "777788889999" };
static const char *const regions[] = { "us-east-1", "eu-west-1", "ap-southeast-2" };
static const char *const roles[] = { "Admin", "ReadOnly", "ci-deploy", "lambda-exec", "ops-breakglass",
                                      "DataPipeline" };
static const char *const users[] = { "alice", "bob", "carol", "deploy-bot", "terraform" };
static const char *const agents[] = {
    "aws-cli/2.13.5 Python/3.11.4 Linux/5.15.0-1040-aws exe/x86_64.ubuntu.22 prompt/off command/s3.cp",
    "Boto3/1.28.17 md/Botocore#1.31.17 ua/2.0 os/linux#5.10.184 md/arch#x86_64 lang/python#3.9.16",
    "console.amazonaws.com",
    "aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.0 md/GOOS#linux md/GOARCH#amd64 api/sts#1.21.5",
    "APN/1.0 HashiCorp/1.0 Terraform/1.5.4 (+https://www.terraform.io) terraform-provider-aws/5.11.0",
    "[aws-sdk-java/1.12.500 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.7+7-LTS java/17.0.7]",
    "lambda.amazonaws.com",
};

static void ip(struct buf *b, struct rng *r)
{
    switch (rn(r, 4)) {
    case 0:
        buf_printf(b, "10.%u.%u.%u", rn(r, 256), rn(r, 256), rn(r, 256));
        break;
    case 1:
        buf_printf(b, "2600:1f18:%x:%x::%x", rn(r, 65536), rn(r, 65536), rn(r, 65536));
        break;
    default:
        buf_printf(b, "%u.%u.%u.%u", 3 + rn(r, 200), rn(r, 256), rn(r, 256), 1 + rn(r, 254));
    }
}

static void identity(struct buf *b, struct rng *r, const char *acct, bool *service)
{
    unsigned t = rn(r, 100);
    *service = false;
    if (t < 66) {
        const char *role = PICK(r, roles);
        buf_printf(b, "{\"type\":\"AssumedRole\",\"principalId\":\"AROA");
        upper(b, r, 17);
        buf_printf(b, ":%s-session\",\"arn\":\"arn:aws:sts::%s:assumed-role/%s/%s-session\","
                      "\"accountId\":\"%s\",\"accessKeyId\":\"ASIA",
                   role, acct, role, role, acct);
        upper(b, r, 16);
        buf_printf(b, "\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":"
                      "\"AROA");
        upper(b, r, 17);
        buf_printf(b, "\",\"arn\":\"arn:aws:iam::%s:role/%s\",\"accountId\":\"%s\",\"userName\":"
                      "\"%s\"},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":"
                      "\"2024-03-0%uT0%u:12:44Z\",\"mfaAuthenticated\":\"%s\"}}",
                   acct, role, acct, role, 1 + rn(r, 9), rn(r, 10), rn(r, 3) ? "false" : "true");
        if (rn(r, 5) == 0)
            buf_printf(b, ",\"invokedBy\":\"%s\"", rn(r, 2) ? "lambda.amazonaws.com" : "ec2.amazonaws.com");
        buf_putc(b, '}');
    } else if (t < 85) {
        const char *u = PICK(r, users);
        buf_printf(b, "{\"type\":\"IAMUser\",\"principalId\":\"AIDA");
        upper(b, r, 17);
        buf_printf(b, "\",\"arn\":\"arn:aws:iam::%s:user/%s\",\"accountId\":\"%s\",\"accessKeyId\":"
                      "\"AKIA",
                   acct, u, acct);
        upper(b, r, 16);
        buf_printf(b, "\",\"userName\":\"%s\"}", u);
    } else if (t < 98) {
        *service = true;
        buf_printf(b, "{\"type\":\"AWSService\",\"invokedBy\":\"%s\"}",
                   rn(r, 2) ? "cloudtrail.amazonaws.com" : "config.amazonaws.com");
    } else {
        buf_printf(b, "{\"type\":\"Root\",\"principalId\":\"%s\",\"arn\":\"arn:aws:iam::%s:root\","
                      "\"accountId\":\"%s\",\"accessKeyId\":\"ASIA",
                   acct, acct, acct);
        upper(b, r, 16);
        buf_printf(b, "\",\"sessionContext\":{\"attributes\":{\"creationDate\":\"2024-03-02T10:"
                      "00:00Z\",\"mfaAuthenticated\":\"true\"}}}");
    }
}

/* One API: its source, name, and the request/response it writes. */
struct api {
    const char *source;
    const char *name;
    unsigned weight;
    void (*req)(struct buf *b, struct rng *r, const char *acct, const char *region);
    void (*resp)(struct buf *b, struct rng *r, const char *acct, const char *region);
    bool read_only;
};

static void req_assume_role(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"roleArn\":\"arn:aws:iam::%s:role/%s\",\"roleSessionName\":\"session-", acct,
               PICK(r, roles));
    hex(b, r, 12);
    buf_printf(b, "\",\"durationSeconds\":%u}", 900 + 900 * rn(r, 4));
}

static void resp_assume_role(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"credentials\":{\"accessKeyId\":\"ASIA");
    upper(b, r, 16);
    buf_printf(b, "\",\"sessionToken\":\"");
    b64(b, r, 300 + (int)rn(r, 200));
    buf_printf(b, "\",\"expiration\":\"Mar 4, 2024, 1:%02u:%02u AM\"},\"assumedRoleUser\":{"
                  "\"assumedRoleId\":\"AROA",
               rn(r, 60), rn(r, 60));
    upper(b, r, 17);
    buf_printf(b, ":session\",\"arn\":\"arn:aws:sts::%s:assumed-role/%s/session\"}}", acct,
               PICK(r, roles));
}

static void req_kms(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"keyId\":\"arn:aws:kms:%s:%s:"
                  "key/",
               region, acct);
    uuid(b, r);
    buf_printf(b, "\",\"encryptionContext\":{\"aws:lambda:FunctionArn\":\"arn:aws:lambda:%s:%s:"
                  "function:fn-%u\"}}",
               region, acct, rn(r, 50));
}

static void req_gen_key(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"keyId\":\"alias/aws/s3\",\"encryptionContext\":{\"aws:s3:arn\":"
                  "\"arn:aws:s3:::bucket-%u/key-%u\"},\"keySpec\":\"AES_256\"}",
               rn(r, 100), rn(r, 100000));
}

static const char *const buckets[] = { "prod-data", "logs-archive", "customer-uploads", "tf-state",
                                       "backups-eu" };

static void req_s3_obj(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"bucketName\":\"%s\",\"Host\":\"%s.s3.%s.amazonaws.com\",\"key\":"
                  "\"data/2024/03/%02u/part-%05u.parquet\"}",
               PICK(r, buckets), PICK(r, buckets), region, 1 + rn(r, 28), rn(r, 100000));
}

static void req_describe_instances(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-");
    hex(b, r, 17);
    buf_printf(b, "\"}]},\"filterSet\":{\"items\":[{\"name\":\"tag:Name\",\"valueSet\":{\"items\":"
                  "[{\"value\":\"web-%u\"},{\"value\":\"api-%u\"}]}}]}}",
               rn(r, 20), rn(r, 20));
}

static void req_list_buckets(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"Host\":\"s3.amazonaws.com\"}");
}

static void resp_null(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "null");
}

static void req_run_instances(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-");
    hex(b, r, 17);
    buf_printf(b, "\",\"minCount\":1,\"maxCount\":%u}]},\"instanceType\":\"%s\",\"blockDeviceMapping\":"
                  "{},\"monitoring\":{\"enabled\":false},\"disableApiTermination\":false,"
                  "\"clientToken\":\"",
               1 + rn(r, 3), rn(r, 2) ? "t3.micro" : "m5.large");
    uuid(b, r);
    buf_printf(b, "\",\"tagSpecificationSet\":{\"items\":[{\"resourceType\":\"instance\",\"tags\":"
                  "[{\"key\":\"Name\",\"value\":\"worker\"},{\"key\":\"team\",\"value\":\"data\"}]}]}}");
}

static void resp_run_instances(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    unsigned n = 1 + rn(r, 3);
    buf_printf(b, "{\"requestId\":\"");
    uuid(b, r);
    buf_printf(b, "\",\"reservationId\":\"r-");
    hex(b, r, 17);
    buf_printf(b, "\",\"ownerId\":\"%s\",\"groupSet\":{},\"instancesSet\":{\"items\":[", acct);
    for (unsigned i = 0; i < n; i++) {
        buf_printf(b, "%s{\"instanceId\":\"i-", i ? "," : "");
        hex(b, r, 17);
        buf_printf(b, "\",\"imageId\":\"ami-");
        hex(b, r, 17);
        buf_printf(b, "\",\"instanceState\":{\"code\":0,\"name\":\"pending\"},\"privateDnsName\":"
                      "\"ip-10-0-%u-%u.ec2.internal\",\"amiLaunchIndex\":%u,\"productCodes\":{},"
                      "\"instanceType\":\"t3.micro\",\"launchTime\":1709510400000,\"placement\":"
                      "{\"availabilityZone\":\"%sa\",\"tenancy\":\"default\"},\"monitoring\":"
                      "{\"state\":\"disabled\"},\"subnetId\":\"subnet-",
                   rn(r, 256), rn(r, 256), i, region);
        hex(b, r, 17);
        buf_printf(b, "\",\"vpcId\":\"vpc-");
        hex(b, r, 17);
        buf_printf(b, "\",\"privateIpAddress\":\"10.0.%u.%u\",\"stateReason\":{\"code\":\"pending\","
                      "\"message\":\"pending\"},\"architecture\":\"x86_64\",\"rootDeviceType\":\"ebs\","
                      "\"rootDeviceName\":\"/dev/xvda\",\"blockDeviceMapping\":{},"
                      "\"virtualizationType\":\"hvm\",\"hypervisor\":\"xen\",\"groupSet\":{\"items\":"
                      "[{\"groupId\":\"sg-",
                   rn(r, 256), rn(r, 256));
        hex(b, r, 17);
        buf_printf(b, "\",\"groupName\":\"default\"}]},\"networkInterfaceSet\":{\"items\":["
                      "{\"networkInterfaceId\":\"eni-");
        hex(b, r, 17);
        buf_printf(b, "\",\"privateIpAddressesSet\":{\"item\":[{\"privateIpAddress\":\"10.0.%u.%u\","
                      "\"primary\":true}]},\"ipv6AddressesSet\":{},\"tagSet\":{}}]},"
                      "\"ebsOptimized\":false,\"enaSupport\":true,\"cpuOptions\":{\"coreCount\":1,"
                      "\"threadsPerCore\":2},\"capacityReservationSpecification\":"
                      "{\"capacityReservationPreference\":\"open\"},\"enclaveOptions\":"
                      "{\"enabled\":false},\"metadataOptions\":{\"state\":\"pending\","
                      "\"httpTokens\":\"required\",\"httpPutResponseHopLimit\":2,"
                      "\"httpEndpoint\":\"enabled\"}}",
                   rn(r, 256), rn(r, 256));
    }
    buf_printf(b, "]}}");
}

static void req_console_login(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "null");
}

static void resp_console_login(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"ConsoleLogin\":\"%s\"}", rn(r, 10) ? "Success" : "Failure");
}

static void req_create_user(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"userName\":\"svc-");
    hex(b, r, 6);
    buf_printf(b, "\",\"tags\":[{\"key\":\"owner\",\"value\":\"%s\"}]}", PICK(r, users));
}

static void resp_create_user(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"user\":{\"path\":\"/\",\"userName\":\"svc\",\"userId\":\"AIDA");
    upper(b, r, 17);
    buf_printf(b, "\",\"arn\":\"arn:aws:iam::%s:user/svc\",\"createDate\":\"Mar 4, 2024, "
                  "1:00:00 AM\"}}",
               acct);
}

static void req_put_bucket_policy(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"bucketName\":\"%s\",\"Host\":\"s3.amazonaws.com\",\"bucketPolicy\":{"
                  "\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowRead\",\"Effect\":"
                  "\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::%s:root\",\"*\"]},\"Action\":"
                  "[\"s3:GetObject\",\"s3:ListBucket\"],\"Resource\":[\"arn:aws:s3:::b/*\","
                  "\"arn:aws:s3:::b\"],\"Condition\":{\"StringEquals\":{\"aws:SourceVpce\":"
                  "\"vpce-%u\"}}}]},\"policy\":\"\"}",
               PICK(r, buckets), acct, rn(r, 1000));
}

static void req_lambda_invoke(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"functionName\":\"arn:aws:lambda:%s:%s:function:fn-%u\",\"invocationType\":"
                  "\"Event\",\"logType\":\"None\",\"qualifier\":\"$LATEST\"}",
               region, acct, rn(r, 50));
}

static void req_get_secret(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"secretId\":\"arn:aws:secretsmanager:%s:%s:secret:prod/db-%u-",
               region, acct, rn(r, 10));
    b64(b, r, 6);
    buf_printf(b, "\",\"versionStage\":\"AWSCURRENT\"}");
}

static void req_put_events(struct buf *b, struct rng *r, const char *acct, const char *region)
{
    buf_printf(b, "{\"logGroupName\":\"/aws/lambda/fn-%u\",\"logStreamName\":\"2024/03/04/[$LATEST]",
               rn(r, 50));
    hex(b, r, 32);
    buf_printf(b, "\"}");
}

static const struct api apis[] = {
    { "sts.amazonaws.com", "AssumeRole", 141, req_assume_role, resp_assume_role, false },
    { "kms.amazonaws.com", "Decrypt", 122, req_kms, resp_null, true },
    { "s3.amazonaws.com", "GetObject", 80, req_s3_obj, resp_null, true },
    { "kms.amazonaws.com", "GenerateDataKey", 61, req_gen_key, resp_null, true },
    { "ec2.amazonaws.com", "DescribeInstances", 61, req_describe_instances, resp_null, true },
    { "s3.amazonaws.com", "PutObject", 50, req_s3_obj, resp_null, false },
    { "logs.amazonaws.com", "PutLogEvents", 45, req_put_events, resp_null, false },
    { "lambda.amazonaws.com", "Invoke", 40, req_lambda_invoke, resp_null, false },
    { "secretsmanager.amazonaws.com", "GetSecretValue", 25, req_get_secret, resp_null, true },
    { "s3.amazonaws.com", "ListBuckets", 20, req_list_buckets, resp_null, true },
    { "ec2.amazonaws.com", "RunInstances", 8, req_run_instances, resp_run_instances, false },
    { "iam.amazonaws.com", "CreateUser", 4, req_create_user, resp_create_user, false },
    { "s3.amazonaws.com", "PutBucketPolicy", 3, req_put_bucket_policy, resp_null, false },
    { "signin.amazonaws.com", "ConsoleLogin", 3, req_console_login, resp_console_login, false },
};

static void record(struct buf *b, struct rng *r)
{
    unsigned total = 0;
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        total += apis[i].weight;
    unsigned w = rn(r, total);
    const struct api *a = &apis[0];
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
        if (w < apis[i].weight) {
            a = &apis[i];
            break;
        }
        w -= apis[i].weight;
    }
    const char *acct = PICK(r, accounts);
    const char *region = PICK(r, regions);
    bool service;
    buf_printf(b, "{\"eventVersion\":\"1.0%u\",\"userIdentity\":", 8 + rn(r, 2));
    identity(b, r, acct, &service);
    buf_printf(b, ",\"eventTime\":\"2024-03-%02uT%02u:%02u:%02uZ\",\"eventSource\":\"%s\","
                  "\"eventName\":\"%s\",\"awsRegion\":\"%s\",\"sourceIPAddress\":\"",
               1 + rn(r, 28), rn(r, 24), rn(r, 60), rn(r, 60), a->source, a->name, region);
    if (service)
        buf_printf(b, "%s", a->source);
    else
        ip(b, r);
    buf_printf(b, "\",\"userAgent\":\"%s\",", service ? a->source : PICK(r, agents));
    bool error = rn(r, 100) < 6;
    if (error)
        buf_printf(b, "\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User: arn:aws:sts::%s:"
                      "assumed-role/x/y is not authorized to perform: %s\",",
                   acct, a->name);
    buf_printf(b, "\"requestParameters\":");
    a->req(b, r, acct, region);
    buf_printf(b, ",\"responseElements\":");
    if (error)
        buf_printf(b, "null");
    else
        a->resp(b, r, acct, region);
    if (strcmp(a->source, "s3.amazonaws.com") == 0)
        buf_printf(b, ",\"additionalEventData\":{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":"
                      "\"ECDHE-RSA-AES128-GCM-SHA256\",\"bytesTransferredIn\":0,"
                      "\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"%s\","
                      "\"bytesTransferredOut\":%u}",
                   "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4", rn(r, 100000));
    buf_printf(b, ",\"requestID\":\"");
    uuid(b, r);
    buf_printf(b, "\",\"eventID\":\"");
    uuid(b, r);
    buf_printf(b, "\",\"readOnly\":%s", a->read_only ? "true" : "false");
    if (rn(r, 3) != 0) {
        buf_printf(b, ",\"resources\":[{\"accountId\":\"%s\",\"type\":\"AWS::KMS::Key\",\"ARN\":"
                      "\"arn:aws:kms:%s:%s:key/",
                   acct, region, acct);
        uuid(b, r);
        buf_printf(b, "\"}");
        if (rn(r, 2))
            buf_printf(b, ",{\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::%s\"}",
                       PICK(r, buckets));
        buf_putc(b, ']');
    }
    buf_printf(b, ",\"eventType\":\"%s\",\"managementEvent\":%s,\"recipientAccountId\":\"%s\"",
               service ? "AwsServiceEvent" : "AwsApiCall",
               strcmp(a->source, "s3.amazonaws.com") == 0 ? "false" : "true", acct);
    if (rn(r, 10) == 0)
        buf_printf(b, ",\"sharedEventID\":\"%s\"", "5f1e8c2a-0c8a-4a4b-9b1e-3c2f1a0b9d7e");
    buf_printf(b, ",\"eventCategory\":\"%s\"",
               strcmp(a->source, "s3.amazonaws.com") == 0 ? "Data" : "Management");
    if (!service)
        buf_printf(b, ",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.%u\",\"cipherSuite\":"
                      "\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"%s\"}",
                   2 + rn(r, 2), a->source);
    buf_putc(b, '}');
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct corpus {
    struct buf text;
    size_t *off; /* n + 1 offsets */
    size_t n;
};

/* mode: 0 skip, 1 flatten all, 2 flatten with the path set. Returns seconds;
 * *leaves_out gets the leaves produced. */
static double run(const struct corpus *c, int mode, const struct json_pathset *ps, size_t *leaves_out)
{
    struct arena arena;
    struct json_flat flat;
    struct err e;
    size_t leaves = 0;
    arena_init(&arena, 0);
    json_flat_init(&flat);
    double t0 = now();
    for (size_t i = 0; i < c->n; i++) {
        const char *p = c->text.p + c->off[i];
        size_t len = c->off[i + 1] - c->off[i];
        int rc;
        if (mode == 0) {
            size_t pos = 0;
            rc = json_skip_value(p, len, &pos, &e);
        } else {
            rc = json_flatten(p, len, mode == 2 ? ps : NULL, &arena, &flat, &e);
            leaves += flat.n;
        }
        if (rc != 0) {
            fprintf(stderr, "record %zu: %s at %llu\n", i, e.msg, (unsigned long long)e.offset);
            exit(1);
        }
        if (i % 1000 == 999)
            arena_reset(&arena);
    }
    double t = now() - t0;
    json_flat_free(&flat);
    arena_free(&arena);
    *leaves_out = leaves;
    return t;
}

/* Appends the elements of each file's Records array to out, one record each. */
static void load_dir(const char *dir, struct buf *out, size_t **offs, size_t *n_out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0, cap = 1024;
    size_t *off = xmalloc(cap * sizeof(*off));
    if (d == NULL) {
        fprintf(stderr, "bench_json: cannot open %s\n", dir);
        exit(1);
    }
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 5, ".json") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        struct buf text;
        char chunk[65536];
        size_t got;
        buf_init(&text, 0);
        while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
            buf_append(&text, chunk, got);
        fclose(f);
        const char *rec = text.p ? strstr(text.p, "\"Records\"") : NULL;
        const char *open = rec ? strchr(rec, '[') : NULL;
        size_t pos = open ? (size_t)(open - text.p) + 1 : text.len;
        while (pos < text.len) {
            while (pos < text.len && (text.p[pos] == ' ' || text.p[pos] == '\n' || text.p[pos] == ','))
                pos++;
            if (pos >= text.len || text.p[pos] == ']')
                break;
            size_t start = pos;
            if (json_skip_value(text.p, text.len, &pos, NULL) != 0)
                break;
            if (n + 1 >= cap) {
                cap *= 2;
                off = xrealloc(off, cap * sizeof(*off));
            }
            off[n++] = out->len;
            buf_append(out, text.p + start, pos - start);
        }
        buf_free(&text);
    }
    closedir(d);
    off[n] = out->len;
    *offs = off;
    *n_out = n;
}

int main(int argc, char **argv)
{
    size_t n = 100000;
    int runs = 5;
    const char *mode = "all";
    uint64_t seed = 42;
    const char *dir = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-r") == 0)
            runs = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-m") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "-s") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-d") == 0)
            dir = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_json [-n records] [-r runs] [-m all|skip|flatten|pathset] "
                            "[-s seed] [-d dir]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 100 || n == 0) {
        fprintf(stderr, "bench_json: bad -n or -r\n");
        return 2;
    }

    struct corpus c;
    struct rng r = { seed };
    buf_init(&c.text, 0);
    if (dir != NULL) {
        struct buf one;
        size_t *o, k;
        buf_init(&one, 0);
        load_dir(dir, &one, &o, &k);
        if (k == 0) {
            fprintf(stderr, "bench_json: no records in %s\n", dir);
            return 1;
        }
        c.off = xmalloc((n + 1) * sizeof(*c.off));
        for (size_t i = 0; i < n; i++) {
            c.off[i] = c.text.len;
            buf_append(&c.text, one.p + o[i % k], o[i % k + 1] - o[i % k]);
        }
        printf("real records from %s: %zu distinct\n", dir, k);
        free(o);
        buf_free(&one);
    } else {
        c.off = xmalloc((n + 1) * sizeof(*c.off));
        for (size_t i = 0; i < n; i++) {
            c.off[i] = c.text.len;
            record(&c.text, &r);
        }
    }
    c.n = n;
    c.off[n] = c.text.len;
    double mb = (double)c.text.len / 1e6;
    printf("corpus: %zu records, %.1f MB, %.0f bytes/record on average\n", n, mb,
           (double)c.text.len / (double)n);

    /* The fields event normalisation reads plus a few rule paths. */
    static const char *const want[] = {
        "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
        "errorCode", "eventID", "recipientAccountId", "userIdentity.type", "userIdentity.arn",
        "userIdentity.accessKeyId", "userIdentity.principalId", "userIdentity.userName",
        "userIdentity.sessionContext.sessionIssuer.userName", "requestParameters.bucketName",
        "requestParameters.roleArn", "resources.ARN", "responseElements.ConsoleLogin",
        "additionalEventData.MFAUsed",
    };
    struct json_pathset *ps = json_pathset_new();
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        json_pathset_add(ps, want[i], strlen(want[i]));

    static const char *const names[] = { "skip", "flatten", "pathset" };
    for (int m = 0; m < 3; m++) {
        if (strcmp(mode, "all") != 0 && strcmp(mode, names[m]) != 0)
            continue;
        double t[100];
        size_t leaves = 0;
        for (int k = 0; k < runs; k++)
            t[k] = run(&c, m, ps, &leaves);
        qsort(t, (size_t)runs, sizeof(double), cmp_double);
        double med = t[runs / 2];
        printf("%-8s %8.0f MB/s %10.0f records/s  (min-max %.0f-%.0f MB/s, %.1f leaves/record, "
               "%d runs)\n",
               names[m], mb / med, (double)n / med, mb / t[runs - 1], mb / t[0],
               (double)leaves / (double)n, runs);
    }
    json_pathset_free(ps);
    free(c.off);
    buf_free(&c.text);
    return 0;
}
