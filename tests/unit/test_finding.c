/* Unit tests for src/finding: ids, aggregation, GuardDuty JSON, table. */
#include "finding/finding.h"
#include "harness.h"
#include "sim/sim.h"

#include <stdlib.h>
#include <unistd.h>

/* ---- building events and detections by hand ------------------------------------ */

struct fx {
    struct arena arena;
    struct event ev;
    struct detection det;
};

static void fx_init(struct fx *x)
{
    memset(x, 0, sizeof(*x));
    arena_init(&x->arena, 0);
    json_flat_init(&x->ev.flat);
}

static void fx_free(struct fx *x)
{
    json_flat_free(&x->ev.flat);
    arena_free(&x->arena);
}

/* Flattens record into ev->flat (the text must outlive the event), keeping
 * only the leaves of ps (NULL: all). */
static void fx_event_ps(struct fx *x, enum event_source src, const char *record, const char *id,
                        int64_t ms, const char *account, const char *region,
                        const struct json_pathset *ps);

static void fx_event(struct fx *x, enum event_source src, const char *record, const char *id,
                     int64_t ms, const char *account, const char *region)
{
    fx_event_ps(x, src, record, id, ms, account, region, NULL);
}

static void fx_event_ps(struct fx *x, enum event_source src, const char *record, const char *id,
                        int64_t ms, const char *account, const char *region,
                        const struct json_pathset *ps)
{
    struct err e;
    struct json_flat keep = x->ev.flat; /* reused across events, as a reader does */
    memset(&x->ev, 0, sizeof(x->ev));
    x->ev.flat = keep;
    x->ev.source = src;
    x->ev.time_ms = ms;
    x->ev.id = sv_cstr(id);
    x->ev.account = sv_cstr(account);
    x->ev.region = sv_cstr(region);
    x->ev.raw = sv_cstr(record);
    err_clear(&e);
    int rc = json_flatten(record, strlen(record), ps, &x->arena, &x->ev.flat, &e);
    CHECK_INT(rc, 0);
    if (rc != 0)
        printf("#   flatten: %s\n", e.msg);
}

static void fx_det(struct fx *x, const char *rule, const char *type, double sev,
                   enum detect_resource res, const char *key)
{
    memset(&x->det, 0, sizeof(x->det));
    x->det.rule_id = rule;
    x->det.type = type;
    x->det.severity = sev;
    x->det.title = "Title for test";
    x->det.description = "Description for test";
    x->det.resource = res;
    x->det.key = sv_cstr(key);
    x->det.ev = &x->ev;
}

/* A CloudTrail-shaped detection for key at time ms with event id. */
static void add_ct_title(struct finding_agg *agg, const char *key, const char *id, int64_t ms,
                         const char *rule, double sev, const char *title)
{
    static const char rec[] = "{\"eventName\":\"ListBuckets\"}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_CLOUDTRAIL, rec, id, ms, "111122223333", "us-east-1");
    x.ev.event_name = SV("ListBuckets");
    x.ev.event_source = SV("s3.amazonaws.com");
    x.ev.src_ip = SV("198.51.100.7");
    x.ev.access_key = sv_cstr(key);
    fx_det(&x, rule, "Recon:IAMUser/MaliciousIPCaller.Custom", sev, DETECT_RES_ACCESS_KEY, key);
    if (title != NULL)
        x.det.title = title;
    finding_agg_add(agg, &x.det);
    fx_free(&x);
}

static void add_ct(struct finding_agg *agg, const char *key, const char *id, int64_t ms,
                   const char *rule, double sev)
{
    add_ct_title(agg, key, id, ms, rule, sev, NULL);
}

/* ---- reading the output back ---------------------------------------------------- */

/* Follows a dotted path; "[n]" after a key selects an array element. */
static const struct json_value *jpath(const struct json_value *v, const char *path)
{
    char seg[128];
    const char *p = path;
    while (v != NULL && *p) {
        size_t n = strcspn(p, ".[");
        if (n >= sizeof(seg))
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (n > 0)
            v = json_get(v, seg);
        p += n;
        while (v != NULL && *p == '[') {
            char *end;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (*end != ']' || v->type != JSON_ARRAY || idx >= v->n)
                return NULL;
            v = &v->items[idx];
            p = end + 1;
        }
        if (*p == '.')
            p++;
    }
    return v;
}

static const char *jstr(const struct json_value *root, const char *path)
{
    const struct json_value *v = jpath(root, path);
    return v && v->type == JSON_STRING ? v->str : NULL;
}

static double jnum(const struct json_value *root, const char *path)
{
    const struct json_value *v = jpath(root, path);
    return v && v->type == JSON_NUMBER ? v->num : -12345.0;
}

static int jbool(const struct json_value *root, const char *path)
{
    const struct json_value *v = jpath(root, path);
    return v == NULL ? -1 : v->type == JSON_TRUE ? 1 : v->type == JSON_FALSE ? 0 : -1;
}

static bool jabsent(const struct json_value *root, const char *path)
{
    return jpath(root, path) == NULL;
}

/* Renders one finding and parses it back. */
static const struct json_value *render(const struct finding *f, struct arena *a, struct buf *b)
{
    struct json_writer w;
    struct json_value *root = NULL;
    struct err e;
    buf_reset(b);
    jw_init(&w, b, 0);
    finding_to_json(&w, f);
    err_clear(&e);
    int rc = json_parse(b->p, b->len, a, &root, &e);
    CHECK_INT(rc, 0);
    if (rc != 0)
        printf("#   output is not JSON (%s): %s\n", e.msg, b->p);
    return root;
}

static const struct finding *only(const struct finding_agg *agg)
{
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    CHECK_INT(n, 1);
    const struct finding *f = n ? all[0] : NULL;
    free(all);
    return f;
}

/* The common envelope every finding carries. */
static void check_envelope(const struct json_value *r, const struct finding *f)
{
    CHECK_STR(jstr(r, "schemaVersion"), "2.0");
    CHECK_STR(jstr(r, "accountId"), f->account);
    CHECK_STR(jstr(r, "region"), f->region);
    CHECK_STR(jstr(r, "partition"), "aws");
    CHECK_STR(jstr(r, "id"), f->id);
    CHECK_INT(strlen(f->id), 32);
    char arn[256];
    snprintf(arn, sizeof(arn), "arn:aws:guardduty:%s:%s:detector/%s/finding/%s", f->region,
             f->account, f->detector_id, f->id);
    CHECK_STR(jstr(r, "arn"), arn);
    CHECK_STR(jstr(r, "type"), f->type);
    CHECK_STR(jstr(r, "service.serviceName"), "guardduty");
    CHECK_STR(jstr(r, "service.detectorId"), f->detector_id);
    CHECK_INT(jbool(r, "service.archived"), 0);
    CHECK(jnum(r, "service.count") == (double)f->count);
    CHECK(jnum(r, "service.additionalInfo.vigil.eventCount") == (double)f->count);
    CHECK_STR(jstr(r, "service.additionalInfo.vigil.ruleId"), f->rule_id);
    CHECK(jnum(r, "severity") == f->severity);
    CHECK_STR(jstr(r, "createdAt"), jstr(r, "service.eventFirstSeen"));
    CHECK_STR(jstr(r, "updatedAt"), jstr(r, "service.eventLastSeen"));
    CHECK_STR(jstr(r, "title"), f->title);
    CHECK_STR(jstr(r, "description"), f->description);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_id(void)
{
    char a[33], b[33];
    finding_id(SV("111122223333"), SV("us-east-1"), SV("T:X/Y"), SV("AKIA1"), a);
    CHECK_INT(strlen(a), 32);
    CHECK_INT(strspn(a, "0123456789abcdef"), 32);
    finding_id(SV("111122223333"), SV("us-east-1"), SV("T:X/Y"), SV("AKIA1"), b);
    CHECK_STR(a, b);
    /* Pinned: ids must not change between versions, or re-runs duplicate findings. */
    CHECK_STR(a, "620a834d1d2a949890da1ce2147f87bf");
    const struct sv variants[4][4] = {
        { SV("111122223334"), SV("us-east-1"), SV("T:X/Y"), SV("AKIA1") },
        { SV("111122223333"), SV("us-east-2"), SV("T:X/Y"), SV("AKIA1") },
        { SV("111122223333"), SV("us-east-1"), SV("T:X/Z"), SV("AKIA1") },
        { SV("111122223333"), SV("us-east-1"), SV("T:X/Y"), SV("AKIA2") },
    };
    for (int i = 0; i < 4; i++) {
        finding_id(variants[i][0], variants[i][1], variants[i][2], variants[i][3], b);
        CHECK(strcmp(a, b) != 0);
    }
    /* Field boundaries count: ("ab","c") is not ("a","bc"). */
    finding_id(SV("ab"), SV("c"), SV("t"), SV("k"), a);
    finding_id(SV("a"), SV("bc"), SV("t"), SV("k"), b);
    CHECK(strcmp(a, b) != 0);
    CHECK_STR(finding_severity_label(8.0), "High");
    CHECK_STR(finding_severity_label(7.0), "High");
    CHECK_STR(finding_severity_label(6.9), "Medium");
    CHECK_STR(finding_severity_label(2.0), "Low");
    CHECK_STR(finding_severity_label(9.0), "Critical");
}

static void test_aggregate(void)
{
    struct finding_agg *agg = finding_agg_new();
    /* Out of time order; two keys. */
    add_ct(agg, "AKIAONE", "e3", 3000, "r1", 5.0);
    add_ct(agg, "AKIAONE", "e1", 1000, "r1", 5.0);
    add_ct(agg, "AKIAONE", "e5", 5000, "r1", 6.0);
    add_ct(agg, "AKIAONE", "e2", 2000, "r1", 5.0);
    add_ct(agg, "AKIATWO", "e4", 4000, "r1", 5.0);
    CHECK_INT(finding_agg_count(agg), 2);
    char id[33];
    finding_id(SV("111122223333"), SV("us-east-1"), SV("Recon:IAMUser/MaliciousIPCaller.Custom"),
               SV("AKIAONE"), id);
    const struct finding *f = finding_agg_get(agg, id);
    CHECK(f != NULL);
    if (f == NULL) {
        finding_agg_free(agg);
        return;
    }
    CHECK_INT(f->count, 4);
    CHECK_INT(f->first_ms, 1000);
    CHECK_INT(f->last_ms, 5000);
    CHECK(f->severity == 6.0);
    CHECK_STR(f->rep_event_id, "e1");
    CHECK_INT(f->n_evidence, 4);
    const char *want[] = { "e1", "e2", "e3", "e5" };
    for (size_t i = 0; i < 4 && i < f->n_evidence; i++)
        CHECK_STR(f->evidence[i], want[i]);
    CHECK(finding_agg_get(agg, "00000000000000000000000000000000") == NULL);

    /* Sorted: severity first. */
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    CHECK_INT(n, 2);
    CHECK(all[0] == f);
    CHECK_STR(all[1]->key, "AKIATWO");
    free(all);
    finding_agg_free(agg);
    finding_agg_free(NULL);
}

static void test_evidence_cap(void)
{
    struct finding_agg *agg = finding_agg_new();
    char id[32];
    /* 250 events, latest first, so every early one displaces a kept one. */
    for (int i = 249; i >= 0; i--) {
        snprintf(id, sizeof(id), "ev-%03d", i);
        add_ct(agg, "AKIAX", id, 1000 + i, "r", 5.0);
    }
    add_ct(agg, "AKIAX", "ev-000", 1000, "r", 5.0); /* the same event again */
    const struct finding *f = only(agg);
    if (f != NULL) {
        CHECK_INT(f->count, 251);
        CHECK_INT(f->n_evidence, FINDING_EVIDENCE_MAX);
        CHECK_STR(f->evidence[0], "ev-000");
        CHECK_STR(f->evidence[1], "ev-001");
        CHECK_STR(f->evidence[FINDING_EVIDENCE_MAX - 1], "ev-099");
    }
    finding_agg_free(agg);
}

/* Renders the whole aggregator as JSON lines. */
static char *dump(const struct finding_agg *agg)
{
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(finding_write_jsonl(&b, all, n), 0);
    free(all);
    return b.p ? buf_steal(&b) : xstrdup("");
}

struct spec {
    const char *key, *id, *rule;
    int64_t ms;
    double sev;
};

static void test_order_independent(void)
{
    enum { N = 60 };
    struct spec s[N];
    char ids[N][16];
    const char *keys[] = { "AKIAA", "AKIAB", "AKIAC" };
    const char *rules[] = { "rule-b", "rule-a" };
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "id-%02d", (i * 7) % 23); /* repeats on purpose */
        s[i] = (struct spec){ keys[i % 3], ids[i], rules[i % 2], (int64_t)((i * 37) % 11) * 1000,
                              (double)(3 + i % 4) };
    }
    /* In order, reversed, shuffled, and split across two merged aggregators. */
    struct finding_agg *a = finding_agg_new(), *b = finding_agg_new(), *c = finding_agg_new();
    struct finding_agg *d1 = finding_agg_new(), *d2 = finding_agg_new();
    for (int i = 0; i < N; i++)
        add_ct(a, s[i].key, s[i].id, s[i].ms, s[i].rule, s[i].sev);
    for (int i = N - 1; i >= 0; i--)
        add_ct(b, s[i].key, s[i].id, s[i].ms, s[i].rule, s[i].sev);
    for (int i = 0; i < N; i++) {
        int j = (i * 17 + 5) % N; /* 17 is coprime with 60: a permutation */
        add_ct(c, s[j].key, s[j].id, s[j].ms, s[j].rule, s[j].sev);
        add_ct(i % 2 ? d1 : d2, s[j].key, s[j].id, s[j].ms, s[j].rule, s[j].sev);
    }
    finding_agg_merge(d2, d1);
    CHECK_INT(finding_agg_count(d1), 0);
    char *ja = dump(a), *jb = dump(b), *jc = dump(c), *jd = dump(d2);
    CHECK(strlen(ja) > 100);
    CHECK_STR(ja, jb);
    CHECK_STR(ja, jc);
    CHECK_STR(ja, jd);
    free(ja);
    free(jb);
    free(jc);
    free(jd);
    finding_agg_free(a);
    finding_agg_free(b);
    finding_agg_free(c);
    finding_agg_free(d1);
    finding_agg_free(d2);
}

