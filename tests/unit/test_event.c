/* Unit tests for src/event: common fields from hand-built leaves. */
#include "event/event.h"
#include "harness.h"
#include "json/json.h"

#include <stddef.h>
#include <string.h>

#define MAX_LEAVES 32

/* A tiny builder of flattened events, so these tests do not depend on the
 * JSON scanner. */
struct fake {
    struct json_leaf leaves[MAX_LEAVES];
    struct json_arrpos arr;
    struct event ev;
};

static void fake_init(struct fake *f, enum event_source src)
{
    memset(f, 0, sizeof(*f));
    f->ev.source = src;
    f->ev.flat.leaves = f->leaves;
    f->ev.flat.cap = MAX_LEAVES;
}

static struct json_leaf *add(struct fake *f, const char *path, const char *val, int type)
{
    struct json_leaf *l = &f->leaves[f->ev.flat.n++];
    memset(l, 0, sizeof(*l));
    l->path = path;
    l->path_len = (uint32_t)strlen(path);
    l->path_hash = json_path_hash(path, l->path_len);
    l->val = val;
    l->val_len = (uint32_t)strlen(val);
    l->type = (uint8_t)type;
    return l;
}

static void test_source_names(void)
{
    enum event_source s;
    CHECK_STR(event_source_name(EVENT_CLOUDTRAIL), "cloudtrail");
    CHECK_STR(event_source_name(EVENT_VPCFLOW), "vpcflow");
    CHECK_STR(event_source_name(EVENT_DNS), "dns");
    CHECK(event_source_parse(SV("dns"), &s) && s == EVENT_DNS);
    CHECK(event_source_parse(SV("vpcflow"), &s) && s == EVENT_VPCFLOW);
    CHECK(!event_source_parse(SV("guardduty"), &s));
}

static void test_cloudtrail_common(void)
{
    struct fake f;
    struct arena a;
    struct err err;
    arena_init(&a, 0);
    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventVersion", "1.08", JSON_STRING);
    add(&f, "userIdentity.type", "AssumedRole", JSON_STRING);
    add(&f, "userIdentity.arn", "arn:aws:sts::123837392027:assumed-role/r/i-0dbc", JSON_STRING);
    add(&f, "userIdentity.accountId", "123837392027", JSON_STRING);
    add(&f, "userIdentity.accessKeyId", "ASIATFQR7NSC36DZQP7P", JSON_STRING);
    add(&f, "userIdentity.sessionContext.sessionIssuer.userName", "steal-role", JSON_STRING);
    add(&f, "eventTime", "2023-07-10T11:57:22Z", JSON_STRING);
    add(&f, "eventSource", "sts.amazonaws.com", JSON_STRING);
    add(&f, "eventName", "GetCallerIdentity", JSON_STRING);
    add(&f, "awsRegion", "us-east-1", JSON_STRING);
    add(&f, "sourceIPAddress", "192.168.10.20", JSON_STRING);
    add(&f, "userAgent", "stratus-red-team_1", JSON_STRING);
    add(&f, "errorCode", "", JSON_NULL);
    /* inside an array: never a common field */
    struct json_leaf *l = add(&f, "eventID", "inside-array", JSON_STRING);
    l->n_arr = 1;
    l->arr = &f.arr;
    add(&f, "eventID", "11111111-2222", JSON_STRING);
    add(&f, "eventCategory", "Management", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_SV(f.ev.event_name, "GetCallerIdentity");
    CHECK_SV(f.ev.event_source, "sts.amazonaws.com");
    CHECK_SV(f.ev.principal_type, "AssumedRole");
    CHECK_SV(f.ev.user_name, "steal-role"); /* from the session issuer */
    CHECK_SV(f.ev.account, "123837392027"); /* no recipientAccountId: the caller's */
    CHECK_SV(f.ev.access_key, "ASIATFQR7NSC36DZQP7P");
    CHECK_SV(f.ev.src_ip, "192.168.10.20");
    CHECK_SV(f.ev.id, "11111111-2222");
    CHECK_INT(f.ev.error_code.len, 0);
    CHECK(f.ev.error_code.p == NULL);
    CHECK_INT(f.ev.time_ms, 1688990242000LL);
    CHECK_INT(f.ev.flags & EVENT_F_INSIGHT, 0);

    /* recipientAccountId wins over the caller's account; userName over the
     * session issuer's. */
    add(&f, "recipientAccountId", "999988887777", JSON_STRING);
    add(&f, "userIdentity.userName", "bert-jan", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_SV(f.ev.account, "999988887777");
    CHECK_SV(f.ev.user_name, "bert-jan");
    CHECK_SV(event_get_str(&f.ev, "userAgent", &a), "stratus-red-team_1");
    CHECK(event_get_str(&f.ev, "nope", &a).p == NULL);
    arena_free(&a);
}

static void test_cloudtrail_types(void)
{
    struct fake f;
    struct arena a;
    struct err err;
    arena_init(&a, 0);
    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventName", "42", JSON_NUMBER);
    err_clear(&err);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_FORMAT);
    CHECK_STR(err.msg, "eventName is a number, expected a string");

    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "userIdentity.arn", "true", JSON_TRUE);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_FORMAT);
    CHECK(strstr(err.msg, "userIdentity.arn") != NULL);

    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "sourceIPAddress", "{}", JSON_OBJECT);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_FORMAT);
    CHECK(strstr(err.msg, "an object") != NULL);

    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventTime", "last tuesday", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_FORMAT);
    CHECK(strstr(err.msg, "eventTime \"last tuesday\"") != NULL);

    /* All null (the CloudTrail processing library's AllFieldsNull record). */
    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventTime", "null", JSON_NULL);
    add(&f, "eventName", "null", JSON_NULL);
    add(&f, "userIdentity", "null", JSON_NULL);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_INT(f.ev.time_ms, 0);
    CHECK_INT(f.ev.event_name.len, 0);
    arena_free(&a);
}

