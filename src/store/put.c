/*
 * put: one normalized event -> one row (and its resources), with the unique
 * keys doing the deduplication (INSERT OR IGNORE).
 *
 * Everything a row needs is read from the event's leaves in one pass each; the
 * reader only flattens the paths store_add_paths lists. Strings are bound
 * SQLITE_STATIC: they point into the event or the per-event arena and outlive
 * the sqlite3_step that copies them.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

static bool leaf_is(const struct json_leaf *l, const char *path, size_t len)
{
    return l->path_len == len && memcmp(l->path, path, len) == 0;
}

#define LEAF_IS(l, lit) leaf_is((l), (lit), sizeof(lit) - 1)

static struct sv leaf_str(const struct json_leaf *l, struct arena *arena)
{
    if (l == NULL || l->type != JSON_STRING)
        return SV_NULL;
    return json_leaf_str(l, arena);
}

/* Runs an insert; *inserted (when not NULL) says whether it added a row (an
 * OR IGNORE insert of a present key adds none). */
static int step_insert(struct store *st, sqlite3_stmt *s, const char *what, bool *inserted,
                       struct err *err)
{
    int rc = 0;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store__db_err(st, err, what);
    sqlite3_reset(s);
    if (rc == 0 && inserted != NULL)
        *inserted = sqlite3_changes(st->db) > 0;
    return rc;
}

static void bind_sv(sqlite3_stmt *s, int col, struct sv v)
{
    if (v.p == NULL)
        sqlite3_bind_null(s, col);
    else
        sqlite3_bind_text(s, col, v.len ? v.p : "", (int)v.len, SQLITE_STATIC);
}

/* A scalar leaf bound with its natural type: integers as integers, strings as
 * text (decoded), null/absent as NULL. */
static void bind_leaf(sqlite3_stmt *s, int col, const struct json_leaf *l, struct arena *arena)
{
    int64_t v;
    if (l == NULL || l->type == JSON_NULL) {
        sqlite3_bind_null(s, col);
    } else if (l->type == JSON_NUMBER) {
        if (sv_to_i64(sv_make(l->val, l->val_len), &v))
            sqlite3_bind_int64(s, col, v);
        else
            sqlite3_bind_text(s, col, l->val, (int)l->val_len, SQLITE_STATIC);
    } else if (l->type == JSON_STRING) {
        bind_sv(s, col, json_leaf_str(l, arena));
    } else if (l->type == JSON_TRUE || l->type == JSON_FALSE) {
        sqlite3_bind_int(s, col, l->type == JSON_TRUE);
    } else {
        sqlite3_bind_null(s, col);
    }
}

/* An integer column given as a JSON string of digits ("srcport": "53"). */
static void bind_int_text(sqlite3_stmt *s, int col, const struct json_leaf *l, struct arena *arena)
{
    int64_t v;
    if (l != NULL && l->type == JSON_STRING && !l->escaped &&
        sv_to_i64(sv_make(l->val, l->val_len), &v))
        sqlite3_bind_int64(s, col, v);
    else
        bind_leaf(s, col, l, arena);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Offset just past the string starting at p[i] (p[i] == '"'), or len. */
static size_t string_end(const char *p, size_t len, size_t i)
{
    for (i++; i < len;) {
        const char *q = memchr(p + i, '"', len - i);
        if (q == NULL)
            return len;
        size_t k = (size_t)(q - p), bs = 0;
        while (k - bs > i && p[k - bs - 1] == '\\')
            bs++;
        i = k + 1;
        if (bs % 2 == 0)
            return i;
    }
    return len;
}

/* Strings are skipped whole with memchr: records are mostly string bytes, and
 * AWS delivers them compact already, in which case nothing is copied. */
bool store__json_is_compact(struct sv in)
{
    size_t i = 0;
    while (i < in.len) {
        const char *q = memchr(in.p + i, '"', in.len - i);
        size_t e = q ? (size_t)(q - in.p) : in.len;
        for (; i < e; i++)
            if (is_ws(in.p[i]))
                return false;
        if (q == NULL)
            break;
        i = string_end(in.p, in.len, e);
    }
    return true;
}

int store__compact_json(struct sv in, struct buf *out)
{
    buf_reset(out);
    int rc = buf_reserve(out, in.len + 1);
    if (rc != 0)
        return rc;
    char *o = out->p;
    size_t n = 0, i = 0;
    while (i < in.len) {
        const char *q = memchr(in.p + i, '"', in.len - i);
        size_t e = q ? (size_t)(q - in.p) : in.len;
        for (; i < e; i++)
            if (!is_ws(in.p[i]))
                o[n++] = in.p[i];
        if (q == NULL)
            break;
        size_t se = string_end(in.p, in.len, e);
        memcpy(o + n, in.p + e, se - e);
        n += se - e;
        i = se;
    }
    o[n] = '\0';
    out->len = n;
    return 0;
}

/* ---- CloudTrail: the extra scalars --------------------------------------------- */

enum {
    X_TIME,
    X_TYPE,
    X_READONLY,
    X_MGMT,
    X_ERRMSG,
    X_UI_USERNAME,
    X_ISSUER_ARN,
    X_ISSUER_NAME,
    X_N
};

static const char *const x_paths[X_N] = {
    "eventTime",
    "eventType",
    "readOnly",
    "managementEvent",
    "errorMessage",
    "userIdentity.userName",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.userName",
};

static void find_extras(const struct event *ev, const struct json_leaf **x)
{
    size_t lens[X_N];
    for (int i = 0; i < X_N; i++) {
        x[i] = NULL;
        lens[i] = strlen(x_paths[i]);
    }
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        if (l->n_arr != 0)
            continue;
        for (int i = 0; i < X_N; i++)
            if (x[i] == NULL && leaf_is(l, x_paths[i], lens[i])) {
                x[i] = l;
                break;
            }
    }
}

