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
 *
 * Who read or wrote objects comes from two sources, each row saying which:
 * CloudTrail data events (only there when the trail logs S3 data events) and
 * S3 server access logs (the s3access table), which many accounts have
 * instead. An anonymous request (requester "-") that succeeded is direct
 * evidence of exposure, whatever the configuration changes say.
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
    int64_t last_change_ms; /* the latest policy, ACL or BPA change applied */
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

static void apply_change(struct exposure *x, sqlite3_stmt *s, int64_t ms, const char *ts)
{
    const char *name = investigate__col(s, 3);
    const char *params = investigate__col(s, 9);
    if (strcmp(name, "PutBucketPolicy") == 0) {
        bool cond = false;
        x->policy_public = policy_public(investigate__col(s, 10), &cond);
        x->policy_conditional = cond;
        snprintf(x->policy_at, sizeof(x->policy_at), "%s", ts);
        x->last_change_ms = ms;
    } else if (strcmp(name, "DeleteBucketPolicy") == 0) {
        x->policy_public = TRI_NO;
        x->policy_conditional = false;
        snprintf(x->policy_at, sizeof(x->policy_at), "%s", ts);
        x->last_change_ms = ms;
    } else if (strcmp(name, "PutBucketAcl") == 0 || strcmp(name, "CreateBucket") == 0) {
        x->acl_public = acl_public(params) ? TRI_YES : TRI_NO;
        snprintf(x->acl_at, sizeof(x->acl_at), "%s", ts);
        x->last_change_ms = ms;
    } else if (strcmp(name, "PutBucketPublicAccessBlock") == 0) {
        /* A setting left out of the request is false. */
        x->restrict_public = sqlite3_column_int(s, 11) == 1 ? TRI_YES : TRI_NO;
        x->ignore_acls = sqlite3_column_int(s, 12) == 1 ? TRI_YES : TRI_NO;
        snprintf(x->bpa_at, sizeof(x->bpa_at), "%s", ts);
        x->last_change_ms = ms;
    } else if (strcmp(name, "DeleteBucketPublicAccessBlock") == 0) {
        x->restrict_public = x->ignore_acls = TRI_NO;
        snprintf(x->bpa_at, sizeof(x->bpa_at), "%s", ts);
        x->last_change_ms = ms;
    } else if (strcmp(name, "PutBucketLogging") == 0) {
        x->logging = sqlite3_column_type(s, 13) != SQLITE_NULL ? TRI_YES : TRI_NO;
        snprintf(x->logging_at, sizeof(x->logging_at), "%s", ts);
    }
}

/* The source column's values. */
#define SRC_CT "CloudTrail"
#define SRC_S3 "S3 access log"

/* Access-log rows listed at most (anonymous objects) and points drawn: a
 * busy bucket logs millions of requests, the groups above count them all. */
#define ANON_ROWS_MAX 1000
#define S3_POINTS_MAX 20000

/* CloudTrail object access grouped by who, from where and what. */
struct access {
    char *who, *ip, *action, *first_key;
    uint64_t n, failed, keys, bytes;
    bool has_bytes;
    int64_t first, last;
};

struct ct_groups {
    struct access *acc;
    size_t n;
    struct hmap index; /* who \x1f ip \x1f action -> 1 + index */
    struct hmap keys;  /* index (its bytes) then key: distinct objects per group */
    struct buf k;      /* the key being looked up, reused: a busy bucket has 100 k+ events */
};

