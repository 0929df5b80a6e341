/*
 * Web access logs: Amazon S3 server access logs and CloudFront standard logs.
 *
 * S3 server access logs (AmazonS3/userguide/LogFormat.html): one request per
 * line, fields separated by single spaces, in this order: bucket owner,
 * bucket, [time] (as "[06/Feb/2019:00:00:38 +0000]"), remote IP, requester,
 * request ID, operation, key, "request-URI", HTTP status, error code, bytes
 * sent, object size, total time, turn-around time, "referer", "user-agent",
 * version ID, host ID, signature version, cipher suite, authentication type,
 * host header, TLS version, access point ARN, ACL required; "-" for an absent
 * value. Quoted fields keep their spaces; AWS appends new fields at the end,
 * so fields past the known ones are ignored and older, shorter lines (from 18
 * fields) are accepted. Leaves are named after the Athena DDL's columns
 * (bucketowner, bucket_name, requestdatetime, remoteip, ...).
 *
 * CloudFront standard logs (AmazonCloudFront/DeveloperGuide/AccessLogs.html),
 * W3C extended format: "#Version: 1.0" and "#Fields: date time
 * x-edge-location ..." header lines, then tab-separated records in that
 * field order, "-" for absent values. Leaves take the #Fields names
 * ("c-ip", "cs(User-Agent)", "time-taken", ...); values stay as CloudFront
 * writes them (the user agent URL-encoded).
 */
#include "input/input_int.h"

#include <string.h>

static const char *const s3_names[] = {
    "bucketowner", "bucket_name", "requestdatetime", "remoteip", "requester", "requestid",
    "operation", "key", "request_uri", "httpstatus", "errorcode", "bytessent", "objectsize",
    "totaltime", "turnaroundtime", "referrer", "useragent", "versionid", "hostid", "sigv",
    "ciphersuite", "authtype", "endpoint", "tlsversion", "accesspointarn", "aclrequired",
};
#define S3_N (sizeof(s3_names) / sizeof(s3_names[0]))
#define S3_MIN_FIELDS 18

/* Fields typed as numbers when they hold digits only. */
static bool s3_numeric(size_t i)
{
    return i == 9 || i == 11 || i == 12 || i == 13 || i == 14;
}

/* The end of the field starting at s: a "quoted" field runs to the quote
 * followed by a space or the end, a [bracketed] one to its ']', any other to
 * the next space. */
static const char *s3_field_end(const char *s, const char *end)
{
    if (*s == '"' || *s == '[') {
        char close = *s == '"' ? '"' : ']';
        for (const char *p = s + 1; p < end; p++)
            if (*p == close && (p + 1 == end || p[1] == ' '))
                return p + 1;
        return NULL;
    }
    const char *sp = memchr(s, ' ', (size_t)(end - s));
    return sp ? sp : end;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)(s[i] - '0') >= 10u)
            return false;
    return true;
}

/* "dd/Mon/yyyy:HH:MM:SS" */
static bool s3_time_shape(const char *s, size_t n)
{
    return n >= 20 && s[2] == '/' && s[6] == '/' && s[11] == ':' && s[14] == ':' &&
           s[17] == ':' && all_digits(s, 2) && all_digits(s + 7, 4);
}

bool input__s3access_is(const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    for (int f = 0; f < 2; f++) {
        const char *e = s3_field_end(p, end);
        if (e == NULL || e == end || e == p)
            return false;
        p = e + 1;
    }
    return p < end && *p == '[' && s3_time_shape(p + 1, (size_t)(end - p - 1));
}

static void add_leaf(struct json_flat *out, const char *name, const char *v, size_t n,
                     bool numeric)
{
    struct json_leaf *l = &out->leaves[out->n++];
    size_t nl = strlen(name);
    l->path = name;
    l->path_len = (uint32_t)nl;
    l->path_hash = json_path_hash(name, nl);
    l->val = v;
    l->val_len = (uint32_t)n;
    l->type = numeric && all_digits(v, n) ? JSON_NUMBER : JSON_STRING;
    l->escaped = 0;
    l->n_arr = 0;
    l->arr = NULL;
}