static struct sv after_last_slash(struct sv s)
{
    for (size_t i = s.len; i > 0; i--)
        if (s.p[i - 1] == '/')
            return sv_make(s.p + i, s.len - i);
    return SV_NULL;
}

static struct sv username_from(const struct event *ev, const struct json_leaf *ui_username,
                               struct arena *arena)
{
    struct sv t = ev->principal_type, arn = ev->principal_arn;
    if (sv_eq_cstr(t, "Root"))
        return SV("root");
    if (sv_eq_cstr(t, "AssumedRole") || sv_eq_cstr(t, "FederatedUser")) {
        struct sv name = after_last_slash(arn);
        if (name.len > 0)
            return name;
        /* principalId is "AROA...:session" for roles, "account:name" for
         * federated users. */
        struct sv pid = ev->principal_id;
        for (size_t i = pid.len; i > 0; i--)
            if (pid.p[i - 1] == ':')
                return sv_make(pid.p + i, pid.len - i);
    }
    struct sv u = leaf_str(ui_username, arena);
    if (u.p != NULL && u.len > 0)
        return u;
    if (sv_eq_cstr(t, "IAMUser")) {
        struct sv name = after_last_slash(arn);
        if (name.len > 0)
            return name;
    }
    return SV_NULL;
}

struct sv store_username(const struct event *ev, struct arena *arena)
{
    const struct json_leaf *x[X_N];
    find_extras(ev, x);
    return username_from(ev, x[X_UI_USERNAME], arena);
}

/* ---- CloudTrail: resources -------------------------------------------------------- */

/* A requestParameters/responseElements field that names a resource, and the
 * CloudFormation-style type Event history gives it. source limits a rule to
 * one service when the field name is generic ("name", "groupName"). Arrays add
 * no path segment: instancesSet.items.instanceId covers every item. */
struct res_rule {
    const char *path;
    const char *source; /* NULL = any event source */
    const char *type;
};

