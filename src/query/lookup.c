/*
 * lookup: CloudTrail LookupEvents semantics over the store (validation,
 * NextToken, output shape, the AWS CLI's time formats). The rows come from
 * store_lookup_events; this file decides what LookupEvents would accept and
 * how its answer looks.
 *
 * NextToken: hex of "v1|<request hash>|<time ms>|<event id>" of the last event
 * returned. The request hash covers every parameter but MaxResults, so a token
 * replayed with other parameters is refused (InvalidNextTokenException) as AWS
 * does, and the next page starts strictly after that event in the
 * newest-first order, which ingesting more events cannot reshuffle.
 */
#include "query/query.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *name;
    enum store_attr attr;
} keys[] = {
    { "EventId", STORE_ATTR_EVENT_ID },
    { "EventName", STORE_ATTR_EVENT_NAME },
    { "ReadOnly", STORE_ATTR_READ_ONLY },
    { "Username", STORE_ATTR_USERNAME },
    { "ResourceType", STORE_ATTR_RESOURCE_TYPE },
    { "ResourceName", STORE_ATTR_RESOURCE_NAME },
    { "EventSource", STORE_ATTR_EVENT_SOURCE },
    { "AccessKeyId", STORE_ATTR_ACCESS_KEY_ID },
};

bool query_lookup_key_parse(const char *name, enum store_attr *out)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(name, keys[i].name) == 0) {
            *out = keys[i].attr;
            return true;
        }
    return false;
}

static int aws_error(struct query_aws_error *aerr, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int aws_error(struct query_aws_error *aerr, const char *code, const char *fmt, ...)
{
    if (aerr != NULL) {
        snprintf(aerr->code, sizeof(aerr->code), "%s", code);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(aerr->message, sizeof(aerr->message), fmt, ap);
        va_end(ap);
    }
    return ERR_USAGE;
}

static uint64_t request_hash(enum store_attr attr, const char *value, const struct query_lookup_req *r)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "%d|%s|%d:%" PRId64 "|%d:%" PRId64 "|%s|%s", (int)attr, value ? value : "",
               r->has_start, r->has_start ? r->start_ms : 0, r->has_end,
               r->has_end ? r->end_ms : 0, r->event_category ? r->event_category : "",
               r->region ? r->region : "");
    uint64_t h = hash64(b.p, b.len, 0x6c6f6f6b7570ULL);
    buf_free(&b);
    return h;
}

