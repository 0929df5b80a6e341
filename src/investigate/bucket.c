/*
 * investigate: playbook #2, unintended access to an S3 bucket.
 *
 * Exposure is judged from the last successful change of each kind seen in the
 * logs, in time order, as S3 evaluates it: a policy that allows everyone
 * ("Principal": "*" or {"AWS": "*"}) without a Condition makes the bucket
 * public unless Block Public Access has RestrictPublicBuckets; an ACL granting
 * AllUsers or AuthenticatedUsers (or a canned public-read, public-read-write,
 * authenticated-read) does unless IgnorePublicAcls. A kind never changed in
 * the logs is unknown: the state before the logs began is not known.
 * Account-level Block Public Access is not looked at.
 */
#include "investigate/investigate_int.h"
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tri { TRI_UNKNOWN = 0, TRI_NO, TRI_YES };

struct exposure {
    enum tri policy_public, acl_public, restrict_public, ignore_acls, logging;
    char policy_at[32], acl_at[32], bpa_at[32], logging_at[32];
    bool policy_conditional;
};

static bool principal_is_everyone(const struct json_value *p)
{
    if (p == NULL)
        return false;
    if (p->type == JSON_STRING)
        return strcmp(p->str, "*") == 0;
    if (p->type == JSON_OBJECT) {
        const struct json_value *aws = json_get(p, "AWS");
        if (aws && aws->type == JSON_STRING)
            return strcmp(aws->str, "*") == 0;
        if (aws && aws->type == JSON_ARRAY)
            for (size_t i = 0; i < aws->n; i++)
                if (aws->items[i].type == JSON_STRING && strcmp(aws->items[i].str, "*") == 0)
                    return true;
    }
    return false;
}

/* Whether a bucket policy (JSON text) allows everyone; *conditional is set
 * when it does only under a Condition (not counted as public). */
static enum tri policy_public(const char *text, bool *conditional)
{
    struct arena a;
    arena_init(&a, 0);
    struct json_value *root = NULL;
    enum tri out = TRI_UNKNOWN;
    if (json_parse(text, strlen(text), &a, &root, NULL) == 0 && root->type == JSON_OBJECT) {
        out = TRI_NO;
        const struct json_value *st = json_get(root, "Statement");
        size_t n = st ? (st->type == JSON_ARRAY ? st->n : 1) : 0;
        for (size_t i = 0; i < n; i++) {
            const struct json_value *s = st->type == JSON_ARRAY ? &st->items[i] : st;
            const struct json_value *eff = json_get(s, "Effect");
            if (s->type != JSON_OBJECT || eff == NULL || eff->type != JSON_STRING ||
                strcmp(eff->str, "Allow") != 0 || !principal_is_everyone(json_get(s, "Principal")))
                continue;
            if (json_get(s, "Condition"))
                *conditional = true;
            else
                out = TRI_YES;
        }
    }
    arena_free(&a);
    return out;
}

static bool acl_public(const char *params)
{
    return strstr(params, "acs.amazonaws.com/groups/global/AllUsers") ||
           strstr(params, "acs.amazonaws.com/groups/global/AuthenticatedUsers") ||
           strstr(params, "\"public-read") || strstr(params, "\"authenticated-read");
}

static const char *tri_text(enum tri t)
{
    return t == TRI_YES ? "yes" : t == TRI_NO ? "no" : "unknown";
}

static bool is_config_change(const char *name)
{
    return strncmp(name, "PutBucket", 9) == 0 || strncmp(name, "DeleteBucket", 12) == 0 ||
           strcmp(name, "CreateBucket") == 0;
}

static bool is_object_op(const char *name, const char *category)
{
    static const char *const ops[] = { "GetObject",  "PutObject",     "DeleteObject",
                                       "DeleteObjects", "CopyObject", "HeadObject",
                                       "ListObjects", "ListObjectsV2", "ListObjectVersions",
                                       "RestoreObject", "SelectObjectContent",
                                       "CreateMultipartUpload", "UploadPart",
                                       "CompleteMultipartUpload", NULL };
    if (strcmp(category, "Data") == 0)
        return true;
    for (size_t i = 0; ops[i]; i++)
        if (strncmp(name, ops[i], strlen(ops[i])) == 0)
            return true;
    return false;
}