static const struct res_rule res_rules[] = {
    /* S3 */
    { "requestParameters.bucketName", NULL, "AWS::S3::Bucket" },
    /* EC2 */
    { "requestParameters.instanceId", NULL, "AWS::EC2::Instance" },
    { "requestParameters.instanceIds", NULL, "AWS::EC2::Instance" },
    { "requestParameters.instancesSet.items.instanceId", NULL, "AWS::EC2::Instance" },
    { "responseElements.instancesSet.items.instanceId", NULL, "AWS::EC2::Instance" },
    { "requestParameters.groupId", "ec2.amazonaws.com", "AWS::EC2::SecurityGroup" },
    { "requestParameters.groupName", "ec2.amazonaws.com", "AWS::EC2::SecurityGroup" },
    { "requestParameters.groupSet.items.groupId", NULL, "AWS::EC2::SecurityGroup" },
    { "requestParameters.securityGroupIdSet.items.groupId", NULL, "AWS::EC2::SecurityGroup" },
    { "responseElements.groupId", "ec2.amazonaws.com", "AWS::EC2::SecurityGroup" },
    { "requestParameters.imageId", "ec2.amazonaws.com", "AWS::EC2::Ami" },
    { "requestParameters.imagesSet.items.imageId", NULL, "AWS::EC2::Ami" },
    { "requestParameters.instancesSet.items.imageId", NULL, "AWS::EC2::Ami" },
    { "responseElements.imageId", "ec2.amazonaws.com", "AWS::EC2::Ami" },
    { "requestParameters.snapshotId", "ec2.amazonaws.com", "AWS::EC2::Snapshot" },
    { "requestParameters.snapshotSet.items.snapshotId", NULL, "AWS::EC2::Snapshot" },
    { "responseElements.snapshotId", "ec2.amazonaws.com", "AWS::EC2::Snapshot" },
    { "requestParameters.volumeId", "ec2.amazonaws.com", "AWS::EC2::Volume" },
    { "requestParameters.volumeSet.items.volumeId", NULL, "AWS::EC2::Volume" },
    { "requestParameters.vpcId", "ec2.amazonaws.com", "AWS::EC2::VPC" },
    { "requestParameters.vpcSet.items.vpcId", NULL, "AWS::EC2::VPC" },
    { "responseElements.vpc.vpcId", NULL, "AWS::EC2::VPC" },
    { "requestParameters.subnetId", "ec2.amazonaws.com", "AWS::EC2::Subnet" },
    { "requestParameters.subnetSet.items.subnetId", NULL, "AWS::EC2::Subnet" },
    { "responseElements.subnet.subnetId", NULL, "AWS::EC2::Subnet" },
    { "requestParameters.networkInterfaceId", NULL, "AWS::EC2::NetworkInterface" },
    { "requestParameters.keyName", "ec2.amazonaws.com", "AWS::EC2::KeyPair" },
    { "requestParameters.internetGatewayId", NULL, "AWS::EC2::InternetGateway" },
    { "requestParameters.routeTableId", NULL, "AWS::EC2::RouteTable" },
    { "requestParameters.natGatewayId", NULL, "AWS::EC2::NatGateway" },
    { "requestParameters.DeleteNatGatewayRequest.NatGatewayId", NULL, "AWS::EC2::NatGateway" },
    { "requestParameters.DeleteFlowLogsRequest.FlowLogId.content", NULL, "AWS::EC2::FlowLog" },
    { "requestParameters.allocationId", "ec2.amazonaws.com", "AWS::EC2::EIP" },
    /* IAM */
    { "requestParameters.userName", "iam.amazonaws.com", "AWS::IAM::User" },
    { "requestParameters.roleName", "iam.amazonaws.com", "AWS::IAM::Role" },
    { "requestParameters.groupName", "iam.amazonaws.com", "AWS::IAM::Group" },
    { "requestParameters.policyArn", "iam.amazonaws.com", "AWS::IAM::Policy" },
    { "requestParameters.instanceProfileName", "iam.amazonaws.com", "AWS::IAM::InstanceProfile" },
    { "requestParameters.accessKeyId", "iam.amazonaws.com", "AWS::IAM::AccessKey" },
    { "responseElements.accessKey.accessKeyId", "iam.amazonaws.com", "AWS::IAM::AccessKey" },
    { "requestParameters.serverCertificateName", "iam.amazonaws.com",
      "AWS::IAM::ServerCertificate" },
    /* STS */
    { "requestParameters.roleArn", "sts.amazonaws.com", "AWS::IAM::Role" },
    { "responseElements.credentials.accessKeyId", "sts.amazonaws.com", "AWS::IAM::AccessKey" },
    { "responseElements.assumedRoleUser.arn", "sts.amazonaws.com", "AWS::STS::AssumedRole" },
    { "responseElements.federatedUser.arn", "sts.amazonaws.com", "AWS::STS::FederatedUser" },
    /* CloudTrail */
    { "requestParameters.name", "cloudtrail.amazonaws.com", "AWS::CloudTrail::Trail" },
    { "requestParameters.trailName", "cloudtrail.amazonaws.com", "AWS::CloudTrail::Trail" },
    { "requestParameters.trailNameList", "cloudtrail.amazonaws.com", "AWS::CloudTrail::Trail" },
    /* KMS, Lambda, RDS, Secrets Manager, SSM */
    { "requestParameters.keyId", "kms.amazonaws.com", "AWS::KMS::Key" },
    { "requestParameters.functionName", "lambda.amazonaws.com", "AWS::Lambda::Function" },
    { "requestParameters.dBInstanceIdentifier", "rds.amazonaws.com", "AWS::RDS::DBInstance" },
    { "requestParameters.dBSnapshotIdentifier", "rds.amazonaws.com", "AWS::RDS::DBSnapshot" },
    { "requestParameters.dBClusterIdentifier", "rds.amazonaws.com", "AWS::RDS::DBCluster" },
    { "requestParameters.dBClusterSnapshotIdentifier", "rds.amazonaws.com",
      "AWS::RDS::DBClusterSnapshot" },
    { "requestParameters.secretId", "secretsmanager.amazonaws.com",
      "AWS::SecretsManager::Secret" },
    { "requestParameters.name", "secretsmanager.amazonaws.com", "AWS::SecretsManager::Secret" },
    { "requestParameters.name", "ssm.amazonaws.com", "AWS::SSM::Parameter" },
    { "requestParameters.names", "ssm.amazonaws.com", "AWS::SSM::Parameter" },
    { "requestParameters.documentName", "ssm.amazonaws.com", "AWS::SSM::Document" },
    /* Others analysts ask about */
    { "requestParameters.topicArn", "sns.amazonaws.com", "AWS::SNS::Topic" },
    { "requestParameters.queueUrl", "sqs.amazonaws.com", "AWS::SQS::Queue" },
    { "requestParameters.tableName", "dynamodb.amazonaws.com", "AWS::DynamoDB::Table" },
    { "requestParameters.stackName", "cloudformation.amazonaws.com",
      "AWS::CloudFormation::Stack" },
    { "requestParameters.detectorId", "guardduty.amazonaws.com", "AWS::GuardDuty::Detector" },
    { "requestParameters.logGroupName", "logs.amazonaws.com", "AWS::Logs::LogGroup" },
    { "requestParameters.repositoryName", "ecr.amazonaws.com", "AWS::ECR::Repository" },
    { "requestParameters.configurationRecorderName", "config.amazonaws.com",
      "AWS::Config::ConfigurationRecorder" },
    { "requestParameters.hostedZoneId", "route53.amazonaws.com", "AWS::Route53::HostedZone" },
};

