/*
 * vigil-gen-corpus: writes a deterministic, realistic benchmark corpus in the
 * exact layout and formats AWS delivers to S3, gzip-compressed with libdeflate
 * (level 6, as the AWS delivery pipeline roughly does):
 *
 *   AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/
 *       <acct>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 chars>.json.gz
 *       {"Records":[...]} with compact records (~1.4 KB mean)
 *   AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/
 *       <acct>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHMMZ>_<8 hex>.log.gz
 *       VPC Flow Logs v2, default format, with its header line
 *   AWSLogs/<acct>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/
 *       <acct>_vpcdnsquerylogs_<vpc-id>_<YYYYMMDDTHHMMZ>_<8 hex>.log.gz
 *       Route 53 Resolver query logs, one JSON object per line
 *
 * The traffic is an ordinary day of three accounts: the API mix, identities,
 * source addresses and user agents of perf-limits.md §1. Identities behave
 * consistently (an instance role is only used from its instance, a Lambda role
 * only from AWS addresses, humans from their office with MFA) so that the
 * built-in rules can be checked to stay quiet on it. Sensitive calls
 * (StopLogging, public bucket policies, 0.0.0.0/0 on port 22, access keys made
 * for someone else, console logins without MFA, pentest user agents, threat-list
 * addresses) appear only with --with-attacks, which injects a handful of them.
 *
 * Determinism: every file's bytes depend only on the options, the seed and the
 * file's index, never on the number of jobs or the order they run in.
 *
 * Besides the logs, the output directory gets MANIFEST (key=value totals) and
 * files.tsv (one line per file: kind, records, raw bytes, gzip bytes,
 * ConsoleLogin records, path), which bench/run.sh reads to compute rates.
 */
#include "core/core.h"

#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MAX_ACCTS 16
#define MAX_REGIONS 8
#define N_INST 24
#define GZ_LEVEL 6
/* Bump whenever the bytes written for the same options change: bench/run.sh keys
 * its cached corpus on it. */
#define GEN_VERSION 2

/* ---- random numbers ------------------------------------------------------ */

/* splitmix64: tiny, fast, and good enough for synthetic data. */
struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    struct rng r = { a ^ (b * 0xd6e8feb86659fd93ULL) };
    rng_next(&r);
    return rng_next(&r);
}

static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c) { return mix(mix(a, b), c); }

static uint64_t hstr(const char *s) { return hash64(s, strlen(s), 0x5eed); }

static uint32_t below(struct rng *r, uint32_t n) { return (uint32_t)(((rng_next(r) >> 32) * n) >> 32); }

