/* Unit tests for src/investigate: playbooks over a store built from
 * hand-written CloudTrail records, the renderers, and stored findings. */
#include "core/core.h"
#include "finding/finding.h"
#include "harness.h"
#include "input/input.h"
#include "investigate/investigate_int.h"
#include "json/json.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_path(const char *name, char *out, size_t cap)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-test-inv-XXXXXX");
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
    }
    snprintf(out, cap, "%s/%s", tmpdir, name);
    return out;
}

static void rm_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static struct store *fresh(const char *name)
{
    char path[512];
    tmp_path(name, path, sizeof(path));
    rm_db(path);
    struct store *st = NULL;
    struct err e;
    err_clear(&e);
    if (store_open(path, &st, &e) != 0) {
        printf("# store_open %s: %s\n", path, e.msg);
        exit(2);
    }
    return st;
}

/* Puts every record of text into st; returns the count put, -1 on error. */
static int put_text(struct store *st, const char *text)
{
    struct input_reader *r = NULL;
    struct err e;
    err_clear(&e);
    struct json_pathset *ps = json_pathset_new();
    store_add_paths(ps);
    struct input_options opt = { .want = ps };
    int n = 0;
    if (input_open_mem("mem", text, strlen(text), &opt, &r, &e) != 0 || store_begin(st, &e) != 0) {
        printf("# open: %s\n", e.msg);
        input_close(r);
        json_pathset_free(ps);
        return -1;
    }
    struct event ev;
    int rc;
    while ((rc = input_next(r, &ev, &e)) != INPUT_END) {
        bool ins;
        if (rc != 0 || store_put_event(st, &ev, 0, &ins, &e) != 0) {
            printf("# put: %s\n", e.msg);
            n = -1;
            break;
        }
        n += ins;
    }
    if (store_commit(st, &e) != 0)
        n = -1;
    input_close(r);
    json_pathset_free(ps);
    return n;
}

#define ACCT "111122223333"
#define USER(name, key)                                                                     \
    "{\"type\":\"IAMUser\",\"principalId\":\"AIDA" name "\",\"arn\":\"arn:aws:iam::" ACCT   \
    ":user/" name "\",\"accountId\":\"" ACCT "\",\"accessKeyId\":\"" key "\",\"userName\":\"" \
    name "\"}"
#define ROLE_SESSION(role, session, key)                                                     \
    "{\"type\":\"AssumedRole\",\"principalId\":\"AROAX:" session "\",\"arn\":\"arn:aws:sts::" \
    ACCT ":assumed-role/" role "/" session "\",\"accountId\":\"" ACCT "\",\"accessKeyId\":\"" \
    key "\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"AROAX\"," \
    "\"arn\":\"arn:aws:iam::" ACCT ":role/" role "\",\"accountId\":\"" ACCT "\",\"userName\":\"" \
    role "\"}}}"

/* Appends one record to b. extra: more members (with a leading comma) or "". */
static void rec(struct buf *b, const char *id, const char *time, const char *ident,
                const char *source, const char *name, const char *ip, const char *extra)
{
    buf_printf(b,
               "%s{\"eventVersion\":\"1.08\",\"userIdentity\":%s,\"eventTime\":\"%s\","
               "\"eventSource\":\"%s\",\"eventName\":\"%s\",\"awsRegion\":\"us-east-1\","
               "\"sourceIPAddress\":\"%s\",\"userAgent\":\"ua-%s\",\"eventID\":\"%s\","
               "\"eventType\":\"AwsApiCall\",\"managementEvent\":true,"
               "\"recipientAccountId\":\"" ACCT "\",\"eventCategory\":\"Management\"%s}",
               b->len > 12 ? "," : "", ident, time, source, name, ip, ip, id, extra);
}

#define KEY_A "AKIAAAAAAAAAAAAAAAA1"
#define KEY_B "AKIABBBBBBBBBBBBBBB2"
#define KEY_C "ASIACCCCCCCCCCCCCCC3"
#define KEY_Z "AKIAZZZZZZZZZZZZZZZ9"
#define ASSUMED "arn:aws:sts::" ACCT ":assumed-role/Admin/pwn"

/* Key A (user build) creates user mallory with key B and a password; B
 * assumes role Admin, whose session (key C) deletes, creates and fails. */
static struct store *chain_store(void)
{
    struct store *st = fresh("chain.db");
    struct buf b;
    buf_init(&b, 0);
    buf_append_cstr(&b, "{\"Records\":[");
    rec(&b, "e00", "2024-01-01T09:00:00Z", USER("build", KEY_A), "s3.amazonaws.com", "ListBuckets",
        "192.0.2.10", ",\"readOnly\":true");
    rec(&b, "e01", "2024-01-02T10:00:00Z", USER("build", KEY_A), "s3.amazonaws.com", "ListBuckets",
        "198.51.100.7", ",\"readOnly\":true");
    rec(&b, "e02", "2024-01-02T10:01:00Z", USER("build", KEY_A), "iam.amazonaws.com", "CreateUser",
        "198.51.100.7",
        ",\"readOnly\":false,\"requestParameters\":{\"userName\":\"mallory\"},"
        "\"responseElements\":{\"user\":{\"path\":\"/\",\"userName\":\"mallory\",\"userId\":\"AIDAM\","
        "\"arn\":\"arn:aws:iam::" ACCT ":user/mallory\"}}");
    /* A refused call issues nothing. */
    rec(&b, "e03", "2024-01-02T10:01:30Z", USER("build", KEY_A), "iam.amazonaws.com",
        "CreateAccessKey", "198.51.100.7",
        ",\"readOnly\":false,\"errorCode\":\"AccessDenied\",\"requestParameters\":{\"userName\":"
        "\"admin\"},\"responseElements\":null");
    rec(&b, "e04", "2024-01-02T10:02:00Z", USER("build", KEY_A), "iam.amazonaws.com",
        "CreateAccessKey", "198.51.100.7",
        ",\"readOnly\":false,\"requestParameters\":{\"userName\":\"mallory\"},"
        "\"responseElements\":{\"accessKey\":{\"userName\":\"mallory\",\"accessKeyId\":\"" KEY_B
        "\",\"status\":\"Active\"}}");
    rec(&b, "e05", "2024-01-02T10:03:00Z", USER("build", KEY_A), "iam.amazonaws.com",
        "CreateLoginProfile", "198.51.100.7",
        ",\"readOnly\":false,\"requestParameters\":{\"userName\":\"mallory\","
        "\"passwordResetRequired\":false},\"responseElements\":{\"loginProfile\":{\"userName\":"
        "\"mallory\"}}");
    rec(&b, "e06", "2024-01-02T11:00:00Z", USER("mallory", KEY_B), "sts.amazonaws.com", "AssumeRole",
        "203.0.113.5",
        ",\"readOnly\":true,\"requestParameters\":{\"roleArn\":\"arn:aws:iam::" ACCT
        ":role/Admin\",\"roleSessionName\":\"pwn\"},\"responseElements\":{\"credentials\":{"
        "\"accessKeyId\":\"" KEY_C "\",\"expiration\":\"Jan 2, 2024, 12:00:00 PM\"},"
        "\"assumedRoleUser\":{\"assumedRoleId\":\"AROAX:pwn\",\"arn\":\"" ASSUMED "\"}}");
    rec(&b, "e07", "2024-01-02T11:05:00Z", ROLE_SESSION("Admin", "pwn", KEY_C), "s3.amazonaws.com",
        "DeleteBucket", "203.0.113.5", ",\"readOnly\":false,\"requestParameters\":{\"bucketName\":\"logs\"}");
    rec(&b, "e08", "2024-01-02T11:06:00Z", ROLE_SESSION("Admin", "pwn", KEY_C), "ec2.amazonaws.com",
        "RunInstances", "203.0.113.5", ",\"readOnly\":false");
    rec(&b, "e09", "2024-01-02T11:07:00Z", ROLE_SESSION("Admin", "pwn", KEY_C), "kms.amazonaws.com",
        "Decrypt", "203.0.113.5", ",\"readOnly\":true,\"errorCode\":\"AccessDenied\"");
    rec(&b, "e10", "2024-01-02T11:08:00Z", ROLE_SESSION("Admin", "pwn", KEY_C), "ec2.amazonaws.com",
        "ModifyInstanceAttribute", "203.0.113.5", ",\"readOnly\":false");
    /* Someone else: never part of the report. */
    rec(&b, "e11", "2024-01-02T10:30:00Z", USER("carol", KEY_Z), "iam.amazonaws.com", "CreateUser",
        "192.0.2.99", ",\"readOnly\":false,\"responseElements\":{\"user\":{\"arn\":\"arn:aws:iam::"
        ACCT ":user/other\"}}");
    buf_append_cstr(&b, "]}");
    int n = put_text(st, b.p);
    CHECK_INT(n, 12);
    buf_free(&b);
    return st;
}