static void ct_group_add(struct ct_groups *g, const char *who, const char *ip, const char *name,
                         const char *key, sqlite3_stmt *s, int64_t ms, bool failed)
{
    struct buf *k = &g->k;
    buf_reset(k);
    buf_append_cstr(k, who);
    buf_putc(k, '\x1f');
    buf_append_cstr(k, ip);
    buf_putc(k, '\x1f');
    buf_append_cstr(k, name);
    void *got = hmap_get(&g->index, k->p, k->len);
    size_t gi;
    if (got) {
        gi = (size_t)((uintptr_t)got - 1);
    } else {
        g->acc = xrealloc(g->acc, (g->n + 1) * sizeof(*g->acc));
        struct access *a = &g->acc[g->n];
        memset(a, 0, sizeof(*a));
        a->who = xstrdup(who);
        a->ip = xstrdup(ip);
        a->action = xstrdup(name);
        a->first = INT64_MAX;
        a->last = INT64_MIN;
        gi = g->n++;
        hmap_put(&g->index, k->p, k->len, (void *)(uintptr_t)(gi + 1));
    }
    struct access *a = &g->acc[gi];
    a->n++;
    a->failed += failed;
    if (ms < a->first)
        a->first = ms;
    if (ms > a->last)
        a->last = ms;
    if (key[0] != '\0') {
        buf_reset(k);
        buf_append(k, &gi, sizeof(gi));
        buf_append_cstr(k, key);
        if (hmap_get(&g->keys, k->p, k->len) == NULL) {
            hmap_put(&g->keys, k->p, k->len, (void *)1);
            if (a->keys++ == 0)
                a->first_key = xstrdup(key);
        }
    }
    if (sqlite3_column_type(s, 15) != SQLITE_NULL) {
        sqlite3_int64 b = sqlite3_column_int64(s, 15);
        a->bytes += b > 0 ? (uint64_t)b : 0;
        a->has_bytes = true;
    }
}

/* "q1/pay.csv" or "3 objects, e.g. q1/pay.csv"; "" for none. */
static void objects_cell(char *out, size_t cap, uint64_t n, const char *example)
{
    if (n == 0)
        out[0] = '\0';
    else if (n == 1)
        snprintf(out, cap, "%s", example);
    else
        snprintf(out, cap, "%llu objects, e.g. %s", (unsigned long long)n, example);
}

/* An S3 access log operation (REST.GET.OBJECT, WEBSITE.GET.OBJECT,
 * REST.COPY.OBJECT_GET, ...) that only reads. */
static bool s3_op_reads(const char *op)
{
    size_t n = strlen(op);
    return strstr(op, ".GET.") || strstr(op, ".HEAD.") ||
           (n > 4 && strcmp(op + n - 4, "_GET") == 0);
}

/* A change to the bucket itself (policy, ACL, public access block, logging,
 * ...): a PUT or DELETE without an object key. */
static bool s3_op_config(const char *op, bool has_key)
{
    return !has_key && (strncmp(op, "REST.PUT.", 9) == 0 || strncmp(op, "REST.DELETE.", 12) == 0);
}

/* Object-level: it names a key, or lists or bulk-deletes the objects. */
static bool s3_op_object(const char *op, bool has_key)
{
    return has_key || strcmp(op, "REST.GET.BUCKET") == 0 ||
           strcmp(op, "REST.GET.BUCKETVERSIONS") == 0 ||
           strcmp(op, "REST.POST.MULTI_OBJECT_DELETE") == 0;
}

/* A request that got what it asked for (2xx, or 304: the conditional GET
 * was allowed to see the object). */
static bool s3_status_ok(sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) != SQLITE_INTEGER)
        return false;
    int st = sqlite3_column_int(s, col);
    return (st >= 200 && st < 300) || st == 304;
}

/* From the network, not S3 itself (lifecycle, replication, batch). */
static bool s3_op_request(const char *op)
{
    return strncmp(op, "REST.", 5) == 0 || strncmp(op, "WEBSITE.", 8) == 0;
}

struct s3_totals {
    uint64_t requests, reads, writes, other;
    uint64_t anon_ok, anon_reads, anon_writes, anon_ips;
    int64_t anon_first, anon_last;
    bool have_table;
};

static int s3_prepare(sqlite3 *db, const char *sql, const char *bucket, int64_t since_ms,
                      sqlite3_stmt **out, struct err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
        return investigate__db_err(db, err, "access log query");
    sqlite3_bind_text(*out, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*out, 2, since_ms);
    return 0;
}