static double unit(struct rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

static bool chance(struct rng *r, double p) { return unit(r) < p; }

static uint32_t range(struct rng *r, uint32_t lo, uint32_t hi) { return lo + below(r, hi - lo + 1); }

/* Heavy-tailed sizes (packets, bytes): mostly small, a few large. */
static uint64_t heavy(struct rng *r, double lo, double hi)
{
    double u = unit(r);
    double v = lo * __builtin_pow(hi / lo, u * u * u);
    return (uint64_t)v;
}

/* ---- output helpers ------------------------------------------------------- */

static void put(struct buf *b, const char *s)
{
    if (buf_append_cstr(b, s) != 0)
        abort();
}

static void putn(struct buf *b, const char *s, size_t n)
{
    if (buf_append(b, s, n) != 0)
        abort();
}

static void putc1(struct buf *b, char c)
{
    if (buf_putc(b, c) != 0)
        abort();
}

static void putu(struct buf *b, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    putn(b, tmp + sizeof(tmp) - n, n);
}

/* Writes "key": the caller adds the value. `first` suppresses the comma. */
static void key(struct buf *b, const char *k)
{
    if (b->len > 0 && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[')
        putc1(b, ',');
    putc1(b, '"');
    put(b, k);
    put(b, "\":");
}

static void kstr(struct buf *b, const char *k, const char *v)
{
    key(b, k);
    putc1(b, '"');
    put(b, v);
    putc1(b, '"');
}

static void kraw(struct buf *b, const char *k, const char *v)
{
    key(b, k);
    put(b, v);
}

static void knum(struct buf *b, const char *k, uint64_t v)
{
    key(b, k);
    putu(b, v);
}

static void kopen(struct buf *b, const char *k, char brace)
{
    key(b, k);
    putc1(b, brace);
}

static void comma(struct buf *b)
{
    if (b->len > 0 && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[')
        putc1(b, ',');
}

static const char HEXL[] = "0123456789abcdef";
static const char HEXU[] = "0123456789ABCDEF";
static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_chars(struct buf *b, struct rng *r, const char *alpha, size_t alen, size_t n)
{
    if (buf_reserve(b, n) != 0)
        abort();
    for (size_t i = 0; i < n; i++)
        b->p[b->len + i] = alpha[below(r, (uint32_t)alen)];
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_hex(struct buf *b, struct rng *r, size_t n) { put_chars(b, r, HEXL, 16, n); }

/* The same string every time for the same h: stable ids for stable things. */
static void put_stable(struct buf *b, uint64_t h, const char *alpha, size_t alen, size_t n)
{
    struct rng r = { h };
    put_chars(b, &r, alpha, alen, n);
}

static void put_uuid_r(struct buf *b, struct rng *r)
{
    put_hex(b, r, 8);
    putc1(b, '-');
    put_hex(b, r, 4);
    put(b, "-4");
    put_hex(b, r, 3);
    putc1(b, '-');
    putc1(b, "89ab"[below(r, 4)]);
    put_hex(b, r, 3);
    putc1(b, '-');
    put_hex(b, r, 12);
}

static void put_uuid_h(struct buf *b, uint64_t h)
{
    struct rng r = { h };
    put_uuid_r(b, &r);
}

static void put_iso(struct buf *b, int64_t ms)
{
    char t[32];
    size_t n = time_format_iso8601(ms, false, t);
    putn(b, t, n);
}

/* "Nov 20, 2026, 1:23:45 PM": the format STS writes for expirations. */
static void put_sts_time(struct buf *b, int64_t ms)
{
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char t[32];
    time_format_iso8601(ms, false, t);
    unsigned y = (unsigned)((t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0'));
    unsigned mo = (unsigned)((t[5] - '0') * 10 + (t[6] - '0'));
    unsigned d = (unsigned)((t[8] - '0') * 10 + (t[9] - '0'));
    unsigned h = (unsigned)((t[11] - '0') * 10 + (t[12] - '0'));
    put(b, mon[(mo - 1) % 12]);
    putc1(b, ' ');
    putu(b, d);
    put(b, ", ");
    putu(b, y);
    put(b, ", ");
    putu(b, h % 12 == 0 ? 12 : h % 12);
    putc1(b, ':');
    putn(b, t + 14, 5);
    put(b, h < 12 ? " AM" : " PM");
}

/* "20261120T1035Z" */
static void stamp(int64_t ms, char out[16])
{
    char t[32];
    time_format_iso8601(ms, false, t);
    memcpy(out, t, 4);
    memcpy(out + 4, t + 5, 2);
    memcpy(out + 6, t + 8, 2);
    out[8] = 'T';
    memcpy(out + 9, t + 11, 2);
    memcpy(out + 11, t + 14, 2);
    out[13] = 'Z';
    out[14] = '\0';
}

/* ---- the world: accounts, regions, networks ------------------------------ */

struct region_def {
    const char *name;
    const char *aws_prefix[6]; /* AWS-owned public /16s of the region (EC2, NAT, Lambda) */
    const char *s3_prefix;
    const char *az_id; /* zone id prefix: use1-az1 */
};

static const struct region_def REGIONS[MAX_REGIONS] = {
    { "us-east-1", { "3.218", "52.4", "54.86", "18.204", "44.192", "35.170" }, "52.216", "use1" },
    { "eu-west-1", { "34.240", "52.18", "54.72", "3.248", "18.200", "99.80" }, "52.218", "euw1" },
    { "us-west-2", { "34.208", "52.24", "54.148", "35.160", "44.224", "18.236" }, "52.92", "usw2" },
    { "eu-central-1", { "3.120", "18.184", "52.28", "35.156", "3.64", "18.192" }, "52.219", "euc1" },
    { "ap-southeast-2", { "3.104", "13.236", "52.62", "54.66", "3.24", "13.54" }, "52.95", "apse2" },
    { "us-east-2", { "3.128", "18.216", "52.14", "3.16", "18.116", "3.136" }, "52.219", "use2" },
    { "ap-northeast-1", { "3.112", "13.112", "52.68", "54.64", "18.176", "35.72" }, "52.219", "apne1" },
    { "ca-central-1", { "3.96", "15.222", "35.182", "52.60", "99.79", "3.97" }, "52.95", "cac1" },
};

enum tier { TIER_WEB = 0, TIER_WORKER, TIER_CACHE };

struct instance {
    char id[24];
    char eni[24];
    char ip[16];
    char ip6[48];
    char host[48]; /* ip-10-1-2-3.ec2.internal */
    char az[24];
    enum tier tier;
};

struct vpc {
    char id[24];
    char fl_id[24];
    unsigned b2;            /* the VPC is 10.<b2>.0.0/16 */
    char v6_prefix[24];     /* 2600:1f18:xxxx:yy */
    struct instance inst[N_INST];
    char nat_ip[2][16];     /* NAT gateway EIPs: what Lambda/ECS egress shows */
    char lb_ip[4][16];      /* private IPs of the load balancer nodes */
    char lb_eni[4][24];
    char db_ip[3][16];      /* RDS / ElastiCache endpoints */
    char vpce_s3[24];
    char vpce_other[24];
};

struct acct {
    char id[16];
    char alias[24];
    struct vpc vpc[MAX_REGIONS];
    char office4[3][16];
    char office6[2][48];
    char ci_ip[3][16];      /* GitHub-hosted runners (Azure) */
    char integ_ip[2][16];   /* the monitoring SaaS, itself on AWS */
    char jenkins_ip[16];
};

struct world {
    uint64_t seed;
    unsigned n_acct, n_region;
    struct acct acct[MAX_ACCTS];
};

static const char *const ALIASES[] = { "acme-prod", "acme-staging", "acme-shared", "acme-dev",
                                       "acme-data", "acme-sandbox", "acme-security", "acme-logs" };

/* Moves what was built in tmp into a fixed field of the world (truncating at
 * cap, which the field sizes make unreachable) and empties tmp for the next one. */
static void take(char *out, size_t cap, struct buf *tmp)
{
    size_t n = tmp->len < cap - 1 ? tmp->len : cap - 1;
    memcpy(out, tmp->p, n);
    out[n] = '\0';
    buf_reset(tmp);
}

static void ip4(char *out, size_t cap, const char *prefix16, struct rng *r)
{
    struct buf t;
    buf_init(&t, 0);
    put(&t, prefix16);
    putc1(&t, '.');
    putu(&t, range(r, 0, 255));
    putc1(&t, '.');
    putu(&t, range(r, 1, 254));
    take(out, cap, &t);
    buf_free(&t);
}

static void world_build(struct world *w, uint64_t seed, unsigned n_acct, unsigned n_region)
{
    struct buf t;
    buf_init(&t, 0);
    memset(w, 0, sizeof(*w));
    w->seed = seed;
    w->n_acct = n_acct;
    w->n_region = n_region;
    static const char *const office_prefix[] = { "81.2.69", "86.151.114", "24.60.142", "73.158.20",
                                                 "92.40.178", "88.198.30", "2.125.160", "77.68.19" };
    static const char *const office6_prefix[] = { "2a02:8108:1cc0:4a00", "2601:646:8e00:1b70",
                                                  "2a01:4b00:8e3c:c700", "2600:1700:3d40:6a10" };
    static const char *const azure_prefix[] = { "20.57", "4.175", "52.234", "20.102" };
    for (unsigned a = 0; a < n_acct; a++) {
        struct acct *ac = &w->acct[a];
        struct rng r = { mix3(seed, 0xacc7, a) };
        putu(&t, 100000000000ULL + rng_next(&r) % 900000000000ULL);
        take(ac->id, sizeof(ac->id), &t);
        if (a < sizeof(ALIASES) / sizeof(ALIASES[0])) {
            put(&t, ALIASES[a]);
        } else {
            put(&t, "acme-acct");
            putu(&t, a);
        }
        take(ac->alias, sizeof(ac->alias), &t);
        for (unsigned i = 0; i < 3; i++) {
            put(&t, office_prefix[(a * 3 + i) % 8]);
            putc1(&t, '.');
            putu(&t, range(&r, 2, 250));
            take(ac->office4[i], sizeof(ac->office4[i]), &t);
        }
        for (unsigned i = 0; i < 2; i++) {
            put(&t, office6_prefix[(a * 2 + i) % 4]);
            put(&t, ":");
            put_hex(&t, &r, 4);
            put(&t, ":");
            put_hex(&t, &r, 4);
            put(&t, ":");
            put_hex(&t, &r, 4);
            put(&t, ":");
            put_hex(&t, &r, 4);
            take(ac->office6[i], sizeof(ac->office6[i]), &t);
        }
        for (unsigned i = 0; i < 3; i++)
            ip4(ac->ci_ip[i], sizeof(ac->ci_ip[i]), azure_prefix[(a + i) % 4], &r);
        ip4(ac->integ_ip[0], 16, "3.233", &r);
        ip4(ac->integ_ip[1], 16, "54.152", &r);
        ip4(ac->jenkins_ip, 16, REGIONS[0].aws_prefix[2], &r);
        for (unsigned g = 0; g < n_region; g++) {
            struct vpc *v = &ac->vpc[g];
            struct rng rv = { mix3(seed, mix(0x7bc, a), g) };
            v->b2 = (a * 16 + g * 2) % 250;
            put(&t, "vpc-0");
            put_hex(&t, &rv, 16);
            take(v->id, sizeof(v->id), &t);
            put(&t, "fl-0");
            put_hex(&t, &rv, 16);
            take(v->fl_id, sizeof(v->fl_id), &t);
            put(&t, "2600:1f");
            put_hex(&t, &rv, 2);
            putc1(&t, ':');
            put_hex(&t, &rv, 4);
            putc1(&t, ':');
            put_hex(&t, &rv, 2);
            take(v->v6_prefix, sizeof(v->v6_prefix), &t);
            for (unsigned i = 0; i < 2; i++)
                ip4(v->nat_ip[i], 16, REGIONS[g].aws_prefix[i], &rv);
            for (unsigned i = 0; i < 4; i++) {
                put(&t, "10.");
                putu(&t, v->b2);
                put(&t, i % 2 ? ".1." : ".0.");
                putu(&t, range(&rv, 10, 250));
                take(v->lb_ip[i], 16, &t);
                put(&t, "eni-0");
                put_hex(&t, &rv, 16);
                take(v->lb_eni[i], 24, &t);
            }
            for (unsigned i = 0; i < 3; i++) {
                put(&t, "10.");
                putu(&t, v->b2);
                put(&t, ".20.");
                putu(&t, range(&rv, 10, 250));
                take(v->db_ip[i], 16, &t);
            }
            put(&t, "vpce-0");
            put_hex(&t, &rv, 16);
            take(v->vpce_s3, 24, &t);
            put(&t, "vpce-0");
            put_hex(&t, &rv, 16);
            take(v->vpce_other, 24, &t);
            for (unsigned i = 0; i < N_INST; i++) {
                struct instance *in = &v->inst[i];
                in->tier = i < 8 ? TIER_WEB : i < 20 ? TIER_WORKER : TIER_CACHE;
                put(&t, "i-0");
                put_hex(&t, &rv, 16);
                take(in->id, sizeof(in->id), &t);
                put(&t, "eni-0");
                put_hex(&t, &rv, 16);
                take(in->eni, sizeof(in->eni), &t);
                unsigned sub = 10 + (i % 3) * 2 + (in->tier == TIER_WEB ? 0 : 1);
                unsigned host = range(&rv, 4, 250);
                put(&t, "10.");
                putu(&t, v->b2);
                putc1(&t, '.');
                putu(&t, sub);
                putc1(&t, '.');
                putu(&t, host);
                take(in->ip, sizeof(in->ip), &t);
                put(&t, v->v6_prefix);
                putu(&t, sub);
                put(&t, ":");
                put_hex(&t, &rv, 4);
                put(&t, ":");
                put_hex(&t, &rv, 4);
                put(&t, ":");
                put_hex(&t, &rv, 4);
                put(&t, ":");
                put_hex(&t, &rv, 4);
                take(in->ip6, sizeof(in->ip6), &t);
                put(&t, "ip-10-");
                putu(&t, v->b2);
                putc1(&t, '-');
                putu(&t, sub);
                putc1(&t, '-');
                putu(&t, host);
                put(&t, g == 0 ? ".ec2.internal" : ".");
                if (g != 0) {
                    put(&t, REGIONS[g].name);
                    put(&t, ".compute.internal");
                }
                take(in->host, sizeof(in->host), &t);
                put(&t, REGIONS[g].name);
                putc1(&t, "abc"[i % 3]);
                take(in->az, sizeof(in->az), &t);
            }
        }
    }
    buf_free(&t);
}

/* ---- identities ---------------------------------------------------------- */

enum cls {
    C_SSO_ADMIN = 0, /* humans through IAM Identity Center, admin permission set */
    C_SSO_RO,        /* same, read-only */
    C_EC2,           /* EC2 instance profile role: session name = instance id */
    C_LAMBDA,        /* Lambda execution role: session name = function name */
    C_ECS,           /* ECS task role: session name = task id */
    C_CI,            /* GitHub Actions OIDC deploy role */
    C_TF,            /* Terraform run by a human */
    C_INTEG,         /* monitoring SaaS cross-account role */
    C_SLR_AS,        /* AutoScaling service-linked role */
    C_SLR_CFG,       /* AWS Config service-linked role */
    C_IAMSVC,        /* IAM users with long-term AKIA keys (service accounts) */
    C_IAMHUMAN,      /* IAM users who sign in to the console with MFA */
    C_ROOT,
    C_SVC,           /* an AWS service acting itself (userIdentity.type AWSService) */
    C_COUNT
};

#define M(c) (1u << (c))
#define HUMANS (M(C_SSO_ADMIN) | M(C_SSO_RO) | M(C_IAMHUMAN) | M(C_ROOT))
#define READERS (HUMANS | M(C_INTEG) | M(C_SLR_CFG) | M(C_TF))
#define APPS (M(C_EC2) | M(C_LAMBDA) | M(C_ECS))

struct principal {
    enum cls cls;
    const char *name; /* role or user name */
    const char *path; /* role path */
    unsigned weight;
    const char *invoked_by; /* service-linked roles */
    const char *const *sessions;
};

static const char *const HUMAN_NAMES[] = { "alice.martin", "bob.nguyen", "carol.schmidt",
                                           "dave.okafor", "erin.kowalski", "frank.li" };
static const char *const FN_THUMB[] = { "thumbnailer-resize", "thumbnailer-watermark", NULL };
static const char *const FN_INGEST[] = { "ingest-events-http", "ingest-events-kinesis",
                                         "ingest-events-compact", "config-rule-tagging", NULL };

static const struct principal PRINCIPALS[] = {
    { C_SSO_ADMIN, "AWSReservedSSO_AdministratorAccess_4c1a9e3f27d8b605", "/aws-reserved/sso.amazonaws.com/", 18, NULL, NULL },
    { C_SSO_RO, "AWSReservedSSO_ReadOnlyAccess_9b2e71d04a6c3f58", "/aws-reserved/sso.amazonaws.com/", 14, NULL, NULL },
    { C_EC2, "web-ec2-instance-role", "/", 26, NULL, NULL },
    { C_EC2, "worker-ec2-instance-role", "/", 24, NULL, NULL },
    { C_ECS, "orders-api-task-role", "/service-role/", 16, NULL, NULL },
    { C_ECS, "payments-worker-task-role", "/service-role/", 10, NULL, NULL },
    { C_LAMBDA, "thumbnailer-lambda-role", "/service-role/", 12, NULL, FN_THUMB },
    { C_LAMBDA, "ingest-events-lambda-role", "/service-role/", 14, NULL, FN_INGEST },
    { C_CI, "github-actions-deploy", "/", 10, NULL, NULL },
    { C_TF, "terraform-admin", "/", 6, NULL, NULL },
    { C_INTEG, "DatadogIntegrationRole", "/", 16, NULL, NULL },
    { C_SLR_AS, "AWSServiceRoleForAutoScaling", "/aws-service-role/autoscaling.amazonaws.com/", 4, "autoscaling.amazonaws.com", NULL },
    { C_SLR_CFG, "AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/", 10, "config.amazonaws.com", NULL },
    { C_IAMSVC, "svc-backup", NULL, 14, NULL, NULL },
    { C_IAMSVC, "jenkins", NULL, 14, NULL, NULL },
    { C_IAMSVC, "legacy-reporting", NULL, 12, NULL, NULL },
    { C_IAMHUMAN, "alice.martin", NULL, 10, NULL, NULL },
    { C_IAMHUMAN, "bob.nguyen", NULL, 8, NULL, NULL },
    { C_ROOT, NULL, NULL, 9, NULL, NULL },
    { C_SVC, NULL, NULL, 60, NULL, NULL },
};
#define N_PRINC (sizeof(PRINCIPALS) / sizeof(PRINCIPALS[0]))

/* User agents, as they appear in real trails. */
enum ua {
    UA_CLI_LINUX = 0, UA_CLI_MAC, UA_CLI_V1, UA_BOTO_EC2, UA_BOTO_LAMBDA, UA_JAVA, UA_GO_V2, UA_NODE,
    UA_SSM_AGENT, UA_TERRAFORM, UA_CONSOLE, UA_CHROME, UA_S3_CONSOLE, UA_GO_V1, UA_FIREFOX, UA_BOTO_OLD, UA_COUNT
};

static const char *const UAS[UA_COUNT] = {
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/s3.cp",
    "aws-cli/2.13.25 Python/3.11.5 Darwin/23.1.0 exe/x86_64 prompt/off command/sts.get-caller-identity",
    "aws-cli/1.29.62 Python/3.9.18 Linux/5.15.0-1051-aws botocore/1.31.62",
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.1.72-96.166.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51",
    "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209-219.812.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42",
    "aws-sdk-java/2.21.29 Linux/5.10.205-195.807.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE",
    "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.47.5",
    "aws-sdk-js/3.484.0 ua/2.0 os/linux#5.10.201-191.748.amzn2.x86_64 lang/js md/nodejs#20.10.0 api/dynamodb#3.484.0",
    "aws-sdk-go/1.44.260 (go1.20.10; linux; amd64) amazon-ssm-agent/3.2.1798.0",
    "APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.141.0",
    "AWS Internal",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184-153.731.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]",
    "aws-sdk-go/1.49.6 (go1.21.5; linux; amd64)",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Boto3/1.26.165 Python/3.10.12 Linux/6.2.0-1017-aws Botocore/1.29.165",
};

static const char UA_KALI[] =
    "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0-kali5-amd64 exe/x86_64.kali.2023 prompt/off command/s3api.list-buckets";
static const char ATTACKER_IP[] = "203.0.113.66"; /* on examples/threats.txt */
static const char OUTSIDE_IP[] = "198.51.100.23";  /* outside AWS, on no list */

/* ---- CloudTrail ----------------------------------------------------------- */

struct gen; /* per-job state */

/* The record being written. Identity fields are chosen first, then the API's
 * generator fills the optional parts; empty buffers are written as null/absent. */
struct rec {
    struct rng *r;
    const struct world *w;
    const struct acct *a;
    const struct vpc *v;
    unsigned region;
    int64_t t; /* ms since the epoch */
    const struct principal *p;
    const struct instance *inst; /* EC2 sessions */
    const char *session;
    char session_buf[48];
    const char *svc;             /* C_SVC: the acting service */
    const char *ip;
    char ip_buf[48];
    const char *ua;
    bool console;                /* session came from the console */
    bool mfa;
    bool error;
    const char *err_code, *err_msg_fmt;
    bool data;                   /* S3 data event */
    bool read_only;
    bool shared;                 /* sharedEventID (cross-account/service) */
    const char *vpce;
    const char *event_type;
    unsigned bucket;             /* S3: the bucket the request named */
    struct buf req, resp, aed, res;
};

typedef void (*api_gen_fn)(struct rec *c);

enum api_flag { F_RO = 1, F_DATA = 2, F_GLOBAL = 4, F_LOGIN = 8 };

struct api {
    const char *src; /* without ".amazonaws.com" */
    const char *name;
    double weight;
    unsigned who;
    unsigned flags;
    api_gen_fn gen;
    const char *const *svcs; /* services that may call it as AWSService */
    const char *const *errs; /* code, message pairs, NULL-terminated */
};

static const char *const BUCKET_SUFFIX[] = { "app-assets", "data-lake", "user-uploads", "backups", "build-artifacts", "reports" };

static void put_bucket(struct buf *b, const struct rec *c, unsigned i)
{
    put(b, c->a->alias);
    putc1(b, '-');
    put(b, BUCKET_SUFFIX[i % 6]);
}

static void put_key_id(struct buf *b, const struct rec *c, unsigned k)
{
    put_uuid_h(b, mix3(hstr(c->a->id), c->region, k));
}

static void put_key_arn(struct buf *b, const struct rec *c, unsigned k)
{
    put(b, "arn:aws:kms:");
    put(b, REGIONS[c->region].name);
    putc1(b, ':');
    put(b, c->a->id);
    put(b, ":key/");
    put_key_id(b, c, k);
}

static void put_role_arn(struct buf *b, const struct rec *c, const struct principal *p)
{
    put(b, "arn:aws:iam::");
    put(b, c->a->id);
    put(b, ":role");
    put(b, p->path);
    put(b, p->name);
}

static void put_unique_id(struct buf *b, const char *prefix, const struct rec *c, const char *name)
{
    put(b, prefix);
    put_stable(b, mix(hstr(c->a->id), hstr(name)), B32, 32, 17);
}

/* Session access keys rotate hourly, as instance and task credentials do. */
static void put_session_key(struct buf *b, const struct rec *c)
{
    put(b, "ASIA");
    uint64_t h = mix3(hstr(c->a->id), hstr(c->p->name ? c->p->name : "root"),
                      mix(hstr(c->session ? c->session : ""), (uint64_t)(c->t / 3600000)));
    put_stable(b, h, B32, 32, 16);
}

static void put_enc_ctx(struct buf *b, const struct rec *c)
{
    kopen(b, "encryptionContext", '{');
    switch (below(c->r, 4)) {
    case 0:
        key(b, "aws:s3:arn");
        put(b, "\"arn:aws:s3:::");
        put_bucket(b, c, below(c->r, 6));
        put(b, "/");
        put_hex(b, c->r, 12);
        put(b, "\"");
        break;
    case 1:
        key(b, "aws:lambda:FunctionArn");
        put(b, "\"arn:aws:lambda:");
        put(b, REGIONS[c->region].name);
        putc1(b, ':');
        put(b, c->a->id);
        put(b, ":function:");
        put(b, FN_INGEST[below(c->r, 3)]);
        putc1(b, '"');
        break;
    case 2:
        key(b, "SecretARN");
        put(b, "\"arn:aws:secretsmanager:");
        put(b, REGIONS[c->region].name);
        putc1(b, ':');
        put(b, c->a->id);
        put(b, ":secret:prod/orders/db-");
        put_stable(b, mix(hstr(c->a->id), 7), ALNUM, 62, 6);
        put(b, "\",\"SecretVersionId\":\"");
        put_uuid_h(b, mix(hstr(c->a->id), (uint64_t)c->t / 86400000));
        putc1(b, '"');
        break;
    default:
        key(b, "aws:logs:arn");
        put(b, "\"arn:aws:logs:");
        put(b, REGIONS[c->region].name);
        putc1(b, ':');
        put(b, c->a->id);
        put(b, ":log-group:/aws/lambda/");
        put(b, FN_INGEST[below(c->r, 3)]);
        putc1(b, '"');
        break;
    }
    putc1(b, '}');
}

/* -- per-API generators: fill c->req / c->resp / c->aed / c->res -- */

static void g_null(struct rec *c) { (void)c; }

static void g_assume_role(struct rec *c)
{
    /* Services assume the role of their workload; people and CI assume admin/deploy roles. */
    const struct principal *target;
    const char *sess;
    char sbuf[64];
    struct buf t;
    buf_init(&t, 0);
    if (c->p->cls == C_SVC) {
        unsigned k = strcmp(c->svc, "lambda.amazonaws.com") == 0 ? 6 + below(c->r, 2)
                   : strcmp(c->svc, "ecs-tasks.amazonaws.com") == 0 ? 4 + below(c->r, 2)
                   : 2 + below(c->r, 2);
        target = &PRINCIPALS[k];
        if (target->cls == C_EC2) {
            put(&t, c->v->inst[below(c->r, N_INST)].id);
        } else if (target->cls == C_LAMBDA) {
            put(&t, target->sessions[0]);
        } else {
            put_hex(&t, c->r, 32);
        }
    } else if (c->p->cls == C_IAMSVC || c->p->cls == C_CI) {
        target = &PRINCIPALS[9]; /* terraform-admin */
        put(&t, "terraform-");
        put(&t, c->p->cls == C_CI ? "ci" : c->p->name);
    } else {
        /* people switching into the Terraform role from their SSO session */
        target = &PRINCIPALS[9];
        put(&t, "botocore-session-");
        putu(&t, (uint64_t)c->t / 1000);
    }
    size_t n = t.len < sizeof(sbuf) - 1 ? t.len : sizeof(sbuf) - 1;
    memcpy(sbuf, t.p, n);
    sbuf[n] = '\0';
    sess = sbuf;
    buf_free(&t);

    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "roleArn");
    putc1(q, '"');
    put_role_arn(q, c, target);
    putc1(q, '"');
    kstr(q, "roleSessionName", sess);
    if (target->cls != C_LAMBDA && target->cls != C_EC2)
        knum(q, "durationSeconds", 3600);
    putc1(q, '}');

    struct buf *s = &c->resp;
    putc1(s, '{');
    kopen(s, "credentials", '{');
    key(s, "accessKeyId");
    put(s, "\"ASIA");
    put_chars(s, c->r, B32, 32, 16);
    put(s, "\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE");
    put_chars(s, c->r, B64, 64, 200 + below(c->r, 320));
    put(s, "=\",\"expiration\":\"");
    put_sts_time(s, c->t + 3600000);
    put(s, "\"}");
    kopen(s, "assumedRoleUser", '{');
    key(s, "assumedRoleId");
    putc1(s, '"');
    put_unique_id(s, "AROA", c, target->name);
    putc1(s, ':');
    put(s, sess);
    put(s, "\",\"arn\":\"arn:aws:sts::");
    put(s, c->a->id);
    put(s, ":assumed-role/");
    put(s, target->name);
    putc1(s, '/');
    put(s, sess);
    put(s, "\"}}");

    struct buf *rs = &c->res;
    putc1(rs, '[');
    comma(rs);
    put(rs, "{\"accountId\":\"");
    put(rs, c->a->id);
    put(rs, "\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"");
    put_role_arn(rs, c, target);
    put(rs, "\"}]");
    if (c->p->cls == C_SVC)
        c->shared = true;
}

static void put_key_resource(struct rec *c)
{
    struct buf *rs = &c->res;
    put(rs, "[{\"accountId\":\"");
    put(rs, c->a->id);
    put(rs, "\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"");
    put_key_arn(rs, c, below(c->r, 3));
    put(rs, "\"}]");
}

static void g_decrypt(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    if (chance(c->r, 0.5)) {
        key(q, "keyId");
        putc1(q, '"');
        put_key_arn(q, c, below(c->r, 3));
        putc1(q, '"');
    }
    put_enc_ctx(q, c);
    kstr(q, "encryptionAlgorithm", "SYMMETRIC_DEFAULT");
    putc1(q, '}');
    put_key_resource(c);
    if (c->p->cls == C_SVC)
        c->shared = chance(c->r, 0.3);
}

static void g_gen_data_key(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "keyId");
    putc1(q, '"');
    if (chance(c->r, 0.5)) {
        put(q, "alias/");
        put(q, c->a->alias);
        put(q, "-data");
    } else {
        put_key_arn(q, c, below(c->r, 3));
    }
    putc1(q, '"');
    put_enc_ctx(q, c);
    kstr(q, "keySpec", "AES_256");
    putc1(q, '}');
    put_key_resource(c);
}

static void g_encrypt(struct rec *c) { g_gen_data_key(c); }

static void put_object_key(struct buf *b, struct rec *c)
{
    static const char *const dirs[] = { "img/", "uploads/2026/11/", "exports/daily/", "raw/events/dt=2026-11-20/",
                                        "thumbnails/", "artifacts/main/", "reports/q4/" };
    static const char *const ext[] = { ".jpg", ".png", ".json.gz", ".parquet", ".csv", ".tar.gz", ".pdf" };
    unsigned d = below(c->r, 7);
    put(b, dirs[d]);
    put_hex(b, c->r, 8 + below(c->r, 24));
    put(b, ext[d]);
}

static void s3_common(struct rec *c, const char *op, bool with_key, uint64_t in, uint64_t out)
{
    unsigned bk = below(c->r, 6);
    c->bucket = bk;
    if (c->error)
        in = out = 0;
    struct buf *q = &c->req;
    char keybuf[128];
    struct buf k;
    buf_init(&k, 0);
    if (with_key)
        put_object_key(&k, c);
    size_t kn = k.len < sizeof(keybuf) - 1 ? k.len : sizeof(keybuf) - 1;
    if (kn > 0)
        memcpy(keybuf, k.p, kn);
    keybuf[kn] = '\0';
    buf_free(&k);

    putc1(q, '{');
    key(q, "bucketName");
    putc1(q, '"');
    put_bucket(q, c, bk);
    putc1(q, '"');
    key(q, "Host");
    putc1(q, '"');
    put_bucket(q, c, bk);
    put(q, ".s3.");
    put(q, REGIONS[c->region].name);
    put(q, ".amazonaws.com\"");
    if (with_key)
        kstr(q, "key", keybuf);
    if (strcmp(op, "ListObjects") == 0) {
        kstr(q, "list-type", "2");
        kstr(q, "prefix", "exports/daily/");
        kstr(q, "delimiter", "/");
        kstr(q, "encoding-type", "url");
        kstr(q, "max-keys", "1000");
    }
    if (strcmp(op, "PutObject") == 0 && chance(c->r, 0.6))
        kstr(q, "x-amz-server-side-encryption", "aws:kms");
    putc1(q, '}');

    if (strcmp(op, "PutObject") == 0 && !c->error) {
        struct buf *s = &c->resp;
        putc1(s, '{');
        kstr(s, "x-amz-server-side-encryption", "aws:kms");
        key(s, "x-amz-server-side-encryption-aws-kms-key-id");
        putc1(s, '"');
        put_key_arn(s, c, 0);
        putc1(s, '"');
        kstr(s, "x-amz-server-side-encryption-bucket-key-enabled", "true");
        putc1(s, '}');
    }

    struct buf *e = &c->aed;
    putc1(e, '{');
    kstr(e, "SignatureVersion", "SigV4");
    kstr(e, "CipherSuite", "TLS_AES_128_GCM_SHA256");
    knum(e, "bytesTransferredIn", in);
    kstr(e, "AuthenticationMethod", "AuthHeader");
    key(e, "x-amz-id-2");
    putc1(e, '"');
    put_chars(e, c->r, B64, 64, 76);
    putc1(e, '"');
    knum(e, "bytesTransferredOut", out);
    putc1(e, '}');

    struct buf *rs = &c->res;
    putc1(rs, '[');
    if (with_key) {
        comma(rs);
        put(rs, "{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::");
        put_bucket(rs, c, bk);
        putc1(rs, '/');
        put(rs, keybuf);
        put(rs, "\"}");
    }
    comma(rs);
    put(rs, "{\"accountId\":\"");
    put(rs, c->a->id);
    put(rs, "\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::");
    put_bucket(rs, c, bk);
    put(rs, "\"}]");
    c->data = true;
    if (c->ip[0] == '1' && c->ip[1] == '0' && c->ip[2] == '.')
        c->vpce = c->v->vpce_s3;
}

static void g_get_object(struct rec *c) { s3_common(c, "GetObject", true, 0, heavy(c->r, 200, 8e6)); }
static void g_put_object(struct rec *c) { s3_common(c, "PutObject", true, heavy(c->r, 200, 8e6), 0); }
static void g_head_object(struct rec *c) { s3_common(c, "HeadObject", true, 0, 0); }
static void g_list_objects(struct rec *c) { s3_common(c, "ListObjects", false, 0, heavy(c->r, 300, 40000)); }

static void g_bucket_only(struct rec *c, const char *extra)
{
    unsigned bk = below(c->r, 6);
    c->bucket = bk;
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "bucketName");
    putc1(q, '"');
    put_bucket(q, c, bk);
    put(q, "\",\"Host\":\"");
    put_bucket(q, c, bk);
    put(q, ".s3.amazonaws.com\"");
    key(q, extra);
    put(q, "\"\"}");
    struct buf *e = &c->aed;
    putc1(e, '{');
    kstr(e, "SignatureVersion", "SigV4");
    kstr(e, "CipherSuite", "ECDHE-RSA-AES128-GCM-SHA256");
    knum(e, "bytesTransferredIn", 0);
    kstr(e, "AuthenticationMethod", "AuthHeader");
    key(e, "x-amz-id-2");
    putc1(e, '"');
    put_chars(e, c->r, B64, 64, 76);
    putc1(e, '"');
    knum(e, "bytesTransferredOut", 100 + below(c->r, 300));
    putc1(e, '}');
    struct buf *rs = &c->res;
    put(rs, "[{\"accountId\":\"");
    put(rs, c->a->id);
    put(rs, "\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::");
    put_bucket(rs, c, bk);
    put(rs, "\"}]");
}

static void g_bucket_location(struct rec *c) { g_bucket_only(c, "location"); }
static void g_bucket_acl(struct rec *c) { g_bucket_only(c, "acl"); }

static void g_list_buckets(struct rec *c)
{
    put(&c->req, "{\"Host\":\"s3.amazonaws.com\"}");
    struct buf *e = &c->aed;
    putc1(e, '{');
    kstr(e, "SignatureVersion", "SigV4");
    kstr(e, "CipherSuite", "TLS_AES_128_GCM_SHA256");
    knum(e, "bytesTransferredIn", 0);
    kstr(e, "AuthenticationMethod", "AuthHeader");
    key(e, "x-amz-id-2");
    putc1(e, '"');
    put_chars(e, c->r, B64, 64, 76);
    putc1(e, '"');
    knum(e, "bytesTransferredOut", 1200 + below(c->r, 800));
    putc1(e, '}');
}

static void g_describe_instances(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kopen(q, "instancesSet", '{');
    if (chance(c->r, 0.5)) {
        kopen(q, "items", '[');
        unsigned n = 1 + below(c->r, 3);
        for (unsigned i = 0; i < n; i++) {
            comma(q);
            put(q, "{\"instanceId\":\"");
            put(q, c->v->inst[below(c->r, N_INST)].id);
            put(q, "\"}");
        }
        putc1(q, ']');
    }
    putc1(q, '}');
    kopen(q, "filterSet", '{');
    if (chance(c->r, 0.4)) {
        put(q, "\"items\":[{\"name\":\"instance-state-name\",\"valueSet\":{\"items\":[{\"value\":\"running\"}]}}]");
    }
    putc1(q, '}');
    if (chance(c->r, 0.3))
        knum(q, "maxResults", 1000);
    putc1(q, '}');
}

static void g_describe_filter(struct rec *c, const char *set, const char *idprefix)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kopen(q, set, '{');
    if (chance(c->r, 0.3)) {
        kopen(q, "items", '[');
        put(q, "{\"");
        put(q, strcmp(set, "securityGroupIdSet") == 0 ? "groupId" : strcmp(set, "subnetSet") == 0 ? "subnetId"
               : strcmp(set, "volumeSet") == 0 ? "volumeId" : "networkInterfaceId");
        put(q, "\":\"");
        put(q, idprefix);
        put_hex(q, c->r, 16);
        put(q, "\"}]");
    }
    putc1(q, '}');
    kopen(q, "filterSet", '{');
    if (chance(c->r, 0.5)) {
        put(q, "\"items\":[{\"name\":\"vpc-id\",\"valueSet\":{\"items\":[{\"value\":\"");
        put(q, c->v->id);
        put(q, "\"}]}}]");
    }
    putc1(q, '}');
    putc1(q, '}');
}

static void g_describe_sg(struct rec *c) { g_describe_filter(c, "securityGroupIdSet", "sg-0"); }
static void g_describe_subnets(struct rec *c) { g_describe_filter(c, "subnetSet", "subnet-0"); }
static void g_describe_volumes(struct rec *c) { g_describe_filter(c, "volumeSet", "vol-0"); }
static void g_describe_enis(struct rec *c) { g_describe_filter(c, "networkInterfaceIdSet", "eni-0"); }

static void g_create_log_stream(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "logGroupName");
    if (c->p->cls == C_LAMBDA) {
        put(q, "\"/aws/lambda/");
        put(q, c->session);
        put(q, "\",\"logStreamName\":\"");
        char t[32];
        time_format_iso8601(c->t, false, t);
        putn(q, t, 4);
        putc1(q, '/');
        putn(q, t + 5, 2);
        putc1(q, '/');
        putn(q, t + 8, 2);
        put(q, "/[$LATEST]");
        put_hex(q, c->r, 32);
    } else if (c->p->cls == C_ECS) {
        put(q, "\"/ecs/");
        put(q, c->p->name[0] == 'o' ? "orders-api" : "payments-worker");
        put(q, "\",\"logStreamName\":\"ecs/app/");
        put(q, c->session);
    } else {
        put(q, "\"/var/log/messages\",\"logStreamName\":\"");
        put(q, c->inst ? c->inst->id : "unknown");
    }
    put(q, "\"}");
}

static void g_get_parameter(struct rec *c)
{
    static const char *const names[] = { "/app/prod/db/host", "/app/prod/db/port", "/app/prod/feature-flags",
                                         "/app/prod/orders/queue-url", "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
                                         "/app/prod/cache/endpoint", "/app/prod/payments/api-endpoint" };
    struct buf *q = &c->req;
    putc1(q, '{');
    kstr(q, "name", names[below(c->r, 7)]);
    kraw(q, "withDecryption", chance(c->r, 0.5) ? "true" : "false");
    putc1(q, '}');
}

static void g_get_parameters(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kopen(q, "names", '[');
    put(q, "\"/app/prod/db/host\",\"/app/prod/db/port\",\"/app/prod/db/name\"");
    putc1(q, ']');
    kraw(q, "withDecryption", "true");
    putc1(q, '}');
}

static void g_update_instance_information(struct rec *c)
{
    const struct instance *in = c->inst;
    struct buf *q = &c->req;
    putc1(q, '{');
    kstr(q, "instanceId", in->id);
    kstr(q, "agentVersion", "3.2.1798.0");
    kstr(q, "agentStatus", "Active");
    kstr(q, "platformType", "Linux");
    kstr(q, "platformName", "Amazon Linux");
    kstr(q, "platformVersion", "2023");
    kstr(q, "iPAddress", in->ip);
    kstr(q, "computerName", in->host);
    kstr(q, "agentName", "amazon-ssm-agent");
    kstr(q, "availabilityZone", in->az);
    key(q, "availabilityZoneId");
    putc1(q, '"');
    put(q, REGIONS[c->region].az_id);
    put(q, "-az");
    putu(q, 1 + (unsigned)(in->az[strlen(in->az) - 1] - 'a') * 2);
    put(q, "\"}");
}

static void g_describe_table(struct rec *c)
{
    static const char *const tables[] = { "orders", "sessions", "idempotency-keys", "payments-ledger", "terraform-locks" };
    struct buf *q = &c->req;
    putc1(q, '{');
    kstr(q, "tableName", tables[below(c->r, 5)]);
    putc1(q, '}');
    struct buf *rs = &c->res;
    put(rs, "[{\"accountId\":\"");
    put(rs, c->a->id);
    put(rs, "\",\"type\":\"AWS::DynamoDB::Table\",\"ARN\":\"arn:aws:dynamodb:");
    put(rs, REGIONS[c->region].name);
    putc1(rs, ':');
    put(rs, c->a->id);
    put(rs, ":table/orders\"}]");
}

static void g_iam_role(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kstr(q, "roleName", PRINCIPALS[2 + below(c->r, 9)].name);
    putc1(q, '}');
}

static void g_iam_policy(struct rec *c)
{
    static const char *const pol[] = { "AmazonS3ReadOnlyAccess", "CloudWatchAgentServerPolicy",
                                       "AmazonSSMManagedInstanceCore", "ReadOnlyAccess" };
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "policyArn");
    put(q, "\"arn:aws:iam::aws:policy/");
    put(q, pol[below(c->r, 4)]);
    put(q, "\"}");
}

static void g_iam_user(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kstr(q, "userName", PRINCIPALS[13 + below(c->r, 5)].name);
    putc1(q, '}');
}

static void g_list_roles(struct rec *c)
{
    put(&c->req, chance(c->r, 0.5) ? "{\"maxItems\":1000}" : "{\"pathPrefix\":\"/\",\"maxItems\":100}");
}

static void g_get_secret(struct rec *c)
{
    static const char *const sec[] = { "prod/orders/db", "prod/payments/stripe", "prod/ingest/api-token" };
    unsigned k = below(c->r, 3);
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "secretId");
    put(q, "\"arn:aws:secretsmanager:");
    put(q, REGIONS[c->region].name);
    putc1(q, ':');
    put(q, c->a->id);
    put(q, ":secret:");
    put(q, sec[k]);
    putc1(q, '-');
    put_stable(q, mix(hstr(c->a->id), k), ALNUM, 62, 6);
    put(q, "\"}");
}

static void g_metric_data(struct rec *c)
{
    static const char *const metrics[] = { "CPUUtilization", "NetworkIn", "NetworkOut", "StatusCheckFailed",
                                           "DiskReadOps", "RequestCount", "TargetResponseTime", "HTTPCode_Target_5XX_Count" };
    struct buf *q = &c->req;
    putc1(q, '{');
    kopen(q, "metricDataQueries", '[');
    unsigned n = 2 + below(c->r, 6);
    for (unsigned i = 0; i < n; i++) {
        comma(q);
        put(q, "{\"id\":\"m");
        putu(q, i);
        put(q, "\",\"metricStat\":{\"metric\":{\"namespace\":\"AWS/EC2\",\"metricName\":\"");
        put(q, metrics[below(c->r, 8)]);
        put(q, "\",\"dimensions\":[{\"name\":\"InstanceId\",\"value\":\"");
        put(q, c->v->inst[below(c->r, N_INST)].id);
        put(q, "\"}]},\"period\":60,\"stat\":\"Average\"},\"returnData\":true}");
    }
    putc1(q, ']');
    key(q, "startTime");
    putc1(q, '"');
    put_sts_time(q, c->t - 600000);
    putc1(q, '"');
    key(q, "endTime");
    putc1(q, '"');
    put_sts_time(q, c->t);
    putc1(q, '"');
    putc1(q, '}');
}

static void g_describe_alarms(struct rec *c)
{
    put(&c->req, chance(c->r, 0.5) ? "{\"maxRecords\":100}" : "{\"alarmNamePrefix\":\"prod-\",\"stateValue\":\"ALARM\"}");
}

static void g_lambda_fn(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kstr(q, "functionName", FN_INGEST[below(c->r, 4)]);
    putc1(q, '}');
}

static void g_list_functions(struct rec *c) { put(&c->req, "{\"maxItems\":50}"); }

static void g_log_groups(struct rec *c)
{
    put(&c->req, chance(c->r, 0.5) ? "{\"limit\":50}" : "{\"logGroupNamePrefix\":\"/aws/lambda/\"}");
}

static void g_target_health(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "targetGroupArn");
    put(q, "\"arn:aws:elasticloadbalancing:");
    put(q, REGIONS[c->region].name);
    putc1(q, ':');
    put(q, c->a->id);
    put(q, ":targetgroup/orders-api-tg/");
    put_stable(q, mix(hstr(c->a->id), c->region), HEXL, 16, 16);
    put(q, "\"}");
}

static void g_ecr_token(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kopen(q, "registryIds", '[');
    putc1(q, '"');
    put(q, c->w->acct[0].id);
    put(q, "\"]}");
}

static void g_batch_get_image(struct rec *c)
{
    static const char *const repo[] = { "orders-api", "payments-worker", "ingest" };
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "imageIds");
    put(q, "[{\"imageTag\":\"sha-");
    put_hex(q, c->r, 7);
    put(q, "\"}]");
    key(q, "acceptedMediaTypes");
    put(q, "[\"application/vnd.docker.distribution.manifest.v1+json\",\"application/vnd.docker.distribution.manifest.v2+json\",\"application/vnd.oci.image.manifest.v1+json\"]");
    kstr(q, "repositoryName", repo[below(c->r, 3)]);
    kstr(q, "registryId", c->w->acct[0].id);
    putc1(q, '}');
    struct buf *rs = &c->res;
    put(rs, "[{\"accountId\":\"");
    put(rs, c->w->acct[0].id);
    put(rs, "\",\"ARN\":\"arn:aws:ecr:");
    put(rs, REGIONS[c->region].name);
    putc1(rs, ':');
    put(rs, c->w->acct[0].id);
    put(rs, ":repository/");
    put(rs, repo[below(c->r, 3)]);
    put(rs, "\"}]");
}