static void test_merge_overlap(void)
{
    struct finding_agg *x = finding_agg_new(), *y = finding_agg_new();
    add_ct(x, "AKIAM", "b", 2000, "r", 4.0);
    add_ct(x, "AKIAN", "n", 2000, "r", 4.0);
    add_ct(y, "AKIAM", "a", 1000, "r", 7.5);
    add_ct(y, "AKIAM", "c", 9000, "r", 4.0);
    finding_agg_merge(x, y);
    CHECK_INT(finding_agg_count(x), 2);
    CHECK_INT(finding_agg_count(y), 0);
    size_t n;
    const struct finding **all = finding_agg_sorted(x, &n);
    CHECK_INT(n, 2);
    if (n == 2) {
        const struct finding *f = all[0];
        CHECK_STR(f->key, "AKIAM");
        CHECK_INT(f->count, 3);
        CHECK(f->severity == 7.5);
        CHECK_INT(f->first_ms, 1000);
        CHECK_INT(f->last_ms, 9000);
        CHECK_STR(f->rep_event_id, "a");
        CHECK_INT(f->n_evidence, 3);
        CHECK_STR(f->evidence[0], "a");
        CHECK_STR(f->evidence[2], "c");
    }
    free(all);
    finding_agg_free(x);
    finding_agg_free(y);
}

static void test_json_access_key(void)
{
    static const char rec[] =
        "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":"
        "\"AIDAEXAMPLE\",\"userName\":\"alice\",\"accessKeyId\":\"AKIAEXAMPLE\"},"
        "\"eventName\":\"DescribeInstances\",\"eventSource\":\"ec2.amazonaws.com\","
        "\"errorCode\":\"AccessDenied\",\"sourceIPAddress\":\"198.51.100.7\"}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_CLOUDTRAIL, rec, "6f8e-1", 1700000000123, "111122223333", "eu-west-1");
    x.ev.principal_type = SV("IAMUser");
    x.ev.principal_id = SV("AIDAEXAMPLE");
    x.ev.user_name = SV("alice");
    x.ev.access_key = SV("AKIAEXAMPLE");
    x.ev.event_name = SV("DescribeInstances");
    x.ev.event_source = SV("ec2.amazonaws.com");
    x.ev.error_code = SV("AccessDenied");
    x.ev.src_ip = SV("198.51.100.7");
    x.ev.user_agent = SV("aws-cli/2.15.0 \"quoted\"");
    fx_det(&x, "vigil.recon.custom", "Recon:IAMUser/MaliciousIPCaller.Custom", 5.0,
           DETECT_RES_ACCESS_KEY, "AKIAEXAMPLE");
    x.det.threat_list = "MyThreats";
    x.det.indicator = SV("198.51.100.7");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x); /* the finding must not point into the event */

    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct finding *f = only(agg);
    const struct json_value *r = f ? render(f, &a, &b) : NULL;
    if (r != NULL) {
        check_envelope(r, f);
        CHECK_STR(jstr(r, "region"), "eu-west-1");
        CHECK_STR(jstr(r, "resource.resourceType"), "AccessKey");
        CHECK_STR(jstr(r, "resource.accessKeyDetails.accessKeyId"), "AKIAEXAMPLE");
        CHECK_STR(jstr(r, "resource.accessKeyDetails.principalId"), "AIDAEXAMPLE");
        CHECK_STR(jstr(r, "resource.accessKeyDetails.userName"), "alice");
        CHECK_STR(jstr(r, "resource.accessKeyDetails.userType"), "IAMUser");
        CHECK(jabsent(r, "resource.instanceDetails"));
        CHECK_STR(jstr(r, "service.action.actionType"), "AWS_API_CALL");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.api"), "DescribeInstances");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.serviceName"), "ec2.amazonaws.com");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.callerType"), "Remote IP");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4"),
                  "198.51.100.7");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.errorCode"), "AccessDenied");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.userAgent"), "aws-cli/2.15.0 \"quoted\"");
        CHECK_STR(jstr(r, "service.resourceRole"), "TARGET");
        CHECK_STR(jstr(r, "service.additionalInfo.threatListName"), "MyThreats");
        CHECK_STR(jstr(r, "service.evidence.threatIntelligenceDetails[0].threatListName"),
                  "MyThreats");
        CHECK_STR(jstr(r, "service.evidence.threatIntelligenceDetails[0].threatNames[0]"),
                  "198.51.100.7");
        CHECK_STR(jstr(r, "service.additionalInfo.vigil.eventIds[0]"), "6f8e-1");
        CHECK_STR(jstr(r, "service.eventFirstSeen"), "2023-11-14T22:13:20.123Z");
        CHECK_STR(jstr(r, "service.eventLastSeen"), "2023-11-14T22:13:20.123Z");
        CHECK(jnum(r, "severity") == 5.0);
    }
    arena_free(&a);
    buf_free(&b);
    finding_agg_free(agg);
}

static void test_json_domain_caller(void)
{
    static const char rec[] = "{\"eventName\":\"PutRolePolicy\"}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_CLOUDTRAIL, rec, "ev-9", 0, "123456789012", "cn-north-1");
    x.ev.event_name = SV("PutRolePolicy");
    x.ev.event_source = SV("iam.amazonaws.com");
    x.ev.src_ip = SV("cloudformation.amazonaws.com");
    fx_det(&x, "r", "PrivilegeEscalation:IAMUser/AdministrativePermissions", 8.0,
           DETECT_RES_ACCESS_KEY, "ASIAKEY");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct finding *f = only(agg);
    const struct json_value *r = f ? render(f, &a, &b) : NULL;
    if (r != NULL) {
        CHECK_STR(jstr(r, "partition"), "aws-cn");
        CHECK(strncmp(jstr(r, "arn") ? jstr(r, "arn") : "", "arn:aws-cn:guardduty:cn-north-1:", 32) == 0);
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.callerType"), "Domain");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.domainDetails.domain"),
                  "cloudformation.amazonaws.com");
        CHECK(jabsent(r, "service.action.awsApiCallAction.remoteIpDetails"));
        CHECK(jabsent(r, "service.action.awsApiCallAction.errorCode"));
        /* The key names the access key when the event has none. */
        CHECK_STR(jstr(r, "resource.accessKeyDetails.accessKeyId"), "ASIAKEY");
        CHECK(jabsent(r, "service.additionalInfo.threatListName"));
        CHECK(jabsent(r, "service.evidence"));
        CHECK_STR(jstr(r, "createdAt"), "1970-01-01T00:00:00.000Z");
    }
    arena_free(&a);
    buf_free(&b);
    finding_agg_free(agg);
}