static void apply_change(struct exposure *x, sqlite3_stmt *s, const char *ts)
{
    const char *name = investigate__col(s, 3);
    const char *params = investigate__col(s, 9);
    if (strcmp(name, "PutBucketPolicy") == 0) {
        bool cond = false;
        x->policy_public = policy_public(investigate__col(s, 10), &cond);
        x->policy_conditional = cond;
        snprintf(x->policy_at, sizeof(x->policy_at), "%s", ts);
    } else if (strcmp(name, "DeleteBucketPolicy") == 0) {
        x->policy_public = TRI_NO;
        x->policy_conditional = false;
        snprintf(x->policy_at, sizeof(x->policy_at), "%s", ts);
    } else if (strcmp(name, "PutBucketAcl") == 0 || strcmp(name, "CreateBucket") == 0) {
        x->acl_public = acl_public(params) ? TRI_YES : TRI_NO;
        snprintf(x->acl_at, sizeof(x->acl_at), "%s", ts);
    } else if (strcmp(name, "PutBucketPublicAccessBlock") == 0) {
        /* A setting left out of the request is false. */
        x->restrict_public = sqlite3_column_int(s, 11) == 1 ? TRI_YES : TRI_NO;
        x->ignore_acls = sqlite3_column_int(s, 12) == 1 ? TRI_YES : TRI_NO;
        snprintf(x->bpa_at, sizeof(x->bpa_at), "%s", ts);
    } else if (strcmp(name, "DeleteBucketPublicAccessBlock") == 0) {
        x->restrict_public = x->ignore_acls = TRI_NO;
        snprintf(x->bpa_at, sizeof(x->bpa_at), "%s", ts);
    } else if (strcmp(name, "PutBucketLogging") == 0) {
        x->logging = sqlite3_column_type(s, 13) != SQLITE_NULL ? TRI_YES : TRI_NO;
        snprintf(x->logging_at, sizeof(x->logging_at), "%s", ts);
    }
}

/* Object access grouped by who, from where and what. */
struct access {
    char *key;
    char *who, *ip, *action;
    uint64_t n, failed;
    int64_t first, last;
};

/* A field of the record of a configuration change (is_config_change), NULL
 * for other events: object access, the bulk of a busy bucket's events, never
 * reads the record (cloudtrail_raw). */
#define CONFIG                                                                           \
    "CASE WHEN c.event_name GLOB 'PutBucket*' OR c.event_name GLOB 'DeleteBucket*' OR"  \
    " c.event_name = 'CreateBucket' THEN (SELECT json_extract(x.raw,"
#define END_CONFIG " FROM cloudtrail_raw x WHERE x.id = c.id) END"