static void g_describe_db(struct rec *c)
{
    put(&c->req, chance(c->r, 0.6) ? "{\"maxRecords\":100}" : "{\"dBInstanceIdentifier\":\"orders-prod-1\"}");
}

static void g_describe_asg(struct rec *c)
{
    put(&c->req, chance(c->r, 0.5) ? "{\"maxRecords\":100}" : "{\"autoScalingGroupNames\":[\"web-asg\",\"worker-asg\"]}");
}

static void g_create_tags(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    kopen(q, "resourcesSet", '{');
    put(q, "\"items\":[{\"resourceId\":\"");
    put(q, c->v->inst[below(c->r, N_INST)].id);
    put(q, "\"}]}");
    key(q, "tagSet");
    put(q, "{\"items\":[{\"key\":\"Name\",\"value\":\"web\"},{\"key\":\"team\",\"value\":\"platform\"},{\"key\":\"env\",\"value\":\"prod\"}]}");
    putc1(q, '}');
    struct buf *s = &c->resp;
    put(s, "{\"requestId\":\"");
    put_uuid_r(s, c->r);
    put(s, "\",\"_return\":true}");
}

static void g_console_login(struct rec *c)
{
    put(&c->resp, "{\"ConsoleLogin\":\"Success\"}");
    struct buf *e = &c->aed;
    putc1(e, '{');
    kstr(e, "LoginTo", "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_");
    e->len--; /* extend the value: the state token is random */
    put_hex(e, c->r, 16);
    putc1(e, '"');
    kstr(e, "MobileVersion", "No");
    key(e, "MFAIdentifier");
    put(e, "\"arn:aws:iam::");
    put(e, c->a->id);
    if (c->p->cls == C_ROOT) {
        put(e, ":mfa/root-account-mfa-device\"");
    } else {
        put(e, ":mfa/");
        put(e, c->p->name);
        putc1(e, '"');
    }
    kstr(e, "MFAUsed", "Yes");
    putc1(e, '}');
    c->event_type = "AwsConsoleSignIn";
}