static void test_json_s3(void)
{
    static const char rec[] =
        "{\"eventName\":\"GetObject\",\"requestParameters\":{\"bucketName\":\"my-data\","
        "\"key\":\"a/b.csv\"}}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_CLOUDTRAIL, rec, "s3-ev", 1000, "111122223333", "us-gov-west-1");
    x.ev.event_name = SV("GetObject");
    x.ev.event_source = SV("s3.amazonaws.com");
    x.ev.src_ip = SV("2001:db8::5");
    x.ev.access_key = SV("ASIATEMP");
    x.ev.principal_type = SV("AssumedRole");
    fx_det(&x, "s3.tor", "UnauthorizedAccess:S3/TorIPCaller", 5.0, DETECT_RES_S3_BUCKET,
           "my-data");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct finding *f = only(agg);
    const struct json_value *r = f ? render(f, &a, &b) : NULL;
    if (r != NULL) {
        CHECK_STR(jstr(r, "partition"), "aws-us-gov");
        CHECK_STR(jstr(r, "resource.resourceType"), "S3Bucket");
        CHECK_STR(jstr(r, "resource.s3BucketDetails[0].name"), "my-data");
        CHECK_STR(jstr(r, "resource.s3BucketDetails[0].arn"), "arn:aws-us-gov:s3:::my-data");
        CHECK_STR(jstr(r, "resource.s3BucketDetails[0].type"), "Destination");
        CHECK_STR(jstr(r, "resource.accessKeyDetails.accessKeyId"), "ASIATEMP");
        CHECK_STR(jstr(r, "resource.accessKeyDetails.userType"), "AssumedRole");
        CHECK_STR(jstr(r, "service.action.actionType"), "AWS_API_CALL");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.remoteIpDetails.ipAddressV6"),
                  "2001:db8::5");
        CHECK_STR(jstr(r, "service.action.awsApiCallAction.affectedResources.AWS::S3::Bucket"),
                  "arn:aws-us-gov:s3:::my-data");
        CHECK_STR(jstr(r, "service.resourceRole"), "TARGET");
    }
    arena_free(&a);
    buf_free(&b);
    finding_agg_free(agg);
}

static void test_json_flow(void)
{
    /* An outbound connection to a listed address: the listed end is remote. */
    static const char rec[] =
        "{\"version\":5,\"account-id\":\"111122223333\",\"interface-id\":\"eni-0a1b\","
        "\"srcaddr\":\"10.0.1.15\",\"dstaddr\":\"203.0.113.50\",\"srcport\":40000,"
        "\"dstport\":443,\"protocol\":6,\"action\":\"ACCEPT\",\"instance-id\":\"i-0abc\","
        "\"vpc-id\":\"vpc-1\",\"subnet-id\":\"subnet-2\"}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_VPCFLOW, rec, "flow-1", 1795168800000, "111122223333", "us-east-1");
    x.ev.src_ip = SV("10.0.1.15");
    fx_det(&x, "ec2.c2", "Backdoor:EC2/C&CActivity.B", 8.0, DETECT_RES_INSTANCE, "i-0abc");
    x.det.threat_list = "c2";
    x.det.indicator = SV("203.0.113.50");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct finding *f = only(agg);
    const struct json_value *r = f ? render(f, &a, &b) : NULL;
    if (r != NULL) {
        check_envelope(r, f);
        CHECK_STR(jstr(r, "resource.resourceType"), "Instance");
        CHECK_STR(jstr(r, "resource.instanceDetails.instanceId"), "i-0abc");
        CHECK_STR(jstr(r, "resource.instanceDetails.networkInterfaces[0].networkInterfaceId"),
                  "eni-0a1b");
        CHECK_STR(jstr(r, "resource.instanceDetails.networkInterfaces[0].privateIpAddress"),
                  "10.0.1.15");
        CHECK_STR(jstr(r, "resource.instanceDetails.networkInterfaces[0].vpcId"), "vpc-1");
        CHECK_STR(jstr(r, "resource.instanceDetails.networkInterfaces[0].subnetId"), "subnet-2");
        const char *p = "service.action.networkConnectionAction.";
        char path[128];
#define NCA(s) (snprintf(path, sizeof(path), "%s%s", p, s), path)
        CHECK_STR(jstr(r, "service.action.actionType"), "NETWORK_CONNECTION");
        CHECK_STR(jstr(r, NCA("connectionDirection")), "OUTBOUND");
        CHECK_STR(jstr(r, NCA("remoteIpDetails.ipAddressV4")), "203.0.113.50");
        CHECK_STR(jstr(r, NCA("localIpDetails.ipAddressV4")), "10.0.1.15");
        CHECK(jnum(r, NCA("remotePortDetails.port")) == 443);
        CHECK_STR(jstr(r, NCA("remotePortDetails.portName")), "HTTPS");
        CHECK(jnum(r, NCA("localPortDetails.port")) == 40000);
        CHECK_STR(jstr(r, NCA("localPortDetails.portName")), "Unknown");
        CHECK_STR(jstr(r, NCA("protocol")), "TCP");
        CHECK_INT(jbool(r, NCA("blocked")), 0);
        CHECK_STR(jstr(r, NCA("localNetworkInterface")), "eni-0a1b");
#undef NCA
        CHECK_STR(jstr(r, "service.resourceRole"), "ACTOR");
        CHECK_STR(jstr(r, "service.evidence.threatIntelligenceDetails[0].threatNames[0]"),
                  "203.0.113.50");
        CHECK_STR(jstr(r, "service.eventFirstSeen"), "2026-11-20T10:00:00.000Z");
    }
    arena_free(&a);
    buf_free(&b);
    finding_agg_free(agg);
}

static void test_json_port_probe(void)
{
    /* Inbound and rejected, no instance-id field: the key names the instance. */
    static const char rec[] =
        "{\"srcaddr\":\"45.33.32.156\",\"dstaddr\":\"172.31.9.69\",\"srcport\":49761,"
        "\"dstport\":3389,\"protocol\":6,\"action\":\"REJECT\",\"interface-id\":\"eni-9\"}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_VPCFLOW, rec, "flow-2", 1418530010000, "123456789010", "us-west-2");
    fx_det(&x, "ec2.probe", "Recon:EC2/PortProbeUnprotectedPort", 2.0, DETECT_RES_INSTANCE,
           "i-0def");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct finding *f = only(agg);
    const struct json_value *r = f ? render(f, &a, &b) : NULL;
    if (r != NULL) {
        check_envelope(r, f);
        CHECK_STR(jstr(r, "resource.instanceDetails.instanceId"), "i-0def");
        CHECK_STR(jstr(r, "service.action.actionType"), "PORT_PROBE");
        CHECK_INT(jbool(r, "service.action.portProbeAction.blocked"), 1);
        const char *d = "service.action.portProbeAction.portProbeDetails[0].";
        char path[128];
        snprintf(path, sizeof(path), "%slocalPortDetails.port", d);
        CHECK(jnum(r, path) == 3389);
        snprintf(path, sizeof(path), "%slocalPortDetails.portName", d);
        CHECK_STR(jstr(r, path), "RDP");
        snprintf(path, sizeof(path), "%sremoteIpDetails.ipAddressV4", d);
        CHECK_STR(jstr(r, path), "45.33.32.156");
        snprintf(path, sizeof(path), "%slocalIpDetails.ipAddressV4", d);
        CHECK_STR(jstr(r, path), "172.31.9.69");
        CHECK(jabsent(r, "service.action.networkConnectionAction"));
        CHECK_STR(jstr(r, "service.resourceRole"), "TARGET");
    }
    arena_free(&a);
    buf_free(&b);
    finding_agg_free(agg);
}

static void test_json_dns(void)
{
    static const char rec[] =
        "{\"version\":\"1.100000\",\"account_id\":\"111122223333\",\"region\":\"us-east-1\","
        "\"vpc_id\":\"vpc-7\",\"query_timestamp\":\"2021-02-04T17:51:55Z\",\"query_name\":"
        "\"GuardDutyC2ActivityB.com.\",\"query_type\":\"A\",\"srcaddr\":\"10.0.0.5\","
        "\"srcport\":\"56067\",\"transport\":\"UDP\",\"srcids\":{\"instance\":\"i-0d15\"},"
        "\"firewall_rule_action\":\"BLOCK\"}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_DNS, rec, "dns-1", 1612461115000, "111122223333", "us-east-1");
    fx_det(&x, "dns.c2", "Backdoor:EC2/C&CActivity.B!DNS", 8.0, DETECT_RES_INSTANCE, "i-0d15");
    x.det.threat_list = "c2-domains";
    x.det.indicator = SV("guarddutyc2activityb.com");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct finding *f = only(agg);
    const struct json_value *r = f ? render(f, &a, &b) : NULL;
    if (r != NULL) {
        check_envelope(r, f);
        CHECK_STR(jstr(r, "resource.instanceDetails.instanceId"), "i-0d15");
        CHECK_STR(jstr(r, "resource.instanceDetails.networkInterfaces[0].vpcId"), "vpc-7");
        CHECK_STR(jstr(r, "service.action.actionType"), "DNS_REQUEST");
        CHECK_STR(jstr(r, "service.action.dnsRequestAction.domain"), "GuardDutyC2ActivityB.com");
        CHECK_STR(jstr(r, "service.action.dnsRequestAction.protocol"), "UDP");
        CHECK_INT(jbool(r, "service.action.dnsRequestAction.blocked"), 1);
        CHECK_STR(jstr(r, "service.resourceRole"), "ACTOR");
        CHECK_STR(jstr(r, "service.additionalInfo.threatListName"), "c2-domains");
        CHECK_STR(jstr(r, "service.eventFirstSeen"), "2021-02-04T17:51:55.000Z");
    }
    arena_free(&a);
    buf_free(&b);
    finding_agg_free(agg);
}


/* finding_add_paths names every leaf the details read: a finding built from
 * leaves flattened with just those paths is the one built from all leaves,
 * and one built from none of them is not. */
static void render_with(enum event_source src, const char *rec, const struct json_pathset *ps,
                        enum detect_resource res, struct buf *out)
{
    struct fx x;
    fx_init(&x);
    fx_event_ps(&x, src, rec, "ev-1", 1612461115000, "111122223333", "us-east-1", ps);
    fx_det(&x, "r.1", "T:X/Y", 5.0, res, "key-1");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    const struct finding *f = only(agg);
    struct json_writer w;
    buf_reset(out);
    jw_init(&w, out, 0);
    if (f)
        finding_to_json(&w, f);
    finding_agg_free(agg);
}