static void token_encode(uint64_t h, int64_t time_ms, const char *event_id,
                         char out[QUERY_LOOKUP_TOKEN_MAX])
{
    static const char hex[] = "0123456789abcdef";
    char plain[QUERY_LOOKUP_TOKEN_MAX / 2];
    int n = snprintf(plain, sizeof(plain), "v1|%016" PRIx64 "|%" PRId64 "|%s", h, time_ms,
                     event_id);
    if (n < 0 || (size_t)n >= sizeof(plain)) {
        out[0] = '\0'; /* an event id too long to page after: no token */
        return;
    }
    for (int i = 0; i < n; i++) {
        out[2 * i] = hex[(unsigned char)plain[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)plain[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes a token into plain (the event id points into it). */
static bool token_decode(const char *tok, uint64_t want, char plain[QUERY_LOOKUP_TOKEN_MAX / 2],
                         int64_t *time_ms, const char **event_id)
{
    size_t len = strlen(tok);
    if (len == 0 || len % 2 != 0 || len / 2 >= QUERY_LOOKUP_TOKEN_MAX / 2)
        return false;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = unhex(tok[2 * i]), lo = unhex(tok[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        plain[i] = (char)(hi << 4 | lo);
    }
    plain[len / 2] = '\0';
    if (strncmp(plain, "v1|", 3) != 0 || strlen(plain) != len / 2)
        return false;
    char *p = plain + 3;
    char *bar = strchr(p, '|');
    if (bar == NULL || bar - p != 16)
        return false;
    uint64_t h = 0;
    for (int i = 0; i < 16; i++) {
        int d = unhex(p[i]);
        if (d < 0)
            return false;
        h = h << 4 | (uint64_t)d;
    }
    if (h != want)
        return false;
    p = bar + 1;
    bar = strchr(p, '|');
    if (bar == NULL || !sv_to_i64(sv_make(p, (size_t)(bar - p)), time_ms))
        return false;
    *event_id = bar + 1;
    return **event_id != '\0';
}

struct page {
    store_lookup_fn fn;
    void *ctx;
    int64_t last_time;
    char last_id[256];
    bool last_fits;
};

static int page_cb(void *ctx, const struct store_lookup_row *row)
{
    struct page *p = ctx;
    p->last_time = row->time_ms;
    size_t n = strlen(row->event_id);
    p->last_fits = n < sizeof(p->last_id);
    if (p->last_fits)
        memcpy(p->last_id, row->event_id, n + 1);
    return p->fn(p->ctx, row);
}

int query_lookup_events(struct store *st, const struct query_lookup_req *req, store_lookup_fn fn,
                        void *ctx, char next_token[QUERY_LOOKUP_TOKEN_MAX],
                        struct query_aws_error *aerr, struct err *err)
{
    next_token[0] = '\0';
    struct store_lookup q;
    memset(&q, 0, sizeof(q));
    q.start_ms = req->has_start ? req->start_ms : INT64_MIN;
    q.end_ms = req->has_end ? req->end_ms : INT64_MAX;
    q.region = req->region;

    if (req->event_category != NULL) {
        if (strcmp(req->event_category, "insight") != 0)
            return aws_error(aerr, "InvalidEventCategoryException",
                             "Event category %s is not valid. Valid value is insight.",
                             req->event_category);
        q.insight = true;
    }
    if (req->n_attrs > 1)
        return aws_error(aerr, "InvalidLookupAttributesException",
                         "You can specify only one lookup attribute. %zu were specified.",
                         req->n_attrs);
    if (req->n_attrs == 1) {
        const struct query_lookup_attr *a = &req->attrs[0];
        if (a->key == NULL || a->value == NULL)
            return aws_error(aerr, "ParamValidation",
                             "Missing required parameter in LookupAttributes[0]: \"%s\"",
                             a->key == NULL ? "AttributeKey" : "AttributeValue");
        size_t vlen = strlen(a->value);
        if (vlen == 0)
            return aws_error(aerr, "ParamValidation",
                             "Invalid length for parameter LookupAttributes[0].AttributeValue, "
                             "value: 0, valid min length: 1");
        if (!query_lookup_key_parse(a->key, &q.attr))
            return aws_error(aerr, "InvalidLookupAttributesException",
                             "Attribute key %s is not valid. Valid keys are EventId, EventName, "
                             "ReadOnly, Username, ResourceType, ResourceName, EventSource, "
                             "AccessKeyId.",
                             a->key);
        if (vlen > QUERY_LOOKUP_MAX_VALUE)
            return aws_error(aerr, "InvalidLookupAttributesException",
                             "Attribute value is %zu characters long; the maximum is %d.", vlen,
                             QUERY_LOOKUP_MAX_VALUE);
        if (q.insight && q.attr != STORE_ATTR_EVENT_ID && q.attr != STORE_ATTR_EVENT_NAME &&
            q.attr != STORE_ATTR_EVENT_SOURCE)
            return aws_error(aerr, "InvalidLookupAttributesException",
                             "Attribute key %s is not valid for Insights events. Valid keys are "
                             "EventId, EventName, EventSource.",
                             a->key);
        q.value = a->value;
    }
    if (req->has_start && req->has_end && req->start_ms > req->end_ms)
        return aws_error(aerr, "InvalidTimeRangeException",
                         "Start time must be before or equal to end time.");
    if (req->max_results > QUERY_LOOKUP_MAX_RESULTS)
        return aws_error(aerr, "InvalidMaxResultsException",
                         "MaxResults %zu is not valid. Valid range is 1 to %d.", req->max_results,
                         QUERY_LOOKUP_MAX_RESULTS);
    q.limit = req->max_results;

    uint64_t h = request_hash(q.attr, q.value, req);
    char plain[QUERY_LOOKUP_TOKEN_MAX / 2];
    if (req->next_token != NULL) {
        if (!token_decode(req->next_token, h, plain, &q.after_time_ms, &q.after_event_id))
            return aws_error(aerr, "InvalidNextTokenException",
                             "Invalid NextToken: it is malformed or was issued for other "
                             "parameters.");
        q.after = true;
    }

    struct page p = { .fn = fn, .ctx = ctx };
    bool more = false;
    int rc = store_lookup_events(st, &q, page_cb, &p, &more, err);
    if (rc == 0 && more && p.last_fits)
        token_encode(h, p.last_time, p.last_id, next_token);
    return rc;
}

/* ---- output ------------------------------------------------------------------ */

size_t query_format_cli_time(int64_t ms, bool local, char out[48])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t frac = ms - secs * 1000;
    time_t t = (time_t)secs;
    struct tm tm;
    long off = 0;
    if (local && localtime_r(&t, &tm) != NULL) {
        off = tm.tm_gmtoff;
    } else {
        gmtime_r(&t, &tm);
    }
    char sign = off < 0 ? '-' : '+';
    long aoff = off < 0 ? -off : off;
    int n;
    if (frac != 0)
        n = snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03d000%c%02ld:%02ld",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)frac, sign, aoff / 3600, aoff / 60 % 60);
    else
        n = snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
                     aoff / 3600, aoff / 60 % 60);
    return n > 0 ? (size_t)n : 0;
}

static void key_str(struct json_writer *w, const char *key, const char *val)
{
    if (val == NULL)
        return;
    jw_key(w, key);
    jw_str(w, val);
}

void query_lookup_write_event(struct json_writer *w, const struct store_lookup_row *row,
                              bool local_time)
{
    char when[48];
    jw_object_begin(w);
    key_str(w, "EventId", row->event_id);
    key_str(w, "EventName", row->event_name);
    key_str(w, "ReadOnly", row->read_only);
    key_str(w, "AccessKeyId", row->access_key_id);
    query_format_cli_time(row->time_ms, local_time, when);
    key_str(w, "EventTime", when);
    key_str(w, "EventSource", row->event_source);
    key_str(w, "Username", row->username);
    jw_key(w, "Resources");
    jw_array_begin(w);
    for (size_t i = 0; i < row->n_resources; i++) {
        jw_object_begin(w);
        key_str(w, "ResourceType", row->resources[i].type);
        key_str(w, "ResourceName", row->resources[i].name);
        jw_object_end(w);
    }
    jw_array_end(w);
    if (row->cloudtrail_event != NULL) {
        jw_key(w, "CloudTrailEvent");
        jw_str_sv(w, sv_make(row->cloudtrail_event, row->cloudtrail_event_len));
    }
    jw_object_end(w);
}

/* ---- the AWS CLI's timestamp forms ------------------------------------------------ */

static bool num(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return true;
}

/* "HH:MM[:SS][ ]AM|PM" or 24-hour "HH:MM[:SS]"; the whole rest of s. */
static bool clock_part(const char *s, unsigned *h, unsigned *m, unsigned *sec)
{
    size_t n = strlen(s), i = 0;
    while (i < n && s[i] == ' ')
        i++;
    size_t a = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (!num(s + a, i - a, h) || i - a > 2 || i >= n || s[i] != ':')
        return false;
    a = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i - a != 2 || !num(s + a, 2, m))
        return false;
    *sec = 0;
    if (i < n && s[i] == ':') {
        a = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i - a != 2 || !num(s + a, 2, sec))
            return false;
    }
    while (i < n && s[i] == ' ')
        i++;
    if (i < n) {
        bool pm = (s[i] == 'P' || s[i] == 'p'), am = (s[i] == 'A' || s[i] == 'a');
        if (!(pm || am) || i + 2 != n || (s[i + 1] != 'M' && s[i + 1] != 'm') || *h < 1 || *h > 12)
            return false;
        *h = (*h % 12) + (pm ? 12 : 0);
    }
    return *h < 24 && *m < 60 && *sec <= 60;
}

bool query_parse_cli_time(const char *s, int64_t *ms_out)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    while (n > 0 && *s == ' ') {
        s++;
        n--;
    }
    if (n == 0)
        return false;
    /* Epoch seconds, possibly fractional. */
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i > 0 && (i == n || s[i] == '.')) {
        int64_t secs;
        if (!sv_to_i64(sv_make(s, i), &secs) || secs > INT64_MAX / 1000)
            return false;
        int64_t ms = 0;
        if (i < n) {
            int64_t scale = 100;
            for (size_t k = i + 1; k < n; k++) {
                if (s[k] < '0' || s[k] > '9')
                    return false;
                ms += (s[k] - '0') * scale;
                scale /= 10;
            }
        }
        *ms_out = secs * 1000 + ms;
        return true;
    }
    if (time_parse_iso8601(sv_make(s, n), ms_out))
        return true;
    /* "MM-DD-YYYY" / "MM/DD/YYYY" / "YYYY-MM-DD", then an optional ", HH:MM AM". */
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    if (n >= 10 && (s[2] == '-' || s[2] == '/') && s[5] == s[2] && num(s, 2, &mo) &&
        num(s + 3, 2, &d) && num(s + 6, 4, &y)) {
    } else if (n >= 10 && s[4] == '-' && s[7] == '-' && num(s, 4, &y) && num(s + 5, 2, &mo) &&
               num(s + 8, 2, &d)) {
    } else {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    char rest[64];
    size_t r = 10;
    if (r < n) {
        if (s[r] == ',')
            r++;
        if (n - r >= sizeof(rest))
            return false;
        memcpy(rest, s + r, n - r);
        rest[n - r] = '\0';
        if (!clock_part(rest, &h, &mi, &sec))
            return false;
    }
    int64_t days = time_days_from_civil(y, mo, d);
    *ms_out = (((days * 24 + h) * 60 + mi) * 60 + sec) * 1000;
    return true;
}