#define N_RES_RULES (sizeof(res_rules) / sizeof(res_rules[0]))

static size_t add_resource(struct store_resource *out, size_t n, size_t cap, const char *type,
                           struct sv name, struct arena *arena)
{
    if (name.p == NULL || name.len == 0 || n >= cap)
        return n;
    for (size_t i = 0; i < n; i++) {
        bool same_type = (out[i].type == NULL && type == NULL) ||
                         (out[i].type != NULL && type != NULL && strcmp(out[i].type, type) == 0);
        if (same_type && strlen(out[i].name) == name.len &&
            memcmp(out[i].name, name.p, name.len) == 0)
            return n;
    }
    out[n].type = type;
    out[n].name = arena_strndup(arena, name.p, name.len);
    return n + 1;
}

size_t store_event_resources(const struct event *ev, struct arena *arena,
                             struct store_resource *out, size_t cap)
{
    size_t n = 0;
    /* resources[]: type and ARN of the same element go together. */
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        if (l->n_arr != 1 || !(LEAF_IS(l, "resources.ARN") || LEAF_IS(l, "resources.ARNPrefix")))
            continue;
        const char *type = NULL;
        for (size_t k = 0; k < ev->flat.n; k++) {
            const struct json_leaf *t = &ev->flat.leaves[k];
            if (t->n_arr == 1 && t->arr[0].array == l->arr[0].array &&
                t->arr[0].index == l->arr[0].index && LEAF_IS(t, "resources.type")) {
                struct sv ts = leaf_str(t, arena);
                if (ts.p != NULL)
                    type = arena_strndup(arena, ts.p, ts.len);
                break;
            }
        }
        n = add_resource(out, n, cap, type, leaf_str(l, arena), arena);
    }
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        if (l->type != JSON_STRING || l->path_len < 17 ||
            (memcmp(l->path, "requestParameters", 17) != 0 &&
             memcmp(l->path, "responseElements", 16) != 0))
            continue;
        for (size_t r = 0; r < N_RES_RULES; r++) {
            const struct res_rule *rule = &res_rules[r];
            if (!leaf_is(l, rule->path, strlen(rule->path)))
                continue;
            if (rule->source != NULL && !sv_eq_cstr(ev->event_source, rule->source))
                continue;
            n = add_resource(out, n, cap, rule->type, json_leaf_str(l, arena), arena);
            break;
        }
    }
    return n;
}