static int64_t ms_of(const char *iso)
{
    int64_t ms = 0;
    time_parse_iso8601(sv_cstr(iso), &ms);
    return ms;
}

static bool has_row(const struct investigate_report *r, const char *table, const char *col,
                    const char *value)
{
    return investigate_table_find(investigate_report_table(r, table), col, value) >= 0;
}

static bool has_command(const struct investigate_report *r, const char *prefix)
{
    const struct investigate_table *t = investigate_report_table(r, "Containment");
    for (size_t i = 0; t && i < t->n_rows; i++)
        if (strncmp(t->cells[i], prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

static void test_credential_chain(void)
{
    struct store *st = chain_store();
    struct err e;
    err_clear(&e);
    struct investigate_report *r = NULL;
    struct investigate_cred_opts o = { .access_key = KEY_A,
                                       .since_ms = ms_of("2024-01-02T00:00:00Z"),
                                       .now_ms = ms_of("2024-01-03T00:00:00Z") };
    CHECK_INT(investigate_credentials(st, &o, &r, &e), 0);
    if (r == NULL) {
        store_close(st);
        return;
    }
    const struct investigate_table *creds = investigate_report_table(r, "Credentials");
    CHECK(creds != NULL);
    /* A, user mallory, key B, session key C and the assumed-role ARN: all followed. */
    CHECK_INT(creds->n_rows, 5);
    CHECK(has_row(r, "Credentials", "credential", KEY_A));
    CHECK(has_row(r, "Credentials", "credential", "arn:aws:iam::" ACCT ":user/mallory"));
    CHECK(has_row(r, "Credentials", "credential", KEY_B));
    CHECK(has_row(r, "Credentials", "credential", KEY_C));
    CHECK(has_row(r, "Credentials", "credential", ASSUMED));
    long row = investigate_table_find(creds, "credential", KEY_C);
    CHECK_STR(investigate_table_cell(creds, (size_t)row, "obtained by"), "AssumeRole");
    CHECK_STR(investigate_table_cell(creds, (size_t)row, "from"), KEY_B);
    CHECK_STR(investigate_table_cell(creds, (size_t)row, "event id"), "e06");
    row = investigate_table_find(creds, "credential", KEY_B);
    CHECK_STR(investigate_table_cell(creds, (size_t)row, "obtained by"), "CreateAccessKey");
    CHECK_STR(investigate_table_cell(creds, (size_t)row, "events"), "1");
    /* The refused CreateAccessKey for admin issued nothing. */
    CHECK(!has_row(r, "Credentials", "credential", "admin"));

    /* e01..e10 (e00 is before --since, e11 is someone else's). */
    CHECK_STR(investigate_report_summary(r, "events"), "10");
    const struct investigate_table *ev = investigate_report_table(r, "Events");
    CHECK_INT(ev->n_rows, 10);
    CHECK(investigate_table_find(ev, "event id", "e00") < 0);
    CHECK(investigate_table_find(ev, "event id", "e11") < 0);
    CHECK_STR(investigate_table_cell(ev, 0, "event id"), "e01");
    CHECK_STR(investigate_table_cell(ev, 9, "event id"), "e10");

    /* Grouping. */
    CHECK_STR(investigate_report_summary(r, "failures"), "2");
    CHECK_STR(investigate_report_summary(r, "identity changes"), "3");
    CHECK_STR(investigate_report_summary(r, "deletions"), "1");
    CHECK_STR(investigate_report_summary(r, "resources created"), "1");
    CHECK_STR(investigate_report_summary(r, "modifications"), "1");
    CHECK_STR(investigate_report_summary(r, "data access"), "2");
    const struct investigate_table *acts = investigate_report_table(r, "Actions");
    row = investigate_table_find(acts, "action", "ec2:RunInstances");
    CHECK_STR(investigate_table_cell(acts, (size_t)row, "group"), "resources created");
    row = investigate_table_find(acts, "action", "kms:Decrypt");
    CHECK_STR(investigate_table_cell(acts, (size_t)row, "group"), "failures");
    CHECK_STR(investigate_table_cell(acts, (size_t)row, "error"), "AccessDenied");
    row = investigate_table_find(acts, "action", "s3:DeleteBucket");
    CHECK_STR(investigate_table_cell(acts, (size_t)row, "group"), "deletions");
    CHECK_STR(investigate_table_cell(acts, (size_t)row, "credentials"), KEY_C);

    /* Addresses with first and last seen. */
    const struct investigate_table *ips = investigate_report_table(r, "Source IPs");
    CHECK_INT(ips->n_rows, 2);
    row = investigate_table_find(ips, "source ip", "203.0.113.5");
    CHECK_STR(investigate_table_cell(ips, (size_t)row, "events"), "5");
    CHECK_STR(investigate_table_cell(ips, (size_t)row, "first seen"), "2024-01-02T11:00:00Z");
    CHECK_STR(investigate_table_cell(ips, (size_t)row, "last seen"), "2024-01-02T11:08:00Z");
    CHECK(has_row(r, "User agents", "user agent", "ua-198.51.100.7"));

    /* Containment. */
    CHECK(has_command(r, "aws iam update-access-key --user-name build --access-key-id " KEY_A
                         " --status Inactive"));
    CHECK(has_command(r, "aws iam update-access-key --user-name mallory --access-key-id " KEY_B
                         " --status Inactive"));
    CHECK(has_command(r, "aws iam put-role-policy --role-name Admin --policy-name "
                         "AWSRevokeOlderSessions --policy-document '{\"Version\":\"2012-10-17\","
                         "\"Statement\":[{\"Effect\":\"Deny\",\"Action\":[\"*\"],\"Resource\":[\"*\"],"
                         "\"Condition\":{\"DateLessThan\":{\"aws:TokenIssueTime\":"
                         "\"2024-01-03T00:00:00Z\"}}}]}'"));
    CHECK(has_command(r, "aws iam delete-login-profile --user-name mallory"));
    CHECK(has_command(r, "aws iam attach-user-policy --user-name mallory --policy-arn "
                         "arn:aws:iam::aws:policy/AWSDenyAll"));
    CHECK(!has_command(r, "aws iam update-access-key --user-name carol"));
    /* Temporary keys are revoked by policy, never "deactivated". */
    CHECK(!has_command(r, "aws iam update-access-key --user-name mallory --access-key-id " KEY_C));
    investigate_report_free(r);

    /* Starting from the role: its session's actions, nothing upstream. */
    r = NULL;
    struct investigate_cred_opts o2 = { .principal = "arn:aws:iam::" ACCT ":role/Admin",
                                        .since_ms = INT64_MIN, .now_ms = 0 };
    CHECK_INT(investigate_credentials(st, &o2, &r, &e), 0);
    CHECK_STR(investigate_report_summary(r, "events"), "4");
    CHECK(has_command(r, "aws iam put-role-policy --role-name Admin"));
    investigate_report_free(r);

    /* Neither or both starts. */
    struct investigate_cred_opts bad = { .since_ms = INT64_MIN };
    r = NULL;
    CHECK_INT(investigate_credentials(st, &bad, &r, &e), ERR_USAGE);
    CHECK(r == NULL);
    store_close(st);
}

static void test_session_tokens(void)
{
    struct store *st = fresh("tokens.db");
    struct buf b;
    buf_init(&b, 0);
    buf_append_cstr(&b, "{\"Records\":[");
    rec(&b, "t1", "2024-02-01T10:00:00Z", USER("dev", KEY_A), "sts.amazonaws.com",
        "GetSessionToken", "198.51.100.1",
        ",\"responseElements\":{\"credentials\":{\"accessKeyId\":\"ASIASESSION000000001\"}}");
    rec(&b, "t2", "2024-02-01T10:01:00Z", USER("dev", KEY_A), "sts.amazonaws.com",
        "GetFederationToken", "198.51.100.1",
        ",\"requestParameters\":{\"name\":\"fed\"},\"responseElements\":{\"credentials\":{"
        "\"accessKeyId\":\"ASIAFEDERATED0000001\"},\"federatedUser\":{\"arn\":\"arn:aws:sts::" ACCT
        ":federated-user/fed\",\"federatedUserId\":\"" ACCT ":fed\"}}");
    rec(&b, "t3", "2024-02-01T10:02:00Z",
        "{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::" ACCT ":user/dev\",\"accountId\":\"" ACCT
        "\",\"accessKeyId\":\"ASIASESSION000000001\",\"userName\":\"dev\"}",
        "s3.amazonaws.com", "GetObject", "198.51.100.1", "");
    buf_append_cstr(&b, "]}");
    CHECK_INT(put_text(st, b.p), 3);
    buf_free(&b);
    struct err e;
    struct investigate_report *r = NULL;
    struct investigate_cred_opts o = { .access_key = KEY_A, .since_ms = INT64_MIN, .now_ms = 0 };
    CHECK_INT(investigate_credentials(st, &o, &r, &e), 0);
    CHECK(has_row(r, "Credentials", "credential", "ASIASESSION000000001"));
    /* Never used: folded into one row, listed apart. */
    CHECK(!has_row(r, "Credentials", "credential", "ASIAFEDERATED0000001"));
    CHECK(has_row(r, "Credentials", "credential", "1 unused temporary key (dev)"));
    CHECK(has_row(r, "Unused temporary keys", "credential", "ASIAFEDERATED0000001"));
    CHECK_STR(investigate_report_summary(r, "unused temporary keys"), "1");
    CHECK(has_row(r, "Credentials", "credential", "arn:aws:sts::" ACCT ":federated-user/fed"));
    CHECK_STR(investigate_report_summary(r, "events"), "3");
    CHECK(has_command(r, "aws iam put-user-policy --user-name dev --policy-name "
                         "VigilRevokeOlderSessions"));
    investigate_report_free(r);
    store_close(st);
}

/* ---- bucket ------------------------------------------------------------------- */

#define S3_CFG(bucket, extra) ",\"requestParameters\":{\"bucketName\":\"" bucket "\"" extra "}"
#define PUBLIC_POLICY                                                                       \
    ",\"bucketPolicy\":{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","   \
    "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::x/*\"}]}"
#define COND_POLICY                                                                          \
    ",\"bucketPolicy\":{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":"  \
    "\"s3:GetObject\",\"Resource\":\"*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":"     \
    "\"192.0.2.0/24\"}}}]}"

static void data_event(struct buf *b, const char *id, const char *time, const char *name,
                       const char *bucket, const char *key, const char *ip, const char *error)
{
    buf_printf(b,
               ",{\"eventVersion\":\"1.09\",\"userIdentity\":" USER("reader", KEY_Z)
               ",\"eventTime\":\"%s\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"%s\","
               "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"%s\",\"userAgent\":\"curl\","
               "%s%s%s\"requestParameters\":{\"bucketName\":\"%s\",\"key\":\"%s\"},"
               "\"resources\":[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::%s/%s\"},"
               "{\"accountId\":\"" ACCT "\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::%s\"}],"
               "\"eventID\":\"%s\",\"readOnly\":%s,\"eventType\":\"AwsApiCall\","
               "\"managementEvent\":false,\"recipientAccountId\":\"" ACCT "\","
               "\"eventCategory\":\"Data\"}",
               time, name, ip, error ? "\"errorCode\":\"" : "", error ? error : "",
               error ? "\"," : "", bucket, key, bucket, key, bucket, id,
               strcmp(name, "GetObject") == 0 ? "true" : "false");
}

static struct investigate_report *bucket_report(struct store *st, const char *bucket)
{
    struct err e;
    err_clear(&e);
    struct investigate_report *r = NULL;
    CHECK_INT(investigate_bucket(st, bucket, INT64_MIN, &r, &e), 0);
    return r;
}

static void test_bucket(void)
{
    struct store *st = fresh("bucket.db");
    struct buf b;
    buf_init(&b, 0);
    buf_append_cstr(&b, "{\"Records\":[");
    const char *who = USER("ops", KEY_A);
    /* open: public policy, then BPA without RestrictPublicBuckets */
    rec(&b, "b1", "2024-03-01T10:00:00Z", who, "s3.amazonaws.com", "PutBucketPolicy", "198.51.100.2",
        S3_CFG("open", PUBLIC_POLICY));
    rec(&b, "b2", "2024-03-01T10:05:00Z", who, "s3.amazonaws.com", "PutBucketPublicAccessBlock",
        "198.51.100.2",
        S3_CFG("open", ",\"PublicAccessBlockConfiguration\":{\"BlockPublicAcls\":true,"
                       "\"IgnorePublicAcls\":true,\"BlockPublicPolicy\":true,"
                       "\"RestrictPublicBuckets\":false}"));
    rec(&b, "b3", "2024-03-01T10:06:00Z", who, "s3.amazonaws.com", "PutBucketLogging",
        "198.51.100.2", S3_CFG("open", ",\"BucketLoggingStatus\":{}"));
    /* blocked: the same policy, then Block Public Access restricts it */
    rec(&b, "b4", "2024-03-01T11:00:00Z", who, "s3.amazonaws.com", "PutBucketPolicy", "198.51.100.2",
        S3_CFG("blocked", PUBLIC_POLICY));
    rec(&b, "b5", "2024-03-01T11:01:00Z", who, "s3.amazonaws.com", "PutBucketPublicAccessBlock",
        "198.51.100.2",
        S3_CFG("blocked", ",\"PublicAccessBlockConfiguration\":{\"RestrictPublicBuckets\":true,"
                          "\"IgnorePublicAcls\":true}"));
    /* acl: public ACL; a later refused DeleteBucketPublicAccessBlock changes nothing */
    rec(&b, "b6", "2024-03-01T12:00:00Z", who, "s3.amazonaws.com", "PutBucketAcl", "198.51.100.2",
        S3_CFG("acl", ",\"AccessControlPolicy\":{\"AccessControlList\":{\"Grant\":[{\"Grantee\":{"
                      "\"xsi:type\":\"Group\",\"URI\":\"http://acs.amazonaws.com/groups/global/"
                      "AllUsers\"},\"Permission\":\"READ\"}]}}"));
    /* cond: allowed to everyone only from a range */
    rec(&b, "b7", "2024-03-01T13:00:00Z", who, "s3.amazonaws.com", "PutBucketPolicy", "198.51.100.2",
        S3_CFG("cond", COND_POLICY));
    /* closed: public, then the policy is deleted */
    rec(&b, "b8", "2024-03-01T14:00:00Z", who, "s3.amazonaws.com", "PutBucketPolicy", "198.51.100.2",
        S3_CFG("closed", PUBLIC_POLICY));
    rec(&b, "b9", "2024-03-01T14:10:00Z", who, "s3.amazonaws.com", "DeleteBucketPolicy",
        "198.51.100.2", S3_CFG("closed", ""));
    rec(&b, "b10", "2024-03-01T14:20:00Z", who, "s3.amazonaws.com", "PutBucketPolicy",
        "198.51.100.2", ",\"errorCode\":\"AccessDenied\"" S3_CFG("closed", PUBLIC_POLICY));
    data_event(&b, "d1", "2024-03-01T10:30:00Z", "GetObject", "open", "a.csv", "203.0.113.50", NULL);
    data_event(&b, "d2", "2024-03-01T10:31:00Z", "GetObject", "open", "b.csv", "203.0.113.50", NULL);
    data_event(&b, "d3", "2024-03-01T10:32:00Z", "PutObject", "open", "x.sh", "203.0.113.51", NULL);
    data_event(&b, "d4", "2024-03-01T10:33:00Z", "GetObject", "open", "c.csv", "203.0.113.50",
               "AccessDenied");
    data_event(&b, "d5", "2024-03-01T10:34:00Z", "GetObject", "openly", "c.csv", "203.0.113.50", NULL);
    buf_append_cstr(&b, "]}");
    CHECK_INT(put_text(st, b.p), 15);
    buf_free(&b);

    struct investigate_report *r = bucket_report(st, "open");
    CHECK_STR(investigate_report_summary(r, "exposed"), "yes");
    CHECK_STR(investigate_report_summary(r, "object reads"), "3");
    CHECK_STR(investigate_report_summary(r, "object writes"), "1");
    CHECK_INT(investigate_report_table(r, "Configuration changes")->n_rows, 3);
    const struct investigate_table *acc = investigate_report_table(r, "Object access");
    CHECK_INT(acc->n_rows, 2);
    long row = investigate_table_find(acc, "source ip", "203.0.113.50");
    CHECK_STR(investigate_table_cell(acc, (size_t)row, "events"), "3");
    CHECK_STR(investigate_table_cell(acc, (size_t)row, "failed"), "1");
    CHECK_STR(investigate_table_cell(acc, (size_t)row, "principal"),
              "arn:aws:iam::" ACCT ":user/reader");
    CHECK_STR(investigate_table_cell(acc, (size_t)row, "source"), "CloudTrail");
    CHECK_STR(investigate_table_cell(acc, (size_t)row, "objects"), "3 objects, e.g. a.csv");
    const struct investigate_table *x = investigate_report_table(r, "Exposure");
    row = investigate_table_find(x, "setting", "server access logging");
    CHECK_STR(investigate_table_cell(x, (size_t)row, "state"), "no");
    row = investigate_table_find(x, "setting", "BPA IgnorePublicAcls");
    CHECK_STR(investigate_table_cell(x, (size_t)row, "state"), "yes");
    investigate_report_free(r);

    r = bucket_report(st, "blocked");
    CHECK_STR(investigate_report_summary(r, "exposed"), "no");
    CHECK_STR(investigate_report_summary(r, "exposure reason"),
              "a public grant is blocked by Block Public Access");
    investigate_report_free(r);
    r = bucket_report(st, "acl");
    CHECK_STR(investigate_report_summary(r, "exposed"), "yes");
    investigate_report_free(r);
    r = bucket_report(st, "cond");
    CHECK_STR(investigate_report_summary(r, "exposed"), "no");
    investigate_report_free(r);
    r = bucket_report(st, "closed");
    CHECK_STR(investigate_report_summary(r, "exposed"), "no");
    CHECK_INT(investigate_report_table(r, "Configuration changes")->n_rows, 3);
    investigate_report_free(r);
    r = bucket_report(st, "never-seen");
    CHECK_STR(investigate_report_summary(r, "exposed"), "unknown");
    CHECK_STR(investigate_report_summary(r, "events"), "0");
    investigate_report_free(r);
    store_close(st);
}

/* One S3 server access log line as S3 writes it (26 fields); requester and
 * key "-" for none. */
static void s3line(struct buf *b, const char *bucket, const char *time, const char *ip,
                   const char *requester, const char *op, const char *key, int status,
                   const char *bytes)
{
    bool anon = strcmp(requester, "-") == 0;
    buf_printf(b,
               "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be %s [%s +0000] %s %s "
               "REQ%zu %s %s \"%s /%s HTTP/1.1\" %d %s %s - 10 5 \"-\" \"curl/8.4.0\" - "
               "hostid= %s ECDHE-RSA-AES128-GCM-SHA256 %s %s.s3.us-east-1.amazonaws.com TLSv1.3 - -\n",
               bucket, time, ip, requester, b->len, op, key, strncmp(op, "REST.PUT", 8) == 0 ? "PUT" : "GET",
               strcmp(key, "-") == 0 ? "?acl" : key, status,
               status >= 400 ? "AccessDenied" : "-", bytes, anon ? "-" : "SigV4",
               anon ? "-" : "AuthHeader", bucket);
}

/* S3 server access logs as the data-access source, beside CloudTrail. */
static void test_bucket_access_logs(void)
{
    struct store *st = fresh("bucketlogs.db");
    struct buf b;
    buf_init(&b, 0);
    buf_append_cstr(&b, "{\"Records\":[");
    const char *who = USER("ops", KEY_A);
    /* closed: public at 10:00, closed at 12:00 (anonymous reads at 11:00) */
    rec(&b, "c1", "2026-11-20T10:00:00Z", who, "s3.amazonaws.com", "PutBucketPolicy", "198.51.100.2",
        S3_CFG("closed", PUBLIC_POLICY));
    rec(&b, "c2", "2026-11-20T12:00:00Z", who, "s3.amazonaws.com", "DeleteBucketPolicy",
        "198.51.100.2", S3_CFG("closed", ""));
    /* reopened: the policy deleted at 09:00, yet anonymous reads at 11:00 */
    rec(&b, "r1", "2026-11-20T09:00:00Z", who, "s3.amazonaws.com", "DeleteBucketPolicy",
        "198.51.100.2", S3_CFG("reopened", ""));
    data_event(&b, "d1", "2026-11-20T10:30:00Z", "GetObject", "logs", "ct.csv", "192.0.2.9", NULL);
    buf_append_cstr(&b, "]}");
    CHECK_INT(put_text(st, b.p), 4);
    buf_reset(&b);
    /* logs: no configuration change in CloudTrail, only access logs */
    s3line(&b, "logs", "20/Nov/2026:10:00:00", "198.51.100.7", "-", "REST.GET.OBJECT", "a.csv", 403, "243");
    s3line(&b, "logs", "20/Nov/2026:10:05:00", "198.51.100.7", "-", "REST.GET.OBJECT", "a.csv", 200, "1000");
    s3line(&b, "logs", "20/Nov/2026:10:06:00", "198.51.100.7", "-", "REST.GET.OBJECT", "b.csv", 200, "500");
    s3line(&b, "logs", "20/Nov/2026:10:07:00", "203.0.113.9", "-", "REST.GET.OBJECT", "a.csv", 200, "1000");
    s3line(&b, "logs", "20/Nov/2026:10:08:00", "203.0.113.9", "-", "REST.PUT.OBJECT", "up.php", 200, "-");
    s3line(&b, "logs", "20/Nov/2026:10:09:00", "10.0.0.5", "arn:aws:iam::" ACCT ":user/etl",
           "REST.GET.OBJECT", "a.csv", 200, "1000");
    s3line(&b, "logs", "20/Nov/2026:10:10:00", "10.0.0.5", "arn:aws:iam::" ACCT ":user/etl",
           "REST.PUT.ACL", "-", 200, "-");
    /* S3's own lifecycle work is not an anonymous request from the network */
    s3line(&b, "logs", "20/Nov/2026:10:11:00", "-", "-", "S3.EXPIRE.OBJECT", "old.csv", 200, "-");
    s3line(&b, "logs", "20/Nov/2026:10:12:00", "10.0.0.5", "arn:aws:iam::" ACCT ":user/etl",
           "REST.GET.BUCKETPOLICY", "-", 200, "300");
    s3line(&b, "closed", "20/Nov/2026:11:00:00", "198.51.100.7", "-", "REST.GET.OBJECT", "x", 200, "9");
    s3line(&b, "reopened", "20/Nov/2026:11:00:00", "198.51.100.7", "-", "REST.GET.OBJECT", "x", 200, "9");
    s3line(&b, "other", "20/Nov/2026:11:00:00", "198.51.100.7", "-", "REST.GET.OBJECT", "x", 200, "9");
    CHECK_INT(put_text(st, b.p), 12);
    buf_free(&b);

    struct investigate_report *r = bucket_report(st, "logs");
    CHECK_STR(investigate_report_summary(r, "exposed"), "yes");
    CHECK_STR(investigate_report_summary(r, "exposure reason"),
              "anonymous requests succeeded, the last at 2026-11-20T10:08:00Z (S3 server access "
              "logs)");
    CHECK_STR(investigate_report_summary(r, "access log requests"), "9");
    CHECK_STR(investigate_report_summary(r, "access log object reads"), "5");
    CHECK_STR(investigate_report_summary(r, "access log object writes"), "2");
    CHECK_STR(investigate_report_summary(r, "anonymous requests succeeded"),
              "4 (3 reads, 1 writes) from 2 addresses, 2026-11-20T10:05:00Z to "
              "2026-11-20T10:08:00Z");
    CHECK_STR(investigate_report_summary(r, "object reads"), "1"); /* the CloudTrail one */
    const struct investigate_table *acc = investigate_report_table(r, "Object access");
    CHECK_INT(acc->n_rows, 7); /* 1 CloudTrail + 6 access log groups (not the ACL change or
                                * the policy read) */
    CHECK_STR(investigate_table_cell(acc, 0, "source"), "CloudTrail");
    CHECK_STR(investigate_table_cell(acc, 0, "objects"), "ct.csv");
    /* anonymous 200s from 198.51.100.7: one group, two objects, bytes summed */
    long row = -1;
    for (size_t i = 0; i < acc->n_rows; i++)
        if (strcmp(investigate_table_cell(acc, i, "source ip"), "198.51.100.7") == 0 &&
            strcmp(investigate_table_cell(acc, i, "status"), "200") == 0)
            row = (long)i;
    CHECK(row >= 0);
    if (row >= 0) {
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "source"), "S3 access log");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "principal"), "anonymous");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "action"), "REST.GET.OBJECT");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "events"), "2");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "failed"), "0");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "objects"), "2 objects, e.g. a.csv");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "bytes sent"), "1500");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "first seen"), "2026-11-20T10:05:00Z");
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "last seen"), "2026-11-20T10:06:00Z");
    }
    row = investigate_table_find(acc, "status", "403");
    CHECK(row >= 0);
    if (row >= 0)
        CHECK_STR(investigate_table_cell(acc, (size_t)row, "failed"), "1");
    /* the evidence: each object anonymous requests got */
    const struct investigate_table *an = investigate_report_table(r, "Anonymous access");
    CHECK_INT(an->n_rows, 3);
    row = investigate_table_find(an, "object", "a.csv");
    CHECK(row >= 0);
    if (row >= 0) {
        CHECK_STR(investigate_table_cell(an, (size_t)row, "requests"), "2");
        CHECK_STR(investigate_table_cell(an, (size_t)row, "source ips"),
                  "2 addresses, e.g. 198.51.100.7");
        CHECK_STR(investigate_table_cell(an, (size_t)row, "bytes sent"), "2000");
    }
    CHECK(investigate_table_find(an, "object", "up.php") >= 0);
    CHECK(investigate_table_find(an, "object", "old.csv") < 0);
    /* a bucket-level change from the access log, without its body */
    const struct investigate_table *ch = investigate_report_table(r, "Configuration changes");
    CHECK_INT(ch->n_rows, 1);
    CHECK_STR(investigate_table_cell(ch, 0, "source"), "S3 access log");
    CHECK_STR(investigate_table_cell(ch, 0, "action"), "REST.PUT.ACL");
    CHECK_STR(investigate_table_cell(ch, 0, "request"), "PUT /?acl HTTP/1.1");
    const struct investigate_table *x = investigate_report_table(r, "Exposure");
    row = investigate_table_find(x, "setting", "anonymous requests succeeded (access log)");
    CHECK_STR(investigate_table_cell(x, (size_t)row, "state"), "yes");
    /* every output shows the source */
    struct buf out;
    buf_init(&out, 0);
    CHECK_INT(investigate_write_markdown(&out, r), 0);
    buf_putc(&out, '\0');
    CHECK(strstr(out.p, "| S3 access log | anonymous | 198.51.100.7 | REST.GET.OBJECT | 200 |") !=
          NULL);
    buf_reset(&out);
    CHECK_INT(investigate_write_json(&out, r), 0);
    buf_putc(&out, '\0');
    CHECK(strstr(out.p, "\"source\": \"S3 access log\"") != NULL);
    buf_reset(&out);
    CHECK_INT(investigate_write_html(&out, r), 0);
    buf_putc(&out, '\0');
    CHECK(strstr(out.p, "S3 access log") != NULL);
    CHECK(strstr(out.p, "object reads (access log)") != NULL);
    size_t dots = 0;
    for (const char *p = out.p; (p = strstr(p, "<circle")) != NULL; p++)
        dots++;
    CHECK_INT(dots, 10); /* 1 CloudTrail event + 9 requests */
    buf_free(&out);
    investigate_report_free(r);

    /* closed after the anonymous reads: not exposed now, the history said */
    r = bucket_report(st, "closed");
    CHECK_STR(investigate_report_summary(r, "exposed"), "no");
    CHECK(strstr(investigate_report_summary(r, "exposure reason"),
                 "; anonymous requests succeeded until 2026-11-20T11:00:00Z, before the last "
                 "change seen") != NULL);
    investigate_report_free(r);
    /* anonymous reads after the policy was deleted: something else opens it */
    r = bucket_report(st, "reopened");
    CHECK_STR(investigate_report_summary(r, "exposed"), "yes");
    CHECK_STR(investigate_report_summary(r, "exposure reason"),
              "anonymous requests succeeded, the last at 2026-11-20T11:00:00Z, after the last "
              "change seen (S3 server access logs)");
    investigate_report_free(r);
    /* --since cuts the access logs too */
    struct err e;
    err_clear(&e);
    r = NULL;
    CHECK_INT(investigate_bucket(st, "logs", ms_of("2026-11-20T10:07:30Z"), &r, &e), 0);
    if (r) {
        CHECK_STR(investigate_report_summary(r, "access log requests"), "5");
        CHECK_STR(investigate_report_summary(r, "anonymous requests succeeded"),
                  "1 (0 reads, 1 writes) from 1 addresses, 2026-11-20T10:08:00Z to "
                  "2026-11-20T10:08:00Z");
        investigate_report_free(r);
    }
    store_close(st);
}