static int s3_finish(sqlite3 *db, sqlite3_stmt *s, int step, struct err *err)
{
    int rc = step == SQLITE_DONE ? 0 : investigate__db_err(db, err, "access log query");
    sqlite3_finalize(s);
    return rc;
}

/* Access log requests of the bucket grouped as the CloudTrail ones are (and
 * by HTTP status, which tells an anonymous 200 from a 403), into acc_t. */
static int s3_groups(sqlite3 *db, const char *bucket, int64_t since_ms,
                     struct investigate_table *acc_t, struct s3_totals *tot, struct err *err)
{
    static const char sql[] =
        "SELECT requester, ifnull(remoteip,''), ifnull(operation,''), httpstatus, count(*),"
        " count(DISTINCT \"key\"), min(\"key\"), sum(ifnull(bytessent,0)), min(time_ms),"
        " max(time_ms), requester IS NULL"
        " FROM main.s3access WHERE bucket_name = ?1 AND time_ms >= ?2"
        " GROUP BY requester, remoteip, operation, httpstatus"
        " ORDER BY min(time_ms), requester, remoteip, operation, httpstatus";
    sqlite3_stmt *s = NULL;
    int rc = s3_prepare(db, sql, bucket, since_ms, &s, err);
    if (rc != 0)
        return rc;
    struct hmap anon_ips;
    hmap_init(&anon_ips);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *op = investigate__col(s, 2), *ip = investigate__col(s, 1);
        uint64_t n = (uint64_t)sqlite3_column_int64(s, 4);
        uint64_t keys = (uint64_t)sqlite3_column_int64(s, 5);
        int64_t first = sqlite3_column_int64(s, 8), last = sqlite3_column_int64(s, 9);
        bool anon = sqlite3_column_int(s, 10) != 0, ok = s3_status_ok(s, 3);
        bool reads = s3_op_reads(op);
        tot->requests += n;
        if (anon && ok && s3_op_request(op)) {
            if (tot->anon_ok == 0 || first < tot->anon_first)
                tot->anon_first = first;
            if (tot->anon_ok == 0 || last > tot->anon_last)
                tot->anon_last = last;
            tot->anon_ok += n;
            tot->anon_reads += reads ? n : 0;
            tot->anon_writes += reads ? 0 : n;
            if (hmap_put(&anon_ips, ip, strlen(ip), (void *)1) == NULL)
                tot->anon_ips++;
        }
        if (!s3_op_object(op, keys > 0)) {
            tot->other += s3_op_config(op, keys > 0) ? 0 : n;
            continue;
        }
        tot->reads += reads ? n : 0;
        tot->writes += reads ? 0 : n;
        char f[32], l[32], ev[24], nf[24], status[16], bytes[24], objs[1200];
        investigate__time(first, f);
        investigate__time(last, l);
        snprintf(ev, sizeof(ev), "%llu", (unsigned long long)n);
        snprintf(status, sizeof(status), "%s", investigate__col(s, 3));
        bool failed = sqlite3_column_type(s, 3) == SQLITE_INTEGER && sqlite3_column_int(s, 3) >= 400;
        snprintf(nf, sizeof(nf), "%llu", (unsigned long long)(failed ? n : 0));
        snprintf(bytes, sizeof(bytes), "%lld", (long long)sqlite3_column_int64(s, 7));
        objects_cell(objs, sizeof(objs), keys, investigate__col(s, 6));
        investigate__row(acc_t, SRC_S3, anon ? "anonymous" : investigate__col(s, 0), ip, op, status,
                         ev, nf, objs, bytes, f, l);
    }
    hmap_free(&anon_ips);
    return s3_finish(db, s, step, err);
}

/* Bucket configuration requests in the access log: who and when, not what
 * (the log has no request body, so they do not enter the exposure replay). */
