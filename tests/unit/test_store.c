/* Unit tests for src/store and lookup-events (src/query/lookup.c): schema,
 * idempotent and resumable ingest, resources and user names, the eight lookup
 * keys, ordering, time bounds, paging, errors, and the shared datasets. */
#include "harness.h"
#include "input/input.h"
#include "json/json.h"
#include "query/query.h"
#include "store/store.h"
#include "store/store_int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[256];

static const char *tmp_path(const char *name, char *out, size_t cap)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-test-store-XXXXXX");
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
    }
    snprintf(out, cap, "%s/%s", tmpdir, name);
    return out;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
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

/* Puts every record of an in-memory input (any accepted form); returns how
 * many were new, or -1 on an error. */
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
        if (rc != 0) {
            printf("# input: %s\n", e.msg);
            n = -1;
            break;
        }
        bool ins;
        if (store_put_event(st, &ev, 0, &ins, &e) != 0) {
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

/* A CloudTrail record with the given identity and extra members. */
static const char *rec(char *out, size_t cap, const char *id, const char *time, const char *source,
                       const char *name, const char *identity, const char *extra)
{
    snprintf(out, cap,
             "{\"eventVersion\":\"1.09\",\"userIdentity\":%s,\"eventTime\":\"%s\","
             "\"eventSource\":\"%s\",\"eventName\":\"%s\",\"awsRegion\":\"us-east-1\","
             "\"sourceIPAddress\":\"203.0.113.7\",\"userAgent\":\"aws-cli/2.15\","
             "\"eventID\":\"%s\",\"eventType\":\"AwsApiCall\",\"recipientAccountId\":\"111122223333\"%s%s}",
             identity, time, source, name, id, extra[0] ? "," : "", extra);
    return out;
}

#define ALICE                                                                           \
    "{\"type\":\"IAMUser\",\"principalId\":\"AIDAALICE\",\"arn\":\"arn:aws:iam::111122223333:" \
    "user/alice\",\"accountId\":\"111122223333\",\"accessKeyId\":\"AKIAALICE0000000001\","    \
    "\"userName\":\"alice\"}"
#define ROLE_SESSION                                                                        \
    "{\"type\":\"AssumedRole\",\"principalId\":\"AROAROLE:bob-session\",\"arn\":\"arn:aws:sts::" \
    "111122223333:assumed-role/Admin/bob-session\",\"accountId\":\"111122223333\","            \
    "\"accessKeyId\":\"ASIAROLE00000000001\",\"sessionContext\":{\"sessionIssuer\":{\"type\":"  \
    "\"Role\",\"arn\":\"arn:aws:iam::111122223333:role/Admin\",\"userName\":\"Admin\"}}}"
#define ROOT                                                                                \
    "{\"type\":\"Root\",\"principalId\":\"111122223333\",\"arn\":\"arn:aws:iam::111122223333:root\"," \
    "\"accountId\":\"111122223333\",\"accessKeyId\":\"ASIAROOT00000000001\"}"
#define FEDERATED                                                                           \
    "{\"type\":\"FederatedUser\",\"principalId\":\"111122223333:carol\",\"arn\":\"arn:aws:sts::" \
    "111122223333:federated-user/carol\",\"accountId\":\"111122223333\"}"
#define SERVICE "{\"type\":\"AWSService\",\"invokedBy\":\"ec2.amazonaws.com\"}"

/* Collected lookup results. */
struct got {
    int n;
    char ids[64][64];
    char users[64][64];
    int64_t times[64];
    char res[64][256]; /* "type=name;..." */
};

static int collect(void *ctx, const struct store_lookup_row *row)
{
    struct got *g = ctx;
    if (g->n < 64) {
        snprintf(g->ids[g->n], sizeof(g->ids[0]), "%s", row->event_id);
        snprintf(g->users[g->n], sizeof(g->users[0]), "%s", row->username ? row->username : "-");
        g->times[g->n] = row->time_ms;
        struct buf b;
        buf_init(&b, 0);
        for (size_t i = 0; i < row->n_resources; i++)
            buf_printf(&b, "%s=%s;", row->resources[i].type ? row->resources[i].type : "?",
                       row->resources[i].name);
        snprintf(g->res[g->n], sizeof(g->res[0]), "%s", b.p ? b.p : "");
        buf_free(&b);
    }
    g->n++;
    return 0;
}

static int lookup(struct store *st, enum store_attr attr, const char *value, struct got *g)
{
    struct store_lookup q = { .attr = attr, .value = value, .start_ms = INT64_MIN,
                              .end_ms = INT64_MAX };
    struct err e;
    memset(g, 0, sizeof(*g));
    err_clear(&e);
    int rc = store_lookup_events(st, &q, collect, g, NULL, &e);
    if (rc != 0)
        printf("# lookup: %s\n", e.msg);
    return rc == 0 ? g->n : -1;
}

/* ---- schema ---------------------------------------------------------------------- */

static void test_schema(void)
{
    char path[512];
    tmp_path("schema.db", path, sizeof(path));
    rm_db(path);
    struct store *st = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(store_open_flags(path, STORE_OPEN_READONLY, &st, &e), ERR_NOTFOUND);
    CHECK(st == NULL);
    CHECK_INT(store_open(path, &st, &e), 0);
    int v = 0;
    CHECK_INT(store_schema_version(st, &v, &e), 0);
    CHECK_INT(v, STORE_SCHEMA_VERSION);
    const char *tables[] = { "cloudtrail", "resources", "vpcflow",  "dns",          "s3access",
                             "cloudfront", "waf",       "ingest_ledger", "schema_version" };
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        sqlite3_stmt *s;
        sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM sqlite_master WHERE name=?1", -1,
                           &s, NULL);
        sqlite3_bind_text(s, 1, tables[i], -1, SQLITE_STATIC);
        CHECK_INT(sqlite3_step(s), SQLITE_ROW);
        CHECK_INT(sqlite3_column_int(s, 0), 1);
        sqlite3_finalize(s);
    }
    sqlite3_stmt *s;
    sqlite3_prepare_v2(store_db(st), "PRAGMA journal_mode", -1, &s, NULL);
    CHECK_INT(sqlite3_step(s), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    /* Indexes analysts' filters and the lookups use. */
    sqlite3_prepare_v2(store_db(st),
                       "SELECT count(*) FROM sqlite_master WHERE type='index' AND name IN"
                       " ('cloudtrail_time','cloudtrail_name','cloudtrail_user','cloudtrail_key',"
                       "'cloudtrail_source','resources_name','resources_type','vpcflow_key',"
                       "'dns_key')",
                       -1, &s, NULL);
    sqlite3_step(s);
    CHECK_INT(sqlite3_column_int(s, 0), 9);
    sqlite3_finalize(s);
    store_close(st);

    /* Reopening migrates nothing; a newer schema is refused. */
    st = NULL;
    CHECK_INT(store_open(path, &st, &e), 0);
    CHECK_INT(store_schema_version(st, &v, &e), 0);
    CHECK_INT(v, STORE_SCHEMA_VERSION);
    CHECK_INT(sqlite3_exec(store_db(st), "INSERT INTO schema_version VALUES(99,'x')", NULL, NULL,
                           NULL),
              SQLITE_OK);
    store_close(st);
    st = NULL;
    CHECK_INT(store_open(path, &st, &e), ERR_DB);
    CHECK(strstr(e.msg, "99") != NULL);
    CHECK(st == NULL);
}