/* ---- timeline ----------------------------------------------------------------- */

static void test_timeline(void)
{
    struct store *st = chain_store();
    struct err e;
    struct investigate_report *r = NULL;
    struct investigate_timeline_opts o = { .ip = "198.51.100.7", .since_ms = INT64_MIN,
                                           .until_ms = INT64_MAX };
    CHECK_INT(investigate_timeline(st, &o, &r, &e), 0);
    const struct investigate_table *t = investigate_report_table(r, "Events");
    CHECK_INT(t->n_rows, 5);
    CHECK_STR(investigate_table_cell(t, 0, "id"), "e01");
    CHECK_STR(investigate_table_cell(t, 4, "id"), "e05");
    CHECK_STR(investigate_report_summary(r, "failed calls"), "1");
    investigate_report_free(r);

    struct investigate_timeline_opts p = { .principal = "arn:aws:iam::" ACCT ":role/Admin",
                                           .since_ms = INT64_MIN,
                                           .until_ms = ms_of("2024-01-02T11:06:30Z") };
    r = NULL;
    CHECK_INT(investigate_timeline(st, &p, &r, &e), 0);
    t = investigate_report_table(r, "Events");
    CHECK_INT(t->n_rows, 2);
    CHECK_STR(investigate_table_cell(t, 1, "what"), "ec2.amazonaws.com:RunInstances");
    investigate_report_free(r);

    struct investigate_timeline_opts q = { .resource = "mallory", .since_ms = INT64_MIN,
                                           .until_ms = INT64_MAX, .limit = 2 };
    r = NULL;
    CHECK_INT(investigate_timeline(st, &q, &r, &e), 0);
    t = investigate_report_table(r, "Events");
    CHECK_INT(t->n_rows, 2);
    CHECK_STR(investigate_table_cell(t, 0, "id"), "e02");
    CHECK(investigate_report_summary(r, "truncated") != NULL);
    investigate_report_free(r);

    struct investigate_timeline_opts none = { .since_ms = INT64_MIN, .until_ms = INT64_MAX };
    r = NULL;
    CHECK_INT(investigate_timeline(st, &none, &r, &e), ERR_USAGE);
    store_close(st);
}

