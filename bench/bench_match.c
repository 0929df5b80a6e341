/*
 * bench_match: EventBridge pattern matching throughput with 1 and with 10,000
 * rules loaded, on synthetic CloudTrail events in the EventBridge envelope
 * ("detail-type": "AWS API Call via CloudTrail"; ~1.3 KB each, 12 services,
 * 140 API names, CloudTrail-shaped userIdentity, request parameters, errors).
 *
 * Rule mix (as in shared/research/eventbridge.md section 5, "full"): 60%
 * source + detail-type + eventSource + eventName exact, 15% eventName prefix +
 * userIdentity.type, 10% ConsoleLogin failure with anything-but userName, 10%
 * errorCode exists + region, 5% others (cidr, numeric, equals-ignore-case,
 * suffix, $or). Past the first 300 rules the values are made unique so those
 * rules never match, as when adding rules for other accounts or APIs. The
 * 1-rule case loads the first rule only.
 *
 * Per rule count, each the median of the runs:
 *   flatten   json_flatten with the set's path set alone
 *   pipeline  json_flatten with the set's path set, then match_event: what a
 *             worker does per record (the figure the ratio is taken on)
 *   match     pipeline minus flatten, in microseconds per event
 * Events are matched right after they are flattened, as in a worker; matching
 * events flattened long before would mostly measure cache misses.
 *
 * usage: bench_match [-n events] [-r runs] [-k rules] [-s seed]
 */
#include "match/match.h"

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

static const char *const services[] = { "s3",  "ec2", "iam",    "sts", "kms",    "lambda",
                                        "rds", "sns", "sqs", "dynamodb", "logs", "signin" };
#define N_SERVICES 12
static const char *const verbs[] = { "Get", "List", "Describe", "Put", "Create", "Delete",
                                     "Update", "Attach", "Detach", "Start", "Stop", "Modify" };
static const char *const nouns[] = { "Object", "Bucket", "Instance", "Role", "Policy", "User",
                                     "Key",    "Function", "Queue", "Table",  "Topic",  "Group" };
static const char *const regions[] = { "us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2" };
static const char *const users[] = { "alice", "bob", "carol", "deploy-bot", "terraform",
                                     "svc-backup" };
static const char *const errors[] = { "AccessDenied", "ThrottlingException", "NoSuchEntity",
                                      "ValidationException" };

/* API i of service s: 140 names over 12 services, ConsoleLogin for signin. */
static void api_name(struct buf *b, unsigned s, unsigned i)
{
    if (s == 11) {
        buf_append_cstr(b, i % 2 ? "ConsoleLogin" : "CheckMfa");
        return;
    }
    buf_printf(b, "%s%s", verbs[(i + s) % 12], nouns[(i * 7 + s) % 12]);
}

