/*
 * Envelopes: records and findings as the EventBridge events AWS publishes.
 *
 * CloudTrail -> EventBridge (user guide "AWS service events delivered via
 * AWS CloudTrail"): detail-type names the record's eventType, source is
 * "aws." and the service prefix of eventSource ("s3.amazonaws.com" ->
 * "aws.s3", "monitoring.amazonaws.com" -> "aws.monitoring"), account the
 * account the record was delivered to, time eventTime, region awsRegion,
 * resources empty, detail the record unchanged.
 *
 * GuardDuty -> EventBridge (GuardDuty user guide, "GuardDuty Finding" event
 * format): source aws.guardduty, resources empty, detail one finding object.
 *
 * Log records AWS never publishes to EventBridge (VPC flow, Resolver queries,
 * S3 server access, CloudFront standard and WAF logs) get Vigil's own
 * "vigil.*" sources, so a rule written for a real aws.* event never matches a
 * record of a different shape. Where the record names its resource (the
 * bucket of an S3 access log record, the web ACL of a WAF record) it goes in
 * resources as an ARN, as AWS does for its own events; account and region
 * come from the web ACL's ARN for WAF, and stay empty for S3 access and
 * CloudFront logs, whose records do not carry them.
 */
#include "bus/bus_int.h"

#include <openssl/evp.h>
#include <string.h>

/* Vigil's namespace for name-based UUIDs (a fixed random UUID). */
static const unsigned char NS[16] = { 0x6b, 0x1f, 0x2c, 0x3e, 0x8a, 0x47, 0x4d, 0x0b,
                                      0x9e, 0x55, 0x21, 0xc4, 0x70, 0x13, 0xa9, 0xd2 };

void bus_uuid5(const void *name, size_t len, char out[37])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha1(), NULL);
    EVP_DigestUpdate(c, NS, sizeof(NS));
    EVP_DigestUpdate(c, name, len);
    EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[o] = '\0';
}

/* Top-level string members of a record, found in one pass without building
 * anything (only a handful are needed per record). */
struct top {
    const char *key;
    struct sv val; /* raw string body (escapes kept), or empty */
    bool is_true;  /* the member is the literal true */
};

static size_t ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

static void scan_top(const char *p, size_t len, struct top *t, size_t n)
{
    size_t i = ws(p, len, 0);
    if (i >= len || p[i] != '{')
        return;
    i++;
    for (;;) {
        i = ws(p, len, i);
        if (i >= len || p[i] != '"')
            return;
        size_t ks = i + 1, ke = ks;
        while (ke < len && p[ke] != '"')
            ke += p[ke] == '\\' ? 2 : 1;
        if (ke >= len)
            return;
        i = ws(p, len, ke + 1);
        if (i >= len || p[i] != ':')
            return;
        i = ws(p, len, i + 1);
        size_t vs = i;
        if (json_skip_value(p, len, &i, NULL) != 0)
            return;
        for (size_t k = 0; k < n; k++) {
            if (strlen(t[k].key) != ke - ks || memcmp(t[k].key, p + ks, ke - ks) != 0)
                continue;
            if (p[vs] == '"')
                t[k].val = sv_make(p + vs + 1, i - vs - 2);
            else
                t[k].is_true = i - vs == 4 && memcmp(p + vs, "true", 4) == 0;
        }
        i = ws(p, len, i);
        if (i >= len || p[i] != ',')
            return;
        i++;
    }
}

static const char *ct_detail_type(struct sv event_type, bool insight)
{
    if (insight || sv_eq_cstr(event_type, "AwsCloudTrailInsight"))
        return "AWS Insight via CloudTrail";
    if (sv_eq_cstr(event_type, "AwsConsoleSignIn"))
        return "AWS Console Sign In via CloudTrail";
    if (sv_eq_cstr(event_type, "AwsConsoleAction"))
        return "AWS Console Action via CloudTrail";
    if (sv_eq_cstr(event_type, "AwsServiceEvent"))
        return "AWS Service Event via CloudTrail";
    return "AWS API Call via CloudTrail";
}