static int s3_config(sqlite3 *db, const char *bucket, int64_t since_ms,
                     struct investigate_table *changes, struct err *err)
{
    static const char sql[] =
        "SELECT time_ms, ifnull(operation,''), requester, ifnull(remoteip,''),"
        " coalesce(errorcode, CASE WHEN httpstatus >= 400 THEN httpstatus END, ''),"
        " ifnull(request_uri,''), ifnull(requestid,'')"
        " FROM main.s3access WHERE bucket_name = ?1 AND time_ms >= ?2 AND \"key\" IS NULL"
        " AND (substr(operation,1,9) = 'REST.PUT.' OR substr(operation,1,12) = 'REST.DELETE.')"
        " ORDER BY time_ms, id";
    sqlite3_stmt *s = NULL;
    int rc = s3_prepare(db, sql, bucket, since_ms, &s, err);
    if (rc != 0)
        return rc;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t ms = sqlite3_column_int64(s, 0);
        char ts[32];
        investigate__time(ms, ts);
        const char *who = sqlite3_column_type(s, 2) == SQLITE_NULL ? "anonymous"
                                                                  : investigate__col(s, 2);
        const char *error = investigate__col(s, 4);
        investigate__row(changes, SRC_S3, ts, investigate__col(s, 1), who, investigate__col(s, 3),
                         error, investigate__col(s, 5), investigate__col(s, 6));
    }
    return s3_finish(db, s, step, err);
}

/* Objects that anonymous requests got: the exposure evidence. */
static int s3_anonymous(sqlite3 *db, const char *bucket, int64_t since_ms,
                        struct investigate_table *t, struct err *err)
{
    static const char sql[] =
        "SELECT ifnull(\"key\",''), ifnull(operation,''), count(*), count(DISTINCT remoteip),"
        " min(remoteip), sum(ifnull(bytessent,0)), min(time_ms), max(time_ms)"
        " FROM main.s3access WHERE bucket_name = ?1 AND time_ms >= ?2 AND requester IS NULL"
        " AND (substr(operation,1,5) = 'REST.' OR substr(operation,1,8) = 'WEBSITE.')"
        " AND (httpstatus BETWEEN 200 AND 299 OR httpstatus = 304)"
        " GROUP BY \"key\", operation ORDER BY min(time_ms), \"key\", operation LIMIT "
        "1001"; /* ANON_ROWS_MAX + 1: one more tells the list was cut */
    sqlite3_stmt *s = NULL;
    int rc = s3_prepare(db, sql, bucket, since_ms, &s, err);
    if (rc != 0)
        return rc;
    int step;
    size_t n = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (++n > ANON_ROWS_MAX) {
            investigate__row(t, "(more: see the Object access table)", "", "", "", "", "", "");
            step = SQLITE_DONE;
            break;
        }
        char f[32], l[32], cnt[24], ips[200], bytes[24];
        investigate__time(sqlite3_column_int64(s, 6), f);
        investigate__time(sqlite3_column_int64(s, 7), l);
        snprintf(cnt, sizeof(cnt), "%lld", (long long)sqlite3_column_int64(s, 2));
        long long nip = sqlite3_column_int64(s, 3);
        if (nip > 1)
            snprintf(ips, sizeof(ips), "%lld addresses, e.g. %s", nip, investigate__col(s, 4));
        else
            snprintf(ips, sizeof(ips), "%s", investigate__col(s, 4));
        snprintf(bytes, sizeof(bytes), "%lld", (long long)sqlite3_column_int64(s, 5));
        investigate__row(t, investigate__col(s, 0), investigate__col(s, 1), cnt, ips, bytes, f, l);
    }
    return s3_finish(db, s, step, err);
}