static void test_add_paths(void)
{
    static const struct {
        enum event_source src;
        enum detect_resource res;
        const char *rec;
    } cases[] = {
        { EVENT_CLOUDTRAIL, DETECT_RES_INSTANCE,
          "{\"eventName\":\"RunInstances\",\"requestParameters\":{\"instancesSet\":{\"items\":"
          "[{\"instanceId\":\"i-0abc\",\"imageId\":\"ami-1\"}]},\"other\":{\"x\":1}}}" },
        { EVENT_CLOUDTRAIL, DETECT_RES_S3_BUCKET,
          "{\"eventName\":\"PutBucketAcl\",\"requestParameters\":{\"bucketName\":\"b-1\","
          "\"instanceId\":\"i-9\",\"AccessControlPolicy\":{\"x\":1}}}" },
        { EVENT_DNS, DETECT_RES_INSTANCE,
          "{\"version\":\"1.100000\",\"vpc_id\":\"vpc-7\",\"query_name\":\"a.example.\","
          "\"query_type\":\"A\",\"srcaddr\":\"10.0.0.5\",\"srcport\":\"56067\",\"transport\":"
          "\"UDP\",\"srcids\":{\"instance\":\"i-0d15\"},\"firewall_rule_action\":\"BLOCK\"}" },
    };
    struct buf all, some, none;
    buf_init(&all, 0);
    buf_init(&some, 0);
    buf_init(&none, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_pathset *ps = json_pathset_new(), *empty = json_pathset_new();
        finding_add_paths(ps, cases[i].src);
        render_with(cases[i].src, cases[i].rec, NULL, cases[i].res, &all);
        render_with(cases[i].src, cases[i].rec, ps, cases[i].res, &some);
        render_with(cases[i].src, cases[i].rec, empty, cases[i].res, &none);
        CHECK(all.len > 0);
        CHECK_STR(some.p, all.p);
        CHECK(strcmp(none.p, all.p) != 0);
        json_pathset_free(ps);
        json_pathset_free(empty);
    }
    buf_free(&all);
    buf_free(&some);
    buf_free(&none);
}

static void test_get_findings_json(void)
{
    struct finding_agg *agg = finding_agg_new();
    add_ct(agg, "AKIALOW", "l1", 5000, "r", 2.0);
    add_ct(agg, "AKIAHIGH2", "h2", 9000, "r", 8.0);
    add_ct(agg, "AKIAHIGH1", "h1", 1000, "r", 8.0);
    add_ct(agg, "AKIAMED", "m1", 100, "r", 5.5);
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    CHECK_INT(n, 4);
    for (int indent = 0; indent <= 2; indent += 2) {
        struct buf b;
        struct arena a;
        struct json_value *root = NULL;
        struct err e;
        buf_init(&b, 0);
        arena_init(&a, 0);
        CHECK_INT(finding_write_json(&b, all, n, indent), 0);
        CHECK_INT(json_parse(b.p, b.len, &a, &root, &e), 0);
        const struct json_value *arr = root ? json_get(root, "Findings") : NULL;
        CHECK(arr != NULL && arr->type == JSON_ARRAY && arr->n == 4);
        if (arr != NULL && arr->n == 4) {
            /* Severity descending, then first seen. */
            CHECK_STR(jstr(&arr->items[0], "resource.accessKeyDetails.accessKeyId"), "AKIAHIGH1");
            CHECK_STR(jstr(&arr->items[1], "resource.accessKeyDetails.accessKeyId"), "AKIAHIGH2");
            CHECK_STR(jstr(&arr->items[2], "resource.accessKeyDetails.accessKeyId"), "AKIAMED");
            CHECK_STR(jstr(&arr->items[3], "resource.accessKeyDetails.accessKeyId"), "AKIALOW");
            CHECK(jnum(&arr->items[2], "severity") == 5.5);
        }
        if (indent > 0)
            CHECK(strstr(b.p, "\n    {\n      \"schemaVersion\"") != NULL);
        else
            CHECK(strchr(b.p, '\n') == NULL);
        buf_free(&b);
        arena_free(&a);
    }
    /* JSON lines: one parseable finding per line. */
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(finding_write_jsonl(&b, all, n), 0);
    size_t lines = 0;
    for (const char *p = b.p, *nl; p && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        struct arena a;
        struct json_value *root = NULL;
        struct err e;
        arena_init(&a, 0);
        CHECK_INT(json_parse(p, (size_t)(nl - p), &a, &root, &e), 0);
        CHECK(root && jstr(root, "id") && strcmp(jstr(root, "id"), all[lines]->id) == 0);
        arena_free(&a);
        lines++;
    }
    CHECK_INT(lines, 4);
    /* A capped output buffer fails cleanly. */
    buf_free(&b);
    buf_init(&b, 300);
    CHECK_INT(finding_write_json(&b, all, n, 2), ERR_LIMIT);
    buf_free(&b);
    /* No findings: an empty list, still an object. */
    buf_init(&b, 0);
    CHECK_INT(finding_write_json(&b, NULL, 0, 0), 0);
    CHECK_STR(b.p, "{\"Findings\":[]}");
    buf_free(&b);
    free(all);
    finding_agg_free(agg);
}

static void test_table(void)
{
    struct finding_agg *agg = finding_agg_new();
    add_ct(agg, "AKIAHIGH", "h1", 1700000000000, "r", 8.0);
    add_ct(agg, "AKIAHIGH", "h2", 1700000060000, "r", 8.0);
    add_ct(agg, "AKIALOW", "l1", 1700000000000, "r", 2.0);
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(finding_write_table(&b, all, n, NULL), 0);
    /* Header, two rows, a count line. */
    const char *p = b.p ? b.p : "";
    CHECK(strncmp(p, "SEVERITY", 8) == 0);
    CHECK(strstr(p, "TYPE") && strstr(p, "RESOURCE") && strstr(p, "COUNT") && strstr(p, "TITLE"));
    CHECK(strstr(p, "\nHigh     8.0") != NULL);
    CHECK(strstr(p, "\nLow      2.0") != NULL);
    CHECK(strstr(p, "AccessKey AKIAHIGH") != NULL);
    CHECK(strstr(p, "2023-11-14 22:13:20") != NULL);
    CHECK(strstr(p, "2023-11-14 22:14:20") != NULL);
    CHECK(strstr(p, "2 findings\n") != NULL);
    CHECK(strchr(p, '\033') == NULL);
    /* Columns line up: TYPE starts at the same offset on every line. */
    const char *l1 = strchr(p, '\n') + 1, *l2 = strchr(l1, '\n') + 1;
    size_t at0 = (size_t)(strstr(p, "TYPE") - p);
    CHECK(strncmp(l1 + at0, "Recon:IAMUser", 13) == 0);
    CHECK(strncmp(l2 + at0, "Recon:IAMUser", 13) == 0);
    /* The count column is right-aligned under its header. */
    size_t count_end = (size_t)(strstr(p, "COUNT") - p) + 5;
    CHECK(l1[count_end - 1] == '2' && l1[count_end] == ' ');
    CHECK(l2[count_end - 1] == '1');

    /* Colour on request; a narrow terminal shortens titles. */
    add_ct_title(agg, "AKIALONG", "x1", 1700000000000, "r", 5.0,
                 "A very long title that goes on and on about what happened here");
    free(all);
    all = finding_agg_sorted(agg, &n);
    buf_reset(&b);
    struct finding_table_opts o = { .color = true, .width = 100 };
    CHECK_INT(finding_write_table(&b, all, n, &o), 0);
    CHECK(strstr(b.p, "\033[1;31mHigh") != NULL);
    CHECK(strstr(b.p, "\033[0m") != NULL);
    CHECK(strstr(b.p, "A very long title...\n") != NULL);
    CHECK(strstr(b.p, "goes on") == NULL);
    buf_reset(&b);
    CHECK_INT(finding_write_table(&b, NULL, 0, NULL), 0);
    CHECK_STR(b.p, "No findings.\n");
    buf_free(&b);
    free(all);
    finding_agg_free(agg);
}

static const struct json_value *render_asff(const struct finding *f, struct arena *a, struct buf *b)
{
    struct json_writer w;
    struct json_value *root = NULL;
    struct err e;
    buf_reset(b);
    jw_init(&w, b, 0);
    finding_to_asff(&w, f);
    err_clear(&e);
    CHECK_INT(json_parse(b->p, b->len, a, &root, &e), 0);
    return root;
}

static void test_asff(void)
{
    static const char rec[] =
        "{\"srcaddr\":\"10.0.1.15\",\"dstaddr\":\"203.0.113.50\",\"srcport\":40000,"
        "\"dstport\":25,\"protocol\":6,\"action\":\"ACCEPT\",\"instance-id\":\"i-0abc\","
        "\"vpc-id\":\"vpc-1\",\"flow-direction\":\"egress\"}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_VPCFLOW, rec, "flow-9", 1000, "111122223333", "us-east-1");
    fx_det(&x, "ec2.spam", "Backdoor:EC2/Spambot", 5.0, DETECT_RES_INSTANCE, "i-0abc");
    x.det.threat_list = "spam-list";
    x.det.indicator = SV("203.0.113.50");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct finding *f = only(agg);
    const struct json_value *r = f ? render_asff(f, &a, &b) : NULL;
    if (r != NULL) {
        /* Every attribute Security Hub requires. */
        const char *req[] = { "SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId",
                              "Types", "CreatedAt", "UpdatedAt", "Severity", "Title",
                              "Description", "Resources" };
        for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
            CHECK(!jabsent(r, req[i]));
        CHECK_STR(jstr(r, "SchemaVersion"), "2018-10-08");
        char arn[200];
        snprintf(arn, sizeof(arn), "arn:aws:guardduty:us-east-1:111122223333:detector/%s/finding/%s",
                 f->detector_id, f->id);
        CHECK_STR(jstr(r, "Id"), arn);
        CHECK_STR(jstr(r, "ProductArn"),
                  "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default");
        CHECK_STR(jstr(r, "GeneratorId"), "vigil/ec2.spam");
        CHECK_STR(jstr(r, "Types[0]"), "TTPs/Command and Control/Backdoor:EC2-Spambot");
        CHECK_STR(jstr(r, "Severity.Label"), "MEDIUM");
        CHECK_STR(jstr(r, "Severity.Original"), "5");
        CHECK_STR(jstr(r, "CreatedAt"), "1970-01-01T00:00:01.000Z");
        CHECK_STR(jstr(r, "Resources[0].Type"), "AwsEc2Instance");
        CHECK_STR(jstr(r, "Resources[0].Id"), "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc");
        CHECK_STR(jstr(r, "Resources[0].Details.AwsEc2Instance.VpcId"), "vpc-1");
        CHECK_STR(jstr(r, "Resources[0].Details.AwsEc2Instance.IpV4Addresses[0]"), "10.0.1.15");
        CHECK_STR(jstr(r, "Network.Direction"), "OUT");
        CHECK_STR(jstr(r, "Network.SourceIpV4"), "10.0.1.15");
        CHECK_STR(jstr(r, "Network.DestinationIpV4"), "203.0.113.50");
        CHECK(jnum(r, "Network.DestinationPort") == 25);
        CHECK_STR(jstr(r, "Action.ActionType"), "NETWORK_CONNECTION");
        CHECK_STR(jstr(r, "Action.NetworkConnectionAction.ConnectionDirection"), "OUT");
        CHECK_STR(jstr(r, "Action.NetworkConnectionAction.RemotePortDetails.PortName"), "SMTP");
        CHECK_STR(jstr(r, "ThreatIntelIndicators[0].Type"), "IPV4_ADDRESS");
        CHECK_STR(jstr(r, "ThreatIntelIndicators[0].Value"), "203.0.113.50");
        CHECK_STR(jstr(r, "ThreatIntelIndicators[0].Source"), "spam-list");
        CHECK_STR(jstr(r, "ProductFields.vigil/eventIds"), "flow-9");
        CHECK_STR(jstr(r, "Workflow.Status"), "NEW");
        CHECK_STR(jstr(r, "RecordState"), "ACTIVE");
    }
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    buf_reset(&b);
    CHECK_INT(finding_write_asff(&b, all, n, 2), 0);
    struct json_value *root = NULL;
    struct err e;
    CHECK_INT(json_parse(b.p, b.len, &a, &root, &e), 0);
    const struct json_value *list = root ? json_get(root, "Findings") : NULL;
    CHECK(list != NULL && list->n == 1);
    free(all);
    arena_free(&a);
    buf_free(&b);
    finding_agg_free(agg);
}