static void g_put_evaluations(struct rec *c)
{
    struct buf *q = &c->req;
    putc1(q, '{');
    key(q, "evaluations");
    put(q, "[{\"complianceResourceType\":\"AWS::EC2::Instance\",\"complianceResourceId\":\"");
    put(q, c->v->inst[below(c->r, N_INST)].id);
    put(q, "\",\"complianceType\":\"COMPLIANT\",\"orderingTimestamp\":\"");
    put_sts_time(q, c->t - 60000);
    put(q, "\"}]");
    key(q, "resultToken");
    putc1(q, '"');
    put_chars(q, c->r, B64, 64, 300);
    put(q, "\",\"testMode\":false}");
    put(&c->resp, "{\"failedEvaluations\":[]}");
}

static void g_lookup_events(struct rec *c)
{
    put(&c->req, "{\"lookupAttributes\":[{\"attributeKey\":\"EventName\",\"attributeValue\":\"RunInstances\"}],\"maxResults\":50}");
}

static void g_describe_trails(struct rec *c) { put(&c->req, "{\"includeShadowTrails\":true}"); }

/* The instance documents that make RunInstances records several KB. */
static void put_instance_item(struct buf *s, struct rec *c, const struct instance *in, const char *image)
{
    comma(s);
    putc1(s, '{');
    kstr(s, "instanceId", in->id);
    kstr(s, "imageId", image);
    kopen(s, "instanceState", '{');
    put(s, "\"code\":0,\"name\":\"pending\"}");
    kstr(s, "privateDnsName", in->host);
    knum(s, "amiLaunchIndex", 0);
    kopen(s, "productCodes", '{');
    putc1(s, '}');
    kstr(s, "instanceType", in->tier == TIER_WEB ? "m6i.large" : "c6i.xlarge");
    knum(s, "launchTime", (uint64_t)c->t);
    kopen(s, "placement", '{');
    kstr(s, "availabilityZone", in->az);
    kstr(s, "tenancy", "default");
    putc1(s, '}');
    kopen(s, "monitoring", '{');
    put(s, "\"state\":\"disabled\"}");
    key(s, "subnetId");
    put(s, "\"subnet-0");
    put_stable(s, mix(hstr(c->v->id), in->tier), HEXL, 16, 16);
    putc1(s, '"');
    kstr(s, "vpcId", c->v->id);
    kstr(s, "privateIpAddress", in->ip);
    kopen(s, "stateReason", '{');
    put(s, "\"code\":\"pending\",\"message\":\"pending\"}");
    kstr(s, "architecture", "x86_64");
    kstr(s, "rootDeviceType", "ebs");
    kstr(s, "rootDeviceName", "/dev/xvda");
    kopen(s, "blockDeviceMapping", '{');
    putc1(s, '}');
    kstr(s, "virtualizationType", "hvm");
    key(s, "clientToken");
    putc1(s, '"');
    put_uuid_r(s, c->r);
    putc1(s, '"');
    kopen(s, "tagSet", '{');
    put(s, "\"items\":[{\"key\":\"aws:autoscaling:groupName\",\"value\":\"web-asg\"},{\"key\":\"Name\",\"value\":\"web\"},"
           "{\"key\":\"aws:ec2launchtemplate:id\",\"value\":\"lt-0");
    put_stable(s, mix(hstr(c->a->id), 11), HEXL, 16, 16);
    put(s, "\"},{\"key\":\"aws:ec2launchtemplate:version\",\"value\":\"42\"},{\"key\":\"team\",\"value\":\"platform\"}]}");
    kopen(s, "groupSet", '{');
    put(s, "\"items\":[{\"groupId\":\"sg-0");
    put_stable(s, mix(hstr(c->v->id), 99), HEXL, 16, 16);
    put(s, "\",\"groupName\":\"web-sg\"}]}");
    kstr(s, "hypervisor", "xen");
    kopen(s, "networkInterfaceSet", '{');
    put(s, "\"items\":[{");
    kstr(s, "networkInterfaceId", in->eni);
    key(s, "subnetId");
    put(s, "\"subnet-0");
    put_stable(s, mix(hstr(c->v->id), in->tier), HEXL, 16, 16);
    putc1(s, '"');
    kstr(s, "vpcId", c->v->id);
    kstr(s, "ownerId", c->a->id);
    kstr(s, "status", "in-use");
    key(s, "macAddress");
    putc1(s, '"');
    for (int i = 0; i < 6; i++) {
        if (i)
            putc1(s, ':');
        put_hex(s, c->r, 2);
    }
    putc1(s, '"');
    kstr(s, "privateIpAddress", in->ip);
    kstr(s, "privateDnsName", in->host);
    kraw(s, "sourceDestCheck", "true");
    kopen(s, "groupSet", '{');
    put(s, "\"items\":[{\"groupId\":\"sg-0");
    put_stable(s, mix(hstr(c->v->id), 99), HEXL, 16, 16);
    put(s, "\",\"groupName\":\"web-sg\"}]}");
    kopen(s, "attachment", '{');
    key(s, "attachmentId");
    put(s, "\"eni-attach-0");
    put_hex(s, c->r, 16);
    put(s, "\",\"deviceIndex\":0,\"networkCardIndex\":0,\"status\":\"attaching\",\"attachTime\":");
    putu(s, (uint64_t)c->t);
    put(s, ",\"deleteOnTermination\":true}");
    kopen(s, "privateIpAddressesSet", '{');
    put(s, "\"item\":[{\"privateIpAddress\":\"");
    put(s, in->ip);
    put(s, "\",\"privateDnsName\":\"");
    put(s, in->host);
    put(s, "\",\"primary\":true}]}");
    kopen(s, "ipv6AddressesSet", '{');
    put(s, "\"items\":[{\"ipv6Address\":\"");
    put(s, in->ip6);
    put(s, "\"}]}");
    kstr(s, "interfaceType", "interface");
    put(s, "}]}");
    kraw(s, "ebsOptimized", "true");
    kraw(s, "enaSupport", "true");
    kopen(s, "cpuOptions", '{');
    put(s, "\"coreCount\":1,\"threadsPerCore\":2}");
    kopen(s, "capacityReservationSpecification", '{');
    put(s, "\"capacityReservationPreference\":\"open\"}");
    kopen(s, "enclaveOptions", '{');
    put(s, "\"enabled\":false}");
    kopen(s, "metadataOptions", '{');
    put(s, "\"state\":\"pending\",\"httpTokens\":\"required\",\"httpPutResponseHopLimit\":2,\"httpEndpoint\":\"enabled\","
           "\"httpProtocolIpv4\":\"enabled\",\"httpProtocolIpv6\":\"disabled\",\"instanceMetadataTags\":\"disabled\"}");
    kopen(s, "maintenanceOptions", '{');
    put(s, "\"autoRecovery\":\"default\"}");
    kopen(s, "privateDnsNameOptions", '{');
    put(s, "\"hostnameType\":\"ip-name\",\"enableResourceNameDnsARecord\":false,\"enableResourceNameDnsAAAARecord\":false}");
    putc1(s, '}');
}

static void g_run_instances(struct rec *c)
{
    static const char *const images[] = { "ami-0c7217cdde317cfec", "ami-0e731c8a588258d0d", "ami-05c13eab67c5d8861" };
    const char *image = images[below(c->r, 3)];
    unsigned n = 1 + below(c->r, 2);
    struct buf *q = &c->req;
    putc1(q, '{');
    kopen(q, "instancesSet", '{');
    put(q, "\"items\":[{\"imageId\":\"");
    put(q, image);
    put(q, "\",\"minCount\":");
    putu(q, n);
    put(q, ",\"maxCount\":");
    putu(q, n);
    put(q, "}]}");
    kopen(q, "blockDeviceMapping", '{');
    putc1(q, '}');
    kopen(q, "monitoring", '{');
    put(q, "\"enabled\":false}");
    kraw(q, "disableApiTermination", "false");
    kopen(q, "disableApiStop", '{');
    putc1(q, '}');
    key(q, "clientToken");
    putc1(q, '"');
    put_uuid_r(q, c->r);
    putc1(q, '"');
    kopen(q, "launchTemplate", '{');
    key(q, "launchTemplateId");
    put(q, "\"lt-0");
    put_stable(q, mix(hstr(c->a->id), 11), HEXL, 16, 16);
    put(q, "\",\"version\":\"42\"}");
    kopen(q, "networkInterfaceSet", '{');
    put(q, "\"items\":[{\"deviceIndex\":0,\"subnetId\":\"subnet-0");
    put_stable(q, mix(hstr(c->v->id), 0), HEXL, 16, 16);
    put(q, "\"}]}");
    kopen(q, "tagSpecificationSet", '{');
    put(q, "\"items\":[{\"resourceType\":\"instance\",\"tags\":[{\"key\":\"aws:autoscaling:groupName\",\"value\":\"web-asg\"}]}]}");
    putc1(q, '}');

    struct buf *s = &c->resp;
    putc1(s, '{');
    key(s, "requestId");
    putc1(s, '"');
    put_uuid_r(s, c->r);
    putc1(s, '"');
    key(s, "reservationId");
    put(s, "\"r-0");
    put_hex(s, c->r, 16);
    putc1(s, '"');
    kstr(s, "ownerId", c->a->id);
    kopen(s, "groupSet", '{');
    putc1(s, '}');
    kopen(s, "instancesSet", '{');
    kopen(s, "items", '[');
    for (unsigned i = 0; i < n; i++)
        put_instance_item(s, c, &c->v->inst[below(c->r, 8)], image);
    put(s, "]}");
    kstr(s, "requesterId", "226008221399");
    putc1(s, '}');
}

static void g_terminate(struct rec *c)
{
    const struct instance *in = &c->v->inst[below(c->r, 8)];
    struct buf *q = &c->req;
    put(q, "{\"instancesSet\":{\"items\":[{\"instanceId\":\"");
    put(q, in->id);
    put(q, "\"}]}}");
    struct buf *s = &c->resp;
    put(s, "{\"requestId\":\"");
    put_uuid_r(s, c->r);
    put(s, "\",\"instancesSet\":{\"items\":[{\"instanceId\":\"");
    put(s, in->id);
    put(s, "\",\"currentState\":{\"code\":32,\"name\":\"shutting-down\"},\"previousState\":{\"code\":16,\"name\":\"running\"}}]}}");
}

static const char *const SVC_ASSUME[] = { "lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com", NULL };
static const char *const SVC_KMS[] = { "cloudtrail.amazonaws.com", "logs.amazonaws.com", "s3.amazonaws.com",
                                       "secretsmanager.amazonaws.com", NULL };
static const char *const SVC_ACL[] = { "cloudtrail.amazonaws.com", "config.amazonaws.com", NULL };

static const char *const E_GENERIC[] = {
    "ThrottlingException", "Rate exceeded",
    "AccessDenied", "User: %s is not authorized to perform this action",
    NULL };
static const char *const E_EC2[] = {
    "Client.RequestLimitExceeded", "Request limit exceeded.",
    "Client.UnauthorizedOperation", "You are not authorized to perform this operation.",
    "Client.InvalidInstanceID.NotFound", "The instance ID does not exist",
    NULL };
static const char *const E_S3[] = {
    "NoSuchKey", "The specified key does not exist.",
    "AccessDenied", "Access Denied",
    NULL };
static const char *const E_KMS[] = {
    "ThrottlingException", "Rate exceeded",
    "AccessDeniedException", "User: %s is not authorized to perform: kms:Decrypt on this resource because no identity-based policy allows the kms:Decrypt action",
    NULL };
static const char *const E_SSM[] = {
    "ParameterNotFound", NULL,
    "ThrottlingException", "Rate exceeded",
    NULL };
static const char *const E_DDB[] = {
    "ResourceNotFoundException", "Requested resource not found: Table: sessions not found",
    NULL };
static const char *const E_STS[] = {
    "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource",
    NULL };
static const char *const E_IAM[] = {
    "NoSuchEntityException", "The role with name ci-temp cannot be found.",
    "AccessDenied", "User: %s is not authorized to perform: iam:GetRole on resource",
    NULL };
static const char *const E_SECRETS[] = {
    "ResourceNotFoundException", "Secrets Manager can't find the specified secret.",
    NULL };