static void test_insight_and_envelope(void)
{
    struct fake f;
    struct arena a;
    struct err err;
    arena_init(&a, 0);
    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventTime", "2019-11-14T00:51:00Z", JSON_STRING);
    add(&f, "eventType", "AwsCloudTrailInsight", JSON_STRING);
    add(&f, "eventCategory", "Insight", JSON_STRING);
    add(&f, "insightDetails.eventSource", "ssm.amazonaws.com", JSON_STRING);
    add(&f, "insightDetails.eventName", "UpdateInstanceInformation", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK(f.ev.flags & EVENT_F_INSIGHT);
    CHECK_SV(f.ev.event_name, "UpdateInstanceInformation");
    CHECK_SV(f.ev.event_source, "ssm.amazonaws.com");

    /* A record without its own time, account or region takes the envelope's. */
    fake_init(&f, EVENT_CLOUDTRAIL);
    f.ev.flags = EVENT_F_ENVELOPE | EVENT_F_INSIGHT;
    f.ev.envelope.time = SV("2022-11-10T16:24:34Z");
    f.ev.envelope.account = SV("111122223333");
    f.ev.envelope.region = SV("eu-west-1");
    add(&f, "eventName", "ConsoleLogin", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_INT(f.ev.time_ms, 1668097474000LL);
    CHECK_SV(f.ev.account, "111122223333");
    CHECK_SV(f.ev.region, "eu-west-1");
    CHECK(f.ev.flags & EVENT_F_ENVELOPE);
    CHECK_INT(f.ev.flags & EVENT_F_INSIGHT, 0); /* recomputed, not kept */
    arena_free(&a);
}


/* Each CloudTrail common path on its own lands in its field, and a path of the
 * same length that differs in one byte (or sits in an array) does not. */
static void test_cloudtrail_each_path(void)
{
    static const struct {
        const char *path, *twin; /* twin: same length, one byte off */
        size_t off;              /* offsetof the struct sv it fills */
    } cases[] = {
        { "eventID", "eventIE", offsetof(struct event, id) },
        { "recipientAccountId", "recipientAccountIe", offsetof(struct event, account) },
        { "userIdentity.accountId", "userIdentity.accountIe", offsetof(struct event, account) },
        { "awsRegion", "awsRegioo", offsetof(struct event, region) },
        { "sourceIPAddress", "sourceIPAddresr", offsetof(struct event, src_ip) },
        { "eventSource", "eventSourcd", offsetof(struct event, event_source) },
        { "eventName", "eventNamd", offsetof(struct event, event_name) },
        { "userIdentity.arn", "userIdentity.aro", offsetof(struct event, principal_arn) },
        { "userIdentity.type", "userIdentity.typd", offsetof(struct event, principal_type) },
        { "userIdentity.principalId", "userIdentity.principalIe", offsetof(struct event, principal_id) },
        { "userIdentity.accessKeyId", "userIdentity.accessKeyIe", offsetof(struct event, access_key) },
        { "userIdentity.userName", "userIdentity.userNamd", offsetof(struct event, user_name) },
        { "userIdentity.sessionContext.sessionIssuer.userName",
          "userIdentity.sessionContext.sessionIssuer.userNamd", offsetof(struct event, user_name) },
        { "userAgent", "userAgenu", offsetof(struct event, user_agent) },
        { "errorCode", "errorCodf", offsetof(struct event, error_code) },
        { "eventCategory", "eventCategorz", offsetof(struct event, event_category) },
    };
    struct fake f;
    struct arena a;
    struct err err;
    arena_init(&a, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int variant = 0; variant < 3; variant++) {
            fake_init(&f, EVENT_CLOUDTRAIL);
            struct json_leaf *l = add(&f, variant == 1 ? cases[i].twin : cases[i].path, "v-a-l", JSON_STRING);
            if (variant == 2) {
                l->n_arr = 1;
                l->arr = &f.arr;
            }
            CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
            const struct sv *got = (const struct sv *)(const void *)((const char *)&f.ev + cases[i].off);
            if (variant == 0)
                CHECK_SV(*got, "v-a-l");
            else
                CHECK(got->p == NULL);
        }
    }
    /* eventTime and the Insights fields, which are not plain views */
    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventTimf", "2023-07-10T11:57:22Z", JSON_STRING);
    add(&f, "eventTypf", "AwsCloudTrailInsight", JSON_STRING);
    add(&f, "insightDetails.eventNamd", "X", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_INT(f.ev.time_ms, 0);
    CHECK_INT(f.ev.flags & EVENT_F_INSIGHT, 0);
    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventType", "AwsCloudTrailInsight", JSON_STRING);
    add(&f, "insightDetails.eventSource", "ssm.amazonaws.com", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK(f.ev.flags & EVENT_F_INSIGHT);
    CHECK_SV(f.ev.event_source, "ssm.amazonaws.com");
    /* the first of two leaves with one path wins */
    fake_init(&f, EVENT_CLOUDTRAIL);
    add(&f, "eventName", "First", JSON_STRING);
    add(&f, "eventName", "Second", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_SV(f.ev.event_name, "First");
    arena_free(&a);
}

static void test_flow_common(void)
{
    struct fake f;
    struct arena a;
    struct err err;
    arena_init(&a, 0);
    const char *line = "2 123456789010 eni-1 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 "
                       "1418530010 1418530070 REJECT OK";
    fake_init(&f, EVENT_VPCFLOW);
    f.ev.raw = sv_cstr(line);
    add(&f, "version", "2", JSON_NUMBER);
    add(&f, "account-id", "123456789010", JSON_STRING);
    add(&f, "srcaddr", "172.31.9.69", JSON_STRING);
    add(&f, "start", "1418530010", JSON_NUMBER);
    add(&f, "region", "eu-central-1", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_INT(f.ev.time_ms, 1418530010000LL);
    CHECK_SV(f.ev.account, "123456789010");
    CHECK_SV(f.ev.src_ip, "172.31.9.69");
    CHECK_SV(f.ev.region, "eu-central-1");
    CHECK_INT(f.ev.id.len, 16);
    char id[17];
    snprintf(id, sizeof(id), "%.*s", (int)f.ev.id.len, f.ev.id.p);
    for (int i = 0; i < 16; i++)
        CHECK((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
    CHECK_INT(f.ev.event_name.len, 0);

    /* The id depends on the record only: same line with CRLF, same id;
     * another line, another id. */
    char crlf[200];
    snprintf(crlf, sizeof(crlf), "%s\r\n", line);
    f.ev.raw = sv_cstr(crlf);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK(memcmp(f.ev.id.p, id, 16) == 0);
    f.ev.raw = SV("2 123456789010 eni-1 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 "
                  "1418530010 1418530070 ACCEPT OK");
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK(memcmp(f.ev.id.p, id, 16) != 0);

    /* start must be a Unix time */
    fake_init(&f, EVENT_VPCFLOW);
    f.ev.raw = SV("x");
    add(&f, "start", "yesterday", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_FORMAT);
    CHECK(strstr(err.msg, "start \"yesterday\"") != NULL);
    /* NODATA: no addresses, still a time */
    fake_init(&f, EVENT_VPCFLOW);
    f.ev.raw = SV("2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA");
    add(&f, "start", "1431280876", JSON_NUMBER);
    add(&f, "log-status", "NODATA", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK(f.ev.src_ip.p == NULL);
    CHECK_INT(f.ev.time_ms, 1431280876000LL);
    arena_free(&a);
}

static void test_dns_common(void)
{
    struct fake f;
    struct arena a;
    struct err err;
    arena_init(&a, 0);
    fake_init(&f, EVENT_DNS);
    f.ev.raw = SV("{\"query_name\":\"15.3.4.32.in-addr.arpa.\"}");
    add(&f, "srcaddr", "4.5.64.102", JSON_STRING);
    add(&f, "account_id", "111122223333", JSON_STRING);
    add(&f, "region", "us-east-1", JSON_STRING);
    add(&f, "query_timestamp", "2021-02-04T17:51:55Z", JSON_STRING);
    add(&f, "query_name", "15.3.4.32.in-addr.arpa.", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), 0);
    CHECK_SV(f.ev.src_ip, "4.5.64.102");
    CHECK_SV(f.ev.account, "111122223333");
    CHECK_INT(f.ev.time_ms, 1612461115000LL);
    CHECK_INT(f.ev.id.len, 16);

    fake_init(&f, EVENT_DNS);
    f.ev.raw = SV("{}");
    add(&f, "srcaddr", "1", JSON_NUMBER);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_FORMAT);
    CHECK(strstr(err.msg, "srcaddr is a number") != NULL);
    fake_init(&f, EVENT_DNS);
    f.ev.raw = SV("{}");
    add(&f, "query_timestamp", "2021-02-30T99:00:00Z", JSON_STRING);
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_FORMAT);

    f.ev.source = (enum event_source)7;
    CHECK_INT(event_fill_common(&f.ev, &a, &err), ERR_INTERNAL);
    arena_free(&a);
}

static const struct harness_test tests[] = {
    { "source_names", test_source_names },
    { "cloudtrail_common", test_cloudtrail_common },
    { "cloudtrail_types", test_cloudtrail_types },
    { "insight_and_envelope", test_insight_and_envelope },
    { "cloudtrail_each_path", test_cloudtrail_each_path },
    { "flow_common", test_flow_common },
    { "dns_common", test_dns_common },
};

HARNESS_MAIN(tests)