int investigate_bucket(struct store *st, const char *bucket, int64_t since_ms,
                       struct investigate_report **out, struct err *err)
{
    if (bucket == NULL || bucket[0] == '\0')
        return err_set(err, ERR_USAGE, "no bucket name");
    sqlite3 *db = store_db(st);
    static const char sql[] =
        "SELECT c.event_id, c.event_time_ms, ifnull(c.event_source,''), ifnull(c.event_name,''),"
        " ifnull(c.error_code,''), coalesce(c.principal_arn, c.user_name, ''), c.source_ip,"
        " c.user_agent, c.event_category,"
        " ifnull(" CONFIG "'$.requestParameters')" END_CONFIG ",''),"
        " ifnull(" CONFIG "'$.requestParameters.bucketPolicy')" END_CONFIG ",''),"
        " " CONFIG "'$.requestParameters.PublicAccessBlockConfiguration.RestrictPublicBuckets')" END_CONFIG ","
        " " CONFIG "'$.requestParameters.PublicAccessBlockConfiguration.IgnorePublicAcls')" END_CONFIG ","
        " " CONFIG "'$.requestParameters.BucketLoggingStatus.LoggingEnabled')" END_CONFIG
        " FROM cloudtrail c WHERE c.id IN (SELECT event FROM resources WHERE resource_name IN"
        " (?1, 'arn:aws:s3:::' || ?1) OR (resource_name >= 'arn:aws:s3:::' || ?1 || '/'"
        " AND resource_name < 'arn:aws:s3:::' || ?1 || '0'))"
        " AND c.event_time_ms >= ?2 ORDER BY c.event_time_ms, c.event_id";
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return investigate__db_err(db, err, "bucket query");
    sqlite3_bind_text(s, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, since_ms);
    char title[400];
    snprintf(title, sizeof(title), "S3 bucket: %s", bucket);
    struct investigate_report *r = investigate__report_new("bucket", title);
    struct investigate_table *changes = investigate__table(
        r, "Configuration changes",
        "Changes to the bucket's policy, ACL, Block Public Access, logging and other settings.",
        "time", "action", "principal", "source ip", "error", "request", "event id",
        (const char *)NULL);
    struct exposure x;
    memset(&x, 0, sizeof(x));
    struct access *acc = NULL;
    size_t n_acc = 0;
    struct hmap acc_index;
    hmap_init(&acc_index);
    uint64_t n_events = 0, n_reads = 0, n_writes = 0, n_other = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        n_events++;
        char ts[32];
        int64_t ms = sqlite3_column_int64(s, 1);
        investigate__time(ms, ts);
        const char *name = investigate__col(s, 3), *error = investigate__col(s, 4);
        const char *who = investigate__col(s, 5), *ip = investigate__col(s, 6);
        if (is_config_change(name)) {
            char params[600];
            snprintf(params, sizeof(params), "%s", investigate__col(s, 9));
            investigate__row(changes, ts, name, who, ip, error, params, investigate__col(s, 0));
            investigate__point(r, ms, "configuration", name, error[0] != '\0');
            if (error[0] == '\0')
                apply_change(&x, s, ts);
        } else if (is_object_op(name, investigate__col(s, 8))) {
            bool write = strncmp(name, "Get", 3) != 0 && strncmp(name, "Head", 4) != 0 &&
                         strncmp(name, "List", 4) != 0 && strncmp(name, "Select", 6) != 0;
            n_reads += !write;
            n_writes += write;
            char key[1200];
            int kl = snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", who, ip, name);
            size_t klen = kl < 0 ? 0 : (size_t)kl < sizeof(key) ? (size_t)kl : sizeof(key) - 1;
            void *got = hmap_get(&acc_index, key, klen);
            struct access *a;
            if (got) {
                a = &acc[(uintptr_t)got - 1];
            } else {
                acc = xrealloc(acc, (n_acc + 1) * sizeof(*acc));
                a = &acc[n_acc++];
                memset(a, 0, sizeof(*a));
                a->key = xstrndup(key, klen);
                a->who = xstrdup(who);
                a->ip = xstrdup(ip);
                a->action = xstrdup(name);
                a->first = INT64_MAX;
                a->last = INT64_MIN;
                hmap_put(&acc_index, a->key, klen, (void *)(uintptr_t)n_acc);
            }
            a->n++;
            a->failed += error[0] != '\0';
            if (ms < a->first)
                a->first = ms;
            if (ms > a->last)
                a->last = ms;
            investigate__point(r, ms, write ? "object writes" : "object reads", name,
                               error[0] != '\0');
        } else {
            n_other++;
            investigate__point(r, ms, "other", name, error[0] != '\0');
        }
    }
    int rc = step == SQLITE_DONE ? 0 : investigate__db_err(db, err, "bucket query");
    sqlite3_finalize(s);

    struct investigate_table *t = investigate__table(
        r, "Object access", "Data events on the bucket's objects by principal, address and action.",
        "principal", "source ip", "action", "events", "failed", "first seen", "last seen",
        (const char *)NULL);
    for (size_t i = 0; i < n_acc; i++) {
        char f[32], l[32], n[24], nf[24];
        investigate__time(acc[i].first, f);
        investigate__time(acc[i].last, l);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)acc[i].n);
        snprintf(nf, sizeof(nf), "%llu", (unsigned long long)acc[i].failed);
        investigate__row(t, acc[i].who, acc[i].ip, acc[i].action, n, nf, f, l);
        free(acc[i].key);
        free(acc[i].who);
        free(acc[i].ip);
        free(acc[i].action);
    }
    free(acc);
    hmap_free(&acc_index);

    /* Verdict: exposed when a public grant is not blocked. */
    const char *exposed, *reason;
    bool by_policy = x.policy_public == TRI_YES && x.restrict_public != TRI_YES;
    bool by_acl = x.acl_public == TRI_YES && x.ignore_acls != TRI_YES;
    if (by_policy || by_acl) {
        exposed = "yes";
        reason = by_policy && by_acl ? "the bucket policy and the ACL grant everyone access"
                 : by_policy         ? "the bucket policy allows everyone (Principal \"*\")"
                                     : "the ACL grants AllUsers or AuthenticatedUsers";
    } else if (x.policy_public == TRI_UNKNOWN && x.acl_public == TRI_UNKNOWN) {
        exposed = "unknown";
        reason = "no policy or ACL change in the logs";
    } else {
        exposed = "no";
        reason = x.policy_public == TRI_YES || x.acl_public == TRI_YES
                     ? "a public grant is blocked by Block Public Access"
                     : "no public grant in the last policy or ACL seen";
    }
    investigate__summary(r, "bucket", "%s", bucket);
    investigate__summary(r, "exposed", "%s", exposed);
    /* Exposed on what was seen: the account-level setting or a BPA set
     * before the logs began could still block it. */
    bool bpa_unseen = (by_policy && x.restrict_public == TRI_UNKNOWN) ||
                      (by_acl && x.ignore_acls == TRI_UNKNOWN);
    investigate__summary(r, "exposure reason", "%s%s", reason,
                         bpa_unseen ? " (no bucket Block Public Access change seen)" : "");
    investigate__summary(r, "events", "%llu", (unsigned long long)n_events);
    investigate__summary(r, "configuration changes", "%zu", changes->n_rows);
    investigate__summary(r, "object reads", "%llu", (unsigned long long)n_reads);
    investigate__summary(r, "object writes", "%llu", (unsigned long long)n_writes);
    investigate__summary(r, "other events", "%llu", (unsigned long long)n_other);
    t = investigate__table(r, "Exposure", "The last state seen of each setting.", "setting",
                           "state", "changed at", (const char *)NULL);
    investigate__row(t, "policy allows everyone",
                     x.policy_conditional && x.policy_public != TRI_YES ? "only under a condition"
                                                                        : tri_text(x.policy_public),
                     x.policy_at);
    investigate__row(t, "ACL grants everyone", tri_text(x.acl_public), x.acl_at);
    investigate__row(t, "BPA RestrictPublicBuckets", tri_text(x.restrict_public), x.bpa_at);
    investigate__row(t, "BPA IgnorePublicAcls", tri_text(x.ignore_acls), x.bpa_at);
    investigate__row(t, "server access logging", tri_text(x.logging), x.logging_at);
    if (rc == 0)
        *out = r;
    else
        investigate_report_free(r);
    return rc;
}