static void gen_event(struct buf *b, struct rng *r)
{
    unsigned s = rn(r, 100) < 30 ? 0 : rn(r, N_SERVICES); /* s3 is the busiest */
    unsigned api = rn(r, 12);
    const char *acct = rn(r, 2) ? "111122223333" : "444455556666";
    const char *region = regions[rn(r, 4)];
    unsigned t = rn(r, 100);
    buf_printf(b, "{\"version\":\"0\",\"id\":\"");
    hex(b, r, 8);
    buf_printf(b, "-");
    hex(b, r, 4);
    buf_printf(b, "-4");
    hex(b, r, 3);
    buf_printf(b, "-8");
    hex(b, r, 3);
    buf_printf(b, "-");
    hex(b, r, 12);
    buf_printf(b, "\",\"detail-type\":\"%s\",\"source\":\"aws.%s\",\"account\":\"%s\","
                  "\"time\":\"2024-03-04T%02u:%02u:%02uZ\",\"region\":\"%s\",\"resources\":[],"
                  "\"detail\":{\"eventVersion\":\"1.08\",\"userIdentity\":",
               s == 11 ? "AWS Console Sign In via CloudTrail" : "AWS API Call via CloudTrail",
               services[s], acct, rn(r, 24), rn(r, 60), rn(r, 60), region);
    if (t < 60) {
        buf_printf(b, "{\"type\":\"AssumedRole\",\"principalId\":\"AROA");
        upper(b, r, 17);
        buf_printf(b, ":session\",\"arn\":\"arn:aws:sts::%s:assumed-role/Admin/session\","
                      "\"accountId\":\"%s\",\"accessKeyId\":\"ASIA",
                   acct, acct);
        upper(b, r, 16);
        buf_printf(b, "\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"arn\":"
                      "\"arn:aws:iam::%s:role/Admin\",\"userName\":\"Admin\"},\"attributes\":"
                      "{\"creationDate\":\"2024-03-04T01:12:44Z\",\"mfaAuthenticated\":\"false\"}}}",
                   acct);
    } else if (t < 90) {
        const char *u = users[rn(r, 6)];
        buf_printf(b, "{\"type\":\"IAMUser\",\"principalId\":\"AIDA");
        upper(b, r, 17);
        buf_printf(b, "\",\"arn\":\"arn:aws:iam::%s:user/%s\",\"accountId\":\"%s\","
                      "\"accessKeyId\":\"AKIA",
                   acct, u, acct);
        upper(b, r, 16);
        buf_printf(b, "\",\"userName\":\"%s\"}", u);
    } else {
        buf_printf(b, "{\"type\":\"AWSService\",\"invokedBy\":\"config.amazonaws.com\"}");
    }
    buf_printf(b, ",\"eventTime\":\"2024-03-04T01:02:03Z\",\"eventSource\":\"%s.amazonaws.com\","
                  "\"eventName\":\"",
               services[s]);
    api_name(b, s, api);
    buf_printf(b, "\",\"awsRegion\":\"%s\",\"sourceIPAddress\":\"", region);
    if (rn(r, 3) == 0)
        buf_printf(b, "10.%u.%u.%u", rn(r, 256), rn(r, 256), rn(r, 256));
    else
        buf_printf(b, "%u.%u.%u.%u", 3 + rn(r, 200), rn(r, 256), rn(r, 256), 1 + rn(r, 254));
    buf_printf(b, "\",\"userAgent\":\"aws-cli/2.13.5 Python/3.11.4 Linux/5.15.0-1040-aws "
                  "exe/x86_64.ubuntu.22 prompt/off command/%s\"",
               services[s]);
    if (rn(r, 10) == 0)
        buf_printf(b, ",\"errorCode\":\"%s\",\"errorMessage\":\"User is not authorized to "
                      "perform this operation\"",
                   errors[rn(r, 4)]);
    buf_printf(b, ",\"requestParameters\":{\"bucketName\":\"bucket-%u\",\"key\":\"logs/2024/03/"
                  "04/object-%u.json.gz\",\"durationSeconds\":%u,\"tags\":[{\"key\":\"env\","
                  "\"value\":\"prod\"},{\"key\":\"team\",\"value\":\"data\"}]}",
               rn(r, 50), rn(r, 100000), 900 * (1 + rn(r, 4)));
    if (s == 11)
        buf_printf(b, ",\"responseElements\":{\"ConsoleLogin\":\"%s\"},\"additionalEventData\":"
                      "{\"MFAUsed\":\"No\",\"LoginTo\":\"https://console.aws.amazon.com/\"}",
                   rn(r, 4) ? "Success" : "Failure");
    else
        buf_printf(b, ",\"responseElements\":{\"requestId\":\"");
    if (s != 11) {
        hex(b, r, 16);
        buf_printf(b, "\",\"x-amz-id-2\":\"");
        hex(b, r, 40);
        buf_printf(b, "\"}");
    }
    buf_printf(b, ",\"requestID\":\"");
    hex(b, r, 16);
    buf_printf(b, "\",\"eventID\":\"");
    hex(b, r, 32);
    buf_printf(b, "\",\"readOnly\":%s,\"resources\":[{\"type\":\"AWS::S3::Object\",\"ARN\":"
                  "\"arn:aws:s3:::bucket-%u/object-%u\"},{\"accountId\":\"%s\",\"type\":"
                  "\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::bucket-%u\"}],\"eventType\":"
                  "\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"%s\","
                  "\"eventCategory\":\"Management\",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\","
                  "\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":"
                  "\"%s.%s.amazonaws.com\"}}}",
               api < 3 ? "true" : "false", rn(r, 50), rn(r, 1000), acct, rn(r, 50), acct,
               services[s], region);
}