/* One chart dot per access log request, the first S3_POINTS_MAX. */
static int s3_points(sqlite3 *db, const char *bucket, int64_t since_ms,
                     struct investigate_report *r, struct err *err)
{
    static const char sql[] =
        "SELECT time_ms, ifnull(operation,''), ifnull(httpstatus,''), requester IS NULL,"
        " \"key\" IS NOT NULL, ifnull(\"key\",''), ifnull(remoteip,'')"
        " FROM main.s3access WHERE bucket_name = ?1 AND time_ms >= ?2"
        " ORDER BY time_ms, id LIMIT 20000"; /* S3_POINTS_MAX */
    sqlite3_stmt *s = NULL;
    int rc = s3_prepare(db, sql, bucket, since_ms, &s, err);
    if (rc != 0)
        return rc;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *op = investigate__col(s, 1);
        bool has_key = sqlite3_column_int(s, 4) != 0;
        const char *lane = s3_op_config(op, has_key) ? "configuration (access log)"
                           : !s3_op_object(op, has_key) ? "other (access log)"
                           : s3_op_reads(op)            ? "object reads (access log)"
                                                        : "object writes (access log)";
        char label[1200];
        snprintf(label, sizeof(label), "%s %s %s%s%s%s", op, investigate__col(s, 2),
                 sqlite3_column_int(s, 3) ? "anonymous " : "", investigate__col(s, 6),
                 has_key ? " " : "", investigate__col(s, 5));
        bool failed = sqlite3_column_type(s, 2) == SQLITE_INTEGER && sqlite3_column_int(s, 2) >= 400;
        investigate__point(r, sqlite3_column_int64(s, 0), lane, label, failed);
    }
    return s3_finish(db, s, step, err);
}

static bool have_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *s = NULL;
    bool yes = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE type='table' AND name=?1",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        yes = sqlite3_step(s) == SQLITE_ROW;
    }
    sqlite3_finalize(s);
    return yes;
}

/* Rows by their time column (ISO text sorts as time), stable: the sources
 * were appended one after the other. */