/* ---- renderers ---------------------------------------------------------------- */

static void test_render(void)
{
    struct store *st = chain_store();
    struct err e;
    struct investigate_report *r = NULL;
    struct investigate_cred_opts o = { .access_key = KEY_A, .since_ms = INT64_MIN, .now_ms = 0 };
    CHECK_INT(investigate_credentials(st, &o, &r, &e), 0);
    struct buf out;
    buf_init(&out, 0);
    CHECK_INT(investigate_write_markdown(&out, r), 0);
    buf_putc(&out, '\0');
    CHECK(strstr(out.p, "# Compromised credentials: " KEY_A "\n") != NULL);
    CHECK(strstr(out.p, "\n## Containment\n") != NULL);
    CHECK(strstr(out.p, "```sh\naws iam update-access-key") != NULL);
    CHECK(strstr(out.p, "| group | action | error | events |") != NULL);

    buf_reset(&out);
    CHECK_INT(investigate_write_json(&out, r), 0);
    struct arena a;
    arena_init(&a, 0);
    struct json_value *root = NULL;
    CHECK_INT(json_parse(out.p, out.len, &a, &root, &e), 0);
    if (root) {
        CHECK_STR(json_get(root, "kind")->str, "credentials");
        CHECK_STR(json_get(json_get(root, "summary"), "events")->str, "11");
        const struct json_value *tables = json_get(root, "tables");
        CHECK(tables && tables->n == r->n_tables);
        const struct json_value *first = &tables->items[0];
        CHECK_STR(json_get(first, "title")->str, "Credentials");
        CHECK_STR(json_get(&json_get(first, "rows")->items[0], "credential")->str, KEY_A);
    }
    arena_free(&a);

    buf_reset(&out);
    CHECK_INT(investigate_write_html(&out, r), 0);
    buf_putc(&out, '\0');
    CHECK(strncmp(out.p, "<!DOCTYPE html>", 15) == 0);
    CHECK(strstr(out.p, "<svg id=\"chart\"") != NULL);
    /* one dot per event */
    size_t dots = 0;
    for (const char *p = out.p; (p = strstr(p, "<circle")) != NULL; p++)
        dots++;
    CHECK_INT(dots, 11);
    /* Self-contained: nothing loaded from anywhere. */
    CHECK(strstr(out.p, " src=") == NULL);
    CHECK(strstr(out.p, " href=") == NULL);
    CHECK(strstr(out.p, "@import") == NULL);
    buf_free(&out);
    investigate_report_free(r);

    /* Escaping: markup in a value never becomes markup. */
    r = investigate__report_new("timeline", "<b>&\"x\"|y");
    investigate__summary(r, "k", "<script>alert(1)</script>");
    struct investigate_table *t = investigate__table(r, "T", NULL, "a", (const char *)NULL);
    investigate__row(t, "p|q\nr");
    buf_init(&out, 0);
    investigate_write_html(&out, r);
    buf_putc(&out, '\0');
    CHECK(strstr(out.p, "<script>alert") == NULL);
    CHECK(strstr(out.p, "&lt;b&gt;&amp;&quot;x&quot;|y") != NULL);
    buf_reset(&out);
    investigate_write_markdown(&out, r);
    buf_putc(&out, '\0');
    CHECK(strstr(out.p, "| p\\|q r |") != NULL);
    buf_free(&out);
    investigate_report_free(r);
    store_close(st);
}