/* "aws." + the service prefix of eventSource. */
static void ct_source(struct json_writer *w, struct sv es, bool insight)
{
    struct buf s;
    buf_init(&s, 0);
    buf_append_cstr(&s, "aws.");
    if (insight || es.len == 0) {
        buf_append_cstr(&s, "cloudtrail");
    } else {
        static const char suffix[] = ".amazonaws.com";
        size_t n = es.len;
        if (sv_ends_with(es, SV(suffix)))
            n -= sizeof(suffix) - 1;
        else {
            const char *dot = memchr(es.p, '.', es.len);
            if (dot)
                n = (size_t)(dot - es.p);
        }
        buf_append(&s, es.p, n);
    }
    jw_str_sv(w, sv_make(s.p, s.len));
    buf_free(&s);
}

/* A raw (still escaped) string body as a JSON string value. */
static void raw_str(struct json_writer *w, struct sv raw)
{
    struct buf q;
    buf_init(&q, 0);
    buf_putc(&q, '"');
    buf_append(&q, raw.p ? raw.p : "", raw.len);
    buf_putc(&q, '"');
    jw_raw(w, sv_make(q.p, q.len));
    buf_free(&q);
}

static void trimmed(struct sv *s)
{
    while (s->len && (s->p[0] == ' ' || s->p[0] == '\n' || s->p[0] == '\r' || s->p[0] == '\t')) {
        s->p++;
        s->len--;
    }
    while (s->len && (s->p[s->len - 1] == ' ' || s->p[s->len - 1] == '\n' ||
                      s->p[s->len - 1] == '\r' || s->p[s->len - 1] == '\t'))
        s->len--;
}

static int envelope_cloudtrail(const struct event *ev, struct json_writer *w)
{
    struct top t[] = { { "eventType", SV_NULL, false },   { "eventTime", SV_NULL, false },
                       { "eventSource", SV_NULL, false }, { "recipientAccountId", SV_NULL, false },
                       { "awsRegion", SV_NULL, false },   { "eventID", SV_NULL, false } };
    scan_top(ev->raw.p, ev->raw.len, t, sizeof(t) / sizeof(t[0]));
    bool insight = (ev->flags & EVENT_F_INSIGHT) != 0;
    const char *dt = ct_detail_type(t[0].val, insight);
    struct buf name;
    buf_init(&name, 0);
    buf_append_cstr(&name, "cloudtrail/");
    buf_append_cstr(&name, dt);
    buf_putc(&name, '/');
    if (t[5].val.len)
        buf_append(&name, t[5].val.p, t[5].val.len);
    else
        buf_printf(&name, "%016llx",
                   (unsigned long long)hash64(ev->raw.p, ev->raw.len, 0x76696769));
    char id[37];
    bus_uuid5(name.p, name.len, id);
    buf_free(&name);

    jw_object_begin(w);
    jw_key(w, "version");
    jw_str(w, "0");
    jw_key(w, "id");
    jw_str(w, id);
    jw_key(w, "detail-type");
    jw_str(w, dt);
    jw_key(w, "source");
    ct_source(w, t[2].val.len ? t[2].val : ev->event_source, insight);
    jw_key(w, "account");
    if (t[3].val.len)
        raw_str(w, t[3].val);
    else
        jw_str_sv(w, ev->account);
    jw_key(w, "time");
    if (t[1].val.len) {
        raw_str(w, t[1].val);
    } else {
        char ts[32];
        size_t n = time_format_iso8601(ev->time_ms, false, ts);
        jw_str_sv(w, sv_make(ts, n));
    }
    jw_key(w, "region");
    if (t[4].val.len)
        raw_str(w, t[4].val);
    else
        jw_str_sv(w, ev->region);
    jw_key(w, "resources");
    jw_array_begin(w);
    jw_array_end(w);
    jw_key(w, "detail");
    struct sv raw = ev->raw;
    trimmed(&raw);
    jw_raw(w, raw);
    jw_object_end(w);
    return 0;
}