/* ---- CloudTrail rows ------------------------------------------------------------------ */

/* S3 object-level and Lambda Invoke calls are data events; only needed for
 * records older than eventCategory/managementEvent (eventVersion < 1.08). */
static bool looks_like_data_event(const struct event *ev)
{
    if (sv_eq_cstr(ev->event_source, "lambda.amazonaws.com"))
        return sv_eq_cstr(ev->event_name, "Invoke");
    if (!sv_eq_cstr(ev->event_source, "s3.amazonaws.com"))
        return false;
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        if (l->n_arr == 1 && LEAF_IS(l, "resources.type") && l->type == JSON_STRING &&
            l->val_len == 15 && memcmp(l->val, "AWS::S3::Object", 15) == 0)
            return true;
    }
    return false;
}

static struct sv category_of(const struct event *ev, const struct json_leaf *mgmt)
{
    if (ev->flags & EVENT_F_INSIGHT)
        return SV("Insight");
    if (ev->event_category.p != NULL && ev->event_category.len > 0)
        return ev->event_category;
    if (mgmt != NULL && (mgmt->type == JSON_TRUE || mgmt->type == JSON_FALSE))
        return mgmt->type == JSON_TRUE ? SV("Management") : SV("Data");
    return looks_like_data_event(ev) ? SV("Data") : SV("Management");
}