static int64_t count_sql(struct store *st, const char *sql)
{
    sqlite3_stmt *s;
    int64_t n = -1;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static int lookup_count(struct store *st, const char *key, const char *value);

/* Stores written by older Vigils: version 1 (the record in cloudtrail.raw;
 * the findings table only when the investigate module had made it, on first
 * use) and version 2. A read-only open migrates them: records move to
 * cloudtrail_raw, findings are kept, lookups answer as before. */
static void test_migration(void)
{
    char path[512];
    tmp_path("migrate.db", path, sizeof(path));
    /* from: 1 = version 1; 2 = version 1 with the investigate module's
     * findings table; 3 = version 2 (web access logs) with it; 4 = version 3
     * (findings in the schema) */
    for (int from = 1; from <= 4; from++) {
        const bool had_findings = from >= 2;
        const int version = from <= 2 ? 1 : from - 1;
        rm_db(path);
        sqlite3 *h = NULL;
        CHECK_INT(sqlite3_open(path, &h), SQLITE_OK);
        CHECK_INT(sqlite3_exec(h, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL", NULL, NULL, NULL),
                  SQLITE_OK);
        for (int v = 1; v <= version; v++) {
            char row[64];
            snprintf(row, sizeof(row), "INSERT INTO schema_version VALUES(%d, 'x')", v);
            CHECK_INT(sqlite3_exec(h, store__migration_sql(v), NULL, NULL, NULL), SQLITE_OK);
            CHECK_INT(sqlite3_exec(h, row, NULL, NULL, NULL), SQLITE_OK);
        }
        char sql[2048];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO cloudtrail(id, event_id, event_time_ms, event_time, event_category,"
                 " event_name, user_name, raw) VALUES(7, 'e-1', 1700000000000,"
                 " '2023-11-14T22:13:20Z', 'Management', 'CreateUser', 'alice',"
                 " '{\"eventID\":\"e-1\",\"eventName\":\"CreateUser\"}');"
                 "INSERT INTO resources VALUES(7, 0, 'AWS::IAM::User', 'bob', 1700000000000, 1);"
                 "CREATE INDEX cloudtrail_key ON cloudtrail(access_key_id, event_category,"
                 " event_time_ms);");
        CHECK_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
        if (had_findings)
            CHECK_INT(sqlite3_exec(h,
                                   "CREATE TABLE IF NOT EXISTS findings(id TEXT PRIMARY KEY, type TEXT"
                                   " NOT NULL, severity REAL NOT NULL, account TEXT, region TEXT,"
                                   " resource TEXT, title TEXT, first_seen_ms INTEGER NOT NULL,"
                                   " last_seen_ms INTEGER NOT NULL, count INTEGER NOT NULL, json TEXT"
                                   " NOT NULL, workflow_status TEXT NOT NULL DEFAULT 'NEW',"
                                   " record_state TEXT NOT NULL DEFAULT 'ACTIVE', note TEXT,"
                                   " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
                                   "INSERT INTO findings(id, type, severity, first_seen_ms,"
                                   " last_seen_ms, count, json, created_ms, updated_ms)"
                                   " VALUES('f1','Recon:IAMUser/X',5,1,2,3,'{}',4,4);",
                                   NULL, NULL, NULL),
                      SQLITE_OK);
        sqlite3_close(h);

        struct store *st = NULL;
        struct err e;
        err_clear(&e);
        CHECK_INT(store_open_flags(path, STORE_OPEN_READONLY, &st, &e), 0);
        CHECK(st != NULL);
        if (st == NULL) {
            printf("#   %s\n", e.msg);
            continue;
        }
        int v = 0;
        CHECK_INT(store_schema_version(st, &v, &e), 0);
        CHECK_INT(v, STORE_SCHEMA_VERSION);
        CHECK_INT(count_sql(st, "SELECT count(*) FROM findings"), had_findings ? 1 : 0);
        CHECK_INT(count_sql(st, "SELECT count(*) FROM sqlite_master WHERE type='index' AND"
                                " name IN ('findings_severity','findings_last','findings_updated',"
                                "'cloudtrail_principal_id')"),
                  4);
        CHECK_INT(count_sql(st, "SELECT count(*) FROM pragma_table_info('cloudtrail') WHERE"
                                " name = 'raw'"),
                  0);
        CHECK_INT(count_sql(st, "SELECT count(*) FROM cloudtrail_raw WHERE id = 7 AND"
                                " raw LIKE '{\"eventID\":\"e-1\"%'"),
                  1);
        CHECK_INT(lookup_count(st, "ResourceName", "bob"), 1);
        /* the key index in its version-3 shape: time before category */
        CHECK_INT(count_sql(st, "SELECT count(*) FROM pragma_index_info('cloudtrail_key') WHERE"
                                " seqno = 1 AND name = 'event_time_ms'"),
                  1);
        /* the time index in its version-5 shape: it covers account and Region */
        CHECK_INT(count_sql(st, "SELECT count(*) FROM pragma_index_info('cloudtrail_time') WHERE"
                                " (seqno = 2 AND name = 'account') OR (seqno = 3 AND name = 'region')"),
                  2);
        /* the name index in its version-6 shape: it covers principal and address */
        CHECK_INT(count_sql(st, "SELECT count(*) FROM pragma_index_info('cloudtrail_name') WHERE"
                                " (seqno = 5 AND name = 'principal_arn') OR"
                                " (seqno = 6 AND name = 'source_ip')"),
                  2);
        store_close(st);
    }
    /* An empty file is not an old store: a reader still refuses it. */
    rm_db(path);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    struct store *st = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(store_open_flags(path, STORE_OPEN_READONLY, &st, &e), ERR_DB);
    CHECK(st == NULL);
    rm_db(path);
}

static void test_sha256(void)
{
    struct store_sha256 s;
    char hex[65];
    store__sha256_init(&s);
    store__sha256_hex(&s, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    store__sha256_init(&s);
    store__sha256_update(&s, "abc", 3);
    store__sha256_hex(&s, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the padding spills into a second block; fed in odd pieces. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    store__sha256_init(&s);
    for (size_t i = 0; i < strlen(m); i += 5)
        store__sha256_update(&s, m + i, strlen(m) - i < 5 ? strlen(m) - i : 5);
    store__sha256_hex(&s, hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_compact_json(void)
{
    struct buf b;
    buf_init(&b, 0);
    struct sv in = SV("{ \"a\" : [ 1, 2 ],\n\t\"b\": \"x y \\\" z\\\\\", \"c\":\"\"}");
    CHECK(!store__json_is_compact(in));
    CHECK_INT(store__compact_json(in, &b), 0);
    CHECK_STR(b.p, "{\"a\":[1,2],\"b\":\"x y \\\" z\\\\\",\"c\":\"\"}");
    CHECK(store__json_is_compact(sv_make(b.p, b.len)));
    buf_free(&b);
}

/* ---- user names and resources ------------------------------------------------------- */

static void test_username(void)
{
    struct store *st = fresh("user.db");
    char r[6][2048];
    struct buf all;
    buf_init(&all, 0);
    buf_printf(&all, "%s\n", rec(r[0], sizeof(r[0]), "u1", "2024-01-01T00:00:01Z", "ec2.amazonaws.com", "DescribeInstances", ALICE, ""));
    buf_printf(&all, "%s\n", rec(r[1], sizeof(r[1]), "u2", "2024-01-01T00:00:02Z", "ec2.amazonaws.com", "DescribeInstances", ROLE_SESSION, ""));
    buf_printf(&all, "%s\n", rec(r[2], sizeof(r[2]), "u3", "2024-01-01T00:00:03Z", "ec2.amazonaws.com", "DescribeInstances", ROOT, ""));
    buf_printf(&all, "%s\n", rec(r[3], sizeof(r[3]), "u4", "2024-01-01T00:00:04Z", "ec2.amazonaws.com", "DescribeInstances", FEDERATED, ""));
    buf_printf(&all, "%s\n", rec(r[4], sizeof(r[4]), "u5", "2024-01-01T00:00:05Z", "sts.amazonaws.com", "AssumeRole", SERVICE, ""));
    buf_printf(&all, "%s\n", rec(r[5], sizeof(r[5]), "u6", "2024-01-01T00:00:06Z", "ec2.amazonaws.com", "DescribeInstances",
                                "{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::111122223333:user/ops/dave\"}", ""));
    CHECK_INT(put_text(st, all.p), 6);
    struct got g;
    CHECK_INT(lookup(st, STORE_ATTR_NONE, NULL, &g), 6);
    /* Newest first: u6 .. u1. */
    CHECK_STR(g.users[0], "dave");
    CHECK_STR(g.users[1], "-");
    CHECK_STR(g.users[2], "carol");
    CHECK_STR(g.users[3], "root");
    CHECK_STR(g.users[4], "bob-session");
    CHECK_STR(g.users[5], "alice");
    CHECK_INT(lookup(st, STORE_ATTR_USERNAME, "Admin", &g), 0); /* the role is not the user name */
    CHECK_INT(lookup(st, STORE_ATTR_USERNAME, "bob-session", &g), 1);
    buf_free(&all);
    store_close(st);
}

/* The resources recorded for one record, as "type=name;..." */
static void resources_of(const char *json, char *out, size_t cap)
{
    struct input_reader *r = NULL;
    struct err e;
    err_clear(&e);
    struct json_pathset *ps = json_pathset_new();
    store_add_paths(ps);
    struct input_options opt = { .want = ps };
    out[0] = '\0';
    struct event ev;
    if (input_open_mem("mem", json, strlen(json), &opt, &r, &e) == 0 &&
        input_next(r, &ev, &e) == 0) {
        struct arena a;
        arena_init(&a, 0);
        struct store_resource res[16];
        size_t n = store_event_resources(&ev, &a, res, 16);
        struct buf b;
        buf_init(&b, 0);
        for (size_t i = 0; i < n; i++)
            buf_printf(&b, "%s=%s;", res[i].type ? res[i].type : "?", res[i].name);
        snprintf(out, cap, "%s", b.p ? b.p : "");
        buf_free(&b);
        arena_free(&a);
    } else {
        printf("# resources_of: %s\n", e.msg);
    }
    input_close(r);
    json_pathset_free(ps);
}

static void test_resources(void)
{
    char r[4096], got[1024];
    static const struct {
        const char *source, *name, *extra, *want;
    } cases[] = {
        { "s3.amazonaws.com", "PutBucketPolicy",
          "\"requestParameters\":{\"bucketName\":\"logs-bkt\",\"policy\":\"{}\"},"
          "\"resources\":[{\"accountId\":\"111122223333\",\"type\":\"AWS::S3::Bucket\","
          "\"ARN\":\"arn:aws:s3:::logs-bkt\"}]",
          "AWS::S3::Bucket=arn:aws:s3:::logs-bkt;AWS::S3::Bucket=logs-bkt;" },
        { "ec2.amazonaws.com", "RunInstances",
          "\"requestParameters\":{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-1\"}]},"
          "\"groupSet\":{\"items\":[{\"groupId\":\"sg-1\"}]},\"subnetId\":\"subnet-1\"},"
          "\"responseElements\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-1\"},"
          "{\"instanceId\":\"i-2\"}]}}",
          "AWS::EC2::Ami=ami-1;AWS::EC2::SecurityGroup=sg-1;AWS::EC2::Subnet=subnet-1;"
          "AWS::EC2::Instance=i-1;AWS::EC2::Instance=i-2;" },
        { "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
          "\"requestParameters\":{\"groupId\":\"sg-0abc\",\"ipPermissions\":{}}",
          "AWS::EC2::SecurityGroup=sg-0abc;" },
        { "ec2.amazonaws.com", "StopInstances",
          "\"requestParameters\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-9\"}]}}",
          "AWS::EC2::Instance=i-9;" },
        { "ec2.amazonaws.com", "ModifySnapshotAttribute",
          "\"requestParameters\":{\"snapshotId\":\"snap-1\",\"attributeType\":\"CREATE_VOLUME_PERMISSION\"}",
          "AWS::EC2::Snapshot=snap-1;" },
        { "ec2.amazonaws.com", "ModifyImageAttribute",
          "\"requestParameters\":{\"imageId\":\"ami-7\"}", "AWS::EC2::Ami=ami-7;" },
        { "iam.amazonaws.com", "AttachUserPolicy",
          "\"requestParameters\":{\"userName\":\"eve\",\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"}",
          "AWS::IAM::User=eve;AWS::IAM::Policy=arn:aws:iam::aws:policy/AdministratorAccess;" },
        { "iam.amazonaws.com", "AttachRolePolicy",
          "\"requestParameters\":{\"roleName\":\"ops\",\"policyArn\":\"arn:aws:iam::aws:policy/ReadOnlyAccess\"}",
          "AWS::IAM::Role=ops;AWS::IAM::Policy=arn:aws:iam::aws:policy/ReadOnlyAccess;" },
        { "iam.amazonaws.com", "CreateAccessKey",
          "\"requestParameters\":{\"userName\":\"eve\"},\"responseElements\":{\"accessKey\":"
          "{\"accessKeyId\":\"AKIANEW\",\"status\":\"Active\",\"userName\":\"eve\"}}",
          "AWS::IAM::User=eve;AWS::IAM::AccessKey=AKIANEW;" },
        { "iam.amazonaws.com", "AddUserToGroup",
          "\"requestParameters\":{\"groupName\":\"admins\",\"userName\":\"eve\"}",
          "AWS::IAM::Group=admins;AWS::IAM::User=eve;" },
        { "sts.amazonaws.com", "AssumeRole",
          "\"requestParameters\":{\"roleArn\":\"arn:aws:iam::111122223333:role/Admin\","
          "\"roleSessionName\":\"s\"},\"responseElements\":{\"credentials\":{\"accessKeyId\":"
          "\"ASIANEW\"},\"assumedRoleUser\":{\"arn\":\"arn:aws:sts::111122223333:assumed-role/Admin/s\"}},"
          "\"resources\":[{\"ARN\":\"arn:aws:iam::111122223333:role/Admin\",\"accountId\":"
          "\"111122223333\",\"type\":\"AWS::IAM::Role\"}]",
          "AWS::IAM::Role=arn:aws:iam::111122223333:role/Admin;AWS::IAM::AccessKey=ASIANEW;"
          "AWS::STS::AssumedRole=arn:aws:sts::111122223333:assumed-role/Admin/s;" },
        { "cloudtrail.amazonaws.com", "StopLogging", "\"requestParameters\":{\"name\":\"main\"}",
          "AWS::CloudTrail::Trail=main;" },
        { "kms.amazonaws.com", "Decrypt",
          "\"requestParameters\":{\"keyId\":\"arn:aws:kms:us-east-1:111122223333:key/k1\"},"
          "\"resources\":[{\"ARN\":\"arn:aws:kms:us-east-1:111122223333:key/k1\",\"type\":\"AWS::KMS::Key\"}]",
          "AWS::KMS::Key=arn:aws:kms:us-east-1:111122223333:key/k1;" },
        { "secretsmanager.amazonaws.com", "GetSecretValue",
          "\"requestParameters\":{\"secretId\":\"prod/db\"}", "AWS::SecretsManager::Secret=prod/db;" },
        { "ssm.amazonaws.com", "GetParameters",
          "\"requestParameters\":{\"names\":[\"/a\",\"/b\"],\"withDecryption\":true}",
          "AWS::SSM::Parameter=/a;AWS::SSM::Parameter=/b;" },
        { "ssm.amazonaws.com", "SendCommand",
          "\"requestParameters\":{\"instanceIds\":[\"i-5\"],\"documentName\":\"AWS-RunShellScript\"}",
          "AWS::EC2::Instance=i-5;AWS::SSM::Document=AWS-RunShellScript;" },
        { "rds.amazonaws.com", "ModifyDBSnapshotAttribute",
          "\"requestParameters\":{\"dBSnapshotIdentifier\":\"exfil\"}", "AWS::RDS::DBSnapshot=exfil;" },
        { "lambda.amazonaws.com", "DeleteFunction20150331",
          "\"requestParameters\":{\"functionName\":\"fn\"}", "AWS::Lambda::Function=fn;" },
        { "ec2.amazonaws.com", "DeleteFlowLogs",
          "\"requestParameters\":{\"DeleteFlowLogsRequest\":{\"FlowLogId\":{\"content\":\"fl-1\",\"tag\":1}}}",
          "AWS::EC2::FlowLog=fl-1;" },
        /* A generic field outside its service names nothing. */
        { "s3.amazonaws.com", "GetBucketAcl", "\"requestParameters\":{\"name\":\"x\",\"userName\":\"y\"}", "" },
        /* resources[] without a type keeps the name. */
        { "sts.amazonaws.com", "GetCallerIdentity",
          "\"resources\":[{\"ARN\":\"arn:aws:iam::111122223333:user/x\",\"accountId\":\"1\"}]",
          "?=arn:aws:iam::111122223333:user/x;" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rec(r, sizeof(r), "id", "2024-01-01T00:00:00Z", cases[i].source, cases[i].name, ALICE,
            cases[i].extra);
        resources_of(r, got, sizeof(got));
        if (strcmp(got, cases[i].want) != 0)
            printf("#   case %s\n", cases[i].name);
        CHECK_STR(got, cases[i].want);
    }
}

/* ---- idempotent, resumable ingest ---------------------------------------------------- */

static int count(struct store *st, const char *sql)
{
    sqlite3_stmt *s;
    int n = -1;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* The daily counts follow the ingest (its events, not the duplicates it
 * ignores) and every delete and update of cloudtrail: NULL keys, times
 * before 1970 included. */
static void test_daily_counts(void)
{
    struct store *st = fresh("daily.db");
    sqlite3 *db = store_db(st);
    char path[600];
    tmp_path("daily.json", path, sizeof(path));
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("{\"Records\":[", f);
    for (int k = 0; k < 600; k++) {
        /* days around 2023-11 and one before 1970; some without account or Region */
        long long ms = k % 50 == 0 ? -3600000LL * (k % 7 + 1) : 1700000000000LL + k * 7777777LL;
        time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        char iso[32];
        strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(f, "%s{\"eventVersion\":\"1.08\",\"eventID\":\"e%d\",\"eventTime\":\"%s\","
                   "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\"",
                k ? "," : "", k % 97 == 3 ? k - 1 : k, iso);
        if (k % 5 != 0)
            fprintf(f, ",\"recipientAccountId\":\"11112222333%d\"", k % 2);
        if (k % 7 != 0)
            fprintf(f, ",\"awsRegion\":\"us-east-%d\"", k % 3);
        fputs("}", f);
    }
    fputs("]}", f);
    fclose(f);
    struct store_ingest_stats stats;
    struct err e;
    err_clear(&e);
    const char *paths[] = { path };
    CHECK_INT(store_ingest(st, paths, 1, NULL, &stats, &e), 0);
    static const char *const steps[] = {
        "SELECT 1",
        "DELETE FROM cloudtrail WHERE rowid % 3 = 1",
        "UPDATE cloudtrail SET region = NULL WHERE rowid % 5 = 2",
        "UPDATE cloudtrail SET event_time_ms = event_time_ms + 43200000, account = 'b'"
        " WHERE rowid % 4 = 3",
        "DELETE FROM cloudtrail WHERE account IS NULL AND rowid % 2 = 0",
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        CHECK_INT(sqlite3_exec(db, steps[i], NULL, NULL, NULL), SQLITE_OK);
#define DAILY "SELECT day_ms, account, region, sum(n) FROM cloudtrail_daily GROUP BY 1, 2, 3"
#define ROWS                                                                                  \
    "SELECT event_time_ms - (event_time_ms % 86400000 + 86400000) % 86400000 AS d, account," \
    " region, count(*) FROM cloudtrail GROUP BY d, account, region"
        CHECK_INT(count(st, "SELECT count(*) FROM (" DAILY " EXCEPT " ROWS ")"), 0);
        CHECK_INT(count(st, "SELECT count(*) FROM (" ROWS " EXCEPT " DAILY ")"), 0);
        CHECK_INT(count(st, "SELECT count(*) FROM cloudtrail_daily WHERE n <= 0"), 0);
        if (i == 0) {
            CHECK_INT(count(st, "SELECT sum(n) FROM cloudtrail_daily"), 600 - 7); /* 7 duplicate ids */
            CHECK(count(st, "SELECT count(*) FROM cloudtrail_daily WHERE day_ms < 0") > 0);
            CHECK(count(st, "SELECT count(*) FROM cloudtrail_daily WHERE account IS NULL") > 0);
        }
    }
    CHECK(count(st, "SELECT count(*) FROM cloudtrail") > 200);
    store_close(st);
    unlink(path);
}

static void make_files(const char *dir, int files, int per_file, int dup_every)
{
    mkdir(dir, 0700);
    char path[600], r[2048];
    for (int f = 0; f < files; f++) {
        struct buf b;
        buf_init(&b, 0);
        buf_append_cstr(&b, "{\"Records\":[");
        for (int i = 0; i < per_file; i++) {
            char id[64], t[32];
            int k = f * per_file + i;
            /* Every dup_every-th record repeats an earlier file's event id. */
            if (dup_every && f > 0 && i % dup_every == 0)
                k = i;
            snprintf(id, sizeof(id), "ev-%06d", k);
            snprintf(t, sizeof(t), "2024-02-01T00:%02d:%02dZ", k / 60 % 60, k % 60);
            rec(r, sizeof(r), id, t, "s3.amazonaws.com", "GetBucketAcl", ALICE,
                "\"readOnly\":true,\"requestParameters\":{\"bucketName\":\"b1\"}");
            buf_printf(&b, "%s%s", i ? "," : "", r);
        }
        buf_append_cstr(&b, "]}");
        snprintf(path, sizeof(path), "%s/f%03d.json", dir, f);
        write_file(path, b.p);
        buf_free(&b);
    }
}

struct stop_after {
    int commits, stop_at;
};

static int stop_hook(void *ctx, const struct store_ingest_stats *s)
{
    struct stop_after *sa = ctx;
    (void)s;
    return ++sa->commits >= sa->stop_at;
}

static void test_idempotent(void)
{
    char dir[512];
    tmp_path("idem", dir, sizeof(dir));
    make_files(dir, 6, 50, 10); /* 300 records, 25 repeated ids -> 275 events */
    struct store *st = fresh("idem.db");
    struct store_ingest_stats s;
    struct err e;
    err_clear(&e);
    const char *paths[] = { dir };
    struct store_ingest_opts o = { .batch_rows = 7 };
    CHECK_INT(store_ingest(st, paths, 1, &o, &s, &e), 0);
    CHECK_INT(s.files_total, 6);
    CHECK_INT(s.files_done, 6);
    CHECK_INT(s.records, 300);
    CHECK_INT(s.inserted, 275);
    CHECK_INT(s.duplicates, 25);
    CHECK_INT(s.bad, 0);
    CHECK_INT(count(st, "SELECT count(*) FROM cloudtrail"), 275);
    CHECK_INT(count(st, "SELECT count(DISTINCT event_id) FROM cloudtrail"), 275);
    CHECK_INT(count(st, "SELECT count(*) FROM resources"), 275);
    CHECK_INT(count(st, "SELECT count(*) FROM ingest_ledger WHERE finished_at IS NOT NULL"), 6);
    CHECK_INT(count(st, "SELECT sum(records) FROM ingest_ledger"), 300);

    /* Again: every file is skipped by the ledger. */
    CHECK_INT(store_ingest(st, paths, 1, &o, &s, &e), 0);
    CHECK_INT(s.files_skipped, 6);
    CHECK_INT(s.records, 0);
    CHECK_INT(count(st, "SELECT count(*) FROM cloudtrail"), 275);

    /* Forced: read again, nothing new, the ledger keeps one row per file. */
    o.force = true;
    CHECK_INT(store_ingest(st, paths, 1, &o, &s, &e), 0);
    CHECK_INT(s.records, 300);
    CHECK_INT(s.inserted, 0);
    CHECK_INT(s.duplicates, 300);
    CHECK_INT(count(st, "SELECT count(*) FROM cloudtrail"), 275);
    CHECK_INT(count(st, "SELECT count(*) FROM resources"), 275);
    CHECK_INT(count(st, "SELECT count(*) FROM ingest_ledger"), 6);

    /* A copy under another name has the same content hash: skipped. */
    char copy[600], src[600];
    snprintf(src, sizeof(src), "%s/f000.json", dir);
    tmp_path("copy-of-f000.json", copy, sizeof(copy));
    FILE *in = fopen(src, "r"), *out = fopen(copy, "w");
    int c;
    while ((c = fgetc(in)) != EOF)
        fputc(c, out);
    fclose(in);
    fclose(out);
    const char *one[] = { copy };
    o.force = false;
    CHECK_INT(store_ingest(st, one, 1, &o, &s, &e), 0);
    CHECK_INT(s.files_skipped, 1);
    store_close(st);
}

static void test_resume(void)
{
    char dir[512];
    tmp_path("resume", dir, sizeof(dir));
    make_files(dir, 5, 40, 0);
    struct store *st = fresh("resume.db");
    struct err e;
    err_clear(&e);
    const char *paths[] = { dir };
    /* Stop after each of the first commits in turn, as a crash would (the
     * open batch is never committed); each re-run finishes the job. */
    static const int expect[] = { 15, 30, 45 };
    for (int stop = 1; stop <= 3; stop++) {
        struct stop_after sa = { 0, stop };
        struct store_ingest_opts o = { .batch_rows = 15, .after_commit = stop_hook, .ctx = &sa };
        struct store_ingest_stats s;
        CHECK_INT(store_ingest(st, paths, 1, &o, &s, &e), 0);
        /* Each run re-reads the unfinished file, then gets further. */
        CHECK_INT(count(st, "SELECT count(*) FROM cloudtrail"), expect[stop - 1]);
    }
    int partial = count(st, "SELECT count(*) FROM cloudtrail");
    CHECK(partial > 0 && partial < 200);
    CHECK(count(st, "SELECT count(*) FROM ingest_ledger WHERE finished_at IS NULL") > 0);
    struct store_ingest_opts o = { .batch_rows = 15 };
    struct store_ingest_stats s;
    CHECK_INT(store_ingest(st, paths, 1, &o, &s, &e), 0);
    CHECK_INT(count(st, "SELECT count(*) FROM cloudtrail"), 200);
    CHECK_INT(count(st, "SELECT count(DISTINCT event_id) FROM cloudtrail"), 200);
    CHECK_INT(count(st, "SELECT count(*) FROM resources"), 200);
    CHECK_INT(count(st, "SELECT count(*) FROM ingest_ledger"), 5);
    CHECK_INT(count(st, "SELECT count(*) FROM ingest_ledger WHERE finished_at IS NULL"), 0);
    CHECK(s.duplicates > 0); /* the re-read files had rows already */
    store_close(st);
}

struct problems {
    int n;
    char first[1200];
};

static void on_problem(void *ctx, int code, const struct err *e)
{
    struct problems *p = ctx;
    if (code == INPUT_NOTE)
        return;
    if (p->n++ == 0)
        err_format(e, p->first, sizeof(p->first));
}

static void test_bad_records(void)
{
    char path[512], r1[2048], r2[2048], text[5000];
    tmp_path("bad.json", path, sizeof(path));
    rec(r1, sizeof(r1), "good-1", "2024-03-01T00:00:00Z", "iam.amazonaws.com", "ListUsers", ALICE, "");
    rec(r2, sizeof(r2), "good-2", "2024-03-01T00:00:01Z", "iam.amazonaws.com", "ListUsers", ALICE, "");
    snprintf(text, sizeof(text), "%s\n{\"eventVersion\":\"1.08\",\"eventName\":\"X\",broken}\n%s\n", r1, r2);
    write_file(path, text);
    struct store *st = fresh("bad.db");
    struct problems p = { 0 };
    struct store_ingest_opts o = { .on_problem = on_problem, .ctx = &p };
    struct store_ingest_stats s;
    struct err e;
    err_clear(&e);
    const char *paths[] = { path };
    CHECK_INT(store_ingest(st, paths, 1, &o, &s, &e), 0);
    CHECK_INT(s.bad, 1);
    CHECK_INT(s.inserted, 2);
    CHECK_INT(p.n, 1);
    CHECK(strstr(p.first, "bad.json") != NULL);
    CHECK(strstr(p.first, "record 2") != NULL || strstr(p.first, "line 2") != NULL);
    CHECK_INT(count(st, "SELECT bad FROM ingest_ledger"), 1);
    /* A path that does not exist is reported too; the others still go in. */
    const char *two[] = { "/nonexistent/vigil", path };
    p.n = 0;
    o.force = true;
    CHECK_INT(store_ingest(st, two, 2, &o, &s, &e), 0);
    CHECK(s.bad >= 2);
    CHECK(strstr(p.first, "/nonexistent/vigil") != NULL);
    store_close(st);
}


static void test_own_files(void)
{
    /* The store inside the directory it ingests is not read as input. */
    char dir[512], dbp[600], f[600], r[2048];
    tmp_path("own", dir, sizeof(dir));
    mkdir(dir, 0700);
    snprintf(dbp, sizeof(dbp), "%s/case.db", dir);
    snprintf(f, sizeof(f), "%s/trail.json", dir);
    write_file(f, rec(r, sizeof(r), "own-1", "2024-01-01T00:00:00Z", "iam.amazonaws.com",
                      "ListUsers", ALICE, ""));
    struct store *st = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(store_open(dbp, &st, &e), 0);
    struct problems p = { 0 };
    struct store_ingest_opts o = { .on_problem = on_problem, .ctx = &p };
    struct store_ingest_stats s;
    const char *paths[] = { dir };
    CHECK_INT(store_ingest(st, paths, 1, &o, &s, &e), 0);
    CHECK_INT(s.files_total, 1);
    CHECK_INT(s.bad, 0);
    CHECK_INT(s.inserted, 1);
    CHECK_INT(s.notes, 1);
    CHECK_INT(p.n, 0);
    store_close(st);
}

static void test_flow_dns(void)
{
    struct store *st = fresh("flow.db");
    const char *flows =
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
        "start end action log-status\n"
        "2 111122223333 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK\n"
        "2 111122223333 eni-1 - - - - - - - 1700000060 1700000120 - NODATA\n"
        "2 111122223333 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 REJECT OK\n";
    CHECK_INT(put_text(st, flows), 3);
    CHECK_INT(put_text(st, flows), 0); /* NODATA (NULL fields) deduplicates too */
    CHECK_INT(count(st, "SELECT count(*) FROM vpcflow"), 3);
    CHECK_INT(count(st, "SELECT count(*) FROM vpcflow WHERE srcaddr IS NULL AND log_status='NODATA'"), 1);
    CHECK_INT(count(st, "SELECT srcport FROM vpcflow WHERE action='REJECT'"), 443);
    CHECK_INT(count(st, "SELECT typeof(srcport)='integer' FROM vpcflow WHERE action='REJECT'"), 1);

    const char *dns =
        "{\"version\":\"1.100000\",\"account_id\":\"111122223333\",\"region\":\"us-east-1\","
        "\"vpc_id\":\"vpc-1\",\"query_timestamp\":\"2024-01-01T00:00:00Z\",\"query_name\":"
        "\"example.com.\",\"query_type\":\"A\",\"query_class\":\"IN\",\"rcode\":\"NOERROR\","
        "\"answers\":[{\"Rdata\":\"93.184.216.34\",\"Type\":\"A\",\"Class\":\"IN\"},"
        "{\"Rdata\":\"93.184.216.35\",\"Type\":\"A\",\"Class\":\"IN\"}],\"srcaddr\":\"10.0.0.5\","
        "\"srcport\":\"53001\",\"transport\":\"UDP\",\"srcids\":{\"instance\":\"i-1\"}}\n"
        "{\"version\":\"1.100000\",\"account_id\":\"111122223333\",\"region\":\"us-east-1\","
        "\"vpc_id\":\"vpc-1\",\"query_timestamp\":\"2024-01-01T00:00:00Z\",\"query_name\":"
        "\"nx.example.\",\"query_type\":\"A\",\"query_class\":\"IN\",\"rcode\":\"NXDOMAIN\","
        "\"answers\":[],\"srcaddr\":\"10.0.0.5\",\"srcport\":\"53002\",\"transport\":\"UDP\","
        "\"srcids\":{\"instance\":\"i-1\"}}\n";
    CHECK_INT(put_text(st, dns), 2);
    CHECK_INT(put_text(st, dns), 0);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(store_db(st),
                       "SELECT answers, srcport, srcids_instance, query_time_ms FROM dns ORDER BY srcport",
                       -1, &s, NULL);
    CHECK_INT(sqlite3_step(s), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(s, 0),
              "[{\"Rdata\":\"93.184.216.34\",\"Type\":\"A\",\"Class\":\"IN\"},"
              "{\"Rdata\":\"93.184.216.35\",\"Type\":\"A\",\"Class\":\"IN\"}]");
    CHECK_INT(sqlite3_column_int(s, 1), 53001);
    CHECK_STR((const char *)sqlite3_column_text(s, 2), "i-1");
    CHECK_INT(sqlite3_column_int64(s, 3), 1704067200000LL);
    CHECK_INT(sqlite3_step(s), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(s, 0), "[]");
    sqlite3_finalize(s);
    store_close(st);
}

/* ---- lookups ----------------------------------------------------------------------------- */

/* Twelve events over three seconds, mixed identities and APIs, plus a data
 * event and an Insights event that management lookups must not return. */
static struct store *lookup_store(void)
{
    struct store *st = fresh("lookup.db");
    char r[4096];
    struct buf b;
    buf_init(&b, 0);
    static const struct {
        const char *id, *time, *src, *name, *who, *extra;
    } evs[] = {
        { "a01", "2024-05-01T10:00:00Z", "iam.amazonaws.com", "CreateUser", ALICE,
          "\"readOnly\":false,\"requestParameters\":{\"userName\":\"mallory\"}" },
        { "a02", "2024-05-01T10:00:00Z", "iam.amazonaws.com", "CreateAccessKey", ALICE,
          "\"readOnly\":false,\"requestParameters\":{\"userName\":\"mallory\"},"
          "\"responseElements\":{\"accessKey\":{\"accessKeyId\":\"AKIAMALLORY\"}}" },
        { "a03", "2024-05-01T10:00:01Z", "s3.amazonaws.com", "ListBuckets", ROLE_SESSION,
          "\"readOnly\":true" },
        { "a04", "2024-05-01T10:00:01Z", "s3.amazonaws.com", "PutBucketPolicy", ROLE_SESSION,
          "\"readOnly\":false,\"requestParameters\":{\"bucketName\":\"secret-bkt\"},"
          "\"resources\":[{\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::secret-bkt\"}]" },
        { "a05", "2024-05-01T10:00:01Z", "s3.amazonaws.com", "GetBucketAcl", ROLE_SESSION,
          "\"readOnly\":true,\"requestParameters\":{\"bucketName\":\"secret-bkt\"}" },
        { "a06", "2024-05-01T10:00:02Z", "ec2.amazonaws.com", "DescribeInstances", ROOT,
          "\"readOnly\":true" },
        { "a07", "2024-05-01T10:00:02Z", "ec2.amazonaws.com", "StopInstances", ROOT,
          "\"readOnly\":false,\"requestParameters\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-1\"}]}}" },
        { "a08", "2024-05-01T10:00:02Z", "signin.amazonaws.com", "ConsoleLogin", ALICE, "" },
        { "a09", "2024-05-01T10:00:03Z", "sts.amazonaws.com", "GetCallerIdentity", FEDERATED,
          "\"readOnly\":true" },
        { "a10", "2024-05-01T10:00:03Z", "iam.amazonaws.com", "createuser", ALICE,
          "\"readOnly\":false,\"requestParameters\":{\"userName\":\"Mallory\"}" },
        { "a11", "2024-05-01T10:00:04Z", "iam.amazonaws.com", "CreateUser", ALICE,
          "\"readOnly\":false,\"requestParameters\":{\"userName\":\"trent\"}" },
        { "a12", "2024-05-01T10:00:05Z", "kms.amazonaws.com", "Decrypt", SERVICE,
          "\"readOnly\":true,\"resources\":[{\"type\":\"AWS::KMS::Key\",\"ARN\":\"arn:aws:kms:us-east-1:1:key/k\"}]" },
        /* Not management events. */
        { "d01", "2024-05-01T10:00:02Z", "s3.amazonaws.com", "GetObject", ROLE_SESSION,
          "\"readOnly\":true,\"eventCategory\":\"Data\",\"managementEvent\":false,"
          "\"requestParameters\":{\"bucketName\":\"secret-bkt\",\"key\":\"k\"}" },
        { "d02", "2024-05-01T10:00:02Z", "s3.amazonaws.com", "PutObject", ROLE_SESSION,
          "\"readOnly\":false,\"resources\":[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::secret-bkt/k\"}]" },
        { "n01", "2024-05-01T10:00:02Z", "iam.amazonaws.com", "CreateUser", ALICE,
          "\"eventCategory\":\"Insight\",\"insightDetails\":{\"state\":\"Start\"}" },
    };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        buf_printf(&b, "%s\n", rec(r, sizeof(r), evs[i].id, evs[i].time, evs[i].src,
                                   evs[i].name, evs[i].who, evs[i].extra));
    if (put_text(st, b.p) != 15)
        printf("# lookup_store: not every event went in\n");
    buf_free(&b);
    return st;
}

static void check_ids(const struct got *g, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < g->n && i < 64; i++)
        buf_printf(&b, "%s%s", i ? " " : "", g->ids[i]);
    CHECK_STR(b.p ? b.p : "", want);
    buf_free(&b);
}

static void test_lookup_keys(void)
{
    struct store *st = lookup_store();
    struct got g;
    /* Every management event, newest first, ties by event id descending. */
    lookup(st, STORE_ATTR_NONE, NULL, &g);
    check_ids(&g, "a12 a11 a10 a09 a08 a07 a06 a05 a04 a03 a02 a01");
    lookup(st, STORE_ATTR_EVENT_ID, "a04", &g);
    check_ids(&g, "a04");
    lookup(st, STORE_ATTR_EVENT_ID, "d01", &g); /* a data event */
    check_ids(&g, "");
    lookup(st, STORE_ATTR_EVENT_NAME, "CreateUser", &g); /* exact and case-sensitive */
    check_ids(&g, "a11 a01");
    lookup(st, STORE_ATTR_EVENT_NAME, "GetObject", &g);
    check_ids(&g, "");
    lookup(st, STORE_ATTR_READ_ONLY, "true", &g);
    check_ids(&g, "a12 a09 a06 a05 a03");
    lookup(st, STORE_ATTR_READ_ONLY, "false", &g); /* a08 has no readOnly */
    check_ids(&g, "a11 a10 a07 a04 a02 a01");
    lookup(st, STORE_ATTR_READ_ONLY, "True", &g);
    check_ids(&g, "");
    lookup(st, STORE_ATTR_USERNAME, "alice", &g);
    check_ids(&g, "a11 a10 a08 a02 a01");
    lookup(st, STORE_ATTR_USERNAME, "root", &g);
    check_ids(&g, "a07 a06");
    lookup(st, STORE_ATTR_USERNAME, "Alice", &g);
    check_ids(&g, "");
    lookup(st, STORE_ATTR_RESOURCE_TYPE, "AWS::S3::Bucket", &g);
    check_ids(&g, "a05 a04");
    lookup(st, STORE_ATTR_RESOURCE_TYPE, "AWS::IAM::User", &g);
    check_ids(&g, "a11 a10 a02 a01");
    lookup(st, STORE_ATTR_RESOURCE_NAME, "secret-bkt", &g);
    check_ids(&g, "a05 a04");
    lookup(st, STORE_ATTR_RESOURCE_NAME, "arn:aws:s3:::secret-bkt", &g);
    check_ids(&g, "a04");
    lookup(st, STORE_ATTR_RESOURCE_NAME, "mallory", &g);
    check_ids(&g, "a02 a01");
    lookup(st, STORE_ATTR_RESOURCE_NAME, "AKIAMALLORY", &g);
    check_ids(&g, "a02");
    CHECK_STR(g.res[0], "AWS::IAM::User=mallory;AWS::IAM::AccessKey=AKIAMALLORY;");
    lookup(st, STORE_ATTR_RESOURCE_NAME, "i-1", &g);
    check_ids(&g, "a07");
    lookup(st, STORE_ATTR_EVENT_SOURCE, "s3.amazonaws.com", &g);
    check_ids(&g, "a05 a04 a03");
    lookup(st, STORE_ATTR_ACCESS_KEY_ID, "ASIAROLE00000000001", &g);
    check_ids(&g, "a05 a04 a03");
    lookup(st, STORE_ATTR_ACCESS_KEY_ID, "AKIAALICE0000000001", &g);
    check_ids(&g, "a11 a10 a08 a02 a01");

    /* Insights events only when asked, and only them. */
    struct store_lookup q = { .start_ms = INT64_MIN, .end_ms = INT64_MAX, .insight = true };
    struct err e;
    err_clear(&e);
    memset(&g, 0, sizeof(g));
    CHECK_INT(store_lookup_events(st, &q, collect, &g, NULL, &e), 0);
    check_ids(&g, "n01");
    store_close(st);
}

static void test_lookup_time_and_limit(void)
{
    struct store *st = lookup_store();
    struct got g;
    struct err e;
    err_clear(&e);
    /* Both bounds inclusive, at the exact second of events. */
    struct store_lookup q = { .start_ms = 1714557601000LL, .end_ms = 1714557602000LL };
    memset(&g, 0, sizeof(g));
    CHECK_INT(store_lookup_events(st, &q, collect, &g, NULL, &e), 0);
    check_ids(&g, "a08 a07 a06 a05 a04 a03");
    q.start_ms = 1714557602001LL;
    q.end_ms = 1714557602999LL;
    memset(&g, 0, sizeof(g));
    CHECK_INT(store_lookup_events(st, &q, collect, &g, NULL, &e), 0);
    check_ids(&g, "");
    /* Limit and the "more" flag. */
    q.start_ms = INT64_MIN;
    q.end_ms = INT64_MAX;
    q.limit = 4;
    bool more = false;
    memset(&g, 0, sizeof(g));
    CHECK_INT(store_lookup_events(st, &q, collect, &g, &more, &e), 0);
    check_ids(&g, "a12 a11 a10 a09");
    CHECK(more);
    q.limit = 12;
    memset(&g, 0, sizeof(g));
    CHECK_INT(store_lookup_events(st, &q, collect, &g, &more, &e), 0);
    CHECK_INT(g.n, 12);
    CHECK(!more);
    /* Region filter. */
    q.limit = 0;
    q.region = "eu-west-1";
    memset(&g, 0, sizeof(g));
    CHECK_INT(store_lookup_events(st, &q, collect, &g, NULL, &e), 0);
    CHECK_INT(g.n, 0);
    store_close(st);
}

static void test_lookup_api(void)
{
    struct store *st = lookup_store();
    struct got g;
    struct err e;
    struct query_aws_error ae;
    char tok[QUERY_LOOKUP_TOKEN_MAX];
    err_clear(&e);

    /* Paging with NextToken walks the same list as one big lookup. */
    struct query_lookup_attr ro = { "ReadOnly", "false" };
    struct query_lookup_req req = { .attrs = &ro, .n_attrs = 1, .max_results = 2 };
    struct buf all;
    buf_init(&all, 0);
    int pages = 0;
    for (;;) {
        memset(&g, 0, sizeof(g));
        CHECK_INT(query_lookup_events(st, &req, collect, &g, tok, &ae, &e), 0);
        for (int i = 0; i < g.n; i++)
            buf_printf(&all, "%s ", g.ids[i]);
        pages++;
        if (tok[0] == '\0' || pages > 10)
            break;
        static char keep[QUERY_LOOKUP_TOKEN_MAX];
        memcpy(keep, tok, sizeof(keep));
        req.next_token = keep;
    }
    CHECK_STR(all.p, "a11 a10 a07 a04 a02 a01 ");
    buf_free(&all);
    CHECK_INT(pages, 3);

    /* A token is bound to its request. */
    req.next_token = NULL;
    memset(&g, 0, sizeof(g));
    CHECK_INT(query_lookup_events(st, &req, collect, &g, tok, &ae, &e), 0);
    char keep[QUERY_LOOKUP_TOKEN_MAX];
    memcpy(keep, tok, sizeof(keep));
    struct query_lookup_attr other = { "ReadOnly", "true" };
    struct query_lookup_req r2 = { .attrs = &other, .n_attrs = 1, .next_token = keep };
    CHECK_INT(query_lookup_events(st, &r2, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidNextTokenException");
    r2.next_token = "zz";
    CHECK_INT(query_lookup_events(st, &r2, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidNextTokenException");

    /* What LookupEvents refuses. */
    struct query_lookup_attr two[2] = { { "EventName", "CreateUser" }, { "Username", "alice" } };
    struct query_lookup_req bad = { .attrs = two, .n_attrs = 2 };
    CHECK_INT(query_lookup_events(st, &bad, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidLookupAttributesException");
    struct query_lookup_attr lower = { "eventName", "CreateUser" };
    bad = (struct query_lookup_req){ .attrs = &lower, .n_attrs = 1 };
    CHECK_INT(query_lookup_events(st, &bad, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidLookupAttributesException");
    struct query_lookup_attr empty = { "EventName", "" };
    bad = (struct query_lookup_req){ .attrs = &empty, .n_attrs = 1 };
    CHECK_INT(query_lookup_events(st, &bad, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "ParamValidation");
    bad = (struct query_lookup_req){ .has_start = true, .start_ms = 2000, .has_end = true,
                                     .end_ms = 1000 };
    CHECK_INT(query_lookup_events(st, &bad, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidTimeRangeException");
    bad = (struct query_lookup_req){ .max_results = 51 };
    CHECK_INT(query_lookup_events(st, &bad, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidMaxResultsException");
    bad = (struct query_lookup_req){ .event_category = "Insight" };
    CHECK_INT(query_lookup_events(st, &bad, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidEventCategoryException");
    struct query_lookup_attr user = { "Username", "alice" };
    bad = (struct query_lookup_req){ .attrs = &user, .n_attrs = 1, .event_category = "insight" };
    CHECK_INT(query_lookup_events(st, &bad, collect, &g, tok, &ae, &e), ERR_USAGE);
    CHECK_STR(ae.code, "InvalidLookupAttributesException");
    /* Equal bounds are a valid, one-second range. */
    struct query_lookup_req one = { .has_start = true, .start_ms = 1714557605000LL,
                                    .has_end = true, .end_ms = 1714557605000LL };
    memset(&g, 0, sizeof(g));
    CHECK_INT(query_lookup_events(st, &one, collect, &g, tok, &ae, &e), 0);
    check_ids(&g, "a12");
    store_close(st);
}


static void test_lookup_resource_repeats(void)
{
    /* An event with two resources of the type looked up comes back once, in
     * full listings and across pages. */
    struct store *st = fresh("repeats.db");
    char r[4096];
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 3; i++) {
        char id[16], t[32], extra[512];
        snprintf(id, sizeof(id), "run-%d", i);
        snprintf(t, sizeof(t), "2024-07-01T00:00:0%dZ", i % 2); /* two share a second */
        snprintf(extra, sizeof(extra),
                 "\"readOnly\":false,\"responseElements\":{\"instancesSet\":{\"items\":["
                 "{\"instanceId\":\"i-%da\"},{\"instanceId\":\"i-%db\"}]}}",
                 i, i);
        buf_printf(&b, "%s\n", rec(r, sizeof(r), id, t, "ec2.amazonaws.com", "RunInstances",
                                   ALICE, extra));
    }
    CHECK_INT(put_text(st, b.p), 3);
    buf_free(&b);
    struct got g;
    lookup(st, STORE_ATTR_RESOURCE_TYPE, "AWS::EC2::Instance", &g);
    check_ids(&g, "run-1 run-2 run-0");
    struct query_lookup_attr at = { "ResourceType", "AWS::EC2::Instance" };
    struct query_lookup_req req = { .attrs = &at, .n_attrs = 1, .max_results = 1 };
    char tok[QUERY_LOOKUP_TOKEN_MAX], keep[QUERY_LOOKUP_TOKEN_MAX];
    struct query_aws_error ae;
    struct err e;
    struct buf all;
    buf_init(&all, 0);
    for (int page = 0; page < 5; page++) {
        memset(&g, 0, sizeof(g));
        CHECK_INT(query_lookup_events(st, &req, collect, &g, tok, &ae, &e), 0);
        for (int i = 0; i < g.n; i++)
            buf_printf(&all, "%s ", g.ids[i]);
        if (tok[0] == '\0')
            break;
        memcpy(keep, tok, sizeof(keep));
        req.next_token = keep;
    }
    CHECK_STR(all.p, "run-1 run-2 run-0 ");
    buf_free(&all);
    store_close(st);
}

struct writer_ctx {
    struct json_writer w;
};

static int write_row(void *ctx, const struct store_lookup_row *row)
{
    struct writer_ctx *c = ctx;
    query_lookup_write_event(&c->w, row, false);
    return 0;
}

static void test_output_json(void)
{
    struct store *st = lookup_store();
    struct err e;
    err_clear(&e);
    struct store_lookup q = { .attr = STORE_ATTR_EVENT_ID, .value = "a02", .start_ms = INT64_MIN,
                              .end_ms = INT64_MAX };
    struct buf b;
    buf_init(&b, 0);
    struct writer_ctx c;
    jw_init(&c.w, &b, 0);
    CHECK_INT(store_lookup_events(st, &q, write_row, &c, NULL, &e), 0);
    const char *want_head =
        "{\"EventId\":\"a02\",\"EventName\":\"CreateAccessKey\",\"ReadOnly\":\"false\","
        "\"AccessKeyId\":\"AKIAALICE0000000001\",\"EventTime\":\"2024-05-01T10:00:00+00:00\","
        "\"EventSource\":\"iam.amazonaws.com\",\"Username\":\"alice\",\"Resources\":["
        "{\"ResourceType\":\"AWS::IAM::User\",\"ResourceName\":\"mallory\"},"
        "{\"ResourceType\":\"AWS::IAM::AccessKey\",\"ResourceName\":\"AKIAMALLORY\"}],"
        "\"CloudTrailEvent\":\"{\\\"eventVersion\\\":\\\"1.09\\\",";
    CHECK(b.p != NULL && strncmp(b.p, want_head, strlen(want_head)) == 0);
    if (b.p && strncmp(b.p, want_head, strlen(want_head)) != 0)
        printf("#   got %s\n", b.p);
    /* CloudTrailEvent parses back to the record. */
    struct arena a;
    arena_init(&a, 0);
    struct json_value *v;
    CHECK_INT(json_parse(b.p, b.len, &a, &v, &e), 0);
    const struct json_value *cte = json_get(v, "CloudTrailEvent");
    CHECK(cte != NULL && cte->type == JSON_STRING);
    struct json_value *inner;
    CHECK_INT(json_parse(cte->str, cte->len, &a, &inner, &e), 0);
    CHECK_STR(json_get(inner, "eventID")->str, "a02");
    arena_free(&a);
    buf_free(&b);

    /* An event without readOnly or access key leaves those keys out. */
    q.value = "a12";
    buf_init(&b, 0);
    jw_init(&c.w, &b, 0);
    CHECK_INT(store_lookup_events(st, &q, write_row, &c, NULL, &e), 0);
    CHECK(strstr(b.p, "\"AccessKeyId\"") == NULL);
    CHECK(strstr(b.p, "\"Username\"") == NULL);
    CHECK(strstr(b.p, "\"ReadOnly\":\"true\"") != NULL);
    buf_free(&b);
    store_close(st);
}

static void test_cli_time(void)
{
    int64_t ms;
    CHECK(query_parse_cli_time("1422317782", &ms));
    CHECK_INT(ms, 1422317782000LL);
    CHECK(query_parse_cli_time("1422317782.5", &ms));
    CHECK_INT(ms, 1422317782500LL);
    CHECK(query_parse_cli_time("2015-01-27", &ms));
    CHECK_INT(ms, 1422316800000LL);
    CHECK(query_parse_cli_time("2015-01-27T01:16:00Z", &ms));
    CHECK_INT(ms, 1422321360000LL);
    CHECK(query_parse_cli_time("2015-01-27T01:16:00", &ms));
    CHECK_INT(ms, 1422321360000LL);
    CHECK(query_parse_cli_time("2015-01-26T17:16:00-08:00", &ms));
    CHECK_INT(ms, 1422321360000LL);
    CHECK(query_parse_cli_time("01-27-2015", &ms));
    CHECK_INT(ms, 1422316800000LL);
    CHECK(query_parse_cli_time("01-27-2015,01:16PM", &ms));
    CHECK_INT(ms, 1422364560000LL);
    CHECK(query_parse_cli_time("01/27/2015, 01:16 PM", &ms));
    CHECK_INT(ms, 1422364560000LL);
    CHECK(query_parse_cli_time("2015-01-27, 12:16 AM", &ms));
    CHECK_INT(ms, 1422317760000LL);
    CHECK(!query_parse_cli_time("yesterday", &ms));
    CHECK(!query_parse_cli_time("2015-13-01", &ms));
    CHECK(!query_parse_cli_time("01-27-2015, 13:16 PM", &ms));
    CHECK(!query_parse_cli_time("", &ms));

    char out[48];
    query_format_cli_time(1422321360000LL, false, out);
    CHECK_STR(out, "2015-01-27T01:16:00+00:00");
    query_format_cli_time(1422321360250LL, false, out);
    CHECK_STR(out, "2015-01-27T01:16:00.250000+00:00");
    /* Local time as the CLI prints it, with the offset of that date. */
    const char *old = getenv("TZ");
    char saved[128] = "";
    if (old)
        snprintf(saved, sizeof(saved), "%s", old);
    setenv("TZ", "America/Los_Angeles", 1);
    tzset();
    query_format_cli_time(1637257262000LL, true, out); /* 2021-11-18T17:41:02Z */
    CHECK_STR(out, "2021-11-18T09:41:02-08:00");
    query_format_cli_time(1625097600000LL, true, out); /* 2021-07-01T00:00:00Z, DST */
    CHECK_STR(out, "2021-06-30T17:00:00-07:00");
    if (old)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
}

/* ---- the shared datasets: lookups against counts made from the records ------------------- */

#define MAX_RECS 8192

struct truth {
    int n;
    const char *id[MAX_RECS], *name[MAX_RECS], *source[MAX_RECS], *key[MAX_RECS],
        *user[MAX_RECS], *ro[MAX_RECS];
    bool bucket[MAX_RECS], iam_user[MAX_RECS], kms[MAX_RECS];
    const char *raw_names[MAX_RECS][8]; /* resources[].ARN */
    int n_raw[MAX_RECS];
};

static const char *jstr(const struct json_value *o, const char *k)
{
    const struct json_value *v = o ? json_get(o, k) : NULL;
    return v && v->type == JSON_STRING ? v->str : NULL;
}

/* The Event history user name, written independently of store_username. */
static const char *truth_user(const struct json_value *ui, struct arena *a)
{
    const char *type = jstr(ui, "type"), *arn = jstr(ui, "arn"), *un = jstr(ui, "userName");
    if (type && strcmp(type, "Root") == 0)
        return "root";
    if (type && arn && (strcmp(type, "AssumedRole") == 0 || strcmp(type, "FederatedUser") == 0)) {
        const char *slash = strrchr(arn, '/');
        if (slash && slash[1])
            return slash + 1;
    }
    if (un && un[0])
        return un;
    if (type && arn && strcmp(type, "IAMUser") == 0 && strrchr(arn, '/'))
        return strrchr(arn, '/') + 1;
    (void)a;
    return NULL;
}

static void truth_add(struct truth *t, const struct json_value *r, struct arena *a)
{
    if (t->n >= MAX_RECS || r->type != JSON_OBJECT)
        return;
    int i = t->n++;
    const struct json_value *ui = json_get(r, "userIdentity");
    t->id[i] = jstr(r, "eventID");
    t->name[i] = jstr(r, "eventName");
    t->source[i] = jstr(r, "eventSource");
    t->key[i] = jstr(ui, "accessKeyId");
    t->user[i] = truth_user(ui, a);
    const struct json_value *ro = json_get(r, "readOnly");
    t->ro[i] = ro == NULL ? NULL : ro->type == JSON_TRUE ? "true" : ro->type == JSON_FALSE ? "false" : NULL;
    const struct json_value *rp = json_get(r, "requestParameters");
    const struct json_value *res = json_get(r, "resources");
    t->n_raw[i] = 0;
    if (res && res->type == JSON_ARRAY)
        for (size_t k = 0; k < res->n; k++) {
            const char *arn = jstr(&res->items[k], "ARN"), *type = jstr(&res->items[k], "type");
            if (arn && t->n_raw[i] < 8)
                t->raw_names[i][t->n_raw[i]++] = arn;
            if (type && strcmp(type, "AWS::S3::Bucket") == 0)
                t->bucket[i] = true;
            if (type && strcmp(type, "AWS::KMS::Key") == 0)
                t->kms[i] = true;
        }
    if (jstr(rp, "bucketName"))
        t->bucket[i] = true;
    if (t->source[i] && strcmp(t->source[i], "iam.amazonaws.com") == 0 && jstr(rp, "userName"))
        t->iam_user[i] = true;
    if (t->source[i] && strcmp(t->source[i], "kms.amazonaws.com") == 0 && jstr(rp, "keyId"))
        t->kms[i] = true;
}

static void truth_load_dir(struct truth *t, const char *dir, struct arena *a)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *text = arena_alloc(a, (size_t)len + 1);
        size_t got = fread(text, 1, (size_t)len, f);
        fclose(f);
        text[got] = '\0';
        struct json_value *v;
        struct err e;
        err_clear(&e);
        if (json_parse(text, got, a, &v, &e) != 0)
            continue;
        const struct json_value *recs = v->type == JSON_ARRAY ? v : json_get(v, "Records");
        for (size_t k = 0; recs && k < recs->n; k++)
            truth_add(t, &recs->items[k], a);
    }
    closedir(d);
}

/* Events whose field equals v, counted from the records. */
static int truth_count(const struct truth *t, const char *const *field, const char *v)
{
    int n = 0;
    for (int i = 0; i < t->n; i++)
        n += field[i] && strcmp(field[i], v) == 0;
    return n;
}

static int lookup_count(struct store *st, const char *key, const char *value)
{
    struct query_lookup_attr at = { key, value };
    struct query_lookup_req req = { .attrs = &at, .n_attrs = 1 };
    struct got g;
    struct query_aws_error ae;
    struct err e;
    char tok[QUERY_LOOKUP_TOKEN_MAX];
    memset(&g, 0, sizeof(g));
    err_clear(&e);
    if (query_lookup_events(st, &req, collect, &g, tok, &ae, &e) != 0)
        return -1;
    return g.n;
}

/* Checks lookups for every distinct value of a field against the records. */
static void check_field(struct store *st, const struct truth *t, const char *key,
                        const char *const *field, int *checked)
{
    for (int i = 0; i < t->n; i++) {
        if (field[i] == NULL || field[i][0] == '\0')
            continue; /* LookupEvents takes no empty value */
        bool first = true;
        for (int j = 0; j < i && first; j++)
            first = !(field[j] && strcmp(field[j], field[i]) == 0);
        if (!first)
            continue;
        int want = truth_count(t, field, field[i]), got = lookup_count(st, key, field[i]);
        if (want != got)
            printf("#   %s=%s: lookup %d, records %d\n", key, field[i], got, want);
        CHECK_INT(got, want);
        (*checked)++;
    }
}

static void test_datasets(void)
{
    const char *ds = harness_datasets();
    if (ds == NULL)
        return;
    char inv[1024], str[1024];
    snprintf(inv, sizeof(inv), "%s/invictus-aws-stratus-2023/CloudTrail", ds);
    snprintf(str, sizeof(str), "%s/stratus-detonation-logs", ds);
    struct stat sb;
    if (stat(inv, &sb) != 0 || stat(str, &sb) != 0) {
        printf("# skip: invictus-aws-stratus-2023 or stratus-detonation-logs absent\n");
        return;
    }
    struct store *st = fresh("datasets.db");
    const char *paths[] = { inv, str };
    struct store_ingest_stats s;
    struct err e;
    err_clear(&e);
    CHECK_INT(store_ingest(st, paths, 2, NULL, &s, &e), 0);
    CHECK_INT(s.bad, 0);

    struct truth *t = xcalloc(1, sizeof(*t));
    struct arena a;
    arena_init(&a, 1 << 20);
    truth_load_dir(t, inv, &a);
    truth_load_dir(t, str, &a);
    CHECK_INT(t->n, 3210);
    CHECK_INT(s.records, (uint64_t)t->n);

    /* Every event is a management event: no key means all of them. */
    struct query_lookup_req all = { 0 };
    struct got g;
    struct query_aws_error ae;
    char tok[QUERY_LOOKUP_TOKEN_MAX];
    memset(&g, 0, sizeof(g));
    CHECK_INT(query_lookup_events(st, &all, collect, &g, tok, &ae, &e), 0);
    CHECK_INT(g.n, t->n);

    int checked = 0;
    check_field(st, t, "EventName", t->name, &checked);
    check_field(st, t, "EventSource", t->source, &checked);
    check_field(st, t, "AccessKeyId", t->key, &checked);
    check_field(st, t, "Username", t->user, &checked);
    check_field(st, t, "ReadOnly", t->ro, &checked);
    /* EventId: every one finds exactly its event. */
    int ids_ok = 0;
    for (int i = 0; i < t->n; i++)
        ids_ok += lookup_count(st, "EventId", t->id[i]) == 1;
    CHECK_INT(ids_ok, t->n);
    /* ResourceType, for types the records state plainly. */
    int nb = 0, nu = 0, nk = 0;
    for (int i = 0; i < t->n; i++) {
        nb += t->bucket[i];
        nu += t->iam_user[i];
        nk += t->kms[i];
    }
    CHECK(nb > 0 && nu > 0 && nk > 0);
    CHECK_INT(lookup_count(st, "ResourceType", "AWS::S3::Bucket"), nb);
    CHECK_INT(lookup_count(st, "ResourceType", "AWS::IAM::User"), nu);
    CHECK_INT(lookup_count(st, "ResourceType", "AWS::KMS::Key"), nk);
    /* ResourceName: every ARN of resources[] finds at least the events
     * listing it, and every event found mentions the name. */
    int names = 0;
    for (int i = 0; i < t->n; i++)
        for (int k = 0; k < t->n_raw[i]; k++) {
            const char *nm = t->raw_names[i][k];
            int want = 0;
            for (int j = 0; j < t->n; j++)
                for (int m = 0; m < t->n_raw[j]; m++)
                    if (strcmp(t->raw_names[j][m], nm) == 0) {
                        want++;
                        break;
                    }
            int got = lookup_count(st, "ResourceName", nm);
            CHECK(got >= want);
            names++;
        }
    CHECK(names > 500);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(store_db(st),
                       "SELECT count(*) FROM resources r JOIN cloudtrail_raw c ON c.id=r.event"
                       " WHERE instr(c.raw, r.resource_name)=0",
                       -1, &q, NULL);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    printf("# datasets: %d records, %d distinct values checked, %d resource names\n", t->n,
           checked, names);
    CHECK(checked > 100);
    arena_free(&a);
    free(t);
    store_close(st);
}

static void test_cleanup(void)
{
    if (tmpdir[0] == '\0')
        return;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    CHECK_INT(system(cmd), 0);
}

static const struct harness_test tests[] = {
    { "schema", test_schema },
    { "migration", test_migration },
    { "daily_counts", test_daily_counts },
    { "sha256", test_sha256 },
    { "compact_json", test_compact_json },
    { "username", test_username },
    { "resources", test_resources },
    { "idempotent", test_idempotent },
    { "resume", test_resume },
    { "bad_records", test_bad_records },
    { "own_files", test_own_files },
    { "flow_dns", test_flow_dns },
    { "lookup_keys", test_lookup_keys },
    { "lookup_time_and_limit", test_lookup_time_and_limit },
    { "lookup_api", test_lookup_api },
    { "lookup_resource_repeats", test_lookup_resource_repeats },
    { "output_json", test_output_json },
    { "cli_time", test_cli_time },
    { "datasets", test_datasets },
    { "cleanup", test_cleanup },
};

HARNESS_MAIN(tests)