/* The envelope up to "detail": (its value and the closing brace are the
 * caller's). account and region default to the event's; resource, when
 * given, is the one entry of resources. */
static void envelope_head_with(struct json_writer *w, const char *source, const char *dt,
                               const struct event *ev, struct sv account, struct sv region,
                               struct sv resource)
{
    struct buf name;
    buf_init(&name, 0);
    buf_printf(&name, "%s/%.*s", source, (int)ev->id.len, ev->id.p ? ev->id.p : "");
    char id[37], ts[32];
    bus_uuid5(name.p, name.len, id);
    buf_free(&name);
    size_t n = time_format_iso8601(ev->time_ms, false, ts);
    jw_object_begin(w);
    jw_key(w, "version");
    jw_str(w, "0");
    jw_key(w, "id");
    jw_str(w, id);
    jw_key(w, "detail-type");
    jw_str(w, dt);
    jw_key(w, "source");
    jw_str(w, source);
    jw_key(w, "account");
    jw_str_sv(w, account.p ? account : ev->account);
    jw_key(w, "time");
    jw_str_sv(w, sv_make(ts, n));
    jw_key(w, "region");
    jw_str_sv(w, region.p ? region : ev->region);
    jw_key(w, "resources");
    jw_array_begin(w);
    if (resource.len)
        jw_str_sv(w, resource);
    jw_array_end(w);
    jw_key(w, "detail");
}

static void envelope_head(struct json_writer *w, const char *source, const char *dt,
                          const struct event *ev)
{
    envelope_head_with(w, source, dt, ev, SV_NULL, SV_NULL, SV_NULL);
}

/* The record's leaves as a flat object, numbers typed (flow, S3 access and
 * CloudFront records, which are not JSON). */
static void leaves_object(struct json_writer *w, const struct event *ev)
{
    jw_object_begin(w);
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        jw_key_sv(w, sv_make(l->path, l->path_len));
        if (l->type == JSON_NUMBER)
            jw_raw(w, sv_make(l->val, l->val_len));
        else
            jw_str_sv(w, sv_make(l->val, l->val_len));
    }
    jw_object_end(w);
}

static void envelope_s3access(const struct event *ev, struct json_writer *w)
{
    const struct json_leaf *b = json_flat_get(&ev->flat, "bucket_name");
    struct buf arn;
    buf_init(&arn, 0);
    if (b != NULL && b->type == JSON_STRING) {
        buf_append_cstr(&arn, "arn:aws:s3:::");
        buf_append(&arn, b->val, b->val_len);
    }
    envelope_head_with(w, BUS_SOURCE_S3ACCESS, BUS_DETAIL_TYPE_S3ACCESS, ev, SV(""), SV(""),
                       sv_make(arn.p, arn.len));
    buf_free(&arn);
    leaves_object(w, ev);
    jw_object_end(w);
}

/* Field i (0-based) of an ARN "arn:partition:service:region:account:..."; empty
 * when s is not one. */
static struct sv arn_field(struct sv s, int i)
{
    if (!sv_starts_with(s, SV("arn:")))
        return SV("");
    size_t start = 0;
    for (int f = 0; f < i; f++) {
        const char *c = memchr(s.p + start, ':', s.len - start);
        if (c == NULL)
            return SV("");
        start = (size_t)(c - s.p) + 1;
    }
    const char *c = memchr(s.p + start, ':', s.len - start);
    if (c == NULL)
        return SV("");
    return sv_make(s.p + start, (size_t)(c - s.p) - start);
}