static int put_cloudtrail(struct store *st, const struct event *ev, int64_t file_id,
                          bool *inserted, struct err *err)
{
    struct arena *a = &st->arena;
    const struct json_leaf *x[X_N];
    find_extras(ev, x);

    struct sv time_text = leaf_str(x[X_TIME], a);
    if (time_text.p == NULL)
        time_text = ev->envelope.time;
    if (time_text.p == NULL || time_text.len == 0)
        return err_set(err, ERR_FORMAT, "CloudTrail record without eventTime");

    struct sv raw = ev->raw;
    int rc = 0;
    if (raw.len > STORE_MAX_RAW)
        return err_set(err, ERR_LIMIT, "record of %zu bytes is too large to store", raw.len);
    if (!store__json_is_compact(raw)) {
        rc = store__compact_json(raw, &st->raw);
        if (rc != 0)
            return err_set(err, rc, "record of %zu bytes is too large to store", raw.len);
        raw = sv_make(st->raw.p, st->raw.len);
    }

    struct sv id = ev->id;
    char synth[48];
    if (id.p == NULL || id.len == 0) {
        /* No eventID (hand-made or truncated records): the content decides,
         * so the same record still goes in once. */
        uint64_t h1 = hash64(raw.p, raw.len, 1), h2 = hash64(raw.p, raw.len, 2);
        int k = snprintf(synth, sizeof(synth), "vigil-%016llx%016llx", (unsigned long long)h1,
                         (unsigned long long)h2);
        id = sv_make(synth, (size_t)k);
    }

    sqlite3_stmt *s;
    rc = store__stmt(st, STMT_INS_CT, &s, err);
    if (rc != 0)
        return rc;
    bind_sv(s, 1, id);
    sqlite3_bind_int64(s, 2, ev->time_ms);
    bind_sv(s, 3, time_text);
    bind_sv(s, 4, ev->account);
    bind_sv(s, 5, ev->region);
    bind_sv(s, 6, ev->event_source);
    bind_sv(s, 7, ev->event_name);
    bind_sv(s, 8, leaf_str(x[X_TYPE], a));
    struct sv category = category_of(ev, x[X_MGMT]);
    bind_sv(s, 9, category);
    bind_sv(s, 10, ev->principal_arn);
    bind_sv(s, 11, ev->principal_type);
    bind_sv(s, 12, ev->principal_id);
    bind_sv(s, 13, username_from(ev, x[X_UI_USERNAME], a));
    bind_sv(s, 14, ev->access_key);
    bind_sv(s, 15, leaf_str(x[X_ISSUER_ARN], a));
    bind_sv(s, 16, leaf_str(x[X_ISSUER_NAME], a));
    bind_sv(s, 17, ev->src_ip);
    bind_sv(s, 18, ev->user_agent);
    bind_sv(s, 19, ev->error_code);
    bind_sv(s, 20, leaf_str(x[X_ERRMSG], a));
    const struct json_leaf *ro = x[X_READONLY];
    if (ro != NULL && (ro->type == JSON_TRUE || ro->type == JSON_FALSE))
        sqlite3_bind_int(s, 21, ro->type == JSON_TRUE);
    else if (ro != NULL && ro->type == JSON_STRING &&
             ((ro->val_len == 4 && memcmp(ro->val, "true", 4) == 0) ||
              (ro->val_len == 5 && memcmp(ro->val, "false", 5) == 0)))
        sqlite3_bind_int(s, 21, ro->val_len == 4);
    else
        sqlite3_bind_null(s, 21);
    if (file_id > 0)
        sqlite3_bind_int64(s, 22, file_id);
    rc = step_insert(st, s, "inserting a CloudTrail event", inserted, err);
    if (rc != 0)
        return rc;
    if (!*inserted)
        return 0;
    rc = store__daily_add(st, ev->time_ms, ev->account, ev->region, err);
    if (rc != 0)
        return rc;

    /* The record goes in the same transaction as its row, so both or
     * neither survive a kill. */
    int64_t row = sqlite3_last_insert_rowid(st->db);
    rc = store__text_add(st, row, err);
    if (rc == 0)
        rc = store__stmt(st, STMT_INS_RAW, &s, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(s, 1, row);
    sqlite3_bind_text(s, 2, raw.p, (int)raw.len, SQLITE_STATIC);
    rc = step_insert(st, s, "inserting a CloudTrail record", NULL, err);
    if (rc == 0 && !st->in_tx)
        rc = store__text_flush(st, err);
    if (rc != 0)
        return rc;
    struct store_resource res[STORE_MAX_RESOURCES];
    size_t nres = store_event_resources(ev, a, res, STORE_MAX_RESOURCES);
    for (size_t i = 0; i < nres; i++) {
        rc = store__stmt(st, STMT_INS_RES, &s, err);
        if (rc != 0)
            return rc;
        sqlite3_bind_int64(s, 1, row);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        if (res[i].type)
            sqlite3_bind_text(s, 3, res[i].type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, res[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, ev->time_ms);
        sqlite3_bind_int(s, 6, sv_eq_cstr(category, "Management"));
        int src = sqlite3_step(s);
        sqlite3_reset(s);
        if (src != SQLITE_DONE)
            return store__db_err(st, err, "inserting a resource");
    }
    return 0;
}

/* ---- VPC flow rows ------------------------------------------------------------------------ */

/* Field names as flow log headers spell them, in the INSERT's column order. */
static const char *const flow_fields[] = {
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
    "protocol", "packets", "bytes", "start", "end", "action", "log-status",
    "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
    "region", "az-id", "sublocation-type", "sublocation-id", "pkt-src-aws-service",
    "pkt-dst-aws-service", "flow-direction", "traffic-path",
    "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn",
    "ecs-container-instance-id", "ecs-container-id", "ecs-second-container-id",
    "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn", "ecs-task-id",
    "reject-reason",
};

#define N_FLOW_FIELDS (sizeof(flow_fields) / sizeof(flow_fields[0]))

static int put_flow(struct store *st, const struct event *ev, int64_t file_id, bool *inserted,
                    struct err *err)
{
    const struct json_leaf *f[N_FLOW_FIELDS];
    memset(f, 0, sizeof(f));
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        for (size_t i = 0; i < N_FLOW_FIELDS; i++)
            if (f[i] == NULL && leaf_is(l, flow_fields[i], strlen(flow_fields[i]))) {
                f[i] = l;
                break;
            }
    }
    sqlite3_stmt *s;
    int rc = store__stmt(st, STMT_INS_FLOW, &s, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < N_FLOW_FIELDS; i++)
        bind_leaf(s, (int)i + 1, f[i], &st->arena);
    if (file_id > 0)
        sqlite3_bind_int64(s, (int)N_FLOW_FIELDS + 1, file_id);
    return step_insert(st, s, "inserting a flow log record", inserted, err);
}

/* ---- DNS rows ------------------------------------------------------------------------------- */

enum {
    D_VERSION,
    D_ACCOUNT,
    D_REGION,
    D_VPC,
    D_TS,
    D_NAME,
    D_TYPE,
    D_CLASS,
    D_RCODE,
    D_SRCADDR,
    D_SRCPORT,
    D_TRANSPORT,
    D_INSTANCE,
    D_ENDPOINT,
    D_FW_ACTION,
    D_FW_GROUP,
    D_FW_LIST,
    D_N
};

static const char *const dns_paths[D_N] = {
    "version", "account_id", "region", "vpc_id", "query_timestamp", "query_name", "query_type",
    "query_class", "rcode", "srcaddr", "srcport", "transport", "srcids.instance",
    "srcids.resolver_endpoint", "firewall_rule_action", "firewall_rule_group_id",
    "firewall_domain_list_id",
};

/* answers[] rebuilt as compact JSON from its leaves (one object per element). */
static int answers_json(const struct event *ev, struct buf *out, struct arena *arena, bool *any)
{
    struct json_writer w;
    buf_reset(out);
    jw_init(&w, out, 0);
    *any = false;
    bool open = false;
    uint32_t cur = 0;
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        if (l->path_len < 7 || memcmp(l->path, "answers", 7) != 0 ||
            (l->path_len > 7 && l->path[7] != '.'))
            continue;
        if (!*any) {
            jw_array_begin(&w);
            *any = true;
        }
        if (l->path_len == 7 || l->n_arr == 0)
            continue; /* "answers": [] */
        if (!open || l->arr[0].index != cur) {
            if (open)
                jw_object_end(&w);
            jw_object_begin(&w);
            open = true;
            cur = l->arr[0].index;
        }
        jw_key_sv(&w, sv_make(l->path + 8, l->path_len - 8));
        switch (l->type) {
        case JSON_STRING: jw_str_sv(&w, json_leaf_str(l, arena)); break;
        case JSON_NUMBER: jw_raw(&w, sv_make(l->val, l->val_len)); break;
        case JSON_TRUE: jw_bool(&w, true); break;
        case JSON_FALSE: jw_bool(&w, false); break;
        case JSON_OBJECT: jw_raw(&w, SV("{}")); break;
        case JSON_ARRAY: jw_raw(&w, SV("[]")); break;
        default: jw_null(&w); break;
        }
    }
    if (open)
        jw_object_end(&w);
    if (*any)
        jw_array_end(&w);
    return w.rc;
}