static const struct api APIS[] = {
    { "sts", "AssumeRole", 14.1, M(C_SVC) | M(C_SSO_ADMIN) | M(C_CI) | M(C_IAMSVC) | M(C_TF), F_RO, g_assume_role, SVC_ASSUME, E_STS },
    { "kms", "Decrypt", 12.2, APPS | M(C_SVC) | M(C_IAMSVC) | M(C_CI), F_RO, g_decrypt, SVC_KMS, E_KMS },
    { "s3", "GetObject", 8.0, APPS | M(C_IAMSVC) | M(C_CI) | M(C_SSO_ADMIN), F_RO | F_DATA, g_get_object, NULL, E_S3 },
    { "kms", "GenerateDataKey", 6.1, APPS | M(C_SVC) | M(C_IAMSVC), F_RO, g_gen_data_key, SVC_KMS, E_KMS },
    { "ec2", "DescribeInstances", 6.1, READERS | M(C_EC2) | M(C_SLR_AS) | M(C_IAMSVC), F_RO, g_describe_instances, NULL, E_EC2 },
    { "s3", "PutObject", 4.0, APPS | M(C_IAMSVC) | M(C_CI), F_DATA, g_put_object, NULL, E_S3 },
    { "sts", "GetCallerIdentity", 3.0, READERS | APPS | M(C_CI) | M(C_IAMSVC), F_RO, g_null, NULL, E_GENERIC },
    { "logs", "CreateLogStream", 2.5, M(C_LAMBDA) | M(C_ECS) | M(C_EC2), 0, g_create_log_stream, NULL, E_GENERIC },
    { "s3", "ListObjects", 2.5, APPS | M(C_IAMSVC) | M(C_CI) | M(C_SSO_ADMIN) | M(C_SSO_RO), F_RO | F_DATA, g_list_objects, NULL, E_S3 },
    { "ssm", "GetParameter", 2.0, APPS | M(C_CI), F_RO, g_get_parameter, NULL, E_SSM },
    { "ec2", "DescribeSecurityGroups", 2.0, READERS, F_RO, g_describe_sg, NULL, E_EC2 },
    { "s3", "HeadObject", 2.0, APPS | M(C_IAMSVC), F_RO | F_DATA, g_head_object, NULL, E_S3 },
    { "ec2", "DescribeNetworkInterfaces", 1.8, READERS | M(C_LAMBDA), F_RO, g_describe_enis, NULL, E_EC2 },
    { "ssm", "UpdateInstanceInformation", 1.5, M(C_EC2), 0, g_update_instance_information, NULL, E_GENERIC },
    { "dynamodb", "DescribeTable", 1.5, APPS | M(C_INTEG) | M(C_TF), F_RO, g_describe_table, NULL, E_DDB },
    { "ec2", "DescribeVolumes", 1.5, READERS, F_RO, g_describe_volumes, NULL, E_EC2 },
    { "iam", "GetRole", 1.5, READERS | M(C_CI), F_RO | F_GLOBAL, g_iam_role, NULL, E_IAM },
    { "secretsmanager", "GetSecretValue", 1.5, M(C_LAMBDA) | M(C_ECS), F_RO, g_get_secret, NULL, E_SECRETS },
    { "s3", "GetBucketLocation", 1.2, READERS | APPS, F_RO, g_bucket_location, NULL, E_S3 },
    { "ssm", "GetParameters", 1.0, APPS | M(C_CI), F_RO, g_get_parameters, NULL, E_SSM },
    { "kms", "Encrypt", 1.0, APPS, F_RO, g_encrypt, NULL, E_KMS },
    { "monitoring", "GetMetricData", 1.0, M(C_INTEG) | M(C_SSO_ADMIN) | M(C_SSO_RO) | M(C_IAMSVC), F_RO, g_metric_data, NULL, E_GENERIC },
    { "ec2", "DescribeSubnets", 1.0, READERS, F_RO, g_describe_subnets, NULL, E_EC2 },
    { "lambda", "GetFunction20150331v2", 0.8, READERS | M(C_CI), F_RO, g_lambda_fn, NULL, E_GENERIC },
    { "logs", "DescribeLogGroups", 0.8, READERS, F_RO, g_log_groups, NULL, E_GENERIC },
    { "elasticloadbalancing", "DescribeTargetHealth", 0.8, READERS | M(C_ECS), F_RO, g_target_health, NULL, E_GENERIC },
    { "ecr", "GetAuthorizationToken", 0.6, M(C_EC2) | M(C_ECS) | M(C_CI) | M(C_IAMSVC), F_RO, g_ecr_token, NULL, E_GENERIC },
    { "iam", "ListRoles", 0.6, READERS, F_RO | F_GLOBAL, g_list_roles, NULL, E_IAM },
    { "s3", "GetBucketAcl", 0.6, M(C_SVC) | M(C_SLR_CFG), F_RO, g_bucket_acl, SVC_ACL, E_S3 },
    { "ecr", "BatchGetImage", 0.5, M(C_EC2) | M(C_ECS), F_RO, g_batch_get_image, NULL, E_GENERIC },
    { "iam", "GetPolicy", 0.5, READERS, F_RO | F_GLOBAL, g_iam_policy, NULL, E_IAM },
    { "iam", "ListAttachedRolePolicies", 0.5, READERS, F_RO | F_GLOBAL, g_iam_role, NULL, E_IAM },
    { "rds", "DescribeDBInstances", 0.5, READERS, F_RO, g_describe_db, NULL, E_GENERIC },
    { "autoscaling", "DescribeAutoScalingGroups", 0.5, READERS, F_RO, g_describe_asg, NULL, E_GENERIC },
    { "monitoring", "DescribeAlarms", 0.5, READERS, F_RO, g_describe_alarms, NULL, E_GENERIC },
    { "ec2", "CreateTags", 0.5, M(C_TF) | M(C_SLR_AS) | M(C_CI), 0, g_create_tags, NULL, E_EC2 },
    { "iam", "GetUser", 0.4, READERS, F_RO | F_GLOBAL, g_iam_user, NULL, E_IAM },
    { "s3", "ListBuckets", 0.4, READERS, F_RO, g_list_buckets, NULL, E_GENERIC },
    { "lambda", "ListFunctions20150331", 0.4, READERS, F_RO, g_list_functions, NULL, E_GENERIC },
    /* global events are logged in us-east-1 only: 3x the weight gives 0.31 % overall with 3 regions */
    { "signin", "ConsoleLogin", 0.75, M(C_IAMHUMAN) | M(C_ROOT), F_GLOBAL | F_LOGIN, g_console_login, NULL, NULL },
    { "config", "PutEvaluations", 0.3, M(C_LAMBDA), 0, g_put_evaluations, NULL, E_GENERIC },
    { "cloudtrail", "LookupEvents", 0.2, M(C_SSO_ADMIN) | M(C_SSO_RO), F_RO, g_lookup_events, NULL, E_GENERIC },
    { "cloudtrail", "DescribeTrails", 0.2, READERS, F_RO, g_describe_trails, NULL, E_GENERIC },
    { "ec2", "RunInstances", 0.15, M(C_SLR_AS) | M(C_TF), 0, g_run_instances, NULL, E_EC2 },
    { "ec2", "TerminateInstances", 0.1, M(C_SLR_AS) | M(C_TF), 0, g_terminate, NULL, E_EC2 },
    { "secretsmanager", "DescribeSecret", 0.3, M(C_LAMBDA) | M(C_ECS) | M(C_TF), F_RO, g_get_secret, NULL, E_SECRETS },
};
#define N_APIS (sizeof(APIS) / sizeof(APIS[0]))

/* Cumulative tables, built once: APIs by weight, and for each API the
 * principals allowed to call it, by principal weight. */
struct tables {
    double api_cum[N_APIS];
    double pr_cum[N_APIS][N_PRINC];
};

static void tables_build(struct tables *t)
{
    double acc = 0;
    for (size_t i = 0; i < N_APIS; i++) {
        acc += APIS[i].weight;
        t->api_cum[i] = acc;
        double pa = 0;
        for (size_t j = 0; j < N_PRINC; j++) {
            if (APIS[i].who & M(PRINCIPALS[j].cls))
                pa += PRINCIPALS[j].weight;
            t->pr_cum[i][j] = pa;
        }
    }
}

static size_t pick_cum(const double *cum, size_t n, double u)
{
    double x = u * cum[n - 1];
    for (size_t i = 0; i < n; i++)
        if (x < cum[i])
            return i;
    return n - 1;
}

/* Chooses session, source address and user agent for the principal: each
 * identity always calls from the same kind of place with the same tools. */
static void pick_session(struct rec *c, const struct api *api)
{
    const struct principal *p = c->p;
    const struct acct *a = c->a;
    struct rng *r = c->r;
    c->session = NULL;
    c->inst = NULL;
    c->console = false;
    c->mfa = false;
    c->svc = NULL;
    switch (p->cls) {
    case C_SSO_ADMIN:
    case C_SSO_RO: {
        unsigned h = below(r, 6);
        struct buf t;
        buf_init(&t, 0);
        put(&t, HUMAN_NAMES[h]);
        put(&t, "@example.com");
        take(c->session_buf, sizeof(c->session_buf), &t);
        buf_free(&t);
        c->session = c->session_buf;
        c->console = chance(r, 0.6);
        c->ip = (h % 3 == 2) ? a->office6[h % 2] : a->office4[h % 3];
        c->ua = c->console ? (h % 2 ? UAS[UA_CONSOLE] : UAS[UA_CHROME]) : (h % 2 ? UAS[UA_CLI_MAC] : UAS[UA_CLI_LINUX]);
        if (c->console && api->flags & F_DATA)
            c->ua = UAS[UA_S3_CONSOLE];
        break;
    }
    case C_EC2: {
        /* web role on web instances, worker role on the others */
        unsigned i = p->name[0] == 'w' && p->name[1] == 'e' ? below(r, 8) : 8 + below(r, N_INST - 8);
        c->inst = &c->v->inst[i];
        c->session = c->inst->id;
        c->ip = c->inst->ip;
        c->ua = api->gen == g_update_instance_information ? UAS[UA_SSM_AGENT]
              : i < 8 ? UAS[UA_GO_V2] : i % 2 ? UAS[UA_BOTO_EC2] : UAS[UA_BOTO_OLD];
        break;
    }
    case C_LAMBDA: {
        unsigned n = 0;
        while (p->sessions[n] != NULL)
            n++;
        c->session = p->sessions[below(r, n)];
        /* Functions outside a VPC egress from AWS Lambda's own addresses */
        c->ip = c->v->nat_ip[below(r, 2)];
        c->ua = UAS[UA_BOTO_LAMBDA];
        break;
    }
    case C_ECS: {
        struct buf t;
        buf_init(&t, 0);
        put_stable(&t, mix3(hstr(a->id), hstr(p->name), below(r, 6)), HEXL, 16, 32);
        take(c->session_buf, sizeof(c->session_buf), &t);
        buf_free(&t);
        c->session = c->session_buf;
        c->ip = c->v->inst[8 + below(r, N_INST - 8)].ip;
        c->ua = p->name[0] == 'o' ? UAS[UA_JAVA] : UAS[UA_NODE];
        break;
    }
    case C_CI:
        c->session = "GitHubActions";
        c->ip = a->ci_ip[below(r, 3)];
        c->ua = chance(r, 0.7) ? UAS[UA_TERRAFORM] : UAS[UA_CLI_LINUX];
        break;
    case C_TF: {
        struct buf t;
        buf_init(&t, 0);
        put(&t, "terraform-");
        put(&t, HUMAN_NAMES[below(r, 3)]);
        take(c->session_buf, sizeof(c->session_buf), &t);
        buf_free(&t);
        c->session = c->session_buf;
        c->ip = a->office4[below(r, 2)];
        c->ua = UAS[UA_TERRAFORM];
        break;
    }
    case C_INTEG:
        c->session = "DatadogAWSIntegration";
        c->ip = a->integ_ip[below(r, 2)];
        c->ua = UAS[UA_GO_V1];
        break;
    case C_SLR_AS:
        c->session = "AutoScaling";
        c->ip = p->invoked_by;
        c->ua = p->invoked_by;
        break;
    case C_SLR_CFG:
        c->session = "AWSConfig-Describe";
        c->ip = p->invoked_by;
        c->ua = p->invoked_by;
        break;
    case C_IAMSVC:
        if (p->name[0] == 'j') {
            c->ip = a->jenkins_ip;
            c->ua = UAS[UA_CLI_V1];
        } else if (p->name[0] == 's') {
            c->ip = c->v->nat_ip[0];
            c->ua = UAS[UA_BOTO_OLD];
        } else {
            c->ip = c->v->nat_ip[1];
            c->ua = UAS[UA_JAVA];
        }
        break;
    case C_IAMHUMAN:
        c->console = true;
        c->mfa = true;
        c->ip = a->office4[p->name[0] == 'a' ? 0 : 1];
        c->ua = p->name[0] == 'a' ? UAS[UA_FIREFOX] : UAS[UA_CHROME];
        if (api->flags & F_DATA)
            c->ua = UAS[UA_S3_CONSOLE];
        break;
    case C_ROOT:
        c->console = true;
        c->mfa = true;
        c->ip = a->office4[0];
        c->ua = UAS[UA_CHROME];
        break;
    case C_SVC: {
        const char *const *l = api->svcs;
        unsigned n = 0;
        while (l != NULL && l[n] != NULL)
            n++;
        c->svc = n ? l[below(r, n)] : "cloudtrail.amazonaws.com";
        c->ip = c->svc;
        c->ua = c->svc;
        break;
    }
    case C_COUNT:
        break;
    }
}

static void put_identity(struct buf *b, struct rec *c, const struct api *api)
{
    const struct principal *p = c->p;
    const char *acct = c->a->id;
    bool login = api->flags & F_LOGIN;
    kopen(b, "userIdentity", '{');
    switch (p->cls) {
    case C_SVC:
        kstr(b, "type", "AWSService");
        kstr(b, "invokedBy", c->svc);
        break;
    case C_ROOT:
        kstr(b, "type", "Root");
        kstr(b, "principalId", acct);
        key(b, "arn");
        put(b, "\"arn:aws:iam::");
        put(b, acct);
        put(b, ":root\"");
        kstr(b, "accountId", acct);
        key(b, "accessKeyId");
        putc1(b, '"');
        if (!login)
            put_session_key(b, c);
        putc1(b, '"');
        if (!login) {
            kopen(b, "sessionContext", '{');
            kopen(b, "attributes", '{');
            key(b, "creationDate");
            putc1(b, '"');
            put_iso(b, c->t - c->t % 3600000);
            putc1(b, '"');
            kstr(b, "mfaAuthenticated", "true");
            put(b, "}}");
        }
        break;
    case C_IAMSVC:
    case C_IAMHUMAN:
        kstr(b, "type", "IAMUser");
        key(b, "principalId");
        putc1(b, '"');
        put_unique_id(b, "AIDA", c, p->name);
        putc1(b, '"');
        key(b, "arn");
        put(b, "\"arn:aws:iam::");
        put(b, acct);
        put(b, ":user/");
        put(b, p->name);
        putc1(b, '"');
        kstr(b, "accountId", acct);
        key(b, "accessKeyId");
        putc1(b, '"');
        if (p->cls == C_IAMSVC) {
            put(b, "AKIA");
            put_stable(b, mix(hstr(acct), hstr(p->name)), B32, 32, 16);
        } else if (!login) {
            put_session_key(b, c);
        }
        putc1(b, '"');
        kstr(b, "userName", p->name);
        if (p->cls == C_IAMHUMAN && !login) {
            kopen(b, "sessionContext", '{');
            kopen(b, "attributes", '{');
            key(b, "creationDate");
            putc1(b, '"');
            put_iso(b, c->t - c->t % 3600000);
            putc1(b, '"');
            kstr(b, "mfaAuthenticated", "true");
            put(b, "}}");
        }
        break;
    default: /* AssumedRole */
        kstr(b, "type", "AssumedRole");
        key(b, "principalId");
        putc1(b, '"');
        put_unique_id(b, "AROA", c, p->name);
        putc1(b, ':');
        put(b, c->session);
        putc1(b, '"');
        key(b, "arn");
        put(b, "\"arn:aws:sts::");
        put(b, acct);
        put(b, ":assumed-role/");
        put(b, p->name);
        putc1(b, '/');
        put(b, c->session);
        putc1(b, '"');
        kstr(b, "accountId", acct);
        key(b, "accessKeyId");
        putc1(b, '"');
        put_session_key(b, c);
        putc1(b, '"');
        kopen(b, "sessionContext", '{');
        kopen(b, "sessionIssuer", '{');
        kstr(b, "type", "Role");
        key(b, "principalId");
        putc1(b, '"');
        put_unique_id(b, "AROA", c, p->name);
        putc1(b, '"');
        key(b, "arn");
        putc1(b, '"');
        put_role_arn(b, c, p);
        putc1(b, '"');
        kstr(b, "accountId", acct);
        kstr(b, "userName", p->name);
        putc1(b, '}');
        kopen(b, "webIdFederationData", '{');
        putc1(b, '}');
        kopen(b, "attributes", '{');
        key(b, "creationDate");
        putc1(b, '"');
        put_iso(b, c->t - c->t % 3600000 - (int64_t)(mix(hstr(c->session), 1) % 600) * 1000);
        putc1(b, '"');
        kstr(b, "mfaAuthenticated", "false");
        putc1(b, '}');
        if (p->cls == C_EC2)
            kstr(b, "ec2RoleDelivery", "2.0");
        putc1(b, '}');
        if (p->invoked_by != NULL)
            kstr(b, "invokedBy", p->invoked_by);
        break;
    }
    putc1(b, '}');
}

static void put_caller_arn(struct buf *b, const struct rec *c)
{
    const struct principal *p = c->p;
    if (p->cls == C_IAMSVC || p->cls == C_IAMHUMAN) {
        put(b, "arn:aws:iam::");
        put(b, c->a->id);
        put(b, ":user/");
        put(b, p->name);
    } else if (p->cls == C_ROOT || p->name == NULL) {
        put(b, "arn:aws:iam::");
        put(b, c->a->id);
        put(b, ":root");
    } else {
        put(b, "arn:aws:sts::");
        put(b, c->a->id);
        put(b, ":assumed-role/");
        put(b, p->name);
        putc1(b, '/');
        put(b, c->session ? c->session : "session");
    }
}

/* "%s" in a message stands for the caller's ARN, as AWS writes it. */
static void put_error_message(struct buf *b, const struct rec *c, const char *msg)
{
    const char *s = strstr(msg, "%s");
    if (s == NULL) {
        put(b, msg);
        return;
    }
    putn(b, msg, (size_t)(s - msg));
    put_caller_arn(b, c);
    put(b, s + 2);
}