static void envelope_waf(const struct event *ev, struct json_writer *w)
{
    struct top t[] = { { "webaclId", SV_NULL, false } };
    scan_top(ev->raw.p, ev->raw.len, t, 1);
    /* an ARN has no characters JSON escapes, so the raw body is the value */
    bool arn = sv_starts_with(t[0].val, SV("arn:")) && memchr(t[0].val.p, '\\', t[0].val.len) == NULL;
    struct sv acl = arn ? t[0].val : SV("");
    envelope_head_with(w, BUS_SOURCE_WAF, BUS_DETAIL_TYPE_WAF, ev, arn_field(acl, 4),
                       arn_field(acl, 3), acl);
    struct sv raw = ev->raw;
    trimmed(&raw);
    jw_raw(w, raw);
    jw_object_end(w);
}

int bus_envelope_event(const struct event *ev, struct buf *out, struct err *err)
{
    size_t start = out->len;
    if (ev->flags & EVENT_F_ENVELOPE && ev->envelope.raw.len > 0) {
        struct sv raw = ev->envelope.raw;
        trimmed(&raw);
        if (buf_append(out, raw.p, raw.len) != 0)
            return err_set(err, ERR_LIMIT, "event larger than the output buffer");
        return 0;
    }
    struct json_writer w;
    jw_init(&w, out, 0);
    switch (ev->source) {
    case EVENT_CLOUDTRAIL:
        envelope_cloudtrail(ev, &w);
        break;
    case EVENT_VPCFLOW:
        envelope_head(&w, BUS_SOURCE_VPCFLOW, BUS_DETAIL_TYPE_VPCFLOW, ev);
        leaves_object(&w, ev);
        jw_object_end(&w);
        break;
    case EVENT_S3ACCESS:
        envelope_s3access(ev, &w);
        break;
    case EVENT_CLOUDFRONT:
        envelope_head(&w, BUS_SOURCE_CLOUDFRONT, BUS_DETAIL_TYPE_CLOUDFRONT, ev);
        leaves_object(&w, ev);
        jw_object_end(&w);
        break;
    case EVENT_WAF:
        envelope_waf(ev, &w);
        break;
    case EVENT_DNS: {
        envelope_head(&w, BUS_SOURCE_DNS, BUS_DETAIL_TYPE_DNS, ev);
        struct sv raw = ev->raw;
        trimmed(&raw);
        jw_raw(&w, raw);
        jw_object_end(&w);
        break;
    }
    default:
        return err_set(err, ERR_INTERNAL, "unknown event source %d", (int)ev->source);
    }
    if (w.rc != 0) {
        out->len = start;
        return err_set(err, ERR_LIMIT, "event larger than the output buffer");
    }
    return 0;
}

void bus_envelope_finding(const struct finding *f, struct buf *out)
{
    char ts[32], id[37];
    size_t n = time_format_iso8601(f->last_ms, false, ts);
    struct buf name;
    buf_init(&name, 0);
    buf_printf(&name, "guardduty/%s/%lld/%llu", f->id, (long long)f->last_ms,
               (unsigned long long)f->count);
    bus_uuid5(name.p, name.len, id);
    buf_free(&name);
    struct json_writer w;
    jw_init(&w, out, 0);
    jw_object_begin(&w);
    jw_key(&w, "version");
    jw_str(&w, "0");
    jw_key(&w, "id");
    jw_str(&w, id);
    jw_key(&w, "detail-type");
    jw_str(&w, "GuardDuty Finding");
    jw_key(&w, "source");
    jw_str(&w, "aws.guardduty");
    jw_key(&w, "account");
    jw_str(&w, f->account ? f->account : "");
    jw_key(&w, "time");
    jw_str_sv(&w, sv_make(ts, n));
    jw_key(&w, "region");
    jw_str(&w, f->region ? f->region : "");
    jw_key(&w, "resources");
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_key(&w, "detail");
    finding_to_json(&w, f);
    jw_object_end(&w);
}