static void sort_by_time(struct investigate_table *t, size_t time_col)
{
    size_t n = t->n_rows, nc = t->n_cols;
    if (n < 2)
        return;
    char **cells = xmalloc(n * nc * sizeof(char *));
    size_t *ord = xmalloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    /* insertion sort on an index array: stable, and the tables are small */
    for (size_t i = 1; i < n; i++) {
        size_t v = ord[i], j = i;
        while (j > 0 && strcmp(t->cells[ord[j - 1] * nc + time_col], t->cells[v * nc + time_col]) > 0) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = v;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(&cells[i * nc], &t->cells[ord[i] * nc], nc * sizeof(char *));
    memcpy(t->cells, cells, n * nc * sizeof(char *));
    free(cells);
    free(ord);
}

/* A field of the record of a configuration change (is_config_change), NULL
 * for other events: object access, the bulk of a busy bucket's events, never
 * reads the record (cloudtrail_raw). */
#define CONFIG                                                                           \
    "CASE WHEN c.event_name GLOB 'PutBucket*' OR c.event_name GLOB 'DeleteBucket*' OR"  \
    " c.event_name = 'CreateBucket' THEN json_extract(x.raw,"
#define END_CONFIG " END"
/* A field of any event's record: joined, not a correlated subquery per
 * field (nearly every event of a bucket needs its record). */
#define RECORD "json_extract(x.raw,"
#define END_RECORD ""

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
        " " CONFIG "'$.requestParameters.BucketLoggingStatus.LoggingEnabled')" END_CONFIG ","
        " " RECORD "'$.requestParameters.key')" END_RECORD ","
        " " RECORD "'$.additionalEventData.bytesTransferredOut')" END_RECORD
        /* Two searches of the name index, not one with OR: SQLite answers
         * the OR by reading each match's row of resources by its key (a
         * busy bucket's 230 k names cost 236 k page reads of the table, over
         * half the playbook's time); each branch alone reads the index only.
         * IN takes each event once whatever the branches repeat. */
        " FROM main.cloudtrail c LEFT JOIN main.cloudtrail_raw x ON x.id = c.id"
        " WHERE c.id IN (SELECT event FROM main.resources WHERE"
        " resource_name IN (?1, 'arn:aws:s3:::' || ?1) UNION ALL SELECT event FROM"
        " main.resources WHERE resource_name >= 'arn:aws:s3:::' || ?1 || '/' AND"
        " resource_name < 'arn:aws:s3:::' || ?1 || '0')"
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
        "Changes to the bucket's policy, ACL, Block Public Access, logging and other settings. "
        "CloudTrail rows carry the request; S3 access log rows only the request URI (they do "
        "not enter the exposure verdict).",
        "source", "time", "action", "principal", "source ip", "error", "request", "event id",
        (const char *)NULL);
    struct investigate_table *acc_t = investigate__table(
        r, "Object access",
        "Who read or wrote objects, from where: CloudTrail data events (by principal, address "
        "and action) and S3 server access log requests (also by HTTP status; requester \"-\" "
        "is anonymous).",
        "source", "principal", "source ip", "action", "status", "events", "failed", "objects",
        "bytes sent", "first seen", "last seen", (const char *)NULL);
    struct exposure x;
    memset(&x, 0, sizeof(x));
    x.last_change_ms = INT64_MIN;
    struct ct_groups g;
    memset(&g, 0, sizeof(g));
    hmap_init(&g.index);
    hmap_init(&g.keys);
    buf_init(&g.k, 0);
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
            investigate__row(changes, SRC_CT, ts, name, who, ip, error, params,
                             investigate__col(s, 0));
            investigate__point(r, ms, "configuration", name, error[0] != '\0');
            if (error[0] == '\0')
                apply_change(&x, s, ms, ts);
        } else if (is_object_op(name, investigate__col(s, 8))) {
            bool write = strncmp(name, "Get", 3) != 0 && strncmp(name, "Head", 4) != 0 &&
                         strncmp(name, "List", 4) != 0 && strncmp(name, "Select", 6) != 0;
            n_reads += !write;
            n_writes += write;
            ct_group_add(&g, who, ip, name, investigate__col(s, 14), s, ms, error[0] != '\0');
            investigate__point(r, ms, write ? "object writes" : "object reads", name,
                               error[0] != '\0');
        } else {
            n_other++;
            investigate__point(r, ms, "other", name, error[0] != '\0');
        }
    }
    int rc = step == SQLITE_DONE ? 0 : investigate__db_err(db, err, "bucket query");
    sqlite3_finalize(s);

    for (size_t i = 0; i < g.n; i++) {
        struct access *a = &g.acc[i];
        char f[32], l[32], n[24], nf[24], bytes[24], objs[1200];
        investigate__time(a->first, f);
        investigate__time(a->last, l);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)a->n);
        snprintf(nf, sizeof(nf), "%llu", (unsigned long long)a->failed);
        if (a->has_bytes)
            snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)a->bytes);
        else
            bytes[0] = '\0';
        objects_cell(objs, sizeof(objs), a->keys, a->first_key ? a->first_key : "");
        investigate__row(acc_t, SRC_CT, a->who, a->ip, a->action, "", n, nf, objs, bytes, f, l);
        free(a->who);
        free(a->ip);
        free(a->action);
        free(a->first_key);
    }
    free(g.acc);
    hmap_free(&g.index);
    hmap_free(&g.keys);
    buf_free(&g.k);

    /* S3 server access logs, when the store has the table (schema 2). */
    struct s3_totals tot;
    memset(&tot, 0, sizeof(tot));
    tot.have_table = have_table(db, "s3access");
    struct investigate_table *anon_t = investigate__table(
        r, "Anonymous access",
        "Successful requests without credentials (S3 server access log requester \"-\"), by "
        "object and operation: what anyone on the internet got.",
        "object", "operation", "requests", "source ips", "bytes sent", "first seen", "last seen",
        (const char *)NULL);
    if (rc == 0 && tot.have_table)
        rc = s3_groups(db, bucket, since_ms, acc_t, &tot, err);
    if (rc == 0 && tot.have_table)
        rc = s3_config(db, bucket, since_ms, changes, err);
    if (rc == 0 && tot.have_table && tot.anon_ok > 0)
        rc = s3_anonymous(db, bucket, since_ms, anon_t, err);
    if (rc == 0 && tot.have_table && tot.requests > 0)
        rc = s3_points(db, bucket, since_ms, r, err);
    sort_by_time(changes, 1);

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
    /* Evidence beats inference: an anonymous request that succeeded after the
     * last change seen means the bucket is open now, whatever the replay
     * says; one that succeeded only before a change is history. */
    char anon_last[32], anon_first[32], evidence[400];
    investigate__time(tot.anon_last, anon_last);
    investigate__time(tot.anon_first, anon_first);
    evidence[0] = '\0';
    if (tot.anon_ok > 0) {
        if (strcmp(exposed, "yes") == 0)
            snprintf(evidence, sizeof(evidence),
                     "; anonymous requests succeeded, the last at %s (S3 server access logs)",
                     anon_last);
        else if (tot.anon_last > x.last_change_ms) {
            snprintf(evidence, sizeof(evidence), ", the last at %s%s (S3 server access logs)",
                     anon_last, strcmp(exposed, "no") == 0 ? ", after the last change seen" : "");
            reason = "anonymous requests succeeded";
            exposed = "yes";
        } else {
            snprintf(evidence, sizeof(evidence),
                     "; anonymous requests succeeded until %s, before the last change seen "
                     "(S3 server access logs)",
                     anon_last);
        }
    }
    investigate__summary(r, "bucket", "%s", bucket);
    investigate__summary(r, "exposed", "%s", exposed);
    /* Exposed on what was seen: the account-level setting or a BPA set
     * before the logs began could still block it. */
    bool bpa_unseen = (by_policy && x.restrict_public == TRI_UNKNOWN) ||
                      (by_acl && x.ignore_acls == TRI_UNKNOWN);
    investigate__summary(r, "exposure reason", "%s%s%s", reason,
                         bpa_unseen ? " (no bucket Block Public Access change seen)" : "",
                         evidence);
    investigate__summary(r, "events", "%llu", (unsigned long long)n_events);
    investigate__summary(r, "configuration changes", "%zu", changes->n_rows);
    investigate__summary(r, "object reads", "%llu", (unsigned long long)n_reads);
    investigate__summary(r, "object writes", "%llu", (unsigned long long)n_writes);
    investigate__summary(r, "other events", "%llu", (unsigned long long)n_other);
    if (!tot.have_table || tot.requests == 0)
        investigate__summary(r, "access log requests", "0 (no S3 server access logs of the "
                                                       "bucket in the store)");
    else
        investigate__summary(r, "access log requests", "%llu%s",
                             (unsigned long long)tot.requests,
                             tot.requests > S3_POINTS_MAX ? " (the chart shows the first 20000)"
                                                          : "");
    investigate__summary(r, "access log object reads", "%llu", (unsigned long long)tot.reads);
    investigate__summary(r, "access log object writes", "%llu", (unsigned long long)tot.writes);
    if (tot.anon_ok > 0)
        investigate__summary(r, "anonymous requests succeeded",
                             "%llu (%llu reads, %llu writes) from %llu addresses, %s to %s",
                             (unsigned long long)tot.anon_ok, (unsigned long long)tot.anon_reads,
                             (unsigned long long)tot.anon_writes,
                             (unsigned long long)tot.anon_ips, anon_first, anon_last);
    else
        investigate__summary(r, "anonymous requests succeeded", "0");
    struct investigate_table *t = investigate__table(
        r, "Exposure", "The last state seen of each setting.", "setting", "state", "changed at",
        (const char *)NULL);
    investigate__row(t, "policy allows everyone",
                     x.policy_conditional && x.policy_public != TRI_YES ? "only under a condition"
                                                                        : tri_text(x.policy_public),
                     x.policy_at);
    investigate__row(t, "ACL grants everyone", tri_text(x.acl_public), x.acl_at);
    investigate__row(t, "BPA RestrictPublicBuckets", tri_text(x.restrict_public), x.bpa_at);
    investigate__row(t, "BPA IgnorePublicAcls", tri_text(x.ignore_acls), x.bpa_at);
    investigate__row(t, "server access logging", tri_text(x.logging), x.logging_at);
    investigate__row(t, "anonymous requests succeeded (access log)",
                     tot.requests == 0 ? "unknown" : tot.anon_ok > 0 ? "yes" : "no",
                     tot.anon_ok > 0 ? anon_last : "");
    if (rc == 0)
        *out = r;
    else
        investigate_report_free(r);
    return rc;
}