/* Writes one whole record. The identity must be chosen (pick_session). */
static void write_record(struct buf *out, struct rec *c, const struct api *api, bool attack)
{
    buf_reset(&c->req);
    buf_reset(&c->resp);
    buf_reset(&c->aed);
    buf_reset(&c->res);
    c->data = false;
    c->shared = false;
    c->vpce = NULL;
    c->event_type = "AwsApiCall";
    c->read_only = api->flags & F_RO;
    c->error = false;
    c->bucket = 0;
    if (!attack && api->errs != NULL && chance(c->r, 0.063)) {
        unsigned n = 0;
        while (api->errs[n * 2] != NULL)
            n++;
        unsigned k = below(c->r, n);
        c->error = true;
        c->err_code = api->errs[k * 2];
        c->err_msg_fmt = api->errs[k * 2 + 1];
    }
    api->gen(c);
    if (c->error && !(api->flags & F_DATA))
        buf_reset(&c->resp);
    if (c->ip[0] == '1' && c->ip[1] == '0' && c->ip[2] == '.' && c->vpce == NULL && !(api->flags & F_DATA) &&
        api->src[0] != 's' /* sts, ssm, secretsmanager, s3 use the public endpoint here */)
        c->vpce = c->v->vpce_other;

    comma(out);
    putc1(out, '{');
    kstr(out, "eventVersion", c->data ? "1.10" : "1.09");
    put_identity(out, c, api);
    key(out, "eventTime");
    putc1(out, '"');
    put_iso(out, c->t);
    putc1(out, '"');
    key(out, "eventSource");
    putc1(out, '"');
    put(out, api->src);
    put(out, ".amazonaws.com\"");
    kstr(out, "eventName", api->name);
    kstr(out, "awsRegion", (api->flags & F_GLOBAL) ? "us-east-1" : REGIONS[c->region].name);
    kstr(out, "sourceIPAddress", c->ip);
    kstr(out, "userAgent", c->ua);
    if (c->error) {
        kstr(out, "errorCode", c->err_code);
        if (c->err_msg_fmt != NULL) {
            key(out, "errorMessage");
            putc1(out, '"');
            put_error_message(out, c, c->err_msg_fmt);
            putc1(out, '"');
        }
    }
    key(out, "requestParameters");
    if (c->req.len)
        putn(out, c->req.p, c->req.len);
    else
        put(out, "null");
    key(out, "responseElements");
    if (c->resp.len)
        putn(out, c->resp.p, c->resp.len);
    else
        put(out, "null");
    if (c->aed.len) {
        key(out, "additionalEventData");
        putn(out, c->aed.p, c->aed.len);
    }
    key(out, "requestID");
    putc1(out, '"');
    if (c->data)
        put_chars(out, c->r, HEXU, 16, 16);
    else
        put_uuid_r(out, c->r);
    putc1(out, '"');
    key(out, "eventID");
    putc1(out, '"');
    put_uuid_r(out, c->r);
    putc1(out, '"');
    kraw(out, "readOnly", c->read_only ? "true" : "false");
    if (c->res.len) {
        key(out, "resources");
        putn(out, c->res.p, c->res.len);
    }
    kstr(out, "eventType", c->event_type);
    kraw(out, "managementEvent", c->data ? "false" : "true");
    kstr(out, "recipientAccountId", c->a->id);
    if (c->shared) {
        key(out, "sharedEventID");
        putc1(out, '"');
        put_uuid_r(out, c->r);
        putc1(out, '"');
    }
    if (c->vpce != NULL) {
        kstr(out, "vpcEndpointId", c->vpce);
        kstr(out, "vpcEndpointAccountId", c->a->id);
    }
    kstr(out, "eventCategory", c->data ? "Data" : "Management");
    if (c->p->cls != C_SVC && c->p->cls != C_SLR_AS && c->p->cls != C_SLR_CFG) {
        kopen(out, "tlsDetails", '{');
        bool v13 = (c->t / 1000 + c->p->weight) % 3 != 0;
        kstr(out, "tlsVersion", v13 ? "TLSv1.3" : "TLSv1.2");
        kstr(out, "cipherSuite", v13 ? "TLS_AES_128_GCM_SHA256" : "ECDHE-RSA-AES128-GCM-SHA256");
        key(out, "clientProvidedHostHeader");
        putc1(out, '"');
        if (api->flags & F_LOGIN) {
            put(out, "signin.aws.amazon.com");
        } else if (c->data || strcmp(api->src, "s3") == 0) {
            put_bucket(out, c, c->bucket);
            put(out, ".s3.");
            put(out, REGIONS[c->region].name);
            put(out, ".amazonaws.com");
        } else if (api->flags & F_GLOBAL) {
            put(out, api->src);
            put(out, ".amazonaws.com");
        } else {
            put(out, api->src);
            putc1(out, '.');
            put(out, REGIONS[c->region].name);
            put(out, ".amazonaws.com");
        }
        put(out, "\"}");
    }
    if (c->console && !(api->flags & F_LOGIN))
        kstr(out, "sessionCredentialFromConsole", "true");
    putc1(out, '}');
}

/* ---- attacks (only with --with-attacks) ------------------------------------ */

static void a_create_key(struct rec *c)
{
    put(&c->req, "{\"userName\":\"svc-backup\"}");
    struct buf *s = &c->resp;
    put(s, "{\"accessKey\":{\"accessKeyId\":\"AKIA");
    put_chars(s, c->r, B32, 32, 16);
    put(s, "\",\"status\":\"Active\",\"userName\":\"svc-backup\",\"createDate\":\"");
    put_sts_time(s, c->t);
    put(s, "\"}}");
}

static void a_stop_logging(struct rec *c)
{
    put(&c->req, "{\"name\":\"arn:aws:cloudtrail:us-east-1:");
    put(&c->req, c->a->id);
    put(&c->req, ":trail/management-events\"}");
}

static void a_sg_open(struct rec *c)
{
    put(&c->req, "{\"groupId\":\"sg-0");
    put_stable(&c->req, mix(hstr(c->v->id), 99), HEXL, 16, 16);
    put(&c->req, "\",\"ipPermissions\":{\"items\":[{\"ipProtocol\":\"tcp\",\"fromPort\":22,\"toPort\":22,"
                 "\"groups\":{},\"ipRanges\":{\"items\":[{\"cidrIp\":\"0.0.0.0/0\"}]},\"ipv6Ranges\":{},"
                 "\"prefixListIds\":{}}]}}");
    put(&c->resp, "{\"requestId\":\"");
    put_uuid_r(&c->resp, c->r);
    put(&c->resp, "\",\"_return\":true}");
}

static void a_public_policy(struct rec *c)
{
    struct buf *q = &c->req;
    put(q, "{\"bucketPolicy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Public\",\"Effect\":\"Allow\","
           "\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::");
    put_bucket(q, c, 2);
    put(q, "/*\"}]},\"bucketName\":\"");
    put_bucket(q, c, 2);
    put(q, "\",\"Host\":\"");
    put_bucket(q, c, 2);
    put(q, ".s3.amazonaws.com\",\"policy\":\"\"}");
}

static void a_snapshot_public(struct rec *c)
{
    put(&c->req, "{\"snapshotId\":\"snap-0");
    put_hex(&c->req, c->r, 16);
    put(&c->req, "\",\"createVolumePermission\":{\"add\":{\"items\":[{\"group\":\"all\"}]}},"
                 "\"attributeType\":\"CREATE_VOLUME_PERMISSION\"}");
    put(&c->resp, "{\"_return\":true}");
}

static void a_delete_flow_logs(struct rec *c)
{
    put(&c->req, "{\"DeleteFlowLogsRequest\":{\"FlowLogId\":{\"tag\":1,\"content\":\"");
    put(&c->req, c->v->fl_id);
    put(&c->req, "\"}}}");
}

static void a_login_no_mfa(struct rec *c)
{
    put(&c->resp, "{\"ConsoleLogin\":\"Success\"}");
    put(&c->aed, "{\"LoginTo\":\"https://console.aws.amazon.com/console/home\",\"MobileVersion\":\"No\",\"MFAUsed\":\"No\"}");
    c->event_type = "AwsConsoleSignIn";
}

struct attack {
    struct api api;
    enum cls who;     /* principal class */
    const char *user; /* principal name for IAM users/roles, NULL = first of its class */
    bool attacker_ip; /* else OUTSIDE_IP when outside is set */
    bool kali;
    bool outside;
};

static const struct attack ATTACKS[] = {
    { { "signin", "ConsoleLogin", 0, 0, F_GLOBAL | F_LOGIN, a_login_no_mfa, NULL, NULL }, C_ROOT, NULL, true, false },
    { { "s3", "ListBuckets", 0, 0, F_RO, g_list_buckets, NULL, NULL }, C_IAMSVC, "legacy-reporting", true, true },
    { { "iam", "CreateAccessKey", 0, 0, F_GLOBAL, a_create_key, NULL, NULL }, C_IAMSVC, "legacy-reporting", true, false },
    { { "cloudtrail", "StopLogging", 0, 0, 0, a_stop_logging, NULL, NULL }, C_IAMSVC, "legacy-reporting", true, false },
    { { "ec2", "AuthorizeSecurityGroupIngress", 0, 0, 0, a_sg_open, NULL, NULL }, C_IAMSVC, "legacy-reporting", true, false },
    { { "s3", "PutBucketPolicy", 0, 0, 0, a_public_policy, NULL, NULL }, C_IAMSVC, "legacy-reporting", true, false },
    { { "ec2", "ModifySnapshotAttribute", 0, 0, 0, a_snapshot_public, NULL, NULL }, C_IAMSVC, "legacy-reporting", true, false },
    { { "ec2", "DeleteFlowLogs", 0, 0, 0, a_delete_flow_logs, NULL, NULL }, C_IAMSVC, "legacy-reporting", true, false },
    /* instance credentials used from outside AWS */
    { { "sts", "GetCallerIdentity", 0, 0, F_RO, g_null, NULL, NULL }, C_EC2, "web-ec2-instance-role", false, false, true },
    { { "s3", "ListBuckets", 0, 0, F_RO, g_list_buckets, NULL, NULL }, C_EC2, "web-ec2-instance-role", false, false, true },
};
#define N_ATTACKS (sizeof(ATTACKS) / sizeof(ATTACKS[0]))

/* ---- options, jobs and files ------------------------------------------------ */

struct opts {
    const char *out;
    uint64_t seed;
    uint64_t ct_records, flow_lines, dns_lines;
    uint64_t ct_per_file, flow_per_file, dns_per_file;
    unsigned accounts, regions, days, jobs;
    int64_t start_ms;
    bool attacks;
};

enum kind { K_CT = 0, K_FLOW, K_DNS };
static const char *const KIND_NAME[] = { "cloudtrail", "vpcflow", "dns" };

struct job {
    enum kind kind;
    uint64_t index;   /* within its kind */
    uint64_t n;       /* records/lines to write */
    unsigned stream;  /* account * regions + region */
    uint64_t k, nk;   /* position of this file in its stream, files in the stream */
    /* results */
    char path[512];
    uint64_t records, raw, gz, logins, errors, by_type[4], attacks;
    int rc;
    char msg[256];
};

struct shared {
    const struct opts *o;
    const struct world *w;
    const struct tables *tb;
    struct job *jobs;
    size_t njobs;
    atomic_size_t next;
};

static int mkdirs(const char *path, char *msg, size_t cap)
{
    char tmp[512];
    size_t n = strlen(path);
    if (n >= sizeof(tmp)) {
        snprintf(msg, cap, "path too long: %s", path);
        return ERR_LIMIT;
    }
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                snprintf(msg, cap, "mkdir %s: %s", tmp, strerror(errno));
                return ERR_IO;
            }
            tmp[i] = c;
        }
    }
    return 0;
}

static int write_file(const char *path, const void *p, size_t len, char *msg, size_t cap)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        snprintf(msg, cap, "open %s: %s", path, strerror(errno));
        return ERR_IO;
    }
    size_t w = fwrite(p, 1, len, f);
    int bad = ferror(f);
    if (fclose(f) != 0 || w != len || bad) {
        snprintf(msg, cap, "write %s failed", path);
        return ERR_IO;
    }
    return 0;
}

/* Per-worker buffers, reused across files. */
struct worker {
    struct shared *sh;
    struct libdeflate_compressor *comp;
    struct buf raw;
    char *gz;
    size_t gz_cap;
    struct rec rec;
};

static void job_window(const struct opts *o, const struct job *j, int64_t *t0, int64_t *t1)
{
    int64_t span = (int64_t)o->days * 86400000;
    *t0 = o->start_ms + (int64_t)((double)span * (double)j->k / (double)j->nk);
    *t1 = o->start_ms + (int64_t)((double)span * (double)(j->k + 1) / (double)j->nk);
}

static void job_path(struct job *j, const struct opts *o, const struct acct *a, const char *dir_kind,
                     const char *dir_sub, const char *name_mid, int64_t t_end, struct rng *r, bool upper_tail)
{
    char st[16];
    stamp(t_end, st);
    struct buf t;
    buf_init(&t, 0);
    put(&t, o->out);
    put(&t, "/AWSLogs/");
    put(&t, a->id);
    putc1(&t, '/');
    put(&t, dir_kind);
    putc1(&t, '/');
    put(&t, dir_sub);
    putc1(&t, '/');
    putn(&t, st, 4);
    putc1(&t, '/');
    putn(&t, st + 4, 2);
    putc1(&t, '/');
    putn(&t, st + 6, 2);
    putc1(&t, '/');
    put(&t, a->id);
    putc1(&t, '_');
    put(&t, name_mid);
    putc1(&t, '_');
    put(&t, st);
    putc1(&t, '_');
    if (upper_tail) {
        put_chars(&t, r, ALNUM, 62, 16);
        put(&t, ".json.gz");
    } else {
        put_hex(&t, r, 8);
        put(&t, ".log.gz");
    }
    size_t n = t.len < sizeof(j->path) - 1 ? t.len : sizeof(j->path) - 1;
    memcpy(j->path, t.p, n);
    j->path[n] = '\0';
    buf_free(&t);
}

static int write_gz(struct worker *wk, struct job *j)
{
    size_t bound = libdeflate_gzip_compress_bound(wk->comp, wk->raw.len);
    if (bound > wk->gz_cap) {
        free(wk->gz);
        wk->gz_cap = bound + bound / 4;
        wk->gz = xmalloc(wk->gz_cap);
    }
    size_t n = libdeflate_gzip_compress(wk->comp, wk->raw.p, wk->raw.len, wk->gz, wk->gz_cap);
    if (n == 0) {
        snprintf(j->msg, sizeof(j->msg), "compression failed for %.200s", j->path);
        return ERR_INTERNAL;
    }
    char dir[512];
    memcpy(dir, j->path, sizeof(dir));
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    int rc = mkdirs(dir, j->msg, sizeof(j->msg));
    if (rc == 0)
        rc = write_file(j->path, wk->gz, n, j->msg, sizeof(j->msg));
    j->raw = wk->raw.len;
    j->gz = n;
    return rc;
}

static int type_index(enum cls c)
{
    return c == C_SVC ? 2 : c == C_ROOT ? 3 : (c == C_IAMSVC || c == C_IAMHUMAN) ? 1 : 0;
}

static const struct principal *find_principal(enum cls cls, const char *name)
{
    for (size_t i = 0; i < N_PRINC; i++)
        if (PRINCIPALS[i].cls == cls && (name == NULL || strcmp(PRINCIPALS[i].name, name) == 0))
            return &PRINCIPALS[i];
    return &PRINCIPALS[0];
}

static void write_attack(struct worker *wk, struct job *j, struct rec *c, const struct attack *at)
{
    c->p = find_principal(at->who, at->user);
    pick_session(c, &at->api);
    if (at->attacker_ip)
        c->ip = ATTACKER_IP;
    else if (at->outside)
        c->ip = OUTSIDE_IP;
    if (at->kali)
        c->ua = UA_KALI;
    else if (at->api.flags & F_LOGIN)
        c->ua = UAS[UA_CHROME];
    else if (at->who == C_IAMSVC || at->who == C_ROOT)
        c->ua = UAS[UA_CLI_LINUX];
    if (at->who == C_ROOT)
        c->mfa = false;
    write_record(&wk->raw, c, &at->api, true);
    j->records++;
    j->attacks++;
    j->by_type[type_index(c->p->cls)]++;
    if (at->api.flags & F_LOGIN)
        j->logins++;
}

static int run_ct(struct worker *wk, struct job *j)
{
    const struct opts *o = wk->sh->o;
    const struct world *w = wk->sh->w;
    const struct tables *tb = wk->sh->tb;
    struct rng r = { mix3(o->seed, 0xc7, j->index) };
    struct rec *c = &wk->rec;
    unsigned acct = j->stream / o->regions, region = j->stream % o->regions;
    int64_t t0, t1;
    job_window(o, j, &t0, &t1);
    char mid[64];
    struct buf t;
    buf_init(&t, 0);
    put(&t, "CloudTrail_");
    put(&t, REGIONS[region].name);
    take(mid, sizeof(mid), &t);
    buf_free(&t);
    job_path(j, o, &w->acct[acct], "CloudTrail", REGIONS[region].name, mid, t1 - 1, &r, true);
    c->r = &r;
    c->w = w;
    c->a = &w->acct[acct];
    c->v = &w->acct[acct].vpc[region];
    c->region = region;

    bool inject = o->attacks && j->index == 0;
    size_t next_attack = 0;

    buf_reset(&wk->raw);
    put(&wk->raw, "{\"Records\":[");
    double slot = (double)(t1 - t0) / (double)(j->n ? j->n : 1);
    for (uint64_t i = 0; i < j->n; i++) {
        c->t = t0 + (int64_t)(slot * ((double)i + unit(&r)));
        while (inject && next_attack < N_ATTACKS && i == (next_attack + 1) * j->n / (N_ATTACKS + 1)) {
            write_attack(wk, j, c, &ATTACKS[next_attack]);
            next_attack++;
        }
        const struct api *api;
        do {
            api = &APIS[pick_cum(tb->api_cum, N_APIS, unit(&r))];
        } while (region != 0 && (api->flags & F_GLOBAL));
        size_t ai = (size_t)(api - APIS);
        c->p = &PRINCIPALS[pick_cum(tb->pr_cum[ai], N_PRINC, unit(&r))];
        pick_session(c, api);
        write_record(&wk->raw, c, api, false);
        j->records++;
        j->by_type[type_index(c->p->cls)]++;
        if (c->error)
            j->errors++;
        if (api->flags & F_LOGIN)
            j->logins++;
    }
    while (inject && next_attack < N_ATTACKS)
        write_attack(wk, j, c, &ATTACKS[next_attack++]);
    put(&wk->raw, "]}");
    return write_gz(wk, j);
}