/* A detection without an event (a detector that fires on a window) still
 * makes a finding, with empty account and region. */
static void test_no_event(void)
{
    struct detection d = { .rule_id = "r", .type = "Policy:IAMUser/RootCredentialUsage",
                           .severity = 2.0, .title = "t", .description = "d",
                           .resource = DETECT_RES_ACCESS_KEY, .key = SV("root") };
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &d);
    finding_agg_add(agg, &d);
    const struct finding *f = only(agg);
    if (f != NULL) {
        CHECK_INT(f->count, 2);
        CHECK_INT(f->n_evidence, 0);
        struct arena a;
        struct buf b;
        arena_init(&a, 0);
        buf_init(&b, 0);
        const struct json_value *r = render(f, &a, &b);
        CHECK_STR(jstr(r, "accountId"), "");
        CHECK_STR(jstr(r, "service.action.actionType"), "AWS_API_CALL");
        arena_free(&a);
        buf_free(&b);
    }
    finding_agg_free(agg);
}

static bool has_member(const struct json_value *obj, const char *key)
{
    return obj != NULL && obj->type == JSON_OBJECT && json_get(obj, key) != NULL;
}

/* Every key we write at the top level and under service must exist in real
 * GuardDuty findings (Panther's labelled GuardDuty samples), and the real
 * top-level keys must all be there. */
static void test_real_shape(void)
{
    const char *root = harness_datasets();
    if (root == NULL)
        return;
    char path[1024];
    snprintf(path, sizeof(path), "%s/panther-analysis-labeled-tests/tests_AWS_GuardDuty.jsonl", root);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        printf("# skip: %s not found\n", path);
        return;
    }
    struct buf text;
    buf_init(&text, 0);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&text, chunk, got);
    fclose(fp);

    /* Our finding: an API call with a list hit, so evidence is written too. */
    struct finding_agg *agg = finding_agg_new();
    add_ct(agg, "AKIAREAL", "e1", 1000, "r", 8.0);
    struct arena a;
    struct buf out;
    arena_init(&a, 0);
    buf_init(&out, 0);
    const struct finding *f = only(agg);
    const struct json_value *ours = f ? render(f, &a, &out) : NULL;

    size_t checked = 0;
    for (const char *line = text.p, *nl; ours && line && (nl = strchr(line, '\n')) != NULL;
         line = nl + 1) {
        struct json_value *rec = NULL;
        struct err e;
        if (json_parse(line, (size_t)(nl - line), &a, &rec, &e) != 0)
            continue;
        const struct json_value *real = json_get(rec, "log");
        const struct json_value *rsvc = real ? json_get(real, "service") : NULL;
        if (rsvc == NULL || json_get(rsvc, "action") == NULL)
            continue; /* attack sequences have no action */
        for (size_t i = 0; i < ours->n; i++) {
            /* These samples were trimmed of "resource", which the API marks required. */
            if (strcmp(ours->items[i].key, "resource") == 0)
                continue;
            if (!has_member(real, ours->items[i].key)) {
                printf("#   top-level key %s not in the real finding\n", ours->items[i].key);
                harness_failures++;
            }
        }
        for (size_t i = 0; i < real->n; i++) {
            if (!has_member(ours, real->items[i].key)) {
                printf("#   real key %s missing from ours\n", real->items[i].key);
                harness_failures++;
            }
        }
        const struct json_value *osvc = json_get(ours, "service");
        for (size_t i = 0; osvc && i < osvc->n; i++) {
            if (!has_member(rsvc, osvc->items[i].key)) {
                printf("#   service key %s not in the real finding\n", osvc->items[i].key);
                harness_failures++;
            }
        }
        /* Same JSON types for the shared scalars. */
        CHECK_INT(jpath(ours, "severity")->type, jpath(real, "severity")->type);
        CHECK_INT(jpath(ours, "service.count")->type, jpath(real, "service.count")->type);
        CHECK_INT(jpath(ours, "service.archived")->type, jpath(real, "service.archived")->type);
        CHECK_STR(jstr(ours, "service.action.actionType"), jstr(real, "service.action.actionType"));
        checked++;
    }
    CHECK(checked > 0);
    printf("# compared with %zu real GuardDuty findings\n", checked);
    arena_free(&a);
    buf_free(&out);
    buf_free(&text);
    finding_agg_free(agg);
}

static void test_ocsf(void)
{
    static const char rec[] =
        "{\"query_name\":\"evil.example.com.\",\"srcaddr\":\"10.0.0.5\",\"srcport\":\"5353\","
        "\"transport\":\"UDP\",\"srcids\":{\"instance\":\"i-0d15\"}}";
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_DNS, rec, "dns-7", 5000, "111122223333", "us-east-1");
    fx_det(&x, "dns.custom", "Impact:EC2/MaliciousDomainRequest.Custom", 5.0, DETECT_RES_INSTANCE,
           "i-0d15");
    x.det.threat_list = "mine";
    x.det.indicator = SV("evil.example.com");
    struct finding_agg *agg = finding_agg_new();
    finding_agg_add(agg, &x.det);
    fx_event(&x, EVENT_DNS, rec, "dns-8", 9000, "111122223333", "us-east-1");
    finding_agg_add(agg, &x.det);
    fx_free(&x);
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    struct buf b;
    struct arena a;
    struct json_value *r = NULL;
    struct err e;
    buf_init(&b, 0);
    arena_init(&a, 0);
    CHECK_INT(finding_write_ocsf(&b, all, n), 0);
    CHECK(b.len > 0 && b.p[b.len - 1] == '\n' && strchr(b.p, '\n') == b.p + b.len - 1);
    CHECK_INT(json_parse(b.p, b.len, &a, &r, &e), 0);
    if (r != NULL) {
        CHECK(jnum(r, "class_uid") == 2004);
        CHECK(jnum(r, "category_uid") == 2);
        CHECK(jnum(r, "activity_id") == 1);
        CHECK(jnum(r, "type_uid") == 200401);
        CHECK(jnum(r, "severity_id") == 3);
        CHECK(jnum(r, "time") == 9000);
        CHECK(jnum(r, "finding_info.first_seen_time") == 5000);
        CHECK(jnum(r, "finding_info.last_seen_time") == 9000);
        CHECK(jnum(r, "count") == 2);
        CHECK_STR(jstr(r, "metadata.version"), "1.1.0");
        CHECK_STR(jstr(r, "metadata.product.name"), "Vigil");
        CHECK_STR(jstr(r, "finding_info.types[0]"), "Impact:EC2/MaliciousDomainRequest.Custom");
        CHECK_STR(jstr(r, "finding_info.analytic.uid"), "dns.custom");
        CHECK(strstr(jstr(r, "finding_info.uid") ? jstr(r, "finding_info.uid") : "", all[0]->id) != NULL);
        CHECK_STR(jstr(r, "cloud.provider"), "AWS");
        CHECK_STR(jstr(r, "cloud.account.uid"), "111122223333");
        CHECK_STR(jstr(r, "resources[0].type"), "AwsEc2Instance");
        CHECK_STR(jstr(r, "resources[0].name"), "i-0d15");
        CHECK_STR(jstr(r, "evidences[0].query.hostname"), "evil.example.com");
        CHECK_STR(jstr(r, "evidences[0].src_endpoint.ip"), "10.0.0.5");
        CHECK(jnum(r, "evidences[0].src_endpoint.port") == 5353);
        CHECK_STR(jstr(r, "unmapped.vigil.eventIds[1]"), "dns-8");
        CHECK_STR(jstr(r, "unmapped.vigil.threatListName"), "mine");
    }
    free(all);
    buf_free(&b);
    arena_free(&a);
    finding_agg_free(agg);
}

static bool slurp(const char *path, struct buf *out)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        printf("# skip: %s not found\n", path);
        return false;
    }
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(out, chunk, got);
    fclose(fp);
    return true;
}

/* Real records from the AWS docs, through the event module's common fields,
 * into findings: the details must be the record's. */