static int put_dns(struct store *st, const struct event *ev, int64_t file_id, bool *inserted,
                   struct err *err)
{
    const struct json_leaf *d[D_N];
    size_t lens[D_N];
    for (int i = 0; i < D_N; i++) {
        d[i] = NULL;
        lens[i] = strlen(dns_paths[i]);
    }
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        if (l->n_arr != 0)
            continue;
        for (int i = 0; i < D_N; i++)
            if (d[i] == NULL && leaf_is(l, dns_paths[i], lens[i])) {
                d[i] = l;
                break;
            }
    }
    bool any;
    int rc = answers_json(ev, &st->answers, &st->arena, &any);
    if (rc != 0)
        return err_set(err, rc, "answers too large to store");
    sqlite3_stmt *s;
    rc = store__stmt(st, STMT_INS_DNS, &s, err);
    if (rc != 0)
        return rc;
    struct arena *a = &st->arena;
    bind_leaf(s, 1, d[D_VERSION], a);
    bind_leaf(s, 2, d[D_ACCOUNT], a);
    bind_leaf(s, 3, d[D_REGION], a);
    bind_leaf(s, 4, d[D_VPC], a);
    sqlite3_bind_int64(s, 5, ev->time_ms);
    bind_leaf(s, 6, d[D_TS], a);
    for (int i = D_NAME; i <= D_RCODE; i++)
        bind_leaf(s, 7 + (i - D_NAME), d[i], a);
    if (any)
        sqlite3_bind_text(s, 11, st->answers.p, (int)st->answers.len, SQLITE_STATIC);
    bind_leaf(s, 12, d[D_SRCADDR], a);
    bind_int_text(s, 13, d[D_SRCPORT], a);
    for (int i = D_TRANSPORT; i <= D_FW_LIST; i++)
        bind_leaf(s, 14 + (i - D_TRANSPORT), d[i], a);
    if (file_id > 0)
        sqlite3_bind_int64(s, 20, file_id);
    return step_insert(st, s, "inserting a DNS query record", inserted, err);
}

/* ---- web access logs ---------------------------------------------------------- */

/* The leaves of S3 server access log records, in the insert's column order
 * (input/weblog.c names them after the columns). */
static const char *const s3_leaves[] = {
    "bucketowner", "bucket_name", "requestdatetime", "remoteip", "requester", "requestid",
    "operation", "key", "request_uri", "httpstatus", "errorcode", "bytessent", "objectsize",
    "totaltime", "turnaroundtime", "referrer", "useragent", "versionid", "hostid", "sigv",
    "ciphersuite", "authtype", "endpoint", "tlsversion", "accesspointarn", "aclrequired",
};