/* ---- VPC Flow Logs v2 -------------------------------------------------------- */

static const char FLOW_HEADER[] =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";

static void put_public_client(struct buf *b, struct rng *r)
{
    /* Consumer ISP and mobile ranges; never the documentation ranges the threat lists use. */
    static const unsigned first[] = { 24, 31, 37, 46, 62, 67, 68, 71, 73, 76, 78, 79, 81, 82, 84, 86,
                                      88, 90, 92, 94, 98, 99, 107, 109, 174, 176, 178, 188, 189, 201 };
    putu(b, first[below(r, 30)]);
    putc1(b, '.');
    putu(b, below(r, 256));
    putc1(b, '.');
    putu(b, below(r, 256));
    putc1(b, '.');
    putu(b, 1 + below(r, 254));
}

static void put_scanner(struct buf *b, struct rng *r)
{
    static const unsigned first[] = { 1, 5, 27, 36, 45, 58, 60, 61, 80, 89, 91, 101, 103, 106, 111, 112,
                                      113, 115, 116, 117, 118, 119, 121, 122, 123, 124, 125, 141, 162, 167,
                                      183, 185, 193, 194, 195, 222, 223 };
    putu(b, first[below(r, 37)]);
    putc1(b, '.');
    putu(b, below(r, 256));
    putc1(b, '.');
    putu(b, below(r, 256));
    putc1(b, '.');
    putu(b, 1 + below(r, 254));
}

static void put_aws_service_ip(struct buf *b, struct rng *r, const struct vpc *v, unsigned region)
{
    (void)v;
    if (chance(r, 0.6)) {
        put(b, REGIONS[region].s3_prefix);
    } else {
        put(b, REGIONS[region].aws_prefix[below(r, 6)]);
    }
    putc1(b, '.');
    putu(b, below(r, 256));
    putc1(b, '.');
    putu(b, 1 + below(r, 254));
}

static const char *const INTERNET_DST[] = { "140.82.112.3", "140.82.112.4", "151.101.0.223", "151.101.64.223",
                                            "104.16.24.35", "104.16.25.35", "35.186.224.25", "199.232.30.132",
                                            "185.199.108.133", "151.101.193.194" };

struct flowline {
    const char *eni;
    char src[48], dst[48];
    unsigned sport, dport, proto;
    uint64_t packets, bytes;
    bool reject;
};

static unsigned ephemeral(struct rng *r) { return 32768 + below(r, 28232); }

static void flow_pick(struct rng *r, const struct vpc *v, unsigned region, struct flowline *f)
{
    struct buf t;
    buf_init(&t, 0);
    const struct instance *in = &v->inst[below(r, N_INST)];
    const struct instance *web = &v->inst[below(r, 8)];
    double u = unit(r);
    bool out = chance(r, 0.5); /* which direction of the conversation this line is */
    f->eni = in->eni;
    f->proto = 6;
    f->reject = false;
    f->packets = heavy(r, 1, 3000);
    f->bytes = f->packets * range(r, 52, 1400);
    char peer[48];
    unsigned pport = 443, mport = ephemeral(r);
    const char *me = in->ip;
    if (u < 0.065) { /* internet background scanning, blocked by security groups */
        f->eni = web->eni;
        put_scanner(&t, r);
        take(f->src, sizeof(f->src), &t);
        snprintf(f->dst, sizeof(f->dst), "%s", web->ip);
        static const unsigned ports[] = { 22, 23, 80, 81, 123, 443, 445, 1433, 2375, 3306, 3389, 5060, 5432,
                                          5900, 6379, 7547, 8000, 8080, 8088, 8443, 8888, 9200, 11211, 27017 };
        f->sport = ephemeral(r);
        f->dport = chance(r, 0.7) ? ports[below(r, 24)] : range(r, 1, 65535);
        f->proto = chance(r, 0.9) ? 6 : 17;
        f->packets = 1;
        f->bytes = f->proto == 6 ? range(r, 40, 60) : range(r, 28, 120);
        f->reject = true;
        buf_free(&t);
        return;
    }
    if (u < 0.10) { /* internal traffic that the database security groups refuse */
        static const unsigned ports[] = { 5432, 6379, 3306, 2049, 9090 };
        snprintf(f->src, sizeof(f->src), "%s", in->ip);
        snprintf(f->dst, sizeof(f->dst), "%s", v->db_ip[below(r, 3)]);
        f->sport = ephemeral(r);
        f->dport = ports[below(r, 5)];
        f->packets = range(r, 1, 3);
        f->bytes = f->packets * 60;
        f->reject = true;
        buf_free(&t);
        return;
    }
    if (u < 0.40) { /* instance <-> AWS services over HTTPS */
        put_aws_service_ip(&t, r, v, region);
        take(peer, sizeof(peer), &t);
    } else if (u < 0.60) { /* load balancer -> application port */
        in = &v->inst[below(r, 8)];
        f->eni = in->eni;
        me = in->ip;
        snprintf(peer, sizeof(peer), "%s", v->lb_ip[below(r, 4)]);
        pport = ephemeral(r);
        mport = 8080;
        out = !out;
        if (chance(r, 0.5)) {
            f->eni = v->lb_eni[below(r, 4)];
        }
    } else if (u < 0.78) { /* application -> database / cache */
        static const unsigned ports[] = { 5432, 6379, 3306 };
        snprintf(peer, sizeof(peer), "%s", v->db_ip[below(r, 3)]);
        pport = ports[below(r, 3)];
    } else if (u < 0.89) { /* internet clients -> public web tier */
        in = web;
        f->eni = in->eni;
        me = in->ip;
        put_public_client(&t, r);
        take(peer, sizeof(peer), &t);
        pport = ephemeral(r);
        mport = 443;
    } else if (u < 0.965) { /* packages, source code, SaaS APIs */
        snprintf(peer, sizeof(peer), "%s", INTERNET_DST[below(r, 10)]);
        pport = chance(r, 0.9) ? 443 : 80;
    } else if (u < 0.995) { /* IPv6 to AWS over dual-stack endpoints */
        me = in->ip6;
        put(&t, "2600:1f18:");
        put_hex(&t, r, 4);
        put(&t, ":");
        put_hex(&t, r, 4);
        put(&t, "::");
        put_hex(&t, r, 3);
        take(peer, sizeof(peer), &t);
    } else { /* health-check pings inside the VPC */
        snprintf(peer, sizeof(peer), "%s", v->inst[below(r, N_INST)].ip);
        f->proto = 1;
        pport = 0;
        mport = 0;
        f->packets = range(r, 1, 4);
        f->bytes = f->packets * 84;
    }
    if (out) {
        snprintf(f->src, sizeof(f->src), "%s", me);
        snprintf(f->dst, sizeof(f->dst), "%s", peer);
        f->sport = mport;
        f->dport = pport;
    } else {
        snprintf(f->src, sizeof(f->src), "%s", peer);
        snprintf(f->dst, sizeof(f->dst), "%s", me);
        f->sport = pport;
        f->dport = mport;
    }
    buf_free(&t);
}

static void put_flow(struct buf *b, const char *acct, const struct flowline *f, int64_t start, int64_t end)
{
    put(b, "2 ");
    put(b, acct);
    putc1(b, ' ');
    put(b, f->eni);
    putc1(b, ' ');
    put(b, f->src);
    putc1(b, ' ');
    put(b, f->dst);
    putc1(b, ' ');
    putu(b, f->sport);
    putc1(b, ' ');
    putu(b, f->dport);
    putc1(b, ' ');
    putu(b, f->proto);
    putc1(b, ' ');
    putu(b, f->packets);
    putc1(b, ' ');
    putu(b, f->bytes);
    putc1(b, ' ');
    putu(b, (uint64_t)start);
    putc1(b, ' ');
    putu(b, (uint64_t)end);
    put(b, f->reject ? " REJECT OK\n" : " ACCEPT OK\n");
}

static int run_flow(struct worker *wk, struct job *j)
{
    const struct opts *o = wk->sh->o;
    const struct world *w = wk->sh->w;
    struct rng r = { mix3(o->seed, 0xf10, j->index) };
    unsigned acct = j->stream / o->regions, region = j->stream % o->regions;
    const struct acct *a = &w->acct[acct];
    const struct vpc *v = &a->vpc[region];
    int64_t t0, t1;
    job_window(o, j, &t0, &t1);
    char mid[96];
    struct buf t;
    buf_init(&t, 0);
    put(&t, "vpcflowlogs_");
    put(&t, REGIONS[region].name);
    putc1(&t, '_');
    put(&t, v->fl_id);
    take(mid, sizeof(mid), &t);
    buf_free(&t);
    job_path(j, o, a, "vpcflowlogs", REGIONS[region].name, mid, t1 - 1, &r, false);

    buf_reset(&wk->raw);
    put(&wk->raw, FLOW_HEADER);
    double slot = (double)(t1 - t0) / (double)(j->n ? j->n : 1);
    struct flowline f;
    bool inject = o->attacks && j->index == 0;
    for (uint64_t i = 0; i < j->n; i++) {
        int64_t now = (t0 + (int64_t)(slot * ((double)i + unit(&r)))) / 1000;
        int64_t start = now - 60 + below(&r, 10), end = now;
        double u = unit(&r);
        if (inject && i == j->n / 2) {
            /* SSH brute force against a web instance, then a reverse shell to a listed address */
            for (unsigned k = 0; k < 30; k++) {
                struct flowline bf = { v->inst[0].eni, "", "", 40000 + k, 22, 6, 6, 420, true };
                snprintf(bf.src, sizeof(bf.src), "%s", ATTACKER_IP);
                snprintf(bf.dst, sizeof(bf.dst), "%s", v->inst[0].ip);
                put_flow(&wk->raw, a->id, &bf, start, end);
            }
            struct flowline c2 = { v->inst[0].eni, "", "", 49152, 4444, 6, 120, 98000, false };
            snprintf(c2.src, sizeof(c2.src), "%s", v->inst[0].ip);
            snprintf(c2.dst, sizeof(c2.dst), "%s", ATTACKER_IP);
            put_flow(&wk->raw, a->id, &c2, start, end);
            j->records += 31;
            j->attacks += 31;
        }
        if (u < 0.025) {
            put(&wk->raw, "2 ");
            put(&wk->raw, a->id);
            putc1(&wk->raw, ' ');
            put(&wk->raw, v->inst[below(&r, N_INST)].eni);
            put(&wk->raw, " - - - - - - - ");
            putu(&wk->raw, (uint64_t)start);
            putc1(&wk->raw, ' ');
            putu(&wk->raw, (uint64_t)end);
            put(&wk->raw, u < 0.022 ? " - NODATA\n" : " - SKIPDATA\n");
        } else {
            flow_pick(&r, v, region, &f);
            put_flow(&wk->raw, a->id, &f, start, end);
            if (f.reject)
                j->errors++; /* REJECT lines, reported in the manifest */
        }
        j->records++;
    }
    return write_gz(wk, j);
}

/* ---- Route 53 Resolver query logs ------------------------------------------- */

struct dnsname {
    const char *name; /* may contain %r for the region */
    unsigned weight;
    unsigned kind;    /* 0 = AWS endpoint (CNAME + A), 1 = plain A, 2 = internal, 3 = search-suffix NXDOMAIN,
                         4 = virtual-host S3 bucket, 5 = CloudFront distribution, 6 = reverse lookup in the VPC */
};

static const struct dnsname DNS_NAMES[] = {
    { "s3.%r.amazonaws.com.", 14, 0 },
    { "sts.%r.amazonaws.com.", 9, 0 },
    { "dynamodb.%r.amazonaws.com.", 8, 0 },
    { "kms.%r.amazonaws.com.", 8, 0 },
    { "ssm.%r.amazonaws.com.", 5, 0 },
    { "ec2messages.%r.amazonaws.com.", 4, 0 },
    { "ssmmessages.%r.amazonaws.com.", 4, 0 },
    { "logs.%r.amazonaws.com.", 6, 0 },
    { "secretsmanager.%r.amazonaws.com.", 3, 0 },
    { "monitoring.%r.amazonaws.com.", 3, 0 },
    { "sqs.%r.amazonaws.com.", 5, 0 },
    { "api.ecr.%r.amazonaws.com.", 2, 0 },
    { "orders-prod-1.cluster-cabc123xyz.%r.rds.amazonaws.com.", 6, 2 },
    { "cache-prod.abc123.ng.0001.%r.cache.amazonaws.com.", 5, 2 },
    { "orders.internal.acme.", 4, 2 },
    { "payments.internal.acme.", 3, 2 },
    { "api.github.com.", 2, 1 },
    { "github.com.", 1, 1 },
    { "registry.npmjs.org.", 1, 1 },
    { "pypi.org.", 1, 1 },
    { "files.pythonhosted.org.", 1, 1 },
    { "al2023-repos-%r-de612dc2.s3.dualstack.%r.amazonaws.com.", 1, 0 },
    { "api.stripe.com.", 2, 1 },
    { "hooks.slack.com.", 1, 1 },
    { "o123456.ingest.sentry.io.", 1, 1 },
    { "http-intake.logs.datadoghq.com.", 3, 1 },
    { "ntp.ubuntu.com.", 1, 1 },
    { "api.github.com.ec2.internal.", 5, 3 },
    { "orders.internal.acme.ec2.internal.", 4, 3 },
    { "sts.%r.amazonaws.com.%r.compute.internal.", 3, 3 },
    { "", 10, 4 },
    { "", 6, 5 },
    { "", 4, 6 },
};
#define N_DNS_NAMES (sizeof(DNS_NAMES) / sizeof(DNS_NAMES[0]))

static void put_name(struct buf *b, const char *n, const char *region)
{
    for (const char *s = n; *s; s++) {
        if (s[0] == '%' && s[1] == 'r') {
            put(b, region);
            s++;
        } else {
            putc1(b, *s);
        }
    }
}

static void put_answer(struct buf *b, const char *rdata_head, struct rng *r, const char *type, bool v6)
{
    comma(b);
    put(b, "{\"Rdata\":\"");
    put(b, rdata_head);
    if (v6) {
        put_hex(b, r, 4);
        put(b, "::");
        put_hex(b, r, 3);
    } else {
        putu(b, below(r, 256));
        putc1(b, '.');
        putu(b, 1 + below(r, 254));
    }
    put(b, "\",\"Type\":\"");
    put(b, type);
    put(b, "\",\"Class\":\"IN\"}");
}