static void test_real_records(void)
{
    const char *root = harness_datasets();
    if (root == NULL)
        return;
    char path[1024];
    struct buf text;
    struct arena a;
    struct buf out;
    struct err e;
    buf_init(&text, 0);
    buf_init(&out, 0);
    arena_init(&a, 0);
    snprintf(path, sizeof(path), "%s/aws-docs-log-samples/cloudtrail/"
             "cloudtrail-log-file-examples__08__error-code-and-message-log-example.json", root);
    struct finding_agg *agg = finding_agg_new();
    if (slurp(path, &text)) {
        /* The one record inside {"Records":[...]}. */
        struct json_value *doc = NULL;
        CHECK_INT(json_parse(text.p, text.len, &a, &doc, &e), 0);
        const struct json_value *recs = doc ? json_get(doc, "Records") : NULL;
        CHECK(recs != NULL && recs->n == 1);
        size_t start = recs && recs->n ? recs->items[0].offset : 0, end = start;
        CHECK_INT(json_skip_value(text.p, text.len, &end, &e), 0);
        struct event ev;
        memset(&ev, 0, sizeof(ev));
        json_flat_init(&ev.flat);
        ev.source = EVENT_CLOUDTRAIL;
        CHECK_INT(json_flatten(text.p + start, end - start, NULL, &a, &ev.flat, &e), 0);
        CHECK_INT(event_fill_common(&ev, &a, &e), 0);
        struct detection d = { .rule_id = "cloudtrail.update", .type = "Stealth:IAMUser/CloudTrailLoggingDisabled",
                               .severity = 2.0, .title = "t", .description = "d",
                               .resource = DETECT_RES_ACCESS_KEY, .key = ev.access_key, .ev = &ev };
        finding_agg_add(agg, &d);
        json_flat_free(&ev.flat);
        const struct finding *f = only(agg);
        const struct json_value *r = f ? render(f, &a, &out) : NULL;
        if (r != NULL) {
            CHECK_STR(jstr(r, "accountId"), "123456789012");
            CHECK_STR(jstr(r, "region"), "us-east-2");
            CHECK_STR(jstr(r, "resource.accessKeyDetails.accessKeyId"), "EXAMPLE_KEY_ID");
            CHECK_STR(jstr(r, "resource.accessKeyDetails.principalId"), "EX_PRINCIPAL_ID");
            CHECK_STR(jstr(r, "resource.accessKeyDetails.userName"), "Alice");
            CHECK_STR(jstr(r, "resource.accessKeyDetails.userType"), "IAMUser");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.api"), "UpdateTrail");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.serviceName"), "cloudtrail.amazonaws.com");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4"),
                      "205.251.233.182");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.errorCode"), "TrailNotFoundException");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.userAgent"),
                      "aws-cli/1.10.32 Python/2.7.9 Windows/7 botocore/1.4.22");
            CHECK_STR(jstr(r, "service.eventFirstSeen"), "2016-07-14T19:15:45.000Z");
            CHECK_STR(jstr(r, "service.additionalInfo.vigil.eventIds[0]"),
                      "b7d4398e-b2f0-4faa-9c76-e2d316a8d67f");
        }
    }
    finding_agg_free(agg);

    buf_reset(&text);
    agg = finding_agg_new();
    snprintf(path, sizeof(path), "%s/aws-docs-log-samples/route53resolver/"
             "resolver-query-logs-example-json__00__route-53-resolver-query-log-example.json", root);
    if (slurp(path, &text)) {
        struct event ev;
        memset(&ev, 0, sizeof(ev));
        json_flat_init(&ev.flat);
        ev.source = EVENT_DNS;
        CHECK_INT(json_flatten(text.p, text.len, NULL, &a, &ev.flat, &e), 0);
        CHECK_INT(event_fill_common(&ev, &a, &e), 0);
        struct detection d = { .rule_id = "dns.list", .type = "Trojan:EC2/DropPoint!DNS",
                               .severity = 5.0, .title = "t", .description = "d",
                               .resource = DETECT_RES_INSTANCE, .key = SV("i-0d15cd0d3example"),
                               .threat_list = "drop", .indicator = SV("in-addr.arpa"), .ev = &ev };
        finding_agg_add(agg, &d);
        json_flat_free(&ev.flat);
        const struct finding *f = only(agg);
        const struct json_value *r = f ? render(f, &a, &out) : NULL;
        if (r != NULL) {
            CHECK_STR(jstr(r, "accountId"), "111122223333");
            CHECK_STR(jstr(r, "region"), "us-east-1");
            CHECK_STR(jstr(r, "resource.instanceDetails.instanceId"), "i-0d15cd0d3example");
            CHECK_STR(jstr(r, "resource.instanceDetails.networkInterfaces[0].vpcId"), "vpc-7example");
            CHECK_STR(jstr(r, "resource.instanceDetails.networkInterfaces[0].privateIpAddress"),
                      "4.5.64.102");
            CHECK_STR(jstr(r, "service.action.dnsRequestAction.domain"), "15.3.4.32.in-addr.arpa");
            CHECK_STR(jstr(r, "service.action.dnsRequestAction.protocol"), "UDP");
            CHECK_INT(jbool(r, "service.action.dnsRequestAction.blocked"), 1);
            CHECK_STR(jstr(r, "service.eventFirstSeen"), "2021-02-04T17:51:55.000Z");
        }
    }
    finding_agg_free(agg);
    buf_free(&text);
    buf_free(&out);
    arena_free(&a);
}

/* ---- enrichment ------------------------------------------------------------------ */

static void add_flow(struct finding_agg *agg, const char *remote, const char *id)
{
    char rec[512];
    snprintf(rec, sizeof(rec),
             "{\"srcaddr\":\"10.0.1.5\",\"dstaddr\":\"%s\",\"srcport\":40000,\"dstport\":443,"
             "\"protocol\":6,\"action\":\"ACCEPT\",\"interface-id\":\"eni-1\",\"flow-direction\":\"egress\"}",
             remote);
    struct fx x;
    fx_init(&x);
    fx_event(&x, EVENT_VPCFLOW, rec, id, 1000, "111122223333", "us-east-1");
    fx_det(&x, "r-flow", "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", 5.0,
           DETECT_RES_INSTANCE, id);
    finding_agg_add(agg, &x.det);
    fx_free(&x);
}

static void tmp_name(char *out, size_t cap, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, cap, "%s/vigil-finding-%ld-%s", t && *t ? t : "/tmp", (long)getpid(), name);
}

static void test_enrich(void)
{
    char city[256], asn[256];
    tmp_name(city, sizeof(city), "city.mmdb");
    tmp_name(asn, sizeof(asn), "asn.mmdb");
    struct err e;
    err_clear(&e);
    struct sim_mmdb *w = sim_mmdb_new("GeoLite2-City");
    CHECK_INT(sim_mmdb_insert(w, "198.51.100.0/24",
                           "{\"city\":{\"names\":{\"en\":\"Lyon\"}},\"country\":{\"iso_code\":\"FR\","
                           "\"names\":{\"en\":\"France\"}},\"location\":{\"latitude\":45.75,"
                           "\"longitude\":4.85}}",
                           &e),
              0);
    CHECK_INT(sim_mmdb_insert(w, "2001:db8::/32", "{\"country_code\":\"JP\"}", &e), 0);
    CHECK_INT(sim_mmdb_write(w, city, &e), 0);
    sim_mmdb_free(w);
    w = sim_mmdb_new("GeoLite2-ASN");
    CHECK_INT(sim_mmdb_insert(w, "198.51.100.0/24",
                           "{\"autonomous_system_number\":64511,"
                           "\"autonomous_system_organization\":\"Example Net\"}",
                           &e),
              0);
    CHECK_INT(sim_mmdb_write(w, asn, &e), 0);
    sim_mmdb_free(w);
    struct geo_db *g = NULL;
    CHECK_INT(geo_open(city, asn, &g, &e), 0);

    struct finding_agg *agg = finding_agg_new();
    add_ct(agg, "AKIAEXAMPLE1", "e1", 1000, "r1", 5.0);   /* caller 198.51.100.7 */
    add_flow(agg, "2001:db8::77", "i-0v6");                /* v6 remote */
    add_flow(agg, "192.0.2.44", "i-0none");                /* not in either database */
    /* By ids first: only the findings named (and found) are looked up. */
    {
        size_t n0;
        const struct finding **fs0 = finding_agg_sorted(agg, &n0);
        char ids[3][33];
        size_t nid = 0;
        for (size_t i = 0; i < n0; i++)
            if (fs0[i]->resource != DETECT_RES_ACCESS_KEY)
                memcpy(ids[nid++], fs0[i]->id, 33);
        memcpy(ids[nid++], "00000000000000000000000000000000", 33); /* not in agg */
        CHECK_INT(nid, 3);
        CHECK_INT(finding_agg_enrich_ids(agg, g, (const char(*)[33])ids, nid), 1); /* the v6 one */
        for (size_t i = 0; i < n0; i++)
            if (fs0[i]->resource == DETECT_RES_ACCESS_KEY)
                CHECK(fs0[i]->d.remote_geo.city == NULL); /* not named: untouched */
        CHECK_INT(finding_agg_enrich_ids(agg, NULL, (const char(*)[33])ids, nid), 0);
        free(fs0);
    }
    CHECK_INT(finding_agg_enrich(agg, g), 2);
    CHECK_INT(finding_agg_enrich(agg, NULL), 0);

    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        const struct json_value *r = render(all[i], &a, &b);
        if (all[i]->resource == DETECT_RES_ACCESS_KEY) {
            const char *p = "service.action.awsApiCallAction.remoteIpDetails.";
            char path[160];
#define RIP(x) (snprintf(path, sizeof(path), "%s%s", p, x), path)
            CHECK_STR(jstr(r, RIP("ipAddressV4")), "198.51.100.7");
            CHECK_STR(jstr(r, RIP("country.countryCode")), "FR");
            CHECK_STR(jstr(r, RIP("country.countryName")), "France");
            CHECK_STR(jstr(r, RIP("city.cityName")), "Lyon");
            CHECK(jnum(r, RIP("geoLocation.lat")) == 45.75);
            CHECK(jnum(r, RIP("geoLocation.lon")) == 4.85);
            CHECK_STR(jstr(r, RIP("organization.asn")), "64511");
            CHECK_STR(jstr(r, RIP("organization.asnOrg")), "Example Net");
            CHECK_STR(jstr(r, RIP("organization.isp")), "Example Net");
            CHECK_STR(jstr(r, RIP("organization.org")), "Example Net");
#undef RIP
            /* The same in Security Hub's format and in OCSF. */
            struct buf ab;
            struct json_writer jw;
            struct json_value *ar = NULL;
            buf_init(&ab, 0);
            jw_init(&jw, &ab, 0);
            finding_to_asff(&jw, all[i]);
            CHECK_INT(json_parse(ab.p, ab.len, &a, &ar, NULL), 0);
            const struct json_value *rid = jpath(ar, "Action.AwsApiCallAction.RemoteIpDetails");
            CHECK_STR(jstr(rid, "Country.CountryName"), "France");
            CHECK_STR(jstr(rid, "City.CityName"), "Lyon");
            CHECK(jnum(rid, "Organization.Asn") == 64511);
            CHECK(jnum(rid, "GeoLocation.Lat") == 45.75);
            buf_reset(&ab);
            jw_init(&jw, &ab, 0);
            finding_to_ocsf(&jw, all[i]);
            CHECK_INT(json_parse(ab.p, ab.len, &a, &ar, NULL), 0);
            const struct json_value *src = jpath(ar, "evidences[0].src_endpoint");
            CHECK_STR(jstr(src, "location.country"), "FR");
            CHECK_STR(jstr(src, "location.city"), "Lyon");
            CHECK(jnum(src, "location.coordinates[0]") == 4.85);
            CHECK(jnum(src, "autonomous_system.number") == 64511);
            CHECK_STR(jstr(src, "autonomous_system.name"), "Example Net");
            buf_free(&ab);
        } else if (strcmp(all[i]->key, "i-0v6") == 0) {
            const char *p = "service.action.networkConnectionAction.remoteIpDetails";
            char path[160];
            snprintf(path, sizeof(path), "%s.country.countryName", p);
            CHECK_STR(jstr(r, path), "Japan"); /* named from the code */
            snprintf(path, sizeof(path), "%s.organization", p);
            CHECK(jabsent(r, path));
            snprintf(path, sizeof(path), "%s.ipAddressV6", p);
            CHECK_STR(jstr(r, path), "2001:db8::77");
        } else {
            CHECK(jabsent(r, "service.action.networkConnectionAction.remoteIpDetails.country"));
            CHECK_STR(jstr(r, "service.action.networkConnectionAction.remoteIpDetails.ipAddressV4"),
                      "192.0.2.44");
            /* the local side is never enriched */
            CHECK(jabsent(r, "service.action.networkConnectionAction.localIpDetails.country"));
        }
    }
    free(all);
    finding_agg_free(agg);
    geo_close(g);
    buf_free(&b);
    arena_free(&a);
    unlink(city);
    unlink(asn);
}