/* Rule k; rules past 300 use values no event has. */
static void gen_rule(struct buf *b, struct rng *r, unsigned k)
{
    bool live = k < 300;
    unsigned kind = rn(r, 100);
    unsigned s = rn(r, N_SERVICES - 1), api = rn(r, 12);
    if (kind < 60) {
        buf_printf(b, "{\"source\":[\"aws.%s\"],\"detail-type\":[\"AWS API Call via CloudTrail\"],"
                      "\"detail\":{\"eventSource\":[\"%s.amazonaws.com\"],\"eventName\":[\"",
                   services[s], services[s]);
        api_name(b, s, api);
        if (!live)
            buf_printf(b, "V%u", k);
        buf_printf(b, "\"]}}");
    } else if (kind < 75) {
        /* a verb and the start of a noun, e.g. "DeleteB", as detections name
         * families of calls ("Delete*Bucket*"-like); a bare verb would make
         * these rules match one event in twelve */
        const char *verb = verbs[rn(r, 12)];
        const char *noun = nouns[rn(r, 12)];
        if (live)
            buf_printf(b, "{\"detail\":{\"eventName\":[{\"prefix\":\"%s%.2s\"}],"
                          "\"userIdentity\":{\"type\":[\"%s\"]}}}",
                       verb, noun, rn(r, 2) ? "AssumedRole" : "IAMUser");
        else
            buf_printf(b, "{\"detail\":{\"eventName\":[{\"prefix\":\"%s%.2sX%u\"}],"
                          "\"userIdentity\":{\"type\":[\"IAMUser\"]}}}",
                       verb, noun, k);
    } else if (kind < 85) {
        buf_printf(b, "{\"source\":[\"aws.signin\"],\"detail\":{\"eventName\":[\"ConsoleLogin\"],"
                      "\"responseElements\":{\"ConsoleLogin\":[\"Failure%s\"]},\"userIdentity\":"
                      "{\"userName\":[{\"anything-but\":[\"svc-backup\",\"break-glass-%u\"]}]}}}",
                   live ? "" : "X", k);
    } else if (kind < 95) {
        if (live)
            buf_printf(b, "{\"detail\":{\"errorCode\":[{\"exists\":true}],\"awsRegion\":[\"%s\"]}}",
                       regions[rn(r, 4)]);
        else
            buf_printf(b, "{\"detail\":{\"errorCode\":[\"Err%u\"],\"awsRegion\":[\"%s\"]}}", k,
                       regions[rn(r, 4)]);
    } else {
        switch (rn(r, 5)) {
        case 0:
            buf_printf(b, "{\"detail\":{\"sourceIPAddress\":[{\"cidr\":\"%u.%u.0.0/16\"}]}}",
                       live ? 10 : 240, k % 256);
            break;
        case 1:
            buf_printf(b, "{\"detail\":{\"requestParameters\":{\"durationSeconds\":[{\"numeric\":"
                          "[\">\",%u]}]},\"eventSource\":[\"sts.amazonaws.com\"]}}",
                       live ? 2000 : 100000 + k);
            break;
        case 2:
            buf_printf(b, "{\"detail\":{\"userIdentity\":{\"userName\":[{\"equals-ignore-case\":"
                          "\"%s%s\"}]}}}",
                       live ? "ALICE" : "nobody-", live ? "" : "x");
            break;
        case 3:
            buf_printf(b, "{\"detail\":{\"requestParameters\":{\"key\":[{\"suffix\":\".gz%s\"}]},"
                          "\"eventName\":[\"PutObject\",\"GetObject\"]}}",
                       live ? "" : "x");
            break;
        default:
            buf_printf(b, "{\"source\":[\"aws.iam\"],\"$or\":[{\"detail\":{\"eventName\":[{\"prefix\":"
                          "\"Attach%s\"}]}},{\"detail\":{\"errorCode\":[\"AccessDenied%s\"]}}]}",
                       live ? "" : "X", live ? "" : "X");
            break;
        }
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct events {
    char *text;
    size_t *off, *len;
    size_t n, bytes;
};

struct result {
    double flat_eps, pipe_eps, match_us, build_s;
    size_t matches;
};

struct setup {
    struct match_set *ms;
    struct json_pathset *ps;
    double *tf, *tp; /* per run: flatten alone, flatten + match */
    size_t matches;
};

static void setup_rules(struct setup *st, unsigned n_rules, unsigned runs, uint64_t seed,
                        struct result *res)
{
    st->ms = match_set_new();
    struct rng r = { seed * 7919 + 1 };
    struct buf b;
    buf_init(&b, 0);
    struct err e;
    double t0 = now();
    for (unsigned k = 0; k < n_rules; k++) {
        buf_reset(&b);
        gen_rule(&b, &r, k);
        if (match_set_add(st->ms, b.p, b.len, k, &e) != 0) {
            fprintf(stderr, "bench_match: rule %u: %s\n%s\n", k, e.msg, b.p);
            exit(2);
        }
    }
    match_set_build(st->ms);
    res->build_s = now() - t0;
    buf_free(&b);
    st->ps = json_pathset_new();
    match_set_paths(st->ms, st->ps);
    st->tf = xcalloc(runs, sizeof(double));
    st->tp = xcalloc(runs, sizeof(double));
}

/* One timed pass over the events: flatten with the set's path set and, when
 * match is set, match. Returns seconds. */
static double pass(const struct events *ev, struct setup *st, bool match, struct match_scratch *s,
                   struct arena *a, struct json_flat *f)
{
    struct err e;
    size_t matches = 0;
    double t0 = now();
    for (size_t i = 0; i < ev->n; i++) {
        if (i % 1000 == 0)
            arena_reset(a);
        if (json_flatten(ev->text + ev->off[i], ev->len[i], st->ps, a, f, &e) != 0) {
            fprintf(stderr, "bench_match: event %zu: %s\n", i, e.msg);
            exit(2);
        }
        if (match) {
            const uint32_t *ids;
            matches += match_event(st->ms, f, s, &ids);
        }
    }
    double t = now() - t0;
    if (match)
        st->matches = matches;
    return t;
}

static void finish(struct setup *st, const struct events *ev, unsigned runs, struct result *res)
{
    qsort(st->tf, runs, sizeof(double), dbl_cmp);
    qsort(st->tp, runs, sizeof(double), dbl_cmp);
    res->flat_eps = (double)ev->n / st->tf[runs / 2];
    res->pipe_eps = (double)ev->n / st->tp[runs / 2];
    res->match_us = (st->tp[runs / 2] - st->tf[runs / 2]) * 1e6 / (double)ev->n;
    res->matches = st->matches;
    free(st->tf);
    free(st->tp);
    json_pathset_free(st->ps);
    match_set_free(st->ms);
}

/* The two rule counts are timed in alternating rounds, so that load from
 * other processes falls on both alike. */
static void run_both(const struct events *ev, unsigned k_rules, unsigned runs, uint64_t seed,
                     struct result *one, struct result *many)
{
    struct setup a1, ak;
    setup_rules(&a1, 1, runs, seed, one);
    setup_rules(&ak, k_rules, runs, seed, many);
    struct match_scratch *s = match_scratch_new();
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    pass(ev, &a1, true, s, &a, &f); /* warm-up */
    pass(ev, &ak, true, s, &a, &f);
    for (unsigned r = 0; r < runs; r++) {
        a1.tf[r] = pass(ev, &a1, false, s, &a, &f);
        ak.tf[r] = pass(ev, &ak, false, s, &a, &f);
        a1.tp[r] = pass(ev, &a1, true, s, &a, &f);
        ak.tp[r] = pass(ev, &ak, true, s, &a, &f);
    }
    finish(&a1, ev, runs, one);
    finish(&ak, ev, runs, many);
    json_flat_free(&f);
    arena_free(&a);
    match_scratch_free(s);
}

int main(int argc, char **argv)
{
    size_t n = 20000;
    unsigned runs = 7, k_rules = 10000;
    uint64_t seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-r") == 0)
            runs = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-k") == 0)
            k_rules = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_match [-n events] [-r runs] [-k rules] [-s seed]\n");
            return 1;
        }
    }
    if (n == 0 || runs == 0 || k_rules == 0) {
        fprintf(stderr, "bench_match: -n, -r and -k must be positive\n");
        return 1;
    }
    struct events ev = { 0 };
    struct buf text;
    buf_init(&text, 0);
    ev.off = xmalloc(n * sizeof(size_t));
    ev.len = xmalloc(n * sizeof(size_t));
    struct rng r = { seed };
    for (size_t i = 0; i < n; i++) {
        ev.off[i] = text.len;
        gen_event(&text, &r);
        ev.len[i] = text.len - ev.off[i];
    }
    ev.text = text.p;
    ev.n = n;
    ev.bytes = text.len;
    struct err e;
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    for (size_t i = 0; i < n; i++) {
        arena_reset(&a);
        if (json_flatten(ev.text + ev.off[i], ev.len[i], NULL, &a, &f, &e) != 0) {
            fprintf(stderr, "bench_match: generated event %zu is not valid: %s\n", i, e.msg);
            return 2;
        }
    }
    json_flat_free(&f);
    arena_free(&a);
    printf("bench_match: %zu events, %.0f bytes each on average, %u runs (median)\n", n,
           (double)ev.bytes / (double)n, runs);
    struct result one, many;
    run_both(&ev, k_rules, runs, seed, &one, &many);
    printf("%-8s %10s %14s %14s %12s %10s\n", "rules", "build s", "flatten ev/s",
           "pipeline ev/s", "match us/ev", "matches");
    printf("%-8u %10.3f %14.0f %14.0f %12.3f %10zu\n", 1u, one.build_s, one.flat_eps,
           one.pipe_eps, one.match_us, one.matches);
    printf("%-8u %10.3f %14.0f %14.0f %12.3f %10zu\n", k_rules, many.build_s, many.flat_eps,
           many.pipe_eps, many.match_us, many.matches);
    printf("ratio %u/1 (pipeline events/s): %.2f\n", k_rules, many.pipe_eps / one.pipe_eps);
    free(ev.off);
    free(ev.len);
    buf_free(&text);
    return 0;
}