int input__s3access_line(const char *line, size_t len, struct json_flat *out, struct err *err)
{
    if (out->cap < S3_N) {
        out->leaves = xrealloc(out->leaves, S3_N * sizeof(*out->leaves));
        out->cap = S3_N;
    }
    out->n = 0;
    const char *p = line, *end = line + len;
    size_t f = 0;
    while (p < end && f < S3_N) {
        const char *e = s3_field_end(p, end);
        if (e == NULL) {
            out->n = 0;
            return err_set(err, ERR_FORMAT, "S3 access log field %zu (%s): unterminated %s",
                           f + 1, s3_names[f], *p == '"' ? "quoted value" : "[time]");
        }
        const char *v = p;
        size_t n = (size_t)(e - p);
        if (n >= 2 && (*v == '"' || *v == '[')) {
            v++;
            n -= 2;
        }
        if (!(n == 1 && v[0] == '-') && n > 0)
            add_leaf(out, s3_names[f], v, n, s3_numeric(f));
        f++;
        p = e;
        if (p < end)
            p++; /* the separating space */
    }
    if (f < S3_MIN_FIELDS) {
        out->n = 0;
        return err_set(err, ERR_FORMAT, "S3 access log record has %zu fields, expected at least %d",
                       f, S3_MIN_FIELDS);
    }
    return 0;
}

/* ---- CloudFront (W3C) --------------------------------------------------------- */

static bool w3c_numeric(const char *name)
{
    static const char *const nums[] = { "sc-bytes", "sc-status", "cs-bytes", "time-taken",
                                        "c-port", "sc-content-len", "sc-range-start",
                                        "sc-range-end", "fle-encrypted-fields",
                                        "time-to-first-byte" };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (strcmp(name, nums[i]) == 0)
            return true;
    return false;
}

bool input__w3c_is(const char *line, size_t len)
{
    return (len >= 9 && memcmp(line, "#Version:", 9) == 0) ||
           (len >= 8 && memcmp(line, "#Fields:", 8) == 0);
}

int input__w3c_fields(struct w3c_format *wf, const char *line, size_t len, struct err *err)
{
    const char *p = line + 8, *end = line + len; /* after "#Fields:" */
    size_t used = 0;
    wf->n = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0)
            break;
        if (wf->n == W3C_MAX_FIELDS || used + n + 1 > sizeof(wf->buf))
            return err_set(err, ERR_LIMIT, "#Fields line with more than %d fields",
                           W3C_MAX_FIELDS);
        char *name = wf->buf + used;
        memcpy(name, s, n);
        name[n] = '\0';
        used += n + 1;
        wf->names[wf->n] = name;
        wf->numeric[wf->n] = w3c_numeric(name);
        wf->n++;
    }
    if (wf->n == 0)
        return err_set(err, ERR_FORMAT, "#Fields line without field names");
    return 0;
}

int input__w3c_line(const struct w3c_format *wf, const char *line, size_t len,
                    struct json_flat *out, struct err *err)
{
    if (wf->n == 0)
        return err_set(err, ERR_FORMAT, "record before the #Fields line");
    if (out->cap < wf->n) {
        out->leaves = xrealloc(out->leaves, wf->n * sizeof(*out->leaves));
        out->cap = wf->n;
    }
    out->n = 0;
    const char *p = line, *end = line + len;
    size_t f = 0;
    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *e = tab ? tab : end;
        if (f < wf->n && !((e - p == 1 && *p == '-') || e == p))
            add_leaf(out, wf->names[f], p, (size_t)(e - p), wf->numeric[f]);
        f++;
        if (tab == NULL)
            break;
        p = tab + 1;
    }
    if (f != wf->n) {
        out->n = 0;
        return err_set(err, ERR_FORMAT, "CloudFront log record has %zu fields, #Fields names %zu",
                       f, wf->n);
    }
    return 0;
}