/* CloudFront's W3C field names, in the insert's column order. */
static const char *const cf_leaves[] = {
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)",
    "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes",
    "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields",
    "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
};

/* Inserts rec_id, time and file, then each leaf named in names[] at column
 * 4 + its index; leaves of other names are not stored (a newer field). */
static int put_columns(struct store *st, enum store_stmt id, const struct event *ev,
                       int64_t file_id, const char *const *names, size_t n, bool *inserted,
                       struct err *err)
{
    sqlite3_stmt *s;
    int rc = store__stmt(st, id, &s, err);
    if (rc != 0)
        return rc;
    bind_sv(s, 1, ev->id);
    sqlite3_bind_int64(s, 2, ev->time_ms);
    if (file_id > 0)
        sqlite3_bind_int64(s, 3, file_id);
    for (size_t j = 0; j < ev->flat.n; j++) {
        const struct json_leaf *l = &ev->flat.leaves[j];
        for (size_t i = 0; i < n; i++)
            if (leaf_is(l, names[i], strlen(names[i]))) {
                bind_leaf(s, 4 + (int)i, l, &st->arena);
                break;
            }
    }
    return step_insert(st, s, "inserting a web access log record", inserted, err);
}

static int put_waf(struct store *st, const struct event *ev, int64_t file_id, bool *inserted,
                   struct err *err)
{
    struct sv raw = ev->raw;
    if (!store__json_is_compact(raw)) {
        buf_reset(&st->raw);
        if (store__compact_json(raw, &st->raw) != 0)
            return err_set(err, ERR_LIMIT, "WAF record too large to store");
        raw = sv_make(st->raw.p, st->raw.len);
    }
    sqlite3_stmt *s;
    int rc = store__stmt(st, STMT_INS_WAF, &s, err);
    if (rc != 0)
        return rc;
    bind_sv(s, 1, ev->id);
    sqlite3_bind_int64(s, 2, ev->time_ms);
    if (file_id > 0)
        sqlite3_bind_int64(s, 3, file_id);
    bind_leaf(s, 4, json_flat_get(&ev->flat, "action"), &st->arena);
    bind_sv(s, 5, ev->src_ip);
    bind_sv(s, 6, raw);
    return step_insert(st, s, "inserting a WAF log record", inserted, err);
}

int store_put_event(struct store *st, const struct event *ev, int64_t file_id, bool *inserted_out,
                    struct err *err)
{
    bool inserted = false;
    int rc;
    if (st->readonly)
        return err_set(err, ERR_USAGE, "the store is open read-only");
    arena_reset(&st->arena);
    switch (ev->source) {
    case EVENT_CLOUDTRAIL: rc = put_cloudtrail(st, ev, file_id, &inserted, err); break;
    case EVENT_VPCFLOW: rc = put_flow(st, ev, file_id, &inserted, err); break;
    case EVENT_DNS: rc = put_dns(st, ev, file_id, &inserted, err); break;
    case EVENT_S3ACCESS:
        rc = put_columns(st, STMT_INS_S3, ev, file_id, s3_leaves,
                         sizeof(s3_leaves) / sizeof(s3_leaves[0]), &inserted, err);
        break;
    case EVENT_CLOUDFRONT:
        rc = put_columns(st, STMT_INS_CF, ev, file_id, cf_leaves,
                         sizeof(cf_leaves) / sizeof(cf_leaves[0]), &inserted, err);
        break;
    case EVENT_WAF: rc = put_waf(st, ev, file_id, &inserted, err); break;
    default: rc = err_set(err, ERR_INTERNAL, "event source %d unknown", (int)ev->source); break;
    }
    if (inserted_out != NULL)
        *inserted_out = inserted;
    return rc;
}

void store_add_paths(struct json_pathset *ps)
{
    event_add_common_paths(ps);
    for (int i = 0; i < X_N; i++)
        json_pathset_add(ps, x_paths[i], strlen(x_paths[i]));
    static const char *const more[] = { "resources.ARN", "resources.ARNPrefix", "resources.type" };
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        json_pathset_add(ps, more[i], strlen(more[i]));
    for (size_t i = 0; i < N_RES_RULES; i++)
        json_pathset_add(ps, res_rules[i].path, strlen(res_rules[i].path));
    for (int i = 0; i < D_N; i++)
        json_pathset_add(ps, dns_paths[i], strlen(dns_paths[i]));
    json_pathset_add_subtree(ps, "answers", 7);
    json_pathset_add(ps, "action", 6); /* WAF */
}