/* ---- stored findings ---------------------------------------------------------- */

struct seen {
    int n;
    char id[40], status[16], state[16], note[64];
    int64_t count, first, last;
};

static int grab(void *ctx, const struct investigate_finding_row *row)
{
    struct seen *s = ctx;
    if (s->n++ == 0) {
        snprintf(s->id, sizeof(s->id), "%s", row->id);
        snprintf(s->status, sizeof(s->status), "%s", row->workflow_status);
        snprintf(s->state, sizeof(s->state), "%s", row->record_state);
        snprintf(s->note, sizeof(s->note), "%s", row->note ? row->note : "");
        s->count = row->count;
        s->first = row->first_ms;
        s->last = row->last_ms;
    }
    return 0;
}

static void test_findings(void)
{
    struct store *st = fresh("findings.db");
    struct err e;
    err_clear(&e);
    struct finding_agg *agg = finding_agg_new();
    struct finding_sample_spec hi = { .type = "Stealth:IAMUser/CloudTrailLoggingDisabled",
                                      .severity = 8, .resource = DETECT_RES_ACCESS_KEY,
                                      .source = EVENT_CLOUDTRAIL };
    struct finding_sample_spec lo = { .type = "Recon:IAMUser/MaliciousIPCaller", .severity = 2,
                                      .resource = DETECT_RES_ACCESS_KEY,
                                      .source = EVENT_CLOUDTRAIL };
    int64_t t0 = ms_of("2024-05-01T00:00:00Z");
    finding_sample_add(agg, &hi, ACCT, "us-east-1", t0);
    finding_sample_add(agg, &lo, ACCT, "us-east-1", t0 + 1000);
    size_t n = 0;
    const struct finding **fs = finding_agg_sorted(agg, &n);
    CHECK_INT(n, 2);
    size_t added = 0;
    CHECK_INT(investigate_findings_put(st, fs, n, t0, &added, &e), 0);
    CHECK_INT(added, 2);
    /* Same findings again: nothing new, nothing doubled. */
    CHECK_INT(investigate_findings_put(st, fs, n, t0 + 5, &added, &e), 0);
    CHECK_INT(added, 0);

    struct seen s = { 0 };
    struct investigate_findings_query q = { 0 };
    CHECK_INT(investigate_findings_list(st, &q, grab, &s, &e), 0);
    CHECK_INT(s.n, 2);
    CHECK_STR(s.id, fs[0]->id); /* severity first */
    CHECK_STR(s.status, "NEW");
    CHECK_STR(s.state, "ACTIVE");
    CHECK_INT(s.count, (int64_t)fs[0]->count);
    memset(&s, 0, sizeof(s));
    q.sort = INVESTIGATE_SORT_TIME;
    CHECK_INT(investigate_findings_list(st, &q, grab, &s, &e), 0);
    CHECK_STR(s.id, fs[1]->id); /* the later one first */
    memset(&s, 0, sizeof(s));
    q.severity_min = 5;
    CHECK_INT(investigate_findings_list(st, &q, grab, &s, &e), 0);
    CHECK_INT(s.n, 1);
    memset(&s, 0, sizeof(s));
    q = (struct investigate_findings_query){ .type = "Recon:IAMUser/MaliciousIPCaller" };
    CHECK_INT(investigate_findings_list(st, &q, grab, &s, &e), 0);
    CHECK_INT(s.n, 1);
    CHECK_STR(s.id, fs[1]->id);

    /* The analyst's status survives a re-run. */
    CHECK_INT(investigate_findings_update(st, fs[0]->id, "NOTIFIED", "paged on-call", t0, &e), 0);
    CHECK_INT(investigate_findings_put(st, fs, n, t0 + 10, NULL, &e), 0);
    memset(&s, 0, sizeof(s));
    CHECK_INT(investigate_findings_get(st, fs[0]->id, grab, &s, &e), 0);
    CHECK_STR(s.status, "NOTIFIED");
    CHECK_STR(s.note, "paged on-call");
    CHECK_INT(investigate_findings_update(st, fs[0]->id, "CLOSED", NULL, t0, &e), ERR_USAGE);
    CHECK_INT(investigate_findings_update(st, "nope", "NEW", NULL, t0, &e), ERR_NOTFOUND);
    CHECK_INT(investigate_findings_get(st, "nope", grab, &s, &e), ERR_NOTFOUND);

    /* RESOLVED, then new activity after it: back to NEW, counts add up. */
    CHECK_INT(investigate_findings_update(st, fs[0]->id, "RESOLVED", NULL, t0, &e), 0);
    struct finding *f = (struct finding *)fs[0];
    int64_t old_count = (int64_t)f->count;
    f->first_ms = f->last_ms = t0 + 86400000;
    CHECK_INT(investigate_findings_put(st, fs, 1, t0 + 20, NULL, &e), 0);
    memset(&s, 0, sizeof(s));
    CHECK_INT(investigate_findings_get(st, fs[0]->id, grab, &s, &e), 0);
    CHECK_STR(s.status, "NEW");
    CHECK_INT(s.count, old_count * 2);
    CHECK_INT(s.first, t0);
    CHECK_INT(s.last, t0 + 86400000);

    /* Archive hides it from the default list. */
    CHECK_INT(investigate_findings_archive(st, fs[1]->id, true, t0 + 30, &e), 0);
    memset(&s, 0, sizeof(s));
    q = (struct investigate_findings_query){ 0 };
    CHECK_INT(investigate_findings_list(st, &q, grab, &s, &e), 0);
    CHECK_INT(s.n, 1);
    memset(&s, 0, sizeof(s));
    q.record_state = "ALL";
    CHECK_INT(investigate_findings_list(st, &q, grab, &s, &e), 0);
    CHECK_INT(s.n, 2);

    /* Retention: only what was not updated since the cut-off goes. */
    int64_t purged = -1;
    CHECK_INT(investigate_findings_purge(st, t0 + 25, &purged, &e), 0);
    CHECK_INT(purged, 1);
    memset(&s, 0, sizeof(s));
    CHECK_INT(investigate_findings_list(st, &q, grab, &s, &e), 0);
    CHECK_INT(s.n, 1);
    CHECK_STR(s.id, fs[1]->id);
    free(fs);
    finding_agg_free(agg);
    store_close(st);
}