static int run_dns(struct worker *wk, struct job *j)
{
    const struct opts *o = wk->sh->o;
    const struct world *w = wk->sh->w;
    struct rng r = { mix3(o->seed, 0xd45, j->index) };
    unsigned acct = j->stream / o->regions, region = j->stream % o->regions;
    const struct acct *a = &w->acct[acct];
    const struct vpc *v = &a->vpc[region];
    const char *rn = REGIONS[region].name;
    int64_t t0, t1;
    job_window(o, j, &t0, &t1);
    char mid[96];
    struct buf t;
    buf_init(&t, 0);
    put(&t, "vpcdnsquerylogs_");
    put(&t, v->id);
    take(mid, sizeof(mid), &t);
    buf_free(&t);
    job_path(j, o, a, "vpcdnsquerylogs", v->id, mid, t1 - 1, &r, false);

    double cum[N_DNS_NAMES], acc = 0;
    for (size_t i = 0; i < N_DNS_NAMES; i++) {
        acc += DNS_NAMES[i].weight;
        cum[i] = acc;
    }
    buf_reset(&wk->raw);
    double slot = (double)(t1 - t0) / (double)(j->n ? j->n : 1);
    bool inject = o->attacks && j->index == 0;
    struct buf *b = &wk->raw;
    for (uint64_t i = 0; i < j->n + (inject ? 2 : 0); i++) {
        int64_t now = t0 + (int64_t)(slot * ((double)(i < j->n ? i : j->n - 1) + unit(&r)));
        const struct instance *in = &v->inst[below(&r, N_INST)];
        const struct dnsname *dn = &DNS_NAMES[pick_cum(cum, N_DNS_NAMES, unit(&r))];
        const char *qname_attack = NULL;
        if (i >= j->n)
            qname_attack = i == j->n ? "pool.minexmr.example." : "rebind.attacker.example.";
        bool aaaa = qname_attack == NULL && dn->kind != 2 && dn->kind != 6 && chance(&r, 0.3);
        const struct instance *peer = &v->inst[below(&r, N_INST)];
        unsigned cf = below(&r, 400);
        put(b, "{\"version\":\"1.100000\",\"account_id\":\"");
        put(b, a->id);
        put(b, "\",\"region\":\"");
        put(b, rn);
        put(b, "\",\"vpc_id\":\"");
        put(b, v->id);
        put(b, "\",\"query_timestamp\":\"");
        put_iso(b, now);
        put(b, "\",\"query_name\":\"");
        if (qname_attack) {
            put(b, qname_attack);
        } else if (dn->kind == 4) {
            put(b, a->alias);
            putc1(b, '-');
            put(b, BUCKET_SUFFIX[below(&r, 6)]);
            put(b, ".s3.");
            put(b, rn);
            put(b, ".amazonaws.com.");
        } else if (dn->kind == 5) {
            /* a few hundred third-party distributions: stable names, like real traffic */
            putc1(b, 'd');
            put_stable(b, mix(o->seed, cf), "abcdefghijklmnopqrstuvwxyz0123456789", 36, 13);
            put(b, ".cloudfront.net.");
        } else if (dn->kind == 6) {
            /* in-addr.arpa of 10.b2.x.y, reversed */
            const char *ip = peer->ip;
            const char *d1 = strchr(ip, '.'), *d2 = strchr(d1 + 1, '.'), *d3 = strchr(d2 + 1, '.');
            put(b, d3 + 1);
            putc1(b, '.');
            putn(b, d2 + 1, (size_t)(d3 - d2 - 1));
            putc1(b, '.');
            putn(b, d1 + 1, (size_t)(d2 - d1 - 1));
            put(b, ".10.in-addr.arpa.");
        } else {
            put_name(b, dn->name, rn);
        }
        put(b, "\",\"query_type\":\"");
        put(b, dn->kind == 6 && !qname_attack ? "PTR" : aaaa ? "AAAA" : "A");
        put(b, "\",\"query_class\":\"IN\",\"rcode\":\"");
        bool nx = qname_attack == NULL && dn->kind == 3;
        put(b, nx ? "NXDOMAIN" : "NOERROR");
        put(b, "\",\"answers\":[");
        if (qname_attack != NULL) {
            put(b, i == j->n ? "{\"Rdata\":\"192.0.2.44\",\"Type\":\"A\",\"Class\":\"IN\"}"
                             : "{\"Rdata\":\"169.254.169.254\",\"Type\":\"A\",\"Class\":\"IN\"}");
            j->attacks++;
        } else if (!nx) {
            if (dn->kind == 6) {
                put(b, "{\"Rdata\":\"");
                put(b, peer->host);
                put(b, ".\",\"Type\":\"PTR\",\"Class\":\"IN\"}");
            } else if (dn->kind == 5) {
                static const char *const cfp[] = { "13.224.", "18.160.", "108.138.", "99.86." };
                const char *pre = cfp[cf % 4];
                for (unsigned k = 0; k < 4; k++) {
                    if (aaaa)
                        put_answer(b, "2600:9000:", &r, "AAAA", true);
                    else
                        put_answer(b, pre, &r, "A", false);
                }
            } else if (dn->kind == 0 || dn->kind == 4) {
                bool s3 = dn->kind == 4 || (dn->name[0] == 's' && dn->name[1] == '3');
                if (s3) {
                    put(b, "{\"Rdata\":\"s3-r-w.");
                    put(b, rn);
                    put(b, ".amazonaws.com.\",\"Type\":\"CNAME\",\"Class\":\"IN\"}");
                }
                unsigned n = 1 + below(&r, 3);
                for (unsigned k = 0; k < n; k++) {
                    if (aaaa) {
                        put_answer(b, "2600:1f18:", &r, "AAAA", true);
                    } else {
                        char pfx[24];
                        snprintf(pfx, sizeof(pfx), "%s.",
                                 s3 ? REGIONS[region].s3_prefix : REGIONS[region].aws_prefix[below(&r, 6)]);
                        put_answer(b, pfx, &r, "A", false);
                    }
                }
            } else if (dn->kind == 2) {
                char pfx[24];
                snprintf(pfx, sizeof(pfx), "10.%u.", v->b2);
                put_answer(b, pfx, &r, "A", false);
            } else if (!aaaa || chance(&r, 0.5)) {
                unsigned n = 1 + below(&r, 2);
                for (unsigned k = 0; k < n; k++) {
                    if (aaaa)
                        put_answer(b, "2606:50c0:8000::", &r, "AAAA", true);
                    else
                        put_answer(b, "151.101.", &r, "A", false);
                }
            }
        }
        put(b, "],\"srcaddr\":\"");
        put(b, in->ip);
        put(b, "\",\"srcport\":\"");
        putu(b, ephemeral(&r));
        put(b, "\",\"transport\":\"");
        put(b, chance(&r, 0.97) ? "UDP" : "TCP");
        put(b, "\",\"srcids\":{\"instance\":\"");
        put(b, in->id);
        put(b, "\"}}\n");
        if (nx)
            j->errors++;
        j->records++;
    }
    return write_gz(wk, j);
}

/* ---- driver --------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct shared *sh = wk->sh;
    for (;;) {
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->njobs)
            break;
        struct job *j = &sh->jobs[i];
        j->rc = j->kind == K_CT ? run_ct(wk, j) : j->kind == K_FLOW ? run_flow(wk, j) : run_dns(wk, j);
        if (j->rc != 0)
            break;
    }
    return NULL;
}

static size_t add_jobs(struct job *jobs, size_t at, enum kind kind, uint64_t total, uint64_t per, unsigned streams)
{
    if (total == 0)
        return at;
    uint64_t nfiles = (total + per - 1) / per;
    for (uint64_t i = 0; i < nfiles; i++) {
        struct job *j = &jobs[at++];
        memset(j, 0, sizeof(*j));
        j->kind = kind;
        j->index = i;
        j->n = i + 1 < nfiles ? per : total - i * per;
        j->stream = (unsigned)(i % streams);
        j->k = i / streams;
        j->nk = (nfiles - j->stream + streams - 1) / streams;
    }
    return at;
}

static void usage(FILE *f)
{
    fputs("usage: vigil-gen-corpus --out DIR [options]\n"
          "  --out DIR              output directory (AWSLogs/ is created inside)\n"
          "  --ct-records N         CloudTrail records (default 1000000)\n"
          "  --flow-lines N         VPC flow log lines (default 10000000)\n"
          "  --dns-lines N          Route 53 Resolver query log lines (default 2000000)\n"
          "  --records-per-file N   CloudTrail records per file (default 2000)\n"
          "  --flow-per-file N      flow lines per file (default 500000)\n"
          "  --dns-per-file N       resolver lines per file (default 100000)\n"
          "  --accounts N           accounts (default 3, max 16)\n"
          "  --regions N            regions per account (default 3, max 8)\n"
          "  --start YYYY-MM-DD     first day (default 2026-11-20)\n"
          "  --days N               days covered (default 1)\n"
          "  --seed N               random seed (default 1)\n"
          "  --jobs N               worker threads (default 1; output does not depend on it)\n"
          "  --with-attacks         inject a handful of attacks (see bench/README.md)\n"
          "  --version              print the corpus format version and exit\n",
          f);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    return s != NULL && sv_to_u64(sv_cstr(s), out);
}

int main(int argc, char **argv)
{
    struct opts o = { .out = NULL, .seed = 1, .ct_records = 1000000, .flow_lines = 10000000, .dns_lines = 2000000,
                      .ct_per_file = 2000, .flow_per_file = 500000, .dns_per_file = 100000,
                      .accounts = 3, .regions = 3, .days = 1, .jobs = 1, .attacks = false };
    const char *start = "2026-11-20";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        bool num = parse_u64(v, &n);
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("%d\n", GEN_VERSION);
            return 0;
        } else if (strcmp(a, "--with-attacks") == 0) {
            o.attacks = true;
            continue;
        } else if (strcmp(a, "--out") == 0 && v != NULL) {
            o.out = v;
        } else if (strcmp(a, "--start") == 0 && v != NULL) {
            start = v;
        } else if (!num) {
            fprintf(stderr, "vigil-gen-corpus: bad or missing value for '%s'\n", a);
            usage(stderr);
            return 1;
        } else if (strcmp(a, "--ct-records") == 0) {
            o.ct_records = n;
        } else if (strcmp(a, "--flow-lines") == 0) {
            o.flow_lines = n;
        } else if (strcmp(a, "--dns-lines") == 0) {
            o.dns_lines = n;
        } else if (strcmp(a, "--records-per-file") == 0) {
            o.ct_per_file = n;
        } else if (strcmp(a, "--flow-per-file") == 0) {
            o.flow_per_file = n;
        } else if (strcmp(a, "--dns-per-file") == 0) {
            o.dns_per_file = n;
        } else if (strcmp(a, "--accounts") == 0) {
            o.accounts = (unsigned)n;
        } else if (strcmp(a, "--regions") == 0) {
            o.regions = (unsigned)n;
        } else if (strcmp(a, "--days") == 0) {
            o.days = (unsigned)n;
        } else if (strcmp(a, "--seed") == 0) {
            o.seed = n;
        } else if (strcmp(a, "--jobs") == 0) {
            o.jobs = (unsigned)n;
        } else {
            fprintf(stderr, "vigil-gen-corpus: unknown option '%s'\n", a);
            usage(stderr);
            return 1;
        }
        i++;
    }
    if (o.out == NULL || o.accounts < 1 || o.accounts > MAX_ACCTS || o.regions < 1 || o.regions > MAX_REGIONS ||
        o.days < 1 || o.days > 3650 || o.ct_per_file < 1 || o.flow_per_file < 1 || o.dns_per_file < 1 ||
        o.jobs < 1 || o.jobs > 64) {
        usage(stderr);
        return 1;
    }
    if (!time_parse_iso8601(sv_cstr(start), &o.start_ms)) {
        fprintf(stderr, "vigil-gen-corpus: bad --start '%s'\n", start);
        return 1;
    }

    struct world *w = xcalloc(1, sizeof(*w));
    world_build(w, o.seed, o.accounts, o.regions);
    struct tables *tb = xcalloc(1, sizeof(*tb));
    tables_build(tb);

    unsigned streams = o.accounts * o.regions;
    uint64_t nj = 0;
    nj += o.ct_records ? (o.ct_records + o.ct_per_file - 1) / o.ct_per_file : 0;
    nj += o.flow_lines ? (o.flow_lines + o.flow_per_file - 1) / o.flow_per_file : 0;
    nj += o.dns_lines ? (o.dns_lines + o.dns_per_file - 1) / o.dns_per_file : 0;
    if (nj > 10000000) {
        fprintf(stderr, "vigil-gen-corpus: too many files (%llu)\n", (unsigned long long)nj);
        return 1;
    }
    struct job *jobs = xcalloc(nj ? nj : 1, sizeof(*jobs));
    size_t at = 0;
    at = add_jobs(jobs, at, K_CT, o.ct_records, o.ct_per_file, streams);
    at = add_jobs(jobs, at, K_FLOW, o.flow_lines, o.flow_per_file, streams);
    at = add_jobs(jobs, at, K_DNS, o.dns_lines, o.dns_per_file, streams);

    struct shared sh = { &o, w, tb, jobs, at, 0 };
    struct worker *wks = xcalloc(o.jobs, sizeof(*wks));
    pthread_t *th = xcalloc(o.jobs, sizeof(*th));
    int rc = 0;
    for (unsigned i = 0; i < o.jobs; i++) {
        wks[i].sh = &sh;
        wks[i].comp = libdeflate_alloc_compressor(GZ_LEVEL);
        if (wks[i].comp == NULL) {
            fprintf(stderr, "vigil-gen-corpus: libdeflate_alloc_compressor failed\n");
            return 2;
        }
        buf_init(&wks[i].raw, 0);
        buf_init(&wks[i].rec.req, 0);
        buf_init(&wks[i].rec.resp, 0);
        buf_init(&wks[i].rec.aed, 0);
        buf_init(&wks[i].rec.res, 0);
    }
    for (unsigned i = 1; i < o.jobs; i++)
        if (pthread_create(&th[i], NULL, worker_main, &wks[i]) != 0) {
            fprintf(stderr, "vigil-gen-corpus: pthread_create failed\n");
            return 2;
        }
    worker_main(&wks[0]);
    for (unsigned i = 1; i < o.jobs; i++)
        pthread_join(th[i], NULL);

    /* Totals and the per-file table, in job order so they do not depend on --jobs. */
    uint64_t tot[3][6] = { { 0 } }; /* files, records, raw, gz, logins/rejects/nxdomain, attacks */
    uint64_t by_type[4] = { 0 }, ct_errors = 0;
    char tsv[600];
    snprintf(tsv, sizeof(tsv), "%s/files.tsv", o.out);
    struct buf out;
    buf_init(&out, 0);
    put(&out, "# kind\trecords\traw_bytes\tgz_bytes\tconsole_logins\tpath (relative to the corpus dir)\n");
    size_t outlen = strlen(o.out) + 1;
    for (size_t i = 0; i < at; i++) {
        struct job *j = &jobs[i];
        if (j->rc != 0) {
            fprintf(stderr, "vigil-gen-corpus: %s\n", j->msg[0] ? j->msg : "failed");
            rc = 1;
            break;
        }
        uint64_t *t = tot[j->kind];
        t[0]++;
        t[1] += j->records;
        t[2] += j->raw;
        t[3] += j->gz;
        t[4] += j->kind == K_CT ? j->logins : j->errors;
        t[5] += j->attacks;
        if (j->kind == K_CT) {
            ct_errors += j->errors;
            for (int k = 0; k < 4; k++)
                by_type[k] += j->by_type[k];
        }
        put(&out, KIND_NAME[j->kind]);
        putc1(&out, '\t');
        putu(&out, j->records);
        putc1(&out, '\t');
        putu(&out, j->raw);
        putc1(&out, '\t');
        putu(&out, j->gz);
        putc1(&out, '\t');
        putu(&out, j->kind == K_CT ? j->logins : 0);
        putc1(&out, '\t');
        put(&out, j->path + outlen);
        putc1(&out, '\n');
    }
    char msg[256] = "";
    if (rc == 0 && write_file(tsv, out.p, out.len, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "vigil-gen-corpus: %s\n", msg);
        rc = 1;
    }
    if (rc == 0) {
        buf_reset(&out);
        buf_printf(&out,
                   "generator=vigil-gen-corpus %d\nseed=%llu\naccounts=%u\nregions=%u\nstart=%s\ndays=%u\nwith_attacks=%d\n",
                   GEN_VERSION, (unsigned long long)o.seed, o.accounts, o.regions, start, o.days, o.attacks ? 1 : 0);
        for (int k = 0; k < 3; k++)
            buf_printf(&out, "%s_files=%llu\n%s_records=%llu\n%s_raw_bytes=%llu\n%s_gz_bytes=%llu\n%s_attacks=%llu\n",
                       KIND_NAME[k], (unsigned long long)tot[k][0], KIND_NAME[k], (unsigned long long)tot[k][1],
                       KIND_NAME[k], (unsigned long long)tot[k][2], KIND_NAME[k], (unsigned long long)tot[k][3],
                       KIND_NAME[k], (unsigned long long)tot[k][5]);
        buf_printf(&out,
                   "cloudtrail_console_logins=%llu\ncloudtrail_errors=%llu\ncloudtrail_assumed_role=%llu\n"
                   "cloudtrail_iam_user=%llu\ncloudtrail_aws_service=%llu\ncloudtrail_root=%llu\n"
                   "vpcflow_rejects=%llu\ndns_nxdomain=%llu\n",
                   (unsigned long long)tot[0][4], (unsigned long long)ct_errors, (unsigned long long)by_type[0],
                   (unsigned long long)by_type[1], (unsigned long long)by_type[2], (unsigned long long)by_type[3],
                   (unsigned long long)tot[1][4], (unsigned long long)tot[2][4]);
        snprintf(tsv, sizeof(tsv), "%s/MANIFEST", o.out);
        if (write_file(tsv, out.p, out.len, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "vigil-gen-corpus: %s\n", msg);
            rc = 1;
        } else {
            fputs(out.p, stdout);
        }
    }

    buf_free(&out);
    for (unsigned i = 0; i < o.jobs; i++) {
        libdeflate_free_compressor(wks[i].comp);
        buf_free(&wks[i].raw);
        buf_free(&wks[i].rec.req);
        buf_free(&wks[i].rec.resp);
        buf_free(&wks[i].rec.aed);
        buf_free(&wks[i].rec.res);
        free(wks[i].gz);
    }
    free(wks);
    free(th);
    free(jobs);
    free(tb);
    free(w);
    return rc;
}