/* ---- suppression rules ------------------------------------------------------------- */

static int load_filters(struct finding_filters *fs, const char *text, struct err *e)
{
    err_clear(e);
    return finding_filters_load_text(fs, "t.json", text, strlen(text), e);
}

static void test_filter_load(void)
{
    static const struct {
        const char *text;
        int rc;
        const char *msg; /* substring of the error */
    } cases[] = {
        { "{\"Criterion\":{\"type\":{\"Eq\":[\"A:B/C\"]}}}", 0, NULL },
        { "{\"Name\":\"n\",\"Action\":\"ARCHIVE\",\"FindingCriteria\":{\"Criterion\":{\"severity\":"
          "{\"Gte\":4,\"LessThan\":7}}}}",
          0, NULL },
        { "[{\"Criterion\":{\"type\":{\"Equals\":[\"x\"]}}},{\"Criterion\":{\"region\":"
          "{\"NotEquals\":[\"us-east-1\"]}}}]",
          0, NULL },
        { "{\"Filters\":[{\"Criterion\":{\"type\":{\"Eq\":[\"x\"]}}}]}", 0, NULL },
        { "Criterion:\n  type:\n    Eq: [\"Recon:EC2/Portscan\"]\n  severity:\n    Gt: 2\n", 0, NULL },
        { "---\nCriterion: {type: {Eq: [a]}}\n---\nName: two\nAction: NOOP\nFindingCriteria:\n"
          "  Criterion: {type: {Eq: [b]}}\n",
          0, NULL },
        { "{\"Criterion\":{\"type\":{\"Like\":[\"x\"]}}}", ERR_FORMAT, "unknown operator \"Like\"" },
        { "{\"Criterion\":{\"type\":{\"Eq\":\"x\"}}}", ERR_FORMAT, "non-empty list" },
        { "{\"Criterion\":{\"type\":{\"Eq\":[]}}}", ERR_FORMAT, "non-empty list" },
        { "{\"Criterion\":{\"type\":{\"Eq\":[{\"a\":1}]}}}", ERR_FORMAT, "values are strings" },
        { "{\"Criterion\":{\"severity\":{\"Gt\":\"high\"}}}", ERR_FORMAT, "takes a number" },
        { "{\"Criterion\":{}}", ERR_FORMAT, "non-empty object" },
        { "{\"Criterion\":{\"type\":\"x\"}}", ERR_FORMAT, "object of operators" },
        { "{\"Name\":\"n\"}", ERR_FORMAT, "needs \"Criterion\"" },
        { "{\"Criterion\":{\"type\":{\"Eq\":[\"x\"]}},\"Acton\":\"ARCHIVE\"}", ERR_FORMAT,
          "unknown filter field \"Acton\"" },
        { "{\"Action\":\"DELETE\",\"Criterion\":{\"type\":{\"Eq\":[\"x\"]}}}", ERR_FORMAT,
          "ARCHIVE or NOOP" },
        { "{\"Criterion\":{\"type\":{\"Eq\":[\"x\"]}}", ERR_FORMAT, NULL },
        { "Criterion:\n  type: {Eq: [x]\n", ERR_FORMAT, "line " },
        { "", ERR_FORMAT, "no filter" },
        { "{\"Filters\":{}}", ERR_FORMAT, "is a list" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct finding_filters *fs = finding_filters_new();
        struct err e;
        int rc = load_filters(fs, cases[i].text, &e);
        CHECK_INT(rc, cases[i].rc);
        if (cases[i].msg != NULL && strstr(e.msg, cases[i].msg) == NULL) {
            printf("#   case %zu: message \"%s\" lacks \"%s\"\n", i, e.msg, cases[i].msg);
            harness_failures++;
        }
        if (rc != 0)
            CHECK_INT(finding_filters_count(fs) + finding_filters_noop(fs), 0);
        finding_filters_free(fs);
    }

    /* Counts, NOOP filters, and GuardDuty's limits. */
    struct finding_filters *fs = finding_filters_new();
    struct err e;
    CHECK_INT(load_filters(fs, cases[5].text, &e), 0);
    CHECK_INT(finding_filters_count(fs), 1);
    CHECK_INT(finding_filters_noop(fs), 1);
    struct buf b;
    buf_init(&b, 0);
    buf_append_cstr(&b, "{\"Criterion\":{\"type\":{\"Eq\":[");
    for (int i = 0; i < 51; i++)
        buf_printf(&b, "%s\"t%d\"", i ? "," : "", i);
    buf_append_cstr(&b, "]}}}");
    CHECK_INT(load_filters(fs, b.p, &e), ERR_LIMIT);
    buf_reset(&b);
    buf_append_cstr(&b, "{\"Criterion\":{");
    for (int i = 0; i < 51; i++)
        buf_printf(&b, "%s\"f%d\":{\"Eq\":[\"x\"]}", i ? "," : "", i);
    buf_append_cstr(&b, "}}");
    CHECK_INT(load_filters(fs, b.p, &e), ERR_LIMIT);
    /* a failed file adds nothing */
    CHECK_INT(finding_filters_count(fs), 1);
    buf_free(&b);
    err_clear(&e);
    CHECK_INT(finding_filters_load(fs, "/nonexistent/suppress.json", &e), ERR_IO);
    CHECK_STR(e.file, "/nonexistent/suppress.json");
    finding_filters_free(fs);
}

/* Is the finding with this key archived after applying text? */
static bool archived_by(const char *text, const struct finding *f)
{
    struct finding_filters *fs = finding_filters_new();
    struct err e;
    int rc = load_filters(fs, text, &e);
    CHECK_INT(rc, 0);
    if (rc != 0)
        printf("#   %s\n", e.msg);
    bool hit = finding_filters_match(fs, f) != NULL;
    finding_filters_free(fs);
    return hit;
}

static void test_filter_match(void)
{
    struct finding_agg *agg = finding_agg_new();
    /* 2026-11-20T10:00:00Z = 1795168800000 */
    add_ct(agg, "AKIAEXAMPLE1", "e1", 1795168800000LL, "r1", 5.0);
    add_flow(agg, "203.0.113.9", "i-0flow");
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    CHECK_INT(n, 2);
    const struct finding *ct = all[0]->resource == DETECT_RES_ACCESS_KEY ? all[0] : all[1];
    const struct finding *fl = ct == all[0] ? all[1] : all[0];

    CHECK(archived_by("{\"Criterion\":{\"type\":{\"Eq\":[\"Recon:IAMUser/MaliciousIPCaller.Custom\"]}}}", ct));
    CHECK(!archived_by("{\"Criterion\":{\"type\":{\"Eq\":[\"Recon:IAMUser/MaliciousIPCaller\"]}}}", ct));
    /* several values of one field are ORed */
    CHECK(archived_by("{\"Criterion\":{\"accountId\":{\"Eq\":[\"000000000000\",\"111122223333\"]}}}", ct));
    /* fields are ANDed */
    CHECK(!archived_by("{\"Criterion\":{\"accountId\":{\"Eq\":[\"111122223333\"]},\"region\":{\"Eq\":[\"eu-west-1\"]}}}", ct));
    CHECK(archived_by("{\"Criterion\":{\"accountId\":{\"Eq\":[\"111122223333\"]},\"region\":{\"Eq\":[\"us-east-1\"]}}}", ct));
    /* numbers: severity 5.0 */
    CHECK(archived_by("{\"Criterion\":{\"severity\":{\"Gte\":4,\"Lt\":7}}}", ct));
    CHECK(!archived_by("{\"Criterion\":{\"severity\":{\"GreaterThan\":5}}}", ct));
    CHECK(archived_by("{\"Criterion\":{\"severity\":{\"GreaterThanOrEqual\":5}}}", ct));
    CHECK(archived_by("{\"Criterion\":{\"severity\":{\"Eq\":[\"5\"]}}}", ct));
    CHECK(archived_by("{\"Criterion\":{\"severity\":{\"LessThanOrEqual\":\"5\"}}}", ct));
    /* timestamps compare as epoch milliseconds */
    CHECK(archived_by("{\"Criterion\":{\"updatedAt\":{\"Gte\":1795168800000}}}", ct));
    CHECK(!archived_by("{\"Criterion\":{\"updatedAt\":{\"Gt\":1795168800000}}}", ct));
    CHECK(archived_by("{\"Criterion\":{\"service.eventFirstSeen\":{\"Lt\":1795168800001}}}", ct));
    /* nested paths, as GuardDuty names them */
    CHECK(archived_by("{\"Criterion\":{\"resource.accessKeyDetails.accessKeyId\":{\"Eq\":[\"AKIAEXAMPLE1\"]}}}", ct));
    CHECK(archived_by("{\"Criterion\":{\"service.action.awsApiCallAction.remoteIpDetails.ipAddressV4\":{\"Eq\":[\"198.51.100.7\"]}}}", ct));
    CHECK(!archived_by("{\"Criterion\":{\"service.action.awsApiCallAction.remoteIpDetails.ipAddressV4\":{\"Neq\":[\"198.51.100.7\"]}}}", ct));
    /* booleans as GuardDuty writes them in criteria */
    CHECK(archived_by("{\"Criterion\":{\"service.archived\":{\"Eq\":[\"false\"]},\"type\":{\"Eq\":[\"Recon:IAMUser/MaliciousIPCaller.Custom\"]}}}", ct));
    /* Neq on an absent field holds; Eq and numeric operators need the field */
    CHECK(archived_by("{\"Criterion\":{\"resource.s3BucketDetails.name\":{\"Neq\":[\"b\"]}}}", ct));
    CHECK(!archived_by("{\"Criterion\":{\"resource.s3BucketDetails.name\":{\"Eq\":[\"b\"]}}}", ct));
    CHECK(!archived_by("{\"Criterion\":{\"service.action.networkConnectionAction.remotePortDetails.port\":{\"Gt\":0}}}", ct));
    /* flows: fields inside the networkInterfaces array, ports as numbers */
    CHECK(archived_by("{\"Criterion\":{\"resource.instanceDetails.networkInterfaces.privateIpAddress\":{\"Eq\":[\"10.0.1.5\"]}}}", fl));
    CHECK(archived_by("{\"Criterion\":{\"service.action.networkConnectionAction.remotePortDetails.port\":{\"Eq\":[\"443\"]}}}", fl));
    CHECK(archived_by("{\"Criterion\":{\"service.resourceRole\":{\"Eq\":[\"ACTOR\"]}}}", fl));
    /* YAML spelling */
    CHECK(archived_by("Name: scanners\nAction: ARCHIVE\nFindingCriteria:\n  Criterion:\n"
                      "    service.action.networkConnectionAction.remoteIpDetails.ipAddressV4:\n"
                      "      Eq: [203.0.113.9]\n", fl));

    /* Archiving a whole set, and hiding what it archived. */
    struct finding_filters *fs = finding_filters_new();
    struct err e;
    CHECK_INT(load_filters(fs, "{\"Name\":\"flows-off\",\"Criterion\":{\"resource.resourceType\":{\"Eq\":[\"Instance\"]}}}", &e), 0);
    /* By ids: the CloudTrail finding alone is evaluated, the flow stays as it was. */
    CHECK_INT(finding_agg_archive_ids(agg, fs, (const char(*)[33])ct->id, 1), 0);
    CHECK(!fl->archived);
    CHECK_INT(finding_agg_archive_ids(agg, fs, (const char(*)[33])fl->id, 1), 1);
    CHECK(fl->archived);
    CHECK_INT(finding_agg_archive(agg, fs), 1);
    CHECK(fl->archived && !ct->archived);
    CHECK_STR(fl->archived_by, "flows-off");
    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    const struct json_value *r = render(fl, &a, &b);
    CHECK_INT(jbool(r, "service.archived"), 1);
    CHECK_STR(jstr(r, "service.additionalInfo.vigil.archivedBy"), "flows-off");
    r = render(ct, &a, &b);
    CHECK_INT(jbool(r, "service.archived"), 0);
    CHECK(jabsent(r, "service.additionalInfo.vigil.archivedBy"));
    CHECK_INT(finding_drop_archived(all, n), 1);
    CHECK(all[0] == ct);
    /* re-applying with no matching rule un-archives */
    finding_filters_free(fs);
    fs = finding_filters_new();
    CHECK_INT(load_filters(fs, "{\"Criterion\":{\"type\":{\"Eq\":[\"nothing\"]}}}", &e), 0);
    CHECK_INT(finding_agg_archive(agg, fs), 0);
    CHECK(!fl->archived && fl->archived_by == NULL);
    finding_filters_free(fs);
    free(all);
    finding_agg_free(agg);
    buf_free(&b);
    arena_free(&a);
}

/* ---- samples ------------------------------------------------------------------------ */

static void test_sample(void)
{
    static const struct finding_sample_spec specs[] = {
        { "Stealth:IAMUser/CloudTrailLoggingDisabled", 2.0, DETECT_RES_ACCESS_KEY, EVENT_CLOUDTRAIL,
          "cloudtrail-logging-stopped", "StopLogging", "cloudtrail.amazonaws.com", NULL },
        { "UnauthorizedAccess:EC2/SSHBruteForce", 2.0, DETECT_RES_INSTANCE, EVENT_VPCFLOW, NULL,
          NULL, NULL, NULL },
        { "Recon:EC2/PortProbeUnprotectedPort", 2.0, DETECT_RES_INSTANCE, EVENT_VPCFLOW, NULL, NULL,
          NULL, NULL },
        { "Trojan:EC2/DNSDataExfiltration", 8.0, DETECT_RES_INSTANCE, EVENT_DNS, NULL, NULL, NULL,
          NULL },
        { "Discovery:S3/MaliciousIPCaller.Custom", 8.0, DETECT_RES_S3_BUCKET, EVENT_CLOUDTRAIL,
          "threatlist-s3-discovery", NULL, NULL, NULL },
    };
    struct finding_agg *agg = finding_agg_new();
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        finding_sample_add(agg, &specs[i], "123456789012", "eu-west-1", 1700000000000LL);
    /* the same type again is the same sample */
    finding_sample_add(agg, &specs[0], "123456789012", "eu-west-1", 1700000000000LL);
    CHECK_INT(finding_agg_count(agg), 5);

    struct arena a;
    struct buf b;
    arena_init(&a, 0);
    buf_init(&b, 0);
    size_t n;
    const struct finding **all = finding_agg_sorted(agg, &n);
    for (size_t i = 0; i < n; i++) {
        const struct finding *f = all[i];
        const struct json_value *r = render(f, &a, &b);
        CHECK_INT(jbool(r, "service.additionalInfo.sample"), 1);
        CHECK(strncmp(jstr(r, "title") ? jstr(r, "title") : "", "[SAMPLE] ", 9) == 0);
        CHECK_STR(jstr(r, "accountId"), "123456789012");
        CHECK_STR(jstr(r, "region"), "eu-west-1");
        CHECK(jnum(r, "service.count") == 1);
        CHECK(jpath(r, "service.additionalInfo.vigil.eventIds[0]") != NULL);
        const char *t = f->type;
        if (strcmp(t, specs[0].type) == 0) {
            CHECK_STR(jstr(r, "service.action.actionType"), "AWS_API_CALL");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.api"), "StopLogging");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.serviceName"), "cloudtrail.amazonaws.com");
            CHECK_STR(jstr(r, "resource.resourceType"), "AccessKey");
            CHECK_STR(jstr(r, "resource.accessKeyDetails.userType"), "IAMUser");
            CHECK(jstr(r, "service.action.awsApiCallAction.remoteIpDetails.country.countryName") != NULL);
            CHECK(jstr(r, "service.action.awsApiCallAction.remoteIpDetails.organization.asn") != NULL);
            CHECK_STR(jstr(r, "service.additionalInfo.vigil.ruleId"), "cloudtrail-logging-stopped");
            CHECK(f->severity == 2.0);
        } else if (strcmp(t, specs[1].type) == 0) {
            CHECK_STR(jstr(r, "service.action.actionType"), "NETWORK_CONNECTION");
            CHECK_STR(jstr(r, "service.action.networkConnectionAction.connectionDirection"), "INBOUND");
            CHECK(jnum(r, "service.action.networkConnectionAction.localPortDetails.port") == 22);
            CHECK_STR(jstr(r, "service.resourceRole"), "TARGET");
            CHECK_STR(jstr(r, "resource.instanceDetails.instanceId"), "i-0a1b2c3d4e5f67890");
        } else if (strcmp(t, specs[2].type) == 0) {
            CHECK_STR(jstr(r, "service.action.actionType"), "PORT_PROBE");
            CHECK(jstr(r, "service.action.portProbeAction.portProbeDetails[0].remoteIpDetails.ipAddressV4") != NULL);
        } else if (strcmp(t, specs[3].type) == 0) {
            CHECK_STR(jstr(r, "service.action.actionType"), "DNS_REQUEST");
            CHECK(strstr(jstr(r, "service.action.dnsRequestAction.domain"), "exfil.example.net") != NULL);
            CHECK_STR(jstr(r, "service.resourceRole"), "ACTOR");
        } else {
            CHECK_STR(jstr(r, "resource.resourceType"), "S3Bucket");
            CHECK_STR(jstr(r, "resource.s3BucketDetails[0].name"), "amzn-s3-demo-bucket");
            CHECK_STR(jstr(r, "service.additionalInfo.threatListName"), "my-threat-list.txt");
            CHECK_STR(jstr(r, "service.action.awsApiCallAction.api"), "ListObjects");
        }
    }
    /* Samples are ordinary findings for suppression rules. */
    struct finding_filters *fs = finding_filters_new();
    struct err e;
    CHECK_INT(load_filters(fs, "{\"Criterion\":{\"service.additionalInfo.sample\":{\"Eq\":[\"true\"]},"
                               "\"severity\":{\"Lt\":4}}}", &e), 0);
    CHECK_INT(finding_agg_archive(agg, fs), 3);
    finding_filters_free(fs);
    free(all);
    finding_agg_free(agg);
    buf_free(&b);
    arena_free(&a);
}

static const struct harness_test tests[] = {
    { "id", test_id },
    { "aggregate", test_aggregate },
    { "evidence_cap", test_evidence_cap },
    { "order_independent", test_order_independent },
    { "merge_overlap", test_merge_overlap },
    { "json_access_key", test_json_access_key },
    { "json_domain_caller", test_json_domain_caller },
    { "json_s3", test_json_s3 },
    { "json_flow", test_json_flow },
    { "json_port_probe", test_json_port_probe },
    { "json_dns", test_json_dns },
    { "add_paths", test_add_paths },
    { "get_findings_json", test_get_findings_json },
    { "table", test_table },
    { "asff", test_asff },
    { "no_event", test_no_event },
    { "real_shape", test_real_shape },
    { "ocsf", test_ocsf },
    { "real_records", test_real_records },
    { "enrich", test_enrich },
    { "filter_load", test_filter_load },
    { "filter_match", test_filter_match },
    { "sample", test_sample },
};

HARNESS_MAIN(tests)