/* ---- dataset ------------------------------------------------------------------ */

static void test_dataset_stratus(void)
{
    const char *ds = harness_datasets();
    if (ds == NULL)
        return;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/invictus-aws-stratus-2023", ds);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        printf("# skip: %s not found\n", dir);
        return;
    }
    struct store *st = fresh("stratus.db");
    struct err e;
    err_clear(&e);
    const char *paths[] = { dir };
    struct store_ingest_opts io = { 0 };
    CHECK_INT(store_ingest(st, paths, 1, &io, NULL, &e), 0);
    /* The most active access key: every event of it must be in the report. */
    sqlite3_stmt *s = NULL;
    char key[64] = "";
    int64_t n_key = 0;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT access_key_id, count(*) FROM cloudtrail WHERE access_key_id"
                           " LIKE 'AKIA%' GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        snprintf(key, sizeof(key), "%s", (const char *)sqlite3_column_text(s, 0));
        n_key = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    CHECK(key[0] != '\0');
    struct investigate_report *r = NULL;
    struct investigate_cred_opts o = { .access_key = key, .since_ms = INT64_MIN, .now_ms = 0 };
    CHECK_INT(investigate_credentials(st, &o, &r, &e), 0);
    if (r) {
        const struct investigate_table *c = investigate_report_table(r, "Credentials");
        CHECK_INT(strtoll(investigate_table_cell(c, 0, "events"), NULL, 10), n_key);
        int64_t total = strtoll(investigate_report_summary(r, "events"), NULL, 10);
        CHECK(total >= n_key);
        /* Every credential the key minted directly, found by a query of
         * its own, is in the report (used or not). */
        sqlite3_stmt *m = NULL;
        int minted = 0, found = 0;
        if (sqlite3_prepare_v2(
                store_db(st),
                "SELECT DISTINCT coalesce(json_extract(raw,'$.responseElements.credentials.accessKeyId'),"
                " json_extract(raw,'$.responseElements.accessKey.accessKeyId'),"
                " json_extract(raw,'$.responseElements.user.arn')) FROM cloudtrail JOIN cloudtrail_raw"
                " USING (id)"
                " WHERE access_key_id = ?1 AND error_code IS NULL AND event_name IN"
                " ('AssumeRole','CreateAccessKey','CreateUser','GetSessionToken','GetFederationToken')",
                -1, &m, NULL) == SQLITE_OK) {
            sqlite3_bind_text(m, 1, key, -1, SQLITE_STATIC);
            while (sqlite3_step(m) == SQLITE_ROW) {
                const char *v = (const char *)sqlite3_column_text(m, 0);
                if (v == NULL)
                    continue;
                minted++;
                found += has_row(r, "Credentials", "credential", v) ||
                         has_row(r, "Unused temporary keys", "credential", v);
            }
        }
        sqlite3_finalize(m);
        CHECK(minted >= 10);
        CHECK_INT(found, minted);
        printf("# stratus: key %s, %lld own events, %lld in all, %zu credentials\n", key,
               (long long)n_key, (long long)total, c->n_rows);
    }
    investigate_report_free(r);
    store_close(st);
}

static void test_cleanup(void)
{
    static const char *const names[] = { "chain.db", "tokens.db", "bucket.db", "findings.db",
                                          "stratus.db", "bucketlogs.db" };
    char p[512];
    if (tmpdir[0] == '\0')
        return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        rm_db(tmp_path(names[i], p, sizeof(p)));
    CHECK_INT(rmdir(tmpdir), 0);
}

static const struct harness_test tests[] = {
    { "credential_chain", test_credential_chain },
    { "session_tokens", test_session_tokens },
    { "bucket", test_bucket },
    { "bucket_access_logs", test_bucket_access_logs },
    { "timeline", test_timeline },
    { "render", test_render },
    { "findings", test_findings },
    { "dataset_stratus", test_dataset_stratus },
    { "cleanup", test_cleanup },
};

HARNESS_MAIN(tests)
